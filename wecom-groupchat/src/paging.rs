//! Streams over paged endpoints, generic over the spec's paging annotations: cursor paging (`list`:
//! `cursor` → `next_cursor`) and offset paging (`statistic`: `offset` → `next_offset` up to `total`).
//! One page is held in memory at a time, and a server that does not make progress cannot loop us forever.

use std::collections::HashSet;

use futures::{Stream, TryStreamExt, stream};

use crate::client::Client;
use crate::endpoint::Endpoint;
use crate::error::Error;

/// An endpoint paged by cursor. Implemented by generated code.
pub trait CursorPaged: Endpoint {
    /// One item of a page.
    type Item: Send + 'static;
    /// Sets the request's cursor (`None` for the first page).
    fn set_cursor(&mut self, cursor: Option<String>);
    /// The response's next cursor; empty or `None` means there is no more.
    fn next_cursor(response: &Self::Response) -> Option<&str>;
    /// The page's items.
    fn into_items(response: Self::Response) -> Vec<Self::Item>;
}

/// An endpoint paged by offset. Implemented by generated code.
pub trait OffsetPaged: Endpoint {
    /// One item of a page.
    type Item: Send + 'static;
    /// The request's offset.
    fn offset(&self) -> i64;
    /// Sets the request's offset.
    fn set_offset(&mut self, offset: i64);
    /// The response's next offset.
    fn next_offset(response: &Self::Response) -> Option<i64>;
    /// The response's total.
    fn total(response: &Self::Response) -> Option<i64>;
    /// How many items the page holds.
    fn items_len(response: &Self::Response) -> usize;
    /// The page's items.
    fn into_items(response: Self::Response) -> Vec<Self::Item>;
}

enum CursorState<R> {
    /// `seen` holds hashes of the cursors followed so far (8 bytes a page), to stop a server that loops.
    Next {
        client: Client,
        request: R,
        seen: HashSet<u64>,
    },
    Failed(Error),
    Done,
}

fn cursor_hash(cursor: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::hash::DefaultHasher::new();
    cursor.hash(&mut hasher);
    hasher.finish()
}

/// Every page of a cursor-paged endpoint, starting from the first page.
pub fn cursor_pages<R: CursorPaged>(
    client: Client,
    mut request: R,
) -> impl Stream<Item = Result<R::Response, Error>> + Send + 'static {
    request.set_cursor(None);
    let start = CursorState::Next { client, request, seen: HashSet::new() };
    stream::unfold(start, |state| async move {
        let (client, mut request, mut seen) = match state {
            CursorState::Next { client, request, seen } => (client, request, seen),
            CursorState::Failed(error) => return Some((Err(error), CursorState::Done)),
            CursorState::Done => return None,
        };
        let response = match client.call(&request).await {
            Ok(response) => response,
            Err(error) => return Some((Err(error), CursorState::Done)),
        };
        // `null`, `""` and an absent cursor all mean the listing is complete.
        let next = R::next_cursor(&response).filter(|c| !c.is_empty()).map(str::to_string);
        let state = match next {
            None => CursorState::Done,
            Some(cursor) if !seen.insert(cursor_hash(&cursor)) => CursorState::Failed(Error::Protocol {
                endpoint: R::INFO.name,
                message: format!("the server returned cursor {cursor:?} a second time; stopping instead of looping"),
            }),
            Some(cursor) => {
                request.set_cursor(Some(cursor));
                CursorState::Next { client, request, seen }
            }
        };
        Some((Ok(response), state))
    })
}

/// Every item of a cursor-paged endpoint.
pub fn cursor_items<R: CursorPaged>(
    client: Client,
    request: R,
) -> impl Stream<Item = Result<R::Item, Error>> + Send + 'static {
    cursor_pages(client, request).map_ok(|page| stream::iter(R::into_items(page).into_iter().map(Ok))).try_flatten()
}

enum OffsetState<R> {
    Next { client: Client, request: R },
    Failed(Error),
    Done,
}

/// Every page of an offset-paged endpoint, from the request's offset on. Stops when the next offset
/// reaches the total, when a page is empty, or when the server leaves out the next offset or the total.
pub fn offset_pages<R: OffsetPaged>(
    client: Client,
    request: R,
) -> impl Stream<Item = Result<R::Response, Error>> + Send + 'static {
    stream::unfold(OffsetState::Next { client, request }, |state| async move {
        let (client, mut request) = match state {
            OffsetState::Next { client, request } => (client, request),
            OffsetState::Failed(error) => return Some((Err(error), OffsetState::Done)),
            OffsetState::Done => return None,
        };
        let response = match client.call(&request).await {
            Ok(response) => response,
            Err(error) => return Some((Err(error), OffsetState::Done)),
        };
        let current = request.offset();
        let empty = R::items_len(&response) == 0;
        let state = match (R::next_offset(&response), R::total(&response)) {
            _ if empty => OffsetState::Done,
            (Some(next), Some(total)) if next >= total => OffsetState::Done,
            (Some(next), Some(_)) if next <= current => OffsetState::Failed(Error::Protocol {
                endpoint: R::INFO.name,
                message: format!(
                    "the server's next offset {next} does not advance past {current}; stopping instead of looping"
                ),
            }),
            (Some(next), Some(_)) => {
                request.set_offset(next);
                OffsetState::Next { client, request }
            }
            _ => OffsetState::Done,
        };
        Some((Ok(response), state))
    })
}

/// Every item of an offset-paged endpoint.
pub fn offset_items<R: OffsetPaged>(
    client: Client,
    request: R,
) -> impl Stream<Item = Result<R::Item, Error>> + Send + 'static {
    offset_pages(client, request).map_ok(|page| stream::iter(R::into_items(page).into_iter().map(Ok))).try_flatten()
}
