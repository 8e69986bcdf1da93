//! The audit log's vocabulary and its keyed hash chain.
//!
//! An audit event says who did what to which record, with what outcome, from
//! where and when. It never holds PHI: the actor and target are ids, the
//! action and outcome are closed vocabularies, and the only free text (the
//! user agent) comes from the client's own browser, is stripped of control
//! characters and capped.

mod chain;

pub use chain::{AuditKey, ChainBreak, ChainHead, ChainSummary, ChainVerifier, GENESIS_HASH};

use std::fmt;
use std::net::IpAddr;

use time::OffsetDateTime;
use uuid::Uuid;

use crate::ids::{AccountId, AuditEventId, RequestId};

/// Longest user agent kept in an audit event, in characters.
pub const USER_AGENT_MAX_CHARS: usize = 256;

macro_rules! vocabulary {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $code:literal,)+ }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vdoc])* $variant,)+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The stable code stored in the database.
            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code,)+ }
            }

            pub fn from_code(code: &str) -> Option<Self> {
                match code { $($code => Some($name::$variant),)+ _ => None }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.code())
            }
        }
    };
}

vocabulary!(
    /// What happened. Codes are `area.verb` and never change once shipped.
    AuditAction {
        /// The server started serving (with the schema version it found).
        ServerStarted => "system.start",
        /// Database migrations were applied.
        SchemaMigrated => "system.migrate",
        /// Someone ran `audit verify`.
        AuditVerified => "audit.verify",
        /// A sign-up created an account.
        AccountCreated => "account.create",
        /// A sign-up used an email that already has an account (the owner
        /// was emailed; the visitor saw the usual answer).
        SignupWithExistingEmail => "account.signup_existing",
        /// An email address was confirmed through its link.
        EmailVerified => "account.verify_email",
        /// Name, credential or email changed.
        AccountUpdated => "account.update",
        /// A sign-in attempt (outcome success, failure or denied).
        SignIn => "auth.sign_in",
        /// Too many attempts (sign-in, sign-up, reset): refused unchecked.
        RateLimited => "auth.rate_limited",
        /// A session ended by signing out.
        SignOut => "auth.sign_out",
        /// A session was revoked from the Security page, or ended because
        /// a sixth one started.
        SessionRevoked => "auth.session_revoke",
        /// The password was changed by its owner.
        PasswordChanged => "auth.password_change",
        /// A reset link was asked for.
        PasswordResetRequested => "auth.password_reset_request",
        /// The password was replaced through a reset link.
        PasswordReset => "auth.password_reset",
        /// TOTP turned on or off, or a recovery code used.
        MfaEnabled => "auth.mfa_enable",
        MfaDisabled => "auth.mfa_disable",
        MfaRecoveryCodeUsed => "auth.mfa_recovery_code",
        /// A Google account was linked (success) or matched nothing (denied).
        OAuthLinked => "auth.oauth_link",
        /// A personal access token was created or revoked.
        AccessTokenCreated => "auth.token_create",
        AccessTokenRevoked => "auth.token_revoke",
        /// `keys rotate` re-wrapped data keys under a new key-encryption key
        /// (outcome success when it finished, failure when it stopped).
        KeysRotated => "keys.rotate",
        /// A retired key-encryption key was destroyed.
        KekDestroyed => "keys.destroy_kek",
        /// An account's data key was destroyed (crypto-shredding).
        DataKeyDestroyed => "keys.destroy_data_key",
        /// A client's record was created, opened, changed, listed (target:
        /// no id) or its history opened.
        ClientCreated => "client.create",
        ClientRead => "client.read",
        ClientUpdated => "client.update",
        ClientsListed => "client.list",
        ClientHistoryRead => "client.history",
        /// A session note was created (a draft), opened, changed, signed,
        /// given an addendum, listed (target: no id) or its history opened.
        NoteCreated => "note.create",
        NoteRead => "note.read",
        NoteUpdated => "note.update",
        NoteSigned => "note.sign",
        NoteAddendumAdded => "note.addendum",
        /// A draft of a session note was made for the therapist (target:
        /// the note). Nothing is saved by it.
        NoteDrafted => "note.draft",
        NotesListed => "note.list",
        NoteHistoryRead => "note.history",
        /// The private psychotherapy note of a session was opened or saved
        /// (target: the session note).
        PsychotherapyNoteRead => "note.private_read",
        PsychotherapyNoteSaved => "note.private_save",
        /// A case formulation was created, opened, changed, listed or its
        /// history opened.
        FormulationCreated => "formulation.create",
        FormulationRead => "formulation.read",
        FormulationUpdated => "formulation.update",
        FormulationsListed => "formulation.list",
        FormulationHistoryRead => "formulation.history",
        /// A formulation was drafted from the client's records for the
        /// therapist (target: the client). Nothing is saved by it.
        FormulationDrafted => "formulation.draft",
        /// A working hypothesis, likewise.
        HypothesisCreated => "hypothesis.create",
        HypothesisRead => "hypothesis.read",
        HypothesisUpdated => "hypothesis.update",
        HypothesesListed => "hypothesis.list",
        HypothesisHistoryRead => "hypothesis.history",
        /// Working hypotheses were proposed from the client's records
        /// (target: the client). Nothing is saved by it.
        HypothesesDrafted => "hypothesis.draft",
        /// A treatment plan, likewise, and signed, given an addendum, its
        /// goals' progress rated or read (target: the plan).
        PlanCreated => "plan.create",
        PlanRead => "plan.read",
        PlanUpdated => "plan.update",
        PlanSigned => "plan.sign",
        PlanAddendumAdded => "plan.addendum",
        PlansListed => "plan.list",
        PlanHistoryRead => "plan.history",
        PlanProgressRecorded => "plan.progress_record",
        PlanProgressRead => "plan.progress_read",
        /// Homework assigned, opened, changed (completion recorded),
        /// listed or its history opened.
        HomeworkAssigned => "homework.assign",
        HomeworkRead => "homework.read",
        HomeworkUpdated => "homework.update",
        HomeworkListed => "homework.list",
        HomeworkHistoryRead => "homework.history",
        /// A custom worksheet was created, changed, opened or listed.
        WorksheetCreated => "worksheet.create",
        WorksheetUpdated => "worksheet.update",
        WorksheetRead => "worksheet.read",
        WorksheetsListed => "worksheet.list",
        /// An assessment result was recorded (by the therapist or through a
        /// client's link), opened, changed, listed or its history opened;
        /// its risk flags acknowledged.
        AssessmentRecorded => "assessment.create",
        AssessmentRead => "assessment.read",
        AssessmentUpdated => "assessment.update",
        AssessmentsListed => "assessment.list",
        AssessmentHistoryRead => "assessment.history",
        AssessmentRiskAcknowledged => "assessment.risk_acknowledge",
        /// A client self-report link was created (and emailed, or copied),
        /// opened by the client, submitted, or revoked; or a used, expired,
        /// revoked or unknown link was tried (outcome denied).
        ClientLinkCreated => "client_link.create",
        ClientLinkOpened => "client_link.open",
        ClientLinkSubmitted => "client_link.submit",
        ClientLinkRevoked => "client_link.revoke",
        ClientLinksListed => "client_link.list",
        /// A recurring questionnaire was set up, stopped or listed; the job
        /// runner sent one (actor: the system; outcome failure when the
        /// client has no email address).
        ScheduleCreated => "schedule.create",
        ScheduleStopped => "schedule.stop",
        SchedulesListed => "schedule.list",
        ScheduleSent => "schedule.send",
        /// A custom instrument was created, changed, opened or listed.
        InstrumentCreated => "instrument.create",
        InstrumentUpdated => "instrument.update",
        InstrumentRead => "instrument.read",
        InstrumentsListed => "instrument.list",
        /// The therapist let a language model draft from their records,
        /// or withdrew that (target: the account).
        AiDraftsConsentGiven => "consent.ai_drafts_give",
        AiDraftsConsentWithdrawn => "consent.ai_drafts_withdraw",
        /// A language model was called (target: the `ai_calls` row with
        /// its metadata; outcome failure when it gave no usable answer).
        AiCalled => "ai.call",
    }
);

