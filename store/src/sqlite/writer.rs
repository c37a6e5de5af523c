//! The SQLite writer: one thread that owns the write connection and commits the writes queued
//! meanwhile in one transaction (group commit).
//!
//! A caller queues its write (owned data, [`Writer::submit`]) and waits for its answer; the
//! writer thread takes everything queued, opens one `BEGIN IMMEDIATE` transaction, runs each
//! write in a savepoint of its own (a refused insert or a failing `update` rolls back only
//! itself), commits, and only then answers each caller with its own result. The writes run
//! back to back on one thread, so the connection is never handed from thread to thread and a
//! caller sleeps once (for its answer) instead of queueing for a lock and then for a commit.
//!
//! Checkpoints (copying the write-ahead log back into the database file, with an `fsync` of
//! both) run on a thread of their own, a tenth of a second at most after a commit, instead of
//! inside the commit that happens to cross SQLite's 1000-page threshold (which made that
//! commit, and every caller of its batch, wait for the checkpoint's disk flushes).
//!
//! Writes that borrow from their caller (the rare ones: eviction, the outbox, OAuth states)
//! take the connection's lock instead and run in a transaction of their own
//! ([`Writer::write`]).

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::path::PathBuf;
use std::sync::mpsc::{SyncSender, sync_channel};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use nox_authenticator::{Error, Result};
use rusqlite::Connection;

use super::counts::WriteConnection;
use super::{fail, lock};
use crate::threads::Threads;

/// Prepared statements a connection keeps (more than the store has).
const STATEMENT_CACHE: usize = 64;

/// Writes one transaction holds at most.
const MAX_BATCH: usize = 256;

/// Log frames (pages) past which a checkpoint holds the writer back to catch up with the end
/// of the log: 8 MiB of 4 KiB pages, twice SQLite's own automatic checkpoint size. (With
/// 16 MiB, a writer that no longer runs a savepoint per lone write grew the log to 42–50 MB in
/// `the_sqlite_log_stays_bounded_under_steady_writes` before it caught up: it writes more
/// frames while the passive checkpoint before it copies the first 16 MiB.)
const WAL_CATCH_UP_FRAMES: i64 = 2048;

/// How many frames the writer may have added during the last unheld pass of a catch-up for
/// the pass that holds the writer to run (1 MiB; see `checkpoint`).
const CATCH_UP_SLACK_FRAMES: i64 = 256;

/// Unheld passes of a catch-up at most, before the one that holds the writer (which then runs
/// anyway: the log stays bounded when the writer outpaces the copies).
const CATCH_UP_PASSES: usize = 4;

/// Log frames past which a catch-up that a reader kept from copying everything waits for the
/// readers and truncates the log (32 MiB).
const WAL_TRUNCATE_FRAMES: i64 = 4 * WAL_CATCH_UP_FRAMES;

/// How long the checkpoint thread waits after a checkpoint before the next one.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// The write connection, its queue and the thread that serves it.
pub(super) struct Writer {
    shared: Arc<Shared>,
    threads: Threads,
}

struct Shared {
    connection: Mutex<WriteConnection>,
    /// The database file and its log, which the checkpoint thread syncs ahead of a catch-up.
    files: Files,
    /// The checkpoint thread's connection (the write connection does not checkpoint).
    checkpointer: Mutex<Connection>,
    queue: Mutex<Queue>,
    /// Signalled when a write is queued while the writer thread sleeps, or when closing.
    wake: Condvar,
    /// Signalled when a commit made a checkpoint due while the checkpoint thread sleeps, or
    /// when closing.
    checkpoint_wake: Condvar,
}

#[derive(Default)]
struct Queue {
    writes: Vec<Box<dyn Write>>,
    /// Whether the writer thread is waiting for `wake`.
    sleeping: bool,
    /// Whether a commit happened since the last checkpoint.
    checkpoint_due: bool,
    /// Whether the checkpoint thread is waiting for `checkpoint_wake`.
    checkpointer_sleeping: bool,
    closed: bool,
}

impl Shared {
    /// Tells the checkpoint thread that a commit wrote to the log.
    fn committed(&self) {
        let mut queue = lock(&self.queue);
        queue.checkpoint_due = true;
        if queue.checkpointer_sleeping {
            self.checkpoint_wake.notify_one();
        }
    }
}

