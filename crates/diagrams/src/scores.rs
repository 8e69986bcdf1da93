//! The score chart of an assessment questionnaire (PHQ-9, GAD-7, PCL-5, a
//! DASS-21 subscale, WSAS, a custom one): its results over time as one line
//! of markers, over the instrument's severity bands shaded as strips whose
//! tint grows warmer with severity, and its clinical cut-off, if it has one,
//! as a dashed line.
//!
//! The data is plain: the caller turns its questionnaire into a
//! [`ScoreSeries`]. Band labels and the name are text like any other: they
//! only appear escaped, as element text.

use std::fmt::{self, Display};

use time::Date;

use crate::chart::{DateAxis, PLOT_LEFT, PLOT_RIGHT, WIDTH};
use crate::svg::{Anchor, Canvas, GRID, INK, IsoDate, LABEL_SIZE, N, STROKE, Shape, TextStyle, iso, one_line};

/// A severity band: the scores from `min` to `max`, both included, and what
/// they are called ("Moderate").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScoreBand<'a> {
    pub min: u32,
    pub max: u32,
    pub label: &'a str,
}

/// A questionnaire's results, and what the chart needs to know about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScoreSeries<'a> {
    /// e.g. "PHQ-9" or "DASS-21 Depression"
    pub name: &'a str,
    /// The lowest possible score.
    pub min: u32,
    /// The highest possible score.
    pub max: u32,
    /// Severity bands, ascending and contiguous; may be empty (PCL-5 has
    /// none). Least severe first when `higher_is_worse`, most severe first
    /// otherwise.
    pub bands: &'a [ScoreBand<'a>],
    pub higher_is_worse: bool,
    /// A clinical cut-off to draw as a dashed line, if the instrument has
    /// one (PCL-5: 33).
    pub cutoff: Option<u32>,
    /// (date, points), in any order; several on one day are kept in the
    /// order given.
    pub points: &'a [(Date, u32)],
}

/// The default id prefix: one score chart per page.
pub const ID_PREFIX: &str = "cbt-scores";

/// The plot's top and bottom (its sides are the shared `chart` ones).
pub(crate) const PLOT_TOP: f32 = 36.0;
const PLOT_HEIGHT: f32 = 224.0;
pub(crate) const PLOT_BOTTOM: f32 = PLOT_TOP + PLOT_HEIGHT;
/// Room under the plot for the date labels.
const HEIGHT: f32 = PLOT_BOTTOM + 34.0;
/// Value labels closer than this to one already written are left out.
const MIN_LABEL_GAP: f32 = 14.0;
/// A band's strip this tall or taller has its label written in it.
const MIN_BAND_LABEL_HEIGHT: f32 = 15.0;
const MARKER_SIZE: f32 = 4.5;
/// The results' line and markers: a dark blue, at least 3:1 against the
/// strongest tint below and 7:1 against white.
const LINE_COLOUR: &str = "#00558a";
const CUTOFF_DASH: &str = "6 4";

/// Band fills, least to most severe: pale tints from a neutral grey to a
/// warm red. Ink (#111111) on the strongest keeps a contrast above 10:1.
pub(crate) const TINTS: [&str; 6] = ["#f1f3f5", "#fbf3d9", "#fde7c6", "#fbd6bb", "#f7c4b5", "#f2b1ad"];

/// The score chart of one questionnaire.
pub fn score_chart(series: &ScoreSeries<'_>) -> String {
    score_chart_with_id_prefix(series, ID_PREFIX)
}

