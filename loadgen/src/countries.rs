//! The country mix: which E.164 numbers loadgen invents for recipients and for the inventory it
//! seeds. Prefixes are chosen inside ranges that libphonenumber accepts as valid mobile numbers of
//! that country, so the server classifies them exactly as this table says (a test checks it).

use thiserror::Error;

/// One country of the mix and the number ranges loadgen draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Country {
    /// ISO 3166-1 alpha-2 code, as numpool derives it from a number (e.g. `GB`).
    pub iso: &'static str,
    /// Prefixes (calling code included) of generated recipients, used round-robin.
    pub(crate) recipient_prefixes: &'static [&'static str],
    /// Prefixes of generated inventory (sender) numbers, disjoint from the recipients' ranges so
    /// that a sender is never also a recipient.
    pub(crate) inventory_prefixes: &'static [&'static str],
    /// Total digits of a number, calling code included.
    pub len: usize,
    /// MCC-MNC given to seeded inventory numbers as their `network`.
    pub(crate) network: &'static str,
}

/// Every country loadgen knows. NANP countries (US, CA) differ by area code only.
pub const COUNTRIES: &[Country] = &[
    Country {
        iso: "GB",
        recipient_prefixes: &["4474", "4475", "4478", "4479"],
        inventory_prefixes: &["447701"],
        len: 12,
        network: "23415",
    },
    Country {
        iso: "US",
        recipient_prefixes: &["12122", "14152", "16462", "13122", "16172"],
        inventory_prefixes: &["1212555", "1415555"],
        len: 11,
        network: "310260",
    },
    Country {
        iso: "CA",
        recipient_prefixes: &["14162", "16042"],
        inventory_prefixes: &["1416555", "1604555"],
        len: 11,
        network: "302720",
    },
    Country {
        iso: "DE",
        recipient_prefixes: &["49152", "49157"],
        inventory_prefixes: &["49151"],
        len: 13,
        network: "26202",
    },
    Country {
        iso: "FR",
        recipient_prefixes: &["336"],
        inventory_prefixes: &["3375"],
        len: 11,
        network: "20801",
    },
    Country {
        iso: "ES",
        recipient_prefixes: &["346"],
        inventory_prefixes: &["3471"],
        len: 11,
        network: "21401",
    },
    Country {
        iso: "IT",
        recipient_prefixes: &["3933"],
        inventory_prefixes: &["3934"],
        len: 12,
        network: "22201",
    },
    Country {
        iso: "NL",
        recipient_prefixes: &["3161"],
        inventory_prefixes: &["3162"],
        len: 11,
        network: "20404",
    },
    Country {
        iso: "SE",
        recipient_prefixes: &["4670"],
        inventory_prefixes: &["4673"],
        len: 11,
        network: "24001",
    },
    Country {
        iso: "IE",
        recipient_prefixes: &["35383"],
        inventory_prefixes: &["35387"],
        len: 12,
        network: "27201",
    },
    Country {
        iso: "AU",
        recipient_prefixes: &["6141"],
        inventory_prefixes: &["6140"],
        len: 11,
        network: "50501",
    },
    Country {
        iso: "IN",
        recipient_prefixes: &["9198"],
        inventory_prefixes: &["9199"],
        len: 12,
        network: "40410",
    },
    Country {
        iso: "BR",
        recipient_prefixes: &["55119"],
        inventory_prefixes: &["55219"],
        len: 13,
        network: "72406",
    },
    Country {
        iso: "JP",
        recipient_prefixes: &["81901"],
        inventory_prefixes: &["81801"],
        len: 12,
        network: "44010",
    },
    Country {
        iso: "SG",
        recipient_prefixes: &["6590"],
        inventory_prefixes: &["6581"],
        len: 10,
        network: "52501",
    },
];

/// The default mix when `--countries` is not given.
pub(crate) const DEFAULT_MIX: &str = "GB,US,DE,FR";

/// A `--countries` list that cannot be used.
#[derive(Debug, Error)]
pub enum MixError {
    /// A code the table does not have; the second field lists the known ones.
    #[error("unknown country '{0}' (known: {1})")]
    Unknown(String, String),
    /// The same country twice.
    #[error("country {0} is listed twice")]
    Repeated(&'static str),
    /// Nothing listed.
    #[error("the country list is empty")]
    Empty,
}

fn known_isos() -> String {
    COUNTRIES
        .iter()
        .map(|c| c.iso)
        .collect::<Vec<_>>()
        .join(",")
}

/// Parses a comma-separated mix such as `GB,US,DE`. Order is kept: it decides which country the
/// hottest recipients fall in. A repeated country is refused because it would repeat numbers.
pub fn parse_mix(list: &str) -> Result<Vec<Country>, MixError> {
    let mut mix: Vec<Country> = Vec::new();
    for code in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let country = COUNTRIES
            .iter()
            .find(|c| c.iso.eq_ignore_ascii_case(code))
            .copied()
            .ok_or_else(|| MixError::Unknown(code.to_string(), known_isos()))?;
        if mix.contains(&country) {
            return Err(MixError::Repeated(country.iso));
        }
        mix.push(country);
    }
    if mix.is_empty() {
        return Err(MixError::Empty);
    }
    Ok(mix)
}

impl Country {
    /// The `k`-th recipient number of this country (distinct for distinct `k` below the capacity).
    pub fn recipient(&self, k: u64) -> String {
        build(self.recipient_prefixes, self.len, k)
    }

    /// The `k`-th inventory number of this country.
    pub fn inventory(&self, k: u64) -> String {
        build(self.inventory_prefixes, self.len, k)
    }

    /// How many distinct recipients this country can produce before numbers repeat.
    pub fn recipient_capacity(&self) -> u64 {
        capacity(self.recipient_prefixes, self.len)
    }

    /// How many distinct inventory numbers this country can produce before numbers repeat.
    pub fn inventory_capacity(&self) -> u64 {
        capacity(self.inventory_prefixes, self.len)
    }
}

fn capacity(prefixes: &[&str], len: usize) -> u64 {
    // Only the shortest prefix's free digits matter for the minimum; all prefixes of one kind have
    // the same length in the table, so this is exact there.
    let free = len - prefixes.iter().map(|p| p.len()).max().unwrap_or(0);
    // Only a small sub-range of each prefix is guaranteed valid everywhere (leading free digit 0),
    // so capacity counts one tenth of the free space, keeping numbers inside the tested range.
    prefixes.len() as u64 * 10u64.pow(free.saturating_sub(1) as u32)
}

/// Prefix chosen round-robin by `k`, then the rest of `k` zero-padded into the free digits,
/// wrapping inside the capacity so that a number never grows longer than `len`.
fn build(prefixes: &[&str], len: usize, k: u64) -> String {
    let prefix = prefixes[(k % prefixes.len() as u64) as usize];
    let free = len - prefix.len();
    let rest = (k / prefixes.len() as u64) % 10u64.pow(free.saturating_sub(1) as u32);
    format!("{prefix}{rest:0free$}")
}

/// The `i`-th recipient of the whole mix: countries are interleaved so that any prefix of the
/// recipient list (and so the hottest Zipf ranks) covers the mix evenly.
pub fn mix_recipient(mix: &[Country], i: u64) -> String {
    let n = mix.len() as u64;
    mix[(i % n) as usize].recipient(i / n)
}

/// The `i`-th inventory number of the whole mix, interleaved like [`mix_recipient`].
pub fn mix_inventory(mix: &[Country], i: u64) -> (Country, String) {
    let n = mix.len() as u64;
    let c = mix[(i % n) as usize];
    (c, c.inventory(i / n))
}
