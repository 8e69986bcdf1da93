//! Clients' versions on PostgreSQL (see migration 0007; the client rows
//! are documents, `documents.rs`). Every query takes the account: an
//! unscoped read cannot be written.

use cbt_domain::AccountId;
use cbt_domain::ids::ClientId;
use cbt_ports::{StoreError, StoredClient, StoredClientVersion};
use sqlx::{PgExecutor, Row};

use crate::backend;
use crate::documents::{CLIENTS, insert_document, update_document};

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
    insert_document(&mut *conn, CLIENTS, c).await?;
    insert_version(&mut *conn, c.account, first).await
}

pub async fn update_client(
    conn: &mut sqlx::PgConnection,
    c: &StoredClient,
    version: &StoredClientVersion,
) -> Result<bool, StoreError> {
    if !update_document(&mut *conn, CLIENTS, c).await? {
        return Ok(false);
    }
    insert_version(&mut *conn, c.account, version).await?;
    Ok(true)
}
