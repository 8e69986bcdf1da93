//! The [`Store`] port on PostgreSQL, for production.
//!
//! TLS with CA verification is configured in the URL
//! (`sslmode=verify-full&sslrootcert=/path/ca.pem`); a server on this
//! machine is reached without TLS unless the URL asks for it
//! ([`connect_options`]). Audit appends from every app instance are
//! serialised by the row lock of the chain's head (a transaction-scoped
//! advisory lock only before the first append, when there is no row), and
//! the audit table refuses UPDATE, DELETE and TRUNCATE.

mod accounts;
mod ai_calls;
mod client_links;
mod clients;
mod consents;
mod data_keys;
mod documents;
mod records;
mod schedules;

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
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow, PgSslMode};
use sqlx::{PgPool, Postgres, Row, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Advisory lock key that serialises audit appends ("CBTAUDIT").
const AUDIT_LOCK: i64 = 0x4342_5441_5544_4954;

pub struct PostgresStore {
    pool: PgPool,
}

/// Pool settings that matter in production.
#[derive(Clone, Debug)]
pub struct PoolSettings {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self { max_connections: 16, acquire_timeout: Duration::from_secs(5) }
    }
}

/// A pooled connection idle longer than this is checked (a round trip)
/// before use, since a firewall or a server restart may have cut it.
/// Connections in steady use are not: the check would double the round
/// trips of every query, and a cut one fails its query and is dropped.
const CHECK_IDLE_AFTER: Duration = Duration::from_secs(30);

/// The connection options of `url`. A server on this machine (a loopback
/// address or a Unix socket) is reached without TLS unless the URL's
/// `sslmode` or `PGSSLMODE` asks for it: there the traffic never leaves
/// the kernel, and TLS would only cost CPU on both ends (measured: about a
/// fifth of the client page's throughput). Any other server gets sqlx's
/// default, `prefer`; production refuses a remote server without
/// certificate verification (see [`transport_is_safe`]).
pub fn connect_options(url: &str) -> Result<PgConnectOptions, StoreError> {
    let options = PgConnectOptions::from_str(url)
        .map_err(|e| StoreError::Unavailable(format!("invalid PostgreSQL URL: {e}")))?
        .application_name("cbt-assistant");
    let asked = url
        .split_once('?')
        .is_some_and(|(_, query)| query.split('&').any(|p| p.starts_with("sslmode=") || p.starts_with("ssl-mode=")))
        || std::env::var_os("PGSSLMODE").is_some();
    Ok(if is_local(&options) && !asked { options.ssl_mode(PgSslMode::Disable) } else { options })
}

/// Whether `options` reach a server on this machine.
fn is_local(options: &PgConnectOptions) -> bool {
    let host = options.get_host();
    options.get_socket().is_some()
        || host.starts_with('/')
        || host.eq_ignore_ascii_case("localhost")
        || host.trim_matches(['[', ']']).parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Whether what is sent to `url`'s server is safe from the network: the
/// server is on this machine, or TLS checks its certificate against a CA
/// (`verify-ca` or `verify-full`). `prefer` and `require` encrypt but
/// would talk to anyone who answers in the server's place.
pub fn transport_is_safe(url: &str) -> bool {
    connect_options(url)
        .is_ok_and(|o| is_local(&o) || matches!(o.get_ssl_mode(), PgSslMode::VerifyCa | PgSslMode::VerifyFull))
}

impl PostgresStore {
    pub async fn connect(url: &str, settings: &PoolSettings) -> Result<Self, StoreError> {
        let options = connect_options(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(settings.max_connections)
            .acquire_timeout(settings.acquire_timeout)
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for < CHECK_IDLE_AFTER {
                        return Ok(true);
                    }
                    // `false` drops the connection; the pool opens another.
                    Ok(sqlx::Connection::ping(conn).await.is_ok())
                })
            })
            .connect_with(options)
            .await
            .map_err(unavailable)?;
        Ok(Self { pool })
    }

    /// The latest migration version embedded in this build.
    pub fn expected_schema_version() -> i64 {
        MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
    }
}

fn unavailable(e: sqlx::Error) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn backend(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::Database(db) => {
            StoreError::Backend { code: db.code().map(|c| c.into_owned()), message: db.message().to_owned() }
        }
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => {
            unavailable(e)
        }
        other => StoreError::Backend { code: None, message: other.to_string() },
    }
}

