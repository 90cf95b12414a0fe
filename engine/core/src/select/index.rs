//! A pool's selection index (DESIGN §3.2 rule 4): its eligible members grouped into the
//! candidate sets of each localized tier (country, area, network, area and network) of the
//! first type each country has in the pool's type priority, and the whole pool, and a count of
//! those that are not eligible, for rejections to name why (rule 5).

use rustc_hash::FxHashMap;

use super::candidates::{Candidate, CandidateSet};
use super::ineligible::Ineligible;
use super::Reason;
use crate::model::classify::Recipient;
use crate::model::{Country, Geomatch, Network, OwnedNumber, TypePriority};

/// Every candidate set a pick may choose from.
#[derive(Debug, Default)]
pub(crate) struct PoolIndex {
    /// The whole pool: non-localized picks and the `Pool` fallback.
    any: CandidateSet,
    /// Per-country tiers of the country's first type with an eligible number, for localized
    /// picks; only countries with an eligible number.
    countries: FxHashMap<Country, CountryTiers>,
    /// Members that take no new conversation, over the whole pool.
    ineligible: Ineligible,
    /// The same per country.
    ineligible_by_country: FxHashMap<Country, Ineligible>,
}

/// The tiers of one country.
#[derive(Debug, Default)]
struct CountryTiers {
    /// Every member in the country.
    all: CandidateSet,
    /// Members by network.
    by_network: FxHashMap<Network, CandidateSet>,
    /// Members by NANP area code, each split again by network.
    by_area: FxHashMap<u16, AreaTiers>,
}

/// The tiers of one area.
#[derive(Debug, Default)]
struct AreaTiers {
    /// Every member in the area.
    all: CandidateSet,
    /// Members in the area by network.
    by_network: FxHashMap<Network, CandidateSet>,
}

/// Members grouped before their candidate sets are built.
#[derive(Default)]
struct Groups {
    all: Vec<Candidate>,
    by_network: FxHashMap<Network, Vec<Candidate>>,
}

impl Groups {
    fn push(&mut self, candidate: Candidate, network: Option<&Network>) {
        self.all.push(candidate);
        if let Some(network) = network {
            self.by_network
                .entry(network.clone())
                .or_default()
                .push(candidate);
        }
    }

    fn into_sets(self) -> (CandidateSet, FxHashMap<Network, CandidateSet>) {
        let by_network = self
            .by_network
            .into_iter()
            .map(|(n, members)| (n, CandidateSet::new(members)))
            .collect();
        (CandidateSet::new(self.all), by_network)
    }
}

/// Where a member stands for new conversations, as the pool judged it when indexing.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Standing {
    /// Takes new conversations at its weight.
    Eligible,
    /// On probation in a pool that acts on health: at a tenth of its weight.
    Probation,
    /// Unhealthy in a pool that acts on health: takes none.
    Unhealthy,
    /// At its daily allowance of new conversations: takes none until the next UTC day.
    AtAllowance,
}

impl PoolIndex {
    /// Indexes `members` (slot, number, and how it stands; its status is read from the number):
    /// those that take new conversations as candidates, the others as counts. In each country
    /// only the candidates of the first type in `priority` that has one are kept: the localized
    /// tiers apply inside it (DESIGN §3.2 rule 4). Cost O(n log n): admin changes rebuild the
    /// index once per batch rather than patching it per number.
    pub(crate) fn build<'a>(
        members: impl Iterator<Item = (u32, &'a OwnedNumber, Standing)>,
        priority: &TypePriority,
    ) -> Self {
        let mut any = Vec::new();
        let mut localized: Vec<(Candidate, &OwnedNumber, usize)> = Vec::new();
        let mut best_rank: FxHashMap<Country, usize> = FxHashMap::default();
        let mut ineligible = Ineligible::default();
        let mut ineligible_by_country: FxHashMap<Country, Ineligible> = FxHashMap::default();
        for (slot, number, standing) in members {
            let mut count = |count: &dyn Fn(&mut Ineligible)| {
                count(&mut ineligible);
                count(ineligible_by_country.entry(number.country).or_default());
            };
            if !number.status.takes_new_conversations() {
                count(&|i| i.count(number.status));
                continue;
            }
            match standing {
                Standing::Unhealthy => count(&Ineligible::count_unhealthy),
                Standing::AtAllowance => count(&Ineligible::count_at_allowance),
                Standing::Eligible | Standing::Probation => {
                    let candidate = Candidate {
                        slot,
                        number: number.number,
                        weight: number.weight,
                        probation: standing == Standing::Probation,
                    };
                    any.push(candidate);
                    let rank = priority.rank(number.country, number.kind);
                    let best = best_rank.entry(number.country).or_insert(rank);
                    *best = (*best).min(rank);
                    localized.push((candidate, number, rank));
                }
            }
        }
        let mut countries: FxHashMap<Country, (Groups, FxHashMap<u16, Groups>)> =
            FxHashMap::default();
        for (candidate, number, rank) in localized {
            if best_rank[&number.country] != rank {
                continue;
            }
            let (country, areas) = countries.entry(number.country).or_default();
            country.push(candidate, number.network.as_ref());
            if let Some(area) = number.area {
                areas
                    .entry(area)
                    .or_default()
                    .push(candidate, number.network.as_ref());
            }
        }
        let countries = countries
            .into_iter()
            .map(|(code, (groups, areas))| {
                let (all, by_network) = groups.into_sets();
                let by_area = areas
                    .into_iter()
                    .map(|(area, groups)| {
                        let (all, by_network) = groups.into_sets();
                        (area, AreaTiers { all, by_network })
                    })
                    .collect();
                let tiers = CountryTiers {
                    all,
                    by_network,
                    by_area,
                };
                (code, tiers)
            })
            .collect();
        PoolIndex {
            any: CandidateSet::new(any),
            countries,
            ineligible,
            ineligible_by_country,
        }
    }

    /// The whole pool.
    pub(crate) fn any(&self) -> &CandidateSet {
        &self.any
    }

    /// Whether the pool has an eligible number in `country`.
    pub(crate) fn has_country(&self, country: Country) -> bool {
        self.countries.contains_key(&country)
    }

    /// The pool's members that take no new conversation.
    pub(crate) fn ineligible(&self) -> Ineligible {
        self.ineligible
    }

    /// Its members in `country` that take no new conversation.
    pub(crate) fn ineligible_in(&self, country: Country) -> Ineligible {
        self.ineligible_by_country
            .get(&country)
            .copied()
            .unwrap_or_default()
    }

    /// The most specific non-empty localized tier for `recipient` on `network`: same area and
    /// network, same area (unless `geomatch` is off), same network, then the whole country;
    /// `None` when the pool has no eligible number in the recipient's country.
    pub(crate) fn localized(
        &self,
        recipient: &Recipient,
        network: Option<&str>,
        geomatch: Geomatch,
    ) -> Option<(&CandidateSet, Reason)> {
        let tiers = self.countries.get(&recipient.country)?;
        let area = recipient
            .area
            .filter(|_| geomatch.matches_area())
            .and_then(|a| tiers.by_area.get(&a));
        if let Some(area) = area {
            if let Some(set) = network.and_then(|n| area.by_network.get(n)) {
                return Some((set, Reason::Area));
            }
            return Some((&area.all, Reason::Area));
        }
        if let Some(set) = network.and_then(|n| tiers.by_network.get(n)) {
            return Some((set, Reason::Network));
        }
        Some((&tiers.all, Reason::Country))
    }
}
