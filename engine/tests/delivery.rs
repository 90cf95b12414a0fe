//! Delivery-aware picks (DESIGN §3.2 rules 3–5, §3.4) against the real binary: number status
//! set over REST and obeyed by RESP picks, the conversations still on a number, and bad input
//! refused with nothing changed.

mod support;

use reqwest::StatusCode;
use serde_json::json;
use support::rest::Api;
use support::{Numpool, KEY, SECRET};

/// Two GB numbers in a localized, predictable pool `p` with fallback `Reject`.
const FIRST: &str = "447700900001";
const SECOND: &str = "447700900002";

/// A RESP connection of the test account.
fn sidecar(server: &Numpool) -> redis::Connection {
    redis::Client::open(format!("redis://{KEY}:{SECRET}@{}/", server.resp))
        .unwrap()
        .get_connection()
        .unwrap()
}

/// `PICK p <to>` over RESP: the sender, or the error's text.
fn pick(con: &mut redis::Connection, to: &str) -> Result<String, String> {
    redis::cmd("PICK")
        .arg("p")
        .arg(to)
        .query::<String>(con)
        .map_err(|e| e.to_string())
}

async fn seeded(server: &Numpool) -> Api {
    let api = Api::new(server);
    api.own(&[FIRST, SECOND]).await;
    api.create_pool("p", json!({ "fallback": "Reject" })).await;
    let added = api
        .post("/pools/p/numbers", json!({ "numbers": [FIRST, SECOND] }))
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{added:?}");
    api
}

async fn set_status(api: &Api, number: &str, status: &str) -> serde_json::Value {
    let reply = api
        .patch(&format!("/numbers/{number}"), json!({ "status": status }))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(reply.body["status"], status);
    reply.body
}

#[tokio::test]
async fn status_drains_then_suspends_a_number_through_rest_and_resp() {
    let mut server = Numpool::start(&[]);
    let api = seeded(&server).await;
    let mut con = sidecar(&server);
    let number = api.get(&format!("/numbers/{FIRST}")).await.body;
    assert_eq!(number["status"], "active");
    assert_eq!(number["conversations"], json!({ "p": 0 }));

    // A conversation on each number, then the one on FIRST drains.
    let mut on = std::collections::BTreeMap::<String, Vec<String>>::new();
    for i in 0..40 {
        let to = format!("4479110000{i:02}");
        on.entry(pick(&mut con, &to).unwrap()).or_default().push(to);
    }
    let kept = on[FIRST].clone();
    let drained = set_status(&api, FIRST, "draining").await;
    assert_eq!(drained["conversations"], json!({ "p": kept.len() }));
    assert_eq!(
        pick(&mut con, &kept[0]).unwrap(),
        FIRST,
        "draining keeps its own"
    );
    for i in 0..40 {
        let to = format!("4479112000{i:02}");
        assert_eq!(pick(&mut con, &to).unwrap(), SECOND, "no new conversation");
    }

    // Suspended: each conversation moves at its next message.
    set_status(&api, FIRST, "suspended").await;
    assert_eq!(pick(&mut con, &kept[0]).unwrap(), SECOND);
    let left = api.get(&format!("/numbers/{FIRST}")).await.body;
    assert_eq!(left["conversations"], json!({ "p": kept.len() - 1 }));
    let listed = api.get("/numbers").await.body;
    assert_eq!(listed["_embedded"]["numbers"][0]["status"], "suspended");

    // Both out of service: the rejection says why.
    set_status(&api, SECOND, "draining").await;
    let err = pick(&mut con, "447911300000").unwrap_err();
    assert!(
        err.contains(
            "no eligible number for country GB: every number there is suspended or draining"
        ),
        "{err}"
    );
    let http = api
        .post("/pools/p/pick", json!({ "to": "447911300000" }))
        .await;
    assert!(
        http.problem(422, "rejected")["detail"]
            .as_str()
            .unwrap()
            .contains("suspended or draining"),
        "{http:?}"
    );

    // An admin change: it survives a restart.
    server.restart();
    let api = Api::new(&server);
    assert_eq!(
        api.get(&format!("/numbers/{FIRST}")).await.body["status"],
        "suspended"
    );
    assert_eq!(
        api.get(&format!("/numbers/{SECOND}")).await.body["status"],
        "draining"
    );
    let mut con = sidecar(&server);
    assert_eq!(pick(&mut con, &kept[1]).unwrap_err(), err);
    set_status(&api, SECOND, "active").await;
    assert_eq!(pick(&mut con, &kept[1]).unwrap(), SECOND);
}

#[tokio::test]
async fn a_bad_status_is_400_naming_the_field_and_changes_nothing() {
    let server = Numpool::start(&[]);
    let api = seeded(&server).await;
    set_status(&api, FIRST, "draining").await;
    let before = api.snapshot().await;
    let path = format!("/numbers/{FIRST}");
    let patched = api.patch(&path, json!({ "status": "paused" })).await;
    patched.problem(400, "validation");
    assert_eq!(patched.invalid_names(), ["status"]);
    let put = api.put(&path, json!({ "status": 3 })).await;
    put.problem(400, "validation");
    assert_eq!(put.invalid_names(), ["status"]);
    let bulk = api
        .post(
            "/numbers",
            json!({ "numbers": [{ "number": SECOND }, { "number": FIRST, "status": "off" }] }),
        )
        .await;
    bulk.problem(400, "validation");
    assert_eq!(bulk.invalid_names(), ["numbers[1].status"]);
    let unknown = api
        .patch("/numbers/447700900099", json!({ "status": "active" }))
        .await;
    unknown.problem(404, "not-found");
    assert_eq!(api.snapshot().await, before);
    // PUT replaces every detail: an absent status is active again; bulk sets it too.
    let put = api.put(&path, json!({ "weight": 2 })).await;
    assert_eq!(
        (put.status, &put.body["status"]),
        (StatusCode::OK, &json!("active"))
    );
    let bulk = api
        .post(
            "/numbers",
            json!({ "numbers": [{ "number": SECOND, "status": "suspended" }] }),
        )
        .await;
    assert_eq!(bulk.status, StatusCode::OK, "{bulk:?}");
    let second = api.get(&format!("/numbers/{SECOND}")).await.body;
    assert_eq!(second["status"], "suspended");
}
