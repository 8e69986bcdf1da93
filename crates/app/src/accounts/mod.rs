//! Therapist accounts: sign-up, email verification, sign-in and sessions,
//! password reset and change, profile. Every change is written with its
//! audit event in one transaction; every mail is sent after the commit.

mod access_tokens;
mod google;
mod mfa;
mod password;
mod profile;
mod sessions;
mod sign_in;
mod sign_up;

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cbt_domain::audit::{Actor, AuditAction, AuditEvent, AuditOutcome, AuditTarget, RequestContext, TargetKind};
use cbt_domain::tokens::{RateDecision, RateRule};
use cbt_ports::{OutgoingMail, StoreTx};

pub use google::GoogleIdentity;
pub use mfa::MfaEnrolment;
pub use sessions::{CurrentSession, SessionSummary};
pub use sign_in::SignInOutcome;
pub use sign_up::SignUpForm;

use crate::{App, AppError};

/// A fresh secret token: 32 bytes from the CSPRNG, base64url (43 chars).
pub(crate) fn new_token() -> Result<String, AppError> {
    let mut raw = [0u8; 32];
    aws_lc_rs::rand::fill(&mut raw).map_err(|_| AppError::Internal("the system random source failed".into()))?;
    Ok(URL_SAFE_NO_PAD.encode(raw))
}

/// What the database keeps of a token: its SHA-256.
pub(crate) fn token_hash(token: &str) -> Vec<u8> {
    digest::digest(&digest::SHA256, token.as_bytes()).as_ref().to_vec()
}

