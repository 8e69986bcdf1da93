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

use cbt_domain::AccountId;
use cbt_domain::account::Account;
use cbt_domain::audit::{Actor, AuditAction, AuditOutcome, AuditTarget, RequestContext, TargetKind};
use cbt_domain::ids::RecordId;
use cbt_domain::record::ClinicalRecord;
use cbt_domain::session_note::{SECTION_MAX, SessionNote};
use cbt_domain::validation::FieldError;
use cbt_drafting::{Identifiers, NoteDraft, NoteFormat, Placeholders, Source};
use cbt_ports::{
    AnswerSchema, ChatEvent, ChatMessage, ChatRequest, FinishReason, Llm, LlmError, ModelInfo, Role, StoredAiCall,
    StoredConsent, TokenUsage,
};
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

/// What the therapist's account has asked of models lately: metadata
/// only, as `ai_calls` keeps it.
pub struct AiUseReport {
    /// Tokens (prompt and answer) of the last 30 days.
    pub tokens: i64,
    /// The monthly budget they count against.
    pub budget: i64,
    /// The latest calls, newest first (at most [`RECENT_CALLS`]).
    pub recent: Vec<cbt_ports::StoredAiCall>,
}

/// How many of the latest calls the AI drafts page lists.
pub const RECENT_CALLS: u32 = 20;

impl App {
    /// The account's use of models in the last 30 days, against its
    /// budget, with its latest calls. No PHI: what was drafted is named by
    /// kind only.
    pub async fn ai_use(&self, account: &Account) -> Result<AiUseReport, AppError> {
        let me = Self::clinician(account)?;
        let month = self.now() - time::Duration::days(30);
        let tokens = self.store.ai_tokens_since(me, month).await?;
        let recent = self.store.ai_calls_since(me, month, RECENT_CALLS).await?;
        Ok(AiUseReport { tokens, budget: self.settings.ai_tokens_per_month, recent })
    }

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

/// Said when a draft for a restricted client is asked of the model.
const RESTRICTED: &str =
    "This client is marked restricted: nothing about them is sent to an AI model. Suggestions by rules still work.";

/// What the shorthand form offers for one note.
pub struct NoteDraftOptions {
    pub note: Record<SessionNote>,
    /// The model this therapist may draft this note with: `None` when no
    /// model may draft for them, or the client is restricted.
    pub model: Option<ModelInfo>,
}

impl App {
    /// Reads the note (audited) and says whether "Suggest with AI" may be
    /// offered for it: a model covered by a BAA, the therapist's consent,
    /// and a client who is not restricted (reading the client is audited
    /// too, and done only when the rest allows a model).
    pub async fn note_draft_options(
        &self,
        account: &Account,
        id: RecordId,
        ctx: &RequestContext,
    ) -> Result<NoteDraftOptions, AppError> {
        let note = self.record::<SessionNote>(account, id, ctx).await?;
        let status = self.ai_drafts_status(account).await?;
        let model = match (&status.engine, status.model_may_draft()) {
            (DraftingEngine::Model(info), true) => {
                let client = self.client(account, note.client, ctx).await?;
                (!client.details.expose().restricted).then(|| info.clone())
            }
            _ => None,
        };
        Ok(NoteDraftOptions { note, model })
    }
}

/// What the therapist gives a note draft to work from.
#[derive(Default)]
pub struct NoteDraftRequest {
    /// Ask the language model (allowed, covered by a BAA, consented to)
    /// rather than the rules.
    pub with_model: bool,
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
    /// What the draft's citations point into (as the model saw them:
    /// de-identified, when a model drafted).
    pub sources: Vec<Source>,
    /// Puts back what de-identification hid (empty for rule-based drafts).
    pub placeholders: Placeholders,
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
        self.draft_session_note_as_written(account, id, request, ctx, None).await
    }

