//! The `local` key provider: KEK versions as files in a private folder.
//!
//! `kek-v{N}.key` holds 32 random bytes, base64 (standard alphabet), mode
//! 0600, in a 0700 folder; a key file others could read, or a folder others
//! could write, is refused, as ssh refuses a readable private key. The
//! highest version is current; older ones keep unwrapping until destroyed.
//! A wrapped key names its version (`local:vN`).
//!
//! Several processes may share the folder (the server, and the
//! `keys rotate` / `keys destroy-kek` commands run beside it), so the folder
//! is the truth and memory follows it: a version another process made is
//! loaded when it is first needed, and a retired version whose file is gone
//! no longer unwraps here either.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use cbt_encryption::{DataKey, KEY_LEN, Kek};
use cbt_ports::{KeyError, KeyOwner, KeyProvider, WrappedKey};
use zeroize::Zeroizing;

const PREFIX: &str = "local:v";

/// A key file is 44 characters of base64 and perhaps a newline; anything
/// much longer is not one of ours.
const MAX_FILE_LEN: usize = 128;

pub struct LocalKeyProvider {
    dir: PathBuf,
    /// Every version this process can use, by number. New versions appear
    /// at run time (`new_kek`, or another process's rotation).
    keks: RwLock<BTreeMap<u32, Kek>>,
}

fn failed(what: &str, path: &Path, e: impl std::fmt::Display) -> KeyError {
    KeyError::Failed(format!("{what} {}: {e}", path.display()))
}

fn file_name(version: u32) -> String {
    format!("kek-v{version}.key")
}

fn version_of(name: &str) -> Option<u32> {
    name.strip_prefix("kek-v")?.strip_suffix(".key")?.parse().ok().filter(|v| *v > 0)
}

fn kek_name(version: u32) -> String {
    format!("{PREFIX}{version}")
}

fn parse_kek(kek: &str) -> Option<u32> {
    kek.strip_prefix(PREFIX)?.parse().ok().filter(|v| *v > 0)
}

