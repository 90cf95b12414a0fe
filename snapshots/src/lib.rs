//! numpool's durability layer (DESIGN §6), independent of the engine's types, actix and the
//! network: checksummed snapshot files holding a bincode-encoded state of any `T: Encode + Decode`,
//! written atomically and kept two deep; an append-only CRC32C-framed journal of records of any
//! type, one file per snapshot generation; and [`recover`], which rebuilds the state from the
//! newest valid snapshot plus the journals after it, cuts a torn final record, falls back past a
//! damaged snapshot, refuses to turn unreadable data into an empty start, and hands back a journal
//! to keep appending to, holding the data directory's lock so that one process at a time uses it. All encoding uses `bincode::config::standard()` (bincode pinned `=2.0.1`).

mod error;
mod header;
mod journal;
mod layout;
mod lock;
mod recovery;
mod snapshot;

pub use error::{
    BadHeader, BadRecord, FileError, FileKind, JournalError, JournalErrorKind, LockError,
    LockErrorKind, LostJournal, RecoverError, SnapshotError, SnapshotErrorKind,
};
pub use header::{
    JOURNAL_FORMAT_VERSION, JOURNAL_HEADER_LEN, JOURNAL_MAGIC, OLDEST_SNAPSHOT_FORMAT_VERSION,
    SNAPSHOT_FORMAT_VERSION, SNAPSHOT_HEADER_LEN, SNAPSHOT_MAGIC,
};
pub use journal::{
    read_journal, read_journal_bytes, Journal, JournalContents, TornTail, MAX_RECORD_LEN,
    RECORD_HEADER_LEN,
};
pub use layout::{journal_path, prune, snapshot_path};
pub use lock::{lock_dir, DirLock, LOCK_FILE};
pub use recovery::{recover, Recovered, RecoveryReport};
pub use snapshot::{
    encode_payload, read_snapshot, read_snapshot_payload, write_snapshot, write_snapshot_bytes,
    Snapshot, WrittenSnapshot,
};

/// The one bincode configuration for snapshots and journal records; changing it changes the
/// on-disk format (and needs a format version bump and a new golden file).
pub(crate) fn config() -> bincode::config::Configuration {
    bincode::config::standard()
}
