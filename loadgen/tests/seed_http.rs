//! `seed` against a fake REST server: the calls arrive in order with Basic auth, the documented
//! paths and bodies, at most 50 numbers per pool call, and 409 on pool creation is accepted while
//! other failures stop the seeding.

use numpool_loadgen::countries::parse_mix;
use numpool_loadgen::seed::{self, SeedError};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// One request as the fake server saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    authorization: String,
    body: serde_json::Value,
}

/// Serves HTTP/1.1 with `Connection: close`, answering each request with `status(path)`.
async fn fake_rest(status: fn(&str) -> u16) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let mut data = Vec::new();
                let mut buf = [0u8; 8192];
                // Read the head, then as many body bytes as Content-Length says.
                let (head, body) = loop {
                    let n = sock.read(&mut buf).await.unwrap();
                    assert!(n > 0, "client closed early");
                    data.extend_from_slice(&buf[..n]);
                    if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8(data[..end].to_vec()).unwrap();
                        let len: usize = head
                            .lines()
                            .find_map(|l| {
                                let (k, v) = l.split_once(':')?;
                                k.eq_ignore_ascii_case("content-length")
                                    .then(|| v.trim().parse().unwrap())
                            })
                            .unwrap_or(0);
                        while data.len() < end + 4 + len {
                            let n = sock.read(&mut buf).await.unwrap();
                            data.extend_from_slice(&buf[..n]);
                        }
                        break (head, data[end + 4..end + 4 + len].to_vec());
                    }
                };
                let mut first = head.lines().next().unwrap().split(' ');
                let method = first.next().unwrap().to_string();
                let path = first.next().unwrap().to_string();
                let authorization = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("authorization")
                            .then(|| v.trim().to_string())
                    })
                    .unwrap_or_default();
                let code = status(&path);
                log.lock().unwrap().push(Seen {
                    method,
                    path,
                    authorization,
                    body: serde_json::from_slice(&body).unwrap(),
                });
                let reply = format!(
                    "HTTP/1.1 {code} X\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{{}}"
                );
                let _ = sock.write_all(reply.as_bytes()).await;
            });
        }
    });
    (base, seen)
}

#[tokio::test]
async fn seeds_inventory_pool_and_members_in_order() {
    // The pool already exists (409): a re-run must go on. Adding numbers answers 207 sometimes.
    let (base, seen) = fake_rest(|path| match path {
        "/v2/numberpools/accounts/abcd1234/pools" => 409,
        p if p.ends_with("/pools/main/numbers") => 207,
        _ => 201,
    })
    .await;
    let numbers = seed::inventory(&parse_mix("GB,US,DE,FR").unwrap(), 1_030, None);
    let calls = seed::plan("abcd1234", "main", &numbers);
    let statuses = seed::execute(&base, "abcd1234", "s3cret", &calls)
        .await
        .unwrap();
    assert_eq!(statuses.get(&201), Some(&2));
    assert_eq!(statuses.get(&409), Some(&1));
    assert_eq!(statuses.get(&207), Some(&21));

    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2 + 1 + 21);
    // base64("abcd1234:s3cret")
    assert!(seen
        .iter()
        .all(|s| s.method == "POST" && s.authorization == "Basic YWJjZDEyMzQ6czNjcmV0"));
    assert_eq!(seen[0].path, "/v2/numberpools/accounts/abcd1234/numbers");
    assert_eq!(seen[0].body["numbers"].as_array().unwrap().len(), 1_000);
    assert_eq!(
        seen[0].body["numbers"][0]["number"],
        numbers[0].number.as_str()
    );
    assert_eq!(seen[1].body["numbers"].as_array().unwrap().len(), 30);
    assert_eq!(seen[2].body["pool_id"], "main");
    let members: Vec<&str> = seen[3..]
        .iter()
        .inspect(|s| assert!(s.body["numbers"].as_array().unwrap().len() <= 50))
        .flat_map(|s| s.body["numbers"].as_array().unwrap().iter())
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(members.len(), 1_030);
    assert_eq!(members[1_029], numbers[1_029].number);
}

#[tokio::test]
async fn a_failed_call_stops_seeding() {
    let (base, seen) = fake_rest(|path| if path.ends_with("/pools") { 400 } else { 201 }).await;
    let numbers = seed::inventory(&parse_mix("GB").unwrap(), 10, None);
    let calls = seed::plan("abcd1234", "main", &numbers);
    match seed::execute(&base, "abcd1234", "s", &calls).await {
        Err(SeedError::Status { status, what, .. }) => {
            assert_eq!(status, 400);
            assert!(what.contains("create pool"), "{what}");
        }
        other => panic!("expected a status error, got {other:?}"),
    }
    // Nothing was sent after the failure.
    assert_eq!(seen.lock().unwrap().len(), 2);
}
