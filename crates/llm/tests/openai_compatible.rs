//! `OpenAiCompatible` against the in-process fake provider: real HTTP and
//! server-sent events on loopback, both path shapes, and each way a
//! provider fails.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use cbt_llm::test_server::{FakeLlm, Reply};
use cbt_llm::{Credential, LlmSettings, OpenAiCompatible};
use cbt_ports::{
    AnswerSchema, ChatEvent, ChatMessage, ChatRequest, FinishReason, Llm, LlmError, ProviderKind, Role, TokenUsage,
};
use futures_util::StreamExt as _;
use serde_json::json;
use url::Url;

const KEY: &str = "sk-test-key";
const CANARY: &str = "Canary-Delphine-Okafor";

fn openai(fake: &FakeLlm) -> LlmSettings {
    let endpoint = Url::parse(&format!("{}/v1", fake.base_url())).unwrap();
    let mut s = LlmSettings::new(ProviderKind::OpenAi, endpoint, "gpt-4o-mini", Credential::Bearer(KEY.into()));
    s.answer_timeout = Duration::from_secs(5);
    s.idle_timeout = Duration::from_secs(5);
    s.max_retry_wait = Duration::from_secs(2);
    s
}

fn client(settings: LlmSettings) -> OpenAiCompatible {
    OpenAiCompatible::new(settings).unwrap()
}

fn request() -> ChatRequest {
    ChatRequest {
        messages: vec![
            ChatMessage::new(Role::System, "Write only what the sources support."),
            ChatMessage::new(Role::User, format!("Shorthand: {CANARY} reports low mood.")),
        ],
        schema: None,
        max_tokens: 200,
        temperature: 0.0,
    }
}

/// The whole answer: its text and how it finished, or the first error.
async fn read_all(
    llm: &OpenAiCompatible,
    request: ChatRequest,
) -> Result<(String, FinishReason, TokenUsage), LlmError> {
    let mut stream = llm.chat(request).await?;
    let mut text = String::new();
    while let Some(event) = stream.next().await {
        match event? {
            ChatEvent::Text(piece) => text.push_str(&piece),
            ChatEvent::Finished { reason, usage } => return Ok((text, reason, usage)),
        }
    }
    panic!("the stream ended without Finished")
}

#[tokio::test]
async fn an_answer_streams_in_pieces_and_ends_with_the_token_counts() {
    let fake = FakeLlm::start_with_key(KEY).await;
    fake.then(Reply::Answer { text: "Subjective: low mood.".into(), pieces: 5, pause: Duration::ZERO });
    let llm = client(openai(&fake));
    let mut stream = llm.chat(request()).await.unwrap();
    let mut pieces = Vec::new();
    let mut finished = None;
    while let Some(event) = stream.next().await {
        match event.unwrap() {
            ChatEvent::Text(piece) => pieces.push(piece),
            ChatEvent::Finished { reason, usage } => finished = Some((reason, usage)),
        }
    }
    assert_eq!(pieces.len(), 5, "{pieces:?}");
    assert_eq!(pieces.concat(), "Subjective: low mood.");
    let (reason, usage) = finished.expect("a Finished event");
    assert_eq!(reason, FinishReason::Stop);
    assert_eq!(usage.completion, 5);
    assert!(usage.prompt > 0);

    let sent = fake.requests();
    assert_eq!(sent.len(), 1);
    let r = &sent[0];
    assert_eq!(r.path, "/v1/chat/completions");
    assert_eq!(r.header("authorization"), Some("Bearer sk-test-key"));
    let body = r.json();
    assert_eq!(body["model"], "gpt-4o-mini");
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"]["include_usage"], true);
    assert_eq!(body["messages"][0]["role"], "system");
    assert_eq!(body["messages"][1]["role"], "user");
    assert!(body.get("response_format").is_none(), "no schema asked for");
}

