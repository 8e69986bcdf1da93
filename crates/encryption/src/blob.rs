//! Sealed files, streamed: a file is never whole in memory, sealed or open.
//!
//! The online AEAD construction STREAM (Hoang, Reyhanitabar, Rogaway, Vizár
//! 2015) over AES-256-GCM: the plaintext is cut into pieces of [`CHUNK`]
//! bytes, each sealed with the nonce `prefix (7) | counter (4, big-endian) |
//! last (1)`. Reordered, dropped, repeated or appended pieces fail to open;
//! a stream cut short lacks its last piece and fails with `Truncated`.
//!
//! ```text
//! 0x02 | data key id (16) | nonce prefix (7) | piece 0 | piece 1 | … | last piece
//! piece: ciphertext (CHUNK bytes; the last one 1..=CHUNK, 0 for an empty file) | GCM tag (16)
//! ```

use aws_lc_rs::aead::{Aad, LessSafeKey, NONCE_LEN, Nonce};
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::{DataKey, EncryptionError, SealedFor};

/// The first byte of a version-1 sealed file.
pub const VERSION: u8 = 2;
/// Plaintext bytes per piece.
pub const CHUNK: usize = 64 * 1024;
const TAG_LEN: usize = 16;
const PREFIX_LEN: usize = 7;
/// Length of the header before the first piece.
pub const HEADER_LEN: usize = 1 + 16 + PREFIX_LEN;
const LABEL: &[u8] = b"cbt-blob-v1";

/// Sealed size of a file of `plaintext_len` bytes.
pub fn sealed_len(plaintext_len: u64) -> u64 {
    let pieces = plaintext_len.div_ceil(CHUNK as u64).max(1);
    HEADER_LEN as u64 + plaintext_len + pieces * TAG_LEN as u64
}

struct Pieces {
    key: LessSafeKey,
    prefix: [u8; PREFIX_LEN],
    counter: u32,
    aad: Vec<u8>,
}

impl Pieces {
    fn nonce(&mut self, last: bool) -> Result<Nonce, EncryptionError> {
        let mut nonce = [0u8; NONCE_LEN];
        nonce[..PREFIX_LEN].copy_from_slice(&self.prefix);
        nonce[PREFIX_LEN..PREFIX_LEN + 4].copy_from_slice(&self.counter.to_be_bytes());
        nonce[NONCE_LEN - 1] = u8::from(last);
        // 2^32 pieces of 64 KiB is 256 TiB: far past any upload limit.
        self.counter = self.counter.checked_add(1).ok_or(EncryptionError::Malformed)?;
        Ok(Nonce::assume_unique_for_key(nonce))
    }

    /// Appends `plaintext` sealed as the next piece to `out` (one copy).
    fn seal_into(&mut self, plaintext: &[u8], last: bool, out: &mut Vec<u8>) -> Result<(), EncryptionError> {
        let nonce = self.nonce(last)?;
        let start = out.len();
        out.extend_from_slice(plaintext);
        let tag = self
            .key
            .seal_in_place_separate_tag(nonce, Aad::from(&self.aad[..]), &mut out[start..])
            .map_err(|_| EncryptionError::DoesNotOpen)?;
        out.extend_from_slice(tag.as_ref());
        Ok(())
    }

    /// Appends the plaintext of the sealed `piece` to `out` (one copy).
    fn open_into(&mut self, piece: &[u8], last: bool, out: &mut Vec<u8>) -> Result<(), EncryptionError> {
        let nonce = self.nonce(last)?;
        let start = out.len();
        out.extend_from_slice(piece);
        let opened = self.key.open_in_place(nonce, Aad::from(&self.aad[..]), &mut out[start..]).map(|p| p.len());
        match opened {
            Ok(len) => {
                out.truncate(start + len);
                Ok(())
            }
            Err(_) => {
                // Never leave unauthenticated bytes behind.
                out.truncate(start);
                Err(if last { EncryptionError::Truncated } else { EncryptionError::DoesNotOpen })
            }
        }
    }
}

/// Seals a file piece by piece: [`push`](Self::push) what arrives,
/// [`finish`](Self::finish) at the end; write out everything they return,
/// in order, after [`header`](Self::header).
pub struct BlobSealer {
    pieces: Pieces,
    header: Vec<u8>,
    pending: Zeroizing<Vec<u8>>,
}

impl BlobSealer {
    pub fn new(key: &DataKey, place: &SealedFor<'_>) -> Result<Self, EncryptionError> {
        let prefix = crate::random::<PREFIX_LEN>()?;
        let mut header = Vec::with_capacity(HEADER_LEN);
        header.push(VERSION);
        header.extend_from_slice(key.id().as_bytes());
        header.extend_from_slice(&prefix);
        let aad = place.associated_data(LABEL, &header);
        let pieces = Pieces { key: key.new_aead()?, prefix, counter: 0, aad };
        Ok(Self { pieces, header, pending: Zeroizing::new(Vec::with_capacity(CHUNK)) })
    }

