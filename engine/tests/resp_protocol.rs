//! The RESP sidecar (DESIGN §4) against the real binary: raw bytes for every command and error,
//! the `redis` crate for pipelines and concurrency. The limits and what hostile clients try are
//! in `hostile/`.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;

use support::raw::{command, connect, exchange, read_to_close, DEMO_AUTH};
use support::Numpool;

fn authed(server: &Numpool) -> TcpStream {
    let mut stream = connect(server.resp);
    exchange(&mut stream, DEMO_AUTH, b"+OK\r\n");
    stream
}

/// Reads one `\r\n`-terminated line (a simple reply or a header).
fn read_line(stream: &mut TcpStream) -> String {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while !line.ends_with(b"\r\n") {
        stream.read_exact(&mut byte).unwrap();
        line.push(byte[0]);
    }
    String::from_utf8(line).unwrap()
}

/// The connection's id, from `CLIENT ID`.
fn client_id(stream: &mut TcpStream) -> u64 {
    stream.write_all(&command(&["CLIENT", "ID"])).unwrap();
    let line = read_line(stream);
    line.strip_prefix(':').unwrap().trim_end().parse().unwrap()
}

/// `HELLO`'s reply for connection `id` in `proto`: seven properties, a flat array in RESP2 and
/// a map in RESP3.
fn hello_reply(id: u64, proto: u8) -> String {
    let version = env!("CARGO_PKG_VERSION");
    let header = if proto == 3 { "%7" } else { "*14" };
    let id = id.to_string();
    format!(
        "{header}\r\n$6\r\nserver\r\n$7\r\nnumpool\r\n$7\r\nversion\r\n${}\r\n{version}\r\n\
         $5\r\nproto\r\n:{proto}\r\n$2\r\nid\r\n:{id}\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n\
         $4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n",
        version.len()
    )
}

#[test]
fn handshake_commands_work_before_auth() {
    let server = Numpool::start(&["--demo"]);
    let mut s = connect(server.resp);
    exchange(&mut s, &command(&["PING"]), b"+PONG\r\n");
    exchange(&mut s, &command(&["ping", "hi"]), b"$2\r\nhi\r\n");
    exchange(
        &mut s,
        &command(&["CLIENT", "SETINFO", "LIB-NAME", "x"]),
        b"+OK\r\n",
    );
    exchange(
        &mut s,
        &command(&[
            "CLIENT",
            "MAINT_NOTIFICATIONS",
            "on",
            "moving-endpoint-type",
            "none",
        ]),
        b"+OK\r\n",
    );
    let id = client_id(&mut s);
    assert!(client_id(&mut connect(server.resp)) > id, "ids are unique");
    exchange(&mut s, &command(&["HELLO"]), hello_reply(id, 2).as_bytes());
    exchange(
        &mut s,
        &command(&["HELLO", "2"]),
        hello_reply(id, 2).as_bytes(),
    );
    for version in ["1", "4"] {
        exchange(
            &mut s,
            &command(&["HELLO", version]),
            b"-NOPROTO sorry, this protocol version is not supported.\r\n",
        );
    }
    exchange(&mut s, &command(&["CLIENT", "GETNAME"]), b"$-1\r\n");
    exchange(&mut s, &command(&["CLIENT", "SETNAME", "app"]), b"+OK\r\n");
    exchange(&mut s, &command(&["CLIENT", "GETNAME"]), b"$3\r\napp\r\n");
    // Inline commands (telnet, nc) work too.
    exchange(&mut s, b"PING\r\n", b"+PONG\r\n");
    exchange(&mut s, &command(&["QUIT"]), b"+OK\r\n");
    assert!(read_to_close(&mut s).is_empty());
}

