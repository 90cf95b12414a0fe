//! Recovery: rebuilding the state from a data directory at start, and handing back an open journal
//! to continue from.
//!
//! A *generation* N is snapshot N (the state at the moment it was taken) plus journal N (every
//! record written after it). Generation 0 is the *genesis*: the empty state, which is never written
//! as a snapshot, plus journal 0. Generation N starts by creating journal N (header fsynced, then
//! the directory); snapshot N is written after that (temp file, fsync, rename, directory fsync).
//! So a crash can leave journal N without snapshot N, or journal N shorter than its header with
//! neither snapshot N nor anything newer, but never snapshot N (or generation N+1) without a whole
//! journal N. Recovery accepts the first two and refuses the last. It:
//!
//! 1. Creates the directory if needed and takes its lock ([`crate::lock_dir`]) before touching
//!    anything; lists it; deletes leftover `snapshot-*.np.tmp` files (a crash during a snapshot
//!    write; the rename never happened, so they hold nothing that counts).
//! 2. Tries the snapshots newest first; the first that validates (header, lengths, both CRC32Cs,
//!    complete bincode decode, sequence matching its name) is the *base*. A snapshot from a newer
//!    format version (a header whose checksum holds and whose version is unknown) stops recovery
//!    instead (falling back would hide a downgrade).
//! 3. No snapshot validates: the base is genesis if journal 0 exists or the directory holds no data
//!    file at all (a fresh start); otherwise recovery stops ([`RecoverError::NoReadableSnapshot`],
//!    [`RecoverError::MissingBase`]). Data files never silently become an empty state.
//! 4. Replays, in sequence order, the journal of every generation from the base to the newest one
//!    seen (by snapshot or journal name). A journal whose own snapshot or a newer generation exists
//!    must be there and hold at least its header ([`RecoverError::LostJournal`]); every journal but
//!    the last must end cleanly ([`RecoverError::TornJournalNotLast`]). Mid-file corruption in
//!    any journal stops recovery.
//! 5. The last generation's journal is opened for appending, its torn final record (if any) cut
//!    off and reported with what it cost; on a fresh start journal 0 is created.
//! 6. Only once all of that succeeded, snapshots rejected in step 2 (damaged or unreadable) are
//!    renamed to `*.corrupt`: kept for inspection, and no longer counted by retention, which would
//!    otherwise keep them as one of the two and delete the good older snapshot.
//!
//! The caller applies `records` on top of `snapshot` (or of its empty state), appends to `journal`,
//! and starts generation `seq + 1` by creating its journal, then writing its snapshot.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use bincode::Decode;

use crate::error::{BadHeader, LostJournal, RecoverError, SnapshotError, SnapshotErrorKind};
use crate::journal::{self, Journal, Scan, TornTail};
use crate::layout::{self, journal_path, snapshot_path, sync_dir, CORRUPT_EXT};
use crate::lock::{lock_dir, DirLock};
use crate::snapshot::read_snapshot;

/// The recovered state and what the caller needs to continue.
#[derive(Debug)]
pub struct Recovered<S, R> {
    /// The base state from the newest valid snapshot; `None` means the empty genesis state.
    pub snapshot: Option<S>,
    /// The base snapshot's sequence number (0 for genesis).
    pub snapshot_seq: u64,
    /// When the base was taken, to schedule the next snapshot from (not from the start, which
    /// would never come round for a process restarted more often than the interval): the base
    /// snapshot's modification time (it is written once), or for genesis the creation time of
    /// journal 0 (its modification time where the file system keeps no creation time).
    pub base_time: Option<SystemTime>,
    /// Every journal record after the base, in order, to be applied on top of it.
    pub records: Vec<R>,
    /// The current generation: `journal` belongs to it, and the next snapshot is `seq + 1`.
    pub seq: u64,
    /// Journal `seq`, open for appending after its last good record.
    pub journal: Journal,
    /// The data directory's lock: hold it for as long as `journal` is used.
    pub lock: DirLock,
    /// What recovery skipped, cut or cleaned, for the start-up log.
    pub report: RecoveryReport,
}

