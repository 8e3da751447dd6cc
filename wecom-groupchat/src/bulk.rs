//! Bulk calls over an id list of any length (`transfer`, `onjob_transfer`), generic over the spec's
//! `bulk` annotation: batches of at most the list's `max_items`, and a report that accounts for every id.

use std::collections::{HashMap, HashSet};
use std::fmt;

use crate::client::Client;
use crate::endpoint::Endpoint;
use crate::error::Error;

/// An endpoint taking a list of ids and answering per-id failures. Implemented by generated code.
pub trait Batched: Endpoint {
    /// Largest batch the endpoint accepts.
    const BATCH_SIZE: usize;
    /// JSON name of the id list (validation errors name its items by their index).
    const ITEMS_FIELD: &'static str;
    /// Takes the id list out of the request.
    fn take_items(&mut self) -> Vec<String>;
    /// Puts an id list into the request.
    fn set_items(&mut self, items: Vec<String>);
    /// The ids the response lists as failed.
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

    /// Ids that failed, with their outcome.
    pub fn failed(&self) -> impl Iterator<Item = &ItemResult> {
        self.items.iter().filter(|i| matches!(i.outcome, ItemOutcome::Failed { .. }))
    }

    /// Ids whose outcome is unknown.
    pub fn unknown(&self) -> impl Iterator<Item = &ItemResult> {
        self.items.iter().filter(|i| matches!(i.outcome, ItemOutcome::Unknown { .. }))
    }

    /// Whether every id succeeded.
    pub fn all_succeeded(&self) -> bool {
        self.items.iter().all(|i| i.outcome == ItemOutcome::Succeeded)
    }

