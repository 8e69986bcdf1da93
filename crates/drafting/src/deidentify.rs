//! De-identification before a language model sees anything: the client's
//! known identifiers (name and its parts, date of birth, phone, email,
//! address) and anything shaped like a date, a phone number, an email
//! address, a web address or an id number, replaced by placeholders such
//! as `[NAME_1]` or `[DATE_2]`; put back in the model's answer afterwards.
//! The same value gets the same placeholder in every text of one call, so
//! the model can still tell that two mentions are one person.
//!
//! It errs towards hiding: any capitalised word that does not start a
//! sentence and is not a common word of clinical notes is treated as a
//! name. A model then reads "[NAME_3] visited her sister [NAME_4]", which
//! is what a de-identified draft should be built from.

use std::sync::LazyLock;

use regex_lite::Regex;

/// What is known to identify the client (each may be empty).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Identifiers {
    /// Full, preferred and former names.
    pub names: Vec<String>,
    /// Date of birth as `YYYY-MM-DD`.
    pub birth_date: Option<String>,
    pub phones: Vec<String>,
    pub emails: Vec<String>,
    /// Address lines, town, postcode.
    pub places: Vec<String>,
}

impl std::fmt::Debug for Identifiers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Identifiers([redacted])")
    }
}

/// Which placeholder stands for which words: kept in memory for the one
/// call, never stored or logged.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Placeholders {
    /// (placeholder, the words it replaced), in the order first seen.
    pairs: Vec<(String, String)>,
}

impl std::fmt::Debug for Placeholders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Placeholders").field("count", &self.pairs.len()).finish()
    }
}

impl Placeholders {
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The placeholder for `words` of `kind`, made on first sight.
    fn for_words(&mut self, kind: &str, words: &str) -> String {
        let key = normal(words);
        if let Some((placeholder, _)) =
            self.pairs.iter().find(|(p, w)| p.starts_with(&format!("[{kind}_")) && normal(w) == key)
        {
            return placeholder.clone();
        }
        let n = self.pairs.iter().filter(|(p, _)| p.starts_with(&format!("[{kind}_"))).count() + 1;
        let placeholder = format!("[{kind}_{n}]");
        self.pairs.push((placeholder.clone(), words.to_owned()));
        placeholder
    }

    /// `text` with every placeholder put back (one the model invented is
    /// left as it is, for the support check to flag).
    pub fn restore(&self, text: &str) -> String {
        let mut out = text.to_owned();
        // Longest first: `[NAME_12]` before `[NAME_1]` cannot clash (the
        // bracket closes), but keep it obviously safe.
        let mut pairs: Vec<&(String, String)> = self.pairs.iter().collect();
        pairs.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
        for (placeholder, words) in pairs {
            out = out.replace(placeholder.as_str(), words);
        }
        out
    }

    /// Placeholders still in `text` after restoring: ones the model made
    /// up (a leak check for the evaluation).
    pub fn leaked(text: &str) -> Vec<String> {
        PLACEHOLDER.find_iter(text).map(|m| m.as_str().to_owned()).collect()
    }
}

