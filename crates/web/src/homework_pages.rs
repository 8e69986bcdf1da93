//! Worksheets and homework pages: the worksheet library (built-in and the
//! therapist's own), assigning a worksheet to a client, and recording what
//! came back (the homework record's form is built from its worksheet).

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use cbt_app::AppError;
use cbt_domain::homework::{AnswerKind, Homework, HomeworkStatus, Worksheet, library};
use cbt_domain::ids::{ClientId, WorksheetId};
use cbt_domain::validation::{FieldError, FieldErrors};
use serde::Deserialize;
use time::Date;

use crate::account_pages::{Errors, html};
use crate::error::id_or_404;
use crate::pages::{ISO_DATE, Layout};
use crate::record_forms::{Field, Input, Part};
use crate::record_pages::{Choices, RecordPages, Therapist};
use crate::{WebError, WebState};

impl RecordPages for Homework {
    const PATH: &'static str = "homework";
    const SENT_TO_CLIENT: bool = true;

    fn parts(record: Option<&Self>, _: &Choices) -> Vec<Part> {
        let statuses = HomeworkStatus::ALL.iter().map(|s| (s.code().to_owned(), s.label().to_owned())).collect();
        let mut parts = vec![
            Part::Field(Field::new("instructions", "Instructions", Input::Text(2))),
            Part::Field(Field::new("due_on", "Due", Input::Date).optional()),
            Part::Field(Field::new("status", "Status", Input::Choice(statuses))),
        ];
        if let Some(homework) = record {
            parts.push(Part::Heading("Answers"));
            for f in &homework.worksheet.fields {
                let name = format!("responses.{}", f.key);
                let field = match f.kind {
                    AnswerKind::Text => Field::new(&name, &f.label, Input::Line),
                    AnswerKind::LongText => Field::new(&name, &f.label, Input::Text(3)),
                    AnswerKind::Rating => Field::new(&name, &f.label, Input::Number(100)).kept_as_text(),
                    AnswerKind::Check => Field::new(&name, &f.label, Input::Check),
                };
                parts.push(Part::Field(field));
            }
        }
        parts.push(Part::Field(Field::new("review_notes", "Reviewed in session", Input::Text(3))));
        parts
    }

    fn blank(today: Date) -> Self {
        Homework {
            worksheet: Worksheet { title: String::new(), purpose: String::new(), fields: Vec::new() },
            source: String::new(),
            instructions: String::new(),
            assigned_on: today,
            due_on: None,
            status: HomeworkStatus::Assigned,
            responses: Default::default(),
            review_notes: String::new(),
        }
    }
}

/// The worksheets that can be assigned: (source, title).
async fn assignable(state: &WebState, t: &Therapist) -> Result<Vec<(String, String)>, WebError> {
    let mut out: Vec<(String, String)> =
        library().into_iter().map(|(key, w)| (cbt_app::worksheets::source_of_library(key), w.title)).collect();
    for custom in state.app.worksheets(&t.account, &t.ctx).await? {
        out.push((format!("custom:{}", custom.id), format!("{} (yours)", custom.worksheet.expose().title)));
    }
    Ok(out)
}

#[derive(Deserialize, Default)]
pub struct AssignForm {
    #[serde(default)]
    source: String,
    #[serde(default)]
    instructions: String,
    #[serde(default)]
    due_on: String,
}

#[derive(Template)]
#[template(path = "homework_assign.html")]
struct AssignPage {
    layout: Layout,
    client_id: String,
    worksheets: Vec<(String, String)>,
    form: AssignForm,
    errors: Errors,
}

/// `?source=library:…`: the worksheet chosen already (a suggestion's link).
#[derive(Deserialize, Default)]
pub struct Preselected {
    #[serde(default)]
    source: String,
}

pub async fn assign_form(
    State(state): State<WebState>,
    t: Therapist,
    Path(client): Path<String>,
    Query(pre): Query<Preselected>,
) -> Result<Response, WebError> {
    let client: ClientId = id_or_404(&client)?;
    state.app.client(&t.account, client, &t.ctx).await?;
    let worksheets = assignable(&state, &t).await?;
    // Only a worksheet on offer is chosen; anything else is ignored.
    let source = worksheets.iter().find(|(s, _)| *s == pre.source).map(|(s, _)| s.clone()).unwrap_or_default();
    let page = AssignPage {
        layout: t.layout,
        client_id: client.to_string(),
        worksheets,
        form: AssignForm { source, ..AssignForm::default() },
        errors: FieldErrors::default().into(),
    };
    Ok(html(StatusCode::OK, page))
}

pub async fn assign(
    State(state): State<WebState>,
    t: Therapist,
    Path(client): Path<String>,
    Form(form): Form<AssignForm>,
) -> Result<Response, WebError> {
    let client: ClientId = id_or_404(&client)?;
    state.app.check_client(&t.account, client).await?;
    let due_on = match form.due_on.trim() {
        "" => Ok(None),
        text => Date::parse(text, ISO_DATE)
            .map(Some)
            .map_err(|_| FieldErrors::from(FieldError::new("due_on", "Enter the due date as YYYY-MM-DD."))),
    };
    let result = match due_on {
        Ok(due_on) => {
            state.app.assign_homework(&t.account, client, &form.source, form.instructions.clone(), due_on, &t.ctx).await
        }
        Err(errors) => Err(AppError::Invalid(errors)),
    };
    match result {
        Ok(id) => Ok(Redirect::to(&format!("/homework/{id}?notice=saved")).into_response()),
        Err(AppError::Invalid(errors)) => {
            let worksheets = assignable(&state, &t).await?;
            let page =
                AssignPage { layout: t.layout, client_id: client.to_string(), worksheets, form, errors: errors.into() };
            Ok(html(StatusCode::UNPROCESSABLE_ENTITY, page))
        }
        Err(e) => Err(e.into()),
    }
}