/// The same, its ids starting with `id_prefix`, for a page that shows more
/// than one chart (a client page shows one a questionnaire).
pub fn score_chart_with_id_prefix(series: &ScoreSeries<'_>, id_prefix: &str) -> String {
    let mut canvas = Canvas::new(id_prefix);
    let name = series.name.trim();
    let title = if name.is_empty() { "Scores".to_owned() } else { format!("{name} scores") };
    let Some(axis) = DateAxis::over(series.points.iter().map(|p| p.0)) else {
        return canvas.finish_empty(WIDTH, &title, "No results yet.");
    };
    let scale = Scale::of(series);
    let bands = bands(series);
    // Stable: results on one day stay in the order given.
    let mut points = series.points.to_vec();
    points.sort_by_key(|p| p.0);

    let worse = if series.higher_is_worse { "higher is worse" } else { "lower is worse" };
    let caption = format!("{} ({}–{}, {worse})", if name.is_empty() { "Score" } else { name }, scale.min, scale.max);
    canvas.text(PLOT_LEFT - 30.0, PLOT_TOP - 16.0, &one_line(&caption, WIDTH - 36.0, LABEL_SIZE), TextStyle::MUTED);
    draw_bands(&mut canvas, &scale, &bands);
    draw_value_axis(&mut canvas, &scale, &bands);
    if let Some(cutoff) = series.cutoff {
        draw_cutoff(&mut canvas, &scale, cutoff);
    }
    axis.draw(&mut canvas, PLOT_BOTTOM);
    draw_points(&mut canvas, &axis, &scale, &bands, &points);
    canvas.finish(WIDTH, HEIGHT, &title, &description(series, &scale, &bands, &points), false)
}

