//! `RESOLVE <our_number> <their_number>`: the ids of the pools whose conversation with
//! `their_number` is on `our_number` (DESIGN §3.6): where an inbound reply to one of the pool's
//! numbers belongs. An empty array when there is none; no fallback.

use super::{parse_recipient, write_engine_error, AccountCtx, CommandError, Outcome};
use crate::resp::parse::ArgCursor;
use crate::resp::reply::Reply;
use numpool_core::model::Msisdn;

/// A parsed `RESOLVE`.
pub(crate) struct Resolve {
    /// The account's number the message came to.
    ours: Msisdn,
    /// The number it came from.
    theirs: Msisdn,
}

impl Resolve {
    /// Parses the two numbers (E.164, with or without `+`).
    pub(crate) fn parse<'a>(cursor: &mut ArgCursor<'a>) -> Result<Self, CommandError<'a>> {
        let ours = cursor.next_str()?;
        let theirs = cursor.next_str()?;
        cursor.finish()?;
        Ok(Resolve {
            ours: Msisdn::parse(ours).map_err(|_| CommandError::InvalidSender(ours))?,
            theirs: parse_recipient(theirs)?,
        })
    }

    /// Asks the pools holding our number.
    pub(crate) async fn apply(self, ctx: &AccountCtx<'_>, out: &mut Reply<'_>) -> Outcome {
        match ctx
            .engine
            .resolve(ctx.account, self.ours, self.theirs)
            .await
        {
            Ok(pools) => {
                out.array(pools.len());
                for pool in &pools {
                    out.bulk(pool.as_str().as_bytes());
                }
            }
            Err(err) => write_engine_error(out, &err),
        }
        Outcome::Continue
    }
}