#[test]
fn hello_3_switches_the_connection_to_resp3() {
    let server = Numpool::start(&["--demo"]);
    let mut s = connect(server.resp);
    let id = client_id(&mut s);
    exchange(
        &mut s,
        &command(&["HELLO", "3"]),
        hello_reply(id, 3).as_bytes(),
    );
    // A plain HELLO now reports the version in force.
    exchange(&mut s, &command(&["HELLO"]), hello_reply(id, 3).as_bytes());
    exchange(&mut s, &command(&["CLIENT", "GETNAME"]), b"_\r\n");
    exchange(&mut s, DEMO_AUTH, b"+OK\r\n");
    exchange(
        &mut s,
        &command(&["STICKY.GET", "demo", "447400123459"]),
        b"_\r\n",
    );
    exchange(
        &mut s,
        &command(&["PICK", "demo", "447400123459", "WITHINFO"]),
        b"%3\r\n$6\r\nsender\r\n$12\r\n447700900001\r\n$6\r\nreason\r\n$7\r\ncountry\r\n\
          $7\r\nwait_ms\r\n:0\r\n",
    );
    // Everything without a RESP3 type of its own is as in RESP2.
    exchange(
        &mut s,
        &command(&["PICK", "demo", "447400123459", "WITHREASON"]),
        b"*2\r\n$12\r\n447700900001\r\n$6\r\nsticky\r\n",
    );
    exchange(
        &mut s,
        &command(&["PICK", "nope", "447400123459"]),
        b"-NOPOOL pool 'nope' not found\r\n",
    );
    s.write_all(&command(&["INFO", "server"])).unwrap();
    let header = read_line(&mut s);
    let len: usize = header[1..header.len() - 2].parse().unwrap();
    let mut body = vec![0; len + 2];
    s.read_exact(&mut body).unwrap();
    let body = String::from_utf8(body).unwrap();
    assert!(
        header.starts_with('='),
        "INFO is a verbatim string: {header}"
    );
    assert!(body.starts_with("txt:# Server\r\n"), "{body}");
    assert!(body.contains("redis_version:"), "{body}");
    assert!(
        !body.contains("pools:"),
        "only the section asked for: {body}"
    );
    // Clients that check the role at connect (valkey-glide) read the replication section.
    s.write_all(&command(&["INFO", "replication"])).unwrap();
    let header = read_line(&mut s);
    let mut body = vec![0; header[1..header.len() - 2].parse::<usize>().unwrap() + 2];
    s.read_exact(&mut body).unwrap();
    assert!(String::from_utf8(body).unwrap().contains("role:master"));
    // Back to RESP2 on the same connection.
    exchange(
        &mut s,
        &command(&["HELLO", "2"]),
        hello_reply(id, 2).as_bytes(),
    );
    exchange(
        &mut s,
        &command(&["STICKY.GET", "demo", "447911000000"]),
        b"$-1\r\n",
    );
    exchange(
        &mut s,
        &command(&["PICK", "demo", "447400123459", "WITHINFO"]),
        b"*6\r\n$6\r\nsender\r\n$12\r\n447700900001\r\n$6\r\nreason\r\n$6\r\nsticky\r\n\
          $7\r\nwait_ms\r\n:0\r\n",
    );
}

#[test]
fn a_refused_hello_changes_nothing() {
    let server = Numpool::start(&["--demo"]);
    let mut s = connect(server.resp);
    exchange(
        &mut s,
        &command(&["HELLO", "3", "AUTH", "demo0001", "nope"]),
        b"-WRONGPASS invalid username-password pair or user is disabled.\r\n",
    );
    exchange(
        &mut s,
        &command(&["HELLO", "4", "AUTH", "demo0001", "demo-secret"]),
        b"-NOPROTO sorry, this protocol version is not supported.\r\n",
    );
    // Still RESP2, still unauthenticated.
    exchange(&mut s, &command(&["CLIENT", "GETNAME"]), b"$-1\r\n");
    exchange(
        &mut s,
        &command(&["PICK", "demo", "447400123459"]),
        b"-NOAUTH Authentication required.\r\n",
    );
}

#[test]
fn commands_clients_send_at_start() {
    let server = Numpool::start(&["--demo"]);
    let mut s = authed(&server);
    exchange(&mut s, &command(&["SELECT", "0"]), b"+OK\r\n");
    exchange(
        &mut s,
        &command(&["SELECT", "1"]),
        b"-ERR DB index is out of range\r\n",
    );
    exchange(&mut s, &command(&["ECHO", "hi"]), b"$2\r\nhi\r\n");
    exchange(&mut s, &command(&["COMMAND", "COUNT"]), b":14\r\n");
    exchange(
        &mut s,
        &command(&["COMMAND", "INFO", "PICK", "nope"]),
        b"*2\r\n*10\r\n$4\r\npick\r\n:-3\r\n*2\r\n+write\r\n+fast\r\n:0\r\n:0\r\n:0\r\n\
          *0\r\n*0\r\n*0\r\n*0\r\n$-1\r\n",
    );
    s.write_all(&command(&["COMMAND", "DOCS"])).unwrap();
    assert_eq!(
        read_line(&mut s),
        "*28\r\n",
        "a flat map of 14 commands in RESP2"
    );
}

