//! Forms for clinical records, described once per kind and rendered,
//! read back and compared generically: a kind lists its parts (fields and
//! repeating groups, each named by its path in the record's JSON); the
//! form's values are a flat map from those names to what was typed, so a
//! rejected form comes back exactly as typed, and the record's history is
//! shown field by field with the same labels.

use std::collections::BTreeMap;

use cbt_domain::validation::{FieldError, FieldErrors};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// How a field is typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// One line.
    Line,
    /// A text box of this many rows.
    Text(u8),
    /// `YYYY-MM-DD`, optional unless the record needs it.
    Date,
    /// A whole number from 0 to the maximum.
    Number(u16),
    /// One of (code, label).
    Choice(Vec<(String, String)>),
    /// A tick box; ticked is `yes`.
    Check,
    /// Carried by the form, never typed: what drafted the record's text
    /// (its provenance), kept from version to version.
    Hidden,
}

#[derive(Clone, Debug)]
pub struct Field {
    /// Path in the record's JSON, dots between the steps.
    pub name: String,
    pub label: String,
    pub input: Input,
    pub hint: &'static str,
    /// Numbers and choices that are ids: an empty value means none.
    pub optional: bool,
    /// Kept as text in the record (answers to a worksheet are all text).
    pub as_text: bool,
}

impl Field {
    pub fn new(name: &str, label: &str, input: Input) -> Self {
        Field { name: name.into(), label: label.into(), input, hint: "", optional: false, as_text: false }
    }

    pub fn hint(mut self, hint: &'static str) -> Self {
        self.hint = hint;
        self
    }

    pub fn optional(mut self) -> Self {
        self.optional = true;
        self
    }

    pub fn kept_as_text(mut self) -> Self {
        self.as_text = true;
        self.optional = true;
        self
    }
}

#[derive(Clone, Debug)]
pub enum Part {
    Heading(&'static str),
    Field(Field),
    /// A list of like items (examples, goals, evidence), one row each; the
    /// form shows the saved rows and `spare` empty ones.
    Group {
        name: &'static str,
        label: &'static str,
        item: &'static str,
        fields: Vec<Field>,
        spare: usize,
    },
}

/// What was typed, by field name (`goals.2.description` inside groups).
pub type Values = BTreeMap<String, String>;

fn get<'v>(value: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(value, |v, step| v.get(step))
}

fn set(value: &mut Value, path: &str, new: Value) {
    let mut here = value;
    let steps: Vec<&str> = path.split('.').collect();
    for (i, step) in steps.iter().enumerate() {
        if !here.is_object() {
            *here = Value::Object(Map::new());
        }
        let Value::Object(map) = here else { return };
        if i + 1 == steps.len() {
            map.insert((*step).to_owned(), new);
            return;
        }
        here = map.entry((*step).to_owned()).or_insert_with(|| Value::Object(Map::new()));
    }
}

fn text_of(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(true)) => "yes".into(),
        _ => String::new(),
    }
}

fn read_field(field: &Field, raw: &str, errors: &mut FieldErrors, error_name: &'static str) -> Value {
    let raw = raw.trim();
    match &field.input {
        Input::Number(max) => {
            if raw.is_empty() {
                return match (field.as_text, field.optional) {
                    (true, _) => Value::String(String::new()),
                    (false, true) => Value::Null,
                    (false, false) => Value::from(0),
                };
            }
            match raw.parse::<u16>() {
                Ok(n) if n <= *max && field.as_text => Value::String(n.to_string()),
                Ok(n) if n <= *max => Value::from(n),
                _ => {
                    errors
                        .push(FieldError::new(error_name, format!("{}: a whole number from 0 to {max}.", field.label)));
                    Value::Null
                }
            }
        }
        Input::Date => {
            if raw.is_empty() {
                if !field.optional {
                    errors.push(FieldError::new(error_name, format!("{}: enter the date as YYYY-MM-DD.", field.label)));
                }
                return Value::Null;
            }
            if time::Date::parse(raw, crate::pages::ISO_DATE).is_err() {
                errors.push(FieldError::new(error_name, format!("{}: enter the date as YYYY-MM-DD.", field.label)));
            }
            Value::String(raw.to_owned())
        }
        Input::Choice(_) if field.optional && raw.is_empty() => Value::Null,
        // Only the offered choices: anything else (a tampered form) is
        // this field's error, not an unreadable form.
        Input::Choice(choices) if !choices.iter().any(|(code, _)| code == raw) => {
            errors.push(FieldError::new(error_name, format!("{}: choose one of the options.", field.label)));
            Value::String(raw.to_owned())
        }
        // Ticked is `yes`; the records keep it as text.
        Input::Check => Value::String(if raw == "yes" { "yes".into() } else { String::new() }),
        _ => Value::String(raw.to_owned()),
    }
}

