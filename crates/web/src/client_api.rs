//! Clients over the JSON API (`/api/v1/clients`). Bodies reject unknown
//! fields; another therapist's client id answers 404 like a missing one.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use cbt_app::clients::{Client, ClientQuery, ClientSort, ClientVersion};
use cbt_domain::client::{ClientDetails, ClientStatus};
use cbt_domain::ids::ClientId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::{Page, PageParams, Paging, Saved};
use crate::auth::{ApiCaller, Ctx};
use crate::error::id_or_404;
use crate::{WebError, WebState};

/// Wire type of one client.
#[derive(Serialize, ToSchema)]
pub struct ClientBody {
    id: String,
    version: i64,
    created_at: String,
    updated_at: String,
    details: ClientDetails,
}

pub(crate) fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

impl From<Client> for ClientBody {
    fn from(c: Client) -> Self {
        Self {
            id: c.id.to_string(),
            version: c.version,
            created_at: rfc3339(c.created_at),
            updated_at: rfc3339(c.updated_at),
            details: c.details.expose().clone(),
        }
    }
}

/// One version of a client's details.
#[derive(Serialize, ToSchema)]
pub struct VersionBody {
    version: i64,
    changed_by: String,
    changed_at: String,
    details: ClientDetails,
}

impl From<ClientVersion> for VersionBody {
    fn from(v: ClientVersion) -> Self {
        Self {
            version: v.version,
            changed_by: v.changed_by.to_string(),
            changed_at: rfc3339(v.changed_at),
            details: v.details.expose().clone(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    search: Option<String>,
    status: Option<String>,
    sort: Option<String>,
    limit: Option<String>,
    offset: Option<String>,
}

/// A change to a client's details.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateBody {
    /// The version the change is based on.
    version: i64,
    details: ClientDetails,
}

pub async fn list(
    State(state): State<WebState>,
    ApiCaller(account): ApiCaller,
    Ctx(ctx): Ctx,
    Query(params): Query<ListParams>,
) -> Result<Json<Page<ClientBody>>, WebError> {
    let status = match params.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(code) => Some(
            ClientStatus::from_code(code)
                .ok_or_else(|| WebError::invalid("status", "Use one of: active, on_hold, discharged."))?,
        ),
    };
    let sort = match params.sort.as_deref().unwrap_or("name") {
        "name" => ClientSort::Name,
        "updated" => ClientSort::RecentlyUpdated,
        "newest" => ClientSort::Newest,
        _ => return Err(WebError::invalid("sort", "Use one of: name, updated, newest.")),
    };
    let page = PageParams { limit: params.limit, offset: params.offset };
    let query = ClientQuery { search: params.search, status, sort };
    let clients = state.app.clients(&account, &query, &ctx).await?;
    Ok(Json(Page::of(clients, &page, ClientBody::from)?))
}

pub async fn create(
    State(state): State<WebState>,
    ApiCaller(account): ApiCaller,
    Ctx(ctx): Ctx,
    Json(details): Json<ClientDetails>,
) -> Result<(StatusCode, Json<Saved>), WebError> {
    let id = state.app.create_client(&account, details, &ctx).await?;
    Ok((StatusCode::CREATED, Json(Saved { id: id.to_string(), version: 1 })))
}

pub async fn show(
    State(state): State<WebState>,
    ApiCaller(account): ApiCaller,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
) -> Result<Json<ClientBody>, WebError> {
    let client = state.app.client(&account, id_or_404::<ClientId>(&id)?, &ctx).await?;
    Ok(Json(client.into()))
}

pub async fn update(
    State(state): State<WebState>,
    ApiCaller(account): ApiCaller,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    Json(body): Json<UpdateBody>,
) -> Result<Json<Saved>, WebError> {
    let id = id_or_404::<ClientId>(&id)?;
    let version = state.app.update_client(&account, id, body.version, body.details, &ctx).await?;
    Ok(Json(Saved { id: id.to_string(), version }))
}

pub async fn history(
    State(state): State<WebState>,
    ApiCaller(account): ApiCaller,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    Query(page): Paging,
) -> Result<Json<Page<VersionBody>>, WebError> {
    let versions = state.app.client_history(&account, id_or_404::<ClientId>(&id)?, &ctx).await?;
    Ok(Json(Page::of(versions, &page, VersionBody::from)?))
}
