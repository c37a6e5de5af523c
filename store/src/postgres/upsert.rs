//! v1 connects in batches: the upserts queued at one moment are read by one connection in one
//! statement, and those that change a subscriber are written in one more (`unnest` of typed
//! array parameters, no SQL built from input), so that a burst of connects costs PostgreSQL
//! two round trips instead of one or two per connect, and no thread of the host waits on the
//! network for each of them.
//!
//! A caller queues its upsert with a callback ([`Upserter::queue`], which returns at once); an
//! upserter thread takes everything queued, reads the subscribers (unlocked, as a single
//! upsert's first read), calls each upsert's `update` with its row, and answers at once those
//! that change nothing (a connect with known device ids: that read is the answer, as for a
//! single upsert). The rest are written by the batch statement: a new subscriber is inserted
//! unless it exists by then, a changed one is updated only if its row is still as read (a
//! compare-and-set per row, all in one implicit transaction). An upsert the statement did not
//! write (another call or instance got there first), and a second upsert of one key in one
//! batch, run alone afterwards on the same connection, holding the row's lock as a single
//! upsert does when its row changed under it (`upsert_locked`), so each keeps the union of
//! the device ids. A lost connection fails the batch's callers with it.

use std::collections::HashSet;
use std::sync::Arc;

use nox_authenticator::{Error, Result, Subscriber, SubscriberUpdate, UpsertDone};

use super::queue::WorkQueue;
use super::{Connection, Manager, upsert_locked, upsert_on};
use crate::threads::Threads;

/// Upserts one batch takes at most.
const MAX_BATCH: usize = 128;

/// Upserter threads: as for the inserters, two (one batch in PostgreSQL while the next is
/// gathered), so that a burst of connects wakes two backends, not one per connect.
const THREADS: usize = 2;

/// The batch read: the subscribers of the keys `$1`, `$2` (one entry per upsert), with the
/// position of their key (from 1). `LIMIT 1` in the lateral subquery (the key is the primary
/// key) keeps it a lookup by index per key whatever the planner thinks of the table's size.
pub(super) const SELECT_BATCH: &str = "SELECT k.i, s.nox_user_id, s.device_ids \
     FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS k (manufacturer_id, manufacturer_user_id, i) \
     CROSS JOIN LATERAL (SELECT nox_user_id, device_ids FROM subscribers \
       WHERE manufacturer_id = k.manufacturer_id AND manufacturer_user_id = k.manufacturer_user_id \
       LIMIT 1) s";

/// The batch write: one entry per upsert (`$1`-`$8`; the keys distinct), each subscriber's
/// device ids a slice `$4`..=`$5` of the flat array `$9`. An entry without an old id (`$6`
/// NULL) is a new subscriber, inserted unless the key exists by now; one with an old id and
/// old device ids (the slice `$7`..=`$8`) updates the row only if it still holds those. Returns
/// the keys it wrote.
pub(super) const WRITE_BATCH: &str = "WITH v AS ( \
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::int[], \
         $6::text[], $7::int[], $8::int[]) \
         AS v (manufacturer_id, manufacturer_user_id, nox_user_id, lo, hi, old_nox_user_id, old_lo, old_hi)), \
     ins AS ( \
       INSERT INTO subscribers (manufacturer_id, manufacturer_user_id, nox_user_id, device_ids) \
       SELECT manufacturer_id, manufacturer_user_id, nox_user_id, ($9::text[])[lo:hi] \
       FROM v WHERE old_nox_user_id IS NULL \
       ON CONFLICT (manufacturer_id, manufacturer_user_id) DO NOTHING \
       RETURNING manufacturer_id, manufacturer_user_id), \
     upd AS ( \
       UPDATE subscribers s SET nox_user_id = v.nox_user_id, device_ids = ($9::text[])[v.lo:v.hi] \
       FROM v \
       WHERE v.old_nox_user_id IS NOT NULL \
         AND s.manufacturer_id = v.manufacturer_id AND s.manufacturer_user_id = v.manufacturer_user_id \
         AND s.nox_user_id = v.old_nox_user_id AND s.device_ids = ($9::text[])[v.old_lo:v.old_hi] \
       RETURNING s.manufacturer_id, s.manufacturer_user_id) \
     SELECT manufacturer_id, manufacturer_user_id FROM ins \
     UNION ALL SELECT manufacturer_id, manufacturer_user_id FROM upd";

struct Queued {
    manufacturer_id: String,
    manufacturer_user_id: String,
    update: SubscriberUpdate,
    done: UpsertDone,
}

struct Shared {
    pool: r2d2::Pool<Manager>,
    queue: WorkQueue<Queued>,
}

