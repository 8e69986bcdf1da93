//! The `cbt-assistant` program: configuration, secrets, logging, and the
//! wiring of adapters into the application.
//!
//! [`Application::build`] is what `serve` runs and what tests start on a
//! free port: the real router, the real store, with an injected clock.

pub mod config;
pub mod evaluation;
pub mod logging;
pub mod secrets;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use cbt_app::{App, AppKeys, AppPorts, AppSettings};
use cbt_blobs::{FolderBlobStore, S3BlobStore, S3Settings};
use cbt_domain::audit::{AuditAction, AuditOutcome};
use cbt_keys::{AwsKmsKeyProvider, AwsKmsSettings, LocalKeyProvider};
use cbt_mail::{OutboxMailer, SmtpMailer, SmtpSecurity, SmtpSettings};
use cbt_ports::{BlobStore, Clock, KeyProvider, Mailer, Store};
use cbt_store_postgres::{PoolSettings, PostgresStore};
use cbt_store_sqlite::SqliteStore;
use cbt_web::WebSettings;
use tokio::net::TcpListener;

use crate::config::Settings;
use crate::secrets::Secrets;

/// Opens the configured database (SQLite by default).
pub async fn connect_store(settings: &Settings) -> anyhow::Result<Arc<dyn Store>> {
    let url = settings.effective_database_url();
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let pool = PoolSettings { max_connections: settings.database_max_connections, ..PoolSettings::default() };
        let store = PostgresStore::connect(&url, &pool).await.context("DATABASE_URL: cannot connect to PostgreSQL")?;
        Ok(Arc::new(store))
    } else {
        secrets::private_dir(&settings.data_dir).context("CBT_DATA_DIR: cannot create the data folder")?;
        let store = SqliteStore::connect(&url).await.context("DATABASE_URL: cannot open the SQLite database")?;
        Ok(Arc::new(store))
    }
}

/// Google sign-in when `CBT_GOOGLE_CLIENT_ID` is set: discovers the
/// provider's endpoints and keys now, so a wrong setting stops start-up.
pub async fn google_sign_in(settings: &Settings) -> anyhow::Result<Option<Arc<cbt_oidc::OidcClient>>> {
    let Some(client_id) = settings.google_client_id.clone() else { return Ok(None) };
    let secret = match (&settings.google_client_secret, &settings.google_client_secret_file) {
        (Some(s), _) => s.clone(),
        (None, Some(file)) => std::fs::read_to_string(file)
            .with_context(|| format!("CBT_GOOGLE_CLIENT_SECRET_FILE: cannot read {}", file.display()))?
            .trim_end_matches(['\r', '\n'])
            .to_owned(),
        (None, None) => anyhow::bail!("CBT_GOOGLE_CLIENT_SECRET is not set (needed with CBT_GOOGLE_CLIENT_ID)"),
    };
    let redirect = format!("{}/auth/google/callback", settings.public_url.trim_end_matches('/'));
    let oidc = cbt_oidc::OidcSettings::new(settings.google_issuer_url.clone(), client_id, secret, redirect)
        .map_err(|e| anyhow::anyhow!("CBT_GOOGLE_*: {e}"))?;
    let client =
        cbt_oidc::OidcClient::discover(oidc).await.map_err(|e| anyhow::anyhow!("CBT_GOOGLE_ISSUER_URL: {e}"))?;
    Ok(Some(Arc::new(client)))
}

/// SMTP when `CBT_SMTP_HOST` is set; otherwise (local mode) `.eml` files in
/// `<data_dir>/outbox/`.
pub fn mailer(settings: &Settings) -> anyhow::Result<Arc<dyn Mailer>> {
    let Some(host) = settings.smtp_host.clone() else {
        let outbox = OutboxMailer::new(settings.data_dir.join("outbox"), &settings.mail_from)
            .map_err(|e| anyhow::anyhow!("CBT_DATA_DIR: {e}"))?;
        return Ok(Arc::new(outbox));
    };
    let security: SmtpSecurity =
        settings.smtp_security.parse().map_err(|e| anyhow::anyhow!("CBT_SMTP_SECURITY: {e}"))?;
    let password = match (&settings.smtp_password, &settings.smtp_password_file) {
        (Some(p), _) => Some(p.clone()),
        (None, Some(file)) => Some(
            std::fs::read_to_string(file)
                .with_context(|| format!("CBT_SMTP_PASSWORD_FILE: cannot read {}", file.display()))?
                .trim_end_matches(['\r', '\n'])
                .to_owned(),
        ),
        (None, None) => None,
    };
    let smtp = SmtpMailer::new(SmtpSettings {
        host,
        port: settings.smtp_port.unwrap_or_else(|| security.default_port()),
        security,
        username: settings.smtp_username.clone(),
        password,
        from: settings.mail_from.clone(),
        timeout: Duration::from_secs(30),
    })
    .map_err(|e| anyhow::anyhow!("CBT_SMTP_{}: {e}", e.field().to_uppercase()))?;
    Ok(Arc::new(smtp))
}

