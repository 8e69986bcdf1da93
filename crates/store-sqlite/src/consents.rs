//! Consents on SQLite (see migration 0013): rows are only added; the
//! latest of a kind is what holds.

use cbt_domain::AccountId;
use cbt_domain::time::unix_micros;
use cbt_ports::{StoreError, StoredConsent};
use sqlx::{Row, SqliteExecutor};

use crate::accounts::{id_of, time_of};
use crate::backend;

pub async fn latest_consent<'e>(
    e: impl SqliteExecutor<'e>,
    account: AccountId,
    kind: &str,
) -> Result<Option<StoredConsent>, StoreError> {
    let row = sqlx::query(
        "SELECT id, account_id, kind, given, terms, recorded_at FROM consents \
         WHERE account_id = ?1 AND kind = ?2 ORDER BY recorded_at DESC, id DESC LIMIT 1",
    )
    .bind(account.to_string())
    .bind(kind)
    .fetch_optional(e)
    .await
    .map_err(backend)?;
    let Some(r) = row else { return Ok(None) };
    let text = |name: &str| r.try_get::<String, _>(name).map_err(backend);
    Ok(Some(StoredConsent {
        id: id_of(&text("id")?, "consent id")?,
        account: id_of(&text("account_id")?, "account id")?,
        kind: text("kind")?,
        given: r.try_get::<i64, _>("given").map_err(backend)? == 1,
        terms: text("terms")?,
        recorded_at: time_of(r.try_get("recorded_at").map_err(backend)?)?,
    }))
}

pub async fn insert_consent<'e>(e: impl SqliteExecutor<'e>, c: &StoredConsent) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO consents (id, account_id, kind, given, terms, recorded_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .bind(c.id.to_string())
    .bind(c.account.to_string())
    .bind(&c.kind)
    .bind(i64::from(c.given))
    .bind(&c.terms)
    .bind(unix_micros(c.recorded_at))
    .execute(e)
    .await
    .map_err(backend)?;
    Ok(())
}
