//! Custom worksheets on PostgreSQL (see migration 0009). Every query takes
//! the account.

use cbt_domain::AccountId;
use cbt_domain::ids::WorksheetId;
use cbt_ports::{StoreError, StoredWorksheet};
use sqlx::postgres::PgRow;
use sqlx::{PgExecutor, Row};

use crate::backend;

const COLUMNS: &str = "id, account_id, version, sealed, created_at, updated_at";

fn worksheet(r: &PgRow) -> Result<StoredWorksheet, StoreError> {
    Ok(StoredWorksheet {
        id: WorksheetId::from_uuid(r.try_get("id").map_err(backend)?),
        account: AccountId::from_uuid(r.try_get("account_id").map_err(backend)?),
        version: r.try_get("version").map_err(backend)?,
        sealed: r.try_get("sealed").map_err(backend)?,
        created_at: r.try_get("created_at").map_err(backend)?,
        updated_at: r.try_get("updated_at").map_err(backend)?,
    })
}

pub async fn worksheet_of<'e>(
    e: impl PgExecutor<'e>,
    account: AccountId,
    id: WorksheetId,
) -> Result<Option<StoredWorksheet>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM worksheets WHERE id = $1 AND account_id = $2");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id.as_uuid())
        .bind(account.as_uuid())
        .fetch_optional(e)
        .await
        .map_err(backend)?;
    row.as_ref().map(worksheet).transpose()
}

pub async fn worksheets_of<'e>(e: impl PgExecutor<'e>, account: AccountId) -> Result<Vec<StoredWorksheet>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM worksheets WHERE account_id = $1 ORDER BY created_at, id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(account.as_uuid()).fetch_all(e).await.map_err(backend)?;
    rows.iter().map(worksheet).collect()
}

pub async fn insert_worksheet(conn: &mut sqlx::PgConnection, w: &StoredWorksheet) -> Result<(), StoreError> {
    let sql = format!("INSERT INTO worksheets ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(w.id.as_uuid())
        .bind(w.account.as_uuid())
        .bind(w.version)
        .bind(&w.sealed)
        .bind(w.created_at)
        .bind(w.updated_at)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    Ok(())
}

pub async fn update_worksheet(conn: &mut sqlx::PgConnection, w: &StoredWorksheet) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE worksheets SET version = $1, sealed = $2, updated_at = $3 \
         WHERE id = $4 AND account_id = $5 AND version = $6",
    )
    .bind(w.version)
    .bind(&w.sealed)
    .bind(w.updated_at)
    .bind(w.id.as_uuid())
    .bind(w.account.as_uuid())
    .bind(w.version - 1)
    .execute(&mut *conn)
    .await
    .map_err(backend)?;
    Ok(done.rows_affected() == 1)
}
