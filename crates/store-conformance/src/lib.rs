//! The store conformance suite: behaviour every [`Store`] adapter must have,
//! written once and run against each backend.
//!
//! Each case takes a freshly migrated store. [`conformance_suite!`] turns
//! the list into `#[tokio::test]` functions for one backend.

// A failed expectation in a test suite is reported by panicking.
#![allow(clippy::panic, clippy::expect_used, clippy::unwrap_used)]

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
    let seq = tx.append_audit(key, &[event(n)]).await.expect("append");
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

/// Several events appended in one call are chained in order, each after
/// the one before, and the chain goes on from them.
pub async fn checklist_32_events_appended_together_chain_in_order(store: Arc<dyn Store>) {
    let key = key();
    append(&store, &key, 1).await;
    let mut tx = store.begin().await.expect("begin");
    assert_eq!(tx.append_audit(&key, &[event(2), event(3), event(4)]).await.expect("append"), 4, "the last one's seq");
    tx.commit().await.expect("commit");
    assert_eq!(append(&store, &key, 5).await, 5);
    let entries = store.audit_entries_after(0, 10).await.expect("read");
    let times: Vec<_> = entries.iter().map(|e| e.fields.occurred_at).collect();
    let written: Vec<_> = (1..=5).map(|n| event(n).to_fields().occurred_at).collect();
    assert_eq!(times, written, "in the order given");
    assert_eq!(verify(&store, &key).await, Ok(5));
}

/// A transaction dropped without commit leaves no audit entry behind.
pub async fn rolled_back_transaction_leaves_no_trace(store: Arc<dyn Store>) {
    let key = key();
    append(&store, &key, 1).await;
    {
        let mut tx = store.begin().await.expect("begin");
        tx.append_audit(&key, &[event(2)]).await.expect("append");
        // dropped: rolled back
    }
    assert_eq!(store.audit_entries_after(0, 10).await.expect("read").len(), 1);
    assert_eq!(append(&store, &key, 3).await, 2, "the sequence continues without a gap");
    assert_eq!(verify(&store, &key).await, Ok(2));
}

