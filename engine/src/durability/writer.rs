//! The journal writer (DESIGN §6): one thread owns the journal file, so appends land in the
//! order they were handed over and no other thread ever waits on the disk.
//!
//! Pool actors and admin calls *submit* records and get a [`Ticket`]: a place in the one order
//! of the journal. The writer takes every submission waiting when it starts a write as one group
//! (group commit), appends them, then flushes them to the OS or, where a submission asks for it
//! (admin changes, `fsync = always`), fsyncs; only then is the group *settled*, and a reply that
//! depends on a record waits for its ticket to settle. The `everysec` fsync and the check that
//! the journal file is still in place run on the writer's own once-a-second tick.
//!
//! A failed write or fsync is a *fault*: that group and every later submission settle as
//! failed, and the fault is logged once. It lasts until the engine has rotated (the writer then
//! cuts the failed tail off the old journal, back to the end of the last settled group, and
//! opens the next generation) and written a snapshot, when [`Writer::clear_fault`] ends it.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam::channel::{self, Receiver, RecvTimeoutError, Sender};
use numpool_snapshots::Journal;
use parking_lot::{Mutex, RwLock};
use tokio::sync::{oneshot, watch};

use super::image::Record;
use super::{FsyncPolicy, StorageError, StorageFailure};

/// How often the writer fsyncs under `everysec` and checks that its file is still in place.
const TICK: Duration = Duration::from_secs(1);

/// A submission's place in the journal's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Ticket(u64);

/// What the writer thread is asked to do, in submission order.
enum Command {
    /// Append `records`; `fsync` when the submitter's reply needs them on disk, not only with
    /// the OS.
    Append {
        /// The ticket's sequence number.
        seq: u64,
        /// The records, in the order their changes were applied.
        records: Vec<Record>,
        /// Whether the group must be fsynced before it settles.
        fsync: bool,
    },
    /// Start the next generation; answers its sequence number.
    Rotate(oneshot::Sender<Result<u64, StorageFailure>>),
    /// Fsync and stop.
    Stop(oneshot::Sender<Result<(), StorageFailure>>),
}

/// What the writer thread and the submitters share.
struct Shared {
    /// The fault in force, if any: submissions are refused while it lasts.
    fault: RwLock<Option<StorageFailure>>,
    /// Ranges of sequence numbers that settled as failed (faults are rare: a short list).
    failed: RwLock<Vec<(u64, u64)>>,
    /// Every sequence number up to this one has settled.
    settled: watch::Sender<u64>,
    /// The current journal's size, for the snapshot-by-size trigger.
    journal_bytes: AtomicU64,
    /// Faults since start: a fault the engine ends within a second still shows in `/metrics`.
    faults: AtomicU64,
}

impl Shared {
    /// Whether `seq` settled as failed.
    fn failed(&self, seq: u64) -> bool {
        self.failed
            .read()
            .iter()
            .any(|(a, b)| (*a..=*b).contains(&seq))
    }

    /// Marks `first..=last` failed, merging with the range before when they touch.
    fn mark_failed(&self, first: u64, last: u64) {
        let mut failed = self.failed.write();
        match failed.last_mut() {
            Some(range) if range.1 + 1 >= first => range.1 = range.1.max(last),
            _ => failed.push((first, last)),
        }
    }

    /// The fault in force, or a generic one for a ticket that failed before it was cleared.
    fn fault_or_past(&self) -> StorageFailure {
        self.fault
            .read()
            .clone()
            .unwrap_or_else(|| StorageFailure::new(StorageError::Refused))
    }
}

/// Hands records to the writer thread and tells when they are stored.
pub(crate) struct Writer {
    /// The next sequence number and the channel, behind one lock so that taking a number and
    /// sending under it is one step: the writer receives submissions in sequence order. The
    /// lock is held for a channel send, never across I/O.
    submit: Mutex<(u64, Sender<Command>)>,
    /// State shared with the thread.
    shared: Arc<Shared>,
    /// The thread, joined at [`Writer::stop`].
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Writer {
    /// Starts the writer thread on `journal` (opened by recovery) under `policy`.
    pub(crate) fn start(journal: Journal, dir: PathBuf, policy: FsyncPolicy) -> Writer {
        let (tx, rx) = channel::unbounded();
        let shared = Arc::new(Shared {
            fault: RwLock::new(None),
            failed: RwLock::new(Vec::new()),
            settled: watch::channel(0).0,
            journal_bytes: AtomicU64::new(journal.size_bytes()),
            faults: AtomicU64::new(0),
        });
        let thread = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("journal-writer".into())
                .spawn(move || {
                    Thread {
                        acked_len: journal.size_bytes(),
                        journal,
                        dir,
                        policy,
                        shared,
                    }
                    .run(rx)
                })
                .expect("spawn the journal writer")
        };
        Writer {
            submit: Mutex::new((1, tx)),
            shared,
            thread: Mutex::new(Some(thread)),
        }
    }