/// A static name for a field's errors: `FieldError` names are `'static`,
/// and the kinds' own rules name their fields with these same strings.
fn error_name(parts: &[Part], name: &str) -> &'static str {
    for part in parts {
        match part {
            Part::Group { name: group, .. } if name.starts_with(&format!("{group}.")) => {
                return group;
            }
            _ => {}
        }
    }
    crate::record_forms::known_name(name)
}

/// Field names used by the kinds' rules, as `'static` strings.
pub fn known_name(name: &str) -> &'static str {
    const NAMES: &[&str] = &[
        "title",
        "beck.relevant_history",
        "beck.core_beliefs",
        "beck.conditional_assumptions",
        "beck.compensatory_strategies",
        "five_ps.presenting",
        "five_ps.predisposing",
        "five_ps.precipitating",
        "five_ps.perpetuating",
        "five_ps.protective",
        "statement",
        "status",
        "start_date",
        "review_date",
        "problems",
        "instructions",
        "review_notes",
        "due_on",
        "date",
        "rating",
        "goal",
        "comment",
        "drafted_with",
    ];
    NAMES.iter().find(|n| **n == name).copied().unwrap_or("responses")
}

/// Builds the record from `base` (the saved record, or a blank one) with
/// the form's values laid over it; every value the form cannot read is
/// reported by field.
pub fn read<T: Serialize + DeserializeOwned>(parts: &[Part], base: &T, values: &Values) -> Result<T, FieldErrors> {
    let mut json = serde_json::to_value(base)
        .map_err(|_| FieldErrors::from(FieldError::new("version", "The form could not be read.")))?;
    let mut errors = FieldErrors::default();
    for part in parts {
        match part {
            Part::Heading(_) => {}
            Part::Field(field) => {
                let raw = values.get(&field.name).map_or("", String::as_str);
                let value = read_field(field, raw, &mut errors, error_name(parts, &field.name));
                set(&mut json, &field.name, value);
            }
            Part::Group { name, fields, .. } => {
                let mut rows = Vec::new();
                for row in rows_in(values, name) {
                    let mut item = Value::Object(Map::new());
                    let mut any = false;
                    for field in fields {
                        let raw = values.get(&format!("{name}.{row}.{}", field.name)).map_or("", String::as_str);
                        any |= !raw.trim().is_empty();
                        set(&mut item, &field.name, read_field(field, raw, &mut errors, name));
                    }
                    // Keeps hidden per-row values (a goal's number) as they were.
                    if let Some(Value::Array(saved)) = get(&json, name)
                        && let Some(Value::Object(old)) = saved.get(row)
                        && let Value::Object(new) = &mut item
                    {
                        for (k, v) in old {
                            new.entry(k.clone()).or_insert_with(|| v.clone());
                        }
                    }
                    if any {
                        rows.push(item);
                    }
                }
                set(&mut json, name, Value::Array(rows));
            }
        }
    }
    errors.clone().into_result()?;
    serde_json::from_value(json).map_err(|e| {
        let mut errors = FieldErrors::default();
        errors.push(FieldError::new("version", format!("The form could not be read: {}", safe_reason(&e))));
        errors
    })
}

/// serde's message names the field, never the value.
fn safe_reason(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.find("unknown variant") {
        Some(_) => "one of the choices is not on the list.".into(),
        None => "a value has the wrong form.".into(),
    }
}

fn rows_in(values: &Values, group: &str) -> Vec<usize> {
    let prefix = format!("{group}.");
    let mut rows: Vec<usize> = values
        .keys()
        .filter_map(|k| k.strip_prefix(&prefix))
        .filter_map(|rest| rest.split('.').next())
        .filter_map(|n| n.parse().ok())
        .filter(|n| *n < 100)
        .collect();
    rows.sort_unstable();
    rows.dedup();
    rows
}