vocabulary!(
    /// How it ended.
    AuditOutcome {
        Success => "success",
        Failure => "failure",
        Denied => "denied",
    }
);

vocabulary!(
    /// What kind of thing the event is about.
    TargetKind {
        System => "system",
        AuditLog => "audit_log",
        Account => "account",
        Session => "session",
        AccessToken => "access_token",
        DataKey => "data_key",
        Client => "client",
        SessionNote => "session_note",
        Formulation => "formulation",
        Hypothesis => "hypothesis",
        TreatmentPlan => "treatment_plan",
        GoalProgress => "goal_progress",
        Homework => "homework",
        Worksheet => "worksheet",
        Assessment => "assessment",
        ClientLink => "client_link",
        Schedule => "schedule",
        Instrument => "instrument",
        AiCall => "ai_call",
    }
);

/// Who acted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Actor {
    /// The product itself (start-up, migrations, scheduled jobs, CLI).
    System,
    /// Someone not signed in.
    Anonymous,
    /// A signed-in therapist.
    Account(AccountId),
}

impl Actor {
    pub fn kind_code(&self) -> &'static str {
        match self {
            Actor::System => "system",
            Actor::Anonymous => "anonymous",
            Actor::Account(_) => "account",
        }
    }

    pub fn id(&self) -> Option<AccountId> {
        match self {
            Actor::Account(id) => Some(*id),
            _ => None,
        }
    }
}

