//! CSRF protection (checklist 18) on every state-changing request.
//!
//! 1. Same origin: a `Sec-Fetch-Site` other than `same-origin`/`none`, or
//!    an `Origin` that is neither the public URL's nor this host's, is
//!    refused.
//! 2. Double-submit token: the `cbt_csrf` cookie must equal the form field
//!    `csrf_token` (or the `X-CSRF-Token` header), compared in constant
//!    time. Signed in, the token is an HMAC of the session token, so it is
//!    bound to the session; before sign-in it is a random value.
//!
//! Failures answer 403 with a page that says what to do. GET, HEAD and
//! OPTIONS never change state and are not checked.

use aws_lc_rs::{constant_time, hmac};
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::auth::Visitor;
use crate::cookies::CSRF;
use crate::{WebError, WebState};

pub const FORM_FIELD: &str = "csrf_token";
pub const HEADER: &str = "x-csrf-token";

/// The token forms must carry on this request.
#[derive(Clone, Debug)]
pub struct CsrfToken(pub String);

/// The CSRF key (from `CBT_CSRF_SECRET`).
#[derive(Clone)]
pub struct CsrfKey(hmac::Key);

impl CsrfKey {
    pub fn new(secret: &[u8]) -> Self {
        Self(hmac::Key::new(hmac::HMAC_SHA256, secret))
    }

    /// The token of the session with this cookie token.
    pub fn for_session(&self, session_token: &str) -> String {
        URL_SAFE_NO_PAD.encode(hmac::sign(&self.0, session_token.as_bytes()).as_ref())
    }
}

fn random_token() -> Option<String> {
    let mut raw = [0u8; 32];
    aws_lc_rs::rand::fill(&mut raw).ok()?;
    Some(URL_SAFE_NO_PAD.encode(raw))
}

fn same(a: &str, b: &str) -> bool {
    constant_time::verify_slices_are_equal(a.as_bytes(), b.as_bytes()).is_ok()
}

/// The request comes from our own pages (checklist 18, second half).
fn same_origin(headers: &HeaderMap, public_origin: &str) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && site != "same-origin"
        && site != "none"
    {
        return false;
    }
    let Some(origin) = headers.get(header::ORIGIN) else { return true };
    let Ok(origin) = origin.to_str() else { return false };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    origin == public_origin
        || (!host.is_empty() && (origin == format!("http://{host}") || origin == format!("https://{host}")))
}

pub async fn protect(State(state): State<WebState>, request: Request, next: Next) -> Response {
    let visitor = request.extensions().get::<Visitor>().cloned().unwrap_or_default();
    let cookie = state.cookies.get(request.headers(), CSRF);
    let (token, set_cookie) = match &visitor.token {
        Some(session_token) => {
            let t = state.csrf.for_session(session_token);
            let stale = cookie.as_deref() != Some(t.as_str());
            (t, stale)
        }
        None => match cookie.clone().filter(|c| c.len() >= 32) {
            Some(c) => (c, false),
            None => match random_token() {
                Some(t) => (t, true),
                None => return WebError::Internal("the system random source failed".into()).into_response(),
            },
        },
    };

    // A bearer token is never sent by a browser on its own, so a request
    // authenticated by one cannot be forged cross-site.
    let by_token = visitor.api_account.is_some();
    let safe = by_token || matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let request = if safe {
        request
    } else {
        if !same_origin(request.headers(), &state.settings.public_origin) {
            return WebError::CsrfRejected.into_response();
        }
        let (parts, body) = request.into_parts();
        let from_header = parts.headers.get(HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let is_form = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
        let (submitted, body) = if let Some(h) = from_header {
            (Some(h), body)
        } else if is_form {
            let Ok(bytes) = to_bytes(body, state.settings.body_limit).await else {
                return WebError::PayloadTooLarge.into_response();
            };
            let found = form_urlencoded::parse(&bytes).find(|(k, _)| k == FORM_FIELD).map(|(_, v)| v.into_owned());
            (found, Body::from(bytes))
        } else {
            (None, body)
        };
        // The cookie must be the one this session (or visitor) holds, and
        // the submitted copy must match it.
        let valid = match (&submitted, &cookie) {
            (Some(s), Some(c)) => same(s, c) && same(c, &token),
            _ => false,
        };
        if !valid {
            return WebError::CsrfRejected.into_response();
        }
        Request::from_parts(parts, body)
    };

    let mut request = request;
    request.extensions_mut().insert(CsrfToken(token.clone()));
    let mut response = next.run(request).await;
    if set_cookie && let Some(v) = state.cookies.set(CSRF, &token) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn checklist_18_cross_site_requests_are_refused() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert!(same_origin(&h, "https://cbt.example.org"), "no Origin (non-browser client)");
        h.insert(header::ORIGIN, HeaderValue::from_static("http://127.0.0.1:8080"));
        assert!(same_origin(&h, "https://cbt.example.org"), "this host");
        h.insert(header::ORIGIN, HeaderValue::from_static("https://evil.example"));
        assert!(!same_origin(&h, "https://cbt.example.org"));
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(!same_origin(&h, "https://cbt.example.org"));
        let mut h = HeaderMap::new();
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(!same_origin(&h, "https://cbt.example.org"));
        h.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert!(same_origin(&h, "https://cbt.example.org"));
    }

    #[test]
    fn checklist_18_session_tokens_are_bound_to_the_session() {
        let key = CsrfKey::new(b"csrf-key-for-tests-0123456789abcdef");
        assert_eq!(key.for_session("a"), key.for_session("a"));
        assert_ne!(key.for_session("a"), key.for_session("b"));
        assert_ne!(CsrfKey::new(b"another-key-0123456789abcdef-xyz").for_session("a"), key.for_session("a"));
    }
}
