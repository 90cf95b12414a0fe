//! Credential guessing and tenant isolation: failed
//! authentications cost their client address time, and only it; `INFO` shows the caller's
//! account only; `/metrics` keeps per-account series out unless asked, and can require a token
//! or listen on an address of its own.
//!
//! Clients bind distinct loopback addresses (127.0.0.2, 127.0.0.3, …: all of 127/8 reaches the
//! loopback interface) so that the server sees them as different client addresses.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use crate::support::raw::command;
use crate::support::{Numpool, KEY, OTHER_KEY, OTHER_SECRET, SECRET};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// The delay after a first failure these tests configure: long enough that ordering shows it
/// on a loaded machine.
const FIRST_DELAY_MS: u64 = 100;

fn loopback(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

/// A RESP connection from `source`.
async fn connect_from(source: IpAddr, to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(source, 0)).unwrap();
    socket.connect(to).await.expect("connect")
}

/// Reads one `\r\n`-terminated line, within 20 s.
async fn read_line(stream: &mut TcpStream) -> String {
    let read = async {
        let mut line = Vec::new();
        while !line.ends_with(b"\r\n") {
            line.push(stream.read_u8().await.unwrap());
        }
        String::from_utf8(line).unwrap()
    };
    tokio::time::timeout(Duration::from_secs(20), read)
        .await
        .expect("a reply")
}

/// Sends `AUTH key secret`; the reply line.
async fn auth(stream: &mut TcpStream, key: &str, secret: &str) -> String {
    stream
        .write_all(&command(&["AUTH", key, secret]))
        .await
        .unwrap();
    read_line(stream).await
}

const WRONGPASS: &str = "-WRONGPASS invalid username-password pair or user is disabled.\r\n";

/// The value of an unlabelled or labelled sample in a Prometheus text, if present.
fn sample(text: &str, series: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|value| value.parse().unwrap())
}

async fn get_metrics(server: &Numpool) -> String {
    let url = format!("{}/metrics", server.base_url());
    let reply = reqwest::get(url).await.unwrap();
    assert_eq!(reply.status(), StatusCode::OK);
    reply.text().await.unwrap()
}

#[tokio::test]
async fn resp_guessing_slows_its_address_only_and_the_right_secret_still_opens() {
    let delay = FIRST_DELAY_MS.to_string();
    let server = Numpool::start(&["--auth-failure-delay-ms", &delay]);
    let mut guesser = connect_from(loopback(2), server.resp).await;
    // Each failure makes the next attempt from the address wait longer: 0, then 100, 200, 400,
    // 800 ms at least (a timer never fires early). The server counts from its verdict and the
    // test from the reply's arrival, a few ms later on a busy machine: the bound allows that
    // trip back, half the first delay, and still shows each wait doubling.
    let trip_back = Duration::from_millis(FIRST_DELAY_MS / 2);
    for attempt in 0..5u32 {
        let started = Instant::now();
        assert_eq!(auth(&mut guesser, KEY, "wrong").await, WRONGPASS);
        let waited = started.elapsed();
        if attempt > 0 {
            let least = Duration::from_millis(FIRST_DELAY_MS << (attempt - 1));
            assert!(
                waited + trip_back >= least,
                "attempt {attempt} waited {waited:?}"
            );
        }
    }
    // The right secret, sent first, waits its address's turn (1.6 s): a client from another
    // address that authenticates after it is answered before it.
    guesser
        .write_all(&command(&["AUTH", KEY, SECRET]))
        .await
        .unwrap();
    let mut other = connect_from(loopback(3), server.resp).await;
    assert_eq!(auth(&mut other, OTHER_KEY, OTHER_SECRET).await, "+OK\r\n");
    let mut byte = [0u8; 1];
    assert_eq!(
        guesser.try_read(&mut byte).map_err(|e| e.kind()),
        Err(std::io::ErrorKind::WouldBlock),
        "the guesser's AUTH was answered before its turn"
    );
    assert_eq!(read_line(&mut guesser).await, "+OK\r\n");
    // Authenticated: its commands run.
    guesser.write_all(&command(&["PING"])).await.unwrap();
    assert_eq!(read_line(&mut guesser).await, "+PONG\r\n");

    let metrics = get_metrics(&server).await;
    assert_eq!(
        sample(&metrics, "numpool_auth_failures_total{interface=\"resp\"}"),
        Some(5),
        "{metrics}"
    );
    assert_eq!(
        sample(&metrics, "numpool_auth_failures_total{interface=\"http\"}"),
        Some(0)
    );
    // The success forgot the guesser's address.
    assert_eq!(
        sample(&metrics, "numpool_auth_throttled_addresses"),
        Some(0)
    );
}

