//! Settings: embedded defaults → optional TOML file → environment.
//!
//! Every setting is a field of [`Settings`], named in the TOML file as the
//! field and in the environment as `CBT_` + the field in capitals (the
//! database URL also as `DATABASE_URL`). [`SETTINGS`] documents each one; a
//! test keeps the README's table in step with it.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    /// A laptop or a single machine: secrets are generated, plain HTTP on
    /// loopback is fine.
    Local,
    /// Refuses to start on any missing or weak setting; generates nothing.
    Production,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// JSON in production, readable text locally.
    Auto,
    Json,
    Text,
}

/// One line of documentation per setting: (environment variable, default,
/// meaning). Printed by `config check`, mirrored in the README.
pub const SETTINGS: &[(&str, &str, &str)] = &[
    ("CBT_ENV", "local", "`local` or `production`. Production generates no secrets and refuses weak settings."),
    (
        "CBT_CONFIG",
        "(none)",
        "Path of an optional TOML file with any of these settings (keys in lower case, without `CBT_`).",
    ),
    ("CBT_BIND", "127.0.0.1:8080", "Address and port to listen on."),
    ("CBT_PUBLIC_URL", "http://127.0.0.1:8080", "The URL users reach; must be `https://` in production."),
    ("CBT_DATA_DIR", "./data", "Folder for the SQLite database, generated secrets and files (created 0700)."),
    (
        "DATABASE_URL / CBT_DATABASE_URL",
        "sqlite://<data_dir>/cbt.db",
        "`sqlite://…` or `postgres://…` (add `sslmode=verify-full&sslrootcert=<ca.pem>` for TLS; a server on this machine is reached without TLS unless `sslmode` asks).",
    ),
    ("CBT_ALLOW_SQLITE_IN_PRODUCTION", "false", "Run production on SQLite deliberately (a single node, no scale-out)."),
    ("CBT_DATABASE_MAX_CONNECTIONS", "16", "PostgreSQL connection pool size per instance."),
    ("CBT_TRUSTED_PROXIES", "(none)", "Comma-separated IPs of TLS-terminating proxies in front of the app."),
    ("CBT_BODY_LIMIT_BYTES", "1048576", "Largest request body accepted (larger gets 413)."),
    ("CBT_REQUEST_TIMEOUT_SECONDS", "30", "Longest a request may run before it is answered with 503."),
    ("CBT_PASSWORD_HASH_COST", "12", "bcrypt cost; at least 12 in production (lower only to speed up local tests)."),
    (
        "CBT_PASSWORD_HASH_WORKERS",
        "1",
        "Password hashes computed at once (the rest queue, so sign-in floods cannot starve other requests).",
    ),
    ("CBT_GOOGLE_CLIENT_ID", "(none)", "OAuth client id for \"Sign in with Google\" (off when unset)."),
    ("CBT_GOOGLE_CLIENT_SECRET[_FILE]", "(none)", "OAuth client secret for Google sign-in."),
    ("CBT_GOOGLE_ISSUER_URL", "https://accounts.google.com", "OpenID provider (Google's unless testing)."),
    ("CBT_REQUIRE_MFA", "false", "Every account must set up two-step sign-in (TOTP) before using the app."),
    (
        "CBT_REQUESTS_PER_IP",
        "2000",
        "Requests one IP address may make per 5 minutes (health checks and static files not counted).",
    ),
    ("CBT_CLIENT_LINK_DAYS", "7", "Days a client self-report link (a questionnaire sent to a client) works, 1 to 30."),
    (
        "CBT_CLIENT_LINK_REQUESTS_PER_IP",
        "30",
        "Openings and submissions of client links one IP address may make per 10 minutes; then 10 minutes' pause.",
    ),
    (
        "CBT_SMTP_HOST",
        "(none)",
        "Mail server. Unset locally: mails are written to `<data_dir>/outbox/` instead. Required in production.",
    ),
    ("CBT_SMTP_PORT", "465 / 587 / 25", "Mail server port (default by security mode)."),
    ("CBT_SMTP_SECURITY", "tls", "`tls` (implicit TLS), `starttls` (required) or `plain` (loopback only)."),
    ("CBT_SMTP_USERNAME", "(none)", "Mail server user name."),
    ("CBT_SMTP_PASSWORD[_FILE]", "(none)", "Mail server password."),
    ("CBT_MAIL_FROM", "CBT Assistant Pro <no-reply@localhost>", "Sender of every email."),
    (
        "CBT_LLM_PROVIDER",
        "off",
        "Language model for AI-assisted drafts: `off` (rule-based drafting, nothing leaves the server), `openai`, `azure-openai`, `self-hosted` (vLLM, llama.cpp, Ollama) or `local` (a model run inside this server; a build with the cargo feature `local-llm`).",
    ),
    (
        "CBT_LLM_ENDPOINT",
        "(none)",
        "The API base (`https://api.openai.com/v1`, `http://127.0.0.1:11434/v1`) or the Azure resource (`https://<name>.openai.azure.com`); https, or http on loopback.",
    ),
    ("CBT_LLM_MODEL", "(none)", "The model, or for Azure OpenAI the deployment's name."),
    (
        "CBT_LLM_MODEL_FILE",
        "(none)",
        "`local`: path of the GGUF chat model (llama family, ChatML template). Nothing leaves the server, so `CBT_LLM_BAA` is not needed.",
    ),
    ("CBT_LLM_API_VERSION", "2024-10-21", "Azure OpenAI's `api-version`."),
    (
        "CBT_LLM_AUTH",
        "auto",
        "`bearer` (`Authorization: Bearer`; OpenAI, self-hosted, a Microsoft Entra token) or `api-key` (Azure's header); `auto`: `api-key` for Azure, else `bearer`.",
    ),
    (
        "CBT_LLM_API_KEY[_FILE]",
        "(none)",
        "The key or token sent to the language model (may be empty for a self-hosted one).",
    ),
    (
        "CBT_LLM_BAA",
        "false",
        "`true` states that the provider is covered by a business associate agreement. Without it the model is never called and drafts stay rule-based.",
    ),
    (
        "CBT_LLM_ANSWER_TOKENS",
        "2000",
        "The longest answer a draft may have, in tokens; an answer cut off there is refused as unusable. Lower it for a slow local model.",
    ),
    (
        "CBT_LLM_CALLS_PER_MINUTE",
        "6",
        "AI drafts one account may ask for in a minute; more are refused with a message to wait.",
    ),
    (
        "CBT_LLM_TOKENS_PER_MONTH",
        "2000000",
        "Tokens (prompt and answer) one account's AI drafts may use in 30 days; then drafts are rule-based until it frees up.",
    ),
    ("CBT_LOG_FORMAT", "auto", "`auto` (JSON in production, text locally), `json` or `text`."),
    ("CBT_LOG_LEVEL", "info", "Log filter, e.g. `info` or `cbt_web=debug,info`."),
    ("CBT_SESSION_SECRET[_FILE]", "generated locally", "Key for session tokens (at least 32 bytes)."),
    ("CBT_CSRF_SECRET[_FILE]", "generated locally", "Key for CSRF tokens (at least 32 bytes)."),
    ("CBT_JWT_SECRET[_FILE]", "generated locally", "HS256 key for signed links (at least 32 bytes)."),
    (
        "CBT_AUDIT_KEY[_FILE]",
        "generated locally",
        "Key of the audit log's hash chain (at least 32 bytes). Keep it: without it the log cannot be verified.",
    ),
    (
        "CBT_KEY_PROVIDER",
        "local",
        "Who holds the key-encryption key (KEK) that wraps each account's data key: `local` (a file) or `aws-kms`.",
    ),
    (
        "CBT_KEK_DIR",
        "<data_dir>/keys",
        "`local`: folder of the KEK versions (`kek-v1.key`, …; 0600). Generated locally; production generates nothing.",
    ),
    (
        "CBT_ALLOW_LOCAL_KEK_IN_PRODUCTION",
        "false",
        "Allow the `local` key provider in production (a KEK file you provision and back up apart from the database).",
    ),
    ("CBT_KMS_KEY_ID", "(none)", "`aws-kms`: id or ARN of the KMS key; new data keys are wrapped under it."),
    ("CBT_KMS_REGION", "(none)", "`aws-kms`: the key's AWS region. Credentials come from the usual AWS chain."),
    ("CBT_KMS_ENDPOINT", "(none)", "`aws-kms`: another KMS endpoint (https; http only on loopback, for tests)."),
    ("CBT_FILE_STORE", "folder", "Where sealed files go: `folder` (`CBT_FILE_DIR`) or `s3`."),
    ("CBT_FILE_DIR", "<data_dir>/blobs", "`folder`: the folder of sealed files (0700)."),
    ("CBT_S3_BUCKET", "(none)", "`s3`: the bucket (turn versioning on: every version of every file is kept)."),
    ("CBT_S3_REGION", "(none)", "`s3`: the bucket's region. Credentials come from the usual AWS environment."),
    ("CBT_S3_ENDPOINT", "(none)", "`s3`: another S3-compatible endpoint (https; http only on loopback, for tests)."),
    (
        "CBT_S3_SSE_KMS_KEY_ID",
        "(none)",
        "`s3`: KMS key for the bucket's server-side encryption (SSE-KMS) of each object.",
    ),
];

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub env: Environment,
    pub bind: SocketAddr,
    pub public_url: String,
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    pub allow_sqlite_in_production: bool,
    pub database_max_connections: u32,
    pub trusted_proxies: String,
    pub body_limit_bytes: usize,
    pub request_timeout_seconds: u64,
    pub log_format: LogFormat,
    pub log_level: String,
    pub password_hash_cost: u32,
    pub password_hash_workers: usize,
    pub require_mfa: bool,
    pub google_client_id: Option<String>,
    pub google_client_secret: Option<String>,
    pub google_client_secret_file: Option<PathBuf>,
    pub google_issuer_url: String,
    pub requests_per_ip: u32,
    pub client_link_days: u32,
    pub client_link_requests_per_ip: u32,
    pub smtp_host: Option<String>,
    pub smtp_port: Option<u16>,
    pub smtp_security: String,
    pub smtp_username: Option<String>,
    pub smtp_password: Option<String>,
    pub smtp_password_file: Option<PathBuf>,
    pub mail_from: String,
    pub llm_provider: String,
    pub llm_endpoint: Option<String>,
    pub llm_model: Option<String>,
    pub llm_model_file: Option<PathBuf>,
    pub llm_api_version: String,
    pub llm_auth: String,
    pub llm_api_key: Option<String>,
    pub llm_api_key_file: Option<PathBuf>,
    pub llm_baa: bool,
    pub llm_tokens_per_month: i64,
    pub llm_calls_per_minute: u32,
    pub llm_answer_tokens: u32,
    pub session_secret: Option<String>,
    pub session_secret_file: Option<PathBuf>,
    pub csrf_secret: Option<String>,
    pub csrf_secret_file: Option<PathBuf>,
    pub jwt_secret: Option<String>,
    pub jwt_secret_file: Option<PathBuf>,
    pub audit_key: Option<String>,
    pub audit_key_file: Option<PathBuf>,
    pub key_provider: String,
    pub kek_dir: Option<PathBuf>,
    pub allow_local_kek_in_production: bool,
    pub kms_key_id: Option<String>,
    pub kms_region: Option<String>,
    pub kms_endpoint: Option<String>,
    pub file_store: String,
    pub file_dir: Option<PathBuf>,
    pub s3_bucket: Option<String>,
    pub s3_region: Option<String>,
    pub s3_endpoint: Option<String>,
    pub s3_sse_kms_key_id: Option<String>,
    /// Set by `CBT_CONFIG`; read before the rest.
    pub config: Option<PathBuf>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            env: Environment::Local,
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: "http://127.0.0.1:8080".into(),
            data_dir: PathBuf::from("./data"),
            database_url: None,
            allow_sqlite_in_production: false,
            database_max_connections: 16,
            trusted_proxies: String::new(),
            body_limit_bytes: 1024 * 1024,
            request_timeout_seconds: 30,
            log_format: LogFormat::Auto,
            log_level: "info".into(),
            password_hash_cost: 12,
            password_hash_workers: 1,
            require_mfa: false,
            google_client_id: None,
            google_client_secret: None,
            google_client_secret_file: None,
            google_issuer_url: "https://accounts.google.com".into(),
            requests_per_ip: 2_000,
            client_link_days: 7,
            client_link_requests_per_ip: 30,
            smtp_host: None,
            smtp_port: None,
            smtp_security: "tls".into(),
            smtp_username: None,
            smtp_password: None,
            smtp_password_file: None,
            mail_from: "CBT Assistant Pro <no-reply@localhost>".into(),
            llm_provider: "off".into(),
            llm_endpoint: None,
            llm_model: None,
            llm_model_file: None,
            llm_api_version: cbt_llm::AZURE_API_VERSION.into(),
            llm_auth: "auto".into(),
            llm_api_key: None,
            llm_api_key_file: None,
            llm_baa: false,
            llm_tokens_per_month: 2_000_000,
            llm_calls_per_minute: 6,
            llm_answer_tokens: 2_000,
            session_secret: None,
            session_secret_file: None,
            csrf_secret: None,
            csrf_secret_file: None,
            jwt_secret: None,
            jwt_secret_file: None,
            audit_key: None,
            audit_key_file: None,
            key_provider: "local".into(),
            kek_dir: None,
            allow_local_kek_in_production: false,
            kms_key_id: None,
            kms_region: None,
            kms_endpoint: None,
            file_store: "folder".into(),
            file_dir: None,
            s3_bucket: None,
            s3_region: None,
            s3_endpoint: None,
            s3_sse_kms_key_id: None,
            config: None,
        }
    }
}

