//! What holds for every picture: well-formed XML, labelled for screen
//! readers, nothing the CSP or a PHI leak would object to; then each
//! picture's own promises.

use std::collections::BTreeSet;

use cbt_domain::formulation::{BeckConceptualisation, FivePs, Formulation, ThoughtExample};
use time::Date;
use time::macros::date;

use crate::chart::{PLOT_LEFT, PLOT_RIGHT};
use crate::progress::{PLOT_BOTTOM, PLOT_TOP};
use crate::scores::{PLOT_BOTTOM as SCORES_BOTTOM, PLOT_TOP as SCORES_TOP, TINTS};
use crate::{
    ScoreBand, ScoreSeries, TimelineEvent, TimelineKind, formulation_diagram, progress_chart, score_chart,
    score_chart_with_id_prefix, timeline,
};

const HOSTILE: &str = "<script>alert('x')</script> \" onload=\"alert(1)\" & ]]> \u{0}\u{1b}\u{7f}";

/// Parses the picture, and checks what every picture promises.
fn checked(svg: &str) -> roxmltree::Document<'_> {
    for banned in ["style=", "<style", "foreignObject", "href=", "<script", "javascript:", "<image", "<!DOCTYPE"] {
        assert!(!svg.contains(banned), "{banned} in {svg}");
    }
    let doc = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("not well-formed XML ({e}): {svg}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(root.tag_name().namespace(), Some("http://www.w3.org/2000/svg"));
    assert!(root.attribute("viewBox").is_some() && root.attribute("width").is_some());
    assert_eq!(root.attribute("role"), Some("img"));
    assert_eq!(root.attribute("font-family"), Some("sans-serif"));

    let mut ids = BTreeSet::new();
    for node in doc.descendants().filter(|n| n.is_element()) {
        if let Some(id) = node.attribute("id") {
            assert!(ids.insert(id), "id {id} twice");
        }
        for a in node.attributes() {
            assert!(!a.name().starts_with("on"), "event handler {} in {svg}", a.name());
        }
    }
    let labelled_by = root.attribute("aria-labelledby").unwrap_or_default();
    let targets: Vec<&str> = labelled_by.split_whitespace().collect();
    assert_eq!(targets.len(), 2, "labelled by the title and the description");
    for (target, tag) in targets.iter().zip(["title", "desc"]) {
        let node = doc.descendants().find(|n| n.attribute("id") == Some(*target));
        assert_eq!(node.map(|n| n.tag_name().name()), Some(tag), "{target}");
        assert_eq!(node.and_then(|n| n.parent_element()), Some(root), "the title and desc are the svg's own");
    }
    for node in doc.descendants() {
        for a in node.attributes() {
            if let Some(reference) = a.value().strip_prefix("url(#") {
                let id = reference.trim_end_matches(')');
                assert!(ids.contains(id), "{} points to a missing #{id}", a.name());
            }
        }
    }
    doc
}

/// No attribute holds any of the inputs' text.
fn no_input_in_attributes(doc: &roxmltree::Document<'_>, marker: &str) {
    for node in doc.descendants() {
        for a in node.attributes() {
            assert!(!a.value().contains(marker), "input text in {}={:?}", a.name(), a.value());
        }
    }
}

/// The text of every `<tspan>` and `<text>` holding `needle`.
fn texts_with<'a>(doc: &'a roxmltree::Document<'a>, needle: &str) -> Vec<roxmltree::Node<'a, 'a>> {
    doc.descendants().filter(|n| n.has_tag_name("text") && all_text(*n).contains(needle)).collect()
}

fn all_text(node: roxmltree::Node<'_, '_>) -> String {
    node.descendants().filter(|n| n.is_text()).filter_map(|n| n.text()).collect()
}

fn example(tag: &str) -> ThoughtExample {
    ThoughtExample {
        situation: format!("Situation text {tag}"),
        automatic_thought: format!("Thought text {tag}"),
        meaning: format!("Meaning text {tag}"),
        emotion: format!("Emotion text {tag}"),
        behaviour: format!("Behaviour text {tag}"),
    }
}

