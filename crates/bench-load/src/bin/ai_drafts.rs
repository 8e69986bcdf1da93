//! `ai-drafts`: what does the app add to a model's draft?
//!
//! Against a running `cbt-assistant` whose model is `bench-fake-llm` (see
//! `bench/ai-drafts`, which starts both, signs in, gives the consent,
//! makes the note and writes the report), it times the same draft two ways,
//! one request at a time and then `--concurrency` at once:
//!
//! - **direct**: a streamed chat completion straight to the fake provider,
//!   through `cbt_llm::OpenAiCompatible` (the client the app itself uses,
//!   with the same prompt, de-identified shorthand, schema and settings as
//!   the app's request): time to the first text piece, to the first
//!   complete sentence (the pieces fed to `cbt_drafting::AnswerWatcher`, as
//!   the app does) and to the finish;
//! - **app**: `POST /notes/{id}/draft/as-written` as the page's script
//!   sends it (session cookies, CSRF token, `shorthand`, `action=model`):
//!   time to the response's headers (its first byte), to the first
//!   `sentence` event and to the `page` event (the checked suggestion).
//!
//! Each of `--rounds` rounds runs both, in an order that turns from round
//! to round, `--requests` drafts each; every draft is checked (all the
//! sentences, the finish, the suggestion page), and any failure stops the
//! run. Prints a JSON summary on stdout (progress on stderr), every sample
//! to `--samples FILE` and the report's tables to `--markdown FILE`.
//!
//! Usage: `ai-drafts APP_URL --fake URL --note ID --cookie 'cbt_session=…; cbt_csrf=…'`;
//! `--help` lists the options.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cbt_bench_load::model_draft::{self, CLIENT_NAME, SENTENCE_COUNT, SHORTHAND};
use cbt_bench_load::{Result, Summary, csrf_token, summarize};
use cbt_drafting::{
    AnswerWatcher, Identifiers, NOTE_PROMPT, NoteFormat, Source, deidentify, note_request, note_schema,
};
use cbt_llm::{Credential, LlmSettings, OpenAiCompatible};
use cbt_ports::{AnswerSchema, ChatEvent, ChatMessage, ChatRequest, FinishReason, Llm, ProviderKind, Role};
use futures_util::StreamExt as _;
use reqwest::header::{COOKIE, HeaderMap, HeaderValue, ORIGIN};
use reqwest::redirect::Policy;
use reqwest::{Client, StatusCode, Url};
use serde_json::{Value, json};
use tokio::task::JoinSet;

const USAGE: &str = "\
usage: ai-drafts APP_URL --fake URL --note ID --cookie COOKIES [options]

  --fake URL            the fake provider, http://127.0.0.1:PORT (its API is URL/v1)
  --model NAME          the model the app is configured with (default bench-model)
  --note ID             an unsigned SOAP note of a client named \"Jordan Benchmark\"
  --cookie COOKIES      the signed-in browser's Cookie header (cbt_session, cbt_csrf)
  --requests N          drafts per series (default 40)
  --rounds N            rounds of all series, 1 to 9 (default 3)
  --concurrency N       drafts at once in the concurrent series (default 4; 1: none)
  --warmup N            drafts each way before the first round (default 3)
  --samples FILE        write every sample (tab-separated) to FILE
  --markdown FILE       write the report's tables to FILE";

struct Options {
    app: Url,
    fake: Url,
    model: String,
    note: String,
    cookie: String,
    requests: usize,
    rounds: usize,
    concurrency: usize,
    warmup: usize,
    samples: Option<PathBuf>,
    markdown: Option<PathBuf>,
}

