//! The fixed session note of the AI-drafts benchmark (`bench/ai-drafts`):
//! the therapist's shorthand the load client posts, and the answer the
//! fake provider (`crates/bench-fake-llm`) streams back for it, in the note
//! schema a model is asked for (`cbt_drafting::note_schema`). Shared so that
//! the two cannot drift apart: every quote of the answer is words of the
//! shorthand as the app sends it (de-identified), so the app's checks run
//! on a realistic, fully supported answer. Fictional, no PHI.

use serde_json::json;

/// The client the note is about (its name does not occur in the shorthand).
pub const CLIENT_NAME: &str = "Jordan Benchmark";

/// The therapist's shorthand for a SOAP note, as typed after a session.
pub const SHORTHAND: &str = "S: Pt reports low mood most days x3 wks, sleep 5h/night. Denies SI/HI.\n\
    S: Worried about return to work next month; avoids emails.\n\
    O: Affect flat, speech normal rate. PHQ-9 today 14.\n\
    A: Moderate depressive sx, avoidance maintaining low mood.\n\
    P: BA: schedule 3 pleasant activities. HW: TR daily for ANTs about work. f/u 1 wk.";

/// (section, sentence, quote) of the answer, in order.
const SENTENCES: [(&str, &str, &str); 9] = [
    (
        "subjective",
        "The client reports low mood on most days for three weeks, sleeping about five hours a night.",
        "Pt reports low mood most days x3 wks, sleep 5h/night",
    ),
    ("subjective", "The client denies suicidal and homicidal ideation.", "Denies SI/HI"),
    (
        "subjective",
        "The client is worried about returning to work next month and avoids emails.",
        "Worried about return to work next month; avoids emails",
    ),
    ("objective", "Affect was flat; speech was of normal rate.", "Affect flat, speech normal rate"),
    ("objective", "The PHQ-9 score today was 14.", "PHQ-9 today 14"),
    (
        "assessment",
        "Moderate depressive symptoms, with avoidance maintaining the low mood.",
        "Moderate depressive sx, avoidance maintaining low mood",
    ),
    ("plan", "Behavioural activation: schedule three pleasant activities.", "BA: schedule 3 pleasant activities"),
    ("plan", "Homework: a daily thought record for automatic thoughts about work.", "HW: TR daily for ANTs about work"),
    ("plan", "Follow up in one week.", "f/u 1 wk"),
];

/// How many sentences the answer has (each one a `sentence` event).
pub const SENTENCE_COUNT: usize = SENTENCES.len();

/// The fake provider's answer: JSON in the note schema, one line, as a
/// model with structured output writes it.
pub fn answer() -> String {
    let mut sections = serde_json::Map::new();
    for name in ["subjective", "objective", "assessment", "plan"] {
        let sentences: Vec<_> = SENTENCES
            .iter()
            .filter(|(section, _, _)| *section == name)
            .map(|(_, text, quote)| json!({"text": text, "source": "shorthand", "quote": quote}))
            .collect();
        sections.insert(name.to_owned(), json!(sentences));
    }
    serde_json::Value::Object(sections).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use cbt_drafting::{AnswerWatcher, Identifiers, NoteFormat, Source, deidentify, read_note_answer};

    #[test]
    fn every_quote_is_in_the_shorthand_as_the_app_sends_it() {
        let known = Identifiers { names: vec![CLIENT_NAME.to_owned()], ..Identifiers::default() };
        let (sent, placeholders) = deidentify(&[SHORTHAND], &known);
        assert!(placeholders.is_empty(), "nothing in the shorthand is hidden: {}", sent[0]);
        for (_, _, quote) in SENTENCES {
            assert!(sent[0].contains(quote), "{quote}");
        }
        let sources = [Source { id: "shorthand".into(), label: "your shorthand".into(), text: sent[0].clone() }];
        let draft = read_note_answer(NoteFormat::Soap, &answer(), &sources, str::to_owned).unwrap();
        let sentences: usize = draft.sections.iter().map(|s| s.sentences.len()).sum();
        assert_eq!(sentences, SENTENCE_COUNT);
        assert!(draft.sections.iter().flat_map(|s| &s.sentences).all(|s| s.citation.end > s.citation.start));
    }

    #[test]
    fn the_answer_is_watched_sentence_by_sentence_however_it_is_cut() {
        let answer = answer();
        let mut watcher = AnswerWatcher::default();
        let chars: Vec<char> = answer.chars().collect();
        let written: usize = chars.chunks(17).map(|piece| watcher.push(&piece.iter().collect::<String>()).len()).sum();
        assert_eq!(written, SENTENCE_COUNT);
    }
}
