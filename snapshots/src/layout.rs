//! The data directory's layout: file names (zero-padded so that name order is sequence order), the
//! listing of what is there, directory fsync, and retention (keep the last two snapshots and the
//! journals needed to recover from either).

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use crate::error::SnapshotError;

const SNAPSHOT_PREFIX: &str = "snapshot-";
const JOURNAL_PREFIX: &str = "journal-";
const EXT: &str = ".np";
const TMP_EXT: &str = ".np.tmp";
/// Suffix given to a snapshot that recovery rejected, so that retention stops counting it but an
/// operator can still inspect it.
pub(crate) const CORRUPT_EXT: &str = ".corrupt";
const SEQ_DIGITS: usize = 20;

/// Path of snapshot `seq` in `dir`, e.g. `snapshot-00000000000000000042.np`.
pub fn snapshot_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{SNAPSHOT_PREFIX}{seq:020}{EXT}"))
}

/// Path of journal `seq` in `dir` (the records written after snapshot `seq`), e.g.
/// `journal-00000000000000000042.np`.
pub fn journal_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{JOURNAL_PREFIX}{seq:020}{EXT}"))
}

/// Where snapshot `seq` is written before it is renamed into place.
pub(crate) fn temp_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{SNAPSHOT_PREFIX}{seq:020}{TMP_EXT}"))
}

/// The numpool files found in a data directory; other files are ignored.
#[derive(Debug, Default)]
pub(crate) struct Listing {
    pub(crate) snapshots: BTreeMap<u64, PathBuf>,
    pub(crate) journals: BTreeMap<u64, PathBuf>,
    pub(crate) temps: Vec<PathBuf>,
}

impl Listing {
    pub(crate) fn is_empty(&self) -> bool {
        self.snapshots.is_empty() && self.journals.is_empty()
    }
}

fn parse_seq(name: &str, prefix: &str, ext: &str) -> Option<u64> {
    let digits = name.strip_prefix(prefix)?.strip_suffix(ext)?;
    if digits.len() != SEQ_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Lists `dir`; a directory that does not exist lists as empty.
pub(crate) fn list(dir: &Path) -> io::Result<Listing> {
    let mut out = Listing::default();
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(seq) = parse_seq(name, SNAPSHOT_PREFIX, EXT) {
            out.snapshots.insert(seq, entry.path());
        } else if let Some(seq) = parse_seq(name, JOURNAL_PREFIX, EXT) {
            out.journals.insert(seq, entry.path());
        } else if parse_seq(name, SNAPSHOT_PREFIX, TMP_EXT).is_some() {
            out.temps.push(entry.path());
        }
    }
    Ok(out)
}

/// Makes renames, creations and deletions in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Retention: keeps the two newest snapshots, deletes older snapshots, and deletes the journals
/// older than the older kept snapshot (recovery from it replays its journal and every newer one).
/// With fewer than two snapshots nothing is deleted: journal 0 is then still needed to rebuild from
/// the empty genesis state if the only snapshot is damaged. Returns the deleted paths.
///
/// [`crate::write_snapshot`] calls this after each successful snapshot; it is public so that an
/// operator tool can apply it on its own.
pub fn prune(dir: &Path) -> Result<Vec<PathBuf>, SnapshotError> {
    let listing = list(dir).map_err(SnapshotError::io(dir))?;
    let Some(&oldest_kept) = listing.snapshots.keys().rev().nth(1) else {
        return Ok(Vec::new());
    };
    let mut deleted = Vec::new();
    let old_snapshots = listing.snapshots.range(..oldest_kept);
    let old_journals = listing.journals.range(..oldest_kept);
    for (_, path) in old_snapshots.chain(old_journals) {
        match fs::remove_file(path) {
            Ok(()) => deleted.push(path.clone()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(SnapshotError::io(path)(e)),
        }
    }
    if !deleted.is_empty() {
        sync_dir(dir).map_err(SnapshotError::io(dir))?;
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sort_by_sequence_and_parse_back() {
        let dir = Path::new("/d");
        let a = snapshot_path(dir, 9);
        let b = snapshot_path(dir, 10);
        assert!(a < b);
        assert_eq!(
            a.file_name().unwrap().to_str().unwrap(),
            "snapshot-00000000000000000009.np"
        );
        assert_eq!(
            journal_path(dir, 42).file_name().unwrap().to_str().unwrap(),
            "journal-00000000000000000042.np"
        );
        assert_eq!(
            parse_seq("snapshot-18446744073709551615.np", SNAPSHOT_PREFIX, EXT),
            Some(u64::MAX)
        );
        assert_eq!(parse_seq("snapshot-42.np", SNAPSHOT_PREFIX, EXT), None);
        assert_eq!(
            parse_seq("snapshot-0000000000000000004x.np", SNAPSHOT_PREFIX, EXT),
            None
        );
    }

    #[test]
    fn listing_ignores_foreign_and_corrupt_files() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "snapshot-00000000000000000001.np",
            "snapshot-00000000000000000002.np.corrupt",
            "snapshot-00000000000000000003.np.tmp",
            "journal-00000000000000000001.np",
            "README",
        ] {
            fs::write(dir.path().join(name), b"x").unwrap();
        }
        let l = list(dir.path()).unwrap();
        assert_eq!(l.snapshots.keys().copied().collect::<Vec<_>>(), [1]);
        assert_eq!(l.journals.keys().copied().collect::<Vec<_>>(), [1]);
        assert_eq!(l.temps.len(), 1);
        assert!(list(&dir.path().join("missing")).unwrap().is_empty());
    }
}
