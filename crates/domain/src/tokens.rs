//! One-time tokens (email verification, password reset) and rate limits:
//! the pure rules; the store keeps their state.

use time::{Duration, OffsetDateTime};

use crate::AccountId;

/// What a one-time token is for. A token works for its own purpose only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenPurpose {
    VerifyEmail,
    ResetPassword,
}

impl TokenPurpose {
    pub fn code(self) -> &'static str {
        match self {
            TokenPurpose::VerifyEmail => "verify_email",
            TokenPurpose::ResetPassword => "reset_password",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "verify_email" => Some(TokenPurpose::VerifyEmail),
            "reset_password" => Some(TokenPurpose::ResetPassword),
            _ => None,
        }
    }

    /// How long a token of this purpose is valid (checklist 7 and 8).
    pub fn lifetime(self) -> Duration {
        match self {
            TokenPurpose::VerifyEmail => Duration::hours(24),
            TokenPurpose::ResetPassword => Duration::minutes(30),
        }
    }
}

/// A stored one-time token: only the SHA-256 of the secret is kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OneTimeToken {
    pub token_hash: Vec<u8>,
    pub account_id: AccountId,
    pub purpose: TokenPurpose,
    /// For email verification: the normalised address it verifies (an
    /// email change makes older links useless).
    pub email_normalized: Option<String>,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// A limit: at most `limit` attempts per `window`; one more locks the
/// bucket for `lockout`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateRule {
    pub limit: u32,
    pub window: Duration,
    pub lockout: Duration,
}

/// Checklist 4: sign-in, 7 per 10 minutes per account and per IP.
pub const LOGIN: RateRule = RateRule { limit: 7, window: Duration::minutes(10), lockout: Duration::minutes(15) };
/// Checklist 5: sign-up, 5 per 15 minutes per IP.
pub const SIGNUP: RateRule = RateRule { limit: 5, window: Duration::minutes(15), lockout: Duration::minutes(15) };
/// Checklist 5: password reset, 5 per 15 minutes per IP and per email.
pub const PASSWORD_RESET: RateRule =
    RateRule { limit: 5, window: Duration::minutes(15), lockout: Duration::minutes(15) };

/// Checklist 5: every request from one IP address, 2,000 per 5 minutes.
pub const GLOBAL_PER_IP: RateRule =
    RateRule { limit: 2_000, window: Duration::minutes(5), lockout: Duration::minutes(5) };

/// A bucket's stored state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BucketState {
    pub window_start: OffsetDateTime,
    pub count: u32,
    pub locked_until: Option<OffsetDateTime>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RateDecision {
    Allowed,
    /// Refused until this time.
    Limited {
        until: OffsetDateTime,
    },
}

impl RateRule {
    /// Counts one attempt at `now` against `state`; returns the new state
    /// and whether the attempt may proceed.
    pub fn hit(&self, state: Option<BucketState>, now: OffsetDateTime) -> (BucketState, RateDecision) {
        self.hit_many(state, now, 1)
    }

    /// Counts `attempts` at once (requests counted in memory and written in
    /// batches).
    pub fn hit_many(
        &self,
        state: Option<BucketState>,
        now: OffsetDateTime,
        attempts: u32,
    ) -> (BucketState, RateDecision) {
        let now = crate::time::to_storage_precision(now);
        if let Some(s) = state
            && let Some(until) = s.locked_until
            && now < until
        {
            return (s, RateDecision::Limited { until });
        }
        let mut s = match state {
            Some(s) if s.locked_until.is_none() && now < s.window_start + self.window => s,
            _ => BucketState { window_start: now, count: 0, locked_until: None },
        };
        s.count = s.count.saturating_add(attempts);
        if s.count > self.limit {
            let until = now + self.lockout;
            s.locked_until = Some(until);
            return (s, RateDecision::Limited { until });
        }
        (s, RateDecision::Allowed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checklist_4_eighth_attempt_in_ten_minutes_is_refused_then_lockout_ends() {
        let t0 = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        let mut state = None;
        for i in 0..7 {
            let (s, d) = LOGIN.hit(state, t0 + Duration::seconds(i));
            assert_eq!(d, RateDecision::Allowed, "attempt {}", i + 1);
            state = Some(s);
        }
        let (s, d) = LOGIN.hit(state, t0 + Duration::seconds(10));
        let until = t0 + Duration::seconds(10) + Duration::minutes(15);
        assert_eq!(d, RateDecision::Limited { until });
        let (s, d) = LOGIN.hit(Some(s), until - Duration::seconds(1));
        assert_eq!(d, RateDecision::Limited { until }, "one second before the lockout ends");
        let (_, d) = LOGIN.hit(Some(s), until);
        assert_eq!(d, RateDecision::Allowed, "at the end of the lockout");
    }

    #[test]
    fn checklist_4_window_resets_after_ten_minutes() {
        let t0 = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        let mut state = None;
        for _ in 0..7 {
            state = Some(LOGIN.hit(state, t0).0);
        }
        let (_, d) = LOGIN.hit(state, t0 + Duration::minutes(10) - Duration::seconds(1));
        assert!(matches!(d, RateDecision::Limited { .. }), "still inside the window");
        let (s, d) = LOGIN.hit(state, t0 + Duration::minutes(10));
        assert_eq!((d, s.count), (RateDecision::Allowed, 1), "a new window");
    }
}
