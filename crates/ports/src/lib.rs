//! Ports: the traits `cbt-app` needs from the outside world.
//!
//! Adapters implement them (`cbt-store-sqlite`, `cbt-store-postgres`, ...);
//! the server picks one at start-up. Nothing here knows SQL, HTTP or a cloud.

mod blobs;
mod clock;
mod keys;
mod llm;
mod mail;
mod store;

pub use blobs::{BlobError, BlobName, BlobStore, ByteStream};
pub use clock::{Clock, ManualClock, SystemClock};
pub use keys::{KeyError, KeyOwner, KeyProvider, StoredDataKey, WrappedKey};
pub use llm::{
    AnswerSchema, ChatEvent, ChatMessage, ChatRequest, ChatStream, FinishReason, Llm, LlmError, ModelInfo,
    ProviderKind, Role, TokenUsage,
};
pub use mail::{MailError, Mailer, OutgoingMail};
pub use store::{
    AiUse, Backend, ClientPagePart, MigrationReport, Store, StoreError, StoreTx, StoredAddendum, StoredAiCall,
    StoredClient, StoredClientLink, StoredClientPage, StoredClientVersion, StoredConsent, StoredDocument,
    StoredInstrument, StoredNoteIndex, StoredRecord, StoredRecordVersion, StoredRiskFlags, StoredSchedule,
    StoredWorksheet,
};