/// The record an event is about: a kind and, usually, its id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuditTarget {
    pub kind: TargetKind,
    pub id: Option<Uuid>,
}

impl AuditTarget {
    pub fn system() -> Self {
        Self { kind: TargetKind::System, id: None }
    }

    pub fn new(kind: TargetKind, id: Uuid) -> Self {
        Self { kind, id: Some(id) }
    }
}

/// Where a request came from. Built once per request by the web layer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestContext {
    pub ip: Option<IpAddr>,
    user_agent: Option<String>,
    pub request_id: Option<RequestId>,
}

impl RequestContext {
    pub fn new(ip: Option<IpAddr>, user_agent: Option<&str>, request_id: Option<RequestId>) -> Self {
        Self { ip, user_agent: user_agent.map(clean_user_agent).filter(|s| !s.is_empty()), request_id }
    }

    pub fn user_agent(&self) -> Option<&str> {
        self.user_agent.as_deref()
    }
}

/// Control characters become spaces (no forged log or report lines) and
/// the length is capped.
fn clean_user_agent(raw: &str) -> String {
    raw.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(USER_AGENT_MAX_CHARS)
        .collect::<String>()
        .trim()
        .to_owned()
}

/// An event about to be appended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEvent {
    pub id: AuditEventId,
    pub occurred_at: OffsetDateTime,
    pub actor: Actor,
    pub action: AuditAction,
    pub target: AuditTarget,
    pub outcome: AuditOutcome,
    pub context: RequestContext,
}

impl AuditEvent {
    pub fn new(
        occurred_at: OffsetDateTime,
        actor: Actor,
        action: AuditAction,
        target: AuditTarget,
        outcome: AuditOutcome,
        context: RequestContext,
    ) -> Self {
        Self {
            // Time-ordered (v7), unlike other ids: the log only grows, and
            // random ids would scatter every append over the whole id
            // index (a page written per event; the time is in the row
            // anyway).
            id: AuditEventId::from_uuid(Uuid::now_v7()),
            occurred_at: crate::time::to_storage_precision(occurred_at),
            actor,
            action,
            target,
            outcome,
            context,
        }
    }

    /// The event as the columns that store it (and that the chain hashes).
    pub fn to_fields(&self) -> AuditFields {
        AuditFields {
            id: self.id.as_uuid(),
            occurred_at: self.occurred_at,
            actor_kind: self.actor.kind_code().to_owned(),
            actor_id: self.actor.id().map(|a| a.to_string()),
            action: self.action.code().to_owned(),
            target_kind: self.target.kind.code().to_owned(),
            target_id: self.target.id.map(|t| t.to_string()),
            outcome: self.outcome.code().to_owned(),
            ip: self.context.ip.map(|ip| ip.to_string()),
            user_agent: self.context.user_agent.clone(),
            request_id: self.context.request_id.map(|r| r.to_string()),
        }
    }
}

/// An audit event as stored: plain columns, so a row edited in the database
/// to hold an unknown action still reads back and is reported as tampered
/// instead of failing to load.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditFields {
    pub id: Uuid,
    pub occurred_at: OffsetDateTime,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub action: String,
    pub target_kind: String,
    pub target_id: Option<String>,
    pub outcome: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
}

/// One row of the audit log with its place in the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    /// 1, 2, 3, ... without gaps.
    pub seq: i64,
    pub fields: AuditFields,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabulary_codes_round_trip() {
        for a in AuditAction::ALL {
            assert_eq!(AuditAction::from_code(a.code()), Some(*a));
        }
        for o in AuditOutcome::ALL {
            assert_eq!(AuditOutcome::from_code(o.code()), Some(*o));
        }
        for k in TargetKind::ALL {
            assert_eq!(TargetKind::from_code(k.code()), Some(*k));
        }
        assert_eq!(AuditAction::from_code("nope"), None);
    }

    #[test]
    fn checklist_31_user_agent_cannot_forge_lines() {
        let ctx = RequestContext::new(None, Some("Mozilla\r\nfake: line\u{0}"), None);
        assert_eq!(ctx.user_agent(), Some("Mozilla  fake: line"));
        let long = "a".repeat(1000);
        let ctx = RequestContext::new(None, Some(&long), None);
        assert_eq!(ctx.user_agent().map(str::len), Some(USER_AGENT_MAX_CHARS));
    }
}
