//! A strict reader for the small XML documents of callbacks: the POST envelope and the decrypted message.
//!
//! Safe on hostile input: a `<!DOCTYPE` is refused wherever it appears (so no DTD and no entity
//! declarations can exist), only the five predefined entities (`&lt;` `&gt;` `&amp;` `&apos;` `&quot;`)
//! and numeric character references are unescaped, nesting depth and element count are bounded. Text
//! and CDATA are read alike; attributes are ignored. Errors carry a byte offset at most, never text of the
//! document.
//!
//! Two readers, one result: a document in the plain shape WeCom writes (no declaration, comment,
//! attribute or reference; see `scan_plain`) is read in one pass over its bytes; any other document, and
//! every document that breaks a rule, by `quick-xml`'s reader. The plain reader takes only documents the
//! general one takes and reads them alike (tested against it on random documents, and fuzzed), so every
//! error is the general reader's.

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;
use std::mem;
use std::sync::Arc;

use quick_xml::Reader;
use quick_xml::events::{BytesRef, Event};

/// Elements may nest at most this deep (the root is depth 1).
pub const MAX_DEPTH: usize = 32;

/// A document may have at most this many elements.
pub const MAX_ELEMENTS: usize = 10_000;

/// Why a document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum XmlError {
    /// The document has a `<!DOCTYPE …>`.
    #[error("DOCTYPE is not allowed")]
    Doctype,
    /// An entity reference other than the five predefined ones, or an invalid character reference.
    #[error("entity reference not allowed")]
    Entity,
    /// Elements nest deeper than [`MAX_DEPTH`].
    #[error("elements nest deeper than {MAX_DEPTH}")]
    TooDeep,
    /// More than [`MAX_ELEMENTS`] elements.
    #[error("more than {MAX_ELEMENTS} elements")]
    TooManyElements,
    /// The bytes are not UTF-8.
    #[error("not UTF-8")]
    NotUtf8,
    /// An element name that is no XML name.
    #[error("an element name is not an XML name")]
    BadName,
    /// There is no root element.
    #[error("no root element")]
    NoRoot,
    /// Text or a second element outside the root element.
    #[error("content outside the root element")]
    OutsideRoot,
    /// Not well-formed (unclosed or mismatched tags, bad markup …) near this byte offset.
    #[error("not well-formed near byte {0}")]
    Syntax(u64),
}

/// An element: its name, its text, its child elements.
///
/// The text is the element's own character data — text and CDATA sections concatenated, references
/// resolved — with leading and trailing XML whitespace removed. Text between child elements belongs to
/// the parent, so a container such as `<MemChangeList>` has an empty text.
///
/// Names and texts are kept as ranges of one shared copy of the document, so that parsing allocates per
/// document rather than per element; only a text that had to be rewritten (a reference resolved, line
/// ends normalized, pieces split by a comment or a child joined) has its own string.
#[derive(Clone)]
pub struct Element {
    doc: Arc<str>,
    name: Text,
    text: Text,
    children: Box<[Element]>,
}

/// A name or a text: a range of the element's document (`start..end`, bytes), or a string of its own.
#[derive(Debug, Clone)]
enum Text {
    Doc(u32, u32),
    Owned(Box<str>),
}

impl Text {
    const EMPTY: Text = Text::Doc(0, 0);

    /// `len` bytes of the document at `at`; a string of its own where the offsets do not fit 32 bits.
    fn of_doc(doc: &str, at: usize, len: usize) -> Text {
        match (u32::try_from(at), u32::try_from(at + len)) {
            (Ok(start), Ok(end)) => Text::Doc(start, end),
            _ => Text::Owned(doc.get(at..at + len).unwrap_or_default().into()),
        }
    }

    #[inline]
    fn as_str<'d>(&'d self, doc: &'d str) -> &'d str {
        match self {
            Text::Doc(start, end) => doc.get(*start as usize..*end as usize).unwrap_or_default(),
            Text::Owned(text) => text,
        }
    }

    #[inline]
    fn len(&self) -> usize {
        match self {
            Text::Doc(start, end) => (end - start) as usize,
            Text::Owned(text) => text.len(),
        }
    }

    #[inline]
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops trailing XML whitespace.
    fn trim_end(&mut self, doc: &str) {
        match self {
            Text::Doc(start, end) => {
                // Byte by byte: the whitespace is ASCII, so the new end is a character boundary.
                let bytes = doc.as_bytes();
                while *end > *start && matches!(bytes.get(*end as usize - 1), Some(b' ' | b'\t' | b'\r' | b'\n')) {
                    *end -= 1;
                }
            }
            Text::Owned(text) => {
                let kept = trim_end(text).len();
                if kept < text.len() {
                    *text = text.get(..kept).unwrap_or_default().into();
                }
            }
        }
    }
}

/// `text` without leading XML whitespace (byte by byte: it is ASCII, never part of a longer character).
#[inline]
fn trim_start(text: &str) -> &str {
    let blank = text.bytes().take_while(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n')).count();
    text.get(blank..).unwrap_or_default()
}

/// `text` without trailing XML whitespace.
#[inline]
fn trim_end(text: &str) -> &str {
    let blank = text.bytes().rev().take_while(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n')).count();
    text.get(..text.len() - blank).unwrap_or_default()
}

impl Default for Element {
    fn default() -> Self {
        Element { doc: Arc::from(""), name: Text::EMPTY, text: Text::EMPTY, children: Box::default() }
    }
}

impl PartialEq for Element {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name() && self.text() == other.text() && self.children == other.children
    }
}

impl Eq for Element {}

impl fmt::Debug for Element {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Element")
            .field("name", &self.name())
            .field("text", &self.text())
            .field("children", &self.children)
            .finish()
    }
}

impl Element {
    /// An element with this name, text and children (to build messages: simulators, tests).
    pub fn new(name: impl Into<String>, text: impl Into<String>, children: Vec<Element>) -> Self {
        Element {
            doc: Arc::from(""),
            name: Text::Owned(name.into().into_boxed_str()),
            text: Text::Owned(text.into().into_boxed_str()),
            children: children.into_boxed_slice(),
        }
    }

    /// The text, taken out of the element.
    pub fn into_text(self) -> String {
        match self.text {
            Text::Owned(text) => text.into_string(),
            Text::Doc(..) => self.text.as_str(&self.doc).to_string(),
        }
    }

    /// The child elements, taken out of the element.
    pub fn into_children(self) -> Vec<Element> {
        self.children.into_vec()
    }

    /// Writes the element as XML: its text as CDATA (when not empty), then its children.
    pub fn write_xml(&self, out: &mut String) {
        out.push('<');
        out.push_str(self.name());
        out.push('>');
        if !self.text.is_empty() {
            push_cdata(out, self.text());
        }
        for child in self.children.iter() {
            child.write_xml(out);
        }
        out.push_str("</");
        out.push_str(self.name());
        out.push('>');
    }

    /// The tag name, as written (with any namespace prefix).
    #[inline]
    pub fn name(&self) -> &str {
        self.name.as_str(&self.doc)
    }

