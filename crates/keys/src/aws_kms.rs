//! The `aws-kms` key provider: data keys made and unwrapped by AWS KMS.
//!
//! Every call carries the encryption context `{cbt:account, cbt:data-key}`,
//! so a wrapped key moved to another account or renamed does not unwrap.
//! The configured key is resolved to its ARN at start-up; a wrapped key
//! records the ARN KMS says wrapped it.
//!
//! Rotation: KMS's own automatic (yearly) rotation of a key's backing
//! material needs nothing from us: the key's ARN stays, and old
//! ciphertexts keep opening. Moving to another KMS key is the operator's
//! step: create it, configure its id, then `keys rotate`, which uses
//! `ReEncrypt`, so data keys never leave KMS in plain during a rotation.
//!
//! Key bytes: the plaintext KMS returns goes straight into a [`DataKey`]
//! (zeroised on drop); the one temporary buffer is zeroised too. Copies the
//! SDK makes while reading the answer (HTTP body, JSON, base64) are out of
//! our reach. Errors and messages never hold key material.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use async_trait::async_trait;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_kms::Client;
use aws_sdk_kms::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;
use cbt_encryption::DataKey;
use cbt_ports::{KeyError, KeyOwner, KeyProvider, WrappedKey};
use zeroize::Zeroizing;

/// Where the KMS key is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwsKmsSettings {
    /// Key id, key ARN, alias (`alias/…`) or alias ARN.
    pub key_id: String,
    /// The key's region, e.g. `eu-west-1`; empty: from the environment
    /// (`AWS_REGION`, the profile).
    pub region: String,
    /// Another endpoint (a VPC endpoint, or a local test server):
    /// `https://`, or `http://` to a loopback address only.
    pub endpoint: Option<String>,
}

pub struct AwsKmsKeyProvider {
    client: Client,
    /// The configured key's ARN: new wrappings use it.
    key_arn: String,
}

