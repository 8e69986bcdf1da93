//! A therapist's own instrument through the pages, on SQLite and
//! PostgreSQL: written in the form (a bad line named by field and line,
//! everything typed kept), listed, used for a client's result, changed
//! (the past result keeps the definition it was scored under), and over
//! the API; each access audited; no item text in a raw dump.

use cbt_testkit::dump_holds;
use cbt_testkit::{TestApp, TestDatabase};
use reqwest::Method;
use serde_json::{Value, json};

const ITEM_1: &str = "Lay awake replaying the Thornbury quarrel";
const ITEM_2: &str = "Could not stop the Marrowgate worries once started";
const ITEM_3: &str = "Checked the Fenwick locks more than twice";
const ITEM_4: &str = "Avoided the Ellesmere news bulletins";
const ITEM_1_CHANGED: &str = "Lay awake going over the Oakhanger day";

fn location(r: &reqwest::Response) -> String {
    r.headers()["location"].to_str().unwrap().to_owned()
}

/// The form, as the therapist fills it in.
fn form<'a>(options: &'a str, items: &'a str, bands: &'a str) -> Vec<(&'static str, &'a str)> {
    vec![
        ("name", "Evening Worry Check"),
        ("short_name", "EWC-4"),
        ("instructions", "How often did these happen this week?"),
        ("time_frame", "Over the last week"),
        ("options", options),
        ("items", items),
        ("direction", "higher_is_worse"),
        ("bands", bands),
        ("risk_items", "2 >= 3 Talk about the worry in session"),
        ("max_prorated", "1"),
        ("licence", "Written by Dr Test Therapist for their own practice"),
    ]
}

