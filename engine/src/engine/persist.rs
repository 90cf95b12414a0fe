//! Snapshots of the running engine (DESIGN §6): capture without stopping picks, encode off the
//! actor threads, write, and the background tick that fsyncs (`everysec`) and triggers
//! snapshots by time and by journal size.

use std::error::Error;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::{AccountHandle, Engine, EngineError};
use crate::actors::messages::{CopyShard, OptOutPage};
use crate::durability::checkpoint::CheckpointImage;
use crate::durability::image::{AccountImage, PoolImage, StateImage};
use crate::durability::{convert, StorageError};
use numpool_core::model::OutagePolicy;
use numpool_core::sticky::SHARDS;

/// When to snapshot on its own.
#[derive(Clone, Copy, Debug)]
pub struct SnapshotSchedule {
    /// Snapshot at least this often.
    pub(crate) interval: Duration,
    /// Snapshot when the journal grows past this many bytes.
    pub(crate) journal_bytes: u64,
}

/// What a snapshot did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotReport {
    /// Its sequence number.
    pub seq: u64,
    /// Sticky mappings it holds.
    pub mappings: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Copying the state out of the admin views and the pool actors.
    pub(crate) capture: Duration,
    /// Encoding the copy (bincode).
    pub(crate) encode: Duration,
    /// Writing it: temp file, fsync, rename, directory fsync, pruning.
    pub(crate) write: Duration,
}

/// The whole state as [`Engine::capture`] captured it.
struct Captured {
    /// The state.
    image: StateImage,
    /// The pools that answer locally while the cluster is unreachable (cluster mode: a
    /// setting the image's pool headers do not carry).
    local_pools: Vec<u64>,
    /// Each account's last admin log record applied (cluster mode).
    applied: Vec<(String, u64)>,
}

/// One account as [`Engine::capture_account`] captured it.
pub(super) struct CapturedAccount {
    /// The account.
    pub(super) image: AccountImage,
    /// The sequence of the last admin log record applied to its admin view (0 single-node).
    pub(super) applied_seq: u64,
    /// Its pools that answer locally while the cluster is unreachable.
    pub(super) local_pools: Vec<u64>,
    /// The uids of its pools whose actor did not answer (deleted meanwhile, or lost): the
    /// image lacks their opt-outs and mappings.
    pub(super) unanswered: Vec<u64>,
}

impl Engine {
    /// Writes a snapshot of the whole state and rotates the journal; `None` without storage.
    /// Picks go on meanwhile: each pool's mappings are copied one shard per actor message, and
    /// the encoding runs on a blocking thread.
    pub async fn snapshot(&self) -> Result<Option<SnapshotReport>, EngineError> {
        let Some(storage) = self.inner.storage.clone() else {
            return Ok(None);
        };
        let _one_at_a_time = self.inner.snapshotting.lock().await;
        let started = Instant::now();
        // Records submitted from here on go to the new generation and are replayed on top of
        // this snapshot; they set state, so replaying one the image already holds is harmless.
        // The writer thread rotates (fsync, new file), in its order of submissions.
        let seq = storage.rotate().await.map_err(EngineError::Storage)?;
        let image = self.capture().await.image;
        let capture = started.elapsed();
        let mappings = image.mappings();
        let (written, encode, write) = tokio::task::spawn_blocking(move || {
            let encoding = Instant::now();
            let payload = numpool_snapshots::encode_payload(&image).map_err(StorageError::from)?;
            let encode = encoding.elapsed();
            let written = storage.write_snapshot(seq, &payload)?;
            Ok::<_, EngineError>((written, encode, encoding.elapsed() - encode))
        })
        .await
        .map_err(|source| StorageError::TaskFailed {
            task: "snapshot writing",
            source,
        })??;
        tracing::info!(
            seq,
            mappings,
            bytes = written.file_len,
            elapsed_ms = started.elapsed().as_millis() as u64,
            capture_ms = capture.as_millis() as u64,
            encode_ms = encode.as_millis() as u64,
            write_ms = write.as_millis() as u64,
            "snapshot written"
        );
        Ok(Some(SnapshotReport {
            seq,
            mappings,
            bytes: written.file_len,
            capture,
            encode,
            write,
        }))
    }

