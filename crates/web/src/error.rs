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
use axum::response::{IntoResponse, Redirect, Response};
use cbt_app::AppError;
use cbt_domain::RequestId;
use serde::Serialize;

use crate::pages::Layout;
use crate::request_id::RequestIdExt;

#[derive(Debug)]
pub enum WebError {
    NotFound,
    /// Pages redirect to the sign-in page; the API answers 401.
    SignInRequired,
    /// The deployment requires two-step sign-in; pages redirect to its set-up.
    MfaSetupRequired,
    /// A state-changing request failed the CSRF checks.
    CsrfRejected,
    PayloadTooLarge,
    /// Too many attempts; `Retry-After` says how long to wait.
    RateLimited {
        until: time::OffsetDateTime,
    },
    /// A verification or reset link that cannot be used.
    InvalidLink,
    /// Input broke rules; the API lists them per field.
    Invalid(cbt_domain::validation::FieldErrors),
    /// Saved by someone else since it was read; nothing was overwritten.
    Conflict,
    /// A signed record: changes are addenda.
    Locked,
    /// Clinical pages wait for a confirmed email address.
    VerificationRequired,
    /// A dependency (the database) cannot serve now.
    Unavailable(String),
    /// Our fault. The cause is logged with the request id, never shown.
    Internal(String),
}

impl WebError {
    /// One field's problem.
    pub fn invalid(field: &'static str, message: &str) -> Self {
        WebError::Invalid(cbt_domain::validation::FieldError::new(field, message).into())
    }
}

impl From<AppError> for WebError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Unavailable(cause) | AppError::ModelUnavailable(cause) => WebError::Unavailable(cause),
            AppError::NotFound => WebError::NotFound,
            AppError::RateLimited { until } => WebError::RateLimited { until },
            AppError::InvalidLink => WebError::InvalidLink,
            AppError::Invalid(errors) => WebError::Invalid(errors),
            AppError::InvalidCredentials => WebError::SignInRequired,
            AppError::Conflict => WebError::Conflict,
            AppError::Locked => WebError::Locked,
            AppError::VerificationRequired => WebError::VerificationRequired,
            other => WebError::Internal(other.to_string()),
        }
    }
}

/// What the renderer needs to draw an error response.
#[derive(Clone, Debug, Default)]
pub struct PendingError {
    /// Logged, never shown.
    pub cause: Option<String>,
    /// A safe sentence replacing the status's standard one.
    pub detail: Option<String>,
    /// Per-field problems (listed in problem+json).
    pub fields: Vec<(String, String)>,
}

/// Marks a response whose body is already the final error page.
#[derive(Clone, Copy, Debug)]
struct Rendered;

/// A page a handler drew itself with an error status (a form shown again
/// with its errors): the renderer leaves it alone.
pub fn rendered(status: StatusCode, mut response: Response) -> Response {
    *response.status_mut() = status;
    response.extensions_mut().insert(Rendered);
    response
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let mut pending = PendingError::default();
        let mut retry_after = None;
        let status = match self {
            WebError::NotFound => StatusCode::NOT_FOUND,
            WebError::SignInRequired => StatusCode::UNAUTHORIZED,
            WebError::MfaSetupRequired => {
                let mut r = Redirect::to("/account/mfa?notice=required").into_response();
                r.extensions_mut().insert(Rendered);
                return r;
            }
            WebError::CsrfRejected => StatusCode::FORBIDDEN,
            WebError::Conflict => StatusCode::CONFLICT,
            WebError::Locked => {
                pending.detail = Some("This note is signed and locked. Add an addendum instead.".into());
                StatusCode::CONFLICT
            }
            WebError::VerificationRequired => {
                pending.detail = Some(
                    "Confirm your email address first: clinical records open once it is confirmed. The link is in the email we sent you."
                        .into(),
                );
                StatusCode::FORBIDDEN
            }
            WebError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            WebError::InvalidLink => {
                pending.detail =
                    Some("This link is invalid, was already used or has expired. Ask for a new one.".into());
                StatusCode::BAD_REQUEST
            }
            WebError::RateLimited { until } => {
                let now = time::OffsetDateTime::now_utc();
                let seconds = (until - now).whole_seconds().max(1);
                retry_after = Some(seconds);
                pending.detail = Some(format!(
                    "Too many attempts. Try again after {:02}:{:02} UTC (in about {} minute{}).",
                    until.hour(),
                    until.minute(),
                    (seconds + 59) / 60,
                    if (seconds + 59) / 60 == 1 { "" } else { "s" }
                ));
                StatusCode::TOO_MANY_REQUESTS
            }
            WebError::Invalid(errors) => {
                pending.fields = errors.0.into_iter().map(|e| (e.field.to_owned(), e.message)).collect();
                StatusCode::UNPROCESSABLE_ENTITY
            }
            WebError::Unavailable(cause) => {
                pending.cause = Some(cause);
                StatusCode::SERVICE_UNAVAILABLE
            }
            WebError::Internal(cause) => {
                pending.cause = Some(cause);
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let mut response = status.into_response();
        if let Some(seconds) = retry_after
            && let Ok(v) = HeaderValue::from_str(&seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response.extensions_mut().insert(pending);
        response
    }
}

/// An id from a path; a malformed one is as unknown as a foreign one (404).
pub(crate) fn id_or_404<T: std::str::FromStr>(raw: &str) -> Result<T, WebError> {
    raw.parse().map_err(|_| WebError::NotFound)
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
        403 => (
            "Request refused",
            "This form has expired or was sent from another site. Go back, reload the page and try again.",
        ),
        404 => ("Not found", "There is nothing at this address."),
        405 => ("Method not allowed", "This address does not accept that kind of request."),
        408 => ("Request timeout", "The request took too long to arrive."),
        409 => (
            "Changed meanwhile",
            "This record was changed elsewhere since you opened it. Nothing was overwritten: reload it and make your change again.",
        ),
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

/// One field's problem: the field as named in the body, and what to fix.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct FieldProblem<'a> {
    field: &'a str,
    message: &'a str,
}

/// An error answer (RFC 9457 problem details). Never holds PHI: `detail`
/// and `errors` say what is wrong, not what was sent.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Problem<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    title: &'a str,
    status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    errors: Vec<FieldProblem<'a>>,
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
    let pending = response.extensions().get::<PendingError>().cloned().unwrap_or_default();
    if let Some(cause) = &pending.cause
        && status.is_server_error()
    {
        tracing::error!(%request_id, status = status.as_u16(), cause = cause.as_str(), "request failed");
    }
    if status == StatusCode::UNAUTHORIZED && !wants_json {
        // A page that needs a signed-in therapist: go and sign in.
        let mut redirect = Redirect::to("/login").into_response();
        redirect.extensions_mut().insert(Rendered);
        return redirect;
    }
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    let body = draw(status, request_id, wants_json, &pending, &mut parts.headers);
    parts.extensions.insert(Rendered);
    Response::from_parts(parts, body)
}

fn draw(
    status: StatusCode,
    request_id: RequestId,
    json: bool,
    pending: &PendingError,
    headers: &mut axum::http::HeaderMap,
) -> Body {
    let (title, standard) = describe(status);
    let detail = pending.detail.as_deref().unwrap_or(standard);
    if json {
        let problem = Problem {
            kind: "about:blank",
            title,
            status: status.as_u16(),
            detail: (!status.is_server_error()).then_some(detail),
            errors: pending.fields.iter().map(|(f, m)| FieldProblem { field: f, message: m }).collect(),
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
