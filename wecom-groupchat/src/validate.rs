//! Validation of requests before anything is sent. The generated `Validate` implementations call small
//! check functions with the field path, the value and the limit from the spec.

use std::fmt;

use crate::time::{self, now_unix};
use crate::wire::WireEnum;

/// The path of a field inside a request, built on the stack and formatted only on error:
/// `owner_filter.userid_list[3]`.
#[derive(Debug, Clone, Copy)]
pub enum FieldPath<'a> {
    /// The request itself.
    Root,
    /// A named field of the parent.
    Field(&'a FieldPath<'a>, &'a str),
    /// An item of the parent array.
    Index(&'a FieldPath<'a>, usize),
}

impl<'a> FieldPath<'a> {
    /// The path of a field below this one.
    pub fn field<'b>(&'b self, name: &'b str) -> FieldPath<'b>
    where
        'a: 'b,
    {
        FieldPath::Field(self, name)
    }

    /// The path of an array item below this one.
    pub fn index<'b>(&'b self, i: usize) -> FieldPath<'b>
    where
        'a: 'b,
    {
        FieldPath::Index(self, i)
    }
}

impl fmt::Display for FieldPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldPath::Root => Ok(()),
            FieldPath::Field(FieldPath::Root, name) => f.write_str(name),
            FieldPath::Field(parent, name) => write!(f, "{parent}.{name}"),
            FieldPath::Index(parent, i) => write!(f, "{parent}[{i}]"),
        }
    }
}

/// One step of a [`Path`]: a named field, or an item of an array.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Segment {
    /// A field, by JSON name.
    Field(String),
    /// An array item, by position.
    Index(usize),
}

/// Where a value sits in a request, as data (`owner_filter`, `userid_list`, `3`) and as text
/// (`owner_filter.userid_list[3]`): code that maps positions — a bulk call naming the caller's position
/// instead of the batch's — edits the segments, never the text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Path(Vec<Segment>);

impl Path {
    /// The segments, outermost first.
    pub fn segments(&self) -> &[Segment] {
        &self.0
    }

    /// The same path with the index right after the field `list` at the top mapped through `map`
    /// (unchanged when the path does not start there, or `map` gives nothing).
    pub fn map_index(mut self, list: &str, map: impl Fn(usize) -> Option<usize>) -> Path {
        if let [Segment::Field(name), Segment::Index(i), ..] = self.0.as_mut_slice()
            && name == list
            && let Some(mapped) = map(*i)
        {
            *i = mapped;
        }
        self
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Field(name) if n == 0 => f.write_str(name)?,
                Segment::Field(name) => write!(f, ".{name}")?,
                Segment::Index(i) => write!(f, "[{i}]")?,
            }
        }
        Ok(())
    }
}

impl From<&FieldPath<'_>> for Path {
    fn from(path: &FieldPath<'_>) -> Path {
        fn walk(path: &FieldPath<'_>, out: &mut Vec<Segment>) {
            match path {
                FieldPath::Root => {}
                FieldPath::Field(parent, name) => {
                    walk(parent, out);
                    out.push(Segment::Field(name.to_string()));
                }
                FieldPath::Index(parent, i) => {
                    walk(parent, out);
                    out.push(Segment::Index(*i));
                }
            }
        }
        let mut segments = Vec::new();
        walk(path, &mut segments);
        Path(segments)
    }
}

/// A path in its text form: the spec's dotted names (`owner_filter.userid_list`), with item positions
/// where there are any (`chat_id_list[3]`).
impl From<&str> for Path {
    fn from(text: &str) -> Path {
        let mut segments = Vec::new();
        for part in text.split('.').filter(|s| !s.is_empty()) {
            let (name, mut indexes) = part.split_once('[').map_or((part, ""), |(name, rest)| (name, rest));
            let mut positions = Vec::new();
            while let Some((digits, rest)) = indexes.split_once(']') {
                match canonical_index(digits) {
                    Some(i) => positions.push(i),
                    None => break,
                }
                indexes = rest.strip_prefix('[').unwrap_or(rest);
                if rest.is_empty() {
                    indexes = "";
                    break;
                }
            }
            if indexes.is_empty() && !name.is_empty() {
                segments.push(Segment::Field(name.to_string()));
                segments.extend(positions.into_iter().map(Segment::Index));
            } else {
                // Not a path's text: kept whole rather than guessed at.
                segments.push(Segment::Field(part.to_string()));
            }
        }
        Path(segments)
    }
}

