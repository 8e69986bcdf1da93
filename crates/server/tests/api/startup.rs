//! Start-up: zero-config local mode, production refusals, subcommands.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Output;

use cbt_testkit::RunningBinary;
use cbt_testkit::binary::command;
use sqlx::Connection;

const STRONG: &str = "Zq3v8N1xW4tR7yP0sL5kD2hG9jF6bC3mA8eU";

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o777
}

fn run(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    command(&crate::binary(), cwd, env).args(args).output().expect("run cbt-assistant")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Production settings that pass every check (each test spoils one).
fn production_env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("CBT_ENV", "production"),
        ("CBT_PUBLIC_URL", "https://cbt.example.org"),
        ("CBT_SMTP_HOST", "smtp.example.org"),
        ("DATABASE_URL", "postgres://cbt@127.0.0.1:1/cbt"),
        ("CBT_SESSION_SECRET", STRONG),
        ("CBT_CSRF_SECRET", "Hk2mP9wQ4xT7vB1nL6sD3fG8jR5cY0aZeU"),
        ("CBT_JWT_SECRET", "Wn5tY8kP2qM7xB4vR9cL1sH6dF3gJ0zAeQ"),
        ("CBT_AUDIT_KEY", "Pa4sD7fG1hJ9kL2zX5cV8bN3mQ6wE0rTyU"),
        ("CBT_KEY_PROVIDER", "aws-kms"),
        ("CBT_KMS_KEY_ID", "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
        ("CBT_KMS_REGION", "us-east-1"),
    ]
}

fn with(
    mut env: Vec<(&'static str, &'static str)>,
    key: &'static str,
    value: Option<&'static str>,
) -> Vec<(&'static str, &'static str)> {
    env.retain(|(k, _)| *k != key);
    if let Some(v) = value {
        env.push((key, v));
    }
    env
}

/// The first start creates ./data (0700) with the database and every
/// secret (0600); the second reuses them and appends to the same audit log.
#[tokio::test]
async fn zero_config_start_creates_private_data_and_reuses_it() {
    let dir = tempfile::tempdir().unwrap();
    let env = [("CBT_BIND", "127.0.0.1:0")];
    let first = RunningBinary::start(&crate::binary(), dir.path(), &env);
    let r = reqwest::get(first.url("/")).await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("CBT Assistant Pro"));
    assert!(first.terminate(), "graceful shutdown exits 0");

    let data = dir.path().join("data");
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("cbt.db")), 0o600);
    let names = ["session.key", "csrf.key", "jwt.key", "audit.key"];
    let mut before = Vec::new();
    for name in names {
        let path = data.join("secrets").join(name);
        assert_eq!(mode(&path), 0o600, "{name}");
        let content = std::fs::read_to_string(&path).unwrap();
        assert!(content.trim().len() >= 43, "{name}: 32 random bytes, base64url");
        before.push(content);
    }
    assert_eq!(before.iter().collect::<std::collections::HashSet<_>>().len(), names.len(), "distinct secrets");
    let kek = data.join("keys").join("kek-v1.key");
    assert_eq!((mode(&data.join("keys")), mode(&kek)), (0o700, 0o600), "the local key-encryption key");
    let kek_before = std::fs::read(&kek).unwrap();

    let second = RunningBinary::start(&crate::binary(), dir.path(), &env);
    assert_eq!(reqwest::get(second.url("/healthz")).await.unwrap().status(), 200);
    assert!(second.terminate());
    for (name, old) in names.iter().zip(&before) {
        assert_eq!(&std::fs::read_to_string(data.join("secrets").join(name)).unwrap(), old, "{name} reused");
    }
    assert_eq!(std::fs::read(&kek).unwrap(), kek_before, "the KEK is reused");
    assert!(!data.join("keys").join("kek-v2.key").exists(), "and not rotated by a restart");
    let mut raw =
        sqlx::SqliteConnection::connect(&format!("sqlite://{}", data.join("cbt.db").display())).await.unwrap();
    let starts: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_events WHERE action = 'system.start'")
        .fetch_one(&mut raw)
        .await
        .unwrap();
    let migrations: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_events WHERE action = 'system.migrate'")
        .fetch_one(&mut raw)
        .await
        .unwrap();
    assert_eq!((starts, migrations), (2, 1));
    let verify = run(dir.path(), &["audit", "verify"], &[]);
    assert!(verify.status.success(), "{}", stderr(&verify));
}

