//! `FakeGoogle`: an in-process OpenID provider for tests (cargo feature `test-provider`).
//!
//! It speaks the real protocol over real HTTP on `127.0.0.1`: a discovery document, a key set
//! (an RSA 2048 key generated at start), an authorization endpoint that answers like a user who
//! consents at once (302 to the `redirect_uri` with `code` and `state`), and a token endpoint that
//! checks the client credentials (HTTP Basic or form), the code (once), the `redirect_uri` and the
//! PKCE verifier against the S256 challenge, then returns an RS256 ID token with `iss`, `aud`,
//! `azp`, `sub`, `email`, `email_verified`, `iat`, `exp`, `nonce` and `at_hash`.
//!
//! [`FakeGoogle::set_fault`] makes the next tokens wrong in one way each, for the negative tests.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use openidconnect::url::{Url, form_urlencoded};
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::{OidcError, OidcSettings};

const AUTHORIZATION_PATH: &str = "/o/oauth2/v2/auth";
const TOKEN_PATH: &str = "/token";
const JWKS_PATH: &str = "/oauth2/v3/certs";
const TOKEN_LIFETIME: time::Duration = time::Duration::hours(1);

/// One way to make the provider's ID tokens wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The token's `nonce` is not the one from the authorization request.
    WrongNonce,
    /// The token expired an hour ago.
    Expired,
    /// Signed with another RSA key, under the published key's `kid`.
    WrongSignature,
    /// `aud` (and `azp`) name another client.
    WrongAudience,
    /// `iss` names another issuer (the discovery document stays right).
    WrongIssuer,
}

/// Who "signs in" at the fake provider. `None` claims are left out of the ID token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeIdentity {
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: Option<bool>,
}

impl FakeIdentity {
    /// An account whose address the provider has verified.
    pub fn verified(subject: impl Into<String>, email: impl Into<String>) -> Self {
        Self { subject: subject.into(), email: Some(email.into()), email_verified: Some(true) }
    }
}

impl Default for FakeIdentity {
    fn default() -> Self {
        Self::verified("108204441579124071234", "jane.doe@example.org")
    }
}

/// The fake provider. Stops when dropped.
pub struct FakeGoogle {
    shared: Arc<Shared>,
    port: u16,
    task: JoinHandle<()>,
}

struct Shared {
    issuer: String,
    client_id: String,
    client_secret: String,
    inner: Mutex<Inner>,
    token_requests: AtomicUsize,
    jwks_requests: AtomicUsize,
}

struct Inner {
    identity: FakeIdentity,
    fault: Option<Fault>,
    now: Option<OffsetDateTime>,
    /// Published keys, the one that signs first.
    keys: Vec<Arc<SigningKey>>,
    /// Never published; signs under `keys[0]`'s kid for [`Fault::WrongSignature`].
    impostor: Arc<SigningKey>,
    grants: HashMap<String, Grant>,
    next_kid: u32,
}

struct SigningKey {
    kid: String,
    pair: RsaKeyPair,
}

struct Grant {
    client_id: String,
    redirect_uri: String,
    code_challenge: String,
    nonce: Option<String>,
    identity: FakeIdentity,
}

impl fmt::Debug for FakeGoogle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeGoogle").field("issuer", &self.shared.issuer).finish_non_exhaustive()
    }
}

impl Drop for FakeGoogle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeGoogle {
    /// Listens on `127.0.0.1:0`; panics if it cannot (a test helper: the test ends with a clear message).
    #[allow(clippy::panic, reason = "a test helper: failing to start ends the test with a clear message")]
    pub async fn start() -> Self {
        match Self::try_start().await {
            Ok(server) => server,
            Err(e) => panic!("the fake OpenID provider could not start: {e}"),
        }
    }

