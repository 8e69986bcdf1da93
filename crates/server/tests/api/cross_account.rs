//! Checklist 25 over the whole route table: every HTML page, form and API
//! route that takes an id answers 404 to another therapist, on SQLite and
//! PostgreSQL, and writes nothing; lists and filters never show another
//! therapist's clients. The route table is read from the router's source,
//! so a route added without a case here fails this test.

use std::collections::BTreeMap;

use cbt_testkit::{TestApp, TestDatabase};
use reqwest::Method;
use serde_json::{Value, json};

/// The router's source: the HTML routes to cover.
const ROUTER: &str = include_str!("../../../web/src/lib.rs");

/// (method, path) of every route whose path holds an id: the HTML routes
/// from the router's source, the API's from its OpenAPI document (the API
/// router and its document are built by the same calls).
fn routes_with_ids(openapi: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    assert!(!ROUTER.contains(".route(\"/api/v1"), "API routes are registered in api::routes, with their document");
    for chunk in ROUTER.split(".route(").skip(1) {
        let chunk = chunk.split("\n        .").next().unwrap_or(chunk);
        let Some(path) = chunk.split('"').nth(1) else { continue };
        // Account routes (sessions, tokens) take ids of the account's own
        // sign-ins; their scoping is tested with accounts.
        if !path.contains("{id}") || path.starts_with("/account/") {
            continue;
        }
        for method in ["get", "post", "put", "delete", "patch"] {
            let called = |prefix: &str| chunk.contains(&format!("{prefix}{method}("));
            if called(" ") || called("(") || called(".") {
                out.push((method.to_uppercase(), path.to_owned()));
            }
        }
    }
    for (path, item) in openapi["paths"].as_object().expect("the document lists paths") {
        if path.contains("{id}") {
            for method in item.as_object().unwrap().keys().filter(|k| k.as_str() != "parameters") {
                out.push((method.to_uppercase(), path.clone()));
            }
        }
    }
    out
}

/// The owner's records, by the name that stands for their id in a path.
async fn owners_records(app: &TestApp, token: &str) -> BTreeMap<&'static str, String> {
    let call = |method: Method, path: String, body: Value| {
        let request = reqwest::Client::new().request(method, app.url(&path)).bearer_auth(token).json(&body);
        async move {
            let r = request.send().await.unwrap();
            assert!(r.status().is_success(), "{path}: {}", r.status());
            r.json::<Value>().await.unwrap()["id"].as_str().map(str::to_owned).unwrap_or_default()
        }
    };
    let client = call(Method::POST, "/api/v1/clients".into(), json!({"full_name": "Owned Zanzibar Client"})).await;
    let note = json!({"date": "2026-11-20", "body": {"format": "free", "text": "Owned note"}});
    let note = call(Method::POST, format!("/api/v1/clients/{client}/notes"), note).await;
    call(Method::PUT, format!("/api/v1/notes/{note}/private"), json!({"version": 0, "text": "Private"})).await;
    let formulation =
        call(Method::POST, format!("/api/v1/clients/{client}/formulations"), json!({"title": "Owned"})).await;
    let hypothesis =
        call(Method::POST, format!("/api/v1/clients/{client}/hypotheses"), json!({"statement": "Owned"})).await;
    let plan = json!({"title": "Owned", "start_date": "2026-11-01", "goals": [{"description": "Owned goal"}]});
    let plan = call(Method::POST, format!("/api/v1/clients/{client}/plans"), plan).await;
    call(Method::POST, format!("/api/v1/plans/{plan}/progress"), json!({"goal": 1, "date": "2026-11-20", "rating": 3}))
        .await;
    let homework =
        call(Method::POST, format!("/api/v1/clients/{client}/homework"), json!({"source": "library:core_belief"}))
            .await;
    let sheet = json!({"title": "Owned sheet", "fields": [{"key": "a", "label": "Owned field", "kind": "text"}]});
    let worksheet = call(Method::POST, "/api/v1/worksheets".into(), sheet).await;
    // A result with an open risk flag (item 9), and a questionnaire link.
    let result = json!({"instrument": "phq-9", "taken_on": "2026-11-20", "answers": [1, 1, 1, 1, 1, 1, 1, 1, 1]});
    let assessment = call(Method::POST, format!("/api/v1/clients/{client}/assessments"), result).await;
    let link = json!({"instrument": "gad-7", "delivery": "copy"});
    let link = call(Method::POST, format!("/api/v1/clients/{client}/links"), link).await;
    let options = json!([{"value": 0, "label": "No"}, {"value": 1, "label": "Yes"}]);
    let instrument = json!({"id": "owned", "version": 1, "name": "Owned Measure", "short_name": "OWN-1",
        "instructions": "Owned", "licence": "Owned", "response_scales": [{"id": "yes-no", "options": options}],
        "items": [{"number": 1, "text": "Owned item", "scale": "yes-no"}], "scoring": {"source": "Owned"},
        "missing_items": {"statement": "Needed.", "source": "Owned"}});
    let instrument = call(Method::POST, "/api/v1/instruments".into(), instrument).await;
    BTreeMap::from([
        ("instruments", instrument),
        ("assessments", assessment),
        ("links", link),
        ("clients", client),
        ("notes", note),
        ("formulations", formulation),
        ("hypotheses", hypothesis),
        ("plans", plan),
        ("homework", homework),
        ("worksheets", worksheet),
    ])
}

