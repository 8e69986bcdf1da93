//! Client self-report links on PostgreSQL (see migration 0011). The token
//! is kept only as its hash. A link changes state by one conditional
//! UPDATE each: a second writer waits for the first one's row lock, then
//! checks its conditions again on the row the first one left, so a link
//! is opened once, used once, and never after it expired or was revoked.

use cbt_domain::AccountId;
use cbt_domain::ids::{ClientId, ClientLinkId, RecordId};
use cbt_ports::{StoreError, StoredClientLink};
use sqlx::postgres::PgRow;
use sqlx::{PgExecutor, Row};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::backend;

const COLUMNS: &str =
    "id, account_id, client_id, token_hash, sealed, created_at, expires_at, opened_at, used_at, revoked_at, result_id";

fn link(r: &PgRow) -> Result<StoredClientLink, StoreError> {
    Ok(StoredClientLink {
        id: ClientLinkId::from_uuid(r.try_get("id").map_err(backend)?),
        account: AccountId::from_uuid(r.try_get("account_id").map_err(backend)?),
        client: ClientId::from_uuid(r.try_get("client_id").map_err(backend)?),
        token_hash: r.try_get("token_hash").map_err(backend)?,
        sealed: r.try_get("sealed").map_err(backend)?,
        created_at: r.try_get("created_at").map_err(backend)?,
        expires_at: r.try_get("expires_at").map_err(backend)?,
        opened_at: r.try_get("opened_at").map_err(backend)?,
        used_at: r.try_get("used_at").map_err(backend)?,
        revoked_at: r.try_get("revoked_at").map_err(backend)?,
        result: r.try_get::<Option<Uuid>, _>("result_id").map_err(backend)?.map(RecordId::from_uuid),
    })
}

/// The link with this token hash, whoever's it is.
pub async fn link_by_token<'e>(
    e: impl PgExecutor<'e>,
    token_hash: &[u8],
) -> Result<Option<StoredClientLink>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM client_links WHERE token_hash = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(token_hash).fetch_optional(e).await.map_err(backend)?;
    row.as_ref().map(link).transpose()
}

pub async fn link_of<'e>(
    e: impl PgExecutor<'e>,
    account: AccountId,
    id: ClientLinkId,
) -> Result<Option<StoredClientLink>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM client_links WHERE id = $1 AND account_id = $2");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id.as_uuid())
        .bind(account.as_uuid())
        .fetch_optional(e)
        .await
        .map_err(backend)?;
    row.as_ref().map(link).transpose()
}

pub async fn links_of<'e>(
    e: impl PgExecutor<'e>,
    account: AccountId,
    client: ClientId,
) -> Result<Vec<StoredClientLink>, StoreError> {
    let sql =
        format!("SELECT {COLUMNS} FROM client_links WHERE account_id = $1 AND client_id = $2 ORDER BY created_at, id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(account.as_uuid())
        .bind(client.as_uuid())
        .fetch_all(e)
        .await
        .map_err(backend)?;
    rows.iter().map(link).collect()
}

pub async fn insert_link<'e>(e: impl PgExecutor<'e>, l: &StoredClientLink) -> Result<(), StoreError> {
    // The client must be the account's too.
    let sql = format!(
        "INSERT INTO client_links ({COLUMNS}) SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 \
         WHERE EXISTS (SELECT 1 FROM clients WHERE id = $3 AND account_id = $2)"
    );
    let done = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(l.id.as_uuid())
        .bind(l.account.as_uuid())
        .bind(l.client.as_uuid())
        .bind(&l.token_hash)
        .bind(&l.sealed)
        .bind(l.created_at)
        .bind(l.expires_at)
        .bind(l.opened_at)
        .bind(l.used_at)
        .bind(l.revoked_at)
        .bind(l.result.map(|r| r.as_uuid()))
        .execute(e)
        .await;
    match done {
        Ok(done) if done.rows_affected() == 1 => Ok(()),
        Ok(_) => Err(StoreError::Corrupt { what: "client of a new client link" }),
        Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
            Err(StoreError::Duplicate { what: "client link" })
        }
        Err(e) => Err(backend(e)),
    }
}

/// Notes the first opening of a usable link; false when it was opened
/// before, or is used, revoked or expired at `now`.
pub async fn open_link<'e>(e: impl PgExecutor<'e>, id: ClientLinkId, now: OffsetDateTime) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE client_links SET opened_at = $1 \
         WHERE id = $2 AND opened_at IS NULL AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $1",
    )
    .bind(now)
    .bind(id.as_uuid())
    .execute(e)
    .await
    .map_err(backend)?;
    Ok(done.rows_affected() == 1)
}

/// Uses a link, in one statement: true only for the caller whose UPDATE
/// found it unused, unrevoked and unexpired at `now`.
pub async fn use_link<'e>(
    e: impl PgExecutor<'e>,
    id: ClientLinkId,
    now: OffsetDateTime,
    result: RecordId,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE client_links SET used_at = $1, result_id = $2 \
         WHERE id = $3 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $1",
    )
    .bind(now)
    .bind(result.as_uuid())
    .bind(id.as_uuid())
    .execute(e)
    .await
    .map_err(backend)?;
    Ok(done.rows_affected() == 1)
}

/// Revokes one of the account's links that is neither used nor revoked.
pub async fn revoke_link<'e>(
    e: impl PgExecutor<'e>,
    account: AccountId,
    id: ClientLinkId,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE client_links SET revoked_at = $1 \
         WHERE id = $2 AND account_id = $3 AND used_at IS NULL AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(id.as_uuid())
    .bind(account.as_uuid())
    .execute(e)
    .await
    .map_err(backend)?;
    Ok(done.rows_affected() == 1)
}
