//! The formulation diagram: Beck's cognitive conceptualisation diagram
//! (history → core beliefs → rules → compensatory strategies, then one
//! column per worked example: situation → automatic thought → meaning →
//! emotion → behaviour) above the 5 Ps (the presenting problem in the
//! centre, the four kinds of factor around it, arrows into it).

use cbt_domain::formulation::{Formulation, ThoughtExample};

use crate::svg::{Canvas, TextBox, TextStyle, one_line};

const WIDTH: f32 = 960.0;
const MARGIN: f32 = 20.0;
/// The four stacked boxes of the conceptualisation, centred.
const CORE_WIDTH: f32 = 640.0;
const CORE_MAX_LINES: usize = 6;
/// Three worked examples side by side, as in Beck's diagram; more go on a
/// second row rather than into columns too narrow to read.
const EXAMPLES_PER_ROW: usize = 3;
const EXAMPLE_GAP: f32 = 24.0;
const EXAMPLE_MAX_LINES: usize = 5;
/// Left of the example rows: where the connector runs down to a second row.
const GUTTER: f32 = 16.0;
const FIVE_PS_GAP: f32 = 48.0;
const FIVE_PS_MAX_LINES: usize = 8;
/// Between boxes one above the other: room for an arrow.
const ARROW_GAP: f32 = 28.0;
/// Between the two factors stacked on each side of the 5 Ps.
const STACK_GAP: f32 = 16.0;

const CORE_FILL: &str = "#eef3f8";
const EXAMPLE_FILL: &str = "#f7f7f7";
const PRESENTING_FILL: &str = "#fdf0e1";
const FACTOR_FILL: &str = "#eff6ec";

/// The default id prefix: one formulation diagram per page.
pub const ID_PREFIX: &str = "cbt-formulation";

/// The whole formulation as one picture. See the module docs for its parts.
pub fn formulation_diagram(f: &Formulation) -> String {
    formulation_diagram_with_id_prefix(f, ID_PREFIX)
}

/// The same, its ids starting with `id_prefix`, for a page that shows more
/// than one formulation.
pub fn formulation_diagram_with_id_prefix(f: &Formulation, id_prefix: &str) -> String {
    let mut canvas = Canvas::new(id_prefix);
    let mut y = MARGIN;
    if !f.title.trim().is_empty() {
        let title = one_line(&f.title, WIDTH - 2.0 * MARGIN, 16.0);
        canvas.text(MARGIN, y + 16.0, &title, TextStyle { size: 16.0, ..TextStyle::LABEL });
        y += 30.0;
    }
    let examples: Vec<&ThoughtExample> = f.beck.examples.iter().filter(|e| !e.is_empty()).collect();
    y = conceptualisation(&mut canvas, f, &examples, y);
    y = five_ps(&mut canvas, f, y + 8.0);

    let examples_said = match examples.len() {
        0 => "no worked examples".to_owned(),
        1 => "one worked example (situation, automatic thought, meaning, emotion, behaviour)".to_owned(),
        n => format!("{n} worked examples (situation, automatic thought, meaning, emotion, behaviour)"),
    };
    let desc = format!(
        "Cognitive conceptualisation: relevant history, core beliefs, conditional assumptions and compensatory \
         strategies, with {examples_said}. Then the 5 Ps: the presenting problem with its predisposing, \
         precipitating, perpetuating and protective factors."
    );
    let title = if f.title.trim().is_empty() {
        "Case formulation".to_owned()
    } else {
        format!("Case formulation: {}", f.title.trim())
    };
    canvas.finish(WIDTH, y + MARGIN, &title, &desc, true)
}

fn section_heading(canvas: &mut Canvas, y: f32, heading: &str) -> f32 {
    canvas.text(MARGIN, y + 14.0, heading, TextStyle { size: 14.0, ..TextStyle::LABEL });
    y + 26.0
}

/// The Beck diagram from `y` down; returns where it ends.
fn conceptualisation(canvas: &mut Canvas, f: &Formulation, examples: &[&ThoughtExample], y: f32) -> f32 {
    let mut y = section_heading(canvas, y, "Cognitive conceptualisation");
    let b = &f.beck;
    let core = [
        ("Relevant childhood/history data", &b.relevant_history),
        ("Core beliefs", &b.core_beliefs),
        ("Conditional assumptions / rules", &b.conditional_assumptions),
        ("Compensatory strategies", &b.compensatory_strategies),
    ];
    let x = (WIDTH - CORE_WIDTH) / 2.0;
    let centre = WIDTH / 2.0;
    let mut bottom = y;
    for (i, (label, text)) in core.into_iter().enumerate() {
        if i > 0 {
            canvas.arrow((centre, bottom), (centre, y));
        }
        let b = TextBox::new(label, text, CORE_WIDTH, CORE_MAX_LINES);
        let height = b.height();
        b.draw(canvas, x, y, height, CORE_FILL);
        bottom = y + height;
        y = bottom + ARROW_GAP;
    }
    if examples.is_empty() {
        return bottom + 12.0;
    }
    example_rows(canvas, examples, bottom)
}

