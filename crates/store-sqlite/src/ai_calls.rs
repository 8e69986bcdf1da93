//! Calls to language models on SQLite (see migration 0014): metadata only.

use cbt_domain::AccountId;
use cbt_domain::time::unix_micros;
use cbt_ports::{AiUse, StoreError, StoredAiCall};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteExecutor};
use time::OffsetDateTime;

use crate::accounts::{id_of, time_of};
use crate::backend;

const COLUMNS: &str = "id, account_id, purpose, provider, model, prompt_version, prompt_tokens, completion_tokens, \
                       attempts, first_token_ms, latency_ms, outcome, called_at";

fn ai_call(r: &SqliteRow) -> Result<StoredAiCall, StoreError> {
    let text = |name: &str| r.try_get::<String, _>(name).map_err(backend);
    let int = |name: &str| r.try_get::<i32, _>(name).map_err(backend);
    Ok(StoredAiCall {
        id: id_of(&text("id")?, "AI call id")?,
        account: id_of(&text("account_id")?, "account id")?,
        purpose: text("purpose")?,
        provider: text("provider")?,
        model: text("model")?,
        prompt_version: text("prompt_version")?,
        prompt_tokens: int("prompt_tokens")?,
        completion_tokens: int("completion_tokens")?,
        attempts: int("attempts")?,
        first_token_ms: r.try_get("first_token_ms").map_err(backend)?,
        latency_ms: int("latency_ms")?,
        outcome: text("outcome")?,
        called_at: time_of(r.try_get("called_at").map_err(backend)?)?,
    })
}

pub async fn insert_ai_call<'e>(e: impl SqliteExecutor<'e>, c: &StoredAiCall) -> Result<(), StoreError> {
    let sql =
        format!("INSERT INTO ai_calls ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(c.id.to_string())
        .bind(c.account.to_string())
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
        .bind(unix_micros(c.called_at))
        .execute(e)
        .await
        .map_err(backend)?;
    Ok(())
}

pub async fn ai_tokens_since<'e>(
    e: impl SqliteExecutor<'e>,
    account: AccountId,
    since: OffsetDateTime,
) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "SELECT COALESCE(SUM(prompt_tokens + completion_tokens), 0) AS used FROM ai_calls \
         WHERE account_id = ?1 AND called_at >= ?2",
    )
    .bind(account.to_string())
    .bind(unix_micros(since))
    .fetch_one(e)
    .await
    .map_err(backend)?;
    row.try_get("used").map_err(backend)
}

pub async fn ai_calls_since<'e>(
    e: impl SqliteExecutor<'e>,
    account: AccountId,
    since: OffsetDateTime,
    limit: u32,
) -> Result<Vec<StoredAiCall>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM ai_calls WHERE account_id = ?1 AND called_at >= ?2 \
         ORDER BY called_at DESC, id DESC LIMIT ?3"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(account.to_string())
        .bind(unix_micros(since))
        .bind(i64::from(limit))
        .fetch_all(e)
        .await
        .map_err(backend)?;
    rows.iter().map(ai_call).collect()
}

/// The account's tokens since `tokens_since` and calls since `calls_since`.
pub async fn ai_use<'e>(
    e: impl SqliteExecutor<'e>,
    account: AccountId,
    tokens_since: OffsetDateTime,
    calls_since: OffsetDateTime,
) -> Result<AiUse, StoreError> {
    let row = sqlx::query(
        "SELECT COALESCE(SUM(prompt_tokens + completion_tokens) FILTER (WHERE called_at >= ?2), 0) AS tokens, \
         COUNT(*) FILTER (WHERE called_at >= ?3) AS calls \
         FROM ai_calls WHERE account_id = ?1 AND called_at >= ?4",
    )
    .bind(account.to_string())
    .bind(unix_micros(tokens_since))
    .bind(unix_micros(calls_since))
    .bind(unix_micros(tokens_since.min(calls_since)))
    .fetch_one(e)
    .await
    .map_err(backend)?;
    Ok(AiUse { tokens: row.try_get("tokens").map_err(backend)?, calls: row.try_get("calls").map_err(backend)? })
}

pub async fn finish_ai_call<'e>(e: impl SqliteExecutor<'e>, c: &StoredAiCall) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE ai_calls SET prompt_tokens = ?3, completion_tokens = ?4, attempts = ?5, \
         first_token_ms = ?6, latency_ms = ?7, outcome = ?8 WHERE id = ?1 AND account_id = ?2",
    )
    .bind(c.id.to_string())
    .bind(c.account.to_string())
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
