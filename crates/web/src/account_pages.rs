//! Account pages: sign-up, email verification, sign-in, sign-out, password
//! reset, and the signed-in therapist's dashboard, account and security
//! settings. Each handler parses its form, calls one `App` use case and
//! renders; a rejected form comes back with every field but the passwords
//! as typed and a message next to each field at fault.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use cbt_app::AppError;
use cbt_app::accounts::{SessionSummary, SignInOutcome, SignUpForm};
use cbt_domain::session::SessionId;
use cbt_domain::validation::FieldErrors;
use serde::Deserialize;

use crate::auth::{Ctx, SignedIn, Visitor};
use crate::cookies::{MFA_PENDING, SESSION};
use crate::csrf::CsrfToken;
use crate::error::rendered;
use crate::pages::{Layout, when};
use crate::{WebError, WebState};

/// Field errors as the templates read them.
#[derive(Default)]
pub struct Errors(FieldErrors);

impl From<FieldErrors> for Errors {
    fn from(e: FieldErrors) -> Self {
        Self(e)
    }
}

impl Errors {
    pub fn of(&self, field: &str) -> Vec<&str> {
        self.0.for_field(field)
    }

    pub fn any(&self) -> bool {
        !self.0.is_empty()
    }
}

fn page(current: &'static str, visitor: &Visitor, csrf: &CsrfToken) -> Layout {
    Layout::for_visitor(current, visitor, csrf)
}

pub(crate) fn html<T: Template>(status: StatusCode, template: T) -> Response {
    match template.render() {
        Ok(body) => html_text(status, body),
        Err(e) => WebError::Internal(format!("template: {e}")).into_response(),
    }
}

/// A page already rendered, with its status (kept by the error renderer).
pub(crate) fn html_text(status: StatusCode, body: String) -> Response {
    rendered(status, ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response())
}

/// A short page that says what happened and what to do next.
#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage {
    layout: Layout,
    title: String,
    paragraphs: Vec<String>,
    link: Option<(String, String)>,
}

pub(crate) fn message(layout: Layout, title: &str, paragraphs: &[&str], link: Option<(&str, &str)>) -> Response {
    html(
        StatusCode::OK,
        MessagePage {
            layout,
            title: title.to_owned(),
            paragraphs: paragraphs.iter().map(|p| (*p).to_owned()).collect(),
            link: link.map(|(href, text)| (href.to_owned(), text.to_owned())),
        },
    )
}

// ---- sign-up ------------------------------------------------------------

#[derive(Deserialize, Default)]
pub struct SignUpInput {
    #[serde(default)]
    full_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    credential: String,
    #[serde(default)]
    password: String,
}

#[derive(Template)]
#[template(path = "signup.html")]
struct SignUpPage {
    layout: Layout,
    full_name: String,
    email: String,
    credential: String,
    errors: Errors,
}

pub async fn sign_up_form(visitor: Visitor, csrf: axum::Extension<CsrfToken>) -> Response {
    let layout = page("signup", &visitor, &csrf);
    html(
        StatusCode::OK,
        SignUpPage {
            layout,
            full_name: String::new(),
            email: String::new(),
            credential: String::new(),
            errors: Errors::default(),
        },
    )
}

pub async fn sign_up(
    State(state): State<WebState>,
    visitor: Visitor,
    csrf: axum::Extension<CsrfToken>,
    Ctx(ctx): Ctx,
    Form(input): Form<SignUpInput>,
) -> Response {
    let form = SignUpForm {
        full_name: input.full_name.clone(),
        email: input.email.clone(),
        credential: input.credential.clone(),
        password: input.password,
    };
    match state.app.sign_up(&form, &ctx).await {
        Ok(()) => message(
            page("signup", &visitor, &csrf),
            "Check your email",
            &[
                "We sent a message to the address you entered. Open the link in it to confirm your address; \
                 the clinical features unlock once it is confirmed.",
                "Nothing arrived after a few minutes? Check your spam folder, or sign in and ask for a new link.",
            ],
            Some(("/login", "Go to sign-in")),
        ),
        Err(AppError::Invalid(errors)) => html(
            StatusCode::UNPROCESSABLE_ENTITY,
            SignUpPage {
                layout: page("signup", &visitor, &csrf),
                full_name: input.full_name,
                email: input.email,
                credential: input.credential,
                errors: Errors(errors),
            },
        ),
        Err(e) => WebError::from(e).into_response(),
    }
}

#[derive(Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

