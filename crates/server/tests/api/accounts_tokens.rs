//! Checklist 27: personal access tokens, on SQLite and PostgreSQL.

use cbt_testkit::{TestApp, TestDatabase};
use serde_json::Value;
use sqlx::Connection;
use time::Duration;

async fn create(app: &TestApp, client: &reqwest::Client, name: &str, days: &str) -> String {
    app.create_access_token(client, name, days).await
}

async fn me(app: &TestApp, bearer: &str) -> reqwest::Response {
    reqwest::Client::new().get(app.url("/api/v1/me")).bearer_auth(bearer).send().await.unwrap()
}

async fn stored_hashes(app: &TestApp) -> Vec<Vec<u8>> {
    let sql = "SELECT token_hash FROM access_tokens";
    if app.db.is_postgres() {
        let mut c = sqlx::PgConnection::connect(&app.db.url).await.unwrap();
        sqlx::query_scalar(sql).fetch_all(&mut c).await.unwrap()
    } else {
        let mut c = sqlx::SqliteConnection::connect(&app.db.url).await.unwrap();
        sqlx::query_scalar(sql).fetch_all(&mut c).await.unwrap()
    }
}

/// Shown once, stored hashed, works as a bearer token on the API only,
/// revocable (and only by its owner), audited.
async fn tokens_are_shown_once_hashed_revocable(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let app = TestApp::spawn(db).await;
    let client = app.verified_account("api@example.org").await;
    let token = create(&app, &client, "reporting script", "30").await;
    assert!(token.starts_with("cbt_pat_") && token.len() > 40, "{token}");
    let page = client.get(app.url("/account/security")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("reporting script") && !page.contains(&token), "listed, never shown again");

    let hashes = stored_hashes(&app).await;
    assert_eq!(hashes.len(), 1);
    let sha = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    assert_eq!(hashes[0], sha.as_ref(), "only the SHA-256 is stored");

    let r = me(&app, &token).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["email"], "api@example.org");
    assert_eq!(me(&app, "cbt_pat_not-a-real-token").await.status(), 401);
    let r = reqwest::Client::new().get(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    assert_eq!(client.get(app.url("/api/v1/me")).send().await.unwrap().status(), 200, "the session cookie works too");
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(app.url("/dashboard"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "tokens open the API, not the pages");

    // Another therapist cannot revoke it.
    let other = app.verified_account("other@example.org").await;
    let page = client.get(app.url("/account/security")).send().await.unwrap().text().await.unwrap();
    let id = page.split("/account/tokens/").nth(1).unwrap().split('/').next().unwrap().to_owned();
    let r = app.submit(&other, "/account/security", &format!("/account/tokens/{id}/revoke"), &[]).await;
    assert_eq!(r.status(), 404);
    assert_eq!(me(&app, &token).await.status(), 200);
    let r = app.submit(&client, "/account/security", &format!("/account/tokens/{id}/revoke"), &[]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(me(&app, &token).await.status(), 401, "revoked");
    app.stop().await;
}

/// A token stops working when its lifetime ends (to the second).
async fn tokens_expire(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let app = TestApp::spawn(db).await;
    let client = app.verified_account("exp@example.org").await;
    let token = create(&app, &client, "short", "7").await;
    app.clock.advance(Duration::days(7) - Duration::seconds(1));
    assert_eq!(me(&app, &token).await.status(), 200);
    app.clock.advance(Duration::seconds(1));
    assert_eq!(me(&app, &token).await.status(), 401);
    app.stop().await;
}

on_both_backends! {
    checklist_27_tokens_are_shown_once_stored_hashed_and_revocable => tokens_are_shown_once_hashed_revocable;
    checklist_27_tokens_expire => tokens_expire;
}
