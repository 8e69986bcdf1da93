//! Clients over the JSON API, on SQLite and PostgreSQL: create, open,
//! change (versions, conflicts), list, search, history; each PHI access
//! audited; another account's ids answer 404; nothing typed is in a raw
//! dump.

use cbt_domain::audit::AuditFields;
use cbt_testkit::{TestApp, TestDatabase};
use serde_json::{Value, json};

const CANARY_NAME: &str = "Quillon Brackenridge-Tamsworth";
const CANARY_PROBLEM: &str = "panic attacks crossing the Harbourview footbridge";

fn api(app: &TestApp, token: &str, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
    reqwest::Client::new().request(method, app.url(path)).bearer_auth(token)
}

async fn create(app: &TestApp, token: &str, details: Value) -> String {
    let r = api(app, token, reqwest::Method::POST, "/api/v1/clients").json(&details).send().await.unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
}

async fn audit(app: &TestApp) -> Vec<AuditFields> {
    app.app.store().audit_entries_after(0, 10_000).await.unwrap().into_iter().map(|e| e.fields).collect()
}

fn contains(dump: &[u8], needle: &str) -> bool {
    cbt_testkit::dump_holds(dump, needle.as_bytes())
}

/// The whole life of a client through the API, its audit trail, and a
/// raw dump without any of what was typed.
async fn client_lifecycle(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let app = TestApp::spawn(db).await;
    let token = app.api_token("clinician@example.org").await;
    let me = app.app.store().account_by_email("clinician@example.org").await.unwrap().unwrap().id.to_string();
    let id = create(
        &app,
        &token,
        json!({
            "full_name": CANARY_NAME,
            "preferred_name": "Quill",
            "date_of_birth": "1988-03-14",
            "presenting_problems": CANARY_PROBLEM,
            "diagnoses": [{"description": "Panic disorder", "icd10": "f41.0"}]
        }),
    )
    .await;
    create(&app, &token, json!({"full_name": "Abigail Zephyr", "status": "on_hold"})).await;

    let r = api(&app, &token, reqwest::Method::GET, &format!("/api/v1/clients/{id}")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["version"], 1);
    assert_eq!(body["details"]["full_name"], CANARY_NAME);
    assert_eq!(body["details"]["date_of_birth"], "1988-03-14");
    assert_eq!(body["details"]["diagnoses"][0]["icd10"], "F41.0", "codes are upper-cased");

    let mut details = body["details"].clone();
    details["status"] = json!("discharged");
    let path = format!("/api/v1/clients/{id}");
    let r = api(&app, &token, reqwest::Method::PUT, &path)
        .json(&json!({"version": 1, "details": details}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["version"], 2);
    // A change based on version 1 again (another tab): refused, nothing lost.
    details["full_name"] = json!("Overwritten Name");
    let r = api(&app, &token, reqwest::Method::PUT, &path)
        .json(&json!({"version": 1, "details": details}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let now: Value = api(&app, &token, reqwest::Method::GET, &path).send().await.unwrap().json().await.unwrap();
    assert_eq!((now["version"].clone(), now["details"]["full_name"].clone()), (json!(2), json!(CANARY_NAME)));

    let list = |query: &'static str| {
        let app = &app;
        let token = token.clone();
        async move {
            let r = api(app, &token, reqwest::Method::GET, &format!("/api/v1/clients{query}")).send().await.unwrap();
            assert_eq!(r.status(), 200, "{query}");
            let body: Value = r.json().await.unwrap();
            body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["details"]["full_name"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(list("?sort=name").await, vec!["Abigail Zephyr", CANARY_NAME]);
    assert_eq!(list("?search=harbourVIEW").await, vec![CANARY_NAME], "search ignores case, reads the problems");
    assert_eq!(list("?search=F41").await, vec![CANARY_NAME], "and the diagnoses");
    assert_eq!(list("?status=on_hold").await, vec!["Abigail Zephyr"]);
    assert_eq!(list("?status=discharged").await, vec![CANARY_NAME]);
    let r = api(&app, &token, reqwest::Method::GET, "/api/v1/clients?status=sleeping").send().await.unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("\"field\":\"status\""));

    let r = api(&app, &token, reqwest::Method::GET, &format!("{path}/history")).send().await.unwrap();
    let history: Value = r.json().await.unwrap();
    let statuses: Vec<&str> =
        history["items"].as_array().unwrap().iter().map(|v| v["details"]["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, vec!["active", "discharged"], "every version is kept");

    // Checklist 32: each PHI access, by this account, on this client.
    let events = audit(&app).await;
    let on_client = |action: &str| {
        events
            .iter()
            .filter(|e| e.action == action && e.target_id.as_deref() == Some(id.as_str()))
            .inspect(|e| assert_eq!((e.actor_id.as_deref(), e.target_kind.as_str()), (Some(me.as_str()), "client")))
            .count()
    };
    assert_eq!(on_client("client.create"), 1);
    assert_eq!(on_client("client.read"), 2);
    assert_eq!(on_client("client.update"), 1, "the refused change wrote nothing");
    assert_eq!(on_client("client.history"), 1);
    assert_eq!(events.iter().filter(|e| e.action == "client.list").count(), 5);
    for e in &events {
        let fields = format!("{e:?}");
        assert!(!fields.contains("Quillon") && !fields.contains("Harbourview"), "no PHI in the audit log");
    }

    let dump = app.db.raw_dump();
    for typed in [CANARY_NAME, CANARY_PROBLEM, "Panic disorder", "1988-03-14", "Abigail Zephyr"] {
        assert!(!contains(&dump, typed), "{typed:?} is in a raw dump");
    }
    app.stop().await;
}

/// Checklist 25: another therapist's client answers 404 on every client
/// route, like a missing or malformed id; their list does not show it.
async fn foreign_clients_are_not_found(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let app = TestApp::spawn(db).await;
    let owner = app.api_token("owner@example.org").await;
    let other = app.api_token("other@example.org").await;
    let id = create(&app, &owner, json!({"full_name": "Owned Client"})).await;
    let body = json!({"version": 1, "details": {"full_name": "Taken Over"}});
    for (method, path) in [
        (reqwest::Method::GET, format!("/api/v1/clients/{id}")),
        (reqwest::Method::PUT, format!("/api/v1/clients/{id}")),
        (reqwest::Method::GET, format!("/api/v1/clients/{id}/history")),
        (reqwest::Method::GET, "/api/v1/clients/not-a-uuid".to_owned()),
        (reqwest::Method::GET, format!("/api/v1/clients/{}", uuid::Uuid::new_v4())),
    ] {
        let r = api(&app, &other, method.clone(), &path).json(&body).send().await.unwrap();
        assert_eq!(r.status(), 404, "{method} {path}");
    }
    let r = api(&app, &other, reqwest::Method::GET, "/api/v1/clients").send().await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["total"], 0);
    let r = api(&app, &owner, reqwest::Method::GET, &format!("/api/v1/clients/{id}")).send().await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["details"]["full_name"], "Owned Client", "unchanged");
    app.stop().await;
}

/// Checklist 26 and 38: unknown fields are refused (no mass assignment);
/// invalid details are named field by field; nothing is created.
async fn input_is_checked(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let app = TestApp::spawn(db).await;
    let token = app.api_token("checks@example.org").await;
    let post = |body: Value| api(&app, &token, reqwest::Method::POST, "/api/v1/clients").json(&body).send();
    let r = post(json!({"full_name": "A", "account_id": uuid::Uuid::new_v4()})).await.unwrap();
    assert_eq!(r.status(), 422);
    let r = post(
        json!({"full_name": " ", "date_of_birth": "2999-01-01", "diagnoses": [{"description": "x", "icd10": "99"}]}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 422);
    let problem: Value = r.json().await.unwrap();
    let fields: Vec<&str> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, vec!["full_name", "date_of_birth", "diagnoses"]);
    let r = api(&app, &token, reqwest::Method::GET, "/api/v1/clients").send().await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["total"], 0, "nothing was created");
    app.stop().await;
}

/// Clinical records wait for a confirmed email address.
#[tokio::test]
async fn unverified_accounts_cannot_open_clinical_records() {
    let app = TestApp::spawn(TestDatabase::sqlite()).await;
    let client = cbt_testkit::accounts::new_client();
    app.sign_up(&client, "new@example.org", cbt_testkit::accounts::PASSWORD).await;
    app.sign_in(&client, "new@example.org", cbt_testkit::accounts::PASSWORD).await;
    let r = client.get(app.url("/api/v1/clients")).send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("Confirm your email address first"));
    app.stop().await;
}

/// Checklist 25 on the pages: another therapist's client answers 404 on
/// every client page and form, and their caseload does not list it.
async fn foreign_clients_are_not_found_on_pages(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let app = TestApp::spawn(db).await;
    let owner = app.verified_account("page-owner@example.org").await;
    let stranger = app.verified_account("page-stranger@example.org").await;
    let r = app.submit(&owner, "/clients/new", "/clients", &[("full_name", "Paged Client")]).await;
    assert_eq!(r.status(), 303);
    let id =
        r.headers()["location"].to_str().unwrap().trim_start_matches("/clients/").split('?').next().unwrap().to_owned();
    for path in [format!("/clients/{id}"), format!("/clients/{id}/edit"), format!("/clients/{id}/history")] {
        assert_eq!(stranger.get(app.url(&path)).send().await.unwrap().status(), 404, "{path}");
    }
    let r = app
        .submit(&stranger, "/clients/new", &format!("/clients/{id}"), &[("full_name", "Taken Over"), ("version", "1")])
        .await;
    assert_eq!(r.status(), 404, "POST a change");
    let list = stranger.get(app.url("/clients")).send().await.unwrap().text().await.unwrap();
    assert!(!list.contains("Paged Client"));
    let mine = owner.get(app.url(&format!("/clients/{id}"))).send().await.unwrap().text().await.unwrap();
    assert!(mine.contains("Paged Client"), "unchanged");
    app.stop().await;
}

/// Checklist 38 on the pages: a rejected form comes back with everything
/// typed and a message at each field; a change based on an old version is
/// refused with what was typed kept; the history shows the change.
#[tokio::test]
async fn client_forms_keep_input_name_fields_and_show_history() {
    let app = TestApp::spawn(TestDatabase::sqlite()).await;
    let c = app.verified_account("forms@example.org").await;
    let typed = [
        ("full_name", ""),
        ("date_of_birth", "14/03/1988"),
        ("presenting_problems", "Low mood since the move"),
        ("diagnoses", "F32.1 Moderate depressive episode"),
    ];
    let r = app.submit(&c, "/clients/new", "/clients", &typed).await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("Enter the client&#39;s name."), "{html}");
    assert!(html.contains("That is not a date: enter it as YYYY-MM-DD"));
    assert!(html.contains("value=\"14/03/1988\"") && html.contains(">Low mood since the move</textarea>"), "kept");
    assert!(html.contains("id=\"full_name-error\"") && html.contains("aria-invalid=\"true\""));

    let r = app
        .submit(
            &c,
            "/clients/new",
            "/clients",
            &[("full_name", "Robin Ashdown"), ("presenting_problems", "Low mood"), ("status", "active")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let page = r.headers()["location"].to_str().unwrap().split('?').next().unwrap().to_owned();
    let shown = c.get(app.url(&page)).send().await.unwrap().text().await.unwrap();
    assert!(shown.contains("Robin Ashdown") && shown.contains("Low mood"));

    let edit = format!("{page}/edit");
    let change = [
        ("full_name", "Robin Ashdown"),
        ("presenting_problems", "Low mood, improving"),
        ("status", "on_hold"),
        ("version", "1"),
    ];
    assert_eq!(app.submit(&c, &edit, &page, &change).await.status(), 303);
    let stale = [("full_name", "Robin Ashdown"), ("presenting_problems", "Typed in an old tab"), ("version", "1")];
    let r = app.submit(&c, &edit, &page, &stale).await;
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains(">Typed in an old tab</textarea>"), "what was typed is kept");

    let history = c.get(app.url(&format!("{page}/history"))).send().await.unwrap().text().await.unwrap();
    assert!(history.contains("Version 2") && history.contains("Low mood, improving"), "{history}");
    assert!(history.contains("On hold"), "the status change is shown");

    let list = c.get(app.url("/clients?q=improving&status=on_hold")).send().await.unwrap().text().await.unwrap();
    assert!(list.contains("Robin Ashdown"));
    let none = c.get(app.url("/clients?status=discharged")).send().await.unwrap().text().await.unwrap();
    assert!(none.contains("No client matches."));
    app.stop().await;
}

on_both_backends! {
    checklist_25_foreign_client_pages_answer_404 => foreign_clients_are_not_found_on_pages;
    checklist_32_client_lifecycle_audited_and_sealed => client_lifecycle;
    checklist_25_foreign_client_ids_answer_404 => foreign_clients_are_not_found;
    checklist_26_38_client_input_is_checked => input_is_checked;
}
