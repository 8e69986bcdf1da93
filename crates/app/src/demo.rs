//! The demo caseload: a clearly fictional account with clients and their
//! records (signed session notes, a case formulation, a working
//! hypothesis, a signed treatment plan rated over time, homework), for
//! trying the product and for benchmarks. Everything is made through the
//! use cases a therapist uses, so it is sealed and audited the same way.
//! The server refuses it in production.

use cbt_domain::AccountId;
use cbt_domain::account::Account;
use cbt_domain::audit::{Actor, AuditAction, AuditOutcome, AuditTarget, RequestContext, TargetKind};
use cbt_domain::client::{ClientDetails, ClientStatus, Diagnosis};
use cbt_domain::formulation::{BeckConceptualisation, FivePs, Formulation, ThoughtExample};
use cbt_domain::hypothesis::{Evidence, EvidenceDirection, Hypothesis, HypothesisStatus};
use cbt_domain::ids::{ClientId, RecordId};
use cbt_domain::session_note::{Attendance, Modality, NoteBody, SessionNote};
use cbt_domain::treatment_plan::{Goal, GoalProgress, PlanStatus, TreatmentPlan};
use cbt_domain::validation::{FieldError, FieldErrors};
use time::{Date, Duration};

use crate::{App, AppError};

/// The demo account's address (`.invalid`: it can never receive mail).
pub const DEMO_EMAIL: &str = "demo@demo.cbt-assistant.invalid";

/// How big a caseload to make.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DemoSize {
    pub clients: usize,
    /// Signed weekly session notes per client.
    pub notes_per_client: usize,
    /// The first client's notes instead of `notes_per_client`: one long
    /// course of therapy in a caseload of short ones (the benchmark's
    /// busy client).
    pub busy_client_notes: Option<usize>,
}

