//! One pool's selection state: its members by slot, their index and its sticky table. The pool
//! actor owns one; benches and tests use it directly, with no actor in between.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use super::index::{PoolIndex, Standing};
use super::throughput::{Meter, Now};
use crate::delivery::{HealthFigures, HealthState, HealthTrack, ReceiptClass};
use crate::model::{Msisdn, OptOut, OwnedNumber, PoolSettings};
use crate::sticky::{Key, Mapping, StickyTable, SHARDS};

/// Dead slots tolerated before [`PoolState`] compacts them (and rewrites the sticky table):
/// compaction costs a pass over every mapping, so it waits until removals are many.
const MIN_DEAD_SLOTS_TO_COMPACT: usize = 4_096;

/// A sticky mapping as the pool's API sees it: a conversation between a recipient and one of
/// the pool's numbers (DESIGN §3.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conversation {
    /// The recipient.
    pub to: Msisdn,
    /// The pool number the recipient sticks to.
    pub sender: Msisdn,
    /// When the mapping was made, Unix seconds.
    pub since: u32,
    /// Its last use (a pick or an inbound reply), Unix seconds: what the pool's TTL runs from.
    pub last_use: u32,
}

/// A pool's members, index, sticky table and settings.
#[derive(Debug)]
pub struct PoolState {
    /// How this pool selects.
    pub(super) settings: PoolSettings,
    /// Members by slot. A removed member leaves `None`: sticky mappings hold slots, and a slot
    /// that is never reused cannot send a recipient to the wrong number.
    pub(super) slots: Vec<Option<OwnedNumber>>,
    /// Slot of each live member.
    pub(super) by_number: FxHashMap<Msisdn, u32>,
    /// Candidate sets per tier, rebuilt after each batch of membership changes.
    pub(super) index: PoolIndex,
    /// Recipient → slot.
    pub(super) sticky: StickyTable,
    /// Source of weighted-random choices for non-predictable pools.
    pub(super) rng: fastrand::Rng,
    /// Throughput state by slot, beside `slots`: a member's rate and daily count are the
    /// pool's own (DESIGN §3.3).
    pub(super) meters: Vec<Meter>,
    /// Recipients who asked this pool for nothing more (DESIGN §3.5), in recipient order for
    /// paging; a pick for one of them is refused (rule 2).
    pub(super) opt_outs: BTreeMap<Msisdn, OptOut>,
    /// Health by slot, beside `slots`, under this pool's thresholds (DESIGN §3.4): moved by
    /// the receipts the engine passes on, starting healthy (windows are not persisted).
    pub(super) health: Vec<HealthTrack>,
    /// The UTC day the index's daily allowances were judged for: a pick on a later day
    /// rebuilds the index, so numbers at yesterday's allowance take conversations again.
    index_day: u32,
    /// The time, Unix seconds, the index's health standings were judged at.
    index_secs: u64,
    /// When an unhealthy member goes on probation by itself, the earliest of them, in a pool
    /// that acts on health: a pick from then rebuilds the index.
    health_review_at: u64,
    /// Set when a pick brings a number to its daily allowance: the next pick rebuilds the
    /// index without it (once per number per day at most).
    pub(super) index_stale: bool,
}

impl PoolState {
    /// An empty pool.
    pub fn new(settings: PoolSettings) -> Self {
        PoolState {
            settings,
            slots: Vec::new(),
            by_number: FxHashMap::default(),
            index: PoolIndex::default(),
            sticky: StickyTable::default(),
            rng: fastrand::Rng::new(),
            meters: Vec::new(),
            health: Vec::new(),
            opt_outs: BTreeMap::new(),
            index_day: 0,
            index_secs: 0,
            health_review_at: u64::MAX,
            index_stale: false,
        }
    }

    /// The pool's settings.
    pub fn settings(&self) -> &PoolSettings {
        &self.settings
    }

    /// Replaces the settings. Mappings stay: a pool switched off predictable and back on
    /// resumes its conversations (TTL still applies). Health, type priority and geomatch
    /// decide the index, so it is rebuilt.
    pub fn set_settings(&mut self, settings: PoolSettings) {
        self.settings = settings;
        self.reindex();
    }

    /// Opts `to` out of the pool, or records the opt-out's new time and reason; whether it
    /// was not opted out before.
    pub fn opt_out(&mut self, to: Msisdn, opt_out: OptOut) -> bool {
        self.opt_outs.insert(to, opt_out).is_none()
    }

    /// Lifts `to`'s opt-out; whether there was one.
    pub fn opt_in(&mut self, to: Msisdn) -> bool {
        self.opt_outs.remove(&to).is_some()
    }

