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
        let seq = tx.append_audit(&self.audit_key, std::slice::from_ref(&event)).await?;
        tx.commit().await?;
        Ok(seq)
    }
}

impl App {
    /// Adds requests counted in memory to the shared per-IP buckets
    /// (checklist 5's global ceiling) and returns, per key, until when it is
    /// blocked, if it is. One transaction per batch.
    pub async fn count_requests(
        &self,
        batch: &[(String, u32)],
    ) -> Result<Vec<(String, Option<time::OffsetDateTime>)>, AppError> {
        use cbt_domain::tokens::{GLOBAL_PER_IP, RateDecision, RateRule};
        let rule = RateRule { limit: self.settings.requests_per_ip, ..GLOBAL_PER_IP };
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let mut out = Vec::with_capacity(batch.len());
        for (key, n) in batch {
            let name = crate::accounts::bucket("global:ip", key);
            let state = tx.rate_bucket(&name).await?;
            let (next, decision) = rule.hit_many(state, now, *n);
            tx.save_rate_bucket(&name, &next).await?;
            out.push((
                key.clone(),
                match decision {
                    RateDecision::Limited { until } => Some(until),
                    RateDecision::Allowed => None,
                },
            ));
        }
        tx.commit().await?;
        Ok(out)
    }
}
