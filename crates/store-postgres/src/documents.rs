//! Sealed documents of an account on PostgreSQL: clients (migration 0007),
//! custom worksheets (0009), note indexes (0010), custom instruments and
//! risk flag lists (0011) share one row shape, so one set of queries
//! serves them all. Every query takes the account. `table` is always one
//! of the crate's constants, never input.

use cbt_domain::AccountId;
use cbt_domain::ids::TypedId;
use cbt_ports::{StoreError, StoredDocument};
use sqlx::postgres::PgRow;
use sqlx::{PgExecutor, Row};

use crate::backend;

pub const CLIENTS: &str = "clients";
pub const WORKSHEETS: &str = "worksheets";
pub const NOTE_INDEXES: &str = "note_indexes";
pub const INSTRUMENTS: &str = "instruments";
pub const RISK_FLAG_LISTS: &str = "risk_flag_lists";

const COLUMNS: &str = "id, account_id, version, sealed, created_at, updated_at";

pub fn document<Id: TypedId>(r: &PgRow) -> Result<StoredDocument<Id>, StoreError> {
    Ok(StoredDocument {
        id: Id::from_uuid(r.try_get("id").map_err(backend)?),
        account: AccountId::from_uuid(r.try_get("account_id").map_err(backend)?),
        version: r.try_get("version").map_err(backend)?,
        sealed: r.try_get("sealed").map_err(backend)?,
        created_at: r.try_get("created_at").map_err(backend)?,
        updated_at: r.try_get("updated_at").map_err(backend)?,
    })
}

pub async fn document_of<'e, Id: TypedId>(
    e: impl PgExecutor<'e>,
    table: &'static str,
    account: AccountId,
    id: Id,
) -> Result<Option<StoredDocument<Id>>, StoreError> {
    select_one(e, table, account, id, "").await
}

/// The account's document `id`; `lock` follows the WHERE (`FOR UPDATE`, or
/// nothing).
async fn select_one<'e, Id: TypedId>(
    e: impl PgExecutor<'e>,
    table: &'static str,
    account: AccountId,
    id: Id,
    lock: &'static str,
) -> Result<Option<StoredDocument<Id>>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM {table} WHERE id = $1 AND account_id = $2{lock}");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id.as_uuid())
        .bind(account.as_uuid())
        .fetch_optional(e)
        .await
        .map_err(backend)?;
    row.as_ref().map(document).transpose()
}

/// As [`document_of`], inside a write transaction, locking the row until
/// the transaction ends: writers of the same document take turns.
pub async fn document_for_update<Id: TypedId>(
    conn: &mut sqlx::PgConnection,
    table: &'static str,
    account: AccountId,
    id: Id,
) -> Result<Option<StoredDocument<Id>>, StoreError> {
    select_one(&mut *conn, table, account, id, " FOR UPDATE").await
}

pub async fn documents_of<'e, Id: TypedId>(
    e: impl PgExecutor<'e>,
    table: &'static str,
    account: AccountId,
) -> Result<Vec<StoredDocument<Id>>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM {table} WHERE account_id = $1 ORDER BY created_at, id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(account.as_uuid()).fetch_all(e).await.map_err(backend)?;
    rows.iter().map(document).collect()
}

pub async fn insert_document<Id: TypedId>(
    conn: &mut sqlx::PgConnection,
    table: &'static str,
    d: &StoredDocument<Id>,
) -> Result<(), StoreError> {
    insert_row(conn, table, d, "").await.map(drop)
}

/// Inserts `d`; `then` follows the VALUES (an `ON CONFLICT` clause, or
/// nothing). Answers how many rows were written.
async fn insert_row<Id: TypedId>(
    conn: &mut sqlx::PgConnection,
    table: &'static str,
    d: &StoredDocument<Id>,
    then: &'static str,
) -> Result<u64, StoreError> {
    let sql = format!("INSERT INTO {table} ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6){then}");
    let done = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(d.id.as_uuid())
        .bind(d.account.as_uuid())
        .bind(d.version)
        .bind(&d.sealed)
        .bind(d.created_at)
        .bind(d.updated_at)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    Ok(done.rows_affected())
}

/// Saves `d` if the row is still at the version before it (else `false`,
/// nothing written).
pub async fn update_document<Id: TypedId>(
    conn: &mut sqlx::PgConnection,
    table: &'static str,
    d: &StoredDocument<Id>,
) -> Result<bool, StoreError> {
    let sql = format!(
        "UPDATE {table} SET version = $1, sealed = $2, updated_at = $3 \
         WHERE id = $4 AND account_id = $5 AND version = $6"
    );
    let done = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(d.version)
        .bind(&d.sealed)
        .bind(d.updated_at)
        .bind(d.id.as_uuid())
        .bind(d.account.as_uuid())
        .bind(d.version - 1)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    Ok(done.rows_affected() == 1)
}

/// Saves `d`: version 1 is inserted unless the row exists, later versions
/// replace the one before; `false` (nothing written) when another writer
/// got there first.
pub async fn put_document<Id: TypedId>(
    conn: &mut sqlx::PgConnection,
    table: &'static str,
    d: &StoredDocument<Id>,
) -> Result<bool, StoreError> {
    if d.version > 1 {
        return update_document(conn, table, d).await;
    }
    Ok(insert_row(conn, table, d, " ON CONFLICT (id) DO NOTHING").await? == 1)
}
