//! The [`Store`] port on SQLite, the embedded default.
//!
//! One database file, opened in WAL mode with foreign keys on and a busy
//! timeout; every table is STRICT. Write transactions start with
//! `BEGIN IMMEDIATE` so two writers queue for the lock instead of failing
//! half-way. The file is created with mode 0600 (SQLite gives its WAL and
//! shared-memory files the same mode).
//!
//! Checkpoints (copying the WAL back into the database file, with an
//! fsync) are not left to whichever commit crosses SQLite's threshold,
//! since every writer would then wait behind that one commit: a task of
//! the store's own runs them on a connection of their own, beside the
//! writer, every [`CHECKPOINT_EVERY`], and starts the WAL over when it has
//! grown (see [`checkpoint_regularly`]).

mod accounts;
mod ai_calls;
mod client_links;
mod clients;
mod consents;
mod data_keys;
mod documents;
mod records;
mod schedules;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use cbt_domain::AccountId;
use cbt_domain::access_token::{AccessToken, AccessTokenId};
use cbt_domain::account::Account;
use cbt_domain::audit::{AuditEntry, AuditEvent, AuditFields, AuditKey, ChainHead};
use cbt_domain::ids::{ClientId, ClientLinkId, InstrumentId, RecordId, ScheduleId, WorksheetId};
use cbt_domain::session::{Session, SessionId};
use cbt_domain::tokens::{BucketState, OneTimeToken, TokenPurpose};
use cbt_ports::{
    AiUse, Backend, MigrationReport, Store, StoreError, StoreTx, StoredAddendum, StoredAiCall, StoredClient,
    StoredClientLink, StoredClientPage, StoredClientVersion, StoredConsent, StoredDataKey, StoredInstrument,
    StoredNoteIndex, StoredRecord, StoredRecordVersion, StoredRiskFlags, StoredSchedule, StoredWorksheet, WrappedKey,
};
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous};
use sqlx::{Row, Sqlite, SqlitePool, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// How long a writer waits for the database lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How often the WAL is copied back into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// A WAL longer than this (in 4 KiB pages: 16 MiB) is started over.
const WAL_RESTART_FRAMES: i64 = 4096;

pub struct SqliteStore {
    /// Readers: WAL lets them run beside the writer.
    pool: SqlitePool,
    /// The one writer connection. SQLite admits one writer at a time;
    /// queueing here (instead of on the file lock) keeps queued writers
    /// from holding the readers' connections.
    writer: SqlitePool,
    /// Runs the checkpoints; `None` for an in-memory database (no WAL).
    checkpoints: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        if let Some(task) = &self.checkpoints {
            task.abort();
        }
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database at a `sqlite:` URL.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Unavailable(format!("invalid SQLite URL: {e}")))?;
        let filename = options.get_filename().to_owned();
        if !is_memory(&filename) {
            create_private_file(&filename)?;
        }
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            // Deleted rows (a destroyed data key, purged records) are
            // overwritten in the file, not just marked free.
            .pragma("secure_delete", "ON")
            // Checkpoints are the store's task's job, not a commit's.
            .pragma("wal_autocheckpoint", "0")
            .busy_timeout(BUSY_TIMEOUT);
        // A connection to a local file does not drop: checking it before
        // each use (sqlx's default) would only cost a round trip to its
        // worker thread.
        let writer = SqlitePoolOptions::new()
            .test_before_acquire(false)
            .max_connections(1)
            .min_connections(1)
            .connect_with(options.clone())
            .await
            .map_err(unavailable)?;
        let pool = SqlitePoolOptions::new()
            .test_before_acquire(false)
            .max_connections(8)
            .min_connections(1)
            .connect_with(options.clone().create_if_missing(false))
            .await
            .map_err(unavailable)?;
        let checkpoints = if is_memory(&filename) {
            None
        } else {
            let checkpointer = SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(options.create_if_missing(false))
                .await
                .map_err(unavailable)?;
            Some(tokio::spawn(checkpoint_regularly(checkpointer, writer.clone())))
        };
        Ok(Self { pool, writer, checkpoints })
    }

    /// The latest migration version embedded in this build.
    pub fn expected_schema_version() -> i64 {
        MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
    }
}

