//! The journal: one append-only file per snapshot generation (journal N holds the records written
//! after snapshot N), a 24-byte header naming its sequence, then records
//! `[u32 LE payload length][u32 LE CRC32C of payload][payload]`.
//!
//! Reading tells a torn tail from corruption. A record is bad if its length is 0 or over
//! [`MAX_RECORD_LEN`], if it runs past the end of the file, or if its CRC does not match. A bad
//! record with no valid record anywhere after it (checked at every byte offset) is a torn final
//! write: the records before it are the journal's content and `Journal::open` cuts the file
//! there. A bad record followed by a valid one is corruption in the middle of history:
//! [`JournalErrorKind::CorruptRecord`](Kind::CorruptRecord), never a silent cut. A zero-filled
//! tail (what some filesystems leave after a crash) reads as torn, because length 0 is never
//! valid.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};

use bincode::{Decode, Encode};

use crate::error::{BadHeader, BadRecord, JournalError, JournalErrorKind as Kind};
use crate::header::{check_journal_header, journal_header, le_u32, JOURNAL_HEADER_LEN};
use crate::layout::{journal_path, sync_dir};

/// Largest record payload accepted, written or read: a garbage length field beyond it is rejected
/// instead of being trusted (a mutation record is tens of bytes; 16 MiB leaves ample room).
pub const MAX_RECORD_LEN: usize = 16 << 20;
/// Bytes before each record's payload: length and CRC32C.
pub const RECORD_HEADER_LEN: usize = 8;
const WRITE_BUFFER: usize = 64 << 10;
const SCRATCH_KEEP: usize = 1 << 20;

/// An open journal file, positioned after its last good record, to which records are appended.
///
/// Appends are buffered; [`Journal::flush`] hands them to the OS and [`Journal::sync`] makes them
/// durable. Dropping a journal flushes but does not sync: call `sync` at shutdown.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    seq: u64,
    out: BufWriter<File>,
    size: u64,
    synced_size: u64,
    scratch: Vec<u8>,
    poisoned: bool,
}

/// Where a journal's torn final record starts and how much was (or would be) cut off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TornTail {
    /// Byte offset of the first byte that is not part of a good record (the torn record's start,
    /// or 0 when even the file header is incomplete).
    pub(crate) offset: u64,
    /// How many bytes follow that offset.
    pub(crate) len: u64,
    /// How many records start in those bytes (following their length fields): the appends that
    /// did not wholly reach the disk. 0 for a zero-filled or garbage tail or a torn file header.
    pub(crate) records: u64,
}

impl TornTail {
    /// Byte offset where the cut starts.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Bytes cut.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing is cut (never, for a tail recovery reports).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Records that started in the cut bytes.
    pub fn records(&self) -> u64 {
        self.records
    }
}

/// The good content of a journal file, as read by [`read_journal`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalContents<R> {
    /// The records, in append order.
    pub records: Vec<R>,
    /// The length of the good prefix (header and whole records): where appending resumes.
    pub(crate) valid_len: u64,
    /// The torn final record, if any; reported so the caller can log the loss of unsynced writes.
    pub torn: Option<TornTail>,
}

/// A journal file parsed into record ranges, before decoding.
#[derive(Debug)]
pub(crate) struct Scan {
    pub(crate) data: Vec<u8>,
    /// (offset of the record's length field, payload range) per good record.
    pub records: Vec<(u64, Range<usize>)>,
    pub(crate) valid_len: u64,
    pub torn: Option<TornTail>,
    /// The file is shorter than its header (a crash during creation): appending must rewrite it.
    pub(crate) header_incomplete: bool,
}

/// Length of the valid record at `at`, if one starts there.
fn valid_record_at(data: &[u8], at: usize) -> Option<usize> {
    let hdr = data.get(at..at.checked_add(RECORD_HEADER_LEN)?)?;
    let len = le_u32(&hdr[0..4]) as usize;
    if len == 0 || len > MAX_RECORD_LEN {
        return None;
    }
    let start = at + RECORD_HEADER_LEN;
    let payload = data.get(start..start.checked_add(len)?)?;
    (crc32c::crc32c(payload) == le_u32(&hdr[4..8])).then_some(len)
}

