//! Group commit of PostgreSQL inserts: the sessions queued at one moment are written by one
//! connection in one statement (`INSERT … SELECT FROM unnest($1::bytea[], …)`, typed array
//! parameters, no SQL built from input), so one round trip, one plan and one commit serve
//! them all, with the expiry events of the sessions that have one (a data-modifying `WITH`
//! of the same statement, so a session and its event commit together).
//!
//! A caller queues its session with a callback ([`Inserter::queue`], which returns at once:
//! an async host awaits the callback instead of holding a thread) or queues it and waits
//! ([`Inserter::insert`]); an inserter thread takes everything queued, runs the batch
//! statement, and answers each caller once it returned (the statement is its own
//! transaction: it has committed). The statement admits a row only if its caller's counter
//! plus all the batch's rows of that caller, and the total plus all the batch's rows, stay
//! within the caps (a stricter test than a single insert's); a row it did not insert
//! (refused, a token collision, or the statement failing on a row) is inserted alone by the
//! same thread on the same connection (`insert_on`, `insert_with_event_on`), so each caller's
//! own refusal or failure stays its own and is decided exactly as without batching. A lost
//! connection fails the batch's callers with it.

use std::sync::Arc;
use std::sync::atomic::AtomicI64;
use std::sync::mpsc::sync_channel;

use nox_authenticator::store::{InsertDone, OutboxEvent};
use nox_authenticator::{Error, LinkSession, PendingCaps, Result};

use super::queue::WorkQueue;
use super::{Connection, Manager, SHARDS, insert_on, insert_with_event_on};
use crate::row::{caller_kind, cap};
use crate::threads::Threads;

/// Sessions one statement inserts at most.
const MAX_BATCH: usize = 128;

/// Inserter threads: one batch can be committing (waiting for the server's WAL flush) while
/// the next is written. Two, not more: on a machine whose cores the server, its clients and
/// the PostgreSQL backends share, fewer and larger batches cost the backends less CPU per row
/// (measured, `wrk -c32` creates: 1 thread 10,880/s, 2 about 10,100, 4 about 7,200, 8 about
/// 6,700; see docs/performance/stores.md).
const THREADS: usize = 2;

/// The batch statement (see the module docs). A caller's rows are inserted only if all of
/// them fit under its cap and all the batch's rows under the total cap (else they are retried
/// alone). The counters are read without a lock, as by a single insert; the batch adds its
/// rows to one shard of each counter (`$19`, drawn from the first row's digest: only the sum
/// of the shards means anything), so that two batches rarely wait for each other's commit on
/// a counter row, and it locks counter rows in key order, so that it never deadlocks with
/// other statements changing them. The expiry events (`$20`-`$25`, one entry per event, keyed
/// by their session's digest) go into the outbox for the sessions it inserted. Returns the
/// digests of the rows it inserted.
pub(super) const INSERT_BATCH: &str = "WITH rows AS ( \
           SELECT * FROM unnest($1::bytea[], $2::text[], $3::text[], $4::text[], $5::text[], \
             $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], \
             $13::bigint[], $14::bigint[], $15::bigint[], $16::boolean[], $17::bigint[], $18::bigint[]) \
             AS r (token_sha256, kind, caller_kind, owner_id, owner_name, user_id, redirect_url, \
               language, asset_type, brand, link_url_head, link_url_tail, created_at, expires_at, \
               completed_at, counted, caller_cap, total_cap)), \
         callers AS ( \
           SELECT caller_kind, owner_id, count(*) AS n, min(caller_cap) AS caller_cap \
           FROM rows GROUP BY 1, 2), \
         room AS MATERIALIZED ( \
           SELECT c.caller_kind, c.owner_id FROM callers c \
           WHERE coalesce((SELECT sum(p.count) FROM pending_counts p \
                           WHERE p.caller_kind = c.caller_kind AND p.owner_id = c.owner_id), 0) \
                 + c.n <= c.caller_cap \
             AND (SELECT coalesce(sum(count), 0) FROM pending_counts \
                  WHERE caller_kind = 'total' AND owner_id = '') \
                 + (SELECT count(*) FROM rows) <= (SELECT min(total_cap) FROM rows)), \
         ins AS ( \
           INSERT INTO link_sessions (token_sha256, kind, caller_kind, owner_id, owner_name, \
             user_id, redirect_url, language, asset_type, brand, link_url_head, link_url_tail, \
             created_at, expires_at, completed_at, counted) \
           SELECT token_sha256, kind, caller_kind, owner_id, owner_name, user_id, redirect_url, \
             language, asset_type, brand, link_url_head, link_url_tail, created_at, expires_at, \
             completed_at, counted \
           FROM rows JOIN room USING (caller_kind, owner_id) \
           ON CONFLICT (token_sha256) DO NOTHING \
           RETURNING token_sha256, caller_kind, owner_id, counted), \
         keys AS ( \
           SELECT caller_kind, owner_id, count(*) AS n FROM ins WHERE counted GROUP BY 1, 2 \
           UNION ALL \
           SELECT 'total', '', count(*) FROM ins WHERE counted HAVING count(*) > 0), \
         inc AS ( \
           INSERT INTO pending_counts AS p (caller_kind, owner_id, shard, count) \
           SELECT caller_kind, owner_id, $19::int, n FROM keys ORDER BY 1, 2 \
           ON CONFLICT (caller_kind, owner_id, shard) DO UPDATE SET count = p.count + excluded.count), \
         events AS ( \
           INSERT INTO webhook_outbox (id, caller, event_type, body, created_at, next_attempt_at, \
             session_sha256) \
           SELECT e.id, e.caller, e.event_type, e.body, e.created_at, e.created_at, e.session_sha256 \
           FROM unnest($20::text[], $21::text[], $22::text[], $23::bytea[], $24::bigint[], \
             $25::bytea[]) AS e (id, caller, event_type, body, created_at, session_sha256) \
           JOIN ins ON ins.token_sha256 = e.session_sha256) \
         SELECT token_sha256 FROM ins";

