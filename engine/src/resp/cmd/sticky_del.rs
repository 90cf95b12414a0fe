//! `STICKY.DEL <pool_id> <to>`: forgets a recipient's mapping; the next pick re-picks.

use bytes::BytesMut;

use super::{write_no_pool, PoolRecipient};
use crate::engine::Engine;
use crate::resp::frame::write_integer;
use numpool_core::model::AccountId;

/// A parsed `STICKY.DEL`.
pub(crate) struct StickyDel<'a>(pub(crate) PoolRecipient<'a>);

impl StickyDel<'_> {
    /// `:1` if a live mapping was removed, else `:0`.
    pub async fn apply(&self, engine: &Engine, account: &AccountId, out: &mut BytesMut) {
        match engine
            .sticky_del(account.as_str(), self.0.pool, self.0.to)
            .await
        {
            Ok(removed) => write_integer(out, i64::from(removed)),
            Err(_) => write_no_pool(out, self.0.pool),
        }
    }
}
