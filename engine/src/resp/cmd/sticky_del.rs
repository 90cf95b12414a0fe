//! `STICKY.DEL <pool_id> <to>`: forgets a recipient's mapping; the next pick re-picks.

use super::{write_engine_error, AccountCtx, Outcome, PoolRecipient};
use crate::resp::reply::Reply;

/// A parsed `STICKY.DEL`.
pub(crate) struct StickyDel<'a>(pub(crate) PoolRecipient<'a>);

impl StickyDel<'_> {
    /// `:1` if a live mapping was removed, else `:0`.
    pub(crate) async fn apply(self, ctx: &AccountCtx<'_>, out: &mut Reply<'_>) -> Outcome {
        match ctx
            .engine
            .sticky_del(ctx.account, self.0.pool, self.0.to)
            .await
        {
            Ok(removed) => out.integer(i64::from(removed)),
            Err(err) => write_engine_error(out, &err),
        }
        Outcome::Continue
    }
}
