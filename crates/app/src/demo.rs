//! The demo caseload: a clearly fictional account with clients and signed
//! session notes, for trying the product and for benchmarks. The server
//! refuses it in production.

use cbt_domain::AccountId;
use cbt_domain::account::Account;
use cbt_domain::audit::{Actor, AuditAction, AuditOutcome, AuditTarget, RequestContext, TargetKind};
use cbt_domain::client::{ClientDetails, ClientStatus, Diagnosis};
use cbt_domain::session_note::{Attendance, Modality, NoteBody, SessionNote};
use cbt_domain::validation::{FieldError, FieldErrors};

use crate::{App, AppError};

/// The demo account's address (`.invalid`: it can never receive mail).
pub const DEMO_EMAIL: &str = "demo@demo.cbt-assistant.invalid";

/// What `seed_demo` made.
#[derive(Debug)]
pub struct DemoReport {
    pub email: &'static str,
    /// Generated; shown once to whoever ran the command.
    pub password: String,
    pub clients: usize,
    pub notes: usize,
}

const FIRST: [&str; 12] =
    ["Alex", "Sam", "Jordan", "Riley", "Morgan", "Casey", "Taylor", "Jamie", "Robin", "Avery", "Quinn", "Rowan"];
const LAST: [&str; 10] = [
    "Example",
    "Sample",
    "Placeholder",
    "Fictional",
    "Testworth",
    "Demoson",
    "Mockridge",
    "Specimen",
    "Dummett",
    "Madeup",
];
const PROBLEMS: [(&str, &str, &str); 5] = [
    ("Low mood, withdrawal from friends, poor sleep", "F32.1", "Moderate depressive episode"),
    ("Persistent worry about work and health; muscle tension", "F41.1", "Generalised anxiety disorder"),
    ("Panic attacks on public transport; avoids the underground", "F41.0", "Panic disorder"),
    ("Intrusive thoughts about contamination; washing rituals", "F42.2", "Mixed obsessional thoughts and acts"),
    ("Fear of speaking in meetings; avoids social events", "F40.1", "Social phobia"),
];

impl App {
    /// Creates the demo account (verified, with a generated password) and
    /// `clients` fictional clients with `notes_per_client` signed weekly
    /// SOAP notes each, through the same use cases a therapist uses (so
    /// everything is sealed and audited).
    pub async fn seed_demo(&self, clients: usize, notes_per_client: usize) -> Result<DemoReport, AppError> {
        if self.store.account_by_email(DEMO_EMAIL).await?.is_some() {
            let mut errors = FieldErrors::default();
            errors.push(FieldError::new("demo", "The demo account exists already: nothing was added."));
            return Err(AppError::Invalid(errors));
        }
        let password = demo_password()?;
        let now = cbt_domain::time::to_storage_precision(self.clock.now());
        let account = Account {
            id: AccountId::new(),
            email: DEMO_EMAIL.into(),
            email_normalized: DEMO_EMAIL.into(),
            full_name: "Dr Demo Therapist (fictional)".into(),
            credential: "DEMO-0000 (not a real licence)".into(),
            password_hash: Some(self.hasher.hash(&password).await?),
            email_verified_at: Some(now),
            mfa_secret_sealed: None,
            mfa_enabled_at: None,
            mfa_last_step: None,
            password_changed_at: now,
            google_subject: None,
            created_at: now,
            updated_at: now,
        };
        let ctx = RequestContext::default();
        let mut tx = self.store.begin().await?;
        tx.insert_account(&account).await?;
        let target = AuditTarget::new(TargetKind::Account, account.id.as_uuid());
        let event = self.event(Actor::System, AuditAction::AccountCreated, target, AuditOutcome::Success, &ctx);
        self.audit(&mut tx, event).await?;
        tx.commit().await?;

        let mut notes = 0;
        for i in 0..clients {
            let (problem, code, diagnosis) = PROBLEMS[i % PROBLEMS.len()];
            let born = now.date().replace_year(now.year() - 20 - (i % 45) as i32).unwrap_or(now.date());
            let details = ClientDetails {
                full_name: format!("{} {} {}", FIRST[i % FIRST.len()], LAST[(i / FIRST.len()) % LAST.len()], i + 1),
                pronouns: ["she/her", "he/him", "they/them"][i % 3].into(),
                date_of_birth: Some(born),
                referral_source: "Demo GP practice (fictional)".into(),
                presenting_problems: problem.into(),
                diagnoses: vec![Diagnosis { description: diagnosis.into(), icd10: code.into() }],
                status: if i % 7 == 6 { ClientStatus::OnHold } else { ClientStatus::Active },
                ..ClientDetails::default()
            };
            let client = self.create_client(&account, details, &ctx).await?;
            for n in 0..notes_per_client {
                let weeks_ago = (notes_per_client - n) as i64;
                let note = SessionNote {
                    date: now.date() - time::Duration::weeks(weeks_ago),
                    start_time: "10:00".into(),
                    duration_minutes: 50,
                    modality: if n % 3 == 2 { Modality::Video } else { Modality::InPerson },
                    attendance: Attendance::Attended,
                    body: NoteBody::Soap {
                        subjective: format!("Session {}: reported on the week's homework.", n + 1),
                        objective: "Engaged, appropriate affect.".into(),
                        assessment: "Gradual progress towards goals.".into(),
                        plan: "Continue thought records; next session in a week.".into(),
                    },
                };
                let id = self.create_record(&account, client, note, &ctx).await?;
                self.sign_record::<SessionNote>(&account, id, 1, &ctx).await?;
                notes += 1;
            }
        }
        Ok(DemoReport { email: DEMO_EMAIL, password, clients, notes })
    }
}

/// A password that meets the policy: random, with all four categories.
fn demo_password() -> Result<String, AppError> {
    use base64::Engine;
    let mut bytes = [0u8; 15];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| AppError::Internal("the system random source failed".into()))?;
    Ok(format!("Demo-{}-7q", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)))
}
