//! Golden files: a checked-in snapshot and journal of each format version, written by this crate for a
//! small fixed state, must keep decoding to that state, and today's writer must keep producing the
//! same bytes. A failure means the on-disk format changed: bump the format version, keep the old
//! golden directory (old versions must stay readable), and add a new one.
//!
//! Regenerate (only for the current version, only on purpose):
//! `cargo test -p numpool-snapshots --test golden -- --ignored regenerate_golden_files`

use std::fs;
use std::path::{Path, PathBuf};

use bincode::{Decode, Encode};
use numpool_snapshots::{
    journal_path, read_journal, read_snapshot, recover, snapshot_path, write_snapshot, Journal,
    Snapshot, OLDEST_SNAPSHOT_FORMAT_VERSION, SNAPSHOT_FORMAT_VERSION,
};

const SEQ: u64 = 42;

#[derive(Debug, Clone, PartialEq, Encode, Decode)]
struct GoldenState {
    account: String,
    numbers: Vec<(u64, u32)>,
    sticky: Vec<(u64, u64)>,
    custom_from: Option<String>,
    localized: bool,
}

#[derive(Debug, Clone, PartialEq, Encode, Decode)]
enum GoldenRecord {
    Assign { to: u64, from: u64 },
    Remove { to: u64 },
    Rename(String),
}

fn golden_state() -> GoldenState {
    GoldenState {
        account: "abcd1234".into(),
        numbers: vec![(447700900000, 1), (447700900001, 3), (15551234567, 250)],
        sticky: vec![(447700900123, 447700900001)],
        custom_from: Some("NUMPOOL".into()),
        localized: true,
    }
}

fn golden_records() -> Vec<GoldenRecord> {
    vec![
        GoldenRecord::Assign {
            to: 15559876543,
            from: 15551234567,
        },
        GoldenRecord::Remove { to: 447700900123 },
        GoldenRecord::Rename("pool-b".into()),
    ]
}

fn golden_dir(version: u32) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("v{version}"))
}

/// Writes the golden state and records with today's code into `dir`.
fn write_golden(dir: &Path) {
    let mut j = Journal::create(dir, SEQ).unwrap();
    write_snapshot(dir, SEQ, &golden_state()).unwrap();
    for r in golden_records() {
        j.append(&r).unwrap();
    }
    j.sync().unwrap();
}

#[test]
fn every_versions_golden_files_decode() {
    for version in OLDEST_SNAPSHOT_FORMAT_VERSION..=SNAPSHOT_FORMAT_VERSION {
        let dir = golden_dir(version);
        let s: Snapshot<GoldenState> = read_snapshot(&snapshot_path(&dir, SEQ)).unwrap();
        assert_eq!(
            s,
            Snapshot {
                version,
                seq: SEQ,
                state: golden_state()
            }
        );
        let j = read_journal::<GoldenRecord>(&dir, SEQ).unwrap();
        assert_eq!(j.records, golden_records());
        assert_eq!(j.torn, None);

        // Full recovery over a copy (recovery opens the journal for appending).
        let tmp = tempfile::tempdir().unwrap();
        for entry in fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            fs::copy(entry.path(), tmp.path().join(entry.file_name())).unwrap();
        }
        let r = recover::<GoldenState, GoldenRecord>(tmp.path()).unwrap();
        assert_eq!(
            (r.snapshot, r.snapshot_seq, r.seq),
            (Some(golden_state()), SEQ, SEQ)
        );
        assert_eq!(r.records, golden_records());
    }
}

#[test]
fn current_writer_matches_current_golden_files() {
    let tmp = tempfile::tempdir().unwrap();
    write_golden(tmp.path());
    let dir = golden_dir(SNAPSHOT_FORMAT_VERSION);
    for path in [snapshot_path, journal_path] {
        assert_eq!(
            fs::read(path(tmp.path(), SEQ)).unwrap(),
            fs::read(path(&dir, SEQ)).unwrap(),
            "{} changed: the on-disk format moved without a version bump",
            path(&dir, SEQ).display()
        );
    }
}

#[test]
#[ignore = "rewrites tests/golden; run on purpose after a format version bump"]
fn regenerate_golden_files() {
    let dir = golden_dir(SNAPSHOT_FORMAT_VERSION);
    let tmp = tempfile::tempdir().unwrap();
    write_golden(tmp.path());
    fs::create_dir_all(&dir).unwrap();
    for path in [snapshot_path, journal_path] {
        fs::copy(path(tmp.path(), SEQ), path(&dir, SEQ)).unwrap();
    }
}