/// Copies what the WAL holds into the database file, without waiting for
/// readers or the writer (a `PASSIVE` checkpoint: what they still use is
/// copied next time). Under steady load some reader always holds a
/// snapshot, so SQLite never starts the WAL over by itself and it would
/// grow without end (measured: 3.6 GB in a minute of client pages): once
/// it holds more than [`WAL_RESTART_FRAMES`], a `TRUNCATE` checkpoint
/// empties it. That one runs on the writer's own connection, taking its
/// turn like any write: it then has no writer to wait for (a checkpointer
/// waiting for the write lock would hold back every writer meanwhile),
/// copies only what came since the passive one, and waits only for the
/// readers of the moment (single statements). Ends with the store.
async fn checkpoint_regularly(checkpointer: SqlitePool, writer: SqlitePool) {
    let mut every = tokio::time::interval(CHECKPOINT_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let passive: Result<(i64, i64, i64), _> =
            sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)").fetch_one(&checkpointer).await;
        let result = match passive {
            Ok((_, wal_frames, _)) if wal_frames > WAL_RESTART_FRAMES => {
                sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&writer).await.map(drop)
            }
            other => other.map(drop),
        };
        match result {
            Ok(()) => {}
            Err(sqlx::Error::PoolClosed) => return,
            // The next tick tries again; the WAL only grows meanwhile.
            Err(e) => tracing::warn!(error = %e, "SQLite checkpoint failed"),
        }
    }
}

fn is_memory(path: &Path) -> bool {
    path.as_os_str().is_empty() || path.to_string_lossy().starts_with(":memory:")
}

/// Creates the database file with mode 0600 before SQLite does (SQLite
/// would use the process umask).
fn create_private_file(path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::OpenOptionsExt;
    if path.exists() {
        return Ok(());
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| StoreError::Unavailable(format!("cannot create the database folder: {e}")))?;
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map(drop)
        .or_else(|e| if e.kind() == std::io::ErrorKind::AlreadyExists { Ok(()) } else { Err(e) })
        .map_err(|e| StoreError::Unavailable(format!("cannot create the database file: {e}")))
}

