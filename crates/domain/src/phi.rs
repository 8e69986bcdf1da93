//! Protected health information in memory.
//!
//! A value wrapped in [`Phi`] never prints: `Debug` and `Display` show
//! `[redacted]`, so a PHI value that slips into a log line or an error
//! message leaks nothing. Reading it takes an explicit `expose()`. Its
//! memory is zeroised when it is dropped (`T: Zeroize`: strings, byte
//! vectors, and records that derive it).

use std::fmt;

use zeroize::Zeroize;

/// What a redacted value prints as, everywhere.
pub const REDACTED: &str = "[redacted]";

#[derive(Clone, PartialEq, Eq)]
pub struct Phi<T: Zeroize>(T);

impl<T: Zeroize> Drop for Phi<T> {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl<T: Zeroize> Phi<T> {
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// The plaintext. Call sites are easy to find by this name.
    pub fn expose(&self) -> &T {
        &self.0
    }

    /// Takes the plaintext out; the caller's copy is no longer zeroised.
    pub fn into_inner(mut self) -> T
    where
        T: Default,
    {
        std::mem::take(&mut self.0)
    }
}

impl<T: Zeroize> fmt::Debug for Phi<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl<T: Zeroize> fmt::Display for Phi<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checklist_31_phi_never_formats() {
        let p = Phi::new(String::from("Jane Canary-Doe"));
        assert_eq!(format!("{p}"), REDACTED);
        assert_eq!(format!("{p:?}"), REDACTED);
        assert_eq!(format!("{:?}", Some(&p)), "Some([redacted])");
        assert_eq!(p.expose(), "Jane Canary-Doe");
    }
}