fn formulation(examples: Vec<ThoughtExample>) -> Formulation {
    Formulation {
        title: "Initial formulation".into(),
        beck: BeckConceptualisation {
            relevant_history: "Father critical of any mistake at school".into(),
            core_beliefs: "I am only acceptable if I never fail".into(),
            conditional_assumptions: "If I make a mistake, people will reject me".into(),
            compensatory_strategies: "Over-prepares\nAvoids speaking up".into(),
            examples,
        },
        five_ps: FivePs {
            presenting: "Social anxiety at work".into(),
            predisposing: "Perfectionist standards learned early".into(),
            precipitating: "New manager".into(),
            perpetuating: "Avoidance, safety behaviours".into(),
            protective: "Supportive partner".into(),
        },
        drafted_with: None,
    }
}

#[test]
fn formulation_text_is_escaped_and_never_in_an_attribute() {
    let mut f = formulation(vec![example(HOSTILE)]);
    f.title = format!("zqx {HOSTILE}");
    f.beck.core_beliefs = format!("zqx {HOSTILE}");
    f.five_ps.protective = format!("zqx {HOSTILE}");
    let svg = formulation_diagram(&f);
    let doc = checked(&svg);
    assert!(svg.contains("&lt;script&gt;alert(&apos;x&apos;)&lt;/script&gt;"), "{svg}");
    assert!(!svg.contains("<script"));
    assert!(!svg.contains('\u{0}') && !svg.contains('\u{1b}') && !svg.contains('\u{7f}'));
    no_input_in_attributes(&doc, "zqx");
    no_input_in_attributes(&doc, "alert");
    let title = doc.descendants().find(|n| n.has_tag_name("title")).and_then(|n| n.text()).unwrap_or_default();
    assert!(title.starts_with("Case formulation: zqx <script>"), "the title is element text: {title}");
}

#[test]
fn the_formulation_has_the_beck_boxes_every_example_and_the_five_ps() {
    let examples: Vec<ThoughtExample> = ["A", "B", "C", "D"].into_iter().map(example).collect();
    let svg = formulation_diagram(&formulation(examples));
    let doc = checked(&svg);
    for label in [
        "Relevant childhood/history data",
        "Core beliefs",
        "Conditional assumptions / rules",
        "Compensatory strategies",
        "Presenting problem",
        "Predisposing factors",
        "Precipitating factors",
        "Perpetuating factors",
        "Protective factors",
    ] {
        assert_eq!(texts_with(&doc, label).len(), 1, "{label}");
    }
    for tag in ["A", "B", "C", "D"] {
        for part in ["Situation", "Thought", "Meaning", "Emotion", "Behaviour"] {
            assert_eq!(texts_with(&doc, &format!("{part} text {tag}")).len(), 1, "{part} of example {tag}");
        }
    }
    for n in 1..=4 {
        assert_eq!(texts_with(&doc, &format!("Situation {n}")).len(), 1, "example {n} is numbered");
    }
    let arrows = doc.descendants().filter(|n| n.attribute("marker-end").is_some()).count();
    assert_eq!(arrows, 3 + 4 * (1 + 4) + 4, "core chain, into and along each example, into the presenting problem");
    assert_eq!(doc.descendants().filter(|n| n.has_tag_name("marker")).count(), 1);
    assert!(svg.contains("Over-prepares </tspan>"), "line breaks in the input are kept: {svg}");
}

#[test]
fn the_example_row_is_left_out_without_examples_and_empty_boxes_show_a_dash() {
    let mut f = formulation(Vec::new());
    f.beck.examples.push(ThoughtExample::default());
    f.five_ps.precipitating.clear();
    let svg = formulation_diagram(&f);
    let doc = checked(&svg);
    assert!(texts_with(&doc, "Situation").is_empty() && texts_with(&doc, "Automatic thought").is_empty());
    assert_eq!(texts_with(&doc, "—").len(), 1, "the empty precipitating factors");
    checked(&formulation_diagram(&Formulation::default()));
}