    /// How many recipients have opted out.
    pub fn opt_out_count(&self) -> usize {
        self.opt_outs.len()
    }

    /// `to`'s opt-out, if it has one.
    pub fn opted_out(&self, to: Msisdn) -> Option<OptOut> {
        self.opt_outs.get(&to).copied()
    }

    /// The opt-outs in recipient order, `skip` of them skipped, at most `take`; and how many
    /// there are in all.
    pub fn opt_out_page(&self, skip: usize, take: usize) -> (Vec<(Msisdn, OptOut)>, usize) {
        let page = self.opt_outs.iter().skip(skip).take(take);
        (page.map(|(to, o)| (*to, *o)).collect(), self.opt_outs.len())
    }

    /// Moves `number`'s health for a receipt of `class` at `now` (Unix seconds), after which
    /// its account-wide window holds `figures`; rebuilds the index when that changes whether
    /// (or how much) a pool acting on health may pick it. A number not in the pool is ignored.
    pub fn observe_receipt(
        &mut self,
        number: Msisdn,
        class: ReceiptClass,
        figures: &HealthFigures,
        now: u64,
    ) {
        let Some(&slot) = self.by_number.get(&number) else {
            return;
        };
        let thresholds = &self.settings.health;
        let track = &mut self.health[slot as usize];
        let before = track.at(now, thresholds).0;
        track.observe(class, figures, now, thresholds);
        if self.settings.skip_unhealthy && track.at(now, thresholds).0 != before {
            self.index_secs = self.index_secs.max(now);
            self.reindex();
        }
    }

    /// `number`'s health state under this pool's thresholds at `now`, and since when; `None`
    /// when it is not in the pool.
    pub fn health(&self, number: Msisdn, now: u64) -> Option<(HealthState, Option<u64>)> {
        let slot = *self.by_number.get(&number)?;
        Some(self.health[slot as usize].at(now, &self.settings.health))
    }

    /// How many numbers are in the pool.
    pub(crate) fn len(&self) -> usize {
        self.by_number.len()
    }

    /// Whether `number` is in the pool.
    #[cfg(test)]
    pub(crate) fn contains(&self, number: Msisdn) -> bool {
        self.by_number.contains_key(&number)
    }

    /// How many conversations (sticky mappings, live or not yet swept) are on `number`;
    /// `None` when it is not in the pool. One read: the table counts them per slot.
    pub fn conversations(&self, number: Msisdn) -> Option<u32> {
        let slot = *self.by_number.get(&number)?;
        Some(self.sticky.on_slot(slot))
    }

    /// The member in `slot`, if it is still in the pool.
    pub(crate) fn member(&self, slot: u32) -> Option<&OwnedNumber> {
        self.slots.get(slot as usize).and_then(Option::as_ref)
    }

    /// Adds `numbers`, or refreshes the details (network, weight…) of those already in the
    /// pool; existing members keep their slot and so their mappings. Returns, per number,
    /// whether it was new.
    pub fn upsert(&mut self, numbers: impl IntoIterator<Item = OwnedNumber>) -> Vec<bool> {
        let added = numbers
            .into_iter()
            .map(|number| match self.by_number.get(&number.number) {
                Some(&slot) => {
                    self.slots[slot as usize] = Some(number);
                    false
                }
                None => {
                    let slot = u32::try_from(self.slots.len()).expect("slot space exhausted");
                    self.by_number.insert(number.number, slot);
                    self.slots.push(Some(number));
                    self.meters.push(Meter::default());
                    self.health.push(HealthTrack::default());
                    true
                }
            })
            .collect();
        self.reindex();
        added
    }

    /// Removes `numbers` (DESIGN §3.2 rule 6): their mappings stop resolving at once and are
    /// dropped by the next pick or sweep that meets them. Returns, per number, whether it was
    /// in the pool.
    pub fn remove(&mut self, numbers: &[Msisdn]) -> Vec<bool> {
        let removed = numbers
            .iter()
            .map(|number| match self.by_number.remove(number) {
                Some(slot) => {
                    self.slots[slot as usize] = None;
                    true
                }
                None => false,
            })
            .collect();
        if self.slots.len() - self.by_number.len() >= MIN_DEAD_SLOTS_TO_COMPACT.max(self.len()) {
            self.compact();
        }
        self.reindex();
        removed
    }

    /// The live sender mapped to `to` (DESIGN §4 `STICKY.GET`): `None` when there is no
    /// mapping, or it points at a removed number, or it expired.
    pub fn sticky_get(&self, to: Msisdn, now: u32) -> Option<Msisdn> {
        self.conversation(to, now).map(|c| c.sender)
    }

