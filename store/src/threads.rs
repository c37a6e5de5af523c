//! The background threads of a store (the SQLite writer and checkpointer, the PostgreSQL
//! inserters), started on first use in each process: a child of a `fork` (a Python server's
//! pre-forked workers) inherits the store but not its threads, and starts its own.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, PoisonError};
use std::thread::JoinHandle;

use nox_authenticator::{Error, Result};

/// A store's threads, and the process they run in.
#[derive(Default)]
pub(crate) struct Threads {
    /// The process id of the threads' process (0 before they start).
    pid: AtomicU32,
    handles: Mutex<Vec<JoinHandle<()>>>,
}

impl Threads {
    /// Starts the threads (`start` spawns them, named `name`) unless this process has them.
    pub(crate) fn ensure(
        &self,
        start: impl FnOnce(&mut dyn FnMut(&str, Box<dyn FnOnce() + Send>) -> Result<()>) -> Result<()>,
    ) -> Result<()> {
        let pid = std::process::id();
        if self.pid.load(Ordering::Acquire) == pid {
            return Ok(());
        }
        let mut handles = self.handles.lock().unwrap_or_else(PoisonError::into_inner);
        if self.pid.load(Ordering::Acquire) == pid {
            return Ok(());
        }
        // Handles inherited through `fork` name threads of the parent: forget them (neither
        // join nor detach them).
        for old in handles.drain(..) {
            std::mem::forget(old);
        }
        let mut spawn = |name: &str, run: Box<dyn FnOnce() + Send>| -> Result<()> {
            let handle = std::thread::Builder::new()
                .name(name.into())
                .spawn(run)
                .map_err(|e| Error::store(format!("cannot start the {name} thread: {e}")))?;
            handles.push(handle);
            Ok(())
        };
        start(&mut spawn)?;
        self.pid.store(pid, Ordering::Release);
        Ok(())
    }

    /// Waits for the threads to end (the caller has told them to), if they run in this
    /// process.
    pub(crate) fn join(&self) {
        let handles =
            std::mem::take(&mut *self.handles.lock().unwrap_or_else(PoisonError::into_inner));
        let ours = self.pid.load(Ordering::Acquire) == std::process::id();
        for handle in handles {
            if ours {
                let _ = handle.join();
            } else {
                std::mem::forget(handle);
            }
        }
    }
}