#[test]
fn one_example_keeps_short_text_on_one_line() {
    let mut e = example("x");
    e.automatic_thought = "They will see I am useless".into();
    let svg = formulation_diagram(&formulation(vec![e]));
    checked(&svg);
    // The browser test finds the thought in the markup as typed.
    assert!(svg.contains(">They will see I am useless</tspan>"), "{svg}");
    assert!(svg.contains(">Situation<"), "a lone example is not numbered");
}

#[test]
fn long_text_wraps_into_lines_and_over_long_text_ends_in_an_ellipsis() {
    let mut f = formulation(Vec::new());
    f.beck.core_beliefs = "I am unlovable and nobody could ever really care about me for who I am ".repeat(2);
    f.five_ps.perpetuating = "Avoidance keeps the fear going ".repeat(100);
    let svg = formulation_diagram(&f);
    let doc = checked(&svg);

    let beliefs = texts_with(&doc, "I am unlovable");
    assert_eq!(beliefs.len(), 1);
    let lines: Vec<String> = beliefs[0].children().filter(|n| n.has_tag_name("tspan")).map(all_text).collect();
    assert!(lines.len() >= 2, "{lines:?}");
    assert!(!lines.iter().any(|l| l.contains('…')), "it fits in the box's lines: {lines:?}");

    let perpetuating = texts_with(&doc, "Avoidance keeps");
    let lines: Vec<String> = perpetuating[0].children().filter(|n| n.has_tag_name("tspan")).map(all_text).collect();
    assert_eq!(lines.len(), 8, "at most eight lines in a 5 Ps box");
    assert!(lines.last().is_some_and(|l| l.ends_with('…')), "{lines:?}");
    // Each line starts where the box's text starts, one line height down.
    let tspan = perpetuating[0].children().find(|n| n.has_tag_name("tspan"));
    assert_eq!(tspan.and_then(|t| t.attribute("x")), perpetuating[0].attribute("x"));
}

#[test]
fn six_examples_go_on_two_rows_and_stay_readable() {
    let examples: Vec<ThoughtExample> = ["1", "2", "3", "4", "5", "6"].into_iter().map(example).collect();
    let svg = formulation_diagram(&formulation(examples));
    let doc = checked(&svg);
    let y =
        |text: &str| texts_with(&doc, text).first().and_then(|n| n.attribute("y")).and_then(|y| y.parse::<f32>().ok());
    assert_eq!(y("Situation text 1"), y("Situation text 3"), "one row");
    assert!(y("Situation text 4") > y("Behaviour text 1"), "the next row below");
}

fn day(n: i64) -> Date {
    date!(2026 - 01 - 01) + time::Duration::days(n)
}

/// The marker whose tooltip is `title`.
fn marker<'a>(doc: &'a roxmltree::Document<'a>, title: &str) -> roxmltree::Node<'a, 'a> {
    let found =
        doc.descendants().find(|n| n.has_tag_name("title") && n.text() == Some(title)).and_then(|t| t.parent_element());
    found.unwrap_or_else(|| panic!("no marker titled {title}"))
}

fn number(node: roxmltree::Node<'_, '_>, attribute: &str) -> f32 {
    node.attribute(attribute).and_then(|v| v.parse().ok()).unwrap_or(f32::NAN)
}

#[test]
fn progress_points_sit_at_their_rating_and_date() {
    let goals = vec![(1, "Speak at least once in each team meeting".to_owned())];
    let ratings = vec![(1, day(10), 10), (1, day(0), 0), (1, day(5), 6)];
    let svg = progress_chart(&goals, &ratings);
    let doc = checked(&svg);
    let top = marker(&doc, "Goal 1, 2026-01-11: 10/10");
    assert_eq!(number(top, "cy"), PLOT_TOP, "10 at the top of the plot");
    assert_eq!(number(top, "cx"), PLOT_RIGHT, "the latest at the right");
    let bottom = marker(&doc, "Goal 1, 2026-01-01: 0/10");
    assert_eq!(number(bottom, "cy"), PLOT_BOTTOM, "0 at the bottom");
    assert_eq!(number(bottom, "cx"), PLOT_LEFT, "the earliest at the left");
    let middle = marker(&doc, "Goal 1, 2026-01-06: 6/10");
    assert_eq!(number(middle, "cy"), 116.0, "6/10: three fifths of the way up from 236 to 36");
    assert_eq!(number(middle, "cx"), (PLOT_LEFT + PLOT_RIGHT) / 2.0);
    let line = doc.descendants().find(|n| n.has_tag_name("polyline")).and_then(|n| n.attribute("points"));
    assert_eq!(line, Some("48,236 324,116 600,36"), "joined by date, not by input order");
    assert_eq!(texts_with(&doc, "Goal 1: Speak at least once").len(), 1, "the legend names the goal");
    for label in ["2026-01-01", "2026-01-11"] {
        assert_eq!(texts_with(&doc, label).len(), 1, "date label {label}");
    }
}

