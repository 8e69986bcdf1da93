//! Scoring one draft against its case: which expected facts it holds,
//! which must-not-appear facts it holds, which sentences its sources do
//! not support, placeholders left in it, sentences left unplaced, and the
//! client's identifiers in what a model was sent. Counts and fact numbers
//! only: nothing here keeps a draft's text.
//!
//! The matching rule, for expected and must-not-appear facts alike: the
//! draft's sentences and the fact are each normalised — the fixed
//! abbreviations spelled out (`cbt_drafting::expand_abbreviations`, so
//! "SI" in a fact or a draft reads "suicidal ideation"), lower case, every
//! run of characters other than letters, digits and `%` made one space —
//! and the fact must stand in one sentence as whole words. A fact may
//! list other wordings after `|` ("risk low | low risk"); any one counts.
//! Expected facts are looked for in the draft's sections only (an
//! unplaced sentence is not in the note until the therapist puts it
//! there); must-not-appear facts in everything the draft shows, unplaced
//! sentences included.

use cbt_app::drafts::DraftedNote;
use cbt_drafting::{DraftSentence, Placeholders};

use super::cases::Case;

/// What one draft scored.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CaseScore {
    /// Expected facts in the case.
    pub expected: usize,
    /// Numbers (from 1, in the case's order) of expected facts the
    /// draft's sections do not hold.
    pub missing: Vec<usize>,
    /// Of those, the ones an unplaced sentence holds.
    pub missing_but_unplaced: Vec<usize>,
    /// Numbers of must-not-appear facts the draft holds.
    pub must_not_appear: Vec<usize>,
    /// Sentences in the sections and unplaced.
    pub sentences: usize,
    /// Sentences `cbt_drafting::unsupported` flags against the sources.
    pub unsupported: usize,
    /// Placeholders (`[NAME_3]`) left in the draft after restoring.
    pub leaked_placeholders: usize,
    pub unplaced: usize,
    /// The client's identifiers found in what the model was sent; `None`
    /// when nothing was sent (structured drafting).
    pub identifiers_sent: Option<usize>,
}

impl CaseScore {
    pub fn found(&self) -> usize {
        self.expected - self.missing.len()
    }
}

/// Scores `drafted` against `case`; `sent` is every message the model was
/// sent for it (other than the fixed prompt), `None` for structured
/// drafting.
pub fn score(case: &Case, drafted: &DraftedNote, sent: Option<&[String]>) -> CaseScore {
    let placed: Vec<&DraftSentence> = drafted.draft.sections.iter().flat_map(|s| &s.sentences).collect();
    let unplaced: Vec<&DraftSentence> = drafted.draft.unplaced.iter().collect();
    let placed_text: Vec<String> = placed.iter().map(|s| normal(&s.text)).collect();
    let unplaced_text: Vec<String> = unplaced.iter().map(|s| normal(&s.text)).collect();
    let holds = |texts: &[String], fact: &str| texts.iter().any(|t| fact_in(fact, t));
    let mut score = CaseScore { expected: case.expected.len(), ..CaseScore::default() };
    for (n, fact) in case.expected.iter().enumerate() {
        if !holds(&placed_text, fact) {
            score.missing.push(n + 1);
            if holds(&unplaced_text, fact) {
                score.missing_but_unplaced.push(n + 1);
            }
        }
    }
    for (n, fact) in case.must_not_appear.iter().enumerate() {
        if holds(&placed_text, fact) || holds(&unplaced_text, fact) {
            score.must_not_appear.push(n + 1);
        }
    }
    let all = placed.iter().chain(&unplaced);
    for sentence in all {
        score.sentences += 1;
        if cbt_drafting::unsupported(sentence, &drafted.sources).is_some() {
            score.unsupported += 1;
        }
        score.leaked_placeholders += Placeholders::leaked(&sentence.text).len();
    }
    score.unplaced = unplaced.len();
    score.identifiers_sent = sent.map(|sent| identifiers_in(case, sent));
    score
}

/// How many of the client's identifiers stand, as whole words and in any
/// case, in `sent`.
pub fn identifiers_in(case: &Case, sent: &[String]) -> usize {
    let sent: Vec<String> = sent.iter().map(|s| words(s)).collect();
    case.client
        .identifiers()
        .iter()
        .map(|id| words(id))
        .filter(|id| id.trim().len() >= 2 && sent.iter().any(|s| s.contains(id.as_str())))
        .count()
}

/// Whether `fact` (or one of its `|` wordings) stands in the normalised
/// `text` as whole words.
fn fact_in(fact: &str, text: &str) -> bool {
    fact.split('|').map(normal).any(|wording| !wording.trim().is_empty() && text.contains(wording.as_str()))
}

/// The matching rule's form of a text: abbreviations spelled out, then
/// [`words`].
fn normal(text: &str) -> String {
    words(&cbt_drafting::expand_abbreviations(text.trim()))
}

/// Lower case, each run of characters other than letters, digits and `%`
/// one space, with a space at each end (so `contains` matches whole
/// words).
fn words(text: &str) -> String {
    let mut out = String::from(" ");
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() || c == '%' {
            out.push(c);
        } else if !out.ends_with(' ') {
            out.push(' ');
        }
    }
    if !out.ends_with(' ') {
        out.push(' ');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_match_whole_words_after_abbreviations_in_any_case() {
        let text = normal("Pt denies SI; PHQ-9 16, down from 19. Worry rose before bed.");
        assert!(fact_in("denies suicidal ideation", &text));
        assert!(fact_in("phq-9 16", &text), "punctuation is a space on both sides");
        assert!(fact_in("Client denies SI", &text), "abbreviations in the fact are spelled out too");
        assert!(fact_in("risk low | down from 19", &text), "any wording counts");
        assert!(!fact_in("phq-9 1", &text), "whole words only");
        assert!(!fact_in("rose", &normal("arose early")));
        assert!(!fact_in(" | ", &text), "an empty wording matches nothing");
        assert!(fact_in("80%", &normal("belief 80% before")));
    }

    #[test]
    fn identifiers_are_found_as_words_in_any_case() {
        let sent = words("[NAME_1] reports feeling hopeless; ROSE said so on 12.03.1975");
        assert_eq!(words("Hope"), " hope ");
        assert!(!sent.contains(&words("Hope")), "hopeless is not Hope");
        assert!(sent.contains(&words("Rose")));
        assert!(sent.contains(&words("12.03.1975")));
    }
}
