//! Formulation and hypothesis drafts from a client's records (issue 8):
//! every line quoted from a record and linked to it, nothing saved until
//! the therapist saves, each draft audited as metadata.

use cbt_testkit::TestApp;
use cbt_testkit::TestDatabase;
use reqwest::Method;
use serde_json::{Value, json};

/// A client whose records show avoidance in two notes, a history and a
/// precipitant, thoughts of failure in a thought record and a note, and a
/// PHQ-9 falling from 19 to 9: (pages, client id, note ids, result ids).
pub async fn client_with_a_story(app: &TestApp, web: &reqwest::Client) -> (String, Vec<String>, Vec<String>) {
    let token = app.create_access_token(web, "tests", "30").await;
    let call = |method: Method, path: String, body: Value| {
        let request = reqwest::Client::new().request(method, app.url(&path)).bearer_auth(&token).json(&body);
        async move {
            let r = request.send().await.unwrap();
            assert!(r.status().is_success(), "{path}: {}", r.status());
            r.json::<Value>().await.unwrap_or_default()
        }
    };
    let client = json!({"full_name": "Casey Storyline", "presenting_problems": "Low mood and avoidance of work."});
    let client = call(Method::POST, "/api/v1/clients".into(), client).await["id"].as_str().unwrap().to_owned();
    let mut notes = Vec::new();
    for (date, subjective) in [
        ("2026-10-01", "Grew up with a critical father. Low mood since the redundancy in May."),
        ("2026-10-08", "Avoided the job centre all week. Enjoys walks with her sister."),
        ("2026-10-15", "Still avoids phone calls. ANT: \"I always fail at interviews\"."),
    ] {
        let body = json!({"format": "soap", "subjective": subjective, "objective": "", "assessment": "", "plan": ""});
        let note =
            call(Method::POST, format!("/api/v1/clients/{client}/notes"), json!({"date": date, "body": body})).await;
        notes.push(note["id"].as_str().unwrap().to_owned());
    }
    let homework = call(
        Method::POST,
        format!("/api/v1/clients/{client}/homework"),
        json!({"source": "library:thought_record", "instructions": "One a day"}),
    )
    .await;
    let hw = format!("/api/v1/homework/{}", homework["id"].as_str().unwrap());
    let mut done = call(Method::GET, hw.clone(), Value::Null).await["content"].clone();
    done["status"] = json!("completed");
    done["responses"] = json!({
        "situation": "Recruiter rang about a job.",
        "moods": "Anxious 80",
        "automatic_thoughts": "I'm useless. They will see through me."
    });
    call(Method::PUT, hw, json!({"version": 1, "content": done})).await;
    let mut results = Vec::new();
    for (date, answers) in [("2026-10-01", [3, 2, 2, 2, 2, 2, 2, 2, 2]), ("2026-10-15", [1, 1, 1, 1, 1, 1, 1, 2, 0])] {
        let result = json!({"instrument": "phq-9", "taken_on": date, "answers": answers});
        let r = call(Method::POST, format!("/api/v1/clients/{client}/assessments"), result).await;
        results.push(r["id"].as_str().unwrap().to_owned());
    }
    (client, notes, results)
}

fn count(events: &[cbt_domain::audit::AuditEntry], action: &str) -> usize {
    events.iter().filter(|e| e.fields.action == action).count()
}

