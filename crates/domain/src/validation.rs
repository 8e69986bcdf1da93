//! Field-named validation errors: what a form shows next to the field the
//! therapist has to fix, and what the JSON API returns per field.

use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// The form field / JSON property, e.g. `email`.
    pub field: &'static str,
    /// A sentence for the person who typed it. Never echoes the value.
    pub message: String,
}

impl FieldError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self { field, message: message.into() }
    }
}

/// Every problem found in one submission (all are reported at once).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldErrors(pub Vec<FieldError>);

impl FieldErrors {
    pub fn push(&mut self, e: FieldError) {
        self.0.push(e);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The messages for one field.
    pub fn for_field(&self, field: &str) -> Vec<&str> {
        self.0.iter().filter(|e| e.field == field).map(|e| e.message.as_str()).collect()
    }

    /// Collects the error of a parse, keeping the value when there is none.
    pub fn take<T>(&mut self, result: Result<T, FieldError>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.push(e);
                None
            }
        }
    }

    /// `Ok(())` when nothing was found.
    pub fn into_result(self) -> Result<(), FieldErrors> {
        if self.is_empty() { Ok(()) } else { Err(self) }
    }
}

impl Extend<FieldError> for FieldErrors {
    fn extend<I: IntoIterator<Item = FieldError>>(&mut self, errors: I) {
        self.0.extend(errors);
    }
}

impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fields: Vec<&str> = self.0.iter().map(|e| e.field).collect();
        write!(f, "invalid fields: {}", fields.join(", "))
    }
}

impl From<FieldError> for FieldErrors {
    fn from(e: FieldError) -> Self {
        Self(vec![e])
    }
}

/// Trims and checks a free-text field: not empty, at most `max` characters,
/// no control characters.
pub fn short_text(field: &'static str, label: &str, raw: &str, max: usize) -> Result<String, FieldError> {
    let value = raw.trim();
    if value.is_empty() {
        return Err(FieldError::new(field, format!("{label} is required.")));
    }
    if value.chars().count() > max {
        return Err(FieldError::new(field, format!("{label} must be at most {max} characters.")));
    }
    if value.chars().any(char::is_control) {
        return Err(FieldError::new(field, format!("{label} cannot contain control characters.")));
    }
    Ok(value.to_owned())
}
