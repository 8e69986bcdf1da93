//! The language-model port: a chat model that drafts text for the
//! therapist (an OpenAI-compatible server, Azure OpenAI, a model run
//! in-process). Prompts and answers hold PHI: no adapter logs either or
//! puts either into an error; errors name what failed, never what was said.

use std::pin::Pin;
use std::time::Duration;

use async_trait::async_trait;
use futures_core::Stream;

/// Who says a message of the conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The instructions (the prompt file).
    System,
    /// The sources and the request.
    User,
    /// An earlier answer (shown again when asking for a corrected one).
    Assistant,
}

impl Role {
    /// The name the chat-completions wire format uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::System => "system",
            Self::User => "user",
            Self::Assistant => "assistant",
        }
    }
}

#[derive(Clone, PartialEq, Eq)]
pub struct ChatMessage {
    pub role: Role,
    /// May hold PHI: never logged (`Debug` shows only its length).
    pub content: String,
}

impl ChatMessage {
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Self { role, content: content.into() }
    }
}

impl std::fmt::Debug for ChatMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatMessage").field("role", &self.role).field("chars", &self.content.len()).finish()
    }
}

/// The shape an answer must have: a JSON schema, by name (structured
/// output). The schema holds no PHI.
#[derive(Clone, Debug, PartialEq)]
pub struct AnswerSchema {
    /// `[a-zA-Z0-9_-]`, as the wire format requires.
    pub name: String,
    pub schema: serde_json::Value,
}

/// One chat completion to run.
#[derive(Clone, Debug, PartialEq)]
pub struct ChatRequest {
    pub messages: Vec<ChatMessage>,
    /// When set, the model is asked for JSON of this shape; the caller
    /// still validates what comes back.
    pub schema: Option<AnswerSchema>,
    /// The most tokens the answer may take.
    pub max_tokens: u32,
    /// 0 for the most predictable answer.
    pub temperature: f32,
}

/// How many tokens a completion used, as the provider counted them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TokenUsage {
    pub prompt: u32,
    pub completion: u32,
}

impl TokenUsage {
    pub fn total(self) -> u32 {
        self.prompt.saturating_add(self.completion)
    }
}

/// Why the model stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FinishReason {
    /// The answer is complete.
    Stop,
    /// Cut at `max_tokens`: the answer is incomplete.
    Length,
    /// The provider's content filter stopped it.
    ContentFilter,
    /// Anything else the provider said.
    Other,
}

/// A piece of a streamed answer.
#[derive(Clone, PartialEq, Eq)]
pub enum ChatEvent {
    /// More text of the answer (PHI: never logged).
    Text(String),
    /// The last event: why it stopped and what it cost.
    Finished { reason: FinishReason, usage: TokenUsage },
}

impl std::fmt::Debug for ChatEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Text(text) => f.debug_struct("Text").field("chars", &text.len()).finish(),
            Self::Finished { reason, usage } => {
                f.debug_struct("Finished").field("reason", reason).field("usage", usage).finish()
            }
        }
    }
}

/// An answer as it arrives. Dropping it cancels the completion (the
/// connection to the provider is closed).
pub type ChatStream = Pin<Box<dyn Stream<Item = Result<ChatEvent, LlmError>> + Send>>;

/// Which kind of provider a model is reached through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProviderKind {
    OpenAi,
    AzureOpenAi,
    /// An OpenAI-compatible server the practice runs (vLLM, llama.cpp,
    /// Ollama).
    SelfHosted,
    /// A model run inside this process (`cbt-local-llm`; setting `local`).
    InProcess,
}

impl ProviderKind {
    /// The name audit events and settings use.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OpenAi => "openai",
            Self::AzureOpenAi => "azure-openai",
            Self::SelfHosted => "self-hosted",
            Self::InProcess => "local",
        }
    }
}

/// What a configured model is, for the audit log and the screen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelInfo {
    pub provider: ProviderKind,
    /// The model, or the Azure deployment, as configured.
    pub model: String,
    /// Whether the operator marked the provider as covered by a business
    /// associate agreement. Without it no PHI may be sent (checklist 36).
    pub baa: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LlmError {
    /// The provider could not be reached or failed (5xx), after retries.
    #[error("the language model is unavailable: {0}")]
    Unavailable(String),
    /// The provider kept answering 429, after retries; `retry_after` is
    /// how long it asked to wait, when it said.
    #[error("the language model is rate limited")]
    RateLimited { retry_after: Option<Duration> },
    /// No answer, or the answer stopped arriving, in time.
    #[error("the language model did not answer in time")]
    TimedOut,
    /// The provider refused the request (bad key, unknown model, a request
    /// it cannot take); not worth retrying.
    #[error("the language model refused the request (HTTP {status})")]
    Refused { status: u16 },
    /// What came back was not the wire format. The message says where,
    /// never what (it could hold PHI).
    #[error("the language model's answer was malformed: {0}")]
    Malformed(String),
}

#[async_trait]
pub trait Llm: Send + Sync + 'static {
    /// What this model is (provider, model, BAA).
    fn model(&self) -> &ModelInfo;

    /// Starts a completion. Errors before the first event (refusal, rate
    /// limit, outage) come from here; the stream carries the rest.
    async fn chat(&self, request: ChatRequest) -> Result<ChatStream, LlmError>;
}