    /// The text, trimmed (see the type's documentation).
    #[inline]
    pub fn text(&self) -> &str {
        self.text.as_str(&self.doc)
    }

    /// The child elements, in document order.
    #[inline]
    pub fn children(&self) -> &[Element] {
        &self.children
    }

    /// The first child element named `name`.
    #[inline]
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.is_named(name))
    }

    /// Whether the name is `name` (the lengths compared first).
    #[inline]
    fn is_named(&self, name: &str) -> bool {
        self.name.len() == name.len() && self.name() == name
    }

    /// The text of the first child element named `name`: for `<xml>` the value of a field such as
    /// `Event`, `ChatId` or `CreateTime`.
    #[inline]
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).map(Element::text)
    }

    /// The texts of the `<Item>` children of the first child named `name` — a list field such as
    /// `<MemChangeList><Item>a</Item><Item>b</Item></MemChangeList>`. `None` if there is no such child;
    /// empty if it has no `<Item>`.
    pub fn items(&self, name: &str) -> Option<Vec<&str>> {
        self.child(name).map(|list| list.children.iter().filter(|c| c.is_named("Item")).map(Element::text).collect())
    }

    /// The flat view of the children: `(name, text)` for each, in document order. A list field appears
    /// with an empty text; read its entries with [`Element::items`].
    pub fn fields(&self) -> impl Iterator<Item = (&str, &str)> {
        self.children.iter().map(|c| (c.name(), c.text()))
    }

    /// This element and all below it, in document order (pre-order), each with its depth (0 for `self`).
    pub fn walk(&self) -> Vec<(usize, &Element)> {
        let mut out = Vec::new();
        let mut stack = vec![(0usize, self)];
        while let Some((depth, element)) = stack.pop() {
            out.push((depth, element));
            stack.extend(element.children.iter().rev().map(|c| (depth + 1, c)));
        }
        out
    }
}

/// Parses a document given as bytes, which must be UTF-8.
pub fn parse_bytes(input: &[u8]) -> Result<Element, XmlError> {
    let text = std::str::from_utf8(input).map_err(|_| XmlError::NotUtf8)?;
    parse(text)
}

/// Parses a document and returns its root element.
pub fn parse(input: &str) -> Result<Element, XmlError> {
    let mut tree = Tree::new(Arc::from(input));
    let mut outcome = Ok(true);
    if !scan_plain(input, &mut tree) {
        tree.reset();
        outcome = scan(input, &mut tree, Whitespace::Skip);
    }
    if let Ok(false) = outcome {
        tree.reset();
        outcome = scan(input, &mut tree, Whitespace::Keep);
    }
    let root = tree.root.take();
    tree.recycle();
    outcome?;
    root.ok_or(XmlError::NoRoot)
}

/// The text of the child of the root element named `name` in a document given as bytes (UTF-8), with
/// the number of such children: for the `Encrypt` of a POST envelope. The whole document is read and
/// held to the same rules as [`parse`]; the text is that of [`Element::text`], borrowed from the input
/// where it is a single piece of it. `None` when there is no such child; the first one's text otherwise.
pub(crate) fn root_child_text<'a>(input: &'a [u8], name: &str) -> Result<(usize, Option<Cow<'a, str>>), XmlError> {
    let input = std::str::from_utf8(input).map_err(|_| XmlError::NotUtf8)?;
    let fresh = || ChildText { name, depth: 0, count: 0, inside: false, text: None, joined: false };
    let mut find = fresh();
    if scan_plain(input, &mut find) {
        return Ok((find.count, find.text));
    }
    find = fresh();
    if !scan(input, &mut find, Whitespace::Skip)? {
        find = fresh();
        scan(input, &mut find, Whitespace::Keep)?;
    }
    Ok((find.count, find.text))
}

/// [`parse`] by the general reader alone (the plain one of [`scan_plain`] not tried first): for tests and
/// fuzzing, which check that both read every document alike.
#[doc(hidden)]
pub fn parse_general(input: &str) -> Result<Element, XmlError> {
    let mut tree = Tree::new(Arc::from(input));
    let mut outcome = scan(input, &mut tree, Whitespace::Skip);
    if let Ok(false) = outcome {
        tree.reset();
        outcome = scan(input, &mut tree, Whitespace::Keep);
    }
    let root = tree.root.take();
    tree.recycle();
    outcome?;
    root.ok_or(XmlError::NoRoot)
}

/// A name or a piece of character data as the reader hands it over.
enum Piece<'a> {
    /// A slice of the input, at this byte offset.
    Input(&'a str, usize),
    /// Text rewritten from the input (line ends normalized), or not found in it.
    Made(String),
    /// A resolved reference.
    Char(char),
}

impl Piece<'_> {
    fn as_str(&self) -> Option<&str> {
        match self {
            Piece::Input(text, _) => Some(text),
            Piece::Made(text) => Some(text),
            Piece::Char(_) => None,
        }
    }
}

/// What [`scan`] reports, in document order; it checks everything else (well-formedness, DOCTYPE,
/// references, depth, element count, content outside the root).
trait Sink<'a> {
    /// An element opens, with this name.
    fn open(&mut self, name: Piece<'a>);
    /// Character data of the innermost open element.
    fn text(&mut self, piece: Piece<'a>);
    /// The innermost open element closes.
    fn close(&mut self);
    /// Whether a text it keeps has been made of more than one non-empty piece, so far.
    fn joined(&self) -> bool;
}

/// How [`scan`] reads whitespace at the start of a text event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Whitespace {
    /// The reader skips it (and whitespace-only text between elements never becomes an event): right
    /// whenever no text the sink keeps is made of several pieces, since a text is trimmed in the end.
    Skip,
    /// Every byte of character data is reported: for texts in several pieces, whose inner whitespace
    /// (`<B> x <!-- c --> y </B>` is `x  y`) counts.
    Keep,
}