    /// Drops the mapping of `to`; whether a live one was removed (DESIGN §4 `STICKY.DEL`).
    pub fn sticky_del(&mut self, to: Msisdn, now: u32) -> bool {
        let live = self.sticky_get(to, now).is_some();
        self.sticky.remove(Key::new(to));
        live
    }

    /// Withdraws the mapping `to → sender` if it is still that one: a pick's new mapping whose
    /// record could not be stored, so it must not be served (DESIGN §6).
    pub fn sticky_forget(&mut self, to: Msisdn, sender: Msisdn) {
        let key = Key::new(to);
        let maps_to_sender = self
            .sticky
            .get(key)
            .and_then(|mapping| self.member(mapping.slot()))
            .is_some_and(|member| member.number == sender);
        if maps_to_sender {
            self.sticky.remove(key);
        }
    }

    /// Number of mappings, live or not yet swept.
    pub fn sticky_len(&self) -> usize {
        self.sticky.len()
    }

    /// Slots the sticky table has allocated (16 bytes each), full or not: what its mappings
    /// cost in memory, so a restored pool can be checked to cost what a live one does.
    pub fn sticky_capacity(&self) -> usize {
        self.sticky.capacity()
    }

    /// Drops the expired and dead mappings of one sticky shard; returns how many went. Called
    /// for one shard at a time so a sweep never stalls picks for long.
    pub fn sweep_shard(&mut self, shard: usize, now: u32) -> usize {
        let ttl = self.settings.sticky_ttl_seconds;
        let slots = &self.slots;
        self.sticky.retain_shard(shard % SHARDS, |m| {
            !m.expired(ttl, now) && slots.get(m.slot() as usize).is_some_and(Option::is_some)
        })
    }