fn parse_options() -> Result<Options> {
    let mut args = std::env::args().skip(1);
    let (mut app, mut fake, mut note, mut cookie) = (None, None, None, None);
    let mut o = Options {
        app: Url::parse("http://127.0.0.1:8080")?,
        fake: Url::parse("http://127.0.0.1:8081")?,
        model: "bench-model".into(),
        note: String::new(),
        cookie: String::new(),
        requests: 40,
        rounds: 3,
        concurrency: 4,
        warmup: 3,
        samples: None,
        markdown: None,
    };
    while let Some(arg) = args.next() {
        if arg == "--help" || arg == "-h" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        if !arg.starts_with("--") {
            if app.replace(Url::parse(&arg)?).is_some() {
                return Err(format!("one app URL only\n{USAGE}").into());
            }
            continue;
        }
        let value = args.next().ok_or_else(|| format!("{arg} needs a value"))?;
        let number = || -> Result<usize> {
            let n: usize = value.parse().map_err(|_| format!("{arg}: not a whole number: {value}"))?;
            Ok(n)
        };
        match arg.as_str() {
            "--fake" => fake = Some(Url::parse(&value)?),
            "--model" => o.model = value,
            "--note" => note = Some(value),
            "--cookie" => cookie = Some(value),
            "--requests" => o.requests = number()?.max(1),
            "--rounds" => o.rounds = number()?.clamp(1, 9),
            "--concurrency" => o.concurrency = number()?.max(1),
            "--warmup" => o.warmup = number()?,
            "--samples" => o.samples = Some(PathBuf::from(value)),
            "--markdown" => o.markdown = Some(PathBuf::from(value)),
            _ => return Err(format!("unknown option {arg}\n{USAGE}").into()),
        }
    }
    o.app = app.ok_or_else(|| format!("the app's URL is missing\n{USAGE}"))?;
    o.fake = fake.ok_or_else(|| format!("--fake is missing\n{USAGE}"))?;
    o.note = note.ok_or_else(|| format!("--note is missing\n{USAGE}"))?;
    o.cookie = cookie.ok_or_else(|| format!("--cookie is missing\n{USAGE}"))?;
    Ok(o)
}

fn log(message: impl AsRef<str>) {
    eprintln!("ai-drafts: {}", message.as_ref());
}

/// Which way a draft went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Path {
    Direct,
    App,
}

impl Path {
    fn name(self) -> &'static str {
        match self {
            Self::Direct => "direct",
            Self::App => "app",
        }
    }
}

/// One draft's times from the request's start. `first` is the first text
/// piece (direct) or the response's headers (app).
#[derive(Clone, Copy, Debug)]
struct Sample {
    first: Duration,
    sentence: Duration,
    total: Duration,
}

// ---- direct: the fake provider through the app's own client -----------------

/// The request the app makes for this note: the same prompt, de-identified
/// shorthand (the client's name among the identifiers, as the app hides
/// it), schema, token limit and temperature (`crates/app/src/drafts.rs`).
fn chat_request() -> ChatRequest {
    let known = Identifiers { names: vec![CLIENT_NAME.to_owned()], ..Identifiers::default() };
    let (hidden, _) = deidentify(&[SHORTHAND], &known);
    let sources: Vec<Source> = hidden
        .into_iter()
        .map(|text| Source { id: "shorthand".into(), label: "your shorthand".into(), text })
        .collect();
    ChatRequest {
        messages: vec![
            ChatMessage::new(Role::System, NOTE_PROMPT),
            ChatMessage::new(Role::User, note_request(NoteFormat::Soap, &sources)),
        ],
        schema: Some(AnswerSchema {
            name: "session_note".into(),
            schema: note_schema(NoteFormat::Soap, &["shorthand"]),
        }),
        max_tokens: 2_000,
        temperature: 0.0,
    }
}

async fn direct_draft(llm: &OpenAiCompatible, request: ChatRequest) -> Result<Sample> {
    let start = Instant::now();
    let mut stream = llm.chat(request).await?;
    let mut watcher = AnswerWatcher::default();
    let (mut first, mut sentence, mut sentences) = (None, None, 0);
    while let Some(event) = stream.next().await {
        match event? {
            ChatEvent::Text(piece) => {
                if piece.is_empty() {
                    continue;
                }
                first.get_or_insert_with(|| start.elapsed());
                let closed = watcher.push(&piece).len();
                if closed > 0 {
                    sentence.get_or_insert_with(|| start.elapsed());
                }
                sentences += closed;
            }
            ChatEvent::Finished { reason, .. } => {
                let total = start.elapsed();
                if reason != FinishReason::Stop || sentences != SENTENCE_COUNT {
                    return Err(format!("direct: finished ({reason:?}) with {sentences} sentences").into());
                }
                let (Some(first), Some(sentence)) = (first, sentence) else {
                    return Err("direct: finished without text".into());
                };
                return Ok(Sample { first, sentence, total });
            }
        }
    }
    Err("direct: the stream ended without a finish".into())
}

