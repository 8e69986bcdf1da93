//! End-to-end in headless Chromium: the pages load under the real CSP with
//! no console error or CSP violation, and work from the keyboard.

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
