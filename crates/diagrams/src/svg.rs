//! What the three diagrams share: turning input text into safe element text
//! (escaped, control characters dropped, word-wrapped by estimated width),
//! the `<svg>` frame with its title, description and arrowhead, boxes with a
//! label and wrapped text, arrows, and marker shapes.
//!
//! Input text leaves this module only as escaped element text (`<text>`,
//! `<tspan>`, `<title>`, `<desc>` contents). Attribute values are numbers,
//! the fixed colours below and sanitised ids: never input text.

use std::fmt::{self, Display, Write as _};

use time::Date;

pub const FONT_FAMILY: &str = "sans-serif";
/// Body text size; the width estimates below are tuned to it.
pub const FONT_SIZE: f32 = 13.0;
/// Baseline to baseline.
pub const LINE_HEIGHT: f32 = 17.0;
pub const LABEL_SIZE: f32 = 12.0;
pub const INK: &str = "#111111";
/// For placeholders ("—") and secondary text: still 4.5:1 on white.
pub const MUTED: &str = "#666666";
pub const STROKE: &str = "#4d4d4d";
pub const GRID: &str = "#cccccc";

/// Okabe–Ito colours, told apart with the common colour-vision
/// deficiencies; the yellow is left out, too pale on white.
pub const PALETTE: [&str; 7] = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"];

/// A number for an attribute: at most one decimal, no trailing ".0".
pub struct N(pub f32);

impl Display for N {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Whole tenths as an integer: a diagram writes thousands of these,
        // and integer formatting is many times cheaper than `{:.1}` of a
        // float. Rounds half away from zero, as `f32::round`; a -0 comes
        // out as "0" ("-0" in a coordinate is odd to read).
        let tenths = (self.0 * 10.0).round() as i64;
        let sign = if tenths < 0 { "-" } else { "" };
        let (whole, tenth) = (tenths.unsigned_abs() / 10, tenths.unsigned_abs() % 10);
        if tenth == 0 { write!(f, "{sign}{whole}") } else { write!(f, "{sign}{whole}.{tenth}") }
    }
}

/// YYYY-MM-DD, whatever the locale: what therapists read on every other page.
pub fn iso(d: Date) -> String {
    IsoDate(d).to_string()
}

/// [`iso`] written in place, without a `String` of its own.
#[derive(Clone, Copy, Debug)]
pub struct IsoDate(pub Date);

impl Display for IsoDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        write!(f, "{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
    }
}

/// Text as XML element content. Control characters go (most are not
/// allowed in XML 1.0 and would make the standalone file unreadable; the
/// rest are invisible); tabs and line breaks become spaces; the five markup
/// characters are escaped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let _ = Escaping(&mut out).write_str(text);
    out
}

/// A writer that escapes, as [`escape`], all that is written through it:
/// the text of a `Display` value goes into the markup escaped without a
/// `String` of its own.
struct Escaping<'a, W: fmt::Write>(&'a mut W);

impl<W: fmt::Write> fmt::Write for Escaping<'_, W> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        // Runs of plain characters are written whole.
        let mut plain = 0;
        for (i, c) in text.char_indices() {
            let replacement = match c {
                '&' => "&amp;",
                '<' => "&lt;",
                '>' => "&gt;",
                '"' => "&quot;",
                '\'' => "&apos;",
                '\t' | '\n' | '\r' => " ",
                // U+FFFE and U+FFFF are not characters in XML 1.0 either.
                c if c.is_control() || c == '\u{FFFE}' || c == '\u{FFFF}' => "",
                _ => continue,
            };
            self.0.write_str(&text[plain..i])?;
            self.0.write_str(replacement)?;
            plain = i + c.len_utf8();
        }
        self.0.write_str(&text[plain..])
    }
}

/// Element text: `lines` escaped, one a line (a tooltip's entries).
pub struct EscapedLines<'a, T: Display>(pub &'a [T]);

impl<T: Display> Display for EscapedLines<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, line) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(Escaping(f), "{line}")?;
        }
        Ok(())
    }
}