    /// Listens on `127.0.0.1:0`.
    pub async fn try_start() -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let port = listener.local_addr()?.port();
        let issuer = format!("http://127.0.0.1:{port}");
        let (key, impostor) = tokio::try_join!(generate_key("fake-google-1"), generate_key("fake-google-1"))?;
        let shared = Arc::new(Shared {
            issuer,
            client_id: "1234567890-fake.apps.googleusercontent.com".to_owned(),
            client_secret: format!("GOCSPX-{}", random_string()),
            inner: Mutex::new(Inner {
                identity: FakeIdentity::default(),
                fault: None,
                now: None,
                keys: vec![Arc::new(key)],
                impostor: Arc::new(impostor),
                grants: HashMap::new(),
                next_kid: 2,
            }),
            token_requests: AtomicUsize::new(0),
            jwks_requests: AtomicUsize::new(0),
        });
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route(JWKS_PATH, get(jwks))
            .route(AUTHORIZATION_PATH, get(authorize))
            .route(TOKEN_PATH, post(token))
            .with_state(Arc::clone(&shared));
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "the fake OpenID provider stopped");
            }
        });
        Ok(Self { shared, port, task })
    }

    /// `http://127.0.0.1:<port>`, the issuer identifier (no trailing slash).
    pub fn issuer_url(&self) -> &str {
        &self.shared.issuer
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The one client registered here.
    pub fn client_id(&self) -> &str {
        &self.shared.client_id
    }

    pub fn client_secret(&self) -> &str {
        &self.shared.client_secret
    }

    /// Settings for the registered client with this redirect URL.
    pub fn settings(&self, redirect_url: &str) -> Result<OidcSettings, OidcError> {
        OidcSettings::new(self.issuer_url(), self.client_id(), self.client_secret(), redirect_url)
    }

    /// Who signs in at the next authorization request.
    pub fn set_identity(&self, identity: FakeIdentity) {
        self.shared.lock().identity = identity;
    }

    /// Makes the tokens issued from now on wrong in one way; `None` makes them right again.
    pub fn set_fault(&self, fault: impl Into<Option<Fault>>) {
        self.shared.lock().fault = fault.into();
    }

    /// The time `iat` and `exp` are computed from; `None` (the default) is the system clock.
    pub fn set_time(&self, now: Option<OffsetDateTime>) {
        self.shared.lock().now = now;
    }

    /// Starts signing with a new key (new `kid`), still publishing the old ones, like a provider
    /// rotating its keys.
    pub async fn rotate_key(&self) -> std::io::Result<()> {
        let kid = {
            let mut inner = self.shared.lock();
            inner.next_kid += 1;
            format!("fake-google-{}", inner.next_kid - 1)
        };
        let key = generate_key(&kid).await?;
        self.shared.lock().keys.insert(0, Arc::new(key));
        Ok(())
    }

    /// How many requests reached the token endpoint.
    pub fn token_requests(&self) -> usize {
        self.shared.token_requests.load(Ordering::Relaxed)
    }

    /// How many times the key set was fetched.
    pub fn jwks_requests(&self) -> usize {
        self.shared.jwks_requests.load(Ordering::Relaxed)
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

async fn generate_key(kid: &str) -> std::io::Result<SigningKey> {
    let pair = tokio::task::spawn_blocking(|| RsaKeyPair::generate(KeySize::Rsa2048))
        .await
        .map_err(std::io::Error::other)?
        .map_err(|_| std::io::Error::other("RSA key generation failed"))?;
    Ok(SigningKey { kid: kid.to_owned(), pair })
}

fn random_string() -> String {
    let mut bytes = [0u8; 32];
    // A test helper: a failing OS generator would only make codes predictable in a test.
    let _ = aws_lc_rs::rand::fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn s256(verifier: &str) -> String {
    b64(digest(&SHA256, verifier.as_bytes()))
}

fn sign_jwt(key: &SigningKey, kid: &str, claims: &Value) -> Option<String> {
    let header = json!({ "alg": "RS256", "kid": kid, "typ": "JWT" });
    let input = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
    let mut signature = vec![0; key.pair.public_modulus_len()];
    key.pair.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), input.as_bytes(), &mut signature).ok()?;
    Some(format!("{input}.{}", b64(signature)))
}

async fn discovery(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let issuer = &shared.issuer;
    Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}{AUTHORIZATION_PATH}"),
        "token_endpoint": format!("{issuer}{TOKEN_PATH}"),
        "jwks_uri": format!("{issuer}{JWKS_PATH}"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "email", "profile"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "claims_supported": ["aud", "email", "email_verified", "exp", "iat", "iss", "sub"],
        "code_challenge_methods_supported": ["S256"],
        "grant_types_supported": ["authorization_code"],
    }))
}