    /// `(succeeded, failed, unknown)`.
    pub fn counts(&self) -> (usize, usize, usize) {
        let mut c = (0, 0, 0);
        for item in &self.items {
            match item.outcome {
                ItemOutcome::Succeeded => c.0 += 1,
                ItemOutcome::Failed { .. } => c.1 += 1,
                ItemOutcome::Unknown { .. } => c.2 += 1,
            }
        }
        c
    }
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

/// `field` with the index of an item of `list` (`chat_id_list[3]`) mapped through `position`.
fn input_position(field: &str, list: &str, position: impl Fn(usize) -> Option<usize>) -> String {
    let mapped = field
        .strip_prefix(list)
        .and_then(|rest| rest.strip_prefix('['))
        .and_then(|rest| rest.split_once(']'))
        .and_then(|(index, rest)| Some((position(index.parse().ok()?)?, rest)));
    match mapped {
        Some((at, rest)) => format!("{list}[{at}]{rest}"),
        None => field.to_string(),
    }
}

/// Runs a bulk call: validates every batch first (nothing is sent if one is invalid), then sends them one
/// after another, calling `progress` after each. After an error every later batch would meet too (45009,
/// a wrong secret) the remaining batches are not sent: their ids are reported failed with that error.
///
/// # Errors
/// [`Error::Validation`] when a batch breaks a documented limit. Everything else is in the report.
pub async fn run<R: Batched>(
    client: &Client,
    mut request: R,
    mut progress: impl FnMut(BatchProgress),
) -> Result<BulkReport, Error> {
    let endpoint = R::INFO.name;
    let mut seen = HashSet::new();
    let mut ids = Vec::new();
    // Where each distinct id stood in the input, so errors point at the caller's list, not a batch.
    let mut positions = Vec::new();
    let mut duplicates = Vec::new();
    for (position, id) in request.take_items().into_iter().enumerate() {
        if seen.insert(id.clone()) {
            ids.push(id);
            positions.push(position);
        } else {
            duplicates.push(id);
        }
    }
    let batch_size = R::BATCH_SIZE.max(1);
    let batches: Vec<R> = ids
        .chunks(batch_size)
        .map(|chunk| {
            let mut batch = request.clone();
            batch.set_items(chunk.to_vec());
            batch
        })
        .collect();
    for (n, batch) in batches.iter().enumerate() {
        crate::client::prepare(batch).map_err(|error| match error {
            Error::Validation { endpoint, mut error } => {
                error.field =
                    input_position(&error.field, R::ITEMS_FIELD, |i| positions.get(n * batch_size + i).copied());
                Error::Validation { endpoint, error }
            }
            other => other,
        })?;
    }

    let mut items = Vec::with_capacity(ids.len());
    let total = batches.len();
    let mut sent = 0;
    // Set by an error every later batch would meet too (45009 blocks the endpoint for the rest of its
    // window; a wrong secret stays wrong): the remaining batches are reported, not sent.
    let mut stopped: Option<Error> = None;
    for (n, batch) in batches.into_iter().enumerate() {
        let mut batch = batch;
        let batch_ids = batch.take_items();
        if let Some(error) = &stopped {
            let errmsg = format!("not sent: an earlier batch met {error}");
            items.extend(batch_ids.into_iter().map(|id| ItemResult {
                id,
                outcome: ItemOutcome::Failed { errcode: error.code(), errmsg: errmsg.clone() },
            }));
            continue;
        }
        batch.set_items(batch_ids.clone());
        sent += 1;
        let outcome = client.call(&batch).await;
        match outcome {
            Ok(response) => {
                let failures: HashMap<&str, ItemFailure<'_>> =
                    R::failures(&response).into_iter().map(|f| (f.key, f)).collect();
                for listed in failures.keys().filter(|k| !batch_ids.iter().any(|id| id == *k)) {
                    tracing::warn!(endpoint, id = %listed, "the server listed a failure for an id that was not sent");
                }
                for id in batch_ids {
                    let outcome = match failures.get(id.as_str()) {
                        Some(f) => {
                            ItemOutcome::Failed { errcode: f.errcode, errmsg: f.errmsg.unwrap_or_default().to_string() }
                        }
                        None => ItemOutcome::Succeeded,
                    };
                    items.push(ItemResult { id, outcome });
                }
            }
            Err(error) => {
                let unknown = error.outcome_unknown();
                tracing::warn!(endpoint, batch = n + 1, error = %error, unknown, "batch failed");
                for id in batch_ids {
                    let outcome = if unknown {
                        ItemOutcome::Unknown { reason: error.to_string() }
                    } else {
                        ItemOutcome::Failed { errcode: error.code(), errmsg: error.to_string() }
                    };
                    items.push(ItemResult { id, outcome });
                }
                if stops_the_rest(&error) {
                    stopped = Some(error);
                }
            }
        }
        progress(BatchProgress {
            batches_done: n + 1,
            batches_total: total,
            items_done: items.len(),
            items_total: ids.len(),
        });
    }
    if stopped.is_some() {
        progress(BatchProgress {
            batches_done: total,
            batches_total: total,
            items_done: items.len(),
            items_total: ids.len(),
        });
    }
    Ok(BulkReport { endpoint, items, duplicates, batches: sent })
}

/// Whether every later batch would meet `error` too.
fn stops_the_rest(error: &Error) -> bool {
    match error {
        Error::RateLimited(_) => true,
        Error::Token(e) => !e.is_retryable(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::input_position;

    #[test]
    fn item_indexes_are_mapped_to_input_positions() {
        let positions = [0, 2, 5];
        let at = |i: usize| positions.get(i + 1).copied();
        assert_eq!(input_position("chat_id_list[1]", "chat_id_list", at), "chat_id_list[5]");
        assert_eq!(input_position("chat_id_list[0].x", "chat_id_list", at), "chat_id_list[2].x");
        assert_eq!(input_position("chat_id_list", "chat_id_list", at), "chat_id_list");
        assert_eq!(input_position("new_owner", "chat_id_list", at), "new_owner");
        assert_eq!(input_position("chat_id_list[9]", "chat_id_list", at), "chat_id_list[9]");
    }
}
