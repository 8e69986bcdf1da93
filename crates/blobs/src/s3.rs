//! Sealed files in S3-compatible object storage, on object_store's S3
//! client.
//!
//! Never overwritten: a file up to one part (5 MiB) is one `PutObject` with
//! `If-None-Match: *`; a larger one streams as a multipart upload (two
//! parts in flight at most, so memory stays around 15 MiB whatever the
//! size) whose `CompleteMultipartUpload` carries `If-None-Match: *` too, so
//! the server refuses to publish it if the name exists, atomically, even
//! against an upload racing it. object_store has no public way to send
//! that header on completion, so [`CreateOnlyUpload`] sends that one
//! request itself, signed by object_store's SigV4 signer. A HEAD before a
//! large upload only saves sending the parts when the name is taken.
//!
//! What the deployment adds (the operator's part):
//! - bucket versioning on, so that even a write or delete by anything else
//!   keeps the earlier version ("files cannot be silently modified or
//!   deleted"); `delete_account` then leaves delete markers over versions
//!   that stay until a lifecycle rule expires them (they are sealed with
//!   the account's data key, which the purge destroys);
//! - a lifecycle rule `AbortIncompleteMultipartUpload` (a day): an upload
//!   the app abandons without a chance to abort (a crash, a client gone
//!   mid-file) leaves parts that are never visible as an object but are
//!   stored until aborted.
//!
//! SSE-KMS headers are sent when a key is configured. Plain `http://`
//! endpoints are refused except on loopback (tests, a local MinIO).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use cbt_ports::{BlobError, BlobName, BlobStore, ByteStream};
use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey, AwsAuthorizer, S3ConditionalPut};
use object_store::client::{HttpClient, HttpConnector, HttpRequestBody, ReqwestConnector};
use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path as ObjectPath;
use object_store::{
    ClientOptions, MultipartId, MultipartUpload, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload,
    PutResult, UploadPart, WriteMultipart,
};
use uuid::Uuid;

use crate::checked;

/// S3's smallest part (but the last): also the single-put limit here.
const PART: usize = 5 * 1024 * 1024;
/// Parts uploading at once, at most (bounds memory: PART each).
const PARTS_IN_FLIGHT: usize = 2;
/// A response that sends nothing for this long is given up (and a `get`
/// resumes where it stopped). No limit on a whole request: a 200 MB file
/// read by a slow client takes as long as it takes.
const STALLED: Duration = Duration::from_secs(60);

/// Where the bucket is.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct S3Settings {
    pub bucket: String,
    pub region: String,
    /// Another endpoint (MinIO, a test server), path-style. `https://`, or
    /// `http://` on loopback only.
    pub endpoint: Option<String>,
    /// Sent as the SSE-KMS key for every object written.
    pub sse_kms_key_id: Option<String>,
    /// Fixed credentials (tests); `None`: AWS's usual chain (the
    /// `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/`AWS_SESSION_TOKEN`
    /// variables, web identity, the ECS container or EC2 instance role).
    pub credentials: Option<(String, String)>,
}

impl std::fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Settings")
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .field("sse_kms_key_id", &self.sse_kms_key_id)
            .field("credentials", &self.credentials.as_ref().map(|(id, _)| (id, "(hidden)")))
            .finish()
    }
}

pub struct S3BlobStore {
    store: Arc<AmazonS3>,
    completer: Arc<Completer>,
}

/// `http://` to a loopback address.
fn is_loopback_http(url: &url::Url) -> bool {
    url.scheme() == "http"
        && match url.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
            None => false,
        }
}

