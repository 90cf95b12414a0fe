//! One sticky shard: an open-addressing table with linear probing that stores each recipient
//! and its mapping inline, 20 bytes a slot.
//!
//! Why not `HashMap`: hashbrown keeps its control bytes apart from its entries, so a lookup in a
//! table far larger than the cache costs two dependent cache misses (control group, then entry).
//! A sticky hit is little more than that lookup (DESIGN §8 P1), so here a hit reads one slot,
//! usually one cache line. Recipients are E.164 numbers, never 0, so key 0 marks an empty slot;
//! removal shifts the following run back instead of leaving tombstones, so probe runs stay short.

use super::Mapping;
use crate::hash;

/// One slot: a recipient's digits (0 when empty) and its mapping. Packed to 4-byte alignment
/// so a slot is 20 bytes, not 24: the key is only ever copied out, never borrowed, and the
/// mapping's fields are all `u32`, so nothing is read misaligned.
#[derive(Clone, Copy, Debug)]
#[repr(C, packed(4))]
struct Slot {
    /// Recipient digits; 0 marks an empty slot.
    key: u64,
    /// The mapping of `key`.
    mapping: Mapping,
}

const EMPTY: Slot = Slot {
    key: 0,
    mapping: Mapping::EMPTY,
};

/// The table grows when it would be fuller than 3/4: linear probing's runs lengthen quickly
/// past that, and unsuccessful lookups (every new recipient) pay for the whole run.
const MAX_LOAD_NUMERATOR: usize = 3;
const MAX_LOAD_DENOMINATOR: usize = 4;
/// Smallest non-empty table.
const MIN_SLOTS: usize = 16;

/// The table.
#[derive(Debug, Default)]
pub(crate) struct Shard {
    /// A power of two number of slots, or none before the first insert.
    slots: Vec<Slot>,
    /// Occupied slots.
    len: usize,
}

/// The home slot of a key: the recipient hash's low bits (its top bits chose the shard).
fn home(hash: u64, mask: usize) -> usize {
    hash as usize & mask
}

fn hash_of(key: u64) -> u64 {
    hash::recipient_digits(key)
}

impl Shard {
    /// Occupied slots.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Slots allocated, full or not.
    pub(crate) fn capacity(&self) -> usize {
        self.slots.len()
    }

    fn mask(&self) -> usize {
        self.slots.len().wrapping_sub(1)
    }