/// A setting that stops start-up. Displayed as one line naming it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem(pub String);

impl std::fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Settings {
    /// Reads defaults, then the TOML file (from `config_file` or
    /// `CBT_CONFIG`), then the environment.
    pub fn load(config_file: Option<&Path>) -> Result<Self, ConfigProblem> {
        let env_file = std::env::var_os("CBT_CONFIG").map(PathBuf::from);
        let file = config_file.map(Path::to_path_buf).or(env_file);
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(file) = &file {
            if !file.exists() {
                return Err(ConfigProblem(format!("CBT_CONFIG: the file {} does not exist", file.display())));
            }
            figment = figment.merge(Toml::file(file));
        }
        figment = figment.merge(Env::raw().only(&["DATABASE_URL"])).merge(Env::prefixed("CBT_").ignore(&["CONFIG"]));
        figment.extract::<Settings>().map_err(|e| ConfigProblem(describe_figment_error(&e))).map(|mut s| {
            s.config = file;
            s
        })
    }

    pub fn is_production(&self) -> bool {
        self.env == Environment::Production
    }

    /// `sqlite://<data_dir>/cbt.db` unless a URL is set.
    pub fn effective_database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("cbt.db").display()))
    }

    /// `CBT_FILE_DIR`, else `<data_dir>/blobs`.
    pub fn effective_file_dir(&self) -> PathBuf {
        self.file_dir.clone().unwrap_or_else(|| self.data_dir.join("blobs"))
    }

    /// `CBT_KEK_DIR`, else `<data_dir>/keys`.
    pub fn effective_kek_dir(&self) -> PathBuf {
        self.kek_dir.clone().unwrap_or_else(|| self.data_dir.join("keys"))
    }

    pub fn https(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    /// `scheme://host[:port]` of the public URL.
    pub fn public_origin(&self) -> String {
        let url = self.public_url.trim_end_matches('/');
        match url.find("://") {
            Some(i) => match url[i + 3..].find('/') {
                Some(slash) => url[..i + 3 + slash].to_owned(),
                None => url.to_owned(),
            },
            None => url.to_owned(),
        }
    }

    pub fn trusted_proxy_list(&self) -> Result<Vec<IpAddr>, ConfigProblem> {
        self.trusted_proxies
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<IpAddr>()
                    .map_err(|_| ConfigProblem(format!("CBT_TRUSTED_PROXIES: `{s}` is not an IP address")))
            })
            .collect()
    }

    /// Problems with the non-secret settings (secrets are checked by
    /// `secrets::resolve`).
    pub fn problems(&self) -> Vec<ConfigProblem> {
        let mut out = Vec::new();
        let proxies = match self.trusted_proxy_list() {
            Ok(p) => p,
            Err(e) => {
                out.push(e);
                Vec::new()
            }
        };
        if !(self.public_url.starts_with("http://") || self.public_url.starts_with("https://")) {
            out.push(ConfigProblem("CBT_PUBLIC_URL must start with http:// or https://".into()));
        }
        if self.body_limit_bytes < 1024 {
            out.push(ConfigProblem("CBT_BODY_LIMIT_BYTES must be at least 1024".into()));
        }
        if !(1..=30).contains(&self.client_link_days) {
            out.push(ConfigProblem("CBT_CLIENT_LINK_DAYS must be between 1 and 30".into()));
        }
        if self.client_link_requests_per_ip == 0 {
            out.push(ConfigProblem("CBT_CLIENT_LINK_REQUESTS_PER_IP must be at least 1".into()));
        }
        if self.request_timeout_seconds == 0 {
            out.push(ConfigProblem("CBT_REQUEST_TIMEOUT_SECONDS must be at least 1".into()));
        }
        if !(4..=31).contains(&self.password_hash_cost) {
            out.push(ConfigProblem("CBT_PASSWORD_HASH_COST must be between 4 and 31".into()));
        }
        if self.password_hash_workers == 0 {
            out.push(ConfigProblem("CBT_PASSWORD_HASH_WORKERS must be at least 1".into()));
        }
        match self.key_provider.as_str() {
            "local" => {}
            "aws-kms" => {
                if self.kms_key_id.as_deref().is_none_or(str::is_empty) {
                    out.push(ConfigProblem(
                        "CBT_KMS_KEY_ID is not set (the aws-kms key provider needs the KMS key's id or ARN)".into(),
                    ));
                }
                if self.kms_region.as_deref().is_none_or(str::is_empty) {
                    out.push(ConfigProblem("CBT_KMS_REGION is not set (the aws-kms key provider needs it)".into()));
                }
            }
            other => out.push(ConfigProblem(format!("CBT_KEY_PROVIDER must be `local` or `aws-kms`, not `{other}`"))),
        }
        match self.file_store.as_str() {
            "folder" => {}
            "s3" => {
                for (name, value) in [("CBT_S3_BUCKET", &self.s3_bucket), ("CBT_S3_REGION", &self.s3_region)] {
                    if value.as_deref().is_none_or(str::is_empty) {
                        out.push(ConfigProblem(format!("{name} is not set (the s3 file store needs it)")));
                    }
                }
            }
            other => out.push(ConfigProblem(format!("CBT_FILE_STORE must be `folder` or `s3`, not `{other}`"))),
        }
        match self.llm_provider.as_str() {
            "off" => {}
            "openai" | "azure-openai" | "self-hosted" => {
                for (name, value) in [("CBT_LLM_ENDPOINT", &self.llm_endpoint), ("CBT_LLM_MODEL", &self.llm_model)] {
                    if value.as_deref().is_none_or(|v| v.trim().is_empty()) {
                        out.push(ConfigProblem(format!("{name} is not set (CBT_LLM_PROVIDER needs it)")));
                    }
                }
            }
            "local" if !cfg!(feature = "local-llm") => out.push(ConfigProblem(
                "CBT_LLM_PROVIDER is `local`, but this build cannot run a model (build it with the cargo feature `local-llm`: cargo build --release --features local-llm)".into(),
            )),
            "local" => {
                if self.llm_model_file.as_ref().is_none_or(|f| f.as_os_str().is_empty()) {
                    out.push(ConfigProblem("CBT_LLM_MODEL_FILE is not set (CBT_LLM_PROVIDER=local needs it)".into()));
                }
            }
            other => out.push(ConfigProblem(format!(
                "CBT_LLM_PROVIDER must be `off`, `openai`, `azure-openai`, `self-hosted` or `local`, not `{other}`"
            ))),
        }
        if self.llm_answer_tokens == 0 {
            out.push(ConfigProblem("CBT_LLM_ANSWER_TOKENS must be at least 1".into()));
        }
        if self.llm_tokens_per_month < 0 {
            out.push(ConfigProblem("CBT_LLM_TOKENS_PER_MONTH must not be negative".into()));
        }
        if !matches!(self.llm_auth.as_str(), "auto" | "bearer" | "api-key") {
            out.push(ConfigProblem(format!(
                "CBT_LLM_AUTH must be `auto`, `bearer` or `api-key`, not `{}`",
                self.llm_auth
            )));
        }
        let url = self.effective_database_url();
        let postgres = url.starts_with("postgres://") || url.starts_with("postgresql://");
        if !postgres && !url.starts_with("sqlite:") {
            out.push(ConfigProblem("DATABASE_URL must start with sqlite:// or postgres://".into()));
        }
        if !self.is_production() {
            return out;
        }
        match &self.database_url {
            None => out.push(ConfigProblem(
                "DATABASE_URL is not set (production needs a PostgreSQL URL; nothing is assumed)".into(),
            )),
            Some(_) if !postgres && !self.allow_sqlite_in_production => out.push(ConfigProblem(
                "DATABASE_URL is not a PostgreSQL URL (set CBT_ALLOW_SQLITE_IN_PRODUCTION=true to run one node on SQLite deliberately)".into(),
            )),
            Some(url) if postgres && !cbt_store_postgres::transport_is_safe(url) => out.push(ConfigProblem(
                "DATABASE_URL reaches a PostgreSQL server on another machine without checking its certificate; add sslmode=verify-full&sslrootcert=<ca.pem>".into(),
            )),
            _ => {}
        }
        if self.key_provider == "local" && !self.allow_local_kek_in_production {
            out.push(ConfigProblem(
                "CBT_KEY_PROVIDER is `local` (production needs `aws-kms`; set CBT_ALLOW_LOCAL_KEK_IN_PRODUCTION=true to keep a provisioned KEK file deliberately)".into(),
            ));
        }
        if !self.https() {
            out.push(ConfigProblem("CBT_PUBLIC_URL must be an https:// URL in production".into()));
        }
        if self.password_hash_cost < 12 {
            out.push(ConfigProblem("CBT_PASSWORD_HASH_COST must be at least 12 in production".into()));
        }
        if self.smtp_host.is_none() {
            out.push(ConfigProblem(
                "CBT_SMTP_HOST is not set (production sends verification and password-reset emails)".into(),
            ));
        }
        if !self.bind.ip().is_loopback() && proxies.is_empty() {
            out.push(ConfigProblem(format!(
                "CBT_BIND {} is a public plain-HTTP address; bind to loopback behind a TLS proxy, or list that proxy in CBT_TRUSTED_PROXIES",
                self.bind
            )));
        }
        out
    }
}

