//! Treatment plans on the record pages, and their goals' progress: the
//! chart on the plan's page and the form that records a rating.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use cbt_app::AppError;
use cbt_app::records::Record;
use cbt_domain::ids::RecordId;
use cbt_domain::treatment_plan::{GoalProgress, PlanStatus, RATING_MAX, TreatmentPlan};
use cbt_domain::validation::{FieldError, FieldErrors};
use serde::Deserialize;
use time::Date;

use crate::account_pages::html;
use crate::error::id_or_404;
use crate::pages::ISO_DATE;
use crate::record_forms::{self, Field, Input, Part, Values};
use crate::record_pages::{Choices, NoticeParams, RecordPages, Therapist, record_page};
use crate::{WebError, WebState};

impl RecordPages for TreatmentPlan {
    const PATH: &'static str = "plans";

    fn parts(_: Option<&Self>, _: &Choices) -> Vec<Part> {
        let statuses = PlanStatus::ALL.iter().map(|s| (s.code().to_owned(), s.label().to_owned())).collect();
        vec![
            Part::Field(Field::new("title", "Title", Input::Line)),
            Part::Field(Field::new("status", "Status", Input::Choice(statuses))),
            Part::Field(Field::new("start_date", "Start date", Input::Date)),
            Part::Field(Field::new("review_date", "Review date", Input::Date).optional()),
            Part::Field(Field::new("problems", "Problems", Input::Text(3)).hint("one per line")),
            Part::Group {
                name: "goals",
                label: "SMART goals",
                item: "Goal",
                fields: vec![
                    Field::new("description", "Goal (specific)", Input::Line),
                    Field::new("measure", "Measured by", Input::Line),
                    Field::new("target", "Target", Input::Line),
                    Field::new("target_date", "Target date", Input::Date).optional(),
                    Field::new("interventions", "Interventions", Input::Line),
                ],
                spare: 1,
            },
        ]
    }

    fn blank(today: Date) -> Self {
        TreatmentPlan {
            title: String::new(),
            status: PlanStatus::Active,
            start_date: today,
            review_date: None,
            problems: String::new(),
            goals: Vec::new(),
        }
    }
}

fn rating_parts(plan: &TreatmentPlan) -> Vec<Part> {
    let goals =
        plan.goals.iter().map(|g| (g.number.to_string(), format!("Goal {}: {}", g.number, g.description))).collect();
    vec![
        Part::Field(Field::new("goal", "Goal", Input::Choice(goals))),
        Part::Field(Field::new("date", "Date", Input::Date)),
        Part::Field(Field::new("rating", "Progress", Input::Number(u16::from(RATING_MAX))).hint("0–10, 10: reached")),
        Part::Field(Field::new("comment", "Comment", Input::Line)),
    ]
}

/// The plan's page: the plan, its progress chart and the rating form.
async fn plan_page(
    state: &WebState,
    t: Therapist,
    record: &Record<TreatmentPlan>,
    values: &Values,
    errors: FieldErrors,
    notice: Option<&'static str>,
) -> Result<Response, WebError> {
    let ratings = state.app.progress_of(&t.account, record.id, &t.ctx).await?;
    let plan = record.content.expose();
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let parts = rating_parts(plan);
    let rate_form = record_forms::view(&parts, values, &errors)
        .into_iter()
        .filter_map(|p| match p {
            record_forms::PartView::Input(i) => Some(i),
            _ => None,
        })
        .collect();
    let mut page = record_page(t.layout, record, &Choices::default(), errors, notice);
    if !plan.goals.is_empty() {
        let goals: Vec<(u32, String)> = plan.goals.iter().map(|g| (g.number, g.description.clone())).collect();
        let points: Vec<(u32, Date, u8)> = ratings
            .iter()
            .map(|r| {
                let p = r.content.expose();
                (p.goal, p.date, p.rating)
            })
            .collect();
        page.chart = Some(cbt_diagrams::progress_chart(&goals, &points));
        page.rate_form = rate_form;
    }
    // The client's questionnaire scores: the plan's measures over time.
    let results = state.app.assessments_of(&t.account, record.client, &t.ctx).await?;
    if !results.is_empty() {
        let instruments = crate::assessment_pages::instruments_of(state, &t.account, &t.ctx, &results).await?;
        page.charts = crate::assessment_pages::charts(&results, &instruments, "cbt-plan-scores");
    }
    Ok(html(status, page))
}

fn fresh_rating_values() -> Values {
    let mut values = Values::new();
    values.insert("date".into(), time::OffsetDateTime::now_utc().date().format(ISO_DATE).unwrap_or_default());
    values
}

pub async fn show(
    State(state): State<WebState>,
    t: Therapist,
    Path(id): Path<String>,
    Query(params): Query<NoticeParams>,
) -> Result<Response, WebError> {
    let record = state.app.record::<TreatmentPlan>(&t.account, id_or_404(&id)?, &t.ctx).await?;
    let notice = params.notice();
    plan_page(&state, t, &record, &fresh_rating_values(), FieldErrors::default(), notice).await
}

#[derive(Deserialize)]
pub struct RatingForm {
    #[serde(default)]
    goal: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    rating: String,
    #[serde(default)]
    comment: String,
}

/// A rating as typed, or what the form itself can see is wrong.
fn read_rating(plan: RecordId, form: &RatingForm) -> Result<GoalProgress, FieldErrors> {
    let mut errors = FieldErrors::default();
    let goal = errors.take(form.goal.trim().parse::<u32>().map_err(|_| FieldError::new("goal", "Choose a goal.")));
    let date = errors.take(
        Date::parse(form.date.trim(), ISO_DATE).map_err(|_| FieldError::new("date", "Enter the date as YYYY-MM-DD.")),
    );
    let rating = errors.take(
        form.rating
            .trim()
            .parse::<u8>()
            .map_err(|_| FieldError::new("rating", format!("Rate progress from 0 to {RATING_MAX}."))),
    );
    errors.into_result()?;
    Ok(GoalProgress {
        plan,
        goal: goal.unwrap_or(0),
        date: date.unwrap_or(Date::MIN),
        rating: rating.unwrap_or(0),
        comment: form.comment.clone(),
    })
}

pub async fn rate(
    State(state): State<WebState>,
    t: Therapist,
    Path(id): Path<String>,
    Form(form): Form<RatingForm>,
) -> Result<Response, WebError> {
    let id: RecordId = id_or_404(&id)?;
    let record = state.app.record::<TreatmentPlan>(&t.account, id, &t.ctx).await?;
    let values: Values =
        [("goal", &form.goal), ("date", &form.date), ("rating", &form.rating), ("comment", &form.comment)]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.clone()))
            .collect();
    let result = match read_rating(id, &form) {
        Ok(rating) => state.app.rate_goal(&t.account, rating, &t.ctx).await,
        Err(errors) => Err(AppError::Invalid(errors)),
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/plans/{id}?notice=rated")).into_response()),
        Err(AppError::Invalid(errors)) => plan_page(&state, t, &record, &values, errors, None).await,
        Err(e) => Err(e.into()),
    }
}
