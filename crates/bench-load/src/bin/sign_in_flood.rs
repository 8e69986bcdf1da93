//! `sign-in-flood`: does a flood of sign-in attempts slow everyone else down?
//!
//! Against a running `cbt-assistant` (see `bench/sign-in-flood`, which
//! starts one and writes the report), in one run:
//!
//! 1. sets up accounts, each signed up from its own loopback address (the
//!    sign-up limit is 5 per address);
//! 2. **idle**: two probe loops, one request at a time each, time
//!    `GET /healthz` and `GET /dashboard` (signed in);
//! 3. **flood, one account**: the same probes while `--attackers` tasks,
//!    each from its own address, post wrong passwords for one account as
//!    fast as they can (after 7 attempts the account is locked: 429);
//! 4. **flood, bcrypt-saturating**: the same probes while `--attackers`
//!    tasks post wrong passwords to as many accounts from as many
//!    addresses, at most 7 each, so that every attempt costs one bcrypt
//!    verification and the hashing pool never runs dry;
//! 5. steps 2 to 4 again, `--rounds` times in all, each round with fresh
//!    accounts and addresses; the report gives the median over the rounds
//!    and each round's ratios (the spread shows how noisy the machine was);
//! 6. successful sign-in throughput: `--signins` distinct (account,
//!    address) pairs at concurrency `--concurrency`;
//! 7. the raw bcrypt cost-12 verification rate in this process, on one
//!    thread and on one thread per core, measured at the start and before
//!    and after step 6 (the highest is the machine's limit): the physical
//!    limit of step 6.
//!
//! Prints a JSON summary on stdout (progress on stderr) and, with
//! `--markdown FILE`, the report's tables.
//!
//! Usage: `sign-in-flood http://127.0.0.1:8080 [options]`; `--help` lists them.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cbt_bench_load::{Result, Summary, csrf_token, prehash, source_ip, summarize};
use reqwest::cookie::Jar;
use reqwest::redirect::Policy;
use reqwest::{Client, StatusCode, Url};
use serde_json::{Value, json};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// Password of every benchmark account (8+ characters, 3 classes, not
/// common, no email local part in it).
const PASSWORD: &str = "Calm-harbour-2024";
const WRONG_PASSWORD: &str = "Wrong-harbour-2024";
/// The app's sign-in limit per account and per address (`tokens::LOGIN`).
const LOGIN_LIMIT: u32 = 7;
/// bcrypt cost of the raw measurement: the app's default.
const BCRYPT_COST: u32 = 12;

// Loopback source address groups (second octet), one per role, so that no
// role inherits another's rate-limit buckets.
const GROUP_SIGNUP: u8 = 10;
const GROUP_PROBE: u8 = 20;
const GROUP_FLOOD_ONE: u8 = 30;
const GROUP_FLOOD_SPREAD: u8 = 40;
const GROUP_SIGNIN: u8 = 50;

const USAGE: &str = "\
usage: sign-in-flood BASE_URL [options]

  --phase-seconds N     length of each measured phase (default 10)
  --rounds N            rounds of idle + two floods, 1 to 9 (default 3)
  --attackers N         concurrent attackers in each flood (default 50)
  --signins N           successful sign-ins measured (default 40)
  --concurrency N       concurrency of the successful sign-ins (default 8)
  --bcrypt-seconds N    length of each raw bcrypt measurement (default 5)
  --probe-gap-ms N      pause between two probe requests (default 5)
  --settle-seconds N    pause between phases (default 2)
  --app-hash-workers N  the app's CBT_PASSWORD_HASH_WORKERS, recorded only
  --app-pid PID         the app's process id, to report its CPU use per phase
                        (Linux, same machine)
  --markdown FILE       also write the report's tables to FILE

Expects a fresh app (rate-limit buckets of earlier runs would refuse the
set-up) whose global per-IP ceiling (CBT_REQUESTS_PER_IP) is raised far
above the probes' request count.";

struct Options {
    base: Url,
    phase: Duration,
    rounds: usize,
    attackers: usize,
    signins: usize,
    concurrency: usize,
    bcrypt: Duration,
    probe_gap: Duration,
    settle: Duration,
    app_hash_workers: Option<u32>,
    app_pid: Option<String>,
    markdown: Option<PathBuf>,
}

