//! `LocalKeyProvider`: KEK versions as private files.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use cbt_domain::AccountId;
use cbt_keys::LocalKeyProvider;
use cbt_ports::{KeyError, KeyOwner, KeyProvider};
use uuid::Uuid;

use crate::owner;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[tokio::test]
async fn first_open_creates_a_private_kek_v1_and_a_restart_reuses_it() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("data").join("keys");
    let provider = LocalKeyProvider::open(&keys, true).unwrap();
    assert_eq!(provider.current_kek(), "local:v1");
    let file = keys.join("kek-v1.key");
    assert_eq!((mode(&keys), mode(&file)), (0o700, 0o600));
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(STANDARD.decode(text.trim()).unwrap().len(), 32, "32 bytes, base64");
    let names: Vec<_> = std::fs::read_dir(&keys).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, ["kek-v1.key"], "no temporary file left behind");

    let who = owner();
    let (key, wrapped) = provider.generate_data_key(who).await.unwrap();
    let again = LocalKeyProvider::open(&keys, true).unwrap();
    assert_eq!(again.current_kek(), "local:v1");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), text, "the same KEK, not a new one");
    assert_eq!(again.unwrap(&wrapped, who).await.unwrap().expose_bytes(), key.expose_bytes());
}

#[tokio::test]
async fn data_keys_round_trip_and_open_only_for_their_account_and_key_id() {
    let dir = tempfile::tempdir().unwrap();
    let provider = LocalKeyProvider::open(dir.path(), true).unwrap();
    let who = owner();
    let (key, wrapped) = provider.generate_data_key(who).await.unwrap();
    assert_eq!(key.id(), who.key_id, "the data key carries the owner's key id");
    assert_eq!(wrapped.kek, "local:v1");
    assert!(!wrapped.bytes.windows(32).any(|w| w == key.expose_bytes()), "no plaintext key in the wrapping");
    assert_eq!(provider.unwrap(&wrapped, who).await.unwrap().expose_bytes(), key.expose_bytes());

    let (other, _) = provider.generate_data_key(owner()).await.unwrap();
    assert_ne!(other.expose_bytes(), key.expose_bytes(), "fresh random bytes each time");

    let moved = KeyOwner { account: AccountId::new(), ..who };
    assert!(matches!(provider.unwrap(&wrapped, moved).await, Err(KeyError::DoesNotOpen)), "another account");
    let renamed = KeyOwner { key_id: Uuid::now_v7(), ..who };
    assert!(matches!(provider.unwrap(&wrapped, renamed).await, Err(KeyError::DoesNotOpen)), "another key id");
    let mut altered = wrapped.clone();
    altered.bytes[20] ^= 1;
    assert!(matches!(provider.unwrap(&altered, who).await, Err(KeyError::DoesNotOpen)), "altered");
    let elsewhere = cbt_ports::WrappedKey { kek: "local:v7".into(), ..wrapped.clone() };
    assert!(matches!(provider.unwrap(&elsewhere, who).await, Err(KeyError::UnknownKek(_))), "no such version");
}

#[test]
fn key_files_others_can_read_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(LocalKeyProvider::open(dir.path(), true).unwrap());
    let file = dir.path().join("kek-v1.key");
    for loose in [0o644, 0o640, 0o604] {
        chmod(&file, loose);
        let err = LocalKeyProvider::open(dir.path(), false).err().expect("refused");
        assert!(err.to_string().contains("kek-v1.key") && err.to_string().contains("chmod 600"), "{err}");
        let err = LocalKeyProvider::open(dir.path(), true).err().expect("refused in local mode too");
        assert!(err.to_string().contains("chmod 600"), "{err}");
    }
    chmod(&file, 0o400);
    assert!(LocalKeyProvider::open(dir.path(), false).is_ok(), "read-only for the owner is fine");
}

#[test]
fn a_folder_others_can_write_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(LocalKeyProvider::open(dir.path(), true).unwrap());
    chmod(dir.path(), 0o770);
    let err = LocalKeyProvider::open(dir.path(), false).err().expect("refused");
    assert!(err.to_string().contains("chmod 700"), "{err}");
    // Local mode makes the folder private itself.
    drop(LocalKeyProvider::open(dir.path(), true).unwrap());
    assert_eq!(mode(dir.path()), 0o700);
}