/// The transactions for reads' audit events (`begin_reads_audit`) append
/// to the same chain as every other, in turn with them: committed events
/// are there and chained, a dropped one leaves nothing, and appends from
/// both kinds at once keep one gapless chain.
pub async fn checklist_32_reads_audit_transactions_chain_with_the_rest(store: Arc<dyn Store>) {
    let key = Arc::new(key());
    append(&store, &key, 1).await;
    let mut tx = store.begin_reads_audit().await.expect("begin reads audit");
    assert_eq!(tx.append_audit(&key, &[event(2), event(3)]).await.expect("append"), 3);
    tx.commit().await.expect("commit");
    {
        let mut tx = store.begin_reads_audit().await.expect("begin reads audit");
        tx.append_audit(&key, &[event(4)]).await.expect("append");
        // dropped: rolled back
    }
    assert_eq!(append(&store, &key, 4).await, 4, "after the reads' events, without a gap");
    let mut tasks = Vec::new();
    for worker in 0..6 {
        let (store, key) = (store.clone(), key.clone());
        tasks.push(tokio::spawn(async move {
            for n in 0..5 {
                let mut tx =
                    if worker % 2 == 0 { store.begin_reads_audit().await } else { store.begin().await }.expect("begin");
                tx.append_audit(&key, &[event(worker * 100 + n)]).await.expect("append");
                tx.commit().await.expect("commit");
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    assert_eq!(verify(&store, &key).await, Ok(34));
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
            checklist_32_events_appended_together_chain_in_order,
            rolled_back_transaction_leaves_no_trace,
            checklist_32_reads_audit_transactions_chain_with_the_rest,
            concurrent_appends_keep_one_gapless_chain,
            readiness_reports_an_unreachable_database,
            accounts::accounts_round_trip_and_emails_are_unique,
            accounts::checklist_25_sessions_are_scoped_to_their_account,
            accounts::checklist_8_one_time_tokens_are_single_use,
            accounts::checklist_4_rate_buckets_persist,
            accounts::consents_are_kept_per_account_and_the_latest_holds,
            accounts::ai_calls_are_kept_per_account_and_summed_by_month,
            data_keys::data_keys_one_per_account_rewrap_and_destroy,
            data_keys::rotation_batches_walk_every_key_once,
            clients::checklist_25_clients_are_scoped_to_their_account_and_versioned,
            clients::signed_records_are_locked_and_take_addenda_only,
            clients::custom_worksheets_are_scoped_to_their_account,
            clients::note_indexes_are_scoped_and_written_in_turn,
            assessments::checklist_25_custom_instruments_are_scoped_to_their_account,
            assessments::checklist_25_risk_flags_are_scoped_and_written_in_turn,
            assessments::checklist_25_client_links_are_scoped_to_their_account,
            assessments::client_links_are_opened_once_and_used_once,
            assessments::concurrent_submissions_use_a_client_link_once,
            assessments::schedules_are_scoped_claimed_once_and_stopped,
        );
    };
    (@cases $make:expr; $($($path:ident)::+,)+) => {
        $(
            $crate::conformance_suite!(@one $make; $($path)::+);
        )+
    };
    (@one $make:expr; $case:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $case() {
            let Some((store, _guard)) = $make.await else { return };
            $crate::$case(store).await;
        }
    };
    (@one $make:expr; $module:ident :: $case:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $case() {
            let Some((store, _guard)) = $make.await else { return };
            $crate::$module::$case(store).await;
        }
    };
}

pub mod accounts {
    //! Accounts, sessions, one-time tokens and rate buckets.

    use std::sync::Arc;

    use cbt_domain::AccountId;
    use cbt_domain::account::Account;
    use cbt_domain::session::{Session, SessionStage};
    use cbt_domain::tokens::{BucketState, OneTimeToken, TokenPurpose};
    use cbt_ports::{Store, StoreError};
    use time::{Duration, OffsetDateTime};

    pub fn now() -> OffsetDateTime {
        cbt_domain::time::to_storage_precision(OffsetDateTime::now_utc())
    }

    /// Calls to a model are metadata rows per account: listed newest
    /// first, their tokens summed from a moment on, another account's never.
    pub async fn ai_calls_are_kept_per_account_and_summed_by_month(store: Arc<dyn Store>) {
        use cbt_ports::StoredAiCall;
        let owner = saved(&store, "ai-owner@example.org").await.id;
        let other = saved(&store, "ai-other@example.org").await.id;
        let at = now();
        let call = |account, tokens: i32, called_at: OffsetDateTime| StoredAiCall {
            id: uuid::Uuid::now_v7(),
            account,
            purpose: "session_note".into(),
            provider: "azure-openai".into(),
            model: "notes-gpt".into(),
            prompt_version: "session-note-v1".into(),
            prompt_tokens: tokens,
            completion_tokens: 10,
            attempts: 1,
            first_token_ms: Some(120),
            latency_ms: 900,
            outcome: "success".into(),
            called_at,
        };
        let last_month = call(owner, 1000, at - Duration::days(40));
        let recent = call(owner, 200, at - Duration::days(2));
        let today = StoredAiCall { first_token_ms: None, outcome: "timed_out".into(), ..call(owner, 50, at) };
        let theirs = call(other, 5000, at);
        let mut tx = store.begin().await.unwrap();
        for c in [&last_month, &recent, &today, &theirs] {
            tx.insert_ai_call(c).await.unwrap();
        }
        tx.commit().await.unwrap();
        let month = at - Duration::days(30);
        assert_eq!(store.ai_tokens_since(owner, month).await.unwrap(), 200 + 10 + 50 + 10);
        assert_eq!(store.ai_tokens_since(other, month).await.unwrap(), 5010);
        let listed = store.ai_calls_since(owner, month, 10).await.unwrap();
        assert_eq!(listed, vec![today.clone(), recent], "newest first, this account's, this month's");
        assert_eq!(store.ai_calls_since(owner, month, 1).await.unwrap().len(), 1);
        let fresh = saved(&store, "ai-none@example.org").await.id;
        assert_eq!(store.ai_tokens_since(fresh, month).await.unwrap(), 0);

        // Held use: tokens in the month, calls in the last minute.
        let mut tx = store.begin().await.unwrap();
        let minute = at - Duration::minutes(1);
        let used = tx.ai_use_held(owner, month, minute).await.unwrap();
        assert_eq!(used, cbt_ports::AiUse { tokens: 270, calls: 1 });
        assert_eq!(tx.ai_use_held(fresh, month, minute).await.unwrap(), cbt_ports::AiUse::default());
        // A reservation finished: its real figures replace the reserved.
        let finished =
            StoredAiCall { prompt_tokens: 7, completion_tokens: 3, outcome: "success".into(), ..today.clone() };
        tx.finish_ai_call(&finished).await.unwrap();
        let strangers = StoredAiCall { account: other, ..finished.clone() };
        assert!(tx.finish_ai_call(&strangers).await.is_err(), "another account's call is not finished");
        tx.commit().await.unwrap();
        assert_eq!(store.ai_tokens_since(owner, month).await.unwrap(), 200 + 10 + 7 + 3);
        assert_eq!(store.ai_calls_since(owner, minute, 1).await.unwrap()[0].outcome, "success");
    }

    /// Consents are added, never changed: the latest of a kind holds, each
    /// account sees only its own, and one kind does not answer for another.
    pub async fn consents_are_kept_per_account_and_the_latest_holds(store: Arc<dyn Store>) {
        use cbt_ports::StoredConsent;
        let owner = saved(&store, "consent-owner@example.org").await.id;
        let other = saved(&store, "consent-other@example.org").await.id;
        assert_eq!(store.latest_consent(owner, "ai_drafts").await.unwrap(), None);
        let at = now();
        let consent = |given: bool, at: OffsetDateTime| StoredConsent {
            id: uuid::Uuid::now_v7(),
            account: owner,
            kind: "ai_drafts".into(),
            given,
            terms: "ai-drafts-v1".into(),
            recorded_at: at,
        };
        let given = consent(true, at - Duration::minutes(5));
        let withdrawn = consent(false, at);
        let mut tx = store.begin().await.unwrap();
        tx.insert_consent(&given).await.unwrap();
        tx.insert_consent(&withdrawn).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(store.latest_consent(owner, "ai_drafts").await.unwrap(), Some(withdrawn.clone()));
        assert_eq!(store.latest_consent(other, "ai_drafts").await.unwrap(), None, "another account's");
        assert_eq!(store.latest_consent(owner, "transcription").await.unwrap(), None, "another kind");

        // Given again in the same microsecond: the later row (by id) holds.
        let again = consent(true, at);
        let mut tx = store.begin().await.unwrap();
        tx.insert_consent(&again).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(store.latest_consent(owner, "ai_drafts").await.unwrap(), Some(again));
        // Rolled back: nothing recorded.
        let mut tx = store.begin().await.unwrap();
        tx.insert_consent(&consent(false, at + Duration::seconds(1))).await.unwrap();
        drop(tx);
        assert!(store.latest_consent(owner, "ai_drafts").await.unwrap().unwrap().given);
    }

    pub fn account(email: &str) -> Account {
        let t = now();
        Account {
            id: AccountId::new(),
            email: email.to_owned(),
            email_normalized: email.to_lowercase(),
            full_name: "Dr Test Therapist".into(),
            credential: "LPC 000".into(),
            password_hash: Some("$2b$12$hash".into()),
            email_verified_at: None,
            mfa_secret_sealed: None,
            mfa_enabled_at: None,
            mfa_last_step: None,
            password_changed_at: t,
            google_subject: None,
            practice_name: String::new(),
            crisis_text: String::new(),
            created_at: t,
            updated_at: t,
        }
    }

    pub async fn saved(store: &Arc<dyn Store>, email: &str) -> Account {
        let a = account(email);
        let mut tx = store.begin().await.expect("begin");
        tx.insert_account(&a).await.expect("insert");
        tx.commit().await.expect("commit");
        a
    }

    fn session(account: AccountId, token: u8, at: OffsetDateTime) -> Session {
        Session::start(vec![token; 32], account, SessionStage::Full, at, Some("192.0.2.1".into()), Some("UA".into()))
    }

    /// Accounts read back exactly; the normalised email is unique.
    pub async fn accounts_round_trip_and_emails_are_unique(store: Arc<dyn Store>) {
        let mut a = saved(&store, "Ann@Example.org").await;
        assert_eq!(store.account_by_email("ann@example.org").await.expect("read"), Some(a.clone()));
        assert_eq!(store.account_by_id(a.id).await.expect("read"), Some(a.clone()));
        assert_eq!(store.account_by_email("nobody@example.org").await.expect("read"), None);
        let dup = account("ANN@example.org");
        let mut tx = store.begin().await.expect("begin");
        match tx.insert_account(&dup).await {
            Err(StoreError::Duplicate { .. }) => {}
            other => panic!("expected Duplicate, got {other:?}"),
        }
        drop(tx);
        a.email_verified_at = Some(now());
        a.mfa_secret_sealed = Some(vec![1, 2, 3]);
        a.mfa_last_step = Some(42);
        a.google_subject = Some("google-sub-1".into());
        let mut tx = store.begin().await.expect("begin");
        tx.update_account(&a).await.expect("update");
        assert_eq!(tx.account_by_id(a.id).await.expect("read in tx"), Some(a.clone()));
        tx.commit().await.expect("commit");
        assert_eq!(store.account_by_id(a.id).await.expect("read"), Some(a.clone()));
        assert_eq!(store.account_by_google_subject("google-sub-1").await.expect("read"), Some(a));
        assert_eq!(store.account_by_google_subject("other").await.expect("read"), None);
    }

    /// Sessions are found by token hash, listed oldest first, and deleted
    /// only by their own account.
    pub async fn checklist_25_sessions_are_scoped_to_their_account(store: Arc<dyn Store>) {
        let ann = saved(&store, "ann@example.org").await;
        let bob = saved(&store, "bob@example.org").await;
        let t = now();
        let s1 = session(ann.id, 1, t);
        let s2 = session(ann.id, 2, t + Duration::seconds(1));
        let s3 = session(ann.id, 3, t + Duration::seconds(2));
        let sb = session(bob.id, 9, t);
        let mut tx = store.begin().await.expect("begin");
        for s in [&s1, &s2, &s3, &sb] {
            tx.insert_session(s).await.expect("insert");
        }
        tx.commit().await.expect("commit");
        assert_eq!(store.session_by_token_hash(&[2; 32]).await.expect("read"), Some((s2.clone(), ann.clone())));
        assert_eq!(store.session_by_token_hash(&[9; 32]).await.expect("read"), Some((sb.clone(), bob.clone())));
        assert_eq!(store.session_by_token_hash(&[7; 32]).await.expect("read"), None);
        let ids: Vec<_> = store.sessions_of(ann.id).await.expect("list").into_iter().map(|s| s.id).collect();
        assert_eq!(ids, vec![s1.id, s2.id, s3.id]);

        let later = t + Duration::minutes(5);
        store.touch_session(s1.id, later).await.expect("touch");
        assert_eq!(
            store.session_by_token_hash(&[1; 32]).await.expect("read").map(|(s, _)| s.last_seen_at),
            Some(later)
        );

        let mut tx = store.begin().await.expect("begin");
        assert!(!tx.delete_session(bob.id, s1.id).await.expect("delete"), "not Bob's session");
        assert!(tx.delete_session(ann.id, s1.id).await.expect("delete"));
        assert_eq!(tx.delete_sessions(ann.id, Some(s3.id)).await.expect("delete others"), 1);
        tx.commit().await.expect("commit");
        let left: Vec<_> = store.sessions_of(ann.id).await.expect("list").into_iter().map(|s| s.id).collect();
        assert_eq!(left, vec![s3.id]);
        assert_eq!(store.sessions_of(bob.id).await.expect("list").len(), 1, "Bob's untouched");
        let mut tx = store.begin().await.expect("begin");
        assert_eq!(tx.delete_sessions(ann.id, None).await.expect("delete all"), 1);
        tx.commit().await.expect("commit");
        assert!(store.sessions_of(ann.id).await.expect("list").is_empty());
    }

    /// A one-time token is taken once, for its purpose only.
    pub async fn checklist_8_one_time_tokens_are_single_use(store: Arc<dyn Store>) {
        let ann = saved(&store, "ann@example.org").await;
        let t = now();
        let token = OneTimeToken {
            token_hash: vec![5; 32],
            account_id: ann.id,
            purpose: TokenPurpose::ResetPassword,
            email_normalized: None,
            created_at: t,
            expires_at: t + Duration::minutes(30),
        };
        let mut tx = store.begin().await.expect("begin");
        tx.insert_token(&token).await.expect("insert");
        assert_eq!(tx.take_token(&[5; 32], TokenPurpose::VerifyEmail).await.expect("take"), None, "other purpose");
        assert_eq!(tx.take_token(&[5; 32], TokenPurpose::ResetPassword).await.expect("take"), Some(token.clone()));
        assert_eq!(tx.take_token(&[5; 32], TokenPurpose::ResetPassword).await.expect("take"), None, "single use");
        tx.insert_token(&token).await.expect("insert again");
        assert_eq!(tx.delete_tokens(ann.id, TokenPurpose::ResetPassword).await.expect("delete"), 1);
        assert_eq!(tx.take_token(&[5; 32], TokenPurpose::ResetPassword).await.expect("take"), None);
        tx.commit().await.expect("commit");
    }

    /// Rate buckets persist (so limits hold across restarts and instances).
    pub async fn checklist_4_rate_buckets_persist(store: Arc<dyn Store>) {
        let t = now();
        let state = BucketState { window_start: t, count: 7, locked_until: Some(t + Duration::minutes(15)) };
        let mut tx = store.begin().await.expect("begin");
        assert_eq!(tx.rate_bucket("login:ip:x").await.expect("read"), None);
        tx.save_rate_bucket("login:ip:x", &state).await.expect("save");
        tx.commit().await.expect("commit");
        let mut tx = store.begin().await.expect("begin");
        assert_eq!(tx.rate_bucket("login:ip:x").await.expect("read"), Some(state));
        let next = BucketState { count: 1, locked_until: None, ..state };
        tx.save_rate_bucket("login:ip:x", &next).await.expect("save");
        assert_eq!(tx.rate_bucket("login:ip:x").await.expect("read"), Some(next));
        tx.delete_rate_bucket("login:ip:x").await.expect("delete");
        assert_eq!(tx.rate_bucket("login:ip:x").await.expect("read"), None);
        tx.commit().await.expect("commit");
    }
}

pub mod data_keys {
    //! Wrapped data keys: one per account, compare-and-swap re-wrapping,
    //! destruction.

    use std::sync::Arc;

    use cbt_ports::{KeyOwner, Store, StoredDataKey, WrappedKey};
    use uuid::Uuid;

    use crate::accounts::{now, saved};

    fn stored(account: cbt_domain::AccountId, kek: &str, byte: u8) -> StoredDataKey {
        StoredDataKey {
            owner: KeyOwner { account, key_id: Uuid::now_v7() },
            wrapped: WrappedKey { kek: kek.into(), bytes: vec![byte; 60] },
            created_at: now(),
            rewrapped_at: None,
        }
    }

    /// The first key stored for an account wins; re-wrapping happens only
    /// from the KEK the caller saw; destroying removes the key (and a
    /// second destroy finds nothing); keys are scoped to their account.
    pub async fn data_keys_one_per_account_rewrap_and_destroy(store: Arc<dyn Store>) {
        let a = saved(&store, "keys-a@example.org").await.id;
        let b = saved(&store, "keys-b@example.org").await.id;
        assert_eq!(store.data_key_of(a).await.unwrap(), None);
        let first = stored(a, "local:v1", 1);
        let mut tx = store.begin().await.unwrap();
        assert!(tx.insert_data_key(&first).await.unwrap());
        assert!(!tx.insert_data_key(&stored(a, "local:v1", 2)).await.unwrap(), "a second key for the account");
        assert!(tx.insert_data_key(&stored(b, "local:v1", 3)).await.unwrap());
        tx.commit().await.unwrap();
        assert_eq!(store.data_key_of(a).await.unwrap(), Some(first.clone()), "the first one won");

        let v2 = WrappedKey { kek: "local:v2".into(), bytes: vec![9; 60] };
        let at = now();
        assert!(!store.rewrap_data_key(first.owner.key_id, "local:v0", &v2, at).await.unwrap(), "stale KEK");
        assert!(store.rewrap_data_key(first.owner.key_id, "local:v1", &v2, at).await.unwrap());
        assert!(!store.rewrap_data_key(first.owner.key_id, "local:v1", &v2, at).await.unwrap(), "already moved");
        let moved = store.data_key_of(a).await.unwrap().unwrap();
        assert_eq!((moved.wrapped, moved.rewrapped_at), (v2, Some(at)));
        assert_eq!(store.data_key_counts().await.unwrap(), vec![("local:v1".into(), 1), ("local:v2".into(), 1)]);

        let mut tx = store.begin().await.unwrap();
        assert!(tx.destroy_data_key(a).await.unwrap());
        assert!(!tx.destroy_data_key(a).await.unwrap());
        tx.commit().await.unwrap();
        assert_eq!(store.data_key_of(a).await.unwrap(), None);
        assert!(store.data_key_of(b).await.unwrap().is_some(), "the other account keeps its key");
    }

    /// `data_keys_not_under` pages through every key not under a KEK, in
    /// id order, each once.
    pub async fn rotation_batches_walk_every_key_once(store: Arc<dyn Store>) {
        let mut expected = Vec::new();
        let mut tx = store.begin().await.unwrap();
        for i in 0..7 {
            let account = crate::accounts::account(&format!("batch{i}@example.org"));
            tx.insert_account(&account).await.unwrap();
            let kek = if i == 3 { "local:v2" } else { "local:v1" };
            let key = stored(account.id, kek, i);
            if i != 3 {
                expected.push(key.owner.key_id);
            }
            assert!(tx.insert_data_key(&key).await.unwrap());
        }
        tx.commit().await.unwrap();
        expected.sort();
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let batch = store.data_keys_not_under("local:v2", after, 2).await.unwrap();
            let Some(last) = batch.last() else { break };
            after = Some(last.owner.key_id);
            seen.extend(batch.iter().map(|k| k.owner.key_id));
        }
        assert_eq!(seen, expected);
    }
}

pub mod clients {
    //! Clients: scoped to their account in every query, versions kept,
    //! changes applied only from the version the writer read.

    use std::sync::Arc;

    use cbt_domain::ids::ClientId;
    use cbt_ports::{Store, StoredClient, StoredClientVersion};

    use crate::accounts::{now, saved};

    /// Checklist 25 at the store: another account's client is not found by
    /// any read or write; each change adds a version; a stale version
    /// writes nothing.
    pub async fn checklist_25_clients_are_scoped_to_their_account_and_versioned(store: Arc<dyn Store>) {
        let owner = saved(&store, "owner@example.org").await.id;
        let stranger = saved(&store, "stranger@example.org").await.id;
        let at = now();
        let mut client = StoredClient {
            id: ClientId::new(),
            account: owner,
            version: 1,
            sealed: vec![1; 40],
            created_at: at,
            updated_at: at,
        };
        let first = StoredClientVersion {
            client: client.id,
            version: 1,
            sealed: vec![1; 40],
            changed_by: owner,
            changed_at: at,
        };
        let mut tx = store.begin().await.unwrap();
        tx.insert_client(&client, &first).await.unwrap();
        tx.commit().await.unwrap();

        assert_eq!(store.client(owner, client.id).await.unwrap(), Some(client.clone()));
        assert_eq!(store.client(stranger, client.id).await.unwrap(), None, "another account's");
        assert_eq!(store.clients_of(owner).await.unwrap(), vec![client.clone()]);
        assert!(store.clients_of(stranger).await.unwrap().is_empty());
        assert!(store.client_versions(stranger, client.id).await.unwrap().is_empty());

        client.version = 2;
        client.sealed = vec![2; 40];
        let second = StoredClientVersion { version: 2, sealed: vec![2; 40], ..first.clone() };
        let foreign = StoredClient { account: stranger, ..client.clone() };
        let mut tx = store.begin().await.unwrap();
        assert!(!tx.update_client(&foreign, &second).await.unwrap(), "not through another account");
        assert!(tx.update_client(&client, &second).await.unwrap());
        assert!(!tx.update_client(&client, &second).await.unwrap(), "a stale version writes nothing");
        tx.commit().await.unwrap();
        assert_eq!(store.client(owner, client.id).await.unwrap().map(|c| c.sealed), Some(vec![2; 40]));
        assert_eq!(store.client_versions(owner, client.id).await.unwrap(), vec![first, second]);
    }

    /// A custom worksheet is read and changed only through its account;
    /// a stale version writes nothing.
    pub async fn custom_worksheets_are_scoped_to_their_account(store: Arc<dyn Store>) {
        let owner = saved(&store, "owner@example.org").await.id;
        let stranger = saved(&store, "stranger@example.org").await.id;
        let at = now();
        let mut sheet = cbt_ports::StoredWorksheet {
            id: cbt_domain::ids::WorksheetId::new(),
            account: owner,
            version: 1,
            sealed: vec![1; 40],
            created_at: at,
            updated_at: at,
        };
        let mut tx = store.begin().await.unwrap();
        tx.insert_worksheet(&sheet).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(store.worksheet(owner, sheet.id).await.unwrap(), Some(sheet.clone()));
        assert_eq!(store.worksheet(stranger, sheet.id).await.unwrap(), None);
        assert_eq!(store.worksheets_of(owner).await.unwrap(), vec![sheet.clone()]);
        assert!(store.worksheets_of(stranger).await.unwrap().is_empty());
        sheet.version = 2;
        sheet.sealed = vec![2; 40];
        let foreign = cbt_ports::StoredWorksheet { account: stranger, ..sheet.clone() };
        let mut tx = store.begin().await.unwrap();
        assert!(!tx.update_worksheet(&foreign).await.unwrap(), "not through another account");
        assert!(tx.update_worksheet(&sheet).await.unwrap());
        assert!(!tx.update_worksheet(&sheet).await.unwrap(), "a stale version writes nothing");
        tx.commit().await.unwrap();
        assert_eq!(store.worksheet(owner, sheet.id).await.unwrap(), Some(sheet));
    }

    /// A client of `owner`, stored (version 1), for cases about what a
    /// client holds.
    async fn stored_client(
        store: &Arc<dyn Store>,
        owner: cbt_domain::AccountId,
        at: time::OffsetDateTime,
    ) -> StoredClient {
        let client = StoredClient {
            id: ClientId::new(),
            account: owner,
            version: 1,
            sealed: vec![1],
            created_at: at,
            updated_at: at,
        };
        let first =
            StoredClientVersion { client: client.id, version: 1, sealed: vec![1], changed_by: owner, changed_at: at };
        let mut tx = store.begin().await.unwrap();
        tx.insert_client(&client, &first).await.unwrap();
        tx.commit().await.unwrap();
        client
    }

    /// A client's note index: the first write inserts it (a second first
    /// write is refused, not merged), later ones need the version before;
    /// another account neither reads nor writes it. The client's page
    /// reads the client, the index and the records of the kinds asked for,
    /// and nothing for another account or a missing client.
    pub async fn note_indexes_are_scoped_and_written_in_turn(store: Arc<dyn Store>) {
        let owner = saved(&store, "index-owner@example.org").await.id;
        let stranger = saved(&store, "index-stranger@example.org").await.id;
        let at = now();
        let client = stored_client(&store, owner, at).await;
        let mut index = cbt_ports::StoredNoteIndex {
            id: client.id,
            account: owner,
            version: 1,
            sealed: vec![3; 40],
            created_at: at,
            updated_at: at,
        };
        // The client's page reads the client with its index, or without
        // one before the first note; a stranger reads neither.
        let page = |account| {
            let store = store.clone();
            async move {
                store.client_page(account, client.id, &["formulation"]).await.unwrap().map(|p| (p.client, p.note_index))
            }
        };
        assert_eq!(page(owner).await, Some((client.clone(), None)));
        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.note_index_for_update(owner, client.id).await.unwrap(), None);
        assert!(tx.put_note_index(&index).await.unwrap());
        assert!(!tx.put_note_index(&index).await.unwrap(), "a second first index is refused");
        tx.commit().await.unwrap();
        assert_eq!(page(owner).await, Some((client.clone(), Some(index.clone()))));
        assert_eq!(page(stranger).await, None);
        index.version = 2;
        index.sealed = vec![4; 40];
        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.note_index_for_update(stranger, client.id).await.unwrap(), None);
        assert!(!tx.put_note_index(&cbt_ports::StoredNoteIndex { account: stranger, ..index.clone() }).await.unwrap());
        assert_eq!(tx.note_index_for_update(owner, client.id).await.unwrap().map(|i| i.version), Some(1));
        assert!(tx.put_note_index(&index).await.unwrap());
        assert!(!tx.put_note_index(&index).await.unwrap(), "a stale version writes nothing");
        tx.commit().await.unwrap();
        assert_eq!(page(owner).await, Some((client.clone(), Some(index.clone()))));

        // With its records of the kinds asked for, oldest first, and none
        // of the others.
        use cbt_domain::ids::RecordId;
        use cbt_ports::{StoredRecord, StoredRecordVersion};
        let record = |kind: &str, minutes: i64| StoredRecord {
            id: RecordId::new(),
            account: owner,
            client: client.id,
            kind: kind.into(),
            version: 1,
            sealed: vec![5; 20],
            signed_at: None,
            created_at: at + time::Duration::minutes(minutes),
            updated_at: at + time::Duration::minutes(minutes),
        };
        let (later, earlier, other) = (record("formulation", 2), record("hypothesis", 1), record("session_note", 0));
        let mut tx = store.begin().await.unwrap();
        for r in [&later, &earlier, &other] {
            let v1 = StoredRecordVersion {
                record: r.id,
                version: 1,
                sealed: r.sealed.clone(),
                changed_by: owner,
                changed_at: r.created_at,
            };
            tx.insert_record(r, &v1).await.unwrap();
        }
        tx.commit().await.unwrap();
        let full = store.client_page(owner, client.id, &["formulation", "hypothesis"]).await.unwrap().unwrap();
        assert_eq!((&full.client, &full.note_index), (&client, &Some(index)));
        assert_eq!(full.records, vec![earlier, later]);
        let none = store.client_page(owner, client.id, &[]).await.unwrap().unwrap();
        assert!(none.records.is_empty());
        assert_eq!(store.client_page(stranger, client.id, &["formulation", "hypothesis"]).await.unwrap(), None);
        assert_eq!(store.client_page(owner, ClientId::new(), &["formulation"]).await.unwrap(), None);
    }

    /// Records belong to one of the account's clients; signing locks them
    /// (no change writes); addenda go only to signed records; every read
    /// is scoped to the account.
    pub async fn signed_records_are_locked_and_take_addenda_only(store: Arc<dyn Store>) {
        use cbt_domain::ids::{AddendumId, RecordId};
        use cbt_ports::{StoredAddendum, StoredRecord, StoredRecordVersion};

        let owner = saved(&store, "notes-owner@example.org").await.id;
        let stranger = saved(&store, "notes-stranger@example.org").await.id;
        let at = now();
        let client = stored_client(&store, owner, at).await;

        let mut note = StoredRecord {
            id: RecordId::new(),
            account: owner,
            client: client.id,
            kind: "session_note".into(),
            version: 1,
            sealed: vec![1; 30],
            signed_at: None,
            created_at: at,
            updated_at: at,
        };
        let v1 =
            StoredRecordVersion { record: note.id, version: 1, sealed: vec![1; 30], changed_by: owner, changed_at: at };
        let mut tx = store.begin().await.unwrap();
        let foreign = StoredRecord { id: RecordId::new(), account: stranger, ..note.clone() };
        assert!(tx.insert_record(&foreign, &v1).await.is_err(), "not on another account's client");
        drop(tx);
        let mut tx = store.begin().await.unwrap();
        tx.insert_record(&note, &v1).await.unwrap();
        let addendum = StoredAddendum {
            id: AddendumId::new(),
            record: note.id,
            sealed: vec![9; 20],
            added_by: owner,
            added_at: at,
        };
        assert!(!tx.insert_addendum(owner, &addendum).await.unwrap(), "no addendum to a draft");
        note.version = 2;
        note.signed_at = Some(at);
        let v2 = StoredRecordVersion { version: 2, ..v1.clone() };
        assert!(tx.update_record(&note, &v2).await.unwrap(), "signed");
        let v3 = StoredRecordVersion { version: 3, ..v1.clone() };
        assert!(!tx.update_record(&StoredRecord { version: 3, ..note.clone() }, &v3).await.unwrap(), "locked");
        assert!(!tx.insert_addendum(stranger, &addendum).await.unwrap(), "not another account's record");
        assert!(tx.insert_addendum(owner, &addendum).await.unwrap());
        tx.commit().await.unwrap();

        assert_eq!(store.record(owner, note.id).await.unwrap(), Some(note.clone()));
        assert_eq!(store.record(stranger, note.id).await.unwrap(), None);
        assert_eq!(store.records_of(owner, client.id, &["session_note"]).await.unwrap(), vec![note.clone()]);
        assert!(store.records_of(stranger, client.id, &["session_note", "formulation"]).await.unwrap().is_empty());
        assert!(store.records_of(owner, client.id, &["formulation", "treatment_plan"]).await.unwrap().is_empty());
        assert_eq!(store.record_versions(owner, note.id).await.unwrap().len(), 2);
        assert!(store.record_versions(stranger, note.id).await.unwrap().is_empty());
        assert_eq!(store.addenda_of(owner, note.id).await.unwrap(), vec![addendum]);
        assert!(store.addenda_of(stranger, note.id).await.unwrap().is_empty());
    }
}

