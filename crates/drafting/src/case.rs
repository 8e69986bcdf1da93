//! A client's case as formulation and hypothesis drafts read it: their
//! records, each cut into the fields a draft may quote. The app builds it
//! from what is stored (session notes, the client's filled-in worksheets,
//! questionnaire results, the presenting problems); this crate only reads.
//!
//! Every field is a [`Source`] whose id is `<kind>:<record id>:<field>`,
//! so a sentence's citation names the record it rests on (a hypothesis's
//! evidence links to it) and the words inside it.

use crate::shorthand::{Piece, lines};
use crate::{Basis, Citation, DraftSentence, Source};

/// What kind of record a case record is, as far as drafts care.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaseRecordKind {
    /// A session note: its sections' text.
    SessionNote,
    /// A seven-column thought record the client filled in.
    ThoughtRecord,
    /// The cognitive distortions checklist: one field per trap ticked,
    /// "Trap name: the client's example", its label ending ": Trap name".
    DistortionChecklist,
    /// The core belief worksheet.
    CoreBeliefWorksheet,
    /// A questionnaire result: one field, "PHQ-9: 17 (moderately severe)".
    Score,
    /// The client's presenting problems, from their details.
    Presenting,
}

impl CaseRecordKind {
    /// The record kind as the store and the source ids name it.
    pub fn code(self) -> &'static str {
        match self {
            Self::SessionNote => "session_note",
            Self::ThoughtRecord | Self::DistortionChecklist | Self::CoreBeliefWorksheet => "homework",
            Self::Score => "assessment",
            Self::Presenting => "client",
        }
    }

    /// The record kind's code at the start of a source id
    /// (`session_note:<id>:plan` → `session_note`); `client` for any other.
    pub fn code_of(source: &str) -> &'static str {
        let prefix = source.split(':').next().unwrap_or_default();
        ["session_note", "homework", "assessment"].into_iter().find(|code| *code == prefix).unwrap_or("client")
    }
}

/// One record of the case.
#[derive(Clone, Debug)]
pub struct CaseRecord {
    pub kind: CaseRecordKind,
    /// The record's id (for a score, the result's; for presenting problems,
    /// the client's).
    pub id: String,
    /// `YYYY-MM-DD`: when it happened, for order and labels.
    pub date: String,
    /// Its fields; each source id is `<kind>:<id>:<field>`.
    pub fields: Vec<Source>,
    /// For a questionnaire result: its total.
    pub score: Option<CaseScore>,
}

/// A questionnaire result's total.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseScore {
    /// The instrument's short name ("PHQ-9").
    pub instrument: String,
    pub total: i64,
    /// The smallest change in the total beyond measurement error, when the
    /// instrument gives one.
    pub reliable_change: Option<i64>,
}

impl CaseRecord {
    /// A record of `kind` from its (field, label, text) triples; empty
    /// fields are left out.
    pub fn new(kind: CaseRecordKind, id: &str, date: &str, fields: Vec<(&str, String, String)>) -> Self {
        let fields = fields
            .into_iter()
            .filter(|(_, _, text)| !text.trim().is_empty())
            .map(|(field, label, text)| Source { id: format!("{}:{id}:{field}", kind.code()), label, text })
            .collect();
        CaseRecord { kind, id: id.to_owned(), date: date.to_owned(), fields, score: None }
    }

    /// The field named `field`, if it has text.
    pub fn field(&self, field: &str) -> Option<&Source> {
        self.fields.iter().find(|s| s.id.rsplit(':').next() == Some(field))
    }
}

/// The whole case, oldest record first.
#[derive(Clone, Debug, Default)]
pub struct Case {
    pub records: Vec<CaseRecord>,
}

impl Case {
    pub fn of_kind(&self, kind: CaseRecordKind) -> impl Iterator<Item = &CaseRecord> {
        self.records.iter().filter(move |r| r.kind == kind)
    }

    /// Every source of the case (what a draft's citations point into).
    pub fn sources(&self) -> Vec<Source> {
        self.records.iter().flat_map(|r| r.fields.iter().cloned()).collect()
    }

    /// The source with this id.
    pub fn source(&self, id: &str) -> Option<&Source> {
        self.records.iter().flat_map(|r| r.fields.iter()).find(|s| s.id == id)
    }

