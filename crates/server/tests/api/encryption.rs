//! Encryption at rest through the running app (checklist 28, 29, 30): data
//! keys wrapped by the key provider, sealed values bound to their place,
//! nothing plain in a raw dump, rotation that resumes, crypto-shredding
//! that reaches a backup copy.

use std::ops::ControlFlow;

use cbt_domain::AccountId;
use cbt_domain::audit::RequestContext;
use cbt_encryption::SealedFor;
use cbt_keys::LocalKeyProvider;
use cbt_ports::KeyProvider;
use cbt_testkit::accounts::base32_bytes;
use cbt_testkit::{TestApp, TestDatabase};
use uuid::Uuid;

const CANARY: &[u8] = b"PHI-CANARY Jane Quartz-Doe, DOB 1961-04-17";

use cbt_testkit::dump_holds as contains;

/// `n` accounts written straight to the store (sign-up's bcrypt would
/// dominate the test), each with one value sealed through the app, which
/// creates the account's data key.
async fn accounts_with_sealed_values(app: &TestApp, n: usize) -> Vec<(AccountId, Uuid, Vec<u8>)> {
    let mut tx = app.app.store().begin().await.unwrap();
    let mut ids = Vec::new();
    for i in 0..n {
        let account = cbt_store_conformance::accounts::account(&format!("sealed{i}@example.org"));
        tx.insert_account(&account).await.unwrap();
        ids.push(account.id);
    }
    tx.commit().await.unwrap();
    let mut out = Vec::new();
    for id in ids {
        let record = Uuid::now_v7();
        let sealed = app.app.seal_field(&place(id, record), CANARY).await.unwrap();
        out.push((id, record, sealed));
    }
    out
}

fn place(account: AccountId, record: Uuid) -> SealedFor<'static> {
    SealedFor { account: account.as_uuid(), kind: "client", field: "notes", record }
}

async fn all_open(app: &TestApp, sealed: &[(AccountId, Uuid, Vec<u8>)]) -> bool {
    for (account, record, value) in sealed {
        match app.app.open_field(&place(*account, *record), value).await {
            Ok(plain) if plain.as_slice() == CANARY => {}
            _ => return false,
        }
    }
    true
}

/// 28: sealed values differ, open only in their place and unaltered; the
/// database holds the data key only wrapped; neither it nor a TOTP seed
/// (sealed with it) appears in a raw dump.
async fn sealed_values_and_raw_dump(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let app = TestApp::spawn(db).await;
    let sealed = accounts_with_sealed_values(&app, 2).await;
    let (a, record, value) = &sealed[0];
    let here = place(*a, *record);
    let again = app.app.seal_field(&here, CANARY).await.unwrap();
    assert_ne!(&again, value, "two encryptions differ");
    assert_eq!(app.app.open_field(&here, value).await.unwrap().as_slice(), CANARY);
    let mut flipped = value.clone();
    flipped[30] ^= 0x01;
    assert!(app.app.open_field(&here, &flipped).await.is_err(), "a flipped bit fails");
    let other_account = sealed[1].0;
    for elsewhere in [
        place(*a, Uuid::now_v7()),
        SealedFor { field: "name", ..here },
        SealedFor { kind: "session_note", ..here },
        place(other_account, *record),
    ] {
        assert!(app.app.open_field(&elsewhere, value).await.is_err(), "moved to {elsewhere:?}");
    }

    // Blind index: exact lookups within an account, unrelated across them.
    let tag = app.app.lookup_tag(*a, "email", b"jane@example.org").await.unwrap();
    assert_eq!(tag, app.app.lookup_tag(*a, "email", b"jane@example.org").await.unwrap());
    assert_ne!(tag, app.app.lookup_tag(*a, "email", b"john@example.org").await.unwrap());
    assert_ne!(tag, app.app.lookup_tag(other_account, "email", b"jane@example.org").await.unwrap());

    // A TOTP seed, sealed with the account's data key, as a second canary.
    let client = app.verified_account("seed@example.org").await;
    let (secret, _) = app.enable_mfa(&client).await;
    let seed = base32_bytes(&secret);

    // The TOTP seed is the PHI-grade value stored today; the clinical
    // records' own canary tests extend this to every PHI table.
    let dump = app.db.raw_dump();
    assert!(!contains(&dump, &seed), "no plaintext TOTP seed");
    assert!(!contains(&dump, secret.as_bytes()), "no base32 TOTP seed");
    let provider = LocalKeyProvider::open(&app.settings.effective_kek_dir(), false).unwrap();
    let stored = app.app.store().data_key_of(*a).await.unwrap().expect("a data key");
    assert_eq!(stored.wrapped.kek, "local:v1");
    let key = provider.unwrap(&stored.wrapped, stored.owner).await.unwrap();
    assert!(!contains(&dump, key.expose_bytes()), "no plaintext data key");
    assert!(contains(&dump, &stored.wrapped.bytes), "the wrapped key is what is stored");
    app.stop().await;
}

