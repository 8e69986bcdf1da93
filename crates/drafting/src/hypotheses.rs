//! Working hypotheses proposed by rules from patterns that recur across
//! the client's records: themes of automatic thoughts (failure, rejection,
//! threat, others' judgement, hopelessness), behaviours (avoidance,
//! withdrawal, worry), thinking traps ticked again and again, and
//! questionnaire scores that moved by more than chance. A pattern must
//! show in at least two records. Each proposal is a fixed statement for
//! its pattern — shown as such, never as a finding — with its evidence
//! quoted from the records, each piece citing the record it came from,
//! and the worksheet that would test it, as a homework suggestion.

use serde::Serialize;

use crate::case::{Case, CaseRecord, CaseRecordKind, quoted, sentences, whole};
use crate::note::starts_a_word;
use crate::{DraftSentence, Source};

/// A pattern: its name, the cue words that show it (at the start of a
/// word, any case), the fixed statement proposed when it recurs, and the
/// library worksheet that would test it.
struct Pattern {
    name: &'static str,
    cues: &'static [&'static str],
    statement: &'static str,
    worksheet: &'static str,
    /// Where it shows: the client's automatic thoughts, or anything the
    /// therapist wrote in a note.
    in_thoughts: bool,
}

const PATTERNS: &[Pattern] = &[
    Pattern {
        name: "Thoughts of failure",
        cues: &[
            "failure",
            "fail",
            "useless",
            "not good enough",
            "stupid",
            "incompetent",
            "can't cope",
            "cannot cope",
            "mess up",
            "messed up",
            "inadequate",
        ],
        statement: "Thoughts of failure or of not being good enough recur across situations: a belief of inadequacy may be keeping the problem going.",
        worksheet: "core_belief",
        in_thoughts: true,
    },
    Pattern {
        name: "Thoughts of rejection",
        cues: &[
            "reject",
            "hate me",
            "don't like me",
            "doesn't like me",
            "unlovable",
            "abandon",
            "left out",
            "nobody cares",
            "no one cares",
            "a burden",
        ],
        statement: "Thoughts of being rejected or unwanted recur: a belief of being unlovable may be driving withdrawal from others.",
        worksheet: "core_belief",
        in_thoughts: true,
    },
    Pattern {
        name: "Thoughts of threat",
        cues: &[
            "heart attack",
            "going to die",
            "dying",
            "collapse",
            "lose control",
            "losing control",
            "go mad",
            "going mad",
            "something bad",
            "faint",
            "can't breathe",
            "choke",
        ],
        statement: "Thoughts of physical or mental catastrophe recur: reading body sensations as danger may be maintaining the anxiety.",
        worksheet: "exposure_hierarchy",
        in_thoughts: true,
    },
    Pattern {
        name: "Fear of others' judgement",
        cues: &[
            "judge",
            "laugh at",
            "think i'm",
            "think i am",
            "embarrass",
            "humiliat",
            "look stupid",
            "look like an idiot",
        ],
        statement: "Fears of others' judgement recur: self-focused attention and safety behaviours may be maintaining the social anxiety.",
        worksheet: "exposure_hierarchy",
        in_thoughts: true,
    },
    Pattern {
        name: "Hopelessness",
        cues: &["hopeless", "never get better", "no point", "pointless", "nothing will change", "give up"],
        statement: "Hopeless thoughts about the future recur: they may be maintaining withdrawal and low activity (and call for a review of risk).",
        worksheet: "activity_schedule",
        in_thoughts: true,
    },
    Pattern {
        name: "Avoidance",
        cues: &["avoid", "cancelled", "stayed home", "escape", "left early", "safety behav"],
        statement: "Avoidance recurs: it may be keeping the fear going by never letting it be tested.",
        worksheet: "exposure_hierarchy",
        in_thoughts: false,
    },
    Pattern {
        name: "Withdrawal and low activity",
        cues: &["withdraw", "stayed in bed", "stays in bed", "isolat", "not going out", "stopped seeing", "inactive"],
        statement: "Withdrawal and low activity recur: less contact with rewarding activity may be maintaining the low mood.",
        worksheet: "activity_schedule",
        in_thoughts: false,
    },
    Pattern {
        name: "Worry and rumination",
        cues: &["ruminat", "worry", "worries", "worried", "going over", "can't stop thinking"],
        statement: "Repetitive worry or rumination recurs: it may be prolonging the distress.",
        worksheet: "thought_record",
        in_thoughts: false,
    },
];