    /// Queues `records` after everything submitted before; `fsync` when the reply waiting on
    /// them needs them on disk. Refused at once while a fault lasts.
    pub(crate) fn submit(
        &self,
        records: Vec<Record>,
        fsync: bool,
    ) -> Result<Ticket, StorageFailure> {
        if let Some(fault) = self.fault() {
            return Err(fault);
        }
        let mut submit = self.submit.lock();
        let seq = submit.0;
        submit.0 += 1;
        submit
            .1
            .send(Command::Append {
                seq,
                records,
                fsync,
            })
            .map_err(|_| StorageFailure::new(StorageError::Refused))?;
        Ok(Ticket(seq))
    }

    /// Completes when `ticket` has settled: `Ok` when its records are stored as asked.
    pub(crate) fn settled(
        &self,
        ticket: Ticket,
    ) -> impl std::future::Future<Output = Result<(), StorageFailure>> + 'static {
        let shared = self.shared.clone();
        let mut settled = shared.settled.subscribe();
        async move {
            if settled.wait_for(|done| *done >= ticket.0).await.is_err() {
                // The writer is gone (shutdown): nothing after its last group is stored.
                return Err(StorageFailure::new(StorageError::Refused));
            }
            if shared.failed(ticket.0) {
                Err(shared.fault_or_past())
            } else {
                Ok(())
            }
        }
    }

    /// Starts the next journal generation (for a snapshot); its sequence number.
    pub(crate) async fn rotate(&self) -> Result<u64, StorageFailure> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Rotate(reply))?;
        answer
            .await
            .unwrap_or_else(|_| Err(StorageFailure::new(StorageError::Refused)))
    }

    /// Fsyncs and stops the thread; later submissions are refused.
    pub(crate) async fn stop(&self) -> Result<(), StorageFailure> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Stop(reply))?;
        let result = answer
            .await
            .unwrap_or_else(|_| Err(StorageFailure::new(StorageError::Refused)));
        if let Some(thread) = self.thread.lock().take() {
            // The thread answered and is returning; joining it does not wait on the disk.
            let _ = thread.join();
        }
        result
    }

    /// The fault in force, if any.
    pub(crate) fn fault(&self) -> Option<StorageFailure> {
        self.shared.fault.read().clone()
    }

    /// Ends the fault in force: the journal was rotated and a snapshot holds every change
    /// acknowledged before it.
    pub(crate) fn clear_fault(&self) {
        if self.shared.fault.write().take().is_some() {
            tracing::info!("storage recovered: changes are acknowledged again");
        }
    }

    /// Faults since start.
    pub(crate) fn faults(&self) -> u64 {
        self.shared.faults.load(Ordering::Relaxed)
    }

    /// The current journal's size in bytes.
    pub(crate) fn journal_bytes(&self) -> u64 {
        self.shared.journal_bytes.load(Ordering::Relaxed)
    }

    fn send(&self, command: Command) -> Result<(), StorageFailure> {
        self.submit
            .lock()
            .1
            .send(command)
            .map_err(|_| StorageFailure::new(StorageError::Refused))
    }
}

/// The writer thread's state.
struct Thread {
    /// The current generation's journal; only this thread touches it.
    journal: Journal,
    /// The data directory, for the next generation.
    dir: PathBuf,
    /// When sticky assignments are fsynced.
    policy: FsyncPolicy,
    /// What the submitters see.
    shared: Arc<Shared>,
    /// The journal's length after the last group that settled well: a fault's failed tail is
    /// cut back to it, so nothing refused is replayed.
    acked_len: u64,
}

