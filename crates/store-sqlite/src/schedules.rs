//! Recurring questionnaires on SQLite (see migration 0012). The job runner
//! claims a due schedule by moving `next_due_at` on with one conditional
//! UPDATE: of two runners, one sends.

use cbt_domain::AccountId;
use cbt_domain::ids::{ClientId, ScheduleId};
use cbt_domain::time::unix_micros;
use cbt_ports::{StoreError, StoredSchedule};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteExecutor};
use time::OffsetDateTime;

use crate::accounts::{id_of, opt_time, time_of};
use crate::backend;

const COLUMNS: &str = "id, account_id, client_id, sealed, every_days, next_due_at, created_at, stopped_at";

fn schedule(r: &SqliteRow) -> Result<StoredSchedule, StoreError> {
    let text = |name: &str| r.try_get::<String, _>(name).map_err(backend);
    Ok(StoredSchedule {
        id: id_of(&text("id")?, "schedule id")?,
        account: id_of(&text("account_id")?, "account id")?,
        client: id_of(&text("client_id")?, "client id")?,
        sealed: r.try_get("sealed").map_err(backend)?,
        every_days: r.try_get("every_days").map_err(backend)?,
        next_due_at: time_of(r.try_get("next_due_at").map_err(backend)?)?,
        created_at: time_of(r.try_get("created_at").map_err(backend)?)?,
        stopped_at: opt_time(r.try_get("stopped_at").map_err(backend)?)?,
    })
}

pub async fn schedules_of<'e>(
    e: impl SqliteExecutor<'e>,
    account: AccountId,
    client: ClientId,
) -> Result<Vec<StoredSchedule>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM assessment_schedules WHERE account_id = ?1 AND client_id = ?2 ORDER BY created_at, id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(account.to_string())
        .bind(client.to_string())
        .fetch_all(e)
        .await
        .map_err(backend)?;
    rows.iter().map(schedule).collect()
}

pub async fn due_schedules<'e>(
    e: impl SqliteExecutor<'e>,
    now: OffsetDateTime,
    limit: u32,
) -> Result<Vec<StoredSchedule>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM assessment_schedules WHERE stopped_at IS NULL AND next_due_at <= ?1 \
         ORDER BY next_due_at, id LIMIT ?2"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(unix_micros(now))
        .bind(i64::from(limit))
        .fetch_all(e)
        .await
        .map_err(backend)?;
    rows.iter().map(schedule).collect()
}

pub async fn insert_schedule<'e>(e: impl SqliteExecutor<'e>, s: &StoredSchedule) -> Result<(), StoreError> {
    // The client must be the account's too.
    let sql = format!(
        "INSERT INTO assessment_schedules ({COLUMNS}) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8 \
         WHERE EXISTS (SELECT 1 FROM clients WHERE id = ?3 AND account_id = ?2)"
    );
    let done = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(s.id.to_string())
        .bind(s.account.to_string())
        .bind(s.client.to_string())
        .bind(&s.sealed)
        .bind(s.every_days)
        .bind(unix_micros(s.next_due_at))
        .bind(unix_micros(s.created_at))
        .bind(s.stopped_at.map(unix_micros))
        .execute(e)
        .await
        .map_err(backend)?;
    if done.rows_affected() == 1 { Ok(()) } else { Err(StoreError::Corrupt { what: "client of a new schedule" }) }
}

pub async fn advance_schedule<'e>(
    e: impl SqliteExecutor<'e>,
    id: ScheduleId,
    due: OffsetDateTime,
    next: OffsetDateTime,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE assessment_schedules SET next_due_at = ?1 WHERE id = ?2 AND next_due_at = ?3 AND stopped_at IS NULL",
    )
    .bind(unix_micros(next))
    .bind(id.to_string())
    .bind(unix_micros(due))
    .execute(e)
    .await
    .map_err(backend)?;
    Ok(done.rows_affected() == 1)
}

pub async fn stop_schedule<'e>(
    e: impl SqliteExecutor<'e>,
    account: AccountId,
    id: ScheduleId,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE assessment_schedules SET stopped_at = ?1 WHERE id = ?2 AND account_id = ?3 AND stopped_at IS NULL",
    )
    .bind(unix_micros(now))
    .bind(id.to_string())
    .bind(account.to_string())
    .execute(e)
    .await
    .map_err(backend)?;
    Ok(done.rows_affected() == 1)
}
