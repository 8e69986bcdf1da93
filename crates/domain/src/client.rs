//! Clients: who a therapist treats. Everything about a client but its ids
//! and record times is PHI and is kept as one sealed document,
//! [`ClientDetails`]; every saved change is a new version.

use serde::{Deserialize, Serialize};
use time::Date;
use zeroize::Zeroize;

use crate::validation::{FieldError, FieldErrors};

// Dates travel as `YYYY-MM-DD`, in JSON and in the sealed document.
time::serde::format_description!(iso_date, Date, "[year]-[month]-[day]");

/// Where a client is in their care.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ClientStatus {
    #[default]
    Active,
    OnHold,
    Discharged,
}

impl ClientStatus {
    pub const ALL: [ClientStatus; 3] = [ClientStatus::Active, ClientStatus::OnHold, ClientStatus::Discharged];

    pub fn code(self) -> &'static str {
        match self {
            ClientStatus::Active => "active",
            ClientStatus::OnHold => "on_hold",
            ClientStatus::Discharged => "discharged",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ClientStatus::Active => "Active",
            ClientStatus::OnHold => "On hold",
            ClientStatus::Discharged => "Discharged",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }
}

/// A diagnosis: the therapist's words and, optionally, its ICD-10 code.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Diagnosis {
    pub description: String,
    #[serde(default)]
    pub icd10: String,
}

/// Everything about a client that is PHI. Sealed as one document.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ClientDetails {
    pub full_name: String,
    #[serde(default)]
    pub preferred_name: String,
    #[serde(default)]
    pub pronouns: String,
    /// `YYYY-MM-DD`.
    #[serde(default, with = "iso_date::option")]
    pub date_of_birth: Option<Date>,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub emergency_contact: String,
    #[serde(default)]
    pub referral_source: String,
    #[serde(default)]
    pub presenting_problems: String,
    #[serde(default)]
    pub diagnoses: Vec<Diagnosis>,
    #[serde(default)]
    pub medications: String,
    #[serde(default)]
    pub risk_notes: String,
    #[serde(default)]
    pub status: ClientStatus,
    /// When the status last changed (set by the app, not typed).
    #[serde(default, with = "iso_date::option")]
    pub status_since: Option<Date>,
    /// Restricted: nothing about this client is ever sent to a language
    /// model (a public figure, a colleague, a client who asked). Drafts by
    /// rules, which never leave the server, still work.
    #[serde(default)]
    pub restricted: bool,
}

impl Zeroize for ClientDetails {
    fn zeroize(&mut self) {
        for text in [
            &mut self.full_name,
            &mut self.preferred_name,
            &mut self.pronouns,
            &mut self.phone,
            &mut self.email,
            &mut self.address,
            &mut self.emergency_contact,
            &mut self.referral_source,
            &mut self.presenting_problems,
            &mut self.medications,
            &mut self.risk_notes,
        ] {
            text.zeroize();
        }
        for d in &mut self.diagnoses {
            d.description.zeroize();
            d.icd10.zeroize();
        }
        self.date_of_birth = None;
    }
}

/// Longest short field (names, pronouns, phone), in characters.
pub const SHORT_MAX: usize = 200;
/// Longest free-text field, in characters.
pub const TEXT_MAX: usize = 20_000;
/// Diagnoses per client, at most.
pub const DIAGNOSES_MAX: usize = 20;

fn too_long(field: &'static str, value: &str, max: usize) -> Option<FieldError> {
    (value.chars().count() > max).then(|| FieldError::new(field, format!("Keep this under {max} characters.")))
}

/// `F32.1`, `Z63.0`, `F41`: a letter (not U), two digits (or digit and
/// A/B), then optionally a dot and one to four more.
pub fn is_icd10(code: &str) -> bool {
    let b = code.as_bytes();
    let head = b.len() >= 3
        && b[0].is_ascii_uppercase()
        && b[0] != b'U'
        && b[1].is_ascii_digit()
        && (b[2].is_ascii_digit() || b[2] == b'A' || b[2] == b'B');
    let tail = &code[3.min(code.len())..];
    head && (tail.is_empty()
        || (tail.starts_with('.')
            && (2..=5).contains(&tail.len())
            && tail[1..].bytes().all(|c| c.is_ascii_digit() || (c.is_ascii_uppercase() && c != b'U'))))
}

