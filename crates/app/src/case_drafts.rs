//! Drafts made from a client's whole record rather than from what the
//! therapist types: a case formulation (Beck and 5 Ps) and working
//! hypotheses with their evidence. The client's session notes, the
//! worksheets they filled in (thought records, the distortions checklist,
//! the core belief worksheet), their questionnaire results and their
//! presenting problems are read (each read audited, as the client page's
//! are) and handed to the rules in `cbt-drafting` as a [`Case`]. Nothing
//! is saved: the therapist takes what they want into the record's form and
//! saves it themselves. Psychotherapy notes are never read for a draft.
//!
//! With a language model the therapist may use for this client (see
//! `drafts.rs`), the same case goes to the model instead: de-identified,
//! cut to the latest records that fit a request, with a versioned prompt
//! and a schema whose every sentence cites a field of the case and quotes
//! it. The worked examples of a formulation stay the client's own thought
//! records, quoted by rules, whoever drafts the rest.

use cbt_domain::account::Account;
use cbt_domain::assessment::{AssessmentResult, Instrument, library};
use cbt_domain::audit::{AuditAction, RequestContext, TargetKind};
use cbt_domain::homework::{AnswerKind, Homework};
use cbt_domain::ids::ClientId;
use cbt_domain::record::ClinicalRecord;
use cbt_domain::session_note::SessionNote;
use cbt_drafting::{Case, CaseRecord, CaseRecordKind, FormulationDraft, HypothesisDraft, Placeholders, Source};
use cbt_ports::{Llm, ModelInfo};

use crate::clients::Client;
use crate::drafts::{DraftingEngine, ModelAsk};
use crate::{App, AppError};

/// A draft made from the client's records, with those records as its
/// sources.
pub struct CaseDraft<T> {
    pub client: Client,
    /// The client's records, as read (labels, links).
    pub case: Case,
    pub draft: T,
    /// What drafted it.
    pub engine: DraftingEngine,
    /// What a model's citations point into: the case's fields as the model
    /// saw them (de-identified). Empty for a draft by rules, whose
    /// citations point into `case`.
    pub sent: Vec<Source>,
    /// Records the model did not see: the oldest, past what one request
    /// may hold.
    pub left_out: usize,
    /// The model the therapist may ask for this client, when they may.
    pub model: Option<ModelInfo>,
}

/// About how many characters of the client's records one request holds
/// (about 13,000 tokens): the latest records that fit.
const CASE_CHARS: usize = 40_000;

/// Said when a case draft by a model fails: nothing of the therapist's was
/// touched.
const KEPT: &str = "Nothing in the records was changed";

/// The case as a model sees it.
struct CaseForModel {
    llm: std::sync::Arc<dyn Llm>,
    /// The latest records that fit, de-identified.
    case: Case,
    sent: Vec<Source>,
    placeholders: Placeholders,
    left_out: usize,
}

impl CaseForModel {
    fn ids(&self) -> Vec<&str> {
        self.sent.iter().map(|s| s.id.as_str()).collect()
    }

    fn restore(&self, text: &str) -> String {
        self.placeholders.restore(text)
    }

    fn draft<T>(self, client: Client, case: Case, draft: T) -> CaseDraft<T> {
        let info = self.llm.model().clone();
        CaseDraft {
            client,
            case,
            draft,
            engine: DraftingEngine::Model(info.clone()),
            sent: self.sent,
            left_out: self.left_out,
            model: Some(info),
        }
    }
}

