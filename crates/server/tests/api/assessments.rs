//! Assessments over HTTP: recurring questionnaires sent by the job runner
//! (once per period, never twice, none once stopped), client links that
//! keep a rejected answer and stay usable, and the per-IP limit on links;
//! on SQLite and PostgreSQL.

use cbt_ports::Clock;
use cbt_testkit::accounts::new_client;
use cbt_testkit::{TestApp, TestDatabase};
use serde_json::{Value, json};

async fn post_json(app: &TestApp, token: &str, path: &str, body: Value) -> Value {
    let r = reqwest::Client::new().post(app.url(path)).bearer_auth(token).json(&body).send().await.unwrap();
    r.json().await.unwrap()
}

async fn get_json(app: &TestApp, token: &str, path: &str) -> Value {
    reqwest::Client::new().get(app.url(path)).bearer_auth(token).send().await.unwrap().json().await.unwrap()
}

/// A verified therapist with a client who has an email address, over the
/// pages (cookies) and the API (token).
async fn therapist_with_client(app: &TestApp, email: &str, client_email: &str) -> (reqwest::Client, String, String) {
    let web = app.verified_account(email).await;
    let token = app.create_access_token(&web, "tests", "30").await;
    let created =
        post_json(app, &token, "/api/v1/clients", json!({"full_name": "Sam Scheduled", "email": client_email})).await;
    (web, token, created["id"].as_str().unwrap().to_owned())
}

fn links_to(app: &TestApp, to: &str) -> usize {
    app.mails_to(to).iter().filter(|m| m.data.contains("/questionnaire?token=")).count()
}

async fn recurring_questionnaires(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let app = TestApp::spawn(db).await;
    let (web, _, client) = therapist_with_client(&app, "sched@example.org", "sam@example.net").await;
    let page = format!("/clients/{client}/assessments");
    let today = app.clock.now().date().to_string();

    // A bad interval names its field and keeps what was typed.
    let r = app
        .submit(
            &web,
            &page,
            &format!("/clients/{client}/schedules"),
            &[("instrument", "phq-9"), ("every_days", "0"), ("first_on", &today)],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("every_days-error") && html.contains("Repeat every 1 to 365 days."), "{html}");

    let r = app
        .submit(
            &web,
            &page,
            &format!("/clients/{client}/schedules"),
            &[("instrument", "phq-9"), ("every_days", "14"), ("first_on", &today)],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(app.app.run_due_schedules().await.unwrap(), 1, "the first is due at once");
    assert_eq!(app.app.run_due_schedules().await.unwrap(), 0, "and sent once");
    let link = app.link_in_mail("sam@example.net", "/questionnaire").await;
    let opened = new_client().get(&link).send().await.unwrap();
    assert_eq!(opened.status(), 200);
    assert!(opened.text().await.unwrap().contains("Patient Health Questionnaire-9"));

    app.clock.advance(time::Duration::days(13));
    assert_eq!(app.app.run_due_schedules().await.unwrap(), 0, "not due before its period");
    app.clock.advance(time::Duration::days(1));
    assert_eq!(app.app.run_due_schedules().await.unwrap(), 1, "due again after 14 days");
    // Two runners at once (two instances): one sends.
    app.clock.advance(time::Duration::days(14));
    let (a, b) = tokio::join!(app.app.run_due_schedules(), app.app.run_due_schedules());
    assert_eq!(a.unwrap() + b.unwrap(), 1);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while links_to(&app, "sam@example.net") < 3 {
        assert!(std::time::Instant::now() < deadline, "three mails were sent");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    // Stopped: nothing more is sent. (Four weeks on, the therapist signs
    // in again.)
    app.sign_in(&web, "sched@example.org", cbt_testkit::accounts::PASSWORD).await;
    let html = web.get(app.url(&page)).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("PHQ-9 every 14 days"), "listed");
    let schedule = html.split("name=\"schedule\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let r = app.submit(&web, &page, &format!("/clients/{client}/schedules/stop"), &[("schedule", &schedule)]).await;
    assert_eq!(r.status(), 303);
    app.clock.advance(time::Duration::days(30));
    assert_eq!(app.app.run_due_schedules().await.unwrap(), 0);

    let events = app.app.store().audit_entries_after(0, 100_000).await.unwrap();
    let count = |action: &str| events.iter().filter(|e| e.fields.action == action).count();
    assert_eq!(
        (count("schedule.create"), count("schedule.send"), count("schedule.stop")),
        (1, 3, 1),
        "set up, sent three times (by the system), stopped"
    );
    assert!(events.iter().filter(|e| e.fields.action == "schedule.send").all(|e| e.fields.actor_kind == "system"));
    app.stop().await;
}

async fn rejected_answers_keep_the_link(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let app = TestApp::spawn(db).await;
    let (_, token, client) = therapist_with_client(&app, "keep@example.org", "kim@example.net").await;
    let link = json!({"instrument": "gad-7", "delivery": "copy"});
    let sent = post_json(&app, &token, &format!("/api/v1/clients/{client}/links"), link).await;
    let url = sent["url"].as_str().unwrap().to_owned();
    let path = url.trim_start_matches(&app.url(""));
    let secret = path.trim_start_matches("/questionnaire?token=").to_owned();
    let browser = new_client();
    // An answer that is not an option: 422, the other answers kept.
    let r = app.submit(&browser, path, "/questionnaire", &[("token", &secret), ("item.1", "2"), ("item.2", "9")]).await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("Item 2: choose one of the answers offered."), "{html}");
    assert!(html.contains("id=\"item-1-2\" name=\"item.1\" value=\"2\" checked"), "item 1 kept: {html}");
    // Still usable: a whole answer is accepted once.
    let all: Vec<(String, String)> = (1..=7).map(|n| (format!("item.{n}"), "1".to_owned())).collect();
    let mut fields: Vec<(&str, &str)> = all.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    fields.push(("token", &secret));
    let r = app.submit(&browser, path, "/questionnaire", &fields).await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("Thank you"));
    let results = get_json(&app, &token, &format!("/api/v1/clients/{client}/assessments")).await;
    assert_eq!(results["total"], 1);
    assert_eq!(results["items"][0]["points"][0]["points"], 7);
    let again = browser.get(app.url(path)).send().await.unwrap();
    assert_eq!(again.status(), 404, "used once");
    app.stop().await;
}

