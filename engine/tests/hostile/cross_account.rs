//! Cross-account probes: another account's pool is invisible through every RESP command that
//! names a pool and every REST path and method, whether the probe uses the owner's account id
//! or its own, and no probe changes anything of the owner's.

use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};

use crate::support::raw::{authed_as, command, exchange};
use crate::support::{Numpool, KEY, OTHER_KEY, OTHER_SECRET, SECRET};

/// The owner's pool, its number and a recipient mapped to it.
const POOL: &str = "private";
const NUMBER: &str = "447700900001";
const TO: &str = "447400123459";

/// Every account-scoped route with every method it has, `{pool}` and `{n}` to fill in, and a
/// body for the methods that take one.
fn routes() -> Vec<(Method, &'static str, Option<Value>)> {
    let numbers = json!({ "numbers": [NUMBER] });
    vec![
        (Method::GET, "/pools", None),
        (
            Method::POST,
            "/pools",
            Some(json!({ "pool_id": POOL, "fallback": "Pool" })),
        ),
        (Method::GET, "/pools/{pool}", None),
        (
            Method::PATCH,
            "/pools/{pool}",
            Some(json!({ "fallback": "Reject" })),
        ),
        (Method::DELETE, "/pools/{pool}", None),
        (Method::GET, "/pools/{pool}/numbers", None),
        (Method::POST, "/pools/{pool}/numbers", Some(numbers.clone())),
        (Method::POST, "/pools/{pool}/numbers/delete", Some(numbers)),
        (Method::DELETE, "/pools/{pool}/numbers/{n}", None),
        (
            Method::POST,
            "/pools/{pool}/pick",
            Some(json!({ "to": "447911999999" })),
        ),
        (Method::GET, "/pools/{pool}/sticky/{to}", None),
        (Method::DELETE, "/pools/{pool}/sticky/{to}", None),
        (Method::GET, "/numbers", None),
        (
            Method::POST,
            "/numbers",
            Some(json!({ "numbers": [{ "number": NUMBER }] })),
        ),
        (Method::GET, "/numbers/{n}", None),
        (Method::PUT, "/numbers/{n}", Some(json!({ "weight": 7 }))),
        (
            Method::PATCH,
            "/numbers/{n}",
            Some(json!({ "status": "suspended" })),
        ),
        (Method::DELETE, "/numbers/{n}", None),
        (
            Method::GET,
            "/receipts?msisdn={to}&to={n}&status=rejected&err-code=6",
            None,
        ),
        (
            Method::POST,
            "/receipts",
            Some(json!({ "msisdn": TO, "to": NUMBER, "status": "failed", "err-code": "9" })),
        ),
    ]
}

async fn send(
    client: &Client,
    server: &Numpool,
    (key, secret): (&str, &str),
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = client
        .request(method, format!("{}{path}", server.base_url()))
        .basic_auth(key, Some(secret));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let reply = request.send().await.expect("an answer");
    let status = reply.status();
    (status, reply.json().await.unwrap_or(Value::Null))
}

/// Everything of the owner's a probe could touch, as the owner reads it.
async fn owners_view(client: &Client, server: &Numpool) -> Value {
    let mut view = Vec::new();
    for path in [
        "/pools".to_owned(),
        format!("/pools/{POOL}"),
        format!("/pools/{POOL}/numbers"),
        format!("/pools/{POOL}/sticky/{TO}"),
        "/numbers".to_owned(),
        format!("/numbers/{NUMBER}"),
    ] {
        let path = format!("/v2/numberpools/accounts/{KEY}{path}");
        view.push(
            send(client, server, (KEY, SECRET), Method::GET, &path, None)
                .await
                .1,
        );
    }
    Value::Array(view)
}

#[tokio::test]
async fn another_accounts_pool_is_invisible_everywhere_and_nothing_changes() {
    let server = Numpool::start(&[]);
    let client = Client::new();
    let owner = (KEY, SECRET);
    let scope = format!("/v2/numberpools/accounts/{KEY}");
    for (path, body) in [
        ("/numbers", json!({ "numbers": [{ "number": NUMBER }] })),
        (
            "/pools",
            json!({
                "pool_id": POOL,
                "fallback": "Pool",
                "localized_sender_preferred": true,
                "predictable_sender_preferred": true,
            }),
        ),
        (
            &format!("/pools/{POOL}/numbers")[..],
            json!({ "numbers": [NUMBER] }),
        ),
        (&format!("/pools/{POOL}/pick")[..], json!({ "to": TO })),
    ] {
        let path = format!("{scope}{path}");
        let (status, reply) = send(&client, &server, owner, Method::POST, &path, Some(body)).await;
        assert!(status.is_success(), "{path}: {status} {reply}");
    }
    let before = owners_view(&client, &server).await;

    // RESP, as the other account: every command that names a pool.
    let mut other = authed_as(server.resp, OTHER_KEY, OTHER_SECRET);
    let nopool = format!("-NOPOOL pool '{POOL}' not found\r\n");
    for args in [
        vec!["PICK", POOL, TO],
        vec!["PICK", POOL, TO, "WITHINFO"],
        vec!["PICK", POOL, "447911999999"],
        vec!["STICKY.GET", POOL, TO],
        vec!["STICKY.DEL", POOL, TO],
    ] {
        exchange(&mut other, &command(&args), nopool.as_bytes());
    }
    let not_owned = format!("-ERR number {NUMBER} is not in the account's inventory\r\n");
    exchange(
        &mut other,
        &command(&["REPORT", NUMBER, TO, "spam"]),
        not_owned.as_bytes(),
    );

    // REST, as the other account, on the owner's account path and then on its own.
    for scope in [KEY, OTHER_KEY] {
        for (method, path, body) in routes() {
            // On its own scope, only what names the owner's pool or number (receipts name it in
            // their fields), and never a PUT (an upsert into its own inventory): creating its
            // own things is its right.
            let probes_owner = path.contains("{pool}")
                || path.starts_with("/receipts")
                || (path.contains("{n}") && method != Method::PUT);
            if scope == OTHER_KEY && !probes_owner {
                continue;
            }
            let path = path
                .replace("{pool}", POOL)
                .replace("{n}", NUMBER)
                .replace("{to}", TO);
            let full = format!("/v2/numberpools/accounts/{scope}{path}");
            let (status, reply) = send(
                &client,
                &server,
                (OTHER_KEY, OTHER_SECRET),
                method.clone(),
                &full,
                body,
            )
            .await;
            if scope == KEY {
                // The owner's account does not exist for the other one, whatever the path.
                assert_eq!(status, StatusCode::NOT_FOUND, "{method} {full}: {reply}");
                assert_eq!(
                    reply["detail"],
                    format!("ID '{KEY}' does not exist, or you do not have access"),
                    "{method} {full}"
                );
            } else {
                // Its own account has no such pool or number (ids are per account).
                assert_eq!(status, StatusCode::NOT_FOUND, "{method} {full}: {reply}");
            }
        }
    }

    // The owner's view is exactly as before.
    assert_eq!(owners_view(&client, &server).await, before);
}
