//! DESIGN §3.2 rule 2 (§3.5): an opted-out recipient is refused before any fallback, and the
//! property that no opted-out recipient ever gets a sender.

use proptest::prelude::*;

use super::tests::{msisdn, pick_to, pick_with, pool, settings, NOW};
use super::*;
use crate::model::{Fallback, OptOut, OptOutReason, PoolSettings};

const GB: &[(&str, Option<&str>)] = &[("447700900001", None), ("447700900002", None)];

fn api_opt_out() -> OptOut {
    OptOut {
        at: u64::from(NOW),
        reason: OptOutReason::Api,
    }
}

/// Rule 2: refused, mapping or not, and no fallback answers, not even `CustomFrom`.
#[test]
fn rule2_an_opted_out_recipient_is_refused_before_any_fallback() {
    let mut state = pool(
        PoolSettings {
            custom_from: Some(crate::model::CustomFrom::new("Acme").unwrap()),
            ..settings(Fallback::CustomFrom, true, true)
        },
        GB,
    );
    pick_to(&mut state, "447400123456").unwrap();
    assert!(state.opt_out(msisdn("447400123456"), api_opt_out()));
    assert!(
        !state.opt_out(msisdn("447400123456"), api_opt_out()),
        "once"
    );
    assert_eq!(
        pick_to(&mut state, "447400123456"),
        Err(PickError::OptedOut)
    );
    // A French recipient would get the pool's custom_from; opted out, nothing.
    state.opt_out(msisdn("33612345678"), api_opt_out());
    assert_eq!(pick_to(&mut state, "33612345678"), Err(PickError::OptedOut));
    assert!(state.opt_in(msisdn("447400123456")));
    assert!(!state.opt_in(msisdn("447400123456")));
    let again = pick_to(&mut state, "447400123456").unwrap();
    assert_eq!(
        again.reason,
        Reason::Sticky,
        "the conversation is still there"
    );
}

#[test]
fn opt_outs_page_in_recipient_order() {
    let mut state = pool(PoolSettings::default(), GB);
    for to in ["447400000003", "447400000001", "447400000002"] {
        state.opt_out(msisdn(to), api_opt_out());
    }
    let (page, total) = state.opt_out_page(1, 5);
    assert_eq!(total, 3);
    let recipients: Vec<Msisdn> = page.iter().map(|(to, _)| *to).collect();
    assert_eq!(recipients, [msisdn("447400000002"), msisdn("447400000003")]);
    assert_eq!(state.opted_out(msisdn("447400000001")), Some(api_opt_out()));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever the pool's settings and whenever a recipient opts out or back in, an opted-out
    /// recipient never gets a sender.
    #[test]
    fn an_opted_out_recipient_never_gets_a_sender(
        steps in proptest::collection::vec((0u32..30, 0u8..4), 1..120),
        localized in any::<bool>(),
        predictable in any::<bool>(),
        fallback in prop_oneof![Just(Fallback::Pool), Just(Fallback::CustomFrom), Just(Fallback::Reject)],
    ) {
        let mut state = pool(
            PoolSettings {
                custom_from: Some(crate::model::CustomFrom::new("Acme").unwrap()),
                ..settings(fallback, localized, predictable)
            },
            GB,
        );
        for (i, (who, action)) in steps.into_iter().enumerate() {
            let to = if who % 2 == 0 { format!("4474001000{who:02}") } else { format!("336120000{who:02}") };
            match action {
                0 => { state.opt_out(msisdn(&to), api_opt_out()); }
                1 => { state.opt_in(msisdn(&to)); }
                _ => {
                    let now = NOW + i as u32;
                    let answer = pick_with(&mut state, &to, Some("Shop"), None, now);
                    let opted_out = state.opted_out(msisdn(&to)).is_some();
                    prop_assert_eq!(matches!(answer, Err(PickError::OptedOut)), opted_out);
                }
            }
        }
    }
}