async fn links_are_rate_limited_per_ip(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let app = TestApp::spawn(db).await;
    let browser = new_client();
    let guess = |i: usize| format!("/questionnaire?token={i:0>43}");
    for i in 0..30 {
        let r = browser.get(app.url(&guess(i))).send().await.unwrap();
        assert_eq!(r.status(), 404, "attempt {}", i + 1);
    }
    let r = browser.get(app.url(&guess(31))).send().await.unwrap();
    assert_eq!(r.status(), 429, "the 31st attempt in 10 minutes");
    let events = app.app.store().audit_entries_after(0, 100_000).await.unwrap();
    assert!(events.iter().any(|e| e.fields.action == "auth.rate_limited"));
    assert_eq!(
        events.iter().filter(|e| e.fields.action == "client_link.open" && e.fields.outcome == "denied").count(),
        30
    );
    app.stop().await;
}

async fn homework_through_a_link(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let app = TestApp::spawn(db).await;
    let (web, token, client) = therapist_with_client(&app, "hw@example.org", "hana@example.net").await;
    let assign = json!({"source": "library:thought_record", "instructions": "After Monday's meeting"});
    let assigned = post_json(&app, &token, &format!("/api/v1/clients/{client}/homework"), assign).await;
    let homework = assigned["id"].as_str().unwrap().to_owned();
    let page = format!("/homework/{homework}");
    let r = app.submit(&web, &page, &format!("{page}/send"), &[("delivery", "copy")]).await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    let url =
        html.split("id=\"client-link\" type=\"text\" readonly value=\"").nth(1).unwrap().split('"').next().unwrap();
    let url = url.replace("&#x3d;", "=").replace("&#61;", "=");
    let path = url.trim_start_matches(&app.url("")).to_owned();
    let secret = path.trim_start_matches("/questionnaire?token=").to_owned();

    let browser = new_client();
    let task = browser.get(app.url(&path)).send().await.unwrap().text().await.unwrap();
    assert!(task.contains("After Monday&#39;s meeting") || task.contains("After Monday's meeting"), "{task}");
    let before = get_json(&app, &token, &format!("/api/v1/homework/{homework}")).await;
    let fields = before["content"]["worksheet"]["fields"].as_array().unwrap().clone();
    let first = fields[0]["key"].as_str().unwrap().to_owned();
    let answer = "Everyone will think I am useless";
    let name = format!("responses.{first}");
    let r = app.submit(&browser, &path, "/questionnaire", &[("token", &secret), (&name, answer)]).await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("Thank you"));

    let after = get_json(&app, &token, &format!("/api/v1/homework/{homework}")).await;
    assert_eq!(after["version"], 2, "a new version");
    assert_eq!(after["content"]["status"], "completed");
    assert_eq!(after["content"]["responses"][&first], answer);
    assert_eq!(after["content"]["instructions"], "After Monday's meeting", "the rest kept");
    assert_eq!(browser.get(app.url(&path)).send().await.unwrap().status(), 404, "used once");
    let events = app.app.store().audit_entries_after(0, 100_000).await.unwrap();
    assert!(events.iter().any(|e| e.fields.action == "homework.update" && e.fields.actor_kind == "anonymous"));
    assert!(!cbt_testkit::dump_holds(&app.db.raw_dump(), answer.as_bytes()), "the answer is sealed");
    app.stop().await;
}