impl From<String> for Path {
    fn from(dotted: String) -> Path {
        Path::from(dotted.as_str())
    }
}

/// `digits` as an index written the way [`Path`]'s text writes one: no sign, no leading zero.
fn canonical_index(digits: &str) -> Option<usize> {
    let plain = digits.bytes().all(|b| b.is_ascii_digit()) && (digits == "0" || !digits.starts_with('0'));
    if plain { digits.parse().ok() } else { None }
}

/// Compares with the text form without building it.
impl PartialEq<str> for Path {
    fn eq(&self, other: &str) -> bool {
        let mut rest = other;
        for (n, segment) in self.0.iter().enumerate() {
            let next = match segment {
                Segment::Field(name) if n == 0 => rest.strip_prefix(name.as_str()),
                Segment::Field(name) => rest.strip_prefix('.').and_then(|r| r.strip_prefix(name.as_str())),
                Segment::Index(i) => rest
                    .strip_prefix('[')
                    .and_then(|r| r.split_once(']'))
                    .filter(|(digits, _)| canonical_index(digits) == Some(*i))
                    .map(|(_, r)| r),
            };
            match next {
                Some(r) => rest = r,
                None => return false,
            }
        }
        rest.is_empty()
    }
}

impl PartialEq<&str> for Path {
    fn eq(&self, other: &&str) -> bool {
        *self == **other
    }
}

/// Which documented limit a value breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rule {
    /// Too few array items.
    MinItems,
    /// Too many array items.
    MaxItems,
    /// Number too small.
    Min,
    /// Number too large.
    Max,
    /// Text too short.
    MinChars,
    /// Text too long.
    MaxChars,
    /// A day outside the allowed range of days before today.
    DaysAgo,
    /// A range of days that is reversed or too long.
    DaySpan,
    /// An enum value the documentation does not list.
    KnownValue,
    /// Text with a control character that JSON can carry only as a `\uXXXX` escape, which WeCom refuses
    /// ([`crate::codes::INVALID_REQUEST_CHARACTERS`]).
    RawUtf8,
    /// A field the request requires was not given.
    Required,
}

/// A request value that breaks a documented limit: names the field, the value and the limit, e.g.
/// `chat_id_list: 101 items, at most 100`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {actual}, {limit}")]
#[non_exhaustive]
pub struct ValidationError {
    /// Path of the field, e.g. `owner_filter.userid_list`.
    pub field: Path,
    /// The limit broken.
    pub rule: Rule,
    /// The value, as found (`101 items`).
    pub actual: String,
    /// The limit, in words (`at most 100`).
    pub limit: String,
    /// The errcode WeCom answers for this mistake, when documented (default 40058, invalid parameter).
    pub errcode: Option<i64>,
}

impl ValidationError {
    /// Creates an error.
    pub fn new(
        field: impl Into<Path>,
        rule: Rule,
        actual: impl Into<String>,
        limit: impl Into<String>,
        errcode: Option<i64>,
    ) -> Self {
        ValidationError { field: field.into(), rule, actual: actual.into(), limit: limit.into(), errcode }
    }

    /// A required field that was not given (the server would answer [`crate::codes::PARAMETER_MISSING`]).
    pub fn missing(field: impl Into<Path>) -> Self {
        ValidationError::new(field, Rule::Required, "not given", "must be given", Some(crate::codes::PARAMETER_MISSING))
    }

