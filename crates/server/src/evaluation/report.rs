//! The evaluation's Markdown report: a header saying what drafted and
//! when, the totals, one row per case, and how to read it. It names cases
//! by id and title and facts by their number in the case file; it quotes
//! no draft.

use std::fmt::Write as _;
use std::time::Duration;

use super::{Engine, Evaluation, Outcome};

pub fn markdown(e: &Evaluation) -> String {
    let t = e.totals();
    let mut out = String::new();
    let title = match e.engine {
        Engine::Rules => "structured drafting".to_owned(),
        Engine::Model => e.model.as_ref().map(|m| m.model.clone()).unwrap_or_else(|| "a model".into()),
    };
    let _ = writeln!(out, "# Draft evaluation: {title}\n");
    let _ = writeln!(
        out,
        "Made by `cbt-assistant drafts evaluate --engine {}` on the fictional cases in `{}`. \
         Regenerate it rather than editing it.\n",
        engine_name(e.engine),
        e.cases_folder
    );
    let (engine, provider, prompt) = match (&e.engine, &e.model) {
        (Engine::Model, Some(m)) => (
            "model (`with_model: true`)".to_owned(),
            format!("{} / `{}`", m.provider.as_str(), m.model),
            format!("`{}`", e.prompt_version.unwrap_or("unknown")),
        ),
        _ => (
            "rules (structured drafting, `with_model: false`)".to_owned(),
            "none: nothing is sent to a model".to_owned(),
            "none: the rules use no prompt".to_owned(),
        ),
    };
    let _ = writeln!(out, "| | |\n|---|---|");
    let _ = writeln!(out, "| Engine | {engine} |");
    let _ = writeln!(out, "| Provider / model | {provider} |");
    let _ = writeln!(out, "| Prompt version | {prompt} |");
    let _ = writeln!(out, "| Cases | {} |", t.cases);
    let _ = writeln!(out, "| Date | {} |", e.date);
    let _ = writeln!(out, "| Commit | `{}` |\n", e.commit);

    let _ = writeln!(out, "## Totals\n");
    let _ = writeln!(out, "| Measure | Value |\n|---|---|");
    let _ = writeln!(out, "| Cases drafted | {} of {} |", t.drafted, t.cases);
    let _ = writeln!(out, "| Failures (model errors, answers unusable twice) | {} |", t.failed);
    let _ =
        writeln!(out, "| Expected facts found | {} of {} ({}) |", t.found, t.expected, percent(t.found, t.expected));
    let _ = writeln!(out, "| Expected facts only in unplaced sentences | {} |", t.missing_but_unplaced);
    let _ = writeln!(out, "| Must-not-appear facts present | {} |", t.must_not_appear);
    let _ = writeln!(out, "| Sentences | {} |", t.sentences);
    let _ = writeln!(out, "| Unsupported sentences | {} ({}) |", t.unsupported, percent(t.unsupported, t.sentences));
    let _ = writeln!(out, "| Leaked placeholders | {} |", t.leaked_placeholders);
    let _ = writeln!(out, "| Unplaced sentences | {} |", t.unplaced);
    let _ = writeln!(out, "| Client identifiers sent to the model | {} |", optional(t.identifiers_sent));
    let _ = writeln!(
        out,
        "| Latency per case, median / max | {} / {} |\n",
        millis(t.median_latency),
        millis(t.max_latency)
    );

    let _ = writeln!(out, "## Per case\n");
    let _ = writeln!(
        out,
        "| Case | Title | Format | Expected found | Missing (fact numbers) | Must-not-appear present (numbers) \
         | Sentences | Unsupported | Leaked placeholders | Unplaced | Identifiers sent | Latency | Outcome |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for case in &e.cases {
        let format = format!("{:?}", case.format).to_lowercase();
        let latency = millis(case.latency);
        let title = case.title.replace('|', "/");
        match &case.outcome {
            Outcome::Drafted(s) => {
                let missing = if s.missing_but_unplaced.is_empty() {
                    numbers(&s.missing)
                } else {
                    format!("{} (unplaced: {})", numbers(&s.missing), numbers(&s.missing_but_unplaced))
                };
                let _ = writeln!(
                    out,
                    "| `{}` | {title} | {format} | {}/{} | {missing} | {} | {} | {} | {} | {} | {} | {latency} | drafted |",
                    case.id,
                    s.found(),
                    s.expected,
                    numbers(&s.must_not_appear),
                    s.sentences,
                    s.unsupported,
                    s.leaked_placeholders,
                    s.unplaced,
                    optional(s.identifiers_sent),
                );
            }
            Outcome::Failed { expected, message, identifiers_sent } => {
                let message = message.replace('|', "/");
                let _ = writeln!(
                    out,
                    "| `{}` | {title} | {format} | 0/{expected} | all | — | 0 | 0 | 0 | 0 | {} | {latency} | failed: {message} |",
                    case.id,
                    optional(*identifiers_sent),
                );
            }
        }
    }
    out.push('\n');
    out.push_str(HOW_TO_READ);
    out
}

