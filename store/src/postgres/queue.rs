//! The queue between the callers of a PostgreSQL store and its batch threads (the inserters
//! of `batch`, the upserters of `upsert`): callers push and return at once; a thread takes
//! everything queued at that moment (up to a bound) and answers each caller itself.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

/// A queue of work items for a store's batch threads.
pub(super) struct WorkQueue<T> {
    state: Mutex<State<T>>,
    /// Signalled when an item is queued while a thread sleeps, or when closing.
    wake: Condvar,
}

struct State<T> {
    items: Vec<T>,
    /// How many threads wait for `wake`.
    sleeping: usize,
    closed: bool,
}

impl<T> WorkQueue<T> {
    pub(super) fn new() -> WorkQueue<T> {
        WorkQueue {
            state: Mutex::new(State {
                items: Vec::new(),
                sleeping: 0,
                closed: false,
            }),
            wake: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // Nothing is left half done under this lock.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `item` for the next batch; gives it back if the queue is closed.
    pub(super) fn push(&self, item: T) -> Result<(), T> {
        let mut state = self.lock();
        if state.closed {
            return Err(item);
        }
        state.items.push(item);
        if state.sleeping > 0 {
            self.wake.notify_one();
        }
        Ok(())
    }

    /// Waits until something is queued and takes at most `max` items, oldest first; `None`
    /// once the queue is closed and empty (what was queued before closing is still taken).
    pub(super) fn take(&self, max: usize) -> Option<Vec<T>> {
        let mut state = self.lock();
        while state.items.is_empty() && !state.closed {
            state.sleeping += 1;
            state = self
                .wake
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
            state.sleeping -= 1;
        }
        if state.items.is_empty() {
            return None;
        }
        let take = state.items.len().min(max);
        Some(state.items.drain(..take).collect())
    }

    /// Refuses further items and wakes every waiting thread.
    pub(super) fn close(&self) {
        self.lock().closed = true;
        self.wake.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn items_are_taken_in_order_in_bounded_batches() {
        let queue = WorkQueue::new();
        for i in 0..5 {
            assert!(queue.push(i).is_ok());
        }
        assert_eq!(queue.take(3), Some(vec![0, 1, 2]));
        assert_eq!(queue.take(3), Some(vec![3, 4]));
        queue.close();
        assert_eq!(queue.push(5), Err(5), "a closed queue gives the item back");
        assert_eq!(queue.take(3), None);
    }

    #[test]
    fn what_was_queued_before_closing_is_still_taken_and_sleepers_wake() {
        let queue = Arc::new(WorkQueue::new());
        let sleeper = {
            let queue = Arc::clone(&queue);
            std::thread::spawn(move || {
                let mut seen = Vec::new();
                while let Some(batch) = queue.take(10) {
                    seen.extend(batch);
                }
                seen
            })
        };
        queue.push(1).unwrap();
        queue.push(2).unwrap();
        queue.close();
        let mut seen = sleeper.join().unwrap();
        seen.sort_unstable();
        assert_eq!(seen, vec![1, 2]);
    }
}
