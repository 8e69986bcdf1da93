//! Session note pages: a new note from a template (SOAP, DAP, BIRP or free
//! text), the draft form, the note with its addenda, signing and adding an
//! addendum. A rejected form comes back as typed.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use cbt_app::AppError;
use cbt_app::session_notes::Note;
use cbt_domain::ids::{ClientId, RecordId};
use cbt_domain::session_note::{Attendance, IndexedNote, Modality, NoteBody, SessionNote};
use cbt_domain::validation::{FieldError, FieldErrors};
use serde::Deserialize;
use time::Date;

use crate::account_pages::{Errors, html};
use crate::auth::{Ctx, SignedIn, Visitor};
use crate::csrf::CsrfToken;
use crate::error::id_or_404;
use crate::pages::{ISO_DATE, Layout, when};
use crate::{WebError, WebState, record_pages};

pub const FORMATS: [(&str, &str); 4] = [("soap", "SOAP"), ("dap", "DAP"), ("birp", "BIRP"), ("free", "Free text")];
const MODALITIES: [(&str, &str); 3] = [("in_person", "In person"), ("video", "Video"), ("phone", "Phone")];
const ATTENDANCE: [(&str, &str); 4] = [
    ("attended", "Attended"),
    ("late_cancellation", "Late cancellation"),
    ("no_show", "No show"),
    ("cancelled_by_therapist", "Cancelled by therapist"),
];

pub(crate) fn section_label(name: &str) -> &'static str {
    match name {
        "subjective" => "Subjective",
        "objective" => "Objective",
        "assessment" => "Assessment",
        "plan" => "Plan",
        "data" => "Data",
        "behavior" => "Behaviour",
        "intervention" => "Intervention",
        "response" => "Response",
        _ => "Note",
    }
}

fn code<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

fn from_code<T: serde::de::DeserializeOwned>(code: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(code.to_owned())).ok()
}

/// The form as typed.
#[derive(Deserialize, Default, Clone)]
pub struct NoteForm {
    #[serde(default)]
    format: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    start_time: String,
    #[serde(default)]
    duration_minutes: String,
    #[serde(default)]
    modality: String,
    #[serde(default)]
    attendance: String,
    #[serde(default)]
    subjective: String,
    #[serde(default)]
    objective: String,
    #[serde(default)]
    assessment: String,
    #[serde(default)]
    plan: String,
    #[serde(default)]
    data: String,
    #[serde(default)]
    behavior: String,
    #[serde(default)]
    intervention: String,
    #[serde(default)]
    response: String,
    #[serde(default)]
    text: String,
    /// Provenance, carried unchanged through the form (a hidden field).
    #[serde(default)]
    pub(crate) drafted_with: String,
    #[serde(default)]
    version: i64,
}

/// One section's box on the form.
pub struct Section {
    name: &'static str,
    label: &'static str,
    value: String,
}

impl NoteForm {
    pub(crate) fn from_note(n: &SessionNote, version: i64) -> Self {
        let mut form = NoteForm {
            format: n.body.format().to_owned(),
            date: n.date.format(ISO_DATE).unwrap_or_default(),
            start_time: n.start_time.clone(),
            duration_minutes: if n.duration_minutes == 0 { String::new() } else { n.duration_minutes.to_string() },
            modality: code(&n.modality),
            attendance: code(&n.attendance),
            drafted_with: n.drafted_with.clone().unwrap_or_default(),
            version,
            ..NoteForm::default()
        };
        for (name, value) in n.body.sections() {
            *form.section_mut(name) = value.clone();
        }
        form
    }

    pub(crate) fn section_mut(&mut self, name: &str) -> &mut String {
        match name {
            "subjective" => &mut self.subjective,
            "objective" => &mut self.objective,
            "assessment" => &mut self.assessment,
            "plan" => &mut self.plan,
            "data" => &mut self.data,
            "behavior" => &mut self.behavior,
            "intervention" => &mut self.intervention,
            "response" => &mut self.response,
            _ => &mut self.text,
        }
    }

