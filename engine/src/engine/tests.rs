//! The engine through its async API, with real actors on real arbiters.

use super::*;
use numpool_core::model::{Fallback, NumberSpec};
use numpool_core::select::{Pick, PickError, PickRequest, Reason, Rejection, Sender};

const A: &str = "acct0001";
const B: &str = "acct0002";

/// An engine with accounts `A` and `B`, and their handles.
fn engine() -> (Engine, AccountHandle, AccountHandle) {
    engine_with(AccountLimits::default())
}

/// The same, each account held to `limits`.
fn engine_with(limits: AccountLimits) -> (Engine, AccountHandle, AccountHandle) {
    let accounts = [A, B]
        .iter()
        .map(|id| Account::with_secret(AccountId::new(id).unwrap(), "secret"))
        .collect();
    let engine = Engine::with_placement(accounts, limits, Placement::start(2));
    let (a, b) = (engine.account(A).unwrap(), engine.account(B).unwrap());
    (engine, a, b)
}

fn owned(number: &str) -> OwnedNumber {
    OwnedNumber::from_spec(&NumberSpec {
        number: number.into(),
        ..NumberSpec::default()
    })
    .unwrap()
}

fn n(text: &str) -> Msisdn {
    Msisdn::parse(text).unwrap()
}

fn pool_id(text: &str) -> PoolId {
    PoolId::new(text).unwrap()
}

async fn pool_with(engine: &Engine, account: &AccountHandle, id: &str, numbers: &[&str]) {
    engine
        .upsert_numbers(account, numbers.iter().map(|x| owned(x)).collect())
        .await
        .unwrap();
    engine
        .create_pool(account, pool_id(id), PoolSettings::default())
        .await
        .unwrap();
    let list: Vec<Msisdn> = numbers.iter().map(|x| n(x)).collect();
    engine.add_numbers(account, id, &list).await.unwrap();
}

async fn sender(
    engine: &Engine,
    account: &AccountHandle,
    pool: &str,
    to: &str,
) -> Result<Pick, PickFailure> {
    engine.pick(account, pool, PickRequest::to(n(to))).await
}

#[actix::test]
async fn authenticate_checks_key_and_secret() {
    let (engine, _a, _b) = engine();
    assert_eq!(engine.authenticate(A, "secret").unwrap().id().as_str(), A);
    assert!(engine.authenticate(A, "wrong").is_none());
    assert!(engine.authenticate("nobody01", "secret").is_none());
}

#[actix::test]
async fn pool_lifecycle() {
    let (engine, a, _b) = engine();
    let record = engine
        .create_pool(&a, pool_id("p1"), PoolSettings::default())
        .await
        .unwrap();
    assert_eq!(
        (record.number_count, record.settings.fallback),
        (0, Fallback::Pool)
    );
    assert_eq!(
        engine
            .create_pool(&a, pool_id("p1"), PoolSettings::default())
            .await,
        Err(EngineError::PoolExists(pool_id("p1")))
    );
    engine
        .create_pool(&a, pool_id("p0"), PoolSettings::default())
        .await
        .unwrap();
    let page = engine
        .list_pools(
            &a,
            Page {
                offset: 0,
                limit: 1,
            },
        )
        .await
        .unwrap();
    assert_eq!((page.total, page.items[0].pool_id.as_str()), (2, "p0"));
    let update = PoolUpdate {
        fallback: Some(Fallback::Reject),
        pool_id: Some(pool_id("p2")),
        ..PoolUpdate::default()
    };
    let updated = engine.update_pool(&a, "p1", &update).await.unwrap();
    assert_eq!(
        (updated.pool_id.as_str(), updated.settings.fallback),
        ("p2", Fallback::Reject)
    );
    assert_eq!(
        engine.get_pool(&a, "p1").await,
        Err(EngineError::NoSuchPool("p1".into()))
    );
    let rename_clash = PoolUpdate {
        pool_id: Some(pool_id("p0")),
        ..PoolUpdate::default()
    };
    assert_eq!(
        engine.update_pool(&a, "p2", &rename_clash).await,
        Err(EngineError::PoolExists(pool_id("p0")))
    );
    let deleted = engine.delete_pool(&a, "p2").await.unwrap();
    assert_eq!(deleted.pool_id.as_str(), "p2");
    assert_eq!(
        engine.delete_pool(&a, "p2").await,
        Err(EngineError::NoSuchPool("p2".into()))
    );
    assert_eq!(engine.stats().pools, 1);
}

