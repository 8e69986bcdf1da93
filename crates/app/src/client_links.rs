//! Client self-report links: the therapist sends a questionnaire (by email
//! to the client's address, or as a link to copy), the client opens it
//! without an account and submits answers once; the therapist lists and
//! revokes links. Only the token's SHA-256 is stored. Every step is an
//! audit event without answers; refused attempts (unknown, used, revoked
//! or expired links) are recorded as denied, and all of them are rate
//! limited per IP address.

use cbt_domain::account::Account;
use cbt_domain::assessment::{AssessmentResult, Instrument, Respondent};
use cbt_domain::audit::{Actor, AuditAction, AuditOutcome, AuditTarget, RequestContext, TargetKind};
use cbt_domain::client_link::{self, LinkRequest, LinkState};
use cbt_domain::homework::{Homework, HomeworkStatus};
use cbt_domain::ids::{ClientId, ClientLinkId, RecordId};
use cbt_domain::record::ClinicalRecord;
use cbt_domain::validation::{FieldError, FieldErrors};
use cbt_domain::{AccountId, Phi};
use cbt_ports::{OutgoingMail, StoredClientLink, StoredRecord, StoredRecordVersion};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::accounts::{bucket, ip_key, new_token, token_hash};
use crate::{App, AppError};

/// How a new link reaches the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Emailed to the address in the client's details.
    Email,
    /// Shown once to the therapist, to pass on themselves.
    Copy,
}

/// A link just made. `url` holds the token: it is shown once and never
/// stored or logged.
#[derive(Debug)]
pub struct SentLink {
    pub id: ClientLinkId,
    pub url: Phi<String>,
    pub emailed: bool,
    pub expires_at: OffsetDateTime,
}

/// A link as the therapist's list shows it.
#[derive(Debug)]
pub struct LinkSummary {
    pub id: ClientLinkId,
    pub instrument: String,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub opened_at: Option<OffsetDateTime>,
    pub state: LinkState,
    pub result: Option<RecordId>,
}

/// What the client's page shows: the practice, the crisis text, and the
/// task (a questionnaire, or homework to fill in).
#[derive(Debug)]
pub struct LinkPage {
    pub practice: String,
    pub crisis_text: String,
    pub task: Task,
}

#[derive(Debug)]
pub enum Task {
    Questionnaire(Box<Instrument>),
    /// The homework as assigned (its worksheet, instructions, due date);
    /// answers already given are not shown back to whoever holds the link.
    Homework(Box<Homework>),
}

/// What a client sent back.
#[derive(Debug)]
pub enum Answers {
    /// In item order; `None` is unanswered.
    Questionnaire(Vec<Option<u32>>),
    /// By worksheet field key.
    Homework(std::collections::BTreeMap<String, String>),
}

/// A usable link with what it asks for, read before its transaction.
struct OpenedLink {
    link: StoredClientLink,
    request: LinkRequest,
    page: LinkPage,
    /// The homework as stored, for a homework link.
    homework: Option<(StoredRecord, Zeroizing<Homework>)>,
}

/// What became of a client's answers.
#[derive(Debug)]
pub enum Submission {
    Accepted,
    /// Answers that cannot be scored: the questionnaire to show again with
    /// the errors; the link still works.
    Rejected(Box<LinkPage>, FieldErrors),
}

const LINK_KIND: &str = "client_link";

impl App {
    fn link_target(id: Option<ClientLinkId>) -> AuditTarget {
        AuditTarget { kind: TargetKind::ClientLink, id: id.map(|i| i.as_uuid()) }
    }

    async fn open_request(&self, link: &StoredClientLink) -> Result<LinkRequest, AppError> {
        let request =
            self.open_document::<LinkRequest>(link.account, LINK_KIND, link.id.as_uuid(), 1, &link.sealed).await?;
        Ok(request.expose().clone())
    }

