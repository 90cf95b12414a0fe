//! What the crash tests share (DESIGN §6): a real `numpool serve` under REST admin load and
//! pipelined RESP pick load at once, a model of what it acknowledged, kill/restart cycles and the
//! checks after each restart. `crash.rs` kills with SIGKILL only (the page cache survives, so
//! nothing acknowledged may be lost under any policy); `power_loss.rs` also drops every
//! un-fsynced byte (LazyFS) and checks what each fsync policy promises; `storage_faults.rs` uses
//! the REST and raw RESP clients.
#![allow(dead_code)] // each test crate uses a different part

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Range;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::{Numpool, KEY, SECRET};
use redis::aio::MultiplexedConnection;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// The fsync policies the cycles rotate over.
pub const POLICIES: [&str; 3] = ["always", "everysec", "no"];
/// The predictable pool the pick load runs against.
const STICKY: &str = "sticky";
/// Numbers the sticky pool starts with; removals stop at `STICKY_MIN` so picks never fail.
const STICKY_START: u64 = 40;
const STICKY_MIN: usize = 10;
/// Concurrent pick connections, and picks per pipelined batch.
const PICKERS: u64 = 2;
const PICK_BATCH: usize = 16;
/// New recipients one picker assigns per cycle at most; beyond them it only repeats known ones,
/// which bounds the check's work in long runs. One pick in `NEW_ONE_IN` is new, so new
/// assignments spread over the cycle rather than all coming first.
const NEW_PER_CYCLE: u64 = 600;
const NEW_ONE_IN: u32 = 6;
/// Under `everysec`, a power loss may lose the mappings acknowledged this long before it.
const EVERYSEC_WINDOW: Duration = Duration::from_secs(2);

/// What the server acknowledged (and what was attempted but not acknowledged, which the
/// checks must not rely on either way).
#[derive(Default)]
struct Model {
    /// Inventory numbers whose upsert was acknowledged (the load never releases numbers).
    inventory: BTreeSet<u64>,
    /// The next fresh inventory number.
    next_number: u64,
    /// Pools by id; ids are never reused, so a pool whose creation went unacknowledged is
    /// simply never used again.
    pools: BTreeMap<String, PoolModel>,
    /// The next pool's number.
    next_pool: u64,
    /// Recipient → the sender its last acknowledged PICK returned (sticky pool), and when the
    /// mapping to that sender was first acknowledged.
    sticky: HashMap<u64, (u64, Instant)>,
    /// Recipients of PICKs whose reply never came: any mapping they have must still be valid.
    unacknowledged: BTreeSet<u64>,
    /// Sticky-pool numbers a removal was sent for: their recipients may rightly move.
    sticky_removal_sent: BTreeSet<u64>,
    /// When the last acknowledged admin change was sent. Admin changes are fsynced before
    /// their reply under every policy, and that fsync covers every journal record written
    /// before it: every mapping acknowledged before this instant is on disk.
    last_change_sent: Option<Instant>,
}

/// One pool as acknowledged.
#[derive(Default)]
struct PoolModel {
    /// The deletion was acknowledged: the pool must be gone.
    deleted: bool,
    /// A deletion was sent without an answer: it may or may not exist.
    maybe_deleted: bool,
    /// Numbers it must hold (acknowledged adds with no removal sent since).
    has: BTreeSet<u64>,
    /// Numbers it must not hold (acknowledged removals with no add sent since).
    lacks: BTreeSet<u64>,
}

impl PoolModel {
    fn usable(&self) -> bool {
        !self.deleted && !self.maybe_deleted
    }

    /// Before a membership change is sent: until it is answered, these numbers are unknown.
    fn unsettle(&mut self, numbers: &[u64]) {
        for n in numbers {
            self.has.remove(n);
            self.lacks.remove(n);
        }
    }
}

/// How the cycles end.
pub enum Kill<'a> {
    /// SIGKILL: the process dies, the kernel's page cache survives.
    Process,
    /// SIGKILL, then this drops every byte not fsynced (a power loss).
    PowerLoss(&'a dyn Fn()),
}

