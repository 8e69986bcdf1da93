//! Fresh databases for tests.

use sqlx::Connection;
use tempfile::TempDir;

use crate::flag;

pub enum Backend {
    Sqlite { _dir: TempDir, path: std::path::PathBuf },
    Postgres { admin_url: String, name: String },
}

/// A database of its own for one test.
pub struct TestDatabase {
    pub url: String,
    pub backend: Backend,
}

/// `REQUIRE_POSTGRES=1`: a missing PostgreSQL fails the suite.
pub fn postgres_required() -> bool {
    flag("REQUIRE_POSTGRES")
}

impl TestDatabase {
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("test.db");
        Self { url: format!("sqlite://{}", path.display()), backend: Backend::Sqlite { _dir: dir, path } }
    }
    /// A new, empty PostgreSQL database, or `None` (with a note on stderr)
    /// when `TEST_DATABASE_URL` is unset or unreachable and PostgreSQL is
    /// not required.
    pub async fn postgres() -> Option<Self> {
        let admin_url = match std::env::var("TEST_DATABASE_URL") {
            Ok(url) if !url.is_empty() => url,
            _ => return skip("TEST_DATABASE_URL is not set"),
        };
        let mut admin = match sqlx::PgConnection::connect(&admin_url).await {
            Ok(c) => c,
            Err(e) => return skip(&format!("cannot connect to TEST_DATABASE_URL: {e}")),
        };
        let name = format!("cbt_test_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("create test database");
        let _ = admin.close().await;
        let url = with_database(&admin_url, &name);
        Some(Self { url, backend: Backend::Postgres { admin_url, name } })
    }

    /// The SQLite file, for raw-dump and tampering tests.
    pub fn sqlite_path(&self) -> Option<&std::path::Path> {
        match &self.backend {
            Backend::Sqlite { path, .. } => Some(path),
            Backend::Postgres { .. } => None,
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.backend, Backend::Postgres { .. })
    }

    /// Every byte the database holds, as an attacker with the files or a
    /// dump would see them: the SQLite file and its WAL, or a `pg_dump`.
    pub fn raw_dump(&self) -> Vec<u8> {
        match &self.backend {
            Backend::Sqlite { path, .. } => {
                let mut bytes = std::fs::read(path).expect("read the SQLite file");
                let wal = path.with_extension("db-wal");
                if let Ok(more) = std::fs::read(wal) {
                    bytes.extend(more);
                }
                bytes
            }
            Backend::Postgres { .. } => {
                let out = std::process::Command::new("pg_dump")
                    .args(["--format=plain", "--no-owner", &self.url])
                    .output()
                    .expect("run pg_dump");
                assert!(out.status.success(), "pg_dump: {}", String::from_utf8_lossy(&out.stderr));
                out.stdout
            }
        }
    }

    /// A backup copy of the database as it is now, as a database of its
    /// own: `VACUUM INTO` for SQLite, `pg_dump` restored with `psql` for
    /// PostgreSQL.
    pub async fn backup_copy(&self) -> TestDatabase {
        match &self.backend {
            Backend::Sqlite { path, .. } => {
                let copy = TestDatabase::sqlite();
                let target = copy.sqlite_path().expect("sqlite").display().to_string();
                let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
                    .await
                    .expect("open the database to copy");
                sqlx::query("VACUUM INTO ?").bind(target).execute(&mut conn).await.expect("VACUUM INTO");
                let _ = conn.close().await;
                copy
            }
            Backend::Postgres { .. } => {
                let copy = TestDatabase::postgres().await.expect("PostgreSQL for the copy");
                let dump = self.raw_dump();
                let mut psql = std::process::Command::new("psql")
                    .args(["--quiet", "--set=ON_ERROR_STOP=1", &copy.url])
                    .stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::null())
                    .spawn()
                    .expect("run psql");
                std::io::Write::write_all(psql.stdin.as_mut().expect("stdin"), &dump).expect("restore");
                drop(psql.stdin.take());
                assert!(psql.wait().expect("psql").success(), "restoring the dump failed");
                copy
            }
        }
    }
}

fn skip(why: &str) -> Option<TestDatabase> {
    if postgres_required() {
        panic!("REQUIRE_POSTGRES=1 but {why}");
    }
    crate::report_skip("PostgreSQL", why);
    None
}

/// Replaces the database name in a PostgreSQL URL, keeping the query.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_start = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Backend::Postgres { admin_url, name } = &self.backend {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop runs outside async: use a short-lived runtime of its own.
            let _ = std::thread::spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
                rt.block_on(async {
                    if let Ok(mut admin) = sqlx::PgConnection::connect(&admin_url).await {
                        let _ =
                            sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                                .execute(&mut admin)
                                .await;
                    }
                });
            })
            .join();
        }
    }
}

/// Whether a raw dump holds `needle` as bytes or as lower-case hex text
/// (how `pg_dump` writes a `bytea`).
pub fn dump_holds(dump: &[u8], needle: &[u8]) -> bool {
    let hex: String = needle.iter().map(|b| format!("{b:02x}")).collect();
    dump.windows(needle.len()).any(|w| w == needle) || dump.windows(hex.len()).any(|w| w == hex.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_name_is_replaced() {
        assert_eq!(with_database("postgres://u@h:5432/postgres", "x"), "postgres://u@h:5432/x");
        assert_eq!(with_database("postgres://u@h/postgres?sslmode=disable", "x"), "postgres://u@h/x?sslmode=disable");
        assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
    }
}