    /// Sends one of the therapist's clients a questionnaire to complete.
    pub async fn send_client_link(
        &self,
        account: &Account,
        client: ClientId,
        instrument: &str,
        delivery: Delivery,
        ctx: &RequestContext,
    ) -> Result<SentLink, AppError> {
        let me = Self::clinician(account)?;
        self.store.client(me, client).await?.ok_or(AppError::NotFound)?;
        let (_, definition) = self.instrument_for(me, instrument).await?;
        let (practice, crisis_text) = client_link::shown_to_clients(account);
        let request =
            LinkRequest { instrument: instrument.to_owned(), definition, homework: None, practice, crisis_text };
        self.send_link(me, client, request, delivery, ctx).await
    }

    /// Makes a link asking for `request`, emailed to the client or shown
    /// once to the therapist.
    async fn send_link(
        &self,
        me: AccountId,
        client: ClientId,
        request: LinkRequest,
        delivery: Delivery,
        ctx: &RequestContext,
    ) -> Result<SentLink, AppError> {
        let request = Zeroizing::new(request);
        let stored = self.store.client(me, client).await?.ok_or(AppError::NotFound)?;
        let details = self.open_client(stored).await?.details;
        let email = details.expose().email.trim().to_owned();
        if delivery == Delivery::Email && email.is_empty() {
            let message = "This client has no email address: add one to their details, or copy the link instead.";
            return Err(AppError::Invalid(FieldError::new("delivery", message).into()));
        }
        let (link, token) = self.new_link(me, client, &request).await?;
        let (id, expires_at) = (link.id, link.expires_at);
        let mut tx = self.store.begin().await?;
        tx.insert_client_link(&link).await?;
        let event = self.event(
            Actor::Account(me),
            AuditAction::ClientLinkCreated,
            Self::link_target(Some(id)),
            AuditOutcome::Success,
            ctx,
        );
        self.audit(&mut tx, event).await?;
        tx.commit().await?;
        let url = self.link(&format!("/questionnaire?token={}", &*token));
        if delivery == Delivery::Email {
            self.send_later(link_mail(email, &request, &url, expires_at));
        }
        Ok(SentLink { id, url: Phi::new(url), emailed: delivery == Delivery::Email, expires_at })
    }

    /// A new link asking for `request`, sealed, and its token (shown once).
    pub(crate) async fn new_link(
        &self,
        me: AccountId,
        client: ClientId,
        request: &LinkRequest,
    ) -> Result<(StoredClientLink, Zeroizing<String>), AppError> {
        let now = self.now();
        let id = ClientLinkId::new();
        let token = Zeroizing::new(new_token()?);
        let sealed = self.seal_document(me, LINK_KIND, id.as_uuid(), 1, request).await?;
        let link = StoredClientLink {
            id,
            account: me,
            client,
            token_hash: token_hash(&token),
            sealed,
            created_at: now,
            expires_at: now + self.settings.client_link_lifetime,
            opened_at: None,
            used_at: None,
            revoked_at: None,
            result: None,
        };
        Ok((link, token))
    }

    /// The links sent to one of the therapist's clients, newest first.
    pub async fn client_links(
        &self,
        account: &Account,
        client: ClientId,
        ctx: &RequestContext,
    ) -> Result<Vec<LinkSummary>, AppError> {
        let me = Self::clinician(account)?;
        self.store.client(me, client).await?.ok_or(AppError::NotFound)?;
        let now = self.clock.now();
        let mut out = Vec::new();
        for link in self.store.client_links_of(me, client).await?.into_iter().rev() {
            let request = self.open_request(&link).await?;
            let instrument = match &request.definition {
                _ if request.homework.is_some() => "Homework".to_owned(),
                Some(d) => d.short_name.clone(),
                None => cbt_domain::assessment::library()
                    .ok()
                    .and_then(|l| l.get(&request.instrument))
                    .map_or_else(|| request.instrument.clone(), |i| i.definition().short_name.clone()),
            };
            out.push(LinkSummary {
                id: link.id,
                instrument,
                created_at: link.created_at,
                expires_at: link.expires_at,
                opened_at: link.opened_at,
                state: LinkState::at(now, link.expires_at, link.used_at, link.revoked_at),
                result: link.result,
            });
        }
        self.audit_read(me, AuditAction::ClientLinksListed, TargetKind::ClientLink, None, ctx).await?;
        Ok(out)
    }

