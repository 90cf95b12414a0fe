//! Member heartbeats: each sidecar puts its id in a KV bucket whose keys expire, and counts
//! the live keys to split each number's throughput evenly (DESIGN §10).

use std::time::Duration;

use async_nats::jetstream::kv::{self, Store};
use async_nats::jetstream::stream::StorageType;
use async_nats::jetstream::Context;

use crate::{ClusterConfig, ClusterError};

/// How long a heartbeat lasts: a sidecar silent this long is no longer counted.
pub const HEARTBEAT_TTL: Duration = Duration::from_secs(6);

/// The member bucket.
#[derive(Clone)]
pub struct Members {
    /// The bucket, whose `max_age` expires silent members.
    store: Store,
}

impl Members {
    pub(crate) async fn open(js: &Context, config: &ClusterConfig) -> Result<Self, ClusterError> {
        let store = crate::open_bucket(
            js,
            kv::Config {
                bucket: format!("NUMPOOL_{}_MEMBERS", config.name),
                history: 1,
                max_age: HEARTBEAT_TTL,
                storage: StorageType::Memory,
                num_replicas: config.replicas,
                ..Default::default()
            },
        )
        .await?;
        Ok(Members { store })
    }

    /// Announces `member` as live for another `HEARTBEAT_TTL`.
    pub async fn beat(&self, member: &str) -> Result<(), ClusterError> {
        self.store
            .put(member, bytes::Bytes::new())
            .await
            .map(drop)
            .map_err(ClusterError::unavailable)
    }

    /// How many members were heard from within `HEARTBEAT_TTL`: the bucket's subjects, one
    /// per member, read from the stream's state (listing the keys would make a consumer, a
    /// replicated operation, every second on every sidecar).
    pub async fn live(&self) -> Result<u64, ClusterError> {
        let mut stream = self.store.stream.clone();
        let info = stream.info().await.map_err(ClusterError::unavailable)?;
        Ok(info.state.subjects_count)
    }
}
