//! An in-process OpenAI-compatible server for tests and benchmarks: it
//! records every request and answers as the test tells it to. Cargo
//! feature `test-server`; never in production builds.
//!
//! It speaks the chat-completions wire format on both path shapes:
//! OpenAI's (`POST {base}/chat/completions`, `Authorization: Bearer`) and
//! Azure OpenAI's (`POST /openai/deployments/{deployment}/chat/completions
//! ?api-version=…`, `api-key` or `Authorization: Bearer`; a missing
//! `api-version` is refused as Azure refuses it). Answers stream as
//! server-sent events (`data: {chunk}` … `data: [DONE]`) with a last chunk
//! of token counts, or come whole when the request says `"stream": false`.
//!
//! ```no_run
//! # async fn example() {
//! use cbt_llm::test_server::{FakeLlm, Reply};
//!
//! let fake = FakeLlm::start().await;
//! fake.then(Reply::Status { status: 429, retry_after: Some("1".into()) });
//! fake.always(Reply::answer("{\"subjective\": \"…\"}"));
//! // Point an `OpenAiCompatible` at `fake.base_url()` + "/v1" ...
//! let seen = fake.requests();
//! # }
//! ```

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse as _, Response};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// How the server answers one request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// `text` streamed in `pieces` pieces, `pause` apart, then the finish
    /// reason, the token counts and `[DONE]`.
    Answer { text: String, pieces: usize, pause: Duration },
    /// An error status, with `Retry-After` when given.
    Status { status: u16, retry_after: Option<String> },
    /// A stream whose second event is not JSON.
    Malformed,
    /// The first piece of `text`, then nothing: the connection stays open.
    Stall(String),
    /// Nothing at all (not even the status line) for this long, then an
    /// ordinary answer.
    Silence(Duration),
}

impl Reply {
    /// `text` in four pieces, at once.
    pub fn answer(text: impl Into<String>) -> Self {
        Self::Answer { text: text.into(), pieces: 4, pause: Duration::ZERO }
    }
}

/// One request as the server received it.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    pub path: String,
    pub query: Option<String>,
    /// Names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body as sent.
    pub body: String,
}

impl RecordedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

#[derive(Default)]
struct Shared {
    key: Option<String>,
    script: Mutex<VecDeque<Reply>>,
    default: Mutex<Option<Reply>>,
    requests: Mutex<Vec<RecordedRequest>>,
    /// Streams the client stopped reading (dropped) before the end.
    cancelled: AtomicUsize,
    /// Streams sent to the end.
    completed: AtomicUsize,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The running server; stopped when dropped.
pub struct FakeLlm {
    base_url: String,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Drop for FakeLlm {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeLlm {
    /// A server that takes any key (or none), as a self-hosted one may.
    pub async fn start() -> Self {
        Self::serve(Shared::default()).await
    }

    /// A server that answers 401 unless the request carries `key` (as a
    /// bearer token or Azure's `api-key`).
    pub async fn start_with_key(key: &str) -> Self {
        Self::serve(Shared { key: Some(key.to_owned()), ..Shared::default() }).await
    }

    #[allow(clippy::panic, reason = "a test helper: failing to bind ends the test with a clear message")]
    async fn serve(shared: Shared) -> Self {
        let shared = Arc::new(shared);
        let bound = match TcpListener::bind("127.0.0.1:0").await {
            Ok(listener) => listener.local_addr().map(|addr| (listener, addr)),
            Err(e) => Err(e),
        };
        let (listener, addr) = match bound {
            Ok(bound) => bound,
            Err(e) => panic!("the fake language model could not listen on 127.0.0.1: {e}"),
        };
        let state = shared.clone();
        let app = axum::Router::new().fallback(move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let state = state.clone();
            async move { answer(&state, method, uri, headers, body).await }
        });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { base_url: format!("http://{addr}"), shared, task }
    }

    /// `http://127.0.0.1:{port}`, without a path.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Answers the next request so (replies queue in order).
    pub fn then(&self, reply: Reply) {
        lock(&self.shared.script).push_back(reply);
    }

    /// Answers every request without a queued reply so (by default: a
    /// short fixed answer).
    pub fn always(&self, reply: Reply) {
        *lock(&self.shared.default) = Some(reply);
    }

    /// Every request received, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).clone()
    }