fn parse_options() -> Result<Options> {
    let mut args = std::env::args().skip(1);
    let mut base = None;
    let mut o = Options {
        base: Url::parse("http://127.0.0.1:8080")?,
        phase: Duration::from_secs(10),
        rounds: 3,
        attackers: 50,
        signins: 40,
        concurrency: 8,
        bcrypt: Duration::from_secs(5),
        probe_gap: Duration::from_millis(5),
        settle: Duration::from_secs(2),
        app_hash_workers: None,
        app_pid: None,
        markdown: None,
    };
    while let Some(arg) = args.next() {
        if arg == "--help" || arg == "-h" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        if !arg.starts_with("--") {
            if base.replace(Url::parse(&arg)?).is_some() {
                return Err(format!("one base URL only\n{USAGE}").into());
            }
            continue;
        }
        let value = args.next().ok_or_else(|| format!("{arg} needs a value"))?;
        let number = || -> Result<u64> {
            let n: u64 = value.parse().map_err(|_| format!("{arg}: not a whole number: {value}"))?;
            Ok(n)
        };
        match arg.as_str() {
            "--phase-seconds" => o.phase = Duration::from_secs(number()?.max(1)),
            "--rounds" => o.rounds = number()?.clamp(1, 9) as usize,
            "--attackers" => o.attackers = number()?.max(1) as usize,
            "--signins" => o.signins = number()?.max(1) as usize,
            "--concurrency" => o.concurrency = number()?.max(1) as usize,
            "--bcrypt-seconds" => o.bcrypt = Duration::from_secs(number()?.max(1)),
            "--probe-gap-ms" => o.probe_gap = Duration::from_millis(number()?),
            "--settle-seconds" => o.settle = Duration::from_secs(number()?),
            "--app-hash-workers" => o.app_hash_workers = Some(number()? as u32),
            "--app-pid" => o.app_pid = Some(number()?.to_string()),
            "--markdown" => o.markdown = Some(PathBuf::from(value)),
            _ => return Err(format!("unknown option {arg}\n{USAGE}").into()),
        }
    }
    o.base = base.ok_or_else(|| format!("the base URL is missing\n{USAGE}"))?;
    Ok(o)
}

fn log(message: impl AsRef<str>) {
    eprintln!("sign-in-flood: {}", message.as_ref());
}

// ---- HTTP helpers -----------------------------------------------------------

/// A client seen by the app as `ip`, keeping its own cookies (or the given
/// jar's), never following redirects.
fn client(ip: IpAddr, jar: Option<Arc<Jar>>) -> Result<Client> {
    let builder =
        Client::builder().local_address(ip).redirect(Policy::none()).timeout(Duration::from_secs(120)).no_proxy();
    let builder = match jar {
        Some(jar) => builder.cookie_provider(jar),
        None => builder.cookie_store(true),
    };
    Ok(builder.build()?)
}

/// GETs a form page (which sets the `cbt_csrf` cookie) and returns the
/// token its form carries.
async fn form_token(client: &Client, url: Url) -> Result<String> {
    let response = client.get(url.clone()).send().await?;
    let status = response.status();
    let body = response.text().await?;
    if status != StatusCode::OK {
        return Err(format!("GET {url}: {status}").into());
    }
    Ok(csrf_token(&body).ok_or_else(|| format!("GET {url}: no csrf_token in the form"))?.to_owned())
}

async fn sign_up(base: &Url, ip: IpAddr, n: usize, email: &str) -> Result<()> {
    let client = client(ip, None)?;
    let url = base.join("/signup")?;
    let token = form_token(&client, url.clone()).await?;
    let name = format!("Bench Therapist {n}");
    let credential = format!("BENCH-{n}");
    let form = [
        ("csrf_token", token.as_str()),
        ("full_name", &name),
        ("email", email),
        ("credential", &credential),
        ("password", PASSWORD),
    ];
    let response = client.post(url).form(&form).send().await?;
    let status = response.status();
    if status != StatusCode::OK {
        return Err(format!("sign-up of {email} from {ip}: {status}").into());
    }
    Ok(())
}

/// Posts the sign-in form; `Ok` only for a 303 to the dashboard.
async fn sign_in(client: &Client, base: &Url, token: &str, email: &str) -> Result<()> {
    let form = [("csrf_token", token), ("email", email), ("password", PASSWORD)];
    let response = client.post(base.join("/login")?).form(&form).send().await?;
    let status = response.status();
    let to = response.headers().get(reqwest::header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let _ = response.bytes().await;
    if status != StatusCode::SEE_OTHER || !to.starts_with("/dashboard") {
        return Err(format!("sign-in of {email}: {status} to '{to}'").into());
    }
    Ok(())
}

// ---- probes -----------------------------------------------------------------

/// What one probe loop saw.
#[derive(Default)]
struct ProbeResult {
    /// Latency of every answered request (a non-200 answer included).
    samples: Vec<Duration>,
    /// Non-200 answers and transport errors.
    failures: u64,
}

/// Runs one probe loop on its own thread and its own runtime, so that the
/// attackers' tasks never delay the probe's clock: one request at a time
/// from `start` to `until`, `gap` apart. A first, untimed request opens
/// the connection.
fn spawn_probe(
    url: Url,
    ip: IpAddr,
    jar: Option<Arc<Jar>>,
    start: Instant,
    until: Instant,
    gap: Duration,
) -> std::thread::JoinHandle<Result<ProbeResult>> {
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        runtime.block_on(async move {
            let client = client(ip, jar)?;
            let warm = client.get(url.clone()).send().await?;
            if warm.status() != StatusCode::OK {
                return Err(format!("probe GET {url}: {}", warm.status()).into());
            }
            let _ = warm.bytes().await?;
            tokio::time::sleep_until(start.into()).await;
            let mut result = ProbeResult::default();
            while Instant::now() < until {
                let t = Instant::now();
                match client.get(url.clone()).send().await {
                    Ok(response) => {
                        let ok = response.status() == StatusCode::OK;
                        let body = response.bytes().await;
                        result.samples.push(t.elapsed());
                        if !ok || body.is_err() {
                            result.failures += 1;
                        }
                    }
                    Err(_) => result.failures += 1,
                }
                tokio::time::sleep(gap).await;
            }
            Ok(result)
        })
    })
}

