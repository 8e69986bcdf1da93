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

/// The value of the hidden input `name` on a page, unescaped.
fn hidden_value(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("{name} in {html}")) + marker.len();
    html[start..].split('"').next().unwrap().replace("&#39;", "'").replace("&#34;", "\"")
}

/// A consenting therapist (AI drafts allowed) and `client_with_a_story`,
/// plus a note naming the client and a psychotherapy note holding a
/// canary: (pages, client id, note ids with the named one last).
async fn a_story_for_the_model(app: &TestApp, email: &str) -> (reqwest::Client, String, Vec<String>) {
    let web = app.verified_account(email).await;
    let r = app.submit(&web, "/account/ai-drafts", "/account/ai-drafts", &[("consent", "allow")]).await;
    assert_eq!(r.status(), 303);
    let (client, mut notes, _) = client_with_a_story(app, &web).await;
    let token = app.create_access_token(&web, "model", "30").await;
    let api = reqwest::Client::new();
    let body = json!({"format": "soap", "subjective": "Casey Storyline avoided the gym again.", "objective": "",
                      "assessment": "", "plan": ""});
    let r = api
        .post(app.url(&format!("/api/v1/clients/{client}/notes")))
        .bearer_auth(&token)
        .json(&json!({"date": "2026-10-22", "body": body}))
        .send()
        .await
        .unwrap();
    notes.push(r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned());
    let private = json!({"version": 0, "text": "PSYCHO-CANARY-5150 dreams of the sea"});
    let r = api
        .put(app.url(&format!("/api/v1/notes/{}/private", notes[0])))
        .bearer_auth(&token)
        .json(&private)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    (web, client, notes)
}

/// A cited sentence as a model writes it.
fn cited(text: &str, note: &str, quote: &str) -> Value {
    json!({"text": text, "source": format!("session_note:{note}:subjective"), "quote": quote})
}