/// checklist_19_production_refuses_missing_or_weak_secrets: one line, naming
/// the setting, non-zero exit, nothing generated.
#[test]
fn checklist_19_production_refuses_missing_or_weak_secrets() {
    let cases: [(&str, Option<&str>, &str); 5] = [
        ("CBT_JWT_SECRET", None, "CBT_JWT_SECRET is not set"),
        ("CBT_SESSION_SECRET", Some("too-short-secret"), "CBT_SESSION_SECRET is too short"),
        (
            "CBT_AUDIT_KEY",
            Some("changeme-changeme-changeme-changeme-changeme"),
            "CBT_AUDIT_KEY looks like a placeholder",
        ),
        (
            "CBT_CSRF_SECRET",
            Some("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
            "CBT_CSRF_SECRET looks like a placeholder",
        ),
        ("CBT_KMS_KEY_ID", None, "CBT_KMS_KEY_ID is not set"),
    ];
    for (key, value, expected) in cases {
        let dir = tempfile::tempdir().unwrap();
        let out = run(dir.path(), &[], &with(production_env(), key, value));
        assert_eq!(out.status.code(), Some(2), "{key}");
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(err.contains(expected), "{err}");
        if let Some(v) = value {
            assert!(!err.contains(v), "the secret itself is not echoed");
        }
        assert!(!dir.path().join("data").exists(), "production generates nothing");
    }
}

/// Production keeps its key-encryption key in KMS unless a local KEK file
/// is chosen deliberately, and names an unknown provider.
#[test]
fn production_needs_kms_unless_a_local_kek_is_allowed() {
    let cases = [
        ("local", "CBT_KEY_PROVIDER is `local` (production needs `aws-kms`"),
        ("vault", "CBT_KEY_PROVIDER must be `local` or `aws-kms`, not `vault`"),
    ];
    for (provider, expected) in cases {
        let dir = tempfile::tempdir().unwrap();
        let out = run(dir.path(), &[], &with(production_env(), "CBT_KEY_PROVIDER", Some(provider)));
        assert_eq!(out.status.code(), Some(2), "{provider}");
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(err.contains(expected), "{err}");
        assert!(!dir.path().join("data").exists(), "production generates nothing");
    }
}

#[test]
fn production_refuses_sqlite_and_public_plain_http() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &[], &with(production_env(), "DATABASE_URL", Some("sqlite://./data/cbt.db")));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).starts_with("cbt-assistant: DATABASE_URL is not a PostgreSQL URL"), "{}", stderr(&out));
    assert_eq!(stderr(&out).lines().count(), 1);

    let out = run(dir.path(), &[], &with(production_env(), "CBT_BIND", Some("0.0.0.0:8443")));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("CBT_BIND 0.0.0.0:8443 is a public plain-HTTP address"), "{}", stderr(&out));

    let out = run(dir.path(), &[], &with(production_env(), "CBT_PUBLIC_URL", Some("http://cbt.example.org")));
    assert!(stderr(&out).contains("CBT_PUBLIC_URL must be an https:// URL"), "{}", stderr(&out));

    let out = run(dir.path(), &[], &with(production_env(), "CBT_BODY_LIMIT_BYTES", Some("lots")));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("CBT_BODY_LIMIT_BYTES"), "{}", stderr(&out));
}

/// Secrets from files (`*_FILE`), for container secret stores.
#[test]
fn secrets_can_come_from_files() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("jwt");
    std::fs::write(&file, b"Tq9wE3rY6uI1oP4aS7dF0gH2jK5lZ8xC\n").unwrap();
    let file = file.display().to_string();
    let mut env = with(production_env(), "CBT_JWT_SECRET", None);
    env.push(("CBT_JWT_SECRET_FILE", Box::leak(file.into_boxed_str())));
    let out = run(dir.path(), &["config", "check"], &env);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}{}", stdout, stderr(&out));
    assert!(stdout.contains("jwt_secret") && stdout.contains("set from file"), "{stdout}");
}

/// `config check` prints every setting, never a secret's value.
#[test]
fn config_check_redacts_secrets() {
    let dir = tempfile::tempdir().unwrap();
    // A remote server: production needs its certificate checked.
    let url = "postgres://cbt:db-password-9f8e7d@db.internal/cbt?sslmode=verify-full";
    let env = with(production_env(), "DATABASE_URL", Some(url));
    let out = run(dir.path(), &["config", "check"], &env);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", stderr(&out));
    assert!(!stdout.contains(STRONG) && !stdout.contains("db-password-9f8e7d"), "{stdout}");
    assert!(stdout.contains("postgres://cbt:[redacted]@db.internal/cbt?sslmode=verify-full"), "{stdout}");
    assert!(stdout.contains("session_secret") && stdout.contains("value redacted"), "{stdout}");

    let local = run(dir.path(), &["config", "check"], &[]);
    let stdout = String::from_utf8_lossy(&local.stdout);
    assert!(local.status.success());
    assert!(stdout.contains("will be generated"), "{stdout}");
    assert!(!dir.path().join("data").exists(), "config check writes nothing");
}

#[test]
fn migrate_subcommand_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["migrate"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v = cbt_store_sqlite::SqliteStore::expected_schema_version();
    let expected = format!("schema at version {v} ({v} migration(s) applied now)");
    assert!(String::from_utf8_lossy(&out.stdout).contains(&expected), "{expected}");
    let out = run(dir.path(), &["migrate"], &[]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("(0 migration(s) applied now)"));
}