/// Runs `cycles` kill/restart cycles on the data directory `data` under mixed admin and pick
/// load, rotating over the fsync policies, and checks after each restart what the policy
/// promises for the kind of kill. `NUMPOOL_CRASH_SEED=<seed>` replays the kill delays and
/// operation choices of a printed seed (the interleaving of the loads is up to the scheduler).
pub async fn run_cycles(data: &Path, cycles: usize, kill_delay_ms: Range<u64>, kill: Kill<'_>) {
    let seed = env_u64("NUMPOOL_CRASH_SEED").unwrap_or_else(|| fastrand::u64(..));
    println!("{cycles} cycles, seed {seed} (NUMPOOL_CRASH_SEED={seed} replays it)");
    let mut rng = fastrand::Rng::with_seed(seed);
    let model = Arc::new(Mutex::new(Model::default()));

    let mut server = start(data, POLICIES[0], 1);
    seed_sticky_pool(&Api::new(&server, &model), &model).await;
    for cycle in 0..cycles {
        let policy = POLICIES[cycle % POLICIES.len()];
        let delay = rng.u64(kill_delay_ms.clone());
        println!("cycle {cycle}: --fsync {policy}, SIGKILL after {delay} ms");
        let started = Instant::now();
        let stop = Arc::new(AtomicBool::new(false));
        let mut loads = vec![tokio::spawn(admin_load(
            Api::new(&server, &model),
            model.clone(),
            stop.clone(),
            rng.u64(..),
        ))];
        for picker in 0..PICKERS {
            let first = recipient_base(cycle as u64, picker);
            loads.push(tokio::spawn(pick_load(
                resp(&server).await,
                model.clone(),
                stop.clone(),
                first,
                rng.u64(..),
            )));
        }
        tokio::time::sleep(Duration::from_millis(delay)).await;
        let killed = Instant::now();
        kill_under_load(server, &stop, loads).await;
        // Mappings acknowledged from this instant on may be gone after the restart.
        let may_lose_from = match (&kill, policy) {
            (Kill::Process, _) | (Kill::PowerLoss(_), "always") => None,
            (Kill::PowerLoss(power_loss), policy) => {
                power_loss();
                Some(if policy == "everysec" {
                    killed.checked_sub(EVERYSEC_WINDOW).unwrap_or(started)
                } else {
                    // `no`: what the last acknowledged admin change's fsync covered.
                    model.lock().unwrap().last_change_sent.unwrap_or(started)
                })
            }
        };

        server = start(data, POLICIES[(cycle + 1) % POLICIES.len()], 1);
        // Out of the mutex for the check, which awaits; the loads are done.
        let mut acknowledged = std::mem::take(&mut *model.lock().unwrap());
        let lost = check(&server, &mut acknowledged, cycle, may_lose_from).await;
        println!(
            "  restarted: {} numbers, {} pools, {} mappings acknowledged so far, all there{}",
            acknowledged.inventory.len(),
            acknowledged.pools.len(),
            acknowledged.sticky.len(),
            if may_lose_from.is_some() {
                format!(" but {lost} from the unsynced tail")
            } else {
                String::new()
            }
        );
        *model.lock().unwrap() = acknowledged;
    }
    server.terminate();
}

/// SIGKILLs `server` (which must still be running), then stops the load tasks and waits for them.
pub async fn kill_under_load(
    server: Numpool,
    stop: &AtomicBool,
    loads: Vec<tokio::task::JoinHandle<()>>,
) {
    let status = server.kill();
    assert_eq!(
        status.signal(),
        Some(9),
        "numpool died before the kill: {status}"
    );
    stop.store(true, Ordering::SeqCst);
    for load in loads {
        load.await.expect("load task");
    }
}

pub fn env_u64(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    Some(
        value
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be an integer")),
    )
}

/// `numpool serve` on the data directory `data` with `--fsync policy`, a snapshot every
/// `snapshot_seconds`.
pub fn start(data: &Path, policy: &str, snapshot_seconds: u32) -> Numpool {
    let data = data.to_str().expect("utf-8 temp path");
    Numpool::start(&[
        "--data-dir",
        data,
        "--fsync",
        policy,
        "--snapshot-interval-seconds",
        &snapshot_seconds.to_string(),
    ])
}

/// GB mobile recipients, a distinct range per cycle and picker.
fn recipient_base(cycle: u64, picker: u64) -> u64 {
    447_900_000_000 + (cycle * PICKERS + picker) * NEW_PER_CYCLE
}

/// The `i`-th fresh inventory number (GB).
pub fn inventory_number(i: u64) -> u64 {
    447_700_000_000 + i
}

/// The REST API as the test account.
pub struct Api {
    client: reqwest::Client,
    base: String,
    /// Where the send instant of each acknowledged change goes, if anywhere.
    model: Option<Arc<Mutex<Model>>>,
}

