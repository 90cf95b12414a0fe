//! Recipient classification (DESIGN §3.2 rule 1): calling code, country and NANP area of a number.
//!
//! Classification sits on the hot path, so libphonenumber's metadata (crate `phonenumber`) is read
//! once, at first use, into three compact tables: calling code → main region; for the few codes
//! that several regions share (+1, +44, +7, …), national prefixes of up to four digits → the
//! region that owns them; nothing else. A lookup is then an array index plus at most four hash
//! probes, instead of phonenumber's general parser and its regular expressions per request.
//! Where the metadata cannot tell the region from a short prefix, the number belongs to its
//! calling code's main region (US for +1, GB for +44, RU for +7), as the design asks.

use std::sync::LazyLock;

use phonenumber::metadata::{Metadata, DATABASE};
use rustc_hash::FxHashMap;
use thiserror::Error;

use super::{Country, Msisdn};

/// The NANP calling code: its numbers have a 3-digit area code that selection can use.
const NANP: u16 = 1;
/// Longest national prefix the shared-code tables look at. Four digits settle every NANP area
/// code, the Caribbean's 4-digit exceptions, Kazakhstan, Åland, the Crown Dependencies' mobile
/// ranges and the like; finer splits fall back to the main region.
const MAX_PREFIX: u32 = 4;
/// Sample completions used to test whether a prefix belongs to a region that has no
/// `leading_digits` (Canada, Guernsey, Jersey…): the prefix counts only if the region's fixed-line
/// or mobile pattern accepts it with each of these, so one lucky completion cannot claim it.
const FILLERS: [&str; 3] = ["23456789012345", "55501001234567", "87654321098765"];

/// Where a recipient is: what selection's localized tiers are keyed by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Recipient {
    /// The region the number belongs to (its calling code's main region when undecidable).
    pub(crate) country: Country,
    /// The 3-digit NANP area code for +1 numbers with 10 national digits, else `None`.
    pub(crate) area: Option<u16>,
}

/// The number's leading digits are no calling code libphonenumber knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("unknown country calling code in {0}")]
pub struct UnknownCallingCode(pub(crate) Msisdn);

/// Lookup tables derived once from libphonenumber's metadata.
pub struct Classifier {
    /// Main region of each calling code, indexed by the code (1–999); `None` for unassigned codes
    /// and non-geographic ones (+800, +882…), which have no country to localize to.
    main_region: Vec<Option<Country>>,
    /// Whether a calling code is shared by several regions, so the prefix table is worth probing.
    shared: Vec<bool>,
    /// `(calling code, prefix length, prefix)` → the non-main region that owns the prefix.
    prefixes: FxHashMap<(u16, u32, u64), Country>,
}

/// The process-wide classifier, built on first use (about a second in a debug build, a small
/// fraction of that in release).
pub fn classifier() -> &'static Classifier {
    static CLASSIFIER: LazyLock<Classifier> = LazyLock::new(Classifier::from_metadata);
    &CLASSIFIER
}

impl Classifier {
    fn from_metadata() -> Self {
        let mut main_region = vec![None; 1000];
        let mut shared = vec![false; 1000];
        let mut prefixes = FxHashMap::default();
        for code in 1u16..1000 {
            let Some(regions) = DATABASE.by_code(&code) else {
                continue;
            };
            let countries: Vec<(&Metadata, Country)> = regions
                .into_iter()
                .filter_map(|m| Country::new(m.id()).ok().map(|c| (m, c)))
                .collect();
            let main = countries
                .iter()
                .find(|(m, _)| m.is_main_country_for_code())
                .or(countries.first());
            let Some(&(_, main)) = main else { continue };
            main_region[usize::from(code)] = Some(main);
            if countries.len() > 1 {
                shared[usize::from(code)] = true;
                let others: Vec<_> = countries.into_iter().filter(|(_, c)| *c != main).collect();
                claim_prefixes(code, &others, &mut prefixes);
            }
        }
        Classifier {
            main_region,
            shared,
            prefixes,
        }
    }

    /// Classifies `number`: its calling code must be known (DESIGN §3.2 rule 1).
    pub(crate) fn classify(&self, number: Msisdn) -> Result<Recipient, UnknownCallingCode> {
        // E.164 calling codes form a prefix-free set of 1 to 3 digits.
        for code_len in 1..=3u32 {
            let code = number.leading_digits(code_len) as usize;
            let Some(main) = self.main_region.get(code).copied().flatten() else {
                continue;
            };
            let (national, national_len) = number.trailing_digits(code_len);
            let country = if self.shared[code] {
                self.region_by_prefix(code as u16, national, national_len)
                    .unwrap_or(main)
            } else {
                main
            };
            let area = (code as u16 == NANP && national_len == 10)
                .then(|| (national / 10u64.pow(7)) as u16);
            return Ok(Recipient { country, area });
        }
        Err(UnknownCallingCode(number))
    }

