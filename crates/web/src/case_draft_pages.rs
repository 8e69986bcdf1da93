//! Drafts made from a client's records, as the therapist sees them: a
//! suggested formulation (`/clients/{id}/formulations/draft`) and proposed
//! working hypotheses (`/clients/{id}/hypotheses/draft`). Each line shows
//! the record it is quoted from, linked; the therapist ticks what to take,
//! and what they take opens in the record's ordinary new form, unsaved.
//!
//! Both are drafted by rules when the page opens. Where the therapist may
//! use a language model for this client, a button asks it instead
//! (`…/draft/ai`): the same page, its lines the model's, each still
//! linked to the record it cites, and flagged (and left out of what is
//! taken) where the words it cites are not in that record. When the model
//! fails, the page says why above the suggestion by rules.

use std::collections::HashMap;

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use cbt_app::AppError;
use cbt_app::case_drafts::CaseDraft;
use cbt_app::drafts::DraftingEngine;
use cbt_domain::formulation::{Formulation, ThoughtExample};
use cbt_domain::homework::from_library;
use cbt_domain::hypothesis::{Evidence, EvidenceDirection, Hypothesis, HypothesisStatus};
use cbt_domain::ids::{ClientId, RecordId};
use cbt_drafting::{Basis, Case, DraftSentence, FormulationDraft, HypothesisDraft, Placeholders, Source, record_id_of};

use crate::account_pages::html;
use crate::draft_pages::{drafted_with, provider_name};
use crate::error::id_or_404;
use crate::record_forms::Part;
use crate::record_pages::{Choices, RecordPages, Therapist, new_form_with};
use crate::{WebError, WebState};

/// One line of a draft, with the record it comes from.
struct Quote {
    text: String,
    /// "the session note of 2026-01-05 (subjective)".
    source: String,
    /// The record's page.
    href: String,
    /// A model's line whose cited words are not in the record (or that
    /// holds a placeholder it made up): shown, flagged, never taken.
    unsupported: bool,
}

/// A line of the draft; `sent` is what a model's citations point into.
fn quote(sentence: &DraftSentence, case: &Case, sent: &[Source]) -> Quote {
    let id = &sentence.citation.source;
    let source = case.source(id);
    // Lines by rules are quotations by construction; a model's are checked.
    let unsupported = sentence.basis == Basis::Paraphrase
        && (cbt_drafting::unsupported(sentence, sent).is_some() || !Placeholders::leaked(&sentence.text).is_empty());
    Quote {
        text: sentence.text.clone(),
        source: source.map_or_else(|| "an unknown record".to_owned(), |s| s.label.clone()),
        href: record_page(id),
        unsupported,
    }
}

/// Who wrote a draft, as its page says it.
struct Drafter {
    /// The draft's path under the client: `formulations` or `hypotheses`.
    kind: &'static str,
    /// "gpt-4o (Azure OpenAI)"; `None` for rules.
    model: Option<String>,
    /// Records the model did not see.
    left_out: usize,
    /// The therapist may ask the model (instead, or again).
    may_ask: bool,
    /// What a record taken from it keeps as its provenance.
    drafted_with: String,
    /// Why the model's draft is not shown, when it failed.
    problem: Option<String>,
}

fn drafter<T>(kind: &'static str, drafted: &CaseDraft<T>, problem: Option<String>) -> Drafter {
    let prompt = match kind {
        "formulations" => cbt_drafting::FORMULATION_PROMPT_VERSION,
        _ => cbt_drafting::HYPOTHESES_PROMPT_VERSION,
    };
    let model = match &drafted.engine {
        DraftingEngine::Model(info) => Some(format!("{} ({})", info.model, provider_name(info.provider))),
        _ => None,
    };
    Drafter {
        kind,
        model,
        left_out: drafted.left_out,
        may_ask: drafted.model.is_some(),
        drafted_with: drafted_with(&drafted.engine, prompt),
        problem,
    }
}

