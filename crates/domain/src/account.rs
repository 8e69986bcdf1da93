//! Therapist accounts: the rules for what an account holds.
//!
//! Each field type is built by `parse`, so holding one means it passed
//! its rules ("parse, don't validate").

use std::collections::HashSet;
use std::fmt;
use std::sync::LazyLock;

use zeroize::Zeroizing;

use crate::validation::{FieldError, short_text};

/// An email address as typed, with its normalised form (trimmed, lower
/// case) used for uniqueness, look-ups and rate-limit buckets, so
/// `Ann@Example.org` and `ann@example.org` are one account.
#[derive(Clone, PartialEq, Eq)]
pub struct Email {
    display: String,
    normalized: String,
}

impl Email {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let bad = |m: &str| FieldError::new("email", m);
        let value = raw.trim();
        if value.is_empty() {
            return Err(bad("Email is required."));
        }
        if value.len() > 254 {
            return Err(bad("Email must be at most 254 characters."));
        }
        if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad("Email cannot contain spaces."));
        }
        let Some((local, domain)) = value.rsplit_once('@') else {
            return Err(bad("Enter an email address like name@example.org."));
        };
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '.');
        if local.is_empty() || local.len() > 64 || local.contains('@') || !domain_ok {
            return Err(bad("Enter an email address like name@example.org."));
        }
        Ok(Self { display: value.to_owned(), normalized: value.to_lowercase() })
    }

    pub fn as_str(&self) -> &str {
        &self.display
    }

    pub fn normalized(&self) -> &str {
        &self.normalized
    }

    /// The part before `@`, lower case (a password may not contain it).
    pub fn local_part(&self) -> &str {
        self.normalized.rsplit_once('@').map(|(l, _)| l).unwrap_or(&self.normalized)
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Email([redacted])")
    }
}

/// The therapist's name as shown in the app and on exports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FullName(String);

