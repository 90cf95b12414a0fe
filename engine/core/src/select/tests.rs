//! One test per rule of DESIGN §3.2, named after it, and property tests of its invariants.

use proptest::prelude::*;

use super::*;
use crate::model::{CustomFrom, Fallback, NumberSpec, NumberStatus, OwnedNumber, PoolSettings};

pub(super) const NOW: u32 = 1_800_000_000;

pub(super) fn owned(number: &str, network: Option<&str>) -> OwnedNumber {
    OwnedNumber::from_spec(&NumberSpec {
        number: number.into(),
        network: network.map(Into::into),
        ..NumberSpec::default()
    })
    .unwrap()
}

/// `number` as owned, with `status`.
fn with_status(number: &str, status: NumberStatus) -> OwnedNumber {
    OwnedNumber {
        status,
        ..owned(number, None)
    }
}

pub(super) fn pool(settings: PoolSettings, numbers: &[(&str, Option<&str>)]) -> PoolState {
    let mut state = PoolState::new(settings);
    state.upsert(numbers.iter().map(|(n, net)| owned(n, *net)));
    state
}

pub(super) fn settings(fallback: Fallback, localized: bool, predictable: bool) -> PoolSettings {
    PoolSettings {
        fallback,
        localized_sender_preferred: localized,
        predictable_sender_preferred: predictable,
        ..PoolSettings::default()
    }
}

pub(super) fn msisdn(text: &str) -> Msisdn {
    Msisdn::parse(text).unwrap()
}

pub(super) fn pick_to(state: &mut PoolState, to: &str) -> Result<Pick, PickError> {
    pick_with(state, to, None, None, NOW)
}

pub(super) fn pick_with(
    state: &mut PoolState,
    to: &str,
    from: Option<&str>,
    network: Option<&str>,
    now: u32,
) -> Result<Pick, PickError> {
    let request = PickRequest {
        to: msisdn(to),
        from,
        network,
        segments: 1,
    };
    pick(state, &request, Now::from_unix_secs(now))
}

pub(super) fn number_of(pick: &Pick) -> Msisdn {
    match &pick.sender {
        Sender::Number(n) => *n,
        other => panic!("expected a number, got {other:?}"),
    }
}

/// GB and US numbers, with networks and two NANP areas.
const MIXED: &[(&str, Option<&str>)] = &[
    ("447700900001", Some("23415")),
    ("447700900002", Some("23410")),
    ("447700900003", None),
    ("12125550101", Some("310260")),
    ("12125550102", None),
    ("14155550101", Some("310260")),
    ("14155550102", Some("311480")),
];

#[test]
fn rule1_recipient_with_unknown_calling_code_is_invalid() {
    let mut state = pool(PoolSettings::default(), MIXED);
    let err = pick_to(&mut state, "9991234567").unwrap_err();
    assert!(matches!(err, PickError::InvalidRecipient(_)), "{err:?}");
    assert_eq!(state.sticky_len(), 0, "an invalid request records nothing");
}

#[test]
fn rule1_shared_calling_code_without_a_known_prefix_is_the_main_region() {
    // +1 800 (toll free) belongs to no single NANP region: US, the main region.
    let mut state = pool(settings(Fallback::Reject, true, true), MIXED);
    let pick = pick_to(&mut state, "18005550100").unwrap();
    assert_eq!(pick.reason, Reason::Country);
    assert_eq!(number_of(&pick).leading_digits(1), 1);
}

#[test]
fn rule1_invalid_sender_is_an_error() {
    let mut state = pool(settings(Fallback::CustomFrom, true, false), MIXED);
    let err = pick_with(
        &mut state,
        "4915112345678",
        Some("Way Too Long Id"),
        None,
        NOW,
    );
    assert!(matches!(err, Err(PickError::InvalidSender(_))));
}

#[test]
fn rule2_sticky_returns_the_mapped_number_and_refreshes_last_use() {
    let mut state = pool(PoolSettings::default(), MIXED);
    let first = pick_to(&mut state, "447400123459").unwrap();
    assert_eq!(first.reason, Reason::Country);
    let again = pick_with(&mut state, "447400123459", None, None, NOW + 50).unwrap();
    assert_eq!(again.reason, Reason::Sticky);
    assert_eq!(number_of(&again), number_of(&first));
    let key = crate::sticky::Key::new(msisdn("447400123459"));
    assert_eq!(state.sticky.get(key).unwrap().last_use, NOW + 50);
}

