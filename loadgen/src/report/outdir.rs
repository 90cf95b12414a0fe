//! Where a run without `--out` writes: a fresh directory per run, named by when it started (UTC)
//! and what it did, under `loadgen-out/`, so that a sequence of runs keeps every result.

use super::ReportError;
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

/// Where the per-run directories go, relative to the working directory.
pub const DEFAULT_BASE: &str = "loadgen-out";

/// `2026-12-01T23-50-12Z` (no colons, so the name is valid on every file system).
fn stamp(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}-{:02}-{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Creates and returns `base/<time>-<what>`, or `base/<time>-<what>-2`, `-3`, … when that is
/// taken (two runs in the same second). The directory is created here, with `create_dir`, so two
/// runs started at once cannot pick the same one.
pub fn claim(base: &Path, started: OffsetDateTime, what: &str) -> Result<PathBuf, ReportError> {
    std::fs::create_dir_all(base).map_err(super::err(base))?;
    let name = format!("{}-{what}", stamp(started));
    let mut n = 1u32;
    loop {
        let dir = match n {
            1 => base.join(&name),
            _ => base.join(format!("{name}-{n}")),
        };
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => n += 1,
            Err(e) => return Err(super::err(&dir)(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_runs_in_the_same_second_get_distinct_directories() {
        let base = tempfile::tempdir().unwrap();
        let t = OffsetDateTime::from_unix_timestamp(1_796_169_012).unwrap();
        let a = claim(&base.path().join("loadgen-out"), t, "pick-max").unwrap();
        let b = claim(&base.path().join("loadgen-out"), t, "pick-max").unwrap();
        assert_ne!(a, b);
        assert!(a.is_dir() && b.is_dir());
        assert_eq!(
            a.file_name().unwrap().to_str().unwrap(),
            "2026-12-01T23-50-12Z-pick-max"
        );
        assert_eq!(
            b.file_name().unwrap().to_str().unwrap(),
            "2026-12-01T23-50-12Z-pick-max-2"
        );
        let c = claim(base.path(), t + time::Duration::seconds(1), "ping-2000rps").unwrap();
        assert!(c.ends_with("2026-12-01T23-50-13Z-ping-2000rps"), "{c:?}");
    }
}
