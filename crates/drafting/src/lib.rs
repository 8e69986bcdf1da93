//! Structured drafting: drafts made by fixed rules, without a language
//! model, from what the therapist gives (their shorthand, the session's
//! transcript) and the client's records. It is the product's default for AI-assisted drafts, and
//! it is honest about what it is: every sentence it writes is a quotation
//! of a source, that quotation with a fixed list of abbreviations spelled
//! out, or a fixed phrase around a quotation — each with the source and
//! the byte range it came from ([`Citation`]). Nothing is inferred; what
//! the rules cannot place is handed back unplaced rather than guessed.
//!
//! [`unsupported`] checks a sentence against its sources by making it
//! again from the cited words; the draft view uses it to flag anything
//! that is not supported, whichever engine wrote it.
//!
//! - `note.rs`: session-note drafts (SOAP, DAP, BIRP, free text).
//! - `case.rs`: the client's records as formulation and hypothesis drafts
//!   read them (each field a source, cited by record).
//! - `formulation.rs`: Beck and 5 Ps formulation drafts.
//! - `hypotheses.rs`: working hypotheses from recurring patterns, with
//!   quoted evidence and the worksheet that would test each.
//! - `shorthand.rs`: cutting shorthand into sentences, section labels,
//!   abbreviations.
//! - `deidentify.rs`: placeholders for what identifies anyone, before a
//!   language model sees a text, and putting them back after.
//! - `model.rs`: what a language model is asked for a note, a formulation
//!   or hypotheses (the versioned prompts in `prompts/`, the answers' JSON
//!   schemas) and reading its answer.

mod case;
mod deidentify;
mod formulation;
mod hypotheses;
mod model;
mod note;
mod shorthand;

pub use case::{Case, CaseRecord, CaseRecordKind, CaseScore, record_id_of};
pub use deidentify::{Identifiers, Placeholders, deidentify};
pub use formulation::{ExampleDraft, FormulationDraft, draft_formulation, worked_examples};
pub use hypotheses::{EvidenceDraft, HypothesisDraft, draft_hypotheses};
pub use model::{
    AnswerProblem, AnswerWatcher, FORMULATION_PROMPT, FORMULATION_PROMPT_VERSION, HYPOTHESES_MAX, HYPOTHESES_PROMPT,
    HYPOTHESES_PROMPT_VERSION, NOTE_PROMPT, NOTE_PROMPT_VERSION, WrittenSentence, case_request, formulation_schema,
    hypotheses_schema, note_request, note_schema, read_formulation_answer, read_hypotheses_answer, read_note_answer,
};
pub use note::{DraftSection, NoteDraft, NoteFormat, draft_session_note};
pub use shorthand::expand_abbreviations;

use serde::Serialize;

/// Something a draft may quote: the therapist's shorthand, a transcript,
/// a record. Its text is PHI; only its id and label are safe to show in
/// an audit event (the id never holds PHI).
#[derive(Clone, PartialEq, Eq)]
pub struct Source {
    /// `shorthand`, `transcript`, or `<kind>:<record id>`.
    pub id: String,
    /// How the draft view names it after "From" ("your shorthand", "the session note of 12 May").
    pub label: String,
    pub text: String,
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source").field("id", &self.id).field("chars", &self.text.len()).finish()
    }
}

/// The words of a source a sentence rests on: bytes `start..end` of the
/// source's text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Citation {
    pub source: String,
    pub start: usize,
    pub end: usize,
}

/// How a sentence was made from its cited words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "template", rename_all = "snake_case")]
pub enum Basis {
    /// The cited words, as written.
    Quoted,
    /// The cited words with the fixed abbreviations spelled out
    /// ([`expand_abbreviations`]).
    Expanded,
    /// A fixed phrase; `{}` stands for the cited words, as written.
    Template(&'static str),
    /// A language model's sentence: supported when the words it cites
    /// stand in its source as cited (the sentence itself is the model's).
    Paraphrase,
}

/// One sentence of a draft, with what it rests on.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct DraftSentence {
    pub text: String,
    pub citation: Citation,
    pub basis: Basis,
}

