//! Checklist A and B (items 1-9, 12-18) over HTTP, each case on SQLite and
//! PostgreSQL. Time rules move the injected clock to one second before and
//! after their boundary.

use cbt_testkit::accounts::{PASSWORD, client_from, csrf_token, new_client};
use cbt_testkit::{TestApp, TestDatabase};
use sqlx::Connection;
use time::Duration;

/// Runs a query returning one scalar on the app's database.
async fn scalar<T>(app: &TestApp, sql: &'static str, bind: &str) -> T
where
    T: Send + Unpin + for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
    T: for<'r> sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
{
    if app.db.is_postgres() {
        let mut c = sqlx::PgConnection::connect(&app.db.url).await.unwrap();
        sqlx::query_scalar(sql).bind(bind).fetch_one(&mut c).await.unwrap()
    } else {
        let mut c = sqlx::SqliteConnection::connect(&app.db.url).await.unwrap();
        sqlx::query_scalar(sql).bind(bind).fetch_one(&mut c).await.unwrap()
    }
}

async fn audit_count(app: &TestApp, action: &'static str, outcome: &str) -> i64 {
    match action {
        "auth.sign_in" => {
            scalar(app, "SELECT count(*) FROM audit_events WHERE action = 'auth.sign_in' AND outcome = $1", outcome)
                .await
        }
        "auth.rate_limited" => {
            scalar(
                app,
                "SELECT count(*) FROM audit_events WHERE action = 'auth.rate_limited' AND outcome = $1",
                outcome,
            )
            .await
        }
        "auth.sign_out" => {
            scalar(app, "SELECT count(*) FROM audit_events WHERE action = 'auth.sign_out' AND outcome = $1", outcome)
                .await
        }
        "auth.password_change" => {
            scalar(
                app,
                "SELECT count(*) FROM audit_events WHERE action = 'auth.password_change' AND outcome = $1",
                outcome,
            )
            .await
        }
        "auth.password_reset" => {
            scalar(
                app,
                "SELECT count(*) FROM audit_events WHERE action = 'auth.password_reset' AND outcome = $1",
                outcome,
            )
            .await
        }
        _ => {
            scalar(
                app,
                "SELECT count(*) FROM audit_events WHERE action = 'auth.session_revoke' AND outcome = $1",
                outcome,
            )
            .await
        }
    }
}

/// The text of a page without the parts that differ per request.
fn stable(html: &str) -> String {
    html.lines().filter(|l| !l.contains("csrf_token") && !l.contains("Reference:")).collect::<Vec<_>>().join("\n")
}

fn cookie_names(r: &reqwest::Response) -> Vec<String> {
    r.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect()
}

/// 1: every broken rule is named, the other fields are kept, the password
/// is never sent back; long passwords count in full.
async fn password_policy_through_the_form(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let app = TestApp::spawn(db).await;
    let client = new_client();
    let r = app.sign_up(&client, "kqv@example.org", "kqvab").await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    for rule in ["at least 8 characters", "3 of these 4", "must not contain your email name"] {
        assert!(html.contains(rule), "{rule} not named: {html}");
    }
    assert!(html.contains("value=\"kqv@example.org\"") && html.contains("value=\"LPC 4711\""), "fields kept");
    assert!(!html.contains("kqvab"), "the password is not sent back");
    let r = app.sign_up(&client, "pat@example.org", "Password1!").await;
    assert!(r.text().await.unwrap().contains("most common passwords"));

    let long = format!("Aa1!{}", "ü".repeat(60));
    let r = app.sign_up(&client, "long@example.org", &long).await;
    assert_eq!(r.status(), 200, "64 characters accepted");
    let c = new_client();
    assert_eq!(app.sign_in(&c, "long@example.org", &long).await.status(), 303);
    let other = format!("{}x", &long[..long.len() - 2]);
    assert_eq!(app.sign_in(&new_client(), "long@example.org", &other).await.status(), 401, "the last bytes count");
    app.stop().await;
}

/// 2: bcrypt `$2b$` at the configured cost; a lower-cost hash is upgraded
/// at the next successful sign-in.
async fn bcrypt_cost_and_upgrade(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let app = TestApp::spawn(db).await;
    app.sign_up(&new_client(), "cost@example.org", PASSWORD).await;
    let hash: String =
        scalar(&app, "SELECT password_hash FROM accounts WHERE email_normalized = $1", "cost@example.org").await;
    assert!(hash.starts_with("$2b$04$"), "{hash}");
    let app = app.restart_with(|s| s.password_hash_cost = 5).await;
    assert_eq!(app.sign_in(&new_client(), "cost@example.org", PASSWORD).await.status(), 303);
    let hash: String =
        scalar(&app, "SELECT password_hash FROM accounts WHERE email_normalized = $1", "cost@example.org").await;
    assert!(hash.starts_with("$2b$05$"), "upgraded: {hash}");
    app.stop().await;
}

/// 3 and 4: one answer for unknown email and wrong password; the eighth
/// attempt on an account is refused with 429 and Retry-After, even with the
/// right password and whatever the case of the address; the lockout holds
/// after a restart and ends at its boundary.
async fn generic_failures_and_account_lockout(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let app = TestApp::spawn(db).await;
    app.sign_up(&new_client(), "lock@example.org", PASSWORD).await;
    let unknown = app.sign_in(&client_from("127.0.1.1"), "nobody@example.org", "Wrong-pass-1").await;
    assert_eq!(unknown.status(), 401);
    let unknown = stable(&unknown.text().await.unwrap()).replace("nobody@example.org", "");
    let wrong = app.sign_in(&client_from("127.0.1.2"), "lock@example.org", "Wrong-pass-1").await;
    assert_eq!(wrong.status(), 401);
    let wrong = stable(&wrong.text().await.unwrap()).replace("lock@example.org", "");
    assert_eq!(unknown, wrong, "the same page");
    assert!(wrong.contains("Invalid email or password."));

    // Six more failures (seven in all), in any letter case, each from its
    // own address so only the account's limit applies.
    for i in 0..6 {
        let c = client_from(&format!("127.0.1.{}", 10 + i));
        assert_eq!(app.sign_in(&c, "LOCK@Example.org", "Wrong-pass-1").await.status(), 401);
    }
    let r = app.sign_in(&client_from("127.0.1.30"), "lock@example.org", PASSWORD).await;
    assert_eq!(r.status(), 429, "locked even with the right password");
    assert!(r.headers().get("retry-after").is_some());
    assert!(r.text().await.unwrap().contains("Try again after"));
    assert!(audit_count(&app, "auth.rate_limited", "denied").await >= 1);
    assert!(audit_count(&app, "auth.sign_in", "failure").await >= 7);

    let app = app.restart_with(|_| {}).await;
    let from = |n: u8| client_from(&format!("127.0.2.{n}"));
    assert_eq!(app.sign_in(&from(1), "lock@example.org", PASSWORD).await.status(), 429, "after a restart");
    app.clock.advance(Duration::minutes(15) - Duration::seconds(1));
    assert_eq!(app.sign_in(&from(2), "lock@example.org", PASSWORD).await.status(), 429, "1 s before the end");
    app.clock.advance(Duration::seconds(1));
    assert_eq!(app.sign_in(&from(3), "lock@example.org", PASSWORD).await.status(), 303, "at the end");
    app.stop().await;
}

/// 4 and 5: per-IP limits: sign-in across different accounts, sign-up, and
/// password reset per address.
async fn per_ip_and_per_address_limits(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let app = TestApp::spawn(db).await;
    for i in 0..7 {
        assert_eq!(app.sign_in(&new_client(), &format!("user{i}@example.org"), "Wrong-pass-1").await.status(), 401);
    }
    assert_eq!(app.sign_in(&new_client(), "user9@example.org", "Wrong-pass-1").await.status(), 429, "per IP");

    for i in 0..5 {
        assert_eq!(app.sign_up(&new_client(), &format!("new{i}@example.org"), PASSWORD).await.status(), 200);
    }
    assert_eq!(app.sign_up(&new_client(), "new9@example.org", PASSWORD).await.status(), 429, "sign-up per IP");

    let app = app.restart_with(|_| {}).await;
    app.clock.advance(Duration::minutes(30));
    for _ in 0..5 {
        let r =
            app.submit(&new_client(), "/password/forgot", "/password/forgot", &[("email", "new0@example.org")]).await;
        assert_eq!(r.status(), 200);
    }
    let r = app.submit(&new_client(), "/password/forgot", "/password/forgot", &[("email", "NEW0@example.org")]).await;
    assert_eq!(r.status(), 429, "reset per address");
    app.stop().await;
}

/// 6: sign-up and reset answer the same for known and unknown addresses;
/// the owner of a known one gets a mail.
async fn no_account_enumeration(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let app = TestApp::spawn(db).await;
    let first = app.sign_up(&new_client(), "taken@example.org", PASSWORD).await;
    let first = (first.status(), stable(&first.text().await.unwrap()));
    let again = app.sign_up(&new_client(), "taken@example.org", "Another-pass-7").await;
    assert_eq!((again.status(), stable(&again.text().await.unwrap())), first, "sign-up: same answer");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !app
        .mails_to("taken@example.org")
        .iter()
        .any(|m| m.subject().unwrap_or_default().contains("tried to sign up"))
    {
        assert!(std::time::Instant::now() < deadline, "the owner is told");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let known =
        app.submit(&new_client(), "/password/forgot", "/password/forgot", &[("email", "taken@example.org")]).await;
    let unknown =
        app.submit(&new_client(), "/password/forgot", "/password/forgot", &[("email", "free@example.org")]).await;
    assert_eq!(known.status(), unknown.status());
    assert_eq!(stable(&known.text().await.unwrap()), stable(&unknown.text().await.unwrap()), "reset: same answer");
    app.stop().await;
}

/// 7: the verification link works once, expires at 24 h, and rejects any
/// change to it.
async fn verification_links(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let app = TestApp::spawn(db).await;
    app.sign_up(&new_client(), "v1@example.org", PASSWORD).await;
    let link = app.link_in_mail("v1@example.org", "/verify-email").await;
    let tampered = format!("{}x", link);
    assert_eq!(new_client().get(&tampered).send().await.unwrap().status(), 400, "altered");
    assert_eq!(new_client().get(&link).send().await.unwrap().status(), 200);
    assert_eq!(new_client().get(&link).send().await.unwrap().status(), 400, "single use");

    app.sign_up(&new_client(), "v2@example.org", PASSWORD).await;
    let link = app.link_in_mail("v2@example.org", "/verify-email").await;
    app.clock.advance(Duration::hours(24) - Duration::seconds(1));
    app.sign_up(&new_client(), "v3@example.org", PASSWORD).await;
    let link3 = app.link_in_mail("v3@example.org", "/verify-email").await;
    assert_eq!(new_client().get(&link).send().await.unwrap().status(), 200, "1 s before expiry");
    app.clock.advance(Duration::hours(24));
    assert_eq!(new_client().get(&link3).send().await.unwrap().status(), 400, "expired");
    let verified: i64 = scalar(
        &app,
        "SELECT count(*) FROM accounts WHERE email_verified_at IS NOT NULL AND email_normalized <> $1",
        "",
    )
    .await;
    assert_eq!(verified, 2);
    app.stop().await;
}

/// 8 and 17: a reset link works once, for 30 minutes, not after a password
/// change; using it ends every session and mails the owner.
async fn password_reset(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let app = TestApp::spawn(db).await;
    let signed_in = app.verified_account("reset@example.org").await;
    let asker = new_client();
    let ask = || app.submit(&asker, "/password/forgot", "/password/forgot", &[("email", "reset@example.org")]);
    ask().await;
    let link = app.link_in_mail("reset@example.org", "/password/reset").await;
    let token = link.split("token=").nth(1).unwrap().to_owned();
    app.clock.advance(Duration::minutes(30) - Duration::seconds(1));
    let client = new_client();
    let r = app
        .submit(
            &client,
            &format!("/password/reset?token={token}"),
            "/password/reset",
            &[("token", &token), ("password", "short")],
        )
        .await;
    assert_eq!(r.status(), 422, "a rejected password keeps the link");
    let r = app
        .submit(
            &client,
            &format!("/password/reset?token={token}"),
            "/password/reset",
            &[("token", &token), ("password", "New-harbour-2025")],
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(signed_in.get(app.url("/dashboard")).send().await.unwrap().status(), 303, "every session ended");
    let r = app
        .submit(&client, "/login", "/password/reset", &[("token", &token), ("password", "Other-harbour-2026")])
        .await;
    assert_eq!(r.status(), 400, "single use");
    assert_eq!(app.sign_in(&new_client(), "reset@example.org", "New-harbour-2025").await.status(), 303);
    assert!(
        app.mails_to("reset@example.org").iter().any(|m| m.subject().unwrap_or_default().contains("was reset")) || {
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            app.mails_to("reset@example.org").iter().any(|m| m.subject().unwrap_or_default().contains("was reset"))
        }
    );
    assert_eq!(audit_count(&app, "auth.password_reset", "success").await, 1);

    // Expiry at 30 minutes.
    ask().await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let link = app.link_in_mail("reset@example.org", "/password/reset").await;
    let token = link.split("token=").nth(1).unwrap().to_owned();
    app.clock.advance(Duration::minutes(30));
    let r = app
        .submit(&new_client(), "/login", "/password/reset", &[("token", &token), ("password", "Late-harbour-2027")])
        .await;
    assert_eq!(r.status(), 400, "expired at 30 minutes");

    // A password change voids an outstanding link.
    let me = new_client();
    app.sign_in(&me, "reset@example.org", "New-harbour-2025").await;
    ask().await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let link = app.link_in_mail("reset@example.org", "/password/reset").await;
    let token = link.split("token=").nth(1).unwrap().to_owned();
    let r = app
        .submit(
            &me,
            "/account/security",
            "/account/password",
            &[("current_password", "New-harbour-2025"), ("new_password", "Third-harbour-2028")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let r = app
        .submit(&new_client(), "/login", "/password/reset", &[("token", &token), ("password", "Fourth-harbour-2029")])
        .await;
    assert_eq!(r.status(), 400, "void after a password change");
    app.stop().await;
}

/// 9 and 17: changing the password needs the current one, keeps this
/// session, ends the others, and mails the owner.
async fn password_change(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let app = TestApp::spawn(db).await;
    let me = app.verified_account("change@example.org").await;
    let other = new_client();
    app.sign_in(&other, "change@example.org", PASSWORD).await;
    let r = app
        .submit(
            &me,
            "/account/security",
            "/account/password",
            &[("current_password", "Wrong-pass-1"), ("new_password", "New-harbour-2025")],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("The current password is not correct."));
    let r = app
        .submit(
            &me,
            "/account/security",
            "/account/password",
            &[("current_password", PASSWORD), ("new_password", "New-harbour-2025")],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(me.get(app.url("/dashboard")).send().await.unwrap().status(), 200, "this session stays");
    assert_eq!(other.get(app.url("/dashboard")).send().await.unwrap().status(), 303, "the other ends");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(app.mails_to("change@example.org").iter().any(|m| m.subject().unwrap_or_default().contains("was changed")));
    assert_eq!(audit_count(&app, "auth.password_change", "success").await, 1);
    assert_eq!(audit_count(&app, "auth.password_change", "failure").await, 1);
    app.stop().await;
}

/// 12 and 13: the database holds only the SHA-256 of the session cookie;
/// each sign-in gets a new token; the cookie's attributes.
async fn session_tokens_and_cookies(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let app = TestApp::spawn(db).await;
    app.sign_up(&new_client(), "tok@example.org", PASSWORD).await;
    let client = new_client();
    let r = app.sign_in(&client, "tok@example.org", PASSWORD).await;
    let cookie = cookie_names(&r).into_iter().find(|c| c.starts_with("cbt_session=")).unwrap();
    assert!(cookie.ends_with("; HttpOnly; SameSite=Lax; Path=/"), "{cookie}");
    assert!(!cookie.contains("Domain"));
    let token = cookie.trim_start_matches("cbt_session=").split(';').next().unwrap().to_owned();
    assert!(token.len() >= 43, "256 bits");
    let sha = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    let hex: String = sha.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    let stored: i64 = if app.db.is_postgres() {
        scalar(&app, "SELECT count(*) FROM sessions WHERE encode(token_hash, 'hex') = $1", &hex).await
    } else {
        scalar(&app, "SELECT count(*) FROM sessions WHERE lower(hex(token_hash)) = $1", &hex).await
    };
    assert_eq!(stored, 1, "stored as its SHA-256");
    let raw: i64 = if app.db.is_postgres() {
        scalar(&app, "SELECT count(*) FROM sessions WHERE encode(token_hash, 'escape') LIKE '%' || $1 || '%'", &token)
            .await
    } else {
        scalar(&app, "SELECT count(*) FROM sessions WHERE instr(CAST(token_hash AS TEXT), $1) > 0", &token).await
    };
    assert_eq!(raw, 0, "never the token itself");

    let r = app.sign_in(&new_client(), "tok@example.org", PASSWORD).await;
    let second = cookie_names(&r).into_iter().find(|c| c.starts_with("cbt_session=")).unwrap();
    assert_ne!(second, cookie, "a new token at every sign-in");

    // A token planted before sign-in is not adopted.
    let planted = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let html = planted.get(app.url("/login")).send().await.unwrap();
    let csrf = cookie_names(&html).into_iter().find(|c| c.starts_with("cbt_csrf=")).unwrap();
    let csrf = csrf.trim_start_matches("cbt_csrf=").split(';').next().unwrap().to_owned();
    let form_token = csrf_token(&html.text().await.unwrap());
    let r = planted
        .post(app.url("/login"))
        .header("cookie", format!("cbt_csrf={csrf}; cbt_session=planted-by-attacker-000000000000000000000"))
        .form(&[("email", "tok@example.org"), ("password", PASSWORD), ("csrf_token", form_token.as_str())])
        .send()
        .await
        .unwrap();
    let issued = cookie_names(&r).into_iter().find(|c| c.starts_with("cbt_session=")).unwrap();
    assert!(!issued.contains("planted-by-attacker"), "no fixation");

    let secure = TestApp::spawn_with(TestDatabase::sqlite(), |s| s.public_url = "https://cbt.example.org".into()).await;
    let r = secure.client.get(secure.url("/login")).send().await.unwrap();
    let csrf_cookie = cookie_names(&r).into_iter().find(|c| c.contains("cbt_csrf=")).unwrap();
    assert!(csrf_cookie.starts_with("__Host-cbt_csrf="), "{csrf_cookie}");
    assert!(csrf_cookie.ends_with("; HttpOnly; SameSite=Lax; Path=/; Secure"), "{csrf_cookie}");
    secure.stop().await;
    app.stop().await;
}

/// 14: idle timeout at 60 minutes and absolute expiry at 12 hours, through
/// HTTP with the injected clock.
async fn session_timeouts(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let app = TestApp::spawn(db).await;
    let idle = app.verified_account("idle@example.org").await;
    app.clock.advance(Duration::minutes(60) - Duration::seconds(1));
    assert_eq!(idle.get(app.url("/dashboard")).send().await.unwrap().status(), 200, "59:59 idle");
    app.clock.advance(Duration::minutes(60));
    assert_eq!(idle.get(app.url("/dashboard")).send().await.unwrap().status(), 303, "60:00 idle");

    let active = new_client();
    app.sign_in(&active, "idle@example.org", PASSWORD).await;
    for _ in 0..12 {
        app.clock.advance(Duration::minutes(59));
        assert_eq!(active.get(app.url("/dashboard")).send().await.unwrap().status(), 200);
    }
    // 11 h 48 min so far; 12 h minus 1 s, then 12 h.
    app.clock.advance(Duration::minutes(12) - Duration::seconds(1));
    assert_eq!(active.get(app.url("/dashboard")).send().await.unwrap().status(), 200, "11:59:59");
    app.clock.advance(Duration::seconds(1));
    assert_eq!(active.get(app.url("/dashboard")).send().await.unwrap().status(), 303, "12:00:00 even when active");
    app.stop().await;
}

/// 15 and 16: a sixth sign-in ends the oldest session and says so; the
/// sessions page lists device and IP and revokes; sign-out deletes the row.
async fn session_limit_list_and_revocation(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let app = TestApp::spawn(db).await;
    app.sign_up(&new_client(), "many@example.org", PASSWORD).await;
    let mut clients = Vec::new();
    for _ in 0..5 {
        let c = new_client();
        assert_eq!(app.sign_in(&c, "many@example.org", PASSWORD).await.headers()["location"], "/dashboard");
        app.clock.advance(Duration::seconds(1));
        clients.push(c);
    }
    let sixth = new_client();
    let r = app.sign_in(&sixth, "many@example.org", PASSWORD).await;
    assert_eq!(r.headers()["location"], "/dashboard?notice=oldest-session-ended");
    let page = sixth.get(app.url("/dashboard?notice=oldest-session-ended")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("your oldest session was signed out"));
    assert_eq!(clients[0].get(app.url("/dashboard")).send().await.unwrap().status(), 303, "the oldest ended");
    assert_eq!(clients[1].get(app.url("/dashboard")).send().await.unwrap().status(), 200);

    let page = sixth.get(app.url("/account/security")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Firefox on Linux") && page.contains("127.0.0.1"), "device and IP listed");
    assert_eq!(page.matches("/revoke\"").count(), 5, "five sessions listed");
    let id = page
        .split("/account/sessions/")
        .filter_map(|s| s.split('/').next())
        .find(|s| s.len() == 36)
        .unwrap()
        .to_owned();
    let r = app.submit(&sixth, "/account/security", "/account/sessions/revoke-others", &[]).await;
    assert_eq!(r.status(), 303);
    for c in &clients[1..] {
        assert_eq!(c.get(app.url("/dashboard")).send().await.unwrap().status(), 303);
    }
    let r = app.submit(&sixth, "/account/security", &format!("/account/sessions/{id}/revoke"), &[]).await;
    assert!(r.status() == 303 || r.status() == 404);
    let before: i64 = scalar(&app, "SELECT count(*) FROM sessions WHERE stage = $1", "full").await;
    let signed = new_client();
    app.sign_in(&signed, "many@example.org", PASSWORD).await;
    app.submit(&signed, "/dashboard", "/logout", &[]).await;
    let after: i64 = scalar(&app, "SELECT count(*) FROM sessions WHERE stage = $1", "full").await;
    assert_eq!(after, before, "sign-out deleted the server-side session");
    assert_eq!(audit_count(&app, "auth.sign_out", "success").await, 1);
    assert!(audit_count(&app, "auth.session_revoke", "success").await >= 2);
    app.stop().await;
}

/// 18: state-changing requests without the token, with a wrong one, with
/// another session's, or from another site are refused with 403; GET never
/// changes state; no CORS headers for a foreign origin.
async fn csrf(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let app = TestApp::spawn(db).await;
    let ann = app.verified_account("csrf.ann@example.org").await;
    let bob = app.verified_account("csrf.bob@example.org").await;
    let bob_token = csrf_token(&bob.get(app.url("/account/security")).send().await.unwrap().text().await.unwrap());
    let revoke = app.url("/account/sessions/revoke-others");
    let r = ann.post(&revoke).form(&[("x", "1")]).send().await.unwrap();
    assert_eq!(r.status(), 403, "no token");
    let r = ann.post(&revoke).form(&[("csrf_token", "wrong")]).send().await.unwrap();
    assert_eq!(r.status(), 403, "wrong token");
    let r = ann.post(&revoke).form(&[("csrf_token", bob_token.as_str())]).send().await.unwrap();
    assert_eq!(r.status(), 403, "another session's token");
    let own = csrf_token(&ann.get(app.url("/account/security")).send().await.unwrap().text().await.unwrap());
    let r = ann
        .post(&revoke)
        .header("origin", "https://evil.example")
        .form(&[("csrf_token", own.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "foreign Origin");
    assert!(r.headers().get("access-control-allow-origin").is_none());
    let r = ann
        .post(&revoke)
        .header("sec-fetch-site", "cross-site")
        .form(&[("csrf_token", own.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "cross-site fetch");
    assert!(r.text().await.unwrap().contains("sent from another site"));
    let r = ann.get(&revoke).send().await.unwrap();
    assert_eq!(r.status(), 405, "GET does not change state");
    let r = ann.post(&revoke).header("x-csrf-token", own.as_str()).send().await.unwrap();
    assert_eq!(r.status(), 303, "the header works for scripts");
    app.stop().await;
}

on_both_backends! {
    checklist_1_password_policy_names_each_rule_and_keeps_the_form => password_policy_through_the_form;
    checklist_2_bcrypt_cost_is_applied_and_upgraded_at_sign_in => bcrypt_cost_and_upgrade;
    checklist_3_4_generic_failures_and_account_lockout => generic_failures_and_account_lockout;
    checklist_4_5_per_ip_and_per_address_limits => per_ip_and_per_address_limits;
    checklist_6_sign_up_and_reset_do_not_reveal_accounts => no_account_enumeration;
    checklist_7_verification_links_are_single_use_and_expire => verification_links;
    checklist_8_17_reset_links_single_use_30_minutes_void_after_change => password_reset;
    checklist_9_17_password_change_needs_current_and_ends_other_sessions => password_change;
    checklist_12_13_only_token_hashes_stored_new_token_each_sign_in => session_tokens_and_cookies;
    checklist_14_idle_and_absolute_session_timeouts => session_timeouts;
    checklist_15_16_session_limit_list_and_revocation => session_limit_list_and_revocation;
    checklist_18_csrf_checks_on_every_state_change => csrf;
}