// ---- through the app ----------------------------------------------------------

/// The signed-in browser: its cookies and the form's CSRF token.
struct Browser {
    http: Client,
    url: Url,
    form: Vec<(&'static str, String)>,
}

impl Browser {
    async fn new(o: &Options) -> Result<Self> {
        let origin = o.app.origin().ascii_serialization();
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_str(&o.cookie)?);
        // The page's script posts same-origin, as every form here does.
        headers.insert(ORIGIN, HeaderValue::from_str(&origin)?);
        let http = Client::builder()
            .default_headers(headers)
            .redirect(Policy::none())
            .timeout(Duration::from_secs(120))
            .no_proxy()
            .build()?;
        let page = o.app.join(&format!("/notes/{}/draft", o.note))?;
        let response = http.get(page.clone()).send().await?;
        let status = response.status();
        let html = response.text().await?;
        if status != StatusCode::OK {
            return Err(format!("GET {page}: {status} (is the session still signed in?)").into());
        }
        if !html.contains("Suggest with AI") {
            return Err(format!("GET {page}: no \"Suggest with AI\" (consent given? model covered by a BAA?)").into());
        }
        let token = csrf_token(&html).ok_or("the draft form has no csrf_token")?.to_owned();
        let form = vec![("csrf_token", token), ("shorthand", SHORTHAND.to_owned()), ("action", "model".to_owned())];
        Ok(Self { http, url: o.app.join(&format!("/notes/{}/draft/as-written", o.note))?, form })
    }

    async fn draft(&self) -> Result<Sample> {
        let start = Instant::now();
        let mut response = self.http.post(self.url.clone()).form(&self.form).send().await?;
        let first = start.elapsed();
        let status = response.status();
        if status != StatusCode::OK {
            return Err(format!("app: POST {} answered {status}", self.url.path()).into());
        }
        let (mut sentence, mut sentences) = (None, 0);
        // Bytes, not text: a chunk may end inside a character (the page
        // has curly quotes); an event ends at a blank line, which cannot.
        // `scanned`: how far the buffer is known to hold no blank line, so
        // a long page is not searched again with every chunk.
        let (mut buffer, mut scanned): (Vec<u8>, usize) = (Vec::new(), 0);
        while let Some(chunk) = response.chunk().await? {
            buffer.extend_from_slice(&chunk);
            while let Some(at) = buffer[scanned..].windows(2).position(|w| w == b"\n\n") {
                let block: Vec<u8> = buffer.drain(..scanned + at + 2).collect();
                scanned = 0;
                let (name, data) = event_of(std::str::from_utf8(&block)?);
                match name.as_str() {
                    "sentence" => {
                        sentence.get_or_insert_with(|| start.elapsed());
                        sentences += 1;
                    }
                    "page" => {
                        let total = start.elapsed();
                        if !data.contains("AI suggestion from") {
                            return Err("app: the page event is not the suggestion".into());
                        }
                        if sentences != SENTENCE_COUNT {
                            return Err(format!("app: {sentences} sentence events, not {SENTENCE_COUNT}").into());
                        }
                        let sentence = sentence.ok_or("app: no sentence event")?;
                        return Ok(Sample { first, sentence, total });
                    }
                    // "again" (the answer was unusable) or "failed": the
                    // fixed answer never is, so something is wrong.
                    other => return Err(format!("app: unexpected event {other:?}").into()),
                }
            }
            scanned = buffer.len().saturating_sub(1);
        }
        Err("app: the stream ended without the page".into())
    }
}

/// The name and data of one server-sent event block.
fn event_of(block: &str) -> (String, String) {
    let mut name = String::new();
    let mut data = Vec::new();
    for line in block.lines() {
        if let Some(n) = line.strip_prefix("event:") {
            name = n.trim().to_owned();
        } else if let Some(d) = line.strip_prefix("data:") {
            data.push(d.strip_prefix(' ').unwrap_or(d));
        }
    }
    (name, data.join("\n"))
}

// ---- running series ---------------------------------------------------------

struct Drafters {
    llm: Arc<OpenAiCompatible>,
    request: ChatRequest,
    browser: Arc<Browser>,
}

