//! Integration tests: the real application (in-process or as the real
//! binary) over HTTP, on SQLite always and on PostgreSQL when
//! `TEST_DATABASE_URL` is set. One test binary keeps link time down.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod accounts;
mod accounts_mfa;
mod accounts_tokens;
mod audit;
mod browser;
mod conformance;
mod errors;
mod headers;
mod postgres_tls;
mod startup;

use std::path::PathBuf;

/// The binary under test, built by cargo for this test run.
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_cbt-assistant"))
}
