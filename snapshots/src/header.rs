//! Fixed-size file headers of snapshots and journals: their byte layout, their checksums and their
//! validation. Everything is little-endian and hand-laid (not bincode) so that the container stays
//! readable even if the payload encoding changes.

use std::path::Path;

use crate::error::{JournalError, SnapshotError};

/// Magic at the start of every snapshot file.
pub const SNAPSHOT_MAGIC: [u8; 8] = *b"NPSNAPSH";
/// Snapshot container version written by this build (and the only one it reads).
pub const SNAPSHOT_FORMAT_VERSION: u32 = 1;
/// Snapshot header length: magic 8 + version 4 + seq 8 + payload length 8 + payload CRC 4 + header CRC 4.
pub const SNAPSHOT_HEADER_LEN: usize = 36;

/// Magic at the start of every journal file.
pub const JOURNAL_MAGIC: [u8; 8] = *b"NPJOURNL";
/// Journal container version written by this build (and the only one it reads).
pub const JOURNAL_FORMAT_VERSION: u32 = 1;
/// Journal header length: magic 8 + version 4 + seq 8 + header CRC 4.
pub const JOURNAL_HEADER_LEN: usize = 24;

/// The decoded, validated fields of a snapshot header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SnapshotHeader {
    pub(crate) seq: u64,
    pub(crate) payload_len: u64,
    pub(crate) payload_crc: u32,
}

impl SnapshotHeader {
    pub(crate) fn to_bytes(self) -> [u8; SNAPSHOT_HEADER_LEN] {
        let mut b = [0u8; SNAPSHOT_HEADER_LEN];
        b[0..8].copy_from_slice(&SNAPSHOT_MAGIC);
        b[8..12].copy_from_slice(&SNAPSHOT_FORMAT_VERSION.to_le_bytes());
        b[12..20].copy_from_slice(&self.seq.to_le_bytes());
        b[20..28].copy_from_slice(&self.payload_len.to_le_bytes());
        b[28..32].copy_from_slice(&self.payload_crc.to_le_bytes());
        let crc = crc32c::crc32c(&b[0..32]);
        b[32..36].copy_from_slice(&crc.to_le_bytes());
        b
    }

    /// Checks magic, then version (a newer version may lay out the rest differently), then the
    /// header checksum, and returns the fields.
    pub fn parse(b: &[u8; SNAPSHOT_HEADER_LEN], path: &Path) -> Result<Self, SnapshotError> {
        let magic: [u8; 8] = b[0..8].try_into().expect("8 bytes");
        if magic != SNAPSHOT_MAGIC {
            return Err(SnapshotError::WrongMagic {
                path: path.to_owned(),
                found: magic,
            });
        }
        let version = le_u32(&b[8..12]);
        if version != SNAPSHOT_FORMAT_VERSION {
            return Err(SnapshotError::UnsupportedVersion {
                path: path.to_owned(),
                version,
                supported: SNAPSHOT_FORMAT_VERSION,
            });
        }
        let stored = le_u32(&b[32..36]);
        let computed = crc32c::crc32c(&b[0..32]);
        if stored != computed {
            return Err(SnapshotError::HeaderChecksumMismatch {
                path: path.to_owned(),
                stored,
                computed,
            });
        }
        Ok(Self {
            seq: le_u64(&b[12..20]),
            payload_len: le_u64(&b[20..28]),
            payload_crc: le_u32(&b[28..32]),
        })
    }
}

/// The header every journal file starts with; it depends only on the sequence number.
pub(crate) fn journal_header(seq: u64) -> [u8; JOURNAL_HEADER_LEN] {
    let mut b = [0u8; JOURNAL_HEADER_LEN];
    b[0..8].copy_from_slice(&JOURNAL_MAGIC);
    b[8..12].copy_from_slice(&JOURNAL_FORMAT_VERSION.to_le_bytes());
    b[12..20].copy_from_slice(&seq.to_le_bytes());
    let crc = crc32c::crc32c(&b[0..20]);
    b[20..24].copy_from_slice(&crc.to_le_bytes());
    b
}

/// Validates a journal header against the sequence number in the file's name.
pub(crate) fn check_journal_header(
    b: &[u8; JOURNAL_HEADER_LEN],
    expected_seq: u64,
    path: &Path,
) -> Result<(), JournalError> {
    let magic: [u8; 8] = b[0..8].try_into().expect("8 bytes");
    if magic != JOURNAL_MAGIC {
        return Err(JournalError::WrongMagic {
            path: path.to_owned(),
            found: magic,
        });
    }
    let version = le_u32(&b[8..12]);
    if version != JOURNAL_FORMAT_VERSION {
        return Err(JournalError::UnsupportedVersion {
            path: path.to_owned(),
            version,
            supported: JOURNAL_FORMAT_VERSION,
        });
    }
    let stored = le_u32(&b[20..24]);
    let computed = crc32c::crc32c(&b[0..20]);
    if stored != computed {
        return Err(JournalError::HeaderChecksumMismatch {
            path: path.to_owned(),
            stored,
            computed,
        });
    }
    let in_header = le_u64(&b[12..20]);
    if in_header != expected_seq {
        return Err(JournalError::SequenceMismatch {
            path: path.to_owned(),
            in_name: expected_seq,
            in_header,
        });
    }
    Ok(())
}

pub(crate) fn le_u32(b: &[u8]) -> u32 {
    u32::from_le_bytes(b[..4].try_into().expect("4 bytes"))
}

pub(crate) fn le_u64(b: &[u8]) -> u64 {
    u64::from_le_bytes(b[..8].try_into().expect("8 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_header_round_trips() {
        let h = SnapshotHeader {
            seq: 42,
            payload_len: 7,
            payload_crc: 0xdead_beef,
        };
        let b = h.to_bytes();
        assert_eq!(SnapshotHeader::parse(&b, Path::new("x")).unwrap(), h);
    }

    #[test]
    fn every_snapshot_header_bit_flip_is_caught() {
        let b = SnapshotHeader {
            seq: 42,
            payload_len: 7,
            payload_crc: 1,
        }
        .to_bytes();
        for bit in 0..SNAPSHOT_HEADER_LEN * 8 {
            let mut c = b;
            c[bit / 8] ^= 1 << (bit % 8);
            assert!(
                SnapshotHeader::parse(&c, Path::new("x")).is_err(),
                "bit {bit}"
            );
        }
    }

    #[test]
    fn journal_header_checks_sequence_and_bits() {
        let b = journal_header(9);
        check_journal_header(&b, 9, Path::new("j")).unwrap();
        assert!(matches!(
            check_journal_header(&b, 8, Path::new("j")),
            Err(JournalError::SequenceMismatch { in_header: 9, .. })
        ));
        for bit in 0..JOURNAL_HEADER_LEN * 8 {
            let mut c = b;
            c[bit / 8] ^= 1 << (bit % 8);
            assert!(
                check_journal_header(&c, 9, Path::new("j")).is_err(),
                "bit {bit}"
            );
        }
    }
}