pub mod assessments {
    //! What assessments keep besides their results (clinical records):
    //! custom instruments, each account's open risk flags, and the links
    //! clients answer through, used once.

    use std::sync::Arc;

    use cbt_domain::AccountId;
    use cbt_domain::ids::{ClientId, ClientLinkId, InstrumentId, RecordId};
    use cbt_ports::{
        Store, StoreError, StoredClient, StoredClientLink, StoredClientVersion, StoredInstrument, StoredRecord,
        StoredRecordVersion, StoredRiskFlags,
    };
    use time::{Duration, OffsetDateTime};

    use crate::accounts::{now, saved};

    async fn stored_client(store: &Arc<dyn Store>, owner: AccountId, at: OffsetDateTime) -> StoredClient {
        let client = StoredClient {
            id: ClientId::new(),
            account: owner,
            version: 1,
            sealed: vec![1],
            created_at: at,
            updated_at: at,
        };
        let first =
            StoredClientVersion { client: client.id, version: 1, sealed: vec![1], changed_by: owner, changed_at: at };
        let mut tx = store.begin().await.unwrap();
        tx.insert_client(&client, &first).await.unwrap();
        tx.commit().await.unwrap();
        client
    }

    /// A result (an `assessment` record) of the client, for a link to
    /// name once used.
    async fn stored_result(store: &Arc<dyn Store>, client: &StoredClient, at: OffsetDateTime) -> RecordId {
        let record = StoredRecord {
            id: RecordId::new(),
            account: client.account,
            client: client.id,
            kind: "assessment".into(),
            version: 1,
            sealed: vec![6; 30],
            signed_at: None,
            created_at: at,
            updated_at: at,
        };
        let first = StoredRecordVersion {
            record: record.id,
            version: 1,
            sealed: record.sealed.clone(),
            changed_by: client.account,
            changed_at: at,
        };
        let mut tx = store.begin().await.unwrap();
        tx.insert_record(&record, &first).await.unwrap();
        tx.commit().await.unwrap();
        record.id
    }

