//! The application layer's one error type. The web layer turns each variant
//! into a status and a page; nothing in a variant's text is PHI.

use cbt_domain::audit::ChainBreak;
use cbt_ports::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
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
