//! AI-assisted drafts settings: which engine drafts, the BAA gate, and the
//! therapist's recorded consent (checklist 36).

use cbt_testkit::{FakeLlm, TestApp, TestDatabase};
use serde_json::{Value, json};

/// The app with the fake provider configured as a self-hosted model,
/// covered by a BAA or not.
pub async fn with_model(db: TestDatabase, fake: &FakeLlm, baa: bool) -> TestApp {
    let endpoint = format!("{}/v1", fake.base_url());
    TestApp::spawn_with(db, move |s| {
        s.llm_provider = "self-hosted".into();
        s.llm_endpoint = Some(endpoint);
        s.llm_model = Some("llama3.1:8b".into());
        s.llm_baa = baa;
    })
    .await
}

async fn page(app: &TestApp, web: &reqwest::Client) -> String {
    web.get(app.url("/account/ai-drafts")).send().await.unwrap().text().await.unwrap()
}

fn audit_count(events: &[cbt_domain::audit::AuditEntry], action: &str) -> usize {
    events.iter().filter(|e| e.fields.action == action).count()
}

async fn nothing_configured_drafts_by_rules(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let app = TestApp::spawn(db).await;
    let web = app.verified_account("rules@example.org").await;
    let html = page(&app, &web).await;
    assert!(html.contains("Rule-based structured drafting"), "{html}");
    assert!(html.contains("nothing leaves this server"));
    assert!(!html.contains("Allow AI drafts"), "nothing to consent to");
    // Allowing anyway is refused with a reason, and nothing is recorded.
    let r = app.submit(&web, "/account/ai-drafts", "/account/ai-drafts", &[("consent", "allow")]).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("nothing to allow"));
    let events = app.app.store().audit_entries_after(0, 100_000).await.unwrap();
    assert_eq!(audit_count(&events, "consent.ai_drafts_give"), 0);
    app.stop().await;
}

async fn a_model_without_a_baa_is_never_called(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let fake = FakeLlm::start().await;
    let app = with_model(db, &fake, false).await;
    let web = app.verified_account("nobaa@example.org").await;
    let html = page(&app, &web).await;
    assert!(html.contains("has not marked it as"), "{html}");
    assert!(html.contains("llama3.1:8b"));
    assert!(!html.contains("Allow AI drafts"));
    let r = app.submit(&web, "/account/ai-drafts", "/account/ai-drafts", &[("consent", "allow")]).await;
    assert_eq!(r.status(), 422, "no consent to a model that may not be used");
    assert!(fake.requests().is_empty(), "no request was made at all");
    app.stop().await;
}

async fn consent_is_recorded_audited_and_withdrawn(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let fake = FakeLlm::start().await;
    let app = with_model(db, &fake, true).await;
    let web = app.verified_account("consent@example.org").await;
    let html = page(&app, &web).await;
    assert!(html.contains("covered by a business associate agreement"), "{html}");
    assert!(html.contains("You have not allowed AI drafts."));

    let allow = [("consent", "allow")];
    let r = app.submit(&web, "/account/ai-drafts", "/account/ai-drafts", &allow).await;
    assert_eq!(r.status(), 303);
    assert!(page(&app, &web).await.contains("You allowed AI drafts on "));
    // Pressed twice (a second tab): recorded once.
    app.submit(&web, "/account/ai-drafts", "/account/ai-drafts", &allow).await;
    let r = app.submit(&web, "/account/ai-drafts", "/account/ai-drafts", &[("consent", "stop")]).await;
    assert_eq!(r.status(), 303);
    let html = page(&app, &web).await;
    assert!(html.contains("You stopped AI drafts on "), "{html}");
    assert!(html.contains("Allow AI drafts"), "can be given again");

    let r = app.submit(&web, "/account/ai-drafts", "/account/ai-drafts", &[("consent", "maybe")]).await;
    assert_eq!(r.status(), 422, "only allow or stop");

    let events = app.app.store().audit_entries_after(0, 100_000).await.unwrap();
    assert_eq!(audit_count(&events, "consent.ai_drafts_give"), 1);
    assert_eq!(audit_count(&events, "consent.ai_drafts_withdraw"), 1);
    assert!(fake.requests().is_empty(), "consenting calls no model");
    app.stop().await;
}

