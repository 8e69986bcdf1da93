//! What a language model is asked for a session-note draft, and reading
//! its answer: the versioned prompt (`prompts/`), the JSON schema an answer
//! must follow (each section a list of sentences, each with the source and
//! the exact words it rests on), and the check of an answer against that
//! shape and against the sources. A malformed answer is a
//! [`AnswerProblem`] (the caller asks once more, then gives up); a
//! well-formed one becomes a [`NoteDraft`] whose sentences the suggestion
//! page checks like any other.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::note::{DraftSection, NoteDraft, NoteFormat};
use crate::{Basis, Citation, DraftSentence, Source};

/// The session-note prompt, and its version as drafts record it.
pub const NOTE_PROMPT: &str = include_str!("../prompts/session-note-v1.md");
pub const NOTE_PROMPT_VERSION: &str = "session-note-v1";

/// The JSON schema of an answer for `format`, as a model's structured
/// output takes it (strict: every property required, nothing else).
pub fn note_schema(format: NoteFormat, source_ids: &[&str]) -> Value {
    let sentence = json!({
        "type": "object",
        "properties": {
            "text": {"type": "string", "description": "One sentence of the note."},
            "source": {"type": "string", "enum": source_ids, "description": "The id of the source it comes from."},
            "quote": {"type": "string", "description": "Words copied exactly from that source that support it."}
        },
        "required": ["text", "source", "quote"],
        "additionalProperties": false
    });
    let sections = format.sections();
    let properties: serde_json::Map<String, Value> =
        sections.iter().map(|name| ((*name).to_owned(), json!({"type": "array", "items": sentence}))).collect();
    json!({
        "type": "object",
        "properties": properties,
        "required": sections,
        "additionalProperties": false
    })
}

/// The request's text: the format and each source with its id.
pub fn note_request(format: NoteFormat, sources: &[Source]) -> String {
    let mut out = format!("Format: {}\nSections: {}\n", format_name(format), format.sections().join(", "));
    for source in sources {
        out.push_str(&format!("\n<source id=\"{}\">\n{}\n</source>\n", source.id, source.text));
    }
    out
}

fn format_name(format: NoteFormat) -> &'static str {
    match format {
        NoteFormat::Soap => "SOAP",
        NoteFormat::Dap => "DAP",
        NoteFormat::Birp => "BIRP",
        NoteFormat::Free => "free",
    }
}