impl Api {
    /// Records the send instant of each acknowledged change in `model`.
    fn new(server: &Numpool, model: &Arc<Mutex<Model>>) -> Api {
        Api {
            model: Some(model.clone()),
            ..Api::of(server)
        }
    }

    /// The REST API of `server`.
    pub fn of(server: &Numpool) -> Api {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("http client");
        Api {
            client,
            base: format!("{}/v2/numberpools/accounts/{KEY}", server.base_url()),
            model: None,
        }
    }

    /// Sends a request; `None` when no answer came (the server was killed).
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Option<(StatusCode, Value)> {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .basic_auth(KEY, Some(SECRET));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.ok()?;
        let status = response.status();
        let bytes = response.bytes().await.ok()?;
        Some((
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        ))
    }

    /// Sends a change; whether it was acknowledged. Any answer but `expected` is a bug.
    pub async fn change(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        expected: &[u16],
    ) -> bool {
        let sent = Instant::now();
        let Some((status, reply)) = self.send(method, path, body).await else {
            return false;
        };
        assert!(
            expected.contains(&status.as_u16()),
            "{path}: {status} {reply}"
        );
        if let Some(model) = &self.model {
            let mut model = model.lock().unwrap();
            model.last_change_sent = Some(model.last_change_sent.map_or(sent, |t| t.max(sent)));
        }
        true
    }

    /// Every item of a paged listing (`_embedded.<key>`).
    pub async fn list(&self, path: &str, key: &str) -> Vec<Value> {
        let mut items = Vec::new();
        for page in 1.. {
            let url = format!("{path}?page={page}&page_size=100");
            let (status, reply) = self.send(Method::GET, &url, None).await.expect("listing");
            assert_eq!(status, StatusCode::OK, "{url}: {reply}");
            items.extend(
                reply["_embedded"][key]
                    .as_array()
                    .expect("items")
                    .iter()
                    .cloned(),
            );
            if page >= reply["total_pages"].as_u64().expect("total_pages") {
                return items;
            }
        }
        unreachable!()
    }

    /// A pool's numbers.
    pub async fn members(&self, pool: &str) -> BTreeSet<u64> {
        self.list(&format!("/pools/{pool}/numbers"), "numbers")
            .await
            .iter()
            .map(|n| digits(n.as_str().expect("number string")))
            .collect()
    }
}

pub fn digits(text: &str) -> u64 {
    text.parse()
        .unwrap_or_else(|_| panic!("not digits: {text}"))
}

pub async fn resp(server: &Numpool) -> MultiplexedConnection {
    let client = redis::Client::open(format!("redis://{}/", server.resp)).expect("redis url");
    let mut con = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect RESP");
    let () = redis::cmd("AUTH")
        .arg(KEY)
        .arg(SECRET)
        .query_async(&mut con)
        .await
        .expect("AUTH");
    con
}

/// The sticky pool with its first numbers; nothing is killed yet, so all of it must succeed.
async fn seed_sticky_pool(api: &Api, model: &Mutex<Model>) {
    let numbers: Vec<u64> = (0..STICKY_START).map(inventory_number).collect();
    let body = json!({ "numbers": numbers.iter().map(|n| json!({ "number": n.to_string() })).collect::<Vec<_>>() });
    assert!(
        api.change(Method::POST, "/numbers", Some(body), &[201])
            .await
    );
    let pool = json!({ "pool_id": STICKY, "fallback": "Pool",
        "localized_sender_preferred": false, "predictable_sender_preferred": true });
    assert!(api.change(Method::POST, "/pools", Some(pool), &[201]).await);
    let add = json!({ "numbers": numbers.iter().map(u64::to_string).collect::<Vec<_>>() });
    assert!(
        api.change(
            Method::POST,
            &format!("/pools/{STICKY}/numbers"),
            Some(add),
            &[201]
        )
        .await
    );
    let mut model = model.lock().unwrap();
    model.inventory.extend(&numbers);
    model.next_number = STICKY_START;
    model.pools.insert(
        STICKY.to_owned(),
        PoolModel {
            has: numbers.into_iter().collect(),
            ..PoolModel::default()
        },
    );
}

