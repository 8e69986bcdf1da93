//! Signed links (checklist 19): HS256 JWTs with the algorithm pinned,
//! expiry checked against the injected clock, and a single-use id whose
//! hash is stored as a one-time token.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::AppError;

#[derive(Debug, Serialize, Deserialize)]
pub struct LinkClaims {
    /// The account.
    pub sub: String,
    /// What the link does (`verify_email`, ...).
    pub purpose: String,
    /// The single-use id; its SHA-256 is the stored one-time token.
    pub jti: String,
    pub iat: i64,
    pub exp: i64,
}

pub struct LinkSigner {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl LinkSigner {
    /// `secret` is validated at start-up (at least 32 bytes, no placeholder).
    pub fn new(secret: &[u8]) -> Self {
        Self { encoding: EncodingKey::from_secret(secret), decoding: DecodingKey::from_secret(secret) }
    }

    pub fn sign(&self, claims: &LinkClaims) -> Result<String, AppError> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(|e| AppError::Internal(format!("signing a link: {e}")))
    }

    /// The claims of a link signed by us with HS256 and not expired at
    /// `now`; anything else is `InvalidLink`.
    pub fn open(&self, token: &str, purpose: &str, now: OffsetDateTime) -> Result<LinkClaims, AppError> {
        let mut validation = Validation::new(Algorithm::HS256);
        // Expiry is checked below against the injected clock.
        validation.validate_exp = false;
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub", "iat"]);
        let data = jsonwebtoken::decode::<LinkClaims>(token, &self.decoding, &validation)
            .map_err(|_| AppError::InvalidLink)?;
        let claims = data.claims;
        if claims.purpose != purpose || now.unix_timestamp() >= claims.exp {
            return Err(AppError::InvalidLink);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;

    const SECRET: &[u8] = b"Wn5tY8kP2qM7xB4vR9cL1sH6dF3gJ0zAeQ";

    fn claims(exp: i64) -> LinkClaims {
        LinkClaims { sub: "a".into(), purpose: "verify_email".into(), jti: "j".into(), iat: 0, exp }
    }

    #[test]
    fn checklist_19_expiry_is_checked_at_the_second() {
        let s = LinkSigner::new(SECRET);
        let token = s.sign(&claims(1_000)).unwrap();
        let at = |t| OffsetDateTime::from_unix_timestamp(t).unwrap();
        assert!(s.open(&token, "verify_email", at(999)).is_ok());
        assert!(matches!(s.open(&token, "verify_email", at(1_000)), Err(AppError::InvalidLink)));
        assert!(matches!(s.open(&token, "reset_password", at(1)), Err(AppError::InvalidLink)), "wrong purpose");
    }

    #[test]
    fn checklist_19_algorithm_is_pinned() {
        let s = LinkSigner::new(SECRET);
        let now = OffsetDateTime::from_unix_timestamp(1).unwrap();
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims(10_000)).unwrap());
        // alg "none", unsigned.
        let none = format!("{}.{body}.", URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#));
        assert!(s.open(&none, "verify_email", now).is_err());
        // HS512 with the right secret is still refused.
        let hs512 =
            jsonwebtoken::encode(&Header::new(Algorithm::HS512), &claims(10_000), &EncodingKey::from_secret(SECRET))
                .unwrap();
        assert!(s.open(&hs512, "verify_email", now).is_err());
        // HS256 with another secret is refused.
        let other = LinkSigner::new(b"another-secret-of-enough-length-000").sign(&claims(10_000)).unwrap();
        assert!(s.open(&other, "verify_email", now).is_err());
        let good = s.sign(&claims(10_000)).unwrap();
        assert!(s.open(&good, "verify_email", now).is_ok());
    }
}
