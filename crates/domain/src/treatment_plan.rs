//! Treatment plans: the problems, SMART goals with measurable objectives,
//! interventions, target and review dates and status. A plan is a draft
//! until signed; a signed plan is locked (changes are addenda, or a new
//! plan). Progress towards a goal is rated over time in records of its own
//! (`GoalProgress`), so rating progress never touches the signed plan.

use serde::{Deserialize, Serialize};
use time::Date;

use crate::audit::{AuditAction, TargetKind};
use crate::ids::RecordId;
use crate::record::{ClinicalRecord, Link, RecordActions, check_required, check_text, iso_date};
use crate::validation::{FieldError, FieldErrors};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PlanStatus {
    #[default]
    Active,
    Completed,
    Discontinued,
}

impl PlanStatus {
    pub const ALL: [PlanStatus; 3] = [Self::Active, Self::Completed, Self::Discontinued];

    pub fn code(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Completed => "completed",
            Self::Discontinued => "discontinued",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Active => "Active",
            Self::Completed => "Completed",
            Self::Discontinued => "Discontinued",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }
}

/// A SMART goal: specific (`description`), measurable (`measure`,
/// `target`), time-bound (`target_date`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Goal {
    /// Stable within the plan: progress ratings refer to it. Given on
    /// first save (0 means "new").
    #[serde(default)]
    pub number: u32,
    #[serde(default)]
    pub description: String,
    /// How it is measured, e.g. "PHQ-9 total", "days a week out walking".
    #[serde(default)]
    pub measure: String,
    /// Where it should get to, e.g. "below 10", "5 days".
    #[serde(default)]
    pub target: String,
    #[serde(default, with = "iso_date::optional")]
    pub target_date: Option<Date>,
    /// The interventions that serve it.
    #[serde(default)]
    pub interventions: String,
}

impl Goal {
    fn is_empty(&self) -> bool {
        [&self.description, &self.measure, &self.target, &self.interventions].iter().all(|s| s.trim().is_empty())
            && self.target_date.is_none()
    }
}

/// A treatment plan. All of it is PHI.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TreatmentPlan {
    pub title: String,
    #[serde(default)]
    pub status: PlanStatus,
    #[serde(with = "iso_date::required")]
    pub start_date: Date,
    #[serde(default, with = "iso_date::optional")]
    pub review_date: Option<Date>,
    /// The problems it addresses, one per line.
    #[serde(default)]
    pub problems: String,
    #[serde(default)]
    pub goals: Vec<Goal>,
}

pub const TEXT_MAX: usize = 10_000;
/// Goal numbers are small: given in order, never reused.
const GOAL_NUMBER_MAX: u32 = 10_000;
pub const GOALS_MAX: usize = 20;

impl zeroize::Zeroize for TreatmentPlan {
    fn zeroize(&mut self) {
        self.title.zeroize();
        self.problems.zeroize();
        for g in &mut self.goals {
            for s in [&mut g.description, &mut g.measure, &mut g.target, &mut g.interventions] {
                s.zeroize();
            }
        }
    }
}

impl TreatmentPlan {
    pub fn goal(&self, number: u32) -> Option<&Goal> {
        self.goals.iter().find(|g| g.number == number)
    }
}

impl ClinicalRecord for TreatmentPlan {
    const KIND: &'static str = "treatment_plan";
    const NAME: &'static str = "treatment plan";
    const TARGET: TargetKind = TargetKind::TreatmentPlan;
    const ACTIONS: RecordActions = RecordActions {
        create: AuditAction::PlanCreated,
        read: AuditAction::PlanRead,
        update: AuditAction::PlanUpdated,
        list: AuditAction::PlansListed,
        history: AuditAction::PlanHistoryRead,
        sign: Some(AuditAction::PlanSigned),
        addendum: Some(AuditAction::PlanAddendumAdded),
    };

    /// A goal keeps its number for life (progress is rated against it):
    /// a number the saved plan does not have is a new goal, numbered anew.
    fn keep_from(&mut self, saved: &Self) {
        for g in &mut self.goals {
            if saved.goal(g.number).is_none() {
                g.number = 0;
            }
        }
    }

    fn validated(mut self, _today: Date) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        check_required(&mut errors, "title", "a title", &mut self.title, 200);
        check_text(&mut errors, "problems", "the problems", &mut self.problems, TEXT_MAX);
        if let Some(review) = self.review_date
            && review < self.start_date
        {
            errors.push(FieldError::new("review_date", "The review date comes after the start date."));
        }
        self.goals.retain(|g| !g.is_empty());
        if self.goals.len() > GOALS_MAX {
            errors.push(FieldError::new("goals", format!("Keep to {GOALS_MAX} goals.")));
        }
        if self.goals.iter().any(|g| g.number > GOAL_NUMBER_MAX) {
            errors.push(FieldError::new("goals", "Leave a new goal's number empty: it is given one."));
        }
        let mut next = self.goals.iter().map(|g| g.number).filter(|n| *n <= GOAL_NUMBER_MAX).max().unwrap_or(0);
        let mut seen = std::collections::BTreeSet::new();
        for g in &mut self.goals {
            if g.number == 0 {
                next = next.saturating_add(1);
                g.number = next;
            }
            if !seen.insert(g.number) {
                errors.push(FieldError::new("goals", "Two goals have the same number."));
            }
            check_required(&mut errors, "goals", "what each goal is", &mut g.description, 2_000);
            check_text(&mut errors, "goals", "each goal's measure", &mut g.measure, 500);
            check_text(&mut errors, "goals", "each goal's target", &mut g.target, 500);
            check_text(&mut errors, "goals", "each goal's interventions", &mut g.interventions, TEXT_MAX);
        }
        errors.into_result().map(|()| self)
    }

    /// Signing asks for SMART goals: each measurable, with a target date.
    fn ready_to_sign(&self) -> Result<(), FieldErrors> {
        let mut errors = FieldErrors::default();
        if self.goals.is_empty() {
            errors.push(FieldError::new("goals", "Add at least one goal before signing the plan."));
        }
        for (i, g) in self.goals.iter().enumerate() {
            if g.measure.is_empty() || g.target.is_empty() {
                errors
                    .push(FieldError::new("goals", format!("Goal {}: say how it is measured and its target.", i + 1)));
            }
            if g.target_date.is_none() {
                errors.push(FieldError::new("goals", format!("Goal {}: give it a target date.", i + 1)));
            }
        }
        errors.into_result()
    }

    fn date(&self) -> Option<Date> {
        Some(self.start_date)
    }

    fn title(&self) -> String {
        self.title.clone()
    }
}

