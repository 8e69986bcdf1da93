//! TOTP (RFC 6238) with HMAC-SHA-1, 6 digits and a 30-second step: the parameters every
//! authenticator app supports (many ignore `algorithm`, `digits` and `period` in the URI).
//!
//! # Why no TOTP crate
//!
//! The HOTP truncation (RFC 4226 §5.3) is ten lines over `aws_lc_rs::hmac`, which the workspace
//! already uses. `totp-rs` 5.x would add nine RustCrypto crates (`hmac`/`sha1`/`sha2`/`digest` 0.10,
//! `base32`, `constant_time_eq`, …) and still leave most of the work here: its `check` returns only
//! `bool`, not the matched step that replay protection needs, and computes `time / step - skew` in
//! `u64`, which underflows for times in the first step.
//!
//! # Rules
//!
//! - Window: the current step and one step either side (checklist item 10: ±1 step), so a code is
//!   accepted from 30 s before its step begins until 30 s after it ends.
//! - Replay: [`verify`] returns the matched step; the caller stores it as `last_used_step` in the
//!   same transaction that accepts the code, and any code whose step is `<=` that is refused
//!   ([`TotpError::Replayed`]). This also refuses an *older* valid code once a newer one was used.
//!   If the server clock goes backwards, codes are refused until it passes the stored step again.
//! - Input: exactly six ASCII digits; whitespace anywhere is ignored ("123 456").
//! - Comparison in constant time. Failed attempts must be rate-limited by the caller.

use std::fmt;

use aws_lc_rs::{constant_time, hmac, rand};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use zeroize::Zeroize;

use crate::MfaError;

/// Length of a generated secret: 160 bits, the HMAC-SHA-1 output size (RFC 4226 §4 recommends it).
pub const SECRET_LEN: usize = 20;
/// Digits in a code.
pub const DIGITS: usize = 6;
/// Seconds per time step.
pub const STEP_SECONDS: i64 = 30;
/// Steps accepted either side of the current one.
pub const WINDOW_STEPS: i64 = 1;
/// The issuer shown in authenticator apps.
pub const ISSUER: &str = "CBT Assistant Pro";

/// Longest input looked at; anything longer is malformed without being scanned.
const MAX_INPUT_LEN: usize = 64;

/// RFC 3986 unreserved characters stay as they are; everything else is percent-encoded.
const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// A shared TOTP secret. `Debug` redacts it; its bytes are zeroed when it is dropped.
pub struct TotpSecret([u8; SECRET_LEN]);

impl TotpSecret {
    /// A new secret from the operating system's CSPRNG.
    pub fn generate() -> Result<Self, MfaError> {
        let mut bytes = [0u8; SECRET_LEN];
        rand::fill(&mut bytes).map_err(|_| MfaError::Random)?;
        Ok(Self(bytes))
    }

    /// A stored secret: exactly [`SECRET_LEN`] bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, MfaError> {
        let array = <[u8; SECRET_LEN]>::try_from(bytes)
            .map_err(|_| MfaError::SecretLength { expected: SECRET_LEN, actual: bytes.len() })?;
        Ok(Self(array))
    }

    /// The raw secret, to be stored (encrypted).
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// RFC 4648 base32 without padding, for typing into an app by hand. It is the secret itself:
    /// show it only on the enrolment page and never log it.
    pub fn to_base32(&self) -> String {
        base32(&self.0)
    }

    /// The `otpauth://totp/…` URI that the enrolment QR code carries (Google's "Key Uri Format").
    /// Issuer and account label are percent-encoded separately, so a `:` inside either cannot move
    /// the split between them. Contains the secret: never log it.
    pub fn otpauth_uri(&self, issuer: &str, account_label: &str) -> String {
        let issuer = utf8_percent_encode(issuer, URI_COMPONENT).to_string();
        let account = utf8_percent_encode(account_label, URI_COMPONENT);
        let secret = self.to_base32();
        format!(
            "otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}\
             &algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}"
        )
    }
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret([redacted])")
    }
}