/// The worked examples under the compensatory strategies (whose box ends at
/// `top`), fed by one connector; returns where they end.
fn example_rows(canvas: &mut Canvas, examples: &[&ThoughtExample], top: f32) -> f32 {
    let area_left = MARGIN + GUTTER;
    let area_width = WIDTH - MARGIN - area_left;
    let column_width = (area_width - (EXAMPLES_PER_ROW - 1) as f32 * EXAMPLE_GAP) / EXAMPLES_PER_ROW as f32;
    let trunk_x = WIDTH / 2.0;
    let gutter_x = MARGIN + GUTTER / 2.0;
    let rows: Vec<&[&ThoughtExample]> = examples.chunks(EXAMPLES_PER_ROW).collect();
    let several_rows = rows.len() > 1;

    let mut bus_y = top + 16.0;
    canvas.connector((trunk_x, top), (trunk_x, bus_y));
    let first_bus_y = bus_y;
    let mut y = top;
    for (r, row) in rows.iter().enumerate() {
        if r > 0 {
            bus_y = y + 16.0;
        }
        let row_top = bus_y + 20.0;
        let row_width = row.len() as f32 * column_width + (row.len() - 1) as f32 * EXAMPLE_GAP;
        let row_left = area_left + (area_width - row_width) / 2.0;
        let lefts: Vec<f32> = (0..row.len()).map(|i| row_left + i as f32 * (column_width + EXAMPLE_GAP)).collect();
        let centres: Vec<f32> = lefts.iter().map(|left| left + column_width / 2.0).collect();

        // The connector: across above the row, an arrow down into each column.
        let mut from = centres.first().copied().unwrap_or(trunk_x);
        let mut to = centres.last().copied().unwrap_or(trunk_x);
        if r == 0 {
            from = from.min(trunk_x);
            to = to.max(trunk_x);
        }
        if several_rows {
            from = gutter_x;
        }
        canvas.connector((from, bus_y), (to, bus_y));
        for &cx in &centres {
            canvas.arrow((cx, bus_y), (cx, row_top));
        }

        // A lone example needs no number.
        let first_number = (examples.len() > 1).then_some(r * EXAMPLES_PER_ROW + 1);
        y = example_columns(canvas, row, first_number, &lefts, column_width, row_top);
    }
    if several_rows {
        canvas.connector((gutter_x, first_bus_y), (gutter_x, bus_y));
    }
    y + 12.0
}

/// One row of worked examples, a column each at `lefts`, from `top`;
/// returns where the row ends. Each link of the chain is as tall as its
/// tallest column, so the situations, thoughts, … of the row line up.
fn example_columns(
    canvas: &mut Canvas,
    row: &[&ThoughtExample],
    first_number: Option<usize>,
    lefts: &[f32],
    width: f32,
    top: f32,
) -> f32 {
    let columns: Vec<Vec<TextBox>> = row
        .iter()
        .enumerate()
        .map(|(i, e)| {
            e.parts()
                .into_iter()
                .enumerate()
                .map(|(link, (_, label, text))| {
                    let label = match first_number {
                        Some(n) if link == 0 => format!("{label} {}", n + i),
                        _ => label.to_owned(),
                    };
                    TextBox::new(label, text, width, EXAMPLE_MAX_LINES)
                })
                .collect()
        })
        .collect();
    let links = columns.first().map_or(0, Vec::len);
    let mut link_top = top;
    for link in 0..links {
        let height = columns.iter().filter_map(|c| c.get(link)).map(TextBox::height).fold(0.0, f32::max);
        for (column, &left) in columns.iter().zip(lefts) {
            let Some(b) = column.get(link) else { continue };
            let centre = left + width / 2.0;
            if link > 0 {
                canvas.arrow((centre, link_top - ARROW_GAP), (centre, link_top));
            }
            b.draw(canvas, left, link_top, height, EXAMPLE_FILL);
        }
        link_top += height + ARROW_GAP;
    }
    link_top - ARROW_GAP
}

/// The 5 Ps from `y` down; returns where they end.
fn five_ps(canvas: &mut Canvas, f: &Formulation, y: f32) -> f32 {
    let top = section_heading(canvas, y, "The 5 Ps");
    let p = &f.five_ps;
    let column_width = (WIDTH - 2.0 * MARGIN - 2.0 * FIVE_PS_GAP) / 3.0;
    let factor = |label: &str, text: &str| TextBox::new(label, text, column_width, FIVE_PS_MAX_LINES);
    let presenting = factor("Presenting problem", &p.presenting);
    // Left: what made the person vulnerable, and what set it off; right:
    // what keeps it going, and what helps.
    let predisposing = factor("Predisposing factors", &p.predisposing);
    let precipitating = factor("Precipitating factors", &p.precipitating);
    let perpetuating = factor("Perpetuating factors", &p.perpetuating);
    let protective = factor("Protective factors", &p.protective);

    let upper = predisposing.height().max(perpetuating.height());
    let lower = precipitating.height().max(protective.height());
    let sides = upper + STACK_GAP + lower;
    let centre_height = presenting.height().max(sides);
    let sides_top = top + (centre_height - sides) / 2.0;
    let lower_top = sides_top + upper + STACK_GAP;

    let left_x = MARGIN;
    let centre_x = left_x + column_width + FIVE_PS_GAP;
    let right_x = centre_x + column_width + FIVE_PS_GAP;
    presenting.draw(canvas, centre_x, top, centre_height, PRESENTING_FILL);
    for (b, x, y, height) in [
        (&predisposing, left_x, sides_top, upper),
        (&precipitating, left_x, lower_top, lower),
        (&perpetuating, right_x, sides_top, upper),
        (&protective, right_x, lower_top, lower),
    ] {
        b.draw(canvas, x, y, height, FACTOR_FILL);
        let mid = y + height / 2.0;
        if x < centre_x {
            canvas.arrow((x + column_width, mid), (centre_x, mid));
        } else {
            canvas.arrow((x, mid), (centre_x + column_width, mid));
        }
    }
    top + centre_height
}
