//! Accounts, sessions, one-time tokens and rate-limit buckets on PostgreSQL.
//! Each function takes any executor: the pool for plain reads, a
//! transaction's connection inside a use case.

use cbt_domain::AccountId;
use cbt_domain::access_token::{AccessToken, AccessTokenId};
use cbt_domain::account::Account;
use cbt_domain::session::{Session, SessionId, SessionStage};
use cbt_domain::tokens::{BucketState, OneTimeToken, TokenPurpose};
use cbt_ports::StoreError;
use sqlx::postgres::PgRow;
use sqlx::{PgExecutor, Row};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::backend;

const ACCOUNT_COLUMNS: &str = "id, email, email_normalized, full_name, credential, password_hash, email_verified_at, \
    mfa_secret_sealed, mfa_enabled_at, mfa_last_step, password_changed_at, google_subject, created_at, updated_at, practice_name, crisis_text";

fn account(r: &PgRow) -> Result<Account, StoreError> {
    Ok(Account {
        id: AccountId::from_uuid(r.try_get("id").map_err(backend)?),
        email: r.try_get("email").map_err(backend)?,
        email_normalized: r.try_get("email_normalized").map_err(backend)?,
        full_name: r.try_get("full_name").map_err(backend)?,
        credential: r.try_get("credential").map_err(backend)?,
        password_hash: r.try_get("password_hash").map_err(backend)?,
        email_verified_at: r.try_get("email_verified_at").map_err(backend)?,
        mfa_secret_sealed: r.try_get("mfa_secret_sealed").map_err(backend)?,
        mfa_enabled_at: r.try_get("mfa_enabled_at").map_err(backend)?,
        mfa_last_step: r.try_get("mfa_last_step").map_err(backend)?,
        password_changed_at: r.try_get("password_changed_at").map_err(backend)?,
        google_subject: r.try_get("google_subject").map_err(backend)?,
        created_at: r.try_get("created_at").map_err(backend)?,
        updated_at: r.try_get("updated_at").map_err(backend)?,
        practice_name: r.try_get("practice_name").map_err(backend)?,
        crisis_text: r.try_get("crisis_text").map_err(backend)?,
    })
}

pub async fn account_by_id<'e>(e: impl PgExecutor<'e>, id: AccountId) -> Result<Option<Account>, StoreError> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id.as_uuid()).fetch_optional(e).await.map_err(backend)?;
    row.as_ref().map(account).transpose()
}

pub async fn account_by_email<'e>(e: impl PgExecutor<'e>, email: &str) -> Result<Option<Account>, StoreError> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE email_normalized = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(email).fetch_optional(e).await.map_err(backend)?;
    row.as_ref().map(account).transpose()
}

pub async fn insert_account<'e>(e: impl PgExecutor<'e>, a: &Account) -> Result<(), StoreError> {
    let result = sqlx::query(
        "INSERT INTO accounts (id, email, email_normalized, full_name, credential, password_hash, \
         email_verified_at, mfa_secret_sealed, mfa_enabled_at, mfa_last_step, password_changed_at, created_at, \
         updated_at, google_subject, practice_name, crisis_text) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
    )
    .bind(a.id.as_uuid())
    .bind(&a.email)
    .bind(&a.email_normalized)
    .bind(&a.full_name)
    .bind(&a.credential)
    .bind(&a.password_hash)
    .bind(a.email_verified_at)
    .bind(&a.mfa_secret_sealed)
    .bind(a.mfa_enabled_at)
    .bind(a.mfa_last_step)
    .bind(a.password_changed_at)
    .bind(a.created_at)
    .bind(a.updated_at)
    .bind(&a.google_subject)
    .bind(&a.practice_name)
    .bind(&a.crisis_text)
    .execute(e)
    .await;
    match result {
        Err(sqlx::Error::Database(db)) if db.is_unique_violation() => Err(StoreError::Duplicate { what: "account" }),
        other => other.map(drop).map_err(backend),
    }
}