/// The endpoint, checked: TLS, or plain HTTP on loopback only. Returns
/// whether plain HTTP is allowed.
fn check_endpoint(endpoint: &str) -> Result<bool, BlobError> {
    let url = url::Url::parse(endpoint)
        .map_err(|e| BlobError::Failed(format!("S3 settings: the endpoint {endpoint} is not a URL: {e}")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(BlobError::Failed("S3 settings: the endpoint must not hold credentials".into()));
    }
    match url.scheme() {
        "https" => Ok(false),
        _ if is_loopback_http(&url) => Ok(true),
        _ => Err(BlobError::Failed(format!(
            "S3 settings: the endpoint {endpoint} is not https:// (plain http is allowed on loopback only)"
        ))),
    }
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
        if settings.bucket.is_empty() || settings.region.is_empty() {
            return Err(BlobError::Failed("S3 settings: a bucket and a region are required".into()));
        }
        // From the environment for the credential chain; everything that
        // decides where and how bytes go is set here, over any variable.
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(&settings.bucket)
            .with_region(&settings.region)
            .with_virtual_hosted_style_request(false)
            .with_s3_express(false)
            .with_conditional_put(S3ConditionalPut::ETagMatch);
        if let Some(endpoint) = &settings.endpoint {
            // Both keys: `AWS_ENDPOINT_URL_S3` would win over the other.
            builder = builder.with_endpoint(endpoint).with_config(AmazonS3ConfigKey::S3Endpoint, endpoint);
        }
        if let Some((id, secret)) = &settings.credentials {
            builder = builder.with_access_key_id(id).with_secret_access_key(secret);
        }
        if let Some(key) = &settings.sse_kms_key_id {
            builder = builder.with_sse_kms_encryption(key);
        }
        // The environment may have set one: it is checked the same way.
        let endpoint = builder
            .get_config_value(&AmazonS3ConfigKey::S3Endpoint)
            .or_else(|| builder.get_config_value(&AmazonS3ConfigKey::Endpoint));
        let allow_http = match &endpoint {
            Some(endpoint) => check_endpoint(endpoint)?,
            None => false,
        };
        let options = ClientOptions::new()
            .with_allow_http(allow_http)
            .with_timeout_disabled()
            .with_read_timeout(STALLED)
            .with_connect_timeout(Duration::from_secs(10));
        let builder = builder.with_client_options(options.clone());
        let store = builder.build().map_err(|e| BlobError::Failed(format!("S3 settings: {e}")))?;
        let store = Arc::new(store);
        let bucket_endpoint = match &endpoint {
            Some(endpoint) => format!("{}/{}", endpoint.trim_end_matches('/'), settings.bucket),
            None => format!("https://s3.{}.amazonaws.com/{}", settings.region, settings.bucket),
        };
        let http = ReqwestConnector::default().connect(&options).map_err(|e| BlobError::Failed(format!("S3: {e}")))?;
        let completer = Completer { store: Arc::clone(&store), http, bucket_endpoint, region: settings.region.clone() };
        Ok(Self { store, completer: Arc::new(completer) })
    }

    fn path_of(name: &BlobName) -> Result<ObjectPath, BlobError> {
        let (account, blob) = checked(name)?;
        Ok(ObjectPath::from(format!("{account}/{blob}")))
    }

    async fn put_large(&self, path: &ObjectPath, first: Vec<u8>, mut body: ByteStream) -> Result<u64, BlobError> {
        match self.store.head(path).await {
            Ok(_) => return Err(BlobError::AlreadyExists),
            Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(failed(e)),
        }
        let id = self.store.create_multipart(path).await.map_err(failed)?;
        let upload = CreateOnlyUpload {
            completer: Arc::clone(&self.completer),
            path: path.clone(),
            id,
            next_part: 0,
            parts: Arc::new(Mutex::new(Vec::new())),
        };
        let mut writer = WriteMultipart::new_with_chunk_size(Box::new(upload), PART);
        let mut size = first.len() as u64;
        writer.put(Bytes::from(first));
        let streamed: Result<(), BlobError> = async {
            while let Some(chunk) = body.next().await {
                let chunk = chunk?;
                writer.wait_for_capacity(PARTS_IN_FLIGHT).await.map_err(failed)?;
                size += chunk.len() as u64;
                writer.put(chunk);
            }
            Ok(())
        }
        .await;
        match streamed {
            // `finish` aborts the upload if completing fails.
            Ok(()) => writer.finish().await.map(|_| size).map_err(failed),
            Err(e) => {
                // Nothing appears under the name; the parts are discarded.
                let _ = writer.abort().await;
                Err(e)
            }
        }
    }
}

#[async_trait]
impl BlobStore for S3BlobStore {
    async fn put(&self, name: &BlobName, mut body: ByteStream) -> Result<u64, BlobError> {
        let path = Self::path_of(name)?;
        // Gather up to one part: small files go in one conditional put.
        let mut first = Vec::new();
        while let Some(chunk) = body.next().await {
            first.extend_from_slice(&chunk?);
            if first.len() > PART {
                return self.put_large(&path, first, body).await;
            }
        }
        let size = first.len() as u64;
        let options = PutOptions { mode: PutMode::Create, ..PutOptions::default() };
        self.store.put_opts(&path, PutPayload::from(Bytes::from(first)), options).await.map_err(failed)?;
        Ok(size)
    }

