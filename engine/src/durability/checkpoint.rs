//! A cluster sidecar's data directory (DESIGN §10, docs/cluster.md). JetStream holds the
//! cluster's state; the directory holds checkpoints of this sidecar's copy of it: snapshots of
//! the whole state, each with the admin log's sequence that had been applied in order when it
//! was captured, so that a restart replays the log from there rather than from its start. There
//! is no journal: what changed after the last checkpoint comes back from the cluster. A marker
//! file names the cluster, so that neither a single-process numpool and a sidecar nor sidecars
//! of two clusters read each other's data (which would fail to decode and be set aside as
//! corrupt).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use bincode::de::{Decode, Decoder};
use bincode::error::DecodeError;
use bincode::Encode;
use numpool_snapshots::{
    journal_path, recover, write_snapshot_bytes, DirLock, Journal, WrittenSnapshot,
};
use rustc_hash::FxHashMap;

use super::image::{AccountImage, Record, StateImage};
use super::replay::WorkingState;
use super::StorageError;

/// The marker file: the name of the cluster whose checkpoints the directory holds.
pub(crate) const CLUSTER_MARKER: &str = "cluster-name";

/// What a checkpoint holds: the state, and the admin log's sequence applied before it was
/// captured (every record up to it is in the state; later ones may be, and are applied again,
/// which sets what they set).
#[derive(Clone, Debug, PartialEq, Eq, Encode)]
pub(crate) struct CheckpointImage {
    /// The admin log's sequence applied, in stream order, when the capture began.
    pub(crate) replayed: u64,
    /// The state.
    pub(crate) state: StateImage,
    /// The uids of the pools that answer locally while the cluster is unreachable
    /// (`cluster_unavailable = "local"`): a setting the state's pool headers do not carry.
    pub(crate) local_pools: Vec<u64>,
    /// Each account's last admin log record applied to it, read under its admin lock with its
    /// admin view: the state holds exactly its records up to it.
    pub(crate) applied: Vec<(String, u64)>,
}

/// What a sidecar's data directory gives it at start.
#[derive(Default)]
pub(crate) struct Resumed {
    /// The newest valid checkpoint's state (empty without one).
    pub(crate) state: WorkingState,
    /// The admin log's sequence it had applied in stream order: the replay starts after it.
    pub(crate) replayed: u64,
    /// Each account's last record applied, by account id (none without a checkpoint).
    pub(crate) applied: FxHashMap<String, u64>,
}

impl Decode<u32> for CheckpointImage {
    fn decode<D: Decoder<Context = u32>>(decoder: &mut D) -> Result<Self, DecodeError> {
        Ok(CheckpointImage {
            replayed: u64::decode(decoder)?,
            state: StateImage::decode(decoder)?,
            local_pools: Vec::decode(decoder)?,
            applied: Vec::decode(decoder)?,
        })
    }
}

/// What an account's image in the cluster holds (compaction, docs/cluster.md): the account as
/// the admin log's records built it up to the one the image stands for, without its sticky
/// tables (the bucket holds those).
#[derive(Clone, Debug, PartialEq, Eq, Encode, bincode::Decode)]
pub(crate) struct AccountCheckpoint {
    /// The account.
    pub(crate) account: AccountImage,
    /// Its pools that answer locally while the cluster is unreachable.
    pub(crate) local_pools: Vec<u64>,
}

/// The shape of [`AccountCheckpoint`] an image holds, written first: a sidecar refuses an
/// image of a shape it does not know rather than misread it.
const ACCOUNT_CHECKPOINT_FORMAT: u32 = 1;

impl AccountCheckpoint {
    /// The bytes of the image.
    pub(crate) fn encode(&self) -> Vec<u8> {
        bincode::encode_to_vec(
            (ACCOUNT_CHECKPOINT_FORMAT, self),
            bincode::config::standard(),
        )
        .expect("images always encode")
    }

    /// An image's bytes read back; `None` for bytes of another shape.
    pub(crate) fn decode(bytes: &[u8]) -> Option<Self> {
        let config = bincode::config::standard();
        match bincode::decode_from_slice::<(u32, AccountCheckpoint), _>(bytes, config) {
            Ok(((ACCOUNT_CHECKPOINT_FORMAT, image), _)) => Some(image),
            _ => None,
        }
    }
}

