//! The relying party's settings, validated once.

use std::fmt;
use std::net::IpAddr;

use openidconnect::url::{Host, Url};

use crate::OidcError;

/// Google's issuer identifier, exactly as its discovery document and ID tokens spell it.
pub const GOOGLE_ISSUER_URL: &str = "https://accounts.google.com";

const MAX_CREDENTIAL_LEN: usize = 512;

/// Where the provider is and who we are to it. Built only through [`OidcSettings::new`], so a
/// value of this type has been validated.
#[derive(Clone, PartialEq, Eq)]
pub struct OidcSettings {
    issuer_url: String,
    client_id: String,
    client_secret: String,
    redirect_url: String,
}

impl OidcSettings {
    /// Validates the four settings; the error names the first bad field.
    ///
    /// - `issuer_url`: an absolute `https` URL without query or fragment, written exactly as the
    ///   provider writes its `iss` (for Google [`GOOGLE_ISSUER_URL`]); plain `http` only for a
    ///   loopback host (tests, a local provider).
    /// - `client_id`, `client_secret`: from the provider's console; not empty, no whitespace.
    /// - `redirect_url`: this app's callback, registered with the provider; `https`, or `http` on
    ///   a loopback host (local plain-HTTP mode). No fragment.
    pub fn new(
        issuer_url: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        redirect_url: impl Into<String>,
    ) -> Result<Self, OidcError> {
        let settings = Self {
            issuer_url: issuer_url.into(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            redirect_url: redirect_url.into(),
        };
        settings.validate()?;
        Ok(settings)
    }

    /// [`OidcSettings::new`] with Google's issuer.
    pub fn google(
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        redirect_url: impl Into<String>,
    ) -> Result<Self, OidcError> {
        Self::new(GOOGLE_ISSUER_URL, client_id, client_secret, redirect_url)
    }

    pub fn issuer_url(&self) -> &str {
        &self.issuer_url
    }

    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    pub fn client_secret(&self) -> &str {
        &self.client_secret
    }

    pub fn redirect_url(&self) -> &str {
        &self.redirect_url
    }

    fn validate(&self) -> Result<(), OidcError> {
        let issuer = parse_url("issuer_url", &self.issuer_url)?;
        if issuer.query().is_some() {
            return Err(setting("issuer_url", "must not have a query"));
        }
        credential("client_id", &self.client_id)?;
        credential("client_secret", &self.client_secret)?;
        parse_url("redirect_url", &self.redirect_url)?;
        Ok(())
    }
}

impl fmt::Debug for OidcSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcSettings")
            .field("issuer_url", &self.issuer_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("redirect_url", &self.redirect_url)
            .finish()
    }
}

fn setting(field: &'static str, reason: &'static str) -> OidcError {
    OidcError::Settings { field, reason }
}

fn credential(field: &'static str, value: &str) -> Result<(), OidcError> {
    if value.is_empty() {
        return Err(setting(field, "is empty"));
    }
    if value.len() > MAX_CREDENTIAL_LEN {
        return Err(setting(field, "is too long"));
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(setting(field, "must not contain whitespace or control characters"));
    }
    Ok(())
}

/// An absolute URL that is `https`, or `http` on a loopback host; no user info, no fragment.
fn parse_url(field: &'static str, value: &str) -> Result<Url, OidcError> {
    if value.is_empty() {
        return Err(setting(field, "is empty"));
    }
    let url = Url::parse(value).map_err(|_| setting(field, "is not an absolute URL"))?;
    if url.host().is_none() {
        return Err(setting(field, "has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(setting(field, "must not contain user info"));
    }
    if url.fragment().is_some() {
        return Err(setting(field, "must not have a fragment"));
    }
    if !is_secure_or_loopback(&url) {
        return Err(setting(field, "must use https (plain http only on a loopback host)"));
    }
    Ok(url)
}

/// `https`, or `http` to `localhost` / a loopback address.
pub(crate) fn is_secure_or_loopback(url: &Url) -> bool {
    match url.scheme() {
        "https" => true,
        "http" => is_loopback(url),
        _ => false,
    }
}

pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(result: Result<OidcSettings, OidcError>) -> &'static str {
        match result {
            Err(OidcError::Settings { field, .. }) => field,
            other => panic!("expected a settings error, got {other:?}"),
        }
    }

    #[test]
    fn google_settings_are_accepted() {
        let settings = OidcSettings::google(
            "123-abc.apps.googleusercontent.com",
            "GOCSPX-secret",
            "https://cbt.example.org/auth/google/callback",
        )
        .unwrap();
        assert_eq!(settings.issuer_url(), "https://accounts.google.com");
        let debug = format!("{settings:?}");
        assert!(!debug.contains("GOCSPX-secret"), "{debug}");
    }

    #[test]
    fn loopback_http_is_accepted_for_tests_and_local_mode() {
        OidcSettings::new("http://127.0.0.1:4000", "id", "secret", "http://localhost:8080/cb").unwrap();
        OidcSettings::new("http://[::1]:4000", "id", "secret", "http://127.0.0.2/cb").unwrap();
    }

    #[test]
    fn each_bad_field_is_named() {
        let ok = "https://accounts.google.com";
        let cb = "https://cbt.example.org/cb";
        assert_eq!(field_of(OidcSettings::new("", "id", "s", cb)), "issuer_url");
        assert_eq!(field_of(OidcSettings::new("accounts.google.com", "id", "s", cb)), "issuer_url");
        assert_eq!(field_of(OidcSettings::new("http://accounts.google.com", "id", "s", cb)), "issuer_url");
        assert_eq!(field_of(OidcSettings::new("https://accounts.google.com?x=1", "id", "s", cb)), "issuer_url");
        assert_eq!(field_of(OidcSettings::new("https://a:b@accounts.google.com", "id", "s", cb)), "issuer_url");
        assert_eq!(field_of(OidcSettings::new(ok, "", "s", cb)), "client_id");
        assert_eq!(field_of(OidcSettings::new(ok, "an id", "s", cb)), "client_id");
        assert_eq!(field_of(OidcSettings::new(ok, "id", "", cb)), "client_secret");
        assert_eq!(field_of(OidcSettings::new(ok, "id", "s\n", cb)), "client_secret");
        assert_eq!(field_of(OidcSettings::new(ok, "id", "s", "")), "redirect_url");
        assert_eq!(field_of(OidcSettings::new(ok, "id", "s", "/cb")), "redirect_url");
        assert_eq!(field_of(OidcSettings::new(ok, "id", "s", "http://cbt.example.org/cb")), "redirect_url");
        assert_eq!(field_of(OidcSettings::new(ok, "id", "s", "https://cbt.example.org/cb#x")), "redirect_url");
        assert_eq!(field_of(OidcSettings::new(ok, "id", "s", "javascript:alert(1)")), "redirect_url");
    }
}
