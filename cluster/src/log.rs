//! A log of the cluster: one JetStream stream whose subjects name what a record is about (an
//! account), replayed in stream order by every sidecar. The admin log publishes with optimistic
//! concurrency per subject (`Nats-Expected-Last-Subject-Sequence`), so each account's changes
//! have one total order; the receipt log keeps a day of delivery receipts, so that every
//! sidecar computes the same health.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer::pull::OrderedConfig;
use async_nats::jetstream::consumer::DeliverPolicy;
use async_nats::jetstream::stream::{self, LastRawMessageErrorKind, StorageType};
use async_nats::jetstream::Context;
use async_nats::HeaderMap;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};

use crate::{ClusterConfig, ClusterError};

/// The header naming the sidecar that published a record: it alone answers the request.
const ORIGIN: &str = "Numpool-Origin";

/// The header of a record published expecting the last record on its topic: that record's
/// sequence (0: none). A sidecar that has not applied it is missing records of the topic,
/// which compaction purged.
const FOLLOWS: &str = "Numpool-Follows";

/// One record read back from a log.
#[derive(Debug, Clone)]
pub struct LogEntry {
    /// Its stream sequence: the total order every sidecar applies.
    pub seq: u64,
    /// The sidecar that published it.
    pub origin: String,
    /// The sequence of the record before it on its topic, when it was published expecting it.
    pub follows: Option<u64>,
    /// What the engine encoded.
    pub payload: Bytes,
}

/// A log's stream.
#[derive(Clone)]
pub struct Log {
    /// The JetStream context, for publishing.
    js: Context,
    /// The stream, for replays and last-sequence lookups.
    stream: stream::Stream,
    /// `numpool.{name}.{kind}`: every subject starts with it.
    prefix: Arc<str>,
}

impl Log {
    /// The admin log: every admin change, kept for ever.
    pub(crate) async fn admin(js: &Context, config: &ClusterConfig) -> Result<Self, ClusterError> {
        Log::open(js, config, "admin", Duration::ZERO).await
    }

    /// The receipt log: the last day of delivery receipts (a health window's span).
    pub(crate) async fn receipts(
        js: &Context,
        config: &ClusterConfig,
    ) -> Result<Self, ClusterError> {
        Log::open(js, config, "receipts", Duration::from_secs(24 * 3600)).await
    }

    /// The log of `kind`, its records kept `max_age` (zero: for ever).
    async fn open(
        js: &Context,
        config: &ClusterConfig,
        kind: &str,
        max_age: Duration,
    ) -> Result<Self, ClusterError> {
        let prefix = format!("numpool.{}.{kind}", config.name);
        let stream = js
            .get_or_create_stream(stream::Config {
                name: format!("NUMPOOL_{}_{}", config.name, kind.to_ascii_uppercase()),
                subjects: vec![format!("{prefix}.>")],
                storage: StorageType::File,
                num_replicas: config.replicas,
                max_age,
                ..Default::default()
            })
            .await
            .map_err(ClusterError::unavailable)?;
        Ok(Log {
            js: js.clone(),
            stream,
            prefix: prefix.into(),
        })
    }

    /// The full subject of `topic` (dot-separated tokens, see [`crate::token`]).
    fn subject(&self, topic: &str) -> String {
        format!("{}.{topic}", self.prefix)
    }

    /// The sequence of the last record on `topic`, 0 if none: what a publish on it expects,
    /// read from the stream's leader so that it is current.
    pub async fn last_on(&self, topic: &str) -> Result<u64, ClusterError> {
        match self
            .stream
            .get_last_raw_message_by_subject(&self.subject(topic))
            .await
        {
            Ok(message) => Ok(message.sequence),
            Err(err) if matches!(err.kind(), LastRawMessageErrorKind::NoMessageFound) => Ok(0),
            Err(err) => Err(ClusterError::unavailable(err)),
        }
    }

    /// The stream's last sequence: how far a replay must get to be caught up.
    pub async fn last_seq(&self) -> Result<u64, ClusterError> {
        let info = self
            .stream
            .get_info()
            .await
            .map_err(ClusterError::unavailable)?;
        Ok(info.state.last_sequence)
    }

    /// Removes the records on `topic` below sequence `below` (the record at `below` stays: a
    /// publish on the topic expects it). How many went.
    pub async fn purge_below(&self, topic: &str, below: u64) -> Result<u64, ClusterError> {
        self.stream
            .purge()
            .filter(self.subject(topic))
            .sequence(below)
            .await
            .map(|purged| purged.purged)
            .map_err(ClusterError::unavailable)
    }

    /// Appends `payload` on `topic` as `origin`, if the last record there is still
    /// `expected` (0: none) when one is given; its sequence once JetStream has stored it.
    /// [`ClusterError::Conflict`] when another record reached `topic` first.
    pub async fn publish(
        &self,
        topic: &str,
        expected: Option<u64>,
        origin: &str,
        payload: Bytes,
    ) -> Result<u64, ClusterError> {
        let mut headers = HeaderMap::new();
        headers.insert(ORIGIN, origin);
        if let Some(expected) = expected {
            let expected = expected.to_string();
            headers.insert(
                async_nats::header::NATS_EXPECTED_LAST_SUBJECT_SEQUENCE,
                expected.as_str(),
            );
            headers.insert(FOLLOWS, expected.as_str());
        }
        // No `Nats-Msg-Id`: nothing publishes a record twice, and an id that repeats (a counter
        // restarted with its process) makes JetStream drop a new record as a duplicate and
        // acknowledge the old one's sequence.
        let ack = self
            .js
            .publish_with_headers(self.subject(topic), headers, payload)
            .await
            .map_err(ClusterError::unavailable)?
            .await;
        match ack {
            Ok(ack) => Ok(ack.sequence),
            Err(err) if crate::error::wrong_last_sequence(&err) => Err(ClusterError::Conflict),
            Err(err) => Err(ClusterError::unavailable(err)),
        }
    }

    /// Every record from sequence `from` (1: all) on, in stream order, then new ones as they
    /// come. An ordered consumer: it recreates itself after a gap or a lost server, so the
    /// order holds across failures.
    pub async fn replay(
        &self,
        from: u64,
    ) -> Result<impl Stream<Item = Result<LogEntry, ClusterError>> + Send + 'static, ClusterError>
    {
        let consumer = self
            .stream
            .create_consumer(OrderedConfig {
                deliver_policy: DeliverPolicy::ByStartSequence {
                    start_sequence: from.max(1),
                },
                ..Default::default()
            })
            .await
            .map_err(ClusterError::unavailable)?;
        let messages = consumer
            .messages()
            .await
            .map_err(ClusterError::unavailable)?;
        Ok(messages.map(|message| {
            let message = message.map_err(ClusterError::unavailable)?;
            let seq = message
                .info()
                .map_err(ClusterError::Unavailable)?
                .stream_sequence;
            let header = |name| message.headers.as_ref().and_then(|h| h.get(name));
            Ok(LogEntry {
                seq,
                origin: header(ORIGIN)
                    .map(|v| v.as_str().to_owned())
                    .unwrap_or_default(),
                follows: header(FOLLOWS).and_then(|v| v.as_str().parse().ok()),
                payload: message.message.payload.clone(),
            })
        }))
    }
}
