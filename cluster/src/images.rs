//! The admin log's images: per topic (an account), the state its records built up to one of
//! them, in a JetStream object store, so that the log can be purged below it (compaction) and a
//! sidecar that starts without those records builds the topic from the image. The engine
//! encodes what an image holds; this knows only where it is and which record it stands for.

use async_nats::jetstream::object_store::{self, ObjectMetadata, ObjectStore};
use async_nats::jetstream::stream::StorageType;
use async_nats::jetstream::Context;
use bytes::Bytes;
use tokio::io::AsyncReadExt;

use crate::{ClusterConfig, ClusterError};

/// The object metadata key holding the sequence of the record an image stands for.
const SEQ: &str = "seq";

/// The image store.
#[derive(Clone)]
pub struct Images {
    /// The object store: one object per topic, each put replacing the last.
    store: ObjectStore,
}

impl Images {
    pub(crate) async fn open(js: &Context, config: &ClusterConfig) -> Result<Self, ClusterError> {
        let bucket = format!("NUMPOOL_{}_IMAGES", config.name);
        let store = match js.get_object_store(&bucket).await {
            Ok(store) => store,
            Err(_) => {
                let made = js
                    .create_object_store(object_store::Config {
                        bucket: bucket.clone(),
                        storage: StorageType::File,
                        num_replicas: config.replicas,
                        ..Default::default()
                    })
                    .await;
                match made {
                    Ok(store) => store,
                    // Another sidecar made it meanwhile.
                    Err(_) => js
                        .get_object_store(&bucket)
                        .await
                        .map_err(ClusterError::unavailable)?,
                }
            }
        };
        let images = Images { store };
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

    /// `topic`'s image and the sequence it stands for, if it has one.
    pub async fn get(&self, topic: &str) -> Result<Option<(u64, Bytes)>, ClusterError> {
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
}

/// The sequence an object's metadata names; 0 (no image) when it names none.
fn seq_of(metadata: &std::collections::HashMap<String, String>) -> u64 {
    metadata.get(SEQ).and_then(|s| s.parse().ok()).unwrap_or(0)
}
