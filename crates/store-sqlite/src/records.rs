//! Clinical records, their versions and addenda on SQLite (see migration
//! 0008). Every query takes the account.

use cbt_domain::AccountId;
use cbt_domain::ids::{ClientId, RecordId};
use cbt_domain::time::unix_micros;
use cbt_ports::{ClientPagePart, StoreError, StoredAddendum, StoredClientPage, StoredRecord, StoredRecordVersion};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteExecutor};

use crate::accounts::{id_of, opt_time, time_of};
use crate::{backend, documents};

const COLUMNS: &str = "id, account_id, client_id, kind, version, sealed, signed_at, created_at, updated_at";

fn record(r: &SqliteRow) -> Result<StoredRecord, StoreError> {
    let text = |name: &str| r.try_get::<String, _>(name).map_err(backend);
    Ok(StoredRecord {
        id: id_of(&text("id")?, "record id")?,
        account: id_of(&text("account_id")?, "account id")?,
        client: id_of(&text("client_id")?, "client id")?,
        kind: text("kind")?,
        version: r.try_get("version").map_err(backend)?,
        sealed: r.try_get("sealed").map_err(backend)?,
        signed_at: opt_time(r.try_get("signed_at").map_err(backend)?)?,
        created_at: time_of(r.try_get("created_at").map_err(backend)?)?,
        updated_at: time_of(r.try_get("updated_at").map_err(backend)?)?,
    })
}

pub async fn record_of<'e>(
    e: impl SqliteExecutor<'e>,
    account: AccountId,
    id: RecordId,
) -> Result<Option<StoredRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM records WHERE id = ? AND account_id = ?");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id.to_string())
        .bind(account.to_string())
        .fetch_optional(e)
        .await
        .map_err(backend)?;
    row.as_ref().map(record).transpose()
}

/// The client's page in one statement: the client (part 0), the note
/// index (part 1) and the records of `kinds` (part 2), as rows of one
/// shape.
pub async fn client_page<'e>(
    e: impl SqliteExecutor<'e>,
    account: AccountId,
    client: ClientId,
    kinds: &[&str],
) -> Result<Option<StoredClientPage>, StoreError> {
    // One numbered placeholder per kind (?3, ?4, ...; sqlx counts a bare
    // `?` from 1 whatever numbers come before it), the kinds themselves
    // bound. No kinds: `IN ()` is valid SQLite and matches nothing.
    let places = (3..3 + kinds.len()).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ");
    let sql = format!(
        "SELECT 0 AS part, id, account_id, id AS client_id, '' AS kind, version, sealed, \
                NULL AS signed_at, created_at, updated_at \
           FROM clients WHERE id = ?1 AND account_id = ?2 \
         UNION ALL \
         SELECT 1, id, account_id, id, '', version, sealed, NULL, created_at, updated_at \
           FROM note_indexes WHERE id = ?1 AND account_id = ?2 \
         UNION ALL \
         SELECT 2, id, account_id, client_id, kind, version, sealed, signed_at, created_at, updated_at \
           FROM records WHERE account_id = ?2 AND client_id = ?1 AND kind IN ({places}) \
         ORDER BY part, created_at, id"
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(client.to_string()).bind(account.to_string());
    for kind in kinds {
        query = query.bind(*kind);
    }
    let rows = query.fetch_all(e).await.map_err(backend)?;
    let part = |r: &SqliteRow| ClientPagePart::from_tag(r.try_get::<i64, _>("part").map_err(backend)?);
    StoredClientPage::from_rows(&rows, part, documents::document, record)
}

pub async fn records_of<'e>(
    e: impl SqliteExecutor<'e>,
    account: AccountId,
    client: ClientId,
    kinds: &[&str],
) -> Result<Vec<StoredRecord>, StoreError> {
    if kinds.is_empty() {
        return Ok(Vec::new());
    }
    // One placeholder per kind; the kinds themselves are bound.
    let places = vec!["?"; kinds.len()].join(", ");
    let sql = format!(
        "SELECT {COLUMNS} FROM records WHERE account_id = ? AND client_id = ? AND kind IN ({places}) \
         ORDER BY created_at, id"
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(account.to_string()).bind(client.to_string());
    for kind in kinds {
        query = query.bind(*kind);
    }
    let rows = query.fetch_all(e).await.map_err(backend)?;
    rows.iter().map(record).collect()
}

pub async fn record_versions<'e>(
    e: impl SqliteExecutor<'e>,
    account: AccountId,
    id: RecordId,
) -> Result<Vec<StoredRecordVersion>, StoreError> {
    let rows = sqlx::query(
        "SELECT record_id, version, sealed, changed_by, changed_at FROM record_versions \
         WHERE record_id = ? AND account_id = ? ORDER BY version",
    )
    .bind(id.to_string())
    .bind(account.to_string())
    .fetch_all(e)
    .await
    .map_err(backend)?;
    rows.iter()
        .map(|r| {
            let text = |name: &str| r.try_get::<String, _>(name).map_err(backend);
            Ok(StoredRecordVersion {
                record: id_of(&text("record_id")?, "record id")?,
                version: r.try_get("version").map_err(backend)?,
                sealed: r.try_get("sealed").map_err(backend)?,
                changed_by: id_of(&text("changed_by")?, "account id")?,
                changed_at: time_of(r.try_get("changed_at").map_err(backend)?)?,
            })
        })
        .collect()
}

