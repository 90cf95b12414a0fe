//! Per-account limits (DESIGN §5, issue 13) against the real binary with small limits: at a
//! limit a change works, one over is a 403 `#limit-exceeded` naming the limit, its value and the
//! account, and the listings afterwards show that nothing of it was applied. A restart under
//! lowered limits keeps what the account holds and refuses additions.

mod support;

use reqwest::StatusCode;
use serde_json::{json, Value};
use support::{config_with, Numpool, KEY, OTHER_KEY, OTHER_SECRET, SECRET};

/// A server whose accounts are held to `limits` (TOML lines of `[limits]`), keeping its state
/// in its directory.
fn start(limits: &str) -> Numpool {
    Numpool::start_with_toml(&format!("[limits]\n{limits}"), &[])
}

/// A client acting as one account.
struct Api {
    client: reqwest::Client,
    base: String,
    key: &'static str,
    secret: &'static str,
}

impl Api {
    fn new(server: &Numpool, key: &'static str, secret: &'static str) -> Api {
        Api {
            client: reqwest::Client::new(),
            base: format!("{}/v2/numberpools/accounts/{key}", server.base_url()),
            key,
            secret,
        }
    }

    /// `method` on `path` (relative to the account) with an optional JSON body: the status
    /// and the body (`Null` when empty).
    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Answer {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .basic_auth(self.key, Some(self.secret));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        let text = response.text().await.expect("body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).expect("JSON body")
        };
        Answer { status, body }
    }