#[test]
fn a_withdrawn_mapping_is_gone_but_only_if_it_is_still_the_same() {
    let mut state = pool(PoolSettings::default(), MIXED);
    let to = msisdn("447400123459");
    let sender = number_of(&pick_to(&mut state, "447400123459").unwrap());
    let other = msisdn("12125550000");
    state.sticky_forget(to, other);
    assert_eq!(
        state.sticky_get(to, NOW),
        Some(sender),
        "another sender: kept"
    );
    state.sticky_forget(to, sender);
    assert_eq!(state.sticky_get(to, NOW), None);
    assert_ne!(
        pick_to(&mut state, "447400123459").unwrap().reason,
        Reason::Sticky
    );
}

#[test]
fn rule2_expired_mapping_is_repicked() {
    let s = PoolSettings {
        sticky_ttl_seconds: 60,
        ..PoolSettings::default()
    };
    let mut state = pool(s, MIXED);
    pick_to(&mut state, "447400123459").unwrap();
    let within = pick_with(&mut state, "447400123459", None, None, NOW + 60).unwrap();
    assert_eq!(within.reason, Reason::Sticky);
    let after = pick_with(&mut state, "447400123459", None, None, NOW + 121).unwrap();
    assert_eq!(after.reason, Reason::Country, "expired mapping is not used");
    assert_eq!(
        state.sticky_get(msisdn("447400123459"), NOW + 121),
        Some(number_of(&after))
    );
}

#[test]
fn rule2_local_number_beats_an_old_international_mapping() {
    let mut state = pool(settings(Fallback::Pool, true, true), &MIXED[..3]);
    // No US number yet: the Pool fallback maps the US recipient to a GB number.
    let first = pick_to(&mut state, "12125559999").unwrap();
    assert_eq!(first.reason, Reason::Any);
    assert_eq!(
        pick_to(&mut state, "12125559999").unwrap().reason,
        Reason::Sticky
    );
    state.upsert([owned("12125550101", None)]);
    let local = pick_to(&mut state, "12125559999").unwrap();
    assert_eq!(number_of(&local), msisdn("12125550101"));
    assert_eq!(local.reason, Reason::Area);
    assert_eq!(
        pick_to(&mut state, "12125559999").unwrap().reason,
        Reason::Sticky
    );
}

#[test]
fn rule2_international_mapping_stays_while_no_local_number_exists() {
    let mut state = pool(settings(Fallback::Pool, true, true), &MIXED[..3]);
    let first = pick_to(&mut state, "4915112345678").unwrap();
    state.upsert([owned("12125550101", None)]);
    let again = pick_to(&mut state, "4915112345678").unwrap();
    assert_eq!(again.reason, Reason::Sticky);
    assert_eq!(number_of(&again), number_of(&first));
}

#[test]
fn rule3_area_and_network_tier_comes_first() {
    let mut state = pool(settings(Fallback::Reject, true, false), MIXED);
    for _ in 0..20 {
        let p = pick_with(&mut state, "14155559999", None, Some("311480"), NOW).unwrap();
        assert_eq!(
            (number_of(&p), p.reason),
            (msisdn("14155550102"), Reason::Area)
        );
    }
}

#[test]
fn rule3_area_tier_when_no_number_shares_area_and_network() {
    let mut state = pool(settings(Fallback::Reject, true, false), MIXED);
    for _ in 0..20 {
        let p = pick_with(&mut state, "12125559999", None, Some("311480"), NOW).unwrap();
        assert_eq!(p.reason, Reason::Area);
        assert_eq!(number_of(&p).leading_digits(4), 1212);
    }
}

#[test]
fn rule3_network_tier_when_no_number_shares_the_area() {
    let mut state = pool(settings(Fallback::Reject, true, false), MIXED);
    for _ in 0..20 {
        // 214 is a Texas area, and Texas a region, with no pool number; 310260 is on two
        // numbers, one per area. (New York and California recipients: geomatch_tests.rs.)
        let p = pick_with(&mut state, "12145559999", None, Some("310260"), NOW).unwrap();
        assert_eq!(p.reason, Reason::Network);
        assert!([msisdn("12125550101"), msisdn("14155550101")].contains(&number_of(&p)));
        let p = pick_with(&mut state, "447400123459", None, Some("23410"), NOW).unwrap();
        assert_eq!(
            (number_of(&p), p.reason),
            (msisdn("447700900002"), Reason::Network)
        );
    }
}