/// Reads the whole document, applying every rule of this module, and reports it to `sink`. With
/// [`Whitespace::Skip`] it stops and returns `false` as soon as the sink has joined pieces of a text
/// (the document must then be read again with [`Whitespace::Keep`]); otherwise it returns `true`.
/// Errors do not depend on the mode.
fn scan<'a>(input: &'a str, sink: &mut impl Sink<'a>, whitespace: Whitespace) -> Result<bool, XmlError> {
    let mut reader = Reader::from_str(input);
    let config = reader.config_mut();
    config.check_end_names = true;
    config.allow_unmatched_ends = false;
    config.expand_empty_elements = false;
    config.trim_text_start = whitespace == Whitespace::Skip;

    let mut depth = 0usize;
    let mut count = 0usize;
    let mut had_root = false;

    loop {
        let event = reader.read_event().map_err(|_| XmlError::Syntax(reader.error_position()))?;
        match event {
            Event::Start(_) | Event::Empty(_) if had_root && depth == 0 => return Err(XmlError::OutsideRoot),
            Event::Start(start) => {
                sink.open(open_element(input, start.name().as_ref(), depth, &mut count)?);
                depth += 1;
                had_root = true;
            }
            Event::Empty(start) => {
                sink.open(open_element(input, start.name().as_ref(), depth, &mut count)?);
                sink.close();
                had_root = true;
            }
            Event::End(_) => {
                if depth == 0 {
                    return Err(XmlError::Syntax(reader.buffer_position()));
                }
                depth -= 1;
                sink.close();
            }
            Event::Text(text) => {
                let piece = piece(input, &text)?;
                // XML 1.0 line ends: `\r\n` and a lone `\r` read as `\n`.
                let piece = match piece.as_str() {
                    Some(raw) if raw.contains('\r') => Piece::Made(raw.replace("\r\n", "\n").replace('\r', "\n")),
                    _ => piece,
                };
                text_at(depth, piece, sink)?;
            }
            Event::CData(data) => text_at(depth, piece(input, &data)?, sink)?,
            Event::GeneralRef(reference) => text_at(depth, Piece::Char(resolve(&reference)?), sink)?,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::DocType(_) => return Err(XmlError::Doctype),
            Event::Eof => {
                if depth != 0 {
                    return Err(XmlError::Syntax(reader.buffer_position()));
                }
                return if had_root { Ok(true) } else { Err(XmlError::NoRoot) };
            }
        }
        if whitespace == Whitespace::Skip && sink.joined() {
            return Ok(false);
        }
    }
}

/// Reads a *plain* document — the shape WeCom writes its messages and envelopes in — and reports it to
/// `sink` exactly as [`scan`] reports it with [`Whitespace::Skip`], in a fraction of the time: one pass over
/// the bytes, with no event values in between.
///
/// Plain is: whitespace (space, tab, line feed) around one root element; start tags `<Name>` and
/// `<Name/>` with no attributes and no whitespace; end tags `</Name>` exactly as their start; character
/// data with no reference and no carriage return; CDATA sections inside the root; ASCII names that are XML
/// names; no more than [`MAX_DEPTH`] levels and [`MAX_ELEMENTS`] elements. At anything else — a
/// declaration, a comment, a processing instruction, a DOCTYPE, an attribute, a reference, a `\r`, a
/// non-ASCII name, the end of the input too early, any breach of the rules, a text the sink has joined
/// from several pieces — it stops and returns `false`, having reported part of the document: the sink must
/// then be emptied and the document read by [`scan`], whose result (and error) it is. Returns `true` when
/// it has read the whole document.
///
/// So this reader takes only documents the general one takes, and reports them alike: it reads a subset
/// of XML, and leaves every other document, and every error, to [`scan`].
fn scan_plain<'a>(input: &'a str, sink: &mut impl Sink<'a>) -> bool {
    let bytes = input.as_bytes();
    // The open elements' names, as (offset, length) in the input, innermost last.
    let mut names = [(0usize, 0usize); MAX_DEPTH];
    let mut depth = 0usize;
    let mut count = 0usize;
    let mut had_root = false;
    let mut at = 0usize;
    loop {
        // Character data up to the next markup (or the end of the input).
        let Some(rest) = bytes.get(at..) else { return false };
        let end = markup(rest).map_or(bytes.len(), |i| at + i);
        if end > at {
            if depth == 0 {
                // Outside the root element, whitespace only.
                if !bytes.get(at..end).is_some_and(|t| t.iter().all(|&b| matches!(b, b' ' | b'\t' | b'\n'))) {
                    return false;
                }
            } else {
                // Leading whitespace skipped, as the general reader does with `Whitespace::Skip`.
                let Some(raw) = input.get(at..end) else { return false };
                let text = trim_start(raw);
                if !text.is_empty() {
                    sink.text(Piece::Input(text, end - text.len()));
                    if sink.joined() {
                        return false;
                    }
                }
            }
        }
        match bytes.get(end) {
            None => return depth == 0 && had_root,
            Some(b'<') => at = end + 1,
            // A reference or a carriage return.
            Some(_) => return false,
        }
        match bytes.get(at) {
            Some(b'/') => {
                // `</Name>`, the name of the innermost open element.
                let Some(inner) = depth.checked_sub(1) else { return false };
                let Some(&(name_at, len)) = names.get(inner) else { return false };
                let from = at + 1;
                if bytes.get(from..from + len) != bytes.get(name_at..name_at + len)
                    || bytes.get(from + len) != Some(&b'>')
                {
                    return false;
                }
                at = from + len + 1;
                depth = inner;
                sink.close();
            }
            Some(b'!') => {
                // `<![CDATA[…]]>` inside the root: its content up to the first `]]>`, as it is.
                if depth == 0 || !bytes.get(at..).is_some_and(|b| b.starts_with(b"![CDATA[")) {
                    return false;
                }
                let from = at + 8;
                let Some(close) = cdata_end(bytes, from) else { return false };
                let Some(text) = input.get(from..close) else { return false };
                if !text.is_empty() {
                    sink.text(Piece::Input(text, from));
                    if sink.joined() {
                        return false;
                    }
                }
                at = close + 3;
            }
            Some(&first) if NAME_BYTES[usize::from(first)] & NAME_START != 0 => {
                // `<Name>` or `<Name/>`.
                if had_root && depth == 0 {
                    return false;
                }
                let Some(tail) = bytes.get(at + 1..) else { return false };
                let name_end =
                    at + 1 + tail.iter().take_while(|&&b| NAME_BYTES[usize::from(b)] & NAME_CHAR != 0).count();
                let empty = match bytes.get(name_end) {
                    Some(b'>') => false,
                    Some(b'/') if bytes.get(name_end + 1) == Some(&b'>') => true,
                    _ => return false,
                };
                count += 1;
                if count > MAX_ELEMENTS || depth >= MAX_DEPTH {
                    return false;
                }
                let Some(name) = input.get(at..name_end) else { return false };
                sink.open(Piece::Input(name, at));
                had_root = true;
                if empty {
                    sink.close();
                    at = name_end + 2;
                } else {
                    let Some(slot) = names.get_mut(depth) else { return false };
                    *slot = (at, name_end - at);
                    depth += 1;
                    at = name_end + 1;
                }
            }
            _ => return false,
        }
    }
}

/// Runs of character data up to this long are searched byte by byte (most of a message's are: the
/// whitespace between elements, short values), longer ones with `memchr`, whose set-up costs more than
/// such a short run.
const SHORT_RUN: usize = 32;

/// The offset of the first `<`, `&` or `\r` in `text`.
#[inline]
fn markup(text: &[u8]) -> Option<usize> {
    let short = text.get(..SHORT_RUN).unwrap_or(text);
    match short.iter().position(|&b| matches!(b, b'<' | b'&' | b'\r')) {
        Some(i) => Some(i),
        None if short.len() < text.len() => {
            memchr::memchr3(b'<', b'&', b'\r', text.get(SHORT_RUN..)?).map(|i| i + SHORT_RUN)
        }
        None => None,
    }
}

