//! The application layer's one error type. The web layer turns each variant
//! into a status and a page; nothing in a variant's text is PHI.

use cbt_domain::audit::ChainBreak;
use cbt_domain::validation::FieldErrors;
use cbt_ports::StoreError;
use time::OffsetDateTime;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Input broke a rule; each error names its field.
    #[error("{0}")]
    Invalid(FieldErrors),
    /// Sign-in failed. Deliberately says nothing more (checklist 3).
    #[error("invalid email or password")]
    InvalidCredentials,
    /// Too many attempts; try again at `until` (checklist 4, 5).
    #[error("too many attempts")]
    RateLimited { until: OffsetDateTime },
    /// A verification or reset link that is unknown, used, expired or
    /// altered. Which of these is not said.
    #[error("this link is invalid or has expired")]
    InvalidLink,
    /// A Google sign-in that matches no account (or an unverified email).
    #[error("no account is linked to this Google account")]
    NoLinkedAccount,
    /// Missing, or belonging to another account: the same answer.
    #[error("not found")]
    NotFound,
    /// The record changed since it was read (another tab, another device):
    /// nothing was saved over it.
    #[error("changed meanwhile")]
    Conflict,
    /// A signed record is locked: changes are addenda.
    #[error("signed records are locked")]
    Locked,
    /// Clinical features wait until the account's email address is
    /// confirmed.
    #[error("email address not yet confirmed")]
    VerificationRequired,
    /// The language model gave no usable draft (down, slow, rate limited,
    /// over budget, or its answer unusable twice). The message is for the
    /// therapist and holds no PHI.
    #[error("the language model could not draft: {0}")]
    ModelUnavailable(String),
    /// The database (or another required dependency) cannot serve now.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// The audit log no longer matches what was written.
    #[error("audit log integrity check failed: {0}")]
    AuditChainBroken(#[from] ChainBreak),
    /// A fault that is ours, not the caller's. Logged with the request id;
    /// the client sees only the id.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) | StoreError::SchemaMismatch { .. } => AppError::Unavailable(e.to_string()),
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl From<cbt_ports::KeyError> for AppError {
    fn from(e: cbt_ports::KeyError) -> Self {
        match e {
            cbt_ports::KeyError::Unavailable(_) => AppError::Unavailable(e.to_string()),
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl From<cbt_encryption::EncryptionError> for AppError {
    fn from(e: cbt_encryption::EncryptionError) -> Self {
        AppError::Internal(e.to_string())
    }
}
