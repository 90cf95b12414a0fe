//! Pools that act on health (DESIGN §3.2 rules 3–5, §3.4) and type priority against the real
//! binary: receipts over REST and RESP move a number's state under each pool's own thresholds,
//! a pool with `skip_unhealthy` moves the number's conversations and takes no new ones on it,
//! a pool without it only reports; settings are validated, survive a restart, and a bad one
//! changes nothing.

mod support;

use reqwest::StatusCode;
use serde_json::{json, Value};
use support::rest::Api;
use support::{pick, Numpool};

const FIRST: &str = "447700900001";
const SECOND: &str = "447700900002";

/// Five sender failures (err-code 8, network error) for `number`, in the SMS API's query shape.
async fn fail_five(api: &Api, number: &str) {
    for i in 0..5 {
        let dlr = format!(
            "/receipts?msisdn=4474001000{i:02}&to={number}&network-code=23410\
             &messageId=0B0000012{i:07}&status=failed&err-code=8"
        );
        assert_eq!(api.get(&dlr).await.status, StatusCode::NO_CONTENT);
    }
}

/// The pool `pool`'s view of `number`.
async fn member(api: &Api, pool: &str, number: &str) -> Value {
    let reply = api.get(&format!("/pools/{pool}/numbers/{number}")).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    reply.body
}

#[tokio::test]
async fn a_pool_that_skips_unhealthy_numbers_moves_their_conversations() {
    let server = Numpool::start(&[]);
    let api = Api::new(&server);
    let strict = json!({ "skip_unhealthy": true, "health": { "min_receipts": 5 },
                         "fallback": "Reject" });
    api.seed_pool("acting", strict, &[FIRST, SECOND]).await;
    api.create_pool("reporting", json!({ "health": { "min_receipts": 5 } }))
        .await;
    let added = api
        .post(
            "/pools/reporting/numbers",
            json!({ "numbers": [FIRST, SECOND] }),
        )
        .await;
    assert_eq!(added.status, StatusCode::CREATED);
    let mut con = server.sidecar();
    // A recipient on each number in both pools.
    let recipients: Vec<String> = (0..40).map(|i| format!("4474002000{i:02}")).collect();
    let on_first: Vec<&String> = recipients
        .iter()
        .filter(|to| {
            pick(&mut con, "reporting", to).unwrap();
            pick(&mut con, "acting", to).unwrap() == FIRST
        })
        .collect();
    assert!(!on_first.is_empty() && on_first.len() < 40);

    fail_five(&api, FIRST).await;
    // Unhealthy under both pools' thresholds (5 receipts); still healthy under the
    // inventory's defaults (20).
    for pool in ["acting", "reporting"] {
        assert_eq!(
            member(&api, pool, FIRST).await["health"]["state"],
            "unhealthy"
        );
    }
    let owned = api.get(&format!("/numbers/{FIRST}")).await.body;
    assert_eq!(owned["health"]["state"], "healthy");

    for to in &on_first {
        let reporting = pick(&mut con, "reporting", to).unwrap();
        assert_eq!(reporting, FIRST, "health is only reported there");
        let acting = pick(&mut con, "acting", to).unwrap();
        assert_eq!(acting, SECOND, "the conversation moved");
    }
    assert_eq!(member(&api, "acting", FIRST).await["conversations"], 0);
    for i in 0..30 {
        let to = format!("4474003000{i:02}");
        assert_eq!(pick(&mut con, "acting", &to).unwrap(), SECOND);
    }
    // Every number there unhealthy: a rejection that says so, over RESP and REST.
    fail_five(&api, SECOND).await;
    let refused = pick(&mut con, "acting", "447400400000").unwrap_err();
    assert!(
        refused.contains("no eligible number for country GB: every number there is unhealthy"),
        "{refused}"
    );
    let reply = api
        .post("/pools/acting/pick", json!({ "to": "447400400000" }))
        .await;
    reply.assert_rejected("every number there is unhealthy");
}