/// What marks a note's sentence as about the client's thoughts (in the
/// lower-cased sentence padded with spaces): the word, the abbreviation,
/// or a quotation.
const THOUGHT_MARKS: &[&str] = &["thought", " ant ", " ant:", " ants", "believe", "\"", "“", " 'i "];

/// Records a pattern must show in to be proposed.
const RECURS: usize = 2;
/// Most pieces of evidence quoted for one proposal (one per record).
const EVIDENCE: usize = 6;
/// A score change smaller than this is not read as a trend when the
/// questionnaire gives no reliable-change figure.
const SCORE_CHANGE: i64 = 5;

/// One piece of evidence: a sentence quoted from a record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EvidenceDraft {
    pub sentence: DraftSentence,
    /// The record it is quoted from, and its kind (`session_note`,
    /// `homework`, `assessment`).
    pub record: String,
    pub kind: &'static str,
}

/// A proposed working hypothesis.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HypothesisDraft {
    /// The pattern that recurs ("Avoidance", "PHQ-9 falling").
    pub pattern: String,
    /// A fixed statement for the pattern, for the therapist to test,
    /// reword or reject.
    pub statement: String,
    pub evidence: Vec<EvidenceDraft>,
    /// A library worksheet that would test it (homework suggestion).
    pub worksheet: Option<&'static str>,
}

/// Proposes hypotheses from what recurs in the client's case, the most
/// supported first.
pub fn draft_hypotheses(case: &Case) -> Vec<HypothesisDraft> {
    let mut out = Vec::new();
    for pattern in PATTERNS {
        let kinds: &[CaseRecordKind] = if pattern.in_thoughts {
            &[CaseRecordKind::ThoughtRecord, CaseRecordKind::SessionNote]
        } else {
            &[CaseRecordKind::SessionNote]
        };
        let evidence: Vec<EvidenceDraft> = case
            .records
            .iter()
            .filter(|r| kinds.contains(&r.kind))
            .filter_map(|record| first_match(record, pattern.cues, pattern.in_thoughts))
            .collect();
        if evidence.len() >= RECURS {
            out.push(HypothesisDraft {
                pattern: pattern.name.to_owned(),
                statement: pattern.statement.to_owned(),
                evidence: latest(evidence),
                worksheet: Some(pattern.worksheet),
            });
        }
    }
    out.extend(thinking_traps(case));
    out.extend(score_trends(case));
    // The most supported first; equal support keeps the order above.
    out.sort_by_key(|h| std::cmp::Reverse(h.evidence.len()));
    out
}

/// The first sentence of `record` showing one of `cues`: in a thought
/// record, only in its automatic thoughts.
fn first_match(record: &CaseRecord, cues: &[&str], in_thoughts: bool) -> Option<EvidenceDraft> {
    let fields: Vec<&Source> = match record.kind {
        CaseRecordKind::ThoughtRecord => record.field("automatic_thoughts").into_iter().collect(),
        _ => record.fields.iter().collect(),
    };
    for source in fields {
        for piece in sentences(source) {
            let text = format!(" {} ", piece.of(&source.text).to_lowercase());
            // A note's sentence speaks of the client's thoughts only when it
            // quotes or names them; otherwise any sentence will do.
            let about_thoughts = !in_thoughts
                || record.kind == CaseRecordKind::ThoughtRecord
                || THOUGHT_MARKS.iter().any(|mark| text.contains(mark));
            if about_thoughts && cues.iter().any(|cue| starts_a_word(&text, cue)) {
                return Some(evidence(record, quoted(source, piece.start, piece.end)));
            }
        }
    }
    None
}

/// `sentence`, quoted from `record`, as evidence.
fn evidence(record: &CaseRecord, sentence: DraftSentence) -> EvidenceDraft {
    EvidenceDraft { sentence, record: record.id.clone(), kind: record.kind.code() }
}