async fn custom_instrument_lifecycle(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let app = TestApp::spawn(db).await;
    let therapist = app.verified_account("instruments@example.org").await;
    let token = app.create_access_token(&therapist, "tests", "30").await;
    let api = |method: Method, path: &str| reqwest::Client::new().request(method, app.url(path)).bearer_auth(&token);
    let r = api(Method::POST, "/api/v1/clients").json(&json!({"full_name": "Instrument Client"})).send().await.unwrap();
    let client = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();

    let items = [ITEM_1, ITEM_2, "", ITEM_3, ITEM_4].join("\n");
    let bands = "0-5 Low\n6-12 High";

    // A mistake: the second answer option has no points.
    let bad_options = "0 = Never\nSometimes\n2 = Often\n3 = Always";
    let r = app.submit(&therapist, "/instruments/new", "/instruments", &form(bad_options, &items, bands)).await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(page.contains("id=\"options-error\"") && page.contains("Answer options, line 2"), "{page}");
    for typed in [ITEM_1, ITEM_4, "Sometimes", "Evening Worry Check", "Talk about the worry in session", "6-12 High"] {
        assert!(page.contains(typed), "{typed:?} is kept in the rejected form");
    }

    // Proration of more than a quarter of the items is the domain's error,
    // shown on the form's field.
    let options = "0 = Never\n1 = Sometimes\n2 = Often\n3 = Always";
    let mut too_many = form(options, &items, bands);
    too_many.retain(|(k, _)| *k != "max_prorated");
    too_many.push(("max_prorated", "2"));
    let r = app.submit(&therapist, "/instruments/new", "/instruments", &too_many).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("id=\"max_prorated-error\""));

    // Fixed: saved, previewed, listed.
    let r = app.submit(&therapist, "/instruments/new", "/instruments", &form(options, &items, bands)).await;
    assert_eq!(r.status(), 303);
    let edit = location(&r);
    let edit = edit.split('?').next().unwrap().to_owned();
    let id = edit.strip_prefix("/instruments/").unwrap().to_owned();
    let page = therapist.get(app.url(&edit)).send().await.unwrap().text().await.unwrap();
    for shown in ["0–12", "6–12", "High", "definition version 1", "Talk about the worry in session"] {
        assert!(page.contains(shown), "the preview shows {shown:?}: {page}");
    }
    let list = therapist.get(app.url("/instruments")).send().await.unwrap().text().await.unwrap();
    assert!(list.contains(&format!("href=\"/instruments/{id}\"")) && list.contains("EWC-4") && list.contains("PHQ-9"));

    // A result of it, recorded for a client.
    let key = format!("custom:{id}");
    let new = format!("/clients/{client}/assessments/new?instrument={key}");
    let chooser = therapist.get(app.url(&format!("/clients/{client}/assessments/new"))).send().await.unwrap();
    assert!(chooser.text().await.unwrap().contains(&format!("instrument={key}")), "offered with the shipped ones");
    let answers = [
        ("instrument", key.as_str()),
        ("taken_on", "2026-11-20"),
        ("item.1", "3"),
        ("item.2", "3"),
        ("item.3", "2"),
        ("item.4", "1"),
    ];
    let r = app.submit(&therapist, &new, &format!("/clients/{client}/assessments"), &answers).await;
    assert_eq!(r.status(), 303);
    let result = location(&r).split('?').next().unwrap().to_owned();
    let page = therapist.get(app.url(&result)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("EWC-4: 9 (High)"), "{page}");
    assert!(page.contains("Talk about the worry in session"), "the risk item's flag");
    assert!(page.contains(ITEM_1));

    // Changed: new bands and an item's wording. A stale tab is refused.
    let changed_items = [ITEM_1_CHANGED, ITEM_2, ITEM_3, ITEM_4].join("\n");
    let mut change = form(options, &changed_items, "0-3 Low\n4-8 Moderate\n9-12 Severe");
    change.push(("version", "1"));
    let r = app.submit(&therapist, &edit, &edit, &change).await;
    assert_eq!(r.status(), 303);
    let r = app.submit(&therapist, &edit, &edit, &change).await;
    assert_eq!(r.status(), 409, "saved since version 1 was read");
    assert!(r.text().await.unwrap().contains(ITEM_1_CHANGED), "the refused change is kept");
    let page = therapist.get(app.url(&edit)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("definition version 2") && page.contains("Severe"), "{page}");

    // The past result keeps its copy of the definition: its score, band
    // and wording.
    let page = therapist.get(app.url(&result)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("EWC-4: 9 (High)") && page.contains(ITEM_1) && !page.contains(ITEM_1_CHANGED), "{page}");
    let (_, id_of_result) = result.rsplit_once('/').unwrap();
    let body: Value =
        api(Method::GET, &format!("/api/v1/assessments/{id_of_result}")).send().await.unwrap().json().await.unwrap();
    assert_eq!((body["instrument_version"].clone(), body["scales"][0]["band"].clone()), (json!(1), json!("High")));

    // The API: read with its version, changed whole, a bad one refused by field.
    let path = format!("/api/v1/instruments/{id}");
    let body: Value = api(Method::GET, &path).send().await.unwrap().json().await.unwrap();
    assert_eq!((body["version"].clone(), body["definition"]["version"].clone()), (json!(2), json!(2)));
    assert_eq!(body["key"], json!(key));
    let mut definition = body["definition"].clone();
    definition["scoring"]["bands"] = json!([]);
    let r = api(Method::PUT, &path).json(&json!({"version": 2, "definition": definition})).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["version"], 3);
    definition["items"][0]["scale"] = json!("nowhere");
    let r = api(Method::PUT, &path).json(&json!({"version": 3, "definition": definition})).send().await.unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(r.json::<Value>().await.unwrap()["errors"][0]["field"], "items");
    let r =
        api(Method::PUT, &path).json(&json!({"version": 2, "definition": body["definition"]})).send().await.unwrap();
    assert_eq!(r.status(), 409);
    let listed: Value = api(Method::GET, "/api/v1/instruments").send().await.unwrap().json().await.unwrap();
    assert!(listed["items"].as_array().unwrap().iter().any(|i| i["key"] == json!(key) && i["version"] == 3));

    // Audited, and no item text is in the database in the clear.
    let events = app.app.store().audit_entries_after(0, 10_000).await.unwrap();
    let count = |action: &str| events.iter().filter(|e| e.fields.action == action).count();
    assert_eq!(
        [count("instrument.create"), count("instrument.update"), count("instrument.read"), count("instrument.list")]
            .map(|n| n > 0),
        [true; 4]
    );
    assert_eq!(count("instrument.create"), 1, "rejected forms write nothing");
    let dump = app.db.raw_dump();
    for text in [ITEM_1, ITEM_2, ITEM_3, ITEM_4, ITEM_1_CHANGED, "Evening Worry Check", "Talk about the worry"] {
        assert!(!dump_holds(&dump, text.as_bytes()), "{text:?} is in a raw dump");
    }
    app.stop().await;
}

on_both_backends! {
    a_custom_instrument_is_written_used_and_changed => custom_instrument_lifecycle;
}
