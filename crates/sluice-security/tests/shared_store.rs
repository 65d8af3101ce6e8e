//! Two nodes sharing one PostgreSQL database: what one node derived from the security records (the
//! directory's generation, which its caches are kept as of) moves when the other writes them. Run
//! with `SLUICE_TEST_STORE=postgres`; skipped otherwise.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use sluice_model::Principal;
use sluice_security::Directory;
use sluice_store::PostgresStore;

#[tokio::test]
async fn a_write_through_one_node_moves_the_other_nodes_generation() {
    if std::env::var("SLUICE_TEST_STORE").as_deref() != Ok("postgres") {
        return;
    }
    let url = sluice_test_postgres::PrivatePostgres::shared().new_database();
    let a = Directory::new(Arc::new(PostgresStore::connect(&url, 2).await.unwrap()));
    let b = Directory::new(Arc::new(PostgresStore::connect(&url, 2).await.unwrap()));
    let before = b.generation();

    let params = BTreeMap::from([("UserName".to_string(), "alice".to_string())]);
    a.iam(&Principal::root("111122223333"), "CreateUser", &params, 0)
        .await
        .unwrap();

    let mut waited = Duration::ZERO;
    while b.generation() == before {
        assert!(
            waited < Duration::from_secs(5),
            "the other node never heard"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
        waited += Duration::from_millis(5);
    }
}
