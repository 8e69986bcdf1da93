//! The therapist's own instruments: a custom definition (items, one
//! response scale or more, scoring, bands, risk items) sealed as one
//! document per account-wide instrument, owner-scoped, every read and
//! change audited. A result of one keeps a copy of the definition it was
//! scored under (see `assessments`), so changing an instrument never
//! changes a past score; the definition's own `version` is raised on every
//! change besides, so results name the rules they were scored under.

use cbt_domain::AccountId;
use cbt_domain::account::Account;
use cbt_domain::assessment::{Instrument, InstrumentDefinition};
use cbt_domain::audit::{Actor, AuditAction, AuditOutcome, AuditTarget, RequestContext, TargetKind};
use cbt_domain::ids::InstrumentId;
use cbt_domain::validation::FieldError;
use cbt_ports::StoredInstrument;
use time::OffsetDateTime;

use crate::{App, AppError};

/// The sealing kind of a custom instrument's definition.
pub(crate) const INSTRUMENT_KIND: &str = "instrument";

/// A custom instrument as the therapist reads it.
#[derive(Clone, Debug)]
pub struct CustomInstrument {
    pub id: InstrumentId,
    /// The stored version: a change names it, and is refused when someone
    /// saved since.
    pub version: i64,
    pub instrument: Instrument,
    pub updated_at: OffsetDateTime,
}

impl App {
    pub(crate) async fn open_instrument(
        &self,
        me: AccountId,
        stored: &StoredInstrument,
    ) -> Result<(InstrumentId, InstrumentDefinition), AppError> {
        let definition = self
            .open_document::<InstrumentDefinition>(
                me,
                INSTRUMENT_KIND,
                stored.id.as_uuid(),
                stored.version,
                &stored.sealed,
            )
            .await?;
        Ok((stored.id, definition.expose().clone()))
    }

    async fn open_custom(&self, me: AccountId, stored: &StoredInstrument) -> Result<CustomInstrument, AppError> {
        let (id, definition) = self.open_instrument(me, stored).await?;
        let instrument = Instrument::new(definition)
            .map_err(|_| AppError::Internal("a stored custom instrument no longer validates".into()))?;
        Ok(CustomInstrument { id, version: stored.version, instrument, updated_at: stored.updated_at })
    }

    async fn write_instrument(
        &self,
        me: AccountId,
        stored: &StoredInstrument,
        action: AuditAction,
        ctx: &RequestContext,
    ) -> Result<(), AppError> {
        let mut tx = self.store.begin().await?;
        if stored.version == 1 {
            tx.insert_instrument(stored).await?;
        } else if !tx.update_instrument(stored).await? {
            return Err(AppError::Conflict);
        }
        let target = AuditTarget::new(TargetKind::Instrument, stored.id.as_uuid());
        let event = self.event(Actor::Account(me), action, target, AuditOutcome::Success, ctx);
        self.audit(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Adds a custom instrument to the therapist's library. Its definition
    /// starts at version 1, whatever was sent.
    pub async fn create_instrument(
        &self,
        account: &Account,
        mut definition: InstrumentDefinition,
        ctx: &RequestContext,
    ) -> Result<InstrumentId, AppError> {
        let me = Self::clinician(account)?;
        definition.version = 1;
        let instrument = Instrument::new(definition).map_err(AppError::Invalid)?;
        let now = self.now();
        let id = InstrumentId::new();
        let sealed = self.seal_document(me, INSTRUMENT_KIND, id.as_uuid(), 1, instrument.definition()).await?;
        let stored = StoredInstrument { id, account: me, version: 1, sealed, created_at: now, updated_at: now };
        self.write_instrument(me, &stored, AuditAction::InstrumentCreated, ctx).await?;
        Ok(id)
    }

    /// Changes a custom instrument read at `version` (a conflict when
    /// someone saved since). The definition's version is the one before
    /// raised by one; results already recorded keep their own copy.
    pub async fn update_instrument(
        &self,
        account: &Account,
        id: InstrumentId,
        version: i64,
        mut definition: InstrumentDefinition,
        ctx: &RequestContext,
    ) -> Result<i64, AppError> {
        let me = Self::clinician(account)?;
        let stored = self.store.instrument(me, id).await?.ok_or(AppError::NotFound)?;
        if stored.version != version {
            return Err(AppError::Conflict);
        }
        let (_, before) = self.open_instrument(me, &stored).await?;
        definition.version = before.version.checked_add(1).ok_or_else(|| {
            AppError::Invalid(FieldError::new("version", "This instrument has been changed too often.").into())
        })?;
        let instrument = Instrument::new(definition).map_err(AppError::Invalid)?;
        let next = version + 1;
        let sealed = self.seal_document(me, INSTRUMENT_KIND, id.as_uuid(), next, instrument.definition()).await?;
        let changed = StoredInstrument { version: next, sealed, updated_at: self.now(), ..stored };
        self.write_instrument(me, &changed, AuditAction::InstrumentUpdated, ctx).await?;
        Ok(next)
    }

    /// One of the therapist's custom instruments (an audited read).
    pub async fn custom_instrument(
        &self,
        account: &Account,
        id: InstrumentId,
        ctx: &RequestContext,
    ) -> Result<CustomInstrument, AppError> {
        let me = Self::clinician(account)?;
        let stored = self.store.instrument(me, id).await?.ok_or(AppError::NotFound)?;
        let custom = self.open_custom(me, &stored).await?;
        self.audit_read(me, AuditAction::InstrumentRead, TargetKind::Instrument, Some(id.as_uuid()), ctx).await?;
        Ok(custom)
    }

    /// The therapist's custom instruments, oldest first (an audited read).
    pub async fn custom_instruments(
        &self,
        account: &Account,
        ctx: &RequestContext,
    ) -> Result<Vec<CustomInstrument>, AppError> {
        let me = Self::clinician(account)?;
        let mut out = Vec::new();
        for stored in self.store.instruments_of(me).await? {
            out.push(self.open_custom(me, &stored).await?);
        }
        self.audit_read(me, AuditAction::InstrumentsListed, TargetKind::Instrument, None, ctx).await?;
        Ok(out)
    }
}
