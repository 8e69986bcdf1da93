//! `cbt-assistant`: serve the app (default), migrate, check the
//! configuration, verify the audit log, evaluate drafts.

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use cbt_app::AuditVerification;
use cbt_app::demo::DemoSize;
use cbt_ports::SystemClock;
use cbt_server::config::{LogFormat, SETTINGS, Settings};
use cbt_server::secrets::{self, Generate};
use cbt_server::{Application, application, connect_store, logging, mailer, shutdown_signal};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cbt-assistant", version, about = "CBT Assistant Pro: a self-hosted workspace for CBT therapists")]
struct Cli {
    /// TOML file with settings (also `CBT_CONFIG`).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web application (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Configuration commands.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Audit log commands.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Demo data (refused in production).
    Demo {
        #[command(subcommand)]
        command: DemoCommand,
    },
    /// Encryption key commands.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// AI-assisted draft commands.
    Drafts {
        #[command(subcommand)]
        command: DraftsCommand,
    },
}

#[derive(Subcommand)]
enum DraftsCommand {
    /// Run the drafting pipeline on the fictional evaluation cases, in a
    /// throwaway app (a temporary database and key folder, deleted after),
    /// and report coverage of expected facts, invented facts, unsupported
    /// sentences, leaked placeholders and identifiers sent to the model.
    /// Fails only when the cases cannot be run, not on low scores.
    /// Refused in production.
    Evaluate {
        /// The folder of case files (`*.toml`).
        #[arg(long, default_value = cbt_server::evaluation::CASES_FOLDER)]
        cases: PathBuf,
        /// Write the Markdown report here (folders made as needed);
        /// without it the report goes to standard output.
        #[arg(long)]
        report: Option<PathBuf>,
        /// `rules`: structured drafting; `model`: the model `CBT_LLM_*`
        /// configures (it must be marked `CBT_LLM_BAA=true`).
        #[arg(long, value_enum, default_value = "rules")]
        engine: cbt_server::evaluation::Engine,
        /// The commit the report names (default: `git rev-parse HEAD`).
        #[arg(long)]
        commit: Option<String>,
    },
}

