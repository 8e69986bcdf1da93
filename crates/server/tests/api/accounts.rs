//! Accounts end to end over HTTP (checklist A and B). More cases live in
//! `accounts_*` modules.

use cbt_testkit::accounts::{PASSWORD, new_client};
use cbt_testkit::{TestApp, TestDatabase};

#[tokio::test]
async fn sign_up_verify_sign_in_and_out() {
    let app = TestApp::spawn(TestDatabase::sqlite()).await;
    let client = app.verified_account("ann@example.org").await;
    let r = client.get(app.url("/dashboard")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("Welcome, Dr Test Therapist"), "{html}");
    assert!(!html.contains("Confirm your email address"), "verified: no banner");

    let r = app.submit(&client, "/dashboard", "/logout", &[]).await;
    assert_eq!(r.status(), 303);
    let r = client.get(app.url("/dashboard")).send().await.unwrap();
    assert_eq!(r.status(), 303, "signed out: back to sign-in");
    assert_eq!(r.headers()["location"], "/login");
    let _ = new_client();
    let _ = PASSWORD;
    app.stop().await;
}

/// checklist_24_cookie_notice_lists_every_cookie: every cookie the app sets
/// along the whole sign-in journey (two-step included) is named on the
/// cookie notice.
#[tokio::test]
async fn checklist_24_cookie_notice_lists_every_cookie() {
    let app = TestApp::spawn(TestDatabase::sqlite()).await;
    let client = app.verified_account("cookies@example.org").await;
    app.enable_mfa(&client).await;
    let fresh = new_client();
    let mut names = std::collections::BTreeSet::new();
    let mut record = |r: &reqwest::Response| {
        for v in r.headers().get_all("set-cookie") {
            let name = v.to_str().unwrap().split('=').next().unwrap().to_owned();
            names.insert(name);
        }
    };
    let r = fresh.get(app.url("/login")).send().await.unwrap();
    record(&r);
    let r = app.sign_in(&fresh, "cookies@example.org", PASSWORD).await;
    record(&r);
    let r = fresh.get(app.url("/login/mfa")).send().await.unwrap();
    record(&r);
    app.verified_account("plain@example.org").await;
    let plain = new_client();
    let r = app.sign_in(&plain, "plain@example.org", PASSWORD).await;
    record(&r);
    let r = app.submit(&plain, "/dashboard", "/logout", &[]).await;
    record(&r);
    assert_eq!(names.len(), 3, "{names:?}");
    let notice = app.get("/cookies").await.text().await.unwrap();
    for name in &names {
        assert!(notice.contains(&format!("<code>{name}</code>")), "{name} is not on the cookie notice");
    }
    app.stop().await;
}

/// checklist_5_global_per_ip_ceiling: past the per-IP ceiling every page
/// answers 429 with Retry-After (health checks still answer), and the count
/// is in the database, so a restarted server still refuses.
#[tokio::test]
async fn checklist_5_global_per_ip_ceiling_holds_across_restarts() {
    let app = TestApp::spawn_with(TestDatabase::sqlite(), |s| s.requests_per_ip = 40).await;
    for _ in 0..41 {
        app.get("/privacy").await;
    }
    // Counts reach the database once a second.
    let mut status = 200;
    for _ in 0..30 {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        status = app.get("/privacy").await.status().as_u16();
        if status == 429 {
            break;
        }
    }
    assert_eq!(status, 429);
    let r = app.get("/").await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().get("retry-after").is_some());
    assert_eq!(app.get("/healthz").await.status(), 200, "health checks are not limited");
    let again = app.restart_with(|_| {}).await;
    let mut status = 200;
    for _ in 0..30 {
        status = again.get("/privacy").await.status().as_u16();
        if status == 429 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(status, 429, "the ceiling survives a restart");
    again.stop().await;
}

/// A 429 is held one second before it is sent (`web::refusal_delay`), so a
/// client that retries at once cannot draw refusals at line rate; the hold
/// delays nobody else: a health check sent meanwhile is answered first.
#[tokio::test]
async fn refusals_are_held_a_second_without_delaying_anyone_else() {
    let app = TestApp::spawn_with(TestDatabase::sqlite(), |s| s.requests_per_ip = 1).await;
    // Counts reach the database once a second.
    let mut status = 200;
    for _ in 0..30 {
        status = app.get("/privacy").await.status().as_u16();
        if status == 429 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(status, 429);

    let started = std::time::Instant::now();
    let refused = tokio::spawn(app.client.get(app.url("/privacy")).send());
    let health = app.get("/healthz").await;
    assert_eq!(health.status(), 200);
    assert!(!refused.is_finished(), "the health check was answered while the refusal was held");
    let refused = refused.await.unwrap().unwrap();
    assert_eq!(refused.status(), 429);
    assert!(started.elapsed() >= std::time::Duration::from_secs(1), "held {:?}", started.elapsed());
    app.stop().await;
}