#[actix::test]
async fn bulk_add_and_remove_report_each_number() {
    let (engine, a, _b) = engine();
    pool_with(&engine, &a, "p", &["447700900001"]).await;
    engine
        .upsert_numbers(&a, vec![owned("447700900002")])
        .await
        .unwrap();
    let outcomes = engine
        .add_numbers(
            &a,
            "p",
            &[n("447700900001"), n("447700900002"), n("447700900003")],
        )
        .await
        .unwrap();
    assert_eq!(
        outcomes,
        vec![
            AddOutcome::AlreadyInPool,
            AddOutcome::Added,
            AddOutcome::NotOwned
        ]
    );
    let outcomes = engine
        .remove_numbers(&a, "p", &[n("447700900002"), n("447700900003")])
        .await
        .unwrap();
    assert_eq!(
        outcomes,
        vec![RemoveOutcome::Removed, RemoveOutcome::NotInPool]
    );
    let members = engine
        .pool_numbers(
            &a,
            "p",
            Page {
                offset: 0,
                limit: 10,
            },
        )
        .await
        .unwrap();
    assert_eq!((members.total, members.items), (1, vec![n("447700900001")]));
    assert_eq!(engine.get_pool(&a, "p").await.unwrap().number_count, 1);
}

#[actix::test]
async fn picks_route_to_the_pool_and_batch_per_pool() {
    let (engine, a, _b) = engine();
    pool_with(&engine, &a, "uk", &["447700900001", "447700900002"]).await;
    pool_with(&engine, &a, "us", &["12125550101"]).await;
    let jobs = vec![
        ("uk", PickRequest::to(n("447400123459"))),
        ("us", PickRequest::to(n("12125559999"))),
        ("nope", PickRequest::to(n("447400123459"))),
        ("uk", PickRequest::to(n("447400123459"))),
    ];
    let results = engine.pick_batch(&a, &jobs).await;
    let first = results[0].as_ref().unwrap();
    assert_eq!(first.reason, Reason::Country);
    assert_eq!(
        results[1].as_ref().unwrap().sender,
        Sender::Number(n("12125550101"))
    );
    assert_eq!(results[2], Err(PickFailure::NoSuchPool("nope".into())));
    let again = results[3].as_ref().unwrap();
    assert_eq!(
        (&again.sender, again.reason),
        (&first.sender, Reason::Sticky)
    );
    let Sender::Number(mapped) = first.sender else {
        panic!()
    };
    assert_eq!(
        engine
            .sticky_get(&a, "uk", n("447400123459"))
            .await
            .map(|c| c.map(|c| c.sender)),
        Ok(Some(mapped))
    );
    assert_eq!(
        engine.sticky_del(&a, "uk", n("447400123459")).await,
        Ok(true)
    );
    assert_eq!(
        engine.sticky_del(&a, "uk", n("447400123459")).await,
        Ok(false)
    );
    let stats = engine.stats();
    assert_eq!(stats.pool_totals.picks_for(Reason::Sticky), 1);
    assert_eq!(stats.pool_totals.picks_for(Reason::Country), 1);
}

#[actix::test]
async fn rejection_comes_back_as_a_pick_failure() {
    let (engine, a, _b) = engine();
    pool_with(&engine, &a, "uk", &["447700900001"]).await;
    let update = PoolUpdate {
        fallback: Some(Fallback::Reject),
        ..PoolUpdate::default()
    };
    engine.update_pool(&a, "uk", &update).await.unwrap();
    let result = sender(&engine, &a, "uk", "4915112345678").await;
    assert_eq!(
        result,
        Err(PickFailure::Pick(PickError::Rejected(
            Rejection::NoNumberForCountry(numpool_core::model::Country::new("DE").unwrap())
        )))
    );
}

#[actix::test]
async fn concurrent_picks_for_one_recipient_agree() {
    let (engine, a, _b) = engine();
    pool_with(&engine, &a, "uk", &["447700900001", "447700900002"]).await;
    let numbers: Vec<OwnedNumber> = (3..60)
        .map(|i| owned(&format!("4477009000{i:02}")))
        .collect();
    let more: Vec<Msisdn> = numbers.iter().map(|o| o.number).collect();
    engine.upsert_numbers(&a, numbers).await.unwrap();
    // 200 tasks pick for one new recipient at once while the pool grows under them: the first
    // pick to reach the actor records a mapping and every later one must get it back, even
    // though the grown pool's hash may point elsewhere.
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let engine = engine.clone();
            let more = more.clone();
            let a = a.clone();
            actix::spawn(async move {
                if i == 100 {
                    engine.add_numbers(&a, "uk", &more).await.unwrap();
                }
                sender(&engine, &a, "uk", "447400123459")
                    .await
                    .unwrap()
                    .sender
            })
        })
        .collect();
    let mut senders = std::collections::HashSet::new();
    for task in tasks {
        senders.insert(task.await.unwrap());
    }
    assert_eq!(
        senders.len(),
        1,
        "every concurrent pick got the same sender: {senders:?}"
    );
    assert_eq!(engine.get_pool(&a, "uk").await.unwrap().number_count, 59);
}

