//! Who is asking: the signed-in session (from the session cookie), the
//! request context for audit events, and the extractors handlers use.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use cbt_app::accounts::CurrentSession;
use cbt_domain::RequestId;
use cbt_domain::account::Account;
use cbt_domain::audit::RequestContext;
use cbt_domain::session::SessionStage;

use crate::cookies::SESSION;
use crate::{WebError, WebState};

/// The session of this request, if signed in.
#[derive(Clone, Default)]
pub struct Visitor {
    pub session: Option<Arc<CurrentSession>>,
    /// The raw session token from the cookie (to derive the CSRF token).
    pub token: Option<String>,
    /// The deployment requires two-step sign-in and this account has not
    /// set it up: only the set-up pages and sign-out are open.
    pub mfa_setup_owed: bool,
    /// The account of a valid personal access token (`Authorization:
    /// Bearer`), on `/api/` routes only.
    pub api_account: Option<Arc<Account>>,
}

/// The `Authorization: Bearer` token of a request, if any.
pub fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ").map(str::trim)
}

/// Loads the session named by the cookie. An unknown or expired one is
/// treated as signed out, and its cookie cleared.
pub async fn load_session(State(state): State<WebState>, mut request: Request, next: Next) -> Response {
    if request.uri().path().starts_with("/api/")
        && let Some(bearer) = bearer(request.headers())
    {
        // A token stands alone: no cookie is consulted, and a bad token is
        // a 401, not a fall-back to the session.
        let account = match state.app.account_for_access_token(bearer).await {
            Ok(Some(account)) => Arc::new(account),
            Ok(None) => return WebError::SignInRequired.into_response(),
            Err(e) => return WebError::from(e).into_response(),
        };
        request.extensions_mut().insert(Visitor { api_account: Some(account), ..Visitor::default() });
        return next.run(request).await;
    }
    let token = state.cookies.get(request.headers(), SESSION);
    let session = match &token {
        Some(t) => match state.app.session_for_token(t, SessionStage::Full).await {
            Ok(s) => s.map(Arc::new),
            Err(e) => return WebError::from(e).into_response(),
        },
        None => None,
    };
    let stale = token.is_some() && session.is_none();
    let token = token.filter(|_| session.is_some());
    let mfa_setup_owed = state.settings.require_mfa && session.as_ref().is_some_and(|s| !s.account.mfa_enabled());
    request.extensions_mut().insert(Visitor { session, token, mfa_setup_owed, api_account: None });
    let mut response = next.run(request).await;
    if stale && let Some(clear) = state.cookies.clear(SESSION) {
        response.headers_mut().append(header::SET_COOKIE, clear);
    }
    response
}

/// Where a request came from, for audit events: the peer address, the user
/// agent and the request id.
pub struct Ctx(pub RequestContext);

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ip = match parts.extensions.get::<crate::client_address::ClientAddress>() {
            Some(client) => client.ip,
            None => parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()),
        };
        let user_agent = parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok());
        let request_id = parts.extensions.get::<RequestId>().copied();
        Ok(Ctx(RequestContext::new(ip, user_agent, request_id)))
    }
}

/// A handler argument that requires a signed-in therapist: pages redirect
/// to the sign-in page, the API answers 401.
pub struct SignedIn(pub Arc<CurrentSession>);

impl<S: Send + Sync> FromRequestParts<S> for SignedIn {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let visitor = parts.extensions.get::<Visitor>().ok_or(WebError::SignInRequired)?;
        let session = visitor.session.clone().ok_or(WebError::SignInRequired)?;
        if visitor.mfa_setup_owed && !parts.uri.path().starts_with("/account/mfa") {
            return Err(WebError::MfaSetupRequired);
        }
        Ok(SignedIn(session))
    }
}

/// The caller of a JSON API route: a signed-in session (cookie + CSRF
/// header for changes) or a personal access token.
pub struct ApiCaller(pub Arc<Account>);

impl<S: Send + Sync> FromRequestParts<S> for ApiCaller {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let visitor = parts.extensions.get::<Visitor>().ok_or(WebError::SignInRequired)?;
        if let Some(account) = &visitor.api_account {
            return Ok(ApiCaller(account.clone()));
        }
        if visitor.mfa_setup_owed {
            return Err(WebError::MfaSetupRequired);
        }
        let session = visitor.session.as_ref().ok_or(WebError::SignInRequired)?;
        Ok(ApiCaller(Arc::new(session.account.clone())))
    }
}

/// The visitor, signed in or not.
impl<S: Send + Sync> FromRequestParts<S> for Visitor {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<Visitor>().cloned().unwrap_or_default())
    }
}
