//! [`OutboxMailer`]: writes each message as an `.eml` file into a folder.

use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use cbt_ports::{MailError, Mailer, OutgoingMail};
use lettre::message::Mailbox;
use time::OffsetDateTime;
use time::macros::format_description;

use crate::message;
use crate::settings::MailSettingsError;

/// Writes each message, exactly as it would go over SMTP, to
/// `<folder>/<UTC time>-<random>.eml` (mode 0600, folder 0700). Any mail
/// program opens these files. Nothing is sent anywhere.
///
/// The default in local mode, so someone trying the app can open the
/// verification link without a mail server.
pub struct OutboxMailer {
    folder: PathBuf,
    from: Mailbox,
}

impl std::fmt::Debug for OutboxMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxMailer").field("folder", &self.folder).finish_non_exhaustive()
    }
}

impl OutboxMailer {
    /// Checks `from` (a mailbox like `CBT Assistant Pro
    /// <no-reply@example.org>`) and creates `folder` with mode 0700, or
    /// tightens an existing one to 0700.
    pub fn new(folder: impl Into<PathBuf>, from: &str) -> Result<Self, MailSettingsError> {
        let folder = folder.into();
        let from = message::parse_from(from)?;
        private_dir(&folder).map_err(|source| MailSettingsError::OutboxFolder { path: folder.clone(), source })?;
        Ok(Self { folder, from })
    }

    /// The folder the messages are written to.
    pub fn folder(&self) -> &Path {
        &self.folder
    }
}

#[async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, mail: OutgoingMail) -> Result<(), MailError> {
        let bytes = message::build(&self.from, &mail)?.formatted();
        let folder = self.folder.clone();
        let path = tokio::task::spawn_blocking(move || write_message(&folder, &bytes))
            .await
            .map_err(|_| MailError::Unavailable("writing to the mail outbox was interrupted".to_owned()))?
            .map_err(|e| MailError::Unavailable(format!("could not write to the mail outbox: {e}")))?;
        // Never the recipient or the body: the body holds one-time links.
        tracing::info!(path = %path.display(), subject = %mail.subject, "mail written to the outbox (not sent)");
        Ok(())
    }
}

/// Creates a folder readable only by this user, or tightens an existing
/// one to 0700.
fn private_dir(dir: &Path) -> std::io::Result<()> {
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => {
            if meta.permissions().mode() & 0o077 != 0 {
                std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
            }
            Ok(())
        }
        Ok(_) => Err(std::io::Error::new(std::io::ErrorKind::AlreadyExists, "exists and is not a folder")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
        }
        Err(e) => Err(e),
    }
}

/// `20250102T030405.123456Z-<32 hex digits>.eml`: sorts by time, never
/// repeats.
fn file_name(now: OffsetDateTime) -> String {
    let stamp = now
        .format(format_description!("[year][month][day]T[hour][minute][second].[subsecond digits:6]Z"))
        .unwrap_or_else(|_| now.unix_timestamp().to_string());
    format!("{stamp}-{}.eml", uuid::Uuid::new_v4().simple())
}

/// Writes `bytes` to a new file in `folder` and returns its path. The
/// folder is (re)created if it went away.
fn write_message(folder: &Path, bytes: &[u8]) -> std::io::Result<PathBuf> {
    private_dir(folder)?;
    let path = folder.join(file_name(OffsetDateTime::now_utc()));
    write_new(&path, bytes)?;
    Ok(path)
}

/// Creates `path` (mode 0600) and writes `bytes`; fails rather than touch
/// an existing file.
fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    let written = file.write_all(bytes).and_then(|()| file.sync_all());
    if written.is_err() {
        // Best effort: leave no half message behind.
        let _ = std::fs::remove_file(path);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    fn mail() -> OutgoingMail {
        OutgoingMail {
            to: "jane.doe@example.org".to_owned(),
            subject: "Confirm your email address".to_owned(),
            text: "Open https://cbt.example.org/verify?token=abc123 to confirm.\n".to_owned(),
        }
    }

    fn eml_files(dir: &Path) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        files
    }

    #[tokio::test]
    async fn writes_a_private_eml_file_in_a_private_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let folder = tmp.path().join("data").join("outbox");
        let mailer = OutboxMailer::new(&folder, "CBT Assistant Pro <no-reply@example.org>").unwrap();
        assert_eq!(mode(&folder), 0o700);

        mailer.send(mail()).await.unwrap();

        let files = eml_files(&folder);
        assert_eq!(files.len(), 1);
        let file = &files[0];
        assert_eq!(file.extension().and_then(|e| e.to_str()), Some("eml"));
        assert_eq!(mode(file), 0o600);
        let raw = std::fs::read_to_string(file).unwrap();
        assert!(raw.contains("From: \"CBT Assistant Pro\" <no-reply@example.org>\r\n"), "{raw}");
        assert!(raw.contains("To: jane.doe@example.org\r\n"), "{raw}");
        assert!(raw.contains("Subject: Confirm your email address\r\n"), "{raw}");
        assert!(raw.contains("\r\n\r\nOpen https://cbt.example.org/verify?token=abc123 to confirm.\r\n"), "{raw}");
    }

    #[tokio::test]
    async fn each_message_gets_its_own_file() {
        let tmp = tempfile::tempdir().unwrap();
        let mailer = OutboxMailer::new(tmp.path(), "no-reply@example.org").unwrap();
        for _ in 0..3 {
            mailer.send(mail()).await.unwrap();
        }
        let files = eml_files(tmp.path());
        assert_eq!(files.len(), 3);
        for f in &files {
            assert_eq!(mode(f), 0o600);
        }
    }

    #[test]
    fn never_overwrites_an_existing_file() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("taken.eml");
        std::fs::write(&path, b"first").unwrap();
        let err = write_new(&path, b"second").unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&path).unwrap(), b"first");
    }

    #[test]
    fn tightens_an_existing_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let folder = tmp.path().join("outbox");
        std::fs::create_dir(&folder).unwrap();
        std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o755)).unwrap();
        OutboxMailer::new(&folder, "no-reply@example.org").unwrap();
        assert_eq!(mode(&folder), 0o700);
    }

    #[test]
    fn refuses_a_file_where_the_folder_should_be_and_a_bad_from() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("outbox");
        std::fs::write(&file, b"").unwrap();
        assert_eq!(OutboxMailer::new(&file, "no-reply@example.org").unwrap_err().field(), "outbox");
        assert_eq!(OutboxMailer::new(tmp.path(), "no-reply").unwrap_err().field(), "from");
    }

    #[tokio::test]
    async fn recreates_a_deleted_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let folder = tmp.path().join("outbox");
        let mailer = OutboxMailer::new(&folder, "no-reply@example.org").unwrap();
        std::fs::remove_dir(&folder).unwrap();
        mailer.send(mail()).await.unwrap();
        assert_eq!(mode(&folder), 0o700);
        assert_eq!(eml_files(&folder).len(), 1);
    }

    #[test]
    fn file_names_sort_by_time() {
        let t = time::macros::datetime!(2025-01-02 03:04:05.123456 UTC);
        let name = file_name(t);
        assert!(name.starts_with("20250102T030405.123456Z-"), "{name}");
        assert!(name.ends_with(".eml"));
        assert_ne!(file_name(t), name);
    }
}