/// An id fit for an attribute: what the caller gave, kept to ASCII letters,
/// digits, `-` and `_`, starting with a letter.
pub fn sanitise_id(prefix: &str) -> String {
    let kept: String = prefix.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
    if kept.starts_with(|c: char| c.is_ascii_alphabetic()) { kept } else { format!("d-{kept}") }
}

/// Estimated advance of a character, in ems, for a sans-serif face: the
/// widths of DejaVu Sans, the widest common default, rounded up. Rough on
/// purpose: it decides where lines break, and erring wide only wraps a
/// little early.
fn char_em(c: char) -> f32 {
    match c {
        'i' | 'j' | 'l' | '.' | ',' | ':' | ';' | '\'' | '!' | '|' => 0.3,
        ' ' | 'I' | 'f' | 't' | '(' | ')' | '[' | ']' | '-' => 0.4,
        'r' | '"' => 0.45,
        'm' | 'w' | 'M' | 'W' | '@' | '%' | '—' => 1.0,
        'A'..='Z' => 0.75,
        '…' => 1.0,
        c if is_wide(c) => 1.0,
        _ => 0.64,
    }
}

/// East Asian wide characters and emoji take a full em.
fn is_wide(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x115F | 0x2E80..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF | 0xFE30..=0xFE4F
        | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6 | 0x1F300..=0x1FAFF | 0x20000..=0x3FFFD)
}

/// Estimated width of text at a font size, in pixels.
pub fn text_width(text: &str, size: f32) -> f32 {
    text.chars().map(char_em).sum::<f32>() * size
}

/// One line of wrapped text, not yet escaped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub text: String,
    /// The line ended at a space or line break (not inside a word), so a
    /// space follows it in the text content: copied or read aloud, the
    /// words stay apart.
    pub space_after: bool,
}

/// Text wrapped to `width` pixels at `size`: line breaks in the input are
/// kept (runs of blank lines kept as one), words too long for a line are
/// broken, and past `max_lines` the last line kept ends in "…".
pub fn wrap(text: &str, width: f32, size: f32, max_lines: usize) -> Vec<Line> {
    let mut lines: Vec<Line> = Vec::new();
    for paragraph in text.split('\n') {
        let words = words_of(paragraph);
        if words.is_empty() {
            // A blank line separates paragraphs; one is enough.
            if lines.last().is_some_and(|l| !l.text.is_empty()) {
                lines.push(Line { text: String::new(), space_after: true });
            }
            continue;
        }
        let mut current = String::new();
        for word in words {
            let candidate = if current.is_empty() { word.clone() } else { format!("{current} {word}") };
            if text_width(&candidate, size) <= width {
                current = candidate;
                continue;
            }
            if !current.is_empty() {
                lines.push(Line { text: std::mem::take(&mut current), space_after: true });
            }
            current = word;
            // A word wider than the box is cut where it reaches the edge.
            while text_width(&current, size) > width {
                let (head, tail) = split_at_width(&current, width, size);
                lines.push(Line { text: head, space_after: false });
                current = tail;
            }
        }
        lines.push(Line { text: current, space_after: true });
    }
    while lines.last().is_some_and(|l| l.text.is_empty()) {
        lines.pop();
    }
    if let Some(last) = lines.last_mut() {
        last.space_after = false;
    }
    if lines.len() > max_lines.max(1) {
        lines.truncate(max_lines.max(1));
        if let Some(last) = lines.last_mut() {
            last.text = ellipsised(&last.text, width, size);
            last.space_after = false;
        }
    }
    lines
}