    /// As [`App::draft_session_note`]; a model's sentences are also sent
    /// to `progress` as they are written (placeholders put back), for a
    /// page that shows the draft growing. A page that went away stops
    /// nothing: the call ends and is recorded as any other.
    pub async fn draft_session_note_as_written(
        &self,
        account: &Account,
        id: RecordId,
        request: NoteDraftRequest,
        ctx: &RequestContext,
        progress: Option<tokio::sync::mpsc::Sender<DraftProgress>>,
    ) -> Result<DraftedNote, AppError> {
        let me = Self::clinician(account)?;
        // Another therapist's note is not found, whatever was sent with it.
        let stored = self.stored_record::<SessionNote>(me, id).await?;
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
        let note = self.read_record::<SessionNote>(me, &stored, false).await?;
        self.audit_read(me, SessionNote::ACTIONS.read, SessionNote::TARGET, Some(id.as_uuid()), ctx).await?;
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
        self.audit_read(me, AuditAction::NoteDrafted, SessionNote::TARGET, Some(id.as_uuid()), ctx).await?;
        if !request.with_model {
            let draft = cbt_drafting::draft_session_note(format, &sources[0], sources.get(1));
            let placeholders = Placeholders::default();
            return Ok(DraftedNote { note, draft, sources, placeholders, engine: DraftingEngine::RuleBased });
        }
        let stored_client = self.store.client(me, note.client).await?.ok_or(AppError::NotFound)?;
        let client = self.open_client(stored_client).await?;
        let llm = self.model_for(account, &client).await?;
        let texts: Vec<&str> = sources.iter().map(|s| s.text.as_str()).collect();
        let (hidden, placeholders) = Self::deidentified(&client, &texts);
        let sent: Vec<Source> = sources.iter().zip(hidden).map(|(s, text)| Source { text, ..s.clone() }).collect();
        let ids: Vec<&str> = sent.iter().map(|s| s.id.as_str()).collect();
        let ask = ModelAsk {
            purpose: "session_note",
            prompt: cbt_drafting::NOTE_PROMPT,
            prompt_version: cbt_drafting::NOTE_PROMPT_VERSION,
            request: cbt_drafting::note_request(format, &sent),
            schema: cbt_drafting::note_schema(format, &ids),
            placeholders: &placeholders,
            progress: progress.as_ref(),
            kept: "Your shorthand is kept",
        };
        let draft = self
            .ask_model(me, llm.as_ref(), ask, ctx, |answer| {
                cbt_drafting::read_note_answer(format, answer, &sent, |t| placeholders.restore(t))
            })
            .await?;
        let engine = DraftingEngine::Model(llm.model().clone());
        Ok(DraftedNote { note, draft, sources: sent, placeholders, engine })
    }

    /// The model this therapist may send `client`'s records to: one covered
    /// by a BAA, their consent, and a client who is not restricted.
    pub(crate) async fn model_for(
        &self,
        account: &Account,
        client: &crate::clients::Client,
    ) -> Result<std::sync::Arc<dyn Llm>, AppError> {
        let status = self.ai_drafts_status(account).await?;
        let (Some(llm), true) = (self.llm.clone(), status.model_may_draft()) else {
            let message = "AI drafts are not allowed for your account: allow them on the AI drafts page first.";
            return Err(AppError::Invalid(FieldError::new("model", message).into()));
        };
        if client.details.expose().restricted {
            return Err(AppError::ModelUnavailable(RESTRICTED.into()));
        }
        Ok(llm)
    }

    /// De-identifies `texts` with what is known of `client`: the texts as
    /// a model may see them, and the placeholders to put back.
    pub(crate) fn deidentified(client: &crate::clients::Client, texts: &[&str]) -> (Vec<String>, Placeholders) {
        cbt_drafting::deidentify(texts, &identifiers(client.details.expose()))
    }

