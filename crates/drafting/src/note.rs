//! Session-note drafts by rules: each sentence of the therapist's
//! shorthand goes to the section its label or its cue words say (a line
//! labelled `P:` to the plan, "reports …" to what the client said, "CR on
//! …" to the interventions), with the fixed abbreviations spelled out; a
//! few of the client's own statements from the transcript are quoted.
//! What no rule places is returned unplaced, never guessed.

use serde::Serialize;

use crate::shorthand::{Label, Piece, expand_abbreviations, lines};
use crate::{Basis, Citation, DraftSentence, Source};

/// The note formats, as `domain::session_note::NoteBody` names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoteFormat {
    Soap,
    Dap,
    Birp,
    Free,
}

impl NoteFormat {
    pub fn parse(format: &str) -> Option<Self> {
        match format {
            "soap" => Some(Self::Soap),
            "dap" => Some(Self::Dap),
            "birp" => Some(Self::Birp),
            "free" => Some(Self::Free),
            _ => None,
        }
    }

    /// The format's sections, in order, by the field names the note uses.
    pub fn sections(self) -> &'static [&'static str] {
        match self {
            Self::Soap => &["subjective", "objective", "assessment", "plan"],
            Self::Dap => &["data", "assessment", "plan"],
            Self::Birp => &["behavior", "intervention", "response", "plan"],
            Self::Free => &["text"],
        }
    }

    /// The section a kind of sentence belongs in, in this format.
    fn section_for(self, kind: Label) -> &'static str {
        use Label::*;
        match (self, kind) {
            (Self::Free, _) => "text",
            (_, Plan) => "plan",
            (Self::Soap, Report) => "subjective",
            (Self::Soap, Observation | Intervention | Response) => "objective",
            (Self::Soap | Self::Dap, Assessment) => "assessment",
            (Self::Dap, Report | Observation | Intervention | Response) => "data",
            (Self::Birp, Report | Observation) => "behavior",
            (Self::Birp, Intervention) => "intervention",
            (Self::Birp, Response | Assessment) => "response",
        }
    }
}

/// One section of a drafted note.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DraftSection {
    /// The note's field name (`subjective`, `plan`, …).
    pub name: &'static str,
    pub sentences: Vec<DraftSentence>,
}

impl DraftSection {
    /// The section as the note's field would hold it: one sentence a line.
    pub fn text(&self) -> String {
        self.sentences.iter().map(|s| s.text.as_str()).collect::<Vec<_>>().join("\n")
    }
}

/// A drafted session note.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NoteDraft {
    pub format: NoteFormat,
    /// Every section of the format, in order (empty ones included: a
    /// section nothing supports stays empty).
    pub sections: Vec<DraftSection>,
    /// Sentences of the shorthand no rule placed, for the therapist to
    /// place or leave out.
    pub unplaced: Vec<DraftSentence>,
}

/// Cue words for each kind of sentence, matched at the start of a word,
/// case-insensitively. The first kind with the most matches wins; a
/// sentence with none is unplaced.
const CUES: &[(Label, &[&str])] = &[
    (
        Label::Plan,
        &[
            "plan",
            "hw",
            "homework",
            "next session",
            "nxt",
            "f/u",
            "follow",
            "continue",
            "will ",
            "to practice",
            "practise",
            "practice",
            "assign",
            "refer",
            "schedule",
            "review next",
            "agreed to",
            "goal for",
        ],
    ),
    (
        Label::Assessment,
        &[
            "progress",
            "improv",
            "worse",
            "worsen",
            "risk",
            "si ",
            "suicid",
            "self-harm",
            "safety",
            "formulation",
            "consistent with",
            "impression",
            "assess",
            "insight",
            "motivat",
            "maintain",
            "seems",
            "appears to be",
            "likely",
            "stable",
            "phq",
            "gad",
            "score",
        ],
    ),
    (
        Label::Intervention,
        &[
            "cr ",
            "cognitive restructuring",
            "tr ",
            "thought record",
            "ba ",
            "behavioural activation",
            "behavioral activation",
            "psychoeducation",
            "socratic",
            "exposure",
            "reviewed",
            "introduced",
            "taught",
            "practiced",
            "practised",
            "role-play",
            "role play",
            "worked on",
            "explored",
            "discussed",
            "modelled",
            "modeled",
            "validated",
            "challenged",
            "downward arrow",
            "relaxation",
            "breathing",
        ],
    ),
    (
        Label::Response,
        &[
            "responded",
            "engaged",
            "receptive",
            "able to",
            "identified",
            "understood",
            "agreed",
            "resistant",
            "struggled",
            "found it",
            "reported benefit",
            "open to",
        ],
    ),
    (
        Label::Observation,
        &[
            "affect",
            "eye contact",
            "speech",
            "appeared",
            "presented",
            "dressed",
            "groomed",
            "tearful",
            "oriented",
            "on time",
            "arrived",
            "late",
            "calm",
            "agitated",
            "restless",
            "flat",
            "observed",
        ],
    ),
    (
        Label::Report,
        &[
            "reports",
            "reported",
            "states",
            "stated",
            "said",
            "says",
            "feels",
            "felt",
            "feeling",
            "describes",
            "described",
            "complains",
            "c/o",
            "endorses",
            "denies",
            "denied",
            "mood",
            "sleep",
            "appetite",
            "worried",
            "worry",
            "anxious",
            "low",
            "tired",
            "stress",
            "pt ",
            "client",
        ],
    ),
];

