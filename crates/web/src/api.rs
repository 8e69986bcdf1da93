//! The JSON API under `/api/v1`, and its OpenAPI document at
//! `/api/openapi.json`. Callers authenticate with the session cookie (plus
//! the `X-CSRF-Token` header for changes) or a personal access token
//! (`Authorization: Bearer cbt_pat_…`). Errors are problem+json; lists are
//! pages (`?limit=&offset=`).
//!
//! [`routes`] is the one list of API routes: each is registered with its
//! description (see [`crate::api_doc`]), so the document is the router.

use std::sync::Arc;

use axum::Json;
use axum::extract::Query;
use axum::http::header;
use cbt_domain::formulation::Formulation;
use cbt_domain::homework::{Homework, Worksheet};
use cbt_domain::hypothesis::Hypothesis;
use cbt_domain::session_note::SessionNote;
use cbt_domain::treatment_plan::TreatmentPlan;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::path::HttpMethod::{Get, Post, Put};

use crate::api_doc::{ApiRoutes, Doc, Wire};
use crate::auth::ApiCaller;
use crate::error::WebError;
use crate::{WebState, client_api, note_api, record_api};

/// Wire type of `GET /api/v1/me`: kept apart from the domain type.
#[derive(Serialize, ToSchema)]
pub struct Me {
    id: String,
    full_name: String,
    email: String,
    email_verified: bool,
    mfa_enabled: bool,
}

/// The account the caller acts as.
pub async fn me(ApiCaller(account): ApiCaller) -> Json<Me> {
    Json(Me {
        id: account.id.to_string(),
        full_name: account.full_name.clone(),
        email: account.email.clone(),
        email_verified: account.is_verified(),
        mfa_enabled: account.mfa_enabled(),
    })
}

/// The most items one page holds, and how many when not asked.
const PAGE_MAX: usize = 200;
const PAGE_DEFAULT: usize = 50;

/// `?limit=&offset=` of a list. Text, so that a bad value gets an answer
/// that names the parameter.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageParams {
    pub limit: Option<String>,
    pub offset: Option<String>,
}

impl PageParams {
    fn window(&self) -> Result<(usize, usize), WebError> {
        let limit = match self.limit.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => PAGE_DEFAULT,
            Some(text) => text
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=PAGE_MAX).contains(n))
                .ok_or_else(|| WebError::invalid("limit", "Use a whole number from 1 to 200."))?,
        };
        let offset = match self.offset.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => 0,
            Some(text) => {
                text.parse::<usize>().map_err(|_| WebError::invalid("offset", "Use a whole number from 0."))?
            }
        };
        Ok((limit, offset))
    }
}

/// A list answer: one page of the items, and how many there are in all.
#[derive(Debug, Serialize)]
pub struct Page<T> {
    items: Vec<T>,
    total: usize,
    limit: usize,
    offset: usize,
}

impl<T> Page<T> {
    /// The page `params` asks for, of all the caller's items.
    pub(crate) fn of<S>(all: Vec<S>, params: &PageParams, wire: impl FnMut(S) -> T) -> Result<Self, WebError> {
        let (limit, offset) = params.window()?;
        let total = all.len();
        let items = all.into_iter().skip(offset).take(limit).map(wire).collect();
        Ok(Page { items, total, limit, offset })
    }
}

/// The extractor of a list's page parameters.
pub type Paging = Query<PageParams>;

