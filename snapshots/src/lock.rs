//! The data directory lock: one process at a time recovers, appends to and snapshots a data
//! directory. Two would interleave records in one journal, and the second one's recovery would
//! cut the first one's in-flight append as a torn tail.
//!
//! The lock is an OS advisory lock (`flock`, through std's [`File::try_lock`]) on the file
//! [`LOCK_FILE`] in the directory, held through an open file for as long as the [`DirLock`]
//! lives. The kernel releases it when the process ends however it ends, so a SIGKILL or a power
//! loss leaves no stale lock behind: the file stays, its lock does not. The holder writes its pid
//! into the file, for the error the next process reports.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::Duration;

use crate::error::{LockError, LockErrorKind};

/// Name of the lock file inside the data directory.
pub const LOCK_FILE: &str = "LOCK";

/// How often, and how long apart, a refused process rereads the holder's pid: the holder writes
/// it just after taking the lock, so a start racing another may find the file still empty.
const PID_READS: usize = 20;
const PID_READ_PAUSE: Duration = Duration::from_millis(5);

/// The lock on a data directory, held until dropped (in numpool: for the process's life).
#[derive(Debug)]
pub struct DirLock {
    /// The open, locked lock file; closing it releases the lock.
    _file: File,
}

/// Takes the lock on `dir` (which must exist) without waiting: another holder is
/// [`LockErrorKind::Held`] with its pid.
pub fn lock_dir(dir: &Path) -> Result<DirLock, LockError> {
    let path = dir.join(LOCK_FILE);
    let io_err = LockError::io(&path);
    // Not truncated on open: until the lock is ours, the pid in the file is the holder's.
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(&io_err)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let pid = holder_pid(&mut file);
            return Err(LockError::new(&path, LockErrorKind::Held { pid }));
        }
        Err(TryLockError::Error(e)) => return Err(io_err(e)),
    }
    // Not fsynced: the pid only matters while this process lives, and the lock with it.
    file.set_len(0)
        .and_then(|()| file.write_all(format!("{}\n", std::process::id()).as_bytes()))
        .map_err(&io_err)?;
    Ok(DirLock { _file: file })
}

/// The pid the holder wrote into the lock file, if it has yet.
fn holder_pid(file: &mut File) -> Option<u32> {
    for _ in 0..PID_READS {
        let mut text = String::new();
        let read = file
            .seek(SeekFrom::Start(0))
            .and_then(|_| file.read_to_string(&mut text));
        if let Some(pid) = read.ok().and_then(|_| text.trim().parse().ok()) {
            return Some(pid);
        }
        std::thread::sleep(PID_READ_PAUSE);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_names_the_holder_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let first = lock_dir(dir.path()).unwrap();
        let pid = std::process::id();
        assert_eq!(
            std::fs::read_to_string(dir.path().join(LOCK_FILE)).unwrap(),
            format!("{pid}\n")
        );
        // flock locks belong to the open file, so a second open in this process conflicts too.
        let err = lock_dir(dir.path()).unwrap_err();
        assert!(
            matches!(err.kind, LockErrorKind::Held { pid: Some(p) } if p == pid),
            "{err}"
        );
        let msg = err.to_string();
        assert!(msg.contains(&format!("process {pid}")), "{msg}");
        assert!(msg.contains(&dir.path().join(LOCK_FILE).display().to_string()));
        drop(first);
        // The file stays, the lock does not: what a killed holder leaves.
        lock_dir(dir.path()).unwrap();
    }
}
