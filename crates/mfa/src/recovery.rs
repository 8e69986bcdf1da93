//! Recovery codes: ten single-use codes shown once at enrolment, for when the authenticator is lost.
//!
//! # Format
//!
//! Twelve characters in groups of four, `xxxx-xxxx-xxxx`, from the 31 characters
//! `23456789abcdefghjkmnpqrstuvwxyz` (no `0`/`o`, `1`/`l`, `i`, whatever the case), drawn uniformly
//! from the OS CSPRNG by rejection sampling: 12 × log₂ 31 ≈ 59.4 bits each. (Ten characters
//! would give 49.5 bits, under the 50 required.) Input is normalised before checking: case,
//! whitespace and dashes are ignored.
//!
//! # Storage
//!
//! Only `v1$<salt>$<tag>` is stored ([`RecoveryCodeHash`], base64 without padding), where
//! `tag = HMAC-SHA-256(pepper, "cbt-recovery-code-v1" ‖ salt ‖ code)` with a 16-byte random salt per
//! code and a server-side pepper ([`RecoveryPepper`]) kept out of the database, like the audit key.
//! A slow password hash (bcrypt, Argon2) is not needed: it protects low-entropy secrets against
//! guessing, and a 59-bit random code cannot be guessed offline even with a fast hash. The pepper
//! adds that a stolen database alone gives nothing to test guesses against; the salt makes equal
//! codes hash differently. Changing the pepper invalidates every stored code.
//!
//! # Single use
//!
//! This module only answers "does this input match this hash". The caller must delete (or mark
//! used) the matching hash in the same transaction that accepts it; a code whose hash is still
//! stored can be used again. [`RecoveryCodes::find_match`] returns which hash to delete.

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::{constant_time, hmac, rand};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;

use crate::MfaError;

/// Codes generated per enrolment (checklist item 10).
pub const CODE_COUNT: usize = 10;
/// Characters per code, dashes excluded.
pub const CODE_CHARS: usize = 12;
/// Characters per dash-separated group.
const GROUP: usize = 4;
/// No 0/o, 1/l or i: nothing a reader can confuse.
const ALPHABET: &[u8; 31] = b"23456789abcdefghjkmnpqrstuvwxyz";
const SALT_LEN: usize = 16;
const TAG_LEN: usize = 32;
/// Minimum pepper length (256 bits).
pub const PEPPER_MIN_LEN: usize = 32;
const DOMAIN: &[u8] = b"cbt-recovery-code-v1";
const VERSION: &str = "v1";
/// Longest input looked at; anything longer does not match without being scanned.
const MAX_INPUT_LEN: usize = 64;

/// The server-side key of the recovery-code hashes. Kept out of the database. `Debug` redacts it.
#[derive(Clone)]
pub struct RecoveryPepper(hmac::Key);

impl RecoveryPepper {
    /// At least [`PEPPER_MIN_LEN`] bytes of secret material.
    pub fn new(secret: &[u8]) -> Result<Self, MfaError> {
        if secret.len() < PEPPER_MIN_LEN {
            return Err(MfaError::PepperTooShort { minimum: PEPPER_MIN_LEN, actual: secret.len() });
        }
        Ok(Self(hmac::Key::new(hmac::HMAC_SHA256, secret)))
    }

    fn tag(&self, salt: &[u8; SALT_LEN], code: &[u8; CODE_CHARS]) -> hmac::Tag {
        let mut ctx = hmac::Context::with_key(&self.0);
        ctx.update(DOMAIN);
        ctx.update(salt);
        ctx.update(code);
        ctx.sign()
    }
}

impl fmt::Debug for RecoveryPepper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecoveryPepper([redacted])")
    }
}

/// The stored form of one recovery code. `Display` gives `v1$<salt b64>$<tag b64>`; [`FromStr`]
/// parses it back and refuses anything else (never panics).
#[derive(Clone, PartialEq, Eq)]
pub struct RecoveryCodeHash {
    salt: [u8; SALT_LEN],
    tag: [u8; TAG_LEN],
}