#[tokio::test]
async fn type_priority_prefers_the_first_listed_type_over_rest_and_resp() {
    let server = Numpool::start(&[]);
    let api = Api::new(&server);
    let numbers = json!({ "numbers": [
        { "number": "12125550101", "type": "mobile" },
        { "number": "18005550100", "type": "toll_free" },
    ] });
    assert!(api.post("/numbers", numbers).await.status.is_success());
    let priority = json!({ "type_priority": { "US": ["toll_free", "mobile"] } });
    let created = api.create_pool("p", priority).await;
    assert_eq!(
        created["type_priority"],
        json!({ "US": ["toll_free", "mobile"] })
    );
    let members = json!({ "numbers": ["12125550101", "18005550100"] });
    assert_eq!(
        api.post("/pools/p/numbers", members).await.status,
        StatusCode::CREATED
    );
    let mut con = server.sidecar();
    // A New York recipient: the toll-free number, though a 212 mobile is in the pool.
    assert_eq!(pick(&mut con, "p", "12125559999").unwrap(), "18005550100");
    // Mobile first now: the area tier applies inside the type.
    let changed = api
        .patch("/pools/p", json!({ "type_priority": { "*": ["mobile"] } }))
        .await;
    assert_eq!(changed.status, StatusCode::CREATED, "{changed:?}");
    let reply = api
        .post("/pools/p/pick", json!({ "to": "12125558888" }))
        .await;
    assert_eq!(
        (&reply.body["from"], &reply.body["reason"]),
        (&json!("12125550101"), &json!("area")),
        "{reply:?}"
    );
    // Cleared: every type together again.
    let cleared = api
        .patch("/pools/p", json!({ "type_priority": null }))
        .await;
    assert_eq!(cleared.body["type_priority"], json!({}));
}

#[tokio::test]
async fn pool_settings_default_change_and_survive_a_restart() {
    let mut server = Numpool::start(&[]);
    let api = Api::new(&server);
    let created = api.create_pool("p", json!({})).await;
    assert_eq!(created["skip_unhealthy"], false);
    assert_eq!(
        created["health"],
        json!({ "min_receipts": 20, "min_deliverability": 0.25, "max_spam_ratio": 0.75,
                "probation_seconds": 3600 })
    );
    assert_eq!(created["type_priority"], json!({}));
    assert_eq!(created["geomatch"], "region");
    let change = json!({
        "skip_unhealthy": true,
        "health": { "min_deliverability": 0.5, "probation_seconds": 60 },
        "type_priority": { "US": ["short_code", "toll_free"], "*": ["mobile"] },
        "geomatch": "area",
    });
    let changed = api.patch("/pools/p", change).await;
    assert_eq!(changed.status, StatusCode::CREATED, "{changed:?}");
    // A partial `health` keeps the thresholds it does not name.
    let expected_health = json!({ "min_receipts": 20, "min_deliverability": 0.5,
                                  "max_spam_ratio": 0.75, "probation_seconds": 60 });
    assert_eq!(changed.body["health"], expected_health);
    server.restart();
    let api = Api::new(&server);
    let after = api.get("/pools/p").await.body;
    assert_eq!(after["skip_unhealthy"], true);
    assert_eq!(after["health"], expected_health);
    assert_eq!(
        after["type_priority"],
        json!({ "US": ["short_code", "toll_free"], "*": ["mobile"] })
    );
    assert_eq!(after["geomatch"], "area");
}

#[tokio::test]
async fn bad_pool_settings_are_400_naming_the_field_and_change_nothing() {
    let server = Numpool::start(&[]);
    let api = Api::new(&server);
    api.seed_pool("p", json!({}), &[FIRST]).await;
    let before = api.snapshot().await;
    for (body, field) in [
        (json!({ "skip_unhealthy": "yes" }), "skip_unhealthy"),
        (json!({ "health": { "min_receipts": 0 } }), "health"),
        (json!({ "health": { "min_deliverability": 1.5 } }), "health"),
        (json!({ "health": { "max_spam_ratio": "high" } }), "health"),
        (json!({ "health": { "probation_seconds": -1 } }), "health"),
        (json!({ "health": { "min_reciepts": 5 } }), "health"),
        (json!({ "health": 20 }), "health"),
        (
            json!({ "type_priority": { "usa": ["mobile"] } }),
            "type_priority",
        ),
        (
            json!({ "type_priority": { "US": ["pager"] } }),
            "type_priority",
        ),
        (json!({ "type_priority": { "US": [] } }), "type_priority"),
        (
            json!({ "type_priority": { "US": ["mobile", "mobile"] } }),
            "type_priority",
        ),
        (json!({ "type_priority": ["mobile"] }), "type_priority"),
        (json!({ "geomatch": "city" }), "geomatch"),
    ] {
        let patched = api.patch("/pools/p", body.clone()).await;
        assert_eq!(patched.invalid_names(), [field], "PATCH {body}");
        let mut create = body.clone();
        create["pool_id"] = json!("q");
        create["fallback"] = json!("Pool");
        create["localized_sender_preferred"] = json!(true);
        create["predictable_sender_preferred"] = json!(true);
        let created = api.post("/pools", create).await;
        assert_eq!(created.invalid_names(), [field], "POST {body}");
    }
    assert_eq!(api.snapshot().await, before);
}
