//! A pool's selection index (DESIGN §3.2 rule 4): its eligible members grouped into the
//! candidate sets of each localized tier (area and network, area, region and network, region,
//! network, country) of the
//! first type each country has in the pool's type priority, and the whole pool, and a count of
//! those that are not eligible, for rejections to name why (rule 5).

use rustc_hash::FxHashMap;

use super::candidates::{Candidate, CandidateSet};
use super::ineligible::Ineligible;
use super::Reason;
use crate::model::classify::Recipient;
use crate::model::regions::RegionId;
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
    by_area: FxHashMap<u16, PlaceTiers>,
    /// Members by geocoding region (a US state, a UK city…), each split again by network.
    by_region: FxHashMap<RegionId, PlaceTiers>,
}

/// The tiers of one area or region.
#[derive(Debug, Default)]
struct PlaceTiers {
    /// Every member in the place.
    all: CandidateSet,
    /// Members in the place by network.
    by_network: FxHashMap<Network, CandidateSet>,
}

impl PlaceTiers {
    /// The members on `network` when some are, else every member, with `reason`.
    fn narrowed(&self, network: Option<&str>, reason: Reason) -> (&CandidateSet, Reason) {
        let set = network.and_then(|n| self.by_network.get(n));
        (set.unwrap_or(&self.all), reason)
    }
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

    fn into_place(self) -> PlaceTiers {
        let (all, by_network) = self.into_sets();
        PlaceTiers { all, by_network }
    }
}

/// One country's members grouped before their candidate sets are built.
#[derive(Default)]
struct CountryGroups {
    all: Groups,
    by_area: FxHashMap<u16, Groups>,
    by_region: FxHashMap<RegionId, Groups>,
}

impl CountryGroups {
    fn push(&mut self, candidate: Candidate, number: &OwnedNumber) {
        let network = number.network.as_ref();
        self.all.push(candidate, network);
        if let Some(area) = number.area {
            self.by_area
                .entry(area)
                .or_default()
                .push(candidate, network);
        }
        if let Some(region) = number.region {
            self.by_region
                .entry(region)
                .or_default()
                .push(candidate, network);
        }
    }

    fn into_tiers(self) -> CountryTiers {
        let (all, by_network) = self.all.into_sets();
        CountryTiers {
            all,
            by_network,
            by_area: places(self.by_area),
            by_region: places(self.by_region),
        }
    }
}

fn places<K: std::hash::Hash + Eq>(groups: FxHashMap<K, Groups>) -> FxHashMap<K, PlaceTiers> {
    groups
        .into_iter()
        .map(|(key, groups)| (key, groups.into_place()))
        .collect()
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
        let mut countries: FxHashMap<Country, CountryGroups> = FxHashMap::default();
        for (candidate, number, rank) in localized {
            if best_rank[&number.country] == rank {
                countries
                    .entry(number.country)
                    .or_default()
                    .push(candidate, number);
            }
        }
        let countries = countries
            .into_iter()
            .map(|(code, groups)| (code, groups.into_tiers()))
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
    /// network, same area (unless `geomatch` is off), same region and network, same region
    /// (when `geomatch` is `region`), same network, then the whole country; `None` when the
    /// pool has no eligible number in the recipient's country.
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
            return Some(area.narrowed(network, Reason::Area));
        }
        let region = recipient
            .region
            .filter(|_| geomatch.matches_region())
            .and_then(|r| tiers.by_region.get(&r));
        if let Some(region) = region {
            return Some(region.narrowed(network, Reason::Region));
        }
        if let Some(set) = network.and_then(|n| tiers.by_network.get(n)) {
            return Some((set, Reason::Network));
        }
        Some((&tiers.all, Reason::Country))
    }
}