#[test]
fn everything_else_needs_auth() {
    let server = Numpool::start(&["--demo"]);
    let mut s = connect(server.resp);
    for request in [
        command(&["PICK", "demo", "447400123459"]),
        command(&["PICK", "demo", "not-a-number"]),
        command(&["STICKY.GET", "demo", "447400123459"]),
        command(&["STICKY.DEL", "demo", "447400123459"]),
        command(&["INFO"]),
        command(&["FLUSHALL"]),
    ] {
        exchange(&mut s, &request, b"-NOAUTH Authentication required.\r\n");
    }
    let wrong = b"-WRONGPASS invalid username-password pair or user is disabled.\r\n";
    exchange(&mut s, &command(&["AUTH", "demo0001", "nope"]), wrong);
    exchange(
        &mut s,
        &command(&["AUTH", "nobody00", "demo-secret"]),
        wrong,
    );
    exchange(
        &mut s,
        &command(&["HELLO", "2", "AUTH", "demo0001", "nope"]),
        wrong,
    );
    exchange(
        &mut s,
        &command(&["PICK", "demo", "447400123459"]),
        b"-NOAUTH Authentication required.\r\n",
    );
    exchange(
        &mut s,
        &command(&["AUTH", "demo0001"]),
        b"-ERR wrong number of arguments for 'auth' command\r\n",
    );
    exchange(&mut s, DEMO_AUTH, b"+OK\r\n");
    exchange(
        &mut s,
        &command(&["PICK", "demo", "447400123459"]),
        b"$12\r\n447700900001\r\n",
    );
}

#[test]
fn hello_with_auth_authenticates() {
    let server = Numpool::start(&["--demo"]);
    for proto in [2u8, 3] {
        let mut s = connect(server.resp);
        let id = client_id(&mut s);
        let version = proto.to_string();
        let hello = ["HELLO", &version, "AUTH", "demo0001", "demo-secret"];
        exchange(&mut s, &command(&hello), hello_reply(id, proto).as_bytes());
        exchange(
            &mut s,
            &command(&["PICK", "demo", "447400123459"]),
            b"$12\r\n447700900001\r\n",
        );
        let mut s = connect(server.resp);
        let id = client_id(&mut s);
        let named = [&hello[..], &["SETNAME", "app"]].concat();
        exchange(&mut s, &command(&named), hello_reply(id, proto).as_bytes());
        exchange(&mut s, &command(&["CLIENT", "GETNAME"]), b"$3\r\napp\r\n");
        exchange(
            &mut s,
            &command(&["STICKY.GET", "demo", "447400123459"]),
            b"$12\r\n447700900001\r\n",
        );
    }
}

#[test]
fn pick_replies_and_errors() {
    let server = Numpool::start(&["--demo"]);
    let mut s = authed(&server);
    // Localized and sticky.
    exchange(
        &mut s,
        &command(&["PICK", "demo", "+447400123459", "WITHREASON"]),
        b"*2\r\n$12\r\n447700900001\r\n$7\r\ncountry\r\n",
    );
    exchange(
        &mut s,
        &command(&["pick", "demo", "447400123459", "withreason"]),
        b"*2\r\n$12\r\n447700900001\r\n$6\r\nsticky\r\n",
    );
    // Area and network.
    exchange(
        &mut s,
        &command(&[
            "PICK",
            "demo",
            "14155559999",
            "NETWORK",
            "311480",
            "WITHREASON",
        ]),
        b"*2\r\n$11\r\n14155550102\r\n$4\r\narea\r\n",
    );
    // Each fallback.
    exchange(
        &mut s,
        &command(&["PICK", "strict", "33612349999"]),
        b"-REJECTED no number for country FR\r\n",
    );
    exchange(
        &mut s,
        &command(&["PICK", "brand", "33612349999", "WITHREASON"]),
        b"*2\r\n$7\r\nNumpool\r\n$11\r\ncustom_from\r\n",
    );
    exchange(
        &mut s,
        &command(&["PICK", "brand", "33612349999", "FROM", "Acme"]),
        b"$4\r\nAcme\r\n",
    );
    // Errors that keep the connection open.
    exchange(
        &mut s,
        &command(&["PICK", "nope", "447400123459"]),
        b"-NOPOOL pool 'nope' not found\r\n",
    );
    exchange(
        &mut s,
        &command(&["PICK", "demo", "12ab"]),
        b"-ERR invalid recipient '12ab'\r\n",
    );
    exchange(
        &mut s,
        &command(&["PICK", "demo", "9991234567"]),
        b"-ERR invalid recipient '9991234567'\r\n",
    );
    exchange(
        &mut s,
        &command(&[
            "PICK",
            "brand",
            "33612349999",
            "FROM",
            "Far Too Long Sender",
        ]),
        b"-ERR invalid sender 'Far Too Long Sender'\r\n",
    );
    exchange(
        &mut s,
        &command(&["PICK", "demo"]),
        b"-ERR wrong number of arguments for 'pick' command\r\n",
    );
    exchange(
        &mut s,
        &command(&["PICK", "demo", "447400123459", "BOGUS"]),
        b"-ERR syntax error\r\n",
    );
    exchange(
        &mut s,
        &command(&["NOSUCH", "x"]),
        b"-ERR unknown command 'NOSUCH'\r\n",
    );
    exchange(&mut s, &command(&["PING"]), b"+PONG\r\n");
}