/// The database file and its write-ahead log, by path.
struct Files {
    database: Option<PathBuf>,
}

impl Files {
    fn new(connection: &Connection) -> Files {
        Files {
            database: connection
                .path()
                .filter(|path| !path.is_empty())
                .map(PathBuf::from),
        }
    }

    /// Writes the database file's changes out to the disk (`fdatasync`).
    fn sync_database(&self) {
        self.sync("");
    }

    /// Writes the log's changes out to the disk (`fdatasync`).
    fn sync_log(&self) {
        self.sync("-wal");
    }

    /// Syncs the file named by the database's path and `suffix`. It only saves a later sync
    /// some of its work, so a failure (the file gone, say) is left to SQLite's own sync, which
    /// reports it.
    fn sync(&self, suffix: &str) {
        let Some(database) = &self.database else {
            return;
        };
        let mut path = database.clone().into_os_string();
        path.push(suffix);
        // Write access: some systems (Windows) flush only a handle opened for writing.
        if let Ok(file) = std::fs::OpenOptions::new().write(true).open(path) {
            let _ = file.sync_data();
        }
    }
}

/// A `PASSIVE` checkpoint: the frames in the log and how many of them are now copied into the
/// database file (both 0 if it failed).
fn passive_checkpoint(connection: &Connection) -> (i64, i64) {
    connection
        .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
            Ok((row.get::<_, i64>(1)?, row.get::<_, i64>(2)?))
        })
        .unwrap_or((0, 0))
}

/// The checkpoint thread: after a commit, checkpoints what it can without waiting for
/// anyone (`PASSIVE`), at most once per [`CHECKPOINT_EVERY`], until the store closes.
fn checkpoint(shared: &Shared) {
    let mut last = Instant::now();
    loop {
        {
            let mut queue = lock(&shared.queue);
            loop {
                if queue.closed {
                    return;
                }
                let wait = CHECKPOINT_EVERY.saturating_sub(last.elapsed());
                if queue.checkpoint_due && wait.is_zero() {
                    break;
                }
                queue.checkpointer_sleeping = true;
                queue = if queue.checkpoint_due {
                    shared
                        .checkpoint_wake
                        .wait_timeout(queue, wait)
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .0
                } else {
                    shared
                        .checkpoint_wake
                        .wait(queue)
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                };
                queue.checkpointer_sleeping = false;
            }
            queue.checkpoint_due = false;
        }
        // A failed checkpoint (the file gone away, a full disk) is retried after the next
        // commit; the log keeps every commit meanwhile.
        let checkpointer = lock(&shared.checkpointer);
        let (log_frames, _) = passive_checkpoint(&checkpointer);
        // A passive checkpoint never waits for the writer, so under a steady load it never
        // catches up with the end of the log, and SQLite starts the log afresh only after one
        // that did: the file would grow without bound (measured: 2.5 GB after 300,000 creates).
        // Past a bound, the next one runs holding the write connection, between two of its
        // transactions: nothing is written meanwhile, so it copies the rest of the log, and
        // the writer's next transaction starts the log from its beginning. The writer thread
        // waits on this lock and resumes the moment the checkpoint ends. (A truncating
        // checkpoint did the same in SQLite's own way: it locks the writer out, which then
        // retries in the busy handler's sleeps of up to 100 ms, and it syncs the log as well:
        // the create p99 under load was 34-240 ms with it, 13-17 ms this way.)
        if log_frames > WAL_CATCH_UP_FRAMES {
            // First close in on the end of the log without holding the writer: each pass
            // copies what the writer added during the one before, so the passes get shorter,
            // and the pass holding the writer then copies only the last one's additions (the
            // writer waited 30-40 ms for a catch-up that copied several thousand frames:
            // it was most of the create p99 on a slower machine, against 10 ms without).
            //
            // The pass holding the writer syncs the log and the database file, and a sync
            // writes out everything written to the file since the one before. SQLite syncs
            // the database file only in a pass that reaches the end of the log, so without
            // more that would be every page the unheld passes copied (measured: the held pass
            // took 20-25 ms, most of it in those two syncs). So the database file is synced
            // after each unheld pass, and the log before the writer is held, both without
            // holding it: the held pass's syncs then write out only its own few frames and
            // pages (held pass 13-15 ms, create p99 25-30 -> 15-17 ms).
            let mut seen = log_frames;
            for _ in 0..CATCH_UP_PASSES {
                let (frames, _) = passive_checkpoint(&checkpointer);
                shared.files.sync_database();
                let added = frames - seen;
                seen = frames;
                if added <= CATCH_UP_SLACK_FRAMES {
                    break;
                }
            }
            shared.files.sync_log();
            let writes = lock(&shared.connection);
            let (log_frames, copied) = passive_checkpoint(&checkpointer);
            // A reader's snapshot can keep frames from being copied: past a larger bound,
            // wait for the readers and truncate the log.
            if copied < log_frames && log_frames > WAL_TRUNCATE_FRAMES {
                let _ = checkpointer.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
            }
            drop(writes);
        }
        drop(checkpointer);
        last = Instant::now();
    }
}