#[async_trait]
impl Store for PostgresStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    async fn migrate(&self) -> Result<MigrationReport, StoreError> {
        let before = applied_versions(&self.pool).await?;
        MIGRATOR.run(&self.pool).await.map_err(|e| StoreError::Migration(e.to_string()))?;
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
        let tx = self.pool.begin().await.map_err(backend)?;
        Ok(Box::new(PostgresTx { tx }))
    }

    async fn begin_reads_audit(&self) -> Result<Box<dyn StoreTx>, StoreError> {
        // A commit waits for the WAL flush, which stalled for up to half a
        // second while a checkpoint wrote out (BENCHMARKS.md); every read
        // in the batch waited with it. For reads' events the commit returns
        // once they are in the WAL, flushed by the WAL writer right after
        // (3 × `wal_writer_delay` at most). One round trip, as `BEGIN`.
        let tx = self.pool.begin_with("BEGIN; SET LOCAL synchronous_commit TO OFF").await.map_err(backend)?;
        Ok(Box::new(PostgresTx { tx }))
    }

    async fn audit_entries_after(&self, after_seq: i64, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, id, occurred_at, actor_kind, actor_id, action, target_kind, target_id, \
             outcome, ip, user_agent, request_id, prev_hash, hash \
             FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after_seq)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(audit_entry).collect()
    }

    async fn audit_head(&self) -> Result<Option<ChainHead>, StoreError> {
        let row: Option<(i64, Vec<u8>, Vec<u8>)> =
            sqlx::query_as("SELECT seq, hash, tag FROM audit_chain_head WHERE id = 1")
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?;
        Ok(row.map(|(seq, hash, tag)| ChainHead { seq, hash, tag }))
    }

    async fn close(&self) {
        self.pool.close().await;
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
        accounts::touch_session(&self.pool, id, now).await
    }

    async fn access_token_by_hash(&self, token_hash: &[u8]) -> Result<Option<AccessToken>, StoreError> {
        accounts::access_token_by_hash(&self.pool, token_hash).await
    }

    async fn access_tokens_of(&self, account: AccountId) -> Result<Vec<AccessToken>, StoreError> {
        accounts::access_tokens_of(&self.pool, account).await
    }

    async fn touch_access_token(&self, id: AccessTokenId, now: OffsetDateTime) -> Result<(), StoreError> {
        accounts::touch_access_token(&self.pool, id, now).await
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
        data_keys::rewrap_data_key(&self.pool, key_id, from_kek, wrapped, now).await
    }
}

