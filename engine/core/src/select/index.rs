//! A pool's selection index (DESIGN §3.2 rule 4): its eligible members grouped into the
//! candidate sets of each localized tier (country, area, network, area and network) and the
//! whole pool, and a count of those that are not, for rejections to name why (rule 5).

use rustc_hash::FxHashMap;

use super::candidates::{Candidate, CandidateSet};
use super::ineligible::Ineligible;
use super::Reason;
use crate::model::classify::Recipient;
use crate::model::{Country, Network, OwnedNumber};

/// Every candidate set a pick may choose from.
#[derive(Debug, Default)]
pub(crate) struct PoolIndex {
    /// The whole pool: non-localized picks and the `Pool` fallback.
    any: CandidateSet,
    /// Per-country tiers, for localized picks; only countries with an eligible number.
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

impl PoolIndex {
    /// Indexes `members` (slot, number, and whether it is at its daily allowance): those whose
    /// status takes new conversations and that are below their allowance as candidates, the
    /// others as counts. Cost O(n log n): admin changes rebuild the index once
    /// per batch rather than patching it per number.
    pub(crate) fn build<'a>(members: impl Iterator<Item = (u32, &'a OwnedNumber, bool)>) -> Self {
        let mut any = Vec::new();
        let mut countries: FxHashMap<Country, (Groups, FxHashMap<u16, Groups>)> =
            FxHashMap::default();
        let mut ineligible = Ineligible::default();
        let mut ineligible_by_country: FxHashMap<Country, Ineligible> = FxHashMap::default();
        for (slot, number, at_allowance) in members {
            if !number.status.takes_new_conversations() {
                ineligible.count(number.status);
                ineligible_by_country
                    .entry(number.country)
                    .or_default()
                    .count(number.status);
                continue;
            }
            if at_allowance {
                ineligible.count_at_allowance();
                ineligible_by_country
                    .entry(number.country)
                    .or_default()
                    .count_at_allowance();
                continue;
            }
            let candidate = Candidate {
                slot,
                number: number.number,
                weight: number.weight,
            };
            any.push(candidate);
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
    /// network, same area, same network, then the whole country; `None` when the pool has no
    /// number in the recipient's country.
    pub(crate) fn localized(
        &self,
        recipient: &Recipient,
        network: Option<&str>,
    ) -> Option<(&CandidateSet, Reason)> {
        let tiers = self.countries.get(&recipient.country)?;
        let area = recipient.area.and_then(|a| tiers.by_area.get(&a));
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