impl FullName {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        short_text("full_name", "Full name", raw, 200).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Professional credential or licence number (e.g. "LPC 12345, Texas").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credential(String);

impl Credential {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        short_text("credential", "Credential or licence number", raw, 200).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Shortest password accepted, in characters (the seed's rule).
pub const PASSWORD_MIN_CHARS: usize = 8;
/// Longest password accepted, in characters. Passwords are pre-hashed before
/// bcrypt, so nothing is truncated at bcrypt's 72 bytes; this cap only
/// keeps requests small.
pub const PASSWORD_MAX_CHARS: usize = 256;

/// A rule a new password broke. Each is shown by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasswordRule {
    TooShort,
    TooLong,
    TooFewCategories,
    Common,
    ContainsEmail,
}

impl PasswordRule {
    pub fn message(self) -> String {
        match self {
            PasswordRule::TooShort => format!("Use at least {PASSWORD_MIN_CHARS} characters."),
            PasswordRule::TooLong => format!("Use at most {PASSWORD_MAX_CHARS} characters."),
            PasswordRule::TooFewCategories => {
                "Use at least 3 of these 4: an upper-case letter, a lower-case letter, a digit, a symbol.".into()
            }
            PasswordRule::Common => "This password is one of the most common passwords; choose another.".into(),
            PasswordRule::ContainsEmail => "The password must not contain your email name.".into(),
        }
    }
}

static COMMON: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| include_str!("../data/common-passwords.txt").lines().filter(|l| !l.is_empty()).collect());

/// A password that passed the policy. Zeroised when dropped; never printed.
pub struct NewPassword(Zeroizing<String>);

impl NewPassword {
    /// Checks every rule and reports all that failed.
    pub fn parse(raw: &str, email: Option<&Email>) -> Result<Self, Vec<PasswordRule>> {
        let mut broken = Vec::new();
        let chars = raw.chars().count();
        if chars < PASSWORD_MIN_CHARS {
            broken.push(PasswordRule::TooShort);
        }
        if chars > PASSWORD_MAX_CHARS {
            broken.push(PasswordRule::TooLong);
        }
        let categories = [
            raw.chars().any(char::is_uppercase),
            raw.chars().any(char::is_lowercase),
            raw.chars().any(|c| c.is_ascii_digit()),
            raw.chars().any(|c| !c.is_alphanumeric()),
        ];
        if categories.iter().filter(|c| **c).count() < 3 {
            broken.push(PasswordRule::TooFewCategories);
        }
        if is_common(raw) {
            broken.push(PasswordRule::Common);
        }
        if let Some(email) = email {
            let local = email.local_part();
            if local.chars().count() >= 3 && raw.to_lowercase().contains(local) {
                broken.push(PasswordRule::ContainsEmail);
            }
        }
        if broken.is_empty() { Ok(Self(Zeroizing::new(raw.to_owned()))) } else { Err(broken) }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword([redacted])")
    }
}

/// In the common list as typed, or once digits and symbols around a common
/// word are removed ("Password1!" is "password").
fn is_common(raw: &str) -> bool {
    let lower = raw.to_lowercase();
    let core = lower.trim_matches(|c: char| !c.is_alphabetic());
    COMMON.contains(lower.as_str()) || (core.chars().count() >= 4 && COMMON.contains(core))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email() -> Email {
        Email::parse("Ann.Therapist@Example.org").unwrap()
    }

    #[test]
    fn email_is_normalised_and_validated() {
        let e = email();
        assert_eq!(e.normalized(), "ann.therapist@example.org");
        assert_eq!(e.as_str(), "Ann.Therapist@Example.org");
        assert_eq!(Email::parse("  ann@example.org ").unwrap().as_str(), "ann@example.org");
        for bad in ["", "ann", "ann@", "@example.org", "ann@example", "ann @example.org", "ann@exa_mple.org"] {
            assert_eq!(Email::parse(bad).unwrap_err().field, "email", "{bad}");
        }
        assert_eq!(format!("{e:?}"), "Email([redacted])");
    }

    #[test]
    fn checklist_1_each_failed_rule_is_named() {
        assert_eq!(NewPassword::parse("Ab1!", None).unwrap_err(), vec![PasswordRule::TooShort]);
        assert_eq!(NewPassword::parse("abcdefghij", None).unwrap_err(), vec![PasswordRule::TooFewCategories]);
        assert_eq!(NewPassword::parse("Password1!", None).unwrap_err(), vec![PasswordRule::Common]);
        assert_eq!(NewPassword::parse("Qwerty123", None).unwrap_err(), vec![PasswordRule::Common]);
        assert_eq!(
            NewPassword::parse("My-ann.therapist-9", Some(&email())).unwrap_err(),
            vec![PasswordRule::ContainsEmail]
        );
        assert_eq!(
            NewPassword::parse("abc", None).unwrap_err(),
            vec![PasswordRule::TooShort, PasswordRule::TooFewCategories]
        );
    }

    #[test]
    fn checklist_1_three_of_four_categories_suffice() {
        assert!(NewPassword::parse("tulip-Harbor-lamp", None).is_ok(), "upper, lower, symbol");
        assert!(NewPassword::parse("tulipharbor42!", None).is_ok(), "lower, digit, symbol");
        assert!(NewPassword::parse("TULIPHARBOR42!", None).is_ok(), "upper, digit, symbol");
        assert!(NewPassword::parse("Tuliph4rbor", None).is_ok(), "upper, lower, digit");
    }

    #[test]
    fn checklist_1_long_passwords_are_accepted_not_truncated() {
        let long = format!("Aa1!{}", "ü".repeat(60)); // 64 characters, 124 bytes
        assert_eq!(long.chars().count(), 64);
        assert!(long.len() > 72);
        assert!(NewPassword::parse(&long, None).is_ok());
        let too_long = format!("Aa1!{}", "x".repeat(PASSWORD_MAX_CHARS));
        assert_eq!(NewPassword::parse(&too_long, None).unwrap_err(), vec![PasswordRule::TooLong]);
    }

    #[test]
    fn names_and_credentials_are_required_and_bounded() {
        assert_eq!(FullName::parse("  Dr Ann Lee ").unwrap().as_str(), "Dr Ann Lee");
        assert_eq!(FullName::parse("   ").unwrap_err().field, "full_name");
        assert_eq!(Credential::parse(&"x".repeat(201)).unwrap_err().field, "credential");
    }
}

/// A therapist account as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct Account {
    pub id: crate::AccountId,
    /// As typed at sign-up (shown back to its owner).
    pub email: String,
    /// Lower case: unique, used for look-ups.
    pub email_normalized: String,
    pub full_name: String,
    pub credential: String,
    /// bcrypt over the pre-hashed password; `None` for Google-only accounts.
    pub password_hash: Option<String>,
    pub email_verified_at: Option<time::OffsetDateTime>,
    /// The TOTP secret, sealed; `Some` once enrolment started.
    pub mfa_secret_sealed: Option<Vec<u8>>,
    pub mfa_enabled_at: Option<time::OffsetDateTime>,
    /// The last TOTP step accepted (a code is never accepted twice).
    pub mfa_last_step: Option<i64>,
    pub password_changed_at: time::OffsetDateTime,
    /// The linked Google account's subject (`sub`), if any.
    pub google_subject: Option<String>,
    pub created_at: time::OffsetDateTime,
    pub updated_at: time::OffsetDateTime,
    /// The practice's name as clients see it on a questionnaire link
    /// (empty: the therapist's name and credential).
    pub practice_name: String,
    /// What a client should do in a crisis, shown on every questionnaire
    /// link (empty: `client_link::DEFAULT_CRISIS_TEXT`).
    pub crisis_text: String,
}

impl Account {
    pub fn is_verified(&self) -> bool {
        self.email_verified_at.is_some()
    }

    pub fn mfa_enabled(&self) -> bool {
        self.mfa_enabled_at.is_some()
    }
}

impl fmt::Debug for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Names and addresses stay out of logs.
        f.debug_struct("Account").field("id", &self.id).finish_non_exhaustive()
    }
}