/// The API's router and its OpenAPI document.
pub fn routes() -> ApiRoutes {
    let api = ApiRoutes::new()
        .route(
            Get,
            "/api/v1/me",
            me,
            Doc::new("me", "account", "The account the caller acts as.").answers(
                200,
                "The caller's account.",
                Wire::of::<Me>(),
            ),
        )
        .route(
            Get,
            "/api/v1/clients",
            client_api::list,
            Doc::new("list_clients", "clients", "The caller's clients.")
                .lists(Wire::of::<client_api::ClientBody>())
                .query("search", "Part of a name, preferred name or email.")
                .query("status", "active, on_hold or discharged.")
                .query("sort", "name (default), updated or newest."),
        )
        .route(
            Post,
            "/api/v1/clients",
            client_api::create,
            Doc::new("create_client", "clients", "Adds a client.")
                .body(Wire::of::<cbt_domain::client::ClientDetails>())
                .answers(201, "Added.", Wire::of::<Saved>()),
        )
        .route(
            Get,
            "/api/v1/clients/{id}",
            client_api::show,
            Doc::new("show_client", "clients", "One client.").answers(
                200,
                "The client.",
                Wire::of::<client_api::ClientBody>(),
            ),
        )
        .route(
            Put,
            "/api/v1/clients/{id}",
            client_api::update,
            Doc::new("update_client", "clients", "Changes a client's details (a new version).")
                .body(Wire::of::<client_api::UpdateBody>())
                .answers(200, "Saved as a new version.", Wire::of::<Saved>())
                .versioned(),
        )
        .route(
            Get,
            "/api/v1/clients/{id}/history",
            client_api::history,
            Doc::new("client_history", "clients", "Every version of a client's details, oldest first.")
                .lists(Wire::of::<client_api::VersionBody>()),
        );
    let api = record_api::kind::<SessionNote>(api, "notes", "session note");
    let api =
        record_api::creatable::<SessionNote>(api, "notes", "session note")
            .route(
                Get,
                "/api/v1/notes/{id}/private",
                note_api::private_note,
                Doc::new("show_psychotherapy_note", "notes", "The session note's psychotherapy note, kept apart.")
                    .answers(200, "The psychotherapy note (version 0 when none).", Wire::of::<note_api::PrivateBody>()),
            )
            .route(
                Put,
                "/api/v1/notes/{id}/private",
                note_api::save_private_note,
                Doc::new("save_psychotherapy_note", "notes", "Saves the session note's psychotherapy note.")
                    .body(Wire::of::<note_api::SavePrivate>())
                    .answers(200, "Saved as a new version.", Wire::of::<Saved>())
                    .versioned(),
            );
    let api = record_api::kind::<Formulation>(api, "formulations", "formulation");
    let api = record_api::creatable::<Formulation>(api, "formulations", "formulation");
    let api = record_api::kind::<Hypothesis>(api, "hypotheses", "hypothesis");
    let api = record_api::creatable::<Hypothesis>(api, "hypotheses", "hypothesis");
    let api = record_api::kind::<TreatmentPlan>(api, "plans", "treatment plan");
    let api = record_api::creatable::<TreatmentPlan>(api, "plans", "treatment plan")
        .route(
            Get,
            "/api/v1/plans/{id}/progress",
            record_api::progress,
            Doc::new("list_goal_progress", "plans", "A plan's progress ratings, oldest first.").lists(Wire::generic::<
                record_api::RecordBody<cbt_domain::treatment_plan::GoalProgress>,
                cbt_domain::treatment_plan::GoalProgress,
            >(
                "GoalProgressRecord".into(),
            )),
        )
        .route(
            Post,
            "/api/v1/plans/{id}/progress",
            record_api::rate_goal,
            Doc::new("rate_goal", "plans", "Records a progress rating (0 to 10) of one of the plan's goals.")
                .body(Wire::of::<record_api::NewRating>())
                .answers(201, "Recorded.", Wire::of::<Saved>()),
        );
    let api = crate::assessment_api::routes(api);
    record_api::kind::<Homework>(api, "homework", "homework")
        .route(
            Post,
            "/api/v1/clients/{id}/homework",
            record_api::assign_homework,
            Doc::new("assign_homework", "homework", "Assigns a worksheet as homework.")
                .body(Wire::of::<record_api::NewHomework>())
                .answers(201, "Assigned.", Wire::of::<Saved>()),
        )
        .route(
            Get,
            "/api/v1/worksheets",
            record_api::worksheets,
            Doc::new("list_worksheets", "worksheets", "The worksheet library and the caller's own worksheets.")
                .lists(Wire::of::<record_api::WorksheetBody>()),
        )
        .route(
            Post,
            "/api/v1/worksheets",
            record_api::create_worksheet,
            Doc::new("create_worksheet", "worksheets", "Adds a worksheet of the caller's own.")
                .body(Wire::of::<Worksheet>())
                .answers(201, "Added.", Wire::of::<Saved>()),
        )
        .route(
            Get,
            "/api/v1/worksheets/{id}",
            record_api::show_worksheet,
            Doc::new("show_worksheet", "worksheets", "One of the caller's worksheets.").answers(
                200,
                "The worksheet.",
                Wire::of::<record_api::WorksheetBody>(),
            ),
        )
        .route(
            Put,
            "/api/v1/worksheets/{id}",
            record_api::update_worksheet,
            Doc::new("update_worksheet", "worksheets", "Changes one of the caller's worksheets.")
                .body(Wire::generic::<record_api::Update<Worksheet>, Worksheet>("WorksheetUpdate".into()))
                .answers(200, "Saved as a new version.", Wire::of::<Saved>())
                .versioned(),
        )
}

/// What a write answers: the id written and its version now.
#[derive(Debug, Serialize, ToSchema)]
pub struct Saved {
    pub id: String,
    pub version: i64,
}

/// `GET /api/openapi.json`: the document, drawn once at start-up. It
/// describes the API and holds no caller's data, so it is public.
pub fn openapi_json(document: &utoipa::openapi::OpenApi) -> axum::routing::MethodRouter<WebState> {
    let body: Arc<str> = document.to_json().unwrap_or_default().into();
    axum::routing::get(move || {
        let body = body.clone();
        async move { ([(header::CONTENT_TYPE, "application/json")], body.to_string()) }
    })
}
