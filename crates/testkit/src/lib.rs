//! Test harness for CBT Assistant Pro.
//!
//! - [`TestDatabase`]: a fresh SQLite file, or a fresh PostgreSQL database
//!   created from `TEST_DATABASE_URL` (dropped afterwards).
//! - [`TestApp`]: the real application, in-process, on a free loopback port,
//!   with a [`ManualClock`](cbt_ports::ManualClock).
//! - [`RunningBinary`]: the real `cbt-assistant` binary as a child process,
//!   its log output captured.
//! - [`Browser`]: headless Chromium through chromedriver.
//!
//! Optional suites skip (saying so) when their service is absent, and fail
//! instead when `REQUIRE_POSTGRES=1` / `REQUIRE_BROWSER=1`.

// Test infrastructure reports failure by panicking.
#![allow(clippy::panic, clippy::expect_used, clippy::unwrap_used)]

pub mod accounts;
pub mod binary;
mod browser;
mod database;

use std::path::PathBuf;
use std::sync::Arc;

use cbt_mail::test_server::SmtpCapture;
use cbt_ports::ManualClock;
use cbt_server::Application;
use cbt_server::config::Settings;
use cbt_server::secrets::{self, Generate, Secrets};
use tempfile::TempDir;
use time::OffsetDateTime;

pub use binary::RunningBinary;
pub use browser::Browser;
/// The fake OpenAI-compatible provider the language-model tests talk to.
pub use cbt_llm::test_server::{FakeLlm, RecordedRequest as LlmRequest, Reply as LlmReply};
pub use database::{Backend as DatabaseBackend, TestDatabase, dump_holds, postgres_required};

/// A string that must never appear in logs, dumps or error pages.
pub const PHI_CANARY: &str = "PHI-CANARY-Eleanor-Vance-1961-03-14";

/// Whether an environment flag is set to `1` or `true`.
pub fn flag(name: &str) -> bool {
    std::env::var(name).map(|v| v == "1" || v.eq_ignore_ascii_case("true")).unwrap_or(false)
}

/// Says once per test process that a suite was skipped. Written to the
/// real stderr (not the captured test output), so it shows in a passing run.
pub fn report_skip(suite: &str, why: &str) {
    use std::io::Write;
    use std::sync::Mutex;
    static REPORTED: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let mut reported = REPORTED.lock().unwrap_or_else(|p| p.into_inner());
    if !reported.iter().any(|s| s == suite) {
        reported.push(suite.to_owned());
        let _ = writeln!(std::io::stderr(), "skipped: the {suite} tests ({why}); they pass without running");
    }
}

/// Settings for a test instance: loopback, port 0, its own data folder,
/// a low bcrypt cost (tests hash many passwords; production refuses < 12).
pub fn test_settings(data_dir: PathBuf, database_url: &str) -> Settings {
    Settings {
        bind: "127.0.0.1:0".parse().expect("loopback"),
        data_dir,
        database_url: Some(database_url.to_owned()),
        password_hash_cost: 4,
        password_hash_workers: 2,
        ..Settings::default()
    }
}

/// The application running in-process.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`
    pub address: String,
    /// The SMTP server the app sends its mail to.
    pub mail: SmtpCapture,
    pub client: reqwest::Client,
    pub clock: Arc<ManualClock>,
    pub settings: Settings,
    pub secrets: Secrets,
    pub db: TestDatabase,
    /// The running app's use cases, for tests that drive them directly.
    pub app: cbt_app::App,
    _data_dir: TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl TestApp {
    /// Starts the app on `db` with a fresh data folder.
    pub async fn spawn(db: TestDatabase) -> Self {
        Self::spawn_with(db, |_| {}).await
    }

    /// Starts the app with adjusted settings.
    pub async fn spawn_with(db: TestDatabase, adjust: impl FnOnce(&mut Settings)) -> Self {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let mail = SmtpCapture::start().await;
        let mut settings = test_settings(data_dir.path().join("data"), &db.url);
        settings.smtp_host = Some("127.0.0.1".into());
        settings.smtp_port = Some(mail.port());
        settings.smtp_security = "plain".into();
        adjust(&mut settings);
        let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
        Self::start(db, data_dir, mail, settings, clock).await
    }

    async fn start(
        db: TestDatabase,
        data_dir: TempDir,
        mail: SmtpCapture,
        mut settings: Settings,
        clock: Arc<ManualClock>,
    ) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        // Links in emails name this instance (unless a test chose an
        // https:// public URL, as behind a TLS proxy).
        if settings.public_url.starts_with("http://") {
            settings.public_url = format!("http://127.0.0.1:{port}");
        }
        let secrets = secrets::resolve(&settings, Generate::Yes).expect("secrets");
        let server = Application::build_on(listener, &settings, &secrets, clock.clone()).await.expect("build app");
        let address = format!("http://{}", server.local_addr().expect("addr"));
        let app = server.app().clone();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let handle = tokio::spawn(async move {
            server
                .run_until(async {
                    let _ = rx.await;
                })
                .await
                .expect("serve");
        });
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            .build()
            .expect("client");
        Self {
            address,
            mail,
            client,
            clock,
            settings,
            secrets,
            db,
            app,
            _data_dir: data_dir,
            shutdown: Some(tx),
            server: Some(handle),
        }
    }

    /// Stops the server and starts a new one on the same database, data
    /// folder, secrets, mail server and clock, with adjusted settings (a
    /// restart, or the next instance of a deployment).
    pub async fn restart_with(mut self, adjust: impl FnOnce(&mut Settings)) -> Self {
        self.shutdown_server().await;
        let mut settings = self.settings.clone();
        adjust(&mut settings);
        let TestApp { db, _data_dir, mail, clock, .. } = self;
        Self::start(db, _data_dir, mail, settings, clock).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("request")
    }

    /// Graceful shutdown: waits for the server to close.
    pub async fn stop(mut self) {
        self.shutdown_server().await;
    }

    async fn shutdown_server(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.server.take() {
            let _ = h.await;
        }
    }
}
