//! Receipts in cluster mode (DESIGN §10): each one is published on the cluster's receipt log
//! before it is counted, and every other sidecar counts it when its replay reaches it, at the
//! time the receiving sidecar gave it, so that every sidecar computes the same health. The log
//! keeps a day (the health window's span): a sidecar that starts replays it, and its health
//! figures start where the others' are.

use std::time::Duration;

use futures_util::StreamExt;
use numpool_cluster::{ClusterError, LogEntry};

use super::receipts::Receipt;
use super::{AccountData, AccountHandle, Engine, EngineError};
use crate::cluster::ClusterLink;
use numpool_core::delivery::ReceiptClass;
use numpool_core::model::Msisdn;

/// A receipt on the log: account, sender, recipient, class (its index in
/// [`ReceiptClass::ALL`]) and the time it was received.
type Shared = (String, u64, u64, u8, u64);

impl Engine {
    /// Cluster mode: publishes `receipt`, received at `now`; a no-op single-node.
    pub(super) async fn share_receipt(
        &self,
        account: &AccountHandle,
        receipt: Receipt,
        now: u64,
    ) -> Result<(), EngineError> {
        let Some(link) = self.cluster() else {
            return Ok(());
        };
        let class = ReceiptClass::ALL
            .iter()
            .position(|c| *c == receipt.class)
            .expect("every class is in ALL") as u8;
        let shared: Shared = (
            account.id().to_string(),
            receipt.sender.get(),
            receipt.to.get(),
            class,
            now,
        );
        let payload = bincode::encode_to_vec(shared, bincode::config::standard())
            .expect("receipts always encode");
        link.store
            .receipts
            .publish(
                &super::replication::topic(account),
                None,
                &link.member,
                payload.into(),
            )
            .await
            .map(drop)
            .map_err(|err| link.unavailable(&err))
    }

    /// Counts the receipts other sidecars publish, for ever: the last day's first, then each
    /// as it comes.
    pub(super) async fn replay_receipts(&self) {
        let link = self.cluster().expect("joined").clone();
        // Where the replay resumes after an interruption: the next record not yet counted.
        let mut next = 1;
        loop {
            if let Err(err) = self.count_receipts(&link, &mut next).await {
                tracing::warn!(
                    error = &err as &dyn std::error::Error,
                    "receipt log replay interrupted"
                );
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    async fn count_receipts(&self, link: &ClusterLink, next: &mut u64) -> Result<(), ClusterError> {
        let mut entries = std::pin::pin!(link.store.receipts.replay(*next).await?);
        while let Some(entry) = entries.next().await {
            let entry = entry?;
            *next = entry.seq + 1;
            if entry.origin != link.member {
                self.count_shared(entry).await;
            }
        }
        Ok(())
    }

    /// Counts one receipt another sidecar received.
    async fn count_shared(&self, entry: LogEntry) {
        let decoded =
            bincode::decode_from_slice::<Shared, _>(&entry.payload, bincode::config::standard());
        let Ok(((account, sender, to, class, at), _)) = decoded else {
            tracing::error!(
                seq = entry.seq,
                "receipt log record does not decode: skipped"
            );
            return;
        };
        let (Some(account), Ok(sender), Ok(to), Some(class)) = (
            self.account(&account),
            Msisdn::from_u64(sender),
            Msisdn::from_u64(to),
            ReceiptClass::ALL.get(usize::from(class)),
        ) else {
            return;
        };
        let mut data = account.0.admin.lock().await;
        let AccountData {
            inventory,
            feedback,
            pools,
            ..
        } = &mut *data;
        // A number released meanwhile has no health to count in.
        if inventory.contains_key(&sender) {
            let receipt = Receipt {
                sender,
                to,
                class: *class,
            };
            self.apply_receipt(&account, feedback, pools, receipt, at);
        }
    }
}
