//! A candidate set (DESIGN §3.2 rules 3–5): the members of one selection tier, with what it takes
//! to choose among them by weight, at random or by a consistent hash of the recipient.

use std::cell::OnceCell;

use crate::hash;
use crate::model::Msisdn;

/// One member as a candidate: just what choosing needs.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Candidate {
    /// The member's slot in its pool.
    pub(crate) slot: u32,
    /// Its number: ring points derive from it, so placement survives restarts and replicas.
    pub(crate) number: Msisdn,
    /// Its weight.
    pub(crate) weight: u32,
    /// On probation in a pool that acts on health (DESIGN §3.4): chosen at a tenth of its
    /// weight.
    pub(crate) probation: bool,
}

/// How many times a healthy member's share a member on probation has: one in ten.
const PROBATION_DIVISOR: u32 = 10;

impl Candidate {
    /// Its share of weighted random choice, in tenths of a weight unit.
    fn tenths(&self) -> u64 {
        let weight = u64::from(self.weight);
        if self.probation {
            weight
        } else {
            weight * u64::from(PROBATION_DIVISOR)
        }
    }

    /// Its ring points, `replicas` per unit of weight, a tenth of that (at least one) on
    /// probation.
    fn points(&self, replicas: u32) -> u32 {
        let points = self.weight * replicas;
        if self.probation {
            (points / PROBATION_DIVISOR).max(1)
        } else {
            points
        }
    }
}

/// The members of one tier.
#[derive(Debug, Default)]
pub(crate) struct CandidateSet {
    /// Members in number order, so everything derived from the set is deterministic.
    members: Vec<Candidate>,
    /// Running sums of shares (tenths of weight), for weighted random choice by binary search.
    cumulative: Vec<u64>,
    /// The consistent-hash ring, built on the first predictable pick that needs it: most tiers
    /// of a pool that is never predictable never pay for one.
    ring: OnceCell<Ring>,
}

/// A weighted consistent-hash ring: each member owns `weight × replicas` points (a tenth of
/// them on probation: its other points' recipients go on to the next owner); a recipient
/// goes to the owner of the first point at or after its hash. A lookup is a binary search,
/// O(log n), and a new member takes over only the recipients between its points and their
/// predecessors (and only unrecorded ones, since recorded assignments live in the sticky table).
#[derive(Debug)]
struct Ring {
    /// Point positions, ascending.
    points: Vec<u64>,
    /// `owners[i]` is the slot owning `points[i]`; kept apart from the points so the binary
    /// search touches only the 8-byte keys.
    owners: Vec<u32>,
}

impl CandidateSet {
    /// A set of `members` (in any order).
    pub(crate) fn new(mut members: Vec<Candidate>) -> Self {
        members.sort_unstable_by_key(|c| c.number);
        let cumulative = members
            .iter()
            .scan(0u64, |sum, c| {
                *sum += c.tenths();
                Some(*sum)
            })
            .collect();
        CandidateSet {
            members,
            cumulative,
            ring: OnceCell::new(),
        }
    }

    /// Whether the set has no members.
    pub(crate) fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Members in random order for a non-predictable pick: one chosen at random in proportion
    /// to weight, then the members after it in set order, wrapping around, each once. Empty for
    /// an empty set.
    pub(crate) fn walk_random(&self, rng: &mut fastrand::Rng) -> impl Iterator<Item = u32> + '_ {
        let start = self.cumulative.last().map_or(0, |&total| {
            let ticket = rng.u64(0..total);
            self.cumulative.partition_point(|&sum| sum <= ticket)
        });
        let (tail, head) = self.members.split_at(start);
        head.iter().chain(tail).map(|c| c.slot)
    }

    /// Members in hash order for a recipient with hash `recipient_hash` (DESIGN §3.2 rule 6):
    /// the owner of the first ring point at or after the hash (the consistent-hash choice),
    /// then the owners of the following points, wrapping around once. A member owns several
    /// points, so it may come more than once. Empty for an empty set.
    pub(crate) fn walk_consistent(&self, recipient_hash: u64) -> impl Iterator<Item = u32> + '_ {
        let (head, tail): (&[u32], &[u32]) = if self.members.is_empty() {
            (&[], &[])
        } else {
            let ring = self.ring.get_or_init(|| Ring::build(&self.members));
            // Past the last point the ring wraps around to the first.
            let start = ring.points.partition_point(|&p| p < recipient_hash);
            let (tail, head) = ring.owners.split_at(start);
            (head, tail)
        };
        head.iter().chain(tail).copied()
    }
}

impl Ring {
    fn build(members: &[Candidate]) -> Ring {
        // The nominal weights decide the density, so a member going on probation moves only
        // its own recipients.
        let total_weight: u64 = members.iter().map(|c| u64::from(c.weight)).sum();
        let replicas = replicas_per_weight(total_weight);
        let mut entries: Vec<(u64, Msisdn, u32)> = members
            .iter()
            .flat_map(|c| {
                (0..c.points(replicas))
                    .map(move |r| (hash::ring_point(c.number, r), c.number, c.slot))
            })
            .collect();
        // Equal points (a 64-bit collision) are ordered by number, so ties resolve the same
        // everywhere.
        entries.sort_unstable_by_key(|&(point, number, _)| (point, number));
        Ring {
            points: entries.iter().map(|e| e.0).collect(),
            owners: entries.iter().map(|e| e.2).collect(),
        }
    }
}

