//! The server's secrets: where each comes from, and whether it is strong.
//!
//! Order: the value in the environment or TOML file, else the file named by
//! `…_FILE`, else (local mode only) a file under `<data_dir>/secrets/`
//! generated on first start from the OS CSPRNG, mode 0600, and reused.
//! Production generates nothing and refuses missing, short or placeholder
//! secrets, naming the setting.

use std::fmt;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::config::{ConfigProblem, Settings};

/// Shortest secret accepted, in bytes.
pub const MIN_SECRET_BYTES: usize = 32;

/// Fragments that mark a value as a placeholder rather than a secret.
const PLACEHOLDERS: &[&str] = &[
    "changeme",
    "change-me",
    "change_me",
    "placeholder",
    "example",
    "your-secret",
    "yoursecret",
    "secret-here",
    "replace",
    "todo",
    "xxxxxxxx",
    "00000000",
    "12345678",
    "password",
];

/// A secret value. Never printed.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// Where a secret came from, for `config check`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretSource {
    Setting,
    File(PathBuf),
    Generated(PathBuf),
    /// Local mode, `config check` only: would be generated on start.
    WillGenerate(PathBuf),
}

impl fmt::Display for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretSource::Setting => f.write_str("set (value redacted)"),
            SecretSource::File(p) => write!(f, "set from file {} (value redacted)", p.display()),
            SecretSource::Generated(p) => write!(f, "generated, stored in {} (value redacted)", p.display()),
            SecretSource::WillGenerate(p) => write!(f, "not set; will be generated into {}", p.display()),
        }
    }
}

/// One named secret slot.
struct Slot {
    env: &'static str,
    file_name: &'static str,
}

const SESSION: Slot = Slot { env: "CBT_SESSION_SECRET", file_name: "session.key" };
const CSRF: Slot = Slot { env: "CBT_CSRF_SECRET", file_name: "csrf.key" };
const JWT: Slot = Slot { env: "CBT_JWT_SECRET", file_name: "jwt.key" };
const AUDIT: Slot = Slot { env: "CBT_AUDIT_KEY", file_name: "audit.key" };

#[derive(Clone, Debug)]
pub struct Secrets {
    pub session: Secret,
    pub csrf: Secret,
    pub jwt: Secret,
    pub audit: Secret,
    /// (environment name, source), for `config check`.
    pub sources: Vec<(&'static str, SecretSource)>,
}

/// Whether missing local secrets are written now or only reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Generate {
    Yes,
    No,
}

pub fn resolve(settings: &Settings, generate: Generate) -> Result<Secrets, Vec<ConfigProblem>> {
    let mut problems = Vec::new();
    let mut sources = Vec::new();
    let mut take = |slot: &Slot, value: &Option<String>, file: &Option<PathBuf>| -> Secret {
        match one(settings, slot, value, file, generate) {
            Ok((secret, source)) => {
                if !matches!(source, SecretSource::WillGenerate(_))
                    && let Err(p) = check_strength(slot.env, secret.expose())
                {
                    problems.push(p);
                }
                sources.push((slot.env, source));
                secret
            }
            Err(p) => {
                problems.push(p);
                Secret(Vec::new())
            }
        }
    };
    let session = take(&SESSION, &settings.session_secret, &settings.session_secret_file);
    let csrf = take(&CSRF, &settings.csrf_secret, &settings.csrf_secret_file);
    let jwt = take(&JWT, &settings.jwt_secret, &settings.jwt_secret_file);
    let audit = take(&AUDIT, &settings.audit_key, &settings.audit_key_file);
    if problems.is_empty() { Ok(Secrets { session, csrf, jwt, audit, sources }) } else { Err(problems) }
}

fn one(
    settings: &Settings,
    slot: &Slot,
    value: &Option<String>,
    file: &Option<PathBuf>,
    generate: Generate,
) -> Result<(Secret, SecretSource), ConfigProblem> {
    if let Some(v) = value {
        return Ok((Secret(v.as_bytes().to_vec()), SecretSource::Setting));
    }
    if let Some(path) = file {
        let bytes = read_secret_file(path)
            .map_err(|e| ConfigProblem(format!("{}_FILE: cannot read {}: {e}", slot.env, path.display())))?;
        return Ok((Secret(bytes), SecretSource::File(path.clone())));
    }
    if settings.is_production() {
        return Err(ConfigProblem(format!(
            "{} is not set (production generates no secrets; set {} or {}_FILE)",
            slot.env, slot.env, slot.env
        )));
    }
    let path = settings.data_dir.join("secrets").join(slot.file_name);
    if path.exists() {
        let bytes = read_secret_file(&path)
            .map_err(|e| ConfigProblem(format!("{}: cannot read {}: {e}", slot.env, path.display())))?;
        return Ok((Secret(bytes), SecretSource::Generated(path)));
    }
    match generate {
        Generate::No => Ok((Secret(Vec::new()), SecretSource::WillGenerate(path))),
        Generate::Yes => {
            let secret = generate_into(&path)
                .map_err(|e| ConfigProblem(format!("{}: cannot write {}: {e}", slot.env, path.display())))?;
            Ok((secret, SecretSource::Generated(path)))
        }
    }
}