    /// A fresh link to `client`, created at `at`, valid for an hour.
    fn link(client: &StoredClient, token: u8, at: OffsetDateTime) -> StoredClientLink {
        StoredClientLink {
            id: ClientLinkId::new(),
            account: client.account,
            client: client.id,
            token_hash: vec![token; 32],
            sealed: vec![7; 50],
            created_at: at,
            expires_at: at + Duration::hours(1),
            opened_at: None,
            used_at: None,
            revoked_at: None,
            result: None,
        }
    }

    async fn inserted(store: &Arc<dyn Store>, links: &[&StoredClientLink]) {
        let mut tx = store.begin().await.unwrap();
        for l in links {
            tx.insert_client_link(l).await.unwrap();
        }
        tx.commit().await.unwrap();
    }

    /// Checklist 25 at the store: a custom instrument is read, listed
    /// (oldest first) and changed only through its account; a stale
    /// version writes nothing.
    pub async fn checklist_25_custom_instruments_are_scoped_to_their_account(store: Arc<dyn Store>) {
        let owner = saved(&store, "instruments-owner@example.org").await.id;
        let stranger = saved(&store, "instruments-stranger@example.org").await.id;
        let at = now();
        let mut first = StoredInstrument {
            id: InstrumentId::new(),
            account: owner,
            version: 1,
            sealed: vec![1; 40],
            created_at: at,
            updated_at: at,
        };
        let second = StoredInstrument {
            id: InstrumentId::new(),
            sealed: vec![2; 40],
            created_at: at + Duration::seconds(1),
            updated_at: at + Duration::seconds(1),
            ..first.clone()
        };
        let mut tx = store.begin().await.unwrap();
        tx.insert_instrument(&second).await.unwrap();
        tx.insert_instrument(&first).await.unwrap();
        tx.commit().await.unwrap();

        assert_eq!(store.instrument(owner, first.id).await.unwrap(), Some(first.clone()));
        assert_eq!(store.instrument(stranger, first.id).await.unwrap(), None, "another account's");
        assert_eq!(store.instrument(owner, InstrumentId::new()).await.unwrap(), None);
        assert_eq!(store.instruments_of(owner).await.unwrap(), vec![first.clone(), second.clone()], "oldest first");
        assert!(store.instruments_of(stranger).await.unwrap().is_empty());

        first.version = 2;
        first.sealed = vec![3; 40];
        first.updated_at = at + Duration::seconds(2);
        let foreign = StoredInstrument { account: stranger, ..first.clone() };
        let mut tx = store.begin().await.unwrap();
        assert!(!tx.update_instrument(&foreign).await.unwrap(), "not through another account");
        assert!(!tx.update_instrument(&StoredInstrument { version: 3, ..first.clone() }).await.unwrap(), "skips one");
        assert!(tx.update_instrument(&first).await.unwrap());
        assert!(!tx.update_instrument(&first).await.unwrap(), "a stale version writes nothing");
        tx.commit().await.unwrap();
        assert_eq!(store.instrument(owner, first.id).await.unwrap(), Some(first.clone()));
        assert_eq!(store.instruments_of(owner).await.unwrap(), vec![first, second], "the other one untouched");
    }

