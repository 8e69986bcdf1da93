//! Clients: create, open, change, list and search, history. Each client's
//! details are one sealed document; every change is a new version, written
//! with its audit event in one transaction; every read is audited.

use cbt_domain::account::Account;
use cbt_domain::audit::{Actor, AuditAction, AuditOutcome, AuditTarget, RequestContext, TargetKind};
use cbt_domain::client::{ClientDetails, ClientStatus};
use cbt_domain::ids::ClientId;
use cbt_domain::{AccountId, Phi};
use cbt_ports::{StoredClient, StoredClientVersion};
use time::OffsetDateTime;

use crate::{App, AppError};

/// A client as the therapist sees it.
#[derive(Debug)]
pub struct Client {
    pub id: ClientId,
    /// Give it back when saving a change (a newer one means someone else
    /// saved meanwhile).
    pub version: i64,
    pub details: Phi<ClientDetails>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// One saved version, for the history.
#[derive(Debug)]
pub struct ClientVersion {
    pub version: i64,
    pub changed_by: AccountId,
    pub changed_at: OffsetDateTime,
    pub details: Phi<ClientDetails>,
}

/// How the caseload list is ordered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ClientSort {
    #[default]
    Name,
    RecentlyUpdated,
    Newest,
}

/// What the caseload list shows.
#[derive(Clone, Debug, Default)]
pub struct ClientQuery {
    /// Matched, ignoring case, against names, contact details, presenting
    /// problems and diagnoses (in memory, after decryption).
    pub search: Option<String>,
    pub status: Option<ClientStatus>,
    pub sort: ClientSort,
}

/// The record kind a client's details are sealed as.
const KIND: &str = "client";

fn matches(details: &ClientDetails, needle: &str) -> bool {
    let found = |text: &str| text.to_lowercase().contains(needle);
    [
        &details.full_name,
        &details.preferred_name,
        &details.email,
        &details.phone,
        &details.presenting_problems,
        &details.referral_source,
    ]
    .into_iter()
    .any(|t| found(t))
        || details.diagnoses.iter().any(|d| found(&d.description) || found(&d.icd10))
}

impl App {
    /// Clinical records open once the account's email is confirmed.
    pub(crate) fn clinician(account: &Account) -> Result<AccountId, AppError> {
        if account.email_verified_at.is_none() {
            return Err(AppError::VerificationRequired);
        }
        Ok(account.id)
    }

    async fn seal_details(
        &self,
        account: AccountId,
        id: ClientId,
        version: i64,
        details: &ClientDetails,
    ) -> Result<Vec<u8>, AppError> {
        self.seal_document(account, KIND, id.as_uuid(), version, details).await
    }

    async fn open_details(
        &self,
        account: AccountId,
        id: ClientId,
        version: i64,
        sealed: &[u8],
    ) -> Result<Phi<ClientDetails>, AppError> {
        self.open_document(account, KIND, id.as_uuid(), version, sealed).await
    }

    pub(crate) async fn open_client(&self, stored: StoredClient) -> Result<Client, AppError> {
        let details = self.open_details(stored.account, stored.id, stored.version, &stored.sealed).await?;
        Ok(Client {
            id: stored.id,
            version: stored.version,
            details,
            created_at: stored.created_at,
            updated_at: stored.updated_at,
        })
    }

