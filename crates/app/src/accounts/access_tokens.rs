//! Personal access tokens for the JSON API (checklist 27): shown once,
//! stored as a SHA-256 hash, expiring, revocable, audited.

use cbt_domain::access_token::{self, AccessToken, AccessTokenId};
use cbt_domain::account::Account;
use cbt_domain::audit::{Actor, AuditAction, AuditOutcome, AuditTarget, RequestContext, TargetKind};
use cbt_domain::session::TOUCH_INTERVAL;
use cbt_domain::validation::FieldErrors;

use super::{CurrentSession, new_token, token_hash};
use crate::{App, AppError};

impl App {
    /// Creates a token; returns its plaintext, which is never stored.
    pub async fn create_access_token(
        &self,
        current: &CurrentSession,
        name: &str,
        lifetime_days: &str,
        ctx: &RequestContext,
    ) -> Result<String, AppError> {
        let mut errors = FieldErrors::default();
        let name = errors.take(access_token::parse_name(name));
        let lifetime = errors.take(access_token::parse_lifetime(lifetime_days));
        let (Some(name), Some(lifetime)) = (name, lifetime) else { return Err(AppError::Invalid(errors)) };
        let plaintext = format!("{}{}", access_token::PREFIX, new_token()?);
        let now = cbt_domain::time::to_storage_precision(self.clock.now());
        let token = AccessToken {
            id: AccessTokenId::new(),
            account_id: current.account.id,
            name,
            token_hash: token_hash(&plaintext),
            created_at: now,
            expires_at: now + lifetime,
            last_used_at: None,
        };
        let mut tx = self.store.begin().await?;
        tx.insert_access_token(&token).await?;
        let target = AuditTarget::new(TargetKind::AccessToken, token.id.as_uuid());
        let event = self.event(
            Actor::Account(current.account.id),
            AuditAction::AccessTokenCreated,
            target,
            AuditOutcome::Success,
            ctx,
        );
        self.audit(&mut tx, event).await?;
        tx.commit().await?;
        Ok(plaintext)
    }

    pub async fn list_access_tokens(&self, current: &CurrentSession) -> Result<Vec<AccessToken>, AppError> {
        Ok(self.store.access_tokens_of(current.account.id).await?)
    }

    /// Revokes one of the therapist's own tokens; another's id is NotFound.
    pub async fn revoke_access_token(
        &self,
        current: &CurrentSession,
        id: AccessTokenId,
        ctx: &RequestContext,
    ) -> Result<(), AppError> {
        let mut tx = self.store.begin().await?;
        if !tx.delete_access_token(current.account.id, id).await? {
            return Err(AppError::NotFound);
        }
        let target = AuditTarget::new(TargetKind::AccessToken, id.as_uuid());
        let event = self.event(
            Actor::Account(current.account.id),
            AuditAction::AccessTokenRevoked,
            target,
            AuditOutcome::Success,
            ctx,
        );
        self.audit(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The account a bearer token stands for, if the token is known, not
    /// expired and not revoked.
    pub async fn account_for_access_token(&self, bearer: &str) -> Result<Option<Account>, AppError> {
        if !bearer.starts_with(access_token::PREFIX) {
            return Ok(None);
        }
        let Some(token) = self.store.access_token_by_hash(&token_hash(bearer)).await? else { return Ok(None) };
        let now = self.clock.now();
        if !token.is_live(now) {
            return Ok(None);
        }
        if token.last_used_at.is_none_or(|t| now >= t + TOUCH_INTERVAL) {
            self.store.touch_access_token(token.id, cbt_domain::time::to_storage_precision(now)).await?;
        }
        Ok(self.store.account_by_id(token.account_id).await?)
    }
}
