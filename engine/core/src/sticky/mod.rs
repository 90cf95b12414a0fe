//! The sticky-sender table (DESIGN §3.2 rules 2 and 5, §3.3): recipient → the pool member it
//! was given, sharded by recipient hash so that a resize, an expiry sweep or a snapshot copy
//! touches one shard (1/64 of the table) at a time.
//!
//! An entry is 20 bytes (an 8-byte key and a 12-byte value) stored inline in its shard's slots
//! (see `shard`), so a sticky hit costs one cache miss, and memory per mapping stays between 27
//! and 53 bytes depending on where the count falls between two doublings (33.5 at P5's 10M;
//! docs/benchmarks.md).

mod shard;

use shard::Shard;

use crate::model::Msisdn;

/// Number of shards; a power of two so the shard is the top bits of the recipient hash.
pub const SHARDS: usize = 64;
const SHARD_SHIFT: u32 = u64::BITS - SHARDS.trailing_zeros();

/// Set in [`Mapping::slot_and_flags`] when the mapped number is in the recipient's country, so
/// a sticky hit on an in-country mapping needs no classification of the recipient.
const IN_COUNTRY: u32 = 1 << 31;

/// One recorded assignment.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(C)]
pub(crate) struct Mapping {
    /// The member's slot in its pool (low 31 bits) and the [`IN_COUNTRY`] flag. A slot rather
    /// than the number keeps the entry at 16 bytes; slots are never reused while a mapping may
    /// still point at them, so a removed number's mappings simply stop resolving.
    slot_and_flags: u32,
    /// Last use in seconds since the Unix epoch; drives TTL expiry, so coarse is fine.
    pub(crate) last_use: u32,
    /// When the conversation began (the mapping was made), Unix seconds: listed with it
    /// (DESIGN §3.6) and never changed by a sticky hit.
    pub(crate) since: u32,
}

impl Mapping {
    /// The value of an empty table slot (never read as a mapping).
    const EMPTY: Mapping = Mapping {
        slot_and_flags: 0,
        last_use: 0,
        since: 0,
    };

    /// A mapping to `slot` made at `since` and last used at `last_use`.
    pub(crate) fn new(slot: u32, in_country: bool, since: u32, last_use: u32) -> Self {
        debug_assert!(slot < IN_COUNTRY, "slot space exhausted");
        Mapping {
            slot_and_flags: slot | if in_country { IN_COUNTRY } else { 0 },
            last_use,
            since,
        }
    }

    /// A new conversation on `slot`, made and used at `now`.
    pub(crate) fn made(slot: u32, in_country: bool, now: u32) -> Self {
        Mapping::new(slot, in_country, now, now)
    }

    /// The same conversation moved to `slot` (compaction renumbers slots).
    pub(crate) fn on_slot(self, slot: u32) -> Self {
        Mapping::new(slot, self.in_country(), self.since, self.last_use)
    }

    /// The mapped member's slot.
    pub(crate) fn slot(self) -> u32 {
        self.slot_and_flags & !IN_COUNTRY
    }

    /// Whether the mapped number was in the recipient's country when assigned (countries of
    /// numbers never change, so it still is).
    pub(crate) fn in_country(self) -> bool {
        self.slot_and_flags & IN_COUNTRY != 0
    }

    /// Whether a mapping last used at `last_use` has expired at `now` under `ttl_seconds`.
    pub(crate) fn expired(self, ttl_seconds: u32, now: u32) -> bool {
        ttl_seconds != 0 && now.saturating_sub(self.last_use) > ttl_seconds
    }
}

/// A recipient with its precomputed hash: the hash picks the shard here and the ring position
/// in selection, so it is computed once per pick.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Key {
    /// The recipient.
    pub(crate) to: Msisdn,
    /// `hash::recipient(to)`.
    pub(crate) hash: u64,
}

impl Key {
    /// Hashes `to`.
    pub(crate) fn new(to: Msisdn) -> Self {
        Key {
            to,
            hash: crate::hash::recipient(to),
        }
    }

    fn shard(self) -> usize {
        (self.hash >> SHARD_SHIFT) as usize
    }
}

/// The table: [`SHARDS`] independent hash maps.
#[derive(Debug)]
pub(crate) struct StickyTable {
    /// Each shard maps recipient digits to its mapping.
    shards: Box<[Shard]>,
    /// Mappings per slot, kept by every insert and removal: how many conversations a number
    /// still has (DESIGN §3.4, drains) is then one read, never a scan of the table.
    per_slot: Vec<u32>,
}

impl Default for StickyTable {
    fn default() -> Self {
        StickyTable {
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
            per_slot: Vec::new(),
        }
    }
}

impl StickyTable {
    /// The mapping for `key`, if any.
    pub(crate) fn get(&self, key: Key) -> Option<Mapping> {
        self.shards[key.shard()].get(key.to.get(), key.hash)
    }

    /// Mutable access to the mapping for `key`, to refresh its last use.
    pub(crate) fn get_mut(&mut self, key: Key) -> Option<&mut Mapping> {
        self.shards[key.shard()].get_mut(key.to.get(), key.hash)
    }

    /// Records (or replaces) the mapping for `key`.
    pub(crate) fn insert(&mut self, key: Key, mapping: Mapping) {
        if let Some(old) = self.shards[key.shard()].insert(key.to.get(), key.hash, mapping) {
            uncount(&mut self.per_slot, old.slot());
        }
        count(&mut self.per_slot, mapping.slot());
    }

