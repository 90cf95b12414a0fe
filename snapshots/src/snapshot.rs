//! Snapshot files: encoding a state, writing it atomically (temp file, fsync, rename, directory
//! fsync, then retention) and reading it back with every check of the header and payload.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use bincode::{Decode, Encode};

use crate::error::{BadHeader, SnapshotError, SnapshotErrorKind as Kind};
use crate::header::{SnapshotHeader, SNAPSHOT_FORMAT_VERSION, SNAPSHOT_HEADER_LEN};
use crate::layout::{self, snapshot_path, sync_dir, temp_path};

/// A snapshot read back from disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot<T> {
    /// The format version in its header: which shape its payload has.
    pub version: u32,
    /// The sequence number in its header: the generation whose journal continues from it.
    pub seq: u64,
    /// The decoded state (or the raw payload, for [`read_snapshot_payload`]).
    pub state: T,
}

/// What [`write_snapshot`] did, so the caller can log it and start journal `seq`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenSnapshot {
    /// The final path of the snapshot file.
    pub(crate) path: PathBuf,
    /// Its sequence number.
    pub seq: u64,
    /// Its size on disk (header plus payload), for metrics.
    pub file_len: u64,
    /// Old snapshots and journals that retention deleted afterwards.
    pub(crate) pruned: Vec<PathBuf>,
}

/// Encodes a state with the crate's bincode configuration (`standard()`). The engine calls this off
/// its actor threads and hands the bytes to [`write_snapshot_bytes`].
///
/// One pass into a growing buffer: `bincode::encode_to_vec` encodes twice (once to size the
/// buffer), which for 10M sticky mappings costs more than the buffer's reallocations (P6).
/// Fails only if a hand-written `Encode` impl does; there is no file yet for the error to name.
pub fn encode_payload<T: Encode>(state: &T) -> Result<Vec<u8>, bincode::error::EncodeError> {
    let mut payload = Vec::new();
    bincode::encode_into_std_write(state, &mut payload, crate::config())?;
    Ok(payload)
}

/// Encodes `state` and writes it as snapshot `seq` in `dir` (see [`write_snapshot_bytes`]).
pub fn write_snapshot<T: Encode>(
    dir: &Path,
    seq: u64,
    state: &T,
) -> Result<WrittenSnapshot, SnapshotError> {
    let payload = encode_payload(state)
        .map_err(|e| SnapshotError::new(&snapshot_path(dir, seq), Kind::Encode(e)))?;
    write_snapshot_bytes(dir, seq, &payload)
}

/// Writes already-encoded `payload` (from [`encode_payload`]) as snapshot `seq` in `dir`, creating
/// `dir` if needed.
///
/// The write is atomic: header and payload go to a temp file in the same directory, which is
/// fsynced, renamed to its final name, and the directory is fsynced; a crash leaves either the
/// previous set of snapshots or the new one, never a partial file under a final name. Then
/// [`crate::prune`] keeps the last two snapshots. `seq` must be non-zero (0 is the empty genesis
/// state) and newer than every snapshot already in `dir`.
pub fn write_snapshot_bytes(
    dir: &Path,
    seq: u64,
    payload: &[u8],
) -> Result<WrittenSnapshot, SnapshotError> {
    let path = snapshot_path(dir, seq);
    if seq == 0 {
        return Err(SnapshotError::new(&path, Kind::ZeroSequence));
    }
    fs::create_dir_all(dir).map_err(SnapshotError::io(dir))?;
    let listing = layout::list(dir).map_err(SnapshotError::io(dir))?;
    if let Some(&newest) = listing.snapshots.keys().next_back() {
        if newest >= seq {
            return Err(SnapshotError::new(
                &path,
                Kind::SequenceNotNewer { seq, newest },
            ));
        }
    }

    let header = SnapshotHeader {
        version: SNAPSHOT_FORMAT_VERSION,
        seq,
        payload_len: payload.len() as u64,
        payload_crc: crc32c::crc32c(payload),
    };
    let tmp = temp_path(dir, seq);
    let written = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        f.write_all(&header.to_bytes())?;
        f.write_all(payload)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, &path)
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(SnapshotError::io(&tmp)(e));
    }
    sync_dir(dir).map_err(SnapshotError::io(dir))?;
    let pruned = layout::prune(dir)?;
    Ok(WrittenSnapshot {
        path,
        seq,
        file_len: (SNAPSHOT_HEADER_LEN + payload.len()) as u64,
        pruned,
    })
}