impl Thread {
    fn run(mut self, rx: Receiver<Command>) {
        let mut next_tick = Instant::now() + TICK;
        loop {
            let timeout = next_tick.saturating_duration_since(Instant::now());
            let first = match rx.recv_timeout(timeout) {
                Ok(command) => Some(command),
                Err(RecvTimeoutError::Timeout) => None,
                // Every submitter is gone: the engine was dropped without a stop.
                Err(RecvTimeoutError::Disconnected) => {
                    let _ = self.journal.sync();
                    return;
                }
            };
            if Instant::now() >= next_tick {
                self.tick();
                // Fixed rate: the next fsync is due a second after this one was, not a second
                // after it ended, so a slow fsync does not stretch the `everysec` window.
                next_tick = (next_tick + TICK).max(Instant::now());
            }
            let Some(first) = first else { continue };
            // Group commit: everything already waiting goes into this write, up to the first
            // command that is not an append (it must see the appends before it settled).
            let mut group = Vec::new();
            let mut other = None;
            let mut next = Some(first);
            while let Some(command) = next.take() {
                match command {
                    Command::Append {
                        seq,
                        records,
                        fsync,
                    } => group.push((seq, records, fsync)),
                    command => {
                        other = Some(command);
                        break;
                    }
                }
                next = rx.try_recv().ok();
            }
            if !group.is_empty() {
                self.write(group);
            }
            match other {
                Some(Command::Rotate(reply)) => {
                    let _ = reply.send(self.rotate());
                }
                Some(Command::Stop(reply)) => {
                    let _ = reply.send(self.stop());
                    return;
                }
                Some(Command::Append { .. }) | None => {}
            }
        }
    }

    /// Appends one group and settles it.
    fn write(&mut self, group: Vec<(u64, Vec<Record>, bool)>) {
        let (first, last) = (group[0].0, group[group.len() - 1].0);
        if self.shared.fault.read().is_some() {
            self.shared.mark_failed(first, last);
            self.shared.settled.send_replace(last);
            return;
        }
        let fsync = self.policy == FsyncPolicy::Always || group.iter().any(|(_, _, f)| *f);
        let written = (|| {
            for (_, records, _) in &group {
                for record in records {
                    self.journal.append(record)?;
                }
            }
            if fsync {
                self.journal.sync()
            } else {
                self.journal.flush()
            }
        })();
        match written {
            Ok(()) => self.acked_len = self.journal.size_bytes(),
            Err(err) => {
                self.fail(StorageError::Journal(err));
                self.shared.mark_failed(first, last);
            }
        }
        self.shared
            .journal_bytes
            .store(self.journal.size_bytes(), Ordering::Relaxed);
        self.shared.settled.send_replace(last);
    }

    /// The once-a-second duties: the `everysec` fsync, and noticing a journal file that was
    /// deleted or replaced under the server (every later append would be lost with its inode).
    fn tick(&mut self) {
        if self.shared.fault.read().is_some() {
            return;
        }
        if self.policy == FsyncPolicy::Everysec {
            if let Err(err) = self.journal.sync() {
                self.fail(StorageError::Journal(err));
                return;
            }
        }
        if !self.journal.is_in_place() {
            self.fail(StorageError::JournalGone {
                seq: self.journal.seq(),
            });
        }
    }

    /// Starts the next generation. After a fault, first cuts the old journal back to its last
    /// settled group: those records are all that was acknowledged.
    fn rotate(&mut self) -> Result<u64, StorageFailure> {
        let rotated = (|| {
            if self.shared.fault.read().is_some() {
                self.journal.rewind(self.acked_len)?;
            } else {
                self.journal.sync()?;
                // A journal deleted since the last tick must not be rotated away unnoticed:
                // its acknowledged records are gone from the disk.
                if !self.journal.is_in_place() {
                    return Ok(None);
                }
            }
            let next = self.journal.seq() + 1;
            self.journal = Journal::create(&self.dir, next)?;
            Ok::<_, numpool_snapshots::JournalError>(Some(next))
        })();
        match rotated {
            Ok(None) => Err(self.fail(StorageError::JournalGone {
                seq: self.journal.seq(),
            })),
            Ok(Some(next)) => {
                self.acked_len = self.journal.size_bytes();
                self.shared
                    .journal_bytes
                    .store(self.acked_len, Ordering::Relaxed);
                Ok(next)
            }
            // Still failing while a fault lasts: this attempt's own error, for the caller.
            Err(err) if self.shared.fault.read().is_some() => {
                Err(StorageFailure::new(StorageError::Journal(err)))
            }
            Err(err) => Err(self.fail(StorageError::Journal(err))),
        }
    }

    fn stop(&mut self) -> Result<(), StorageFailure> {
        if let Some(fault) = self.shared.fault.read().clone() {
            return Err(fault);
        }
        self.journal
            .sync()
            .map_err(|err| self.fail(StorageError::Journal(err)))
    }

    /// Enters (or stays in) a fault; logs it once, when it starts.
    fn fail(&self, err: StorageError) -> StorageFailure {
        let mut fault = self.shared.fault.write();
        if let Some(existing) = &*fault {
            return existing.clone();
        }
        tracing::error!(
            error = &err as &dyn std::error::Error,
            "storage failed: changes are refused until it recovers"
        );
        let failure = StorageFailure::new(err);
        *fault = Some(failure.clone());
        self.shared.faults.fetch_add(1, Ordering::Relaxed);
        failure
    }
}