#[test]
fn rule3_country_tier_otherwise() {
    let mut state = pool(settings(Fallback::Reject, true, false), MIXED);
    let mut seen = std::collections::HashSet::new();
    for _ in 0..200 {
        let p = pick_with(&mut state, "447400123459", None, Some("99999"), NOW).unwrap();
        assert_eq!(p.reason, Reason::Country);
        assert_eq!(number_of(&p).leading_digits(2), 44);
        seen.insert(number_of(&p));
    }
    assert_eq!(seen.len(), 3, "every GB number is a candidate");
}

#[test]
fn rule3_unlocalized_pool_uses_any_number() {
    let mut state = pool(settings(Fallback::Reject, false, false), MIXED);
    let mut seen = std::collections::HashSet::new();
    for _ in 0..500 {
        let p = pick_to(&mut state, "447400123459").unwrap();
        assert_eq!(p.reason, Reason::Any);
        seen.insert(number_of(&p));
    }
    assert_eq!(seen.len(), MIXED.len());
}

#[test]
fn rule4_fallback_pool_uses_any_number() {
    let mut state = pool(settings(Fallback::Pool, true, true), MIXED);
    let p = pick_to(&mut state, "4915112345678").unwrap();
    assert_eq!(p.reason, Reason::Any);
    assert!(state.contains(number_of(&p)));
    assert_eq!(
        pick_to(&mut state, "4915112345678").unwrap().reason,
        Reason::Sticky
    );
}

#[test]
fn rule4_fallback_pool_with_an_empty_pool_rejects() {
    let mut state = pool(settings(Fallback::Pool, true, true), &[]);
    assert_eq!(
        pick_to(&mut state, "4915112345678"),
        Err(PickError::Rejected(Rejection::EmptyPool))
    );
}

#[test]
fn rule4_fallback_custom_from_prefers_the_request_from_then_the_pool_custom_from() {
    let mut s = settings(Fallback::CustomFrom, true, true);
    let mut state = pool(s.clone(), MIXED);
    let p = pick_with(&mut state, "4915112345678", Some("AcmeDE"), None, NOW).unwrap();
    assert_eq!(p.sender.to_string(), "AcmeDE");
    assert_eq!(p.reason, Reason::CustomFrom);
    assert_eq!(
        pick_to(&mut state, "4915112345678"),
        Err(PickError::Rejected(Rejection::NoCustomFrom(
            crate::model::Country::new("DE").unwrap()
        )))
    );
    s.custom_from = Some(CustomFrom::new("Acme").unwrap());
    state.set_settings(s);
    let p = pick_to(&mut state, "4915112345678").unwrap();
    assert_eq!(
        (p.sender.to_string(), p.reason),
        ("Acme".into(), Reason::CustomFrom)
    );
    assert_eq!(state.sticky_len(), 0, "custom_from picks record nothing");
}

#[test]
fn rule4_fallback_reject_refuses_the_country() {
    let mut state = pool(settings(Fallback::Reject, true, true), MIXED);
    let err = pick_to(&mut state, "4915112345678").unwrap_err();
    assert_eq!(err.to_string(), "no number for country DE");
    assert_eq!(state.sticky_len(), 0);
}

#[test]
fn rule5_predictable_pick_is_the_same_on_every_fresh_state() {
    let recipients: Vec<String> = (0..200).map(|i| format!("4474001{i:05}")).collect();
    let run = || {
        let mut state = pool(PoolSettings::default(), MIXED);
        recipients
            .iter()
            .map(|to| number_of(&pick_to(&mut state, to).unwrap()))
            .collect::<Vec<_>>()
    };
    let first = run();
    assert_eq!(first, run(), "restart or replica gives the same senders");
    let distinct: std::collections::HashSet<_> = first.iter().collect();
    assert_eq!(
        distinct.len(),
        3,
        "the hash spreads recipients over GB numbers"
    );
}

