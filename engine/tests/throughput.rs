//! Throughput per number (DESIGN §3.2 rule 6, §3.4) against the real binary: the attributes
//! over REST (and refused when bad, nothing changed), waits in the HTTP pick (`wait_ms`,
//! `send_after`) and in `PICK … WITHINFO` over RESP2 and RESP3, `SEGMENTS`, daily allowances,
//! and the attributes surviving a restart.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;

use reqwest::StatusCode;
use serde_json::json;
use support::raw::{authed_as, command};
use support::rest::Api;
use support::{Numpool, KEY, SECRET};

/// Two GB numbers in a localized, predictable pool `p` with fallback `Reject`.
const FIRST: &str = "447700900001";
const SECOND: &str = "447700900002";

async fn seeded(server: &Numpool) -> Api {
    let api = Api::new(server);
    api.seed_pool("p", json!({ "fallback": "Reject" }), &[FIRST, SECOND])
        .await;
    api
}

/// Sets both numbers' limits with one bulk upsert.
async fn limit_both(api: &Api, limits: serde_json::Value) {
    let numbers: Vec<_> = [FIRST, SECOND]
        .iter()
        .map(|n| {
            let mut item = limits.clone();
            item["number"] = json!(n);
            item
        })
        .collect();
    let reply = api.post("/numbers", json!({ "numbers": numbers })).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
}

