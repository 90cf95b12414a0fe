//! Inbound messages (DESIGN §3.6): a reply from recipient R to one of the account's numbers N
//! is resolved to its conversations (the pools whose sticky table maps R to N, else every pool
//! holding N), refreshes their last use, and applies an opt-out or opt-in keyword to those
//! pools (§3.5). The parts of a concatenated message are judged together once all of them
//! have come ([`PartialMessages`]); until then each part only resolves and refreshes.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::opt_outs::OptOutChange;
use super::{AccountHandle, Engine, EngineError, Unavailable};
use crate::actors::messages::Touch;
use crate::clock::unix_now;
use numpool_core::model::{Keyword, KeywordAction, Msisdn, OptOut, OptOutReason, PoolId};
use numpool_core::select::Conversation;

/// An inbound message as the webhook gave it.
#[derive(Clone, Debug)]
pub(crate) struct Inbound {
    /// Our number it was sent to.
    pub(crate) ours: Msisdn,
    /// Who wrote.
    pub(crate) theirs: Msisdn,
    /// Its text, if it has one (binary messages have none).
    pub(crate) text: Option<String>,
    /// Where it sits in a concatenated message, if it is a part of one.
    pub(crate) part: Option<Part>,
}

/// One part of a concatenated SMS (the SMS API's `concat-*` fields).
#[derive(Clone, Debug)]
pub(crate) struct Part {
    /// `concat-ref`: the parts of one message share it.
    pub(crate) reference: String,
    /// `concat-total`: how many parts the message has (2 or more).
    pub(crate) total: u8,
    /// `concat-part`: this part's place, from 1.
    pub(crate) index: u8,
}

/// One conversation an inbound message belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Thread {
    /// The pool.
    pub(crate) pool_id: PoolId,
    /// Our number in it (the one written to).
    pub(crate) sender: Msisdn,
    /// The pool's mapping of the writer to it, refreshed; `None` for a pool holding the
    /// number with no such mapping (resolved only because no pool had one).
    pub(crate) mapping: Option<Conversation>,
}

/// What an inbound message led to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct InboundOutcome {
    /// Its conversations, in pool id order.
    pub(crate) threads: Vec<Thread>,
    /// The keyword its whole text is, if it was judged and is one.
    pub(crate) keyword: Option<Keyword>,
    /// What was done: the keyword's action when it was applied to at least one pool (or is
    /// HELP/INFO), else nothing.
    pub(crate) action: Option<KeywordAction>,
    /// For a part of a concatenated message: `(received, total)`.
    pub(crate) parts: Option<(usize, u8)>,
}

impl Engine {
    /// Resolves, refreshes and judges one inbound message. `NumberNotOwned` when `ours` is
    /// not the account's; a keyword's opt-outs are journaled like the API's, and an opt-out
    /// past `max_opt_outs_per_pool` is the limit's error.
    pub(crate) async fn inbound(
        &self,
        account: &AccountHandle,
        message: Inbound,
    ) -> Result<InboundOutcome, EngineError> {
        let Inbound {
            ours,
            theirs,
            text,
            part,
        } = message;
        let (text, parts) = match part {
            None => (text, None),
            Some(part) => {
                let key = (ours, theirs, part.reference.clone());
                let mut partial = account.0.partial.lock();
                match partial.add(key, &part, text.unwrap_or_default(), Instant::now()) {
                    Assembly::Complete(whole) => {
                        (Some(whole), Some((part.total as usize, part.total)))
                    }
                    Assembly::Waiting(received) => (None, Some((received, part.total))),
                }
            }
        };
        let asks: Vec<_> = {
            let data = account.0.admin.lock().await;
            if !data.inventory.contains_key(&ours) {
                return Err(EngineError::NumberNotOwned(ours));
            }
            data.pools
                .iter()
                .filter(|(_, entry)| entry.members.contains(&ours))
                .map(|(pool_id, entry)| {
                    let touched = entry.addr.send(Touch {
                        to: theirs,
                        sender: ours,
                    });
                    (pool_id.clone(), entry.addr.clone(), touched)
                })
                .collect()
        };
        let mut holding = Vec::with_capacity(asks.len());
        for (pool_id, addr, touched) in asks {
            let mapping = touched.await.map_err(Unavailable::of(pool_id.as_str()))?;
            holding.push((pool_id, addr, mapping));
        }
        // The conversations: where the writer is mapped to our number, else every pool
        // holding it.
        if holding.iter().any(|(_, _, mapping)| mapping.is_some()) {
            holding.retain(|(_, _, mapping)| mapping.is_some());
        }
        let keyword = text.as_deref().and_then(Keyword::of);
        let opt_out = match keyword.map(|k| k.action) {
            Some(KeywordAction::OptOut) => Some(Some(OptOut {
                at: unix_now(),
                reason: OptOutReason::Keyword,
            })),
            Some(KeywordAction::OptIn) => Some(None),
            _ => None,
        };
        if let Some(opt_out) = opt_out {
            for (pool_id, addr, _) in &holding {
                let change = OptOutChange::of(theirs, opt_out);
                self.change_opt_out(account, addr, pool_id.as_str(), change)
                    .await?;
            }
        }
        let acted = keyword
            .map(|k| k.action)
            .filter(|action| *action == KeywordAction::Help || !holding.is_empty());
        Ok(InboundOutcome {
            threads: holding
                .into_iter()
                .map(|(pool_id, _, mapping)| Thread {
                    pool_id,
                    sender: ours,
                    mapping,
                })
                .collect(),
            keyword,
            action: acted,
            parts,
        })
    }
}