/// The queue of upserts and the threads that run them in batches.
pub(super) struct Upserter {
    shared: Arc<Shared>,
    threads: Threads,
}

impl Upserter {
    pub(super) fn new(pool: r2d2::Pool<Manager>) -> Upserter {
        Upserter {
            shared: Arc::new(Shared {
                pool,
                queue: WorkQueue::new(),
            }),
            threads: Threads::default(),
        }
    }

    /// Queues an upsert for the next batch; `done` gets the outcome on an upserter thread
    /// once it is committed, refused by `update`, or failed (or here, at once, if the store is
    /// closed or its threads cannot start). `done` is called exactly once.
    pub(super) fn queue(
        &self,
        manufacturer_id: String,
        manufacturer_user_id: String,
        update: SubscriberUpdate,
        done: UpsertDone,
    ) {
        let started = self.threads.ensure(|spawn| {
            for _ in 0..THREADS {
                let shared = Arc::clone(&self.shared);
                spawn("nox-postgres-upsert", Box::new(move || serve(&shared)))?;
            }
            Ok(())
        });
        if let Err(e) = started {
            return done(Err(e));
        }
        let queued = Queued {
            manufacturer_id,
            manufacturer_user_id,
            update,
            done,
        };
        if let Err(refused) = self.shared.queue.push(queued) {
            (refused.done)(Err(Error::store("postgres: the store is closed")));
        }
    }
}

impl Drop for Upserter {
    fn drop(&mut self) {
        self.shared.queue.close();
        self.threads.join();
    }
}

/// What the batch read left to do for one upsert.
enum Step {
    /// Answered already (nothing to write, or `update` refused): the outcome.
    Done(Result<Subscriber>),
    /// To write: `updated`, made of `existing` (none for a new subscriber).
    Write {
        existing: Option<Subscriber>,
        updated: Subscriber,
    },
    /// A second upsert of a key in the batch: alone, after the batch's writes.
    Alone,
}

/// An upserter thread: runs the queued upserts in batches until the store closes.
fn serve(shared: &Shared) {
    while let Some(mut batch) = shared.queue.take(MAX_BATCH) {
        let mut connection = match shared.pool.get() {
            Ok(connection) => connection,
            Err(e) => {
                fail_all(batch, &format!("postgres: {e}"));
                continue;
            }
        };
        let found = match read(&mut connection, &batch) {
            Ok(found) => found,
            Err(reason) => {
                fail_all(batch, &reason);
                continue;
            }
        };
        let mut keys = HashSet::with_capacity(batch.len());
        let mut steps = Vec::with_capacity(batch.len());
        for (queued, row) in batch.iter_mut().zip(found) {
            let Queued {
                manufacturer_id,
                manufacturer_user_id,
                update,
                ..
            } = queued;
            if !keys.insert((&*manufacturer_id, &*manufacturer_user_id)) {
                steps.push(Step::Alone);
                continue;
            }
            let existing = row.map(|(nox_user_id, device_ids)| Subscriber {
                manufacturer_id: manufacturer_id.clone(),
                manufacturer_user_id: manufacturer_user_id.clone(),
                nox_user_id,
                device_ids,
            });
            steps.push(match update(existing.clone()) {
                Ok(updated) if existing.as_ref() == Some(&updated) => Step::Done(Ok(updated)),
                Ok(updated) => Step::Write { existing, updated },
                Err(e) => Step::Done(Err(e)),
            });
        }
        drop(keys);
        let written = write(&mut connection, &batch, &steps);
        for (queued, step) in batch.into_iter().zip(steps) {
            let Queued {
                manufacturer_id,
                manufacturer_user_id,
                mut update,
                done,
            } = queued;
            let key = (manufacturer_id, manufacturer_user_id);
            let outcome = match step {
                Step::Done(outcome) => outcome,
                Step::Write { updated, .. } => match &written {
                    Ok(written) if written.contains(&key) => Ok(updated),
                    // Changed (or created) by another call since the read: again, locked.
                    Ok(_) => upsert_locked(&mut connection, &key.0, &key.1, &mut *update),
                    Err(reason) => Err(Error::store(reason.clone())),
                },
                Step::Alone => upsert_on(&mut connection, &key.0, &key.1, &mut *update),
            };
            done(outcome);
        }
    }
}

/// Answers every upsert of a batch that could not run with `reason`.
fn fail_all(batch: Vec<Queued>, reason: &str) {
    for queued in batch {
        (queued.done)(Err(Error::store(reason)));
    }
}

/// A subscriber's `nox_user_id` and device ids as read.
type Found = Option<(String, Vec<String>)>;