    fn body(&self) -> NoteBody {
        let t = |s: &String| s.clone();
        match self.format.as_str() {
            "dap" => NoteBody::Dap { data: t(&self.data), assessment: t(&self.assessment), plan: t(&self.plan) },
            "birp" => NoteBody::Birp {
                behavior: t(&self.behavior),
                intervention: t(&self.intervention),
                response: t(&self.response),
                plan: t(&self.plan),
            },
            "free" => NoteBody::Free { text: t(&self.text) },
            _ => NoteBody::Soap {
                subjective: t(&self.subjective),
                objective: t(&self.objective),
                assessment: t(&self.assessment),
                plan: t(&self.plan),
            },
        }
    }

    fn sections(&self) -> Vec<Section> {
        let mut copy = self.clone();
        self.body()
            .sections()
            .into_iter()
            .map(|(name, _)| Section { name, label: section_label(name), value: copy.section_mut(name).clone() })
            .collect()
    }

    /// The note, or what the form itself can see is wrong.
    fn note(&self) -> Result<SessionNote, FieldErrors> {
        let mut errors = FieldErrors::default();
        let date = errors.take(
            Date::parse(self.date.trim(), ISO_DATE)
                .map_err(|_| FieldError::new("date", "Enter the session date as YYYY-MM-DD.")),
        );
        let duration_minutes = match self.duration_minutes.trim() {
            "" => Some(0),
            text => errors.take(
                text.parse::<u16>()
                    .map_err(|_| FieldError::new("duration_minutes", "Enter the length in whole minutes, e.g. 50.")),
            ),
        };
        let modality: Option<Modality> = from_code(&self.modality).or(Some(Modality::InPerson));
        let attendance: Option<Attendance> = from_code(&self.attendance).or(Some(Attendance::Attended));
        errors.into_result()?;
        Ok(SessionNote {
            date: date.unwrap_or(Date::MIN),
            start_time: self.start_time.clone(),
            duration_minutes: duration_minutes.unwrap_or(0),
            modality: modality.unwrap_or_default(),
            attendance: attendance.unwrap_or_default(),
            body: self.body(),
            drafted_with: Some(self.drafted_with.clone()).filter(|w| !w.trim().is_empty()),
        })
    }
}

#[derive(Template)]
#[template(path = "note_form.html")]
struct FormPage {
    layout: Layout,
    client_id: String,
    /// `None`: a new note.
    note_id: Option<String>,
    form: NoteForm,
    sections: Vec<Section>,
    formats: [(&'static str, &'static str); 4],
    modalities: [(&'static str, &'static str); 3],
    attendance: [(&'static str, &'static str); 4],
    errors: Errors,
    notice: Option<&'static str>,
}

/// The client a form is for, and the note when it is a draft already.
pub(crate) type FormOf = (String, Option<RecordId>);

pub(crate) fn form_page(
    visitor: &Visitor,
    csrf: &CsrfToken,
    (client, note): FormOf,
    form: NoteForm,
    status: StatusCode,
    errors: FieldErrors,
    notice: Option<&'static str>,
) -> Response {
    let page = FormPage {
        layout: Layout::for_visitor("clients", visitor, csrf),
        client_id: client,
        note_id: note.map(|n| n.to_string()),
        sections: form.sections(),
        form,
        formats: FORMATS,
        modalities: MODALITIES,
        attendance: ATTENDANCE,
        errors: errors.into(),
        notice,
    };
    html(status, page)
}

#[derive(Deserialize, Default)]
pub struct NewParams {
    #[serde(default)]
    format: String,
    #[serde(default)]
    notice: String,
}