/// The values of a saved record, as the form shows them.
pub fn values_of<T: Serialize>(parts: &[Part], record: &T) -> Values {
    let json = serde_json::to_value(record).unwrap_or(Value::Null);
    let mut values = Values::new();
    for part in parts {
        match part {
            Part::Heading(_) => {}
            Part::Field(field) => {
                values.insert(field.name.clone(), text_of(get(&json, &field.name)));
            }
            Part::Group { name, fields, .. } => {
                if let Some(Value::Array(items)) = get(&json, name) {
                    for (row, item) in items.iter().enumerate() {
                        for field in fields {
                            values.insert(format!("{name}.{row}.{}", field.name), text_of(get(item, &field.name)));
                        }
                    }
                }
            }
        }
    }
    values
}

/// One input as the template draws it.
pub struct InputView {
    pub name: String,
    pub label: String,
    pub hint: &'static str,
    /// `line`, `text`, `date`, `number`, `choice`, `check` or `hidden`.
    pub kind: &'static str,
    pub rows: u8,
    pub max: u16,
    pub value: String,
    pub choices: Vec<(String, String)>,
    pub errors: Vec<String>,
}

pub struct RowView {
    pub title: String,
    pub inputs: Vec<InputView>,
}

pub enum PartView {
    Heading(&'static str),
    Input(InputView),
    Group { name: &'static str, label: &'static str, rows: Vec<RowView>, errors: Vec<String> },
}

fn input_view(field: &Field, name: String, value: String, errors: Vec<String>) -> InputView {
    let (kind, rows, max, choices) = match &field.input {
        Input::Line => ("line", 1, 0, Vec::new()),
        Input::Text(rows) => ("text", *rows, 0, Vec::new()),
        Input::Date => ("date", 1, 0, Vec::new()),
        Input::Number(max) => ("number", 1, *max, Vec::new()),
        Input::Choice(choices) => ("choice", 1, 0, choices.clone()),
        Input::Check => ("check", 1, 0, Vec::new()),
        Input::Hidden => ("hidden", 1, 0, Vec::new()),
    };
    InputView { name, label: field.label.clone(), hint: field.hint, kind, rows, max, value, choices, errors }
}

/// The form's parts, filled with `values` and `errors`.
pub fn view(parts: &[Part], values: &Values, errors: &FieldErrors) -> Vec<PartView> {
    let messages = |name: &str| errors.for_field(name).into_iter().map(str::to_owned).collect::<Vec<_>>();
    parts
        .iter()
        .map(|part| match part {
            Part::Heading(text) => PartView::Heading(text),
            Part::Field(field) => {
                let value = values.get(&field.name).cloned().unwrap_or_default();
                PartView::Input(input_view(field, field.name.clone(), value, messages(known_name(&field.name))))
            }
            Part::Group { name, label, item, fields, spare } => {
                let saved = rows_in(values, name).last().map_or(0, |n| n + 1);
                let rows = (0..saved + spare)
                    .map(|row| RowView {
                        title: format!("{item} {}", row + 1),
                        inputs: fields
                            .iter()
                            .map(|f| {
                                let full = format!("{name}.{row}.{}", f.name);
                                let value = values.get(&full).cloned().unwrap_or_default();
                                input_view(f, full, value, Vec::new())
                            })
                            .collect(),
                    })
                    .collect();
                PartView::Group { name, label, rows, errors: messages(name) }
            }
        })
        .collect()
}

/// A field as read: label and the text shown for its value.
pub struct Shown {
    pub label: String,
    pub text: String,
}

fn shown_text(field: &Field, value: &str) -> String {
    match &field.input {
        Input::Choice(choices) => {
            choices.iter().find(|(code, _)| code == value).map_or_else(|| value.to_owned(), |(_, l)| l.clone())
        }
        Input::Check if value == "yes" => "Yes".into(),
        Input::Check => String::new(),
        _ => value.to_owned(),
    }
}

/// Every field of a record with a value, labelled, in form order (group
/// rows labelled "Goal 2: Measure").
pub fn shown(parts: &[Part], values: &Values) -> Vec<Shown> {
    let mut out = Vec::new();
    for part in parts {
        match part {
            Part::Heading(_) => {}
            Part::Field(field) => {
                let text = shown_text(field, values.get(&field.name).map_or("", String::as_str));
                out.push(Shown { label: field.label.clone(), text });
            }
            Part::Group { name, item, fields, .. } => {
                for row in rows_in(values, name) {
                    for f in fields {
                        let value = values.get(&format!("{name}.{row}.{}", f.name)).map_or("", String::as_str);
                        out.push(Shown {
                            label: format!("{item} {}: {}", row + 1, f.label),
                            text: shown_text(f, value),
                        });
                    }
                }
            }
        }
    }
    out
}

/// One change between two versions.
pub struct Change {
    pub field: String,
    pub before: String,
    pub after: String,
}

/// What changed from `before` to `after`, field by field.
pub fn changes(parts: &[Part], before: &Values, after: &Values) -> Vec<Change> {
    let old = shown(parts, before);
    let new = shown(parts, after);
    let mut out = Vec::new();
    for n in &new {
        let was = old.iter().find(|o| o.label == n.label).map_or("", |o| o.text.as_str());
        if was != n.text {
            out.push(Change { field: n.label.clone(), before: was.to_owned(), after: n.text.clone() });
        }
    }
    for o in &old {
        if !new.iter().any(|n| n.label == o.label) && !o.text.is_empty() {
            out.push(Change { field: o.label.clone(), before: o.text.clone(), after: String::new() });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use cbt_domain::formulation::{Formulation, ThoughtExample};

    use super::*;

    fn parts() -> Vec<Part> {
        vec![
            Part::Field(Field::new("title", "Title", Input::Line)),
            Part::Field(Field::new("beck.core_beliefs", "Core beliefs", Input::Text(3))),
            Part::Group {
                name: "beck.examples",
                label: "Examples",
                item: "Example",
                fields: vec![
                    Field::new("situation", "Situation", Input::Line),
                    Field::new("emotion", "Emotion", Input::Line),
                ],
                spare: 1,
            },
        ]
    }

    #[test]
    fn a_record_round_trips_through_its_form_and_empty_rows_are_dropped() {
        let mut values = Values::new();
        values.insert("title".into(), "Initial".into());
        values.insert("beck.core_beliefs".into(), "I am a failure".into());
        values.insert("beck.examples.0.situation".into(), "Exam".into());
        values.insert("beck.examples.1.situation".into(), "".into());
        values.insert("beck.examples.2.emotion".into(), "Shame".into());
        let f: Formulation = read(&parts(), &Formulation::default(), &values).unwrap();
        assert_eq!(f.beck.core_beliefs, "I am a failure");
        assert_eq!(
            f.beck.examples,
            vec![
                ThoughtExample { situation: "Exam".into(), ..Default::default() },
                ThoughtExample { emotion: "Shame".into(), ..Default::default() }
            ]
        );
        let back = values_of(&parts(), &f);
        assert_eq!(back["beck.examples.1.emotion"], "Shame");
        let before = values_of(&parts(), &Formulation { title: "Initial".into(), ..Default::default() });
        let diff = changes(&parts(), &before, &back);
        let fields: Vec<&str> = diff.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["Core beliefs", "Example 1: Situation", "Example 2: Emotion"]);
    }

    #[test]
    fn unreadable_values_are_reported_by_field() {
        let parts = vec![
            Part::Field(Field::new("review_date", "Review date", Input::Date)),
            Part::Field(Field::new("rating", "Rating", Input::Number(10))),
            Part::Field(Field::new("status", "Status", Input::Choice(vec![("active".into(), "Active".into())]))),
        ];
        let mut values = Values::new();
        values.insert("review_date".into(), "next week".into());
        values.insert("rating".into(), "11".into());
        values.insert("status".into(), "tampered".into());
        let errors = read::<serde_json::Value>(&parts, &serde_json::json!({}), &values).unwrap_err();
        let fields: Vec<&str> = errors.0.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["review_date", "rating", "status"]);
        assert!(errors.0.iter().all(|e| !e.message.contains("next week")), "the value is not echoed");
    }
}
