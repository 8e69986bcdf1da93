//! Assessments over the JSON API: the instruments the caller can use (and
//! their own: `/api/v1/instruments/{id}`, added and changed as whole
//! definitions), a client's results (`/api/v1/clients/{id}/assessments`: list from the
//! client's index, record one), one result with its score
//! (`/api/v1/assessments/{id}`), acknowledging its risk flags, and client
//! self-report links (send, list, revoke). Scores are always worked out by
//! the server from the answers. Another therapist's ids answer 404.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use cbt_app::assessments::{AssessmentEntry, InstrumentChoice};
use cbt_app::client_links::{Delivery, LinkSummary};
use cbt_domain::assessment::{IndexedResult, InstrumentDefinition, RiskState, custom_key};
use cbt_domain::ids::{ClientId, ClientLinkId, InstrumentId, RecordId};
use cbt_domain::record::ClinicalRecord;
use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::ToSchema;
use utoipa::openapi::path::HttpMethod::{Get, Post, Put};

use crate::api::{Page, Paging, Saved};
use crate::api_doc::{ApiRoutes, Doc, Wire};
use crate::auth::{ApiCaller, Ctx};
use crate::client_api::rfc3339;
use crate::error::id_or_404;
use crate::{WebError, WebState};

/// An answer option of an item.
#[derive(Serialize, ToSchema)]
pub struct OptionBody {
    value: u32,
    label: String,
}

#[derive(Serialize, ToSchema)]
pub struct ItemBody {
    number: u32,
    text: String,
    options: Vec<OptionBody>,
}

/// An instrument the caller can use. `key` is what results name it by.
#[derive(Serialize, ToSchema)]
pub struct InstrumentBody {
    key: String,
    version: u32,
    name: String,
    short_name: String,
    instructions: String,
    time_frame: String,
    /// What happens to unanswered items, as the manual says.
    missing_items: String,
    licence: String,
    custom: bool,
    items: Vec<ItemBody>,
}

impl From<InstrumentChoice> for InstrumentBody {
    fn from(c: InstrumentChoice) -> Self {
        let d = c.instrument.definition();
        Self {
            key: c.key.clone(),
            version: d.version,
            name: d.name.clone(),
            short_name: d.short_name.clone(),
            instructions: d.instructions.clone(),
            time_frame: d.time_frame.clone(),
            missing_items: d.missing_items.statement.clone(),
            licence: d.licence.clone(),
            custom: c.custom,
            items: d
                .items
                .iter()
                .map(|i| ItemBody {
                    number: i.number,
                    text: i.text.clone(),
                    options: d
                        .response_scales
                        .iter()
                        .find(|s| s.id == i.scale)
                        .map(|s| {
                            s.options.iter().map(|o| OptionBody { value: o.value, label: o.label.clone() }).collect()
                        })
                        .unwrap_or_default(),
                })
                .collect(),
        }
    }
}

/// The points of one scale.
#[derive(Serialize, ToSchema)]
pub struct PointsBody {
    /// `total` or a subscale id.
    scale: String,
    /// `null`: too many items unanswered to score.
    points: Option<u32>,
    /// The severity band as scored, if the scale has bands.
    band: Option<String>,
}

/// One result as a client's list gives it.
#[derive(Serialize, ToSchema)]
pub struct ResultSummaryBody {
    id: String,
    instrument: String,
    taken_on: String,
    points: Vec<PointsBody>,
    /// `none`, `open` or `acknowledged`.
    risk: String,
}

fn risk_code(r: RiskState) -> String {
    match r {
        RiskState::None => "none",
        RiskState::Open => "open",
        RiskState::Acknowledged => "acknowledged",
    }
    .into()
}

impl From<IndexedResult> for ResultSummaryBody {
    fn from(r: IndexedResult) -> Self {
        Self {
            id: r.id.to_string(),
            instrument: r.instrument,
            taken_on: crate::pages::date_text(Some(r.taken_on)),
            points: r
                .points
                .into_iter()
                .map(|p| PointsBody { scale: p.scale, points: p.points, band: p.band })
                .collect(),
            risk: risk_code(r.risk),
        }
    }
}

/// One scored scale.
#[derive(Serialize, ToSchema)]
pub struct ScaleBody {
    scale: String,
    name: String,
    points: Option<u32>,
    min: u32,
    max: u32,
    band: Option<String>,
    missing: u32,
    prorated: bool,
}