pub async fn update_account<'e>(e: impl PgExecutor<'e>, a: &Account) -> Result<(), StoreError> {
    let result = sqlx::query(
        "UPDATE accounts SET email = $1, email_normalized = $2, full_name = $3, credential = $4, password_hash = $5, \
         email_verified_at = $6, mfa_secret_sealed = $7, mfa_enabled_at = $8, mfa_last_step = $9, \
         password_changed_at = $10, updated_at = $11, google_subject = $12, practice_name = $14, crisis_text = $15 \
         WHERE id = $13",
    )
    .bind(&a.email)
    .bind(&a.email_normalized)
    .bind(&a.full_name)
    .bind(&a.credential)
    .bind(&a.password_hash)
    .bind(a.email_verified_at)
    .bind(&a.mfa_secret_sealed)
    .bind(a.mfa_enabled_at)
    .bind(a.mfa_last_step)
    .bind(a.password_changed_at)
    .bind(a.updated_at)
    .bind(&a.google_subject)
    .bind(a.id.as_uuid())
    .bind(&a.practice_name)
    .bind(&a.crisis_text)
    .execute(e)
    .await;
    match result {
        Err(sqlx::Error::Database(db)) if db.is_unique_violation() => Err(StoreError::Duplicate { what: "account" }),
        other => other.map(drop).map_err(backend),
    }
}

const SESSION_COLUMNS: &str = "id, token_hash, account_id, stage, created_at, last_seen_at, expires_at, ip, user_agent";

fn session(r: &PgRow) -> Result<Session, StoreError> {
    session_named(r, "")
}

/// A session from columns named `{prefix}id`, `{prefix}token_hash`, ...
fn session_named(r: &PgRow, prefix: &str) -> Result<Session, StoreError> {
    let col = |name: &str| format!("{prefix}{name}");
    let stage: String = r.try_get(col("stage").as_str()).map_err(backend)?;
    Ok(Session {
        id: SessionId::from_uuid(r.try_get(col("id").as_str()).map_err(backend)?),
        token_hash: r.try_get(col("token_hash").as_str()).map_err(backend)?,
        account_id: AccountId::from_uuid(r.try_get::<Uuid, _>(col("account_id").as_str()).map_err(backend)?),
        stage: SessionStage::from_code(&stage).ok_or(StoreError::Corrupt { what: "session stage" })?,
        created_at: r.try_get(col("created_at").as_str()).map_err(backend)?,
        last_seen_at: r.try_get(col("last_seen_at").as_str()).map_err(backend)?,
        expires_at: r.try_get(col("expires_at").as_str()).map_err(backend)?,
        ip: r.try_get(col("ip").as_str()).map_err(backend)?,
        user_agent: r.try_get(col("user_agent").as_str()).map_err(backend)?,
    })
}

/// The session of a token, with its account, in one statement: every
/// signed-in request starts here.
pub async fn session_by_token_hash<'e>(
    e: impl PgExecutor<'e>,
    hash: &[u8],
) -> Result<Option<(Session, Account)>, StoreError> {
    let session_columns: Vec<String> = SESSION_COLUMNS.split(", ").map(|c| format!("{c} AS session_{c}")).collect();
    let sql = format!(
        "SELECT {ACCOUNT_COLUMNS}, s.* FROM (SELECT {} FROM sessions WHERE token_hash = $1) s \
         JOIN accounts ON accounts.id = s.session_account_id",
        session_columns.join(", ")
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(hash).fetch_optional(e).await.map_err(backend)?;
    row.map(|r| Ok((session_named(&r, "session_")?, account(&r)?))).transpose()
}

pub async fn sessions_of<'e>(e: impl PgExecutor<'e>, account: AccountId) -> Result<Vec<Session>, StoreError> {
    let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE account_id = $1 ORDER BY created_at, id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(account.as_uuid()).fetch_all(e).await.map_err(backend)?;
    rows.iter().map(session).collect()
}

pub async fn insert_session<'e>(e: impl PgExecutor<'e>, s: &Session) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO sessions (id, token_hash, account_id, stage, created_at, last_seen_at, expires_at, ip, \
         user_agent) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(s.id.as_uuid())
    .bind(&s.token_hash)
    .bind(s.account_id.as_uuid())
    .bind(s.stage.code())
    .bind(s.created_at)
    .bind(s.last_seen_at)
    .bind(s.expires_at)
    .bind(&s.ip)
    .bind(&s.user_agent)
    .execute(e)
    .await
    .map(drop)
    .map_err(backend)
}

pub async fn touch_session<'e>(e: impl PgExecutor<'e>, id: SessionId, now: OffsetDateTime) -> Result<(), StoreError> {
    sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id.as_uuid())
        .execute(e)
        .await
        .map(drop)
        .map_err(backend)
}

