//! Use cases: one function per action a therapist, an operator or the
//! system takes.
//!
//! A use case authorises, loads, applies domain rules, and writes its change
//! together with the audit event that records it in one store transaction.
//! It knows no HTTP and no SQL.

pub mod accounts;
pub mod assessments;
mod audit_log;
pub mod case_drafts;
pub mod client_dashboard;
pub mod client_links;
pub mod clients;
pub mod demo;
pub mod drafts;
mod error;
pub mod files;
pub mod instruments;
pub mod keys;
pub mod passwords;
mod read_audit;
pub mod records;
pub mod schedules;
pub mod session_notes;
mod signed_links;
mod system;
pub mod treatment_plans;
pub mod worksheets;

use std::sync::Arc;

use cbt_domain::audit::AuditKey;
use cbt_ports::{BlobStore, Clock, KeyProvider, Mailer, Store};

pub use audit_log::AuditVerification;
pub use error::AppError;
use passwords::PasswordHasher;
use signed_links::LinkSigner;

/// Deployment choices the use cases follow.
#[derive(Clone, Debug)]
pub struct AppSettings {
    /// Base of every link in an email, e.g. `https://cbt.example.org`.
    pub public_url: String,
    /// bcrypt cost (12 unless configured higher; tests may go lower).
    pub password_hash_cost: u32,
    /// bcrypt hashes allowed to run at once.
    pub password_hash_workers: usize,
    /// Requests per IP address per 5 minutes (checklist 5; 2,000 default).
    pub requests_per_ip: u32,
    /// How long a client self-report link works (7 days by default).
    pub client_link_lifetime: time::Duration,
    /// Openings and submissions of client links per IP address
    /// (`client_link::PER_IP` unless configured).
    pub client_link_rule: cbt_domain::tokens::RateRule,
    /// Tokens (prompt and answer) an account's AI drafts may use in 30
    /// days.
    pub ai_tokens_per_month: i64,
    /// Model calls one account may start in a minute.
    pub ai_calls_per_minute: u32,
    /// The longest answer a draft may have, in tokens (an answer cut off
    /// there is unusable, and said so).
    pub ai_answer_tokens: u32,
}

/// The keys the use cases need, from the server's secrets.
pub struct AppKeys<'a> {
    pub audit: &'a [u8],
    /// Signs links (HS256).
    pub links: &'a [u8],
    /// Keys the recovery-code hashes (changing it voids unused codes).
    pub recovery_pepper: &'a [u8],
}

/// The ports the use cases run on.
pub struct AppPorts {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub mailer: Arc<dyn Mailer>,
    /// Wraps and unwraps each account's data key.
    pub keys: Arc<dyn KeyProvider>,
    /// Where sealed files are kept.
    pub files: Arc<dyn BlobStore>,
    /// The language model that drafts, when one is configured (otherwise
    /// drafts are rule-based).
    pub llm: Option<Arc<dyn cbt_ports::Llm>>,
}

/// Everything a use case needs, shared by all requests.
#[derive(Clone)]
pub struct App {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    mailer: Arc<dyn Mailer>,
    audit_key: Arc<AuditKey>,
    hasher: PasswordHasher,
    links: Arc<LinkSigner>,
    keys: Arc<dyn KeyProvider>,
    files: Arc<dyn BlobStore>,
    llm: Option<Arc<dyn cbt_ports::Llm>>,
    key_cache: Arc<keys::KeyCache>,
    /// Reads' audit events, written by group commit.
    read_audit: Arc<read_audit::ReadAudit>,
    lockouts: Arc<accounts::Lockouts>,
    recovery_pepper: Arc<cbt_mfa::RecoveryPepper>,
    settings: Arc<AppSettings>,
}

impl App {
    pub fn new(ports: AppPorts, keys: AppKeys<'_>, settings: AppSettings) -> Result<Self, AppError> {
        let hasher = PasswordHasher::new(settings.password_hash_cost, settings.password_hash_workers)?;
        let audit_key = Arc::new(AuditKey::new(keys.audit));
        Ok(Self {
            read_audit: Arc::new(read_audit::ReadAudit::new(ports.store.clone(), audit_key.clone())),
            store: ports.store,
            clock: ports.clock,
            mailer: ports.mailer,
            audit_key,
            hasher,
            links: Arc::new(LinkSigner::new(keys.links)),
            keys: ports.keys,
            files: ports.files,
            llm: ports.llm,
            key_cache: Arc::new(keys::KeyCache::default()),
            lockouts: Arc::new(accounts::Lockouts::default()),
            recovery_pepper: Arc::new(
                cbt_mfa::RecoveryPepper::new(keys.recovery_pepper).map_err(|e| AppError::Internal(e.to_string()))?,
            ),
            settings: Arc::new(settings),
        })
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    pub fn settings(&self) -> &AppSettings {
        &self.settings
    }
}