    /// Revokes one of the therapist's links that has not been used.
    pub async fn revoke_client_link(
        &self,
        account: &Account,
        id: ClientLinkId,
        ctx: &RequestContext,
    ) -> Result<ClientId, AppError> {
        let me = Self::clinician(account)?;
        let link = self.store.client_link(me, id).await?.ok_or(AppError::NotFound)?;
        let mut tx = self.store.begin().await?;
        if !tx.revoke_client_link(me, id, self.now()).await? {
            let message = "This link was already completed or revoked.";
            return Err(AppError::Invalid(FieldError::new("link", message).into()));
        }
        let event = self.event(
            Actor::Account(me),
            AuditAction::ClientLinkRevoked,
            Self::link_target(Some(id)),
            AuditOutcome::Success,
            ctx,
        );
        self.audit(&mut tx, event).await?;
        tx.commit().await?;
        Ok(link.client)
    }

    /// Finds the link and what it asks for; an unknown or unusable one is
    /// recorded (denied) and answered `InvalidLink`, whichever it was. The
    /// attempt counts against the IP address's limit either way.
    ///
    /// Everything is read before the transaction that counts the attempt
    /// begins: a request holding its transaction's connection while it
    /// waits for another from the pool would, with as many requests at
    /// once as the pool has connections, wait for ever.
    async fn usable_link(
        &self,
        token: &str,
        action: AuditAction,
        ctx: &RequestContext,
    ) -> Result<(Box<dyn cbt_ports::StoreTx>, OpenedLink), AppError> {
        let found = match self.store.client_link_by_token(&token_hash(token)).await? {
            Some(link)
                if LinkState::at(self.now(), link.expires_at, link.used_at, link.revoked_at) == LinkState::Usable =>
            {
                let id = link.id;
                match self.opened_link(link).await {
                    Ok(opened) => Ok(opened),
                    // What it asks for is gone (a deleted homework).
                    Err(AppError::InvalidLink) => Err(Some(id)),
                    Err(e) => return Err(e),
                }
            }
            other => Err(other.map(|l| l.id)),
        };
        let bucket = bucket("client_link", &ip_key(ctx));
        let rule = self.settings.client_link_rule;
        let mut tx = self.refuse_if_limited(&[(&bucket, rule)], Self::link_target(None), ctx).await?;
        match found {
            Ok(opened) => Ok((tx, opened)),
            Err(id) => {
                let event = self.event(Actor::Anonymous, action, Self::link_target(id), AuditOutcome::Denied, ctx);
                self.audit(&mut tx, event).await?;
                tx.commit().await?;
                Err(AppError::InvalidLink)
            }
        }
    }

    /// What a usable link asks for, opened: the request, the page the
    /// client sees and, for homework, the homework as stored.
    async fn opened_link(&self, link: StoredClientLink) -> Result<OpenedLink, AppError> {
        let request = self.open_request(&link).await?;
        let (task, homework) = match request.homework {
            Some(id) => {
                let stored =
                    self.stored_record::<Homework>(link.account, id).await.map_err(|_| AppError::InvalidLink)?;
                let saved = self.open_content::<Homework>(link.account, id, stored.version, &stored.sealed).await?;
                // The link shows the task, not past answers or review notes.
                let mut task = saved.expose().clone();
                task.responses.clear();
                task.review_notes.clear();
                (Task::Homework(Box::new(task)), Some((stored, Zeroizing::new(saved.expose().clone()))))
            }
            None => (Task::Questionnaire(Box::new(self.instrument_of_request(&request)?.0)), None),
        };
        let page = LinkPage { practice: request.practice.clone(), crisis_text: request.crisis_text.clone(), task };
        Ok(OpenedLink { link, request, page, homework })
    }

