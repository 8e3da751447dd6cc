//! Bulk calls over an id list of any length (`transfer`, `onjob_transfer`), generic over the spec's
//! `bulk` annotation: batches of at most the list's `max_items`, and a report that accounts for every id.
//!
//! [`plan`] checks and encodes every batch before anything is sent; [`BulkPlan::send`] sends one batch and
//! says what happened to each of its ids. [`run`] is the plain loop over both; a caller that must record
//! each batch as it lands, or stop between batches (the command line on Ctrl-C), drives the plan itself.

use std::collections::{HashMap, HashSet};
use std::fmt;

use bytes::Bytes;

use crate::client::Client;
use crate::endpoint::Endpoint;
use crate::error::Error;

/// An endpoint taking a list of ids and answering per-id failures: the request types of the spec's bulk
/// endpoints (listed below). Implemented by generated code only; its items are not part of the API.
pub trait Batched: Endpoint {
    /// Largest batch the endpoint accepts.
    #[doc(hidden)]
    const BATCH_SIZE: usize;
    /// JSON name of the id list (validation errors name its items by their index).
    #[doc(hidden)]
    const ITEMS_FIELD: &'static str;
    /// Takes the id list out of the request.
    #[doc(hidden)]
    fn take_items(&mut self) -> Vec<String>;
    /// Puts an id list into the request.
    #[doc(hidden)]
    fn set_items(&mut self, items: Vec<String>);
    /// The ids the response lists as failed.
    #[doc(hidden)]
    fn failures(response: &Self::Response) -> Vec<ItemFailure<'_>>;
}

/// One failed id as the server listed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemFailure<'a> {
    /// The id.
    pub key: &'a str,
    /// Its errcode (may be 0 or absent: listed means failed all the same).
    pub errcode: Option<i64>,
    /// Its errmsg.
    pub errmsg: Option<&'a str>,
}

/// What happened to one id.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ItemOutcome {
    /// Done.
    Succeeded,
    /// Not done, for this reason.
    Failed {
        /// The errcode (the item's own, or the batch's when the whole batch failed).
        errcode: Option<i64>,
        /// What went wrong.
        errmsg: String,
    },
    /// The batch failed after it may have reached the server: it may or may not be done. Check before
    /// trying again (for transfers: `get` shows the chat's owner).
    Unknown {
        /// What went wrong.
        reason: String,
    },
    /// Never sent: an earlier batch met an error every later one would meet too (45009, a wrong secret),
    /// or the caller stopped. Safe to send again.
    NotSent {
        /// Why.
        reason: String,
        /// The errcode that stopped the run, if one did.
        errcode: Option<i64>,
    },
}

impl ItemOutcome {
    /// `succeeded`, `failed`, `unknown` or `not_sent`.
    pub fn as_str(&self) -> &'static str {
        match self {
            ItemOutcome::Succeeded => "succeeded",
            ItemOutcome::Failed { .. } => "failed",
            ItemOutcome::Unknown { .. } => "unknown",
            ItemOutcome::NotSent { .. } => "not_sent",
        }
    }
}

/// One id and its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemResult {
    /// The id.
    pub id: String,
    /// What happened.
    pub outcome: ItemOutcome,
}

/// The outcome of every distinct id of a bulk call, in input order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BulkReport {
    /// The endpoint.
    pub endpoint: &'static str,
    /// One result per distinct id.
    pub items: Vec<ItemResult>,
    /// Ids that appeared more than once in the input (sent once).
    pub duplicates: Vec<String>,
    /// Batches sent (after a rate limit or a wrong secret the rest are not: see [`run`]).
    pub batches: usize,
}

impl BulkReport {
    /// Ids that succeeded.
    pub fn succeeded(&self) -> impl Iterator<Item = &str> {
        self.items.iter().filter(|i| i.outcome == ItemOutcome::Succeeded).map(|i| i.id.as_str())
    }

    /// Ids that failed or were not sent, with their outcome.
    pub fn failed(&self) -> impl Iterator<Item = &ItemResult> {
        self.items.iter().filter(|i| matches!(i.outcome, ItemOutcome::Failed { .. } | ItemOutcome::NotSent { .. }))
    }

    /// Ids whose outcome is unknown.
    pub fn unknown(&self) -> impl Iterator<Item = &ItemResult> {
        self.items.iter().filter(|i| matches!(i.outcome, ItemOutcome::Unknown { .. }))
    }

    /// Whether every id succeeded.
    pub fn all_succeeded(&self) -> bool {
        self.items.iter().all(|i| i.outcome == ItemOutcome::Succeeded)
    }

    /// `(succeeded, failed, unknown)`; ids not sent count as failed.
    pub fn counts(&self) -> (usize, usize, usize) {
        counts(&self.items)
    }
}

