//! Recipient classification (DESIGN §3.2 rule 1): calling code, country, NANP area and
//! geocoding region of a number.
//!
//! Classification sits on the hot path, so it never runs libphonenumber's parser or regular
//! expressions. `tools/phonedata/phonedata.py` derives from libphonenumber's metadata, once,
//! a table (`engine/core/data/countries.tsv`, embedded) of every calling code's main region
//! and, for the codes several regions share (+1, +44, +7, +61, …), the national prefixes of
//! whatever length settle the region: a prefix is listed where every number that starts with
//! it (and that libphonenumber gives a region at all) has the same region, and a few prefixes
//! hold for one national length only (+1 310 is Canada's 7-digit service range, a Los Angeles
//! area code at 10 digits). The table is read once, at first use; a lookup is then an array
//! index plus one hash probe per prefix digit until a listed prefix answers (three for most
//! NANP numbers, five at most today). The table agrees with
//! `phonenumbers.region_code_for_number` on every number that function gives a region to; a
//! number none of the code's regions claims belongs to its calling code's main region.
//! The region comes from [`super::regions`].

use std::sync::LazyLock;

use rustc_hash::{FxHashMap, FxHashSet};
use thiserror::Error;

use super::regions::{region_table, RegionId, RegionTable};
use super::table::{data_lines, digits, TableError};
use super::{Country, Msisdn};

/// The generated table, embedded.
const TABLE: &str = include_str!("../../data/countries.tsv");
/// Its file name, for errors.
const TABLE_NAME: &str = "countries.tsv";
/// The NANP calling code: its numbers have a 3-digit area code that selection can use.
const NANP: u16 = 1;
/// Longest national prefix a table line may hold: it fits the key's 40 bits.
const MAX_PREFIX: u32 = 12;
/// Longest national number (E.164's 15 digits less a 1-digit calling code).
const MAX_NATIONAL: u32 = 14;

/// Where a recipient is: what selection's localized tiers are keyed by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Recipient {
    /// The region the number belongs to (its calling code's main region when undecidable).
    pub(crate) country: Country,
    /// The 3-digit NANP area code for +1 numbers with 10 national digits, else `None`.
    pub(crate) area: Option<u16>,
    /// The geocoding region of the number's prefix, where the data has one.
    pub(crate) region: Option<RegionId>,
}

/// The number's leading digits are no calling code libphonenumber knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("unknown country calling code in {0}")]
pub struct UnknownCallingCode(pub(crate) Msisdn);

/// Lookup tables read once from the embedded country table.
pub struct Classifier {
    /// Main region of each calling code, indexed by the code (1–999); `None` for unassigned codes
    /// and non-geographic ones (+800, +882…), which have no country to localize to.
    main_region: Vec<Option<Country>>,
    /// Every region some calling code has, for settings that name a country.
    known: FxHashSet<Country>,
    /// Per calling code, how to probe its prefixes; all zero for a code one region has.
    shared: Vec<SharedCode>,
    /// [`prefix_key`] → the region that owns the prefix (the main region included, so a lookup
    /// stops at the first listed prefix).
    prefixes: FxHashMap<u64, Country>,
    /// The geocoding regions, read with this table.
    regions: &'static RegionTable,
}

/// How a shared calling code's prefixes are listed.
#[derive(Clone, Copy, Debug, Default)]
struct SharedCode {
    /// The longest listed national prefix: no probe goes further.
    depth: u32,
    /// Bit `len` is set when some prefix of `len` digits is listed for one national length
    /// only, so that second key is probed at that length alone.
    sized: u16,
}

/// The key of a prefix line: `prefix` of `len` national digits of calling code `code`, for
/// national numbers of `national_len` digits, or of any length when 0.
fn prefix_key(code: u16, len: u32, prefix: u64, national_len: u32) -> u64 {
    prefix | u64::from(len) << 40 | u64::from(national_len) << 44 | u64::from(code) << 48
}

/// The process-wide classifier, read on first use (a few milliseconds: the region table is
/// most of it).
pub fn classifier() -> &'static Classifier {
    static CLASSIFIER: LazyLock<Classifier> =
        LazyLock::new(|| Classifier::load().expect("the embedded countries.tsv reads"));
    &CLASSIFIER
}

impl Classifier {
    /// Reads the embedded country table (what [`classifier`] does once), with the process-wide
    /// region table.
    pub fn load() -> Result<Self, TableError> {
        let mut main_region = vec![None; 1000];
        let mut known = FxHashSet::default();
        let mut shared = vec![SharedCode::default(); 1000];
        let mut prefixes = FxHashMap::default();
        for (line, error) in data_lines(TABLE_NAME, TABLE) {
            let mut fields = line.split(' ');
            let code = fields
                .next()
                .and_then(|c| digits(c, 3))
                .ok_or_else(|| error("bad calling code"))?
                .0 as u16;
            let second = fields
                .next()
                .ok_or_else(|| error("expected 2 or more fields"))?;
            if !second.starts_with(|c: char| c.is_ascii_digit()) {
                // The code's regions, the main one first.
                for (i, region) in std::iter::once(second).chain(fields).enumerate() {
                    let country = Country::new(region).map_err(|_| error("bad region code"))?;
                    if i == 0 {
                        main_region[usize::from(code)] = Some(country);
                    }
                    known.insert(country);
                }
                continue;
            }
            let (prefix, country) = match (fields.next(), fields.next()) {
                (Some(country), None) => (second, country),
                _ => return Err(error("expected <code> <prefix> <region>")),
            };
            let country = Country::new(country).map_err(|_| error("bad region code"))?;
            let (prefix, national_len) = match prefix.split_once('/') {
                Some((prefix, len)) => {
                    let len = digits(len, 2)
                        .filter(|&(n, _)| n <= u64::from(MAX_NATIONAL))
                        .ok_or_else(|| error("bad national length"))?;
                    (prefix, len.0 as u32)
                }
                None => (prefix, 0),
            };
            let (value, len) =
                digits(prefix, MAX_PREFIX as usize).ok_or_else(|| error("bad prefix"))?;
            let probe = &mut shared[usize::from(code)];
            probe.depth = probe.depth.max(len);
            if national_len != 0 {
                probe.sized |= 1 << len;
            }
            prefixes.insert(prefix_key(code, len, value, national_len), country);
        }
        Ok(Classifier {
            main_region,
            known,
            shared,
            prefixes,
            regions: region_table(),
        })
    }

