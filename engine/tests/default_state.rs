//! Where state lives when the operator says nothing (DESIGN §9): a data directory by default,
//! so a restart keeps every pool; `--in-memory` opts out.

mod support;

use serde_json::json;
use support::{Numpool, KEY, SECRET};

/// Creates pool `id` over REST.
async fn create_pool(server: &Numpool, id: &str) {
    let reply = reqwest::Client::new()
        .post(format!(
            "{}/v2/numberpools/accounts/{KEY}/pools",
            server.base_url()
        ))
        .basic_auth(KEY, Some(SECRET))
        .json(&json!({
            "pool_id": id,
            "fallback": "Pool",
            "localized_sender_preferred": true,
            "predictable_sender_preferred": true,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 201, "{:?}", reply.text().await);
}

/// Whether pool `id` exists.
async fn has_pool(server: &Numpool, id: &str) -> bool {
    let reply = reqwest::Client::new()
        .get(format!(
            "{}/v2/numberpools/accounts/{KEY}/pools/{id}",
            server.base_url()
        ))
        .basic_auth(KEY, Some(SECRET))
        .send()
        .await
        .unwrap();
    match reply.status().as_u16() {
        200 => true,
        404 => false,
        other => panic!("unexpected {other}"),
    }
}

#[tokio::test]
async fn a_restart_with_no_data_flags_keeps_the_pools() {
    let mut server = Numpool::start(&[]);
    create_pool(&server, "kept").await;
    server.restart();
    assert!(has_pool(&server, "kept").await);
    assert!(
        server.dir().join("numpool-data").is_dir(),
        "the default data directory is ./numpool-data"
    );
}

#[tokio::test]
async fn in_memory_forgets_at_restart_and_writes_nothing() {
    let mut server = Numpool::start(&["--in-memory"]);
    create_pool(&server, "gone").await;
    server.restart();
    assert!(!has_pool(&server, "gone").await);
    assert!(!server.dir().join("numpool-data").exists());
}
