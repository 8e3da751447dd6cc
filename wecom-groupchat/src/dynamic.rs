//! Calling an endpoint whose name is known only at run time (a command line, a script): the JSON body is
//! decoded into the endpoint's generated request type, so it is checked exactly like typed calls.

use std::fmt;

use futures::future::BoxFuture;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::client::Client;
use crate::endpoint::{Endpoint, EndpointInfo, EndpointVisitor};
use crate::error::Error;
use crate::validate::{Validate, ValidationError};

/// A typed request behind a trait object.
pub trait AnyRequest: Send + Sync + fmt::Debug {
    /// The endpoint's table row.
    fn info(&self) -> &'static EndpointInfo;
    /// Checks the documented limits as of now.
    fn validate(&self) -> Result<(), ValidationError>;
    /// The request as it will be sent.
    fn to_json(&self) -> Value;
    /// Sends it; the typed response comes back as JSON.
    fn call<'a>(&'a self, client: &'a Client) -> BoxFuture<'a, Result<Value, Error>>;
}

impl<E: Endpoint> AnyRequest for E {
    fn info(&self) -> &'static EndpointInfo {
        E::INFO
    }

    fn validate(&self) -> Result<(), ValidationError> {
        Validate::validate(self)
    }

    fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    fn call<'a>(&'a self, client: &'a Client) -> BoxFuture<'a, Result<Value, Error>> {
        Box::pin(async move {
            let response = client.call(self).await?;
            serde_json::to_value(&response).map_err(|e| Error::Protocol {
                endpoint: E::INFO.name,
                message: format!("cannot encode the response: {e}"),
            })
        })
    }
}

/// Why a JSON body is not a request of the endpoint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// No endpoint has this name.
    #[error("unknown endpoint `{name}`; known endpoints: {known}")]
    UnknownEndpoint {
        /// The name given.
        name: String,
        /// The names that exist, comma-separated.
        known: String,
    },
    /// The body does not decode as the request type (not an object, missing field, wrong type).
    #[error("{endpoint}: body does not match {request_type}: {}{message}", if path.is_empty() { String::new() } else { format!("`{path}`: ") })]
    Shape {
        /// Endpoint name.
        endpoint: &'static str,
        /// Rust request type.
        request_type: &'static str,
        /// JSON path of the offending value (`owner_filter.userid_list[2]`); empty for the body itself.
        path: String,
        /// What serde said.
        message: String,
    },
    /// The body has fields the endpoint does not take.
    #[error("{endpoint}: unknown field(s) {}", fields.join(", "))]
    UnknownFields {
        /// Endpoint name.
        endpoint: &'static str,
        /// JSON paths of the unknown fields.
        fields: Vec<String>,
    },
}

/// Why a JSON value does not decode as a typed value: where, and what serde said.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", if path.is_empty() { String::new() } else { format!("{path}: ") })]
#[non_exhaustive]
pub struct ShapeError {
    /// JSON path of the offending value (`owner_filter.userid_list[2]`); empty for the value itself.
    pub path: String,
    /// What serde said (``missing field `chat_id` ``, `invalid type: string "5", expected u32`).
    pub message: String,
}

impl ShapeError {
    /// Whether a required field is missing, rather than a value of the wrong shape (WeCom answers the
    /// two with different errcodes).
    pub fn is_missing_field(&self) -> bool {
        // serde names a missing field as "missing field `x`".
        self.message.starts_with("missing field")
    }
}

/// Decodes `value` as `R` with `serde_path_to_error`, so that a shape error names the JSON path of the
/// value at fault. What `R` does with fields it does not know is up to `R` (generated types keep them).
///
/// # Errors
/// [`ShapeError`] when `value` is not an `R`: a missing field, a wrong type, a broken bound.
pub fn decode_typed<R: DeserializeOwned>(value: &Value) -> Result<R, ShapeError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        // `.` is serde_path_to_error's name for the value itself.
        let path = if path == "." { String::new() } else { path };
        ShapeError { path, message: e.into_inner().to_string() }
    })
}

/// Decodes a request body as the visited endpoint's request type ([`decode_request`]).
struct Decode<'a>(&'a Value);

