//! Signed-in sessions: their lifetime rules.
//!
//! A session is a row keyed by the SHA-256 of a 256-bit random token; the
//! token itself exists only in the therapist's cookie.

use std::fmt;

use time::{Duration, OffsetDateTime};

use crate::AccountId;

/// Absolute lifetime (checklist 14).
pub const ABSOLUTE_LIFETIME: Duration = Duration::hours(12);
/// Ends after this long without a request (checklist 14).
pub const IDLE_TIMEOUT: Duration = Duration::minutes(60);
/// Concurrent full sessions per account; the next sign-in ends the oldest.
pub const MAX_CONCURRENT: usize = 5;
/// A password-checked sign-in waiting for its TOTP code lives this long.
pub const MFA_PENDING_LIFETIME: Duration = Duration::minutes(5);
/// `last_seen_at` is written at most this often (a write per request
/// would cost more than it tells).
pub const TOUCH_INTERVAL: Duration = Duration::seconds(60);

crate::ids::uuid_id!(
    /// A session's public id (shown on the Security page, used to revoke);
    /// unrelated to its token.
    SessionId
);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionStage {
    /// Password checked, TOTP code still owed: grants nothing else.
    MfaPending,
    /// Signed in.
    Full,
}

impl SessionStage {
    pub fn code(self) -> &'static str {
        match self {
            SessionStage::MfaPending => "mfa_pending",
            SessionStage::Full => "full",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "mfa_pending" => Some(SessionStage::MfaPending),
            "full" => Some(SessionStage::Full),
            _ => None,
        }
    }
}

#[derive(Clone, PartialEq, Eq)]
pub struct Session {
    pub id: SessionId,
    pub token_hash: Vec<u8>,
    pub account_id: AccountId,
    pub stage: SessionStage,
    pub created_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl Session {
    /// A new session starting `now`.
    pub fn start(
        token_hash: Vec<u8>,
        account_id: AccountId,
        stage: SessionStage,
        now: OffsetDateTime,
        ip: Option<String>,
        user_agent: Option<String>,
    ) -> Self {
        let now = crate::time::to_storage_precision(now);
        let lifetime = match stage {
            SessionStage::Full => ABSOLUTE_LIFETIME,
            SessionStage::MfaPending => MFA_PENDING_LIFETIME,
        };
        Self {
            id: SessionId::new(),
            token_hash,
            account_id,
            stage,
            created_at: now,
            last_seen_at: now,
            expires_at: now + lifetime,
            ip,
            user_agent,
        }
    }

    /// Still valid at `now`: before its absolute expiry and within the idle
    /// timeout since the last request.
    pub fn is_live(&self, now: OffsetDateTime) -> bool {
        now < self.expires_at && now < self.last_seen_at + IDLE_TIMEOUT
    }

    /// Whether a request at `now` should record itself as last seen.
    pub fn needs_touch(&self, now: OffsetDateTime) -> bool {
        now >= self.last_seen_at + TOUCH_INTERVAL
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session").field("id", &self.id).field("account_id", &self.account_id).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(now: OffsetDateTime) -> Session {
        Session::start(vec![0; 32], AccountId::new(), SessionStage::Full, now, None, None)
    }

    #[test]
    fn checklist_14_idle_timeout_at_60_minutes() {
        let t0 = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        let s = session(t0);
        assert!(s.is_live(t0 + Duration::minutes(60) - Duration::seconds(1)));
        assert!(!s.is_live(t0 + Duration::minutes(60)));
        assert!(!s.is_live(t0 + Duration::minutes(60) + Duration::seconds(1)));
    }

    #[test]
    fn checklist_14_absolute_expiry_at_12_hours_even_when_active() {
        let t0 = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        let mut s = session(t0);
        s.last_seen_at = t0 + Duration::hours(12) - Duration::seconds(2);
        assert!(s.is_live(t0 + Duration::hours(12) - Duration::seconds(1)));
        assert!(!s.is_live(t0 + Duration::hours(12)));
        assert!(!s.is_live(t0 + Duration::hours(12) + Duration::seconds(1)));
    }

    #[test]
    fn mfa_pending_sessions_last_five_minutes() {
        let t0 = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        let s = Session::start(vec![], AccountId::new(), SessionStage::MfaPending, t0, None, None);
        assert!(s.is_live(t0 + Duration::minutes(5) - Duration::seconds(1)));
        assert!(!s.is_live(t0 + Duration::minutes(5)));
    }
}

/// "Firefox on Windows": what the Security page shows for a user agent.
pub fn device_label(user_agent: Option<&str>) -> String {
    let Some(ua) = user_agent else { return "Unknown device".into() };
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Chromium/", "Chromium"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
    ]
    .iter()
    .find(|(needle, _)| ua.contains(needle))
    .map(|(_, name)| *name)
    .unwrap_or("Unknown browser");
    let os = [
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Android", "Android"),
        ("CrOS", "ChromeOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("Macintosh", "macOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(needle, _)| ua.contains(needle))
    .map(|(_, name)| *name);
    match os {
        Some(os) => format!("{browser} on {os}"),
        None => browser.to_owned(),
    }
}

#[cfg(test)]
mod device_tests {
    use super::device_label;

    #[test]
    fn checklist_16_devices_are_named_from_the_user_agent() {
        let firefox = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0";
        assert_eq!(device_label(Some(firefox)), "Firefox on Windows");
        let chrome =
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36";
        assert_eq!(device_label(Some(chrome)), "Chrome on Linux");
        let ipad = "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Safari/604.1";
        assert_eq!(device_label(Some(ipad)), "Safari on iPadOS");
        assert_eq!(device_label(None), "Unknown device");
    }
}