/// One admin change at a time, chosen at random, until the server stops answering: inventory
/// upserts, pool creations and deletions, members added and removed, including the sticky
/// pool's (a removal racing the picks that assign the removed number).
async fn admin_load(api: Api, model: Arc<Mutex<Model>>, stop: Arc<AtomicBool>, seed: u64) {
    let mut rng = fastrand::Rng::with_seed(seed);
    while !stop.load(Ordering::SeqCst) {
        let acknowledged = match rng.u32(0..100) {
            0..25 => upsert_numbers(&api, &model, &mut rng).await,
            25..30 => create_pool(&api, &model, &mut rng).await,
            30..32 => delete_pool(&api, &model, &mut rng).await,
            32..70 => add_members(&api, &model, &mut rng).await,
            70..88 => remove_members(&api, &model, &mut rng).await,
            _ => sticky_members(&api, &model, &mut rng).await,
        };
        if !acknowledged {
            return;
        }
    }
}

async fn upsert_numbers(api: &Api, model: &Mutex<Model>, rng: &mut fastrand::Rng) -> bool {
    let numbers: Vec<u64> = {
        let mut model = model.lock().unwrap();
        let first = model.next_number;
        model.next_number += rng.u64(1..=4);
        (first..model.next_number).map(inventory_number).collect()
    };
    let body = json!({ "numbers": numbers.iter().map(|n| json!({
        "number": n.to_string(), "weight": 1 + n % 5 })).collect::<Vec<_>>() });
    let acknowledged = api
        .change(Method::POST, "/numbers", Some(body), &[201])
        .await;
    if acknowledged {
        model.lock().unwrap().inventory.extend(numbers);
    }
    acknowledged
}

async fn create_pool(api: &Api, model: &Mutex<Model>, rng: &mut fastrand::Rng) -> bool {
    let id = {
        let mut model = model.lock().unwrap();
        model.next_pool += 1;
        format!("p{}", model.next_pool)
    };
    let body = json!({ "pool_id": id, "fallback": "Pool",
        "localized_sender_preferred": rng.bool(), "predictable_sender_preferred": rng.bool() });
    let acknowledged = api.change(Method::POST, "/pools", Some(body), &[201]).await;
    if acknowledged {
        model.lock().unwrap().pools.insert(id, PoolModel::default());
    }
    acknowledged
}

/// A usable pool other than the sticky one, if any.
fn some_pool(model: &Model, rng: &mut fastrand::Rng) -> Option<String> {
    let ids: Vec<&String> = model
        .pools
        .iter()
        .filter(|(id, p)| *id != STICKY && p.usable())
        .map(|(id, _)| id)
        .collect();
    (!ids.is_empty()).then(|| ids[rng.usize(..ids.len())].clone())
}

async fn delete_pool(api: &Api, model: &Mutex<Model>, rng: &mut fastrand::Rng) -> bool {
    let Some(id) = some_pool(&model.lock().unwrap(), rng) else {
        return true;
    };
    model
        .lock()
        .unwrap()
        .pools
        .get_mut(&id)
        .expect("pool")
        .maybe_deleted = true;
    let acknowledged = api
        .change(Method::DELETE, &format!("/pools/{id}"), None, &[200])
        .await;
    if acknowledged {
        model
            .lock()
            .unwrap()
            .pools
            .get_mut(&id)
            .expect("pool")
            .deleted = true;
    }
    acknowledged
}

async fn add_members(api: &Api, model: &Mutex<Model>, rng: &mut fastrand::Rng) -> bool {
    let (id, numbers) = {
        let mut model = model.lock().unwrap();
        let Some(id) = some_pool(&model, rng) else {
            return true;
        };
        let owned: Vec<u64> = model.inventory.iter().copied().collect();
        let numbers: Vec<u64> = (0..rng.usize(1..=50))
            .map(|_| owned[rng.usize(..owned.len())])
            .collect();
        model.pools.get_mut(&id).expect("pool").unsettle(&numbers);
        (id, numbers)
    };
    change_members(api, model, &id, numbers, true).await
}

async fn remove_members(api: &Api, model: &Mutex<Model>, rng: &mut fastrand::Rng) -> bool {
    let (id, numbers) = {
        let mut model = model.lock().unwrap();
        let Some(id) = some_pool(&model, rng) else {
            return true;
        };
        let pool = model.pools.get_mut(&id).expect("pool");
        let members: Vec<u64> = pool.has.iter().copied().collect();
        if members.is_empty() {
            return true;
        }
        let numbers: Vec<u64> = (0..rng.usize(1..=members.len().min(10)))
            .map(|_| members[rng.usize(..members.len())])
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        pool.unsettle(&numbers);
        (id, numbers)
    };
    change_members(api, model, &id, numbers, false).await
}