    /// Checklist 25 at the store: an account's open risk flags are one
    /// document of its own. The first write inserts it (a second first
    /// write is refused, not merged), later ones need the version before;
    /// another account neither reads nor writes it, not even first.
    pub async fn checklist_25_risk_flags_are_scoped_and_written_in_turn(store: Arc<dyn Store>) {
        let owner = saved(&store, "flags-owner@example.org").await.id;
        let stranger = saved(&store, "flags-stranger@example.org").await.id;
        let at = now();
        let mut flags = StoredRiskFlags {
            id: owner,
            account: owner,
            version: 1,
            sealed: vec![1; 40],
            created_at: at,
            updated_at: at,
        };
        assert_eq!(store.risk_flags(owner).await.unwrap(), None, "none before the first flag");

        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.risk_flags_for_update(owner).await.unwrap(), None);
        let planted = StoredRiskFlags { account: stranger, sealed: vec![9; 40], ..flags.clone() };
        assert!(!tx.put_risk_flags(&planted).await.unwrap(), "not under another account's id");
        assert!(tx.put_risk_flags(&flags).await.unwrap(), "the first list");
        let again = StoredRiskFlags { sealed: vec![2; 40], ..flags.clone() };
        assert!(!tx.put_risk_flags(&again).await.unwrap(), "a second first list is refused");
        tx.commit().await.unwrap();
        assert_eq!(store.risk_flags(owner).await.unwrap(), Some(flags.clone()));
        assert_eq!(store.risk_flags(stranger).await.unwrap(), None, "the stranger has none");