/// The configured language model, if any (`CBT_LLM_*`). Only the
/// operator's `CBT_LLM_BAA=true` lets the app send it PHI; that gate is the
/// app's (`App::drafting_engine`), here it is only recorded. A `local`
/// model is covered without it: it sends nothing anywhere.
pub fn language_model(settings: &Settings) -> anyhow::Result<Option<Arc<dyn cbt_ports::Llm>>> {
    use cbt_llm::{Credential, LlmSettings, OpenAiCompatible};
    use cbt_ports::ProviderKind;
    let provider = match settings.llm_provider.as_str() {
        "openai" => ProviderKind::OpenAi,
        "azure-openai" => ProviderKind::AzureOpenAi,
        "self-hosted" => ProviderKind::SelfHosted,
        "local" => return local_model(settings).map(Some),
        _ => return Ok(None),
    };
    let endpoint = settings.llm_endpoint.as_deref().unwrap_or_default().trim();
    let endpoint = url::Url::parse(endpoint).map_err(|e| anyhow::anyhow!("CBT_LLM_ENDPOINT: not a URL ({e})"))?;
    let key = match (&settings.llm_api_key, &settings.llm_api_key_file) {
        (Some(key), _) => Some(key.trim().to_owned()),
        (None, Some(file)) => Some(
            std::fs::read_to_string(file)
                .with_context(|| format!("CBT_LLM_API_KEY_FILE: cannot read {}", file.display()))?
                .trim()
                .to_owned(),
        ),
        (None, None) => None,
    };
    let azure_header = match settings.llm_auth.as_str() {
        "api-key" => true,
        "bearer" => false,
        _ => provider == ProviderKind::AzureOpenAi,
    };
    let credential = match key.filter(|k| !k.is_empty()) {
        None => Credential::None,
        Some(key) if azure_header => Credential::AzureApiKey(key),
        Some(key) => Credential::Bearer(key),
    };
    let model = settings.llm_model.clone().unwrap_or_default();
    let mut llm = LlmSettings::new(provider, endpoint, model, credential);
    llm.api_version = settings.llm_api_version.clone();
    llm.baa = settings.llm_baa;
    let client =
        OpenAiCompatible::new(llm).map_err(|e| anyhow::anyhow!("CBT_LLM_{}: {e}", e.field().to_uppercase()))?;
    Ok(Some(Arc::new(client)))
}

/// `CBT_LLM_PROVIDER=local`: the GGUF model at `CBT_LLM_MODEL_FILE`, read
/// now (as long as reading the file takes), run in this process.
#[cfg(feature = "local-llm")]
fn local_model(settings: &Settings) -> anyhow::Result<Arc<dyn cbt_ports::Llm>> {
    use cbt_ports::Llm as _;
    let Some(file) = settings.llm_model_file.as_ref().filter(|f| !f.as_os_str().is_empty()) else {
        anyhow::bail!("CBT_LLM_MODEL_FILE is not set (CBT_LLM_PROVIDER=local needs it)");
    };
    let started = std::time::Instant::now();
    let model = cbt_local_llm::LocalModel::load(file).map_err(|e| anyhow::anyhow!("CBT_LLM_MODEL_FILE: {e}"))?;
    tracing::info!(
        model = %model.model().model,
        positions = model.context_length(),
        load_ms = started.elapsed().as_millis(),
        "local language model loaded"
    );
    Ok(Arc::new(model))
}

#[cfg(not(feature = "local-llm"))]
fn local_model(_settings: &Settings) -> anyhow::Result<Arc<dyn cbt_ports::Llm>> {
    anyhow::bail!(
        "CBT_LLM_PROVIDER is `local`, but this build cannot run a model (build it with the cargo feature `local-llm`: cargo build --release --features local-llm)"
    )
}

