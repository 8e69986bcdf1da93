//! Driving the account pages like a browser would: forms with their CSRF
//! token, cookies kept per client, links read from the emails the app sent
//! to the test's SMTP server.

use std::time::Duration;

use cbt_ports::Clock;

use crate::TestApp;

/// A password that passes the policy.
pub const PASSWORD: &str = "Calm-harbour-2024";

/// The value of the hidden `csrf_token` field in a page.
pub fn csrf_token(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker).map(|i| i + marker.len()).unwrap_or_else(|| panic!("no CSRF field in {html}"));
    html[start..].split('"').next().unwrap_or_default().to_owned()
}

/// A browser of its own: a cookie jar, no redirects followed.
pub fn new_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .user_agent("Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0")
        .build()
        .expect("client")
}

impl TestApp {
    /// GETs `page` with `client`, then POSTs `fields` (plus the page's CSRF
    /// token) to `action`.
    pub async fn submit(
        &self,
        client: &reqwest::Client,
        page: &str,
        action: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let html = client.get(self.url(page)).send().await.expect("GET form").text().await.expect("body");
        let token = csrf_token(&html);
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        form.push(("csrf_token", &token));
        client.post(self.url(action)).form(&form).send().await.expect("POST form")
    }

    /// Signs up through the form.
    pub async fn sign_up(&self, client: &reqwest::Client, email: &str, password: &str) -> reqwest::Response {
        self.submit(
            client,
            "/signup",
            "/signup",
            &[("full_name", "Dr Test Therapist"), ("email", email), ("credential", "LPC 4711"), ("password", password)],
        )
        .await
    }

    pub async fn sign_in(&self, client: &reqwest::Client, email: &str, password: &str) -> reqwest::Response {
        self.submit(client, "/login", "/login", &[("email", email), ("password", password)]).await
    }

