//! Formulations, hypotheses, treatment plans (with goal progress) and
//! homework over the JSON API, one set of handlers for every kind:
//! `/api/v1/clients/{id}/{kind}` to list and create, `/api/v1/{kind}/{id}`
//! to read and change, `/history`, and `/sign` and `/addenda` for kinds
//! that are signed. Bodies reject unknown fields; another therapist's id
//! answers 404 like a missing one.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use cbt_app::records::{Record, RecordVersion};
use cbt_domain::homework::Worksheet;
use cbt_domain::ids::{ClientId, RecordId, WorksheetId};
use cbt_domain::record::ClinicalRecord;
use cbt_domain::treatment_plan::GoalProgress;
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

/// A record kind's routes: `/api/v1/{plural}/{id}` to read and change,
/// its history, and `/sign` and `/addenda` for kinds that are signed;
/// `/api/v1/clients/{id}/{plural}` to list. `name` is what a therapist
/// calls one.
pub fn kind<T: ClinicalRecord + ToSchema>(api: ApiRoutes, plural: &'static str, name: &'static str) -> ApiRoutes {
    let path = |tail: &str| format!("/api/v1/{plural}/{{id}}{tail}");
    let id = |verb: &str| format!("{verb}_{}", T::KIND);
    let body = || Wire::generic::<RecordBody<T>, T>(format!("{}Record", T::name()));
    let api = api
        .route(
            Get,
            &format!("/api/v1/clients/{{id}}/{plural}"),
            list::<T>,
            Doc::new(format!("list_{plural}"), plural, format!("A client's {name} records.")).lists(body()),
        )
        .route(
            Get,
            &path(""),
            show::<T>,
            Doc::new(id("show"), plural, format!("One {name}.")).answers(200, "The record.", body()),
        )
        .route(
            Put,
            &path(""),
            update::<T>,
            Doc::new(id("update"), plural, format!("Changes a {name} (a new version; refused once signed)."))
                .body(Wire::generic::<Update<T>, T>(format!("{}Update", T::name())))
                .answers(200, "Saved as a new version.", Wire::of::<Saved>())
                .versioned(),
        )
        .route(
            Get,
            &path("/history"),
            history::<T>,
            Doc::new(id("history_of"), plural, format!("Every version of a {name}, oldest first."))
                .lists(Wire::generic::<VersionBody<T>, T>(format!("{}Version", T::name()))),
        );
    if T::ACTIONS.sign.is_none() {
        return api;
    }
    api.route(
        Post,
        &path("/sign"),
        sign::<T>,
        Doc::new(id("sign"), plural, format!("Signs a {name}: it is locked, later changes are addenda."))
            .body(Wire::of::<Sign>())
            .answers(200, "Signed (a new version).", Wire::of::<Saved>())
            .versioned(),
    )
    .route(
        Post,
        &path("/addenda"),
        add_addendum::<T>,
        Doc::new(id("add_addendum_to"), plural, format!("Adds a dated addendum below a signed {name}."))
            .body(Wire::of::<NewAddendum>())
            .answers(201, "Added.", Wire::of::<Saved>())
            .versioned(),
    )
}

/// `POST /api/v1/clients/{id}/{plural}`: a kind written as it is sent.
pub fn creatable<T: ClinicalRecord + ToSchema>(api: ApiRoutes, plural: &'static str, name: &'static str) -> ApiRoutes {
    api.route(
        Post,
        &format!("/api/v1/clients/{{id}}/{plural}"),
        create::<T>,
        Doc::new(format!("create_{}", T::KIND), plural, format!("Writes a new {name} (a draft)."))
            .body(Wire::of::<T>())
            .answers(201, "Written.", Wire::of::<Saved>()),
    )
}

/// A dated, attributed addition below a signed record.
#[derive(Serialize, ToSchema)]
pub struct AddendumBody {
    id: String,
    text: String,
    added_by: String,
    added_at: String,
}

/// One record: its content, whether it is signed, and its addenda.
#[derive(Serialize, ToSchema)]
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

/// One version of a record, as it was saved.
#[derive(Serialize, ToSchema)]
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

/// A change: the new content, and the version it is based on.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Update<T> {
    version: i64,
    content: T,
}

/// Signs the version that was read (409 if someone saved since).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Sign {
    version: i64,
}

/// The text of an addendum.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAddendum {
    text: String,
}

pub async fn list<T: ClinicalRecord>(
    State(state): State<WebState>,
    ApiCaller(account): ApiCaller,
    Ctx(ctx): Ctx,
    Path(client): Path<String>,
    Query(page): Paging,
) -> Result<Json<Page<RecordBody<T>>>, WebError> {
    let records = state.app.records_of::<T>(&account, id_or_404::<ClientId>(&client)?, &ctx).await?;
    Ok(Json(Page::of(records, &page, RecordBody::from)?))
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
    Query(page): Paging,
) -> Result<Json<Page<VersionBody<T>>>, WebError> {
    let versions = state.app.record_history::<T>(&account, id_or_404::<RecordId>(&id)?, &ctx).await?;
    Ok(Json(Page::of(versions, &page, VersionBody::from)?))
}

/// A progress rating as sent: the plan is the one in the path.
#[derive(Deserialize, ToSchema)]
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
    Query(page): Paging,
) -> Result<Json<Page<RecordBody<GoalProgress>>>, WebError> {
    let ratings = state.app.progress_of(&account, id_or_404::<RecordId>(&plan)?, &ctx).await?;
    Ok(Json(Page::of(ratings, &page, RecordBody::from)?))
}

/// Homework as assigned: a worksheet (`library:<key>` or `custom:<id>`).
#[derive(Deserialize, ToSchema)]
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

/// A worksheet: of the library (version 0) or the caller's own.
#[derive(Serialize, ToSchema)]
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
    Query(page): Paging,
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
    Ok(Json(Page::of(items, &page, |w| w)?))
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
