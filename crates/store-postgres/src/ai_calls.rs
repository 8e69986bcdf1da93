//! Calls to language models on PostgreSQL (see migration 0014): metadata only.

use cbt_domain::AccountId;
use cbt_ports::{AiUse, StoreError, StoredAiCall};
use sqlx::postgres::PgRow;
use sqlx::{PgExecutor, Row};
use time::OffsetDateTime;

use crate::backend;

const COLUMNS: &str = "id, account_id, purpose, provider, model, prompt_version, prompt_tokens, completion_tokens, \
                       attempts, first_token_ms, latency_ms, outcome, called_at";

fn ai_call(r: &PgRow) -> Result<StoredAiCall, StoreError> {
    Ok(StoredAiCall {
        id: r.try_get("id").map_err(backend)?,
        account: AccountId::from_uuid(r.try_get("account_id").map_err(backend)?),
        purpose: r.try_get("purpose").map_err(backend)?,
        provider: r.try_get("provider").map_err(backend)?,
        model: r.try_get("model").map_err(backend)?,
        prompt_version: r.try_get("prompt_version").map_err(backend)?,
        prompt_tokens: r.try_get("prompt_tokens").map_err(backend)?,
        completion_tokens: r.try_get("completion_tokens").map_err(backend)?,
        attempts: r.try_get("attempts").map_err(backend)?,
        first_token_ms: r.try_get("first_token_ms").map_err(backend)?,
        latency_ms: r.try_get("latency_ms").map_err(backend)?,
        outcome: r.try_get("outcome").map_err(backend)?,
        called_at: r.try_get("called_at").map_err(backend)?,
    })
}

pub async fn insert_ai_call<'e>(e: impl PgExecutor<'e>, c: &StoredAiCall) -> Result<(), StoreError> {
    let sql =
        format!("INSERT INTO ai_calls ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(c.id)
        .bind(c.account.as_uuid())
        .bind(&c.purpose)
        .bind(&c.provider)
        .bind(&c.model)
        .bind(&c.prompt_version)
        .bind(c.prompt_tokens)
        .bind(c.completion_tokens)
        .bind(c.attempts)
        .bind(c.first_token_ms)
        .bind(c.latency_ms)
        .bind(&c.outcome)
        .bind(c.called_at)
        .execute(e)
        .await
        .map_err(backend)?;
    Ok(())
}

pub async fn ai_tokens_since<'e>(
    e: impl PgExecutor<'e>,
    account: AccountId,
    since: OffsetDateTime,
) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "SELECT COALESCE(SUM(prompt_tokens::BIGINT + completion_tokens::BIGINT), 0)::BIGINT AS used FROM ai_calls \
         WHERE account_id = $1 AND called_at >= $2",
    )
    .bind(account.as_uuid())
    .bind(since)
    .fetch_one(e)
    .await
    .map_err(backend)?;
    row.try_get("used").map_err(backend)
}

pub async fn ai_calls_since<'e>(
    e: impl PgExecutor<'e>,
    account: AccountId,
    since: OffsetDateTime,
    limit: u32,
) -> Result<Vec<StoredAiCall>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM ai_calls WHERE account_id = $1 AND called_at >= $2 \
         ORDER BY called_at DESC, id DESC LIMIT $3"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(account.as_uuid())
        .bind(since)
        .bind(i64::from(limit))
        .fetch_all(e)
        .await
        .map_err(backend)?;
    rows.iter().map(ai_call).collect()
}

/// The account's tokens since `tokens_since` and calls since `calls_since`.
pub async fn ai_use<'e>(
    e: impl PgExecutor<'e>,
    account: AccountId,
    tokens_since: OffsetDateTime,
    calls_since: OffsetDateTime,
) -> Result<AiUse, StoreError> {
    let row = sqlx::query(
        "SELECT COALESCE(SUM(prompt_tokens::BIGINT + completion_tokens::BIGINT) \
         FILTER (WHERE called_at >= $2), 0)::BIGINT AS tokens, \
         COUNT(*) FILTER (WHERE called_at >= $3)::BIGINT AS calls \
         FROM ai_calls WHERE account_id = $1 AND called_at >= $4",
    )
    .bind(account.as_uuid())
    .bind(tokens_since)
    .bind(calls_since)
    .bind(tokens_since.min(calls_since))
    .fetch_one(e)
    .await
    .map_err(backend)?;
    Ok(AiUse { tokens: row.try_get("tokens").map_err(backend)?, calls: row.try_get("calls").map_err(backend)? })
}

pub async fn finish_ai_call<'e>(e: impl PgExecutor<'e>, c: &StoredAiCall) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE ai_calls SET prompt_tokens = $3, completion_tokens = $4, attempts = $5, \
         first_token_ms = $6, latency_ms = $7, outcome = $8 WHERE id = $1 AND account_id = $2",
    )
    .bind(c.id)
    .bind(c.account.as_uuid())
    .bind(c.prompt_tokens)
    .bind(c.completion_tokens)
    .bind(c.attempts)
    .bind(c.first_token_ms)
    .bind(c.latency_ms)
    .bind(&c.outcome)
    .execute(e)
    .await
    .map_err(backend)?;
    if done.rows_affected() == 0 {
        return Err(StoreError::Corrupt { what: "reserved AI call" });
    }
    Ok(())
}
