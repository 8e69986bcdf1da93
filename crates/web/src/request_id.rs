//! Request ids and the one log line per request.
//!
//! Every request gets a fresh id from the server (a client-supplied
//! `X-Request-Id` is ignored, so it cannot carry text into the logs). The id
//! is returned in `X-Request-Id`, shown on error pages, written to the log
//! and to audit events.

use std::time::Instant;

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, Request as HttpRequest};
use axum::middleware::Next;
use axum::response::Response;
use cbt_domain::RequestId;

pub static REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Reads the request id the middleware assigned.
pub trait RequestIdExt {
    fn request_id(&self) -> RequestId;
}

impl<B> RequestIdExt for HttpRequest<B> {
    fn request_id(&self) -> RequestId {
        self.extensions().get::<RequestId>().copied().unwrap_or_default()
    }
}

pub async fn assign(mut request: Request, next: Next) -> Response {
    let id = RequestId::new();
    request.extensions_mut().insert(id);
    let mut response = next.run(request).await;
    if let Ok(value) = HeaderValue::from_str(&id.to_string()) {
        response.headers_mut().insert(REQUEST_ID_HEADER.clone(), value);
    }
    response.extensions_mut().insert(id);
    response
}

/// Logs method, path (never the query string: it may carry search terms),
/// status and duration.
pub async fn log_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let request_id = request.request_id();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let micros = started.elapsed().as_micros() as u64;
    if status >= 500 {
        tracing::warn!(%request_id, %method, path, status, micros, "request");
    } else {
        tracing::info!(%request_id, %method, path, status, micros, "request");
    }
    response
}
