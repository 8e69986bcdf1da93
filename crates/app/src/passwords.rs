//! Password hashing: bcrypt over a SHA-256 pre-hash, on a bounded pool.
//!
//! Pre-hashing (base64 of SHA-256, 44 ASCII bytes) lets passwords of any
//! length count in full: bcrypt alone silently ignores everything after
//! 72 bytes. Hashing runs on tokio's blocking threads, at most `workers` at
//! a time, so a burst of sign-ins queues here instead of stalling the
//! threads that serve every other request.

use std::sync::Arc;

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use tokio::sync::Semaphore;
use zeroize::Zeroizing;

use crate::AppError;

/// The cost the seed promises; production never goes below it.
pub const DEFAULT_COST: u32 = 12;

#[derive(Clone)]
pub struct PasswordHasher {
    cost: u32,
    permits: Arc<Semaphore>,
    /// Verified against when the email is unknown, so both paths cost one
    /// bcrypt verification (checklist 3).
    dummy_hash: Arc<String>,
}

fn prehash(password: &str) -> Zeroizing<String> {
    let digest = digest::digest(&digest::SHA256, password.as_bytes());
    Zeroizing::new(STANDARD.encode(digest.as_ref()))
}

fn salt() -> Result<[u8; 16], AppError> {
    let mut salt = [0u8; 16];
    aws_lc_rs::rand::fill(&mut salt).map_err(|_| AppError::Internal("the system random source failed".into()))?;
    Ok(salt)
}

fn hash_now(password: &str, cost: u32) -> Result<String, AppError> {
    bcrypt::hash_with_salt(prehash(password).as_bytes(), cost, salt()?)
        .map(|parts| parts.format_for_version(bcrypt::Version::TwoB))
        .map_err(|e| AppError::Internal(format!("bcrypt: {e}")))
}

impl PasswordHasher {
    /// `workers`: how many hashes may run at once (at least 1).
    pub fn new(cost: u32, workers: usize) -> Result<Self, AppError> {
        let dummy = hash_now("dummy password for unknown accounts", cost)?;
        Ok(Self { cost, permits: Arc::new(Semaphore::new(workers.max(1))), dummy_hash: Arc::new(dummy) })
    }

    pub fn cost(&self) -> u32 {
        self.cost
    }

    async fn run<T: Send + 'static>(&self, job: impl FnOnce() -> T + Send + 'static) -> Result<T, AppError> {
        let _permit =
            self.permits.acquire().await.map_err(|_| AppError::Internal("password hashing pool closed".into()))?;
        tokio::task::spawn_blocking(job).await.map_err(|_| AppError::Internal("password hashing task failed".into()))
    }

    pub async fn hash(&self, password: &str) -> Result<String, AppError> {
        let password = Zeroizing::new(password.to_owned());
        let cost = self.cost;
        self.run(move || hash_now(&password, cost)).await?
    }

    /// Whether `password` matches `hash`; with `None` (unknown account or
    /// no password) it verifies against a dummy hash and returns false.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> Result<bool, AppError> {
        let password = Zeroizing::new(password.to_owned());
        let (hash, real) = match hash {
            Some(h) => (h.to_owned(), true),
            None => (self.dummy_hash.as_str().to_owned(), false),
        };
        let matched = self.run(move || bcrypt::verify(prehash(&password).as_bytes(), &hash).unwrap_or(false)).await?;
        Ok(real && matched)
    }

    /// A stored hash made with a lower cost than configured (checklist 2:
    /// upgraded at the next successful sign-in).
    pub fn needs_upgrade(&self, hash: &str) -> bool {
        hash.parse::<bcrypt::HashParts>().map(|p| p.get_cost() < self.cost).unwrap_or(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn checklist_1_long_passwords_count_in_full() {
        let h = PasswordHasher::new(4, 2).unwrap();
        let a = format!("{}A", "x".repeat(80));
        let b = format!("{}B", "x".repeat(80));
        let hash = h.hash(&a).await.unwrap();
        assert!(h.verify(&a, Some(&hash)).await.unwrap());
        assert!(!h.verify(&b, Some(&hash)).await.unwrap(), "bytes after 72 matter");
        assert!(!h.verify(&a, None).await.unwrap(), "unknown accounts never match");
    }

    #[tokio::test]
    async fn checklist_2_cost_is_recorded_and_low_costs_are_upgraded() {
        let low = PasswordHasher::new(4, 1).unwrap();
        let hash = low.hash("Tulip-harbor-9").await.unwrap();
        assert!(hash.starts_with("$2b$04$"));
        let twelve = PasswordHasher::new(5, 1).unwrap();
        assert!(twelve.needs_upgrade(&hash));
        assert!(!low.needs_upgrade(&hash));
    }
}
