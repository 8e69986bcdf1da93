//! [`LocalModel`]: a GGUF llama-family chat model loaded into this process
//! and run on the CPU with candle, answering through the [`Llm`] port.
//!
//! One model, one generation at a time: the weights and their attention
//! cache sit behind a mutex. On a CPU one generation already keeps every
//! core busy (candle's matrix kernels run on all of them), so a second at
//! the same time would only halve the speed of both and double the cache's
//! memory; requests wait their turn instead.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use candle_core::quantized::tokenizer::TokenizerFromGguf as _;
use candle_core::quantized::{GgmlDType, QTensor, gguf_file};
use candle_core::{Device, Tensor};
use candle_transformers::generation::{LogitsProcessor, Sampling};
use candle_transformers::models::quantized_llama::{MAX_SEQ_LEN, ModelWeights};
use cbt_ports::{ChatEvent, ChatRequest, ChatStream, FinishReason, Llm, LlmError, ModelInfo, ProviderKind, TokenUsage};
use tokenizers::Tokenizer;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokio::sync::{mpsc, watch};

use crate::LocalModelError;
use crate::answer_shape::{AnswerShape, Written};
use crate::template::{CHATML_END, ChatTemplate};

/// Pieces of an answer generated ahead of the reader. Small: a reader that
/// has gone stops the generation within a few tokens.
const PIECES_IN_FLIGHT: usize = 8;

/// How many of the likeliest tokens a greedy shaped answer tries before it
/// sorts the whole vocabulary.
const LIKELIEST: usize = 64;

/// The sampler's seed when the temperature is above 0: the same request
/// gives the same answer on the same build.
const SEED: u64 = 299_792_458;

/// A chat model file loaded into memory. Cheap to share behind an `Arc`.
pub struct LocalModel {
    info: ModelInfo,
    shared: Arc<Shared>,
}

struct Shared {
    weights: Mutex<ModelWeights>,
    tokenizer: Tokenizer,
    template: ChatTemplate,
    /// The tokens that end an answer: the file's end-of-sequence token and
    /// the end of a ChatML turn.
    stop_tokens: Vec<u32>,
    /// The most tokens, prompt and answer together, the model can attend to.
    context: usize,
    /// Each token's text, by id, for holding an answer to its schema;
    /// `None` for control tokens and for pieces of a character split
    /// across tokens (never offered inside a shaped answer).
    token_texts: Vec<Option<Box<str>>>,
    /// How many generations are running (or waiting for the model).
    running: watch::Sender<usize>,
    last: Mutex<Option<Generation>>,
}

/// How the latest generation ended, for tests and diagnostics (never what
/// it said).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Generation {
    /// Tokens the model produced (a stop token included).
    pub tokens: u32,
    pub ended: GenerationEnd,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GenerationEnd {
    /// The model ended its answer.
    Stop,
    /// `max_tokens`, or the model's context, was reached.
    Length,
    /// The answer's stream was dropped: generation stopped early.
    Cancelled,
    /// candle or the tokenizer failed; the stream got an error.
    Failed,
}

impl std::fmt::Debug for LocalModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalModel").field("info", &self.info).field("context", &self.shared.context).finish()
    }
}

impl LocalModel {
    /// Reads a GGUF file: the weights, the tokenizer (from the file's
    /// `tokenizer.ggml.*` metadata) and the chat template. Takes about as
    /// long as reading the file; call it once at start-up.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, LocalModelError> {
        let path = path.as_ref();
        let shown = path.display().to_string();
        let mut file =
            std::fs::File::open(path).map_err(|source| LocalModelError::Open { path: shown.clone(), source })?;
        let content = gguf_file::Content::read(&mut file)
            .map_err(|e| LocalModelError::NotGguf { path: shown.clone(), reason: e.to_string() })?;
        let text = |key: &str| content.metadata.get(key).and_then(|v| v.to_string().ok()).cloned();

        // candle's quantized llama reads only `llama.*` settings.
        let architecture = text("general.architecture").unwrap_or_default();
        if architecture != "llama" {
            return Err(LocalModelError::Architecture(architecture));
        }
        let template =
            ChatTemplate::recognise(text("tokenizer.chat_template").as_deref()).ok_or(LocalModelError::ChatTemplate)?;
        // candle's rotary tables stop at MAX_SEQ_LEN positions, whatever
        // the file says.
        let context = content
            .metadata
            .get("llama.context_length")
            .and_then(|v| v.to_u32().ok())
            .map_or(MAX_SEQ_LEN, |n| n as usize)
            .min(MAX_SEQ_LEN);