/// The kind of sentence `words` is by its cue words, if any.
fn kind_of(words: &str) -> Option<Label> {
    // Padded so cues ending in a space ("cr ") match at the end too.
    let text = format!(" {} ", words.to_lowercase());
    let mut best: Option<(Label, usize)> = None;
    for (kind, cues) in CUES {
        let hits = cues.iter().filter(|cue| starts_a_word(&text, cue)).count();
        if hits > 0 && best.is_none_or(|(_, most)| hits > most) {
            best = Some((*kind, hits));
        }
    }
    best.map(|(kind, _)| kind)
}

/// Whether `cue` starts a word of `text` (lower-cased; pad it with spaces
/// so cues ending in one match at the end too).
pub(crate) fn starts_a_word(text: &str, cue: &str) -> bool {
    text.match_indices(cue).any(|(i, _)| text[..i].ends_with(|c: char| !c.is_alphanumeric()))
}

/// Words that mark a client's own statement in a transcript.
const FIRST_PERSON: &[&str] =
    &["i feel", "i felt", "i've been", "i have been", "i was", "i can't", "i cannot", "i think", "i keep", "i'm "];

/// How many of the client's own statements a draft quotes.
const CLIENT_QUOTES: usize = 3;

/// The template for a quoted client statement.
const CLIENT_SAID: &str = "The client said: \"{}\"";

/// Drafts a session note in `format` from the therapist's `shorthand`
/// (source id `shorthand`) and, when given, the session's `transcript`
/// (source id `transcript`; lines such as `Client: …`).
pub fn draft_session_note(format: NoteFormat, shorthand: &Source, transcript: Option<&Source>) -> NoteDraft {
    let mut sections: Vec<DraftSection> =
        format.sections().iter().map(|name| DraftSection { name, sentences: Vec::new() }).collect();
    let mut unplaced = Vec::new();
    let mut put = |name: &str, sentence: DraftSentence| {
        if let Some(section) = sections.iter_mut().find(|s| s.name == name) {
            section.sentences.push(sentence);
        }
    };
    let text = &shorthand.text;
    // A label alone on its line ("S:") heads the lines after it; a label
    // before words ("P: TR daily") holds for its own line.
    let mut heading = None;
    for line in lines(text) {
        if line.label.is_some() && line.sentences.is_empty() {
            heading = line.label;
        }
        let label = line.label.or(heading);
        for piece in line.sentences {
            let sentence = expanded(shorthand, piece);
            match label.or_else(|| kind_of(piece.of(text))) {
                Some(kind) => put(format.section_for(kind), sentence),
                None if format == NoteFormat::Free => put("text", sentence),
                None => unplaced.push(sentence),
            }
        }
    }
    if let Some(transcript) = transcript {
        for piece in client_statements(&transcript.text).into_iter().take(CLIENT_QUOTES) {
            let words = piece.of(&transcript.text);
            let sentence = DraftSentence {
                text: CLIENT_SAID.replacen("{}", words, 1),
                citation: Citation { source: transcript.id.clone(), start: piece.start, end: piece.end },
                basis: Basis::Template(CLIENT_SAID),
            };
            put(format.section_for(Label::Report), sentence);
        }
    }
    NoteDraft { format, sections, unplaced }
}

/// A sentence of the shorthand with the abbreviations spelled out (quoted
/// as written when there are none).
fn expanded(source: &Source, piece: Piece) -> DraftSentence {
    let words = piece.of(&source.text);
    let text = expand_abbreviations(words);
    let basis = if text == words { Basis::Quoted } else { Basis::Expanded };
    DraftSentence { text, citation: Citation { source: source.id.clone(), start: piece.start, end: piece.end }, basis }
}

