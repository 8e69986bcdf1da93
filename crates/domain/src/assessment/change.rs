//! Change between two results of the same scale: the Jacobson-Truax
//! reliable change index and clinically significant change.
//!
//! Jacobson, N. S., & Truax, P. (1991). Clinical significance: a
//! statistical approach to defining meaningful change in psychotherapy
//! research. Journal of Consulting and Clinical Psychology, 59(1), 12–19.
//!
//! `SE = SD·√(1 − r)`, `S_diff = √2·SE`, `RCI = (after − before) / S_diff`;
//! the change is reliable when `|RCI| > 1.96` (beyond what measurement
//! error alone would give 95% of the time). It is clinically significant
//! when it is a reliable improvement that takes the score from the clinical
//! range (at or above the cut-off when higher is worse) out of it.

use serde::{Deserialize, Serialize};

use super::definition::{ChangeNorms, Direction};

/// `|RCI|` must exceed this for a change to be reliable.
pub const RCI_CRITICAL: f64 = 1.96;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReliableChange {
    Improved,
    Deteriorated,
    NoReliableChange,
}

impl ReliableChange {
    pub fn label(self) -> &'static str {
        match self {
            Self::Improved => "Reliable improvement",
            Self::Deteriorated => "Reliable deterioration",
            Self::NoReliableChange => "No reliable change",
        }
    }
}

/// The change of one scale between two results.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// `total` or a subscale id.
    pub scale: String,
    pub before: u32,
    pub after: u32,
    /// `(after − before) / S_diff`: negative is a fall in points.
    pub rci: f64,
    pub reliable_change: ReliableChange,
    /// A reliable improvement from the clinical range out of it.
    pub clinically_significant: bool,
    /// The smallest change in whole points that is reliable with these
    /// norms (for display: "a change of N points or more is reliable").
    pub reliable_change_points: u32,
}

impl ChangeNorms {
    /// Standard error of measurement: `SD·√(1 − r)`.
    pub fn standard_error(&self) -> f64 {
        self.sd * (1.0 - self.reliability).sqrt()
    }

    /// Standard error of the difference of two scores: `√2·SE`.
    pub fn s_diff(&self) -> f64 {
        std::f64::consts::SQRT_2 * self.standard_error()
    }

    /// The reliable change index of a change from `before` to `after`.
    pub fn rci(&self, before: u32, after: u32) -> f64 {
        (f64::from(after) - f64::from(before)) / self.s_diff()
    }

    /// Whether a score is in the clinical range.
    pub fn is_clinical(&self, direction: Direction, points: u32) -> bool {
        match direction {
            Direction::HigherIsWorse => points >= self.clinical_cutoff,
            Direction::HigherIsBetter => points <= self.clinical_cutoff,
        }
    }

    /// The smallest whole-point change whose `|RCI|` exceeds 1.96.
    pub fn reliable_change_points(&self) -> u32 {
        let s_diff = self.s_diff();
        let reliable = |d: u32| f64::from(d) / s_diff > RCI_CRITICAL;
        // A first guess from the threshold, then settled by the same test
        // as `assess` uses, so the two never disagree at the boundary.
        let guess = (RCI_CRITICAL * s_diff).floor();
        let mut d = if guess.is_finite() && guess >= 0.0 && guess < f64::from(u32::MAX) { guess as u32 } else { 0 };
        while d > 0 && reliable(d - 1) {
            d -= 1;
        }
        while !reliable(d) && d < u32::MAX {
            d += 1;
        }
        d
    }

    /// Reliable and clinically significant change from `before` to `after`.
    pub fn assess(&self, scale: &str, direction: Direction, before: u32, after: u32) -> Change {
        let rci = self.rci(before, after);
        let reliable_change = if rci.abs() <= RCI_CRITICAL || rci.is_nan() {
            ReliableChange::NoReliableChange
        } else {
            let rose = rci > 0.0;
            match (direction, rose) {
                (Direction::HigherIsWorse, false) | (Direction::HigherIsBetter, true) => ReliableChange::Improved,
                (Direction::HigherIsWorse, true) | (Direction::HigherIsBetter, false) => ReliableChange::Deteriorated,
            }
        };
        let clinically_significant = reliable_change == ReliableChange::Improved
            && self.is_clinical(direction, before)
            && !self.is_clinical(direction, after);
        Change {
            scale: scale.to_owned(),
            before,
            after,
            rci,
            reliable_change,
            clinically_significant,
            reliable_change_points: self.reliable_change_points(),
        }
    }
}
