//! Crash tests, sled style (DESIGN §6): a real `numpool serve` under load is killed with SIGKILL
//! at a random moment, restarted on the same data directory, and checked against everything
//! acknowledged before the kill.
//!
//! `acknowledged_changes_survive_sigkill` runs REST admin load and RESP pick load at once;
//! cycles rotate over the fsync policies and share one data directory, so later cycles also
//! recover from snapshots (taken every second) and from kills that land inside a snapshot.
//! `a_number_that_left_and_came_back_keeps_no_old_mappings` removes a number and adds it back
//! (through the pool, and through the inventory) while pipelined picks are in flight (§3.2
//! rule 7: journal order must be the actors' order).
//!
//! `NUMPOOL_CRASH_CYCLES=200` runs more cycles of the first; `NUMPOOL_CRASH_SEED=<seed>` replays
//! the kill delays and operation choices of a printed seed (the interleaving of the loads is up
//! to the scheduler); `NUMPOOL_TEST_LOG=1` shows the server's log.

mod crashkit;
mod support;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crashkit::{env_u64, inventory_number, resp, start, sticky_get, Api, Kill, POLICIES};
use reqwest::Method;
use serde_json::json;

/// Kill/restart cycles of the default run, split evenly across the policies.
const DEFAULT_CYCLES: usize = 21;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_changes_survive_sigkill() {
    let cycles = env_u64("NUMPOOL_CRASH_CYCLES").map_or(DEFAULT_CYCLES, |c| c as usize);
    let data = tempfile::tempdir().expect("data dir");
    crashkit::run_cycles(data.path(), cycles, 50..1_500, Kill::Process).await;
}

/// Cycles of the ordering test: even ones remove and re-add through the pool, odd ones through
/// the inventory; the policies rotate.
const ORDER_CYCLES: u64 = 6;
/// Pick connections, and fresh recipients per pipelined batch.
const ORDER_PICKERS: u64 = 2;
const ORDER_BATCH: u64 = 64;
/// Fresh recipients one picker assigns per cycle at most.
const ORDER_FRESH: u64 = 64 * 250;
/// No periodic snapshot, so that recovery replays the whole journal in its order.
const NO_SNAPSHOT: u32 = 3_600;

/// One pipelined batch of PICKs of fresh recipients.
struct Batch {
    sent: Instant,
    /// When the replies came, and the sender of each recipient.
    answered: Option<(Instant, Vec<u64>)>,
    recipients: Vec<u64>,
}

