#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Property tests (checklist item 38: no input makes a parser panic) over the MFA input paths:
//! TOTP codes typed by the user and recovery-code hashes read back from the database.

use cbt_mfa::recovery::{self, RecoveryCodeHash, RecoveryPepper};
use cbt_mfa::totp::{self, TotpSecret};
use proptest::prelude::*;

fn secret() -> TotpSecret {
    TotpSecret::from_bytes(b"12345678901234567890").unwrap()
}

proptest! {
    /// Items 10 and 38: `verify` answers every input, at any time, with any stored step.
    #[test]
    fn checklist_38_totp_verify_never_panics(
        code in any::<String>(),
        now in any::<i64>(),
        last in any::<Option<i64>>(),
    ) {
        let _ = totp::verify(&secret(), &code, now, last);
    }

    /// Near-miss inputs (digits and spaces) exercise the comparison path, not only the parser.
    #[test]
    fn checklist_38_totp_verify_digit_like_input(code in "[0-9 \t]{0,12}", now in any::<i64>(), last in any::<Option<i64>>()) {
        let result = totp::verify(&secret(), &code, now, last);
        let digits = code.chars().filter(char::is_ascii_digit).count();
        if digits != 6 {
            prop_assert_eq!(result, Err(totp::TotpError::Malformed));
        }
    }

    /// A correct code is accepted at every time its step is in the window, unless replayed.
    #[test]
    fn checklist_10_totp_round_trip(issued in 0i64..i64::MAX / 2, drift in -30i64..=30, last in proptest::option::of(0i64..i64::MAX / 60)) {
        let s = secret();
        let code = totp::code_at(&s, issued);
        let step = totp::step_at(issued);
        match totp::verify(&s, &code, issued + drift, last) {
            Ok(matched) => prop_assert!(matched >= step - 1 && matched <= step + 1 && last.is_none_or(|l| matched > l)),
            Err(totp::TotpError::Replayed) => prop_assert!(last.is_some_and(|l| l >= step - 1)),
            Err(error) => prop_assert!(false, "{:?} for a code {}s off", error, drift),
        }
    }

    /// Item 38: the stored hash format is parsed without panicking, and what parses prints back
    /// the same.
    #[test]
    fn checklist_38_recovery_hash_parse_never_panics(text in any::<String>()) {
        if let Ok(hash) = text.parse::<RecoveryCodeHash>() {
            prop_assert_eq!(hash.to_string(), text);
        }
    }

    /// Inputs shaped like the stored format reach the base64 decoder.
    #[test]
    fn checklist_38_recovery_hash_like_input(text in "v1\\$[A-Za-z0-9+/=$]{0,70}") {
        if let Ok(hash) = text.parse::<RecoveryCodeHash>() {
            prop_assert_eq!(hash.to_string(), text);
        }
    }

    /// Item 38: checking a typed recovery code never panics.
    #[test]
    fn checklist_38_recovery_matches_never_panics(input in any::<String>()) {
        let pepper = RecoveryPepper::new(&[9; 32]).unwrap();
        let hash: RecoveryCodeHash = "v1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".parse().unwrap();
        prop_assert!(!recovery::matches(&pepper, &hash, &input));
    }
}
