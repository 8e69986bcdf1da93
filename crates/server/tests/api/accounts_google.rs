//! Checklist 11: sign in with Google against a fake provider that speaks
//! the real OpenID Connect protocol, on SQLite and PostgreSQL.

use cbt_oidc::test_provider::{FakeIdentity, Fault};
use cbt_testkit::TestDatabase;
use cbt_testkit::accounts::{PASSWORD, app_with_google, new_client};
use sqlx::Connection;

async fn google_subject(app: &cbt_testkit::TestApp, email: &str) -> Option<String> {
    let sql = "SELECT google_subject FROM accounts WHERE email_normalized = $1";
    if app.db.is_postgres() {
        let mut c = sqlx::PgConnection::connect(&app.db.url).await.unwrap();
        sqlx::query_scalar(sql).bind(email).fetch_one(&mut c).await.unwrap()
    } else {
        let mut c = sqlx::SqliteConnection::connect(&app.db.url).await.unwrap();
        sqlx::query_scalar(sql).bind(email).fetch_one(&mut c).await.unwrap()
    }
}

/// A verified Google address links to the account with that email, once;
/// later sign-ins go by the Google subject.
async fn links_by_verified_email_then_by_subject(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let (app, google) = app_with_google(db).await;
    app.verified_account("jane@example.org").await;
    google.set_identity(FakeIdentity::verified("google-sub-jane", "Jane@Example.org"));
    let client = new_client();
    let r = app.sign_in_with_google(&client).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/dashboard");
    assert_eq!(client.get(app.url("/dashboard")).send().await.unwrap().status(), 200);
    assert_eq!(google_subject(&app, "jane@example.org").await.as_deref(), Some("google-sub-jane"));

    // Google now reports another address: the subject still decides.
    google.set_identity(FakeIdentity::verified("google-sub-jane", "jane.new@example.org"));
    let again = new_client();
    assert_eq!(app.sign_in_with_google(&again).await.headers()["location"], "/dashboard");

    // Another Google account with Jane's address cannot take it over.
    google.set_identity(FakeIdentity::verified("google-sub-mallory", "jane@example.org"));
    let mallory = new_client();
    let r = app.sign_in_with_google(&mallory).await;
    assert_eq!(r.status(), 403);
    assert_eq!(mallory.get(app.url("/dashboard")).send().await.unwrap().status(), 303);
    app.stop().await;
}

/// An unverified or unknown Google address opens nothing.
async fn unverified_or_unknown_addresses_are_refused(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let (app, google) = app_with_google(db).await;
    app.verified_account("kim@example.org").await;
    google.set_identity(FakeIdentity {
        subject: "google-sub-kim".into(),
        email: Some("kim@example.org".into()),
        email_verified: Some(false),
    });
    let client = new_client();
    assert_eq!(app.sign_in_with_google(&client).await.status(), 403);
    assert_eq!(google_subject(&app, "kim@example.org").await, None, "not linked");
    google.set_identity(FakeIdentity::verified("google-sub-nobody", "nobody@example.org"));
    assert_eq!(app.sign_in_with_google(&client).await.status(), 403);
    assert_eq!(client.get(app.url("/dashboard")).send().await.unwrap().status(), 303);
    app.stop().await;
}

/// A wrong state, a token with the wrong nonce or signature, or a callback
/// in a browser that did not start the sign-in are all refused.
async fn tampered_answers_are_refused(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let (app, google) = app_with_google(db).await;
    app.verified_account("lee@example.org").await;
    google.set_identity(FakeIdentity::verified("google-sub-lee", "lee@example.org"));

    let client = new_client();
    let r = app.submit(&client, "/login", "/auth/google", &[]).await;
    let authorize = r.headers()["location"].to_str().unwrap().to_owned();
    let callback = client.get(&authorize).send().await.unwrap().headers()["location"].to_str().unwrap().to_owned();
    let forged = callback.replace("state=", "state=x");
    assert_eq!(client.get(&forged).send().await.unwrap().status(), 400, "wrong state");
    let stranger = new_client();
    assert_eq!(stranger.get(&callback).send().await.unwrap().status(), 400, "no pending sign-in in this browser");

    for fault in [Fault::WrongNonce, Fault::WrongSignature, Fault::Expired, Fault::WrongAudience] {
        google.set_fault(fault);
        let c = new_client();
        assert_eq!(app.sign_in_with_google(&c).await.status(), 400, "{fault:?}");
        assert_eq!(c.get(app.url("/dashboard")).send().await.unwrap().status(), 303);
    }
    google.set_fault(None);
    let c = new_client();
    assert_eq!(app.sign_in_with_google(&c).await.headers()["location"], "/dashboard");
    app.stop().await;
}

/// Google does not replace the second step.
async fn two_step_sign_in_still_applies(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let (app, google) = app_with_google(db).await;
    let client = app.verified_account("mfa.google@example.org").await;
    app.enable_mfa(&client).await;
    google.set_identity(FakeIdentity::verified("google-sub-mfa", "mfa.google@example.org"));
    let fresh = new_client();
    let r = app.sign_in_with_google(&fresh).await;
    assert_eq!(r.headers()["location"], "/login/mfa");
    assert_eq!(fresh.get(app.url("/dashboard")).send().await.unwrap().status(), 303);
    let _ = PASSWORD;
    app.stop().await;
}

on_both_backends! {
    checklist_11_google_links_by_verified_email_then_by_subject => links_by_verified_email_then_by_subject;
    checklist_11_unverified_or_unknown_google_addresses_are_refused => unverified_or_unknown_addresses_are_refused;
    checklist_11_wrong_state_nonce_signature_or_browser_are_refused => tampered_answers_are_refused;
    checklist_11_google_sign_in_still_asks_for_the_totp_code => two_step_sign_in_still_applies;
}
