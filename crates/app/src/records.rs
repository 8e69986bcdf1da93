//! Clinical records of every kind (session notes, formulations,
//! hypotheses, treatment plans, goal progress, homework), kept the same
//! way: content sealed as one document per version and bound to its kind,
//! record and version; every version kept; owner-scoped in the store;
//! every change written with its audit event in one transaction; every
//! read audited. Signable kinds lock when signed and then take addenda.

use cbt_domain::account::Account;
use cbt_domain::assessment::AssessmentResult;
use cbt_domain::audit::{Actor, AuditAction, AuditOutcome, AuditTarget, RequestContext};
use cbt_domain::ids::{AddendumId, ClientId, RecordId};
use cbt_domain::record::{ClinicalRecord, IndexEntry};
use cbt_domain::session_note::{NoteIndex, SessionNote, validated_addendum};
use cbt_domain::validation::{FieldError, FieldErrors};
use cbt_domain::{AccountId, Phi};
use cbt_encryption::SealedFor;
use cbt_ports::{StoreTx, StoredAddendum, StoredNoteIndex, StoredRecord, StoredRecordVersion};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::{App, AppError};

/// A record as the therapist reads it.
#[derive(Debug)]
pub struct Record<T: zeroize::Zeroize> {
    pub id: RecordId,
    pub client: ClientId,
    pub version: i64,
    pub content: Phi<T>,
    pub signed_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    /// Dated, attributed, below the record (signed records only).
    pub addenda: Vec<Addendum>,
}

#[derive(Debug)]
pub struct Addendum {
    pub id: AddendumId,
    pub text: Phi<String>,
    pub added_by: AccountId,
    pub added_at: OffsetDateTime,
}

/// One saved version.
#[derive(Debug)]
pub struct RecordVersion<T: zeroize::Zeroize> {
    pub version: i64,
    pub changed_by: AccountId,
    pub changed_at: OffsetDateTime,
    pub content: Phi<T>,
    /// Whether this version is the signature.
    pub signed: bool,
}

/// Where an addendum's text is sealed: bound to its record and its id.
fn addendum_field(addendum: AddendumId) -> String {
    format!("addendum.{addendum}")
}

impl App {
    pub(crate) fn now(&self) -> OffsetDateTime {
        cbt_domain::time::to_storage_precision(self.clock.now())
    }

    /// Whether the record is one of the account's, of kind `T`:
    /// `NotFound` otherwise. Nothing is decrypted, so nothing is audited.
    pub async fn check_record<T: ClinicalRecord>(&self, account: &Account, id: RecordId) -> Result<(), AppError> {
        let me = Self::clinician(account)?;
        self.stored_record::<T>(me, id).await.map(|_| ())
    }

    /// The stored record, if it is this therapist's and of kind `T`.
    pub(crate) async fn stored_record<T: ClinicalRecord>(
        &self,
        me: AccountId,
        id: RecordId,
    ) -> Result<StoredRecord, AppError> {
        self.store.record(me, id).await?.filter(|r| r.kind == T::KIND).ok_or(AppError::NotFound)
    }

    pub(crate) async fn open_content<T: ClinicalRecord>(
        &self,
        me: AccountId,
        id: RecordId,
        version: i64,
        sealed: &[u8],
    ) -> Result<Phi<T>, AppError> {
        self.open_document(me, T::KIND, id.as_uuid(), version, sealed).await
    }

    /// Every record `content` points at must be this client's, of a kind
    /// it may point at; otherwise the field is wrong (the same answer
    /// whether the id is another therapist's or does not exist).
    async fn check_links<T: ClinicalRecord>(
        &self,
        me: AccountId,
        client: ClientId,
        content: &T,
    ) -> Result<(), AppError> {
        let mut errors = FieldErrors::default();
        for link in content.links() {
            let found = self.store.record(me, link.id).await?;
            let ok = found.is_some_and(|r| r.client == client && link.kinds.contains(&r.kind.as_str()));
            if !ok {
                errors.push(FieldError::new(link.field, "Link only to this client's own records."));
            }
        }
        errors.into_result().map_err(AppError::Invalid)
    }