/// Reads and validates the snapshot at `path` without decoding its payload: checks the length
/// against the header, the magic, the header checksum, the version, the declared payload length
/// against the real file size (before allocating anything of that size) and the payload checksum.
pub fn read_snapshot_payload(path: &Path) -> Result<Snapshot<Vec<u8>>, SnapshotError> {
    let io_err = SnapshotError::io(path);
    let fail = |kind: Kind| SnapshotError::new(path, kind);
    let mut f = File::open(path).map_err(&io_err)?;
    let file_len = f.metadata().map_err(&io_err)?.len();
    if file_len < SNAPSHOT_HEADER_LEN as u64 {
        return Err(fail(BadHeader::Truncated { len: file_len }.into()));
    }
    let mut hb = [0u8; SNAPSHOT_HEADER_LEN];
    f.read_exact(&mut hb).map_err(&io_err)?;
    let header = SnapshotHeader::parse(&hb).map_err(|e| fail(e.into()))?;
    let available = file_len - SNAPSHOT_HEADER_LEN as u64;
    let declared = header.payload_len;
    if declared > available {
        return Err(fail(Kind::LengthExceedsFile {
            declared,
            available,
        }));
    }
    if declared < available {
        return Err(fail(Kind::TrailingBytes {
            declared,
            extra: available - declared,
        }));
    }
    // Bounded by the real file size above, so this never allocates a garbage length.
    let mut payload = vec![0u8; declared as usize];
    f.read_exact(&mut payload).map_err(&io_err)?;
    let computed = crc32c::crc32c(&payload);
    if computed != header.payload_crc {
        return Err(fail(Kind::PayloadChecksumMismatch {
            stored: header.payload_crc,
            computed,
        }));
    }
    Ok(Snapshot {
        version: header.version,
        seq: header.seq,
        state: payload,
    })
}