        let mut tokenizer = Tokenizer::from_gguf(&content).map_err(|e| LocalModelError::Tokenizer(e.to_string()))?;
        if text("tokenizer.ggml.pre").as_deref() == Some("smollm") {
            // candle's generic GPT-2 splitting adds a space before every
            // piece; SmolLM's own tokenizer adds none and splits digits.
            tokenizer.with_pre_tokenizer(Some(Sequence::new(vec![
                Digits::new(true).into(),
                ByteLevel::new(false, true, true).into(),
            ])));
        }
        let mut stop_tokens: Vec<u32> = Vec::new();
        if let Some(eos) = content.metadata.get("tokenizer.ggml.eos_token_id").and_then(|v| v.to_u32().ok()) {
            stop_tokens.push(eos);
        }
        if let Some(end) = tokenizer.token_to_id(CHATML_END) {
            stop_tokens.push(end);
        }
        if stop_tokens.is_empty() {
            return Err(LocalModelError::Tokenizer("the file names no end-of-sequence token".into()));
        }

        let token_texts = token_texts(&tokenizer);
        let weights = read_weights(content, &mut file).map_err(|e| LocalModelError::Weights(e.to_string()))?;
        let model = path.file_name().map_or_else(|| shown.clone(), |name| name.to_string_lossy().into_owned());
        Ok(Self {
            // Nothing leaves this machine: there is no business associate
            // to cover (see docs/design/ai-drafts.md, "The local model").
            info: ModelInfo { provider: ProviderKind::InProcess, model, baa: true },
            shared: Arc::new(Shared {
                weights: Mutex::new(weights),
                tokenizer,
                template,
                stop_tokens,
                context,
                token_texts,
                running: watch::Sender::new(0),
                last: Mutex::new(None),
            }),
        })
    }

    /// The most tokens, prompt and answer together, this model takes.
    pub fn context_length(&self) -> usize {
        self.shared.context
    }

    /// How the latest finished generation ended.
    pub fn last_generation(&self) -> Option<Generation> {
        *self.shared.last.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Generations running or waiting for the model.
    pub fn generations_running(&self) -> usize {
        *self.shared.running.borrow()
    }

    /// Resolves once no generation is running: each has finished, or
    /// stopped because its reader went away.
    pub async fn until_idle(&self) {
        let mut running = self.shared.running.subscribe();
        // The sender lives in `self`, so the channel cannot close here.
        let _ = running.wait_for(|n| *n == 0).await;
    }
}

/// The text of every token of the vocabulary, as a shaped answer offers
/// them.
fn token_texts(tokenizer: &Tokenizer) -> Vec<Option<Box<str>>> {
    let control = tokenizer.get_added_tokens_decoder();
    (0..tokenizer.get_vocab_size(true))
        .map(|id| {
            let id = u32::try_from(id).ok()?;
            if control.contains_key(&id) {
                return None;
            }
            let text = tokenizer.decode(&[id], false).ok()?;
            (!text.is_empty() && !text.contains(char::REPLACEMENT_CHARACTER)).then(|| text.into_boxed_str())
        })
        .collect()
}

/// Block encodings candle multiplies with a plain loop on the CPU (no SIMD
/// kernel): about 5x slower than Q8_0, which it multiplies with AVX. Such
/// weights are re-encoded as Q8_0 at load. That loses nothing (8 bits a
/// weight for their 4 or 5) and costs about 1.7x their memory; the usual
/// encodings of larger models (Q4_K, Q5_K, Q6_K, Q8_0, Q4_0) are kept.
const SLOW_ENCODINGS: [GgmlDType; 3] = [GgmlDType::Q4_1, GgmlDType::Q5_0, GgmlDType::Q5_1];

