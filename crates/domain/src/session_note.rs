//! Session notes: what happened in a session, in the format the therapist
//! chose (SOAP, DAP, BIRP or free text). A note is a draft until signed;
//! a signed note is locked and takes only addenda.

use serde::{Deserialize, Serialize};
use time::Date;

use crate::audit::{AuditAction, TargetKind};
use crate::record::RecordActions;
use crate::validation::{FieldError, FieldErrors};

time::serde::format_description!(iso_date, Date, "[year]-[month]-[day]");

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Modality {
    #[default]
    InPerson,
    Video,
    Phone,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Attendance {
    #[default]
    Attended,
    LateCancellation,
    NoShow,
    CancelledByTherapist,
}

/// The note's body, by format, each with its own sections.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "format", rename_all = "snake_case", deny_unknown_fields)]
pub enum NoteBody {
    Soap {
        #[serde(default)]
        subjective: String,
        #[serde(default)]
        objective: String,
        #[serde(default)]
        assessment: String,
        #[serde(default)]
        plan: String,
    },
    Dap {
        #[serde(default)]
        data: String,
        #[serde(default)]
        assessment: String,
        #[serde(default)]
        plan: String,
    },
    Birp {
        #[serde(default)]
        behavior: String,
        #[serde(default)]
        intervention: String,
        #[serde(default)]
        response: String,
        #[serde(default)]
        plan: String,
    },
    Free {
        #[serde(default)]
        text: String,
    },
}

impl Default for NoteBody {
    fn default() -> Self {
        NoteBody::Soap {
            subjective: String::new(),
            objective: String::new(),
            assessment: String::new(),
            plan: String::new(),
        }
    }
}

impl NoteBody {
    /// The sections, named as the form and the API name them.
    pub fn sections(&self) -> Vec<(&'static str, &String)> {
        match self {
            NoteBody::Soap { subjective, objective, assessment, plan } => {
                vec![("subjective", subjective), ("objective", objective), ("assessment", assessment), ("plan", plan)]
            }
            NoteBody::Dap { data, assessment, plan } => {
                vec![("data", data), ("assessment", assessment), ("plan", plan)]
            }
            NoteBody::Birp { behavior, intervention, response, plan } => {
                vec![("behavior", behavior), ("intervention", intervention), ("response", response), ("plan", plan)]
            }
            NoteBody::Free { text } => vec![("text", text)],
        }
    }

    fn sections_mut(&mut self) -> Vec<&mut String> {
        match self {
            NoteBody::Soap { subjective, objective, assessment, plan } => vec![subjective, objective, assessment, plan],
            NoteBody::Dap { data, assessment, plan } => vec![data, assessment, plan],
            NoteBody::Birp { behavior, intervention, response, plan } => vec![behavior, intervention, response, plan],
            NoteBody::Free { text } => vec![text],
        }
    }

    pub fn format(&self) -> &'static str {
        match self {
            NoteBody::Soap { .. } => "soap",
            NoteBody::Dap { .. } => "dap",
            NoteBody::Birp { .. } => "birp",
            NoteBody::Free { .. } => "free",
        }
    }
}

/// A session note. All of it is PHI, sealed as one document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SessionNote {
    #[serde(with = "iso_date")]
    pub date: Date,
    /// `HH:MM`, optional.
    #[serde(default)]
    pub start_time: String,
    #[serde(default)]
    pub duration_minutes: u16,
    #[serde(default)]
    pub modality: Modality,
    #[serde(default)]
    pub attendance: Attendance,
    #[serde(default)]
    pub body: NoteBody,
    /// Provenance: what drafted text in this version came from, when the
    /// therapist took a suggestion into it ("AI: gpt-4o (Azure OpenAI),
    /// prompt session-note-v1", "rule-based drafting"). Kept in every later
    /// version, since the text stays in the note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drafted_with: Option<String>,
}

pub use crate::record::DRAFTED_WITH_MAX;

impl zeroize::Zeroize for SessionNote {
    fn zeroize(&mut self) {
        self.start_time.zeroize();
        for s in self.body.sections_mut() {
            s.zeroize();
        }
    }
}

/// Longest section, in characters.
pub const SECTION_MAX: usize = 50_000;
/// Longest addendum, in characters.
pub const ADDENDUM_MAX: usize = 20_000;

