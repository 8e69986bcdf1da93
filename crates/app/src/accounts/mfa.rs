//! Two-step sign-in with TOTP (checklist 10): enrolment with a QR code,
//! ten single-use recovery codes, the code step of sign-in with replay
//! protection, and turning it off (password required).

use cbt_domain::audit::{Actor, AuditAction, AuditOutcome, AuditTarget, RequestContext, TargetKind};
use cbt_domain::session::SessionStage;
use cbt_domain::tokens;
use cbt_domain::validation::FieldError;
use cbt_mfa::{RecoveryCodeHash, RecoveryCodes, TotpError, TotpSecret};

use super::{CurrentSession, SignInOutcome, bucket};
use crate::{App, AppError};

/// What the enrolment page shows.
pub struct MfaEnrolment {
    /// For typing into the app by hand.
    pub secret_base32: String,
    /// The same, as a QR code (inline SVG, no external service).
    pub qr_svg: String,
}

fn code_error(field: &'static str) -> AppError {
    AppError::Invalid(FieldError::new(field, "That code is not correct, or was already used. Try the next one.").into())
}

impl App {
    /// The TOTP seed is sealed with the account's data key, so destroying
    /// that key destroys the seed too.
    fn seed_place(account: cbt_domain::AccountId) -> cbt_encryption::SealedFor<'static> {
        let id = account.as_uuid();
        cbt_encryption::SealedFor { account: id, kind: "account", field: "mfa_secret", record: id }
    }

    async fn totp_secret(&self, account: &cbt_domain::account::Account) -> Result<Option<TotpSecret>, AppError> {
        let Some(sealed) = &account.mfa_secret_sealed else { return Ok(None) };
        let raw = self.open_field(&Self::seed_place(account.id), sealed).await?;
        TotpSecret::from_bytes(&raw).map(Some).map_err(|e| AppError::Internal(format!("stored TOTP secret: {e}")))
    }

    /// Starts (or restarts) enrolment with a fresh secret. Not yet active.
    pub async fn begin_mfa_enrolment(&self, current: &CurrentSession) -> Result<(), AppError> {
        let secret = TotpSecret::generate().map_err(|e| AppError::Internal(e.to_string()))?;
        // Sealed before the transaction: the first seal may store the
        // account's data key, in a transaction of its own.
        let sealed = self.seal_field(&Self::seed_place(current.account.id), secret.as_bytes()).await?;
        let mut tx = self.store.begin().await?;
        let Some(mut account) = tx.account_by_id(current.account.id).await? else { return Err(AppError::NotFound) };
        if account.mfa_enabled() {
            return Ok(());
        }
        account.mfa_secret_sealed = Some(sealed);
        account.mfa_last_step = None;
        account.updated_at = cbt_domain::time::to_storage_precision(self.clock.now());
        tx.update_account(&account).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The pending enrolment to show, if one was started and MFA is off.
    pub async fn mfa_enrolment(&self, current: &CurrentSession) -> Result<Option<MfaEnrolment>, AppError> {
        let Some(account) = self.store.account_by_id(current.account.id).await? else { return Err(AppError::NotFound) };
        if account.mfa_enabled() {
            return Ok(None);
        }
        let Some(secret) = self.totp_secret(&account).await? else { return Ok(None) };
        let uri = secret.otpauth_uri(cbt_mfa::totp::ISSUER, &account.email);
        let qr_svg = cbt_mfa::qr_svg(&uri).map_err(|e| AppError::Internal(e.to_string()))?;
        Ok(Some(MfaEnrolment { secret_base32: secret.to_base32(), qr_svg }))
    }

    /// Turns TOTP on once a code from the app checks out. Returns the ten
    /// recovery codes (shown once; only hashes are kept) and a new session
    /// token: a privilege change gets a new session (checklist 12).
    pub async fn enable_mfa(
        &self,
        current: &CurrentSession,
        code: &str,
        ctx: &RequestContext,
    ) -> Result<(Vec<String>, String), AppError> {
        let mut tx = self.store.begin().await?;
        let Some(mut account) = tx.account_by_id(current.account.id).await? else { return Err(AppError::NotFound) };
        let Some(secret) = self.totp_secret(&account).await? else { return Err(code_error("code")) };
        let now = self.clock.now();
        let step = cbt_mfa::totp::verify(&secret, code, now.unix_timestamp(), account.mfa_last_step)
            .map_err(|_| code_error("code"))?;
        let (codes, hashes) =
            RecoveryCodes::generate(&self.recovery_pepper).map_err(|e| AppError::Internal(e.to_string()))?;
        let now = cbt_domain::time::to_storage_precision(now);
        account.mfa_enabled_at = Some(now);
        account.mfa_last_step = Some(step);
        account.updated_at = now;
        tx.update_account(&account).await?;
        tx.replace_recovery_codes(account.id, &hashes.iter().map(ToString::to_string).collect::<Vec<_>>()).await?;
        tx.delete_session(account.id, current.session.id).await?;
        let target = AuditTarget::new(TargetKind::Account, account.id.as_uuid());
        let event = self.event(Actor::Account(account.id), AuditAction::MfaEnabled, target, AuditOutcome::Success, ctx);
        self.audit(&mut tx, event).await?;
        let (token, _) = self.start_session(&mut tx, &account, SessionStage::Full, ctx).await?;
        tx.commit().await?;
        Ok((codes, token))
    }

    /// Turns TOTP off; needs the password (checklist 10).
    pub async fn disable_mfa(
        &self,
        current: &CurrentSession,
        password: &str,
        ctx: &RequestContext,
    ) -> Result<(), AppError> {
        if !self.hasher.verify(password, current.account.password_hash.as_deref()).await? {
            return Err(AppError::Invalid(FieldError::new("password", "The password is not correct.").into()));
        }
        let mut tx = self.store.begin().await?;
        let Some(mut account) = tx.account_by_id(current.account.id).await? else { return Err(AppError::NotFound) };
        account.mfa_secret_sealed = None;
        account.mfa_enabled_at = None;
        account.mfa_last_step = None;
        account.updated_at = cbt_domain::time::to_storage_precision(self.clock.now());
        tx.update_account(&account).await?;
        tx.replace_recovery_codes(account.id, &[]).await?;
        let target = AuditTarget::new(TargetKind::Account, account.id.as_uuid());
        let event =
            self.event(Actor::Account(account.id), AuditAction::MfaDisabled, target, AuditOutcome::Success, ctx);
        self.audit(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The code step of sign-in: a TOTP code (never the same one twice) or
    /// an unused recovery code. Failures count against the account's
    /// sign-in limit.
    pub async fn complete_mfa_sign_in(
        &self,
        pending_token: &str,
        code: &str,
        ctx: &RequestContext,
    ) -> Result<SignInOutcome, AppError> {
        let Some(pending) = self.session_for_token(pending_token, SessionStage::MfaPending).await? else {
            return Err(AppError::InvalidCredentials);
        };
        let account_id = pending.account.id;
        let limit = bucket("login:mfa", &account_id.to_string());
        let target = AuditTarget::new(TargetKind::Account, account_id.as_uuid());
        if pending.account.mfa_secret_sealed.is_some() {
            // The data key is read (and cached) before the transaction,
            // which would otherwise hold one connection waiting for another.
            self.data_key(account_id, false).await?;
        }
        let mut tx = self.refuse_if_limited(&[(&limit, tokens::LOGIN)], target, ctx).await?;
        let Some(mut account) = tx.account_by_id(account_id).await? else { return Err(AppError::InvalidCredentials) };
        let secret = self.totp_secret(&account).await?.ok_or(AppError::InvalidCredentials)?;
        let now = self.clock.now();
        let accepted = match cbt_mfa::totp::verify(&secret, code, now.unix_timestamp(), account.mfa_last_step) {
            Ok(step) => {
                account.mfa_last_step = Some(step);
                tx.update_account(&account).await?;
                true
            }
            Err(TotpError::Malformed) => {
                // Not six digits: perhaps a recovery code.
                let stored = tx.recovery_codes_of(account.id).await?;
                let hashes: Vec<RecoveryCodeHash> = stored.iter().filter_map(|h| h.parse().ok()).collect();
                match RecoveryCodes::find_match(&self.recovery_pepper, &hashes, code) {
                    Some(i) => {
                        let used = hashes[i].to_string();
                        let removed = tx.delete_recovery_code(account.id, &used).await?;
                        if removed {
                            let target = AuditTarget::new(TargetKind::Account, account.id.as_uuid());
                            let event = self.event(
                                Actor::Account(account.id),
                                AuditAction::MfaRecoveryCodeUsed,
                                target,
                                AuditOutcome::Success,
                                ctx,
                            );
                            self.audit(&mut tx, event).await?;
                        }
                        removed
                    }
                    None => false,
                }
            }
            Err(_) => false,
        };
        if !accepted {
            let target = AuditTarget::new(TargetKind::Account, account.id.as_uuid());
            let event = self.event(Actor::Anonymous, AuditAction::SignIn, target, AuditOutcome::Failure, ctx);
            self.audit(&mut tx, event).await?;
            tx.commit().await?;
            return Err(code_error("code"));
        }
        tx.delete_rate_bucket(&limit).await?;
        tx.delete_session(account.id, pending.session.id).await?;
        let (token, ended_oldest) = self.start_session(&mut tx, &account, SessionStage::Full, ctx).await?;
        tx.commit().await?;
        Ok(SignInOutcome::SignedIn { token, ended_oldest })
    }
}