#[test]
fn without_create_if_missing_nothing_is_generated_and_the_folder_is_named() {
    let dir = tempfile::tempdir().unwrap();
    chmod(dir.path(), 0o700);
    let err = LocalKeyProvider::open(dir.path(), false).err().expect("nothing to load");
    assert!(err.to_string().contains(&dir.path().display().to_string()), "{err}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "and nothing generated");

    let missing = dir.path().join("keys");
    let err = LocalKeyProvider::open(&missing, false).err().expect("no folder");
    assert!(err.to_string().contains(&missing.display().to_string()), "{err}");
    assert!(!missing.exists(), "no folder created");
}

#[tokio::test]
async fn rotation_makes_v2_current_and_rewraps_while_v1_keeps_opening() {
    let dir = tempfile::tempdir().unwrap();
    let provider = LocalKeyProvider::open(dir.path(), true).unwrap();
    let who = owner();
    let (key, v1) = provider.generate_data_key(who).await.unwrap();

    assert_eq!(provider.new_kek().await.unwrap().as_deref(), Some("local:v2"));
    assert_eq!(provider.current_kek(), "local:v2");
    assert_eq!(mode(&dir.path().join("kek-v2.key")), 0o600);
    assert_ne!(
        std::fs::read(dir.path().join("kek-v1.key")).unwrap(),
        std::fs::read(dir.path().join("kek-v2.key")).unwrap()
    );
    assert_eq!(provider.unwrap(&v1, who).await.unwrap().expose_bytes(), key.expose_bytes(), "v1 still opens");

    let v2 = provider.rewrap(&v1, who).await.unwrap();
    assert_eq!(v2.kek, "local:v2");
    assert_ne!(v2.bytes, v1.bytes);
    assert_eq!(provider.unwrap(&v2, who).await.unwrap().expose_bytes(), key.expose_bytes());
    let (_, fresh) = provider.generate_data_key(owner()).await.unwrap();
    assert_eq!(fresh.kek, "local:v2", "new keys go under the current version");

    let reopened = LocalKeyProvider::open(dir.path(), false).unwrap();
    assert_eq!(reopened.current_kek(), "local:v2", "the highest version is current");
    assert_eq!(reopened.unwrap(&v1, who).await.unwrap().expose_bytes(), key.expose_bytes());
}

#[tokio::test]
async fn a_destroyed_version_is_overwritten_removed_and_opens_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let provider = LocalKeyProvider::open(&keys, true).unwrap();
    let who = owner();
    let (key, v1) = provider.generate_data_key(who).await.unwrap();
    provider.new_kek().await.unwrap();
    let v2 = provider.rewrap(&v1, who).await.unwrap();

    let refused = provider.destroy_kek("local:v2").await;
    assert!(matches!(refused, Err(KeyError::Unsupported(_))), "the current version: {refused:?}");
    assert!(keys.join("kek-v2.key").exists());

    // A second name for the same file shows what its blocks held at the end.
    let witness = dir.path().join("witness");
    std::fs::hard_link(keys.join("kek-v1.key"), &witness).unwrap();
    provider.destroy_kek("local:v1").await.unwrap();
    assert!(!keys.join("kek-v1.key").exists(), "the file is gone");
    let left = std::fs::read(&witness).unwrap();
    assert!(!left.is_empty() && left.iter().all(|b| *b == 0), "overwritten with zeros first");

    let backup_copy = provider.unwrap(&v1, who).await;
    assert!(matches!(backup_copy, Err(KeyError::UnknownKek(_))), "a backup's v1 copy: {backup_copy:?}");
    assert_eq!(provider.unwrap(&v2, who).await.unwrap().expose_bytes(), key.expose_bytes());
    assert!(matches!(provider.destroy_kek("local:v1").await, Err(KeyError::UnknownKek(_))), "already gone");

    let reopened = LocalKeyProvider::open(&keys, false).unwrap();
    assert!(matches!(reopened.unwrap(&v1, who).await, Err(KeyError::UnknownKek(_))));
    assert_eq!(reopened.new_kek().await.unwrap().as_deref(), Some("local:v3"), "numbers are never reused");
}

/// The server and the `keys` commands are separate processes on one
/// folder: each sees the other's new versions and destructions.
#[tokio::test]
async fn two_processes_on_one_folder_see_each_others_versions() {
    let dir = tempfile::tempdir().unwrap();
    let server = LocalKeyProvider::open(dir.path(), true).unwrap();
    let command = LocalKeyProvider::open(dir.path(), false).unwrap();
    let who = owner();
    let (key, v1) = server.generate_data_key(who).await.unwrap();

    assert_eq!(command.new_kek().await.unwrap().as_deref(), Some("local:v2"));
    let v2 = command.rewrap(&v1, who).await.unwrap();
    assert_eq!(server.unwrap(&v2, who).await.unwrap().expose_bytes(), key.expose_bytes(), "v2 loaded");
    let (_, fresh) = server.generate_data_key(owner()).await.unwrap();
    assert_eq!(fresh.kek, "local:v2", "the server wraps under the newest version");

    command.destroy_kek("local:v1").await.unwrap();
    assert!(matches!(server.unwrap(&v1, who).await, Err(KeyError::UnknownKek(_))), "destroyed elsewhere");
}

/// Version files are created only if the name is free: concurrent
/// rotations each get a version of their own, and no key file is ever
/// replaced (which would strand everything wrapped under it).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_rotations_never_overwrite_a_version() {
    let dir = tempfile::tempdir().unwrap();
    drop(LocalKeyProvider::open(dir.path(), true).unwrap());
    let rotations: Vec<_> = (0..8)
        .map(|_| {
            let provider = Arc::new(LocalKeyProvider::open(dir.path(), false).unwrap());
            tokio::spawn(async move {
                let who = owner();
                let made = provider.new_kek().await.unwrap().unwrap();
                // Under this version or a newer one: had any version file
                // been replaced since, this would no longer open.
                let (_, wrapped) = provider.generate_data_key(who).await.unwrap();
                (made, who, wrapped)
            })
        })
        .collect();
    let mut made = Vec::new();
    let mut wrappings = Vec::new();
    for rotation in rotations {
        let (version, who, wrapped) = rotation.await.unwrap();
        made.push(version);
        wrappings.push((who, wrapped));
    }
    made.sort_by_key(|v| v.trim_start_matches("local:v").parse::<u32>().unwrap());
    let expected: Vec<_> = (2..=9).map(|v| format!("local:v{v}")).collect();
    assert_eq!(made, expected, "each rotation made its own version");

    let reader = LocalKeyProvider::open(dir.path(), false).unwrap();
    assert_eq!(reader.current_kek(), "local:v9");
    for (who, wrapped) in wrappings {
        assert!(reader.unwrap(&wrapped, who).await.is_ok(), "{} still opens", wrapped.kek);
    }
}
