//! Durable state (DESIGN §6) on top of `numpool-snapshots`: the journal every mutation is
//! appended to, the fsync policy for sticky assignments, snapshot writing and recovery into a
//! [`WorkingState`] the engine is built from.
//!
//! Write path: one writer thread owns the journal (`writer`). Admin changes are submitted and
//! fsynced before they are applied and answered; pool membership, settings and sticky removals
//! are submitted by the pool actor itself, so the journal's order is the actors' order. Sticky
//! assignments are submitted after each pick batch and handed to the OS before the batch is
//! answered (so a process crash loses none); `fsync = always` also fsyncs before answering,
//! `everysec` fsyncs once a second on the writer, `no` leaves it to the OS. A failed write is a
//! fault that refuses every later change until the engine has rotated and snapshotted.

pub(crate) mod checkpoint;
pub mod convert;
pub mod image;
pub mod image_v1;
pub mod image_v2;
pub mod image_v3;
pub mod image_v4;
pub mod image_v5;
pub mod replay;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use numpool_snapshots::{
    recover, write_snapshot_bytes, DirLock, JournalError, RecoverError, SnapshotError,
    WrittenSnapshot,
};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use image::{Record, StateImage};
use replay::WorkingState;
pub(crate) use writer::Ticket;
use writer::Writer;

/// When sticky assignments reach the disk (admin changes are always fsynced).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FsyncPolicy {
    /// fsync before answering each batch: nothing acknowledged is lost, even on power loss.
    Always,
    /// fsync once a second: a power loss loses at most about a second of new assignments.
    Everysec,
    /// Never fsync: the OS decides.
    No,
}

