//! The admin log's images: per topic (an account), the state its records built up to one of
//! them, in a JetStream object store, so that the log can be purged below it (compaction) and a
//! sidecar that starts without those records builds the topic from the image. The engine
//! encodes what an image holds; this knows only where it is and which record it stands for.

use std::collections::HashSet;
use std::time::Duration;

use async_nats::jetstream::object_store::{self, ObjectMetadata, ObjectStore};
use async_nats::jetstream::stream::{
    self, DiscardPolicy, LastRawMessageErrorKind, StorageType, Stream,
};
use async_nats::jetstream::Context;
use bytes::Bytes;
use futures_util::TryStreamExt;
use tokio::io::AsyncReadExt;

use crate::{ClusterConfig, ClusterError};

/// The object metadata key holding the sequence of the record an image stands for.
const SEQ: &str = "seq";

/// The image store.
#[derive(Clone)]
pub struct Images {
    /// The object store: one object per topic, each put replacing the last.
    store: ObjectStore,
    /// Its stream, to find and purge the chunks no image names.
    stream: Stream,
    /// The prefix of its chunks' subjects (`$O.{bucket}.C.`), each followed by the id the
    /// image naming it holds.
    chunks: String,
    /// How long reading an image may take before it is tried again.
    timeout: Duration,
}

impl Images {
    /// Finds or makes the store. Its stream is made here, as `async-nats` makes an object
    /// store's but without direct gets: every read of an image, or of which record it stands
    /// for, is then answered by the stream's leader, never by a replica that is behind (a
    /// compaction must not take an older image for the newest, nor a sidecar at start).
    pub(crate) async fn open(js: &Context, config: &ClusterConfig) -> Result<Self, ClusterError> {
        let bucket = format!("NUMPOOL_{}_IMAGES", config.name);
        let stream = js
            .get_or_create_stream(stream::Config {
                name: format!("OBJ_{bucket}"),
                subjects: vec![format!("$O.{bucket}.C.>"), format!("$O.{bucket}.M.>")],
                storage: StorageType::File,
                num_replicas: config.replicas,
                discard: DiscardPolicy::New,
                allow_rollup: true,
                allow_direct: false,
                ..Default::default()
            })
            .await
            .map_err(ClusterError::unavailable)?;
        let store = js
            .get_object_store(&bucket)
            .await
            .map_err(ClusterError::unavailable)?;
        let images = Images {
            store,
            stream,
            chunks: format!("$O.{bucket}.C."),
            timeout: config.timeout,
        };
        // A store just made may not have elected its leader yet: joining tries again until
        // it answers, rather than the first image lookup failing the start.
        images.seq("probe").await?;
        Ok(images)
    }

    /// The sequence of the record `topic`'s image stands for; 0 when it has none.
    pub async fn seq(&self, topic: &str) -> Result<u64, ClusterError> {
        match self.store.info(topic).await {
            Ok(info) => Ok(seq_of(&info.metadata)),
            Err(err) if err.kind() == object_store::InfoErrorKind::NotFound => Ok(0),
            Err(err) => Err(ClusterError::unavailable(err)),
        }
    }

    /// `topic`'s image and the sequence it stands for, if it has one. A read that outlasts
    /// the timeout is tried again, twice: a put replacing the image purges the chunks a read
    /// begun just before it was waiting for.
    pub async fn get(&self, topic: &str) -> Result<Option<(u64, Bytes)>, ClusterError> {
        let mut tries = 0;
        loop {
            match tokio::time::timeout(self.timeout, self.read(topic)).await {
                Ok(read) => return read,
                Err(elapsed) if tries == 2 => return Err(ClusterError::unavailable(elapsed)),
                Err(_) => tries += 1,
            }
        }
    }

    async fn read(&self, topic: &str) -> Result<Option<(u64, Bytes)>, ClusterError> {
        let mut object = match self.store.get(topic).await {
            Ok(object) => object,
            Err(err) if err.kind() == object_store::GetErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(ClusterError::unavailable(err)),
        };
        let seq = seq_of(&object.info().metadata);
        let mut bytes = Vec::with_capacity(object.info().size);
        object
            .read_to_end(&mut bytes)
            .await
            .map_err(ClusterError::unavailable)?;
        Ok(Some((seq, bytes.into())))
    }

    /// Stores `image` as `topic`'s, standing for its record `seq`, in place of the last one.
    pub async fn put(&self, topic: &str, seq: u64, image: &[u8]) -> Result<(), ClusterError> {
        let meta = ObjectMetadata {
            name: topic.to_owned(),
            metadata: [(SEQ.to_owned(), seq.to_string())].into(),
            ..Default::default()
        };
        let mut reader = image;
        self.store
            .put(meta, &mut reader)
            .await
            .map(drop)
            .map_err(ClusterError::unavailable)
    }

    /// Purges the chunks that no image names and that nothing has written to for `age`
    /// before the store's last write (the servers' clock, so no sidecar's skew counts; a
    /// compaction sweeps right after its put). Unnamed chunks are what a put leaves that its
    /// sidecar died in, that failed part way, or that lost to another put of the same image
    /// (both read the same previous image, so only one of them purges its chunks); a younger
    /// one may be a put still under way on another sidecar, so it stays. How many puts'
    /// chunks it purged.
    pub async fn sweep(&self, age: Duration) -> Result<u64, ClusterError> {
        let named: HashSet<String> = self
            .store
            .list()
            .await
            .map_err(ClusterError::unavailable)?
            .map_ok(|info| info.nuid)
            .try_collect()
            .await
            .map_err(ClusterError::unavailable)?;
        let last_write = self
            .stream
            .get_info()
            .await
            .map_err(ClusterError::unavailable)?
            .state
            .last_timestamp;
        let age = i128::try_from(age.as_nanos()).unwrap_or(i128::MAX);
        let before = last_write.unix_timestamp_nanos().saturating_sub(age);
        let subjects: Vec<String> = self
            .stream
            .info_with_subjects(format!("{}>", self.chunks))
            .await
            .map_err(ClusterError::unavailable)?
            .map_ok(|(subject, _)| subject)
            .try_collect()
            .await
            .map_err(ClusterError::unavailable)?;
        let mut swept = 0;
        for subject in subjects {
            match subject.strip_prefix(&self.chunks) {
                Some(id) if !named.contains(id) => {}
                _ => continue,
            }
            let last = match self.stream.get_last_raw_message_by_subject(&subject).await {
                Ok(last) => last,
                // Purged since the listing, by the put that replaced its image or by another
                // sidecar's sweep.
                Err(err) if err.kind() == LastRawMessageErrorKind::NoMessageFound => continue,
                Err(err) => return Err(ClusterError::unavailable(err)),
            };
            if last.time.unix_timestamp_nanos() < before {
                self.stream
                    .purge()
                    .filter(subject)
                    .await
                    .map_err(ClusterError::unavailable)?;
                swept += 1;
            }
        }
        Ok(swept)
    }
}

/// The sequence an object's metadata names; 0 (no image) when it names none.
fn seq_of(metadata: &std::collections::HashMap<String, String>) -> u64 {
    metadata.get(SEQ).and_then(|s| s.parse().ok()).unwrap_or(0)
}
