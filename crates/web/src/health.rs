//! Liveness and readiness for load balancers and orchestrators.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::{WebError, WebState};

/// The process is up and serving HTTP.
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// The database answers and its schema is current; 503 otherwise, so a
/// load balancer stops sending traffic here.
pub async fn readyz(State(state): State<WebState>) -> Result<Json<Value>, WebError> {
    state.app.readiness().await?;
    Ok(Json(json!({ "status": "ready" })))
}