/// The model's draft on its page; when the model could not draft, the
/// page by rules with why (503, or 422 when the therapist may not use the
/// model). Any other error is the page's error.
async fn model_or_rules<T, P, R>(
    by_model: Result<CaseDraft<T>, AppError>,
    by_rules: impl FnOnce() -> R,
    page: impl FnOnce(CaseDraft<T>, Option<String>) -> P,
) -> Result<Response, WebError>
where
    P: askama::Template,
    R: std::future::Future<Output = Result<CaseDraft<T>, AppError>>,
{
    let (status, problem) = match by_model {
        Ok(drafted) => return Ok(html(StatusCode::OK, page(drafted, None))),
        Err(AppError::ModelUnavailable(message)) => (StatusCode::SERVICE_UNAVAILABLE, message),
        Err(AppError::Invalid(errors)) => {
            let message = errors.0.iter().map(|e| e.message.clone()).collect::<Vec<_>>().join(" ");
            (StatusCode::UNPROCESSABLE_ENTITY, message)
        }
        Err(other) => return Err(other.into()),
    };
    Ok(html(status, page(by_rules().await?, Some(problem))))
}

/// The page of the record a source id names.
fn record_page(source: &str) -> String {
    let record = record_id_of(source).unwrap_or_default();
    match source.split(':').next() {
        Some("session_note") => format!("/notes/{record}"),
        Some("homework") => format!("/homework/{record}"),
        Some("assessment") => format!("/assessments/{record}"),
        _ => format!("/clients/{record}"),
    }
}

// ---- formulation -------------------------------------------------------------

struct ShownField {
    name: &'static str,
    label: String,
    quotes: Vec<Quote>,
    /// The field's text if taken: one line each.
    suggested: String,
}

struct ShownExample {
    index: usize,
    /// (part name, its label, the line).
    parts: Vec<(&'static str, &'static str, Quote)>,
}

#[derive(Template)]
#[template(path = "formulation_draft.html")]
struct FormulationDraftPage {
    layout: crate::pages::Layout,
    client_id: String,
    name: String,
    drafter: Drafter,
    fields: Vec<ShownField>,
    examples: Vec<ShownExample>,
}

/// The formulation form's label for a field (`beck.core_beliefs`).
fn formulation_label(name: &str) -> String {
    Formulation::parts(None, &Choices::default())
        .into_iter()
        .find_map(|part| match part {
            Part::Field(f) if f.name == name => Some(f.label),
            _ => None,
        })
        .unwrap_or_else(|| name.to_owned())
}

fn formulation_page(
    layout: crate::pages::Layout,
    drafted: CaseDraft<FormulationDraft>,
    problem: Option<String>,
) -> FormulationDraftPage {
    let (case, sent) = (&drafted.case, &drafted.sent);
    let fields = drafted
        .draft
        .fields
        .iter()
        .map(|f| {
            let quotes: Vec<Quote> = f.sentences.iter().map(|s| quote(s, case, sent)).collect();
            let suggested =
                quotes.iter().filter(|q| !q.unsupported).map(|q| q.text.as_str()).collect::<Vec<_>>().join("\n");
            ShownField { name: f.name, label: formulation_label(f.name), quotes, suggested }
        })
        .collect();
    let examples = drafted
        .draft
        .examples
        .iter()
        .enumerate()
        .map(|(index, example)| ShownExample {
            index,
            parts: example.parts.iter().map(|(part, s)| (*part, example_label(part), quote(s, case, sent))).collect(),
        })
        .collect();
    FormulationDraftPage {
        layout,
        client_id: drafted.client.id.to_string(),
        name: drafted.client.details.expose().display_name().to_owned(),
        drafter: drafter("formulations", &drafted, problem),
        fields,
        examples,
    }
}

pub async fn formulation_draft(
    State(state): State<WebState>,
    t: Therapist,
    Path(client): Path<String>,
) -> Result<Response, WebError> {
    let client: ClientId = id_or_404(&client)?;
    let drafted = state.app.draft_formulation(&t.account, client, &t.ctx).await?;
    Ok(html(StatusCode::OK, formulation_page(t.layout, drafted, None)))
}