impl Drop for TotpSecret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// Why a code was refused. Show the user one message for all three (a replayed code may have been
/// seen by someone else); the variants are for the audit log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TotpError {
    #[error("the code is not six digits")]
    Malformed,
    #[error("the code is wrong or expired")]
    Invalid,
    #[error("the code was already used")]
    Replayed,
}

/// The time step containing `unix` (seconds since 1970): `floor(unix / 30)`.
pub fn step_at(unix: i64) -> i64 {
    unix.div_euclid(STEP_SECONDS)
}

/// The code an authenticator app shows at `unix`. Times before 1970 give step 0's code.
pub fn code_at(secret: &TotpSecret, unix: i64) -> String {
    let counter = u64::try_from(step_at(unix)).unwrap_or(0);
    String::from_utf8_lossy(&code_digits(hotp(secret, counter))).into_owned()
}

/// Checks `code` at `now_unix` against the current step and [`WINDOW_STEPS`] either side, and
/// returns the matched step, which the caller stores as the new `last_used_step`. Every step of
/// the window is computed and compared whatever the outcome.
pub fn verify(secret: &TotpSecret, code: &str, now_unix: i64, last_used_step: Option<i64>) -> Result<i64, TotpError> {
    let input = parse_code(code).ok_or(TotpError::Malformed)?;
    let current = step_at(now_unix);
    let mut accepted = None;
    let mut replayed = false;
    for offset in -WINDOW_STEPS..=WINDOW_STEPS {
        // Steps before 1970 (or past i64) do not exist: nothing to match.
        let Some(step) = current.checked_add(offset) else { continue };
        let Ok(counter) = u64::try_from(step) else { continue };
        let expected = code_digits(hotp(secret, counter));
        if constant_time::verify_slices_are_equal(&expected, &input).is_ok() {
            if last_used_step.is_some_and(|last| step <= last) {
                replayed = true;
            } else {
                // Ascending order: if two steps match (chance 10⁻⁶), the later one is kept, which
                // blocks more codes afterwards.
                accepted = Some(step);
            }
        }
    }
    match (accepted, replayed) {
        (Some(step), _) => Ok(step),
        (None, true) => Err(TotpError::Replayed),
        (None, false) => Err(TotpError::Invalid),
    }
}

/// Six ASCII digits once whitespace is removed, else `None`.
fn parse_code(code: &str) -> Option<[u8; DIGITS]> {
    if code.len() > MAX_INPUT_LEN {
        return None;
    }
    let mut out = [0u8; DIGITS];
    let mut len = 0;
    for c in code.chars().filter(|c| !c.is_whitespace()) {
        if !c.is_ascii_digit() || len == DIGITS {
            return None;
        }
        out[len] = c as u8;
        len += 1;
    }
    (len == DIGITS).then_some(out)
}

/// HOTP (RFC 4226 §5.3): HMAC-SHA-1 of the big-endian counter, dynamic truncation to 31 bits.
fn hotp(secret: &TotpSecret, counter: u64) -> u32 {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &secret.0);
    let tag = hmac::sign(&key, &counter.to_be_bytes());
    let mut mac = [0u8; 20];
    mac.copy_from_slice(&tag.as_ref()[..20]);
    let offset = usize::from(mac[19] & 0x0f);
    u32::from_be_bytes([mac[offset], mac[offset + 1], mac[offset + 2], mac[offset + 3]]) & 0x7fff_ffff
}