#[test]
fn rule5_recorded_conversations_never_move_when_numbers_are_added() {
    let mut state = pool(PoolSettings::default(), &MIXED[..3]);
    let recipients: Vec<String> = (0..300).map(|i| format!("4474001{i:05}")).collect();
    let before: Vec<_> = recipients
        .iter()
        .map(|to| number_of(&pick_to(&mut state, to).unwrap()))
        .collect();
    state.upsert((4..40).map(|i| owned(&format!("4477009000{i:02}"), None)));
    for (to, sender) in recipients.iter().zip(before) {
        let p = pick_to(&mut state, to).unwrap();
        assert_eq!((number_of(&p), p.reason), (sender, Reason::Sticky));
    }
}

#[test]
fn rule5_non_predictable_pick_is_weighted_random_and_records_nothing() {
    let mut state = PoolState::new(settings(Fallback::Reject, true, false));
    let mut heavy = owned("447700900001", None);
    heavy.weight = 3;
    state.upsert([heavy, owned("447700900002", None)]);
    let hits = (0..8_000)
        .filter(|_| {
            number_of(&pick_to(&mut state, "447400123459").unwrap()) == msisdn("447700900001")
        })
        .count();
    // Expect 6,000; 5 standard deviations is about ±200.
    assert!((5_750..=6_250).contains(&hits), "{hits}");
    assert_eq!(state.sticky_len(), 0);
}

#[test]
fn rule6_removing_a_number_invalidates_its_mappings() {
    let mut state = pool(PoolSettings::default(), MIXED);
    let first = number_of(&pick_to(&mut state, "447400123459").unwrap());
    assert_eq!(state.remove(&[first]), vec![true]);
    assert_eq!(state.sticky_get(msisdn("447400123459"), NOW), None);
    let next = pick_to(&mut state, "447400123459").unwrap();
    assert_ne!(number_of(&next), first);
    assert_eq!(next.reason, Reason::Country, "re-picked, not sticky");
    assert_eq!(state.remove(&[first]), vec![false], "already gone");
}

#[test]
fn rule6_removing_and_re_adding_a_number_does_not_revive_old_mappings() {
    let mut state = pool(PoolSettings::default(), &MIXED[..1]);
    pick_to(&mut state, "447400123459").unwrap();
    state.remove(&[msisdn("447700900001")]);
    state.upsert([owned("447700900001", None)]);
    assert_eq!(
        pick_to(&mut state, "447400123459").unwrap().reason,
        Reason::Country
    );
}

#[test]
fn compaction_keeps_live_mappings_and_drops_dead_ones() {
    let numbers: Vec<String> = (0..10_000).map(|i| format!("4477009{i:05}")).collect();
    let mut state = PoolState::new(PoolSettings::default());
    state.upsert(numbers.iter().map(|n| owned(n, None)));
    let recipients: Vec<String> = (0..1_000).map(|i| format!("4474001{i:05}")).collect();
    let senders: Vec<_> = recipients
        .iter()
        .map(|to| number_of(&pick_to(&mut state, to).unwrap()))
        .collect();
    // Remove every number no recipient uses, plus one that is used: enough to compact.
    let used: std::collections::HashSet<_> = senders.iter().copied().collect();
    let mut doomed: Vec<_> = numbers
        .iter()
        .map(|n| msisdn(n))
        .filter(|n| !used.contains(n))
        .collect();
    doomed.push(senders[0]);
    state.remove(&doomed);
    assert!(state.slots.len() <= 1_000, "compacted");
    for (to, sender) in recipients.iter().zip(&senders) {
        let expected = (*sender != senders[0]).then_some(*sender);
        assert_eq!(state.sticky_get(msisdn(to), NOW), expected, "{to}");
    }
}

#[test]
fn sweep_drops_expired_and_dead_mappings() {
    let s = PoolSettings {
        sticky_ttl_seconds: 10,
        ..PoolSettings::default()
    };
    let mut state = pool(s, MIXED);
    pick_with(&mut state, "447400123459", None, None, NOW).unwrap();
    pick_with(&mut state, "447400123457", None, None, NOW + 100).unwrap();
    let swept: usize = (0..crate::sticky::SHARDS)
        .map(|shard| state.sweep_shard(shard, NOW + 105))
        .sum();
    assert_eq!(swept, 1);
    assert_eq!(state.sticky_len(), 1);
}

