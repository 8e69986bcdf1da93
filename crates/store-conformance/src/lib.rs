//! The store conformance suite: behaviour every [`Store`] adapter must have,
//! written once and run against each backend.
//!
//! Each case takes a freshly migrated store. [`conformance_suite!`] turns
//! the list into `#[tokio::test]` functions for one backend.

// A failed expectation in a test suite is reported by panicking.
#![allow(clippy::panic, clippy::expect_used)]

use std::sync::Arc;

use cbt_domain::audit::{
    Actor, AuditAction, AuditEvent, AuditKey, AuditOutcome, AuditTarget, ChainVerifier, RequestContext,
};
use cbt_domain::{AccountId, RequestId};
use cbt_ports::{Store, StoreError};
use time::OffsetDateTime;

pub fn key() -> AuditKey {
    AuditKey::new(b"conformance-suite-audit-key-0123456789")
}

pub fn event(n: i64) -> AuditEvent {
    AuditEvent::new(
        OffsetDateTime::UNIX_EPOCH
            + time::Duration::seconds(1_700_000_000 + n)
            + time::Duration::nanoseconds(123_456_789),
        Actor::Account(AccountId::new()),
        AuditAction::AuditVerified,
        AuditTarget::system(),
        AuditOutcome::Success,
        RequestContext::new(Some([203, 0, 113, 7].into()), Some("Mozilla/5.0 (conformance)"), Some(RequestId::new())),
    )
}

async fn append(store: &Arc<dyn Store>, key: &AuditKey, n: i64) -> i64 {
    let mut tx = store.begin().await.expect("begin");
    let seq = tx.append_audit(key, &event(n)).await.expect("append");
    tx.commit().await.expect("commit");
    seq
}

/// Walks the chain the way `audit verify` does.
pub async fn verify(store: &Arc<dyn Store>, key: &AuditKey) -> Result<i64, String> {
    let mut v = ChainVerifier::new(key);
    loop {
        let page = store.audit_entries_after(v.last_seq(), 100).await.map_err(|e| e.to_string())?;
        if page.is_empty() {
            break;
        }
        for e in &page {
            v.feed(e).map_err(|b| b.to_string())?;
        }
    }
    let head = store.audit_head().await.map_err(|e| e.to_string())?;
    v.finish(head.as_ref()).map(|s| s.entries).map_err(|b| b.to_string())
}

/// Migrating twice changes nothing and leaves the store ready.
pub async fn migrations_are_idempotent_and_ready(store: Arc<dyn Store>) {
    let again = store.migrate().await.expect("second migrate");
    assert!(again.applied.is_empty(), "nothing new to apply: {again:?}");
    assert!(again.current >= 1);
    store.check_ready().await.expect("ready");
}

/// Appended events come back exactly as written (time to the microsecond),
/// numbered 1, 2, 3, and the chain verifies.
pub async fn checklist_32_audit_events_round_trip_and_chain(store: Arc<dyn Store>) {
    let key = key();
    assert_eq!(store.audit_head().await.expect("head"), None);
    for n in 1..=5 {
        assert_eq!(append(&store, &key, n).await, n);
    }
    let entries = store.audit_entries_after(0, 10).await.expect("read");
    assert_eq!(entries.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 2, 3, 4, 5]);
    let written = event(3).to_fields();
    let read = &entries[2].fields;
    assert_eq!(read.occurred_at, written.occurred_at, "time survives storage exactly");
    assert_eq!((read.action.as_str(), read.outcome.as_str()), ("audit.verify", "success"));
    assert_eq!(read.ip.as_deref(), Some("203.0.113.7"));
    assert_eq!(read.user_agent.as_deref(), Some("Mozilla/5.0 (conformance)"));
    assert_eq!(verify(&store, &key).await, Ok(5));
    let paged = store.audit_entries_after(2, 2).await.expect("page");
    assert_eq!(paged.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![3, 4]);
}

/// A transaction dropped without commit leaves no audit entry behind.
pub async fn rolled_back_transaction_leaves_no_trace(store: Arc<dyn Store>) {
    let key = key();
    append(&store, &key, 1).await;
    {
        let mut tx = store.begin().await.expect("begin");
        tx.append_audit(&key, &event(2)).await.expect("append");
        // dropped: rolled back
    }
    assert_eq!(store.audit_entries_after(0, 10).await.expect("read").len(), 1);
    assert_eq!(append(&store, &key, 3).await, 2, "the sequence continues without a gap");
    assert_eq!(verify(&store, &key).await, Ok(2));
}

/// Appends from many tasks at once are serialised: no gaps, no forks.
pub async fn concurrent_appends_keep_one_gapless_chain(store: Arc<dyn Store>) {
    let key = Arc::new(key());
    let mut tasks = Vec::new();
    for worker in 0..8 {
        let store = store.clone();
        let key = key.clone();
        tasks.push(tokio::spawn(async move {
            for n in 0..10 {
                append(&store, &key, worker * 100 + n).await;
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    assert_eq!(verify(&store, &key).await, Ok(80));
}

/// The audit log only grows: the store's API has no way to change or
/// remove an entry, and a direct UPDATE/DELETE is refused (see the
/// backend-specific tests).
pub async fn readiness_reports_an_unreachable_database(store: Arc<dyn Store>) {
    store.close().await;
    match store.check_ready().await {
        Err(StoreError::Unavailable(_)) => {}
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

/// Generates one `#[tokio::test]` per conformance case for a backend.
/// `$make` is an async expression yielding `Option<(Arc<dyn Store>, guard)>`
/// (`None` when the backend is not available and not required); the guard
/// keeps the test database alive.
#[macro_export]
macro_rules! conformance_suite {
    ($make:expr) => {
        $crate::conformance_suite!(@cases $make;
            migrations_are_idempotent_and_ready,
            checklist_32_audit_events_round_trip_and_chain,
            rolled_back_transaction_leaves_no_trace,
            concurrent_appends_keep_one_gapless_chain,
            readiness_reports_an_unreachable_database,
        );
    };
    (@cases $make:expr; $($case:ident,)+) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some((store, _guard)) = $make.await else { return };
                $crate::$case(store).await;
            }
        )+
    };
}