/// A therapist with a client and a SOAP note whose plan already says
/// something: (pages, token, note id).
async fn therapist_with_note(app: &TestApp, email: &str) -> (reqwest::Client, String, String) {
    let web = app.verified_account(email).await;
    let token = app.create_access_token(&web, "tests", "30").await;
    let post = |path: String, body: Value| {
        let request = reqwest::Client::new().post(app.url(&path)).bearer_auth(&token).json(&body);
        async move { request.send().await.unwrap().json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned() }
    };
    let client = post("/api/v1/clients".into(), json!({"full_name": "Robin Drafted"})).await;
    let body =
        json!({"format": "soap", "subjective": "", "objective": "", "assessment": "", "plan": "Review sleep diary."});
    let note = post(format!("/api/v1/clients/{client}/notes"), json!({"date": "2026-11-20", "body": body})).await;
    (web, token, note)
}

const SHORTHAND: &str = "Pt reports poor sleep x2 wks, denies SI.\nIntroduced TR for ANTs about work.\n\
    HW: TR daily\nDog's name is Biscuit.";

/// The values of the hidden `suggested_*` fields and the checked choices
/// on the suggestion page, as the browser would send them.
fn take_form(html: &str, choices: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut form = Vec::new();
    for part in html.split("<input type=\"hidden\" name=\"").skip(1) {
        let name = part.split('"').next().unwrap();
        if name.starts_with("suggested_") || name == "version" || name == "drafted_with" {
            let value = part.split("value=\"").nth(1).unwrap().split('"').next().unwrap();
            form.push((name.to_owned(), html_unescape(value)));
        }
    }
    for (section, choice) in choices {
        form.push((format!("take_{section}"), (*choice).to_owned()));
    }
    form
}

