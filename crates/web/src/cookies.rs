//! The cookies this product sets (each is listed on the cookie notice),
//! and reading them back.
//!
//! With HTTPS (or in production) the names carry the `__Host-` prefix and
//! the `Secure` flag; on plain-HTTP local mode on loopback both are dropped
//! (browsers refuse `Secure` cookies over plain HTTP), as the checklist
//! allows. Always `HttpOnly; SameSite=Lax; Path=/`, never `Domain`.

use axum::http::{HeaderMap, HeaderValue, header};

/// The session token (checklist 12, 13).
pub const SESSION: &str = "cbt_session";
/// The sign-in waiting for its TOTP code.
pub const MFA_PENDING: &str = "cbt_mfa";
/// A Google sign-in on its way (signed; ten minutes).
pub const OIDC_PENDING: &str = "cbt_oidc";
/// The CSRF double-submit token (checklist 18).
pub const CSRF: &str = "cbt_csrf";

#[derive(Clone, Copy, Debug)]
pub struct CookiePolicy {
    pub secure: bool,
}

impl CookiePolicy {
    pub fn name(&self, base: &str) -> String {
        if self.secure { format!("__Host-{base}") } else { base.to_owned() }
    }

    /// A `Set-Cookie` value for a session-lifetime cookie.
    pub fn set(&self, base: &str, value: &str) -> Option<HeaderValue> {
        let secure = if self.secure { "; Secure" } else { "" };
        HeaderValue::from_str(&format!("{}={value}; HttpOnly; SameSite=Lax; Path=/{secure}", self.name(base))).ok()
    }

    /// A `Set-Cookie` value that deletes the cookie.
    pub fn clear(&self, base: &str) -> Option<HeaderValue> {
        let secure = if self.secure { "; Secure" } else { "" };
        HeaderValue::from_str(&format!(
            "{}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT{secure}",
            self.name(base)
        ))
        .ok()
    }

    /// The value of one of our cookies in a request.
    pub fn get(&self, headers: &HeaderMap, base: &str) -> Option<String> {
        let name = self.name(base);
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_owned())
            .filter(|v| !v.is_empty() && v.len() <= 512)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checklist_13_secure_cookies_use_the_host_prefix() {
        let p = CookiePolicy { secure: true };
        let v = p.set(SESSION, "abc").unwrap();
        assert_eq!(v, "__Host-cbt_session=abc; HttpOnly; SameSite=Lax; Path=/; Secure");
        assert!(!v.to_str().unwrap().contains("Domain"));
        let local = CookiePolicy { secure: false };
        assert_eq!(local.set(SESSION, "abc").unwrap(), "cbt_session=abc; HttpOnly; SameSite=Lax; Path=/");
    }

    #[test]
    fn cookies_are_read_by_exact_name() {
        let p = CookiePolicy { secure: true };
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("cbt_session=plain; __Host-cbt_session=real; x=1"));
        assert_eq!(p.get(&h, SESSION).as_deref(), Some("real"));
        assert_eq!(CookiePolicy { secure: false }.get(&h, SESSION).as_deref(), Some("plain"));
    }
}
