//! Each account's data key: created on first need, unwrapped through the
//! `KeyProvider`, cached for a bounded time, used to seal and open PHI
//! fields; rotation of the key-encryption key (KEK) and crypto-shredding.

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cbt_domain::AccountId;
use cbt_domain::audit::{Actor, AuditAction, AuditOutcome, AuditTarget, RequestContext, TargetKind};
use cbt_encryption::{DataKey, SealedFor};
use cbt_ports::{KeyOwner, StoredDataKey};
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::{App, AppError};

/// How long an unwrapped data key stays in memory after it was unwrapped.
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(300);
/// Unwrapped keys kept at most (expired ones are dropped first).
const KEY_CACHE_MAX: usize = 10_000;
/// Data keys re-wrapped per batch during a rotation.
const ROTATION_BATCH: u32 = 100;

/// Unwrapped data keys by account. A key leaves the cache when it expires,
/// when its account's key is destroyed, or when the cache is full; its
/// bytes are zeroised when the last user drops it.
#[derive(Default)]
pub(crate) struct KeyCache(Mutex<HashMap<AccountId, (Arc<DataKey>, Instant)>>);

impl KeyCache {
    fn get(&self, account: AccountId) -> Option<Arc<DataKey>> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&account).filter(|(_, at)| at.elapsed() < KEY_CACHE_TTL).map(|(key, _)| key.clone())
    }

    fn put(&self, account: AccountId, key: Arc<DataKey>) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= KEY_CACHE_MAX {
            map.retain(|_, (_, at)| at.elapsed() < KEY_CACHE_TTL);
            if map.len() >= KEY_CACHE_MAX {
                map.clear();
            }
        }
        map.insert(account, (key, Instant::now()));
    }

    fn forget(&self, account: AccountId) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).remove(&account);
    }
}

/// Where a rotation stands, reported after each batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RotationProgress {
    /// The KEK keys are being moved to.
    pub to_kek: String,
    /// Keys moved so far by this run.
    pub rewrapped: u64,
    /// Keys that were still to move when this run started.
    pub total: u64,
}

/// What a finished (or stopped) rotation did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RotationReport {
    pub to_kek: String,
    /// A new KEK was made current by this run (false: an unfinished rotation
    /// was resumed, or the provider's KEK changed by configuration).
    pub new_kek: bool,
    pub rewrapped: u64,
    /// False when the progress callback stopped it early.
    pub finished: bool,
    /// KEKs still wrapping some key, with how many (after this run).
    pub keys_by_kek: Vec<(String, u64)>,
}

impl App {
    /// The account's data key; when it has none, a new one if `create`
    /// (sealing), else an error (opening: a destroyed key is never replaced
    /// by a new one that could not open anything anyway).
    pub(crate) async fn data_key(&self, account: AccountId, create: bool) -> Result<Arc<DataKey>, AppError> {
        if let Some(key) = self.key_cache.get(account) {
            return Ok(key);
        }
        let key = match self.store.data_key_of(account).await? {
            Some(stored) => self.keys.unwrap(&stored.wrapped, stored.owner).await?,
            None if create => self.create_data_key(account).await?,
            None => return Err(AppError::Internal("the account has no data key (destroyed or never made)".into())),
        };
        let key = Arc::new(key);
        self.key_cache.put(account, key.clone());
        Ok(key)
    }

    async fn create_data_key(&self, account: AccountId) -> Result<DataKey, AppError> {
        let owner = KeyOwner { account, key_id: Uuid::now_v7() };
        let (key, wrapped) = self.keys.generate_data_key(owner).await?;
        let stored = StoredDataKey { owner, wrapped, created_at: self.clock.now(), rewrapped_at: None };
        let mut tx = self.store.begin().await?;
        let inserted = tx.insert_data_key(&stored).await?;
        tx.commit().await?;
        if inserted {
            return Ok(key);
        }
        // Another request created the account's key first: use that one.
        let winner = self.store.data_key_of(account).await?.ok_or(AppError::NotFound)?;
        Ok(self.keys.unwrap(&winner.wrapped, winner.owner).await?)
    }

    /// Seals a PHI value for its place (account, record kind, field, record).
    pub async fn seal_field(&self, place: &SealedFor<'_>, plaintext: &[u8]) -> Result<Vec<u8>, AppError> {
        let key = self.data_key(AccountId::from_uuid(place.account), true).await?;
        Ok(cbt_encryption::field::seal(&key, place, plaintext)?)
    }

    /// Opens a sealed PHI value; any alteration, a value moved from another
    /// place, or a destroyed key is an error, never garbage.
    pub async fn open_field(&self, place: &SealedFor<'_>, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, AppError> {
        let key = self.data_key(AccountId::from_uuid(place.account), false).await?;
        Ok(cbt_encryption::field::open(&key, place, sealed)?)
    }

    /// Seals a clinical document (a client's details, a note, …) as the
    /// version `version` of record `record` of kind `kind`: bound to all
    /// four, so a version cannot stand in for another.
    pub(crate) async fn seal_document<T: serde::Serialize>(
        &self,
        account: AccountId,
        kind: &str,
        record: Uuid,
        version: i64,
        document: &T,
    ) -> Result<Vec<u8>, AppError> {
        let json = Zeroizing::new(serde_json::to_vec(document).map_err(|e| AppError::Internal(e.to_string()))?);
        let field = format!("document.v{version}");
        self.seal_field(&SealedFor { account: account.as_uuid(), kind, field: &field, record }, &json).await
    }