    /// What a client's link asks for, if it still works.
    pub async fn open_client_link(&self, token: &str, ctx: &RequestContext) -> Result<LinkPage, AppError> {
        let (mut tx, OpenedLink { link, page, .. }) =
            self.usable_link(token, AuditAction::ClientLinkOpened, ctx).await?;
        tx.open_client_link(link.id, self.now()).await?;
        let event = self.event(
            Actor::Anonymous,
            AuditAction::ClientLinkOpened,
            Self::link_target(Some(link.id)),
            AuditOutcome::Success,
            ctx,
        );
        self.audit(&mut tx, event).await?;
        tx.commit().await?;
        Ok(page)
    }

    fn instrument_of_request(&self, request: &LinkRequest) -> Result<(Instrument, AssessmentResult), AppError> {
        let today = self.now().date();
        let result = AssessmentResult::new(&request.instrument, request.definition.clone(), today);
        let instrument =
            result.instrument().map_err(|_| AppError::Internal("a link's instrument is unknown".into()))?;
        Ok((instrument, result))
    }

    /// Accepts a client's answers through their link: the result is saved,
    /// scored, put in the client's index (and the therapist's risk flags),
    /// and the link used, in one transaction. `read` takes the answers from
    /// the form for the link's instrument. Answers that cannot be scored
    /// are rejected with the questionnaire, and the link stays usable.
    pub async fn submit_client_link(
        &self,
        token: &str,
        read: impl FnOnce(&Task) -> Result<Answers, FieldErrors>,
        ctx: &RequestContext,
    ) -> Result<Submission, AppError> {
        let (mut tx, OpenedLink { link, request, page, homework }) =
            self.usable_link(token, AuditAction::ClientLinkSubmitted, ctx).await?;
        let me: AccountId = link.account;
        let answers = match read(&page.task) {
            Ok(answers) => answers,
            Err(errors) => {
                // The attempt still counts against the limit.
                tx.commit().await?;
                return Ok(Submission::Rejected(Box::new(page), errors));
            }
        };
        let now = self.now();
        let checked = match (answers, homework) {
            (Answers::Homework(responses), Some(homework)) => {
                return self.submit_homework(tx, &link, homework, responses, page, ctx).await;
            }
            (Answers::Questionnaire(answers), None) => {
                let (_, mut result) = self.instrument_of_request(&request)?;
                result.answers = answers;
                result.respondent = Respondent::Client;
                result.validated(now.date())
            }
            _ => return Err(AppError::Internal("answers of the wrong kind for a link".into())),
        };
        let result = match checked {
            Ok(r) => Zeroizing::new(r),
            Err(errors) => {
                tx.commit().await?;
                return Ok(Submission::Rejected(Box::new(page), errors));
            }
        };
        let id = RecordId::new();
        let sealed = self.seal_document(me, AssessmentResult::KIND, id.as_uuid(), 1, &*result).await?;
        let record = StoredRecord {
            id,
            account: me,
            client: link.client,
            kind: AssessmentResult::KIND.into(),
            version: 1,
            sealed: sealed.clone(),
            signed_at: None,
            created_at: now,
            updated_at: now,
        };
        let first = StoredRecordVersion { record: id, version: 1, sealed, changed_by: me, changed_at: now };
        tx.insert_record(&record, &first).await?;
        if !tx.use_client_link(link.id, now, id).await? {
            // Submitted twice at once: the other one won.
            return Err(AppError::InvalidLink);
        }
        if let Some(entry) = result.index_entry(id, false) {
            self.put_in_index(&mut tx, me, link.client, entry).await?;
        }
        let events = [
            self.event(
                Actor::Anonymous,
                AssessmentResult::ACTIONS.create,
                AuditTarget::new(AssessmentResult::TARGET, id.as_uuid()),
                AuditOutcome::Success,
                ctx,
            ),
            self.event(
                Actor::Anonymous,
                AuditAction::ClientLinkSubmitted,
                Self::link_target(Some(link.id)),
                AuditOutcome::Success,
                ctx,
            ),
        ];
        self.audit_all(&mut tx, &events).await?;
        tx.commit().await?;
        Ok(Submission::Accepted)
    }

