//! Two-step sign-in pages: the code step of sign-in and the enrolment and
//! removal of TOTP on the account (checklist 10).

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use cbt_app::AppError;
use cbt_app::accounts::SignInOutcome;
use serde::Deserialize;

use crate::account_pages::{Errors, NoticeQuery, html, with_cookie};
use crate::auth::{Ctx, SignedIn, Visitor};
use crate::cookies::{MFA_PENDING, SESSION};
use crate::csrf::CsrfToken;
use crate::pages::Layout;
use crate::{WebError, WebState};

#[derive(Deserialize)]
pub struct CodeInput {
    #[serde(default)]
    code: String,
}

#[derive(Deserialize)]
pub struct PasswordInput {
    #[serde(default)]
    password: String,
}

#[derive(Template)]
#[template(path = "login_mfa.html")]
struct CodePage {
    layout: Layout,
    errors: Errors,
}

pub async fn code_form(
    State(state): State<WebState>,
    visitor: Visitor,
    csrf: axum::Extension<CsrfToken>,
    request: axum::http::HeaderMap,
) -> Response {
    if state.cookies.get(&request, MFA_PENDING).is_none() {
        return Redirect::to("/login").into_response();
    }
    html(StatusCode::OK, CodePage { layout: Layout::for_visitor("login", &visitor, &csrf), errors: Errors::default() })
}

pub async fn submit_code(
    State(state): State<WebState>,
    visitor: Visitor,
    csrf: axum::Extension<CsrfToken>,
    Ctx(ctx): Ctx,
    headers: axum::http::HeaderMap,
    Form(input): Form<CodeInput>,
) -> Response {
    let Some(pending) = state.cookies.get(&headers, MFA_PENDING) else { return Redirect::to("/login").into_response() };
    match state.app.complete_mfa_sign_in(&pending, &input.code, &ctx).await {
        Ok(SignInOutcome::SignedIn { token, ended_oldest }) => {
            let to = if ended_oldest { "/dashboard?notice=oldest-session-ended" } else { "/dashboard" };
            let response = with_cookie(Redirect::to(to).into_response(), state.cookies.set(SESSION, &token));
            with_cookie(response, state.cookies.clear(MFA_PENDING))
        }
        Ok(SignInOutcome::MfaRequired { .. }) | Err(AppError::InvalidCredentials) => {
            // The pending sign-in expired: start again.
            with_cookie(Redirect::to("/login").into_response(), state.cookies.clear(MFA_PENDING))
        }
        Err(AppError::Invalid(errors)) => html(
            StatusCode::UNPROCESSABLE_ENTITY,
            CodePage { layout: Layout::for_visitor("login", &visitor, &csrf), errors: Errors::from(errors) },
        ),
        Err(e) => WebError::from(e).into_response(),
    }
}

#[derive(Template)]
#[template(path = "mfa.html")]
struct MfaPage {
    layout: Layout,
    enabled: bool,
    secret: Option<String>,
    qr_svg: Option<String>,
    notice: Option<&'static str>,
    required: bool,
    errors: Errors,
}

async fn mfa_page(
    state: &WebState,
    current: &cbt_app::accounts::CurrentSession,
    layout: Layout,
    status: StatusCode,
    notice: Option<&'static str>,
    errors: Errors,
) -> Response {
    match state.app.mfa_enrolment(current).await {
        Ok(enrolment) => html(
            status,
            MfaPage {
                layout,
                enabled: current.account.mfa_enabled(),
                secret: enrolment.as_ref().map(|e| e.secret_base32.clone()),
                qr_svg: enrolment.map(|e| e.qr_svg),
                notice,
                required: state.settings.require_mfa,
                errors,
            },
        ),
        Err(e) => WebError::from(e).into_response(),
    }
}

pub async fn settings(
    State(state): State<WebState>,
    SignedIn(current): SignedIn,
    visitor: Visitor,
    csrf: axum::Extension<CsrfToken>,
    Query(q): Query<NoticeQuery>,
) -> Response {
    let notice = match q.notice() {
        Some("disabled") => Some("Two-step sign-in is off."),
        Some("required") => Some("This deployment requires two-step sign-in: set it up to continue."),
        _ => None,
    };
    mfa_page(&state, &current, Layout::for_visitor("mfa", &visitor, &csrf), StatusCode::OK, notice, Errors::default())
        .await
}

pub async fn begin(State(state): State<WebState>, SignedIn(current): SignedIn) -> Response {
    match state.app.begin_mfa_enrolment(&current).await {
        Ok(()) => Redirect::to("/account/mfa").into_response(),
        Err(e) => WebError::from(e).into_response(),
    }
}

#[derive(Template)]
#[template(path = "recovery_codes.html")]
struct RecoveryCodesPage {
    layout: Layout,
    codes: Vec<String>,
}

pub async fn enable(
    State(state): State<WebState>,
    SignedIn(current): SignedIn,
    visitor: Visitor,
    csrf: axum::Extension<CsrfToken>,
    Ctx(ctx): Ctx,
    Form(input): Form<CodeInput>,
) -> Response {
    match state.app.enable_mfa(&current, &input.code, &ctx).await {
        Ok((codes, token)) => {
            // Shown once, in this answer; only their hashes are kept.
            // The session has a new token, so forms on this page carry the
            // CSRF token of the new session, and its cookie changes too.
            let mut layout = Layout::for_visitor("mfa", &visitor, &csrf);
            layout.csrf = state.csrf.for_session(&token);
            let response = html(StatusCode::OK, RecoveryCodesPage { layout, codes });
            let response = with_cookie(response, state.cookies.set(SESSION, &token));
            with_cookie(response, state.cookies.set(crate::cookies::CSRF, &state.csrf.for_session(&token)))
        }
        Err(AppError::Invalid(errors)) => {
            let layout = Layout::for_visitor("mfa", &visitor, &csrf);
            mfa_page(&state, &current, layout, StatusCode::UNPROCESSABLE_ENTITY, None, Errors::from(errors)).await
        }
        Err(e) => WebError::from(e).into_response(),
    }
}

pub async fn disable(
    State(state): State<WebState>,
    SignedIn(current): SignedIn,
    visitor: Visitor,
    csrf: axum::Extension<CsrfToken>,
    Ctx(ctx): Ctx,
    Form(input): Form<PasswordInput>,
) -> Response {
    match state.app.disable_mfa(&current, &input.password, &ctx).await {
        Ok(()) => Redirect::to("/account/mfa?notice=disabled").into_response(),
        Err(AppError::Invalid(errors)) => {
            let layout = Layout::for_visitor("mfa", &visitor, &csrf);
            mfa_page(&state, &current, layout, StatusCode::UNPROCESSABLE_ENTITY, None, Errors::from(errors)).await
        }
        Err(e) => WebError::from(e).into_response(),
    }
}
