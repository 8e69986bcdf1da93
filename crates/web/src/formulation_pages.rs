//! Case formulations on the record pages: the Beck conceptualisation and
//! the 5 Ps as a form, and the diagram.

use cbt_domain::formulation::Formulation;
use time::Date;

use crate::record_forms::{Field, Input, Part};
use crate::record_pages::{Choices, RecordPages};

impl RecordPages for Formulation {
    const PATH: &'static str = "formulations";

    fn parts(_: Option<&Self>, _: &Choices) -> Vec<Part> {
        let text = |name: &str, label: &str| Part::Field(Field::new(name, label, Input::Text(3)));
        vec![
            Part::Field(Field::new("title", "Title", Input::Line).hint("e.g. Initial formulation")),
            Part::Heading("Cognitive conceptualisation (Beck)"),
            text("beck.relevant_history", "Relevant history"),
            text("beck.core_beliefs", "Core beliefs"),
            text("beck.conditional_assumptions", "Conditional assumptions, rules"),
            text("beck.compensatory_strategies", "Compensatory strategies"),
            Part::Group {
                name: "beck.examples",
                label: "Examples: situation → automatic thought → meaning → emotion → behaviour",
                item: "Example",
                fields: vec![
                    Field::new("situation", "Situation", Input::Line),
                    Field::new("automatic_thought", "Automatic thought", Input::Line),
                    Field::new("meaning", "Meaning of the thought", Input::Line),
                    Field::new("emotion", "Emotion", Input::Line),
                    Field::new("behaviour", "Behaviour", Input::Line),
                ],
                spare: 1,
            },
            Part::Heading("The 5 Ps"),
            text("five_ps.presenting", "Presenting problem"),
            text("five_ps.predisposing", "Predisposing factors"),
            text("five_ps.precipitating", "Precipitating factors"),
            text("five_ps.perpetuating", "Perpetuating factors"),
            text("five_ps.protective", "Protective factors"),
            Part::Field(Field::new("drafted_with", "Drafted with", Input::Hidden).optional()),
        ]
    }

    fn blank(_: Date) -> Self {
        Formulation::default()
    }

    fn picture(&self) -> Option<String> {
        Some(cbt_diagrams::formulation_diagram(self))
    }
}
