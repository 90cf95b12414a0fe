//! One test per clause of DESIGN §3.2 rule 6 on throughput (and rule 4's daily allowance),
//! named after it, and property tests of its invariants.

use proptest::prelude::*;

use super::tests::{msisdn, number_of, owned, pick_to, pick_with, pool, settings, NOW};
use super::*;
use crate::model::{Fallback, Limits, Mps, OwnedNumber};

const GB: [&str; 3] = ["447700900001", "447700900002", "447700900003"];

/// `number` as owned, with `mps`, `burst` and a daily allowance.
fn limited(number: &str, mps: f64, burst: u32, daily: Option<u32>) -> OwnedNumber {
    OwnedNumber {
        limits: Limits {
            mps: Some(Mps::new(mps).unwrap()),
            burst,
            daily_new_conversations: daily,
        },
        ..owned(number, None)
    }
}

/// A predictable, non-localized pool of `numbers`.
fn predictable(numbers: impl IntoIterator<Item = OwnedNumber>) -> PoolState {
    let mut state = PoolState::new(settings(Fallback::Pool, false, true));
    state.upsert(numbers);
    state
}

/// A pick of `to` with `segments` at `now`.
fn pick_at(state: &mut PoolState, to: &str, segments: u32, now: Now) -> Pick {
    let request = PickRequest {
        segments,
        ..PickRequest::to(msisdn(to))
    };
    pick(state, &request, now).unwrap()
}

/// A recipient whose hashed choice among GB (without limits) is `number`, other than `not`.
fn recipient_hashed_to(number: Msisdn, not: &[&str]) -> String {
    let mut free = pool(settings(Fallback::Pool, false, true), &[]);
    free.upsert(GB.iter().map(|n| owned(n, None)));
    (0..10_000)
        .map(|i| format!("4474001{i:05}"))
        .find(|to| {
            !not.contains(&to.as_str()) && number_of(&pick_to(&mut free, to).unwrap()) == number
        })
        .expect("some recipient hashes to every number")
}

#[test]
fn new_conversation_takes_the_hashed_choice_when_it_is_free() {
    let mut state = predictable(GB.map(|n| limited(n, 1.0, 1, None)));
    let first = pick_to(&mut state, "447400123459").unwrap();
    let to = recipient_hashed_to(number_of(&first), &["447400123459"]);
    // An hour later the hashed choice is free again, and takes the new conversation.
    let later = pick_with(&mut state, &to, None, None, NOW + 3_600).unwrap();
    assert_eq!((number_of(&later), later.wait_ms), (number_of(&first), 0));
}

#[test]
fn new_conversation_takes_the_next_free_candidate() {
    let mut state = predictable(GB.map(|n| limited(n, 1.0, 1, None)));
    let first = pick_to(&mut state, "447400123459").unwrap();
    assert_eq!(first.wait_ms, 0);
    let to = recipient_hashed_to(number_of(&first), &["447400123459"]);
    let second = pick_to(&mut state, &to).unwrap();
    assert_ne!(
        number_of(&second),
        number_of(&first),
        "the hashed choice is busy"
    );
    assert_eq!(second.wait_ms, 0);
}

#[test]
fn sticky_hit_keeps_a_busy_number_and_waits() {
    let mut state = predictable(GB.map(|n| limited(n, 1.0, 1, None)));
    let first = pick_to(&mut state, "447400123459").unwrap();
    let again = pick_to(&mut state, "447400123459").unwrap();
    assert_eq!(again.sender, first.sender);
    assert_eq!((again.reason, again.wait_ms), (Reason::Sticky, 1_000));
    // The wait was a reservation: the next message books the slot after it.
    let third = pick_to(&mut state, "447400123459").unwrap();
    assert_eq!((third.sender, third.wait_ms), (first.sender, 2_000));
}

