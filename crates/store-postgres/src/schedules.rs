//! Recurring questionnaires on PostgreSQL (see migration 0012). The job runner
//! claims a due schedule by moving `next_due_at` on with one conditional
//! UPDATE: of two runners, one sends.

use cbt_domain::AccountId;
use cbt_domain::ids::{ClientId, ScheduleId};
use cbt_ports::{StoreError, StoredSchedule};
use sqlx::postgres::PgRow;
use sqlx::{PgExecutor, Row};
use time::OffsetDateTime;

use crate::backend;

const COLUMNS: &str = "id, account_id, client_id, sealed, every_days, next_due_at, created_at, stopped_at";

fn schedule(r: &PgRow) -> Result<StoredSchedule, StoreError> {
    Ok(StoredSchedule {
        id: ScheduleId::from_uuid(r.try_get("id").map_err(backend)?),
        account: AccountId::from_uuid(r.try_get("account_id").map_err(backend)?),
        client: ClientId::from_uuid(r.try_get("client_id").map_err(backend)?),
        sealed: r.try_get("sealed").map_err(backend)?,
        every_days: r.try_get("every_days").map_err(backend)?,
        next_due_at: r.try_get("next_due_at").map_err(backend)?,
        created_at: r.try_get("created_at").map_err(backend)?,
        stopped_at: r.try_get("stopped_at").map_err(backend)?,
    })
}

pub async fn schedules_of<'e>(
    e: impl PgExecutor<'e>,
    account: AccountId,
    client: ClientId,
) -> Result<Vec<StoredSchedule>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM assessment_schedules WHERE account_id = $1 AND client_id = $2 ORDER BY created_at, id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(account.as_uuid())
        .bind(client.as_uuid())
        .fetch_all(e)
        .await
        .map_err(backend)?;
    rows.iter().map(schedule).collect()
}

pub async fn due_schedules<'e>(
    e: impl PgExecutor<'e>,
    now: OffsetDateTime,
    limit: u32,
) -> Result<Vec<StoredSchedule>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM assessment_schedules WHERE stopped_at IS NULL AND next_due_at <= $1 \
         ORDER BY next_due_at, id LIMIT $2"
    );
    let rows =
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now).bind(i64::from(limit)).fetch_all(e).await.map_err(backend)?;
    rows.iter().map(schedule).collect()
}

pub async fn insert_schedule<'e>(e: impl PgExecutor<'e>, s: &StoredSchedule) -> Result<(), StoreError> {
    // The client must be the account's too.
    let sql = format!(
        "INSERT INTO assessment_schedules ({COLUMNS}) SELECT $1, $2, $3, $4, $5, $6, $7, $8 \
         WHERE EXISTS (SELECT 1 FROM clients WHERE id = $3 AND account_id = $2)"
    );
    let done = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(s.id.as_uuid())
        .bind(s.account.as_uuid())
        .bind(s.client.as_uuid())
        .bind(&s.sealed)
        .bind(s.every_days)
        .bind(s.next_due_at)
        .bind(s.created_at)
        .bind(s.stopped_at)
        .execute(e)
        .await
        .map_err(backend)?;
    if done.rows_affected() == 1 { Ok(()) } else { Err(StoreError::Corrupt { what: "client of a new schedule" }) }
}

pub async fn advance_schedule<'e>(
    e: impl PgExecutor<'e>,
    id: ScheduleId,
    due: OffsetDateTime,
    next: OffsetDateTime,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE assessment_schedules SET next_due_at = $1 WHERE id = $2 AND next_due_at = $3 AND stopped_at IS NULL",
    )
    .bind(next)
    .bind(id.as_uuid())
    .bind(due)
    .execute(e)
    .await
    .map_err(backend)?;
    Ok(done.rows_affected() == 1)
}

pub async fn stop_schedule<'e>(
    e: impl PgExecutor<'e>,
    account: AccountId,
    id: ScheduleId,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE assessment_schedules SET stopped_at = $1 WHERE id = $2 AND account_id = $3 AND stopped_at IS NULL",
    )
    .bind(now)
    .bind(id.as_uuid())
    .bind(account.as_uuid())
    .execute(e)
    .await
    .map_err(backend)?;
    Ok(done.rows_affected() == 1)
}