    /// A client's answers to their homework: the homework's next version
    /// (answers and status "completed"), made in the link's transaction.
    /// The therapist's review notes and anything else stay as saved.
    async fn submit_homework(
        &self,
        mut tx: Box<dyn cbt_ports::StoreTx>,
        link: &StoredClientLink,
        (stored, saved): (StoredRecord, Zeroizing<Homework>),
        responses: std::collections::BTreeMap<String, String>,
        page: LinkPage,
        ctx: &RequestContext,
    ) -> Result<Submission, AppError> {
        let (me, id) = (link.account, stored.id);
        let now = self.now();
        let mut homework = (*saved).clone();
        homework.responses = responses;
        homework.status = HomeworkStatus::Completed;
        let homework = match homework.validated(now.date()) {
            Ok(h) => Zeroizing::new(h),
            Err(errors) => {
                tx.commit().await?;
                return Ok(Submission::Rejected(Box::new(page), errors));
            }
        };
        let next = stored.version + 1;
        let sealed = self.seal_document(me, Homework::KIND, id.as_uuid(), next, &*homework).await?;
        let changed = StoredRecord { version: next, sealed: sealed.clone(), updated_at: now, ..stored };
        let version = StoredRecordVersion { record: id, version: next, sealed, changed_by: me, changed_at: now };
        if !tx.update_record(&changed, &version).await? {
            // The therapist saved the homework at this very moment: the
            // client is asked to send again, nothing is lost.
            return Err(AppError::Conflict);
        }
        if !tx.use_client_link(link.id, now, id).await? {
            return Err(AppError::InvalidLink);
        }
        let events = [
            self.event(
                Actor::Anonymous,
                Homework::ACTIONS.update,
                AuditTarget::new(Homework::TARGET, id.as_uuid()),
                AuditOutcome::Success,
                ctx,
            ),
            self.event(
                Actor::Anonymous,
                AuditAction::ClientLinkSubmitted,
                Self::link_target(Some(link.id)),
                AuditOutcome::Success,
                ctx,
            ),
        ];
        self.audit_all(&mut tx, &events).await?;
        tx.commit().await?;
        Ok(Submission::Accepted)
    }

    /// Sends a client a link to fill in one of the therapist's homework
    /// records themselves.
    pub async fn send_homework_link(
        &self,
        account: &Account,
        homework: RecordId,
        delivery: Delivery,
        ctx: &RequestContext,
    ) -> Result<(ClientId, SentLink), AppError> {
        let me = Self::clinician(account)?;
        let stored = self.stored_record::<Homework>(me, homework).await?;
        let (practice, crisis_text) = client_link::shown_to_clients(account);
        let request = LinkRequest {
            instrument: String::new(),
            definition: None,
            homework: Some(homework),
            practice,
            crisis_text,
        };
        let sent = self.send_link(me, stored.client, request, delivery, ctx).await?;
        Ok((stored.client, sent))
    }
}

/// The email that brings a client their link: it names neither the client
/// nor the questionnaire.
pub(crate) fn link_mail(to: String, request: &LinkRequest, url: &str, expires_at: OffsetDateTime) -> OutgoingMail {
    let (what, task) = if request.homework.is_some() {
        ("Homework", "fill in your homework (the exercise you agreed on in your session)")
    } else {
        ("A questionnaire", "fill in a short questionnaire before your next session")
    };
    OutgoingMail {
        to,
        subject: format!("{what} from {}", request.practice),
        text: format!(
            "{practice} has asked you to {task}.\n\n\
             Open this link to answer it (it works once, until {until}):\n{url}\n\n\
             This form is not monitored in real time. {crisis}\n",
            practice = request.practice,
            until = expires_at.date(),
            crisis = request.crisis_text,
        ),
    }
}

/// The lifetime a deployment may give links: at least an hour, at most
/// `client_link::MAX_LIFETIME`.
pub fn valid_lifetime(lifetime: time::Duration) -> bool {
    lifetime >= time::Duration::hours(1) && lifetime <= client_link::MAX_LIFETIME
}
