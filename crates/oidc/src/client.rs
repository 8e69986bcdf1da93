//! The relying party: discovery, the authorization URL, the code exchange and ID token verification.

use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use aws_lc_rs::constant_time::verify_slices_are_equal;
use chrono::{DateTime, Utc};
use openidconnect::core::{
    CoreClient, CoreErrorResponseType, CoreIdToken, CoreIdTokenVerifier, CoreJsonWebKeySet, CoreJwsSigningAlgorithm,
    CoreProviderMetadata, CoreResponseType, CoreTokenResponse,
};
use openidconnect::url::Url;
use openidconnect::{
    AccessTokenHash, AuthenticationFlow, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken,
    DiscoveryError, EndpointMaybeSet, EndpointNotSet, EndpointSet, IdTokenVerifier, IssuerUrl, JsonWebKeySet,
    JsonWebKeySetUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError,
    Scope, SignatureVerificationError, StandardErrorResponse, TokenResponse,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::OidcSettings;
use crate::error::{OidcError, sanitize};
use crate::http::{HttpClient, HttpError};
use crate::settings::{is_loopback, is_secure_or_loopback};

/// The only ID token signature algorithm accepted. openidconnect would otherwise take the list from
/// the provider's discovery document (`id_token_signing_alg_values_supported`), which could name
/// HS256 (keyed with the client secret) or worse.
const ALLOWED_ALGS: [CoreJwsSigningAlgorithm; 1] = [CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256];
/// An ID token whose `iat` is further in the future than this is refused (clock skew allowance).
const MAX_FUTURE_IAT: time::Duration = time::Duration::minutes(5);
/// The key set is fetched again when a token names an unknown key (rotation), at most this often.
const MIN_JWKS_REFRESH: Duration = Duration::from_secs(60);
/// Random bytes in `state` and `nonce` (openidconnect's CSPRNG, base64url-encoded).
const RANDOM_BYTES: u32 = 32;

type ConfiguredClient =
    CoreClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet, EndpointMaybeSet>;

/// The relying party for one provider. Cheap to share (`Arc`) across requests; holds the provider's
/// endpoints and signing keys.
pub struct OidcClient {
    client: ConfiguredClient,
    client_id: ClientId,
    issuer: IssuerUrl,
    jwks_uri: JsonWebKeySetUrl,
    keys: RwLock<Arc<KeySet>>,
    http: HttpClient,
}

struct KeySet {
    jwks: CoreJsonWebKeySet,
    /// When a refresh fetched this set; `None` for the set from discovery, so the first unknown
    /// key after start-up is looked up at once.
    refreshed_at: Option<Instant>,
}

impl KeySet {
    fn may_refresh(&self) -> bool {
        self.refreshed_at.is_none_or(|at| at.elapsed() >= MIN_JWKS_REFRESH)
    }
}

/// What a sign-in must remember between [`OidcClient::begin`] and [`OidcClient::finish`]. Keep it
/// where the browser cannot read or alter it unnoticed (a signed, encrypted or server-side store),
/// bound to this browser, for a few minutes, and use it once.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingSignIn {
    /// The CSRF `state` sent in the authorization URL; the callback must bring it back.
    pub state: String,
    /// The `nonce` sent in the authorization URL; the ID token must carry it.
    pub nonce: String,
    /// The PKCE code verifier whose S256 challenge was sent; proves this client asked for the code.
    pub pkce_verifier: String,
}

impl fmt::Debug for PendingSignIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingSignIn")
            .field("state", &"[redacted]")
            .field("nonce", &"[redacted]")
            .field("pkce_verifier", &"[redacted]")
            .finish()
    }
}

/// Who the provider says signed in, after every check passed.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifiedIdentity {
    /// The provider's stable, opaque id for the user (`sub`): the key to link on, not the email.
    pub subject: String,
    /// The `email` claim as the provider sent it.
    pub email: String,
    /// The `email_verified` claim; `false` when absent. Link to an existing account by email only
    /// when this is `true` (checklist item 11).
    pub email_verified: bool,
}

impl fmt::Debug for VerifiedIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedIdentity")
            .field("subject", &self.subject)
            .field("email", &"[redacted]")
            .field("email_verified", &self.email_verified)
            .finish()
    }
}

impl fmt::Debug for OidcClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcClient")
            .field("issuer", &self.issuer.as_str())
            .field("client_id", &self.client_id.as_str())
            .finish_non_exhaustive()
    }
}