// ---- attackers --------------------------------------------------------------

/// One attacker, ready to post: its own address, cookie and form token.
struct Attacker {
    client: Client,
    token: String,
    email: String,
    /// `None`: until the phase ends.
    max_attempts: Option<u32>,
}

#[derive(Default)]
struct AttackResult {
    attempts: u64,
    unauthorized: u64,
    limited: u64,
    other: BTreeMap<u16, u64>,
    errors: u64,
    /// Answers that came after the phase ended (queued before it did).
    after_deadline: u64,
    latencies: Vec<Duration>,
}

impl AttackResult {
    fn add(&mut self, other: AttackResult) {
        self.attempts += other.attempts;
        self.unauthorized += other.unauthorized;
        self.limited += other.limited;
        for (status, n) in other.other {
            *self.other.entry(status).or_insert(0) += n;
        }
        self.errors += other.errors;
        self.after_deadline += other.after_deadline;
        self.latencies.extend(other.latencies);
    }
}

async fn prepare_attackers(
    base: &Url,
    group: u8,
    emails: &[String],
    max_attempts: Option<u32>,
) -> Result<Vec<Attacker>> {
    let url = base.join("/login")?;
    let mut out = Vec::with_capacity(emails.len());
    for (n, email) in emails.iter().enumerate() {
        let client = client(source_ip(group, n), None)?;
        let token = form_token(&client, url.clone()).await?;
        out.push(Attacker { client, token, email: email.clone(), max_attempts });
    }
    Ok(out)
}