/// Ring points per unit of weight. More points spread load more evenly (the spread of a
/// member's share shrinks like 1/√points); fewer keep huge sets small. The steps depend only on
/// the set's total weight, so every replica builds the same ring.
fn replicas_per_weight(total_weight: u64) -> u32 {
    match total_weight {
        0..=1_024 => 128,
        1_025..=16_384 => 32,
        _ => 8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(weights: &[u32]) -> CandidateSet {
        on_probation(weights, &[])
    }

    /// A set of members with `weights`, those at the indexes in `probation` on probation.
    fn on_probation(weights: &[u32], probation: &[usize]) -> CandidateSet {
        CandidateSet::new(
            weights
                .iter()
                .enumerate()
                .map(|(i, &weight)| Candidate {
                    slot: i as u32,
                    number: Msisdn::from_u64(447_700_900_000 + i as u64).unwrap(),
                    weight,
                    probation: probation.contains(&i),
                })
                .collect(),
        )
    }

    #[test]
    fn a_member_on_probation_takes_a_tenth_of_its_share() {
        let s = on_probation(&[1, 1], &[1]);
        let mut rng = fastrand::Rng::with_seed(11);
        let random = (0..44_000)
            .filter(|_| s.walk_random(&mut rng).next() == Some(1))
            .count();
        // Expect 4,000 (1 in 11); 5 standard deviations is about ±300.
        assert!((3_600..=4_400).contains(&random), "{random}");
        let hashed = (0..44_000u64)
            .filter(|&h| {
                let hash = crate::hash::recipient(Msisdn::from_u64(33_600_000_000 + h).unwrap());
                s.walk_consistent(hash).next() == Some(1)
            })
            .count();
        // 12 points against 128: about 3,800, within the ring's spread.
        assert!((2_000..=6_000).contains(&hashed), "{hashed}");
    }

    #[test]
    fn probation_moves_only_the_recipients_of_the_member_on_probation() {
        let healthy = set(&[1; 10]);
        let one_on_probation = on_probation(&[1; 10], &[3]);
        for h in 0..20_000u64 {
            let hash = crate::hash::recipient(Msisdn::from_u64(4_915_100_000_000 + h).unwrap());
            let before = healthy.walk_consistent(hash).next().unwrap();
            let after = one_on_probation.walk_consistent(hash).next().unwrap();
            assert!(before == after || before == 3, "{before} -> {after}");
        }
    }

    #[test]
    fn empty_set_chooses_nothing() {
        let empty = set(&[]);
        assert_eq!(
            empty.walk_random(&mut fastrand::Rng::with_seed(1)).next(),
            None
        );
        assert_eq!(empty.walk_consistent(42).next(), None);
    }

    #[test]
    fn random_choice_follows_weights() {
        let s = set(&[1, 3]);
        let mut rng = fastrand::Rng::with_seed(7);
        let heavy = (0..40_000)
            .filter(|_| s.walk_random(&mut rng).next() == Some(1))
            .count();
        // Expect 30,000; 5 standard deviations is about ±430.
        assert!((29_500..=30_500).contains(&heavy), "{heavy}");
    }

    #[test]
    fn consistent_choice_follows_weights_and_is_deterministic() {
        let s = set(&[1, 1, 2]);
        let mut counts = [0usize; 3];
        for h in 0..40_000u64 {
            let hash = crate::hash::recipient(Msisdn::from_u64(33_600_000_000 + h).unwrap());
            let slot = s.walk_consistent(hash).next().unwrap();
            assert_eq!(set(&[1, 1, 2]).walk_consistent(hash).next(), Some(slot));
            counts[slot as usize] += 1;
        }
        // The heavy member should get about half; a ring of 512 points is within ±15%.
        assert!((17_000..=23_000).contains(&counts[2]), "{counts:?}");
    }

    #[test]
    fn walks_visit_every_member_starting_with_the_choice() {
        let s = set(&[1, 2, 1]);
        let mut rng = fastrand::Rng::with_seed(3);
        let random: Vec<u32> = s.walk_random(&mut rng).collect();
        assert_eq!(random.len(), 3);
        assert!((0..3).all(|slot| random.contains(&slot)));
        let hashed: Vec<u32> = s.walk_consistent(7).collect();
        assert_eq!(hashed.len(), 4 * 128);
        assert!((0..3).all(|slot| hashed.contains(&slot)));
    }

    #[test]
    fn adding_a_member_moves_only_its_share() {
        let before = set(&[1; 10]);
        let after = set(&[1; 11]);
        let moved = (0..20_000u64)
            .filter(|&h| {
                let hash = crate::hash::recipient(Msisdn::from_u64(4_915_100_000_000 + h).unwrap());
                before.walk_consistent(hash).next() != after.walk_consistent(hash).next()
            })
            .count();
        // Ideal: 1/11 of recipients (about 1,818) move, all to the new member.
        assert!(moved < 3_000, "{moved}");
    }
}
