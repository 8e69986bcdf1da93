//! Recurring questionnaires: the therapist asks for a questionnaire to be
//! sent to a client every N days (PHQ-9 every 14 days); the job runner
//! (`run_due_schedules`, called every minute by the server) sends each due
//! one as an emailed client link, moving the schedule on in the same
//! transaction as the link, so two instances never send it twice. What is
//! sent is sealed; when is in the clear, so the runner finds due schedules
//! without opening any.

use cbt_domain::account::Account;
use cbt_domain::audit::{Actor, AuditAction, AuditOutcome, AuditTarget, RequestContext, TargetKind};
use cbt_domain::client_link::{self, EVERY_DAYS, LinkRequest, ScheduledQuestionnaire};
use cbt_domain::ids::{ClientId, ScheduleId};
use cbt_domain::validation::FieldError;
use cbt_ports::StoredSchedule;
use time::{Date, OffsetDateTime};
use zeroize::Zeroizing;

use crate::client_links::link_mail;
use crate::{App, AppError};

const SCHEDULE_KIND: &str = "schedule";
/// Due schedules sent per round of the runner.
const BATCH: u32 = 50;

/// A schedule as the therapist's list shows it.
#[derive(Debug)]
pub struct ScheduleSummary {
    pub id: ScheduleId,
    /// The instrument's key.
    pub instrument: String,
    pub every_days: i32,
    pub next_due_at: OffsetDateTime,
    pub stopped_at: Option<OffsetDateTime>,
}

impl App {
    fn schedule_target(id: Option<ScheduleId>) -> AuditTarget {
        AuditTarget { kind: TargetKind::Schedule, id: id.map(|i| i.as_uuid()) }
    }

    async fn open_schedule(&self, s: &StoredSchedule) -> Result<ScheduledQuestionnaire, AppError> {
        let opened = self
            .open_document::<ScheduledQuestionnaire>(s.account, SCHEDULE_KIND, s.id.as_uuid(), 1, &s.sealed)
            .await?;
        Ok(opened.expose().clone())
    }

