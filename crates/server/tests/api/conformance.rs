//! The store conformance suite on each backend.

mod sqlite {
    use std::sync::Arc;

    use cbt_ports::Store;
    use cbt_store_sqlite::SqliteStore;
    use cbt_testkit::TestDatabase;

    async fn store() -> Option<(Arc<dyn Store>, TestDatabase)> {
        let db = TestDatabase::sqlite();
        let store = SqliteStore::connect(&db.url).await.expect("connect");
        store.migrate().await.expect("migrate");
        Some((Arc::new(store), db))
    }

    cbt_store_conformance::conformance_suite!(store());
}

mod postgres {
    use std::sync::Arc;

    use cbt_ports::Store;
    use cbt_store_postgres::{PoolSettings, PostgresStore};
    use cbt_testkit::TestDatabase;

    async fn store() -> Option<(Arc<dyn Store>, TestDatabase)> {
        let db = TestDatabase::postgres().await?;
        let store = PostgresStore::connect(&db.url, &PoolSettings::default()).await.expect("connect");
        store.migrate().await.expect("migrate");
        Some((Arc::new(store), db))
    }

    cbt_store_conformance::conformance_suite!(store());
}
