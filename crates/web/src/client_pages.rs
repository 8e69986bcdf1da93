//! Client pages: the caseload (search, status filter, sort), adding a
//! client, the client's page, changing it, and its history. A rejected
//! form comes back as typed with a message next to each field at fault.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use cbt_app::AppError;
use cbt_app::clients::{Client, ClientQuery, ClientSort};
use cbt_domain::client::{ClientDetails, ClientStatus, Diagnosis, is_icd10};
use cbt_domain::ids::ClientId;
use cbt_domain::validation::{FieldError, FieldErrors};
use serde::Deserialize;
use time::Date;

use crate::account_pages::{Errors, html};
use crate::auth::{Ctx, SignedIn, Visitor};
use crate::csrf::CsrfToken;
use crate::error::id_or_404;
use crate::pages::{ISO_DATE, Layout, date_text, when};
use crate::{WebError, WebState};

fn layout(visitor: &Visitor, csrf: &CsrfToken) -> Layout {
    Layout::for_visitor("clients", visitor, csrf)
}

/// One line of the caseload.
pub struct Row {
    id: String,
    name: String,
    full_name: String,
    status: &'static str,
    born: String,
    updated: String,
}

impl From<&Client> for Row {
    fn from(c: &Client) -> Self {
        let d = c.details.expose();
        Row {
            id: c.id.to_string(),
            name: d.display_name().to_owned(),
            full_name: d.full_name.clone(),
            status: d.status.label(),
            born: date_text(d.date_of_birth),
            updated: when(c.updated_at),
        }
    }
}

#[derive(Template)]
#[template(path = "clients.html")]
struct ListPage {
    layout: Layout,
    rows: Vec<Row>,
    q: String,
    status: String,
    sort: String,
    statuses: Vec<(&'static str, &'static str)>,
    filtered: bool,
}

#[derive(Deserialize, Default)]
pub struct ListParams {
    #[serde(default)]
    q: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    sort: String,
}

fn statuses() -> Vec<(&'static str, &'static str)> {
    ClientStatus::ALL.iter().map(|s| (s.code(), s.label())).collect()
}

pub async fn list(
    State(state): State<WebState>,
    SignedIn(current): SignedIn,
    visitor: Visitor,
    csrf: axum::Extension<CsrfToken>,
    Ctx(ctx): Ctx,
    Query(params): Query<ListParams>,
) -> Result<Response, WebError> {
    let sort = match params.sort.as_str() {
        "updated" => ClientSort::RecentlyUpdated,
        "newest" => ClientSort::Newest,
        _ => ClientSort::Name,
    };
    let status = ClientStatus::from_code(&params.status);
    let query = ClientQuery { search: Some(params.q.clone()), status, sort };
    let clients = state.app.clients(&current.account, &query, &ctx).await?;
    let page = ListPage {
        layout: layout(&visitor, &csrf),
        rows: clients.iter().map(Row::from).collect(),
        filtered: !params.q.trim().is_empty() || status.is_some(),
        q: params.q,
        status: status.map(|s| s.code().to_owned()).unwrap_or_default(),
        sort: params.sort,
        statuses: statuses(),
    };
    Ok(html(StatusCode::OK, page))
}

/// The form as typed: every field a string, so nothing typed is lost when
/// the form comes back with errors.
#[derive(Deserialize, Default, Clone)]
pub struct ClientForm {
    #[serde(default)]
    full_name: String,
    #[serde(default)]
    preferred_name: String,
    #[serde(default)]
    pronouns: String,
    #[serde(default)]
    date_of_birth: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    emergency_contact: String,
    #[serde(default)]
    referral_source: String,
    #[serde(default)]
    presenting_problems: String,
    /// One per line: an ICD-10 code first if there is one.
    #[serde(default)]
    diagnoses: String,
    #[serde(default)]
    medications: String,
    #[serde(default)]
    risk_notes: String,
    #[serde(default)]
    status: String,
    /// The checkbox: `true` when ticked, absent otherwise.
    #[serde(default)]
    restricted: bool,
    /// The version the change is based on (changes only).
    #[serde(default)]
    version: i64,
}