    /// The bytes that start the sealed file.
    pub fn header(&self) -> &[u8] {
        &self.header
    }

    /// Takes more plaintext; returns the sealed pieces now complete (maybe
    /// none). A full piece is sealed only once more data follows it, since
    /// the last piece is sealed differently.
    pub fn push(&mut self, mut plaintext: &[u8]) -> Result<Vec<u8>, EncryptionError> {
        let mut out = Vec::with_capacity((self.pending.len() + plaintext.len()) / CHUNK * (CHUNK + TAG_LEN));
        while !plaintext.is_empty() {
            if self.pending.len() == CHUNK {
                self.pieces.seal_into(&self.pending, false, &mut out)?;
                self.pending.clear();
            }
            if self.pending.is_empty() && plaintext.len() > CHUNK {
                // Whole pieces straight from the input, not via `pending`.
                self.pieces.seal_into(&plaintext[..CHUNK], false, &mut out)?;
                plaintext = &plaintext[CHUNK..];
                continue;
            }
            let take = (CHUNK - self.pending.len()).min(plaintext.len());
            self.pending.extend_from_slice(&plaintext[..take]);
            plaintext = &plaintext[take..];
        }
        Ok(out)
    }

    /// Seals the last piece.
    pub fn finish(mut self) -> Result<Vec<u8>, EncryptionError> {
        let mut out = Vec::with_capacity(self.pending.len() + TAG_LEN);
        self.pieces.seal_into(&self.pending, true, &mut out)?;
        Ok(out)
    }
}

/// Opens a sealed file piece by piece. Plaintext it returns is
/// authentic, but the file is complete only once [`finish`](Self::finish)
/// succeeds: a consumer must not act on a file whose `finish` failed.
pub struct BlobOpener {
    pieces: Option<Pieces>,
    key: Option<LessSafeKey>,
    key_id: Uuid,
    place: (Uuid, String, String, Uuid),
    pending: Vec<u8>,
}

impl BlobOpener {
    pub fn new(key: &DataKey, place: &SealedFor<'_>) -> Result<Self, EncryptionError> {
        let place = (place.account, place.kind.to_owned(), place.field.to_owned(), place.record);
        Ok(Self { pieces: None, key: Some(key.new_aead()?), key_id: key.id(), place, pending: Vec::new() })
    }

    /// The id of the data key a sealed file names, from its first bytes.
    pub fn key_id(sealed_start: &[u8]) -> Result<Uuid, EncryptionError> {
        if sealed_start.len() < HEADER_LEN || sealed_start[0] != VERSION {
            return Err(EncryptionError::Malformed);
        }
        let id: [u8; 16] = sealed_start[1..17].try_into().map_err(|_| EncryptionError::Malformed)?;
        Ok(Uuid::from_bytes(id))
    }

