//! AI-assisted drafts, as the therapist sees them: what drafts are made
//! with on this server, and their consent to let a language model draft
//! (`/account/ai-drafts`); a session note suggested from their shorthand
//! (`/notes/{id}/draft`), shown beside the note's text, section by
//! section, for them to take none, some or all of into the note's form.
//! Nothing here saves the note: their own save does.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse as _, Redirect, Response};
use cbt_app::AppError;
use cbt_app::drafts::{AiDraftsStatus, DraftedNote, DraftingEngine, NoteDraftRequest};
use cbt_domain::ids::RecordId;
use cbt_domain::session_note::SessionNote;
use cbt_domain::validation::FieldErrors;
use cbt_drafting::{Basis, DraftSentence, Placeholders, Source, unsupported};
use serde::Deserialize;

use crate::account_pages::{Errors, NoticeQuery, html};
use crate::auth::{Ctx, SignedIn, Visitor};
use crate::csrf::CsrfToken;
use crate::error::id_or_404;
use crate::note_pages::{NoteForm, form_page, section_label};
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
    /// Run inside this server (`CBT_LLM_PROVIDER=local`): nothing is sent
    /// to another company, and there is no BAA to speak of.
    in_process: bool,
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
        in_process: info.is_some_and(|i| i.provider == cbt_ports::ProviderKind::InProcess),
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

// ---- a session note suggested from shorthand --------------------------------

/// What the therapist typed to draft from: kept on every page of the flow,
/// so going back or a refusal never loses it.
#[derive(Deserialize, Default)]
pub struct ShorthandInput {
    #[serde(default)]
    shorthand: String,
    #[serde(default)]
    transcript: String,
    /// `model`: ask the language model; `edit`: back to the shorthand form
    /// with the text kept; anything else: the rules.
    #[serde(default)]
    action: String,
}

#[derive(Template)]
#[template(path = "note_draft_sources.html")]
struct SourcesPage {
    layout: Layout,
    note_id: String,
    /// The model's name, when this therapist may draft with it.
    model: Option<String>,
    /// Why the model gave no draft (its text is for the therapist).
    model_problem: Option<String>,
    shorthand: String,
    transcript: String,
    errors: Errors,
}

/// Everything the shorthand form shows besides what was typed.
struct SourcesView {
    layout: Layout,
    model: Option<String>,
    model_problem: Option<String>,
}

async fn sources_view(
    state: &WebState,
    account: &cbt_domain::account::Account,
    visitor: &Visitor,
    csrf: &CsrfToken,
) -> Result<SourcesView, WebError> {
    let status = state.app.ai_drafts_status(account).await?;
    let model = match &status.engine {
        DraftingEngine::Model(info) if status.model_may_draft() => Some(info.model.clone()),
        _ => None,
    };
    Ok(SourcesView { layout: Layout::for_visitor("clients", visitor, csrf), model, model_problem: None })
}

fn sources_page(
    view: SourcesView,
    id: RecordId,
    input: ShorthandInput,
    code: StatusCode,
    errors: FieldErrors,
) -> Response {
    let page = SourcesPage {
        layout: view.layout,
        model: view.model,
        model_problem: view.model_problem,
        note_id: id.to_string(),
        shorthand: input.shorthand,
        transcript: input.transcript,
        errors: errors.into(),
    };
    html(code, page)
}

/// The form for the shorthand (the note must be the therapist's and
/// unsigned).
pub async fn note_draft_form(
    State(state): State<WebState>,
    SignedIn(current): SignedIn,
    visitor: Visitor,
    csrf: axum::Extension<CsrfToken>,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id: RecordId = id_or_404(&id)?;
    let note = state.app.record::<SessionNote>(&current.account, id, &ctx).await?;
    if note.signed_at.is_some() {
        return Ok(Redirect::to(&format!("/notes/{id}")).into_response());
    }
    let view = sources_view(&state, &current.account, &visitor, &csrf).await?;
    Ok(sources_page(view, id, ShorthandInput::default(), StatusCode::OK, FieldErrors::default()))
}

/// One sentence of a suggestion as the page shows it.
struct ShownSentence {
    text: String,
    /// Where it comes from ("Your shorthand").
    source: String,
    /// The words it rests on, when the sentence is not just them.
    quote: Option<String>,
    /// Not what its source says (checked, whatever wrote it).
    unsupported: bool,
}

struct ShownSection {
    name: &'static str,
    label: &'static str,
    current: String,
    sentences: Vec<ShownSentence>,
    /// The suggestion as the field would hold it.
    suggested: String,
}

#[derive(Template)]
#[template(path = "note_draft.html")]
struct DraftPage {
    layout: Layout,
    note_id: String,
    version: i64,
    rule_based: bool,
    /// The model that drafted ("gpt-4o (Azure OpenAI)"), when one did.
    model: String,
    sections: Vec<ShownSection>,
    unplaced: Vec<ShownSentence>,
    shorthand: String,
    transcript: String,
}