impl ClientForm {
    fn from_details(d: &ClientDetails, version: i64) -> Self {
        let diagnoses = d
            .diagnoses
            .iter()
            .map(|x| if x.icd10.is_empty() { x.description.clone() } else { format!("{} {}", x.icd10, x.description) })
            .collect::<Vec<_>>()
            .join("\n");
        ClientForm {
            full_name: d.full_name.clone(),
            preferred_name: d.preferred_name.clone(),
            pronouns: d.pronouns.clone(),
            date_of_birth: date_text(d.date_of_birth),
            phone: d.phone.clone(),
            email: d.email.clone(),
            address: d.address.clone(),
            emergency_contact: d.emergency_contact.clone(),
            referral_source: d.referral_source.clone(),
            presenting_problems: d.presenting_problems.clone(),
            diagnoses,
            medications: d.medications.clone(),
            risk_notes: d.risk_notes.clone(),
            status: d.status.code().to_owned(),
            restricted: d.restricted,
            version,
        }
    }

    /// The details, or the problems the form itself can see (a date that
    /// is not one, an unknown status); the rest is the app's to check.
    fn details(&self) -> Result<ClientDetails, FieldErrors> {
        let mut errors = FieldErrors::default();
        let date_of_birth = match self.date_of_birth.trim() {
            "" => None,
            text => errors.take(Date::parse(text, ISO_DATE).map_err(|_| {
                FieldError::new("date_of_birth", "That is not a date: enter it as YYYY-MM-DD, e.g. 1988-03-14.")
            })),
        };
        let status = match self.status.as_str() {
            "" => Some(ClientStatus::Active),
            code => ClientStatus::from_code(code),
        };
        if status.is_none() {
            errors.push(FieldError::new("status", "Choose a status from the list."));
        }
        let diagnoses = self
            .diagnoses
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|line| match line.split_once(char::is_whitespace) {
                Some((code, rest)) if is_icd10(&code.to_uppercase()) => {
                    Diagnosis { description: rest.trim().to_owned(), icd10: code.to_owned() }
                }
                _ => Diagnosis { description: line.to_owned(), icd10: String::new() },
            })
            .collect();
        let details = ClientDetails {
            full_name: self.full_name.clone(),
            preferred_name: self.preferred_name.clone(),
            pronouns: self.pronouns.clone(),
            date_of_birth,
            phone: self.phone.clone(),
            email: self.email.clone(),
            address: self.address.clone(),
            emergency_contact: self.emergency_contact.clone(),
            referral_source: self.referral_source.clone(),
            presenting_problems: self.presenting_problems.clone(),
            diagnoses,
            medications: self.medications.clone(),
            risk_notes: self.risk_notes.clone(),
            status: status.unwrap_or_default(),
            status_since: None,
            restricted: self.restricted,
        };
        errors.into_result().map(|()| details)
    }
}

#[derive(Template)]
#[template(path = "client_form.html")]
struct FormPage {
    layout: Layout,
    /// `None`: a new client.
    id: Option<String>,
    form: ClientForm,
    statuses: Vec<(&'static str, &'static str)>,
    errors: Errors,
}

fn form_page(
    visitor: &Visitor,
    csrf: &CsrfToken,
    id: Option<ClientId>,
    form: ClientForm,
    status: StatusCode,
    errors: FieldErrors,
) -> Response {
    let page = FormPage {
        layout: layout(visitor, csrf),
        id: id.map(|i| i.to_string()),
        form,
        statuses: statuses(),
        errors: errors.into(),
    };
    html(status, page)
}

pub async fn new_form(SignedIn(current): SignedIn, visitor: Visitor, csrf: axum::Extension<CsrfToken>) -> Response {
    if !current.account.is_verified() {
        return WebError::VerificationRequired.into_response();
    }
    form_page(&visitor, &csrf, None, ClientForm::default(), StatusCode::OK, FieldErrors::default())
}

/// Problems the form found, plus the app's own checks of the rest.
fn all_errors(form_errors: FieldErrors, form: &ClientForm) -> FieldErrors {
    let mut errors = form_errors;
    let mut lenient = form.clone();
    lenient.date_of_birth.clear();
    lenient.status.clear();
    if let Ok(details) = lenient.details()
        && let Err(more) = details.validated(time::OffsetDateTime::now_utc().date())
    {
        errors.extend(more.0);
    }
    errors
}