pub async fn new_form(
    State(state): State<WebState>,
    SignedIn(current): SignedIn,
    visitor: Visitor,
    csrf: axum::Extension<CsrfToken>,
    Ctx(ctx): Ctx,
    Path(client): Path<String>,
    Query(params): Query<NewParams>,
) -> Result<Response, WebError> {
    let id: ClientId = id_or_404(&client)?;
    // Only for one's own client (and audited as a read of it).
    state.app.client(&current.account, id, &ctx).await?;
    let format = FORMATS.iter().find(|(c, _)| *c == params.format).map_or("soap", |(c, _)| c);
    let today = time::OffsetDateTime::now_utc().date().format(ISO_DATE).unwrap_or_default();
    let form =
        NoteForm { format: format.to_owned(), date: today, duration_minutes: "50".into(), ..NoteForm::default() };
    Ok(form_page(&visitor, &csrf, (client, None), form, StatusCode::OK, FieldErrors::default(), None))
}

pub async fn create(
    State(state): State<WebState>,
    SignedIn(current): SignedIn,
    visitor: Visitor,
    csrf: axum::Extension<CsrfToken>,
    Ctx(ctx): Ctx,
    Path(client): Path<String>,
    Form(form): Form<NoteForm>,
) -> Response {
    let client_id: ClientId = match id_or_404(&client) {
        Ok(id) => id,
        Err(e) => return e.into_response(),
    };
    let result = match form.note() {
        Ok(note) => state.app.create_record(&current.account, client_id, note, &ctx).await,
        Err(errors) => Err(AppError::Invalid(errors)),
    };
    match result {
        Ok(id) => Redirect::to(&format!("/notes/{id}/edit?notice=saved")).into_response(),
        Err(AppError::Invalid(errors)) => {
            form_page(&visitor, &csrf, (client, None), form, StatusCode::UNPROCESSABLE_ENTITY, errors, None)
        }
        Err(e) => WebError::from(e).into_response(),
    }
}

pub async fn edit_form(
    State(state): State<WebState>,
    SignedIn(current): SignedIn,
    visitor: Visitor,
    csrf: axum::Extension<CsrfToken>,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    Query(params): Query<NewParams>,
) -> Result<Response, WebError> {
    let id: RecordId = id_or_404(&id)?;
    let note = state.app.record::<SessionNote>(&current.account, id, &ctx).await?;
    if note.signed_at.is_some() {
        return Ok(Redirect::to(&format!("/notes/{id}")).into_response());
    }
    let notice = (params.notice == "saved").then_some("Draft saved.");
    let form = NoteForm::from_note(note.content.expose(), note.version);
    let client = note.client.to_string();
    Ok(form_page(&visitor, &csrf, (client, Some(id)), form, StatusCode::OK, FieldErrors::default(), notice))
}

/// Marks a save sent by the page's autosave (app.js): answered 204 with the
/// new version in `X-Version` instead of a redirect.
const AUTOSAVE: &str = "x-autosave";

#[allow(clippy::too_many_arguments, reason = "one extractor each, as axum hands them over")]
pub async fn save(
    State(state): State<WebState>,
    SignedIn(current): SignedIn,
    visitor: Visitor,
    csrf: axum::Extension<CsrfToken>,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
    Form(form): Form<NoteForm>,
) -> Response {
    let id: RecordId = match id_or_404(&id) {
        Ok(id) => id,
        Err(e) => return e.into_response(),
    };
    let result = match form.note() {
        Ok(note) => state.app.update_record(&current.account, id, form.version, note, &ctx).await,
        Err(errors) => Err(AppError::Invalid(errors)),
    };
    if headers.contains_key(AUTOSAVE) {
        return match result {
            Ok(version) => (StatusCode::NO_CONTENT, [("x-version", version.to_string())]).into_response(),
            Err(AppError::Invalid(_)) => StatusCode::UNPROCESSABLE_ENTITY.into_response(),
            Err(e) => WebError::from(e).into_response(),
        };
    }
    let client = || async {
        state
            .app
            .record::<SessionNote>(&current.account, id, &ctx)
            .await
            .map(|n| n.client.to_string())
            .unwrap_or_default()
    };
    match result {
        Ok(_) => Redirect::to(&format!("/notes/{id}/edit?notice=saved")).into_response(),
        Err(AppError::Invalid(errors)) => {
            form_page(&visitor, &csrf, (client().await, Some(id)), form, StatusCode::UNPROCESSABLE_ENTITY, errors, None)
        }
        Err(AppError::Conflict) => {
            let mut errors = FieldErrors::default();
            errors.push(FieldError::new(
                "version",
                "This draft was saved elsewhere since you opened it. Nothing was saved here: copy what you need, then reload.",
            ));
            form_page(&visitor, &csrf, (client().await, Some(id)), form, StatusCode::CONFLICT, errors, None)
        }
        Err(e) => WebError::from(e).into_response(),
    }
}

