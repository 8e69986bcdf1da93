//! Assessment pages: recording a result in session (choose an instrument,
//! answer its items), a result with its score, bands, change figures,
//! chart and risk flags (and their acknowledgement), a client's
//! assessments (all results, charts, questionnaires sent and sending one),
//! and the client's own questionnaire page behind a self-report link.

use std::collections::HashMap;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use cbt_app::AppError;
use cbt_app::assessments::{AssessmentEntry, InstrumentChoice};
use cbt_app::client_links::{Answers, Delivery, LinkPage, LinkSummary, Submission, Task};
use cbt_diagrams::{ScoreBand, ScoreSeries};
use cbt_domain::assessment::{Direction, IndexedResult, Instrument, RiskState, TOTAL};
use cbt_domain::client_link::DEFAULT_CRISIS_TEXT;
use cbt_domain::ids::{ClientId, ClientLinkId, RecordId};
use cbt_domain::validation::{FieldError, FieldErrors};
use serde::Deserialize;
use time::Date;

use crate::account_pages::{Errors, html};
use crate::auth::Ctx;
use crate::csrf::CsrfToken;
use crate::error::id_or_404;
use crate::pages::{ISO_DATE, Layout, date_text, when};
use crate::record_pages::Therapist;
use crate::{WebError, WebState};

/// One answer option of an item, as a radio button.
pub struct OptionView {
    pub id: String,
    pub value: String,
    pub label: String,
    pub checked: bool,
}

/// One item of a questionnaire form.
pub struct ItemView {
    pub number: u32,
    pub text: String,
    pub name: String,
    pub options: Vec<OptionView>,
}

/// The items of `instrument` with what was answered (as typed).
fn item_views(instrument: &Instrument, typed: &HashMap<u32, String>) -> Vec<ItemView> {
    let d = instrument.definition();
    d.items
        .iter()
        .map(|item| {
            let scale = d.response_scales.iter().find(|s| s.id == item.scale);
            let chosen = typed.get(&item.number).map(String::as_str).unwrap_or_default();
            let options = scale
                .map(|s| {
                    s.options
                        .iter()
                        .map(|o| OptionView {
                            id: format!("item-{}-{}", item.number, o.value),
                            value: o.value.to_string(),
                            label: if o.label.is_empty() { o.value.to_string() } else { o.label.clone() },
                            checked: chosen == o.value.to_string(),
                        })
                        .collect()
                })
                .unwrap_or_default();
            ItemView { number: item.number, text: item.text.clone(), name: format!("item.{}", item.number), options }
        })
        .collect()
}

/// The answers of a form post (`item.N`), in item order: an empty value is
/// unanswered, anything else must be a whole number (the engine checks it
/// is one of the options). Also what was typed, to show back.
fn read_answers(
    instrument: &Instrument,
    pairs: &[(String, String)],
) -> (Vec<Option<u32>>, HashMap<u32, String>, FieldErrors) {
    let mut typed = HashMap::new();
    for (k, v) in pairs {
        if let Some(n) = k.strip_prefix("item.").and_then(|n| n.parse::<u32>().ok()) {
            typed.insert(n, v.trim().to_owned());
        }
    }
    let mut errors = FieldErrors::default();
    let answers = instrument
        .definition()
        .items
        .iter()
        .map(|item| match typed.get(&item.number).map(String::as_str) {
            None | Some("") => None,
            Some(v) => match v.parse::<u32>() {
                Ok(n) => Some(n),
                Err(_) => {
                    let message = format!("Item {}: choose one of the answers offered.", item.number);
                    errors.push(FieldError::new("answers", message));
                    None
                }
            },
        })
        .collect();
    (answers, typed, errors)
}

fn value_of<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    pairs.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
}

#[derive(Template)]
#[template(path = "assessment_form.html")]
struct FormPage {
    layout: Layout,
    client_id: String,
    /// Without one chosen: the list to choose from.
    choices: Vec<(String, String, String)>,
    instrument: Option<InstrumentInfo>,
    items: Vec<ItemView>,
    taken_on: String,
    comment: String,
    errors: Errors,
}

/// What a form says about its instrument.
struct InstrumentInfo {
    key: String,
    name: String,
    short_name: String,
    instructions: String,
    time_frame: String,
    missing_rule: String,
    licence: String,
}