/// The first offset after the bad record at `bad` where a valid record starts. The position the
/// bad record's own length points at is tried first (a damaged payload), then every byte (a damaged
/// length field).
fn valid_record_after(data: &[u8], bad: usize) -> Option<usize> {
    if data.len() >= bad + RECORD_HEADER_LEN {
        let claimed = le_u32(&data[bad..bad + 4]) as usize;
        let next = bad + RECORD_HEADER_LEN + claimed;
        if claimed > 0 && valid_record_at(data, next).is_some() {
            return Some(next);
        }
    }
    (bad + 1..data.len()).find(|&at| valid_record_at(data, at).is_some())
}

/// How many records start at or after the torn record at `at`, following each length field while
/// it is in range; a fragment too short for a length field counts as one unless it is zeros.
fn records_started(data: &[u8], mut at: usize) -> u64 {
    let mut records = 0;
    while at < data.len() {
        let Some(field) = data.get(at..at + 4) else {
            if data[at..].iter().any(|&b| b != 0) {
                records += 1;
            }
            break;
        };
        let len = le_u32(field) as usize;
        if len == 0 || len > MAX_RECORD_LEN {
            break;
        }
        records += 1;
        at += RECORD_HEADER_LEN + len;
    }
    records
}

fn why_bad(data: &[u8], at: usize) -> BadRecord {
    if data.len() < at + RECORD_HEADER_LEN {
        return BadRecord::IncompleteHeader;
    }
    let len = le_u32(&data[at..at + 4]) as usize;
    if len == 0 || len > MAX_RECORD_LEN {
        BadRecord::LengthOutOfRange { len }
    } else if data.len() - at - RECORD_HEADER_LEN < len {
        BadRecord::RunsPastEnd { len }
    } else {
        BadRecord::ChecksumMismatch
    }
}

/// Reads and splits the journal file at `path` (whose name says `seq`).
pub(crate) fn scan(path: &Path, seq: u64) -> Result<Scan, JournalError> {
    let data = fs::read(path).map_err(JournalError::io(path))?;
    if data.len() < JOURNAL_HEADER_LEN {
        // A crash while creating the file leaves a prefix of the (deterministic) header.
        if data[..] != journal_header(seq)[..data.len()] {
            let len = data.len() as u64;
            return Err(JournalError::new(path, BadHeader::Truncated { len }));
        }
        let torn = (!data.is_empty()).then_some(TornTail {
            offset: 0,
            len: data.len() as u64,
            records: 0,
        });
        return Ok(Scan {
            data,
            records: Vec::new(),
            valid_len: 0,
            torn,
            header_incomplete: true,
        });
    }
    let header: &[u8; JOURNAL_HEADER_LEN] = data[..JOURNAL_HEADER_LEN].try_into().expect("len");
    check_journal_header(header, seq).map_err(|e| JournalError::new(path, e))?;

    let mut records = Vec::new();
    let mut at = JOURNAL_HEADER_LEN;
    let mut torn = None;
    while at < data.len() {
        match valid_record_at(&data, at) {
            Some(len) => {
                let start = at + RECORD_HEADER_LEN;
                records.push((at as u64, start..start + len));
                at = start + len;
            }
            None => {
                if valid_record_after(&data, at).is_some() {
                    return Err(JournalError::new(
                        path,
                        Kind::CorruptRecord {
                            offset: at as u64,
                            fault: why_bad(&data, at),
                        },
                    ));
                }
                torn = Some(TornTail {
                    offset: at as u64,
                    len: (data.len() - at) as u64,
                    records: records_started(&data, at),
                });
                break;
            }
        }
    }
    Ok(Scan {
        valid_len: at as u64,
        data,
        records,
        torn,
        header_incomplete: false,
    })
}

