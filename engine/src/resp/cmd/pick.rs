//! `PICK <pool_id> <to> [FROM <sender>] [NETWORK <network>] [SEGMENTS <n>] [WITHREASON |
//! WITHINFO]`: the hot path.
//! Parsing borrows from the request; the session collects consecutive picks and runs them with
//! [`run_batch`], one engine call (one actor message per pool) for the whole run.

use std::time::Instant;

use super::{
    parse_recipient, write_invalid_recipient, write_no_pool, write_number, write_storage,
    write_try_again, write_unavailable, AccountCtx, CommandError,
};
use crate::engine::PickFailure;
use crate::resp::parse::ArgCursor;
use crate::resp::parse::ParseError;
use crate::resp::reply::Reply;
use numpool_core::model::Msisdn;
use numpool_core::select::{self, PickError, PickRequest, MAX_SEGMENTS};

/// A parsed `PICK`.
pub(crate) struct Pick<'a> {
    /// The pool.
    pub(crate) pool: &'a str,
    /// The recipient as given, echoed in errors.
    to_text: &'a str,
    /// The recipient.
    to: Msisdn,
    /// `FROM`.
    from: Option<&'a str>,
    /// `NETWORK`.
    network: Option<&'a str>,
    /// `SEGMENTS`, default 1.
    segments: u32,
    /// What the reply holds.
    shape: Shape,
}

/// The reply a `PICK` asked for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// The sender alone.
    Sender,
    /// `WITHREASON`: `[sender, reason]`.
    WithReason,
    /// `WITHINFO`: `{sender, reason, wait_ms}`, a map in RESP3 and a flat array in RESP2.
    WithInfo,
}

impl<'a> Pick<'a> {
    /// Parses the arguments; options may come in any order.
    pub(crate) fn parse(cursor: &mut ArgCursor<'a>) -> Result<Self, CommandError<'a>> {
        if cursor.remaining() < 2 {
            return Err(cursor.wrong_arity().into());
        }
        let pool = cursor.next_str()?;
        let to_text = cursor.next_str()?;
        let mut pick = Pick {
            pool,
            to_text,
            to: parse_recipient(to_text)?,
            from: None,
            network: None,
            segments: 1,
            shape: Shape::Sender,
        };
        while cursor.remaining() > 0 {
            let option = cursor.next_str()?;
            if option.eq_ignore_ascii_case("withreason") {
                pick.shape = Shape::WithReason;
            } else if option.eq_ignore_ascii_case("withinfo") {
                pick.shape = Shape::WithInfo;
            } else if option.eq_ignore_ascii_case("from") && cursor.remaining() > 0 {
                pick.from = Some(cursor.next_str()?);
            } else if option.eq_ignore_ascii_case("network") && cursor.remaining() > 0 {
                pick.network = Some(cursor.next_str()?);
            } else if option.eq_ignore_ascii_case("segments") && cursor.remaining() > 0 {
                pick.segments = u32::try_from(cursor.next_int()?)
                    .ok()
                    .filter(|n| (1..=MAX_SEGMENTS).contains(n))
                    .ok_or(ParseError::NotAnInteger)?;
            } else {
                return Err(ParseError::Syntax.into());
            }
        }
        Ok(pick)
    }

    /// What the engine is asked.
    fn request(&self) -> PickRequest<'a> {
        PickRequest {
            to: self.to,
            from: self.from,
            network: self.network,
            segments: self.segments,
        }
    }

    /// Writes the reply for the engine's answer.
    pub(crate) fn write_reply(
        &self,
        result: &Result<select::Pick, PickFailure>,
        out: &mut Reply<'_>,
    ) {
        let pick = match result {
            Ok(pick) => pick,
            Err(failure) => return self.write_failure(failure, out),
        };
        match self.shape {
            Shape::Sender => write_sender(&pick.sender, out),
            Shape::WithReason => {
                out.array(2);
                write_sender(&pick.sender, out);
                out.bulk(pick.reason.as_str().as_bytes());
            }
            Shape::WithInfo => {
                out.map(3);
                out.bulk(b"sender");
                write_sender(&pick.sender, out);
                out.bulk(b"reason");
                out.bulk(pick.reason.as_str().as_bytes());
                out.bulk(b"wait_ms");
                out.integer(i64::from(pick.wait_ms));
            }
        }
    }

    /// The error reply for a pick that produced no sender.
    fn write_failure(&self, failure: &PickFailure, out: &mut Reply<'_>) {
        match failure {
            PickFailure::NoSuchPool(_) => write_no_pool(out, self.pool),
            PickFailure::Pick(PickError::Rejected(why)) => {
                out.error_fmt(format_args!("REJECTED {why}"))
            }
            PickFailure::Pick(PickError::InvalidRecipient(_)) => {
                write_invalid_recipient(out, self.to_text)
            }
            PickFailure::Pick(PickError::OptedOut) => out.error_fmt(format_args!(
                "OPTEDOUT '{}' opted out of pool '{}'",
                self.to_text, self.pool
            )),
            PickFailure::Pick(PickError::InvalidSender(_)) => out.error_fmt(format_args!(
                "ERR invalid sender '{}'",
                self.from.unwrap_or_default()
            )),
            PickFailure::Unavailable(_) => write_unavailable(out),
            PickFailure::Storage(why) => write_storage(out, why),
            PickFailure::ClusterUnavailable => write_try_again(out),
        }
    }
}

/// The sender as a bulk string.
fn write_sender(sender: &select::Sender, out: &mut Reply<'_>) {
    match sender {
        select::Sender::Number(number) => write_number(out, *number),
        select::Sender::Alphanumeric(id) => out.bulk(id.as_str().as_bytes()),
    }
}

/// Runs `picks` (consecutive `PICK`s of one pipelined burst) as one engine call; the results
/// in order, for [`Pick::write_reply`]. `since` is when the first was parsed: latency is
/// measured from there.
pub(crate) async fn run_batch(
    picks: &[Pick<'_>],
    since: Instant,
    ctx: &AccountCtx<'_>,
) -> Vec<Result<select::Pick, PickFailure>> {
    // One vector per run of picks, however many it holds.
    let requests: Vec<_> = picks
        .iter()
        .map(|pick| (pick.pool, pick.request()))
        .collect();
    let results = ctx.engine.pick_batch(ctx.account, &requests).await;
    ctx.engine
        .record_picks(ctx.account, since.elapsed(), picks.len() as u64);
    results
}