    /// Asks `llm` for a draft and reads its answer with `read`: the call
    /// reserved against the account's limits first, a malformed answer
    /// asked for once more (told what was wrong, never what it said), and
    /// the call recorded (metadata only) and audited however it ends.
    pub(crate) async fn ask_model<T>(
        &self,
        me: AccountId,
        llm: &dyn Llm,
        ask: ModelAsk<'_>,
        ctx: &RequestContext,
        read: impl Fn(&str) -> Result<T, cbt_drafting::AnswerProblem>,
    ) -> Result<T, AppError> {
        let mut messages = vec![ChatMessage::new(Role::System, ask.prompt), ChatMessage::new(Role::User, ask.request)];
        let schema = AnswerSchema { name: ask.purpose.into(), schema: ask.schema };
        let mut call = ModelCall::new(llm.model(), ask.purpose, ask.prompt_version);
        let prompt_chars: usize = messages.iter().map(|m| m.content.len()).sum();
        let max_tokens = self.settings.ai_answer_tokens;
        self.reserve_model_call(me, &call, prompt_chars, max_tokens, ask.kept).await?;
        loop {
            call.attempts += 1;
            let request =
                ChatRequest { messages: messages.clone(), schema: Some(schema.clone()), max_tokens, temperature: 0.0 };
            let written = Written { progress: ask.progress, placeholders: ask.placeholders };
            let answer = match answer_of(llm, request, &mut call, written).await {
                Ok(answer) => answer,
                Err(e) => {
                    call.outcome = outcome_of(&e);
                    self.record_model_call(me, &call, ctx).await?;
                    return Err(AppError::ModelUnavailable(said_to_therapist(&e, ask.kept)));
                }
            };
            match read(&answer) {
                Ok(draft) => {
                    call.outcome = "success";
                    self.record_model_call(me, &call, ctx).await?;
                    return Ok(draft);
                }
                Err(problem) if call.attempts < 2 => {
                    if let Some(progress) = ask.progress {
                        let _ = progress.send(DraftProgress::StartedAgain).await;
                    }
                    messages.push(ChatMessage::new(Role::Assistant, answer));
                    messages.push(ChatMessage::new(
                        Role::User,
                        format!("That answer could not be used: {problem}. Answer again with JSON only, in the required shape."),
                    ));
                }
                Err(_) => {
                    call.outcome = "malformed";
                    self.record_model_call(me, &call, ctx).await?;
                    return Err(AppError::ModelUnavailable(format!(
                        "The AI's answer could not be used, twice. {}: try again, or use the rule-based suggestion.",
                        ask.kept
                    )));
                }
            }
        }
    }

