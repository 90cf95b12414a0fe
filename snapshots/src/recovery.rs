//! Recovery: rebuilding the state from a data directory at start, and handing back an open journal
//! to continue from.
//!
//! A *generation* N is snapshot N (the state at the moment it was taken) plus journal N (every
//! record written after it). Generation 0 is the *genesis*: the empty state, which is never written
//! as a snapshot, plus journal 0. Recovery:
//!
//! 1. Create the directory if needed; list it; delete leftover `snapshot-*.np.tmp` files (a crash
//!    during a snapshot write; the rename never happened, so they hold nothing that counts).
//! 2. Try the snapshots newest first; the first that validates (header, lengths, both CRC32Cs,
//!    complete bincode decode, sequence matching its name) is the *base*. A snapshot from a newer
//!    format version stops recovery instead (falling back would hide a downgrade).
//! 3. No snapshot validates: the base is genesis if journal 0 exists or the directory holds no data
//!    file at all (a fresh start); otherwise recovery stops ([`RecoverError::NoReadableSnapshot`],
//!    [`RecoverError::MissingBase`]). Data files never silently become an empty state.
//! 4. Replay, in sequence order, the journal of every generation from the base to the newest one
//!    seen (by snapshot or journal name). Every journal but the last must exist and end cleanly; a
//!    missing journal or torn tail before the last generation means lost history and stops
//!    recovery. Mid-file corruption in any journal stops recovery.
//! 5. The last generation's journal is opened for appending, its torn final record (if any) cut
//!    off; if it does not exist (a crash between writing a snapshot and starting its journal) it is
//!    created.
//! 6. Only once all of that succeeded, snapshots rejected in step 2 as damaged are renamed to
//!    `*.corrupt` (kept for inspection, no longer counted by retention).
//!
//! The caller applies `records` on top of `snapshot` (or of its empty state), appends to `journal`,
//! and writes its next snapshot with sequence `seq + 1` before starting journal `seq + 1`.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use bincode::Decode;

use crate::error::{BadHeader, RecoverError, SnapshotError, SnapshotErrorKind};
use crate::journal::{self, Journal, Scan, TornTail};
use crate::layout::{self, journal_path, sync_dir, CORRUPT_EXT};
use crate::snapshot::read_snapshot;

/// The recovered state and what the caller needs to continue.
#[derive(Debug)]
pub struct Recovered<S, R> {
    /// The base state from the newest valid snapshot; `None` means the empty genesis state.
    pub snapshot: Option<S>,
    /// The base snapshot's sequence number (0 for genesis).
    pub snapshot_seq: u64,
    /// Every journal record after the base, in order, to be applied on top of it.
    pub records: Vec<R>,
    /// The current generation: `journal` belongs to it, and the next snapshot is `seq + 1`.
    pub seq: u64,
    /// Journal `seq`, open for appending after its last good record.
    pub journal: Journal,
    /// What recovery skipped, cut or cleaned, for the start-up log.
    pub report: RecoveryReport,
}

/// What recovery had to work around; everything here is worth a log line.
#[derive(Debug, Default)]
pub struct RecoveryReport {
    /// Snapshots that failed validation and were passed over, newest first.
    pub rejected_snapshots: Vec<SnapshotError>,
    /// Where damaged snapshots were moved (`*.corrupt`).
    pub(crate) quarantined: Vec<PathBuf>,
    /// The journals replayed, in order.
    pub(crate) replayed_journals: Vec<PathBuf>,
    /// The torn final record cut from the last journal: writes that were not yet durable.
    pub torn_tail: Option<(PathBuf, TornTail)>,
    /// Leftover temp files of an interrupted snapshot write, deleted.
    pub(crate) removed_temp_files: Vec<PathBuf>,
}

/// Recovers the state stored in `dir` (see the module documentation for the algorithm). `S` is the
/// snapshot state type and `R` the journal record type, both bincode `Decode`.
pub fn recover<S: Decode<()>, R: Decode<()>>(dir: &Path) -> Result<Recovered<S, R>, RecoverError> {
    let io_err = |path: &Path| {
        let path = path.to_owned();
        move |source| RecoverError::Io { path, source }
    };
    fs::create_dir_all(dir).map_err(io_err(dir))?;
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
    let mut records = Vec::new();
    let mut last_scan: Option<Scan> = None;
    for &g in &generations {
        let newer = generations.range(g + 1..).next().copied();
        let Some(path) = listing.journals.get(&g) else {
            if let Some(newer) = newer {
                return Err(RecoverError::MissingJournal {
                    dir: dir.to_owned(),
                    seq: g,
                    newer,
                });
            }
            continue;
        };
        let scan = journal::scan(path, g)?;
        if let (Some(torn), Some(newer)) = (scan.torn, newer) {
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

    // Step 6: move damaged snapshots out of retention's way.
    for SnapshotError { path, kind } in &report.rejected_snapshots {
        // A file that could not be read may be fine: only damaged ones are moved aside.
        if matches!(kind, SnapshotErrorKind::Io(_)) {
            continue;
        }
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
        records,
        seq: last,
        journal,
        report,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{JournalError, JournalErrorKind};
    use crate::{snapshot_path, write_snapshot};

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

    /// Runs generations 0..=n the way the engine does: records `10*g + i`, then a snapshot of the
    /// whole state as `g + 1` and a new journal. The last generation gets records but no snapshot.
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
                write_snapshot(dir, g + 1, &state).unwrap();
                j = Journal::create(dir, g + 1).unwrap();
            }
        }
        state
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
        drop(r.journal);
        // Unrelated files do not count as data.
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
        let mut j = r.journal;
        j.append(&40u32).unwrap();
        j.sync().unwrap();
        let mut state = state;
        state.push(40);
        write_snapshot(d, 4, &state).unwrap();
        drop(Journal::create(d, 4).unwrap());
        corrupt(&snapshot_path(d, 4));
        assert_eq!(state_of(&recover_ok(d)), state);
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
        assert!(matches!(
            recover::<State, Rec>(d),
            Err(RecoverError::MissingJournal {
                seq: 2,
                newer: 3,
                ..
            })
        ));
    }

    #[test]
    fn torn_tail_of_last_journal_is_cut_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let state = build(d, 2);
        let path = journal_path(d, 2);
        let len = fs::metadata(&path).unwrap().len();
        fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(len - 1)
            .unwrap();
        let r = recover_ok(d);
        assert_eq!(state_of(&r), state[..state.len() - 1]);
        let (p, torn) = r.report.torn_tail.unwrap();
        assert_eq!(p, path);
        assert_eq!(fs::metadata(&path).unwrap().len(), torn.offset);
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

    #[test]
    fn crash_between_snapshot_and_new_journal() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let state = build(d, 2);
        // Snapshot 3 was written, journal 3 was not started yet.
        write_snapshot(d, 3, &state).unwrap();
        let r = recover_ok(d);
        assert_eq!((r.snapshot_seq, r.seq), (3, 3));
        assert_eq!(state_of(&r), state);
        assert!(journal_path(d, 3).exists());
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
        b[8..12].copy_from_slice(&99u32.to_le_bytes());
        fs::write(&path, b).unwrap();
        assert!(matches!(
            recover::<State, Rec>(d),
            Err(RecoverError::NewerSnapshotFormat { .. })
        ));
    }
}