/// A progress rating of one goal of a plan, on a 0–10 scale (10: goal
/// reached). One record per rating: ratings accumulate over time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct GoalProgress {
    pub plan: RecordId,
    pub goal: u32,
    #[serde(with = "iso_date::required")]
    pub date: Date,
    pub rating: u8,
    #[serde(default)]
    pub comment: String,
}

pub const RATING_MAX: u8 = 10;

impl zeroize::Zeroize for GoalProgress {
    fn zeroize(&mut self) {
        self.rating.zeroize();
        self.comment.zeroize();
    }
}

impl ClinicalRecord for GoalProgress {
    const KIND: &'static str = "goal_progress";
    const NAME: &'static str = "progress rating";
    const TARGET: TargetKind = TargetKind::GoalProgress;
    const ACTIONS: RecordActions = RecordActions {
        create: AuditAction::PlanProgressRecorded,
        read: AuditAction::PlanProgressRead,
        update: AuditAction::PlanProgressRecorded,
        list: AuditAction::PlanProgressRead,
        history: AuditAction::PlanProgressRead,
        sign: None,
        addendum: None,
    };

    fn validated(mut self, today: Date) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        if self.rating > RATING_MAX {
            errors.push(FieldError::new("rating", format!("Rate from 0 to {RATING_MAX}.")));
        }
        if self.date > today.next_day().unwrap_or(today) {
            errors.push(FieldError::new("date", "Progress cannot be rated in the future."));
        }
        check_text(&mut errors, "comment", "the comment", &mut self.comment, 2_000);
        errors.into_result().map(|()| self)
    }

    fn links(&self) -> Vec<Link> {
        vec![Link { id: self.plan, kinds: &["treatment_plan"], field: "plan" }]
    }

    fn date(&self) -> Option<Date> {
        Some(self.date)
    }

    fn title(&self) -> String {
        format!("Goal {}: {}/{RATING_MAX}", self.goal, self.rating)
    }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    fn plan() -> TreatmentPlan {
        TreatmentPlan {
            title: "Panic".into(),
            status: PlanStatus::Active,
            start_date: date!(2026 - 11 - 01),
            review_date: Some(date!(2027 - 01 - 10)),
            problems: "Panic attacks on the underground".into(),
            goals: vec![
                Goal { description: "Travel two stops alone".into(), ..Goal::default() },
                Goal::default(),
                Goal { number: 4, description: "Fewer panic attacks".into(), ..Goal::default() },
            ],
        }
    }

    #[test]
    fn goals_are_numbered_once_and_keep_their_numbers() {
        let p = plan().validated(date!(2026 - 11 - 24)).unwrap();
        let numbers: Vec<u32> = p.goals.iter().map(|g| g.number).collect();
        assert_eq!(numbers, vec![5, 4], "the new goal takes the next number; the empty one is dropped");
        let again = p.clone().validated(date!(2026 - 11 - 24)).unwrap();
        assert_eq!(again.goals, p.goals);
    }

    #[test]
    fn a_change_cannot_renumber_a_goal() {
        let saved = plan().validated(date!(2026 - 11 - 24)).unwrap();
        let mut changed = saved.clone();
        changed.goals[0].number = 77;
        changed.keep_from(&saved);
        let changed = changed.validated(date!(2026 - 11 - 24)).unwrap();
        let numbers: Vec<u32> = changed.goals.iter().map(|g| g.number).collect();
        assert_eq!(numbers, vec![5, 4], "an unknown number is not taken: the goal is numbered as the plan allows");
    }

    #[test]
    fn signing_asks_for_smart_goals() {
        let p = plan().validated(date!(2026 - 11 - 24)).unwrap();
        let errors = p.ready_to_sign().unwrap_err();
        assert_eq!(errors.0.len(), 4, "two goals, each missing its measure/target and date");
        let mut smart = p.clone();
        for g in &mut smart.goals {
            g.measure = "Attacks a week".into();
            g.target = "0".into();
            g.target_date = Some(date!(2027 - 02 - 01));
        }
        assert!(smart.ready_to_sign().is_ok());
        let mut early = plan();
        early.review_date = Some(date!(2026 - 10 - 01));
        assert_eq!(early.validated(date!(2026 - 11 - 24)).unwrap_err().0[0].field, "review_date");
    }

    #[test]
    fn progress_is_rated_zero_to_ten_and_points_at_its_plan() {
        let plan = RecordId::new();
        let rating = GoalProgress { plan, goal: 1, date: date!(2026 - 11 - 24), rating: 11, comment: String::new() };
        assert_eq!(rating.clone().validated(date!(2026 - 11 - 24)).unwrap_err().0[0].field, "rating");
        assert_eq!(rating.links()[0].id, plan);
    }
}