#[tokio::test]
async fn a_schema_is_asked_for_as_strict_json_schema() {
    let fake = FakeLlm::start().await;
    let llm = client(openai(&fake));
    let schema = json!({"type": "object", "properties": {"plan": {"type": "string"}}, "required": ["plan"],
        "additionalProperties": false});
    let mut req = request();
    req.schema = Some(AnswerSchema { name: "soap_note".into(), schema: schema.clone() });
    read_all(&llm, req).await.unwrap();
    let body = fake.requests()[0].json();
    assert_eq!(body["response_format"]["type"], "json_schema");
    assert_eq!(body["response_format"]["json_schema"]["name"], "soap_note");
    assert_eq!(body["response_format"]["json_schema"]["strict"], true);
    assert_eq!(body["response_format"]["json_schema"]["schema"], schema);
}

#[tokio::test]
async fn azure_openai_uses_the_deployment_path_the_api_version_and_the_api_key_header() {
    let fake = FakeLlm::start_with_key(KEY).await;
    fake.then(Reply::answer("Assessment: mood improving."));
    let endpoint = Url::parse(fake.base_url()).unwrap();
    let settings =
        LlmSettings::new(ProviderKind::AzureOpenAi, endpoint, "notes-gpt4o", Credential::AzureApiKey(KEY.into()));
    let llm = client(LlmSettings { answer_timeout: Duration::from_secs(5), ..settings.clone() });
    // Azure's first event has no choices (the prompt's filter results).
    let (text, reason, _) = read_all(&llm, request()).await.unwrap();
    assert_eq!((text.as_str(), reason), ("Assessment: mood improving.", FinishReason::Stop));
    let r = &fake.requests()[0];
    assert_eq!(r.path, "/openai/deployments/notes-gpt4o/chat/completions");
    assert_eq!(r.query.as_deref(), Some("api-version=2024-10-21"));
    assert_eq!(r.header("api-key"), Some(KEY));
    assert_eq!(r.header("authorization"), None);
    assert!(r.json().get("model").is_none(), "the deployment is the model");

    // A Microsoft Entra token goes as a bearer token instead.
    let entra = client(LlmSettings { credential: Credential::Bearer(KEY.into()), ..settings.clone() });
    read_all(&entra, request()).await.unwrap();
    let r = &fake.requests()[1];
    assert_eq!((r.header("authorization"), r.header("api-key")), (Some("Bearer sk-test-key"), None));

    // A wrong key is refused at once, not retried.
    let wrong = client(LlmSettings { credential: Credential::AzureApiKey("other".into()), ..settings });
    assert_eq!(read_all(&wrong, request()).await.unwrap_err(), LlmError::Refused { status: 401 });
    assert_eq!(fake.requests().len(), 3);
}

#[tokio::test]
async fn a_429_is_retried_after_the_wait_the_provider_asks_for() {
    let fake = FakeLlm::start().await;
    fake.then(Reply::Status { status: 429, retry_after: Some("1".into()) });
    fake.then(Reply::answer("Plan: continue thought records."));
    let llm = client(openai(&fake));
    let began = Instant::now();
    let (text, _, _) = read_all(&llm, request()).await.unwrap();
    assert_eq!(text, "Plan: continue thought records.");
    assert!(began.elapsed() >= Duration::from_millis(950), "waited {:?}, asked for 1 s", began.elapsed());
    assert_eq!(fake.requests().len(), 2);
}

