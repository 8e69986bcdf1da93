//! Clinical records, their versions and addenda on PostgreSQL (see migration
//! 0008). Every query takes the account.

use cbt_domain::AccountId;
use cbt_domain::ids::{AddendumId, ClientId, RecordId};
use cbt_ports::{ClientPagePart, StoreError, StoredAddendum, StoredClientPage, StoredRecord, StoredRecordVersion};
use sqlx::postgres::PgRow;
use sqlx::{PgExecutor, Row};

use crate::{backend, documents};

const COLUMNS: &str = "id, account_id, client_id, kind, version, sealed, signed_at, created_at, updated_at";

fn record(r: &PgRow) -> Result<StoredRecord, StoreError> {
    Ok(StoredRecord {
        id: RecordId::from_uuid(r.try_get("id").map_err(backend)?),
        account: AccountId::from_uuid(r.try_get("account_id").map_err(backend)?),
        client: ClientId::from_uuid(r.try_get("client_id").map_err(backend)?),
        kind: r.try_get("kind").map_err(backend)?,
        version: r.try_get("version").map_err(backend)?,
        sealed: r.try_get("sealed").map_err(backend)?,
        signed_at: r.try_get("signed_at").map_err(backend)?,
        created_at: r.try_get("created_at").map_err(backend)?,
        updated_at: r.try_get("updated_at").map_err(backend)?,
    })
}

pub async fn record_of<'e>(
    e: impl PgExecutor<'e>,
    account: AccountId,
    id: RecordId,
) -> Result<Option<StoredRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM records WHERE id = $1 AND account_id = $2");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id.as_uuid())
        .bind(account.as_uuid())
        .fetch_optional(e)
        .await
        .map_err(backend)?;
    row.as_ref().map(record).transpose()
}

/// The client's page in one statement: the client (part 0), the note
/// index (part 1) and the records of `kinds` (part 2), as rows of one
/// shape. The text is fixed (the kinds are an array), so it is prepared
/// once per connection.
pub async fn client_page<'e>(
    e: impl PgExecutor<'e>,
    account: AccountId,
    client: ClientId,
    kinds: &[&str],
) -> Result<Option<StoredClientPage>, StoreError> {
    let kinds: Vec<String> = kinds.iter().map(|k| (*k).to_owned()).collect();
    let rows = sqlx::query(
        "SELECT 0 AS part, id, account_id, id AS client_id, '' AS kind, version, sealed, \
                NULL::TIMESTAMPTZ AS signed_at, created_at, updated_at \
           FROM clients WHERE id = $2 AND account_id = $1 \
         UNION ALL \
         SELECT 1, id, account_id, id, '', version, sealed, NULL, created_at, updated_at \
           FROM note_indexes WHERE id = $2 AND account_id = $1 \
         UNION ALL \
         SELECT 2, id, account_id, client_id, kind, version, sealed, signed_at, created_at, updated_at \
           FROM records WHERE account_id = $1 AND client_id = $2 AND kind = ANY($3) \
         ORDER BY part, created_at, id",
    )
    .bind(account.as_uuid())
    .bind(client.as_uuid())
    .bind(kinds)
    .fetch_all(e)
    .await
    .map_err(backend)?;
    let part = |r: &PgRow| ClientPagePart::from_tag(r.try_get::<i32, _>("part").map_err(backend)?.into());
    StoredClientPage::from_rows(&rows, part, documents::document, record)
}

pub async fn records_of<'e>(
    e: impl PgExecutor<'e>,
    account: AccountId,
    client: ClientId,
    kinds: &[&str],
) -> Result<Vec<StoredRecord>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM records WHERE account_id = $1 AND client_id = $2 AND kind = ANY($3) \
         ORDER BY created_at, id"
    );
    let kinds: Vec<String> = kinds.iter().map(|k| (*k).to_owned()).collect();
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(account.as_uuid())
        .bind(client.as_uuid())
        .bind(kinds)
        .fetch_all(e)
        .await
        .map_err(backend)?;
    rows.iter().map(record).collect()
}