/// Posts wrong passwords until `until` (or `max_attempts`), one at a time.
async fn attack(attacker: Attacker, url: Url, until: Instant) -> AttackResult {
    let mut r = AttackResult::default();
    let form = [("csrf_token", attacker.token.as_str()), ("email", &attacker.email), ("password", WRONG_PASSWORD)];
    while Instant::now() < until && attacker.max_attempts.is_none_or(|max| r.attempts < u64::from(max)) {
        r.attempts += 1;
        let t = Instant::now();
        match attacker.client.post(url.clone()).form(&form).send().await {
            Ok(response) => {
                let status = response.status();
                let _ = response.bytes().await;
                r.latencies.push(t.elapsed());
                match status {
                    StatusCode::UNAUTHORIZED => r.unauthorized += 1,
                    StatusCode::TOO_MANY_REQUESTS => r.limited += 1,
                    s => *r.other.entry(s.as_u16()).or_insert(0) += 1,
                }
                if Instant::now() >= until {
                    r.after_deadline += 1;
                }
            }
            Err(_) => {
                r.errors += 1;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
    r
}

// ---- phases -----------------------------------------------------------------

struct Probes {
    healthz: Url,
    dashboard: Url,
    healthz_ip: IpAddr,
    dashboard_ip: IpAddr,
    /// The signed-in probe's cookies.
    jar: Arc<Jar>,
}

struct Phase {
    round: usize,
    key: &'static str,
    label: &'static str,
    healthz: ProbeResult,
    dashboard: ProbeResult,
    attack: Option<(usize, AttackResult)>,
    /// Cores kept busy during the phase, on average: (app, load client).
    cpu: (Option<f64>, Option<f64>),
}

async fn join_probe(handle: std::thread::JoinHandle<Result<ProbeResult>>) -> Result<ProbeResult> {
    tokio::task::spawn_blocking(move || handle.join().map_err(|_| "a probe thread panicked")?).await?
}

/// Measures both probes for one phase while the attackers (if any) post;
/// returns once every attacker's last request is answered.
async fn run_phase(
    o: &Options,
    probes: &Probes,
    round: usize,
    (key, label): (&'static str, &'static str),
    attackers: Vec<Attacker>,
) -> Result<Phase> {
    log(format!("round {}/{}: {label}: {} s, {} attacker(s)", round + 1, o.rounds, o.phase.as_secs(), attackers.len()));
    // Time for the probe threads to start and open their connections.
    let start = Instant::now() + Duration::from_millis(500);
    let until = start + o.phase;
    let healthz = spawn_probe(probes.healthz.clone(), probes.healthz_ip, None, start, until, o.probe_gap);
    let dashboard =
        spawn_probe(probes.dashboard.clone(), probes.dashboard_ip, Some(probes.jar.clone()), start, until, o.probe_gap);
    tokio::time::sleep_until(start.into()).await;
    let cpu_start = (o.app_pid.as_deref().and_then(cpu_seconds), cpu_seconds("self"));
    let count = attackers.len();
    let url = o.base.join("/login")?;
    let mut tasks = JoinSet::new();
    for a in attackers {
        tasks.spawn(attack(a, url.clone(), until));
    }
    tokio::time::sleep_until(until.into()).await;
    let cpu_end = (o.app_pid.as_deref().and_then(cpu_seconds), cpu_seconds("self"));
    let busy = |a: Option<f64>, b: Option<f64>| Some((b? - a?) / o.phase.as_secs_f64());
    let cpu = (busy(cpu_start.0, cpu_end.0), busy(cpu_start.1, cpu_end.1));
    let mut total = AttackResult::default();
    while let Some(r) = tasks.join_next().await {
        total.add(r?);
    }
    let drained = Instant::now().saturating_duration_since(until);
    if count > 0 && drained > Duration::from_millis(100) {
        log(format!(
            "{label}: attackers' queued requests answered {:.1} s after the phase ended",
            drained.as_secs_f64()
        ));
    }
    let phase = Phase {
        round,
        key,
        label,
        healthz: join_probe(healthz).await?,
        dashboard: join_probe(dashboard).await?,
        attack: (count > 0).then_some((count, total)),
        cpu,
    };
    tokio::time::sleep(o.settle).await;
    Ok(phase)
}

/// CPU time (user + system, all threads) of a process so far, in seconds,
/// from `/proc/<pid>/stat` (Linux; clock ticks of 1/100 s, `USER_HZ`).
fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may
    // contain spaces: state is field 3, utime 14, stime 15.
    let fields: Vec<&str> = stat.get(stat.rfind(')')? + 1..)?.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

// ---- throughput and raw bcrypt -------------------------------------------------

struct Throughput {
    signins: usize,
    concurrency: usize,
    seconds: f64,
    per_second: f64,
    latency: Option<Summary>,
}

async fn signin_throughput(o: &Options, emails: &[String]) -> Result<Throughput> {
    log(format!("successful sign-ins: {} at concurrency {}", emails.len(), o.concurrency));
    let url = o.base.join("/login")?;
    let mut ready = Vec::with_capacity(emails.len());
    for (n, email) in emails.iter().enumerate() {
        let client = client(source_ip(GROUP_SIGNIN, n), None)?;
        let token = form_token(&client, url.clone()).await?;
        ready.push((client, token, email.clone()));
    }
    let permits = Arc::new(Semaphore::new(o.concurrency));
    let mut tasks = JoinSet::new();
    let t0 = Instant::now();
    for (client, token, email) in ready {
        let permit = permits.clone().acquire_owned().await?;
        let base = o.base.clone();
        tasks.spawn(async move {
            let t = Instant::now();
            let result = sign_in(&client, &base, &token, &email).await;
            drop(permit);
            result.map(|()| t.elapsed())
        });
    }
    let mut latencies = Vec::with_capacity(emails.len());
    while let Some(r) = tasks.join_next().await {
        latencies.push(r??);
    }
    let seconds = t0.elapsed().as_secs_f64();
    Ok(Throughput {
        signins: latencies.len(),
        concurrency: o.concurrency,
        seconds,
        per_second: latencies.len() as f64 / seconds,
        latency: summarize(&latencies),
    })
}

struct BcryptRate {
    threads: usize,
    verifications: u64,
    per_second: f64,
}

/// bcrypt verifications of a cost-12 hash of the app's pre-hash, on
/// `threads` threads for `length` each; the pre-hash is part of the loop,
/// as in the app.
fn bcrypt_rate(threads: usize, length: Duration) -> Result<BcryptRate> {
    let hash = Arc::new(bcrypt::hash(prehash(PASSWORD), BCRYPT_COST)?);
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let hash = hash.clone();
            std::thread::spawn(move || -> Result<(u64, f64)> {
                let t0 = Instant::now();
                let mut n = 0u64;
                while t0.elapsed() < length {
                    if !bcrypt::verify(prehash(PASSWORD), &hash)? {
                        return Err("bcrypt did not verify its own hash".into());
                    }
                    n += 1;
                }
                Ok((n, t0.elapsed().as_secs_f64()))
            })
        })
        .collect();
    let mut verifications = 0;
    let mut per_second = 0.0;
    for h in handles {
        let (n, secs) = h.join().map_err(|_| "a bcrypt thread panicked")??;
        verifications += n;
        per_second += n as f64 / secs;
    }
    Ok(BcryptRate { threads, verifications, per_second })
}

// ---- report -------------------------------------------------------------------

const LIMIT_RATIO: f64 = 3.0;

/// The measured phases of a round, in order: (key, label).
const IDLE: (&str, &str) = ("idle", "idle");
const FLOOD_ONE: (&str, &str) = ("flood_one_account", "flood: one account");
const FLOOD_SPREAD: (&str, &str) = ("flood_bcrypt_saturating", "flood: bcrypt-saturating");
const KINDS: [(&str, &str); 3] = [IDLE, FLOOD_ONE, FLOOD_SPREAD];

#[derive(Clone, Copy)]
enum Probe {
    Healthz,
    Dashboard,
}

impl Probe {
    fn of(self, phase: &Phase) -> &ProbeResult {
        match self {
            Probe::Healthz => &phase.healthz,
            Probe::Dashboard => &phase.dashboard,
        }
    }

    fn key(self) -> &'static str {
        match self {
            Probe::Healthz => "healthz",
            Probe::Dashboard => "dashboard",
        }
    }
}

