//! The client dashboard: the client with every record kept about them
//! (session notes, assessment results, formulations, hypotheses, treatment
//! plans and their progress, homework), read at once and audited together:
//! one event for the client and one per kind of record listed, stored
//! before the page is answered.

use cbt_domain::account::Account;
use cbt_domain::assessment::{AssessmentResult, IndexedResult, RiskState};
use cbt_domain::audit::{Actor, AuditAction, AuditOutcome, AuditTarget, RequestContext, TargetKind};
use cbt_domain::formulation::Formulation;
use cbt_domain::homework::Homework;
use cbt_domain::hypothesis::Hypothesis;
use cbt_domain::ids::ClientId;
use cbt_domain::record::ClinicalRecord;
use cbt_domain::session_note::{IndexedNote, SessionNote};
use cbt_domain::treatment_plan::{GoalProgress, TreatmentPlan};

use crate::clients::Client;
use crate::records::Record;
use crate::{App, AppError};

/// Everything on the client's page, each list newest first.
#[derive(Debug)]
pub struct ClientDashboard {
    pub client: Client,
    /// From the client's note index: the page lists notes, it does not
    /// open them.
    pub notes: Vec<IndexedNote>,
    /// From the client's index, oldest first: the page lists and charts
    /// results, it does not open them.
    pub results: Vec<IndexedResult>,
    pub formulations: Vec<Record<Formulation>>,
    pub hypotheses: Vec<Record<Hypothesis>>,
    pub plans: Vec<Record<TreatmentPlan>>,
    pub progress: Vec<Record<GoalProgress>>,
    pub homework: Vec<Record<Homework>>,
}

impl ClientDashboard {
    /// Results whose risk flags nobody has acknowledged, newest first.
    pub fn open_flags(&self) -> Vec<&IndexedResult> {
        self.results.iter().rev().filter(|r| r.risk == RiskState::Open).collect()
    }
}

impl App {
    /// Opens one of the therapist's clients with all their records.
    pub async fn client_dashboard(
        &self,
        account: &Account,
        id: ClientId,
        ctx: &RequestContext,
    ) -> Result<ClientDashboard, AppError> {
        let me = Self::clinician(account)?;
        // Every kind the page lists but session notes (read from the note
        // index) and psychotherapy notes (never on it), with the client and
        // the index, in one statement.
        let kinds = [Formulation::KIND, Hypothesis::KIND, TreatmentPlan::KIND, GoalProgress::KIND, Homework::KIND];
        let page = self.store.client_page(me, id, &kinds).await?.ok_or(AppError::NotFound)?;
        let index = self.note_index_of(me, id, page.note_index).await?;
        let records = page.records;
        let dashboard = ClientDashboard {
            client: self.open_client(page.client).await?,
            notes: index.newest_first(),
            results: index.results_oldest_first(),
            formulations: self.open_records(me, &records).await?,
            hypotheses: self.open_records(me, &records).await?,
            plans: self.open_records(me, &records).await?,
            progress: self.open_records(me, &records).await?,
            homework: self.open_records(me, &records).await?,
        };
        let reads = [
            (AuditAction::ClientRead, TargetKind::Client, Some(id.as_uuid())),
            (SessionNote::ACTIONS.list, SessionNote::TARGET, None),
            (AssessmentResult::ACTIONS.list, AssessmentResult::TARGET, None),
            (Formulation::ACTIONS.list, Formulation::TARGET, None),
            (Hypothesis::ACTIONS.list, Hypothesis::TARGET, None),
            (TreatmentPlan::ACTIONS.list, TreatmentPlan::TARGET, None),
            (GoalProgress::ACTIONS.list, GoalProgress::TARGET, None),
            (Homework::ACTIONS.list, Homework::TARGET, None),
        ];
        let events: Vec<_> = reads
            .into_iter()
            .map(|(action, kind, target)| {
                self.event(Actor::Account(me), action, AuditTarget { kind, id: target }, AuditOutcome::Success, ctx)
            })
            .collect();
        self.read_audit.record(events).await?;
        Ok(dashboard)
    }
}