#[actix::test]
async fn releasing_a_number_removes_it_from_every_pool_and_its_mappings() {
    let (engine, a, _b) = engine();
    pool_with(&engine, &a, "one", &["447700900001", "447700900002"]).await;
    engine
        .create_pool(&a, pool_id("two"), PoolSettings::default())
        .await
        .unwrap();
    engine
        .add_numbers(&a, "two", &[n("447700900001"), n("447700900002")])
        .await
        .unwrap();
    let Sender::Number(first) = sender(&engine, &a, "one", "447400123459")
        .await
        .unwrap()
        .sender
    else {
        panic!()
    };
    engine.delete_number(&a, first).await.unwrap();
    assert_eq!(
        engine.get_number(&a, first).await,
        Err(EngineError::NumberNotOwned(first))
    );
    assert_eq!(engine.get_pool(&a, "one").await.unwrap().number_count, 1);
    assert_eq!(engine.get_pool(&a, "two").await.unwrap().number_count, 1);
    assert_eq!(
        engine.sticky_get(&a, "one", n("447400123459")).await,
        Ok(None)
    );
    let next = sender(&engine, &a, "one", "447400123459").await.unwrap();
    assert_ne!(next.sender, Sender::Number(first));
}

#[actix::test]
async fn inventory_changes_reach_the_pools() {
    let (engine, a, _b) = engine();
    pool_with(&engine, &a, "uk", &["447700900001", "447700900002"]).await;
    let mut tagged = owned("447700900002");
    tagged.network = Some(numpool_core::model::Network::new("23410").unwrap());
    assert_eq!(
        engine.upsert_numbers(&a, vec![tagged]).await.unwrap(),
        vec![false]
    );
    let request = PickRequest {
        to: n("447400123459"),
        from: None,
        network: Some("23410"),
        segments: 1,
    };
    let pick = engine.pick(&a, "uk", request).await.unwrap();
    assert_eq!(
        (pick.sender, pick.reason),
        (Sender::Number(n("447700900002")), Reason::Network)
    );
    let page = engine
        .list_numbers(
            &a,
            Page {
                offset: 1,
                limit: 5,
            },
        )
        .await
        .unwrap();
    assert_eq!((page.total, page.items.len()), (2, 1));
}

#[actix::test]
async fn a_pool_of_100_000_numbers_works() {
    let (engine, a, _b) = engine();
    // 100,000 numbers across four countries.
    let numbers: Vec<OwnedNumber> = (0..100_000u64)
        .map(|i| {
            let prefix = [
                447_700_000_000u64,
                12_125_000_000,
                4_915_100_000_000,
                33_612_000_000,
            ][(i % 4) as usize];
            OwnedNumber::from_spec(&NumberSpec {
                number: (prefix + i).to_string(),
                ..NumberSpec::default()
            })
            .unwrap()
        })
        .collect();
    let list: Vec<Msisdn> = numbers.iter().map(|o| o.number).collect();
    engine.upsert_numbers(&a, numbers).await.unwrap();
    engine
        .create_pool(&a, pool_id("big"), PoolSettings::default())
        .await
        .unwrap();
    let outcomes = engine.add_numbers(&a, "big", &list).await.unwrap();
    assert!(outcomes.iter().all(|o| *o == AddOutcome::Added));
    let jobs: Vec<_> = (0..1_000u64)
        .map(|i| {
            (
                "big",
                PickRequest::to(Msisdn::from_u64(447_911_000_000 + i).unwrap()),
            )
        })
        .collect();
    let results = engine.pick_batch(&a, &jobs).await;
    for result in results {
        let pick = result.unwrap();
        let Sender::Number(number) = pick.sender else {
            panic!()
        };
        assert_eq!(number.leading_digits(2), 44, "localized to GB");
    }
    assert_eq!(
        engine.get_pool(&a, "big").await.unwrap().number_count,
        100_000
    );
}

