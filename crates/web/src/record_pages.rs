//! Pages of clinical records other than session notes (formulations,
//! hypotheses, treatment plans, homework), one set of handlers for every
//! kind: the new form, the record, the draft form (with autosave), signing,
//! addenda and the history with a field-by-field diff. A kind says what is
//! its own in [`RecordPages`]: its URL, its form's parts, a blank record.

use askama::Template;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use cbt_app::AppError;
use cbt_app::records::Record;
use cbt_domain::account::Account;
use cbt_domain::assessment::AssessmentResult;
use cbt_domain::audit::RequestContext;
use cbt_domain::homework::Homework;
use cbt_domain::ids::{ClientId, RecordId};
use cbt_domain::record::ClinicalRecord;
use cbt_domain::session_note::SessionNote;
use cbt_domain::validation::{FieldError, FieldErrors};
use serde::Deserialize;
use time::Date;

use crate::account_pages::{Errors, html};
use crate::auth::{Ctx, SignedIn, Visitor};
use crate::csrf::CsrfToken;
use crate::error::id_or_404;
use crate::pages::{ISO_DATE, Layout, when};
use crate::record_forms::{self, Change, Part, PartView, Values};
use crate::{WebError, WebState};

/// A signed-in therapist on a page: whom to act for, the page layout and
/// the request's audit context.
pub struct Therapist {
    pub account: Account,
    pub layout: Layout,
    pub ctx: RequestContext,
}

impl FromRequestParts<WebState> for Therapist {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Self, Self::Rejection> {
        let SignedIn(current) = SignedIn::from_request_parts(parts, state).await?;
        let visitor = Visitor::from_request_parts(parts, state).await.map_err(|_| WebError::SignInRequired)?;
        let Extension(csrf) =
            Extension::<CsrfToken>::from_request_parts(parts, state).await.map_err(|_| WebError::CsrfRejected)?;
        let Ok(Ctx(ctx)) = Ctx::from_request_parts(parts, state).await;
        Ok(Therapist { account: current.account.clone(), layout: Layout::for_visitor("clients", &visitor, &csrf), ctx })
    }
}

/// What the pages need to know about the client's other records to offer
/// them as choices (evidence sources).
#[derive(Default)]
pub struct Choices {
    /// The client's session notes, questionnaire results and homework,
    /// newest first within each kind.
    pub records: Vec<LinkChoice>,
}

/// A record offered as a choice, and the page it links to.
#[derive(Clone)]
pub struct LinkChoice {
    pub id: String,
    pub label: String,
    pub href: String,
}

/// What a kind of record brings to the generic pages.
pub trait RecordPages: ClinicalRecord {
    /// The URL segment: `/{PATH}/{id}`, `/clients/{id}/{PATH}/new`.
    const PATH: &'static str;
    /// Whether the form offers the client's records as choices (evidence).
    const LINKS_RECORDS: bool = false;
    /// Whether the client can be sent a link to fill it in (homework).
    const SENT_TO_CLIENT: bool = false;

    /// The form's parts, for this record (`None`: a new one).
    fn parts(record: Option<&Self>, choices: &Choices) -> Vec<Part>;

    /// A new, empty record.
    fn blank(today: Date) -> Self;

    /// A picture of the record (server-rendered SVG), if it has one.
    fn picture(&self) -> Option<String> {
        None
    }
}

async fn choices<T: RecordPages>(state: &WebState, t: &Therapist, client: ClientId) -> Result<Choices, AppError> {
    if !T::LINKS_RECORDS {
        return Ok(Choices::default());
    }
    let date = |d: Option<Date>| d.and_then(|d| d.format(ISO_DATE).ok()).unwrap_or_default();
    let mut records = Vec::new();
    for n in state.app.records_of::<SessionNote>(&t.account, client, &t.ctx).await? {
        let state = if n.signed_at.is_some() { "signed" } else { "draft" };
        let label = format!("Session note, {} ({state})", date(n.content.expose().date()));
        records.push(LinkChoice { id: n.id.to_string(), label, href: format!("/notes/{}", n.id) });
    }
    for r in state.app.records_of::<AssessmentResult>(&t.account, client, &t.ctx).await? {
        let label = format!("Questionnaire: {}", r.content.expose().title());
        records.push(LinkChoice { id: r.id.to_string(), label, href: format!("/assessments/{}", r.id) });
    }
    for h in state.app.records_of::<Homework>(&t.account, client, &t.ctx).await? {
        let label = format!("Homework: {}, {}", h.content.expose().title(), date(h.content.expose().date()));
        records.push(LinkChoice { id: h.id.to_string(), label, href: format!("/homework/{}", h.id) });
    }
    Ok(Choices { records })
}

