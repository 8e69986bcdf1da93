//! [`OpenAiCompatible`]: the chat-completions client for OpenAI, Azure
//! OpenAI and OpenAI-compatible servers a practice runs itself.
//!
//! Written on reqwest and `eventsource-stream` rather than a client crate:
//! the wire subset a draft needs is small, and what it must never do (log
//! or return a prompt or an answer, wait without limit for a provider that
//! asks it to) is easier to hold to in code of our own. (async-openai
//! 0.43, for one, logs a whole response body at error level when it cannot
//! parse it: for us that is PHI in the log.)

use std::time::Duration;

use async_trait::async_trait;
use cbt_ports::{ChatEvent, ChatRequest, ChatStream, FinishReason, Llm, LlmError, ModelInfo, ProviderKind, TokenUsage};
use eventsource_stream::Eventsource as _;
use futures_util::StreamExt as _;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderValue};
use tokio::time::Instant;

use crate::settings::{Credential, LlmSettings, LlmSettingsError, check};
use crate::wire::{WireChunk, WireRequest, finish_reason};

/// The first wait between attempts when the provider names none; it
/// doubles each time, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(8);

pub struct OpenAiCompatible {
    settings: LlmSettings,
    info: ModelInfo,
    url: reqwest::Url,
    headers: HeaderMap,
    http: reqwest::Client,
}

impl std::fmt::Debug for OpenAiCompatible {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiCompatible").field("settings", &self.settings).finish_non_exhaustive()
    }
}

impl OpenAiCompatible {
    pub fn new(settings: LlmSettings) -> Result<Self, LlmSettingsError> {
        check(&settings)?;
        let url = completions_url(&settings);
        let mut headers = HeaderMap::new();
        let secret = |value: &str| {
            let mut value = HeaderValue::from_str(value).map_err(|_| LlmSettingsError::NoCredential("this key"))?;
            value.set_sensitive(true);
            Ok::<_, LlmSettingsError>(value)
        };
        match &settings.credential {
            Credential::None => {}
            Credential::Bearer(token) => {
                headers.insert(reqwest::header::AUTHORIZATION, secret(&format!("Bearer {token}"))?);
            }
            Credential::AzureApiKey(key) => {
                headers.insert("api-key", secret(key)?);
            }
        }
        let http = reqwest::Client::builder()
            .connect_timeout(settings.answer_timeout)
            // Never follow a redirect: it would carry the prompt elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|_| LlmSettingsError::NotHttp("(no HTTP client)"))?;
        let info = ModelInfo { provider: settings.provider, model: settings.model.clone(), baa: settings.baa };
        Ok(Self { settings, info, url, headers, http })
    }

    /// Sends the request until it is answered, retrying what is worth
    /// retrying (429, 408, 5xx, a refused connection) with the wait the
    /// provider asks for (`Retry-After`, `retry-after-ms`) or a doubling
    /// backoff with jitter.
    async fn send(&self, body: &[u8], deadline: Instant) -> Result<reqwest::Response, LlmError> {
        let mut attempt = 0;
        loop {
            let sent = self
                .http
                .post(self.url.clone())
                .headers(self.headers.clone())
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header(reqwest::header::ACCEPT, "text/event-stream")
                .body(body.to_vec())
                .send();
            let limit = self.settings.answer_timeout.min(deadline.saturating_duration_since(Instant::now()));
            let (error, asked) = match tokio::time::timeout(limit, sent).await {
                Err(_) => return Err(LlmError::TimedOut),
                Ok(Err(e)) if e.is_connect() => (LlmError::Unavailable("cannot connect to the provider".into()), None),
                Ok(Err(e)) if e.is_timeout() => return Err(LlmError::TimedOut),
                Ok(Err(_)) => return Err(LlmError::Unavailable("the request to the provider failed".into())),
                Ok(Ok(response)) => {
                    let status = response.status();
                    if status.is_success() {
                        return Ok(response);
                    }
                    let asked = retry_after(response.headers());
                    match status {
                        StatusCode::TOO_MANY_REQUESTS => (LlmError::RateLimited { retry_after: asked }, asked),
                        StatusCode::REQUEST_TIMEOUT => (LlmError::TimedOut, asked),
                        s if s.is_server_error() => {
                            (LlmError::Unavailable(format!("the provider answered HTTP {}", s.as_u16())), asked)
                        }
                        s => return Err(LlmError::Refused { status: s.as_u16() }),
                    }
                }
            };
            let wait = asked.unwrap_or_else(|| backoff(attempt));
            // Checked before adding: a provider may ask for any wait at all.
            if attempt >= self.settings.max_retries || wait > self.settings.max_retry_wait {
                return Err(error);
            }
            if Instant::now().checked_add(wait).is_none_or(|then| then >= deadline) {
                return Err(error);
            }
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }
}

#[async_trait]
impl Llm for OpenAiCompatible {
    fn model(&self) -> &ModelInfo {
        &self.info
    }

