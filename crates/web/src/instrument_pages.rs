//! The therapist's own instruments: the list (theirs and the shipped
//! ones), and a form to add or change one written as a therapist would
//! write it, not as a definition file: one line per answer option, item,
//! severity band and risk item. The lines are read into an
//! `InstrumentDefinition` (one response scale for every item, a total, no
//! subscales or change norms), each line's problem named by its field and
//! line number; the domain's validation is then shown on the same fields.
//! A saved instrument's page previews how it is scored.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use cbt_app::AppError;
use cbt_domain::assessment::{
    Band, Direction, Instrument, InstrumentDefinition, Item, MissingItems, ResponseOption, ResponseScale, RiskItem,
    Scoring, TOTAL, custom_key,
};
use cbt_domain::ids::InstrumentId;
use cbt_domain::validation::{FieldError, FieldErrors};
use serde::Deserialize;

use crate::account_pages::{Errors, html};
use crate::error::id_or_404;
use crate::pages::{Layout, when};
use crate::record_pages::Therapist;
use crate::{WebError, WebState};

/// The id of the one response scale a form-made instrument has.
const SCALE: &str = "answers";

/// The form as typed: every field text, so a rejected form comes back as
/// it was.
#[derive(Deserialize, Default)]
pub struct InstrumentForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    short_name: String,
    #[serde(default)]
    instructions: String,
    #[serde(default)]
    time_frame: String,
    /// `0 = Not at all`, one per line.
    #[serde(default)]
    options: String,
    /// One item's text per line.
    #[serde(default)]
    items: String,
    /// `higher_is_worse` or `higher_is_better`.
    #[serde(default)]
    direction: String,
    /// `0-4 Minimal`, one per line.
    #[serde(default)]
    bands: String,
    /// `9 >= 1 Review risk with the client`, one per line.
    #[serde(default)]
    risk_items: String,
    /// How many unanswered items are prorated.
    #[serde(default)]
    max_prorated: String,
    #[serde(default)]
    licence: String,
    /// The stored version the form was read at.
    #[serde(default)]
    version: i64,
}

/// The licence line a new instrument starts with.
fn default_licence(author: &str) -> String {
    format!("Written by {author} for their own practice")
}

/// A lower-case slug of the short name, for the definition's `id` (results
/// name a custom instrument by `custom:<uuid>`, so it need not be unique).
fn slug(short_name: &str) -> String {
    let mut out = String::new();
    for c in short_name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.truncate(cbt_domain::assessment::ID_MAX);
    let out = out.trim_end_matches('-').to_owned();
    if out.len() < 2 { "custom".to_owned() } else { out }
}

/// The non-empty lines of a text box, with their 1-based line numbers.
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().map(|(i, l)| (i + 1, l.trim())).filter(|(_, l)| !l.is_empty())
}

/// A whole number at the start of `text`, and what follows it.
fn leading_number(text: &str) -> Option<(u32, &str)> {
    let end = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let n = text.get(..end)?.parse().ok()?;
    Some((n, text[end..].trim_start()))
}

/// `0 = Not at all` (the label may be empty between the end points).
fn option_line(line: &str) -> Option<ResponseOption> {
    let (value, label) = line.split_once('=').unwrap_or((line, ""));
    Some(ResponseOption { value: value.trim().parse().ok()?, label: label.trim().to_owned() })
}

/// `0-4 Minimal` (or with an en dash).
fn band_line(line: &str) -> Option<Band> {
    let (min, rest) = leading_number(line)?;
    let rest = rest.strip_prefix(['-', '–', '—'])?.trim_start();
    let (max, label) = leading_number(rest)?;
    Some(Band { min, max, label: label.to_owned() })
}

/// `9 >= 1 Review risk with the client` (or `≥`).
fn risk_line(line: &str) -> Option<RiskItem> {
    let (item, rest) = leading_number(line)?;
    let rest = rest.strip_prefix(">=").or_else(|| rest.strip_prefix('≥'))?.trim_start();
    let (threshold, message) = leading_number(rest)?;
    Some(RiskItem { item, threshold, message: message.to_owned() })
}