/// 29: `rotate_keys` over 1,000 accounts, stopped after its first batch,
/// leaves every value readable (old and new KEK both open) and resumes
/// without a second new KEK; afterwards the old KEK can be destroyed and
/// everything still opens, read afresh after a restart.
async fn rotation_resumes_after_interruption(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let app = TestApp::spawn(db).await;
    let sealed = accounts_with_sealed_values(&app, 1_000).await;
    assert_eq!(app.app.key_status().await.unwrap(), ("local:v1".into(), vec![("local:v1".into(), 1_000)]));

    let mut batches = 0;
    let stopped = app
        .app
        .rotate_keys(|_| {
            batches += 1;
            ControlFlow::Break(())
        })
        .await
        .unwrap();
    assert_eq!((stopped.new_kek, stopped.finished, stopped.to_kek.as_str()), (true, false, "local:v2"));
    assert_eq!(stopped.rewrapped, 100);
    assert_eq!(stopped.keys_by_kek, vec![("local:v1".into(), 900), ("local:v2".into(), 100)]);
    assert!(app.app.destroy_kek("local:v1").await.is_err(), "v1 still wraps 900 keys");

    let app = app.restart_with(|_| {}).await;
    assert!(all_open(&app, &sealed).await, "half-rotated: both KEKs open");

    let mut seen = Vec::new();
    let resumed = app
        .app
        .rotate_keys(|p| {
            seen.push(p.rewrapped);
            ControlFlow::Continue(())
        })
        .await
        .unwrap();
    assert_eq!((resumed.new_kek, resumed.finished, resumed.to_kek.as_str()), (false, true, "local:v2"));
    assert_eq!(resumed.rewrapped, 900);
    assert_eq!(seen.last(), Some(&900), "progress reported: {seen:?}");
    assert_eq!(resumed.keys_by_kek, vec![("local:v2".into(), 1_000)]);

    app.app.destroy_kek("local:v1").await.unwrap();
    assert!(app.app.destroy_kek("local:v2").await.is_err(), "the current KEK stays");
    let app = app.restart_with(|_| {}).await;
    assert!(all_open(&app, &sealed).await, "everything opens under v2 alone");
    app.stop().await;
}

/// 30: destroying an account's data key makes its values unreadable at
/// once; a backup copy made before still holds the key wrapped under the
/// old KEK, and becomes unreadable when that KEK is destroyed after a
/// rotation. The other account reads on, from the live database.
async fn shredding_reaches_a_backup_copy(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let app = TestApp::spawn(db).await;
    let sealed = accounts_with_sealed_values(&app, 2).await;
    let (gone, kept) = (&sealed[..1], &sealed[1..]);
    let backup = app.db.backup_copy().await;

    assert!(app.app.destroy_data_key(gone[0].0, &RequestContext::default()).await.unwrap());
    assert!(!all_open(&app, gone).await, "shredded: no longer opens");
    assert!(all_open(&app, kept).await);
    assert!(app.app.store().data_key_of(gone[0].0).await.unwrap().is_none());

    let kek_dir = app.settings.effective_kek_dir();
    let restored = TestApp::spawn_with(backup, |s| s.kek_dir = Some(kek_dir.clone())).await;
    assert!(all_open(&restored, gone).await, "the backup still opens while its KEK exists");

    let report = app.app.rotate_keys(|_| ControlFlow::Continue(())).await.unwrap();
    assert_eq!(report.keys_by_kek, vec![("local:v2".into(), 1)]);
    app.app.destroy_kek("local:v1").await.unwrap();

    let restored = restored.restart_with(|_| {}).await;
    assert!(!all_open(&restored, gone).await, "the backup copy can no longer be read");
    let app = app.restart_with(|_| {}).await;
    assert!(all_open(&app, kept).await, "the live database reads on");
    restored.stop().await;
    app.stop().await;
}

