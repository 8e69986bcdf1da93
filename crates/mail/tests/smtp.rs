//! `SmtpMailer` delivering to the in-process capture server over real SMTP.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use cbt_mail::test_server::SmtpCapture;
use cbt_mail::{SmtpMailer, SmtpSecurity, SmtpSettings};
use cbt_ports::{MailError, Mailer, OutgoingMail};

const WAIT: Duration = Duration::from_secs(10);

fn mailer(port: u16) -> SmtpMailer {
    mailer_with(port, SmtpSecurity::Plain)
}

fn mailer_with(port: u16, security: SmtpSecurity) -> SmtpMailer {
    SmtpMailer::new(SmtpSettings {
        host: "127.0.0.1".to_owned(),
        port,
        security,
        username: None,
        password: None,
        from: "CBT Assistant Pro <no-reply@example.org>".to_owned(),
        timeout: Duration::from_secs(5),
    })
    .unwrap()
}

#[tokio::test]
async fn long_lines_and_a_little_non_ascii_arrive_quoted_printable() {
    let server = SmtpCapture::start().await;
    let link = format!("http://127.0.0.1:8080/verify-email?token={}", "Zx9-_a".repeat(20));
    let text = format!(
        "Hallo Jürgen,\n\nbitte bestätigen Sie Ihre Adresse, indem Sie diesen Link öffnen — er gilt 24 Stunden und nur einmal: {link}\n\n\
         .A line that starts with a dot.\nDanke!\n"
    );
    let subject = "Bestätigen Sie Ihre E-Mail-Adresse für CBT Assistant Pro (Übung macht den Meister, sagt man)";
    mailer(server.port())
        .send(OutgoingMail { to: "jane.doe@example.org".to_owned(), subject: subject.to_owned(), text: text.clone() })
        .await
        .unwrap();

    let mails = server.wait_for(1, WAIT).await;
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert_eq!(mail.from, "no-reply@example.org");
    assert_eq!(mail.recipients, ["jane.doe@example.org"]);
    assert_eq!(mail.header("Content-Transfer-Encoding").as_deref(), Some("quoted-printable"), "{}", mail.data);
    assert_eq!(mail.header("Content-Type").as_deref(), Some("text/plain; charset=utf-8"));
    // On the wire: no line over 78 characters + CRLF, nothing but ASCII,
    // and the link broken by soft line breaks.
    assert!(mail.data.is_ascii(), "{}", mail.data);
    assert!(mail.data.split("\r\n").all(|l| l.len() <= 78), "{}", mail.data);
    assert!(!mail.data.contains(&link), "{}", mail.data);
    assert!(mail.header("Subject").unwrap().starts_with("=?utf-8?b?"), "{}", mail.data);

    assert_eq!(mail.subject().as_deref(), Some(subject));
    assert_eq!(mail.body_text(), text.trim_end());
    assert_eq!(mail.find_link("http://127.0.0.1:8080/verify-email").as_deref(), Some(link.as_str()));
}

#[tokio::test]
async fn mostly_non_ascii_arrives_base64() {
    let server = SmtpCapture::start().await;
    let link = "https://cbt.example.org/verify-email?token=abc123";
    let text = format!("Здравствуйте! Подтвердите, пожалуйста, ваш адрес электронной почты.\n{link}\nСпасибо.");
    let subject = "Подтвердите адрес";
    mailer(server.port())
        .send(OutgoingMail { to: "ivan@example.org".to_owned(), subject: subject.to_owned(), text: text.clone() })
        .await
        .unwrap();

    let mails = server.wait_for(1, WAIT).await;
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert_eq!(mail.header("Content-Transfer-Encoding").as_deref(), Some("base64"), "{}", mail.data);
    assert_eq!(mail.subject().as_deref(), Some(subject));
    assert_eq!(mail.body_text(), text);
    assert_eq!(mail.find_link("https://cbt.example.org/").as_deref(), Some(link));
}

#[tokio::test]
async fn short_ascii_arrives_as_is_and_several_messages_are_kept_in_order() {
    let server = SmtpCapture::start().await;
    let mailer = mailer(server.port());
    for i in 0..3 {
        mailer
            .send(OutgoingMail {
                to: format!("user{i}@example.org"),
                subject: format!("Message {i}"),
                text: format!("Open https://cbt.example.org/m/{i}."),
            })
            .await
            .unwrap();
    }
    let mails = server.wait_for(3, WAIT).await;
    assert_eq!(mails.len(), 3);
    for (i, mail) in mails.iter().enumerate() {
        assert_eq!(mail.header("Content-Transfer-Encoding").as_deref(), Some("7bit"));
        assert_eq!(mail.recipients, [format!("user{i}@example.org")]);
        assert_eq!(mail.subject(), Some(format!("Message {i}")));
        assert_eq!(mail.find_link("https://cbt.example.org/"), Some(format!("https://cbt.example.org/m/{i}")));
    }
    assert_eq!(server.messages(), mails);
}

#[tokio::test]
async fn a_bad_recipient_is_rejected_before_connecting() {
    let server = SmtpCapture::start().await;
    let err = mailer(server.port())
        .send(OutgoingMail { to: "not an address".to_owned(), subject: "Hi".to_owned(), text: "x".to_owned() })
        .await
        .unwrap_err();
    assert!(matches!(err, MailError::Rejected(_)), "{err}");
    assert!(!err.to_string().contains("not an address"), "{err}");
    assert!(server.wait_for(1, Duration::from_millis(200)).await.is_empty());
}

/// The capture server offers no STARTTLS: a mailer that requires it must
/// refuse to send in the clear rather than fall back.
#[tokio::test]
async fn required_starttls_is_not_downgraded() {
    let server = SmtpCapture::start().await;
    let err = mailer_with(server.port(), SmtpSecurity::StartTls)
        .send(OutgoingMail { to: "jane.doe@example.org".to_owned(), subject: "Hi".to_owned(), text: "x".to_owned() })
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, MailError::Unavailable(_)), "{text}");
    assert!(text.contains("STARTTLS"), "{text}");
    assert!(!text.contains("jane"), "{text}");
    assert!(server.wait_for(1, Duration::from_millis(200)).await.is_empty());
}

/// Implicit TLS against a server that speaks plain SMTP fails the
/// handshake; nothing is delivered.
#[tokio::test]
async fn implicit_tls_to_a_plain_server_fails() {
    let server = SmtpCapture::start().await;
    let err = mailer_with(server.port(), SmtpSecurity::Tls)
        .send(OutgoingMail { to: "jane.doe@example.org".to_owned(), subject: "Hi".to_owned(), text: "x".to_owned() })
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, MailError::Unavailable(_)), "{text}");
    assert!(!text.contains("jane"), "{text}");
    assert!(server.wait_for(1, Duration::from_millis(200)).await.is_empty());
    assert!(text.contains("SMTP server 127.0.0.1:"), "{text}");
}
