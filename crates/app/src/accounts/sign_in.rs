//! Sign-in with email and password (checklist 2, 3, 4, 12, 15).

use cbt_domain::account::Account;
use cbt_domain::audit::{Actor, AuditAction, AuditOutcome, AuditTarget, RequestContext, TargetKind};
use cbt_domain::session::{MAX_CONCURRENT, Session, SessionStage};
use cbt_domain::tokens;
use cbt_ports::StoreTx;

use super::{bucket, ip_key, new_token, token_hash};
use crate::{App, AppError};

/// What a correct email and password lead to.
#[derive(Debug)]
pub enum SignInOutcome {
    /// Signed in: the new session's token (for the cookie), and whether the
    /// oldest session was ended to stay within five.
    SignedIn { token: String, ended_oldest: bool },
    /// The password was right; a TOTP code is still owed. The token is of a
    /// session that grants nothing but the code form.
    MfaRequired { token: String },
}

impl App {
    /// Checks email and password. Every failure, whatever its reason
    /// (unknown email, wrong password, no password on the account), is the
    /// same `InvalidCredentials`, after one bcrypt verification; a limited
    /// account or address is refused before any check, even with the right
    /// password.
    pub async fn sign_in(&self, email: &str, password: &str, ctx: &RequestContext) -> Result<SignInOutcome, AppError> {
        let normalized = email.trim().to_lowercase();
        let account_bucket = bucket("login:email", &normalized);
        let buckets = [(bucket("login:ip", &ip_key(ctx)), tokens::LOGIN), (account_bucket.clone(), tokens::LOGIN)];
        let buckets: Vec<(&str, _)> = buckets.iter().map(|(name, rule)| (name.as_str(), *rule)).collect();
        let anyone = AuditTarget { kind: TargetKind::Account, id: None };
        let tx = self.refuse_if_limited(&buckets, anyone, ctx).await?;
        // The attempt is counted before the slow check, and the write lock
        // is not held while bcrypt runs.
        tx.commit().await?;

        let account = self.store.account_by_email(&normalized).await?;
        let hash = account.as_ref().and_then(|a| a.password_hash.as_deref());
        let matched = self.hasher.verify(password, hash).await?;
        let known_id = account.as_ref().map(|a| a.id.as_uuid());
        let Some(mut account) = account.filter(|_| matched) else {
            let target = AuditTarget { kind: TargetKind::Account, id: known_id };
            let mut tx = self.store.begin().await?;
            let event = self.event(Actor::Anonymous, AuditAction::SignIn, target, AuditOutcome::Failure, ctx);
            self.audit(&mut tx, event).await?;
            tx.commit().await?;
            return Err(AppError::InvalidCredentials);
        };

        let upgraded = match account.password_hash.as_deref() {
            Some(h) if self.hasher.needs_upgrade(h) => Some(self.hasher.hash(password).await?),
            _ => None,
        };
        let mut tx = self.store.begin().await?;
        tx.delete_rate_bucket(&account_bucket).await?;
        if let Some(hash) = upgraded {
            account.password_hash = Some(hash);
            account.updated_at = cbt_domain::time::to_storage_precision(self.clock.now());
            tx.update_account(&account).await?;
        }
        let outcome = if account.mfa_enabled() {
            let token = self.start_session(&mut tx, &account, SessionStage::MfaPending, ctx).await?.0;
            SignInOutcome::MfaRequired { token }
        } else {
            let (token, ended_oldest) = self.start_session(&mut tx, &account, SessionStage::Full, ctx).await?;
            SignInOutcome::SignedIn { token, ended_oldest }
        };
        tx.commit().await?;
        Ok(outcome)
    }

    /// A new session with a new token (never a reused one: no fixation).
    /// A full session ends the oldest ones beyond five and records the
    /// sign-in. Returns the token and whether an older session was ended.
    pub(crate) async fn start_session(
        &self,
        tx: &mut Box<dyn StoreTx>,
        account: &Account,
        stage: SessionStage,
        ctx: &RequestContext,
    ) -> Result<(String, bool), AppError> {
        let now = self.clock.now();
        let mut ended = false;
        if stage == SessionStage::Full {
            let mut live = Vec::new();
            for s in tx.sessions_of(account.id).await? {
                if s.stage == SessionStage::Full && s.is_live(now) {
                    live.push(s);
                } else if !s.is_live(now) {
                    // Housekeeping: expired sessions go when their owner
                    // next signs in.
                    tx.delete_session(account.id, s.id).await?;
                }
            }
            let excess = (live.len() + 1).saturating_sub(MAX_CONCURRENT);
            for old in live.iter().take(excess) {
                tx.delete_session(account.id, old.id).await?;
                let target = AuditTarget::new(TargetKind::Session, old.id.as_uuid());
                let event = self.event(
                    Actor::Account(account.id),
                    AuditAction::SessionRevoked,
                    target,
                    AuditOutcome::Success,
                    ctx,
                );
                self.audit(tx, event).await?;
                ended = true;
            }
        }
        let token = new_token()?;
        let session = Session::start(
            token_hash(&token),
            account.id,
            stage,
            now,
            ctx.ip.map(|ip| ip.to_string()),
            ctx.user_agent().map(str::to_owned),
        );
        tx.insert_session(&session).await?;
        if stage == SessionStage::Full {
            let target = AuditTarget::new(TargetKind::Session, session.id.as_uuid());
            let event = self.event(Actor::Account(account.id), AuditAction::SignIn, target, AuditOutcome::Success, ctx);
            self.audit(tx, event).await?;
        }
        Ok((token, ended))
    }
}