const HOW_TO_READ: &str = "## How to read this

Each case is a fictional client with the therapist's shorthand (and sometimes a transcript excerpt), a
list of key facts a faithful draft must contain and a list of facts the sources do not state. The run
makes a throwaway app, a client and an unsigned note per case, and asks `App::draft_session_note` for
the draft, exactly as the suggestion page does.

- **Expected facts found**: a fact counts when one of its wordings (`|` separates them) stands as whole
  words in one sentence of the draft's sections, after both are lower-cased, the fixed abbreviations
  spelled out and punctuation made spaces. \"Missing\" lists the facts' numbers in the case file;
  \"unplaced\" marks those that only a sentence no section took holds. Coverage is over every case, so
  a failed case finds none of its facts.
- **Must-not-appear facts present**: invented findings (\"appetite normal\", \"oriented\", a medication
  never named), matched the same way in everything the draft shows. Any number above 0 is a
  hallucination to look at.
- **Unsupported sentences**: `cbt_drafting::unsupported` against the sources: the sentence's citation
  does not point at words of a source given, or (for structured drafting) the sentence cannot be made
  again from the words it cites.
- **Leaked placeholders**: `[NAME_3]`-style placeholders left in the draft after de-identification was
  undone: the model invented them or garbled them.
- **Client identifiers sent to the model**: the case's names, contact details, address, emergency
  contact, date of birth and `written_forms` found in what was sent (every message except the fixed
  prompt); \"—\" when nothing was sent.
- **Latency** is informational: wall-clock time of `draft_session_note` on this machine.

Low scores do not fail the command; a case that cannot be run does.
";

/// One line for the terminal.
pub fn summary(e: &Evaluation) -> String {
    let t = e.totals();
    format!(
        "draft evaluation ({}): {} cases, expected facts {}/{} ({}), must-not-appear {}, unsupported {}/{}, \
         leaked placeholders {}, identifiers sent {}, failures {}",
        engine_name(e.engine),
        t.cases,
        t.found,
        t.expected,
        percent(t.found, t.expected),
        t.must_not_appear,
        t.unsupported,
        t.sentences,
        t.leaked_placeholders,
        optional(t.identifiers_sent),
        t.failed
    )
}

fn engine_name(engine: Engine) -> &'static str {
    match engine {
        Engine::Rules => "rules",
        Engine::Model => "model",
    }
}

fn percent(part: usize, whole: usize) -> String {
    if whole == 0 {
        return "—".into();
    }
    format!("{:.1}%", part as f64 * 100.0 / whole as f64)
}

fn optional(n: Option<usize>) -> String {
    n.map(|n| n.to_string()).unwrap_or_else(|| "—".into())
}

fn numbers(list: &[usize]) -> String {
    if list.is_empty() {
        return "—".into();
    }
    list.iter().map(|n| format!("#{n}")).collect::<Vec<_>>().join(", ")
}

fn millis(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 { format!("{ms:.1} ms") } else { format!("{ms:.0} ms") }
}
