//! The `local` key provider: KEK versions as files in a private folder.
//!
//! `kek-v{N}.key` holds 32 random bytes, base64 (standard alphabet), mode
//! 0600, in a 0700 folder; looser permissions are refused, as ssh refuses
//! a readable private key. The highest version is current; older ones keep
//! unwrapping until destroyed. A wrapped key names its version
//! (`local:vN`).

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use cbt_encryption::{DataKey, KEY_LEN, Kek};
use cbt_ports::{KeyError, KeyOwner, KeyProvider, WrappedKey};
use zeroize::Zeroizing;

const PREFIX: &str = "local:v";

pub struct LocalKeyProvider {
    dir: PathBuf,
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

fn parse_kek(kek: &str) -> Option<u32> {
    kek.strip_prefix(PREFIX)?.parse().ok()
}

impl LocalKeyProvider {
    /// Loads every KEK version in `dir`. With none there, generates
    /// `kek-v1.key` if `create_if_missing` (local mode), else fails
    /// (production provisions its KEK; nothing is generated).
    pub fn open(dir: &Path, create_if_missing: bool) -> Result<Self, KeyError> {
        if create_if_missing {
            std::fs::create_dir_all(dir).map_err(|e| failed("cannot create", dir, e))?;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .map_err(|e| failed("cannot protect", dir, e))?;
        }
        let mut keks = BTreeMap::new();
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => Some(entries),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(failed("cannot read", dir, e)),
        };
        for entry in entries.into_iter().flatten() {
            let entry = entry.map_err(|e| failed("cannot read", dir, e))?;
            if let Some(version) = entry.file_name().to_str().and_then(version_of) {
                keks.insert(version, read_kek(&entry.path())?);
            }
        }
        let provider = Self { dir: dir.to_owned(), keks: RwLock::new(keks) };
        if provider.current_version().is_none() {
            if !create_if_missing {
                return Err(KeyError::Failed(format!(
                    "no key-encryption key (kek-v1.key) in {}; provision one (32 random bytes, base64, mode 0600)",
                    dir.display()
                )));
            }
            provider.create_version(1)?;
        }
        Ok(provider)
    }

    fn current_version(&self) -> Option<u32> {
        self.keks.read().unwrap_or_else(|p| p.into_inner()).keys().next_back().copied()
    }

    /// Writes a new version file; `create_new`, so two processes rotating
    /// at once cannot overwrite each other's key.
    fn create_version(&self, version: u32) -> Result<(), KeyError> {
        let path = self.dir.join(file_name(version));
        let bytes = Zeroizing::new(random_key()?);
        let text = Zeroizing::new(STANDARD.encode(bytes.as_ref()));
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| failed("cannot create", &path, e))?;
        file.write_all(text.as_bytes()).and_then(|()| file.sync_all()).map_err(|e| failed("cannot write", &path, e))?;
        let kek = Kek::new(bytes.as_ref()).map_err(|e| failed("bad key in", &path, e))?;
        self.keks.write().unwrap_or_else(|p| p.into_inner()).insert(version, kek);
        Ok(())
    }

    fn with_kek<T>(&self, kek: &str, f: impl FnOnce(&Kek) -> Result<T, KeyError>) -> Result<T, KeyError> {
        let version = parse_kek(kek).ok_or_else(|| KeyError::UnknownKek(kek.to_owned()))?;
        let keks = self.keks.read().unwrap_or_else(|p| p.into_inner());
        let k = keks.get(&version).ok_or_else(|| KeyError::UnknownKek(kek.to_owned()))?;
        f(k)
    }

    fn wrap(&self, key: &DataKey, owner: KeyOwner) -> Result<WrappedKey, KeyError> {
        let kek = self.current_kek();
        let bytes =
            self.with_kek(&kek, |k| k.wrap(key, owner.account.as_uuid()).map_err(|e| KeyError::Failed(e.to_string())))?;
        Ok(WrappedKey { kek, bytes })
    }

    fn unwrap_now(&self, wrapped: &WrappedKey, owner: KeyOwner) -> Result<DataKey, KeyError> {
        self.with_kek(&wrapped.kek, |k| {
            k.unwrap(&wrapped.bytes, owner.key_id, owner.account.as_uuid()).map_err(|_| KeyError::DoesNotOpen)
        })
    }
}

fn random_key() -> Result<[u8; KEY_LEN], KeyError> {
    let key = DataKey::generate().map_err(|e| KeyError::Failed(e.to_string()))?;
    Ok(*key.expose_bytes())
}

fn read_kek(path: &Path) -> Result<Kek, KeyError> {
    let meta = std::fs::metadata(path).map_err(|e| failed("cannot read", path, e))?;
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(KeyError::Failed(format!(
            "{} is readable by others (mode {:o}); chmod 600 it",
            path.display(),
            meta.permissions().mode() & 0o777
        )));
    }
    let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| failed("cannot read", path, e))?);
    let bytes = Zeroizing::new(STANDARD.decode(text.trim()).map_err(|_| failed("not base64:", path, "the key file"))?);
    Kek::new(&bytes).map_err(|_| failed("not a 32-byte key:", path, "the key file"))
}

#[async_trait]
impl KeyProvider for LocalKeyProvider {
    fn current_kek(&self) -> String {
        format!("{PREFIX}{}", self.current_version().unwrap_or(0))
    }