/// Why storage failed.
#[derive(Debug, Error)]
pub enum StorageError {
    /// The data directory could not be recovered.
    #[error(transparent)]
    Recover(#[from] RecoverError),
    /// The journal could not be written.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// A snapshot could not be written.
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    /// The recovered state holds a value that fails validation.
    #[error(transparent)]
    Invalid(#[from] convert::InvalidImage),
    /// The state image could not be encoded for a snapshot (a hand-written `Encode` impl failed).
    #[error("the state image does not encode")]
    Encode(#[from] bincode::error::EncodeError),
    /// The journal file was deleted or replaced under the running server: appends would go to
    /// an inode nobody reads again.
    #[error("journal {seq} was deleted or replaced under the running server")]
    JournalGone {
        /// The journal's generation.
        seq: u64,
    },
    /// The data directory could not be read or prepared.
    #[error("data directory {}", path.display())]
    Io {
        /// The directory or file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A sidecar's data directory holds the checkpoints of another cluster.
    #[error("data directory {} holds the checkpoints of cluster {found:?}, not of {expected:?}", dir.display())]
    OtherCluster {
        /// The directory.
        dir: PathBuf,
        /// The cluster its marker names.
        found: String,
        /// The cluster this sidecar joins.
        expected: String,
    },
    /// A sidecar was given a single-process numpool's data directory.
    #[error("data directory {} holds a single-process numpool's data, not a cluster sidecar's checkpoints", dir.display())]
    SingleNodeData {
        /// The directory.
        dir: PathBuf,
    },
    /// A single-process numpool was given a cluster sidecar's data directory.
    #[error("data directory {} holds the checkpoints of a sidecar of cluster {cluster:?}: start it with --cluster", dir.display())]
    ClusterCheckpoints {
        /// The directory.
        dir: PathBuf,
        /// The cluster its marker names.
        cluster: String,
    },
    /// A change refused because of an earlier failure, or after the writer stopped.
    #[error("storage refused the change after an earlier failure")]
    Refused,
    /// Blocking storage work moved off the async threads panicked or was cancelled, so whether
    /// it happened is unknown.
    #[error("{task} did not finish")]
    TaskFailed {
        /// Which work: what the operator reads.
        task: &'static str,
        /// Why the task ended early.
        source: tokio::task::JoinError,
    },
}

/// A [`StorageError`] as engine calls report it. Shared, so that an error stays cheap to clone
/// (one fault answers many requests); equal only to itself, because its I/O cause has no
/// equality (two failures are never the same failure).
#[derive(Debug, Clone, Error)]
#[error(transparent)]
pub struct StorageFailure(Arc<StorageError>);

impl StorageFailure {
    /// The failure of `err`.
    pub(crate) fn new(err: StorageError) -> Self {
        StorageFailure(Arc::new(err))
    }

    /// The failure and every cause under it on one line (`journal …: I/O error: No space left
    /// on device`), for the replies and endpoints that name it.
    pub(crate) fn reason(&self) -> String {
        let mut reason = self.0.to_string();
        let mut cause = std::error::Error::source(&*self.0);
        while let Some(err) = cause {
            reason.push_str(": ");
            reason.push_str(&err.to_string());
            cause = err.source();
        }
        reason
    }
}

impl PartialEq for StorageFailure {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for StorageFailure {}

/// The journal writer and the data directory.
pub(crate) struct Durability {
    /// The data directory.
    dir: PathBuf,
    /// The fsync policy for sticky assignments.
    policy: FsyncPolicy,
    /// The one writer of the journal.
    writer: Writer,
    /// The data directory's lock, held for the process's life: a second numpool is refused.
    _lock: DirLock,
    /// When the recovered base snapshot was taken: the first snapshot is due an interval after it.
    pub(crate) base_time: Option<SystemTime>,
}

impl Durability {
    /// Recovers `dir` (newest valid snapshot plus its journals) and starts the journal writer.
    /// Data that exists but cannot be read is an error, never an empty start.
    pub(crate) fn open(
        dir: &Path,
        policy: FsyncPolicy,
    ) -> Result<(Durability, WorkingState), StorageError> {
        if let Ok(cluster) = std::fs::read_to_string(dir.join(checkpoint::CLUSTER_MARKER)) {
            return Err(StorageError::ClusterCheckpoints {
                dir: dir.to_owned(),
                cluster,
            });
        }
        let recovered = recover::<StateImage, Record>(dir)?;
        let replayed = recovered.records.len();
        let mut state = WorkingState::from_image(recovered.snapshot.unwrap_or_default());
        for record in recovered.records {
            state.apply(record);
        }
        tracing::info!(
            dir = %dir.display(),
            snapshot = recovered.snapshot_seq,
            replayed,
            torn_tail_bytes = recovered.report.torn_bytes(),
            torn_tail_records = recovered.report.torn_records(),
            rejected_snapshots = recovered.report.rejected_snapshots.len(),
            "recovered"
        );
        let durability = Durability {
            dir: dir.to_owned(),
            policy,
            writer: Writer::start(recovered.journal, dir.to_owned(), policy),
            _lock: recovered.lock,
            base_time: recovered.base_time,
        };
        Ok((durability, state))
    }

    /// Queues `records` behind everything submitted before; see [`Durability::settled`].
    /// `fsync` for changes that must be on disk before their reply (admin changes, sticky
    /// removals); sticky assignments follow the policy.
    pub(crate) fn submit(
        &self,
        records: Vec<Record>,
        fsync: bool,
    ) -> Result<Ticket, StorageFailure> {
        self.writer.submit(records, fsync)
    }

    /// Completes when the records of `ticket` are stored as they were asked to be.
    pub(crate) fn settled(
        &self,
        ticket: Ticket,
    ) -> impl std::future::Future<Output = Result<(), StorageFailure>> + 'static {
        self.writer.settled(ticket)
    }

    /// Appends an admin change and waits until it is fsynced.
    pub(crate) async fn append_admin(&self, record: Record) -> Result<(), StorageFailure> {
        let ticket = self.submit(vec![record], true)?;
        self.settled(ticket).await
    }

    /// Bytes in the current journal, to trigger a snapshot by size.
    pub(crate) fn journal_bytes(&self) -> u64 {
        self.writer.journal_bytes()
    }

    /// Starts the next generation: records submitted from now on belong to the snapshot about
    /// to be captured; returns its sequence.
    pub(crate) async fn rotate(&self) -> Result<u64, StorageFailure> {
        self.writer.rotate().await
    }

    /// Writes snapshot `seq` from an encoded image (the old generations beyond two are pruned).
    /// Blocking: run it off the async threads.
    pub(crate) fn write_snapshot(
        &self,
        seq: u64,
        payload: &[u8],
    ) -> Result<WrittenSnapshot, StorageError> {
        Ok(write_snapshot_bytes(&self.dir, seq, payload)?)
    }

    /// The storage fault in force: while it lasts every change is refused.
    pub(crate) fn fault(&self) -> Option<StorageFailure> {
        self.writer.fault()
    }

    /// Storage faults since start.
    pub(crate) fn faults(&self) -> u64 {
        self.writer.faults()
    }

    /// Ends the fault: a snapshot written after the rotation holds everything acknowledged.
    pub(crate) fn clear_fault(&self) {
        self.writer.clear_fault();
    }

    /// Whether sticky assignments are fsynced before their reply.
    pub(crate) fn fsyncs_assignments(&self) -> bool {
        self.policy == FsyncPolicy::Always
    }

    /// Fsyncs the journal and stops the writer (at shutdown, after the final snapshot).
    pub(crate) async fn close(&self) -> Result<(), StorageFailure> {
        self.writer.stop().await
    }
}