    /// The slot holding `key`, probing from its home.
    fn find(&self, key: u64, hash: u64) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.mask();
        let mut at = home(hash, mask);
        loop {
            let slot = &self.slots[at];
            if slot.key == key {
                return Some(at);
            }
            if slot.key == 0 {
                return None;
            }
            at = (at + 1) & mask;
        }
    }

    /// The mapping of `key` (whose recipient hash is `hash`).
    pub(crate) fn get(&self, key: u64, hash: u64) -> Option<Mapping> {
        self.find(key, hash).map(|at| self.slots[at].mapping)
    }

    /// Mutable access to the mapping of `key`.
    pub(crate) fn get_mut(&mut self, key: u64, hash: u64) -> Option<&mut Mapping> {
        let at = self.find(key, hash)?;
        Some(&mut self.slots[at].mapping)
    }

    /// Sets the mapping of `key`, returning the one it replaced.
    pub(crate) fn insert(&mut self, key: u64, hash: u64, mapping: Mapping) -> Option<Mapping> {
        if let Some(at) = self.find(key, hash) {
            return Some(std::mem::replace(&mut self.slots[at].mapping, mapping));
        }
        if (self.len + 1) * MAX_LOAD_DENOMINATOR > self.slots.len() * MAX_LOAD_NUMERATOR {
            self.resize((self.slots.len() * 2).max(MIN_SLOTS));
        }
        self.place(key, hash, mapping);
        None
    }

    /// Puts a key known to be absent into its first free slot (there is one: load ≤ 3/4).
    fn place(&mut self, key: u64, hash: u64, mapping: Mapping) {
        let mask = self.mask();
        let mut at = home(hash, mask);
        while self.slots[at].key != 0 {
            at = (at + 1) & mask;
        }
        self.slots[at] = Slot { key, mapping };
        self.len += 1;
    }

    /// Removes `key`, returning its mapping. The run after it shifts back over the hole, so
    /// every remaining key stays reachable from its home without tombstones.
    pub(crate) fn remove(&mut self, key: u64, hash: u64) -> Option<Mapping> {
        let mut hole = self.find(key, hash)?;
        let removed = self.slots[hole].mapping;
        let mask = self.mask();
        let mut next = hole;
        loop {
            next = (next + 1) & mask;
            let slot = self.slots[next];
            if slot.key == 0 {
                break;
            }
            // The slot may fill the hole unless its home lies cyclically in (hole, next].
            let from_home = next.wrapping_sub(home(hash_of(slot.key), mask)) & mask;
            let from_hole = next.wrapping_sub(hole) & mask;
            if from_home >= from_hole {
                self.slots[hole] = slot;
                hole = next;
            }
        }
        self.slots[hole] = EMPTY;
        self.len -= 1;
        Some(removed)
    }

    /// Makes room for `additional` more keys without growing step by step: the size inserting
    /// them one by one would reach (the smallest power of two, at least [`MIN_SLOTS`], that
    /// holds them at the maximum load), and nothing at all for a shard that stays empty.
    pub(crate) fn reserve(&mut self, additional: usize) {
        let keys = self.len + additional;
        if keys == 0 {
            return;
        }
        let needed = (keys * MAX_LOAD_DENOMINATOR).div_ceil(MAX_LOAD_NUMERATOR);
        let slots = needed.next_power_of_two().max(MIN_SLOTS);
        if slots > self.slots.len() {
            self.resize(slots);
        }
    }

    /// Keeps the mappings for which `keep` holds (it may also change them); rebuilds the table
    /// at the same size, which is simpler than shifting runs for each removal and costs one
    /// pass either way.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&mut Mapping) -> bool) {
        let size = self.slots.len();
        let old = std::mem::replace(&mut self.slots, vec![EMPTY; size]);
        self.len = 0;
        for mut slot in old.into_iter().filter(|s| s.key != 0) {
            if keep(&mut slot.mapping) {
                self.place(slot.key, hash_of(slot.key), slot.mapping);
            }
        }
    }

    /// The occupied slots as `(recipient digits, mapping)`.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u64, Mapping)> + '_ {
        self.slots
            .iter()
            .filter(|s| s.key != 0)
            .map(|s| (s.key, s.mapping))
    }

    fn resize(&mut self, slots: usize) {
        let old = std::mem::replace(&mut self.slots, vec![EMPTY; slots]);
        self.len = 0;
        for slot in old.into_iter().filter(|s| s.key != 0) {
            self.place(slot.key, hash_of(slot.key), slot.mapping);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::*;

    fn hashed(key: u64) -> (u64, u64) {
        (key, hash_of(key))
    }

    #[derive(Clone, Debug)]
    enum Op {
        Insert(u64, u32),
        Remove(u64),
        RetainEven,
    }

    fn op() -> impl Strategy<Value = Op> {
        // A small key space so inserts, removals and collisions meet often.
        let key = (0u64..300).prop_map(|k| 447_700_900_000 + k);
        prop_oneof![
            6 => (key.clone(), any::<u32>()).prop_map(|(k, v)| Op::Insert(k, v)),
            3 => key.prop_map(Op::Remove),
            1 => Just(Op::RetainEven),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// The table behaves like a `HashMap` under any sequence of inserts, removals (with
        /// their backward shifts) and retains, across growth.
        #[test]
        fn behaves_like_a_hash_map(ops in proptest::collection::vec(op(), 1..400)) {
            let mut shard = Shard::default();
            let mut model: HashMap<u64, Mapping> = HashMap::new();
            for op in ops {
                match op {
                    Op::Insert(k, v) => {
                        let (key, hash) = hashed(k);
                        let mapping = Mapping::new(v >> 1, v & 1 == 1, v / 3, v);
                        shard.insert(key, hash, mapping);
                        model.insert(key, mapping);
                    }
                    Op::Remove(k) => {
                        let (key, hash) = hashed(k);
                        prop_assert_eq!(shard.remove(key, hash), model.remove(&key));
                    }
                    Op::RetainEven => {
                        shard.retain(|m| m.last_use % 2 == 0);
                        model.retain(|_, m| m.last_use % 2 == 0);
                    }
                }
                prop_assert_eq!(shard.len(), model.len());
            }
            for (key, mapping) in &model {
                prop_assert_eq!(shard.get(*key, hash_of(*key)), Some(*mapping));
            }
            let mut listed: Vec<_> = shard.iter().collect();
            listed.sort_by_key(|(k, _)| *k);
            let mut expected: Vec<_> = model.into_iter().collect();
            expected.sort_by_key(|(k, _)| *k);
            prop_assert_eq!(listed, expected);
        }
    }

    #[test]
    fn a_slot_is_twenty_bytes() {
        assert_eq!(std::mem::size_of::<Slot>(), 20);
    }

    /// Reserving gives the size the same inserts grow the table to, and no table for no keys.
    #[test]
    fn reserve_matches_growth() {
        for keys in [0u64, 1, 12, 13, 24, 25, 1_000] {
            let mut grown = Shard::default();
            for k in 0..keys {
                let (key, hash) = hashed(447_700_000_000 + k);
                grown.insert(key, hash, Mapping::made(1, true, 1));
            }
            let mut reserved = Shard::default();
            reserved.reserve(keys as usize);
            assert_eq!(reserved.capacity(), grown.capacity(), "{keys} keys");
        }
    }

    #[test]
    fn reserve_sizes_once_and_keeps_entries() {
        let mut shard = Shard::default();
        let (key, hash) = hashed(447_700_900_001);
        shard.insert(key, hash, Mapping::made(1, true, 1));
        shard.reserve(1_000);
        let slots = shard.slots.len();
        assert!(slots * 3 / 4 >= 1_001, "{slots}");
        for k in 0..1_000 {
            let (key, hash) = hashed(447_700_000_000 + k);
            shard.insert(key, hash, Mapping::made(2, false, 2));
        }
        assert_eq!(shard.slots.len(), slots, "no growth after reserve");
        assert_eq!(shard.get(key, hash), Some(Mapping::made(1, true, 1)));
    }
}