        flags.version = 2;
        flags.sealed = vec![3; 40];
        flags.updated_at = at + Duration::seconds(1);
        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.risk_flags_for_update(stranger).await.unwrap(), None);
        assert!(!tx.put_risk_flags(&StoredRiskFlags { account: stranger, ..flags.clone() }).await.unwrap());
        assert_eq!(tx.risk_flags_for_update(owner).await.unwrap().map(|f| f.version), Some(1));
        assert!(!tx.put_risk_flags(&StoredRiskFlags { version: 3, ..flags.clone() }).await.unwrap(), "wrong version");
        assert!(tx.put_risk_flags(&flags).await.unwrap());
        assert!(!tx.put_risk_flags(&flags).await.unwrap(), "a stale version writes nothing");
        tx.commit().await.unwrap();
        assert_eq!(store.risk_flags(owner).await.unwrap(), Some(flags.clone()));

        // The stranger's own list is theirs alone.
        let theirs =
            StoredRiskFlags { id: stranger, account: stranger, sealed: vec![4; 40], version: 1, ..flags.clone() };
        let mut tx = store.begin().await.unwrap();
        assert!(tx.put_risk_flags(&theirs).await.unwrap());
        tx.commit().await.unwrap();
        assert_eq!(store.risk_flags(stranger).await.unwrap(), Some(theirs));
        assert_eq!(store.risk_flags(owner).await.unwrap(), Some(flags));
    }

    /// Checklist 25 at the store: a client link is found by its token
    /// hash alone (all a client holds), but read, listed and revoked only
    /// through its account, and made only for one of the account's
    /// clients. Links are listed per client, oldest first.
    pub async fn checklist_25_client_links_are_scoped_to_their_account(store: Arc<dyn Store>) {
        let owner = saved(&store, "links-owner@example.org").await.id;
        let stranger = saved(&store, "links-stranger@example.org").await.id;
        let at = now();
        let client = stored_client(&store, owner, at).await;
        let other = stored_client(&store, owner, at).await;
        let later = link(&client, 1, at + Duration::seconds(2));
        let earlier = link(&client, 2, at + Duration::seconds(1));
        let elsewhere = link(&other, 3, at);
        inserted(&store, &[&later, &earlier, &elsewhere]).await;

        assert_eq!(store.client_link_by_token(&[2; 32]).await.unwrap(), Some(earlier.clone()));
        assert_eq!(store.client_link_by_token(&[4; 32]).await.unwrap(), None);
        assert_eq!(store.client_link(owner, later.id).await.unwrap(), Some(later.clone()));
        assert_eq!(store.client_link(stranger, later.id).await.unwrap(), None, "another account's");
        assert_eq!(store.client_link(owner, ClientLinkId::new()).await.unwrap(), None);
        assert_eq!(store.client_links_of(owner, client.id).await.unwrap(), vec![earlier.clone(), later.clone()]);
        assert_eq!(store.client_links_of(owner, other.id).await.unwrap(), vec![elsewhere]);
        assert!(store.client_links_of(stranger, client.id).await.unwrap().is_empty());

        // Not for another account's client, nor under a token taken.
        let mut tx = store.begin().await.unwrap();
        let foreign = StoredClientLink { account: stranger, ..link(&client, 5, at) };
        assert!(tx.insert_client_link(&foreign).await.is_err(), "not to another account's client");
        drop(tx);
        let mut tx = store.begin().await.unwrap();
        match tx.insert_client_link(&link(&client, 2, at)).await {
            Err(StoreError::Duplicate { .. }) => {}
            other => panic!("expected Duplicate for a token taken, got {other:?}"),
        }
        drop(tx);
        assert_eq!(store.client_link_by_token(&[5; 32]).await.unwrap(), None);

        let mut tx = store.begin().await.unwrap();
        assert!(!tx.revoke_client_link(stranger, later.id, at).await.unwrap(), "not by another account");
        tx.commit().await.unwrap();
        assert_eq!(store.client_link(owner, later.id).await.unwrap(), Some(later), "unchanged");
    }

    /// A link is opened once and used once; never after its expiry (at
    /// `expires_at` it has expired) or once revoked; a used link cannot
    /// be revoked, and a revoked one not revoked again.
    pub async fn client_links_are_opened_once_and_used_once(store: Arc<dyn Store>) {
        let owner = saved(&store, "single-use@example.org").await.id;
        let at = now();
        let client = stored_client(&store, owner, at).await;
        let result = stored_result(&store, &client, at).await;
        let used = link(&client, 1, at);
        let expired = link(&client, 2, at);
        let revoked = link(&client, 3, at);
        inserted(&store, &[&used, &expired, &revoked]).await;

        let s = Duration::seconds;
        let mut tx = store.begin().await.unwrap();
        assert!(tx.open_client_link(used.id, at + s(1)).await.unwrap(), "first opening");
        assert!(!tx.open_client_link(used.id, at + s(2)).await.unwrap(), "opened once");
        assert!(tx.use_client_link(used.id, at + s(3), result).await.unwrap(), "first submission");
        assert!(!tx.use_client_link(used.id, at + s(4), result).await.unwrap(), "used once");
        assert!(!tx.revoke_client_link(owner, used.id, at + s(5)).await.unwrap(), "a used link stays used");

        let end = expired.expires_at;
        assert!(!tx.open_client_link(expired.id, end).await.unwrap(), "expired at its expiry");
        assert!(!tx.use_client_link(expired.id, end, result).await.unwrap(), "expired at its expiry");
        assert!(!tx.use_client_link(expired.id, end + s(1), result).await.unwrap(), "expired after it");

        assert!(tx.revoke_client_link(owner, revoked.id, at + s(1)).await.unwrap());
        assert!(!tx.revoke_client_link(owner, revoked.id, at + s(2)).await.unwrap(), "revoked once");
        assert!(!tx.open_client_link(revoked.id, at + s(3)).await.unwrap(), "revoked");
        assert!(!tx.use_client_link(revoked.id, at + s(3), result).await.unwrap(), "revoked");
        tx.commit().await.unwrap();

        let read = |id| {
            let store = store.clone();
            async move { store.client_link(owner, id).await.unwrap().unwrap() }
        };
        let u = read(used.id).await;
        assert_eq!(
            (u.opened_at, u.used_at, u.revoked_at, u.result),
            (Some(at + s(1)), Some(at + s(3)), None, Some(result)),
            "the first opening and the first submission count"
        );
        let e = read(expired.id).await;
        assert_eq!((e.opened_at, e.used_at, e.revoked_at, e.result), (None, None, None, None), "nothing written");
        let r = read(revoked.id).await;
        assert_eq!((r.opened_at, r.used_at, r.revoked_at, r.result), (None, None, Some(at + s(1)), None));
        // A link used, then re-read by its token, still says so.
        assert_eq!(store.client_link_by_token(&[1; 32]).await.unwrap(), Some(u));
    }

    /// Submissions racing on one link, each in its own transaction: exactly
    /// one uses it.
    pub async fn concurrent_submissions_use_a_client_link_once(store: Arc<dyn Store>) {
        let owner = saved(&store, "race@example.org").await.id;
        let at = now();
        let client = stored_client(&store, owner, at).await;
        let result = stored_result(&store, &client, at).await;
        let target = link(&client, 1, at);
        inserted(&store, &[&target]).await;
        let mut tasks = Vec::new();
        for n in 0..8 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let mut tx = store.begin().await.unwrap();
                let won = tx.use_client_link(target.id, at + Duration::milliseconds(n), result).await.unwrap();
                // Hold the transaction open a moment, as a request would.
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                tx.commit().await.unwrap();
                won
            }));
        }
        let mut wins = 0;
        for t in tasks {
            wins += usize::from(t.await.unwrap());
        }
        assert_eq!(wins, 1, "one submission uses the link");
        let stored = store.client_link(owner, target.id).await.unwrap().unwrap();
        assert!(stored.used_at.is_some());
        assert_eq!(stored.result, Some(result));
    }

    /// Recurring questionnaires: listed per client through their account
    /// only; due ones found across accounts, most overdue first; a due
    /// schedule is moved on once however many runners try; a stopped one
    /// is never due; a stranger can neither stop one nor make one for
    /// another account's client.
    pub async fn schedules_are_scoped_claimed_once_and_stopped(store: Arc<dyn Store>) {
        use cbt_domain::ids::ScheduleId;
        use cbt_ports::StoredSchedule;
        let owner = saved(&store, "schedules-owner@example.org").await.id;
        let stranger = saved(&store, "schedules-stranger@example.org").await.id;
        let at = now();
        let client = stored_client(&store, owner, at).await;
        let schedule = |due: OffsetDateTime| StoredSchedule {
            id: ScheduleId::new(),
            account: owner,
            client: client.id,
            sealed: vec![9; 40],
            every_days: 14,
            next_due_at: due,
            created_at: at,
            stopped_at: None,
        };
        let overdue = schedule(at - Duration::days(2));
        let due = schedule(at - Duration::hours(1));
        let later = schedule(at + Duration::days(3));
        let mut tx = store.begin().await.unwrap();
        for s in [&due, &overdue, &later] {
            tx.insert_schedule(s).await.unwrap();
        }
        let foreign = StoredSchedule { id: ScheduleId::new(), account: stranger, ..schedule(at) };
        assert!(tx.insert_schedule(&foreign).await.is_err(), "not for another account's client");
        tx.commit().await.unwrap();

        let listed: Vec<_> = store.schedules_of(owner, client.id).await.unwrap().into_iter().map(|s| s.id).collect();
        assert_eq!(listed.len(), 3);
        assert!(store.schedules_of(stranger, client.id).await.unwrap().is_empty());
        let found: Vec<_> = store.due_schedules(at, 10).await.unwrap().into_iter().map(|s| s.id).collect();
        assert_eq!(found, vec![overdue.id, due.id], "due ones, most overdue first");
        assert_eq!(store.due_schedules(at, 1).await.unwrap().len(), 1, "the limit holds");

        // Two runners claim the same due schedule: one wins.
        let next = overdue.next_due_at + Duration::days(14);
        let mut first = store.begin().await.unwrap();
        assert!(first.advance_schedule(overdue.id, overdue.next_due_at, next).await.unwrap());
        first.commit().await.unwrap();
        let mut second = store.begin().await.unwrap();
        assert!(!second.advance_schedule(overdue.id, overdue.next_due_at, next).await.unwrap());
        drop(second);
        let found: Vec<_> = store.due_schedules(at, 10).await.unwrap().into_iter().map(|s| s.id).collect();
        assert_eq!(found, vec![due.id]);

        let mut tx = store.begin().await.unwrap();
        assert!(!tx.stop_schedule(stranger, due.id, at).await.unwrap(), "not the stranger's to stop");
        assert!(tx.stop_schedule(owner, due.id, at).await.unwrap());
        assert!(!tx.stop_schedule(owner, due.id, at).await.unwrap(), "stopped once");
        assert!(!tx.advance_schedule(due.id, due.next_due_at, next).await.unwrap(), "a stopped one is not claimed");
        tx.commit().await.unwrap();
        assert!(store.due_schedules(at, 10).await.unwrap().is_empty());
        let stopped = store.schedules_of(owner, client.id).await.unwrap();
        assert_eq!(stopped.iter().filter(|s| s.stopped_at.is_some()).count(), 1);
    }
}