/// Reads `lines` CRLF-terminated lines of reply.
fn read_lines(stream: &mut TcpStream, lines: usize) -> Vec<String> {
    let mut text = Vec::new();
    let mut byte = [0u8];
    while text.windows(2).filter(|w| w == b"\r\n").count() < lines {
        stream.read_exact(&mut byte).unwrap();
        text.push(byte[0]);
    }
    String::from_utf8(text)
        .unwrap()
        .split("\r\n")
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A wait the server booked about `expected_ms` ahead (less the time the test took).
fn about(wait: &str, expected_ms: u64) {
    let ms: u64 = wait.trim_start_matches(':').parse().unwrap();
    assert!(
        (expected_ms.saturating_sub(2_000)..=expected_ms).contains(&ms),
        "{wait}"
    );
}

#[tokio::test]
async fn limits_are_shown_set_cleared_and_survive_a_restart() {
    let mut server = Numpool::start(&[]);
    let api = seeded(&server).await;
    let path = format!("/numbers/{FIRST}");
    let number = api.get(&path).await.body;
    assert_eq!(
        (
            &number["mps"],
            &number["burst"],
            &number["daily_new_conversations"]
        ),
        (&json!(null), &json!(1), &json!(null))
    );
    let put = api
        .put(
            &path,
            json!({ "mps": 1.5, "burst": 3, "daily_new_conversations": 100 }),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{put:?}");
    assert_eq!(
        (
            &put.body["mps"],
            &put.body["burst"],
            &put.body["daily_new_conversations"]
        ),
        (&json!(1.5), &json!(3), &json!(100))
    );
    let patched = api
        .patch(&path, json!({ "daily_new_conversations": null }))
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{patched:?}");
    assert_eq!(patched.body["daily_new_conversations"], json!(null));
    assert_eq!(
        patched.body["mps"],
        json!(1.5),
        "PATCH keeps what it does not name"
    );

    server.restart();
    let api = Api::new(&server);
    let number = api.get(&path).await.body;
    assert_eq!(
        (
            &number["mps"],
            &number["burst"],
            &number["daily_new_conversations"]
        ),
        (&json!(1.5), &json!(3), &json!(null))
    );
}

#[tokio::test]
async fn bad_limits_are_400_naming_the_field_and_change_nothing() {
    let server = Numpool::start(&[]);
    let api = seeded(&server).await;
    let before = api.snapshot().await;
    let path = format!("/numbers/{FIRST}");
    for (body, field) in [
        (json!({ "mps": 0 }), "mps"),
        (json!({ "mps": -1.5 }), "mps"),
        (json!({ "mps": "fast" }), "mps"),
        (json!({ "mps": 1e9 }), "mps"),
        (json!({ "burst": 0 }), "burst"),
        (json!({ "burst": 1.5 }), "burst"),
        (
            json!({ "daily_new_conversations": -1 }),
            "daily_new_conversations",
        ),
        (
            json!({ "daily_new_conversations": "many" }),
            "daily_new_conversations",
        ),
    ] {
        for reply in [
            api.patch(&path, body.clone()).await,
            api.put(&path, body.clone()).await,
        ] {
            reply.problem(400, "validation");
            assert_eq!(reply.invalid_names(), [field], "{body}");
        }
    }
    let bulk = api
        .post(
            "/numbers",
            json!({ "numbers": [{ "number": SECOND, "mps": 2 }, { "number": FIRST, "burst": 0 }] }),
        )
        .await;
    bulk.problem(400, "validation");
    assert_eq!(bulk.invalid_names(), ["numbers[1].burst"]);
    assert_eq!(api.snapshot().await, before);
}

#[tokio::test]
async fn http_pick_gives_wait_ms_and_send_after_and_charges_segments() {
    let server = Numpool::start(&[]);
    let api = seeded(&server).await;
    limit_both(&api, json!({ "mps": 1, "burst": 1 })).await;
    let pick = |body| api.post("/pools/p/pick", body);
    let first = pick(json!({ "to": "447400123459" })).await;
    assert_eq!(first.status, StatusCode::OK, "{first:?}");
    assert_eq!(first.body["wait_ms"], 0);
    let sender = first.body["from"].clone();
    // A sticky hit keeps its busy number and waits until all 3 of its segments fit behind
    // the first message.
    let again = pick(json!({ "to": "447400123459", "segments": 3 })).await;
    assert_eq!(
        (&again.body["from"], &again.body["reason"]),
        (&sender, &json!("sticky"))
    );
    about(&again.body["wait_ms"].to_string(), 3_000);
    let send_after = again.body["send_after"].as_str().unwrap();
    assert!(
        send_after.len() == "2026-01-01T00:00:00.000Z".len() && send_after.ends_with('Z'),
        "{send_after}"
    );
    let third = pick(json!({ "to": "447400123459" })).await;
    about(&third.body["wait_ms"].to_string(), 4_000);
    // A new conversation goes to the number free now.
    let other = pick(json!({ "to": "447911654321" })).await;
    assert_eq!(other.body["wait_ms"], 0);
    assert_ne!(other.body["from"], sender);

    for bad in [json!(0), json!(256), json!("two"), json!(1.5)] {
        let refused = pick(json!({ "to": "447400123459", "segments": bad })).await;
        refused.problem(400, "validation");
        assert_eq!(refused.invalid_names(), ["segments"], "{bad}");
    }
}

#[tokio::test]
async fn withinfo_gives_wait_ms_in_resp2_and_resp3_and_segments_is_checked() {
    let server = Numpool::start(&[]);
    let api = seeded(&server).await;
    limit_both(&api, json!({ "mps": 1, "burst": 1 })).await;
    let mut resp2 = authed_as(server.resp, KEY, SECRET);
    resp2
        .write_all(&command(&["PICK", "p", "447400123459", "WITHINFO"]))
        .unwrap();
    // RESP2: the map's keys and values as a flat array.
    let first = read_lines(&mut resp2, 12);
    assert_eq!(
        [&first[0], &first[2], &first[6], &first[10]],
        ["*6", "sender", "reason", "wait_ms"]
    );
    let sender = first[4].clone();
    assert_eq!((first[8].as_str(), first[11].as_str()), ("country", ":0"));
    resp2
        .write_all(&command(&[
            "PICK",
            "p",
            "447400123459",
            "SEGMENTS",
            "2",
            "WITHINFO",
        ]))
        .unwrap();
    let again = read_lines(&mut resp2, 12);
    assert_eq!((&again[4], again[8].as_str()), (&sender, "sticky"));
    about(&again[11], 2_000);

    let mut resp3 = support::raw::connect(server.resp);
    resp3
        .write_all(&command(&["HELLO", "3", "AUTH", KEY, SECRET]))
        .unwrap();
    resp3.write_all(&command(&["PING"])).unwrap();
    let mut seen = Vec::new();
    let mut byte = [0u8];
    while !seen.ends_with(b"+PONG\r\n") {
        resp3.read_exact(&mut byte).unwrap();
        seen.push(byte[0]);
    }
    resp3
        .write_all(&command(&["PICK", "p", "447400123459", "WITHINFO"]))
        .unwrap();
    let map = read_lines(&mut resp3, 12);
    assert_eq!(
        [&map[0], &map[2], &map[4], &map[6], &map[8], &map[10]],
        ["%3", "sender", &sender, "reason", "sticky", "wait_ms"]
    );
    about(&map[11], 3_000);

    for (args, error) in [
        (
            vec!["SEGMENTS", "0"],
            "-ERR value is not an integer or out of range",
        ),
        (
            vec!["SEGMENTS", "256"],
            "-ERR value is not an integer or out of range",
        ),
        (
            vec!["SEGMENTS", "two"],
            "-ERR value is not an integer or out of range",
        ),
        (vec!["SEGMENTS"], "-ERR syntax error"),
    ] {
        let mut request = vec!["PICK", "p", "447400123459"];
        request.extend(args);
        resp2.write_all(&command(&request)).unwrap();
        assert_eq!(read_lines(&mut resp2, 1), [error]);
    }
}

#[tokio::test]
async fn a_daily_allowance_stops_new_conversations_and_the_rejection_says_why() {
    let server = Numpool::start(&[]);
    let api = seeded(&server).await;
    limit_both(&api, json!({ "daily_new_conversations": 1 })).await;
    let mut con = server.sidecar();
    let mut pick = |to: &str| {
        redis::cmd("PICK")
            .arg("p")
            .arg(to)
            .query::<String>(&mut con)
            .map_err(|e| e.to_string())
    };
    let first = pick("447911000001").unwrap();
    let second = pick("447911000002").unwrap();
    assert_ne!(first, second, "each number takes one new conversation");
    let err = pick("447911000003").unwrap_err();
    assert!(
        err.contains(
            "no eligible number for country GB: every number there is at its daily allowance"
        ),
        "{err}"
    );
    assert_eq!(
        pick("447911000001").unwrap(),
        first,
        "existing ones continue"
    );
    let http = api
        .post("/pools/p/pick", json!({ "to": "447911000004" }))
        .await;
    http.assert_rejected("at its daily allowance");
}