/// Grows the sticky pool by a fresh number, or shrinks it by one while picks run on it. A
/// removed number never comes back, so a recipient's acknowledged sender is either still a
/// member (and must still be its sender) or had a removal sent.
async fn sticky_members(api: &Api, model: &Mutex<Model>, rng: &mut fastrand::Rng) -> bool {
    let (numbers, add) = {
        let mut model = model.lock().unwrap();
        let in_pool: BTreeSet<u64> = model.pools[STICKY].has.clone();
        let removable: Vec<u64> = in_pool.iter().copied().collect();
        if rng.bool() && removable.len() > STICKY_MIN {
            let number = removable[rng.usize(..removable.len())];
            model.sticky_removal_sent.insert(number);
            (vec![number], false)
        } else {
            let Some(fresh) = model
                .inventory
                .iter()
                .copied()
                .find(|n| !in_pool.contains(n) && !model.sticky_removal_sent.contains(n))
            else {
                return true;
            };
            (vec![fresh], true)
        }
    };
    model
        .lock()
        .unwrap()
        .pools
        .get_mut(STICKY)
        .expect("pool")
        .unsettle(&numbers);
    change_members(api, model, STICKY, numbers, add).await
}

/// Sends an add (`add`) or a removal of `numbers` (already unsettled in the model) and records
/// the outcome if it was acknowledged.
async fn change_members(
    api: &Api,
    model: &Mutex<Model>,
    id: &str,
    numbers: Vec<u64>,
    add: bool,
) -> bool {
    let body = json!({ "numbers": numbers.iter().map(u64::to_string).collect::<Vec<_>>() });
    let acknowledged = if add {
        api.change(
            Method::POST,
            &format!("/pools/{id}/numbers"),
            Some(body),
            &[201],
        )
        .await
    } else {
        api.change(
            Method::POST,
            &format!("/pools/{id}/numbers/delete"),
            Some(body),
            &[204],
        )
        .await
    };
    if acknowledged {
        let mut model = model.lock().unwrap();
        let pool = model.pools.get_mut(id).expect("pool");
        let (gained, lost) = if add {
            (&mut pool.has, &mut pool.lacks)
        } else {
            (&mut pool.lacks, &mut pool.has)
        };
        gained.extend(&numbers);
        for n in &numbers {
            lost.remove(n);
        }
    }
    acknowledged
}

/// Pipelined PICKs on the sticky pool until the server stops answering: fresh recipients from
/// `first` on (new assignments, journaled) mixed with repeats (sticky hits).
async fn pick_load(
    mut con: MultiplexedConnection,
    model: Arc<Mutex<Model>>,
    stop: Arc<AtomicBool>,
    first: u64,
    seed: u64,
) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut next = first;
    while !stop.load(Ordering::SeqCst) {
        let recipients: Vec<u64> = (0..PICK_BATCH)
            .map(|_| {
                if next < first + NEW_PER_CYCLE && (next == first || rng.u32(..NEW_ONE_IN) == 0) {
                    next += 1;
                    next - 1
                } else {
                    rng.u64(first..next)
                }
            })
            .collect();
        model.lock().unwrap().unacknowledged.extend(&recipients);
        let Some(senders) = picks(&mut con, STICKY, &recipients).await else {
            return;
        };
        let mut model = model.lock().unwrap();
        for (to, sender) in recipients.iter().zip(senders) {
            model.unacknowledged.remove(to);
            // A mapping to a new sender (its old one left) is a new acknowledgement: it dates
            // from now, not from the first one, or a power loss that rightly drops it from the
            // unsynced tail would look like the loss of a synced mapping.
            let at = match model.sticky.get(to) {
                Some(&(before, at)) if before == sender => at,
                _ => Instant::now(),
            };
            if let Some((before, _)) = model.sticky.insert(*to, (sender, at)) {
                assert!(
                    before == sender || model.sticky_removal_sent.contains(&before),
                    "{to} moved from {before} to {sender} while {before} stayed in the pool"
                );
            }
        }
    }
}