fn shown(sentence: &DraftSentence, sources: &[Source], placeholders: &Placeholders) -> ShownSentence {
    let source = sources.iter().find(|s| s.id == sentence.citation.source);
    let words = source.and_then(|s| s.text.get(sentence.citation.start..sentence.citation.end));
    ShownSentence {
        text: sentence.text.clone(),
        source: source.map_or_else(|| "an unknown source".to_owned(), |s| s.label.clone()),
        quote: (sentence.basis != Basis::Quoted).then(|| placeholders.restore(words.unwrap_or_default())),
        // A placeholder the model made up is left in the text: unsupported.
        unsupported: unsupported(sentence, sources).is_some() || !Placeholders::leaked(&sentence.text).is_empty(),
    }
}

fn draft_page(layout: Layout, drafted: DraftedNote, input: ShorthandInput) -> Response {
    let mut current = NoteForm::from_note(drafted.note.content.expose(), drafted.note.version);
    let (sources, placeholders) = (&drafted.sources, &drafted.placeholders);
    let sections = drafted
        .draft
        .sections
        .iter()
        .map(|section| ShownSection {
            name: section.name,
            label: section_label(section.name),
            current: current.section_mut(section.name).clone(),
            sentences: section.sentences.iter().map(|s| shown(s, sources, placeholders)).collect(),
            suggested: section.text(),
        })
        .collect();
    let page = DraftPage {
        layout,
        note_id: drafted.note.id.to_string(),
        version: drafted.note.version,
        rule_based: !matches!(drafted.engine, DraftingEngine::Model(_)),
        model: match &drafted.engine {
            DraftingEngine::Model(info) => format!("{} ({})", info.model, provider_name(info.provider)),
            _ => String::new(),
        },
        sections,
        unplaced: drafted.draft.unplaced.iter().map(|s| shown(s, sources, placeholders)).collect(),
        shorthand: input.shorthand,
        transcript: input.transcript,
    };
    html(StatusCode::OK, page)
}

/// Drafts the note from the shorthand and shows the suggestion beside it.
pub async fn draft_note(
    State(state): State<WebState>,
    SignedIn(current): SignedIn,
    visitor: Visitor,
    csrf: axum::Extension<CsrfToken>,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    Form(input): Form<ShorthandInput>,
) -> Result<Response, WebError> {
    let id: RecordId = id_or_404(&id)?;
    let mut view = sources_view(&state, &current.account, &visitor, &csrf).await?;
    if input.action == "edit" {
        return Ok(sources_page(view, id, input, StatusCode::OK, FieldErrors::default()));
    }
    let request = NoteDraftRequest {
        with_model: input.action == "model",
        shorthand: input.shorthand.clone(),
        transcript: input.transcript.clone(),
    };
    match state.app.draft_session_note(&current.account, id, request, &ctx).await {
        Ok(drafted) => Ok(draft_page(view.layout, drafted, input)),
        Err(AppError::Invalid(errors)) => Ok(sources_page(view, id, input, StatusCode::UNPROCESSABLE_ENTITY, errors)),
        // The model failed: said plainly, with everything typed kept.
        Err(AppError::ModelUnavailable(message)) => {
            view.model_problem = Some(message);
            Ok(sources_page(view, id, input, StatusCode::SERVICE_UNAVAILABLE, FieldErrors::default()))
        }
        Err(AppError::Locked) => Ok(Redirect::to(&format!("/notes/{id}")).into_response()),
        Err(e) => Err(e.into()),
    }
}

/// What the therapist took from a suggestion: per section `take_<name>`
/// (`keep`, `replace` or `add`) and the suggested text `suggested_<name>`.
#[derive(Deserialize)]
pub struct TakeInput {
    version: i64,
    #[serde(flatten)]
    fields: std::collections::HashMap<String, String>,
}

/// Puts the sections taken into the note's form — not saved: the form
/// says so, and the therapist saves (or not) as ever. The version is the
/// one the suggestion was made against, so a save made elsewhere since is
/// caught when they save.
pub async fn take_draft(
    State(state): State<WebState>,
    SignedIn(current): SignedIn,
    visitor: Visitor,
    csrf: axum::Extension<CsrfToken>,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    Form(input): Form<TakeInput>,
) -> Result<Response, WebError> {
    let id: RecordId = id_or_404(&id)?;
    let note = state.app.record::<SessionNote>(&current.account, id, &ctx).await?;
    if note.signed_at.is_some() {
        return Ok(Redirect::to(&format!("/notes/{id}")).into_response());
    }
    let mut form = NoteForm::from_note(note.content.expose(), input.version);
    let mut taken = 0;
    for (name, _) in note.content.expose().body.sections() {
        let suggested = input.fields.get(&format!("suggested_{name}")).map(String::as_str).unwrap_or_default();
        let field = form.section_mut(name);
        match input.fields.get(&format!("take_{name}")).map(String::as_str) {
            Some("replace") if !suggested.is_empty() => *field = suggested.to_owned(),
            Some("add") if !suggested.is_empty() => {
                if !field.trim().is_empty() {
                    field.push('\n');
                }
                field.push_str(suggested);
            }
            _ => continue,
        }
        taken += 1;
    }
    let notice = if taken == 0 {
        "Nothing was taken from the suggestion: the note is as it was."
    } else {
        "The sections you chose are in the form below. Nothing is saved until you save."
    };
    let client = note.client.to_string();
    Ok(form_page(&visitor, &csrf, (client, Some(id)), form, StatusCode::OK, FieldErrors::default(), Some(notice)))
}