    /// The mappings of one shard whose sender is still in the pool (expired ones not yet swept
    /// included: a snapshot keeps what the table holds), for snapshots and listings.
    pub fn sticky_entries(&self, shard: usize) -> impl Iterator<Item = Conversation> + '_ {
        self.sticky
            .shard_entries(shard)
            .filter_map(|(to, m)| self.conversation_of(to, m))
    }

    /// The conversation a table entry stands for, if its sender is still in the pool.
    fn conversation_of(&self, to: u64, mapping: Mapping) -> Option<Conversation> {
        Some(Conversation {
            to: Msisdn::from_u64(to).ok()?,
            sender: self.member(mapping.slot())?.number,
            since: mapping.since,
            last_use: mapping.last_use,
        })
    }

    /// The live conversations of one shard (unexpired, sender still in the pool), optionally
    /// only those on `sender`, in recipient order, `skip` of them skipped and at most `take`
    /// returned; and how many the shard has. A page of a listing is built from these one shard
    /// at a time (DESIGN §3.6), so a listing never holds the pool for more than a shard, and a
    /// shard the page does not reach is only counted, never copied or sorted.
    pub fn conversation_slice(
        &self,
        shard: usize,
        sender: Option<Msisdn>,
        (skip, take): (usize, usize),
        now: u32,
    ) -> (Vec<Conversation>, usize) {
        let ttl = self.settings.sticky_ttl_seconds;
        let slot = match sender {
            Some(number) => match self.by_number.get(&number) {
                Some(&slot) => Some(slot),
                None => return (Vec::new(), 0),
            },
            None => None,
        };
        let live = || {
            self.sticky.shard_entries(shard).filter(move |(_, m)| {
                !m.expired(ttl, now)
                    && slot.is_none_or(|s| s == m.slot())
                    && self.member(m.slot()).is_some()
            })
        };
        let count = live().count();
        if take == 0 || skip >= count {
            return (Vec::new(), count);
        }
        let mut page: Vec<Conversation> = live()
            .filter_map(|(to, m)| self.conversation_of(to, m))
            .collect();
        page.sort_unstable_by_key(|c| c.to);
        (page.into_iter().skip(skip).take(take).collect(), count)
    }

    /// The live conversation of `to`, if it has one.
    pub fn conversation(&self, to: Msisdn, now: u32) -> Option<Conversation> {
        let mapping = self.sticky.get(Key::new(to))?;
        if mapping.expired(self.settings.sticky_ttl_seconds, now) {
            return None;
        }
        self.conversation_of(to.get(), mapping)
    }

    /// Refreshes the last use of `to`'s conversation if it is live and on `sender` (an inbound
    /// reply keeps it alive, DESIGN §3.6); the conversation as it now is.
    pub fn touch_conversation(
        &mut self,
        to: Msisdn,
        sender: Msisdn,
        now: u32,
    ) -> Option<Conversation> {
        let slot = *self.by_number.get(&sender)?;
        let ttl = self.settings.sticky_ttl_seconds;
        let mapping = self.sticky.get_mut(Key::new(to))?;
        if mapping.slot() != slot || mapping.expired(ttl, now) {
            return None;
        }
        mapping.last_use = mapping.last_use.max(now);
        Some(Conversation {
            to,
            sender,
            since: mapping.since,
            last_use: mapping.last_use,
        })
    }

    /// Makes room at once for the mappings about to be restored, as `(recipient, sender)`, so
    /// restoring millions does not grow the table step by step, rehashing at each step. Only
    /// those [`PoolState::restore_mapping`] would keep (their sender is a member) count, and
    /// each shard gets exactly its share: the restored table is the size the live one was.
    pub fn reserve_mappings(&mut self, mappings: impl IntoIterator<Item = (Msisdn, Msisdn)>) {
        let by_number = &self.by_number;
        self.sticky.reserve_for(
            mappings
                .into_iter()
                .filter(|(_, sender)| by_number.contains_key(sender))
                .map(|(to, _)| Key::new(to)),
        );
    }

    /// Restores a mapping (from a snapshot or journal). Ignored when its sender is no longer
    /// in the pool, or the recipient cannot be classified.
    pub fn restore_mapping(&mut self, mapping: Conversation) -> bool {
        let Conversation {
            to,
            sender,
            since,
            last_use,
        } = mapping;
        let Some(&slot) = self.by_number.get(&sender) else {
            return false;
        };
        let Ok(recipient) = crate::model::classify::classifier().classify(to) else {
            return false;
        };
        let in_country = self.slots[slot as usize]
            .as_ref()
            .is_some_and(|m| m.country == recipient.country);
        self.sticky.insert(
            Key::new(to),
            Mapping::new(slot, in_country, since, last_use),
        );
        true
    }

    /// Rebuilds the index when the UTC day of `now` is not the one it was built for, a
    /// number reached its allowance since, or an unhealthy number's probation began (DESIGN
    /// §3.2 rule 4): called before each pick, it costs two comparisons when nothing changed.
    pub(super) fn judge_eligibility(&mut self, now: Now) {
        let (day, secs) = (now.day(), u64::from(now.secs()));
        if self.index_stale || day != self.index_day || secs >= self.health_review_at {
            self.index_day = day;
            self.index_secs = self.index_secs.max(secs);
            self.reindex();
        }
    }

    fn reindex(&mut self) {
        let (day, secs) = (self.index_day, self.index_secs);
        let act_on_health = self.settings.skip_unhealthy;
        let thresholds = &self.settings.health;
        let mut review_at = u64::MAX;
        let members = self
            .slots
            .iter()
            .zip(self.meters.iter().zip(&self.health))
            .enumerate()
            .filter_map(|(slot, (m, (meter, health)))| {
                let m = m.as_ref()?;
                let state = if act_on_health {
                    if let Some(at) = health.probation_from(thresholds).filter(|&at| at > secs) {
                        review_at = review_at.min(at);
                    }
                    health.at(secs, thresholds).0
                } else {
                    HealthState::Healthy
                };
                let standing = match state {
                    HealthState::Unhealthy => Standing::Unhealthy,
                    _ if meter.at_allowance(&m.limits, day) => Standing::AtAllowance,
                    HealthState::Probation => Standing::Probation,
                    HealthState::Healthy => Standing::Eligible,
                };
                Some((slot as u32, m, standing))
            });
        self.index = PoolIndex::build(members, &self.settings.type_priority);
        self.health_review_at = review_at;
        self.index_stale = false;
    }

    /// Renumbers live members densely and rewrites the sticky table to match, dropping
    /// mappings to removed members.
    fn compact(&mut self) {
        let mut renumber = vec![u32::MAX; self.slots.len()];
        let old = std::mem::take(&mut self.slots);
        let old_meters = std::mem::take(&mut self.meters);
        let old_health = std::mem::take(&mut self.health);
        let kept = old.into_iter().zip(old_meters.into_iter().zip(old_health));
        for (old_slot, (member, (meter, health))) in kept.enumerate() {
            if let Some(member) = member {
                renumber[old_slot] = self.slots.len() as u32;
                self.by_number
                    .insert(member.number, self.slots.len() as u32);
                self.slots.push(Some(member));
                self.meters.push(meter);
                self.health.push(health);
            }
        }
        for shard in 0..SHARDS {
            self.sticky
                .retain_shard(shard, |m| match renumber.get(m.slot() as usize).copied() {
                    Some(new_slot) if new_slot != u32::MAX => {
                        *m = m.on_slot(new_slot);
                        true
                    }
                    _ => false,
                });
        }
    }
}
