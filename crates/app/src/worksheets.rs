//! Worksheets and homework: the therapist's custom worksheets (sealed,
//! account-wide), and assigning a worksheet (from the library or custom)
//! to a client as homework. Homework itself is a clinical record (see
//! `records`); recording its completion is an update of that record.

use cbt_domain::account::Account;
use cbt_domain::audit::{Actor, AuditAction, AuditOutcome, AuditTarget, RequestContext, TargetKind};
use cbt_domain::homework::{Homework, HomeworkStatus, Worksheet, from_library};
use cbt_domain::ids::{ClientId, RecordId, WorksheetId};
use cbt_domain::validation::FieldError;
use cbt_domain::{AccountId, Phi};
use cbt_ports::StoredWorksheet;
use time::{Date, OffsetDateTime};

use crate::{App, AppError};

const KIND: &str = "worksheet";

/// A custom worksheet as the therapist reads it.
#[derive(Debug)]
pub struct CustomWorksheet {
    pub id: WorksheetId,
    pub version: i64,
    pub worksheet: Phi<Worksheet>,
    pub updated_at: OffsetDateTime,
}

/// What to assign: `library:<key>` or `custom:<id>`, as the forms and the
/// API name it.
pub fn source_of_library(key: &str) -> String {
    format!("library:{key}")
}

impl App {
    async fn open_worksheet(&self, me: AccountId, stored: StoredWorksheet) -> Result<CustomWorksheet, AppError> {
        let worksheet = self.open_document(me, KIND, stored.id.as_uuid(), stored.version, &stored.sealed).await?;
        Ok(CustomWorksheet { id: stored.id, version: stored.version, worksheet, updated_at: stored.updated_at })
    }

    async fn write_worksheet(
        &self,
        me: AccountId,
        stored: &StoredWorksheet,
        action: AuditAction,
        ctx: &RequestContext,
    ) -> Result<(), AppError> {
        let mut tx = self.store.begin().await?;
        if stored.version == 1 {
            tx.insert_worksheet(stored).await?;
        } else if !tx.update_worksheet(stored).await? {
            return Err(AppError::Conflict);
        }
        let target = AuditTarget::new(TargetKind::Worksheet, stored.id.as_uuid());
        let event = self.event(Actor::Account(me), action, target, AuditOutcome::Success, ctx);
        self.audit(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Adds a custom worksheet to the therapist's library.
    pub async fn create_worksheet(
        &self,
        account: &Account,
        worksheet: Worksheet,
        ctx: &RequestContext,
    ) -> Result<WorksheetId, AppError> {
        let me = Self::clinician(account)?;
        let now = cbt_domain::time::to_storage_precision(self.clock.now());
        let id = WorksheetId::new();
        let sealed = self.seal_document(me, KIND, id.as_uuid(), 1, &worksheet).await?;
        let stored = StoredWorksheet { id, account: me, version: 1, sealed, created_at: now, updated_at: now };
        self.write_worksheet(me, &stored, AuditAction::WorksheetCreated, ctx).await?;
        Ok(id)
    }

    /// Changes a custom worksheet (homework already assigned keeps its copy).
    pub async fn update_worksheet(
        &self,
        account: &Account,
        id: WorksheetId,
        version: i64,
        worksheet: Worksheet,
        ctx: &RequestContext,
    ) -> Result<i64, AppError> {
        let me = Self::clinician(account)?;
        let stored = self.store.worksheet(me, id).await?.ok_or(AppError::NotFound)?;
        if stored.version != version {
            return Err(AppError::Conflict);
        }
        let next = version + 1;
        let sealed = self.seal_document(me, KIND, id.as_uuid(), next, &worksheet).await?;
        let now = cbt_domain::time::to_storage_precision(self.clock.now());
        let changed = StoredWorksheet { version: next, sealed, updated_at: now, ..stored };
        self.write_worksheet(me, &changed, AuditAction::WorksheetUpdated, ctx).await?;
        Ok(next)
    }

    /// One of the therapist's custom worksheets.
    pub async fn worksheet(
        &self,
        account: &Account,
        id: WorksheetId,
        ctx: &RequestContext,
    ) -> Result<CustomWorksheet, AppError> {
        let me = Self::clinician(account)?;
        let stored = self.store.worksheet(me, id).await?.ok_or(AppError::NotFound)?;
        let sheet = self.open_worksheet(me, stored).await?;
        self.audit_read(me, AuditAction::WorksheetRead, TargetKind::Worksheet, Some(id.as_uuid()), ctx).await?;
        Ok(sheet)
    }

    /// The therapist's custom worksheets, oldest first.
    pub async fn worksheets(&self, account: &Account, ctx: &RequestContext) -> Result<Vec<CustomWorksheet>, AppError> {
        let me = Self::clinician(account)?;
        let mut out = Vec::new();
        for stored in self.store.worksheets_of(me).await? {
            out.push(self.open_worksheet(me, stored).await?);
        }
        self.audit_read(me, AuditAction::WorksheetsListed, TargetKind::Worksheet, None, ctx).await?;
        Ok(out)
    }

    /// Assigns a worksheet to one of the therapist's clients: `source` is
    /// `library:<key>` or `custom:<id>` (a custom one must be theirs).
    #[allow(clippy::too_many_arguments, reason = "the assignment's own fields")]
    pub async fn assign_homework(
        &self,
        account: &Account,
        client: ClientId,
        source: &str,
        instructions: String,
        due_on: Option<Date>,
        ctx: &RequestContext,
    ) -> Result<RecordId, AppError> {
        let me = Self::clinician(account)?;
        self.check_client(account, client).await?;
        let unknown = || AppError::Invalid(FieldError::new("source", "Choose a worksheet from the list.").into());
        let worksheet = match source.split_once(':') {
            Some(("library", key)) => from_library(key).ok_or_else(unknown)?,
            Some(("custom", id)) => {
                let id: WorksheetId = id.parse().map_err(|_| unknown())?;
                let stored = self.store.worksheet(me, id).await?.ok_or_else(unknown)?;
                self.open_worksheet(me, stored).await?.worksheet.expose().clone()
            }
            _ => return Err(unknown()),
        };
        let today = cbt_domain::time::to_storage_precision(self.clock.now()).date();
        let homework = Homework {
            worksheet,
            source: source.to_owned(),
            instructions,
            assigned_on: today,
            due_on,
            status: HomeworkStatus::Assigned,
            responses: Default::default(),
            review_notes: String::new(),
        };
        self.create_record(account, client, homework, ctx).await
    }
}
