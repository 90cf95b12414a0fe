//! numpool's shared state on NATS JetStream (DESIGN §10): the admin log every sidecar applies
//! in order, the receipt log every sidecar computes health from, the sticky-mapping bucket
//! whose `create` decides each recipient's sender once, the member heartbeats that split
//! throughput, and the images the admin log is compacted below. It knows subjects, keys and
//! JetStream's semantics, never the engine's types: payloads are bytes it carries, and the
//! engine decides what they mean.

mod config;
mod error;
mod images;
mod log;
mod members;
mod names;
mod sticky;

pub use config::{ClusterConfig, Credentials, Tls};
pub use error::ClusterError;
pub use images::Images;
pub use log::{Log, LogEntry};
pub use members::Members;
pub use names::token;
pub use sticky::{Claim, StickyChange, StickyEntry, StickyStore};

use std::sync::Arc;

use async_nats::jetstream;

/// How long joining keeps trying to find or make the cluster's streams.
const JOIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The bucket `config` names: found if it exists (never updated, since an update of a
/// replicated stream disturbs its writers), else made.
async fn open_bucket(
    js: &jetstream::Context,
    config: jetstream::kv::Config,
) -> Result<jetstream::kv::Store, ClusterError> {
    if let Ok(store) = js.get_key_value(&config.bucket).await {
        return Ok(store);
    }
    let bucket = config.bucket.clone();
    match js.create_key_value(config).await {
        Ok(store) => Ok(store),
        // Another sidecar made it meanwhile.
        Err(_) => js
            .get_key_value(bucket)
            .await
            .map_err(ClusterError::unavailable),
    }
}

/// A connection to the cluster's JetStream, with its streams and buckets made or found.
#[derive(Clone)]
pub struct Cluster {
    /// The NATS connection: its state is the cluster's reachability.
    client: async_nats::Client,
    /// The admin log.
    pub admin: Log,
    /// The receipt log.
    pub receipts: Log,
    /// The sticky mappings.
    pub sticky: StickyStore,
    /// The live sidecars.
    pub members: Members,
    /// The admin log's images, below which it is compacted.
    pub images: Images,
    /// What it was started with.
    config: Arc<ClusterConfig>,
}

impl Cluster {
    /// Connects to `config.urls` and makes (or finds) the cluster's admin stream and buckets.
    /// The connection then reconnects on its own for the process's life; calls made while it
    /// is down fail with [`ClusterError::Unavailable`] after `config.timeout`.
    pub async fn connect(config: ClusterConfig) -> Result<Cluster, ClusterError> {
        config.validate()?;
        let options = config.connect_options().await?;
        let servers = config
            .urls
            .iter()
            .map(|url| url.parse::<async_nats::ServerAddr>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|err| ClusterError::InvalidConfig(format!("NATS URL: {err}")))?;
        let client = options
            .connect(servers)
            .await
            .map_err(ClusterError::unavailable)?;
        let mut js = jetstream::new(client.clone());
        js.set_timeout(config.timeout);
        // Several sidecars starting at once race to make the streams, and a new replicated
        // stream takes a moment to elect its leader: each keeps trying for a while.
        let started = std::time::Instant::now();
        let (admin, receipts, sticky, members, images) = loop {
            let opened = async {
                Ok::<_, ClusterError>((
                    Log::admin(&js, &config).await?,
                    Log::receipts(&js, &config).await?,
                    StickyStore::open(&js, &config).await?,
                    Members::open(&js, &config).await?,
                    Images::open(&js, &config).await?,
                ))
            };
            match opened.await {
                Ok(opened) => break opened,
                Err(err) if started.elapsed() < JOIN_TIMEOUT => {
                    tracing::info!(
                        error = &err as &dyn std::error::Error,
                        "cluster streams not ready yet"
                    );
                    tokio::time::sleep(std::time::Duration::from_millis(250)).await;
                }
                Err(err) => return Err(err),
            }
        };
        Ok(Cluster {
            client,
            admin,
            receipts,
            sticky,
            members,
            images,
            config: Arc::new(config),
        })
    }

    /// Whether the NATS connection is up now (not whether JetStream has a leader).
    pub fn connected(&self) -> bool {
        self.client.connection_state() == async_nats::connection::State::Connected
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &ClusterConfig {
        &self.config
    }
}