async fn formulation_from_the_records(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let app = TestApp::spawn(db).await;
    let web = app.verified_account("formulate@example.org").await;
    let (client, notes, _) = client_with_a_story(&app, &web).await;
    let page = format!("/clients/{client}/formulations/draft");
    let html = web.get(app.url(&page)).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Rule-based suggestion, not AI"), "{html}");
    for quoted in [
        "Grew up with a critical father.",
        "Low mood since the redundancy in May.",
        "Avoided the job centre all week.",
        "Low mood and avoidance of work.",
        "PHQ-9: 9 (Mild) on 2026-10-15",
        "Recruiter rang about a job.",
    ] {
        assert!(html.contains(quoted), "{quoted} is quoted: {html}");
    }
    assert!(!html.contains("PHQ-9: 19"), "only the latest score of a questionnaire");
    assert!(html.contains(&format!("href=\"/notes/{}\"", notes[0])), "each line links to its record");

    // Take two parts and the example: the new form, filled, not saved.
    let html_value = |name: &str| {
        let marker = format!("name=\"{name}\" value=\"");
        let start = html.find(&marker).unwrap_or_else(|| panic!("{name} in {html}")) + marker.len();
        html[start..].split('"').next().unwrap().replace("&#39;", "'").replace("&#34;", "\"")
    };
    let form = [
        ("take_five_ps.precipitating", "yes".to_owned()),
        ("suggested_five_ps.precipitating", html_value("suggested_five_ps.precipitating")),
        ("take_beck.relevant_history", "yes".to_owned()),
        ("suggested_beck.relevant_history", html_value("suggested_beck.relevant_history")),
        ("take_example_0", "yes".to_owned()),
        ("example_0_situation", html_value("example_0_situation")),
        ("example_0_automatic_thought", html_value("example_0_automatic_thought")),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = app.submit(&web, &page, &page, &form).await;
    assert_eq!(r.status(), 200);
    let filled = r.text().await.unwrap();
    assert!(filled.contains("nothing is saved until you save"), "{filled}");
    assert!(filled.contains("Low mood since the redundancy in May."));
    assert!(filled.contains("I&#39;m useless."), "the example's hot thought: {filled}");
    assert!(!filled.contains("Avoided the job centre"), "a part not taken is not in the form");
    let token = app.create_access_token(&web, "check", "30").await;
    let list = reqwest::Client::new()
        .get(app.url(&format!("/api/v1/clients/{client}/formulations")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(list["total"], 0, "a suggestion saves nothing");

    let events = app.app.store().audit_entries_after(0, 100_000).await.unwrap();
    // Drafted twice: once read above, once by `submit` fetching its form.
    assert_eq!(count(&events, "formulation.draft"), 2);
    let drafted = events.iter().find(|e| e.fields.action == "formulation.draft").unwrap();
    assert_eq!((drafted.fields.target_kind.as_str(), drafted.fields.target_id.as_deref()), ("client", Some(&*client)));
    app.stop().await;
}

async fn hypotheses_from_the_records(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let app = TestApp::spawn(db).await;
    let web = app.verified_account("hypothesise@example.org").await;
    let (client, notes, results) = client_with_a_story(&app, &web).await;
    let page = format!("/clients/{client}/hypotheses/draft");
    let html = web.get(app.url(&page)).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Rule-based proposals, not AI"), "{html}");
    assert!(html.contains("Avoidance recurs"), "{html}");
    assert!(html.contains("Thoughts of failure"), "a thought record and a note that quotes a thought: {html}");
    assert!(html.contains("PHQ-9 scores fell from 19 to 9"), "{html}");
    assert!(html.contains(&format!("href=\"/notes/{}\"", notes[1])));
    assert!(html.contains(&format!("href=\"/assessments/{}\"", results[0])));
    assert!(
        html.contains(&format!("href=\"/clients/{client}/homework/new?source=library:exposure_hierarchy\"")),
        "the worksheet that would test avoidance"
    );
    let assign = web
        .get(app.url(&format!("/clients/{client}/homework/new?source=library:exposure_hierarchy")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(assign.contains("value=\"library:exposure_hierarchy\" selected"), "{assign}");

    // Take the avoidance proposal: the hypothesis form with its evidence
    // linked to the notes, unsaved; saving it keeps the links.
    let statement = "Avoidance recurs: it may be keeping the fear going by never letting it be tested.";
    let form = [
        ("statement", statement.to_owned()),
        ("evidence_0_text", "Avoided the job centre all week.".to_owned()),
        ("evidence_0_source", notes[1].clone()),
        ("evidence_1_text", "Still avoids phone calls.".to_owned()),
        ("evidence_1_source", notes[2].clone()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = app.submit(&web, &page, &page, &form).await;
    assert_eq!(r.status(), 200);
    let filled = r.text().await.unwrap();
    assert!(filled.contains("nothing is saved until you save"));
    assert!(filled.contains(&format!("<option value=\"{}\" selected>", notes[1])), "{filled}");

    let events = app.app.store().audit_entries_after(0, 100_000).await.unwrap();
    assert_eq!(count(&events, "hypothesis.draft"), 2, "read above, and by `submit` fetching its form");
    assert_eq!(count(&events, "hypothesis.create"), 0, "nothing saved");
    app.stop().await;
}

async fn an_empty_record_drafts_nothing_and_says_so(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let app = TestApp::spawn(db).await;
    let web = app.verified_account("empty-case@example.org").await;
    let token = app.create_access_token(&web, "tests", "30").await;
    let client = reqwest::Client::new()
        .post(app.url("/api/v1/clients"))
        .bearer_auth(&token)
        .json(&json!({"full_name": "New Client"}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let html =
        web.get(app.url(&format!("/clients/{client}/hypotheses/draft"))).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("No pattern recurs in the records yet"), "{html}");
    let html =
        web.get(app.url(&format!("/clients/{client}/formulations/draft"))).send().await.unwrap().text().await.unwrap();
    assert_eq!(html.matches("Nothing in the records speaks to this").count(), 9, "every part left empty: {html}");
    app.stop().await;
}

on_both_backends! {
    a_formulation_is_suggested_from_the_records_and_taken_in_part => formulation_from_the_records;
    hypotheses_are_proposed_from_recurring_patterns_with_linked_evidence => hypotheses_from_the_records;
    a_client_with_no_records_gets_empty_suggestions => an_empty_record_drafts_nothing_and_says_so;
}
