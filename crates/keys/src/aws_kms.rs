//! The `aws-kms` key provider: data keys made and unwrapped by AWS KMS.
//!
//! Every call carries the encryption context `{cbt:account, cbt:data-key}`,
//! so a wrapped key moved to another account or renamed does not unwrap.
//! The configured key is resolved to its ARN at start-up; a wrapped key
//! records the ARN that wrapped it. KMS's own automatic rotation of the
//! key's backing material needs nothing from us; moving to another KMS key
//! is: configure its id, then `keys rotate` (which uses `ReEncrypt`, so the
//! data keys never leave KMS in plain during a rotation).

use std::collections::HashMap;

use async_trait::async_trait;
use aws_config::BehaviorVersion;
use aws_sdk_kms::Client;
use aws_sdk_kms::config::{Credentials, Region};
use aws_sdk_kms::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;
use cbt_encryption::DataKey;
use cbt_ports::{KeyError, KeyOwner, KeyProvider, WrappedKey};
use zeroize::Zeroizing;

/// Where the KMS key is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwsKmsSettings {
    /// Key id, ARN or alias (`alias/…`).
    pub key_id: String,
    pub region: String,
    /// Another endpoint (a VPC endpoint, or a local test server). `https://`,
    /// or `http://` on a loopback address only.
    pub endpoint: Option<String>,
}

pub struct AwsKmsKeyProvider {
    client: Client,
    /// The configured key's ARN: what wrapped keys are compared against.
    key_arn: String,
}

/// Plain HTTP would carry data keys in the clear: only to this machine.
fn check_endpoint(endpoint: Option<&str>) -> Result<(), KeyError> {
    let Some(url) = endpoint else { return Ok(()) };
    if url.starts_with("https://") {
        return Ok(());
    }
    let Some(rest) = url.strip_prefix("http://") else {
        return Err(KeyError::Failed(format!("the KMS endpoint {url} is not an https:// URL")));
    };
    let host = if rest.starts_with('[') { rest.split(']').next().map(|h| format!("{h}]")) } else { None }
        .unwrap_or_else(|| rest.split([':', '/']).next().unwrap_or_default().to_owned());
    if matches!(host.as_str(), "127.0.0.1" | "localhost" | "[::1]") {
        Ok(())
    } else {
        Err(KeyError::Failed(format!(
            "the KMS endpoint {url} is plain http on a non-loopback host: data keys must travel over TLS"
        )))
    }
}

/// Service errors by their code; everything else (no connection, timeout,
/// unreadable answer) is `Unavailable`.
fn kms_error<E: ProvideErrorMetadata + std::error::Error + 'static, R: std::fmt::Debug>(
    what: &str,
    e: SdkError<E, R>,
) -> KeyError {
    match e {
        SdkError::ServiceError(service) => {
            let err = service.err();
            let code = err.code().unwrap_or("unknown");
            match code {
                "InvalidCiphertextException" | "IncorrectKeyException" => KeyError::DoesNotOpen,
                "NotFoundException" | "KMSInvalidStateException" | "DisabledException" => {
                    KeyError::UnknownKek(format!("{what}: {code}"))
                }
                "ThrottlingException" | "KMSInternalException" | "DependencyTimeoutException" => {
                    KeyError::Unavailable(format!("{what}: {code}"))
                }
                _ => KeyError::Failed(format!("{what}: {code}: {}", err.message().unwrap_or_default())),
            }
        }
        other => KeyError::Unavailable(format!("{what}: {}", aws_sdk_kms::error::DisplayErrorContext(&other))),
    }
}

fn context(owner: KeyOwner) -> HashMap<String, String> {
    HashMap::from([
        ("cbt:account".to_owned(), owner.account.as_uuid().to_string()),
        ("cbt:data-key".to_owned(), owner.key_id.to_string()),
    ])
}

fn data_key(owner: KeyOwner, plaintext: Option<Blob>) -> Result<DataKey, KeyError> {
    let plain = Zeroizing::new(plaintext.map(Blob::into_inner).unwrap_or_default());
    DataKey::from_bytes(owner.key_id, &plain)
        .map_err(|_| KeyError::Failed("KMS returned a key of the wrong size".into()))
}

impl AwsKmsKeyProvider {
    /// Credentials from the usual AWS chain (environment, profile, instance
    /// or task role). Checks the key exists and is enabled.
    pub async fn new(settings: AwsKmsSettings) -> Result<Self, KeyError> {
        check_endpoint(settings.endpoint.as_deref())?;
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).region(Region::new(settings.region.clone()));
        if let Some(endpoint) = &settings.endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        Self::with_client(Client::new(&loader.load().await), &settings.key_id).await
    }

    /// Fixed credentials (tests against a local KMS-compatible server).
    pub async fn with_credentials(
        settings: AwsKmsSettings,
        access_key_id: &str,
        secret_access_key: &str,
    ) -> Result<Self, KeyError> {
        check_endpoint(settings.endpoint.as_deref())?;
        let mut config = aws_sdk_kms::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(settings.region.clone()))
            .credentials_provider(Credentials::new(access_key_id, secret_access_key, None, None, "cbt-static"));
        if let Some(endpoint) = &settings.endpoint {
            config = config.endpoint_url(endpoint);
        }
        Self::with_client(Client::from_conf(config.build()), &settings.key_id).await
    }

    async fn with_client(client: Client, key_id: &str) -> Result<Self, KeyError> {
        let described = client.describe_key().key_id(key_id).send().await.map_err(|e| kms_error("DescribeKey", e))?;
        let meta = described.key_metadata.ok_or_else(|| KeyError::Failed("DescribeKey: no key metadata".into()))?;
        if !meta.enabled {
            return Err(KeyError::UnknownKek(format!("{} is not enabled", meta.arn.as_deref().unwrap_or(key_id))));
        }
        let key_arn = meta.arn.ok_or_else(|| KeyError::Failed("DescribeKey: no key ARN".into()))?;
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

    async fn new_kek(&self) -> Result<Option<String>, KeyError> {
        // A new KMS key is the operator's to create and configure.
        Ok(None)
    }

    async fn destroy_kek(&self, kek: &str) -> Result<(), KeyError> {
        if kek == self.key_arn {
            return Err(KeyError::Unsupported(format!("{kek} is the current key-encryption key")));
        }
        // The bare key id: deletion only ever acts on this account's keys,
        // and moto (our test server) accepts no other form here.
        let key_id = kek.rsplit_once(":key/").map_or(kek, |(_, id)| id);
        // KMS's shortest waiting period; the key is unusable from now on.
        self.client
            .schedule_key_deletion()
            .key_id(key_id)
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
    fn plain_http_only_to_loopback() {
        assert!(check_endpoint(None).is_ok());
        assert!(check_endpoint(Some("https://kms.eu-west-1.amazonaws.com")).is_ok());
        assert!(check_endpoint(Some("http://127.0.0.1:4566")).is_ok());
        assert!(check_endpoint(Some("http://localhost:4566/")).is_ok());
        assert!(check_endpoint(Some("http://[::1]:4566")).is_ok());
        assert!(check_endpoint(Some("http://kms.internal:80")).is_err());
        assert!(check_endpoint(Some("http://127.0.0.1.evil.example:80")).is_err());
        assert!(check_endpoint(Some("ftp://127.0.0.1")).is_err());
    }
}
