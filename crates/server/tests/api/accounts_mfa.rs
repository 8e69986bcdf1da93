//! Checklist 10: two-step sign-in with TOTP, on SQLite and PostgreSQL.

use cbt_ports::Clock;
use cbt_testkit::accounts::{PASSWORD, new_client, totp_code};
use cbt_testkit::{TestApp, TestDatabase};
use sqlx::Connection;
use time::Duration;

async fn audit_count(app: &TestApp, action: &str) -> i64 {
    let sql = "SELECT count(*) FROM audit_events WHERE action = $1";
    if app.db.is_postgres() {
        let mut c = sqlx::PgConnection::connect(&app.db.url).await.unwrap();
        sqlx::query_scalar(sql).bind(action).fetch_one(&mut c).await.unwrap()
    } else {
        let mut c = sqlx::SqliteConnection::connect(&app.db.url).await.unwrap();
        sqlx::query_scalar(sql).bind(action).fetch_one(&mut c).await.unwrap()
    }
}

/// Enrolment, then a sign-in that needs a code: a wrong code is refused, a
/// right one signs in, the same code never works twice, and each of the
/// ten recovery codes works once.
async fn totp_enrolment_sign_in_replay_and_recovery(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let app = TestApp::spawn(db).await;
    let email = "mfa@example.org";
    let client = app.verified_account(email).await;
    let (secret, codes) = app.enable_mfa(&client).await;
    assert_eq!(codes.len(), 10, "ten recovery codes");
    assert_eq!(audit_count(&app, "auth.mfa_enable").await, 1);

    // The password alone no longer signs in.
    let fresh = new_client();
    let r = app.sign_in(&fresh, email, PASSWORD).await;
    assert_eq!(r.headers()["location"], "/login/mfa");
    assert_eq!(fresh.get(app.url("/dashboard")).send().await.unwrap().status(), 303, "not signed in yet");
    let r = app.submit(&fresh, "/login/mfa", "/login/mfa", &[("code", "000000")]).await;
    assert_eq!(r.status(), 422);
    // The enrolment code's step was used; the next step's code works.
    app.clock.advance(Duration::seconds(30));
    let code = totp_code(&secret, app.clock.now().unix_timestamp());
    let r = app.submit(&fresh, "/login/mfa", "/login/mfa", &[("code", &code)]).await;
    assert_eq!(r.headers()["location"], "/dashboard");
    assert_eq!(fresh.get(app.url("/dashboard")).send().await.unwrap().status(), 200);

    // Replay: the same code (same step) is refused on another sign-in.
    let replay = new_client();
    app.sign_in(&replay, email, PASSWORD).await;
    let r = app.submit(&replay, "/login/mfa", "/login/mfa", &[("code", &code)]).await;
    assert_eq!(r.status(), 422, "a code is accepted once");

    // A recovery code works once.
    let r = app.submit(&replay, "/login/mfa", "/login/mfa", &[("code", &codes[3])]).await;
    assert_eq!(r.headers()["location"], "/dashboard");
    let again = new_client();
    app.sign_in(&again, email, PASSWORD).await;
    let r = app.submit(&again, "/login/mfa", "/login/mfa", &[("code", &codes[3])]).await;
    assert_eq!(r.status(), 422, "recovery codes are single-use");
    assert_eq!(audit_count(&app, "auth.mfa_recovery_code").await, 1);
    app.stop().await;
}

/// Turning TOTP off needs the password.
async fn disabling_needs_the_password(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let app = TestApp::spawn(db).await;
    let client = app.verified_account("off@example.org").await;
    app.enable_mfa(&client).await;
    let r = app.submit(&client, "/account/mfa", "/account/mfa/disable", &[("password", "Wrong-password-1")]).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("The password is not correct."));
    let r = app.submit(&client, "/account/mfa", "/account/mfa/disable", &[("password", PASSWORD)]).await;
    assert_eq!(r.status(), 303);
    let fresh = new_client();
    let r = app.sign_in(&fresh, "off@example.org", PASSWORD).await;
    assert_eq!(r.headers()["location"], "/dashboard", "password alone signs in again");
    assert_eq!(audit_count(&app, "auth.mfa_disable").await, 1);
    app.stop().await;
}

/// Enabling TOTP is a privilege change: the session gets a new token.
async fn enabling_mfa_renews_the_session_token(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let app = TestApp::spawn(db).await;
    let client = app.verified_account("renew@example.org").await;
    let r = app.submit(&client, "/account/mfa", "/account/mfa/setup", &[]).await;
    assert_eq!(r.status(), 303);
    let html = client.get(app.url("/account/mfa")).send().await.unwrap().text().await.unwrap();
    let secret = cbt_testkit::accounts::element_text(&html, "totp-secret");
    let code = totp_code(&secret, app.clock.now().unix_timestamp());
    let r = app.submit(&client, "/account/mfa", "/account/mfa/enable", &[("code", &code)]).await;
    let set_cookie =
        r.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect::<Vec<_>>();
    assert!(set_cookie.iter().any(|c| c.starts_with("cbt_session=")), "{set_cookie:?}");
    assert_eq!(client.get(app.url("/dashboard")).send().await.unwrap().status(), 200, "still signed in");
    app.stop().await;
}

/// With `CBT_REQUIRE_MFA`, an account without TOTP is sent to set it up.
async fn deployment_can_require_mfa(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let app = TestApp::spawn_with(db, |s| s.require_mfa = true).await;
    let client = app.verified_account("must@example.org").await;
    let r = client.get(app.url("/dashboard")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/account/mfa?notice=required");
    app.enable_mfa(&client).await;
    assert_eq!(client.get(app.url("/dashboard")).send().await.unwrap().status(), 200);
    let html = client.get(app.url("/account/mfa")).send().await.unwrap().text().await.unwrap();
    assert!(!html.contains("/account/mfa/disable"), "cannot be turned off when required");
    app.stop().await;
}

on_both_backends! {
    checklist_10_totp_enrolment_sign_in_replay_and_recovery_codes => totp_enrolment_sign_in_replay_and_recovery;
    checklist_10_disabling_mfa_needs_the_password => disabling_needs_the_password;
    checklist_12_enabling_mfa_renews_the_session_token => enabling_mfa_renews_the_session_token;
    checklist_10_deployment_setting_requires_mfa => deployment_can_require_mfa;
}
