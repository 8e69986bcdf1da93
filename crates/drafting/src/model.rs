//! What a language model is asked for a draft, and reading its answer:
//! the versioned prompts (`prompts/`), the JSON schema an answer must
//! follow (sentences, each with the source and the exact words it rests
//! on), and the check of an answer against that shape and against the
//! sources. Three kinds: a session note (from the therapist's shorthand
//! and transcript), a formulation's text parts and working hypotheses
//! (both from the client's records, a [`Case`]). A malformed answer is an
//! [`AnswerProblem`] (the caller asks once more, then gives up); a
//! well-formed one becomes a draft whose sentences the draft pages check
//! like any other.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::case::{Case, CaseRecordKind, record_id_of};
use crate::formulation::FormulationDraft;
use crate::hypotheses::{EvidenceDraft, HypothesisDraft};
use crate::note::{DraftSection, NoteDraft, NoteFormat};
use crate::{Basis, Citation, DraftSentence, Source};

/// The session-note prompt, and its version as drafts record it.
pub const NOTE_PROMPT: &str = include_str!("../prompts/session-note-v1.md");
pub const NOTE_PROMPT_VERSION: &str = "session-note-v1";
/// The formulation prompt (its text parts; worked examples stay the
/// client's own thought records, quoted by rules).
pub const FORMULATION_PROMPT: &str = include_str!("../prompts/formulation-v1.md");
pub const FORMULATION_PROMPT_VERSION: &str = "formulation-v1";
/// The working-hypotheses prompt.
pub const HYPOTHESES_PROMPT: &str = include_str!("../prompts/hypotheses-v1.md");
pub const HYPOTHESES_PROMPT_VERSION: &str = "hypotheses-v1";

/// Most hypotheses read from one answer (the prompt asks for five).
pub const HYPOTHESES_MAX: usize = 5;
/// Most pieces of evidence read for one hypothesis.
const EVIDENCE_MAX: usize = 8;

/// One cited sentence, as every schema has it.
fn sentence_schema(source_ids: &[&str], what: &str) -> Value {
    json!({
        "type": "object",
        "properties": {
            "text": {"type": "string", "description": what},
            "source": {"type": "string", "enum": source_ids, "description": "The id of the source it comes from."},
            "quote": {"type": "string", "description": "Words copied exactly from that source that support it."}
        },
        "required": ["text", "source", "quote"],
        "additionalProperties": false
    })
}

/// An object of `names`, each a list of cited sentences (strict: every
/// property required, nothing else).
fn sections_schema(names: &[&str], source_ids: &[&str], what: &str) -> Value {
    let sentence = sentence_schema(source_ids, what);
    let properties: Map<String, Value> =
        names.iter().map(|name| ((*name).to_owned(), json!({"type": "array", "items": sentence}))).collect();
    json!({
        "type": "object",
        "properties": properties,
        "required": names,
        "additionalProperties": false
    })
}

/// The JSON schema of an answer for `format`, as a model's structured
/// output takes it.
pub fn note_schema(format: NoteFormat, source_ids: &[&str]) -> Value {
    sections_schema(format.sections(), source_ids, "One sentence of the note.")
}

/// The JSON schema of a formulation answer: each text part a list of
/// cited sentences.
pub fn formulation_schema(source_ids: &[&str]) -> Value {
    let names: Vec<&str> = FormulationDraft::field_names().collect();
    sections_schema(&names, source_ids, "One sentence of this part of the formulation.")
}

