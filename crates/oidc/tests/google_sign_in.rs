//! Checklist item 11 (Google OpenID Connect: authorization code + PKCE, `state` and `nonce`
//! checked, ID token signature, issuer, audience and expiry verified) end to end against
//! `FakeGoogle` over real HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cbt_oidc::test_provider::{FakeGoogle, FakeIdentity, Fault};
use cbt_oidc::{OidcClient, OidcError, OidcSettings, PendingSignIn, VerifiedIdentity};
use openidconnect::url::Url;
use time::OffsetDateTime;

const REDIRECT: &str = "http://127.0.0.1:8080/auth/google/callback";

async fn provider_and_client() -> (FakeGoogle, OidcClient) {
    let google = FakeGoogle::start().await;
    let client = OidcClient::discover(google.settings(REDIRECT).unwrap()).await.unwrap();
    (google, client)
}

/// What the browser does: follow the authorization URL (the fake consents at once) and read the
/// callback's query from the `Location` header, without following it.
async fn consent(authorization_url: &str) -> (String, String) {
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let response = browser.get(authorization_url).send().await.unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::FOUND);
    let location = response.headers().get(reqwest::header::LOCATION).unwrap().to_str().unwrap();
    let location = Url::parse(location).unwrap();
    assert_eq!(&location.as_str()[..REDIRECT.len()], REDIRECT);
    let query: HashMap<String, String> = location.query_pairs().into_owned().collect();
    (query["code"].clone(), query["state"].clone())
}

async fn sign_in(client: &OidcClient) -> Result<VerifiedIdentity, OidcError> {
    let (url, pending) = client.begin();
    let (code, state) = consent(&url).await;
    client.finish(pending, &state, &code, OffsetDateTime::now_utc()).await
}

async fn sign_in_with_fault(fault: Fault) -> OidcError {
    let (google, client) = provider_and_client().await;
    google.set_fault(fault);
    let error = sign_in(&client).await.expect_err("the faulty token must be refused");
    assert_eq!(google.token_requests(), 1);
    error
}

fn invalid_token_reason(error: OidcError) -> String {
    match error {
        OidcError::InvalidToken(reason) => reason,
        other => panic!("expected InvalidToken, got {other:?}"),
    }
}

#[tokio::test]
async fn checklist_11_code_flow_with_pkce_returns_the_verified_identity() {
    let (google, client) = provider_and_client().await;
    google.set_identity(FakeIdentity::verified("1170000000042", "therapist@example.org"));

    let (url, pending) = client.begin();
    let params: HashMap<String, String> = Url::parse(&url).unwrap().query_pairs().into_owned().collect();
    assert!(url.starts_with(&format!("{}/o/oauth2/v2/auth?", google.issuer_url())), "{url}");
    assert_eq!(params["response_type"], "code");
    assert_eq!(params["client_id"], google.client_id());
    assert_eq!(params["redirect_uri"], REDIRECT);
    assert_eq!(params["scope"], "openid email");
    assert_eq!(params["state"], pending.state);
    assert_eq!(params["nonce"], pending.nonce);
    assert_eq!(params["code_challenge_method"], "S256");
    assert_eq!(params["code_challenge"], URL_SAFE_NO_PAD.encode(digest(&SHA256, pending.pkce_verifier.as_bytes())));
    assert!(pending.state.len() >= 43 && pending.nonce.len() >= 43 && pending.pkce_verifier.len() >= 43);
    let debug = format!("{pending:?}");
    for secret in [&pending.state, &pending.nonce, &pending.pkce_verifier] {
        assert!(!debug.contains(secret.as_str()), "{debug}");
    }

    // The web layer keeps it (cookie or row) between the two requests.
    let kept = serde_json::to_string(&pending).unwrap();
    let pending: PendingSignIn = serde_json::from_str(&kept).unwrap();

    let (code, state) = consent(&url).await;
    let identity = client.finish(pending, &state, &code, OffsetDateTime::now_utc()).await.unwrap();
    assert_eq!(
        identity,
        VerifiedIdentity {
            subject: "1170000000042".to_owned(),
            email: "therapist@example.org".to_owned(),
            email_verified: true
        }
    );
    assert!(!format!("{identity:?}").contains("therapist@example.org"));

    // Every sign-in gets fresh values.
    let (_, other) = client.begin();
    assert_ne!(other.state, state);
}

