//! Sealed files in S3-compatible object storage (object_store's S3 client).
//!
//! Objects up to one part (5 MiB) are written with a conditional create
//! (`If-None-Match: *`), which the server refuses if the name exists. Larger
//! ones stream as a multipart upload (a few parts in memory at most) after
//! a check that the name is free; names are fresh UUIDs the app chose, so
//! that check and bucket versioning (which the deployment turns on: every
//! version is kept) are the guard there. SSE-KMS headers are sent when a
//! key is configured; plain `http://` endpoints are refused except on
//! loopback (tests).

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use cbt_ports::{BlobError, BlobName, BlobStore, ByteStream};
use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, WriteMultipart};
use uuid::Uuid;

use crate::checked;

/// S3's smallest part (but the last): also the single-put limit here.
const PART: usize = 5 * 1024 * 1024;
/// Parts uploading at once, at most (bounds memory: PART each).
const PARTS_IN_FLIGHT: usize = 2;

/// Where the bucket is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct S3Settings {
    pub bucket: String,
    pub region: String,
    /// Another endpoint (MinIO, a test server). `https://`, or `http://` on
    /// loopback only.
    pub endpoint: Option<String>,
    /// Sent as the SSE-KMS key for every object written.
    pub sse_kms_key_id: Option<String>,
    /// Fixed credentials; `None`: the usual AWS environment variables.
    pub credentials: Option<(String, String)>,
}

pub struct S3BlobStore {
    store: Arc<AmazonS3>,
}

fn loopback_http(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else { return false };
    let host = rest.split(['/', ':']).next().unwrap_or_default();
    matches!(host, "127.0.0.1" | "localhost") || rest.starts_with("[::1]")
}

fn failed(e: object_store::Error) -> BlobError {
    match e {
        object_store::Error::NotFound { .. } => BlobError::NotFound,
        object_store::Error::AlreadyExists { .. } | object_store::Error::Precondition { .. } => {
            BlobError::AlreadyExists
        }
        other => BlobError::Unavailable(other.to_string()),
    }
}

impl S3BlobStore {
    pub fn new(settings: &S3Settings) -> Result<Self, BlobError> {
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(&settings.bucket).with_region(&settings.region);
        if let Some(endpoint) = &settings.endpoint {
            if !endpoint.starts_with("https://") && !loopback_http(endpoint) {
                return Err(BlobError::Failed(format!(
                    "the S3 endpoint {endpoint} is not https:// (plain http is allowed on loopback only)"
                )));
            }
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(loopback_http(endpoint))
                .with_virtual_hosted_style_request(false);
        }
        if let Some((id, secret)) = &settings.credentials {
            builder = builder.with_access_key_id(id).with_secret_access_key(secret);
        }
        if let Some(key) = &settings.sse_kms_key_id {
            builder = builder.with_sse_kms_encryption(key);
        }
        let store = builder.build().map_err(|e| BlobError::Failed(format!("S3 settings: {e}")))?;
        Ok(Self { store: Arc::new(store) })
    }

    fn path_of(name: &BlobName) -> Result<ObjectPath, BlobError> {
        let (account, blob) = checked(name)?;
        Ok(ObjectPath::from(format!("{account}/{blob}")))
    }
}

#[async_trait]
impl BlobStore for S3BlobStore {
    async fn put(&self, name: &BlobName, mut body: ByteStream) -> Result<u64, BlobError> {
        let path = Self::path_of(name)?;
        // Gather up to one part: small files go in one conditional put.
        let mut first = Vec::new();
        let mut rest = None;
        while let Some(chunk) = body.next().await {
            let chunk = chunk?;
            first.extend_from_slice(&chunk);
            if first.len() > PART {
                rest = Some(body);
                break;
            }
        }
        let Some(mut body) = rest else {
            let size = first.len() as u64;
            let options = PutOptions { mode: PutMode::Create, ..PutOptions::default() };
            self.store.put_opts(&path, PutPayload::from(Bytes::from(first)), options).await.map_err(failed)?;
            return Ok(size);
        };
        match self.store.head(&path).await {
            Ok(_) => return Err(BlobError::AlreadyExists),
            Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(failed(e)),
        }
        let upload = self.store.put_multipart(&path).await.map_err(failed)?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART);
        let mut size = first.len() as u64;
        writer.write(&first);
        drop(first);
        let streamed: Result<(), BlobError> = async {
            while let Some(chunk) = body.next().await {
                let chunk = chunk?;
                writer.wait_for_capacity(PARTS_IN_FLIGHT).await.map_err(failed)?;
                writer.write(&chunk);
                size += chunk.len() as u64;
            }
            Ok(())
        }
        .await;
        match streamed {
            Ok(()) => {
                writer.finish().await.map_err(failed)?;
                Ok(size)
            }
            Err(e) => {
                // Nothing appears under the name; the parts are discarded.
                let _ = writer.abort().await;
                Err(e)
            }
        }
    }

    async fn get(&self, name: &BlobName) -> Result<ByteStream, BlobError> {
        let path = Self::path_of(name)?;
        let result = self.store.get(&path).await.map_err(failed)?;
        Ok(Box::pin(result.into_stream().map_err(failed)))
    }

    async fn delete_account(&self, account: Uuid) -> Result<u64, BlobError> {
        let prefix = ObjectPath::from(account.to_string());
        let names: Vec<ObjectPath> =
            self.store.list(Some(&prefix)).map_ok(|meta| meta.location).try_collect().await.map_err(failed)?;
        for name in &names {
            self.store.delete(name).await.map_err(failed)?;
        }
        Ok(names.len() as u64)
    }
}
