//! Public pages: home, privacy policy, security, cookie notice.

use askama::Template;
use askama_web::WebTemplate;

/// What every page's layout needs.
pub struct Layout {
    /// The navigation entry to mark as current ("" for none).
    pub current: &'static str,
}

impl Layout {
    pub fn new(current: &'static str) -> Self {
        Self { current }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "home.html")]
pub struct HomePage {
    layout: Layout,
}

#[derive(Template, WebTemplate)]
#[template(path = "privacy.html")]
pub struct PrivacyPage {
    layout: Layout,
}

#[derive(Template, WebTemplate)]
#[template(path = "security.html")]
pub struct SecurityPage {
    layout: Layout,
}

#[derive(Template, WebTemplate)]
#[template(path = "cookies.html")]
pub struct CookiesPage {
    layout: Layout,
}

pub async fn home() -> HomePage {
    HomePage { layout: Layout::new("home") }
}

pub async fn privacy() -> PrivacyPage {
    PrivacyPage { layout: Layout::new("privacy") }
}

pub async fn security() -> SecurityPage {
    SecurityPage { layout: Layout::new("security") }
}

pub async fn cookies() -> CookiesPage {
    CookiesPage { layout: Layout::new("cookies") }
}