/// A strip a band across the plot, in one group, least to most score; then
/// the labels of those tall enough to hold one, at the right.
fn draw_bands(canvas: &mut Canvas, scale: &Scale, bands: &[Band<'_>]) {
    if bands.is_empty() {
        return;
    }
    let id = canvas.id("bands");
    canvas.push_fmt(format_args!(r#"<g id="{id}">"#));
    let mut labelled = Vec::with_capacity(bands.len());
    for band in bands {
        let (top, bottom) = scale.strip(band);
        if bottom - top < 0.05 {
            continue;
        }
        canvas.push_fmt(format_args!(
            r#"<rect x="{}" y="{}" width="{}" height="{}" fill="{}"/>"#,
            N(PLOT_LEFT),
            N(top),
            N(PLOT_RIGHT - PLOT_LEFT),
            N(bottom - top),
            band.tint
        ));
        if bottom - top >= MIN_BAND_LABEL_HEIGHT && !band.label.is_empty() {
            labelled.push((band.label, (top + bottom) / 2.0));
        }
    }
    canvas.push("</g>");
    let width = (PLOT_RIGHT - PLOT_LEFT) / 2.0;
    for (label, middle) in labelled {
        let text = one_line(label, width, LABEL_SIZE);
        canvas.text(PLOT_RIGHT - 6.0, middle + 4.0, &text, TextStyle::SMALL.anchored(Anchor::End));
    }
}

/// The value axis at the left: the lowest and highest score and where each
/// band starts, leaving out labels too close to one already written.
fn draw_value_axis(canvas: &mut Canvas, scale: &Scale, bands: &[Band<'_>]) {
    canvas.line((PLOT_LEFT, PLOT_TOP), (PLOT_RIGHT, PLOT_TOP), GRID);
    canvas.line((PLOT_LEFT, PLOT_TOP), (PLOT_LEFT, PLOT_BOTTOM), STROKE);
    canvas.line((PLOT_LEFT, PLOT_BOTTOM), (PLOT_RIGHT, PLOT_BOTTOM), STROKE);
    for value in value_labels(scale, bands) {
        let y = scale.y_of(value as f32);
        canvas.line((PLOT_LEFT - 4.0, y), (PLOT_LEFT, y), STROKE);
        canvas.text(PLOT_LEFT - 8.0, y + 4.0, &value.to_string(), TextStyle::MUTED.anchored(Anchor::End));
    }
}

/// The values labelled on the axis: the lowest and highest, then band
/// starts inside the range, each only if it keeps `MIN_LABEL_GAP` from
/// those before it.
fn value_labels(scale: &Scale, bands: &[Band<'_>]) -> Vec<u32> {
    let candidates = [scale.min, scale.max].into_iter().chain(bands.iter().map(|b| b.min));
    let mut kept: Vec<u32> = Vec::with_capacity(bands.len() + 2);
    for value in candidates {
        let in_range = (scale.min..=scale.max).contains(&value);
        let y = scale.y_of(value as f32);
        if in_range && kept.iter().all(|&k| (scale.y_of(k as f32) - y).abs() >= MIN_LABEL_GAP) {
            kept.push(value);
        }
    }
    kept
}

/// The dashed cut-off line, "cut-off N" above it at the left (below it
/// when it is at the top). Not drawn outside the range.
fn draw_cutoff(canvas: &mut Canvas, scale: &Scale, cutoff: u32) {
    if !(scale.min..=scale.max).contains(&cutoff) {
        return;
    }
    let y = scale.y_of(cutoff as f32);
    canvas.push_fmt(format_args!(
        r#"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{INK}" stroke-width="1.5" stroke-dasharray="{CUTOFF_DASH}"/>"#,
        N(PLOT_LEFT),
        N(y),
        N(PLOT_RIGHT),
        N(y)
    ));
    let baseline = if y - 16.0 < PLOT_TOP { y + 14.0 } else { y - 5.0 };
    let style = TextStyle { size: 11.0, fill: INK, bold: false, anchor: Anchor::Start };
    canvas.text(PLOT_LEFT + 6.0, baseline, &format!("cut-off {cutoff}"), style);
}

/// The results, by date: a line through them, and a marker each whose
/// tooltip says the date, score and band.
fn draw_points(canvas: &mut Canvas, axis: &DateAxis, scale: &Scale, bands: &[Band<'_>], points: &[(Date, u32)]) {
    canvas.polyline(points.iter().map(|&(d, s)| (axis.x_of(d), scale.y_of(s as f32))), LINE_COLOUR, None);
    for &(date, score) in points {
        let at = (axis.x_of(date), scale.y_of(score as f32));
        canvas.mark(Shape::Circle, at, MARKER_SIZE, LINE_COLOUR, &[Dated(date, Scored(score, bands))]);
    }
}

/// What a screen reader says: the instrument, its range and bands, how many
/// results over which dates, the first and the latest.
fn description(series: &ScoreSeries<'_>, scale: &Scale, bands: &[Band<'_>], points: &[(Date, u32)]) -> String {
    let name = series.name.trim();
    let mut desc = if name.is_empty() { "Scores".to_owned() } else { format!("{name} scores") };
    let worse = if series.higher_is_worse { "higher" } else { "lower" };
    desc.push_str(&format!(" from {} to {}, {worse} is worse.", scale.min, scale.max));
    if !bands.is_empty() {
        let named: Vec<String> = bands
            .iter()
            .map(|b| {
                let range = if b.min == b.max { b.min.to_string() } else { format!("{}–{}", b.min, b.max) };
                if b.label.is_empty() { range } else { format!("{} {range}", b.label) }
            })
            .collect();
        desc.push_str(&format!(" Bands: {}.", named.join(", ")));
    }
    if let Some(cutoff) = series.cutoff {
        desc.push_str(&format!(" Clinical cut-off: {cutoff}."));
    }
    if let (Some(&(first_day, first)), Some(&(last_day, latest))) = (points.first(), points.last()) {
        let (first, latest) = (Scored(first, bands), Scored(latest, bands));
        desc.push_str(&match points.len() {
            1 => format!(" 1 result, on {}: {first}.", iso(first_day)),
            n if first_day == last_day => {
                format!(" {n} results on {}: first {first}, latest {latest}.", iso(first_day))
            }
            n => format!(" {n} results from {} to {}: first {first}, latest {latest}.", iso(first_day), iso(last_day)),
        });
    }
    desc
}

/// A band as drawn: its range, its label (trimmed) and its tint.
struct Band<'a> {
    min: u32,
    max: u32,
    label: &'a str,
    tint: &'static str,
}

/// The bands by score (those with `min` above `max` left out), each tinted
/// by its severity: from the lowest scores up when higher is worse, from
/// the highest down otherwise.
fn bands<'a>(series: &ScoreSeries<'a>) -> Vec<Band<'a>> {
    let mut kept: Vec<&ScoreBand<'a>> = series.bands.iter().filter(|b| b.min <= b.max).collect();
    kept.sort_by_key(|b| b.min);
    let count = kept.len();
    kept.iter()
        .enumerate()
        .map(|(i, b)| {
            let severity = if series.higher_is_worse { i } else { count - 1 - i };
            Band { min: b.min, max: b.max, label: b.label.trim(), tint: tint(severity, count) }
        })
        .collect()
}

/// The tint of the `severity`-th least severe of `count` bands: spread
/// over all the tints, the least severe the palest and the most severe the
/// strongest (with more bands than tints, neighbours may share one).
fn tint(severity: usize, count: usize) -> &'static str {
    let strongest = TINTS.len() - 1;
    if count <= 1 {
        return TINTS[0];
    }
    let spread = (severity * strongest + (count - 1) / 2) / (count - 1);
    TINTS[spread.min(strongest)]
}

/// The score range up the plot: `min` at the bottom, `max` at the top.
struct Scale {
    min: u32,
    max: u32,
}

impl Scale {
    /// The series' range, put right if reversed.
    fn of(series: &ScoreSeries<'_>) -> Self {
        Scale { min: series.min.min(series.max), max: series.max.max(series.min) }
    }

    /// Where a score sits; out of range, held at the edge.
    fn y_of(&self, score: f32) -> f32 {
        let span = (self.max - self.min).max(1) as f32;
        let share = ((score - self.min as f32) / span).clamp(0.0, 1.0);
        PLOT_BOTTOM - share * PLOT_HEIGHT
    }

    /// A band's strip, top and bottom: half a point beyond its scores
    /// either way, so that each whole score sits inside its band's strip
    /// and strips meet halfway between bands.
    fn strip(&self, band: &Band<'_>) -> (f32, f32) {
        (self.y_of(band.max as f32 + 0.5), self.y_of(band.min as f32 - 0.5))
    }
}

/// "12 (Moderate)": a score and the band it is in, if any.
struct Scored<'a>(u32, &'a [Band<'a>]);

impl Display for Scored<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Scored(score, bands) = *self;
        match bands.iter().find(|b| (b.min..=b.max).contains(&score)).filter(|b| !b.label.is_empty()) {
            Some(band) => write!(f, "{score} ({})", band.label),
            None => write!(f, "{score}"),
        }
    }
}

