//! Clients and their versions on SQLite (see migration 0007). Every query
//! takes the account: an unscoped read cannot be written.

use cbt_domain::AccountId;
use cbt_domain::ids::ClientId;
use cbt_domain::time::unix_micros;
use cbt_ports::{StoreError, StoredClient, StoredClientVersion};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteExecutor};

use crate::accounts::{id_of, time_of};
use crate::backend;

const COLUMNS: &str = "id, account_id, version, sealed, created_at, updated_at";

fn client(r: &SqliteRow) -> Result<StoredClient, StoreError> {
    let id: String = r.try_get("id").map_err(backend)?;
    let account: String = r.try_get("account_id").map_err(backend)?;
    Ok(StoredClient {
        id: id_of(&id, "client id")?,
        account: id_of(&account, "account id")?,
        version: r.try_get("version").map_err(backend)?,
        sealed: r.try_get("sealed").map_err(backend)?,
        created_at: time_of(r.try_get("created_at").map_err(backend)?)?,
        updated_at: time_of(r.try_get("updated_at").map_err(backend)?)?,
    })
}

pub async fn client_of<'e>(
    e: impl SqliteExecutor<'e>,
    account: AccountId,
    id: ClientId,
) -> Result<Option<StoredClient>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM clients WHERE id = ? AND account_id = ?");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id.to_string())
        .bind(account.to_string())
        .fetch_optional(e)
        .await
        .map_err(backend)?;
    row.as_ref().map(client).transpose()
}

pub async fn clients_of<'e>(e: impl SqliteExecutor<'e>, account: AccountId) -> Result<Vec<StoredClient>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM clients WHERE account_id = ? ORDER BY created_at, id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(account.to_string()).fetch_all(e).await.map_err(backend)?;
    rows.iter().map(client).collect()
}

pub async fn client_versions<'e>(
    e: impl SqliteExecutor<'e>,
    account: AccountId,
    id: ClientId,
) -> Result<Vec<StoredClientVersion>, StoreError> {
    let rows = sqlx::query(
        "SELECT client_id, version, sealed, changed_by, changed_at FROM client_versions \
         WHERE client_id = ? AND account_id = ? ORDER BY version",
    )
    .bind(id.to_string())
    .bind(account.to_string())
    .fetch_all(e)
    .await
    .map_err(backend)?;
    rows.iter()
        .map(|r| {
            let client: String = r.try_get("client_id").map_err(backend)?;
            let by: String = r.try_get("changed_by").map_err(backend)?;
            Ok(StoredClientVersion {
                client: id_of(&client, "client id")?,
                version: r.try_get("version").map_err(backend)?,
                sealed: r.try_get("sealed").map_err(backend)?,
                changed_by: id_of(&by, "account id")?,
                changed_at: time_of(r.try_get("changed_at").map_err(backend)?)?,
            })
        })
        .collect()
}

async fn insert_version<'e>(
    e: impl SqliteExecutor<'e>,
    account: AccountId,
    v: &StoredClientVersion,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO client_versions (client_id, account_id, version, sealed, changed_by, changed_at) \
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(v.client.to_string())
    .bind(account.to_string())
    .bind(v.version)
    .bind(&v.sealed)
    .bind(v.changed_by.to_string())
    .bind(unix_micros(v.changed_at))
    .execute(e)
    .await
    .map(drop)
    .map_err(backend)
}

pub async fn insert_client(
    conn: &mut sqlx::SqliteConnection,
    c: &StoredClient,
    first: &StoredClientVersion,
) -> Result<(), StoreError> {
    let sql = format!("INSERT INTO clients ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(c.id.to_string())
        .bind(c.account.to_string())
        .bind(c.version)
        .bind(&c.sealed)
        .bind(unix_micros(c.created_at))
        .bind(unix_micros(c.updated_at))
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    insert_version(&mut *conn, c.account, first).await
}

pub async fn update_client(
    conn: &mut sqlx::SqliteConnection,
    c: &StoredClient,
    version: &StoredClientVersion,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE clients SET version = ?, sealed = ?, updated_at = ? WHERE id = ? AND account_id = ? AND version = ?",
    )
    .bind(c.version)
    .bind(&c.sealed)
    .bind(unix_micros(c.updated_at))
    .bind(c.id.to_string())
    .bind(c.account.to_string())
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
