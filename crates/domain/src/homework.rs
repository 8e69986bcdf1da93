//! Worksheets and homework. The library holds the classic CBT worksheets;
//! a therapist adds custom ones. Homework assigns a worksheet to a client
//! with instructions and a due date; the worksheet is copied into the
//! assignment, so later edits to a custom worksheet never change what was
//! assigned or answered. Completion is recorded by the therapist.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::Date;

use crate::audit::{AuditAction, TargetKind};
use crate::record::{ClinicalRecord, RecordActions, check_required, check_text, iso_date};
use crate::validation::{FieldError, FieldErrors};

/// How one worksheet field is answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AnswerKind {
    /// One line.
    Text,
    /// A paragraph.
    LongText,
    /// A whole number from 0 to 100 (belief, distress, SUDS).
    Rating,
    /// Ticked or not.
    Check,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WorksheetField {
    /// Stable within the worksheet: answers are kept under it.
    pub key: String,
    pub label: String,
    pub kind: AnswerKind,
}

/// A worksheet: its title, what it is for, and its fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Worksheet {
    pub title: String,
    #[serde(default)]
    pub purpose: String,
    pub fields: Vec<WorksheetField>,
}

impl zeroize::Zeroize for Worksheet {
    fn zeroize(&mut self) {
        self.title.zeroize();
        self.purpose.zeroize();
        for f in &mut self.fields {
            f.label.zeroize();
        }
    }
}

pub const FIELDS_MAX: usize = 60;

fn field(key: &str, label: &str, kind: AnswerKind) -> WorksheetField {
    WorksheetField { key: key.into(), label: label.into(), kind }
}