/// A marker's tooltip: "2026-12-01: 12 (Moderate)".
struct Dated<'a>(Date, Scored<'a>);

impl Display for Dated<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", IsoDate(self.0), self.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(min: u32, max: u32) -> ScoreSeries<'static> {
        ScoreSeries { name: "X", min, max, bands: &[], higher_is_worse: true, cutoff: None, points: &[] }
    }

    #[test]
    fn scores_map_from_the_bottom_to_the_top() {
        let scale = Scale::of(&series(0, 27));
        assert_eq!(scale.y_of(0.0), PLOT_BOTTOM);
        assert_eq!(scale.y_of(27.0), PLOT_TOP);
        assert_eq!(scale.y_of(13.5), PLOT_TOP + PLOT_HEIGHT / 2.0);
        assert_eq!(scale.y_of(40.0), PLOT_TOP, "out of range is held at the top");
        let offset = Scale::of(&series(14, 70));
        assert_eq!((offset.y_of(14.0), offset.y_of(70.0), offset.y_of(0.0)), (PLOT_BOTTOM, PLOT_TOP, PLOT_BOTTOM));
        let flat = Scale::of(&series(5, 5));
        assert!(flat.y_of(5.0).is_finite(), "a range of one score does not divide by zero");
    }

    #[test]
    fn tints_run_from_palest_to_strongest_whatever_the_number_of_bands() {
        for count in 2..=9 {
            let tints: Vec<usize> =
                (0..count).map(|s| TINTS.iter().position(|t| *t == tint(s, count)).unwrap_or(99)).collect();
            assert_eq!(tints.first(), Some(&0), "{count} bands");
            assert_eq!(tints.last(), Some(&(TINTS.len() - 1)), "{count} bands");
            assert!(tints.windows(2).all(|w| w[0] <= w[1]), "{count} bands: {tints:?}");
            if count <= TINTS.len() {
                assert!(tints.windows(2).all(|w| w[0] < w[1]), "{count} bands each their own: {tints:?}");
            }
        }
        assert_eq!(tint(0, 1), TINTS[0]);
    }

    #[test]
    fn value_labels_skip_those_too_close() {
        // DASS-21 anxiety: 8 and 10 are about 10 px apart on 0–42.
        let bands = [(0, 7), (8, 9), (10, 14), (15, 19), (20, 42)].map(|(min, max)| Band {
            min,
            max,
            label: "",
            tint: TINTS[0],
        });
        let labels = value_labels(&Scale { min: 0, max: 42 }, &bands);
        assert_eq!(labels, [0, 42, 8, 15, 20]);
    }
}