fn read_weights(content: gguf_file::Content, file: &mut std::fs::File) -> candle_core::Result<ModelWeights> {
    if !content.tensor_infos.values().any(|info| SLOW_ENCODINGS.contains(&info.ggml_dtype)) {
        return ModelWeights::from_gguf(content, file, &Device::Cpu);
    }
    // candle's llama reads its weights from a GGUF stream: write the
    // re-encoded ones as one, in memory, and read that.
    let mut tensors = Vec::with_capacity(content.tensor_infos.len());
    for name in content.tensor_infos.keys() {
        let tensor = content.tensor(file, name, &Device::Cpu)?;
        let tensor = if SLOW_ENCODINGS.contains(&tensor.dtype()) {
            QTensor::quantize(&tensor.dequantize(&Device::Cpu)?, GgmlDType::Q8_0)?
        } else {
            tensor
        };
        tensors.push((name.as_str(), tensor));
    }
    let metadata: Vec<_> = content.metadata.iter().map(|(key, value)| (key.as_str(), value)).collect();
    let tensor_refs: Vec<_> = tensors.iter().map(|(name, tensor)| (*name, tensor)).collect();
    let mut stream = std::io::Cursor::new(Vec::new());
    gguf_file::write(&mut stream, &metadata, &tensor_refs)?;
    drop(tensor_refs);
    drop(tensors);
    stream.set_position(0);
    let content = gguf_file::Content::read(&mut stream)?;
    ModelWeights::from_gguf(content, &mut stream, &Device::Cpu)
}

/// Counts a generation as running from before its thread starts until the
/// thread ends, however it ends.
struct Running(Arc<Shared>);

impl Running {
    fn start(shared: &Arc<Shared>) -> Self {
        shared.running.send_modify(|n| *n += 1);
        Self(Arc::clone(shared))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.0.running.send_modify(|n| *n = n.saturating_sub(1));
    }
}

type Pieces = mpsc::Sender<Result<ChatEvent, LlmError>>;

#[async_trait]
impl Llm for LocalModel {
    fn model(&self) -> &ModelInfo {
        &self.info
    }

    async fn chat(&self, request: ChatRequest) -> Result<ChatStream, LlmError> {
        let prompt = self.shared.template.render(&request.messages, request.schema.as_ref());
        let shared = Arc::clone(&self.shared);
        // Tokenising a long prompt takes milliseconds: off the async threads.
        let prompt = tokio::task::spawn_blocking(move || shared.tokenizer.encode(prompt, false))
            .await
            .map_err(|_| LlmError::Unavailable("the local model's tokenizer stopped".into()))?
            .map_err(|_| LlmError::Unavailable("the local model's tokenizer could not read the prompt".into()))?
            .get_ids()
            .to_vec();
        if prompt.len() >= self.shared.context {
            // What an HTTP model server answers to a request too large for
            // it: refused, not worth retrying.
            return Err(LlmError::Refused { status: 413 });
        }
        let (pieces, answer) = mpsc::channel(PIECES_IN_FLIGHT);
        let running = Running::start(&self.shared);
        tokio::task::spawn_blocking(move || {
            let shared = Arc::clone(&running.0);
            shared.generate(&prompt, &request, &pieces);
            drop(running);
        });
        let stream = futures_util::stream::unfold(answer, |mut answer| async move {
            answer.recv().await.map(|event| (event, answer))
        });
        Ok(Box::pin(stream))
    }
}

impl Shared {
    /// Runs one generation to its end, sending each piece as it is decoded,
    /// then `Finished` (or an error).
    fn generate(&self, prompt: &[u32], request: &ChatRequest, pieces: &Pieces) {
        let mut weights = self.weights.lock().unwrap_or_else(PoisonError::into_inner);
        let mut produced = 0;
        let ended = self.run(&mut weights, prompt, request, pieces, &mut produced).unwrap_or(GenerationEnd::Failed);
        drop(weights);
        *self.last.lock().unwrap_or_else(PoisonError::into_inner) = Some(Generation { tokens: produced, ended });
        let usage = TokenUsage { prompt: u32::try_from(prompt.len()).unwrap_or(u32::MAX), completion: produced };
        let last = match ended {
            GenerationEnd::Stop => Ok(ChatEvent::Finished { reason: FinishReason::Stop, usage }),
            GenerationEnd::Length => Ok(ChatEvent::Finished { reason: FinishReason::Length, usage }),
            GenerationEnd::Failed => Err(LlmError::Unavailable("the local model failed while generating".into())),
            GenerationEnd::Cancelled => return,
        };
        // The reader may have gone meanwhile: nothing to tell then.
        let _ = pieces.blocking_send(last);
    }

