//! The evaluation's cases: one TOML file each in a folder
//! (`crates/drafting/eval/cases/` in the repository), read and checked
//! here. A case is fictional but handled as PHI all the same: `Debug`
//! shows its id only, and a problem with a file names the file and the
//! field, never what the field says.
//!
//! ```toml
//! id = "01-soap-labelled-si-denied"
//! title = "Labelled SOAP shorthand, suicidal ideation denied"
//! format = "soap"                 # soap, dap, birp or free
//!
//! [client]                        # made with these details; de-identification uses them
//! full_name = "Testina Example"
//! preferred_name = "Tess"         # optional, like everything below but the name
//! date_of_birth = "1988-04-12"
//! phone = "201-555-0101"
//! email = "testina.example@example.invalid"
//! address = "12 Nowhere Lane, Sampleton"
//! emergency_contact = "Marco Example (brother), 201-555-0102"
//! written_forms = ["12th of April 1988"]  # identifiers as the sources write them
//!
//! [sources]
//! shorthand = "..."               # required
//! transcript = "..."              # optional, `T:` / `C:` lines
//!
//! [facts]
//! expected = ["low mood", "risk low | low risk"]   # required, at least one
//! must_not_appear = ["appetite", "oriented"]       # required, may be empty
//! ```

use std::path::{Path, PathBuf};

use cbt_drafting::NoteFormat;
use serde::Deserialize;
use time::Date;

use super::EvaluationError;

/// One case: a fictional client, what the therapist gave, and what a
/// faithful draft must and must not say.
#[derive(Clone)]
pub struct Case {
    /// The file it came from, as given (for messages).
    pub file: String,
    pub id: String,
    pub title: String,
    pub format: NoteFormat,
    pub client: CaseClient,
    pub shorthand: String,
    /// Empty when the case has none.
    pub transcript: String,
    /// Key facts a faithful draft contains; each may list other wordings
    /// after `|` (see `score.rs` for the matching rule).
    pub expected: Vec<String>,
    /// Facts the sources do not state: a draft that has one invented it.
    pub must_not_appear: Vec<String>,
}

impl std::fmt::Debug for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Case").field("id", &self.id).finish_non_exhaustive()
    }
}

/// The fictional client's identifiers.
#[derive(Clone, Default)]
pub struct CaseClient {
    pub full_name: String,
    pub preferred_name: String,
    pub date_of_birth: Option<Date>,
    pub phone: String,
    pub email: String,
    pub address: String,
    pub emergency_contact: String,
    /// The identifiers as the sources write them, when that differs from
    /// the fields above (a date of birth as "12th of April 1988").
    pub written_forms: Vec<String>,
}