/// The configured key provider: `local` (KEK files under `CBT_KEK_DIR`,
/// generated on first use in local mode only) or `aws-kms`.
pub async fn key_provider(settings: &Settings) -> anyhow::Result<Arc<dyn KeyProvider>> {
    match settings.key_provider.as_str() {
        "aws-kms" => {
            let kms = AwsKmsSettings {
                key_id: settings.kms_key_id.clone().unwrap_or_default(),
                region: settings.kms_region.clone().unwrap_or_default(),
                endpoint: settings.kms_endpoint.clone(),
            };
            let provider = AwsKmsKeyProvider::new(kms).await.context("CBT_KMS_*: cannot set up AWS KMS")?;
            Ok(Arc::new(provider))
        }
        _ => {
            let dir = settings.effective_kek_dir();
            if !settings.is_production() {
                secrets::private_dir(&settings.data_dir).context("CBT_DATA_DIR: cannot create the data folder")?;
            }
            let provider = LocalKeyProvider::open(&dir, !settings.is_production())
                .with_context(|| format!("CBT_KEK_DIR: {}", dir.display()))?;
            Ok(Arc::new(provider))
        }
    }
}

/// The configured file store: a private folder (default) or S3.
pub fn file_store(settings: &Settings) -> anyhow::Result<Arc<dyn BlobStore>> {
    if settings.file_store == "s3" {
        let s3 = S3Settings {
            bucket: settings.s3_bucket.clone().unwrap_or_default(),
            region: settings.s3_region.clone().unwrap_or_default(),
            endpoint: settings.s3_endpoint.clone(),
            sse_kms_key_id: settings.s3_sse_kms_key_id.clone(),
            credentials: None,
        };
        return Ok(Arc::new(S3BlobStore::new(&s3).context("CBT_S3_*")?));
    }
    let dir = settings.effective_file_dir();
    Ok(Arc::new(FolderBlobStore::open(&dir).with_context(|| format!("CBT_FILE_DIR: {}", dir.display()))?))
}

/// The use-case layer over a store, keyed with the configured secrets and
/// key provider, drafting with the configured language model.
pub async fn application(
    settings: &Settings,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    mailer: Arc<dyn Mailer>,
    secrets: &Secrets,
) -> anyhow::Result<App> {
    application_with_model(settings, store, clock, mailer, secrets, language_model(settings)?).await
}

/// [`application`] with the language model given rather than read from
/// the settings (the draft evaluation wraps the configured one to see what
/// it is sent).
pub async fn application_with_model(
    settings: &Settings,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    mailer: Arc<dyn Mailer>,
    secrets: &Secrets,
    llm: Option<Arc<dyn cbt_ports::Llm>>,
) -> anyhow::Result<App> {
    let keys = key_provider(settings).await?;
    let files = file_store(settings)?;
    let app = App::new(
        AppPorts { store, clock, mailer, keys, files, llm },
        AppKeys {
            audit: secrets.audit.expose(),
            links: secrets.jwt.expose(),
            recovery_pepper: secrets.session.expose(),
        },
        AppSettings {
            public_url: settings.public_url.clone(),
            password_hash_cost: settings.password_hash_cost,
            password_hash_workers: settings.password_hash_workers,
            requests_per_ip: settings.requests_per_ip,
            client_link_lifetime: time::Duration::days(i64::from(settings.client_link_days)),
            client_link_rule: cbt_domain::tokens::RateRule {
                limit: settings.client_link_requests_per_ip,
                ..cbt_domain::client_link::PER_IP
            },
            ai_tokens_per_month: settings.llm_tokens_per_month,
            ai_calls_per_minute: settings.llm_calls_per_minute,
            ai_answer_tokens: settings.llm_answer_tokens,
        },
    )?;
    Ok(app)
}

pub fn web_settings(settings: &Settings) -> WebSettings {
    WebSettings {
        production: settings.is_production(),
        https: settings.https(),
        body_limit: settings.body_limit_bytes,
        request_timeout: Duration::from_secs(settings.request_timeout_seconds),
        public_origin: settings.public_origin(),
        require_mfa: settings.require_mfa,
        trusted_proxies: settings.trusted_proxy_list().unwrap_or_default(),
    }
}

/// A built server, bound to its port, not yet serving.
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    app: App,
}

impl Application {
    /// Binds `CBT_BIND`, then [`Application::build_on`].
    pub async fn build(settings: &Settings, secrets: &Secrets, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(settings.bind)
            .await
            .with_context(|| format!("CBT_BIND: cannot listen on {}", settings.bind))?;
        Self::build_on(listener, settings, secrets, clock).await
    }