impl InstrumentInfo {
    fn of(key: &str, instrument: &Instrument) -> Self {
        let d = instrument.definition();
        Self {
            key: key.to_owned(),
            name: d.name.clone(),
            short_name: d.short_name.clone(),
            instructions: d.instructions.clone(),
            // Not said twice when the instructions already say it (PHQ-9).
            time_frame: if d.instructions.to_lowercase().contains(&d.time_frame.to_lowercase()) {
                String::new()
            } else {
                d.time_frame.clone()
            },
            missing_rule: d.missing_items.statement.clone(),
            licence: d.licence.clone(),
        }
    }
}

#[derive(Deserialize, Default)]
pub struct ChooseParams {
    #[serde(default)]
    instrument: String,
}

fn today() -> Date {
    time::OffsetDateTime::now_utc().date()
}

async fn choices(state: &WebState, t: &Therapist) -> Result<Vec<InstrumentChoice>, WebError> {
    Ok(state.app.instruments(&t.account, &t.ctx).await?)
}

pub async fn new_form(
    State(state): State<WebState>,
    t: Therapist,
    Path(client): Path<String>,
    Query(params): Query<ChooseParams>,
) -> Result<Response, WebError> {
    let client: ClientId = id_or_404(&client)?;
    state.app.check_client(&t.account, client).await?;
    let all = choices(&state, &t).await?;
    let chosen = all.iter().find(|c| c.key == params.instrument);
    let page = FormPage {
        layout: t.layout,
        client_id: client.to_string(),
        choices: all
            .iter()
            .map(|c| {
                let d = c.instrument.definition();
                (c.key.clone(), d.short_name.clone(), d.name.clone())
            })
            .collect(),
        instrument: chosen.map(|c| InstrumentInfo::of(&c.key, &c.instrument)),
        items: chosen.map(|c| item_views(&c.instrument, &HashMap::new())).unwrap_or_default(),
        taken_on: date_text(Some(today())),
        comment: String::new(),
        errors: FieldErrors::default().into(),
    };
    Ok(html(StatusCode::OK, page))
}

pub async fn create(
    State(state): State<WebState>,
    t: Therapist,
    Path(client): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let client: ClientId = id_or_404(&client)?;
    state.app.check_client(&t.account, client).await?;
    let all = choices(&state, &t).await?;
    let key = value_of(&pairs, "instrument");
    let Some(chosen) = all.iter().find(|c| c.key == key) else {
        return Ok(Redirect::to(&format!("/clients/{client}/assessments/new")).into_response());
    };
    let (answers, typed, mut errors) = read_answers(&chosen.instrument, &pairs);
    let taken_text = value_of(&pairs, "taken_on").trim().to_owned();
    let taken_on = match Date::parse(&taken_text, ISO_DATE) {
        Ok(d) => Some(d),
        Err(_) => {
            errors.push(FieldError::new("taken_on", "Enter the date as YYYY-MM-DD."));
            None
        }
    };
    let comment = value_of(&pairs, "comment").to_owned();
    let result = match (taken_on, errors.is_empty()) {
        (Some(taken_on), true) => {
            let entry = AssessmentEntry { instrument: chosen.key.clone(), taken_on, answers, comment: comment.clone() };
            state.app.record_assessment(&t.account, client, entry, &t.ctx).await
        }
        _ => Err(AppError::Invalid(errors)),
    };
    match result {
        Ok(id) => Ok(Redirect::to(&format!("/assessments/{id}?notice=saved")).into_response()),
        Err(AppError::Invalid(errors)) => {
            let page = FormPage {
                layout: t.layout,
                client_id: client.to_string(),
                choices: Vec::new(),
                instrument: Some(InstrumentInfo::of(&chosen.key, &chosen.instrument)),
                items: item_views(&chosen.instrument, &typed),
                taken_on: taken_text,
                comment,
                errors: errors.into(),
            };
            Ok(html(StatusCode::UNPROCESSABLE_ENTITY, page))
        }
        Err(e) => Err(e.into()),
    }
}

/// One scale of a result, as the page lists it.
pub struct ScaleRow {
    pub name: String,
    pub points: String,
    pub range: String,
    pub band: String,
    pub note: String,
}