/// `(succeeded, failed or not sent, unknown)` of some results.
pub fn counts(items: &[ItemResult]) -> (usize, usize, usize) {
    let mut c = (0, 0, 0);
    for item in items {
        match item.outcome {
            ItemOutcome::Succeeded => c.0 += 1,
            ItemOutcome::Failed { .. } | ItemOutcome::NotSent { .. } => c.1 += 1,
            ItemOutcome::Unknown { .. } => c.2 += 1,
        }
    }
    c
}

impl fmt::Display for BulkReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (ok, failed, unknown) = self.counts();
        let batches = if self.batches == 1 { "1 batch".to_string() } else { format!("{} batches", self.batches) };
        write!(f, "{}: {ok} succeeded, {failed} failed, {unknown} unknown ({batches})", self.endpoint)
    }
}

/// Progress after each batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchProgress {
    /// Batches done.
    pub batches_done: usize,
    /// Batches in all.
    pub batches_total: usize,
    /// Ids done.
    pub items_done: usize,
    /// Ids in all.
    pub items_total: usize,
}

/// An id given more than once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    /// The id.
    pub id: String,
    /// Its position in the input (0-based).
    pub position: usize,
    /// The position of its first occurrence, the one sent.
    pub first: usize,
}

/// One batch, checked and encoded.
struct Batch {
    ids: Vec<String>,
    body: Bytes,
}

/// A bulk call checked and split into batches, ready to send; nothing is sent yet.
pub struct BulkPlan<R: Batched> {
    batches: Vec<Batch>,
    duplicates: Vec<Duplicate>,
    items_total: usize,
    _request: std::marker::PhantomData<fn() -> R>,
}

impl<R: Batched> fmt::Debug for BulkPlan<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BulkPlan")
            .field("endpoint", &R::INFO.name)
            .field("batches", &self.batches.len())
            .field("items", &self.items_total)
            .field("duplicates", &self.duplicates.len())
            .finish()
    }
}

/// Checks and splits a bulk call: duplicates set aside (each id is sent once), every batch validated and
/// encoded. Nothing is sent.
///
/// # Errors
/// [`Error::Validation`] when a batch breaks a documented limit; the field names the caller's position
/// (`chat_id_list[150]`), not the position inside a batch.
pub fn plan<R: Batched>(mut request: R) -> Result<BulkPlan<R>, Error> {
    let mut first_seen: HashMap<String, usize> = HashMap::new();
    let mut ids = Vec::new();
    // Where each distinct id stood in the input, so errors point at the caller's list, not a batch.
    let mut positions = Vec::new();
    let mut duplicates = Vec::new();
    for (position, id) in request.take_items().into_iter().enumerate() {
        match first_seen.get(&id) {
            Some(&first) => duplicates.push(Duplicate { id, position, first }),
            None => {
                first_seen.insert(id.clone(), position);
                ids.push(id);
                positions.push(position);
            }
        }
    }
    let batch_size = R::BATCH_SIZE.max(1);
    let mut batches = Vec::with_capacity(ids.len().div_ceil(batch_size));
    for (n, chunk) in ids.chunks(batch_size).enumerate() {
        let mut batch = request.clone();
        batch.set_items(chunk.to_vec());
        let body = crate::client::prepare(&batch).map_err(|error| match error {
            Error::Validation { endpoint, mut error } => {
                error.field = std::mem::take(&mut error.field)
                    .map_index(R::ITEMS_FIELD, |i| positions.get(n * batch_size + i).copied());
                Error::Validation { endpoint, error }
            }
            other => other,
        })?;
        batches.push(Batch { ids: chunk.to_vec(), body });
    }
    Ok(BulkPlan { items_total: ids.len(), batches, duplicates, _request: std::marker::PhantomData })
}

/// What one batch came to.
#[derive(Debug)]
#[non_exhaustive]
pub struct BatchOutcome {
    /// Each id of the batch and its outcome, in input order.
    pub items: Vec<ItemResult>,
    /// An error every later batch would meet too (45009 blocks the endpoint for the rest of its window; a
    /// wrong secret stays wrong): send no more.
    pub stop: Option<Error>,
}

impl<R: Batched> BulkPlan<R> {
    /// How many batches.
    pub fn len(&self) -> usize {
        self.batches.len()
    }

    /// Whether there is nothing to send.
    pub fn is_empty(&self) -> bool {
        self.batches.is_empty()
    }

    /// The distinct ids, in all.
    pub fn items_total(&self) -> usize {
        self.items_total
    }

    /// The ids of batch `n`.
    pub fn batch_ids(&self, n: usize) -> &[String] {
        self.batches.get(n).map_or(&[], |b| &b.ids)
    }

    /// Ids given more than once (each is sent once).
    pub fn duplicates(&self) -> &[Duplicate] {
        &self.duplicates
    }