pub async fn addenda_of<'e>(
    e: impl SqliteExecutor<'e>,
    account: AccountId,
    id: RecordId,
) -> Result<Vec<StoredAddendum>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, record_id, sealed, added_by, added_at FROM record_addenda \
         WHERE record_id = ? AND account_id = ? ORDER BY added_at, id",
    )
    .bind(id.to_string())
    .bind(account.to_string())
    .fetch_all(e)
    .await
    .map_err(backend)?;
    rows.iter()
        .map(|r| {
            let text = |name: &str| r.try_get::<String, _>(name).map_err(backend);
            Ok(StoredAddendum {
                id: id_of(&text("id")?, "addendum id")?,
                record: id_of(&text("record_id")?, "record id")?,
                sealed: r.try_get("sealed").map_err(backend)?,
                added_by: id_of(&text("added_by")?, "account id")?,
                added_at: time_of(r.try_get("added_at").map_err(backend)?)?,
            })
        })
        .collect()
}

async fn insert_version<'e>(
    e: impl SqliteExecutor<'e>,
    account: AccountId,
    v: &StoredRecordVersion,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO record_versions (record_id, account_id, version, sealed, changed_by, changed_at) \
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(v.record.to_string())
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

pub async fn insert_record(
    conn: &mut sqlx::SqliteConnection,
    r: &StoredRecord,
    first: &StoredRecordVersion,
) -> Result<(), StoreError> {
    // The client must be the account's too.
    let sql = format!(
        "INSERT INTO records ({COLUMNS}) SELECT ?, ?, ?, ?, ?, ?, ?, ?, ? \
         WHERE EXISTS (SELECT 1 FROM clients WHERE id = ? AND account_id = ?)"
    );
    let done = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(r.id.to_string())
        .bind(r.account.to_string())
        .bind(r.client.to_string())
        .bind(&r.kind)
        .bind(r.version)
        .bind(&r.sealed)
        .bind(r.signed_at.map(unix_micros))
        .bind(unix_micros(r.created_at))
        .bind(unix_micros(r.updated_at))
        .bind(r.client.to_string())
        .bind(r.account.to_string())
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    if done.rows_affected() != 1 {
        return Err(StoreError::Corrupt { what: "client of a new record" });
    }
    insert_version(&mut *conn, r.account, first).await
}

pub async fn update_record(
    conn: &mut sqlx::SqliteConnection,
    r: &StoredRecord,
    version: &StoredRecordVersion,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE records SET version = ?, sealed = ?, signed_at = ?, updated_at = ? \
         WHERE id = ? AND account_id = ? AND version = ? AND signed_at IS NULL",
    )
    .bind(r.version)
    .bind(&r.sealed)
    .bind(r.signed_at.map(unix_micros))
    .bind(unix_micros(r.updated_at))
    .bind(r.id.to_string())
    .bind(r.account.to_string())
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
    e: impl SqliteExecutor<'e>,
    account: AccountId,
    a: &StoredAddendum,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO record_addenda (id, record_id, account_id, sealed, added_by, added_at) \
         SELECT ?, ?, ?, ?, ?, ? WHERE EXISTS \
         (SELECT 1 FROM records WHERE id = ? AND account_id = ? AND signed_at IS NOT NULL)",
    )
    .bind(a.id.to_string())
    .bind(a.record.to_string())
    .bind(account.to_string())
    .bind(&a.sealed)
    .bind(a.added_by.to_string())
    .bind(unix_micros(a.added_at))
    .bind(a.record.to_string())
    .bind(account.to_string())
    .execute(e)
    .await
    .map_err(backend)?;
    Ok(done.rows_affected() == 1)
}
