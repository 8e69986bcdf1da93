//! Working hypotheses: a statement about what keeps the client's problem
//! going, its status, and the evidence for and against it, each piece
//! linked to the session note, assessment result or homework it came from.
//! Versioned: every revision is kept.

use serde::{Deserialize, Serialize};
use time::Date;

use crate::audit::{AuditAction, TargetKind};
use crate::ids::RecordId;
use crate::record::{ClinicalRecord, Link, RecordActions, check_required};
use crate::validation::{FieldError, FieldErrors};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum HypothesisStatus {
    #[default]
    Proposed,
    Supported,
    Revised,
    Rejected,
}

impl HypothesisStatus {
    pub const ALL: [HypothesisStatus; 4] = [Self::Proposed, Self::Supported, Self::Revised, Self::Rejected];

    pub fn code(self) -> &'static str {
        match self {
            Self::Proposed => "proposed",
            Self::Supported => "supported",
            Self::Revised => "revised",
            Self::Rejected => "rejected",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Proposed => "Proposed",
            Self::Supported => "Supported",
            Self::Revised => "Revised",
            Self::Rejected => "Rejected",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EvidenceDirection {
    #[default]
    For,
    Against,
}

/// One piece of evidence.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    #[serde(default)]
    pub direction: EvidenceDirection,
    pub text: String,
    /// The session note, assessment result or homework it comes from, if
    /// any.
    #[serde(default)]
    pub source: Option<RecordId>,
}

/// Record kinds evidence may point at.
pub const EVIDENCE_SOURCES: &[&str] = &["session_note", "assessment", "homework"];

/// A working hypothesis. All of it is PHI.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Hypothesis {
    pub statement: String,
    #[serde(default)]
    pub status: HypothesisStatus,
    #[serde(default)]
    pub evidence: Vec<Evidence>,
    /// Provenance: what drafted text in it came from, when the therapist
    /// took a suggestion into it ("AI: gpt-4o (Azure OpenAI), prompt
    /// hypotheses-v1"). Kept in every later version, since the text stays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drafted_with: Option<String>,
}

pub const STATEMENT_MAX: usize = 2_000;
pub const EVIDENCE_MAX: usize = 50;

impl zeroize::Zeroize for Hypothesis {
    fn zeroize(&mut self) {
        self.statement.zeroize();
        for e in &mut self.evidence {
            e.text.zeroize();
        }
    }
}

impl ClinicalRecord for Hypothesis {
    const KIND: &'static str = "hypothesis";
    const NAME: &'static str = "hypothesis";
    const TARGET: TargetKind = TargetKind::Hypothesis;
    const ACTIONS: RecordActions = RecordActions {
        create: AuditAction::HypothesisCreated,
        read: AuditAction::HypothesisRead,
        update: AuditAction::HypothesisUpdated,
        list: AuditAction::HypothesesListed,
        history: AuditAction::HypothesisHistoryRead,
        sign: None,
        addendum: None,
    };

    fn validated(mut self, _today: Date) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        check_required(&mut errors, "statement", "the hypothesis", &mut self.statement, STATEMENT_MAX);
        crate::record::check_drafted_with(&mut errors, &mut self.drafted_with);
        self.evidence.retain(|e| !e.text.trim().is_empty() || e.source.is_some());
        if self.evidence.len() > EVIDENCE_MAX {
            errors.push(FieldError::new("evidence", format!("Keep to {EVIDENCE_MAX} pieces of evidence.")));
        }
        for e in &mut self.evidence {
            check_required(&mut errors, "evidence", "what each piece of evidence shows", &mut e.text, 2_000);
        }
        errors.into_result().map(|()| self)
    }

    fn links(&self) -> Vec<Link> {
        self.evidence
            .iter()
            .filter_map(|e| e.source)
            .map(|id| Link { id, kinds: EVIDENCE_SOURCES, field: "evidence" })
            .collect()
    }

    fn title(&self) -> String {
        self.statement.clone()
    }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    #[test]
    fn evidence_links_are_reported_and_empty_rows_dropped() {
        let note = RecordId::new();
        let h = Hypothesis {
            statement: "Avoidance maintains the fear".into(),
            status: HypothesisStatus::Supported,
            evidence: vec![
                Evidence { direction: EvidenceDirection::For, text: "Avoided the bus".into(), source: Some(note) },
                Evidence::default(),
            ],
            drafted_with: Some("  AI: gpt-4o (OpenAI), prompt hypotheses-v1 ".into()),
        }
        .validated(date!(2026 - 11 - 24))
        .unwrap();
        assert_eq!(h.evidence.len(), 1);
        assert_eq!(h.drafted_with.as_deref(), Some("AI: gpt-4o (OpenAI), prompt hypotheses-v1"), "trimmed");
        assert_eq!(h.links(), vec![Link { id: note, kinds: EVIDENCE_SOURCES, field: "evidence" }]);
        let bad = Hypothesis {
            statement: String::new(),
            status: HypothesisStatus::Proposed,
            evidence: vec![Evidence { direction: EvidenceDirection::Against, text: " ".into(), source: Some(note) }],
            drafted_with: Some("AI\n".repeat(120)),
        };
        let fields: Vec<_> = bad.validated(date!(2026 - 11 - 24)).unwrap_err().0.iter().map(|e| e.field).collect();
        assert_eq!(fields, vec!["statement", "drafted_with", "evidence"]);
    }
}