/// The latest pieces, oldest first.
fn latest(mut evidence: Vec<EvidenceDraft>) -> Vec<EvidenceDraft> {
    let extra = evidence.len().saturating_sub(EVIDENCE);
    evidence.drain(..extra);
    evidence
}

/// A thinking trap ticked on the distortions checklist at least twice.
fn thinking_traps(case: &Case) -> Vec<HypothesisDraft> {
    let mut traps: Vec<(String, Vec<EvidenceDraft>)> = Vec::new();
    for record in case.of_kind(CaseRecordKind::DistortionChecklist) {
        for source in &record.fields {
            // The label ends with the trap's name ("…: Catastrophising").
            let trap = source.label.rsplit(": ").next().unwrap_or_default().to_owned();
            let piece = evidence(record, whole(source));
            match traps.iter_mut().find(|(name, _)| *name == trap) {
                Some((_, found)) => found.push(piece),
                None => traps.push((trap, vec![piece])),
            }
        }
    }
    traps
        .into_iter()
        .filter(|(_, found)| found.len() >= RECURS)
        .map(|(trap, found)| HypothesisDraft {
            statement: format!(
                "The thinking trap \"{trap}\" recurs: it may be keeping the distressing appraisals going."
            ),
            pattern: trap,
            evidence: latest(found),
            worksheet: Some("thought_record"),
        })
        .collect()
}