impl Scan {
    /// Decodes every record as `R`; each must use its whole payload.
    pub(crate) fn decode<R: Decode<()>>(&self, path: &Path) -> Result<Vec<R>, JournalError> {
        self.records
            .iter()
            .map(|(offset, range)| {
                let bytes = &self.data[range.clone()];
                let offset = *offset;
                let (rec, used) = bincode::decode_from_slice::<R, _>(bytes, crate::config())
                    .map_err(|source| JournalError::new(path, Kind::Decode { offset, source }))?;
                if used != bytes.len() {
                    let len = bytes.len();
                    let kind = Kind::RecordNotFullyDecoded { offset, used, len };
                    return Err(JournalError::new(path, kind));
                }
                Ok(rec)
            })
            .collect()
    }
}

/// Reads journal `seq` in `dir` without changing it: the good records (decoded as `R`) and the
/// torn tail, if any. A bad record followed by valid ones is
/// [`JournalErrorKind::CorruptRecord`](Kind::CorruptRecord).
pub fn read_journal<R: Decode<()>>(
    dir: &Path,
    seq: u64,
) -> Result<JournalContents<R>, JournalError> {
    let path = journal_path(dir, seq);
    let scan = scan(&path, seq)?;
    Ok(JournalContents {
        records: scan.decode(&path)?,
        valid_len: scan.valid_len,
        torn: scan.torn,
    })
}

/// Like [`read_journal`], returning each record's raw payload bytes.
pub fn read_journal_bytes(dir: &Path, seq: u64) -> Result<JournalContents<Vec<u8>>, JournalError> {
    let path = journal_path(dir, seq);
    let scan = scan(&path, seq)?;
    Ok(JournalContents {
        records: scan
            .records
            .iter()
            .map(|(_, r)| scan.data[r.clone()].to_vec())
            .collect(),
        valid_len: scan.valid_len,
        torn: scan.torn,
    })
}

