//! The definition of an instrument, as data: what the client is shown
//! (instructions, items, answer options) and how it is scored (total,
//! subscales, multiplier, severity bands, the missing-items rule, risk
//! items, norms for reliable change). Shipped instruments are TOML files in
//! `crates/domain/instruments/`; a therapist's custom instrument is the same
//! structure, stored as JSON.
//!
//! A definition as parsed is unchecked; [`super::Instrument`] holds one
//! that passed validation.

use serde::{Deserialize, Serialize};

/// An instrument definition as written (unchecked).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct InstrumentDefinition {
    /// Stable identifier, lower case, e.g. `phq-9`. Results refer to it.
    pub id: String,
    /// Version of this definition (not of the questionnaire): raised on any
    /// change to items, options or scoring, so a stored result names the
    /// rules it was scored under.
    pub version: u32,
    /// Full name, e.g. "Patient Health Questionnaire-9".
    pub name: String,
    /// Short name for lists and charts, e.g. "PHQ-9".
    pub short_name: String,
    /// The stem shown to the client before the items.
    pub instructions: String,
    /// The period the answers are about, e.g. "Over the last 2 weeks".
    /// Empty when the instrument names none.
    #[serde(default)]
    pub time_frame: String,
    /// Who holds the rights and on what terms it may be used.
    pub licence: String,
    /// Publications the items and scoring come from.
    #[serde(default)]
    pub references: Vec<String>,
    pub response_scales: Vec<ResponseScale>,
    /// Numbered 1..n, in the order shown.
    pub items: Vec<Item>,
    pub scoring: Scoring,
    #[serde(default)]
    pub subscales: Vec<Subscale>,
    pub missing_items: MissingItems,
    #[serde(default)]
    pub risk_items: Vec<RiskItem>,
    /// Norms for reliable and clinically significant change, per scored
    /// scale (`total` or a subscale id). A scale without norms has no
    /// reliable-change figure.
    #[serde(default)]
    pub change_norms: Vec<ChangeNorms>,
}

/// A set of labelled answer options shared by items.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ResponseScale {
    /// Items name their scale by this id.
    pub id: String,
    /// In the order shown, values ascending.
    pub options: Vec<ResponseOption>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ResponseOption {
    /// Points scored for this answer.
    pub value: u32,
    /// What the client sees. May be empty for the unlabelled points
    /// between anchors (WSAS 1, 3, 5, 7); the lowest and highest option
    /// are always labelled.
    #[serde(default)]
    pub label: String,
}

impl ResponseScale {
    /// Lowest and highest value (options are validated to be ascending and
    /// at least two).
    pub fn bounds(&self) -> (u32, u32) {
        let min = self.options.iter().map(|o| o.value).min().unwrap_or(0);
        let max = self.options.iter().map(|o| o.value).max().unwrap_or(0);
        (min, max)
    }

    pub fn has_value(&self, value: u32) -> bool {
        self.options.iter().any(|o| o.value == value)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Item {
    /// 1-based position; answers are given in this order.
    pub number: u32,
    pub text: String,
    /// The id of its response scale.
    pub scale: String,
}

/// Which way the scores run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Symptom and impairment measures: all five shipped instruments.
    #[default]
    HigherIsWorse,
    /// Wellbeing and quality-of-life measures.
    HigherIsBetter,
}

/// How the total is formed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Scoring {
    /// Whether the instrument has a total (the sum of every item). The
    /// DASS-21 manual scores only its three scales.
    #[serde(default = "yes")]
    pub total: bool,
    /// Every scale's sum is multiplied by this (DASS-21: 2, so its scores
    /// sit on the DASS-42 metric).
    #[serde(default = "one")]
    pub multiplier: u32,
    #[serde(default)]
    pub direction: Direction,
    /// Severity bands of the total, lowest first, covering its whole
    /// range. Empty: the total has no bands.
    #[serde(default)]
    pub bands: Vec<Band>,
    /// Where the scoring and the bands come from.
    pub source: String,
}

fn yes() -> bool {
    true
}

fn one() -> u32 {
    1
}

/// A subscale: the sum of some items, times the multiplier.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Subscale {
    /// Lower case, e.g. `depression`; `total` is reserved.
    pub id: String,
    pub name: String,
    /// Item numbers, each at most once.
    pub items: Vec<u32>,
    /// As the total's bands; empty when the manual gives none.
    #[serde(default)]
    pub bands: Vec<Band>,
}

/// A severity band: an inclusive range of scores (after the multiplier).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Band {
    pub min: u32,
    pub max: u32,
    pub label: String,
}

impl Band {
    pub fn contains(&self, points: u32) -> bool {
        (self.min..=self.max).contains(&points)
    }
}

/// The rule for unanswered items. It applies to each scored scale (the
/// total, each subscale) on its own: a scale with at most `max_prorated`
/// unanswered items is prorated, one with more has no score.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MissingItems {
    /// 0: every item of a scale must be answered for it to be scored.
    /// Otherwise the sum of the answered items is scaled up to the whole
    /// scale: `sum × items / answered`, rounded to the nearest whole point
    /// (halves up), before the multiplier.
    #[serde(default)]
    pub max_prorated: u32,
    /// The rule in one or two sentences, shown with every result.
    pub statement: String,
    /// Where the rule comes from, or why it was chosen.
    pub source: String,
}

/// An item whose answer raises a risk flag, whatever the total.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RiskItem {
    pub item: u32,
    /// A flag is raised when the answer is at least this.
    pub threshold: u32,
    /// Shown with the flag: neutral, and never the client's answer.
    pub message: String,
}

/// Figures for the Jacobson-Truax reliable change index and clinically
/// significant change of one scale, each with its source.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ChangeNorms {
    /// `total` or a subscale id.
    pub scale: String,
    /// Reliability coefficient, in (0, 1).
    pub reliability: f64,
    pub reliability_source: String,
    /// Standard deviation of the reference sample, in points after the
    /// multiplier.
    pub sd: f64,
    pub sd_source: String,
    /// Where the clinical range begins: a score at or above it (at or
    /// below it when higher is better) is in the clinical range.
    pub clinical_cutoff: u32,
    pub cutoff_source: String,
}

/// The scale name of the total, in subscale positions (change norms,
/// scores).
pub const TOTAL: &str = "total";

/// A custom instrument is the therapist's writing: cleared from memory
/// when dropped, like every record.
impl zeroize::Zeroize for InstrumentDefinition {
    fn zeroize(&mut self) {
        self.name.zeroize();
        self.short_name.zeroize();
        self.instructions.zeroize();
        for item in &mut self.items {
            item.text.zeroize();
        }
        self.items.clear();
    }
}
