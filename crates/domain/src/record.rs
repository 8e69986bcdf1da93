//! What every kind of clinical record has in common: its kind code, its
//! audit vocabulary, its rules for saving and signing, and the other
//! records it points at. Session notes, formulations, hypotheses,
//! treatment plans, goal progress and homework implement it; the
//! application keeps them all the same way (sealed, versioned, audited).

use serde::Serialize;
use serde::de::DeserializeOwned;
use time::Date;

use crate::audit::{AuditAction, TargetKind};
use crate::ids::RecordId;
use crate::validation::{FieldError, FieldErrors};

/// The audit actions of one kind of record.
#[derive(Clone, Copy, Debug)]
pub struct RecordActions {
    pub create: AuditAction,
    pub read: AuditAction,
    pub update: AuditAction,
    pub list: AuditAction,
    pub history: AuditAction,
    /// `None`: this kind is never signed.
    pub sign: Option<AuditAction>,
    pub addendum: Option<AuditAction>,
}

/// A record another record points at: it must be the same client's, of
/// one of these kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Link {
    pub id: RecordId,
    pub kinds: &'static [&'static str],
    /// The form field / JSON property that holds it, for the error.
    pub field: &'static str,
}

/// An entry of the client's index (`session_note::NoteIndex`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IndexEntry {
    Note(crate::session_note::IndexedNote),
    Result(crate::assessment::IndexedResult),
}

/// A kind of clinical record. All of its content is PHI, sealed as one
/// document per version.
pub trait ClinicalRecord:
    Serialize + DeserializeOwned + zeroize::Zeroize + Clone + std::fmt::Debug + Send + Sync + 'static
{
    /// Stored in the clear as the record's kind; part of the sealing
    /// context, so a document cannot be passed off as another kind.
    const KIND: &'static str;
    /// What the therapist calls one, e.g. "treatment plan".
    const NAME: &'static str;
    const TARGET: TargetKind;
    const ACTIONS: RecordActions;

    /// Checks (and tidies) a save; every problem at once.
    fn validated(self, today: Date) -> Result<Self, FieldErrors>;

    /// Its entry in the client's index, for kinds listed there (session
    /// notes, assessment results); `None` for the others.
    fn index_entry(&self, _id: RecordId, _signed: bool) -> Option<IndexEntry> {
        None
    }

    /// Takes from the saved version what a change may not alter (a
    /// homework's worksheet as assigned, a plan's goal numbers), before
    /// the change is validated.
    fn keep_from(&mut self, _saved: &Self) {}

    /// Whether it may be signed as it is. Kinds without signing refuse.
    fn ready_to_sign(&self) -> Result<(), FieldErrors> {
        Err(FieldError::new("version", format!("A {} is not signed.", Self::NAME)).into())
    }

    /// The records this one points at.
    fn links(&self) -> Vec<Link> {
        Vec::new()
    }

    /// The date it is about (a session's date, a rating's date), for
    /// ordering lists and the client's timeline.
    fn date(&self) -> Option<Date> {
        None
    }

    /// A short title for lists and the timeline.
    fn title(&self) -> String;
}

/// Tidies a free-text field in place: trimmed, at most `max` characters.
pub fn check_text(errors: &mut FieldErrors, field: &'static str, label: &str, text: &mut String, max: usize) {
    let trimmed = text.trim();
    if trimmed.len() != text.len() {
        *text = trimmed.to_owned();
    }
    if text.chars().count() > max {
        errors.push(FieldError::new(field, format!("Keep {label} under {max} characters.")));
    }
}

/// As `check_text`, and it must not be empty.
pub fn check_required(errors: &mut FieldErrors, field: &'static str, label: &str, text: &mut String, max: usize) {
    check_text(errors, field, label, text, max);
    if text.is_empty() {
        errors.push(FieldError::new(field, format!("Enter {label}.")));
    }
}

/// Longest provenance line, in characters.
pub const DRAFTED_WITH_MAX: usize = 200;

/// Checks a record's provenance line (what drafted text in it came from,
/// "AI: gpt-4o (Azure OpenAI), prompt formulation-v1"): one short line;
/// empty is none.
pub fn check_drafted_with(errors: &mut FieldErrors, drafted_with: &mut Option<String>) {
    if let Some(with) = drafted_with {
        *with = with.trim().to_owned();
        if with.chars().count() > DRAFTED_WITH_MAX || with.chars().any(char::is_control) {
            errors.push(FieldError::new("drafted_with", "Say in one short line what drafted the text."));
        }
    }
    if drafted_with.as_deref() == Some("") {
        *drafted_with = None;
    }
}

/// Dates on the wire and in the sealed document: `YYYY-MM-DD`.
pub mod iso_date {
    time::serde::format_description!(pub required, Date, "[year]-[month]-[day]");

    pub mod optional {
        use serde::{Deserialize, Deserializer, Serializer};
        use time::Date;

        pub fn serialize<S: Serializer>(date: &Option<Date>, s: S) -> Result<S::Ok, S::Error> {
            match date {
                Some(d) => super::required::serialize(d, s),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Date>, D::Error> {
            let text: Option<String> = Option::deserialize(d)?;
            match text.as_deref().map(str::trim) {
                None | Some("") => Ok(None),
                Some(t) => Date::parse(t, time::macros::format_description!("[year]-[month]-[day]"))
                    .map(Some)
                    .map_err(serde::de::Error::custom),
            }
        }
    }
}