    /// The errcode WeCom answers for this mistake: the documented one, else 40058 (invalid parameter).
    pub fn server_errcode(&self) -> i64 {
        self.errcode.unwrap_or(crate::codes::INVALID_PARAMETER)
    }
}

/// Checks documented limits. Implemented by every generated request type.
pub trait Validate {
    /// Checks this value, found at `path`, against the spec's limits; `now` is the current Unix time
    /// (statistics accept only certain days).
    fn validate_in(&self, path: &FieldPath<'_>, now: i64) -> Result<(), ValidationError>;

    /// Checks this value as of now.
    fn validate(&self) -> Result<(), ValidationError> {
        self.validate_in(&FieldPath::Root, now_unix())
    }

    /// Checks this value as of the Unix time `now`.
    fn validate_at(&self, now: i64) -> Result<(), ValidationError> {
        self.validate_in(&FieldPath::Root, now)
    }
}

/// The checks generated code calls. Each returns an error naming the field, the value and the limit.
/// Not part of the API: shared with the command line, which checks flags with them.
#[doc(hidden)]
pub mod check {
    use super::*;

    fn plural(n: i64, one: &str, many: &str) -> String {
        if n == 1 { format!("1 {one}") } else { format!("{n} {many}") }
    }

    /// At least `min` items.
    pub fn min_items(path: &FieldPath<'_>, len: usize, min: i64, errcode: Option<i64>) -> Result<(), ValidationError> {
        if (len as i64) < min {
            return Err(ValidationError::new(
                Path::from(path),
                Rule::MinItems,
                plural(len as i64, "item", "items"),
                format!("at least {min}"),
                errcode,
            ));
        }
        Ok(())
    }

    /// At most `max` items.
    pub fn max_items(path: &FieldPath<'_>, len: usize, max: i64, errcode: Option<i64>) -> Result<(), ValidationError> {
        if (len as i64) > max {
            return Err(ValidationError::new(
                Path::from(path),
                Rule::MaxItems,
                plural(len as i64, "item", "items"),
                format!("at most {max}"),
                errcode,
            ));
        }
        Ok(())
    }

    /// At least `min`.
    pub fn min(path: &FieldPath<'_>, value: i64, min: i64, errcode: Option<i64>) -> Result<(), ValidationError> {
        if value < min {
            return Err(ValidationError::new(
                Path::from(path),
                Rule::Min,
                value.to_string(),
                format!("at least {min}"),
                errcode,
            ));
        }
        Ok(())
    }

    /// At most `max`.
    pub fn max(path: &FieldPath<'_>, value: i64, max: i64, errcode: Option<i64>) -> Result<(), ValidationError> {
        if value > max {
            return Err(ValidationError::new(
                Path::from(path),
                Rule::Max,
                value.to_string(),
                format!("at most {max}"),
                errcode,
            ));
        }
        Ok(())
    }

    /// At least `min` characters (Unicode scalar values, as WeCom counts "UTF-8 characters").
    pub fn min_chars(path: &FieldPath<'_>, value: &str, min: i64, errcode: Option<i64>) -> Result<(), ValidationError> {
        let n = value.chars().count() as i64;
        if n < min {
            let limit = if min == 1 { "must not be empty".to_string() } else { format!("at least {min} characters") };
            return Err(ValidationError::new(
                Path::from(path),
                Rule::MinChars,
                plural(n, "character", "characters"),
                limit,
                errcode,
            ));
        }
        Ok(())
    }

    /// At most `max` characters.
    pub fn max_chars(path: &FieldPath<'_>, value: &str, max: i64, errcode: Option<i64>) -> Result<(), ValidationError> {
        let n = value.chars().count() as i64;
        if n > max {
            return Err(ValidationError::new(
                Path::from(path),
                Rule::MaxChars,
                plural(n, "character", "characters"),
                format!("at most {max} characters"),
                errcode,
            ));
        }
        Ok(())
    }

