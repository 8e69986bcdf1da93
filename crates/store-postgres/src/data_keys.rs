//! Wrapped data keys on PostgreSQL (see migration 0006).

use cbt_domain::AccountId;
use cbt_ports::{KeyOwner, StoreError, StoredDataKey, WrappedKey};
use sqlx::postgres::PgRow;
use sqlx::{PgExecutor, Row};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::backend;

const COLUMNS: &str = "id, account_id, kek, wrapped, created_at, rewrapped_at";

fn data_key(r: &PgRow) -> Result<StoredDataKey, StoreError> {
    Ok(StoredDataKey {
        owner: KeyOwner {
            account: AccountId::from_uuid(r.try_get("account_id").map_err(backend)?),
            key_id: r.try_get("id").map_err(backend)?,
        },
        wrapped: WrappedKey { kek: r.try_get("kek").map_err(backend)?, bytes: r.try_get("wrapped").map_err(backend)? },
        created_at: r.try_get("created_at").map_err(backend)?,
        rewrapped_at: r.try_get("rewrapped_at").map_err(backend)?,
    })
}

pub async fn data_key_of<'e>(e: impl PgExecutor<'e>, account: AccountId) -> Result<Option<StoredDataKey>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM data_keys WHERE account_id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(account.as_uuid()).fetch_optional(e).await.map_err(backend)?;
    row.as_ref().map(data_key).transpose()
}

pub async fn data_keys_not_under<'e>(
    e: impl PgExecutor<'e>,
    kek: &str,
    after: Option<Uuid>,
    limit: u32,
) -> Result<Vec<StoredDataKey>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM data_keys WHERE kek <> $1 AND id > $2 ORDER BY id LIMIT $3");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(kek)
        .bind(after.unwrap_or(Uuid::nil()))
        .bind(i64::from(limit))
        .fetch_all(e)
        .await
        .map_err(backend)?;
    rows.iter().map(data_key).collect()
}

pub async fn data_key_counts<'e>(e: impl PgExecutor<'e>) -> Result<Vec<(String, u64)>, StoreError> {
    let rows = sqlx::query("SELECT kek, COUNT(*) AS n FROM data_keys GROUP BY kek ORDER BY kek")
        .fetch_all(e)
        .await
        .map_err(backend)?;
    rows.iter()
        .map(|r| {
            let n: i64 = r.try_get("n").map_err(backend)?;
            Ok((r.try_get("kek").map_err(backend)?, u64::try_from(n).unwrap_or(0)))
        })
        .collect()
}

pub async fn rewrap_data_key<'e>(
    e: impl PgExecutor<'e>,
    key_id: Uuid,
    from_kek: &str,
    wrapped: &WrappedKey,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE data_keys SET kek = $1, wrapped = $2, rewrapped_at = $3 WHERE id = $4 AND kek = $5")
        .bind(&wrapped.kek)
        .bind(&wrapped.bytes)
        .bind(now)
        .bind(key_id)
        .bind(from_kek)
        .execute(e)
        .await
        .map_err(backend)?;
    Ok(done.rows_affected() == 1)
}

pub async fn insert_data_key<'e>(e: impl PgExecutor<'e>, key: &StoredDataKey) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO data_keys (id, account_id, kek, wrapped, created_at, rewrapped_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (account_id) DO NOTHING",
    )
    .bind(key.owner.key_id)
    .bind(key.owner.account.as_uuid())
    .bind(&key.wrapped.kek)
    .bind(&key.wrapped.bytes)
    .bind(key.created_at)
    .bind(key.rewrapped_at)
    .execute(e)
    .await
    .map_err(backend)?;
    Ok(done.rows_affected() == 1)
}

pub async fn destroy_data_key<'e>(e: impl PgExecutor<'e>, account: AccountId) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM data_keys WHERE account_id = $1")
        .bind(account.as_uuid())
        .execute(e)
        .await
        .map_err(backend)?;
    Ok(done.rows_affected() == 1)
}