fn median(mut values: Vec<f64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    Some(if n % 2 == 1 { values[n / 2] } else { (values[n / 2 - 1] + values[n / 2]) / 2.0 })
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}

/// One phase kind over all rounds, for one probe.
struct Aggregate {
    p50_ms: Option<f64>,
    p99_ms: Option<f64>,
    /// Median p99 over the median idle p99.
    p99_over_idle: Option<f64>,
    /// Each round's p99 over the same round's idle p99.
    per_round_p99_over_idle: Vec<Option<f64>>,
    requests: usize,
    failures: u64,
}

fn phases_of<'a>(phases: &'a [Phase], key: &'a str) -> impl Iterator<Item = &'a Phase> {
    phases.iter().filter(move |p| p.key == key)
}

fn round_p99(phases: &[Phase], key: &str, round: usize, probe: Probe) -> Option<f64> {
    phases_of(phases, key).find(|p| p.round == round).and_then(|p| summarize(&probe.of(p).samples)).map(|s| s.p99_ms)
}

fn aggregate(phases: &[Phase], key: &str, probe: Probe) -> Aggregate {
    let summaries: Vec<Summary> = phases_of(phases, key).filter_map(|p| summarize(&probe.of(p).samples)).collect();
    let p99_ms = median(summaries.iter().map(|s| s.p99_ms).collect());
    let idle: Vec<f64> =
        phases_of(phases, IDLE.0).filter_map(|p| summarize(&probe.of(p).samples)).map(|s| s.p99_ms).collect();
    Aggregate {
        p50_ms: median(summaries.iter().map(|s| s.p50_ms).collect()),
        p99_ms,
        p99_over_idle: ratio(p99_ms, median(idle)),
        per_round_p99_over_idle: phases_of(phases, key)
            .map(|p| ratio(round_p99(phases, key, p.round, probe), round_p99(phases, IDLE.0, p.round, probe)))
            .collect(),
        requests: summaries.iter().map(|s| s.count).sum(),
        failures: phases_of(phases, key).map(|p| probe.of(p).failures).sum(),
    }
}

/// For a flood: both probes' median p99 within 3x idle and no failed probe.
fn verdict(healthz: &Aggregate, dashboard: &Aggregate) -> Option<bool> {
    let h = healthz.p99_over_idle?;
    let d = dashboard.p99_over_idle?;
    Some(h <= LIMIT_RATIO && d <= LIMIT_RATIO && healthz.failures == 0 && dashboard.failures == 0)
}

fn fmt_ms(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_owned(), |v| format!("{v:.3}"))
}

fn fmt_ratio(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_owned(), |v| format!("{v:.2}"))
}

fn aggregate_json(a: &Aggregate) -> Value {
    json!({
        "median_p50_ms": a.p50_ms, "median_p99_ms": a.p99_ms,
        "p99_over_idle": a.p99_over_idle, "per_round_p99_over_idle": a.per_round_p99_over_idle,
        "requests": a.requests, "failures": a.failures,
    })
}

fn phase_json(p: &Phase) -> Value {
    let probe = |r: &ProbeResult| match summarize(&r.samples) {
        Some(s) => json!({
            "requests": s.count, "failures": r.failures,
            "p50_ms": s.p50_ms, "p99_ms": s.p99_ms, "max_ms": s.max_ms,
        }),
        None => json!({ "requests": 0, "failures": r.failures }),
    };
    let attack = p.attack.as_ref().map(|(count, a)| {
        let latency = summarize(&a.latencies);
        json!({
            "attackers": count, "attempts": a.attempts, "answered": a.latencies.len(),
            "status_401": a.unauthorized, "status_429": a.limited,
            "other_statuses": a.other.iter().map(|(s, n)| (s.to_string(), json!(n))).collect::<serde_json::Map<_, _>>(),
            "transport_errors": a.errors, "answered_after_phase_end": a.after_deadline,
            "latency_p50_ms": latency.map(|s| s.p50_ms), "latency_max_ms": latency.map(|s| s.max_ms),
        })
    });
    json!({
        "round": p.round + 1, "phase": p.key,
        "healthz": probe(&p.healthz), "dashboard": probe(&p.dashboard), "attack": attack,
        "app_cores_busy": p.cpu.0, "load_client_cores_busy": p.cpu.1,
    })
}

