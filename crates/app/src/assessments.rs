//! Assessments: results of the shipped and the therapist's own instruments
//! (clinical records of kind `assessment`, scored when saved), the risk
//! flags they raise and their acknowledgement, and the caseload's open
//! flags. Client self-report links are in `client_links`; the therapist's
//! own instruments in `instruments`.

use cbt_domain::account::Account;
use cbt_domain::assessment::{
    AssessmentResult, IndexedResult, Instrument, InstrumentDefinition, OpenRiskFlag, OpenRiskFlags, custom_key, library,
};
use cbt_domain::audit::{AuditAction, AuditTarget, RequestContext, TargetKind};
use cbt_domain::ids::{ClientId, InstrumentId, RecordId};
use cbt_domain::record::ClinicalRecord;
use cbt_domain::validation::FieldError;
use cbt_domain::{AccountId, Phi};
use cbt_ports::{StoreTx, StoredRecord, StoredRiskFlags};
use time::Date;
use zeroize::Zeroizing;

use crate::{App, AppError};

/// An instrument the therapist can use: `key` is what results and forms
/// name it by (`phq-9`, `custom:<id>`).
#[derive(Clone, Debug)]
pub struct InstrumentChoice {
    pub key: String,
    pub instrument: Instrument,
    pub custom: bool,
}

/// What the therapist entered for one result.
#[derive(Debug)]
pub struct AssessmentEntry {
    /// `phq-9`, … or `custom:<id>`.
    pub instrument: String,
    pub taken_on: Date,
    pub answers: Vec<Option<u32>>,
    pub comment: String,
}

/// One result as its page shows it: the result, the instrument it was
/// scored under, and the client's results of that instrument (oldest
/// first, this one included) for the chart and the change figures.
#[derive(Debug)]
pub struct AssessmentView {
    pub result: crate::records::Record<AssessmentResult>,
    pub instrument: Instrument,
    pub series: Vec<IndexedResult>,
}

/// An open flag with the client's name, for the home page.
#[derive(Debug)]
pub struct FlaggedClient {
    pub flag: OpenRiskFlag,
    pub client_name: Phi<String>,
    pub instrument: String,
}

impl App {
    /// The shipped instruments.
    pub fn shipped_instruments(&self) -> Result<Vec<InstrumentChoice>, AppError> {
        let library = library().map_err(|e| AppError::Internal(e.to_string()))?;
        Ok(library
            .all()
            .iter()
            .map(|i| InstrumentChoice { key: i.id().to_owned(), instrument: i.clone(), custom: false })
            .collect())
    }

    /// Every instrument the therapist can use: the shipped ones, then their
    /// own (whose listing is an audited read).
    pub async fn instruments(
        &self,
        account: &Account,
        ctx: &RequestContext,
    ) -> Result<Vec<InstrumentChoice>, AppError> {
        let me = Self::clinician(account)?;
        let mut out = self.shipped_instruments()?;
        let custom = self.store.instruments_of(me).await?;
        if !custom.is_empty() {
            for stored in custom {
                let (id, definition) = self.open_instrument(me, &stored).await?;
                let instrument = Instrument::new(definition)
                    .map_err(|_| AppError::Internal("a stored custom instrument no longer validates".into()))?;
                out.push(InstrumentChoice { key: custom_key(id), instrument, custom: true });
            }
            self.audit_read(me, AuditAction::InstrumentsListed, TargetKind::Instrument, None, ctx).await?;
        }
        Ok(out)
    }

    /// The instrument a key names, for this therapist, with the definition
    /// a result of a custom one keeps a copy of. An unknown key (or another
    /// therapist's instrument) is the field's error.
    pub(crate) async fn instrument_for(
        &self,
        me: AccountId,
        key: &str,
    ) -> Result<(Instrument, Option<InstrumentDefinition>), AppError> {
        let unknown =
            || AppError::Invalid(FieldError::new("instrument", "Choose one of the instruments offered.").into());
        if let Some(id) = key.strip_prefix("custom:") {
            let id: InstrumentId = id.parse().map_err(|_| unknown())?;
            let stored = self.store.instrument(me, id).await?.ok_or_else(unknown)?;
            let (_, definition) = self.open_instrument(me, &stored).await?;
            let instrument = Instrument::new(definition.clone()).map_err(AppError::Invalid)?;
            return Ok((instrument, Some(definition)));
        }
        let library = library().map_err(|e| AppError::Internal(e.to_string()))?;
        Ok((library.get(key).cloned().ok_or_else(unknown)?, None))
    }

    /// Records a result the therapist entered (in session, or from paper).
    pub async fn record_assessment(
        &self,
        account: &Account,
        client: ClientId,
        entry: AssessmentEntry,
        ctx: &RequestContext,
    ) -> Result<RecordId, AppError> {
        let me = Self::clinician(account)?;
        self.store.client(me, client).await?.ok_or(AppError::NotFound)?;
        let (_, definition) = self.instrument_for(me, &entry.instrument).await?;
        let mut result = AssessmentResult::new(&entry.instrument, definition, entry.taken_on);
        result.answers = entry.answers;
        result.comment = entry.comment;
        self.create_record(account, client, result, ctx).await
    }

