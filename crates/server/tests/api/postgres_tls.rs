//! Checklist C.22: PostgreSQL over TLS with CA verification. Uses the local
//! server's own certificate (Debian's snakeoil, CN=localhost) as the CA.

use cbt_ports::{Store, StoreError};
use cbt_store_postgres::{PoolSettings, PostgresStore};
use cbt_testkit::TestDatabase;
use sqlx::Connection;

const SERVER_CERT: &str = "/etc/ssl/certs/ssl-cert-snakeoil.pem";
/// Any CA that did not sign the server's certificate.
const WRONG_CA: &str = "/etc/ssl/certs/ISRG_Root_X1.pem";

fn tls_url(db: &TestDatabase, mode: &str, ca: &str) -> String {
    // Same database, reached as `localhost` so the name matches the cert.
    let url = db.url.replace("@127.0.0.1", "@localhost");
    format!("{url}?sslmode={mode}&sslrootcert={ca}")
}

#[tokio::test]
async fn checklist_22_postgres_tls_with_ca_verification() {
    let Some(db) = TestDatabase::postgres().await else { return };
    let mut plain = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let ssl: String = sqlx::query_scalar("SHOW ssl").fetch_one(&mut plain).await.unwrap();
    if ssl != "on" || !std::path::Path::new(SERVER_CERT).exists() || !std::path::Path::new(WRONG_CA).exists() {
        cbt_testkit::report_skip("PostgreSQL TLS", "the local server has no TLS certificate");
        return;
    }

    let store = PostgresStore::connect(&tls_url(&db, "verify-full", SERVER_CERT), &PoolSettings::default())
        .await
        .expect("TLS with the right CA connects");
    store.migrate().await.unwrap();
    store.check_ready().await.unwrap();
    store.close().await;
    let mut tls = sqlx::PgConnection::connect(&tls_url(&db, "verify-full", SERVER_CERT)).await.unwrap();
    let encrypted: bool = sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(&mut tls)
        .await
        .unwrap();
    assert!(encrypted, "the session is encrypted");

    match PostgresStore::connect(&tls_url(&db, "verify-full", WRONG_CA), &PoolSettings::default()).await {
        Err(StoreError::Unavailable(_)) => {}
        Err(other) => panic!("expected a refused connection, got {other}"),
        Ok(_) => panic!("a server certificate not signed by the configured CA was accepted"),
    }
}
