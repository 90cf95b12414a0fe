//! Recovery's replay (DESIGN §6): the snapshot's [`StateImage`] indexed into a [`WorkingState`],
//! the journal's [`Record`]s applied on top of it in order, and each account's result turned back
//! into the model (`WorkingAccount::restore`) for the engine to serve. The persisted shapes
//! themselves are in [`super::image`].

use std::collections::{BTreeMap, BTreeSet};

use rustc_hash::FxHashMap;

use super::convert::{self, InvalidImage};
use super::image::{
    AccountImage, NumberImage, OptOutImage, PoolHeader, Record, StateImage, StickyImage,
};
use numpool_core::model::{Msisdn, OutagePolicy, OwnedNumber, PoolId, PoolSettings};
use numpool_core::select::PoolState;

/// The state while recovery replays records: the image with indexes.
#[derive(Default)]
pub struct WorkingState {
    /// Next pool uid.
    pub next_pool_uid: u64,
    /// Accounts by id.
    pub accounts: BTreeMap<String, WorkingAccount>,
    /// Which account each pool uid belongs to.
    owners: FxHashMap<u64, String>,
}

/// An account while replaying.
#[derive(Default)]
pub struct WorkingAccount {
    /// Inventory by number.
    pub(crate) numbers: BTreeMap<u64, NumberImage>,
    /// Pools by uid.
    pub pools: BTreeMap<u64, WorkingPool>,
    /// Opt-out signals by (sender, recipient): when the last came.
    pub(crate) opt_out_signals: BTreeMap<(u64, u64), u64>,
}

/// A pool while replaying.
pub struct WorkingPool {
    /// Identity and settings.
    pub header: PoolHeader,
    /// Members.
    pub members: BTreeSet<u64>,
    /// Mappings.
    pub sticky: WorkingSticky,
    /// Opt-outs by recipient.
    pub opt_outs: BTreeMap<u64, OptOutImage>,
    /// Its `cluster_unavailable`: never in a snapshot's header (it is a cluster's setting), so
    /// a sidecar's checkpoint keeps it beside the state ([`WorkingState::answer_locally`]).
    pub(crate) cluster_unavailable: OutagePolicy,
}

/// A pool's mappings while replaying: the snapshot's as stored, with the journal's changes
/// indexed on top. Indexing the snapshot's millions of mappings just to replay a few records
/// over them took longer than the rest of a load (P6), so only the changes are indexed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkingSticky {
    /// The snapshot's mappings (all older than every journal record).
    base: Vec<StickyImage>,
    /// Recipient → the mapping the journal last set (with the step it was set at), or `None`
    /// where it removed one.
    changes: FxHashMap<u64, Option<(StickyImage, u64)>>,
    /// Sender → the last step at which it left the pool: mappings to it set before then are
    /// dead, as they are in the running engine, even if it has joined again since.
    departures: FxHashMap<u64, u64>,
    /// Counts replayed sticky and membership records, to order sets against departures.
    step: u64,
}

impl WorkingSticky {
    /// The journal set a mapping.
    pub(crate) fn set(&mut self, mapping: StickyImage) {
        self.step += 1;
        self.changes.insert(mapping.to, Some((mapping, self.step)));
    }

    /// The journal removed a recipient's mapping.
    pub(crate) fn remove(&mut self, to: u64) {
        self.changes.insert(to, None);
    }

    /// A number left the pool: every mapping to it so far is dead (DESIGN §3.2 rule 6).
    pub(crate) fn sender_left(&mut self, sender: u64) {
        self.step += 1;
        self.departures.insert(sender, self.step);
    }

    /// The live mappings: the snapshot's the journal left alone, then the journal's, less those
    /// whose sender left the pool after they were set. Borrowed, so a restore can go over them
    /// twice: once to size the table, once to fill it.
    pub fn mappings(&self) -> impl Iterator<Item = StickyImage> + '_ {
        let alive = |sender: u64, set_at: u64| {
            self.departures
                .get(&sender)
                .is_none_or(|left| *left < set_at)
        };
        let journal = self.changes.values().filter_map(move |set| {
            let (mapping, set_at) = (*set)?;
            alive(mapping.sender, set_at).then_some(mapping)
        });
        self.base
            .iter()
            .filter(move |m| !self.changes.contains_key(&m.to) && alive(m.sender, 0))
            .copied()
            .chain(journal)
    }
}

