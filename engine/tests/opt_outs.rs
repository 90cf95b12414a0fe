//! Opt-outs (DESIGN §3.2 rule 2, §3.5) against the real binary: set, read, listed and lifted
//! over REST and RESP, obeyed by picks of both before any fallback, recorded by receipts with
//! Vonage's opt-out signal for the pools whose conversation used the sender, kept across a
//! restart and dropped with their pool; bad input refused with nothing changed.

mod support;

use reqwest::StatusCode;
use serde_json::json;
use support::rest::Api;
use support::{pick, Numpool};

const FIRST: &str = "447700900001";
const SECOND: &str = "447700900002";
const RECIPIENT: &str = "447400123456";

fn optout(con: &mut redis::Connection, verb: &str, pool: &str, to: &str) -> Result<i64, String> {
    redis::cmd(&format!("OPTOUT.{verb}"))
        .arg(pool)
        .arg(to)
        .query::<i64>(con)
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn an_opted_out_recipient_gets_no_sender_over_rest_or_resp() {
    let mut server = Numpool::start(&[]);
    let api = Api::new(&server);
    let custom = json!({ "fallback": "CustomFrom", "custom_from": "Acme" });
    api.seed_pool("p", custom, &[FIRST, SECOND]).await;
    let mut con = server.sidecar();
    let sender = pick(&mut con, "p", RECIPIENT).unwrap();

    // The API opts the recipient out: 201, then 200 on a repeat.
    let put = api
        .put(&format!("/pools/p/optouts/{RECIPIENT}"), json!({}))
        .await;
    assert_eq!(put.status, StatusCode::CREATED, "{put:?}");
    assert_eq!(
        (&put.body["to"], &put.body["reason"]),
        (&json!(RECIPIENT), &json!("api"))
    );
    assert!(put.body["since"].as_str().unwrap().ends_with('Z'));
    let again = api
        .put(&format!("/pools/p/optouts/{RECIPIENT}"), json!({}))
        .await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(
        pick(&mut con, "p", RECIPIENT).unwrap_err(),
        format!("OPTEDOUT: '{RECIPIENT}' opted out of pool 'p'")
    );
    let refused = api.post("/pools/p/pick", json!({ "to": RECIPIENT })).await;
    refused.problem(422, "opted-out");
    // A French recipient would get the pool's custom_from; opted out over RESP, nothing.
    assert_eq!(pick(&mut con, "p", "33612345678").unwrap(), "Acme");
    assert_eq!(optout(&mut con, "ADD", "p", "33612345678"), Ok(1));
    assert_eq!(optout(&mut con, "ADD", "p", "33612345678"), Ok(0));
    assert_eq!(optout(&mut con, "GET", "p", "33612345678"), Ok(1));
    assert!(pick(&mut con, "p", "33612345678")
        .unwrap_err()
        .starts_with("OPTEDOUT"));

    let listed = api.get("/pools/p/optouts").await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(listed.body["total_items"], 2);
    let entries = listed.body["_embedded"]["optouts"].as_array().unwrap();
    let recipients: Vec<&str> = entries.iter().map(|e| e["to"].as_str().unwrap()).collect();
    assert_eq!(recipients, ["33612345678", RECIPIENT], "recipient order");

    // Kept across a restart.
    server.restart();
    let api = Api::new(&server);
    let mut con = server.sidecar();
    assert_eq!(optout(&mut con, "GET", "p", RECIPIENT), Ok(1));
    assert_eq!(
        api.get(&format!("/pools/p/optouts/{RECIPIENT}")).await.body["reason"],
        "api"
    );

    // Lifted: the conversation resumes on its number.
    let lifted = api.delete(&format!("/pools/p/optouts/{RECIPIENT}")).await;
    assert_eq!(lifted.status, StatusCode::NO_CONTENT);
    let gone = api.delete(&format!("/pools/p/optouts/{RECIPIENT}")).await;
    gone.problem(404, "not-found");
    assert_eq!(pick(&mut con, "p", RECIPIENT).unwrap(), sender);
    assert_eq!(optout(&mut con, "DEL", "p", "33612345678"), Ok(1));
    assert_eq!(optout(&mut con, "GET", "p", "33612345678"), Ok(0));

    // Deleting the pool drops its opt-outs: a new pool of the same id starts with none.
    assert_eq!(optout(&mut con, "ADD", "p", RECIPIENT), Ok(1));
    assert_eq!(api.delete("/pools/p").await.status, StatusCode::OK);
    api.create_pool("p", json!({})).await;
    assert_eq!(optout(&mut con, "GET", "p", RECIPIENT), Ok(0));
}

#[tokio::test]
async fn an_opt_out_receipt_opts_out_of_the_pools_whose_conversation_used_the_sender() {
    let server = Numpool::start(&[]);
    let api = Api::new(&server);
    api.seed_pool("a", json!({}), &[FIRST]).await;
    api.create_pool("b", json!({})).await;
    api.own(&[SECOND]).await;
    let both = json!({ "numbers": [FIRST, SECOND] });
    assert_eq!(
        api.post("/pools/b/numbers", both).await.status,
        StatusCode::CREATED
    );
    let mut con = server.sidecar();
    assert_eq!(pick(&mut con, "a", RECIPIENT).unwrap(), FIRST);
    // In pool b the recipient's conversation is on whichever number the hash gives.
    let in_b = pick(&mut con, "b", RECIPIENT).unwrap();
    let dlr = format!("/receipts?msisdn={RECIPIENT}&to={FIRST}&status=failed&err-code=9");
    assert_eq!(api.get(&dlr).await.status, StatusCode::NO_CONTENT);
    let a = api.get(&format!("/pools/a/optouts/{RECIPIENT}")).await;
    assert_eq!(
        (a.status, &a.body["reason"]),
        (StatusCode::OK, &json!("receipt"))
    );
    let b_opted_out = optout(&mut con, "GET", "b", RECIPIENT).unwrap();
    assert_eq!(
        b_opted_out == 1,
        in_b == FIRST,
        "only where the conversation used {FIRST}"
    );
    assert!(pick(&mut con, "a", RECIPIENT)
        .unwrap_err()
        .starts_with("OPTEDOUT"));
}

#[tokio::test]
async fn bad_opt_out_requests_are_refused_and_change_nothing() {
    let server = Numpool::start(&[]);
    let api = Api::new(&server);
    api.seed_pool("p", json!({}), &[FIRST]).await;
    let mut con = server.sidecar();
    let before = api.get("/pools/p/optouts").await.body;
    let bad = api.put("/pools/p/optouts/12ab", json!({})).await;
    assert_eq!(bad.invalid_names(), ["to"]);
    api.put(&format!("/pools/nope/optouts/{RECIPIENT}"), json!({}))
        .await
        .problem(404, "not-found");
    api.get(&format!("/pools/p/optouts/{RECIPIENT}"))
        .await
        .problem(404, "not-found");
    let invalid = optout(&mut con, "ADD", "p", "12ab").unwrap_err();
    assert!(invalid.contains("invalid recipient '12ab'"), "{invalid}");
    assert!(optout(&mut con, "ADD", "nope", RECIPIENT)
        .unwrap_err()
        .starts_with("NOPOOL"));
    let arity = redis::cmd("OPTOUT.ADD")
        .arg("p")
        .query::<i64>(&mut con)
        .unwrap_err();
    assert!(
        arity.to_string().contains("wrong number of arguments"),
        "{arity}"
    );
    assert_eq!(api.get("/pools/p/optouts").await.body, before);
}
