//! The real `cbt-assistant` binary as a child process, for what only a
//! whole process shows: start-up checks, exit codes, files on disk, and the
//! exact log lines it writes.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct RunningBinary {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub address: String,
    lines: Arc<Mutex<Vec<String>>>,
}

/// A command for the binary with a clean environment (only `PATH` kept), so
/// a developer's own `CBT_*` variables cannot change a test.
pub fn command(bin: &Path, cwd: &Path, env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(bin);
    cmd.current_dir(cwd).env_clear();
    if let Some(path) = std::env::var_os("PATH") {
        cmd.env("PATH", path);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// The address a start-up line announces: the local banner, or the
/// `listen` field of the "listening" log line (text or JSON).
fn address_in(line: &str) -> Option<String> {
    if let Some(rest) = line.split("is running at ").nth(1) {
        return rest.split_whitespace().next().map(|a| a.trim_end_matches('/').to_owned());
    }
    if let Some(rest) = line.split(" listen=").nth(1) {
        return rest.split_whitespace().next().map(|a| format!("http://{a}"));
    }
    let json: serde_json::Value = serde_json::from_str(line).ok()?;
    json.get("listen")?.as_str().map(|a| format!("http://{a}"))
}

impl RunningBinary {
    /// Starts `serve` in `cwd` and waits until it prints its address.
    pub fn start(bin: &Path, cwd: &Path, env: &[(&str, &str)]) -> Self {
        let mut child =
            command(bin, cwd, env).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("start cbt-assistant");
        let lines = Arc::new(Mutex::new(Vec::new()));
        for stream in [
            child.stdout.take().map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child.stderr.take().map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let lines = lines.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    lines.lock().unwrap().push(line);
                }
            });
        }
        let started = Instant::now();
        let address = loop {
            if let Some(addr) = lines.lock().unwrap().iter().find_map(|l| address_in(l)) {
                break addr;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("cbt-assistant exited with {status}: {:?}", lines.lock().unwrap());
            }
            if started.elapsed() > Duration::from_secs(60) {
                let _ = child.kill();
                panic!("cbt-assistant did not start: {:?}", lines.lock().unwrap());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        Self { child, address, lines }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Every line written so far (stdout and stderr).
    pub fn output(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }

    /// Waits until a line containing `needle` was written.
    pub fn wait_for(&self, needle: &str) -> String {
        let started = Instant::now();
        loop {
            if let Some(l) = self.lines.lock().unwrap().iter().find(|l| l.contains(needle)) {
                return l.clone();
            }
            assert!(started.elapsed() < Duration::from_secs(10), "no line with {needle:?} in {}", self.output());
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGTERM, then waits for a graceful exit; returns whether it exited 0.
    pub fn terminate(mut self) -> bool {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.success();
            }
            if started.elapsed() > Duration::from_secs(15) {
                let _ = self.child.kill();
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for RunningBinary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