#[derive(Deserialize)]
pub struct VersionForm {
    version: i64,
}

pub async fn sign(
    State(state): State<WebState>,
    SignedIn(current): SignedIn,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    Form(form): Form<VersionForm>,
) -> Result<Response, WebError> {
    let id: RecordId = id_or_404(&id)?;
    match state.app.sign_record::<SessionNote>(&current.account, id, form.version, &ctx).await {
        Ok(_) => Ok(Redirect::to(&format!("/notes/{id}?notice=signed")).into_response()),
        Err(AppError::Invalid(_)) => Ok(Redirect::to(&format!("/notes/{id}?notice=empty")).into_response()),
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "note.html")]
struct NotePage {
    layout: Layout,
    id: String,
    client_id: String,
    title: String,
    format: &'static str,
    meta: String,
    sections: Vec<Section>,
    /// Provenance: what drafted text in it came from.
    drafted_with: Option<String>,
    signed_at: Option<String>,
    version: i64,
    path: &'static str,
    addenda: Vec<(String, String)>,
    addendum: String,
    errors: Errors,
    notice: Option<&'static str>,
}

fn note_page(
    visitor: &Visitor,
    csrf: &CsrfToken,
    note: &Note,
    addendum: String,
    errors: FieldErrors,
    notice: Option<&'static str>,
    status: StatusCode,
) -> Response {
    let n = note.content.expose();
    let form = NoteForm::from_note(n, note.version);
    let label = |list: &[(&'static str, &'static str)], code: &str| {
        list.iter().find(|(c, _)| *c == code).map_or("", |(_, l)| l)
    };
    let mut meta = vec![label(&MODALITIES, &form.modality).to_owned(), label(&ATTENDANCE, &form.attendance).to_owned()];
    if !n.start_time.is_empty() {
        meta.insert(0, n.start_time.clone());
    }
    if n.duration_minutes > 0 {
        meta.push(format!("{} minutes", n.duration_minutes));
    }
    let page = NotePage {
        layout: Layout::for_visitor("clients", visitor, csrf),
        id: note.id.to_string(),
        client_id: note.client.to_string(),
        title: format!("Session note, {}", form.date),
        format: FORMATS.iter().find(|(c, _)| *c == form.format).map_or("SOAP", |(_, l)| l),
        meta: meta.join(" · "),
        sections: form.sections(),
        drafted_with: n.drafted_with.clone(),
        signed_at: note.signed_at.map(when),
        version: note.version,
        path: "notes",
        addenda: record_pages::addenda_view(&note.addenda),
        addendum,
        errors: errors.into(),
        notice,
    };
    html(status, page)
}

pub async fn show(
    State(state): State<WebState>,
    SignedIn(current): SignedIn,
    visitor: Visitor,
    csrf: axum::Extension<CsrfToken>,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    Query(params): Query<NewParams>,
) -> Result<Response, WebError> {
    let note = state.app.record::<SessionNote>(&current.account, id_or_404(&id)?, &ctx).await?;
    let notice = match params.notice.as_str() {
        "signed" => Some("Signed. The note is now locked; changes are added as addenda."),
        "empty" => Some("Write the note before signing it."),
        "addendum" => Some("Addendum added."),
        _ => None,
    };
    Ok(note_page(&visitor, &csrf, &note, String::new(), FieldErrors::default(), notice, StatusCode::OK))
}