    /// Mappings (live or not yet swept) that point at `slot`.
    pub(crate) fn on_slot(&self, slot: u32) -> u32 {
        self.per_slot.get(slot as usize).copied().unwrap_or(0)
    }

    /// Makes room for the mappings of `keys`, each shard for exactly the keys it will hold: a
    /// table restored this way has the size the same inserts would have grown it to, and a shard
    /// no key falls in stays unallocated (an even spread reserved the smallest table in every
    /// shard, 16 KiB per pool, even for a pool with no mapping at all).
    pub(crate) fn reserve_for(&mut self, keys: impl IntoIterator<Item = Key>) {
        let mut per_shard = [0usize; SHARDS];
        for key in keys {
            per_shard[key.shard()] += 1;
        }
        for (shard, count) in self.shards.iter_mut().zip(per_shard) {
            shard.reserve(count);
        }
    }

    /// Removes the mapping for `key`, returning it.
    pub(crate) fn remove(&mut self, key: Key) -> Option<Mapping> {
        let removed = self.shards[key.shard()].remove(key.to.get(), key.hash)?;
        uncount(&mut self.per_slot, removed.slot());
        Some(removed)
    }

    /// Total mappings.
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| s.len()).sum()
    }

    /// Slots allocated over every shard (16 bytes each), full or not.
    pub(crate) fn capacity(&self) -> usize {
        self.shards.iter().map(|s| s.capacity()).sum()
    }

    /// Keeps only the mappings of shard `shard` for which `keep` holds; returns how many went.
    /// Expiry sweeps and dead-slot purges run one shard per call so a pool never stalls long.
    pub(crate) fn retain_shard(
        &mut self,
        shard: usize,
        mut keep: impl FnMut(&mut Mapping) -> bool,
    ) -> usize {
        let map = &mut self.shards[shard];
        let per_slot = &mut self.per_slot;
        let before = map.len();
        // Counted out under its old slot, back in under its new one if kept: `keep` may move a
        // mapping to another slot (compaction).
        map.retain(|m| {
            uncount(per_slot, m.slot());
            let kept = keep(m);
            if kept {
                count(per_slot, m.slot());
            }
            kept
        });
        before - map.len()
    }

    /// The mappings of one shard as `(recipient digits, mapping)` pairs, for snapshots.
    pub(crate) fn shard_entries(&self, shard: usize) -> impl Iterator<Item = (u64, Mapping)> + '_ {
        self.shards[shard].iter()
    }
}

/// Counts one more mapping on `slot`.
fn count(per_slot: &mut Vec<u32>, slot: u32) {
    let at = slot as usize;
    if at >= per_slot.len() {
        per_slot.resize(at + 1, 0);
    }
    per_slot[at] += 1;
}

/// Counts one mapping fewer on `slot`, which holds at least one.
fn uncount(per_slot: &mut [u32], slot: u32) {
    per_slot[slot as usize] -= 1;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u64) -> Key {
        Key::new(Msisdn::from_u64(n).unwrap())
    }

    #[test]
    fn mapping_packs_slot_and_flag() {
        let m = Mapping::new(12345, true, 5, 7);
        assert_eq!(
            (m.slot(), m.in_country(), m.since, m.last_use),
            (12345, true, 5, 7)
        );
        let m = Mapping::made(12345, false, 7);
        assert_eq!((m.slot(), m.in_country(), m.since), (12345, false, 7));
        assert_eq!(m.on_slot(3), Mapping::new(3, false, 7, 7));
    }

    #[test]
    fn ttl_zero_never_expires() {
        let m = Mapping::made(1, true, 100);
        assert!(!m.expired(0, u32::MAX));
        assert!(!m.expired(10, 110));
        assert!(m.expired(10, 111));
    }

    #[test]
    fn insert_get_remove_across_shards() {
        let mut table = StickyTable::default();
        for n in 0..10_000u64 {
            table.insert(key(447_700_000_000 + n), Mapping::made(n as u32, true, 0));
        }
        assert_eq!(table.len(), 10_000);
        let used = table.shards.iter().filter(|s| s.len() > 0).count();
        assert_eq!(used, SHARDS, "recipients spread over every shard");
        assert_eq!(table.get(key(447_700_000_042)).unwrap().slot(), 42);
        assert_eq!(table.remove(key(447_700_000_042)).unwrap().slot(), 42);
        assert!(table.get(key(447_700_000_042)).is_none());
        let dropped: usize = (0..SHARDS)
            .map(|s| table.retain_shard(s, |m| m.slot() % 2 == 0))
            .sum();
        assert_eq!(dropped, 5_000);
        assert_eq!(table.len(), 4_999);
    }

    #[test]
    fn mappings_are_counted_per_slot_through_every_change() {
        let mut table = StickyTable::default();
        for n in 0..100u64 {
            table.insert(
                key(447_700_000_000 + n),
                Mapping::made((n % 4) as u32, true, 0),
            );
        }
        assert_eq!(table.on_slot(1), 25);
        table.insert(key(447_700_000_001), Mapping::made(2, true, 0));
        assert_eq!((table.on_slot(1), table.on_slot(2)), (24, 26));
        table.remove(key(447_700_000_002));
        assert_eq!(table.on_slot(2), 25);
        for shard in 0..SHARDS {
            table.retain_shard(shard, |m| {
                let slot = m.slot();
                *m = m.on_slot(slot / 2);
                slot != 3
            });
        }
        assert_eq!((table.on_slot(0), table.on_slot(1)), (49, 25));
        assert_eq!((table.on_slot(2), table.on_slot(3)), (0, 0));
        assert_eq!(table.on_slot(99), 0);
    }
}