impl WorkingState {
    /// Indexes a snapshot's image.
    pub fn from_image(image: StateImage) -> Self {
        let mut state = WorkingState {
            next_pool_uid: image.next_pool_uid,
            ..WorkingState::default()
        };
        for account in image.accounts {
            state.insert_account(account);
        }
        state
    }

    /// Puts `image` in place of its account (cluster mode: an image of the admin log's newer
    /// than what the state holds of it), with the pools of `local_pools` answering locally.
    pub(crate) fn replace_account(&mut self, image: AccountImage, local_pools: &[u64]) {
        if let Some(old) = self.accounts.remove(&image.id) {
            for uid in old.pools.keys() {
                self.owners.remove(uid);
            }
        }
        self.insert_account(image);
        self.answer_locally(local_pools);
    }

    /// Indexes one account's image.
    fn insert_account(&mut self, account: AccountImage) {
        let mut working = WorkingAccount {
            numbers: account.numbers.into_iter().map(|n| (n.number, n)).collect(),
            opt_out_signals: account
                .opt_out_signals
                .iter()
                .map(|s| ((s.sender, s.to), s.at))
                .collect(),
            ..WorkingAccount::default()
        };
        for pool in account.pools {
            self.owners.insert(pool.header.uid, account.id.clone());
            working.pools.insert(
                pool.header.uid,
                WorkingPool {
                    members: pool.members.into_iter().collect(),
                    sticky: WorkingSticky {
                        base: pool.sticky,
                        ..WorkingSticky::default()
                    },
                    header: pool.header,
                    opt_outs: pool.opt_outs.into_iter().map(|o| (o.to, o)).collect(),
                    cluster_unavailable: OutagePolicy::default(),
                },
            );
        }
        self.accounts.insert(account.id, working);
    }

    /// Sets numbers of `account`'s inventory as they now are.
    fn put_numbers(&mut self, account: String, numbers: impl IntoIterator<Item = NumberImage>) {
        let account = self.accounts.entry(account).or_default();
        for number in numbers {
            account.numbers.insert(number.number, number);
        }
    }

    /// The pools of `uids` answer locally while the cluster is unreachable (a sidecar's
    /// checkpoint says so); the others retry, as by default.
    pub(crate) fn answer_locally(&mut self, uids: &[u64]) {
        for uid in uids {
            let pool = (self.owners.get(uid))
                .and_then(|account| self.accounts.get_mut(account))
                .and_then(|account| account.pools.get_mut(uid));
            if let Some(pool) = pool {
                pool.cluster_unavailable = OutagePolicy::Local;
            }
        }
    }

    /// Creates a pool of `account`, or sets its header as it now is.
    fn put_pool(&mut self, account: String, header: PoolHeader) {
        self.next_pool_uid = self.next_pool_uid.max(header.uid + 1);
        self.owners.insert(header.uid, account.clone());
        let pools = &mut self.accounts.entry(account).or_default().pools;
        match pools.get_mut(&header.uid) {
            Some(pool) => pool.header = header,
            None => {
                pools.insert(
                    header.uid,
                    WorkingPool {
                        header,
                        members: BTreeSet::new(),
                        sticky: WorkingSticky::default(),
                        opt_outs: BTreeMap::new(),
                        cluster_unavailable: OutagePolicy::default(),
                    },
                );
            }
        }
    }

