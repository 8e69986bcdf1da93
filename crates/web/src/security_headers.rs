//! The browser-security headers of the security page, on every response:
//! pages, API answers, errors, static files.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::WebSettings;

pub const CSP: &str = "default-src 'self'; frame-ancestors 'none'; object-src 'none'; upgrade-insecure-requests";
/// Local plain-HTTP mode only: `upgrade-insecure-requests` would send the
/// browser to an `https://127.0.0.1` that does not exist.
pub const CSP_LOCAL_HTTP: &str = "default-src 'self'; frame-ancestors 'none'; object-src 'none'";
pub const HSTS: &str = "max-age=31536000; includeSubDomains; preload";
pub const PERMISSIONS_POLICY: &str = "camera=(), microphone=(self), geolocation=()";

pub async fn apply(State(settings): State<Arc<WebSettings>>, request: Request, next: Next) -> Response {
    let is_static = request.uri().path().starts_with("/static/") || request.uri().path() == "/favicon.ico";
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    let csp = if settings.https || settings.production { CSP } else { CSP_LOCAL_HTTP };
    set(h, header::CONTENT_SECURITY_POLICY, csp);
    if settings.https || settings.production {
        set(h, header::STRICT_TRANSPORT_SECURITY, HSTS);
    }
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::REFERRER_POLICY, "strict-origin-when-cross-origin");
    set(h, HeaderName::from_static("permissions-policy"), PERMISSIONS_POLICY);
    // Pages may show PHI once signed in: never stored by a browser or proxy.
    // Static files are public and may be revalidated.
    set(h, header::CACHE_CONTROL, if is_static { "no-cache" } else { "no-store" });
    h.remove(header::SERVER);
    h.remove(HeaderName::from_static("x-powered-by"));
    response
}

fn set(headers: &mut HeaderMap, name: HeaderName, value: &'static str) {
    headers.insert(name, HeaderValue::from_static(value));
}
