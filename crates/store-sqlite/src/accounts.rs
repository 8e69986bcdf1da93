//! Accounts, sessions, one-time tokens and rate-limit buckets on SQLite.
//! Each function takes any executor: the pool for plain reads, a
//! transaction's connection inside a use case.

use cbt_domain::AccountId;
use cbt_domain::access_token::{AccessToken, AccessTokenId};
use cbt_domain::account::Account;
use cbt_domain::session::{Session, SessionId, SessionStage};
use cbt_domain::time::{from_unix_micros, unix_micros};
use cbt_domain::tokens::{BucketState, OneTimeToken, TokenPurpose};
use cbt_ports::StoreError;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteExecutor};
use time::OffsetDateTime;

use crate::backend;

pub(crate) fn time_of(micros: i64) -> Result<OffsetDateTime, StoreError> {
    from_unix_micros(micros).ok_or(StoreError::Corrupt { what: "time" })
}

pub(crate) fn opt_time(micros: Option<i64>) -> Result<Option<OffsetDateTime>, StoreError> {
    micros.map(time_of).transpose()
}

pub(crate) fn id_of<T: std::str::FromStr>(s: &str, what: &'static str) -> Result<T, StoreError> {
    s.parse().map_err(|_| StoreError::Corrupt { what })
}

const ACCOUNT_COLUMNS: &str = "id, email, email_normalized, full_name, credential, password_hash, email_verified_at, \
    mfa_secret_sealed, mfa_enabled_at, mfa_last_step, password_changed_at, google_subject, created_at, updated_at, practice_name, crisis_text";

fn account(r: &SqliteRow) -> Result<Account, StoreError> {
    let id: String = r.try_get("id").map_err(backend)?;
    Ok(Account {
        id: id_of(&id, "account id")?,
        email: r.try_get("email").map_err(backend)?,
        email_normalized: r.try_get("email_normalized").map_err(backend)?,
        full_name: r.try_get("full_name").map_err(backend)?,
        credential: r.try_get("credential").map_err(backend)?,
        password_hash: r.try_get("password_hash").map_err(backend)?,
        email_verified_at: opt_time(r.try_get("email_verified_at").map_err(backend)?)?,
        mfa_secret_sealed: r.try_get("mfa_secret_sealed").map_err(backend)?,
        mfa_enabled_at: opt_time(r.try_get("mfa_enabled_at").map_err(backend)?)?,
        mfa_last_step: r.try_get("mfa_last_step").map_err(backend)?,
        password_changed_at: time_of(r.try_get("password_changed_at").map_err(backend)?)?,
        google_subject: r.try_get("google_subject").map_err(backend)?,
        created_at: time_of(r.try_get("created_at").map_err(backend)?)?,
        updated_at: time_of(r.try_get("updated_at").map_err(backend)?)?,
        practice_name: r.try_get("practice_name").map_err(backend)?,
        crisis_text: r.try_get("crisis_text").map_err(backend)?,
    })
}

pub async fn account_by_id<'e>(e: impl SqliteExecutor<'e>, id: AccountId) -> Result<Option<Account>, StoreError> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = ?");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id.to_string()).fetch_optional(e).await.map_err(backend)?;
    row.as_ref().map(account).transpose()
}

pub async fn account_by_email<'e>(e: impl SqliteExecutor<'e>, email: &str) -> Result<Option<Account>, StoreError> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE email_normalized = ?");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(email).fetch_optional(e).await.map_err(backend)?;
    row.as_ref().map(account).transpose()
}

