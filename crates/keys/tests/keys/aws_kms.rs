//! `AwsKmsKeyProvider` against moto, a local server speaking the AWS KMS
//! wire protocol, started by each test (the test passes without running
//! when moto is not installed, unless `REQUIRE_MOTO=1`).
//!
//! What moto 5.2.5 does not do, checked with plain requests to it: it keeps
//! decrypting (and generating) with a key that is disabled or pending
//! deletion, where AWS KMS answers `DisabledException` /
//! `KMSInvalidStateException`; it answers `ScheduleKeyDeletion` with an
//! ARN by an internal error (500; a bare key id works); and a `Decrypt`
//! naming another key than the one that wrapped the data is
//! `AccessDeniedException` (AWS: `IncorrectKeyException`). So the refusals
//! after a deletion are checked against a fake KMS below that answers as
//! AWS documents.

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_kms::config::Credentials;
use aws_sdk_kms::types::KeyState;
use cbt_domain::AccountId;
use cbt_keys::{AwsKmsKeyProvider, AwsKmsSettings};
use cbt_moto_server::{ACCESS_KEY_ID, MotoServer, REGION, SECRET_ACCESS_KEY};
use cbt_ports::{KeyError, KeyOwner, KeyProvider, WrappedKey};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

use crate::owner;

/// Client settings for a local endpoint: fixed test credentials (the
/// process environment is left alone), no retries.
async fn config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new(ACCESS_KEY_ID, SECRET_ACCESS_KEY, None, None, "test"))
        .retry_config(RetryConfig::disabled())
        .load()
        .await
}

/// Creates a KMS key as an operator would; returns its id and ARN.
async fn create_key(config: &SdkConfig) -> (String, String) {
    let admin = aws_sdk_kms::Client::new(config);
    let meta = admin.create_key().description("cbt test KEK").send().await.unwrap().key_metadata.unwrap();
    (meta.key_id, meta.arn.unwrap())
}

#[tokio::test]
async fn kms_data_keys_round_trip_and_open_only_for_their_account_and_key_id() {
    let Some(moto) = MotoServer::start() else { return };
    let config = config(&moto.endpoint).await;
    let (key_id, arn) = create_key(&config).await;
    let provider = AwsKmsKeyProvider::from_config(&key_id, &config).await.unwrap();
    assert_eq!(provider.current_kek(), arn, "the configured id resolved to the key's ARN");

    let who = owner();
    let (key, wrapped) = provider.generate_data_key(who).await.unwrap();
    assert_eq!(key.id(), who.key_id);
    assert_eq!(wrapped.kek, arn, "the ARN KMS names");
    assert!(!wrapped.bytes.windows(32).any(|w| w == key.expose_bytes()), "no plaintext key in the wrapping");
    assert_eq!(provider.unwrap(&wrapped, who).await.unwrap().expose_bytes(), key.expose_bytes());
    let (other, _) = provider.generate_data_key(owner()).await.unwrap();
    assert_ne!(other.expose_bytes(), key.expose_bytes());

    // The encryption context binds the wrapping to its owner.
    let moved = KeyOwner { account: AccountId::new(), ..who };
    assert!(matches!(provider.unwrap(&wrapped, moved).await, Err(KeyError::DoesNotOpen)), "another account");
    let renamed = KeyOwner { key_id: Uuid::now_v7(), ..who };
    assert!(matches!(provider.unwrap(&wrapped, renamed).await, Err(KeyError::DoesNotOpen)), "another key id");

    // A wrapping naming a key KMS does not have.
    let gone = WrappedKey { kek: arn.replace(&key_id, "11111111-2222-3333-4444-555555555555"), ..wrapped };
    assert!(matches!(provider.unwrap(&gone, who).await, Err(KeyError::UnknownKek(_))), "unknown key");
}

#[tokio::test]
async fn rotation_rewraps_to_the_newly_configured_key_and_destroys_the_old_one() {
    let Some(moto) = MotoServer::start() else { return };
    let config = config(&moto.endpoint).await;
    let (first_id, first_arn) = create_key(&config).await;
    let (second_id, second_arn) = create_key(&config).await;
    let admin = aws_sdk_kms::Client::new(&config);
    admin.create_alias().alias_name("alias/cbt-kek").target_key_id(&second_id).send().await.unwrap();

    let first = AwsKmsKeyProvider::from_config(&first_id, &config).await.unwrap();
    let who = owner();
    let (key, wrapped) = first.generate_data_key(who).await.unwrap();

    // The operator configures the second key (here by its alias).
    let second = AwsKmsKeyProvider::from_config("alias/cbt-kek", &config).await.unwrap();
    assert_eq!(second.current_kek(), second_arn);
    assert_eq!(second.new_kek().await.unwrap(), None, "a new KMS key comes from configuration");
    let moved = second.rewrap(&wrapped, who).await.unwrap();
    assert_eq!(moved.kek, second_arn);
    assert_ne!(moved.bytes, wrapped.bytes);
    assert_eq!(second.unwrap(&moved, who).await.unwrap().expose_bytes(), key.expose_bytes());
    assert!(second.unwrap(&wrapped, who).await.is_ok(), "the old key opens until destroyed");
    let elsewhere = KeyOwner { account: AccountId::new(), ..who };
    assert!(matches!(second.rewrap(&wrapped, elsewhere).await, Err(KeyError::DoesNotOpen)), "context kept");

    for current in [second_arn.as_str(), second_id.as_str()] {
        let refused = second.destroy_kek(current).await;
        assert!(matches!(refused, Err(KeyError::Unsupported(_))), "{current}: {refused:?}");
    }
    let state = |id: String| {
        let admin = admin.clone();
        async move { admin.describe_key().key_id(id).send().await.unwrap().key_metadata.unwrap().key_state }
    };
    assert_eq!(state(second_id.clone()).await, Some(KeyState::Enabled));

    second.destroy_kek(&first_arn).await.unwrap();
    assert_eq!(state(first_id.clone()).await, Some(KeyState::PendingDeletion));
    let deletion = admin.describe_key().key_id(&first_id).send().await.unwrap().key_metadata.unwrap().deletion_date;
    let days = deletion.unwrap().secs() - time_now();
    assert!((6 * 86_400..=7 * 86_400 + 60).contains(&days), "the 7-day minimum: {days} s");
    assert_eq!(second.unwrap(&moved, who).await.unwrap().expose_bytes(), key.expose_bytes());

    let missing = second.destroy_kek(&first_arn.replace(&first_id, "11111111-2222-3333-4444-555555555555")).await;
    assert!(matches!(missing, Err(KeyError::UnknownKek(_))), "{missing:?}");
}

