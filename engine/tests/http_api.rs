//! The REST API (DESIGN §5) against the real binary: every Vonage operation with its status codes
//! and problem bodies, numpool's extensions, and for every kind of bad input, proof that nothing
//! changed.

mod support;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use support::rest::{reply, Api};
use support::{Numpool, KEY, OTHER_KEY, OTHER_SECRET, SECRET};

const POOLS_ERR: &str = "https://developer.nexmo.com/api-errors/number-pools";

/// `count` distinct UK mobile numbers.
fn uk_numbers(count: usize) -> Vec<String> {
    (0..count).map(|i| format!("4477009{i:05}")).collect()
}

fn strs(numbers: &[String]) -> Vec<&str> {
    numbers.iter().map(String::as_str).collect()
}

#[tokio::test]
async fn missing_or_wrong_credentials_are_401() {
    let server = Numpool::start(&[]);
    let api = Api::new(&server);
    let client = reqwest::Client::new();
    let url = api.url("/pools");
    let cases = [
        client.get(&url),
        client.get(&url).basic_auth(KEY, Some("wrong")),
        client.get(&url).basic_auth(KEY, Some(OTHER_SECRET)),
        client.get(&url).basic_auth("nobody00", Some(SECRET)),
        client
            .get(&url)
            .header("authorization", "Basic !!!notbase64"),
        client.get(&url).header("authorization", "Bearer abc"),
    ];
    for request in cases {
        let reply = reply(request.send().await.unwrap()).await;
        let body = reply.problem(401, "unauthorized");
        assert_eq!(body["title"], "Invalid credentials supplied");
        assert!(body["type"]
            .as_str()
            .unwrap()
            .starts_with("https://developer.vonage.com/"));
        assert_eq!(reply.headers["www-authenticate"], "Basic realm=\"numpool\"");
    }
}

#[tokio::test]
async fn another_accounts_path_is_404_never_403() {
    let server = Numpool::start(&[]);
    let mine = Api::new(&server);
    mine.create_pool("private", json!({})).await;
    let other = Api::as_account(&server, OTHER_KEY, OTHER_SECRET);
    for path in [
        "/pools",
        "/pools/private",
        "/pools/private/numbers",
        "/numbers",
    ] {
        let reply = other.get(path).await;
        let body = reply.problem(404, "not-found");
        assert_eq!(
            body["detail"],
            format!("ID '{KEY}' does not exist, or you do not have access")
        );
    }
    // An account that does not exist answers the same.
    let reply = mine.get("/v2/numberpools/accounts/zzzz0000/pools").await;
    reply.problem(404, "not-found");
    // The other account's own view is empty.
    let reply = other
        .get(&format!("/v2/numberpools/accounts/{OTHER_KEY}/pools"))
        .await;
    assert_eq!(reply.body["total_items"], 0);
}