/// Where the CDATA section whose content starts at `from` ends: the offset of its first `]]>`.
#[inline]
fn cdata_end(bytes: &[u8], from: usize) -> Option<usize> {
    let content = bytes.get(from..)?;
    memchr::memchr_iter(b'>', content).find(|&i| i >= 2 && content.get(i - 2..i) == Some(b"]]")).map(|i| from + i - 2)
}

/// [`NAME_BYTES`]: a byte that may begin an XML name.
const NAME_START: u8 = 1;
/// [`NAME_BYTES`]: a byte that may continue an XML name.
const NAME_CHAR: u8 = 2;

/// What each ASCII byte may be in an XML name ([`NAME_START`], [`NAME_CHAR`]); 0 for every other byte.
static NAME_BYTES: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        let start = c.is_ascii_alphabetic() || c == b'_' || c == b':';
        let char = start || c.is_ascii_digit() || c == b'-' || c == b'.';
        table[b] = if start {
            NAME_START | NAME_CHAR
        } else if char {
            NAME_CHAR
        } else {
            0
        };
        b += 1;
    }
    table
};

/// `bytes` from the reader: when they are a slice of `input` (as a reader of a `&str` hands them
/// over), that `&str` and its offset, with no second UTF-8 validation; otherwise a copy.
#[inline]
fn piece<'a>(input: &'a str, bytes: &[u8]) -> Result<Piece<'a>, XmlError> {
    let in_input = (bytes.as_ptr() as usize)
        .checked_sub(input.as_ptr() as usize)
        .and_then(|at| Some((input.get(at..at.checked_add(bytes.len())?)?, at)));
    match in_input {
        Some((text, at)) => Ok(Piece::Input(text, at)),
        None => std::str::from_utf8(bytes).map(|text| Piece::Made(text.to_string())).map_err(|_| XmlError::NotUtf8),
    }
}

/// A new element below `depth` open ones, counted against the limits: its name.
#[inline]
fn open_element<'a>(input: &'a str, raw_name: &[u8], depth: usize, count: &mut usize) -> Result<Piece<'a>, XmlError> {
    *count += 1;
    if *count > MAX_ELEMENTS {
        return Err(XmlError::TooManyElements);
    }
    if depth >= MAX_DEPTH {
        return Err(XmlError::TooDeep);
    }
    let name = piece(input, raw_name)?;
    if !name.as_str().is_some_and(is_name) {
        return Err(XmlError::BadName);
    }
    Ok(name)
}

/// Character data inside the root goes to the sink; outside it only whitespace may appear.
#[inline]
fn text_at<'a>(depth: usize, piece: Piece<'a>, sink: &mut impl Sink<'a>) -> Result<(), XmlError> {
    if depth > 0 {
        sink.text(piece);
        return Ok(());
    }
    let blank = match &piece {
        Piece::Char(c) => is_xml_space(*c),
        text => text.as_str().unwrap_or_default().chars().all(is_xml_space),
    };
    if blank { Ok(()) } else { Err(XmlError::OutsideRoot) }
}

/// The [`Sink`] that builds the [`Element`] tree.
struct Tree {
    /// The document every name and text is a range of.
    doc: Arc<str>,
    /// Open elements, innermost last.
    open: Vec<Open>,
    /// The open elements and the closed ones whose parent is still open, in document order: an open
    /// element is followed by its children so far.
    nodes: Vec<Element>,
    root: Option<Element>,
    /// Some text was made of more than one piece.
    joined: bool,
}

/// Most elements [`Tree`]'s stacks keep between parses (beyond it they are freed, so that one huge
/// document does not hold memory for the thread's life).
const KEPT_STACK: usize = 256;