pub async fn verify_email(
    State(state): State<WebState>,
    visitor: Visitor,
    csrf: axum::Extension<CsrfToken>,
    Ctx(ctx): Ctx,
    Query(q): Query<TokenQuery>,
) -> Response {
    match state.app.verify_email(&q.token, &ctx).await {
        Ok(_) => {
            let next =
                if visitor.session.is_some() { ("/dashboard", "Go to your dashboard") } else { ("/login", "Sign in") };
            message(
                page("", &visitor, &csrf),
                "Email confirmed",
                &["Thank you: your email address is confirmed and the clinical features are unlocked."],
                Some(next),
            )
        }
        Err(e) => WebError::from(e).into_response(),
    }
}

pub async fn resend_verification(State(state): State<WebState>, SignedIn(current): SignedIn) -> Response {
    match state.app.resend_verification(current.account.id).await {
        Ok(()) => Redirect::to("/dashboard?notice=verification-sent").into_response(),
        Err(e) => WebError::from(e).into_response(),
    }
}

// ---- sign-in and sign-out ----------------------------------------------

#[derive(Deserialize, Default)]
pub struct SignInInput {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

#[derive(Template)]
#[template(path = "login.html")]
struct SignInPage {
    layout: Layout,
    email: String,
    failed: bool,
    google: bool,
}

pub async fn sign_in_form(
    State(state): State<WebState>,
    visitor: Visitor,
    csrf: axum::Extension<CsrfToken>,
) -> Response {
    if visitor.session.is_some() {
        return Redirect::to("/dashboard").into_response();
    }
    html(
        StatusCode::OK,
        SignInPage {
            layout: page("login", &visitor, &csrf),
            email: String::new(),
            failed: false,
            google: state.google.is_some(),
        },
    )
}

pub async fn sign_in(
    State(state): State<WebState>,
    visitor: Visitor,
    csrf: axum::Extension<CsrfToken>,
    Ctx(ctx): Ctx,
    Form(input): Form<SignInInput>,
) -> Response {
    match state.app.sign_in(&input.email, &input.password, &ctx).await {
        Ok(SignInOutcome::SignedIn { token, ended_oldest }) => {
            let to = if ended_oldest { "/dashboard?notice=oldest-session-ended" } else { "/dashboard" };
            with_cookie(Redirect::to(to).into_response(), state.cookies.set(SESSION, &token))
        }
        Ok(SignInOutcome::MfaRequired { token }) => {
            with_cookie(Redirect::to("/login/mfa").into_response(), state.cookies.set(MFA_PENDING, &token))
        }
        Err(AppError::InvalidCredentials) => html(
            StatusCode::UNAUTHORIZED,
            SignInPage {
                layout: page("login", &visitor, &csrf),
                email: input.email,
                failed: true,
                google: state.google.is_some(),
            },
        ),
        Err(e) => WebError::from(e).into_response(),
    }
}

pub(crate) fn with_cookie(mut response: Response, cookie: Option<axum::http::HeaderValue>) -> Response {
    if let Some(c) = cookie {
        response.headers_mut().append(header::SET_COOKIE, c);
    }
    response
}

pub async fn sign_out(State(state): State<WebState>, visitor: Visitor, Ctx(ctx): Ctx) -> Response {
    if let Some(current) = &visitor.session
        && let Err(e) = state.app.sign_out(current, &ctx).await
    {
        return WebError::from(e).into_response();
    }
    with_cookie(Redirect::to("/").into_response(), state.cookies.clear(SESSION))
}

// ---- password reset -----------------------------------------------------

#[derive(Deserialize)]
pub struct EmailInput {
    #[serde(default)]
    email: String,
}

#[derive(Template)]
#[template(path = "forgot.html")]
struct ForgotPage {
    layout: Layout,
}

pub async fn forgot_form(visitor: Visitor, csrf: axum::Extension<CsrfToken>) -> Response {
    html(StatusCode::OK, ForgotPage { layout: page("login", &visitor, &csrf) })
}

pub async fn forgot(
    State(state): State<WebState>,
    visitor: Visitor,
    csrf: axum::Extension<CsrfToken>,
    Ctx(ctx): Ctx,
    Form(input): Form<EmailInput>,
) -> Response {
    match state.app.request_password_reset(&input.email, &ctx).await {
        Ok(()) => message(
            page("login", &visitor, &csrf),
            "Check your email",
            &["If an account uses that address, we sent it a link to choose a new password. \
                 The link works once, for 30 minutes."],
            Some(("/login", "Back to sign-in")),
        ),
        Err(e) => WebError::from(e).into_response(),
    }
}

#[derive(Deserialize)]
pub struct ResetInput {
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
}

#[derive(Template)]
#[template(path = "reset.html")]
struct ResetPage {
    layout: Layout,
    token: String,
    errors: Errors,
}

pub async fn reset_form(visitor: Visitor, csrf: axum::Extension<CsrfToken>, Query(q): Query<TokenQuery>) -> Response {
    html(
        StatusCode::OK,
        ResetPage { layout: page("login", &visitor, &csrf), token: q.token, errors: Errors::default() },
    )
}

pub async fn reset(
    State(state): State<WebState>,
    visitor: Visitor,
    csrf: axum::Extension<CsrfToken>,
    Ctx(ctx): Ctx,
    Form(input): Form<ResetInput>,
) -> Response {
    match state.app.reset_password(&input.token, &input.password, &ctx).await {
        Ok(()) => {
            let response = message(
                page("login", &Visitor::default(), &csrf),
                "Password changed",
                &["Your new password is set and every device was signed out. Sign in with the new password."],
                Some(("/login", "Sign in")),
            );
            with_cookie(response, state.cookies.clear(SESSION))
        }
        Err(AppError::Invalid(errors)) => html(
            StatusCode::UNPROCESSABLE_ENTITY,
            ResetPage { layout: page("login", &visitor, &csrf), token: input.token, errors: Errors(errors) },
        ),
        Err(e) => WebError::from(e).into_response(),
    }
}

// ---- signed in ------------------------------------------------------------

#[derive(Deserialize)]
pub struct NoticeQuery {
    notice: Option<String>,
}

impl NoticeQuery {
    pub fn notice(&self) -> Option<&str> {
        self.notice.as_deref()
    }
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    layout: Layout,
    name: String,
    verified: bool,
    notice: Option<&'static str>,
    /// Open risk flags across the caseload: (client page, client, what).
    flags: Vec<(String, String, String)>,
}

pub async fn dashboard(
    State(state): State<WebState>,
    Ctx(ctx): Ctx,
    SignedIn(current): SignedIn,
    visitor: Visitor,
    csrf: axum::Extension<CsrfToken>,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, WebError> {
    // Only known notices are shown: the query string cannot inject text.
    let notice = match q.notice.as_deref() {
        Some("oldest-session-ended") => Some(
            "You were signed in on five devices already, so your oldest session was signed out. \
             See your sessions on the Security settings page.",
        ),
        Some("verification-sent") => Some("We sent a new confirmation link to your email address."),
        _ => None,
    };
    let flags = if current.account.is_verified() {
        state
            .app
            .open_risk_flags(&current.account, &ctx)
            .await?
            .into_iter()
            .map(|f| {
                let what = format!("{}, {}", f.instrument, crate::pages::date_text(Some(f.flag.taken_on)));
                (format!("/assessments/{}", f.flag.result), f.client_name.expose().clone(), what)
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(html(
        StatusCode::OK,
        DashboardPage {
            layout: page("dashboard", &visitor, &csrf),
            name: current.account.full_name.clone(),
            verified: current.account.is_verified(),
            notice,
            flags,
        },
    ))
}

#[derive(Deserialize)]
pub struct ProfileInput {
    #[serde(default)]
    full_name: String,
    #[serde(default)]
    credential: String,
}

#[derive(Deserialize)]
pub struct EmailChangeInput {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    layout: Layout,
    full_name: String,
    credential: String,
    practice_name: String,
    crisis_text: String,
    default_crisis_text: &'static str,
    email: String,
    verified: bool,
    saved: bool,
    errors: Errors,
}

fn account_page(
    current: &cbt_app::accounts::CurrentSession,
    layout: Layout,
    status: StatusCode,
    saved: bool,
    errors: Errors,
) -> Response {
    html(
        status,
        AccountPage {
            layout,
            full_name: current.account.full_name.clone(),
            credential: current.account.credential.clone(),
            practice_name: current.account.practice_name.clone(),
            crisis_text: current.account.crisis_text.clone(),
            default_crisis_text: cbt_domain::client_link::DEFAULT_CRISIS_TEXT,
            email: current.account.email.clone(),
            verified: current.account.is_verified(),
            saved,
            errors,
        },
    )
}

pub async fn account(
    SignedIn(current): SignedIn,
    visitor: Visitor,
    csrf: axum::Extension<CsrfToken>,
    Query(q): Query<NoticeQuery>,
) -> Response {
    let saved = q.notice.as_deref() == Some("saved");
    account_page(&current, page("account", &visitor, &csrf), StatusCode::OK, saved, Errors::default())
}

pub async fn update_profile(
    State(state): State<WebState>,
    SignedIn(current): SignedIn,
    visitor: Visitor,
    csrf: axum::Extension<CsrfToken>,
    Ctx(ctx): Ctx,
    Form(input): Form<ProfileInput>,
) -> Response {
    match state.app.update_profile(&current, &input.full_name, &input.credential, &ctx).await {
        Ok(()) => Redirect::to("/account?notice=saved").into_response(),
        Err(AppError::Invalid(errors)) => {
            let mut shown = (*current).clone();
            shown.account.full_name = input.full_name;
            shown.account.credential = input.credential;
            account_page(
                &shown,
                page("account", &visitor, &csrf),
                StatusCode::UNPROCESSABLE_ENTITY,
                false,
                Errors(errors),
            )
        }
        Err(e) => WebError::from(e).into_response(),
    }
}

#[derive(Deserialize)]
pub struct PracticeInput {
    #[serde(default)]
    practice_name: String,
    #[serde(default)]
    crisis_text: String,
}

pub async fn update_practice(
    State(state): State<WebState>,
    SignedIn(current): SignedIn,
    visitor: Visitor,
    csrf: axum::Extension<CsrfToken>,
    Ctx(ctx): Ctx,
    Form(input): Form<PracticeInput>,
) -> Response {
    match state.app.update_practice(&current, &input.practice_name, &input.crisis_text, &ctx).await {
        Ok(()) => Redirect::to("/account?notice=saved").into_response(),
        Err(AppError::Invalid(errors)) => {
            let mut shown = (*current).clone();
            shown.account.practice_name = input.practice_name;
            shown.account.crisis_text = input.crisis_text;
            let layout = page("account", &visitor, &csrf);
            account_page(&shown, layout, StatusCode::UNPROCESSABLE_ENTITY, false, Errors(errors))
        }
        Err(e) => WebError::from(e).into_response(),
    }
}

pub async fn change_email(
    State(state): State<WebState>,
    SignedIn(current): SignedIn,
    visitor: Visitor,
    csrf: axum::Extension<CsrfToken>,
    Ctx(ctx): Ctx,
    Form(input): Form<EmailChangeInput>,
) -> Response {
    match state.app.change_email(&current, &input.email, &input.password, &ctx).await {
        Ok(()) => Redirect::to("/dashboard?notice=verification-sent").into_response(),
        Err(AppError::Invalid(errors)) => {
            let mut shown = (*current).clone();
            shown.account.email = input.email;
            account_page(
                &shown,
                page("account", &visitor, &csrf),
                StatusCode::UNPROCESSABLE_ENTITY,
                false,
                Errors(errors),
            )
        }
        Err(e) => WebError::from(e).into_response(),
    }
}

#[derive(Template)]
#[template(path = "security_settings.html")]
struct SecuritySettingsPage {
    layout: Layout,
    sessions: Vec<SessionRow>,
    tokens: Vec<TokenRow>,
    /// A token just created: shown this once.
    new_token: Option<String>,
    lifetimes: &'static [i64],
    notice: Option<&'static str>,
    errors: Errors,
}

struct TokenRow {
    id: String,
    name: String,
    created: String,
    expires: String,
    last_used: String,
}

struct SessionRow {
    id: String,
    device: String,
    ip: String,
    created: String,
    last_seen: String,
    current: bool,
}

fn rows(sessions: Vec<SessionSummary>) -> Vec<SessionRow> {
    sessions
        .into_iter()
        .map(|s| SessionRow {
            id: s.id.to_string(),
            device: s.device,
            ip: s.ip.unwrap_or_else(|| "unknown".into()),
            created: when(s.created_at),
            last_seen: when(s.last_seen_at),
            current: s.current,
        })
        .collect()
}

struct SecurityPageInput {
    status: StatusCode,
    notice: Option<&'static str>,
    errors: Errors,
    new_token: Option<String>,
}

impl SecurityPageInput {
    fn shown(notice: Option<&'static str>) -> Self {
        Self { status: StatusCode::OK, notice, errors: Errors::default(), new_token: None }
    }

    fn rejected(errors: FieldErrors) -> Self {
        Self { status: StatusCode::UNPROCESSABLE_ENTITY, notice: None, errors: Errors(errors), new_token: None }
    }

    fn with_new_token(token: String) -> Self {
        Self { new_token: Some(token), ..Self::shown(None) }
    }
}

async fn security_page(
    state: &WebState,
    current: &cbt_app::accounts::CurrentSession,
    layout: Layout,
    input: SecurityPageInput,
) -> Response {
    let sessions = match state.app.list_sessions(current).await {
        Ok(s) => s,
        Err(e) => return WebError::from(e).into_response(),
    };
    let tokens = match state.app.list_access_tokens(current).await {
        Ok(t) => t,
        Err(e) => return WebError::from(e).into_response(),
    };
    let tokens = tokens
        .into_iter()
        .map(|t| TokenRow {
            id: t.id.to_string(),
            name: t.name,
            created: when(t.created_at),
            expires: when(t.expires_at),
            last_used: t.last_used_at.map(when).unwrap_or_else(|| "never".into()),
        })
        .collect();
    html(
        input.status,
        SecuritySettingsPage {
            layout,
            sessions: rows(sessions),
            tokens,
            new_token: input.new_token,
            lifetimes: cbt_domain::access_token::LIFETIME_DAYS,
            notice: input.notice,
            errors: input.errors,
        },
    )
}

pub async fn security_settings(
    State(state): State<WebState>,
    SignedIn(current): SignedIn,
    visitor: Visitor,
    csrf: axum::Extension<CsrfToken>,
    Query(q): Query<NoticeQuery>,
) -> Response {
    let notice = match q.notice.as_deref() {
        Some("revoked") => Some("The session was signed out."),
        Some("revoked-others") => Some("Every other session was signed out."),
        Some("password-changed") => Some("Your password was changed and your other sessions were signed out."),
        Some("token-revoked") => Some("The access token was revoked."),
        _ => None,
    };
    let input = SecurityPageInput::shown(notice);
    security_page(&state, &current, page("security-settings", &visitor, &csrf), input).await
}

pub async fn revoke_session(
    State(state): State<WebState>,
    SignedIn(current): SignedIn,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = id.parse::<SessionId>() else { return WebError::NotFound.into_response() };
    match state.app.revoke_session(&current, id, &ctx).await {
        Ok(()) if id == current.session.id => {
            with_cookie(Redirect::to("/login").into_response(), state.cookies.clear(SESSION))
        }
        Ok(()) => Redirect::to("/account/security?notice=revoked").into_response(),
        Err(e) => WebError::from(e).into_response(),
    }
}

pub async fn revoke_other_sessions(
    State(state): State<WebState>,
    SignedIn(current): SignedIn,
    Ctx(ctx): Ctx,
) -> Response {
    match state.app.revoke_other_sessions(&current, &ctx).await {
        Ok(_) => Redirect::to("/account/security?notice=revoked-others").into_response(),
        Err(e) => WebError::from(e).into_response(),
    }
}

#[derive(Deserialize)]
pub struct PasswordChangeInput {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
}

pub async fn change_password(
    State(state): State<WebState>,
    SignedIn(current): SignedIn,
    visitor: Visitor,
    csrf: axum::Extension<CsrfToken>,
    Ctx(ctx): Ctx,
    Form(input): Form<PasswordChangeInput>,
) -> Response {
    match state.app.change_password(&current, &input.current_password, &input.new_password, &ctx).await {
        Ok(()) => Redirect::to("/account/security?notice=password-changed").into_response(),
        Err(AppError::Invalid(errors)) => {
            let layout = page("security-settings", &visitor, &csrf);
            let input = SecurityPageInput::rejected(errors);
            security_page(&state, &current, layout, input).await
        }
        Err(e) => WebError::from(e).into_response(),
    }
}

#[derive(Deserialize)]
pub struct TokenInput {
    #[serde(default)]
    name: String,
    #[serde(default)]
    lifetime_days: String,
}

pub async fn create_access_token(
    State(state): State<WebState>,
    SignedIn(current): SignedIn,
    visitor: Visitor,
    csrf: axum::Extension<CsrfToken>,
    Ctx(ctx): Ctx,
    Form(input): Form<TokenInput>,
) -> Response {
    let layout = page("security-settings", &visitor, &csrf);
    match state.app.create_access_token(&current, &input.name, &input.lifetime_days, &ctx).await {
        Ok(token) => {
            let input = SecurityPageInput::with_new_token(token);
            security_page(&state, &current, layout, input).await
        }
        Err(AppError::Invalid(errors)) => {
            let input = SecurityPageInput::rejected(errors);
            security_page(&state, &current, layout, input).await
        }
        Err(e) => WebError::from(e).into_response(),
    }
}

pub async fn revoke_access_token(
    State(state): State<WebState>,
    SignedIn(current): SignedIn,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = id.parse() else { return WebError::NotFound.into_response() };
    match state.app.revoke_access_token(&current, id, &ctx).await {
        Ok(()) => Redirect::to("/account/security?notice=token-revoked").into_response(),
        Err(e) => WebError::from(e).into_response(),
    }
}
