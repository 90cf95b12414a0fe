//! Error types. A snapshot or journal error is the file it is about plus what went wrong with it
//! ([`SnapshotErrorKind`], [`JournalErrorKind`], and [`BadHeader`] for the header checks both
//! share), so that an operator reading a failed start knows which file to look at and why, and a
//! caller can match on the kind without caring about the path. A message never repeats its cause:
//! an I/O or bincode error stays reachable through [`std::error::Error::source`].

use std::error::Error;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// An error about one file of the data directory.
#[derive(Debug)]
pub struct FileError<K> {
    /// The file (or directory) the failed operation was about: what the operator looks at.
    pub(crate) path: PathBuf,
    /// What went wrong: what a caller matches on.
    pub(crate) kind: K,
}

/// Why a snapshot could not be written or read.
pub type SnapshotError = FileError<SnapshotErrorKind>;
/// Why a journal could not be written or read.
pub type JournalError = FileError<JournalErrorKind>;

/// The kind of an error's file, which names it in the message.
pub trait FileKind: Error {
    /// The first word of the message: "snapshot", "journal" or "lock".
    const FILE: &'static str;
}

impl<K> FileError<K> {
    pub(crate) fn new(path: &Path, kind: impl Into<K>) -> Self {
        Self {
            path: path.to_owned(),
            kind: kind.into(),
        }
    }

    /// For `map_err`: an I/O failure on `path`.
    pub(crate) fn io(path: &Path) -> impl Fn(io::Error) -> Self + '_
    where
        K: From<io::Error>,
    {
        move |source| Self::new(path, source)
    }
}

impl<K: FileKind> fmt::Display for FileError<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", K::FILE, self.path.display(), self.kind)
    }
}

impl<K: FileKind + 'static> Error for FileError<K> {
    /// The kind's cause, not the kind itself: the message already says what the kind says.
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.kind.source()
    }
}

/// A snapshot or journal header that does not validate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadHeader {
    /// The file ends before a whole header (a torn or foreign file). A journal reports it only
    /// when its bytes are not the start of its header, which a crash while creating it leaves.
    #[error("file is {len} bytes, shorter than its header")]
    Truncated {
        /// The actual file length.
        len: u64,
    },
    /// The first eight bytes are not the magic: not a numpool file of this kind at all.
    #[error("wrong magic {found:02x?} (not a numpool file of this kind)")]
    WrongMagic {
        /// The eight bytes found where the magic belongs.
        found: [u8; 8],
    },
    /// The header names a format version this build cannot read (written by a newer numpool).
    #[error("unsupported format version {version} (this build reads version {supported})")]
    UnsupportedVersion {
        /// The version in the header.
        version: u32,
        /// The version this build reads and writes.
        supported: u32,
    },
    /// The header's own CRC32C does not match: one of its fields is damaged.
    #[error("header checksum mismatch (stored {stored:#010x}, computed {computed:#010x})")]
    ChecksumMismatch {
        /// The checksum stored in the header.
        stored: u32,
        /// The checksum computed over the header bytes.
        computed: u32,
    },
    /// The sequence number in the header differs from the one in the file name (a renamed or
    /// copied file).
    #[error("header sequence {in_header} does not match the file name's sequence {in_name}")]
    SequenceMismatch {
        /// The sequence encoded in the file name.
        in_name: u64,
        /// The sequence stored in the header.
        in_header: u64,
    },
}

