//! Checklist E.32 for reads under load, on SQLite and PostgreSQL: reads of
//! PHI that arrive together share audit transactions (group commit), yet
//! every read's events are stored, together and in order, before it is
//! answered; and when the audit log cannot be written, no read answers.

use cbt_domain::audit::{AuditAction, RequestContext};
use cbt_domain::ids::{ClientId, RequestId};
use cbt_testkit::{TestApp, TestDatabase};
use serde_json::{Value, json};
use sqlx::Connection;

/// Dashboard reads, and as many single client reads, sent at once.
const READS: usize = 24;

/// The dashboard's events, in the order it writes them.
fn dashboard_actions() -> Vec<&'static str> {
    use cbt_domain::record::ClinicalRecord;
    use cbt_domain::{assessment, formulation, homework, hypothesis, session_note, treatment_plan};
    vec![
        AuditAction::ClientRead.code(),
        session_note::SessionNote::ACTIONS.list.code(),
        assessment::AssessmentResult::ACTIONS.list.code(),
        formulation::Formulation::ACTIONS.list.code(),
        hypothesis::Hypothesis::ACTIONS.list.code(),
        treatment_plan::TreatmentPlan::ACTIONS.list.code(),
        treatment_plan::GoalProgress::ACTIONS.list.code(),
        homework::Homework::ACTIONS.list.code(),
    ]
}

async fn signed_in_with_client(db: TestDatabase, email: &str) -> (TestApp, cbt_domain::account::Account, ClientId) {
    let app = TestApp::spawn(db).await;
    let token = app.api_token(email).await;
    let r = reqwest::Client::new()
        .post(app.url("/api/v1/clients"))
        .bearer_auth(&token)
        .json(&json!({"full_name": "Audit Load Client"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().parse().unwrap();
    let account = app.app.store().account_by_email(email).await.unwrap().unwrap();
    (app, account, id)
}

fn context() -> RequestContext {
    RequestContext::new(None, Some("audit-load-test"), Some(RequestId::new()))
}

async fn reads_at_once_are_each_stored_whole(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let (app, account, client) = signed_in_with_client(db, "reads@example.org").await;
    let store = app.app.store().clone();
    let before = store.audit_head().await.unwrap().map_or(0, |h| h.seq);

    let dashboards: Vec<RequestContext> = (0..READS).map(|_| context()).collect();
    let singles: Vec<RequestContext> = (0..READS).map(|_| context()).collect();
    type Read<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), cbt_app::AppError>> + 'a>>;
    let (a, who) = (&app.app, &account);
    let reads = dashboards
        .iter()
        .map(|ctx| Box::pin(async move { a.client_dashboard(who, client, ctx).await.map(drop) }) as Read<'_>)
        .chain(
            singles.iter().map(|ctx| Box::pin(async move { a.client(who, client, ctx).await.map(drop) }) as Read<'_>),
        );
    for result in futures_util::future::join_all(reads).await {
        result.expect("every read answers");
    }

    // Every event is stored as soon as its read answered.
    let entries = store.audit_entries_after(before, 10_000).await.unwrap();
    let dashboard = dashboard_actions();
    assert_eq!(entries.len(), READS * dashboard.len() + READS);
    let of = |ctx: &RequestContext| -> Vec<_> {
        let id = ctx.request_id.map(|r| r.to_string());
        entries.iter().filter(|e| e.fields.request_id == id).collect()
    };
    for ctx in &dashboards {
        let mine = of(ctx);
        let actions: Vec<&str> = mine.iter().map(|e| e.fields.action.as_str()).collect();
        assert_eq!(actions, dashboard, "a dashboard read's events, in order");
        let seqs: Vec<i64> = mine.iter().map(|e| e.seq).collect();
        assert_eq!(seqs[6] - seqs[0], 6, "a dashboard read's events are stored together: {seqs:?}");
        assert!(mine.iter().all(|e| e.fields.actor_id.as_deref() == Some(account.id.to_string().as_str())));
    }
    for ctx in &singles {
        let mine = of(ctx);
        assert_eq!(mine.len(), 1);
        assert_eq!(mine[0].fields.action, AuditAction::ClientRead.code());
        assert_eq!(mine[0].fields.target_id.as_deref(), Some(client.to_string().as_str()));
    }
    match app.app.verify_audit_log().await.unwrap() {
        cbt_app::AuditVerification::Intact(_) => {}
        broken => panic!("the chain breaks after reads at once: {broken:?}"),
    }
}

/// A trigger that refuses every new audit event, as a full disk or a
/// broken database would.
async fn refuse_audit_events(db: &TestDatabase, refuse: bool) {
    if db.is_postgres() {
        let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
        let statements: &[&str] = if refuse {
            &[
                "CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS \
                 $$ BEGIN RAISE EXCEPTION 'audit refused by the test'; END $$",
                "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events \
                 FOR EACH ROW EXECUTE FUNCTION refuse_audit()",
            ]
        } else {
            &["DROP TRIGGER refuse_audit ON audit_events", "DROP FUNCTION refuse_audit()"]
        };
        for statement in statements {
            sqlx::raw_sql(sqlx::AssertSqlSafe(*statement)).execute(&mut c).await.unwrap();
        }
    } else {
        let mut c = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
        let statement = if refuse {
            "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events \
             BEGIN SELECT RAISE(ABORT, 'audit refused by the test'); END"
        } else {
            "DROP TRIGGER refuse_audit"
        };
        sqlx::query(statement).execute(&mut c).await.unwrap();
    }
}

async fn no_read_answers_unaudited(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let (app, account, client) = signed_in_with_client(db, "closed@example.org").await;
    let store = app.app.store().clone();
    let before = store.audit_head().await.unwrap().map_or(0, |h| h.seq);

    refuse_audit_events(&app.db, true).await;
    let contexts: Vec<RequestContext> = (0..READS).map(|_| context()).collect();
    let reads = contexts.iter().map(|ctx| app.app.client_dashboard(&account, client, ctx));
    for result in futures_util::future::join_all(reads).await {
        let err = result.expect_err("a read whose audit cannot be stored does not answer");
        assert!(!err.to_string().contains("Audit Load Client"), "no PHI in the error: {err}");
    }
    let single = app.app.client(&account, client, &context()).await;
    assert!(single.is_err(), "nor does a single read");
    assert_eq!(store.audit_head().await.unwrap().map_or(0, |h| h.seq), before, "nothing was stored");

    // Once the log can be written again, reads answer again: no read is
    // left waiting on a writer that gave up.
    refuse_audit_events(&app.db, false).await;
    let ctx = context();
    let d = app.app.client_dashboard(&account, client, &ctx).await.expect("reads answer again");
    assert_eq!(d.client.id, client);
    let entries = store.audit_entries_after(before, 100).await.unwrap();
    assert_eq!(entries.len(), dashboard_actions().len(), "only the read that answered is in the log");
}

on_both_backends! {
    checklist_32_reads_at_once_are_each_stored_whole => reads_at_once_are_each_stored_whole;
    checklist_32_no_read_answers_unaudited => no_read_answers_unaudited;
}
