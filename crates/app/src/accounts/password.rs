//! Password reset and change (checklist 6, 8, 9, 17).

use cbt_domain::account::{Email, NewPassword};
use cbt_domain::audit::{Actor, AuditAction, AuditOutcome, AuditTarget, RequestContext, TargetKind};
use cbt_domain::tokens::{self, OneTimeToken, TokenPurpose};
use cbt_domain::validation::{FieldError, FieldErrors};
use cbt_ports::OutgoingMail;

use super::{CurrentSession, bucket, ip_key, new_token, token_hash};
use crate::{App, AppError};

fn password_errors(field: &'static str, rules: Vec<cbt_domain::account::PasswordRule>) -> AppError {
    AppError::Invalid(FieldErrors(rules.into_iter().map(|r| FieldError::new(field, r.message())).collect()))
}

impl App {
    /// Emails a reset link if the address has an account. The answer is
    /// the same either way (checklist 6); the mail leaves in the background
    /// so timing does not tell either.
    pub async fn request_password_reset(&self, email: &str, ctx: &RequestContext) -> Result<(), AppError> {
        let normalized = email.trim().to_lowercase();
        let (by_ip, by_email) = (bucket("reset:ip", &ip_key(ctx)), bucket("reset:email", &normalized));
        let buckets = [(by_ip.as_str(), tokens::PASSWORD_RESET), (by_email.as_str(), tokens::PASSWORD_RESET)];
        let anyone = AuditTarget { kind: TargetKind::Account, id: None };
        // Looked up before the transaction: a request holding one pool
        // connection while waiting for another can exhaust the pool.
        let found = self.store.account_by_email(&normalized).await?;
        let mut tx = self.refuse_if_limited(&buckets, anyone, ctx).await?;
        let Some(account) = found else {
            tx.commit().await?;
            return Ok(());
        };
        let now = cbt_domain::time::to_storage_precision(self.clock.now());
        let token = new_token()?;
        tx.delete_tokens(account.id, TokenPurpose::ResetPassword).await?;
        tx.insert_token(&OneTimeToken {
            token_hash: token_hash(&token),
            account_id: account.id,
            purpose: TokenPurpose::ResetPassword,
            email_normalized: None,
            created_at: now,
            expires_at: now + TokenPurpose::ResetPassword.lifetime(),
        })
        .await?;
        let target = AuditTarget::new(TargetKind::Account, account.id.as_uuid());
        let event =
            self.event(Actor::Anonymous, AuditAction::PasswordResetRequested, target, AuditOutcome::Success, ctx);
        self.audit(&mut tx, event).await?;
        tx.commit().await?;
        self.send_later(OutgoingMail {
            to: account.email.clone(),
            subject: "Reset your CBT Assistant Pro password".into(),
            text: format!(
                "Someone asked to reset the password of your CBT Assistant Pro account.\n\n\
                 To choose a new password, open this link within 30 minutes:\n{}\n\n\
                 The link works once. If you did not ask for this, ignore this message: your password stays as it is.\n",
                self.link(&format!("/password/reset?token={token}"))
            ),
        });
        Ok(())
    }