#[tokio::test]
async fn checklist_11_state_mismatch_is_refused_before_the_code_is_exchanged() {
    let (google, client) = provider_and_client().await;
    let (url, pending) = client.begin();
    let (code, state) = consent(&url).await;

    let (_, other_sign_in) = client.begin();
    for returned in [other_sign_in.state.as_str(), "", &state[..state.len() - 1]] {
        let error = client.finish(pending.clone(), returned, &code, OffsetDateTime::now_utc()).await.unwrap_err();
        assert_eq!(error, OidcError::StateMismatch);
    }
    let mut emptied = pending.clone();
    emptied.state.clear();
    assert_eq!(
        client.finish(emptied, "", &code, OffsetDateTime::now_utc()).await.unwrap_err(),
        OidcError::StateMismatch
    );
    assert_eq!(google.token_requests(), 0, "no exchange may happen after a state mismatch");

    // The right state still works with the untouched code.
    client.finish(pending, &state, &code, OffsetDateTime::now_utc()).await.unwrap();
}

#[tokio::test]
async fn checklist_11_nonce_mismatch_is_refused() {
    assert_eq!(sign_in_with_fault(Fault::WrongNonce).await, OidcError::NonceMismatch);
}

#[tokio::test]
async fn checklist_11_expired_id_token_is_refused() {
    let reason = invalid_token_reason(sign_in_with_fault(Fault::Expired).await);
    assert!(reason.starts_with("expired"), "{reason}");
}

#[tokio::test]
async fn checklist_11_expiry_is_judged_by_the_application_clock() {
    let (google, client) = provider_and_client().await;
    let (url, pending) = client.begin();
    let (code, state) = consent(&url).await;
    let later = OffsetDateTime::now_utc() + time::Duration::hours(2);
    let reason = invalid_token_reason(client.finish(pending, &state, &code, later).await.unwrap_err());
    assert!(reason.starts_with("expired"), "{reason}");

    // A token "issued" far in the future (skewed provider clock) is refused too.
    google.set_time(Some(OffsetDateTime::now_utc() + time::Duration::minutes(30)));
    let reason = invalid_token_reason(sign_in(&client).await.unwrap_err());
    assert!(reason.contains("issued in the future"), "{reason}");
}

#[tokio::test]
async fn checklist_11_id_token_signed_with_another_key_is_refused() {
    let reason = invalid_token_reason(sign_in_with_fault(Fault::WrongSignature).await);
    assert!(reason.starts_with("signature"), "{reason}");
}

#[tokio::test]
async fn checklist_11_id_token_for_another_audience_is_refused() {
    let reason = invalid_token_reason(sign_in_with_fault(Fault::WrongAudience).await);
    assert!(reason.starts_with("audience"), "{reason}");
}

#[tokio::test]
async fn checklist_11_id_token_from_another_issuer_is_refused() {
    let reason = invalid_token_reason(sign_in_with_fault(Fault::WrongIssuer).await);
    assert!(reason.starts_with("issuer"), "{reason}");
}

#[tokio::test]
async fn checklist_11_pkce_verifier_mismatch_is_refused_by_the_token_endpoint() {
    let (google, client) = provider_and_client().await;
    let (url, mut pending) = client.begin();
    let (code, state) = consent(&url).await;
    // A well-formed verifier, just not the one whose challenge was sent.
    let (_, other) = client.begin();
    pending.pkce_verifier = other.pkce_verifier;

    let error = client.finish(pending, &state, &code, OffsetDateTime::now_utc()).await.unwrap_err();
    let OidcError::Exchange(reason) = &error else { panic!("expected Exchange, got {error:?}") };
    assert!(reason.contains("invalid_grant"), "{reason}");
    assert!(!error.to_string().contains(&code), "the code must not appear in the message: {error}");
    assert_eq!(google.token_requests(), 1);
}