pub async fn insert_account<'e>(e: impl SqliteExecutor<'e>, a: &Account) -> Result<(), StoreError> {
    let result = sqlx::query(
        "INSERT INTO accounts (id, email, email_normalized, full_name, credential, password_hash, \
         email_verified_at, mfa_secret_sealed, mfa_enabled_at, mfa_last_step, password_changed_at, created_at, \
         updated_at, google_subject, practice_name, crisis_text) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(a.id.to_string())
    .bind(&a.email)
    .bind(&a.email_normalized)
    .bind(&a.full_name)
    .bind(&a.credential)
    .bind(&a.password_hash)
    .bind(a.email_verified_at.map(unix_micros))
    .bind(&a.mfa_secret_sealed)
    .bind(a.mfa_enabled_at.map(unix_micros))
    .bind(a.mfa_last_step)
    .bind(unix_micros(a.password_changed_at))
    .bind(unix_micros(a.created_at))
    .bind(unix_micros(a.updated_at))
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

pub async fn update_account<'e>(e: impl SqliteExecutor<'e>, a: &Account) -> Result<(), StoreError> {
    let result = sqlx::query(
        "UPDATE accounts SET email = ?, email_normalized = ?, full_name = ?, credential = ?, password_hash = ?, \
         email_verified_at = ?, mfa_secret_sealed = ?, mfa_enabled_at = ?, mfa_last_step = ?, \
         password_changed_at = ?, updated_at = ?, google_subject = ?, practice_name = ?, crisis_text = ? WHERE id = ?",
    )
    .bind(&a.email)
    .bind(&a.email_normalized)
    .bind(&a.full_name)
    .bind(&a.credential)
    .bind(&a.password_hash)
    .bind(a.email_verified_at.map(unix_micros))
    .bind(&a.mfa_secret_sealed)
    .bind(a.mfa_enabled_at.map(unix_micros))
    .bind(a.mfa_last_step)
    .bind(unix_micros(a.password_changed_at))
    .bind(unix_micros(a.updated_at))
    .bind(&a.google_subject)
    .bind(&a.practice_name)
    .bind(&a.crisis_text)
    .bind(a.id.to_string())
    .execute(e)
    .await;
    match result {
        Err(sqlx::Error::Database(db)) if db.is_unique_violation() => Err(StoreError::Duplicate { what: "account" }),
        other => other.map(drop).map_err(backend),
    }
}

const SESSION_COLUMNS: &str = "id, token_hash, account_id, stage, created_at, last_seen_at, expires_at, ip, user_agent";

fn session(r: &SqliteRow) -> Result<Session, StoreError> {
    session_named(r, "")
}

/// A session from columns named `{prefix}id`, `{prefix}token_hash`, ...
fn session_named(r: &SqliteRow, prefix: &str) -> Result<Session, StoreError> {
    let col = |name: &str| format!("{prefix}{name}");
    let id: String = r.try_get(col("id").as_str()).map_err(backend)?;
    let account: String = r.try_get(col("account_id").as_str()).map_err(backend)?;
    let stage: String = r.try_get(col("stage").as_str()).map_err(backend)?;
    Ok(Session {
        id: id_of(&id, "session id")?,
        token_hash: r.try_get(col("token_hash").as_str()).map_err(backend)?,
        account_id: id_of(&account, "account id")?,
        stage: SessionStage::from_code(&stage).ok_or(StoreError::Corrupt { what: "session stage" })?,
        created_at: time_of(r.try_get(col("created_at").as_str()).map_err(backend)?)?,
        last_seen_at: time_of(r.try_get(col("last_seen_at").as_str()).map_err(backend)?)?,
        expires_at: time_of(r.try_get(col("expires_at").as_str()).map_err(backend)?)?,
        ip: r.try_get(col("ip").as_str()).map_err(backend)?,
        user_agent: r.try_get(col("user_agent").as_str()).map_err(backend)?,
    })
}

/// The session of a token, with its account, in one statement: every
/// signed-in request starts here.
pub async fn session_by_token_hash<'e>(
    e: impl SqliteExecutor<'e>,
    hash: &[u8],
) -> Result<Option<(Session, Account)>, StoreError> {
    let session_columns: Vec<String> = SESSION_COLUMNS.split(", ").map(|c| format!("{c} AS session_{c}")).collect();
    let sql = format!(
        "SELECT {ACCOUNT_COLUMNS}, s.* FROM (SELECT {} FROM sessions WHERE token_hash = ?) s \
         JOIN accounts ON accounts.id = s.session_account_id",
        session_columns.join(", ")
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(hash).fetch_optional(e).await.map_err(backend)?;
    row.map(|r| Ok((session_named(&r, "session_")?, account(&r)?))).transpose()
}

pub async fn sessions_of<'e>(e: impl SqliteExecutor<'e>, account: AccountId) -> Result<Vec<Session>, StoreError> {
    let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE account_id = ? ORDER BY created_at, id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(account.to_string()).fetch_all(e).await.map_err(backend)?;
    rows.iter().map(session).collect()
}

pub async fn insert_session<'e>(e: impl SqliteExecutor<'e>, s: &Session) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO sessions (id, token_hash, account_id, stage, created_at, last_seen_at, expires_at, ip, \
         user_agent) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(s.id.to_string())
    .bind(&s.token_hash)
    .bind(s.account_id.to_string())
    .bind(s.stage.code())
    .bind(unix_micros(s.created_at))
    .bind(unix_micros(s.last_seen_at))
    .bind(unix_micros(s.expires_at))
    .bind(&s.ip)
    .bind(&s.user_agent)
    .execute(e)
    .await
    .map(drop)
    .map_err(backend)
}

