//! One completed questionnaire, as a clinical record: the answers item by
//! item, the date, who answered (the therapist in session, or the client
//! through a link), a comment, and the score worked out from the answers
//! when it is saved (never taken from the form or the API). A risk flag
//! stays open until the therapist acknowledges it.
//!
//! A result names the instrument it was scored under by key: a shipped
//! instrument's id (`phq-9`), or `custom:<uuid>` for a therapist's own,
//! whose definition the result keeps a copy of, so a later change to the
//! instrument never changes a past score.

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use super::{Instrument, InstrumentDefinition, Score, library};
use crate::audit::{AuditAction, TargetKind};
use crate::ids::{AccountId, RecordId};
use crate::record::{ClinicalRecord, RecordActions, check_text, iso_date};
use crate::validation::{FieldError, FieldErrors};

/// Who gave the answers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Respondent {
    /// Entered by the therapist, usually in session.
    #[default]
    Therapist,
    /// Submitted by the client through a self-report link.
    Client,
}

impl Respondent {
    pub fn label(self) -> &'static str {
        match self {
            Self::Therapist => "Entered by the therapist",
            Self::Client => "Completed by the client",
        }
    }
}

/// The therapist's acknowledgement of a result's risk flags.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acknowledgement {
    pub by: AccountId,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The items whose flags were seen: a change that flags another item
    /// raises the flag again.
    pub items: Vec<u32>,
}

/// The key of a therapist's own instrument.
pub fn custom_key(id: impl std::fmt::Display) -> String {
    format!("custom:{id}")
}

/// One completed questionnaire. All of it is PHI.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssessmentResult {
    /// `phq-9`, … or `custom:<uuid>`.
    pub instrument: String,
    /// A copy of a custom instrument's definition; `None` for shipped ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub definition: Option<InstrumentDefinition>,
    #[serde(with = "iso_date::required")]
    pub taken_on: Date,
    /// In item order; `None` is an unanswered item.
    pub answers: Vec<Option<u32>>,
    #[serde(default)]
    pub comment: String,
    #[serde(default)]
    pub respondent: Respondent,
    /// Worked out from the answers on every save.
    #[serde(default)]
    pub score: Option<Score>,
    #[serde(default)]
    pub acknowledged: Option<Acknowledgement>,
}

pub const COMMENT_MAX: usize = 2_000;

impl AssessmentResult {
    /// A result to be scored on saving.
    pub fn new(instrument: &str, definition: Option<InstrumentDefinition>, taken_on: Date) -> Self {
        Self {
            instrument: instrument.to_owned(),
            definition,
            taken_on,
            answers: Vec::new(),
            comment: String::new(),
            respondent: Respondent::Therapist,
            score: None,
            acknowledged: None,
        }
    }

    /// The instrument it is scored under: a shipped one by id, or the
    /// copy of a custom one.
    pub fn instrument(&self) -> Result<Instrument, FieldErrors> {
        match &self.definition {
            Some(definition) if self.instrument.starts_with("custom:") => Instrument::new(definition.clone()),
            Some(_) => Err(FieldError::new("instrument", "Only custom instruments come with a definition.").into()),
            None => library()
                .map_err(|e| e.errors)?
                .get(&self.instrument)
                .cloned()
                .ok_or_else(|| FieldError::new("instrument", "Choose one of the instruments offered.").into()),
        }
    }

    /// The score as saved (a result is always scored when saved).
    pub fn score(&self) -> Option<&Score> {
        self.score.as_ref()
    }

    /// Risk flags that have not been acknowledged.
    pub fn open_flags(&self) -> bool {
        let Some(score) = &self.score else { return false };
        let acknowledged = self.acknowledged.as_ref().map(|a| a.items.as_slice()).unwrap_or_default();
        score.risk_flags.iter().any(|f| !acknowledged.contains(&f.item))
    }

    /// Marks every current flag seen.
    pub fn acknowledge(&mut self, by: AccountId, at: OffsetDateTime) {
        let items = self.score.iter().flat_map(|s| s.risk_flags.iter().map(|f| f.item)).collect();
        self.acknowledged = Some(Acknowledgement { by, at, items });
    }

    /// Its entry in the client's index.
    pub fn indexed(&self, id: RecordId) -> IndexedResult {
        let (version, points) = match &self.score {
            Some(s) => (
                s.version,
                s.scales()
                    .map(|scale| IndexedPoints {
                        scale: scale.scale.clone(),
                        points: scale.points,
                        band: scale.band.as_ref().map(|b| b.label.clone()),
                    })
                    .collect(),
            ),
            None => (0, Vec::new()),
        };
        let risk = match (&self.score, self.open_flags()) {
            (_, true) => RiskState::Open,
            (Some(s), false) if !s.risk_flags.is_empty() => RiskState::Acknowledged,
            _ => RiskState::None,
        };
        IndexedResult { id, instrument: self.instrument.clone(), version, taken_on: self.taken_on, points, risk }
    }
}