    fn region_by_prefix(&self, code: u16, national: u64, national_len: u32) -> Option<Country> {
        (1..=MAX_PREFIX.min(national_len)).find_map(|len| {
            let prefix = national / 10u64.pow(national_len - len);
            self.prefixes.get(&(code, len, prefix)).copied()
        })
    }
}

/// Fills `prefixes` with the shortest national prefixes (1 to [`MAX_PREFIX`] digits) that exactly
/// one of `regions` claims. A region claims a prefix by its `leading_digits` pattern when it has
/// one, else by its fixed-line or mobile pattern accepting the prefix with every [`FILLERS`]
/// completion. Prefixes claimed by two regions are left to the main region.
fn claim_prefixes(
    code: u16,
    regions: &[(&Metadata, Country)],
    prefixes: &mut FxHashMap<(u16, u32, u64), Country>,
) {
    let mut ambiguous = Vec::new();
    for len in 1..=MAX_PREFIX {
        for prefix in 0..10u64.pow(len) {
            let covered = (1..len).any(|shorter| {
                let key = (code, shorter, prefix / 10u64.pow(len - shorter));
                prefixes.contains_key(&key) || ambiguous.contains(&key)
            });
            if covered {
                continue;
            }
            let text = format!("{prefix:0width$}", width = len as usize);
            let mut owners = regions.iter().filter(|(m, _)| region_claims(m, &text));
            if let Some((_, first)) = owners.next() {
                if owners.next().is_some() {
                    ambiguous.push((code, len, prefix));
                } else {
                    prefixes.insert((code, len, prefix), *first);
                }
            }
        }
    }
}

fn region_claims(meta: &Metadata, prefix: &str) -> bool {
    if let Some(leading) = meta.leading_digits() {
        return leading.find(prefix).is_some_and(|m| m.start() == 0);
    }
    let descriptors = meta.descriptors();
    let full_len = descriptors
        .general()
        .possible_length()
        .iter()
        .copied()
        .max()
        .map_or(10, usize::from);
    if full_len <= prefix.len() {
        return false;
    }
    FILLERS.iter().all(|filler| {
        let candidate = format!("{prefix}{}", &filler[..full_len - prefix.len()]);
        [descriptors.fixed_line(), descriptors.mobile()]
            .into_iter()
            .flatten()
            .any(|d| d.is_match(&candidate))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn country_of(number: &str) -> String {
        let n = Msisdn::parse(number).unwrap();
        classifier().classify(n).unwrap().country.to_string()
    }

    #[test]
    fn single_region_codes() {
        assert_eq!(country_of("+4915112345678"), "DE");
        assert_eq!(country_of("+33612345678"), "FR");
        assert_eq!(country_of("+61412345678"), "AU");
        assert_eq!(country_of("+5511912345678"), "BR");
    }

    #[test]
    fn nanp_area_codes_pick_the_region() {
        assert_eq!(country_of("+12125550100"), "US");
        assert_eq!(country_of("+14165550100"), "CA");
        assert_eq!(country_of("+16045550100"), "CA");
        assert_eq!(country_of("+17875550100"), "PR");
        assert_eq!(country_of("+12684601234"), "AG");
        assert_eq!(country_of("+18095550100"), "DO");
        assert_eq!(country_of("+18005550100"), "US");
    }

    #[test]
    fn other_shared_codes() {
        assert_eq!(country_of("+74951234567"), "RU");
        assert_eq!(country_of("+77011234567"), "KZ");
        assert_eq!(country_of("+447700900123"), "GB");
        assert_eq!(country_of("+447781123456"), "GG");
        assert_eq!(country_of("+358181234567"), "AX");
        assert_eq!(country_of("+358401234567"), "FI");
    }

    #[test]
    fn nanp_area_is_the_first_three_national_digits() {
        let r = classifier()
            .classify(Msisdn::parse("14155550100").unwrap())
            .unwrap();
        assert_eq!(r.area, Some(415));
        let r = classifier()
            .classify(Msisdn::parse("447700900123").unwrap())
            .unwrap();
        assert_eq!(r.area, None);
    }

    #[test]
    fn unknown_calling_code_is_an_error() {
        let n = Msisdn::parse("+9991234567").unwrap();
        assert_eq!(classifier().classify(n), Err(UnknownCallingCode(n)));
        // +800 is international freephone: no country to localize to.
        let n = Msisdn::parse("+80012345678").unwrap();
        assert!(classifier().classify(n).is_err());
    }
}