#[test]
fn sticky_get_and_del() {
    let server = Numpool::start(&["--demo"]);
    let mut s = authed(&server);
    exchange(
        &mut s,
        &command(&["STICKY.GET", "demo", "447400123459"]),
        b"$-1\r\n",
    );
    exchange(
        &mut s,
        &command(&["PICK", "demo", "447400123459"]),
        b"$12\r\n447700900001\r\n",
    );
    exchange(
        &mut s,
        &command(&["STICKY.GET", "demo", "+447400123459"]),
        b"$12\r\n447700900001\r\n",
    );
    exchange(
        &mut s,
        &command(&["STICKY.DEL", "demo", "447400123459"]),
        b":1\r\n",
    );
    exchange(
        &mut s,
        &command(&["STICKY.DEL", "demo", "447400123459"]),
        b":0\r\n",
    );
    exchange(
        &mut s,
        &command(&["STICKY.GET", "demo", "447400123459"]),
        b"$-1\r\n",
    );
    exchange(
        &mut s,
        &command(&["STICKY.GET", "nope", "447400123459"]),
        b"-NOPOOL pool 'nope' not found\r\n",
    );
    exchange(
        &mut s,
        &command(&["STICKY.DEL", "demo", "x"]),
        b"-ERR invalid recipient 'x'\r\n",
    );
    exchange(
        &mut s,
        &command(&["STICKY.GET", "demo"]),
        b"-ERR wrong number of arguments for 'sticky.get' command\r\n",
    );
}

#[test]
fn info_reports_counters() {
    let server = Numpool::start(&["--demo"]);
    let mut s = authed(&server);
    exchange(
        &mut s,
        &command(&["PICK", "demo", "447400123459"]),
        b"$12\r\n447700900001\r\n",
    );
    exchange(
        &mut s,
        &command(&["PICK", "demo", "447400123459"]),
        b"$12\r\n447700900001\r\n",
    );
    s.write_all(&command(&["INFO"])).unwrap();
    let mut header = Vec::new();
    let mut byte = [0u8; 1];
    while !header.ends_with(b"\r\n") {
        s.read_exact(&mut byte).unwrap();
        header.push(byte[0]);
    }
    let len: usize = std::str::from_utf8(&header[1..header.len() - 2])
        .unwrap()
        .parse()
        .unwrap();
    let mut body = vec![0; len + 2];
    s.read_exact(&mut body).unwrap();
    let text = String::from_utf8(body).unwrap();
    for line in [
        "pools:4",
        "sticky_entries:1",
        "picks_sticky:1",
        "picks_country:1",
        "connected_clients:1",
    ] {
        assert!(text.contains(&format!("{line}\r\n")), "{line} in {text}");
    }
    for key in [
        "version:",
        "uptime_in_seconds:",
        "pick_latency_p50_us:",
        "pick_latency_p99_us:",
        "pick_latency_p999_us:",
    ] {
        assert!(text.contains(key), "{key} in {text}");
    }
}

