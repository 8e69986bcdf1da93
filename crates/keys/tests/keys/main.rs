//! The key providers through the `KeyProvider` port: `local` on a
//! temporary folder, `aws-kms` against a local moto server (and a fake KMS
//! for the refusals moto does not make). One test binary, to link once.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod aws_kms;
mod local;

use cbt_domain::AccountId;
use cbt_ports::KeyOwner;
use uuid::Uuid;

fn owner() -> KeyOwner {
    KeyOwner { account: AccountId::new(), key_id: Uuid::now_v7() }
}
