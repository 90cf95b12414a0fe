//! The pick (DESIGN §3.2): one recipient in, one sender and reason (or a rejection) out.

use super::candidates::CandidateSet;
use super::index::PoolIndex;
use super::state::PoolState;
use super::throughput::{wait_ms, Meter, Now};
use super::{Pick, PickError, PickRequest, Reason, Rejection, Sender};
use crate::delivery::{HealthState, HealthTrack};
use crate::model::classify::{classifier, Recipient};
use crate::model::{Country, Fallback, OwnedNumber, PoolSettings, SenderId};
use crate::sticky::{Key, Mapping, StickyTable};

/// Picks a sender for `request` at time `now`, recording or refreshing the sticky mapping of a
/// predictable pool and charging the sender's throughput.
pub fn pick(state: &mut PoolState, request: &PickRequest<'_>, now: Now) -> Result<Pick, PickError> {
    // Rule 2: before anything else, fallbacks included. Most pools have no opt-out, and then
    // it costs one comparison.
    if !state.opt_outs.is_empty() && state.opt_outs.contains_key(&request.to) {
        return Err(PickError::OptedOut);
    }
    let from = request
        .from
        .map(SenderId::new)
        .transpose()
        .map_err(PickError::InvalidSender)?;
    let key = Key::new(request.to);
    let predictable = state.settings.predictable_sender_preferred;
    state.judge_eligibility(now);
    let mut recipient = None;
    if predictable {
        if let Some(pick) = sticky_hit(state, key, request.segments, &mut recipient, now)? {
            return Ok(pick);
        }
    }
    // Rule 1: a recipient must be classifiable, whatever the pool's settings.
    let recipient = match recipient {
        Some(r) => r,
        None => classifier().classify(request.to)?,
    };
    let members = state.len();
    let PoolState {
        settings,
        slots,
        index,
        sticky,
        rng,
        meters,
        index_stale,
        ..
    } = state;
    let mut chooser = Chooser {
        slots,
        meters,
        index_stale,
        sticky: predictable.then_some(sticky),
        rng,
        key,
        recipient: &recipient,
        segments: request.segments,
        now,
    };
    // Rule 4: the candidates, eligible numbers only.
    let candidates = if settings.localized_sender_preferred {
        index.localized(&recipient, request.network, settings.geomatch)
    } else {
        Some((index.any(), Reason::Any)).filter(|(set, _)| !set.is_empty())
    };
    if let Some((set, reason)) = candidates {
        return Ok(chooser.choose(set, reason));
    }
    // Rule 5: no candidate.
    match settings.fallback {
        Fallback::Pool if !index.any().is_empty() => Ok(chooser.choose(index.any(), Reason::Any)),
        Fallback::CustomFrom => from
            .or_else(|| settings.custom_from.clone().map(SenderId::from))
            .map(|id| Pick {
                sender: Sender::Alphanumeric(id),
                reason: Reason::CustomFrom,
                wait_ms: 0,
            })
            .ok_or(PickError::Rejected(Rejection::NoCustomFrom(
                recipient.country,
            ))),
        fallback => Err(PickError::Rejected(rejection(
            index,
            members,
            recipient.country,
            settings.localized_sender_preferred.then_some(fallback),
        ))),
    }
}

/// Rule 5's rejection, naming why: no numbers at all; every number in the recipient's country
/// out of service; no number there (a localized pool with fallback `Reject`); every number of
/// the pool out of service. `localized` is the fallback of a localized pool, `None` otherwise.
fn rejection(
    index: &PoolIndex,
    members: usize,
    country: Country,
    localized: Option<Fallback>,
) -> Rejection {
    let in_country = index.ineligible_in(country);
    match localized {
        _ if members == 0 => Rejection::EmptyPool,
        Some(_) if !in_country.is_empty() => Rejection::NoneEligibleInCountry(country, in_country),
        Some(Fallback::Reject) => Rejection::NoNumberForCountry(country),
        _ => Rejection::NoneEligible(index.ineligible()),
    }
}

