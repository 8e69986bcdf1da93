//! Multi-factor authentication rules of CBT Assistant Pro (security checklist item 10). No I/O.
//!
//! - [`totp`]: time-based one-time passwords (RFC 6238: SHA-1, 6 digits, 30-second step), the
//!   ±1 step window and replay protection.
//! - [`recovery`]: ten single-use recovery codes, stored as keyed hashes.
//! - [`qr`]: the enrolment QR code as inline SVG that satisfies the app's CSP (no inline styles).
//!
//! What this crate leaves to its callers, because it needs storage or the request:
//! - storing the matched TOTP step (`last_used_step`) in the same transaction that accepts the code;
//! - deleting (or marking used) a recovery-code hash in the same transaction that accepts it;
//! - rate-limiting second-factor attempts (six digits and a three-step window give 3 in 10⁶ per
//!   guess: without a limit a code is brute-forced within hours);
//! - requiring the password to disable MFA, and the deployment setting that makes MFA mandatory;
//! - encrypting the TOTP secret at rest (checklist item 28) and auditing every MFA event.

pub mod qr;
pub mod recovery;
pub mod totp;

pub use qr::qr_svg;
pub use recovery::{RecoveryCodeHash, RecoveryCodes, RecoveryPepper};
pub use totp::{TotpError, TotpSecret};

/// Errors of this crate other than a rejected TOTP code ([`TotpError`]) or recovery code (`false`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MfaError {
    #[error("the system random number generator failed")]
    Random,
    #[error("a TOTP secret must be exactly {expected} bytes, not {actual}")]
    SecretLength { expected: usize, actual: usize },
    #[error("the recovery-code pepper must be at least {minimum} bytes, not {actual}")]
    PepperTooShort { minimum: usize, actual: usize },
    #[error("malformed recovery-code hash: {0}")]
    MalformedRecoveryHash(&'static str),
    #[error("the data cannot be encoded as a QR code: {0}")]
    Qr(String),
}
