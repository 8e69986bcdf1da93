//! AI-assisted drafts settings: which engine drafts, the BAA gate, and the
//! therapist's recorded consent (checklist 36).

use cbt_testkit::{FakeLlm, TestApp, TestDatabase};

/// The app with the fake provider configured as a self-hosted model,
/// covered by a BAA or not.
async fn with_model(db: TestDatabase, fake: &FakeLlm, baa: bool) -> TestApp {
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

on_both_backends! {
    checklist_36_with_nothing_configured_drafts_are_rule_based => nothing_configured_drafts_by_rules;
    checklist_36_a_model_without_a_baa_is_never_called_or_consented_to => a_model_without_a_baa_is_never_called;
    checklist_36_ai_drafts_consent_is_recorded_audited_and_withdrawn => consent_is_recorded_audited_and_withdrawn;
}
