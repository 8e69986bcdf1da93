//! The keyed hash chain over the audit log.
//!
//! Entry `n` stores `hash_n = HMAC(key, "cbt-audit-v1" ‖ n ‖ hash_{n-1} ‖
//! fields_n)`, with `hash_0` all zeros. Editing a row breaks its own hash;
//! deleting, inserting or reordering rows breaks the link to the neighbour;
//! forging a replacement needs the key, which never lives in the database.
//!
//! Deleting the *newest* rows would leave a shorter but valid chain, so the
//! store also keeps a head record (last sequence number and hash) with its
//! own tag, `HMAC(key, "cbt-audit-head-v1" ‖ n ‖ hash_n)`. Rolling the head
//! back needs either the key or an old copy of the head row.

use std::fmt;

use aws_lc_rs::{constant_time, hmac};
use uuid::Uuid;

use super::{AuditEntry, AuditEvent, AuditFields};

/// `hash_0`: what the first entry links to.
pub const GENESIS_HASH: [u8; 32] = [0; 32];

const ENTRY_DOMAIN: &[u8] = b"cbt-audit-v1";
const HEAD_DOMAIN: &[u8] = b"cbt-audit-head-v1";

/// The secret that keys the chain. Kept out of the database (a file under
/// the data folder locally, a secret in production).
#[derive(Clone)]
pub struct AuditKey(hmac::Key);

impl AuditKey {
    /// At least 32 bytes of secret material.
    pub fn new(secret: &[u8]) -> Self {
        Self(hmac::Key::new(hmac::HMAC_SHA256, secret))
    }

    /// The hash of one entry given the previous entry's hash.
    pub fn entry_hash(&self, seq: i64, prev_hash: &[u8], fields: &AuditFields) -> [u8; 32] {
        let mut ctx = hmac::Context::with_key(&self.0);
        ctx.update(ENTRY_DOMAIN);
        ctx.update(&seq.to_be_bytes());
        put(&mut ctx, Some(prev_hash));
        put(&mut ctx, Some(fields.id.as_bytes()));
        ctx.update(&crate::time::unix_micros(fields.occurred_at).to_be_bytes());
        for field in [
            Some(fields.actor_kind.as_str()),
            fields.actor_id.as_deref(),
            Some(fields.action.as_str()),
            Some(fields.target_kind.as_str()),
            fields.target_id.as_deref(),
            Some(fields.outcome.as_str()),
            fields.ip.as_deref(),
            fields.user_agent.as_deref(),
            fields.request_id.as_deref(),
        ] {
            put(&mut ctx, field.map(str::as_bytes));
        }
        to_array(ctx.sign())
    }

    /// The tag that protects the head record.
    pub fn head_tag(&self, seq: i64, hash: &[u8]) -> [u8; 32] {
        let mut ctx = hmac::Context::with_key(&self.0);
        ctx.update(HEAD_DOMAIN);
        ctx.update(&seq.to_be_bytes());
        put(&mut ctx, Some(hash));
        to_array(ctx.sign())
    }

    /// The head record after appending an entry.
    pub fn head(&self, seq: i64, hash: &[u8]) -> ChainHead {
        ChainHead { seq, hash: hash.to_vec(), tag: self.head_tag(seq, hash).to_vec() }
    }

    /// Chains `events` after the stored head's `(seq, hash)` (`None`:
    /// nothing stored yet): the entries to store, in order, and the head
    /// that follows them. Every store appends through this, under its
    /// chain lock.
    pub fn link(&self, head: Option<(i64, Vec<u8>)>, events: &[AuditEvent]) -> (Vec<AuditEntry>, ChainHead) {
        let (mut seq, mut prev_hash) = head.unwrap_or_else(|| (0, GENESIS_HASH.to_vec()));
        let mut entries = Vec::with_capacity(events.len());
        for event in events {
            seq += 1;
            let fields = event.to_fields();
            let hash = self.entry_hash(seq, &prev_hash, &fields).to_vec();
            entries.push(AuditEntry { seq, fields, prev_hash: std::mem::replace(&mut prev_hash, hash.clone()), hash });
        }
        (entries, self.head(seq, &prev_hash))
    }
}

impl fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuditKey([redacted])")
    }
}

/// Length-prefixed, so ("ab","c") and ("a","bc") hash differently; `None`
/// is distinct from the empty string.
fn put(ctx: &mut hmac::Context, value: Option<&[u8]>) {
    match value {
        Some(v) => {
            let len = u32::try_from(v.len()).unwrap_or(u32::MAX - 1);
            ctx.update(&len.to_be_bytes());
            ctx.update(v);
        }
        None => ctx.update(&u32::MAX.to_be_bytes()),
    }
}