/// Rule 3: a draining number keeps the conversations it has.
#[test]
fn draining_keeps_existing_conversation() {
    let mut state = pool(PoolSettings::default(), &MIXED[..3]);
    let first = number_of(&pick_to(&mut state, "447400123459").unwrap());
    state.upsert([with_status(&first.to_string(), NumberStatus::Draining)]);
    let again = pick_to(&mut state, "447400123459").unwrap();
    assert_eq!((number_of(&again), again.reason), (first, Reason::Sticky));
    assert_eq!(state.conversations(first), Some(1));
}

/// Rule 4: a draining number is no candidate for a new conversation.
#[test]
fn draining_takes_no_new_conversation() {
    let mut state = pool(PoolSettings::default(), &MIXED[..3]);
    state.upsert([with_status("447700900001", NumberStatus::Draining)]);
    for i in 0..200 {
        let pick = pick_to(&mut state, &format!("447400{i:06}")).unwrap();
        assert_ne!(number_of(&pick), msisdn("447700900001"));
    }
    assert_eq!(state.conversations(msisdn("447700900001")), Some(0));
}

/// Rule 3 exception: a suspended number's mapping is dropped at the recipient's next message,
/// which continues as a new conversation on an eligible number.
#[test]
fn suspended_moves_conversation_at_next_message() {
    let mut state = pool(PoolSettings::default(), &MIXED[..3]);
    let first = number_of(&pick_to(&mut state, "447400123459").unwrap());
    state.upsert([with_status(&first.to_string(), NumberStatus::Suspended)]);
    assert_eq!(
        state.conversations(first),
        Some(1),
        "moves only at the next message"
    );
    let moved = pick_to(&mut state, "447400123459").unwrap();
    assert_ne!(number_of(&moved), first);
    assert_eq!(moved.reason, Reason::Country);
    assert_eq!(state.conversations(first), Some(0));
    assert_eq!(state.conversations(number_of(&moved)), Some(1));
    let again = pick_to(&mut state, "447400123459").unwrap();
    assert_eq!(
        (number_of(&again), again.reason),
        (number_of(&moved), Reason::Sticky)
    );
}

/// Rule 4: a suspended number takes no new conversation either.
#[test]
fn suspended_takes_no_new_conversation() {
    let mut state = pool(settings(Fallback::Pool, false, false), &MIXED[..2]);
    state.upsert([with_status("447700900002", NumberStatus::Suspended)]);
    for i in 0..200 {
        let pick = pick_to(&mut state, &format!("447400{i:06}")).unwrap();
        assert_eq!(number_of(&pick), msisdn("447700900001"));
    }
}

/// Rule 3 exception: only an eligible local number replaces an international mapping.
#[test]
fn draining_local_number_does_not_replace_an_international_mapping() {
    let mut state = pool(settings(Fallback::Pool, true, true), &MIXED[..3]);
    let first = number_of(&pick_to(&mut state, "12125559999").unwrap());
    state.upsert([with_status("12125550101", NumberStatus::Draining)]);
    let again = pick_to(&mut state, "12125559999").unwrap();
    assert_eq!((number_of(&again), again.reason), (first, Reason::Sticky));
    state.upsert([owned("12125550101", None)]);
    let local = pick_to(&mut state, "12125559999").unwrap();
    assert_eq!(number_of(&local), msisdn("12125550101"));
}

/// Rule 5: a rejection says the country's numbers are all suspended.
#[test]
fn rejection_names_suspended() {
    let mut state = pool(settings(Fallback::Reject, true, true), MIXED);
    state.upsert(
        ["447700900001", "447700900002", "447700900003"]
            .map(|n| with_status(n, NumberStatus::Suspended)),
    );
    let err = pick_to(&mut state, "447400123459").unwrap_err();
    assert_eq!(
        err.to_string(),
        "no eligible number for country GB: every number there is suspended"
    );
    assert_eq!(state.sticky_len(), 0);
}

/// Rule 5: a rejection names every reason that applies, over the whole pool when the fallback
/// looked there.
#[test]
fn rejection_names_draining_and_suspended() {
    let mut state = pool(settings(Fallback::Pool, false, true), &MIXED[..2]);
    state.upsert([
        with_status("447700900001", NumberStatus::Draining),
        with_status("447700900002", NumberStatus::Suspended),
    ]);
    let err = pick_to(&mut state, "447400123459").unwrap_err();
    assert_eq!(
        err,
        PickError::Rejected(Rejection::NoneEligible(Ineligible {
            suspended: 1,
            draining: 1,
            unhealthy: 0,
            at_allowance: 0,
        }))
    );
    assert_eq!(
        err.to_string(),
        "no eligible number: every number in the pool is suspended or draining"
    );
    let mut localized = pool(settings(Fallback::Pool, true, true), &MIXED[3..5]);
    localized
        .upsert(["12125550101", "12125550102"].map(|n| with_status(n, NumberStatus::Draining)));
    assert_eq!(
        pick_to(&mut localized, "447400123459")
            .unwrap_err()
            .to_string(),
        "no eligible number: every number in the pool is draining"
    );
}

