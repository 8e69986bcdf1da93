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
use cbt_app::drafts::{
    AiDraftsStatus, AiUseReport, DraftProgress, DraftedNote, DraftingEngine, NoteDraftOptions, NoteDraftRequest,
};
use cbt_domain::ids::RecordId;
use cbt_domain::session_note::SessionNote;
use cbt_domain::validation::FieldErrors;
use cbt_drafting::{Basis, DraftSentence, Placeholders, Source, unsupported};
use serde::Deserialize;

use crate::account_pages::{Errors, NoticeQuery, html, html_text};
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
    /// "12,345 of 2,000,000".
    tokens_used: String,
    /// The latest calls, newest first.
    calls: Vec<ShownCall>,
    saved: bool,
    errors: Errors,
}

/// One model call as the therapist sees it: when, for what, by which
/// model, how it ended and what it cost. Nothing of what was sent.
struct ShownCall {
    when: String,
    purpose: &'static str,
    model: String,
    outcome: &'static str,
    tokens: String,
    seconds: String,
}

impl ShownCall {
    fn of(call: &cbt_ports::StoredAiCall) -> Self {
        let purpose = match call.purpose.as_str() {
            "session_note" => "Session note",
            "formulation" => "Formulation",
            "hypotheses" => "Working hypotheses",
            _ => "Other draft",
        };
        let outcome = match call.outcome.as_str() {
            "success" => "Drafted",
            "malformed" => "Answer unusable",
            "timed_out" => "Timed out",
            "rate_limited" => "Service busy",
            "refused" => "Refused by the service",
            "unavailable" => "Service unavailable",
            _ => "Did not finish",
        };
        Self {
            when: when(call.called_at),
            purpose,
            model: call.model.clone(),
            outcome,
            tokens: thousands(i64::from(call.prompt_tokens) + i64::from(call.completion_tokens)),
            seconds: format!("{:.1}", f64::from(call.latency_ms) / 1000.0),
        }
    }
}

/// 2000000 as "2,000,000".
fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// What the AI drafts page shows: the engine, the consent, the use.
struct AiDraftsState {
    status: AiDraftsStatus,
    used: AiUseReport,
}

async fn ai_drafts_state(state: &WebState, account: &cbt_domain::account::Account) -> Result<AiDraftsState, WebError> {
    Ok(AiDraftsState { status: state.app.ai_drafts_status(account).await?, used: state.app.ai_use(account).await? })
}

fn ai_drafts_page(layout: Layout, shown: &AiDraftsState, code: StatusCode, saved: bool, errors: Errors) -> Response {
    let status = &shown.status;
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
        tokens_used: format!("{} of {}", thousands(shown.used.tokens), thousands(shown.used.budget)),
        calls: shown.used.recent.iter().map(ShownCall::of).collect(),
        saved,
        errors,
    };
    html(code, page)
}

/// What a record keeps of how its text was drafted (its provenance).
pub(crate) fn drafted_with(engine: &DraftingEngine, prompt_version: &str) -> String {
    match engine {
        DraftingEngine::Model(info) => {
            format!("AI: {} ({}), prompt {prompt_version}", info.model, provider_name(info.provider))
        }
        _ => "rule-based drafting (no AI)".to_owned(),
    }
}

/// The provider as a therapist would name it.
pub(crate) fn provider_name(kind: cbt_ports::ProviderKind) -> &'static str {
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
    let shown = ai_drafts_state(&state, &current.account).await?;
    let saved = q.notice() == Some("saved");
    let layout = Layout::for_visitor("account", &visitor, &csrf);
    Ok(ai_drafts_page(layout, &shown, StatusCode::OK, saved, Errors::default()))
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
            let shown = ai_drafts_state(&state, &current.account).await?;
            let layout = Layout::for_visitor("account", &visitor, &csrf);
            Ok(ai_drafts_page(layout, &shown, StatusCode::UNPROCESSABLE_ENTITY, false, Errors::from(errors)))
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

impl SourcesView {
    fn new(options: &NoteDraftOptions, layout: Layout) -> Self {
        let model = options.model.as_ref().map(|info| info.model.clone());
        SourcesView { layout, model, model_problem: None }
    }
}

fn sources_page(view: SourcesView, id: RecordId, input: ShorthandInput, errors: FieldErrors) -> SourcesPage {
    SourcesPage {
        layout: view.layout,
        model: view.model,
        model_problem: view.model_problem,
        note_id: id.to_string(),
        shorthand: input.shorthand,
        transcript: input.transcript,
        errors: errors.into(),
    }
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
    let options = state.app.note_draft_options(&current.account, id, &ctx).await?;
    if options.note.signed_at.is_some() {
        return Ok(Redirect::to(&format!("/notes/{id}")).into_response());
    }
    let view = SourcesView::new(&options, Layout::for_visitor("clients", &visitor, &csrf));
    Ok(html(StatusCode::OK, sources_page(view, id, ShorthandInput::default(), FieldErrors::default())))
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
    /// What using the suggestion would change, word by word (empty when
    /// the note's section is empty or the same).
    changes: Vec<Change>,
}