    /// Opens one result with the client's other results of its instrument
    /// (audited: the result read, and the client's results listed).
    pub async fn assessment(
        &self,
        account: &Account,
        id: RecordId,
        ctx: &RequestContext,
    ) -> Result<AssessmentView, AppError> {
        let me = Self::clinician(account)?;
        let result = self.record::<AssessmentResult>(account, id, ctx).await?;
        let instrument = result.content.expose().instrument().map_err(AppError::Invalid)?;
        let series = self.results_of_client(me, result.client).await?;
        let key = &result.content.expose().instrument;
        let series = series.into_iter().filter(|r| &r.instrument == key).collect();
        self.audit_read(me, AssessmentResult::ACTIONS.list, AssessmentResult::TARGET, None, ctx).await?;
        Ok(AssessmentView { result, instrument, series })
    }

    /// One of the therapist's clients' results from their index, oldest
    /// first (an audited read).
    pub async fn assessments_of(
        &self,
        account: &Account,
        client: ClientId,
        ctx: &RequestContext,
    ) -> Result<Vec<IndexedResult>, AppError> {
        let me = Self::clinician(account)?;
        let results = self.results_of_client(me, client).await?;
        self.audit_read(me, AssessmentResult::ACTIONS.list, AssessmentResult::TARGET, None, ctx).await?;
        Ok(results)
    }

    /// The client's results from their index, oldest first (unaudited).
    async fn results_of_client(&self, me: AccountId, client: ClientId) -> Result<Vec<IndexedResult>, AppError> {
        let page = self.store.client_page(me, client, &[]).await?.ok_or(AppError::NotFound)?;
        Ok(self.note_index_of(me, client, page.note_index).await?.results_oldest_first())
    }

    /// Marks a result's risk flags as seen by the therapist: a new version
    /// of the result, with its own audit event. Nothing to acknowledge is
    /// not an error (a second tab, a double click).
    pub async fn acknowledge_risk(
        &self,
        account: &Account,
        id: RecordId,
        ctx: &RequestContext,
    ) -> Result<(), AppError> {
        let me = Self::clinician(account)?;
        let stored = self.stored_record::<AssessmentResult>(me, id).await?;
        let content = self.open_content::<AssessmentResult>(me, id, stored.version, &stored.sealed).await?;
        let mut result = Zeroizing::new(content.expose().clone());
        if !result.open_flags() {
            return Ok(());
        }
        let now = self.now();
        result.acknowledge(me, now);
        let next = stored.version + 1;
        let sealed = self.seal_document(me, AssessmentResult::KIND, id.as_uuid(), next, &*result).await?;
        let changed = StoredRecord { version: next, sealed, updated_at: now, ..stored };
        let target = AuditTarget::new(AssessmentResult::TARGET, id.as_uuid());
        let entry = result.index_entry(id, false);
        self.write_version(me, &changed, entry, AuditAction::AssessmentRiskAcknowledged, target, ctx).await
    }

    /// Keeps the account's open risk flags in step with a result as now
    /// saved, in the result's transaction.
    pub(crate) async fn keep_risk_flags(
        &self,
        tx: &mut Box<dyn StoreTx>,
        me: AccountId,
        client: ClientId,
        result: &IndexedResult,
    ) -> Result<(), AppError> {
        // Two tries, as for the client's first index: another result that
        // raised the account's first flag at this moment has committed by
        // the time ours is refused.
        for _ in 0..2 {
            let held = tx.risk_flags_for_update(me).await?;
            let mut flags = match &held {
                Some(stored) => self.open_risk_list(me, stored).await?,
                None => OpenRiskFlags::default(),
            };
            if !flags.put(client, result) {
                return Ok(());
            }
            let now = self.now();
            let version = held.as_ref().map_or(1, |h| h.version + 1);
            let sealed = self.seal_document(me, OpenRiskFlags::KIND, me.as_uuid(), version, &flags).await?;
            let stored = StoredRiskFlags {
                id: me,
                account: me,
                version,
                sealed,
                created_at: held.as_ref().map_or(now, |h| h.created_at),
                updated_at: now,
            };
            if tx.put_risk_flags(&stored).await? {
                return Ok(());
            }
            if held.is_some() {
                break;
            }
        }
        Err(AppError::Conflict)
    }

    async fn open_risk_list(&self, me: AccountId, stored: &StoredRiskFlags) -> Result<OpenRiskFlags, AppError> {
        let flags = self
            .open_document::<OpenRiskFlags>(me, OpenRiskFlags::KIND, me.as_uuid(), stored.version, &stored.sealed)
            .await?;
        Ok(flags.expose().clone())
    }

    /// The caseload's open risk flags, newest first, with each client's
    /// name (an audited read).
    pub async fn open_risk_flags(
        &self,
        account: &Account,
        ctx: &RequestContext,
    ) -> Result<Vec<FlaggedClient>, AppError> {
        let me = Self::clinician(account)?;
        let Some(stored) = self.store.risk_flags(me).await? else { return Ok(Vec::new()) };
        let flags = self.open_risk_list(me, &stored).await?.newest_first();
        if flags.is_empty() {
            return Ok(Vec::new());
        }
        let names = self.shipped_instruments()?;
        let mut out = Vec::with_capacity(flags.len());
        for flag in flags {
            let Some(client) = self.store.client(me, flag.client).await? else { continue };
            let client = self.open_client(client).await?;
            let instrument = names
                .iter()
                .find(|c| c.key == flag.instrument)
                .map_or_else(|| "Custom questionnaire".to_owned(), |c| c.instrument.definition().short_name.clone());
            out.push(FlaggedClient {
                client_name: Phi::new(client.details.expose().display_name().to_owned()),
                flag,
                instrument,
            });
        }
        self.audit_read(me, AuditAction::AssessmentsListed, TargetKind::Assessment, None, ctx).await?;
        Ok(out)
    }
}