    /// Reserves a call before it is made, or refuses it: over the account's
    /// monthly tokens, or more calls in the last minute than allowed. The
    /// count and the reservation (a `pending` row in `ai_calls` with the
    /// most the call may use) are one transaction holding the account's
    /// use, so calls made at once cannot all pass a check that only one
    /// should; a call that never finishes keeps its reservation, which
    /// errs on the side of the budget.
    async fn reserve_model_call(
        &self,
        me: AccountId,
        call: &ModelCall,
        prompt_chars: usize,
        max_answer_tokens: u32,
        kept: &str,
    ) -> Result<(), AppError> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let used = tx.ai_use_held(me, now - time::Duration::days(30), now - time::Duration::minutes(1)).await?;
        if used.tokens >= self.settings.ai_tokens_per_month {
            return Err(AppError::ModelUnavailable(
                "Your AI drafts for this month are used up (the monthly token budget). Rule-based suggestions still work.".into(),
            ));
        }
        if used.calls >= i64::from(self.settings.ai_calls_per_minute) {
            return Err(AppError::ModelUnavailable(format!(
                "You have asked for several AI drafts in the last minute: wait a moment, then try again. {kept}."
            )));
        }
        let mut pending = call.stored(me, now);
        // A token per three characters (English runs nearer four: the
        // reservation errs high); the answer at its longest.
        pending.prompt_tokens = i32::try_from(prompt_chars / 3).unwrap_or(i32::MAX);
        pending.completion_tokens = i32::try_from(max_answer_tokens).unwrap_or(i32::MAX);
        pending.outcome = "pending".into();
        tx.insert_ai_call(&pending).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Writes how the call ended over its reservation, and its audit event,
    /// in one transaction.
    async fn record_model_call(&self, me: AccountId, call: &ModelCall, ctx: &RequestContext) -> Result<(), AppError> {
        let stored = call.stored(me, self.now());
        let outcome = if call.outcome == "success" { AuditOutcome::Success } else { AuditOutcome::Failure };
        let event = self.event(
            Actor::Account(me),
            AuditAction::AiCalled,
            AuditTarget::new(TargetKind::AiCall, stored.id),
            outcome,
            ctx,
        );
        let mut tx = self.store.begin().await?;
        tx.finish_ai_call(&stored).await?;
        self.audit(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// What is known to identify the client, for de-identification.
fn identifiers(details: &cbt_domain::client::ClientDetails) -> Identifiers {
    let split = |text: &str| -> Vec<String> {
        text.split([',', '\n']).map(str::trim).filter(|p| !p.is_empty()).map(str::to_owned).collect()
    };
    // The emergency contact's name ("Jane Doe (mother), 0770…"): each
    // capitalised word, so "Jane" alone is hidden too.
    let contact_names = details
        .emergency_contact
        .split(|c: char| !(c.is_alphabetic() || c == '\'' || c == '-'))
        .filter(|w| w.chars().count() >= 2 && w.chars().next().is_some_and(char::is_uppercase))
        .map(str::to_owned);
    Identifiers {
        names: [&details.full_name, &details.preferred_name]
            .into_iter()
            .filter(|n| !n.trim().is_empty())
            .cloned()
            .chain(contact_names)
            .collect(),
        birth_date: details.date_of_birth.map(|d| d.to_string()),
        phones: split(&details.phone),
        emails: split(&details.email),
        places: split(&details.address).into_iter().chain(split(&details.emergency_contact)).collect(),
    }
}

/// What a model is asked for one kind of draft.
pub(crate) struct ModelAsk<'a> {
    /// What the call is for, as `ai_calls` records it (`session_note`).
    pub purpose: &'static str,
    pub prompt: &'static str,
    pub prompt_version: &'static str,
    /// The user message: the sources, de-identified.
    pub request: String,
    pub schema: serde_json::Value,
    pub placeholders: &'a Placeholders,
    /// Where sentences go as they are written (notes only).
    pub progress: Option<&'a tokio::sync::mpsc::Sender<DraftProgress>>,
    /// What the therapist is told is safe when it fails ("Your shorthand
    /// is kept").
    pub kept: &'static str,
}

/// One call being made: its metadata as it is learnt.
struct ModelCall {
    /// Its row in `ai_calls`, reserved before the call.
    id: uuid::Uuid,
    provider: &'static str,
    model: String,
    purpose: &'static str,
    prompt_version: &'static str,
    usage: TokenUsage,
    attempts: i32,
    started: std::time::Instant,
    first_token: Option<std::time::Duration>,
    outcome: &'static str,
}

impl ModelCall {
    fn new(info: &ModelInfo, purpose: &'static str, prompt_version: &'static str) -> Self {
        Self {
            id: uuid::Uuid::now_v7(),
            provider: info.provider.as_str(),
            model: info.model.clone(),
            purpose,
            prompt_version,
            usage: TokenUsage::default(),
            attempts: 0,
            started: std::time::Instant::now(),
            first_token: None,
            outcome: "unavailable",
        }
    }

    fn stored(&self, account: AccountId, at: OffsetDateTime) -> StoredAiCall {
        let ms = |d: std::time::Duration| i32::try_from(d.as_millis()).unwrap_or(i32::MAX);
        let tokens = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
        StoredAiCall {
            id: self.id,
            account,
            purpose: self.purpose.into(),
            provider: self.provider.into(),
            model: self.model.clone(),
            prompt_version: self.prompt_version.into(),
            prompt_tokens: tokens(self.usage.prompt),
            completion_tokens: tokens(self.usage.completion),
            attempts: self.attempts,
            first_token_ms: self.first_token.map(ms),
            latency_ms: ms(self.started.elapsed()),
            outcome: self.outcome.into(),
            called_at: at,
        }
    }
}

/// The most text an answer may have (a note is far shorter).
const ANSWER_MAX: usize = 256 * 1024;

/// A model's draft as it is written, for a page that shows it growing.
#[derive(Clone, PartialEq, Eq)]
pub enum DraftProgress {
    /// A sentence, in the note's `section`.
    Sentence { section: String, text: String },
    /// The answer could not be used: the model is asked again, and what it
    /// wrote so far is void.
    StartedAgain,
}

impl std::fmt::Debug for DraftProgress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sentence { section, text } => write!(f, "Sentence({section}, {} chars)", text.len()),
            Self::StartedAgain => f.write_str("StartedAgain"),
        }
    }
}

