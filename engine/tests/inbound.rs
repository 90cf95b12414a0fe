//! Inbound messages (DESIGN §3.5, §3.6) against the real binary: Vonage's SMS API inbound
//! webhook as a query string, form and JSON, and the Messages API inbound JSON, resolved to
//! their conversations; opt-out and opt-in keywords applied to those pools (and kept across a
//! restart), HELP reported, a reply keeping its conversation alive, concatenated parts judged
//! together, the opt-out limit held, and every kind of bad input refused with nothing changed.

mod support;

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use support::rest::Api;
use support::{pick, Numpool};

const FIRST: &str = "447700900001";
const SECOND: &str = "447700900002";
const RECIPIENT: &str = "447400123456";

/// Vonage's example SMS API inbound query string, from `RECIPIENT` to `ours` saying `text`.
fn sms_query(ours: &str, text: &str) -> String {
    format!(
        "/inbound?msisdn={RECIPIENT}&to={ours}&messageId=0B0000004B65F62F&text={text}&type=text\
         &keyword={}&message-timestamp=2026-01-01+21%3A52%3A49",
        text.to_uppercase()
    )
}

/// A Messages API inbound message from `RECIPIENT` to `ours`.
fn messages_api(ours: &str, text: &str) -> Value {
    json!({
        "channel": "sms",
        "message_uuid": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
        "to": ours,
        "from": RECIPIENT,
        "timestamp": "2026-01-01T21:52:49Z",
        "text": text,
        "message_type": "text",
        "sms": { "num_messages": "1" },
    })
}

/// The pool ids an answer names, in order.
fn pools_of(answer: &Value) -> Vec<&str> {
    answer["conversations"]
        .as_array()
        .unwrap_or_else(|| panic!("no conversations: {answer}"))
        .iter()
        .map(|c| c["pool_id"].as_str().unwrap())
        .collect()
}

/// Pools `a` and `b`, both holding FIRST.
async fn two_pools_holding_first(api: &Api) {
    api.seed_pool("a", json!({}), &[FIRST]).await;
    api.create_pool("b", json!({})).await;
    let joined = api
        .post("/pools/b/numbers", json!({ "numbers": [FIRST] }))
        .await;
    assert_eq!(joined.status, StatusCode::CREATED);
}

fn optout_get(con: &mut redis::Connection, pool: &str) -> i64 {
    redis::cmd("OPTOUT.GET")
        .arg(pool)
        .arg(RECIPIENT)
        .query(con)
        .unwrap()
}

