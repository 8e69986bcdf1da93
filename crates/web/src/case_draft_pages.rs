//! Drafts made from a client's records, as the therapist sees them: a
//! suggested formulation (`/clients/{id}/formulations/draft`) and proposed
//! working hypotheses (`/clients/{id}/hypotheses/draft`). Each line shows
//! the record it is quoted from, linked; the therapist ticks what to take,
//! and what they take opens in the record's ordinary new form, unsaved.

use std::collections::HashMap;

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use cbt_domain::formulation::{Formulation, ThoughtExample};
use cbt_domain::homework::from_library;
use cbt_domain::hypothesis::{Evidence, EvidenceDirection, Hypothesis, HypothesisStatus};
use cbt_domain::ids::{ClientId, RecordId};
use cbt_drafting::{Case, DraftSentence, record_id_of};

use crate::account_pages::html;
use crate::error::id_or_404;
use crate::record_forms::Part;
use crate::record_pages::{Choices, RecordPages, Therapist, new_form_with};
use crate::{WebError, WebState};

/// One quoted line, with the record it comes from.
struct Quote {
    text: String,
    /// "the session note of 2026-01-05 (subjective)".
    source: String,
    /// The record's page.
    href: String,
}

fn quote(sentence: &DraftSentence, case: &Case) -> Quote {
    let id = &sentence.citation.source;
    let source = case.source(id);
    Quote {
        text: sentence.text.clone(),
        source: source.map_or_else(|| "an unknown record".to_owned(), |s| s.label.clone()),
        href: record_page(id),
    }
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

pub async fn formulation_draft(
    State(state): State<WebState>,
    t: Therapist,
    Path(client): Path<String>,
) -> Result<Response, WebError> {
    let client: ClientId = id_or_404(&client)?;
    let drafted = state.app.draft_formulation(&t.account, client, &t.ctx).await?;
    let case = &drafted.case;
    let fields = drafted
        .draft
        .fields
        .iter()
        .map(|f| ShownField {
            name: f.name,
            label: formulation_label(f.name),
            quotes: f.sentences.iter().map(|s| quote(s, case)).collect(),
            suggested: f.text(),
        })
        .collect();
    let examples = drafted
        .draft
        .examples
        .iter()
        .enumerate()
        .map(|(index, example)| ShownExample {
            index,
            parts: example.parts.iter().map(|(part, s)| (*part, example_label(part), quote(s, case))).collect(),
        })
        .collect();
    let page = FormulationDraftPage {
        layout: t.layout,
        client_id: client.to_string(),
        name: drafted.client.details.expose().display_name().to_owned(),
        fields,
        examples,
    };
    Ok(html(StatusCode::OK, page))
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
    let mut formulation = Formulation { title: "Formulation (from the suggestion)".into(), ..Formulation::default() };
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
    new_form_with(&state, t, client, &formulation, TAKEN).await
}

/// Said above a form filled from a suggestion.
const TAKEN: &str = "The parts you chose are in the form below. Read and change them; nothing is saved until you save.";

// ---- hypotheses --------------------------------------------------------------

struct ShownHypothesis {
    index: usize,
    pattern: String,
    statement: String,
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
    hypotheses: Vec<ShownHypothesis>,
}

pub async fn hypotheses_draft(
    State(state): State<WebState>,
    t: Therapist,
    Path(client): Path<String>,
) -> Result<Response, WebError> {
    let client: ClientId = id_or_404(&client)?;
    let drafted = state.app.draft_hypotheses(&t.account, client, &t.ctx).await?;
    let hypotheses = drafted
        .draft
        .iter()
        .enumerate()
        .map(|(index, h)| ShownHypothesis {
            index,
            pattern: h.pattern.clone(),
            statement: h.statement.clone(),
            evidence: h.evidence.iter().map(|e| (quote(&e.sentence, &drafted.case), e.record.clone())).collect(),
            worksheet: h.worksheet.and_then(|key| {
                let title = from_library(key)?.title;
                Some((title, format!("/clients/{client}/homework/new?source=library:{key}")))
            }),
        })
        .collect();
    let page = HypothesesDraftPage {
        layout: t.layout,
        client_id: client.to_string(),
        name: drafted.client.details.expose().display_name().to_owned(),
        hypotheses,
    };
    Ok(html(StatusCode::OK, page))
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
        .take_while(|(text, _)| !text.is_empty())
        .map(|(text, source)| Evidence {
            direction: EvidenceDirection::For,
            text,
            // Checked when the therapist saves, as any link is.
            source: source.parse::<RecordId>().ok(),
        })
        .collect();
    let hypothesis = Hypothesis { statement: text("statement".into()), status: HypothesisStatus::Proposed, evidence };
    new_form_with(&state, t, client, &hypothesis, TAKEN).await
}
