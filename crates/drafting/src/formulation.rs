//! Formulation drafts by rules: a Beck conceptualisation and a 5 Ps
//! formulation assembled from the client's records. Each field gathers
//! the sentences of session notes whose cue words speak to it ("grew up",
//! "since the redundancy", "avoids", "support from"), quoted as written;
//! the presenting problem is the client's presenting problems and latest
//! scores; the worked examples are the client's own thought records
//! (situation, hot thought, mood). Nothing is inferred: a field nothing
//! speaks to stays empty, and the meaning of a thought and the behaviour
//! that followed are left for the therapist unless a record says them.

use serde::Serialize;

use crate::case::{Case, CaseRecord, CaseRecordKind, quoted, sentences, whole};
use crate::note::{DraftSection, starts_a_word};
use crate::{DraftSentence, Source};

/// The formulation's text fields a draft fills, by the record's JSON path,
/// with their cue words (matched at the start of a word, any case).
const FIELD_CUES: &[(&str, &[&str])] = &[
    (
        "beck.relevant_history",
        &[
            "history",
            "childhood",
            "grew up",
            "growing up",
            "as a child",
            "parents",
            "father",
            "mother",
            "bullied",
            "school",
            "family",
            "trauma",
            "abuse",
            "neglect",
        ],
    ),
    (
        "beck.core_beliefs",
        &[
            "core belief",
            "believes",
            "belief that",
            "unlovable",
            "worthless",
            "a failure",
            "not good enough",
            "inadequate",
            "defective",
            "unlikeable",
        ],
    ),
    (
        "beck.conditional_assumptions",
        &["if i ", "if i'", "if people", "if they", "rule", "assumption", "should", "must ", "have to", "unless"],
    ),
    (
        "beck.compensatory_strategies",
        &[
            "avoid",
            "safety behav",
            "checks",
            "checking",
            "reassurance",
            "overprepar",
            "perfectionis",
            "people-pleas",
            "people pleas",
            "overwork",
            "works late",
            "withdraw",
            "escape",
            "suppress",
        ],
    ),
    ("five_ps.presenting", &["presents with", "presenting", "referred for", "main problem", "c/o", "complains of"]),
    (
        "five_ps.predisposing",
        &[
            "history",
            "childhood",
            "grew up",
            "growing up",
            "as a child",
            "family history",
            "bullied",
            "trauma",
            "abuse",
            "neglect",
            "always been",
        ],
    ),
    (
        "five_ps.precipitating",
        &[
            "since",
            "started when",
            "began when",
            "trigger",
            "after the",
            "after his",
            "after her",
            "after their",
            "after losing",
            "redundan",
            "bereave",
            "breakup",
            "break-up",
            "divorce",
            "moved",
            "diagnosed",
            "onset",
        ],
    ),
    (
        "five_ps.perpetuating",
        &[
            "avoid",
            "ruminat",
            "worry",
            "worries",
            "safety behav",
            "reassurance",
            "withdraw",
            "isolat",
            "checking",
            "alcohol",
            "drinking",
            "stays in bed",
            "stayed in bed",
            "procrastinat",
        ],
    ),
    (
        "five_ps.protective",
        &[
            "support",
            "strength",
            "enjoys",
            "enjoyed",
            "motivat",
            "good friend",
            "close friend",
            "hobby",
            "exercise",
            "walks",
            "faith",
            "volunteer",
            "good relationship",
            "insight",
            "engaged",
        ],
    ),
];

/// Most sentences one field gathers: the latest ones.
const PER_FIELD: usize = 6;
/// Most worked examples: the latest thought records.
const EXAMPLES: usize = 3;

/// One worked example of the cognitive model, from one thought record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExampleDraft {
    /// (part of the chain, as `ThoughtExample` names it; the sentence).
    pub parts: Vec<(&'static str, DraftSentence)>,
}

