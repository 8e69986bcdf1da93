//! Reading a therapist's shorthand: cutting it into sentences (with their
//! byte ranges), section labels such as `S:` or `Plan:`, and spelling out
//! a fixed list of common clinical abbreviations.

/// A piece of the source: bytes `start..end`, trimmed, never empty.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Piece {
    pub start: usize,
    pub end: usize,
}

impl Piece {
    pub fn of<'a>(&self, text: &'a str) -> &'a str {
        &text[self.start..self.end]
    }
}

/// The pieces of one line: `label` when the line began with a section
/// label (`S:`, `Plan -`), then its sentences.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Line {
    pub label: Option<Label>,
    pub sentences: Vec<Piece>,
}

/// What a section label says the following words are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Label {
    Report,
    Observation,
    Intervention,
    Response,
    Assessment,
    Plan,
}

/// Labels a therapist writes, lower case, without the `:`.
const LABELS: &[(&str, Label)] = &[
    ("s", Label::Report),
    ("subj", Label::Report),
    ("subjective", Label::Report),
    ("d", Label::Report),
    ("data", Label::Report),
    ("o", Label::Observation),
    ("obj", Label::Observation),
    ("objective", Label::Observation),
    ("b", Label::Observation),
    ("behavior", Label::Observation),
    ("behaviour", Label::Observation),
    ("i", Label::Intervention),
    ("int", Label::Intervention),
    ("intervention", Label::Intervention),
    ("interventions", Label::Intervention),
    ("r", Label::Response),
    ("response", Label::Response),
    ("a", Label::Assessment),
    ("assess", Label::Assessment),
    ("assessment", Label::Assessment),
    ("p", Label::Plan),
    ("plan", Label::Plan),
    ("hw", Label::Plan),
    ("homework", Label::Plan),
];

/// Cuts `text` into lines of sentences. A sentence ends at `.`, `!`, `?`
/// or `;` followed by a space, or at the end of the line; list markers
/// (`-`, `*`, `•`, `1.`) are not part of it.
pub(crate) fn lines(text: &str) -> Vec<Line> {
    let mut out = Vec::new();
    let mut offset = 0;
    for raw in text.split_inclusive('\n') {
        let line_start = offset;
        offset += raw.len();
        let body = raw.trim_end_matches(['\n', '\r']);
        let mut start = line_start + (body.len() - body.trim_start().len());
        let end = line_start + body.trim_end().len();
        if start >= end {
            continue;
        }
        start += list_marker_len(&text[start..end]);
        let (label, after) = label_at(&text[start..end]);
        start += after;
        out.push(Line { label, sentences: sentences(text, start, end) });
    }
    out
}

/// The length of a list marker (and the spaces after it) at the start.
fn list_marker_len(s: &str) -> usize {
    let marker = if s.starts_with(['-', '*']) {
        1
    } else if s.starts_with('•') {
        '•'.len_utf8()
    } else {
        let digits = s.bytes().take_while(u8::is_ascii_digit).count();
        match s.as_bytes().get(digits) {
            Some(b'.' | b')') if (1..=2).contains(&digits) => digits + 1,
            _ => 0,
        }
    };
    let rest = &s[marker..];
    if marker > 0 && (rest.is_empty() || rest.starts_with(' ')) {
        marker + (rest.len() - rest.trim_start().len())
    } else {
        0
    }
}

/// A section label at the start (`S:`, `Plan -`, `HW:`): what it says and
/// how many bytes it and the spaces after it take.
fn label_at(s: &str) -> (Option<Label>, usize) {
    let word_len = s.bytes().take_while(u8::is_ascii_alphabetic).count();
    let word = s[..word_len].to_ascii_lowercase();
    let Some(&(_, label)) = LABELS.iter().find(|(name, _)| *name == word) else { return (None, 0) };
    let rest = &s[word_len..];
    let separator = if rest.starts_with(':') {
        1
    } else if rest.starts_with(" - ") {
        2
    } else if rest.starts_with(" – ") {
        1 + '–'.len_utf8()
    } else {
        return (None, 0);
    };
    let after = &rest[separator..];
    (Some(label), word_len + separator + (after.len() - after.trim_start().len()))
}

/// The sentences of `text[start..end]`, trimmed, with their ranges.
fn sentences(text: &str, start: usize, end: usize) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut from = start;
    let bytes = text.as_bytes();
    let mut i = start;
    while i < end {
        let stop = matches!(bytes[i], b'.' | b'!' | b'?' | b';') && (i + 1 == end || bytes[i + 1] == b' ');
        if stop {
            // A `;` ends a clause but is not kept; the others are.
            let last = if bytes[i] == b';' { i } else { i + 1 };
            push_trimmed(text, from, last, &mut out);
            from = i + 1;
        }
        i += 1;
    }
    push_trimmed(text, from, end, &mut out);
    out
}

