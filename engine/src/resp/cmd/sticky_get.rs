//! `STICKY.GET <pool_id> <to>`: the sender mapped to a recipient, or nil.

use super::{write_engine_error, write_number, AccountCtx, Outcome, PoolRecipient};
use crate::resp::reply::Reply;

/// A parsed `STICKY.GET`.
pub(crate) struct StickyGet<'a>(pub(crate) PoolRecipient<'a>);

impl StickyGet<'_> {
    /// Looks the mapping up.
    pub(crate) async fn apply(self, ctx: &AccountCtx<'_>, out: &mut Reply<'_>) -> Outcome {
        match ctx
            .engine
            .sticky_get(ctx.account, self.0.pool, self.0.to)
            .await
        {
            Ok(Some(conversation)) => write_number(out, conversation.sender),
            Ok(None) => out.null(),
            Err(err) => write_engine_error(out, &err),
        }
        Outcome::Continue
    }
}