    /// Sets a new password through a reset link: single use, 30 minutes,
    /// void after any password change. Ends every session and notifies the
    /// owner (checklist 8, 17). A rejected password keeps the link usable.
    pub async fn reset_password(&self, token: &str, new_password: &str, ctx: &RequestContext) -> Result<(), AppError> {
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let stored = tx.take_token(&token_hash(token), TokenPurpose::ResetPassword).await?;
        let Some(stored) = stored.filter(|t| now < t.expires_at) else { return Err(AppError::InvalidLink) };
        let Some(mut account) = tx.account_by_id(stored.account_id).await? else { return Err(AppError::InvalidLink) };
        let email = Email::parse(&account.email).ok();
        // On error the transaction is dropped: the token is not consumed.
        let password = NewPassword::parse(new_password, email.as_ref()).map_err(|r| password_errors("password", r))?;
        drop(tx);
        let hash = self.hasher.hash(password.expose()).await?;

        let mut tx = self.store.begin().await?;
        // Taken again, now for good: if it was used meanwhile, stop.
        if tx.take_token(&token_hash(token), TokenPurpose::ResetPassword).await?.is_none() {
            return Err(AppError::InvalidLink);
        }
        let now = cbt_domain::time::to_storage_precision(self.clock.now());
        account.password_hash = Some(hash);
        account.password_changed_at = now;
        account.updated_at = now;
        tx.update_account(&account).await?;
        tx.delete_tokens(account.id, TokenPurpose::ResetPassword).await?;
        tx.delete_sessions(account.id, None).await?;
        let target = AuditTarget::new(TargetKind::Account, account.id.as_uuid());
        let event =
            self.event(Actor::Account(account.id), AuditAction::PasswordReset, target, AuditOutcome::Success, ctx);
        self.audit(&mut tx, event).await?;
        tx.commit().await?;
        self.send_later(OutgoingMail {
            to: account.email.clone(),
            subject: "Your CBT Assistant Pro password was reset".into(),
            text: format!(
                "The password of your CBT Assistant Pro account was just reset, and every device was signed out.\n\n\
                 If this was not you, reset your password again now ({}) and contact your administrator.\n",
                self.link("/password/forgot")
            ),
        });
        Ok(())
    }

    /// Changes the password of the signed-in therapist: the current password
    /// is required; every other session ends; the owner is notified
    /// (checklist 9, 17).
    pub async fn change_password(
        &self,
        current: &CurrentSession,
        current_password: &str,
        new_password: &str,
        ctx: &RequestContext,
    ) -> Result<(), AppError> {
        let email = Email::parse(&current.account.email).ok();
        let password =
            NewPassword::parse(new_password, email.as_ref()).map_err(|r| password_errors("new_password", r))?;
        if !self.hasher.verify(current_password, current.account.password_hash.as_deref()).await? {
            let target = AuditTarget::new(TargetKind::Account, current.account.id.as_uuid());
            let mut tx = self.store.begin().await?;
            let event = self.event(
                Actor::Account(current.account.id),
                AuditAction::PasswordChanged,
                target,
                AuditOutcome::Failure,
                ctx,
            );
            self.audit(&mut tx, event).await?;
            tx.commit().await?;
            return Err(AppError::Invalid(
                FieldError::new("current_password", "The current password is not correct.").into(),
            ));
        }
        let hash = self.hasher.hash(password.expose()).await?;
        let mut tx = self.store.begin().await?;
        let Some(mut account) = tx.account_by_id(current.account.id).await? else { return Err(AppError::NotFound) };
        let now = cbt_domain::time::to_storage_precision(self.clock.now());
        account.password_hash = Some(hash);
        account.password_changed_at = now;
        account.updated_at = now;
        tx.update_account(&account).await?;
        // Any reset link issued before is void now (checklist 8).
        tx.delete_tokens(account.id, TokenPurpose::ResetPassword).await?;
        tx.delete_sessions(account.id, Some(current.session.id)).await?;
        let target = AuditTarget::new(TargetKind::Account, account.id.as_uuid());
        let event =
            self.event(Actor::Account(account.id), AuditAction::PasswordChanged, target, AuditOutcome::Success, ctx);
        self.audit(&mut tx, event).await?;
        tx.commit().await?;
        self.send_later(OutgoingMail {
            to: account.email.clone(),
            subject: "Your CBT Assistant Pro password was changed".into(),
            text: format!(
                "The password of your CBT Assistant Pro account was just changed, and your other devices were signed \
                 out.\n\nIf this was not you, reset your password now ({}) and contact your administrator.\n",
                self.link("/password/forgot")
            ),
        });
        Ok(())
    }
}
