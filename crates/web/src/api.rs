//! The JSON API under `/api/v1`. Callers authenticate with the session
//! cookie (plus the `X-CSRF-Token` header for changes) or a personal access
//! token (`Authorization: Bearer cbt_pat_…`). Errors are problem+json.

use axum::Json;
use serde::Serialize;

use crate::auth::ApiCaller;

/// Wire type of `GET /api/v1/me`: kept apart from the domain type.
#[derive(Serialize)]
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