#[tokio::test]
async fn a_wait_longer_than_allowed_is_an_error_at_once() {
    let fake = FakeLlm::start().await;
    fake.always(Reply::Status { status: 429, retry_after: Some("60".into()) });
    let llm = client(openai(&fake));
    let err = read_all(&llm, request()).await.unwrap_err();
    assert_eq!(err, LlmError::RateLimited { retry_after: Some(Duration::from_secs(60)) });
    assert_eq!(fake.requests().len(), 1, "not retried");
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff_then_reported() {
    let fake = FakeLlm::start().await;
    fake.always(Reply::Status { status: 503, retry_after: None });
    let llm = client(LlmSettings { max_retries: 2, ..openai(&fake) });
    let err = read_all(&llm, request()).await.unwrap_err();
    assert!(matches!(err, LlmError::Unavailable(ref m) if m.contains("503")), "{err:?}");
    assert_eq!(fake.requests().len(), 3, "the first attempt and two retries");

    // One outage then an answer: the caller sees only the answer.
    fake.always(Reply::answer("Fine."));
    fake.then(Reply::Status { status: 502, retry_after: None });
    assert_eq!(read_all(&llm, request()).await.unwrap().0, "Fine.");
}

#[tokio::test]
async fn a_provider_that_cannot_be_reached_is_unavailable() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let endpoint = Url::parse(&format!("http://127.0.0.1:{port}/v1")).unwrap();
    let mut s = LlmSettings::new(ProviderKind::SelfHosted, endpoint, "llama3.1:8b", Credential::None);
    s.max_retries = 1;
    let err = read_all(&client(s), request()).await.unwrap_err();
    assert!(matches!(err, LlmError::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn a_malformed_piece_is_an_error_that_does_not_quote_the_answer() {
    let fake = FakeLlm::start().await;
    fake.then(Reply::Malformed);
    let llm = client(openai(&fake));
    let mut stream = llm.chat(request()).await.unwrap();
    assert_eq!(stream.next().await.unwrap().unwrap(), ChatEvent::Text("Half an answer".into()));
    let err = stream.next().await.unwrap().unwrap_err();
    assert!(matches!(err, LlmError::Malformed(_)), "{err:?}");
    assert!(!err.to_string().contains("delta") && !err.to_string().contains("Half"), "{err}");
    assert!(stream.next().await.is_none(), "nothing after the error");
}

#[tokio::test]
async fn a_stream_that_stalls_times_out() {
    let fake = FakeLlm::start().await;
    fake.then(Reply::Stall("The first words".into()));
    let llm = client(LlmSettings { idle_timeout: Duration::from_millis(300), ..openai(&fake) });
    let mut stream = llm.chat(request()).await.unwrap();
    assert_eq!(stream.next().await.unwrap().unwrap(), ChatEvent::Text("The first words".into()));
    assert_eq!(stream.next().await.unwrap().unwrap_err(), LlmError::TimedOut);
}

#[tokio::test]
async fn a_provider_that_does_not_answer_times_out() {
    let fake = FakeLlm::start().await;
    fake.then(Reply::Silence(Duration::from_secs(10)));
    let llm = client(LlmSettings { answer_timeout: Duration::from_millis(300), ..openai(&fake) });
    let began = Instant::now();
    assert_eq!(read_all(&llm, request()).await.unwrap_err(), LlmError::TimedOut);
    assert!(began.elapsed() < Duration::from_secs(5), "did not wait for the silence to end");
}

#[tokio::test]
async fn the_whole_completion_has_a_deadline() {
    let fake = FakeLlm::start().await;
    fake.then(Reply::Answer { text: "a slow but steady answer".into(), pieces: 20, pause: Duration::from_millis(100) });
    let llm = client(LlmSettings { total_timeout: Duration::from_millis(600), ..openai(&fake) });
    assert_eq!(read_all(&llm, request()).await.unwrap_err(), LlmError::TimedOut);
}

#[tokio::test]
async fn dropping_the_answer_cancels_it_at_the_provider() {
    let fake = FakeLlm::start().await;
    fake.then(Reply::Answer { text: "x".repeat(50), pieces: 50, pause: Duration::from_millis(50) });
    let llm = client(openai(&fake));
    let mut stream = llm.chat(request()).await.unwrap();
    assert!(matches!(stream.next().await, Some(Ok(ChatEvent::Text(_)))));
    drop(stream);
    let began = Instant::now();
    while fake.cancelled() == 0 {
        assert!(began.elapsed() < Duration::from_secs(5), "the provider kept sending");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!((fake.cancelled(), fake.completed()), (1, 0));
}

#[tokio::test]
async fn errors_and_debug_output_never_hold_the_prompt_or_the_key() {
    let fake = FakeLlm::start().await;
    fake.then(Reply::Status { status: 400, retry_after: None });
    let llm = client(openai(&fake));
    let err = read_all(&llm, request()).await.unwrap_err();
    assert_eq!(err, LlmError::Refused { status: 400 });
    for text in [err.to_string(), format!("{err:?}"), format!("{llm:?}"), format!("{:?}", request())] {
        assert!(!text.contains(CANARY) && !text.contains(KEY), "{text}");
    }
    assert!(fake.everything_received().contains(CANARY), "the prompt did reach the provider");
}
