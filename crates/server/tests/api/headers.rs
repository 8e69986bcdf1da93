//! Checklist C.20 and C.23: the seed's headers on every response.

use cbt_testkit::{TestApp, TestDatabase};
use reqwest::Response;

const CSP_LOCAL: &str = "default-src 'self'; frame-ancestors 'none'; object-src 'none'";

fn assert_seed_headers(r: &Response, what: &str) {
    let h = r.headers();
    let get = |name: &str| h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("<missing>").to_owned();
    assert_eq!(get("content-security-policy"), CSP_LOCAL, "{what}");
    assert_eq!(get("x-frame-options"), "DENY", "{what}");
    assert_eq!(get("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(get("referrer-policy"), "strict-origin-when-cross-origin", "{what}");
    assert_eq!(get("permissions-policy"), "camera=(), microphone=(self), geolocation=()", "{what}");
    assert!(h.get("server").is_none(), "{what}: no server banner");
    assert!(h.get("x-powered-by").is_none(), "{what}");
    assert!(h.get("access-control-allow-origin").is_none(), "{what}: no CORS");
    // Local plain HTTP: no HSTS (it would pin 127.0.0.1 to HTTPS).
    assert!(h.get("strict-transport-security").is_none(), "{what}");
}

/// checklist_20_security_headers_on_every_response: pages, errors, static
/// files, API problems, health checks, oversized bodies.
#[tokio::test]
async fn checklist_20_security_headers_on_every_response() {
    let app = TestApp::spawn(TestDatabase::sqlite()).await;
    for path in [
        "/",
        "/privacy",
        "/security",
        "/cookies",
        "/healthz",
        "/readyz",
        "/static/app.css",
        "/static/app.js",
        "/favicon.ico",
        "/no-such-page",
        "/api/v1/nothing",
        "/static/missing.css",
    ] {
        let r = app.get(path).await;
        assert_seed_headers(&r, path);
    }
    let r = app.client.request(reqwest::Method::OPTIONS, app.url("/")).send().await.unwrap();
    assert_eq!(r.status(), 405);
    assert_seed_headers(&r, "405");
    let r = app.client.post(app.url("/login")).form(&[("email", "a@b.co")]).send().await.unwrap();
    assert_eq!(r.status(), 403, "no CSRF token");
    assert_seed_headers(&r, "403");
    let r = app.client.post(app.url("/api/v1/nothing")).body(vec![b'x'; 2 * 1024 * 1024]).send().await.unwrap();
    assert_eq!(r.status(), 413);
    assert_seed_headers(&r, "413");
    app.stop().await;
}

/// checklist_23_no_store_on_pages_and_api: dynamic answers are never kept
/// by browsers or proxies; static files may be revalidated.
#[tokio::test]
async fn checklist_23_no_store_on_pages_and_api() {
    let app = TestApp::spawn(TestDatabase::sqlite()).await;
    for path in ["/", "/readyz", "/api/v1/nothing", "/no-such-page"] {
        let r = app.get(path).await;
        assert_eq!(r.headers().get("cache-control").unwrap(), "no-store", "{path}");
    }
    let r = app.get("/static/app.css").await;
    assert_eq!(r.headers().get("cache-control").unwrap(), "no-cache");
    assert_eq!(r.headers().get("content-type").unwrap(), "text/css; charset=utf-8");
    app.stop().await;
}

/// HSTS and `upgrade-insecure-requests` when the public URL is HTTPS.
#[tokio::test]
async fn checklist_20_hsts_and_full_csp_over_https() {
    let bin = crate::binary();
    let dir = tempfile::tempdir().unwrap();
    let server = cbt_testkit::RunningBinary::start(
        &bin,
        dir.path(),
        &[("CBT_BIND", "127.0.0.1:0"), ("CBT_PUBLIC_URL", "https://cbt.example.org")],
    );
    let r = reqwest::get(server.url("/")).await.unwrap();
    let h = r.headers();
    assert_eq!(h.get("strict-transport-security").unwrap(), "max-age=31536000; includeSubDomains; preload");
    assert_eq!(
        h.get("content-security-policy").unwrap(),
        "default-src 'self'; frame-ancestors 'none'; object-src 'none'; upgrade-insecure-requests"
    );
    assert!(server.terminate());
}

/// A client-supplied request id is ignored; the server's own is returned.
#[tokio::test]
async fn request_ids_are_assigned_by_the_server() {
    let app = TestApp::spawn(TestDatabase::sqlite()).await;
    let r = app.client.get(app.url("/")).header("x-request-id", "forged-request-id").send().await.unwrap();
    let id = r.headers().get("x-request-id").unwrap().to_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    let other = app.get("/").await.headers().get("x-request-id").unwrap().to_str().unwrap().to_owned();
    assert_ne!(id, other);
    app.stop().await;
}

/// checklist_21_http_redirects_to_https_behind_a_trusted_proxy: in
/// production, a request the proxy received over plain HTTP gets a 301 to
/// the HTTPS URL; HTTPS requests are served with HSTS.
#[tokio::test]
async fn checklist_21_http_redirects_to_https_behind_a_trusted_proxy() {
    let app = TestApp::spawn_with(TestDatabase::sqlite(), |s| {
        s.env = cbt_server::config::Environment::Production;
        s.public_url = "https://cbt.example.org".into();
        s.trusted_proxies = "127.0.0.1".into();
        s.session_secret = Some("Zq3v8N1xW4tR7yP0sL5kD2hG9jF6bC3mA8eU".into());
        s.csrf_secret = Some("Hk2mP9wQ4xT7vB1nL6sD3fG8jR5cY0aZeU".into());
        s.jwt_secret = Some("Wn5tY8kP2qM7xB4vR9cL1sH6dF3gJ0zAeQ".into());
        s.audit_key = Some("Pa4sD7fG1hJ9kL2zX5cV8bN3mQ6wE0rTyU".into());
        // A provisioned local KEK (production generates none).
        s.allow_local_kek_in_production = true;
        cbt_keys::LocalKeyProvider::open(&s.effective_kek_dir(), true).unwrap();
    })
    .await;
    let r = app.client.get(app.url("/privacy?x=1")).header("x-forwarded-proto", "http").send().await.unwrap();
    assert_eq!(r.status(), 301);
    assert_eq!(r.headers()["location"], "https://cbt.example.org/privacy?x=1");
    let r = app.client.get(app.url("/privacy")).header("x-forwarded-proto", "https").send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["strict-transport-security"], "max-age=31536000; includeSubDomains; preload");
    app.stop().await;
}