/// A queued write: run in the writer's transaction, answered after it ends.
trait Write: Send {
    /// Runs the write in a savepoint; returns whether the savepoint ended cleanly (released
    /// or rolled back), else the whole transaction must be rolled back.
    fn run(&mut self, connection: &WriteConnection) -> bool;
    /// Runs the write as the transaction's only one, without a savepoint (the transaction
    /// is its savepoint); returns whether it succeeded, and so whether to commit.
    fn run_alone(&mut self, connection: &WriteConnection) -> bool;
    /// Answers the caller with the transaction's outcome (and its own result, if it ran).
    fn answer(self: Box<Self>, committed: std::result::Result<(), String>);
}

/// What a caller gets back: its result, or the panic of its write (resumed in the caller).
type Answer<T> = std::thread::Result<Result<T>>;

/// Where a write's answer goes.
enum Reply<T> {
    /// To a caller blocked in [`Writer::submit`] (which resumes a panic of the write).
    Wait(SyncSender<Answer<T>>),
    /// To a callback, called on the writer thread ([`Writer::queue`]); a panic of the write
    /// comes to it as a store error.
    Call(Box<dyn FnOnce(Result<T>) + Send>),
}

struct Op<F, T> {
    op: Option<F>,
    outcome: Option<Answer<T>>,
    reply: Reply<T>,
}

impl<F, T> Write for Op<F, T>
where
    F: FnOnce(&WriteConnection) -> Result<T> + Send,
    T: Send,
{
    fn run(&mut self, connection: &WriteConnection) -> bool {
        let Some(op) = self.op.take() else {
            return true;
        };
        let (outcome, clean) = in_savepoint(connection, op);
        self.outcome = Some(outcome);
        clean
    }

    fn run_alone(&mut self, connection: &WriteConnection) -> bool {
        let Some(op) = self.op.take() else {
            return false;
        };
        let outcome = catch_unwind(AssertUnwindSafe(|| op(connection)));
        let succeeded = matches!(outcome, Ok(Ok(_)));
        self.outcome = Some(outcome);
        succeeded
    }

    fn answer(self: Box<Self>, committed: std::result::Result<(), String>) {
        let answer = match self.outcome {
            Some(Ok(result)) => Ok(committed.map_err(Error::store).and(result)),
            Some(Err(panic)) => Err(panic),
            None => {
                Ok(Err(Error::store(committed.err().unwrap_or_else(|| {
                    "sqlite: the write did not run".to_owned()
                }))))
            }
        };
        match self.reply {
            // The caller waits for this; if it is gone there is no one to tell.
            Reply::Wait(reply) => drop(reply.send(answer)),
            Reply::Call(done) => {
                let result =
                    answer.unwrap_or_else(|_| Err(Error::store("sqlite: the write panicked")));
                // The callback is the host's: a panic in it must not stop the writer.
                drop(catch_unwind(AssertUnwindSafe(|| done(result))));
            }
        }
    }
}