    /// Everything every request carried (paths, headers and bodies), for
    /// checking that something never left the app.
    pub fn everything_received(&self) -> String {
        let mut all = String::new();
        for r in lock(&self.shared.requests).iter() {
            all.push_str(&r.path);
            all.push_str(r.query.as_deref().unwrap_or(""));
            for (name, value) in &r.headers {
                all.push_str(&format!("\n{name}: {value}"));
            }
            all.push('\n');
            all.push_str(&r.body);
            all.push('\n');
        }
        all
    }

    /// Streamed answers the client dropped before their end.
    pub fn cancelled(&self) -> usize {
        self.shared.cancelled.load(Ordering::SeqCst)
    }

    /// Streamed answers sent to their end.
    pub fn completed(&self) -> usize {
        self.shared.completed.load(Ordering::SeqCst)
    }
}

async fn answer(shared: &Arc<Shared>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let recorded = RecordedRequest {
        path: uri.path().to_owned(),
        query: uri.query().map(str::to_owned),
        headers: headers
            .iter()
            .map(|(n, v)| (n.as_str().to_ascii_lowercase(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect(),
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    lock(&shared.requests).push(recorded.clone());
    let azure = uri.path().starts_with("/openai/deployments/");
    if method != Method::POST || !uri.path().ends_with("/chat/completions") {
        return error(StatusCode::NOT_FOUND, "Resource not found", None);
    }
    if azure && !recorded.query.as_deref().unwrap_or("").split('&').any(|p| p.starts_with("api-version=")) {
        return error(StatusCode::NOT_FOUND, "Resource not found (no api-version)", None);
    }
    if let Some(key) = &shared.key {
        let bearer = recorded.header("authorization").and_then(|v| v.strip_prefix("Bearer "));
        let api_key = if azure { recorded.header("api-key") } else { None };
        if bearer != Some(key.as_str()) && api_key != Some(key.as_str()) {
            return error(StatusCode::UNAUTHORIZED, "Incorrect API key provided", None);
        }
    }
    let request = recorded.json();
    if request["messages"].as_array().is_none_or(Vec::is_empty) {
        return error(StatusCode::BAD_REQUEST, "'messages' is a required property", None);
    }
    let model = match uri.path().split('/').nth(3) {
        Some(deployment) if azure => deployment.to_owned(),
        _ => request["model"].as_str().unwrap_or("").to_owned(),
    };
    if model.is_empty() {
        return error(StatusCode::BAD_REQUEST, "you must provide a model parameter", None);
    }
    let reply = lock(&shared.script).pop_front().or_else(|| lock(&shared.default).clone());
    let reply = reply.unwrap_or_else(|| Reply::answer("A fixed answer from the fake language model."));
    let reply = match reply {
        Reply::Silence(wait) => {
            tokio::time::sleep(wait).await;
            Reply::answer("An answer after a silence.")
        }
        other => other,
    };
    let prompt_tokens = words(&request["messages"].to_string());
    if request["stream"] != json!(true) {
        return whole(reply, &model, prompt_tokens);
    }
    let (text, pieces, pause, ending) = match reply {
        Reply::Status { status, retry_after } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return error(status, "The fake provider was told to refuse this request", retry_after);
        }
        Reply::Answer { text, pieces, pause } => (text, pieces.max(1), pause, Ending::Done),
        Reply::Malformed => ("Half an answer".to_owned(), 1, Duration::ZERO, Ending::Malformed),
        Reply::Stall(text) => (text, 1, Duration::ZERO, Ending::Stall),
        Reply::Silence(_) => unreachable!("replaced above"),
    };
    let mut events = Vec::new();
    if azure {
        // Azure's first event: no choices, the prompt's filter results.
        events.push(json!({"id": "", "object": "", "created": 0, "model": "", "choices": [],
            "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {}}]}));
    }
    let chunk = |delta: Value, finish: Value| {
        json!({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0, "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    };
    events.push(chunk(json!({"role": "assistant", "content": ""}), Value::Null));
    let parts = split(&text, pieces);
    let completion_tokens = parts.len();
    for part in parts {
        events.push(chunk(json!({"content": part}), Value::Null));
    }
    let mut lines: Vec<(Duration, String)> = events.into_iter().map(|e| (pause, format!("data: {e}\n\n"))).collect();
    match ending {
        Ending::Done => {
            lines.push((pause, format!("data: {}\n\n", chunk(json!({}), json!("stop")))));
            let usage = json!({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0, "model": model,
                "choices": [], "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens}});
            lines.push((Duration::ZERO, format!("data: {usage}\n\n")));
            lines.push((Duration::ZERO, "data: [DONE]\n\n".to_owned()));
        }
        Ending::Malformed => lines.push((Duration::ZERO, "data: {\"choices\": [{\"delta\": \n\n".to_owned())),
        Ending::Stall => {}
    }
    let stream = SentStream { shared: shared.clone(), lines: lines.into(), ending, finished: false };
    let body = futures_util::stream::unfold(stream, |mut s| async move {
        let Some((wait, line)) = s.lines.pop_front() else {
            if s.ending == Ending::Stall {
                // Held open: the client's idle timeout is what ends it.
                std::future::pending::<()>().await;
            }
            s.finished = true;
            drop(s);
            return None;
        };
        tokio::time::sleep(wait).await;
        Some((Ok::<_, std::convert::Infallible>(Bytes::from(line)), s))
    });
    Response::builder()
        .header("content-type", "text/event-stream")
        .header("cache-control", "no-cache")
        .body(Body::from_stream(body))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ending {
    Done,
    Malformed,
    Stall,
}

/// A streamed answer being sent; counts itself as completed or cancelled
/// when it ends.
struct SentStream {
    shared: Arc<Shared>,
    lines: VecDeque<(Duration, String)>,
    ending: Ending,
    finished: bool,
}

impl Drop for SentStream {
    fn drop(&mut self) {
        let counter = if self.finished { &self.shared.completed } else { &self.shared.cancelled };
        counter.fetch_add(1, Ordering::SeqCst);
    }
}

/// A non-streamed answer (`"stream": false`).
fn whole(reply: Reply, model: &str, prompt_tokens: usize) -> Response {
    let text = match reply {
        Reply::Status { status, retry_after } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return error(status, "The fake provider was told to refuse this request", retry_after);
        }
        Reply::Malformed => {
            return Response::builder()
                .header("content-type", "application/json")
                .body(Body::from("{\"choices\": [{\"message\": "))
                .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response());
        }
        Reply::Answer { text, .. } | Reply::Stall(text) => text,
        Reply::Silence(_) => "An answer after a silence.".to_owned(),
    };
    let completion_tokens = words(&text);
    axum::Json(json!({"id": "chatcmpl-fake", "object": "chat.completion", "created": 0, "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens}}))
    .into_response()
}

/// An error in the OpenAI shape.
fn error(status: StatusCode, message: &str, retry_after: Option<String>) -> Response {
    let body = json!({"error": {"message": message, "type": "fake_error", "code": status.as_u16().to_string()}});
    let mut response = (status, axum::Json(body)).into_response();
    if let Some(value) = retry_after.and_then(|v| axum::http::HeaderValue::from_str(&v).ok()) {
        response.headers_mut().insert("retry-after", value);
    }
    response
}

/// A rough token count: words.
fn words(text: &str) -> usize {
    text.split_whitespace().count()
}

/// `text` cut into `pieces` parts of about equal length, on character
/// boundaries (a token may split a word, as real ones do).
fn split(text: &str, pieces: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let size = chars.len().div_ceil(pieces).max(1);
    chars.chunks(size).map(|c| c.iter().collect()).collect()
}