impl SessionNote {
    /// Checks a draft (which may still be empty); every problem at once.
    pub fn validated(mut self, today: Date) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        if self.date > today.next_day().unwrap_or(today) {
            errors.push(FieldError::new("date", "A session note cannot be dated in the future."));
        }
        self.start_time = self.start_time.trim().to_owned();
        if !self.start_time.is_empty() {
            let ok = time::Time::parse(&self.start_time, time::macros::format_description!("[hour]:[minute]")).is_ok();
            if !ok {
                errors.push(FieldError::new("start_time", "Enter the time as HH:MM, e.g. 14:30, or leave it empty."));
            }
        }
        crate::record::check_drafted_with(&mut errors, &mut self.drafted_with);
        if self.duration_minutes > 600 {
            errors.push(FieldError::new("duration_minutes", "A session lasts at most 600 minutes."));
        }
        for (name, text) in self.body.sections() {
            if text.chars().count() > SECTION_MAX {
                let field = crate::session_note::field_name(name);
                errors.push(FieldError::new(field, format!("Keep each section under {SECTION_MAX} characters.")));
            }
        }
        errors.into_result().map(|()| self)
    }

    /// A note may be signed once something is written in it.
    pub fn ready_to_sign(&self) -> Result<(), FieldErrors> {
        if self.body.sections().iter().all(|(_, t)| t.trim().is_empty()) {
            let mut errors = FieldErrors::default();
            errors.push(FieldError::new("body", "Write the note before signing it."));
            return Err(errors);
        }
        Ok(())
    }
}

/// What the client page lists of one session note.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexedNote {
    pub id: crate::ids::RecordId,
    #[serde(with = "iso_date")]
    pub date: Date,
    /// `soap`, `dap`, `birp` or `free`.
    pub format: String,
    pub signed: bool,
}

/// A client's session notes and assessment results as the client page
/// lists and charts them, oldest written first: one sealed document per
/// client, written in the same transaction as each note's and result's
/// versions, so the page opens it instead of every record.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoteIndex {
    pub notes: Vec<IndexedNote>,
    /// Absent from indexes written before there were assessments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub results: Vec<crate::assessment::IndexedResult>,
}

impl NoteIndex {
    /// The sealed document's kind (part of its sealing context).
    pub const KIND: &'static str = "note_index";

    /// The kinds of record the index lists.
    pub const KINDS: [&'static str; 2] = [
        <SessionNote as crate::record::ClinicalRecord>::KIND,
        <crate::assessment::AssessmentResult as crate::record::ClinicalRecord>::KIND,
    ];

    /// Puts an entry in, in place of the one it replaces.
    pub fn put(&mut self, entry: crate::record::IndexEntry) {
        use crate::record::IndexEntry;
        match entry {
            IndexEntry::Note(note) => match self.notes.iter_mut().find(|n| n.id == note.id) {
                Some(old) => *old = note,
                None => self.notes.push(note),
            },
            IndexEntry::Result(result) => match self.results.iter_mut().find(|r| r.id == result.id) {
                Some(old) => *old = result,
                None => self.results.push(result),
            },
        }
    }

    /// Assessment results by the date taken, then as written.
    pub fn results_oldest_first(&self) -> Vec<crate::assessment::IndexedResult> {
        let mut results = self.results.clone();
        results.sort_by_key(|r| r.taken_on);
        results
    }

    /// Newest session first; notes of one day, the one written last first.
    pub fn newest_first(&self) -> Vec<IndexedNote> {
        let mut notes: Vec<(usize, &IndexedNote)> = self.notes.iter().enumerate().collect();
        notes.sort_by_key(|(written, n)| std::cmp::Reverse((n.date, *written)));
        notes.into_iter().map(|(_, n)| n.clone()).collect()
    }
}

impl zeroize::Zeroize for NoteIndex {
    fn zeroize(&mut self) {
        for n in &mut self.notes {
            n.format.zeroize();
        }
        self.notes.clear();
        self.results.iter_mut().for_each(zeroize::Zeroize::zeroize);
        self.results.clear();
    }
}

impl SessionNote {
    /// The note's entry in its client's index.
    pub fn indexed(&self, id: crate::ids::RecordId, signed: bool) -> IndexedNote {
        IndexedNote { id, date: self.date, format: self.body.format().to_owned(), signed }
    }
}

impl crate::record::ClinicalRecord for SessionNote {
    const KIND: &'static str = "session_note";
    const NAME: &'static str = "session note";
    const TARGET: TargetKind = TargetKind::SessionNote;
    const ACTIONS: RecordActions = RecordActions {
        create: AuditAction::NoteCreated,
        read: AuditAction::NoteRead,
        update: AuditAction::NoteUpdated,
        list: AuditAction::NotesListed,
        history: AuditAction::NoteHistoryRead,
        sign: Some(AuditAction::NoteSigned),
        addendum: Some(AuditAction::NoteAddendumAdded),
    };