impl zeroize::Zeroize for AssessmentResult {
    fn zeroize(&mut self) {
        self.answers.iter_mut().for_each(|a| *a = None);
        self.answers.clear();
        self.comment.zeroize();
        self.score = None;
        self.acknowledged = None;
    }
}

impl ClinicalRecord for AssessmentResult {
    const KIND: &'static str = "assessment";
    const NAME: &'static str = "assessment result";
    const TARGET: TargetKind = TargetKind::Assessment;
    const ACTIONS: RecordActions = RecordActions {
        create: AuditAction::AssessmentRecorded,
        read: AuditAction::AssessmentRead,
        update: AuditAction::AssessmentUpdated,
        list: AuditAction::AssessmentsListed,
        history: AuditAction::AssessmentHistoryRead,
        sign: None,
        addendum: None,
    };

    fn validated(mut self, today: Date) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        check_text(&mut errors, "comment", "the comment", &mut self.comment, COMMENT_MAX);
        if self.taken_on > today {
            errors.push(FieldError::new("taken_on", "The date cannot be in the future."));
        }
        if self.taken_on.year() < 1900 {
            errors.push(FieldError::new("taken_on", "Enter the date it was completed."));
        }
        match self.instrument() {
            Err(e) => errors.0.extend(e.0),
            Ok(instrument) => match instrument.score(&self.answers) {
                Ok(score) => self.score = Some(score),
                Err(e) => errors.0.extend(FieldErrors::from(e).0),
            },
        }
        if let (Some(score), Some(ack)) = (&self.score, &self.acknowledged) {
            // A change that flags an item not seen before raises it again.
            if score.risk_flags.iter().any(|f| !ack.items.contains(&f.item)) {
                self.acknowledged = None;
            }
        }
        errors.into_result().map(|()| self)
    }

    /// The instrument, who answered and the acknowledgement are not the
    /// form's to change.
    fn keep_from(&mut self, saved: &Self) {
        self.instrument.clone_from(&saved.instrument);
        self.definition.clone_from(&saved.definition);
        self.respondent = saved.respondent;
        self.acknowledged.clone_from(&saved.acknowledged);
    }

    fn index_entry(&self, id: RecordId, _signed: bool) -> Option<crate::record::IndexEntry> {
        Some(crate::record::IndexEntry::Result(self.indexed(id)))
    }

    fn date(&self) -> Option<Date> {
        Some(self.taken_on)
    }

    fn title(&self) -> String {
        let name = self.definition.as_ref().map_or_else(
            || library().ok().and_then(|l| l.get(&self.instrument)).map(|i| i.definition().short_name.clone()),
            |d| Some(d.short_name.clone()),
        );
        let name = name.unwrap_or_else(|| self.instrument.clone());
        match self.score.as_ref().and_then(|s| s.scales().next()).and_then(|s| s.points.map(|p| (p, s.band.clone()))) {
            Some((points, Some(band))) => format!("{name}: {points} ({})", band.label),
            Some((points, None)) => format!("{name}: {points}"),
            None => format!("{name}: not scored"),
        }
    }
}

/// Whether a result raised risk flags and whether they were seen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskState {
    #[default]
    None,
    Open,
    Acknowledged,
}

/// The points of one scale in the index.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexedPoints {
    pub scale: String,
    pub points: Option<u32>,
    /// The band as scored then (a custom instrument's bands may change).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub band: Option<String>,
}

/// What the client page and the charts need of one result, kept in the
/// client's index so the page does not open every result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexedResult {
    pub id: RecordId,
    pub instrument: String,
    pub version: u32,
    #[serde(with = "iso_date::required")]
    pub taken_on: Date,
    /// Total first, then the subscales.
    pub points: Vec<IndexedPoints>,
    #[serde(default)]
    pub risk: RiskState,
}

impl IndexedResult {
    pub fn points_of(&self, scale: &str) -> Option<u32> {
        self.points.iter().find(|p| p.scale == scale).and_then(|p| p.points)
    }
}

impl zeroize::Zeroize for IndexedResult {
    fn zeroize(&mut self) {
        self.instrument.zeroize();
        self.points.clear();
    }
}

#[cfg(test)]
mod tests {
    use time::macros::{date, datetime};

    use super::*;

    const TODAY: Date = date!(2026 - 12 - 03);

    fn phq9(answers: [u32; 9]) -> AssessmentResult {
        let mut r = AssessmentResult::new("phq-9", None, date!(2026 - 12 - 01));
        r.answers = answers.iter().map(|a| Some(*a)).collect();
        r
    }