/// Reads, validates (see [`read_snapshot_payload`]) and decodes the snapshot at `path`, with its
/// format version as the decode context, so a state type can read every version's shape. The
/// whole payload must decode: leftover bytes mean the state type does not match the file.
pub fn read_snapshot<T: Decode<u32>>(path: &Path) -> Result<Snapshot<T>, SnapshotError> {
    let raw = read_snapshot_payload(path)?;
    let (state, used) = bincode::decode_from_slice_with_context::<u32, T, _>(
        &raw.state,
        crate::config(),
        raw.version,
    )
    .map_err(|e| SnapshotError::new(path, Kind::Decode(e)))?;
    if used != raw.state.len() {
        return Err(SnapshotError::new(
            path,
            Kind::PayloadNotFullyDecoded {
                used,
                len: raw.state.len(),
            },
        ));
    }
    Ok(Snapshot {
        version: raw.version,
        seq: raw.seq,
        state,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::SNAPSHOT_MAGIC;

    #[derive(Debug, Clone, PartialEq, Encode, Decode)]
    struct State {
        name: String,
        numbers: Vec<u64>,
    }

    fn state() -> State {
        State {
            name: "pool-a".into(),
            numbers: vec![447700900000, 447700900001, 15551234567],
        }
    }

    fn written(dir: &Path) -> PathBuf {
        write_snapshot(dir, 3, &state()).unwrap().path
    }

    /// Rewrites the header of `path` with `edit` applied and a fresh header checksum, so that a
    /// test reaches the check after the header checksum.
    fn rewrite_header(path: &Path, edit: impl FnOnce(&mut [u8; SNAPSHOT_HEADER_LEN])) {
        let mut bytes = fs::read(path).unwrap();
        let mut h: [u8; SNAPSHOT_HEADER_LEN] = bytes[..SNAPSHOT_HEADER_LEN].try_into().unwrap();
        edit(&mut h);
        let crc = crc32c::crc32c(&h[..32]);
        h[32..].copy_from_slice(&crc.to_le_bytes());
        bytes[..SNAPSHOT_HEADER_LEN].copy_from_slice(&h);
        fs::write(path, bytes).unwrap();
    }

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let w = write_snapshot(dir.path(), 3, &state()).unwrap();
        assert_eq!(w.path, snapshot_path(dir.path(), 3));
        assert_eq!(w.file_len, fs::metadata(&w.path).unwrap().len());
        let s: Snapshot<State> = read_snapshot(&w.path).unwrap();
        assert_eq!(
            s,
            Snapshot {
                version: SNAPSHOT_FORMAT_VERSION,
                seq: 3,
                state: state()
            }
        );
        // No temp file is left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn bytes_variant_matches_typed_variant() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let pa = write_snapshot(a.path(), 1, &state()).unwrap().path;
        let payload = encode_payload(&state()).unwrap();
        let pb = write_snapshot_bytes(b.path(), 1, &payload).unwrap().path;
        assert_eq!(fs::read(pa).unwrap(), fs::read(pb).unwrap());
    }

    #[test]
    fn every_bit_flip_in_header_and_payload_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = written(dir.path());
        let good = fs::read(&path).unwrap();
        for bit in 0..good.len() * 8 {
            let mut bad = good.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            fs::write(&path, &bad).unwrap();
            let err = read_snapshot::<State>(&path).unwrap_err();
            if bit / 8 < SNAPSHOT_HEADER_LEN {
                assert!(
                    matches!(
                        err.kind,
                        // Never "a newer format": that would stop a start a fallback can save.
                        Kind::Header(
                            BadHeader::WrongMagic { .. } | BadHeader::ChecksumMismatch { .. }
                        )
                    ),
                    "bit {bit}: {err}"
                );
            } else {
                assert!(
                    matches!(err.kind, Kind::PayloadChecksumMismatch { .. }),
                    "bit {bit}: {err}"
                );
            }
        }
    }

    #[test]
    fn truncation_at_every_offset_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = written(dir.path());
        let good = fs::read(&path).unwrap();
        for len in 0..good.len() {
            fs::write(&path, &good[..len]).unwrap();
            let err = read_snapshot::<State>(&path).unwrap_err();
            if len < SNAPSHOT_HEADER_LEN {
                assert!(
                    matches!(err.kind, Kind::Header(BadHeader::Truncated { .. })),
                    "len {len}: {err}"
                );
            } else {
                assert!(
                    matches!(err.kind, Kind::LengthExceedsFile { .. }),
                    "len {len}: {err}"
                );
            }
        }
    }

    #[test]
    fn wrong_magic_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = written(dir.path());
        rewrite_header(&path, |h| h[..8].copy_from_slice(b"NOTASNAP"));
        let err = read_snapshot::<State>(&path).unwrap_err();
        assert!(
            matches!(err.kind, Kind::Header(BadHeader::WrongMagic { found }) if &found == b"NOTASNAP"),
            "{err}"
        );
        assert!(err.to_string().contains("snapshot-00000000000000000003.np"));
    }

    #[test]
    fn unknown_version_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = written(dir.path());
        let next = SNAPSHOT_FORMAT_VERSION + 1;
        rewrite_header(&path, |h| h[8..12].copy_from_slice(&next.to_le_bytes()));
        let err = read_snapshot::<State>(&path).unwrap_err();
        assert!(
            matches!(err.kind, Kind::Header(BadHeader::UnsupportedVersion { version, supported }) if version == next && supported == SNAPSHOT_FORMAT_VERSION),
            "{err}"
        );
        assert!(err.to_string().contains(&path.display().to_string()));
    }

    #[test]
    fn oversized_length_is_rejected_without_allocating() {
        let dir = tempfile::tempdir().unwrap();
        let path = written(dir.path());
        // u64::MAX would abort the process if it were allocated.
        rewrite_header(&path, |h| {
            h[20..28].copy_from_slice(&u64::MAX.to_le_bytes())
        });
        let err = read_snapshot::<State>(&path).unwrap_err();
        assert!(
            matches!(
                err.kind,
                Kind::LengthExceedsFile {
                    declared: u64::MAX,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn trailing_bytes_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = written(dir.path());
        let mut bytes = fs::read(&path).unwrap();
        bytes.push(0);
        fs::write(&path, bytes).unwrap();
        assert!(matches!(
            read_snapshot::<State>(&path).map_err(|e| e.kind),
            Err(Kind::TrailingBytes { extra: 1, .. })
        ));
    }

    #[test]
    fn payload_of_another_type_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_snapshot(dir.path(), 1, &(7u8, 9u8)).unwrap().path;
        assert!(matches!(
            read_snapshot::<u8>(&path).map_err(|e| e.kind),
            Err(Kind::PayloadNotFullyDecoded { used: 1, len: 2 })
        ));
        assert!(matches!(
            read_snapshot::<String>(&path).map_err(|e| e.kind),
            Err(Kind::Decode(_))
        ));
    }

    #[test]
    fn io_errors_name_the_file_and_keep_their_cause() {
        let dir = tempfile::tempdir().unwrap();
        let path = snapshot_path(dir.path(), 1);
        let err = read_snapshot::<State>(&path).unwrap_err();
        assert!(matches!(&err.kind, Kind::Io(e) if e.kind() == std::io::ErrorKind::NotFound));
        assert_eq!(err.path, path);
        assert_eq!(
            err.to_string(),
            format!("snapshot {}: I/O error", path.display())
        );
        let cause =
            std::error::Error::source(&err).and_then(|c| c.downcast_ref::<std::io::Error>());
        assert_eq!(cause.map(|e| e.kind()), Some(std::io::ErrorKind::NotFound));
    }

    #[test]
    fn sequence_rules() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            write_snapshot(dir.path(), 0, &1u8).map_err(|e| e.kind),
            Err(Kind::ZeroSequence)
        ));
        write_snapshot(dir.path(), 5, &1u8).unwrap();
        for seq in [4, 5] {
            assert!(matches!(
                write_snapshot(dir.path(), seq, &1u8).map_err(|e| e.kind),
                Err(Kind::SequenceNotNewer { newest: 5, .. })
            ));
        }
    }

    #[test]
    fn retention_keeps_exactly_two_and_their_journals() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::write(crate::journal_path(d, 0), b"").unwrap();
        for seq in 1..=5u64 {
            let w = write_snapshot(d, seq, &seq).unwrap();
            fs::write(crate::journal_path(d, seq), b"").unwrap();
            // Kept: the two newest snapshots and the journals from the older one on. Journal 0
            // (the genesis journal) goes once a second snapshot exists.
            let expected = match seq {
                1 => vec![],
                2 => vec![crate::journal_path(d, 0)],
                _ => vec![snapshot_path(d, seq - 2), crate::journal_path(d, seq - 2)],
            };
            assert_eq!(w.pruned, expected, "seq {seq}");
        }
        let mut names: Vec<_> = fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "journal-00000000000000000004.np",
                "journal-00000000000000000005.np",
                "snapshot-00000000000000000004.np",
                "snapshot-00000000000000000005.np",
            ]
        );
        let magic = &fs::read(snapshot_path(d, 5)).unwrap()[..8];
        assert_eq!(magic, SNAPSHOT_MAGIC);
    }
}