/// Two pools hold FIRST, the recipient's conversation is in one: a STOP opts it out of that
/// one only, START lifts it, HELP does nothing but say so; kept across a restart.
#[tokio::test]
async fn keywords_act_on_the_pools_of_the_conversation() {
    let mut server = Numpool::start(&[]);
    let api = Api::new(&server);
    two_pools_holding_first(&api).await;
    let mut con = server.sidecar();
    assert_eq!(pick(&mut con, "a", RECIPIENT).unwrap(), FIRST);

    let stop = api.get(&sms_query(FIRST, "STOP")).await;
    assert_eq!(stop.status, StatusCode::OK, "{stop:?}");
    assert_eq!(pools_of(&stop.body), ["a"], "only the conversation's pool");
    assert_eq!(
        (&stop.body["action"], &stop.body["keyword"]),
        (&json!("opted_out"), &json!("STOP"))
    );
    let conversation = &stop.body["conversations"][0];
    assert_eq!(conversation["sender"], FIRST);
    assert!(conversation["since"].as_str().unwrap().ends_with('Z'));
    assert!(conversation["last_use"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        api.get(&format!("/pools/a/optouts/{RECIPIENT}")).await.body["reason"],
        "keyword"
    );
    assert_eq!(optout_get(&mut con, "b"), 0, "pool b had no conversation");
    assert!(pick(&mut con, "a", RECIPIENT)
        .unwrap_err()
        .starts_with("OPTEDOUT"));
    assert_eq!(pick(&mut con, "b", RECIPIENT).unwrap(), FIRST);

    // Kept across a restart.
    server.restart();
    let api = Api::new(&server);
    let mut con = server.sidecar();
    assert_eq!(optout_get(&mut con, "a"), 1);

    // HELP: reported, nothing changes.
    let help = api.post("/inbound", messages_api(FIRST, " help ")).await;
    assert_eq!(
        (&help.body["action"], &help.body["keyword"]),
        (&json!("help"), &json!("HELP"))
    );
    assert_eq!(optout_get(&mut con, "a"), 1);

    // START from the Messages API lifts it in both pools holding conversations (b has one
    // now too, since the pick above).
    let start = api.post("/inbound", messages_api(FIRST, "Start")).await;
    assert_eq!(start.status, StatusCode::OK, "{start:?}");
    assert_eq!(pools_of(&start.body), ["a", "b"]);
    assert_eq!(
        (&start.body["action"], &start.body["keyword"]),
        (&json!("opted_in"), &json!("START"))
    );
    assert_eq!(optout_get(&mut con, "a"), 0);
    assert_eq!(pick(&mut con, "a", RECIPIENT).unwrap(), FIRST);

    // Any other text is a reply: resolved, no action.
    let reply = api
        .form(
            "/inbound",
            &format!("msisdn={RECIPIENT}&to={FIRST}&text=stop+it+please&type=text"),
        )
        .await;
    assert_eq!(pools_of(&reply.body), ["a", "b"]);
    assert_eq!(
        (&reply.body["action"], &reply.body["keyword"]),
        (&json!("none"), &Value::Null)
    );
    assert_eq!(
        (optout_get(&mut con, "a"), optout_get(&mut con, "b")),
        (0, 0)
    );
}

/// A recipient with no conversation on the number: the message belongs to every pool holding
/// it, and its STOP opts out of each; a number in no pool resolves to nothing, acts on
/// nothing.
#[tokio::test]
async fn without_a_conversation_the_pools_holding_the_number_are_the_scope() {
    let server = Numpool::start(&[]);
    let api = Api::new(&server);
    two_pools_holding_first(&api).await;
    api.own(&[SECOND]).await;

    let body = json!({ "msisdn": RECIPIENT, "to": FIRST, "text": "  stop\n", "type": "text" });
    let stop = api.post("/inbound", body).await;
    assert_eq!(stop.status, StatusCode::OK, "{stop:?}");
    assert_eq!(pools_of(&stop.body), ["a", "b"]);
    for conversation in stop.body["conversations"].as_array().unwrap() {
        assert_eq!(conversation["sender"], FIRST);
        assert_eq!(
            (&conversation["since"], &conversation["last_use"]),
            (&Value::Null, &Value::Null),
            "no mapping to report"
        );
    }
    assert_eq!(stop.body["action"], "opted_out");
    let mut con = server.sidecar();
    assert_eq!(
        (optout_get(&mut con, "a"), optout_get(&mut con, "b")),
        (1, 1)
    );

    let nowhere = api.get(&sms_query(SECOND, "STOP")).await;
    assert_eq!(nowhere.status, StatusCode::OK);
    assert_eq!(pools_of(&nowhere.body), Vec::<&str>::new());
    assert_eq!(
        (&nowhere.body["action"], &nowhere.body["keyword"]),
        (&json!("none"), &json!("STOP"))
    );
}

/// A reply refreshes its conversation's last use, so a conversation kept alive by replies
/// outlives the pool's TTL counted from the last pick.
#[tokio::test]
async fn a_reply_keeps_its_conversation_alive() {
    let server = Numpool::start(&[]);
    let api = Api::new(&server);
    api.seed_pool("p", json!({ "sticky_ttl_seconds": 3 }), &[FIRST, SECOND])
        .await;
    api.seed_pool("q", json!({ "sticky_ttl_seconds": 3 }), &[])
        .await;
    let mut con = server.sidecar();
    let sender = pick(&mut con, "p", RECIPIENT).unwrap();
    let made = api.get(&format!("/pools/p/sticky/{RECIPIENT}")).await;
    assert_eq!(made.body["since"], made.body["last_use"]);

    std::thread::sleep(Duration::from_secs(2));
    let reply = api.get(&sms_query(&sender, "thanks")).await;
    assert_eq!(pools_of(&reply.body), ["p"]);
    let conversation = &reply.body["conversations"][0];
    assert_eq!(
        conversation["since"], made.body["since"],
        "since never moves"
    );
    assert!(
        conversation["last_use"].as_str() > made.body["last_use"].as_str(),
        "{conversation} after {made:?}"
    );

    // Four seconds after the pick, two after the reply: still the same conversation.
    std::thread::sleep(Duration::from_secs(2));
    let again: (String, String) = redis::cmd("PICK")
        .arg("p")
        .arg(RECIPIENT)
        .arg("WITHREASON")
        .query(&mut con)
        .unwrap();
    assert_eq!(again, (sender, "sticky".to_owned()));
}

/// The parts of a concatenated SMS are judged together once all have come, whatever their
/// order; a part alone is not its message.
#[tokio::test]
async fn concatenated_parts_are_judged_on_their_whole_text() {
    let server = Numpool::start(&[]);
    let api = Api::new(&server);
    api.seed_pool("p", json!({}), &[FIRST]).await;
    let part = |reference: &str, index: u32, text: &str| {
        format!(
            "/inbound?msisdn={RECIPIENT}&to={FIRST}&messageId=0B00000{index}&text={text}\
             &type=text&concat=true&concat-ref={reference}&concat-total=2&concat-part={index}"
        )
    };
    let mut con = server.sidecar();

    // "STOP" followed by more text is a reply.
    let first = api.get(&part("0A", 1, "STOP")).await;
    assert_eq!(
        (&first.body["action"], &first.body["keyword"]),
        (&json!("none"), &Value::Null),
        "{first:?}"
    );
    assert_eq!(first.body["parts"], json!({ "received": 1, "total": 2 }));
    let rest = api.get(&part("0A", 2, "+sending+me+these")).await;
    assert_eq!(rest.body["action"], "none");
    assert_eq!(optout_get(&mut con, "p"), 0);

    // "ST" + "OP", the second part first: STOP once both are in.
    let second = api.get(&part("0B", 2, "OP")).await;
    assert_eq!(second.body["action"], "none");
    let whole = api.get(&part("0B", 1, "ST")).await;
    assert_eq!(
        (&whole.body["action"], &whole.body["keyword"]),
        (&json!("opted_out"), &json!("STOP")),
        "{whole:?}"
    );
    assert_eq!(whole.body["parts"], json!({ "received": 2, "total": 2 }));
    assert_eq!(optout_get(&mut con, "p"), 1);
}

/// Every kind of bad inbound message is refused with a specific problem, and changes nothing.
#[tokio::test]
async fn bad_inbound_messages_are_refused_and_change_nothing() {
    let server = Numpool::start(&["--max-body-bytes", "4096"]);
    let api = Api::new(&server);
    api.seed_pool("p", json!({}), &[FIRST]).await;
    let mut con = server.sidecar();
    pick(&mut con, "p", RECIPIENT).unwrap();
    let before = api.get(&format!("/pools/p/sticky/{RECIPIENT}")).await.body;

    let missing = api.get(&format!("/inbound?to={FIRST}&text=STOP")).await;
    missing.problem(400, "validation");
    assert_eq!(missing.invalid_names(), ["msisdn"]);
    let bad_number = api
        .get(&format!("/inbound?msisdn=12ab&to={FIRST}&text=STOP"))
        .await;
    bad_number.problem(400, "validation");
    assert_eq!(bad_number.invalid_names(), ["msisdn"]);
    let no_ref = api
        .get(&format!(
            "/inbound?msisdn={RECIPIENT}&to={FIRST}&text=STOP&concat=true&concat-total=2&concat-part=1"
        ))
        .await;
    no_ref.problem(400, "validation");
    assert_eq!(no_ref.invalid_names(), ["concat-ref"]);
    let past_the_end = api
        .get(&format!(
            "/inbound?msisdn={RECIPIENT}&to={FIRST}&text=STOP&concat=true&concat-ref=1\
             &concat-total=2&concat-part=3"
        ))
        .await;
    past_the_end.problem(400, "validation");
    assert_eq!(past_the_end.invalid_names(), ["concat-part"]);
    let mut whatsapp = messages_api(FIRST, "STOP");
    whatsapp["channel"] = json!("whatsapp");
    let channel = api.post("/inbound", whatsapp).await;
    channel.problem(400, "validation");
    assert_eq!(channel.invalid_names(), ["channel"]);
    api.raw(reqwest::Method::POST, "/inbound", "{\"msisdn\": ")
        .await
        .problem(400, "invalid-json");
    let huge = json!({ "msisdn": RECIPIENT, "to": FIRST, "text": "x".repeat(5000) });
    api.post("/inbound", huge).await.problem(400, "validation");
    api.get(&sms_query("447700900999", "STOP"))
        .await
        .problem(404, "not-found");
    let stranger = Api::as_account(&server, "nobody00", "wrong");
    stranger
        .get(&sms_query(FIRST, "STOP"))
        .await
        .problem(401, "unauthorized");

    assert_eq!(optout_get(&mut con, "p"), 0);
    assert_eq!(api.get("/pools/p/optouts").await.body["total_items"], 0);
    let after = api.get(&format!("/pools/p/sticky/{RECIPIENT}")).await.body;
    assert_eq!(after, before, "no refused message touched the conversation");
}

/// `max_opt_outs_per_pool` holds for every source: the API, RESP and a keyword; a recipient
/// already opted out may be opted out again.
#[tokio::test]
async fn the_opt_out_limit_holds_for_every_source() {
    let server = Numpool::start(&["--max-opt-outs-per-pool", "2"]);
    let api = Api::new(&server);
    api.seed_pool("p", json!({}), &[FIRST]).await;
    for to in ["447400000001", "447400000002"] {
        let put = api.put(&format!("/pools/p/optouts/{to}"), json!({})).await;
        assert_eq!(put.status, StatusCode::CREATED);
    }
    let over = api.put("/pools/p/optouts/447400000003", json!({})).await;
    let problem = over.problem(403, "limit-exceeded");
    assert_eq!(problem["limit"], "max_opt_outs_per_pool");
    assert_eq!(problem["limit_value"], 2);
    let again = api.put("/pools/p/optouts/447400000002", json!({})).await;
    assert_eq!(again.status, StatusCode::OK, "a repeat adds nothing");

    let mut con = server.sidecar();
    let refused = redis::cmd("OPTOUT.ADD")
        .arg("p")
        .arg(RECIPIENT)
        .query::<i64>(&mut con)
        .unwrap_err();
    assert!(
        refused.to_string().contains("max_opt_outs_per_pool"),
        "{refused}"
    );
    let stop = api.get(&sms_query(FIRST, "STOP")).await;
    stop.problem(403, "limit-exceeded");
    assert_eq!(optout_get(&mut con, "p"), 0);
    assert_eq!(api.get("/pools/p/optouts").await.body["total_items"], 2);
}
