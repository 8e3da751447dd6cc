//! Streams over paged endpoints, generic over the spec's paging annotations: cursor paging (`list`:
//! `cursor` → `next_cursor`) and offset paging (`statistic`: `offset` → `next_offset` up to `total`).
//! One page is held in memory at a time, and a server that does not make progress cannot loop us forever:
//! a cursor seen before, an offset that does not advance, or [`MAX_EMPTY_PAGES`] empty pages in a row end
//! the stream with [`Error::Protocol`], and so does a full offset page that does not say where to go on.

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
    /// How many items the page holds.
    fn items_len(response: &Self::Response) -> usize;
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
    /// The page size the server will use (the request's, or the documented default), when the spec
    /// names the field: a page this full that lacks the next offset or the total breaks the contract.
    fn page_size(&self) -> Option<i64>;
    /// The response's next offset.
    fn next_offset(response: &Self::Response) -> Option<i64>;
    /// The response's total.
    fn total(response: &Self::Response) -> Option<i64>;
    /// How many items the page holds.
    fn items_len(response: &Self::Response) -> usize;
    /// The page's items.
    fn into_items(response: Self::Response) -> Vec<Self::Item>;
}

/// Empty pages in a row after which a cursor listing is abandoned: a server handing out fresh cursors
/// with nothing on their pages would otherwise keep us calling forever.
pub const MAX_EMPTY_PAGES: usize = 16;

enum CursorState<R> {
    /// `seen` holds hashes of the cursors followed so far (8 bytes a page), to stop a server that loops;
    /// `empty` counts the empty pages in a row.
    Next {
        client: Client,
        request: R,
        seen: HashSet<u64>,
        empty: usize,
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
    let start = CursorState::Next { client, request, seen: HashSet::new(), empty: 0 };
    stream::unfold(start, |state| async move {
        let (client, mut request, mut seen, empty) = match state {
            CursorState::Next { client, request, seen, empty } => (client, request, seen, empty),
            CursorState::Failed(error) => return Some((Err(error), CursorState::Done)),
            CursorState::Done => return None,
        };
        let response = match client.call(&request).await {
            Ok(response) => response,
            Err(error) => return Some((Err(error), CursorState::Done)),
        };
        // `null`, `""` and an absent cursor all mean the listing is complete.
        let next = R::next_cursor(&response).filter(|c| !c.is_empty()).map(str::to_string);
        let empty = if R::items_len(&response) == 0 { empty + 1 } else { 0 };
        let state = match next {
            None => CursorState::Done,
            Some(_) if empty >= MAX_EMPTY_PAGES => CursorState::Failed(Error::Protocol {
                endpoint: R::INFO.name,
                message: format!(
                    "{empty} empty pages in a row, each with a new cursor; stopping instead of calling forever"
                ),
            }),
            Some(cursor) if !seen.insert(cursor_hash(&cursor)) => CursorState::Failed(Error::Protocol {
                endpoint: R::INFO.name,
                message: format!("the server returned cursor {cursor:?} a second time; stopping instead of looping"),
            }),
            Some(cursor) => {
                request.set_cursor(Some(cursor));
                CursorState::Next { client, request, seen, empty }
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
/// reaches the total, when a page is empty, or when a page that is not full leaves out the next offset or
/// the total (the last page); a full page that leaves them out is [`Error::Protocol`].
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
        let len = R::items_len(&response);
        let full = request.page_size().is_some_and(|size| size > 0 && len as i64 >= size);
        let state = match (R::next_offset(&response), R::total(&response)) {
            _ if len == 0 => OffsetState::Done,
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
            (next, total) if full => OffsetState::Failed(Error::Protocol {
                endpoint: R::INFO.name,
                message: format!(
                    "a full page of {len} items without {}; cannot tell whether more follow",
                    match (next, total) {
                        (None, None) => "a next offset or a total",
                        (None, _) => "a next offset",
                        _ => "a total",
                    }
                ),
            }),
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
