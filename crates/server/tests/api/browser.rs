//! End-to-end in headless Chromium: the pages load under the real CSP with
//! no console error or CSP violation, and work from the keyboard.

use cbt_ports::Clock;
use cbt_testkit::{Browser, TestApp, TestDatabase};
use fantoccini::Locator;
use fantoccini::key::Key;

#[tokio::test]
async fn home_page_loads_without_csp_violations_or_console_errors() {
    let Some(browser) = Browser::launch().await else { return };
    let app = TestApp::spawn(TestDatabase::sqlite()).await;
    let c = &browser.client;
    c.goto(&app.url("/")).await.unwrap();
    assert_eq!(c.title().await.unwrap(), "Home · CBT Assistant Pro");
    let h1 = c.find(Locator::Css("h1")).await.unwrap().text().await.unwrap();
    assert_eq!(h1, "Your clinical notes, on your own server");
    // The stylesheet applied (a CSP block would leave the default font).
    let skip_top =
        c.execute("return getComputedStyle(document.querySelector('.skip-link')).position", vec![]).await.unwrap();
    assert_eq!(skip_top, "absolute");
    // The script ran (it is external, so the CSP allows it).
    let js = c.execute("return document.documentElement.classList.contains('js')", vec![]).await.unwrap();
    assert_eq!(js, true);

    for (link, title) in [("Security", "Security"), ("Privacy", "Privacy policy"), ("Cookies", "Cookie notice")] {
        c.find(Locator::LinkText(link)).await.unwrap().click().await.unwrap();
        assert_eq!(c.title().await.unwrap(), format!("{title} · CBT Assistant Pro"));
        let current = c.find(Locator::Css("nav a[aria-current=page]")).await.unwrap().text().await.unwrap();
        assert_eq!(current, link);
    }
    if let Ok(dir) = std::env::var("SCREENSHOT_DIR") {
        c.goto(&app.url("/")).await.unwrap();
        browser.screenshot(&std::path::Path::new(&dir).join("home.png")).await;
    }
    let errors = browser.console_errors().await;
    assert!(errors.is_empty(), "console errors / CSP violations: {errors:?}");
    browser.close().await;
    app.stop().await;
}

/// The first Tab reaches the skip link, and following it moves focus to
/// the main content.
#[tokio::test]
async fn keyboard_users_can_skip_to_main_content() {
    let Some(browser) = Browser::launch().await else { return };
    let app = TestApp::spawn(TestDatabase::sqlite()).await;
    let c = &browser.client;
    c.goto(&app.url("/security")).await.unwrap();
    let body = c.find(Locator::Css("body")).await.unwrap();
    body.send_keys(&Key::Tab.to_string()).await.unwrap();
    let focused = c.active_element().await.unwrap().text().await.unwrap();
    assert_eq!(focused, "Skip to main content");
    c.active_element().await.unwrap().send_keys(&Key::Enter.to_string()).await.unwrap();
    let id = c.execute("return document.activeElement.id", vec![]).await.unwrap();
    assert_eq!(id, "main");
    let errors = browser.console_errors().await;
    assert!(errors.is_empty(), "{errors:?}");
    browser.close().await;
    app.stop().await;
}

/// An error page renders inside the layout with its styles, no violation.
#[tokio::test]
async fn error_pages_render_cleanly_in_the_browser() {
    let Some(browser) = Browser::launch().await else { return };
    let app = TestApp::spawn(TestDatabase::sqlite()).await;
    let c = &browser.client;
    c.goto(&app.url("/no-such-page")).await.unwrap();
    assert_eq!(c.title().await.unwrap(), "Not found · CBT Assistant Pro");
    let errors: Vec<String> =
        browser.console_errors().await.into_iter().filter(|e| !e.contains("404 (Not Found)")).collect();
    assert!(errors.is_empty(), "{errors:?}");
    browser.close().await;
    app.stop().await;
}

async fn fill(c: &fantoccini::Client, id: &str, value: &str) {
    let field = c.find(Locator::Id(id)).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(value).await.unwrap();
}