    /// Takes more sealed bytes; returns the plaintext of the pieces now
    /// complete (maybe none). Whole pieces are opened straight from the
    /// input; only a piece split between calls is gathered first.
    pub fn push(&mut self, mut sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, EncryptionError> {
        const PIECE: usize = CHUNK + TAG_LEN;
        let mut out = Zeroizing::new(Vec::new());
        if self.pieces.is_none() {
            let take = (HEADER_LEN - self.pending.len()).min(sealed.len());
            self.pending.extend_from_slice(&sealed[..take]);
            sealed = &sealed[take..];
            if self.pending.len() < HEADER_LEN {
                return Ok(out);
            }
            let header = std::mem::take(&mut self.pending);
            if Self::key_id(&header)? != self.key_id {
                return Err(EncryptionError::DoesNotOpen);
            }
            let mut prefix = [0u8; PREFIX_LEN];
            prefix.copy_from_slice(&header[17..]);
            let key = self.key.take().ok_or(EncryptionError::Malformed)?;
            let (account, kind, field, record) = &self.place;
            let aad = SealedFor { account: *account, kind, field, record: *record }.associated_data(LABEL, &header);
            self.pieces = Some(Pieces { key, prefix, counter: 0, aad });
        }
        let pieces = self.pieces.as_mut().ok_or(EncryptionError::Malformed)?;
        // Room for every piece with its tag (opened in place), so the buffer
        // never moves: a move would leave plaintext behind, unzeroised.
        out.reserve(((self.pending.len() + sealed.len()) / PIECE + 1) * PIECE);
        // A full-size piece is the last one only if something follows it.
        if !self.pending.is_empty() {
            let take = (PIECE - self.pending.len().min(PIECE)).min(sealed.len());
            self.pending.extend_from_slice(&sealed[..take]);
            sealed = &sealed[take..];
            if sealed.is_empty() {
                return Ok(out);
            }
            pieces.open_into(&self.pending, false, &mut out)?;
            self.pending.clear();
        }
        while sealed.len() > PIECE {
            pieces.open_into(&sealed[..PIECE], false, &mut out)?;
            sealed = &sealed[PIECE..];
        }
        self.pending.extend_from_slice(sealed);
        Ok(out)
    }

    /// Opens the last piece. Fails if the file was cut short or has
    /// anything after its last piece.
    pub fn finish(mut self) -> Result<Zeroizing<Vec<u8>>, EncryptionError> {
        let Some(pieces) = self.pieces.as_mut() else { return Err(EncryptionError::Truncated) };
        if self.pending.len() < TAG_LEN {
            return Err(EncryptionError::Truncated);
        }
        let mut out = Zeroizing::new(Vec::with_capacity(self.pending.len()));
        pieces.open_into(&self.pending, true, &mut out)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn seal_all(key: &DataKey, place: &SealedFor<'_>, data: &[u8], step: usize) -> Vec<u8> {
        let mut sealer = BlobSealer::new(key, place).unwrap();
        let mut out = sealer.header().to_vec();
        for part in data.chunks(step.max(1)) {
            out.extend(sealer.push(part).unwrap());
        }
        out.extend(sealer.finish().unwrap());
        out
    }

    fn open_all(key: &DataKey, place: &SealedFor<'_>, sealed: &[u8], step: usize) -> Result<Vec<u8>, EncryptionError> {
        let mut opener = BlobOpener::new(key, place)?;
        let mut out = Vec::new();
        for part in sealed.chunks(step.max(1)) {
            out.extend_from_slice(&opener.push(part)?);
        }
        out.extend_from_slice(&opener.finish()?);
        Ok(out)
    }

    fn place() -> SealedFor<'static> {
        SealedFor { account: Uuid::now_v7(), kind: "recording", field: "file", record: Uuid::now_v7() }
    }

    #[test]
    fn files_of_every_boundary_size_round_trip_in_any_slicing() {
        let key = DataKey::generate().unwrap();
        let here = place();
        for len in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * CHUNK + 7] {
            let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            for step in [1000, CHUNK, CHUNK + TAG_LEN, 1 << 20] {
                let sealed = seal_all(&key, &here, &data, step);
                assert_eq!(sealed.len() as u64, sealed_len(len as u64), "len {len}");
                assert_eq!(open_all(&key, &here, &sealed, step + 3).unwrap(), data, "len {len} step {step}");
            }
        }
    }

    /// Checklist 28 for files: cut short, reordered, extended, moved or
    /// altered files do not open.
    #[test]
    fn checklist_28_altered_truncated_reordered_or_moved_files_fail() {
        let key = DataKey::generate().unwrap();
        let here = place();
        let data = vec![7u8; 3 * CHUNK + 10];
        let sealed = seal_all(&key, &here, &data, CHUNK);
        assert_ne!(sealed, seal_all(&key, &here, &data, CHUNK), "random nonce prefix");

        let piece = CHUNK + TAG_LEN;
        let cut_at_piece = &sealed[..HEADER_LEN + 2 * piece];
        assert_eq!(open_all(&key, &here, cut_at_piece, 4096).unwrap_err(), EncryptionError::Truncated);
        assert!(open_all(&key, &here, &sealed[..sealed.len() - 1], 4096).is_err());
        assert_eq!(open_all(&key, &here, &sealed[..10], 4096).unwrap_err(), EncryptionError::Truncated);

        let mut swapped = sealed.clone();
        let (a, b) = (HEADER_LEN, HEADER_LEN + piece);
        let first: Vec<u8> = swapped[a..b].to_vec();
        let second: Vec<u8> = swapped[b..b + piece].to_vec();
        swapped[a..b].copy_from_slice(&second);
        swapped[b..b + piece].copy_from_slice(&first);
        assert!(open_all(&key, &here, &swapped, 4096).is_err(), "reordered");

        let mut extended = sealed.clone();
        extended.extend_from_slice(&[0u8; 32]);
        assert!(open_all(&key, &here, &extended, 4096).is_err(), "extended");

        let mut flipped = sealed.clone();
        flipped[HEADER_LEN + piece + 5] ^= 0x10;
        assert!(open_all(&key, &here, &flipped, 4096).is_err(), "altered");

        let elsewhere = SealedFor { record: Uuid::now_v7(), ..here };
        assert!(open_all(&key, &elsewhere, &sealed, 4096).is_err(), "moved");
        let other_key = DataKey::generate().unwrap();
        assert!(open_all(&other_key, &here, &sealed, 4096).is_err(), "other key");
        assert_eq!(BlobOpener::key_id(&sealed).unwrap(), key.id());
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_open_or_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400), step in 1usize..64) {
            let key = DataKey::generate().unwrap();
            prop_assert!(open_all(&key, &place(), &bytes, step).is_err());
        }
    }
}