/// A drafted formulation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FormulationDraft {
    /// Every text field of [`FIELD_CUES`], in order (empty ones included).
    pub fields: Vec<DraftSection>,
    pub examples: Vec<ExampleDraft>,
}

impl FormulationDraft {
    /// The field names a draft fills, in order.
    pub fn field_names() -> impl Iterator<Item = &'static str> {
        FIELD_CUES.iter().map(|(name, _)| *name)
    }

    /// Every sentence, fields first, then the examples' parts.
    pub fn sentences(&self) -> impl Iterator<Item = &DraftSentence> {
        let fields = self.fields.iter().flat_map(|f| f.sentences.iter());
        fields.chain(self.examples.iter().flat_map(|e| e.parts.iter().map(|(_, s)| s)))
    }
}

/// Drafts a formulation from the client's case.
pub fn draft_formulation(case: &Case) -> FormulationDraft {
    let mut fields: Vec<DraftSection> =
        FIELD_CUES.iter().map(|(name, _)| DraftSection { name, sentences: Vec::new() }).collect();
    let mut put = |name: &str, sentence: DraftSentence| {
        if let Some(field) = fields.iter_mut().find(|f| f.name == name)
            && !field.sentences.iter().any(|s| s.text.eq_ignore_ascii_case(&sentence.text))
        {
            field.sentences.push(sentence);
        }
    };
    for record in case.of_kind(CaseRecordKind::Presenting) {
        for source in &record.fields {
            for piece in sentences(source) {
                put("five_ps.presenting", quoted(source, piece.start, piece.end));
            }
        }
    }
    // The latest result of each questionnaire, as the score's own line.
    let mut latest: Vec<&CaseRecord> = Vec::new();
    for record in case.of_kind(CaseRecordKind::Score) {
        let instrument = record.score.as_ref().map(|s| &s.instrument);
        match latest.iter_mut().find(|r| r.score.as_ref().map(|s| &s.instrument) == instrument) {
            Some(slot) if slot.date <= record.date => *slot = record,
            Some(_) => {}
            None => latest.push(record),
        }
    }
    for record in latest {
        for source in &record.fields {
            put("five_ps.presenting", whole(source));
        }
    }
    for record in case.of_kind(CaseRecordKind::SessionNote) {
        for source in &record.fields {
            for piece in sentences(source) {
                let text = format!(" {} ", piece.of(&source.text).to_lowercase());
                for (name, cues) in FIELD_CUES {
                    if cues.iter().any(|cue| starts_a_word(&text, cue)) {
                        put(name, quoted(source, piece.start, piece.end));
                    }
                }
            }
        }
    }
    for record in case.of_kind(CaseRecordKind::CoreBeliefWorksheet) {
        if let Some(source) = record.field("old_belief") {
            put("beck.core_beliefs", whole(source));
        }
    }
    for record in case.of_kind(CaseRecordKind::DistortionChecklist) {
        for source in &record.fields {
            put("five_ps.perpetuating", whole(source));
        }
    }
    // The latest sentences of each field, in the order they were written.
    for field in &mut fields {
        let extra = field.sentences.len().saturating_sub(PER_FIELD);
        field.sentences.drain(..extra);
    }
    FormulationDraft { fields, examples: worked_examples(case) }
}