#[test]
fn one_rating_is_one_point_in_the_middle() {
    let svg = progress_chart(&[(1, "Walk".into())], &[(1, day(3), 6)]);
    let doc = checked(&svg);
    let point = marker(&doc, "Goal 1, 2026-01-04: 6/10");
    assert_eq!(number(point, "cx"), (PLOT_LEFT + PLOT_RIGHT) / 2.0);
    assert!(!svg.contains("<polyline"));
    assert!(svg.contains("6/10"), "what the browser test looks for");
}

#[test]
fn each_goal_has_its_own_colour_marker_and_dash() {
    let goals: Vec<(u32, String)> = (1..=3).map(|n| (n, format!("Goal text {n}"))).collect();
    let ratings: Vec<(u32, Date, u8)> = (1..=3).flat_map(|n| [(n, day(0), 2), (n, day(7), 5)]).collect();
    let svg = progress_chart(&goals, &ratings);
    let doc = checked(&svg);
    let lines: Vec<(Option<&str>, Option<&str>)> = doc
        .descendants()
        .filter(|n| n.has_tag_name("polyline"))
        .map(|n| (n.attribute("stroke"), n.attribute("stroke-dasharray")))
        .collect();
    assert_eq!(lines.len(), 3);
    let colours: BTreeSet<_> = lines.iter().map(|l| l.0).collect();
    let dashes: BTreeSet<_> = lines.iter().map(|l| l.1).collect();
    assert_eq!((colours.len(), dashes.len()), (3, 3), "{lines:?}");
    let shapes: BTreeSet<String> = (1..=3)
        .map(|n| {
            let m = marker(&doc, &format!("Goal {n}, 2026-01-08: 5/10"));
            format!("{}{}", m.tag_name().name(), m.attribute("d").map(|d| d.split(' ').count()).unwrap_or(0))
        })
        .collect();
    assert_eq!(shapes.len(), 3, "distinct marker shapes: {shapes:?}");
}

#[test]
fn progress_labels_are_escaped_cut_and_kept_out_of_attributes() {
    let goals = vec![(1, format!("zqx {HOSTILE} {}", "very long goal ".repeat(20))), (2, "Sleep".into())];
    let svg = progress_chart(&goals, &[(1, day(0), 3), (7, day(1), 4)]);
    let doc = checked(&svg);
    no_input_in_attributes(&doc, "zqx");
    assert!(svg.contains("&lt;script&gt;") && !svg.contains("<script"));
    let legend = texts_with(&doc, "Goal 1: zqx");
    assert!(all_text(legend[0]).ends_with('…'), "{}", all_text(legend[0]));
    assert_eq!(texts_with(&doc, "Goal 2: Sleep (not rated yet)").len(), 1);
    assert_eq!(texts_with(&doc, "Goal 7").len(), 1, "a rating of a goal no longer in the plan still shows");
}

#[test]
fn no_ratings_says_so() {
    let svg = progress_chart(&[(1, "Walk".into())], &[]);
    checked(&svg);
    assert!(svg.contains("No progress rated yet."));
}

fn event(date: Date, kind: TimelineKind, label: &str) -> TimelineEvent {
    TimelineEvent { date, kind, label: label.to_owned() }
}