/// Runs the batch read: one entry per upsert, in the batch's order.
fn read(connection: &mut Connection, batch: &[Queued]) -> std::result::Result<Vec<Found>, String> {
    let manufacturer_id: Vec<&str> = batch.iter().map(|q| q.manufacturer_id.as_str()).collect();
    let user_id: Vec<&str> = batch
        .iter()
        .map(|q| q.manufacturer_user_id.as_str())
        .collect();
    let Connection {
        client, statements, ..
    } = connection;
    let rows = client
        .query(
            &statements.select_subscribers_batch,
            &[&manufacturer_id, &user_id],
        )
        .map_err(failed)?;
    let mut found: Vec<Found> = (0..batch.len()).map(|_| None).collect();
    for row in rows {
        let (i, nox_user_id, device_ids): (i64, String, Vec<String>) = (
            row.try_get(0).map_err(failed)?,
            row.try_get(1).map_err(failed)?,
            row.try_get(2).map_err(failed)?,
        );
        let slot = usize::try_from(i - 1)
            .ok()
            .and_then(|i| found.get_mut(i))
            .ok_or_else(|| format!("postgres: the batch read returned position {i}"))?;
        *slot = Some((nox_user_id, device_ids));
    }
    Ok(found)
}

/// Runs the batch write for the steps that write; returns the keys it wrote (none if the
/// statement failed on its rows, so that each is run again alone), or why the batch as a
/// whole failed.
fn write(
    connection: &mut Connection,
    batch: &[Queued],
    steps: &[Step],
) -> std::result::Result<HashSet<(String, String)>, String> {
    let writes: Vec<(&Queued, &Option<Subscriber>, &Subscriber)> = batch
        .iter()
        .zip(steps)
        .filter_map(|(queued, step)| match step {
            Step::Write { existing, updated } => Some((queued, existing, updated)),
            _ => None,
        })
        .collect();
    if writes.is_empty() {
        return Ok(HashSet::new());
    }
    let mut flat: Vec<&str> = Vec::new();
    let mut manufacturer_id = Vec::with_capacity(writes.len());
    let mut user_id = Vec::with_capacity(writes.len());
    let mut nox_user_id = Vec::with_capacity(writes.len());
    let (mut lo, mut hi) = (Vec::with_capacity(writes.len()), Vec::new());
    let mut old_nox_user_id: Vec<Option<&str>> = Vec::with_capacity(writes.len());
    let (mut old_lo, mut old_hi) = (Vec::with_capacity(writes.len()), Vec::new());
    for (queued, existing, updated) in &writes {
        manufacturer_id.push(queued.manufacturer_id.as_str());
        user_id.push(queued.manufacturer_user_id.as_str());
        nox_user_id.push(updated.nox_user_id.as_str());
        let (l, h) = slice(&mut flat, &updated.device_ids)?;
        lo.push(l);
        hi.push(h);
        old_nox_user_id.push(existing.as_ref().map(|e| e.nox_user_id.as_str()));
        let (l, h) = match existing {
            Some(existing) => slice(&mut flat, &existing.device_ids)?,
            None => (1, 0),
        };
        old_lo.push(l);
        old_hi.push(h);
    }
    let Connection {
        client, statements, ..
    } = connection;
    let rows = client.query(
        &statements.write_subscribers_batch,
        &[
            &manufacturer_id,
            &user_id,
            &nox_user_id,
            &lo,
            &hi,
            &old_nox_user_id,
            &old_lo,
            &old_hi,
            &flat,
        ],
    );
    match rows {
        Ok(rows) => Ok(rows
            .iter()
            .filter_map(|row| Some((row.try_get(0).ok()?, row.try_get(1).ok()?)))
            .collect()),
        // A statement refused by the server (a row breaking a constraint) rolled back as a
        // whole: each upsert runs again alone, to get its own outcome.
        Err(e) if e.as_db_error().is_some() && !client.is_closed() => Ok(HashSet::new()),
        Err(e) => Err(failed(e)),
    }
}

/// Why a batch failed, for each of its callers.
fn failed(e: ::postgres::Error) -> String {
    format!("postgres: {e}")
}

/// Appends `ids` to `flat` and returns their 1-based bounds there (an empty slice when `ids`
/// is empty).
fn slice<'a>(
    flat: &mut Vec<&'a str>,
    ids: &'a [String],
) -> std::result::Result<(i32, i32), String> {
    let bound =
        |n: usize| i32::try_from(n).map_err(|_| "postgres: the batch is too large".to_owned());
    let lo = bound(flat.len() + 1)?;
    flat.extend(ids.iter().map(String::as_str));
    Ok((lo, bound(flat.len())?))
}