impl RecoveryCodeHash {
    /// Whether `input` is the code this hash was made from (see [`matches`]).
    pub fn matches(&self, pepper: &RecoveryPepper, input: &str) -> bool {
        matches(pepper, self, input)
    }
}

impl fmt::Display for RecoveryCodeHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{VERSION}${}${}", STANDARD_NO_PAD.encode(self.salt), STANDARD_NO_PAD.encode(self.tag))
    }
}

/// Shows the stored form: it is no secret without the pepper.
impl fmt::Debug for RecoveryCodeHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecoveryCodeHash({self})")
    }
}

impl FromStr for RecoveryCodeHash {
    type Err = MfaError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut parts = s.split('$');
        let (Some(version), Some(salt), Some(tag), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(MfaError::MalformedRecoveryHash("expected three `$`-separated parts"));
        };
        if version != VERSION {
            return Err(MfaError::MalformedRecoveryHash("unknown version"));
        }
        Ok(Self {
            salt: decode_exact(salt).ok_or(MfaError::MalformedRecoveryHash("bad salt"))?,
            tag: decode_exact(tag).ok_or(MfaError::MalformedRecoveryHash("bad hash"))?,
        })
    }
}

/// Canonical unpadded base64 of exactly `N` bytes.
fn decode_exact<const N: usize>(text: &str) -> Option<[u8; N]> {
    // Four characters per three bytes, rounded up; checked first so a long input is not decoded.
    if text.len() != (N * 4).div_ceil(3) {
        return None;
    }
    let bytes = STANDARD_NO_PAD.decode(text).ok()?;
    <[u8; N]>::try_from(bytes.as_slice()).ok()
}

/// Generation and lookup of a set of recovery codes.
pub struct RecoveryCodes;

impl RecoveryCodes {
    /// [`CODE_COUNT`] new codes: the plaintext, shown to the user once and never stored, and their
    /// hashes, in the same order, to store.
    pub fn generate(pepper: &RecoveryPepper) -> Result<(Vec<String>, Vec<RecoveryCodeHash>), MfaError> {
        let mut codes: Vec<[u8; CODE_CHARS]> = Vec::with_capacity(CODE_COUNT);
        // A repeat has probability about 2⁻⁵³; the bound only guards against a broken RNG.
        for _ in 0..CODE_COUNT * 4 {
            if codes.len() == CODE_COUNT {
                break;
            }
            let code = random_code()?;
            if !codes.contains(&code) {
                codes.push(code);
            }
        }
        if codes.len() != CODE_COUNT {
            return Err(MfaError::Random);
        }
        let mut hashes = Vec::with_capacity(CODE_COUNT);
        for code in &codes {
            let mut salt = [0u8; SALT_LEN];
            rand::fill(&mut salt).map_err(|_| MfaError::Random)?;
            let mut tag = [0u8; TAG_LEN];
            tag.copy_from_slice(&pepper.tag(&salt, code).as_ref()[..TAG_LEN]);
            hashes.push(RecoveryCodeHash { salt, tag });
        }
        Ok((codes.iter().map(display).collect(), hashes))
    }

    /// The index of the stored hash that `input` matches, if any: delete that one. Every hash is
    /// checked, so the time taken does not depend on which one matched.
    pub fn find_match(pepper: &RecoveryPepper, hashes: &[RecoveryCodeHash], input: &str) -> Option<usize> {
        let code = normalise(input)?;
        let mut found = None;
        for (index, hash) in hashes.iter().enumerate() {
            if check(pepper, hash, &code) && found.is_none() {
                found = Some(index);
            }
        }
        found
    }
}

/// Whether `input` is the code `hash` was made from. Case, whitespace and dashes are ignored;
/// the tags are compared in constant time.
pub fn matches(pepper: &RecoveryPepper, hash: &RecoveryCodeHash, input: &str) -> bool {
    normalise(input).is_some_and(|code| check(pepper, hash, &code))
}