pub async fn create(
    State(state): State<WebState>,
    SignedIn(current): SignedIn,
    visitor: Visitor,
    csrf: axum::Extension<CsrfToken>,
    Ctx(ctx): Ctx,
    Form(form): Form<ClientForm>,
) -> Response {
    let details = match form.details() {
        Ok(d) => d,
        Err(e) => {
            let errors = all_errors(e, &form);
            return form_page(&visitor, &csrf, None, form, StatusCode::UNPROCESSABLE_ENTITY, errors);
        }
    };
    match state.app.create_client(&current.account, details, &ctx).await {
        Ok(id) => Redirect::to(&format!("/clients/{id}?notice=created")).into_response(),
        Err(AppError::Invalid(errors)) => {
            form_page(&visitor, &csrf, None, form, StatusCode::UNPROCESSABLE_ENTITY, errors)
        }
        Err(e) => WebError::from(e).into_response(),
    }
}

#[derive(Template)]
#[template(path = "client.html")]
struct ClientPage {
    layout: Layout,
    id: String,
    name: String,
    form: ClientForm,
    status_label: &'static str,
    status_since: String,
    diagnoses: Vec<Diagnosis>,
    created: String,
    updated: String,
    version: i64,
    notice: Option<&'static str>,
    notes: Vec<crate::note_pages::NoteRow>,
    note_count: usize,
    timeline: String,
    records: Vec<crate::client_records::Section>,
    charts: Vec<crate::assessment_pages::Chart>,
    /// The latest results, newest first.
    results: Vec<crate::assessment_pages::ResultRow>,
    result_count: usize,
    /// Results with a risk flag nobody has acknowledged.
    flags: Vec<crate::assessment_pages::ResultRow>,
}

/// Assessment results listed on the client's page (all on their own page).
const RESULTS_SHOWN: usize = 5;

/// Session notes listed on the client's page before "Show all".
const NOTES_SHOWN: usize = 20;

#[derive(Deserialize, Default)]
pub struct NoticeParams {
    #[serde(default)]
    notice: String,
    /// `all`: every session note, not only the latest.
    #[serde(default)]
    notes: String,
}

pub async fn show(
    State(state): State<WebState>,
    SignedIn(current): SignedIn,
    visitor: Visitor,
    csrf: axum::Extension<CsrfToken>,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    Query(params): Query<NoticeParams>,
) -> Result<Response, WebError> {
    let dashboard = state.app.client_dashboard(&current.account, id_or_404::<ClientId>(&id)?, &ctx).await?;
    let client = &dashboard.client;
    let d = client.details.expose();
    let notice = match params.notice.as_str() {
        "created" => Some("Client added."),
        "saved" => Some("Changes saved."),
        _ => None,
    };
    let all_notes = params.notes == "all";
    let instruments =
        crate::assessment_pages::instruments_of(&state, &current.account, &ctx, &dashboard.results).await?;
    let mut rows = crate::assessment_pages::result_rows(&dashboard.results, &instruments);
    let page = ClientPage {
        layout: layout(&visitor, &csrf),
        id: client.id.to_string(),
        name: d.display_name().to_owned(),
        form: ClientForm::from_details(d, client.version),
        status_label: d.status.label(),
        status_since: date_text(d.status_since),
        diagnoses: d.diagnoses.clone(),
        created: when(client.created_at),
        updated: when(client.updated_at),
        version: client.version,
        notice,
        note_count: dashboard.notes.len(),
        notes: dashboard
            .notes
            .iter()
            .take(if all_notes { usize::MAX } else { NOTES_SHOWN })
            .map(crate::note_pages::NoteRow::from)
            .collect(),
        timeline: cbt_diagrams::timeline(&crate::client_records::timeline_of(&dashboard)),
        charts: crate::assessment_pages::charts(&dashboard.results, &instruments, "cbt-scores"),
        flags: rows.iter().filter(|r| r.flagged).cloned().collect(),
        result_count: rows.len(),
        results: {
            rows.truncate(RESULTS_SHOWN);
            rows
        },
        records: crate::client_records::sections(&dashboard),
    };
    Ok(html(StatusCode::OK, page))
}

pub async fn edit_form(
    State(state): State<WebState>,
    SignedIn(current): SignedIn,
    visitor: Visitor,
    csrf: axum::Extension<CsrfToken>,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id = id_or_404::<ClientId>(&id)?;
    let client = state.app.client(&current.account, id, &ctx).await?;
    let form = ClientForm::from_details(client.details.expose(), client.version);
    Ok(form_page(&visitor, &csrf, Some(id), form, StatusCode::OK, FieldErrors::default()))
}