    /// Whether `country` is a region of some calling code (libphonenumber's regions, less the
    /// non-geographic `001`).
    pub(crate) fn knows(&self, country: Country) -> bool {
        self.known.contains(&country)
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
            let country = self
                .region_by_prefix(code as u16, national, national_len)
                .unwrap_or(main);
            let area = (code as u16 == NANP && national_len == 10)
                .then(|| (national / 10u64.pow(7)) as u16);
            let region = self.regions.region_of(number);
            return Ok(Recipient {
                country,
                area,
                region,
            });
        }
        Err(UnknownCallingCode(number))
    }

    fn region_by_prefix(&self, code: u16, national: u64, national_len: u32) -> Option<Country> {
        let probe = self.shared[usize::from(code)];
        // Listed prefixes never extend one another, so the first that answers is the one.
        (1..=probe.depth.min(national_len)).find_map(|len| {
            let prefix = national / 10u64.pow(national_len - len);
            self.prefixes
                .get(&prefix_key(code, len, prefix, 0))
                .or_else(|| {
                    (probe.sized & 1 << len != 0)
                        .then(|| {
                            self.prefixes
                                .get(&prefix_key(code, len, prefix, national_len))
                        })
                        .flatten()
                })
                .copied()
        })
    }
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
        assert_eq!(country_of("+447400123456"), "GB");
        assert_eq!(country_of("+447781123456"), "GG");
        // Guernsey's 79111 and 79117 inside GB's 7911: five digits settle it.
        assert_eq!(country_of("+447911123456"), "GG");
        assert_eq!(country_of("+447911023456"), "GB");
        assert_eq!(country_of("+390669812345"), "VA");
        assert_eq!(country_of("+61891621234"), "CC");
        assert_eq!(country_of("+262269601234"), "YT");
        assert_eq!(country_of("+358181234567"), "AX");
        assert_eq!(country_of("+358401234567"), "FI");
    }

    #[test]
    fn every_region_of_a_calling_code_is_known() {
        // Western Sahara shares +212 with Morocco, which takes every number.
        for region in ["US", "CA", "GG", "EH", "VA", "TA"] {
            assert!(
                classifier().knows(Country::new(region).unwrap()),
                "{region}"
            );
        }
        assert!(!classifier().knows(Country::new("ZZ").unwrap()));
    }

    #[test]
    fn a_prefix_can_hold_for_one_national_length_only() {
        // +1 310 is Canada's 7-digit service range and a Los Angeles area code at 10 digits.
        assert_eq!(country_of("+13101234"), "CA");
        assert_eq!(country_of("+13105550100"), "US");
    }

    #[test]
    fn numbers_no_region_claims_belong_to_the_main_region() {
        // 7700 900 is Ofcom's drama range: valid nowhere, so GB as +44's main region.
        assert_eq!(country_of("+447700900123"), "GB");
    }

    /// DESIGN §3.2 rule 1: the country is the one libphonenumber gives. The cases are
    /// `tools/phonedata/phonedata.py cases` output (every region's example numbers of every
    /// type, and random valid numbers); CI regenerates them with the pinned `phonenumbers`
    /// and points `NUMPOOL_CLASSIFY_CASES` at the fresh file.
    #[test]
    fn agrees_with_libphonenumber() {
        let cases = match std::env::var("NUMPOOL_CLASSIFY_CASES") {
            Ok(path) => std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}")),
            Err(_) => include_str!("../../data/classify_cases.tsv").to_owned(),
        };
        let cases: Vec<(&str, &str)> = cases
            .lines()
            .filter(|line| !line.starts_with('#'))
            .map(|line| line.split_once(' ').expect("<number> <region>"))
            .collect();
        assert!(cases.len() > 1000, "only {} cases", cases.len());
        let wrong: Vec<String> = cases
            .iter()
            .filter(|(number, region)| country_of(number) != *region)
            .map(|(number, region)| {
                format!("{number}: {}, libphonenumber {region}", country_of(number))
            })
            .collect();
        assert!(
            wrong.is_empty(),
            "{} of {} differ:\n{}",
            wrong.len(),
            cases.len(),
            wrong.join("\n")
        );
    }

    #[test]
    fn classification_carries_the_region() {
        let region = |number: &str| {
            let r = classifier()
                .classify(Msisdn::parse(number).unwrap())
                .unwrap();
            r.region.map(RegionId::name)
        };
        assert_eq!(region("+16465550100"), Some("NY"));
        assert_eq!(region("+442079460000"), Some("London"));
        assert_eq!(region("+447400123456"), None);
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