/// Runs `op` in a savepoint, released if it succeeds and rolled back otherwise (also if it
/// panics: the panic is returned, to be resumed by the caller once the transaction is
/// settled). The second value is whether the savepoint ended cleanly. The pending counts it
/// changed are taken back with it.
fn in_savepoint<T>(
    connection: &WriteConnection,
    op: impl FnOnce(&WriteConnection) -> Result<T>,
) -> (std::thread::Result<Result<T>>, bool) {
    let run = |sql: &str| run(connection, sql);
    if let Err(e) = run("SAVEPOINT op") {
        return (Ok(Err(fail(e))), true);
    }
    let mark = connection.counts().mark();
    let outcome = catch_unwind(AssertUnwindSafe(|| op(connection)));
    let clean = if matches!(outcome, Ok(Ok(_))) {
        run("RELEASE op").is_ok()
    } else {
        connection.counts().undo_to(mark);
        run("ROLLBACK TO op")
            .and_then(|()| run("RELEASE op"))
            .is_ok()
    };
    (outcome, clean)
}

/// Runs one of the transaction statements (`BEGIN IMMEDIATE`, `COMMIT`, savepoints) from the
/// connection's statement cache: run around every write, they are not parsed again each time.
fn run(connection: &Connection, sql: &str) -> rusqlite::Result<()> {
    connection
        .prepare_cached(sql)
        .and_then(|mut s| s.execute([]))
        .map(drop)
}

/// Ends the open transaction: writes its pending counts and commits it if `commit` and it is
/// intact, else rolls it back.
fn end(connection: &WriteConnection, commit: bool) -> std::result::Result<(), String> {
    let outcome = if connection.is_autocommit() {
        // SQLite rolled it back itself (after an I/O error, a full disk…).
        Err("sqlite: the transaction was rolled back".to_owned())
    } else if commit {
        let counts = connection.counts().write(connection);
        counts
            .map_err(|e| format!("sqlite: writing the pending counts failed: {e}"))
            .and_then(|()| {
                run(connection, "COMMIT").map_err(|e| format!("sqlite: commit failed: {e}"))
            })
    } else {
        Err("sqlite: the transaction was rolled back after a failed savepoint".to_owned())
    };
    roll_back_if_open(connection);
    outcome
}

/// Rolls back the open transaction, if there is one (a failed `COMMIT` leaves it open), and
/// forgets its pending counts.
fn roll_back_if_open(connection: &WriteConnection) {
    connection.counts().clear();
    if !connection.is_autocommit() {
        let _ = run(connection, "ROLLBACK");
    }
}

/// Runs `batch` in one transaction and returns its outcome. A batch of one write runs it
/// without a savepoint: if it fails, the whole transaction, which holds nothing else, is
/// rolled back, and the write's own result is its answer.
fn run_batch(
    connection: &WriteConnection,
    batch: &mut [Box<dyn Write>],
) -> std::result::Result<(), String> {
    run(connection, "BEGIN IMMEDIATE").map_err(|e| format!("sqlite: {e}"))?;
    if let [write] = batch {
        if write.run_alone(connection) {
            return end(connection, true);
        }
        roll_back_if_open(connection);
        return Ok(());
    }
    let mut intact = true;
    for write in batch.iter_mut() {
        intact &= write.run(connection);
    }
    end(connection, intact)
}

/// The writer thread: serves the queue until the store closes.
fn serve(shared: &Shared) {
    loop {
        let mut batch = {
            let mut queue = lock(&shared.queue);
            while queue.writes.is_empty() && !queue.closed {
                queue.sleeping = true;
                queue = shared
                    .wake
                    .wait(queue)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                queue.sleeping = false;
            }
            if queue.writes.is_empty() {
                return; // closed
            }
            let take = queue.writes.len().min(MAX_BATCH);
            queue.writes.drain(..take).collect::<Vec<_>>()
        };
        let outcome = run_batch(&lock(&shared.connection), &mut batch);
        if outcome.is_ok() {
            shared.committed();
        }
        for write in batch {
            write.answer(outcome.clone());
        }
    }
}