fn to_array(tag: hmac::Tag) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(&tag.as_ref()[..32]);
    out
}

fn same(a: &[u8], b: &[u8]) -> bool {
    constant_time::verify_slices_are_equal(a, b).is_ok()
}

/// The stored head of the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainHead {
    pub seq: i64,
    pub hash: Vec<u8>,
    pub tag: Vec<u8>,
}

/// The first place where the log stops being what was written.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    #[error("audit entry #{seq} (id {id}) was edited: its contents do not match its hash")]
    Edited { seq: i64, id: Uuid },
    #[error("audit entries #{expected} to #{} are missing (deleted) before entry #{found} (id {id})", found - 1)]
    Missing { expected: i64, found: i64, id: Uuid },
    #[error(
        "audit entry #{seq} (id {id}) does not follow entry #{}: an entry was inserted, deleted or moved here", seq - 1
    )]
    OutOfPlace { seq: i64, id: Uuid },
    #[error("audit entry #{seq} (id {id}) appears more than once")]
    Duplicate { seq: i64, id: Uuid },
    #[error("the newest audit entries after #{last_seq} were deleted (the chain head records #{head_seq})")]
    Truncated { last_seq: i64, head_seq: i64 },
    #[error("the audit chain head was altered (it does not carry a valid tag)")]
    HeadForged,
    #[error("audit entries #{} to #{last_seq} are not covered by the chain head (added after the fact)", head_seq + 1)]
    BeyondHead { head_seq: i64, last_seq: i64 },
}

/// What a clean verification saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainSummary {
    pub entries: i64,
    /// The newest hash, hex-encoded (operators may record it elsewhere).
    pub head_hash_hex: String,
}

/// Checks entries fed in ascending sequence order, one at a time, so a log
/// of millions of rows is verified in pages without holding it in memory.
pub struct ChainVerifier<'k> {
    key: &'k AuditKey,
    expected_seq: i64,
    prev_hash: Vec<u8>,
}

impl<'k> ChainVerifier<'k> {
    pub fn new(key: &'k AuditKey) -> Self {
        Self { key, expected_seq: 1, prev_hash: GENESIS_HASH.to_vec() }
    }

    /// The sequence number of the last entry accepted (0 before any).
    pub fn last_seq(&self) -> i64 {
        self.expected_seq - 1
    }

    pub fn feed(&mut self, entry: &AuditEntry) -> Result<(), ChainBreak> {
        let id = entry.fields.id;
        if entry.seq < self.expected_seq {
            return Err(ChainBreak::Duplicate { seq: entry.seq, id });
        }
        if entry.seq > self.expected_seq {
            return Err(ChainBreak::Missing { expected: self.expected_seq, found: entry.seq, id });
        }
        // A row that links to the wrong predecessor was moved or inserted
        // here; one that links right but fails its own hash was edited.
        if !same(&entry.prev_hash, &self.prev_hash) {
            return Err(ChainBreak::OutOfPlace { seq: entry.seq, id });
        }
        let own = self.key.entry_hash(entry.seq, &entry.prev_hash, &entry.fields);
        if !same(&own, &entry.hash) {
            return Err(ChainBreak::Edited { seq: entry.seq, id });
        }
        self.expected_seq += 1;
        self.prev_hash = entry.hash.clone();
        Ok(())
    }