/// What `seed_demo` made.
#[derive(Debug)]
pub struct DemoReport {
    pub email: &'static str,
    /// Generated; shown once to whoever ran the command.
    pub password: String,
    pub clients: usize,
    /// Signed session notes.
    pub notes: usize,
    pub formulations: usize,
    pub hypotheses: usize,
    /// Signed treatment plans.
    pub plans: usize,
    pub progress_ratings: usize,
    pub homework: usize,
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
/// One presenting problem and what a therapist would write about it: the
/// formulation, a hypothesis, the plan's goals and the homework. Clinically
/// plausible, about nobody: every client with this problem gets the same
/// text.
struct Story {
    problem: &'static str,
    icd10: &'static str,
    diagnosis: &'static str,
    history: &'static str,
    core_beliefs: &'static str,
    assumptions: &'static str,
    strategies: &'static str,
    /// Situation, automatic thought, meaning, emotion, behaviour.
    example: [&'static str; 5],
    /// Presenting, predisposing, precipitating, perpetuating, protective.
    five_ps: [&'static str; 5],
    hypothesis: &'static str,
    evidence: &'static str,
    plan_problems: &'static str,
    /// Description, measure, target, interventions (one or two goals).
    goals: &'static [[&'static str; 4]],
    homework: &'static str,
}

const STORIES: [Story; 5] = [
    Story {
        problem: "Low mood, withdrawal from friends, poor sleep",
        icd10: "F32.1",
        diagnosis: "Moderate depressive episode",
        history: "(Fictional) Grew up with a critical parent whose praise depended on results; a first low period at university after failing an exam.",
        core_beliefs: "I am a failure. Other people will end up disappointed in me.",
        assumptions: "If I don't do everything perfectly, I have failed. If I ask for help, people will see how useless I am.",
        strategies: "Overworking and very high standards when well; not asking for help; withdrawing when tired.",
        example: [
            "A friend texts to suggest a walk on Saturday",
            "I'll only bring them down",
            "I'm a burden to everyone",
            "Sadness 80%, guilt 60%",
            "Doesn't reply; stays in bed until noon",
        ],
        five_ps: [
            "Low mood for six months, withdrawal from friends, early waking, loss of interest in music.",
            "Critical upbringing; a family history of depression (fictional).",
            "Made redundant eight months ago.",
            "Withdrawal and inactivity; rumination in bed; self-critical thinking about the redundancy.",
            "A supportive sibling; enjoys walking; keen to try therapy.",
        ],
        hypothesis: "Withdrawal and inactivity keep the low mood going by removing sources of pleasure and achievement.",
        evidence: "Activity diary: mood 5/10 on days with a planned walk against 2/10 on days spent at home.",
        plan_problems: "Low mood; withdrawal from friends; early waking.",
        goals: &[
            [
                "Re-engage with valued activities",
                "Planned activities done each week (activity schedule)",
                "At least five a week",
                "Behavioural activation: activity scheduling and graded tasks.",
            ],
            [
                "Lift depressive symptoms",
                "PHQ-9",
                "Below 10",
                "Cognitive restructuring of self-critical thoughts with thought records.",
            ],
        ],
        homework: "Fill in one thought record when you notice your mood drop this week.",
    },
    Story {
        problem: "Persistent worry about work and health; muscle tension",
        icd10: "F41.1",
        diagnosis: "Generalised anxiety disorder",
        history: "(Fictional) A parent was ill for a long time during childhood; learnt to stay alert for what might go wrong.",
        core_beliefs: "The world is dangerous and I can't cope with not knowing.",
        assumptions: "If I worry about things, I'll be prepared and nothing bad will happen. If I stop worrying, I'm being careless.",
        strategies: "Seeking reassurance; checking work email late at night; over-preparing; avoiding health news.",
        example: [
            "The manager asks for a quick chat tomorrow",
            "I'm going to lose my job",
            "Everything will fall apart and I won't cope",
            "Anxiety 85%",
            "Rehearses the conversation until 2 a.m.; asks partner for reassurance",
        ],
        five_ps: [
            "Daily worry for over a year; muscle tension, poor concentration, trouble falling asleep.",
            "A parent's illness in childhood; an anxious temperament.",
            "Promotion to team lead.",
            "Positive beliefs about worry; reassurance seeking; avoiding uncertainty.",
            "A good relationship with partner; swims twice a week; good insight into the worry.",
        ],
        hypothesis: "Positive beliefs about worry (\"it keeps me prepared\") keep the worry cycle going.",
        evidence: "Postponed worry to a set time on two days without anything going wrong; belief that worry helps fell from 70% to 45%.",
        plan_problems: "Uncontrollable worry; tension; poor sleep.",
        goals: &[[
            "Spend less time worrying",
            "Minutes of worry a day (worry diary)",
            "Under 30 minutes a day",
            "Worry postponement; testing beliefs about worry with behavioural experiments.",
        ]],
        homework: "Use the thought record for one worry each day and bring it to the next session.",
    },
    Story {
        problem: "Panic attacks on public transport; avoids the underground",
        icd10: "F41.0",
        diagnosis: "Panic disorder",
        history: "(Fictional) A first panic attack on a crowded train during a stressful exam period.",
        core_beliefs: "My body is fragile; I am vulnerable.",
        assumptions: "If my heart races, something is seriously wrong. If I get out quickly, I'll be safe.",
        strategies: "Avoiding the underground; carrying water; sitting near exits; checking pulse.",
        example: [
            "The train stops in a tunnel",
            "I can't breathe, I'm going to faint",
            "Something is seriously wrong with my body",
            "Fear 95%",
            "Grips the rail, gets off at the next stop and walks the rest",
        ],
        five_ps: [
            "Panic attacks two or three times a week; avoids the underground and crowded shops.",
            "Health anxiety in the family; sensitive to bodily sensations.",
            "An attack on a crowded train during a stressful period.",
            "Catastrophic misreading of sensations; avoidance and safety behaviours.",
            "Motivated; cycles to work; supportive friends.",
        ],
        hypothesis: "Safety behaviours (sitting near exits, carrying water) stop the belief that panic leads to fainting from being tested.",
        evidence: "Stayed on the train for two stops without water: anxiety peaked at 70% and fell without fainting.",
        plan_problems: "Panic attacks; avoidance of public transport.",
        goals: &[
            [
                "Travel on the underground alone",
                "Steps done on the exposure hierarchy",
                "Five stops alone at rush hour",
                "Interoceptive exposure; graded exposure; dropping safety behaviours.",
            ],
            [
                "Fewer panic attacks",
                "Panic attacks a week (panic diary)",
                "None for two weeks running",
                "Education about the panic cycle; behavioural experiments.",
            ],
        ],
        homework: "After each journey, a thought record: the sensations, the prediction and what happened.",
    },
    Story {
        problem: "Intrusive thoughts about contamination; washing rituals",
        icd10: "F42.2",
        diagnosis: "Mixed obsessional thoughts and acts",
        history: "(Fictional) Strict rules about cleanliness at home; a serious illness in the family in adolescence.",
        core_beliefs: "I am responsible for keeping everyone safe.",
        assumptions: "If I don't wash thoroughly, I'll pass on germs and it will be my fault. If I have a thought, it must matter.",
        strategies: "Washing rituals; avoiding door handles; asking the family to change clothes when they come home.",
        example: [
            "Touches the bin at work",
            "I've got germs on my hands and I'll make my niece ill",
            "It would be my fault",
            "Anxiety 90%, disgust 70%",
            "Washes hands for fifteen minutes",
        ],
        five_ps: [
            "Intrusive thoughts about contamination; washing up to two hours a day.",
            "Strict rules about cleanliness at home; an inflated sense of responsibility.",
            "The birth of a niece.",
            "Washing and avoidance stop anxiety from falling on its own; reassurance from the family.",
            "Good insight; a supportive partner; part-time work.",
        ],
        hypothesis: "An inflated sense of responsibility for harm drives the washing: it is being to blame, not dirt, that is feared.",
        evidence: "Touched the bin without washing: anxiety fell from 80% to 30% within 40 minutes.",
        plan_problems: "Contamination fears; washing rituals; avoidance.",
        goals: &[[
            "Spend less time washing",
            "Minutes washing a day (self-monitoring)",
            "Under 20 minutes a day",
            "Exposure and response prevention; responsibility pie chart.",
        ]],
        homework: "A thought record when the urge to wash is strong; rate the urge before and after.",
    },
    Story {
        problem: "Fear of speaking in meetings; avoids social events",
        icd10: "F40.1",
        diagnosis: "Social phobia",
        history: "(Fictional) Teased at school for a stammer; changed schools twice.",
        core_beliefs: "I am odd and unlikeable.",
        assumptions: "If people see I'm anxious, they'll think I'm incompetent. If I speak, I'll make a fool of myself.",
        strategies: "Rehearsing sentences; avoiding eye contact; staying quiet in meetings; leaving parties early.",
        example: [
            "Asked a question in the team meeting",
            "They can see me blushing; they think I'm stupid",
            "I'm inadequate",
            "Anxiety 80%, shame 60%",
            "Gives a short answer, looks down, leaves the meeting early",
        ],
        five_ps: [
            "Fear of speaking in meetings; avoids social events; blushing.",
            "Teasing at school; a shy temperament.",
            "A new job with weekly presentations.",
            "Self-focused attention; safety behaviours; going over events afterwards.",
            "A close friendship; a sense of humour; plays in a band.",
        ],
        hypothesis: "Self-focused attention and safety behaviours make the anxiety more visible and stop the fear from being tested.",
        evidence: "Video feedback: looked far less anxious than predicted (predicted 90%, rated 30%).",
        plan_problems: "Social anxiety at work; avoidance of social events.",
        goals: &[
            [
                "Speak up in team meetings",
                "Contributions per meeting",
                "At least one in every meeting",
                "Attention training; dropping safety behaviours; video feedback.",
            ],
            [
                "Go to social events",
                "Events attended a month",
                "Two a month, staying at least an hour",
                "Behavioural experiments; surveys of what others notice.",
            ],
        ],
        homework: "A thought record after one meeting this week: what you predicted and what happened.",
    },
];

/// What one client's records added to the report.
#[derive(Default)]
struct Made {
    notes: usize,
    formulations: usize,
    hypotheses: usize,
    plans: usize,
    progress_ratings: usize,
    homework: usize,
}

impl App {
    /// Creates the demo account (verified, with a generated password) and
    /// `size.clients` fictional clients, each with signed weekly SOAP
    /// notes, a case formulation, a working hypothesis with evidence from a
    /// note, a signed treatment plan with progress ratings and a homework
    /// assignment, through the same use cases a therapist uses (so
    /// everything is sealed and audited).
    pub async fn seed_demo(&self, size: DemoSize) -> Result<DemoReport, AppError> {
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
            practice_name: String::new(),
            crisis_text: String::new(),
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

        let mut report = DemoReport {
            email: DEMO_EMAIL,
            password,
            clients: 0,
            notes: 0,
            formulations: 0,
            hypotheses: 0,
            plans: 0,
            progress_ratings: 0,
            homework: 0,
        };
        for i in 0..size.clients {
            let story = &STORIES[i % STORIES.len()];
            let born = now.date().replace_year(now.year() - 20 - (i % 45) as i32).unwrap_or(now.date());
            let details = ClientDetails {
                full_name: format!("{} {} {}", FIRST[i % FIRST.len()], LAST[(i / FIRST.len()) % LAST.len()], i + 1),
                pronouns: ["she/her", "he/him", "they/them"][i % 3].into(),
                date_of_birth: Some(born),
                referral_source: "Demo GP practice (fictional)".into(),
                presenting_problems: story.problem.into(),
                diagnoses: vec![Diagnosis { description: story.diagnosis.into(), icd10: story.icd10.into() }],
                status: if i % 7 == 6 { ClientStatus::OnHold } else { ClientStatus::Active },
                ..ClientDetails::default()
            };
            let client = self.create_client(&account, details, &ctx).await?;
            let notes = match (i, size.busy_client_notes) {
                (0, Some(busy)) => busy,
                _ => size.notes_per_client,
            };
            let made = self.seed_demo_records(&account, client, i, story, notes, now.date(), &ctx).await?;
            report.clients += 1;
            report.notes += made.notes;
            report.formulations += made.formulations;
            report.hypotheses += made.hypotheses;
            report.plans += made.plans;
            report.progress_ratings += made.progress_ratings;
            report.homework += made.homework;
        }
        Ok(report)
    }