/// The formulation drafted by the model; when it cannot, the suggestion by
/// rules with why.
pub async fn formulation_draft_by_model(
    State(state): State<WebState>,
    t: Therapist,
    Path(client): Path<String>,
) -> Result<Response, WebError> {
    let client: ClientId = id_or_404(&client)?;
    let by_model = state.app.draft_formulation_with_model(&t.account, client, &t.ctx).await;
    let by_rules = || state.app.draft_formulation(&t.account, client, &t.ctx);
    model_or_rules(by_model, by_rules, |drafted, problem| formulation_page(t.layout, drafted, problem)).await
}

fn example_label(part: &str) -> &'static str {
    let example = ThoughtExample::default();
    example.parts().into_iter().find(|(p, _, _)| *p == part).map_or("", |(_, label, _)| label)
}

/// What was ticked on the formulation suggestion: `take_<field>` = `yes`
/// with `suggested_<field>`, and `take_example_<n>` with
/// `example_<n>_<part>`.
pub async fn take_formulation(
    State(state): State<WebState>,
    t: Therapist,
    Path(client): Path<String>,
    Form(input): Form<HashMap<String, String>>,
) -> Result<Response, WebError> {
    let client: ClientId = id_or_404(&client)?;
    state.app.check_client(&t.account, client).await?;
    let taken = |name: &str| input.get(&format!("take_{name}")).is_some_and(|v| v == "yes");
    let text = |name: &str| input.get(name).cloned().unwrap_or_default();
    let mut formulation = Formulation {
        title: "Formulation (from the suggestion)".into(),
        drafted_with: input.get("drafted_with").cloned(),
        ..Formulation::default()
    };
    let fields = cbt_drafting::FormulationDraft::field_names().filter(|name| taken(name));
    for name in fields {
        let suggested = text(&format!("suggested_{name}"));
        let (b, p) = (&mut formulation.beck, &mut formulation.five_ps);
        let slot = match name {
            "beck.relevant_history" => &mut b.relevant_history,
            "beck.core_beliefs" => &mut b.core_beliefs,
            "beck.conditional_assumptions" => &mut b.conditional_assumptions,
            "beck.compensatory_strategies" => &mut b.compensatory_strategies,
            "five_ps.presenting" => &mut p.presenting,
            "five_ps.predisposing" => &mut p.predisposing,
            "five_ps.precipitating" => &mut p.precipitating,
            "five_ps.perpetuating" => &mut p.perpetuating,
            "five_ps.protective" => &mut p.protective,
            _ => continue,
        };
        *slot = suggested;
    }
    for n in 0..cbt_domain::formulation::EXAMPLES_MAX {
        if !taken(&format!("example_{n}")) {
            continue;
        }
        let part = |p: &str| text(&format!("example_{n}_{p}"));
        formulation.beck.examples.push(ThoughtExample {
            situation: part("situation"),
            automatic_thought: part("automatic_thought"),
            meaning: part("meaning"),
            emotion: part("emotion"),
            behaviour: part("behaviour"),
        });
    }
    if formulation == (Formulation { title: formulation.title.clone(), drafted_with: None, ..Formulation::default() }) {
        // Nothing taken: nothing of the suggestion to account for.
        formulation.drafted_with = None;
    }
    new_form_with(&state, t, client, &formulation, TAKEN).await
}

/// Said above a form filled from a suggestion.
const TAKEN: &str = "The parts you chose are in the form below. Read and change them; nothing is saved until you save.";

// ---- hypotheses --------------------------------------------------------------

struct ShownHypothesis {
    index: usize,
    pattern: String,
    statement: String,
    /// Its supported evidence comes from fewer than two records.
    thin: bool,
    /// (line, record id).
    evidence: Vec<(Quote, String)>,
    /// (title, link to assign it).
    worksheet: Option<(String, String)>,
}