/// More link requests at once than the database pool has connections
/// (16): each is answered, none waits for a connection another holds.
async fn many_links_at_once(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let app = TestApp::spawn_with(db, |s| s.client_link_requests_per_ip = 1_000).await;
    assert!(app.settings.database_max_connections < 32, "more requests than connections");
    let (_, token, client) = therapist_with_client(&app, "rush@example.org", "rush@example.net").await;
    let mut urls = Vec::new();
    for _ in 0..32 {
        let link = json!({"instrument": "gad-7", "delivery": "copy"});
        let sent = post_json(&app, &token, &format!("/api/v1/clients/{client}/links"), link).await;
        urls.push(sent["url"].as_str().unwrap().to_owned());
    }
    let opened = futures_util::future::join_all(urls.iter().map(|u| reqwest::get(u.as_str()))).await;
    let statuses: Vec<u16> = opened.into_iter().map(|r| r.unwrap().status().as_u16()).collect();
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    app.stop().await;
}

/// A new client's first results, saved at once: one of them makes the
/// client's index (and the account's list of risk flags) and the others
/// go in after it; none is refused as "changed meanwhile".
async fn first_results_at_once(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let app = TestApp::spawn(db).await;
    let (web, token, client) = therapist_with_client(&app, "first@example.org", "first@example.net").await;
    let path = format!("/api/v1/clients/{client}/assessments");
    let http = reqwest::Client::new();
    let saves = (0..8).map(|_| {
        let result = json!({"instrument": "phq-9", "taken_on": "2026-11-20", "answers": [1, 1, 1, 1, 1, 1, 1, 1, 1]});
        http.post(app.url(&path)).bearer_auth(&token).json(&result).send()
    });
    let statuses: Vec<u16> =
        futures_util::future::join_all(saves).await.into_iter().map(|r| r.unwrap().status().as_u16()).collect();
    assert!(statuses.iter().all(|s| *s == 201), "{statuses:?}");
    let results = get_json(&app, &token, &path).await;
    assert_eq!(results["total"], 8, "every result is in the client's index");
    let home = web.get(app.url("/dashboard")).send().await.unwrap().text().await.unwrap();
    assert_eq!(home.matches("Sam Scheduled: PHQ-9").count(), 8, "every flag is on the home page");
    app.stop().await;
}

on_both_backends! {
    new_clients_first_results_saved_at_once_are_all_kept => first_results_at_once;
    more_link_requests_at_once_than_pool_connections_are_all_answered => many_links_at_once;
    a_client_fills_in_their_homework_through_a_link => homework_through_a_link;
    recurring_questionnaires_are_sent_once_per_period_until_stopped => recurring_questionnaires;
    a_rejected_answer_keeps_what_was_chosen_and_the_link => rejected_answers_keep_the_link;
    client_links_are_rate_limited_per_ip_address => links_are_rate_limited_per_ip;
}
