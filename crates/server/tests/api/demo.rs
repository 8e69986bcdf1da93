//! The demo caseload (`App::seed_demo`) on SQLite and PostgreSQL: every
//! client has each kind of record, signed where it should be, readable
//! through the app's own use cases; the busy client has its longer course;
//! and none of the demo text is in a raw dump of the database or in the
//! audit log (it is sealed like a therapist's own).

use cbt_app::clients::ClientQuery;
use cbt_app::demo::{DEMO_EMAIL, DemoSize};
use cbt_domain::audit::RequestContext;
use cbt_testkit::{TestApp, TestDatabase, dump_holds};

async fn demo_caseload(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let app = TestApp::spawn(db).await;
    let size = DemoSize { clients: 6, notes_per_client: 2, busy_client_notes: Some(5) };
    let report = app.app.seed_demo(size).await.unwrap();
    // Stories cycle through five problems; plans have 2, 1, 2, 1, 2, 2
    // goals, each rated three times.
    assert_eq!(
        (
            report.clients,
            report.notes,
            report.formulations,
            report.hypotheses,
            report.plans,
            report.progress_ratings,
            report.homework
        ),
        (6, 5 + 5 * 2, 6, 6, 6, 10 * 3, 6)
    );
    let again = app.app.seed_demo(size).await;
    assert!(matches!(again, Err(cbt_app::AppError::Invalid(_))), "refused once the demo account exists");

    let account = app.app.store().account_by_email(DEMO_EMAIL).await.unwrap().unwrap();
    let ctx = RequestContext::default();
    let clients = app.app.clients(&account, &ClientQuery::default(), &ctx).await.unwrap();
    assert_eq!(clients.len(), 6);
    let mut texts: Vec<String> = Vec::new();
    for client in &clients {
        let name = client.details.expose().full_name.clone();
        let d = app.app.client_dashboard(&account, client.id, &ctx).await.unwrap();
        let expected_notes = if name == "Alex Example 1" { 5 } else { 2 };
        assert_eq!(d.notes.len(), expected_notes, "{name}");
        assert!(d.notes.iter().all(|n| n.signed), "notes are signed");
        assert_eq!((d.formulations.len(), d.hypotheses.len(), d.plans.len(), d.homework.len()), (1, 1, 1, 1));

        let f = d.formulations[0].content.expose();
        assert!(!f.beck.core_beliefs.is_empty() && !f.five_ps.protective.is_empty() && f.beck.examples.len() == 1);
        let h = d.hypotheses[0].content.expose();
        assert_eq!(h.evidence.len(), 1);
        assert!(d.notes.iter().any(|n| Some(n.id) == h.evidence[0].source), "evidence links to one of its notes");
        let plan = &d.plans[0];
        assert!(plan.signed_at.is_some(), "the plan is signed");
        let goals = plan.content.expose().goals.len();
        assert!((1..=2).contains(&goals));
        assert_eq!(d.progress.len(), goals * 3);
        assert!(d.progress.iter().all(|p| p.content.expose().plan == plan.id));
        let homework = d.homework[0].content.expose();
        assert_eq!(homework.source, "library:thought_record");

        // Opened one at a time too, as the record pages do.
        let read = app.app.record::<cbt_domain::treatment_plan::TreatmentPlan>(&account, plan.id, &ctx).await;
        assert_eq!(read.unwrap().content.expose().goals.len(), goals);

        texts.extend([
            name,
            f.beck.core_beliefs.clone(),
            f.beck.examples[0].automatic_thought.clone(),
            f.five_ps.precipitating.clone(),
            h.statement.clone(),
            h.evidence[0].text.clone(),
            plan.content.expose().goals[0].description.clone(),
            homework.instructions.clone(),
        ]);
        let note =
            app.app.record::<cbt_domain::session_note::SessionNote>(&account, d.notes[0].id, &ctx).await.unwrap();
        if let cbt_domain::session_note::NoteBody::Soap { assessment, .. } = &note.content.expose().body {
            texts.push(assessment.clone());
        }
    }

    let dump = app.db.raw_dump();
    let events = app.app.store().audit_entries_after(0, 100_000).await.unwrap();
    let logged: Vec<String> = events.iter().map(|e| format!("{e:?}")).collect();
    for text in &texts {
        assert!(!dump_holds(&dump, text.as_bytes()), "{text:?} is in a raw dump");
        assert!(logged.iter().all(|e| !e.contains(text.as_str())), "{text:?} is in the audit log");
    }
    let count = |action: &str| events.iter().filter(|e| e.fields.action == action).count();
    assert_eq!(
        [count("formulation.create"), count("hypothesis.create"), count("plan.sign"), count("homework.assign")],
        [6, 6, 6, 6],
        "each made through its audited use case"
    );
    app.stop().await;
}

on_both_backends! {
    demo_seed_makes_every_kind_of_record_readable_and_sealed => demo_caseload;
}
