//! Drafts made from a client's whole record rather than from what the
//! therapist types: a case formulation (Beck and 5 Ps) and working
//! hypotheses with their evidence. The client's session notes, the
//! worksheets they filled in (thought records, the distortions checklist,
//! the core belief worksheet), their questionnaire results and their
//! presenting problems are read (each read audited, as the client page's
//! are) and handed to the rules in `cbt-drafting` as a [`Case`]. Nothing
//! is saved: the therapist takes what they want into the record's form and
//! saves it themselves. Psychotherapy notes are never read for a draft.

use cbt_domain::account::Account;
use cbt_domain::assessment::{AssessmentResult, Instrument, library};
use cbt_domain::audit::{AuditAction, RequestContext, TargetKind};
use cbt_domain::homework::{AnswerKind, Homework};
use cbt_domain::ids::ClientId;
use cbt_domain::record::ClinicalRecord;
use cbt_domain::session_note::SessionNote;
use cbt_drafting::{Case, CaseRecord, CaseRecordKind, FormulationDraft, HypothesisDraft};

use crate::clients::Client;
use crate::{App, AppError};

/// A draft made from the client's records, with those records as its
/// sources.
pub struct CaseDraft<T> {
    pub client: Client,
    /// What the draft's citations point into.
    pub case: Case,
    pub draft: T,
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
        Ok(CaseDraft { client, case, draft })
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
        Ok(CaseDraft { client, case, draft })
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
