//! Consents on PostgreSQL (see migration 0013): rows are only added; the
//! latest of a kind is what holds.

use cbt_domain::AccountId;
use cbt_ports::{StoreError, StoredConsent};
use sqlx::{PgExecutor, Row};

use crate::backend;

pub async fn latest_consent<'e>(
    e: impl PgExecutor<'e>,
    account: AccountId,
    kind: &str,
) -> Result<Option<StoredConsent>, StoreError> {
    let row = sqlx::query(
        "SELECT id, account_id, kind, given, terms, recorded_at FROM consents \
         WHERE account_id = $1 AND kind = $2 ORDER BY recorded_at DESC, id DESC LIMIT 1",
    )
    .bind(account.as_uuid())
    .bind(kind)
    .fetch_optional(e)
    .await
    .map_err(backend)?;
    let Some(r) = row else { return Ok(None) };
    Ok(Some(StoredConsent {
        id: r.try_get("id").map_err(backend)?,
        account: AccountId::from_uuid(r.try_get("account_id").map_err(backend)?),
        kind: r.try_get("kind").map_err(backend)?,
        given: r.try_get("given").map_err(backend)?,
        terms: r.try_get("terms").map_err(backend)?,
        recorded_at: r.try_get("recorded_at").map_err(backend)?,
    }))
}

pub async fn insert_consent<'e>(e: impl PgExecutor<'e>, c: &StoredConsent) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO consents (id, account_id, kind, given, terms, recorded_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(c.id)
    .bind(c.account.as_uuid())
    .bind(&c.kind)
    .bind(c.given)
    .bind(&c.terms)
    .bind(c.recorded_at)
    .execute(e)
    .await
    .map_err(backend)?;
    Ok(())
}
