//! Psychotherapy notes over the JSON API: `/api/v1/notes/{id}/private`.
//! Kept apart from the session note (which goes through
//! [`crate::record_api`] like every record kind): never in the note, its
//! history or its list. Another therapist's note id answers 404.

use axum::Json;
use axum::extract::{Path, State};
use cbt_domain::ids::RecordId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::Saved;
use crate::auth::{ApiCaller, Ctx};
use crate::error::id_or_404;
use crate::{WebError, WebState};

/// A session note's psychotherapy note.
#[derive(Serialize, ToSchema)]
pub struct PrivateBody {
    session_note: String,
    /// 0 when nothing was written yet.
    version: i64,
    text: String,
}

/// A psychotherapy note as saved, and the version it is based on.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SavePrivate {
    version: i64,
    text: String,
}

/// The session note's psychotherapy note: kept apart, not in the note.
pub async fn private_note(
    State(state): State<WebState>,
    ApiCaller(account): ApiCaller,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
) -> Result<Json<PrivateBody>, WebError> {
    let id = id_or_404::<RecordId>(&id)?;
    let (content, version) = state.app.psychotherapy_note(&account, id, &ctx).await?;
    Ok(Json(PrivateBody { session_note: id.to_string(), version, text: content.expose().text.clone() }))
}

pub async fn save_private_note(
    State(state): State<WebState>,
    ApiCaller(account): ApiCaller,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    Json(body): Json<SavePrivate>,
) -> Result<Json<Saved>, WebError> {
    let id = id_or_404::<RecordId>(&id)?;
    let version = state.app.save_psychotherapy_note(&account, id, body.version, body.text, &ctx).await?;
    Ok(Json(Saved { id: id.to_string(), version }))
}
