//! The evaluation of AI-assisted drafts (`cbt-assistant drafts
//! evaluate`): the app's own drafting pipeline (`App::draft_session_note`,
//! by rules or through the configured model) run on a folder of fictional
//! cases, each draft scored against what its case says a faithful draft
//! must and must not contain, and a Markdown report of it.
//!
//! This module owns the throwaway app the cases run in — a temporary
//! folder with its own SQLite database, key folder, generated secrets and
//! mail outbox, deleted when the run ends — and the order of the run: one
//! fictional account made by the demo use case, the AI-drafts consent when
//! a model drafts, then per case a client with the case's identifiers, an
//! unsigned note in the case's format and the draft. It drafts nothing
//! itself, and knows no provider: the model is whatever `CBT_LLM_*`
//! configures, wrapped only to keep what it was sent for the identifier
//! check.
//!
//! - `cases.rs`: the case files and their checks.
//! - `score.rs`: scoring one draft (and the matching rule for facts).
//! - `report.rs`: the Markdown report and the one-line summary.

pub mod cases;
mod report;
mod score;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use cbt_app::drafts::{DraftingEngine, NoteDraftRequest};
use cbt_app::{App, AppError};
use cbt_domain::account::Account;
use cbt_domain::audit::RequestContext;
use cbt_domain::client::ClientDetails;
use cbt_domain::session_note::{Attendance, Modality, NoteBody, SessionNote};
use cbt_drafting::NoteFormat;
use cbt_ports::{ChatRequest, ChatStream, Llm, LlmError, ModelInfo, Role, SystemClock};
use time::Date;

use crate::config::{Environment, Settings};
use crate::secrets::{self, Generate};
use crate::{application_with_model, connect_store, language_model, mailer};

pub use cases::Case;
pub use score::CaseScore;

/// Where the repository keeps its cases, from the repository's root.
pub const CASES_FOLDER: &str = "crates/drafting/eval/cases";

/// What drafts the cases.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Engine {
    /// Structured drafting: the rules, no model.
    Rules,
    /// The language model the settings configure (`CBT_LLM_*`).
    Model,
}

/// How to run an evaluation.
#[derive(Clone, Debug)]
pub struct Options {
    pub cases: PathBuf,
    pub engine: Engine,
    /// The commit the report names; `git rev-parse` when not given.
    pub commit: Option<String>,
}

/// Why an evaluation could not run (low scores are not errors).
#[derive(Debug, thiserror::Error)]
pub enum EvaluationError {
    #[error("the draft evaluation is refused in production (CBT_ENV=production): run it on a development machine")]
    Production,
    #[error("the cases folder {folder} {problem}")]
    Folder { folder: String, problem: String },
    #[error("{file}: {problem}")]
    Case { file: String, problem: String },
    #[error(
        "no language model is configured for `--engine model`: set CBT_LLM_PROVIDER, CBT_LLM_ENDPOINT and CBT_LLM_MODEL (and CBT_LLM_API_KEY if it needs one)"
    )]
    NoModel,
    #[error(
        "the configured model ({0}) is not marked as covered by a business associate agreement, so the app never calls it: set CBT_LLM_BAA=true for this run (the cases are fictional)"
    )]
    ModelWithoutBaa(String),
    #[error("the throwaway app could not be set up: {0}")]
    Setup(String),
    #[error("case {case}: {problem}")]
    Drafting { case: String, problem: String },
}

/// One case's result.
#[derive(Clone, Debug)]
pub struct CaseResult {
    pub id: String,
    pub title: String,
    pub format: NoteFormat,
    pub latency: Duration,
    pub outcome: Outcome,
}

/// What drafting one case came to.
#[derive(Clone, Debug)]
pub enum Outcome {
    Drafted(CaseScore),
    /// The model failed or answered unusably twice: what the app told the
    /// therapist (a fixed sentence, no PHI). Counted, not fatal; what was
    /// sent is checked for identifiers all the same.
    Failed {
        expected: usize,
        message: String,
        identifiers_sent: Option<usize>,
    },
}

/// A whole run.
#[derive(Clone, Debug)]
pub struct Evaluation {
    pub engine: Engine,
    /// The model that drafted (`None` for structured drafting).
    pub model: Option<ModelInfo>,
    /// The prompt's version, when a model drafted.
    pub prompt_version: Option<&'static str>,
    pub cases_folder: String,
    pub date: Date,
    pub commit: String,
    pub cases: Vec<CaseResult>,
}

