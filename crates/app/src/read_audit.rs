//! The audit of reads, written by group commit.
//!
//! A read of PHI writes nothing but its audit events, and must not answer
//! before they are stored (fail closed). Each such read used to take the
//! chain's lock for a transaction of its own, so under load every reader
//! queued for it one by one. Here the reads waiting at the same moment
//! share one transaction instead: the first one to arrive starts a writer
//! task; while it writes, later reads queue; when it is done it takes the
//! whole queue in the next transaction. Each read's events stay together
//! and in order in the chain, and each read is answered only once the
//! transaction holding its events has committed (or with that
//! transaction's error, so no read goes unaudited).
//!
//! Changes to PHI do not come here: their events are written in the same
//! transaction as the change itself.

use std::sync::{Arc, Mutex, PoisonError};

use cbt_domain::audit::{AuditEvent, AuditKey};
use cbt_ports::{Store, StoreError};
use tokio::sync::oneshot;

use crate::AppError;

/// At most this many events in one transaction; a longer queue is written
/// in several.
const EVENTS_PER_TRANSACTION: usize = 512;

/// The reads waiting for their audit events to be stored.
pub(crate) struct ReadAudit {
    store: Arc<dyn Store>,
    key: Arc<AuditKey>,
    queue: Mutex<Queue>,
}

#[derive(Default)]
struct Queue {
    waiting: Vec<Waiting>,
    /// A writer task is running and will take what is waiting.
    writing: bool,
}

struct Waiting {
    events: Vec<AuditEvent>,
    stored: oneshot::Sender<Result<(), StoreError>>,
}

impl ReadAudit {
    pub(crate) fn new(store: Arc<dyn Store>, key: Arc<AuditKey>) -> Self {
        Self { store, key, queue: Mutex::default() }
    }

    /// Stores one read's events; returns once they are committed.
    pub(crate) async fn record(self: &Arc<Self>, events: Vec<AuditEvent>) -> Result<(), AppError> {
        if events.is_empty() {
            return Ok(());
        }
        let (stored, answer) = oneshot::channel();
        let start_writer = {
            let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
            queue.waiting.push(Waiting { events, stored });
            !std::mem::replace(&mut queue.writing, true)
        };
        if start_writer {
            // A task of its own, so that a request dropped half-way (its
            // client went away) cannot abandon other reads' events.
            tokio::spawn(Arc::clone(self).write_queue());
        }
        match answer.await {
            Ok(result) => Ok(result?),
            // The writer task ended without answering (a panic, or its
            // runtime shutting down).
            Err(_) => Err(AppError::Internal("the audit writer stopped".to_owned())),
        }
    }

    /// Writes what is waiting, batch after batch, until nothing is.
    async fn write_queue(self: Arc<Self>) {
        // Should this task end any other way than by an empty queue (a
        // panic, or its runtime shutting down), the queue is reset so that
        // the next read starts a new writer instead of waiting forever.
        let mut ended = WriterEnd { audit: &self, normally: false };
        while let Some(mut batch) = self.next_batch() {
            let events: Vec<AuditEvent> = batch.iter_mut().flat_map(|w| std::mem::take(&mut w.events)).collect();
            let started = std::time::Instant::now();
            let result = self.write(&events).await;
            tracing::debug!(
                reads = batch.len(),
                events = events.len(),
                micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
                ok = result.is_ok(),
                "audit of reads written"
            );
            for waiting in batch {
                // A read whose request was dropped no longer listens.
                let _ = waiting.stored.send(result.clone());
            }
        }
        ended.normally = true;
    }

    /// Takes reads from the front of the queue, whole, up to
    /// [`EVENTS_PER_TRANSACTION`] events (always at least one read); `None`
    /// when the queue is empty, which also ends this writer's turn.
    fn next_batch(&self) -> Option<Vec<Waiting>> {
        let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        if queue.waiting.is_empty() {
            queue.writing = false;
            return None;
        }
        let mut events = 0;
        let mut take = 0;
        for waiting in &queue.waiting {
            if take > 0 && events + waiting.events.len() > EVENTS_PER_TRANSACTION {
                break;
            }
            events += waiting.events.len();
            take += 1;
        }
        Some(queue.waiting.drain(..take).collect())
    }

    async fn write(&self, events: &[AuditEvent]) -> Result<(), StoreError> {
        let mut tx = self.store.begin_reads_audit().await?;
        tx.append_audit(&self.key, events).await?;
        tx.commit().await
    }
}

struct WriterEnd<'a> {
    audit: &'a ReadAudit,
    normally: bool,
}

impl Drop for WriterEnd<'_> {
    fn drop(&mut self) {
        if !self.normally {
            let mut queue = self.audit.queue.lock().unwrap_or_else(PoisonError::into_inner);
            queue.writing = false;
            // Their answers are dropped with them: each read fails closed.
            queue.waiting.clear();
        }
    }
}
