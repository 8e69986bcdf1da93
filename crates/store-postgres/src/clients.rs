//! Clients and their versions on PostgreSQL (see migration 0007). Every
//! query takes the account: an unscoped read cannot be written.

use cbt_domain::AccountId;
use cbt_domain::ids::ClientId;
use cbt_ports::{StoreError, StoredClient, StoredClientVersion};
use sqlx::postgres::PgRow;
use sqlx::{PgExecutor, Row};

use crate::backend;

const COLUMNS: &str = "id, account_id, version, sealed, created_at, updated_at";

fn client(r: &PgRow) -> Result<StoredClient, StoreError> {
    Ok(StoredClient {
        id: ClientId::from_uuid(r.try_get("id").map_err(backend)?),
        account: AccountId::from_uuid(r.try_get("account_id").map_err(backend)?),
        version: r.try_get("version").map_err(backend)?,
        sealed: r.try_get("sealed").map_err(backend)?,
        created_at: r.try_get("created_at").map_err(backend)?,
        updated_at: r.try_get("updated_at").map_err(backend)?,
    })
}

pub async fn client_of<'e>(
    e: impl PgExecutor<'e>,
    account: AccountId,
    id: ClientId,
) -> Result<Option<StoredClient>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM clients WHERE id = $1 AND account_id = $2");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id.as_uuid())
        .bind(account.as_uuid())
        .fetch_optional(e)
        .await
        .map_err(backend)?;
    row.as_ref().map(client).transpose()
}

pub async fn clients_of<'e>(e: impl PgExecutor<'e>, account: AccountId) -> Result<Vec<StoredClient>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM clients WHERE account_id = $1 ORDER BY created_at, id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(account.as_uuid()).fetch_all(e).await.map_err(backend)?;
    rows.iter().map(client).collect()
}

pub async fn client_versions<'e>(
    e: impl PgExecutor<'e>,
    account: AccountId,
    id: ClientId,
) -> Result<Vec<StoredClientVersion>, StoreError> {
    let rows = sqlx::query(
        "SELECT client_id, version, sealed, changed_by, changed_at FROM client_versions \
         WHERE client_id = $1 AND account_id = $2 ORDER BY version",
    )
    .bind(id.as_uuid())
    .bind(account.as_uuid())
    .fetch_all(e)
    .await
    .map_err(backend)?;
    rows.iter()
        .map(|r| {
            Ok(StoredClientVersion {
                client: ClientId::from_uuid(r.try_get("client_id").map_err(backend)?),
                version: r.try_get("version").map_err(backend)?,
                sealed: r.try_get("sealed").map_err(backend)?,
                changed_by: AccountId::from_uuid(r.try_get("changed_by").map_err(backend)?),
                changed_at: r.try_get("changed_at").map_err(backend)?,
            })
        })
        .collect()
}

async fn insert_version<'e>(
    e: impl PgExecutor<'e>,
    account: AccountId,
    v: &StoredClientVersion,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO client_versions (client_id, account_id, version, sealed, changed_by, changed_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(v.client.as_uuid())
    .bind(account.as_uuid())
    .bind(v.version)
    .bind(&v.sealed)
    .bind(v.changed_by.as_uuid())
    .bind(v.changed_at)
    .execute(e)
    .await
    .map(drop)
    .map_err(backend)
}

pub async fn insert_client(
    conn: &mut sqlx::PgConnection,
    c: &StoredClient,
    first: &StoredClientVersion,
) -> Result<(), StoreError> {
    let sql = format!("INSERT INTO clients ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(c.id.as_uuid())
        .bind(c.account.as_uuid())
        .bind(c.version)
        .bind(&c.sealed)
        .bind(c.created_at)
        .bind(c.updated_at)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    insert_version(&mut *conn, c.account, first).await
}

pub async fn update_client(
    conn: &mut sqlx::PgConnection,
    c: &StoredClient,
    version: &StoredClientVersion,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE clients SET version = $1, sealed = $2, updated_at = $3 \
         WHERE id = $4 AND account_id = $5 AND version = $6",
    )
    .bind(c.version)
    .bind(&c.sealed)
    .bind(c.updated_at)
    .bind(c.id.as_uuid())
    .bind(c.account.as_uuid())
    .bind(c.version - 1)
    .execute(&mut *conn)
    .await
    .map_err(backend)?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    insert_version(&mut *conn, c.account, version).await?;
    Ok(true)
}
