//! What the charts over dates share (the goal progress chart, the score
//! chart): their width, the plot's left and right edges, and the date axis
//! along the bottom.

use time::{Date, Duration};

use crate::svg::{Anchor, Canvas, STROKE, TextStyle, iso};

pub(crate) const WIDTH: f32 = 640.0;
/// The plot's left and right: room left of it for the value labels, and on
/// both sides for half a date label.
pub(crate) const PLOT_LEFT: f32 = 48.0;
pub(crate) const PLOT_RIGHT: f32 = WIDTH - 40.0;
const MAX_DATE_LABELS: i64 = 6;

/// Dates from the first to the last across the plot.
pub(crate) struct DateAxis {
    pub(crate) first: Date,
    pub(crate) last: Date,
}

impl DateAxis {
    /// The axis over `dates`, or `None` when there are none.
    pub(crate) fn over(dates: impl IntoIterator<Item = Date>) -> Option<Self> {
        let mut dates = dates.into_iter();
        let first = dates.next()?;
        let (first, last) = dates.fold((first, first), |(lo, hi), d| (lo.min(d), hi.max(d)));
        Some(DateAxis { first, last })
    }

    fn days(&self) -> i64 {
        (self.last - self.first).whole_days()
    }

    /// One day alone sits in the middle.
    pub(crate) fn x_of(&self, date: Date) -> f32 {
        let days = self.days();
        if days == 0 {
            return (PLOT_LEFT + PLOT_RIGHT) / 2.0;
        }
        let share = (date - self.first).whole_days() as f32 / days as f32;
        PLOT_LEFT + share * (PLOT_RIGHT - PLOT_LEFT)
    }

    /// Evenly spread dates to label, the first and last included, at most
    /// `MAX_DATE_LABELS` (a label is about 70 px wide).
    pub(crate) fn ticks(&self) -> Vec<Date> {
        let days = self.days();
        let count = (days + 1).min(MAX_DATE_LABELS);
        if count <= 1 {
            return vec![self.first];
        }
        let mut ticks: Vec<Date> =
            (0..count).map(|i| self.first + Duration::days((i * days + (count - 1) / 2) / (count - 1))).collect();
        ticks.dedup();
        ticks
    }

    /// A tick and a date label under the plot, whose bottom is at `bottom`,
    /// for each of [`Self::ticks`].
    pub(crate) fn draw(&self, canvas: &mut Canvas, bottom: f32) {
        for date in self.ticks() {
            let x = self.x_of(date);
            canvas.line((x, bottom), (x, bottom + 5.0), STROKE);
            canvas.text(x, bottom + 20.0, &iso(date), TextStyle::MUTED.anchored(Anchor::Middle));
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    #[test]
    fn ticks_run_from_first_to_last_and_stay_few() {
        let axis = DateAxis { first: date!(2026 - 01 - 01), last: date!(2026 - 12 - 31) };
        let ticks = axis.ticks();
        assert_eq!(ticks.len(), 6);
        assert_eq!(ticks.first(), Some(&date!(2026 - 01 - 01)));
        assert_eq!(ticks.last(), Some(&date!(2026 - 12 - 31)));
        let short = DateAxis { first: date!(2026 - 01 - 01), last: date!(2026 - 01 - 03) };
        assert_eq!(short.ticks(), [date!(2026 - 01 - 01), date!(2026 - 01 - 02), date!(2026 - 01 - 03)]);
        let one = DateAxis { first: date!(2026 - 01 - 01), last: date!(2026 - 01 - 01) };
        assert_eq!(one.ticks(), [date!(2026 - 01 - 01)]);
        assert_eq!(one.x_of(date!(2026 - 01 - 01)), (PLOT_LEFT + PLOT_RIGHT) / 2.0);
    }

    #[test]
    fn the_axis_spans_the_earliest_to_the_latest_date_in_any_order() {
        let axis = DateAxis::over([date!(2026 - 03 - 01), date!(2026 - 01 - 01), date!(2026 - 02 - 01)]);
        let axis = axis.map(|a| (a.first, a.last));
        assert_eq!(axis, Some((date!(2026 - 01 - 01), date!(2026 - 03 - 01))));
        assert!(DateAxis::over([]).is_none());
    }
}
