//! Server-rendered SVG pictures of clinical records. Pure functions: text
//! in, SVG text out, every piece of text XML-escaped, no script, no style
//! attributes (the CSP forbids inline style), presentation attributes only.
//!
//! Each picture is one `<svg>` element that works inlined in a page and
//! served alone as `image/svg+xml`: it names the SVG namespace, has a
//! viewBox with a natural width and height (the page's CSS may shrink it),
//! `role="img"` and a `<title>` and `<desc>` it is labelled by. Its ids start
//! with a prefix per kind of picture (`cbt-formulation`, `cbt-progress`,
//! `cbt-scores`, `cbt-timeline`); the `*_with_id_prefix` functions take
//! another, for a page that shows two pictures of one kind.
//!
//! Text from the record is PHI and untrusted: it only ever appears as
//! escaped element text (`svg::escape`), never in an attribute.

mod chart;
mod formulation;
mod progress;
mod scores;
mod svg;
mod timeline;

pub use formulation::{formulation_diagram, formulation_diagram_with_id_prefix};
pub use progress::{progress_chart, progress_chart_with_id_prefix};
pub use scores::{ScoreBand, ScoreSeries, score_chart, score_chart_with_id_prefix};
pub use timeline::{TimelineEvent, TimelineKind, timeline, timeline_with_id_prefix};

#[cfg(test)]
mod tests;
