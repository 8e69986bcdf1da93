//! Public pages: home, privacy policy, security, cookie notice.

use askama::Template;
use askama_web::WebTemplate;

use crate::auth::Visitor;
use crate::csrf::CsrfToken;

/// What every page's layout needs.
pub struct Layout {
    /// The navigation entry to mark as current ("" for none).
    pub current: &'static str,
    /// For the sign-out form (and any other form on the page).
    pub csrf: String,
    /// The signed-in therapist's name, for the navigation.
    pub user: Option<String>,
}

impl Layout {
    /// A page with no visitor context (error pages).
    pub fn new(current: &'static str) -> Self {
        Self { current, csrf: String::new(), user: None }
    }

    pub fn for_visitor(current: &'static str, visitor: &Visitor, csrf: &CsrfToken) -> Self {
        Self { current, csrf: csrf.0.clone(), user: visitor.session.as_ref().map(|s| s.account.full_name.clone()) }
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

type Csrf = axum::Extension<CsrfToken>;

pub async fn home(visitor: Visitor, csrf: Csrf) -> HomePage {
    HomePage { layout: Layout::for_visitor("home", &visitor, &csrf) }
}

pub async fn privacy(visitor: Visitor, csrf: Csrf) -> PrivacyPage {
    PrivacyPage { layout: Layout::for_visitor("privacy", &visitor, &csrf) }
}

pub async fn security(visitor: Visitor, csrf: Csrf) -> SecurityPage {
    SecurityPage { layout: Layout::for_visitor("security", &visitor, &csrf) }
}

pub async fn cookies(visitor: Visitor, csrf: Csrf) -> CookiesPage {
    CookiesPage { layout: Layout::for_visitor("cookies", &visitor, &csrf) }
}

/// Dates as the pages show and take them: `YYYY-MM-DD`.
pub(crate) const ISO_DATE: &[time::format_description::BorrowedFormatItem<'_>] =
    time::macros::format_description!("[year]-[month]-[day]");

/// A date as `YYYY-MM-DD`, or nothing.
pub(crate) fn date_text(d: Option<time::Date>) -> String {
    d.and_then(|d| d.format(ISO_DATE).ok()).unwrap_or_default()
}

/// A moment as `YYYY-MM-DD HH:MM UTC`.
pub(crate) fn when(t: time::OffsetDateTime) -> String {
    format!("{:04}-{:02}-{:02} {:02}:{:02} UTC", t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute())
}
