//! Session notes over the JSON API, on SQLite and PostgreSQL: drafts saved
//! again and again, signing locks, addenda below signed notes, history;
//! each access audited; another account's ids 404; nothing typed in a raw
//! dump.

use cbt_testkit::dump_holds;
use cbt_testkit::{TestApp, TestDatabase};
use serde_json::{Value, json};

const CANARY: &str = "Described intrusive images of the Wexcombe crossing";
const ADDENDUM: &str = "Late entry: client phoned to confirm Thistlemoor referral";

fn api(app: &TestApp, token: &str, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
    reqwest::Client::new().request(method, app.url(path)).bearer_auth(token)
}

async fn new_client(app: &TestApp, token: &str) -> String {
    let r = api(app, token, reqwest::Method::POST, "/api/v1/clients")
        .json(&json!({"full_name": "Note Client"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
}

fn soap(subjective: &str) -> Value {
    json!({
        "date": "2026-11-20", "start_time": "14:30", "duration_minutes": 50, "modality": "video",
        "body": {"format": "soap", "subjective": subjective, "plan": "Thought record daily"}
    })
}

async fn note_lifecycle(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let app = TestApp::spawn(db).await;
    let token = app.api_token("notes@example.org").await;
    let client = new_client(&app, &token).await;
    let notes = format!("/api/v1/clients/{client}/notes");

    let empty = json!({"date": "2026-11-20", "body": {"format": "soap"}});
    let r = api(&app, &token, reqwest::Method::POST, &notes).json(&empty).send().await.unwrap();
    assert_eq!(r.status(), 201, "an empty draft saves");
    let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let note = format!("/api/v1/notes/{id}");
    let sign = format!("{note}/sign");

    // Signing an empty note is refused, naming why.
    let r = api(&app, &token, reqwest::Method::POST, &sign).json(&json!({"version": 1})).send().await.unwrap();
    assert_eq!(r.status(), 422);
    // Autosave: each save is a version.
    for (version, text) in [(1, "Described intrusive"), (2, CANARY)] {
        let r = api(&app, &token, reqwest::Method::PUT, &note)
            .json(&json!({"version": version, "content": soap(text)}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let r = api(&app, &token, reqwest::Method::PUT, &note)
        .json(&json!({"version": 2, "content": soap("from a stale tab")}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409, "a stale draft does not overwrite");
    let r = api(&app, &token, reqwest::Method::POST, &format!("{note}/addenda"))
        .json(&json!({"text": ADDENDUM}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422, "no addenda to drafts");

    let r = api(&app, &token, reqwest::Method::POST, &sign).json(&json!({"version": 3})).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = api(&app, &token, reqwest::Method::PUT, &note)
        .json(&json!({"version": 4, "content": soap("changed after signing")}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("signed and locked"));
    let r = api(&app, &token, reqwest::Method::POST, &format!("{note}/addenda"))
        .json(&json!({"text": ADDENDUM}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);

    let body: Value = api(&app, &token, reqwest::Method::GET, &note).send().await.unwrap().json().await.unwrap();
    assert_eq!(body["signed"], true);
    assert_eq!(body["content"]["body"]["subjective"], CANARY);
    assert_eq!(body["content"]["body"]["format"], "soap");
    assert_eq!(body["addenda"][0]["text"], ADDENDUM);
    let list: Value = api(&app, &token, reqwest::Method::GET, &notes).send().await.unwrap().json().await.unwrap();
    assert_eq!(list["total"], 1);
    let history: Value =
        api(&app, &token, reqwest::Method::GET, &format!("{note}/history")).send().await.unwrap().json().await.unwrap();
    let texts: Vec<&str> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["content"]["body"]["subjective"].as_str().unwrap())
        .collect();
    assert_eq!(texts, vec!["", "Described intrusive", CANARY, CANARY], "every save and the signature");

    let events = app.app.store().audit_entries_after(0, 10_000).await.unwrap();
    let count = |action: &str| events.iter().filter(|e| e.fields.action == action).count();
    assert_eq!(
        [count("note.create"), count("note.update"), count("note.sign"), count("note.addendum"), count("note.read")],
        [1, 2, 1, 1, 1]
    );
    assert!(events.iter().all(|e| !format!("{e:?}").contains("Wexcombe")), "no PHI in the audit log");

    let dump = app.db.raw_dump();
    for typed in [CANARY, ADDENDUM, "Thought record daily"] {
        assert!(!dump_holds(&dump, typed.as_bytes()), "{typed:?} is in a raw dump");
    }
    app.stop().await;
}

/// Checklist 25 for notes: another therapist answers 404 on every note
/// route, and cannot write a note on a client that is not theirs.
async fn foreign_notes_are_not_found(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let app = TestApp::spawn(db).await;
    let owner = app.api_token("note-owner@example.org").await;
    let other = app.api_token("note-other@example.org").await;
    let client = new_client(&app, &owner).await;
    let r = api(&app, &owner, reqwest::Method::POST, &format!("/api/v1/clients/{client}/notes"))
        .json(&soap("Owned"))
        .send()
        .await
        .unwrap();
    let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let cases = [
        (reqwest::Method::GET, format!("/api/v1/clients/{client}/notes"), json!(null)),
        (reqwest::Method::POST, format!("/api/v1/clients/{client}/notes"), soap("Planted")),
        (reqwest::Method::GET, format!("/api/v1/notes/{id}"), json!(null)),
        (reqwest::Method::PUT, format!("/api/v1/notes/{id}"), json!({"version": 1, "content": soap("Taken")})),
        (reqwest::Method::POST, format!("/api/v1/notes/{id}/sign"), json!({"version": 1})),
        (reqwest::Method::POST, format!("/api/v1/notes/{id}/addenda"), json!({"text": "Planted"})),
        (reqwest::Method::GET, format!("/api/v1/notes/{id}/history"), json!(null)),
    ];
    for (method, path, body) in cases {
        let r = api(&app, &other, method.clone(), &path).json(&body).send().await.unwrap();
        assert_eq!(r.status(), 404, "{method} {path}");
    }
    let body: Value = api(&app, &owner, reqwest::Method::GET, &format!("/api/v1/notes/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!((body["version"].clone(), body["signed"].clone()), (json!(1), json!(false)), "untouched");
    app.stop().await;
}

/// Autosave posts the draft form with `X-Autosave`: 204 and the new
/// version, no redirect; a stale version is 409 and writes nothing.
#[tokio::test]
async fn autosave_answers_with_the_new_version() {
    let app = TestApp::spawn(TestDatabase::sqlite()).await;
    let c = app.verified_account("autosave@example.org").await;
    let r = app.submit(&c, "/clients/new", "/clients", &[("full_name", "Autosave Client")]).await;
    let client =
        r.headers()["location"].to_str().unwrap().trim_start_matches("/clients/").split('?').next().unwrap().to_owned();
    let fields = [("format", "free"), ("date", "2026-11-20"), ("text", "first words"), ("version", "0")];
    let r = app.submit(&c, &format!("/clients/{client}/notes/new"), &format!("/clients/{client}/notes"), &fields).await;
    assert_eq!(r.status(), 303);
    let edit = r.headers()["location"].to_str().unwrap().split('?').next().unwrap().to_owned();
    let note = edit.trim_end_matches("/edit").to_owned();
    let html = c.get(app.url(&edit)).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("data-autosave") && html.contains("id=\"autosave-status\""));
    let token = cbt_testkit::accounts::csrf_token(&html);
    let post = |text: &'static str, version: &'static str| {
        let form = [
            ("format", "free"),
            ("date", "2026-11-20"),
            ("text", text),
            ("version", version),
            ("csrf_token", token.as_str()),
        ];
        c.post(app.url(&note)).header("x-autosave", "1").form(&form).send()
    };
    let r = post("first words and more", "1").await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(r.headers()["x-version"], "2");
    assert_eq!(post("from an old tab", "1").await.unwrap().status(), 409);
    let page = c.get(app.url(&note)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("first words and more") && !page.contains("from an old tab"));
    app.stop().await;
}

/// Checklist 25 on the note pages: another therapist's note answers 404
/// on every page and form.
#[tokio::test]
async fn foreign_note_pages_answer_404() {
    let app = TestApp::spawn(TestDatabase::sqlite()).await;
    let owner = app.api_token("page-note-owner@example.org").await;
    let client = new_client(&app, &owner).await;
    let r = api(&app, &owner, reqwest::Method::POST, &format!("/api/v1/clients/{client}/notes"))
        .json(&soap("Owned"))
        .send()
        .await
        .unwrap();
    let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let stranger = app.verified_account("page-note-stranger@example.org").await;
    for path in [
        format!("/notes/{id}"),
        format!("/notes/{id}/edit"),
        format!("/notes/{id}/private"),
        format!("/clients/{client}/notes/new"),
    ] {
        assert_eq!(stranger.get(app.url(&path)).send().await.unwrap().status(), 404, "{path}");
    }
    let form = [("version", "1"), ("date", "2026-11-20"), ("format", "free"), ("text", "Taken"), ("subjective", "")];
    for action in [
        format!("/notes/{id}"),
        format!("/notes/{id}/sign"),
        format!("/notes/{id}/addenda"),
        format!("/notes/{id}/private"),
        format!("/clients/{client}/notes"),
    ] {
        let r = app.submit(&stranger, "/clients", &action, &form).await;
        assert_eq!(r.status(), 404, "POST {action}");
    }
    let body: Value = api(&app, &owner, reqwest::Method::GET, &format!("/api/v1/notes/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["version"], 1, "untouched");
    app.stop().await;
}

/// Psychotherapy notes are kept apart: never in the session note, its
/// history or its list; editable after signing; versioned; audited;
/// sealed; another therapist's 404.
async fn psychotherapy_notes_are_kept_apart(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let app = TestApp::spawn(db).await;
    let token = app.api_token("private@example.org").await;
    let client = new_client(&app, &token).await;
    let r = api(&app, &token, reqwest::Method::POST, &format!("/api/v1/clients/{client}/notes"))
        .json(&soap("Progress note text"))
        .send()
        .await
        .unwrap();
    let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let private = format!("/api/v1/notes/{id}/private");
    const SECRET: &str = "Countertransference: reminded of my Ostrelby supervisor";

    let empty: Value = api(&app, &token, reqwest::Method::GET, &private).send().await.unwrap().json().await.unwrap();
    assert_eq!((empty["version"].clone(), empty["text"].clone()), (json!(0), json!("")));
    let put = |version: i64, text: &'static str| {
        api(&app, &token, reqwest::Method::PUT, &private).json(&json!({"version": version, "text": text})).send()
    };
    assert_eq!(put(0, SECRET).await.unwrap().status(), 200);
    assert_eq!(put(0, "a second first").await.unwrap().status(), 409, "only one first version");
    let r = api(&app, &token, reqwest::Method::POST, &format!("/api/v1/notes/{id}/sign"))
        .json(&json!({"version": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = put(1, SECRET).await.unwrap();
    assert_eq!(r.status(), 200, "editable after the note is signed");
    assert_eq!(r.json::<Value>().await.unwrap()["version"], 2);

    for path in [
        format!("/api/v1/notes/{id}"),
        format!("/api/v1/notes/{id}/history"),
        format!("/api/v1/clients/{client}/notes"),
    ] {
        let body = api(&app, &token, reqwest::Method::GET, &path).send().await.unwrap().text().await.unwrap();
        assert!(!body.contains("Ostrelby"), "{path} shows the psychotherapy note");
    }
    let got: Value = api(&app, &token, reqwest::Method::GET, &private).send().await.unwrap().json().await.unwrap();
    assert_eq!(got["text"], SECRET);

    let other = app.api_token("private-other@example.org").await;
    assert_eq!(api(&app, &other, reqwest::Method::GET, &private).send().await.unwrap().status(), 404);
    let r = api(&app, &other, reqwest::Method::PUT, &private)
        .json(&json!({"version": 2, "text": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    let events = app.app.store().audit_entries_after(0, 10_000).await.unwrap();
    let saves = events.iter().filter(|e| e.fields.action == "note.private_save").count();
    assert_eq!(saves, 2);
    let dump = app.db.raw_dump();
    assert!(!dump_holds(&dump, b"Ostrelby"), "sealed at rest");
    app.stop().await;
}

/// Deletes every note index, as a database from before there were any.
async fn forget_note_indexes(app: &TestApp) {
    use sqlx::Connection;
    if app.db.is_postgres() {
        let mut c = sqlx::PgConnection::connect(&app.db.url).await.unwrap();
        sqlx::query("DELETE FROM note_indexes").execute(&mut c).await.unwrap();
    } else {
        let mut c = sqlx::SqliteConnection::connect(&app.db.url).await.unwrap();
        sqlx::query("DELETE FROM note_indexes").execute(&mut c).await.unwrap();
    }
}

/// The client page lists notes from the client's sealed note index: it
/// follows every save and signing, and a client whose notes predate the
/// index is listed the slow way until its next note writes a whole index.
async fn the_note_index_follows_every_save(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let app = TestApp::spawn(db).await;
    let token = app.api_token("index@example.org").await;
    let account = app.app.store().account_by_email("index@example.org").await.unwrap().unwrap();
    let client = new_client(&app, &token).await;
    let client_id: cbt_domain::ids::ClientId = client.parse().unwrap();
    let ctx = cbt_domain::audit::RequestContext::default();
    let post = |body: Value| {
        let request = api(&app, &token, reqwest::Method::POST, &format!("/api/v1/clients/{client}/notes")).json(&body);
        async move {
            let r = request.send().await.unwrap();
            assert_eq!(r.status(), 201);
            r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
        }
    };
    let listed = || async {
        let d = app.app.client_dashboard(&account, client_id, &ctx).await.unwrap();
        d.notes.iter().map(|n| (n.id.to_string(), n.date.to_string(), n.format.clone(), n.signed)).collect::<Vec<_>>()
    };
    let first = post(json!({"date": "2026-11-10", "body": {"format": "dap", "data": "First"}})).await;
    let second = post(json!({"date": "2026-11-17", "body": {"format": "soap", "subjective": "Second"}})).await;
    let r = api(&app, &token, reqwest::Method::PUT, &format!("/api/v1/notes/{first}"))
        .json(&json!({"version": 1, "content": {"date": "2026-11-03", "body": {"format": "free", "text": "First"}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = api(&app, &token, reqwest::Method::POST, &format!("/api/v1/notes/{second}/sign"))
        .json(&json!({"version": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let expected = vec![
        (second.clone(), "2026-11-17".to_owned(), "soap".to_owned(), true),
        (first.clone(), "2026-11-03".to_owned(), "free".to_owned(), false),
    ];
    assert_eq!(listed().await, expected, "newest session first, as last saved");

    forget_note_indexes(&app).await;
    assert_eq!(listed().await, expected, "without an index, every note is opened");
    let third = post(json!({"date": "2026-11-24", "body": {"format": "birp", "behavior": "Third"}})).await;
    forget_note_indexes(&app).await;
    let rebuilt = listed().await;
    assert_eq!(rebuilt.len(), 3);
    let third_note = post(json!({"date": "2026-11-25", "body": {"format": "free", "text": "Fourth"}})).await;
    let mut whole = vec![(third_note, "2026-11-25".to_owned(), "free".to_owned(), false)];
    whole.push((third, "2026-11-24".to_owned(), "birp".to_owned(), false));
    whole.extend(expected);
    assert_eq!(listed().await, whole, "the next note wrote a whole index, not just itself");
}

on_both_backends! {
    psychotherapy_notes_are_kept_apart_from_the_progress_note => psychotherapy_notes_are_kept_apart;
    checklist_32_session_note_drafts_sign_and_addenda => note_lifecycle;
    checklist_25_foreign_note_ids_answer_404 => foreign_notes_are_not_found;
    the_client_page_lists_notes_from_the_note_index => the_note_index_follows_every_save;
}
