//! Tests only: a local [moto](https://github.com/getmoto/moto) server, which
//! speaks the AWS KMS and S3 wire protocols, started on a free loopback port
//! and stopped when dropped.
//!
//! `moto_server` is found at `$MOTO_SERVER`, else
//! `/opt/cbt-moto/bin/moto_server` (where `.ci/run` installs it), else on
//! `PATH`. When it is missing, [`MotoServer::start`] returns `None` (the
//! test reports a skip) unless `REQUIRE_MOTO=1`, which makes it a failure.

// A test helper: failing to start ends the test with a clear message.
#![allow(clippy::panic, clippy::expect_used, clippy::unwrap_used)]

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Region, access key and secret the tests use; moto accepts any.
pub const REGION: &str = "us-east-1";
pub const ACCESS_KEY_ID: &str = "testing";
pub const SECRET_ACCESS_KEY: &str = "testing";

pub struct MotoServer {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
}

fn find() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("MOTO_SERVER") {
        return Some(PathBuf::from(path));
    }
    let installed = PathBuf::from("/opt/cbt-moto/bin/moto_server");
    if installed.exists() {
        return Some(installed);
    }
    let on_path = std::env::var_os("PATH")?;
    std::env::split_paths(&on_path).map(|dir| dir.join("moto_server")).find(|p| p.exists())
}

impl MotoServer {
    /// Starts a fresh server (empty state) and waits until it answers.
    pub fn start() -> Option<Self> {
        let Some(binary) = find() else {
            if std::env::var("REQUIRE_MOTO").is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true")) {
                panic!("REQUIRE_MOTO=1 but moto_server is not installed (see .ci/run)");
            }
            eprintln!("skipped: an AWS KMS / S3 test (moto_server is not installed); it passes without running");
            return None;
        };
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
        let child = Command::new(&binary)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let server = Self { child, endpoint: format!("http://127.0.0.1:{port}") };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(30), "moto_server did not start within 30 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(server)
    }
}

impl MotoServer {
    /// Creates a symmetric KMS key and returns its id, with one plain
    /// JSON-protocol request (moto does not check signatures), for tests
    /// that have no AWS SDK of their own.
    pub fn create_kms_key(&self) -> String {
        use std::io::{Read, Write};
        let address = self.endpoint.trim_start_matches("http://");
        let mut stream = TcpStream::connect(address).expect("connect to moto");
        let body = "{}";
        let request = format!(
            "POST / HTTP/1.1\r\nHost: {address}\r\nX-Amz-Target: TrentService.CreateKey\r\n\
             Content-Type: application/x-amz-json-1.1\r\n\
             Authorization: AWS4-HMAC-SHA256 Credential={ACCESS_KEY_ID}/20260101/{REGION}/kms/aws4_request, SignedHeaders=host, Signature=0\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).expect("send CreateKey");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read CreateKey");
        let marker = "\"KeyId\": \"";
        let start = response.find(marker).map(|i| i + marker.len()).unwrap_or_else(|| panic!("CreateKey: {response}"));
        response[start..].split('"').next().unwrap_or_default().to_owned()
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