#[test]
fn all_busy_new_conversation_takes_the_soonest_free_with_wait() {
    let mut state = predictable(GB[..2].iter().map(|n| limited(n, 1.0, 1, None)));
    let a = pick_to(&mut state, "447400123459").unwrap();
    pick_to(&mut state, "447400123459").unwrap(); // a's number is booked 2 s ahead.
    let b = pick_to(&mut state, "447911654321").unwrap();
    assert_ne!(b.sender, a.sender);
    assert_eq!(b.wait_ms, 0); // b's number is booked 1 s ahead.
    let c = pick_to(&mut state, "447911000000").unwrap();
    assert_eq!((c.sender, c.wait_ms), (b.sender, 1_000));
}

#[test]
fn segments_charge_n() {
    let mut state = predictable([limited(GB[0], 1.0, 3, None)]);
    let now = Now::from_unix_secs(NOW);
    assert_eq!(pick_at(&mut state, "447400123459", 3, now).wait_ms, 0);
    assert_eq!(pick_at(&mut state, "447400123459", 1, now).wait_ms, 1_000);
    let mut state = predictable([limited(GB[0], 1.0, 3, None)]);
    assert_eq!(pick_at(&mut state, "447400123459", 2, now).wait_ms, 0);
    assert_eq!(pick_at(&mut state, "447400123459", 1, now).wait_ms, 0);
}

#[test]
fn a_number_without_mps_never_waits() {
    let mut state = pool(settings(Fallback::Pool, false, true), &[(GB[0], None)]);
    let now = Now::from_unix_secs(NOW);
    assert!((0..100).all(|_| pick_at(&mut state, "447400123459", 5, now).wait_ms == 0));
}

#[test]
fn waits_are_in_milliseconds_rounded_up() {
    let mut state = predictable([limited(GB[0], 3.0, 1, None)]);
    pick_to(&mut state, "447400123459").unwrap();
    assert_eq!(pick_to(&mut state, "447400123459").unwrap().wait_ms, 334);
}

#[test]
fn daily_allowance_stops_new_conversations_until_the_next_utc_day() {
    let mut state = predictable([OwnedNumber {
        limits: Limits {
            daily_new_conversations: Some(1),
            ..Limits::default()
        },
        ..owned(GB[0], None)
    }]);
    let first = pick_to(&mut state, "447400123459").unwrap();
    let refused = pick_to(&mut state, "447911654321").unwrap_err();
    assert_eq!(
        refused.to_string(),
        "no eligible number: every number in the pool is at its daily allowance"
    );
    // Existing conversations continue.
    let again = pick_to(&mut state, "447400123459").unwrap();
    assert_eq!(
        (again.sender, again.reason),
        (first.sender.clone(), Reason::Sticky)
    );
    // Counts reset at 00:00 UTC.
    let midnight = NOW - NOW % 86_400 + 86_400;
    let refused = pick_with(&mut state, "447911654321", None, None, midnight - 1);
    assert!(refused.is_err());
    let next_day = pick_with(&mut state, "447911654321", None, None, midnight).unwrap();
    assert_eq!(next_day.sender, first.sender);
}

#[test]
fn daily_allowance_rejection_names_the_country() {
    let mut state = PoolState::new(settings(Fallback::Reject, true, false));
    state.upsert([OwnedNumber {
        limits: Limits {
            daily_new_conversations: Some(1),
            ..Limits::default()
        },
        ..owned(GB[0], None)
    }]);
    pick_to(&mut state, "447400123459").unwrap();
    assert_eq!(
        pick_to(&mut state, "447400123457").unwrap_err().to_string(),
        "no eligible number for country GB: every number there is at its daily allowance"
    );
}

#[test]
fn a_daily_allowance_of_zero_takes_no_new_conversation() {
    let mut state = predictable([
        OwnedNumber {
            limits: Limits {
                daily_new_conversations: Some(0),
                ..Limits::default()
            },
            ..owned(GB[0], None)
        },
        owned(GB[1], None),
    ]);
    for i in 0..20 {
        let pick = pick_to(&mut state, &format!("4474001234{i:02}")).unwrap();
        assert_eq!(number_of(&pick), msisdn(GB[1]));
    }
}

