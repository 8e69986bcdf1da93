//! The part of the chat-completions wire format this client speaks
//! (OpenAI's, which Azure OpenAI, vLLM, llama.cpp and Ollama share).
//! Unknown fields are ignored: providers add their own (Azure's content
//! filter results, for one).

use cbt_ports::{ChatRequest, FinishReason, TokenUsage};
use serde::{Deserialize, Serialize};

#[derive(Serialize)]
pub(crate) struct WireRequest<'a> {
    /// Left out for Azure, where the deployment in the path is the model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<&'a str>,
    pub messages: Vec<WireMessage<'a>>,
    pub stream: bool,
    pub stream_options: StreamOptions,
    pub max_tokens: u32,
    pub temperature: f32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_format: Option<ResponseFormat<'a>>,
}

#[derive(Serialize)]
pub(crate) struct WireMessage<'a> {
    pub role: &'static str,
    pub content: &'a str,
}

#[derive(Serialize)]
pub(crate) struct StreamOptions {
    /// Asks for a last chunk with the token counts.
    pub include_usage: bool,
}

#[derive(Serialize)]
pub(crate) struct ResponseFormat<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub json_schema: JsonSchema<'a>,
}

#[derive(Serialize)]
pub(crate) struct JsonSchema<'a> {
    pub name: &'a str,
    pub schema: &'a serde_json::Value,
    pub strict: bool,
}

impl<'a> WireRequest<'a> {
    pub(crate) fn new(model: Option<&'a str>, request: &'a ChatRequest) -> Self {
        Self {
            model,
            messages: request
                .messages
                .iter()
                .map(|m| WireMessage { role: m.role.as_str(), content: &m.content })
                .collect(),
            stream: true,
            stream_options: StreamOptions { include_usage: true },
            max_tokens: request.max_tokens,
            temperature: request.temperature,
            response_format: request.schema.as_ref().map(|s| ResponseFormat {
                kind: "json_schema",
                json_schema: JsonSchema { name: &s.name, schema: &s.schema, strict: true },
            }),
        }
    }
}

/// One `data:` event of a streamed answer.
#[derive(Deserialize)]
pub(crate) struct WireChunk {
    #[serde(default)]
    pub choices: Vec<WireChoice>,
    #[serde(default)]
    pub usage: Option<WireUsage>,
}

#[derive(Deserialize)]
pub(crate) struct WireChoice {
    #[serde(default)]
    pub delta: WireDelta,
    #[serde(default)]
    pub finish_reason: Option<String>,
}

#[derive(Default, Deserialize)]
pub(crate) struct WireDelta {
    #[serde(default)]
    pub content: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct WireUsage {
    #[serde(default)]
    pub prompt_tokens: u32,
    #[serde(default)]
    pub completion_tokens: u32,
}

impl From<WireUsage> for TokenUsage {
    fn from(u: WireUsage) -> Self {
        Self { prompt: u.prompt_tokens, completion: u.completion_tokens }
    }
}

pub(crate) fn finish_reason(reason: &str) -> FinishReason {
    match reason {
        "stop" => FinishReason::Stop,
        "length" => FinishReason::Length,
        "content_filter" => FinishReason::ContentFilter,
        _ => FinishReason::Other,
    }
}