/// Figment names the key and the expected type; keep that, on one line.
fn describe_figment_error(e: &figment::Error) -> String {
    let key = e.path.join(".");
    let line = e.to_string().replace('\n', " ");
    if key.is_empty() { format!("configuration error: {line}") } else { format!("CBT_{}: {line}", key.to_uppercase()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn production() -> Settings {
        Settings {
            env: Environment::Production,
            public_url: "https://cbt.example.org".into(),
            database_url: Some("postgres://db.internal/cbt?sslmode=verify-full".into()),
            smtp_host: Some("smtp.example.org".into()),
            key_provider: "aws-kms".into(),
            kms_key_id: Some("alias/cbt".into()),
            kms_region: Some("eu-west-1".into()),
            ..Settings::default()
        }
    }

    #[test]
    fn aws_kms_needs_a_key_and_a_region() {
        let s = Settings { kms_key_id: None, kms_region: None, ..production() };
        let problems: Vec<String> = s.problems().iter().map(ToString::to_string).collect();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with("CBT_KMS_KEY_ID is not set"));
        assert!(problems[1].starts_with("CBT_KMS_REGION is not set"));
        let local = Settings { key_provider: "local".into(), allow_local_kek_in_production: true, ..production() };
        assert_eq!(local.problems(), vec![], "a deliberate local KEK");
    }

    #[test]
    fn production_with_postgres_https_and_loopback_bind_is_fine() {
        assert_eq!(production().problems(), vec![]);
    }

    #[test]
    fn production_refuses_a_remote_postgres_without_certificate_checks() {
        for url in ["postgres://db.internal/cbt", "postgres://db.internal/cbt?sslmode=require"] {
            let s = Settings { database_url: Some(url.into()), ..production() };
            let problems = s.problems();
            assert_eq!(problems.len(), 1, "{url}");
            assert!(problems[0].0.contains("sslmode=verify-full"), "{url}");
        }
        for url in [
            "postgres://db.internal/cbt?sslmode=verify-ca&sslrootcert=/etc/ca.pem",
            "postgres://127.0.0.1:5432/cbt",
            "postgres://localhost/cbt",
            "postgres://[::1]:5432/cbt",
            "postgres:///cbt?host=/run/postgresql",
        ] {
            assert_eq!(Settings { database_url: Some(url.into()), ..production() }.problems(), vec![], "{url}");
        }
    }

    #[test]
    fn production_refuses_sqlite_without_override() {
        let s = Settings { database_url: Some("sqlite:///var/lib/cbt/cbt.db".into()), ..production() };
        let problems = s.problems();
        assert_eq!(problems.len(), 1);
        assert!(problems[0].0.starts_with("DATABASE_URL"));
        let s = Settings { allow_sqlite_in_production: true, ..s };
        assert_eq!(s.problems(), vec![]);
    }

    #[test]
    fn production_refuses_missing_database_url() {
        let s = Settings { database_url: None, ..production() };
        assert!(s.problems().iter().any(|p| p.0.starts_with("DATABASE_URL is not set")));
    }

    #[test]
    fn production_refuses_public_plain_http_bind() {
        let s = Settings { bind: "0.0.0.0:8080".parse().unwrap_or(production().bind), ..production() };
        assert!(s.problems().iter().any(|p| p.0.starts_with("CBT_BIND")));
        let s = Settings { trusted_proxies: "10.0.0.5".into(), ..s };
        assert_eq!(s.problems(), vec![]);
        let s = Settings { public_url: "http://cbt.example.org".into(), ..production() };
        assert!(s.problems().iter().any(|p| p.0.starts_with("CBT_PUBLIC_URL")));
    }

    #[test]
    fn a_language_model_needs_its_endpoint_and_model_and_known_names() {
        let named = |s: Settings, name: &str| s.problems().iter().any(|p| p.0.starts_with(name));
        let openai = Settings { llm_provider: "openai".into(), ..Settings::default() };
        assert!(named(openai.clone(), "CBT_LLM_ENDPOINT") && named(openai, "CBT_LLM_MODEL"));
        assert!(named(Settings { llm_provider: "gpt".into(), ..Settings::default() }, "CBT_LLM_PROVIDER"));
        assert!(named(Settings { llm_auth: "basic".into(), ..Settings::default() }, "CBT_LLM_AUTH"));
        let complete = Settings {
            llm_provider: "azure-openai".into(),
            llm_endpoint: Some("https://contoso.openai.azure.com".into()),
            llm_model: Some("notes".into()),
            ..Settings::default()
        };
        assert_eq!(complete.problems(), vec![]);
    }

    #[test]
    fn a_local_model_needs_the_feature_and_its_file() {
        let local = Settings { llm_provider: "local".into(), ..Settings::default() };
        let problems: Vec<String> = local.problems().iter().map(ToString::to_string).collect();
        if cfg!(feature = "local-llm") {
            assert_eq!(problems.len(), 1, "{problems:?}");
            assert!(problems[0].starts_with("CBT_LLM_MODEL_FILE is not set"), "{problems:?}");
            let with_file = Settings { llm_model_file: Some("/models/m.gguf".into()), ..local };
            assert_eq!(with_file.problems(), vec![]);
        } else {
            assert_eq!(problems.len(), 1, "{problems:?}");
            assert!(problems[0].contains("cargo feature `local-llm`"), "{problems:?}");
        }
    }

    #[test]
    fn local_defaults_are_fine() {
        assert_eq!(Settings::default().problems(), vec![]);
    }
}

#[cfg(test)]
mod readme {
    /// Every documented setting appears in the README's settings table.
    #[test]
    fn readme_documents_every_setting() {
        let readme = include_str!("../../../README.md");
        for (name, default, _) in super::SETTINGS {
            let first = name.split(' ').next().unwrap_or(name);
            assert!(readme.contains(&format!("`{first}")), "README lacks {name}");
            let default = default.trim_start_matches('(').trim_end_matches(')');
            assert!(readme.contains(default), "README lacks the default of {name}: {default}");
        }
    }

    /// Every field of `Settings` has a line in `SETTINGS` (so in the README).
    #[test]
    fn every_setting_is_documented() {
        let fields = serde_json::to_value(super::Settings::default()).unwrap_or_default();
        for key in fields.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()).unwrap_or_default() {
            let env = format!("CBT_{}", key.trim_end_matches("_file").to_uppercase());
            assert!(super::SETTINGS.iter().any(|(name, _, _)| name.contains(&env)), "{env} is not documented");
        }
    }
}