    /// Opens what [`App::seal_document`] sealed.
    pub(crate) async fn open_document<T: serde::de::DeserializeOwned + zeroize::Zeroize>(
        &self,
        account: AccountId,
        kind: &str,
        record: Uuid,
        version: i64,
        sealed: &[u8],
    ) -> Result<cbt_domain::Phi<T>, AppError> {
        let field = format!("document.v{version}");
        let json =
            self.open_field(&SealedFor { account: account.as_uuid(), kind, field: &field, record }, sealed).await?;
        let document =
            serde_json::from_slice(&json).map_err(|_| AppError::Internal(format!("a stored {kind} is unreadable")))?;
        Ok(cbt_domain::Phi::new(document))
    }

    /// The account's blind-index tag of a PHI value, for exact lookups
    /// without storing the value: equal values give equal tags within the
    /// account only. `value` is normalised by the caller (trimmed,
    /// lower-cased, as the lookup needs).
    pub async fn lookup_tag(&self, account: AccountId, field: &str, value: &[u8]) -> Result<[u8; 32], AppError> {
        let key = self.data_key(account, true).await?;
        Ok(cbt_encryption::BlindIndex::new(&key).tag(field, value))
    }

    /// Re-wraps every data key under the current KEK, in batches, without
    /// touching anything sealed. When every key is already under the current
    /// KEK, first asks the provider for a new one. Safe to stop (the
    /// callback returns `Break`, or the process dies) and run again: each
    /// key records its KEK, and a re-wrap applies only if the key is still
    /// under the KEK it was read with. Old KEKs keep opening until they are
    /// destroyed ([`App::destroy_kek`]).
    pub async fn rotate_keys(
        &self,
        mut progress: impl FnMut(&RotationProgress) -> ControlFlow<()>,
    ) -> Result<RotationReport, AppError> {
        let mut current = self.keys.current_kek();
        let counts = self.store.data_key_counts().await?;
        let waiting = |kek: &str| counts.iter().filter(|(k, _)| k != kek).map(|(_, n)| n).sum::<u64>();
        let mut new_kek = false;
        if waiting(&current) == 0
            && let Some(next) = self.keys.new_kek().await?
        {
            current = next;
            new_kek = true;
        }
        let mut state = RotationProgress { to_kek: current.clone(), rewrapped: 0, total: waiting(&current) };
        let mut after = None;
        let mut finished = true;
        loop {
            let batch = self.store.data_keys_not_under(&current, after, ROTATION_BATCH).await?;
            let Some(last) = batch.last() else { break };
            after = Some(last.owner.key_id);
            for key in &batch {
                let wrapped = self.keys.rewrap(&key.wrapped, key.owner).await?;
                if self.store.rewrap_data_key(key.owner.key_id, &key.wrapped.kek, &wrapped, self.clock.now()).await? {
                    state.rewrapped += 1;
                }
            }
            if progress(&state).is_break() {
                finished = false;
                break;
            }
        }
        let outcome = if finished { AuditOutcome::Success } else { AuditOutcome::Failure };
        self.record_system_event(AuditAction::KeysRotated, outcome).await?;
        Ok(RotationReport {
            to_kek: current,
            new_kek,
            rewrapped: state.rewrapped,
            finished,
            keys_by_kek: self.store.data_key_counts().await?,
        })
    }

    /// How many data keys each KEK wraps, and which KEK is current.
    pub async fn key_status(&self) -> Result<(String, Vec<(String, u64)>), AppError> {
        Ok((self.keys.current_kek(), self.store.data_key_counts().await?))
    }

    /// Destroys a retired KEK that no data key uses any more. Copies of the
    /// database made while it was in use (backups) then hold only keys that
    /// nothing can unwrap: with it go the accounts shredded since.
    pub async fn destroy_kek(&self, kek: &str) -> Result<(), AppError> {
        if kek == self.keys.current_kek() {
            return Err(AppError::Internal("the current key-encryption key cannot be destroyed".into()));
        }
        if let Some((_, n)) = self.store.data_key_counts().await?.into_iter().find(|(k, _)| k == kek) {
            return Err(AppError::Internal(format!(
                "{n} data key(s) are still wrapped by {kek}: finish `keys rotate` first"
            )));
        }
        self.keys.destroy_kek(kek).await?;
        self.record_system_event(AuditAction::KekDestroyed, AuditOutcome::Success).await?;
        Ok(())
    }

    /// Crypto-shredding: destroys the account's data key, so that nothing
    /// it sealed opens again, here or in any copy once the KEK that wrapped
    /// it is destroyed. Audited; the audit event holds only ids.
    pub async fn destroy_data_key(&self, account: AccountId, ctx: &RequestContext) -> Result<bool, AppError> {
        let stored = self.store.data_key_of(account).await?;
        let mut tx = self.store.begin().await?;
        let destroyed = tx.destroy_data_key(account).await?;
        if destroyed {
            let target = AuditTarget { kind: TargetKind::DataKey, id: stored.map(|s| s.owner.key_id) };
            let event = self.event(Actor::System, AuditAction::DataKeyDestroyed, target, AuditOutcome::Success, ctx);
            self.audit(&mut tx, event).await?;
        }
        tx.commit().await?;
        self.key_cache.forget(account);
        Ok(destroyed)
    }
}
