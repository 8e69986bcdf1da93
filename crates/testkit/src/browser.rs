//! Headless Chromium through chromedriver (Debian's `chromium` and
//! `chromium-driver`), driven with fantoccini.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tempfile::TempDir;

use crate::flag;

pub struct Browser {
    pub client: fantoccini::Client,
    driver: Child,
    driver_url: String,
    _profile: TempDir,
}

fn find(env: &str, default: &str) -> Option<PathBuf> {
    let path = std::env::var_os(env).map(PathBuf::from).unwrap_or_else(|| PathBuf::from(default));
    path.exists().then_some(path)
}

fn skip(why: &str) -> Option<Browser> {
    if flag("REQUIRE_BROWSER") {
        panic!("REQUIRE_BROWSER=1 but {why}");
    }
    crate::report_skip("browser", why);
    None
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session, or `None` when
    /// they are not installed and the browser is not required.
    pub async fn launch() -> Option<Self> {
        let Some(chromium) = find("CHROME_BIN", "/usr/bin/chromium") else { return skip("chromium is not installed") };
        let Some(driver_bin) = find("CHROMEDRIVER", "/usr/bin/chromedriver") else {
            return skip("chromedriver is not installed");
        };
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
        let driver = Command::new(driver_bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let driver_url = format!("http://127.0.0.1:{port}");
        let profile = tempfile::tempdir().expect("profile dir");
        let caps = json!({
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-quic", "--no-first-run", "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            },
            "goog:loggingPrefs": { "browser": "ALL" }
        });
        let caps = match caps {
            Value::Object(map) => map,
            _ => unreachable!("a JSON object literal"),
        };
        let started = Instant::now();
        let client = loop {
            match fantoccini::ClientBuilder::rustls()
                .expect("tls")
                .capabilities(caps.clone())
                .connect(&driver_url)
                .await
            {
                Ok(c) => break c,
                Err(e) if started.elapsed() < Duration::from_secs(20) => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("cannot start a Chromium session: {e}"),
            }
        };
        Some(Self { client, driver, driver_url, _profile: profile })
    }

    /// The browser console's entries since the last call: (level, message).
    pub async fn console(&self) -> Vec<(String, String)> {
        let session = self.client.session_id().await.ok().flatten().expect("session id");
        let http = reqwest::Client::new();
        let body: Value = http
            .post(format!("{}/session/{session}/se/log", self.driver_url))
            .json(&json!({ "type": "browser" }))
            .send()
            .await
            .expect("read browser log")
            .json()
            .await
            .expect("log JSON");
        body["value"]
            .as_array()
            .map(|entries| {
                entries
                    .iter()
                    .map(|e| {
                        (e["level"].as_str().unwrap_or("").to_owned(), e["message"].as_str().unwrap_or("").to_owned())
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Console errors and CSP violations (Chromium reports both as SEVERE).
    pub async fn console_errors(&self) -> Vec<String> {
        self.console()
            .await
            .into_iter()
            .filter(|(level, msg)| level == "SEVERE" || msg.contains("Content Security Policy"))
            .map(|(_, msg)| msg)
            .collect()
    }

    /// Saves a PNG of the current page (for looking at the UI).
    pub async fn screenshot(&self, path: &std::path::Path) {
        let png = self.client.screenshot().await.expect("screenshot");
        std::fs::write(path, png).expect("write screenshot");
    }

    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