impl Journal {
    /// Creates journal `seq` in `dir` (which must exist) with its header, fsyncs the file and the
    /// directory. Fails with [`JournalErrorKind::AlreadyExists`](Kind::AlreadyExists) rather than
    /// overwrite a journal; a header it cannot write leaves no file behind.
    pub fn create(dir: &Path, seq: u64) -> Result<Self, JournalError> {
        let path = journal_path(dir, seq);
        let mut file = match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(JournalError::new(&path, Kind::AlreadyExists))
            }
            Err(e) => return Err(JournalError::io(&path)(e)),
        };
        let written = file
            .write_all(&journal_header(seq))
            .and_then(|()| file.sync_all());
        if let Err(err) = written {
            // The file is ours (`create_new`): a half-made journal would look like damage to
            // recovery and block the next try, so it goes (a full disk is the usual cause).
            drop(file);
            let _ = fs::remove_file(&path);
            return Err(JournalError::io(&path)(err));
        }
        sync_dir(dir).map_err(JournalError::io(dir))?;
        Ok(Self::wrap(path, seq, file, JOURNAL_HEADER_LEN as u64))
    }

    /// Opens existing journal `seq` in `dir` for appending: validates it, cuts a torn final record
    /// off (truncating the file to the last good record, then fsyncing) and positions after it.
    /// Mid-file corruption is [`JournalErrorKind::CorruptRecord`](Kind::CorruptRecord).
    /// Recovery scans first and calls [`Journal::open_scanned`]; this is that pair for the
    /// tests.
    #[cfg(test)]
    pub(crate) fn open(dir: &Path, seq: u64) -> Result<Self, JournalError> {
        let path = journal_path(dir, seq);
        let scan = scan(&path, seq)?;
        Self::open_scanned(path, seq, &scan)
    }

    /// Opens for appending a journal that has just been scanned (recovery scans once, not twice).
    pub(crate) fn open_scanned(path: PathBuf, seq: u64, scan: &Scan) -> Result<Self, JournalError> {
        let opened = (|| -> io::Result<(File, u64)> {
            let mut file = OpenOptions::new().write(true).open(&path)?;
            let end = if scan.header_incomplete {
                file.set_len(0)?;
                file.write_all(&journal_header(seq))?;
                file.sync_all()?;
                JOURNAL_HEADER_LEN as u64
            } else {
                if scan.torn.is_some() {
                    file.set_len(scan.valid_len)?;
                    file.sync_all()?;
                }
                scan.valid_len
            };
            file.seek(SeekFrom::Start(end))?;
            Ok((file, end))
        })();
        let (file, end) = opened.map_err(JournalError::io(&path))?;
        Ok(Self::wrap(path, seq, file, end))
    }

    fn wrap(path: PathBuf, seq: u64, file: File, size: u64) -> Self {
        Self {
            path,
            seq,
            out: BufWriter::with_capacity(WRITE_BUFFER, file),
            size,
            synced_size: size,
            scratch: Vec::new(),
            poisoned: false,
        }
    }

    /// Encodes `record` (bincode `standard()`) and appends it; see `Journal::append_bytes`.
    pub fn append<T: Encode>(&mut self, record: &T) -> Result<(), JournalError> {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        let result = bincode::encode_into_std_write(record, &mut scratch, crate::config())
            .map_err(|e| JournalError::new(&self.path, Kind::Encode(e)))
            .and_then(|_| self.append_bytes(&scratch));
        if scratch.capacity() <= SCRATCH_KEEP {
            self.scratch = scratch;
        }
        result
    }

    /// Appends one record with an already-encoded payload (1..=[`MAX_RECORD_LEN`] bytes) to the
    /// write buffer. It is durable only after [`Journal::sync`].
    pub(crate) fn append_bytes(&mut self, payload: &[u8]) -> Result<(), JournalError> {
        self.check_poisoned()?;
        if payload.is_empty() || payload.len() > MAX_RECORD_LEN {
            let len = payload.len();
            let kind = Kind::RecordLength {
                len,
                max: MAX_RECORD_LEN,
            };
            return Err(JournalError::new(&self.path, kind));
        }
        let mut hdr = [0u8; RECORD_HEADER_LEN];
        hdr[0..4].copy_from_slice(&(payload.len() as u32).to_le_bytes());
        hdr[4..8].copy_from_slice(&crc32c::crc32c(payload).to_le_bytes());
        let written = self
            .out
            .write_all(&hdr)
            .and_then(|()| self.out.write_all(payload));
        self.poison_on_err(written)?;
        self.size += (RECORD_HEADER_LEN + payload.len()) as u64;
        Ok(())
    }

    /// Hands buffered records to the OS (they survive a process crash, not a power loss).
    pub fn flush(&mut self) -> Result<(), JournalError> {
        self.check_poisoned()?;
        let flushed = self.out.flush();
        self.poison_on_err(flushed)
    }

    /// Flushes and fdatasyncs: every record appended so far survives a power loss.
    pub fn sync(&mut self) -> Result<(), JournalError> {
        self.flush()?;
        if self.synced_size == self.size {
            return Ok(());
        }
        let synced = self.out.get_ref().sync_data();
        self.poison_on_err(synced)?;
        self.synced_size = self.size;
        Ok(())
    }

    /// The journal's size in bytes, buffered records included: the caller triggers a snapshot
    /// when it grows past its limit.
    pub fn size_bytes(&self) -> u64 {
        self.size
    }

    /// The generation this journal belongs to (it follows snapshot `seq`).
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Cuts the file back to `len` bytes (a length this journal reached before, such as the end
    /// of the last acknowledged write) and makes that durable, so records whose write failed,
    /// and which nobody was told are stored, are not replayed later. Clears the poisoning: the
    /// tail is known again.
    pub fn rewind(&mut self, len: u64) -> Result<(), JournalError> {
        // Whatever is still buffered belongs to the failed write: drop it, never flush it.
        let file = self
            .out
            .get_ref()
            .try_clone()
            .map_err(JournalError::io(&self.path))?;
        let failed = std::mem::replace(&mut self.out, BufWriter::with_capacity(WRITE_BUFFER, file));
        // `into_parts` hands the buffer back instead of writing it, as dropping would.
        drop(failed.into_parts());
        let cut = (|| -> io::Result<()> {
            let file = self.out.get_mut();
            file.set_len(len)?;
            file.seek(SeekFrom::Start(len))?;
            file.sync_all()
        })();
        cut.map_err(JournalError::io(&self.path))?;
        (self.size, self.synced_size, self.poisoned) = (len, len, false);
        Ok(())
    }

    /// Whether the open file is still the one at the journal's path: false once it was deleted
    /// or replaced, when every append would go to an inode nobody will read again.
    pub fn is_in_place(&self) -> bool {
        use std::os::unix::fs::MetadataExt as _;
        match (fs::metadata(&self.path), self.out.get_ref().metadata()) {
            (Ok(at_path), Ok(open)) => at_path.dev() == open.dev() && at_path.ino() == open.ino(),
            _ => false,
        }
    }

    fn check_poisoned(&self) -> Result<(), JournalError> {
        if self.poisoned {
            return Err(JournalError::new(&self.path, Kind::Poisoned));
        }
        Ok(())
    }

    /// After a failed write or fsync the file's tail is unknown (and a retried fsync may report
    /// success without the data being on disk), so the journal refuses further use.
    fn poison_on_err(&mut self, r: io::Result<()>) -> Result<(), JournalError> {
        self.poisoned |= r.is_err();
        r.map_err(JournalError::io(&self.path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq, Encode, Decode)]
    enum Rec {
        Assign { to: u64, from: u64 },
        Remove { to: u64 },
        Pool(String),
    }

    fn recs() -> Vec<Rec> {
        vec![
            Rec::Assign {
                to: 447700900123,
                from: 447700900000,
            },
            Rec::Pool("marketing".into()),
            Rec::Remove { to: 447700900123 },
            Rec::Assign {
                to: 15551230000,
                from: 15557654321,
            },
        ]
    }

    fn write_journal(dir: &Path, seq: u64, recs: &[Rec]) -> Vec<u8> {
        let mut j = Journal::create(dir, seq).unwrap();
        for r in recs {
            j.append(r).unwrap();
        }
        j.sync().unwrap();
        assert_eq!(j.size_bytes(), fs::metadata(&j.path).unwrap().len());
        fs::read(&j.path).unwrap()
    }

    /// Offsets where each record ends (so `ends[i]` is the valid length with `i + 1` records).
    fn record_ends(bytes: &[u8]) -> Vec<usize> {
        let mut ends = Vec::new();
        let mut at = JOURNAL_HEADER_LEN;
        while at < bytes.len() {
            at += RECORD_HEADER_LEN + le_u32(&bytes[at..]) as usize;
            ends.push(at);
        }
        ends
    }

    #[test]
    fn round_trip_and_reopen_appends() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let all = recs();
        write_journal(d, 7, &all[..2]);
        let mut j = Journal::open(d, 7).unwrap();
        for r in &all[2..] {
            j.append(r).unwrap();
        }
        j.sync().unwrap();
        assert_eq!(j.synced_size, j.size);
        let c = read_journal::<Rec>(d, 7).unwrap();
        assert_eq!(c.records, all);
        assert_eq!(c.torn, None);
        assert_eq!(c.valid_len, j.size_bytes());
        let raw = read_journal_bytes(d, 7).unwrap();
        assert_eq!(raw.records[1], crate::encode_payload(&all[1]).unwrap());
    }

    #[test]
    fn create_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        write_journal(dir.path(), 1, &recs());
        assert!(matches!(
            Journal::create(dir.path(), 1).map_err(|e| e.kind),
            Err(Kind::AlreadyExists)
        ));
    }

    #[test]
    fn record_length_limits() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::create(dir.path(), 0).unwrap();
        assert!(matches!(
            j.append_bytes(&[]).map_err(|e| e.kind),
            Err(Kind::RecordLength { len: 0, .. })
        ));
        assert!(matches!(
            j.append_bytes(&vec![0; MAX_RECORD_LEN + 1])
                .map_err(|e| e.kind),
            Err(Kind::RecordLength { .. })
        ));
        j.append_bytes(&[1]).unwrap();
        assert_eq!(j.size - j.synced_size, 9);
    }

    #[test]
    fn torn_tail_at_every_offset_keeps_exact_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let all = recs();
        let good = write_journal(d, 3, &all);
        let ends = record_ends(&good);
        let path = journal_path(d, 3);
        for cut in 0..good.len() {
            let survivors = ends.iter().filter(|&&e| e <= cut).count();
            fs::write(&path, &good[..cut]).unwrap();
            let c = read_journal::<Rec>(d, 3).unwrap();
            assert_eq!(c.records, all[..survivors], "cut {cut}");
            // What the cut costs: the bytes after the last whole record, in one started record.
            let kept = ends[..survivors]
                .last()
                .copied()
                .unwrap_or(JOURNAL_HEADER_LEN);
            let expected = (cut >= JOURNAL_HEADER_LEN && cut != kept)
                .then(|| ((cut - kept) as u64, 1))
                .or((cut > 0 && cut < JOURNAL_HEADER_LEN).then_some((cut as u64, 0)));
            assert_eq!(
                c.torn.map(|t| (t.len(), t.records())),
                expected,
                "cut {cut}"
            );
            // Opening for append cuts the tail; new records follow the survivors.
            let mut j = Journal::open(d, 3).unwrap();
            let expected_len = if survivors == 0 {
                JOURNAL_HEADER_LEN
            } else {
                ends[survivors - 1]
            };
            assert_eq!(j.size_bytes(), expected_len as u64, "cut {cut}");
            j.append(&Rec::Pool("after".into())).unwrap();
            j.sync().unwrap();
            let c = read_journal::<Rec>(d, 3).unwrap();
            assert_eq!(c.torn, None);
            assert_eq!(c.records.len(), survivors + 1, "cut {cut}");
            assert_eq!(c.records[survivors], Rec::Pool("after".into()));
        }
    }

    #[test]
    fn a_torn_tail_counts_every_record_it_cuts() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let mut bytes = write_journal(d, 1, &recs());
        let ends = record_ends(&bytes);
        // The third record's payload never made it whole, the fourth is short: both are lost.
        bytes[ends[2] - 1] ^= 1;
        bytes.pop();
        fs::write(journal_path(d, 1), &bytes).unwrap();
        let c = read_journal::<Rec>(d, 1).unwrap();
        assert_eq!(c.records, recs()[..2]);
        let torn = c.torn.unwrap();
        assert_eq!((torn.offset(), torn.records()), (ends[1] as u64, 2));
        assert_eq!(torn.len(), (bytes.len() - ends[1]) as u64);
    }

    #[test]
    fn garbage_or_zero_tail_is_torn() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let mut bytes = write_journal(d, 1, &recs());
        let valid = bytes.len() as u64;
        // A zero-filled tail, then a huge garbage length.
        bytes.extend_from_slice(&[0u8; 4096]);
        fs::write(journal_path(d, 1), &bytes).unwrap();
        let c = read_journal::<Rec>(d, 1).unwrap();
        assert_eq!((c.records.len(), c.valid_len), (4, valid));
        assert_eq!(
            c.torn,
            Some(TornTail {
                offset: valid,
                len: 4096,
                records: 0,
            })
        );
        bytes.truncate(valid as usize);
        bytes.extend_from_slice(&[0xff; 12]);
        fs::write(journal_path(d, 1), &bytes).unwrap();
        let c = read_journal::<Rec>(d, 1).unwrap();
        assert_eq!((c.records.len(), c.valid_len), (4, valid));
        // A final record with a bad CRC is torn too.
        let mut bytes = write_journal(d, 2, &recs());
        *bytes.last_mut().unwrap() ^= 1;
        fs::write(journal_path(d, 2), &bytes).unwrap();
        let c = read_journal::<Rec>(d, 2).unwrap();
        assert_eq!(c.records, recs()[..3]);
    }

    #[test]
    fn mid_file_corruption_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let good = write_journal(d, 5, &recs());
        let ends = record_ends(&good);
        let path = journal_path(d, 5);
        // Every bit of every record but the last one: payload, CRC and length fields.
        for byte in JOURNAL_HEADER_LEN..ends[2] {
            for bit in 0..8 {
                let mut bad = good.clone();
                bad[byte] ^= 1 << bit;
                fs::write(&path, &bad).unwrap();
                match read_journal::<Rec>(d, 5).map_err(|e| e.kind) {
                    Err(Kind::CorruptRecord { offset, .. }) => {
                        assert!(offset as usize <= byte, "byte {byte}")
                    }
                    other => panic!("byte {byte} bit {bit}: {other:?}"),
                }
                assert!(matches!(
                    Journal::open(d, 5).map_err(|e| e.kind),
                    Err(Kind::CorruptRecord { .. })
                ));
                // The file is left as it was.
                assert_eq!(fs::read(&path).unwrap(), bad);
            }
        }
        let err = read_journal::<Rec>(d, 5).unwrap_err();
        assert!(err.to_string().contains("journal-00000000000000000005.np"));
    }

    #[test]
    fn header_problems_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let good = write_journal(d, 4, &recs());
        let path = journal_path(d, 4);
        let mut bad = good.clone();
        bad[..8].copy_from_slice(b"NOTAJRNL");
        fs::write(&path, &bad).unwrap();
        assert!(matches!(
            read_journal::<Rec>(d, 4).map_err(|e| e.kind),
            Err(Kind::Header(BadHeader::WrongMagic { .. }))
        ));
        fs::write(&path, &good).unwrap();
        fs::copy(&path, journal_path(d, 9)).unwrap();
        assert!(matches!(
            read_journal::<Rec>(d, 9).map_err(|e| e.kind),
            Err(Kind::Header(BadHeader::SequenceMismatch {
                in_name: 9,
                in_header: 4,
            }))
        ));
        fs::write(&path, b"garbage").unwrap();
        assert!(matches!(
            read_journal::<Rec>(d, 4).map_err(|e| e.kind),
            Err(Kind::Header(BadHeader::Truncated { len: 7 }))
        ));
    }

    #[test]
    fn record_of_wrong_type_is_a_decode_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::create(dir.path(), 0).unwrap();
        j.append(&(1u8, 2u8)).unwrap();
        j.sync().unwrap();
        assert!(matches!(
            read_journal::<u8>(dir.path(), 0).map_err(|e| e.kind),
            Err(Kind::RecordNotFullyDecoded { .. })
        ));
        let mut j = Journal::create(dir.path(), 1).unwrap();
        j.append(&5u8).unwrap();
        j.sync().unwrap();
        assert!(matches!(
            read_journal::<bool>(dir.path(), 1).map_err(|e| e.kind),
            Err(Kind::Decode { offset: 24, .. })
        ));
    }

    #[test]
    fn rewind_drops_what_came_after_and_clears_the_poisoning() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let all = recs();
        let mut j = Journal::create(d, 3).unwrap();
        j.append(&all[0]).unwrap();
        j.sync().unwrap();
        let acknowledged = j.size_bytes();
        j.append(&all[1]).unwrap();
        j.flush().unwrap();
        j.append(&all[2]).unwrap();
        j.poisoned = true;
        j.rewind(acknowledged).unwrap();
        assert_eq!(fs::metadata(&j.path).unwrap().len(), acknowledged);
        j.append(&all[3]).unwrap();
        j.sync().unwrap();
        let c = read_journal::<Rec>(d, 3).unwrap();
        assert_eq!(c.records, vec![all[0].clone(), all[3].clone()]);
        assert!(j.is_in_place());
        fs::remove_file(&j.path).unwrap();
        assert!(!j.is_in_place());
    }
}