    /// Applies one record. Records naming a pool or account that no longer exists change
    /// nothing: a later record deleted it.
    pub fn apply(&mut self, record: Record) {
        match record {
            Record::UpsertNumbers { account, numbers } => {
                self.put_numbers(account, numbers.into_iter().map(NumberImage::from));
            }
            Record::PutNumbersV2 { account, numbers } => {
                self.put_numbers(account, numbers.into_iter().map(NumberImage::from));
            }
            Record::PutNumbers { account, numbers } => self.put_numbers(account, numbers),
            Record::OptOutSignal { account, signal } => {
                let account = self.accounts.entry(account).or_default();
                account
                    .opt_out_signals
                    .insert((signal.sender, signal.to), signal.at);
            }
            Record::DeleteNumber { account, number } => {
                if let Some(account) = self.accounts.get_mut(&account) {
                    account.numbers.remove(&number);
                    for pool in account.pools.values_mut() {
                        if pool.members.remove(&number) {
                            pool.sticky.sender_left(number);
                        }
                    }
                }
            }
            Record::PutPoolV3 { account, header } => self.put_pool(account, header.into()),
            Record::PutPool { account, header }
            | Record::PutPoolCluster {
                account, header, ..
            } => self.put_pool(account, header),
            Record::DeletePool { account, uid } => {
                if let Some(account) = self.accounts.get_mut(&account) {
                    account.pools.remove(&uid);
                }
                self.owners.remove(&uid);
            }
            Record::AddMembers {
                account,
                uid,
                numbers,
                at,
            } => {
                if let Some(pool) = self.pool_mut(&account, uid) {
                    pool.members.extend(numbers);
                    pool.header.updated_at = at;
                }
            }
            Record::RemoveMembers {
                account,
                uid,
                numbers,
                at,
            } => {
                if let Some(pool) = self.pool_mut(&account, uid) {
                    for number in numbers {
                        if pool.members.remove(&number) {
                            pool.sticky.sender_left(number);
                        }
                    }
                    pool.header.updated_at = at;
                }
            }
            Record::StickyAssign { uid, mapping } => {
                if let Some(pool) = self.pool_by_uid(uid) {
                    pool.sticky.set(mapping);
                }
            }
            Record::StickyAssignV5 { uid, mapping } => {
                if let Some(pool) = self.pool_by_uid(uid) {
                    pool.sticky.set(mapping.into());
                }
            }
            Record::OptOutPut { uid, opt_out } => {
                if let Some(pool) = self.pool_by_uid(uid) {
                    pool.opt_outs.insert(opt_out.to, opt_out);
                }
            }
            Record::OptOutRemove { uid, to } => {
                if let Some(pool) = self.pool_by_uid(uid) {
                    pool.opt_outs.remove(&to);
                }
            }
            Record::StickyRemove { uid, to } => {
                if let Some(pool) = self.pool_by_uid(uid) {
                    pool.sticky.remove(to);
                }
            }
        }
    }

    fn pool_mut(&mut self, account: &str, uid: u64) -> Option<&mut WorkingPool> {
        self.accounts.get_mut(account)?.pools.get_mut(&uid)
    }

    fn pool_by_uid(&mut self, uid: u64) -> Option<&mut WorkingPool> {
        let account = self.owners.get(&uid)?;
        self.accounts.get_mut(account)?.pools.get_mut(&uid)
    }
}

/// An account rebuilt from recovered state: what the engine serves it from.
pub(crate) struct RestoredAccount {
    /// The inventory, every number validated again.
    pub(crate) inventory: BTreeMap<Msisdn, OwnedNumber>,
    /// The pools, in uid order.
    pub pools: Vec<RestoredPool>,
    /// Opt-out signals by (sender, recipient): when the last came.
    pub(crate) opt_out_signals: BTreeMap<(Msisdn, Msisdn), u64>,
}

/// A pool rebuilt from recovered state: its admin record and the selection state its actor
/// starts from.
pub(crate) struct RestoredPool {
    /// The stable id the journal names the pool by.
    pub(crate) uid: u64,
    /// The id the account knows it by.
    pub(crate) id: PoolId,
    /// Its settings, validated again.
    pub(crate) settings: PoolSettings,
    /// Creation time, Unix seconds, for the admin view.
    pub(crate) created_at: u64,
    /// Last change, Unix seconds, for the admin view.
    pub(crate) updated_at: u64,
    /// Its members that are still in the inventory, for paging and removals.
    pub members: BTreeSet<Msisdn>,
    /// Members, index and live sticky mappings: what its actor owns.
    pub(crate) state: PoolState,
}