impl LocalKeyProvider {
    /// Loads every KEK version in `dir`. With none there, generates
    /// `kek-v1.key` if `create_if_missing` (local mode), else fails naming
    /// the folder (production provisions its KEK; nothing is generated).
    pub fn open(dir: &Path, create_if_missing: bool) -> Result<Self, KeyError> {
        if create_if_missing {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| failed("cannot create", dir, e))?;
            // An existing folder too: it is about to hold a key.
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .map_err(|e| failed("cannot protect", dir, e))?;
        }
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == ErrorKind::NotFound => return Err(no_kek(dir)),
            Err(e) => return Err(failed("cannot read", dir, e)),
        };
        check_folder(dir)?;
        let mut keks = BTreeMap::new();
        for entry in entries {
            let entry = entry.map_err(|e| failed("cannot read", dir, e))?;
            if let Some(version) = entry.file_name().to_str().and_then(version_of) {
                keks.insert(version, read_kek(&entry.path())?);
            }
        }
        let provider = Self { dir: dir.to_owned(), keks: RwLock::new(keks) };
        if provider.current_version().is_none() {
            if !create_if_missing {
                return Err(no_kek(dir));
            }
            provider.create_next()?;
        }
        Ok(provider)
    }

    // A poisoned lock only means a panic elsewhere; the map itself is
    // changed by single inserts and removals, so it is still whole.
    fn read(&self) -> RwLockReadGuard<'_, BTreeMap<u32, Kek>> {
        self.keks.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, BTreeMap<u32, Kek>> {
        self.keks.write().unwrap_or_else(|p| p.into_inner())
    }

    fn current_version(&self) -> Option<u32> {
        self.read().keys().next_back().copied()
    }

    fn path(&self, version: u32) -> PathBuf {
        self.dir.join(file_name(version))
    }

    /// Loads the versions after the current one that another process has
    /// made since, so that new wrappings use the newest.
    fn catch_up(&self) -> Result<(), KeyError> {
        let mut next = self.current_version().unwrap_or(0) + 1;
        while let Some(kek) = self.load_if_present(next)? {
            self.write().insert(next, kek);
            next += 1;
        }
        Ok(())
    }

    fn file_exists(&self, version: u32) -> Result<bool, KeyError> {
        let path = self.path(version);
        match std::fs::symlink_metadata(&path) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(failed("cannot read", &path, e)),
        }
    }

    fn load_if_present(&self, version: u32) -> Result<Option<Kek>, KeyError> {
        if self.file_exists(version)? { read_kek(&self.path(version)).map(Some) } else { Ok(None) }
    }

    /// Writes the next version and makes it current. The key is written to
    /// a temporary file, synced, then hard-linked to its name, which fails
    /// if the name is taken: a version file, once there, is complete, and
    /// two rotations at once (two processes, or two tasks) cannot overwrite
    /// each other's key; the later one moves on to the following number.
    fn create_next(&self) -> Result<u32, KeyError> {
        self.catch_up()?;
        let mut version = self.current_version().unwrap_or(0) + 1;
        let fresh = DataKey::generate().map_err(|e| KeyError::Failed(e.to_string()))?;
        let text = Zeroizing::new(STANDARD.encode(fresh.expose_bytes()));
        let kek = Kek::new(fresh.expose_bytes()).map_err(|e| KeyError::Failed(e.to_string()))?;
        let temp = self.dir.join(format!(".kek-new-{}.tmp", uuid::Uuid::now_v7()));
        let written = write_private(&temp, text.as_bytes());
        let linked = written.and_then(|()| {
            loop {
                let path = self.path(version);
                match std::fs::hard_link(&temp, &path) {
                    Ok(()) => break Ok(()),
                    Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                        // Someone else's new version: use it, and take the next.
                        let theirs = read_kek(&path)?;
                        self.write().insert(version, theirs);
                        version += 1;
                    }
                    Err(e) => break Err(failed("cannot create", &path, e)),
                }
            }
        });
        // The key lives on under its own name; the temporary name goes
        // (even on failure: a key nobody uses is not worth keeping).
        let removed = std::fs::remove_file(&temp).map_err(|e| failed("cannot remove", &temp, e));
        linked?;
        removed?;
        sync_dir(&self.dir)?;
        self.write().insert(version, kek);
        Ok(version)
    }

    /// Runs `f` with the KEK `kek` names. A version this process has not
    /// seen may have been made by another process since start-up; a retired
    /// one whose file is gone was destroyed by one.
    fn with_kek<T>(&self, kek: &str, f: impl FnOnce(&Kek) -> Result<T, KeyError>) -> Result<T, KeyError> {
        let unknown = || KeyError::UnknownKek(kek.to_owned());
        let version = parse_kek(kek).ok_or_else(unknown)?;
        let current = self.current_version();
        let known = self.read().contains_key(&version);
        if !known && current.is_some_and(|c| version > c) {
            self.catch_up()?;
        }
        if known && Some(version) != current && !self.file_exists(version)? {
            self.write().remove(&version);
        }
        let keks = self.read();
        f(keks.get(&version).ok_or_else(unknown)?)
    }

    fn wrap(&self, key: &DataKey, owner: KeyOwner) -> Result<WrappedKey, KeyError> {
        self.catch_up()?;
        let keks = self.read();
        let (version, kek) = keks.last_key_value().ok_or_else(|| no_kek(&self.dir))?;
        let bytes = kek.wrap(key, owner.account.as_uuid()).map_err(|e| KeyError::Failed(e.to_string()))?;
        Ok(WrappedKey { kek: kek_name(*version), bytes })
    }

    fn unwrap_now(&self, wrapped: &WrappedKey, owner: KeyOwner) -> Result<DataKey, KeyError> {
        self.with_kek(&wrapped.kek, |k| {
            k.unwrap(&wrapped.bytes, owner.key_id, owner.account.as_uuid()).map_err(|_| KeyError::DoesNotOpen)
        })
    }
}

fn no_kek(dir: &Path) -> KeyError {
    KeyError::Failed(format!(
        "no key-encryption key (kek-v1.key) in {}; provision one (32 random bytes, base64, mode 0600, in a 0700 folder)",
        dir.display()
    ))
}

/// Whoever can write the folder can slip in a newer version, which would
/// become current: new data keys would be wrapped under a key they know.
fn check_folder(dir: &Path) -> Result<(), KeyError> {
    let mode = std::fs::metadata(dir).map_err(|e| failed("cannot read", dir, e))?.permissions().mode();
    if mode & 0o022 != 0 {
        return Err(KeyError::Failed(format!(
            "{} can be written by other users (mode {:o}); chmod 700 it",
            dir.display(),
            mode & 0o777
        )));
    }
    Ok(())
}

/// A new file, 0600 from the start, with `bytes` synced to disk.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), KeyError> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| failed("cannot create", path, e))?;
    file.write_all(bytes).and_then(|()| file.sync_all()).map_err(|e| failed("cannot write", path, e))
}

/// A new, removed or renamed name lasts a crash only once its folder is
/// synced.
fn sync_dir(dir: &Path) -> Result<(), KeyError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| failed("cannot sync", dir, e))
}

