//! Against a real `redis-server` (CI installs it; the test fails if it is missing): the Lua peer
//! of DESIGN §8 P3 (`benches/peers/pick.lua`) picks like numpool for a predictable localized pool,
//! `loadgen --mode evalsha` drives it without errors, and `--spawn` starts, waits for and kills a
//! server (a stand-in script that runs redis-server with numpool's flags).

mod common;

use common::config;
use numpool_loadgen::client::{connect, ConnConfig};
use numpool_loadgen::countries::{mix_recipient, parse_mix};
use numpool_loadgen::resp::Reply;
use numpool_loadgen::run::run;
use numpool_loadgen::schedule::Pace;
use numpool_loadgen::seed;
use numpool_loadgen::workload::{Mode, Workload};
use redis::Value;
use std::collections::HashSet;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

/// A redis-server on a free loopback port, killed on drop.
struct Redis {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

async fn start_redis() -> Redis {
    let addr = free_addr();
    let child = Command::new("redis-server")
        .args(["--port", &addr.port().to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server must be installed (apt-get install redis-server)");
    let redis = Redis { child, addr };
    for _ in 0..100 {
        if let Ok(mut c) = connect(&cfg(addr)).await {
            if c.request(
                &redis::cmd("PING").get_packed_command(),
                Duration::from_secs(1),
            )
            .await
            .is_ok()
            {
                return redis;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("redis-server did not come up on {addr}");
}

fn cfg(addr: SocketAddr) -> ConnConfig {
    ConnConfig {
        addr: addr.to_string(),
        auth: None,
        pipeline: 1,
        timeout: Duration::from_secs(5),
    }
}

async fn call(addr: SocketAddr, cmd: &redis::Cmd) -> Reply {
    let mut c = connect(&cfg(addr)).await.unwrap();
    c.request(&cmd.get_packed_command(), Duration::from_secs(5))
        .await
        .unwrap()
}

fn text(reply: &Reply) -> String {
    match reply {
        Reply::Value(Value::BulkString(b)) => String::from_utf8(b.clone()).unwrap(),
        Reply::Value(Value::SimpleString(s)) => s.clone(),
        other => panic!("not a string reply: {other:?}"),
    }
}

const SCRIPT: &str = include_str!("../../benches/peers/pick.lua");

async fn load_script(addr: SocketAddr) -> String {
    text(&call(addr, redis::cmd("SCRIPT").arg("LOAD").arg(SCRIPT)).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pick_lua_is_localized_sticky_and_deterministic() {
    let redis = start_redis().await;
    let addr = redis.addr;
    let mix = parse_mix("GB,US,DE,FR").unwrap();
    let numbers = seed::inventory(&mix, 200, None);
    assert_eq!(
        seed::seed_redis(&addr.to_string(), "p1", &numbers)
            .await
            .unwrap(),
        400
    );
    let sha = load_script(addr).await;
    let pick = |to: String| {
        let sha = sha.clone();
        async move {
            call(
                addr,
                redis::cmd("EVALSHA").arg(&sha).arg(0).arg("p1").arg(to),
            )
            .await
        }
    };
    let country_of: std::collections::HashMap<&str, &str> = numbers
        .iter()
        .map(|n| (n.number.as_str(), n.country))
        .collect();

    // Localized: every recipient gets a sender of its own country; and sticky.
    for i in 0..40 {
        let to = mix_recipient(&mix, i);
        let sender = text(&pick(to.clone()).await);
        let expected = mix[(i % 4) as usize].iso;
        assert_eq!(
            country_of.get(sender.as_str()),
            Some(&expected),
            "{to} -> {sender}"
        );
        assert_eq!(text(&pick(to.clone()).await), sender, "sticky for {to}");
        assert_eq!(
            text(&pick(format!("+{to}")).await),
            sender,
            "leading + ignored"
        );
        let mapped = call(addr, redis::cmd("HGET").arg("pool:p1:sticky").arg(&to)).await;
        assert_eq!(text(&mapped), sender, "mapping recorded");
    }
    // Deterministic: forgetting the mappings gives the same choices again.
    let before: Vec<String> = futures_join(&pick, &mix).await;
    call(addr, redis::cmd("DEL").arg("pool:p1:sticky")).await;
    assert_eq!(futures_join(&pick, &mix).await, before);
    // Spread: 200 recipients of one country do not all land on one number.
    assert!(before.iter().collect::<HashSet<_>>().len() > 10);

    // An existing mapping wins over the hash.
    call(
        addr,
        redis::cmd("HSET")
            .arg("pool:p1:sticky")
            .arg("447400000777")
            .arg("X1"),
    )
    .await;
    assert_eq!(text(&pick("447400000777".into()).await), "X1");
    // A country without numbers falls back to any pool number (Canada: NANP area 416).
    let ca = text(&pick("14162000001".into()).await);
    assert!(country_of.contains_key(ca.as_str()), "{ca}");
    // Invalid recipients and unknown pools are errors like numpool's.
    for bad in ["12", "abc4567890", "9991234567"] {
        match pick(bad.into()).await {
            Reply::Error { code, .. } => assert_eq!(code, "ERR", "{bad}"),
            other => panic!("{bad}: {other:?}"),
        }
    }
    match call(
        addr,
        redis::cmd("EVALSHA")
            .arg(&sha)
            .arg(0)
            .arg("nope")
            .arg("447400000001"),
    )
    .await
    {
        Reply::Error { code, .. } => assert_eq!(code, "NOPOOL"),
        other => panic!("{other:?}"),
    }
}

/// Picks for the first 200 recipients, in order.
async fn futures_join<F, Fut>(pick: &F, mix: &[numpool_loadgen::countries::Country]) -> Vec<String>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Reply>,
{
    let mut out = Vec::new();
    for i in 0..200 {
        out.push(text(&pick(mix_recipient(mix, i)).await));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loadgen_drives_the_lua_peer_and_plain_ping() {
    let redis = start_redis().await;
    let mix = parse_mix("GB,US,DE,FR").unwrap();
    seed::seed_redis(
        &redis.addr.to_string(),
        "bench",
        &seed::inventory(&mix, 400, None),
    )
    .await
    .unwrap();
    let sha = load_script(redis.addr).await;
    let mode = Mode::EvalSha {
        sha,
        pool: "bench".into(),
    };
    let workload = Arc::new(Workload::new(&mode, &mix, 2_000, 1.0).unwrap());
    let cfg = config(
        redis.addr,
        None,
        2,
        8,
        Pace::Max,
        Duration::from_millis(100),
        Duration::from_millis(400),
    );
    let out = run(&cfg, workload).await.unwrap();
    assert!(out.counts.ok > 100, "{:?}", out.counts);
    assert_eq!(out.counts.error_total(), 0, "{:?}", out.counts);
    // Every recipient picked is now mapped, and no more than the recipients exist.
    let mapped = call(redis.addr, redis::cmd("HLEN").arg("pool:bench:sticky")).await;
    let Reply::Value(Value::Int(mapped)) = mapped else {
        panic!("{mapped:?}")
    };
    assert!(mapped > 0 && mapped <= 2_000, "{mapped}");

    let ping = Arc::new(Workload::new(&Mode::Ping, &mix, 1, 1.0).unwrap());
    let cfg = config(
        redis.addr,
        None,
        1,
        4,
        Pace::Rate(500.0),
        Duration::ZERO,
        Duration::from_millis(400),
    );
    let out = run(&cfg, ping).await.unwrap();
    assert_eq!(out.counts.ok, 200, "{:?}", out.counts);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawn_passes_numpools_flags_waits_for_ping_and_kills() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("numpool");
    let args_file = dir.path().join("args");
    // Stand-in for numpool: records its arguments and serves RESP on the --resp port.
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\necho \"$@\" > {}\nwhile [ $# -gt 0 ]; do [ \"$1\" = --resp ] && resp=$2; shift; done\n\
             exec redis-server --port \"${{resp##*:}}\" --bind 127.0.0.1 --save '' --appendonly no >/dev/null\n",
            args_file.display()
        ),
    )
    .unwrap();
    Command::new("chmod").arg("+x").arg(&fake).status().unwrap();

    let spawned = numpool_loadgen::spawn::spawn(&fake, Duration::from_secs(10))
        .await
        .unwrap();
    let resp = spawned.resp;
    let args = std::fs::read_to_string(&args_file).unwrap();
    let words: Vec<&str> = args.split_whitespace().collect();
    assert_eq!(&words[..3], ["serve", "--demo", "--data-dir"]);
    assert!(
        std::path::Path::new(words[3]).is_dir(),
        "data dir exists while running"
    );
    assert_eq!(
        &words[4..],
        [
            "--resp",
            &resp.to_string(),
            "--http",
            &spawned.http.to_string()
        ]
    );
    assert_eq!(text(&call(resp, &redis::cmd("PING")).await), "PONG");

    spawned.stop().await;
    assert!(!std::path::Path::new(words[3]).exists(), "data dir removed");
    assert!(connect(&cfg(resp)).await.is_err(), "server is gone");
}
