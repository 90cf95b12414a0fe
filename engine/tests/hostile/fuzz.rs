//! Fuzzed input against the real server, for a bounded number of cases each: random bytes and
//! mutated commands on RESP (before and after AUTH), random requests on REST. Whatever comes
//! back must be well-formed (RESP values; problems for REST errors, never a 5xx), and the
//! server must keep serving. A failing case is shrunk by proptest and printed.

use std::io::{Read, Write};
use std::net::Shutdown;
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use crate::support::raw::{command, connect, pongs, DEMO_AUTH};
use crate::support::Numpool;

/// Cases per run: enough to reach every error path of the parser, few enough for CI.
const CASES: u32 = 400;

fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    })
}

/// Commands clients send, to mutate.
fn seed_command() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(command(&["PING"])),
        Just(command(&["HELLO", "3", "AUTH", "demo0001", "demo-secret"])),
        Just(command(&["PICK", "demo", "447400123459"])),
        Just(command(&["PICK", "demo", "447400123459", "WITHINFO"])),
        Just(command(&["STICKY.GET", "demo", "447400123459"])),
        Just(command(&["STICKY.DEL", "demo", "447400123459"])),
        Just(command(&["CLIENT", "SETNAME", "fuzz"])),
        Just(command(&["INFO", "numpool"])),
        Just(command(&["COMMAND", "DOCS"])),
        Just(b"PING\r\n".to_vec()),
    ]
}

/// A mutation of `bytes`: a flipped byte, a cut, an inserted byte, a repeated prefix.
fn mutated() -> impl Strategy<Value = Vec<u8>> {
    (seed_command(), any::<usize>(), any::<u8>(), 0..4u8).prop_map(|(mut bytes, at, byte, how)| {
        let at = at % bytes.len();
        match how {
            0 => bytes[at] = byte,
            1 => bytes.truncate(at),
            2 => bytes.insert(at, byte),
            _ => {
                let prefix = bytes[..at].to_vec();
                bytes.splice(0..0, prefix);
            }
        }
        bytes
    })
}

/// One RESP payload: random bytes or a few (mutated) commands, with or without AUTH first.
fn resp_payload() -> impl Strategy<Value = (bool, Vec<u8>)> {
    let body = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..512),
        proptest::collection::vec(prop_oneof![mutated(), seed_command()], 1..6)
            .prop_map(|parts| parts.concat()),
    ];
    (any::<bool>(), body)
}

#[test]
fn fuzzed_resp_frames_get_well_formed_replies_and_the_server_keeps_serving() {
    let server = Numpool::start(&["--demo"]);
    runner()
        .run(&resp_payload(), |(auth, payload)| {
            let mut s = connect(server.resp);
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            if auth {
                s.write_all(DEMO_AUTH).unwrap();
            }
            // The server may close before taking everything: a failed write is an answer too.
            let _ = s.write_all(&payload);
            let _ = s.shutdown(Shutdown::Write);
            let mut reply = Vec::new();
            s.read_to_end(&mut reply)
                .map_err(|e| TestCaseError::fail(format!("no close: {e}")))?;
            let mut rest = &reply[..];
            let mut parser = redis::Parser::new();
            while !rest.is_empty() {
                parser.parse_value(&mut rest).map_err(|e| {
                    TestCaseError::fail(format!(
                        "malformed reply {:?}: {e}",
                        String::from_utf8_lossy(&reply)
                    ))
                })?;
            }
            Ok(())
        })
        .unwrap();
    assert!(pongs(server.resp));
}

/// One REST request: a method, a path of known and random segments, a body, and credentials
/// that are right, wrong or missing.
#[derive(Debug, Clone)]
struct Request {
    method: reqwest::Method,
    path: String,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    auth: Option<(&'static str, &'static str)>,
}

fn rest_request() -> impl Strategy<Value = Request> {
    let method = prop_oneof![
        Just(reqwest::Method::GET),
        Just(reqwest::Method::POST),
        Just(reqwest::Method::PUT),
        Just(reqwest::Method::PATCH),
        Just(reqwest::Method::DELETE),
        Just(reqwest::Method::OPTIONS),
    ];
    let segment = prop_oneof![
        Just("v2".to_owned()),
        Just("numberpools".to_owned()),
        Just("accounts".to_owned()),
        Just("demo0001".to_owned()),
        Just("pools".to_owned()),
        Just("demo".to_owned()),
        Just("numbers".to_owned()),
        Just("delete".to_owned()),
        Just("pick".to_owned()),
        Just("sticky".to_owned()),
        Just("447700900001".to_owned()),
        Just("%00".to_owned()),
        Just("..".to_owned()),
        "[a-zA-Z0-9%+._~-]{0,40}",
    ];
    let path = proptest::collection::vec(segment, 0..9).prop_map(|s| format!("/{}", s.join("/")));
    let content_type = prop_oneof![
        Just(None),
        Just(Some("application/json")),
        Just(Some("text/plain")),
        Just(Some("application/x-www-form-urlencoded")),
    ];
    let body = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..256),
        Just(br#"{"pool_id":"fz","fallback":"Reject"}"#.to_vec()),
        Just(br#"{"numbers":[{"country":"GB","msisdn":"447700900001"}]}"#.to_vec()),
        "\\{\"[a-z_]{1,12}\":(null|true|-1|1e999|\"[^\"]{0,20}\"|\\[\\]|\\{\\})\\}"
            .prop_map(String::into_bytes),
    ];
    let auth = prop_oneof![
        Just(None),
        Just(Some(("demo0001", "demo-secret"))),
        Just(Some(("demo0001", "wrong"))),
        Just(Some(("zzzz0000", "demo-secret"))),
    ];
    (method, path, content_type, body, auth).prop_map(|(method, path, content_type, body, auth)| {
        Request {
            method,
            path,
            content_type,
            body,
            auth,
        }
    })
}

#[test]
fn fuzzed_rest_requests_get_problems_never_a_5xx() {
    let server = Numpool::start(&["--demo"]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = reqwest::Client::new();
    runner()
        .run(&rest_request(), |request| {
            let url = format!("{}{}", server.base_url(), request.path);
            let mut builder = client
                .request(request.method.clone(), &url)
                .body(request.body.clone());
            if let Some(content_type) = request.content_type {
                builder = builder.header("content-type", content_type);
            }
            if let Some((key, secret)) = request.auth {
                builder = builder.basic_auth(key, Some(secret));
            }
            let (status, content_type) = rt.block_on(async {
                let reply = builder.send().await.expect("an answer");
                let status = reply.status();
                let content_type = reply
                    .headers()
                    .get("content-type")
                    .map(|v| v.to_str().unwrap_or_default().to_owned());
                let _ = reply.bytes().await;
                (status, content_type)
            });
            prop_assert!(!status.is_server_error(), "{status} for {request:?}");
            if status.is_client_error() {
                prop_assert_eq!(
                    content_type.as_deref(),
                    Some("application/problem+json"),
                    "{} for {:?}",
                    status,
                    request
                );
            }
            Ok(())
        })
        .unwrap();
    assert!(pongs(server.resp));
}