async fn a_model_drafts_from_the_de_identified_records(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let fake = cbt_testkit::FakeLlm::start().await;
    let app = crate::ai_drafts::with_model(db, &fake, true).await;
    let (web, client, notes) = a_story_for_the_model(&app, "case-model@example.org").await;
    let page = format!("/clients/{client}/formulations/draft");
    let html = web.get(app.url(&page)).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Rule-based suggestion, not AI") && html.contains("Ask the AI instead"), "{html}");

    // An empty answer first, to see what the model is sent.
    let parts = [
        "beck.relevant_history",
        "beck.core_beliefs",
        "beck.conditional_assumptions",
        "beck.compensatory_strategies",
        "five_ps.presenting",
        "five_ps.predisposing",
        "five_ps.precipitating",
        "five_ps.perpetuating",
        "five_ps.protective",
    ];
    let empty: serde_json::Map<String, Value> = parts.iter().map(|p| ((*p).to_owned(), json!([]))).collect();
    fake.then(cbt_testkit::LlmReply::answer(Value::Object(empty.clone()).to_string()));
    let ai = format!("/clients/{client}/formulations/draft/ai");
    let r = app.submit(&web, &page, &ai, &[]).await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("AI suggestion from llama3.1:8b"), "{html}");
    assert!(html.contains("Recruiter rang about a job."), "worked examples quoted from the thought record");
    let sent = fake.everything_received();
    for secret in ["Casey", "Storyline", "2026-10-01", "PSYCHO-CANARY-5150", "the sea"] {
        assert!(!sent.contains(secret), "{secret} was sent");
    }
    assert!(sent.contains("Avoided the job centre all week."));
    assert!(sent.contains(&format!("session_note:{}:subjective", notes[1])), "each field by its source id");
    let request = fake.requests()[0].json();
    assert_eq!(request["response_format"]["json_schema"]["name"], "formulation");
    assert!(request["messages"][0]["content"].as_str().unwrap().contains("leave that part"));
    // (What was sent is the requests' JSON: a newline in it is `\n`.)
    let name = sent.split(" avoided the gym again.").next().unwrap().rsplit("\\n").next().unwrap().to_owned();
    assert!(name.starts_with("[NAME_"), "the client's name is a placeholder: {name}");

    // A real answer: a name put back, a line citing words no record has
    // flagged and left out of what is taken.
    let mut answer = empty;
    answer["beck.relevant_history"] =
        json!([cited("The client grew up with a critical father.", &notes[0], "Grew up with a critical father.")]);
    answer["five_ps.perpetuating"] = json!([
        cited(
            &format!("{name} avoids the gym and the job centre."),
            &notes[3],
            &format!("{name} avoided the gym again.")
        ),
        cited("The client drinks to cope.", &notes[1], "drinks heavily"),
    ]);
    fake.then(cbt_testkit::LlmReply::answer(Value::Object(answer).to_string()));
    let r = app.submit(&web, &page, &ai, &[]).await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("Casey Storyline avoids the gym and the job centre."), "{html}");
    assert!(html.contains(&format!("href=\"/notes/{}\"", notes[0])), "lines link to the record they cite");
    assert_eq!(html.matches("Not what its record says").count(), 1, "{html}");
    let perpetuating = hidden_value(&html, "suggested_five_ps.perpetuating");
    assert_eq!(perpetuating, "Casey Storyline avoids the gym and the job centre.", "the flagged line is not taken");
    assert_eq!(
        hidden_value(&html, "drafted_with"),
        "AI: llama3.1:8b (a server run for this practice), prompt formulation-v1"
    );

    // Taken: the new formulation form, filled and marked as AI-assisted.
    let form = [
        ("take_five_ps.perpetuating", "yes".to_owned()),
        ("suggested_five_ps.perpetuating", perpetuating),
        ("drafted_with", hidden_value(&html, "drafted_with")),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let filled = app.submit(&web, &page, &page, &form).await.text().await.unwrap();
    assert!(filled.contains("Casey Storyline avoids the gym and the job centre."), "{filled}");
    assert_eq!(
        hidden_value(&filled, "drafted_with"),
        "AI: llama3.1:8b (a server run for this practice), prompt formulation-v1"
    );

    // Hypotheses: evidence linked to the notes it cites, one invented piece
    // flagged, one proposal on a single record marked as thin.
    let hypotheses = json!({"hypotheses": [
        {"pattern": "Avoidance", "statement": format!("Avoidance may keep {name}'s low mood going."),
         "worksheet": "exposure_hierarchy",
         "evidence": [cited("Avoided the job centre.", &notes[1], "Avoided the job centre all week."),
                      cited("Avoids calls.", &notes[2], "Still avoids phone calls."),
                      cited("Avoids the bank.", &notes[0], "avoids the bank")]},
        {"pattern": "Self-criticism", "statement": "Self-criticism may be learnt early.", "worksheet": "none",
         "evidence": [cited("A critical father.", &notes[0], "Grew up with a critical father.")]}
    ]});
    fake.then(cbt_testkit::LlmReply::answer(hypotheses.to_string()));
    let page = format!("/clients/{client}/hypotheses/draft");
    let r = app.submit(&web, &page, &format!("{page}/ai"), &[]).await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("AI proposals from llama3.1:8b"), "{html}");
    assert!(html.contains("Avoidance may keep Casey Storyline&#39;s low mood going."), "{html}");
    assert!(html.contains(&format!("href=\"/notes/{}\"", notes[2])));
    assert!(html.contains(&format!("href=\"/clients/{client}/homework/new?source=library:exposure_hierarchy\"")));
    assert_eq!(html.matches("Not what its record says").count(), 1);
    assert_eq!(html.matches("fewer than two records").count(), 1, "{html}");
    assert!(!html.contains("name=\"evidence_2_text\""), "the flagged piece is not taken");
    let request = fake.requests().last().unwrap().json();
    assert_eq!(request["response_format"]["json_schema"]["name"], "hypotheses");

    let events = app.app.store().audit_entries_after(0, 100_000).await.unwrap();
    let calls: Vec<&str> =
        events.iter().filter(|e| e.fields.action == "ai.call").map(|e| e.fields.outcome.as_str()).collect();
    assert_eq!(calls, vec!["success"; 3]);
    let account = events.iter().find(|e| e.fields.action == "ai.call").unwrap().fields.actor_id.clone().unwrap();
    let rows = app.app.store().ai_calls_since(account.parse().unwrap(), time::OffsetDateTime::UNIX_EPOCH, 10).await;
    let mut purposes: Vec<(String, String)> =
        rows.unwrap().into_iter().map(|r| (r.purpose, r.prompt_version)).collect();
    purposes.sort();
    assert_eq!(
        purposes,
        vec![
            ("formulation".to_owned(), "formulation-v1".to_owned()),
            ("formulation".to_owned(), "formulation-v1".to_owned()),
            ("hypotheses".to_owned(), "hypotheses-v1".to_owned())
        ]
    );

    // The therapist sees each call on the AI drafts page: what it drafted
    // and how it ended, never what was sent.
    let html = web.get(app.url("/account/ai-drafts")).send().await.unwrap().text().await.unwrap();
    assert_eq!(html.matches("<td>Formulation</td>").count(), 2, "{html}");
    assert_eq!(html.matches("<td>Working hypotheses</td>").count(), 1);
    assert_eq!(html.matches("<td>Drafted</td>").count(), 3);
    assert!(html.contains(" of 2,000,000 tokens."), "{html}");
    assert!(!html.contains("In the last 30 days: 0 of"), "the calls' tokens are counted");
    assert!(!html.contains("Avoid") && !html.contains("Casey"), "nothing of the drafts on the page");
    app.stop().await;
}

