//! The storage port.
//!
//! A [`Store`] is one database. Changes happen inside a [`StoreTx`]: a use
//! case opens one, writes its change and the audit event that records it,
//! and commits both or neither. Dropping a transaction without `commit`
//! rolls it back.

use async_trait::async_trait;
use cbt_domain::AccountId;
use cbt_domain::access_token::{AccessToken, AccessTokenId};
use cbt_domain::account::Account;
use cbt_domain::audit::{AuditEntry, AuditEvent, AuditKey, ChainHead};
use cbt_domain::ids::{AddendumId, ClientId, ClientLinkId, InstrumentId, RecordId, ScheduleId, WorksheetId};
use cbt_domain::session::{Session, SessionId};
use cbt_domain::tokens::{BucketState, OneTimeToken, TokenPurpose};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{StoredDataKey, WrappedKey};

/// A sealed document of an account that is not a clinical record (a
/// client, a custom worksheet): ids and times in the clear, everything
/// else sealed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredDocument<Id> {
    pub id: Id,
    pub account: AccountId,
    /// 1 for the first save, one more for each change.
    pub version: i64,
    pub sealed: Vec<u8>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// A client as stored; every version is kept (`StoredClientVersion`).
pub type StoredClient = StoredDocument<ClientId>;

/// One saved version of a client, kept forever.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredClientVersion {
    pub client: ClientId,
    pub version: i64,
    pub sealed: Vec<u8>,
    pub changed_by: AccountId,
    pub changed_at: OffsetDateTime,
}

/// A clinical record as stored: ids, kind and times in the clear, the
/// content sealed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredRecord {
    pub id: RecordId,
    pub account: AccountId,
    pub client: ClientId,
    /// `session_note`, …
    pub kind: String,
    pub version: i64,
    pub sealed: Vec<u8>,
    /// Set once: a signed record no longer changes.
    pub signed_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// One saved version of a record, kept forever.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredRecordVersion {
    pub record: RecordId,
    pub version: i64,
    pub sealed: Vec<u8>,
    pub changed_by: AccountId,
    pub changed_at: OffsetDateTime,
}

/// An addendum to a signed record: dated, attributed, sealed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredAddendum {
    pub id: AddendumId,
    pub record: RecordId,
    pub sealed: Vec<u8>,
    pub added_by: AccountId,
    pub added_at: OffsetDateTime,
}

/// A therapist's custom worksheet as stored: the content sealed. Not a
/// clinical record (no client), so no versions: homework keeps its own
/// copy of the worksheet it assigned.
pub type StoredWorksheet = StoredDocument<WorksheetId>;

/// A client's sealed note index (`domain::session_note::NoteIndex`); its
/// id is the client's.
pub type StoredNoteIndex = StoredDocument<ClientId>;

/// An account's sealed list of open risk flags
/// (`domain::assessment::OpenRiskFlags`); its id is the account's.
pub type StoredRiskFlags = StoredDocument<AccountId>;

/// A therapist's custom instrument as stored: the definition sealed. No
/// versions: each result keeps a copy of the definition it was scored
/// under.
pub type StoredInstrument = StoredDocument<InstrumentId>;

/// A client self-report link as stored: the token only as its SHA-256,
/// what it asks for sealed, its state in the clear.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredClientLink {
    pub id: ClientLinkId,
    pub account: AccountId,
    pub client: ClientId,
    pub token_hash: Vec<u8>,
    pub sealed: Vec<u8>,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    /// When the client first opened it.
    pub opened_at: Option<OffsetDateTime>,
    /// When its answers were accepted: a link is used once.
    pub used_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
    /// The result its answers became.
    pub result: Option<RecordId>,
}

/// A consent a therapist gave or withdrew. Rows are only added: the
/// latest of a kind is what holds, the earlier ones its history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredConsent {
    pub id: uuid::Uuid,
    pub account: AccountId,
    /// What it is a consent to, e.g. `ai_drafts`.
    pub kind: String,
    /// Given (true) or withdrawn (false).
    pub given: bool,
    /// The version of the text the therapist agreed to.
    pub terms: String,
    pub recorded_at: OffsetDateTime,
}

