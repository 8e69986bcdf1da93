//! Checklist E.32: the audit log's hash chain, verified by the real
//! `cbt-assistant audit verify`, on SQLite and PostgreSQL, untouched and
//! after direct tampering in the database.

use std::sync::Arc;

use cbt_domain::audit::{AuditAction, AuditOutcome};
use cbt_ports::SystemClock;
use cbt_server::config::Settings;
use cbt_server::secrets::{Generate, resolve};
use cbt_testkit::TestDatabase;
use cbt_testkit::binary::command;
use sqlx::{AssertSqlSafe, Connection};

const AUDIT_KEY: &str = "Pa4sD7fG1hJ9kL2zX5cV8bN3mQ6wE0rTyU";

/// Writes `n` events through the application, as the server would.
async fn seed(db: &TestDatabase, dir: &std::path::Path, n: usize) -> Vec<String> {
    let settings = Settings {
        data_dir: dir.join("data"),
        database_url: Some(db.url.clone()),
        audit_key: Some(AUDIT_KEY.into()),
        ..Settings::default()
    };
    let secrets = resolve(&settings, Generate::Yes).unwrap();
    let store = cbt_server::connect_store(&settings).await.unwrap();
    store.migrate().await.unwrap();
    let mailer = cbt_server::mailer(&settings).unwrap();
    let app = cbt_server::application(&settings, store.clone(), Arc::new(SystemClock), mailer, &secrets).await.unwrap();
    for _ in 0..n {
        app.record_system_event(AuditAction::ServerStarted, AuditOutcome::Success).await.unwrap();
    }
    let ids = store.audit_entries_after(0, 1000).await.unwrap().into_iter().map(|e| e.fields.id.to_string()).collect();
    store.close().await;
    ids
}

/// Runs `audit verify`; returns (exit code, stdout).
fn verify(db: &TestDatabase, dir: &std::path::Path) -> (i32, String) {
    let env = [("DATABASE_URL", db.url.as_str()), ("CBT_AUDIT_KEY", AUDIT_KEY)];
    let out = command(&crate::binary(), dir, &env).args(["audit", "verify"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.code().unwrap_or(-1), format!("{stdout}{}", String::from_utf8_lossy(&out.stderr)))
}

/// Statements that tamper with the log the way someone with database
/// access could, after switching off the append-only guard.
enum Tamper {
    Edit,
    Delete,
    Reorder,
    DropNewest,
}

async fn tamper(db: &TestDatabase, how: Tamper) {
    let statements: Vec<&str> = match how {
        Tamper::Edit => vec!["UPDATE audit_events SET outcome = 'failure' WHERE seq = 3"],
        Tamper::Delete => vec!["DELETE FROM audit_events WHERE seq = 3"],
        Tamper::Reorder => vec![
            "UPDATE audit_events SET seq = -1 WHERE seq = 3",
            "UPDATE audit_events SET seq = 3 WHERE seq = 4",
            "UPDATE audit_events SET seq = 4 WHERE seq = -1",
        ],
        Tamper::DropNewest => vec!["DELETE FROM audit_events WHERE seq = (SELECT max(seq) FROM audit_events)"],
    };
    if let Some(path) = db.sqlite_path() {
        let mut raw = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display())).await.unwrap();
        sqlx::query("DROP TRIGGER audit_events_no_update").execute(&mut raw).await.unwrap();
        sqlx::query("DROP TRIGGER audit_events_no_delete").execute(&mut raw).await.unwrap();
        for s in statements {
            sqlx::query(s).execute(&mut raw).await.unwrap();
        }
        raw.close().await.unwrap();
    } else {
        let mut raw = sqlx::PgConnection::connect(&db.url).await.unwrap();
        sqlx::query("ALTER TABLE audit_events DISABLE TRIGGER USER").execute(&mut raw).await.unwrap();
        for s in statements {
            sqlx::query(AssertSqlSafe(s)).execute(&mut raw).await.unwrap();
        }
        raw.close().await.unwrap();
    }
}

async fn scenario(db: Option<TestDatabase>, how: Option<Tamper>) {
    let Some(db) = db else { return };
    let dir = tempfile::tempdir().unwrap();
    let ids = seed(&db, dir.path(), 6).await;
    let (code, out) = verify(&db, dir.path());
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("audit log intact: 6 entries"), "{out}");
    let Some(how) = how else {
        // The verification itself was recorded, and verifies too.
        let (code, out) = verify(&db, dir.path());
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("7 entries"), "{out}");
        return;
    };
    let expected = match how {
        Tamper::Edit => format!("audit entry #3 (id {}) was edited", ids[2]),
        Tamper::Delete => format!("audit entries #3 to #3 are missing (deleted) before entry #4 (id {})", ids[3]),
        Tamper::Reorder => format!("audit entry #3 (id {}) does not follow entry #2", ids[3]),
        // 6 seeded + 1 verification event; the newest (#7) is deleted.
        Tamper::DropNewest => "the newest audit entries after #6 were deleted".to_owned(),
    };
    tamper(&db, how).await;
    let (code, out) = verify(&db, dir.path());
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&expected), "expected {expected:?} in {out}");
}

on_both_backends! {
    checklist_32_untouched_log_verifies => scenario, None;
    checklist_32_edited_entry_is_named => scenario, Some(Tamper::Edit);
    checklist_32_deleted_entry_is_named => scenario, Some(Tamper::Delete);
    checklist_32_reordered_entry_is_named => scenario, Some(Tamper::Reorder);
    checklist_32_deleted_newest_entry_is_found => scenario, Some(Tamper::DropNewest);
}

/// On PostgreSQL the table refuses UPDATE, DELETE and TRUNCATE outright.
#[tokio::test]
async fn checklist_32_postgres_audit_table_is_append_only() {
    let Some(db) = TestDatabase::postgres().await else { return };
    let dir = tempfile::tempdir().unwrap();
    seed(&db, dir.path(), 2).await;
    let mut raw = sqlx::PgConnection::connect(&db.url).await.unwrap();
    for statement in
        ["UPDATE audit_events SET outcome = 'failure'", "DELETE FROM audit_events", "TRUNCATE audit_events"]
    {
        let err = sqlx::query(statement).execute(&mut raw).await.expect_err(statement);
        assert!(err.to_string().contains("append-only"), "{statement}: {err}");
    }
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_events").fetch_one(&mut raw).await.unwrap();
    assert_eq!(count, 2);
}

/// SQLite refuses UPDATE and DELETE the same way.
#[tokio::test]
async fn checklist_32_sqlite_audit_table_is_append_only() {
    let db = TestDatabase::sqlite();
    let dir = tempfile::tempdir().unwrap();
    seed(&db, dir.path(), 2).await;
    let mut raw = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
    for statement in ["UPDATE audit_events SET outcome = 'failure'", "DELETE FROM audit_events"] {
        let err = sqlx::query(statement).execute(&mut raw).await.expect_err(statement);
        assert!(err.to_string().contains("append-only"), "{statement}: {err}");
    }
}
