//! Sign-in with Google (checklist 11). The web layer runs the OpenID
//! Connect exchange and hands over an identity whose token was verified;
//! this decides which account it opens: the account already linked to that
//! Google subject, or else the account with the same email address, and
//! then only if Google says the address is verified. It never creates an
//! account (sign-up asks for a credential Google does not know).

use cbt_domain::audit::{Actor, AuditAction, AuditOutcome, AuditTarget, RequestContext, TargetKind};
use cbt_domain::session::SessionStage;

use super::SignInOutcome;
use crate::{App, AppError};

/// What Google vouched for.
#[derive(Clone)]
pub struct GoogleIdentity {
    pub subject: String,
    pub email: String,
    pub email_verified: bool,
}

impl std::fmt::Debug for GoogleIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GoogleIdentity").field("subject", &self.subject).finish_non_exhaustive()
    }
}

impl App {
    pub async fn sign_in_with_google(
        &self,
        identity: &GoogleIdentity,
        ctx: &RequestContext,
    ) -> Result<SignInOutcome, AppError> {
        let linked = self.store.account_by_google_subject(&identity.subject).await?;
        let (mut account, newly_linked) = match linked {
            Some(account) => (account, false),
            None if identity.email_verified => {
                let by_email = self.store.account_by_email(&identity.email.trim().to_lowercase()).await?;
                match by_email {
                    // An account already linked to another Google account is not re-linked.
                    Some(account) if account.google_subject.is_none() => (account, true),
                    _ => return self.refuse_google(ctx).await,
                }
            }
            None => return self.refuse_google(ctx).await,
        };
        let now = cbt_domain::time::to_storage_precision(self.clock.now());
        let mut tx = self.store.begin().await?;
        if newly_linked {
            account.google_subject = Some(identity.subject.clone());
            // Google verified this very address.
            account.email_verified_at.get_or_insert(now);
            account.updated_at = now;
            tx.update_account(&account).await?;
            let target = AuditTarget::new(TargetKind::Account, account.id.as_uuid());
            let event =
                self.event(Actor::Account(account.id), AuditAction::OAuthLinked, target, AuditOutcome::Success, ctx);
            self.audit(&mut tx, event).await?;
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

    async fn refuse_google(&self, ctx: &RequestContext) -> Result<SignInOutcome, AppError> {
        let mut tx = self.store.begin().await?;
        let target = AuditTarget { kind: TargetKind::Account, id: None };
        let event = self.event(Actor::Anonymous, AuditAction::OAuthLinked, target, AuditOutcome::Denied, ctx);
        self.audit(&mut tx, event).await?;
        tx.commit().await?;
        Err(AppError::NoLinkedAccount)
    }
}
