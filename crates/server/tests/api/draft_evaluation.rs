//! `cbt-assistant drafts evaluate`: the repository's cases run through
//! the real drafting pipeline and the report adds up; a model's invented
//! facts, invented placeholders, unusable answers and identifiers that
//! reached it are counted (so the scoring cannot silently pass); a broken
//! case is named; production and a missing model are refused.

use std::path::{Path, PathBuf};

use cbt_server::config::{Environment, Settings};
use cbt_server::evaluation::{self, Engine, EvaluationError, Options};
use cbt_testkit::{FakeLlm, LlmReply};
use serde_json::json;

fn repository_cases() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../drafting/eval/cases")
}

fn options(cases: PathBuf, engine: Engine) -> Options {
    Options { cases, engine, commit: Some("test".into()) }
}

/// The cells of the report's per-case rows (`| \`id\` | … |`).
fn case_rows(report: &str) -> Vec<Vec<String>> {
    report
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| l.trim_matches('|').split('|').map(|c| c.trim().to_owned()).collect())
        .collect()
}

/// The value cell of the totals row whose measure starts with `measure`.
fn total<'a>(report: &'a str, measure: &str) -> &'a str {
    let line = report.lines().find(|l| l.starts_with(&format!("| {measure}"))).unwrap();
    line.trim_matches('|').split('|').nth(1).unwrap().trim()
}

fn leading_number(cell: &str) -> usize {
    cell.split(|c: char| !c.is_ascii_digit()).next().unwrap().parse().unwrap()
}

#[tokio::test]
async fn the_repository_cases_run_by_rules_and_the_report_adds_up() {
    let cases = evaluation::cases::load(&repository_cases()).unwrap();
    assert!(cases.len() >= 22, "at least 22 cases, each parsed: {}", cases.len());
    for case in &cases {
        assert!(case.file.ends_with(&format!("{}.toml", case.id)), "{} is in a file named after it", case.id);
    }

    let evaluation =
        evaluation::evaluate(&Settings::default(), &options(repository_cases(), Engine::Rules)).await.unwrap();
    assert_eq!(evaluation.cases.len(), cases.len());
    let report = evaluation.markdown();
    let rows = case_rows(&report);
    assert_eq!(rows.len(), cases.len(), "one row per case");

    // Columns: case, title, format, found/expected, missing, must-not-appear,
    // sentences, unsupported, leaked, unplaced, identifiers, latency, outcome.
    let (mut found, mut expected, mut sentences, mut unsupported, mut leaked, mut unplaced) = (0, 0, 0, 0, 0, 0);
    let mut invented = 0;
    for row in &rows {
        let (f, e) = row[3].split_once('/').unwrap();
        found += f.parse::<usize>().unwrap();
        expected += e.parse::<usize>().unwrap();
        invented += if row[5] == "—" { 0 } else { row[5].split(',').count() };
        sentences += row[6].parse::<usize>().unwrap();
        unsupported += row[7].parse::<usize>().unwrap();
        leaked += row[8].parse::<usize>().unwrap();
        unplaced += row[9].parse::<usize>().unwrap();
        assert_eq!(row[10], "—", "structured drafting sends nothing to a model");
        assert_eq!(row[12], "drafted");
    }
    assert_eq!(
        total(&report, "Expected facts found"),
        format!("{found} of {expected} ({:.1}%)", found as f64 * 100.0 / expected as f64)
    );
    assert_eq!(leading_number(total(&report, "Must-not-appear")), invented);
    assert_eq!(total(&report, "Sentences"), sentences.to_string());
    assert_eq!(leading_number(total(&report, "Unsupported sentences")), unsupported);
    assert_eq!(total(&report, "Leaked placeholders"), leaked.to_string());
    assert_eq!(total(&report, "Unplaced sentences"), unplaced.to_string());
    assert_eq!(total(&report, "Cases drafted"), format!("{} of {}", cases.len(), cases.len()));
    let totals = evaluation.totals();
    assert_eq!((totals.found, totals.expected, totals.sentences), (found, expected, sentences));

    // What structured drafting promises: every sentence from its sources,
    // nothing invented, no placeholders.
    assert_eq!(unsupported, 0, "{report}");
    assert_eq!(invented, 0, "{report}");
    assert_eq!(leaked, 0);
    assert!(found * 10 >= expected * 6, "coverage fell below 60%: {found}/{expected}");
    assert!(report.contains("| Commit | `test` |") && report.contains("## How to read this"));
    for case in &cases {
        assert!(!report.contains(&case.client.full_name), "no client's name in the report");
    }
}

const SOAP_CASE: &str = r#"
# Fictional.
id = "model-soap"
title = "A SOAP case the fake model answers with invented facts"
format = "soap"
[client]
full_name = "Testina Example"
date_of_birth = "1988-04-12"
phone = "201-555-0101"
written_forms = ["old mill house"]
[sources]
shorthand = "Testina Example: pt reports poor sleep. Moved into old mill house, call 201-555-0101."
[facts]
expected = ["poor sleep", "old mill house"]
must_not_appear = ["appetite normal", "oriented", "sertraline"]
"#;

/// A DAP case: the fake's SOAP-shaped answer is unusable for it, twice.
const DAP_CASE: &str = r#"
# Fictional.
id = "model-dap"
title = "A DAP case the fake model answers in the wrong shape"
format = "dap"
[client]
full_name = "Hope Sampleton"
[sources]
shorthand = "D: Hope reports feeling hopeless."
[facts]
expected = ["hopeless"]
must_not_appear = []
"#;

