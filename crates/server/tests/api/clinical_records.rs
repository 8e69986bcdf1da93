//! Formulations, hypotheses, treatment plans (with goal progress) and
//! homework over the JSON API, on SQLite and PostgreSQL: versions kept and
//! compared, plans signed and locked, evidence linked only to the
//! client's own notes, worksheets assigned and completed; each access
//! audited; nothing typed found in a raw dump.

use cbt_testkit::dump_holds;
use cbt_testkit::{TestApp, TestDatabase};
use reqwest::Method;
use serde_json::{Value, json};

const CORE_BELIEF: &str = "I am fundamentally unlovable (Quarrendon)";
const HYPOTHESIS: &str = "Safety behaviours on the Brackwell line keep the panic going";
const GOAL: &str = "Ride the Brackwell line two stops alone";
const ANSWER: &str = "Missed the Pellingham bus and thought everyone stared";

fn api(app: &TestApp, token: &str, method: Method, path: &str) -> reqwest::RequestBuilder {
    reqwest::Client::new().request(method, app.url(path)).bearer_auth(token)
}

async fn send(app: &TestApp, token: &str, method: Method, path: &str, body: Value) -> (u16, Value) {
    let mut request = api(app, token, method, path);
    if !body.is_null() {
        request = request.json(&body);
    }
    let r = request.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn fields_of(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map_or_else(Vec::new, |a| a.iter().map(|e| e["field"].as_str().unwrap().to_owned()).collect())
}

async fn new_client(app: &TestApp, token: &str, name: &str) -> String {
    let (status, body) = send(app, token, Method::POST, "/api/v1/clients", json!({"full_name": name})).await;
    assert_eq!(status, 201);
    body["id"].as_str().unwrap().to_owned()
}

async fn signed_note(app: &TestApp, token: &str, client: &str) -> String {
    let note = json!({"date": "2026-11-20", "body": {"format": "free", "text": "Avoided the train again"}});
    let (_, body) = send(app, token, Method::POST, &format!("/api/v1/clients/{client}/notes"), note).await;
    let id = body["id"].as_str().unwrap().to_owned();
    let (status, _) = send(app, token, Method::POST, &format!("/api/v1/notes/{id}/sign"), json!({"version": 1})).await;
    assert_eq!(status, 200);
    id
}

async fn records_lifecycle(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let app = TestApp::spawn(db).await;
    let token = app.api_token("records@example.org").await;
    let client = new_client(&app, &token, "Records Client").await;
    let other_client = new_client(&app, &token, "Other Client").await;
    let note = signed_note(&app, &token, &client).await;
    let other_note = signed_note(&app, &token, &other_client).await;

    // Formulation: created, revised, its versions kept.
    let formulation = json!({
        "title": "Initial formulation",
        "beck": {"core_beliefs": "I am unlovable", "examples": [
            {"situation": "Friend cancels", "automatic_thought": "She is bored of me", "emotion": "Sadness"}
        ]},
        "five_ps": {"presenting": "Low mood", "protective": "Supportive sister"}
    });
    let (status, body) =
        send(&app, &token, Method::POST, &format!("/api/v1/clients/{client}/formulations"), formulation.clone()).await;
    assert_eq!(status, 201);
    let f = format!("/api/v1/formulations/{}", body["id"].as_str().unwrap());
    let mut revised = formulation.clone();
    revised["beck"]["core_beliefs"] = json!(CORE_BELIEF);
    let (status, _) = send(&app, &token, Method::PUT, &f, json!({"version": 1, "content": revised})).await;
    assert_eq!(status, 200);
    let (status, _) = send(&app, &token, Method::PUT, &f, json!({"version": 1, "content": formulation})).await;
    assert_eq!(status, 409, "a stale tab does not overwrite");
    let (_, history) = send(&app, &token, Method::GET, &format!("{f}/history"), Value::Null).await;
    let beliefs: Vec<&str> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["content"]["beck"]["core_beliefs"].as_str().unwrap())
        .collect();
    assert_eq!(beliefs, ["I am unlovable", CORE_BELIEF]);
    let (status, body) = send(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/clients/{client}/formulations"),
        json!({"title": "x", "signed": true}),
    )
    .await;
    assert_eq!(status, 422, "unknown fields are refused: {body}");

    // Hypothesis: evidence links only to this client's own notes.
    let hypotheses = format!("/api/v1/clients/{client}/hypotheses");
    let with_source = |source: &str| {
        json!({"statement": HYPOTHESIS, "status": "supported", "evidence": [
            {"direction": "for", "text": "Avoided the train", "source": source}
        ]})
    };
    let (status, problem) = send(&app, &token, Method::POST, &hypotheses, with_source(&other_note)).await;
    assert_eq!((status, fields_of(&problem)), (422, vec!["evidence".to_owned()]), "another client's note");
    let (status, _) =
        send(&app, &token, Method::POST, &hypotheses, with_source(&uuid::Uuid::new_v4().to_string())).await;
    assert_eq!(status, 422, "a record that does not exist");
    let (status, body) = send(&app, &token, Method::POST, &hypotheses, with_source(&note)).await;
    assert_eq!(status, 201);
    let (_, h) =
        send(&app, &token, Method::GET, &format!("/api/v1/hypotheses/{}", body["id"].as_str().unwrap()), Value::Null)
            .await;
    assert_eq!(h["content"]["evidence"][0]["source"], json!(note));

    // Treatment plan: SMART goals before signing, locked after, progress
    // rated over time without touching the signed plan.
    let plans = format!("/api/v1/clients/{client}/plans");
    let mut plan = json!({
        "title": "Panic plan", "start_date": "2026-11-01", "review_date": "2027-01-10",
        "problems": "Panic attacks on trains", "goals": [{"description": GOAL}]
    });
    let (status, body) = send(&app, &token, Method::POST, &plans, plan.clone()).await;
    assert_eq!(status, 201);
    let p = format!("/api/v1/plans/{}", body["id"].as_str().unwrap());
    let (status, problem) = send(&app, &token, Method::POST, &format!("{p}/sign"), json!({"version": 1})).await;
    assert_eq!((status, fields_of(&problem)[0].as_str()), (422, "goals"), "not SMART yet");
    plan["goals"][0] = json!({"number": 1, "description": GOAL, "measure": "Stops travelled", "target": "2",
        "target_date": "2027-01-31", "interventions": "Graded exposure"});
    let (status, _) = send(&app, &token, Method::PUT, &p, json!({"version": 1, "content": plan})).await;
    assert_eq!(status, 200);
    let (status, _) = send(&app, &token, Method::POST, &format!("{p}/sign"), json!({"version": 2})).await;
    assert_eq!(status, 200);
    let (status, _) = send(&app, &token, Method::PUT, &p, json!({"version": 3, "content": plan})).await;
    assert_eq!(status, 409, "a signed plan is locked");
    let (status, _) =
        send(&app, &token, Method::POST, &format!("{p}/addenda"), json!({"text": "Reviewed with client"})).await;
    assert_eq!(status, 201);
    for (date, rating) in [("2026-11-10", 2), ("2026-11-20", 5)] {
        let rating = json!({"goal": 1, "date": date, "rating": rating, "comment": "Managed one stop"});
        let (status, _) = send(&app, &token, Method::POST, &format!("{p}/progress"), rating).await;
        assert_eq!(status, 201);
    }
    let (status, problem) = send(
        &app,
        &token,
        Method::POST,
        &format!("{p}/progress"),
        json!({"goal": 9, "date": "2026-11-20", "rating": 4}),
    )
    .await;
    assert_eq!((status, fields_of(&problem)), (422, vec!["goal".to_owned()]), "not a goal of the plan");
    let (status, problem) = send(
        &app,
        &token,
        Method::POST,
        &format!("{p}/progress"),
        json!({"goal": 1, "date": "2026-11-20", "rating": 11}),
    )
    .await;
    assert_eq!((status, fields_of(&problem)), (422, vec!["rating".to_owned()]));
    let (_, progress) = send(&app, &token, Method::GET, &format!("{p}/progress"), Value::Null).await;
    let ratings: Vec<i64> =
        progress["items"].as_array().unwrap().iter().map(|r| r["content"]["rating"].as_i64().unwrap()).collect();
    assert_eq!(ratings, [2, 5], "oldest first");
    let (_, signed) = send(&app, &token, Method::GET, &p, Value::Null).await;
    assert_eq!(
        (signed["version"].clone(), signed["signed"].clone()),
        (json!(3), json!(true)),
        "rating left the plan alone"
    );

    // A goal's number is given, not chosen: no overflow, no renumbering.
    let far = json!({"title": "Far", "start_date": "2026-11-01",
        "goals": [{"number": u32::MAX, "description": "a"}, {"description": "b"}]});
    let (status, problem) = send(&app, &token, Method::POST, &plans, far).await;
    assert_eq!((status, fields_of(&problem)), (422, vec!["goals".to_owned()]));

    // Worksheets and homework.
    let (_, sheets) = send(&app, &token, Method::GET, "/api/v1/worksheets", Value::Null).await;
    assert_eq!(sheets["total"], 5, "the library");
    let custom = json!({"title": "Worry log", "purpose": "", "fields": [
        {"key": "ignored", "label": "What was the worry?", "kind": "long_text"},
        {"key": "ignored2", "label": "How strong", "kind": "rating"}
    ]});
    let (status, body) = send(&app, &token, Method::POST, "/api/v1/worksheets", custom).await;
    assert_eq!(status, 201);
    let custom_id = body["id"].as_str().unwrap().to_owned();
    let (_, sheets) = send(&app, &token, Method::GET, "/api/v1/worksheets", Value::Null).await;
    assert_eq!(sheets["total"], 6);
    let homework = format!("/api/v1/clients/{client}/homework");
    let (status, problem) = send(&app, &token, Method::POST, &homework, json!({"source": "library:nonsense"})).await;
    assert_eq!((status, fields_of(&problem)), (422, vec!["source".to_owned()]));
    let (status, body) =
        send(&app, &token, Method::POST, &homework, json!({"source": format!("custom:{custom_id}")})).await;
    assert_eq!(status, 201, "a custom worksheet of one's own: {body}");
    // Due a week from today: the rule is "on or after the day assigned", and
    // the server assigns on its own today.
    let due = (time::OffsetDateTime::now_utc().date() + time::Duration::days(7)).to_string();
    let assignment = json!({"source": "library:thought_record", "instructions": "One a day", "due_on": due});
    let (status, body) = send(&app, &token, Method::POST, &homework, assignment).await;
    assert_eq!(status, 201);
    let hw = format!("/api/v1/homework/{}", body["id"].as_str().unwrap());
    let (_, assigned) = send(&app, &token, Method::GET, &hw, Value::Null).await;
    assert_eq!(assigned["content"]["worksheet"]["title"], "Thought record (seven columns)");
    let mut done = assigned["content"].clone();
    done["status"] = json!("completed");
    done["responses"] = json!({"situation": ANSWER, "mood_rating": "180"});
    let (status, problem) = send(&app, &token, Method::PUT, &hw, json!({"version": 1, "content": done})).await;
    assert_eq!((status, fields_of(&problem)), (422, vec!["responses".to_owned()]), "a rating over 100");
    done["responses"]["mood_rating"] = json!("80");
    done["worksheet"]["title"] = json!("Swapped worksheet");
    let (status, _) = send(&app, &token, Method::PUT, &hw, json!({"version": 1, "content": done})).await;
    assert_eq!(status, 200);
    let (_, completed) = send(&app, &token, Method::GET, &hw, Value::Null).await;
    assert_eq!(
        (completed["content"]["worksheet"]["title"].clone(), completed["content"]["responses"]["mood_rating"].clone()),
        (json!("Thought record (seven columns)"), json!("80")),
        "answers recorded against the worksheet as assigned, which no update replaces"
    );
    let (_, list) = send(&app, &token, Method::GET, &homework, Value::Null).await;
    assert_eq!(list["total"], 2);

    // Audited, and nothing typed is in the database in the clear.
    let events = app.app.store().audit_entries_after(0, 10_000).await.unwrap();
    let count = |action: &str| events.iter().filter(|e| e.fields.action == action).count();
    assert_eq!(
        [
            count("formulation.create"),
            count("formulation.update"),
            count("formulation.history"),
            count("hypothesis.create"),
            count("hypothesis.read"),
            count("plan.sign"),
            count("plan.addendum"),
            count("plan.progress_record"),
            count("plan.progress_read"),
            count("homework.assign"),
            count("homework.update"),
            count("worksheet.create"),
        ],
        [1, 1, 1, 1, 1, 1, 1, 2, 1, 2, 1, 1]
    );
    let dump = app.db.raw_dump();
    for typed in [CORE_BELIEF, HYPOTHESIS, GOAL, ANSWER, "Worry log", "Graded exposure"] {
        assert!(!dump_holds(&dump, typed.as_bytes()), "{typed:?} is in a raw dump");
        assert!(events.iter().all(|e| !format!("{e:?}").contains(typed)), "{typed:?} in the audit log");
    }
    app.stop().await;
}

on_both_backends! {
    formulations_hypotheses_plans_and_homework_are_kept_versioned_and_sealed => records_lifecycle;
}