    /// The case with its fields' texts replaced, in [`Case::sources`]
    /// order (a de-identified copy, for a model); missing texts leave a
    /// field as it was.
    pub fn with_texts(&self, texts: Vec<String>) -> Case {
        let mut case = self.clone();
        let fields = case.records.iter_mut().flat_map(|r| r.fields.iter_mut());
        for (field, text) in fields.zip(texts) {
            field.text = text;
        }
        case
    }

    /// The case cut to about `chars` characters of text: the presenting
    /// problems, then the latest records that fit (a long case would not
    /// fit a model's context). Also says how many records were left out.
    pub fn latest_within(&self, chars: usize) -> (Case, usize) {
        let size = |r: &CaseRecord| r.fields.iter().map(|f| f.text.len()).sum::<usize>();
        let mut used: usize = self.records.iter().filter(|r| r.kind == CaseRecordKind::Presenting).map(size).sum();
        let mut keep = vec![false; self.records.len()];
        for (i, record) in self.records.iter().enumerate().rev() {
            if record.kind == CaseRecordKind::Presenting {
                keep[i] = true;
            } else if used + size(record) <= chars {
                used += size(record);
                keep[i] = true;
            }
        }
        let left_out = keep.iter().filter(|k| !**k).count();
        let records = self.records.iter().zip(keep).filter(|(_, k)| *k).map(|(r, _)| r.clone()).collect();
        (Case { records }, left_out)
    }
}

/// The record id inside a source id (`session_note:<id>:plan` → `<id>`).
pub fn record_id_of(source: &str) -> Option<&str> {
    source.split(':').nth(1)
}

/// Bytes `start..end` of a source, quoted as written.
pub(crate) fn quoted(source: &Source, start: usize, end: usize) -> DraftSentence {
    DraftSentence {
        text: source.text[start..end].to_owned(),
        citation: Citation { source: source.id.clone(), start, end },
        basis: Basis::Quoted,
    }
}

/// A field's whole text, trimmed, quoted.
pub(crate) fn whole(source: &Source) -> DraftSentence {
    let start = source.text.len() - source.text.trim_start().len();
    let end = source.text.trim_end().len();
    quoted(source, start, end.max(start))
}

/// Every sentence of a source's text, with its byte range (labels such as
/// `P:` and list markers left out).
pub(crate) fn sentences(source: &Source) -> Vec<Piece> {
    lines(&source.text).into_iter().flat_map(|line| line.sentences).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(kind: CaseRecordKind, id: &str, date: &str, text: &str) -> CaseRecord {
        CaseRecord::new(kind, id, date, vec![("text", "Text".into(), text.into())])
    }

    #[test]
    fn a_long_case_keeps_the_presenting_problems_and_the_latest_records_that_fit() {
        let case = Case {
            records: vec![
                record(CaseRecordKind::Presenting, "c1", "2026-01-01", "Low mood."),
                record(CaseRecordKind::SessionNote, "n1", "2026-01-02", &"a".repeat(50)),
                record(CaseRecordKind::SessionNote, "n2", "2026-01-09", &"b".repeat(50)),
                record(CaseRecordKind::SessionNote, "n3", "2026-01-16", &"c".repeat(50)),
            ],
        };
        let (cut, left_out) = case.latest_within(120);
        let ids: Vec<&str> = cut.records.iter().map(|r| r.id.as_str()).collect();
        assert_eq!((ids, left_out), (vec!["c1", "n2", "n3"], 1));
        assert_eq!(case.latest_within(10_000).1, 0);
    }

    #[test]
    fn texts_are_replaced_in_source_order_and_ids_kept() {
        let case = Case {
            records: vec![
                record(CaseRecordKind::SessionNote, "n1", "2026-01-02", "Sam slept badly."),
                record(CaseRecordKind::SessionNote, "n2", "2026-01-09", "Sam walked."),
            ],
        };
        let hidden = case.with_texts(vec!["[NAME_1] slept badly.".into(), "[NAME_1] walked.".into()]);
        let sources = hidden.sources();
        assert_eq!(sources[1].id, "session_note:n2:text");
        assert_eq!(sources[1].text, "[NAME_1] walked.");
        assert_eq!(CaseRecordKind::code_of(&sources[1].id), "session_note");
        assert_eq!(CaseRecordKind::code_of("client:c1:presenting_problems"), "client");
    }
}