impl OidcClient {
    /// Fetches `<issuer>/.well-known/openid-configuration` and the provider's key set (JWKS). The
    /// document's `issuer` must equal the configured one exactly; its endpoints must be `https`
    /// (plain `http` only on a loopback host, and only when the issuer is one too).
    pub async fn discover(settings: OidcSettings) -> Result<Self, OidcError> {
        let http = HttpClient::new().map_err(|e| OidcError::Discovery(format!("HTTP client: {e}")))?;
        let issuer = IssuerUrl::new(settings.issuer_url().to_owned())
            .map_err(|_| OidcError::Settings { field: "issuer_url", reason: "is not an absolute URL" })?;
        let redirect = RedirectUrl::new(settings.redirect_url().to_owned())
            .map_err(|_| OidcError::Settings { field: "redirect_url", reason: "is not an absolute URL" })?;
        let metadata = CoreProviderMetadata::discover_async(issuer.clone(), &http).await.map_err(discovery_error)?;

        let issuer_is_local_http = issuer.url().scheme() == "http";
        let check = |what: &str, url: &Url| {
            let allowed = if url.scheme() == "http" { issuer_is_local_http && is_loopback(url) } else { true };
            if allowed && is_secure_or_loopback(url) {
                Ok(())
            } else {
                Err(OidcError::Discovery(format!("the {what} `{url}` is not https")))
            }
        };
        check("authorization endpoint", metadata.authorization_endpoint().url())?;
        let token_url = metadata
            .token_endpoint()
            .cloned()
            .ok_or_else(|| OidcError::Discovery("the document names no token endpoint".to_owned()))?;
        check("token endpoint", token_url.url())?;
        check("JWKS URI", metadata.jwks_uri().url())?;

        let jwks_uri = metadata.jwks_uri().clone();
        let jwks = metadata.jwks().clone();
        let client_id = ClientId::new(settings.client_id().to_owned());
        let client = CoreClient::from_provider_metadata(
            metadata,
            client_id.clone(),
            Some(ClientSecret::new(settings.client_secret().to_owned())),
        )
        .set_token_uri(token_url)
        .set_redirect_uri(redirect);
        Ok(Self {
            client,
            client_id,
            issuer,
            jwks_uri,
            keys: RwLock::new(Arc::new(KeySet { jwks, refreshed_at: None })),
            http,
        })
    }

    /// Starts a sign-in: the URL to redirect the browser to (scopes `openid email`, a fresh
    /// `state` and `nonce`, a PKCE S256 challenge), and what [`finish`](Self::finish) needs later.
    pub fn begin(&self) -> (String, PendingSignIn) {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = self
            .client
            .authorize_url(
                AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
                || CsrfToken::new_random_len(RANDOM_BYTES),
                || Nonce::new_random_len(RANDOM_BYTES),
            )
            .add_scope(Scope::new("email".to_owned()))
            .set_pkce_challenge(challenge)
            .url();
        let pending = PendingSignIn {
            state: state.into_secret(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.into_secret(),
        };
        (url.into(), pending)
    }

    /// Completes a sign-in from the callback's `state` and `code`. `now` is the application's
    /// clock; the ID token must not have expired by then.
    ///
    /// The state is compared before anything is sent; the code is exchanged with the PKCE
    /// verifier; the ID token's RS256 signature is checked against the provider's keys (fetched
    /// again once if the token names a key not seen yet), then its issuer, audience (this client
    /// only), expiry, nonce and, when present, `at_hash`.
    pub async fn finish(
        &self,
        pending: PendingSignIn,
        returned_state: &str,
        code: &str,
        now: OffsetDateTime,
    ) -> Result<VerifiedIdentity, OidcError> {
        if pending.state.is_empty()
            || verify_slices_are_equal(pending.state.as_bytes(), returned_state.as_bytes()).is_err()
        {
            return Err(OidcError::StateMismatch);
        }
        if code.is_empty() {
            return Err(OidcError::Exchange("the callback carried no code".to_owned()));
        }
        let response = self
            .client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier))
            .request_async(&self.http)
            .await
            .map_err(exchange_error)?;
        let id_token = response
            .id_token()
            .ok_or_else(|| OidcError::InvalidToken("the token response has no ID token".to_owned()))?;
        let nonce = Nonce::new(pending.nonce);

