//! Client self-report links: a questionnaire sent to a client, completed
//! without an account. The token is 256 bits from the system's random
//! source and only its SHA-256 is stored; a link works once, until it
//! expires (7 days unless the deployment says otherwise) or the therapist
//! revokes it. What it asks for is sealed with the therapist's data key.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::assessment::InstrumentDefinition;
use crate::tokens::RateRule;

/// What a link asks the client to complete, and what the client's page
/// shows besides: sealed, bound to the link.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkRequest {
    /// `phq-9`, … or `custom:<id>`.
    pub instrument: String,
    /// A custom instrument's definition as it was when the link was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub definition: Option<InstrumentDefinition>,
    /// The name the client knows the practice by.
    pub practice: String,
    /// What to do in a crisis, as the therapist wrote it.
    pub crisis_text: String,
}

impl zeroize::Zeroize for LinkRequest {
    fn zeroize(&mut self) {
        self.instrument.zeroize();
        if let Some(d) = &mut self.definition {
            d.zeroize();
        }
        self.practice.zeroize();
        self.crisis_text.zeroize();
    }
}

/// Where a link stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkState {
    Usable,
    Used,
    Revoked,
    Expired,
}

impl LinkState {
    /// A link's state at `now`: used and revoked first, then expired (at
    /// `expires_at` itself it no longer works).
    pub fn at(
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
        used_at: Option<OffsetDateTime>,
        revoked_at: Option<OffsetDateTime>,
    ) -> Self {
        if used_at.is_some() {
            Self::Used
        } else if revoked_at.is_some() {
            Self::Revoked
        } else if now >= expires_at {
            Self::Expired
        } else {
            Self::Usable
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Usable => "Waiting for the client",
            Self::Used => "Completed",
            Self::Revoked => "Revoked",
            Self::Expired => "Expired",
        }
    }
}

/// How long a link works unless the deployment says otherwise.
pub const DEFAULT_LIFETIME: Duration = Duration::days(7);
/// The longest a deployment may let a link work.
pub const MAX_LIFETIME: Duration = Duration::days(30);

/// Opening or submitting links from one IP address: 30 per 10 minutes,
/// then 10 minutes' pause. A client needs two; guessing a 256-bit token
/// is hopeless anyway, so this only keeps a flood off the database.
pub const PER_IP: RateRule = RateRule { limit: 30, window: Duration::minutes(10), lockout: Duration::minutes(10) };

/// The crisis text a link shows when the therapist has written none.
pub const DEFAULT_CRISIS_TEXT: &str = "This form is not monitored in real time. If you are in danger or thinking about \
     harming yourself, call your local emergency number now, or go to the nearest emergency department.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_stops_working_at_its_expiry_and_once_used_or_revoked() {
        let t = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        let expires = t + DEFAULT_LIFETIME;
        assert_eq!(LinkState::at(t, expires, None, None), LinkState::Usable);
        assert_eq!(LinkState::at(expires - Duration::seconds(1), expires, None, None), LinkState::Usable);
        assert_eq!(LinkState::at(expires, expires, None, None), LinkState::Expired);
        assert_eq!(LinkState::at(expires + Duration::seconds(1), expires, None, None), LinkState::Expired);
        assert_eq!(LinkState::at(t, expires, Some(t), None), LinkState::Used);
        assert_eq!(LinkState::at(t, expires, None, Some(t)), LinkState::Revoked);
        assert_eq!(LinkState::at(expires, expires, Some(t), Some(t)), LinkState::Used, "used wins");
    }
}
