//! The storage port.
//!
//! A [`Store`] is one database. Changes happen inside a [`StoreTx`]: a use
//! case opens one, writes its change and the audit event that records it,
//! and commits both or neither. Dropping a transaction without `commit`
//! rolls it back.

use async_trait::async_trait;
use cbt_domain::audit::{AuditEntry, AuditEvent, AuditKey, ChainHead};

/// Which database engine a store runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// What `migrate` did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MigrationReport {
    /// Versions applied by this call, oldest first.
    pub applied: Vec<i64>,
    /// The schema version after the call.
    pub current: i64,
}

/// Storage failures. Messages name what failed, never the values involved.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or refused the connection.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The schema is older or newer than this build expects.
    #[error("database schema is at version {found}, this build expects {expected}")]
    SchemaMismatch { found: i64, expected: i64 },
    /// A migration failed.
    #[error("migration failed: {0}")]
    Migration(String),
    /// The database rejected a statement.
    #[error("database error{}: {message}", code.as_ref().map(|c| format!(" {c}")).unwrap_or_default())]
    Backend { code: Option<String>, message: String },
    /// A stored value could not be read back (a corrupt or edited row).
    #[error("stored {what} is unreadable")]
    Corrupt { what: &'static str },
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    fn backend(&self) -> Backend;

    /// Applies every embedded migration not yet applied.
    async fn migrate(&self) -> Result<MigrationReport, StoreError>;

    /// The database answers and its schema is the one this build expects.
    async fn check_ready(&self) -> Result<(), StoreError>;

    /// Opens a write transaction.
    async fn begin(&self) -> Result<Box<dyn StoreTx>, StoreError>;

    /// Audit entries with `seq > after_seq`, oldest first, at most `limit`.
    async fn audit_entries_after(&self, after_seq: i64, limit: u32) -> Result<Vec<AuditEntry>, StoreError>;

    /// The chain head record, `None` before the first entry.
    async fn audit_head(&self) -> Result<Option<ChainHead>, StoreError>;

    /// Closes every connection (graceful shutdown).
    async fn close(&self);
}

#[async_trait]
pub trait StoreTx: Send {
    /// Appends an event to the audit chain and returns its sequence number.
    /// Appends are serialised across all connections and app instances.
    async fn append_audit(&mut self, key: &AuditKey, event: &AuditEvent) -> Result<i64, StoreError>;

    async fn commit(self: Box<Self>) -> Result<(), StoreError>;
}