#[derive(Serialize, ToSchema)]
pub struct RiskFlagBody {
    item: u32,
    message: String,
}

/// One result with its answers and score.
#[derive(Serialize, ToSchema)]
pub struct ResultBody {
    id: String,
    client_id: String,
    version: i64,
    instrument: String,
    instrument_version: u32,
    taken_on: String,
    /// `therapist` or `client`.
    respondent: String,
    /// In item order; `null` is unanswered.
    answers: Vec<Option<u32>>,
    comment: String,
    scales: Vec<ScaleBody>,
    risk_flags: Vec<RiskFlagBody>,
    /// `none`, `open` or `acknowledged`.
    risk: String,
    acknowledged_at: Option<String>,
    created_at: String,
    updated_at: String,
}

/// A result the therapist records.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewResult {
    /// An instrument's `key`.
    instrument: String,
    /// `YYYY-MM-DD`.
    taken_on: String,
    /// In item order; `null` for an unanswered item.
    answers: Vec<Option<u32>>,
    #[serde(default)]
    comment: String,
}

/// A questionnaire to send to a client.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLink {
    instrument: String,
    /// `email` (to the client's address) or `copy` (the link is in the answer, once).
    delivery: String,
}

#[derive(Serialize, ToSchema)]
pub struct SentLinkBody {
    id: String,
    /// Only for `copy`: the link, shown this once and never stored.
    url: Option<String>,
    emailed: bool,
    expires_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct LinkBody {
    id: String,
    instrument: String,
    created_at: String,
    expires_at: String,
    opened_at: Option<String>,
    /// `usable`, `used`, `revoked` or `expired`.
    state: String,
    result_id: Option<String>,
}

impl From<LinkSummary> for LinkBody {
    fn from(l: LinkSummary) -> Self {
        use cbt_domain::client_link::LinkState;
        Self {
            id: l.id.to_string(),
            instrument: l.instrument,
            created_at: rfc3339(l.created_at),
            expires_at: rfc3339(l.expires_at),
            opened_at: l.opened_at.map(rfc3339),
            state: match l.state {
                LinkState::Usable => "usable",
                LinkState::Used => "used",
                LinkState::Revoked => "revoked",
                LinkState::Expired => "expired",
            }
            .into(),
            result_id: l.result.map(|r| r.to_string()),
        }
    }
}

pub async fn instruments(
    State(state): State<WebState>,
    ApiCaller(account): ApiCaller,
    Ctx(ctx): Ctx,
    Query(page): Paging,
) -> Result<Json<Page<InstrumentBody>>, WebError> {
    let all = state.app.instruments(&account, &ctx).await?;
    Ok(Json(Page::of(all, &page, InstrumentBody::from)?))
}

/// One of the caller's own instruments, as its definition.
#[derive(Serialize, ToSchema)]
pub struct CustomInstrumentBody {
    id: String,
    /// What results name it by: `custom:<id>`.
    key: String,
    /// The stored version, to send back with a change.
    version: i64,
    /// Its `version` is raised by one on every change.
    definition: InstrumentDefinition,
    updated_at: String,
}

/// A change to one of the caller's instruments: the whole definition, and
/// the `version` it was read at.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InstrumentUpdate {
    version: i64,
    definition: InstrumentDefinition,
}

pub async fn create_instrument(
    State(state): State<WebState>,
    ApiCaller(account): ApiCaller,
    Ctx(ctx): Ctx,
    Json(definition): Json<InstrumentDefinition>,
) -> Result<(StatusCode, Json<Saved>), WebError> {
    let id = state.app.create_instrument(&account, definition, &ctx).await?;
    Ok((StatusCode::CREATED, Json(Saved { id: id.to_string(), version: 1 })))
}

pub async fn show_instrument(
    State(state): State<WebState>,
    ApiCaller(account): ApiCaller,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
) -> Result<Json<CustomInstrumentBody>, WebError> {
    let c = state.app.custom_instrument(&account, id_or_404::<InstrumentId>(&id)?, &ctx).await?;
    Ok(Json(CustomInstrumentBody {
        id: c.id.to_string(),
        key: custom_key(c.id),
        version: c.version,
        definition: c.instrument.definition().clone(),
        updated_at: rfc3339(c.updated_at),
    }))
}