/// §3.2 rule 7 across a crash: a recipient mapped to number X before X left its pool has no
/// conversation on X once X is back, also after a SIGKILL and recovery. The live server after
/// the re-add is the judge of which mappings were made before X left (they are gone there);
/// after the restart none of them may map to X again, and every mapping the live server held
/// after the re-add is still there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_number_that_left_and_came_back_keeps_no_old_mappings() {
    let seed = env_u64("NUMPOOL_CRASH_SEED").unwrap_or_else(|| fastrand::u64(..));
    println!("seed {seed} (NUMPOOL_CRASH_SEED={seed} replays it)");
    let mut rng = fastrand::Rng::with_seed(seed);
    let data = tempfile::tempdir().expect("data dir");
    let mut server = start(data.path(), POLICIES[0], NO_SNAPSHOT);
    let mut resurrections = Vec::new();
    for cycle in 0..ORDER_CYCLES {
        let via_inventory = cycle % 2 == 1;
        let pool = format!("order{cycle}");
        let api = Api::of(&server);
        let (x, y) = (
            inventory_number(1_000_000 + 2 * cycle),
            inventory_number(1_000_001 + 2 * cycle),
        );
        let owned =
            json!({ "numbers": [{ "number": x.to_string() }, { "number": y.to_string() }] });
        assert!(
            api.change(Method::POST, "/numbers", Some(owned), &[201])
                .await
        );
        let body = json!({ "pool_id": pool, "fallback": "Pool",
            "localized_sender_preferred": false, "predictable_sender_preferred": true });
        assert!(api.change(Method::POST, "/pools", Some(body), &[201]).await);
        let both = json!({ "numbers": [x.to_string(), y.to_string()] });
        let members = format!("/pools/{pool}/numbers");
        assert!(api.change(Method::POST, &members, Some(both), &[201]).await);

        let stop = Arc::new(AtomicBool::new(false));
        let log = Arc::new(Mutex::new(Vec::<Batch>::new()));
        let mut pickers = Vec::new();
        for picker in 0..ORDER_PICKERS {
            let first = 447_800_000_000 + cycle * 1_000_000 + picker * 500_000;
            pickers.push(tokio::spawn(fresh_picks(
                resp(&server).await,
                pool.clone(),
                first,
                log.clone(),
                stop.clone(),
            )));
        }
        tokio::time::sleep(Duration::from_millis(rng.u64(50..300))).await;

        let removal_sent = Instant::now();
        let just_x = json!({ "numbers": [x.to_string()] });
        if via_inventory {
            let path = format!("/numbers/{x}");
            assert!(api.change(Method::DELETE, &path, None, &[200]).await);
            let owned = json!({ "numbers": [{ "number": x.to_string() }] });
            assert!(
                api.change(Method::POST, "/numbers", Some(owned), &[201])
                    .await
            );
        } else {
            let path = format!("{members}/delete");
            assert!(
                api.change(Method::POST, &path, Some(just_x.clone()), &[204])
                    .await
            );
        }
        assert!(
            api.change(Method::POST, &members, Some(just_x), &[201])
                .await
        );
        let readded = Instant::now();

        // Every batch sent before the re-add was acknowledged has its answers; which of its
        // mappings to X the live server still holds says which were made after X came back.
        let deadline = Instant::now() + Duration::from_secs(20);
        while log
            .lock()
            .unwrap()
            .iter()
            .any(|b| b.sent < readded && b.answered.is_none())
        {
            assert!(
                Instant::now() < deadline,
                "picks sent before the re-add never answered"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let (old, early): (Vec<u64>, BTreeSet<u64>) = {
            let log = log.lock().unwrap();
            let mut old = Vec::new();
            let mut early = BTreeSet::new();
            for batch in log.iter().filter(|b| b.sent < readded) {
                let (at, senders) = batch.answered.as_ref().expect("answered");
                for (&to, &sender) in batch.recipients.iter().zip(senders) {
                    if sender == x {
                        old.push(to);
                        if *at < removal_sent {
                            early.insert(to);
                        }
                    }
                }
            }
            (old, early)
        };
        let mut con = resp(&server).await;
        let mut alive = BTreeSet::new();
        for chunk in old.chunks(1_000) {
            let found = sticky_get(&mut con, &pool, chunk.iter().copied()).await;
            for (&to, found) in chunk.iter().zip(found) {
                if found == Some(x) {
                    assert!(
                        !early.contains(&to),
                        "cycle {cycle}: live, {to} is still mapped to {x} after it left and came \
                         back, through a mapping acknowledged before the removal was sent"
                    );
                    alive.insert(to);
                }
            }
        }
        drop(con);

        tokio::time::sleep(Duration::from_millis(rng.u64(0..200))).await;
        crashkit::kill_under_load(server, &stop, pickers).await;

        server = start(
            data.path(),
            POLICIES[(cycle as usize + 1) % POLICIES.len()],
            NO_SNAPSHOT,
        );
        let api = Api::of(&server);
        assert_eq!(
            api.members(&pool).await,
            BTreeSet::from([x, y]),
            "cycle {cycle}: the pool's acknowledged members"
        );
        let batches = std::mem::take(&mut *log.lock().unwrap());
        let mut con = resp(&server).await;
        let mut resurrected = Vec::new();
        let mut checked = 0;
        for batch in &batches {
            let found = sticky_get(&mut con, &pool, batch.recipients.iter().copied()).await;
            for (i, (&to, found)) in batch.recipients.iter().zip(found).enumerate() {
                let Some((_, senders)) = &batch.answered else {
                    // Never answered, so sent after the re-add: any mapping is a valid one.
                    assert!(
                        found.is_none_or(|f| f == x || f == y),
                        "cycle {cycle}: {to} mapped to non-member {found:?}"
                    );
                    continue;
                };
                checked += 1;
                let sender = senders[i];
                if sender == x && batch.sent < readded && !alive.contains(&to) {
                    if found == Some(x) {
                        resurrected.push(to);
                    }
                } else {
                    assert_eq!(
                        found,
                        Some(sender),
                        "cycle {cycle}: acknowledged mapping of {to} lost or changed"
                    );
                }
            }
        }
        let via = if via_inventory {
            "via the inventory"
        } else {
            "via the pool"
        };
        if !resurrected.is_empty() {
            resurrections.push(format!(
                "cycle {cycle} ({via}): {} recipients mapped to {x} through mappings made \
                 before it left the pool (dead in the live server after the re-add), e.g. {:?}",
                resurrected.len(),
                &resurrected[..resurrected.len().min(3)]
            ));
        }
        println!(
            "cycle {cycle} ({via}): {checked} acknowledged picks, {} to {x} before the re-add, {} \
             of them made after it, {} made before it back after recovery",
            old.len(),
            alive.len(),
            resurrected.len()
        );
    }
    server.terminate();
    assert!(
        resurrections.is_empty(),
        "after recovery:\n{}",
        resurrections.join("\n")
    );
}

/// Pipelined PICKs of fresh recipients from `first` on, logged batch by batch, until the server
/// stops answering.
async fn fresh_picks(
    mut con: redis::aio::MultiplexedConnection,
    pool: String,
    first: u64,
    log: Arc<Mutex<Vec<Batch>>>,
    stop: Arc<AtomicBool>,
) {
    let mut next = first;
    while !stop.load(Ordering::SeqCst) {
        // Past its share of fresh recipients, a picker repeats its last batch (sticky hits,
        // unlogged): the picks stay in flight without growing the check.
        let fresh = next < first + ORDER_FRESH;
        if fresh {
            next += ORDER_BATCH;
        }
        let recipients: Vec<u64> = (next - ORDER_BATCH..next).collect();
        let index = fresh.then(|| {
            let mut log = log.lock().unwrap();
            log.push(Batch {
                sent: Instant::now(),
                answered: None,
                recipients: recipients.clone(),
            });
            log.len() - 1
        });
        let Some(senders) = crashkit::picks(&mut con, &pool, &recipients).await else {
            return;
        };
        if let Some(index) = index {
            log.lock().unwrap()[index].answered = Some((Instant::now(), senders));
        }
    }
}
