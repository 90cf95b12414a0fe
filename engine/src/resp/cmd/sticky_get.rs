//! `STICKY.GET <pool_id> <to>`: the sender mapped to a recipient, or nil.

use bytes::BytesMut;

use super::{write_no_pool, write_number, PoolRecipient};
use crate::engine::Engine;
use crate::resp::frame::write_null_bulk;
use numpool_core::model::AccountId;

/// A parsed `STICKY.GET`.
pub(crate) struct StickyGet<'a>(pub(crate) PoolRecipient<'a>);

impl StickyGet<'_> {
    /// Looks the mapping up.
    pub async fn apply(&self, engine: &Engine, account: &AccountId, out: &mut BytesMut) {
        match engine
            .sticky_get(account.as_str(), self.0.pool, self.0.to)
            .await
        {
            Ok(Some(sender)) => write_number(out, sender),
            Ok(None) => write_null_bulk(out),
            Err(_) => write_no_pool(out, self.0.pool),
        }
    }
}