fn unavailable(e: sqlx::Error) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn backend(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::Database(db) => {
            StoreError::Backend { code: db.code().map(|c| c.into_owned()), message: db.message().to_owned() }
        }
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => unavailable(e),
        other => StoreError::Backend { code: None, message: other.to_string() },
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    async fn migrate(&self) -> Result<MigrationReport, StoreError> {
        let before = applied_versions(&self.pool).await?;
        MIGRATOR.run(&self.writer).await.map_err(|e| StoreError::Migration(e.to_string()))?;
        let after = applied_versions(&self.pool).await?;
        Ok(MigrationReport {
            applied: after.iter().copied().filter(|v| !before.contains(v)).collect(),
            current: after.last().copied().unwrap_or(0),
        })
    }

    async fn check_ready(&self) -> Result<(), StoreError> {
        let found = applied_versions(&self.pool).await?.last().copied().unwrap_or(0);
        let expected = Self::expected_schema_version();
        if found != expected {
            return Err(StoreError::SchemaMismatch { found, expected });
        }
        Ok(())
    }

    async fn begin(&self) -> Result<Box<dyn StoreTx>, StoreError> {
        let tx = self.writer.begin_with("BEGIN IMMEDIATE").await.map_err(backend)?;
        Ok(Box::new(SqliteTx { tx }))
    }

    async fn audit_entries_after(&self, after_seq: i64, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, id, occurred_at, actor_kind, actor_id, action, target_kind, target_id, \
             outcome, ip, user_agent, request_id, prev_hash, hash \
             FROM audit_events WHERE seq > ? ORDER BY seq LIMIT ?",
        )
        .bind(after_seq)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(audit_entry).collect()
    }

    async fn audit_head(&self) -> Result<Option<ChainHead>, StoreError> {
        let row = sqlx::query("SELECT seq, hash, tag FROM audit_chain_head WHERE id = 1")
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.map(|r| {
            Ok(ChainHead {
                seq: r.try_get(0).map_err(backend)?,
                hash: r.try_get(1).map_err(backend)?,
                tag: r.try_get(2).map_err(backend)?,
            })
        })
        .transpose()
    }

    async fn close(&self) {
        if let Some(task) = &self.checkpoints {
            task.abort();
        }
        self.pool.close().await;
        self.writer.close().await;
    }

    async fn account_by_id(&self, id: AccountId) -> Result<Option<Account>, StoreError> {
        accounts::account_by_id(&self.pool, id).await
    }

    async fn account_by_email(&self, email_normalized: &str) -> Result<Option<Account>, StoreError> {
        accounts::account_by_email(&self.pool, email_normalized).await
    }

    async fn account_by_google_subject(&self, subject: &str) -> Result<Option<Account>, StoreError> {
        accounts::account_by_google_subject(&self.pool, subject).await
    }

    async fn peek_rate_bucket(&self, bucket: &str) -> Result<Option<BucketState>, StoreError> {
        accounts::rate_bucket(&self.pool, bucket).await
    }

    async fn session_by_token_hash(&self, token_hash: &[u8]) -> Result<Option<(Session, Account)>, StoreError> {
        accounts::session_by_token_hash(&self.pool, token_hash).await
    }

    async fn sessions_of(&self, account: AccountId) -> Result<Vec<Session>, StoreError> {
        accounts::sessions_of(&self.pool, account).await
    }

    async fn touch_session(&self, id: SessionId, now: OffsetDateTime) -> Result<(), StoreError> {
        accounts::touch_session(&self.writer, id, now).await
    }

    async fn access_token_by_hash(&self, token_hash: &[u8]) -> Result<Option<AccessToken>, StoreError> {
        accounts::access_token_by_hash(&self.pool, token_hash).await
    }

    async fn access_tokens_of(&self, account: AccountId) -> Result<Vec<AccessToken>, StoreError> {
        accounts::access_tokens_of(&self.pool, account).await
    }

    async fn touch_access_token(&self, id: AccessTokenId, now: OffsetDateTime) -> Result<(), StoreError> {
        accounts::touch_access_token(&self.writer, id, now).await
    }

    async fn data_key_of(&self, account: AccountId) -> Result<Option<StoredDataKey>, StoreError> {
        data_keys::data_key_of(&self.pool, account).await
    }

    async fn data_keys_not_under(
        &self,
        kek: &str,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<StoredDataKey>, StoreError> {
        data_keys::data_keys_not_under(&self.pool, kek, after, limit).await
    }

    async fn client(&self, account: AccountId, id: ClientId) -> Result<Option<StoredClient>, StoreError> {
        documents::document_of(&self.pool, documents::CLIENTS, account, id).await
    }

    async fn clients_of(&self, account: AccountId) -> Result<Vec<StoredClient>, StoreError> {
        documents::documents_of(&self.pool, documents::CLIENTS, account).await
    }

    async fn client_versions(&self, account: AccountId, id: ClientId) -> Result<Vec<StoredClientVersion>, StoreError> {
        clients::client_versions(&self.pool, account, id).await
    }

    async fn record(&self, account: AccountId, id: RecordId) -> Result<Option<StoredRecord>, StoreError> {
        records::record_of(&self.pool, account, id).await
    }

    async fn records_of(
        &self,
        account: AccountId,
        client: ClientId,
        kinds: &[&str],
    ) -> Result<Vec<StoredRecord>, StoreError> {
        records::records_of(&self.pool, account, client, kinds).await
    }

    async fn record_versions(&self, account: AccountId, id: RecordId) -> Result<Vec<StoredRecordVersion>, StoreError> {
        records::record_versions(&self.pool, account, id).await
    }

    async fn worksheet(&self, account: AccountId, id: WorksheetId) -> Result<Option<StoredWorksheet>, StoreError> {
        documents::document_of(&self.pool, documents::WORKSHEETS, account, id).await
    }

    async fn worksheets_of(&self, account: AccountId) -> Result<Vec<StoredWorksheet>, StoreError> {
        documents::documents_of(&self.pool, documents::WORKSHEETS, account).await
    }

    async fn risk_flags(&self, account: AccountId) -> Result<Option<StoredRiskFlags>, StoreError> {
        documents::document_of(&self.pool, documents::RISK_FLAG_LISTS, account, account).await
    }

    async fn instrument(&self, account: AccountId, id: InstrumentId) -> Result<Option<StoredInstrument>, StoreError> {
        documents::document_of(&self.pool, documents::INSTRUMENTS, account, id).await
    }

    async fn instruments_of(&self, account: AccountId) -> Result<Vec<StoredInstrument>, StoreError> {
        documents::documents_of(&self.pool, documents::INSTRUMENTS, account).await
    }

    async fn client_link_by_token(&self, token_hash: &[u8]) -> Result<Option<StoredClientLink>, StoreError> {
        client_links::link_by_token(&self.pool, token_hash).await
    }

    async fn client_link(&self, account: AccountId, id: ClientLinkId) -> Result<Option<StoredClientLink>, StoreError> {
        client_links::link_of(&self.pool, account, id).await
    }

    async fn client_links_of(&self, account: AccountId, client: ClientId) -> Result<Vec<StoredClientLink>, StoreError> {
        client_links::links_of(&self.pool, account, client).await
    }

    async fn schedules_of(&self, account: AccountId, client: ClientId) -> Result<Vec<StoredSchedule>, StoreError> {
        schedules::schedules_of(&self.pool, account, client).await
    }

    async fn ai_tokens_since(&self, account: AccountId, since: OffsetDateTime) -> Result<i64, StoreError> {
        ai_calls::ai_tokens_since(&self.pool, account, since).await
    }

    async fn ai_calls_since(
        &self,
        account: AccountId,
        since: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<StoredAiCall>, StoreError> {
        ai_calls::ai_calls_since(&self.pool, account, since, limit).await
    }

    async fn latest_consent(&self, account: AccountId, kind: &str) -> Result<Option<StoredConsent>, StoreError> {
        consents::latest_consent(&self.pool, account, kind).await
    }

    async fn due_schedules(&self, now: OffsetDateTime, limit: u32) -> Result<Vec<StoredSchedule>, StoreError> {
        schedules::due_schedules(&self.pool, now, limit).await
    }

    async fn client_page(
        &self,
        account: AccountId,
        id: ClientId,
        kinds: &[&str],
    ) -> Result<Option<StoredClientPage>, StoreError> {
        records::client_page(&self.pool, account, id, kinds).await
    }

    async fn addenda_of(&self, account: AccountId, id: RecordId) -> Result<Vec<StoredAddendum>, StoreError> {
        records::addenda_of(&self.pool, account, id).await
    }

    async fn data_key_counts(&self) -> Result<Vec<(String, u64)>, StoreError> {
        data_keys::data_key_counts(&self.pool).await
    }

    async fn rewrap_data_key(
        &self,
        key_id: Uuid,
        from_kek: &str,
        wrapped: &WrappedKey,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        data_keys::rewrap_data_key(&self.writer, key_id, from_kek, wrapped, now).await
    }
}

async fn applied_versions(pool: &SqlitePool) -> Result<Vec<i64>, StoreError> {
    let exists: Option<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'")
            .fetch_optional(pool)
            .await
            .map_err(unavailable)?;
    if exists.is_none() {
        return Ok(Vec::new());
    }
    sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
        .fetch_all(pool)
        .await
        .map_err(backend)
}

fn audit_entry(r: &SqliteRow) -> Result<AuditEntry, StoreError> {
    let corrupt = |_| StoreError::Corrupt { what: "audit event" };
    let id: String = r.try_get("id").map_err(backend)?;
    let micros: i64 = r.try_get("occurred_at").map_err(backend)?;
    Ok(AuditEntry {
        seq: r.try_get("seq").map_err(backend)?,
        fields: AuditFields {
            id: Uuid::parse_str(&id).map_err(corrupt)?,
            occurred_at: cbt_domain::time::from_unix_micros(micros)
                .ok_or(StoreError::Corrupt { what: "audit event time" })?,
            actor_kind: r.try_get("actor_kind").map_err(backend)?,
            actor_id: r.try_get("actor_id").map_err(backend)?,
            action: r.try_get("action").map_err(backend)?,
            target_kind: r.try_get("target_kind").map_err(backend)?,
            target_id: r.try_get("target_id").map_err(backend)?,
            outcome: r.try_get("outcome").map_err(backend)?,
            ip: r.try_get("ip").map_err(backend)?,
            user_agent: r.try_get("user_agent").map_err(backend)?,
            request_id: r.try_get("request_id").map_err(backend)?,
        },
        prev_hash: r.try_get("prev_hash").map_err(backend)?,
        hash: r.try_get("hash").map_err(backend)?,
    })
}

struct SqliteTx {
    tx: Transaction<'static, Sqlite>,
}

#[async_trait]
impl StoreTx for SqliteTx {
    async fn append_audit(&mut self, key: &AuditKey, events: &[AuditEvent]) -> Result<i64, StoreError> {
        // BEGIN IMMEDIATE already holds the write lock: no other writer can
        // move the head between this read and the insert.
        let head: Option<(i64, Vec<u8>)> = sqlx::query_as("SELECT seq, hash FROM audit_chain_head WHERE id = 1")
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(backend)?;
        if events.is_empty() {
            return Ok(head.map_or(0, |(seq, _)| seq));
        }
        // The chain is worked out first, then written in one statement:
        // one round trip to the database however many events.
        let (entries, head) = key.link(head, events);
        let mut insert = sqlx::QueryBuilder::new(
            "INSERT INTO audit_events (seq, id, occurred_at, actor_kind, actor_id, action, target_kind, \
             target_id, outcome, ip, user_agent, request_id, prev_hash, hash) ",
        );
        insert.push_values(&entries, |mut b, e| {
            b.push_bind(e.seq)
                .push_bind(e.fields.id.to_string())
                .push_bind(cbt_domain::time::unix_micros(e.fields.occurred_at))
                .push_bind(&e.fields.actor_kind)
                .push_bind(&e.fields.actor_id)
                .push_bind(&e.fields.action)
                .push_bind(&e.fields.target_kind)
                .push_bind(&e.fields.target_id)
                .push_bind(&e.fields.outcome)
                .push_bind(&e.fields.ip)
                .push_bind(&e.fields.user_agent)
                .push_bind(&e.fields.request_id)
                .push_bind(&e.prev_hash)
                .push_bind(&e.hash);
        });
        insert.build().execute(&mut *self.tx).await.map_err(backend)?;
        sqlx::query(
            "INSERT INTO audit_chain_head (id, seq, hash, tag) VALUES (1, ?, ?, ?) \
             ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, tag = excluded.tag",
        )
        .bind(head.seq)
        .bind(&head.hash)
        .bind(&head.tag)
        .execute(&mut *self.tx)
        .await
        .map_err(backend)?;
        Ok(head.seq)
    }

    async fn commit(self: Box<Self>) -> Result<(), StoreError> {
        self.tx.commit().await.map_err(backend)
    }

    async fn insert_account(&mut self, account: &Account) -> Result<(), StoreError> {
        accounts::insert_account(&mut *self.tx, account).await
    }

    async fn update_account(&mut self, account: &Account) -> Result<(), StoreError> {
        accounts::update_account(&mut *self.tx, account).await
    }

    async fn account_by_id(&mut self, id: AccountId) -> Result<Option<Account>, StoreError> {
        accounts::account_by_id(&mut *self.tx, id).await
    }

    async fn insert_session(&mut self, session: &Session) -> Result<(), StoreError> {
        accounts::insert_session(&mut *self.tx, session).await
    }

    async fn sessions_of(&mut self, account: AccountId) -> Result<Vec<Session>, StoreError> {
        accounts::sessions_of(&mut *self.tx, account).await
    }

    async fn delete_session(&mut self, account: AccountId, id: SessionId) -> Result<bool, StoreError> {
        accounts::delete_session(&mut *self.tx, account, id).await
    }

    async fn delete_sessions(&mut self, account: AccountId, keep: Option<SessionId>) -> Result<u64, StoreError> {
        accounts::delete_sessions(&mut *self.tx, account, keep).await
    }

    async fn insert_token(&mut self, token: &OneTimeToken) -> Result<(), StoreError> {
        accounts::insert_token(&mut *self.tx, token).await
    }

    async fn take_token(
        &mut self,
        token_hash: &[u8],
        purpose: TokenPurpose,
    ) -> Result<Option<OneTimeToken>, StoreError> {
        accounts::take_token(&mut *self.tx, token_hash, purpose).await
    }

    async fn delete_tokens(&mut self, account: AccountId, purpose: TokenPurpose) -> Result<u64, StoreError> {
        accounts::delete_tokens(&mut *self.tx, account, purpose).await
    }

    async fn rate_bucket(&mut self, bucket: &str) -> Result<Option<BucketState>, StoreError> {
        accounts::rate_bucket(&mut *self.tx, bucket).await
    }

    async fn save_rate_bucket(&mut self, bucket: &str, state: &BucketState) -> Result<(), StoreError> {
        accounts::save_rate_bucket(&mut *self.tx, bucket, state).await
    }

    async fn delete_rate_bucket(&mut self, bucket: &str) -> Result<(), StoreError> {
        accounts::delete_rate_bucket(&mut *self.tx, bucket).await
    }

    async fn replace_recovery_codes(&mut self, account: AccountId, hashes: &[String]) -> Result<(), StoreError> {
        accounts::replace_recovery_codes(&mut self.tx, account, hashes).await
    }

    async fn recovery_codes_of(&mut self, account: AccountId) -> Result<Vec<String>, StoreError> {
        accounts::recovery_codes_of(&mut *self.tx, account).await
    }

    async fn delete_recovery_code(&mut self, account: AccountId, hash: &str) -> Result<bool, StoreError> {
        accounts::delete_recovery_code(&mut *self.tx, account, hash).await
    }

    async fn insert_access_token(&mut self, token: &AccessToken) -> Result<(), StoreError> {
        accounts::insert_access_token(&mut *self.tx, token).await
    }

    async fn delete_access_token(&mut self, account: AccountId, id: AccessTokenId) -> Result<bool, StoreError> {
        accounts::delete_access_token(&mut *self.tx, account, id).await
    }

    async fn insert_client(&mut self, client: &StoredClient, first: &StoredClientVersion) -> Result<(), StoreError> {
        clients::insert_client(&mut self.tx, client, first).await
    }

    async fn update_client(
        &mut self,
        client: &StoredClient,
        version: &StoredClientVersion,
    ) -> Result<bool, StoreError> {
        clients::update_client(&mut self.tx, client, version).await
    }

    async fn insert_worksheet(&mut self, worksheet: &StoredWorksheet) -> Result<(), StoreError> {
        documents::insert_document(&mut self.tx, documents::WORKSHEETS, worksheet).await
    }

    async fn note_index_for_update(
        &mut self,
        account: AccountId,
        client: ClientId,
    ) -> Result<Option<StoredNoteIndex>, StoreError> {
        documents::document_for_update(&mut self.tx, documents::NOTE_INDEXES, account, client).await
    }

    async fn records_of(
        &mut self,
        account: AccountId,
        client: ClientId,
        kinds: &[&str],
    ) -> Result<Vec<StoredRecord>, StoreError> {
        records::records_of(&mut *self.tx, account, client, kinds).await
    }

    async fn put_note_index(&mut self, index: &StoredNoteIndex) -> Result<bool, StoreError> {
        documents::put_document(&mut self.tx, documents::NOTE_INDEXES, index).await
    }

    async fn update_worksheet(&mut self, worksheet: &StoredWorksheet) -> Result<bool, StoreError> {
        documents::update_document(&mut self.tx, documents::WORKSHEETS, worksheet).await
    }

    async fn risk_flags_for_update(&mut self, account: AccountId) -> Result<Option<StoredRiskFlags>, StoreError> {
        documents::document_for_update(&mut self.tx, documents::RISK_FLAG_LISTS, account, account).await
    }

    async fn put_risk_flags(&mut self, flags: &StoredRiskFlags) -> Result<bool, StoreError> {
        // An account's list is its own row: one under another account's id
        // would only block that account's first list.
        if flags.id != flags.account {
            return Ok(false);
        }
        documents::put_document(&mut self.tx, documents::RISK_FLAG_LISTS, flags).await
    }

    async fn insert_instrument(&mut self, instrument: &StoredInstrument) -> Result<(), StoreError> {
        documents::insert_document(&mut self.tx, documents::INSTRUMENTS, instrument).await
    }

    async fn update_instrument(&mut self, instrument: &StoredInstrument) -> Result<bool, StoreError> {
        documents::update_document(&mut self.tx, documents::INSTRUMENTS, instrument).await
    }

    async fn insert_client_link(&mut self, link: &StoredClientLink) -> Result<(), StoreError> {
        client_links::insert_link(&mut *self.tx, link).await
    }

    async fn open_client_link(&mut self, id: ClientLinkId, now: OffsetDateTime) -> Result<bool, StoreError> {
        client_links::open_link(&mut *self.tx, id, now).await
    }

    async fn use_client_link(
        &mut self,
        id: ClientLinkId,
        now: OffsetDateTime,
        result: RecordId,
    ) -> Result<bool, StoreError> {
        client_links::use_link(&mut *self.tx, id, now, result).await
    }

    async fn revoke_client_link(
        &mut self,
        account: AccountId,
        id: ClientLinkId,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        client_links::revoke_link(&mut *self.tx, account, id, now).await
    }

    async fn insert_ai_call(&mut self, call: &StoredAiCall) -> Result<(), StoreError> {
        ai_calls::insert_ai_call(&mut *self.tx, call).await
    }

    async fn ai_use_held(
        &mut self,
        account: AccountId,
        tokens_since: OffsetDateTime,
        calls_since: OffsetDateTime,
    ) -> Result<AiUse, StoreError> {
        // A SQLite write transaction (BEGIN IMMEDIATE) already holds the
        // database: nothing else can count and add meanwhile.
        ai_calls::ai_use(&mut *self.tx, account, tokens_since, calls_since).await
    }

    async fn finish_ai_call(&mut self, call: &StoredAiCall) -> Result<(), StoreError> {
        ai_calls::finish_ai_call(&mut *self.tx, call).await
    }

    async fn insert_consent(&mut self, consent: &StoredConsent) -> Result<(), StoreError> {
        consents::insert_consent(&mut *self.tx, consent).await
    }

    async fn insert_schedule(&mut self, schedule: &StoredSchedule) -> Result<(), StoreError> {
        schedules::insert_schedule(&mut *self.tx, schedule).await
    }

    async fn advance_schedule(
        &mut self,
        id: ScheduleId,
        due: OffsetDateTime,
        next: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        schedules::advance_schedule(&mut *self.tx, id, due, next).await
    }

    async fn stop_schedule(
        &mut self,
        account: AccountId,
        id: ScheduleId,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        schedules::stop_schedule(&mut *self.tx, account, id, now).await
    }

    async fn insert_record(&mut self, record: &StoredRecord, first: &StoredRecordVersion) -> Result<(), StoreError> {
        records::insert_record(&mut self.tx, record, first).await
    }

    async fn update_record(
        &mut self,
        record: &StoredRecord,
        version: &StoredRecordVersion,
    ) -> Result<bool, StoreError> {
        records::update_record(&mut self.tx, record, version).await
    }

    async fn insert_addendum(&mut self, account: AccountId, addendum: &StoredAddendum) -> Result<bool, StoreError> {
        records::insert_addendum(&mut *self.tx, account, addendum).await
    }

    async fn insert_data_key(&mut self, key: &StoredDataKey) -> Result<bool, StoreError> {
        data_keys::insert_data_key(&mut *self.tx, key).await
    }

    async fn destroy_data_key(&mut self, account: AccountId) -> Result<bool, StoreError> {
        data_keys::destroy_data_key(&mut *self.tx, account).await
    }
}