/// A run of words the same in both, only in the note's text, or only in
/// the suggestion.
struct Change {
    kind: &'static str,
    text: String,
}

/// The note's text against the suggestion, word by word: a changed
/// stretch reads as what goes (all of it) then what comes, not word
/// against word, and the words both share stay as they are.
fn changes(current: &str, suggested: &str) -> Vec<Change> {
    if current.trim().is_empty() || current == suggested {
        return Vec::new();
    }
    let diff =
        similar::TextDiff::configure().timeout(std::time::Duration::from_millis(200)).diff_words(current, suggested);
    let mut out: Vec<Change> = Vec::new();
    let (mut removed, mut added) = (String::new(), String::new());
    let flush = |out: &mut Vec<Change>, removed: &mut String, added: &mut String| {
        // Spaces at the end of a changed stretch belong to what follows.
        let tail_len = removed.len() - removed.trim_end().len();
        let tail = removed.split_off(removed.len() - tail_len);
        added.truncate(added.trim_end().len());
        for (kind, text) in [("removed", std::mem::take(removed)), ("added", std::mem::take(added)), ("same", tail)] {
            if !text.is_empty() {
                out.push(Change { kind, text });
            }
        }
    };
    for change in diff.iter_all_changes() {
        let value = change.value();
        match change.tag() {
            similar::ChangeTag::Delete => removed.push_str(value),
            similar::ChangeTag::Insert => added.push_str(value),
            // Spaces between changed words are part of the stretch.
            similar::ChangeTag::Equal if value.trim().is_empty() && !(removed.is_empty() && added.is_empty()) => {
                removed.push_str(value);
                added.push_str(value);
            }
            similar::ChangeTag::Equal => {
                flush(&mut out, &mut removed, &mut added);
                match out.last_mut() {
                    Some(last) if last.kind == "same" => last.text.push_str(value),
                    _ => out.push(Change { kind: "same", text: value.to_owned() }),
                }
            }
        }
    }
    flush(&mut out, &mut removed, &mut added);
    out
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
    /// Provenance for the note, if sections are taken.
    drafted_with: String,
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

fn draft_page(layout: Layout, drafted: DraftedNote, input: ShorthandInput) -> DraftPage {
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
            changes: changes(current.section_mut(section.name), &section.text()),
            suggested: section.text(),
        })
        .collect();
    DraftPage {
        layout,
        note_id: drafted.note.id.to_string(),
        version: drafted.note.version,
        rule_based: !matches!(drafted.engine, DraftingEngine::Model(_)),
        model: match &drafted.engine {
            DraftingEngine::Model(info) => format!("{} ({})", info.model, provider_name(info.provider)),
            _ => String::new(),
        },
        drafted_with: drafted_with(&drafted.engine, cbt_drafting::NOTE_PROMPT_VERSION),
        sections,
        unplaced: drafted.draft.unplaced.iter().map(|s| shown(s, sources, placeholders)).collect(),
        shorthand: input.shorthand,
        transcript: input.transcript,
    }
}

/// What a draft request ends in: a page, or the note itself (signed
/// meanwhile).
enum Outcome {
    Page(StatusCode, String),
    Note(RecordId),
}

fn page_of<T: Template>(status: StatusCode, page: T) -> Result<Outcome, WebError> {
    let body = page.render().map_err(|e| WebError::Internal(format!("template: {e}")))?;
    Ok(Outcome::Page(status, body))
}

/// The page a draft request ends on: the suggestion, or the shorthand
/// form again with what was typed and why.
async fn after_draft(
    state: &WebState,
    account: &cbt_domain::account::Account,
    ctx: &cbt_domain::audit::RequestContext,
    layout: Layout,
    id: RecordId,
    input: ShorthandInput,
    result: Result<DraftedNote, AppError>,
) -> Result<Outcome, WebError> {
    let (code, errors, problem) = match result {
        Ok(drafted) => return page_of(StatusCode::OK, draft_page(layout, drafted, input)),
        Err(AppError::Invalid(errors)) => (StatusCode::UNPROCESSABLE_ENTITY, errors, None),
        // The model failed: said plainly, with everything typed kept.
        Err(AppError::ModelUnavailable(message)) => {
            (StatusCode::SERVICE_UNAVAILABLE, FieldErrors::default(), Some(message))
        }
        Err(AppError::Locked) => return Ok(Outcome::Note(id)),
        Err(e) => return Err(e.into()),
    };
    let options = state.app.note_draft_options(account, id, ctx).await?;
    let view = SourcesView { model_problem: problem, ..SourcesView::new(&options, layout) };
    page_of(code, sources_page(view, id, input, errors))
}

fn request_of(input: &ShorthandInput) -> NoteDraftRequest {
    NoteDraftRequest {
        with_model: input.action == "model",
        shorthand: input.shorthand.clone(),
        transcript: input.transcript.clone(),
    }
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
    let layout = Layout::for_visitor("clients", &visitor, &csrf);
    let result = if input.action == "edit" {
        // Back to the form, with what was typed.
        Err(AppError::Invalid(FieldErrors::default()))
    } else {
        state.app.draft_session_note(&current.account, id, request_of(&input), &ctx).await
    };
    let edit = input.action == "edit";
    match after_draft(&state, &current.account, &ctx, layout, id, input, result).await? {
        Outcome::Page(code, body) => Ok(html_text(if edit { StatusCode::OK } else { code }, body)),
        Outcome::Note(id) => Ok(Redirect::to(&format!("/notes/{id}")).into_response()),
    }
}