/// A secret file's content without its trailing newline.
fn read_secret_file(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut bytes = std::fs::read(path)?;
    while bytes.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        bytes.pop();
    }
    Ok(bytes)
}

/// 32 random bytes, base64url-encoded. Drawn again in the rare case the
/// encoding holds a word the strength check takes for a placeholder
/// ("todo" turns up about once in 25,000 secrets): a secret this server
/// made must pass its own check when it is read back.
fn new_secret() -> std::io::Result<String> {
    loop {
        let mut raw = [0u8; 32];
        aws_lc_rs::rand::fill(&mut raw).map_err(|_| std::io::Error::other("the system random source failed"))?;
        let encoded = URL_SAFE_NO_PAD.encode(raw);
        if check_strength("", encoded.as_bytes()).is_ok() {
            return Ok(encoded);
        }
    }
}

/// A new secret, written 0600 into a 0700 folder.
fn generate_into(path: &Path) -> std::io::Result<Secret> {
    let encoded = new_secret()?;
    if let Some(dir) = path.parent() {
        private_dir(dir)?;
    }
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(encoded.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()?;
    Ok(Secret(encoded.into_bytes()))
}

/// Creates a folder readable only by this user, or tightens an existing
/// one to 0700.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.exists() {
        let mode = std::fs::metadata(dir)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
        return Ok(());
    }
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

/// At least 32 bytes, not a placeholder, not one repeated character.
pub fn check_strength(name: &str, secret: &[u8]) -> Result<(), ConfigProblem> {
    if secret.len() < MIN_SECRET_BYTES {
        return Err(ConfigProblem(format!(
            "{name} is too short ({} bytes; at least {MIN_SECRET_BYTES} are required)",
            secret.len()
        )));
    }
    let lower = String::from_utf8_lossy(secret).to_lowercase();
    let distinct = {
        let mut seen = [false; 256];
        secret.iter().for_each(|b| seen[usize::from(*b)] = true);
        seen.iter().filter(|s| **s).count()
    };
    if PLACEHOLDERS.iter().any(|p| lower.contains(p)) || distinct < 8 {
        return Err(ConfigProblem(format!("{name} looks like a placeholder, not a random secret")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checklist_19_short_and_placeholder_secrets_are_refused() {
        assert!(check_strength("X", b"short").is_err());
        assert!(check_strength("X", b"changeme-changeme-changeme-changeme").is_err());
        assert!(check_strength("X", &[b'a'; 40]).is_err());
        assert!(check_strength("X", b"Zq3v8N1xW4tR7yP0sL5kD2hG9jF6bC3mA8eU").is_ok());
    }

    /// Without the second draw about eight of these would look like a
    /// placeholder, and a server would refuse the secrets it wrote itself.
    #[test]
    fn checklist_19_generated_secrets_pass_the_strength_check() {
        for _ in 0..200_000 {
            let secret = new_secret().unwrap();
            assert_eq!(secret.len(), 43);
            assert!(check_strength("X", secret.as_bytes()).is_ok(), "{secret}");
        }
    }

    #[test]
    fn local_secrets_are_generated_0600_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings { data_dir: dir.path().join("data"), ..Settings::default() };
        let first = resolve(&settings, Generate::Yes).unwrap();
        let path = settings.data_dir.join("secrets/audit.key");
        let mode = std::fs::metadata(&path).map(|m| m.permissions().mode() & 0o777).unwrap_or(0);
        assert_eq!(mode, 0o600);
        let dir_mode = std::fs::metadata(settings.data_dir.join("secrets")).map(|m| m.permissions().mode() & 0o777);
        assert_eq!(dir_mode.unwrap_or(0), 0o700);
        let second = resolve(&settings, Generate::Yes).unwrap();
        assert_eq!(first.audit.expose(), second.audit.expose());
        assert_ne!(first.audit.expose(), first.session.expose());
    }

    #[test]
    fn production_generates_nothing_and_names_the_missing_secret() {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings {
            env: crate::config::Environment::Production,
            data_dir: dir.path().to_path_buf(),
            session_secret: Some("Zq3v8N1xW4tR7yP0sL5kD2hG9jF6bC3mA8eU".into()),
            ..Settings::default()
        };
        let problems = resolve(&settings, Generate::Yes).err().unwrap_or_default();
        assert!(problems.iter().any(|p| p.0.starts_with("CBT_CSRF_SECRET is not set")));
        assert!(!problems.iter().any(|p| p.0.contains("CBT_SESSION_SECRET")));
        assert!(!dir.path().join("secrets").exists());
    }
}