thread_local! {
    /// [`Tree`]'s two stacks, empty, kept between the parses of this thread so that a parse allocates
    /// neither.
    static STACKS: RefCell<(Vec<Open>, Vec<Element>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

impl Tree {
    fn new(doc: Arc<str>) -> Self {
        let (open, nodes) =
            STACKS.with(|stacks| stacks.try_borrow_mut().map(|mut s| mem::take(&mut *s)).unwrap_or_default());
        Tree { doc, open, nodes, root: None, joined: false }
    }

    /// Empty again, for a second reading of the same document.
    fn reset(&mut self) {
        self.open.clear();
        self.nodes.clear();
        self.root = None;
        self.joined = false;
    }

    /// Hands the (emptied) stacks back to the thread.
    fn recycle(mut self) {
        self.reset();
        if self.open.capacity() <= KEPT_STACK && self.nodes.capacity() <= KEPT_STACK {
            let stacks = (mem::take(&mut self.open), mem::take(&mut self.nodes));
            STACKS.with(|kept| {
                if let Ok(mut kept) = kept.try_borrow_mut() {
                    *kept = stacks;
                }
            });
        }
    }
}

/// An element being read.
struct Open {
    /// Its index in [`Tree::nodes`].
    at: usize,
    /// Its text, once it is more than one piece of the document (rare: references, `\r`, comments or
    /// children between pieces).
    built: Option<String>,
}

impl<'a> Sink<'a> for Tree {
    #[inline]
    fn open(&mut self, name: Piece<'a>) {
        let name = match name {
            Piece::Input(name, at) => Text::of_doc(&self.doc, at, name.len()),
            Piece::Made(name) => Text::Owned(name.into_boxed_str()),
            Piece::Char(c) => Text::Owned(c.to_string().into_boxed_str()),
        };
        self.open.push(Open { at: self.nodes.len(), built: None });
        self.nodes.push(Element { doc: Arc::clone(&self.doc), name, text: Text::EMPTY, children: Box::default() });
    }

    #[inline]
    fn text(&mut self, piece: Piece<'a>) {
        if let Some(open) = self.open.last_mut()
            && let Some(element) = self.nodes.get_mut(open.at)
        {
            self.joined |= append(&mut element.text, &mut open.built, &self.doc, piece);
        }
    }

    fn joined(&self) -> bool {
        self.joined
    }

    #[inline]
    fn close(&mut self) {
        let Some(Open { at, built }) = self.open.pop() else { return };
        let children: Option<Box<[Element]>> =
            (at + 1 < self.nodes.len()).then(|| self.nodes.drain(at + 1..).collect());
        let Some(element) = self.nodes.get_mut(at) else { return };
        if let Some(children) = children {
            element.children = children;
        }
        match built {
            Some(mut text) => {
                text.truncate(trim_end(&text).len());
                element.text = Text::Owned(text.into_boxed_str());
            }
            None => element.text.trim_end(&self.doc),
        }
        if self.open.is_empty() {
            self.root = self.nodes.pop();
        }
    }
}

/// Appends character data to an element's text. Leading whitespace is dropped as it comes (the text is
/// trimmed in the end anyway), so that a container's whitespace between children costs nothing; a
/// single piece of the input stays a range of the document. Returns whether a non-empty piece was
/// joined to a non-empty text.
#[inline]
fn append(text: &mut Text, built: &mut Option<String>, doc: &str, piece: Piece<'_>) -> bool {
    let empty = match built {
        Some(built) => built.is_empty(),
        None => text.is_empty(),
    };
    let mut buf = [0u8; 4];
    let kept = match &piece {
        Piece::Input(raw, at) => {
            let kept = if empty { trim_start(raw) } else { raw };
            if empty && built.is_none() && !kept.is_empty() {
                *text = Text::of_doc(doc, at + (raw.len() - kept.len()), kept.len());
                return false;
            }
            kept
        }
        Piece::Made(made) => {
            if empty {
                trim_start(made)
            } else {
                made
            }
        }
        Piece::Char(c) => {
            if empty && is_xml_space(*c) {
                ""
            } else {
                c.encode_utf8(&mut buf)
            }
        }
    };
    if kept.is_empty() {
        return false;
    }
    built.get_or_insert_with(|| text.as_str(doc).to_string()).push_str(kept);
    !empty
}

/// The [`Sink`] that finds the text of one child of the root, by name, without building a tree.
struct ChildText<'a, 'n> {
    name: &'n str,
    depth: usize,
    /// Children of the root with that name so far.
    count: usize,
    /// Inside the first of them (its own text, not its children's, is collected).
    inside: bool,
    text: Option<Cow<'a, str>>,
    /// Its text was made of more than one piece.
    joined: bool,
}

impl<'a> Sink<'a> for ChildText<'a, '_> {
    fn open(&mut self, name: Piece<'a>) {
        self.depth += 1;
        if self.depth == 2 && name.as_str() == Some(self.name) {
            self.count += 1;
            self.inside = self.count == 1;
            if self.inside {
                self.text = Some(Cow::Borrowed(""));
            }
        }
    }

    fn text(&mut self, piece: Piece<'a>) {
        if !(self.inside && self.depth == 2) {
            return;
        }
        let Some(text) = &mut self.text else { return };
        let empty = text.is_empty();
        match piece {
            Piece::Input(raw, _) => {
                let kept = if empty { trim_start(raw) } else { raw };
                if empty {
                    *text = Cow::Borrowed(kept);
                } else if !kept.is_empty() {
                    self.joined = true;
                    text.to_mut().push_str(kept);
                }
            }
            Piece::Made(made) => {
                let kept = if empty { trim_start(&made) } else { &made };
                if !kept.is_empty() {
                    self.joined |= !empty;
                    text.to_mut().push_str(kept);
                }
            }
            Piece::Char(c) => {
                if !(empty && is_xml_space(c)) {
                    self.joined |= !empty;
                    text.to_mut().push(c);
                }
            }
        }
    }

    fn joined(&self) -> bool {
        self.joined
    }

    fn close(&mut self) {
        if self.depth == 2 && self.inside {
            self.inside = false;
            if let Some(text) = &mut self.text {
                match text {
                    Cow::Borrowed(t) => *t = trim_end(t),
                    Cow::Owned(t) => {
                        let kept = trim_end(t).len();
                        t.truncate(kept);
                    }
                }
            }
        }
        self.depth = self.depth.saturating_sub(1);
    }
}

/// Whether `name` is an XML name (the `Name` production, without its rarer Unicode exclusions): the reader
/// would otherwise take `<a/b>` or a name with control characters, which no writer can give back.
fn is_name(name: &str) -> bool {
    // ASCII names (all of WeCom's) byte by byte; others by character class.
    let bytes = name.as_bytes();
    if bytes.is_ascii() {
        return bytes.first().is_some_and(|&b| NAME_BYTES[usize::from(b)] & NAME_START != 0)
            && bytes.iter().all(|&b| NAME_BYTES[usize::from(b)] & NAME_CHAR != 0);
    }
    let start = |c: char| c.is_alphabetic() || c == '_' || c == ':';
    let rest = |c: char| c.is_alphanumeric() || matches!(c, '_' | ':' | '-' | '.' | '\u{B7}');
    let mut chars = name.chars();
    chars.next().is_some_and(start) && chars.all(rest)
}

fn is_xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// Resolves `&name;`: the five predefined entities and character references, nothing else.
fn resolve(reference: &BytesRef<'_>) -> Result<char, XmlError> {
    if reference.is_char_ref() {
        return match reference.resolve_char_ref() {
            Ok(Some(c)) => Ok(c),
            _ => Err(XmlError::Entity),
        };
    }
    match reference.as_ref() {
        b"lt" => Ok('<'),
        b"gt" => Ok('>'),
        b"amp" => Ok('&'),
        b"apos" => Ok('\''),
        b"quot" => Ok('"'),
        _ => Err(XmlError::Entity),
    }
}

/// Writes `text` as CDATA content, splitting any `]]>` so the section cannot end early.
pub(crate) fn push_cdata(out: &mut String, text: &str) {
    out.push_str("<![CDATA[");
    out.push_str(&text.replace("]]>", "]]]]><![CDATA[>"));
    out.push_str("]]>");
}

/// Writes `text` as escaped character data.
pub(crate) fn push_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A repeatable pick in `0..n` (xorshift64), for generated documents.
    fn picker(mut seed: u64) -> impl FnMut(usize) -> usize {
        move |n| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        }
    }

    const EVENT: &str = "<xml>
	<ToUserName><![CDATA[ww55ca070cb9b7eb22]]></ToUserName>
	<FromUserName><![CDATA[sys]]></FromUserName>
	<CreateTime>1403610513</CreateTime>
	<MsgType><![CDATA[event]]></MsgType>
	<Event><![CDATA[change_external_chat]]></Event>
	<ChatId><![CDATA[wrx7HUARsKwGRaQBVKPBTcEyzdHA4HrQ]]></ChatId>
	<ChangeType><![CDATA[update]]></ChangeType>
	<UpdateDetail><![CDATA[add_member]]></UpdateDetail>
	<JoinScene>1</JoinScene>
	<MemChangeList>
		<Item>Jack</Item>
		<Item><![CDATA[Rose]]></Item>
	</MemChangeList>
	<CurMemVer>71217227bbd112ecfe3a49c482195cb4</CurMemVer>
</xml>";

    #[test]
    fn reads_fields_and_item_lists_in_cdata_or_text() {
        let root = parse(EVENT).unwrap();
        assert_eq!(root.name(), "xml");
        assert_eq!(root.child_text("Event"), Some("change_external_chat"));
        assert_eq!(root.child_text("CreateTime"), Some("1403610513"));
        assert_eq!(root.child_text("JoinScene"), Some("1"));
        assert_eq!(root.items("MemChangeList"), Some(vec!["Jack", "Rose"]));
        assert_eq!(root.items("ChatId"), Some(vec![]));
        assert_eq!(root.items("Nope"), None);
        assert_eq!(root.child_text("MemChangeList"), Some(""));
        let names: Vec<_> = root.fields().map(|(n, _)| n).collect();
        assert_eq!(names.len(), 11);
        assert_eq!(names[0], "ToUserName");
        assert_eq!(root.walk().len(), 14);
    }

    #[test]
    fn unescapes_the_predefined_entities_and_character_references_only() {
        let root = parse("<xml><A>&lt;&gt;&amp;&apos;&quot;&#65;&#x4e2d;</A><B>a &amp; b</B></xml>").unwrap();
        assert_eq!(root.child_text("A"), Some("<>&'\"A中"));
        assert_eq!(root.child_text("B"), Some("a & b"));
        assert_eq!(parse("<xml><A>&secret;</A></xml>"), Err(XmlError::Entity));
        assert_eq!(parse("<xml><A>&#0;</A></xml>"), Err(XmlError::Entity));
        assert_eq!(parse("<xml><A>&#xFFFFFFFF;</A></xml>"), Err(XmlError::Entity));
        // CDATA is taken literally.
        assert_eq!(parse("<xml><A><![CDATA[&secret;]]></A></xml>").unwrap().child_text("A"), Some("&secret;"));
    }

    #[test]
    fn refuses_doctype_anywhere() {
        let xxe =
            "<?xml version=\"1.0\"?><!DOCTYPE xml [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><xml><A>&x;</A></xml>";
        assert_eq!(parse(xxe), Err(XmlError::Doctype));
        let bomb = "<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;\">]><xml>&lol2;</xml>";
        assert_eq!(parse(bomb), Err(XmlError::Doctype));
        assert!(parse("<xml><!DOCTYPE x></xml>").is_err());
        assert!(parse("<xml></xml><!DOCTYPE x>").is_err());
    }

    #[test]
    fn bounds_depth_and_element_count() {
        let nested = |depth: usize| format!("{}{}", "<a>".repeat(depth), "</a>".repeat(depth));
        assert!(parse(&nested(MAX_DEPTH)).is_ok());
        assert_eq!(parse(&nested(MAX_DEPTH + 1)), Err(XmlError::TooDeep));
        assert_eq!(parse(&nested(100_000)), Err(XmlError::TooDeep));
        let wide = |n: usize| format!("<xml>{}</xml>", "<i/>".repeat(n));
        assert!(parse(&wide(MAX_ELEMENTS - 1)).is_ok());
        assert_eq!(parse(&wide(MAX_ELEMENTS)), Err(XmlError::TooManyElements));
    }

    #[test]
    fn refuses_malformed_documents() {
        for bad in ["", "   ", "<!-- only a comment -->", "plain text"] {
            assert!(matches!(parse(bad), Err(XmlError::NoRoot | XmlError::OutsideRoot)), "{bad:?}");
        }
        assert_eq!(parse("<xml/><xml/>"), Err(XmlError::OutsideRoot));
        assert_eq!(parse("<xml/>tail"), Err(XmlError::OutsideRoot));
        for bad in
            ["<xml>", "<xml><a></xml>", "<xml></a>", "</xml>", "<xml><a>x</b></xml>", "<xml><![CDATA[x</xml>", "<"]
        {
            assert!(matches!(parse(bad), Err(XmlError::Syntax(_))), "{bad:?}: {:?}", parse(bad));
        }
        assert_eq!(parse_bytes(b"<xml>\xff</xml>"), Err(XmlError::NotUtf8));
    }

    #[test]
    fn refuses_names_that_are_no_xml_names() {
        // Found by fuzzing: each was read as an element that could not be written back (the empty name by
        // the `envelope` target).
        for bad in [
            "<></>",
            "<xml><></></xml>",
            "<xml><a//></xml>",
            "<xml><\u{1}t/></xml>",
            "<xml><1a/></xml>",
            "<xml><-a></-a></xml>",
            "<xml><a/b></a/b></xml>",
        ] {
            assert_eq!(parse(bad), Err(XmlError::BadName), "{bad:?}");
        }
        for good in ["<xml><a-b.c_d/></xml>", "<xml><ns:a/></xml>", "<xml><_x/></xml>", "<xml><名字>v</名字></xml>"]
        {
            assert!(parse(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn keeps_declarations_comments_and_empty_elements_out_of_the_way() {
        let root = parse(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- c --><xml a=\"1\"><A/><B> x <!-- c --> y </B></xml>\n",
        )
        .unwrap();
        assert_eq!(root.child_text("A"), Some(""));
        assert_eq!(root.child_text("B"), Some("x  y"));
    }

    /// The tree builder this module had before it kept texts as ranges of one document: one `String`
    /// per name and text, every byte of character data appended, trimmed at the end. The reference the
    /// current one is checked against.
    mod reference {
        use super::super::*;

        #[derive(Debug, Default, PartialEq)]
        pub(super) struct Plain {
            pub(super) name: String,
            pub(super) text: String,
            pub(super) children: Vec<Plain>,
        }

        impl From<&Element> for Plain {
            fn from(e: &Element) -> Self {
                Plain {
                    name: e.name().into(),
                    text: e.text().into(),
                    children: e.children().iter().map(Plain::from).collect(),
                }
            }
        }

        pub(super) fn parse(input: &str) -> Result<Plain, XmlError> {
            let mut reader = Reader::from_str(input);
            let config = reader.config_mut();
            config.check_end_names = true;
            config.allow_unmatched_ends = false;
            config.expand_empty_elements = false;
            let mut open: Vec<Plain> = Vec::new();
            let mut root: Option<Plain> = None;
            let mut count = 0usize;
            loop {
                let event = reader.read_event().map_err(|_| XmlError::Syntax(reader.error_position()))?;
                match event {
                    Event::Start(_) | Event::Empty(_) if root.is_some() => return Err(XmlError::OutsideRoot),
                    Event::Start(start) => {
                        let element = open_element(start.name().as_ref(), open.len(), &mut count)?;
                        open.push(element);
                    }
                    Event::Empty(start) => {
                        let element = open_element(start.name().as_ref(), open.len(), &mut count)?;
                        close(element, &mut open, &mut root);
                    }
                    Event::End(_) => match open.pop() {
                        Some(element) => close(element, &mut open, &mut root),
                        None => return Err(XmlError::Syntax(reader.buffer_position())),
                    },
                    Event::Text(text) => {
                        let text = text.xml10_content().map_err(|_| XmlError::NotUtf8)?;
                        append_text(&mut open, &text)?;
                    }
                    Event::CData(data) => {
                        let data = data.decode().map_err(|_| XmlError::NotUtf8)?;
                        append_text(&mut open, &data)?;
                    }
                    Event::GeneralRef(reference) => {
                        let c = resolve(&reference)?;
                        append_text(&mut open, c.encode_utf8(&mut [0u8; 4]))?;
                    }
                    Event::DocType(_) => return Err(XmlError::Doctype),
                    Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
                    Event::Eof => {
                        if !open.is_empty() {
                            return Err(XmlError::Syntax(reader.buffer_position()));
                        }
                        return root.ok_or(XmlError::NoRoot);
                    }
                }
            }
        }

        fn open_element(raw_name: &[u8], depth: usize, count: &mut usize) -> Result<Plain, XmlError> {
            *count += 1;
            if *count > MAX_ELEMENTS {
                return Err(XmlError::TooManyElements);
            }
            if depth >= MAX_DEPTH {
                return Err(XmlError::TooDeep);
            }
            let name = std::str::from_utf8(raw_name).map_err(|_| XmlError::NotUtf8)?.to_string();
            if !super::super::is_name(&name) {
                return Err(XmlError::BadName);
            }
            Ok(Plain { name, ..Plain::default() })
        }

        fn append_text(open: &mut [Plain], text: &str) -> Result<(), XmlError> {
            match open.last_mut() {
                Some(element) => {
                    element.text.push_str(text);
                    Ok(())
                }
                None if text.chars().all(is_xml_space) => Ok(()),
                None => Err(XmlError::OutsideRoot),
            }
        }

        fn close(mut element: Plain, open: &mut [Plain], root: &mut Option<Plain>) {
            element.text = element.text.trim_matches(is_xml_space).to_string();
            match open.last_mut() {
                Some(parent) => parent.children.push(element),
                None => *root = Some(element),
            }
        }
    }

    /// `parse` with every byte of character data read (no whitespace skipped by the reader first).
    fn parse_keeping_whitespace(input: &str) -> Result<Element, XmlError> {
        let mut tree = Tree::new(Arc::from(input));
        scan(input, &mut tree, Whitespace::Keep)?;
        tree.root.take().ok_or(XmlError::NoRoot)
    }

    #[test]
    fn texts_in_several_pieces_are_joined_with_their_inner_whitespace() {
        let root = parse(
            "<xml><A> a <![CDATA[b]]> c </A><B>x&amp;y</B><C>\r\n l1\r\n l2 \r</C><D> p <!-- c --> q <E/> r </D>\
             <F>&#32;&#x20;f&#32;</F><G><![CDATA[ g ]]></G></xml>",
        )
        .unwrap();
        assert_eq!(root.child_text("A"), Some("a b c"));
        assert_eq!(root.child_text("B"), Some("x&y"));
        assert_eq!(root.child_text("C"), Some("l1\n l2"));
        assert_eq!(root.child_text("D"), Some("p  q  r"));
        assert_eq!(root.child_text("F"), Some("f"));
        assert_eq!(root.child_text("G"), Some("g"));
        assert_eq!(root.text(), "");
    }

    /// The reader skips leading whitespace first and reads the document again only when a text has
    /// several pieces: on any mix of text, CDATA, references, comments and children, the result (tree or
    /// error) is the same as reading every byte, and the same as the reference builder's.
    #[test]
    fn skipping_whitespace_first_never_changes_the_result() {
        // Mostly well-formed pieces; a few that are not (the error must not depend on the mode either).
        const PIECES: [&str; 18] = [
            " ",
            "\n\t",
            "a",
            " b ",
            "<![CDATA[ c ]]>",
            "<![CDATA[]]>",
            "&amp;",
            "&#32;",
            "<!-- x -->",
            "<e/>",
            "<f> g </f>",
            "\r\n",
            "<?pi x?>",
            "h\ri",
            " &nope; ",
            " </g> ",
            "<!DOCTYPE d>",
            " < ",
        ];
        let mut next = picker(0x2545_f491_4f6c_dd1du64);
        for _ in 0..5_000 {
            let mut doc = String::from(" <xml>");
            for _ in 0..next(4) {
                doc.push_str("<a>");
                for _ in 0..next(6) {
                    doc.push_str(PIECES[next(PIECES.len())]);
                }
                doc.push_str("</a>");
                doc.push_str(PIECES[next(2)]);
            }
            doc.push_str("</xml>\n");
            let parsed = parse(&doc);
            assert_eq!(parsed, parse_keeping_whitespace(&doc), "{doc:?}");
            assert_eq!(
                parsed.as_ref().map(reference::Plain::from).map_err(Clone::clone),
                reference::parse(&doc),
                "{doc:?}"
            );
            match (parsed, root_child_text(doc.as_bytes(), "a")) {
                (Ok(root), Ok((count, text))) => {
                    assert_eq!(count, root.children().iter().filter(|c| c.name() == "a").count(), "{doc:?}");
                    assert_eq!(text.as_deref(), root.child_text("a"), "{doc:?}");
                }
                (Err(e), Err(f)) => assert_eq!(e, f, "{doc:?}"),
                (a, b) => panic!("{doc:?}: {a:?} but {b:?}"),
            }
        }
    }

    /// Whether the plain reader reads `doc` to its end (into a tree).
    fn plain_reads(doc: &str) -> bool {
        let mut tree = Tree::new(Arc::from(doc));
        scan_plain(doc, &mut tree)
    }

    /// The plain reader takes only documents the general one takes, and reads them alike (tree, and the
    /// envelope's child text); every other document — and every error — is the general reader's.
    #[test]
    fn the_plain_reader_reads_as_the_general_one_or_leaves_the_document_to_it() {
        let taken = [
            "<xml><A>a</A><B><![CDATA[ b ]]></B></xml>",
            "\n\t <xml>\n\t<A>\n a b \n</A>\n<E/><L><Item>x</Item><Item/></L></xml>\n ",
            "<xml/>",
            "<a-b.c_d:e><_x>1</_x></a-b.c_d:e>",
            "<xml><A>x > y ]]> z</A><B><![CDATA[<&\r\n]]]]></B></xml>",
            "<xml><A><![CDATA[]]></A><B><![CDATA[]]]></B><C><![CDATA[x]]]]></C></xml>",
            "<xml><A>中文</A><B><![CDATA[名字]]></B></xml>",
        ];
        for doc in taken {
            assert!(plain_reads(doc), "{doc:?}");
            assert_eq!(parse(doc), parse_general(doc), "{doc:?}");
        }
        let left = [
            // Not in the plain shape (read by the general reader, which takes them).
            "<?xml version=\"1.0\"?><xml/>",
            "<xml><!-- c --></xml>",
            "<xml a=\"1\"/>",
            "<xml ><A/></xml>",
            "<xml><A/ ></xml>",
            "<xml><A></A ></xml>",
            "<xml>a &amp; b</xml>",
            "<xml>a\r\nb</xml>",
            "\r\n<xml/>",
            "<名字/>",
            "<xml><A> a <![CDATA[b]]></A></xml>",
            "<xml>x<A/>y</xml>",
            "\u{feff}<xml/>",
            // Errors.
            "",
            " ",
            "<xml>",
            "<xml></xm>",
            "<xml></xmll>",
            "<xml></x",
            "<xml></xml",
            "<xml><![CDATA[x</xml>",
            "<xml/><xml/>",
            "<xml/>x",
            "x<xml/>",
            "<![CDATA[ ]]><xml/>",
            "<xml/><![CDATA[x]]>",
            "</xml>",
            "<1a/>",
            "<-a/>",
            "<a//>",
            "<>",
            "<",
            "<xml><!DOCTYPE x></xml>",
            "<!DOCTYPE x><xml/>",
            "<xml>&secret;</xml>",
        ];
        for doc in left {
            assert!(!plain_reads(doc), "{doc:?}");
            assert_eq!(parse(doc), parse_general(doc), "{doc:?}");
        }
        let deep = |n: usize| format!("{}{}", "<a>".repeat(n), "</a>".repeat(n));
        assert!(plain_reads(&deep(MAX_DEPTH)));
        assert!(!plain_reads(&deep(MAX_DEPTH + 1)));
        assert_eq!(parse(&deep(MAX_DEPTH + 1)), Err(XmlError::TooDeep));
        let wide = |n: usize| format!("<xml>{}</xml>", "<i/>".repeat(n));
        assert!(plain_reads(&wide(MAX_ELEMENTS - 1)));
        assert!(!plain_reads(&wide(MAX_ELEMENTS)));
        assert_eq!(parse(&wide(MAX_ELEMENTS)), Err(XmlError::TooManyElements));
        for example in crate::events::EXAMPLES {
            assert!(plain_reads(example.xml), "{}", example.name);
        }
        // Runs around the length where the search changes from byte by byte to `memchr`.
        for len in 0..80 {
            for fill in ["x", "]", ">", " ", "]>"] {
                let run = fill.repeat(len);
                for doc in [
                    format!("<xml><A><![CDATA[{run}]]></A><B><![CDATA[{run}]]]]></B></xml>"),
                    format!("<xml><A>{run}</A><B>{run}&amp;</B></xml>"),
                    format!("<xml><A>{run}\r</A></xml>"),
                    format!("<xml>{run}</xml>"),
                    format!("{run}<xml/>{run}"),
                    format!("<xml><![CDATA[{run}</xml>"),
                ] {
                    assert_eq!(parse(&doc), parse_general(&doc), "{doc:?}");
                }
            }
        }

        // Random documents from pieces around the plain shape's edges: the same tree or the same error.
        const PIECES: [&str; 26] = [
            "<a>",
            "</a>",
            "<b>",
            "</b>",
            "<c/>",
            "<a/>",
            "<b >",
            "</b >",
            "<a/ >",
            " ",
            "\n\t",
            "\t",
            "x",
            " y ",
            "<![CDATA[",
            "]]>",
            "]]",
            ">",
            "<![CDATA[ z ]]>",
            "<![CDATA[]]>",
            "<",
            "&amp;",
            "\r",
            "<!-- c -->",
            "中",
            "<?pi?>",
        ];
        let mut next = picker(0x9e37_79b9_7f4a_7c15u64);
        let mut plain = 0;
        for _ in 0..20_000 {
            let mut doc = String::new();
            let wrap = next(4) != 0;
            if wrap {
                doc.push_str(["", " ", "\n"][next(3)]);
                doc.push_str("<xml>");
            }
            for _ in 0..next(12) {
                // Mostly well-nested elements, so that many documents are plain.
                match next(3) {
                    0 => doc.push_str(PIECES[next(PIECES.len())]),
                    _ => {
                        let name = ["a", "b", "Item", "A1"][next(4)];
                        let inner = ["", "v", " v ", "<![CDATA[w]]>", "\n\t<c/>\n", "<d>u</d>"][next(6)];
                        doc.push_str(&format!("<{name}>{inner}</{name}>"));
                    }
                }
            }
            if wrap {
                doc.push_str("</xml>");
                doc.push_str(["", " ", "\n"][next(3)]);
            }
            let general = parse_general(&doc);
            if plain_reads(&doc) {
                plain += 1;
                assert!(general.is_ok(), "{doc:?}: the plain reader took a document the general one refuses");
            }
            assert_eq!(parse(&doc), general, "{doc:?}");
            let mut find = ChildText { name: "a", depth: 0, count: 0, inside: false, text: None, joined: false };
            let found_plain = scan_plain(&doc, &mut find).then_some((find.count, find.text));
            match (found_plain, &general) {
                (Some((count, text)), Ok(root)) => {
                    assert_eq!(count, root.children().iter().filter(|c| c.name() == "a").count(), "{doc:?}");
                    assert_eq!(text.as_deref(), root.child_text("a"), "{doc:?}");
                }
                (Some(_), Err(e)) => panic!("{doc:?}: the plain reader found a child text, the general one {e:?}"),
                (None, _) => {}
            }
        }
        assert!(plain > 5_000, "only {plain} plain documents: the test no longer exercises the plain reader");
    }

    #[test]
    fn a_root_child_text_is_borrowed_when_it_is_one_piece() {
        let (count, text) = root_child_text(b"<xml><Encrypt> <![CDATA[abc]]> </Encrypt></xml>", "Encrypt").unwrap();
        assert_eq!(count, 1);
        assert!(matches!(text, Some(Cow::Borrowed("abc"))), "{text:?}");
        let (count, text) =
            root_child_text(b"<xml><Encrypt>a&amp;b<X>no</X>c</Encrypt><Encrypt>d</Encrypt></xml>", "Encrypt").unwrap();
        assert_eq!((count, text.as_deref()), (2, Some("a&bc")));
        assert_eq!(root_child_text(b"<xml><X><Encrypt>deep</Encrypt></X></xml>", "Encrypt").unwrap(), (0, None));
        assert!(matches!(root_child_text(b"<xml><Encrypt>x</Encrypt>", "Encrypt"), Err(XmlError::Syntax(_))));
        assert_eq!(root_child_text(b"<!DOCTYPE x><xml/>", "Encrypt"), Err(XmlError::Doctype));
        assert_eq!(root_child_text(b"<xml>\xff</xml>", "Encrypt"), Err(XmlError::NotUtf8));
    }

    #[test]
    fn many_references_in_one_text_take_linear_time() {
        let doc = format!("<xml><A>{}</A></xml>", "&amp;".repeat(200_000));
        let started = std::time::Instant::now();
        let root = parse(&doc).unwrap();
        assert_eq!(root.child_text("A").map(str::len), Some(200_000));
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "{:?}", started.elapsed());
    }

    #[test]
    fn elements_compare_and_show_by_content() {
        let a = parse("<a> x <b>y</b></a>").unwrap();
        let b = parse("<a><![CDATA[x]]><b>\n y \n</b>\n</a>").unwrap();
        assert_eq!(a, b);
        assert_ne!(a, parse("<a>x<b>z</b></a>").unwrap());
        assert_eq!(
            format!("{a:?}"),
            r#"Element { name: "a", text: "x", children: [Element { name: "b", text: "y", children: [] }] }"#
        );
        assert_eq!(format!("{:?}", Element::default()), r#"Element { name: "", text: "", children: [] }"#);
        // A child outlives its tree and the document.
        let child = a.child("b").cloned().unwrap();
        drop(a);
        assert_eq!((child.name(), child.text()), ("b", "y"));
    }

    #[test]
    fn cdata_and_escaping_helpers_round_trip() {
        let mut out = String::from("<xml><A>");
        push_cdata(&mut out, "a]]>b");
        out.push_str("</A><B>");
        push_escaped(&mut out, "<&>]]>");
        out.push_str("</B></xml>");
        let root = parse(&out).unwrap();
        assert_eq!(root.child_text("A"), Some("a]]>b"));
        assert_eq!(root.child_text("B"), Some("<&>]]>"));
    }
}