    /// Sends `instrument` to one of the therapist's clients every
    /// `every_days` days, the first on `first_on` (today: within a minute).
    /// The client needs an email address.
    pub async fn create_schedule(
        &self,
        account: &Account,
        client: ClientId,
        instrument: &str,
        every_days: i32,
        first_on: Date,
        ctx: &RequestContext,
    ) -> Result<ScheduleId, AppError> {
        let me = Self::clinician(account)?;
        let stored = self.store.client(me, client).await?.ok_or(AppError::NotFound)?;
        let mut errors = cbt_domain::validation::FieldErrors::default();
        if !EVERY_DAYS.contains(&every_days) {
            errors.push(FieldError::new("every_days", "Repeat every 1 to 365 days."));
        }
        let now = self.now();
        if first_on < now.date() {
            errors.push(FieldError::new("first_on", "Start today or later."));
        }
        if self.open_client(stored).await?.details.expose().email.trim().is_empty() {
            errors.push(FieldError::new("every_days", "Add the client's email address first: each one is emailed."));
        }
        errors.into_result().map_err(AppError::Invalid)?;
        let (_, definition) = self.instrument_for(me, instrument).await?;
        let questionnaire = Zeroizing::new(ScheduledQuestionnaire { instrument: instrument.to_owned(), definition });
        let id = ScheduleId::new();
        let sealed = self.seal_document(me, SCHEDULE_KIND, id.as_uuid(), 1, &*questionnaire).await?;
        // The first is due at the start of `first_on`, or now if that is today.
        let next_due_at = first_on.midnight().assume_utc().max(now);
        let schedule = StoredSchedule {
            id,
            account: me,
            client,
            sealed,
            every_days,
            next_due_at,
            created_at: now,
            stopped_at: None,
        };
        let mut tx = self.store.begin().await?;
        tx.insert_schedule(&schedule).await?;
        let event = self.event(
            Actor::Account(me),
            AuditAction::ScheduleCreated,
            Self::schedule_target(Some(id)),
            AuditOutcome::Success,
            ctx,
        );
        self.audit(&mut tx, event).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The recurring questionnaires of one of the therapist's clients.
    pub async fn schedules(
        &self,
        account: &Account,
        client: ClientId,
        ctx: &RequestContext,
    ) -> Result<Vec<ScheduleSummary>, AppError> {
        let me = Self::clinician(account)?;
        self.store.client(me, client).await?.ok_or(AppError::NotFound)?;
        let mut out = Vec::new();
        for s in self.store.schedules_of(me, client).await? {
            let q = self.open_schedule(&s).await?;
            out.push(ScheduleSummary {
                id: s.id,
                instrument: q.instrument,
                every_days: s.every_days,
                next_due_at: s.next_due_at,
                stopped_at: s.stopped_at,
            });
        }
        self.audit_read(me, AuditAction::SchedulesListed, TargetKind::Schedule, None, ctx).await?;
        Ok(out)
    }

    /// Stops one of the therapist's running schedules; links already sent
    /// keep working until used or expired.
    pub async fn stop_schedule(
        &self,
        account: &Account,
        client: ClientId,
        id: ScheduleId,
        ctx: &RequestContext,
    ) -> Result<(), AppError> {
        let me = Self::clinician(account)?;
        let theirs = self.store.schedules_of(me, client).await?.into_iter().any(|s| s.id == id);
        if !theirs {
            return Err(AppError::NotFound);
        }
        let mut tx = self.store.begin().await?;
        if tx.stop_schedule(me, id, self.now()).await? {
            let event = self.event(
                Actor::Account(me),
                AuditAction::ScheduleStopped,
                Self::schedule_target(Some(id)),
                AuditOutcome::Success,
                ctx,
            );
            self.audit(&mut tx, event).await?;
            tx.commit().await?;
        }
        Ok(())
    }

    /// The job runner's round: sends every schedule due now as an emailed
    /// link (a client without an email address is recorded as a failure
    /// and the schedule moves on). Answers how many links were sent.
    pub async fn run_due_schedules(&self) -> Result<usize, AppError> {
        let now = self.now();
        let mut sent = 0;
        for due in self.store.due_schedules(now, BATCH).await? {
            if self.send_scheduled(&due, now).await? {
                sent += 1;
            }
        }
        Ok(sent)
    }

    async fn send_scheduled(&self, due: &StoredSchedule, now: OffsetDateTime) -> Result<bool, AppError> {
        let ctx = RequestContext::default();
        let target = Self::schedule_target(Some(due.id));
        let next = client_link::next_due(due.next_due_at, due.every_days, now);
        let (Some(account), Some(client)) =
            (self.store.account_by_id(due.account).await?, self.store.client(due.account, due.client).await?)
        else {
            return Ok(false);
        };
        let email = self.open_client(client).await?.details.expose().email.trim().to_owned();
        let mut tx = self.store.begin().await?;
        if !tx.advance_schedule(due.id, due.next_due_at, next).await? {
            // Another instance sent it.
            return Ok(false);
        }
        if email.is_empty() {
            let event = self.event(Actor::System, AuditAction::ScheduleSent, target, AuditOutcome::Failure, &ctx);
            self.audit(&mut tx, event).await?;
            tx.commit().await?;
            return Ok(false);
        }
        let q = self.open_schedule(due).await?;
        let (practice, crisis_text) = client_link::shown_to_clients(&account);
        let request = Zeroizing::new(LinkRequest {
            instrument: q.instrument.clone(),
            definition: q.definition.clone(),
            homework: None,
            practice,
            crisis_text,
        });
        let (link, token) = self.new_link(due.account, due.client, &request).await?;
        tx.insert_client_link(&link).await?;
        let events = [
            self.event(Actor::System, AuditAction::ScheduleSent, target, AuditOutcome::Success, &ctx),
            self.event(
                Actor::System,
                AuditAction::ClientLinkCreated,
                AuditTarget::new(TargetKind::ClientLink, link.id.as_uuid()),
                AuditOutcome::Success,
                &ctx,
            ),
        ];
        self.audit_all(&mut tx, &events).await?;
        tx.commit().await?;
        let url = self.link(&format!("/questionnaire?token={}", &*token));
        self.send_later(link_mail(email, &request, &url, link.expires_at));
        Ok(true)
    }

    /// Runs the job runner every `every` until the process ends. Failures
    /// are logged (without PHI) and the next round tries again.
    pub fn spawn_schedule_runner(&self, every: std::time::Duration) {
        let app = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                match app.run_due_schedules().await {
                    Ok(0) => {}
                    Ok(sent) => tracing::info!(sent, "scheduled questionnaires sent"),
                    Err(e) => tracing::warn!(error = %e, "scheduled questionnaires: round failed"),
                }
            }
        });
    }
}