    /// Sends batch `n` (its bytes as checked by [`plan`]) and accounts for each of its ids. Writes are not
    /// retried once they may have reached the server: a batch whose answer never came is `Unknown`.
    pub async fn send(&self, client: &Client, n: usize) -> BatchOutcome {
        let endpoint = R::INFO.name;
        let Some(batch) = self.batches.get(n) else { return BatchOutcome { items: Vec::new(), stop: None } };
        match client.call_prepared::<R>(batch.body.clone()).await {
            Ok(response) => {
                let failures: HashMap<&str, ItemFailure<'_>> =
                    R::failures(&response).into_iter().map(|f| (f.key, f)).collect();
                let sent: HashSet<&str> = batch.ids.iter().map(String::as_str).collect();
                for listed in failures.keys().filter(|k| !sent.contains(*k)) {
                    tracing::warn!(endpoint, id = %listed, "the server listed a failure for an id that was not sent");
                }
                let items = batch
                    .ids
                    .iter()
                    .map(|id| {
                        let outcome = match failures.get(id.as_str()) {
                            Some(f) => ItemOutcome::Failed {
                                errcode: f.errcode,
                                errmsg: f.errmsg.unwrap_or_default().to_string(),
                            },
                            None => ItemOutcome::Succeeded,
                        };
                        ItemResult { id: id.clone(), outcome }
                    })
                    .collect();
                BatchOutcome { items, stop: None }
            }
            Err(error) => {
                let unknown = error.outcome_unknown();
                tracing::warn!(endpoint, batch = n + 1, error = %error, unknown, "batch failed");
                let items = batch
                    .ids
                    .iter()
                    .map(|id| {
                        let outcome = if unknown {
                            ItemOutcome::Unknown { reason: error.to_string() }
                        } else {
                            ItemOutcome::Failed { errcode: error.code(), errmsg: error.to_string() }
                        };
                        ItemResult { id: id.clone(), outcome }
                    })
                    .collect();
                BatchOutcome { items, stop: stops_the_rest(&error).then_some(error) }
            }
        }
    }

    /// Batch `n`'s ids, each `NotSent` for `reason`.
    pub fn not_sent(&self, n: usize, reason: &str, errcode: Option<i64>) -> Vec<ItemResult> {
        self.batch_ids(n)
            .iter()
            .map(|id| ItemResult {
                id: id.clone(),
                outcome: ItemOutcome::NotSent { reason: reason.to_string(), errcode },
            })
            .collect()
    }

    /// Batch `n`'s ids, each `Unknown` for `reason` (a batch sent whose answer the caller stopped waiting for).
    pub fn unknown(&self, n: usize, reason: &str) -> Vec<ItemResult> {
        self.batch_ids(n)
            .iter()
            .map(|id| ItemResult { id: id.clone(), outcome: ItemOutcome::Unknown { reason: reason.to_string() } })
            .collect()
    }
}

/// Runs a bulk call: checks every batch first (nothing is sent if one is invalid), then sends them one
/// after another, calling `progress` after each. After an error every later batch would meet too (45009,
/// a wrong secret) the remaining batches are not sent: their ids are reported [`ItemOutcome::NotSent`].
///
/// # Errors
/// [`Error::Validation`] when a batch breaks a documented limit. Everything else is in the report.
pub async fn run<R: Batched>(
    client: &Client,
    request: R,
    mut progress: impl FnMut(BatchProgress),
) -> Result<BulkReport, Error> {
    let plan = plan(request)?;
    let total = plan.len();
    let mut items = Vec::with_capacity(plan.items_total());
    let mut sent = 0;
    let mut stopped: Option<Error> = None;
    for n in 0..total {
        match &stopped {
            Some(error) => {
                items.extend(plan.not_sent(n, &format!("not sent: an earlier batch met {error}"), error.code()))
            }
            None => {
                sent += 1;
                let outcome = plan.send(client, n).await;
                items.extend(outcome.items);
                stopped = outcome.stop;
                progress(BatchProgress {
                    batches_done: n + 1,
                    batches_total: total,
                    items_done: items.len(),
                    items_total: plan.items_total(),
                });
            }
        }
    }
    if stopped.is_some() {
        progress(BatchProgress {
            batches_done: total,
            batches_total: total,
            items_done: items.len(),
            items_total: plan.items_total(),
        });
    }
    let duplicates = plan.duplicates.iter().map(|d| d.id.clone()).collect();
    Ok(BulkReport { endpoint: R::INFO.name, items, duplicates, batches: sent })
}

/// Whether every later batch would meet `error` too.
fn stops_the_rest(error: &Error) -> bool {
    match error {
        Error::RateLimited(_) => true,
        Error::Token(e) => !e.is_retryable(),
        _ => false,
    }
}