#[tokio::test]
async fn http_guessing_slows_its_address_only_and_the_right_secret_still_opens() {
    let delay = FIRST_DELAY_MS.to_string();
    let server = Numpool::start(&["--auth-failure-delay-ms", &delay]);
    let url = format!("{}/v2/numberpools/accounts/{KEY}/pools", server.base_url());
    let from = |last| {
        reqwest::Client::builder()
            .local_address(loopback(last))
            .build()
            .unwrap()
    };
    let guesser = from(4);
    for _ in 0..4 {
        let reply = guesser
            .get(&url)
            .basic_auth(KEY, Some("wrong"))
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), StatusCode::UNAUTHORIZED);
    }
    // No credentials guess nothing: answered at once, not counted.
    let bare = guesser.get(&url).send().await.unwrap();
    assert_eq!(bare.status(), StatusCode::UNAUTHORIZED);

    // The right secret waits the address's turn (800 ms after the fourth failure); meanwhile a
    // client from another address is answered at once.
    let started = Instant::now();
    let right = {
        let (guesser, url) = (guesser.clone(), url.clone());
        tokio::spawn(async move {
            let reply = guesser.get(&url).basic_auth(KEY, Some(SECRET)).send().await;
            (reply.unwrap().status(), started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let reply = from(5)
        .get(format!(
            "{}/v2/numberpools/accounts/{OTHER_KEY}/pools",
            server.base_url()
        ))
        .basic_auth(OTHER_KEY, Some(OTHER_SECRET))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::OK);
    assert!(
        !right.is_finished(),
        "the guesser's request was answered before its turn"
    );
    let (status, waited) = right.await.unwrap();
    assert_eq!(status, StatusCode::OK);
    assert!(waited >= Duration::from_millis(700), "waited {waited:?}");

    let metrics = get_metrics(&server).await;
    assert_eq!(
        sample(&metrics, "numpool_auth_failures_total{interface=\"http\"}"),
        Some(4),
        "{metrics}"
    );
}

/// A client acting as one account over REST; asserts every call succeeds.
struct Tenant {
    client: reqwest::Client,
    base: String,
    key: &'static str,
    secret: &'static str,
}

impl Tenant {
    fn new(server: &Numpool, key: &'static str, secret: &'static str) -> Tenant {
        Tenant {
            client: reqwest::Client::new(),
            base: format!("{}/v2/numberpools/accounts/{key}", server.base_url()),
            key,
            secret,
        }
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let reply = self
            .client
            .post(format!("{}{path}", self.base))
            .basic_auth(self.key, Some(self.secret))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(reply.status().is_success(), "{path}: {}", reply.status());
        reply.json().await.unwrap_or(Value::Null)
    }

    /// Owns `numbers`, creates a predictable pool `pool` holding them and picks once for each
    /// of `recipients`.
    async fn seed(&self, numbers: &[&str], pool: &str, recipients: &[&str]) {
        let items: Vec<Value> = numbers.iter().map(|n| json!({ "number": n })).collect();
        self.post("/numbers", json!({ "numbers": items })).await;
        self.post(
            "/pools",
            json!({
                "pool_id": pool,
                "fallback": "Pool",
                "localized_sender_preferred": true,
                "predictable_sender_preferred": true,
            }),
        )
        .await;
        self.post(
            &format!("/pools/{pool}/numbers"),
            json!({ "numbers": numbers }),
        )
        .await;
        for to in recipients {
            self.post(&format!("/pools/{pool}/pick"), json!({ "to": to }))
                .await;
        }
    }
}

/// `INFO` on a connection authenticated as `key`: its text.
async fn info_as(server: &Numpool, key: &str, secret: &str) -> String {
    let mut stream = connect_from(loopback(1), server.resp).await;
    assert_eq!(auth(&mut stream, key, secret).await, "+OK\r\n");
    stream.write_all(&command(&["INFO"])).await.unwrap();
    let header = read_line(&mut stream).await;
    let len: usize = header[1..header.len() - 2].parse().unwrap();
    let mut body = vec![0; len + 2];
    stream.read_exact(&mut body).await.unwrap();
    String::from_utf8(body).unwrap()
}

#[tokio::test]
async fn info_shows_the_callers_account_only() {
    let server = Numpool::start(&[]);
    let a = Tenant::new(&server, KEY, SECRET);
    let b = Tenant::new(&server, OTHER_KEY, OTHER_SECRET);
    // A: two pools, three numbers; one conversation, picked twice (a new one, then sticky).
    a.seed(
        &["447700900001", "447700900002", "447700900003"],
        "a1",
        &["447400123459", "447400123459"],
    )
    .await;
    a.post(
        "/pools",
        json!({ "pool_id": "a2", "fallback": "Pool", "localized_sender_preferred": false,
                "predictable_sender_preferred": false }),
    )
    .await;
    // B: one pool, one number, three conversations.
    b.seed(
        &["447700900009"],
        "b1",
        &["447911000001", "447911000002", "447911000003"],
    )
    .await;

    let lines = |text: &str| -> Vec<String> {
        let keys = [
            "account:",
            "pools:",
            "numbers:",
            "sticky_entries:",
            "picks_sticky:",
            "picks_country:",
            "picks_rejected:",
        ];
        text.split("\r\n")
            .filter(|l| keys.iter().any(|k| l.starts_with(k)))
            .map(str::to_owned)
            .collect()
    };
    let info_a = info_as(&server, KEY, SECRET).await;
    assert_eq!(
        lines(&info_a),
        [
            format!("account:{KEY}"),
            "pools:2".into(),
            "numbers:3".into(),
            "sticky_entries:1".into(),
            "picks_sticky:1".into(),
            "picks_country:1".into(),
            "picks_rejected:0".into(),
        ],
        "{info_a}"
    );
    let info_b = info_as(&server, OTHER_KEY, OTHER_SECRET).await;
    assert_eq!(
        lines(&info_b),
        [
            format!("account:{OTHER_KEY}"),
            "pools:1".into(),
            "numbers:1".into(),
            "sticky_entries:3".into(),
            "picks_sticky:0".into(),
            "picks_country:3".into(),
            "picks_rejected:0".into(),
        ],
        "{info_b}"
    );
    // Server-wide figures that say nothing of other accounts are still there.
    for key in ["uptime_in_seconds:", "connected_clients:", "storage:"] {
        assert!(info_b.contains(key), "{key} in {info_b}");
    }

    // /metrics: the totals, and no per-account series unless the operator asks.
    let metrics = get_metrics(&server).await;
    assert_eq!(sample(&metrics, "numpool_pools"), Some(3));
    assert_eq!(sample(&metrics, "numpool_sticky_mappings"), Some(4));
    assert!(!metrics.contains("numpool_account_"), "{metrics}");
}

#[tokio::test]
async fn per_account_series_only_when_turned_on() {
    let server = Numpool::start(&["--metrics-per-account"]);
    Tenant::new(&server, KEY, SECRET)
        .seed(&["447700900001"], "a1", &["447400123459"])
        .await;
    let metrics = get_metrics(&server).await;
    for (series, value) in [
        (format!("numpool_account_pools{{account=\"{KEY}\"}}"), 1),
        (format!("numpool_account_pools{{account=\"{OTHER_KEY}\"}}"), 0),
        (format!("numpool_account_numbers{{account=\"{KEY}\"}}"), 1),
        (
            format!("numpool_account_sticky_mappings{{account=\"{KEY}\"}}"),
            1,
        ),
        (
            format!(
                "numpool_account_picks_total{{account=\"{KEY}\",outcome=\"picked\",reason=\"country\"}}"
            ),
            1,
        ),
        (
            format!("numpool_account_picks_total{{account=\"{OTHER_KEY}\",outcome=\"rejected\"}}"),
            0,
        ),
        (
            format!("numpool_account_number_health{{account=\"{KEY}\",state=\"healthy\"}}"),
            1,
        ),
        (
            format!("numpool_account_receipts_total{{account=\"{OTHER_KEY}\",class=\"spam\"}}"),
            0,
        ),
    ] {
        assert_eq!(sample(&metrics, &series), Some(value), "{series} in {metrics}");
    }
}

#[tokio::test]
async fn metrics_token_refuses_without_or_with_a_wrong_token() {
    let server = Numpool::start_with_toml("metrics_token = \"scrape-me\"", &[]);
    let url = format!("{}/metrics", server.base_url());
    let client = reqwest::Client::new();
    for request in [
        client.get(&url),
        client.get(&url).bearer_auth("wrong"),
        client.get(&url).basic_auth(KEY, Some(SECRET)),
    ] {
        let reply = request.send().await.unwrap();
        assert_eq!(reply.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            reply.headers()["www-authenticate"],
            "Bearer realm=\"numpool metrics\""
        );
        let body: Value = reply.json().await.unwrap();
        assert!(body["type"].as_str().unwrap().ends_with("#unauthorized"));
    }
    let reply = client
        .get(&url)
        .bearer_auth("scrape-me")
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::OK);
    let text = reply.text().await.unwrap();
    // Only the wrong token guessed: the missing one and the Basic header are not attempts.
    assert_eq!(
        sample(&text, "numpool_auth_failures_total{interface=\"http\"}"),
        Some(1),
        "{text}"
    );
    // /healthz needs no token.
    let health = client
        .get(format!("{}/healthz", server.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
}

#[tokio::test]
async fn metrics_listen_serves_metrics_there_only() {
    let server = Numpool::start(&["--metrics-listen", "127.0.0.1:0"]);
    let metrics = server
        .metrics
        .expect("the ready line names the metrics listener");
    let own = reqwest::get(format!("http://{metrics}/metrics"))
        .await
        .unwrap();
    assert_eq!(own.status(), StatusCode::OK);
    assert!(own.text().await.unwrap().contains("numpool_pools 0"));
    // The REST listener no longer answers it, and the metrics listener answers nothing else.
    let api = reqwest::get(format!("{}/metrics", server.base_url()))
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::NOT_FOUND);
    let other = reqwest::get(format!("http://{metrics}/healthz"))
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::NOT_FOUND);
}