fn html_unescape(s: &str) -> String {
    s.replace("&#10;", "\n")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

async fn a_note_is_suggested_from_shorthand_and_taken_in_part(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let app = TestApp::spawn(db).await;
    let (web, token, note) = therapist_with_note(&app, "drafter@example.org").await;
    let page = format!("/notes/{note}/draft");

    // Nothing typed: the field is named, nothing drafted.
    let r = app.submit(&web, &page, &page, &[("shorthand", "   "), ("transcript", "Client: I feel stuck.")]).await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"shorthand-error\""), "the shorthand is named");
    assert!(html.contains("Client: I feel stuck."), "what was typed is kept");

    let r = app
        .submit(&web, &page, &page, &[("shorthand", SHORTHAND), ("transcript", "Client: I feel stuck at work.")])
        .await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("Rule-based suggestion, not AI."));
    assert!(html.contains("Client reports poor sleep x2 weeks, denies suicidal ideation."), "{html}");
    assert!(
        html.contains("The client said: “I feel stuck at work.”")
            || html.contains("The client said: &quot;I feel stuck at work.&quot;")
            || html.contains("The client said: &#34;I feel stuck at work.&#34;"),
        "{html}"
    );
    assert!(html.contains("Review sleep diary."), "the note's text beside it");
    // Where the note has text, what using the suggestion would change.
    assert_eq!(html.matches("would change</h3>").count(), 1, "only the plan has text to change: {html}");
    assert!(html.contains("<del><span class=\"visually-hidden\">removed: </span>Review sleep diary."), "{html}");
    assert!(html.contains("<ins><span class=\"visually-hidden\">added: </span>thought record daily</ins>"), "{html}");
    assert!(
        html.contains("Dog&#x27;s name is Biscuit.")
            || html.contains("Dog&#39;s name is Biscuit.")
            || html.contains("Dog's name is Biscuit."),
        "unplaced, shown"
    );
    assert!(!html.contains("Not what its source says"), "every line is supported");

    // Nothing is saved by drafting.
    let saved: Value = reqwest::Client::new()
        .get(app.url(&format!("/api/v1/notes/{note}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(saved["version"], 1);

    // Take the subjective, add to the plan, keep the rest.
    let form = take_form(&html, &[("subjective", "replace"), ("objective", "keep"), ("plan", "add")]);
    let mut fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let csrf = html.split("name=\"csrf_token\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    fields.push(("csrf_token", &csrf));
    let r = web.post(app.url(&format!("/notes/{note}/draft/take"))).form(&fields).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let form_html = r.text().await.unwrap();
    assert!(form_html.contains("Nothing is saved until you save."));
    let subjective = form_html.split("name=\"subjective\"").nth(1).unwrap().split("</textarea>").next().unwrap();
    assert!(subjective.contains("Client reports poor sleep"), "{subjective}");
    assert!(subjective.contains("I feel stuck at work."));
    let objective = form_html.split("name=\"objective\"").nth(1).unwrap().split("</textarea>").next().unwrap();
    assert!(!objective.contains("thought record"), "kept as it was: {objective}");
    let plan = form_html.split("name=\"plan\"").nth(1).unwrap().split("</textarea>").next().unwrap();
    assert!(plan.contains("Review sleep diary.\nthought record daily"), "added below: {plan}");
    assert!(
        form_html.contains("name=\"drafted_with\" value=\"rule-based drafting (no AI)\""),
        "the form carries what drafted it, for the version it saves"
    );
    let saved: Value = reqwest::Client::new()
        .get(app.url(&format!("/api/v1/notes/{note}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(saved["version"], 1, "still nothing saved");
    assert_eq!(saved["content"]["body"]["plan"], "Review sleep diary.");

    let events = app.app.store().audit_entries_after(0, 100_000).await.unwrap();
    assert_eq!(audit_count(&events, "note.draft"), 1, "the draft is audited (the refused one is not)");
    app.stop().await;
}

async fn another_therapists_note_cannot_be_drafted(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let app = TestApp::spawn(db).await;
    let (_, _, note) = therapist_with_note(&app, "owner-drafts@example.org").await;
    let stranger = app.verified_account("stranger-drafts@example.org").await;
    let r = stranger.get(app.url(&format!("/notes/{note}/draft"))).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let own = "/clients";
    let r = app.submit(&stranger, own, &format!("/notes/{note}/draft"), &[("shorthand", SHORTHAND)]).await;
    assert_eq!(r.status(), 404);
    let r = app
        .submit(
            &stranger,
            own,
            &format!("/notes/{note}/draft/take"),
            &[("version", "1"), ("take_plan", "replace"), ("suggested_plan", "x")],
        )
        .await;
    assert_eq!(r.status(), 404);
    app.stop().await;
}

/// A therapist who allowed AI drafts, with a client whose name, birth
/// date and phone are known, a SOAP note and a psychotherapy note holding a
/// canary: (pages, token, note id).
async fn consenting_therapist(app: &TestApp, email: &str) -> (reqwest::Client, String, String) {
    let web = app.verified_account(email).await;
    let token = app.create_access_token(&web, "tests", "30").await;
    let send = |method: reqwest::Method, path: String, body: Value| {
        let request = reqwest::Client::new().request(method, app.url(&path)).bearer_auth(&token).json(&body);
        async move {
            let r = request.send().await.unwrap();
            assert!(r.status().is_success(), "{path}: {}", r.status());
            r.json::<Value>().await.unwrap_or_default()["id"].as_str().unwrap_or_default().to_owned()
        }
    };
    let client = json!({"full_name": "Delphine Okafor", "date_of_birth": "1990-03-07", "phone": "+44 7700 900123"});
    let client = send(reqwest::Method::POST, "/api/v1/clients".into(), client).await;
    let body = json!({"format": "soap", "subjective": "", "objective": "", "assessment": "", "plan": ""});
    let note = send(
        reqwest::Method::POST,
        format!("/api/v1/clients/{client}/notes"),
        json!({"date": "2026-11-20", "body": body}),
    )
    .await;
    let private = json!({"version": 0, "text": "PSYCHO-CANARY-7731 dreams about the lake"});
    send(reqwest::Method::PUT, format!("/api/v1/notes/{note}/private"), private).await;
    let r = app.submit(&web, "/account/ai-drafts", "/account/ai-drafts", &[("consent", "allow")]).await;
    assert_eq!(r.status(), 303);
    (web, token, note)
}

const MODEL_SHORTHAND: &str =
    "Delphine Okafor reports poor sleep x2 wks, born 07/03/1990, call +44 7700 900123.\nHW: TR daily";

/// What a model following the prompt answers for `MODEL_SHORTHAND`, as
/// de-identified.
fn model_answer() -> String {
    json!({
        "subjective": [{"text": "[NAME_1] reports poor sleep for two weeks.", "source": "shorthand",
                        "quote": "[NAME_1] reports poor sleep x2 wks"}],
        "objective": [],
        "assessment": [],
        "plan": [{"text": "Homework: a thought record every day.", "source": "shorthand", "quote": "HW: TR daily"},
                 {"text": "Mental status within normal limits.", "source": "shorthand", "quote": "MSE normal"}]
    })
    .to_string()
}

async fn ask_model(app: &TestApp, web: &reqwest::Client, note: &str) -> reqwest::Response {
    let page = format!("/notes/{note}/draft");
    app.submit(web, &page, &page, &[("shorthand", MODEL_SHORTHAND), ("action", "model")]).await
}

async fn a_model_drafts_from_de_identified_sources(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let fake = FakeLlm::start().await;
    fake.always(cbt_testkit::LlmReply::answer(model_answer()));
    let app = with_model(db, &fake, true).await;
    let (web, _, note) = consenting_therapist(&app, "ai-drafter@example.org").await;
    let form = web.get(app.url(&format!("/notes/{note}/draft"))).send().await.unwrap().text().await.unwrap();
    assert!(form.contains("Suggest with AI (llama3.1:8b)"), "{form}");

    let r = ask_model(&app, &web, &note).await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("AI suggestion from llama3.1:8b"), "{html}");
    assert!(html.contains("Delphine Okafor reports poor sleep for two weeks."), "names put back: {html}");
    assert!(html.contains("From your shorthand: “Delphine Okafor reports poor sleep x2 wks”"), "{html}");
    assert_eq!(html.matches("Not what its source says").count(), 1, "the invented finding is flagged, only it");

    // What reached the provider: de-identified sources, the versioned
    // prompt, the schema; never the psychotherapy note.
    let sent = fake.everything_received();
    for secret in ["Delphine", "Okafor", "1990", "7700", "900123", "PSYCHO-CANARY-7731", "lake"] {
        assert!(!sent.contains(secret), "{secret} was sent");
    }
    assert!(sent.contains("[NAME_1] reports poor sleep x2 wks"));
    let request = fake.requests()[0].json();
    assert_eq!(request["response_format"]["json_schema"]["name"], "session_note");
    assert_eq!(request["temperature"], 0.0);

    // Each call is audited, as metadata only.
    let events = app.app.store().audit_entries_after(0, 100_000).await.unwrap();
    let calls: Vec<_> = events.iter().filter(|e| e.fields.action == "ai.call").collect();
    assert_eq!(calls.len(), 1);
    assert_eq!((calls[0].fields.outcome.as_str(), calls[0].fields.target_kind.as_str()), ("success", "ai_call"));
    let account = calls[0].fields.actor_id.clone().unwrap().parse().unwrap();
    let rows = app.app.store().ai_calls_since(account, time::OffsetDateTime::UNIX_EPOCH, 10).await.unwrap();
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(
        (row.purpose.as_str(), row.provider.as_str(), row.model.as_str()),
        ("session_note", "self-hosted", "llama3.1:8b")
    );
    assert_eq!((row.prompt_version.as_str(), row.attempts, row.outcome.as_str()), ("session-note-v1", 1, "success"));
    assert!(row.prompt_tokens > 0 && row.completion_tokens > 0 && row.first_token_ms.is_some());
    app.stop().await;
}

async fn bad_answers_and_outages_keep_the_therapists_text(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let fake = FakeLlm::start().await;
    let app = with_model(db, &fake, true).await;
    let (web, _, note) = consenting_therapist(&app, "ai-failures@example.org").await;

    // Not JSON, then a good answer: asked once more, told why.
    fake.then(cbt_testkit::LlmReply::answer("Sure! Here is the note: S: poor sleep"));
    fake.then(cbt_testkit::LlmReply::answer(model_answer()));
    let r = ask_model(&app, &web, &note).await;
    assert_eq!(r.status(), 200);
    let second = fake.requests()[1].json();
    let messages = second["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 4, "the prompt, the sources, the bad answer, the correction");
    assert!(messages[3]["content"].as_str().unwrap().contains("the answer is not JSON"));

    // Twice unusable: a clear message, the shorthand kept.
    fake.always(cbt_testkit::LlmReply::answer("{\"subjective\": \"poor sleep\"}"));
    let r = ask_model(&app, &web, &note).await;
    assert_eq!(r.status(), 503);
    let html = r.text().await.unwrap();
    assert!(html.contains("could not be used, twice"), "{html}");
    assert!(html.contains("HW: TR daily"), "what was typed is kept");

    // Rate limited for longer than the app waits: said, with the wait.
    fake.always(cbt_testkit::LlmReply::Status { status: 429, retry_after: Some("60".into()) });
    let r = ask_model(&app, &web, &note).await;
    assert_eq!(r.status(), 503);
    assert!(r.text().await.unwrap().contains("try again in 60 seconds"));

    let events = app.app.store().audit_entries_after(0, 100_000).await.unwrap();
    let outcomes: Vec<&str> =
        events.iter().filter(|e| e.fields.action == "ai.call").map(|e| e.fields.outcome.as_str()).collect();
    assert_eq!(outcomes, vec!["success", "failure", "failure"]);
    app.stop().await;
}

async fn no_consent_no_call_and_budgets_hold(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let fake = FakeLlm::start().await;
    fake.always(cbt_testkit::LlmReply::answer(model_answer()));
    let endpoint = format!("{}/v1", fake.base_url());
    let app = TestApp::spawn_with(db, move |s| {
        s.llm_provider = "self-hosted".into();
        s.llm_endpoint = Some(endpoint);
        s.llm_model = Some("llama3.1:8b".into());
        s.llm_baa = true;
        s.llm_tokens_per_month = 1;
    })
    .await;
    let (web, _, note) = consenting_therapist(&app, "ai-budget@example.org").await;
    // Withdrawn: no AI button, and asking anyway calls nothing.
    app.submit(&web, "/account/ai-drafts", "/account/ai-drafts", &[("consent", "stop")]).await;
    let form = web.get(app.url(&format!("/notes/{note}/draft"))).send().await.unwrap().text().await.unwrap();
    assert!(!form.contains("Suggest with AI"));
    let r = ask_model(&app, &web, &note).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("allow them on the AI drafts page first"));
    assert!(fake.requests().is_empty(), "no request without consent");

    // Given again: the first call uses up the month's single token.
    app.submit(&web, "/account/ai-drafts", "/account/ai-drafts", &[("consent", "allow")]).await;
    assert_eq!(ask_model(&app, &web, &note).await.status(), 200);
    let r = ask_model(&app, &web, &note).await;
    assert_eq!(r.status(), 503);
    assert!(r.text().await.unwrap().contains("used up"));
    assert_eq!(fake.requests().len(), 1, "over budget: not called");
    app.stop().await;
}

async fn restricted_clients_are_never_sent(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let fake = FakeLlm::start().await;
    fake.always(cbt_testkit::LlmReply::answer(model_answer()));
    let app = with_model(db, &fake, true).await;
    let web = app.verified_account("restricted@example.org").await;
    let token = app.create_access_token(&web, "tests", "30").await;
    app.submit(&web, "/account/ai-drafts", "/account/ai-drafts", &[("consent", "allow")]).await;
    let api = reqwest::Client::new();
    let post = |path: String, body: Value| {
        let request = api.post(app.url(&path)).bearer_auth(&token).json(&body);
        async move { request.send().await.unwrap().json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned() }
    };
    let client = post("/api/v1/clients".into(), json!({"full_name": "Quentin Private", "restricted": true})).await;
    let body = json!({"format": "soap", "subjective": "", "objective": "", "assessment": "", "plan": ""});
    let note = post(format!("/api/v1/clients/{client}/notes"), json!({"date": "2026-11-20", "body": body})).await;
    let client_page = web.get(app.url(&format!("/clients/{client}"))).send().await.unwrap().text().await.unwrap();
    assert!(client_page.contains("Restricted: never sent to AI"), "{client_page}");

    // No AI button for their notes, and asking anyway sends nothing.
    let form = web.get(app.url(&format!("/notes/{note}/draft"))).send().await.unwrap().text().await.unwrap();
    assert!(form.contains("Suggest the note") && !form.contains("Suggest with AI"), "{form}");
    let page = format!("/notes/{note}/draft");
    let canary = "RESTRICTED-CANARY-4410 pt reports poor sleep";
    let r = app.submit(&web, &page, &page, &[("shorthand", canary), ("action", "model")]).await;
    assert_eq!(r.status(), 503);
    let html = r.text().await.unwrap();
    assert!(html.contains("marked restricted"), "{html}");
    assert!(html.contains("RESTRICTED-CANARY-4410"), "what was typed is kept");
    assert!(fake.requests().is_empty(), "nothing about a restricted client reaches the model");
    // Rules, which stay on the server, still draft.
    let r = app.submit(&web, &page, &page, &[("shorthand", canary), ("action", "rules")]).await;
    assert_eq!(r.status(), 200);

    // The same therapist's other clients still may be drafted by the model.
    let other = post("/api/v1/clients".into(), json!({"full_name": "Una Open"})).await;
    let note = post(format!("/api/v1/clients/{other}/notes"), json!({"date": "2026-11-20", "body": body})).await;
    let form = web.get(app.url(&format!("/notes/{note}/draft"))).send().await.unwrap().text().await.unwrap();
    assert!(form.contains("Suggest with AI"), "{form}");
    assert!(!fake.everything_received().contains("RESTRICTED-CANARY-4410"));
    app.stop().await;
}

/// The events of a `text/event-stream` body as they arrived: (chunk
/// number, event name, data).
async fn events_of(mut r: reqwest::Response) -> Vec<(usize, String, String)> {
    let mut text = String::new();
    let mut events = Vec::new();
    let mut chunk_number = 0;
    while let Some(chunk) = r.chunk().await.unwrap() {
        chunk_number += 1;
        text.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(cut) = text.find("\n\n") {
            let block: String = text.drain(..cut + 2).collect();
            let mut name = String::new();
            let mut data = Vec::new();
            for line in block.lines() {
                if let Some(n) = line.strip_prefix("event:") {
                    name = n.trim().to_owned();
                } else if let Some(d) = line.strip_prefix("data:") {
                    data.push(d.strip_prefix(' ').unwrap_or(d).to_owned());
                }
            }
            events.push((chunk_number, name, data.join("\n")));
        }
    }
    events
}

async fn a_models_draft_is_shown_as_it_is_written(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let fake = FakeLlm::start().await;
    let pieces = model_answer().len() / 4;
    fake.always(cbt_testkit::LlmReply::Answer {
        text: model_answer(),
        pieces,
        pause: std::time::Duration::from_millis(5),
    });
    let app = with_model(db, &fake, true).await;
    let (web, _, note) = consenting_therapist(&app, "as-written@example.org").await;
    let page = format!("/notes/{note}/draft");
    let stream = format!("/notes/{note}/draft/as-written");
    let r = app.submit(&web, &page, &stream, &[("shorthand", MODEL_SHORTHAND), ("action", "model")]).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/event-stream");
    let events = events_of(r).await;
    let names: Vec<&str> = events.iter().map(|(_, name, _)| name.as_str()).collect();
    assert_eq!(names, vec!["sentence", "sentence", "sentence", "page"], "{events:?}");
    let sentences: Vec<Value> = events[..3].iter().map(|(_, _, data)| serde_json::from_str(data).unwrap()).collect();
    assert!(
        sentences
            .contains(&json!({"section": "Subjective", "text": "Delphine Okafor reports poor sleep for two weeks."})),
        "each sentence with its section, names put back: {sentences:?}"
    );
    assert!(events[0].0 < events[3].0, "the first sentence arrived before the answer was finished");
    let (_, _, html) = &events[3];
    assert!(html.contains("AI suggestion from llama3.1:8b"), "the suggestion page: {html}");
    assert_eq!(html.matches("Not what its source says").count(), 1, "checked as the whole page is");
    assert!(!fake.everything_received().contains("Okafor"), "de-identified as ever");
    let events = app.app.store().audit_entries_after(0, 100_000).await.unwrap();
    assert_eq!(audit_count(&events, "ai.call"), 1);

    // A failure ends the stream with the form again, what was typed kept
    // (its carriage returns too: an event's data cannot hold them).
    fake.always(cbt_testkit::LlmReply::Status { status: 503, retry_after: None });
    let typed = "Pt reports poor sleep.\r\nHW: TR daily";
    let r = app.submit(&web, &page, &stream, &[("shorthand", typed), ("action", "model")]).await;
    let events = events_of(r).await;
    let (_, name, html) = events.last().unwrap();
    assert_eq!(name, "page");
    assert!(html.contains("cannot be reached just now") && html.contains("HW: TR daily"), "{html}");

    // Another therapist's note: not found, before anything streams.
    let stranger = app.verified_account("stream-stranger@example.org").await;
    let own = app.submit(&stranger, "/account/ai-drafts", "/account/ai-drafts", &[("consent", "allow")]).await;
    assert_eq!(own.status(), 303);
    let r = app.submit(&stranger, "/account/ai-drafts", &stream, &[("shorthand", "x"), ("action", "model")]).await;
    assert_eq!(r.status(), 404);
    app.stop().await;
}

async fn calls_at_once_cannot_overrun_the_limits(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let fake = FakeLlm::start().await;
    // Slow enough that every request is in flight before any finishes.
    fake.always(cbt_testkit::LlmReply::Answer {
        text: model_answer(),
        pieces: 4,
        pause: std::time::Duration::from_millis(150),
    });
    let endpoint = format!("{}/v1", fake.base_url());
    let app = TestApp::spawn_with(db, move |s| {
        s.llm_provider = "self-hosted".into();
        s.llm_endpoint = Some(endpoint);
        s.llm_model = Some("llama3.1:8b".into());
        s.llm_baa = true;
        s.llm_calls_per_minute = 2;
    })
    .await;
    let (web, _, note) = consenting_therapist(&app, "at-once@example.org").await;
    let page = format!("/notes/{note}/draft");
    let html = web.get(app.url(&page)).send().await.unwrap().text().await.unwrap();
    let csrf = cbt_testkit::accounts::csrf_token(&html);
    let asks = (0..6).map(|_| {
        let form = [("shorthand", MODEL_SHORTHAND), ("action", "model"), ("csrf_token", csrf.as_str())];
        web.post(app.url(&page)).form(&form).send()
    });
    let answers = futures_util::future::join_all(asks).await;
    let mut statuses: Vec<u16> = Vec::new();
    for r in answers {
        let r = r.unwrap();
        statuses.push(r.status().as_u16());
        if r.status() == 503 {
            assert!(r.text().await.unwrap().contains("in the last minute"));
        }
    }
    statuses.sort();
    assert_eq!(statuses, vec![200, 200, 503, 503, 503, 503], "two a minute, however many at once");
    assert_eq!(fake.requests().len(), 2, "the refused ones never reached the model");
    app.stop().await;
}

on_both_backends! {
    checklist_36_calls_at_once_cannot_overrun_the_per_minute_limit => calls_at_once_cannot_overrun_the_limits;
    a_models_draft_is_streamed_sentence_by_sentence_then_the_page => a_models_draft_is_shown_as_it_is_written;
    checklist_36_a_restricted_clients_records_are_never_sent_to_a_model => restricted_clients_are_never_sent;
    checklist_36_a_model_drafts_from_de_identified_sources_never_the_psychotherapy_note => a_model_drafts_from_de_identified_sources;
    a_models_bad_answers_and_outages_keep_the_therapists_text => bad_answers_and_outages_keep_the_therapists_text;
    checklist_36_without_consent_no_call_and_the_monthly_budget_holds => no_consent_no_call_and_budgets_hold;
    a_session_note_is_suggested_from_shorthand_and_taken_section_by_section => a_note_is_suggested_from_shorthand_and_taken_in_part;
    checklist_25_another_therapists_note_cannot_be_drafted => another_therapists_note_cannot_be_drafted;
    checklist_36_with_nothing_configured_drafts_are_rule_based => nothing_configured_drafts_by_rules;
    checklist_36_a_model_without_a_baa_is_never_called_or_consented_to => a_model_without_a_baa_is_never_called;
    checklist_36_ai_drafts_consent_is_recorded_audited_and_withdrawn => consent_is_recorded_audited_and_withdrawn;
}