/// One change figure.
pub struct ChangeRow {
    pub against: String,
    pub scale: String,
    pub text: String,
    pub significant: bool,
}

#[derive(Template)]
#[template(path = "assessment.html")]
struct ResultPage {
    layout: Layout,
    id: String,
    client_id: String,
    title: String,
    taken_on: String,
    respondent: &'static str,
    scales: Vec<ScaleRow>,
    missing_rule: String,
    changes: Vec<ChangeRow>,
    open_flags: Vec<String>,
    acknowledged: Option<String>,
    answers: Vec<(u32, String, String)>,
    comment: String,
    charts: Vec<Chart>,
    licence: String,
    notice: Option<&'static str>,
}

#[derive(Deserialize, Default)]
pub struct NoticeParams {
    #[serde(default)]
    notice: String,
}

fn scale_name(instrument: &Instrument, scale: &str) -> String {
    if scale == TOTAL {
        return "Total".into();
    }
    instrument
        .definition()
        .subscales
        .iter()
        .find(|s| s.id == scale)
        .map_or_else(|| scale.to_owned(), |s| s.name.clone())
}

pub async fn show(
    State(state): State<WebState>,
    t: Therapist,
    Path(id): Path<String>,
    Query(params): Query<NoticeParams>,
) -> Result<Response, WebError> {
    let id: RecordId = id_or_404(&id)?;
    let view = state.app.assessment(&t.account, id, &t.ctx).await?;
    let result = view.result.content.expose();
    let instrument = &view.instrument;
    let d = instrument.definition();
    let score = result.score.as_ref();
    let scales = score
        .map(|s| {
            s.scales()
                .map(|scale| ScaleRow {
                    name: scale.name.clone(),
                    points: scale.points.map_or_else(|| "Not scored".to_owned(), |p| p.to_string()),
                    range: format!("{}–{}", scale.min, scale.max),
                    band: scale.band.as_ref().map(|b| b.label.clone()).unwrap_or_default(),
                    note: match (scale.points, scale.prorated, scale.missing) {
                        (None, _, missing) => format!("{missing} items unanswered: too many to score"),
                        (Some(_), true, missing) => format!("prorated: {missing} items unanswered"),
                        _ => String::new(),
                    },
                })
                .collect()
        })
        .unwrap_or_default();
    // Change against the result before this one and against the first.
    let position = view.series.iter().position(|r| r.id == id);
    let mut changes = Vec::new();
    if let (Some(score), Some(i)) = (score, position) {
        let mut against: Vec<(&str, &IndexedResult)> = Vec::new();
        if i > 0 {
            against.push(("the previous result", &view.series[i - 1]));
        }
        if i > 1 {
            against.push(("the first result", &view.series[0]));
        }
        for (label, earlier) in against {
            for norms in &d.change_norms {
                let (Some(before), Some(after)) =
                    (earlier.points_of(&norms.scale), score.scale(&norms.scale).and_then(|s| s.points))
                else {
                    continue;
                };
                let Some(change) = instrument.change(&norms.scale, before, after) else { continue };
                changes.push(ChangeRow {
                    against: format!("Since {label} ({})", date_text(Some(earlier.taken_on))),
                    scale: scale_name(instrument, &norms.scale),
                    text: format!(
                        "{before} → {after}: {} (RCI {:.2}; {} points or more is reliable){}",
                        change.reliable_change.label(),
                        change.rci,
                        change.reliable_change_points,
                        if change.clinically_significant { "; clinically significant" } else { "" }
                    ),
                    significant: change.clinically_significant,
                });
            }
        }
    }
    let open_flags = if result.open_flags() {
        score.map(|s| s.risk_flags.iter().map(|f| f.message.clone()).collect()).unwrap_or_default()
    } else {
        Vec::new()
    };
    let acknowledged = result.acknowledged.as_ref().filter(|_| open_flags.is_empty()).map(|a| when(a.at));
    let answers = d
        .items
        .iter()
        .zip(&result.answers)
        .map(|(item, answer)| {
            let text = match answer {
                None => "Not answered".to_owned(),
                Some(v) => {
                    let label = d
                        .response_scales
                        .iter()
                        .find(|s| s.id == item.scale)
                        .and_then(|s| s.options.iter().find(|o| o.value == *v))
                        .map(|o| o.label.clone())
                        .filter(|l| !l.is_empty());
                    match label {
                        Some(l) => format!("{l} ({v})"),
                        None => v.to_string(),
                    }
                }
            };
            (item.number, item.text.clone(), text)
        })
        .collect();
    let page = ResultPage {
        layout: t.layout,
        id: id.to_string(),
        client_id: view.result.client.to_string(),
        title: cbt_domain::record::ClinicalRecord::title(result),
        taken_on: date_text(Some(result.taken_on)),
        respondent: result.respondent.label(),
        scales,
        missing_rule: d.missing_items.statement.clone(),
        changes,
        open_flags,
        acknowledged,
        answers,
        comment: result.comment.clone(),
        charts: charts(&view.series, &[(result.instrument.clone(), instrument.clone())], "cbt-result"),
        licence: d.licence.clone(),
        notice: match params.notice.as_str() {
            "saved" => Some("Result saved and scored."),
            "acknowledged" => Some("Risk flag acknowledged. It is recorded in the audit log."),
            _ => None,
        },
    };
    Ok(html(StatusCode::OK, page))
}