impl Resumed {
    /// Itself if it holds every account of `accounts`; else nothing (the start replays the
    /// log from its first record): an account added to the configuration since the checkpoint
    /// would never be given its records up to it.
    pub(crate) fn holding(self, accounts: &[String]) -> Resumed {
        match accounts.iter().find(|id| !self.applied.contains_key(*id)) {
            Some(id) if self.replayed > 0 => {
                tracing::warn!(
                    account = %id,
                    "the checkpoint does not hold an account configured now: replaying the \
                     admin log from its start instead"
                );
                Resumed::default()
            }
            _ => self,
        }
    }
}

/// The checkpoints of one sidecar.
pub(crate) struct Checkpoints {
    /// The data directory.
    dir: PathBuf,
    /// The next checkpoint's sequence (snapshot files are numbered, newest kept).
    next_seq: AtomicU64,
    /// The directory's lock, held for the process's life: a second sidecar is refused.
    _lock: DirLock,
}

impl Checkpoints {
    /// Opens `dir` for the sidecars of `cluster`, creating it if needed, with what its newest
    /// valid checkpoint holds. A directory of another cluster, or of a single-process numpool,
    /// is refused.
    pub(crate) fn open(dir: &Path, cluster: &str) -> Result<(Checkpoints, Resumed), StorageError> {
        let io = |source| StorageError::Io {
            path: dir.to_owned(),
            source,
        };
        fs::create_dir_all(dir).map_err(io)?;
        let marker = dir.join(CLUSTER_MARKER);
        match fs::read_to_string(&marker) {
            Ok(found) if found == cluster => {}
            Ok(found) => {
                return Err(StorageError::OtherCluster {
                    dir: dir.to_owned(),
                    found,
                    expected: cluster.to_owned(),
                })
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                if holds_numpool_data(dir).map_err(io)? {
                    return Err(StorageError::SingleNodeData {
                        dir: dir.to_owned(),
                    });
                }
                write_marker(dir, &marker, cluster).map_err(io)?;
            }
            Err(err) => return Err(io(err)),
        }
        let recovered = recover::<CheckpointImage, Record>(dir)?;
        let resumed = match recovered.snapshot {
            Some(image) => {
                let mut state = WorkingState::from_image(image.state);
                state.answer_locally(&image.local_pools);
                Resumed {
                    state,
                    replayed: image.replayed,
                    applied: image.applied.into_iter().collect(),
                }
            }
            None => Resumed::default(),
        };
        tracing::info!(
            dir = %dir.display(),
            checkpoint = recovered.snapshot_seq,
            replayed = resumed.replayed,
            rejected_checkpoints = recovered.report.rejected_snapshots.len(),
            "checkpoint recovered"
        );
        let checkpoints = Checkpoints {
            dir: dir.to_owned(),
            next_seq: AtomicU64::new(recovered.seq + 1),
            _lock: recovered.lock,
        };
        Ok((checkpoints, resumed))
    }

    /// Writes `image` as the next checkpoint (atomically; older ones beyond two are pruned).
    /// Blocking: run it off the async threads, one at a time.
    pub(crate) fn write(&self, image: &CheckpointImage) -> Result<WrittenSnapshot, StorageError> {
        let payload = numpool_snapshots::encode_payload(image)?;
        let seq = self.next_seq.fetch_add(1, Ordering::AcqRel);
        // Recovery expects each snapshot's generation to have its journal (written before the
        // snapshot): an empty one, since nothing is journaled here.
        if !journal_path(&self.dir, seq).exists() {
            Journal::create(&self.dir, seq)?;
        }
        Ok(write_snapshot_bytes(&self.dir, seq, &payload)?)
    }
}

/// Whether `dir` holds a single-process numpool's snapshots or journals.
fn holds_numpool_data(dir: &Path) -> std::io::Result<bool> {
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("snapshot-") || name.starts_with("journal-") {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Writes the marker atomically (temp file, fsync, rename, directory fsync).
fn write_marker(dir: &Path, marker: &Path, cluster: &str) -> std::io::Result<()> {
    let tmp = marker.with_extension("tmp");
    let mut file = fs::File::create(&tmp)?;
    file.write_all(cluster.as_bytes())?;
    file.sync_all()?;
    fs::rename(&tmp, marker)?;
    fs::File::open(dir)?.sync_all()
}