/// Why an answer cannot be used. Names where, never what (the answer may
/// hold PHI).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AnswerProblem {
    #[error("the answer is not JSON")]
    NotJson,
    #[error("the answer does not have the note's shape: {0}")]
    Shape(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AnswerSentence {
    text: String,
    source: String,
    quote: String,
}

/// Reads a model's answer for `format` into a draft. Each sentence's
/// citation is where its quote stands in its source (as given to the
/// model, so placeholders and all); a quote found nowhere gets an empty
/// citation, which the support check flags. `restore` turns the text and
/// quote back from placeholders once they are located.
pub fn read_note_answer(
    format: NoteFormat,
    answer: &str,
    sent: &[Source],
    restore: impl Fn(&str) -> String,
) -> Result<NoteDraft, AnswerProblem> {
    let value: Value = serde_json::from_str(answer.trim()).map_err(|_| AnswerProblem::NotJson)?;
    let Value::Object(mut object) = value else { return Err(AnswerProblem::Shape("not an object".into())) };
    let mut sections = Vec::new();
    for name in format.sections() {
        let list = object.remove(*name).ok_or_else(|| AnswerProblem::Shape(format!("`{name}` is missing")))?;
        let sentences: Vec<AnswerSentence> = serde_json::from_value(list)
            .map_err(|_| AnswerProblem::Shape(format!("`{name}` is not a list of sentences")))?;
        let mut drafted = Vec::new();
        for (i, s) in sentences.into_iter().enumerate() {
            let Some(source) = sent.iter().find(|x| x.id == s.source) else {
                return Err(AnswerProblem::Shape(format!("`{name}[{i}]` cites an unknown source")));
            };
            if s.text.trim().is_empty() {
                continue;
            }
            let quote = s.quote.trim();
            let citation = match source.text.find(quote).filter(|_| !quote.is_empty()) {
                Some(start) => Citation { source: source.id.clone(), start, end: start + quote.len() },
                None => Citation { source: source.id.clone(), start: 0, end: 0 },
            };
            drafted.push(DraftSentence { text: restore(s.text.trim()), citation, basis: Basis::Paraphrase });
        }
        sections.push(DraftSection { name, sentences: drafted });
    }
    if let Some(extra) = object.keys().next() {
        return Err(AnswerProblem::Shape(format!("`{extra}` is not a section of this format")));
    }
    Ok(NoteDraft { format, sections, unplaced: Vec::new() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unsupported;

    fn sources() -> Vec<Source> {
        vec![Source {
            id: "shorthand".into(),
            label: "your shorthand".into(),
            text: "[NAME_1] reports poor sleep x2 wks. HW: TR daily".into(),
        }]
    }

    #[test]
    fn the_schema_asks_for_every_section_and_cited_sentences() {
        let schema = note_schema(NoteFormat::Birp, &["shorthand", "transcript"]);
        assert_eq!(schema["required"], json!(["behavior", "intervention", "response", "plan"]));
        assert_eq!(schema["additionalProperties"], false);
        let sentence = &schema["properties"]["plan"]["items"];
        assert_eq!(sentence["required"], json!(["text", "source", "quote"]));
        assert_eq!(sentence["properties"]["source"]["enum"], json!(["shorthand", "transcript"]));
    }

    #[test]
    fn the_prompt_forbids_invented_findings_and_names_its_version() {
        assert!(NOTE_PROMPT.contains("leave that section an empty list"));
        assert!(NOTE_PROMPT.contains("never invent a placeholder"));
        assert!(note_request(NoteFormat::Soap, &sources()).contains("<source id=\"shorthand\">"));
        assert_eq!(NOTE_PROMPT_VERSION, "session-note-v1");
    }

    #[test]
    fn a_good_answer_becomes_a_draft_with_located_citations() {
        let answer = r#"{"subjective": [{"text": "[NAME_1] reports poor sleep for two weeks.", "source": "shorthand",
            "quote": "[NAME_1] reports poor sleep x2 wks."}], "objective": [], "assessment": [],
            "plan": [{"text": "Homework: a thought record daily.", "source": "shorthand", "quote": "HW: TR daily"},
                     {"text": "Risk assessed as low.", "source": "shorthand", "quote": "risk low"}]}"#;
        let sent = sources();
        let draft = read_note_answer(NoteFormat::Soap, answer, &sent, |t| t.replace("[NAME_1]", "Robin")).unwrap();
        let subjective = &draft.sections[0].sentences[0];
        assert_eq!(subjective.text, "Robin reports poor sleep for two weeks.", "placeholders put back");
        assert_eq!(unsupported(subjective, &sent), None);
        let invented = &draft.sections[3].sentences[1];
        assert!(unsupported(invented, &sent).is_some(), "a quote found nowhere is flagged");
        assert!(draft.sections[1].sentences.is_empty(), "empty stays empty");
    }

    #[test]
    fn malformed_answers_are_named_without_their_content() {
        let sent = sources();
        let read = |a: &str| read_note_answer(NoteFormat::Soap, a, &sent, str::to_owned).unwrap_err();
        assert_eq!(read("Here is your note: S: poor sleep"), AnswerProblem::NotJson);
        assert_eq!(read("[]"), AnswerProblem::Shape("not an object".into()));
        assert_eq!(read(r#"{"subjective": []}"#), AnswerProblem::Shape("`objective` is missing".into()));
        let wrong = r#"{"subjective": "poor sleep", "objective": [], "assessment": [], "plan": []}"#;
        assert_eq!(read(wrong), AnswerProblem::Shape("`subjective` is not a list of sentences".into()));
        let stranger = r#"{"subjective": [{"text": "x", "source": "note:9", "quote": "x"}], "objective": [], "assessment": [], "plan": []}"#;
        assert!(read(stranger).to_string().contains("unknown source"));
        let extra = r#"{"subjective": [], "objective": [], "assessment": [], "plan": [], "diagnosis": []}"#;
        assert!(!read(extra).to_string().contains("poor sleep"));
    }
}
