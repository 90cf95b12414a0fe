//! DESIGN §3.2 rules 3 and 4 as health and type priority shape them: one test per rule and
//! exception, and a property test that a pool acting on health never gives an unhealthy number
//! a conversation.

use proptest::prelude::*;

use super::tests::{msisdn, number_of, owned, pick_to, pick_with, pool, settings, NOW};
use super::*;
use crate::delivery::{HealthFigures, HealthState, ReceiptClass, Thresholds};
use crate::model::{Fallback, NumberType, OwnedNumber, PoolSettings, TypePriority};

/// Three GB numbers.
const GB: &[(&str, Option<&str>)] = &[
    ("447700900001", None),
    ("447700900002", None),
    ("447700900003", None),
];

/// A window of `failed` sender failures and `delivered` deliveries.
fn window(delivered: u64, failed: u64) -> HealthFigures {
    HealthFigures {
        delivered,
        sender_failures: failed,
        ..HealthFigures::default()
    }
}

/// Makes `number` unhealthy at `at` under the default thresholds: 20 sender failures.
fn fail(state: &mut PoolState, number: &str, at: u32) {
    state.observe_receipt(
        msisdn(number),
        ReceiptClass::SenderFailure,
        &window(0, 20),
        u64::from(at),
    );
}

/// The default pool, acting on health.
fn acting() -> PoolSettings {
    PoolSettings {
        skip_unhealthy: true,
        ..PoolSettings::default()
    }
}

/// Rule 3 exception: in a pool that acts on health, an unhealthy number's conversation moves
/// at its next message.
#[test]
fn rule3_unhealthy_number_loses_its_conversations_when_the_pool_acts_on_health() {
    let mut state = pool(acting(), GB);
    let first = number_of(&pick_to(&mut state, "447400123456").unwrap());
    fail(&mut state, &first.to_string(), NOW);
    let moved = pick_to(&mut state, "447400123456").unwrap();
    assert_ne!(number_of(&moved), first);
    assert_eq!(moved.reason, Reason::Country);
    assert_eq!(state.conversations(first), Some(0));
}

/// Rule 3: elsewhere health is reported, not acted on.
#[test]
fn rule3_unhealthy_number_keeps_its_conversations_when_the_pool_only_reports() {
    let mut state = pool(PoolSettings::default(), GB);
    let first = number_of(&pick_to(&mut state, "447400123456").unwrap());
    fail(&mut state, &first.to_string(), NOW);
    assert_eq!(
        state.health(first, u64::from(NOW)),
        Some((HealthState::Unhealthy, Some(u64::from(NOW))))
    );
    let again = pick_to(&mut state, "447400123456").unwrap();
    assert_eq!((number_of(&again), again.reason), (first, Reason::Sticky));
}

/// Rule 4: an unhealthy number is no candidate in a pool that acts on health.
#[test]
fn rule4_unhealthy_number_takes_no_new_conversation() {
    let mut state = pool(acting(), GB);
    fail(&mut state, "447700900002", NOW);
    for i in 0..300 {
        let pick = pick_to(&mut state, &format!("447400{i:06}")).unwrap();
        assert_ne!(number_of(&pick), msisdn("447700900002"));
    }
}

/// Rule 4: on probation a number is a candidate again at a tenth of its weight.
#[test]
fn rule4_probation_number_takes_a_tenth_of_its_share() {
    let mut state = pool(
        PoolSettings {
            predictable_sender_preferred: false,
            ..acting()
        },
        &GB[..2],
    );
    fail(&mut state, "447700900002", NOW);
    let later = NOW + 3_600;
    let probation = (0..22_000)
        .filter(|i| {
            let pick = pick_with(&mut state, &format!("447400{i:06}"), None, None, later);
            number_of(&pick.unwrap()) == msisdn("447700900002")
        })
        .count();
    // Expect 2,000 (1 in 11); 5 standard deviations is about ±210.
    assert!((1_750..=2_250).contains(&probation), "{probation}");
}

/// Rule 4: an unhealthy number goes on probation by itself after the pool's
/// `probation_seconds`, and its next receipts decide.
#[test]
fn rule4_unhealthy_goes_on_probation_by_itself_then_receipts_decide() {
    let mut state = pool(
        PoolSettings {
            health: Thresholds {
                probation_seconds: 60,
                ..Thresholds::default()
            },
            ..acting()
        },
        &GB[..1],
    );
    fail(&mut state, GB[0].0, NOW);
    let err = pick_with(&mut state, "447400123456", None, None, NOW + 59).unwrap_err();
    assert!(
        matches!(err, PickError::Rejected(Rejection::NoneEligibleInCountry(_, i)) if i.unhealthy == 1),
        "{err:?}"
    );
    let pick = pick_with(&mut state, "447400123456", None, None, NOW + 60).unwrap();
    assert_eq!(number_of(&pick), msisdn(GB[0].0));
    // A sender failure on probation: unhealthy again, and its conversation moves away
    // (nowhere here: the pool's fallback has nothing either).
    fail(&mut state, GB[0].0, NOW + 61);
    assert!(pick_with(&mut state, "447400123456", None, None, NOW + 61).is_err());
}

/// Rule 5: a localized rejection names the unhealthy numbers of the country.
#[test]
fn rejection_names_unhealthy_in_the_country() {
    let mut state = pool(
        PoolSettings {
            fallback: Fallback::Reject,
            ..acting()
        },
        &[("447700900001", None), ("12125550101", None)],
    );
    fail(&mut state, "447700900001", NOW);
    let err = pick_to(&mut state, "447400123456").unwrap_err();
    assert_eq!(
        err.to_string(),
        "no eligible number for country GB: every number there is unhealthy"
    );
}

