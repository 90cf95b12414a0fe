//! Power-loss tests (DESIGN §6): the crash test of `crash.rs` with the data directory on
//! LazyFS, which keeps every byte not fsynced in its own cache. Each cycle SIGKILLs numpool at
//! a random moment under mixed REST admin and pipelined RESP load, then drops that cache
//! (`lazyfs::clear-cache`, a power loss) before the restart, and checks each policy's promise:
//! every acknowledged admin change is there under every policy; every acknowledged mapping
//! under `always`; under `everysec` all but those acknowledged in the last 2 s; under `no` all
//! but those acknowledged after the last fsync the test knows of (the last acknowledged admin
//! change); never a refusal to start, never a mapping to a number that left the pool.
//!
//! Needs root, /dev/fuse and LazyFS, so it is `#[ignore]`d in `cargo test --workspace` and run
//! by `.ci/power_loss.sh`, which builds LazyFS from `tools/lazyfs` and sets `NUMPOOL_LAZYFS` to
//! `.ci/lazyfs.sh`. Run by hand without it, the test fails: it never passes without LazyFS.
//! `NUMPOOL_POWER_LOSS_CYCLES` (default 30, 10 per policy), `NUMPOOL_CRASH_SEED`,
//! `NUMPOOL_TEST_LOG=1` as in `crash.rs`.

mod crashkit;
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use crashkit::{env_u64, Kill};

/// Power-loss cycles of the default run, split evenly across the three policies.
const DEFAULT_CYCLES: usize = 30;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root and LazyFS: run .ci/power_loss.sh"]
async fn acknowledged_changes_survive_power_loss() {
    let cycles = env_u64("NUMPOOL_POWER_LOSS_CYCLES").map_or(DEFAULT_CYCLES, |c| c as usize);
    let work = tempfile::tempdir().expect("work dir");
    let lazyfs = LazyFs::mount(work.path());
    let power_loss = || lazyfs.clear_cache();
    // Kills up to 3 s in, so that some `everysec` cycles have mappings older than its window.
    crashkit::run_cycles(
        &lazyfs.mnt,
        cycles,
        100..3_000,
        Kill::PowerLoss(&power_loss),
    )
    .await;
}

/// A LazyFS mount, through the helper `NUMPOOL_LAZYFS` names (`.ci/lazyfs.sh`); unmounted on drop.
struct LazyFs {
    helper: PathBuf,
    mnt: PathBuf,
    fifo: PathBuf,
}

impl LazyFs {
    fn mount(work: &Path) -> LazyFs {
        let helper = std::env::var_os("NUMPOOL_LAZYFS")
            .map(PathBuf::from)
            .expect(
                "NUMPOOL_LAZYFS must name the LazyFS helper (.ci/lazyfs.sh): run .ci/power_loss.sh",
            );
        let lazyfs = LazyFs {
            helper,
            mnt: work.join("mnt"),
            fifo: work.join("faults.fifo"),
        };
        let real = work.join("real");
        lazyfs.run(&[
            "mount".as_ref(),
            lazyfs.mnt.as_os_str(),
            real.as_os_str(),
            lazyfs.fifo.as_os_str(),
        ]);
        lazyfs
    }

    /// Drops every byte not fsynced, as a power loss would.
    fn clear_cache(&self) {
        self.run(&["clear-cache".as_ref(), self.fifo.as_os_str()]);
    }

    fn run(&self, args: &[&std::ffi::OsStr]) {
        let status = Command::new(&self.helper)
            .args(args)
            .status()
            .unwrap_or_else(|e| panic!("{}: {e}", self.helper.display()));
        assert!(
            status.success(),
            "{} {args:?}: {status}",
            self.helper.display()
        );
    }
}

impl Drop for LazyFs {
    fn drop(&mut self) {
        let _ = Command::new(&self.helper)
            .arg("umount")
            .arg(&self.mnt)
            .status();
    }
}