    async fn get(&self, path: &str) -> Answer {
        self.send(reqwest::Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> Answer {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    async fn put(&self, path: &str, body: Value) -> Answer {
        self.send(reqwest::Method::PUT, path, Some(body)).await
    }

    async fn delete(&self, path: &str) -> Answer {
        self.send(reqwest::Method::DELETE, path, None).await
    }

    async fn create_pool(&self, pool_id: &str) -> Answer {
        let body = json!({
            "pool_id": pool_id,
            "fallback": "Pool",
            "localized_sender_preferred": true,
            "predictable_sender_preferred": true,
        });
        self.post("/pools", body).await
    }

    /// Upserts `numbers` into the inventory, each with `weight`.
    async fn own(&self, numbers: &[String], weight: u32) -> Answer {
        let items: Vec<Value> = numbers
            .iter()
            .map(|n| json!({ "number": n, "weight": weight }))
            .collect();
        self.post("/numbers", json!({ "numbers": items })).await
    }

    async fn add_to_pool(&self, pool: &str, numbers: &[String]) -> Answer {
        self.post(
            &format!("/pools/{pool}/numbers"),
            json!({ "numbers": numbers }),
        )
        .await
    }

    /// `total_items` of a listing.
    async fn total(&self, path: &str) -> u64 {
        let answer = self.get(path).await;
        assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
        answer.body["total_items"].as_u64().unwrap()
    }

    /// Every inventory number with its weight, in number order.
    async fn inventory(&self) -> Vec<(String, u64)> {
        let mut all = Vec::new();
        for page in 1.. {
            let answer = self
                .get(&format!("/numbers?page={page}&page_size=100"))
                .await;
            let items = answer.body["_embedded"]["numbers"]
                .as_array()
                .unwrap()
                .clone();
            if items.is_empty() {
                return all;
            }
            all.extend(items.iter().map(|n| {
                let number = n["number"].as_str().unwrap().to_owned();
                (number, n["weight"].as_u64().unwrap())
            }));
        }
        unreachable!()
    }
}

/// One answer.
#[derive(Debug)]
struct Answer {
    status: StatusCode,
    body: Value,
}

impl Answer {
    /// Asserts a 403 `#limit-exceeded` naming `limit` = `value` for account `KEY`.
    #[track_caller]
    fn limit_exceeded(&self, limit: &str, value: u64) {
        assert_eq!(self.status, StatusCode::FORBIDDEN, "{self:?}");
        let body = &self.body;
        assert!(
            body["type"]
                .as_str()
                .unwrap()
                .ends_with("number-pools#limit-exceeded"),
            "{self:?}"
        );
        assert_eq!(body["title"], "Limit exceeded", "{self:?}");
        assert_eq!(body["limit"], limit, "{self:?}");
        assert_eq!(body["limit_value"], value, "{self:?}");
        assert_eq!(body["account_id"], KEY, "{self:?}");
        let detail = body["detail"].as_str().unwrap();
        assert!(detail.contains(limit) && detail.contains(KEY), "{detail}");
        assert!(body["instance"].is_string(), "{self:?}");
    }
}

/// `count` distinct GB mobile numbers from `first`.
fn numbers(first: u64, count: u64) -> Vec<String> {
    (first..first + count)
        .map(|i| format!("4477009{i:05}"))
        .collect()
}

#[tokio::test]
async fn pools_per_account() {
    let server = start("max_pools_per_account = 3");
    let api = Api::new(&server, KEY, SECRET);
    for id in ["p1", "p2", "p3"] {
        assert_eq!(api.create_pool(id).await.status, StatusCode::CREATED);
    }
    api.create_pool("p4")
        .await
        .limit_exceeded("max_pools_per_account", 3);
    assert_eq!(api.total("/pools").await, 3);
    assert_eq!(api.get("/pools/p4").await.status, StatusCode::NOT_FOUND);
    // At the limit, a pool may still change, even its id.
    let renamed = api
        .send(
            reqwest::Method::PATCH,
            "/pools/p3",
            Some(json!({ "pool_id": "p3b" })),
        )
        .await;
    assert_eq!(renamed.status, StatusCode::CREATED, "{renamed:?}");
    // The other account counts its own pools.
    let other = Api::new(&server, OTHER_KEY, OTHER_SECRET);
    for id in ["p1", "p2", "p3"] {
        assert_eq!(other.create_pool(id).await.status, StatusCode::CREATED);
    }
    // A deleted pool frees its place.
    assert_eq!(api.delete("/pools/p1").await.status, StatusCode::OK);
    assert_eq!(api.create_pool("p4").await.status, StatusCode::CREATED);
    assert_eq!(api.total("/pools").await, 3);
}

#[tokio::test]
async fn numbers_per_account() {
    let server = start("max_numbers_per_account = 60");
    let api = Api::new(&server, KEY, SECRET);
    assert_eq!(
        api.own(&numbers(0, 50), 1).await.status,
        StatusCode::CREATED
    );
    // Ten updates and eleven new numbers: 61 owned, one over. Refused whole: no number added
    // and no update applied.
    let mut mixed = numbers(0, 10);
    mixed.extend(numbers(50, 11));
    api.own(&mixed, 5)
        .await
        .limit_exceeded("max_numbers_per_account", 60);
    let inventory = api.inventory().await;
    assert_eq!(inventory.len(), 50);
    assert!(
        inventory.iter().all(|(_, weight)| *weight == 1),
        "{inventory:?}"
    );
    // Exactly at the limit works; a number listed twice counts once.
    let mut ten = numbers(50, 10);
    ten.push(ten[0].clone());
    assert_eq!(api.own(&ten, 1).await.status, StatusCode::CREATED);
    assert_eq!(api.total("/numbers").await, 60);
    // At the limit, owned numbers still change; a new one is refused, over PUT too.
    let update = api
        .put(
            &format!("/numbers/{}", numbers(0, 1)[0]),
            json!({ "weight": 7 }),
        )
        .await;
    assert_eq!(update.status, StatusCode::OK);
    let new = numbers(60, 1).remove(0);
    api.put(&format!("/numbers/{new}"), json!({}))
        .await
        .limit_exceeded("max_numbers_per_account", 60);
    assert_eq!(
        api.get(&format!("/numbers/{new}")).await.status,
        StatusCode::NOT_FOUND
    );
    // A released number frees its place.
    let released = numbers(1, 1).remove(0);
    assert_eq!(
        api.delete(&format!("/numbers/{released}")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        api.put(&format!("/numbers/{new}"), json!({})).await.status,
        StatusCode::CREATED
    );
    assert_eq!(api.total("/numbers").await, 60);
}

#[tokio::test]
async fn numbers_per_pool() {
    let server = start("max_numbers_per_pool = 60");
    let api = Api::new(&server, KEY, SECRET);
    let owned = numbers(0, 120);
    assert_eq!(api.own(&owned, 1).await.status, StatusCode::CREATED);
    assert_eq!(api.create_pool("p").await.status, StatusCode::CREATED);
    assert_eq!(
        api.add_to_pool("p", &owned[..11]).await.status,
        StatusCode::CREATED
    );
    // 11 + 50 passes the limit by one: refused whole.
    api.add_to_pool("p", &owned[11..61])
        .await
        .limit_exceeded("max_numbers_per_pool", 60);
    assert_eq!(api.total("/pools/p/numbers").await, 11);
    assert_eq!(api.get("/pools/p").await.body["number_count"], 11);
    // Exactly at the limit works.
    assert_eq!(
        api.add_to_pool("p", &owned[11..60]).await.status,
        StatusCode::CREATED
    );
    assert_eq!(api.total("/pools/p/numbers").await, 60);
    // At the limit, adding numbers already in the pool changes nothing and succeeds; one new
    // number is refused.
    assert_eq!(
        api.add_to_pool("p", &owned[..5]).await.status,
        StatusCode::CREATED
    );
    api.add_to_pool("p", &owned[60..61])
        .await
        .limit_exceeded("max_numbers_per_pool", 60);
    assert_eq!(api.total("/pools/p/numbers").await, 60);
    // The limit is per pool: another pool takes the same numbers.
    assert_eq!(api.create_pool("q").await.status, StatusCode::CREATED);
    assert_eq!(
        api.add_to_pool("q", &owned[60..110]).await.status,
        StatusCode::CREATED
    );
    // A removed number frees its place.
    let removed = api.delete(&format!("/pools/p/numbers/{}", owned[0])).await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT);
    assert_eq!(
        api.add_to_pool("p", &owned[60..61]).await.status,
        StatusCode::CREATED
    );
    assert_eq!(api.total("/pools/p/numbers").await, 60);
}

/// Restarted under lower limits than its data was stored under (docs/decisions.md): an account
/// keeps every pool and number it has and serves them, additions are refused until it is back
/// under a limit, and changes and removals work all along.
#[tokio::test]
async fn a_restored_account_over_a_lowered_limit_keeps_its_data_and_takes_no_more() {
    let mut server =
        start("max_pools_per_account = 3\nmax_numbers_per_account = 60\nmax_numbers_per_pool = 60");
    let api = Api::new(&server, KEY, SECRET);
    let owned = numbers(0, 60);
    assert_eq!(api.own(&owned, 1).await.status, StatusCode::CREATED);
    for id in ["p1", "p2", "p3"] {
        assert_eq!(api.create_pool(id).await.status, StatusCode::CREATED);
    }
    for chunk in [&owned[..50], &owned[50..]] {
        assert_eq!(
            api.add_to_pool("p1", chunk).await.status,
            StatusCode::CREATED
        );
    }

    std::fs::write(
        server.config(),
        config_with(
            "[limits]\nmax_pools_per_account = 2\nmax_numbers_per_account = 40\n\
             max_numbers_per_pool = 40",
        ),
    )
    .unwrap();
    server.restart();
    let api = Api::new(&server, KEY, SECRET);
    // Everything is kept and served.
    assert_eq!(api.total("/pools").await, 3);
    assert_eq!(api.total("/numbers").await, 60);
    assert_eq!(api.total("/pools/p1/numbers").await, 60);
    let pick = api
        .post("/pools/p1/pick", json!({ "to": "447400123459" }))
        .await;
    assert_eq!(pick.status, StatusCode::OK, "{pick:?}");
    // Additions are refused, naming the lowered values.
    api.create_pool("p4")
        .await
        .limit_exceeded("max_pools_per_account", 2);
    api.put(&format!("/numbers/{}", numbers(60, 1)[0]), json!({}))
        .await
        .limit_exceeded("max_numbers_per_account", 40);
    // Changes that add nothing still work: an update, a re-add, a removal.
    let update = api
        .put(&format!("/numbers/{}", owned[0]), json!({ "weight": 3 }))
        .await;
    assert_eq!(update.status, StatusCode::OK);
    assert_eq!(
        api.add_to_pool("p1", &owned[..3]).await.status,
        StatusCode::CREATED
    );
    let removed = api.delete(&format!("/pools/p1/numbers/{}", owned[0])).await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT);
    // Still over 40 in p1 (59): a number that left cannot come back yet.
    api.add_to_pool("p1", &owned[..1])
        .await
        .limit_exceeded("max_numbers_per_pool", 40);
    // Another pool under its own limit takes numbers.
    assert_eq!(
        api.add_to_pool("p2", &owned[..40]).await.status,
        StatusCode::CREATED
    );
    assert_eq!(api.total("/pools/p1/numbers").await, 59);
    // Back under the pool limit: one more pool may be created again.
    for id in ["p2", "p3"] {
        assert_eq!(
            api.delete(&format!("/pools/{id}")).await.status,
            StatusCode::OK
        );
    }
    assert_eq!(api.create_pool("p4").await.status, StatusCode::CREATED);
    api.create_pool("p5")
        .await
        .limit_exceeded("max_pools_per_account", 2);
}