/// The path with its `{id}` replaced by the owner's record of that kind
/// (the segment before `{id}` names the kind).
fn concrete(path: &str, ids: &BTreeMap<&'static str, String>) -> String {
    let (before, after) = path.split_once("{id}").unwrap();
    let kind = before.trim_end_matches('/').rsplit('/').next().unwrap();
    let id = ids.get(kind).unwrap_or_else(|| panic!("no owned record for {path}: add one to owners_records"));
    format!("{before}{id}{after}")
}

/// A body the route would accept from its owner, so that a 404 is about
/// the id and not about the body.
fn api_body(path: &str) -> Value {
    if path.ends_with("/sign") {
        json!({"version": 1})
    } else if path.ends_with("/addenda") {
        json!({"text": "Planted"})
    } else if path.ends_with("/private") {
        json!({"version": 1, "text": "Planted"})
    } else if path.ends_with("/progress") {
        json!({"goal": 1, "date": "2026-11-20", "rating": 9})
    } else if path.ends_with("/notes") {
        json!({"date": "2026-11-20", "body": {"format": "free", "text": "Planted"}})
    } else if path.ends_with("/homework") {
        json!({"source": "library:thought_record"})
    } else if path.ends_with("/formulations") {
        json!({"title": "Planted"})
    } else if path.ends_with("/hypotheses") {
        json!({"statement": "Planted"})
    } else if path.ends_with("/assessments") {
        json!({"instrument": "phq-9", "taken_on": "2026-11-20", "answers": [0, 0, 0, 0, 0, 0, 0, 0, 0]})
    } else if path.ends_with("/links") {
        json!({"instrument": "phq-9", "delivery": "copy"})
    } else if path.ends_with("/acknowledge") || path.ends_with("/revoke") {
        json!({})
    } else if path.ends_with("/plans") {
        json!({"title": "Planted", "start_date": "2026-11-01", "goals": [{"description": "Planted"}]})
    } else {
        panic!("no body for {path}: add one to api_body")
    }
}

/// An update the owner could send: their record read back, as it is.
async fn owners_update(app: &TestApp, owner: &str, url: &str) -> Value {
    let r = reqwest::Client::new().get(app.url(url)).bearer_auth(owner).send().await.unwrap();
    assert!(r.status().is_success(), "{url}: {}", r.status());
    let body: Value = r.json().await.unwrap();
    let version = &body["version"];
    if body["definition"].is_object() {
        return json!({"version": version, "definition": body["definition"]});
    }
    match (&body["details"], &body["content"], &body["worksheet"], &body["text"]) {
        (Value::Object(_), ..) => json!({"version": version, "details": body["details"]}),
        (_, Value::Object(_), ..) => json!({"version": version, "content": body["content"]}),
        (_, _, Value::Object(_), _) => json!({"version": version, "content": body["worksheet"]}),
        (.., Value::String(text)) => json!({"version": version, "text": text}),
        _ => panic!("{url}: no content to send back"),
    }
}

