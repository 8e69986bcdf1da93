//! Helpers shared by the load benchmarks in `src/bin/`: latency summaries,
//! form tokens, source addresses on loopback and the app's password
//! pre-hash; the fixed note of the AI-drafts benchmark ([`model_draft`]).
//! The benchmarks themselves drive a running `cbt-assistant` over HTTP;
//! nothing here is timed in tests.

pub mod model_draft;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// Errors of the benchmark binaries: reported and the run fails.
pub type Error = Box<dyn std::error::Error + Send + Sync>;
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A distinct loopback source address: `127.<group>.<n / 250>.<n % 250 + 1>`.
/// Linux routes all of 127.0.0.0/8 to `lo`, so a client bound to one of
/// these reaches a server on 127.0.0.1 and is seen as that address (the
/// app's per-IP rate limits count each separately).
pub fn source_ip(group: u8, n: usize) -> IpAddr {
    // n < 250 * 256 in every benchmark; larger values wrap.
    let third = ((n / 250) % 256) as u8;
    let fourth = (n % 250) as u8 + 1;
    IpAddr::V4(Ipv4Addr::new(127, group, third, fourth))
}

/// The value of the hidden `csrf_token` input of a rendered form.
pub fn csrf_token(html: &str) -> Option<&str> {
    let at = html.find("name=\"csrf_token\"")?;
    let rest = &html[at..];
    let start = rest.find("value=\"")? + "value=\"".len();
    let len = rest[start..].find('"')?;
    let token = &rest[start..start + len];
    (!token.is_empty()).then_some(token)
}

/// What the app hands to bcrypt: base64 of the SHA-256 of the password
/// (`crates/app/src/passwords.rs`), 44 ASCII bytes.
pub fn prehash(password: &str) -> String {
    STANDARD.encode(digest::digest(&digest::SHA256, password.as_bytes()).as_ref())
}

/// Latency figures of one series of requests, in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    pub count: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// The nearest-rank percentile `p` (0 < p ≤ 1) of sorted samples.
fn nearest_rank(sorted: &[Duration], p: f64) -> Duration {
    let n = sorted.len();
    let rank = ((p * n as f64).ceil() as usize).clamp(1, n);
    sorted[rank - 1]
}

/// p50, p95, p99 (nearest rank) and maximum; `None` without samples.
pub fn summarize(samples: &[Duration]) -> Option<Summary> {
    if samples.is_empty() {
        return None;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    Some(Summary {
        count: sorted.len(),
        p50_ms: ms(nearest_rank(&sorted, 0.50)),
        p95_ms: ms(nearest_rank(&sorted, 0.95)),
        p99_ms: ms(nearest_rank(&sorted, 0.99)),
        max_ms: ms(sorted[sorted.len() - 1]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let samples: Vec<Duration> = (1..=200).rev().map(Duration::from_millis).collect();
        let s = summarize(&samples).unwrap();
        assert_eq!((s.count, s.p50_ms, s.p95_ms, s.p99_ms, s.max_ms), (200, 100.0, 190.0, 198.0, 200.0));
        let one = summarize(&[Duration::from_millis(7)]).unwrap();
        assert_eq!((one.p50_ms, one.p99_ms), (7.0, 7.0));
        assert!(summarize(&[]).is_none());
    }

    #[test]
    fn csrf_token_is_read_from_the_hidden_input() {
        let html = r#"<form><input type="hidden" name="csrf_token" value="abc-_123"><input name="email"></form>"#;
        assert_eq!(csrf_token(html), Some("abc-_123"));
        assert_eq!(csrf_token(r#"<input name="csrf_token" value="">"#), None);
        assert_eq!(csrf_token("<p>no form</p>"), None);
    }

    #[test]
    fn source_addresses_are_distinct_and_never_end_in_0_or_255() {
        let all: std::collections::HashSet<IpAddr> = (0..1000).map(|n| source_ip(3, n)).collect();
        assert_eq!(all.len(), 1000);
        assert_eq!(source_ip(3, 0), IpAddr::V4(Ipv4Addr::new(127, 3, 0, 1)));
        assert_eq!(source_ip(3, 250), IpAddr::V4(Ipv4Addr::new(127, 3, 1, 1)));
        assert!(all.iter().all(|ip| matches!(ip, IpAddr::V4(v) if v.octets()[3] != 0 && v.octets()[3] != 255)));
    }

    #[test]
    fn prehash_matches_the_apps_shape() {
        let p = prehash("Calm-harbour-2024");
        assert_eq!(p.len(), 44);
        assert_eq!(p, prehash("Calm-harbour-2024"));
    }
}