/// The words of one input line, with control characters (tabs included)
/// treated as spaces so that nothing invisible reaches the picture.
fn words_of(paragraph: &str) -> Vec<String> {
    paragraph
        .chars()
        .map(|c| if c.is_control() || c == '\u{FFFE}' || c == '\u{FFFF}' { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// The longest head of `word` that fits `width` (at least one character),
/// and the rest.
fn split_at_width(word: &str, width: f32, size: f32) -> (String, String) {
    let mut used = 0.0;
    let mut cut = 0;
    for (i, c) in word.char_indices() {
        let w = char_em(c) * size;
        if used + w > width && i > 0 {
            break;
        }
        used += w;
        cut = i + c.len_utf8();
    }
    (word[..cut].to_owned(), word[cut..].to_owned())
}

/// `line` shortened until "…" fits after it.
pub fn ellipsised(line: &str, width: f32, size: f32) -> String {
    let mut kept: String = line.to_owned();
    while !kept.is_empty() && text_width(&format!("{kept}…"), size) > width {
        kept.pop();
    }
    format!("{}…", kept.trim_end())
}

/// One line of input text, cut with "…" to fit `width` (line breaks read
/// as spaces): legend entries and other one-line labels.
pub fn one_line(text: &str, width: f32, size: f32) -> String {
    let flat = text.replace(['\n', '\r'], " ");
    wrap(&flat, width, size, 1).into_iter().next().map(|l| l.text).unwrap_or_default()
}

/// Where a text sits relative to its x.
#[derive(Clone, Copy)]
pub enum Anchor {
    Start,
    Middle,
    End,
}

impl Anchor {
    fn attr(self) -> &'static str {
        match self {
            Anchor::Start => "start",
            Anchor::Middle => "middle",
            Anchor::End => "end",
        }
    }
}

/// How a piece of text looks.
#[derive(Clone, Copy)]
pub struct TextStyle {
    pub size: f32,
    pub fill: &'static str,
    pub bold: bool,
    pub anchor: Anchor,
}

impl TextStyle {
    pub const BODY: TextStyle = TextStyle { size: FONT_SIZE, fill: INK, bold: false, anchor: Anchor::Start };
    pub const LABEL: TextStyle = TextStyle { size: LABEL_SIZE, fill: INK, bold: true, anchor: Anchor::Start };
    pub const SMALL: TextStyle = TextStyle { size: LABEL_SIZE, fill: INK, bold: false, anchor: Anchor::Start };
    pub const MUTED: TextStyle = TextStyle { size: LABEL_SIZE, fill: MUTED, bold: false, anchor: Anchor::Start };

    pub fn anchored(self, anchor: Anchor) -> Self {
        TextStyle { anchor, ..self }
    }

    fn attrs(self) -> String {
        let weight = if self.bold { r#" font-weight="bold""# } else { "" };
        let anchor = match self.anchor {
            Anchor::Start => String::new(),
            a => format!(r#" text-anchor="{}""#, a.attr()),
        };
        format!(r#"font-size="{}" fill="{}"{weight}{anchor}"#, N(self.size), self.fill)
    }
}

/// A diagram being drawn: the body markup, and the id prefix that keeps its
/// ids apart from those of other diagrams on the same page.
pub struct Canvas {
    prefix: String,
    body: String,
}

impl Canvas {
    pub fn new(id_prefix: &str) -> Self {
        Canvas { prefix: sanitise_id(id_prefix), body: String::new() }
    }

    pub fn id(&self, name: &str) -> String {
        format!("{}-{name}", self.prefix)
    }

    /// Markup made here from numbers and constants, never from input.
    pub fn push(&mut self, markup: &str) {
        self.body.push_str(markup);
    }

    /// The same, written in place (`format_args!`), without a `String` of
    /// its own.
    pub fn push_fmt(&mut self, markup: fmt::Arguments<'_>) {
        let _ = self.body.write_fmt(markup);
    }

    /// A line through `points`, `stroke` coloured, 2 px wide, dashed as
    /// `dash` (an SVG dash array) if given. Nothing for fewer than two.
    pub fn polyline(&mut self, points: impl IntoIterator<Item = (f32, f32)>, stroke: &str, dash: Option<&str>) {
        let mut points = points.into_iter();
        let (Some(first), Some(second)) = (points.next(), points.next()) else { return };
        let _ = write!(self.body, r#"<polyline points="{},{}"#, N(first.0), N(first.1));
        for (x, y) in std::iter::once(second).chain(points) {
            let _ = write!(self.body, " {},{}", N(x), N(y));
        }
        let _ = write!(self.body, r#"" fill="none" stroke="{stroke}" stroke-width="2""#);
        if let Some(dash) = dash {
            let _ = write!(self.body, r#" stroke-dasharray="{dash}""#);
        }
        self.body.push_str("/>");
    }

    /// A marker: `shape` centred on `at`, its tooltip the lines of `title`
    /// (escaped).
    pub fn mark<T: Display>(&mut self, shape: Shape, at: (f32, f32), r: f32, fill: &str, title: &[T]) {
        shape.write(&mut self.body, at, r, fill, title);
    }

    /// One line of input text.
    pub fn text(&mut self, x: f32, y: f32, text: &str, style: TextStyle) {
        let _ =
            write!(self.body, r#"<text x="{}" y="{}" {}>{}</text>"#, N(x), N(y), style.attrs(), EscapedLines(&[text]));
    }

    /// Wrapped lines as one `<text>`, a `<tspan>` a line, the first
    /// baseline at `y`.
    pub fn lines(&mut self, x: f32, y: f32, lines: &[Line], style: TextStyle) {
        let _ = write!(self.body, r#"<text x="{}" y="{}" {}>"#, N(x), N(y), style.attrs());
        for (i, line) in lines.iter().enumerate() {
            let dy = if i == 0 { 0.0 } else { LINE_HEIGHT };
            let space = if line.space_after { " " } else { "" };
            let _ = write!(self.body, r#"<tspan x="{}" dy="{}">{}{space}</tspan>"#, N(x), N(dy), escape(&line.text));
        }
        self.body.push_str("</text>");
    }

    pub fn rect(&mut self, x: f32, y: f32, width: f32, height: f32, fill: &str, stroke: &str) {
        let _ = write!(
            self.body,
            r#"<rect x="{}" y="{}" width="{}" height="{}" rx="4" fill="{fill}" stroke="{stroke}"/>"#,
            N(x),
            N(y),
            N(width),
            N(height)
        );
    }

    pub fn line(&mut self, (x1, y1): (f32, f32), (x2, y2): (f32, f32), stroke: &str) {
        let _ = write!(
            self.body,
            r#"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{stroke}"/>"#,
            N(x1),
            N(y1),
            N(x2),
            N(y2)
        );
    }

    /// A line joining boxes, as heavy as an arrow's.
    pub fn connector(&mut self, (x1, y1): (f32, f32), (x2, y2): (f32, f32)) {
        let _ = write!(
            self.body,
            r#"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{STROKE}" stroke-width="1.5"/>"#,
            N(x1),
            N(y1),
            N(x2),
            N(y2)
        );
    }

    /// A line ending in the arrowhead defined by `finish(.., true)`.
    pub fn arrow(&mut self, from: (f32, f32), to: (f32, f32)) {
        let _ = write!(
            self.body,
            r#"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{STROKE}" stroke-width="1.5" marker-end="url(#{})"/>"#,
            N(from.0),
            N(from.1),
            N(to.0),
            N(to.1),
            self.id("arrow")
        );
    }

    /// A small picture that only says `said` (there is nothing to draw
    /// yet), `width` wide; `said` is its description too.
    pub fn finish_empty(mut self, width: f32, title: &str, said: &str) -> String {
        self.text(width / 2.0, 44.0, said, TextStyle { size: 14.0, ..TextStyle::BODY }.anchored(Anchor::Middle));
        self.finish(width, 72.0, title, said, false)
    }

    /// The whole `<svg>`: usable inline in a page and as a standalone
    /// image/svg+xml file. Its accessible name is the title followed by
    /// the description (`role="img"` hides the drawing itself from screen
    /// readers, so the description must say what matters).
    pub fn finish(self, width: f32, height: f32, title: &str, desc: &str, with_arrow: bool) -> String {
        let (w, h) = (N(width), N(height));
        let (title_id, desc_id) = (self.id("title"), self.id("desc"));
        // Sized once: the body is most of it.
        let mut out = String::with_capacity(self.body.len() + title.len() + desc.len() + 1024);
        let _ = write!(
            out,
            r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-labelledby="{title_id} {desc_id}" font-family="{FONT_FAMILY}" font-size="{}">"#,
            N(FONT_SIZE)
        );
        let _ = write!(
            out,
            r#"<title id="{title_id}">{}</title><desc id="{desc_id}">{}</desc>"#,
            escape(title),
            escape(desc)
        );
        if with_arrow {
            let _ = write!(
                out,
                r#"<defs><marker id="{}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{STROKE}"/></marker></defs>"#,
                self.id("arrow")
            );
        }
        // White ground: a standalone file stays readable in a dark viewer.
        let _ = write!(out, r##"<rect width="{w}" height="{h}" fill="#ffffff"/>"##);
        out.push_str(&self.body);
        out.push_str("</svg>");
        out
    }
}

/// Inner padding of a box.
const BOX_PAD: f32 = 8.0;
/// From a box's top to its label's baseline.
const BOX_LABEL_BASELINE: f32 = BOX_PAD + LABEL_SIZE;
/// From the label's baseline to the first line of text.
const BOX_LABEL_GAP: f32 = LINE_HEIGHT + 1.0;

/// A box as therapists draw one: a label ("Core beliefs") over the
/// client's words, wrapped, or a muted "—" when there are none.
pub struct TextBox {
    label: String,
    lines: Vec<Line>,
    width: f32,
}

impl TextBox {
    pub fn new(label: impl Into<String>, text: &str, width: f32, max_lines: usize) -> Self {
        let lines = wrap(text, width - 2.0 * BOX_PAD, FONT_SIZE, max_lines);
        TextBox { label: label.into(), lines, width }
    }

    /// The height its content needs.
    pub fn height(&self) -> f32 {
        let lines = self.lines.len().max(1) as f32;
        BOX_LABEL_BASELINE + BOX_LABEL_GAP + (lines - 1.0) * LINE_HEIGHT + BOX_PAD + 4.0
    }

    /// Drawn at (x, y), `height` tall (at least `self.height()`, so that
    /// boxes side by side line up).
    pub fn draw(&self, canvas: &mut Canvas, x: f32, y: f32, height: f32, fill: &str) {
        canvas.rect(x, y, self.width, height.max(self.height()), fill, STROKE);
        let label_width = self.width - 2.0 * BOX_PAD;
        canvas.text(
            x + BOX_PAD,
            y + BOX_LABEL_BASELINE,
            &one_line(&self.label, label_width, LABEL_SIZE),
            TextStyle::LABEL,
        );
        let first = y + BOX_LABEL_BASELINE + BOX_LABEL_GAP;
        if self.lines.is_empty() {
            canvas.text(x + BOX_PAD, first, "—", TextStyle { size: FONT_SIZE, ..TextStyle::MUTED });
        } else {
            canvas.lines(x + BOX_PAD, first, &self.lines, TextStyle::BODY);
        }
    }
}

/// Marker shapes, so that series and kinds differ in greyscale too.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    Circle,
    Square,
    Triangle,
    Diamond,
    TriangleDown,
}

impl Shape {
    pub const ALL: [Shape; 5] = [Shape::Circle, Shape::Square, Shape::Triangle, Shape::Diamond, Shape::TriangleDown];

    /// The shape centred on (x, y), `r` its half-size, with a `<title>`
    /// child (one line per entry of `title`, each escaped) for hover and
    /// screen readers, written to `out`.
    pub fn write<T: Display>(self, out: &mut String, (x, y): (f32, f32), r: f32, fill: &str, title: &[T]) {
        let outline = r##"stroke="#ffffff" stroke-width="1""##;
        let title = EscapedLines(title);
        let mut path = |d: fmt::Arguments<'_>| {
            write!(out, r#"<path d="{d}" fill="{fill}" {outline}><title>{title}</title></path>"#)
        };
        let _ = match self {
            Shape::Circle => write!(
                out,
                r#"<circle cx="{}" cy="{}" r="{}" fill="{fill}" {outline}><title>{title}</title></circle>"#,
                N(x),
                N(y),
                N(r)
            ),
            Shape::Square => {
                let s = r * 0.9;
                path(format_args!("M{},{} h{} v{} h{} z", N(x - s), N(y - s), N(2.0 * s), N(2.0 * s), N(-2.0 * s)))
            }
            Shape::Triangle | Shape::TriangleDown => {
                // Pointing up, or (`flip` -1) down.
                let flip = if self == Shape::Triangle { 1.0 } else { -1.0 };
                let s = r * 1.15;
                path(format_args!(
                    "M{},{} L{},{} L{},{} z",
                    N(x),
                    N(y - flip * s),
                    N(x + s),
                    N(y + flip * s * 0.8),
                    N(x - s),
                    N(y + flip * s * 0.8)
                ))
            }
            Shape::Diamond => {
                let s = r * 1.2;
                path(format_args!(
                    "M{},{} L{},{} L{},{} L{},{} z",
                    N(x),
                    N(y - s),
                    N(x + s),
                    N(y),
                    N(x),
                    N(y + s),
                    N(x - s),
                    N(y)
                ))
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_the_markup_characters_and_drops_control_characters() {
        assert_eq!(escape(r#"<a href="x">'&'</a>"#), "&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;");
        assert_eq!(escape("a\u{0}b\u{1b}[31mc\u{7f}\u{85}d\u{FFFF}"), "ab[31mcd");
        assert_eq!(escape("two\nlines\tand\rtab"), "two lines and tab");
        assert_eq!(escape("é<ü>&"), "é&lt;ü&gt;&amp;");
        // Written through a `Display`, each entry escaped, one a line.
        assert_eq!(EscapedLines(&["a<b", "c&d"]).to_string(), "a&lt;b\nc&amp;d");
    }

    #[test]
    fn ids_keep_to_safe_characters() {
        assert_eq!(sanitise_id("plan-3_chart"), "plan-3_chart");
        assert_eq!(sanitise_id(r#"x" onload="alert(1)"#), "xonloadalert1");
        assert_eq!(sanitise_id("9lives"), "d-9lives");
        assert_eq!(sanitise_id(""), "d-");
    }

    #[test]
    fn numbers_have_at_most_one_decimal() {
        assert_eq!(N(12.0).to_string(), "12");
        assert_eq!(N(12.345).to_string(), "12.3");
        assert_eq!(N(-0.04).to_string(), "0");
        assert_eq!(N(-1.25).to_string(), "-1.3");
        assert_eq!(N(-0.5).to_string(), "-0.5");
        assert_eq!(N(0.05).to_string(), "0.1");
        assert_eq!(N(939.96).to_string(), "940");
    }

    #[test]
    fn wrapping_breaks_at_spaces_keeps_line_breaks_and_cuts_long_words() {
        let lines = wrap("one two three four five six", 60.0, 13.0, 10);
        assert!(lines.len() > 1, "{lines:?}");
        assert!(lines.iter().all(|l| text_width(&l.text, 13.0) <= 60.0), "{lines:?}");
        let joined: String =
            lines.iter().map(|l| format!("{}{}", l.text, if l.space_after { " " } else { "" })).collect();
        assert_eq!(joined, "one two three four five six", "no word lost or glued");

        let kept = wrap("first\n\n\n\nsecond\n", 500.0, 13.0, 10);
        let texts: Vec<&str> = kept.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["first", "", "second"], "line breaks kept, blank runs as one");

        let long = wrap(&"x".repeat(100), 70.0, 13.0, 10);
        assert!(long.len() > 1 && !long[0].space_after, "a long word is cut without a space: {long:?}");

        let cut = wrap(&"word ".repeat(200), 100.0, 13.0, 3);
        assert_eq!(cut.len(), 3);
        assert!(cut[2].text.ends_with('…'), "{cut:?}");
        assert!(text_width(&cut[2].text, 13.0) <= 100.0);
        assert!(!wrap("fits", 100.0, 13.0, 3)[0].text.contains('…'));
    }

    #[test]
    fn wide_characters_wrap_sooner() {
        assert!(text_width("日本語", 13.0) > text_width("abc", 13.0) * 1.5);
    }
}
