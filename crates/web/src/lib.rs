//! HTTP for CBT Assistant Pro.
//!
//! [`router`] builds the whole application: pages, the JSON API, static
//! files and the middleware around them. Handlers parse input, call one
//! `cbt_app::App` use case and render a template or JSON; business rules
//! live in `cbt-app` and `cbt-domain`.
//!
//! Middleware, outermost first (see [`router`]):
//! security headers → request id → request log → error rendering →
//! panic catcher → timeout → body limit → client address → refusal delay
//! (429s are held a second) → per-IP ceiling → session → CSRF → routes.

mod account_pages;
mod api;
mod api_doc;
mod assessment_api;
mod assessment_pages;
mod assets;
pub mod auth;
mod case_draft_pages;
mod client_address;
mod client_api;
mod client_pages;
mod client_records;
pub mod cookies;
pub mod csrf;
mod draft_pages;
mod error;
mod formulation_pages;
mod google_pages;
mod health;
mod homework_pages;
mod hypothesis_pages;
mod instrument_pages;
mod mfa_pages;
mod note_api;
mod note_pages;
mod pages;
mod record_api;
mod record_forms;
mod record_pages;
mod refusal_delay;
mod request_id;
mod request_limit;
mod security_headers;
mod treatment_plan_pages;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::middleware;
use axum::routing::{get, post};
use cbt_app::App;
use cbt_domain::formulation::Formulation;
use cbt_domain::homework::Homework;
use cbt_domain::hypothesis::Hypothesis;
use cbt_domain::treatment_plan::TreatmentPlan;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

use crate::cookies::CookiePolicy;
use crate::csrf::CsrfKey;

pub use error::WebError;
pub use request_id::RequestIdExt;

/// How the web layer behaves in this deployment.
#[derive(Clone, Debug)]
pub struct WebSettings {
    /// `CBT_ENV=production`.
    pub production: bool,
    /// The public URL is `https://` (TLS here or at a proxy in front).
    pub https: bool,
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
    /// Longest a request may take before it is answered with 503.
    pub request_timeout: Duration,
    /// `scheme://host[:port]` of the public URL (CSRF origin check).
    pub public_origin: String,
    /// Every account must use two-step sign-in (`CBT_REQUIRE_MFA`).
    pub require_mfa: bool,
    /// TLS-terminating proxies whose `X-Forwarded-*` headers are believed.
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

impl WebSettings {
    /// Plain HTTP on loopback, as `cargo run` serves.
    pub fn local() -> Self {
        Self {
            production: false,
            https: false,
            body_limit: 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            public_origin: "http://127.0.0.1:8080".into(),
            require_mfa: false,
            trusted_proxies: Vec::new(),
        }
    }
}

/// Shared by every handler: one allocation behind an `Arc`, because axum
/// clones the state for every handler and middleware layer of every request
/// (a clone of the parts themselves was a dozen atomic counts each time).
#[derive(Clone)]
pub struct WebState(Arc<WebParts>);

impl std::ops::Deref for WebState {
    type Target = WebParts;

