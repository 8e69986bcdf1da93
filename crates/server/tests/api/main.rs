//! Integration tests: the real application (in-process or as the real
//! binary) over HTTP, on SQLite always and on PostgreSQL when
//! `TEST_DATABASE_URL` is set. One test binary keeps link time down.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

/// Runs each case on SQLite and on PostgreSQL, as `sqlite::name` and
/// `postgres::name`: `name => case_fn[, extra argument];`. The case takes
/// an `Option<TestDatabase>` (`None`: PostgreSQL not available, skipped).
macro_rules! on_both_backends {
    ($($name:ident => $case:ident $(, $arg:expr)?;)+) => {
        mod sqlite {
            use super::*;
            $(#[tokio::test] async fn $name() { $case(Some(cbt_testkit::TestDatabase::sqlite()) $(, $arg)?).await; })+
        }
        mod postgres {
            use super::*;
            $(#[tokio::test] async fn $name() { $case(cbt_testkit::TestDatabase::postgres().await $(, $arg)?).await; })+
        }
    };
}

mod accounts;
mod accounts_checklist;
mod accounts_google;
mod accounts_mfa;
mod accounts_tokens;
mod ai_drafts;
mod assessments;
mod audit;
mod browser;
mod case_drafts;
mod clients;
mod clinical_records;
mod conformance;
mod cross_account;
mod demo;
mod draft_evaluation;
mod encryption;
mod errors;
mod headers;
mod instruments;
mod openapi;
mod postgres_tls;
mod read_audit;
mod session_notes;
mod startup;

use std::path::PathBuf;

/// The binary under test, built by cargo for this test run.
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_cbt-assistant"))
}