fn normal(words: &str) -> String {
    words.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

static PLACEHOLDER: LazyLock<Regex> = LazyLock::new(|| regex(r"\[(?:NAME|DATE|PHONE|EMAIL|PLACE|URL|ID)_\d+\]"));

/// Shapes that identify whoever they belong to, in the order they are
/// looked for (an email before the name inside it).
static PATTERNS: LazyLock<Vec<(&'static str, Regex)>> = LazyLock::new(|| {
    vec![
        ("EMAIL", regex(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")),
        ("URL", regex(r"(?i)\b(?:https?://|www\.)[^\s<>()]+")),
        (
            "DATE",
            regex(
                r"(?i)\b(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[./]\d{1,2}[./]\d{2,4}|\d{1,2}(?:st|nd|rd|th)? (?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?,? \d{4}|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.? \d{1,2}(?:st|nd|rd|th)?,? \d{4})\b",
            ),
        ),
        ("PHONE", regex(r"(?:\+\d{1,3}[ .-]?)?(?:\(\d{2,5}\)[ .-]?)?\d{2,5}(?:[ .-]?\d{2,5}){1,4}")),
        ("ID", regex(r"\b[A-Za-z]{0,4}\d{6,}[A-Za-z0-9]*\b")),
    ]
});

#[allow(clippy::expect_used, reason = "the patterns are constants, checked by the tests")]
fn regex(pattern: &str) -> Regex {
    Regex::new(pattern).expect("a valid pattern")
}

/// The months, as a date of birth may be written with them.
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Capitalised words that are not names: sentence words, days, the
/// clinical terms notes use (and the months, `MONTHS`).
const NOT_NAMES: &[&str] = &[
    "I",
    "I'm",
    "I've",
    "I'd",
    "I'll",
    "Mr",
    "Mrs",
    "Ms",
    "Dr",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
    "Client",
    "Therapist",
    "Patient",
    "Plan",
    "Subjective",
    "Objective",
    "Assessment",
    "Data",
    "Behavior",
    "Behaviour",
    "Intervention",
    "Response",
    "Homework",
    "CBT",
    "PHQ-9",
    "GAD-7",
    "PCL-5",
    "DASS-21",
    "WSAS",
    "SOAP",
    "DAP",
    "BIRP",
    "SI",
    "HI",
    "TR",
    "BA",
    "CR",
    "ANT",
    "ANTs",
    "HW",
    "Pt",
    "Christmas",
    "Easter",
    "English",
    "God",
];

/// Replaces what identifies anyone in `texts` by placeholders, the same
/// ones across all of them.
pub fn deidentify(texts: &[&str], known: &Identifiers) -> (Vec<String>, Placeholders) {
    let mut placeholders = Placeholders::default();
    let out = texts.iter().map(|text| deidentify_one(text, known, &mut placeholders)).collect();
    (out, placeholders)
}

fn deidentify_one(text: &str, known: &Identifiers, placeholders: &mut Placeholders) -> String {
    let mut text = text.to_owned();
    // The client's own identifiers first, longest first, so "Robin
    // Ashdown" is one placeholder and not two.
    let mut values: Vec<(&str, String)> = Vec::new();
    for name in &known.names {
        values.push(("NAME", name.clone()));
        for part in name.split_whitespace().filter(|p| p.chars().count() >= 2) {
            values.push(("NAME", part.to_owned()));
        }
    }
    values.extend(known.phones.iter().map(|p| ("PHONE", p.clone())));
    values.extend(known.emails.iter().map(|e| ("EMAIL", e.clone())));
    values.extend(known.places.iter().map(|p| ("PLACE", p.clone())));
    if let Some(birth) = &known.birth_date {
        values.extend(date_forms(birth).into_iter().map(|d| ("DATE", d)));
    }
    values.retain(|(_, v)| !v.trim().is_empty());
    values.sort_by_key(|(_, v)| std::cmp::Reverse(v.len()));
    for (kind, value) in values {
        text = replace_words(&text, &value, |words| placeholders.for_words(kind, words));
    }
    for (kind, pattern) in PATTERNS.iter() {
        text = replace_matches(&text, pattern, |words| {
            // A phone-shaped run needs enough digits to be one (not "4/10").
            let digits = words.chars().filter(char::is_ascii_digit).count();
            (*kind != "PHONE" || digits >= 7).then(|| placeholders.for_words(kind, words))
        });
    }
    hide_other_names(&text, placeholders)
}

/// `text` with each case-insensitive, whole-word occurrence of `value`
/// replaced by what `placeholder` gives for the words found.
fn replace_words(text: &str, value: &str, mut placeholder: impl FnMut(&str) -> String) -> String {
    let lower_text = text.to_lowercase();
    let lower_value = value.trim().to_lowercase();
    // Lower-casing can change byte lengths (rare letters): then match
    // exactly as written only.
    let (haystack, needle) = if lower_text.len() == text.len() && lower_value.len() == value.trim().len() {
        (lower_text, lower_value)
    } else {
        (text.to_owned(), value.trim().to_owned())
    };
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    while let Some(found) = haystack[at..].find(&needle) {
        let start = at + found;
        let end = start + needle.len();
        let before = text[..start].chars().next_back();
        let after = text[end..].chars().next();
        let whole = before.is_none_or(|c| !c.is_alphanumeric()) && after.is_none_or(|c| !c.is_alphanumeric());
        if whole {
            out.push_str(&text[at..start]);
            out.push_str(&placeholder(&text[start..end]));
        } else {
            out.push_str(&text[at..end]);
        }
        at = end;
    }
    out.push_str(&text[at..]);
    out
}

fn replace_matches(text: &str, pattern: &Regex, mut placeholder: impl FnMut(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for m in pattern.find_iter(text) {
        // Never inside a placeholder already made.
        if text[..m.start()].rfind('[').is_some_and(|open| !text[open..m.start()].contains(']')) {
            continue;
        }
        if let Some(p) = placeholder(m.as_str()) {
            out.push_str(&text[at..m.start()]);
            out.push_str(&p);
            at = m.end();
        }
    }
    out.push_str(&text[at..]);
    out
}

/// Capitalised words inside a sentence that are not known words: names of
/// people and places the rules above did not know.
fn hide_other_names(text: &str, placeholders: &mut Placeholders) -> String {
    static WORD: LazyLock<Regex> = LazyLock::new(|| regex(r"[A-Z][a-zA-Z'-]*(?: [A-Z][a-zA-Z'-]+)*"));
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for m in WORD.find_iter(text) {
        let before = text[..m.start()].trim_end();
        let starts_sentence =
            before.is_empty() || before.ends_with(['.', '!', '?', ':', '\n', '"', '“', '(', '-', '•', '*', ';']);
        let inside_placeholder = text[..m.start()].ends_with('[');
        let words = m.as_str();
        let known = words.split(' ').all(|w| {
            NOT_NAMES.contains(&w)
                || MONTHS.contains(&w)
                || w.len() == 1
                || w.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-')
        });
        if starts_sentence || inside_placeholder || known || text[m.end()..].starts_with('_') {
            continue;
        }
        out.push_str(&text[at..m.start()]);
        out.push_str(&placeholders.for_words("NAME", words));
        at = m.end();
    }
    out.push_str(&text[at..]);
    out
}

/// A `YYYY-MM-DD` date as it might be written: as given, `D/M/YYYY`,
/// `M/D/YYYY`, `D.M.YYYY`, `D Month YYYY`, `Month D, YYYY`.
fn date_forms(iso: &str) -> Vec<String> {
    let mut parts = iso.trim().split('-');
    let (Some(y), Some(m), Some(d)) = (parts.next(), parts.next(), parts.next()) else { return vec![iso.to_owned()] };
    let (Ok(month), Ok(day)) = (m.parse::<usize>(), d.parse::<u32>()) else { return vec![iso.to_owned()] };
    let Some(name) = MONTHS.get(month.wrapping_sub(1)) else { return vec![iso.to_owned()] };
    let mut forms = vec![iso.trim().to_owned()];
    for (dd, mm) in [(format!("{day:02}"), format!("{month:02}")), (day.to_string(), month.to_string())] {
        forms.push(format!("{dd}/{mm}/{y}"));
        forms.push(format!("{mm}/{dd}/{y}"));
        forms.push(format!("{dd}.{mm}.{y}"));
    }
    forms.push(format!("{day} {name} {y}"));
    forms.push(format!("{name} {day}, {y}"));
    forms.push(format!("{day} {} {y}", &name[..3]));
    forms
}

#[cfg(test)]
mod tests {
    use super::*;

    fn robin() -> Identifiers {
        Identifiers {
            names: vec!["Robin Ashdown".into(), "Rob".into()],
            birth_date: Some("1990-03-07".into()),
            phones: vec!["+44 7700 900123".into()],
            emails: vec!["robin.ashdown@example.net".into()],
            places: vec!["12 Mill Lane".into(), "Hebden Bridge".into()],
        }
    }

    #[test]
    fn the_clients_identifiers_never_reach_the_model() {
        let shorthand = "Robin Ashdown (DOB 7 March 1990, 07/03/1990) reports poor sleep. Rob's mum calls \
                         him on +44 7700 900123; ashdown moved to 12 Mill Lane, Hebden Bridge. Email robin.ashdown@example.net";
        let (out, placeholders) = deidentify(&[shorthand], &robin());
        let sent = &out[0];
        for secret in [
            "Robin",
            "Ashdown",
            "ashdown",
            "Rob",
            "1990",
            "07/03",
            "7700",
            "900123",
            "Mill Lane",
            "Hebden",
            "example.net",
        ] {
            assert!(!sent.contains(secret), "{secret} in {sent}");
        }
        assert!(sent.contains("reports poor sleep"), "the clinical words stay: {sent}");
        assert_eq!(placeholders.restore(sent), shorthand, "and everything comes back");
    }

    #[test]
    fn one_value_is_one_placeholder_across_texts() {
        let (out, p) = deidentify(&["Robin Ashdown slept badly.", "Later robin ashdown said more."], &robin());
        assert!(out[0].starts_with("[NAME_1]") && out[1].contains("[NAME_1]"), "{out:?}");
        assert_eq!(p.len(), 1, "one person, one placeholder, whatever the case: {p:?}");
        assert_eq!(p.restore("[NAME_1]"), "Robin Ashdown", "put back as first written");
    }

    #[test]
    fn shapes_of_identifiers_are_hidden_whoever_they_belong_to() {
        let text = "Her sister Maria Lopez (maria@example.org, 555-201-8834) visits on 3 May 2024 and 2024-05-10; \
                    NHS no 9434765919; see www.example.org/x. PHQ-9 12, mood 4/10 on Monday.";
        let (out, p) = deidentify(&[text], &Identifiers::default());
        let sent = &out[0];
        for secret in ["Maria", "Lopez", "maria@", "555-201", "3 May 2024", "2024-05-10", "9434765919", "www.example"] {
            assert!(!sent.contains(secret), "{secret} in {sent}");
        }
        for kept in ["Her sister", "PHQ-9 12", "mood 4/10", "on Monday"] {
            assert!(sent.contains(kept), "{kept} lost in {sent}");
        }
        assert_eq!(p.restore(sent), text);
    }

    #[test]
    fn words_that_only_look_like_names_stay() {
        let text = "Pt reports low mood. Introduced TR for ANTs. Plan: BA on Tuesday. I feel stuck.";
        let (out, p) = deidentify(&[text], &Identifiers::default());
        assert_eq!(out[0], text, "nothing to hide");
        assert!(p.is_empty());
    }

    #[test]
    fn parts_of_other_words_are_not_touched() {
        let known = Identifiers { names: vec!["Al".into()], ..Identifiers::default() };
        let (out, _) = deidentify(&["Always calm. Al came alone."], &known);
        assert_eq!(out[0], "Always calm. [NAME_1] came alone.");
    }

    #[test]
    fn placeholders_a_model_makes_up_are_found() {
        let (_, p) = deidentify(&["Robin Ashdown"], &robin());
        let answer = p.restore("[NAME_1] and [NAME_7] met on [DATE_2].");
        assert_eq!(Placeholders::leaked(&answer), vec!["[NAME_7]", "[DATE_2]"]);
    }

    #[test]
    fn debug_shows_nothing_identifying() {
        let (_, p) = deidentify(&["Robin Ashdown"], &robin());
        assert!(!format!("{p:?}{:?}", robin()).contains("Robin"));
    }
}
