//! The sticky-mapping bucket: a JetStream KV bucket keyed `{account}.{pool uid}.{recipient}`.
//! A first contact is a publish expecting the key's last sequence to be 0 (`create`), a re-pick
//! one expecting the revision it saw (`update`): JetStream's leader lets exactly one writer win
//! either way. Keys may carry a TTL (per-key TTL, server 2.11+), and an expiry leaves a marker
//! that a watch sees as a purge.

use std::time::Duration;

use async_nats::jetstream::kv::{self, Operation, Store};
use async_nats::jetstream::stream::{LastRawMessageErrorKind, StorageType};
use async_nats::jetstream::Context;
use async_nats::HeaderMap;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};

use crate::{ClusterConfig, ClusterError};

/// How long an expiry marker stays: long enough for every watching sidecar to see it.
const MARKER_TTL: Duration = Duration::from_secs(300);

/// How a claim ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// This value is the key's now, at this revision.
    Won(u64),
    /// Another writer's value came first: read it and adopt it.
    Lost,
}

/// A key's current state, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StickyEntry {
    /// The value; `None` when the key was deleted or expired (a marker).
    pub value: Option<Bytes>,
    /// The revision a claim over it must expect.
    pub revision: u64,
}

/// A change a watch saw.
#[derive(Debug, Clone)]
pub struct StickyChange {
    /// The key.
    pub key: String,
    /// The new value; `None` for a deletion or an expiry.
    pub value: Option<Bytes>,
    /// Its revision.
    pub revision: u64,
    /// Changes still pending behind it when it was read: 0 once the watch is current.
    pub pending: u64,
}

/// The bucket.
#[derive(Clone)]
pub struct StickyStore {
    /// The JetStream context: claims publish themselves, to set the TTL header on every path.
    js: Context,
    /// The bucket.
    store: Store,
    /// `$KV.{bucket}.`: a key's subject is this and the key.
    subject_prefix: String,
}

impl StickyStore {
    pub(crate) async fn open(js: &Context, config: &ClusterConfig) -> Result<Self, ClusterError> {
        let bucket = format!("NUMPOOL_{}_STICKY", config.name);
        let store = crate::open_bucket(
            js,
            kv::Config {
                bucket: bucket.clone(),
                history: 1,
                storage: StorageType::File,
                num_replicas: config.replicas,
                limit_markers: Some(MARKER_TTL),
                ..Default::default()
            },
        )
        .await?;
        Ok(StickyStore {
            js: js.clone(),
            store,
            subject_prefix: format!("$KV.{bucket}."),
        })
    }

    /// Writes `value` under `key` if its last revision is still `expected` (0: the key never
    /// existed), expiring after `ttl` unless written again. Its own publish rather than the
    /// client's `create`, whose re-create path over a marker drops the TTL.
    pub async fn claim(
        &self,
        key: &str,
        value: Bytes,
        expected: u64,
        ttl: Option<Duration>,
    ) -> Result<Claim, ClusterError> {
        let mut headers = HeaderMap::new();
        headers.insert(
            async_nats::header::NATS_EXPECTED_LAST_SUBJECT_SEQUENCE,
            expected.to_string().as_str(),
        );
        if let Some(ttl) = ttl {
            headers.insert(
                async_nats::header::NATS_MESSAGE_TTL,
                ttl.as_secs().max(1).to_string().as_str(),
            );
        }
        let ack = self
            .js
            .publish_with_headers(format!("{}{key}", self.subject_prefix), headers, value)
            .await
            .map_err(ClusterError::unavailable)?
            .await;
        match ack {
            Ok(ack) => Ok(Claim::Won(ack.sequence)),
            // A create over a deleted key that lost its race says "wrong last sequence" too
            // (nats-server issue 5162): the same answer, read the winner.
            Err(err) if crate::error::wrong_last_sequence(&err) => Ok(Claim::Lost),
            Err(err) => Err(ClusterError::unavailable(err)),
        }
    }

    /// `key`'s current state; `None` when it never existed (or its marker has gone too). Read
    /// from the stream's leader, not by the client's direct get: any replica answers a direct
    /// get, so one that has not applied the write that beat a claim reads it as never made, and
    /// a stalled one (SIGSTOP, test (e)) takes every read sent its way into the timeout while
    /// the leader the others elected answers.
    pub async fn entry(&self, key: &str) -> Result<Option<StickyEntry>, ClusterError> {
        let subject = format!("{}{key}", self.subject_prefix);
        match self
            .store
            .stream
            .get_last_raw_message_by_subject(&subject)
            .await
        {
            Ok(message) => Ok(Some(StickyEntry {
                value: is_value(&message.headers).then_some(message.payload),
                revision: message.sequence,
            })),
            Err(err) if err.kind() == LastRawMessageErrorKind::NoMessageFound => Ok(None),
            Err(err) => Err(ClusterError::unavailable(err)),
        }
    }

    /// Deletes `key` (a marker every watch sees).
    pub async fn delete(&self, key: &str) -> Result<(), ClusterError> {
        self.store
            .delete(key)
            .await
            .map_err(ClusterError::unavailable)
    }

    /// The bucket's last revision now: a watch started after this is current once it has
    /// passed it (or at once, when it is 0).
    pub async fn last_revision(&self) -> Result<u64, ClusterError> {
        let mut stream = self.store.stream.clone();
        let info = stream.info().await.map_err(ClusterError::unavailable)?;
        Ok(info.state.last_sequence)
    }

    /// Every key's current value, then every change as it happens.
    pub async fn watch(
        &self,
    ) -> Result<impl Stream<Item = Result<StickyChange, ClusterError>> + Send + 'static, ClusterError>
    {
        let watch = self
            .store
            // `watch_all` delivers only new changes; with history, every key's last value first.
            .watch_with_history(">")
            .await
            .map_err(ClusterError::unavailable)?;
        Ok(watch.map(|entry| {
            let entry = entry.map_err(ClusterError::unavailable)?;
            Ok(StickyChange {
                value: (entry.operation == Operation::Put).then_some(entry.value),
                key: entry.key,
                revision: entry.revision,
                pending: entry.delta,
            })
        }))
    }
}

/// Whether a message of the bucket holds a value: not a deletion or purge (`KV-Operation`, as
/// the KV client writes and parses them; the header's name is private to it) and not a marker
/// the server left (`Nats-Marker-Reason`, an expiry).
fn is_value(headers: &HeaderMap) -> bool {
    let removed = headers.get("KV-Operation").is_some_and(|op| {
        op.as_str()
            .parse::<Operation>()
            .is_ok_and(|op| op != Operation::Put)
    });
    !removed
        && headers
            .get(async_nats::header::NATS_MARKER_REASON)
            .is_none()
}