/// Plain HTTP would carry data keys in the clear: only to this machine.
fn check_endpoint(endpoint: Option<&str>) -> Result<(), KeyError> {
    let Some(url) = endpoint else { return Ok(()) };
    let scheme_end = url.find("://").unwrap_or(0);
    let (scheme, rest) = (url.get(..scheme_end).unwrap_or_default(), url.get(scheme_end + 3..).unwrap_or_default());
    if scheme.eq_ignore_ascii_case("https") {
        return Ok(());
    }
    if !scheme.eq_ignore_ascii_case("http") {
        return Err(KeyError::Failed(format!("the KMS endpoint {url} is not an https:// URL")));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    // No user info (`http://127.0.0.1@elsewhere`): the host must be the
    // whole of what comes before the port.
    let loopback = !authority.contains('@')
        && (host.eq_ignore_ascii_case("localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback()));
    if loopback {
        Ok(())
    } else {
        Err(KeyError::Failed(format!(
            "the KMS endpoint {url} is plain http to a host other than this machine: data keys must travel over TLS"
        )))
    }
}

/// A KMS error code, as a `KeyError`. Codes are the wire names
/// (`__type`), the same for every operation.
fn by_code(what: &str, code: &str, message: Option<&str>) -> KeyError {
    match code {
        // Wrong context (moved or renamed), altered bytes, or a KeyId that
        // is not the one that wrapped it.
        "InvalidCiphertextException" | "IncorrectKeyException" => KeyError::DoesNotOpen,
        // Deleted, pending deletion, disabled: the KEK is gone or going.
        "NotFoundException" | "KMSInvalidStateException" | "DisabledException" => {
            KeyError::UnknownKek(format!("{what}: {code}"))
        }
        "ThrottlingException"
        | "KMSInternalException"
        | "DependencyTimeoutException"
        | "KeyUnavailableException"
        | "ServiceUnavailableException"
        | "InternalFailure" => KeyError::Unavailable(format!("{what}: {code}")),
        _ => KeyError::Failed(format!("{what}: {code}: {}", message.unwrap_or("(no message)"))),
    }
}

/// Service errors by their code; no answer (no connection, timeout,
/// unreadable answer) is `Unavailable`.
fn kms_error<E, R>(what: &str, e: SdkError<E, R>) -> KeyError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match &e {
        SdkError::ServiceError(service) => {
            by_code(what, service.err().code().unwrap_or("unknown"), service.err().message())
        }
        SdkError::ConstructionFailure(_) => KeyError::Failed(format!("{what}: {}", DisplayErrorContext(&e))),
        _ => KeyError::Unavailable(format!("{what}: {}", DisplayErrorContext(&e))),
    }
}

fn context(owner: KeyOwner) -> HashMap<String, String> {
    HashMap::from([
        ("cbt:account".to_owned(), owner.account.as_uuid().to_string()),
        ("cbt:data-key".to_owned(), owner.key_id.to_string()),
    ])
}

/// The plaintext KMS returned, as the owner's data key.
fn data_key(owner: KeyOwner, plaintext: Option<Blob>) -> Result<DataKey, KeyError> {
    let plain = Zeroizing::new(plaintext.map(Blob::into_inner).unwrap_or_default());
    DataKey::from_bytes(owner.key_id, &plain)
        .map_err(|_| KeyError::Failed("KMS returned a data key of the wrong size".into()))
}

/// The key id at the end of a key ARN (`arn:…:key/<id>`), or the text as
/// given.
fn bare_key_id(key: &str) -> &str {
    key.rsplit_once(":key/").map_or(key, |(_, id)| id)
}

impl AwsKmsKeyProvider {
    /// Credentials from the default AWS chain (environment, profile, web
    /// identity, container or instance role). Checks that the key exists
    /// and is enabled, so a wrong setting stops start-up.
    pub async fn new(settings: AwsKmsSettings) -> Result<Self, KeyError> {
        check_endpoint(settings.endpoint.as_deref())?;
        // No operation waits for ever on KMS: a request needing a data key
        // fails with `Unavailable` instead of hanging.
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(3))
            .operation_attempt_timeout(Duration::from_secs(5))
            .operation_timeout(Duration::from_secs(15))
            .build();
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).timeout_config(timeouts);
        if !settings.region.is_empty() {
            loader = loader.region(Region::new(settings.region.clone()));
        }
        if let Some(endpoint) = &settings.endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        Self::from_config(&settings.key_id, &loader.load().await).await
    }

    /// With client settings made by the caller (tests: fixed credentials,
    /// a local server, no retries). The endpoint rule holds here too.
    pub async fn from_config(key_id: &str, config: &SdkConfig) -> Result<Self, KeyError> {
        check_endpoint(config.endpoint_url())?;
        if key_id.is_empty() {
            return Err(KeyError::Failed("no KMS key id is configured".into()));
        }
        if config.region().is_none() {
            return Err(KeyError::Failed("no AWS region is configured for KMS".into()));
        }
        let client = Client::new(config);
        let described = client.describe_key().key_id(key_id).send().await.map_err(|e| kms_error("DescribeKey", e))?;
        let meta = described.key_metadata.ok_or_else(|| KeyError::Failed("DescribeKey: no key metadata".into()))?;
        let key_arn = meta.arn.ok_or_else(|| KeyError::Failed("DescribeKey: no key ARN".into()))?;
        if !meta.enabled {
            return Err(KeyError::UnknownKek(format!("{key_arn} is not enabled")));
        }
        Ok(Self { client, key_arn })
    }
}

#[async_trait]
impl KeyProvider for AwsKmsKeyProvider {
    fn current_kek(&self) -> String {
        self.key_arn.clone()
    }

    async fn generate_data_key(&self, owner: KeyOwner) -> Result<(DataKey, WrappedKey), KeyError> {
        let out = self
            .client
            .generate_data_key()
            .key_id(&self.key_arn)
            .key_spec(DataKeySpec::Aes256)
            .set_encryption_context(Some(context(owner)))
            .send()
            .await
            .map_err(|e| kms_error("GenerateDataKey", e))?;
        // KMS names the key that wrapped it; it is the one asked for.
        let kek = out.key_id.unwrap_or_else(|| self.key_arn.clone());
        let bytes = out.ciphertext_blob.map(Blob::into_inner).unwrap_or_default();
        Ok((data_key(owner, out.plaintext)?, WrappedKey { kek, bytes }))
    }

    async fn unwrap(&self, wrapped: &WrappedKey, owner: KeyOwner) -> Result<DataKey, KeyError> {
        let out = self
            .client
            .decrypt()
            .key_id(&wrapped.kek)
            .ciphertext_blob(Blob::new(wrapped.bytes.clone()))
            .set_encryption_context(Some(context(owner)))
            .send()
            .await
            .map_err(|e| kms_error("Decrypt", e))?;
        data_key(owner, out.plaintext)
    }