    async fn generate_data_key(&self, owner: KeyOwner) -> Result<(DataKey, WrappedKey), KeyError> {
        let key = DataKey::from_bytes(owner.key_id, Zeroizing::new(random_key()?).as_ref())
            .map_err(|e| KeyError::Failed(e.to_string()))?;
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
        // Versions other processes made since start-up count too.
        let mut next = self.current_version().unwrap_or(0) + 1;
        while self.dir.join(file_name(next)).exists() {
            let path = self.dir.join(file_name(next));
            let kek = read_kek(&path)?;
            self.keks.write().unwrap_or_else(|p| p.into_inner()).insert(next, kek);
            next += 1;
        }
        self.create_version(next)?;
        Ok(Some(self.current_kek()))
    }

    async fn destroy_kek(&self, kek: &str) -> Result<(), KeyError> {
        let version = parse_kek(kek).ok_or_else(|| KeyError::UnknownKek(kek.to_owned()))?;
        if Some(version) == self.current_version() {
            return Err(KeyError::Unsupported(format!("{kek} is the current key-encryption key")));
        }
        let path = self.dir.join(file_name(version));
        let len = std::fs::metadata(&path).map_err(|_| KeyError::UnknownKek(kek.to_owned()))?.len();
        // Overwrite before unlinking, so the bytes do not linger in the
        // freed blocks (as far as the filesystem allows).
        let mut file =
            std::fs::OpenOptions::new().write(true).open(&path).map_err(|e| failed("cannot open", &path, e))?;
        let zeros = vec![0u8; usize::try_from(len).unwrap_or(0)];
        file.write_all(&zeros).and_then(|()| file.sync_all()).map_err(|e| failed("cannot overwrite", &path, e))?;
        std::fs::remove_file(&path).map_err(|e| failed("cannot remove", &path, e))?;
        self.keks.write().unwrap_or_else(|p| p.into_inner()).remove(&version);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use cbt_domain::AccountId;
    use uuid::Uuid;

    use super::*;

    fn owner() -> KeyOwner {
        KeyOwner { account: AccountId::new(), key_id: Uuid::now_v7() }
    }

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[tokio::test]
    async fn first_open_creates_a_private_kek_and_keys_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let keys = dir.path().join("keys");
        let provider = LocalKeyProvider::open(&keys, true).unwrap();
        assert_eq!(provider.current_kek(), "local:v1");
        assert_eq!((mode(&keys), mode(&keys.join("kek-v1.key"))), (0o700, 0o600));

        let who = owner();
        let (key, wrapped) = provider.generate_data_key(who).await.unwrap();
        assert_eq!((key.id(), wrapped.kek.as_str()), (who.key_id, "local:v1"));
        let back = provider.unwrap(&wrapped, who).await.unwrap();
        assert_eq!(back.expose_bytes(), key.expose_bytes());
        let elsewhere = KeyOwner { account: AccountId::new(), ..who };
        assert!(matches!(provider.unwrap(&wrapped, elsewhere).await, Err(KeyError::DoesNotOpen)));
        let renamed = KeyOwner { key_id: Uuid::now_v7(), ..who };
        assert!(matches!(provider.unwrap(&wrapped, renamed).await, Err(KeyError::DoesNotOpen)));

        // Reopened (a restart): the same KEK, nothing new generated.
        let again = LocalKeyProvider::open(&keys, true).unwrap();
        assert_eq!(again.unwrap(&wrapped, who).await.unwrap().expose_bytes(), key.expose_bytes());
        assert!(!keys.join("kek-v2.key").exists());
    }

    #[tokio::test]
    async fn new_versions_rewrap_and_destroyed_versions_no_longer_open() {
        let dir = tempfile::tempdir().unwrap();
        let provider = LocalKeyProvider::open(dir.path(), true).unwrap();
        let who = owner();
        let (key, v1) = provider.generate_data_key(who).await.unwrap();
        assert_eq!(provider.new_kek().await.unwrap().as_deref(), Some("local:v2"));
        assert!(provider.unwrap(&v1, who).await.is_ok(), "the old version still opens");
        let v2 = provider.rewrap(&v1, who).await.unwrap();
        assert_eq!(v2.kek, "local:v2");
        assert_ne!(v2.bytes, v1.bytes);
        assert!(matches!(provider.destroy_kek("local:v2").await, Err(KeyError::Unsupported(_))), "current");
        provider.destroy_kek("local:v1").await.unwrap();
        assert!(!dir.path().join("kek-v1.key").exists());
        assert!(matches!(provider.unwrap(&v1, who).await, Err(KeyError::UnknownKek(_))), "a backup's copy");
        assert_eq!(provider.unwrap(&v2, who).await.unwrap().expose_bytes(), key.expose_bytes());
        let reopened = LocalKeyProvider::open(dir.path(), false).unwrap();
        assert!(matches!(reopened.unwrap(&v1, who).await, Err(KeyError::UnknownKek(_))));
        assert_eq!(reopened.current_kek(), "local:v2");
    }

    #[test]
    fn production_never_generates_and_loose_permissions_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(LocalKeyProvider::open(dir.path(), false).is_err(), "nothing to load");
        assert!(!dir.path().join("kek-v1.key").exists(), "and nothing generated");

        drop(LocalKeyProvider::open(dir.path(), true).unwrap());
        let file = dir.path().join("kek-v1.key");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = LocalKeyProvider::open(dir.path(), false).err().expect("refused");
        assert!(err.to_string().contains("chmod 600"), "{err}");
    }
}