    /// Cluster mode with a data directory: writes a checkpoint, the whole state with the admin
    /// log's sequence applied before its capture began; `None` without one. Picks go on
    /// meanwhile, as for a snapshot.
    pub async fn checkpoint(&self) -> Result<Option<SnapshotReport>, EngineError> {
        let Some(link) = self.cluster() else {
            return Ok(None);
        };
        let Some(checkpoints) = link.checkpoints.clone() else {
            return Ok(None);
        };
        let _one_at_a_time = self.inner.snapshotting.lock().await;
        let started = Instant::now();
        // Read first: every record up to it was applied under its account's admin lock, which
        // the capture takes afterwards, so the image holds them all.
        let replayed = *link.applied.borrow();
        let captured = self.capture().await;
        let capture = started.elapsed();
        let mappings = captured.image.mappings();
        let image = CheckpointImage {
            replayed,
            state: captured.image,
            local_pools: captured.local_pools,
            applied: captured.applied,
        };
        let written = tokio::task::spawn_blocking(move || checkpoints.write(&image))
            .await
            .map_err(|source| StorageError::TaskFailed {
                task: "checkpoint writing",
                source,
            })??;
        link.checkpointed.store(replayed, Ordering::Relaxed);
        tracing::info!(
            replayed,
            mappings,
            bytes = written.file_len,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "checkpoint written"
        );
        Ok(Some(SnapshotReport {
            seq: written.seq,
            mappings,
            bytes: written.file_len,
            capture,
            encode: Duration::ZERO,
            write: started.elapsed() - capture,
        }))
    }

