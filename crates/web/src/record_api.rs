//! Formulations, hypotheses, treatment plans (with goal progress) and
//! homework over the JSON API, one set of handlers for every kind:
//! `/api/v1/clients/{id}/{kind}` to list and create, `/api/v1/{kind}/{id}`
//! to read and change, `/history`, and `/sign` and `/addenda` for kinds
//! that are signed. Bodies reject unknown fields; another therapist's id
//! answers 404 like a missing one.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use cbt_app::records::{Record, RecordVersion};
use cbt_domain::homework::Worksheet;
use cbt_domain::ids::{ClientId, RecordId, WorksheetId};
use cbt_domain::record::ClinicalRecord;
use cbt_domain::treatment_plan::GoalProgress;
use serde::{Deserialize, Serialize};
use time::Date;

use crate::auth::{ApiCaller, Ctx};
use crate::client_api::{Page, rfc3339};
use crate::error::id_or_404;
use crate::{WebError, WebState};

#[derive(Serialize)]
pub struct AddendumBody {
    id: String,
    text: String,
    added_by: String,
    added_at: String,
}

/// Wire type of one record of kind `T`.
#[derive(Serialize)]
pub struct RecordBody<T: Serialize> {
    id: String,
    client_id: String,
    kind: &'static str,
    version: i64,
    signed: bool,
    signed_at: Option<String>,
    created_at: String,
    updated_at: String,
    content: T,
    addenda: Vec<AddendumBody>,
}

impl<T: ClinicalRecord> From<Record<T>> for RecordBody<T> {
    fn from(r: Record<T>) -> Self {
        RecordBody {
            id: r.id.to_string(),
            client_id: r.client.to_string(),
            kind: T::KIND,
            version: r.version,
            signed: r.signed_at.is_some(),
            signed_at: r.signed_at.map(rfc3339),
            created_at: rfc3339(r.created_at),
            updated_at: rfc3339(r.updated_at),
            content: r.content.expose().clone(),
            addenda: r
                .addenda
                .into_iter()
                .map(|a| AddendumBody {
                    id: a.id.to_string(),
                    text: a.text.expose().clone(),
                    added_by: a.added_by.to_string(),
                    added_at: rfc3339(a.added_at),
                })
                .collect(),
        }
    }
}

#[derive(Serialize)]
pub struct VersionBody<T: Serialize> {
    version: i64,
    changed_by: String,
    changed_at: String,
    signed: bool,
    content: T,
}

