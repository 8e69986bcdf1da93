//! Scoring one completed instrument: the answers, item by item, become the
//! total and subscale scores (whole points), their severity bands, and the
//! risk flags. Nothing here rounds a score except proration, whose rule is
//! stated in `MissingItems`.

use serde::{Deserialize, Serialize};

use super::definition::{Band, InstrumentDefinition, TOTAL};
use super::validate::range_of;
use crate::validation::{FieldError, FieldErrors};

/// The score of one scale: the total or a subscale.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScaleScore {
    /// `total` or the subscale id.
    pub scale: String,
    pub name: String,
    /// Points after proration and the multiplier; `None` when more of its
    /// items are unanswered than the missing-items rule allows.
    pub points: Option<u32>,
    /// The lowest and highest possible score.
    pub min: u32,
    pub max: u32,
    /// The severity band of `points`, when the scale has bands.
    pub band: Option<Band>,
    /// Its unanswered items.
    pub missing: u32,
    /// Whether `points` was prorated from the answered items.
    pub prorated: bool,
}

/// A risk item answered at or above its threshold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskFlag {
    pub item: u32,
    /// The definition's neutral message (never the answer).
    pub message: String,
}

/// The result of scoring one set of answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Score {
    /// The instrument's id and definition version it was scored under.
    pub instrument: String,
    pub version: u32,
    /// `None` when the instrument has no total (DASS-21).
    pub total: Option<ScaleScore>,
    /// In the definition's order.
    pub subscales: Vec<ScaleScore>,
    /// The numbers of the unanswered items.
    pub missing_items: Vec<u32>,
    /// Raised from the answers alone, also when no score could be given.
    pub risk_flags: Vec<RiskFlag>,
}

impl Score {
    /// The total (`total`) or a subscale by id.
    pub fn scale(&self, id: &str) -> Option<&ScaleScore> {
        if id == TOTAL { self.total.as_ref() } else { self.subscales.iter().find(|s| s.scale == id) }
    }

    /// Every scored scale: the total first, then the subscales.
    pub fn scales(&self) -> impl Iterator<Item = &ScaleScore> {
        self.total.iter().chain(&self.subscales)
    }

    pub fn missing(&self) -> usize {
        self.missing_items.len()
    }

    /// Whether any scale was prorated.
    pub fn prorated(&self) -> bool {
        self.scales().any(|s| s.prorated)
    }
}

/// Answers that cannot be scored at all. Names items, never values.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    #[error("expected {expected} answers, got {got}")]
    WrongCount { expected: usize, got: usize },
    /// The answers to these items are not among their options.
    #[error("answers that are not options of items {items:?}")]
    NotAnOption { items: Vec<u32> },
}

impl From<AnswerError> for FieldErrors {
    fn from(e: AnswerError) -> Self {
        match e {
            AnswerError::WrongCount { expected, got } => FieldError::new(
                "answers",
                format!("Expected an answer (or none) for each of the {expected} items, not {got}."),
            )
            .into(),
            AnswerError::NotAnOption { items } => FieldErrors(
                items
                    .into_iter()
                    .map(|n| FieldError::new("answers", format!("Item {n}: choose one of the answers offered.")))
                    .collect(),
            ),
        }
    }
}

/// Scores answers given in item order (`answers[0]` is item 1); `None` is
/// an unanswered item. The definition has been validated.
pub(super) fn score(def: &InstrumentDefinition, answers: &[Option<u32>]) -> Result<Score, AnswerError> {
    if answers.len() != def.items.len() {
        return Err(AnswerError::WrongCount { expected: def.items.len(), got: answers.len() });
    }
    let not_options: Vec<u32> = def
        .items
        .iter()
        .zip(answers)
        .filter_map(|(item, answer)| {
            let value = (*answer)?;
            let offered = def.response_scales.iter().find(|s| s.id == item.scale).is_some_and(|s| s.has_value(value));
            (!offered).then_some(item.number)
        })
        .collect();
    if !not_options.is_empty() {
        return Err(AnswerError::NotAnOption { items: not_options });
    }
    let answer = |number: u32| -> Option<u32> {
        let index = usize::try_from(number).ok()?.checked_sub(1)?;
        answers.get(index).copied().flatten()
    };

    let total = def.scoring.total.then(|| {
        let all: Vec<u32> = def.items.iter().map(|i| i.number).collect();
        score_scale(def, TOTAL, "Total", &all, &def.scoring.bands, answer)
    });
    let subscales =
        def.subscales.iter().map(|s| score_scale(def, &s.id, &s.name, &s.items, &s.bands, answer)).collect();
    let missing_items = def.items.iter().map(|i| i.number).filter(|n| answer(*n).is_none()).collect();
    let risk_flags = def
        .risk_items
        .iter()
        .filter(|r| answer(r.item).is_some_and(|v| v >= r.threshold))
        .map(|r| RiskFlag { item: r.item, message: r.message.clone() })
        .collect();
    Ok(Score { instrument: def.id.clone(), version: def.version, total, subscales, missing_items, risk_flags })
}

fn score_scale(
    def: &InstrumentDefinition,
    id: &str,
    name: &str,
    items: &[u32],
    bands: &[Band],
    answer: impl Fn(u32) -> Option<u32>,
) -> ScaleScore {
    let (min, max) = range_of(def, items);
    let given: Vec<u32> = items.iter().filter_map(|n| answer(*n)).collect();
    let n = items.len() as u64;
    let answered = given.len() as u64;
    let missing = n - answered;
    let sum: u64 = given.iter().map(|v| u64::from(*v)).sum();
    let raw = if missing == 0 {
        Some(sum)
    } else if missing <= u64::from(def.missing_items.max_prorated) && answered > 0 {
        // sum × n / answered, rounded to the nearest whole point, halves up.
        Some((2 * sum * n + answered) / (2 * answered))
    } else {
        None
    };
    let points =
        raw.and_then(|r| u32::try_from(r).ok()).map(|r| r.saturating_mul(def.scoring.multiplier).clamp(min, max));
    ScaleScore {
        scale: id.to_owned(),
        name: name.to_owned(),
        points,
        min,
        max,
        band: points.and_then(|p| bands.iter().find(|b| b.contains(p)).cloned()),
        missing: u32::try_from(missing).unwrap_or(u32::MAX),
        prorated: missing > 0 && points.is_some(),
    }
}
