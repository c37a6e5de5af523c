//! Log lines gathered per runtime worker and written to standard error a batch at a time.
//!
//! Every request logs a line (spec decision 14), and a `write` per line to a log file costs
//! the server about a tenth of its throughput (measured on the memory store: 46,600-49,400
//! creates/s logging to a file against 52,300-54,700 with the same lines to `/dev/null`):
//! the file system's work per call, not the bytes. A runtime worker thread therefore keeps
//! its lines in a buffer of its own and writes them in one call:
//!
//! - when it is about to park (it has nothing left to run: a quiet server writes each line
//!   the moment its request is done),
//! - when [`FLUSH_BYTES`] are gathered, or when a line comes [`MAX_AGE`] after the oldest one
//!   waiting (a busy server writes at least every few milliseconds),
//! - when the thread stops, and for every worker when the server exits ([`flush_all`]).
//!
//! No extra thread is involved (a log thread fed through a queue was measured slower on two
//! cores), and a worker's batch goes out under standard error's lock, so lines never
//! interleave. Threads that never park as workers do (the main thread, the blocking pool, the
//! store's own threads) write each line at once, as before. What an operator gives up: lines
//! of different workers may appear up to [`MAX_AGE`] out of order, and a process killed with
//! SIGKILL loses what its workers had not written yet (at most a few milliseconds of lines).

use std::cell::RefCell;
use std::io::{self, Write};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tracing_subscriber::fmt::MakeWriter;

/// Bytes past which a worker writes its lines out (about 60 request lines).
const FLUSH_BYTES: usize = 16 * 1024;

/// How long the oldest line of a worker may wait for a batch.
#[cfg(not(test))]
const MAX_AGE: Duration = Duration::from_millis(20);
/// Longer in the tests, so that a busy machine cannot pass it between two of their lines.
#[cfg(test)]
const MAX_AGE: Duration = Duration::from_millis(500);

#[derive(Default)]
struct Buffer {
    bytes: Vec<u8>,
    /// When the oldest waiting line came.
    since: Option<Instant>,
}

impl Buffer {
    fn write_out(&mut self) {
        if !self.bytes.is_empty() {
            // Nowhere to report a failed write of the log itself; the lines are dropped, as
            // tracing's own standard-error writer drops them.
            let _ = emit(&self.bytes);
            self.bytes.clear();
        }
        self.since = None;
    }
}

/// Writes to standard error under its lock (whole, in as few calls as it takes).
#[cfg(not(test))]
fn emit(bytes: &[u8]) -> io::Result<()> {
    io::stderr().lock().write_all(bytes)
}

/// In the tests: to [`tests::WRITTEN`], so that they see what was written and when.
#[cfg(test)]
fn emit(bytes: &[u8]) -> io::Result<()> {
    tests::WRITTEN
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .extend_from_slice(bytes);
    Ok(())
}

type Shared = Arc<Mutex<Buffer>>;

fn lock(buffer: &Mutex<Buffer>) -> MutexGuard<'_, Buffer> {
    // A panic while holding it leaves at most a partly written batch: keep going.
    buffer.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Every worker's buffer, for [`flush_all`].
static BUFFERS: Mutex<Vec<Shared>> = Mutex::new(Vec::new());

thread_local! {
    /// This thread's buffer, once it parked as a runtime worker.
    static BUFFER: RefCell<Option<Shared>> = const { RefCell::new(None) };
}

/// For the runtime's `on_thread_park`: the thread is a worker with nothing left to run.
/// Writes its lines out; the first time, gives it a buffer.
pub(crate) fn on_park() {
    BUFFER.with(|slot| {
        let Ok(mut slot) = slot.try_borrow_mut() else {
            return;
        };
        match slot.as_ref() {
            Some(buffer) => lock(buffer).write_out(),
            None => {
                let buffer = Shared::default();
                BUFFERS
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(Arc::clone(&buffer));
                *slot = Some(buffer);
            }
        }
    });
}

/// For the runtime's `on_thread_stop`: writes the thread's lines out and stops buffering.
pub(crate) fn on_stop() {
    BUFFER.with(|slot| {
        if let Ok(mut slot) = slot.try_borrow_mut()
            && let Some(buffer) = slot.take()
        {
            lock(&buffer).write_out();
            BUFFERS
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .retain(|other| !Arc::ptr_eq(other, &buffer));
        }
    });
}

/// Writes out every worker's lines (at exit, after the runtime has stopped or given up on
/// its threads).
pub(crate) fn flush_all() {
    let buffers = BUFFERS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    for buffer in buffers {
        lock(&buffer).write_out();
    }
}