fn model_settings(fake: &FakeLlm, baa: bool) -> Settings {
    Settings {
        llm_provider: "self-hosted".into(),
        llm_endpoint: Some(format!("{}/v1", fake.base_url())),
        llm_model: Some("fake-notes".into()),
        llm_baa: baa,
        ..Settings::default()
    }
}

#[tokio::test]
async fn a_models_invented_facts_placeholders_failures_and_identifiers_are_counted() {
    let fake = FakeLlm::start().await;
    let answer = json!({
        "subjective": [{"text": "Client reports poor sleep and appetite normal [NAME_9].", "source": "shorthand",
                        "quote": "pt reports poor sleep"}],
        "objective": [{"text": "Oriented x3.", "source": "shorthand", "quote": "oriented x3"}],
        "assessment": [],
        "plan": []
    });
    fake.always(LlmReply::answer(answer.to_string()));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a-soap.toml"), SOAP_CASE).unwrap();
    std::fs::write(dir.path().join("b-dap.toml"), DAP_CASE).unwrap();

    let options = options(dir.path().to_path_buf(), Engine::Model);
    let evaluation = evaluation::evaluate(&model_settings(&fake, true), &options).await.unwrap();
    let t = evaluation.totals();
    assert_eq!((t.cases, t.drafted, t.failed), (2, 1, 1), "the unusable answer is a failure, not an error");
    assert_eq!((t.found, t.expected), (1, 3), "poor sleep found; the move and the failed case's fact not");
    assert_eq!(t.must_not_appear, 2, "appetite normal and oriented were invented");
    assert_eq!(t.leaked_placeholders, 1, "[NAME_9] stands for nothing");
    assert_eq!((t.unsupported, t.sentences), (1, 2), "oriented x3 is in no source");
    assert_eq!(
        t.identifiers_sent,
        Some(1),
        "the name and phone were hidden; the written form the app cannot know was sent"
    );
    assert_eq!(fake.requests().len(), 3, "one call, then one call and its retry");
    assert!(!fake.everything_received().contains("Testina"));

    let report = evaluation.markdown();
    assert!(report.contains("| Provider / model | self-hosted / `fake-notes` |"), "{report}");
    assert!(report.contains("| Prompt version | `session-note-v1` |"));
    assert_eq!(total(&report, "Must-not-appear facts present"), "2");
    assert_eq!(total(&report, "Leaked placeholders"), "1");
    assert_eq!(total(&report, "Failures"), "1");
    assert_eq!(total(&report, "Client identifiers sent to the model"), "1");
    let rows = case_rows(&report);
    assert_eq!(rows[0][5], "#1, #2");
    assert!(rows[1][12].starts_with("failed: "), "{:?}", rows[1]);
    assert_eq!(rows[1][10], "0", "what a failed case sent is checked too: {:?}", rows[1]);
    assert!(!report.contains("appetite normal [NAME_9]"), "no draft text in the report");
}

#[tokio::test]
async fn what_cannot_run_is_refused_with_a_reason() {
    let production = Settings { env: Environment::Production, ..Settings::default() };
    let e = evaluation::evaluate(&production, &options(repository_cases(), Engine::Rules)).await.unwrap_err();
    assert!(matches!(e, EvaluationError::Production), "{e}");

    let e = evaluation::evaluate(&Settings::default(), &options(repository_cases(), Engine::Model)).await.unwrap_err();
    assert!(matches!(e, EvaluationError::NoModel), "{e}");
    assert!(e.to_string().contains("CBT_LLM_PROVIDER"));

    let fake = FakeLlm::start().await;
    let e = evaluation::evaluate(&model_settings(&fake, false), &options(repository_cases(), Engine::Model))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("CBT_LLM_BAA=true"), "{e}");
    assert!(fake.requests().is_empty(), "nothing sent without the BAA mark");

    let dir = tempfile::tempdir().unwrap();
    let broken = SOAP_CASE.replace("expected = [\"poor sleep\", \"old mill house\"]\n", "");
    std::fs::write(dir.path().join("broken.toml"), broken).unwrap();
    let e = evaluation::evaluate(&Settings::default(), &options(dir.path().to_path_buf(), Engine::Rules))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("broken.toml") && e.contains("`facts.expected` is missing"), "{e}");
}

/// The command CI runs: exit 0, the report written, a one-line summary.
#[test]
fn the_command_writes_the_report_and_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("evaluation/structured-drafting.md");
    // A clean environment: the developer's (or CI's) own variables must not
    // change what runs (a `CBT_` one the settings do not know stops the binary).
    let out = std::process::Command::new(crate::binary())
        .env_clear()
        .args(["drafts", "evaluate", "--engine", "rules", "--commit", "cli-test", "--cases"])
        .arg(repository_cases())
        .arg("--report")
        .arg(&report)
        .env("CBT_LOG_LEVEL", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("draft evaluation (rules): "), "{stdout}");
    let text = std::fs::read_to_string(&report).unwrap();
    assert!(text.starts_with("# Draft evaluation: structured drafting"));

    let refused = std::process::Command::new(crate::binary())
        .env_clear()
        .args(["drafts", "evaluate", "--engine", "model", "--cases"])
        .arg(repository_cases())
        .env("CBT_LLM_PROVIDER", "off")
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("no language model is configured"));
}