/// The worksheet pages' layout: "Worksheets" is current in the navigation.
fn sheets(mut layout: Layout) -> Layout {
    layout.current = "worksheets";
    layout
}

/// A worksheet in the library list.
pub struct WorksheetRow {
    href: Option<String>,
    title: String,
    purpose: String,
    fields: usize,
}

#[derive(Template)]
#[template(path = "worksheets.html")]
struct LibraryPage {
    layout: Layout,
    built_in: Vec<WorksheetRow>,
    custom: Vec<WorksheetRow>,
    notice: bool,
}

fn row(href: Option<String>, w: &Worksheet) -> WorksheetRow {
    WorksheetRow { href, title: w.title.clone(), purpose: w.purpose.clone(), fields: w.fields.len() }
}

#[derive(Deserialize, Default)]
pub struct LibraryParams {
    #[serde(default)]
    notice: String,
}

pub async fn worksheets(
    State(state): State<WebState>,
    t: Therapist,
    axum::extract::Query(params): axum::extract::Query<LibraryParams>,
) -> Result<Response, WebError> {
    let custom = state.app.worksheets(&t.account, &t.ctx).await?;
    let page = LibraryPage {
        layout: sheets(t.layout),
        built_in: library().iter().map(|(_, w)| row(None, w)).collect(),
        custom: custom.iter().map(|c| row(Some(format!("/worksheets/{}", c.id)), c.worksheet.expose())).collect(),
        notice: params.notice == "saved",
    };
    Ok(html(StatusCode::OK, page))
}

#[derive(Deserialize, Default)]
pub struct WorksheetForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    purpose: String,
    #[serde(default)]
    fields: String,
    #[serde(default)]
    version: i64,
}

#[derive(Template)]
#[template(path = "worksheet_form.html")]
struct WorksheetPage {
    layout: Layout,
    id: Option<String>,
    form: WorksheetForm,
    errors: Errors,
}

pub async fn new_worksheet(t: Therapist) -> Response {
    let page = WorksheetPage {
        layout: sheets(t.layout),
        id: None,
        form: WorksheetForm::default(),
        errors: Errors::from(FieldErrors::default()),
    };
    html(StatusCode::OK, page)
}

pub async fn create_worksheet(
    State(state): State<WebState>,
    t: Therapist,
    Form(form): Form<WorksheetForm>,
) -> Result<Response, WebError> {
    let result = match Worksheet::custom(&form.title, &form.purpose, &form.fields) {
        Ok(w) => state.app.create_worksheet(&t.account, w, &t.ctx).await.map(|_| ()),
        Err(errors) => Err(AppError::Invalid(errors)),
    };
    worksheet_saved(result, t, None, form)
}

fn worksheet_saved(
    result: Result<(), AppError>,
    t: Therapist,
    id: Option<String>,
    form: WorksheetForm,
) -> Result<Response, WebError> {
    match result {
        Ok(()) => Ok(Redirect::to("/worksheets?notice=saved").into_response()),
        Err(AppError::Invalid(errors)) => Ok(html(
            StatusCode::UNPROCESSABLE_ENTITY,
            WorksheetPage { layout: sheets(t.layout), id, form, errors: errors.into() },
        )),
        Err(AppError::Conflict) => {
            let errors = FieldErrors::from(FieldError::new(
                "fields",
                "Changed elsewhere since you opened it: copy your text, then reload.",
            ));
            Ok(html(StatusCode::CONFLICT, WorksheetPage { layout: sheets(t.layout), id, form, errors: errors.into() }))
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn edit_worksheet(
    State(state): State<WebState>,
    t: Therapist,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id: WorksheetId = id_or_404(&id)?;
    let sheet = state.app.worksheet(&t.account, id, &t.ctx).await?;
    let w = sheet.worksheet.expose();
    let form = WorksheetForm {
        title: w.title.clone(),
        purpose: w.purpose.clone(),
        fields: w.field_lines(),
        version: sheet.version,
    };
    let page = WorksheetPage {
        layout: sheets(t.layout),
        id: Some(id.to_string()),
        form,
        errors: FieldErrors::default().into(),
    };
    Ok(html(StatusCode::OK, page))
}

pub async fn save_worksheet(
    State(state): State<WebState>,
    t: Therapist,
    Path(id): Path<String>,
    Form(form): Form<WorksheetForm>,
) -> Result<Response, WebError> {
    let id: WorksheetId = id_or_404(&id)?;
    let result = match Worksheet::custom(&form.title, &form.purpose, &form.fields) {
        Ok(w) => state.app.update_worksheet(&t.account, id, form.version, w, &t.ctx).await.map(|_| ()),
        Err(errors) => Err(AppError::Invalid(errors)),
    };
    worksheet_saved(result, t, Some(id.to_string()), form)
}