async fn the_model_is_refused_for_restricted_clients_and_failures_fall_back_to_rules(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let fake = cbt_testkit::FakeLlm::start().await;
    let app = crate::ai_drafts::with_model(db, &fake, true).await;
    let (web, client, _) = a_story_for_the_model(&app, "case-model-refused@example.org").await;

    // Twice malformed: said, and the suggestion by rules shown instead.
    fake.always(cbt_testkit::LlmReply::answer("{\"hypotheses\": \"avoidance\"}"));
    let page = format!("/clients/{client}/hypotheses/draft");
    let r = app.submit(&web, &page, &format!("{page}/ai"), &[]).await;
    assert_eq!(r.status(), 503);
    let html = r.text().await.unwrap();
    assert!(html.contains("could not be used, twice. Nothing in the records was changed"), "{html}");
    assert!(html.contains("Rule-based proposals, not AI") && html.contains("Avoidance recurs"), "{html}");
    assert_eq!(fake.requests().len(), 2, "asked once more, then not again");
    let html = web.get(app.url("/account/ai-drafts")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("<td>Working hypotheses</td><td>llama3.1:8b</td><td>Answer unusable</td>"), "{html}");

    // A restricted client: no button, and asking anyway sends nothing.
    let token = app.create_access_token(&web, "restricted", "30").await;
    let api = reqwest::Client::new();
    let post = |path: String, body: Value| {
        let request = api.post(app.url(&path)).bearer_auth(&token).json(&body);
        async move { request.send().await.unwrap().json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned() }
    };
    let restricted = post("/api/v1/clients".into(), json!({"full_name": "Rhea Closed", "restricted": true})).await;
    let body = json!({"format": "soap", "subjective": "CASE-CANARY-9932 avoids trains. Avoided the bus too.",
                      "objective": "", "assessment": "", "plan": ""});
    for date in ["2026-11-01", "2026-11-08"] {
        post(format!("/api/v1/clients/{restricted}/notes"), json!({"date": date, "body": body})).await;
    }
    let page = format!("/clients/{restricted}/formulations/draft");
    let html = web.get(app.url(&page)).send().await.unwrap().text().await.unwrap();
    assert!(!html.contains("Ask the AI"), "{html}");
    let before = fake.requests().len();
    let r = app.submit(&web, &page, &format!("/clients/{restricted}/formulations/draft/ai"), &[]).await;
    assert_eq!(r.status(), 503);
    let html = r.text().await.unwrap();
    assert!(html.contains("marked restricted") && html.contains("CASE-CANARY-9932 avoids trains."), "{html}");
    let r = app.submit(&web, &page, &format!("/clients/{restricted}/hypotheses/draft/ai"), &[]).await;
    assert_eq!(r.status(), 503);
    assert_eq!(fake.requests().len(), before, "nothing about a restricted client reaches the model");
    assert!(!fake.everything_received().contains("CASE-CANARY-9932"));

    // Consent withdrawn: refused before anything is sent.
    app.submit(&web, "/account/ai-drafts", "/account/ai-drafts", &[("consent", "stop")]).await;
    let page = format!("/clients/{client}/formulations/draft");
    let r = app.submit(&web, &page, &format!("{page}/ai"), &[]).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("allow them on the AI drafts page first"));
    assert_eq!(fake.requests().len(), before);
    app.stop().await;
}

on_both_backends! {
    a_formulation_is_suggested_from_the_records_and_taken_in_part => formulation_from_the_records;
    hypotheses_are_proposed_from_recurring_patterns_with_linked_evidence => hypotheses_from_the_records;
    a_client_with_no_records_gets_empty_suggestions => an_empty_record_drafts_nothing_and_says_so;
    checklist_36_a_model_drafts_formulations_and_hypotheses_from_de_identified_records => a_model_drafts_from_the_de_identified_records;
    checklist_36_case_drafts_never_send_a_restricted_client_and_fall_back_to_rules => the_model_is_refused_for_restricted_clients_and_failures_fall_back_to_rules;
}