/// A production start on PostgreSQL with every setting right serves, with
/// HSTS.
#[tokio::test]
async fn production_starts_on_postgres_with_good_settings() {
    let Some(db) = cbt_testkit::TestDatabase::postgres().await else { return };
    let Some(kms) = cbt_moto_server::MotoServer::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let url: &'static str = Box::leak(db.url.clone().into_boxed_str());
    let key_id: &'static str = Box::leak(kms.create_kms_key().into_boxed_str());
    let endpoint: &'static str = Box::leak(kms.endpoint.clone().into_boxed_str());
    let mut env = with(production_env(), "DATABASE_URL", Some(url));
    env = with(env, "CBT_KMS_KEY_ID", Some(key_id));
    env.push(("CBT_KMS_ENDPOINT", endpoint));
    env.push(("AWS_ACCESS_KEY_ID", cbt_moto_server::ACCESS_KEY_ID));
    env.push(("AWS_SECRET_ACCESS_KEY", cbt_moto_server::SECRET_ACCESS_KEY));
    env.push(("CBT_BIND", "127.0.0.1:0"));
    env.push(("CBT_LOG_FORMAT", "text"));
    let mut cmd = command(&crate::binary(), dir.path(), &env);
    let out = cmd.arg("migrate").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    // Production prints no banner; read the port from the log line.
    let server = cbt_testkit::RunningBinary::start(&crate::binary(), dir.path(), &env);
    let r = reqwest::get(server.url("/")).await.unwrap();
    assert_eq!(r.headers()["strict-transport-security"], "max-age=31536000; includeSubDomains; preload");
    assert_eq!(reqwest::get(server.url("/readyz")).await.unwrap().status(), 200);
    assert!(server.terminate());
    drop(db);
}

/// Checklist 29 from the command line: `keys rotate` makes a new local KEK
/// version and reports; `keys status` names the current one; the old one
/// is refused while current and destroyed once retired.
#[test]
fn keys_commands_rotate_report_and_destroy() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["migrate"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let keys = dir.path().join("data").join("keys");
    assert!(keys.join("kek-v1.key").exists());

    let refused = run(dir.path(), &["keys", "destroy-kek", "local:v1"], &[]);
    assert!(!refused.status.success(), "the current KEK stays");
    let rotate = run(dir.path(), &["keys", "rotate"], &[]);
    assert!(rotate.status.success(), "{}", stderr(&rotate));
    let text = String::from_utf8_lossy(&rotate.stdout);
    assert!(text.contains("new key-encryption key local:v2"), "{text}");
    assert!(text.contains("rotation to local:v2 complete"), "{text}");
    assert_eq!(mode(&keys.join("kek-v2.key")), 0o600);

    let status = run(dir.path(), &["keys", "status"], &[]);
    assert!(String::from_utf8_lossy(&status.stdout).contains("current key-encryption key: local:v2"));
    let destroy = run(dir.path(), &["keys", "destroy-kek", "local:v1"], &[]);
    assert!(destroy.status.success(), "{}", stderr(&destroy));
    assert!(!keys.join("kek-v1.key").exists());
}

/// `demo seed` makes a fictional caseload (sealed like any other), only
/// once, and never in production.
#[tokio::test]
async fn demo_seed_makes_a_fictional_caseload_once_and_never_in_production() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["demo", "seed", "--clients", "3", "--notes", "2", "--busy-client-notes", "4"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    let made = "3 clients, 8 signed notes, 3 formulations, 3 hypotheses, 3 signed treatment plans, \
                15 progress ratings, 3 homework assignments";
    assert!(text.contains(made) && text.contains("demo@demo.cbt-assistant.invalid"), "{text}");
    let again = run(dir.path(), &["demo", "seed"], &[]);
    assert_eq!(again.status.code(), Some(2));
    assert!(stderr(&again).contains("exists already"));

    let db = dir.path().join("data").join("cbt.db");
    let mut raw = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display())).await.unwrap();
    let clients: i64 = sqlx::query_scalar("SELECT count(*) FROM clients").fetch_one(&mut raw).await.unwrap();
    let signed: i64 =
        sqlx::query_scalar("SELECT count(*) FROM records WHERE kind = 'session_note' AND signed_at IS NOT NULL")
            .fetch_one(&mut raw)
            .await
            .unwrap();
    assert_eq!((clients, signed), (3, 8), "the first client has the busy client's 4 notes");
    let plans: i64 =
        sqlx::query_scalar("SELECT count(*) FROM records WHERE kind = 'treatment_plan' AND signed_at IS NOT NULL")
            .fetch_one(&mut raw)
            .await
            .unwrap();
    assert_eq!(plans, 3);
    drop(raw);
    let bytes = std::fs::read(&db).unwrap();
    assert!(!bytes.windows(12).any(|w| w == b"Alex Example"), "names are sealed like real ones");

    let prod = tempfile::tempdir().unwrap();
    let out = run(prod.path(), &["demo", "seed"], &production_env());
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("refused in production"), "{}", stderr(&out));
}