pub async fn update(
    State(state): State<WebState>,
    SignedIn(current): SignedIn,
    visitor: Visitor,
    csrf: axum::Extension<CsrfToken>,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    Form(form): Form<ClientForm>,
) -> Response {
    let id = match id_or_404::<ClientId>(&id) {
        Ok(id) => id,
        Err(e) => return e.into_response(),
    };
    let details = match form.details() {
        Ok(d) => d,
        Err(e) => {
            let errors = all_errors(e, &form);
            return form_page(&visitor, &csrf, Some(id), form, StatusCode::UNPROCESSABLE_ENTITY, errors);
        }
    };
    match state.app.update_client(&current.account, id, form.version, details, &ctx).await {
        Ok(_) => Redirect::to(&format!("/clients/{id}?notice=saved")).into_response(),
        Err(AppError::Invalid(errors)) => {
            form_page(&visitor, &csrf, Some(id), form, StatusCode::UNPROCESSABLE_ENTITY, errors)
        }
        Err(AppError::Conflict) => {
            // Keep what was typed on the page, with the reason.
            let mut errors = FieldErrors::default();
            errors.push(FieldError::new(
                "version",
                "This client was changed elsewhere since you opened this form. Nothing was saved: copy what you need, then reload.",
            ));
            form_page(&visitor, &csrf, Some(id), form, StatusCode::CONFLICT, errors)
        }
        Err(e) => WebError::from(e).into_response(),
    }
}

/// One change between two versions, field by field.
pub struct Change {
    field: &'static str,
    before: String,
    after: String,
}

pub struct VersionRow {
    version: i64,
    changed_at: String,
    changes: Vec<Change>,
}

#[derive(Template)]
#[template(path = "client_history.html")]
struct HistoryPage {
    layout: Layout,
    id: String,
    name: String,
    versions: Vec<VersionRow>,
}

fn fields(form: &ClientForm) -> [(&'static str, String); 14] {
    [
        ("Full name", form.full_name.clone()),
        ("Preferred name", form.preferred_name.clone()),
        ("Pronouns", form.pronouns.clone()),
        ("Date of birth", form.date_of_birth.clone()),
        ("Phone", form.phone.clone()),
        ("Email", form.email.clone()),
        ("Address", form.address.clone()),
        ("Emergency contact", form.emergency_contact.clone()),
        ("Referral source", form.referral_source.clone()),
        ("Presenting problems", form.presenting_problems.clone()),
        ("Diagnoses", form.diagnoses.clone()),
        ("Medications", form.medications.clone()),
        ("Risk notes", form.risk_notes.clone()),
        ("Never sent to AI", if form.restricted { "Yes" } else { "No" }.to_owned()),
    ]
}

pub async fn history(
    State(state): State<WebState>,
    SignedIn(current): SignedIn,
    visitor: Visitor,
    csrf: axum::Extension<CsrfToken>,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id = id_or_404::<ClientId>(&id)?;
    let versions = state.app.client_history(&current.account, id, &ctx).await?;
    let mut rows = Vec::with_capacity(versions.len());
    let mut previous: Option<ClientForm> = None;
    for v in &versions {
        let form = ClientForm::from_details(v.details.expose(), v.version);
        let mut changes: Vec<Change> = match &previous {
            None => Vec::new(),
            Some(before) => fields(before)
                .into_iter()
                .zip(fields(&form))
                .filter(|((_, a), (_, b))| a != b)
                .map(|((field, a), (_, b))| Change { field, before: a, after: b })
                .collect(),
        };
        if let Some(before) = &previous
            && before.status != form.status
        {
            let label = |code: &str| ClientStatus::from_code(code).map(|s| s.label()).unwrap_or_default().to_owned();
            changes.push(Change { field: "Status", before: label(&before.status), after: label(&form.status) });
        }
        rows.push(VersionRow { version: v.version, changed_at: when(v.changed_at), changes });
        previous = Some(form);
    }
    rows.reverse();
    let name = versions.last().map(|v| v.details.expose().display_name().to_owned()).unwrap_or_default();
    let page = HistoryPage { layout: layout(&visitor, &csrf), id: id.to_string(), name, versions: rows };
    Ok(html(StatusCode::OK, page))
}
