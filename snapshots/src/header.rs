//! Fixed-size file headers of snapshots and journals: their byte layout, their checksums and their
//! validation. Everything is little-endian and hand-laid (not bincode) so that the container stays
//! readable even if the payload encoding changes.
//!
//! Both headers are laid out alike: magic (8 bytes), format version (u32), the file's own fields,
//! and a CRC32C of everything before it (u32). One pair of functions, [`seal`] and [`open`], writes
//! and checks that frame for both; each header only adds its fields.

use std::ops::RangeInclusive;

use crate::error::BadHeader;

/// Magic at the start of every snapshot file.
pub const SNAPSHOT_MAGIC: [u8; 8] = *b"NPSNAPSH";
/// Snapshot format version written by this build. The header's layout is the same in every
/// version; the version tells the payload's decoder which shape it holds (it is the decode
/// context of [`crate::read_snapshot`]). Version 2: owned numbers carry a status. Version 3:
/// and throughput limits (`mps`, `burst`, `daily_new_conversations`). Version 4: pools carry
/// health settings, a type priority and geomatch. Version 5: and opt-outs. Version 6:
/// sticky mappings carry when they were made.
pub const SNAPSHOT_FORMAT_VERSION: u32 = 6;
/// Oldest snapshot format version this build still reads: every released one.
pub const OLDEST_SNAPSHOT_FORMAT_VERSION: u32 = 1;
/// Snapshot header length: magic 8 + version 4 + seq 8 + payload length 8 + payload CRC 4 + header CRC 4.
pub const SNAPSHOT_HEADER_LEN: usize = 36;

/// Magic at the start of every journal file.
pub const JOURNAL_MAGIC: [u8; 8] = *b"NPJOURNL";
/// Journal container version written by this build (and the only one it reads). Records grow
/// compatibly (new record kinds are appended), so the journal's frame has not changed.
pub const JOURNAL_FORMAT_VERSION: u32 = 1;
/// Journal header length: magic 8 + version 4 + seq 8 + header CRC 4.
pub const JOURNAL_HEADER_LEN: usize = 24;

/// Where a header's own fields start: after the magic and the version.
const FIELDS_AT: usize = 12;
/// The header checksum's length, at the very end.
const CRC_LEN: usize = 4;

/// A header of `N` bytes: `magic`, `version`, `fields`, then the CRC32C of all of them.
fn seal<const N: usize>(magic: [u8; 8], version: u32, fields: &[u8]) -> [u8; N] {
    let mut b = [0u8; N];
    b[0..8].copy_from_slice(&magic);
    b[8..FIELDS_AT].copy_from_slice(&version.to_le_bytes());
    b[FIELDS_AT..N - CRC_LEN].copy_from_slice(fields);
    let crc = crc32c::crc32c(&b[..N - CRC_LEN]);
    b[N - CRC_LEN..].copy_from_slice(&crc.to_le_bytes());
    b
}

/// Checks a header's magic, then its checksum, then its version, and returns its own fields.
///
/// The checksum comes before the version so that damage to the version field reads as damage (and
/// recovery falls back to an older snapshot) rather than as "written by a newer numpool" (which
/// stops the start). That order holds only if every format version keeps this frame: magic,
/// version, and a CRC32C of the first `N - 4` bytes in the last four of the first `N`. A newer
/// version may change what lies between them and what follows the header, never the frame.
/// Versions in `versions` are accepted; the one found is returned with the fields.
fn open<const N: usize>(
    b: &[u8; N],
    magic: [u8; 8],
    versions: RangeInclusive<u32>,
) -> Result<(u32, &[u8]), BadHeader> {
    let found: [u8; 8] = b[0..8].try_into().expect("8 bytes");
    if found != magic {
        return Err(BadHeader::WrongMagic { found });
    }
    let stored = le_u32(&b[N - CRC_LEN..]);
    let computed = crc32c::crc32c(&b[..N - CRC_LEN]);
    if stored != computed {
        return Err(BadHeader::ChecksumMismatch { stored, computed });
    }
    let stored_version = le_u32(&b[8..FIELDS_AT]);
    if !versions.contains(&stored_version) {
        return Err(BadHeader::UnsupportedVersion {
            version: stored_version,
            supported: *versions.end(),
        });
    }
    Ok((stored_version, &b[FIELDS_AT..N - CRC_LEN]))
}

/// The decoded, validated fields of a snapshot header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SnapshotHeader {
    /// The format version: which shape the payload has.
    pub(crate) version: u32,
    /// The generation the snapshot starts, checked against the file name.
    pub(crate) seq: u64,
    /// The payload's length, checked against the file's before anything is allocated.
    pub(crate) payload_len: u64,
    /// The payload's CRC32C, which tells a damaged state from a good one.
    pub(crate) payload_crc: u32,
}

