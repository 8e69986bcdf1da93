//! Pure types and rules of CBT Assistant Pro.
//!
//! Nothing here performs I/O: no database, no network, no clock reads. Types
//! that hold a rule (an id, an audit event, a piece of PHI) are constructed
//! through it, so holding one means the rule was applied.

pub mod access_token;
pub mod account;
pub mod assessment;
pub mod audit;
pub mod client;
pub mod client_link;
pub mod formulation;
pub mod homework;
pub mod hypothesis;
pub mod ids;
pub mod phi;
pub mod record;
pub mod session;
pub mod session_note;
pub mod time;
pub mod tokens;
pub mod treatment_plan;
pub mod validation;

pub use ids::{AccountId, AuditEventId, RequestId};
pub use phi::Phi;