fn time_now() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    i64::try_from(now.as_secs()).unwrap()
}

#[tokio::test]
async fn plain_http_to_another_host_is_refused_at_construction() {
    for endpoint in ["http://kms.example.org", "http://10.0.0.5:4566", "http://127.0.0.1@kms.example.org"] {
        let settings =
            AwsKmsSettings { key_id: "alias/cbt".into(), region: REGION.into(), endpoint: Some(endpoint.into()) };
        let refused = AwsKmsKeyProvider::new(settings).await.err();
        assert!(refused.as_ref().is_some_and(|e| e.to_string().contains("TLS")), "{endpoint}: {refused:?}");
        let refused = AwsKmsKeyProvider::from_config("alias/cbt", &config(endpoint).await).await.err();
        assert!(refused.as_ref().is_some_and(|e| e.to_string().contains("TLS")), "{endpoint}: {refused:?}");
    }
}

#[tokio::test]
async fn a_missing_key_or_no_answer_stops_start_up() {
    let Some(moto) = MotoServer::start() else { return };
    let missing = AwsKmsKeyProvider::from_config("11111111-2222-3333-4444-555555555555", &config(&moto.endpoint).await)
        .await
        .err();
    assert!(matches!(missing, Some(KeyError::UnknownKek(_))), "{missing:?}");

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let nobody = format!("http://{closed}");
    let unavailable = AwsKmsKeyProvider::from_config("alias/cbt", &config(&nobody).await).await.err();
    assert!(matches!(unavailable, Some(KeyError::Unavailable(_))), "{unavailable:?}");
}

/// A fake KMS on a loopback port: `DescribeKey` finds an enabled key,
/// every other call is refused with the error `code`, in the AWS JSON
/// protocol's form.
async fn fake_kms(code: &'static str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                let (head_len, body_len) = loop {
                    let n = stream.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    request.extend_from_slice(&buf[..n]);
                    if let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&request[..end]).to_ascii_lowercase();
                        let len = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .map_or(0, |v| v.trim().parse::<usize>().unwrap());
                        break (end + 4, len);
                    }
                };
                while request.len() < head_len + body_len {
                    let n = stream.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    request.extend_from_slice(&buf[..n]);
                }
                let head = String::from_utf8_lossy(&request[..head_len]).to_ascii_lowercase();
                let (status, body) = if head.contains("x-amz-target: trentservice.describekey") {
                    let arn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
                    (
                        "200 OK",
                        format!(
                            r#"{{"KeyMetadata":{{"KeyId":"1234abcd-12ab-34cd-56ef-1234567890ab","Arn":"{arn}","Enabled":true}}}}"#
                        ),
                    )
                } else {
                    ("400 Bad Request", format!(r#"{{"__type":"{code}","message":"refused by the fake"}}"#))
                };
                let response = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\n\
                     Connection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
            });
        }
    });
    endpoint
}

/// What AWS KMS answers where moto does not: a key pending deletion or
/// disabled is an unknown KEK, throttling is unavailability, and a
/// ciphertext for another key does not open.
#[tokio::test]
async fn kms_refusals_become_the_right_key_errors() {
    let wrapped = WrappedKey { kek: "arn:aws:kms:us-east-1:111122223333:key/old".into(), bytes: vec![1; 184] };
    let who = owner();
    for (code, expected) in [
        ("KMSInvalidStateException", "unknown"),
        ("DisabledException", "unknown"),
        ("NotFoundException", "unknown"),
        ("IncorrectKeyException", "does not open"),
        ("InvalidCiphertextException", "does not open"),
        ("ThrottlingException", "unavailable"),
        ("AccessDeniedException", "failed"),
    ] {
        let endpoint = fake_kms(code).await;
        let provider = AwsKmsKeyProvider::from_config("alias/cbt", &config(&endpoint).await).await.unwrap();
        for result in [provider.unwrap(&wrapped, who).await.err(), provider.rewrap(&wrapped, who).await.err()] {
            let got = match result {
                Some(KeyError::UnknownKek(_)) => "unknown",
                Some(KeyError::DoesNotOpen) => "does not open",
                Some(KeyError::Unavailable(_)) => "unavailable",
                Some(KeyError::Failed(_)) => "failed",
                other => panic!("{code}: {other:?}"),
            };
            assert_eq!(got, expected, "{code}");
        }
        let generated = provider.generate_data_key(who).await.err();
        assert!(generated.is_some(), "{code}: generating fails too");
    }
}