/// The model's suggestion as it is written (`text/event-stream`): a
/// `sentence` event per sentence (`{"section", "text"}` as JSON), `again`
/// when the model is asked once more, then `page` with the page the
/// request ends on (the suggestion, or the shorthand form with why) as
/// HTML, or `note` with the note's address when it was signed meanwhile.
/// The page's script shows the sentences, then puts the page in place;
/// without script the form posts to [`draft_note`] instead.
pub async fn draft_note_as_written(
    State(state): State<WebState>,
    SignedIn(current): SignedIn,
    visitor: Visitor,
    csrf: axum::Extension<CsrfToken>,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    Form(mut input): Form<ShorthandInput>,
) -> Result<Response, WebError> {
    use axum::response::sse::{Event, Sse};
    use futures_util::StreamExt as _;
    let id: RecordId = id_or_404(&id)?;
    // Another therapist's note is not found, before anything is streamed.
    state.app.check_record::<SessionNote>(&current.account, id).await?;
    input.action = "model".into();
    let layout = Layout::for_visitor("clients", &visitor, &csrf);
    let (progress, written) = tokio::sync::mpsc::channel(256);
    let account = current.account.clone();
    let drafting = tokio::spawn(async move {
        let request = request_of(&input);
        let result = state.app.draft_session_note_as_written(&account, id, request, &ctx, Some(progress)).await;
        after_draft(&state, &account, &ctx, layout, id, input, result).await
    });
    let sentences = futures_util::stream::unfold(written, |mut written| async move {
        let event = match written.recv().await? {
            DraftProgress::Sentence { section, text } => {
                let label = section_label(&section);
                Event::default().event("sentence").json_data(serde_json::json!({"section": label, "text": text}))
            }
            DraftProgress::StartedAgain => Ok(Event::default().event("again").data("")),
        };
        Some((event.unwrap_or_default(), written))
    });
    let end = futures_util::stream::once(async move {
        match drafting.await {
            // An event's data may not hold a carriage return (browsers send
            // the typed text with CRLF line ends): the page is HTML either way.
            Ok(Ok(Outcome::Page(_, body))) => {
                Event::default().event("page").data(body.replace("\r\n", "\n").replace('\r', "\n"))
            }
            Ok(Ok(Outcome::Note(id))) => Event::default().event("note").data(format!("/notes/{id}")),
            Ok(Err(e)) => {
                tracing::warn!(error = ?e, "a streamed draft failed");
                Event::default().event("failed").data("")
            }
            Err(e) => {
                tracing::error!(error = %e, "a streamed draft's task ended abnormally");
                Event::default().event("failed").data("")
            }
        }
    });
    let events = sentences.chain(end).map(Ok::<_, std::convert::Infallible>);
    Ok(Sse::new(events).into_response())
}

/// What the therapist took from a suggestion: per section `take_<name>`
/// (`keep`, `replace` or `add`) and the suggested text `suggested_<name>`.
#[derive(Deserialize)]
pub struct TakeInput {
    version: i64,
    /// What made the suggestion, as the note will record it.
    #[serde(default)]
    drafted_with: String,
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
    if taken > 0 && !input.drafted_with.trim().is_empty() {
        form.drafted_with = input.drafted_with.clone();
    }
    let notice = if taken == 0 {
        "Nothing was taken from the suggestion: the note is as it was."
    } else {
        "The sections you chose are in the form below. Nothing is saved until you save."
    };
    let client = note.client.to_string();
    Ok(form_page(&visitor, &csrf, (client, Some(id)), form, StatusCode::OK, FieldErrors::default(), Some(notice)))
}

#[cfg(test)]
mod tests {
    use super::{changes, thousands};

    #[test]
    fn token_counts_are_grouped_by_thousands() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(2_000_000), "2,000,000");
        assert_eq!(thousands(-12_345), "-12,345");
    }

    fn read(current: &str, suggested: &str) -> Vec<(&'static str, String)> {
        changes(current, suggested).into_iter().map(|c| (c.kind, c.text)).collect()
    }

    #[test]
    fn a_changed_stretch_reads_as_what_goes_then_what_comes() {
        assert_eq!(
            read("Review sleep diary.", "thought record daily"),
            vec![("removed", "Review sleep diary.".into()), ("added", "thought record daily".into())]
        );
        assert_eq!(
            read("Poor sleep for two weeks. Plan: review.", "Poor sleep for three weeks. Plan: review."),
            vec![
                ("same", "Poor sleep for ".into()),
                ("removed", "two".into()),
                ("added", "three".into()),
                ("same", " weeks. Plan: review.".into())
            ]
        );
        assert!(read("", "anything").is_empty(), "nothing to change in an empty section");
        assert!(read("same", "same").is_empty());
    }
}