/// Worked examples of the cognitive model: the latest thought records'
/// situation, hot thought and mood, quoted (whoever drafts the text parts).
pub fn worked_examples(case: &Case) -> Vec<ExampleDraft> {
    let records: Vec<&CaseRecord> = case.of_kind(CaseRecordKind::ThoughtRecord).collect();
    records
        .iter()
        .rev()
        .take(EXAMPLES)
        .rev()
        .filter_map(|record| {
            let parts: Vec<(&'static str, DraftSentence)> =
                [("situation", "situation"), ("automatic_thought", "automatic_thoughts"), ("emotion", "moods")]
                    .into_iter()
                    .filter_map(|(part, field)| record.field(field).map(|source| (part, first_sentence(source))))
                    .collect();
            (!parts.is_empty()).then_some(ExampleDraft { parts })
        })
        .collect()
}

/// The field's first sentence (a thought record's answer is often one).
fn first_sentence(source: &Source) -> DraftSentence {
    match sentences(source).first() {
        Some(piece) if piece.end - piece.start <= 2_000 => quoted(source, piece.start, piece.end),
        _ => whole(source),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::CaseScore;
    use crate::unsupported;

    pub(crate) fn case() -> Case {
        let note = |id: &str, date: &str, text: &str| {
            CaseRecord::new(
                CaseRecordKind::SessionNote,
                id,
                date,
                vec![("subjective", "Subjective".into(), text.into())],
            )
        };
        let score = |id: &str, date: &str, total: i64| {
            let mut r = CaseRecord::new(
                CaseRecordKind::Score,
                id,
                date,
                vec![("total", "PHQ-9".into(), format!("PHQ-9: {total} on {date}"))],
            );
            r.score = Some(CaseScore { instrument: "PHQ-9".into(), total, reliable_change: None });
            r
        };
        let records = vec![
            CaseRecord::new(
                CaseRecordKind::Presenting,
                "c1",
                "2026-01-01",
                vec![("presenting_problems", "Presenting problems".into(), "Low mood and poor sleep.".into())],
            ),
            score("r1", "2026-01-05", 19),
            note("n1", "2026-01-05", "Grew up with a critical father. Low mood since the redundancy in May."),
            note("n2", "2026-01-12", "Avoids calling friends. Enjoys walks with partner."),
            CaseRecord::new(
                CaseRecordKind::ThoughtRecord,
                "h1",
                "2026-01-14",
                vec![
                    ("situation", "Situation".into(), "Boss asked for the report.".into()),
                    ("moods", "Moods".into(), "Anxious 80".into()),
                    ("automatic_thoughts", "Thoughts".into(), "I'm going to fail. They'll see I'm useless.".into()),
                ],
            ),
            score("r2", "2026-02-02", 12),
        ];
        Case { records }
    }

    fn field<'a>(draft: &'a FormulationDraft, name: &str) -> Vec<&'a str> {
        draft.fields.iter().find(|f| f.name == name).unwrap().sentences.iter().map(|s| s.text.as_str()).collect()
    }

    #[test]
    fn fields_gather_quoted_sentences_by_their_cue_words() {
        let case = case();
        let draft = draft_formulation(&case);
        assert_eq!(field(&draft, "beck.relevant_history"), vec!["Grew up with a critical father."]);
        assert_eq!(field(&draft, "five_ps.precipitating"), vec!["Low mood since the redundancy in May."]);
        assert_eq!(field(&draft, "five_ps.perpetuating"), vec!["Avoids calling friends."]);
        assert_eq!(field(&draft, "five_ps.protective"), vec!["Enjoys walks with partner."]);
        assert_eq!(
            field(&draft, "five_ps.presenting"),
            vec!["Low mood and poor sleep.", "PHQ-9: 12 on 2026-02-02"],
            "the presenting problems, then only the latest score of each questionnaire"
        );
        assert!(field(&draft, "beck.conditional_assumptions").is_empty(), "nothing speaks to it: empty");
        let example = &draft.examples[0];
        let parts: Vec<_> = example.parts.iter().map(|(p, s)| (*p, s.text.as_str())).collect();
        assert_eq!(
            parts,
            vec![
                ("situation", "Boss asked for the report."),
                ("automatic_thought", "I'm going to fail."),
                ("emotion", "Anxious 80")
            ]
        );
        let sources = case.sources();
        assert!(draft.sentences().all(|s| unsupported(s, &sources).is_none()), "every sentence is a quotation");
    }

    #[test]
    fn an_empty_case_drafts_nothing() {
        let draft = draft_formulation(&Case::default());
        assert!(draft.sentences().next().is_none());
        assert_eq!(draft.fields.len(), FormulationDraft::field_names().count());
    }
}