/// Parts of concatenated messages not all come yet, per account. Held in memory only: a part
/// is acknowledged as received, not as judged, and a restart before the last part loses the
/// judgement of that one message (docs/decisions.md). Bounded in count and age, so parts that
/// never complete cannot grow it.
#[derive(Debug, Default)]
pub(crate) struct PartialMessages {
    /// (our number, writer, `concat-ref`) → the parts so far.
    pending: HashMap<(Msisdn, Msisdn, String), Pending>,
}

/// One message's parts so far.
#[derive(Debug)]
struct Pending {
    /// How many parts it has.
    total: u8,
    /// Text by part index (from 1); a part sent twice keeps its latest text.
    texts: HashMap<u8, String>,
    /// When its first part came, for expiry.
    first: Instant,
}

/// What adding a part gave.
enum Assembly {
    /// Every part is here: the whole text, parts in order.
    Complete(String),
    /// This many of the parts are here.
    Waiting(usize),
}

/// Messages whose parts are awaited at once, per account; past it the oldest is dropped.
const MAX_PENDING: usize = 10_000;
/// How long the parts of one message are awaited: carriers deliver them within seconds.
const PART_WAIT: Duration = Duration::from_secs(600);

impl PartialMessages {
    /// Adds one part. A part whose `total` disagrees with the first part's restarts the
    /// message (the sender reused the reference).
    fn add(
        &mut self,
        key: (Msisdn, Msisdn, String),
        part: &Part,
        text: String,
        now: Instant,
    ) -> Assembly {
        self.pending
            .retain(|_, pending| now.duration_since(pending.first) < PART_WAIT);
        if self.pending.len() >= MAX_PENDING && !self.pending.contains_key(&key) {
            let oldest = self
                .pending
                .iter()
                .min_by_key(|(_, pending)| pending.first)
                .map(|(key, _)| key.clone());
            if let Some(oldest) = oldest {
                self.pending.remove(&oldest);
            }
        }
        let pending = self.pending.entry(key.clone()).or_insert_with(|| Pending {
            total: part.total,
            texts: HashMap::new(),
            first: now,
        });
        if pending.total != part.total {
            *pending = Pending {
                total: part.total,
                texts: HashMap::new(),
                first: now,
            };
        }
        pending.texts.insert(part.index, text);
        if pending.texts.len() < usize::from(pending.total) {
            return Assembly::Waiting(pending.texts.len());
        }
        let mut done = self.pending.remove(&key).expect("just added");
        let whole = (1..=done.total)
            .map(|i| done.texts.remove(&i).unwrap_or_default())
            .collect();
        Assembly::Complete(whole)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(reference: &str) -> (Msisdn, Msisdn, String) {
        (
            Msisdn::parse("447700900001").unwrap(),
            Msisdn::parse("447700900123").unwrap(),
            reference.to_owned(),
        )
    }

    fn part(reference: &str, total: u8, index: u8) -> Part {
        Part {
            reference: reference.to_owned(),
            total,
            index,
        }
    }

    #[test]
    fn parts_in_any_order_give_the_whole_text_once() {
        let mut partial = PartialMessages::default();
        let now = Instant::now();
        let r = "0A";
        assert!(matches!(
            partial.add(key(r), &part(r, 3, 3), "OP".into(), now),
            Assembly::Waiting(1)
        ));
        assert!(matches!(
            partial.add(key(r), &part(r, 3, 1), "S".into(), now),
            Assembly::Waiting(2)
        ));
        // A retried part counts once.
        assert!(matches!(
            partial.add(key(r), &part(r, 3, 1), "S".into(), now),
            Assembly::Waiting(2)
        ));
        match partial.add(key(r), &part(r, 3, 2), "T".into(), now) {
            Assembly::Complete(whole) => assert_eq!(whole, "STOP"),
            Assembly::Waiting(n) => panic!("waiting with {n}"),
        }
        assert!(
            partial.pending.is_empty(),
            "a complete message is forgotten"
        );
    }

    #[test]
    fn stale_parts_expire_and_the_count_is_bounded() {
        let mut partial = PartialMessages::default();
        let start = Instant::now();
        partial.add(key("old"), &part("old", 2, 1), "ST".into(), start);
        let later = start + PART_WAIT;
        assert!(matches!(
            partial.add(key("old"), &part("old", 2, 2), "OP".into(), later),
            Assembly::Waiting(1)
        ));
        for i in 0..MAX_PENDING + 5 {
            let r = format!("r{i}");
            partial.add(key(&r), &part(&r, 2, 1), "x".into(), later);
        }
        assert_eq!(partial.pending.len(), MAX_PENDING);
    }

    #[test]
    fn a_reused_reference_with_another_total_restarts() {
        let mut partial = PartialMessages::default();
        let now = Instant::now();
        partial.add(key("r"), &part("r", 3, 1), "a".into(), now);
        assert!(matches!(
            partial.add(key("r"), &part("r", 2, 1), "S".into(), now),
            Assembly::Waiting(1)
        ));
        assert!(matches!(
            partial.add(key("r"), &part("r", 2, 2), "TOP".into(), now),
            Assembly::Complete(ref t) if t == "STOP"
        ));
    }
}