struct RawBcrypt {
    one: Vec<BcryptRate>,
    all: Vec<BcryptRate>,
}

impl RawBcrypt {
    fn best(rates: &[BcryptRate]) -> Option<&BcryptRate> {
        rates.iter().max_by(|a, b| a.per_second.total_cmp(&b.per_second))
    }
}

fn markdown(o: &Options, phases: &[Phase], tp: &Throughput, raw: &RawBcrypt) -> String {
    let mut md = String::new();
    md.push_str(&format!(
        "### Probe latency, idle and under each flood\n\nMedians over {} round(s); the ratios are the flood's median \
         p99 over the idle median p99.\n\n",
        o.rounds
    ));
    md.push_str(
        "| phase | `/healthz` p50 ms | `/healthz` p99 ms | p99 / idle | `/dashboard` p50 ms | `/dashboard` p99 ms \
         | p99 / idle | probe requests (healthz, dashboard) | failed probes | both p99 within 3x idle |\n",
    );
    md.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
    for (key, label) in KINDS {
        let h = aggregate(phases, key, Probe::Healthz);
        let d = aggregate(phases, key, Probe::Dashboard);
        let verdict = match (key == IDLE.0, verdict(&h, &d)) {
            (true, _) => "(reference)",
            (false, Some(true)) => "pass",
            (false, Some(false)) => "**FAIL**",
            (false, None) => "–",
        };
        md.push_str(&format!(
            "| {label} | {} | {} | {} | {} | {} | {} | {}, {} | {} | {verdict} |\n",
            fmt_ms(h.p50_ms),
            fmt_ms(h.p99_ms),
            fmt_ratio(h.p99_over_idle),
            fmt_ms(d.p50_ms),
            fmt_ms(d.p99_ms),
            fmt_ratio(d.p99_over_idle),
            h.requests,
            d.requests,
            h.failures + d.failures,
        ));
    }
    md.push_str("\nAcceptance (median p99 within 3x the idle median p99, no failed probe):\n\n");
    for (key, label) in [FLOOD_ONE, FLOOD_SPREAD] {
        let mut over = Vec::new();
        let mut failed = 0;
        for probe in [Probe::Healthz, Probe::Dashboard] {
            let a = aggregate(phases, key, probe);
            failed += a.failures;
            if a.p99_over_idle.is_none_or(|r| r > LIMIT_RATIO) {
                over.push(format!("`/{}` p99 is {}x idle", probe.key(), fmt_ratio(a.p99_over_idle)));
            }
        }
        if failed > 0 {
            over.push(format!("{failed} probe request(s) failed"));
        }
        let result =
            if over.is_empty() { "within 3x idle".to_owned() } else { format!("**not met**: {}", over.join("; ")) };
        md.push_str(&format!("- {label}: {result}\n"));
    }
    md.push_str(&format!(
        "\n### CPU during the phases\n\nCores kept busy on average during each phase (median over the rounds), \
         of the {} this machine has; the load client runs on the same cores as the app.\n\n\
         | phase | app | load client (probes and attackers) |\n|---|---:|---:|\n",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    ));
    for (key, label) in KINDS {
        let app = median(phases_of(phases, key).filter_map(|p| p.cpu.0).collect());
        let client = median(phases_of(phases, key).filter_map(|p| p.cpu.1).collect());
        md.push_str(&format!("| {label} | {} | {} |\n", fmt_ratio(app), fmt_ratio(client)));
    }
    md.push_str(
        "\n### Spread between rounds\n\nEach round on its own, in round order: the idle p99 in ms, and each flood's \
         p99 over the same round's idle p99. Where the idle figures disagree by much, the machine's load changed \
         during the run.\n\n",
    );
    for probe in [Probe::Healthz, Probe::Dashboard] {
        let idle: Vec<String> = (0..o.rounds).map(|r| fmt_ms(round_p99(phases, IDLE.0, r, probe))).collect();
        md.push_str(&format!("- `/{}` idle p99 ms: {}\n", probe.key(), idle.join(", ")));
        for (key, label) in [FLOOD_ONE, FLOOD_SPREAD] {
            let ratios: Vec<String> =
                aggregate(phases, key, probe).per_round_p99_over_idle.into_iter().map(fmt_ratio).collect();
            md.push_str(&format!("- `/{}` {label}, p99 / idle: {}\n", probe.key(), ratios.join(", ")));
        }
    }
    md.push_str("\n### The attackers' side\n\n");
    md.push_str(
        "| round | flood | attackers | attempts answered | 401 (wrong password: one bcrypt each) \
         | 429 (rate limited: no bcrypt) | other answers | transport errors | attempt latency p50 ms \
         | attempt latency max ms |\n",
    );
    md.push_str("|---:|---|---:|---:|---:|---:|---|---:|---:|---:|\n");
    for p in phases {
        let Some((count, a)) = &p.attack else { continue };
        let other = if a.other.is_empty() {
            "0".to_owned()
        } else {
            a.other.iter().map(|(s, n)| format!("{n}× {s}")).collect::<Vec<_>>().join(", ")
        };
        let l = summarize(&a.latencies);
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            p.round + 1,
            p.label,
            count,
            a.latencies.len(),
            a.unauthorized,
            a.limited,
            other,
            a.errors,
            fmt_ms(l.map(|s| s.p50_ms)),
            fmt_ms(l.map(|s| s.max_ms)),
        ));
    }
    md.push_str("\n### Successful sign-ins against raw bcrypt\n\n");
    let fmt_rates = |rates: &[BcryptRate]| rates.iter().map(|r| format!("{:.2}", r.per_second)).collect::<Vec<_>>();
    let best_one = RawBcrypt::best(&raw.one).map(|r| r.per_second);
    let best_all = RawBcrypt::best(&raw.all).map(|r| r.per_second);
    let threads = raw.all.first().map_or(0, |r| r.threads);
    md.push_str(&format!(
        "{} sign-ins, each a different account from a different address, at concurrency {}, took {:.1} s \
         (sign-in latency p50 {} ms, p99 {} ms). Raw bcrypt-12 was measured at the start of the run, just before and \
         just after (one core: {} verifications/s; {} cores: {}); the highest of each is the machine's limit.\n\n",
        tp.signins,
        tp.concurrency,
        tp.seconds,
        fmt_ms(tp.latency.map(|s| s.p50_ms)),
        fmt_ms(tp.latency.map(|s| s.p99_ms)),
        fmt_rates(&raw.one).join(", "),
        threads,
        fmt_rates(&raw.all).join(", "),
    ));
    md.push_str(&format!(
        "| successful sign-ins/s | raw bcrypt-12 verifications/s, {threads} cores | sign-ins / raw ({threads} cores) \
         | raw bcrypt-12 verifications/s, one core | sign-ins / raw (one core) |\n"
    ));
    md.push_str("|---:|---:|---:|---:|---:|\n");
    md.push_str(&format!(
        "| {:.2} | {} | {} | {} | {} |\n",
        tp.per_second,
        fmt_ratio(best_all),
        fmt_ratio(ratio(Some(tp.per_second), best_all)),
        fmt_ratio(best_one),
        fmt_ratio(ratio(Some(tp.per_second), best_one)),
    ));
    md
}