async fn foreign_ids_answer_404_everywhere(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let app = TestApp::spawn(db).await;
    let owner = app.api_token("route-owner@example.org").await;
    let ids = owners_records(&app, &owner).await;
    let stranger = app.verified_account("route-stranger@example.org").await;
    let stranger_token = app.create_access_token(&stranger, "tests", "30").await;
    let openapi: Value = reqwest::get(app.url("/api/openapi.json")).await.unwrap().json().await.unwrap();
    let routes = routes_with_ids(&openapi);
    let api_routes = routes.iter().filter(|(_, path)| path.starts_with("/api/")).count();
    assert!(routes.len() > 60 && api_routes > 25, "the route table was read: {} ({api_routes} API)", routes.len());
    // The owner's own updates, read before the stranger starts.
    let mut updates = BTreeMap::new();
    for (method, path) in &routes {
        if method == "PUT" && path.starts_with("/api/") {
            let url = concrete(path, &ids);
            updates.insert(url.clone(), owners_update(&app, &owner, &url).await);
        }
    }
    let events_before = app.app.store().audit_entries_after(0, 100_000).await.unwrap().len();
    let form = [
        ("version", "1"),
        ("title", "Planted"),
        ("statement", "Planted"),
        ("text", "Planted"),
        ("full_name", "Planted"),
        ("date", "2026-11-20"),
        ("start_date", "2026-11-01"),
        ("format", "free"),
        ("goal", "1"),
        ("rating", "9"),
        ("source", "library:thought_record"),
        ("fields", "Planted"),
        ("instrument", "phq-9"),
        ("taken_on", "2026-11-20"),
        ("item.1", "1"),
        ("delivery", "copy"),
        // A custom instrument's form (`/instruments/{id}`), valid as typed.
        ("name", "Planted"),
        ("short_name", "PLT-1"),
        ("instructions", "Planted"),
        ("options", "0 = No\n1 = Yes"),
        ("items", "Planted"),
        ("licence", "Planted"),
    ];
    for (method, path) in &routes {
        let url = concrete(path, &ids);
        let status = if path.starts_with("/api/") {
            let request =
                reqwest::Client::new().request(method.parse().unwrap(), app.url(&url)).bearer_auth(&stranger_token);
            let request = match method.as_str() {
                "GET" => request,
                "PUT" => request.json(&updates[&url]),
                _ => request.json(&api_body(path)),
            };
            request.send().await.unwrap().status()
        } else if method == "GET" {
            stranger.get(app.url(&url)).send().await.unwrap().status()
        } else {
            app.submit(&stranger, "/clients", &url, &form).await.status()
        };
        assert_eq!(status, 404, "{method} {url} ({path})");
    }

    // Lists and filters: the owner's client is in none of the stranger's.
    let page =
        stranger.get(app.url("/clients?search=Zanzibar&status=active")).send().await.unwrap().text().await.unwrap();
    assert!(!page.contains("Zanzibar"));
    let list: Value = reqwest::Client::new()
        .get(app.url("/api/v1/clients?search=Zanzibar"))
        .bearer_auth(&stranger_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 0);
    let sheets: Value = reqwest::Client::new()
        .get(app.url("/api/v1/worksheets"))
        .bearer_auth(&stranger_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(sheets["total"], 5, "the library only, not the owner's worksheet");
    let instruments: Value = reqwest::Client::new()
        .get(app.url("/api/v1/instruments"))
        .bearer_auth(&stranger_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(instruments["total"], 5, "the shipped instruments only, not the owner's own");
    let page = stranger.get(app.url("/instruments")).send().await.unwrap().text().await.unwrap();
    assert!(!page.contains("OWN-1") && !page.contains(&ids["instruments"]), "{page}");
    // The owner's risk flag is on neither the stranger's home page nor
    // their list of links.
    let home = stranger.get(app.url("/dashboard")).send().await.unwrap().text().await.unwrap();
    assert!(!home.contains("risk-flag") && !home.contains("Zanzibar"), "{home}");

    // Nothing was written: no record changed, no event names the owner's ids.
    let events = app.app.store().audit_entries_after(0, 100_000).await.unwrap();
    let planted: Vec<_> = events[events_before..]
        .iter()
        .filter(|e| ids.values().any(|id| format!("{:?}", e.fields).contains(id.as_str())))
        .map(|e| e.fields.action.clone())
        .collect();
    assert!(planted.is_empty(), "the stranger's requests touched the owner's records: {planted:?}");
    for (kind, id) in &ids {
        let path = match *kind {
            "clients" | "worksheets" | "notes" | "formulations" | "hypotheses" | "plans" | "homework"
            | "assessments" | "instruments" => {
                format!("/api/v1/{kind}/{id}")
            }
            _ => continue,
        };
        let body: Value =
            reqwest::Client::new().get(app.url(&path)).bearer_auth(&owner).send().await.unwrap().json().await.unwrap();
        assert_eq!(body["version"], 1, "{path} untouched");
    }
    let owners = |path: String| {
        let request = reqwest::Client::new().get(app.url(&path)).bearer_auth(&owner);
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let links = owners(format!("/api/v1/clients/{}/links", ids["clients"])).await;
    assert_eq!(links["items"][0]["state"], "usable", "the stranger could not revoke the owner's link");
    let result = owners(format!("/api/v1/assessments/{}", ids["assessments"])).await;
    assert_eq!(result["risk"], "open", "nor acknowledge the owner's risk flag");
    app.stop().await;
}

on_both_backends! {
    checklist_25_every_route_answers_404_for_another_accounts_ids => foreign_ids_answer_404_everywhere;
}