/// Rule 5: the `Pool` fallback uses only eligible numbers elsewhere in the pool.
#[test]
fn fallback_pool_skips_ineligible_numbers() {
    let mut state = pool(settings(Fallback::Pool, true, true), &MIXED[..4]);
    state.upsert(["447700900001", "447700900002"].map(|n| with_status(n, NumberStatus::Draining)));
    state.upsert([with_status("447700900003", NumberStatus::Suspended)]);
    let pick = pick_to(&mut state, "447400123459").unwrap();
    assert_eq!(
        (number_of(&pick), pick.reason),
        (msisdn("12125550101"), Reason::Any)
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Invariants of §3.2: a picked number is always in the pool and, for a new conversation,
    /// active; a localized pick stays in the recipient's country whenever the pool has an
    /// eligible number there; a predictable pool gives the same sender again for a fixed pool.
    #[test]
    fn picks_respect_the_invariants(
        pool_numbers in proptest::collection::btree_set(
            prop_oneof![
                (0u64..50).prop_map(|i| format!("4477009000{i:02}")),
                (0u64..50).prop_map(|i| format!("1212555{i:04}")),
                (0u64..50).prop_map(|i| format!("4915100000{i:02}")),
            ],
            0..20,
        ),
        recipients in proptest::collection::vec(
            prop_oneof![
                (0u64..1000).prop_map(|i| format!("4474001{i:05}")),
                (0u64..1000).prop_map(|i| format!("1415555{i:04}")),
                (0u64..1000).prop_map(|i| format!("3361234{i:04}")),
            ],
            1..40,
        ),
        localized in any::<bool>(),
        predictable in any::<bool>(),
        fallback in prop_oneof![Just(Fallback::Pool), Just(Fallback::CustomFrom), Just(Fallback::Reject)],
        statuses in proptest::collection::vec(
            prop_oneof![
                3 => Just(NumberStatus::Active),
                1 => Just(NumberStatus::Draining),
                1 => Just(NumberStatus::Suspended),
            ],
            20,
        ),
    ) {
        let mut state = PoolState::new(settings(fallback, localized, predictable));
        let members: Vec<OwnedNumber> = pool_numbers.iter().zip(&statuses).map(|(n, &status)| with_status(n, status)).collect();
        let status_of: std::collections::HashMap<Msisdn, NumberStatus> = members.iter().map(|m| (m.number, m.status)).collect();
        state.upsert(members);
        let classifier = crate::model::classify::classifier();
        for to in &recipients {
            let country = classifier.classify(msisdn(to)).unwrap().country;
            let has_local = state.index.has_country(country);
            match pick_to(&mut state, to) {
                Ok(Pick { sender: Sender::Number(n), reason, .. }) => {
                    prop_assert!(state.contains(n));
                    if reason != Reason::Sticky {
                        prop_assert_eq!(status_of[&n], NumberStatus::Active);
                    }
                    if localized && has_local {
                        prop_assert_eq!(classifier.classify(n).unwrap().country, country);
                    }
                    if predictable {
                        let again = pick_to(&mut state, to).unwrap();
                        prop_assert_eq!(again, Pick { sender: Sender::Number(n), reason: Reason::Sticky, wait_ms: 0 });
                    } else {
                        prop_assert!(reason != Reason::Sticky);
                    }
                }
                Ok(Pick { sender: Sender::Alphanumeric(_), .. }) => {
                    prop_assert_eq!(fallback, Fallback::CustomFrom);
                }
                Err(PickError::Rejected(_)) => {
                    prop_assert!(fallback != Fallback::Pool || state.index.any().is_empty());
                    prop_assert!(!(localized && has_local));
                }
                Err(other) => prop_assert!(false, "unexpected {other:?}"),
            }
        }
    }
}