/// Where the sentences of an answer go as they are written.
struct Written<'a> {
    progress: Option<&'a tokio::sync::mpsc::Sender<DraftProgress>>,
    placeholders: &'a Placeholders,
}

/// The whole answer of one completion, its tokens added to the call's.
async fn answer_of(
    llm: &dyn Llm,
    request: ChatRequest,
    call: &mut ModelCall,
    written: Written<'_>,
) -> Result<String, LlmError> {
    use futures_util::StreamExt as _;
    let mut stream = llm.chat(request).await?;
    let mut watcher = cbt_drafting::AnswerWatcher::default();
    while let Some(event) = stream.next().await {
        match event? {
            ChatEvent::Text(piece) => {
                call.first_token.get_or_insert_with(|| call.started.elapsed());
                let sentences = watcher.push(&piece);
                if watcher.answer().len() > ANSWER_MAX {
                    return Err(LlmError::Malformed("the answer was far longer than a note".into()));
                }
                if let Some(progress) = written.progress {
                    for s in sentences {
                        let text = written.placeholders.restore(&s.text);
                        // A page that went away is not waited for.
                        let _ = progress.try_send(DraftProgress::Sentence { section: s.section, text });
                    }
                }
            }
            ChatEvent::Finished { reason, usage } => {
                call.usage.prompt = call.usage.prompt.saturating_add(usage.prompt);
                call.usage.completion = call.usage.completion.saturating_add(usage.completion);
                if reason == FinishReason::Length {
                    return Err(LlmError::Malformed("the answer was cut off at its length limit".into()));
                }
                return Ok(watcher.answer().to_owned());
            }
        }
    }
    Err(LlmError::Malformed("the answer ended before it was finished".into()))
}

fn outcome_of(e: &LlmError) -> &'static str {
    match e {
        LlmError::Unavailable(_) => "unavailable",
        LlmError::RateLimited { .. } => "rate_limited",
        LlmError::TimedOut => "timed_out",
        LlmError::Refused { .. } => "refused",
        LlmError::Malformed(_) => "malformed",
    }
}

/// What the therapist is told when the model fails; `kept` says what of
/// theirs is safe ("Your shorthand is kept").
fn said_to_therapist(e: &LlmError, kept: &str) -> String {
    let what = match e {
        LlmError::Unavailable(_) => "The AI service cannot be reached just now.".to_owned(),
        LlmError::RateLimited { retry_after: Some(wait) } => {
            format!("The AI service is busy: try again in {} seconds.", wait.as_secs().max(1))
        }
        LlmError::RateLimited { retry_after: None } => "The AI service is busy: try again in a minute.".to_owned(),
        LlmError::TimedOut => "The AI service did not answer in time.".to_owned(),
        LlmError::Refused { .. } => "The AI service refused the request (its settings may need attention).".to_owned(),
        LlmError::Malformed(_) => "The AI's answer could not be read.".to_owned(),
    };
    format!("{what} {kept}: try again, or use the rule-based suggestion.")
}
