//! Custom worksheets on SQLite (see migration 0009). Every query takes the
//! account.

use cbt_domain::AccountId;
use cbt_domain::ids::WorksheetId;
use cbt_domain::time::unix_micros;
use cbt_ports::{StoreError, StoredWorksheet};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteExecutor};

use crate::accounts::{id_of, time_of};
use crate::backend;

const COLUMNS: &str = "id, account_id, version, sealed, created_at, updated_at";

fn worksheet(r: &SqliteRow) -> Result<StoredWorksheet, StoreError> {
    let id: String = r.try_get("id").map_err(backend)?;
    let account: String = r.try_get("account_id").map_err(backend)?;
    Ok(StoredWorksheet {
        id: id_of(&id, "worksheet id")?,
        account: id_of(&account, "account id")?,
        version: r.try_get("version").map_err(backend)?,
        sealed: r.try_get("sealed").map_err(backend)?,
        created_at: time_of(r.try_get("created_at").map_err(backend)?)?,
        updated_at: time_of(r.try_get("updated_at").map_err(backend)?)?,
    })
}

pub async fn worksheet_of<'e>(
    e: impl SqliteExecutor<'e>,
    account: AccountId,
    id: WorksheetId,
) -> Result<Option<StoredWorksheet>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM worksheets WHERE id = ? AND account_id = ?");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id.to_string())
        .bind(account.to_string())
        .fetch_optional(e)
        .await
        .map_err(backend)?;
    row.as_ref().map(worksheet).transpose()
}

pub async fn worksheets_of<'e>(
    e: impl SqliteExecutor<'e>,
    account: AccountId,
) -> Result<Vec<StoredWorksheet>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM worksheets WHERE account_id = ? ORDER BY created_at, id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(account.to_string()).fetch_all(e).await.map_err(backend)?;
    rows.iter().map(worksheet).collect()
}

pub async fn insert_worksheet(conn: &mut sqlx::SqliteConnection, w: &StoredWorksheet) -> Result<(), StoreError> {
    let sql = format!("INSERT INTO worksheets ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(w.id.to_string())
        .bind(w.account.to_string())
        .bind(w.version)
        .bind(&w.sealed)
        .bind(unix_micros(w.created_at))
        .bind(unix_micros(w.updated_at))
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    Ok(())
}

pub async fn update_worksheet(conn: &mut sqlx::SqliteConnection, w: &StoredWorksheet) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE worksheets SET version = ?, sealed = ?, updated_at = ? WHERE id = ? AND account_id = ? AND version = ?",
    )
    .bind(w.version)
    .bind(&w.sealed)
    .bind(unix_micros(w.updated_at))
    .bind(w.id.to_string())
    .bind(w.account.to_string())
    .bind(w.version - 1)
    .execute(&mut *conn)
    .await
    .map_err(backend)?;
    Ok(done.rows_affected() == 1)
}
