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

/// Reads a note answer while it streams in: each sentence object, once
/// its closing brace arrives, is handed out with the section it is in, so
/// a page can show the draft as it is written. It only previews: the whole
/// answer is still read and checked by [`read_note_answer`] at the end.
#[derive(Default)]
pub struct AnswerWatcher {
    answer: String,
    /// How far `answer` has been scanned.
    scanned: usize,
    depth: usize,
    in_string: bool,
    escaped: bool,
    /// The last string closed at depth 1 (a section's name, before its list).
    last_key: String,
    key_start: Option<usize>,
    section: String,
    sentence_start: Option<usize>,
}

/// A sentence of the answer, as written so far (placeholders in).
#[derive(Clone, PartialEq, Eq)]
pub struct WrittenSentence {
    pub section: String,
    pub text: String,
}

impl std::fmt::Debug for WrittenSentence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WrittenSentence").field("section", &self.section).field("chars", &self.text.len()).finish()
    }
}

impl AnswerWatcher {
    /// Takes the next piece of the answer; returns the sentences it completed.
    pub fn push(&mut self, piece: &str) -> Vec<WrittenSentence> {
        self.answer.push_str(piece);
        let mut out = Vec::new();
        let bytes = self.answer.as_bytes();
        for (i, &b) in bytes.iter().enumerate().skip(self.scanned) {
            if self.in_string {
                match (self.escaped, b) {
                    (true, _) => self.escaped = false,
                    (false, b'\\') => self.escaped = true,
                    (false, b'"') => {
                        self.in_string = false;
                        if let Some(start) = self.key_start.take() {
                            self.last_key = self.answer[start..i].to_owned();
                        }
                    }
                    _ => {}
                }
                continue;
            }
            match b {
                b'"' => {
                    self.in_string = true;
                    if self.depth == 1 {
                        self.key_start = Some(i + 1);
                    }
                }
                b'{' | b'[' => {
                    self.depth += 1;
                    match (self.depth, b) {
                        (2, b'[') => self.section = self.last_key.clone(),
                        (3, b'{') => self.sentence_start = Some(i),
                        _ => {}
                    }
                }
                b'}' | b']' => {
                    if let (3, b'}', Some(start)) = (self.depth, b, self.sentence_start.take())
                        && let Ok(s) = serde_json::from_str::<AnswerSentence>(&self.answer[start..=i])
                        && !s.text.trim().is_empty()
                    {
                        out.push(WrittenSentence { section: self.section.clone(), text: s.text.trim().to_owned() });
                    }
                    self.depth = self.depth.saturating_sub(1);
                }
                _ => {}
            }
        }
        self.scanned = bytes.len();
        out
    }

    /// The answer so far.
    pub fn answer(&self) -> &str {
        &self.answer
    }
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
    fn sentences_are_seen_as_they_close_whatever_the_pieces() {
        let answer = r#"{"subjective": [{"text": "Poor sleep {x} \"two\" weeks.", "source": "shorthand", "quote": "q"}],
            "objective": [], "plan": [{"text": "TR daily.", "source": "shorthand", "quote": "HW: TR daily"}]}"#;
        // Cut anywhere, even inside strings and escapes: the same sentences.
        for size in [1, 2, 3, 7, 64, answer.len()] {
            let mut watcher = AnswerWatcher::default();
            let mut seen = Vec::new();
            let chars: Vec<char> = answer.chars().collect();
            for piece in chars.chunks(size) {
                seen.extend(watcher.push(&piece.iter().collect::<String>()));
            }
            let seen: Vec<(&str, &str)> = seen.iter().map(|s| (s.section.as_str(), s.text.as_str())).collect();
            assert_eq!(seen, vec![("subjective", "Poor sleep {x} \"two\" weeks."), ("plan", "TR daily.")], "{size}");
            assert_eq!(watcher.answer(), answer);
        }
        let mut watcher = AnswerWatcher::default();
        assert!(watcher.push("Sure! {\"subjective\": [{\"text\": \"half").is_empty(), "nothing until it closes");
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
