//! The client's timeline: sessions, assessments, plan reviews, homework and
//! formulation revisions as marks along a strip of months (the last 12
//! months up to the latest event at most), one lane and one mark shape and
//! colour per kind, with a legend.

use std::collections::BTreeMap;
use std::fmt::{self, Display};

use time::{Date, Month};

use crate::svg::{Canvas, GRID, IsoDate, PALETTE, STROKE, Shape, TextStyle, iso};

/// What happened on a day of the client's care.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TimelineKind {
    Session,
    Assessment,
    PlanReview,
    Homework,
    Formulation,
}

impl TimelineKind {
    /// In the order of the lanes, top to bottom, and of the legend.
    pub const ALL: [TimelineKind; 5] =
        [Self::Session, Self::Assessment, Self::PlanReview, Self::Homework, Self::Formulation];

    pub fn label(self) -> &'static str {
        match self {
            Self::Session => "Session",
            Self::Assessment => "Assessment",
            Self::PlanReview => "Plan review",
            Self::Homework => "Homework",
            Self::Formulation => "Formulation",
        }
    }

    fn lane(self) -> usize {
        Self::ALL.iter().position(|k| *k == self).unwrap_or(0)
    }

    fn colour(self) -> &'static str {
        PALETTE[self.lane()]
    }

    fn shape(self) -> Shape {
        Shape::ALL[self.lane()]
    }
}

/// One mark on the timeline. `label` is what its tooltip says after the
/// date, e.g. "Session note" or "Homework: Completed".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimelineEvent {
    pub date: Date,
    pub kind: TimelineKind,
    pub label: String,
}

const WIDTH: f32 = 960.0;
const MARGIN: f32 = 20.0;
const STRIP_LEFT: f32 = MARGIN;
const STRIP_RIGHT: f32 = WIDTH - MARGIN;
const STRIP_TOP: f32 = 34.0;
const LANE_HEIGHT: f32 = 16.0;
const STRIP_PAD: f32 = 4.0;
const STRIP_BOTTOM: f32 = STRIP_TOP + 2.0 * STRIP_PAD + TimelineKind::ALL.len() as f32 * LANE_HEIGHT;
const LEGEND_TOP: f32 = STRIP_BOTTOM + 44.0;
const LEGEND_SPACING: f32 = 170.0;
const MARKER_SIZE: f32 = 5.0;
const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// The default id prefix: one timeline per page.
pub const ID_PREFIX: &str = "cbt-timeline";

/// The timeline of `events`, in any order. Events more than 12 months
/// before the latest one are left out.
pub fn timeline(events: &[TimelineEvent]) -> String {
    timeline_with_id_prefix(events, ID_PREFIX)
}

/// The same, its ids starting with `id_prefix`, for a page that shows more
/// than one timeline.
pub fn timeline_with_id_prefix(events: &[TimelineEvent], id_prefix: &str) -> String {
    let mut canvas = Canvas::new(id_prefix);
    let Some(latest) = events.iter().map(|e| e.date).max() else {
        return canvas.finish_empty(WIDTH, "Timeline", "Nothing on the timeline yet.");
    };
    let cutoff = a_year_before(latest);
    let shown: Vec<&TimelineEvent> = events.iter().filter(|e| e.date >= cutoff).collect();
    let left_out = shown.len() < events.len();
    let earliest = shown.iter().map(|e| e.date).min().unwrap_or(latest);
    let axis = MonthAxis { start: first_of_month(earliest), end: first_of_next_month(latest) };

    let mut caption = if earliest == latest {
        format!("On {}", iso(latest))
    } else {
        format!("From {} to {}", iso(earliest), iso(latest))
    };
    if left_out {
        caption.push_str(" (the 12 months up to the latest; earlier ones not shown)");
    }
    canvas.text(STRIP_LEFT, 20.0, &caption, TextStyle::MUTED);
    draw_strip(&mut canvas, &axis);
    draw_marks(&mut canvas, &axis, &shown);
    draw_legend(&mut canvas);

    let mut desc = summary(&shown, earliest, latest);
    if left_out {
        desc.push_str(&format!(" Events before {} are not shown.", iso(cutoff)));
    }
    canvas.finish(WIDTH, LEGEND_TOP + 14.0, "Timeline", &desc, false)
}

/// The strip, its lanes' ground, and a tick and name for each month.
fn draw_strip(canvas: &mut Canvas, axis: &MonthAxis) {
    canvas.rect(STRIP_LEFT, STRIP_TOP, STRIP_RIGHT - STRIP_LEFT, STRIP_BOTTOM - STRIP_TOP, "#f7f7f7", GRID);
    for (month, x) in axis.months() {
        let first = x <= STRIP_LEFT;
        canvas.line((x, STRIP_TOP), (x, STRIP_BOTTOM + 5.0), if first { STROKE } else { GRID });
        let name = MONTHS[usize::from(u8::from(month.month())) - 1];
        // The year where it starts, and at the left end.
        let label =
            if first || month.month() == Month::January { format!("{name} {}", month.year()) } else { name.to_owned() };
        canvas.text(x + 3.0, STRIP_BOTTOM + 18.0, &label, TextStyle::MUTED);
    }
    canvas.line((STRIP_LEFT, STRIP_BOTTOM), (STRIP_RIGHT, STRIP_BOTTOM), STROKE);
}

