//! AI-assisted drafts, as the therapist sees them: what drafts are made
//! with on this server, and their consent to let a language model draft
//! (`/account/ai-drafts`).

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse as _, Redirect, Response};
use cbt_app::AppError;
use cbt_app::drafts::{AiDraftsStatus, DraftingEngine};
use serde::Deserialize;

use crate::account_pages::{Errors, NoticeQuery, html};
use crate::auth::{Ctx, SignedIn, Visitor};
use crate::csrf::CsrfToken;
use crate::pages::{Layout, when};
use crate::{WebError, WebState};

#[derive(Template)]
#[template(path = "ai_drafts_settings.html")]
struct AiDraftsPage {
    layout: Layout,
    /// `rule-based`, `model` or `model-without-baa`.
    engine: &'static str,
    provider: String,
    model: String,
    /// "You allowed AI drafts on …", or `None` when never asked.
    consent: Option<(bool, String)>,
    saved: bool,
    errors: Errors,
}

fn ai_drafts_page(layout: Layout, status: &AiDraftsStatus, code: StatusCode, saved: bool, errors: Errors) -> Response {
    let (engine, info) = match &status.engine {
        DraftingEngine::RuleBased => ("rule-based", None),
        DraftingEngine::Model(info) => ("model", Some(info)),
        DraftingEngine::ModelWithoutBaa(info) => ("model-without-baa", Some(info)),
    };
    let provider = info.map(|i| provider_name(i.provider)).unwrap_or_default().to_owned();
    let page = AiDraftsPage {
        layout,
        engine,
        provider,
        model: info.map(|i| i.model.clone()).unwrap_or_default(),
        consent: status.consent.map(|c| (c.given, when(c.recorded_at))),
        saved,
        errors,
    };
    html(code, page)
}

/// The provider as a therapist would name it.
fn provider_name(kind: cbt_ports::ProviderKind) -> &'static str {
    match kind {
        cbt_ports::ProviderKind::OpenAi => "OpenAI",
        cbt_ports::ProviderKind::AzureOpenAi => "Azure OpenAI",
        cbt_ports::ProviderKind::SelfHosted => "a server run for this practice",
        cbt_ports::ProviderKind::InProcess => "this server itself",
    }
}

pub async fn ai_drafts(
    State(state): State<WebState>,
    SignedIn(current): SignedIn,
    visitor: Visitor,
    csrf: axum::Extension<CsrfToken>,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, WebError> {
    let status = state.app.ai_drafts_status(&current.account).await?;
    let saved = q.notice() == Some("saved");
    let layout = Layout::for_visitor("account", &visitor, &csrf);
    Ok(ai_drafts_page(layout, &status, StatusCode::OK, saved, Errors::default()))
}

#[derive(Deserialize)]
pub struct ConsentInput {
    /// `allow` or `stop`.
    #[serde(default)]
    consent: String,
}

pub async fn set_consent(
    State(state): State<WebState>,
    SignedIn(current): SignedIn,
    visitor: Visitor,
    csrf: axum::Extension<CsrfToken>,
    Ctx(ctx): Ctx,
    Form(input): Form<ConsentInput>,
) -> Result<Response, WebError> {
    let given = match input.consent.as_str() {
        "allow" => true,
        "stop" => false,
        _ => {
            let error =
                cbt_domain::validation::FieldError::new("consent", "Choose to allow AI drafts or to stop them.");
            return Err(WebError::Invalid(error.into()));
        }
    };
    match state.app.set_ai_drafts_consent(&current.account, given, &ctx).await {
        Ok(()) => Ok(Redirect::to("/account/ai-drafts?notice=saved").into_response()),
        Err(AppError::Invalid(errors)) => {
            let status = state.app.ai_drafts_status(&current.account).await?;
            let layout = Layout::for_visitor("account", &visitor, &csrf);
            Ok(ai_drafts_page(layout, &status, StatusCode::UNPROCESSABLE_ENTITY, false, Errors::from(errors)))
        }
        Err(e) => Err(e.into()),
    }
}
