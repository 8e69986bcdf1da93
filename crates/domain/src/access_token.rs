//! Personal access tokens for the JSON API (checklist 27): shown once,
//! stored as a SHA-256 hash, expiring, revocable.

use std::fmt;

use time::{Duration, OffsetDateTime};

use crate::AccountId;
use crate::validation::{FieldError, short_text};

crate::ids::uuid_id!(
    /// A token's public id (listed, used to revoke).
    AccessTokenId
);

/// Every token starts with this, so a leaked one is easy to recognise
/// (and to search for in code and logs).
pub const PREFIX: &str = "cbt_pat_";

/// The lifetimes a therapist may choose, in days.
pub const LIFETIME_DAYS: &[i64] = &[7, 30, 90, 365];

#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken {
    pub id: AccessTokenId,
    pub account_id: AccountId,
    /// What the therapist called it ("reporting script").
    pub name: String,
    pub token_hash: Vec<u8>,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub last_used_at: Option<OffsetDateTime>,
}

impl AccessToken {
    pub fn is_live(&self, now: OffsetDateTime) -> bool {
        now < self.expires_at
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("id", &self.id)
            .field("account_id", &self.account_id)
            .finish_non_exhaustive()
    }
}

/// The label of a new token.
pub fn parse_name(raw: &str) -> Result<String, FieldError> {
    short_text("name", "Name", raw, 100)
}

/// One of the offered lifetimes.
pub fn parse_lifetime(raw: &str) -> Result<Duration, FieldError> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|d| LIFETIME_DAYS.contains(d))
        .map(Duration::days)
        .ok_or_else(|| FieldError::new("lifetime_days", "Choose one of the offered lifetimes."))
}
