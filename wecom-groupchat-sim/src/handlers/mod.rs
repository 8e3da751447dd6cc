//! The business endpoints. Each request type implements [`Handle`]: the body is decoded into the
//! generated request type, checked with its generated `Validate` (so documented limits answer the
//! documented errcode), then handled against the company under its lock.

mod chats;
mod join_way;
mod staff;
mod statistic;
mod transfer;

use serde_json::Value;
use wecom_groupchat::dynamic::decode_typed;
use wecom_groupchat::endpoint::Endpoint;
use wecom_groupchat::wire::has_unicode_escape;

use crate::answer::Failure;
use crate::company::Company;

pub(crate) use wecom_groupchat::codes::{
    INVALID_PARAMETER, INVALID_REQUEST_CHARACTERS as ILLEGAL_CHARACTERS, PARAMETER_MISSING as PARAMETER_EMPTY,
    TOO_MANY_ITEMS_REQUESTED as TOO_MANY,
};
/// The people in the app's visible range above which leaving out `owner_filter` answers [`TOO_MANY`].
pub(crate) const VISIBLE_LIMIT: usize = wecom_groupchat::api::VISIBLE_STAFF_WITHOUT_OWNER_FILTER as usize;

/// What a handler knows about the call beyond the request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CallCtx {
    /// Time of the call on the simulator clock, Unix milliseconds.
    pub(crate) now_ms: i64,
}

impl CallCtx {
    pub(crate) fn new(now_ms: i64) -> Self {
        CallCtx { now_ms }
    }

    /// Time of the call, Unix seconds.
    pub(crate) fn now(&self) -> i64 {
        self.now_ms.div_euclid(1000)
    }
}

/// A request type the simulator answers.
pub(crate) trait Handle: Endpoint {
    /// Answers the request.
    fn handle(self, company: &mut Company, ctx: &CallCtx) -> Result<Self::Response, Failure>;
}

/// Decodes and validates a body as `R`, answering WeCom's errcodes:
/// empty body or missing required field → 40063; not JSON, not an object, wrong type or a broken
/// limit → 40058 (or the limit's documented errcode, e.g. 41091, 600018); `\uXXXX` escapes → 40033.
/// Unknown fields are ignored.
pub(crate) fn decode<R: Endpoint>(body: &[u8], ctx: &CallCtx) -> Result<R, Failure> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(Failure::new(PARAMETER_EMPTY, "empty body; send a JSON object"));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| Failure::new(INVALID_PARAMETER, format!("body is not valid JSON: {e}")))?;
    if !value.is_object() {
        return Err(Failure::new(INVALID_PARAMETER, "body must be a JSON object"));
    }
    if has_unicode_escape(body) {
        return Err(Failure::new(ILLEGAL_CHARACTERS, "\\uXXXX escapes are not accepted; send raw UTF-8"));
    }
    let request: R = decode_typed(&value).map_err(|shape| {
        if shape.is_missing_field() {
            Failure::new(PARAMETER_EMPTY, shape.message)
        } else {
            // `path: message`, or the message alone when the body itself is at fault.
            Failure::new(INVALID_PARAMETER, shape.to_string())
        }
    })?;
    request.validate_at(ctx.now()).map_err(|e| Failure::new(e.server_errcode(), e.to_string()))?;
    Ok(request)
}

/// The answer of an endpoint the spec says the simulator answers by example: its first documented answer.
#[allow(dead_code)] // see `server::by_example`
pub(crate) fn example_answer<R: Endpoint>() -> Result<R::Response, Failure> {
    let text = wecom_groupchat::endpoint::Example::first_response(R::INFO.name).ok_or_else(|| {
        Failure::new(wecom_groupchat::codes::SYSTEM_BUSY, "the spec has no example answer for this endpoint")
    })?;
    serde_json::from_str(text).map_err(|e| {
        Failure::new(wecom_groupchat::codes::SYSTEM_BUSY, format!("the example answer does not decode: {e}"))
    })
}

#[cfg(test)]
mod tests {
    use wecom_groupchat::types::{GetRequest, ListRequest, StatisticRequest};

    use super::*;

    fn ctx() -> CallCtx {
        CallCtx::new(wecom_groupchat::time::now_unix() * 1000)
    }

    fn code<R: Handle>(body: &str) -> i64 {
        decode::<R>(body.as_bytes(), &ctx()).map(|_| 0).unwrap_or_else(|f| f.errcode)
    }

    #[test]
    fn decoding_answers_wecom_errcodes() {
        assert_eq!(code::<ListRequest>(""), PARAMETER_EMPTY);
        assert_eq!(code::<ListRequest>("  \n"), PARAMETER_EMPTY);
        assert_eq!(code::<ListRequest>("{"), INVALID_PARAMETER);
        assert_eq!(code::<ListRequest>("[1]"), INVALID_PARAMETER);
        assert_eq!(code::<ListRequest>("{}"), PARAMETER_EMPTY);
        assert_eq!(code::<ListRequest>(r#"{"limit":"ten"}"#), INVALID_PARAMETER);
        assert_eq!(code::<ListRequest>(r#"{"limit":0}"#), INVALID_PARAMETER);
        assert_eq!(code::<ListRequest>(r#"{"limit":10,"surprise":true}"#), 0);
        assert_eq!(code::<GetRequest>(r#"{"chat_id":"\u0041"}"#), ILLEGAL_CHARACTERS);
        assert_eq!(code::<GetRequest>(r#"{"chat_id":"a\\u"}"#), 0);
        assert_eq!(code::<GetRequest>(r#"{"chat_id":"群"}"#), 0);
        assert_eq!(
            code::<StatisticRequest>(r#"{"day_begin_time":1,"owner_filter":{"userid_list":[]}}"#),
            wecom_groupchat::codes::INVALID_TIME_RANGE
        );
    }
}