async fn jwks(State(shared): State<Arc<Shared>>) -> Json<Value> {
    shared.jwks_requests.fetch_add(1, Ordering::Relaxed);
    let keys: Vec<Value> = shared
        .lock()
        .keys
        .iter()
        .map(|key| {
            let public = key.pair.public_key();
            json!({
                "kty": "RSA",
                "alg": "RS256",
                "use": "sig",
                "kid": key.kid,
                "n": b64(public.modulus().big_endian_without_leading_zero()),
                "e": b64(public.exponent().big_endian_without_leading_zero()),
            })
        })
        .collect();
    Json(json!({ "keys": keys }))
}

fn bad_request(message: &'static str) -> Response {
    (StatusCode::BAD_REQUEST, message).into_response()
}

/// The user is already signed in at the provider and consents at once.
async fn authorize(State(shared): State<Arc<Shared>>, Query(params): Query<HashMap<String, String>>) -> Response {
    let param = |name: &str| params.get(name).map(String::as_str);
    if param("client_id") != Some(shared.client_id.as_str()) {
        return bad_request("unknown client_id");
    }
    let Some(redirect_uri) = param("redirect_uri") else {
        return bad_request("missing redirect_uri");
    };
    let Ok(mut location) = Url::parse(redirect_uri) else {
        return bad_request("invalid redirect_uri");
    };
    if param("response_type") != Some("code") {
        return bad_request("response_type must be code");
    }
    if !param("scope").is_some_and(|scope| scope.split(' ').any(|s| s == "openid")) {
        return bad_request("scope must include openid");
    }
    let Some(state) = param("state").filter(|s| !s.is_empty()) else {
        return bad_request("missing state");
    };
    if param("code_challenge_method") != Some("S256") {
        return bad_request("code_challenge_method must be S256");
    }
    let Some(code_challenge) = param("code_challenge").filter(|c| c.len() == 43) else {
        return bad_request("missing or malformed code_challenge");
    };
    let code = format!("4/{}", random_string());
    {
        let mut inner = shared.lock();
        let identity = inner.identity.clone();
        inner.grants.insert(
            code.clone(),
            Grant {
                client_id: shared.client_id.clone(),
                redirect_uri: redirect_uri.to_owned(),
                code_challenge: code_challenge.to_owned(),
                nonce: param("nonce").map(str::to_owned),
                identity,
            },
        );
    }
    location
        .query_pairs_mut()
        .append_pair("state", state)
        .append_pair("code", &code)
        .append_pair("scope", "openid email");
    match HeaderValue::from_str(location.as_str()) {
        Ok(value) => (StatusCode::FOUND, [(header::LOCATION, value)]).into_response(),
        Err(_) => bad_request("invalid redirect_uri"),
    }
}

fn token_error(status: StatusCode, error: &'static str, description: &'static str) -> Response {
    (status, [(header::CACHE_CONTROL, "no-store")], Json(json!({ "error": error, "error_description": description })))
        .into_response()
}

/// `application/x-www-form-urlencoded` decoding of one Basic credential half (RFC 6749 §2.3.1).
fn form_decode(text: &str) -> String {
    form_urlencoded::parse(format!("x={text}").as_bytes())
        .next()
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default()
}

fn basic_credentials(headers: &HeaderMap) -> Option<Option<(String, String)>> {
    let value = headers.get(header::AUTHORIZATION)?;
    let parsed = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|encoded| STANDARD.decode(encoded.trim()).ok())
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.split_once(':').map(|(id, secret)| (form_decode(id), form_decode(secret))));
    Some(parsed)
}

