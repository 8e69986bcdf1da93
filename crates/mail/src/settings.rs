//! SMTP settings and the errors found when checking them (or the outbox).

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

/// How the connection to the SMTP server is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Implicit TLS from the first byte ("SMTPS", usually port 465).
    Tls,
    /// Plain connection upgraded with STARTTLS, which is required: the
    /// send fails if the server does not offer it (usually port 587).
    StartTls,
    /// No encryption. Only to a relay on this machine (`127.0.0.1`, `::1`,
    /// `localhost`); refused for any other host.
    Plain,
}

impl SmtpSecurity {
    /// The usual port for this kind of connection.
    pub fn default_port(self) -> u16 {
        match self {
            Self::Tls => 465,
            Self::StartTls => 587,
            Self::Plain => 25,
        }
    }

    /// The setting's spelling: `tls`, `starttls` or `plain`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tls => "tls",
            Self::StartTls => "starttls",
            Self::Plain => "plain",
        }
    }
}

impl std::fmt::Display for SmtpSecurity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for SmtpSecurity {
    type Err = MailSettingsError;

    /// `tls`, `starttls` or `plain`, in any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "tls" => Ok(Self::Tls),
            "starttls" => Ok(Self::StartTls),
            "plain" => Ok(Self::Plain),
            _ => Err(MailSettingsError::UnknownSecurity { value: s.to_owned() }),
        }
    }
}

/// Where and how [`SmtpMailer`](crate::SmtpMailer) sends. Checked by
/// [`SmtpMailer::new`](crate::SmtpMailer::new).
#[derive(Clone)]
pub struct SmtpSettings {
    /// Host name (checked against the server's certificate) or IP address.
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    /// Set together with `password`, or neither.
    pub username: Option<String>,
    pub password: Option<String>,
    /// The sender, e.g. `CBT Assistant Pro <no-reply@example.org>`.
    pub from: String,
    /// Limit for connecting and for each SMTP command.
    pub timeout: Duration,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .field("from", &self.from)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// A mail setting that cannot be used. Each names its field
/// ([`field`](Self::field)) so the caller can point at its own setting name.
#[derive(Debug, thiserror::Error)]
pub enum MailSettingsError {
    #[error("SMTP `host` is empty or contains whitespace")]
    InvalidHost,
    #[error("SMTP `port` must not be 0")]
    InvalidPort,
    #[error("SMTP `security` must be `tls`, `starttls` or `plain`, not {value:?}")]
    UnknownSecurity { value: String },
    #[error(
        "SMTP `security` is `plain` (unencrypted), which is only allowed when `host` is 127.0.0.1, ::1 or localhost, \
         not {host:?}; use `tls` or `starttls`"
    )]
    PlainNotLoopback { host: String },
    #[error("SMTP `username` and `password` must be set together (only `{only}` is set)")]
    IncompleteCredentials { only: &'static str },
    #[error("SMTP `timeout` must be more than zero")]
    InvalidTimeout,
    #[error("mail `from` is not a mailbox like `CBT Assistant Pro <no-reply@example.org>`: {reason}")]
    InvalidFrom { reason: String },
    #[error("SMTP `host` {host:?}: TLS could not be set up: {reason}")]
    Tls { host: String, reason: String },
    #[error("mail outbox folder {}: {source}", path.display())]
    OutboxFolder { path: PathBuf, source: std::io::Error },
}

impl MailSettingsError {
    /// The name of the offending field: `host`, `port`, `security`,
    /// `username`/`password` (as `credentials`), `timeout`, `from` or
    /// `outbox`.
    pub fn field(&self) -> &'static str {
        match self {
            Self::InvalidHost | Self::Tls { .. } => "host",
            Self::InvalidPort => "port",
            Self::UnknownSecurity { .. } | Self::PlainNotLoopback { .. } => "security",
            Self::IncompleteCredentials { .. } => "credentials",
            Self::InvalidTimeout => "timeout",
            Self::InvalidFrom { .. } => "from",
            Self::OutboxFolder { .. } => "outbox",
        }
    }
}

/// `localhost`, or an IP address in 127.0.0.0/8 or `::1` (brackets allowed).
pub(crate) fn is_loopback(host: &str) -> bool {
    let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    host.eq_ignore_ascii_case("localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The checks that need no I/O. Returns the host as lettre wants it
/// (without IPv6 brackets).
pub(crate) fn check(settings: &SmtpSettings) -> Result<String, MailSettingsError> {
    let host = settings.host.trim();
    if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(MailSettingsError::InvalidHost);
    }
    if settings.port == 0 {
        return Err(MailSettingsError::InvalidPort);
    }
    if settings.security == SmtpSecurity::Plain && !is_loopback(host) {
        return Err(MailSettingsError::PlainNotLoopback { host: host.to_owned() });
    }
    match (&settings.username, &settings.password) {
        (Some(_), None) => return Err(MailSettingsError::IncompleteCredentials { only: "username" }),
        (None, Some(_)) => return Err(MailSettingsError::IncompleteCredentials { only: "password" }),
        _ => {}
    }
    if settings.timeout.is_zero() {
        return Err(MailSettingsError::InvalidTimeout);
    }
    let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    Ok(bare.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        for host in ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost", "LOCALHOST"] {
            assert!(is_loopback(host), "{host}");
        }
        for host in ["mail.example.org", "10.0.0.1", "0.0.0.0", "::", "localhost.example.org", "127.0.0.1.nip.io", ""] {
            assert!(!is_loopback(host), "{host}");
        }
    }

    #[test]
    fn security_parses_and_prints() {
        for s in [SmtpSecurity::Tls, SmtpSecurity::StartTls, SmtpSecurity::Plain] {
            assert_eq!(s.to_string().parse::<SmtpSecurity>().unwrap(), s);
        }
        assert_eq!("STARTTLS".parse::<SmtpSecurity>().unwrap(), SmtpSecurity::StartTls);
        assert_eq!("ssl".parse::<SmtpSecurity>().unwrap_err().field(), "security");
    }

    #[test]
    fn debug_hides_the_password() {
        let settings = SmtpSettings {
            host: "mail.example.org".to_owned(),
            port: 587,
            security: SmtpSecurity::StartTls,
            username: Some("app".to_owned()),
            password: Some("CANARY-hunter2".to_owned()),
            from: "no-reply@example.org".to_owned(),
            timeout: Duration::from_secs(10),
        };
        let out = format!("{settings:?}");
        assert!(!out.contains("CANARY"), "{out}");
        assert!(out.contains("[redacted]"), "{out}");
    }
}