    fn deref(&self) -> &WebParts {
        &self.0
    }
}

/// What [`WebState`] holds.
pub struct WebParts {
    pub app: App,
    pub settings: Arc<WebSettings>,
    pub cookies: CookiePolicy,
    pub csrf: CsrfKey,
    /// Google sign-in, when configured.
    pub google: Option<Arc<cbt_oidc::OidcClient>>,
    pub pending: google_pages::PendingSigner,
}

/// The whole HTTP application. `csrf_secret` keys the CSRF tokens.
pub fn router(
    app: App,
    settings: WebSettings,
    csrf_secret: &[u8],
    google: Option<Arc<cbt_oidc::OidcClient>>,
) -> Router {
    let settings = Arc::new(settings);
    let cookies = CookiePolicy { secure: settings.https || settings.production };
    let limiter = request_limit::RequestLimiter::start(app.clone());
    let state = WebState(Arc::new(WebParts {
        app,
        settings: settings.clone(),
        cookies,
        csrf: CsrfKey::new(csrf_secret),
        google,
        pending: google_pages::PendingSigner::new(csrf_secret),
    }));
    let (api_routes, api_document) = api::routes().finish();
    let routes = Router::new()
        .merge(api_routes)
        .route("/api/openapi.json", api::openapi_json(&api_document))
        .route("/signup", get(account_pages::sign_up_form).post(account_pages::sign_up))
        .route("/verify-email", get(account_pages::verify_email))
        .route("/login", get(account_pages::sign_in_form).post(account_pages::sign_in))
        .route("/auth/google", post(google_pages::start))
        .route("/auth/google/callback", get(google_pages::callback))
        .route("/login/mfa", get(mfa_pages::code_form).post(mfa_pages::submit_code))
        .route("/logout", post(account_pages::sign_out))
        .route("/account/mfa", get(mfa_pages::settings))
        .route("/account/mfa/setup", post(mfa_pages::begin))
        .route("/account/mfa/enable", post(mfa_pages::enable))
        .route("/account/mfa/disable", post(mfa_pages::disable))
        .route("/password/forgot", get(account_pages::forgot_form).post(account_pages::forgot))
        .route("/password/reset", get(account_pages::reset_form).post(account_pages::reset))
        .route("/dashboard", get(account_pages::dashboard))
        .route("/clients", get(client_pages::list).post(client_pages::create))
        .route("/clients/new", get(client_pages::new_form))
        .route("/clients/{id}", get(client_pages::show).post(client_pages::update))
        .route("/clients/{id}/edit", get(client_pages::edit_form))
        .route("/clients/{id}/history", get(client_pages::history))
        .route("/clients/{id}/notes", post(note_pages::create))
        .route("/clients/{id}/notes/new", get(note_pages::new_form))
        .route("/notes/{id}", get(note_pages::show).post(note_pages::save))
        .route("/notes/{id}/edit", get(note_pages::edit_form))
        .route("/notes/{id}/draft", get(draft_pages::note_draft_form).post(draft_pages::draft_note))
        .route("/notes/{id}/draft/take", post(draft_pages::take_draft))
        .route("/notes/{id}/draft/as-written", post(draft_pages::draft_note_as_written))
        .route("/notes/{id}/sign", post(note_pages::sign))
        .route("/notes/{id}/addenda", post(note_pages::add_addendum))
        .route("/notes/{id}/private", get(note_pages::private_form).post(note_pages::save_private))
        .route("/clients/{id}/formulations", post(record_pages::create::<Formulation>))
        .route("/clients/{id}/formulations/new", get(record_pages::new_form::<Formulation>))
        .route(
            "/clients/{id}/formulations/draft",
            get(case_draft_pages::formulation_draft).post(case_draft_pages::take_formulation),
        )
        .route("/clients/{id}/formulations/draft/ai", post(case_draft_pages::formulation_draft_by_model))
        .route(
            "/clients/{id}/hypotheses/draft",
            get(case_draft_pages::hypotheses_draft).post(case_draft_pages::take_hypothesis),
        )
        .route("/clients/{id}/hypotheses/draft/ai", post(case_draft_pages::hypotheses_draft_by_model))
        .route("/formulations/{id}", get(record_pages::show::<Formulation>).post(record_pages::save::<Formulation>))
        .route("/formulations/{id}/edit", get(record_pages::edit_form::<Formulation>))
        .route("/formulations/{id}/history", get(record_pages::history::<Formulation>))
        .route("/formulations/{id}/diagram.svg", get(record_pages::picture::<Formulation>))
        .route("/clients/{id}/hypotheses", post(record_pages::create::<Hypothesis>))
        .route("/clients/{id}/hypotheses/new", get(record_pages::new_form::<Hypothesis>))
        .route("/hypotheses/{id}", get(record_pages::show::<Hypothesis>).post(record_pages::save::<Hypothesis>))
        .route("/hypotheses/{id}/edit", get(record_pages::edit_form::<Hypothesis>))
        .route("/hypotheses/{id}/history", get(record_pages::history::<Hypothesis>))
        .route("/clients/{id}/plans", post(record_pages::create::<TreatmentPlan>))
        .route("/clients/{id}/plans/new", get(record_pages::new_form::<TreatmentPlan>))
        .route("/plans/{id}", get(treatment_plan_pages::show).post(record_pages::save::<TreatmentPlan>))
        .route("/plans/{id}/edit", get(record_pages::edit_form::<TreatmentPlan>))
        .route("/plans/{id}/history", get(record_pages::history::<TreatmentPlan>))
        .route("/plans/{id}/sign", post(record_pages::sign::<TreatmentPlan>))
        .route("/plans/{id}/addenda", post(record_pages::add_addendum::<TreatmentPlan>))
        .route("/plans/{id}/progress", post(treatment_plan_pages::rate))
        .route("/clients/{id}/homework", post(homework_pages::assign))
        .route("/clients/{id}/homework/new", get(homework_pages::assign_form))
        .route("/homework/{id}", get(record_pages::show::<Homework>).post(record_pages::save::<Homework>))
        .route("/homework/{id}/edit", get(record_pages::edit_form::<Homework>))
        .route("/homework/{id}/history", get(record_pages::history::<Homework>))
        .route("/homework/{id}/send", post(assessment_pages::send_homework))
        .route("/clients/{id}/assessments", get(assessment_pages::client_assessments).post(assessment_pages::create))
        .route("/clients/{id}/assessments/new", get(assessment_pages::new_form))
        .route("/assessments/{id}", get(assessment_pages::show))
        .route("/assessments/{id}/acknowledge", post(assessment_pages::acknowledge))
        .route("/clients/{id}/links", post(assessment_pages::send_link))
        .route("/clients/{id}/schedules", post(assessment_pages::create_schedule))
        .route("/clients/{id}/schedules/stop", post(assessment_pages::stop_schedule))
        .route("/links/{id}/revoke", post(assessment_pages::revoke_link))
        .route("/questionnaire", get(assessment_pages::questionnaire).post(assessment_pages::submit_questionnaire))
        .route("/instruments", get(instrument_pages::list).post(instrument_pages::create))
        .route("/instruments/new", get(instrument_pages::new_form))
        .route("/instruments/{id}", get(instrument_pages::edit_form).post(instrument_pages::save))
        .route("/worksheets", get(homework_pages::worksheets).post(homework_pages::create_worksheet))
        .route("/worksheets/new", get(homework_pages::new_worksheet))
        .route("/worksheets/{id}", get(homework_pages::edit_worksheet).post(homework_pages::save_worksheet))
        .route("/account", get(account_pages::account))
        .route("/account/profile", post(account_pages::update_profile))
        .route("/account/practice", post(account_pages::update_practice))
        .route("/account/ai-drafts", get(draft_pages::ai_drafts).post(draft_pages::set_consent))
        .route("/account/email", post(account_pages::change_email))
        .route("/account/verify/resend", post(account_pages::resend_verification))
        .route("/account/security", get(account_pages::security_settings))
        .route("/account/password", post(account_pages::change_password))
        .route("/account/sessions/revoke-others", post(account_pages::revoke_other_sessions))
        .route("/account/sessions/{id}/revoke", post(account_pages::revoke_session))
        .route("/", get(pages::home))
        .route("/privacy", get(pages::privacy))
        .route("/security", get(pages::security))
        .route("/cookies", get(pages::cookies))
        .route("/account/tokens", post(account_pages::create_access_token))
        .route("/account/tokens/{id}/revoke", post(account_pages::revoke_access_token))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/static/{file}", get(assets::serve))
        .route("/favicon.ico", get(assets::favicon))
        .fallback(error::not_found)
        .layer(middleware::from_fn_with_state(state.clone(), csrf::protect))
        .layer(middleware::from_fn_with_state(state.clone(), auth::load_session))
        .layer(middleware::from_fn_with_state(limiter, request_limit::limit))
        .layer(middleware::from_fn_with_state(refusal_delay::RefusalDelay::new(), refusal_delay::hold))
        .layer(middleware::from_fn_with_state(state.clone(), client_address::identify))
        .with_state(state);

    routes.layer(
        ServiceBuilder::new()
            .layer(middleware::from_fn_with_state(settings.clone(), security_headers::apply))
            .layer(middleware::from_fn(request_id::assign))
            .layer(middleware::from_fn(request_id::log_request))
            .layer(middleware::from_fn(error::render_errors))
            .layer(CatchPanicLayer::custom(error::panic_response))
            .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, settings.request_timeout))
            .layer(RequestBodyLimitLayer::new(settings.body_limit))
            .layer(DefaultBodyLimit::max(settings.body_limit)),
    )
}
