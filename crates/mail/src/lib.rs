//! Mail adapters for the [`Mailer`](cbt_ports::Mailer) port.
//!
//! - [`SmtpMailer`] sends through an SMTP server (lettre, rustls with
//!   aws-lc-rs, Mozilla roots compiled in). Implicit TLS or required
//!   STARTTLS; unencrypted SMTP only to a loopback relay.
//! - [`OutboxMailer`] writes each message as an RFC 5322 `.eml` file into a
//!   private folder: the default in local mode, so someone trying the app
//!   can open the verification link without a mail server.
//! - `test_server` (cargo feature `test-server`, tests only): an in-process
//!   SMTP server that records what it receives.
//!
//! Neither adapter writes a recipient address or a body to the log or into
//! an error: bodies hold one-time links, addresses are personal data.

mod message;
mod outbox;
mod settings;
mod smtp;

#[cfg(feature = "test-server")]
pub mod test_server;

pub use outbox::OutboxMailer;
pub use settings::{MailSettingsError, SmtpSecurity, SmtpSettings};
pub use smtp::SmtpMailer;