#[test]
fn the_timeline_keeps_the_last_twelve_months_with_a_mark_per_event() {
    let events = vec![
        event(date!(2024 - 03 - 01), TimelineKind::Session, "Long ago"),
        event(date!(2025 - 06 - 14), TimelineKind::Assessment, "Too early"),
        event(date!(2025 - 06 - 15), TimelineKind::Assessment, "PHQ-9"),
        event(date!(2025 - 09 - 01), TimelineKind::Session, "Session note"),
        event(date!(2025 - 09 - 01), TimelineKind::Session, "Extra session"),
        event(date!(2026 - 01 - 10), TimelineKind::Homework, "Homework: Completed"),
        event(date!(2026 - 03 - 02), TimelineKind::Formulation, "Formulation revised"),
        event(date!(2026 - 06 - 15), TimelineKind::PlanReview, "Plan review"),
    ];
    let svg = timeline(&events);
    let doc = checked(&svg);
    assert!(!svg.contains("Long ago") && !svg.contains("Too early"), "older than 12 months before the latest");
    let titles: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("title") && n.parent_element() != Some(doc.root_element()))
        .filter_map(|n| n.text())
        .filter(|t| t.starts_with("20"))
        .collect();
    assert_eq!(
        titles,
        [
            "2025-09-01: Session note\n2025-09-01: Extra session",
            "2025-06-15: PHQ-9",
            "2026-06-15: Plan review",
            "2026-01-10: Homework: Completed",
            "2026-03-02: Formulation revised",
        ],
        "one mark per kind and day, in lane order"
    );
    for kind in TimelineKind::ALL {
        assert_eq!(texts_with(&doc, kind.label()).len(), 1, "{} in the legend", kind.label());
    }
    for month in ["Jun 2025", "Jul", "Dec", "Jan 2026", "Jun"] {
        assert!(!texts_with(&doc, month).is_empty(), "month tick {month}");
    }
    assert_eq!(marker(&doc, "2025-06-15: PHQ-9").tag_name().name(), "path", "assessments are not circles");
    let session = marker(&doc, "2025-09-01: Session note\n2025-09-01: Extra session");
    assert_eq!(session.tag_name().name(), "circle");
    let desc = doc.descendants().find(|n| n.has_tag_name("desc")).and_then(|n| n.text()).unwrap_or_default();
    assert!(desc.starts_with("6 events from 2025-06-15 to 2026-06-15") && desc.contains("before 2025-06-15"), "{desc}");
}

#[test]
fn timeline_labels_are_escaped_and_kept_out_of_attributes() {
    let svg = timeline(&[event(date!(2026 - 01 - 10), TimelineKind::Homework, &format!("zqx {HOSTILE}"))]);
    let doc = checked(&svg);
    no_input_in_attributes(&doc, "zqx");
    assert!(svg.contains("&lt;script&gt;") && !svg.contains("<script"));
}

#[test]
fn an_empty_timeline_says_so() {
    let svg = timeline(&[]);
    checked(&svg);
    assert!(svg.contains("Nothing on the timeline yet."));
}