    /// A checkpoint every `interval` for the process's life (cluster mode with a data
    /// directory).
    async fn run_checkpoints(&self, interval: Duration) {
        if self.cluster().is_none_or(|link| link.checkpoints.is_none()) {
            return;
        }
        let mut ticks = tokio::time::interval(interval);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            if let Err(err) = self.checkpoint().await {
                tracing::error!(error = &err as &dyn Error, "checkpoint failed");
            }
        }
    }

    /// The whole state as an image, each account captured as [`Engine::capture_account`]
    /// captures it.
    async fn capture(&self) -> Captured {
        let mut accounts: Vec<_> = self.inner.accounts.iter().collect();
        accounts.sort_by(|a, b| a.0.cmp(b.0));
        let mut image = StateImage {
            next_pool_uid: self.inner.next_pool_uid.load(Ordering::SeqCst),
            accounts: Vec::with_capacity(accounts.len()),
        };
        let (mut local_pools, mut applied) = (Vec::new(), Vec::new());
        for (id, state) in accounts {
            let captured = self
                .capture_account(&AccountHandle(state.clone()), true)
                .await;
            image.accounts.push(captured.image);
            local_pools.extend(captured.local_pools);
            applied.push((id.as_str().to_owned(), captured.applied_seq));
        }
        Captured {
            image,
            local_pools,
            applied,
        }
    }

    /// One account as an image, with its sticky tables when `mappings` says so. The admin view
    /// (inventory, pools, members, settings) is copied under the account's admin lock, with the
    /// sequence of the last admin log record applied to it; the sticky tables and opt-outs are
    /// copied afterwards from the pools' actors, without it, so they may hold later changes
    /// (which set what they set when applied again).
    pub(super) async fn capture_account(
        &self,
        account: &AccountHandle,
        mappings: bool,
    ) -> CapturedAccount {
        let (numbers, pools, opt_out_signals, applied_seq, local_pools) = {
            let data = account.0.admin.lock().await;
            let numbers = data.inventory.values().map(convert::number_image).collect();
            let opt_out_signals = data.feedback.signal_images();
            let pools: Vec<_> = data
                .pools
                .iter()
                .map(|(pool_id, e)| {
                    let header = convert::pool_header(
                        e.uid,
                        pool_id,
                        &e.settings,
                        e.created_at,
                        e.updated_at,
                    );
                    let members = e.members.iter().map(|n| n.get()).collect();
                    (header, members, e.addr.clone())
                })
                .collect();
            let local_pools = data
                .pools
                .values()
                .filter(|e| e.settings.cluster_unavailable == OutagePolicy::Local)
                .map(|e| e.uid)
                .collect();
            let applied_seq = account.0.applied_seq.load(Ordering::Acquire);
            (numbers, pools, opt_out_signals, applied_seq, local_pools)
        };
        let mut pool_images = Vec::with_capacity(pools.len());
        let mut unanswered = Vec::new();
        for (header, members, addr) in pools {
            let mut sticky = Vec::new();
            for shard in (0..SHARDS).filter(|_| mappings) {
                // A pool deleted meanwhile has no actor: its mappings are gone anyway.
                if let Ok(entries) = addr.send(CopyShard(shard)).await {
                    sticky.extend(entries.iter().map(convert::sticky_image));
                }
            }
            // One message: opt-outs are few beside mappings.
            let opt_outs = match addr
                .send(OptOutPage {
                    skip: 0,
                    take: usize::MAX,
                })
                .await
            {
                Ok((entries, _)) => entries
                    .iter()
                    .map(|(to, opt_out)| convert::opt_out_image(*to, opt_out))
                    .collect(),
                Err(_) => {
                    unanswered.push(header.uid);
                    Vec::new()
                }
            };
            pool_images.push(PoolImage {
                header,
                members,
                sticky,
                opt_outs,
            });
        }
        CapturedAccount {
            image: AccountImage {
                id: account.id().as_str().to_owned(),
                numbers,
                pools: pool_images,
                opt_out_signals,
            },
            applied_seq,
            local_pools,
            unanswered,
        }
    }

    /// Runs the background duties of a durable engine until the process ends: snapshots by
    /// `schedule`, and, while a storage fault lasts, a try every second to end it (rotate, then
    /// a snapshot of everything acknowledged). Without storage, the checkpoints of a cluster
    /// sidecar with a data directory, or nothing. (The `everysec` fsync
    /// runs on the journal writer, not here.)
    pub(crate) async fn run_background(&self, schedule: SnapshotSchedule) {
        let Some(storage) = self.inner.storage.clone() else {
            return self.run_checkpoints(schedule.interval).await;
        };
        let mut ticks = tokio::time::interval(Duration::from_secs(1));
        // Due an interval after the base snapshot was taken, not after this start: a process
        // restarted more often than the interval would otherwise never snapshot, and its journal
        // (and every recovery's replay) would only grow.
        let age = storage.base_time.and_then(|t| t.elapsed().ok());
        let mut due = Instant::now() + schedule.interval.saturating_sub(age.unwrap_or_default());
        loop {
            ticks.tick().await;
            if storage.fault().is_some() {
                // Failures here repeat the fault the writer logged once: not logged again.
                let attempt = self.snapshot().await;
                if let Err(err) = &attempt {
                    tracing::debug!(error = err as &dyn Error, "storage still failing");
                }
                if attempt.is_ok() {
                    storage.clear_fault();
                    due = Instant::now() + schedule.interval;
                }
                continue;
            }
            if Instant::now() >= due || storage.journal_bytes() >= schedule.journal_bytes {
                due = Instant::now() + schedule.interval;
                if let Err(err) = self.snapshot().await {
                    tracing::error!(error = &err as &dyn Error, "snapshot failed");
                }
            }
        }
    }

    /// At shutdown: a final snapshot, so a clean stop loses nothing and the next start replays
    /// little, then the journal writer's last fsync.
    pub(crate) async fn shutdown(&self) -> Result<(), EngineError> {
        self.checkpoint().await?;
        let snapshot = self.snapshot().await.map(drop);
        if let Some(storage) = &self.inner.storage {
            storage.close().await.map_err(EngineError::Storage)?;
        }
        snapshot
    }
}