    #[test]
    fn the_score_is_worked_out_on_saving_whatever_was_sent() {
        let mut sent = phq9([2, 2, 2, 2, 1, 1, 1, 1, 0]);
        let mut forged = phq9([0; 9]).validated(TODAY).unwrap().score.unwrap();
        forged.risk_flags.clear();
        sent.score = Some(forged);
        let saved = sent.validated(TODAY).unwrap();
        let score = saved.score.as_ref().unwrap();
        assert_eq!(score.total.as_ref().and_then(|t| t.points), Some(12));
        assert_eq!(score.total.as_ref().and_then(|t| t.band.as_ref()).map(|b| b.label.as_str()), Some("Moderate"));
        assert_eq!(saved.title(), "PHQ-9: 12 (Moderate)");
    }

    #[test]
    fn item_nine_raises_a_flag_until_acknowledged_and_a_new_flagged_item_raises_it_again() {
        let saved = phq9([1, 1, 1, 1, 1, 1, 1, 1, 1]).validated(TODAY).unwrap();
        assert!(saved.open_flags());
        let id = RecordId::new();
        assert_eq!(saved.indexed(id).risk, RiskState::Open);
        let mut seen = saved.clone();
        seen.acknowledge(AccountId::new(), datetime!(2026-12-03 10:00 UTC));
        assert!(!seen.open_flags());
        assert_eq!(seen.indexed(id).risk, RiskState::Acknowledged);
        // A correction that keeps the same flag keeps the acknowledgement.
        let mut changed = phq9([2, 1, 1, 1, 1, 1, 1, 1, 2]);
        changed.keep_from(&seen);
        let changed = changed.validated(TODAY).unwrap();
        assert!(!changed.open_flags());
        assert_eq!(changed.acknowledged, seen.acknowledged);
        // Without a flagged item there is nothing to be open.
        let calm = phq9([0; 9]).validated(TODAY).unwrap();
        assert_eq!(calm.indexed(id).risk, RiskState::None);
    }

    #[test]
    fn a_change_flagging_an_item_not_seen_before_clears_the_acknowledgement() {
        let mut r = phq9([0; 9]).validated(TODAY).unwrap();
        r.acknowledge(AccountId::new(), datetime!(2026-12-03 10:00 UTC));
        assert_eq!(r.acknowledged.as_ref().map(|a| a.items.len()), Some(0));
        let mut changed = phq9([0, 0, 0, 0, 0, 0, 0, 0, 3]);
        changed.keep_from(&r);
        let changed = changed.validated(TODAY).unwrap();
        assert!(changed.acknowledged.is_none());
        assert!(changed.open_flags());
    }

    #[test]
    fn bad_saves_name_their_fields() {
        let mut r = phq9([0; 9]);
        r.taken_on = date!(2026 - 12 - 04);
        r.answers[3] = Some(7);
        r.comment = "x".repeat(COMMENT_MAX + 1);
        let fields: Vec<_> = r.validated(TODAY).unwrap_err().0.iter().map(|e| e.field).collect();
        assert_eq!(fields, vec!["comment", "taken_on", "answers"]);
        let unknown = AssessmentResult::new("phq-99", None, TODAY);
        let errors = unknown.validated(TODAY).unwrap_err();
        assert_eq!(errors.0.iter().map(|e| e.field).collect::<Vec<_>>(), vec!["instrument"]);
        // A shipped instrument cannot be passed off with a definition of
        // the sender's making.
        let definition = library().unwrap().get("gad-7").unwrap().definition().clone();
        let smuggled = AssessmentResult::new("phq-9", Some(definition), TODAY);
        assert!(smuggled.validated(TODAY).is_err());
    }

    #[test]
    fn keep_from_holds_the_instrument_respondent_and_acknowledgement() {
        let mut saved = phq9([1; 9]).validated(TODAY).unwrap();
        saved.respondent = Respondent::Client;
        saved.acknowledge(AccountId::new(), datetime!(2026-12-03 10:00 UTC));
        let mut change = AssessmentResult::new("gad-7", None, TODAY);
        change.answers = saved.answers.clone();
        change.keep_from(&saved);
        assert_eq!(change.instrument, "phq-9");
        assert_eq!(change.respondent, Respondent::Client);
        assert_eq!(change.acknowledged, saved.acknowledged);
    }

    #[test]
    fn a_custom_result_is_scored_by_its_own_copy_of_the_definition() {
        let mut definition = library().unwrap().get("gad-7").unwrap().definition().clone();
        definition.id = "my-gad".into();
        definition.short_name = "My GAD".into();
        let mut r = AssessmentResult::new(&custom_key(RecordId::new()), Some(definition), TODAY);
        r.answers = vec![Some(3); 7];
        let saved = r.validated(TODAY).unwrap();
        assert_eq!(saved.score.as_ref().and_then(|s| s.total.as_ref()).and_then(|t| t.points), Some(21));
        assert!(saved.title().starts_with("My GAD: 21"));
    }
}