impl ClientDetails {
    /// Trims what was typed and checks every field; all problems at once,
    /// each naming its field. `today` bounds the date of birth.
    pub fn validated(mut self, today: Date) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        for text in [
            &mut self.full_name,
            &mut self.preferred_name,
            &mut self.pronouns,
            &mut self.phone,
            &mut self.email,
            &mut self.address,
            &mut self.emergency_contact,
            &mut self.referral_source,
            &mut self.presenting_problems,
            &mut self.medications,
            &mut self.risk_notes,
        ] {
            let trimmed = text.trim();
            if trimmed.len() != text.len() {
                *text = trimmed.to_owned();
            }
        }
        if self.full_name.is_empty() {
            errors.push(FieldError::new("full_name", "Enter the client's name."));
        }
        for (field, value) in [
            ("full_name", &self.full_name),
            ("preferred_name", &self.preferred_name),
            ("pronouns", &self.pronouns),
            ("phone", &self.phone),
            ("email", &self.email),
        ] {
            errors.extend(too_long(field, value, SHORT_MAX));
        }
        for (field, value) in [
            ("address", &self.address),
            ("emergency_contact", &self.emergency_contact),
            ("referral_source", &self.referral_source),
            ("presenting_problems", &self.presenting_problems),
            ("medications", &self.medications),
            ("risk_notes", &self.risk_notes),
        ] {
            errors.extend(too_long(field, value, TEXT_MAX));
        }
        let looks_like_email = self.email.contains('@') && !self.email.contains(char::is_whitespace);
        if !self.email.is_empty() && !looks_like_email {
            errors.push(FieldError::new("email", "Enter an email address like name@example.org, or leave it empty."));
        }
        if let Some(born) = self.date_of_birth {
            if born > today {
                errors.push(FieldError::new("date_of_birth", "The date of birth cannot be in the future."));
            } else if born.year() < 1900 {
                errors.push(FieldError::new("date_of_birth", "Enter a date of birth after 1900."));
            }
        }
        self.diagnoses.retain(|d| !(d.description.trim().is_empty() && d.icd10.trim().is_empty()));
        if self.diagnoses.len() > DIAGNOSES_MAX {
            errors.push(FieldError::new("diagnoses", format!("Record at most {DIAGNOSES_MAX} diagnoses.")));
        }
        for d in &mut self.diagnoses {
            d.description = d.description.trim().to_owned();
            d.icd10 = d.icd10.trim().to_uppercase();
            errors.extend(too_long("diagnoses", &d.description, SHORT_MAX));
            if d.description.is_empty() {
                errors.push(FieldError::new("diagnoses", "Describe each diagnosis, not only its code."));
            }
            if !d.icd10.is_empty() && !is_icd10(&d.icd10) {
                errors.push(FieldError::new(
                    "diagnoses",
                    "An ICD-10 code looks like F32.1 (a letter, two digits, then optionally a dot and more).",
                ));
            }
        }
        errors.into_result().map(|()| self)
    }

    /// The name to show: the preferred name if there is one.
    pub fn display_name(&self) -> &str {
        if self.preferred_name.is_empty() { &self.full_name } else { &self.preferred_name }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    const TODAY: Date = date!(2026 - 11 - 24);

    fn jane() -> ClientDetails {
        ClientDetails { full_name: "  Jane Doe ".into(), ..ClientDetails::default() }
    }

    #[test]
    fn checklist_38_each_problem_names_its_field() {
        let bad = ClientDetails {
            full_name: " ".into(),
            email: "not an email".into(),
            date_of_birth: Some(date!(2030 - 01 - 01)),
            risk_notes: "x".repeat(TEXT_MAX + 1),
            diagnoses: vec![Diagnosis { description: "Depression".into(), icd10: "32.1".into() }],
            ..ClientDetails::default()
        };
        let errors = bad.validated(TODAY).unwrap_err();
        let fields: Vec<&str> = errors.0.iter().map(|e| e.field).collect();
        assert_eq!(fields, vec!["full_name", "risk_notes", "email", "date_of_birth", "diagnoses"]);
        assert!(errors.0.iter().all(|e| !e.message.contains("not an email")), "values are not echoed");
    }

    #[test]
    fn valid_details_are_trimmed_and_codes_upper_cased() {
        let mut d = jane();
        d.diagnoses = vec![
            Diagnosis { description: " Major depressive disorder ".into(), icd10: "f32.1".into() },
            Diagnosis::default(),
        ];
        let d = d.validated(TODAY).unwrap();
        assert_eq!(d.full_name, "Jane Doe");
        assert_eq!(
            d.diagnoses,
            vec![Diagnosis { description: "Major depressive disorder".into(), icd10: "F32.1".into() }]
        );
        assert_eq!(d.display_name(), "Jane Doe");
    }

    #[test]
    fn icd10_codes() {
        for ok in ["F32", "F32.1", "Z63.0", "F41.9", "S72.001A", "O9A.1"] {
            assert!(is_icd10(ok), "{ok}");
        }
        for bad in ["", "F3", "32.1", "U07.1", "F32.", "F32.12345", "f32", "F32-1"] {
            assert!(!is_icd10(bad), "{bad}");
        }
    }

    #[test]
    fn unknown_fields_are_refused() {
        let err = serde_json::from_str::<ClientDetails>(r#"{"full_name":"A","account_id":"x"}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field `account_id`"), "{err}");
    }
}
