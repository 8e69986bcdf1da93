//! Clients' versions on SQLite (see migration 0007; the client rows are
//! documents, `documents.rs`). Every query takes the account: an
//! unscoped read cannot be written.

use cbt_domain::AccountId;
use cbt_domain::ids::ClientId;
use cbt_domain::time::unix_micros;
use cbt_ports::{StoreError, StoredClient, StoredClientVersion};
use sqlx::{Row, SqliteExecutor};

use crate::accounts::{id_of, time_of};
use crate::backend;
use crate::documents::{CLIENTS, insert_document, update_document};

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
    insert_document(&mut *conn, CLIENTS, c).await?;
    insert_version(&mut *conn, c.account, first).await
}

pub async fn update_client(
    conn: &mut sqlx::SqliteConnection,
    c: &StoredClient,
    version: &StoredClientVersion,
) -> Result<bool, StoreError> {
    if !update_document(&mut *conn, CLIENTS, c).await? {
        return Ok(false);
    }
    insert_version(&mut *conn, c.account, version).await?;
    Ok(true)
}