impl Writer {
    /// A writer on `connection`, checkpointing through `checkpointer` (whose automatic
    /// checkpoints it turns off: the checkpoint thread runs them).
    pub(super) fn new(
        connection: Connection,
        checkpointer: Connection,
    ) -> rusqlite::Result<Writer> {
        connection.pragma_update(None, "wal_autocheckpoint", 0)?;
        // Every statement the writes run stays prepared (rusqlite keeps 16 by default; the
        // writer runs about 30 kinds, and a full cache parses a statement again each time).
        connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(Writer {
            shared: Arc::new(Shared {
                files: Files::new(&checkpointer),
                connection: Mutex::new(WriteConnection::new(connection)),
                checkpointer: Mutex::new(checkpointer),
                queue: Mutex::new(Queue::default()),
                wake: Condvar::new(),
                checkpoint_wake: Condvar::new(),
            }),
            threads: Threads::default(),
        })
    }

    /// Starts the writer and checkpoint threads unless this process has them.
    fn ensure_thread(&self) -> Result<()> {
        self.threads.ensure(|spawn| {
            let shared = Arc::clone(&self.shared);
            spawn("nox-sqlite-writer", Box::new(move || serve(&shared)))?;
            let shared = Arc::clone(&self.shared);
            spawn(
                "nox-sqlite-checkpoint",
                Box::new(move || checkpoint(&shared)),
            )
        })
    }

    /// Queues `op` for the writer thread and returns its result once the transaction that
    /// ran it is committed (an error if it failed, and then for every write it held).
    pub(super) fn submit<T, F>(&self, op: F) -> Result<T>
    where
        F: FnOnce(&WriteConnection) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let (reply, answer) = sync_channel(1);
        self.enqueue(op, Reply::Wait(reply));
        match answer.recv() {
            Ok(Ok(result)) => result,
            Ok(Err(panic)) => resume_unwind(panic),
            Err(_) => Err(Error::store("sqlite: the writer stopped")),
        }
    }

    /// Queues `op` for the writer thread and returns at once; `done` gets its result on the
    /// writer thread once the transaction that ran it is committed (as [`Writer::submit`]
    /// returns it), or here if the write cannot be queued. `done` is called exactly once.
    pub(super) fn queue<T, F>(&self, op: F, done: Box<dyn FnOnce(Result<T>) + Send>)
    where
        F: FnOnce(&WriteConnection) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        self.enqueue(op, Reply::Call(done));
    }

    /// Queues `op` with where its answer goes; answers at once if the store is closed or the
    /// writer thread cannot start.
    fn enqueue<T, F>(&self, op: F, reply: Reply<T>)
    where
        F: FnOnce(&WriteConnection) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let write = Box::new(Op {
            op: Some(op),
            outcome: None,
            reply,
        });
        if let Err(e) = self.ensure_thread() {
            let reason = match e {
                Error::Store { reason } => reason,
                other => other.to_string(),
            };
            write.answer(Err(reason));
            return;
        }
        let mut queue = lock(&self.shared.queue);
        if queue.closed {
            drop(queue);
            write.answer(Err("sqlite: the store is closed".to_owned()));
            return;
        }
        queue.writes.push(write);
        if queue.sleeping {
            self.shared.wake.notify_one();
        }
    }

    /// Runs `op` (which may borrow from the caller) on the write connection in a transaction
    /// of its own, and returns its result once that is committed.
    pub(super) fn write<T>(&self, op: impl FnOnce(&WriteConnection) -> Result<T>) -> Result<T> {
        let connection = lock(&self.shared.connection);
        run(&connection, "BEGIN IMMEDIATE").map_err(fail)?;
        // The transaction is the write's own: no savepoint (a failure rolls it all back).
        let outcome = catch_unwind(AssertUnwindSafe(|| op(&connection)));
        let committed = if matches!(outcome, Ok(Ok(_))) {
            end(&connection, true)
        } else {
            roll_back_if_open(&connection);
            Ok(())
        };
        drop(connection);
        if committed.is_ok() {
            // Starts the checkpoint thread if need be (a failure to start it fails the next
            // queued write instead).
            let _ = self.ensure_thread();
            self.shared.committed();
        }
        match outcome {
            Ok(Ok(value)) => committed.map(|()| value).map_err(Error::store),
            Ok(Err(e)) => Err(e),
            Err(panic) => resume_unwind(panic),
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        lock(&self.shared.queue).closed = true;
        self.shared.wake.notify_all();
        self.shared.checkpoint_wake.notify_all();
        self.threads.join();
    }
}
