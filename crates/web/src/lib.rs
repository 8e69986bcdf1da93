//! HTTP for CBT Assistant Pro.
//!
//! [`router`] builds the whole application: pages, the JSON API, static
//! files and the middleware around them. Handlers parse input, call one
//! `cbt_app::App` use case and render a template or JSON; business rules
//! live in `cbt-app` and `cbt-domain`.
//!
//! Middleware, outermost first (see [`router`]):
//! security headers → request id → request log → error rendering →
//! panic catcher → timeout → body limit → routes.

mod assets;
mod error;
mod health;
mod pages;
mod request_id;
mod security_headers;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::middleware;
use axum::routing::get;
use cbt_app::App;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

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
}

impl WebSettings {
    /// Plain HTTP on loopback, as `cargo run` serves.
    pub fn local() -> Self {
        Self { production: false, https: false, body_limit: 1024 * 1024, request_timeout: Duration::from_secs(30) }
    }
}

/// Shared by every handler.
#[derive(Clone)]
pub struct WebState {
    pub app: App,
    pub settings: Arc<WebSettings>,
}

/// The whole HTTP application.
pub fn router(app: App, settings: WebSettings) -> Router {
    let settings = Arc::new(settings);
    let state = WebState { app, settings: settings.clone() };
    let routes = Router::new()
        .route("/", get(pages::home))
        .route("/privacy", get(pages::privacy))
        .route("/security", get(pages::security))
        .route("/cookies", get(pages::cookies))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/static/{file}", get(assets::serve))
        .route("/favicon.ico", get(assets::favicon))
        .fallback(error::not_found)
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