pub async fn update_instrument(
    State(state): State<WebState>,
    ApiCaller(account): ApiCaller,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    Json(body): Json<InstrumentUpdate>,
) -> Result<Json<Saved>, WebError> {
    let id = id_or_404::<InstrumentId>(&id)?;
    let version = state.app.update_instrument(&account, id, body.version, body.definition, &ctx).await?;
    Ok(Json(Saved { id: id.to_string(), version }))
}

pub async fn list(
    State(state): State<WebState>,
    ApiCaller(account): ApiCaller,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    Query(page): Paging,
) -> Result<Json<Page<ResultSummaryBody>>, WebError> {
    let results = state.app.assessments_of(&account, id_or_404::<ClientId>(&id)?, &ctx).await?;
    Ok(Json(Page::of(results, &page, ResultSummaryBody::from)?))
}

pub async fn create(
    State(state): State<WebState>,
    ApiCaller(account): ApiCaller,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    Json(body): Json<NewResult>,
) -> Result<(StatusCode, Json<Saved>), WebError> {
    let client = id_or_404::<ClientId>(&id)?;
    let taken_on = Date::parse(body.taken_on.trim(), crate::pages::ISO_DATE)
        .map_err(|_| WebError::invalid("taken_on", "Give the date as YYYY-MM-DD."))?;
    let entry = AssessmentEntry { instrument: body.instrument, taken_on, answers: body.answers, comment: body.comment };
    let id = state.app.record_assessment(&account, client, entry, &ctx).await?;
    Ok((StatusCode::CREATED, Json(Saved { id: id.to_string(), version: 1 })))
}

pub async fn show(
    State(state): State<WebState>,
    ApiCaller(account): ApiCaller,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
) -> Result<Json<ResultBody>, WebError> {
    let record = state.app.record::<cbt_domain::assessment::AssessmentResult>(&account, id_or_404(&id)?, &ctx).await?;
    let r = record.content.expose();
    let indexed = r.indexed(record.id);
    let score = r.score.as_ref();
    Ok(Json(ResultBody {
        id: record.id.to_string(),
        client_id: record.client.to_string(),
        version: record.version,
        instrument: r.instrument.clone(),
        instrument_version: score.map_or(0, |s| s.version),
        taken_on: crate::pages::date_text(Some(r.taken_on)),
        respondent: match r.respondent {
            cbt_domain::assessment::Respondent::Therapist => "therapist",
            cbt_domain::assessment::Respondent::Client => "client",
        }
        .into(),
        answers: r.answers.clone(),
        comment: r.comment.clone(),
        scales: score
            .map(|s| {
                s.scales()
                    .map(|x| ScaleBody {
                        scale: x.scale.clone(),
                        name: x.name.clone(),
                        points: x.points,
                        min: x.min,
                        max: x.max,
                        band: x.band.as_ref().map(|b| b.label.clone()),
                        missing: x.missing,
                        prorated: x.prorated,
                    })
                    .collect()
            })
            .unwrap_or_default(),
        risk_flags: score
            .map(|s| s.risk_flags.iter().map(|f| RiskFlagBody { item: f.item, message: f.message.clone() }).collect())
            .unwrap_or_default(),
        risk: risk_code(indexed.risk),
        acknowledged_at: r.acknowledged.as_ref().map(|a| rfc3339(a.at)),
        created_at: rfc3339(record.created_at),
        updated_at: rfc3339(record.updated_at),
    }))
}