    /// The day of `value` lies between `oldest` and `newest` days before today (UTC+8).
    pub fn days_ago(
        path: &FieldPath<'_>,
        value: i64,
        now: i64,
        newest: i64,
        oldest: i64,
        errcode: Option<i64>,
    ) -> Result<(), ValidationError> {
        let ago = time::days_ago(value, now);
        let actual = time::describe_day(value, now);
        if ago < newest {
            let limit = match newest {
                1 => "must be yesterday or earlier".to_string(),
                n => format!("must be at least {n} days ago"),
            };
            return Err(ValidationError::new(Path::from(path), Rule::DaysAgo, actual, limit, errcode));
        }
        if ago > oldest {
            return Err(ValidationError::new(
                Path::from(path),
                Rule::DaysAgo,
                actual,
                format!("at most {oldest} days ago (only the last {oldest} days are kept)"),
                errcode,
            ));
        }
        Ok(())
    }

    /// `[begin, end]` (end defaulting to begin) is not reversed and spans at most `max_days` days,
    /// both ends included, after flooring both to 00:00 UTC+8.
    pub fn day_span(
        path: &FieldPath<'_>,
        begin: (&str, i64),
        end: (&str, Option<i64>),
        max_days: i64,
        errcode: Option<i64>,
    ) -> Result<(), ValidationError> {
        let Some(end_value) = end.1 else { return Ok(()) };
        let (b, e) = (time::day_start(begin.1), time::day_start(end_value));
        let field: Path = (&path.field(end.0)).into();
        if e < b {
            return Err(ValidationError::new(
                field,
                Rule::DaySpan,
                time::format_day(end_value),
                format!("must not be before {} {}", begin.0, time::format_day(begin.1)),
                errcode,
            ));
        }
        let days = e.saturating_sub(b) / time::DAY + 1;
        if days > max_days {
            return Err(ValidationError::new(
                field,
                Rule::DaySpan,
                format!("{}..{} spans {days} days", time::format_day(begin.1), time::format_day(end_value)),
                format!("at most {max_days} days including both ends"),
                errcode,
            ));
        }
        Ok(())
    }