fn check(pepper: &RecoveryPepper, hash: &RecoveryCodeHash, code: &[u8; CODE_CHARS]) -> bool {
    constant_time::verify_slices_are_equal(pepper.tag(&hash.salt, code).as_ref(), &hash.tag).is_ok()
}

/// The code's characters, lower case, with whitespace and dashes removed; `None` if anything else
/// is not in the alphabet or the length is wrong.
fn normalise(input: &str) -> Option<[u8; CODE_CHARS]> {
    if input.len() > MAX_INPUT_LEN {
        return None;
    }
    let mut out = [0u8; CODE_CHARS];
    let mut len = 0;
    for c in input.chars().filter(|c| !c.is_whitespace() && *c != '-') {
        let c = c.to_ascii_lowercase();
        if !c.is_ascii() || !ALPHABET.contains(&(c as u8)) || len == CODE_CHARS {
            return None;
        }
        out[len] = c as u8;
        len += 1;
    }
    (len == CODE_CHARS).then_some(out)
}

fn random_code() -> Result<[u8; CODE_CHARS], MfaError> {
    let mut code = [0u8; CODE_CHARS];
    let mut filled = 0;
    // Each byte is used with probability 31/32, so one buffer nearly always suffices.
    while filled < CODE_CHARS {
        let mut buffer = [0u8; 32];
        rand::fill(&mut buffer).map_err(|_| MfaError::Random)?;
        for byte in buffer {
            // Five low bits give 0..32; 31 is rejected so all 31 characters are equally likely.
            let index = usize::from(byte & 31);
            if let (Some(&c), Some(slot)) = (ALPHABET.get(index), code.get_mut(filled)) {
                *slot = c;
                filled += 1;
            }
        }
    }
    Ok(code)
}

