//! Sessions: who is signed in, the Security page's list, sign-out and
//! revocation (checklist 14, 16, 17).

use cbt_domain::account::Account;
use cbt_domain::audit::{Actor, AuditAction, AuditOutcome, AuditTarget, RequestContext, TargetKind};
use cbt_domain::session::{Session, SessionId, SessionStage, device_label};
use time::OffsetDateTime;

use super::token_hash;
use crate::{App, AppError};

/// The signed-in therapist of a request.
#[derive(Clone, Debug)]
pub struct CurrentSession {
    pub session: Session,
    pub account: Account,
}

/// One row of the Security page.
#[derive(Clone, Debug)]
pub struct SessionSummary {
    pub id: SessionId,
    pub device: String,
    pub ip: Option<String>,
    pub created_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
    pub current: bool,
}

impl App {
    /// The live session for a cookie token at `stage`, recording activity
    /// (at most once a minute). Expired sessions are deleted and answer
    /// `None`, exactly like unknown tokens.
    pub async fn session_for_token(
        &self,
        token: &str,
        stage: SessionStage,
    ) -> Result<Option<CurrentSession>, AppError> {
        let Some((session, account)) = self.store.session_by_token_hash(&token_hash(token)).await? else {
            return Ok(None);
        };
        let now = self.clock.now();
        if !session.is_live(now) {
            let mut tx = self.store.begin().await?;
            tx.delete_session(session.account_id, session.id).await?;
            tx.commit().await?;
            return Ok(None);
        }
        if session.stage != stage {
            return Ok(None);
        }
        let session = if session.needs_touch(now) {
            let now = cbt_domain::time::to_storage_precision(now);
            self.store.touch_session(session.id, now).await?;
            Session { last_seen_at: now, ..session }
        } else {
            session
        };
        Ok(Some(CurrentSession { session, account }))
    }

    /// Signs out: the server-side session is deleted.
    pub async fn sign_out(&self, current: &CurrentSession, ctx: &RequestContext) -> Result<(), AppError> {
        let mut tx = self.store.begin().await?;
        tx.delete_session(current.account.id, current.session.id).await?;
        let target = AuditTarget::new(TargetKind::Session, current.session.id.as_uuid());
        let event =
            self.event(Actor::Account(current.account.id), AuditAction::SignOut, target, AuditOutcome::Success, ctx);
        self.audit(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The therapist's live sessions, newest activity first.
    pub async fn list_sessions(&self, current: &CurrentSession) -> Result<Vec<SessionSummary>, AppError> {
        let now = self.clock.now();
        let mut out: Vec<SessionSummary> = self
            .store
            .sessions_of(current.account.id)
            .await?
            .into_iter()
            .filter(|s| s.stage == SessionStage::Full && s.is_live(now))
            .map(|s| SessionSummary {
                id: s.id,
                device: device_label(s.user_agent.as_deref()),
                ip: s.ip.clone(),
                created_at: s.created_at,
                last_seen_at: s.last_seen_at,
                current: s.id == current.session.id,
            })
            .collect();
        out.sort_by(|a, b| b.current.cmp(&a.current).then(b.last_seen_at.cmp(&a.last_seen_at)));
        Ok(out)
    }

    /// Ends one of the therapist's own sessions; another account's id is
    /// `NotFound`, like an unknown one.
    pub async fn revoke_session(
        &self,
        current: &CurrentSession,
        id: SessionId,
        ctx: &RequestContext,
    ) -> Result<(), AppError> {
        let mut tx = self.store.begin().await?;
        if !tx.delete_session(current.account.id, id).await? {
            return Err(AppError::NotFound);
        }
        let target = AuditTarget::new(TargetKind::Session, id.as_uuid());
        let event = self.event(
            Actor::Account(current.account.id),
            AuditAction::SessionRevoked,
            target,
            AuditOutcome::Success,
            ctx,
        );
        self.audit(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Ends every session but this one; returns how many ended.
    pub async fn revoke_other_sessions(&self, current: &CurrentSession, ctx: &RequestContext) -> Result<u64, AppError> {
        let mut tx = self.store.begin().await?;
        let ended = tx.delete_sessions(current.account.id, Some(current.session.id)).await?;
        let target = AuditTarget { kind: TargetKind::Session, id: None };
        let event = self.event(
            Actor::Account(current.account.id),
            AuditAction::SessionRevoked,
            target,
            AuditOutcome::Success,
            ctx,
        );
        self.audit(&mut tx, event).await?;
        tx.commit().await?;
        Ok(ended)
    }
}