/// What went wrong with a snapshot file.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotErrorKind {
    /// An operating-system call on the file or its directory failed.
    #[error("I/O error")]
    Io(#[from] io::Error),
    /// The header does not validate.
    #[error(transparent)]
    Header(#[from] BadHeader),
    /// The header's payload length is larger than what the file holds (a truncated file, or a
    /// garbage length field); detected before anything of that size is allocated.
    #[error(
        "header declares a {declared}-byte payload but only {available} bytes follow the header"
    )]
    LengthExceedsFile {
        /// The payload length stored in the header.
        declared: u64,
        /// The bytes actually present after the header.
        available: u64,
    },
    /// Bytes follow the declared payload: the file is longer than its header says.
    #[error("{extra} unexpected bytes after the {declared}-byte payload")]
    TrailingBytes {
        /// The payload length stored in the header.
        declared: u64,
        /// How many bytes follow the payload.
        extra: u64,
    },
    /// The payload's CRC32C does not match the header: the state bytes are damaged.
    #[error("payload checksum mismatch (stored {stored:#010x}, computed {computed:#010x})")]
    PayloadChecksumMismatch {
        /// The checksum stored in the header.
        stored: u32,
        /// The checksum computed over the payload bytes.
        computed: u32,
    },
    /// The payload passed its checksum but is not a valid bincode encoding of the state type (the
    /// state type changed without a format-version bump, or the file belongs to another program).
    #[error("payload does not decode")]
    Decode(#[source] bincode::error::DecodeError),
    /// The payload decoded but did not use all its bytes: the encoding does not match the state type.
    #[error("payload decoded from {used} of its {len} bytes")]
    PayloadNotFullyDecoded {
        /// The bytes the decoder consumed.
        used: usize,
        /// The payload length.
        len: usize,
    },
    /// The state could not be encoded (a hand-written `Encode` impl failed).
    #[error("state does not encode")]
    Encode(#[source] bincode::error::EncodeError),
    /// A snapshot must be newer than every snapshot already in the directory; an older or equal
    /// sequence would be deleted by retention or would replace a good file.
    #[error("sequence {seq} is not newer than existing snapshot {newest}")]
    SequenceNotNewer {
        /// The sequence asked for.
        seq: u64,
        /// The newest sequence already present.
        newest: u64,
    },
    /// Sequence 0 is reserved for the genesis generation (empty state plus journal 0).
    #[error("sequence 0 is reserved for the empty genesis state")]
    ZeroSequence,
}

impl FileKind for SnapshotErrorKind {
    const FILE: &'static str = "snapshot";
}

/// What went wrong with a journal file.
#[derive(Debug, thiserror::Error)]
pub enum JournalErrorKind {
    /// An operating-system call on the file or its directory failed.
    #[error("I/O error")]
    Io(#[from] io::Error),
    /// The header does not validate.
    #[error(transparent)]
    Header(#[from] BadHeader),
    /// A damaged record is followed by valid records: cutting the file there would silently drop
    /// acknowledged mutations, so the journal is reported as corrupt instead.
    #[error("corrupt record at byte {offset} ({fault}) followed by valid records; refusing to drop them")]
    CorruptRecord {
        /// Byte offset of the damaged record's length field.
        offset: u64,
        /// What is wrong with it.
        fault: BadRecord,
    },
    /// A record passed its checksum but is not a valid bincode encoding of the record type.
    #[error("record at byte {offset} does not decode")]
    Decode {
        /// Byte offset of the record's length field.
        offset: u64,
        /// The bincode error.
        source: bincode::error::DecodeError,
    },
    /// A record decoded without using all its bytes: the encoding does not match the record type.
    #[error("record at byte {offset} decoded from {used} of its {len} bytes")]
    RecordNotFullyDecoded {
        /// Byte offset of the record's length field.
        offset: u64,
        /// The bytes the decoder consumed.
        used: usize,
        /// The record's payload length.
        len: usize,
    },
    /// A record to append is empty or larger than [`crate::MAX_RECORD_LEN`]; readers would reject it.
    #[error("record of {len} bytes is outside 1..={max}")]
    RecordLength {
        /// The rejected length.
        len: usize,
        /// The maximum record length.
        max: usize,
    },
    /// The record could not be encoded (a hand-written `Encode` impl failed).
    #[error("record does not encode")]
    Encode(#[source] bincode::error::EncodeError),
    /// An earlier write or sync failed, so the file may end in a partial record; appending more would
    /// turn a torn tail into mid-file corruption. Reopen the journal (which cuts the tail) instead.
    #[error("an earlier write failed; reopen the journal before appending")]
    Poisoned,
    /// `Journal::create` found a file already there; it never overwrites a journal.
    #[error("already exists")]
    AlreadyExists,
}

impl FileKind for JournalErrorKind {
    const FILE: &'static str = "journal";
}

/// What is wrong with a journal record that does not validate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BadRecord {
    /// Fewer bytes remain than a record's length and checksum take.
    #[error("incomplete record header")]
    IncompleteHeader,
    /// The length field is 0 or over [`crate::MAX_RECORD_LEN`].
    #[error("length {len} outside 1..={max}", max = crate::MAX_RECORD_LEN)]
    LengthOutOfRange {
        /// The length field.
        len: usize,
    },
    /// The length field points past the end of the file.
    #[error("length {len} runs past the end of the file")]
    RunsPastEnd {
        /// The length field.
        len: usize,
    },
    /// The payload's CRC32C does not match the record's.
    #[error("checksum mismatch")]
    ChecksumMismatch,
}

/// Why the state could not be recovered from a data directory. Every variant stops the start: the
/// engine never falls back to an empty state when data files exist.
#[derive(Debug, thiserror::Error)]
pub enum RecoverError {
    /// Listing, creating or syncing the data directory (or cleaning a temp file) failed.
    #[error("data directory {}: I/O error", .path.display())]
    Io {
        /// The directory or file the call was about.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// Snapshot files exist but none validates, and there is no genesis journal to rebuild from.
    #[error("data directory {}: no snapshot is readable: {}", .dir.display(), list(.errors))]
    NoReadableSnapshot {
        /// The data directory.
        dir: PathBuf,
        /// Why each snapshot was rejected, newest first.
        errors: Vec<SnapshotError>,
    },
    /// The newest snapshot was written by a newer numpool (unknown format version). Falling back to
    /// an older snapshot would hide a downgrade, and retention would later delete the newer data.
    #[error("data directory {}: refusing to fall back past a snapshot from a newer numpool", .dir.display())]
    NewerSnapshotFormat {
        /// The data directory.
        dir: PathBuf,
        /// The [`BadHeader::UnsupportedVersion`] that stopped recovery.
        source: SnapshotError,
    },
    /// Journals exist but neither a snapshot nor the genesis journal (sequence 0) they build on.
    #[error("data directory {}: journals start at sequence {first} but no snapshot or genesis journal exists", .dir.display())]
    MissingBase {
        /// The data directory.
        dir: PathBuf,
        /// The lowest journal sequence present.
        first: u64,
    },
    /// A journal that a crash cannot have left missing or shorter than its header is so. Journal
    /// `N` is created, its header fsynced, before snapshot `N` is written and before journal
    /// `N+1` is created; once either exists, journal `N` was whole, so it was deleted or
    /// truncated since, and starting without it would silently drop the changes it held.
    #[error("journal {}: {found}, but {} exists, which is only ever written after it; refusing to start without the changes it held", .path.display(), .proof.display())]
    LostJournal {
        /// The journal file.
        path: PathBuf,
        /// What is there instead of a whole journal.
        found: LostJournal,
        /// The newer file that proves the journal was once whole: its generation's snapshot, or a
        /// newer generation's snapshot or journal.
        proof: PathBuf,
    },
    /// A journal that is not the last one ends in a torn record: records in the middle of history
    /// are lost.
    #[error("journal {}: ends in a torn record at byte {offset} but newer generation {newer} follows", .path.display())]
    TornJournalNotLast {
        /// The journal file.
        path: PathBuf,
        /// Byte offset where the torn record starts.
        offset: u64,
        /// The newer generation.
        newer: u64,
    },
    /// A journal file is unreadable or corrupt.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// Another process holds the data directory, or its lock could not be taken.
    #[error(transparent)]
    Lock(#[from] LockError),
}

/// What [`RecoverError::LostJournal`] found where a whole journal belongs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LostJournal {
    /// No file.
    #[error("missing")]
    Missing,
    /// A file shorter than the journal header (0 bytes when emptied).
    #[error("{len} bytes, shorter than its header")]
    Truncated {
        /// The file's length.
        len: u64,
    },
}

/// Why the data directory could not be locked.
pub type LockError = FileError<LockErrorKind>;

/// What went wrong taking the data directory's lock.
#[derive(Debug, thiserror::Error)]
pub enum LockErrorKind {
    /// Opening, locking or writing the lock file failed (a read-only directory, or a file system
    /// without `flock`).
    #[error("I/O error")]
    Io(#[from] io::Error),
    /// Another process holds the lock: a second numpool on the same data directory.
    #[error("held by {}; one numpool process per data directory", holder(*.pid))]
    Held {
        /// The holder's pid as it wrote it in the lock file; `None` if the file does not hold one
        /// yet (the holder is between taking the lock and writing it).
        pid: Option<u32>,
    },
}

impl FileKind for LockErrorKind {
    const FILE: &'static str = "lock";
}

fn holder(pid: Option<u32>) -> String {
    match pid {
        Some(pid) => format!("process {pid}"),
        None => "another process (pid not written yet)".to_owned(),
    }
}

/// Every rejected snapshot with its causes: a list has no single `source` to carry them.
fn list(errors: &[SnapshotError]) -> String {
    errors
        .iter()
        .map(|err| {
            let mut line = err.to_string();
            let mut cause = err.source();
            while let Some(c) = cause {
                line.push_str(&format!(": {c}"));
                cause = c.source();
            }
            line
        })
        .collect::<Vec<_>>()
        .join("; ")
}
