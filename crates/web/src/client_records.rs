//! The client page's record sections (formulations, hypotheses, treatment
//! plans, homework) and its timeline, built from the client dashboard.

use cbt_app::client_dashboard::ClientDashboard;
use cbt_app::records::Record;
use cbt_diagrams::{TimelineEvent, TimelineKind};
use cbt_domain::record::ClinicalRecord;

use crate::pages::{date_text, when};
use crate::record_pages::{RecordPages, capitalised};

pub struct Row {
    pub href: String,
    pub title: String,
    pub meta: String,
}

/// One kind of record on the client's page.
pub struct Section {
    pub heading: &'static str,
    pub new_href: String,
    pub new_label: String,
    /// (link, label) of a suggestion drafted from the client's records.
    pub draft: Option<(String, &'static str)>,
    pub rows: Vec<Row>,
}

fn section<T: RecordPages>(
    heading: &'static str,
    client: &str,
    records: &[Record<T>],
    meta: impl Fn(&Record<T>) -> String,
) -> Section {
    let new_path = if T::PATH == "homework" { "homework/new".to_owned() } else { format!("{}/new", T::PATH) };
    Section {
        heading,
        new_href: format!("/clients/{client}/{new_path}"),
        new_label: if T::PATH == "homework" { "Assign homework".into() } else { format!("New {}", T::NAME) },
        draft: match T::PATH {
            "formulations" => Some((format!("/clients/{client}/formulations/draft"), "Suggest one from the records")),
            "hypotheses" => Some((format!("/clients/{client}/hypotheses/draft"), "Propose from the records")),
            _ => None,
        },
        rows: records
            .iter()
            .map(|r| Row { href: format!("/{}/{}", T::PATH, r.id), title: r.content.expose().title(), meta: meta(r) })
            .collect(),
    }
}

pub fn sections(d: &ClientDashboard) -> Vec<Section> {
    let client = d.client.id.to_string();
    let changed = |at| format!("changed {}", when(at));
    vec![
        section("Case formulations", &client, &d.formulations, |r| changed(r.updated_at)),
        section("Working hypotheses", &client, &d.hypotheses, |r| {
            let h = r.content.expose();
            format!("{} · {} pieces of evidence", h.status.label(), h.evidence.len())
        }),
        section("Treatment plans", &client, &d.plans, |r| {
            let p = r.content.expose();
            let signed = if r.signed_at.is_some() { "signed" } else { "draft" };
            let review = p.review_date.map(|d| format!(" · review {}", date_text(Some(d)))).unwrap_or_default();
            format!("{} · {signed} · {} goals{review}", p.status.label(), p.goals.len())
        }),
        section("Homework", &client, &d.homework, |r| {
            let h = r.content.expose();
            let due = h.due_on.map(|d| format!(" · due {}", date_text(Some(d)))).unwrap_or_default();
            format!("{}{due}", h.status.label())
        }),
    ]
}

/// What the timeline shows: sessions, formulations, plan reviews, homework.
pub fn timeline_of(d: &ClientDashboard) -> Vec<TimelineEvent> {
    let mut events = Vec::new();
    for n in &d.notes {
        events.push(TimelineEvent {
            date: n.date,
            kind: TimelineKind::Session,
            label: capitalised(cbt_domain::session_note::SessionNote::NAME),
        });
    }
    for r in &d.results {
        events.push(TimelineEvent { date: r.taken_on, kind: TimelineKind::Assessment, label: "Assessment".into() });
    }
    for f in &d.formulations {
        events.push(TimelineEvent {
            date: f.updated_at.date(),
            kind: TimelineKind::Formulation,
            label: "Formulation revised".into(),
        });
    }
    for p in &d.plans {
        if let Some(review) = p.content.expose().review_date {
            events.push(TimelineEvent { date: review, kind: TimelineKind::PlanReview, label: "Plan review".into() });
        }
    }
    for h in &d.homework {
        let hw = h.content.expose();
        events.push(TimelineEvent {
            date: hw.due_on.unwrap_or(hw.assigned_on),
            kind: TimelineKind::Homework,
            label: format!("Homework: {}", hw.status.label()),
        });
    }
    events
}
