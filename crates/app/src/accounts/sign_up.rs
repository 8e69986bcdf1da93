//! Sign-up and email verification (checklist 5, 6, 7).

use cbt_domain::AccountId;
use cbt_domain::account::{Account, Credential, Email, FullName, NewPassword};
use cbt_domain::audit::{Actor, AuditAction, AuditOutcome, AuditTarget, RequestContext, TargetKind};
use cbt_domain::tokens::{self, OneTimeToken, TokenPurpose};
use cbt_domain::validation::{FieldError, FieldErrors};
use cbt_ports::OutgoingMail;

use super::{bucket, ip_key, new_token, token_hash};
use crate::signed_links::LinkClaims;
use crate::{App, AppError};

/// What the sign-up form sends.
#[derive(Clone, Default)]
pub struct SignUpForm {
    pub full_name: String,
    pub email: String,
    pub credential: String,
    pub password: String,
}

impl std::fmt::Debug for SignUpForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SignUpForm([redacted])")
    }
}

impl App {
    /// Creates an account and emails a verification link. The answer is
    /// the same whether or not the email already has an account; if it
    /// does, its owner is emailed instead (checklist 6).
    pub async fn sign_up(&self, form: &SignUpForm, ctx: &RequestContext) -> Result<(), AppError> {
        let mut errors = FieldErrors::default();
        let full_name = errors.take(FullName::parse(&form.full_name));
        let email = errors.take(Email::parse(&form.email));
        let credential = errors.take(Credential::parse(&form.credential));
        let password = match NewPassword::parse(&form.password, email.as_ref()) {
            Ok(p) => Some(p),
            Err(rules) => {
                for rule in rules {
                    errors.push(FieldError::new("password", rule.message()));
                }
                None
            }
        };
        let (Some(full_name), Some(email), Some(credential), Some(password)) = (full_name, email, credential, password)
        else {
            return Err(AppError::Invalid(errors));
        };

        let anyone = AuditTarget { kind: TargetKind::Account, id: None };
        let by_ip = bucket("signup:ip", &ip_key(ctx));
        self.refuse_if_limited(&[(&by_ip, tokens::SIGNUP)], anyone, ctx).await?.commit().await?;

        // Hash before looking the address up, so both answers take one
        // bcrypt.
        let password_hash = self.hasher.hash(password.expose()).await?;
        let mut tx = self.store.begin().await?;
        if let Some(existing) = self.store.account_by_email(email.normalized()).await? {
            let event = self.event(
                Actor::Anonymous,
                AuditAction::SignupWithExistingEmail,
                AuditTarget::new(TargetKind::Account, existing.id.as_uuid()),
                AuditOutcome::Denied,
                ctx,
            );
            self.audit(&mut tx, event).await?;
            tx.commit().await?;
            self.send_later(OutgoingMail {
                to: existing.email.clone(),
                subject: "Someone tried to sign up with your email".into(),
                text: format!(
                    "Someone tried to create a CBT Assistant Pro account with this email address, which already \
                     has an account.\n\nIf it was you, sign in: {}\nForgot your password? Reset it: {}\n\n\
                     If it was not you, you can ignore this message; nothing was changed.\n",
                    self.link("/login"),
                    self.link("/password/forgot")
                ),
            });
            return Ok(());
        }
        let now = cbt_domain::time::to_storage_precision(self.clock.now());
        let account = Account {
            id: AccountId::new(),
            email: email.as_str().to_owned(),
            email_normalized: email.normalized().to_owned(),
            full_name: full_name.as_str().to_owned(),
            credential: credential.as_str().to_owned(),
            password_hash: Some(password_hash),
            email_verified_at: None,
            mfa_secret_sealed: None,
            mfa_enabled_at: None,
            mfa_last_step: None,
            password_changed_at: now,
            google_subject: None,
            practice_name: String::new(),
            crisis_text: String::new(),
            created_at: now,
            updated_at: now,
        };
        match tx.insert_account(&account).await {
            Ok(()) => {}
            // Lost a race with a simultaneous sign-up: answer as usual.
            Err(cbt_ports::StoreError::Duplicate { .. }) => return Ok(()),
            Err(e) => return Err(e.into()),
        }
        let event = self.event(
            Actor::Account(account.id),
            AuditAction::AccountCreated,
            AuditTarget::new(TargetKind::Account, account.id.as_uuid()),
            AuditOutcome::Success,
            ctx,
        );
        self.audit(&mut tx, event).await?;
        let link = self.verification_link(&mut tx, &account).await?;
        tx.commit().await?;
        self.send_later(verification_mail(&account, &link));
        Ok(())
    }