    /// A value the documentation lists.
    pub fn known_value<E: WireEnum>(path: &FieldPath<'_>, value: E) -> Result<(), ValidationError> {
        if value.is_known() {
            return Ok(());
        }
        let known: Vec<String> = E::KNOWN.iter().map(|(v, n)| format!("{v} ({n})")).collect();
        Err(ValidationError::new(
            Path::from(path),
            Rule::KnownValue,
            value.value().to_string(),
            format!("must be one of {} ({})", known.join(", "), E::NAME),
            None,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_format_like_json_paths() {
        let root = FieldPath::Root;
        let filter = root.field("owner_filter");
        let list = filter.field("userid_list");
        assert_eq!(list.index(3).to_string(), "owner_filter.userid_list[3]");
        assert_eq!(root.field("limit").to_string(), "limit");
    }

    #[test]
    fn messages_name_field_value_and_limit() {
        let root = FieldPath::Root;
        let e = check::max_items(&root.field("chat_id_list"), 101, 100, None).unwrap_err();
        assert_eq!(e.to_string(), "chat_id_list: 101 items, at most 100");
        let e = check::max_chars(&root.field("state"), &"状".repeat(31), 30, None).unwrap_err();
        assert_eq!(e.to_string(), "state: 31 characters, at most 30 characters");
        assert!(check::max_chars(&root.field("state"), &"状".repeat(30), 30, None).is_ok());
        let e = check::min(&root.field("limit"), 0, 1, None).unwrap_err();
        assert_eq!(e.to_string(), "limit: 0, at least 1");
        let e = check::min_chars(&root.field("chat_id"), "", 1, None).unwrap_err();
        assert_eq!(e.to_string(), "chat_id: 0 characters, must not be empty");
    }

    #[test]
    fn day_rules() {
        let now = time::parse_day("2026-11-25").unwrap() + 3600;
        let root = FieldPath::Root;
        let today = time::parse_day("2026-11-25").unwrap();
        let e =
            check::days_ago(&root.field("day_begin_time"), today, now, 1, 180, Some(crate::codes::INVALID_TIME_RANGE))
                .unwrap_err();
        assert_eq!(e.to_string(), "day_begin_time: 2026-11-25 (today, UTC+8), must be yesterday or earlier");
        assert_eq!(e.errcode, Some(crate::codes::INVALID_TIME_RANGE));
        let old = time::day_before(now, 181);
        let e = check::days_ago(&root.field("day_begin_time"), old, now, 1, 180, None).unwrap_err();
        assert!(e.to_string().contains("181 days ago"), "{e}");
        assert!(check::days_ago(&root.field("d"), time::day_before(now, 180), now, 1, 180, None).is_ok());

        let b = time::parse_day("2026-10-01").unwrap();
        let e = check::day_span(&root, ("day_begin_time", b), ("day_end_time", Some(b + 30 * time::DAY)), 30, None)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "day_end_time: 2026-10-01..2026-10-31 spans 31 days, at most 30 days including both ends"
        );
        assert!(check::day_span(&root, ("b", b), ("e", Some(b + 29 * time::DAY + 5)), 30, None).is_ok());
        let e =
            check::day_span(&root, ("day_begin_time", b), ("day_end_time", Some(b - time::DAY)), 30, None).unwrap_err();
        assert_eq!(e.to_string(), "day_end_time: 2026-09-30, must not be before day_begin_time 2026-10-01");
    }
}

#[cfg(test)]
mod path_tests {
    use super::{FieldPath, Path, Segment};

    #[test]
    fn item_indexes_are_mapped_only_right_below_the_list() {
        let positions = [0, 2, 5];
        let at = |i: usize| positions.get(i + 1).copied();
        let root = FieldPath::Root;
        let list = root.field("chat_id_list");
        let item = list.index(1);
        assert_eq!(Path::from(&item).map_index("chat_id_list", at), "chat_id_list[5]");
        let nested = list.index(0);
        let nested = nested.field("x");
        assert_eq!(Path::from(&nested).map_index("chat_id_list", at), "chat_id_list[2].x");
        assert_eq!(Path::from("chat_id_list").map_index("chat_id_list", at), "chat_id_list");
        assert_eq!(Path::from("new_owner").map_index("chat_id_list", at), "new_owner");
        let far = list.index(9);
        assert_eq!(Path::from(&far).map_index("chat_id_list", at), "chat_id_list[9]");
        // A list of the same name deeper down is not the one being batched.
        let deep = root.field("owner_filter");
        let deep = deep.field("chat_id_list");
        let deep = deep.index(1);
        assert_eq!(Path::from(&deep).map_index("chat_id_list", at), "owner_filter.chat_id_list[1]");
    }

    #[test]
    fn paths_keep_their_segments() {
        let root = FieldPath::Root;
        let filter = root.field("owner_filter");
        let list = filter.field("userid_list");
        let item = list.index(3);
        let path = Path::from(&item);
        assert_eq!(path.to_string(), "owner_filter.userid_list[3]");
        assert_eq!(
            path.segments(),
            [Segment::Field("owner_filter".into()), Segment::Field("userid_list".into()), Segment::Index(3)]
        );
        assert_eq!(path, "owner_filter.userid_list[3]");
        for other in [
            "owner_filter.userid_list[03]",
            "owner_filter.userid_list[+3]",
            "owner_filter.userid_list",
            "owner_filter.userid_list[3].x",
            "owner_filter.userid_list[4]",
            "userid_list[3]",
            "",
        ] {
            assert_ne!(path, other, "{other}");
        }
        assert_eq!(Path::default(), "");
        assert_eq!(Path::from("owner_filter.userid_list[3]"), path);
        assert_eq!(
            Path::from("a[1][2].b").segments(),
            [Segment::Field("a".into()), Segment::Index(1), Segment::Index(2), Segment::Field("b".into())]
        );
        assert_eq!(Path::from("a[x]").segments(), [Segment::Field("a[x]".into())]);
    }
}