#[derive(Deserialize)]
pub struct AddendumForm {
    #[serde(default)]
    text: String,
}

pub async fn add_addendum(
    State(state): State<WebState>,
    SignedIn(current): SignedIn,
    visitor: Visitor,
    csrf: axum::Extension<CsrfToken>,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    Form(form): Form<AddendumForm>,
) -> Result<Response, WebError> {
    let id: RecordId = id_or_404(&id)?;
    match state.app.add_addendum::<SessionNote>(&current.account, id, &form.text, &ctx).await {
        Ok(_) => Ok(Redirect::to(&format!("/notes/{id}?notice=addendum")).into_response()),
        Err(AppError::Invalid(errors)) => {
            let note = state.app.record::<SessionNote>(&current.account, id, &ctx).await?;
            Ok(note_page(&visitor, &csrf, &note, form.text, errors, None, StatusCode::UNPROCESSABLE_ENTITY))
        }
        Err(e) => Err(e.into()),
    }
}

/// A line of the client's notes, on the client page.
pub struct NoteRow {
    pub id: String,
    pub date: String,
    pub format: &'static str,
    pub signed: bool,
}

impl From<&IndexedNote> for NoteRow {
    fn from(n: &IndexedNote) -> Self {
        NoteRow {
            id: n.id.to_string(),
            date: n.date.format(ISO_DATE).unwrap_or_default(),
            format: FORMATS.iter().find(|(f, _)| *f == n.format).map_or("SOAP", |(_, l)| l),
            signed: n.signed,
        }
    }
}

#[derive(Template)]
#[template(path = "private_note.html")]
struct PrivatePage {
    layout: Layout,
    id: String,
    version: i64,
    text: String,
    errors: Errors,
    notice: Option<&'static str>,
}

/// The psychotherapy note of a session, on a page of its own: it is not
/// shown with the progress note.
pub async fn private_form(
    State(state): State<WebState>,
    SignedIn(current): SignedIn,
    visitor: Visitor,
    csrf: axum::Extension<CsrfToken>,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    Query(params): Query<NewParams>,
) -> Result<Response, WebError> {
    let id: RecordId = id_or_404(&id)?;
    let (content, version) = state.app.psychotherapy_note(&current.account, id, &ctx).await?;
    let page = PrivatePage {
        layout: Layout::for_visitor("clients", &visitor, &csrf),
        id: id.to_string(),
        version,
        text: content.expose().text.clone(),
        errors: FieldErrors::default().into(),
        notice: (params.notice == "saved").then_some("Saved."),
    };
    Ok(html(StatusCode::OK, page))
}

#[derive(Deserialize)]
pub struct PrivateForm {
    #[serde(default)]
    version: i64,
    #[serde(default)]
    text: String,
}

pub async fn save_private(
    State(state): State<WebState>,
    SignedIn(current): SignedIn,
    visitor: Visitor,
    csrf: axum::Extension<CsrfToken>,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    Form(form): Form<PrivateForm>,
) -> Result<Response, WebError> {
    let id: RecordId = id_or_404(&id)?;
    let errors =
        match state.app.save_psychotherapy_note(&current.account, id, form.version, form.text.clone(), &ctx).await {
            Ok(_) => return Ok(Redirect::to(&format!("/notes/{id}/private?notice=saved")).into_response()),
            Err(AppError::Invalid(errors)) => errors,
            Err(AppError::Conflict) => {
                let mut errors = FieldErrors::default();
                errors
                    .push(FieldError::new("text", "Saved elsewhere since you opened it: copy your text, then reload."));
                errors
            }
            Err(e) => return Err(e.into()),
        };
    let page = PrivatePage {
        layout: Layout::for_visitor("clients", &visitor, &csrf),
        id: id.to_string(),
        version: form.version,
        text: form.text,
        errors: errors.into(),
        notice: None,
    };
    Ok(html(StatusCode::UNPROCESSABLE_ENTITY, page))
}
