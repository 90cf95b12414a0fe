//! Wakes open-loop connections at their intended send times. tokio's timers tick in whole
//! milliseconds, and every bit of lateness in sending is (rightly) charged to the request's
//! corrected latency, so a sleep-based sender would add up to 1 ms to every measurement. One OS
//! thread sleeping with the kernel's finer timers and notifying the due connection keeps that
//! error near the kernel's timer slack (~50-100 µs) at the cost of one mostly idle thread.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// The running pacer thread; dropping it stops the thread.
pub(crate) struct Pacer {
    /// Set to ask the thread to stop before the schedule ends.
    stop: Arc<AtomicBool>,
    /// The thread, joined on drop.
    thread: Option<JoinHandle<()>>,
}

impl Pacer {
    /// Notifies `wakers[j % wakers.len()]` at `start + j / rate` for every global slot `j` until
    /// `end`. This matches [`crate::schedule::Schedule`]: connection `c` owns slots `c, c + C, …`.
    pub(crate) fn start(start: Instant, end: Instant, rate: f64, wakers: Vec<Arc<Notify>>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("loadgen-pacer".into())
            .spawn(move || pace(start, end, rate, &wakers, &flag))
            .expect("spawning a thread");
        Self {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Pacer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn pace(start: Instant, end: Instant, rate: f64, wakers: &[Arc<Notify>], stop: &AtomicBool) {
    let n = wakers.len() as u64;
    let slot = |j: u64| start + Duration::from_secs_f64(j as f64 / rate);
    // Next slot not yet notified.
    let mut next = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        if now >= end {
            break;
        }
        // Slots due by now: all of `next..due`. When behind, one notification per connection is
        // enough: a woken connection sends everything it has due.
        let due = ((now.saturating_duration_since(start).as_secs_f64() * rate).floor() as u64 + 1)
            .max(next);
        for j in next.max(due.saturating_sub(n))..due {
            wakers[(j % n) as usize].notify_one();
        }
        next = due;
        // Sleep at most 100 ms at a time so that a stop request is seen promptly.
        let wait = slot(next)
            .saturating_duration_since(Instant::now())
            .min(Duration::from_millis(100));
        if !wait.is_zero() {
            std::thread::sleep(wait);
        }
    }
}