    async fn get(&self, name: &BlobName) -> Result<ByteStream, BlobError> {
        let path = Self::path_of(name)?;
        let result = self.store.get(&path).await.map_err(failed)?;
        Ok(Box::pin(result.into_stream().map_err(failed)))
    }

    async fn delete_account(&self, account: Uuid) -> Result<u64, BlobError> {
        let prefix = ObjectPath::from(account.to_string());
        let names = self.store.list(Some(&prefix)).map_ok(|meta| meta.location).boxed();
        let deleted = self.store.delete_stream(names).try_fold(0u64, |n, _| async move { Ok(n + 1) }).await;
        deleted.map_err(failed)
    }
}

/// Sends `CompleteMultipartUpload` with `If-None-Match: *`, which
/// object_store does not expose. Signed with the store's own credentials
/// (refreshed by its provider) and sent over a client with the store's
/// options.
#[derive(Debug)]
struct Completer {
    store: Arc<AmazonS3>,
    http: HttpClient,
    /// `https://s3.{region}.amazonaws.com/{bucket}` or `{endpoint}/{bucket}`:
    /// path-style, as the store is configured.
    bucket_endpoint: String,
    region: String,
}

fn s3_error(what: &str, detail: impl std::fmt::Display) -> object_store::Error {
    object_store::Error::Generic { store: "S3", source: format!("{what}: {detail}").into() }
}

/// The `<Part>` element of a part: object_store's part id is the ETag, or
/// (with a checksum configured) `<PartMetadata>` holding the ETag and the
/// checksum, elements `<Part>` takes as they are.
fn part_xml(number: usize, part: &PartId) -> String {
    let id = &part.content_id;
    match id.strip_prefix("<PartMetadata>").and_then(|rest| rest.strip_suffix("</PartMetadata>")) {
        Some(inner) => format!("<Part><PartNumber>{number}</PartNumber>{inner}</Part>"),
        None => {
            let etag = id.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
            format!("<Part><PartNumber>{number}</PartNumber><ETag>{etag}</ETag></Part>")
        }
    }
}

/// The `<Code>` of an S3 error document.
fn error_code(body: &str) -> Option<&str> {
    let start = body.find("<Code>")? + "<Code>".len();
    body[start..].split("</Code>").next()
}

impl Completer {
    async fn complete_if_absent(&self, path: &ObjectPath, id: &str, parts: &[PartId]) -> object_store::Result<()> {
        if parts.is_empty() {
            return Err(s3_error("complete upload", "no parts"));
        }
        let mut body = String::from("<CompleteMultipartUpload>");
        for (i, part) in parts.iter().enumerate() {
            body.push_str(&part_xml(i + 1, part));
        }
        body.push_str("</CompleteMultipartUpload>");
        let upload_id: String = url::form_urlencoded::byte_serialize(id.as_bytes()).collect();
        // Object names are two UUIDs and a slash: nothing to encode.
        let url = format!("{}/{}?uploadId={upload_id}", self.bucket_endpoint, path.as_ref());
        let mut request = http::Request::builder()
            .method(http::Method::POST)
            .uri(&url)
            .header(http::header::IF_NONE_MATCH, "*")
            .header(http::header::CONTENT_TYPE, "application/xml")
            .body(HttpRequestBody::from(body))
            .map_err(|e| s3_error("complete upload", e))?;
        let credential = self.store.credentials().get_credential().await?;
        AwsAuthorizer::new(&credential, "s3", &self.region).try_authorize(&mut request, None)?;
        let response = self.http.execute(request).await.map_err(|e| s3_error("complete upload", e))?;
        let status = response.status();
        let text = response.into_body().bytes().await.map_err(|e| s3_error("complete upload", e))?;
        let text = String::from_utf8_lossy(&text);
        // S3 may also answer 200 and put the error in the body.
        let code = if status.is_success() && !text.contains("<Error>") { None } else { error_code(&text) };
        match (status, code) {
            (http::StatusCode::PRECONDITION_FAILED, _) | (_, Some("PreconditionFailed")) => {
                Err(object_store::Error::AlreadyExists {
                    path: path.to_string(),
                    source: "If-None-Match: * refused the completion".into(),
                })
            }
            (status, None) if status.is_success() => Ok(()),
            (status, code) => Err(s3_error("complete upload", format!("{status} {}", code.unwrap_or("")))),
        }
    }
}

