//! Error types, one enum per job (snapshot files, journal files, recovery), each variant named after
//! what went wrong and each message naming the file, so that an operator reading a failed start knows
//! which file to look at and why.

use std::io;
use std::path::PathBuf;

/// Why a snapshot could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// An operating-system call on a snapshot file or its directory failed.
    #[error("snapshot {}: I/O error: {source}", .path.display())]
    Io {
        /// The file or directory the call was about.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The file ends before a whole header could be read (a torn or foreign file).
    #[error("snapshot {}: file is {len} bytes, shorter than the {header_len}-byte header", .path.display())]
    TooShortForHeader {
        /// The snapshot file.
        path: PathBuf,
        /// The actual file length.
        len: u64,
        /// How many bytes a header needs.
        header_len: u64,
    },
    /// The first eight bytes are not the snapshot magic: not a numpool snapshot at all.
    #[error("snapshot {}: wrong magic {found:02x?} (not a numpool snapshot file)", .path.display())]
    WrongMagic {
        /// The snapshot file.
        path: PathBuf,
        /// The eight bytes found where the magic belongs.
        found: [u8; 8],
    },
    /// The header names a format version this build cannot read (written by a newer numpool).
    #[error("snapshot {}: unsupported format version {version} (this build reads version {supported})", .path.display())]
    UnsupportedVersion {
        /// The snapshot file.
        path: PathBuf,
        /// The version in the header.
        version: u32,
        /// The version this build reads and writes.
        supported: u32,
    },
    /// The header's own CRC32C does not match: a header field (sequence, length, checksum) is damaged.
    #[error("snapshot {}: header checksum mismatch (stored {stored:#010x}, computed {computed:#010x})", .path.display())]
    HeaderChecksumMismatch {
        /// The snapshot file.
        path: PathBuf,
        /// The checksum stored in the header.
        stored: u32,
        /// The checksum computed over the header bytes.
        computed: u32,
    },
    /// The header's payload length is larger than what the file holds (a truncated file, or a
    /// garbage length field); detected before anything of that size is allocated.
    #[error("snapshot {}: header declares a {declared}-byte payload but only {available} bytes follow the header", .path.display())]
    LengthExceedsFile {
        /// The snapshot file.
        path: PathBuf,
        /// The payload length stored in the header.
        declared: u64,
        /// The bytes actually present after the header.
        available: u64,
    },
    /// Bytes follow the declared payload: the file is longer than its header says.
    #[error("snapshot {}: {extra} unexpected bytes after the {declared}-byte payload", .path.display())]
    TrailingBytes {
        /// The snapshot file.
        path: PathBuf,
        /// The payload length stored in the header.
        declared: u64,
        /// How many bytes follow the payload.
        extra: u64,
    },
    /// The payload's CRC32C does not match the header: the state bytes are damaged.
    #[error("snapshot {}: payload checksum mismatch (stored {stored:#010x}, computed {computed:#010x})", .path.display())]
    PayloadChecksumMismatch {
        /// The snapshot file.
        path: PathBuf,
        /// The checksum stored in the header.
        stored: u32,
        /// The checksum computed over the payload bytes.
        computed: u32,
    },
    /// The payload passed its checksum but is not a valid bincode encoding of the state type (the
    /// state type changed without a format-version bump, or the file belongs to another program).
    #[error("snapshot {}: payload does not decode: {source}", .path.display())]
    Decode {
        /// The snapshot file.
        path: PathBuf,
        /// The bincode error.
        source: bincode::error::DecodeError,
    },
    /// The payload decoded but did not use all its bytes: the encoding does not match the state type.
    #[error("snapshot {}: payload decoded from {used} of its {len} bytes", .path.display())]
    PayloadNotFullyDecoded {
        /// The snapshot file.
        path: PathBuf,
        /// The bytes the decoder consumed.
        used: usize,
        /// The payload length.
        len: usize,
    },
    /// The sequence number in the header differs from the one in the file name (a renamed or copied file).
    #[error("snapshot {}: header sequence {in_header} does not match the file name's sequence {in_name}", .path.display())]
    SequenceMismatch {
        /// The snapshot file.
        path: PathBuf,
        /// The sequence encoded in the file name.
        in_name: u64,
        /// The sequence stored in the header.
        in_header: u64,
    },
    /// The state could not be encoded (a hand-written `Encode` impl failed).
    #[error("snapshot: state does not encode: {0}")]
    Encode(#[from] bincode::error::EncodeError),
    /// A snapshot must be newer than every snapshot already in the directory; an older or equal
    /// sequence would be deleted by retention or would replace a good file.
    #[error("snapshot {}: sequence {seq} is not newer than existing snapshot {newest}", .path.display())]
    SequenceNotNewer {
        /// The snapshot file that was about to be written.
        path: PathBuf,
        /// The sequence asked for.
        seq: u64,
        /// The newest sequence already present.
        newest: u64,
    },
    /// Sequence 0 is reserved for the genesis generation (empty state plus journal 0).
    #[error("snapshot {}: sequence 0 is reserved for the empty genesis state", .path.display())]
    ZeroSequence {
        /// The snapshot file that was about to be written.
        path: PathBuf,
    },
}

/// Why a journal could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// An operating-system call on a journal file or its directory failed.
    #[error("journal {}: I/O error: {source}", .path.display())]
    Io {
        /// The file or directory the call was about.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The file's header is not a numpool journal header (wrong magic, damaged, foreign file).
    #[error("journal {}: wrong magic {found:02x?} (not a numpool journal file)", .path.display())]
    WrongMagic {
        /// The journal file.
        path: PathBuf,
        /// The bytes found where the magic belongs.
        found: [u8; 8],
    },
    /// The header names a format version this build cannot read.
    #[error("journal {}: unsupported format version {version} (this build reads version {supported})", .path.display())]
    UnsupportedVersion {
        /// The journal file.
        path: PathBuf,
        /// The version in the header.
        version: u32,
        /// The version this build reads and writes.
        supported: u32,
    },
    /// The header's CRC32C does not match.
    #[error("journal {}: header checksum mismatch (stored {stored:#010x}, computed {computed:#010x})", .path.display())]
    HeaderChecksumMismatch {
        /// The journal file.
        path: PathBuf,
        /// The checksum stored in the header.
        stored: u32,
        /// The checksum computed over the header bytes.
        computed: u32,
    },
    /// A short file that is not the beginning of a valid header (so not a torn creation either).
    #[error("journal {}: {len}-byte file is not a journal header", .path.display())]
    DamagedHeader {
        /// The journal file.
        path: PathBuf,
        /// The file length.
        len: u64,
    },
    /// The sequence in the header differs from the one in the file name.
    #[error("journal {}: header sequence {in_header} does not match the file name's sequence {in_name}", .path.display())]
    SequenceMismatch {
        /// The journal file.
        path: PathBuf,
        /// The sequence encoded in the file name.
        in_name: u64,
        /// The sequence stored in the header.
        in_header: u64,
    },
    /// A damaged record is followed by valid records: cutting the file there would silently drop
    /// acknowledged mutations, so the journal is reported as corrupt instead.
    #[error("journal {}: corrupt record at byte {offset} ({reason}) followed by valid records; refusing to drop them", .path.display())]
    CorruptRecord {
        /// The journal file.
        path: PathBuf,
        /// Byte offset of the damaged record's length field.
        offset: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// A record passed its checksum but is not a valid bincode encoding of the record type.
    #[error("journal {}: record at byte {offset} does not decode: {source}", .path.display())]
    Decode {
        /// The journal file.
        path: PathBuf,
        /// Byte offset of the record's length field.
        offset: u64,
        /// The bincode error.
        source: bincode::error::DecodeError,
    },
    /// A record decoded without using all its bytes: the encoding does not match the record type.
    #[error("journal {}: record at byte {offset} decoded from {used} of its {len} bytes", .path.display())]
    RecordNotFullyDecoded {
        /// The journal file.
        path: PathBuf,
        /// Byte offset of the record's length field.
        offset: u64,
        /// The bytes the decoder consumed.
        used: usize,
        /// The record's payload length.
        len: usize,
    },
    /// A record to append is empty or larger than [`crate::MAX_RECORD_LEN`]; readers would reject it.
    #[error("journal {}: record of {len} bytes is outside 1..={max}", .path.display())]
    RecordLength {
        /// The journal file.
        path: PathBuf,
        /// The rejected length.
        len: usize,
        /// The maximum record length.
        max: usize,
    },
    /// The record could not be encoded (a hand-written `Encode` impl failed).
    #[error("journal {}: record does not encode: {source}", .path.display())]
    Encode {
        /// The journal file.
        path: PathBuf,
        /// The bincode error.
        source: bincode::error::EncodeError,
    },
    /// An earlier write or sync failed, so the file may end in a partial record; appending more would
    /// turn a torn tail into mid-file corruption. Reopen the journal (which cuts the tail) instead.
    #[error("journal {}: an earlier write failed; reopen the journal before appending", .path.display())]
    Poisoned {
        /// The journal file.
        path: PathBuf,
    },
    /// `Journal::create` found a file already there; it never overwrites a journal.
    #[error("journal {}: already exists", .path.display())]
    AlreadyExists {
        /// The journal file.
        path: PathBuf,
    },
}

/// Why the state could not be recovered from a data directory. Every variant stops the start: the
/// engine never falls back to an empty state when data files exist.
#[derive(Debug, thiserror::Error)]
pub enum RecoverError {
    /// Listing, creating or syncing the data directory (or cleaning a temp file) failed.
    #[error("data directory {}: I/O error: {source}", .path.display())]
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
    #[error("data directory {}: {source}; refusing to fall back past a snapshot from a newer numpool", .dir.display())]
    NewerSnapshotFormat {
        /// The data directory.
        dir: PathBuf,
        /// The [`SnapshotError::UnsupportedVersion`] that stopped recovery.
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
    /// A journal needed to get from the usable snapshot to newer generations is missing, so the
    /// records between them are lost.
    #[error("data directory {}: journal {seq} is missing but newer generation {newer} exists", .dir.display())]
    MissingJournal {
        /// The data directory.
        dir: PathBuf,
        /// The missing journal's sequence.
        seq: u64,
        /// The newer generation that proves records were written after it.
        newer: u64,
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
}

fn list(errors: &[SnapshotError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
