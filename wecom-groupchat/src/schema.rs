//! What the spec says about a field, at run time: for code that builds something per field without
//! naming it — the command line's flags for the fields of a join way, say — so that a field added to the
//! spec needs no code of its own there.

/// The kind of value a field holds, as the wire has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FieldKind {
    /// Text.
    String,
    /// An integer (a timestamp or a day too).
    Int,
    /// `true` or `false`.
    Bool,
    /// An integer of an enumeration: its documented values and their names.
    Enum(&'static [(i64, &'static str)]),
    /// A list of texts.
    StringList,
    /// A list of anything else.
    List,
    /// An object.
    Object,
}

/// A field as the spec describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct FieldInfo {
    /// JSON name.
    pub json_name: &'static str,
    /// The spec's doc text, in English.
    pub doc: &'static str,
    /// Its documented limits, in words (`at most 30 characters`); empty when it has none.
    pub limits: &'static str,
    /// The kind of value.
    pub kind: FieldKind,
    /// Whether requests require it.
    pub required: bool,
    /// The server's default when it is left out, as JSON text.
    pub default: Option<&'static str>,
}
