//! Assessment instruments and their scoring, as data: each instrument is a
//! versioned definition (items, answer options, scoring rule, subscales,
//! severity bands, missing-items rule, risk items, change norms, licence),
//! shipped as a TOML file in `crates/domain/instruments/` or made by a
//! therapist. One scoring engine serves all of them; there is no code path
//! per questionnaire.
//!
//! - [`InstrumentDefinition`]: the definition as written (serde).
//! - [`Instrument`]: a definition that passed validation; it scores
//!   answers ([`Instrument::score`]) and assesses change between two
//!   results ([`Instrument::change`]).
//! - [`library`]: the shipped instruments (PHQ-9, GAD-7, PCL-5, DASS-21,
//!   WSAS), parsed and validated once.
//!
//! Design and sources: `docs/design/assessments.md`.

mod change;
mod definition;
mod library;
mod result;
mod risk;
mod scoring;
mod validate;

#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize, Serializer};

pub use change::{Change, RCI_CRITICAL, ReliableChange};
pub use definition::{
    Band, ChangeNorms, Direction, InstrumentDefinition, Item, MissingItems, ResponseOption, ResponseScale, RiskItem,
    Scoring, Subscale, TOTAL,
};
pub use library::{Library, LibraryError, library};
pub use result::{
    Acknowledgement, AssessmentResult, COMMENT_MAX, IndexedPoints, IndexedResult, Respondent, RiskState, custom_key,
};
pub use risk::{OpenRiskFlag, OpenRiskFlags};
pub use scoring::{AnswerError, RiskFlag, ScaleScore, Score};
pub use validate::{
    BAND_LABEL_MAX, BANDS_MAX, ID_MAX, INSTRUCTIONS_MAX, ITEM_TEXT_MAX, ITEMS_MAX, LICENCE_MAX, MULTIPLIER_MAX,
    NAME_MAX, OPTION_LABEL_MAX, OPTIONS_MAX, REFERENCE_MAX, REFERENCES_MAX, RESPONSE_SCALES_MAX, RISK_ITEMS_MAX,
    RISK_MESSAGE_MAX, SHORT_NAME_MAX, SOURCE_MAX, STATEMENT_MAX, SUBSCALES_MAX, TIME_FRAME_MAX, VALUE_MAX, VERSION_MAX,
};

use crate::validation::{FieldError, FieldErrors};

/// An instrument whose definition passed validation: holding one means it
/// can be shown and scored. Serialises as its definition; deserialising
/// validates again.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(try_from = "InstrumentDefinition")]
pub struct Instrument(InstrumentDefinition);

impl Instrument {
    /// Validates (and tidies: text trimmed, items in number order) a
    /// definition, reporting every problem at once.
    pub fn new(mut definition: InstrumentDefinition) -> Result<Self, FieldErrors> {
        validate::validate(&mut definition)?;
        Ok(Self(definition))
    }

    /// Reads a definition file (TOML) and validates it.
    pub fn from_toml(text: &str) -> Result<Self, FieldErrors> {
        let definition: InstrumentDefinition = toml::from_str(text).map_err(|e| {
            let line = e.span().and_then(|s| text.get(..s.start)).map(|before| before.matches('\n').count() + 1);
            let at = line.map(|l| format!(" (line {l})")).unwrap_or_default();
            FieldError::new("definition", format!("The definition could not be read{at}: {}", e.message()))
        })?;
        Self::new(definition)
    }

    pub fn definition(&self) -> &InstrumentDefinition {
        &self.0
    }

    pub fn id(&self) -> &str {
        &self.0.id
    }

    /// Scores answers given in item order (`answers[0]` is item 1; `None`
    /// is unanswered). An answer that is not one of its item's options, or
    /// the wrong number of answers, is an error naming the items.
    pub fn score(&self, answers: &[Option<u32>]) -> Result<Score, AnswerError> {
        scoring::score(&self.0, answers)
    }

    /// The lowest and highest possible score of `total` or a subscale.
    pub fn range(&self, scale: &str) -> Option<(u32, u32)> {
        validate::items_of(&self.0, scale).map(|items| validate::range_of(&self.0, &items))
    }

    /// The band of a score of `total` or a subscale.
    pub fn band(&self, scale: &str, points: u32) -> Option<&Band> {
        let bands = if scale == TOTAL {
            self.0.scoring.total.then_some(&self.0.scoring.bands)?
        } else {
            &self.0.subscales.iter().find(|s| s.id == scale)?.bands
        };
        bands.iter().find(|b| b.contains(points))
    }

    /// The change norms of `total` or a subscale, if the definition has any.
    pub fn norms(&self, scale: &str) -> Option<&ChangeNorms> {
        self.0.change_norms.iter().find(|n| n.scale == scale)
    }

    /// Reliable and clinically significant change of one scale; `None`
    /// when the scale has no change norms.
    pub fn change(&self, scale: &str, before: u32, after: u32) -> Option<Change> {
        Some(self.norms(scale)?.assess(scale, self.0.scoring.direction, before, after))
    }

    /// The change of every scale with norms that both results could score.
    pub fn changes(&self, before: &Score, after: &Score) -> Vec<Change> {
        self.0
            .change_norms
            .iter()
            .filter_map(|n| {
                let b = before.scale(&n.scale)?.points?;
                let a = after.scale(&n.scale)?.points?;
                Some(n.assess(&n.scale, self.0.scoring.direction, b, a))
            })
            .collect()
    }
}

impl TryFrom<InstrumentDefinition> for Instrument {
    type Error = FieldErrors;

    fn try_from(definition: InstrumentDefinition) -> Result<Self, FieldErrors> {
        Self::new(definition)
    }
}

impl Serialize for Instrument {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}