struct Queued {
    session: LinkSession,
    caps: PendingCaps,
    now: i64,
    event: Option<OutboxEvent>,
    done: InsertDone,
}

struct Shared {
    pool: r2d2::Pool<Manager>,
    /// The `now` of the last settle a single insert ran (see `settle_due`).
    last_settle: AtomicI64,
    queue: WorkQueue<Queued>,
}

/// The queue of inserts and the threads that write them in batches.
pub(super) struct Inserter {
    shared: Arc<Shared>,
    threads: Threads,
}

impl Inserter {
    pub(super) fn new(pool: r2d2::Pool<Manager>) -> Inserter {
        Inserter {
            shared: Arc::new(Shared {
                pool,
                last_settle: AtomicI64::new(i64::MIN),
                queue: WorkQueue::new(),
            }),
            threads: Threads::default(),
        }
    }

    fn ensure_threads(&self) -> Result<()> {
        self.threads.ensure(|spawn| {
            for _ in 0..THREADS {
                let shared = Arc::clone(&self.shared);
                spawn("nox-postgres-insert", Box::new(move || serve(&shared)))?;
            }
            Ok(())
        })
    }

    /// Queues `session` (with its expiry event, if any) for the next batch; `done` gets the
    /// outcome on an inserter thread once it is committed or refused (or here, at once, if the
    /// store is closed or its threads cannot start). `done` is called exactly once.
    pub(super) fn queue(
        &self,
        session: LinkSession,
        caps: PendingCaps,
        now: i64,
        event: Option<OutboxEvent>,
        done: InsertDone,
    ) {
        if let Err(e) = self.ensure_threads() {
            return done(Err(e));
        }
        let queued = Queued {
            session,
            caps,
            now,
            event,
            done,
        };
        if let Err(refused) = self.shared.queue.push(queued) {
            (refused.done)(Err(Error::store("postgres: the store is closed")));
        }
    }

    /// As [`queue`](Self::queue), waiting for the outcome.
    pub(super) fn insert(
        &self,
        session: LinkSession,
        caps: PendingCaps,
        now: i64,
        event: Option<OutboxEvent>,
    ) -> Result<()> {
        let (reply, outcome) = sync_channel(1);
        self.queue(
            session,
            caps,
            now,
            event,
            Box::new(move |result| {
                // The caller waits in `recv` below.
                let _ = reply.send(result);
            }),
        );
        outcome
            .recv()
            .unwrap_or_else(|_| Err(Error::store("postgres: the inserter stopped")))
    }
}

impl Drop for Inserter {
    fn drop(&mut self) {
        self.shared.queue.close();
        self.threads.join();
    }
}

/// An inserter thread: writes the queued sessions in batches until the store closes.
fn serve(shared: &Shared) {
    while let Some(batch) = shared.queue.take(MAX_BATCH) {
        let mut connection = match shared.pool.get() {
            Ok(connection) => connection,
            Err(e) => {
                let reason = format!("postgres: {e}");
                for queued in batch {
                    (queued.done)(Err(Error::store(reason.clone())));
                }
                continue;
            }
        };
        let inserted = write(&mut connection, &batch);
        for queued in batch {
            let Queued {
                session,
                caps,
                now,
                event,
                done,
            } = queued;
            let outcome = match &inserted {
                Ok(inserted) if inserted.contains(&session.token.digest()) => Ok(()),
                // Not inserted by the batch: alone, for its own outcome.
                Ok(_) => match &event {
                    None => insert_on(&mut connection, &shared.last_settle, session, caps, now),
                    Some(event) => insert_with_event_on(
                        &mut connection,
                        &shared.last_settle,
                        session,
                        caps,
                        now,
                        event,
                    ),
                },
                Err(e) => Err(Error::store(e.clone())),
            };
            done(outcome);
        }
    }
}