    async fn chat(&self, request: ChatRequest) -> Result<ChatStream, LlmError> {
        let deadline = Instant::now() + self.settings.total_timeout;
        let model = (self.settings.provider != ProviderKind::AzureOpenAi).then_some(self.settings.model.as_str());
        let body = serde_json::to_vec(&WireRequest::new(model, &request))
            .map_err(|_| LlmError::Malformed("the request could not be written".into()))?;
        let response = self.send(&body, deadline).await?;
        Ok(answer(response, self.settings.idle_timeout, deadline))
    }
}

/// Where completions are posted: `{base}/chat/completions`, or for Azure
/// `{resource}/openai/deployments/{deployment}/chat/completions?api-version=`.
fn completions_url(settings: &LlmSettings) -> reqwest::Url {
    let mut url = settings.endpoint.clone();
    let base = url.path().trim_end_matches('/').to_owned();
    let path = match settings.provider {
        ProviderKind::AzureOpenAi => format!("{base}/openai/deployments/{}/chat/completions", settings.model.trim()),
        _ => format!("{base}/chat/completions"),
    };
    url.set_path(&path);
    if settings.provider == ProviderKind::AzureOpenAi {
        url.query_pairs_mut().append_pair("api-version", settings.api_version.trim());
    }
    url
}

/// The wait a provider asks for: `retry-after-ms` (OpenAI, Azure), else
/// `Retry-After` in seconds or as an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    if let Some(wait) = text("retry-after-ms")
        .and_then(|v| v.parse::<f64>().ok())
        .and_then(|ms| Duration::try_from_secs_f64(ms / 1000.0).ok())
    {
        return Some(wait);
    }
    let value = text("retry-after")?;
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(std::time::SystemTime::now()).unwrap_or(Duration::ZERO))
}

/// The doubling wait after `attempt` failures, with "full jitter" (a
/// random part of it) so that many clients do not retry in step.
fn backoff(attempt: u32) -> Duration {
    let ceiling = FIRST_BACKOFF.saturating_mul(1 << attempt.min(5)).min(MAX_BACKOFF);
    let half = ceiling / 2;
    half + half.mul_f64(fastrand::f64())
}