async fn token(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    shared.token_requests.fetch_add(1, Ordering::Relaxed);
    let field = |name: &str| form.get(name).map(String::as_str);

    let from_form = match (field("client_id"), field("client_secret")) {
        (Some(id), Some(secret)) => Some((id.to_owned(), secret.to_owned())),
        _ => None,
    };
    let (client_id, client_secret) = match (basic_credentials(&headers), from_form) {
        (Some(Some(basic)), None) => basic,
        (None, Some(posted)) => posted,
        (Some(_), Some(_)) => {
            return token_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "more than one client authentication method",
            );
        }
        _ => return token_error(StatusCode::UNAUTHORIZED, "invalid_client", "client authentication failed"),
    };
    if client_id != shared.client_id || client_secret != shared.client_secret {
        return token_error(StatusCode::UNAUTHORIZED, "invalid_client", "client authentication failed");
    }
    if field("grant_type") != Some("authorization_code") {
        return token_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", "only authorization_code");
    }
    let Some(code) = field("code") else {
        return token_error(StatusCode::BAD_REQUEST, "invalid_request", "missing code");
    };
    let (grant, fault, now, key, impostor) = {
        let mut inner = shared.lock();
        let Some(grant) = inner.grants.remove(code) else {
            return token_error(StatusCode::BAD_REQUEST, "invalid_grant", "unknown or used code");
        };
        let Some(key) = inner.keys.first().cloned() else {
            return token_error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "no signing key");
        };
        (grant, inner.fault, inner.now.unwrap_or_else(OffsetDateTime::now_utc), key, Arc::clone(&inner.impostor))
    };
    if grant.client_id != client_id {
        return token_error(StatusCode::BAD_REQUEST, "invalid_grant", "code issued to another client");
    }
    if field("redirect_uri") != Some(grant.redirect_uri.as_str()) {
        return token_error(StatusCode::BAD_REQUEST, "invalid_grant", "redirect_uri mismatch");
    }
    let verifier = field("code_verifier").unwrap_or_default();
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    if !well_formed || s256(verifier) != grant.code_challenge {
        return token_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "code_verifier does not match the code_challenge",
        );
    }

    let access_token = format!("ya29.{}", random_string());
    let (iat, exp) = match fault {
        Some(Fault::Expired) => (now - TOKEN_LIFETIME * 2, now - TOKEN_LIFETIME),
        _ => (now, now + TOKEN_LIFETIME),
    };
    let issuer =
        if fault == Some(Fault::WrongIssuer) { "https://accounts.example.net" } else { shared.issuer.as_str() };
    let audience = if fault == Some(Fault::WrongAudience) {
        "someone-else.apps.googleusercontent.com"
    } else {
        shared.client_id.as_str()
    };
    let nonce = if fault == Some(Fault::WrongNonce) { Some(random_string()) } else { grant.nonce };
    let at_hash = {
        let hash = digest(&SHA256, access_token.as_bytes());
        b64(&hash.as_ref()[..16])
    };
    let mut claims = json!({
        "iss": issuer,
        "aud": audience,
        "azp": audience,
        "sub": grant.identity.subject,
        "iat": iat.unix_timestamp(),
        "exp": exp.unix_timestamp(),
        "at_hash": at_hash,
    });
    if let Value::Object(map) = &mut claims {
        if let Some(nonce) = nonce {
            map.insert("nonce".to_owned(), Value::String(nonce));
        }
        if let Some(email) = grant.identity.email {
            map.insert("email".to_owned(), Value::String(email));
        }
        if let Some(verified) = grant.identity.email_verified {
            map.insert("email_verified".to_owned(), Value::Bool(verified));
        }
    }
    let signer = if fault == Some(Fault::WrongSignature) { &impostor } else { &key };
    let Some(id_token) = sign_jwt(signer, &key.kid, &claims) else {
        return token_error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "signing failed");
    };
    (
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME.whole_seconds() - 1,
            "scope": "openid email",
            "id_token": id_token,
        })),
    )
        .into_response()
}