/// The JSON schema of a hypotheses answer; `worksheets` are the library
/// keys a hypothesis may suggest as homework ("none" is added).
pub fn hypotheses_schema(source_ids: &[&str], worksheets: &[&str]) -> Value {
    let mut choices: Vec<&str> = worksheets.to_vec();
    choices.push("none");
    let hypothesis = json!({
        "type": "object",
        "properties": {
            "pattern": {"type": "string", "description": "A short name for what recurs."},
            "statement": {"type": "string", "description": "The hypothesis, worded tentatively, to test."},
            "evidence": {"type": "array", "items": sentence_schema(source_ids, "One sentence that shows the pattern.")},
            "worksheet": {"type": "string", "enum": choices, "description": "The worksheet that would test it."}
        },
        "required": ["pattern", "statement", "evidence", "worksheet"],
        "additionalProperties": false
    });
    json!({
        "type": "object",
        "properties": {"hypotheses": {"type": "array", "items": hypothesis}},
        "required": ["hypotheses"],
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

/// The request's text for a draft from the client's records: every field
/// of `case`, oldest record first, with its id and what it is. Labels are
/// not sent (they carry dates).
pub fn case_request(case: &Case) -> String {
    let mut out = String::from("The client's records, oldest first.\n");
    for record in &case.records {
        let kind = match record.kind {
            CaseRecordKind::SessionNote => "session note",
            CaseRecordKind::ThoughtRecord => "thought record",
            CaseRecordKind::DistortionChecklist => "thinking-traps checklist",
            CaseRecordKind::CoreBeliefWorksheet => "core belief worksheet",
            CaseRecordKind::Score => "questionnaire result",
            CaseRecordKind::Presenting => "presenting problems",
        };
        for source in &record.fields {
            let part = source.id.rsplit(':').next().unwrap_or_default().replace('_', " ");
            out.push_str(&format!(
                "\n<source id=\"{}\" record=\"{kind}\" part=\"{part}\">\n{}\n</source>\n",
                source.id, source.text
            ));
        }
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
    #[error("the answer does not have the required shape: {0}")]
    Shape(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AnswerSentence {
    text: String,
    source: String,
    quote: String,
}

/// Turns placeholders back into the words they hid.
type Restore<'a> = &'a dyn Fn(&str) -> String;

/// The answer as a JSON object.
fn answer_object(answer: &str) -> Result<Map<String, Value>, AnswerProblem> {
    match serde_json::from_str(answer.trim()).map_err(|_| AnswerProblem::NotJson)? {
        Value::Object(object) => Ok(object),
        _ => Err(AnswerProblem::Shape("not an object".into())),
    }
}

/// A list of cited sentences at `place`. Each sentence's citation is where
/// its quote stands in its source (as given to the model, so placeholders
/// and all); a quote found nowhere gets an empty citation, which the
/// support check flags. Text and quote are restored from placeholders only
/// once located.
fn read_sentences(
    list: Value,
    place: &str,
    sent: &[Source],
    restore: Restore<'_>,
) -> Result<Vec<DraftSentence>, AnswerProblem> {
    let sentences: Vec<AnswerSentence> = serde_json::from_value(list)
        .map_err(|_| AnswerProblem::Shape(format!("`{place}` is not a list of sentences")))?;
    let mut drafted = Vec::new();
    for (i, s) in sentences.into_iter().enumerate() {
        let Some(source) = sent.iter().find(|x| x.id == s.source) else {
            return Err(AnswerProblem::Shape(format!("`{place}[{i}]` cites an unknown source")));
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
    Ok(drafted)
}

/// The sections `names` of an answer object, each a list of cited
/// sentences; any other key is a problem.
fn read_sections(
    mut object: Map<String, Value>,
    names: &[&'static str],
    sent: &[Source],
    restore: Restore<'_>,
) -> Result<Vec<DraftSection>, AnswerProblem> {
    let mut sections = Vec::new();
    for name in names {
        let list = object.remove(*name).ok_or_else(|| AnswerProblem::Shape(format!("`{name}` is missing")))?;
        sections.push(DraftSection { name, sentences: read_sentences(list, name, sent, restore)? });
    }
    if let Some(extra) = object.keys().next() {
        return Err(AnswerProblem::Shape(format!("`{extra}` is not a part of this draft")));
    }
    Ok(sections)
}

/// Reads a model's answer for `format` into a draft; `restore` turns the
/// text back from placeholders.
pub fn read_note_answer(
    format: NoteFormat,
    answer: &str,
    sent: &[Source],
    restore: impl Fn(&str) -> String,
) -> Result<NoteDraft, AnswerProblem> {
    let sections = read_sections(answer_object(answer)?, format.sections(), sent, &restore)?;
    Ok(NoteDraft { format, sections, unplaced: Vec::new() })
}

/// Reads a model's formulation answer: every text part, in
/// [`FormulationDraft::field_names`] order.
pub fn read_formulation_answer(
    answer: &str,
    sent: &[Source],
    restore: impl Fn(&str) -> String,
) -> Result<Vec<DraftSection>, AnswerProblem> {
    let names: Vec<&'static str> = FormulationDraft::field_names().collect();
    read_sections(answer_object(answer)?, &names, sent, &restore)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AnswerHypothesis {
    pattern: String,
    statement: String,
    evidence: Value,
    worksheet: String,
}

/// Reads a model's hypotheses answer (the first [`HYPOTHESES_MAX`]). Each
/// piece of evidence names the record its source belongs to; a worksheet
/// must be one of `worksheets` (or "none").
pub fn read_hypotheses_answer(
    answer: &str,
    sent: &[Source],
    restore: impl Fn(&str) -> String,
    worksheets: &[&'static str],
) -> Result<Vec<HypothesisDraft>, AnswerProblem> {
    let mut object = answer_object(answer)?;
    let list = object.remove("hypotheses").ok_or_else(|| AnswerProblem::Shape("`hypotheses` is missing".into()))?;
    if let Some(extra) = object.keys().next() {
        return Err(AnswerProblem::Shape(format!("`{extra}` is not a part of this draft")));
    }
    let hypotheses: Vec<AnswerHypothesis> = serde_json::from_value(list)
        .map_err(|_| AnswerProblem::Shape("`hypotheses` is not a list of hypotheses".into()))?;
    let mut out = Vec::new();
    for (i, h) in hypotheses.into_iter().take(HYPOTHESES_MAX).enumerate() {
        let place = format!("hypotheses[{i}].evidence");
        let sentences = read_sentences(h.evidence, &place, sent, &restore)?;
        let evidence = sentences
            .into_iter()
            .take(EVIDENCE_MAX)
            .map(|sentence| {
                let id = &sentence.citation.source;
                let record = record_id_of(id).unwrap_or_default().to_owned();
                let kind = CaseRecordKind::code_of(id);
                EvidenceDraft { sentence, record, kind }
            })
            .collect();
        let worksheet = match h.worksheet.as_str() {
            "none" | "" => None,
            key => Some(worksheets.iter().copied().find(|w| *w == key).ok_or_else(|| {
                AnswerProblem::Shape(format!("`hypotheses[{i}].worksheet` is not a worksheet of the library"))
            })?),
        };
        if h.statement.trim().is_empty() {
            continue;
        }
        out.push(HypothesisDraft {
            pattern: restore(h.pattern.trim()),
            statement: restore(h.statement.trim()),
            evidence,
            worksheet,
        });
    }
    Ok(out)
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

    fn case() -> Case {
        use crate::case::CaseRecord;
        let note = |id: &str, date: &str, text: &str| {
            CaseRecord::new(
                CaseRecordKind::SessionNote,
                id,
                date,
                vec![("subjective", format!("the session note of {date} (subjective)"), text.into())],
            )
        };
        Case {
            records: vec![
                note("n1", "2026-01-05", "Grew up with a critical father. Avoids calling [NAME_1]."),
                note("n2", "2026-01-12", "Avoided the office party. Walks with her partner."),
            ],
        }
    }

    #[test]
    fn the_case_request_names_each_field_by_id_and_kind_but_not_by_dated_label() {
        let request = case_request(&case());
        assert!(
            request.contains("<source id=\"session_note:n1:subjective\" record=\"session note\" part=\"subjective\">")
        );
        assert!(request.contains("Avoided the office party."));
        assert!(!request.contains("2026-01-05"), "labels carry dates: they stay here");
    }

    #[test]
    fn a_formulation_answer_fills_every_part_with_located_citations() {
        let case = case();
        let sent = case.sources();
        let ids: Vec<&str> = sent.iter().map(|s| s.id.as_str()).collect();
        let schema = formulation_schema(&ids);
        assert_eq!(schema["required"].as_array().unwrap().len(), FormulationDraft::field_names().count());
        assert_eq!(
            schema["properties"]["five_ps.perpetuating"]["items"]["properties"]["source"]["enum"],
            json!(["session_note:n1:subjective", "session_note:n2:subjective"])
        );
        let mut answer: Map<String, Value> =
            FormulationDraft::field_names().map(|n| (n.to_owned(), json!([]))).collect();
        answer.insert(
            "five_ps.perpetuating".into(),
            json!([{"text": "The client avoids calling [NAME_1].", "source": "session_note:n1:subjective", "quote": "Avoids calling [NAME_1]."},
                   {"text": "The client drinks to cope.", "source": "session_note:n2:subjective", "quote": "drinks"}]),
        );
        let answer = Value::Object(answer).to_string();
        let fields = read_formulation_answer(&answer, &sent, |t| t.replace("[NAME_1]", "Sam")).unwrap();
        let perpetuating = fields.iter().find(|f| f.name == "five_ps.perpetuating").unwrap();
        assert_eq!(perpetuating.sentences[0].text, "The client avoids calling Sam.");
        assert_eq!(unsupported(&perpetuating.sentences[0], &sent), None);
        assert!(unsupported(&perpetuating.sentences[1], &sent).is_some(), "words in no record are flagged");
        assert!(fields.iter().filter(|f| f.name != "five_ps.perpetuating").all(|f| f.sentences.is_empty()));
        let missing = read_formulation_answer("{\"beck.core_beliefs\": []}", &sent, str::to_owned).unwrap_err();
        assert_eq!(missing, AnswerProblem::Shape("`beck.relevant_history` is missing".into()));
    }

    #[test]
    fn a_hypotheses_answer_links_each_piece_of_evidence_to_its_record() {
        let case = case();
        let sent = case.sources();
        let ids: Vec<&str> = sent.iter().map(|s| s.id.as_str()).collect();
        let schema = hypotheses_schema(&ids, &["exposure_hierarchy", "thought_record"]);
        assert_eq!(
            schema["properties"]["hypotheses"]["items"]["properties"]["worksheet"]["enum"],
            json!(["exposure_hierarchy", "thought_record", "none"])
        );
        let hypothesis = |worksheet: &str| {
            json!({"pattern": "Avoidance", "statement": "Avoiding [NAME_1] may keep the fear going.", "worksheet": worksheet,
                   "evidence": [{"text": "Avoids calling [NAME_1].", "source": "session_note:n1:subjective", "quote": "Avoids calling [NAME_1]."},
                                {"text": "Avoided the party.", "source": "session_note:n2:subjective", "quote": "Avoided the office party."}]})
        };
        let worksheets = ["exposure_hierarchy", "thought_record"];
        let read = |answer: Value| {
            read_hypotheses_answer(&answer.to_string(), &sent, |t| t.replace("[NAME_1]", "Sam"), &worksheets)
        };
        let drafts = read(json!({"hypotheses": [hypothesis("exposure_hierarchy"), hypothesis("none")]})).unwrap();
        assert_eq!(drafts[0].statement, "Avoiding Sam may keep the fear going.");
        let records: Vec<(&str, &str)> = drafts[0].evidence.iter().map(|e| (e.record.as_str(), e.kind)).collect();
        assert_eq!(records, vec![("n1", "session_note"), ("n2", "session_note")]);
        assert!(drafts[0].evidence.iter().all(|e| unsupported(&e.sentence, &sent).is_none()));
        assert_eq!((drafts[0].worksheet, drafts[1].worksheet), (Some("exposure_hierarchy"), None));
        let many = read(json!({"hypotheses": vec![hypothesis("none"); 9]})).unwrap();
        assert_eq!(many.len(), HYPOTHESES_MAX, "the first five");
        let unknown = read(json!({"hypotheses": [hypothesis("tarot")]})).unwrap_err();
        assert!(unknown.to_string().contains("not a worksheet"));
        assert_eq!(read(json!({"hypotheses": []})).unwrap(), vec![], "nothing recurs: nothing proposed");
        assert!(read(json!({"hypotheses": [], "risk": "high"})).is_err());
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
        assert!(read(extra).to_string().contains("`diagnosis` is not a part of this draft"));
    }
}
