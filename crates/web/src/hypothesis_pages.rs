//! Working hypotheses on the record pages: the statement, its status, and
//! evidence for and against, each linked to one of the client's session
//! notes, questionnaire results or homework.

use cbt_domain::hypothesis::{Hypothesis, HypothesisStatus};
use time::Date;

use crate::record_forms::{Field, Input, Part};
use crate::record_pages::{Choices, RecordPages};

impl RecordPages for Hypothesis {
    const PATH: &'static str = "hypotheses";
    const LINKS_RECORDS: bool = true;

    fn parts(_: Option<&Self>, choices: &Choices) -> Vec<Part> {
        let statuses = HypothesisStatus::ALL.iter().map(|s| (s.code().to_owned(), s.label().to_owned())).collect();
        let mut sources = vec![(String::new(), "No linked record".to_owned())];
        sources.extend(choices.records.iter().map(|c| (c.id.clone(), c.label.clone())));
        vec![
            Part::Field(Field::new("statement", "Hypothesis", Input::Text(3))),
            Part::Field(Field::new("status", "Status", Input::Choice(statuses))),
            Part::Group {
                name: "evidence",
                label: "Evidence",
                item: "Evidence",
                fields: vec![
                    Field::new(
                        "direction",
                        "For or against",
                        Input::Choice(vec![("for".into(), "For".into()), ("against".into(), "Against".into())]),
                    ),
                    Field::new("text", "What it shows", Input::Line),
                    Field::new("source", "From", Input::Choice(sources)).optional(),
                ],
                spare: 2,
            },
            Part::Field(Field::new("drafted_with", "Drafted with", Input::Hidden).optional()),
        ]
    }

    fn blank(_: Date) -> Self {
        Hypothesis::default()
    }
}