/// Submits the form posting to `form_action` and waits until the page it
/// was on is gone (its button goes stale), so the next step reads the new
/// page, not the old one.
async fn press(c: &fantoccini::Client, form_action: &str) {
    let button = c.find(Locator::Css(&format!("form[action='{form_action}'] button[type=submit]"))).await.unwrap();
    button.clone().click().await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while button.tag_name().await.is_ok() {
        assert!(std::time::Instant::now() < deadline, "submitting {form_action} did not leave the page");
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}

/// Clicks `button`, expects a confirmation naming `asks`, and answers it.
async fn answer_confirmation(c: &fantoccini::Client, button: &fantoccini::elements::Element, asks: &str, yes: bool) {
    button.clone().click().await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let question = loop {
        if let Ok(text) = c.get_alert_text().await {
            break text;
        }
        assert!(std::time::Instant::now() < deadline, "no confirmation was asked");
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    };
    assert!(question.contains(asks), "{question}");
    if yes { c.accept_alert().await.unwrap() } else { c.dismiss_alert().await.unwrap() }
}

/// Like [`press`], for a form that asks for confirmation first: says no
/// (nothing happens), then yes.
async fn press_confirmed(c: &fantoccini::Client, form_action: &str, asks: &str) {
    let button = c.find(Locator::Css(&format!("form[action='{form_action}'] button[type=submit]"))).await.unwrap();
    answer_confirmation(c, &button, asks, false).await;
    assert!(button.tag_name().await.is_ok(), "declining kept the page");
    answer_confirmation(c, &button, asks, true).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while button.tag_name().await.is_ok() {
        assert!(std::time::Instant::now() < deadline, "submitting {form_action} did not leave the page");
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}

/// Waits until the page's heading is `expected`: after a click the old
/// page may still be there (or go stale under our hands) for a moment.
async fn expect_heading(c: &fantoccini::Client, expected: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut last = String::new();
    while std::time::Instant::now() < deadline {
        if let Ok(h1) = c.find(Locator::Css("h1")).await
            && let Ok(text) = h1.text().await
        {
            if text == expected {
                return;
            }
            last = text;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the heading is {last:?}, not {expected:?}");
}

async fn sign_in_with_code(c: &fantoccini::Client, app: &TestApp, email: &str, secret: &str) {
    c.goto(&app.url("/login")).await.unwrap();
    fill(c, "email", email).await;
    fill(c, "password", cbt_testkit::accounts::PASSWORD).await;
    press(c, "/login").await;
    expect_heading(c, "Two-step sign-in").await;
    // Each code works once: move to the next 30-second step.
    app.clock.advance(time::Duration::seconds(30));
    let code = cbt_testkit::accounts::totp_code(secret, app.clock.now().unix_timestamp());
    fill(c, "code", &code).await;
    press(c, "/login/mfa").await;
    expect_heading(c, "Welcome, Dr Ann Lee").await;
}

/// Signs up as Dr Ann Lee through the forms, opens the verification link
/// from the SMTP server and signs in.
async fn sign_up_verify_and_sign_in(c: &fantoccini::Client, app: &TestApp, email: &str) {
    c.goto(&app.url("/signup")).await.unwrap();
    fill(c, "full_name", "Dr Ann Lee").await;
    fill(c, "email", email).await;
    fill(c, "credential", "LPC 4711, Texas").await;
    fill(c, "password", cbt_testkit::accounts::PASSWORD).await;
    press(c, "/signup").await;
    expect_heading(c, "Check your email").await;

    let link = app.link_in_mail(email, "/verify-email").await;
    c.goto(&link).await.unwrap();
    expect_heading(c, "Email confirmed").await;

    c.goto(&app.url("/login")).await.unwrap();
    fill(c, "email", email).await;
    fill(c, "password", cbt_testkit::accounts::PASSWORD).await;
    press(c, "/login").await;
    expect_heading(c, "Welcome, Dr Ann Lee").await;
}

/// Waits until the element at `css` shows `text` (the next page may take
/// a moment to replace this one).
async fn wait_for_text(c: &fantoccini::Client, css: &str, text: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut last = String::new();
    while std::time::Instant::now() < deadline {
        if let Ok(e) = c.find(Locator::Css(css)).await
            && let Ok(shown) = e.text().await
        {
            if shown.contains(text) {
                return;
            }
            last = shown;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{css} shows {last:?}, not {text:?}");
}

/// The client id in the "Back to the client" link of a note form.
async fn client_id(c: &fantoccini::Client) -> String {
    let href = c.find(Locator::Css(".breadcrumb a")).await.unwrap().attr("href").await.unwrap().unwrap_or_default();
    href.trim_start_matches("/clients/").to_owned()
}

/// Fills the field whose id is `id` (ids may hold dots: `goals.0.target`).
async fn fill_named(c: &fantoccini::Client, id: &str, value: &str) {
    let field = c.find(Locator::Css(&format!("[id='{id}']"))).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(value).await.unwrap();
}

/// The id after `prefix` in the current page's URL, e.g. `/plans/`.
async fn path_id(c: &fantoccini::Client, prefix: &str) -> String {
    let url = c.current_url().await.unwrap();
    let rest = url.path().strip_prefix(prefix).unwrap_or_else(|| panic!("{url} is not under {prefix}"));
    rest.split('/').next().unwrap().to_owned()
}

const FORMULATION: [(&str, &str); 8] = [
    ("title", "Initial formulation"),
    ("beck.relevant_history", "Father critical of any mistake at school"),
    ("beck.core_beliefs", "I am only acceptable if I never fail"),
    ("beck.examples.0.situation", "Team meeting on Monday"),
    ("beck.examples.0.automatic_thought", "They will see I am useless"),
    ("beck.examples.0.emotion", "Anxiety, 80%"),
    ("beck.examples.0.behaviour", "Stayed silent, left early"),
    ("five_ps.predisposing", "Perfectionist standards learned early"),
];
const PLAN: [(&str, &str); 6] = [
    ("title", "Return to team meetings"),
    ("problems", "Avoids speaking in meetings"),
    ("goals.0.description", "Speak at least once in each team meeting"),
    ("goals.0.measure", "Meetings where I spoke"),
    ("goals.0.target", "4 of 4 meetings"),
    ("goals.0.target_date", "2027-01-31"),
];
const HYPOTHESIS: &str = "Staying silent keeps the fear of judgement going";
const HOMEWORK: &str = "Complete one record after each Wednesday meeting";

/// Clients in a real browser: add one (a mistake first, corrected in the
/// form that kept the input), find it in the caseload, change it, read the
/// history; no console error or CSP violation on the way.
#[tokio::test]
async fn add_find_change_a_client_and_read_its_history() {
    let Some(browser) = Browser::launch().await else { return };
    let app = TestApp::spawn(TestDatabase::sqlite()).await;
    let c = &browser.client;
    sign_up_verify_and_sign_in(c, &app, "ann.clients@example.org").await;
    let shot = |name: &'static str| {
        let browser = &browser;
        async move {
            if let Ok(dir) = std::env::var("SCREENSHOT_DIR") {
                browser.screenshot(&std::path::Path::new(&dir).join(name)).await;
            }
        }
    };

    c.goto(&app.url("/clients")).await.unwrap();
    expect_heading(c, "Clients").await;
    c.goto(&app.url("/clients/new")).await.unwrap();
    fill(c, "full_name", "Morgan Fairweather").await;
    fill(c, "date_of_birth", "1990-02-30").await;
    fill(c, "presenting_problems", "Worry about work; poor sleep").await;
    fill(c, "diagnoses", "F41.1 Generalised anxiety disorder").await;
    press(c, "/clients").await;
    expect_heading(c, "Add a client").await;
    shot("client-form-errors.png").await;
    let kept = c.find(Locator::Id("presenting_problems")).await.unwrap().prop("value").await.unwrap();
    assert_eq!(kept.as_deref(), Some("Worry about work; poor sleep"), "the form kept the input");
    fill(c, "date_of_birth", "1990-02-28").await;
    press(c, "/clients").await;
    expect_heading(c, "Morgan Fairweather").await;
    shot("client.png").await;

    c.goto(&app.url("/clients?q=sleep")).await.unwrap();
    let found = c.find(Locator::Css("table.list tbody")).await.unwrap().text().await.unwrap();
    assert!(found.contains("Morgan Fairweather"), "{found}");
    shot("clients.png").await;
    c.find(Locator::LinkText("Morgan Fairweather")).await.unwrap().click().await.unwrap();
    expect_heading(c, "Morgan Fairweather").await;
    c.find(Locator::LinkText("Change")).await.unwrap().click().await.unwrap();
    expect_heading(c, "Change client").await;
    fill(c, "preferred_name", "Mo").await;
    c.find(Locator::Css("form.form button[type=submit]")).await.unwrap().click().await.unwrap();
    expect_heading(c, "Mo").await;
    c.find(Locator::LinkText("History")).await.unwrap().click().await.unwrap();
    expect_heading(c, "History").await;
    let history = c.find(Locator::Css("ol.history")).await.unwrap().text().await.unwrap();
    assert!(history.contains("Preferred name") && history.contains("Mo"), "{history}");
    shot("client-history.png").await;

    // A SOAP note: draft, sign, addendum.
    c.find(Locator::LinkText("Mo")).await.unwrap().click().await.unwrap();
    expect_heading(c, "Mo").await;
    c.find(Locator::LinkText("New session note")).await.unwrap().click().await.unwrap();
    expect_heading(c, "New session note").await;
    fill(c, "subjective", "Slept better; still avoiding the team meeting").await;
    fill(c, "plan", "Behavioural experiment: attend Monday's meeting").await;
    press(c, &format!("/clients/{}/notes", client_id(c).await)).await;
    expect_heading(c, "Session note draft").await;
    shot("note-draft.png").await;
    // Autosave: typing is saved without pressing anything, and survives a
    // reload; signing then signs the autosaved version.
    fill(c, "objective", "Calm, good eye contact").await;
    wait_for_text(c, "#autosave-status", "Draft saved at").await;
    c.refresh().await.unwrap();
    expect_heading(c, "Session note draft").await;
    let kept = c.find(Locator::Id("objective")).await.unwrap().prop("value").await.unwrap();
    assert_eq!(kept.as_deref(), Some("Calm, good eye contact"), "autosaved");
    let note = path_id(c, "/notes/").await;
    press_confirmed(c, &format!("/notes/{note}/sign"), "locked").await;
    wait_for_text(c, "main .notice", "Signed").await;
    fill(c, "text", "Client emailed: the meeting went ahead").await;
    c.find(Locator::Css("form[action$='/addenda'] button")).await.unwrap().click().await.unwrap();
    wait_for_text(c, "ol.addenda", "the meeting went ahead").await;
    let signed_note = c.find(Locator::Css("dl.details")).await.unwrap().text().await.unwrap();
    assert!(signed_note.contains("Calm, good eye contact"), "the autosaved text was signed");
    shot("note-signed.png").await;
    let client = client_id(c).await;

    // A formulation, and its diagram.
    c.goto(&app.url(&format!("/clients/{client}/formulations/new"))).await.unwrap();
    expect_heading(c, "New formulation").await;
    for (field, value) in FORMULATION {
        fill_named(c, field, value).await;
    }
    press(c, &format!("/clients/{client}/formulations")).await;
    expect_heading(c, "Initial formulation").await;
    let formulation = path_id(c, "/formulations/").await;
    wait_for_text(c, "figure.diagram", "Team meeting on Monday").await;
    let diagram = c.find(Locator::Css("figure.diagram svg")).await.unwrap().html(false).await.unwrap();
    assert!(diagram.contains("They will see I am useless") && diagram.contains("Predisposing"), "{diagram}");
    shot("formulation.png").await;
    // Revised: the history shows what changed.
    c.find(Locator::LinkText("Change")).await.unwrap().click().await.unwrap();
    expect_heading(c, "Change the formulation").await;
    fill_named(c, "beck.core_beliefs", "I am acceptable even when I make mistakes (emerging)").await;
    press(c, &format!("/formulations/{formulation}")).await;
    wait_for_text(c, "main .notice", "Saved").await;
    c.find(Locator::LinkText("History")).await.unwrap().click().await.unwrap();
    expect_heading(c, "History").await;
    let history = c.find(Locator::Css("table.diff")).await.unwrap().text().await.unwrap();
    assert!(
        history.contains("Core beliefs")
            && history.contains("I am only acceptable if I never fail")
            && history.contains("even when I make mistakes"),
        "{history}"
    );
    shot("formulation-history.png").await;

    // A hypothesis with evidence from the signed note.
    c.goto(&app.url(&format!("/clients/{client}/hypotheses/new"))).await.unwrap();
    expect_heading(c, "New hypothesis").await;
    fill_named(c, "statement", HYPOTHESIS).await;
    fill_named(c, "evidence.0.text", "Stayed silent in the team meeting").await;
    let source = c.find(Locator::Css("[id='evidence.0.source']")).await.unwrap();
    source.select_by_value(&note).await.unwrap();
    press(c, &format!("/clients/{client}/hypotheses")).await;
    expect_heading(c, HYPOTHESIS).await;
    let hypothesis = path_id(c, "/hypotheses/").await;
    let link = c.find(Locator::Css("dl.details a")).await.unwrap().attr("href").await.unwrap();
    assert_eq!(link, Some(format!("/notes/{note}")), "the evidence links to the note");

    // A treatment plan with a SMART goal, signed, and progress recorded.
    c.goto(&app.url(&format!("/clients/{client}/plans/new"))).await.unwrap();
    expect_heading(c, "New treatment plan").await;
    for (field, value) in PLAN {
        fill_named(c, field, value).await;
    }
    press(c, &format!("/clients/{client}/plans")).await;
    expect_heading(c, "Return to team meetings").await;
    let plan = path_id(c, "/plans/").await;
    press_confirmed(c, &format!("/plans/{plan}/sign"), "Sign this treatment plan?").await;
    wait_for_text(c, "main .notice", "Signed").await;
    fill_named(c, "rating", "6").await;
    fill_named(c, "comment", "Spoke once, briefly").await;
    press(c, &format!("/plans/{plan}/progress")).await;
    wait_for_text(c, "main .notice", "Progress recorded").await;
    let chart = c.find(Locator::Css("figure.chart svg")).await.unwrap().html(false).await.unwrap();
    assert!(chart.contains("6/10"), "the rating is on the chart: {chart}");
    shot("plan.png").await;

    // A thought record assigned as homework.
    c.goto(&app.url(&format!("/clients/{client}/homework/new"))).await.unwrap();
    expect_heading(c, "Assign homework").await;
    c.find(Locator::Id("source")).await.unwrap().select_by_value("library:thought_record").await.unwrap();
    fill(c, "instructions", HOMEWORK).await;
    press(c, &format!("/clients/{client}/homework")).await;
    expect_heading(c, "Thought record (seven columns)").await;
    let homework = path_id(c, "/homework/").await;
    c.goto(&app.url(&format!("/clients/{client}"))).await.unwrap();
    expect_heading(c, "Mo").await;
    let page = c.find(Locator::Css("main")).await.unwrap().text().await.unwrap();
    for listed in ["Initial formulation", HYPOTHESIS, "Return to team meetings", "Thought record (seven columns)"] {
        assert!(page.contains(listed), "{listed:?} is on the client's page");
    }
    shot("client-dashboard.png").await;

    // On a tablet held upright, the record pages fit the screen: nothing
    // to scroll sideways to (the diagram and charts scale down).
    c.set_window_size(820, 1180).await.unwrap();
    for (path, name) in [
        (format!("/clients/{client}"), "tablet-client.png"),
        (format!("/formulations/{formulation}"), "tablet-formulation.png"),
        (format!("/plans/{plan}"), "tablet-plan.png"),
        (format!("/homework/{homework}"), "tablet-homework.png"),
    ] {
        c.goto(&app.url(&path)).await.unwrap();
        let fits =
            c.execute("return document.documentElement.scrollWidth <= window.innerWidth;", vec![]).await.unwrap();
        assert_eq!(fits, serde_json::Value::Bool(true), "{path} is wider than a tablet");
        shot(name).await;
    }

    // Every read and write above is in the audit log, by Ann, on the right
    // record; nothing she typed is in the database in the clear.
    let ann = app.app.store().account_by_email("ann.clients@example.org").await.unwrap().unwrap().id.to_string();
    let events = app.app.store().audit_entries_after(0, 100_000).await.unwrap();
    let logged = |action: &str, target: &str| {
        events.iter().any(|e| {
            e.fields.action == action
                && e.fields.actor_id.as_deref() == Some(ann.as_str())
                && e.fields.target_id.as_deref() == Some(target)
        })
    };
    for (action, target) in [
        ("client.create", &client),
        ("client.read", &client),
        ("client.update", &client),
        ("client.history", &client),
        ("note.create", &note),
        ("note.update", &note),
        ("note.sign", &note),
        ("note.addendum", &note),
        ("note.read", &note),
        ("formulation.create", &formulation),
        ("formulation.read", &formulation),
        ("formulation.update", &formulation),
        ("formulation.history", &formulation),
        ("hypothesis.create", &hypothesis),
        ("hypothesis.read", &hypothesis),
        ("plan.create", &plan),
        ("plan.read", &plan),
        ("plan.sign", &plan),
        ("plan.progress_read", &plan),
        ("homework.assign", &homework),
        ("homework.read", &homework),
    ] {
        assert!(logged(action, target), "no {action} of {target} by Ann");
    }
    let by_ann = |action: &str| {
        events.iter().any(|e| e.fields.action == action && e.fields.actor_id.as_deref() == Some(ann.as_str()))
    };
    for action in
        ["plan.progress_record", "note.list", "formulation.list", "hypothesis.list", "plan.list", "homework.list"]
    {
        assert!(by_ann(action), "no {action} by Ann");
    }
    let dump = app.db.raw_dump();
    let typed = FORMULATION.iter().chain(PLAN.iter()).map(|(_, v)| *v).filter(|v| v.len() > 12);
    for text in typed.chain([
        HYPOTHESIS,
        HOMEWORK,
        "Stayed silent in the team meeting",
        "Morgan Fairweather",
        "Calm, good eye contact",
    ]) {
        assert!(!cbt_testkit::dump_holds(&dump, text.as_bytes()), "{text:?} is in a raw dump");
    }

    // The corrected form's first answer was a 422: expected, not an error.
    let errors: Vec<String> =
        browser.console_errors().await.into_iter().filter(|e| !e.contains("422 (Unprocessable Entity)")).collect();
    assert!(errors.is_empty(), "{errors:?}");
    browser.close().await;
    app.stop().await;
}

/// Issue 3's journey in a real browser: sign up, open the verification
/// link from the SMTP server, sign in, enrol TOTP, sign out, sign in with a
/// TOTP code, and revoke that session from a second browser.
#[tokio::test]
async fn sign_up_verify_enrol_totp_and_revoke_from_another_browser() {
    let Some(browser) = Browser::launch().await else { return };
    let app = TestApp::spawn(TestDatabase::sqlite()).await;
    let c = &browser.client;
    let email = "ann.lee@example.org";

    sign_up_verify_and_sign_in(c, &app, email).await;

    c.goto(&app.url("/account/mfa")).await.unwrap();
    press(c, "/account/mfa/setup").await;
    c.find(Locator::Css("figure.qr svg")).await.expect("QR code shown inline");
    let secret = c.find(Locator::Id("totp-secret")).await.unwrap().text().await.unwrap();
    if let Ok(dir) = std::env::var("SCREENSHOT_DIR") {
        browser.screenshot(&std::path::Path::new(&dir).join("mfa.png")).await;
    }
    let code = cbt_testkit::accounts::totp_code(&secret, app.clock.now().unix_timestamp());
    fill(c, "code", &code).await;
    press(c, "/account/mfa/enable").await;
    expect_heading(c, "Two-step sign-in is on").await;
    let codes = c.find_all(Locator::Css("ul.codes code")).await.unwrap();
    assert_eq!(codes.len(), 10);

    press(c, "/logout").await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while c.current_url().await.unwrap().path() != "/" {
        assert!(std::time::Instant::now() < deadline, "signing out leads home");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    sign_in_with_code(c, &app, email, &secret).await;

    // A second browser signs in and ends the first one's session.
    let Some(other) = Browser::launch().await else { return };
    sign_in_with_code(&other.client, &app, email, &secret).await;
    other.client.goto(&app.url("/account/security")).await.unwrap();
    let rows = other.client.find_all(Locator::Css("tbody tr")).await.unwrap();
    assert_eq!(rows.len(), 2, "both sessions listed");
    let mut revoked = false;
    for row in rows {
        if !row.text().await.unwrap().contains("(this device)") {
            let button = row.find(Locator::Css("button")).await.unwrap();
            answer_confirmation(&other.client, &button, "Sign out that browser?", true).await;
            revoked = true;
            break;
        }
    }
    assert!(revoked);
    expect_heading(&other.client, "Sessions and password").await;

    c.goto(&app.url("/dashboard")).await.unwrap();
    assert_eq!(c.current_url().await.unwrap().path(), "/login", "the revoked session is gone");

    for b in [&browser, &other] {
        let errors = b.console_errors().await;
        assert!(errors.is_empty(), "console errors / CSP violations: {errors:?}");
    }
    other.close().await;
    browser.close().await;
    app.stop().await;
}

/// Clicks the radio button of item `number`'s answer `value`.
async fn answer(c: &fantoccini::Client, number: u32, value: u32) {
    c.find(Locator::Id(&format!("item-{number}-{value}"))).await.unwrap().click().await.unwrap();
}

/// Issue 7's journey: the therapist sends a PHQ-9 by email; the client, in
/// a browser of their own, opens the link from the SMTP server and answers
/// with item 9 above 0; the therapist sees the score, band, chart point and
/// risk flag and acknowledges it; the used link, an expired one (one second
/// past expiry on the injected clock) and a tampered one all show the same
/// clear page. No CSP violation on either side; nothing answered is in a
/// raw dump of the database.
#[tokio::test]
async fn a_client_completes_a_phq9_from_an_emailed_link_and_the_risk_flag_is_acknowledged() {
    let Some(browser) = Browser::launch().await else { return };
    let Some(client_browser) = Browser::launch().await else { return };
    let app = TestApp::spawn(TestDatabase::sqlite()).await;
    let c = &browser.client;
    sign_up_verify_and_sign_in(c, &app, "ann.assess@example.org").await;
    // What clients see: her crisis line instead of the default text.
    c.goto(&app.url("/account")).await.unwrap();
    fill(c, "crisis_text", "Call the Northside crisis line, 0800 000 111, day or night.").await;
    press(c, "/account/practice").await;
    wait_for_text(c, "main .notice", "Saved").await;
    c.goto(&app.url("/clients/new")).await.unwrap();
    fill(c, "full_name", "Robin Ashdown").await;
    fill(c, "email", "robin.ashdown@example.net").await;
    press(c, "/clients").await;
    expect_heading(c, "Robin Ashdown").await;
    let client = path_id(c, "/clients/").await;

    // Sent by email.
    c.find(Locator::LinkText("Send a questionnaire")).await.unwrap().click().await.unwrap();
    expect_heading(c, "Assessments").await;
    c.find(Locator::Css("#instrument option[value='phq-9']")).await.unwrap().click().await.unwrap();
    press(c, &format!("/clients/{client}/links")).await;
    wait_for_text(c, "main .notice", "sent by email").await;
    wait_for_text(c, "table.links", "Waiting for the client").await;
    shot(&browser, "assessments-sent.png").await;

    // The client's side: another browser, no account.
    let link = app.link_in_mail("robin.ashdown@example.net", "/questionnaire").await;
    let mail = app.mails_to("robin.ashdown@example.net").pop().unwrap();
    assert!(!mail.data.contains("PHQ") && !mail.data.contains("Robin"), "the mail names neither: {}", mail.data);
    let k = &client_browser.client;
    k.goto(&link).await.unwrap();
    expect_heading(k, "Patient Health Questionnaire-9").await;
    let page = k.find(Locator::Css("main")).await.unwrap().text().await.unwrap();
    assert!(page.contains("Dr Ann Lee") && page.contains("Northside crisis line, 0800 000 111"), "{page}");
    assert!(page.contains("not monitored in real time"), "{page}");
    assert!(k.find(Locator::Css("nav")).await.is_err(), "no navigation on the client's page");
    shot(&client_browser, "questionnaire.png").await;
    // On a phone, the questionnaire fits the screen: nothing to scroll
    // sideways, and the answers are large enough to tap.
    k.set_window_size(390, 844).await.unwrap();
    let fits = k.execute("return document.documentElement.scrollWidth <= window.innerWidth;", vec![]).await.unwrap();
    assert_eq!(fits, serde_json::Value::Bool(true), "the questionnaire is wider than a phone");
    let tap = k
        .execute("return document.querySelector('label.option').getBoundingClientRect().height;", vec![])
        .await
        .unwrap();
    assert!(tap.as_f64().unwrap_or(0.0) >= 44.0, "answers are at least 44 px tall: {tap}");
    shot(&client_browser, "questionnaire-phone.png").await;
    // Eight items answered, then sent: the ninth is missing but PHQ-9
    // prorates one; answer it anyway, with a 2.
    for (item, value) in [(1, 1), (2, 2), (3, 1), (4, 2), (5, 1), (6, 1), (7, 2), (8, 0), (9, 2)] {
        answer(k, item, value).await;
    }
    press(k, "/questionnaire").await;
    expect_heading(k, "Thank you").await;
    shot(&client_browser, "questionnaire-done.png").await;

    // The therapist sees the flag on the home page and the client's page.
    c.goto(&app.url("/dashboard")).await.unwrap();
    wait_for_text(c, ".risk-flag", "Robin Ashdown").await;
    c.goto(&app.url(&format!("/clients/{client}"))).await.unwrap();
    wait_for_text(c, ".risk-flag", "PHQ-9: 12 (Moderate)").await;
    let chart = c.find(Locator::Css("figure.score-chart svg")).await.unwrap().html(false).await.unwrap();
    assert!(chart.contains("12 (Moderate)"), "the chart has the point: {chart}");
    shot(&browser, "client-assessments.png").await;
    c.find(Locator::Css(".risk-flag a")).await.unwrap().click().await.unwrap();
    expect_heading(c, "PHQ-9: 12 (Moderate)").await;
    let result = c.find(Locator::Css("main")).await.unwrap().text().await.unwrap();
    assert!(result.contains("Completed by the client") && result.contains("Item 9 (thoughts"), "{result}");
    shot(&browser, "assessment-flagged.png").await;
    let id = path_id(c, "/assessments/").await;
    press(c, &format!("/assessments/{id}/acknowledge")).await;
    wait_for_text(c, "main .notice", "acknowledged").await;
    assert!(c.find(Locator::Css(".risk-flag")).await.is_err(), "the flag is gone once acknowledged");
    c.goto(&app.url("/dashboard")).await.unwrap();
    expect_heading(c, "Welcome, Dr Ann Lee").await;
    assert!(c.find(Locator::Css(".risk-flag")).await.is_err(), "and from the home page");

    // The used link no longer works.
    k.goto(&link).await.unwrap();
    expect_heading(k, "This link cannot be used").await;
    // A link to copy, opened one second after it expires.
    c.goto(&app.url(&format!("/clients/{client}/assessments"))).await.unwrap();
    c.find(Locator::Css("#instrument option[value='gad-7']")).await.unwrap().click().await.unwrap();
    c.find(Locator::Css("input[name=delivery][value=copy]")).await.unwrap().click().await.unwrap();
    press(c, &format!("/clients/{client}/links")).await;
    expect_heading(c, "Link to pass on").await;
    let copied = c.find(Locator::Id("client-link")).await.unwrap().prop("value").await.unwrap().unwrap();
    app.clock.advance(time::Duration::days(7) + time::Duration::seconds(1));
    k.goto(&copied).await.unwrap();
    expect_heading(k, "This link cannot be used").await;
    // A tampered token: one character changed.
    let last = copied.chars().last().unwrap();
    let tampered = format!("{}{}", &copied[..copied.len() - 1], if last == 'A' { 'B' } else { 'A' });
    k.goto(&tampered).await.unwrap();
    expect_heading(k, "This link cannot be used").await;
    let closed = k.find(Locator::Css("main")).await.unwrap().text().await.unwrap();
    assert!(!closed.contains("Dr Ann Lee") && !closed.contains("GAD"), "reveals nothing: {closed}");
    shot(&client_browser, "questionnaire-closed.png").await;

    // Audited without answers.
    let events = app.app.store().audit_entries_after(0, 100_000).await.unwrap();
    for action in [
        "client_link.create",
        "client_link.open",
        "client_link.submit",
        "assessment.create",
        "assessment.read",
        "assessment.risk_acknowledge",
    ] {
        assert!(events.iter().any(|e| e.fields.action == action), "no {action}");
    }
    assert!(
        events.iter().any(|e| e.fields.action == "client_link.open" && e.fields.outcome == "denied"),
        "the refused openings are recorded"
    );

    let dump = app.db.raw_dump();
    for text in ["\"answers\"", "phq-9", "Moderate", "risk_flags", "Robin Ashdown", "robin.ashdown@example.net"] {
        assert!(!cbt_testkit::dump_holds(&dump, text.as_bytes()), "{text:?} is in a raw dump");
    }

    // The closed pages answer 404: expected, not an error.
    for b in [browser, client_browser] {
        let errors: Vec<String> =
            b.console_errors().await.into_iter().filter(|e| !e.contains("404 (Not Found)")).collect();
        assert!(errors.is_empty(), "{errors:?}");
        b.close().await;
    }
    app.stop().await;
}

/// Saves a screenshot when `SCREENSHOT_DIR` is set.
async fn shot(b: &Browser, name: &str) {
    if let Ok(dir) = std::env::var("SCREENSHOT_DIR") {
        b.screenshot(&std::path::Path::new(&dir).join(name)).await;
    }
}

/// Rule-based drafting, as the therapist uses it: shorthand in, the
/// suggestion beside the note, two sections taken, one edited, then saved
/// and signed by the therapist. Nothing is saved before they save.
#[tokio::test]
async fn a_session_note_is_suggested_from_shorthand_and_taken_section_by_section() {
    let Some(browser) = Browser::launch().await else { return };
    let app = TestApp::spawn(TestDatabase::sqlite()).await;
    let c = &browser.client;
    sign_up_verify_and_sign_in(c, &app, "dana.draft@example.org").await;
    c.goto(&app.url("/clients/new")).await.unwrap();
    fill(c, "full_name", "Kit Sample").await;
    press(c, "/clients").await;
    expect_heading(c, "Kit Sample").await;
    c.find(Locator::LinkText("New session note")).await.unwrap().click().await.unwrap();
    expect_heading(c, "New session note").await;
    fill(c, "plan", "Review the sleep diary.").await;
    press(c, &format!("/clients/{}/notes", client_id(c).await)).await;
    expect_heading(c, "Session note draft").await;
    let note = path_id(c, "/notes/").await;

    c.find(Locator::LinkText("Suggest from shorthand")).await.unwrap().click().await.unwrap();
    expect_heading(c, "Suggest a note from your shorthand").await;
    fill(c, "shorthand", "Pt reports poor sleep x2 wks, denies SI.\nIntroduced TR for ANTs about work.\nHW: TR daily")
        .await;
    fill(c, "transcript", "Client: I feel like I'm failing at work.").await;
    press(c, &format!("/notes/{note}/draft")).await;
    expect_heading(c, "Suggested note").await;
    wait_for_text(c, "main .notice", "Rule-based suggestion, not AI.").await;
    let suggested = c.find(Locator::Css("main")).await.unwrap().text().await.unwrap();
    assert!(suggested.contains("Client reports poor sleep x2 weeks, denies suicidal ideation."), "{suggested}");
    assert!(suggested.contains("From your shorthand: “Pt reports poor sleep x2 wks, denies SI.”"), "{suggested}");
    shot(&browser, "note-suggested.png").await;
    // On a tablet in portrait, the two columns fit.
    c.set_window_size(768, 1024).await.unwrap();
    let fits = c.execute("return document.documentElement.scrollWidth <= window.innerWidth;", vec![]).await.unwrap();
    assert_eq!(fits, serde_json::Value::Bool(true), "the suggestion is wider than a tablet");
    shot(&browser, "note-suggested-tablet.png").await;
    c.set_window_size(1280, 900).await.unwrap();

    // Subjective: the suggestion (chosen by default, the note's was empty);
    // objective: kept empty; plan: added below the note's own.
    c.find(Locator::Css("input[name=take_objective][value=keep]")).await.unwrap().click().await.unwrap();
    c.find(Locator::Css("input[name=take_plan][value=add]")).await.unwrap().click().await.unwrap();
    press(c, &format!("/notes/{note}/draft/take")).await;
    expect_heading(c, "Session note draft").await;
    wait_for_text(c, "main .notice", "Nothing is saved until you save.").await;
    let value = |id: &'static str| async move {
        c.find(Locator::Id(id)).await.unwrap().prop("value").await.unwrap().unwrap_or_default()
    };
    assert!(value("subjective").await.starts_with("Client reports poor sleep"));
    assert!(value("subjective").await.contains("The client said: \"I feel like I'm failing at work.\""));
    assert_eq!(value("objective").await, "");
    assert_eq!(value("plan").await, "Review the sleep diary.\nthought record daily");
    // The therapist's own edit, then their save.
    fill(c, "plan", "Review the sleep diary.\nThought record daily, at the moment of low mood.").await;
    press(c, &format!("/notes/{note}")).await;
    wait_for_text(c, "main .notice", "Draft saved").await;
    press_confirmed(c, &format!("/notes/{note}/sign"), "locked").await;
    wait_for_text(c, "main .notice", "Signed").await;
    let signed = c.find(Locator::Css("dl.details")).await.unwrap().text().await.unwrap();
    assert!(signed.contains("at the moment of low mood") && signed.contains("denies suicidal ideation"), "{signed}");
    let provenance = c.find(Locator::Css("main .provenance")).await.unwrap().text().await.unwrap();
    assert!(provenance.contains("rule-based drafting (no AI)"), "{provenance}");

    let events = app.app.store().audit_entries_after(0, 100_000).await.unwrap();
    assert_eq!(events.iter().filter(|e| e.fields.action == "note.draft").count(), 1);
    let errors = browser.console_errors().await;
    assert!(errors.is_empty(), "{errors:?}");
    browser.close().await;
    app.stop().await;
}

/// Signs in, in the browser, an account made with `TestApp::verified_account`.
async fn sign_in(c: &fantoccini::Client, app: &TestApp, email: &str) {
    c.goto(&app.url("/login")).await.unwrap();
    fill(c, "email", email).await;
    fill(c, "password", cbt_testkit::accounts::PASSWORD).await;
    press(c, "/login").await;
    wait_for_text(c, "h1", "Welcome").await;
}

/// Drafts from the client's records, as the therapist uses them: a
/// formulation suggested, taken and saved, then drawn as the diagram; a
/// hypothesis proposed from a recurring pattern, taken and saved, whose
/// evidence links open the notes it cites.
#[tokio::test]
async fn a_formulation_and_a_hypothesis_are_drafted_from_the_records() {
    let Some(browser) = Browser::launch().await else { return };
    let app = TestApp::spawn(TestDatabase::sqlite()).await;
    let email = "fran.formulate@example.org";
    let web = app.verified_account(email).await;
    let (client, notes, _) = crate::case_drafts::client_with_a_story(&app, &web).await;
    let c = &browser.client;
    sign_in(c, &app, email).await;

    c.goto(&app.url(&format!("/clients/{client}"))).await.unwrap();
    c.find(Locator::LinkText("Suggest one from the records")).await.unwrap().click().await.unwrap();
    expect_heading(c, "Suggested formulation").await;
    wait_for_text(c, "main .notice", "Rule-based suggestion, not AI.").await;
    shot(&browser, "formulation-suggested.png").await;
    // The protective factors left out; the rest taken as ticked.
    c.find(Locator::Css("input[name='take_five_ps.protective']")).await.unwrap().click().await.unwrap();
    press(c, &format!("/clients/{client}/formulations/draft")).await;
    expect_heading(c, "New formulation").await;
    wait_for_text(c, "main .notice", "nothing is saved until you save").await;
    let value = |id: &'static str| async move {
        c.find(Locator::Id(id)).await.unwrap().prop("value").await.unwrap().unwrap_or_default()
    };
    assert_eq!(value("five_ps.precipitating").await, "Low mood since the redundancy in May.");
    assert_eq!(value("five_ps.protective").await, "", "not ticked, not taken");
    fill(c, "title", "Formulation after session 3").await;
    press(c, &format!("/clients/{client}/formulations")).await;
    expect_heading(c, "Formulation after session 3").await;
    let diagram = c.find(Locator::Css("figure.diagram svg")).await.unwrap().text().await.unwrap();
    assert!(diagram.contains("redundancy"), "the diagram draws what was taken: {diagram}");
    assert!(diagram.contains("Recruiter rang"), "and the worked example: {diagram}");
    shot(&browser, "formulation-diagram.png").await;

    c.goto(&app.url(&format!("/clients/{client}"))).await.unwrap();
    c.find(Locator::LinkText("Propose from the records")).await.unwrap().click().await.unwrap();
    expect_heading(c, "Proposed working hypotheses").await;
    shot(&browser, "hypotheses-proposed.png").await;
    c.find(Locator::XPath("//article[h2='Avoidance']//button")).await.unwrap().click().await.unwrap();
    expect_heading(c, "New hypothesis").await;
    assert!(value("statement").await.starts_with("Avoidance recurs"));
    press(c, &format!("/clients/{client}/hypotheses")).await;
    wait_for_text(c, "main .notice", "Saved.").await;
    // The evidence links open the notes it cites.
    c.find(Locator::LinkText("Session note, 2026-10-08 (draft)")).await.unwrap().click().await.unwrap();
    expect_heading(c, "Session note, 2026-10-08").await;
    assert!(c.current_url().await.unwrap().path().ends_with(&format!("/notes/{}", notes[1])));

    let errors = browser.console_errors().await;
    assert!(errors.is_empty(), "{errors:?}");
    browser.close().await;
    app.stop().await;
}

/// An AI draft as the therapist sees it written: shorthand in, each
/// sentence listed as the model finishes it, then the suggestion beside
/// the note; two sections taken, one edited, then saved and signed. The
/// model is the fake provider, streaming its answer a piece at a time.
#[tokio::test]
async fn an_ai_draft_is_streamed_then_taken_in_part_edited_and_signed() {
    let Some(browser) = Browser::launch().await else { return };
    let fake = cbt_testkit::FakeLlm::start().await;
    let answer = serde_json::json!({
        "subjective": [{"text": "[NAME_1] reports two weeks of poor sleep.", "source": "shorthand",
                        "quote": "[NAME_1] reports poor sleep x2 wks"}],
        "objective": [{"text": "Thought records were introduced for work worries.", "source": "shorthand",
                       "quote": "Introduced TR for ANTs about work"}],
        "assessment": [],
        "plan": [{"text": "Homework: a thought record every day.", "source": "shorthand", "quote": "HW: TR daily"}]
    })
    .to_string();
    let pieces = answer.len() / 3;
    fake.always(cbt_testkit::LlmReply::Answer { text: answer, pieces, pause: std::time::Duration::from_millis(15) });
    let endpoint = format!("{}/v1", fake.base_url());
    let app = TestApp::spawn_with(TestDatabase::sqlite(), move |s| {
        s.llm_provider = "self-hosted".into();
        s.llm_endpoint = Some(endpoint);
        s.llm_model = Some("llama3.1:8b".into());
        s.llm_baa = true;
    })
    .await;
    let c = &browser.client;
    sign_up_verify_and_sign_in(c, &app, "ash.stream@example.org").await;
    c.goto(&app.url("/account/ai-drafts")).await.unwrap();
    c.find(Locator::Css("button[value=allow]")).await.unwrap().click().await.unwrap();
    wait_for_text(c, "main", "You allowed AI drafts on").await;
    c.goto(&app.url("/clients/new")).await.unwrap();
    fill(c, "full_name", "Morgan Streamwell").await;
    press(c, "/clients").await;
    expect_heading(c, "Morgan Streamwell").await;
    c.find(Locator::LinkText("New session note")).await.unwrap().click().await.unwrap();
    expect_heading(c, "New session note").await;
    press(c, &format!("/clients/{}/notes", client_id(c).await)).await;
    expect_heading(c, "Session note draft").await;
    let note = path_id(c, "/notes/").await;

    c.find(Locator::LinkText("Suggest from shorthand")).await.unwrap().click().await.unwrap();
    expect_heading(c, "Suggest a note from your shorthand").await;
    fill(
        c,
        "shorthand",
        "Morgan Streamwell reports poor sleep x2 wks.\nIntroduced TR for ANTs about work.\nHW: TR daily",
    )
    .await;
    c.find(Locator::Css("button[value=model]")).await.unwrap().click().await.unwrap();
    // Sentences appear while the answer is still coming.
    wait_for_text(c, "#draft-progress-lines", "Homework: a thought record every day.").await;
    shot(&browser, "note-being-written.png").await;
    expect_heading(c, "Suggested note").await;
    wait_for_text(c, "main .notice", "AI suggestion from llama3.1:8b").await;
    let suggested = c.find(Locator::Css("main")).await.unwrap().text().await.unwrap();
    assert!(suggested.contains("Morgan Streamwell reports two weeks of poor sleep."), "names put back: {suggested}");
    shot(&browser, "note-ai-suggested.png").await;

    // Subjective and plan taken; objective kept as it was (empty).
    c.find(Locator::Css("input[name=take_objective][value=keep]")).await.unwrap().click().await.unwrap();
    press(c, &format!("/notes/{note}/draft/take")).await;
    expect_heading(c, "Session note draft").await;
    wait_for_text(c, "main .notice", "Nothing is saved until you save.").await;
    let value = |id: &'static str| async move {
        c.find(Locator::Id(id)).await.unwrap().prop("value").await.unwrap().unwrap_or_default()
    };
    assert_eq!(value("objective").await, "");
    assert_eq!(value("plan").await, "Homework: a thought record every day.");
    fill(c, "subjective", "Morgan Streamwell reports two weeks of poor sleep, waking at 4 a.m.").await;
    press(c, &format!("/notes/{note}")).await;
    wait_for_text(c, "main .notice", "Draft saved").await;
    press_confirmed(c, &format!("/notes/{note}/sign"), "locked").await;
    wait_for_text(c, "main .notice", "Signed").await;
    let signed = c.find(Locator::Css("dl.details")).await.unwrap().text().await.unwrap();
    assert!(signed.contains("waking at 4 a.m.") && signed.contains("a thought record every day"), "{signed}");
    let provenance = c.find(Locator::Css("main .provenance")).await.unwrap().text().await.unwrap();
    assert!(
        provenance.contains("AI: llama3.1:8b (a server run for this practice), prompt session-note-v1"),
        "the signed note says what drafted it: {provenance}"
    );
    assert!(!fake.everything_received().contains("Streamwell"), "the name never reached the model");

    let errors = browser.console_errors().await;
    assert!(errors.is_empty(), "{errors:?}");
    browser.close().await;
    app.stop().await;
}
