//! CBT case formulation: a Beck cognitive conceptualisation (history, core
//! beliefs, rules, compensatory strategies and worked examples of the
//! situation → thought → meaning → emotion → behaviour chain) and a 5 Ps
//! formulation. Versioned, never signed: it is revised as therapy goes on.

use serde::{Deserialize, Serialize};
use time::Date;

use crate::audit::{AuditAction, TargetKind};
use crate::record::{ClinicalRecord, RecordActions, check_text};
use crate::validation::{FieldError, FieldErrors};

/// Longest text box, in characters.
pub const TEXT_MAX: usize = 10_000;
/// Most worked examples in one formulation.
pub const EXAMPLES_MAX: usize = 6;

/// One worked example of the cognitive model.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ThoughtExample {
    #[serde(default)]
    pub situation: String,
    #[serde(default)]
    pub automatic_thought: String,
    #[serde(default)]
    pub meaning: String,
    #[serde(default)]
    pub emotion: String,
    #[serde(default)]
    pub behaviour: String,
}

impl ThoughtExample {
    pub fn is_empty(&self) -> bool {
        self.parts().iter().all(|(_, _, t)| t.trim().is_empty())
    }

    /// (property, label, text), in the order of the chain.
    pub fn parts(&self) -> [(&'static str, &'static str, &String); 5] {
        [
            ("situation", "Situation", &self.situation),
            ("automatic_thought", "Automatic thought", &self.automatic_thought),
            ("meaning", "Meaning of the thought", &self.meaning),
            ("emotion", "Emotion", &self.emotion),
            ("behaviour", "Behaviour", &self.behaviour),
        ]
    }

    fn parts_mut(&mut self) -> [&mut String; 5] {
        [&mut self.situation, &mut self.automatic_thought, &mut self.meaning, &mut self.emotion, &mut self.behaviour]
    }
}

/// Judith Beck's cognitive conceptualisation diagram, as text.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BeckConceptualisation {
    #[serde(default)]
    pub relevant_history: String,
    #[serde(default)]
    pub core_beliefs: String,
    #[serde(default)]
    pub conditional_assumptions: String,
    #[serde(default)]
    pub compensatory_strategies: String,
    #[serde(default)]
    pub examples: Vec<ThoughtExample>,
}

/// The 5 Ps.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FivePs {
    #[serde(default)]
    pub presenting: String,
    #[serde(default)]
    pub predisposing: String,
    #[serde(default)]
    pub precipitating: String,
    #[serde(default)]
    pub perpetuating: String,
    #[serde(default)]
    pub protective: String,
}

impl FivePs {
    /// (property, label, text).
    pub fn parts(&self) -> [(&'static str, &'static str, &String); 5] {
        [
            ("presenting", "Presenting", &self.presenting),
            ("predisposing", "Predisposing", &self.predisposing),
            ("precipitating", "Precipitating", &self.precipitating),
            ("perpetuating", "Perpetuating", &self.perpetuating),
            ("protective", "Protective", &self.protective),
        ]
    }
}

/// A case formulation. All of it is PHI.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Formulation {
    /// e.g. "Initial formulation", "Revised after session 8".
    pub title: String,
    #[serde(default)]
    pub beck: BeckConceptualisation,
    #[serde(default)]
    pub five_ps: FivePs,
    /// Provenance: what drafted text in it came from, when the therapist
    /// took a suggestion into it ("AI: gpt-4o (Azure OpenAI), prompt
    /// formulation-v1"). Kept in every later version, since the text stays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drafted_with: Option<String>,
}

impl zeroize::Zeroize for Formulation {
    fn zeroize(&mut self) {
        self.title.zeroize();
        let b = &mut self.beck;
        for s in [
            &mut b.relevant_history,
            &mut b.core_beliefs,
            &mut b.conditional_assumptions,
            &mut b.compensatory_strategies,
        ] {
            s.zeroize();
        }
        for e in &mut b.examples {
            for s in e.parts_mut() {
                s.zeroize();
            }
        }
        let p = &mut self.five_ps;
        for s in [&mut p.presenting, &mut p.predisposing, &mut p.precipitating, &mut p.perpetuating, &mut p.protective]
        {
            s.zeroize();
        }
    }
}

impl ClinicalRecord for Formulation {
    const KIND: &'static str = "formulation";
    const NAME: &'static str = "formulation";
    const TARGET: TargetKind = TargetKind::Formulation;
    const ACTIONS: RecordActions = RecordActions {
        create: AuditAction::FormulationCreated,
        read: AuditAction::FormulationRead,
        update: AuditAction::FormulationUpdated,
        list: AuditAction::FormulationsListed,
        history: AuditAction::FormulationHistoryRead,
        sign: None,
        addendum: None,
    };

    fn validated(mut self, _today: Date) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        crate::record::check_required(&mut errors, "title", "a title", &mut self.title, 200);
        crate::record::check_drafted_with(&mut errors, &mut self.drafted_with);
        let b = &mut self.beck;
        check_text(&mut errors, "beck.relevant_history", "the relevant history", &mut b.relevant_history, TEXT_MAX);
        check_text(&mut errors, "beck.core_beliefs", "the core beliefs", &mut b.core_beliefs, TEXT_MAX);
        check_text(
            &mut errors,
            "beck.conditional_assumptions",
            "the rules and assumptions",
            &mut b.conditional_assumptions,
            TEXT_MAX,
        );
        check_text(
            &mut errors,
            "beck.compensatory_strategies",
            "the compensatory strategies",
            &mut b.compensatory_strategies,
            TEXT_MAX,
        );
        b.examples.retain(|e| !e.is_empty());
        if b.examples.len() > EXAMPLES_MAX {
            errors.push(FieldError::new("beck.examples", format!("Keep to {EXAMPLES_MAX} examples.")));
        }
        for e in &mut b.examples {
            for s in e.parts_mut() {
                check_text(&mut errors, "beck.examples", "each part of an example", s, 2_000);
            }
        }
        let p = &mut self.five_ps;
        check_text(&mut errors, "five_ps.presenting", "the presenting problem", &mut p.presenting, TEXT_MAX);
        check_text(&mut errors, "five_ps.predisposing", "the predisposing factors", &mut p.predisposing, TEXT_MAX);
        check_text(&mut errors, "five_ps.precipitating", "the precipitating factors", &mut p.precipitating, TEXT_MAX);
        check_text(&mut errors, "five_ps.perpetuating", "the perpetuating factors", &mut p.perpetuating, TEXT_MAX);
        check_text(&mut errors, "five_ps.protective", "the protective factors", &mut p.protective, TEXT_MAX);
        errors.into_result().map(|()| self)
    }

    fn title(&self) -> String {
        self.title.clone()
    }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    #[test]
    fn a_formulation_needs_a_title_and_drops_empty_examples() {
        let f: Formulation = serde_json::from_str(
            r#"{"title":"  Initial ","beck":{"core_beliefs":"I am unlovable","examples":[{"situation":"Friend cancels"},{}]}}"#,
        )
        .unwrap();
        let f = f.validated(date!(2026 - 11 - 24)).unwrap();
        assert_eq!(f.title, "Initial");
        assert_eq!(f.beck.examples.len(), 1, "the empty example row is dropped");
        let errors = Formulation::default().validated(date!(2026 - 11 - 24)).unwrap_err();
        assert_eq!(errors.0[0].field, "title");
        assert!(serde_json::from_str::<Formulation>(r#"{"title":"x","signed_at":"now"}"#).is_err());
        assert!(f.ready_to_sign().is_err(), "formulations are not signed");
    }
}
