//! Cluster mode against real servers (DESIGN §10): three `nats-server` nodes as one JetStream
//! cluster on loopback and three `numpool` sidecars joined to it.

mod support;

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use support::nats::NatsCluster;
use support::rest::Api;
use support::Numpool;

/// Three sidecars of the cluster at `urls`, each ready (caught up, `/healthz` 200).
async fn sidecars(nats: &NatsCluster) -> Vec<Numpool> {
    let urls = nats.urls();
    let sidecars: Vec<Numpool> = (0..3)
        .map(|i| {
            let member = format!("s{i}");
            Numpool::start(&["--cluster", &urls, "--cluster-member", &member])
        })
        .collect();
    for sidecar in &sidecars {
        wait_ready(sidecar).await;
    }
    sidecars
}

/// Waits until `/healthz` answers 200: caught up with the cluster.
async fn wait_ready(sidecar: &Numpool) {
    let api = Api::new(sidecar);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let health = api.get("/healthz").await;
        if health.status == StatusCode::OK {
            return;
        }
        assert!(Instant::now() < deadline, "sidecar never ready: {health:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// How long until `check` holds, polled every 5 ms; panics past `bound`, naming the caller's
/// line.
#[track_caller]
fn visible_within<F, Fut>(
    bound: Duration,
    mut check: F,
) -> impl std::future::Future<Output = Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let caller = std::panic::Location::caller();
    async move {
        let started = Instant::now();
        while !check().await {
            assert!(
                started.elapsed() < bound,
                "not visible within {bound:?} ({caller})"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        started.elapsed()
    }
}

/// `PICK pool to` for each recipient over one pipelined connection: the senders, in order.
fn pick_all(sidecar: &Numpool, pool: &str, recipients: &[String]) -> Vec<String> {
    let mut con = sidecar.sidecar();
    let mut senders = Vec::with_capacity(recipients.len());
    for chunk in recipients.chunks(100) {
        let mut pipe = redis::pipe();
        for to in chunk {
            pipe.cmd("PICK").arg(pool).arg(to);
        }
        let answers: Vec<String> = pipe.query(&mut con).expect("picks answered");
        senders.extend(answers);
    }
    senders
}

const NUMBERS: [&str; 6] = [
    "14155550101",
    "14155550102",
    "14155550103",
    "447700900101",
    "447700900102",
    "447700900103",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_sidecars_agree_on_every_first_contact_and_share_admin_changes() {
    let nats = NatsCluster::start(3);
    let sidecars = sidecars(&nats).await;
    let apis: Vec<Api> = sidecars.iter().map(Api::new).collect();

    // (b) A pool made on one sidecar is visible on the others within a stated bound. Each
    // number sends one message a second: a sidecar's choice then depends on its own meters,
    // so consistent hashing alone would not agree, and only the claims can.
    let numbers: Vec<_> = NUMBERS
        .iter()
        .map(|n| json!({ "number": n, "mps": 1, "burst": 1 }))
        .collect();
    let owned = apis[0]
        .post("/numbers", json!({ "numbers": numbers }))
        .await;
    assert!(owned.status.is_success(), "{owned:?}");
    apis[0].create_pool("shared", json!({})).await;
    let added = apis[0]
        .post("/pools/shared/numbers", json!({ "numbers": NUMBERS }))
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{added:?}");
    for api in &apis[1..] {
        let took = visible_within(Duration::from_secs(2), || async {
            let reply = api.get("/pools/shared").await;
            reply.status == StatusCode::OK && reply.body["number_count"] == 6
        })
        .await;
        println!("pool and its six numbers visible on another sidecar after {took:?}");
    }
    // A change on a second sidecar reaches the first.
    let changed = apis[1]
        .patch(
            "/pools/shared",
            json!({ "sticky_ttl_seconds": 0, "fallback": "Reject" }),
        )
        .await;
    assert!(changed.status.is_success(), "{changed:?}");
    visible_within(Duration::from_secs(2), || async {
        apis[0].get("/pools/shared").await.body["fallback"] == "Reject"
    })
    .await;
    // The same pool id made on another sidecar is the same pool: a conflict, nothing made.
    let again = apis[2]
        .post("/pools", json!({ "pool_id": "shared", "fallback": "Pool", "localized_sender_preferred": true, "predictable_sender_preferred": true }))
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{again:?}");

    // An opt-out taken on one sidecar holds on the others, and so does its lifting.
    let opted = apis[2]
        .put("/pools/shared/optouts/14156669999", json!({}))
        .await;
    assert!(opted.status.is_success(), "{opted:?}");
    let mut con0 = sidecars[0].sidecar();
    let opted_out = |con: &mut redis::Connection| {
        support::pick(con, "shared", "14156669999").is_err_and(|e| e.contains("OPTEDOUT"))
    };
    let started = Instant::now();
    while !opted_out(&mut con0) {
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "opt-out not applied"
        );
    }
    let lifted = apis[1].delete("/pools/shared/optouts/14156669999").await;
    assert!(lifted.status.is_success(), "{lifted:?}");
    while opted_out(&mut con0) {
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "opt-in not applied"
        );
    }

    // (a) 3 × 5,000 concurrent first contacts for the same recipients, one sidecar each.
    let recipients: Vec<String> = (0..5_000)
        .map(|i| {
            if i % 2 == 0 {
                format!("1415666{i:04}")
            } else {
                format!("4477009{i:05}")
            }
        })
        .collect();
    // Each sidecar sees them in its own order (a third further on each), so its meters differ.
    let answers: Vec<Vec<String>> = std::thread::scope(|scope| {
        let threads: Vec<_> = sidecars
            .iter()
            .enumerate()
            .map(|(i, sidecar)| {
                let recipients = &recipients;
                scope.spawn(move || {
                    let shift = i * recipients.len() / 3;
                    let mut order = recipients.clone();
                    order.rotate_left(shift);
                    let mut senders = pick_all(sidecar, "shared", &order);
                    senders.rotate_right(shift);
                    senders
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let disagreements = (0..recipients.len())
        .filter(|&i| answers[0][i] != answers[1][i] || answers[0][i] != answers[2][i])
        .count();
    assert_eq!(disagreements, 0, "recipients with different senders");
    // Asked again, each on another sidecar than the one that answered first: the same.
    let again: Vec<Vec<String>> = sidecars
        .iter()
        .map(|sidecar| pick_all(sidecar, "shared", &recipients))
        .collect();
    assert_eq!(again[0], answers[0]);
    assert_eq!(again[1], answers[0]);
    assert_eq!(again[2], answers[0]);
    // Every sender is a pool number in the recipient's country (the pool is localized).
    for (to, sender) in recipients.iter().zip(&answers[0]) {
        assert_eq!(
            to[..2] == *"14",
            sender.starts_with("1415555"),
            "{to} → {sender}"
        );
    }
    // Each sidecar shows its cluster state; none refused a change or lost an answer.
    for api in &apis {
        let metrics = reqwest::get(api.url("/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(metrics.contains("numpool_cluster_ready 1"), "{metrics}");
        assert!(
            metrics.contains("numpool_cluster_unavailable_total 0"),
            "{metrics}"
        );
    }
}

/// Polls `PICK pool to` on `con` until it answers `expected` (or any sender, for `None`);
/// panics past `bound`. What it answered.
fn pick_until(
    con: &mut redis::Connection,
    pool: &str,
    to: &str,
    expected: Option<&str>,
    bound: Duration,
) -> String {
    let started = Instant::now();
    loop {
        match support::pick(con, pool, to) {
            Ok(sender) if expected.is_none_or(|e| e == sender) => return sender,
            other => assert!(
                started.elapsed() < bound,
                "PICK {pool} {to}: {other:?} after {bound:?}"
            ),
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn without_jetstream_hits_are_served_and_the_rest_is_asked_to_retry() {
    let mut nats = NatsCluster::start(3);
    let sidecars = sidecars(&nats).await;
    let api = Api::new(&sidecars[0]);
    api.seed_pool("p", json!({}), &NUMBERS).await;
    visible_within(Duration::from_secs(2), || async {
        Api::new(&sidecars[1]).get("/pools/p").await.body["number_count"] == 6
    })
    .await;
    let known = "14156660001";
    let mut con = sidecars[1].sidecar();
    let sender = support::pick(&mut con, "p", known).expect("first contact");

    // (f) Every JetStream node stalled: a sticky hit is still answered, from the cache.
    for i in 0..3 {
        nats.signal(i, "-STOP");
    }
    assert_eq!(
        support::pick(&mut con, "p", known).as_deref(),
        Ok(sender.as_str())
    );
    let mut con0 = sidecars[0].sidecar();
    pick_until(&mut con0, "p", known, Some(&sender), Duration::from_secs(5));
    // A new conversation, and an admin change, are asked to retry; nothing is made.
    let new = support::pick(&mut con, "p", "14156669999").unwrap_err();
    // The redis crate names the `-TRYAGAIN` code `TryAgain`: a retryable error to it too.
    assert!(
        new.contains("TryAgain: the cluster is unavailable"),
        "{new}"
    );
    let create = api
        .post("/pools", json!({ "pool_id": "later", "fallback": "Pool", "localized_sender_preferred": true, "predictable_sender_preferred": true }))
        .await;
    assert_eq!(create.status, StatusCode::SERVICE_UNAVAILABLE, "{create:?}");
    assert_eq!(create.headers["retry-after"], "1");
    assert_eq!(
        create.body["type"]
            .as_str()
            .map(|t| t.ends_with("#cluster-unavailable")),
        Some(true)
    );

    for i in 0..3 {
        nats.signal(i, "-CONT");
    }
    // Once JetStream answers again, the same requests succeed, and agree everywhere.
    let resumed = Instant::now();
    let answered = pick_until(&mut con, "p", "14156669999", None, Duration::from_secs(30));
    println!(
        "new conversations answered again {:?} after SIGCONT",
        resumed.elapsed()
    );
    assert_eq!(support::pick(&mut con0, "p", "14156669999"), Ok(answered));
    assert_eq!(api.get("/pools/later").await.status, StatusCode::NOT_FOUND);
}

/// The sticky bucket's stream: where claims are decided.
const STICKY_STREAM: &str = "KV_NUMPOOL_numpool_STICKY";

/// One answered pick of a load run: the recipient's index, the sender, when it was answered.
struct Answered {
    /// Index into the run's recipients.
    index: usize,
    /// The sender.
    sender: String,
    /// When the answer arrived.
    at: Instant,
}

/// What one load thread saw: answers, refused picks and when.
#[derive(Default)]
struct LoadRun {
    /// Every pick answered with a sender.
    answered: Vec<Answered>,
    /// When each refused pick (`TRYAGAIN`, or a connection error) came back.
    refused: Vec<Instant>,
}

/// First contacts on `sidecar` until `stop`: recipients `0..`, starting at `offset`, in
/// pipelined batches of 20; a refused batch is counted and the next one sent.
fn first_contacts(
    sidecar: &Numpool,
    recipients: &[String],
    offset: usize,
    stop: &std::sync::atomic::AtomicBool,
) -> LoadRun {
    let mut run = LoadRun::default();
    let mut con = sidecar.sidecar();
    let mut next = offset;
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        let batch: Vec<usize> = (next..next + 20).map(|i| i % recipients.len()).collect();
        next += 20;
        let mut pipe = redis::pipe();
        for &i in &batch {
            pipe.cmd("PICK").arg("load").arg(&recipients[i]);
        }
        let answers: Vec<redis::Value> = match pipe.query(&mut con) {
            Ok(answers) => answers,
            Err(_) => {
                run.refused.push(Instant::now());
                continue;
            }
        };
        let at = Instant::now();
        for (index, answer) in batch.into_iter().zip(answers) {
            match answer {
                redis::Value::BulkString(bytes) => run.answered.push(Answered {
                    index,
                    sender: String::from_utf8(bytes).unwrap(),
                    at,
                }),
                _ => run.refused.push(at),
            }
        }
    }
    run
}

/// Runs first contacts through every sidecar for `before`, then `fault`, then `after`; checks
/// that every answered recipient has one sender on every sidecar, asked again, and returns how
/// long after the fault new conversations were answered again.
async fn under_load(
    sidecars: &[Numpool],
    before: Duration,
    after: Duration,
    fault: impl FnOnce(),
) -> Duration {
    let recipients: Vec<String> = (0..30_000).map(|i| format!("1415777{i:04}")).collect();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let mut faulted = Instant::now();
    let runs: Vec<LoadRun> = std::thread::scope(|scope| {
        let threads: Vec<_> = sidecars
            .iter()
            .enumerate()
            // The same recipients on every sidecar, a little apart, so that claims race.
            .map(|(i, sidecar)| {
                let (recipients, stop) = (&recipients, &stop);
                scope.spawn(move || first_contacts(sidecar, recipients, i * 7, stop))
            })
            .collect();
        std::thread::sleep(before);
        faulted = Instant::now();
        fault();
        std::thread::sleep(after);
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let mut first: std::collections::BTreeMap<usize, String> = Default::default();
    let mut disagreements = 0;
    for answer in runs.iter().flat_map(|r| &r.answered) {
        let sender = first
            .entry(answer.index)
            .or_insert_with(|| answer.sender.clone());
        disagreements += usize::from(*sender != answer.sender);
    }
    assert_eq!(
        disagreements, 0,
        "answers with another sender than the recipient's first"
    );
    let refused: usize = runs.iter().map(|r| r.refused.len()).sum();
    let answered: usize = runs.iter().map(|r| r.answered.len()).sum();
    // Nothing acknowledged is lost: every answered recipient, asked again on every sidecar,
    // gets the sender it was first answered.
    let asked: Vec<String> = first.keys().map(|&i| recipients[i].clone()).collect();
    for sidecar in sidecars {
        let again = pick_all_in(sidecar, "load", &asked);
        let lost = first.values().zip(&again).filter(|(a, b)| a != b).count();
        assert_eq!(lost, 0, "acknowledged senders not kept");
    }
    let resumed = runs
        .iter()
        .filter_map(|run| {
            run.answered
                .iter()
                .find(|a| a.at > faulted && run.refused.iter().all(|r| *r < a.at))
        })
        .map(|a| a.at - faulted)
        .max()
        .unwrap_or_else(|| {
            let after = |at: &[Instant]| {
                let late: Vec<_> = at.iter().filter(|t| **t > faulted).collect();
                let last = late.iter().max().map(|t| **t - faulted);
                format!("{} after the fault, the last {last:?} after it", late.len())
            };
            let seen: Vec<String> = runs
                .iter()
                .map(|run| {
                    let answered: Vec<Instant> = run.answered.iter().map(|a| a.at).collect();
                    format!(
                        "answered {}; refused {}",
                        after(&answered),
                        after(&run.refused)
                    )
                })
                .collect();
            panic!("no new conversation answered after the fault and its refusals: {seen:?}")
        });
    println!(
        "{answered} picks answered, {refused} refused, {} recipients; new conversations answered again {resumed:?} after the fault",
        first.len()
    );
    resumed
}

/// [`pick_all`] for a pool named `pool`, retrying a refused batch (the cluster may still be
/// electing a leader right after a fault).
fn pick_all_in(sidecar: &Numpool, pool: &str, recipients: &[String]) -> Vec<String> {
    let mut con = sidecar.sidecar();
    let mut senders = Vec::with_capacity(recipients.len());
    for chunk in recipients.chunks(100) {
        let started = Instant::now();
        loop {
            let mut pipe = redis::pipe();
            for to in chunk {
                pipe.cmd("PICK").arg(pool).arg(to);
            }
            match pipe.query::<Vec<String>>(&mut con) {
                Ok(answers) => {
                    senders.extend(answers);
                    break;
                }
                Err(err) => assert!(started.elapsed() < Duration::from_secs(30), "{err}"),
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    senders
}

/// Three NATS nodes, three sidecars, and a pool `load` of the six numbers, visible everywhere.
async fn loaded_cluster() -> (NatsCluster, Vec<Numpool>) {
    let nats = NatsCluster::start(3);
    let sidecars = sidecars(&nats).await;
    Api::new(&sidecars[0])
        .seed_pool("load", json!({}), &NUMBERS)
        .await;
    for sidecar in &sidecars[1..] {
        let api = Api::new(sidecar);
        visible_within(Duration::from_secs(2), || async {
            api.get("/pools/load").await.body["number_count"] == 6
        })
        .await;
    }
    (nats, sidecars)
}

/// A loaded cluster whose node leading the sticky bucket gets `signal` 1 s into first-contact
/// load from every sidecar, checked by [`under_load`]; that node, and how long after the
/// signal new conversations were answered again.
async fn fault_the_sticky_leader(signal: &str) -> (NatsCluster, Vec<Numpool>, usize, Duration) {
    let (mut nats, sidecars) = loaded_cluster().await;
    let leader = nats
        .stream_leader(STICKY_STREAM, 0)
        .expect("the sticky bucket has a leader");
    // A stalled leader is noticed by missed heartbeats: resuming took 6–10.4 s in runs here,
    // so the load goes on for twice that.
    let resumed = under_load(
        &sidecars,
        Duration::from_secs(1),
        Duration::from_secs(20),
        || nats.signal(leader, signal),
    )
    .await;
    (nats, sidecars, leader, resumed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killing_the_jetstream_leader_under_load_loses_nothing_and_picks_resume() {
    // (c) SIGKILL of the node leading the sticky bucket.
    let (nats, _sidecars, leader, resumed) = fault_the_sticky_leader("-KILL").await;
    println!("leader n{leader} killed: picks resumed after {resumed:?}");
    let live = (leader + 1) % 3;
    let new_leader = nats
        .stream_leader(STICKY_STREAM, live)
        .expect("a new leader");
    assert_ne!(new_leader, leader);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stalled_nats_node_holds_nothing_up_for_long_and_loses_nothing() {
    // (e) SIGSTOP of the leading node: a peer that stops answering without closing anything.
    let (mut nats, sidecars, leader, resumed) = fault_the_sticky_leader("-STOP").await;
    println!("leader n{leader} stalled: picks resumed after {resumed:?}");
    nats.signal(leader, "-CONT");
    // Back, it catches up as a follower; the cluster still answers as one.
    let again = pick_all_in(&sidecars[0], "load", &["14157770001".to_owned()]);
    assert_eq!(
        pick_all_in(&sidecars[2], "load", &["14157770001".to_owned()]),
        again
    );
}

/// What the others do while a sidecar is down: `447700900103` leaves pool `load` (through
/// `api`), and `sidecar` makes the conversations of recipients `range`; those recipients and
/// their senders.
async fn while_one_is_down(
    api: &Api,
    sidecar: &Numpool,
    range: std::ops::Range<usize>,
) -> (Vec<String>, Vec<String>) {
    let removed = api
        .post(
            "/pools/load/numbers/delete",
            json!({ "numbers": ["447700900103"] }),
        )
        .await;
    assert!(removed.status.is_success(), "{removed:?}");
    // The removal is acknowledged once the sidecar that took it has applied it; `sidecar`
    // applies it a moment later, and a first contact it answered before that (with the number
    // removed) would be re-picked by every sidecar once applied.
    let on_sidecar = Api::new(sidecar);
    visible_within(Duration::from_secs(2), || async {
        on_sidecar.get("/pools/load").await.body["number_count"] == 5
    })
    .await;
    let recipients: Vec<String> = range.map(|i| format!("4477009{i:05}")).collect();
    let senders = pick_all_in(sidecar, "load", &recipients);
    (recipients, senders)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_sidecar_catches_up_on_restart_and_agrees() {
    let (_nats, mut sidecars) = loaded_cluster().await;
    let recipients: Vec<String> = (0..500).map(|i| format!("4477009{i:05}")).collect();
    let before = pick_all_in(&sidecars[1], "load", &recipients);
    // (d) SIGKILL of a sidecar; meanwhile the others change the pool and make conversations.
    sidecars[2].crash();
    let api = Api::new(&sidecars[0]);
    let (later, made_while_down) = while_one_is_down(&api, &sidecars[1], 500..1_000).await;
    sidecars[2].start_again();
    let restarted = Instant::now();
    wait_ready(&sidecars[2]).await;
    println!("restarted sidecar ready after {:?}", restarted.elapsed());
    let restarted_api = Api::new(&sidecars[2]);
    assert_eq!(
        restarted_api.get("/pools/load").await.body["number_count"],
        5
    );
    // Every conversation, made before or while it was down, has the same sender there.
    let on_restarted = pick_all_in(&sidecars[2], "load", &later);
    assert_eq!(on_restarted, made_while_down);
    let again = pick_all_in(&sidecars[2], "load", &recipients);
    let on_first = pick_all_in(&sidecars[0], "load", &recipients);
    assert_eq!(again, on_first);
    // Those on the number that left moved; the rest kept theirs.
    for (old, new) in before.iter().zip(&again) {
        if old != "447700900103" {
            assert_eq!(old, new);
        }
    }
}

/// A cluster figure from `INFO` (a `cluster_*` line of `# Numpool`).
fn info_figure(sidecar: &Numpool, name: &str) -> u64 {
    let info: String = redis::cmd("INFO").query(&mut sidecar.sidecar()).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':')?.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} not in INFO"))
}

/// Pool `p{i}` made through `api` with one PATCH after it: two admin records each.
async fn pools_made(api: &Api, range: std::ops::Range<usize>) {
    for i in range {
        let made = api
            .post("/pools", json!({ "pool_id": format!("p{i}"), "fallback": "Pool", "localized_sender_preferred": true, "predictable_sender_preferred": true }))
            .await;
        assert!(made.status.is_success(), "{made:?}");
        let changed = api
            .patch(&format!("/pools/p{i}"), json!({ "fallback": "Reject" }))
            .await;
        assert!(changed.status.is_success(), "{changed:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_restarted_sidecar_resumes_from_the_checkpoint_in_its_data_directory() {
    let (nats, sidecars) = loaded_cluster().await;
    // A fourth sidecar with a data directory, checkpointing every second.
    let urls = nats.urls();
    let args = [
        "--cluster",
        &urls,
        "--cluster-member",
        "s3",
        "--data-dir",
        "checkpoints",
    ];
    let mut durable = Numpool::start(&[&args[..], &["--snapshot-interval-seconds", "1"]].concat());
    wait_ready(&durable).await;
    let api = Api::new(&sidecars[0]);
    pools_made(&api, 0..10).await;
    // A setting only the cluster's records carry: the checkpoint must keep it too.
    api.create_pool("lp", json!({ "cluster_unavailable": "local" }))
        .await;
    let recipients: Vec<String> = (0..300).map(|i| format!("4477009{i:05}")).collect();
    let before = pick_all_in(&durable, "load", &recipients);
    let end = info_figure(&sidecars[0], "cluster_applied");
    visible_within(Duration::from_secs(10), || async {
        info_figure(&durable, "cluster_checkpointed") >= end
    })
    .await;
    let checkpointed = info_figure(&durable, "cluster_checkpointed");
    // SIGKILL: no final checkpoint. Meanwhile more changes and conversations elsewhere.
    durable.crash();
    pools_made(&api, 10..15).await;
    let (later, made_while_down) = while_one_is_down(&api, &sidecars[1], 300..600).await;
    let end = info_figure(&sidecars[0], "cluster_applied");
    durable.start_again();
    wait_ready(&durable).await;
    // It replayed only what came after its checkpoint, and agrees on everything.
    assert_eq!(info_figure(&durable, "cluster_resumed_from"), checkpointed);
    assert!(checkpointed > 20, "checkpoint at {checkpointed}");
    assert_eq!(
        info_figure(&durable, "cluster_replayed"),
        end - checkpointed
    );
    let durable_api = Api::new(&durable);
    for i in 0..15 {
        let pool = durable_api.get(&format!("/pools/p{i}")).await;
        assert_eq!(pool.body["fallback"], "Reject", "p{i}: {pool:?}");
    }
    assert_eq!(durable_api.get("/pools/load").await.body["number_count"], 5);
    let local = durable_api.get("/pools/lp").await;
    assert_eq!(local.body["cluster_unavailable"], "local", "{local:?}");
    assert_eq!(pick_all_in(&durable, "load", &later), made_while_down);
    let again = pick_all_in(&durable, "load", &recipients);
    for (old, new) in before.iter().zip(&again) {
        if old != "447700900103" {
            assert_eq!(old, new);
        }
    }
    // An admin change through it finds the account's last record where it expects it.
    pools_made(&durable_api, 15..16).await;
    // SIGTERM writes a last checkpoint: the next start replays nothing.
    let end = info_figure(&durable, "cluster_applied");
    durable.restart();
    wait_ready(&durable).await;
    assert_eq!(info_figure(&durable, "cluster_resumed_from"), end);
    assert_eq!(info_figure(&durable, "cluster_replayed"), 0);
    // Each account's last record came from the checkpoint alone: a change still goes through,
    // and reaches the others (a third life of the same member id publishes anew).
    pools_made(&Api::new(&durable), 16..17).await;
    visible_within(Duration::from_secs(2), || async {
        api.get("/pools/p16").await.body["fallback"] == "Reject"
    })
    .await;
    // An account added to the configuration since the checkpoint was written: the
    // checkpoint is not used, since the account's records up to it would never be applied.
    let config = std::fs::read_to_string(durable.config()).expect("config");
    let added = "[[accounts]]\napi_key = \"late0001\"\napi_secret = \"late-secret\"\n";
    std::fs::write(durable.config(), format!("{config}\n{added}")).expect("config");
    durable.restart();
    wait_ready(&durable).await;
    assert_eq!(info_figure(&durable, "cluster_resumed_from"), 0);
    let durable_api = Api::new(&durable);
    assert_eq!(
        durable_api.get("/pools/p16").await.body["fallback"],
        "Reject"
    );
    let local = durable_api.get("/pools/lp").await;
    assert_eq!(local.body["cluster_unavailable"], "local", "{local:?}");
    // Its directory is for sidecars of this cluster only.
    durable.refused_beside(
        &["--data-dir", "checkpoints"],
        "holds the checkpoints of a sidecar of cluster \"numpool\": start it with --cluster",
    );
    durable.refused_beside(
        &[&args[..2], &["--cluster-name", "west"], &args[4..]].concat(),
        "holds the checkpoints of cluster \"numpool\", not of \"west\"",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_conversation_in_use_outlives_its_ttl_in_the_bucket_and_an_idle_one_expires() {
    let nats = NatsCluster::start(3);
    let sidecars = sidecars(&nats).await;
    let settings = json!({ "sticky_ttl_seconds": 4 });
    Api::new(&sidecars[0])
        .seed_pool("ttl", settings, &NUMBERS)
        .await;
    for sidecar in &sidecars[1..] {
        let api = Api::new(sidecar);
        visible_within(Duration::from_secs(2), || async {
            api.get("/pools/ttl").await.body["number_count"] == 6
        })
        .await;
    }
    let (used, idle) = ("447700900555".to_owned(), "447700900556".to_owned());
    let first = pick_all_in(&sidecars[0], "ttl", &[used.clone(), idle.clone()]);
    let api = Api::new(&sidecars[0]);
    let since = api.get(&format!("/pools/ttl/sticky/{used}")).await.body["since"].clone();
    // 10 s of use on one sidecar, two and a half TTLs: the bucket's key is written again.
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        assert_eq!(
            pick_all_in(&sidecars[0], "ttl", std::slice::from_ref(&used)),
            first[..1]
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let held = api.get(&format!("/pools/ttl/sticky/{used}")).await;
    assert_eq!(
        held.body["since"], since,
        "the conversation was made again: {held:?}"
    );
    assert!(metric(&sidecars[0], "numpool_cluster_sticky_refreshed_total").await >= 2);
    // Another sidecar, whose copy expired with its own last use, still finds the same sender.
    assert_eq!(
        pick_all_in(&sidecars[2], "ttl", std::slice::from_ref(&used)),
        first[..1]
    );
    // The idle one expired everywhere (its marker reached every table).
    for sidecar in &sidecars {
        let gone = Api::new(sidecar)
            .get(&format!("/pools/ttl/sticky/{idle}"))
            .await;
        assert_eq!(gone.status, StatusCode::NOT_FOUND, "{gone:?}");
    }
    // Unused, the other expires too: no sidecar keeps writing it for another.
    tokio::time::sleep(Duration::from_secs(8)).await;
    let refreshed: Vec<u64> = {
        let mut all = Vec::new();
        for sidecar in &sidecars {
            all.push(metric(sidecar, "numpool_cluster_sticky_refreshed_total").await);
        }
        all
    };
    tokio::time::sleep(Duration::from_secs(3)).await;
    for (sidecar, before) in sidecars.iter().zip(&refreshed) {
        let now = metric(sidecar, "numpool_cluster_sticky_refreshed_total").await;
        assert_eq!(now, *before, "still refreshed");
        let gone = Api::new(sidecar)
            .get(&format!("/pools/ttl/sticky/{used}"))
            .await;
        assert_eq!(gone.status, StatusCode::NOT_FOUND, "{gone:?}");
    }
}

/// `loadgen run` over `targets` (RESP addresses) with `extra` flags, its `results.json`.
async fn loadgen(targets: &[&Numpool], extra: &[&str]) -> serde_json::Value {
    use clap::Parser;
    let out = tempfile::tempdir().unwrap();
    let targets: Vec<String> = targets.iter().map(|s| s.resp.to_string()).collect();
    let targets = targets.join(",");
    let out_dir = out.path().to_str().unwrap();
    let mut args = vec![
        "loadgen",
        "run",
        "--targets",
        &targets,
        "--auth",
        support::KEY,
        support::SECRET,
        "--pool",
        "lg",
        "--connections",
        "6",
        "--pipeline",
        "8",
        "--max",
        "--duration",
        "2s",
        "--warmup",
        "500ms",
        "--recipients",
        "3000",
        "--quiet",
        "--out",
        out_dir,
    ];
    args.extend_from_slice(extra);
    let cli = numpool_loadgen::cli::Cli::try_parse_from(args).expect("loadgen flags");
    let run = match cli.command {
        Some(numpool_loadgen::cli::Command::Run(run)) => *run,
        _ => unreachable!("a run"),
    };
    numpool_loadgen::app::run_command(run)
        .await
        .expect("loadgen run");
    let results = std::fs::read_to_string(out.path().join("results.json")).unwrap();
    serde_json::from_str(&results).unwrap()
}

/// The picks a sidecar answered, from its `/metrics`.
async fn picks_answered(sidecar: &Numpool) -> u64 {
    let api = Api::new(sidecar);
    let metrics = reqwest::get(api.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    metrics
        .lines()
        .filter(|l| l.starts_with("numpool_picks_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn loadgen_spreads_over_the_sidecars_and_reasks_on_each() {
    let nats = NatsCluster::start(3);
    let sidecars = sidecars(&nats).await;
    let http = format!("http://{}", sidecars[0].http);
    let results = loadgen(
        &sidecars.iter().collect::<Vec<_>>(),
        &["--seed-pool", "--http", &http, "--numbers", "60"],
    )
    .await;
    assert_eq!(results["error_total"], 0, "{results}");
    assert_eq!(results["recheck"]["recipients"], 2000, "{results}");
    assert_eq!(results["recheck"]["disagreements"], 0, "{results}");
    assert_eq!(results["config"]["targets"].as_array().unwrap().len(), 3);
    for sidecar in &sidecars {
        assert!(
            picks_answered(sidecar).await > 1_000,
            "every sidecar took its share"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn loadgen_counts_the_disagreements_of_sidecars_that_share_nothing() {
    // Two single-process servers, each with its own numbers in pool `lg`: every recipient
    // gets a different sender from each, and the recheck must say so.
    let alone: Vec<Numpool> = (0..2).map(|_| Numpool::start(&["--in-memory"])).collect();
    for (server, numbers) in alone.iter().zip([["14155550101"], ["14155550102"]]) {
        let api = Api::new(server);
        api.seed_pool(
            "lg",
            json!({ "localized_sender_preferred": false }),
            &numbers,
        )
        .await;
    }
    let results = loadgen(&alone.iter().collect::<Vec<_>>(), &["--countries", "US"]).await;
    assert_eq!(results["recheck"]["recipients"], 2000, "{results}");
    assert_eq!(results["recheck"]["disagreements"], 2000, "{results}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn receipts_taken_by_one_sidecar_count_in_the_health_every_sidecar_computes() {
    let nats = NatsCluster::start(3);
    let sidecars = sidecars(&nats).await;
    let api = Api::new(&sidecars[0]);
    api.seed_pool(
        "health",
        json!({ "skip_unhealthy": true }),
        &["14155550101", "14155550102"],
    )
    .await;
    // A conversation on the number about to fail.
    let mut con = sidecars[0].sidecar();
    let talker = (0..100)
        .map(|i| format!("1415777{i:04}"))
        .find(|to| support::pick(&mut con, "health", to).unwrap() == "14155550101")
        .expect("some recipient maps to the first number");
    // 25 sender failures of one number, reported to the first sidecar (err-code 8: the
    // sender's fault), and one delivery of the other, reported to the second.
    for i in 0..25 {
        let _: () = redis::cmd("REPORT")
            .arg("14155550101")
            .arg(format!("1415888{i:04}"))
            .arg("failed")
            .arg("ERRCODE")
            .arg(8)
            .query(&mut con)
            .expect("receipt counted");
    }
    let _: () = redis::cmd("REPORT")
        .arg("14155550102")
        .arg("14158880000")
        .arg("delivered")
        .query(&mut sidecars[1].sidecar())
        .expect("receipt counted");
    // Every sidecar sees both numbers' receipts and the same state.
    for sidecar in &sidecars {
        let api = Api::new(sidecar);
        let took = visible_within(Duration::from_secs(2), || async {
            let bad = api.get("/numbers/14155550101").await.body;
            let good = api.get("/numbers/14155550102").await.body;
            bad["health"]["receipts"] == 25
                && bad["health"]["state"] == "unhealthy"
                && good["health"]["receipts"] == 1
        })
        .await;
        println!("receipts counted on a sidecar after {took:?}");
        // And its picks shun the unhealthy number, as the pool asks: the conversation on it
        // moves (every sidecar to the same number), and new ones avoid it.
        let mut con = sidecar.sidecar();
        assert_eq!(
            support::pick(&mut con, "health", &talker).unwrap(),
            "14155550102"
        );
        for i in 0..20 {
            let to = format!("1415999{i:04}");
            assert_eq!(
                support::pick(&mut con, "health", &to).unwrap(),
                "14155550102"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_numbers_rate_is_split_among_the_live_sidecars() {
    let nats = NatsCluster::start(3);
    let sidecars = sidecars(&nats).await;
    for sidecar in &sidecars {
        visible_within(Duration::from_secs(30), || async {
            let url = Api::new(sidecar).url("/metrics");
            let metrics = reqwest::get(url).await.unwrap().text().await.unwrap();
            metrics.contains("numpool_cluster_members 3")
        })
        .await;
    }
    // One number, one message a second across the cluster: a third of one on each sidecar.
    let api = Api::new(&sidecars[0]);
    let owned = api
        .post(
            "/numbers",
            json!({ "numbers": [{ "number": "14155550101", "mps": 1, "burst": 1 }] }),
        )
        .await;
    assert!(owned.status.is_success(), "{owned:?}");
    api.create_pool("rate", json!({})).await;
    let added = api
        .post("/pools/rate/numbers", json!({ "numbers": ["14155550101"] }))
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{added:?}");
    let mut con = sidecars[1].sidecar();
    let wait = |con: &mut redis::Connection, to: &str| -> i64 {
        let info: Vec<redis::Value> = redis::cmd("PICK")
            .arg("rate")
            .arg(to)
            .arg("WITHINFO")
            .query(con)
            .expect("pick");
        match info.last() {
            Some(redis::Value::Int(ms)) => *ms,
            other => panic!("wait_ms: {other:?}"),
        }
    };
    pick_until(
        &mut con,
        "rate",
        "14156660001",
        None,
        Duration::from_secs(2),
    );
    let second = wait(&mut con, "14156660002");
    // 1 mps alone would book the second message 1 s later; a third of it, 3 s.
    assert!(
        (2_500..=3_000).contains(&second),
        "second message waits {second} ms"
    );
}

/// A sidecar's figure `name` from its `/metrics`.
async fn metric(sidecar: &Numpool, name: &str) -> u64 {
    let url = Api::new(sidecar).url("/metrics");
    let metrics = reqwest::get(url).await.unwrap().text().await.unwrap();
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("{name} not in /metrics"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_pool_that_answers_locally_during_an_outage_reconciles_after_it() {
    let mut nats = NatsCluster::start(3);
    let sidecars = sidecars(&nats).await;
    for sidecar in &sidecars {
        visible_within(Duration::from_secs(30), || async {
            metric(sidecar, "numpool_cluster_members").await == 3
        })
        .await;
    }
    // Two numbers, one message a second each across the cluster (a third on each sidecar).
    let api = Api::new(&sidecars[0]);
    let (a, b) = ("14155550101", "14155550102");
    let numbers = json!({ "numbers": [
        { "number": a, "mps": 1, "burst": 1 },
        { "number": b, "mps": 1, "burst": 1 },
    ] });
    assert!(api.post("/numbers", numbers).await.status.is_success());
    let created = api
        .create_pool("lp", json!({ "cluster_unavailable": "local" }))
        .await;
    assert_eq!(created["cluster_unavailable"], "local");
    let added = api
        .post("/pools/lp/numbers", json!({ "numbers": [a, b] }))
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{added:?}");
    // A conversation on each number, committed before the outage.
    let mut cons: Vec<redis::Connection> = sidecars.iter().map(|s| s.sidecar()).collect();
    let mut on = std::collections::BTreeMap::new();
    for i in 0..100 {
        let to = format!("1415777{i:04}");
        let sender = pick_until(&mut cons[0], "lp", &to, None, Duration::from_secs(2));
        on.entry(sender).or_insert(to);
        if on.len() == 2 {
            break;
        }
    }
    for con in &mut cons[1..] {
        for (sender, to) in &on {
            pick_until(con, "lp", to, Some(sender), Duration::from_secs(2));
        }
    }
    std::thread::sleep(Duration::from_secs(4)); // every meter free again

    for i in 0..3 {
        nats.signal(i, "-STOP");
    }
    // During the outage a new recipient is answered locally on two sidecars, differently: the
    // third picks its hashed choice; the second, with that number just charged by a sticky
    // hit, the other one.
    let fresh = "14156661234";
    let third = support::pick(&mut cons[2], "lp", fresh).expect("answered locally");
    let busy_one = &on[&third];
    support::pick(&mut cons[1], "lp", busy_one).expect("a sticky hit, from the cache");
    let second = support::pick(&mut cons[1], "lp", fresh).expect("answered locally");
    assert_ne!(second, third, "the second sidecar's choice differs");
    let refused = api.post("/pools", json!({ "pool_id": "x", "fallback": "Pool", "localized_sender_preferred": true, "predictable_sender_preferred": true })).await;
    assert_eq!(
        refused.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "admin changes still wait"
    );

    for i in 0..3 {
        nats.signal(i, "-CONT");
    }
    // Reconciled: one claim won, the other sidecar adopted it, and counted the conflict.
    let started = Instant::now();
    loop {
        let answers: Vec<String> = cons
            .iter_mut()
            .map(|con| support::pick(con, "lp", fresh).unwrap_or_default())
            .collect();
        if answers.iter().all(|s| *s == answers[0] && !s.is_empty()) {
            assert!([&second, &third].contains(&&answers[0]));
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{answers:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    println!("reconciled {:?} after SIGCONT", started.elapsed());
    // Each sidecar counts its own reconciliation when its claim comes back (the watch may
    // have made the answers agree first).
    let counted = || async {
        let (mut reconciled, mut conflicts) = (0, 0);
        for sidecar in &sidecars {
            reconciled += metric(sidecar, "numpool_cluster_reconciled_total").await;
            conflicts += metric(sidecar, "numpool_cluster_reconcile_conflicts_total").await;
        }
        (reconciled, conflicts)
    };
    // At least the two local answers are reconciled, and the loser's is a conflict. The third
    // sidecar may have answered its own first pick locally too, in the moment after SIGCONT
    // before the cluster had its quorum back: that is reconciled as well.
    let started = Instant::now();
    loop {
        let counts = counted().await;
        if counts.0 >= 2 && counts.1 >= 1 && counts.0 > counts.1 {
            break;
        }
        // (reconciled, conflicts) summed over the sidecars, for the failure message.
        assert!(started.elapsed() < Duration::from_secs(30), "{counts:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn single_node_refuses_the_cluster_only_setting_and_changes_nothing() {
    let alone = Numpool::start(&["--in-memory"]);
    let api = Api::new(&alone);
    let body = json!({ "pool_id": "p", "fallback": "Pool", "localized_sender_preferred": true,
        "predictable_sender_preferred": true, "cluster_unavailable": "local" });
    let refused = api.post("/pools", body).await;
    refused.problem(400, "validation");
    assert_eq!(refused.invalid_names(), ["cluster_unavailable"]);
    assert_eq!(api.get("/pools/p").await.status, StatusCode::NOT_FOUND);
    api.create_pool("p", json!({})).await;
    let refused = api
        .patch("/pools/p", json!({ "cluster_unavailable": "retry" }))
        .await;
    assert_eq!(refused.invalid_names(), ["cluster_unavailable"]);
    let pool = api.get("/pools/p").await.body;
    assert!(
        pool.get("cluster_unavailable").is_none(),
        "single-node shows no cluster setting"
    );
    // Settings of a cluster without its urls: refused at start, rather than ignored.
    alone.refused_beside(
        &["--in-memory", "--cluster-tls-ca", "ca.pem"],
        "tls_ca given without the cluster's urls",
    );
}

/// A sidecar `member` of `nats` that compacts the admin log every 10 records.
fn compacting(nats: &NatsCluster, member: &str, extra: &[&str]) -> Numpool {
    let urls = nats.urls();
    let args = ["--cluster", &urls, "--cluster-member", member];
    Numpool::start(&[&args[..], &["--cluster-compact-every", "10"], extra].concat())
}

/// Three NATS nodes and three sidecars compacting every 10 records, ready.
async fn compacting_cluster() -> (NatsCluster, Vec<Numpool>) {
    let nats = NatsCluster::start(3);
    let sidecars: Vec<Numpool> = (0..3)
        .map(|i| compacting(&nats, &format!("s{i}"), &[]))
        .collect();
    for sidecar in &sidecars {
        wait_ready(sidecar).await;
    }
    (nats, sidecars)
}

/// What each of `sidecars` says of INFO's `name`, added up.
fn info_total(sidecars: &[&Numpool], name: &str) -> u64 {
    sidecars.iter().map(|s| info_figure(s, name)).sum()
}

/// What a sidecar that took the account from its image must hold: every pool `p{i}` of
/// `pools` changed, the `local` pool still local, the pool with numbers and its opt-out.
async fn holds_the_account(sidecar: &Numpool, pools: std::ops::Range<usize>) {
    let api = Api::new(sidecar);
    for i in pools {
        let pool = api.get(&format!("/pools/p{i}")).await;
        assert_eq!(pool.body["fallback"], "Reject", "p{i}: {pool:?}");
    }
    let local = api.get("/pools/lp").await;
    assert_eq!(local.body["cluster_unavailable"], "local", "{local:?}");
    assert_eq!(api.get("/pools/kept").await.body["number_count"], 6);
    let opted = api.get("/pools/kept/optouts/14156669999").await;
    assert_eq!(opted.status, StatusCode::OK, "{opted:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_admin_log_is_compacted_and_a_sidecar_without_its_records_starts_from_the_images() {
    let (nats, sidecars) = compacting_cluster().await;
    // A sidecar with a data directory, checkpointing every second.
    let durable_args = [
        "--data-dir",
        "checkpoints",
        "--snapshot-interval-seconds",
        "1",
    ];
    let mut durable = compacting(&nats, "s3", &durable_args);
    wait_ready(&durable).await;
    let api = Api::new(&sidecars[0]);
    api.seed_pool("kept", json!({}), &NUMBERS).await;
    api.create_pool("lp", json!({ "cluster_unavailable": "local" }))
        .await;
    let opted = api.put("/pools/kept/optouts/14156669999", json!({})).await;
    assert!(opted.status.is_success(), "{opted:?}");
    let recipients: Vec<String> = (0..50).map(|i| format!("4477009{i:05}")).collect();
    let senders = pick_all_in(&sidecars[0], "kept", &recipients);
    let end = info_figure(&sidecars[0], "cluster_applied");
    visible_within(Duration::from_secs(10), || async {
        info_figure(&durable, "cluster_checkpointed") >= end
    })
    .await;
    durable.crash();
    // 40 records more, through two sidecars: compactions at the multiples of 10, each
    // purging below the image before it.
    pools_made(&api, 0..10).await;
    pools_made(&Api::new(&sidecars[1]), 10..20).await;
    let all: Vec<&Numpool> = sidecars.iter().collect();
    visible_within(Duration::from_secs(10), || async {
        info_total(&all, "cluster_compacted") > 0 && info_total(&all, "cluster_compactions") >= 3
    })
    .await;
    let purged = info_total(&all, "cluster_compacted");
    let end = info_figure(&sidecars[0], "cluster_applied");
    assert!(end >= 45 && purged >= 10, "log end {end}, purged {purged}");

    // A new sidecar, without a data directory: the account from its image, then only the
    // records the log still holds (a compaction still finishing may purge more meanwhile).
    let fresh = compacting(&nats, "s4", &[]);
    wait_ready(&fresh).await;
    assert_eq!(info_figure(&fresh, "cluster_from_images"), 1);
    let replayed = info_figure(&fresh, "cluster_replayed");
    let purged_since = info_total(&all, "cluster_compacted");
    assert!(
        (end - purged_since..=end - purged).contains(&replayed),
        "replayed {replayed} of {end}, {purged}..{purged_since} purged"
    );
    holds_the_account(&fresh, 0..20).await;
    assert_eq!(pick_all_in(&fresh, "kept", &recipients), senders);
    // Its next change expects the account's last record where the log has it.
    pools_made(&Api::new(&fresh), 20..21).await;
    visible_within(Duration::from_secs(2), || async {
        api.get("/pools/p20").await.body["fallback"] == "Reject"
    })
    .await;

    // The durable sidecar's checkpoint is older than the image: it takes the account from
    // the image too, and agrees.
    durable.start_again();
    wait_ready(&durable).await;
    assert_eq!(info_figure(&durable, "cluster_from_images"), 1);
    assert!(info_figure(&durable, "cluster_resumed_from") < end);
    holds_the_account(&durable, 0..21).await;
    assert_eq!(pick_all_in(&durable, "kept", &recipients), senders);
}

/// A cluster whose fourth sidecar (`s3`, with a data directory) checkpointed two pools made
/// elsewhere and was then killed, with a JetStream client of its own to alter the admin log.
struct DownSidecar {
    /// The NATS nodes.
    _nats: NatsCluster,
    /// The three sidecars still up.
    sidecars: Vec<Numpool>,
    /// The one killed, to run again beside its directory.
    durable: Numpool,
    /// Its arguments.
    args: Vec<String>,
    /// A JetStream client.
    js: async_nats::jetstream::Context,
}

impl DownSidecar {
    async fn start() -> DownSidecar {
        let nats = NatsCluster::start(3);
        let sidecars = sidecars(&nats).await;
        let urls = nats.urls();
        let args: Vec<String> = ["--cluster", &urls, "--cluster-member", "s3"]
            .into_iter()
            .chain(["--data-dir", "checkpoints"])
            .map(str::to_owned)
            .collect();
        let args_ref: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut durable =
            Numpool::start(&[&args_ref[..], &["--snapshot-interval-seconds", "1"]].concat());
        wait_ready(&durable).await;
        pools_made(&Api::new(&sidecars[0]), 0..2).await;
        let end = info_figure(&sidecars[0], "cluster_applied");
        visible_within(Duration::from_secs(10), || async {
            info_figure(&durable, "cluster_checkpointed") >= end
        })
        .await;
        durable.crash();
        let client = async_nats::connect(urls.split(',').next().unwrap())
            .await
            .expect("NATS");
        DownSidecar {
            _nats: nats,
            sidecars,
            durable,
            args,
            js: async_nats::jetstream::new(client),
        }
    }

    /// The admin log's subject of the test account.
    fn subject() -> String {
        format!(
            "numpool.numpool.admin.account.{}",
            numpool_cluster::token(support::KEY)
        )
    }

    /// Runs the killed sidecar again: it must exit with an error saying `says`.
    fn refuses_to_restart(&self, says: &str) {
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        self.durable.refused_beside(&args, says);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sidecar_missing_records_its_next_one_follows_stops_instead_of_serving() {
    let down = DownSidecar::start().await;
    pools_made(&Api::new(&down.sidecars[0]), 2..5).await;
    // The account's records below its last purged, as a compaction whose image the sidecar
    // never saw would have purged them.
    let last = info_figure(&down.sidecars[0], "cluster_applied");
    let admin = down
        .js
        .get_stream("NUMPOOL_numpool_ADMIN")
        .await
        .expect("admin stream");
    let purged = admin
        .purge()
        .filter(DownSidecar::subject())
        .sequence(last)
        .await
        .expect("purge");
    assert!(purged.purged >= 6, "{purged:?}");
    // Restarted, it finds that the log's next record of the account follows one it never
    // applied: it stops, saying so, rather than serve pools the others have and it has not.
    down.refuses_to_restart("was compacted past what this sidecar had applied");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_record_a_sidecar_cannot_decode_stops_it_instead_of_being_skipped() {
    let down = DownSidecar::start().await;
    let end = info_figure(&down.sidecars[0], "cluster_applied");
    // A record of the account as a newer numpool might write it: the account's id, then a
    // record this version does not know, following the account's last.
    let mut payload =
        bincode::encode_to_vec(support::KEY.to_owned(), bincode::config::standard()).unwrap();
    payload.extend_from_slice(&[0xfe, 0xff, 0xff, 0xff]);
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("Numpool-Follows", end.to_string().as_str());
    down.js
        .publish_with_headers(DownSidecar::subject(), headers, payload.into())
        .await
        .expect("publish")
        .await
        .expect("stored");
    // Restarted, it reaches the record and stops, saying why, rather than skip a change the
    // others may have applied.
    down.refuses_to_restart("does not decode: it was written by another");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_running_sidecar_left_behind_by_the_compactions_stops_and_restarted_takes_the_images() {
    let (nats, sidecars) = compacting_cluster().await;
    let mut behind = compacting(&nats, "s3", &[]);
    wait_ready(&behind).await;
    let api = Api::new(&sidecars[0]);
    pools_made(&api, 0..2).await;
    visible_within(Duration::from_secs(10), || async {
        Api::new(&behind).get("/pools/p1").await.body["fallback"] == "Reject"
    })
    .await;

    // Stopped, it can have been sent no more than its ordered consumer had asked for: one
    // pull of 500 records, and a second once 250 of a pull are left, so 750 at most. More
    // records go past it, through another sidecar, until the compactions (every 10) have
    // purged 900 of them below the image before theirs.
    behind.signal("-STOP");
    let all: Vec<&Numpool> = sidecars.iter().collect();
    let mut made = 2;
    while info_total(&all, "cluster_compacted") < 900 {
        let purged = info_total(&all, "cluster_compacted");
        assert!(made < 1500, "{made} pools made, {purged} records purged");
        pools_made(&api, made..made + 10).await;
        made += 10;
    }

    // Running again, it reaches a record following one it never applied: it stops, with
    // the error status and saying why, rather than serve an account missing what the others
    // hold.
    behind.signal("-CONT");
    let stopped = behind.exited_within(Duration::from_secs(60)).await;
    assert_eq!(stopped.and_then(|s| s.code()), Some(1), "{stopped:?}");
    // (The log is copied from its pipe by a thread, which may be a moment behind the exit.)
    visible_within(Duration::from_secs(5), || async {
        behind
            .log()
            .contains("was compacted past what this sidecar had applied")
    })
    .await;

    // Restarted (what a supervisor does on that status), it takes the account from its
    // image, and agrees.
    behind.start_again();
    wait_ready(&behind).await;
    assert_eq!(info_figure(&behind, "cluster_from_images"), 1);
    let restarted = Api::new(&behind);
    for i in [0, 1, made / 2, made - 1] {
        let pool = restarted.get(&format!("/pools/p{i}")).await;
        assert_eq!(pool.body["fallback"], "Reject", "p{i}: {pool:?}");
    }
    pools_made(&restarted, made..made + 1).await;
    visible_within(Duration::from_secs(2), || async {
        api.get(&format!("/pools/p{made}")).await.body["fallback"] == "Reject"
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn chunks_no_image_names_are_purged_once_left_alone_and_the_images_stay() {
    let nats = NatsCluster::start(3);
    let sidecar = compacting(&nats, "s0", &[]);
    wait_ready(&sidecar).await;
    // Two compactions: an image replaced once, so its old chunks went with the put.
    pools_made(&Api::new(&sidecar), 0..10).await;
    visible_within(Duration::from_secs(10), || async {
        info_figure(&sidecar, "cluster_compactions") >= 2
    })
    .await;
    let urls = nats.urls().split(',').map(str::to_owned).collect();
    let cluster = numpool_cluster::Cluster::connect(numpool_cluster::ClusterConfig::new(urls))
        .await
        .expect("cluster");
    let topic = format!("account.{}", numpool_cluster::token(support::KEY));
    let (seq, image) = cluster.images.get(&topic).await.unwrap().expect("image");
    // What a put cut short leaves: chunks under an id no image names.
    let client = async_nats::connect(nats.urls().split(',').next().unwrap())
        .await
        .expect("NATS");
    let js = async_nats::jetstream::new(client);
    let orphan = |id: &str| format!("$O.NUMPOOL_numpool_IMAGES.C.{id}");
    let cut_short = |id: &'static str| {
        let js = js.clone();
        async move {
            let publish = js.publish(orphan(id), vec![7u8; 1000].into()).await;
            publish.expect("publish").await.expect("stored");
        }
    };
    cut_short("old").await;

    // Young, each may be a put under way elsewhere: kept. Older by the age than the store's
    // last write: purged, and only it.
    let images = &cluster.images;
    let swept = |age: u64| async move { images.sweep(Duration::from_secs(age)).await.unwrap() };
    assert_eq!(swept(3600).await, 0);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    cut_short("young").await;
    assert_eq!(swept(1).await, 1);
    let stream = js.get_stream("OBJ_NUMPOOL_numpool_IMAGES").await.unwrap();
    let last = |id: &'static str| {
        let stream = stream.clone();
        async move { stream.get_last_raw_message_by_subject(&orphan(id)).await }
    };
    assert!(last("old").await.is_err());
    assert!(last("young").await.is_ok());
    assert_eq!(images.get(&topic).await.unwrap(), Some((seq, image)));
    // With no age, the image's own chunks (older than any write here) stay: they are named.
    // The young one is the store's last write itself.
    assert_eq!(swept(0).await, 0);
    assert_eq!(
        images.get(&topic).await.unwrap().map(|(seq, _)| seq),
        Some(seq)
    );
}

/// A CA, a certificate it signs for the servers on 127.0.0.1 and one for a client, made with
/// `openssl` in `dir` (`ca.pem`, `server.pem` + `server.key`, `client.pem` + `client.key`).
fn certificates(dir: &std::path::Path) {
    let openssl = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .current_dir(dir)
            .args(args)
            .output()
            .expect("openssl");
        assert!(out.status.success(), "openssl {args:?}: {out:?}");
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let ca = [
        "req", "-x509", "-days", "2", "-keyout", "ca.key", "-out", "ca.pem",
    ];
    let ca_subject = ["-subj", "/CN=numpool test CA"];
    openssl(
        &[
            &ca[..],
            &ec,
            &ca_subject,
            &["-addext", "basicConstraints=critical,CA:TRUE"],
        ]
        .concat(),
    );
    std::fs::write(dir.join("server.ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    std::fs::write(dir.join("client.ext"), "extendedKeyUsage=clientAuth\n").unwrap();
    for name in ["server", "client"] {
        let (key, csr, pem, ext) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.pem"),
            format!("{name}.ext"),
        );
        let subject = format!("/CN=numpool test {name}");
        openssl(
            &[
                &["req", "-keyout", &key, "-out", &csr, "-subj", &subject][..],
                &ec,
            ]
            .concat(),
        );
        openssl(&[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-out",
            &pem,
            "-extfile",
            &ext,
        ]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn over_tls_a_sidecar_with_its_client_certificate_joins_and_one_without_is_refused() {
    let certs = tempfile::tempdir().expect("temp dir");
    certificates(certs.path());
    let path = |name: &str| certs.path().join(name).display().to_string();
    // Servers that speak only TLS to clients and ask each for a certificate the CA signed.
    let tls = format!(
        "tls {{ cert_file: \"{}\", key_file: \"{}\", ca_file: \"{}\", verify: true }}",
        path("server.pem"),
        path("server.key"),
        path("ca.pem")
    );
    let nats = NatsCluster::start_with(3, &tls);
    let urls = nats.urls().replace("nats://", "tls://");
    let (ca, cert, key) = (path("ca.pem"), path("client.pem"), path("client.key"));
    let cluster = ["--cluster", &urls, "--cluster-tls-ca", &ca];
    let certified = |member: &'static str| {
        let client = ["--cluster-tls-cert", &cert, "--cluster-tls-key", &key];
        Numpool::start(&[&cluster[..], &["--cluster-member", member], &client].concat())
    };
    let (sidecar, other) = (certified("s0"), certified("s2"));
    wait_ready(&sidecar).await;
    wait_ready(&other).await;
    // Admin changes and first contacts go through JetStream, over TLS: the pool made on one
    // sidecar is on the other, which answers each recipient's sender as claimed.
    Api::new(&sidecar)
        .seed_pool("tls", json!({}), &NUMBERS)
        .await;
    let recipients: Vec<String> = (0..20).map(|i| format!("1415666{i:04}")).collect();
    let senders = pick_all_in(&sidecar, "tls", &recipients);
    assert!(
        senders.iter().all(|s| NUMBERS.contains(&s.as_str())),
        "{senders:?}"
    );
    visible_within(Duration::from_secs(5), || async {
        Api::new(&other).get("/pools/tls").await.body["number_count"] == 6
    })
    .await;
    assert_eq!(pick_all_in(&other, "tls", &recipients), senders);

    // Without a client certificate the servers close its connections: it never joins, and
    // gives up when joining does (30 s), with the error status.
    let without = [&cluster[..], &["--cluster-member", "s1"]].concat();
    let limit = Duration::from_secs(60);
    let (out, _) = tokio::task::block_in_place(|| sidecar.serve_beside_within(&without, limit));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("the cluster is unavailable"), "{stderr}");
    // Files that are not there, or do not hold what their setting names, are configuration
    // errors, said at once and naming the setting.
    let refused = |flags: &[&str], says: &str| {
        sidecar.refused_beside(&[&cluster[..2], flags].concat(), says);
    };
    let missing = path("absent.key");
    let tls_key = "client key (tls_key, --cluster-tls-key)";
    refused(
        &["--cluster-tls-cert", &cert, "--cluster-tls-key", &missing],
        tls_key,
    );
    refused(
        &["--cluster-tls-cert", &cert, "--cluster-tls-key", &cert],
        tls_key,
    );
    let no_certificate = "CA file (tls_ca, --cluster-tls-ca)";
    refused(&["--cluster-tls-ca", &key], no_certificate);
}
