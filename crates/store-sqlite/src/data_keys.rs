//! Wrapped data keys on SQLite (see migration 0006).

use cbt_domain::AccountId;
use cbt_domain::time::unix_micros;
use cbt_ports::{KeyOwner, StoreError, StoredDataKey, WrappedKey};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::accounts::{id_of, opt_time, time_of};
use crate::backend;

const COLUMNS: &str = "id, account_id, kek, wrapped, created_at, rewrapped_at";

fn data_key(r: &SqliteRow) -> Result<StoredDataKey, StoreError> {
    let id: String = r.try_get("id").map_err(backend)?;
    let account: String = r.try_get("account_id").map_err(backend)?;
    Ok(StoredDataKey {
        owner: KeyOwner { account: id_of(&account, "account id")?, key_id: id_of(&id, "data key id")? },
        wrapped: WrappedKey { kek: r.try_get("kek").map_err(backend)?, bytes: r.try_get("wrapped").map_err(backend)? },
        created_at: time_of(r.try_get("created_at").map_err(backend)?)?,
        rewrapped_at: opt_time(r.try_get("rewrapped_at").map_err(backend)?)?,
    })
}

pub async fn data_key_of<'e>(
    e: impl SqliteExecutor<'e>,
    account: AccountId,
) -> Result<Option<StoredDataKey>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM data_keys WHERE account_id = ?");
    let row =
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(account.to_string()).fetch_optional(e).await.map_err(backend)?;
    row.as_ref().map(data_key).transpose()
}

pub async fn data_keys_not_under<'e>(
    e: impl SqliteExecutor<'e>,
    kek: &str,
    after: Option<Uuid>,
    limit: u32,
) -> Result<Vec<StoredDataKey>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM data_keys WHERE kek <> ? AND id > ? ORDER BY id LIMIT ?");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(kek)
        .bind(after.map(|a| a.to_string()).unwrap_or_default())
        .bind(i64::from(limit))
        .fetch_all(e)
        .await
        .map_err(backend)?;
    rows.iter().map(data_key).collect()
}

pub async fn data_key_counts<'e>(e: impl SqliteExecutor<'e>) -> Result<Vec<(String, u64)>, StoreError> {
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
    e: impl SqliteExecutor<'e>,
    key_id: Uuid,
    from_kek: &str,
    wrapped: &WrappedKey,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE data_keys SET kek = ?, wrapped = ?, rewrapped_at = ? WHERE id = ? AND kek = ?")
        .bind(&wrapped.kek)
        .bind(&wrapped.bytes)
        .bind(unix_micros(now))
        .bind(key_id.to_string())
        .bind(from_kek)
        .execute(e)
        .await
        .map_err(backend)?;
    Ok(done.rows_affected() == 1)
}

pub async fn insert_data_key<'e>(e: impl SqliteExecutor<'e>, key: &StoredDataKey) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO data_keys (id, account_id, kek, wrapped, created_at, rewrapped_at) VALUES (?, ?, ?, ?, ?, ?) \
         ON CONFLICT (account_id) DO NOTHING",
    )
    .bind(key.owner.key_id.to_string())
    .bind(key.owner.account.to_string())
    .bind(&key.wrapped.kek)
    .bind(&key.wrapped.bytes)
    .bind(unix_micros(key.created_at))
    .bind(key.rewrapped_at.map(unix_micros))
    .execute(e)
    .await
    .map_err(backend)?;
    Ok(done.rows_affected() == 1)
}

pub async fn destroy_data_key<'e>(e: impl SqliteExecutor<'e>, account: AccountId) -> Result<bool, StoreError> {
    // `secure_delete` (set on every connection) overwrites the freed bytes.
    let done = sqlx::query("DELETE FROM data_keys WHERE account_id = ?")
        .bind(account.to_string())
        .execute(e)
        .await
        .map_err(backend)?;
    Ok(done.rows_affected() == 1)
}