    async fn rewrap(&self, wrapped: &WrappedKey, owner: KeyOwner) -> Result<WrappedKey, KeyError> {
        let out = self
            .client
            .re_encrypt()
            .ciphertext_blob(Blob::new(wrapped.bytes.clone()))
            .source_key_id(&wrapped.kek)
            .set_source_encryption_context(Some(context(owner)))
            .destination_key_id(&self.key_arn)
            .set_destination_encryption_context(Some(context(owner)))
            .send()
            .await
            .map_err(|e| kms_error("ReEncrypt", e))?;
        let kek = out.key_id.unwrap_or_else(|| self.key_arn.clone());
        Ok(WrappedKey { kek, bytes: out.ciphertext_blob.map(Blob::into_inner).unwrap_or_default() })
    }

    /// `None`: with KMS the operator creates a new key and configures its
    /// id (KMS's automatic rotation of a key's backing material needs
    /// nothing from us).
    async fn new_kek(&self) -> Result<Option<String>, KeyError> {
        Ok(None)
    }

    /// Schedules the key's deletion with KMS's shortest waiting period (7
    /// days). From the call on, KMS refuses every use of the key
    /// (`KMSInvalidStateException`, reported as `UnknownKek`); until the
    /// period ends an administrator can still cancel it in KMS.
    async fn destroy_kek(&self, kek: &str) -> Result<(), KeyError> {
        // Compared by key id, so the current key's bare id is refused too.
        if bare_key_id(kek).eq_ignore_ascii_case(bare_key_id(&self.key_arn)) {
            return Err(KeyError::Unsupported(format!(
                "{kek} is the current key-encryption key; configure another KMS key and rotate first"
            )));
        }
        // The bare key id: ScheduleKeyDeletion acts only on keys of the
        // caller's own account and region anyway, and moto (our test
        // server) answers an ARN here with an internal error.
        self.client
            .schedule_key_deletion()
            .key_id(bare_key_id(kek))
            .pending_window_in_days(7)
            .send()
            .await
            .map_err(|e| kms_error("ScheduleKeyDeletion", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_to_this_machine() {
        for allowed in [
            None,
            Some("https://kms.eu-west-1.amazonaws.com"),
            Some("HTTPS://vpce-1.kms.eu-west-1.vpce.amazonaws.com/"),
            Some("http://127.0.0.1:4566"),
            Some("http://localhost:4566/"),
            Some("http://[::1]:4566"),
        ] {
            assert!(check_endpoint(allowed).is_ok(), "{allowed:?}");
        }
        for refused in [
            "http://kms.internal:80",
            "http://10.0.0.5",
            "http://127.0.0.1.evil.example:80",
            "http://127.0.0.1@evil.example",
            "http://[::1]@evil.example",
            "http://localhost.evil.example",
            "ftp://127.0.0.1",
            "127.0.0.1:4566",
        ] {
            let err = check_endpoint(Some(refused)).err();
            assert!(matches!(err, Some(KeyError::Failed(_))), "{refused}: {err:?}");
        }
    }

    #[test]
    fn kms_error_codes_become_key_errors() {
        for code in ["InvalidCiphertextException", "IncorrectKeyException"] {
            assert!(matches!(by_code("Decrypt", code, None), KeyError::DoesNotOpen), "{code}");
        }
        for code in ["NotFoundException", "KMSInvalidStateException", "DisabledException"] {
            assert!(matches!(by_code("Decrypt", code, None), KeyError::UnknownKek(_)), "{code}");
        }
        for code in ["ThrottlingException", "KMSInternalException", "DependencyTimeoutException"] {
            assert!(matches!(by_code("Decrypt", code, None), KeyError::Unavailable(_)), "{code}");
        }
        let other = by_code("Decrypt", "AccessDeniedException", Some("not allowed"));
        assert!(matches!(&other, KeyError::Failed(m) if m.contains("AccessDeniedException")), "{other:?}");
    }

    #[test]
    fn key_ids_from_arns() {
        assert_eq!(bare_key_id("arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab"), "1234abcd-12ab");
        assert_eq!(bare_key_id("1234abcd-12ab"), "1234abcd-12ab");
        assert_eq!(bare_key_id("alias/cbt"), "alias/cbt");
    }
}