/// The sums over every case.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub cases: usize,
    pub drafted: usize,
    pub failed: usize,
    /// Expected facts in every case (a failed case's count too).
    pub expected: usize,
    pub found: usize,
    pub missing_but_unplaced: usize,
    pub must_not_appear: usize,
    pub sentences: usize,
    pub unsupported: usize,
    pub leaked_placeholders: usize,
    pub unplaced: usize,
    /// `None` when nothing was sent to a model.
    pub identifiers_sent: Option<usize>,
    pub median_latency: Duration,
    pub max_latency: Duration,
}

impl Evaluation {
    pub fn totals(&self) -> Totals {
        let mut t = Totals { cases: self.cases.len(), ..Totals::default() };
        for case in &self.cases {
            match &case.outcome {
                Outcome::Drafted(s) => {
                    t.drafted += 1;
                    t.expected += s.expected;
                    t.found += s.found();
                    t.missing_but_unplaced += s.missing_but_unplaced.len();
                    t.must_not_appear += s.must_not_appear.len();
                    t.sentences += s.sentences;
                    t.unsupported += s.unsupported;
                    t.leaked_placeholders += s.leaked_placeholders;
                    t.unplaced += s.unplaced;
                    if let Some(n) = s.identifiers_sent {
                        t.identifiers_sent = Some(t.identifiers_sent.unwrap_or(0) + n);
                    }
                }
                Outcome::Failed { expected, identifiers_sent, .. } => {
                    t.failed += 1;
                    t.expected += expected;
                    if let Some(n) = identifiers_sent {
                        t.identifiers_sent = Some(t.identifiers_sent.unwrap_or(0) + n);
                    }
                }
            }
        }
        let mut latencies: Vec<Duration> = self.cases.iter().map(|c| c.latency).collect();
        latencies.sort();
        t.max_latency = latencies.last().copied().unwrap_or_default();
        t.median_latency = match latencies.len() {
            0 => Duration::ZERO,
            n if n % 2 == 1 => latencies[n / 2],
            n => (latencies[n / 2 - 1] + latencies[n / 2]) / 2,
        };
        t
    }

    /// The report, in Markdown.
    pub fn markdown(&self) -> String {
        report::markdown(self)
    }

    /// One line: coverage, must-not-appear, unsupported, leaked, failures.
    pub fn summary(&self) -> String {
        report::summary(self)
    }
}