// ---- main ---------------------------------------------------------------------

fn emails(run: &str, role: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{role}-{i}-{run}@bench.example")).collect()
}

async fn sign_up_all(o: &Options, all: Vec<String>) -> Result<()> {
    log(format!("signing up {} accounts", all.len()));
    let t = Instant::now();
    // 8 at a time: they queue on the app's hashing pool anyway.
    let permits = Arc::new(Semaphore::new(8));
    let mut tasks = JoinSet::new();
    for (n, email) in all.into_iter().enumerate() {
        let permit = permits.clone().acquire_owned().await?;
        let base = o.base.clone();
        tasks.spawn(async move {
            let r = sign_up(&base, source_ip(GROUP_SIGNUP, n), n, &email).await;
            drop(permit);
            r
        });
    }
    while let Some(r) = tasks.join_next().await {
        r??;
    }
    log(format!("signed up in {:.1} s", t.elapsed().as_secs_f64()));
    Ok(())
}

async fn raw_bcrypt(length: Duration, threads: usize, into: &mut RawBcrypt) -> Result<()> {
    log(format!("raw bcrypt-{BCRYPT_COST}: 1 thread, then {threads} threads, {} s each", length.as_secs()));
    into.one.push(tokio::task::spawn_blocking(move || bcrypt_rate(1, length)).await??);
    into.all.push(tokio::task::spawn_blocking(move || bcrypt_rate(threads, length)).await??);
    Ok(())
}