/// A rate-limit bucket name that holds no personal data.
pub(crate) fn bucket(kind: &str, key: &str) -> String {
    let h = digest::digest(&digest::SHA256, key.as_bytes());
    let hex: String = h.as_ref()[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("{kind}:{hex}")
}

pub(crate) fn ip_key(ctx: &RequestContext) -> String {
    ctx.ip.map(|ip| ip.to_string()).unwrap_or_else(|| "unknown".into())
}

impl App {
    /// Builds an audit event at the clock's now.
    pub(crate) fn event(
        &self,
        actor: Actor,
        action: AuditAction,
        target: AuditTarget,
        outcome: AuditOutcome,
        ctx: &RequestContext,
    ) -> AuditEvent {
        AuditEvent::new(self.clock.now(), actor, action, target, outcome, ctx.clone())
    }

    /// Records a therapist's read of PHI (`id`: `None` for a list): a read
    /// writes nothing else, so its event goes to the group commit of reads.
    pub(crate) async fn audit_read(
        &self,
        me: cbt_domain::AccountId,
        action: AuditAction,
        kind: TargetKind,
        id: Option<uuid::Uuid>,
        ctx: &RequestContext,
    ) -> Result<(), AppError> {
        let event = self.event(Actor::Account(me), action, AuditTarget { kind, id }, AuditOutcome::Success, ctx);
        self.read_audit.record(vec![event]).await
    }

    pub(crate) async fn audit(&self, tx: &mut Box<dyn StoreTx>, event: AuditEvent) -> Result<(), AppError> {
        self.audit_all(tx, &[event]).await
    }

    /// Several events of one request, appended under one hold of the
    /// chain's lock.
    pub(crate) async fn audit_all(&self, tx: &mut Box<dyn StoreTx>, events: &[AuditEvent]) -> Result<(), AppError> {
        tx.append_audit(&self.audit_key, events).await?;
        Ok(())
    }

    /// Counts an attempt against each bucket (all are counted, so no bucket
    /// reveals which other one refused); refused if any is over its limit.
    pub(crate) async fn rate_check(
        &self,
        tx: &mut Box<dyn StoreTx>,
        buckets: &[(&str, RateRule)],
    ) -> Result<RateDecision, AppError> {
        let now = self.clock.now();
        let mut decision = RateDecision::Allowed;
        for (name, rule) in buckets {
            let state = tx.rate_bucket(name).await?;
            let (next, d) = rule.hit(state, now);
            tx.save_rate_bucket(name, &next).await?;
            if let RateDecision::Limited { until } = d {
                decision = match decision {
                    RateDecision::Limited { until: other } if other > until => decision,
                    _ => RateDecision::Limited { until },
                };
            }
        }
        Ok(decision)
    }

    /// Counts the attempt (see [`App::rate_check`]); when it is over a
    /// limit, records that in the audit log, commits the count and answers
    /// `RateLimited`; otherwise hands the transaction back.
    ///
    /// A bucket already locked is refused after a plain read, writing
    /// nothing: a flood against a locked account costs no write lock and
    /// cannot grow the audit log at line rate. The lockout itself (the
    /// attempt that crosses the limit) is what the audit log records.
    pub(crate) async fn refuse_if_limited(
        &self,
        buckets: &[(&str, RateRule)],
        target: AuditTarget,
        ctx: &RequestContext,
    ) -> Result<Box<dyn StoreTx>, AppError> {
        let names: Vec<&str> = buckets.iter().map(|(name, _)| *name).collect();
        if let Some(until) = self.locked_until(&names).await? {
            return Err(AppError::RateLimited { until });
        }
        let mut tx = self.store.begin().await?;
        if let RateDecision::Limited { until } = self.rate_check(&mut tx, buckets).await? {
            for (name, _) in buckets {
                if let Some(state) = tx.rate_bucket(name).await?
                    && let Some(locked) = state.locked_until
                {
                    self.lockouts.remember(name, locked);
                }
            }
            let event = self.event(Actor::Anonymous, AuditAction::RateLimited, target, AuditOutcome::Denied, ctx);
            self.audit(&mut tx, event).await?;
            tx.commit().await?;
            return Err(AppError::RateLimited { until });
        }
        Ok(tx)
    }

    /// Until when one of `buckets` is locked: from this instance's memory
    /// of lockouts, else from a plain read of the shared buckets.
    pub(crate) async fn locked_until(&self, buckets: &[&str]) -> Result<Option<time::OffsetDateTime>, AppError> {
        let now = self.clock.now();
        if let Some(until) = self.lockouts.until(buckets, now) {
            return Ok(Some(until));
        }
        let mut until = None;
        for name in buckets {
            if let Some(locked) = self.store.peek_rate_bucket(name).await?.and_then(|s| s.locked_until)
                && locked > now
            {
                self.lockouts.remember(name, locked);
                until = until.max(Some(locked));
            }
        }
        Ok(until)
    }

    /// Sends a mail without making the caller wait for the mail server, so
    /// answers take the same time whether or not a mail was sent.
    pub(crate) fn send_later(&self, mail: OutgoingMail) {
        let mailer = self.mailer.clone();
        let subject = mail.subject.clone();
        tokio::spawn(async move {
            if let Err(e) = mailer.send(mail).await {
                tracing::warn!(subject, error = %e, "mail not sent");
            }
        });
    }

    /// A link to a page of this deployment.
    pub(crate) fn link(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.settings.public_url.trim_end_matches('/'))
    }
}

/// This instance's memory of buckets it has seen locked, so that a flood
/// against a locked account is refused without touching the database. The
/// database stays the truth shared by all instances; an entry only ever
/// says "locked until", which the database would say too.
#[derive(Default)]
pub(crate) struct Lockouts(std::sync::Mutex<std::collections::HashMap<String, time::OffsetDateTime>>);

/// Entries kept at most (expired ones go first, then everything).
const LOCKOUTS_KEPT: usize = 100_000;

impl Lockouts {
    fn until(&self, buckets: &[&str], now: time::OffsetDateTime) -> Option<time::OffsetDateTime> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        buckets.iter().filter_map(|b| map.get(*b).copied()).filter(|until| *until > now).max()
    }

    fn remember(&self, bucket: &str, until: time::OffsetDateTime) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= LOCKOUTS_KEPT {
            let now = time::OffsetDateTime::now_utc();
            map.retain(|_, u| *u > now);
            if map.len() >= LOCKOUTS_KEPT {
                map.clear();
            }
        }
        map.insert(bucket.to_owned(), until);
    }
}
