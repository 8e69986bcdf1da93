//! The mail port: how the product sends email (verification links,
//! password resets, security notifications).

use async_trait::async_trait;

/// One plain-text email to one recipient.
#[derive(Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    pub to: String,
    pub subject: String,
    /// Plain text. May hold a one-time link: never logged.
    pub text: String,
}

impl std::fmt::Debug for OutgoingMail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The address is personal data and the body may hold a token.
        f.debug_struct("OutgoingMail").field("subject", &self.subject).finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The mail server or folder could not take the message now.
    #[error("mail not sent: {0}")]
    Unavailable(String),
    /// The message itself was refused (bad address, policy).
    #[error("mail refused: {0}")]
    Rejected(String),
}

#[async_trait]
pub trait Mailer: Send + Sync + 'static {
    async fn send(&self, mail: OutgoingMail) -> Result<(), MailError>;
}
