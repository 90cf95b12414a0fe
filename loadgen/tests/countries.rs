//! Generated numbers must be what the server will take them for: valid E.164 numbers of the
//! country the table claims, checked against libphonenumber (crate `phonenumber`; numpool
//! classifies with tables generated from a later release of the same data, engine/core/data).

use numpool_loadgen::countries::{mix_inventory, mix_recipient, parse_mix, Country, COUNTRIES};
use std::collections::HashSet;

/// A spread of indices: the first few, some in the middle, and the last before wrapping.
fn sample_indices(capacity: u64) -> Vec<u64> {
    let mut v: Vec<u64> = (0..50).collect();
    v.extend((1..50).map(|i| capacity / 50 * i));
    v.push(capacity - 1);
    v
}

fn check(country: &Country, number: &str, what: &str) {
    assert!(
        number.bytes().all(|b| b.is_ascii_digit()),
        "{what} {number}: not all digits"
    );
    assert_eq!(number.len(), country.len, "{what} {number}: wrong length");
    assert!(
        (7..=15).contains(&number.len()),
        "{what} {number}: not E.164 length"
    );
    let parsed = phonenumber::parse(None, format!("+{number}"))
        .unwrap_or_else(|e| panic!("{what} {number} does not parse: {e}"));
    assert!(
        phonenumber::is_valid(&parsed),
        "{what} {number} is not a valid number"
    );
    let region = parsed.country().id().map(|id| id.as_ref().to_string());
    assert_eq!(
        region.as_deref(),
        Some(country.iso),
        "{what} {number}: wrong country"
    );
}

#[test]
fn recipients_and_inventory_are_valid_numbers_of_their_country() {
    for country in COUNTRIES {
        for k in sample_indices(country.recipient_capacity()) {
            check(country, &country.recipient(k), "recipient");
        }
        for k in sample_indices(country.inventory_capacity()) {
            check(country, &country.inventory(k), "inventory");
        }
    }
}

#[test]
fn numbers_are_distinct_below_capacity_and_senders_never_recipients() {
    for country in COUNTRIES {
        let n = country.inventory_capacity().min(5_000);
        let inventory: HashSet<String> = (0..n).map(|k| country.inventory(k)).collect();
        assert_eq!(
            inventory.len() as u64,
            n,
            "{} inventory repeats",
            country.iso
        );
        let recipients: HashSet<String> = (0..5_000).map(|k| country.recipient(k)).collect();
        assert_eq!(recipients.len(), 5_000, "{} recipients repeat", country.iso);
        assert!(
            inventory.is_disjoint(&recipients),
            "{} ranges overlap",
            country.iso
        );
    }
}

#[test]
fn mix_interleaves_countries_in_order() {
    let mix = parse_mix("gb, US,DE").unwrap();
    let isos: Vec<&str> = mix.iter().map(|c| c.iso).collect();
    assert_eq!(isos, ["GB", "US", "DE"]);
    assert!(mix_recipient(&mix, 0).starts_with("44"));
    assert!(mix_recipient(&mix, 1).starts_with('1'));
    assert!(mix_recipient(&mix, 2).starts_with("49"));
    assert!(mix_recipient(&mix, 3).starts_with("44"));
    assert_ne!(mix_recipient(&mix, 0), mix_recipient(&mix, 3));
    let (c, n) = mix_inventory(&mix, 4);
    assert_eq!(c.iso, "US");
    assert!(n.starts_with("1212555") || n.starts_with("1415555"));
}

#[test]
fn bad_mixes_are_refused() {
    assert!(parse_mix("GB,XX").is_err());
    assert!(parse_mix("GB,gb").is_err());
    assert!(parse_mix(" , ").is_err());
}