#[derive(Template)]
#[template(path = "hypotheses_draft.html")]
struct HypothesesDraftPage {
    layout: crate::pages::Layout,
    client_id: String,
    name: String,
    drafter: Drafter,
    hypotheses: Vec<ShownHypothesis>,
}

fn hypotheses_page(
    layout: crate::pages::Layout,
    drafted: CaseDraft<Vec<HypothesisDraft>>,
    problem: Option<String>,
) -> HypothesesDraftPage {
    let client = drafted.client.id;
    let hypotheses = drafted
        .draft
        .iter()
        .enumerate()
        .map(|(index, h)| {
            let evidence: Vec<(Quote, String)> = h
                .evidence
                .iter()
                .map(|e| (quote(&e.sentence, &drafted.case, &drafted.sent), e.record.clone()))
                .collect();
            let mut records: Vec<&str> =
                evidence.iter().filter(|(q, _)| !q.unsupported).map(|(_, r)| r.as_str()).collect();
            records.sort_unstable();
            records.dedup();
            ShownHypothesis {
                index,
                pattern: h.pattern.clone(),
                statement: h.statement.clone(),
                thin: records.len() < 2,
                evidence,
                worksheet: h.worksheet.and_then(|key| {
                    let title = from_library(key)?.title;
                    Some((title, format!("/clients/{client}/homework/new?source=library:{key}")))
                }),
            }
        })
        .collect();
    HypothesesDraftPage {
        layout,
        client_id: client.to_string(),
        name: drafted.client.details.expose().display_name().to_owned(),
        drafter: drafter("hypotheses", &drafted, problem),
        hypotheses,
    }
}

pub async fn hypotheses_draft(
    State(state): State<WebState>,
    t: Therapist,
    Path(client): Path<String>,
) -> Result<Response, WebError> {
    let client: ClientId = id_or_404(&client)?;
    let drafted = state.app.draft_hypotheses(&t.account, client, &t.ctx).await?;
    Ok(html(StatusCode::OK, hypotheses_page(t.layout, drafted, None)))
}

/// Hypotheses proposed by the model; when it cannot, the proposals by
/// rules with why.
pub async fn hypotheses_draft_by_model(
    State(state): State<WebState>,
    t: Therapist,
    Path(client): Path<String>,
) -> Result<Response, WebError> {
    let client: ClientId = id_or_404(&client)?;
    let by_model = state.app.draft_hypotheses_with_model(&t.account, client, &t.ctx).await;
    let by_rules = || state.app.draft_hypotheses(&t.account, client, &t.ctx);
    model_or_rules(by_model, by_rules, |drafted, problem| hypotheses_page(t.layout, drafted, problem)).await
}

/// One proposal taken: `statement`, and `evidence_<n>_text` with
/// `evidence_<n>_source` (a record id).
pub async fn take_hypothesis(
    State(state): State<WebState>,
    t: Therapist,
    Path(client): Path<String>,
    Form(input): Form<HashMap<String, String>>,
) -> Result<Response, WebError> {
    let client: ClientId = id_or_404(&client)?;
    state.app.check_client(&t.account, client).await?;
    let text = |name: String| input.get(&name).cloned().unwrap_or_default();
    let evidence = (0..cbt_domain::hypothesis::EVIDENCE_MAX)
        .map(|n| (text(format!("evidence_{n}_text")), text(format!("evidence_{n}_source"))))
        // A line left out (flagged) leaves a gap: the rest still count.
        .filter(|(text, _)| !text.is_empty())
        .map(|(text, source)| Evidence {
            direction: EvidenceDirection::For,
            text,
            // Checked when the therapist saves, as any link is.
            source: source.parse::<RecordId>().ok(),
        })
        .collect();
    let hypothesis = Hypothesis {
        statement: text("statement".into()),
        status: HypothesisStatus::Proposed,
        evidence,
        drafted_with: input.get("drafted_with").cloned(),
    };
    new_form_with(&state, t, client, &hypothesis, TAKEN).await
}
