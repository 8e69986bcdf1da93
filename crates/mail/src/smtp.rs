//! [`SmtpMailer`]: sends through an SMTP server with lettre.

use async_trait::async_trait;
use cbt_ports::{MailError, Mailer, OutgoingMail};
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::message;
use crate::settings::{self, MailSettingsError, SmtpSecurity, SmtpSettings};

/// Sends each message over its own SMTP connection (no pool: the product
/// sends a few messages an hour, and a fresh connection never goes stale).
///
/// TLS is rustls (aws-lc-rs) verifying against the Mozilla root
/// certificates built into the binary, TLS 1.2 at least.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// `host:port`, for error messages.
    server: String,
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpMailer").field("server", &self.server).finish_non_exhaustive()
    }
}

impl SmtpMailer {
    /// Checks the settings (see [`MailSettingsError`]) and prepares the
    /// transport. Connects to nothing: a wrong host or password shows on
    /// the first send.
    pub fn new(settings: SmtpSettings) -> Result<Self, MailSettingsError> {
        let host = settings::check(&settings)?;
        let from = message::parse_from(&settings.from)?;
        let tls = match settings.security {
            SmtpSecurity::Plain => Tls::None,
            SmtpSecurity::Tls => Tls::Wrapper(tls_parameters(&host)?),
            SmtpSecurity::StartTls => Tls::Required(tls_parameters(&host)?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.clone())
            .port(settings.port)
            .tls(tls)
            .timeout(Some(settings.timeout));
        if let (Some(username), Some(password)) = (settings.username, settings.password) {
            builder = builder.credentials(Credentials::new(username, password));
        }
        let server = if host.contains(':') {
            format!("[{host}]:{}", settings.port)
        } else {
            format!("{host}:{}", settings.port)
        };
        Ok(Self { transport: builder.build(), from, server })
    }
}

fn tls_parameters(host: &str) -> Result<TlsParameters, MailSettingsError> {
    TlsParameters::new_rustls(host.to_owned())
        .map_err(|e| MailSettingsError::Tls { host: host.to_owned(), reason: e.to_string() })
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: OutgoingMail) -> Result<(), MailError> {
        let message = message::build(&self.from, &mail)?;
        match self.transport.send(message).await {
            Ok(_) => {
                tracing::info!(server = %self.server, subject = %mail.subject, "mail sent");
                Ok(())
            }
            Err(err) => Err(map_error(&err, &self.server, &mail.to)),
        }
    }
}

/// SMTP reply codes about authentication: the mailer's settings are wrong,
/// not the message.
const AUTH_CODES: [u16; 4] = [530, 534, 535, 538];