/// The low [`DIGITS`] decimal digits, zero-padded, as ASCII.
fn code_digits(value: u32) -> [u8; DIGITS] {
    let mut out = [b'0'; DIGITS];
    let mut rest = value;
    for digit in out.iter_mut().rev() {
        *digit = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    out
}

/// RFC 4648 §6 base32, upper case, no padding.
fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut buffer: u16 = 0;
    let mut bits = 0;
    for &byte in bytes {
        buffer = (buffer << 8) | u16::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[usize::from((buffer >> bits) & 31)]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[usize::from((buffer << (5 - bits)) & 31)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rfc_secret() -> TotpSecret {
        TotpSecret::from_bytes(b"12345678901234567890").unwrap()
    }

    /// RFC 6238 Appendix B, SHA-1 rows: (time, 8-digit TOTP).
    const RFC6238_SHA1: [(i64, &str); 6] = [
        (59, "94287082"),
        (1_111_111_109, "07081804"),
        (1_111_111_111, "14050471"),
        (1_234_567_890, "89005924"),
        (2_000_000_000, "69279037"),
        (20_000_000_000, "65353130"),
    ];

    #[test]
    fn checklist_10_rfc6238_sha1_vectors() {
        let secret = rfc_secret();
        for (time, eight) in RFC6238_SHA1 {
            let counter = u64::try_from(step_at(time)).unwrap();
            assert_eq!(hotp(&secret, counter) % 100_000_000, eight.parse::<u32>().unwrap(), "t={time}");
            assert_eq!(code_at(&secret, time), eight[2..], "t={time}");
            assert_eq!(verify(&secret, &eight[2..], time, None), Ok(step_at(time)), "t={time}");
        }
    }

    #[test]
    fn rfc4226_hotp_vectors() {
        let expected = [755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489];
        let secret = rfc_secret();
        for (counter, code) in expected.into_iter().enumerate() {
            assert_eq!(hotp(&secret, counter as u64) % 1_000_000, code);
        }
    }

    /// A code for step `s` is accepted from the first second of `s - 1` to the last second of
    /// `s + 1`, and refused one second outside.
    #[test]
    fn checklist_10_window_is_plus_minus_one_step() {
        let secret = rfc_secret();
        let step = 40_000_000;
        let start = step * STEP_SECONDS;
        let code = code_at(&secret, start);
        // Last second of step + 1: accepted; one second later (first second of step + 2): refused.
        assert_eq!(verify(&secret, &code, start + 2 * STEP_SECONDS - 1, None), Ok(step));
        assert_eq!(verify(&secret, &code, start + 2 * STEP_SECONDS, None), Err(TotpError::Invalid));
        // First second of step - 1: accepted; one second earlier (last second of step - 2): refused.
        assert_eq!(verify(&secret, &code, start - STEP_SECONDS, None), Ok(step));
        assert_eq!(verify(&secret, &code, start - STEP_SECONDS - 1, None), Err(TotpError::Invalid));
        // Inside its own step.
        assert_eq!(verify(&secret, &code, start, None), Ok(step));
        assert_eq!(verify(&secret, &code, start + STEP_SECONDS - 1, None), Ok(step));
    }

    #[test]
    fn checklist_10_code_cannot_be_replayed() {
        let secret = rfc_secret();
        let now = 1_700_000_000;
        let code = code_at(&secret, now);
        let step = verify(&secret, &code, now, None).unwrap();
        assert_eq!(verify(&secret, &code, now, Some(step)), Err(TotpError::Replayed));
        assert_eq!(verify(&secret, &code, now + STEP_SECONDS, Some(step)), Err(TotpError::Replayed));
        // An older, still-in-window code is refused once a newer one was used.
        let newer = code_at(&secret, now + STEP_SECONDS);
        let newer_step = verify(&secret, &newer, now, Some(step)).unwrap();
        assert_eq!(newer_step, step + 1);
        assert_eq!(verify(&secret, &code, now, Some(newer_step)), Err(TotpError::Replayed));
        // The next step's code is accepted after the previous one.
        let next = code_at(&secret, now + 2 * STEP_SECONDS);
        assert_eq!(verify(&secret, &next, now + 2 * STEP_SECONDS, Some(newer_step)), Ok(step + 2));
    }

    #[test]
    fn input_format() {
        let secret = rfc_secret();
        let now = 1_111_111_109;
        assert_eq!(code_at(&secret, now), "081804");
        assert!(verify(&secret, "081 804", now, None).is_ok());
        assert!(verify(&secret, " 08 18 04\t", now, None).is_ok());
        assert!(verify(&secret, "08\u{a0}1804", now, None).is_ok());
        for bad in ["", "81804", "0818040", "08180a", "081-804", "０８１８０４", "+81804", "-81804", "081804 1"] {
            assert_eq!(verify(&secret, bad, now, None), Err(TotpError::Malformed), "{bad:?}");
        }
        assert_eq!(verify(&secret, &"1".repeat(10_000), now, None), Err(TotpError::Malformed));
        let wrong = if code_at(&secret, now) == "000000" { "111111" } else { "000000" };
        assert_eq!(verify(&secret, wrong, now, None), Err(TotpError::Invalid));
    }

    #[test]
    fn extreme_times_do_not_panic() {
        let secret = rfc_secret();
        for t in [i64::MIN, -31, -1, 0, 1, 29, 30, i64::MAX] {
            let code = code_at(&secret, t);
            assert_eq!(code.len(), DIGITS);
            let _ = verify(&secret, &code, t, Some(i64::MAX));
            let _ = verify(&secret, &code, t, Some(i64::MIN));
        }
        // At time 0 the window has no step -1; step 0's code is still accepted.
        assert_eq!(verify(&secret, &code_at(&secret, 0), 0, None), Ok(0));
        // Before 1970 nothing matches except through the +1 side of the window.
        assert_eq!(verify(&secret, &code_at(&secret, 0), -1, None), Ok(0));
        assert_eq!(verify(&secret, &code_at(&secret, 0), -31, None), Err(TotpError::Invalid));
    }

    #[test]
    fn generated_secrets_differ_and_round_trip() {
        let a = TotpSecret::generate().unwrap();
        let b = TotpSecret::generate().unwrap();
        assert_ne!(a.as_bytes(), b.as_bytes());
        assert_eq!(a.as_bytes().len(), SECRET_LEN);
        let copy = TotpSecret::from_bytes(a.as_bytes()).unwrap();
        assert_eq!(code_at(&a, 1_700_000_000), code_at(&copy, 1_700_000_000));
        assert_eq!(
            TotpSecret::from_bytes(&[0; 16]).unwrap_err(),
            MfaError::SecretLength { expected: SECRET_LEN, actual: 16 }
        );
    }

    #[test]
    fn debug_redacts_the_secret() {
        let secret = rfc_secret();
        let shown = format!("{secret:?}");
        assert_eq!(shown, "TotpSecret([redacted])");
        assert!(!shown.contains("49") && !shown.contains("GEZD"));
    }

    #[test]
    fn base32_rfc4648_vectors() {
        let vectors =
            [("", ""), ("f", "MY"), ("fo", "MZXQ"), ("foo", "MZXW6"), ("foob", "MZXW6YQ"), ("fooba", "MZXW6YTB")];
        for (input, output) in vectors {
            assert_eq!(base32(input.as_bytes()), output);
        }
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(rfc_secret().to_base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    }

    #[test]
    fn otpauth_uri_is_percent_encoded() {
        let uri = rfc_secret().otpauth_uri(ISSUER, "dr.ada+lovelace@example.org");
        assert_eq!(
            uri,
            "otpauth://totp/CBT%20Assistant%20Pro:dr.ada%2Blovelace%40example.org\
             ?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=CBT%20Assistant%20Pro\
             &algorithm=SHA1&digits=6&period=30"
        );
        // A colon, ampersand or non-ASCII character in a part cannot break the URI's structure.
        let uri = rfc_secret().otpauth_uri("Evil:Corp&x=1", "Zoë: a?b#c/d");
        assert!(uri.starts_with("otpauth://totp/Evil%3ACorp%26x%3D1:Zo%C3%AB%3A%20a%3Fb%23c%2Fd?secret="));
        assert!(uri.contains("&issuer=Evil%3ACorp%26x%3D1&"));
    }
}
