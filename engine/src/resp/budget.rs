//! One server-wide budget for input that has arrived but not yet been executed (DESIGN §4): every
//! connection takes from it before a read and gives back once its commands have run, so no
//! number of clients, each within its own limits, can together push memory past it.

use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Notify;

/// Bytes of unexecuted input the whole server may hold.
#[derive(Debug)]
pub(crate) struct InputBudget {
    /// What is left.
    left: AtomicUsize,
    /// Woken each time a take finds the budget spent, so that a connection holding part of a
    /// command while it waits for its client's next bytes learns that someone waits for the
    /// share it holds (see [`InputBudget::starved`]).
    refused: Notify,
}

impl InputBudget {
    /// A budget of `bytes`.
    pub(crate) fn new(bytes: usize) -> Self {
        InputBudget {
            left: AtomicUsize::new(bytes),
            refused: Notify::new(),
        }
    }

    /// Takes up to `bytes` of what is left; how many it took (0 when the budget is spent).
    pub(crate) fn take_up_to(&self, bytes: usize) -> usize {
        match self
            .left
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |left| {
                (left > 0).then(|| left - left.min(bytes))
            }) {
            Ok(before) => before.min(bytes),
            Err(_) => {
                self.refused.notify_waiters();
                0
            }
        }
    }

    /// Completes the next time a take finds the budget spent (a connection waits for bytes
    /// others hold).
    pub(crate) async fn starved(&self) {
        self.refused.notified().await;
    }

    /// Gives `bytes` back.
    pub(crate) fn give(&self, bytes: usize) {
        self.left.fetch_add(bytes, Ordering::AcqRel);
    }

    /// What is left, for tests and `INFO`.
    #[cfg(test)]
    pub(crate) fn left(&self) -> usize {
        self.left.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_only_what_is_left_and_gets_it_back() {
        let budget = InputBudget::new(10);
        assert_eq!(budget.take_up_to(6), 6);
        assert_eq!(budget.take_up_to(6), 4);
        assert_eq!(budget.take_up_to(6), 0);
        budget.give(10);
        assert_eq!(budget.left(), 10);
    }
}
