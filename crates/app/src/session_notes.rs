//! Session notes are records like the others (see `records`); what is
//! theirs alone is the psychotherapy note: the therapist's private notes
//! about a session, a record kind of its own, never read with the note and
//! editable after the note is signed.

use cbt_domain::account::Account;
use cbt_domain::audit::{AuditAction, AuditTarget, RequestContext, TargetKind};
use cbt_domain::ids::RecordId;
use cbt_domain::session_note::{PsychotherapyNote, SessionNote};
use cbt_domain::{AccountId, Phi};
use cbt_ports::StoredRecord;

use crate::records::Record;
use crate::{App, AppError};

/// Psychotherapy notes: a kind of their own, never read with the note.
const PRIVATE_KIND: &str = "psychotherapy_note";

/// A session note as the therapist reads it.
pub type Note = Record<SessionNote>;

impl App {
    /// The psychotherapy note of one of the therapist's session notes (empty
    /// when none was written), with its version for saving.
    pub async fn psychotherapy_note(
        &self,
        account: &Account,
        note: RecordId,
        ctx: &RequestContext,
    ) -> Result<(Phi<PsychotherapyNote>, i64), AppError> {
        let me = Self::clinician(account)?;
        let session = self.stored_record::<SessionNote>(me, note).await?;
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
        let session = self.stored_record::<SessionNote>(me, note).await?;
        let now = cbt_domain::time::to_storage_precision(self.clock.now());
        let found = self.find_psychotherapy_note(me, &session).await?;
        let (record, next) = match found {
            None if version == 0 => {
                let id = RecordId::new();
                let sealed = self.seal_document(me, PRIVATE_KIND, id.as_uuid(), 1, &content).await?;
                let record = StoredRecord {
                    id,
                    account: me,
                    client: session.client,
                    kind: PRIVATE_KIND.into(),
                    version: 1,
                    sealed,
                    signed_at: None,
                    created_at: now,
                    updated_at: now,
                };
                (record, 1)
            }
            Some((record, _, current)) if current == version => {
                let next = version + 1;
                let sealed = self.seal_document(me, PRIVATE_KIND, record.id.as_uuid(), next, &content).await?;
                (StoredRecord { version: next, sealed, updated_at: now, ..record }, next)
            }
            _ => return Err(AppError::Conflict),
        };
        // The audit target is the session note: the private note has no
        // life of its own.
        let target = AuditTarget::new(TargetKind::SessionNote, note.as_uuid());
        self.write_version(me, &record, None, AuditAction::PsychotherapyNoteSaved, target, ctx).await?;
        Ok(next)
    }

    async fn find_psychotherapy_note(
        &self,
        me: AccountId,
        session: &StoredRecord,
    ) -> Result<Option<(StoredRecord, Phi<PsychotherapyNote>, i64)>, AppError> {
        for record in self.store.records_of(me, session.client, &[PRIVATE_KIND]).await? {
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