pub async fn touch_session<'e>(
    e: impl SqliteExecutor<'e>,
    id: SessionId,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE sessions SET last_seen_at = ? WHERE id = ?")
        .bind(unix_micros(now))
        .bind(id.to_string())
        .execute(e)
        .await
        .map(drop)
        .map_err(backend)
}

pub async fn delete_session<'e>(
    e: impl SqliteExecutor<'e>,
    account: AccountId,
    id: SessionId,
) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM sessions WHERE id = ? AND account_id = ?")
        .bind(id.to_string())
        .bind(account.to_string())
        .execute(e)
        .await
        .map_err(backend)?;
    Ok(done.rows_affected() > 0)
}

pub async fn delete_sessions<'e>(
    e: impl SqliteExecutor<'e>,
    account: AccountId,
    keep: Option<SessionId>,
) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM sessions WHERE account_id = ? AND id IS NOT ?")
        .bind(account.to_string())
        .bind(keep.map(|k| k.to_string()))
        .execute(e)
        .await
        .map_err(backend)?;
    Ok(done.rows_affected())
}

pub async fn insert_token<'e>(e: impl SqliteExecutor<'e>, t: &OneTimeToken) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO one_time_tokens (token_hash, account_id, purpose, email_normalized, created_at, expires_at) \
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(&t.token_hash)
    .bind(t.account_id.to_string())
    .bind(t.purpose.code())
    .bind(&t.email_normalized)
    .bind(unix_micros(t.created_at))
    .bind(unix_micros(t.expires_at))
    .execute(e)
    .await
    .map(drop)
    .map_err(backend)
}

pub async fn take_token<'e>(
    e: impl SqliteExecutor<'e>,
    hash: &[u8],
    purpose: TokenPurpose,
) -> Result<Option<OneTimeToken>, StoreError> {
    let row = sqlx::query(
        "DELETE FROM one_time_tokens WHERE token_hash = ? AND purpose = ? \
         RETURNING token_hash, account_id, purpose, email_normalized, created_at, expires_at",
    )
    .bind(hash)
    .bind(purpose.code())
    .fetch_optional(e)
    .await
    .map_err(backend)?;
    let Some(r) = row else { return Ok(None) };
    let account: String = r.try_get("account_id").map_err(backend)?;
    Ok(Some(OneTimeToken {
        token_hash: r.try_get("token_hash").map_err(backend)?,
        account_id: id_of(&account, "account id")?,
        purpose,
        email_normalized: r.try_get("email_normalized").map_err(backend)?,
        created_at: time_of(r.try_get("created_at").map_err(backend)?)?,
        expires_at: time_of(r.try_get("expires_at").map_err(backend)?)?,
    }))
}

pub async fn delete_tokens<'e>(
    e: impl SqliteExecutor<'e>,
    account: AccountId,
    purpose: TokenPurpose,
) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM one_time_tokens WHERE account_id = ? AND purpose = ?")
        .bind(account.to_string())
        .bind(purpose.code())
        .execute(e)
        .await
        .map_err(backend)?;
    Ok(done.rows_affected())
}

pub async fn rate_bucket<'e>(e: impl SqliteExecutor<'e>, bucket: &str) -> Result<Option<BucketState>, StoreError> {
    let row: Option<(i64, i64, Option<i64>)> =
        sqlx::query_as("SELECT window_start, count, locked_until FROM rate_limits WHERE bucket = ?")
            .bind(bucket)
            .fetch_optional(e)
            .await
            .map_err(backend)?;
    row.map(|(start, count, locked)| {
        Ok(BucketState {
            window_start: time_of(start)?,
            count: u32::try_from(count).map_err(|_| StoreError::Corrupt { what: "rate limit" })?,
            locked_until: opt_time(locked)?,
        })
    })
    .transpose()
}

pub async fn save_rate_bucket<'e>(e: impl SqliteExecutor<'e>, bucket: &str, s: &BucketState) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO rate_limits (bucket, window_start, count, locked_until) VALUES (?, ?, ?, ?) \
         ON CONFLICT (bucket) DO UPDATE SET window_start = excluded.window_start, count = excluded.count, \
         locked_until = excluded.locked_until",
    )
    .bind(bucket)
    .bind(unix_micros(s.window_start))
    .bind(i64::from(s.count))
    .bind(s.locked_until.map(unix_micros))
    .execute(e)
    .await
    .map(drop)
    .map_err(backend)
}

pub async fn delete_rate_bucket<'e>(e: impl SqliteExecutor<'e>, bucket: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM rate_limits WHERE bucket = ?").bind(bucket).execute(e).await.map(drop).map_err(backend)
}