impl WorkingAccount {
    /// Turns the replayed account back into the model. A value the model rejects fails the
    /// start ([`InvalidImage`]); a member no longer in the inventory, or a mapping whose sender
    /// left the pool, is dropped, as the running engine had dropped it.
    pub(crate) fn restore(self) -> Result<RestoredAccount, InvalidImage> {
        let mut inventory = BTreeMap::new();
        for image in self.numbers.values() {
            let owned = convert::owned_number(image)?;
            inventory.insert(owned.number, owned);
        }
        let mut pools = Vec::with_capacity(self.pools.len());
        for (uid, pool) in self.pools {
            let (id, mut settings) = convert::pool_settings(&pool.header)?;
            settings.cluster_unavailable = pool.cluster_unavailable;
            let members: BTreeSet<Msisdn> = pool
                .members
                .iter()
                .filter_map(|n| Msisdn::from_u64(*n).ok())
                .filter(|n| inventory.contains_key(n))
                .collect();
            let mut state = PoolState::new(settings.clone());
            state.upsert(members.iter().map(|n| inventory[n].clone()));
            let mappings = || pool.sticky.mappings().filter_map(convert::conversation);
            state.reserve_mappings(mappings().map(|c| (c.to, c.sender)));
            for conversation in mappings() {
                state.restore_mapping(conversation);
            }
            for image in pool.opt_outs.values() {
                let (to, opt_out) = convert::opt_out(image)?;
                state.opt_out(to, opt_out);
            }
            pools.push(RestoredPool {
                uid,
                id,
                settings,
                created_at: pool.header.created_at,
                updated_at: pool.header.updated_at,
                members,
                state,
            });
        }
        let opt_out_signals = self
            .opt_out_signals
            .iter()
            .filter_map(|(&(sender, to), &at)| {
                Some((
                    (Msisdn::from_u64(sender).ok()?, Msisdn::from_u64(to).ok()?),
                    at,
                ))
            })
            .collect();
        Ok(RestoredAccount {
            inventory,
            pools,
            opt_out_signals,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::durability::image::{AccountImage, PoolImage};
    use numpool_core::model::{NumberPatch, NumberStatus};

    fn mapping(to: u64, sender: u64, last_use: u32) -> StickyImage {
        StickyImage {
            to,
            sender,
            since: last_use,
            last_use,
        }
    }

    /// The header of a pool `id` with the default settings.
    fn default_header(uid: u64, id: &str) -> PoolHeader {
        convert::pool_header(
            uid,
            &PoolId::new(id).unwrap(),
            &PoolSettings::default(),
            0,
            0,
        )
    }

    /// A state with account `a` holding pool uid 1 (members 10 and 20) with `sticky` mappings.
    fn one_pool(sticky: Vec<StickyImage>) -> WorkingState {
        let header = default_header(1, "p");
        WorkingState::from_image(StateImage {
            next_pool_uid: 2,
            accounts: vec![AccountImage {
                id: "a".into(),
                numbers: Vec::new(),
                pools: vec![PoolImage {
                    header,
                    members: vec![10, 20],
                    sticky,
                    opt_outs: Vec::new(),
                }],
                opt_out_signals: Vec::new(),
            }],
        })
    }

    /// Pool 1's live mappings after replay, by recipient.
    fn live_mappings(mut state: WorkingState) -> Vec<StickyImage> {
        let pool = state
            .accounts
            .remove("a")
            .unwrap()
            .pools
            .remove(&1)
            .unwrap();
        let mut mappings: Vec<_> = pool.sticky.mappings().collect();
        mappings.sort_by_key(|m| m.to);
        mappings
    }

    /// A restored pool's sticky table holds what a live pool's grown by the same mappings holds:
    /// no slot reserved where the live pool has none. 5,000 empty pools cost 36 MB running and
    /// 116 MB restored when restoring reserved every shard's smallest table (issue 13).
    #[test]
    fn a_restored_pool_costs_what_a_live_one_does() {
        let senders: Vec<u64> = (1..=3).map(|i| 447_700_900_000 + i).collect();
        let header = |uid: u64| default_header(uid, &format!("p{uid}"));
        // Pools with no mapping, one, a few (fewer than the shards) and many.
        let sizes = [0u64, 1, 12, 3_000];
        let pools = sizes
            .iter()
            .enumerate()
            .map(|(uid, &mappings)| PoolImage {
                header: header(uid as u64),
                members: if uid == 0 {
                    Vec::new()
                } else {
                    senders.clone()
                },
                sticky: (0..mappings)
                    .map(|i| mapping(447_911_000_000 + i, senders[i as usize % 3], 5))
                    .collect(),
                opt_outs: Vec::new(),
            })
            .collect();
        let numbers = senders
            .iter()
            .map(|&number| NumberImage {
                number,
                network: None,
                kind: None,
                weight: 1,
                status: "active".into(),
                mps_bits: None,
                burst: 1,
                daily_new_conversations: None,
            })
            .collect();
        let mut state = WorkingState::from_image(StateImage {
            next_pool_uid: sizes.len() as u64,
            accounts: vec![AccountImage {
                id: "a".into(),
                numbers,
                pools,
                opt_out_signals: Vec::new(),
            }],
        });
        let restored = state.accounts.remove("a").unwrap().restore().unwrap();
        for (pool, &mappings) in restored.pools.iter().zip(&sizes) {
            // The same pool grown live: created empty, members added, then one mapping at a
            // time, as picks record them.
            let mut live = PoolState::new(pool.settings.clone());
            if mappings > 0 {
                live.upsert(pool.members.iter().map(|n| {
                    convert::owned_number(&NumberImage {
                        number: n.get(),
                        network: None,
                        kind: None,
                        weight: 1,
                        status: "active".into(),
                        mps_bits: None,
                        burst: 1,
                        daily_new_conversations: None,
                    })
                    .unwrap()
                }));
            }
            for i in 0..mappings {
                let to = Msisdn::from_u64(447_911_000_000 + i).unwrap();
                let sender = Msisdn::from_u64(senders[i as usize % 3]).unwrap();
                assert!(live.restore_mapping(numpool_core::select::Conversation {
                    to,
                    sender,
                    since: 4,
                    last_use: 5
                }));
            }
            assert_eq!(pool.state.sticky_len(), mappings as usize);
            assert_eq!(
                pool.state.sticky_capacity(),
                live.sticky_capacity(),
                "pool with {mappings} mappings"
            );
        }
    }

    /// Journal records replayed over a snapshot's mappings override them: reassigned, removed,
    /// removed then assigned again, new; the untouched ones stay.
    #[test]
    fn journal_changes_override_snapshot_mappings() {
        let mut state = one_pool((1..=4).map(|to| mapping(to, 10, 5)).collect());
        for record in [
            Record::StickyAssign {
                uid: 1,
                mapping: mapping(1, 20, 6),
            },
            Record::StickyRemove { uid: 1, to: 2 },
            Record::StickyRemove { uid: 1, to: 3 },
            Record::StickyAssign {
                uid: 1,
                mapping: mapping(3, 20, 7),
            },
            Record::StickyAssign {
                uid: 1,
                mapping: mapping(9, 10, 8),
            },
        ] {
            state.apply(record);
        }
        assert_eq!(
            live_mappings(state),
            vec![
                mapping(1, 20, 6),
                mapping(3, 20, 7),
                mapping(4, 10, 5),
                mapping(9, 10, 8)
            ]
        );
    }

    /// A number that left the pool takes its mappings with it, even when it joins again before
    /// the crash: the running engine had invalidated them, so recovery must not revive them.
    /// Mappings made after it rejoined stay.
    #[test]
    fn mappings_to_a_departed_number_stay_dead_after_it_rejoins() {
        let mut state = one_pool(vec![mapping(1, 10, 5), mapping(2, 20, 5)]);
        let members = |numbers: Vec<u64>| (String::from("a"), 1, numbers, 9);
        let (account, uid, numbers, at) = members(vec![10]);
        for record in [
            Record::StickyAssign {
                uid: 1,
                mapping: mapping(3, 10, 6),
            },
            Record::RemoveMembers {
                account: account.clone(),
                uid,
                numbers: numbers.clone(),
                at,
            },
            Record::AddMembers {
                account,
                uid,
                numbers,
                at,
            },
            Record::StickyAssign {
                uid: 1,
                mapping: mapping(4, 10, 7),
            },
        ] {
            state.apply(record);
        }
        assert_eq!(
            live_mappings(state),
            vec![mapping(2, 20, 5), mapping(4, 10, 7)]
        );
    }

    /// A journal written by format version 1 upserts numbers without a status: they replay as
    /// active, and a later record with a status sets it.
    #[test]
    fn version_1_upserts_replay_as_active_numbers() {
        use crate::durability::image_v1::NumberImageV1;
        let mut state = WorkingState::default();
        state.apply(Record::UpsertNumbers {
            account: "a".into(),
            numbers: vec![NumberImageV1 {
                number: 447700900001,
                network: None,
                kind: None,
                weight: 3,
            }],
        });
        let restored = state.accounts.remove("a").unwrap().restore().unwrap();
        let number = Msisdn::from_u64(447700900001).unwrap();
        let owned = &restored.inventory[&number];
        assert_eq!((owned.weight, owned.status), (3, NumberStatus::Active));
        let mut state = WorkingState::default();
        let suspended = owned.patched(&NumberPatch {
            status: Some(NumberStatus::Suspended),
            ..NumberPatch::default()
        });
        state.apply(Record::PutNumbers {
            account: "a".into(),
            numbers: vec![convert::number_image(&suspended)],
        });
        let restored = state.accounts.remove("a").unwrap().restore().unwrap();
        assert_eq!(restored.inventory[&number].status, NumberStatus::Suspended);
    }

    /// A journal written by format version 2 puts numbers without limits: they replay as
    /// unlimited, and a later record with limits sets them, exactly.
    #[test]
    fn version_2_puts_replay_as_unlimited_numbers_and_limits_replay() {
        use crate::durability::image_v2::NumberImageV2;
        use numpool_core::model::{Limits, Mps};
        let mut state = WorkingState::default();
        state.apply(Record::PutNumbersV2 {
            account: "a".into(),
            numbers: vec![NumberImageV2 {
                number: 447700900001,
                network: None,
                kind: None,
                weight: 3,
                status: "draining".into(),
            }],
        });
        let restored = state.accounts.remove("a").unwrap().restore().unwrap();
        let number = Msisdn::from_u64(447700900001).unwrap();
        let owned = &restored.inventory[&number];
        assert_eq!(
            (owned.status, owned.limits),
            (NumberStatus::Draining, Limits::default())
        );
        let limited = owned.patched(&NumberPatch {
            mps: Some(Some(Mps::new(0.3).unwrap())),
            burst: Some(4),
            daily_new_conversations: Some(Some(250)),
            ..NumberPatch::default()
        });
        let mut state = WorkingState::default();
        state.apply(Record::PutNumbers {
            account: "a".into(),
            numbers: vec![convert::number_image(&limited)],
        });
        let restored = state.accounts.remove("a").unwrap().restore().unwrap();
        assert_eq!(restored.inventory[&number], limited);
    }

    /// An opt-out signal's record replays; a later one for the same pair keeps its time.
    #[test]
    fn opt_out_signals_replay() {
        use crate::durability::image::OptOutSignalImage;
        let mut state = WorkingState::default();
        for at in [5, 9] {
            state.apply(Record::OptOutSignal {
                account: "a".into(),
                signal: OptOutSignalImage {
                    sender: 447700900001,
                    to: 447400123459,
                    at,
                },
            });
        }
        let restored = state.accounts.remove("a").unwrap().restore().unwrap();
        let pair = (
            Msisdn::from_u64(447700900001).unwrap(),
            Msisdn::from_u64(447400123459).unwrap(),
        );
        assert_eq!(
            restored.opt_out_signals.into_iter().collect::<Vec<_>>(),
            [(pair, 9)]
        );
    }
}