/// The on-screen rule for unanswered items, from how many are prorated.
fn missing_statement(max_prorated: u32, items: usize) -> String {
    match max_prorated {
        0 => format!("All {items} items must be answered for a total to be given; with any unanswered there is none."),
        1 => format!(
            "With 1 of the {items} items unanswered, the total is prorated: the sum of the answered items scaled up to \
             all {items}, rounded to the nearest whole point (halves up). With more unanswered there is no total."
        ),
        n => format!(
            "With up to {n} of the {items} items unanswered, the total is prorated: the sum of the answered items \
             scaled up to all {items}, rounded to the nearest whole point (halves up). With more unanswered there is \
             no total."
        ),
    }
}

/// Reads the form into a definition (unvalidated: `Instrument::new` does
/// that), or every line problem, each under its field with its line.
fn definition_of(form: &InstrumentForm, author: &str) -> Result<InstrumentDefinition, FieldErrors> {
    let mut errors = FieldErrors::default();
    let mut options = Vec::new();
    for (n, line) in lines(&form.options) {
        match option_line(line) {
            Some(option) => options.push(option),
            None => errors.push(FieldError::new(
                "options",
                format!("Answer options, line {n}: write the points, then = and the label, e.g. 0 = Not at all."),
            )),
        }
    }
    if options.is_empty() && !errors.0.iter().any(|e| e.field == "options") {
        errors.push(FieldError::new("options", "Answer options: list the answers, one per line, e.g. 0 = Not at all."));
    }
    let items: Vec<Item> = lines(&form.items)
        .enumerate()
        .map(|(i, (_, text))| Item {
            number: u32::try_from(i + 1).unwrap_or(u32::MAX),
            text: text.to_owned(),
            scale: SCALE.into(),
        })
        .collect();
    if items.is_empty() {
        errors.push(FieldError::new("items", "Items: write each item's text on a line of its own."));
    }
    let direction = match form.direction.trim() {
        "" | "higher_is_worse" => Direction::HigherIsWorse,
        "higher_is_better" => Direction::HigherIsBetter,
        _ => {
            errors.push(FieldError::new("direction", "Choose whether higher scores are worse or better."));
            Direction::HigherIsWorse
        }
    };
    let mut bands = Vec::new();
    for (n, line) in lines(&form.bands) {
        match band_line(line) {
            Some(band) => bands.push(band),
            None => errors.push(FieldError::new(
                "bands",
                format!(
                    "Severity bands, line {n}: write the lowest and highest score, then the label, e.g. 0-4 Minimal."
                ),
            )),
        }
    }
    let mut risk_items = Vec::new();
    for (n, line) in lines(&form.risk_items) {
        match risk_line(line) {
            Some(risk) => risk_items.push(risk),
            None => errors.push(FieldError::new(
                "risk_items",
                format!(
                    "Risk items, line {n}: write the item number, >= and the answer that raises the flag, then the \
                     message, e.g. 9 >= 1 Review risk with the client."
                ),
            )),
        }
    }
    let max_prorated = match form.max_prorated.trim() {
        "" => 0,
        text => match text.parse::<u32>() {
            Ok(n) if n <= 100 => n,
            _ => {
                errors.push(FieldError::new("max_prorated", "Unanswered items: enter a whole number, 0 or more."));
                0
            }
        },
    };
    errors.into_result()?;
    let licence = match form.licence.trim() {
        "" => default_licence(author),
        text => text.to_owned(),
    };
    Ok(InstrumentDefinition {
        id: slug(&form.short_name),
        version: 1,
        name: form.name.clone(),
        short_name: form.short_name.clone(),
        instructions: form.instructions.clone(),
        time_frame: form.time_frame.clone(),
        licence,
        references: Vec::new(),
        response_scales: vec![ResponseScale { id: SCALE.into(), options }],
        missing_items: MissingItems {
            max_prorated,
            statement: missing_statement(max_prorated, items.len()),
            source: "Chosen by the therapist who wrote the instrument.".into(),
        },
        items,
        scoring: Scoring {
            total: true,
            multiplier: 1,
            direction,
            bands,
            source: "The sum of the items' points, as the therapist who wrote the instrument set it.".into(),
        },
        subscales: Vec::new(),
        risk_items,
        change_norms: Vec::new(),
    })
}