pub async fn acknowledge(
    State(state): State<WebState>,
    t: Therapist,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id: RecordId = id_or_404(&id)?;
    state.app.acknowledge_risk(&t.account, id, &t.ctx).await?;
    Ok(Redirect::to(&format!("/assessments/{id}?notice=acknowledged")).into_response())
}

/// A score chart with its text alternative (a table of the points).
pub struct Chart {
    pub title: String,
    pub svg: String,
    pub rows: Vec<(String, String, String)>,
}

/// The charts of `results` (oldest first), one per instrument and scored
/// scale: the total, or each subscale of an instrument without one
/// (DASS-21). `instruments` pairs keys with definitions.
pub fn charts(results: &[IndexedResult], instruments: &[(String, Instrument)], id_prefix: &str) -> Vec<Chart> {
    let mut out = Vec::new();
    for (key, instrument) in instruments {
        let mine: Vec<&IndexedResult> = results.iter().filter(|r| &r.instrument == key).collect();
        if mine.is_empty() {
            continue;
        }
        let d = instrument.definition();
        let scales: Vec<(String, String)> = if d.scoring.total {
            vec![(TOTAL.to_owned(), d.short_name.clone())]
        } else {
            d.subscales.iter().map(|s| (s.id.clone(), format!("{} {}", d.short_name, s.name))).collect()
        };
        for (scale, name) in scales {
            let Some((min, max)) = instrument.range(&scale) else { continue };
            let bands_of = if scale == TOTAL {
                &d.scoring.bands
            } else {
                d.subscales.iter().find(|s| s.id == scale).map(|s| &s.bands).unwrap_or(&d.scoring.bands)
            };
            let bands: Vec<ScoreBand<'_>> =
                bands_of.iter().map(|b| ScoreBand { min: b.min, max: b.max, label: &b.label }).collect();
            let points: Vec<(Date, u32)> =
                mine.iter().filter_map(|r| r.points_of(&scale).map(|p| (r.taken_on, p))).collect();
            let series = ScoreSeries {
                name: &name,
                min,
                max,
                bands: &bands,
                higher_is_worse: d.scoring.direction == Direction::HigherIsWorse,
                cutoff: instrument.norms(&scale).map(|n| n.clinical_cutoff),
                points: &points,
            };
            let prefix = format!("{id_prefix}-{}-{scale}", out.len());
            let rows = points
                .iter()
                .map(|(date, p)| {
                    let band = instrument.band(&scale, *p).map(|b| b.label.clone()).unwrap_or_default();
                    (date_text(Some(*date)), p.to_string(), band)
                })
                .collect();
            out.push(Chart {
                title: name.clone(),
                svg: cbt_diagrams::score_chart_with_id_prefix(&series, &prefix),
                rows,
            });
        }
    }
    out
}