impl std::fmt::Debug for DraftSentence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DraftSentence")
            .field("chars", &self.text.len())
            .field("citation", &self.citation)
            .field("basis", &self.basis)
            .finish()
    }
}

/// Why a sentence is not supported by its sources.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unsupported {
    /// It cites a source the draft was not given.
    UnknownSource,
    /// The cited range is not inside the source (or splits a character).
    OutsideSource,
    /// Made again from the cited words, it reads differently.
    DiffersFromSource,
}

/// Checks `sentence` against the sources it was drafted from: `None` when
/// making it again from its cited words by its basis gives it exactly.
pub fn unsupported(sentence: &DraftSentence, sources: &[Source]) -> Option<Unsupported> {
    let c = &sentence.citation;
    let Some(source) = sources.iter().find(|s| s.id == c.source) else {
        return Some(Unsupported::UnknownSource);
    };
    let Some(words) = source.text.get(c.start..c.end).filter(|_| c.start < c.end) else {
        return Some(Unsupported::OutsideSource);
    };
    let again = match sentence.basis {
        Basis::Paraphrase => return None,
        Basis::Quoted => words.to_owned(),
        Basis::Expanded => expand_abbreviations(words),
        Basis::Template(template) => template.replacen("{}", words, 1),
    };
    (again != sentence.text).then_some(Unsupported::DiffersFromSource)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(text: &str) -> Vec<Source> {
        vec![Source { id: "shorthand".into(), label: "Your shorthand".into(), text: text.into() }]
    }

    fn sentence(text: &str, start: usize, end: usize, basis: Basis) -> DraftSentence {
        DraftSentence { text: text.into(), citation: Citation { source: "shorthand".into(), start, end }, basis }
    }

    #[test]
    fn a_sentence_is_supported_only_by_the_words_it_cites() {
        let sources = source("pt reports poor sleep. Plan: TR daily");
        assert_eq!(unsupported(&sentence("pt reports poor sleep.", 0, 22, Basis::Quoted), &sources), None);
        assert_eq!(
            unsupported(&sentence("client reports poor sleep.", 0, 22, Basis::Expanded), &sources),
            None,
            "abbreviations spelled out by the fixed table"
        );
        let invented = sentence("pt reports poor sleep and low appetite.", 0, 22, Basis::Quoted);
        assert_eq!(unsupported(&invented, &sources), Some(Unsupported::DiffersFromSource));
        let templated = sentence("Agreed: \"TR daily\"", 29, 37, Basis::Template("Agreed: \"{}\""));
        assert_eq!(unsupported(&templated, &sources), None);
        let wrong_words = sentence("Agreed: \"BA daily\"", 29, 37, Basis::Template("Agreed: \"{}\""));
        assert_eq!(unsupported(&wrong_words, &sources), Some(Unsupported::DiffersFromSource));
    }

    #[test]
    fn citations_must_point_inside_a_given_source() {
        let sources = source("Schläft schlecht.");
        let mut s = sentence("Schläft schlecht.", 0, 18, Basis::Quoted);
        assert_eq!(unsupported(&s, &sources), None);
        s.citation.end = 99;
        assert_eq!(unsupported(&s, &sources), Some(Unsupported::OutsideSource));
        s.citation.end = 5; // inside the ä
        assert_eq!(unsupported(&s, &sources), Some(Unsupported::OutsideSource));
        s.citation = Citation { source: "note:123".into(), start: 0, end: 18 };
        assert_eq!(unsupported(&s, &sources), Some(Unsupported::UnknownSource));
    }

    #[test]
    fn debug_shows_no_text() {
        let s = sentence("client reports poor sleep.", 0, 22, Basis::Expanded);
        assert!(!format!("{s:?}{:?}", source("secret words")).contains("sleep"));
    }
}