fn read_kek(path: &Path) -> Result<Kek, KeyError> {
    let meta = std::fs::metadata(path).map_err(|e| failed("cannot read", path, e))?;
    if !meta.is_file() {
        return Err(failed("not a key file:", path, "not a regular file"));
    }
    let mode = meta.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(KeyError::Failed(format!(
            "{} is open to other users (mode {:o}); chmod 600 it",
            path.display(),
            mode & 0o777
        )));
    }
    // Read into one fixed buffer, so no copy of the key is left behind in
    // memory that a growing String would have freed.
    let mut text = Zeroizing::new([0u8; MAX_FILE_LEN]);
    let mut len = 0;
    let mut file = File::open(path).map_err(|e| failed("cannot read", path, e))?;
    while let Some(room) = text.get_mut(len..).filter(|room| !room.is_empty()) {
        match file.read(room) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(failed("cannot read", path, e)),
        }
    }
    if len == MAX_FILE_LEN {
        return Err(failed("not a key file:", path, "too long"));
    }
    let encoded = text.get(..len).unwrap_or_default().trim_ascii();
    let mut bytes = Zeroizing::new([0u8; MAX_FILE_LEN]);
    let n =
        STANDARD.decode_slice(encoded, bytes.as_mut()).map_err(|_| failed("not a key file:", path, "not base64"))?;
    if n != KEY_LEN {
        return Err(failed("not a key file:", path, format!("{n} bytes, not {KEY_LEN}")));
    }
    Kek::new(bytes.get(..n).unwrap_or_default()).map_err(|e| failed("not a key file:", path, e))
}

#[async_trait]
impl KeyProvider for LocalKeyProvider {
    fn current_kek(&self) -> String {
        // `open` leaves at least one version and the current one is never
        // destroyed, so there always is one.
        kek_name(self.current_version().unwrap_or(0))
    }

    async fn generate_data_key(&self, owner: KeyOwner) -> Result<(DataKey, WrappedKey), KeyError> {
        // Random bytes under the owner's key id; `from_bytes` copies them
        // into the new key, and `fresh` zeroises its own on drop.
        let fresh = DataKey::generate().map_err(|e| KeyError::Failed(e.to_string()))?;
        let key =
            DataKey::from_bytes(owner.key_id, fresh.expose_bytes()).map_err(|e| KeyError::Failed(e.to_string()))?;
        let wrapped = self.wrap(&key, owner)?;
        Ok((key, wrapped))
    }

    async fn unwrap(&self, wrapped: &WrappedKey, owner: KeyOwner) -> Result<DataKey, KeyError> {
        self.unwrap_now(wrapped, owner)
    }

    async fn rewrap(&self, wrapped: &WrappedKey, owner: KeyOwner) -> Result<WrappedKey, KeyError> {
        let key = self.unwrap_now(wrapped, owner)?;
        self.wrap(&key, owner)
    }

    async fn new_kek(&self) -> Result<Option<String>, KeyError> {
        self.create_next().map(|version| Some(kek_name(version)))
    }

    async fn destroy_kek(&self, kek: &str) -> Result<(), KeyError> {
        let version = parse_kek(kek).ok_or_else(|| KeyError::UnknownKek(kek.to_owned()))?;
        self.catch_up()?;
        if Some(version) == self.current_version() {
            return Err(KeyError::Unsupported(format!(
                "{kek} is the current key-encryption key; rotate to a new one first"
            )));
        }
        let path = self.path(version);
        let mut file = match OpenOptions::new().write(true).open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                self.write().remove(&version);
                return Err(KeyError::UnknownKek(kek.to_owned()));
            }
            Err(e) => return Err(failed("cannot open", &path, e)),
        };
        // Forgotten first: from now on nothing here unwraps with it.
        self.write().remove(&version);
        // Overwritten before it is unlinked, so the key does not linger in
        // the freed blocks (as far as the filesystem allows: copy-on-write
        // filesystems and SSDs may keep the old blocks).
        let len = file.metadata().map_err(|e| failed("cannot read", &path, e))?.len();
        let zeros = vec![0u8; usize::try_from(len).unwrap_or(MAX_FILE_LEN).max(MAX_FILE_LEN)];
        file.write_all(&zeros).and_then(|()| file.sync_all()).map_err(|e| failed("cannot overwrite", &path, e))?;
        drop(file);
        std::fs::remove_file(&path).map_err(|e| failed("cannot remove", &path, e))?;
        sync_dir(&self.dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_versions() {
        assert_eq!(version_of("kek-v12.key"), Some(12));
        assert_eq!(version_of("kek-v0.key"), None);
        assert_eq!(version_of(".kek-new-1.tmp"), None);
        assert_eq!(version_of("kek-v1.key.bak"), None);
        assert_eq!(parse_kek("local:v3"), Some(3));
        assert_eq!(parse_kek("local:v0"), None);
        assert_eq!(parse_kek("arn:aws:kms:eu-west-1:1:key/x"), None);
    }
}