#[tokio::test]
async fn pool_lifecycle_create_get_patch_rename_delete() {
    let server = Numpool::start(&[]);
    let api = Api::new(&server);
    let created = api
        .post(
            "/pools",
            json!({
                "pool_id": "uk-retail",
                "fallback": "CustomFrom",
                "localized_sender_preferred": true,
                "predictable_sender_preferred": false,
                "custom_from": "Acme",
                "sticky_ttl_seconds": 3600,
            }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(
        created.headers["location"],
        format!("/v2/numberpools/accounts/{KEY}/pools/uk-retail")
    );
    let pool = &created.body;
    assert_eq!(pool["pool_id"], "uk-retail");
    assert_eq!(pool["account_id"], KEY);
    assert_eq!(pool["fallback"], "CustomFrom");
    assert_eq!(pool["localized_sender_preferred"], true);
    assert_eq!(pool["predictable_sender_preferred"], false);
    assert_eq!(pool["custom_from"], "Acme");
    assert_eq!(pool["sticky_ttl_seconds"], 3600);
    assert_eq!(pool["number_count"], 0);
    assert!(pool["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        pool["_links"]["numbers"]["href"],
        format!("/v2/numberpools/accounts/{KEY}/pools/uk-retail/numbers")
    );

    let got = api.get("/pools/uk-retail").await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.body, created.body);

    // PATCH answers 201; untouched fields stay; null clears custom_from; pool_id renames.
    let patched = api
        .patch(
            "/pools/uk-retail",
            json!({ "fallback": "Reject", "custom_from": null, "pool_id": "uk-2", "account_id": KEY }),
        )
        .await;
    assert_eq!(patched.status, StatusCode::CREATED, "{patched:?}");
    assert_eq!(patched.body["pool_id"], "uk-2");
    assert_eq!(patched.body["fallback"], "Reject");
    assert_eq!(patched.body["custom_from"], Value::Null);
    assert_eq!(patched.body["sticky_ttl_seconds"], 3600);
    assert_eq!(patched.body["predictable_sender_preferred"], false);
    api.get("/pools/uk-retail").await.problem(404, "not-found");
    assert_eq!(api.get("/pools/uk-2").await.body["fallback"], "Reject");

    // DELETE answers 200 with the pool as it was; then it is gone.
    let deleted = api.delete("/pools/uk-2").await;
    assert_eq!(deleted.status, StatusCode::OK);
    assert_eq!(deleted.body["pool_id"], "uk-2");
    api.get("/pools/uk-2").await.problem(404, "not-found");
    api.delete("/pools/uk-2").await.problem(404, "not-found");
    api.patch("/pools/uk-2", json!({}))
        .await
        .problem(404, "not-found");
    // A path pool id that breaks the pattern names no pool.
    api.get("/pools/bad%20id").await.problem(404, "not-found");
}

#[tokio::test]
async fn conflicts_are_409() {
    let server = Numpool::start(&[]);
    let api = Api::new(&server);
    api.create_pool("a", json!({})).await;
    api.create_pool("b", json!({})).await;
    let before = api.snapshot().await;

    let body = api
        .post(
            "/pools",
            json!({ "pool_id": "a", "fallback": "Reject", "localized_sender_preferred": false, "predictable_sender_preferred": false }),
        )
        .await;
    let problem = body.problem(409, "pool-id-exists");
    assert_eq!(problem["title"], "Pool ID already exists");
    assert_eq!(problem["type"], format!("{POOLS_ERR}#pool-id-exists"));

    let mismatch = api
        .patch(
            "/pools/a",
            json!({ "account_id": OTHER_KEY, "fallback": "Reject" }),
        )
        .await;
    let problem = mismatch.problem(409, "account-id-mismatch");
    assert_eq!(
        problem["title"],
        "The Account ID does not match the original Account ID"
    );
    api.patch("/pools/a", json!({ "pool_id": "b" }))
        .await
        .problem(409, "pool-id-exists");
    assert_eq!(api.snapshot().await, before);
}

#[tokio::test]
async fn bad_pool_bodies_are_400_and_change_nothing() {
    let server = Numpool::start(&[]);
    let api = Api::new(&server);
    api.create_pool("keep", json!({ "custom_from": "Acme" }))
        .await;
    let before = api.snapshot().await;
    let valid = json!({
        "pool_id": "new",
        "fallback": "Pool",
        "localized_sender_preferred": true,
        "predictable_sender_preferred": true,
    });
    let with = |key: &str, value: Value| {
        let mut body = valid.clone();
        body[key] = value;
        body
    };
    let without = |key: &str| {
        let mut body = valid.clone();
        body.as_object_mut().unwrap().remove(key);
        body
    };
    // (body, the field invalid_parameters must name)
    let cases = [
        (with("fallback", json!("Sometimes")), "fallback"),
        (with("fallback", json!(1)), "fallback"),
        (
            with("localized_sender_preferred", json!("yes")),
            "localized_sender_preferred",
        ),
        (
            with("predictable_sender_preferred", Value::Null),
            "predictable_sender_preferred",
        ),
        (with("pool_id", json!("has space")), "pool_id"),
        (with("pool_id", json!("x".repeat(65))), "pool_id"),
        (with("pool_id", json!("")), "pool_id"),
        (with("pool_id", json!(42)), "pool_id"),
        (
            with("custom_from", json!("Far too long name")),
            "custom_from",
        ),
        (with("sticky_ttl_seconds", json!(-1)), "sticky_ttl_seconds"),
        (with("sticky_ttl_seconds", json!(1.5)), "sticky_ttl_seconds"),
        (without("pool_id"), "pool_id"),
        (without("fallback"), "fallback"),
        (
            without("localized_sender_preferred"),
            "localized_sender_preferred",
        ),
        (json!([1, 2]), "body"),
        (json!("pool"), "body"),
    ];
    for (body, field) in cases {
        let reply = api.post("/pools", body.clone()).await;
        reply.problem(400, "validation");
        assert_eq!(reply.invalid_names(), vec![field], "{body}");
    }
    // Several faults are reported together.
    let reply = api
        .post("/pools", json!({ "pool_id": "a b", "fallback": "x" }))
        .await;
    assert_eq!(reply.invalid_names().len(), 4, "{reply:?}");

    // PATCH: the spec's own example, and the others.
    let patch_cases = [
        (
            json!({ "localized_sender_preferred": "true" }),
            "localized_sender_preferred",
        ),
        (json!({ "fallback": "Nope" }), "fallback"),
        (json!({ "pool_id": "bad/id" }), "pool_id"),
        (json!({ "custom_from": "bad!" }), "custom_from"),
        (json!({ "account_id": 7 }), "account_id"),
        (json!(null), "body"),
    ];
    for (body, field) in patch_cases {
        let reply = api.patch("/pools/keep", body.clone()).await;
        let problem = reply.problem(400, "validation");
        assert_eq!(problem["title"], "Bad Request");
        assert_eq!(reply.invalid_names(), vec![field], "{body}");
    }

    // Not JSON at all.
    for text in ["{\"pool_id\": \"x\" f}", "", "{", "pool_id=x"] {
        let reply = api.raw(Method::POST, "/pools", text).await;
        let problem = reply.problem(400, "invalid-json");
        assert_eq!(problem["title"], "Unable to parse incoming request");
        api.raw(Method::PATCH, "/pools/keep", text)
            .await
            .problem(400, "invalid-json");
    }
    assert_eq!(api.snapshot().await, before);
}

#[tokio::test]
async fn bodies_over_the_limit_are_400_and_change_nothing() {
    let server = Numpool::start(&[]);
    let api = Api::new(&server);
    api.create_pool("p", json!({})).await;
    api.own(&["447700900001"]).await;
    let before = api.snapshot().await;
    // Valid JSON, but padded past 256 KiB.
    let padding = "x".repeat(300 * 1024);
    let body = json!({ "numbers": ["447700900001"], "padding": padding }).to_string();
    for path in ["/pools/p/numbers", "/pools", "/numbers"] {
        let reply = api.raw(Method::POST, path, body.clone()).await;
        let problem = reply.problem(400, "invalid-json");
        assert!(
            problem["detail"].as_str().unwrap().contains("262144"),
            "{reply:?}"
        );
    }
    assert_eq!(api.snapshot().await, before);
}

#[tokio::test]
async fn add_numbers_201_207_400() {
    let server = Numpool::start(&[]);
    let api = Api::new(&server);
    api.create_pool("p", json!({})).await;
    api.own(&["447700900001", "447700900002", "447700900003"])
        .await;

    let all = api
        .post(
            "/pools/p/numbers",
            json!({ "numbers": ["447700900001", "447700900002"] }),
        )
        .await;
    assert_eq!(all.status, StatusCode::CREATED, "{all:?}");
    assert_eq!(all.body["numbers"], json!(["447700900001", "447700900002"]));
    assert_eq!(
        all.body["_links"]["self"]["href"],
        format!("/v2/numberpools/accounts/{KEY}/pools/p/numbers")
    );
    // Adding again is idempotent.
    let again = api
        .post("/pools/p/numbers", json!({ "numbers": ["447700900001"] }))
        .await;
    assert_eq!(again.status, StatusCode::CREATED);

    // Partial: the owned one is added, the other reported; items are not wrapped.
    let partial = api
        .post(
            "/pools/p/numbers",
            json!({ "numbers": ["447700900003", "447700900099"] }),
        )
        .await;
    assert_eq!(partial.status, StatusCode::MULTI_STATUS, "{partial:?}");
    assert_eq!(partial.content_type, "application/json");
    assert_eq!(partial.body["numbers"], json!(["447700900003"]));
    let error = &partial.body["error"];
    assert_eq!(
        error["type"],
        format!("{POOLS_ERR}#add-numbers-partial-failure")
    );
    assert_eq!(error["title"], "Could not add all numbers to pool");
    assert_eq!(
        error["errors"][0]["type"],
        format!("{POOLS_ERR}#missing-number-subscription")
    );
    assert_eq!(error["errors"][0]["numbers"], json!(["447700900099"]));

    // None added: 400 with the same (unwrapped) items, and nothing changed.
    let before = api.snapshot().await;
    let none = api
        .post(
            "/pools/p/numbers",
            json!({ "numbers": ["447700900098", "447700900099"] }),
        )
        .await;
    let problem = none.problem(400, "add-number-failure");
    assert_eq!(problem["title"], "Numbers could not be added to the pool");
    assert_eq!(
        problem["errors"][0]["numbers"],
        json!(["447700900098", "447700900099"])
    );
    assert_eq!(api.snapshot().await, before);
    assert_eq!(api.get("/pools/p").await.body["number_count"], 3);
    // Unknown pool.
    api.post(
        "/pools/nope/numbers",
        json!({ "numbers": ["447700900001"] }),
    )
    .await
    .problem(404, "not-found");
}

#[tokio::test]
async fn remove_numbers_204_207_400_and_single_delete() {
    let server = Numpool::start(&[]);
    let api = Api::new(&server);
    api.create_pool("p", json!({})).await;
    let owned = uk_numbers(4);
    api.own(&strs(&owned)).await;
    api.post("/pools/p/numbers", json!({ "numbers": owned }))
        .await;

    let all = api
        .post("/pools/p/numbers/delete", json!({ "numbers": [owned[0]] }))
        .await;
    assert_eq!(all.status, StatusCode::NO_CONTENT, "{all:?}");
    assert_eq!(all.body, Value::Null);

    // Partial: the spec wraps each errors[] item in an `error` key here.
    let partial = api
        .post(
            "/pools/p/numbers/delete",
            json!({ "numbers": [owned[1], owned[0]] }),
        )
        .await;
    assert_eq!(partial.status, StatusCode::MULTI_STATUS, "{partial:?}");
    assert_eq!(partial.body["numbers"], json!([owned[1]]));
    let error = &partial.body["error"];
    assert_eq!(
        error["type"],
        format!("{POOLS_ERR}#delete-numbers-partial-failure")
    );
    let item = &error["errors"][0]["error"];
    assert_eq!(item["type"], format!("{POOLS_ERR}#missing-number"));
    assert_eq!(item["title"], "Number not found");
    assert_eq!(item["numbers"], json!([owned[0]]));

    // None removed: 400, items not wrapped, nothing changed.
    let before = api.snapshot().await;
    let none = api
        .post(
            "/pools/p/numbers/delete",
            json!({ "numbers": [owned[0], owned[1]] }),
        )
        .await;
    let problem = none.problem(400, "number-deletion-failure");
    assert_eq!(
        problem["errors"][0]["type"],
        format!("{POOLS_ERR}#missing-number")
    );
    assert_eq!(problem["errors"][0]["numbers"], json!([owned[0], owned[1]]));
    assert_eq!(api.snapshot().await, before);

    // Single delete: 204, then 400 #number-deletion-error once it is gone.
    let path = format!("/pools/p/numbers/{}", owned[2]);
    let deleted = api.delete(&path).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let problem = api.delete(&path).await;
    let body = problem.problem(400, "number-deletion-error");
    assert_eq!(body["title"], "Could not delete number");
    api.delete(&format!("/pools/nope/numbers/{}", owned[3]))
        .await
        .problem(404, "not-found");
    assert_eq!(
        api.get("/pools/p/numbers").await.body["_embedded"]["numbers"],
        json!([owned[3]])
    );
}

#[tokio::test]
async fn malformed_numbers_are_400_and_change_nothing() {
    let server = Numpool::start(&[]);
    let api = Api::new(&server);
    api.create_pool("p", json!({})).await;
    api.own(&["447700900001"]).await;
    api.post("/pools/p/numbers", json!({ "numbers": ["447700900001"] }))
        .await;
    let before = api.snapshot().await;
    let cases = [
        (
            json!({ "numbers": ["447700900001", "12ab567"] }),
            "numbers[1]",
        ),
        (json!({ "numbers": ["123456"] }), "numbers[0]"),
        (json!({ "numbers": ["1234567890123456"] }), "numbers[0]"),
        (json!({ "numbers": [447700900001u64] }), "numbers[0]"),
        (json!({ "numbers": "447700900001" }), "numbers"),
        (json!({ "number": ["447700900001"] }), "numbers"),
    ];
    for path in ["/pools/p/numbers", "/pools/p/numbers/delete"] {
        for (body, field) in &cases {
            let reply = api.post(path, body.clone()).await;
            reply.problem(400, "validation");
            assert_eq!(reply.invalid_names(), vec![*field], "{path} {body}");
        }
    }
    let reply = api.delete("/pools/p/numbers/12ab").await;
    reply.problem(400, "validation");
    assert_eq!(reply.invalid_names(), vec!["number"]);
    assert_eq!(api.snapshot().await, before);
}

#[tokio::test]
async fn bulk_limits_refuse_the_whole_request() {
    let server = Numpool::start(&[]);
    let api = Api::new(&server);
    api.create_pool("p", json!({})).await;
    let owned = uk_numbers(51);
    api.own(&strs(&owned)).await;
    let before = api.snapshot().await;
    for path in ["/pools/p/numbers", "/pools/p/numbers/delete"] {
        let reply = api.post(path, json!({ "numbers": owned })).await;
        let problem = reply.problem(400, "bulk-number-delete-limit");
        assert_eq!(
            problem["invalid_parameters"],
            json!([{ "name": "numbers", "reason": "Limit of 50 numbers exceeded" }])
        );
    }
    assert_eq!(api.snapshot().await, before);

    // Exactly 50 is fine, both ways.
    let fifty = &owned[..50];
    let added = api
        .post("/pools/p/numbers", json!({ "numbers": fifty }))
        .await;
    assert_eq!(added.status, StatusCode::CREATED);
    let removed = api
        .post("/pools/p/numbers/delete", json!({ "numbers": fifty }))
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT);

    // The inventory takes 1,000, not 1,001.
    let before = api.snapshot().await;
    let items: Vec<Value> = (0..1001)
        .map(|i| json!({ "number": format!("4477008{i:05}") }))
        .collect();
    let reply = api.post("/numbers", json!({ "numbers": items })).await;
    let problem = reply.problem(400, "bulk-number-delete-limit");
    assert_eq!(
        problem["invalid_parameters"],
        json!([{ "name": "numbers", "reason": "Limit of 1000 numbers exceeded" }])
    );
    assert_eq!(api.snapshot().await, before);
    let reply = api
        .post("/numbers", json!({ "numbers": items[..1000] }))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(api.get("/numbers").await.body["total_items"], 1051);
}

#[tokio::test]
async fn paging_envelope_and_links() {
    let server = Numpool::start(&[]);
    let api = Api::new(&server);
    for i in 0..25 {
        api.create_pool(&format!("pool-{i:02}"), json!({})).await;
    }
    let base = format!("/v2/numberpools/accounts/{KEY}/pools");
    let href = |page: usize, size: usize| json!({ "href": format!("{base}?page={page}&page_size={size}") });

    let first = api.get("/pools").await;
    assert_eq!(first.status, StatusCode::OK);
    let body = &first.body;
    assert_eq!(body["page"], 1);
    assert_eq!(body["page_size"], 10);
    assert_eq!(body["total_items"], 25);
    assert_eq!(body["total_pages"], 3);
    assert_eq!(body["_embedded"]["pools"].as_array().unwrap().len(), 10);
    assert_eq!(body["_embedded"]["pools"][0]["pool_id"], "pool-00");
    assert_eq!(body["_links"]["self"], href(1, 10));
    assert_eq!(body["_links"]["first"], href(1, 10));
    assert_eq!(body["_links"]["last"], href(3, 10));
    assert_eq!(body["_links"]["next"], href(2, 10));
    assert!(body["_links"].get("previous").is_none());

    let middle = api.get("/pools?page=2&page_size=10").await.body;
    assert_eq!(middle["_links"]["previous"], href(1, 10));
    assert_eq!(middle["_links"]["next"], href(3, 10));
    assert_eq!(middle["_embedded"]["pools"][0]["pool_id"], "pool-10");

    let last = api.get("/pools?page=3").await.body;
    assert_eq!(last["_embedded"]["pools"].as_array().unwrap().len(), 5);
    assert!(last["_links"].get("next").is_none());

    let beyond = api.get("/pools?page=9").await.body;
    assert_eq!(beyond["_embedded"]["pools"], json!([]));
    // The spec sets no maximum: a page too large for the server's integers is just empty.
    let huge = api.get("/pools?page=23918210022038241280").await;
    assert_eq!(huge.status, StatusCode::OK);
    assert_eq!(huge.body["_embedded"]["pools"], json!([]));

    let big = api.get("/pools?page_size=1000").await.body;
    assert_eq!(big["page_size"], 100);
    assert_eq!(big["total_pages"], 1);

    for query in [
        "page=0",
        "page=-1",
        "page=x",
        "page=+2",
        "page_size=-2",
        "page_size=ten",
    ] {
        let reply = api.get(&format!("/pools?{query}")).await;
        reply.problem(400, "validation");
    }

    // Pool numbers page the same way.
    let owned = uk_numbers(12);
    api.own(&strs(&owned)).await;
    api.post("/pools/pool-00/numbers", json!({ "numbers": owned }))
        .await;
    let numbers = api
        .get("/pools/pool-00/numbers?page=2&page_size=5")
        .await
        .body;
    assert_eq!(numbers["_embedded"]["numbers"], json!(owned[5..10]));
    assert_eq!(numbers["total_pages"], 3);
    assert_eq!(
        numbers["_links"]["last"]["href"],
        format!("{base}/pool-00/numbers?page=3&page_size=5")
    );
}

#[tokio::test]
async fn inventory_upsert_get_put_delete() {
    let server = Numpool::start(&[]);
    let api = Api::new(&server);
    let reply = api
        .post(
            "/numbers",
            json!({ "numbers": [
                { "number": "+447700900001", "network": "23415", "type": "mobile", "weight": 3 },
                { "number": "12125550101" },
            ]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
    assert_eq!(
        reply.body["created"],
        json!(["447700900001", "12125550101"])
    );
    let again = api
        .post(
            "/numbers",
            json!({ "numbers": [{ "number": "12125550101", "weight": 2 }] }),
        )
        .await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body["updated"], json!(["12125550101"]));

    let listed = api.get("/numbers").await.body;
    assert_eq!(listed["total_items"], 2);
    let first = &listed["_embedded"]["numbers"][0];
    assert_eq!(first["number"], "12125550101");
    assert_eq!(first["country"], "US");
    assert_eq!(first["weight"], 2);
    assert_eq!(first["network"], Value::Null);

    let one = api.get("/numbers/447700900001").await;
    assert_eq!(one.body["country"], "GB");
    assert_eq!(one.body["network"], "23415");
    assert_eq!(one.body["type"], "mobile");
    assert_eq!(one.body["weight"], 3);

    let put = api
        .put("/numbers/4915112345001", json!({ "network": "26202" }))
        .await;
    assert_eq!(put.status, StatusCode::CREATED);
    assert_eq!(put.body["country"], "DE");
    let put = api
        .put("/numbers/4915112345001", json!({ "weight": 5 }))
        .await;
    assert_eq!(put.status, StatusCode::OK);
    assert_eq!(put.body["weight"], 5);

    // Releasing a number takes it out of every pool.
    api.create_pool("p", json!({})).await;
    api.post("/pools/p/numbers", json!({ "numbers": ["447700900001"] }))
        .await;
    let deleted = api.delete("/numbers/447700900001").await;
    assert_eq!(deleted.status, StatusCode::OK);
    assert_eq!(deleted.body["number"], "447700900001");
    assert_eq!(api.get("/pools/p").await.body["number_count"], 0);
    api.get("/numbers/447700900001")
        .await
        .problem(404, "not-found");
    api.delete("/numbers/447700900001")
        .await
        .problem(404, "not-found");

    // Bad input: each fault named by position, nothing applied.
    let before = api.snapshot().await;
    let reply = api
        .post(
            "/numbers",
            json!({ "numbers": [
                { "number": "447700900005" },
                { "number": "44770090000x" },
                { "number": "447700900006", "weight": 0 },
                { "number": "447700900007", "type": "satellite" },
                { "number": "447700900008", "network": "has space" },
                { "network": "23415" },
                { "number": "9991234567" },
                "447700900009",
            ]}),
        )
        .await;
    reply.problem(400, "validation");
    assert_eq!(
        reply.invalid_names(),
        vec![
            "numbers[1].number",
            "numbers[2].weight",
            "numbers[3].type",
            "numbers[4].network",
            "numbers[5].number",
            "numbers[6].number",
            "numbers[7]",
        ]
    );
    let reply = api.put("/numbers/12ab", json!({})).await;
    assert_eq!(reply.invalid_names(), vec!["number"]);
    let reply = api
        .put("/numbers/447700900005", json!({ "weight": "heavy" }))
        .await;
    assert_eq!(reply.invalid_names(), vec!["weight"]);
    api.raw(Method::PUT, "/numbers/447700900005", "{")
        .await
        .problem(400, "invalid-json");
    assert_eq!(api.snapshot().await, before);
}

#[tokio::test]
async fn http_picks_and_sticky_mappings() {
    let server = Numpool::start(&[]);
    let api = Api::new(&server);
    api.own(&["447700900001", "447700900002", "4915112345001"])
        .await;
    api.create_pool("p", json!({})).await;
    api.post(
        "/pools/p/numbers",
        json!({ "numbers": ["447700900001", "447700900002", "4915112345001"] }),
    )
    .await;

    let first = api
        .post("/pools/p/pick", json!({ "to": "+447400123459" }))
        .await;
    assert_eq!(first.status, StatusCode::OK, "{first:?}");
    assert_eq!(first.body["reason"], "country");
    let sender = first.body["from"].as_str().unwrap().to_owned();
    assert!(sender.starts_with("44"), "{sender}");
    let second = api
        .post("/pools/p/pick", json!({ "to": "447400123459" }))
        .await;
    assert_eq!(
        (
            &second.body["from"],
            &second.body["reason"],
            &second.body["wait_ms"]
        ),
        (&json!(sender), &json!("sticky"), &json!(0)),
        "a number without mps never waits"
    );
    assert!(second.body["send_after"].as_str().unwrap().ends_with('Z'));

    let mapping = api.get("/pools/p/sticky/447400123459").await;
    assert_eq!(
        (&mapping.body["to"], &mapping.body["from"]),
        (&json!("447400123459"), &json!(sender))
    );
    let (since, last_use) = (&mapping.body["since"], &mapping.body["last_use"]);
    assert!(since.as_str().unwrap().ends_with('Z'), "{mapping:?}");
    assert!(since.as_str() <= last_use.as_str(), "{mapping:?}");
    let dropped = api.delete("/pools/p/sticky/447400123459").await;
    assert_eq!(dropped.status, StatusCode::NO_CONTENT);
    api.get("/pools/p/sticky/447400123459")
        .await
        .problem(404, "not-found");
    api.delete("/pools/p/sticky/447400123459")
        .await
        .problem(404, "not-found");
    api.get("/pools/p/sticky/12ab")
        .await
        .problem(400, "validation");

    // Rejections are 422; the CustomFrom fallback uses the request's `from`.
    api.create_pool("strict", json!({ "fallback": "Reject" }))
        .await;
    api.post(
        "/pools/strict/numbers",
        json!({ "numbers": ["447700900001"] }),
    )
    .await;
    let rejected = api
        .post("/pools/strict/pick", json!({ "to": "33612345678" }))
        .await;
    let problem = rejected.problem(422, "rejected");
    assert!(
        problem["detail"].as_str().unwrap().contains("FR"),
        "{problem}"
    );
    api.create_pool("brand", json!({ "fallback": "CustomFrom" }))
        .await;
    let custom = api
        .post(
            "/pools/brand/pick",
            json!({ "to": "33612345678", "from": "Acme" }),
        )
        .await;
    assert_eq!(
        (
            &custom.body["from"],
            &custom.body["reason"],
            &custom.body["wait_ms"]
        ),
        (&json!("Acme"), &json!("custom_from"), &json!(0))
    );

    // Invalid requests are 400 naming the field; an unknown pool is 404.
    for (body, field) in [
        (json!({ "to": "9991234567" }), "to"),
        (json!({ "to": "12ab" }), "to"),
        (json!({}), "to"),
        (json!({ "to": "447400123459", "network": "a b" }), "network"),
        (json!({ "to": "33612345678", "from": "Not/Valid" }), "from"),
    ] {
        let pool = if field == "from" { "brand" } else { "p" };
        let reply = api.post(&format!("/pools/{pool}/pick"), body.clone()).await;
        reply.problem(400, "validation");
        assert_eq!(reply.invalid_names(), vec![field], "{body}");
    }
    api.post("/pools/nope/pick", json!({ "to": "447400123459" }))
        .await
        .problem(404, "not-found");

    // Every answered pick was timed.
    let metrics = api.get("/metrics").await.body;
    let text = metrics.as_str().unwrap();
    let count: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("numpool_pick_latency_seconds_count "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(count >= 4, "{text}");
}

#[tokio::test]
async fn unknown_routes_404_and_wrong_methods_405() {
    let server = Numpool::start(&[]);
    let api = Api::new(&server);
    for path in ["/nowhere", "/v2/numberpools", "/pools/p/extra/deep"] {
        api.get(path).await.problem(404, "not-found");
    }
    let reply = api.send(Method::PUT, "/pools", Some(json!({}))).await;
    let body = reply.problem(405, "wrong-verb");
    assert_eq!(body["detail"], "Request method 'PUT' not supported");
    assert_eq!(reply.headers["allow"], "GET, POST");
    let reply = api.send(Method::POST, "/pools/p", Some(json!({}))).await;
    assert_eq!(reply.headers["allow"], "GET, PATCH, DELETE");
}

#[tokio::test]
async fn healthz_and_metrics() {
    let server = Numpool::start(&[]);
    let api = Api::new(&server);
    let client = reqwest::Client::new();
    let health = reply(client.get(api.url("/healthz")).send().await.unwrap()).await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.body, json!({ "status": "ok", "storage": "ok" }));

    api.own(&["447700900001", "447700900002"]).await;
    api.create_pool("p", json!({})).await;
    api.post("/pools/p/numbers", json!({ "numbers": ["447700900001"] }))
        .await;
    api.post("/pools/p/pick", json!({ "to": "447400123459" }))
        .await;
    let metrics = reply(client.get(api.url("/metrics")).send().await.unwrap()).await;
    assert_eq!(metrics.status, StatusCode::OK);
    assert!(metrics
        .content_type
        .starts_with("text/plain; version=0.0.4"));
    let text = metrics.body.as_str().unwrap();
    for line in [
        "numpool_pools 1",
        "numpool_numbers 2",
        "numpool_sticky_mappings 1",
        "numpool_picks_total{outcome=\"picked\",reason=\"country\"} 1",
        "numpool_picks_total{outcome=\"rejected\"} 0",
        "numpool_pick_latency_seconds_count 1",
        "numpool_pick_latency_seconds_bucket{le=\"+Inf\"} 1",
        "numpool_resp_connections 0",
        "numpool_storage_state{state=\"ok\"} 1",
        "numpool_storage_state{state=\"failed\"} 0",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
}