/// Runs every case in `options.cases` through the drafting pipeline of a
/// throwaway app made from `settings` (nothing of the configured
/// database, keys, files, mail or secrets is used or touched; see
/// `throwaway_settings`), and scores the drafts.
pub async fn evaluate(settings: &Settings, options: &Options) -> Result<Evaluation, EvaluationError> {
    if settings.is_production() {
        return Err(EvaluationError::Production);
    }
    let cases = cases::load(&options.cases)?;
    tracing::info!(cases = cases.len(), engine = ?options.engine, "draft evaluation started");
    let setup = |e: &dyn std::fmt::Display| EvaluationError::Setup(e.to_string());
    let folder = tempfile::Builder::new().prefix("cbt-draft-evaluation-").tempdir().map_err(|e| setup(&e))?;
    let throwaway = throwaway_settings(settings, folder.path(), options.engine);
    if let Some(problem) = throwaway.problems().first() {
        return Err(setup(problem));
    }
    let recording = match options.engine {
        Engine::Rules => None,
        Engine::Model => {
            let model = language_model(&throwaway).map_err(|e| setup(&format!("{e:#}")))?;
            Some(Arc::new(RecordingModel::new(model.ok_or(EvaluationError::NoModel)?)))
        }
    };
    let secrets = secrets::resolve(&throwaway, Generate::Yes)
        .map_err(|problems| setup(&problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")))?;
    let store = connect_store(&throwaway).await.map_err(|e| setup(&format!("{e:#}")))?;
    let result = async {
        store.migrate().await.map_err(|e| setup(&e))?;
        let llm = recording.clone().map(|r| r as Arc<dyn Llm>);
        let mail = mailer(&throwaway).map_err(|e| setup(&format!("{e:#}")))?;
        let app = application_with_model(&throwaway, store.clone(), Arc::new(SystemClock), mail, &secrets, llm)
            .await
            .map_err(|e| setup(&format!("{e:#}")))?;
        run(&app, &cases, options, recording.as_deref()).await
    }
    .await;
    store.close().await;
    // The folder, its database and keys go now.
    folder.close().map_err(|e| setup(&e))?;
    let cases_run = result?;
    let model = match options.engine {
        Engine::Rules => None,
        Engine::Model => recording.map(|r| r.model().clone()),
    };
    let evaluation = Evaluation {
        engine: options.engine,
        prompt_version: model.as_ref().map(|_| cbt_drafting::NOTE_PROMPT_VERSION),
        model,
        cases_folder: options.cases.display().to_string(),
        date: time::OffsetDateTime::now_utc().date(),
        commit: options.commit.clone().or_else(current_commit).unwrap_or_else(|| "unknown".into()),
        cases: cases_run,
    };
    let totals = evaluation.totals();
    tracing::info!(
        cases = totals.cases,
        failed = totals.failed,
        expected = totals.expected,
        found = totals.found,
        must_not_appear = totals.must_not_appear,
        unsupported = totals.unsupported,
        "draft evaluation finished"
    );
    Ok(evaluation)
}

/// Settings for the throwaway app: everything stored in `folder` (its
/// own SQLite database, key folder, file folder, mail outbox and secrets,
/// generated there), local mode, a low bcrypt cost for the one fictional
/// account. The rest — the language model's settings above all, whatever
/// they are — is as configured, so a provider added later needs nothing
/// here; with `rules` no model is set up at all.
fn throwaway_settings(settings: &Settings, folder: &Path, engine: Engine) -> Settings {
    Settings {
        env: Environment::Local,
        data_dir: folder.to_path_buf(),
        database_url: None,
        allow_sqlite_in_production: false,
        key_provider: "local".into(),
        kek_dir: None,
        allow_local_kek_in_production: false,
        file_store: "folder".into(),
        file_dir: None,
        smtp_host: None,
        google_client_id: None,
        session_secret: None,
        session_secret_file: None,
        csrf_secret: None,
        csrf_secret_file: None,
        jwt_secret: None,
        jwt_secret_file: None,
        audit_key: None,
        audit_key_file: None,
        password_hash_cost: 4,
        password_hash_workers: 1,
        llm_provider: match engine {
            Engine::Rules => "off".into(),
            Engine::Model => settings.llm_provider.clone(),
        },
        // The cases run one after another, faster than a therapist asks.
        llm_calls_per_minute: u32::MAX,
        ..settings.clone()
    }
}

/// The cases, one after another, in the throwaway app.
async fn run(
    app: &App,
    cases: &[Case],
    options: &Options,
    recording: Option<&RecordingModel>,
) -> Result<Vec<CaseResult>, EvaluationError> {
    let ctx = RequestContext::default();
    let account = fictional_account(app).await?;
    if options.engine == Engine::Model {
        match app.drafting_engine() {
            DraftingEngine::Model(_) => {}
            DraftingEngine::ModelWithoutBaa(info) => {
                return Err(EvaluationError::ModelWithoutBaa(format!("{} {}", info.provider.as_str(), info.model)));
            }
            DraftingEngine::RuleBased => return Err(EvaluationError::NoModel),
        }
        app.set_ai_drafts_consent(&account, true, &ctx).await.map_err(|e| EvaluationError::Setup(e.to_string()))?;
    }
    let today = app.clock().now().date();
    let mut results = Vec::with_capacity(cases.len());
    for case in cases {
        let failed = |e: AppError| EvaluationError::Drafting { case: case.id.clone(), problem: e.to_string() };
        let client = app.create_client(&account, client_details(case), &ctx).await.map_err(failed)?;
        let note = app.create_record(&account, client, empty_note(case.format, today), &ctx).await.map_err(failed)?;
        if let Some(r) = recording {
            r.take_sent();
        }
        let request = NoteDraftRequest {
            with_model: options.engine == Engine::Model,
            shorthand: case.shorthand.clone(),
            transcript: case.transcript.clone(),
        };
        let started = Instant::now();
        let drafted = app.draft_session_note(&account, note, request, &ctx).await;
        let latency = started.elapsed();
        let sent = recording.map(RecordingModel::take_sent);
        let outcome = match drafted {
            Ok(drafted) => Outcome::Drafted(score::score(case, &drafted, sent.as_deref())),
            Err(AppError::ModelUnavailable(message)) => Outcome::Failed {
                expected: case.expected.len(),
                message,
                identifiers_sent: sent.as_deref().map(|sent| score::identifiers_in(case, sent)),
            },
            Err(e) => return Err(failed(e)),
        };
        // Progress for a slow model: the case's id and how it went, no text.
        let drafted = matches!(outcome, Outcome::Drafted(_));
        tracing::info!(case = %case.id, drafted, latency_ms = latency.as_millis(), "case drafted");
        results.push(CaseResult {
            id: case.id.clone(),
            title: case.title.clone(),
            format: case.format,
            latency,
            outcome,
        });
    }
    Ok(results)
}

/// The one fictional therapist, made by the demo use case (no clients).
async fn fictional_account(app: &App) -> Result<Account, EvaluationError> {
    let setup = |e: &dyn std::fmt::Display| EvaluationError::Setup(e.to_string());
    let none = cbt_app::demo::DemoSize { clients: 0, notes_per_client: 0, busy_client_notes: None };
    app.seed_demo(none).await.map_err(|e| setup(&e))?;
    let account = app.store().account_by_email(cbt_app::demo::DEMO_EMAIL).await.map_err(|e| setup(&e))?;
    account.ok_or_else(|| setup(&"the fictional account was not found after it was made"))
}

fn client_details(case: &Case) -> ClientDetails {
    let c = &case.client;
    ClientDetails {
        full_name: c.full_name.clone(),
        preferred_name: c.preferred_name.clone(),
        date_of_birth: c.date_of_birth,
        phone: c.phone.clone(),
        email: c.email.clone(),
        address: c.address.clone(),
        emergency_contact: c.emergency_contact.clone(),
        referral_source: "Draft evaluation (fictional)".into(),
        ..ClientDetails::default()
    }
}

/// An unsigned note in `format`, nothing written in it yet.
fn empty_note(format: NoteFormat, date: Date) -> SessionNote {
    let body = match format {
        NoteFormat::Soap => NoteBody::Soap {
            subjective: String::new(),
            objective: String::new(),
            assessment: String::new(),
            plan: String::new(),
        },
        NoteFormat::Dap => NoteBody::Dap { data: String::new(), assessment: String::new(), plan: String::new() },
        NoteFormat::Birp => NoteBody::Birp {
            behavior: String::new(),
            intervention: String::new(),
            response: String::new(),
            plan: String::new(),
        },
        NoteFormat::Free => NoteBody::Free { text: String::new() },
    };
    SessionNote {
        date,
        start_time: String::new(),
        duration_minutes: 50,
        modality: Modality::InPerson,
        attendance: Attendance::Attended,
        body,
        drafted_with: None,
    }
}

/// The commit checked out here, if git can say.
fn current_commit() -> Option<String> {
    let out = std::process::Command::new("git").args(["rev-parse", "--short=12", "HEAD"]).output().ok()?;
    let commit = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (out.status.success() && !commit.is_empty()).then_some(commit)
}

/// The configured model, keeping what each request carried (every message
/// but the fixed prompt) so the harness can look for the client's
/// identifiers in exactly what left the app. Kept in memory for one case.
struct RecordingModel {
    inner: Arc<dyn Llm>,
    sent: Mutex<Vec<String>>,
}

impl RecordingModel {
    fn new(inner: Arc<dyn Llm>) -> Self {
        Self { inner, sent: Mutex::new(Vec::new()) }
    }

    /// What was sent since the last call.
    fn take_sent(&self) -> Vec<String> {
        std::mem::take(&mut *self.sent.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

#[async_trait::async_trait]
impl Llm for RecordingModel {
    fn model(&self) -> &ModelInfo {
        self.inner.model()
    }

    async fn chat(&self, request: ChatRequest) -> Result<ChatStream, LlmError> {
        let texts = request.messages.iter().filter(|m| m.role != Role::System).map(|m| m.content.clone());
        self.sent.lock().unwrap_or_else(PoisonError::into_inner).extend(texts);
        self.inner.chat(request).await
    }
}