pub async fn acknowledge(
    State(state): State<WebState>,
    ApiCaller(account): ApiCaller,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
) -> Result<StatusCode, WebError> {
    state.app.acknowledge_risk(&account, id_or_404::<RecordId>(&id)?, &ctx).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn links(
    State(state): State<WebState>,
    ApiCaller(account): ApiCaller,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    Query(page): Paging,
) -> Result<Json<Page<LinkBody>>, WebError> {
    let links = state.app.client_links(&account, id_or_404::<ClientId>(&id)?, &ctx).await?;
    Ok(Json(Page::of(links, &page, LinkBody::from)?))
}

pub async fn send_link(
    State(state): State<WebState>,
    ApiCaller(account): ApiCaller,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    Json(body): Json<NewLink>,
) -> Result<(StatusCode, Json<SentLinkBody>), WebError> {
    let client = id_or_404::<ClientId>(&id)?;
    let delivery = match body.delivery.as_str() {
        "email" => Delivery::Email,
        "copy" => Delivery::Copy,
        _ => return Err(WebError::invalid("delivery", "Use email or copy.")),
    };
    let sent = state.app.send_client_link(&account, client, &body.instrument, delivery, &ctx).await?;
    Ok((
        StatusCode::CREATED,
        Json(SentLinkBody {
            id: sent.id.to_string(),
            url: (!sent.emailed).then(|| sent.url.expose().clone()),
            emailed: sent.emailed,
            expires_at: rfc3339(sent.expires_at),
        }),
    ))
}

pub async fn revoke_link(
    State(state): State<WebState>,
    ApiCaller(account): ApiCaller,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
) -> Result<StatusCode, WebError> {
    state.app.revoke_client_link(&account, id_or_404::<ClientLinkId>(&id)?, &ctx).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The assessment routes, each with its description.
pub fn routes(api: ApiRoutes) -> ApiRoutes {
    let tag = "assessments";
    api.route(
        Get,
        "/api/v1/instruments",
        instruments,
        Doc::new("list_instruments", tag, "The instruments the caller can use: the shipped ones, then their own.")
            .lists(Wire::of::<InstrumentBody>()),
    )
    .route(
        Post,
        "/api/v1/instruments",
        create_instrument,
        Doc::new("create_instrument", tag, "Adds an instrument of the caller's own (its definition starts at version 1).")
            .body(Wire::of::<InstrumentDefinition>())
            .answers(201, "Added.", Wire::of::<Saved>()),
    )
    .route(
        Get,
        "/api/v1/instruments/{id}",
        show_instrument,
        Doc::new("show_instrument", tag, "One of the caller's own instruments, with its definition.").answers(
            200,
            "The instrument.",
            Wire::of::<CustomInstrumentBody>(),
        ),
    )
    .route(
        Put,
        "/api/v1/instruments/{id}",
        update_instrument,
        Doc::new(
            "update_instrument",
            tag,
            "Changes one of the caller's instruments; results already recorded keep the definition they were scored under.",
        )
        .body(Wire::of::<InstrumentUpdate>())
        .answers(200, "Saved as a new version.", Wire::of::<Saved>())
        .versioned(),
    )
    .route(
        Get,
        "/api/v1/clients/{id}/assessments",
        list,
        Doc::new("list_assessments", tag, "A client's assessment results, oldest first.")
            .lists(Wire::of::<ResultSummaryBody>()),
    )
    .route(
        Post,
        "/api/v1/clients/{id}/assessments",
        create,
        Doc::new("record_assessment", tag, "Records a result; the server scores it from the answers.")
            .body(Wire::of::<NewResult>())
            .answers(201, "Recorded and scored.", Wire::of::<Saved>()),
    )
    .route(
        Get,
        "/api/v1/assessments/{id}",
        show,
        Doc::new(format!("show_{}", cbt_domain::assessment::AssessmentResult::KIND), tag, "One result with its score.")
            .answers(200, "The result.", Wire::of::<ResultBody>()),
    )
    .route(
        Post,
        "/api/v1/assessments/{id}/acknowledge",
        acknowledge,
        Doc::new("acknowledge_risk", tag, "Acknowledges the result's risk flags (recorded in the audit log).")
            .answers_nothing("Acknowledged (or nothing was open)."),
    )
    .route(
        Get,
        "/api/v1/clients/{id}/links",
        links,
        Doc::new("list_client_links", tag, "The questionnaires sent to a client, newest first.")
            .lists(Wire::of::<LinkBody>()),
    )
    .route(
        Post,
        "/api/v1/clients/{id}/links",
        send_link,
        Doc::new("send_client_link", tag, "Sends a client a questionnaire: emailed, or the link answered once.")
            .body(Wire::of::<NewLink>())
            .answers(201, "Sent.", Wire::of::<SentLinkBody>()),
    )
    .route(
        Post,
        "/api/v1/links/{id}/revoke",
        revoke_link,
        Doc::new("revoke_client_link", tag, "Revokes a questionnaire link that has not been used.")
            .answers_nothing("Revoked: the link no longer works."),
    )
}
