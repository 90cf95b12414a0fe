//! `PICK <pool_id> <to> [FROM <sender>] [NETWORK <network>] [WITHREASON]`: the hot path.
//! Parsing borrows from the request; the session collects consecutive picks and runs them with
//! [`apply_batch`], one engine call (one actor message per pool) for the whole run.

use std::time::Instant;

use bytes::BytesMut;

use super::{
    parse_recipient, write_invalid_recipient, write_no_pool, write_number, write_unavailable,
    CommandError, Ctx, Outcome,
};
use crate::engine::PickFailure;
use crate::resp::frame::{write_array_header, write_bulk, write_error_fmt};
use crate::resp::parse::ArgCursor;
use numpool_core::model::Msisdn;
use numpool_core::select::{self, PickError, PickRequest};

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
    /// `WITHREASON`: reply `[sender, reason]` instead of the sender.
    with_reason: bool,
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
            with_reason: false,
        };
        while cursor.remaining() > 0 {
            let option = cursor.next_str()?;
            if option.eq_ignore_ascii_case("withreason") {
                pick.with_reason = true;
            } else if option.eq_ignore_ascii_case("from") && cursor.remaining() > 0 {
                pick.from = Some(cursor.next_str()?);
            } else if option.eq_ignore_ascii_case("network") && cursor.remaining() > 0 {
                pick.network = Some(cursor.next_str()?);
            } else {
                return Err(crate::resp::parse::ParseError::Syntax.into());
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
        }
    }

    /// Writes the reply for the engine's answer.
    fn write_reply(&self, result: &Result<select::Pick, PickFailure>, out: &mut BytesMut) {
        match result {
            Ok(pick) => {
                if self.with_reason {
                    write_array_header(out, 2);
                }
                match &pick.sender {
                    select::Sender::Number(number) => write_number(out, *number),
                    select::Sender::Alphanumeric(id) => write_bulk(out, id.as_str().as_bytes()),
                }
                if self.with_reason {
                    write_bulk(out, pick.reason.as_str().as_bytes());
                }
            }
            Err(PickFailure::NoSuchPool(_)) => write_no_pool(out, self.pool),
            Err(PickFailure::Pick(PickError::Rejected(why))) => {
                write_error_fmt(out, format_args!("REJECTED {why}"))
            }
            Err(PickFailure::Pick(PickError::InvalidRecipient(_))) => {
                write_invalid_recipient(out, self.to_text)
            }
            Err(PickFailure::Pick(PickError::InvalidSender(_))) => write_error_fmt(
                out,
                format_args!("ERR invalid sender '{}'", self.from.unwrap_or_default()),
            ),
            Err(PickFailure::Unavailable(_)) => write_unavailable(out),
        }
    }
}

/// Runs `picks` (consecutive `PICK`s of one pipelined burst) as one engine call and writes
/// their replies in order. `since` is when the first was parsed: latency is measured from there.
pub(crate) async fn apply_batch(
    picks: &[Pick<'_>],
    since: Instant,
    ctx: &Ctx<'_>,
    out: &mut BytesMut,
) -> Outcome {
    let requests = picks.iter().map(|pick| (pick.pool, pick.request()));
    let results = ctx.engine.pick_batch(ctx.account, requests).await;
    for (pick, result) in picks.iter().zip(&results) {
        pick.write_reply(result, out);
    }
    ctx.engine
        .metrics()
        .record_picks(since.elapsed(), picks.len() as u64);
    Outcome::Continue
}