/// What recovery had to work around; everything here is worth a log line.
#[derive(Debug, Default)]
pub struct RecoveryReport {
    /// Snapshots that failed validation and were passed over, newest first.
    pub rejected_snapshots: Vec<SnapshotError>,
    /// Where rejected snapshots were moved (`*.corrupt`).
    pub(crate) quarantined: Vec<PathBuf>,
    /// The journals replayed, in order.
    pub(crate) replayed_journals: Vec<PathBuf>,
    /// The torn final record cut from the last journal: writes that were not yet durable.
    pub torn_tail: Option<(PathBuf, TornTail)>,
    /// Leftover temp files of an interrupted snapshot write, deleted.
    pub(crate) removed_temp_files: Vec<PathBuf>,
}

impl RecoveryReport {
    /// Bytes cut off the last journal as a torn tail (0 if none).
    pub fn torn_bytes(&self) -> u64 {
        self.torn_tail.as_ref().map_or(0, |(_, t)| t.len())
    }

    /// Records that started in the torn tail and were cut with it (0 if none).
    pub fn torn_records(&self) -> u64 {
        self.torn_tail.as_ref().map_or(0, |(_, t)| t.records())
    }
}

/// Recovers the state stored in `dir` (see the module documentation for the algorithm). `S` is the
/// snapshot state type and `R` the journal record type, both bincode `Decode`.
pub fn recover<S: Decode<u32>, R: Decode<()>>(dir: &Path) -> Result<Recovered<S, R>, RecoverError> {
    let io_err = |path: &Path| {
        let path = path.to_owned();
        move |source| RecoverError::Io { path, source }
    };
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    let lock = lock_dir(dir)?;
    let listing = layout::list(dir).map_err(io_err(dir))?;
    let mut report = RecoveryReport::default();

    for tmp in &listing.temps {
        fs::remove_file(tmp).map_err(io_err(tmp))?;
        report.removed_temp_files.push(tmp.clone());
    }

    // Step 2: the newest snapshot that validates.
    let mut base = None;
    for (&seq, path) in listing.snapshots.iter().rev() {
        match read_snapshot::<S>(path) {
            Ok(s) if s.seq == seq => {
                base = Some((seq, s.state));
                break;
            }
            Ok(s) => report.rejected_snapshots.push(SnapshotError::new(
                path,
                BadHeader::SequenceMismatch {
                    in_name: seq,
                    in_header: s.seq,
                },
            )),
            Err(
                e @ SnapshotError {
                    kind: SnapshotErrorKind::Header(BadHeader::UnsupportedVersion { .. }),
                    ..
                },
            ) => {
                return Err(RecoverError::NewerSnapshotFormat {
                    dir: dir.to_owned(),
                    source: e,
                })
            }
            Err(e) => report.rejected_snapshots.push(e),
        }
    }

    // Step 3: genesis, or stop.
    let (snapshot_seq, snapshot) = match base {
        Some((seq, state)) => (seq, Some(state)),
        None if listing.journals.contains_key(&0) || listing.is_empty() => (0, None),
        None if !listing.snapshots.is_empty() => {
            return Err(RecoverError::NoReadableSnapshot {
                dir: dir.to_owned(),
                errors: report.rejected_snapshots,
            })
        }
        None => {
            return Err(RecoverError::MissingBase {
                dir: dir.to_owned(),
                first: *listing.journals.keys().next().expect("journals exist"),
            })
        }
    };
    // Step 4: replay every generation's journal from the base on.
    let generations: BTreeSet<u64> = std::iter::once(snapshot_seq)
        .chain(listing.snapshots.keys().copied())
        .chain(listing.journals.keys().copied())
        .filter(|&g| g >= snapshot_seq)
        .collect();
    let last = *generations.last().expect("contains the base");
    // The file that proves journal `g` was once whole, if any: its own snapshot, or any file of a
    // newer generation (see the module documentation for why).
    let proof = |g: u64| -> Option<PathBuf> {
        if let Some(snapshot) = listing.snapshots.get(&g) {
            return Some(snapshot.clone());
        }
        let newer = generations.range(g + 1..).next()?;
        listing
            .journals
            .get(newer)
            .or_else(|| listing.snapshots.get(newer))
            .cloned()
    };
    let lost = |g: u64, found: LostJournal| {
        proof(g).map(|proof| RecoverError::LostJournal {
            path: journal_path(dir, g),
            found,
            proof,
        })
    };
    let mut records = Vec::new();
    let mut last_scan: Option<Scan> = None;
    for &g in &generations {
        let Some(path) = listing.journals.get(&g) else {
            match lost(g, LostJournal::Missing) {
                Some(err) => return Err(err),
                // Only a fresh start: step 5 creates journal 0.
                None => continue,
            }
        };
        let scan = journal::scan(path, g)?;
        if scan.header_incomplete {
            let len = scan.data.len() as u64;
            if let Some(err) = lost(g, LostJournal::Truncated { len }) {
                return Err(err);
            }
        }
        if let (Some(torn), Some(&newer)) = (scan.torn, generations.range(g + 1..).next()) {
            return Err(RecoverError::TornJournalNotLast {
                path: path.clone(),
                offset: torn.offset,
                newer,
            });
        }
        records.extend(scan.decode::<R>(path)?);
        report.replayed_journals.push(path.clone());
        if g == last {
            last_scan = Some(scan);
        }
    }

    // Step 5: continue the last generation's journal.
    let journal = match last_scan {
        Some(scan) => {
            if let Some(torn) = scan.torn {
                report.torn_tail = Some((journal_path(dir, last), torn));
            }
            Journal::open_scanned(journal_path(dir, last), last, &scan)?
        }
        None => Journal::create(dir, last)?,
    };

    // Read after step 5, which creates journal 0 on a fresh start.
    let base_time = match snapshot_seq {
        0 => fs::metadata(journal_path(dir, 0))
            .ok()
            .and_then(|m| m.created().or_else(|_| m.modified()).ok()),
        seq => fs::metadata(snapshot_path(dir, seq))
            .and_then(|m| m.modified())
            .ok(),
    };

    // Step 6: move rejected snapshots out of retention's way. An unreadable one (EISDIR, EACCES,
    // EIO) too: it is no more use to recovery than a damaged one, and counted by retention it
    // would cost the good older snapshot at the next prune.
    for SnapshotError { path, .. } in &report.rejected_snapshots {
        let mut to = path.clone().into_os_string();
        to.push(CORRUPT_EXT);
        let to = PathBuf::from(to);
        fs::rename(path, &to).map_err(io_err(path))?;
        report.quarantined.push(to);
    }
    if !report.quarantined.is_empty() || !report.removed_temp_files.is_empty() {
        sync_dir(dir).map_err(io_err(dir))?;
    }

    Ok(Recovered {
        snapshot,
        snapshot_seq,
        base_time,
        records,
        seq: last,
        journal,
        lock,
        report,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    use crate::error::{JournalError, JournalErrorKind};
    use crate::write_snapshot;

    type State = Vec<u32>;
    type Rec = u32;

    fn recover_ok(dir: &Path) -> Recovered<State, Rec> {
        recover(dir).unwrap_or_else(|e| panic!("{e}"))
    }

    /// The full state: base plus records.
    fn state_of(r: &Recovered<State, Rec>) -> State {
        let mut s = r.snapshot.clone().unwrap_or_default();
        s.extend(&r.records);
        s
    }

    /// Runs generations 0..=n the way the engine does: records `10*g + i`, then journal `g + 1`
    /// and a snapshot of the whole state as `g + 1`. The last generation gets records but no snapshot.
    fn build(dir: &Path, generations: u64) -> State {
        let mut state = State::new();
        let mut j = Journal::create(dir, 0).unwrap();
        for g in 0..=generations {
            for i in 0..3 {
                let rec = (10 * g + i) as u32;
                j.append(&rec).unwrap();
                state.push(rec);
            }
            j.sync().unwrap();
            if g < generations {
                j = Journal::create(dir, g + 1).unwrap();
                write_snapshot(dir, g + 1, &state).unwrap();
            }
        }
        state
    }

    /// Cuts the file at `path` to `len` bytes.
    fn truncate(path: &Path, len: u64) {
        let file = fs::OpenOptions::new().write(true).open(path).unwrap();
        file.set_len(len).unwrap();
    }

    /// Continues after `r` as the engine would: record 40, then generation 4 (journal, then a
    /// snapshot of `state` plus 40), then damages snapshot 4 and checks that recovery falls back
    /// to the older snapshot that retention kept, with nothing lost.
    fn next_generation_then_fallback(d: &Path, r: Recovered<State, Rec>, mut state: State) {
        let mut j = r.journal;
        j.append(&40u32).unwrap();
        j.sync().unwrap();
        state.push(40);
        drop((j, r.lock));
        drop(Journal::create(d, 4).unwrap());
        write_snapshot(d, 4, &state).unwrap();
        corrupt(&snapshot_path(d, 4));
        let again = recover_ok(d);
        assert_eq!(again.snapshot_seq, 2);
        assert_eq!(state_of(&again), state);
    }

    fn corrupt(path: &Path) {
        let mut b = fs::read(path).unwrap();
        let last = b.len() - 1;
        b[last] ^= 0x40;
        fs::write(path, b).unwrap();
    }

    #[test]
    fn fresh_start_on_missing_or_empty_dir() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("data");
        let r = recover_ok(&d);
        assert_eq!((r.snapshot, r.snapshot_seq, r.seq), (None, 0, 0));
        assert!(r.records.is_empty());
        assert_eq!(r.journal.seq(), 0);
        assert!(journal_path(&d, 0).is_file());
        drop((r.journal, r.lock));
        // Unrelated files (the lock file among them) do not count as data.
        fs::write(d.join("README"), b"hi").unwrap();
        assert!(recover_ok(&d).records.is_empty());
    }

    #[test]
    fn snapshot_plus_journal_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let state = build(d, 3);
        let r = recover_ok(d);
        assert_eq!((r.snapshot_seq, r.seq), (3, 3));
        assert_eq!(r.records, [30, 31, 32]);
        assert_eq!(state_of(&r), state);
        assert_eq!(r.report.replayed_journals, [journal_path(d, 3)]);
    }

    #[test]
    fn continuing_after_recovery_appends_to_the_same_generation() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let mut state = build(d, 2);
        let mut r = recover_ok(d);
        r.journal.append(&99u32).unwrap();
        r.journal.sync().unwrap();
        state.push(99);
        drop(r);
        assert_eq!(state_of(&recover_ok(d)), state);
    }

    #[test]
    fn corrupt_newest_snapshot_falls_back_to_previous() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let state = build(d, 3);
        corrupt(&snapshot_path(d, 3));
        let r = recover_ok(d);
        assert_eq!((r.snapshot_seq, r.seq), (2, 3));
        assert_eq!(r.records, [20, 21, 22, 30, 31, 32]);
        assert_eq!(state_of(&r), state);
        assert!(matches!(
            r.report.rejected_snapshots[..],
            [SnapshotError {
                kind: SnapshotErrorKind::PayloadChecksumMismatch { .. },
                ..
            }]
        ));
        let quarantined = d.join("snapshot-00000000000000000003.np.corrupt");
        assert_eq!(r.report.quarantined, std::slice::from_ref(&quarantined));
        assert!(quarantined.exists() && !snapshot_path(d, 3).exists());
        // The next snapshot keeps snapshot 2 and its journal: fallback still works.
        next_generation_then_fallback(d, r, state);
    }

    #[test]
    fn corrupt_only_snapshot_falls_back_to_genesis() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let state = build(d, 1);
        corrupt(&snapshot_path(d, 1));
        let r = recover_ok(d);
        assert_eq!((r.snapshot.is_none(), r.snapshot_seq, r.seq), (true, 0, 1));
        assert_eq!(state_of(&r), state);
    }

    #[test]
    fn unreadable_data_is_an_error_not_an_empty_start() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        build(d, 3);
        corrupt(&snapshot_path(d, 2));
        corrupt(&snapshot_path(d, 3));
        let err = recover::<State, Rec>(d).unwrap_err();
        assert!(
            matches!(&err, RecoverError::NoReadableSnapshot { errors, .. } if errors.len() == 2),
            "{err}"
        );
        let msg = err.to_string();
        assert!(msg.contains("snapshot-00000000000000000003.np"), "{msg}");
        assert!(msg.contains("snapshot-00000000000000000002.np"), "{msg}");
        // A failed recovery changes nothing.
        assert!(snapshot_path(d, 3).exists());
    }

    #[test]
    fn journals_without_their_snapshot_are_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        build(d, 2);
        fs::remove_file(snapshot_path(d, 1)).unwrap();
        fs::remove_file(snapshot_path(d, 2)).unwrap();
        assert!(matches!(
            recover::<State, Rec>(d),
            Err(RecoverError::MissingBase { first: 1, .. })
        ));
    }

    #[test]
    fn fallback_needs_the_older_journal() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        build(d, 3);
        corrupt(&snapshot_path(d, 3));
        fs::remove_file(journal_path(d, 2)).unwrap();
        let err = recover::<State, Rec>(d).unwrap_err();
        assert!(
            matches!(&err, RecoverError::LostJournal { path, found: LostJournal::Missing, proof }
                if *path == journal_path(d, 2) && *proof == snapshot_path(d, 2)),
            "{err}"
        );
    }

    #[test]
    fn torn_tail_of_last_journal_is_cut_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let state = build(d, 2);
        let path = journal_path(d, 2);
        let len = fs::metadata(&path).unwrap().len();
        truncate(&path, len - 1);
        let r = recover_ok(d);
        assert_eq!(state_of(&r), state[..state.len() - 1]);
        // What the cut cost, for the log: each record here is 8 bytes of frame and 1 of payload,
        // and 8 of the last one's 9 were on disk.
        assert_eq!((r.report.torn_bytes(), r.report.torn_records()), (8, 1));
        let (p, torn) = r.report.torn_tail.unwrap();
        assert_eq!(p, path);
        assert_eq!(fs::metadata(&path).unwrap().len(), torn.offset);
        drop(r.lock);
        let again = recover_ok(d).report;
        assert_eq!((again.torn_bytes(), again.torn_records()), (0, 0));
    }

    #[test]
    fn torn_tail_before_the_last_generation_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        build(d, 3);
        corrupt(&snapshot_path(d, 3));
        corrupt(&journal_path(d, 2));
        assert!(matches!(
            recover::<State, Rec>(d),
            Err(RecoverError::TornJournalNotLast { newer: 3, .. })
        ));
    }

    #[test]
    fn mid_journal_corruption_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        build(d, 1);
        let path = journal_path(d, 1);
        let mut b = fs::read(&path).unwrap();
        b[crate::JOURNAL_HEADER_LEN + 8] ^= 1;
        fs::write(&path, &b).unwrap();
        let err = recover::<State, Rec>(d).unwrap_err();
        assert!(
            matches!(
                err,
                RecoverError::Journal(JournalError {
                    kind: JournalErrorKind::CorruptRecord { .. },
                    ..
                })
            ),
            "{err}"
        );
        assert_eq!(fs::read(&path).unwrap(), b);
    }

    /// Journal N is created before snapshot N, so a crash never leaves snapshot N without it:
    /// a journal deleted or emptied under its snapshot lost acknowledged records.
    #[test]
    fn the_newest_journal_deleted_or_emptied_under_its_snapshot_is_refused() {
        for found in [
            LostJournal::Missing,
            LostJournal::Truncated { len: 0 },
            LostJournal::Truncated { len: 10 },
        ] {
            let dir = tempfile::tempdir().unwrap();
            let d = dir.path();
            build(d, 2);
            let path = journal_path(d, 2);
            match found {
                LostJournal::Missing => fs::remove_file(&path).unwrap(),
                LostJournal::Truncated { len } => truncate(&path, len),
            }
            let before = fs::read_dir(d).unwrap().count() + 1; // + the lock file
            let err = recover::<State, Rec>(d).unwrap_err();
            assert!(
                matches!(&err, RecoverError::LostJournal { path: p, found: f, proof }
                    if *p == path && *f == found && *proof == snapshot_path(d, 2)),
                "{err}"
            );
            let msg = err.to_string();
            assert!(msg.contains("journal-00000000000000000002.np"), "{msg}");
            // Nothing was created or cut: the operator sees what was found.
            assert_eq!(fs::read_dir(d).unwrap().count(), before);
            assert_eq!(path.exists(), found != LostJournal::Missing);
        }
    }

    /// The same for an older journal that a fallback needs: journal 3 exists, so journal 2 was whole.
    #[test]
    fn an_emptied_journal_before_a_newer_generation_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        build(d, 3);
        corrupt(&snapshot_path(d, 3));
        fs::write(journal_path(d, 2), b"").unwrap();
        assert!(matches!(
            recover::<State, Rec>(d),
            Err(RecoverError::LostJournal {
                found: LostJournal::Truncated { len: 0 },
                ..
            })
        ));
    }

    /// What a crash does leave: journal N started (even only part of its header) and no snapshot N.
    #[test]
    fn crash_while_creating_the_next_journal_is_accepted() {
        for len in [0, 10] {
            let dir = tempfile::tempdir().unwrap();
            let d = dir.path();
            let state = build(d, 1);
            fs::write(journal_path(d, 2), &crate::header::journal_header(2)[..len]).unwrap();
            let r = recover_ok(d);
            assert_eq!((r.snapshot_seq, r.seq), (1, 2));
            assert_eq!(state_of(&r), state);
            assert_eq!(
                fs::metadata(journal_path(d, 2)).unwrap().len(),
                crate::JOURNAL_HEADER_LEN as u64
            );
        }
    }

    #[test]
    fn journal_rotated_before_its_snapshot_was_written() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let mut state = build(d, 1);
        // Journal 2 was started at the capture point; snapshot 2 never made it; a temp file remains.
        let mut j = Journal::create(d, 2).unwrap();
        j.append(&77u32).unwrap();
        j.sync().unwrap();
        state.push(77);
        fs::write(crate::layout::temp_path(d, 2), b"partial").unwrap();
        let r = recover_ok(d);
        assert_eq!((r.snapshot_seq, r.seq), (1, 2));
        assert_eq!(state_of(&r), state);
        assert_eq!(r.report.removed_temp_files.len(), 1);
        assert!(!crate::layout::temp_path(d, 2).exists());
    }

    #[test]
    fn newer_format_version_stops_instead_of_falling_back() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        build(d, 2);
        let path = snapshot_path(d, 2);
        let mut b = fs::read(&path).unwrap();
        // A newer numpool writes its version under a header checksum that holds.
        b[8..12].copy_from_slice(&99u32.to_le_bytes());
        let crc = crc32c::crc32c(&b[..crate::SNAPSHOT_HEADER_LEN - 4]);
        b[crate::SNAPSHOT_HEADER_LEN - 4..crate::SNAPSHOT_HEADER_LEN]
            .copy_from_slice(&crc.to_le_bytes());
        fs::write(&path, b).unwrap();
        assert!(matches!(
            recover::<State, Rec>(d),
            Err(RecoverError::NewerSnapshotFormat { .. })
        ));
    }

    #[test]
    fn a_flipped_bit_in_the_version_falls_back_like_any_damage() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let state = build(d, 2);
        let path = snapshot_path(d, 2);
        let mut b = fs::read(&path).unwrap();
        b[9] ^= 0x10;
        fs::write(&path, b).unwrap();
        let r = recover_ok(d);
        assert_eq!((r.snapshot_seq, r.seq), (1, 2));
        assert_eq!(state_of(&r), state);
        assert!(matches!(
            r.report.rejected_snapshots[..],
            [SnapshotError {
                kind: SnapshotErrorKind::Header(BadHeader::ChecksumMismatch { .. }),
                ..
            }]
        ));
    }

    #[test]
    fn an_unreadable_newest_snapshot_is_quarantined_so_pruning_keeps_two_good_ones() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let state = build(d, 3);
        // EISDIR: readable by no one, root included (unlike EACCES).
        fs::remove_file(snapshot_path(d, 3)).unwrap();
        fs::create_dir(snapshot_path(d, 3)).unwrap();
        let r = recover_ok(d);
        assert_eq!((r.snapshot_seq, r.seq), (2, 3));
        assert_eq!(state_of(&r), state);
        assert!(matches!(
            r.report.rejected_snapshots[..],
            [SnapshotError {
                kind: SnapshotErrorKind::Io(_),
                ..
            }]
        ));
        assert!(d.join("snapshot-00000000000000000003.np.corrupt").is_dir());
        // The next generation: retention keeps snapshots 4 and 2 (not the unreadable 3), and the
        // journals from 2 on.
        next_generation_then_fallback(d, r, state);
    }

    #[test]
    fn the_base_time_is_when_the_base_was_written() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        build(d, 2);
        let then = SystemTime::now() - std::time::Duration::from_secs(3600);
        fs::File::options()
            .write(true)
            .open(snapshot_path(d, 2))
            .unwrap()
            .set_modified(then)
            .unwrap();
        assert_eq!(recover_ok(d).base_time, Some(then));
        let fresh = tempfile::tempdir().unwrap();
        let age = recover_ok(fresh.path()).base_time.unwrap().elapsed();
        assert!(age.unwrap_or_default() < std::time::Duration::from_secs(60));
    }

    #[test]
    fn a_second_recovery_of_a_held_directory_is_refused_and_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        build(d, 1);
        let held = recover_ok(d);
        let path = journal_path(d, 1);
        fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(&[5, 0])
            .unwrap();
        let err = recover::<State, Rec>(d).unwrap_err();
        assert!(matches!(err, RecoverError::Lock(_)), "{err}");
        // The holder's in-flight append is not cut as a torn tail by the refused process.
        assert_eq!(
            fs::metadata(&path).unwrap().len(),
            held.journal.size_bytes() + 2
        );
    }
}