async fn run() -> Result<()> {
    let o = parse_options()?;
    let run_id = format!("{:x}", SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis() % 0xff_ffff);
    let probe_email = format!("probe-{run_id}@bench.example");
    let targets: Vec<String> = (0..o.rounds).map(|r| format!("target{r}-{run_id}@bench.example")).collect();
    let spread: Vec<Vec<String>> = (0..o.rounds).map(|r| emails(&run_id, &format!("spread{r}"), o.attackers)).collect();
    let signin_emails = emails(&run_id, "signin", o.signins);

    // 7, first of three: raw bcrypt before anything else, with the app
    // idle (taken three times because other work on the machine can spoil
    // one measurement; the best is the limit).
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut raw = RawBcrypt { one: Vec::new(), all: Vec::new() };
    raw_bcrypt(o.bcrypt, cores, &mut raw).await?;

    // 1. Accounts, each signed up from its own address.
    let mut all = vec![probe_email.clone()];
    all.extend(targets.iter().cloned());
    all.extend(spread.iter().flatten().cloned());
    all.extend(signin_emails.iter().cloned());
    sign_up_all(&o, all).await?;

    // The signed-in probe.
    let jar = Arc::new(Jar::default());
    let dashboard_ip = source_ip(GROUP_PROBE, 0);
    let probe_client = client(dashboard_ip, Some(jar.clone()))?;
    let token = form_token(&probe_client, o.base.join("/login")?).await?;
    sign_in(&probe_client, &o.base, &token, &probe_email).await?;
    let probes = Probes {
        healthz: o.base.join("/healthz")?,
        dashboard: o.base.join("/dashboard")?,
        healthz_ip: source_ip(GROUP_PROBE, 1),
        dashboard_ip,
        jar,
    };
    tokio::time::sleep(o.settle).await;

    // 2-5. The measured phases, round after round; fresh addresses each
    // round (the one-account flood's are locked out for 15 minutes).
    let mut phases = Vec::new();
    for (round, (target, spread)) in targets.into_iter().zip(&spread).enumerate() {
        let group = round as u8;
        phases.push(run_phase(&o, &probes, round, IDLE, Vec::new()).await?);
        let one = prepare_attackers(&o.base, GROUP_FLOOD_ONE + group, &vec![target; o.attackers], None).await?;
        phases.push(run_phase(&o, &probes, round, FLOOD_ONE, one).await?);
        let many = prepare_attackers(&o.base, GROUP_FLOOD_SPREAD + group, spread, Some(LOGIN_LIMIT)).await?;
        phases.push(run_phase(&o, &probes, round, FLOOD_SPREAD, many).await?);
    }

    // 6 and 7. Successful sign-ins, between two more raw bcrypt
    // measurements taken with the app idle.
    raw_bcrypt(o.bcrypt, cores, &mut raw).await?;
    let tp = signin_throughput(&o, &signin_emails).await?;
    raw_bcrypt(o.bcrypt, cores, &mut raw).await?;

    // Report.
    let mut aggregates = serde_json::Map::new();
    for (key, _) in KINDS {
        let h = aggregate(&phases, key, Probe::Healthz);
        let d = aggregate(&phases, key, Probe::Dashboard);
        let within = if key == IDLE.0 { None } else { verdict(&h, &d) };
        aggregates.insert(
            key.to_owned(),
            json!({ "healthz": aggregate_json(&h), "dashboard": aggregate_json(&d), "within_3x_idle": within }),
        );
    }
    let rates = |rates: &[BcryptRate]| -> Value {
        rates
            .iter()
            .map(|r| json!({ "threads": r.threads, "verifications": r.verifications, "per_second": r.per_second }))
            .collect()
    };
    let best_one = RawBcrypt::best(&raw.one).map(|r| r.per_second);
    let best_all = RawBcrypt::best(&raw.all).map(|r| r.per_second);
    let summary = json!({
        "benchmark": "sign-in-flood",
        "base_url": o.base.as_str(),
        "phase_seconds": o.phase.as_secs(),
        "rounds": o.rounds,
        "probe_gap_ms": o.probe_gap.as_millis() as u64,
        "attackers": o.attackers,
        "app_password_hash_workers": o.app_hash_workers,
        "cores": cores,
        "phases": phases.iter().map(phase_json).collect::<Vec<_>>(),
        "medians": aggregates,
        "successful_sign_ins": {
            "sign_ins": tp.signins, "concurrency": tp.concurrency, "seconds": tp.seconds,
            "per_second": tp.per_second,
            "latency_p50_ms": tp.latency.map(|s| s.p50_ms), "latency_p99_ms": tp.latency.map(|s| s.p99_ms),
        },
        "raw_bcrypt": {
            "cost": BCRYPT_COST,
            "one_core": rates(&raw.one), "all_cores": rates(&raw.all),
            "best_one_core_per_second": best_one, "best_all_cores_per_second": best_all,
        },
        "sign_ins_over_raw_all_cores": ratio(Some(tp.per_second), best_all),
        "sign_ins_over_raw_one_core": ratio(Some(tp.per_second), best_one),
    });
    if let Some(path) = &o.markdown {
        std::fs::write(path, markdown(&o, &phases, &tp, &raw))?;
    }
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log(format!("failed: {e}"));
            ExitCode::FAILURE
        }
    }
}