pub async fn replace_recovery_codes(
    conn: &mut <sqlx::Sqlite as sqlx::Database>::Connection,
    account: AccountId,
    hashes: &[String],
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM mfa_recovery_codes WHERE account_id = ?")
        .bind(account.to_string())
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    for hash in hashes {
        sqlx::query("INSERT INTO mfa_recovery_codes (account_id, code_hash) VALUES (?, ?)")
            .bind(account.to_string())
            .bind(hash)
            .execute(&mut *conn)
            .await
            .map_err(backend)?;
    }
    Ok(())
}

pub async fn recovery_codes_of<'e>(e: impl SqliteExecutor<'e>, account: AccountId) -> Result<Vec<String>, StoreError> {
    sqlx::query_scalar("SELECT code_hash FROM mfa_recovery_codes WHERE account_id = ? ORDER BY code_hash")
        .bind(account.to_string())
        .fetch_all(e)
        .await
        .map_err(backend)
}

pub async fn delete_recovery_code<'e>(
    e: impl SqliteExecutor<'e>,
    account: AccountId,
    hash: &str,
) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM mfa_recovery_codes WHERE account_id = ? AND code_hash = ?")
        .bind(account.to_string())
        .bind(hash)
        .execute(e)
        .await
        .map_err(backend)?;
    Ok(done.rows_affected() > 0)
}

fn access_token(r: &SqliteRow) -> Result<AccessToken, StoreError> {
    let id: String = r.try_get("id").map_err(backend)?;
    let account: String = r.try_get("account_id").map_err(backend)?;
    Ok(AccessToken {
        id: id_of(&id, "access token id")?,
        account_id: id_of(&account, "account id")?,
        name: r.try_get("name").map_err(backend)?,
        token_hash: r.try_get("token_hash").map_err(backend)?,
        created_at: time_of(r.try_get("created_at").map_err(backend)?)?,
        expires_at: time_of(r.try_get("expires_at").map_err(backend)?)?,
        last_used_at: opt_time(r.try_get("last_used_at").map_err(backend)?)?,
    })
}

const TOKEN_COLUMNS: &str = "id, account_id, name, token_hash, created_at, expires_at, last_used_at";

pub async fn access_token_by_hash<'e>(
    e: impl SqliteExecutor<'e>,
    hash: &[u8],
) -> Result<Option<AccessToken>, StoreError> {
    let sql = format!("SELECT {TOKEN_COLUMNS} FROM access_tokens WHERE token_hash = ?");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(hash).fetch_optional(e).await.map_err(backend)?;
    row.as_ref().map(access_token).transpose()
}

pub async fn access_tokens_of<'e>(
    e: impl SqliteExecutor<'e>,
    account: AccountId,
) -> Result<Vec<AccessToken>, StoreError> {
    let sql = format!("SELECT {TOKEN_COLUMNS} FROM access_tokens WHERE account_id = ? ORDER BY created_at, id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(account.to_string()).fetch_all(e).await.map_err(backend)?;
    rows.iter().map(access_token).collect()
}

pub async fn touch_access_token<'e>(
    e: impl SqliteExecutor<'e>,
    id: AccessTokenId,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE access_tokens SET last_used_at = ? WHERE id = ?")
        .bind(unix_micros(now))
        .bind(id.to_string())
        .execute(e)
        .await
        .map(drop)
        .map_err(backend)
}

pub async fn insert_access_token<'e>(e: impl SqliteExecutor<'e>, t: &AccessToken) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO access_tokens (id, account_id, name, token_hash, created_at, expires_at, last_used_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(t.id.to_string())
    .bind(t.account_id.to_string())
    .bind(&t.name)
    .bind(&t.token_hash)
    .bind(unix_micros(t.created_at))
    .bind(unix_micros(t.expires_at))
    .bind(t.last_used_at.map(unix_micros))
    .execute(e)
    .await
    .map(drop)
    .map_err(backend)
}

pub async fn delete_access_token<'e>(
    e: impl SqliteExecutor<'e>,
    account: AccountId,
    id: AccessTokenId,
) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM access_tokens WHERE id = ? AND account_id = ?")
        .bind(id.to_string())
        .bind(account.to_string())
        .execute(e)
        .await
        .map_err(backend)?;
    Ok(done.rows_affected() > 0)
}

pub async fn account_by_google_subject<'e>(
    e: impl SqliteExecutor<'e>,
    subject: &str,
) -> Result<Option<Account>, StoreError> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE google_subject = ?");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(subject).fetch_optional(e).await.map_err(backend)?;
    row.as_ref().map(account).transpose()
}