impl EndpointVisitor for Decode<'_> {
    type Output = Result<Box<dyn AnyRequest>, RequestError>;

    fn visit<R: Endpoint>(self) -> Self::Output {
        let shape = |path: String, message: String| RequestError::Shape {
            endpoint: R::INFO.name,
            request_type: R::INFO.request_type,
            path,
            message,
        };
        // serde would describe `[]` as a struct of the wrong length: say what is wanted instead.
        if !self.0.is_object() {
            return Err(shape(String::new(), format!("a JSON object is needed, not {}", kind(self.0))));
        }
        let request: R = decode_typed(self.0).map_err(|e| shape(e.path, e.message))?;
        let encoded = serde_json::to_value(&request).unwrap_or(Value::Null);
        let mut unknown = Vec::new();
        unknown_paths(self.0, &encoded, "", &mut unknown);
        if !unknown.is_empty() {
            return Err(RequestError::UnknownFields { endpoint: R::INFO.name, fields: unknown });
        }
        Ok(Box::new(request))
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Paths present (and not `null`) in `original` but gone after decoding and re-encoding.
fn unknown_paths(original: &Value, encoded: &Value, path: &str, out: &mut Vec<String>) {
    match (original, encoded) {
        (Value::Object(o), Value::Object(e)) => {
            for (key, value) in o {
                let here = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
                match e.get(key) {
                    Some(inner) => unknown_paths(value, inner, &here, out),
                    None if value.is_null() => {}
                    None => out.push(here),
                }
            }
        }
        (Value::Array(o), Value::Array(e)) => {
            for (i, (a, b)) in o.iter().zip(e).enumerate() {
                unknown_paths(a, b, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

struct DecodeResponse<'a> {
    status: u16,
    content_type: Option<&'a str>,
    body: &'a [u8],
}

impl EndpointVisitor for DecodeResponse<'_> {
    type Output = Result<Value, Error>;

    fn visit<R: Endpoint>(self) -> Self::Output {
        let reply = crate::client::Reply {
            status: self.status,
            content_type: self.content_type.map(str::to_string),
            body: bytes::Bytes::copy_from_slice(self.body),
        };
        let response: R::Response =
            crate::client::decode(R::INFO, reply, 1, crate::client::DEFAULT_MAX_RESPONSE_VALUES)?;
        serde_json::to_value(&response).map_err(|e| Error::Protocol {
            endpoint: R::INFO.name,
            message: format!("cannot encode the response: {e}"),
        })
    }
}

/// Reads an HTTP answer as the endpoint named `endpoint` would — status, envelope, caps, typed decoding —
/// and gives the typed response back as JSON. `None` for an unknown endpoint. What every call goes
/// through, for tools and fuzzing that hold an answer without making a call.
#[doc(hidden)]
pub fn decode_response(
    endpoint: &str,
    status: u16,
    content_type: Option<&str>,
    body: &[u8],
) -> Option<Result<Value, Error>> {
    crate::endpoints::visit(endpoint, DecodeResponse { status, content_type, body })
}

/// Decodes `body` as a request of the endpoint named `endpoint`. Fields the endpoint does not take are
/// an error (a typo must not be dropped silently); `null` counts as unset.
///
/// # Errors
/// [`RequestError`] when the endpoint is unknown or the body does not fit.
pub fn decode_request(endpoint: &str, body: &Value) -> Result<Box<dyn AnyRequest>, RequestError> {
    crate::endpoints::visit(endpoint, Decode(body)).unwrap_or_else(|| {
        Err(RequestError::UnknownEndpoint {
            name: endpoint.to_string(),
            known: crate::endpoints::ALL.iter().map(|e| e.name).collect::<Vec<_>>().join(", "),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn shape(endpoint: &str, body: Value) -> String {
        match decode_request(endpoint, &body) {
            Err(e @ RequestError::Shape { .. }) => e.to_string(),
            other => panic!("expected a shape error, got {other:?}"),
        }
    }

    #[test]
    fn shape_errors_name_the_json_path() {
        let e = shape("list", json!({"limit": "5"}));
        assert!(e.contains("`limit`: invalid type: string \"5\""), "{e}");
        let e = shape("list", json!({"limit": 5, "owner_filter": {"userid_list": ["a", 7]}}));
        assert!(e.contains("`owner_filter.userid_list[1]`"), "{e}");
        let e = shape("list", json!([]));
        assert!(e.ends_with("a JSON object is needed, not an array"), "{e}");
        let e = shape("get", json!({}));
        assert!(e.contains("missing field `chat_id`"), "{e}");
    }

    #[test]
    fn typed_decoding_names_the_path_and_tells_a_missing_field() {
        use crate::types::{GetRequest, ListRequest};
        let e =
            decode_typed::<ListRequest>(&json!({"limit": 5, "owner_filter": {"userid_list": ["a", 7]}})).unwrap_err();
        assert_eq!(e.path, "owner_filter.userid_list[1]");
        assert!(!e.is_missing_field() && e.to_string().starts_with("owner_filter.userid_list[1]: invalid type"), "{e}");
        let e = decode_typed::<GetRequest>(&json!({})).unwrap_err();
        assert!(e.is_missing_field() && e.path.is_empty(), "{e:?}");
        assert_eq!(e.to_string(), e.message);
        assert_eq!(decode_typed::<GetRequest>(&json!({"chat_id": "wr1"})).unwrap().chat_id, "wr1");
    }

    /// A day the `time` crate holds in UTC but not in UTC+8 (its last second, 9999-12-31 23:59:59 UTC) must be
    /// a validation error like any other day out of range, not a panic of the day formatting behind it.
    /// Found while fuzzing `cli_body` (by reading what its inputs reach; the fuzzer did not get there).
    #[test]
    fn the_last_day_time_can_hold_is_a_validation_error() {
        for day in [253_402_300_799_i64, 253_402_272_000, i64::MAX] {
            let body = json!({
                "day_begin_time": day,
                "owner_filter": {"userid_list": ["zhangsan"]},
            });
            let request = decode_request("statistic", &body).unwrap();
            let e = request.validate().unwrap_err().to_string();
            assert!(e.starts_with("day_begin_time: @"), "{e}");
        }
    }

    /// Found by the `response` fuzz target: serde_json's default float parsing is off by one ulp for some
    /// long numbers, so a number in an unknown field changed when the answer was re-encoded and read again.
    #[test]
    fn unknown_numbers_survive_re_encoding_exactly() {
        let digits = format!("{}2", "7".repeat(83));
        let body = format!(r#"{{"errcode":0,"errmsg":"ok","stats":{{"total":{digits}}}}}"#);
        let value = decode_response("del_join_way", 200, Some("application/json"), body.as_bytes()).unwrap().unwrap();
        let exact: f64 = digits.parse().unwrap();
        assert_eq!(value["stats"]["total"].as_f64(), Some(exact), "the number is not the closest f64");
        let again = serde_json::to_vec(&value).unwrap();
        let decoded = decode_response("del_join_way", 200, Some("application/json"), &again).unwrap().unwrap();
        assert_eq!(decoded, value);
    }
}
