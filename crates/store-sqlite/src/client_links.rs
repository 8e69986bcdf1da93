//! Client self-report links on SQLite (see migration 0011). The token is
//! kept only as its hash. A link changes state by one conditional UPDATE
//! each: whoever's statement matches the row wins, so a link is opened
//! once, used once, and never after it expired or was revoked.

use cbt_domain::AccountId;
use cbt_domain::ids::{ClientId, ClientLinkId, RecordId};
use cbt_domain::time::unix_micros;
use cbt_ports::{StoreError, StoredClientLink};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteExecutor};
use time::OffsetDateTime;

use crate::accounts::{id_of, opt_time, time_of};
use crate::backend;

const COLUMNS: &str =
    "id, account_id, client_id, token_hash, sealed, created_at, expires_at, opened_at, used_at, revoked_at, result_id";

fn link(r: &SqliteRow) -> Result<StoredClientLink, StoreError> {
    let text = |name: &str| r.try_get::<String, _>(name).map_err(backend);
    let result: Option<String> = r.try_get("result_id").map_err(backend)?;
    Ok(StoredClientLink {
        id: id_of(&text("id")?, "client link id")?,
        account: id_of(&text("account_id")?, "account id")?,
        client: id_of(&text("client_id")?, "client id")?,
        token_hash: r.try_get("token_hash").map_err(backend)?,
        sealed: r.try_get("sealed").map_err(backend)?,
        created_at: time_of(r.try_get("created_at").map_err(backend)?)?,
        expires_at: time_of(r.try_get("expires_at").map_err(backend)?)?,
        opened_at: opt_time(r.try_get("opened_at").map_err(backend)?)?,
        used_at: opt_time(r.try_get("used_at").map_err(backend)?)?,
        revoked_at: opt_time(r.try_get("revoked_at").map_err(backend)?)?,
        result: result.map(|id| id_of::<RecordId>(&id, "record id")).transpose()?,
    })
}

/// The link with this token hash, whoever's it is.
pub async fn link_by_token<'e>(
    e: impl SqliteExecutor<'e>,
    token_hash: &[u8],
) -> Result<Option<StoredClientLink>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM client_links WHERE token_hash = ?");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(token_hash).fetch_optional(e).await.map_err(backend)?;
    row.as_ref().map(link).transpose()
}

pub async fn link_of<'e>(
    e: impl SqliteExecutor<'e>,
    account: AccountId,
    id: ClientLinkId,
) -> Result<Option<StoredClientLink>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM client_links WHERE id = ? AND account_id = ?");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id.to_string())
        .bind(account.to_string())
        .fetch_optional(e)
        .await
        .map_err(backend)?;
    row.as_ref().map(link).transpose()
}

pub async fn links_of<'e>(
    e: impl SqliteExecutor<'e>,
    account: AccountId,
    client: ClientId,
) -> Result<Vec<StoredClientLink>, StoreError> {
    let sql =
        format!("SELECT {COLUMNS} FROM client_links WHERE account_id = ? AND client_id = ? ORDER BY created_at, id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(account.to_string())
        .bind(client.to_string())
        .fetch_all(e)
        .await
        .map_err(backend)?;
    rows.iter().map(link).collect()
}

pub async fn insert_link<'e>(e: impl SqliteExecutor<'e>, l: &StoredClientLink) -> Result<(), StoreError> {
    // The client must be the account's too.
    let sql = format!(
        "INSERT INTO client_links ({COLUMNS}) SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? \
         WHERE EXISTS (SELECT 1 FROM clients WHERE id = ? AND account_id = ?)"
    );
    let done = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(l.id.to_string())
        .bind(l.account.to_string())
        .bind(l.client.to_string())
        .bind(&l.token_hash)
        .bind(&l.sealed)
        .bind(unix_micros(l.created_at))
        .bind(unix_micros(l.expires_at))
        .bind(l.opened_at.map(unix_micros))
        .bind(l.used_at.map(unix_micros))
        .bind(l.revoked_at.map(unix_micros))
        .bind(l.result.map(|r| r.to_string()))
        .bind(l.client.to_string())
        .bind(l.account.to_string())
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
pub async fn open_link<'e>(
    e: impl SqliteExecutor<'e>,
    id: ClientLinkId,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let now = unix_micros(now);
    let done = sqlx::query(
        "UPDATE client_links SET opened_at = ?1 \
         WHERE id = ?2 AND opened_at IS NULL AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?1",
    )
    .bind(now)
    .bind(id.to_string())
    .execute(e)
    .await
    .map_err(backend)?;
    Ok(done.rows_affected() == 1)
}

/// Uses a link, in one statement: true only for the caller whose UPDATE
/// found it unused, unrevoked and unexpired at `now`.
pub async fn use_link<'e>(
    e: impl SqliteExecutor<'e>,
    id: ClientLinkId,
    now: OffsetDateTime,
    result: RecordId,
) -> Result<bool, StoreError> {
    let now = unix_micros(now);
    let done = sqlx::query(
        "UPDATE client_links SET used_at = ?1, result_id = ?2 \
         WHERE id = ?3 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?1",
    )
    .bind(now)
    .bind(result.to_string())
    .bind(id.to_string())
    .execute(e)
    .await
    .map_err(backend)?;
    Ok(done.rows_affected() == 1)
}

/// Revokes one of the account's links that is neither used nor revoked.
pub async fn revoke_link<'e>(
    e: impl SqliteExecutor<'e>,
    account: AccountId,
    id: ClientLinkId,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE client_links SET revoked_at = ? \
         WHERE id = ? AND account_id = ? AND used_at IS NULL AND revoked_at IS NULL",
    )
    .bind(unix_micros(now))
    .bind(id.to_string())
    .bind(account.to_string())
    .execute(e)
    .await
    .map_err(backend)?;
    Ok(done.rows_affected() == 1)
}