#[derive(Template)]
#[template(path = "record_form.html")]
struct FormPage {
    layout: Layout,
    title: String,
    name: &'static str,
    path: &'static str,
    client_id: String,
    record_id: Option<String>,
    action: String,
    version: i64,
    parts: Vec<PartView>,
    errors: Errors,
    notice: Option<&'static str>,
}

struct FormOf<'a> {
    client: ClientId,
    record: Option<RecordId>,
    version: i64,
    parts: &'a [Part],
}

fn form_page<T: RecordPages>(
    layout: Layout,
    of: FormOf<'_>,
    values: &Values,
    errors: FieldErrors,
    status: StatusCode,
    notice: Option<&'static str>,
) -> Response {
    let (title, action) = match of.record {
        Some(id) => (format!("Change the {}", T::NAME), format!("/{}/{id}", T::PATH)),
        None => (format!("New {}", T::NAME), format!("/clients/{}/{}", of.client, T::PATH)),
    };
    let page = FormPage {
        layout,
        title,
        name: T::NAME,
        path: T::PATH,
        client_id: of.client.to_string(),
        record_id: of.record.map(|r| r.to_string()),
        action,
        version: of.version,
        parts: record_forms::view(of.parts, values, &errors),
        errors: errors.into(),
        notice,
    };
    html(status, page)
}

fn today() -> Date {
    time::OffsetDateTime::now_utc().date()
}

pub async fn new_form<T: RecordPages>(
    State(state): State<WebState>,
    t: Therapist,
    Path(client): Path<String>,
) -> Result<Response, WebError> {
    let client: ClientId = id_or_404(&client)?;
    state.app.client(&t.account, client, &t.ctx).await?;
    let choices = choices::<T>(&state, &t, client).await?;
    let blank = T::blank(today());
    let parts = T::parts(None, &choices);
    let values = record_forms::values_of(&parts, &blank);
    let of = FormOf { client, record: None, version: 0, parts: &parts };
    Ok(form_page::<T>(t.layout, of, &values, FieldErrors::default(), StatusCode::OK, None))
}

/// The new-record form filled with `record` (a draft the therapist took
/// parts of), not saved: `notice` says so.
pub async fn new_form_with<T: RecordPages>(
    state: &WebState,
    t: Therapist,
    client: ClientId,
    record: &T,
    notice: &'static str,
) -> Result<Response, WebError> {
    let choices = choices::<T>(state, &t, client).await?;
    let parts = T::parts(None, &choices);
    let values = record_forms::values_of(&parts, record);
    let of = FormOf { client, record: None, version: 0, parts: &parts };
    Ok(form_page::<T>(t.layout, of, &values, FieldErrors::default(), StatusCode::OK, Some(notice)))
}

/// A form post: the values by field name, and the version it was read at.
fn split(pairs: Vec<(String, String)>) -> (Values, i64) {
    let mut values = Values::new();
    let mut version = 0;
    for (k, v) in pairs {
        match k.as_str() {
            "csrf_token" => {}
            "version" => version = v.trim().parse().unwrap_or(0),
            // A tick box sends an empty hidden value and then `yes`: keep `yes`.
            _ => {
                let slot = values.entry(k).or_default();
                if slot.is_empty() {
                    *slot = v;
                }
            }
        }
    }
    (values, version)
}