#[test]
fn protocol_errors_are_answered_once_then_closed() {
    let server = Numpool::start(&["--demo"]);
    let cases: [(&[u8], &[u8]); 4] = [
        (b"*1\r\n$abc\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
        (b"*1\r\n:12\r\n", b"-ERR Protocol error: expected '$', got ':'\r\n"),
        // A 1 GB argument is refused from its header, long before the bytes would arrive.
        (b"*1\r\n$1000000000\r\n", b"-ERR Protocol error: invalid bulk length: 1000000000 bytes exceed the limit of 65536\r\n"),
        (b"*2000\r\n", b"-ERR Protocol error: invalid multibulk length: 2000 arguments exceed the limit of 1024\r\n"),
    ];
    for (request, reply) in cases {
        let mut s = authed(&server);
        // A good command first: its reply still comes, then the error, then the close.
        s.write_all(&command(&["PING"])).unwrap();
        s.write_all(request).unwrap();
        let mut expected = b"+PONG\r\n".to_vec();
        expected.extend_from_slice(reply);
        assert_eq!(
            String::from_utf8_lossy(&read_to_close(&mut s)),
            String::from_utf8_lossy(&expected)
        );
    }
    // The server still serves others.
    let mut s = connect(server.resp);
    exchange(&mut s, &command(&["PING"]), b"+PONG\r\n");
}

#[test]
fn pipelined_redis_client_gets_every_reply_in_order() {
    let server = Numpool::start(&["--demo"]);
    let client =
        redis::Client::open(format!("redis://demo0001:demo-secret@{}/", server.resp)).unwrap();
    let mut con = client.get_connection().unwrap();
    let mut pipe = redis::pipe();
    let recipients: Vec<String> = (0..500).map(|i| format!("4474001{i:05}")).collect();
    for to in &recipients {
        pipe.cmd("PICK").arg("demo").arg(to);
    }
    pipe.cmd("PICK")
        .arg("demo")
        .arg("4915112349999")
        .arg("WITHREASON");
    pipe.cmd("STICKY.GET").arg("demo").arg(&recipients[0]);
    let replies: Vec<redis::Value> = pipe.query(&mut con).unwrap();
    assert_eq!(replies.len(), 502);
    let senders: Vec<String> = replies[..500]
        .iter()
        .map(|v| redis::from_redis_value(v).unwrap())
        .collect();
    assert!(
        senders.iter().all(|s| s.starts_with("4477009000")),
        "localized to GB"
    );
    let (sender, reason): (String, String) = redis::from_redis_value(&replies[500]).unwrap();
    assert!(sender.starts_with("49151"));
    assert_eq!(reason, "country");
    let mapped: String = redis::from_redis_value(&replies[501]).unwrap();
    assert_eq!(mapped, senders[0]);
    // An error reply reaches the client as the server's error, and the connection goes on.
    let err = redis::cmd("PICK")
        .arg("nope")
        .arg("447400123459")
        .query::<String>(&mut con)
        .unwrap_err();
    assert_eq!(err.code(), Some("NOPOOL"));
    // Pipelined again: every recipient is now sticky to the same sender.
    let mut again = redis::pipe();
    for to in &recipients {
        again.cmd("PICK").arg("demo").arg(to);
    }
    let second: Vec<String> = again.query(&mut con).unwrap();
    assert_eq!(second, senders);
}

#[test]
fn many_connections_at_once_agree_on_each_recipient() {
    let server = Numpool::start(&["--demo"]);
    let url = format!("redis://demo0001:demo-secret@{}/", server.resp);
    let threads: Vec<_> = (0..32)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || {
                let mut con = redis::Client::open(url).unwrap().get_connection().unwrap();
                let mut pipe = redis::pipe();
                for i in 0..50 {
                    pipe.cmd("PICK").arg("demo").arg(format!("4474001{i:05}"));
                    pipe.cmd("PICK").arg("demo").arg(format!("1212555{i:04}"));
                }
                pipe.query::<Vec<String>>(&mut con).unwrap()
            })
        })
        .collect();
    let answers: Vec<Vec<String>> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    for answer in &answers[1..] {
        assert_eq!(answer, &answers[0], "every connection saw the same senders");
    }
}

#[test]
fn sidecar_account_needs_no_auth() {
    let server = Numpool::start(&["--sidecar-account", support::KEY]);
    let mut s = connect(server.resp);
    exchange(
        &mut s,
        &command(&["PICK", "nope", "447400123459"]),
        b"-NOPOOL pool 'nope' not found\r\n",
    );
}

