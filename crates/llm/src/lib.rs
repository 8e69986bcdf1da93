//! Language-model adapters for the [`Llm`](cbt_ports::Llm) port.
//!
//! - [`OpenAiCompatible`] posts chat completions to OpenAI, Azure OpenAI
//!   (deployment path, `api-version`, `api-key` header or an Entra bearer
//!   token) or a self-hosted OpenAI-compatible server (vLLM, llama.cpp,
//!   Ollama), streaming the answer (server-sent events). Timeouts for the
//!   answer to begin, between pieces and overall; retries with backoff that
//!   honour `Retry-After`; dropping the answer closes the connection.
//! - `test_server` (cargo feature `test-server`, tests and benchmarks
//!   only): an in-process OpenAI-compatible server that records every
//!   request and answers as a test tells it to.
//!
//! Neither logs a prompt or an answer, or puts one into an error.

mod openai;
mod settings;
mod wire;

#[cfg(feature = "test-server")]
pub mod test_server;

pub use openai::OpenAiCompatible;
pub use settings::{AZURE_API_VERSION, Credential, LlmSettings, LlmSettingsError};
