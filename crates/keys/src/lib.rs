//! Key providers: who holds the key-encryption key (KEK) that wraps each
//! account's data key. Both implement `cbt_ports::KeyProvider`.
//!
//! * [`LocalKeyProvider`]: KEK versions in files (`kek-v1.key`, …) under a
//!   private folder; the default, generated on first start in local mode.
//! * [`AwsKmsKeyProvider`]: a KMS key; data keys are made and unwrapped by
//!   KMS, bound to their account by the encryption context.
//!
//! Deliberately absent: a cache of unwrapped keys (the app keeps one, for a
//! bounded time), and any logging (errors carry what went wrong, never key
//! material).

mod aws_kms;
mod local;

pub use aws_kms::{AwsKmsKeyProvider, AwsKmsSettings};
pub use local::LocalKeyProvider;