    /// Adds a client to the therapist's caseload.
    pub async fn create_client(
        &self,
        account: &Account,
        details: ClientDetails,
        ctx: &RequestContext,
    ) -> Result<ClientId, AppError> {
        let me = Self::clinician(account)?;
        let now = cbt_domain::time::to_storage_precision(self.clock.now());
        let mut details = details.validated(now.date()).map_err(AppError::Invalid)?;
        details.status_since = Some(now.date());
        let id = ClientId::new();
        let sealed = self.seal_details(me, id, 1, &details).await?;
        let client =
            StoredClient { id, account: me, version: 1, sealed: sealed.clone(), created_at: now, updated_at: now };
        let first = StoredClientVersion { client: id, version: 1, sealed, changed_by: me, changed_at: now };
        let mut tx = self.store.begin().await?;
        tx.insert_client(&client, &first).await?;
        let target = AuditTarget::new(TargetKind::Client, id.as_uuid());
        let event = self.event(Actor::Account(me), AuditAction::ClientCreated, target, AuditOutcome::Success, ctx);
        self.audit(&mut tx, event).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Opens one client. Another therapist's client is `NotFound`.
    pub async fn client(&self, account: &Account, id: ClientId, ctx: &RequestContext) -> Result<Client, AppError> {
        let me = Self::clinician(account)?;
        let stored = self.store.client(me, id).await?.ok_or(AppError::NotFound)?;
        let client = self.open_client(stored).await?;
        self.audit_read(me, AuditAction::ClientRead, TargetKind::Client, Some(id.as_uuid()), ctx).await?;
        Ok(client)
    }

    /// Whether the client is one of the account's: `NotFound` otherwise.
    /// Nothing is decrypted, so nothing is audited; a form that fails
    /// validation answers 404 for another therapist's client, as the
    /// same form with good input would.
    pub async fn check_client(&self, account: &Account, id: ClientId) -> Result<(), AppError> {
        let me = Self::clinician(account)?;
        self.store.client(me, id).await?.ok_or(AppError::NotFound)?;
        Ok(())
    }

    /// Saves a change as a new version, if nobody saved since `version`
    /// was read (else `Conflict`, and nothing is written).
    pub async fn update_client(
        &self,
        account: &Account,
        id: ClientId,
        version: i64,
        details: ClientDetails,
        ctx: &RequestContext,
    ) -> Result<i64, AppError> {
        let me = Self::clinician(account)?;
        let now = cbt_domain::time::to_storage_precision(self.clock.now());
        let mut details = details.validated(now.date()).map_err(AppError::Invalid)?;
        let stored = self.store.client(me, id).await?.ok_or(AppError::NotFound)?;
        if stored.version != version {
            return Err(AppError::Conflict);
        }
        let before = self.open_details(me, id, stored.version, &stored.sealed).await?;
        details.status_since =
            if before.expose().status == details.status { before.expose().status_since } else { Some(now.date()) };
        let next = version + 1;
        let sealed = self.seal_details(me, id, next, &details).await?;
        let client = StoredClient { version: next, sealed: sealed.clone(), updated_at: now, ..stored };
        let record = StoredClientVersion { client: id, version: next, sealed, changed_by: me, changed_at: now };
        let mut tx = self.store.begin().await?;
        if !tx.update_client(&client, &record).await? {
            return Err(AppError::Conflict);
        }
        let target = AuditTarget::new(TargetKind::Client, id.as_uuid());
        let event = self.event(Actor::Account(me), AuditAction::ClientUpdated, target, AuditOutcome::Success, ctx);
        self.audit(&mut tx, event).await?;
        tx.commit().await?;
        Ok(next)
    }

    /// The caseload: every client decrypted in memory (a caseload is small),
    /// then filtered, searched and sorted.
    pub async fn clients(
        &self,
        account: &Account,
        query: &ClientQuery,
        ctx: &RequestContext,
    ) -> Result<Vec<Client>, AppError> {
        let me = Self::clinician(account)?;
        let needle = query.search.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_lowercase);
        let mut out = Vec::new();
        for stored in self.store.clients_of(me).await? {
            let client = self.open_client(stored).await?;
            let d = client.details.expose();
            if query.status.is_some_and(|s| s != d.status) || needle.as_deref().is_some_and(|n| !matches(d, n)) {
                continue;
            }
            out.push(client);
        }
        match query.sort {
            ClientSort::Name => out.sort_by_cached_key(|c| c.details.expose().display_name().to_lowercase()),
            ClientSort::RecentlyUpdated => out.sort_by_key(|c| std::cmp::Reverse(c.updated_at)),
            ClientSort::Newest => out.sort_by_key(|c| std::cmp::Reverse(c.created_at)),
        }
        self.audit_read(me, AuditAction::ClientsListed, TargetKind::Client, None, ctx).await?;
        Ok(out)
    }

    /// Every saved version of a client, oldest first.
    pub async fn client_history(
        &self,
        account: &Account,
        id: ClientId,
        ctx: &RequestContext,
    ) -> Result<Vec<ClientVersion>, AppError> {
        let me = Self::clinician(account)?;
        let versions = self.store.client_versions(me, id).await?;
        if versions.is_empty() {
            return Err(AppError::NotFound);
        }
        let mut out = Vec::with_capacity(versions.len());
        for v in versions {
            let details = self.open_details(me, id, v.version, &v.sealed).await?;
            out.push(ClientVersion { version: v.version, changed_by: v.changed_by, changed_at: v.changed_at, details });
        }
        self.audit_read(me, AuditAction::ClientHistoryRead, TargetKind::Client, Some(id.as_uuid()), ctx).await?;
        Ok(out)
    }
}