    /// Issues a signed, single-use, expiring verification link for the
    /// account's current email.
    pub(crate) async fn verification_link(
        &self,
        tx: &mut Box<dyn cbt_ports::StoreTx>,
        account: &Account,
    ) -> Result<String, AppError> {
        let now = cbt_domain::time::to_storage_precision(self.clock.now());
        let jti = new_token()?;
        let expires_at = now + TokenPurpose::VerifyEmail.lifetime();
        tx.delete_tokens(account.id, TokenPurpose::VerifyEmail).await?;
        tx.insert_token(&OneTimeToken {
            token_hash: token_hash(&jti),
            account_id: account.id,
            purpose: TokenPurpose::VerifyEmail,
            email_normalized: Some(account.email_normalized.clone()),
            created_at: now,
            expires_at,
        })
        .await?;
        let jwt = self.links.sign(&LinkClaims {
            sub: account.id.to_string(),
            purpose: TokenPurpose::VerifyEmail.code().into(),
            jti,
            iat: now.unix_timestamp(),
            exp: expires_at.unix_timestamp(),
        })?;
        Ok(self.link(&format!("/verify-email?token={jwt}")))
    }

    /// Confirms the email a link was sent to. A link works once, before it
    /// expires, and only for the address it was sent to.
    pub async fn verify_email(&self, token: &str, ctx: &RequestContext) -> Result<AccountId, AppError> {
        let now = self.clock.now();
        let claims = self.links.open(token, TokenPurpose::VerifyEmail.code(), now)?;
        let mut tx = self.store.begin().await?;
        let stored = tx.take_token(&token_hash(&claims.jti), TokenPurpose::VerifyEmail).await?;
        let Some(stored) = stored.filter(|t| now < t.expires_at && t.account_id.to_string() == claims.sub) else {
            return Err(AppError::InvalidLink);
        };
        let Some(mut account) = tx.account_by_id(stored.account_id).await? else { return Err(AppError::InvalidLink) };
        if stored.email_normalized.as_deref() != Some(account.email_normalized.as_str()) {
            return Err(AppError::InvalidLink);
        }
        account.email_verified_at = Some(cbt_domain::time::to_storage_precision(now));
        account.updated_at = cbt_domain::time::to_storage_precision(now);
        tx.update_account(&account).await?;
        let event = self.event(
            Actor::Account(account.id),
            AuditAction::EmailVerified,
            AuditTarget::new(TargetKind::Account, account.id.as_uuid()),
            AuditOutcome::Success,
            ctx,
        );
        self.audit(&mut tx, event).await?;
        tx.commit().await?;
        Ok(account.id)
    }

    /// Sends a new verification link to a signed-in, unverified account.
    pub async fn resend_verification(&self, account: AccountId) -> Result<(), AppError> {
        let mut tx = self.store.begin().await?;
        let Some(account) = tx.account_by_id(account).await? else { return Err(AppError::NotFound) };
        if account.is_verified() {
            return Ok(());
        }
        let link = self.verification_link(&mut tx, &account).await?;
        tx.commit().await?;
        self.send_later(verification_mail(&account, &link));
        Ok(())
    }
}

pub(super) fn verification_mail(account: &Account, link: &str) -> OutgoingMail {
    OutgoingMail {
        to: account.email.clone(),
        subject: "Confirm your email for CBT Assistant Pro".into(),
        text: format!(
            "Welcome to CBT Assistant Pro.\n\nConfirm your email address to unlock the clinical features:\n{link}\n\n\
             The link works once and expires in 24 hours. If you did not sign up, ignore this message.\n"
        ),
    }
}