/// One admin change or pick of the property below, with small indices so that both accounts
/// name the same pools, numbers and recipients.
#[derive(Clone, Debug)]
enum Op {
    /// Owns number `n` (or refreshes it).
    Own(u8),
    /// Gives up number `n`.
    Release(u8),
    /// Creates pool `p`.
    Create(u8),
    /// Deletes pool `p`.
    Delete(u8),
    /// Adds number `n` to pool `p`.
    Add(u8, u8),
    /// Removes number `n` from pool `p`.
    Remove(u8, u8),
    /// Picks a sender in pool `p` for recipient `r`.
    Pick(u8, u8),
    /// Drops the mapping of recipient `r` in pool `p`.
    Forget(u8, u8),
}

fn op() -> impl proptest::strategy::Strategy<Value = Op> {
    use proptest::prelude::*;
    prop_oneof![
        (0..6u8).prop_map(Op::Own),
        (0..6u8).prop_map(Op::Release),
        (0..3u8).prop_map(Op::Create),
        (0..3u8).prop_map(Op::Delete),
        (0..3u8, 0..6u8).prop_map(|(p, n)| Op::Add(p, n)),
        (0..3u8, 0..6u8).prop_map(|(p, n)| Op::Remove(p, n)),
        (0..3u8, 0..8u8).prop_map(|(p, r)| Op::Pick(p, r)),
        (0..3u8, 0..8u8).prop_map(|(p, r)| Op::Forget(p, r)),
    ]
}

/// Numbers in three countries, so picks exercise localization and fallbacks.
fn op_number(i: u8) -> Msisdn {
    let base = [447_700_900_000u64, 12_125_550_000, 33_612_000_000][usize::from(i % 3)];
    Msisdn::from_u64(base + u64::from(i)).unwrap()
}

fn op_recipient(i: u8) -> Msisdn {
    let base = [447_911_000_000u64, 12_125_559_000, 4_915_100_000_000][usize::from(i % 3)];
    Msisdn::from_u64(base + u64::from(i)).unwrap()
}

/// Runs `op` for `account` and renders what the caller saw, timestamps left out.
async fn run_op(engine: &Engine, account: &AccountHandle, op: &Op) -> String {
    let pool = |p: &u8| format!("p{p}");
    match op {
        Op::Own(i) => {
            let number = OwnedNumber::from_spec(&NumberSpec {
                number: op_number(*i).to_string(),
                ..NumberSpec::default()
            })
            .unwrap();
            format!("{:?}", engine.upsert_numbers(account, vec![number]).await)
        }
        Op::Release(i) => format!(
            "{:?}",
            engine
                .delete_number(account, op_number(*i))
                .await
                .map(|n| n.number)
        ),
        Op::Create(p) => format!(
            "{:?}",
            engine
                .create_pool(account, pool_id(&pool(p)), PoolSettings::default())
                .await
                .map(|r| r.number_count)
        ),
        Op::Delete(p) => format!(
            "{:?}",
            engine
                .delete_pool(account, &pool(p))
                .await
                .map(|r| r.number_count)
        ),
        Op::Add(p, i) => format!(
            "{:?}",
            engine
                .add_numbers(account, &pool(p), &[op_number(*i)])
                .await
        ),
        Op::Remove(p, i) => format!(
            "{:?}",
            engine
                .remove_numbers(account, &pool(p), &[op_number(*i)])
                .await
        ),
        Op::Pick(p, r) => format!(
            "{:?}",
            engine
                .pick(account, &pool(p), PickRequest::to(op_recipient(*r)))
                .await
        ),
        Op::Forget(p, r) => format!(
            "{:?}",
            engine.sticky_del(account, &pool(p), op_recipient(*r)).await
        ),
    }
}

/// Everything `account` can list, timestamps left out.
async fn account_view(engine: &Engine, account: &AccountHandle) -> String {
    let all = Page {
        offset: 0,
        limit: 100,
    };
    let inventory = engine.list_numbers(account, all).await.unwrap();
    let pools = engine.list_pools(account, all).await.unwrap();
    let mut view = format!("{:?}", inventory.items);
    for record in pools.items {
        let members = engine
            .pool_numbers(account, record.pool_id.as_str(), all)
            .await
            .unwrap();
        let mappings: Vec<_> = live_mappings(engine, account, record.pool_id.as_str()).await;
        view += &format!(
            "\n{} {:?} {:?} {:?}",
            record.pool_id, record.settings, members.items, mappings
        );
    }
    view
}