pub async fn create<T: RecordPages>(
    State(state): State<WebState>,
    t: Therapist,
    Path(client): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let client: ClientId = id_or_404(&client)?;
    state.app.check_client(&t.account, client).await?;
    let (values, _) = split(pairs);
    let choices = choices::<T>(&state, &t, client).await?;
    let parts = T::parts(None, &choices);
    let result = match record_forms::read(&parts, &T::blank(today()), &values) {
        Ok(record) => state.app.create_record(&t.account, client, record, &t.ctx).await,
        Err(errors) => Err(AppError::Invalid(errors)),
    };
    match result {
        Ok(id) => Ok(Redirect::to(&format!("/{}/{id}?notice=saved", T::PATH)).into_response()),
        Err(AppError::Invalid(errors)) => {
            let of = FormOf { client, record: None, version: 0, parts: &parts };
            Ok(form_page::<T>(t.layout, of, &values, errors, StatusCode::UNPROCESSABLE_ENTITY, None))
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn edit_form<T: RecordPages>(
    State(state): State<WebState>,
    t: Therapist,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id: RecordId = id_or_404(&id)?;
    let record = state.app.record::<T>(&t.account, id, &t.ctx).await?;
    if record.signed_at.is_some() {
        return Ok(Redirect::to(&format!("/{}/{id}", T::PATH)).into_response());
    }
    let choices = choices::<T>(&state, &t, record.client).await?;
    let parts = T::parts(Some(record.content.expose()), &choices);
    let values = record_forms::values_of(&parts, record.content.expose());
    let of = FormOf { client: record.client, record: Some(id), version: record.version, parts: &parts };
    Ok(form_page::<T>(t.layout, of, &values, FieldErrors::default(), StatusCode::OK, None))
}

/// Marks a save sent by the page's autosave (app.js): answered 204 with the
/// new version in `X-Version` instead of a page.
const AUTOSAVE: &str = "x-autosave";

pub async fn save<T: RecordPages>(
    State(state): State<WebState>,
    t: Therapist,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let id: RecordId = id_or_404(&id)?;
    let (values, version) = split(pairs);
    // The saved record is the base the form is laid over (it keeps what
    // the form does not show, e.g. a goal's number or homework's worksheet).
    let saved = state.app.record::<T>(&t.account, id, &t.ctx).await?;
    let choices = choices::<T>(&state, &t, saved.client).await?;
    let parts = T::parts(Some(saved.content.expose()), &choices);
    let result = match record_forms::read(&parts, saved.content.expose(), &values) {
        Ok(record) => state.app.update_record(&t.account, id, version, record, &t.ctx).await,
        Err(errors) => Err(AppError::Invalid(errors)),
    };
    if headers.contains_key(AUTOSAVE) {
        return Ok(match result {
            Ok(version) => (StatusCode::NO_CONTENT, [("x-version", version.to_string())]).into_response(),
            Err(AppError::Invalid(_)) => StatusCode::UNPROCESSABLE_ENTITY.into_response(),
            Err(e) => WebError::from(e).into_response(),
        });
    }
    let of = FormOf { client: saved.client, record: Some(id), version, parts: &parts };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/{}/{id}?notice=saved", T::PATH)).into_response()),
        Err(AppError::Invalid(errors)) => {
            Ok(form_page::<T>(t.layout, of, &values, errors, StatusCode::UNPROCESSABLE_ENTITY, None))
        }
        Err(AppError::Conflict) => {
            let errors = FieldErrors::from(FieldError::new(
                "version",
                "This was saved elsewhere since you opened it. Nothing was saved here: copy what you need, then reload.",
            ));
            Ok(form_page::<T>(t.layout, of, &values, errors, StatusCode::CONFLICT, None))
        }
        Err(e) => Err(e.into()),
    }
}

/// A shown field, with a link when it names another record.
pub struct ShownField {
    pub label: String,
    pub text: String,
    pub link: Option<String>,
}

#[derive(Template)]
#[template(path = "record.html")]
pub struct RecordPage {
    pub layout: Layout,
    pub id: String,
    pub client_id: String,
    pub title: String,
    pub name: &'static str,
    pub name_title: String,
    pub path: &'static str,
    pub state: String,
    pub version: i64,
    pub signable: bool,
    pub signed: bool,
    pub shown: Vec<ShownField>,
    pub picture: Option<String>,
    pub picture_link: Option<String>,
    pub chart: Option<String>,
    /// Assessment score charts (the treatment plan's measures).
    pub charts: Vec<crate::assessment_pages::Chart>,
    /// Whether the page offers to send the client a link to fill it in.
    pub sendable: bool,
    pub rate_form: Vec<record_forms::InputView>,
    pub addenda: Vec<(String, String)>,
    pub addendum: String,
    pub errors: Errors,
    pub notice: Option<&'static str>,
}

#[derive(Deserialize, Default)]
pub struct NoticeParams {
    #[serde(default)]
    notice: String,
}

impl NoticeParams {
    pub fn notice(&self) -> Option<&'static str> {
        notice_text(&self.notice)
    }
}

fn notice_text(code: &str) -> Option<&'static str> {
    match code {
        "saved" => Some("Saved."),
        "signed" => Some("Signed. It is now locked; changes are added as addenda."),
        "addendum" => Some("Addendum added."),
        "rated" => Some("Progress recorded."),
        "sent" => Some("Sent to the client by email. The link works once; their answers arrive here."),
        _ => None,
    }
}