/// A mark per kind and day, in its kind's lane. Events of one kind on one
/// day share a mark, and its tooltip lists them all.
fn draw_marks(canvas: &mut Canvas, axis: &MonthAxis, events: &[&TimelineEvent]) {
    let mut marks: BTreeMap<(TimelineKind, Date), Vec<Dated<'_>>> = BTreeMap::new();
    for e in events {
        let label = if e.label.trim().is_empty() { e.kind.label() } else { e.label.trim() };
        marks.entry((e.kind, e.date)).or_default().push(Dated(e.date, label));
    }
    for ((kind, date), titles) in &marks {
        let y = STRIP_TOP + STRIP_PAD + (kind.lane() as f32 + 0.5) * LANE_HEIGHT;
        canvas.mark(kind.shape(), (axis.x_of(*date), y), MARKER_SIZE, kind.colour(), titles);
    }
}

/// A mark's tooltip line: "YYYY-MM-DD: label".
struct Dated<'a>(Date, &'a str);

impl Display for Dated<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", IsoDate(self.0), self.1)
    }
}

/// Each kind's mark and name, in lane order.
fn draw_legend(canvas: &mut Canvas) {
    for (i, kind) in TimelineKind::ALL.into_iter().enumerate() {
        let x = STRIP_LEFT + 8.0 + i as f32 * LEGEND_SPACING;
        canvas.mark(kind.shape(), (x, LEGEND_TOP - 4.0), MARKER_SIZE, kind.colour(), &[kind.label()]);
        canvas.text(x + 12.0, LEGEND_TOP, kind.label(), TextStyle::SMALL);
    }
}

/// "12 events from … to …", then how many of each kind.
fn summary(events: &[&TimelineEvent], earliest: Date, latest: Date) -> String {
    let counts: Vec<String> = TimelineKind::ALL
        .into_iter()
        .filter_map(|k| {
            let n = events.iter().filter(|e| e.kind == k).count();
            (n > 0).then(|| format!("{}: {n}", k.label()))
        })
        .collect();
    let plural = if events.len() == 1 { "" } else { "s" };
    format!("{} event{plural} from {} to {} ({}).", events.len(), iso(earliest), iso(latest), counts.join(", "))
}

/// The same day a year earlier (29 February: the 28th).
fn a_year_before(d: Date) -> Date {
    let year = d.year() - 1;
    d.replace_year(year).or_else(|_| d.replace_day(28).and_then(|d| d.replace_year(year))).unwrap_or(Date::MIN)
}

fn first_of_month(d: Date) -> Date {
    d.replace_day(1).unwrap_or(d)
}

fn first_of_next_month(d: Date) -> Date {
    let (year, month) =
        if d.month() == Month::December { (d.year() + 1, Month::January) } else { (d.year(), d.month().next()) };
    Date::from_calendar_date(year, month, 1).unwrap_or(Date::MAX)
}

/// Whole months across the strip: from the first of the earliest event's
/// month to the first of the month after the latest.
struct MonthAxis {
    start: Date,
    end: Date,
}

impl MonthAxis {
    /// A day's mark sits in the middle of the day.
    fn x_of(&self, date: Date) -> f32 {
        let days = (self.end - self.start).whole_days().max(1) as f32;
        let share = ((date - self.start).whole_days() as f32 + 0.5) / days;
        STRIP_LEFT + share.clamp(0.0, 1.0) * (STRIP_RIGHT - STRIP_LEFT)
    }

    /// The first of each month on the strip, and where it is.
    fn months(&self) -> Vec<(Date, f32)> {
        let mut months = Vec::new();
        let mut month = self.start;
        while month < self.end {
            let x = STRIP_LEFT
                + (month - self.start).whole_days() as f32 / (self.end - self.start).whole_days() as f32
                    * (STRIP_RIGHT - STRIP_LEFT);
            months.push((month, x));
            month = first_of_next_month(month);
        }
        months
    }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    #[test]
    fn a_year_before_handles_leap_days() {
        assert_eq!(a_year_before(date!(2026 - 11 - 24)), date!(2025 - 11 - 24));
        assert_eq!(a_year_before(date!(2028 - 02 - 29)), date!(2027 - 02 - 28));
    }

    #[test]
    fn months_cover_the_strip() {
        let axis = MonthAxis { start: date!(2025 - 11 - 01), end: date!(2026 - 02 - 01) };
        let months: Vec<Date> = axis.months().into_iter().map(|(m, _)| m).collect();
        assert_eq!(months, [date!(2025 - 11 - 01), date!(2025 - 12 - 01), date!(2026 - 01 - 01)]);
        assert_eq!(axis.months()[0].1, STRIP_LEFT);
        assert!(axis.x_of(date!(2026 - 01 - 31)) < STRIP_RIGHT);
        assert!(axis.x_of(date!(2025 - 11 - 01)) > STRIP_LEFT);
    }
}