/// The live mapping of every recipient the ops can name.
async fn live_mappings(
    engine: &Engine,
    account: &AccountHandle,
    pool: &str,
) -> Vec<Option<Msisdn>> {
    let mut mappings = Vec::new();
    for r in 0..8 {
        mappings.push(
            engine
                .sticky_get(account, pool, op_recipient(r))
                .await
                .unwrap()
                .map(|c| c.sender),
        );
    }
    mappings
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]

    /// DESIGN §3.1, "nothing crosses accounts": whatever account A does, interleaved with B,
    /// B sees exactly what it sees in an engine where A did nothing.
    #[test]
    fn no_state_crosses_accounts(ops in proptest::collection::vec((proptest::bool::ANY, op()), 1..40)) {
        let (shared_view, alone_view, shared_seen, alone_seen) = actix::System::new().block_on(async {
            let (shared, a, b) = engine();
            let (alone, _, b_alone) = engine();
            let (mut shared_seen, mut alone_seen) = (Vec::new(), Vec::new());
            for (by_a, op) in &ops {
                if *by_a {
                    run_op(&shared, &a, op).await;
                } else {
                    shared_seen.push(run_op(&shared, &b, op).await);
                    alone_seen.push(run_op(&alone, &b_alone, op).await);
                }
            }
            (
                account_view(&shared, &b).await,
                account_view(&alone, &b_alone).await,
                shared_seen,
                alone_seen,
            )
        });
        proptest::prop_assert_eq!(shared_seen, alone_seen);
        proptest::prop_assert_eq!(shared_view, alone_view);
    }
}

/// Limits are checked under the account's admin lock, where the change is applied: calls racing
/// for the last places cannot pass a limit together, and each refused one changed nothing.
#[actix::test]
async fn concurrent_calls_cannot_pass_a_limit_together() {
    let limits = AccountLimits {
        pools: 5,
        numbers: 30,
        numbers_per_pool: 12,
        opt_outs_per_pool: 3,
    };
    let (engine, a, b) = engine_with(limits);
    let creates: Vec<_> = (0..20)
        .map(|i| {
            let (engine, a) = (engine.clone(), a.clone());
            actix::spawn(async move {
                engine
                    .create_pool(&a, pool_id(&format!("p{i:02}")), PoolSettings::default())
                    .await
            })
        })
        .collect();
    let mut created = 0;
    for task in creates {
        match task.await.unwrap() {
            Ok(_) => created += 1,
            Err(EngineError::Limit(exceeded)) => {
                assert_eq!((exceeded.limit, exceeded.value), (Limit::Pools, 5));
            }
            Err(other) => panic!("{other}"),
        }
    }
    assert_eq!(created, 5);
    let all = Page {
        offset: 0,
        limit: 100,
    };
    assert_eq!(engine.list_pools(&a, all).await.unwrap().total, 5);
    // Another account has its own count.
    engine
        .create_pool(&b, pool_id("theirs"), PoolSettings::default())
        .await
        .unwrap();

    // Inventory: ten calls of 5 new numbers each race for 30 places; 6 fit.
    let upserts: Vec<_> = (0..10)
        .map(|call| {
            let (engine, a) = (engine.clone(), a.clone());
            actix::spawn(async move {
                let numbers = (0..5)
                    .map(|i| owned(&format!("4477009{call:02}{i:03}")))
                    .collect();
                engine.upsert_numbers(&a, numbers).await
            })
        })
        .collect();
    let mut accepted = 0;
    for task in upserts {
        accepted += usize::from(task.await.unwrap().is_ok());
    }
    assert_eq!(accepted, 6);
    let inventory = engine.list_numbers(&a, all).await.unwrap();
    assert_eq!(inventory.total, 30);

    // One pool: six adds of 4 numbers each race for 12 places (each actor round trip is an
    // await under the lock, where a check outside it would let them all through).
    let pool = engine.list_pools(&a, all).await.unwrap().items[0]
        .pool_id
        .clone();
    let owned: Vec<Msisdn> = inventory.items.iter().map(|o| o.number).collect();
    let adds: Vec<_> = owned
        .chunks(4)
        .take(6)
        .map(|chunk| {
            let (engine, a, pool, chunk) =
                (engine.clone(), a.clone(), pool.clone(), chunk.to_vec());
            actix::spawn(async move { engine.add_numbers(&a, pool.as_str(), &chunk).await })
        })
        .collect();
    let mut added = 0;
    for task in adds {
        match task.await.unwrap() {
            Ok(_) => added += 1,
            Err(EngineError::Limit(exceeded)) => {
                assert_eq!(exceeded.limit, Limit::NumbersPerPool(pool.clone()));
                assert_eq!(exceeded.would_be, 16);
            }
            Err(other) => panic!("{other}"),
        }
    }
    assert_eq!(added, 3);
    let members = engine.pool_numbers(&a, pool.as_str(), all).await.unwrap();
    assert_eq!(members.total, 12);
}
