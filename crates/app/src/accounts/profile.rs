//! The therapist's own details: name, credential, email (checklist 7: a new
//! email must be verified again).

use cbt_domain::account::{Credential, Email, FullName};
use cbt_domain::audit::{Actor, AuditAction, AuditOutcome, AuditTarget, RequestContext, TargetKind};
use cbt_domain::validation::{FieldError, FieldErrors};
use cbt_ports::{OutgoingMail, StoreError};

use super::CurrentSession;
use crate::{App, AppError};

impl App {
    pub async fn update_profile(
        &self,
        current: &CurrentSession,
        full_name: &str,
        credential: &str,
        ctx: &RequestContext,
    ) -> Result<(), AppError> {
        let mut errors = FieldErrors::default();
        let name = errors.take(FullName::parse(full_name));
        let credential = errors.take(Credential::parse(credential));
        let (Some(name), Some(credential)) = (name, credential) else { return Err(AppError::Invalid(errors)) };
        let mut tx = self.store.begin().await?;
        let Some(mut account) = tx.account_by_id(current.account.id).await? else { return Err(AppError::NotFound) };
        account.full_name = name.as_str().to_owned();
        account.credential = credential.as_str().to_owned();
        account.updated_at = cbt_domain::time::to_storage_precision(self.clock.now());
        tx.update_account(&account).await?;
        let target = AuditTarget::new(TargetKind::Account, account.id.as_uuid());
        let event =
            self.event(Actor::Account(account.id), AuditAction::AccountUpdated, target, AuditOutcome::Success, ctx);
        self.audit(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Changes what clients see on questionnaire links: the practice's name
    /// and the crisis text (empty: the defaults).
    pub async fn update_practice(
        &self,
        current: &CurrentSession,
        practice_name: &str,
        crisis_text: &str,
        ctx: &RequestContext,
    ) -> Result<(), AppError> {
        let (practice_name, crisis_text) =
            cbt_domain::client_link::practice_details(practice_name, crisis_text).map_err(AppError::Invalid)?;
        let mut tx = self.store.begin().await?;
        let Some(mut account) = tx.account_by_id(current.account.id).await? else { return Err(AppError::NotFound) };
        account.practice_name = practice_name;
        account.crisis_text = crisis_text;
        account.updated_at = cbt_domain::time::to_storage_precision(self.clock.now());
        tx.update_account(&account).await?;
        let target = AuditTarget::new(TargetKind::Account, account.id.as_uuid());
        let event =
            self.event(Actor::Account(account.id), AuditAction::AccountUpdated, target, AuditOutcome::Success, ctx);
        self.audit(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Moves the account to a new address, which must be verified again
    /// before clinical features unlock; the old address is told.
    pub async fn change_email(
        &self,
        current: &CurrentSession,
        new_email: &str,
        password: &str,
        ctx: &RequestContext,
    ) -> Result<(), AppError> {
        let email = Email::parse(new_email).map_err(|e| AppError::Invalid(e.into()))?;
        if !self.hasher.verify(password, current.account.password_hash.as_deref()).await? {
            return Err(AppError::Invalid(FieldError::new("password", "The password is not correct.").into()));
        }
        let mut tx = self.store.begin().await?;
        let Some(mut account) = tx.account_by_id(current.account.id).await? else { return Err(AppError::NotFound) };
        if account.email_normalized == email.normalized() {
            return Ok(());
        }
        let old_address = account.email.clone();
        account.email = email.as_str().to_owned();
        account.email_normalized = email.normalized().to_owned();
        account.email_verified_at = None;
        account.updated_at = cbt_domain::time::to_storage_precision(self.clock.now());
        match tx.update_account(&account).await {
            Err(StoreError::Duplicate { .. }) => {
                return Err(AppError::Invalid(
                    FieldError::new("email", "This email address cannot be used. Choose another.").into(),
                ));
            }
            other => other?,
        }
        let target = AuditTarget::new(TargetKind::Account, account.id.as_uuid());
        let event =
            self.event(Actor::Account(account.id), AuditAction::AccountUpdated, target, AuditOutcome::Success, ctx);
        self.audit(&mut tx, event).await?;
        let link = self.verification_link(&mut tx, &account).await?;
        tx.commit().await?;
        self.send_later(super::sign_up::verification_mail(&account, &link));
        self.send_later(OutgoingMail {
            to: old_address,
            subject: "Your CBT Assistant Pro email address was changed".into(),
            text: "The email address of your CBT Assistant Pro account was just changed. If this was not you, \
                   contact your administrator now.\n"
                .into(),
        });
        Ok(())
    }
}
