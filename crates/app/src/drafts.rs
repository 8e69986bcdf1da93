//! AI-assisted drafts: which engine drafts, and the therapist's consent to
//! let a language model draft from their records (recorded, audited, and
//! withdrawable). A model is called only when it is configured, marked by
//! the operator as covered by a BAA, and the therapist has consented
//! (checklist 36); otherwise drafting is rule-based and nothing leaves the
//! server. (Design: `docs/design/ai-drafts.md`.)
//!
//! Drafting a session note: the note is read (audited), its shorthand and
//! transcript are the sources, and the draft comes back for the therapist
//! to take sections from. Nothing is saved: what they take goes into the
//! note's form, and only their own save writes it.

use cbt_domain::account::Account;
use cbt_domain::audit::{Actor, AuditAction, AuditOutcome, AuditTarget, RequestContext, TargetKind};
use cbt_domain::ids::RecordId;
use cbt_domain::record::ClinicalRecord;
use cbt_domain::session_note::{SECTION_MAX, SessionNote};
use cbt_domain::validation::FieldError;
use cbt_drafting::{NoteDraft, NoteFormat, Source};
use cbt_ports::{ModelInfo, StoredConsent};
use time::OffsetDateTime;

use crate::records::Record;
use crate::{App, AppError};

/// The consent's kind in the store.
pub const CONSENT_KIND: &str = "ai_drafts";

/// The version of the consent text the AI drafts page shows. A new text
/// gets a new version; a consent to an older one no longer counts.
pub const CONSENT_TERMS: &str = "ai-drafts-v1";

/// What drafts are made with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DraftingEngine {
    /// No model configured: structured drafting from the therapist's own
    /// words and records, by rules.
    RuleBased,
    /// A model the operator marked as covered by a BAA.
    Model(ModelInfo),
    /// A model configured without a BAA: never called, so drafting is
    /// rule-based.
    ModelWithoutBaa(ModelInfo),
}

/// The therapist's standing consent, as last recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Consent {
    pub given: bool,
    pub recorded_at: OffsetDateTime,
}

/// What the AI drafts page shows a therapist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AiDraftsStatus {
    pub engine: DraftingEngine,
    /// `None` when never asked, or asked with an older text.
    pub consent: Option<Consent>,
}

impl AiDraftsStatus {
    /// Whether a draft for this therapist may go to the model.
    pub fn model_may_draft(&self) -> bool {
        matches!(self.engine, DraftingEngine::Model(_)) && self.consent.is_some_and(|c| c.given)
    }
}

impl App {
    pub fn drafting_engine(&self) -> DraftingEngine {
        match &self.llm {
            None => DraftingEngine::RuleBased,
            Some(llm) if llm.model().baa => DraftingEngine::Model(llm.model().clone()),
            Some(llm) => DraftingEngine::ModelWithoutBaa(llm.model().clone()),
        }
    }

    pub async fn ai_drafts_status(&self, account: &Account) -> Result<AiDraftsStatus, AppError> {
        let me = Self::clinician(account)?;
        let consent = self
            .store
            .latest_consent(me, CONSENT_KIND)
            .await?
            .filter(|c| c.terms == CONSENT_TERMS)
            .map(|c| Consent { given: c.given, recorded_at: c.recorded_at });
        Ok(AiDraftsStatus { engine: self.drafting_engine(), consent })
    }

    /// Records the therapist's consent given or withdrawn, with its audit
    /// event. Saying again what already holds records nothing.
    pub async fn set_ai_drafts_consent(
        &self,
        account: &Account,
        given: bool,
        ctx: &RequestContext,
    ) -> Result<(), AppError> {
        let me = Self::clinician(account)?;
        let status = self.ai_drafts_status(account).await?;
        if given && !matches!(status.engine, DraftingEngine::Model(_)) {
            let message = "No language model covered by a business associate agreement is set up here, so there is nothing to allow.";
            return Err(AppError::Invalid(FieldError::new("consent", message).into()));
        }
        if status.consent.is_some_and(|c| c.given == given) {
            return Ok(());
        }
        let consent = StoredConsent {
            id: uuid::Uuid::now_v7(),
            account: me,
            kind: CONSENT_KIND.into(),
            given,
            terms: CONSENT_TERMS.into(),
            recorded_at: self.now(),
        };
        let action = if given { AuditAction::AiDraftsConsentGiven } else { AuditAction::AiDraftsConsentWithdrawn };
        let target = AuditTarget::new(TargetKind::Account, me.as_uuid());
        let mut tx = self.store.begin().await?;
        tx.insert_consent(&consent).await?;
        let event = self.event(Actor::Account(me), action, target, AuditOutcome::Success, ctx);
        self.audit(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// What the therapist gives a note draft to work from.
#[derive(Default)]
pub struct NoteDraftRequest {
    /// Their shorthand: a few words a line, `S:`/`P:` labels if they like.
    pub shorthand: String,
    /// An excerpt of the session's transcript (`Client: …` lines); may be
    /// empty.
    pub transcript: String,
}

/// A drafted session note, beside the note as saved.
pub struct DraftedNote {
    pub note: Record<SessionNote>,
    pub draft: NoteDraft,
    /// What the draft's citations point into.
    pub sources: Vec<Source>,
    /// What made it (rule-based, for now, whatever is configured).
    pub engine: DraftingEngine,
}

impl App {
    /// Drafts one of the therapist's unsigned session notes from their
    /// shorthand (and transcript), in the note's format.
    pub async fn draft_session_note(
        &self,
        account: &Account,
        id: RecordId,
        request: NoteDraftRequest,
        ctx: &RequestContext,
    ) -> Result<DraftedNote, AppError> {
        let me = Self::clinician(account)?;
        let mut errors = cbt_domain::validation::FieldErrors::default();
        if request.shorthand.trim().is_empty() {
            errors.push(FieldError::new("shorthand", "Write your shorthand (a few words a line) to draft from."));
        }
        for (field, text) in [("shorthand", &request.shorthand), ("transcript", &request.transcript)] {
            if text.len() > SECTION_MAX {
                errors.push(FieldError::new(field, format!("Keep this under {SECTION_MAX} characters.")));
            }
        }
        errors.into_result().map_err(AppError::Invalid)?;
        let note = self.record::<SessionNote>(account, id, ctx).await?;
        if note.signed_at.is_some() {
            return Err(AppError::Locked);
        }
        let format = NoteFormat::parse(note.content.expose().body.format())
            .ok_or_else(|| AppError::Internal("a note format the drafting rules do not know".into()))?;
        let mut sources =
            vec![Source { id: "shorthand".into(), label: "your shorthand".into(), text: request.shorthand }];
        if !request.transcript.trim().is_empty() {
            sources.push(Source { id: "transcript".into(), label: "the transcript".into(), text: request.transcript });
        }
        let draft = cbt_drafting::draft_session_note(format, &sources[0], sources.get(1));
        let target = SessionNote::TARGET;
        self.audit_read(me, AuditAction::NoteDrafted, target, Some(id.as_uuid()), ctx).await?;
        // A model drafts here once drafting through one is built; until
        // then the rules do, whatever is configured.
        Ok(DraftedNote { note, draft, sources, engine: DraftingEngine::RuleBased })
    }
}