    /// Writes `record` as it now is (version 1: a new record) with its
    /// version row and audit event, in one transaction; `Conflict` when
    /// someone saved in between.
    pub(crate) async fn write_version(
        &self,
        me: AccountId,
        record: &StoredRecord,
        indexed: Option<IndexEntry>,
        action: AuditAction,
        target: AuditTarget,
        ctx: &RequestContext,
    ) -> Result<(), AppError> {
        let version = StoredRecordVersion {
            record: record.id,
            version: record.version,
            sealed: record.sealed.clone(),
            changed_by: me,
            changed_at: record.updated_at,
        };
        let mut tx = self.store.begin().await?;
        let saved = if record.version == 1 {
            tx.insert_record(record, &version).await?;
            true
        } else {
            tx.update_record(record, &version).await?
        };
        if !saved {
            return Err(AppError::Conflict);
        }
        if let Some(entry) = indexed {
            self.put_in_index(&mut tx, me, record.client, entry).await?;
        }
        let audit_event = self.event(Actor::Account(me), action, target, AuditOutcome::Success, ctx);
        self.audit(&mut tx, audit_event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Puts a session note's or assessment result's entry in its client's
    /// index, in the record's own transaction. A client without an index
    /// yet (notes written before there were indexes) gets one built from
    /// all its notes and results.
    pub(crate) async fn put_in_index(
        &self,
        tx: &mut Box<dyn StoreTx>,
        me: AccountId,
        client: ClientId,
        entry: IndexEntry,
    ) -> Result<(), AppError> {
        let now = self.now();
        // Two tries: when another writer made the client's first index at
        // this moment, that insert has committed by the time ours is
        // refused, and the second try updates it.
        // The index is always locked before the account's risk flags (kept
        // after it, below): taken in the other order by two writers at
        // once, each would wait for the other's (PostgreSQL ends one such
        // deadlock with an error).
        for _ in 0..2 {
            let held = tx.note_index_for_update(me, client).await?;
            let mut index = match &held {
                Some(stored) => self.open_note_index(me, stored).await?,
                // Read through the transaction: it already holds a
                // connection, and a second one from the pool could be
                // waited for by every request at once.
                None => self.index_of_records(me, &tx.records_of(me, client, &NoteIndex::KINDS).await?).await?,
            };
            index.put(entry.clone());
            let version = held.as_ref().map_or(1, |h| h.version + 1);
            let sealed = self.seal_document(me, NoteIndex::KIND, client.as_uuid(), version, &index).await?;
            let stored = StoredNoteIndex {
                id: client,
                account: me,
                version,
                sealed,
                created_at: held.as_ref().map_or(now, |h| h.created_at),
                updated_at: now,
            };
            if tx.put_note_index(&stored).await? {
                if let IndexEntry::Result(result) = &entry {
                    self.keep_risk_flags(tx, me, client, result).await?;
                }
                return Ok(());
            }
            if held.is_some() {
                break;
            }
        }
        Err(AppError::Conflict)
    }

    pub(crate) async fn open_note_index(&self, me: AccountId, stored: &StoredNoteIndex) -> Result<NoteIndex, AppError> {
        let index = self
            .open_document::<NoteIndex>(me, NoteIndex::KIND, stored.id.as_uuid(), stored.version, &stored.sealed)
            .await?;
        Ok(index.expose().clone())
    }

    /// The client's note index: `stored` opened, or, for notes written
    /// before there were indexes, built from every note and result (the
    /// slow way, until the client's next note writes the index).
    pub(crate) async fn note_index_of(
        &self,
        me: AccountId,
        client: ClientId,
        stored: Option<StoredNoteIndex>,
    ) -> Result<NoteIndex, AppError> {
        match stored {
            Some(index) => self.open_note_index(me, &index).await,
            None => self.index_of_records(me, &self.store.records_of(me, client, &NoteIndex::KINDS).await?).await,
        }
    }

    /// The index of notes and results as they are stored (every one opened).
    async fn index_of_records(&self, me: AccountId, stored: &[StoredRecord]) -> Result<NoteIndex, AppError> {
        let mut index = NoteIndex::default();
        for record in stored {
            let signed = record.signed_at.is_some();
            let entry = if record.kind == SessionNote::KIND {
                self.open_content::<SessionNote>(me, record.id, record.version, &record.sealed)
                    .await?
                    .expose()
                    .index_entry(record.id, signed)
            } else {
                self.open_content::<AssessmentResult>(me, record.id, record.version, &record.sealed)
                    .await?
                    .expose()
                    .index_entry(record.id, signed)
            };
            index.put(entry.ok_or_else(|| AppError::Internal("an indexed kind gave no entry".into()))?);
        }
        Ok(index)
    }

    /// Creates a record (a draft, for signable kinds) for one of the
    /// therapist's clients.
    pub async fn create_record<T: ClinicalRecord>(
        &self,
        account: &Account,
        client: ClientId,
        content: T,
        ctx: &RequestContext,
    ) -> Result<RecordId, AppError> {
        let me = Self::clinician(account)?;
        let now = self.now();
        self.store.client(me, client).await?.ok_or(AppError::NotFound)?;
        let content = Zeroizing::new(content.validated(now.date()).map_err(AppError::Invalid)?);
        self.check_links(me, client, &*content).await?;
        let id = RecordId::new();
        let sealed = self.seal_document(me, T::KIND, id.as_uuid(), 1, &*content).await?;
        let record = StoredRecord {
            id,
            account: me,
            client,
            kind: T::KIND.into(),
            version: 1,
            sealed,
            signed_at: None,
            created_at: now,
            updated_at: now,
        };
        let indexed = content.index_entry(id, false);
        let target = AuditTarget::new(T::TARGET, id.as_uuid());
        self.write_version(me, &record, indexed, T::ACTIONS.create, target, ctx).await?;
        Ok(id)
    }

    /// Opens a record with its addenda (an audited read).
    pub async fn record<T: ClinicalRecord>(
        &self,
        account: &Account,
        id: RecordId,
        ctx: &RequestContext,
    ) -> Result<Record<T>, AppError> {
        let me = Self::clinician(account)?;
        let stored = self.stored_record::<T>(me, id).await?;
        let record = self.read_record(me, &stored, true).await?;
        self.audit_read(me, T::ACTIONS.read, T::TARGET, Some(id.as_uuid()), ctx).await?;
        Ok(record)
    }

    pub(crate) async fn read_record<T: ClinicalRecord>(
        &self,
        me: AccountId,
        stored: &StoredRecord,
        with_addenda: bool,
    ) -> Result<Record<T>, AppError> {
        let content = self.open_content::<T>(me, stored.id, stored.version, &stored.sealed).await?;
        let mut addenda = Vec::new();
        if with_addenda && stored.signed_at.is_some() {
            for a in self.store.addenda_of(me, stored.id).await? {
                let field = addendum_field(a.id);
                let place =
                    SealedFor { account: me.as_uuid(), kind: T::KIND, field: &field, record: stored.id.as_uuid() };
                let text = self.open_field(&place, &a.sealed).await?;
                let text = String::from_utf8(text.to_vec())
                    .map_err(|_| AppError::Internal("an addendum is unreadable".into()))?;
                addenda.push(Addendum { id: a.id, text: Phi::new(text), added_by: a.added_by, added_at: a.added_at });
            }
        }
        Ok(Record {
            id: stored.id,
            client: stored.client,
            version: stored.version,
            content,
            signed_at: stored.signed_at,
            created_at: stored.created_at,
            updated_at: stored.updated_at,
            addenda,
        })
    }

    /// Saves a change as the next version, if nobody saved since `version`
    /// (`Conflict`) and it is not signed (`Locked`).
    pub async fn update_record<T: ClinicalRecord>(
        &self,
        account: &Account,
        id: RecordId,
        version: i64,
        content: T,
        ctx: &RequestContext,
    ) -> Result<i64, AppError> {
        let me = Self::clinician(account)?;
        let now = self.now();
        let stored = self.stored_record::<T>(me, id).await?;
        if stored.signed_at.is_some() {
            return Err(AppError::Locked);
        }
        if stored.version != version {
            return Err(AppError::Conflict);
        }
        let saved = self.open_content::<T>(me, id, stored.version, &stored.sealed).await?;
        let mut content = content;
        content.keep_from(saved.expose());
        let content = Zeroizing::new(content.validated(now.date()).map_err(AppError::Invalid)?);
        self.check_links(me, stored.client, &*content).await?;
        let next = version + 1;
        let sealed = self.seal_document(me, T::KIND, id.as_uuid(), next, &*content).await?;
        let changed = StoredRecord { version: next, sealed, updated_at: now, ..stored };
        let indexed = content.index_entry(id, false);
        let target = AuditTarget::new(T::TARGET, id.as_uuid());
        self.write_version(me, &changed, indexed, T::ACTIONS.update, target, ctx).await?;
        Ok(next)
    }

    /// Signs the record as it is at `version`: from now on it is locked.
    pub async fn sign_record<T: ClinicalRecord>(
        &self,
        account: &Account,
        id: RecordId,
        version: i64,
        ctx: &RequestContext,
    ) -> Result<i64, AppError> {
        let me = Self::clinician(account)?;
        let action = T::ACTIONS.sign.ok_or(AppError::NotFound)?;
        let now = self.now();
        let stored = self.stored_record::<T>(me, id).await?;
        if stored.signed_at.is_some() {
            return Err(AppError::Locked);
        }
        if stored.version != version {
            return Err(AppError::Conflict);
        }
        let content = self.open_content::<T>(me, id, version, &stored.sealed).await?;
        content.expose().ready_to_sign().map_err(AppError::Invalid)?;
        let next = version + 1;
        let sealed = self.seal_document(me, T::KIND, id.as_uuid(), next, content.expose()).await?;
        let signed = StoredRecord { version: next, sealed, signed_at: Some(now), updated_at: now, ..stored };
        let indexed = content.expose().index_entry(id, true);
        self.write_version(me, &signed, indexed, action, AuditTarget::new(T::TARGET, id.as_uuid()), ctx).await?;
        Ok(next)
    }

    /// Adds a dated, attributed addendum below a signed record.
    pub async fn add_addendum<T: ClinicalRecord>(
        &self,
        account: &Account,
        id: RecordId,
        text: &str,
        ctx: &RequestContext,
    ) -> Result<AddendumId, AppError> {
        let me = Self::clinician(account)?;
        let action = T::ACTIONS.addendum.ok_or(AppError::NotFound)?;
        let text = Zeroizing::new(validated_addendum(text).map_err(AppError::Invalid)?);
        let stored = self.stored_record::<T>(me, id).await?;
        if stored.signed_at.is_none() {
            let message = format!("Addenda are for signed records: change the draft {} instead.", T::NAME);
            return Err(AppError::Invalid(FieldError::new("text", message).into()));
        }
        let addendum_id = AddendumId::new();
        let field = addendum_field(addendum_id);
        let place = SealedFor { account: me.as_uuid(), kind: T::KIND, field: &field, record: id.as_uuid() };
        let sealed = self.seal_field(&place, text.as_bytes()).await?;
        let addendum = StoredAddendum { id: addendum_id, record: id, sealed, added_by: me, added_at: self.now() };
        let mut tx = self.store.begin().await?;
        if !tx.insert_addendum(me, &addendum).await? {
            return Err(AppError::NotFound);
        }
        let target = AuditTarget::new(T::TARGET, id.as_uuid());
        let event = self.event(Actor::Account(me), action, target, AuditOutcome::Success, ctx);
        self.audit(&mut tx, event).await?;
        tx.commit().await?;
        Ok(addendum_id)
    }

    /// A client's records of kind `T`, newest first (by the date they are
    /// about, then by creation). Addenda are not loaded: open one record
    /// for those.
    pub async fn records_of<T: ClinicalRecord>(
        &self,
        account: &Account,
        client: ClientId,
        ctx: &RequestContext,
    ) -> Result<Vec<Record<T>>, AppError> {
        let me = Self::clinician(account)?;
        self.store.client(me, client).await?.ok_or(AppError::NotFound)?;
        let records = self.client_records::<T>(me, client).await?;
        self.audit_read(me, T::ACTIONS.list, T::TARGET, None, ctx).await?;
        Ok(records)
    }

    /// As `records_of`, unaudited: for use cases that audit their own read.
    pub(crate) async fn client_records<T: ClinicalRecord>(
        &self,
        me: AccountId,
        client: ClientId,
    ) -> Result<Vec<Record<T>>, AppError> {
        let stored = self.store.records_of(me, client, &[T::KIND]).await?;
        self.open_records(me, &stored).await
    }

    /// The records of kind `T` among `stored` (of any kinds), opened,
    /// newest first (by the date they are about, then by creation).
    pub(crate) async fn open_records<T: ClinicalRecord>(
        &self,
        me: AccountId,
        stored: &[StoredRecord],
    ) -> Result<Vec<Record<T>>, AppError> {
        let mut records = Vec::new();
        for one in stored.iter().filter(|r| r.kind == T::KIND) {
            records.push(self.read_record::<T>(me, one, false).await?);
        }
        records.sort_by_key(|r| std::cmp::Reverse((r.content.expose().date(), r.created_at)));
        Ok(records)
    }

    /// Every saved version of a record, oldest first.
    pub async fn record_history<T: ClinicalRecord>(
        &self,
        account: &Account,
        id: RecordId,
        ctx: &RequestContext,
    ) -> Result<Vec<RecordVersion<T>>, AppError> {
        let me = Self::clinician(account)?;
        let stored = self.stored_record::<T>(me, id).await?;
        let mut out = Vec::new();
        for v in self.store.record_versions(me, id).await? {
            let content = self.open_content::<T>(me, id, v.version, &v.sealed).await?;
            let signed = stored.signed_at.is_some() && v.version == stored.version;
            out.push(RecordVersion {
                version: v.version,
                changed_by: v.changed_by,
                changed_at: v.changed_at,
                content,
                signed,
            });
        }
        self.audit_read(me, T::ACTIONS.history, T::TARGET, Some(id.as_uuid()), ctx).await?;
        Ok(out)
    }
}