/// Maps a lettre error to the port's error. Server replies are never
/// quoted: they often repeat the recipient address (`550 <jane@…>: no such
/// user`). Lower-level causes (I/O, TLS) are quoted unless they contain
/// something that looks like an address.
fn map_error(err: &lettre::transport::smtp::Error, server: &str, recipient: &str) -> MailError {
    let cause = || {
        let mut text = String::new();
        let mut source = std::error::Error::source(err);
        while let Some(s) = source {
            text = s.to_string();
            source = s.source();
        }
        if text.is_empty() || text.contains('@') || (!recipient.is_empty() && text.contains(recipient)) {
            String::new()
        } else {
            format!(": {text}")
        }
    };
    if let Some(code) = err.status() {
        let number = u16::from(code);
        if AUTH_CODES.contains(&number) {
            return MailError::Unavailable(format!(
                "the SMTP server {server} refused to authenticate (reply {number}); check the SMTP username and password"
            ));
        }
        if err.is_permanent() {
            return MailError::Rejected(format!("the SMTP server {server} refused the message (reply {number})"));
        }
        return MailError::Unavailable(format!("the SMTP server {server} deferred the message (reply {number})"));
    }
    if err.is_timeout() {
        return MailError::Unavailable(format!("the SMTP server {server} did not answer in time"));
    }
    if err.is_tls() {
        return MailError::Unavailable(format!("TLS with the SMTP server {server} failed{}", cause()));
    }
    if err.is_response() {
        return MailError::Unavailable(format!("the SMTP server {server} sent a reply that could not be understood"));
    }
    if err.is_client() {
        // lettre's own refusals, e.g. "STARTTLS is not supported on this
        // server", "No compatible authentication mechanism was found".
        return MailError::Unavailable(format!("could not send through the SMTP server {server}{}", cause()));
    }
    MailError::Unavailable(format!("the connection to the SMTP server {server} failed{}", cause()))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn settings(host: &str, security: SmtpSecurity) -> SmtpSettings {
        SmtpSettings {
            host: host.to_owned(),
            port: security.default_port(),
            security,
            username: None,
            password: None,
            from: "CBT Assistant Pro <no-reply@example.org>".to_owned(),
            timeout: Duration::from_secs(5),
        }
    }

    #[test]
    fn plain_only_to_loopback() {
        let err = SmtpMailer::new(settings("mail.example.org", SmtpSecurity::Plain)).unwrap_err();
        assert!(matches!(err, MailSettingsError::PlainNotLoopback { .. }), "{err:?}");
        assert_eq!(err.field(), "security");
        let text = err.to_string();
        assert!(text.contains("`security`") && text.contains("mail.example.org"), "{text}");
        for host in ["127.0.0.1", "::1", "[::1]", "localhost"] {
            assert!(SmtpMailer::new(settings(host, SmtpSecurity::Plain)).is_ok(), "{host}");
        }
    }

    #[test]
    fn tls_and_starttls_build_for_a_remote_host() {
        let mailer = SmtpMailer::new(settings("mail.example.org", SmtpSecurity::Tls)).unwrap();
        assert_eq!(mailer.server, "mail.example.org:465");
        assert!(SmtpMailer::new(settings("mail.example.org", SmtpSecurity::StartTls)).is_ok());
    }

    #[test]
    fn bad_from_is_refused_naming_the_field() {
        let mut s = settings("mail.example.org", SmtpSecurity::StartTls);
        s.from = "CBT Assistant Pro".to_owned();
        let err = SmtpMailer::new(s).unwrap_err();
        assert_eq!(err.field(), "from");
        assert!(err.to_string().contains("`from`"), "{err}");
    }

    #[test]
    fn other_settings_are_checked() {
        let mut s = settings("mail.example.org", SmtpSecurity::StartTls);
        s.username = Some("app".to_owned());
        assert_eq!(SmtpMailer::new(s).unwrap_err().field(), "credentials");

        let mut s = settings("mail.example.org", SmtpSecurity::StartTls);
        s.password = Some("pw".to_owned());
        assert_eq!(SmtpMailer::new(s).unwrap_err().field(), "credentials");

        let mut s = settings("mail.example.org", SmtpSecurity::StartTls);
        s.port = 0;
        assert_eq!(SmtpMailer::new(s).unwrap_err().field(), "port");

        let mut s = settings("mail.example.org", SmtpSecurity::StartTls);
        s.timeout = Duration::ZERO;
        assert_eq!(SmtpMailer::new(s).unwrap_err().field(), "timeout");

        for host in ["", "  ", "mail example.org"] {
            assert_eq!(SmtpMailer::new(settings(host, SmtpSecurity::Tls)).unwrap_err().field(), "host", "{host:?}");
        }
    }

    #[tokio::test]
    async fn unreachable_server_is_unavailable_without_the_recipient() {
        // A port nothing listens on: bind, note the port, close.
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let mut s = settings("127.0.0.1", SmtpSecurity::Plain);
        s.port = port;
        let mailer = SmtpMailer::new(s).unwrap();
        let err = mailer
            .send(OutgoingMail {
                to: "jane.doe@example.org".to_owned(),
                subject: "Hi".to_owned(),
                text: "CANARY-body".to_owned(),
            })
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, MailError::Unavailable(_)), "{text}");
        assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
        assert!(!text.contains("jane") && !text.contains("CANARY"), "{text}");
    }
}