#[tokio::test]
async fn checklist_11_a_code_is_exchanged_once() {
    let (_google, client) = provider_and_client().await;
    let (url, pending) = client.begin();
    let (code, state) = consent(&url).await;
    client.finish(pending.clone(), &state, &code, OffsetDateTime::now_utc()).await.unwrap();
    let error = client.finish(pending, &state, &code, OffsetDateTime::now_utc()).await.unwrap_err();
    assert!(matches!(&error, OidcError::Exchange(reason) if reason.contains("invalid_grant")), "{error:?}");
}

#[tokio::test]
async fn checklist_11_email_is_verified_only_when_the_provider_says_so() {
    let (google, client) = provider_and_client().await;
    for (claim, expected) in [(Some(true), true), (Some(false), false), (None, false)] {
        google.set_identity(FakeIdentity {
            subject: "1170000000043".to_owned(),
            email: Some("someone@example.org".to_owned()),
            email_verified: claim,
        });
        let identity = sign_in(&client).await.unwrap();
        assert_eq!(identity.email_verified, expected, "email_verified claim {claim:?}");
    }

    google.set_identity(FakeIdentity { subject: "1170000000044".to_owned(), email: None, email_verified: None });
    let reason = invalid_token_reason(sign_in(&client).await.unwrap_err());
    assert!(reason.contains("no email claim"), "{reason}");
}

#[tokio::test]
async fn checklist_11_rotated_signing_keys_are_fetched_again_at_most_once_a_minute() {
    let (google, client) = provider_and_client().await;
    sign_in(&client).await.unwrap();
    assert_eq!(google.jwks_requests(), 1);

    google.rotate_key().await.unwrap();
    sign_in(&client).await.unwrap();
    assert_eq!(google.jwks_requests(), 2, "the unknown kid made the client fetch the key set again");

    // A second unknown key within the minute is refused rather than fetched again.
    google.rotate_key().await.unwrap();
    let reason = invalid_token_reason(sign_in(&client).await.unwrap_err());
    assert!(reason.starts_with("signature"), "{reason}");
    assert_eq!(google.jwks_requests(), 2);
}

#[tokio::test]
async fn checklist_11_discovery_requires_the_exact_issuer() {
    let google = FakeGoogle::start().await;
    // Same server, but not the issuer identifier it publishes.
    let settings = OidcSettings::new(
        format!("http://localhost:{}", google.port()),
        google.client_id(),
        google.client_secret(),
        REDIRECT,
    )
    .unwrap();
    let error = OidcClient::discover(settings).await.unwrap_err();
    assert!(matches!(&error, OidcError::Discovery(reason) if reason.contains("unexpected issuer")), "{error:?}");
}

#[tokio::test]
async fn checklist_11_wrong_client_secret_is_refused() {
    let google = FakeGoogle::start().await;
    let settings = OidcSettings::new(google.issuer_url(), google.client_id(), "GOCSPX-wrong", REDIRECT).unwrap();
    let client = OidcClient::discover(settings).await.unwrap();
    let error = sign_in(&client).await.unwrap_err();
    assert!(matches!(&error, OidcError::Exchange(reason) if reason.contains("invalid_client")), "{error:?}");
    assert!(!error.to_string().contains("GOCSPX-wrong"));
}

#[test]
fn the_client_and_its_futures_can_live_in_an_axum_handler() {
    fn send_sync<T: Send + Sync + 'static>() {}
    send_sync::<OidcClient>();
    send_sync::<PendingSignIn>();
    fn discover_is_send(settings: OidcSettings) -> impl Future<Output = Result<OidcClient, OidcError>> + Send {
        OidcClient::discover(settings)
    }
    fn finish_is_send(
        client: &OidcClient,
        pending: PendingSignIn,
    ) -> impl Future<Output = Result<VerifiedIdentity, OidcError>> + Send + '_ {
        client.finish(pending, "", "", OffsetDateTime::now_utc())
    }
    let _ = (discover_is_send, finish_is_send);
}