impl SnapshotHeader {
    pub(crate) fn to_bytes(self) -> [u8; SNAPSHOT_HEADER_LEN] {
        let mut fields = [0u8; SNAPSHOT_HEADER_LEN - FIELDS_AT - CRC_LEN];
        fields[0..8].copy_from_slice(&self.seq.to_le_bytes());
        fields[8..16].copy_from_slice(&self.payload_len.to_le_bytes());
        fields[16..20].copy_from_slice(&self.payload_crc.to_le_bytes());
        seal(SNAPSHOT_MAGIC, self.version, &fields)
    }

    /// Validates the header (see [`open`]) and returns its fields.
    pub(crate) fn parse(b: &[u8; SNAPSHOT_HEADER_LEN]) -> Result<Self, BadHeader> {
        let (version, fields) = open(
            b,
            SNAPSHOT_MAGIC,
            OLDEST_SNAPSHOT_FORMAT_VERSION..=SNAPSHOT_FORMAT_VERSION,
        )?;
        Ok(Self {
            version,
            seq: le_u64(&fields[0..8]),
            payload_len: le_u64(&fields[8..16]),
            payload_crc: le_u32(&fields[16..20]),
        })
    }
}

/// The header every journal file starts with; it depends only on the sequence number.
pub(crate) fn journal_header(seq: u64) -> [u8; JOURNAL_HEADER_LEN] {
    seal(JOURNAL_MAGIC, JOURNAL_FORMAT_VERSION, &seq.to_le_bytes())
}

/// Validates a journal header (see [`open`]) against the sequence number in the file's name.
pub(crate) fn check_journal_header(
    b: &[u8; JOURNAL_HEADER_LEN],
    in_name: u64,
) -> Result<(), BadHeader> {
    let versions = JOURNAL_FORMAT_VERSION..=JOURNAL_FORMAT_VERSION;
    let in_header = le_u64(open(b, JOURNAL_MAGIC, versions)?.1);
    if in_header != in_name {
        return Err(BadHeader::SequenceMismatch { in_name, in_header });
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
            version: SNAPSHOT_FORMAT_VERSION,
            seq: 42,
            payload_len: 7,
            payload_crc: 0xdead_beef,
        };
        let b = h.to_bytes();
        assert_eq!(SnapshotHeader::parse(&b).unwrap(), h);
    }

    #[test]
    fn every_snapshot_header_bit_flip_is_caught() {
        let b = SnapshotHeader {
            version: SNAPSHOT_FORMAT_VERSION,
            seq: 42,
            payload_len: 7,
            payload_crc: 1,
        }
        .to_bytes();
        for bit in 0..SNAPSHOT_HEADER_LEN * 8 {
            let mut c = b;
            c[bit / 8] ^= 1 << (bit % 8);
            assert!(SnapshotHeader::parse(&c).is_err(), "bit {bit}");
        }
    }

    #[test]
    fn a_flipped_version_bit_is_damage_not_a_newer_format() {
        let good = SnapshotHeader {
            version: SNAPSHOT_FORMAT_VERSION,
            seq: 42,
            payload_len: 7,
            payload_crc: 1,
        }
        .to_bytes();
        for bit in 8 * 8..FIELDS_AT * 8 {
            let mut c = good;
            c[bit / 8] ^= 1 << (bit % 8);
            assert!(
                matches!(
                    SnapshotHeader::parse(&c),
                    Err(BadHeader::ChecksumMismatch { .. })
                ),
                "bit {bit}"
            );
            let mut j = journal_header(9);
            j[bit / 8] ^= 1 << (bit % 8);
            assert!(
                matches!(
                    check_journal_header(&j, 9),
                    Err(BadHeader::ChecksumMismatch { .. })
                ),
                "journal bit {bit}"
            );
        }
        // A newer numpool seals its header: that is still a newer format.
        let next = SNAPSHOT_FORMAT_VERSION + 1;
        let newer = seal::<SNAPSHOT_HEADER_LEN>(SNAPSHOT_MAGIC, next, &good[FIELDS_AT..32]);
        assert!(matches!(
            SnapshotHeader::parse(&newer),
            Err(BadHeader::UnsupportedVersion { version, .. }) if version == next
        ));
        // Every older version is still read, and says which it is.
        for old in OLDEST_SNAPSHOT_FORMAT_VERSION..SNAPSHOT_FORMAT_VERSION {
            let older = seal::<SNAPSHOT_HEADER_LEN>(SNAPSHOT_MAGIC, old, &good[FIELDS_AT..32]);
            assert_eq!(SnapshotHeader::parse(&older).unwrap().version, old);
        }
    }

    #[test]
    fn journal_header_checks_sequence_and_bits() {
        let b = journal_header(9);
        check_journal_header(&b, 9).unwrap();
        assert!(matches!(
            check_journal_header(&b, 8),
            Err(BadHeader::SequenceMismatch { in_header: 9, .. })
        ));
        for bit in 0..JOURNAL_HEADER_LEN * 8 {
            let mut c = b;
            c[bit / 8] ^= 1 << (bit % 8);
            assert!(check_journal_header(&c, 9).is_err(), "bit {bit}");
        }
    }
}
