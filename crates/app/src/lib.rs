//! Use cases: one function per action a therapist, an operator or the
//! system takes.
//!
//! A use case authorises, loads, applies domain rules, and writes its change
//! together with the audit event that records it in one store transaction.
//! It knows no HTTP and no SQL.

mod audit_log;
mod error;
mod system;

use std::sync::Arc;

use cbt_domain::audit::AuditKey;
use cbt_ports::{Clock, Store};

pub use audit_log::AuditVerification;
pub use error::AppError;

/// Everything a use case needs, shared by all requests.
#[derive(Clone)]
pub struct App {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    audit_key: Arc<AuditKey>,
}

impl App {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, audit_key: AuditKey) -> Self {
        Self { store, clock, audit_key: Arc::new(audit_key) }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }
}