impl Drafters {
    async fn one(&self, path: Path) -> Result<Sample> {
        match path {
            Path::Direct => direct_draft(&self.llm, self.request.clone()).await,
            Path::App => self.browser.draft().await,
        }
    }

    /// `count` drafts `path`'s way, `concurrency` at a time.
    async fn series(self: &Arc<Self>, path: Path, count: usize, concurrency: usize) -> Result<Vec<Sample>> {
        if concurrency <= 1 {
            let mut samples = Vec::with_capacity(count);
            for _ in 0..count {
                samples.push(self.one(path).await?);
            }
            return Ok(samples);
        }
        let mut workers = JoinSet::new();
        for worker in 0..concurrency {
            let drafters = self.clone();
            // The count shared out: the first workers take one more.
            let share = count / concurrency + usize::from(worker < count % concurrency);
            workers.spawn(async move {
                let mut samples = Vec::with_capacity(share);
                for _ in 0..share {
                    samples.push(drafters.one(path).await?);
                }
                Ok::<_, cbt_bench_load::Error>(samples)
            });
        }
        let mut samples = Vec::with_capacity(count);
        while let Some(done) = workers.join_next().await {
            samples.extend(done??);
        }
        Ok(samples)
    }
}

/// One series of one round.
struct Series {
    round: usize,
    path: Path,
    concurrency: usize,
    samples: Vec<Sample>,
}

/// The three figures of a draft.
#[derive(Clone, Copy)]
enum Figure {
    First,
    Sentence,
    Total,
}

impl Figure {
    fn of(self, s: &Sample) -> Duration {
        match self {
            Self::First => s.first,
            Self::Sentence => s.sentence,
            Self::Total => s.total,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::First => "first",
            Self::Sentence => "first_sentence",
            Self::Total => "total",
        }
    }
}

/// The median over the rounds of each round's p50, p95 and p99 of `figure`.
fn over_rounds(all: &[Series], path: Path, concurrency: usize, figure: Figure) -> Option<Summary> {
    let per_round: Vec<Summary> = all
        .iter()
        .filter(|s| s.path == path && s.concurrency == concurrency)
        .filter_map(|s| summarize(&s.samples.iter().map(|x| figure.of(x)).collect::<Vec<_>>()))
        .collect();
    let median = |pick: fn(&Summary) -> f64| {
        let mut v: Vec<f64> = per_round.iter().map(pick).collect();
        v.sort_by(f64::total_cmp);
        match v.len() {
            0 => f64::NAN,
            n if n % 2 == 1 => v[n / 2],
            n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
        }
    };
    (!per_round.is_empty()).then(|| Summary {
        count: per_round.iter().map(|s| s.count).sum(),
        p50_ms: median(|s| s.p50_ms),
        p95_ms: median(|s| s.p95_ms),
        p99_ms: median(|s| s.p99_ms),
        max_ms: per_round.iter().map(|s| s.max_ms).fold(0.0, f64::max),
    })
}

fn summary_json(all: &[Series], concurrencies: &[usize]) -> Value {
    let mut out = serde_json::Map::new();
    for &c in concurrencies {
        for path in [Path::Direct, Path::App] {
            for figure in [Figure::First, Figure::Sentence, Figure::Total] {
                if let Some(s) = over_rounds(all, path, c, figure) {
                    out.insert(
                        format!("{}.c{}.{}", path.name(), c, figure.name()),
                        json!({"samples": s.count, "p50_ms": s.p50_ms, "p95_ms": s.p95_ms,
                               "p99_ms": s.p99_ms, "max_ms": s.max_ms}),
                    );
                }
            }
        }
    }
    Value::Object(out)
}

