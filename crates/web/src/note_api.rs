//! Session notes over the JSON API: `/api/v1/clients/{id}/notes` and
//! `/api/v1/notes/{id}[/sign|/addenda|/history]`. Bodies reject unknown
//! fields; another therapist's ids answer 404.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use cbt_app::records::RecordVersion;
use cbt_app::session_notes::Note;

type NoteVersion = RecordVersion<SessionNote>;
use cbt_domain::ids::{ClientId, RecordId};
use cbt_domain::session_note::SessionNote;
use serde::{Deserialize, Serialize};

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

#[derive(Serialize)]
pub struct NoteBody {
    id: String,
    client_id: String,
    version: i64,
    signed: bool,
    signed_at: Option<String>,
    created_at: String,
    updated_at: String,
    note: SessionNote,
    addenda: Vec<AddendumBody>,
}

impl From<Note> for NoteBody {
    fn from(n: Note) -> Self {
        NoteBody {
            id: n.id.to_string(),
            client_id: n.client.to_string(),
            version: n.version,
            signed: n.signed_at.is_some(),
            signed_at: n.signed_at.map(rfc3339),
            created_at: rfc3339(n.created_at),
            updated_at: rfc3339(n.updated_at),
            note: n.content.expose().clone(),
            addenda: n
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
pub struct NoteVersionBody {
    version: i64,
    changed_by: String,
    changed_at: String,
    note: SessionNote,
}

impl From<NoteVersion> for NoteVersionBody {
    fn from(v: NoteVersion) -> Self {
        NoteVersionBody {
            version: v.version,
            changed_by: v.changed_by.to_string(),
            changed_at: rfc3339(v.changed_at),
            note: v.content.expose().clone(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateNote {
    version: i64,
    note: SessionNote,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignNote {
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

pub async fn list(
    State(state): State<WebState>,
    ApiCaller(account): ApiCaller,
    Ctx(ctx): Ctx,
    Path(client): Path<String>,
) -> Result<Json<Page<NoteBody>>, WebError> {
    let notes = state.app.records_of::<SessionNote>(&account, id_or_404::<ClientId>(&client)?, &ctx).await?;
    Ok(Json(Page::of(notes.into_iter().map(NoteBody::from).collect())))
}

pub async fn create(
    State(state): State<WebState>,
    ApiCaller(account): ApiCaller,
    Ctx(ctx): Ctx,
    Path(client): Path<String>,
    Json(note): Json<SessionNote>,
) -> Result<(StatusCode, Json<Saved>), WebError> {
    let id = state.app.create_record(&account, id_or_404::<ClientId>(&client)?, note, &ctx).await?;
    Ok((StatusCode::CREATED, Json(Saved { id: id.to_string(), version: 1 })))
}

pub async fn show(
    State(state): State<WebState>,
    ApiCaller(account): ApiCaller,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
) -> Result<Json<NoteBody>, WebError> {
    Ok(Json(state.app.record::<SessionNote>(&account, id_or_404::<RecordId>(&id)?, &ctx).await?.into()))
}

pub async fn update(
    State(state): State<WebState>,
    ApiCaller(account): ApiCaller,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    Json(body): Json<UpdateNote>,
) -> Result<Json<Saved>, WebError> {
    let id = id_or_404::<RecordId>(&id)?;
    let version = state.app.update_record(&account, id, body.version, body.note, &ctx).await?;
    Ok(Json(Saved { id: id.to_string(), version }))
}

pub async fn sign(
    State(state): State<WebState>,
    ApiCaller(account): ApiCaller,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    Json(body): Json<SignNote>,
) -> Result<Json<Saved>, WebError> {
    let id = id_or_404::<RecordId>(&id)?;
    let version = state.app.sign_record::<SessionNote>(&account, id, body.version, &ctx).await?;
    Ok(Json(Saved { id: id.to_string(), version }))
}

pub async fn add_addendum(
    State(state): State<WebState>,
    ApiCaller(account): ApiCaller,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    Json(body): Json<NewAddendum>,
) -> Result<(StatusCode, Json<Saved>), WebError> {
    let id = id_or_404::<RecordId>(&id)?;
    let addendum = state.app.add_addendum::<SessionNote>(&account, id, &body.text, &ctx).await?;
    Ok((StatusCode::CREATED, Json(Saved { id: addendum.to_string(), version: 0 })))
}

pub async fn history(
    State(state): State<WebState>,
    ApiCaller(account): ApiCaller,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
) -> Result<Json<Page<NoteVersionBody>>, WebError> {
    let versions = state.app.record_history::<SessionNote>(&account, id_or_404::<RecordId>(&id)?, &ctx).await?;
    Ok(Json(Page::of(versions.into_iter().map(NoteVersionBody::from).collect())))
}

#[derive(Serialize)]
pub struct PrivateBody {
    session_note: String,
    /// 0 when nothing was written yet.
    version: i64,
    text: String,
}

#[derive(Deserialize)]
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