#[derive(Subcommand)]
enum DemoCommand {
    /// Create a clearly fictional demo account with a caseload of clients,
    /// each with signed session notes, a case formulation, a working
    /// hypothesis, a signed treatment plan with progress ratings and a
    /// homework assignment; prints its email and a generated password.
    Seed {
        /// Clients to create.
        #[arg(long, default_value_t = 12)]
        clients: usize,
        /// Signed session notes per client (weekly, most recent last week).
        #[arg(long, default_value_t = 6)]
        notes: usize,
        /// Signed session notes of the first client instead of `--notes`
        /// (one long course of therapy, e.g. for benchmarks).
        #[arg(long)]
        busy_client_notes: Option<usize>,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Re-wrap every account's data key under a new key-encryption key
    /// (KEK), without touching encrypted data. Safe to interrupt and run
    /// again: it resumes.
    Rotate,
    /// Show the current KEK and how many data keys each KEK wraps.
    Status,
    /// Destroy a retired KEK that no data key uses any more. Database
    /// copies (backups) made while it was in use can then no longer be read.
    DestroyKek {
        /// The KEK, as `keys status` names it (e.g. `local:v1`).
        kek: String,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print the effective configuration (secrets redacted) and validate it.
    Check,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Walk the audit log's hash chain; name the first broken entry.
    Verify,
}

/// mimalloc instead of glibc's allocator: a page allocates and frees many
/// small strings (decrypted fields, JSON, HTML) on two worker threads.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(problem) => return fail(&[problem.to_string()]),
    };
    if let Some(Command::Config { command: ConfigCommand::Check }) = cli.command {
        return config_check(&settings);
    }
    // Before the secrets: the evaluation makes its own in a throwaway
    // folder and touches nothing of the configured data folder.
    if let Some(Command::Drafts { command: DraftsCommand::Evaluate { cases, report, engine, commit } }) = cli.command {
        let options = cbt_server::evaluation::Options { cases, engine, commit };
        return drafts_evaluate(&settings, &options, report.as_deref());
    }
    let mut problems: Vec<String> = settings.problems().iter().map(ToString::to_string).collect();
    let secrets = match secrets::resolve(&settings, Generate::Yes) {
        Ok(s) => Some(s),
        Err(p) => {
            problems.extend(p.iter().map(ToString::to_string));
            None
        }
    };
    let Some(secrets) = secrets.filter(|_| problems.is_empty()) else { return fail(&problems) };
    let json = match settings.log_format {
        LogFormat::Json => true,
        LogFormat::Text => false,
        LogFormat::Auto => settings.is_production(),
    };
    if let Err(e) = logging::init(json, &settings.log_level) {
        return fail(&[e]);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => return fail(&[format!("cannot start the async runtime: {e}")]),
    };
    let result = runtime.block_on(async {
        match cli.command {
            None | Some(Command::Serve) => serve(&settings, &secrets).await,
            Some(Command::Migrate) => migrate(&settings, &secrets).await,
            Some(Command::Audit { command: AuditCommand::Verify }) => audit_verify(&settings, &secrets).await,
            Some(Command::Keys { command }) => keys(&settings, &secrets, command).await,
            Some(Command::Demo { command: DemoCommand::Seed { clients, notes, busy_client_notes } }) => {
                let size = DemoSize { clients, notes_per_client: notes, busy_client_notes };
                demo_seed(&settings, &secrets, size).await
            }
            Some(Command::Config { .. } | Command::Drafts { .. }) => Ok(ExitCode::SUCCESS),
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            tracing::error!(cause = format!("{e:#}"), "stopped");
            fail(&[format!("{e:#}")])
        }
    }
}

/// One line per problem on stderr, exit code 2.
fn fail(problems: &[String]) -> ExitCode {
    for p in problems {
        eprintln!("cbt-assistant: {p}");
    }
    ExitCode::from(2)
}

async fn serve(settings: &Settings, secrets: &secrets::Secrets) -> anyhow::Result<ExitCode> {
    let server = Application::build(settings, secrets, Arc::new(SystemClock)).await?;
    let address = server.local_addr()?;
    tracing::info!(listen = %address, public_url = settings.public_url, env = ?settings.env, "listening");
    if !settings.is_production() {
        println!("CBT Assistant Pro is running at http://{address}/  (Ctrl-C to stop)");
    }
    server.run_until(shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

async fn migrate(settings: &Settings, secrets: &secrets::Secrets) -> anyhow::Result<ExitCode> {
    let store = connect_store(settings).await?;
    let report = store.migrate().await?;
    let app = application(settings, store.clone(), Arc::new(SystemClock), mailer(settings)?, secrets).await?;
    if !report.applied.is_empty() {
        app.record_system_event(
            cbt_domain::audit::AuditAction::SchemaMigrated,
            cbt_domain::audit::AuditOutcome::Success,
        )
        .await?;
    }
    println!("schema at version {} ({} migration(s) applied now)", report.current, report.applied.len());
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

async fn audit_verify(settings: &Settings, secrets: &secrets::Secrets) -> anyhow::Result<ExitCode> {
    let store = connect_store(settings).await?;
    let app = application(settings, store.clone(), Arc::new(SystemClock), mailer(settings)?, secrets).await?;
    app.readiness().await?;
    let outcome = app.verify_audit_log().await?;
    store.close().await;
    Ok(match outcome {
        AuditVerification::Intact(summary) => {
            println!("audit log intact: {} entries, head {}", summary.entries, summary.head_hash_hex);
            ExitCode::SUCCESS
        }
        AuditVerification::Broken(broken) => {
            println!("audit log BROKEN: {broken}");
            ExitCode::from(1)
        }
    })
}

async fn keys(settings: &Settings, secrets: &secrets::Secrets, command: KeysCommand) -> anyhow::Result<ExitCode> {
    let store = connect_store(settings).await?;
    let app = application(settings, store.clone(), Arc::new(SystemClock), mailer(settings)?, secrets).await?;
    app.readiness().await?;
    let result = match command {
        KeysCommand::Rotate => {
            let report = app
                .rotate_keys(|p| {
                    println!("re-wrapped {}/{} data key(s) under {}", p.rewrapped, p.total, p.to_kek);
                    ControlFlow::Continue(())
                })
                .await;
            report.map(|r| {
                if r.new_kek {
                    println!("new key-encryption key {}", r.to_kek);
                }
                println!("rotation to {} complete: {} data key(s) re-wrapped by this run", r.to_kek, r.rewrapped);
                print_key_counts(&r.to_kek, &r.keys_by_kek);
            })
        }
        KeysCommand::Status => app.key_status().await.map(|(current, counts)| print_key_counts(&current, &counts)),
        KeysCommand::DestroyKek { kek } => app.destroy_kek(&kek).await.map(|()| println!("destroyed {kek}")),
    };
    store.close().await;
    result?;
    Ok(ExitCode::SUCCESS)
}

async fn demo_seed(settings: &Settings, secrets: &secrets::Secrets, size: DemoSize) -> anyhow::Result<ExitCode> {
    if settings.is_production() {
        return Ok(fail(&["demo data is refused in production (CBT_ENV=production)".into()]));
    }
    let store = connect_store(settings).await?;
    store.migrate().await?;
    let app = application(settings, store.clone(), Arc::new(SystemClock), mailer(settings)?, secrets).await?;
    let result = app.seed_demo(size).await;
    store.close().await;
    match result {
        Ok(report) => {
            println!(
                "demo account created (fictional): {} clients, {} signed notes, {} formulations, {} hypotheses, \
                 {} signed treatment plans, {} progress ratings, {} homework assignments",
                report.clients,
                report.notes,
                report.formulations,
                report.hypotheses,
                report.plans,
                report.progress_ratings,
                report.homework
            );
            println!("sign in as {} with the password {}", report.email, report.password);
            Ok(ExitCode::SUCCESS)
        }
        Err(cbt_app::AppError::Invalid(errors)) => {
            Ok(fail(&errors.0.iter().map(|e| e.message.clone()).collect::<Vec<_>>()))
        }
        Err(e) => Err(e.into()),
    }
}

/// `drafts evaluate`: the report to `report` (or standard output) and a
/// one-line summary; exit 2 when the cases cannot be run.
fn drafts_evaluate(
    settings: &Settings,
    options: &cbt_server::evaluation::Options,
    report: Option<&std::path::Path>,
) -> ExitCode {
    // Logs go to standard output: off when the report goes there.
    let filter = if report.is_some() { settings.log_level.as_str() } else { "off" };
    if let Err(e) = logging::init(matches!(settings.log_format, LogFormat::Json), filter) {
        return fail(&[e]);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => return fail(&[format!("cannot start the async runtime: {e}")]),
    };
    let evaluation = match runtime.block_on(cbt_server::evaluation::evaluate(settings, options)) {
        Ok(evaluation) => evaluation,
        Err(e) => return fail(&[e.to_string()]),
    };
    let markdown = evaluation.markdown();
    match report {
        None => {
            print!("{markdown}");
            eprintln!("{}", evaluation.summary());
        }
        Some(path) => {
            let written = match path.parent().filter(|p| !p.as_os_str().is_empty()) {
                Some(parent) => std::fs::create_dir_all(parent).and_then(|()| std::fs::write(path, &markdown)),
                None => std::fs::write(path, &markdown),
            };
            if let Err(e) = written {
                return fail(&[format!("--report: cannot write {} ({e})", path.display())]);
            }
            println!("{} (report: {})", evaluation.summary(), path.display());
        }
    }
    ExitCode::SUCCESS
}

fn print_key_counts(current: &str, counts: &[(String, u64)]) {
    println!("current key-encryption key: {current}");
    for (kek, n) in counts {
        let note = if kek == current { "" } else { " (retired: run `keys rotate` to move them)" };
        println!("  {kek}: {n} data key(s){note}");
    }
}

fn config_check(settings: &Settings) -> ExitCode {
    let mut problems: Vec<String> = settings.problems().iter().map(ToString::to_string).collect();
    println!("env                         = {:?}", settings.env);
    println!(
        "config file                 = {}",
        settings.config.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "(none)".into())
    );
    println!("bind                        = {}", settings.bind);
    println!("public_url                  = {}", settings.public_url);
    println!("data_dir                    = {}", settings.data_dir.display());
    println!("database_url                = {}", redact_url(&settings.effective_database_url()));
    println!("allow_sqlite_in_production  = {}", settings.allow_sqlite_in_production);
    println!("database_max_connections    = {}", settings.database_max_connections);
    println!("trusted_proxies             = {}", settings.trusted_proxies);
    println!("body_limit_bytes            = {}", settings.body_limit_bytes);
    println!("request_timeout_seconds     = {}", settings.request_timeout_seconds);
    println!("log_format                  = {:?}", settings.log_format);
    println!("log_level                   = {}", settings.log_level);
    println!("password_hash_cost          = {}", settings.password_hash_cost);
    println!("password_hash_workers       = {}", settings.password_hash_workers);
    println!("require_mfa                 = {}", settings.require_mfa);
    println!(
        "google_client_id            = {}",
        settings.google_client_id.as_deref().unwrap_or("(none: Google sign-in off)")
    );
    println!(
        "google_client_secret        = {}",
        if settings.google_client_secret.is_some() || settings.google_client_secret_file.is_some() {
            "set (value redacted)"
        } else {
            "(none)"
        }
    );
    println!("google_issuer_url           = {}", settings.google_issuer_url);
    println!("requests_per_ip             = {}", settings.requests_per_ip);
    println!("client_link_days            = {}", settings.client_link_days);
    println!("client_link_requests_per_ip = {}", settings.client_link_requests_per_ip);
    println!(
        "smtp_host                   = {}",
        settings.smtp_host.as_deref().unwrap_or("(none: mails go to the outbox folder)")
    );
    println!(
        "smtp_port                   = {}",
        settings.smtp_port.map(|p| p.to_string()).unwrap_or_else(|| "(by security mode)".into())
    );
    println!("smtp_security               = {}", settings.smtp_security);
    println!("smtp_username               = {}", settings.smtp_username.as_deref().unwrap_or("(none)"));
    println!(
        "smtp_password               = {}",
        if settings.smtp_password.is_some() || settings.smtp_password_file.is_some() {
            "set (value redacted)"
        } else {
            "(none)"
        }
    );
    println!("mail_from                   = {}", settings.mail_from);
    println!("key_provider                = {}", settings.key_provider);
    if settings.key_provider == "aws-kms" {
        println!("kms_key_id                  = {}", settings.kms_key_id.as_deref().unwrap_or("(none)"));
        println!("kms_region                  = {}", settings.kms_region.as_deref().unwrap_or("(none)"));
        println!("kms_endpoint                = {}", settings.kms_endpoint.as_deref().unwrap_or("(AWS default)"));
    } else {
        println!("kek_dir                     = {}", settings.effective_kek_dir().display());
        println!("allow_local_kek_in_production = {}", settings.allow_local_kek_in_production);
    }
    println!("file_store                  = {}", settings.file_store);
    if settings.file_store == "s3" {
        println!("s3_bucket                   = {}", settings.s3_bucket.as_deref().unwrap_or("(none)"));
        println!("s3_region                   = {}", settings.s3_region.as_deref().unwrap_or("(none)"));
        println!("s3_endpoint                 = {}", settings.s3_endpoint.as_deref().unwrap_or("(AWS default)"));
        println!("s3_sse_kms_key_id           = {}", settings.s3_sse_kms_key_id.as_deref().unwrap_or("(none)"));
    } else {
        println!("file_dir                    = {}", settings.effective_file_dir().display());
    }
    match secrets::resolve(settings, Generate::No) {
        Ok(s) => {
            for (name, source) in &s.sources {
                println!("{:<28}= {source}", name.trim_start_matches("CBT_").to_lowercase());
            }
        }
        Err(p) => problems.extend(p.iter().map(ToString::to_string)),
    }
    if problems.is_empty() {
        println!("configuration OK ({} settings documented: see README)", SETTINGS.len());
        ExitCode::SUCCESS
    } else {
        fail(&problems)
    }
}

/// Hides a password in a database URL.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}://{user}:[redacted]@{}", &url[..scheme_end], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}