    /// One demo client's records: `notes` weekly signed notes (the last a
    /// week ago), then the formulation, hypothesis, plan, ratings and
    /// homework that a course of therapy that long would have.
    #[allow(clippy::too_many_arguments, reason = "one client's place in the demo caseload")]
    async fn seed_demo_records(
        &self,
        account: &Account,
        client: ClientId,
        i: usize,
        story: &Story,
        notes: usize,
        today: Date,
        ctx: &RequestContext,
    ) -> Result<Made, AppError> {
        let mut made = Made::default();
        let mut note_ids: Vec<RecordId> = Vec::with_capacity(notes);
        for n in 0..notes {
            let weeks_ago = (notes - n) as i64;
            let note = SessionNote {
                date: today - Duration::weeks(weeks_ago),
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
                drafted_with: None,
            };
            let id = self.create_record(account, client, note, ctx).await?;
            self.sign_record::<SessionNote>(account, id, 1, ctx).await?;
            note_ids.push(id);
            made.notes += 1;
        }
        // Therapy began with the first session (or a week ago, without one).
        let started = today - Duration::weeks(notes.max(1) as i64);

        let [situation, automatic_thought, meaning, emotion, behaviour] = story.example;
        let [presenting, predisposing, precipitating, perpetuating, protective] = story.five_ps;
        let formulation = Formulation {
            title: "Initial formulation (demo, fictional)".into(),
            beck: BeckConceptualisation {
                relevant_history: story.history.into(),
                core_beliefs: story.core_beliefs.into(),
                conditional_assumptions: story.assumptions.into(),
                compensatory_strategies: story.strategies.into(),
                examples: vec![ThoughtExample {
                    situation: situation.into(),
                    automatic_thought: automatic_thought.into(),
                    meaning: meaning.into(),
                    emotion: emotion.into(),
                    behaviour: behaviour.into(),
                }],
            },
            five_ps: FivePs {
                presenting: presenting.into(),
                predisposing: predisposing.into(),
                precipitating: precipitating.into(),
                perpetuating: perpetuating.into(),
                protective: protective.into(),
            },
            drafted_with: None,
        };
        self.create_record(account, client, formulation, ctx).await?;
        made.formulations += 1;

        // The evidence comes from the latest session, when there is one.
        let hypothesis = Hypothesis {
            statement: story.hypothesis.into(),
            status: if i.is_multiple_of(3) { HypothesisStatus::Supported } else { HypothesisStatus::Proposed },
            evidence: vec![Evidence {
                direction: EvidenceDirection::For,
                text: story.evidence.into(),
                source: note_ids.last().copied(),
            }],
            drafted_with: None,
        };
        self.create_record(account, client, hypothesis, ctx).await?;
        made.hypotheses += 1;

        let plan = TreatmentPlan {
            title: "Treatment plan (demo, fictional)".into(),
            status: PlanStatus::Active,
            start_date: started,
            review_date: Some(today + Duration::weeks(4)),
            problems: story.plan_problems.into(),
            goals: story
                .goals
                .iter()
                .enumerate()
                .map(|(g, [description, measure, target, interventions])| Goal {
                    number: g as u32 + 1,
                    description: (*description).into(),
                    measure: (*measure).into(),
                    target: (*target).into(),
                    target_date: Some(today + Duration::weeks(12)),
                    interventions: (*interventions).into(),
                })
                .collect(),
        };
        let plan = self.create_record(account, client, plan, ctx).await?;
        self.sign_record::<TreatmentPlan>(account, plan, 1, ctx).await?;
        made.plans += 1;

        // Each goal rated at the start, half-way and now, improving.
        let elapsed = today - started;
        let dates = [started, started + elapsed / 2, today];
        for goal in 1..=story.goals.len() as u32 {
            for (k, date) in dates.into_iter().enumerate() {
                let rating = GoalProgress {
                    plan,
                    goal,
                    date,
                    rating: (2 + 2 * k + (i + goal as usize) % 3) as u8,
                    comment: ["Baseline.", "Some progress.", "Steady progress."][k].into(),
                };
                self.rate_goal(account, rating, ctx).await?;
                made.progress_ratings += 1;
            }
        }

        self.assign_homework(
            account,
            client,
            &crate::worksheets::source_of_library("thought_record"),
            story.homework.into(),
            Some(today + Duration::weeks(1)),
            ctx,
        )
        .await?;
        made.homework += 1;
        Ok(made)
    }
}

/// A password that meets the policy: random, with all four categories.
fn demo_password() -> Result<String, AppError> {
    use base64::Engine;
    let mut bytes = [0u8; 15];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| AppError::Internal("the system random source failed".into()))?;
    Ok(format!("Demo-{}-7q", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)))
}
