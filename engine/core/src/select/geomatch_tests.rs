//! DESIGN §3.2 rule 4's place tiers: area and network, area, region and network, region,
//! network, country, and the pool's `geomatch` setting. The regions are the generated table's
//! (`model::regions`): 212, 518 and 646 are New York, 415 California, 20 London.

use super::tests::{msisdn, number_of, pick_to, pick_with, pool, NOW};
use super::*;
use crate::model::{Geomatch, PoolSettings};

fn geomatch(setting: Geomatch) -> PoolSettings {
    PoolSettings {
        geomatch: setting,
        ..PoolSettings::default()
    }
}

#[test]
fn rule4_a_manhattan_recipient_prefers_a_new_york_number_over_a_california_one() {
    let numbers = [
        ("12125550101", None),
        ("15185550101", None),
        ("14155550101", None),
    ];
    let mut state = pool(PoolSettings::default(), &numbers);
    let new_york = [msisdn("12125550101"), msisdn("15185550101")];
    for i in 0..200 {
        let pick = pick_to(&mut state, &format!("1646555{i:04}")).unwrap();
        assert_eq!(pick.reason, Reason::Region);
        assert!(new_york.contains(&number_of(&pick)), "{pick:?}");
    }
}

#[test]
fn rule4_area_tier_comes_before_the_region_tier() {
    let numbers = [
        ("16465550101", None),
        ("12125550101", None),
        ("14155550101", None),
    ];
    let mut state = pool(PoolSettings::default(), &numbers);
    let pick = pick_to(&mut state, "16465550199").unwrap();
    assert_eq!(
        (number_of(&pick), pick.reason),
        (msisdn("16465550101"), Reason::Area)
    );
}

#[test]
fn rule4_region_and_network_tier_comes_before_the_region_tier() {
    let numbers = [
        ("12125550101", Some("310260")),
        ("15185550101", Some("311480")),
        ("14155550101", Some("311480")),
    ];
    let mut state = pool(PoolSettings::default(), &numbers);
    for i in 0..50 {
        let to = format!("1646555{i:04}");
        let pick = pick_with(&mut state, &to, None, Some("311480"), NOW).unwrap();
        assert_eq!(
            (number_of(&pick), pick.reason),
            (msisdn("15185550101"), Reason::Region)
        );
    }
}

#[test]
fn rule4_network_tier_when_no_number_shares_the_region() {
    let numbers = [("14155550101", Some("310260")), ("14155550102", None)];
    let mut state = pool(PoolSettings::default(), &numbers);
    let pick = pick_with(&mut state, "16465550100", None, Some("310260"), NOW).unwrap();
    assert_eq!(
        (number_of(&pick), pick.reason),
        (msisdn("14155550101"), Reason::Network)
    );
    let pick = pick_to(&mut state, "16465550101").unwrap();
    assert_eq!(pick.reason, Reason::Country);
}

#[test]
fn rule4_geomatch_area_skips_the_region_tiers() {
    let numbers = [
        ("16465550101", None),
        ("12125550101", None),
        ("14155550101", Some("310260")),
    ];
    let mut state = pool(geomatch(Geomatch::Area), &numbers);
    let pick = pick_to(&mut state, "16465550199").unwrap();
    assert_eq!(pick.reason, Reason::Area, "the area tier stays");
    let pick = pick_with(&mut state, "15185550100", None, Some("310260"), NOW).unwrap();
    assert_eq!(
        (number_of(&pick), pick.reason),
        (msisdn("14155550101"), Reason::Network)
    );
    let pick = pick_to(&mut state, "15185550101").unwrap();
    assert_eq!(pick.reason, Reason::Country);
}

#[test]
fn rule4_geomatch_off_skips_area_and_region() {
    let numbers = [("16465550101", None), ("12125550101", None)];
    let mut state = pool(geomatch(Geomatch::Off), &numbers);
    for to in ["16465550199", "12125550199", "15185550199"] {
        assert_eq!(pick_to(&mut state, to).unwrap().reason, Reason::Country);
    }
}

#[test]
fn rule4_regions_outside_nanp_are_the_geocoding_areas() {
    let numbers = [
        ("442079460001", None),
        ("441214960001", None),
        ("447700900001", None),
    ];
    let mut state = pool(PoolSettings::default(), &numbers);
    let london = pick_to(&mut state, "442079460999").unwrap();
    assert_eq!(
        (number_of(&london), london.reason),
        (msisdn("442079460001"), Reason::Region)
    );
    let birmingham = pick_to(&mut state, "441214960999").unwrap();
    assert_eq!(
        (number_of(&birmingham), birmingham.reason),
        (msisdn("441214960001"), Reason::Region)
    );
    // A mobile has no region: the country tier.
    let mobile = pick_to(&mut state, "447400123459").unwrap();
    assert_eq!(mobile.reason, Reason::Country);
}