/// A questionnaire whose first and latest totals differ by at least its
/// reliable change (or [`SCORE_CHANGE`]).
fn score_trends(case: &Case) -> Vec<HypothesisDraft> {
    let mut instruments: Vec<(&str, Vec<&CaseRecord>)> = Vec::new();
    for record in case.of_kind(CaseRecordKind::Score) {
        let Some(score) = &record.score else { continue };
        match instruments.iter_mut().find(|(name, _)| *name == score.instrument) {
            Some((_, found)) => found.push(record),
            None => instruments.push((&score.instrument, vec![record])),
        }
    }
    let mut out = Vec::new();
    for (instrument, mut results) in instruments {
        results.sort_by(|a, b| a.date.cmp(&b.date));
        let (Some(first), Some(last)) = (results.first(), results.last()) else { continue };
        let total = |r: &CaseRecord| r.score.as_ref().map_or(0, |s| s.total);
        let change = total(last) - total(first);
        let threshold = last.score.as_ref().and_then(|s| s.reliable_change).unwrap_or(SCORE_CHANGE);
        if results.len() < RECURS || change.abs() < threshold {
            continue;
        }
        let (pattern, statement) = if change > 0 {
            (
                format!("{instrument} rising"),
                format!(
                    "{instrument} scores rose from {} to {}: something since {} may be maintaining or worsening the problem.",
                    total(first),
                    total(last),
                    first.date
                ),
            )
        } else {
            (
                format!("{instrument} falling"),
                format!(
                    "{instrument} scores fell from {} to {}: the work since {} may be helping; naming what changed would test it.",
                    total(first),
                    total(last),
                    first.date
                ),
            )
        };
        let evidence = results
            .iter()
            .filter_map(|r| r.fields.first().map(|source| evidence(r, quoted(source, 0, source.text.len()))))
            .collect();
        out.push(HypothesisDraft { pattern, statement, evidence: latest(evidence), worksheet: None });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::CaseScore;
    use crate::unsupported;

    fn note(id: &str, date: &str, text: &str) -> CaseRecord {
        CaseRecord::new(CaseRecordKind::SessionNote, id, date, vec![("subjective", "Subjective".into(), text.into())])
    }

    fn thoughts(id: &str, date: &str, text: &str) -> CaseRecord {
        CaseRecord::new(
            CaseRecordKind::ThoughtRecord,
            id,
            date,
            vec![
                ("situation", "Situation".into(), "At work, a failure of the printer.".into()),
                ("automatic_thoughts", "Thoughts".into(), text.into()),
            ],
        )
    }

    fn score(id: &str, date: &str, total: i64) -> CaseRecord {
        let mut r = CaseRecord::new(
            CaseRecordKind::Score,
            id,
            date,
            vec![("total", "PHQ-9".into(), format!("PHQ-9: {total} on {date}"))],
        );
        r.score = Some(CaseScore { instrument: "PHQ-9".into(), total, reliable_change: None });
        r
    }

    #[test]
    fn a_pattern_in_two_records_is_proposed_with_each_quoted_and_cited() {
        let case = Case {
            records: vec![
                note("n1", "2026-01-05", "Avoided the supermarket all week. Slept well."),
                note("n2", "2026-01-12", "Still avoids buses, walked instead."),
                note("n3", "2026-01-19", "Went to the shop once."),
                thoughts("h1", "2026-01-20", "I'm useless. Everyone will see."),
            ],
        };
        let drafts = draft_hypotheses(&case);
        let avoidance = drafts.iter().find(|h| h.pattern == "Avoidance").expect("avoidance in two notes");
        let quoted: Vec<(&str, &str)> =
            avoidance.evidence.iter().map(|e| (e.record.as_str(), e.sentence.text.as_str())).collect();
        assert_eq!(
            quoted,
            vec![("n1", "Avoided the supermarket all week."), ("n2", "Still avoids buses, walked instead.")]
        );
        assert!(avoidance.evidence.iter().all(|e| e.kind == "session_note"));
        assert_eq!(avoidance.worksheet, Some("exposure_hierarchy"));
        assert!(
            !drafts.iter().any(|h| h.pattern == "Thoughts of failure"),
            "one thought record (its situation's \"failure\" is not a thought) is not a pattern"
        );
        let sources = case.sources();
        assert!(drafts.iter().flat_map(|h| &h.evidence).all(|e| unsupported(&e.sentence, &sources).is_none()));
    }

    #[test]
    fn thoughts_count_from_thought_records_and_from_notes_that_quote_them() {
        let case = Case {
            records: vec![
                thoughts("h1", "2026-01-20", "I'm useless."),
                note("n1", "2026-01-21", "Pt said she is useless at work."),
                note("n2", "2026-01-28", "ANT: \"I always fail\"."),
            ],
        };
        let drafts = draft_hypotheses(&case);
        let failure = drafts.iter().find(|h| h.pattern == "Thoughts of failure").unwrap();
        let records: Vec<&str> = failure.evidence.iter().map(|e| e.record.as_str()).collect();
        assert_eq!(records, vec!["h1", "n2"], "a note that does not speak of thoughts is not a thought");
        assert_eq!(failure.evidence[0].kind, "homework");
    }

    #[test]
    fn scores_moving_beyond_chance_are_a_trend_and_small_moves_are_not() {
        let case = Case { records: vec![score("r1", "2026-01-01", 19), score("r2", "2026-02-01", 11)] };
        let drafts = draft_hypotheses(&case);
        assert_eq!(drafts.len(), 1);
        assert_eq!(drafts[0].pattern, "PHQ-9 falling");
        assert!(drafts[0].statement.starts_with("PHQ-9 scores fell from 19 to 11"), "{}", drafts[0].statement);
        assert_eq!(drafts[0].evidence.len(), 2);
        assert!(drafts[0].evidence.iter().all(|e| e.kind == "assessment"));
        let flat = Case { records: vec![score("r1", "2026-01-01", 12), score("r2", "2026-02-01", 9)] };
        assert!(draft_hypotheses(&flat).is_empty());
    }

    #[test]
    fn a_thinking_trap_ticked_twice_is_proposed() {
        let checklist = |id: &str| {
            CaseRecord::new(
                CaseRecordKind::DistortionChecklist,
                id,
                "2026-01-01",
                vec![(
                    "catastrophising",
                    "the checklist of 2026-01-01: Catastrophising".into(),
                    "Catastrophising: the flight will crash".into(),
                )],
            )
        };
        let drafts = draft_hypotheses(&Case { records: vec![checklist("h1"), checklist("h2")] });
        assert_eq!(drafts.len(), 1);
        assert!(drafts[0].statement.contains("\"Catastrophising\" recurs"));
    }
}