#[cfg(test)]
mod tests {
    use cbt_domain::account::Account;
    use cbt_domain::ids::{ClientId, ClientLinkId, InstrumentId, RecordId};
    use cbt_ports::{
        Store, StoredClient, StoredClientLink, StoredClientVersion, StoredInstrument, StoredRecord,
        StoredRecordVersion, StoredRiskFlags,
    };
    use time::{Duration, OffsetDateTime};

    use crate::SqliteStore;

    /// A migrated store on a file of its own, removed when dropped.
    struct TempStore {
        store: SqliteStore,
        path: std::path::PathBuf,
    }

    impl Drop for TempStore {
        fn drop(&mut self) {
            for suffix in ["", "-wal", "-shm"] {
                let mut name = self.path.clone().into_os_string();
                name.push(suffix);
                let _ = std::fs::remove_file(name);
            }
        }
    }

    async fn temp_store() -> TempStore {
        let path = std::env::temp_dir().join(format!("cbt-store-sqlite-test-{}.db", uuid::Uuid::new_v4().simple()));
        let store = SqliteStore::connect(&format!("sqlite://{}", path.display())).await.expect("connect");
        store.migrate().await.expect("migrate");
        TempStore { store, path }
    }

    fn account(at: OffsetDateTime) -> Account {
        Account {
            id: cbt_domain::AccountId::new(),
            email: "cascade@example.org".into(),
            email_normalized: "cascade@example.org".into(),
            full_name: "Dr Test Therapist".into(),
            credential: "LPC 000".into(),
            password_hash: None,
            email_verified_at: None,
            mfa_secret_sealed: None,
            mfa_enabled_at: None,
            mfa_last_step: None,
            password_changed_at: at,
            google_subject: None,
            practice_name: String::new(),
            crisis_text: String::new(),
            created_at: at,
            updated_at: at,
        }
    }

    /// Deleting a client deletes its links (a used one too, whose result
    /// goes with the client); deleting an account deletes its custom
    /// instruments and its risk flags.
    #[tokio::test]
    async fn deleting_a_client_or_account_deletes_what_hangs_off_it() {
        let db = temp_store().await;
        let store = &db.store;
        let at = cbt_domain::time::to_storage_precision(OffsetDateTime::now_utc());
        let owner = account(at);
        let client = StoredClient {
            id: ClientId::new(),
            account: owner.id,
            version: 1,
            sealed: vec![1],
            created_at: at,
            updated_at: at,
        };
        let first = StoredClientVersion {
            client: client.id,
            version: 1,
            sealed: vec![1],
            changed_by: owner.id,
            changed_at: at,
        };
        let result = StoredRecord {
            id: RecordId::new(),
            account: owner.id,
            client: client.id,
            kind: "assessment".into(),
            version: 1,
            sealed: vec![2],
            signed_at: None,
            created_at: at,
            updated_at: at,
        };
        let result_v1 = StoredRecordVersion {
            record: result.id,
            version: 1,
            sealed: vec![2],
            changed_by: owner.id,
            changed_at: at,
        };
        let link = |token: u8| StoredClientLink {
            id: ClientLinkId::new(),
            account: owner.id,
            client: client.id,
            token_hash: vec![token; 32],
            sealed: vec![3],
            created_at: at,
            expires_at: at + Duration::hours(1),
            opened_at: None,
            used_at: None,
            revoked_at: None,
            result: None,
        };
        let (open, used) = (link(1), link(2));
        let instrument = StoredInstrument {
            id: InstrumentId::new(),
            account: owner.id,
            version: 1,
            sealed: vec![4],
            created_at: at,
            updated_at: at,
        };
        let flags = StoredRiskFlags {
            id: owner.id,
            account: owner.id,
            version: 1,
            sealed: vec![5],
            created_at: at,
            updated_at: at,
        };
        let mut tx = store.begin().await.expect("begin");
        tx.insert_account(&owner).await.expect("account");
        tx.insert_client(&client, &first).await.expect("client");
        tx.insert_record(&result, &result_v1).await.expect("result");
        tx.insert_client_link(&open).await.expect("link");
        tx.insert_client_link(&used).await.expect("link");
        assert!(tx.use_client_link(used.id, at, result.id).await.expect("use"));
        tx.insert_instrument(&instrument).await.expect("instrument");
        assert!(tx.put_risk_flags(&flags).await.expect("flags"));
        tx.commit().await.expect("commit");
        assert_eq!(store.client_links_of(owner.id, client.id).await.expect("links").len(), 2);

        sqlx::query("DELETE FROM clients WHERE id = ?")
            .bind(client.id.to_string())
            .execute(&store.writer)
            .await
            .expect("delete client");
        assert!(store.client_links_of(owner.id, client.id).await.expect("links").is_empty());
        assert_eq!(store.client_link_by_token(&[1; 32]).await.expect("by token"), None);
        assert_eq!(store.client_link_by_token(&[2; 32]).await.expect("by token"), None);

        assert!(store.instrument(owner.id, instrument.id).await.expect("instrument").is_some());
        assert!(store.risk_flags(owner.id).await.expect("flags").is_some());
        sqlx::query("DELETE FROM accounts WHERE id = ?")
            .bind(owner.id.to_string())
            .execute(&store.writer)
            .await
            .expect("delete account");
        assert_eq!(store.instrument(owner.id, instrument.id).await.expect("instrument"), None);
        assert!(store.instruments_of(owner.id).await.expect("instruments").is_empty());
        assert_eq!(store.risk_flags(owner.id).await.expect("flags"), None);
        store.close().await;
    }
}