/// The domain's field names, as the form's: a definition's problem is
/// shown next to what the therapist typed it in.
fn on_form(errors: FieldErrors) -> FieldErrors {
    FieldErrors(
        errors
            .0
            .into_iter()
            .map(|e| {
                let field = match e.field {
                    "id" | "short_name" => "short_name",
                    "response_scales" | "options" => "options",
                    "scoring.bands" | "bands" => "bands",
                    "missing_items" | "max_prorated" => "max_prorated",
                    "scoring.source" | "references" | "licence" => "licence",
                    "name" | "instructions" | "time_frame" | "items" | "direction" | "risk_items" => e.field,
                    // Parts the form does not write (subscales, norms, the
                    // multiplier): shown above the form.
                    _ => "version",
                };
                let message = e.message.replace("Response scale 1: ", "").replace(" of response scale 1", "");
                let mut chars = message.chars();
                let message = match chars.next() {
                    Some(first) => first.to_uppercase().chain(chars).collect(),
                    None => message,
                };
                FieldError { field, message }
            })
            .collect(),
    )
}

/// Whether the form can show everything of a definition (one made through
/// the API may have subscales, several scales, norms, a multiplier).
fn fits_form(d: &InstrumentDefinition) -> bool {
    d.response_scales.len() == 1
        && d.items.iter().all(|i| i.scale == d.response_scales[0].id)
        && d.scoring.total
        && d.scoring.multiplier == 1
        && d.subscales.is_empty()
        && d.change_norms.is_empty()
        && d.references.is_empty()
}

/// The form a saved definition is edited in.
fn form_of(d: &InstrumentDefinition, version: i64) -> InstrumentForm {
    let join = |lines: Vec<String>| lines.join("\n");
    InstrumentForm {
        name: d.name.clone(),
        short_name: d.short_name.clone(),
        instructions: d.instructions.clone(),
        time_frame: d.time_frame.clone(),
        options: join(
            d.response_scales
                .first()
                .map(|s| s.options.iter().map(|o| format!("{} = {}", o.value, o.label).trim_end().to_owned()).collect())
                .unwrap_or_default(),
        ),
        items: join(d.items.iter().map(|i| i.text.clone()).collect()),
        direction: match d.scoring.direction {
            Direction::HigherIsWorse => "higher_is_worse",
            Direction::HigherIsBetter => "higher_is_better",
        }
        .into(),
        bands: join(d.scoring.bands.iter().map(|b| format!("{}-{} {}", b.min, b.max, b.label)).collect()),
        risk_items: join(d.risk_items.iter().map(|r| format!("{} >= {} {}", r.item, r.threshold, r.message)).collect()),
        max_prorated: d.missing_items.max_prorated.to_string(),
        licence: d.licence.clone(),
        version,
    }
}

/// How a saved instrument is scored, for its page.
pub struct Preview {
    key: String,
    version: u32,
    items: usize,
    options: String,
    range: String,
    direction: &'static str,
    bands: Vec<(String, String)>,
    missing: String,
    risks: Vec<String>,
}

fn preview(key: String, instrument: &Instrument) -> Preview {
    let d = instrument.definition();
    let (lo, hi) = instrument.range(TOTAL).unwrap_or_default();
    Preview {
        key,
        version: d.version,
        items: d.items.len(),
        options: d
            .response_scales
            .iter()
            .flat_map(|s| &s.options)
            .map(|o| if o.label.is_empty() { o.value.to_string() } else { format!("{} {}", o.value, o.label) })
            .collect::<Vec<_>>()
            .join(" · "),
        range: format!("{lo}–{hi}"),
        direction: match d.scoring.direction {
            Direction::HigherIsWorse => "Higher scores are worse.",
            Direction::HigherIsBetter => "Higher scores are better.",
        },
        bands: d.scoring.bands.iter().map(|b| (format!("{}–{}", b.min, b.max), b.label.clone())).collect(),
        missing: d.missing_items.statement.clone(),
        risks: d
            .risk_items
            .iter()
            .map(|r| format!("Item {} answered {} or more: {}", r.item, r.threshold, r.message))
            .collect(),
    }
}