/// A multipart upload that publishes only if the name is still free. Parts
/// go through object_store; the completion through [`Completer`].
#[derive(Debug)]
struct CreateOnlyUpload {
    completer: Arc<Completer>,
    path: ObjectPath,
    id: MultipartId,
    next_part: usize,
    /// Part ids by index, as the (concurrent) part uploads finish.
    parts: Arc<Mutex<Vec<Option<PartId>>>>,
}

#[async_trait]
impl MultipartUpload for CreateOnlyUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        let index = self.next_part;
        self.next_part += 1;
        let (completer, path, id, parts) =
            (Arc::clone(&self.completer), self.path.clone(), self.id.clone(), Arc::clone(&self.parts));
        Box::pin(async move {
            let part = completer.store.put_part(&path, &id, index, data).await?;
            let mut parts = parts.lock().map_err(|_| s3_error("upload part", "lock poisoned"))?;
            if parts.len() <= index {
                parts.resize(index + 1, None);
            }
            parts[index] = Some(part);
            Ok(())
        })
    }

    async fn complete(&mut self) -> object_store::Result<PutResult> {
        let parts: Option<Vec<PartId>> = {
            let parts = self.parts.lock().map_err(|_| s3_error("complete upload", "lock poisoned"))?;
            parts.iter().cloned().collect()
        };
        let parts = parts.ok_or_else(|| s3_error("complete upload", "a part is missing"))?;
        self.completer.complete_if_absent(&self.path, &self.id, &parts).await?;
        Ok(PutResult { e_tag: None, version: None, extensions: Default::default() })
    }

    async fn abort(&mut self) -> object_store::Result<()> {
        match self.completer.store.abort_multipart(&self.path, &self.id).await {
            // Gone already: `WriteMultipart` aborts after any failed
            // completion, which must still report why it failed.
            Err(object_store::Error::NotFound { .. }) => Ok(()),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(endpoint: &str) -> S3Settings {
        S3Settings {
            bucket: "b".into(),
            region: "us-east-1".into(),
            endpoint: Some(endpoint.into()),
            sse_kms_key_id: None,
            credentials: Some(("id".into(), "secret".into())),
        }
    }

    #[test]
    fn plain_http_only_on_loopback() {
        for ok in ["https://s3.example.com", "http://127.0.0.1:9000", "http://localhost:9000/", "http://[::1]:9000"] {
            assert!(S3BlobStore::new(&settings(ok)).is_ok(), "{ok} was refused");
        }
        for refused in [
            "http://s3.example.com",
            "http://10.0.0.5:9000",
            "http://localhost.example.com",
            "http://127.0.0.1.example.com",
            "http://127.0.0.1@example.com",
            "https://user:pw@s3.example.com",
            "ftp://127.0.0.1",
            "not a url",
        ] {
            let refusal = S3BlobStore::new(&settings(refused)).err();
            assert!(matches!(refusal, Some(BlobError::Failed(_))), "{refused} was accepted");
        }
    }

    #[test]
    fn a_bucket_and_a_region_are_required() {
        let mut s = settings("https://s3.example.com");
        s.region = String::new();
        assert!(S3BlobStore::new(&s).is_err());
        let mut s = settings("https://s3.example.com");
        s.bucket = String::new();
        assert!(S3BlobStore::new(&s).is_err());
    }

    #[test]
    fn debug_hides_the_secret() {
        let shown = format!("{:?}", settings("https://s3.example.com"));
        assert!(!shown.contains("secret") && shown.contains("(hidden)"), "{shown}");
    }

    #[test]
    fn parts_become_complete_upload_elements() {
        let plain = PartId { content_id: "\"abc\"".into() };
        assert_eq!(part_xml(1, &plain), "<Part><PartNumber>1</PartNumber><ETag>\"abc\"</ETag></Part>");
        let with_checksum = PartId {
            content_id: "<PartMetadata><ETag>&quot;abc&quot;</ETag><ChecksumSHA256>x=</ChecksumSHA256></PartMetadata>"
                .into(),
        };
        assert_eq!(
            part_xml(2, &with_checksum),
            "<Part><PartNumber>2</PartNumber><ETag>&quot;abc&quot;</ETag><ChecksumSHA256>x=</ChecksumSHA256></Part>"
        );
        assert_eq!(error_code("<Error><Code>PreconditionFailed</Code></Error>"), Some("PreconditionFailed"));
    }
}