/// The record page of one record, ready for a kind to add to.
pub fn record_page<T: RecordPages>(
    layout: Layout,
    record: &Record<T>,
    choices: &Choices,
    errors: FieldErrors,
    notice: Option<&'static str>,
) -> RecordPage {
    let content = record.content.expose();
    let parts = T::parts(Some(content), choices);
    let values = record_forms::values_of(&parts, content);
    let shown = record_forms::shown(&parts, &values)
        .into_iter()
        .map(|s| {
            // Evidence sources show as links to the record they name.
            let link = choices.records.iter().find(|c| c.label == s.text).map(|c| c.href.clone());
            ShownField { label: s.label, text: s.text, link }
        })
        .collect();
    let signable = T::ACTIONS.sign.is_some();
    let state = match (signable, record.signed_at) {
        (_, Some(at)) => format!("Signed {}", when(at)),
        (true, None) => "Draft".to_owned(),
        (false, None) => format!("Last changed {}", when(record.updated_at)),
    };
    let picture = content.picture();
    RecordPage {
        layout,
        id: record.id.to_string(),
        client_id: record.client.to_string(),
        title: content.title(),
        name: T::NAME,
        name_title: capitalised(T::NAME),
        path: T::PATH,
        state,
        version: record.version,
        signable,
        signed: record.signed_at.is_some(),
        shown,
        picture_link: picture.as_ref().map(|_| format!("/{}/{}/diagram.svg", T::PATH, record.id)),
        picture,
        chart: None,
        charts: Vec::new(),
        sendable: T::SENT_TO_CLIENT,
        rate_form: Vec::new(),
        addenda: addenda_view(&record.addenda),
        addendum: String::new(),
        errors: errors.into(),
        notice,
    }
}

/// A record's addenda as the page lists them: when, and the text.
pub fn addenda_view(addenda: &[cbt_app::records::Addendum]) -> Vec<(String, String)> {
    addenda.iter().map(|a| (when(a.added_at), a.text.expose().clone())).collect()
}