    /// Connects, migrates and records the start in the audit log, serving
    /// on `listener` (tests bind first so links can name the port).
    pub async fn build_on(
        listener: TcpListener,
        settings: &Settings,
        secrets: &Secrets,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        let store = connect_store(settings).await?;
        let report = store.migrate().await.context("database migration failed")?;
        let app = application(settings, store, clock, mailer(settings)?, secrets).await?;
        if !report.applied.is_empty() {
            tracing::info!(applied = ?report.applied, schema = report.current, "migrations applied");
            app.record_system_event(AuditAction::SchemaMigrated, AuditOutcome::Success).await?;
        }
        app.record_system_event(AuditAction::ServerStarted, AuditOutcome::Success).await?;
        let google = google_sign_in(settings).await?;
        let router = cbt_web::router(app.clone(), web_settings(settings), secrets.csrf.expose(), google);
        Ok(Self { listener, router, app })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn app(&self) -> &App {
        &self.app
    }

    /// Serves until `shutdown` resolves, lets requests in flight finish,
    /// then closes the database.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        // The job runner: recurring questionnaires due are sent within a minute.
        self.app.spawn_schedule_runner(std::time::Duration::from_secs(60));
        let service = self.router.into_make_service_with_connect_info::<SocketAddr>();
        let result = axum::serve(self.listener, service).with_graceful_shutdown(shutdown).await;
        self.app.store().close().await;
        result
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown requested; finishing requests in flight");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(provider: &str, endpoint: &str, auth: &str) -> anyhow::Result<Option<Arc<dyn cbt_ports::Llm>>> {
        language_model(&Settings {
            llm_provider: provider.into(),
            llm_endpoint: Some(endpoint.into()),
            llm_model: Some("notes".into()),
            llm_auth: auth.into(),
            llm_api_key: Some("sk-kept-out-of-logs".into()),
            ..Settings::default()
        })
    }

    #[test]
    fn no_provider_no_model() {
        assert!(language_model(&Settings::default()).unwrap().is_none());
    }

    #[test]
    fn a_local_model_without_the_feature_or_its_file_is_named() {
        let local = Settings { llm_provider: "local".into(), ..Settings::default() };
        let err = language_model(&local).err().unwrap().to_string();
        if cfg!(feature = "local-llm") {
            assert!(err.starts_with("CBT_LLM_MODEL_FILE is not set"), "{err}");
            let missing = Settings { llm_model_file: Some("/nonexistent/m.gguf".into()), ..local };
            let err = language_model(&missing).err().unwrap().to_string();
            assert!(err.starts_with("CBT_LLM_MODEL_FILE: cannot open the model file /nonexistent/m.gguf"), "{err}");
        } else {
            assert!(err.contains("cargo feature `local-llm`"), "{err}");
        }
    }

    #[test]
    fn a_bad_endpoint_is_named() {
        let err = model("openai", "http://10.0.0.9/v1", "auto").err().unwrap().to_string();
        assert!(err.starts_with("CBT_LLM_ENDPOINT"), "{err}");
        let err = model("openai", "not a url", "auto").err().unwrap().to_string();
        assert!(err.starts_with("CBT_LLM_ENDPOINT"), "{err}");
    }

    /// Which header carries the key: Azure's `api-key` by default, a
    /// bearer token when told so (an Entra token), and the reverse.
    #[tokio::test]
    async fn the_key_goes_in_the_header_the_provider_expects() {
        use futures_util::StreamExt as _;
        let fake = cbt_testkit::FakeLlm::start().await;
        for (provider, auth, header) in [
            ("azure-openai", "auto", "api-key"),
            ("azure-openai", "bearer", "authorization"),
            ("openai", "auto", "authorization"),
            ("self-hosted", "api-key", "api-key"),
        ] {
            let endpoint = match provider {
                "azure-openai" => fake.base_url().to_owned(),
                _ => format!("{}/v1", fake.base_url()),
            };
            let llm = model(provider, &endpoint, auth).unwrap().unwrap();
            let request = cbt_ports::ChatRequest {
                messages: vec![cbt_ports::ChatMessage::new(cbt_ports::Role::User, "hello")],
                schema: None,
                max_tokens: 10,
                temperature: 0.0,
            };
            let mut answer = llm.chat(request).await.unwrap();
            while answer.next().await.is_some() {}
            let sent = fake.requests().pop().unwrap();
            let value = sent.header(header).unwrap_or_default();
            assert!(value.ends_with("sk-kept-out-of-logs"), "{provider}/{auth}: {header} = {value:?}");
            assert!(!format!("{:?}", llm.model()).contains("sk-kept"), "no key in Debug");
        }
    }
}