pub async fn delete_session<'e>(e: impl PgExecutor<'e>, account: AccountId, id: SessionId) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM sessions WHERE id = $1 AND account_id = $2")
        .bind(id.as_uuid())
        .bind(account.as_uuid())
        .execute(e)
        .await
        .map_err(backend)?;
    Ok(done.rows_affected() > 0)
}

pub async fn delete_sessions<'e>(
    e: impl PgExecutor<'e>,
    account: AccountId,
    keep: Option<SessionId>,
) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM sessions WHERE account_id = $1 AND id IS DISTINCT FROM $2")
        .bind(account.as_uuid())
        .bind(keep.map(|k| k.as_uuid()))
        .execute(e)
        .await
        .map_err(backend)?;
    Ok(done.rows_affected())
}

pub async fn insert_token<'e>(e: impl PgExecutor<'e>, t: &OneTimeToken) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO one_time_tokens (token_hash, account_id, purpose, email_normalized, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&t.token_hash)
    .bind(t.account_id.as_uuid())
    .bind(t.purpose.code())
    .bind(&t.email_normalized)
    .bind(t.created_at)
    .bind(t.expires_at)
    .execute(e)
    .await
    .map(drop)
    .map_err(backend)
}

pub async fn take_token<'e>(
    e: impl PgExecutor<'e>,
    hash: &[u8],
    purpose: TokenPurpose,
) -> Result<Option<OneTimeToken>, StoreError> {
    let row = sqlx::query(
        "DELETE FROM one_time_tokens WHERE token_hash = $1 AND purpose = $2 \
         RETURNING token_hash, account_id, purpose, email_normalized, created_at, expires_at",
    )
    .bind(hash)
    .bind(purpose.code())
    .fetch_optional(e)
    .await
    .map_err(backend)?;
    let Some(r) = row else { return Ok(None) };
    Ok(Some(OneTimeToken {
        token_hash: r.try_get("token_hash").map_err(backend)?,
        account_id: AccountId::from_uuid(r.try_get::<Uuid, _>("account_id").map_err(backend)?),
        purpose,
        email_normalized: r.try_get("email_normalized").map_err(backend)?,
        created_at: r.try_get("created_at").map_err(backend)?,
        expires_at: r.try_get("expires_at").map_err(backend)?,
    }))
}

pub async fn delete_tokens<'e>(
    e: impl PgExecutor<'e>,
    account: AccountId,
    purpose: TokenPurpose,
) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM one_time_tokens WHERE account_id = $1 AND purpose = $2")
        .bind(account.as_uuid())
        .bind(purpose.code())
        .execute(e)
        .await
        .map_err(backend)?;
    Ok(done.rows_affected())
}

pub async fn rate_bucket<'e>(e: impl PgExecutor<'e>, bucket: &str) -> Result<Option<BucketState>, StoreError> {
    let row: Option<(OffsetDateTime, i32, Option<OffsetDateTime>)> =
        sqlx::query_as("SELECT window_start, count, locked_until FROM rate_limits WHERE bucket = $1")
            .bind(bucket)
            .fetch_optional(e)
            .await
            .map_err(backend)?;
    row.map(|(start, count, locked)| {
        Ok(BucketState {
            window_start: start,
            count: u32::try_from(count).map_err(|_| StoreError::Corrupt { what: "rate limit" })?,
            locked_until: locked,
        })
    })
    .transpose()
}

pub async fn save_rate_bucket<'e>(e: impl PgExecutor<'e>, bucket: &str, s: &BucketState) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO rate_limits (bucket, window_start, count, locked_until) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (bucket) DO UPDATE SET window_start = excluded.window_start, count = excluded.count, \
         locked_until = excluded.locked_until",
    )
    .bind(bucket)
    .bind(s.window_start)
    .bind(i32::try_from(s.count).unwrap_or(i32::MAX))
    .bind(s.locked_until)
    .execute(e)
    .await
    .map(drop)
    .map_err(backend)
}

pub async fn delete_rate_bucket<'e>(e: impl PgExecutor<'e>, bucket: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM rate_limits WHERE bucket = $1").bind(bucket).execute(e).await.map(drop).map_err(backend)
}