fn display(code: &[u8; CODE_CHARS]) -> String {
    let mut out = String::with_capacity(CODE_CHARS + CODE_CHARS / GROUP);
    for (i, &c) in code.iter().enumerate() {
        if i > 0 && i % GROUP == 0 {
            out.push('-');
        }
        out.push(char::from(c));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn pepper() -> RecoveryPepper {
        RecoveryPepper::new(&[7u8; 32]).unwrap()
    }

    #[test]
    fn checklist_10_ten_codes_stored_hashed() {
        let pepper = pepper();
        let (codes, hashes) = RecoveryCodes::generate(&pepper).unwrap();
        assert_eq!(codes.len(), 10);
        assert_eq!(hashes.len(), 10);
        assert_eq!(codes.iter().collect::<HashSet<_>>().len(), 10);
        for (code, hash) in codes.iter().zip(&hashes) {
            assert_eq!(code.len(), 14);
            assert!(code.split('-').all(|group| group.len() == 4), "{code}");
            assert!(code.bytes().all(|c| c == b'-' || ALPHABET.contains(&c)), "{code}");
            let stored = hash.to_string();
            assert!(stored.starts_with("v1$"), "{stored}");
            assert!(!stored.contains(code.as_str()) && !stored.contains(&code.replace('-', "")));
            assert!(hash.matches(&pepper, code));
        }
        // Each code matches only its own hash.
        for (i, code) in codes.iter().enumerate() {
            assert_eq!(RecoveryCodes::find_match(&pepper, &hashes, code), Some(i));
        }
    }

    /// Item 10, single use: once the caller deletes the matched hash, the code matches nothing.
    #[test]
    fn checklist_10_recovery_code_single_use_by_deleting_its_hash() {
        let pepper = pepper();
        let (codes, mut hashes) = RecoveryCodes::generate(&pepper).unwrap();
        let used = RecoveryCodes::find_match(&pepper, &hashes, &codes[3]).unwrap();
        hashes.remove(used);
        assert_eq!(RecoveryCodes::find_match(&pepper, &hashes, &codes[3]), None);
        assert_eq!(RecoveryCodes::find_match(&pepper, &hashes, &codes[4]), Some(3));
    }

    #[test]
    fn input_is_normalised() {
        let pepper = pepper();
        let (codes, hashes) = RecoveryCodes::generate(&pepper).unwrap();
        let (code, hash) = (&codes[0], &hashes[0]);
        let bare = code.replace('-', "");
        for variant in [
            code.to_uppercase(),
            bare.clone(),
            format!("  {}  ", code.replace('-', " ")),
            format!("{}-{}", &bare[..6], &bare[6..]),
            format!("-{code}-"),
        ] {
            assert!(hash.matches(&pepper, &variant), "{variant:?}");
        }
        for variant in [&bare[..11], &format!("{bare}2"), &format!("{}_{}", &bare[..6], &bare[6..]), "", "-----"] {
            assert!(!hash.matches(&pepper, variant), "{variant:?}");
        }
        assert!(!hash.matches(&pepper, &code.repeat(10)));
    }

    #[test]
    fn wrong_pepper_or_code_does_not_match() {
        let (codes, hashes) = RecoveryCodes::generate(&pepper()).unwrap();
        let other = RecoveryPepper::new(&[8u8; 32]).unwrap();
        assert!(!hashes[0].matches(&other, &codes[0]));
        assert!(!hashes[0].matches(&pepper(), "2222-2222-2222"));
    }

    #[test]
    fn equal_codes_hash_differently() {
        let pepper = pepper();
        let code = *b"abcdefghjkmn";
        let hash = |salt: [u8; SALT_LEN]| {
            let mut tag = [0u8; TAG_LEN];
            tag.copy_from_slice(pepper.tag(&salt, &code).as_ref());
            RecoveryCodeHash { salt, tag }
        };
        let (a, b) = (hash([1; SALT_LEN]), hash([2; SALT_LEN]));
        assert_ne!(a.tag, b.tag);
        assert!(a.matches(&pepper, "abcd-efgh-jkmn") && b.matches(&pepper, "ABCD EFGH JKMN"));
    }

    #[test]
    fn hash_round_trips_through_its_stored_form() {
        let (_, hashes) = RecoveryCodes::generate(&pepper()).unwrap();
        for hash in hashes {
            let stored = hash.to_string();
            assert_eq!(stored.len(), 3 + 22 + 1 + 43);
            assert_eq!(stored.parse::<RecoveryCodeHash>().unwrap(), hash);
            assert_eq!(format!("{hash:?}"), format!("RecoveryCodeHash({stored})"));
        }
    }

    #[test]
    fn checklist_38_malformed_stored_hashes_are_refused() {
        let (_, hashes) = RecoveryCodes::generate(&pepper()).unwrap();
        let good = hashes[0].to_string();
        let (salt, tag) = (&good[3..25], &good[26..]);
        for bad in [
            String::new(),
            "v1".into(),
            "v1$$".into(),
            format!("v2${salt}${tag}"),
            format!("V1${salt}${tag}"),
            format!("v1${salt}"),
            format!("v1${salt}${tag}$"),
            format!("v1${tag}${salt}"),
            format!("v1${salt}=${tag}"),
            format!("v1${salt}${tag}="),
            format!("v1${}!${tag}", &salt[..21]),
            format!("v1${}${tag}", &salt[..21]),
            format!("v1${salt}${}", &tag[..42]),
            // Same length, non-canonical final character (unused bits set).
            format!("v1${}B${tag}", &salt[..21]),
            "v1$ä$ö".into(),
        ] {
            if bad == good {
                continue;
            }
            assert!(bad.parse::<RecoveryCodeHash>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn pepper_is_long_and_redacted() {
        assert_eq!(RecoveryPepper::new(&[1; 31]).unwrap_err(), MfaError::PepperTooShort { minimum: 32, actual: 31 });
        assert_eq!(format!("{:?}", pepper()), "RecoveryPepper([redacted])");
    }

    /// Every character of the alphabet turns up and none outside it (a cheap check on the sampler).
    #[test]
    fn sampler_uses_the_whole_alphabet() {
        let mut seen = HashSet::new();
        for _ in 0..100 {
            seen.extend(random_code().unwrap());
        }
        assert_eq!(seen, ALPHABET.iter().copied().collect());
        for bad in b"01ilo" {
            assert!(!ALPHABET.contains(bad));
        }
    }
}
