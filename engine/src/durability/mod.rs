//! Durable state (DESIGN §6) on top of `numpool-snapshots`: the journal every mutation is
//! appended to, the fsync policy for sticky assignments, snapshot writing and recovery into a
//! [`WorkingState`] the engine is built from.
//!
//! Write path: admin changes are appended and fsynced before they are applied and answered.
//! Sticky assignments are appended after each pick batch and handed to the OS before the batch
//! is answered (so a process crash loses none); `fsync = always` also fsyncs before answering,
//! `everysec` fsyncs once a second from a background tick, `no` leaves it to the OS.

pub mod convert;
pub mod image;
pub mod replay;

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use numpool_snapshots::{
    recover, write_snapshot_bytes, DirLock, Journal, JournalError, RecoverError, SnapshotError,
    WrittenSnapshot,
};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use image::{Record, StateImage};
use replay::WorkingState;

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

/// The journal and the data directory.
pub(crate) struct Durability {
    /// The data directory.
    dir: PathBuf,
    /// The fsync policy for sticky assignments.
    policy: FsyncPolicy,
    /// The current generation's journal; appends from admin calls and pool actors meet here.
    journal: Mutex<Journal>,
    /// The data directory's lock, held for the process's life: a second numpool is refused.
    _lock: DirLock,
    /// When the recovered base snapshot was taken: the first snapshot is due an interval after it.
    pub(crate) base_time: Option<SystemTime>,
}

impl Durability {
    /// Recovers `dir` (newest valid snapshot plus its journals) and opens the journal for
    /// appending. Data that exists but cannot be read is an error, never an empty start.
    pub(crate) fn open(
        dir: &Path,
        policy: FsyncPolicy,
    ) -> Result<(Durability, WorkingState), StorageError> {
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
            journal: Mutex::new(recovered.journal),
            _lock: recovered.lock,
            base_time: recovered.base_time,
        };
        Ok((durability, state))
    }

    /// Appends an admin change and fsyncs it: it is durable when this returns.
    pub(crate) fn append_admin(&self, record: &Record) -> Result<(), StorageError> {
        let mut journal = self.journal.lock();
        journal.append(record)?;
        journal.sync()?;
        Ok(())
    }

    /// Appends sticky changes from one pick batch, then flushes or fsyncs per the policy.
    pub(crate) fn append_sticky(&self, records: &[Record]) -> Result<(), StorageError> {
        if records.is_empty() {
            return Ok(());
        }
        let mut journal = self.journal.lock();
        for record in records {
            journal.append(record)?;
        }
        match self.policy {
            FsyncPolicy::Always => journal.sync()?,
            FsyncPolicy::Everysec | FsyncPolicy::No => journal.flush()?,
        }
        Ok(())
    }

    /// The once-a-second tick of `everysec`.
    pub(crate) fn tick(&self) -> Result<(), StorageError> {
        if self.policy == FsyncPolicy::Everysec {
            self.journal.lock().sync()?;
        }
        Ok(())
    }

    /// Bytes in the current journal, to trigger a snapshot by size.
    pub(crate) fn journal_bytes(&self) -> u64 {
        self.journal.lock().size_bytes()
    }

    /// Starts the next generation: fsyncs the current journal and opens a new one. Records
    /// appended from now on belong to the snapshot about to be captured; returns its sequence.
    pub(crate) fn rotate(&self) -> Result<u64, StorageError> {
        let mut journal = self.journal.lock();
        journal.sync()?;
        let next = journal.seq() + 1;
        *journal = Journal::create(&self.dir, next)?;
        Ok(next)
    }

    /// Writes snapshot `seq` from an encoded image (the old generations beyond two are pruned).
    pub fn write_snapshot(
        &self,
        seq: u64,
        payload: &[u8],
    ) -> Result<WrittenSnapshot, StorageError> {
        Ok(write_snapshot_bytes(&self.dir, seq, payload)?)
    }
}
