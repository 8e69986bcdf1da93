//! Verifying the audit log.

use cbt_domain::audit::{
    Actor, AuditAction, AuditEvent, AuditOutcome, AuditTarget, ChainBreak, ChainSummary, ChainVerifier, RequestContext,
    TargetKind,
};

use crate::{App, AppError};

/// Entries read per page while verifying.
const PAGE: u32 = 1_000;

/// The outcome of `audit verify`.
#[derive(Debug)]
pub enum AuditVerification {
    Intact(ChainSummary),
    Broken(ChainBreak),
}

impl App {
    /// Walks the whole chain, page by page, and records that it did (the
    /// verification is itself an audited event).
    pub async fn verify_audit_log(&self) -> Result<AuditVerification, AppError> {
        let result = self.walk_chain().await?;
        let outcome = match result {
            AuditVerification::Intact(_) => AuditOutcome::Success,
            AuditVerification::Broken(_) => AuditOutcome::Failure,
        };
        let event = AuditEvent::new(
            self.clock.now(),
            Actor::System,
            AuditAction::AuditVerified,
            AuditTarget { kind: TargetKind::AuditLog, id: None },
            outcome,
            RequestContext::default(),
        );
        let mut tx = self.store.begin().await?;
        tx.append_audit(&self.audit_key, std::slice::from_ref(&event)).await?;
        tx.commit().await?;
        Ok(result)
    }

    async fn walk_chain(&self) -> Result<AuditVerification, AppError> {
        let mut verifier = ChainVerifier::new(&self.audit_key);
        let head = loop {
            let mut fed = 0usize;
            loop {
                let page = self.store.audit_entries_after(verifier.last_seq(), PAGE).await?;
                for entry in &page {
                    if let Err(broken) = verifier.feed(entry) {
                        return Ok(AuditVerification::Broken(broken));
                    }
                }
                fed += page.len();
                if page.len() < PAGE as usize {
                    break;
                }
            }
            // The head is read after the walk; if entries were appended
            // meanwhile it is ahead of us, and we read on until either we
            // catch up or nothing more arrives (then the tail was deleted).
            let head = self.store.audit_head().await?;
            match &head {
                Some(h) if h.seq > verifier.last_seq() && fed > 0 => continue,
                _ => break head,
            }
        };
        Ok(match verifier.finish(head.as_ref()) {
            Ok(summary) => AuditVerification::Intact(summary),
            Err(broken) => AuditVerification::Broken(broken),
        })
    }
}