fn markdown(all: &[Series], concurrencies: &[usize], o: &Options) -> String {
    let mut out = String::new();
    for &c in concurrencies {
        let who = if c == 1 { "one draft at a time".to_owned() } else { format!("{c} drafts at once") };
        out.push_str(&format!(
            "\n**{who}** ({} drafts each way per round; ms, medians over the rounds of each round's percentile)\n\n",
            o.requests
        ));
        out.push_str("| figure | percentile | direct ms | app ms | app − direct ms | app ÷ direct |\n");
        out.push_str("|---|---|---:|---:|---:|---:|\n");
        let rows = [(Figure::Sentence, "first sentence shown"), (Figure::Total, "whole draft (total)")];
        for (figure, label) in rows {
            let (Some(d), Some(a)) =
                (over_rounds(all, Path::Direct, c, figure), over_rounds(all, Path::App, c, figure))
            else {
                continue;
            };
            let pairs = [("p50", d.p50_ms, a.p50_ms), ("p95", d.p95_ms, a.p95_ms), ("p99", d.p99_ms, a.p99_ms)];
            for (name, d, a) in pairs {
                out.push_str(&format!("| {label} | {name} | {d:.1} | {a:.1} | {:+.1} | {:.2} |\n", a - d, a / d));
            }
        }
        if let (Some(d), Some(a)) =
            (over_rounds(all, Path::Direct, c, Figure::First), over_rounds(all, Path::App, c, Figure::First))
        {
            out.push_str(&format!(
                "\nFirst text piece of the direct call: p50 {:.1} ms, p95 {:.1}, p99 {:.1}. First byte of the \
                 app's answer (the stream's headers, sent before the model is asked): p50 {:.1} ms, p95 {:.1}, \
                 p99 {:.1}.\n",
                d.p50_ms, d.p95_ms, d.p99_ms, a.p50_ms, a.p95_ms, a.p99_ms
            ));
        }
    }
    out
}

async fn run(o: Options) -> Result<()> {
    // The API base as the app is given it (CBT_LLM_ENDPOINT).
    let mut fake = o.fake.clone();
    fake.set_path("/v1");
    let settings = LlmSettings::new(ProviderKind::SelfHosted, fake, o.model.clone(), Credential::None);
    let drafters = Arc::new(Drafters {
        llm: Arc::new(OpenAiCompatible::new(settings)?),
        request: chat_request(),
        browser: Arc::new(Browser::new(&o).await?),
    });
    log(format!("warm-up: {} drafts each way", o.warmup));
    for path in [Path::Direct, Path::App] {
        drafters.series(path, o.warmup, 1).await?;
    }
    let mut concurrencies = vec![1];
    if o.concurrency > 1 {
        concurrencies.push(o.concurrency);
    }
    let mut all = Vec::new();
    for round in 1..=o.rounds {
        // The order turns each round, so neither way always runs first.
        let order = if round % 2 == 1 { [Path::Direct, Path::App] } else { [Path::App, Path::Direct] };
        for &c in &concurrencies {
            for path in order {
                let started = Instant::now();
                let samples = drafters.series(path, o.requests, c).await?;
                let total: Vec<Duration> = samples.iter().map(|s| s.total).collect();
                let p50 = summarize(&total).map_or(f64::NAN, |s| s.p50_ms);
                log(format!(
                    "round {round}: {} at {c}: {} drafts in {:.1} s, total p50 {p50:.1} ms",
                    path.name(),
                    samples.len(),
                    started.elapsed().as_secs_f64()
                ));
                all.push(Series { round, path, concurrency: c, samples });
            }
        }
    }
    if let Some(file) = &o.samples {
        let mut tsv = String::from("round\tpath\tconcurrency\tfirst_ms\tfirst_sentence_ms\ttotal_ms\n");
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        for s in &all {
            for x in &s.samples {
                tsv.push_str(&format!(
                    "{}\t{}\t{}\t{:.3}\t{:.3}\t{:.3}\n",
                    s.round,
                    s.path.name(),
                    s.concurrency,
                    ms(x.first),
                    ms(x.sentence),
                    ms(x.total)
                ));
            }
        }
        std::fs::write(file, tsv)?;
    }
    if let Some(file) = &o.markdown {
        std::fs::write(file, markdown(&all, &concurrencies, &o))?;
    }
    let summary = json!({
        "requests_per_series": o.requests, "rounds": o.rounds, "concurrency": o.concurrency,
        "sentences_per_draft": SENTENCE_COUNT, "answer_chars": model_draft::answer().len(),
        "figures": summary_json(&all, &concurrencies),
    });
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = match parse_options() {
        Ok(o) => o,
        Err(e) => {
            log(e.to_string());
            return ExitCode::FAILURE;
        }
    };
    match run(options).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log(format!("failed: {e}"));
            ExitCode::FAILURE
        }
    }
}