pub fn capitalised(name: &str) -> String {
    let mut chars = name.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

pub async fn show<T: RecordPages>(
    State(state): State<WebState>,
    t: Therapist,
    Path(id): Path<String>,
    Query(params): Query<NoticeParams>,
) -> Result<Response, WebError> {
    let record = state.app.record::<T>(&t.account, id_or_404(&id)?, &t.ctx).await?;
    let choices = choices::<T>(&state, &t, record.client).await?;
    let page = record_page(t.layout, &record, &choices, FieldErrors::default(), notice_text(&params.notice));
    Ok(html(StatusCode::OK, page))
}

/// The record's picture on its own, to download, print or share.
pub async fn picture<T: RecordPages>(
    State(state): State<WebState>,
    t: Therapist,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let record = state.app.record::<T>(&t.account, id_or_404(&id)?, &t.ctx).await?;
    let svg = record.content.expose().picture().ok_or(WebError::NotFound)?;
    Ok(([("content-type", "image/svg+xml; charset=utf-8"), ("cache-control", "no-store")], svg).into_response())
}

#[derive(Deserialize)]
pub struct VersionForm {
    version: i64,
}

pub async fn sign<T: RecordPages>(
    State(state): State<WebState>,
    t: Therapist,
    Path(id): Path<String>,
    Form(form): Form<VersionForm>,
) -> Result<Response, WebError> {
    let id: RecordId = id_or_404(&id)?;
    match state.app.sign_record::<T>(&t.account, id, form.version, &t.ctx).await {
        Ok(_) => Ok(Redirect::to(&format!("/{}/{id}?notice=signed", T::PATH)).into_response()),
        Err(AppError::Invalid(errors)) => {
            let record = state.app.record::<T>(&t.account, id, &t.ctx).await?;
            let choices = choices::<T>(&state, &t, record.client).await?;
            let page = record_page(t.layout, &record, &choices, errors, None);
            Ok(html(StatusCode::UNPROCESSABLE_ENTITY, page))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct AddendumForm {
    #[serde(default)]
    text: String,
}

pub async fn add_addendum<T: RecordPages>(
    State(state): State<WebState>,
    t: Therapist,
    Path(id): Path<String>,
    Form(form): Form<AddendumForm>,
) -> Result<Response, WebError> {
    let id: RecordId = id_or_404(&id)?;
    match state.app.add_addendum::<T>(&t.account, id, &form.text, &t.ctx).await {
        Ok(_) => Ok(Redirect::to(&format!("/{}/{id}?notice=addendum", T::PATH)).into_response()),
        Err(AppError::Invalid(errors)) => {
            let record = state.app.record::<T>(&t.account, id, &t.ctx).await?;
            let choices = choices::<T>(&state, &t, record.client).await?;
            let mut page = record_page(t.layout, &record, &choices, errors, None);
            page.addendum = form.text;
            Ok(html(StatusCode::UNPROCESSABLE_ENTITY, page))
        }
        Err(e) => Err(e.into()),
    }
}

pub struct VersionRow {
    version: i64,
    changed_at: String,
    by: String,
    signed: bool,
    changes: Vec<Change>,
}

#[derive(Template)]
#[template(path = "record_history.html")]
struct HistoryPage {
    layout: Layout,
    id: String,
    client_id: String,
    title: String,
    path: &'static str,
    versions: Vec<VersionRow>,
}

pub async fn history<T: RecordPages>(
    State(state): State<WebState>,
    t: Therapist,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id: RecordId = id_or_404(&id)?;
    let versions = state.app.record_history::<T>(&t.account, id, &t.ctx).await?;
    let record = state.app.record::<T>(&t.account, id, &t.ctx).await?;
    let choices = choices::<T>(&state, &t, record.client).await?;
    let mut rows = Vec::with_capacity(versions.len());
    let mut previous: Option<Values> = None;
    for v in &versions {
        let parts = T::parts(Some(v.content.expose()), &choices);
        let values = record_forms::values_of(&parts, v.content.expose());
        let changes =
            previous.as_ref().map(|before| record_forms::changes(&parts, before, &values)).unwrap_or_default();
        let by = if v.changed_by == t.account.id { "you".to_owned() } else { "another account".to_owned() };
        rows.push(VersionRow { version: v.version, changed_at: when(v.changed_at), by, signed: v.signed, changes });
        previous = Some(values);
    }
    rows.reverse();
    let page = HistoryPage {
        layout: t.layout,
        id: id.to_string(),
        client_id: record.client.to_string(),
        title: record.content.expose().title(),
        path: T::PATH,
        versions: rows,
    };
    Ok(html(StatusCode::OK, page))
}