/// The built-in worksheets, by key.
pub fn library() -> Vec<(&'static str, Worksheet)> {
    use AnswerKind::{Check, LongText, Rating, Text};
    let thought_record = Worksheet {
        title: "Thought record (seven columns)".into(),
        purpose: "Catch an automatic thought in a difficult moment, weigh the evidence, and find a balanced view."
            .into(),
        fields: vec![
            field("situation", "1. Situation: who, what, when, where?", LongText),
            field("moods", "2. Moods: what did you feel?", Text),
            field("mood_rating", "Strongest mood, how intense (0–100)", Rating),
            field(
                "automatic_thoughts",
                "3. Automatic thoughts: what went through your mind? Mark the hot thought.",
                LongText,
            ),
            field("evidence_for", "4. Evidence that supports the hot thought", LongText),
            field("evidence_against", "5. Evidence that does not support the hot thought", LongText),
            field("balanced_thought", "6. Alternative or balanced thought", LongText),
            field("belief_in_balanced", "How much do you believe the balanced thought (0–100)", Rating),
            field("mood_now", "7. Rate the mood again now (0–100)", Rating),
        ],
    };
    let mut days = Vec::new();
    for (key, day) in [
        ("mon", "Monday"),
        ("tue", "Tuesday"),
        ("wed", "Wednesday"),
        ("thu", "Thursday"),
        ("fri", "Friday"),
        ("sat", "Saturday"),
        ("sun", "Sunday"),
    ] {
        days.push(WorksheetField {
            key: format!("{key}_activities"),
            label: format!("{day}: activities, hour by hour"),
            kind: LongText,
        });
        days.push(WorksheetField {
            key: format!("{key}_pleasure"),
            label: format!("{day}: pleasure (0–100)"),
            kind: Rating,
        });
        days.push(WorksheetField {
            key: format!("{key}_mastery"),
            label: format!("{day}: mastery (0–100)"),
            kind: Rating,
        });
    }
    days.push(field("pattern", "What did you notice about activity and mood?", LongText));
    let activity_schedule = Worksheet {
        title: "Activity schedule (behavioural activation)".into(),
        purpose: "Record what you do each day and how much pleasure and mastery it brings, to plan more of what helps."
            .into(),
        fields: days,
    };
    let mut steps = vec![field("feared_situation", "The fear this hierarchy works on", LongText)];
    for n in 1..=10 {
        steps.push(WorksheetField { key: format!("step{n}"), label: format!("Step {n} (easiest first)"), kind: Text });
        steps.push(WorksheetField {
            key: format!("step{n}_suds"),
            label: format!("Step {n}: expected distress (SUDS 0–100)"),
            kind: Rating,
        });
    }
    let exposure_hierarchy = Worksheet {
        title: "Exposure hierarchy".into(),
        purpose: "List feared situations from least to most distressing, to face them step by step.".into(),
        fields: steps,
    };
    let mut distortions = Vec::new();
    for (key, name) in [
        ("all_or_nothing", "All-or-nothing thinking"),
        ("overgeneralising", "Overgeneralising"),
        ("mental_filter", "Mental filter"),
        ("disqualifying_positive", "Disqualifying the positive"),
        ("mind_reading", "Mind reading"),
        ("fortune_telling", "Fortune telling"),
        ("catastrophising", "Catastrophising (magnifying or minimising)"),
        ("emotional_reasoning", "Emotional reasoning"),
        ("should_statements", "Should statements"),
        ("labelling", "Labelling"),
        ("personalisation", "Personalisation and blame"),
    ] {
        distortions.push(WorksheetField { key: key.into(), label: name.into(), kind: Check });
        distortions.push(WorksheetField {
            key: format!("{key}_example"),
            label: format!("{name}: an example"),
            kind: Text,
        });
    }
    let distortions_checklist = Worksheet {
        title: "Cognitive distortions checklist".into(),
        purpose: "Tick the thinking traps you noticed this week and write down an example of each.".into(),
        fields: distortions,
    };
    let core_belief = Worksheet {
        title: "Core belief worksheet".into(),
        purpose: "Weigh an old core belief against a new, more helpful one, and collect evidence for the new one."
            .into(),
        fields: vec![
            field("old_belief", "Old core belief", Text),
            field("old_belief_now", "How much do you believe it now (0–100)", Rating),
            field("old_belief_worst", "At its strongest this week (0–100)", Rating),
            field("new_belief", "New core belief", Text),
            field("new_belief_now", "How much do you believe the new belief now (0–100)", Rating),
            field(
                "evidence_against_old",
                "Evidence that contradicts the old belief and supports the new one",
                LongText,
            ),
            field("evidence_reframed", "Evidence that supports the old belief, seen another way", LongText),
        ],
    };
    vec![
        ("thought_record", thought_record),
        ("activity_schedule", activity_schedule),
        ("exposure_hierarchy", exposure_hierarchy),
        ("cognitive_distortions", distortions_checklist),
        ("core_belief", core_belief),
    ]
}

/// One built-in worksheet.
pub fn from_library(key: &str) -> Option<Worksheet> {
    library().into_iter().find(|(k, _)| *k == key).map(|(_, w)| w)
}