/// A streamed answer read event by event: each piece of text as it
/// comes, then `Finished` with the reason and the token counts. A pause
/// longer than `idle` or the deadline passing ends it with `TimedOut`.
fn answer(response: reqwest::Response, idle: Duration, deadline: Instant) -> ChatStream {
    struct Reading<S> {
        events: S,
        usage: TokenUsage,
        reason: Option<FinishReason>,
        done: bool,
    }
    let events = response.bytes_stream().eventsource();
    let start = Reading { events, usage: TokenUsage::default(), reason: None, done: false };
    Box::pin(futures_util::stream::unfold(start, move |mut r| async move {
        if r.done {
            return None;
        }
        loop {
            let limit = idle.min(deadline.saturating_duration_since(Instant::now()));
            let next = match tokio::time::timeout(limit, r.events.next()).await {
                Ok(next) => next,
                Err(_) => {
                    r.done = true;
                    return Some((Err(LlmError::TimedOut), r));
                }
            };
            let event = match next {
                Some(Ok(event)) => event,
                Some(Err(_)) => {
                    r.done = true;
                    return Some((Err(LlmError::Unavailable("the answer's connection failed".into())), r));
                }
                // Some servers close without `[DONE]` after the last chunk.
                None => {
                    r.done = true;
                    let finished = match r.reason {
                        Some(reason) => Ok(ChatEvent::Finished { reason, usage: r.usage }),
                        None => Err(LlmError::Malformed("the answer ended before it was finished".into())),
                    };
                    return Some((finished, r));
                }
            };
            if event.data.trim() == "[DONE]" {
                r.done = true;
                let reason = r.reason.unwrap_or(FinishReason::Other);
                return Some((Ok(ChatEvent::Finished { reason, usage: r.usage }), r));
            }
            // The parser's own message can quote the text: never passed on.
            let Ok(chunk) = serde_json::from_str::<WireChunk>(&event.data) else {
                r.done = true;
                return Some((Err(LlmError::Malformed("a piece of the answer was not a completion chunk".into())), r));
            };
            if let Some(usage) = chunk.usage {
                r.usage = usage.into();
            }
            let Some(choice) = chunk.choices.into_iter().next() else { continue };
            if let Some(reason) = choice.finish_reason {
                r.reason = Some(finish_reason(&reason));
            }
            match choice.delta.content {
                Some(text) if !text.is_empty() => return Some((Ok(ChatEvent::Text(text)), r)),
                _ => continue,
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use url::Url;

    fn settings(provider: ProviderKind, endpoint: &str) -> LlmSettings {
        LlmSettings::new(provider, Url::parse(endpoint).unwrap(), "notes-gpt", Credential::AzureApiKey("k".into()))
    }

    #[test]
    fn each_provider_posts_to_its_own_path() {
        let openai = completions_url(&settings(ProviderKind::OpenAi, "https://api.openai.com/v1/"));
        assert_eq!(openai.as_str(), "https://api.openai.com/v1/chat/completions");
        let azure = completions_url(&settings(ProviderKind::AzureOpenAi, "https://contoso.openai.azure.com"));
        assert_eq!(
            azure.as_str(),
            "https://contoso.openai.azure.com/openai/deployments/notes-gpt/chat/completions?api-version=2024-10-21"
        );
        let local = completions_url(&settings(ProviderKind::SelfHosted, "http://127.0.0.1:11434/v1"));
        assert_eq!(local.as_str(), "http://127.0.0.1:11434/v1/chat/completions");
    }

    #[test]
    fn the_wait_a_provider_asks_for_is_read_in_each_form() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert("retry-after-ms", HeaderValue::from_static("1500"));
        assert_eq!(retry_after(&h), Some(Duration::from_millis(1500)), "the finer one wins");
        let mut h = HeaderMap::new();
        let later = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(120));
        h.insert("retry-after", HeaderValue::from_str(&later).unwrap());
        let wait = retry_after(&h).unwrap();
        assert!(wait > Duration::from_secs(100) && wait <= Duration::from_secs(120), "{wait:?}");
        h.insert("retry-after", HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
        h.insert("retry-after-ms", HeaderValue::from_static("-5"));
        assert_eq!(retry_after(&h), None);
        // Absurd waits are read without a panic (and then refused as too long).
        h.insert("retry-after-ms", HeaderValue::from_static("1e30"));
        assert_eq!(retry_after(&h), None);
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("18446744073709551615"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(u64::MAX)));
    }

    #[test]
    fn backoff_doubles_up_to_a_ceiling_with_jitter() {
        for attempt in 0..10 {
            let ceiling = FIRST_BACKOFF.saturating_mul(1 << attempt.min(5)).min(MAX_BACKOFF);
            let wait = backoff(attempt);
            assert!(wait >= ceiling / 2 && wait <= ceiling, "{attempt}: {wait:?}");
        }
        assert!(backoff(20) <= MAX_BACKOFF);
    }
}