/// The client's statements in a transcript that speak of themselves
/// ("I feel …", "I've been …"), each as the range of its words.
fn client_statements(transcript: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut offset = 0;
    for raw in transcript.split_inclusive('\n') {
        let start = offset;
        offset += raw.len();
        let Some(colon) = raw.find(':') else { continue };
        let speaker = raw[..colon].trim().to_lowercase();
        if !matches!(speaker.as_str(), "client" | "c" | "pt" | "patient") {
            continue;
        }
        let said = &raw[colon + 1..];
        let words = said.trim();
        let lower = format!("{} ", words.to_lowercase());
        if words.is_empty() || !FIRST_PERSON.iter().any(|cue| starts_a_word(&format!(" {lower}"), cue)) {
            continue;
        }
        let from = start + colon + 1 + (said.len() - said.trim_start().len());
        out.push(Piece { start: from, end: from + words.len() });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unsupported;

    fn shorthand(text: &str) -> Source {
        Source { id: "shorthand".into(), label: "Your shorthand".into(), text: text.into() }
    }

    fn section<'a>(draft: &'a NoteDraft, name: &str) -> Vec<&'a str> {
        draft.sections.iter().find(|s| s.name == name).unwrap().sentences.iter().map(|s| s.text.as_str()).collect()
    }

    const SHORTHAND: &str = "Pt reports poor sleep x2 wks, denies SI.\n\
        Flat affect, good eye contact.\n\
        Introduced TR for ANTs about work.\n\
        Engaged well, able to identify mind reading.\n\
        Mood improving since BA started.\n\
        HW: TR daily; BA schedule\n\
        Dog's name is Biscuit.\n";

    #[test]
    fn a_soap_note_puts_each_sentence_where_its_cues_say() {
        let draft = draft_session_note(NoteFormat::Soap, &shorthand(SHORTHAND), None);
        assert_eq!(
            section(&draft, "subjective"),
            vec!["Client reports poor sleep x2 weeks, denies suicidal ideation."]
        );
        assert_eq!(
            section(&draft, "objective"),
            vec![
                "Flat affect, good eye contact.",
                "Introduced thought record for automatic thoughts about work.",
                "Engaged well, able to identify mind reading."
            ]
        );
        assert_eq!(section(&draft, "assessment"), vec!["Mood improving since behavioural activation started."]);
        assert_eq!(section(&draft, "plan"), vec!["thought record daily", "behavioural activation schedule"]);
        let unplaced: Vec<_> = draft.unplaced.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(unplaced, vec!["Dog's name is Biscuit."], "no rule places it, so it is not guessed");
    }

    #[test]
    fn the_same_shorthand_fills_the_other_formats() {
        let birp = draft_session_note(NoteFormat::Birp, &shorthand(SHORTHAND), None);
        assert_eq!(
            section(&birp, "intervention"),
            vec!["Introduced thought record for automatic thoughts about work."]
        );
        assert_eq!(section(&birp, "response").len(), 2, "the response and the assessment");
        assert_eq!(section(&birp, "behavior").len(), 2);
        let dap = draft_session_note(NoteFormat::Dap, &shorthand(SHORTHAND), None);
        assert_eq!(section(&dap, "data").len(), 4);
        let free = draft_session_note(NoteFormat::Free, &shorthand(SHORTHAND), None);
        assert_eq!(section(&free, "text").len(), 8, "everything, in order");
        assert!(free.unplaced.is_empty());
    }

    #[test]
    fn a_label_holds_for_the_lines_after_it() {
        let text = "S:\nslept badly\nworried about exam\nP:\nreview exposure hierarchy";
        let draft = draft_session_note(NoteFormat::Soap, &shorthand(text), None);
        assert_eq!(section(&draft, "subjective"), vec!["slept badly", "worried about exam"]);
        assert_eq!(section(&draft, "plan"), vec!["review exposure hierarchy"]);
    }

    #[test]
    fn sections_nothing_supports_stay_empty() {
        let draft = draft_session_note(NoteFormat::Soap, &shorthand("Pt reports feeling calmer."), None);
        assert_eq!(section(&draft, "objective"), Vec::<&str>::new(), "no assumed-normal findings");
        assert_eq!(section(&draft, "assessment"), Vec::<&str>::new());
        assert_eq!(section(&draft, "plan"), Vec::<&str>::new());
    }

    #[test]
    fn the_clients_own_statements_are_quoted_from_the_transcript() {
        let transcript = Source {
            id: "transcript".into(),
            label: "Transcript".into(),
            text: "Therapist: How has the week been?\nClient: I've been waking at 4 every night.\n\
                   Client: Yes.\nClient: I feel like I'm failing at work.\n"
                .into(),
        };
        let draft = draft_session_note(NoteFormat::Soap, &shorthand("P: TR daily"), Some(&transcript));
        assert_eq!(
            section(&draft, "subjective"),
            vec![
                "The client said: \"I've been waking at 4 every night.\"",
                "The client said: \"I feel like I'm failing at work.\""
            ]
        );
    }

    #[test]
    fn every_sentence_of_a_draft_is_supported_by_its_sources() {
        let transcript = Source {
            id: "transcript".into(),
            label: "Transcript".into(),
            text: "Client: I feel stuck.\nTherapist: What goes through your mind?\n".into(),
        };
        let sources = [shorthand(SHORTHAND), transcript.clone()];
        for format in [NoteFormat::Soap, NoteFormat::Dap, NoteFormat::Birp, NoteFormat::Free] {
            let draft = draft_session_note(format, &sources[0], Some(&transcript));
            let all = draft.sections.iter().flat_map(|s| &s.sentences).chain(&draft.unplaced);
            for sentence in all {
                assert_eq!(unsupported(sentence, &sources), None, "{format:?}: {}", sentence.text);
            }
        }
    }

    #[test]
    fn section_text_is_one_sentence_a_line() {
        let draft = draft_session_note(NoteFormat::Soap, &shorthand("P: TR daily; BA schedule"), None);
        let plan = draft.sections.iter().find(|s| s.name == "plan").unwrap();
        assert_eq!(plan.text(), "thought record daily\nbehavioural activation schedule");
    }
}
