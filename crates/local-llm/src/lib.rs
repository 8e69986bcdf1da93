//! A chat model run inside this process, for practices that want drafts
//! from a model with nothing sent off the machine (the server's cargo
//! feature `local-llm`, setting `CBT_LLM_PROVIDER=local`).
//!
//! - [`LocalModel`] loads a GGUF file of a llama-family chat model (its
//!   weights, its tokenizer from the file's metadata, its chat template) and
//!   generates with candle on the CPU, streaming each piece of the answer
//!   as it is decoded. Only the ChatML chat format is written (no Jinja
//!   engine); a file with another template is refused at load.
//! - A JSON schema in a request is given to the model as an instruction
//!   and, when it is of the part of JSON Schema the drafts use, held to
//!   while sampling (`answer_shape`): each token is taken only if the
//!   answer stays the start of JSON of that shape. The caller still
//!   validates the answer as it does for every provider.
//!
//! The tests use SmolLM2-135M-Instruct (Apache-2.0, 98 MB): its answers
//! only exercise the pipeline, they are not clinically useful. Any larger
//! llama-family GGUF model with a ChatML template loads the same way.
//!
//! Neither a prompt nor an answer is ever logged or put into an error.

mod answer_shape;
mod model;
mod template;

pub use model::{Generation, GenerationEnd, LocalModel};

/// Why a model file cannot be used. Names the file and what is wrong with
/// it; a model file holds no PHI.
#[derive(Debug, thiserror::Error)]
pub enum LocalModelError {
    #[error("cannot open the model file {path}: {source}")]
    Open { path: String, source: std::io::Error },
    #[error("{path} is not a GGUF model file ({reason})")]
    NotGguf { path: String, reason: String },
    #[error(
        "the model's architecture is `{0}`; only the `llama` architecture (SmolLM2, Llama and their fine-tunes) can be run"
    )]
    Architecture(String),
    #[error("the model's chat template is not ChatML (`<|im_start|>`…`<|im_end|>`), the only one supported")]
    ChatTemplate,
    #[error("cannot build the model's tokenizer from the file: {0}")]
    Tokenizer(String),
    #[error("cannot load the model's weights: {0}")]
    Weights(String),
}