pub async fn replace_recovery_codes(
    conn: &mut <sqlx::Postgres as sqlx::Database>::Connection,
    account: AccountId,
    hashes: &[String],
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM mfa_recovery_codes WHERE account_id = $1")
        .bind(account.as_uuid())
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    for hash in hashes {
        sqlx::query("INSERT INTO mfa_recovery_codes (account_id, code_hash) VALUES ($1, $2)")
            .bind(account.as_uuid())
            .bind(hash)
            .execute(&mut *conn)
            .await
            .map_err(backend)?;
    }
    Ok(())
}

pub async fn recovery_codes_of<'e>(e: impl PgExecutor<'e>, account: AccountId) -> Result<Vec<String>, StoreError> {
    sqlx::query_scalar("SELECT code_hash FROM mfa_recovery_codes WHERE account_id = $1 ORDER BY code_hash")
        .bind(account.as_uuid())
        .fetch_all(e)
        .await
        .map_err(backend)
}

pub async fn delete_recovery_code<'e>(
    e: impl PgExecutor<'e>,
    account: AccountId,
    hash: &str,
) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM mfa_recovery_codes WHERE account_id = $1 AND code_hash = $2")
        .bind(account.as_uuid())
        .bind(hash)
        .execute(e)
        .await
        .map_err(backend)?;
    Ok(done.rows_affected() > 0)
}

fn access_token(r: &PgRow) -> Result<AccessToken, StoreError> {
    Ok(AccessToken {
        id: AccessTokenId::from_uuid(r.try_get("id").map_err(backend)?),
        account_id: AccountId::from_uuid(r.try_get::<Uuid, _>("account_id").map_err(backend)?),
        name: r.try_get("name").map_err(backend)?,
        token_hash: r.try_get("token_hash").map_err(backend)?,
        created_at: r.try_get("created_at").map_err(backend)?,
        expires_at: r.try_get("expires_at").map_err(backend)?,
        last_used_at: r.try_get("last_used_at").map_err(backend)?,
    })
}

const TOKEN_COLUMNS: &str = "id, account_id, name, token_hash, created_at, expires_at, last_used_at";

pub async fn access_token_by_hash<'e>(e: impl PgExecutor<'e>, hash: &[u8]) -> Result<Option<AccessToken>, StoreError> {
    let sql = format!("SELECT {TOKEN_COLUMNS} FROM access_tokens WHERE token_hash = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(hash).fetch_optional(e).await.map_err(backend)?;
    row.as_ref().map(access_token).transpose()
}

pub async fn access_tokens_of<'e>(e: impl PgExecutor<'e>, account: AccountId) -> Result<Vec<AccessToken>, StoreError> {
    let sql = format!("SELECT {TOKEN_COLUMNS} FROM access_tokens WHERE account_id = $1 ORDER BY created_at, id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(account.as_uuid()).fetch_all(e).await.map_err(backend)?;
    rows.iter().map(access_token).collect()
}

pub async fn touch_access_token<'e>(
    e: impl PgExecutor<'e>,
    id: AccessTokenId,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE access_tokens SET last_used_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id.as_uuid())
        .execute(e)
        .await
        .map(drop)
        .map_err(backend)
}

pub async fn insert_access_token<'e>(e: impl PgExecutor<'e>, t: &AccessToken) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO access_tokens (id, account_id, name, token_hash, created_at, expires_at, last_used_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(t.id.as_uuid())
    .bind(t.account_id.as_uuid())
    .bind(&t.name)
    .bind(&t.token_hash)
    .bind(t.created_at)
    .bind(t.expires_at)
    .bind(t.last_used_at)
    .execute(e)
    .await
    .map(drop)
    .map_err(backend)
}

pub async fn delete_access_token<'e>(
    e: impl PgExecutor<'e>,
    account: AccountId,
    id: AccessTokenId,
) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM access_tokens WHERE id = $1 AND account_id = $2")
        .bind(id.as_uuid())
        .bind(account.as_uuid())
        .execute(e)
        .await
        .map_err(backend)?;
    Ok(done.rows_affected() > 0)
}

pub async fn account_by_google_subject<'e>(
    e: impl PgExecutor<'e>,
    subject: &str,
) -> Result<Option<Account>, StoreError> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE google_subject = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(subject).fetch_optional(e).await.map_err(backend)?;
    row.as_ref().map(account).transpose()
}
