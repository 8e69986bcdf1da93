//! Client self-report links: a questionnaire sent to a client, completed
//! without an account. The token is 256 bits from the system's random
//! source and only its SHA-256 is stored; a link works once, until it
//! expires (7 days unless the deployment says otherwise) or the therapist
//! revokes it. What it asks for is sealed with the therapist's data key.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::assessment::InstrumentDefinition;
use crate::record::check_text;
use crate::tokens::RateRule;
use crate::validation::{FieldError, FieldErrors};

/// What a link asks the client to complete, and what the client's page
/// shows besides: sealed, bound to the link.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkRequest {
    /// `phq-9`, … or `custom:<id>`; empty for a homework link.
    #[serde(default)]
    pub instrument: String,
    /// A custom instrument's definition as it was when the link was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub definition: Option<InstrumentDefinition>,
    /// A homework link: the homework record the client fills in (its
    /// worksheet as assigned).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub homework: Option<crate::ids::RecordId>,
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

/// What a recurring questionnaire sends: sealed, bound to the schedule.
/// The practice name and crisis text are taken when each link is sent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduledQuestionnaire {
    pub instrument: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub definition: Option<InstrumentDefinition>,
}

impl zeroize::Zeroize for ScheduledQuestionnaire {
    fn zeroize(&mut self) {
        self.instrument.zeroize();
        if let Some(d) = &mut self.definition {
            d.zeroize();
        }
    }
}

/// How often a questionnaire may recur: every 1 to 365 days.
pub const EVERY_DAYS: std::ops::RangeInclusive<i32> = 1..=365;

/// The next time a schedule is due after `due`, past `now`: a runner that
/// was down for weeks sends once, not once per missed period.
pub fn next_due(due: OffsetDateTime, every_days: i32, now: OffsetDateTime) -> OffsetDateTime {
    let period = Duration::days(i64::from(every_days.max(1)));
    let missed = ((now - due).whole_seconds().max(0) / period.whole_seconds()) + 1;
    due + period * i32::try_from(missed).unwrap_or(i32::MAX)
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
pub const DEFAULT_CRISIS_TEXT: &str = "If you are in danger or thinking about harming yourself, call your local \
     emergency number now, or go to the nearest emergency department.";

pub const PRACTICE_NAME_MAX: usize = 200;
pub const CRISIS_TEXT_MAX: usize = 1_000;

/// Checks (and trims) what a therapist wrote for clients to see: the
/// practice's name (one line) and the crisis text.
pub fn practice_details(practice_name: &str, crisis_text: &str) -> Result<(String, String), FieldErrors> {
    let mut errors = FieldErrors::default();
    let (mut name, mut crisis) = (practice_name.to_owned(), crisis_text.replace("\r\n", "\n"));
    check_text(&mut errors, "practice_name", "the practice's name", &mut name, PRACTICE_NAME_MAX);
    check_text(&mut errors, "crisis_text", "the crisis text", &mut crisis, CRISIS_TEXT_MAX);
    if name.chars().any(char::is_control) {
        errors.push(FieldError::new("practice_name", "Keep the practice's name on one line."));
    }
    if crisis.chars().any(|c| c.is_control() && c != '\n') {
        errors.push(FieldError::new("crisis_text", "Remove the control characters from the crisis text."));
    }
    errors.into_result().map(|()| (name, crisis))
}

/// What a link shows: the therapist's own practice name and crisis text,
/// or the defaults.
pub fn shown_to_clients(account: &crate::account::Account) -> (String, String) {
    let practice = match (account.practice_name.trim(), account.credential.trim()) {
        ("", "") => account.full_name.clone(),
        ("", credential) => format!("{}, {credential}", account.full_name),
        (name, _) => name.to_owned(),
    };
    let crisis = match account.crisis_text.trim() {
        "" => DEFAULT_CRISIS_TEXT.to_owned(),
        text => text.to_owned(),
    };
    (practice, crisis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schedule_moves_on_by_its_period_past_now() {
        let t = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        assert_eq!(next_due(t, 14, t), t + Duration::days(14));
        assert_eq!(next_due(t, 14, t + Duration::days(13)), t + Duration::days(14));
        assert_eq!(next_due(t, 14, t + Duration::days(14)), t + Duration::days(28), "due again now: the next one");
        assert_eq!(next_due(t, 7, t + Duration::days(50)), t + Duration::days(56), "missed periods are skipped");
    }

    #[test]
    fn practice_details_are_trimmed_and_checked_by_field() {
        let (name, crisis) = practice_details("  Northside CBT ", "Call 988\r\nor 911 ").unwrap();
        assert_eq!((name.as_str(), crisis.as_str()), ("Northside CBT", "Call 988\nor 911"));
        let errors = practice_details("Two\nlines", &"x".repeat(CRISIS_TEXT_MAX + 1)).unwrap_err();
        let fields: Vec<_> = errors.0.iter().map(|e| e.field).collect();
        assert_eq!(fields, vec!["crisis_text", "practice_name"]);
    }

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
