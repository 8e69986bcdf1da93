//! The crate's one error type. Messages name what failed and never carry a
//! token, an authorization code, a client secret or a response body.

/// Why discovery, the settings or a sign-in failed.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OidcError {
    /// A setting is unusable; `field` is its name in [`OidcSettings`](crate::OidcSettings).
    #[error("OpenID Connect setting `{field}` {reason}")]
    Settings { field: &'static str, reason: &'static str },
    /// The discovery document or the signing keys could not be fetched or are unusable.
    #[error("OpenID provider discovery failed: {0}")]
    Discovery(String),
    /// The `state` the browser brought back is not the one this sign-in sent (CSRF, or a stale tab).
    #[error("the sign-in state does not match")]
    StateMismatch,
    /// The ID token's `nonce` is missing or not the one this sign-in sent (replay).
    #[error("the ID token nonce does not match")]
    NonceMismatch,
    /// The token endpoint refused the code (wrong PKCE verifier, code used or expired, bad client
    /// credentials) or could not be reached.
    #[error("the authorization code exchange failed: {0}")]
    Exchange(String),
    /// The ID token failed verification: signature, issuer, audience, expiry, claims.
    #[error("the ID token was rejected: {0}")]
    InvalidToken(String),
}

/// Keeps provider-supplied text short and on one line.
pub(crate) fn sanitize(text: &str) -> String {
    const MAX: usize = 200;
    let mut out: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).take(MAX).collect();
    if text.chars().count() > MAX {
        out.push('…');
    }
    out
}