        let keys = self.current_keys();
        match self.verify(id_token, &response, &keys.jwks, &nonce, now) {
            Err(ClaimsVerificationError::SignatureVerification(SignatureVerificationError::NoMatchingKey))
                if keys.may_refresh() =>
            {
                let keys = self.refresh_keys(&keys).await?;
                self.verify(id_token, &response, &keys.jwks, &nonce, now).map_err(token_error)
            }
            result => result.map_err(token_error),
        }
    }

    fn verify(
        &self,
        id_token: &CoreIdToken,
        response: &CoreTokenResponse,
        jwks: &CoreJsonWebKeySet,
        nonce: &Nonce,
        now: OffsetDateTime,
    ) -> Result<VerifiedIdentity, ClaimsVerificationError> {
        let now_chrono = to_chrono(now)?;
        let latest_iat = to_chrono(now + MAX_FUTURE_IAT)?;
        // Public-client verifier: no client secret, so no HMAC-signed tokens. Signature, issuer
        // and audience checks are on by default and stay on; the algorithm is pinned.
        let verifier: CoreIdTokenVerifier<'_> =
            IdTokenVerifier::new_public_client(self.client_id.clone(), self.issuer.clone(), jwks.clone())
                .set_allowed_algs(ALLOWED_ALGS)
                .set_time_fn(move || now_chrono)
                .set_issue_time_verifier_fn(move |iat| {
                    if iat > latest_iat { Err("issued in the future".to_owned()) } else { Ok(()) }
                });
        let claims = id_token.claims(&verifier, nonce)?;

        if let Some(expected) = claims.access_token_hash() {
            let alg = id_token.signing_alg().map_err(ClaimsVerificationError::SignatureVerification)?;
            let key = id_token.signing_key(&verifier).map_err(ClaimsVerificationError::SignatureVerification)?;
            let actual = AccessTokenHash::from_token(response.access_token(), alg, key)
                .map_err(|e| ClaimsVerificationError::Other(format!("at_hash: {e}")))?;
            if verify_slices_are_equal(actual.as_bytes(), expected.as_bytes()).is_err() {
                return Err(ClaimsVerificationError::Other("at_hash does not match the access token".to_owned()));
            }
        }

        let email = claims
            .email()
            .map(|email| email.as_str().to_owned())
            .ok_or_else(|| ClaimsVerificationError::Other("no email claim".to_owned()))?;
        Ok(VerifiedIdentity {
            subject: claims.subject().as_str().to_owned(),
            email,
            email_verified: claims.email_verified() == Some(true),
        })
    }

    fn current_keys(&self) -> Arc<KeySet> {
        Arc::clone(&self.keys.read().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }

    /// Fetches the key set again (key rotation), unless another sign-in just did.
    async fn refresh_keys(&self, stale: &Arc<KeySet>) -> Result<Arc<KeySet>, OidcError> {
        let current = self.current_keys();
        if !Arc::ptr_eq(&current, stale) {
            return Ok(current);
        }
        tracing::info!(jwks_uri = %self.jwks_uri.as_str(), "ID token names an unknown key; fetching the key set again");
        let jwks = JsonWebKeySet::fetch_async(&self.jwks_uri, &self.http).await.map_err(|e| {
            OidcError::InvalidToken(format!(
                "unknown signing key; refreshing the key set failed: {}",
                discovery_reason(e)
            ))
        })?;
        let fresh = Arc::new(KeySet { jwks, refreshed_at: Some(Instant::now()) });
        *self.keys.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::clone(&fresh);
        Ok(fresh)
    }
}

fn to_chrono(at: OffsetDateTime) -> Result<DateTime<Utc>, ClaimsVerificationError> {
    DateTime::<Utc>::from_timestamp(at.unix_timestamp(), at.nanosecond())
        .ok_or_else(|| ClaimsVerificationError::Other("the current time is out of range".to_owned()))
}

fn discovery_reason(error: DiscoveryError<HttpError>) -> String {
    match error {
        DiscoveryError::Request(e) => format!("request failed: {e}"),
        DiscoveryError::Response(_, _, message) => sanitize(&message),
        DiscoveryError::Parse(e) => format!("unparsable document (at `{}`)", e.path()),
        DiscoveryError::UrlParse(_) => "the discovery URL is invalid".to_owned(),
        DiscoveryError::Validation(message) => sanitize(&message),
        DiscoveryError::Other(message) => sanitize(&message),
        _ => "unexpected error".to_owned(),
    }
}

fn discovery_error(error: DiscoveryError<HttpError>) -> OidcError {
    OidcError::Discovery(discovery_reason(error))
}

fn exchange_error(error: RequestTokenError<HttpError, StandardErrorResponse<CoreErrorResponseType>>) -> OidcError {
    OidcError::Exchange(match error {
        RequestTokenError::ServerResponse(response) => {
            let code = sanitize(response.error().as_ref());
            match response.error_description() {
                Some(description) => format!("the provider answered `{code}`: {}", sanitize(description)),
                None => format!("the provider answered `{code}`"),
            }
        }
        RequestTokenError::Request(e) => format!("request failed: {e}"),
        // serde's own message may quote the offending value (a token): only the path is kept.
        RequestTokenError::Parse(e, _body) => format!("unparsable token response (at `{}`)", e.path()),
        RequestTokenError::Other(message) => sanitize(&message),
    })
}

fn token_error(error: ClaimsVerificationError) -> OidcError {
    match error {
        ClaimsVerificationError::InvalidNonce(_) => OidcError::NonceMismatch,
        ClaimsVerificationError::Expired(message) => {
            OidcError::InvalidToken(format!("expired: {}", sanitize(&message)))
        }
        ClaimsVerificationError::InvalidAudience(message) => {
            OidcError::InvalidToken(format!("audience: {}", sanitize(&message)))
        }
        ClaimsVerificationError::InvalidIssuer(message) => {
            OidcError::InvalidToken(format!("issuer: {}", sanitize(&message)))
        }
        ClaimsVerificationError::SignatureVerification(e) => {
            OidcError::InvalidToken(format!("signature: {}", sanitize(&e.to_string())))
        }
        other => OidcError::InvalidToken(sanitize(&other.to_string())),
    }
}