impl CaseClient {
    /// Every value that identifies the client, as the harness looks for
    /// it in what a model was sent: the names and each part of them, the
    /// contact details, each part of the address, the emergency contact's
    /// names and number, the date of birth (ISO) and the written forms.
    pub fn identifiers(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for name in [&self.full_name, &self.preferred_name] {
            out.push(name.clone());
            out.extend(name.split_whitespace().map(str::to_owned));
        }
        out.extend([self.phone.clone(), self.email.clone()]);
        out.extend(self.address.split(',').map(str::to_owned));
        for part in self.emergency_contact.split(',') {
            if part.chars().any(|c| c.is_ascii_digit()) {
                out.push(part.to_owned());
            } else {
                let words = part.split(|c: char| !(c.is_alphabetic() || c == '\'' || c == '-'));
                out.extend(words.filter(|w| w.chars().next().is_some_and(char::is_uppercase)).map(str::to_owned));
            }
        }
        out.extend(self.date_of_birth.map(|d| d.to_string()));
        out.extend(self.written_forms.iter().cloned());
        let mut kept: Vec<String> = Vec::new();
        for value in out.into_iter().map(|v| v.trim().to_owned()) {
            if value.chars().filter(|c| c.is_alphanumeric()).count() >= 2 && !kept.contains(&value) {
                kept.push(value);
            }
        }
        kept
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCase {
    id: Option<String>,
    title: Option<String>,
    format: Option<String>,
    client: Option<RawClient>,
    sources: Option<RawSources>,
    facts: Option<RawFacts>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClient {
    full_name: Option<String>,
    #[serde(default)]
    preferred_name: String,
    date_of_birth: Option<String>,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    emergency_contact: String,
    #[serde(default)]
    written_forms: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSources {
    shorthand: Option<String>,
    #[serde(default)]
    transcript: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFacts {
    expected: Option<Vec<String>>,
    must_not_appear: Option<Vec<String>>,
}

/// Every `*.toml` case in `folder`, by file name; refuses a folder with
/// none, a case with a problem, and two cases with one id.
pub fn load(folder: &Path) -> Result<Vec<Case>, EvaluationError> {
    let folder_error = |problem: String| EvaluationError::Folder { folder: folder.display().to_string(), problem };
    let entries = std::fs::read_dir(folder).map_err(|e| folder_error(format!("cannot be read ({e})")))?;
    let mut files: Vec<PathBuf> = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| folder_error(format!("cannot be read ({e})")))?.path();
        if path.extension().is_some_and(|x| x == "toml") {
            files.push(path);
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(folder_error("has no cases (`*.toml` files)".into()));
    }
    let mut cases: Vec<Case> = Vec::with_capacity(files.len());
    for path in files {
        let case = read(&path)?;
        if let Some(first) = cases.iter().find(|c| c.id == case.id) {
            return Err(case_error(&case.file, format!("`id` is the same as in {}", first.file)));
        }
        cases.push(case);
    }
    Ok(cases)
}

fn case_error(file: &str, problem: String) -> EvaluationError {
    EvaluationError::Case { file: file.to_owned(), problem }
}

/// Reads and checks one case file.
pub fn read(path: &Path) -> Result<Case, EvaluationError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| case_error(&file, format!("cannot be read ({e})")))?;
    parse(&file, &text)
}

/// Checks one case's text; `file` names it in problems.
pub fn parse(file: &str, text: &str) -> Result<Case, EvaluationError> {
    let problem = |p: String| case_error(file, p);
    let raw: RawCase = toml::from_str(text).map_err(|e| {
        // The message and the line only: toml's own rendering quotes the
        // line, and a case is handled as PHI.
        let line = e.span().map(|s| text[..s.start.min(text.len())].lines().count().max(1));
        let at = line.map(|l| format!(" (line {l})")).unwrap_or_default();
        problem(format!("not a valid case{at}: {}", e.message()))
    })?;
    let required = |value: Option<String>, field: &str, what: &str| -> Result<String, EvaluationError> {
        match value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) {
            Some(v) => Ok(v),
            None => Err(problem(format!("`{field}` is missing: {what}"))),
        }
    };
    let id = required(raw.id, "id", "a short name for the case, unique in the folder")?;
    let title = required(raw.title, "title", "one line saying what the case is about")?;
    let format_name = required(raw.format, "format", "soap, dap, birp or free")?;
    let format =
        NoteFormat::parse(&format_name).ok_or_else(|| problem("`format` must be soap, dap, birp or free".into()))?;
    let client = raw.client.ok_or_else(|| problem("`client` is missing: the fictional client's details".into()))?;
    let date_of_birth = match client.date_of_birth.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        None => None,
        Some(d) => Some(
            Date::parse(d, time::macros::format_description!("[year]-[month]-[day]"))
                .map_err(|_| problem("`client.date_of_birth` must be a date as YYYY-MM-DD".into()))?,
        ),
    };
    let client = CaseClient {
        full_name: required(client.full_name, "client.full_name", "the fictional client's name")?,
        preferred_name: client.preferred_name.trim().to_owned(),
        date_of_birth,
        phone: client.phone.trim().to_owned(),
        email: client.email.trim().to_owned(),
        address: client.address.trim().to_owned(),
        emergency_contact: client.emergency_contact.trim().to_owned(),
        written_forms: client.written_forms,
    };
    let sources = raw.sources.ok_or_else(|| problem("`sources` is missing: the shorthand to draft from".into()))?;
    let shorthand = required(sources.shorthand, "sources.shorthand", "the therapist's shorthand to draft from")?;
    let facts = raw.facts.ok_or_else(|| problem("`facts` is missing: `expected` and `must_not_appear`".into()))?;
    let expected = facts.expected.filter(|e| !e.is_empty()).ok_or_else(|| {
        problem("`facts.expected` is missing: list the key facts a faithful draft must contain".into())
    })?;
    let must_not_appear = facts.must_not_appear.ok_or_else(|| {
        problem("`facts.must_not_appear` is missing: list facts the sources do not state (it may be empty)".into())
    })?;
    for (field, facts) in [("facts.expected", &expected), ("facts.must_not_appear", &must_not_appear)] {
        if let Some(n) = facts.iter().position(|f| f.split('|').all(|w| w.trim().is_empty())) {
            return Err(problem(format!("`{field}` has an empty fact (number {})", n + 1)));
        }
    }
    Ok(Case {
        file: file.to_owned(),
        id,
        title,
        format,
        client,
        shorthand,
        transcript: sources.transcript,
        expected,
        must_not_appear,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    const GOOD: &str = r#"
id = "x"
title = "A case"
format = "dap"
[client]
full_name = "Testina Example"
date_of_birth = "1988-04-12"
emergency_contact = "Marco Example (brother), 201-555-0102"
[sources]
shorthand = "pt reports poor sleep"
[facts]
expected = ["poor sleep"]
must_not_appear = []
"#;

    #[test]
    fn a_good_case_is_read() {
        let case = parse("good.toml", GOOD).unwrap();
        assert_eq!(case.format, NoteFormat::Dap);
        assert_eq!(case.transcript, "");
        let ids = case.client.identifiers();
        for id in ["Testina Example", "Testina", "Example", "Marco", "201-555-0102", "1988-04-12"] {
            assert!(ids.iter().any(|i| i == id), "{id} in {ids:?}");
        }
        assert!(!ids.iter().any(|i| i == "brother"), "relationship words are not names");
    }

    #[test]
    fn a_case_without_expected_facts_names_the_file_and_the_field() {
        let text = GOOD.replace("expected = [\"poor sleep\"]\n", "");
        let e = parse("cases/03-missed.toml", &text).unwrap_err().to_string();
        assert!(e.starts_with("cases/03-missed.toml: "), "{e}");
        assert!(e.contains("`facts.expected` is missing"), "{e}");
        let empty = GOOD.replace("[\"poor sleep\"]", "[]");
        assert!(parse("a.toml", &empty).unwrap_err().to_string().contains("`facts.expected` is missing"));
    }

    #[test]
    fn other_problems_are_named_without_quoting_the_case() {
        let problem = |from: &str, to: &str| parse("a.toml", &GOOD.replace(from, to)).unwrap_err().to_string();
        assert!(problem("format = \"dap\"", "format = \"sbar\"").contains("`format` must be"));
        assert!(problem("1988-04-12", "12/04/1988").contains("`client.date_of_birth`"));
        assert!(problem("must_not_appear = []\n", "").contains("`facts.must_not_appear` is missing"));
        assert!(problem("shorthand = \"pt reports poor sleep\"", "shorthand = \" \"").contains("`sources.shorthand`"));
        let unknown = problem("[facts]", "secret = \"Testina's diary\"\n[facts]");
        assert!(unknown.contains("not a valid case") && !unknown.contains("diary"), "{unknown}");
    }

    #[test]
    fn the_folder_needs_cases_with_distinct_ids() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load(dir.path()).unwrap_err().to_string().contains("has no cases"));
        std::fs::write(dir.path().join("a.toml"), GOOD).unwrap();
        std::fs::write(dir.path().join("b.toml"), GOOD).unwrap();
        let e = load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("b.toml") && e.contains("`id` is the same as in"), "{e}");
    }

    #[test]
    fn debug_shows_the_id_only() {
        let case = parse("good.toml", GOOD).unwrap();
        assert!(!format!("{case:?}").contains("Testina"));
    }
}