/// One call to a language model, as metadata: never a prompt or an answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredAiCall {
    pub id: uuid::Uuid,
    pub account: AccountId,
    /// What it drafted, e.g. `session_note`.
    pub purpose: String,
    pub provider: String,
    pub model: String,
    pub prompt_version: String,
    pub prompt_tokens: i32,
    pub completion_tokens: i32,
    /// 2 when the first answer was malformed and it was asked again.
    pub attempts: i32,
    /// Until the first piece of the answer arrived, when one did.
    pub first_token_ms: Option<i32>,
    pub latency_ms: i32,
    /// `success`, `malformed`, `timed_out`, `rate_limited`, `refused`,
    /// `unavailable`.
    pub outcome: String,
    pub called_at: OffsetDateTime,
}

/// An account's recent use of language models.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AiUse {
    pub tokens: i64,
    pub calls: i64,
}

/// A recurring questionnaire as stored: what is sent sealed, when in the
/// clear (the job runner finds due ones without a key).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredSchedule {
    pub id: ScheduleId,
    pub account: AccountId,
    pub client: ClientId,
    pub sealed: Vec<u8>,
    pub every_days: i32,
    pub next_due_at: OffsetDateTime,
    pub created_at: OffsetDateTime,
    pub stopped_at: Option<OffsetDateTime>,
}

/// What the client's page shows, as stored: the client, their note index
/// (`None` before the first note) and their records of the kinds asked for,
/// oldest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredClientPage {
    pub client: StoredClient,
    pub note_index: Option<StoredNoteIndex>,
    pub records: Vec<StoredRecord>,
}

/// Which part of the client's page a row of a store's one statement is:
/// the stores read the three as rows of one shape, tagged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientPagePart {
    Client,
    NoteIndex,
    Record,
}

impl ClientPagePart {
    /// The tag a store's statement gives each row: 0, 1 and 2.
    pub fn from_tag(tag: i64) -> Result<Self, StoreError> {
        match tag {
            0 => Ok(Self::Client),
            1 => Ok(Self::NoteIndex),
            2 => Ok(Self::Record),
            _ => Err(StoreError::Corrupt { what: "client page row" }),
        }
    }
}

impl StoredClientPage {
    /// The page from a store's tagged rows, whatever their order; `None`
    /// without a client row (the client is missing or another account's).
    pub fn from_rows<R>(
        rows: &[R],
        part: impl Fn(&R) -> Result<ClientPagePart, StoreError>,
        document: impl Fn(&R) -> Result<StoredDocument<ClientId>, StoreError>,
        record: impl Fn(&R) -> Result<StoredRecord, StoreError>,
    ) -> Result<Option<Self>, StoreError> {
        let (mut client, mut note_index, mut records) = (None, None, Vec::new());
        for row in rows {
            match part(row)? {
                ClientPagePart::Client => client = Some(document(row)?),
                ClientPagePart::NoteIndex => note_index = Some(document(row)?),
                ClientPagePart::Record => records.push(record(row)?),
            }
        }
        Ok(client.map(|client| Self { client, note_index, records }))
    }
}

/// Which database engine a store runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// What `migrate` did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MigrationReport {
    /// Versions applied by this call, oldest first.
    pub applied: Vec<i64>,
    /// The schema version after the call.
    pub current: i64,
}