    fn validated(self, today: Date) -> Result<Self, FieldErrors> {
        SessionNote::validated(self, today)
    }

    fn ready_to_sign(&self) -> Result<(), FieldErrors> {
        SessionNote::ready_to_sign(self)
    }

    fn date(&self) -> Option<Date> {
        Some(self.date)
    }

    fn title(&self) -> String {
        "Session note".to_owned()
    }

    fn index_entry(&self, id: crate::ids::RecordId, signed: bool) -> Option<crate::record::IndexEntry> {
        Some(crate::record::IndexEntry::Note(self.indexed(id, signed)))
    }
}

/// Field names are `'static`: map a section to its name.
fn field_name(section: &str) -> &'static str {
    match section {
        "subjective" => "subjective",
        "objective" => "objective",
        "assessment" => "assessment",
        "plan" => "plan",
        "data" => "data",
        "behavior" => "behavior",
        "intervention" => "intervention",
        "response" => "response",
        _ => "text",
    }
}

/// Checks an addendum's text.
pub fn validated_addendum(text: &str) -> Result<String, FieldErrors> {
    let text = text.trim();
    let mut errors = FieldErrors::default();
    if text.is_empty() {
        errors.push(FieldError::new("text", "Write the addendum."));
    } else if text.chars().count() > ADDENDUM_MAX {
        errors.push(FieldError::new("text", format!("Keep an addendum under {ADDENDUM_MAX} characters.")));
    }
    errors.into_result().map(|()| text.to_owned())
}

/// The therapist's psychotherapy notes about a session: kept apart from
/// the progress note (HIPAA's "psychotherapy notes"), never part of the
/// note's body, so exports and AI drafting, which read only the note,
/// cannot include them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PsychotherapyNote {
    /// The session note it belongs to.
    pub session_note: crate::ids::RecordId,
    #[serde(default)]
    pub text: String,
}

impl zeroize::Zeroize for PsychotherapyNote {
    fn zeroize(&mut self) {
        self.text.zeroize();
    }
}

impl PsychotherapyNote {
    pub fn validated(mut self) -> Result<Self, FieldErrors> {
        self.text = self.text.trim().to_owned();
        if self.text.chars().count() > SECTION_MAX {
            let mut errors = FieldErrors::default();
            errors.push(FieldError::new("text", format!("Keep it under {SECTION_MAX} characters.")));
            return Err(errors);
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    #[test]
    fn formats_have_their_own_sections_and_unknown_fields_are_refused() {
        let note: SessionNote = serde_json::from_str(
            r#"{"date":"2026-11-20","body":{"format":"dap","data":"Reported low mood","plan":"Activity schedule"}}"#,
        )
        .unwrap();
        assert_eq!(note.body.format(), "dap");
        assert_eq!(note.body.sections()[0], ("data", &"Reported low mood".to_owned()));
        let err =
            serde_json::from_str::<SessionNote>(r#"{"date":"2026-11-20","body":{"format":"dap","subjective":"x"}}"#);
        assert!(err.is_err(), "a SOAP section in a DAP note");
        let err = serde_json::from_str::<SessionNote>(r#"{"date":"2026-11-20","signed":true}"#);
        assert!(err.is_err(), "no mass assignment");
    }

    #[test]
    fn checklist_38_drafts_are_checked_field_by_field() {
        let note = SessionNote {
            date: date!(2026 - 12 - 30),
            start_time: "25:99".into(),
            duration_minutes: 601,
            modality: Modality::Video,
            attendance: Attendance::Attended,
            body: NoteBody::Free { text: "x".repeat(SECTION_MAX + 1) },
            drafted_with: Some("AI\u{7}".into()),
        };
        let errors = note.validated(date!(2026 - 11 - 24)).unwrap_err();
        let fields: Vec<&str> = errors.0.iter().map(|e| e.field).collect();
        assert_eq!(fields, vec!["date", "start_time", "drafted_with", "duration_minutes", "text"]);
        let empty = SessionNote {
            date: date!(2026 - 11 - 24),
            start_time: String::new(),
            duration_minutes: 50,
            modality: Modality::InPerson,
            attendance: Attendance::Attended,
            body: NoteBody::default(),
            drafted_with: None,
        };
        assert!(empty.clone().validated(date!(2026 - 11 - 24)).is_ok(), "an empty draft saves");
        assert!(empty.ready_to_sign().is_err(), "but is not signed");
        assert!(validated_addendum("  ").is_err());
    }
}