const DATE: &[time::format_description::FormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

impl App {
    /// A formulation drafted by rules from the client's records.
    pub async fn draft_formulation(
        &self,
        account: &Account,
        client: ClientId,
        ctx: &RequestContext,
    ) -> Result<CaseDraft<FormulationDraft>, AppError> {
        let (client, case) = self.case_of(account, client, AuditAction::FormulationDrafted, ctx).await?;
        let draft = cbt_drafting::draft_formulation(&case);
        self.by_rules(account, client, case, draft).await
    }

    /// A formulation's text parts drafted by the model from the client's
    /// records (the worked examples quoted from their thought records).
    pub async fn draft_formulation_with_model(
        &self,
        account: &Account,
        client: ClientId,
        ctx: &RequestContext,
    ) -> Result<CaseDraft<FormulationDraft>, AppError> {
        let me = Self::clinician(account)?;
        let (client, case) = self.case_of(account, client, AuditAction::FormulationDrafted, ctx).await?;
        let asked = self.case_for_model(account, &client, &case).await?;
        let ask = ModelAsk {
            purpose: "formulation",
            prompt: cbt_drafting::FORMULATION_PROMPT,
            prompt_version: cbt_drafting::FORMULATION_PROMPT_VERSION,
            request: cbt_drafting::case_request(&asked.case),
            schema: cbt_drafting::formulation_schema(&asked.ids()),
            placeholders: &asked.placeholders,
            progress: None,
            kept: KEPT,
        };
        let fields = self
            .ask_model(me, asked.llm.as_ref(), ask, ctx, |answer| {
                cbt_drafting::read_formulation_answer(answer, &asked.sent, |t| asked.restore(t))
            })
            .await?;
        let draft = FormulationDraft { fields, examples: cbt_drafting::worked_examples(&case) };
        Ok(asked.draft(client, case, draft))
    }

    /// Working hypotheses proposed by rules from what recurs in the
    /// client's records.
    pub async fn draft_hypotheses(
        &self,
        account: &Account,
        client: ClientId,
        ctx: &RequestContext,
    ) -> Result<CaseDraft<Vec<HypothesisDraft>>, AppError> {
        let (client, case) = self.case_of(account, client, AuditAction::HypothesesDrafted, ctx).await?;
        let draft = cbt_drafting::draft_hypotheses(&case);
        self.by_rules(account, client, case, draft).await
    }

    /// Working hypotheses proposed by the model from the client's records,
    /// each with the worksheet that would test it.
    pub async fn draft_hypotheses_with_model(
        &self,
        account: &Account,
        client: ClientId,
        ctx: &RequestContext,
    ) -> Result<CaseDraft<Vec<HypothesisDraft>>, AppError> {
        let me = Self::clinician(account)?;
        let (client, case) = self.case_of(account, client, AuditAction::HypothesesDrafted, ctx).await?;
        let asked = self.case_for_model(account, &client, &case).await?;
        let worksheets: Vec<&'static str> = cbt_domain::homework::library().into_iter().map(|(key, _)| key).collect();
        let ask = ModelAsk {
            purpose: "hypotheses",
            prompt: cbt_drafting::HYPOTHESES_PROMPT,
            prompt_version: cbt_drafting::HYPOTHESES_PROMPT_VERSION,
            request: cbt_drafting::case_request(&asked.case),
            schema: cbt_drafting::hypotheses_schema(&asked.ids(), &worksheets),
            placeholders: &asked.placeholders,
            progress: None,
            kept: KEPT,
        };
        let draft = self
            .ask_model(me, asked.llm.as_ref(), ask, ctx, |answer| {
                cbt_drafting::read_hypotheses_answer(answer, &asked.sent, |t| asked.restore(t), &worksheets)
            })
            .await?;
        Ok(asked.draft(client, case, draft))
    }

    /// A draft by rules, with the model the therapist may ask instead.
    async fn by_rules<T>(
        &self,
        account: &Account,
        client: Client,
        case: Case,
        draft: T,
    ) -> Result<CaseDraft<T>, AppError> {
        // The same gate the model path passes: no button where it refuses.
        let model = match self.model_for(account, &client).await {
            Ok(llm) => Some(llm.model().clone()),
            Err(AppError::Invalid(_) | AppError::ModelUnavailable(_)) => None,
            Err(e) => return Err(e),
        };
        let engine = DraftingEngine::RuleBased;
        Ok(CaseDraft { client, case, draft, engine, sent: Vec::new(), left_out: 0, model })
    }

    /// The case as the model may see it: refused unless the therapist may
    /// use a model for this client; the latest records that fit, each
    /// field de-identified with what is known of the client.
    async fn case_for_model(&self, account: &Account, client: &Client, case: &Case) -> Result<CaseForModel, AppError> {
        let llm = self.model_for(account, client).await?;
        let (latest, left_out) = case.latest_within(CASE_CHARS);
        let sources = latest.sources();
        let texts: Vec<&str> = sources.iter().map(|s| s.text.as_str()).collect();
        let (hidden, placeholders) = Self::deidentified(client, &texts);
        let case = latest.with_texts(hidden);
        let sent = case.sources();
        Ok(CaseForModel { llm, case, sent, placeholders, left_out })
    }

    /// Reads the client and the records a draft may quote, audits each
    /// read and the draft itself (`action`, target the client).
    async fn case_of(
        &self,
        account: &Account,
        id: ClientId,
        action: AuditAction,
        ctx: &RequestContext,
    ) -> Result<(Client, Case), AppError> {
        let me = Self::clinician(account)?;
        let stored = self.store.client(me, id).await?.ok_or(AppError::NotFound)?;
        let client = self.open_client(stored).await?;
        let kinds = [SessionNote::KIND, Homework::KIND, AssessmentResult::KIND];
        let stored = self.store.records_of(me, id, &kinds).await?;
        let notes = self.open_records::<SessionNote>(me, &stored).await?;
        let homework = self.open_records::<Homework>(me, &stored).await?;
        let results = self.open_records::<AssessmentResult>(me, &stored).await?;
        let target = Some(id.as_uuid());
        self.audit_read(me, AuditAction::ClientRead, TargetKind::Client, target, ctx).await?;
        for (action, kind) in [
            (SessionNote::ACTIONS.list, SessionNote::TARGET),
            (Homework::ACTIONS.list, Homework::TARGET),
            (AssessmentResult::ACTIONS.list, AssessmentResult::TARGET),
        ] {
            self.audit_read(me, action, kind, None, ctx).await?;
        }
        self.audit_read(me, action, TargetKind::Client, target, ctx).await?;

        let mut records = Vec::new();
        let details = client.details.expose();
        let created = client.created_at.date().format(DATE).unwrap_or_default();
        records.push(CaseRecord::new(
            CaseRecordKind::Presenting,
            &id.to_string(),
            &created,
            vec![("presenting_problems", "the presenting problems".into(), details.presenting_problems.clone())],
        ));
        for note in &notes {
            let content = note.content.expose();
            let date = content.date.format(DATE).unwrap_or_default();
            let fields = content
                .body
                .sections()
                .into_iter()
                .map(|(name, text)| (name, format!("the session note of {date} ({name})"), text.clone()))
                .collect();
            records.push(CaseRecord::new(CaseRecordKind::SessionNote, &note.id.to_string(), &date, fields));
        }
        for work in &homework {
            let content = work.content.expose();
            if let Some(record) = worksheet_record(&work.id.to_string(), content) {
                records.push(record);
            }
        }
        for result in &results {
            if let Some(record) = score_record(&result.id.to_string(), result.content.expose()) {
                records.push(record);
            }
        }
        // Oldest first: drafts keep the latest of what they gather.
        records.sort_by(|a, b| a.date.cmp(&b.date));
        Ok((client, Case { records }))
    }
}

/// A filled-in worksheet a draft reads: thought records, the distortions
/// checklist (each trap ticked, with its example) and the core belief
/// worksheet. Others, and ones never filled in, are left out.
fn worksheet_record(id: &str, homework: &Homework) -> Option<CaseRecord> {
    let date = homework.assigned_on.format(DATE).unwrap_or_default();
    let answer = |key: &str| homework.responses.get(key).cloned().unwrap_or_default();
    // "the thought record (seven columns) of 2026-10-14: automatic thoughts"
    let title = homework.worksheet.title.to_lowercase();
    let label = |field: &str| format!("the {title} of {date}: {field}");
    let (kind, fields) = match homework.source.strip_prefix("library:").unwrap_or_default() {
        "thought_record" => (
            CaseRecordKind::ThoughtRecord,
            [("situation", "situation"), ("moods", "moods"), ("automatic_thoughts", "automatic thoughts")]
                .into_iter()
                .map(|(key, name)| (key, label(name), answer(key)))
                .collect(),
        ),
        "core_belief" => {
            (CaseRecordKind::CoreBeliefWorksheet, vec![("old_belief", label("old belief"), answer("old_belief"))])
        }
        "cognitive_distortions" => {
            let ticked = homework
                .worksheet
                .fields
                .iter()
                .filter(|f| f.kind == AnswerKind::Check && answer(&f.key) == "yes")
                .map(|f| {
                    let example = answer(&format!("{}_example", f.key));
                    let text = if example.trim().is_empty() {
                        f.label.clone()
                    } else {
                        format!("{}: {}", f.label, example.trim())
                    };
                    // The label ends with the trap's name: drafts group by it.
                    (f.key.as_str(), label(&f.label), text)
                })
                .collect();
            (CaseRecordKind::DistortionChecklist, ticked)
        }
        _ => return None,
    };
    let record = CaseRecord::new(kind, id, &date, fields);
    (!record.fields.is_empty()).then_some(record)
}

/// A scored questionnaire result, as one line: "PHQ-9: 17 (Moderately
/// severe) on 2026-11-02".
fn score_record(id: &str, result: &AssessmentResult) -> Option<CaseRecord> {
    let total = result.score.as_ref()?.total.as_ref()?;
    let points = total.points?;
    let instrument = match &result.definition {
        Some(definition) => Instrument::new(definition.clone()).ok()?,
        None => library().ok()?.get(&result.instrument)?.clone(),
    };
    let name = instrument.definition().short_name.clone();
    let date = result.taken_on.format(DATE).unwrap_or_default();
    let band = total.band.as_ref().map(|b| format!(" ({})", b.label)).unwrap_or_default();
    let text = format!("{name}: {points}{band} on {date}");
    let mut record =
        CaseRecord::new(CaseRecordKind::Score, id, &date, vec![("total", format!("the {name} of {date}"), text)]);
    let reliable = instrument.norms("total").map(|n| i64::from(n.reliable_change_points()));
    record.score =
        Some(cbt_drafting::CaseScore { instrument: name, total: i64::from(points), reliable_change: reliable });
    Some(record)
}