pub async fn record_versions<'e>(
    e: impl PgExecutor<'e>,
    account: AccountId,
    id: RecordId,
) -> Result<Vec<StoredRecordVersion>, StoreError> {
    let rows = sqlx::query(
        "SELECT record_id, version, sealed, changed_by, changed_at FROM record_versions \
         WHERE record_id = $1 AND account_id = $2 ORDER BY version",
    )
    .bind(id.as_uuid())
    .bind(account.as_uuid())
    .fetch_all(e)
    .await
    .map_err(backend)?;
    rows.iter()
        .map(|r| {
            Ok(StoredRecordVersion {
                record: RecordId::from_uuid(r.try_get("record_id").map_err(backend)?),
                version: r.try_get("version").map_err(backend)?,
                sealed: r.try_get("sealed").map_err(backend)?,
                changed_by: AccountId::from_uuid(r.try_get("changed_by").map_err(backend)?),
                changed_at: r.try_get("changed_at").map_err(backend)?,
            })
        })
        .collect()
}

pub async fn addenda_of<'e>(
    e: impl PgExecutor<'e>,
    account: AccountId,
    id: RecordId,
) -> Result<Vec<StoredAddendum>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, record_id, sealed, added_by, added_at FROM record_addenda \
         WHERE record_id = $1 AND account_id = $2 ORDER BY added_at, id",
    )
    .bind(id.as_uuid())
    .bind(account.as_uuid())
    .fetch_all(e)
    .await
    .map_err(backend)?;
    rows.iter()
        .map(|r| {
            Ok(StoredAddendum {
                id: AddendumId::from_uuid(r.try_get("id").map_err(backend)?),
                record: RecordId::from_uuid(r.try_get("record_id").map_err(backend)?),
                sealed: r.try_get("sealed").map_err(backend)?,
                added_by: AccountId::from_uuid(r.try_get("added_by").map_err(backend)?),
                added_at: r.try_get("added_at").map_err(backend)?,
            })
        })
        .collect()
}

async fn insert_version<'e>(
    e: impl PgExecutor<'e>,
    account: AccountId,
    v: &StoredRecordVersion,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO record_versions (record_id, account_id, version, sealed, changed_by, changed_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(v.record.as_uuid())
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

pub async fn insert_record(
    conn: &mut sqlx::PgConnection,
    r: &StoredRecord,
    first: &StoredRecordVersion,
) -> Result<(), StoreError> {
    // The client must be the account's too.
    let sql = format!(
        "INSERT INTO records ({COLUMNS}) SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9 \
         WHERE EXISTS (SELECT 1 FROM clients WHERE id = $10 AND account_id = $11)"
    );
    let done = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(r.id.as_uuid())
        .bind(r.account.as_uuid())
        .bind(r.client.as_uuid())
        .bind(&r.kind)
        .bind(r.version)
        .bind(&r.sealed)
        .bind(r.signed_at)
        .bind(r.created_at)
        .bind(r.updated_at)
        .bind(r.client.as_uuid())
        .bind(r.account.as_uuid())
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    if done.rows_affected() != 1 {
        return Err(StoreError::Corrupt { what: "client of a new record" });
    }
    insert_version(&mut *conn, r.account, first).await
}

pub async fn update_record(
    conn: &mut sqlx::PgConnection,
    r: &StoredRecord,
    version: &StoredRecordVersion,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE records SET version = $1, sealed = $2, signed_at = $3, updated_at = $4 \
         WHERE id = $5 AND account_id = $6 AND version = $7 AND signed_at IS NULL",
    )
    .bind(r.version)
    .bind(&r.sealed)
    .bind(r.signed_at)
    .bind(r.updated_at)
    .bind(r.id.as_uuid())
    .bind(r.account.as_uuid())
    .bind(r.version - 1)
    .execute(&mut *conn)
    .await
    .map_err(backend)?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    insert_version(&mut *conn, r.account, version).await?;
    Ok(true)
}

pub async fn insert_addendum<'e>(
    e: impl PgExecutor<'e>,
    account: AccountId,
    a: &StoredAddendum,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO record_addenda (id, record_id, account_id, sealed, added_by, added_at) \
         SELECT $1, $2, $3, $4, $5, $6 WHERE EXISTS \
         (SELECT 1 FROM records WHERE id = $7 AND account_id = $8 AND signed_at IS NOT NULL)",
    )
    .bind(a.id.as_uuid())
    .bind(a.record.as_uuid())
    .bind(account.as_uuid())
    .bind(&a.sealed)
    .bind(a.added_by.as_uuid())
    .bind(a.added_at)
    .bind(a.record.as_uuid())
    .bind(account.as_uuid())
    .execute(e)
    .await
    .map_err(backend)?;
    Ok(done.rows_affected() == 1)
}