/// Storage failures. Messages name what failed, never the values involved.
#[derive(Clone, Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or refused the connection.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The schema is older or newer than this build expects.
    #[error("database schema is at version {found}, this build expects {expected}")]
    SchemaMismatch { found: i64, expected: i64 },
    /// A migration failed.
    #[error("migration failed: {0}")]
    Migration(String),
    /// The database rejected a statement.
    #[error("database error{}: {message}", code.as_ref().map(|c| format!(" {c}")).unwrap_or_default())]
    Backend { code: Option<String>, message: String },
    /// A stored value could not be read back (a corrupt or edited row).
    #[error("stored {what} is unreadable")]
    Corrupt { what: &'static str },
    /// A unique value is taken (e.g. an email already has an account).
    #[error("{what} already exists")]
    Duplicate { what: &'static str },
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    fn backend(&self) -> Backend;

    /// Applies every embedded migration not yet applied.
    async fn migrate(&self) -> Result<MigrationReport, StoreError>;

    /// The database answers and its schema is the one this build expects.
    async fn check_ready(&self) -> Result<(), StoreError>;

    /// Opens a write transaction.
    async fn begin(&self) -> Result<Box<dyn StoreTx>, StoreError>;

    /// Opens a transaction for the audit events of reads, and nothing else
    /// (`app::read_audit`). Its commit returns once the events are in the
    /// database's log, as every commit on SQLite does (WAL with
    /// `synchronous=NORMAL`), without waiting for the log to reach the
    /// disk: the flush follows within a fraction of a second. Only a crash
    /// of the database server in between loses them; changes to records,
    /// and their events, always wait for the flush.
    async fn begin_reads_audit(&self) -> Result<Box<dyn StoreTx>, StoreError> {
        self.begin().await
    }

    /// Audit entries with `seq > after_seq`, oldest first, at most `limit`.
    async fn audit_entries_after(&self, after_seq: i64, limit: u32) -> Result<Vec<AuditEntry>, StoreError>;

    /// The chain head record, `None` before the first entry.
    async fn audit_head(&self) -> Result<Option<ChainHead>, StoreError>;

    /// Closes every connection (graceful shutdown).
    async fn close(&self);

    // Accounts and sessions: reads outside a transaction.

    async fn account_by_id(&self, id: AccountId) -> Result<Option<Account>, StoreError>;

    async fn account_by_email(&self, email_normalized: &str) -> Result<Option<Account>, StoreError>;

    async fn account_by_google_subject(&self, subject: &str) -> Result<Option<Account>, StoreError>;

    /// A rate-limit bucket, read without taking the write lock (the cheap
    /// first look that lets a flood of refused attempts write nothing).
    async fn peek_rate_bucket(&self, bucket: &str) -> Result<Option<BucketState>, StoreError>;

    /// The session of a cookie's token with its account, read together
    /// (every signed-in request asks).
    async fn session_by_token_hash(&self, token_hash: &[u8]) -> Result<Option<(Session, Account)>, StoreError>;

    /// The account's sessions, oldest first.
    async fn sessions_of(&self, account: AccountId) -> Result<Vec<Session>, StoreError>;

    /// Records activity on a session (a single statement, no transaction).
    async fn touch_session(&self, id: SessionId, now: OffsetDateTime) -> Result<(), StoreError>;

    async fn access_token_by_hash(&self, token_hash: &[u8]) -> Result<Option<AccessToken>, StoreError>;

    /// The account's tokens, oldest first.
    async fn access_tokens_of(&self, account: AccountId) -> Result<Vec<AccessToken>, StoreError>;

    async fn touch_access_token(&self, id: AccessTokenId, now: OffsetDateTime) -> Result<(), StoreError>;

    /// The account's data key (wrapped), if it has one yet.
    async fn data_key_of(&self, account: AccountId) -> Result<Option<StoredDataKey>, StoreError>;

    /// Up to `limit` data keys not wrapped by `kek`, in key id order after
    /// `after` (a rotation's batches).
    async fn data_keys_not_under(
        &self,
        kek: &str,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<StoredDataKey>, StoreError>;

    /// One of the account's clients; `None` when missing or another
    /// account's (the same answer).
    async fn client(&self, account: AccountId, id: ClientId) -> Result<Option<StoredClient>, StoreError>;

    /// The account's clients, oldest first.
    async fn clients_of(&self, account: AccountId) -> Result<Vec<StoredClient>, StoreError>;

    /// Every saved version of one of the account's clients, oldest first
    /// (empty when not theirs).
    async fn client_versions(&self, account: AccountId, id: ClientId) -> Result<Vec<StoredClientVersion>, StoreError>;

    /// One of the account's records; `None` when missing or another
    /// account's.
    async fn record(&self, account: AccountId, id: RecordId) -> Result<Option<StoredRecord>, StoreError>;

    /// The records of one of the account's clients, of the kinds named
    /// (one query however many kinds), oldest first.
    async fn records_of(
        &self,
        account: AccountId,
        client: ClientId,
        kinds: &[&str],
    ) -> Result<Vec<StoredRecord>, StoreError>;

    /// Every saved version of one of the account's records, oldest first.
    async fn record_versions(&self, account: AccountId, id: RecordId) -> Result<Vec<StoredRecordVersion>, StoreError>;

    /// The addenda of one of the account's records, oldest first.
    async fn addenda_of(&self, account: AccountId, id: RecordId) -> Result<Vec<StoredAddendum>, StoreError>;

    /// One of the account's custom worksheets; `None` when missing or
    /// another account's.
    async fn worksheet(&self, account: AccountId, id: WorksheetId) -> Result<Option<StoredWorksheet>, StoreError>;

    /// The account's custom worksheets, oldest first.
    async fn worksheets_of(&self, account: AccountId) -> Result<Vec<StoredWorksheet>, StoreError>;

    /// The account's open risk flags, if any were ever raised.
    async fn risk_flags(&self, account: AccountId) -> Result<Option<StoredRiskFlags>, StoreError>;

    /// One of the account's custom instruments; `None` when missing or
    /// another account's.
    async fn instrument(&self, account: AccountId, id: InstrumentId) -> Result<Option<StoredInstrument>, StoreError>;

    /// The account's custom instruments, oldest first.
    async fn instruments_of(&self, account: AccountId) -> Result<Vec<StoredInstrument>, StoreError>;

    /// The link with this token hash, whoever's it is: a client holds
    /// nothing but the token.
    async fn client_link_by_token(&self, token_hash: &[u8]) -> Result<Option<StoredClientLink>, StoreError>;

    /// One of the account's links; `None` when missing or another account's.
    async fn client_link(&self, account: AccountId, id: ClientLinkId) -> Result<Option<StoredClientLink>, StoreError>;

    /// The links sent to one of the account's clients, oldest first.
    async fn client_links_of(&self, account: AccountId, client: ClientId) -> Result<Vec<StoredClientLink>, StoreError>;

    /// The recurring questionnaires of one of the account's clients, oldest
    /// first (stopped ones too).
    async fn schedules_of(&self, account: AccountId, client: ClientId) -> Result<Vec<StoredSchedule>, StoreError>;

    /// Tokens the account's model calls used since `since` (prompt and
    /// answer), for its monthly budget.
    async fn ai_tokens_since(&self, account: AccountId, since: OffsetDateTime) -> Result<i64, StoreError>;

    /// The account's model calls since `since`, newest first (at most `limit`).
    async fn ai_calls_since(
        &self,
        account: AccountId,
        since: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<StoredAiCall>, StoreError>;

    /// The account's latest consent of a kind (given or withdrawn), if any.
    async fn latest_consent(&self, account: AccountId, kind: &str) -> Result<Option<StoredConsent>, StoreError>;

    /// Schedules of every account due at `now` and not stopped, the most
    /// overdue first, at most `limit` (the job runner's batch).
    async fn due_schedules(&self, now: OffsetDateTime, limit: u32) -> Result<Vec<StoredSchedule>, StoreError>;

    /// One of the account's clients with their note index and their
    /// records of the kinds named, in one statement: the page therapists
    /// open most. `None` when the client is missing or another account's.
    async fn client_page(
        &self,
        account: AccountId,
        id: ClientId,
        kinds: &[&str],
    ) -> Result<Option<StoredClientPage>, StoreError>;

    /// How many data keys each KEK wraps.
    async fn data_key_counts(&self) -> Result<Vec<(String, u64)>, StoreError>;

    /// Replaces a data key's wrapping if it is still wrapped by `from_kek`
    /// (so two rotations running at once cannot undo each other); false when
    /// it was not.
    async fn rewrap_data_key(
        &self,
        key_id: Uuid,
        from_kek: &str,
        wrapped: &WrappedKey,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
}

#[async_trait]
pub trait StoreTx: Send {
    /// Appends events to the audit chain, in order, and returns the last
    /// one's sequence number. Appends are serialised across all connections
    /// and app instances; the head is read and written once per call, so
    /// several events of one request hold the chain's lock once.
    async fn append_audit(&mut self, key: &AuditKey, events: &[AuditEvent]) -> Result<i64, StoreError>;

    async fn commit(self: Box<Self>) -> Result<(), StoreError>;

    /// `Duplicate` when the normalised email is taken.
    async fn insert_account(&mut self, account: &Account) -> Result<(), StoreError>;

    /// Replaces every mutable column of the account with `account`'s.
    async fn update_account(&mut self, account: &Account) -> Result<(), StoreError>;

    async fn account_by_id(&mut self, id: AccountId) -> Result<Option<Account>, StoreError>;

    async fn insert_session(&mut self, session: &Session) -> Result<(), StoreError>;

    /// The account's sessions of every stage, oldest first.
    async fn sessions_of(&mut self, account: AccountId) -> Result<Vec<Session>, StoreError>;

    /// Deletes one session of `account`; false when it is not theirs or gone.
    async fn delete_session(&mut self, account: AccountId, id: SessionId) -> Result<bool, StoreError>;

    /// Deletes all of `account`'s sessions except `keep`; returns how many.
    async fn delete_sessions(&mut self, account: AccountId, keep: Option<SessionId>) -> Result<u64, StoreError>;

    async fn insert_token(&mut self, token: &OneTimeToken) -> Result<(), StoreError>;

    /// Removes and returns the token with this hash and purpose, if any
    /// (single use: a second call finds nothing). Expiry is the caller's.
    async fn take_token(
        &mut self,
        token_hash: &[u8],
        purpose: TokenPurpose,
    ) -> Result<Option<OneTimeToken>, StoreError>;

    /// Deletes every token of `account` for `purpose`.
    async fn delete_tokens(&mut self, account: AccountId, purpose: TokenPurpose) -> Result<u64, StoreError>;

    async fn rate_bucket(&mut self, bucket: &str) -> Result<Option<BucketState>, StoreError>;

    async fn save_rate_bucket(&mut self, bucket: &str, state: &BucketState) -> Result<(), StoreError>;

    async fn delete_rate_bucket(&mut self, bucket: &str) -> Result<(), StoreError>;

    /// Replaces the account's recovery-code hashes (empty: none).
    async fn replace_recovery_codes(&mut self, account: AccountId, hashes: &[String]) -> Result<(), StoreError>;

    async fn recovery_codes_of(&mut self, account: AccountId) -> Result<Vec<String>, StoreError>;

    /// Deletes one used code; false when it was already gone.
    async fn delete_recovery_code(&mut self, account: AccountId, hash: &str) -> Result<bool, StoreError>;

    async fn insert_access_token(&mut self, token: &AccessToken) -> Result<(), StoreError>;

    /// Deletes one of `account`'s tokens; false when not theirs or gone.
    async fn delete_access_token(&mut self, account: AccountId, id: AccessTokenId) -> Result<bool, StoreError>;

    /// A new client with its first version.
    async fn insert_client(&mut self, client: &StoredClient, first: &StoredClientVersion) -> Result<(), StoreError>;

    /// Saves a change: the client's current state and the new version, if
    /// the client is the account's and still at `client.version - 1`
    /// (false: changed meanwhile, or not theirs; nothing written).
    async fn update_client(&mut self, client: &StoredClient, version: &StoredClientVersion)
    -> Result<bool, StoreError>;

    /// A new record with its first version.
    async fn insert_record(&mut self, record: &StoredRecord, first: &StoredRecordVersion) -> Result<(), StoreError>;

    /// Saves a change (content, and `signed_at` when signing) with its new
    /// version, if the record is the account's, unsigned, and still at
    /// `record.version - 1`; false otherwise (nothing written).
    async fn update_record(&mut self, record: &StoredRecord, version: &StoredRecordVersion)
    -> Result<bool, StoreError>;

    /// Adds an addendum to one of the account's signed records; false when
    /// the record is not theirs or not signed (nothing written).
    async fn insert_addendum(&mut self, account: AccountId, addendum: &StoredAddendum) -> Result<bool, StoreError>;

    async fn insert_worksheet(&mut self, worksheet: &StoredWorksheet) -> Result<(), StoreError>;

    /// A client's note index, read inside the transaction and held until
    /// it ends, so writers of one client's notes take turns.
    async fn note_index_for_update(
        &mut self,
        account: AccountId,
        client: ClientId,
    ) -> Result<Option<StoredNoteIndex>, StoreError>;

    /// The records of one of the account's clients, of the kinds named,
    /// oldest first, read inside the transaction.
    async fn records_of(
        &mut self,
        account: AccountId,
        client: ClientId,
        kinds: &[&str],
    ) -> Result<Vec<StoredRecord>, StoreError>;

    /// Saves a client's note index (version 1: the first); false, nothing
    /// written, when another writer saved it first.
    async fn put_note_index(&mut self, index: &StoredNoteIndex) -> Result<bool, StoreError>;

    /// The account's open risk flags, held until the transaction ends, so
    /// writers of one account's flags take turns.
    async fn risk_flags_for_update(&mut self, account: AccountId) -> Result<Option<StoredRiskFlags>, StoreError>;

    /// Saves an account's open risk flags (version 1: the first); false,
    /// nothing written, when another writer saved them first.
    async fn put_risk_flags(&mut self, flags: &StoredRiskFlags) -> Result<bool, StoreError>;

    async fn insert_instrument(&mut self, instrument: &StoredInstrument) -> Result<(), StoreError>;

    /// Saves a change if the instrument is the account's and still at
    /// `instrument.version - 1`; false otherwise (nothing written).
    async fn update_instrument(&mut self, instrument: &StoredInstrument) -> Result<bool, StoreError>;

    async fn insert_client_link(&mut self, link: &StoredClientLink) -> Result<(), StoreError>;

    /// Notes the first time a usable link is opened; false when the link is
    /// used, revoked or expired at `now`, or was opened before.
    async fn open_client_link(&mut self, id: ClientLinkId, now: OffsetDateTime) -> Result<bool, StoreError>;

    /// Uses a link: true only for the one caller that finds it unused,
    /// unrevoked and unexpired at `now`.
    async fn use_client_link(
        &mut self,
        id: ClientLinkId,
        now: OffsetDateTime,
        result: RecordId,
    ) -> Result<bool, StoreError>;

    /// Revokes one of the account's links that is still unused; false
    /// otherwise (nothing written).
    async fn revoke_client_link(
        &mut self,
        account: AccountId,
        id: ClientLinkId,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// A new schedule for one of the account's clients (`Corrupt` when the
    /// client is not the account's).
    async fn insert_schedule(&mut self, schedule: &StoredSchedule) -> Result<(), StoreError>;

    /// Records a call to a language model (metadata only).
    async fn insert_ai_call(&mut self, call: &StoredAiCall) -> Result<(), StoreError>;

    /// The account's model use since `tokens_since` (tokens) and
    /// `calls_since` (calls), held until this transaction ends so that no
    /// other transaction can count and add a call meanwhile (PostgreSQL
    /// locks the account's row; SQLite's write transaction already holds
    /// the database). Calls still under way count with their reservation.
    async fn ai_use_held(
        &mut self,
        account: AccountId,
        tokens_since: OffsetDateTime,
        calls_since: OffsetDateTime,
    ) -> Result<AiUse, StoreError>;

    /// Writes how a reserved call ended over its reservation (same id and
    /// account; `Corrupt` when there is none).
    async fn finish_ai_call(&mut self, call: &StoredAiCall) -> Result<(), StoreError>;

    /// Adds a consent given or withdrawn (nothing earlier is changed).
    async fn insert_consent(&mut self, consent: &StoredConsent) -> Result<(), StoreError>;

    /// Moves a running schedule on from `due` to `next`: true only for the
    /// one caller that finds it still due at `due` (so one run sends).
    async fn advance_schedule(
        &mut self,
        id: ScheduleId,
        due: OffsetDateTime,
        next: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// Stops one of the account's running schedules; false otherwise.
    async fn stop_schedule(
        &mut self,
        account: AccountId,
        id: ScheduleId,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// Saves a change if the worksheet is the account's and still at
    /// `worksheet.version - 1`; false otherwise (nothing written).
    async fn update_worksheet(&mut self, worksheet: &StoredWorksheet) -> Result<bool, StoreError>;

    /// Stores an account's first data key; false (nothing written) when the
    /// account already has one: whoever stored first wins.
    async fn insert_data_key(&mut self, key: &StoredDataKey) -> Result<bool, StoreError>;

    /// Destroys the account's data key (crypto-shredding): everything sealed
    /// with it can no longer be opened. False when there was none.
    async fn destroy_data_key(&mut self, account: AccountId) -> Result<bool, StoreError>;
}