    fn run(
        &self,
        weights: &mut ModelWeights,
        prompt: &[u32],
        request: &ChatRequest,
        pieces: &Pieces,
        produced: &mut u32,
    ) -> Result<GenerationEnd, candle_core::Error> {
        let sampling = if request.temperature > 0.0 {
            Sampling::All { temperature: f64::from(request.temperature) }
        } else {
            Sampling::ArgMax
        };
        let greedy = matches!(sampling, Sampling::ArgMax);
        let mut sampler = LogitsProcessor::from_sampling(SEED, sampling);
        // A schema this model can be held to is held to, token by token.
        let shape = request.schema.as_ref().and_then(|s| AnswerShape::of(&s.schema));
        let mut written = shape.as_ref().map(AnswerShape::start);
        // Decodes token by token, holding back a token that ends inside a
        // character until the rest of it arrives.
        let mut decoder = self.tokenizer.decode_stream(true);
        let mut input = prompt.to_vec();
        // Where `input` starts; position 0 also clears the attention cache
        // of the previous generation.
        let mut position = 0;
        loop {
            if *produced >= request.max_tokens || position + input.len() > self.context {
                return Ok(GenerationEnd::Length);
            }
            if pieces.is_closed() {
                return Ok(GenerationEnd::Cancelled);
            }
            let tokens = Tensor::new(input.as_slice(), &Device::Cpu)?.unsqueeze(0)?;
            let logits = weights.forward(&tokens, position)?.squeeze(0)?;
            position += input.len();
            let next = match &mut written {
                None => sampler.sample(&logits)?,
                Some(written) => {
                    let next = self.shaped_token(&logits, written, greedy, &mut sampler)?;
                    if let Some(text) = self.token_text(next) {
                        written.write(text);
                    }
                    next
                }
            };
            *produced += 1;
            if self.stop_tokens.contains(&next) {
                return Ok(GenerationEnd::Stop);
            }
            let piece = decoder.step(next).map_err(|_| candle_core::Error::Msg("decoding a token failed".into()))?;
            if let Some(piece) = piece
                && pieces.blocking_send(Ok(ChatEvent::Text(piece))).is_err()
            {
                return Ok(GenerationEnd::Cancelled);
            }
            if written.as_ref().is_some_and(Written::is_whole) {
                // The answer is one whole value of its shape: nothing may follow.
                return Ok(GenerationEnd::Stop);
            }
            input = vec![next];
        }
    }
}

impl Shared {
    fn token_text(&self, id: u32) -> Option<&str> {
        self.token_texts.get(usize::try_from(id).ok()?)?.as_deref()
    }

    /// The next token of a shaped answer: the model's choice among the
    /// tokens that keep the answer the start of its shape. Greedy: the
    /// likeliest of those, tried in order of likelihood (the first few
    /// usually do); sampled: the others are masked out first.
    fn shaped_token(
        &self,
        logits: &Tensor,
        written: &Written<'_>,
        greedy: bool,
        sampler: &mut LogitsProcessor,
    ) -> Result<u32, candle_core::Error> {
        let mut scores = logits.to_dtype(candle_core::DType::F32)?.to_vec1::<f32>()?;
        let allowed =
            |id: usize| self.token_texts.get(id).and_then(Option::as_deref).is_some_and(|t| written.allows(t));
        let no_token = || candle_core::Error::Msg("no token continues the answer's shape".into());
        if greedy {
            // The likeliest few first, in order (one usually fits): only
            // when none does is the rest of the vocabulary sorted.
            let mut order: Vec<usize> = (0..scores.len()).collect();
            let likelier = |a: &usize, b: &usize| scores[*b].total_cmp(&scores[*a]);
            let few = LIKELIEST.min(order.len());
            if few < order.len() {
                order.select_nth_unstable_by(few, likelier);
            }
            let (first, rest) = order.split_at_mut(few);
            first.sort_unstable_by(likelier);
            let mut id = first.iter().copied().find(|id| allowed(*id));
            if id.is_none() {
                rest.sort_unstable_by(likelier);
                id = rest.iter().copied().find(|id| allowed(*id));
            }
            return u32::try_from(id.ok_or_else(no_token)?).map_err(|_| no_token());
        }
        let mut any = false;
        for (id, score) in scores.iter_mut().enumerate() {
            if allowed(id) {
                any = true;
            } else {
                *score = f32::NEG_INFINITY;
            }
        }
        if !any {
            return Err(no_token());
        }
        sampler.sample(&Tensor::new(scores.as_slice(), &Device::Cpu)?)
    }
}
