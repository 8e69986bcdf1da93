//! Turning an [`OutgoingMail`] into an RFC 5322 message, shared by both
//! adapters so the SMTP server and the outbox see the same bytes.

use cbt_ports::{MailError, OutgoingMail};
use lettre::message::{Mailbox, SinglePart};
use lettre::{Address, Message};

use crate::settings::MailSettingsError;

/// Parses the `from` setting: a mailbox such as
/// `CBT Assistant Pro <no-reply@example.org>` or a bare address.
pub(crate) fn parse_from(from: &str) -> Result<Mailbox, MailSettingsError> {
    if from.chars().any(char::is_control) {
        return Err(MailSettingsError::InvalidFrom { reason: "it contains a control character".to_owned() });
    }
    from.trim().parse::<Mailbox>().map_err(|e| MailSettingsError::InvalidFrom { reason: e.to_string() })
}

/// Builds a `text/plain; charset=utf-8` message. lettre picks the
/// transfer encoding: 7bit for short ASCII lines, quoted-printable for long
/// lines or a little non-ASCII, base64 for mostly non-ASCII text. Headers
/// with non-ASCII are RFC 2047 `=?utf-8?b?…?=` words.
///
/// Errors never quote the recipient address or the body.
pub(crate) fn build(from: &Mailbox, mail: &OutgoingMail) -> Result<Message, MailError> {
    // A bare address only: no display name, nothing that could smuggle a
    // second recipient or a header.
    let to: Address =
        mail.to.trim().parse().map_err(|_| MailError::Rejected("the recipient address is not valid".to_owned()))?;
    if mail.subject.chars().any(char::is_control) {
        return Err(MailError::Rejected("the subject contains a control character".to_owned()));
    }
    // `<random@sender-domain>`, rather than lettre's default which names
    // this machine's host name.
    let message_id = format!("<{}@{}>", uuid::Uuid::new_v4().simple(), from.email.domain());
    Message::builder()
        .from(from.clone())
        .to(Mailbox::new(None, to))
        .subject(mail.subject.clone())
        .message_id(Some(message_id))
        .singlepart(SinglePart::plain(mail.text.clone()))
        .map_err(|e| MailError::Rejected(format!("the message could not be built: {}", kind_of(&e))))
}

/// The class of a builder error, without any address it might quote.
fn kind_of(err: &lettre::error::Error) -> &'static str {
    match err {
        lettre::error::Error::MissingFrom => "no sender",
        lettre::error::Error::MissingTo => "no recipient",
        lettre::error::Error::TooManyFrom => "more than one sender",
        lettre::error::Error::EmailMissingAt
        | lettre::error::Error::EmailMissingLocalPart
        | lettre::error::Error::EmailMissingDomain
        | lettre::error::Error::CannotParseFilename => "an address is not valid",
        lettre::error::Error::Io(_) | lettre::error::Error::NonAsciiChars => "an address could not be encoded",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(to: &str, subject: &str) -> OutgoingMail {
        OutgoingMail { to: to.to_owned(), subject: subject.to_owned(), text: "Hello".to_owned() }
    }

    #[test]
    fn from_accepts_a_mailbox_or_an_address() {
        let mbox = parse_from("CBT Assistant Pro <no-reply@example.org>").unwrap();
        assert_eq!(mbox.name.as_deref(), Some("CBT Assistant Pro"));
        assert_eq!(mbox.email.to_string(), "no-reply@example.org");
        assert!(parse_from("no-reply@example.org").is_ok());
    }

    #[test]
    fn from_rejects_garbage_and_header_injection() {
        for bad in ["", "no-reply", "CBT <no-reply>", "a@example.org\r\nBcc: x@example.org", "<@>"] {
            let err = parse_from(bad).unwrap_err();
            assert_eq!(err.field(), "from", "{bad:?}");
        }
    }

    #[test]
    fn recipient_must_be_a_bare_address_and_errors_do_not_quote_it() {
        let from = parse_from("no-reply@example.org").unwrap();
        for bad in
            ["not-an-address", "Eve <eve@example.org>", "a@example.org, b@example.org", "a@example.org\r\nBcc: b@x"]
        {
            let err = build(&from, &mail(bad, "Hi")).unwrap_err();
            assert!(matches!(err, MailError::Rejected(_)), "{bad:?}");
            assert!(!err.to_string().contains("example.org"), "{err}");
        }
        assert!(build(&from, &mail("jane@example.org", "Hi")).is_ok());
    }

    #[test]
    fn subject_with_a_line_break_is_refused() {
        let from = parse_from("no-reply@example.org").unwrap();
        let err = build(&from, &mail("jane@example.org", "Hi\r\nBcc: eve@example.org")).unwrap_err();
        assert!(matches!(err, MailError::Rejected(_)));
    }

    #[test]
    fn message_is_plain_utf8_text_with_our_message_id() {
        let from = parse_from("CBT Assistant Pro <no-reply@example.org>").unwrap();
        let raw = String::from_utf8(build(&from, &mail("jane@example.org", "Hi")).unwrap().formatted()).unwrap();
        assert!(raw.contains("Content-Type: text/plain; charset=utf-8\r\n"), "{raw}");
        assert!(raw.contains("MIME-Version: 1.0\r\n"), "{raw}");
        assert!(raw.contains("@example.org>\r\n"), "{raw}");
        assert!(raw.contains("To: jane@example.org\r\n"), "{raw}");
    }
}