/// After a restart: everything acknowledged is there, nothing acknowledged as gone is back,
/// and every sticky mapping points at a member of the pool. Mappings first acknowledged at or
/// after `may_lose_from` may be missing (and leave the model); the number of those missing.
async fn check(
    server: &Numpool,
    model: &mut Model,
    cycle: usize,
    may_lose_from: Option<Instant>,
) -> usize {
    let api = Api::of(server);
    let inventory: BTreeSet<u64> = api
        .list("/numbers", "numbers")
        .await
        .iter()
        .map(|n| digits(n["number"].as_str().expect("number")))
        .collect();
    let lost: Vec<_> = model.inventory.difference(&inventory).collect();
    assert!(
        lost.is_empty(),
        "cycle {cycle}: acknowledged inventory numbers lost: {lost:?}"
    );

    let pools: BTreeSet<String> = api
        .list("/pools", "pools")
        .await
        .iter()
        .map(|p| p["pool_id"].as_str().expect("pool_id").to_owned())
        .collect();
    for (id, pool) in &model.pools {
        if pool.deleted {
            assert!(
                !pools.contains(id),
                "cycle {cycle}: deleted pool {id} is back"
            );
            continue;
        }
        if pool.maybe_deleted {
            continue;
        }
        assert!(
            pools.contains(id),
            "cycle {cycle}: acknowledged pool {id} lost"
        );
        let members = api.members(id).await;
        let lost: Vec<_> = pool.has.difference(&members).collect();
        assert!(
            lost.is_empty(),
            "cycle {cycle}: pool {id} lost acknowledged members {lost:?}"
        );
        let back: Vec<_> = pool.lacks.intersection(&members).collect();
        assert!(
            back.is_empty(),
            "cycle {cycle}: pool {id} holds removed members {back:?}"
        );
    }

    // Sticky assignments. The journal record of a batch's new assignments is handed to the
    // OS (write(2)) before the batch is answered under every policy; the policies differ only
    // in when it is fsynced. SIGKILL ends the process, not the kernel, so the page cache
    // survives and nothing acknowledged may be lost under `everysec` or `no` either: the same
    // strict check holds for all three. A power loss tells them apart (`may_lose_from`).
    let members = api.members(STICKY).await;
    let mut con = resp(server).await;
    let acknowledged: Vec<(u64, u64, Instant)> = model
        .sticky
        .iter()
        .map(|(&to, &(s, at))| (to, s, at))
        .collect();
    let mut lost = 0;
    for chunk in acknowledged.chunks(1_000) {
        let found = sticky_get(&mut con, STICKY, chunk.iter().map(|&(to, _, _)| to)).await;
        for (&(to, sender, at), found) in chunk.iter().zip(found) {
            if let Some(found) = found {
                assert!(
                    members.contains(&found),
                    "cycle {cycle}: {to} mapped to non-member {found}"
                );
            }
            if found.is_none() && may_lose_from.is_some_and(|from| at >= from) {
                model.sticky.remove(&to);
                lost += 1;
                continue;
            }
            if !model.sticky_removal_sent.contains(&sender) {
                assert_eq!(
                    found,
                    Some(sender),
                    "cycle {cycle}: acknowledged mapping of {to} lost or changed \
                     (acknowledged {:?} before the kill's sync point)",
                    may_lose_from.map(|from| from.saturating_duration_since(at))
                );
            }
        }
    }
    let unacknowledged: Vec<u64> = model.unacknowledged.iter().copied().collect();
    for chunk in unacknowledged.chunks(1_000) {
        for (to, found) in chunk
            .iter()
            .zip(sticky_get(&mut con, STICKY, chunk.iter().copied()).await)
        {
            if let Some(found) = found {
                assert!(
                    members.contains(&found),
                    "cycle {cycle}: {to} mapped to non-member {found}"
                );
            }
        }
    }
    lost
}

/// One pipelined `PICK` on `pool` per recipient: the senders, or `None` once the server is gone.
/// Any other error is a bug.
pub async fn picks(
    con: &mut MultiplexedConnection,
    pool: &str,
    recipients: &[u64],
) -> Option<Vec<u64>> {
    let mut pipe = redis::pipe();
    for to in recipients {
        pipe.cmd("PICK").arg(pool).arg(to.to_string());
    }
    match pipe.query_async::<Vec<String>>(con).await {
        Ok(senders) => Some(senders.iter().map(|s| digits(s)).collect()),
        Err(err)
            if err.is_io_error() || err.is_connection_dropped() || err.is_unrecoverable_error() =>
        {
            None
        }
        Err(err) => panic!("PICK failed: {err}"),
    }
}

/// `STICKY.GET` on `pool` for each recipient, pipelined.
pub async fn sticky_get(
    con: &mut MultiplexedConnection,
    pool: &str,
    recipients: impl Iterator<Item = u64>,
) -> Vec<Option<u64>> {
    let mut pipe = redis::pipe();
    for to in recipients {
        pipe.cmd("STICKY.GET").arg(pool).arg(to.to_string());
    }
    let found: Vec<Option<String>> = pipe.query_async(con).await.expect("STICKY.GET");
    found.into_iter().map(|s| s.map(|s| digits(&s))).collect()
}
