//! The wire format: enums that keep unknown values, the `errcode`/`errmsg` envelope, raw UTF-8 JSON
//! encoding, and reports of what the server sent that the spec does not know.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::validate::{FieldPath, Path, Rule, ValidationError};

/// An integer enumeration that keeps values the spec does not list (`Unknown(i64)`).
pub trait WireEnum: Copy + Into<i64> + From<i64> {
    /// Rust type name.
    const NAME: &'static str;
    /// Documented values and their variant names.
    const KNOWN: &'static [(i64, &'static str)];

    /// The value on the wire.
    fn value(self) -> i64 {
        self.into()
    }

    /// Whether the documentation lists this value.
    fn is_known(self) -> bool {
        let v = self.value();
        Self::KNOWN.iter().any(|(k, _)| *k == v)
    }

    /// The variant name of a documented value.
    fn name(self) -> Option<&'static str> {
        let v = self.value();
        Self::KNOWN.iter().find(|(k, _)| *k == v).map(|(_, n)| *n)
    }
}

/// The status fields every response carries. Implemented by every generated response type.
pub trait Envelope {
    /// `errcode`: 0 on success (also when the server left it out).
    fn errcode(&self) -> i64;
    /// `errmsg`.
    fn errmsg(&self) -> &str;
    /// Whether the answer says how the call went: it carries `errcode` or `errmsg`, or the fields every
    /// success of the endpoint carries. Some real successes leave `errcode` out, but a gateway's `{}` or
    /// `{"code":429}` with HTTP 200 is no proof that a write happened.
    fn proves_status(&self) -> bool;
}

pub use crate::generated::Status;

/// An upper bound of the number of JSON values in `json`: every value but the first follows a `[` or a `,`
/// in an array, or a key that follows a `{` or a `,` in an object, so counting those bytes (inside strings
/// too) never undercounts. Decoding allocates per value, so this bounds what a body can cost before it is decoded:
/// 4 MiB of `{},` would otherwise become well over a million structs.
pub fn json_values_upper_bound(json: &[u8]) -> usize {
    1 + json.iter().filter(|b| matches!(b, b',' | b'[' | b'{')).count()
}

/// Deserializes an array of at most `MAX` items, failing at the first item past it instead of
/// allocating for all of them (generated for answer arrays with a documented maximum).
pub fn bounded<'de, D, T, const MAX: usize>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    deserializer.deserialize_seq(BoundedVisitor::<T, MAX>(std::marker::PhantomData))
}

/// [`bounded`] for an optional array.
pub fn bounded_option<'de, D, T, const MAX: usize>(deserializer: D) -> Result<Option<Vec<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct OptionVisitor<T, const MAX: usize>(std::marker::PhantomData<T>);
    impl<'de, T: Deserialize<'de>, const MAX: usize> serde::de::Visitor<'de> for OptionVisitor<T, MAX> {
        type Value = Option<Vec<T>>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "null or an array of at most {MAX} items")
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            bounded::<D, T, MAX>(d).map(Some)
        }
    }
    deserializer.deserialize_option(OptionVisitor::<T, MAX>(std::marker::PhantomData))
}

struct BoundedVisitor<T, const MAX: usize>(std::marker::PhantomData<T>);

impl<'de, T: Deserialize<'de>, const MAX: usize> serde::de::Visitor<'de> for BoundedVisitor<T, MAX> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an array of at most {MAX} items")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(MAX).min(1024));
        while let Some(item) = seq.next_element()? {
            if items.len() == MAX {
                return Err(serde::de::Error::custom(format!("more than the documented maximum of {MAX} items")));
            }
            items.push(item);
        }
        Ok(items)
    }
}

/// Encodes a body as JSON in raw UTF-8 (WeCom rejects `\uXXXX` escapes with 40033), with no `null`s
/// for unset fields (generated types skip them).
pub fn to_json_bytes<T: Serialize>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    serde_json::to_vec(value)
}