fn push_trimmed(text: &str, start: usize, end: usize, out: &mut Vec<Piece>) {
    let s = &text[start..end];
    let trimmed_start = start + (s.len() - s.trim_start().len());
    let trimmed_end = start + s.trim_end().len();
    if trimmed_start < trimmed_end {
        out.push(Piece { start: trimmed_start, end: trimmed_end });
    }
}

/// Abbreviations spelled out, matched as whole words (case as listed).
const ABBREVIATIONS: &[(&str, &str)] = &[
    ("pt", "client"),
    ("Pt", "Client"),
    ("cl", "client"),
    ("Cl", "Client"),
    ("c/o", "complains of"),
    ("hw", "homework"),
    ("HW", "homework"),
    ("SI", "suicidal ideation"),
    ("HI", "homicidal ideation"),
    ("TR", "thought record"),
    ("TRs", "thought records"),
    ("CR", "cognitive restructuring"),
    ("BA", "behavioural activation"),
    ("ANT", "automatic thought"),
    ("ANTs", "automatic thoughts"),
    ("f/u", "follow-up"),
    ("wk", "week"),
    ("wks", "weeks"),
    ("w/", "with"),
    ("b/c", "because"),
    ("sx", "symptoms"),
    ("tx", "treatment"),
    ("hx", "history"),
    ("appt", "appointment"),
    ("sess", "session"),
    ("nxt", "next"),
];

/// `words` with each listed abbreviation, standing as a whole word,
/// spelled out. Deterministic: the same words always give the same text,
/// which is how [`unsupported`](crate::unsupported) checks an expanded
/// sentence.
pub fn expand_abbreviations(words: &str) -> String {
    let mut out = String::with_capacity(words.len() + 16);
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        // A word's trailing punctuation (`,` `.` `)`) stays after it.
        let core_len = word.trim_end_matches([',', '.', ';', ':', ')', '!', '?']).len();
        let (core, tail) = word.split_at(core_len);
        match ABBREVIATIONS.iter().find(|(short, _)| *short == core) {
            Some((_, long)) => out.push_str(long),
            None => out.push_str(core),
        }
        out.push_str(tail);
        word.clear();
    };
    for c in words.chars() {
        if c.is_whitespace() || c == '(' {
            flush(&mut word, &mut out);
            out.push(c);
        } else {
            word.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(text: &str) -> Vec<(Option<Label>, Vec<&str>)> {
        lines(text).into_iter().map(|l| (l.label, l.sentences.iter().map(|p| p.of(text)).collect())).collect()
    }

    #[test]
    fn shorthand_is_cut_into_sentences_with_their_ranges() {
        let text = "pt reports poor sleep x2 wks. Mood 4/10; tearful at times\n\n- Plan: TR daily. f/u nxt wk\n";
        assert_eq!(
            texts(text),
            vec![
                (None, vec!["pt reports poor sleep x2 wks.", "Mood 4/10", "tearful at times"]),
                (Some(Label::Plan), vec!["TR daily.", "f/u nxt wk"]),
            ]
        );
        for line in lines(text) {
            for p in line.sentences {
                assert_eq!(p.of(text), p.of(text).trim(), "trimmed");
                assert!(!p.of(text).is_empty());
            }
        }
    }

    #[test]
    fn labels_are_read_in_the_usual_forms() {
        for (line, label) in [
            ("S: feels low", Label::Report),
            ("Subjective:feels low", Label::Report),
            ("O - flat affect", Label::Observation),
            ("P – follow-up in a week", Label::Plan),
            ("I: CR on ANTs", Label::Intervention),
            ("R: engaged", Label::Response),
            ("A: mood improving", Label::Assessment),
            ("HW: TR", Label::Plan),
            ("1. P: BA schedule", Label::Plan),
        ] {
            let parsed = &lines(line)[0];
            assert_eq!(parsed.label, Some(label), "{line}");
            assert!(!parsed.sentences[0].of(line).contains(':'), "{line}");
        }
        // Words that only look like a label at first.
        for line in ["Pt said: tired", "Sleep: poor", "S.I. denied", "A lot of worry"] {
            assert_eq!(lines(line)[0].label, None, "{line}");
        }
    }

    #[test]
    fn decimal_points_and_initials_do_not_end_a_sentence() {
        assert_eq!(texts("PHQ-9 12.5 avg. Next"), vec![(None, vec!["PHQ-9 12.5 avg.", "Next"])]);
    }

    #[test]
    fn abbreviations_are_spelled_out_as_whole_words_only() {
        assert_eq!(
            expand_abbreviations("Pt c/o poor sleep x2 wks, denies SI."),
            "Client complains of poor sleep x2 weeks, denies suicidal ideation."
        );
        assert_eq!(
            expand_abbreviations("HW: TRs (daily) w/ f/u nxt sess"),
            "homework: thought records (daily) with follow-up next session"
        );
        assert_eq!(expand_abbreviations("ptsd sx; SIGH"), "ptsd symptoms; SIGH", "not inside other words");
        assert_eq!(expand_abbreviations("no abbreviations here"), "no abbreviations here");
    }
}