/// The subscriber's writer: standard error, through the worker's buffer on a worker.
pub(crate) struct Stderr;

impl<'a> MakeWriter<'a> for Stderr {
    type Writer = Lines;

    fn make_writer(&'a self) -> Lines {
        Lines
    }
}

/// Takes one formatted line per `write` (the formatter writes each event whole).
pub(crate) struct Lines;

impl Write for Lines {
    fn write(&mut self, line: &[u8]) -> io::Result<usize> {
        let buffered = BUFFER.with(|slot| {
            let Ok(slot) = slot.try_borrow() else {
                return false;
            };
            let Some(buffer) = slot.as_ref() else {
                return false;
            };
            let mut buffer = lock(buffer);
            buffer.bytes.extend_from_slice(line);
            let now = Instant::now();
            let since = *buffer.since.get_or_insert(now);
            if buffer.bytes.len() >= FLUSH_BYTES || now.duration_since(since) >= MAX_AGE {
                buffer.write_out();
            }
            true
        });
        if !buffered {
            emit(line)?;
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Everything written, by every test's threads (each uses lines of its own).
    pub(super) static WRITTEN: Mutex<Vec<u8>> = Mutex::new(Vec::new());

    /// Held by each test: `flush_all` takes every thread's lines, another test's too.
    static SERIAL: Mutex<()> = Mutex::new(());

    fn written(marker: &str) -> bool {
        String::from_utf8_lossy(&WRITTEN.lock().unwrap()).contains(marker)
    }

    fn waiting() -> usize {
        BUFFER.with(|slot| {
            slot.borrow()
                .as_ref()
                .map_or(0, |buffer| lock(buffer).bytes.len())
        })
    }

    #[test]
    fn a_thread_buffers_only_once_it_parked_and_writes_out_on_park_size_and_stop() {
        let _serial = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
        std::thread::spawn(|| {
            // Not (yet) a worker: written at once.
            Lines.write_all(b"direct-1\n").unwrap();
            assert!(written("direct-1"));
            assert_eq!(waiting(), 0);
            on_park();
            Lines.write_all(b"one-1\n").unwrap();
            Lines.write_all(b"two-1\n").unwrap();
            assert_eq!(waiting(), 12);
            assert!(!written("one-1"));
            on_park();
            assert_eq!(waiting(), 0);
            assert!(written("one-1\ntwo-1\n"), "in order, as one batch");
            // Past the size bound, the batch goes out with the line that crossed it.
            let line = vec![b'x'; 1000];
            for _ in 0..FLUSH_BYTES / 1000 {
                Lines.write_all(&line).unwrap();
            }
            assert_eq!(waiting(), FLUSH_BYTES / 1000 * 1000);
            Lines.write_all(&line).unwrap();
            assert_eq!(waiting(), 0);
            // A line that comes after the oldest waited MAX_AGE takes the batch out.
            Lines.write_all(b"old-1\n").unwrap();
            std::thread::sleep(MAX_AGE + Duration::from_millis(50));
            Lines.write_all(b"late-1\n").unwrap();
            assert_eq!(waiting(), 0);
            assert!(written("old-1\nlate-1\n"));
            Lines.write_all(b"last-1\n").unwrap();
            let before = BUFFERS.lock().unwrap().len();
            on_stop();
            assert_eq!(waiting(), 0);
            assert!(written("last-1"));
            assert_eq!(BUFFERS.lock().unwrap().len(), before - 1);
            // Stopped: written at once again.
            Lines.write_all(b"after-1\n").unwrap();
            assert!(written("after-1"));
            assert_eq!(waiting(), 0);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn flush_all_writes_out_every_workers_lines() {
        let _serial = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
        let (parked, go) = (
            std::sync::mpsc::channel::<()>(),
            std::sync::mpsc::channel::<()>(),
        );
        let (parked_tx, parked_rx) = parked;
        let (go_tx, go_rx) = go;
        let worker = std::thread::spawn(move || {
            on_park();
            Lines.write_all(b"waiting-2\n").unwrap();
            parked_tx.send(()).unwrap();
            go_rx.recv().unwrap();
            let left = waiting();
            on_stop();
            left
        });
        parked_rx.recv().unwrap();
        assert!(!written("waiting-2"));
        flush_all();
        assert!(written("waiting-2"));
        go_tx.send(()).unwrap();
        assert_eq!(
            worker.join().unwrap(),
            0,
            "flush_all wrote the worker's line"
        );
    }
}