#[test]
fn id_prefixes_keep_two_pictures_apart_and_are_sanitised() {
    let f = formulation(vec![example("A")]);
    let first = crate::formulation_diagram_with_id_prefix(&f, "first");
    let second = crate::formulation_diagram_with_id_prefix(&f, "second\" onload=\"x");
    checked(&first);
    checked(&second);
    assert!(first.contains(r#"id="first-arrow""#) && first.contains("url(#first-arrow)"));
    assert!(second.contains(r#"id="secondonloadx-arrow""#), "{second}");
    assert!(crate::progress_chart_with_id_prefix(&[], &[], "p2").contains(r#"id="p2-title""#));
    assert!(crate::timeline_with_id_prefix(&[], "t2").contains(r#"id="t2-desc""#));
    assert!(score_chart_with_id_prefix(&phq9(&[]), "s2").contains(r#"id="s2-title""#));
    assert!(formulation_diagram(&f).contains(r#"id="cbt-formulation-title""#));
}

const PHQ9_BANDS: [ScoreBand<'static>; 5] = [
    ScoreBand { min: 0, max: 4, label: "Minimal" },
    ScoreBand { min: 5, max: 9, label: "Mild <&> zqx" },
    ScoreBand { min: 10, max: 14, label: "Moderate" },
    ScoreBand { min: 15, max: 19, label: "Moderately severe" },
    ScoreBand { min: 20, max: 27, label: "Severe" },
];

fn phq9<'a>(points: &'a [(Date, u32)]) -> ScoreSeries<'a> {
    ScoreSeries { name: "PHQ-9", min: 0, max: 27, bands: &PHQ9_BANDS, higher_is_worse: true, cutoff: None, points }
}

fn desc_of(doc: &roxmltree::Document<'_>) -> String {
    doc.root_element().children().find(|n| n.has_tag_name("desc")).and_then(|n| n.text()).unwrap_or_default().to_owned()
}

/// The band strips, lowest scores first: (y, height, fill).
fn strips(doc: &roxmltree::Document<'_>, id: &str) -> Vec<(f32, f32, String)> {
    let group = doc.descendants().find(|n| n.attribute("id") == Some(id));
    let group = group.unwrap_or_else(|| panic!("no #{id}"));
    assert_eq!(group.tag_name().name(), "g");
    group
        .children()
        .filter(|n| n.has_tag_name("rect"))
        .map(|r| (number(r, "y"), number(r, "height"), r.attribute("fill").unwrap_or_default().to_owned()))
        .collect()
}

fn tint_index(fill: &str) -> usize {
    TINTS.iter().position(|t| *t == fill).unwrap_or_else(|| panic!("{fill} is not a tint"))
}

#[test]
fn score_bands_are_stacked_in_order_warming_with_severity_and_labelled_escaped() {
    let svg = score_chart(&phq9(&[(day(0), 18), (day(30), 9)]));
    let doc = checked(&svg);
    let strips = strips(&doc, "cbt-scores-bands");
    assert_eq!(strips.len(), 5);
    assert_eq!(strips[0].0 + strips[0].1, SCORES_BOTTOM, "the lowest band starts at the bottom");
    assert_eq!(strips[4].0, SCORES_TOP, "the highest band ends at the top");
    for pair in strips.windows(2) {
        assert!((pair[1].0 + pair[1].1 - pair[0].0).abs() < 0.11, "each band right above the one before: {strips:?}");
    }
    let tints: Vec<usize> = strips.iter().map(|s| tint_index(&s.2)).collect();
    assert!(tints.windows(2).all(|w| w[0] < w[1]), "stronger with severity: {tints:?}");
    assert_eq!((tints[0], tints[4]), (0, TINTS.len() - 1));

    assert!(svg.contains(">Mild &lt;&amp;&gt; zqx</text>"), "{svg}");
    assert!(!svg.contains("<&>"));
    no_input_in_attributes(&doc, "zqx");
    for (label, strip) in ["Minimal", "Mild <&> zqx", "Moderate", "Moderately severe", "Severe"].iter().zip(&strips) {
        let text = doc.descendants().find(|n| n.has_tag_name("text") && all_text(*n) == *label);
        let y = number(text.unwrap_or_else(|| panic!("no label {label}")), "y");
        assert!(y > strip.0 && y < strip.0 + strip.1, "{label} at {y} inside its strip {strip:?}");
    }
    for value in ["0", "5", "10", "15", "20", "27"] {
        assert_eq!(doc.descendants().filter(|n| n.has_tag_name("text") && all_text(*n) == value).count(), 1, "{value}");
    }
}

#[test]
fn when_lower_is_worse_the_strongest_tint_is_at_the_bottom() {
    let bands = [
        ScoreBand { min: 14, max: 40, label: "Low wellbeing" },
        ScoreBand { min: 41, max: 44, label: "Below average" },
        ScoreBand { min: 45, max: 70, label: "Average or above" },
    ];
    let series = ScoreSeries {
        name: "WEMWBS",
        min: 14,
        max: 70,
        bands: &bands,
        higher_is_worse: false,
        cutoff: None,
        points: &[(day(0), 38)],
    };
    let doc_text = score_chart(&series);
    let doc = checked(&doc_text);
    let tints: Vec<usize> = strips(&doc, "cbt-scores-bands").iter().map(|s| tint_index(&s.2)).collect();
    assert_eq!(tints.len(), 3);
    assert!(tints.windows(2).all(|w| w[0] > w[1]), "palest at the top: {tints:?}");
    assert_eq!((tints[0], tints[2]), (TINTS.len() - 1, 0));
    assert!(desc_of(&doc).contains("lower is worse"));
    marker(&doc, "2026-01-01: 38 (Low wellbeing)");
}

#[test]
fn score_points_sit_at_their_score_and_date_and_are_joined_by_date() {
    let points = [(day(10), 27), (day(0), 0), (day(5), 12), (day(5), 30)];
    let svg = score_chart(&phq9(&points));
    let doc = checked(&svg);
    let top = marker(&doc, "2026-01-11: 27 (Severe)");
    assert_eq!((number(top, "cx"), number(top, "cy")), (PLOT_RIGHT, SCORES_TOP), "the maximum at the top");
    let bottom = marker(&doc, "2026-01-01: 0 (Minimal)");
    assert_eq!((number(bottom, "cx"), number(bottom, "cy")), (PLOT_LEFT, SCORES_BOTTOM), "the minimum at the bottom");
    let middle = marker(&doc, "2026-01-06: 12 (Moderate)");
    assert_eq!(number(middle, "cy"), 160.4, "12/27 of the way up from 260 to 36");
    let over = marker(&doc, "2026-01-06: 30");
    assert_eq!(number(over, "cy"), SCORES_TOP, "out of range: held at the top, outside any band");
    let lines: Vec<&str> =
        doc.descendants().filter(|n| n.has_tag_name("polyline")).filter_map(|n| n.attribute("points")).collect();
    assert_eq!(lines, ["48,260 324,160.4 324,36 600,36"], "by date, one day's results in the order given");
    assert_eq!(
        desc_of(&doc),
        "PHQ-9 scores from 0 to 27, higher is worse. Bands: Minimal 0–4, Mild <&> zqx 5–9, Moderate 10–14, \
         Moderately severe 15–19, Severe 20–27. 4 results from 2026-01-01 to 2026-01-11: first 0 (Minimal), \
         latest 27 (Severe)."
    );
    assert_eq!(
        doc.root_element().children().find(|n| n.has_tag_name("title")).and_then(|n| n.text()),
        Some("PHQ-9 scores")
    );
    let one = score_chart(&phq9(&[(day(3), 9)]));
    let doc = checked(&one);
    assert_eq!(number(marker(&doc, "2026-01-04: 9 (Mild <&> zqx)"), "cx"), (PLOT_LEFT + PLOT_RIGHT) / 2.0);
    assert!(!one.contains("<polyline"));
    assert!(desc_of(&doc).ends_with(" 1 result, on 2026-01-04: 9 (Mild <&> zqx)."), "{}", desc_of(&doc));
}

#[test]
fn no_results_is_a_small_picture_saying_so() {
    let svg = score_chart(&phq9(&[]));
    let doc = checked(&svg);
    assert_eq!(texts_with(&doc, "No results yet.").len(), 1);
    assert_eq!(desc_of(&doc), "No results yet.");
    assert!(!svg.contains("<polyline") && !svg.contains("<circle") && !svg.contains("-bands"));
    assert!(svg.contains(r#"viewBox="0 0 640 72""#), "{svg}");
}

#[test]
fn the_cut_off_is_drawn_only_when_given() {
    let points = [(day(0), 52), (day(28), 31)];
    let pcl5 = ScoreSeries {
        name: "PCL-5",
        min: 0,
        max: 80,
        bands: &[],
        higher_is_worse: true,
        cutoff: Some(33),
        points: &points,
    };
    let svg = score_chart(&pcl5);
    let doc = checked(&svg);
    let dashed: Vec<_> = doc.descendants().filter(|n| n.attribute("stroke-dasharray").is_some()).collect();
    assert_eq!(dashed.len(), 1, "{svg}");
    assert_eq!((number(dashed[0], "y1"), number(dashed[0], "y2")), (167.6, 167.6), "33/80 of the way up");
    assert_eq!((number(dashed[0], "x1"), number(dashed[0], "x2")), (PLOT_LEFT, PLOT_RIGHT));
    assert_eq!(texts_with(&doc, "cut-off 33").len(), 1);
    assert!(!svg.contains("-bands"), "no bands, no strips");
    marker(&doc, "2026-01-01: 52");
    assert_eq!(
        desc_of(&doc),
        "PCL-5 scores from 0 to 80, higher is worse. Clinical cut-off: 33. 2 results from 2026-01-01 to \
         2026-01-29: first 52, latest 31."
    );

    let without = score_chart(&ScoreSeries { cutoff: None, ..pcl5 });
    let doc = checked(&without);
    assert!(!without.contains("stroke-dasharray") && !without.contains("cut-off"), "{without}");
    assert!(!desc_of(&doc).contains("cut-off"));
}

#[test]
fn short_bands_keep_their_label_in_the_description_only_and_close_values_are_not_labelled() {
    // DASS-21 anxiety: "Mild" is 8–9, too thin a strip for its label.
    let bands = [
        ScoreBand { min: 0, max: 7, label: "Normal" },
        ScoreBand { min: 8, max: 9, label: "Mild" },
        ScoreBand { min: 10, max: 14, label: "Moderate" },
        ScoreBand { min: 15, max: 19, label: "Severe" },
        ScoreBand { min: 20, max: 42, label: "Extremely severe" },
    ];
    let series = ScoreSeries {
        name: "DASS-21 Anxiety",
        min: 0,
        max: 42,
        bands: &bands,
        higher_is_worse: true,
        cutoff: None,
        points: &[(day(0), 16), (day(7), 9)],
    };
    let svg = score_chart(&series);
    let doc = checked(&svg);
    assert_eq!(strips(&doc, "cbt-scores-bands").len(), 5, "every band is shaded");
    assert!(doc.descendants().all(|n| !(n.has_tag_name("text") && all_text(n) == "Mild")), "{svg}");
    for label in ["Normal", "Moderate", "Severe", "Extremely severe"] {
        assert_eq!(doc.descendants().filter(|n| n.has_tag_name("text") && all_text(*n) == label).count(), 1);
    }
    let desc = desc_of(&doc);
    assert!(desc.contains("Mild 8–9") && desc.ends_with("first 16 (Severe), latest 9 (Mild)."), "{desc}");
    let values: Vec<String> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text") && all_text(*n).parse::<u32>().is_ok())
        .map(all_text)
        .collect();
    assert_eq!(values, ["0", "42", "8", "15", "20"], "10 is too close to 8");
}

#[test]
fn score_chart_text_is_escaped_and_ids_take_the_prefix() {
    let name = format!("zqx {HOSTILE}");
    let bands = [ScoreBand { min: 0, max: 10, label: HOSTILE }, ScoreBand { min: 11, max: 20, label: "High" }];
    let series = ScoreSeries {
        name: &name,
        min: 0,
        max: 20,
        bands: &bands,
        higher_is_worse: true,
        cutoff: Some(12),
        points: &[(day(0), 3)],
    };
    let svg = score_chart_with_id_prefix(&series, "client-7-phq9");
    let doc = checked(&svg);
    no_input_in_attributes(&doc, "zqx");
    no_input_in_attributes(&doc, "alert");
    assert!(svg.contains("&lt;script&gt;") && !svg.contains("<script"));
    assert!(!svg.contains('\u{0}') && !svg.contains('\u{1b}'));
    for id in ["client-7-phq9-title", "client-7-phq9-desc", "client-7-phq9-bands"] {
        assert!(svg.contains(&format!(r#"id="{id}""#)), "{id}");
    }
    assert!(!svg.contains("cbt-scores"));
    let default = score_chart(&series);
    assert!(default.contains(r#"id="cbt-scores-title""#) && default.contains(r#"id="cbt-scores-bands""#));
}
