//! "Sign in with Google" (checklist 11): the browser side of the OpenID
//! Connect code flow. The pending sign-in (state, nonce, PKCE verifier)
//! travels in the `cbt_oidc` cookie, signed (HMAC-SHA-256) and valid for
//! ten minutes; the callback checks it, lets `cbt-oidc` verify everything
//! Google returns, and asks the app which account it opens.

use std::sync::Arc;

use aws_lc_rs::{constant_time, hmac};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cbt_app::AppError;
use cbt_app::accounts::{GoogleIdentity, SignInOutcome};
use cbt_oidc::{OidcClient, PendingSignIn};
use serde::{Deserialize, Serialize};

use crate::account_pages::{message, with_cookie};
use crate::auth::{Ctx, Visitor};
use crate::cookies::{MFA_PENDING, OIDC_PENDING, SESSION};
use crate::csrf::CsrfToken;
use crate::pages::Layout;
use crate::{WebError, WebState};

/// How long the browser has to come back from Google.
const PENDING_SECONDS: i64 = 600;

/// Signs the pending sign-in cookie (a key of its own, derived from the
/// CSRF secret).
#[derive(Clone)]
pub struct PendingSigner(hmac::Key);

impl PendingSigner {
    pub fn new(secret: &[u8]) -> Self {
        let derived = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), b"cbt-oidc-pending-v1");
        Self(hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref()))
    }

    fn seal(&self, pending: &Pending) -> Option<String> {
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(pending).ok()?);
        let tag = URL_SAFE_NO_PAD.encode(hmac::sign(&self.0, body.as_bytes()).as_ref());
        Some(format!("{body}.{tag}"))
    }

    fn open(&self, cookie: &str, now: i64) -> Option<PendingSignIn> {
        let (body, tag) = cookie.split_once('.')?;
        let expected = URL_SAFE_NO_PAD.encode(hmac::sign(&self.0, body.as_bytes()).as_ref());
        constant_time::verify_slices_are_equal(expected.as_bytes(), tag.as_bytes()).ok()?;
        let pending: Pending = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(body).ok()?).ok()?;
        (now < pending.exp).then_some(pending.sign_in)
    }
}

#[derive(Serialize, Deserialize)]
struct Pending {
    sign_in: PendingSignIn,
    exp: i64,
}

fn google(state: &WebState) -> Result<&Arc<OidcClient>, WebError> {
    state.google.as_ref().ok_or(WebError::NotFound)
}

/// POST /auth/google: off to Google (a form button, so CSRF-checked).
pub async fn start(State(state): State<WebState>) -> Response {
    let client = match google(&state) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let (url, sign_in) = client.begin();
    let exp = state.app.clock().now().unix_timestamp() + PENDING_SECONDS;
    let Some(cookie) = state.pending.seal(&Pending { sign_in, exp }) else {
        return WebError::Internal("cannot encode the pending sign-in".into()).into_response();
    };
    with_cookie(Redirect::to(&url).into_response(), state.cookies.set(OIDC_PENDING, &cookie))
}

#[derive(Deserialize)]
pub struct Callback {
    #[serde(default)]
    state: String,
    #[serde(default)]
    code: String,
}

/// GET /auth/google/callback: Google sends the browser back here.
pub async fn callback(
    State(state): State<WebState>,
    visitor: Visitor,
    csrf: axum::Extension<CsrfToken>,
    Ctx(ctx): Ctx,
    headers: HeaderMap,
    Query(q): Query<Callback>,
) -> Response {
    let client = match google(&state) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let layout = || Layout::for_visitor("login", &visitor, &csrf);
    let failed = |status: StatusCode, text: &str| {
        let page = message(layout(), "Google sign-in did not work", &[text], Some(("/login", "Back to sign-in")));
        with_cookie(crate::error::rendered(status, page), state.cookies.clear(OIDC_PENDING))
    };
    let now = state.app.clock().now();
    let pending = state.cookies.get(&headers, OIDC_PENDING).and_then(|c| state.pending.open(&c, now.unix_timestamp()));
    let Some(pending) = pending else {
        return failed(StatusCode::BAD_REQUEST, "The sign-in took too long or was started elsewhere. Try again.");
    };
    let identity = match client.finish(pending, &q.state, &q.code, now).await {
        Ok(id) => GoogleIdentity { subject: id.subject, email: id.email, email_verified: id.email_verified },
        Err(e) => {
            tracing::warn!(error = %e, "Google sign-in refused");
            return failed(StatusCode::BAD_REQUEST, "Google's answer could not be verified. Try again.");
        }
    };
    let response = match state.app.sign_in_with_google(&identity, &ctx).await {
        Ok(SignInOutcome::SignedIn { token, ended_oldest }) => {
            let to = if ended_oldest { "/dashboard?notice=oldest-session-ended" } else { "/dashboard" };
            with_cookie(Redirect::to(to).into_response(), state.cookies.set(SESSION, &token))
        }
        Ok(SignInOutcome::MfaRequired { token }) => {
            with_cookie(Redirect::to("/login/mfa").into_response(), state.cookies.set(MFA_PENDING, &token))
        }
        Err(AppError::NoLinkedAccount) => {
            return failed(
                StatusCode::FORBIDDEN,
                "No account here uses this Google account, or Google has not verified its email address. \
                 Sign in with your email and password; an account whose address matches a verified Google \
                 address is linked the first time you use Google.",
            );
        }
        Err(e) => return WebError::from(e).into_response(),
    };
    with_cookie(response, state.cookies.clear(OIDC_PENDING))
}