/// §3.4: thresholds are the pool's own.
#[test]
fn the_pools_thresholds_judge_its_numbers() {
    let strict = Thresholds {
        min_receipts: 5,
        min_deliverability: 0.9,
        ..Thresholds::default()
    };
    let mut state = pool(
        PoolSettings {
            health: strict,
            ..acting()
        },
        GB,
    );
    let n = msisdn(GB[0].0);
    let figures = window(8, 2);
    state.observe_receipt(n, ReceiptClass::SenderFailure, &figures, u64::from(NOW));
    assert_eq!(
        state.health(n, u64::from(NOW)).unwrap().0,
        HealthState::Unhealthy
    );
    assert!(!Thresholds::default().unhealthy(&figures));
}

fn typed(number: &str, kind: NumberType) -> OwnedNumber {
    OwnedNumber {
        kind: Some(kind),
        ..owned(number, None)
    }
}

fn prioritized(entries: Vec<(Option<&str>, Vec<NumberType>)>) -> PoolSettings {
    let entries = entries
        .into_iter()
        .map(|(c, types)| (c.map(|c| crate::model::Country::new(c).unwrap()), types));
    PoolSettings {
        type_priority: TypePriority::new(entries).unwrap(),
        ..settings(Fallback::Pool, true, true)
    }
}

/// Rule 4: the first listed type with an eligible number in the country wins, even over a
/// number in the recipient's area.
#[test]
fn rule4_type_priority_first_listed_type_wins() {
    let mut state = PoolState::new(prioritized(vec![(
        Some("US"),
        vec![NumberType::TollFree, NumberType::Mobile],
    )]));
    state.upsert([
        typed("12125550101", NumberType::Mobile),
        typed("18005550100", NumberType::TollFree),
        typed("14155550101", NumberType::Landline),
    ]);
    let pick = pick_to(&mut state, "12125559999").unwrap();
    assert_eq!(
        (number_of(&pick), pick.reason),
        (msisdn("18005550100"), Reason::Country)
    );
}

/// Rule 4: a listed type without an eligible number gives way to the next; inside that type
/// the area tiers apply; unlisted types come last.
#[test]
fn rule4_type_priority_falls_through_and_tiers_apply_inside_the_type() {
    let mut state = PoolState::new(prioritized(vec![(
        None,
        vec![NumberType::ShortCode, NumberType::Mobile],
    )]));
    state.upsert([
        OwnedNumber {
            status: crate::model::NumberStatus::Suspended,
            ..typed("18005550100", NumberType::ShortCode)
        },
        typed("14155550101", NumberType::Mobile),
        typed("12125550101", NumberType::Mobile),
        typed("12125550102", NumberType::Landline),
    ]);
    let pick = pick_to(&mut state, "12125559999").unwrap();
    assert_eq!(
        (number_of(&pick), pick.reason),
        (msisdn("12125550101"), Reason::Area)
    );
    state.remove(&[msisdn("14155550101"), msisdn("12125550101")]);
    let pick = pick_to(&mut state, "12125558888").unwrap();
    assert_eq!(
        number_of(&pick),
        msisdn("12125550102"),
        "unlisted types last"
    );
}

/// Rule 4: `geomatch` `off` skips the area tiers.
#[test]
fn rule4_geomatch_off_skips_the_area_tiers() {
    let numbers = [("12125550101", None), ("14155550101", Some("310260"))];
    let mut state = pool(
        PoolSettings {
            geomatch: crate::model::Geomatch::Off,
            ..settings(Fallback::Pool, true, true)
        },
        &numbers,
    );
    let pick = pick_with(&mut state, "12125559999", None, Some("310260"), NOW).unwrap();
    assert_eq!(
        (number_of(&pick), pick.reason),
        (msisdn("14155550101"), Reason::Network)
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// In a pool that acts on health, no pick ever answers with a number that is unhealthy
    /// at that moment, new conversation or sticky.
    #[test]
    fn an_unhealthy_number_is_never_picked(
        failing in proptest::collection::vec(any::<bool>(), 6),
        recipients in proptest::collection::vec(0u32..500, 1..60),
        steps in proptest::collection::vec(0u32..2_000, 1..60),
    ) {
        let numbers: Vec<(String, Option<&str>)> =
            (1..=6).map(|i| (format!("44770090000{i}"), None)).collect();
        let refs: Vec<(&str, Option<&str>)> = numbers.iter().map(|(n, net)| (n.as_str(), *net)).collect();
        let mut state = pool(acting(), &refs);
        let mut now = NOW;
        for (i, (to, step)) in recipients.iter().zip(steps.iter().cycle()).enumerate() {
            now += step;
            let (number, _) = &numbers[i % numbers.len()];
            if failing[i % failing.len()] {
                fail(&mut state, number, now);
            } else {
                state.observe_receipt(msisdn(number), ReceiptClass::Delivered, &window(30, 0), u64::from(now));
            }
            match pick_with(&mut state, &format!("447400{to:06}"), None, None, now) {
                Ok(pick) => {
                    let health = state.health(number_of(&pick), u64::from(now)).unwrap().0;
                    prop_assert_ne!(health, HealthState::Unhealthy);
                }
                Err(PickError::Rejected(Rejection::NoneEligibleInCountry(_, i))) => {
                    prop_assert!(i.unhealthy > 0);
                }
                Err(other) => prop_assert!(false, "unexpected {other:?}"),
            }
        }
    }
}