impl Worksheet {
    /// A custom worksheet from its title, purpose and field lines: one
    /// field per line, ending in `[long]`, `[rating]` or `[check]` for
    /// other answers than one line of text.
    pub fn custom(title: &str, purpose: &str, field_lines: &str) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let mut title = title.to_owned();
        let mut purpose = purpose.to_owned();
        check_required(&mut errors, "title", "a title", &mut title, 200);
        check_text(&mut errors, "purpose", "the purpose", &mut purpose, 2_000);
        let mut fields = Vec::new();
        for line in field_lines.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let (label, kind) = match line.rsplit_once('[') {
                Some((label, tag)) if tag.ends_with(']') => {
                    let kind = match tag.trim_end_matches(']').trim().to_ascii_lowercase().as_str() {
                        "long" => AnswerKind::LongText,
                        "rating" => AnswerKind::Rating,
                        "check" => AnswerKind::Check,
                        "text" => AnswerKind::Text,
                        _ => {
                            errors
                                .push(FieldError::new("fields", "End a line in [long], [rating], [check] or nothing."));
                            AnswerKind::Text
                        }
                    };
                    (label.trim(), kind)
                }
                _ => (line, AnswerKind::Text),
            };
            if label.chars().count() > 300 {
                errors.push(FieldError::new("fields", "Keep each field's label under 300 characters."));
            }
            fields.push(WorksheetField { key: format!("f{}", fields.len() + 1), label: label.to_owned(), kind });
        }
        if fields.is_empty() {
            errors.push(FieldError::new("fields", "Add at least one field, one per line."));
        }
        if fields.len() > FIELDS_MAX {
            errors.push(FieldError::new("fields", format!("Keep to {FIELDS_MAX} fields.")));
        }
        errors.into_result().map(|()| Worksheet { title, purpose, fields })
    }

    /// The field lines `custom` reads, for editing.
    pub fn field_lines(&self) -> String {
        self.fields
            .iter()
            .map(|f| match f.kind {
                AnswerKind::Text => f.label.clone(),
                AnswerKind::LongText => format!("{} [long]", f.label),
                AnswerKind::Rating => format!("{} [rating]", f.label),
                AnswerKind::Check => format!("{} [check]", f.label),
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum HomeworkStatus {
    #[default]
    Assigned,
    Completed,
    PartlyCompleted,
    NotCompleted,
}

impl HomeworkStatus {
    pub const ALL: [HomeworkStatus; 4] = [Self::Assigned, Self::Completed, Self::PartlyCompleted, Self::NotCompleted];

    pub fn code(self) -> &'static str {
        match self {
            Self::Assigned => "assigned",
            Self::Completed => "completed",
            Self::PartlyCompleted => "partly_completed",
            Self::NotCompleted => "not_completed",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Assigned => "Assigned",
            Self::Completed => "Completed",
            Self::PartlyCompleted => "Partly completed",
            Self::NotCompleted => "Not completed",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }
}

/// Homework: a worksheet assigned to a client, and what came back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Homework {
    /// A copy of the worksheet as assigned.
    pub worksheet: Worksheet,
    /// Where it came from: a library key or a custom worksheet's id.
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub instructions: String,
    #[serde(with = "iso_date::required")]
    pub assigned_on: Date,
    #[serde(default, with = "iso_date::optional")]
    pub due_on: Option<Date>,
    #[serde(default)]
    pub status: HomeworkStatus,
    /// Answers by field key.
    #[serde(default)]
    pub responses: BTreeMap<String, String>,
    #[serde(default)]
    pub review_notes: String,
}

impl zeroize::Zeroize for Homework {
    fn zeroize(&mut self) {
        self.worksheet.zeroize();
        self.instructions.zeroize();
        self.review_notes.zeroize();
        for v in self.responses.values_mut() {
            v.zeroize();
        }
    }
}

impl ClinicalRecord for Homework {
    const KIND: &'static str = "homework";
    const NAME: &'static str = "homework";
    const TARGET: TargetKind = TargetKind::Homework;
    const ACTIONS: RecordActions = RecordActions {
        create: AuditAction::HomeworkAssigned,
        read: AuditAction::HomeworkRead,
        update: AuditAction::HomeworkUpdated,
        list: AuditAction::HomeworkListed,
        history: AuditAction::HomeworkHistoryRead,
        sign: None,
        addendum: None,
    };

    /// The worksheet is kept exactly as it was assigned: answers are
    /// recorded against it, never a different one.
    fn keep_from(&mut self, saved: &Self) {
        self.worksheet = saved.worksheet.clone();
        self.source = saved.source.clone();
        self.assigned_on = saved.assigned_on;
    }

    fn validated(mut self, _today: Date) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        check_text(&mut errors, "instructions", "the instructions", &mut self.instructions, 5_000);
        check_text(&mut errors, "review_notes", "the review notes", &mut self.review_notes, 10_000);
        if let Some(due) = self.due_on
            && due < self.assigned_on
        {
            errors.push(FieldError::new("due_on", "The due date comes on or after the day it is assigned."));
        }
        if self.worksheet.fields.is_empty() || self.worksheet.fields.len() > FIELDS_MAX {
            errors.push(FieldError::new("worksheet", "Choose a worksheet."));
        }
        self.responses.retain(|_, v| !v.trim().is_empty());
        for (key, value) in &mut self.responses {
            let Some(f) = self.worksheet.fields.iter().find(|f| &f.key == key) else {
                errors.push(FieldError::new("responses", "An answer does not match any field of the worksheet."));
                continue;
            };
            *value = value.trim().to_owned();
            let ok = match f.kind {
                AnswerKind::Rating => value.parse::<u8>().is_ok_and(|n| n <= 100),
                AnswerKind::Check => value == "yes",
                AnswerKind::Text => value.chars().count() <= 1_000,
                AnswerKind::LongText => value.chars().count() <= 10_000,
            };
            if !ok {
                let rule = match f.kind {
                    AnswerKind::Rating => "a whole number from 0 to 100",
                    AnswerKind::Check => "ticked or not",
                    AnswerKind::Text => "at most 1,000 characters",
                    AnswerKind::LongText => "at most 10,000 characters",
                };
                errors.push(FieldError::new("responses", format!("“{}”: {rule}.", f.label)));
            }
        }
        errors.into_result().map(|()| self)
    }

    fn date(&self) -> Option<Date> {
        Some(self.due_on.unwrap_or(self.assigned_on))
    }

    fn title(&self) -> String {
        self.worksheet.title.clone()
    }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    #[test]
    fn the_library_has_the_five_classic_worksheets_with_unique_keys() {
        let lib = library();
        let keys: Vec<&str> = lib.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            keys,
            ["thought_record", "activity_schedule", "exposure_hierarchy", "cognitive_distortions", "core_belief"]
        );
        for (_, w) in &lib {
            let mut field_keys: Vec<&str> = w.fields.iter().map(|f| f.key.as_str()).collect();
            field_keys.sort_unstable();
            field_keys.dedup();
            assert_eq!(field_keys.len(), w.fields.len(), "{}", w.title);
            assert!(w.fields.len() <= FIELDS_MAX);
        }
        assert_eq!(from_library("thought_record").unwrap().fields.len(), 9, "seven columns and three ratings");
    }

    #[test]
    fn custom_worksheets_read_one_field_per_line() {
        let w = Worksheet::custom(
            "Worry log",
            "",
            "When did the worry start?\nHow strong [rating]\nDid I postpone it [check]\n",
        )
        .unwrap();
        let kinds: Vec<AnswerKind> = w.fields.iter().map(|f| f.kind).collect();
        assert_eq!(kinds, vec![AnswerKind::Text, AnswerKind::Rating, AnswerKind::Check]);
        assert_eq!(Worksheet::custom(&w.title, "", &w.field_lines()).unwrap(), w, "edits round-trip");
        let errors = Worksheet::custom("", "", "x [slider]").unwrap_err();
        let fields: Vec<&str> = errors.0.iter().map(|e| e.field).collect();
        assert_eq!(fields, vec!["title", "fields"]);
    }

    #[test]
    fn answers_are_checked_against_their_fields() {
        let hw = Homework {
            worksheet: from_library("thought_record").unwrap(),
            source: "thought_record".into(),
            instructions: String::new(),
            assigned_on: date!(2026 - 11 - 24),
            due_on: Some(date!(2026 - 12 - 01)),
            status: HomeworkStatus::Completed,
            responses: BTreeMap::from([
                ("mood_rating".to_owned(), "140".to_owned()),
                ("situation".to_owned(), " Bus ".to_owned()),
                ("nonsense".to_owned(), "x".to_owned()),
            ]),
            review_notes: String::new(),
        };
        let errors = hw.clone().validated(date!(2026 - 11 - 24)).unwrap_err();
        assert_eq!(errors.0.len(), 2, "{errors:?}");
        assert!(errors.0.iter().any(|e| e.message.contains("Strongest mood")), "the message names the field");
        let mut ok = hw;
        ok.responses.remove("nonsense");
        ok.responses.insert("mood_rating".into(), "70".into());
        let ok = ok.validated(date!(2026 - 11 - 24)).unwrap();
        assert_eq!(ok.responses["situation"], "Bus");
    }
}
