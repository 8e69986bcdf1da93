//! Error rendering (checklist E.31, G.38): friendly pages and problem+json
//! with a request id and nothing internal.

use cbt_testkit::{PHI_CANARY, RunningBinary, TestApp, TestDatabase};
use serde_json::Value;
use sqlx::Connection;

#[tokio::test]
async fn not_found_is_a_page_under_html_and_problem_json_under_api() {
    let app = TestApp::spawn(TestDatabase::sqlite()).await;
    let r = app.get("/no/such/page").await;
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
    let id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    let html = r.text().await.unwrap();
    assert!(html.contains("Not found") && html.contains(&id), "{html}");
    assert!(html.contains("<main id=\"main\""), "rendered inside the layout");

    let r = app.get("/api/v1/no-such-thing").await;
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], 404);
    assert_eq!(body["title"], "Not found");
    assert!(body["request_id"].as_str().is_some());
    app.stop().await;
}

#[tokio::test]
async fn checklist_38_oversized_body_gets_413_page() {
    let app = TestApp::spawn(TestDatabase::sqlite()).await;
    let limit = app.settings.body_limit_bytes;
    let r = app.client.post(app.url("/")).body(vec![b'a'; limit + 1]).send().await.unwrap();
    assert_eq!(r.status(), 413);
    let html = r.text().await.unwrap();
    assert!(html.contains("Too large"), "{html}");
    app.stop().await;
}

/// Breaks the migration bookkeeping so the readiness query fails inside
/// the store: a genuine internal error. The bad value is the PHI canary, so
/// an error text that quoted stored data would show it.
async fn corrupt_schema_table(sqlite_path: &std::path::Path) {
    let mut raw = sqlx::SqliteConnection::connect(&format!("sqlite://{}", sqlite_path.display())).await.unwrap();
    sqlx::query("DROP TABLE _sqlx_migrations").execute(&mut raw).await.unwrap();
    sqlx::query("CREATE TABLE _sqlx_migrations (version TEXT, success INTEGER)").execute(&mut raw).await.unwrap();
    sqlx::query("INSERT INTO _sqlx_migrations VALUES (?, 1)").bind(PHI_CANARY).execute(&mut raw).await.unwrap();
    raw.close().await.unwrap();
}

/// checklist_31_internal_error_shows_only_a_request_id: the client sees a
/// status, a fixed title and the request id, nothing else; the log line
/// for it has the request id and no PHI canary, though the canary was in
/// the query string, headers and the failing data.
#[tokio::test]
async fn checklist_31_internal_error_shows_only_a_request_id_and_logs_no_phi() {
    let dir = tempfile::tempdir().unwrap();
    let server =
        RunningBinary::start(&crate::binary(), dir.path(), &[("CBT_BIND", "127.0.0.1:0"), ("CBT_LOG_FORMAT", "json")]);
    corrupt_schema_table(&dir.path().join("data/cbt.db")).await;
    let client = reqwest::Client::new();
    let r = client
        .get(server.url(&format!("/readyz?client_name={PHI_CANARY}")))
        .header("user-agent", format!("Mozilla/5.0 {PHI_CANARY}"))
        .header("referer", format!("http://127.0.0.1/clients?q={PHI_CANARY}"))
        .header("x-client-note", PHI_CANARY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 500);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    let body: Value = r.json().await.unwrap();
    let keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["request_id", "status", "title", "type"], "{body}");
    assert_eq!(body["request_id"], id.as_str());
    assert_eq!(body["title"], "Something went wrong");

    let failure = server.wait_for("request failed");
    assert!(failure.contains(&id), "the log line names the request: {failure}");
    let line: Value = serde_json::from_str(&failure).unwrap();
    assert_eq!(line["level"], "ERROR");
    let logs = server.output();
    assert!(!logs.contains(PHI_CANARY), "PHI canary in the logs:\n{logs}");
    assert!(!logs.contains("Mozilla/5.0"), "user agents are not logged:\n{logs}");
    assert!(server.terminate());
}

/// The 500 HTML page (a browser asking for a page while the store fails).
#[tokio::test]
async fn internal_error_html_page_shows_only_a_reference() {
    let db = TestDatabase::sqlite();
    let app = TestApp::spawn(db).await;
    corrupt_schema_table(app.db.sqlite_path().unwrap()).await;
    let r = app.get("/readyz").await;
    assert_eq!(r.status(), 500);
    let text = r.text().await.unwrap();
    assert!(!text.contains(PHI_CANARY) && !text.to_lowercase().contains("decod") && !text.contains("sqlx"), "{text}");
    app.stop().await;
}

/// /readyz answers 503 when the schema is missing (SQLite) or the database
/// is gone (PostgreSQL); /healthz stays 200: the process is alive.
#[tokio::test]
async fn readyz_is_503_when_the_database_is_not_usable_sqlite() {
    let app = TestApp::spawn(TestDatabase::sqlite()).await;
    assert_eq!(app.get("/readyz").await.status(), 200);
    let mut raw = sqlx::SqliteConnection::connect(&app.db.url).await.unwrap();
    sqlx::query("DROP TABLE _sqlx_migrations").execute(&mut raw).await.unwrap();
    raw.close().await.unwrap();
    let r = app.get("/readyz").await;
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    assert_eq!(app.get("/healthz").await.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn readyz_is_503_when_the_database_is_not_usable_postgres() {
    let Some(db) = TestDatabase::postgres().await else { return };
    let app = TestApp::spawn(db).await;
    assert_eq!(app.get("/readyz").await.status(), 200);
    let (admin_url, name) = match &app.db.backend {
        cbt_testkit::DatabaseBackend::Postgres { admin_url, name } => (admin_url.clone(), name.clone()),
        _ => unreachable!(),
    };
    let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)"))).execute(&mut admin).await.unwrap();
    let r = app.get("/readyz").await;
    assert_eq!(r.status(), 503);
    assert_eq!(app.get("/healthz").await.status(), 200);
    app.stop().await;
}
