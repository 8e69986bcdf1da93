//! The `aws-kms` provider against a local server that speaks the AWS KMS
//! wire protocol (moto), started by the test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use aws_sdk_kms::config::{BehaviorVersion, Credentials, Region};
use cbt_domain::AccountId;
use cbt_keys::{AwsKmsKeyProvider, AwsKmsSettings};
use cbt_moto_server::{ACCESS_KEY_ID, MotoServer, REGION, SECRET_ACCESS_KEY};
use cbt_ports::{KeyError, KeyOwner, KeyProvider};
use uuid::Uuid;

fn admin(moto: &MotoServer) -> aws_sdk_kms::Client {
    let config = aws_sdk_kms::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new(ACCESS_KEY_ID, SECRET_ACCESS_KEY, None, None, "test"))
        .endpoint_url(&moto.endpoint)
        .build();
    aws_sdk_kms::Client::from_conf(config)
}

async fn create_key(admin: &aws_sdk_kms::Client) -> String {
    let out = admin.create_key().description("cbt test KEK").send().await.unwrap();
    out.key_metadata.unwrap().key_id
}

async fn provider(moto: &MotoServer, key_id: &str) -> Result<AwsKmsKeyProvider, KeyError> {
    let settings =
        AwsKmsSettings { key_id: key_id.into(), region: REGION.into(), endpoint: Some(moto.endpoint.clone()) };
    AwsKmsKeyProvider::with_credentials(settings, ACCESS_KEY_ID, SECRET_ACCESS_KEY).await
}

fn owner() -> KeyOwner {
    KeyOwner { account: AccountId::new(), key_id: Uuid::now_v7() }
}

/// Checklist 28 and 29 with KMS: data keys unwrap only for their account
/// and id; a rotation to a second KMS key re-wraps with ReEncrypt; the old
/// key, once scheduled for deletion, unwraps nothing (a backup's copy).
#[tokio::test]
async fn checklist_28_29_kms_wraps_per_account_rewraps_and_destroys() {
    let Some(moto) = MotoServer::start() else { return };
    let admin = admin(&moto);
    let first_id = create_key(&admin).await;
    let first = provider(&moto, &first_id).await.unwrap();
    assert!(first.current_kek().starts_with("arn:aws:kms:"), "resolved to an ARN: {}", first.current_kek());

    let who = owner();
    let (key, wrapped) = first.generate_data_key(who).await.unwrap();
    assert_eq!(key.id(), who.key_id);
    assert_eq!(wrapped.kek, first.current_kek());
    assert!(!wrapped.bytes.windows(32).any(|w| w == key.expose_bytes()), "no plaintext key in the wrapping");
    assert_eq!(first.unwrap(&wrapped, who).await.unwrap().expose_bytes(), key.expose_bytes());
    let elsewhere = KeyOwner { account: AccountId::new(), ..who };
    assert!(matches!(first.unwrap(&wrapped, elsewhere).await, Err(KeyError::DoesNotOpen)), "moved account");
    let renamed = KeyOwner { key_id: Uuid::now_v7(), ..who };
    assert!(matches!(first.unwrap(&wrapped, renamed).await, Err(KeyError::DoesNotOpen)), "renamed key");

    let second = provider(&moto, &create_key(&admin).await).await.unwrap();
    assert_eq!(second.new_kek().await.unwrap(), None, "a new KMS key comes from configuration");
    let moved = second.rewrap(&wrapped, who).await.unwrap();
    assert_eq!(moved.kek, second.current_kek());
    assert_eq!(second.unwrap(&moved, who).await.unwrap().expose_bytes(), key.expose_bytes());
    assert!(second.unwrap(&wrapped, who).await.is_ok(), "the old key opens until destroyed");

    assert!(matches!(second.destroy_kek(&second.current_kek()).await, Err(KeyError::Unsupported(_))));
    second.destroy_kek(&first.current_kek()).await.unwrap();
    // AWS KMS refuses every use of a key pending deletion
    // (KMSInvalidStateException, which `unwrap` reports as UnknownKek);
    // moto records the state but does not refuse, so the state is what is
    // checked here.
    let state = admin.describe_key().key_id(&first_id).send().await.unwrap().key_metadata.unwrap().key_state;
    assert_eq!(state, Some(aws_sdk_kms::types::KeyState::PendingDeletion));
    assert_eq!(second.unwrap(&moved, who).await.unwrap().expose_bytes(), key.expose_bytes());
}

#[tokio::test]
async fn an_unknown_key_or_a_plain_remote_endpoint_is_refused_at_start() {
    let Some(moto) = MotoServer::start() else { return };
    let missing = provider(&moto, "11111111-2222-3333-4444-555555555555").await;
    assert!(matches!(missing, Err(KeyError::UnknownKek(_))), "{:?}", missing.err());
    let plain = AwsKmsSettings {
        key_id: "alias/cbt".into(),
        region: REGION.into(),
        endpoint: Some("http://kms.example.org".into()),
    };
    let refused = AwsKmsKeyProvider::with_credentials(plain, ACCESS_KEY_ID, SECRET_ACCESS_KEY).await;
    assert!(refused.err().is_some_and(|e| e.to_string().contains("TLS")));
}