async fn applied_versions(pool: &PgPool) -> Result<Vec<i64>, StoreError> {
    let exists: Option<String> = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations')::text")
        .fetch_one(pool)
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

fn audit_entry(r: &PgRow) -> Result<AuditEntry, StoreError> {
    let occurred_at: OffsetDateTime = r.try_get("occurred_at").map_err(backend)?;
    Ok(AuditEntry {
        seq: r.try_get("seq").map_err(backend)?,
        fields: AuditFields {
            id: r.try_get::<Uuid, _>("id").map_err(backend)?,
            occurred_at,
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

/// Audit events column by column, as `UNNEST` takes them.
#[derive(Default)]
struct AuditColumns {
    seq: Vec<i64>,
    id: Vec<Uuid>,
    occurred_at: Vec<OffsetDateTime>,
    actor_kind: Vec<String>,
    actor_id: Vec<Option<String>>,
    action: Vec<String>,
    target_kind: Vec<String>,
    target_id: Vec<Option<String>>,
    outcome: Vec<String>,
    ip: Vec<Option<String>>,
    user_agent: Vec<Option<String>>,
    request_id: Vec<Option<String>>,
    prev_hash: Vec<Vec<u8>>,
    hash: Vec<Vec<u8>>,
}

impl AuditColumns {
    fn push(&mut self, entry: AuditEntry) {
        let f = entry.fields;
        self.seq.push(entry.seq);
        self.id.push(f.id);
        self.occurred_at.push(f.occurred_at);
        self.actor_kind.push(f.actor_kind);
        self.actor_id.push(f.actor_id);
        self.action.push(f.action);
        self.target_kind.push(f.target_kind);
        self.target_id.push(f.target_id);
        self.outcome.push(f.outcome);
        self.ip.push(f.ip);
        self.user_agent.push(f.user_agent);
        self.request_id.push(f.request_id);
        self.prev_hash.push(entry.prev_hash);
        self.hash.push(entry.hash);
    }
}

struct PostgresTx {
    tx: Transaction<'static, Postgres>,
}

impl PostgresTx {
    async fn locked_audit_head(&mut self) -> Result<Option<(i64, Vec<u8>)>, StoreError> {
        sqlx::query_as("SELECT seq, hash FROM audit_chain_head WHERE id = 1 FOR UPDATE")
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(backend)
    }
}

#[async_trait]
impl StoreTx for PostgresTx {
    async fn append_audit(&mut self, key: &AuditKey, events: &[AuditEvent]) -> Result<i64, StoreError> {
        // The head row, locked until this transaction ends: appends from
        // every instance queue on it, and one that waited reads the head
        // the previous one committed (READ COMMITTED reads a locked row
        // again once its holder commits).
        let mut head = self.locked_audit_head().await?;
        if head.is_none() {
            // No head yet (the very first append): no row to queue on, so
            // the first appenders take turns on an advisory lock, then
            // look again.
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(AUDIT_LOCK)
                .execute(&mut *self.tx)
                .await
                .map_err(backend)?;
            head = self.locked_audit_head().await?;
        }
        if events.is_empty() {
            return Ok(head.map_or(0, |(seq, _)| seq));
        }
        // The chain is worked out first, then written in one statement of
        // fixed text (so prepared once, whatever the number of events):
        // the events as arrays, and the new head in the same statement.
        let (entries, head) = key.link(head, events);
        let mut rows = AuditColumns::default();
        for entry in entries {
            rows.push(entry);
        }
        sqlx::query(
            "WITH appended AS ( \
               INSERT INTO audit_events (seq, id, occurred_at, actor_kind, actor_id, action, target_kind, \
               target_id, outcome, ip, user_agent, request_id, prev_hash, hash) \
               SELECT * FROM UNNEST($1::BIGINT[], $2::UUID[], $3::TIMESTAMPTZ[], $4::TEXT[], $5::TEXT[], \
               $6::TEXT[], $7::TEXT[], $8::TEXT[], $9::TEXT[], $10::TEXT[], $11::TEXT[], $12::TEXT[], \
               $13::BYTEA[], $14::BYTEA[])) \
             INSERT INTO audit_chain_head (id, seq, hash, tag) VALUES (1, $15, $16, $17) \
             ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, tag = excluded.tag",
        )
        .bind(rows.seq)
        .bind(rows.id)
        .bind(rows.occurred_at)
        .bind(rows.actor_kind)
        .bind(rows.actor_id)
        .bind(rows.action)
        .bind(rows.target_kind)
        .bind(rows.target_id)
        .bind(rows.outcome)
        .bind(rows.ip)
        .bind(rows.user_agent)
        .bind(rows.request_id)
        .bind(rows.prev_hash)
        .bind(rows.hash)
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
        // Held until the transaction ends: a second reservation for the
        // account waits here, then counts this one.
        sqlx::query("SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE")
            .bind(account.as_uuid())
            .execute(&mut *self.tx)
            .await
            .map_err(backend)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_on_this_machine_is_reached_without_tls_unless_asked() {
        let mode = |url: &str| connect_options(url).map(|o| o.get_ssl_mode()).ok();
        if std::env::var_os("PGSSLMODE").is_some() {
            return; // the environment decides; nothing here to check
        }
        for local in ["postgres://u@127.0.0.1/db", "postgres://u@localhost:5433/db", "postgres://u@[::1]/db"] {
            assert!(matches!(mode(local), Some(PgSslMode::Disable)), "{local}");
        }
        assert!(matches!(mode("postgres:///db?host=/run/postgresql"), Some(PgSslMode::Disable)));
        assert!(matches!(mode("postgres://u@127.0.0.1/db?sslmode=require"), Some(PgSslMode::Require)));
        assert!(matches!(mode("postgres://u@db.internal/db"), Some(PgSslMode::Prefer)));
        assert!(transport_is_safe("postgres://u@127.0.0.1/db"));
        assert!(!transport_is_safe("postgres://u@db.internal/db?sslmode=require"));
        assert!(transport_is_safe("postgres://u@db.internal/db?sslmode=verify-full"));
        assert!(!transport_is_safe("not a url"));
    }
}