impl<T: ClinicalRecord> From<RecordVersion<T>> for VersionBody<T> {
    fn from(v: RecordVersion<T>) -> Self {
        VersionBody {
            version: v.version,
            changed_by: v.changed_by.to_string(),
            changed_at: rfc3339(v.changed_at),
            signed: v.signed,
            content: v.content.expose().clone(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Update<T> {
    version: i64,
    content: T,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sign {
    version: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAddendum {
    text: String,
}

#[derive(Serialize)]
pub struct Saved {
    id: String,
    version: i64,
}

pub async fn list<T: ClinicalRecord>(
    State(state): State<WebState>,
    ApiCaller(account): ApiCaller,
    Ctx(ctx): Ctx,
    Path(client): Path<String>,
) -> Result<Json<Page<RecordBody<T>>>, WebError> {
    let records = state.app.records_of::<T>(&account, id_or_404::<ClientId>(&client)?, &ctx).await?;
    Ok(Json(Page::of(records.into_iter().map(RecordBody::from).collect())))
}

pub async fn create<T: ClinicalRecord>(
    State(state): State<WebState>,
    ApiCaller(account): ApiCaller,
    Ctx(ctx): Ctx,
    Path(client): Path<String>,
    Json(content): Json<T>,
) -> Result<(StatusCode, Json<Saved>), WebError> {
    let id = state.app.create_record(&account, id_or_404::<ClientId>(&client)?, content, &ctx).await?;
    Ok((StatusCode::CREATED, Json(Saved { id: id.to_string(), version: 1 })))
}

pub async fn show<T: ClinicalRecord>(
    State(state): State<WebState>,
    ApiCaller(account): ApiCaller,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
) -> Result<Json<RecordBody<T>>, WebError> {
    Ok(Json(state.app.record::<T>(&account, id_or_404::<RecordId>(&id)?, &ctx).await?.into()))
}

pub async fn update<T: ClinicalRecord>(
    State(state): State<WebState>,
    ApiCaller(account): ApiCaller,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    Json(body): Json<Update<T>>,
) -> Result<Json<Saved>, WebError> {
    let id = id_or_404::<RecordId>(&id)?;
    let version = state.app.update_record(&account, id, body.version, body.content, &ctx).await?;
    Ok(Json(Saved { id: id.to_string(), version }))
}

pub async fn sign<T: ClinicalRecord>(
    State(state): State<WebState>,
    ApiCaller(account): ApiCaller,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    Json(body): Json<Sign>,
) -> Result<Json<Saved>, WebError> {
    let id = id_or_404::<RecordId>(&id)?;
    let version = state.app.sign_record::<T>(&account, id, body.version, &ctx).await?;
    Ok(Json(Saved { id: id.to_string(), version }))
}

pub async fn add_addendum<T: ClinicalRecord>(
    State(state): State<WebState>,
    ApiCaller(account): ApiCaller,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    Json(body): Json<NewAddendum>,
) -> Result<(StatusCode, Json<Saved>), WebError> {
    let id = id_or_404::<RecordId>(&id)?;
    let addendum = state.app.add_addendum::<T>(&account, id, &body.text, &ctx).await?;
    Ok((StatusCode::CREATED, Json(Saved { id: addendum.to_string(), version: 0 })))
}

pub async fn history<T: ClinicalRecord>(
    State(state): State<WebState>,
    ApiCaller(account): ApiCaller,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
) -> Result<Json<Page<VersionBody<T>>>, WebError> {
    let versions = state.app.record_history::<T>(&account, id_or_404::<RecordId>(&id)?, &ctx).await?;
    Ok(Json(Page::of(versions.into_iter().map(VersionBody::from).collect())))
}

/// A progress rating as sent: the plan is the one in the path.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRating {
    goal: u32,
    #[serde(with = "cbt_domain::record::iso_date::required")]
    date: Date,
    rating: u8,
    #[serde(default)]
    comment: String,
}

pub async fn rate_goal(
    State(state): State<WebState>,
    ApiCaller(account): ApiCaller,
    Ctx(ctx): Ctx,
    Path(plan): Path<String>,
    Json(body): Json<NewRating>,
) -> Result<(StatusCode, Json<Saved>), WebError> {
    let plan = id_or_404::<RecordId>(&plan)?;
    let rating = GoalProgress { plan, goal: body.goal, date: body.date, rating: body.rating, comment: body.comment };
    let id = state.app.rate_goal(&account, rating, &ctx).await?;
    Ok((StatusCode::CREATED, Json(Saved { id: id.to_string(), version: 1 })))
}

pub async fn progress(
    State(state): State<WebState>,
    ApiCaller(account): ApiCaller,
    Ctx(ctx): Ctx,
    Path(plan): Path<String>,
) -> Result<Json<Page<RecordBody<GoalProgress>>>, WebError> {
    let ratings = state.app.progress_of(&account, id_or_404::<RecordId>(&plan)?, &ctx).await?;
    Ok(Json(Page::of(ratings.into_iter().map(RecordBody::from).collect())))
}

/// Homework as assigned: a worksheet (`library:<key>` or `custom:<id>`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewHomework {
    source: String,
    #[serde(default)]
    instructions: String,
    #[serde(default, with = "cbt_domain::record::iso_date::optional")]
    due_on: Option<Date>,
}

pub async fn assign_homework(
    State(state): State<WebState>,
    ApiCaller(account): ApiCaller,
    Ctx(ctx): Ctx,
    Path(client): Path<String>,
    Json(body): Json<NewHomework>,
) -> Result<(StatusCode, Json<Saved>), WebError> {
    let client = id_or_404::<ClientId>(&client)?;
    let id = state.app.assign_homework(&account, client, &body.source, body.instructions, body.due_on, &ctx).await?;
    Ok((StatusCode::CREATED, Json(Saved { id: id.to_string(), version: 1 })))
}

#[derive(Serialize)]
pub struct WorksheetBody {
    /// `library:<key>` or `custom:<id>`: what homework is assigned from.
    source: String,
    version: i64,
    worksheet: Worksheet,
}

/// The library and the therapist's own worksheets.
pub async fn worksheets(
    State(state): State<WebState>,
    ApiCaller(account): ApiCaller,
    Ctx(ctx): Ctx,
) -> Result<Json<Page<WorksheetBody>>, WebError> {
    let mut items: Vec<WorksheetBody> = cbt_domain::homework::library()
        .into_iter()
        .map(|(key, worksheet)| WorksheetBody {
            source: cbt_app::worksheets::source_of_library(key),
            version: 0,
            worksheet,
        })
        .collect();
    for c in state.app.worksheets(&account, &ctx).await? {
        items.push(WorksheetBody {
            source: format!("custom:{}", c.id),
            version: c.version,
            worksheet: c.worksheet.expose().clone(),
        });
    }
    Ok(Json(Page::of(items)))
}

pub async fn create_worksheet(
    State(state): State<WebState>,
    ApiCaller(account): ApiCaller,
    Ctx(ctx): Ctx,
    Json(worksheet): Json<Worksheet>,
) -> Result<(StatusCode, Json<Saved>), WebError> {
    let worksheet =
        Worksheet::custom(&worksheet.title, &worksheet.purpose, &worksheet.field_lines()).map_err(WebError::Invalid)?;
    let id = state.app.create_worksheet(&account, worksheet, &ctx).await?;
    Ok((StatusCode::CREATED, Json(Saved { id: id.to_string(), version: 1 })))
}

pub async fn show_worksheet(
    State(state): State<WebState>,
    ApiCaller(account): ApiCaller,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
) -> Result<Json<WorksheetBody>, WebError> {
    let c = state.app.worksheet(&account, id_or_404::<WorksheetId>(&id)?, &ctx).await?;
    Ok(Json(WorksheetBody {
        source: format!("custom:{}", c.id),
        version: c.version,
        worksheet: c.worksheet.expose().clone(),
    }))
}

pub async fn update_worksheet(
    State(state): State<WebState>,
    ApiCaller(account): ApiCaller,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    Json(body): Json<Update<Worksheet>>,
) -> Result<Json<Saved>, WebError> {
    let id = id_or_404::<WorksheetId>(&id)?;
    let w = body.content;
    let worksheet = Worksheet::custom(&w.title, &w.purpose, &w.field_lines()).map_err(WebError::Invalid)?;
    let version = state.app.update_worksheet(&account, id, body.version, worksheet, &ctx).await?;
    Ok(Json(Saved { id: id.to_string(), version }))
}