/// Rule 3: the recipient's live mapping, refreshed; `None` (after dropping the mapping) when it
/// points at a removed or suspended number (or an unhealthy one in a pool that acts on
/// health), has expired, or is an international mapping that a
/// localized pool can now replace with an eligible number in the recipient's country. Classifies the recipient
/// only in that last case, and leaves the classification in `recipient` for the caller. A hit
/// is charged `segments` and waits if its number is busy: throughput never moves it (rule 3).
fn sticky_hit(
    state: &mut PoolState,
    key: Key,
    segments: u32,
    recipient: &mut Option<Recipient>,
    now: Now,
) -> Result<Option<Pick>, PickError> {
    let Some(mapping) = state.sticky.get_mut(key) else {
        return Ok(None);
    };
    let slot = mapping.slot();
    let member = state.slots.get(slot as usize).and_then(Option::as_ref);
    let mut keep = member.is_some_and(|m| m.status.keeps_conversations())
        && !mapping.expired(state.settings.sticky_ttl_seconds, now.secs())
        && !shunned(&state.settings, &state.health, slot, now);
    if keep && state.settings.localized_sender_preferred && !mapping.in_country() {
        let place = classifier().classify(key.to)?;
        keep = !state.index.has_country(place.country);
        *recipient = Some(place);
    }
    match member {
        Some(member) if keep => {
            mapping.last_use = now.secs();
            let meter = &mut state.meters[slot as usize];
            let wait_us = meter.charge(&member.limits, segments, now);
            Ok(Some(Pick {
                sender: Sender::Number(member.number),
                reason: Reason::Sticky,
                wait_ms: wait_ms(wait_us),
            }))
        }
        _ => {
            state.sticky.remove(key);
            Ok(None)
        }
    }
}

impl PoolState {
    /// Whether a conversation on `sender` would stay on it now (rule 3): a member that keeps
    /// conversations and is not shunned for its health. What a sidecar of a cluster checks
    /// before it adopts another's mapping (DESIGN §10).
    pub fn keeps_on(&self, sender: crate::model::Msisdn, now: Now) -> bool {
        let Some(&slot) = self.by_number.get(&sender) else {
            return false;
        };
        self.slots[slot as usize]
            .as_ref()
            .is_some_and(|m| m.status.keeps_conversations())
            && !shunned(&self.settings, &self.health, slot, now)
    }
}

/// Whether the member in `slot` is unhealthy in a pool that acts on health: it keeps no
/// conversation (rule 3).
fn shunned(settings: &PoolSettings, health: &[HealthTrack], slot: u32, now: Now) -> bool {
    settings.skip_unhealthy
        && health[slot as usize]
            .at(u64::from(now.secs()), &settings.health)
            .0
            == HealthState::Unhealthy
}

/// Rule 6: chooses among candidates and charges the choice; borrows the parts of
/// [`PoolState`] that choosing writes, apart from the index that holds the candidates.
struct Chooser<'a> {
    /// Members by slot, to turn a chosen slot into its number, country and limits.
    slots: &'a [Option<OwnedNumber>],
    /// Throughput state by slot: who is free now, and the charge.
    meters: &'a mut [Meter],
    /// Raised when the choice reaches its daily allowance, so the next pick reindexes.
    index_stale: &'a mut bool,
    /// The sticky table when the pool is predictable (consistent hash, recorded); `None` for
    /// weighted random choice.
    sticky: Option<&'a mut StickyTable>,
    /// Randomness for non-predictable pools.
    rng: &'a mut fastrand::Rng,
    /// The recipient and its hash.
    key: Key,
    /// Where the recipient is: decides whether a new mapping is in-country.
    recipient: &'a Recipient,
    /// What the choice is charged.
    segments: u32,
    /// The batch's clock: the mapping's last use, the charge's time and the day counted.
    now: Now,
}

impl Chooser<'_> {
    /// Chooses from `set`, which must not be empty: the hashed (or random) choice when it is
    /// free now, else the next candidate in that order free now, else the one free soonest.
    /// The walk stops at the first free candidate, so a set without `mps` costs one step.
    fn choose(&mut self, set: &CandidateSet, reason: Reason) -> Pick {
        let (slots, meters) = (self.slots, &*self.meters);
        let order: &mut dyn Iterator<Item = u32> = match self.sticky {
            Some(_) => &mut set.walk_consistent(self.key.hash),
            None => &mut set.walk_random(self.rng),
        };
        let mut best: Option<(u32, u64)> = None;
        for slot in order {
            let limits = &member(slots, slot).limits;
            let wait_us = meters[slot as usize].wait_us(limits, self.segments, self.now);
            if best.is_none_or(|(_, least)| wait_us < least) {
                best = Some((slot, wait_us));
            }
            if wait_us == 0 {
                break;
            }
        }
        let (slot, _) = best.expect("candidate sets in use are never empty");
        let member = member(slots, slot);
        let meter = &mut self.meters[slot as usize];
        let wait_us = meter.charge(&member.limits, self.segments, self.now);
        if meter.count_new(&member.limits, self.now) {
            *self.index_stale = true;
        }
        if let Some(sticky) = self.sticky.as_deref_mut() {
            let in_country = member.country == self.recipient.country;
            sticky.insert(self.key, Mapping::made(slot, in_country, self.now.secs()));
        }
        Pick {
            sender: Sender::Number(member.number),
            reason,
            wait_ms: wait_ms(wait_us),
        }
    }
}

/// The live member in `slot` of a candidate set.
fn member(slots: &[Option<OwnedNumber>], slot: u32) -> &OwnedNumber {
    slots[slot as usize]
        .as_ref()
        .expect("candidate sets hold live members only")
}