#[test]
fn sigterm_stops_the_server_cleanly() {
    let server = Numpool::start(&["--demo"]);
    let mut s = authed(&server);
    exchange(
        &mut s,
        &command(&["PICK", "demo", "447400123459"]),
        b"$12\r\n447700900001\r\n",
    );
    let status = server.terminate();
    assert!(status.success(), "{status:?}");
    assert!(read_to_close(&mut s).is_empty());
}

#[tokio::test]
async fn resolve_names_the_pools_whose_conversation_is_on_our_number() {
    let server = Numpool::start(&[]);
    let api = support::rest::Api::new(&server);
    const OURS: &str = "447700900001";
    const THEIRS: &str = "447400123459";
    api.own(&[OURS, "447700900002"]).await;
    for (pool, numbers) in [("a", [OURS]), ("b", [OURS]), ("c", ["447700900002"])] {
        api.create_pool(pool, serde_json::json!({})).await;
        let added = api
            .post(
                &format!("/pools/{pool}/numbers"),
                serde_json::json!({ "numbers": numbers }),
            )
            .await;
        assert!(added.status.is_success(), "{added:?}");
    }
    let mut s = support::raw::authed_as(server.resp, support::KEY, support::SECRET);
    for pool in ["a", "b", "c"] {
        s.write_all(&command(&["PICK", pool, THEIRS])).unwrap();
        read_line(&mut s);
        read_line(&mut s);
    }
    // Pools a and b hold the conversation on our number; c's is on another number.
    exchange(
        &mut s,
        &command(&["RESOLVE", OURS, &format!("+{THEIRS}")]),
        b"*2\r\n$1\r\na\r\n$1\r\nb\r\n",
    );
    exchange(
        &mut s,
        &command(&["RESOLVE", OURS, "447911000000"]),
        b"*0\r\n",
    );
    exchange(&mut s, &command(&["STICKY.DEL", "a", THEIRS]), b":1\r\n");
    exchange(
        &mut s,
        &command(&["RESOLVE", OURS, THEIRS]),
        b"*1\r\n$1\r\nb\r\n",
    );
    // A number the account does not own is in no pool: nothing, not an error.
    exchange(
        &mut s,
        &command(&["RESOLVE", "447700900999", THEIRS]),
        b"*0\r\n",
    );
    exchange(
        &mut s,
        &command(&["RESOLVE", "abc", THEIRS]),
        b"-ERR invalid sender 'abc'\r\n",
    );
    exchange(
        &mut s,
        &command(&["RESOLVE", OURS, "12"]),
        b"-ERR invalid recipient '12'\r\n",
    );
    exchange(
        &mut s,
        &command(&["RESOLVE", OURS]),
        b"-ERR wrong number of arguments for 'resolve' command\r\n",
    );
}

/// `REPORT`s pipelined among `PICK`s run without ending the run of picks; every reply still
/// comes in its request's place, errors included.
#[test]
fn reports_pipelined_among_picks_are_answered_in_place() {
    let server = Numpool::start(&["--demo"]);
    let mut s = authed(&server);
    let burst: Vec<u8> = [
        command(&["PICK", "demo", "447400100001"]),
        command(&["REPORT", "447700900001", "447400100001", "delivered"]),
        command(&["PICK", "demo", "447400100002"]),
        command(&["REPORT", "447700900001", "447400100001", "lost"]),
        command(&["REPORT", "12", "447400100001", "delivered"]),
        command(&["PICK", "demo", "447400100001"]),
        command(&[
            "REPORT",
            "447700900001",
            "447400100002",
            "failed",
            "ERRCODE",
            "2",
        ]),
    ]
    .concat();
    s.write_all(&burst).unwrap();
    let line = |s: &mut TcpStream| read_line(s).trim_end().to_owned();
    let bulk = |s: &mut TcpStream| {
        let header = line(s);
        assert!(header.starts_with('$'), "{header}");
        line(s)
    };
    let first = bulk(&mut s);
    assert_eq!(line(&mut s), "+OK");
    assert!(bulk(&mut s).starts_with("4477009000"));
    assert_eq!(
        line(&mut s),
        "-ERR unknown outcome 'lost': use delivered, failed, rejected, expired, spam or optout"
    );
    assert_eq!(line(&mut s), "-ERR invalid sender '12'");
    assert_eq!(bulk(&mut s), first, "sticky");
    assert_eq!(line(&mut s), "+OK");
    exchange(&mut s, &command(&["PING"]), b"+PONG\r\n");
}