/// An instrument in the list.
pub struct InstrumentRow {
    href: Option<String>,
    short_name: String,
    name: String,
    items: usize,
    range: String,
    detail: String,
}

fn row(href: Option<String>, instrument: &Instrument, detail: String) -> InstrumentRow {
    let d = instrument.definition();
    let range =
        instrument.range(TOTAL).map(|(lo, hi)| format!("total {lo}–{hi}")).unwrap_or_else(|| "subscales".into());
    InstrumentRow { href, short_name: d.short_name.clone(), name: d.name.clone(), items: d.items.len(), range, detail }
}

#[derive(Template)]
#[template(path = "instruments.html")]
struct ListPage {
    layout: Layout,
    custom: Vec<InstrumentRow>,
    shipped: Vec<InstrumentRow>,
}

pub async fn list(State(state): State<WebState>, t: Therapist) -> Result<Response, WebError> {
    let custom = state.app.custom_instruments(&t.account, &t.ctx).await?;
    let page = ListPage {
        custom: custom
            .iter()
            .map(|c| {
                let detail = format!("version {}, changed {}", c.instrument.definition().version, when(c.updated_at));
                row(Some(format!("/instruments/{}", c.id)), &c.instrument, detail)
            })
            .collect(),
        shipped: state.app.shipped_instruments()?.iter().map(|c| row(None, &c.instrument, String::new())).collect(),
        layout: t.layout,
    };
    Ok(html(StatusCode::OK, page))
}

#[derive(Template)]
#[template(path = "instrument_form.html")]
struct FormPage {
    layout: Layout,
    id: Option<String>,
    form: InstrumentForm,
    /// False for an instrument the form cannot show (made through the API).
    editable: bool,
    preview: Option<Preview>,
    notice: bool,
    errors: Errors,
}

pub async fn new_form(t: Therapist) -> Response {
    let form = InstrumentForm {
        options: "0 = Not at all\n1 = Several days\n2 = More than half the days\n3 = Nearly every day".into(),
        direction: "higher_is_worse".into(),
        max_prorated: "0".into(),
        licence: default_licence(&t.account.full_name),
        ..InstrumentForm::default()
    };
    let page = FormPage {
        layout: t.layout,
        id: None,
        form,
        editable: true,
        preview: None,
        notice: false,
        errors: FieldErrors::default().into(),
    };
    html(StatusCode::OK, page)
}

pub async fn create(
    State(state): State<WebState>,
    t: Therapist,
    Form(form): Form<InstrumentForm>,
) -> Result<Response, WebError> {
    let result = match definition_of(&form, &t.account.full_name) {
        Ok(definition) => state.app.create_instrument(&t.account, definition, &t.ctx).await,
        Err(errors) => Err(AppError::Invalid(errors)),
    };
    saved(result, t, None, form)
}

fn saved(
    result: Result<InstrumentId, AppError>,
    t: Therapist,
    id: Option<String>,
    form: InstrumentForm,
) -> Result<Response, WebError> {
    let rejected = |status, errors: FieldErrors| {
        let page = FormPage {
            layout: t.layout,
            id,
            form,
            editable: true,
            preview: None,
            notice: false,
            errors: errors.into(),
        };
        Ok(html(status, page))
    };
    match result {
        Ok(id) => Ok(Redirect::to(&format!("/instruments/{id}?notice=saved")).into_response()),
        Err(AppError::Invalid(errors)) => rejected(StatusCode::UNPROCESSABLE_ENTITY, on_form(errors)),
        Err(AppError::Conflict) => rejected(
            StatusCode::CONFLICT,
            FieldError::new("version", "Changed elsewhere since you opened it: copy your text, then reload.").into(),
        ),
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize, Default)]
pub struct NoticeParams {
    #[serde(default)]
    notice: String,
}