/// Encodes a request body, refusing one WeCom would refuse for its encoding: serde_json writes raw UTF-8
/// but must escape control characters other than `\b \f \n \r \t` as `\uXXXX`, which WeCom answers with
/// 40033. The error names the field holding one.
pub fn encode_request<T: Serialize>(value: &T) -> Result<Vec<u8>, RequestEncodingError> {
    let body = to_json_bytes(value).map_err(RequestEncodingError::Json)?;
    if !has_unicode_escape(&body) {
        return Ok(body);
    }
    let tree = serde_json::to_value(value).map_err(RequestEncodingError::Json)?;
    let (field, c) = first_escaped_char(&tree, &FieldPath::Root).unwrap_or_default();
    Err(RequestEncodingError::Escape(ValidationError::new(
        field,
        Rule::RawUtf8,
        format!("holds the control character U+{:04X}", u32::from(c)),
        "must not: JSON can send it only as a \\u escape, which WeCom refuses",
        Some(crate::codes::INVALID_REQUEST_CHARACTERS),
    )))
}

/// Why a request could not be encoded.
#[derive(Debug)]
pub enum RequestEncodingError {
    /// serde_json failed (a custom `Serialize` did).
    Json(serde_json::Error),
    /// The body would hold a `\uXXXX` escape.
    Escape(ValidationError),
}

/// Whether a JSON text holds a `\uXXXX` escape (not a `\\` followed by `u`): backslashes occur only
/// inside strings, each starting a two-character escape. WeCom refuses such a body with 40033; the
/// simulator checks requests with this too.
#[doc(hidden)]
pub fn has_unicode_escape(json: &[u8]) -> bool {
    let mut bytes = json.iter();
    while let Some(&b) = bytes.next() {
        if b == b'\\' && bytes.next() == Some(&b'u') {
            return true;
        }
    }
    false
}

/// The path and character of the first string serde_json would write with a `\uXXXX` escape.
fn first_escaped_char(value: &Value, path: &FieldPath<'_>) -> Option<(Path, char)> {
    let escaped = |c: &char| *c < '\u{20}' && !matches!(c, '\u{8}' | '\u{c}' | '\n' | '\r' | '\t');
    match value {
        Value::String(text) => text.chars().find(escaped).map(|c| (Path::from(path), c)),
        Value::Array(items) => {
            items.iter().enumerate().find_map(|(i, item)| first_escaped_char(item, &FieldPath::Index(path, i)))
        }
        Value::Object(fields) => fields.iter().find_map(|(name, field)| {
            // A key is text too.
            match name.chars().find(escaped) {
                Some(c) => Some((Path::from(path), c)),
                None => first_escaped_char(field, &FieldPath::Field(path, name)),
            }
        }),
        _ => None,
    }
}

/// Something the server sent that the spec does not describe.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Drift {
    /// A field the spec does not list (kept in the type's `extra` map).
    UnknownField(String),
    /// An enum value the spec does not list (kept as `Unknown(value)`).
    UnknownValue {
        /// Where it was found.
        path: String,
        /// The value.
        value: i64,
        /// The enum type.
        ty: &'static str,
    },
}

impl Drift {
    /// Records `value` when the spec does not list it.
    pub fn check_enum<E: WireEnum>(value: E, path: &FieldPath<'_>, out: &mut Vec<Drift>) {
        if !value.is_known() {
            out.push(Drift::UnknownValue { path: path.to_string(), value: value.value(), ty: E::NAME });
        }
    }
}

impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Drift::UnknownField(path) => write!(f, "unknown field `{path}`"),
            Drift::UnknownValue { path, value, ty } => write!(f, "unknown value {value} of {ty} at `{path}`"),
        }
    }
}

/// Reports fields and enum values the spec does not know. Implemented by every generated type that
/// travels in responses: a way to notice that WeCom added something before the spec says so.
pub trait SpecDrift {
    /// Appends what this value, found at `path`, holds beyond the spec.
    fn drift_into(&self, path: &FieldPath<'_>, out: &mut Vec<Drift>);

    /// Everything this value holds beyond the spec.
    fn drift(&self) -> Vec<Drift> {
        let mut out = Vec::new();
        self.drift_into(&FieldPath::Root, &mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unicode_escape_is_a_backslash_u_outside_an_escaped_backslash() {
        assert!(has_unicode_escape(br#"{"a":"\u0041"}"#));
        assert!(has_unicode_escape(br#"{"a":"\\\u0041"}"#));
        assert!(!has_unicode_escape(br#"{"a":"\\u"}"#));
        assert!(!has_unicode_escape("{\"a\":\"群\"}".as_bytes()));
        assert!(!has_unicode_escape(b"\\"));
    }
}
