//! Treatment plans are records like the others (see `records`); what is
//! theirs alone is rating progress towards a goal over time: each rating a
//! record of its own, pointing at the plan and goal, so a signed plan
//! stays untouched.

use cbt_domain::account::Account;
use cbt_domain::audit::{AuditAction, RequestContext, TargetKind};
use cbt_domain::ids::RecordId;
use cbt_domain::treatment_plan::{GoalProgress, TreatmentPlan};
use cbt_domain::validation::FieldError;

use crate::records::Record;
use crate::{App, AppError};

impl App {
    /// Records a progress rating of one goal of one of the therapist's
    /// plans.
    pub async fn rate_goal(
        &self,
        account: &Account,
        rating: GoalProgress,
        ctx: &RequestContext,
    ) -> Result<RecordId, AppError> {
        let me = Self::clinician(account)?;
        let stored = self.stored_record::<TreatmentPlan>(me, rating.plan).await?;
        let plan = self.open_content::<TreatmentPlan>(me, stored.id, stored.version, &stored.sealed).await?;
        if plan.expose().goal(rating.goal).is_none() {
            return Err(AppError::Invalid(FieldError::new("goal", "Choose one of the plan's goals.").into()));
        }
        self.create_record(account, stored.client, rating, ctx).await
    }

    /// The progress ratings of one of the therapist's plans, oldest first.
    pub async fn progress_of(
        &self,
        account: &Account,
        plan: RecordId,
        ctx: &RequestContext,
    ) -> Result<Vec<Record<GoalProgress>>, AppError> {
        let me = Self::clinician(account)?;
        let stored = self.stored_record::<TreatmentPlan>(me, plan).await?;
        let mut ratings: Vec<_> = self
            .client_records::<GoalProgress>(me, stored.client)
            .await?
            .into_iter()
            .filter(|r| r.content.expose().plan == plan)
            .collect();
        ratings.reverse();
        self.audit_read(me, AuditAction::PlanProgressRead, TargetKind::TreatmentPlan, Some(plan.as_uuid()), ctx)
            .await?;
        Ok(ratings)
    }
}