/// The instruments `results` name, with their definitions: shipped ones
/// from the library, custom ones from the therapist's list (asked for only
/// when a result names one).
pub async fn instruments_of(
    state: &WebState,
    account: &cbt_domain::account::Account,
    ctx: &cbt_domain::audit::RequestContext,
    results: &[IndexedResult],
) -> Result<Vec<(String, Instrument)>, WebError> {
    let custom = results.iter().any(|r| r.instrument.starts_with("custom:"));
    let all = if custom { state.app.instruments(account, ctx).await? } else { state.app.shipped_instruments()? };
    Ok(all
        .into_iter()
        .filter(|c| results.iter().any(|r| r.instrument == c.key))
        .map(|c| (c.key, c.instrument))
        .collect())
}

/// One result in a list.
#[derive(Clone)]
pub struct ResultRow {
    pub href: String,
    pub title: String,
    pub date: String,
    pub flagged: bool,
}

/// The rows of `results` (oldest first), newest first.
pub fn result_rows(results: &[IndexedResult], instruments: &[(String, Instrument)]) -> Vec<ResultRow> {
    results
        .iter()
        .rev()
        .map(|r| {
            let instrument = instruments.iter().find(|(k, _)| k == &r.instrument).map(|(_, i)| i);
            let name = instrument.map_or_else(|| r.instrument.clone(), |i| i.definition().short_name.clone());
            let scored: Vec<String> = r
                .points
                .iter()
                .map(|p| {
                    let points = p.points.map_or_else(|| "not scored".to_owned(), |v| v.to_string());
                    let band = p.band.as_ref().map(|b| format!(" ({b})")).unwrap_or_default();
                    match instrument {
                        Some(i) if p.scale != TOTAL => format!("{} {points}{band}", scale_name(i, &p.scale)),
                        _ => format!("{points}{band}"),
                    }
                })
                .collect();
            ResultRow {
                href: format!("/assessments/{}", r.id),
                title: format!("{name}: {}", scored.join(", ")),
                date: date_text(Some(r.taken_on)),
                flagged: r.risk == RiskState::Open,
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "client_assessments.html")]
struct ClientAssessmentsPage {
    layout: Layout,
    client_id: String,
    name: String,
    has_email: bool,
    charts: Vec<Chart>,
    results: Vec<ResultRow>,
    links: Vec<LinkRow>,
    schedules: Vec<ScheduleRow>,
    instruments: Vec<(String, String)>,
    every_days: String,
    first_on: String,
    errors: Errors,
    notice: Option<&'static str>,
}

pub struct ScheduleRow {
    pub id: String,
    pub instrument: String,
    pub every_days: i32,
    pub next: String,
    pub running: bool,
}

pub struct LinkRow {
    pub id: String,
    pub instrument: String,
    pub sent: String,
    pub expires: String,
    pub state: &'static str,
    pub opened: String,
    pub revocable: bool,
    pub result: Option<String>,
}

impl From<&LinkSummary> for LinkRow {
    fn from(l: &LinkSummary) -> Self {
        Self {
            id: l.id.to_string(),
            instrument: l.instrument.clone(),
            sent: when(l.created_at),
            expires: when(l.expires_at),
            state: l.state.label(),
            opened: l.opened_at.map(when).unwrap_or_default(),
            revocable: l.state == cbt_domain::client_link::LinkState::Usable,
            result: l.result.map(|r| format!("/assessments/{r}")),
        }
    }
}

async fn client_assessments_page(
    state: &WebState,
    t: Therapist,
    client: ClientId,
    form: ScheduleForm,
    errors: FieldErrors,
    notice: Option<&'static str>,
) -> Result<Response, WebError> {
    let dashboard = state.app.client_dashboard(&t.account, client, &t.ctx).await?;
    let instruments = instruments_of(state, &t.account, &t.ctx, &dashboard.results).await?;
    let links = state.app.client_links(&t.account, client, &t.ctx).await?;
    let schedules = state.app.schedules(&t.account, client, &t.ctx).await?;
    let all = choices(state, &t).await?;
    let short_name = |key: &str| {
        all.iter()
            .find(|c| c.key == key)
            .map_or_else(|| key.to_owned(), |c| c.instrument.definition().short_name.clone())
    };
    let details = dashboard.client.details.expose();
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = ClientAssessmentsPage {
        client_id: client.to_string(),
        name: details.display_name().to_owned(),
        has_email: !details.email.trim().is_empty(),
        charts: charts(&dashboard.results, &instruments, "cbt-scores"),
        results: result_rows(&dashboard.results, &instruments),
        links: links.iter().map(LinkRow::from).collect(),
        schedules: schedules
            .iter()
            .map(|s| ScheduleRow {
                id: s.id.to_string(),
                instrument: short_name(&s.instrument),
                every_days: s.every_days,
                next: if s.stopped_at.is_some() { "Stopped".into() } else { when(s.next_due_at) },
                running: s.stopped_at.is_none(),
            })
            .collect(),
        every_days: form.every_days,
        first_on: if form.first_on.is_empty() { date_text(Some(today())) } else { form.first_on },
        instruments: all.iter().map(|c| (c.key.clone(), c.instrument.definition().short_name.clone())).collect(),
        errors: errors.into(),
        notice,
        layout: t.layout,
    };
    Ok(html(status, page))
}

pub async fn client_assessments(
    State(state): State<WebState>,
    t: Therapist,
    Path(client): Path<String>,
    Query(params): Query<NoticeParams>,
) -> Result<Response, WebError> {
    let client: ClientId = id_or_404(&client)?;
    let notice = match params.notice.as_str() {
        "sent" => Some("Questionnaire sent by email. The link works once."),
        "revoked" => Some("Link revoked: it no longer works."),
        "scheduled" => Some("Recurring questionnaire set up: each one is emailed when due."),
        "stopped" => Some("Recurring questionnaire stopped. Links already sent still work until used or expired."),
        _ => None,
    };
    client_assessments_page(&state, t, client, ScheduleForm::default(), FieldErrors::default(), notice).await
}

#[derive(Template)]
#[template(path = "link_sent.html")]
struct LinkSentPage {
    layout: Layout,
    client_id: String,
    url: String,
    expires: String,
}

/// Sending a questionnaire (or, without `instrument`, homework) to a client.
#[derive(Deserialize, Default)]
pub struct SendForm {
    #[serde(default)]
    instrument: String,
    #[serde(default)]
    delivery: String,
}

/// The answer to a link just made: back to `back` with a notice when it
/// was emailed; else the page that shows the link, this once.
fn link_sent(layout: Layout, client: ClientId, sent: &cbt_app::client_links::SentLink, back: &str) -> Response {
    if sent.emailed {
        return Redirect::to(&format!("{back}?notice=sent")).into_response();
    }
    let page = LinkSentPage {
        layout,
        client_id: client.to_string(),
        url: sent.url.expose().clone(),
        expires: when(sent.expires_at),
    };
    html(StatusCode::OK, page)
}

pub async fn send_link(
    State(state): State<WebState>,
    t: Therapist,
    Path(client): Path<String>,
    Form(form): Form<SendForm>,
) -> Result<Response, WebError> {
    let client: ClientId = id_or_404(&client)?;
    let delivery = if form.delivery == "copy" { Delivery::Copy } else { Delivery::Email };
    match state.app.send_client_link(&t.account, client, &form.instrument, delivery, &t.ctx).await {
        Ok(sent) => Ok(link_sent(t.layout, client, &sent, &format!("/clients/{client}/assessments"))),
        Err(AppError::Invalid(errors)) => {
            client_assessments_page(&state, t, client, ScheduleForm::default(), errors, None).await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn revoke_link(
    State(state): State<WebState>,
    t: Therapist,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id: ClientLinkId = id_or_404(&id)?;
    match state.app.revoke_client_link(&t.account, id, &t.ctx).await {
        Ok(client) => Ok(Redirect::to(&format!("/clients/{client}/assessments?notice=revoked")).into_response()),
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct ScheduleForm {
    #[serde(default)]
    instrument: String,
    #[serde(default = "default_every_days")]
    every_days: String,
    #[serde(default)]
    first_on: String,
}

fn default_every_days() -> String {
    "14".into()
}

impl Default for ScheduleForm {
    fn default() -> Self {
        Self { instrument: String::new(), every_days: default_every_days(), first_on: String::new() }
    }
}

pub async fn create_schedule(
    State(state): State<WebState>,
    t: Therapist,
    Path(client): Path<String>,
    Form(form): Form<ScheduleForm>,
) -> Result<Response, WebError> {
    let client: ClientId = id_or_404(&client)?;
    state.app.check_client(&t.account, client).await?;
    let mut errors = FieldErrors::default();
    let every =
        form.every_days.trim().parse::<i32>().map_err(|_| FieldError::new("every_days", "Enter a number of days."));
    let every = errors.take(every);
    let first = Date::parse(form.first_on.trim(), ISO_DATE)
        .map_err(|_| FieldError::new("first_on", "Enter the date as YYYY-MM-DD."));
    let first = errors.take(first);
    let result = match (every, first) {
        (Some(every), Some(first)) if errors.is_empty() => {
            state.app.create_schedule(&t.account, client, &form.instrument, every, first, &t.ctx).await.map(drop)
        }
        _ => Err(AppError::Invalid(errors)),
    };
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/clients/{client}/assessments?notice=scheduled")).into_response()),
        Err(AppError::Invalid(errors)) => client_assessments_page(&state, t, client, form, errors, None).await,
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize, Default)]
pub struct StopForm {
    #[serde(default)]
    schedule: String,
}

pub async fn stop_schedule(
    State(state): State<WebState>,
    t: Therapist,
    Path(client): Path<String>,
    Form(form): Form<StopForm>,
) -> Result<Response, WebError> {
    let client: ClientId = id_or_404(&client)?;
    let schedule: cbt_domain::ids::ScheduleId = id_or_404(&form.schedule)?;
    state.app.stop_schedule(&t.account, client, schedule, &t.ctx).await?;
    Ok(Redirect::to(&format!("/clients/{client}/assessments?notice=stopped")).into_response())
}

// The client's side: no account, no navigation, only the task.

#[derive(Template)]
#[template(path = "questionnaire.html")]
struct QuestionnairePage {
    csrf: String,
    token: String,
    practice: String,
    crisis_text: String,
    instrument: InstrumentInfo,
    items: Vec<ItemView>,
    errors: Errors,
}

/// One worksheet field on the client's homework page.
pub struct TaskField {
    pub id: String,
    pub name: String,
    pub label: String,
    /// `text`, `long_text`, `rating` or `check`.
    pub kind: &'static str,
    pub value: String,
}

#[derive(Template)]
#[template(path = "homework_task.html")]
struct HomeworkTaskPage {
    csrf: String,
    token: String,
    practice: String,
    crisis_text: String,
    title: String,
    purpose: String,
    instructions: String,
    due: String,
    fields: Vec<TaskField>,
    errors: Errors,
}

#[derive(Template)]
#[template(path = "questionnaire_closed.html")]
struct QuestionnaireClosed {
    crisis_text: &'static str,
    done: bool,
}

#[derive(Deserialize, Default)]
pub struct TokenParams {
    #[serde(default)]
    token: String,
}

/// The one answer for every link that cannot be used (unknown, altered,
/// used, revoked, expired): which it was is not said.
fn closed(done: bool) -> Response {
    let status = if done { StatusCode::OK } else { StatusCode::NOT_FOUND };
    html(status, QuestionnaireClosed { crisis_text: DEFAULT_CRISIS_TEXT, done })
}

/// A token is 43 base64url characters; anything else is not looked up.
fn plausible(token: &str) -> bool {
    token.len() == 43 && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The client's page for `page`, with what they typed and what was wrong.
fn task_page(
    csrf: String,
    token: String,
    page: LinkPage,
    typed: &HashMap<String, String>,
    errors: FieldErrors,
    status: StatusCode,
) -> Response {
    match page.task {
        Task::Questionnaire(instrument) => {
            let chosen: HashMap<u32, String> =
                typed.iter().filter_map(|(k, v)| Some((k.strip_prefix("item.")?.parse().ok()?, v.clone()))).collect();
            let key = instrument.id().to_owned();
            let page = QuestionnairePage {
                csrf,
                token,
                practice: page.practice,
                crisis_text: page.crisis_text,
                items: item_views(&instrument, &chosen),
                instrument: InstrumentInfo::of(&key, &instrument),
                errors: errors.into(),
            };
            html(status, page)
        }
        Task::Homework(homework) => {
            use cbt_domain::homework::AnswerKind;
            let fields = homework
                .worksheet
                .fields
                .iter()
                .map(|f| {
                    let name = format!("responses.{}", f.key);
                    TaskField {
                        id: format!("responses-{}", f.key),
                        value: typed.get(&name).cloned().unwrap_or_default(),
                        name,
                        label: f.label.clone(),
                        kind: match f.kind {
                            AnswerKind::Text => "text",
                            AnswerKind::LongText => "long_text",
                            AnswerKind::Rating => "rating",
                            AnswerKind::Check => "check",
                        },
                    }
                })
                .collect();
            let page = HomeworkTaskPage {
                csrf,
                token,
                practice: page.practice,
                crisis_text: page.crisis_text,
                title: homework.worksheet.title.clone(),
                purpose: homework.worksheet.purpose.clone(),
                instructions: homework.instructions.clone(),
                due: date_text(homework.due_on),
                fields,
                errors: errors.into(),
            };
            html(status, page)
        }
    }
}

/// What a client sent for `task`: item answers, or worksheet answers.
fn read_task(task: &Task, pairs: &[(String, String)]) -> Result<Answers, FieldErrors> {
    match task {
        Task::Questionnaire(instrument) => {
            let (answers, _, errors) = read_answers(instrument, pairs);
            errors.into_result().map(|()| Answers::Questionnaire(answers))
        }
        Task::Homework(homework) => {
            let mut responses = std::collections::BTreeMap::new();
            for f in &homework.worksheet.fields {
                // A tick box sends an empty hidden value and then `yes`.
                let name = format!("responses.{}", f.key);
                let value = pairs.iter().filter(|(k, _)| *k == name).map(|(_, v)| v.as_str()).max().unwrap_or("");
                responses.insert(f.key.clone(), value.to_owned());
            }
            Ok(Answers::Homework(responses))
        }
    }
}

pub async fn questionnaire(
    State(state): State<WebState>,
    Ctx(ctx): Ctx,
    csrf: axum::Extension<CsrfToken>,
    Query(params): Query<TokenParams>,
) -> Result<Response, WebError> {
    if !plausible(&params.token) {
        return Ok(closed(false));
    }
    match state.app.open_client_link(&params.token, &ctx).await {
        Ok(page) => {
            Ok(task_page(csrf.0.0.clone(), params.token, page, &HashMap::new(), FieldErrors::default(), StatusCode::OK))
        }
        Err(AppError::InvalidLink) => Ok(closed(false)),
        Err(e) => Err(e.into()),
    }
}

pub async fn submit_questionnaire(
    State(state): State<WebState>,
    Ctx(ctx): Ctx,
    csrf: axum::Extension<CsrfToken>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let token = value_of(&pairs, "token").to_owned();
    if !plausible(&token) {
        return Ok(closed(false));
    }
    match state.app.submit_client_link(&token, |task| read_task(task, &pairs), &ctx).await {
        Ok(Submission::Accepted) => Ok(closed(true)),
        Ok(Submission::Rejected(page, errors)) => {
            let typed: HashMap<String, String> =
                pairs.iter().filter(|(k, v)| k != "csrf_token" && k != "token" && !v.is_empty()).cloned().collect();
            Ok(task_page(csrf.0.0.clone(), token, *page, &typed, errors, StatusCode::UNPROCESSABLE_ENTITY))
        }
        Err(AppError::InvalidLink) => Ok(closed(false)),
        Err(e) => Err(e.into()),
    }
}

/// Sends the client a link to fill in this homework themselves.
pub async fn send_homework(
    State(state): State<WebState>,
    t: Therapist,
    Path(id): Path<String>,
    Form(form): Form<SendForm>,
) -> Result<Response, WebError> {
    let id: RecordId = id_or_404(&id)?;
    let delivery = if form.delivery == "copy" { Delivery::Copy } else { Delivery::Email };
    match state.app.send_homework_link(&t.account, id, delivery, &t.ctx).await {
        Ok((client, sent)) => Ok(link_sent(t.layout, client, &sent, &format!("/homework/{id}"))),
        Err(AppError::Invalid(errors)) => {
            let message = errors.0.first().map_or_else(String::new, |e| e.message.to_string());
            Err(WebError::invalid("delivery", &message))
        }
        Err(e) => Err(e.into()),
    }
}