    /// The newest mail to `to` with a link starting with `prefix`.
    pub async fn link_in_mail(&self, to: &str, prefix: &str) -> String {
        let prefix = self.url(prefix);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let found = self
                .mail
                .messages()
                .into_iter()
                .rev()
                .filter(|m| m.recipients.iter().any(|r| r.eq_ignore_ascii_case(to)))
                .find_map(|m| m.find_link(&prefix));
            if let Some(link) = found {
                return link;
            }
            assert!(tokio::time::Instant::now() < deadline, "no mail to {to} with a link to {prefix}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Mails received so far by `to`.
    pub fn mails_to(&self, to: &str) -> Vec<cbt_mail::test_server::CapturedMail> {
        self.mail.messages().into_iter().filter(|m| m.recipients.iter().any(|r| r.eq_ignore_ascii_case(to))).collect()
    }

    /// Signs up, follows the verification link, signs in: a client with a
    /// verified, signed-in account.
    pub async fn verified_account(&self, email: &str) -> reqwest::Client {
        let client = new_client();
        let r = self.sign_up(&client, email, PASSWORD).await;
        assert_eq!(r.status(), 200, "sign-up: {}", r.text().await.unwrap_or_default());
        let link = self.link_in_mail(email, "/verify-email").await;
        let r = client.get(&link).send().await.expect("verify");
        assert_eq!(r.status(), 200, "verification: {}", r.text().await.unwrap_or_default());
        let r = self.sign_in(&client, email, PASSWORD).await;
        assert_eq!(r.status(), 303, "sign-in");
        client
    }
}

impl TestApp {
    /// Creates a personal access token on the Security page of the
    /// signed-in `client`; returns the token shown (once).
    pub async fn create_access_token(&self, client: &reqwest::Client, name: &str, days: &str) -> String {
        let r = self
            .submit(client, "/account/security", "/account/tokens", &[("name", name), ("lifetime_days", days)])
            .await;
        assert_eq!(r.status(), 200);
        element_text(&r.text().await.expect("page"), "new-token")
    }

    /// A verified account and an API token for it.
    pub async fn api_token(&self, email: &str) -> String {
        let client = self.verified_account(email).await;
        self.create_access_token(&client, "tests", "30").await
    }
}

/// The bytes of a base32 (RFC 4648) TOTP secret, as shown for typing in.
pub fn base32_bytes(base32_secret: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bits: u64 = 0;
    let mut count = 0;
    let mut bytes = Vec::new();
    for c in base32_secret.bytes().filter(|c| *c != b'=') {
        let v = ALPHABET.iter().position(|a| *a == c.to_ascii_uppercase()).expect("base32") as u64;
        bits = (bits << 5) | v;
        count += 5;
        if count >= 8 {
            count -= 8;
            bytes.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    bytes
}

/// The TOTP code an authenticator app would show for a base32 secret at
/// `unix` seconds.
pub fn totp_code(base32_secret: &str, unix: i64) -> String {
    let secret = cbt_mfa::TotpSecret::from_bytes(&base32_bytes(base32_secret)).expect("20-byte secret");
    cbt_mfa::totp::code_at(&secret, unix)
}

/// The text of the element with `id` in a page (e.g. the TOTP key).
pub fn element_text(html: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\">");
    let start = html.find(&marker).map(|i| i + marker.len()).unwrap_or_else(|| panic!("no #{id} in {html}"));
    html[start..].split('<').next().unwrap_or_default().trim().to_owned()
}

impl TestApp {
    /// Turns on TOTP for the signed-in `client`; returns the base32 secret
    /// and the recovery codes shown.
    pub async fn enable_mfa(&self, client: &reqwest::Client) -> (String, Vec<String>) {
        let r = self.submit(client, "/account/mfa", "/account/mfa/setup", &[]).await;
        assert_eq!(r.status(), 303);
        let html = client.get(self.url("/account/mfa")).send().await.expect("page").text().await.expect("body");
        assert!(html.contains("<svg"), "a QR code is shown");
        let secret = element_text(&html, "totp-secret");
        let code = totp_code(&secret, self.clock.now().unix_timestamp());
        let r = self.submit(client, "/account/mfa", "/account/mfa/enable", &[("code", &code)]).await;
        assert_eq!(r.status(), 200);
        let html = r.text().await.expect("body");
        let codes: Vec<String> =
            html.split("<li><code>").skip(1).filter_map(|s| s.split("</code>").next()).map(str::to_owned).collect();
        (secret, codes)
    }
}

/// Starts a fake Google (a real OpenID provider on loopback) and the app
/// configured to sign in with it.
pub async fn app_with_google(db: crate::TestDatabase) -> (TestApp, cbt_oidc::test_provider::FakeGoogle) {
    let google = cbt_oidc::test_provider::FakeGoogle::start().await;
    let (id, secret, issuer) =
        (google.client_id().to_owned(), google.client_secret().to_owned(), google.issuer_url().to_owned());
    let app = TestApp::spawn_with(db, move |s| {
        s.google_client_id = Some(id);
        s.google_client_secret = Some(secret);
        s.google_issuer_url = issuer;
    })
    .await;
    (app, google)
}

impl TestApp {
    /// Presses "Sign in with Google", lets the provider answer, and returns
    /// the app's answer to the callback.
    pub async fn sign_in_with_google(&self, client: &reqwest::Client) -> reqwest::Response {
        let r = self.submit(client, "/login", "/auth/google", &[]).await;
        assert_eq!(r.status(), 303, "off to the provider");
        let authorize = r.headers()["location"].to_str().expect("location").to_owned();
        let r = client.get(&authorize).send().await.expect("provider");
        let callback = r.headers()["location"].to_str().expect("callback").to_owned();
        client.get(&callback).send().await.expect("callback")
    }
}

/// A browser of its own connecting from another loopback address (Linux
/// routes all of 127.0.0.0/8 to `lo`), for per-IP limits.
pub fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .local_address(ip.parse::<std::net::IpAddr>().expect("an IP address"))
        .user_agent("Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0")
        .build()
        .expect("client")
}
