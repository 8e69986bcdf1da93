//! Session notes: drafts (saved as often as the therapist types), signing
//! (which locks the note), addenda to signed notes, the client's notes, and
//! each note's history. Content is sealed, bound to its version; every
//! change writes its audit event in the same transaction; reads are
//! audited.

use cbt_domain::account::Account;
use cbt_domain::audit::{Actor, AuditAction, AuditOutcome, AuditTarget, RequestContext, TargetKind};
use cbt_domain::ids::{AddendumId, ClientId, RecordId};
use cbt_domain::session_note::{PsychotherapyNote, SessionNote, validated_addendum};
use cbt_domain::{AccountId, Phi};
use cbt_encryption::SealedFor;
use cbt_ports::{StoredAddendum, StoredRecord, StoredRecordVersion};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::{App, AppError};

const KIND: &str = "session_note";
/// Psychotherapy notes: a kind of their own, never read with the note.
const PRIVATE_KIND: &str = "psychotherapy_note";

/// A note as the therapist reads it.
#[derive(Debug)]
pub struct Note {
    pub id: RecordId,
    pub client: ClientId,
    pub version: i64,
    pub content: Phi<SessionNote>,
    pub signed_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    /// Dated, attributed, below the note (signed notes only).
    pub addenda: Vec<Addendum>,
}

#[derive(Debug)]
pub struct Addendum {
    pub id: AddendumId,
    pub text: Phi<String>,
    pub added_by: AccountId,
    pub added_at: OffsetDateTime,
}

#[derive(Debug)]
pub struct NoteVersion {
    pub version: i64,
    pub changed_by: AccountId,
    pub changed_at: OffsetDateTime,
    pub content: Phi<SessionNote>,
}

fn place(account: AccountId, id: RecordId, field: &str) -> SealedFor<'_> {
    SealedFor { account: account.as_uuid(), kind: KIND, field, record: id.as_uuid() }
}

impl App {
    async fn seal_note(
        &self,
        me: AccountId,
        id: RecordId,
        version: i64,
        note: &SessionNote,
    ) -> Result<Vec<u8>, AppError> {
        self.seal_document(me, KIND, id.as_uuid(), version, note).await
    }

    async fn open_note(
        &self,
        me: AccountId,
        id: RecordId,
        version: i64,
        sealed: &[u8],
    ) -> Result<Phi<SessionNote>, AppError> {
        self.open_document(me, KIND, id.as_uuid(), version, sealed).await
    }

    async fn note_record(&self, me: AccountId, id: RecordId) -> Result<StoredRecord, AppError> {
        self.store.record(me, id).await?.filter(|r| r.kind == KIND).ok_or(AppError::NotFound)
    }