proptest! {
    /// Over any window, the segments booked on a number with `mps` never exceed
    /// `mps × window + burst` (sticky hits and new conversations alike). Rates with a whole
    /// number of milliseconds per message and times in whole milliseconds keep the replies'
    /// rounding out of the check.
    #[test]
    fn a_number_is_never_charged_more_than_its_rate_allows(
        mps in prop::sample::select(vec![1.0, 2.0, 4.0, 5.0, 10.0, 20.0]),
        burst in 1u32..5,
        steps in prop::collection::vec((0u64..400, 0usize..6, 1u32..5), 1..120),
    ) {
        let mut state = predictable(GB[..2].iter().map(|n| limited(n, mps, burst, None)));
        let mut now_ms = u64::from(NOW) * 1_000;
        let mut sends: Vec<(Msisdn, u64, u32)> = Vec::new();
        for (gap_ms, recipient, segments) in steps {
            now_ms += gap_ms;
            let segments = segments.min(burst);
            let now = Now::from_unix_micros(now_ms * 1_000);
            let pick = pick_at(&mut state, &format!("44791100000{recipient}"), segments, now);
            sends.push((number_of(&pick), now_ms + u64::from(pick.wait_ms), segments));
        }
        for number in GB[..2].iter().map(|n| msisdn(n)) {
            let mut times: Vec<(u64, u32)> = sends.iter().filter(|s| s.0 == number).map(|s| (s.1, s.2)).collect();
            times.sort_unstable();
            for (i, &(start, _)) in times.iter().enumerate() {
                let mut charged = 0u32;
                for &(end, segments) in &times[i..] {
                    charged += segments;
                    let window_s = (end - start) as f64 / 1_000.0;
                    prop_assert!(
                        f64::from(charged) <= mps * window_s + f64::from(burst),
                        "{charged} segments in {window_s} s at {mps} mps, burst {burst}"
                    );
                }
            }
        }
    }

    /// A sticky conversation never moves for throughput, however busy its number.
    #[test]
    fn a_sticky_conversation_never_moves_for_throughput(
        steps in prop::collection::vec((0u64..300, 0usize..8), 1..150),
    ) {
        let mut state = predictable(GB.map(|n| limited(n, 1.0, 1, None)));
        let mut now_ms = u64::from(NOW) * 1_000;
        let mut mapped = std::collections::HashMap::new();
        for (gap_ms, recipient) in steps {
            now_ms += gap_ms;
            let pick = pick_at(&mut state, &format!("4479110000{recipient}"), 1, Now::from_unix_micros(now_ms * 1_000));
            let first = *mapped.entry(recipient).or_insert(number_of(&pick));
            prop_assert_eq!(number_of(&pick), first);
        }
    }
}

#[test]
fn a_rejection_names_every_reason_that_applies() {
    let all = Ineligible {
        suspended: 1,
        draining: 2,
        unhealthy: 4,
        at_allowance: 3,
    };
    assert_eq!(
        all.to_string(),
        "suspended, draining, unhealthy or at its daily allowance"
    );
    let two = Ineligible {
        suspended: 0,
        unhealthy: 0,
        ..all
    };
    assert_eq!(two.to_string(), "draining or at its daily allowance");
}

#[test]
fn new_limits_reach_the_pool_and_its_bookings_stay() {
    let mut state = predictable([limited(GB[0], 1.0, 1, None)]);
    pick_to(&mut state, "447400123459").unwrap();
    // The operator raises the burst: the booked message still counts against it.
    state.upsert([limited(GB[0], 1.0, 2, None)]);
    assert_eq!(pick_to(&mut state, "447400123459").unwrap().wait_ms, 0);
    assert_eq!(pick_to(&mut state, "447400123459").unwrap().wait_ms, 1_000);
    // Unlimited again: no wait at all.
    state.upsert([owned(GB[0], None)]);
    assert_eq!(pick_to(&mut state, "447400123459").unwrap().wait_ms, 0);
}
