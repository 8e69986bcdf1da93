//! The goal progress chart: each goal's 0–10 progress ratings over time,
//! one line a goal (its own colour, marker shape and dash pattern, so it
//! reads in greyscale too), with a legend naming the goals.

use std::collections::BTreeSet;

use cbt_domain::treatment_plan::RATING_MAX;
use time::Date;

use crate::chart::{DateAxis, PLOT_LEFT, PLOT_RIGHT, WIDTH};
use crate::svg::{Anchor, Canvas, GRID, LABEL_SIZE, N, PALETTE, STROKE, Shape, TextStyle, iso, one_line, text_width};

/// The plot's top and bottom (its sides are the shared `chart` ones).
pub(crate) const PLOT_TOP: f32 = 36.0;
const PLOT_HEIGHT: f32 = 200.0;
pub(crate) const PLOT_BOTTOM: f32 = PLOT_TOP + PLOT_HEIGHT;
const MARKER_SIZE: f32 = 5.0;
const LEGEND_TOP: f32 = PLOT_BOTTOM + 44.0;
const LEGEND_ROW: f32 = 20.0;
/// Dash patterns, solid first; cycled alongside colours and shapes.
const DASHES: [Option<&str>; 4] = [None, Some("7 4"), Some("2 3"), Some("9 3 2 3")];

/// The default id prefix: one progress chart per page.
pub const ID_PREFIX: &str = "cbt-progress";

/// The progress chart of a plan's goals, `(number, description)`, from its
/// ratings, `(goal number, date, rating 0–10)`. Ratings of a goal not in
/// `goals` are drawn too, named by number only.
pub fn progress_chart(goals: &[(u32, String)], ratings: &[(u32, Date, u8)]) -> String {
    progress_chart_with_id_prefix(goals, ratings, ID_PREFIX)
}

/// The same, its ids starting with `id_prefix`, for a page that shows more
/// than one chart.
pub fn progress_chart_with_id_prefix(goals: &[(u32, String)], ratings: &[(u32, Date, u8)], id_prefix: &str) -> String {
    let mut canvas = Canvas::new(id_prefix);
    let Some(axis) = DateAxis::over(ratings.iter().map(|r| r.1)) else {
        return canvas.finish_empty(WIDTH, "Goal progress", "No progress rated yet.");
    };
    let series = series(goals, ratings);
    draw_axes(&mut canvas, &axis);
    for s in &series {
        draw_series(&mut canvas, &axis, s);
    }
    draw_legend(&mut canvas, &series);
    let height = LEGEND_TOP + (series.len().max(1) - 1) as f32 * LEGEND_ROW + 16.0;
    canvas.finish(WIDTH, height, "Goal progress", &description(&axis, &series), false)
}

/// Gridlines at 0, 5 and 10, and the date labels.
fn draw_axes(canvas: &mut Canvas, axis: &DateAxis) {
    canvas.text(PLOT_LEFT - 30.0, PLOT_TOP - 16.0, "Progress (0–10, 10: goal reached)", TextStyle::MUTED);
    for rating in [0, 5, 10] {
        let y = y_of(rating);
        canvas.line((PLOT_LEFT, y), (PLOT_RIGHT, y), if rating == 0 { STROKE } else { GRID });
        canvas.text(PLOT_LEFT - 8.0, y + 4.0, &rating.to_string(), TextStyle::MUTED.anchored(Anchor::End));
    }
    axis.draw(canvas, PLOT_BOTTOM);
}

/// One goal's line, and a marker per rating whose tooltip says it.
fn draw_series(canvas: &mut Canvas, axis: &DateAxis, s: &Series<'_>) {
    let look = Look::of(s.number);
    canvas.polyline(s.points.iter().map(|&(d, r)| (axis.x_of(d), y_of(r))), look.colour, look.dash);
    for &(d, r) in &s.points {
        let title = format!("Goal {}, {}: {}/{RATING_MAX}", s.number, iso(d), r.min(RATING_MAX));
        canvas.mark(look.shape, (axis.x_of(d), y_of(r)), MARKER_SIZE, look.colour, &[title]);
    }
}