    /// Saves a change or a signature as the next version, with its audit
    /// event, if the note is still unsigned and at `record.version - 1`.
    async fn save_note_version(
        &self,
        me: AccountId,
        record: &StoredRecord,
        action: AuditAction,
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
        if !tx.update_record(record, &version).await? {
            return Err(AppError::Conflict);
        }
        let target = AuditTarget::new(TargetKind::SessionNote, record.id.as_uuid());
        let event = self.event(Actor::Account(me), action, target, AuditOutcome::Success, ctx);
        self.audit(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Starts a note (a draft) for one of the therapist's clients.
    pub async fn create_note(
        &self,
        account: &Account,
        client: ClientId,
        note: SessionNote,
        ctx: &RequestContext,
    ) -> Result<RecordId, AppError> {
        let me = Self::clinician(account)?;
        let now = cbt_domain::time::to_storage_precision(self.clock.now());
        let note = note.validated(now.date()).map_err(AppError::Invalid)?;
        self.store.client(me, client).await?.ok_or(AppError::NotFound)?;
        let id = RecordId::new();
        let sealed = self.seal_note(me, id, 1, &note).await?;
        let record = StoredRecord {
            id,
            account: me,
            client,
            kind: KIND.into(),
            version: 1,
            sealed: sealed.clone(),
            signed_at: None,
            created_at: now,
            updated_at: now,
        };
        let first = StoredRecordVersion { record: id, version: 1, sealed, changed_by: me, changed_at: now };
        let mut tx = self.store.begin().await?;
        tx.insert_record(&record, &first).await?;
        let target = AuditTarget::new(TargetKind::SessionNote, id.as_uuid());
        let event = self.event(Actor::Account(me), AuditAction::NoteCreated, target, AuditOutcome::Success, ctx);
        self.audit(&mut tx, event).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Opens a note with its addenda.
    pub async fn note(&self, account: &Account, id: RecordId, ctx: &RequestContext) -> Result<Note, AppError> {
        let me = Self::clinician(account)?;
        let record = self.note_record(me, id).await?;
        let note = self.read_note(me, record).await?;
        self.audit_read(me, AuditAction::NoteRead, TargetKind::SessionNote, Some(id.as_uuid()), ctx).await?;
        Ok(note)
    }

    async fn read_note(&self, me: AccountId, record: StoredRecord) -> Result<Note, AppError> {
        let content = self.open_note(me, record.id, record.version, &record.sealed).await?;
        let mut addenda = Vec::new();
        for a in self.store.addenda_of(me, record.id).await? {
            let text = self.open_field(&place(me, record.id, &format!("addendum.{}", a.id)), &a.sealed).await?;
            let text =
                String::from_utf8(text.to_vec()).map_err(|_| AppError::Internal("an addendum is unreadable".into()))?;
            addenda.push(Addendum { id: a.id, text: Phi::new(text), added_by: a.added_by, added_at: a.added_at });
        }
        Ok(Note {
            id: record.id,
            client: record.client,
            version: record.version,
            content,
            signed_at: record.signed_at,
            created_at: record.created_at,
            updated_at: record.updated_at,
            addenda,
        })
    }

    /// Saves a draft (autosave or the Save button) as a new version, if
    /// nobody saved since `version` (`Conflict`) and it is not signed
    /// (`Locked`).
    pub async fn update_note(
        &self,
        account: &Account,
        id: RecordId,
        version: i64,
        note: SessionNote,
        ctx: &RequestContext,
    ) -> Result<i64, AppError> {
        let me = Self::clinician(account)?;
        let now = cbt_domain::time::to_storage_precision(self.clock.now());
        let note = note.validated(now.date()).map_err(AppError::Invalid)?;
        let record = self.note_record(me, id).await?;
        if record.signed_at.is_some() {
            return Err(AppError::Locked);
        }
        if record.version != version {
            return Err(AppError::Conflict);
        }
        let next = version + 1;
        let sealed = self.seal_note(me, id, next, &note).await?;
        let changed = StoredRecord { version: next, sealed, updated_at: now, ..record };
        self.save_note_version(me, &changed, AuditAction::NoteUpdated, ctx).await?;
        Ok(next)
    }

    /// Signs the note as it is at `version`: from now on it is locked.
    pub async fn sign_note(
        &self,
        account: &Account,
        id: RecordId,
        version: i64,
        ctx: &RequestContext,
    ) -> Result<i64, AppError> {
        let me = Self::clinician(account)?;
        let now = cbt_domain::time::to_storage_precision(self.clock.now());
        let record = self.note_record(me, id).await?;
        if record.signed_at.is_some() {
            return Err(AppError::Locked);
        }
        if record.version != version {
            return Err(AppError::Conflict);
        }
        let content = self.open_note(me, id, version, &record.sealed).await?;
        content.expose().ready_to_sign().map_err(AppError::Invalid)?;
        let next = version + 1;
        let sealed = self.seal_note(me, id, next, content.expose()).await?;
        let signed = StoredRecord { version: next, sealed, signed_at: Some(now), updated_at: now, ..record };
        self.save_note_version(me, &signed, AuditAction::NoteSigned, ctx).await?;
        Ok(next)
    }

    /// Adds a dated, attributed addendum below a signed note.
    pub async fn add_addendum(
        &self,
        account: &Account,
        id: RecordId,
        text: &str,
        ctx: &RequestContext,
    ) -> Result<AddendumId, AppError> {
        let me = Self::clinician(account)?;
        let text = Zeroizing::new(validated_addendum(text).map_err(AppError::Invalid)?);
        let record = self.note_record(me, id).await?;
        if record.signed_at.is_none() {
            let mut errors = cbt_domain::validation::FieldErrors::default();
            errors.push(cbt_domain::validation::FieldError::new(
                "text",
                "Addenda are for signed notes: edit the draft instead.",
            ));
            return Err(AppError::Invalid(errors));
        }
        let addendum_id = AddendumId::new();
        let sealed = self.seal_field(&place(me, id, &format!("addendum.{addendum_id}")), text.as_bytes()).await?;
        let now = cbt_domain::time::to_storage_precision(self.clock.now());
        let addendum = StoredAddendum { id: addendum_id, record: id, sealed, added_by: me, added_at: now };
        let mut tx = self.store.begin().await?;
        if !tx.insert_addendum(me, &addendum).await? {
            return Err(AppError::NotFound);
        }
        let target = AuditTarget::new(TargetKind::SessionNote, id.as_uuid());
        let event = self.event(Actor::Account(me), AuditAction::NoteAddendumAdded, target, AuditOutcome::Success, ctx);
        self.audit(&mut tx, event).await?;
        tx.commit().await?;
        Ok(addendum_id)
    }

    /// A client's notes, newest session first.
    pub async fn notes_of(
        &self,
        account: &Account,
        client: ClientId,
        ctx: &RequestContext,
    ) -> Result<Vec<Note>, AppError> {
        let me = Self::clinician(account)?;
        self.store.client(me, client).await?.ok_or(AppError::NotFound)?;
        let mut notes = Vec::new();
        for record in self.store.records_of(me, client, KIND).await? {
            notes.push(self.read_note(me, record).await?);
        }
        notes.sort_by_key(|n| std::cmp::Reverse((n.content.expose().date, n.created_at)));
        self.audit_read(me, AuditAction::NotesListed, TargetKind::SessionNote, None, ctx).await?;
        Ok(notes)
    }

    /// Every saved version of a note, oldest first.
    pub async fn note_history(
        &self,
        account: &Account,
        id: RecordId,
        ctx: &RequestContext,
    ) -> Result<Vec<NoteVersion>, AppError> {
        let me = Self::clinician(account)?;
        self.note_record(me, id).await?;
        let mut out = Vec::new();
        for v in self.store.record_versions(me, id).await? {
            let content = self.open_note(me, id, v.version, &v.sealed).await?;
            out.push(NoteVersion { version: v.version, changed_by: v.changed_by, changed_at: v.changed_at, content });
        }
        self.audit_read(me, AuditAction::NoteHistoryRead, TargetKind::SessionNote, Some(id.as_uuid()), ctx).await?;
        Ok(out)
    }

    /// The psychotherapy note of one of the therapist's session notes (empty
    /// when none was written), with its version for saving.
    pub async fn psychotherapy_note(
        &self,
        account: &Account,
        note: RecordId,
        ctx: &RequestContext,
    ) -> Result<(Phi<PsychotherapyNote>, i64), AppError> {
        let me = Self::clinician(account)?;
        let session = self.note_record(me, note).await?;
        let found = self.find_psychotherapy_note(me, &session).await?;
        self.audit_read(me, AuditAction::PsychotherapyNoteRead, TargetKind::SessionNote, Some(note.as_uuid()), ctx)
            .await?;
        Ok(match found {
            Some((_, content, version)) => (content, version),
            None => (Phi::new(PsychotherapyNote { session_note: note, text: String::new() }), 0),
        })
    }

    /// Saves the psychotherapy note of a session note as its next version
    /// (`version` 0: the first). It stays editable after the session note
    /// is signed: it is not part of the record.
    pub async fn save_psychotherapy_note(
        &self,
        account: &Account,
        note: RecordId,
        version: i64,
        text: String,
        ctx: &RequestContext,
    ) -> Result<i64, AppError> {
        let me = Self::clinician(account)?;
        let content = PsychotherapyNote { session_note: note, text }.validated().map_err(AppError::Invalid)?;
        let session = self.note_record(me, note).await?;
        let now = cbt_domain::time::to_storage_precision(self.clock.now());
        let found = self.find_psychotherapy_note(me, &session).await?;
        let target = AuditTarget::new(TargetKind::SessionNote, note.as_uuid());
        let event =
            self.event(Actor::Account(me), AuditAction::PsychotherapyNoteSaved, target, AuditOutcome::Success, ctx);
        match found {
            None if version == 0 => {
                let id = RecordId::new();
                let sealed = self.seal_document(me, PRIVATE_KIND, id.as_uuid(), 1, &content).await?;
                let record = StoredRecord {
                    id,
                    account: me,
                    client: session.client,
                    kind: PRIVATE_KIND.into(),
                    version: 1,
                    sealed: sealed.clone(),
                    signed_at: None,
                    created_at: now,
                    updated_at: now,
                };
                let first = StoredRecordVersion { record: id, version: 1, sealed, changed_by: me, changed_at: now };
                let mut tx = self.store.begin().await?;
                tx.insert_record(&record, &first).await?;
                self.audit(&mut tx, event).await?;
                tx.commit().await?;
                Ok(1)
            }
            Some((record, _, current)) if current == version => {
                let next = version + 1;
                let sealed = self.seal_document(me, PRIVATE_KIND, record.id.as_uuid(), next, &content).await?;
                let changed = StoredRecord { version: next, sealed: sealed.clone(), updated_at: now, ..record };
                let row =
                    StoredRecordVersion { record: changed.id, version: next, sealed, changed_by: me, changed_at: now };
                let mut tx = self.store.begin().await?;
                if !tx.update_record(&changed, &row).await? {
                    return Err(AppError::Conflict);
                }
                self.audit(&mut tx, event).await?;
                tx.commit().await?;
                Ok(next)
            }
            _ => Err(AppError::Conflict),
        }
    }

    async fn find_psychotherapy_note(
        &self,
        me: AccountId,
        session: &StoredRecord,
    ) -> Result<Option<(StoredRecord, Phi<PsychotherapyNote>, i64)>, AppError> {
        for record in self.store.records_of(me, session.client, PRIVATE_KIND).await? {
            let content: Phi<PsychotherapyNote> =
                self.open_document(me, PRIVATE_KIND, record.id.as_uuid(), record.version, &record.sealed).await?;
            if content.expose().session_note == session.id {
                let version = record.version;
                return Ok(Some((record, content, version)));
            }
        }
        Ok(None)
    }
}
