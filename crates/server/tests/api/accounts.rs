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