pub async fn edit_form(
    State(state): State<WebState>,
    t: Therapist,
    Path(id): Path<String>,
    Query(params): Query<NoticeParams>,
) -> Result<Response, WebError> {
    let id: InstrumentId = id_or_404(&id)?;
    let custom = state.app.custom_instrument(&t.account, id, &t.ctx).await?;
    let d = custom.instrument.definition();
    let page = FormPage {
        layout: t.layout,
        id: Some(id.to_string()),
        form: form_of(d, custom.version),
        editable: fits_form(d),
        preview: Some(preview(custom_key(id), &custom.instrument)),
        notice: params.notice == "saved",
        errors: FieldErrors::default().into(),
    };
    Ok(html(StatusCode::OK, page))
}

pub async fn save(
    State(state): State<WebState>,
    t: Therapist,
    Path(id): Path<String>,
    Form(form): Form<InstrumentForm>,
) -> Result<Response, WebError> {
    let id: InstrumentId = id_or_404(&id)?;
    let result = match definition_of(&form, &t.account.full_name) {
        Ok(definition) => {
            state.app.update_instrument(&t.account, id, form.version, definition, &t.ctx).await.map(|_| id)
        }
        Err(errors) => Err(AppError::Invalid(errors)),
    };
    saved(result, t, Some(id.to_string()), form)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> InstrumentForm {
        InstrumentForm {
            name: "Evening Worry Check".into(),
            short_name: "EWC-4".into(),
            instructions: "How often this week?".into(),
            options: "0 = Never\n1 =\n2 = Often\n3 = Always".into(),
            items: "Worried at night\n\nCould not stop\nChecked things\nAvoided the news".into(),
            bands: "0-5 Low\n6–12 High".into(),
            risk_items: "2 >= 3 Talk about it".into(),
            ..InstrumentForm::default()
        }
    }

    #[test]
    fn lines_are_read_into_a_definition_that_validates() {
        let d = definition_of(&form(), "Dr Test").unwrap();
        assert_eq!((d.id.as_str(), d.version, d.items.len()), ("ewc-4", 1, 4));
        assert_eq!(d.items[1].text, "Could not stop", "blank lines are skipped");
        assert_eq!(d.response_scales[0].options[1].label, "");
        assert_eq!(d.scoring.bands[1], Band { min: 6, max: 12, label: "High".into() });
        assert_eq!(d.risk_items[0], RiskItem { item: 2, threshold: 3, message: "Talk about it".into() });
        assert_eq!(d.licence, "Written by Dr Test for their own practice");
        let instrument = Instrument::new(d.clone()).unwrap();
        assert_eq!(instrument.range(TOTAL), Some((0, 12)));
        let back = form_of(&d, 1);
        assert_eq!(definition_of(&back, "Dr Test").unwrap(), d, "the edit form reads back the same");
    }

    #[test]
    fn each_bad_line_is_named_by_field_and_line() {
        let mut f = form();
        f.options = "0 = Never\nsometimes\n3 = Always".into();
        f.bands = "0-5 Low\nhigh".into();
        f.risk_items = "two >= 3 x".into();
        f.max_prorated = "a few".into();
        let errors = definition_of(&f, "Dr Test").unwrap_err();
        let named: Vec<(&str, bool)> = errors.0.iter().map(|e| (e.field, e.message.contains("line"))).collect();
        assert_eq!(
            named,
            [("options", true), ("bands", true), ("risk_items", true), ("max_prorated", false)],
            "{errors:?}"
        );
        assert!(errors.0[0].message.contains("line 2"), "{errors:?}");
    }

    #[test]
    fn domain_errors_land_on_the_form_fields() {
        let mut f = form();
        f.bands = "1-5 Low\n6-12 High".into();
        f.max_prorated = "3".into();
        let d = definition_of(&f, "Dr Test").unwrap();
        let errors = on_form(Instrument::new(d).unwrap_err());
        let fields: Vec<&str> = errors.0.iter().map(|e| e.field).collect();
        assert!(fields.contains(&"bands") && fields.contains(&"max_prorated"), "{errors:?}");
        assert!(slug("ÄÖ").len() >= 2 && slug("PHQ 9 (mine)") == "phq-9-mine");
    }
}
