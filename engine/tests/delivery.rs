//! Delivery-aware picks (DESIGN §3.2 rules 3–5, §3.4) against the real binary: number status
//! set over REST and obeyed by RESP picks, the conversations still on a number, and bad input
//! refused with nothing changed.

mod support;

use reqwest::StatusCode;
use serde_json::json;
use support::rest::Api;
use support::{Numpool, KEY};

/// Two GB numbers in a localized, predictable pool `p` with fallback `Reject`.
const FIRST: &str = "447700900001";
const SECOND: &str = "447700900002";

/// `PICK p <to>` over RESP: the sender, or the error's text.
fn pick(con: &mut redis::Connection, to: &str) -> Result<String, String> {
    support::pick(con, "p", to)
}

async fn seeded(server: &Numpool) -> Api {
    let api = Api::new(server);
    api.seed_pool("p", json!({ "fallback": "Reject" }), &[FIRST, SECOND])
        .await;
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
    let mut con = server.sidecar();
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

    // The pool's own view of the number: its status and the pool's conversations on it.
    let in_pool = api.get(&format!("/pools/p/numbers/{FIRST}")).await;
    assert_eq!(in_pool.status, StatusCode::OK, "{in_pool:?}");
    assert_eq!(
        (
            &in_pool.body["status"],
            &in_pool.body["conversations"],
            &in_pool.body["health"]["state"]
        ),
        (&json!("draining"), &json!(kept.len()), &json!("healthy"))
    );
    // Not a pool's number, or no such pool: 404; not a number: 400 naming it.
    api.create_pool("q", json!({})).await;
    api.get(&format!("/pools/q/numbers/{FIRST}"))
        .await
        .problem(404, "not-found");
    api.get(&format!("/pools/nope/numbers/{FIRST}"))
        .await
        .problem(404, "not-found");
    api.get("/pools/p/numbers/447700999999")
        .await
        .problem(404, "not-found");
    let bad = api.get("/pools/p/numbers/abc").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{bad:?}");
    assert_eq!(bad.invalid_names(), ["number"]);

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
    http.assert_rejected("suspended or draining");

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
    let mut con = server.sidecar();
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

/// A recipient of the receipts below.
const RECIPIENT: &str = "447400123459";

/// The number's `health` object.
async fn health(api: &Api, number: &str) -> serde_json::Value {
    api.get(&format!("/numbers/{number}")).await.body["health"].clone()
}

#[tokio::test]
async fn receipts_in_every_vonage_shape_are_counted() {
    let mut server = Numpool::start(&[]);
    let api = seeded(&server).await;
    assert_eq!(
        health(&api, FIRST).await,
        json!({ "state": "healthy", "since": null, "deliverability": null, "spam_ratio": null,
                "receipts": 0, "opt_out_signals": 0 })
    );
    // SMS API DLR as a query string, exactly as Vonage sends it: delivered.
    let query = format!(
        "/receipts?msisdn={RECIPIENT}&to={FIRST}&network-code=23410&messageId=0B00000127FDBC63\
         &price=0.0333&status=delivered&scts=1810251210&err-code=0\
         &message-timestamp=2018-10-25+12%3A10%3A29"
    );
    assert_eq!(api.get(&query).await.status, StatusCode::NO_CONTENT);
    // As a form: an anti-spam rejection.
    let form = format!(
        "msisdn={RECIPIENT}&to={FIRST}&network-code=23410&messageId=0B00000127FDBC64\
         &status=rejected&err-code=6&message-timestamp=2018-10-25+12%3A11%3A29"
    );
    assert_eq!(
        api.form("/receipts", &form).await.status,
        StatusCode::NO_CONTENT
    );
    // As JSON: a recipient-side failure (subscriber absent), which does not count against us.
    let sms_json = json!({
        "msisdn": RECIPIENT, "to": FIRST, "network-code": "23410", "messageId": "0B00000127FDBC65",
        "price": "0.0333", "status": "failed", "scts": "1810251212", "err-code": "2",
        "message-timestamp": "2018-10-25 12:12:29",
    });
    assert_eq!(
        api.post("/receipts", sms_json).await.status,
        StatusCode::NO_CONTENT
    );
    // Messages API status callbacks: an intermediate one (not counted), then a failure whose
    // code is not an SMS API err-code (a sender failure).
    for (status, error) in [
        ("submitted", serde_json::Value::Null),
        (
            "undeliverable",
            json!({ "type": "https://developer.vonage.com/api-errors/messages#1320",
                    "title": "1320", "detail": "Message failed" }),
        ),
    ] {
        let callback = json!({
            "message_uuid": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab", "to": RECIPIENT,
            "from": FIRST, "timestamp": "2026-01-01T12:00:00Z", "status": status,
            "channel": "sms", "error": error, "destination": { "network_code": "23410" },
        });
        let reply = api.post("/receipts", callback).await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT, "{reply:?}");
    }
    // An opt-out signal (err-code 9): stored, not counted for health.
    let opt_out = format!("/receipts?msisdn=447911999999&to={FIRST}&status=failed&err-code=9");
    assert_eq!(api.get(&opt_out).await.status, StatusCode::NO_CONTENT);
    let figures = health(&api, FIRST).await;
    assert_eq!(figures["receipts"], 4);
    assert_eq!(figures["spam_ratio"], 0.25);
    let deliverability = figures["deliverability"].as_f64().unwrap();
    assert!((deliverability - 1.0 / 3.0).abs() < 1e-9, "{figures}");
    assert_eq!(figures["opt_out_signals"], 1);
    assert_eq!(health(&api, SECOND).await["receipts"], 0, "per number");

    // REPORT over RESP counts the same way.
    let mut con = server.sidecar();
    for (outcome, code) in [
        ("delivered", None),
        ("DELIVERED", None),
        ("failed", Some("7")),
    ] {
        let mut report = redis::cmd("REPORT");
        report.arg(FIRST).arg(RECIPIENT).arg(outcome);
        if let Some(code) = code {
            report.arg("ERRCODE").arg(code);
        }
        assert_eq!(report.query::<String>(&mut con).unwrap(), "OK");
    }
    let spam: String = redis::cmd("REPORT")
        .arg(FIRST)
        .arg(RECIPIENT)
        .arg("spam")
        .query(&mut con)
        .unwrap();
    assert_eq!(spam, "OK");
    let figures = health(&api, FIRST).await;
    assert_eq!(figures["receipts"], 8);
    assert_eq!(figures["deliverability"], 0.5);
    assert_eq!(figures["spam_ratio"], 0.25);

    assert_eq!(figures["state"], "healthy");
    // Twenty anti-spam rejections: unhealthy under the default thresholds (20, 0.25, 0.75).
    for _ in 0..20 {
        let _: String = redis::cmd("REPORT")
            .arg(SECOND)
            .arg(RECIPIENT)
            .arg("spam")
            .query(&mut con)
            .unwrap();
    }
    let second = health(&api, SECOND).await;
    assert_eq!(
        (&second["state"], &second["spam_ratio"]),
        (&json!("unhealthy"), &json!(1.0))
    );
    assert!(second["since"].as_str().unwrap().ends_with('Z'), "{second}");

    // INFO and /metrics count receipts by class and numbers by state, from counters that need
    // no admin lock. Classes so far: delivered (the query, two REPORTs), sender failure (the
    // Messages API 1320), spam (the form, one REPORT, twenty more), recipient failure (err-code
    // 2, err-code 7), opt-out, ignored (`submitted`).
    let counts = [
        ("delivered", 3),
        ("sender_failure", 1),
        ("spam", 22),
        ("recipient_failure", 2),
        ("opt_out", 1),
        ("ignored", 1),
    ];
    let info: String = redis::cmd("INFO").arg("numpool").query(&mut con).unwrap();
    for line in [
        "numbers_healthy:1",
        "numbers_unhealthy:1",
        "numbers_probation:0",
    ] {
        assert!(info.contains(&format!("{line}\r\n")), "{line} in {info}");
    }
    for (class, count) in counts {
        let line = format!("receipts_{class}:{count}\r\n");
        assert!(info.contains(&line), "{line} in {info}");
    }
    let metrics = reqwest::get(format!("{}/metrics", server.base_url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for state in ["healthy", "unhealthy"] {
        let line = format!("numpool_number_health{{state=\"{state}\"}} 1\n");
        assert!(metrics.contains(&line), "{line} in {metrics}");
    }
    for (class, count) in counts {
        let line = format!("numpool_receipts_total{{class=\"{class}\"}} {count}\n");
        assert!(metrics.contains(&line), "{line} in {metrics}");
    }

    // Health windows are not durable; opt-out signals are.
    server.restart();
    let api = Api::new(&server);
    assert_eq!(
        health(&api, FIRST).await,
        json!({ "state": "healthy", "since": null, "deliverability": null, "spam_ratio": null,
                "receipts": 0, "opt_out_signals": 1 })
    );
}

#[tokio::test]
async fn bad_receipts_are_refused_and_change_nothing() {
    let server = Numpool::start(&[]);
    let api = seeded(&server).await;
    let before = api.snapshot().await;
    let receipt = |fields: &str| format!("/receipts?{fields}");
    let missing = api
        .get(&receipt(&format!("to={FIRST}&status=delivered")))
        .await;
    missing.problem(400, "validation");
    assert_eq!(missing.invalid_names(), ["msisdn"]);
    let bad_number = api
        .get(&receipt(&format!(
            "msisdn=12ab&to={FIRST}&status=delivered&err-code=x"
        )))
        .await;
    bad_number.problem(400, "validation");
    assert_eq!(bad_number.invalid_names(), ["msisdn", "err-code"]);
    let bad_status = api
        .post(
            "/receipts",
            json!({ "msisdn": RECIPIENT, "to": FIRST, "status": "DELIVRD" }),
        )
        .await;
    bad_status.problem(400, "validation");
    assert_eq!(bad_status.invalid_names(), ["status"]);
    let bad_form = api
        .form("/receipts", &format!("msisdn={RECIPIENT}&status=delivered"))
        .await;
    bad_form.problem(400, "validation");
    assert_eq!(bad_form.invalid_names(), ["to"]);
    let callback = api
        .post(
            "/receipts",
            json!({ "message_uuid": "u", "to": RECIPIENT, "status": "read", "channel": "sms" }),
        )
        .await;
    callback.problem(400, "validation");
    assert_eq!(callback.invalid_names(), ["from", "status"]);
    api.raw(reqwest::Method::POST, "/receipts", "{not json")
        .await
        .problem(400, "invalid-json");
    let huge = format!(
        "msisdn={RECIPIENT}&to={FIRST}&status=delivered&pad={}",
        "x".repeat(300_000)
    );
    let too_big = api.form("/receipts", &huge).await;
    too_big.problem(400, "validation");
    assert_eq!(too_big.invalid_names(), ["body"]);
    // Senders the account does not own: a number, and an alphanumeric sender ID.
    for sender in ["447700900099", "Acme"] {
        let reply = api
            .get(&receipt(&format!(
                "msisdn={RECIPIENT}&to={sender}&status=delivered"
            )))
            .await;
        reply.problem(404, "not-found");
    }
    let good = receipt(&format!("msisdn={RECIPIENT}&to={FIRST}&status=delivered"));
    Api::as_account(&server, KEY, "wrong-secret")
        .get(&good)
        .await
        .problem(401, "unauthorized");
    // The other account owns nothing of this one's.
    let other = Api::as_account(&server, support::OTHER_KEY, support::OTHER_SECRET);
    other
        .get(&format!("/v2/numberpools/accounts/{KEY}{good}"))
        .await
        .problem(404, "not-found");

    let mut con = server.sidecar();
    for (args, error) in [
        (
            vec!["447700900099", RECIPIENT, "delivered"],
            "is not in the account's inventory",
        ),
        (
            vec!["Acme", RECIPIENT, "delivered"],
            "invalid sender 'Acme'",
        ),
        (vec![FIRST, "12ab", "delivered"], "invalid recipient '12ab'"),
        (
            vec![FIRST, RECIPIENT, "delivrd"],
            "unknown outcome 'delivrd'",
        ),
        (
            vec![FIRST, RECIPIENT, "failed", "ERRCODE", "-1"],
            "invalid ERRCODE '-1'",
        ),
        (
            vec![FIRST, RECIPIENT, "failed", "CODE", "1"],
            "syntax error",
        ),
        (
            vec![FIRST, RECIPIENT],
            "wrong number of arguments for 'report'",
        ),
    ] {
        let err = redis::cmd("REPORT")
            .arg(&args)
            .query::<String>(&mut con)
            .unwrap_err()
            .to_string();
        assert!(err.contains(error), "{args:?}: {err}");
    }
    assert_eq!(api.snapshot().await, before);
    assert_eq!(health(&api, FIRST).await["receipts"], 0);
}
