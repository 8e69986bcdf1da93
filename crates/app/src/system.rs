//! Operating the product: readiness, start-up and migration records.

use cbt_domain::audit::{Actor, AuditAction, AuditEvent, AuditOutcome, AuditTarget, RequestContext};

use crate::{App, AppError};

impl App {
    /// Ready to serve: the database answers and its schema is current.
    pub async fn readiness(&self) -> Result<(), AppError> {
        self.store.check_ready().await?;
        Ok(())
    }

    /// Records a system event (start-up, migration) in the audit log.
    pub async fn record_system_event(&self, action: AuditAction, outcome: AuditOutcome) -> Result<i64, AppError> {
        let event = AuditEvent::new(
            self.clock.now(),
            Actor::System,
            action,
            AuditTarget::system(),
            outcome,
            RequestContext::default(),
        );
        let mut tx = self.store.begin().await?;
        let seq = tx.append_audit(&self.audit_key, &event).await?;
        tx.commit().await?;
        Ok(seq)
    }
}