/// 28 for files: a file is sealed before it reaches the store (no canary
/// in the blob folder), opens back whole, and fails when altered, cut
/// short, moved to another account, or after its account's key is
/// destroyed.
async fn files_are_sealed_in_the_store(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let app = TestApp::spawn(db).await;
    let sealed = accounts_with_sealed_values(&app, 2).await;
    let (owner, other) = (sealed[0].0, sealed[1].0);
    let recording: Vec<u8> = CANARY.iter().copied().cycle().take(300 * 1024).collect();
    let pieces: Vec<_> = recording.chunks(10_000).map(|c| Ok(bytes::Bytes::copy_from_slice(c))).collect();
    let body = futures_util::stream::iter(pieces);
    let stored = app.app.store_file(owner, "recording", Box::pin(body)).await.unwrap();
    assert!(stored.sealed_size > recording.len() as u64);
    assert_eq!(read(&app, owner, stored.id).await.unwrap(), recording);

    let folder = app.settings.effective_file_dir();
    let path = folder.join(owner.to_string()).join(stored.id.to_string());
    let mut raw = std::fs::read(&path).unwrap();
    assert!(!contains(&raw, CANARY), "no plaintext in the blob folder");
    assert!(read(&app, owner, Uuid::now_v7()).await.is_err(), "an unknown file");

    // Moved under another account's name: does not open.
    let moved = folder.join(other.to_string()).join(stored.id.to_string());
    std::fs::create_dir_all(moved.parent().unwrap()).unwrap();
    std::fs::copy(&path, &moved).unwrap();
    assert!(read(&app, other, stored.id).await.is_err(), "moved to another account");
    // Altered in place (the store never does that; an attacker might).
    raw[1000] ^= 0x04;
    std::fs::write(&path, &raw).unwrap();
    assert!(read(&app, owner, stored.id).await.is_err(), "altered");
    raw[1000] ^= 0x04;
    std::fs::write(&path, &raw[..raw.len() - 20]).unwrap();
    assert!(read(&app, owner, stored.id).await.is_err(), "cut short");
    std::fs::write(&path, &raw).unwrap();
    assert_eq!(read(&app, owner, stored.id).await.unwrap(), recording, "restored, it opens again");

    app.app.destroy_data_key(owner, &RequestContext::default()).await.unwrap();
    assert!(read(&app, owner, stored.id).await.is_err(), "shredded");
    app.stop().await;
}

async fn read(app: &TestApp, account: AccountId, id: Uuid) -> Result<Vec<u8>, String> {
    use futures_util::StreamExt;
    let mut stream = app.app.open_file(account, "recording", id).await.map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk.map_err(|e| e.to_string())?);
    }
    Ok(out)
}

on_both_backends! {
    checklist_28_files_are_sealed_before_they_reach_the_store => files_are_sealed_in_the_store;
    checklist_28_sealed_values_and_no_plaintext_in_a_raw_dump => sealed_values_and_raw_dump;
    checklist_29_key_rotation_of_1000_accounts_resumes_after_interruption => rotation_resumes_after_interruption;
    checklist_30_shredded_data_key_makes_a_backup_copy_unreadable => shredding_reaches_a_backup_copy;
}