/// Runs the batch statement; returns the digests it inserted (none if the statement failed
/// on its rows, so that each is retried alone), or why the batch as a whole failed.
fn write(
    connection: &mut Connection,
    batch: &[Queued],
) -> std::result::Result<Vec<[u8; 32]>, String> {
    let digests: Vec<[u8; 32]> = batch.iter().map(|q| q.session.token.digest()).collect();
    let column = |f: &dyn Fn(&Queued) -> &str| batch.iter().map(f).collect::<Vec<&str>>();
    let digest_column: Vec<&[u8]> = digests.iter().map(|d| &d[..]).collect();
    let kind = column(&|q| q.session.kind.as_str());
    let caller = column(&|q| caller_kind(q.session.kind));
    let owner_id = column(&|q| &q.session.owner_id);
    let owner_name = column(&|q| &q.session.owner_name);
    let user_id = column(&|q| &q.session.user_id);
    let redirect_url = column(&|q| &q.session.redirect_url);
    let language = column(&|q| q.session.language.as_str());
    let head = column(&|q| q.session.link_url_parts().0);
    let asset_type: Vec<Option<&str>> = batch
        .iter()
        .map(|q| q.session.asset_type.map(|a| a.as_str()))
        .collect();
    let brand: Vec<Option<&str>> = batch.iter().map(|q| q.session.brand.as_deref()).collect();
    let tail: Vec<Option<&str>> = batch.iter().map(|q| q.session.link_url_parts().1).collect();
    let created_at: Vec<i64> = batch.iter().map(|q| q.session.created_at).collect();
    let expires_at: Vec<i64> = batch.iter().map(|q| q.session.expires_at).collect();
    let completed_at: Vec<Option<i64>> = batch.iter().map(|q| q.session.completed_at).collect();
    let counted: Vec<bool> = batch
        .iter()
        .map(|q| q.session.completed_at.is_none() && q.session.expires_at > q.now)
        .collect();
    let caller_cap: Vec<i64> = batch
        .iter()
        .map(|q| cap(q.caps.per_caller).unwrap_or(i64::MAX))
        .collect();
    let total_cap: Vec<i64> = batch
        .iter()
        .map(|q| cap(q.caps.total).unwrap_or(i64::MAX))
        .collect();
    let shard = i32::from(digests.first().map_or(0, |d| d[0]) % SHARDS);
    let events: Vec<(&OutboxEvent, &[u8])> = batch
        .iter()
        .zip(&digests)
        .filter_map(|(q, digest)| q.event.as_ref().map(|e| (e, &digest[..])))
        .collect();
    let event_id: Vec<&str> = events.iter().map(|(e, _)| e.id.as_str()).collect();
    let event_caller: Vec<&str> = events.iter().map(|(e, _)| e.caller.as_str()).collect();
    let event_type: Vec<&str> = events.iter().map(|(e, _)| e.event_type.as_str()).collect();
    let event_body: Vec<&[u8]> = events.iter().map(|(e, _)| e.body.as_slice()).collect();
    let event_created_at: Vec<i64> = events.iter().map(|(e, _)| e.created_at).collect();
    let event_session: Vec<&[u8]> = events.iter().map(|(_, digest)| *digest).collect();
    let Connection {
        client, statements, ..
    } = connection;
    let rows = client.query(
        &statements.insert_batch,
        &[
            &digest_column,
            &kind,
            &caller,
            &owner_id,
            &owner_name,
            &user_id,
            &redirect_url,
            &language,
            &asset_type,
            &brand,
            &head,
            &tail,
            &created_at,
            &expires_at,
            &completed_at,
            &counted,
            &caller_cap,
            &total_cap,
            &shard,
            &event_id,
            &event_caller,
            &event_type,
            &event_body,
            &event_created_at,
            &event_session,
        ],
    );
    match rows {
        Ok(rows) => Ok(rows
            .iter()
            .filter_map(|row| row.try_get::<_, &[u8]>(0).ok())
            .filter_map(|digest| <[u8; 32]>::try_from(digest).ok())
            .collect()),
        // A statement refused by the server (a row breaking a constraint) rolled back as a
        // whole: each session is retried alone, to get its own outcome.
        Err(e) if e.as_db_error().is_some() && !client.is_closed() => Ok(Vec::new()),
        Err(e) => Err(format!("postgres: {e}")),
    }
}
