//! The web layer's error type and the one place error responses are drawn.
//!
//! Handlers return [`WebError`]; it becomes a bare response carrying a
//! [`PendingError`] extension. [`render_errors`] (middleware) turns that, and
//! any other error status produced below it (404 fallback, 405, 413 from the
//! body limit, 503 from the timeout, 500 from a panic, an extractor's
//! rejection), into a friendly HTML page or `application/problem+json`
//! under `/api/`. Only a fixed title, a safe detail and the request id reach
//! the client: never an internal message, a stack or SQL.

use std::any::Any;

use askama::Template;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use cbt_app::AppError;
use cbt_domain::RequestId;
use serde::Serialize;

use crate::pages::Layout;
use crate::request_id::RequestIdExt;

#[derive(Debug)]
pub enum WebError {
    NotFound,
    /// A dependency (the database) cannot serve now.
    Unavailable(String),
    /// Our fault. The cause is logged with the request id, never shown.
    Internal(String),
}

impl From<AppError> for WebError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Unavailable(cause) => WebError::Unavailable(cause),
            other => WebError::Internal(other.to_string()),
        }
    }
}

/// What the renderer needs to draw an error response.
#[derive(Clone, Debug)]
pub struct PendingError {
    /// Logged, never shown.
    pub cause: Option<String>,
}

/// Marks a response whose body is already the final error page.
#[derive(Clone, Copy, Debug)]
struct Rendered;

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (status, cause) = match self {
            WebError::NotFound => (StatusCode::NOT_FOUND, None),
            WebError::Unavailable(cause) => (StatusCode::SERVICE_UNAVAILABLE, Some(cause)),
            WebError::Internal(cause) => (StatusCode::INTERNAL_SERVER_ERROR, Some(cause)),
        };
        let mut response = status.into_response();
        response.extensions_mut().insert(PendingError { cause });
        response
    }
}

pub async fn not_found() -> WebError {
    WebError::NotFound
}

/// A panic inside a handler becomes a 500. The panic's message may hold
/// anything, so it is dropped unread.
pub fn panic_response(_payload: Box<dyn Any + Send + 'static>) -> Response {
    WebError::Internal("a request handler panicked".into()).into_response()
}

/// Titles and the one-sentence explanation shown for each status.
fn describe(status: StatusCode) -> (&'static str, &'static str) {
    match status.as_u16() {
        400 => ("Bad request", "The request could not be understood."),
        401 => ("Sign-in required", "Please sign in to continue."),
        403 => ("Forbidden", "This request was refused."),
        404 => ("Not found", "There is nothing at this address."),
        405 => ("Method not allowed", "This address does not accept that kind of request."),
        408 => ("Request timeout", "The request took too long to arrive."),
        413 => ("Too large", "The request is larger than this server accepts."),
        415 => ("Unsupported media type", "The request's content type is not accepted here."),
        422 => ("Unprocessable request", "The request's content could not be read."),
        429 => ("Too many requests", "Please wait a moment and try again."),
        503 => ("Service unavailable", "The service cannot answer right now. Please try again shortly."),
        s if s >= 500 => ("Something went wrong", "An unexpected error occurred. Nothing you saved was lost."),
        _ => ("Error", "The request could not be completed."),
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    layout: Layout,
    status: u16,
    title: &'a str,
    detail: &'a str,
    request_id: String,
}

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    title: &'a str,
    status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a str>,
    request_id: String,
}

pub async fn render_errors(request: Request, next: Next) -> Response {
    let request_id = request.request_id();
    let wants_json = {
        let path = request.uri().path();
        path.starts_with("/api/") || path == "/readyz" || path == "/healthz"
    };
    let response = next.run(request).await;
    let status = response.status();
    if status.as_u16() < 400 || response.extensions().get::<Rendered>().is_some() {
        return response;
    }
    if let Some(PendingError { cause: Some(cause) }) = response.extensions().get::<PendingError>()
        && status.is_server_error()
    {
        tracing::error!(%request_id, status = status.as_u16(), cause = cause.as_str(), "request failed");
    }
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    let body = draw(status, request_id, wants_json, &mut parts.headers);
    parts.extensions.insert(Rendered);
    Response::from_parts(parts, body)
}

fn draw(status: StatusCode, request_id: RequestId, json: bool, headers: &mut axum::http::HeaderMap) -> Body {
    let (title, detail) = describe(status);
    if json {
        let problem = Problem {
            kind: "about:blank",
            title,
            status: status.as_u16(),
            detail: (!status.is_server_error()).then_some(detail),
            request_id: request_id.to_string(),
        };
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        return Body::from(serde_json::to_vec(&problem).unwrap_or_default());
    }
    let page = ErrorPage {
        layout: Layout::new(""),
        status: status.as_u16(),
        title,
        detail,
        request_id: request_id.to_string(),
    };
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    match page.render() {
        Ok(html) => Body::from(html),
        // The template is compiled in; if it still fails, say the minimum.
        Err(_) => Body::from(format!("{} {title}. Request id: {request_id}", status.as_u16())),
    }
}