/// A row a goal: a sample of its line and marker, "Goal N: description".
fn draw_legend(canvas: &mut Canvas, series: &[Series<'_>]) {
    let text_width_max = WIDTH - PLOT_LEFT - 36.0;
    for (i, s) in series.iter().enumerate() {
        let y = LEGEND_TOP + i as f32 * LEGEND_ROW;
        let look = Look::of(s.number);
        canvas.push(&format!(
            r#"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="2"{}/>"#,
            N(PLOT_LEFT - 30.0),
            N(y),
            N(PLOT_LEFT),
            N(y),
            look.colour,
            look.dash_attr()
        ));
        canvas.mark(look.shape, (PLOT_LEFT - 15.0, y), MARKER_SIZE, look.colour, &[format_args!("Goal {}", s.number)]);
        let named = match s.label.map(str::trim).filter(|l| !l.is_empty()) {
            Some(label) => format!("Goal {}: {label}", s.number),
            None => format!("Goal {}", s.number),
        };
        // Added after the name is cut to fit, so it is never cut off itself.
        let suffix = if s.points.is_empty() { " (not rated yet)" } else { "" };
        let named = one_line(&named, text_width_max - text_width(suffix, LABEL_SIZE), LABEL_SIZE);
        canvas.text(PLOT_LEFT + 8.0, y + 4.0, &format!("{named}{suffix}"), TextStyle::SMALL);
    }
}

/// What a screen reader says for the chart: the range, and each goal's
/// latest rating.
fn description(axis: &DateAxis, series: &[Series<'_>]) -> String {
    let summaries: Vec<String> = series
        .iter()
        .map(|s| match s.points.last() {
            Some(&(d, r)) => format!(
                "Goal {}: {} rating{}, latest {}/{RATING_MAX} on {}.",
                s.number,
                s.points.len(),
                if s.points.len() == 1 { "" } else { "s" },
                r.min(RATING_MAX),
                iso(d)
            ),
            None => format!("Goal {}: not rated yet.", s.number),
        })
        .collect();
    format!(
        "Progress towards each goal, rated 0 to {RATING_MAX} ({RATING_MAX}: goal reached), from {} to {}. {}",
        iso(axis.first),
        iso(axis.last),
        summaries.join(" ")
    )
}

/// One goal's ratings, by date.
struct Series<'a> {
    number: u32,
    label: Option<&'a str>,
    points: Vec<(Date, u8)>,
}

/// The goals in the plan's order, then goals only the ratings name.
fn series<'a>(goals: &'a [(u32, String)], ratings: &[(u32, Date, u8)]) -> Vec<Series<'a>> {
    let mut seen = BTreeSet::new();
    let mut all: Vec<Series<'a>> = goals
        .iter()
        .filter(|(n, _)| seen.insert(*n))
        .map(|(number, label)| Series { number: *number, label: Some(label.as_str()), points: Vec::new() })
        .collect();
    for &(number, date, rating) in ratings {
        let i = match all.iter().position(|s| s.number == number) {
            Some(i) => i,
            None => {
                all.push(Series { number, label: None, points: Vec::new() });
                all.len() - 1
            }
        };
        all[i].points.push((date, rating));
    }
    for s in &mut all {
        // Stable: two ratings on one day stay in the order given.
        s.points.sort_by_key(|p| p.0);
    }
    all
}

/// How a goal is drawn, by its number: the same goal keeps its look as the
/// plan changes. Colours, shapes and dashes cycle at different lengths, so
/// goals differ in at least two of them up to the 20 a plan may hold.
struct Look {
    colour: &'static str,
    shape: Shape,
    dash: Option<&'static str>,
}

impl Look {
    fn of(goal: u32) -> Self {
        let i = goal.saturating_sub(1) as usize;
        Look {
            colour: PALETTE[i % PALETTE.len()],
            shape: Shape::ALL[i % Shape::ALL.len()],
            dash: DASHES[i % DASHES.len()],
        }
    }

    fn dash_attr(&self) -> String {
        self.dash.map(|d| format!(r#" stroke-dasharray="{d}""#)).unwrap_or_default()
    }
}

/// Where a rating sits: 10 at the top of the plot, 0 at the bottom.
fn y_of(rating: u8) -> f32 {
    let r = f32::from(rating.min(RATING_MAX));
    PLOT_BOTTOM - r / f32::from(RATING_MAX) * PLOT_HEIGHT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratings_map_to_the_plot_top_and_bottom() {
        assert_eq!(y_of(10), PLOT_TOP);
        assert_eq!(y_of(0), PLOT_BOTTOM);
        assert_eq!(y_of(5), PLOT_TOP + PLOT_HEIGHT / 2.0);
        assert_eq!(y_of(200), PLOT_TOP, "out of range is held at the top");
    }

    #[test]
    fn goals_up_to_twenty_differ_in_at_least_two_of_colour_shape_and_dash() {
        for a in 1..=20 {
            for b in (a + 1)..=20 {
                let (la, lb) = (Look::of(a), Look::of(b));
                let same = usize::from(la.colour == lb.colour)
                    + usize::from(la.shape == lb.shape)
                    + usize::from(la.dash == lb.dash);
                assert!(same <= 1, "goals {a} and {b}");
            }
        }
    }
}