    /// Compares the end of the chain with the stored head.
    pub fn finish(self, head: Option<&ChainHead>) -> Result<ChainSummary, ChainBreak> {
        let last_seq = self.last_seq();
        match head {
            None if last_seq == 0 => {}
            None => return Err(ChainBreak::BeyondHead { head_seq: 0, last_seq }),
            Some(head) => {
                if !same(&self.key.head_tag(head.seq, &head.hash), &head.tag) {
                    return Err(ChainBreak::HeadForged);
                }
                if head.seq > last_seq {
                    return Err(ChainBreak::Truncated { last_seq, head_seq: head.seq });
                }
                if head.seq < last_seq {
                    return Err(ChainBreak::BeyondHead { head_seq: head.seq, last_seq });
                }
                if !same(&head.hash, &self.prev_hash) {
                    return Err(ChainBreak::HeadForged);
                }
            }
        }
        Ok(ChainSummary { entries: last_seq, head_hash_hex: hex(&self.prev_hash) })
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::*;

    fn key() -> AuditKey {
        AuditKey::new(&[7u8; 32])
    }

    fn event(seq: i64) -> AuditEvent {
        AuditEvent::new(
            time::OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(seq),
            Actor::System,
            AuditAction::ServerStarted,
            AuditTarget::system(),
            AuditOutcome::Success,
            RequestContext::default(),
        )
    }

    fn chain(key: &AuditKey, n: i64) -> (Vec<AuditEntry>, ChainHead) {
        key.link(None, &(1..=n).map(event).collect::<Vec<_>>())
    }

    fn verify(key: &AuditKey, entries: &[AuditEntry], head: &ChainHead) -> Result<ChainSummary, ChainBreak> {
        let mut v = ChainVerifier::new(key);
        for e in entries {
            v.feed(e)?;
        }
        v.finish(Some(head))
    }

    /// Appending in batches, each after the head the last one left,
    /// makes the same chain as appending everything at once.
    #[test]
    fn checklist_32_batches_link_after_the_stored_head() {
        let k = key();
        let events: Vec<AuditEvent> = (1..=5).map(event).collect();
        let (first, head) = k.link(None, &events[..2]);
        assert_eq!(first[0].prev_hash, GENESIS_HASH.to_vec());
        let (rest, head) = k.link(Some((head.seq, head.hash)), &events[2..]);
        assert_eq!(rest[0].seq, 3);
        assert_eq!(rest[0].prev_hash, first[1].hash);
        let all: Vec<AuditEntry> = first.into_iter().chain(rest).collect();
        assert_eq!((all.clone(), head.clone()), k.link(None, &events));
        assert!(verify(&k, &all, &head).is_ok());
    }

    #[test]
    fn checklist_32_untouched_chain_verifies() {
        let k = key();
        let (entries, head) = chain(&k, 5);
        assert_eq!(verify(&k, &entries, &head).map(|s| s.entries), Ok(5));
    }

    #[test]
    fn checklist_32_edit_is_named() {
        let k = key();
        let (mut entries, head) = chain(&k, 5);
        entries[2].fields.outcome = "failure".into();
        let id = entries[2].fields.id;
        assert_eq!(verify(&k, &entries, &head), Err(ChainBreak::Edited { seq: 3, id }));
    }

    #[test]
    fn checklist_32_deletion_is_named() {
        let k = key();
        let (mut entries, head) = chain(&k, 5);
        entries.remove(1);
        let id = entries[1].fields.id;
        assert_eq!(verify(&k, &entries, &head), Err(ChainBreak::Missing { expected: 2, found: 3, id }));
    }

    #[test]
    fn checklist_32_swapped_rows_are_named() {
        let k = key();
        let (mut entries, head) = chain(&k, 5);
        // Swap the contents of rows 2 and 3 but keep the sequence numbers.
        let (a, b) = (entries[1].clone(), entries[2].clone());
        entries[1] = AuditEntry { seq: 2, ..b };
        entries[2] = AuditEntry { seq: 3, ..a };
        let id = entries[1].fields.id;
        assert_eq!(verify(&k, &entries, &head), Err(ChainBreak::OutOfPlace { seq: 2, id }));
    }

    #[test]
    fn checklist_32_forged_entry_without_key_is_found() {
        let k = key();
        let (mut entries, head) = chain(&k, 3);
        let forger = AuditKey::new(&[8u8; 32]);
        entries[1].fields.action = "audit.verify".into();
        entries[1].hash = forger.entry_hash(2, &entries[1].prev_hash, &entries[1].fields).to_vec();
        let id = entries[1].fields.id;
        assert_eq!(verify(&k, &entries, &head), Err(ChainBreak::Edited { seq: 2, id }));
    }

    #[test]
    fn checklist_32_tail_truncation_is_found() {
        let k = key();
        let (mut entries, head) = chain(&k, 4);
        entries.pop();
        assert_eq!(verify(&k, &entries, &head), Err(ChainBreak::Truncated { last_seq: 3, head_seq: 4 }));
        // Rolling the head back by hand needs the key.
        let forged = ChainHead { seq: 3, hash: entries[2].hash.clone(), tag: head.tag.clone() };
        assert_eq!(verify(&k, &entries, &forged), Err(ChainBreak::HeadForged));
    }

    #[test]
    fn empty_log_verifies() {
        let k = key();
        assert_eq!(ChainVerifier::new(&k).finish(None).map(|s| s.entries), Ok(0));
    }
}
