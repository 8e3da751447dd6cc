//! A strict reader for the small XML documents of callbacks: the POST envelope and the decrypted message.
//!
//! Safe on hostile input: a `<!DOCTYPE` is refused wherever it appears (so no DTD and no entity
//! declarations can exist), only the five predefined entities (`&lt;` `&gt;` `&amp;` `&apos;` `&quot;`)
//! and numeric character references are unescaped, nesting depth and element count are bounded. Text
//! and CDATA are read alike; attributes are ignored. Errors carry a byte offset at most, never text of the
//! document.

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
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element {
    name: String,
    text: String,
    children: Vec<Element>,
}

impl Element {
    /// An element with this name, text and children (to build messages: simulators, tests).
    pub fn new(name: impl Into<String>, text: impl Into<String>, children: Vec<Element>) -> Self {
        Element { name: name.into(), text: text.into(), children }
    }

    /// The text, taken out of the element.
    pub fn into_text(self) -> String {
        self.text
    }

    /// The child elements, taken out of the element.
    pub fn into_children(self) -> Vec<Element> {
        self.children
    }

    /// Writes the element as XML: its text as CDATA (when not empty), then its children.
    pub fn write_xml(&self, out: &mut String) {
        out.push('<');
        out.push_str(&self.name);
        out.push('>');
        if !self.text.is_empty() {
            push_cdata(out, &self.text);
        }
        for child in &self.children {
            child.write_xml(out);
        }
        out.push_str("</");
        out.push_str(&self.name);
        out.push('>');
    }

    /// The tag name, as written (with any namespace prefix).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The text, trimmed (see the type's documentation).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The child elements, in document order.
    pub fn children(&self) -> &[Element] {
        &self.children
    }

    /// The first child element named `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The text of the first child element named `name`: for `<xml>` the value of a field such as
    /// `Event`, `ChatId` or `CreateTime`.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).map(Element::text)
    }

    /// The texts of the `<Item>` children of the first child named `name` — a list field such as
    /// `<MemChangeList><Item>a</Item><Item>b</Item></MemChangeList>`. `None` if there is no such child;
    /// empty if it has no `<Item>`.
    pub fn items(&self, name: &str) -> Option<Vec<&str>> {
        self.child(name).map(|list| list.children.iter().filter(|c| c.name == "Item").map(Element::text).collect())
    }

    /// The flat view of the children: `(name, text)` for each, in document order. A list field appears
    /// with an empty text; read its entries with [`Element::items`].
    pub fn fields(&self) -> impl Iterator<Item = (&str, &str)> {
        self.children.iter().map(|c| (c.name.as_str(), c.text.as_str()))
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
    let mut reader = Reader::from_str(input);
    let config = reader.config_mut();
    config.check_end_names = true;
    config.allow_unmatched_ends = false;
    config.expand_empty_elements = false;

    // Open elements, innermost last, each with its untrimmed text so far.
    let mut open: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
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

/// A new element below `depth` open ones, counted against the limits.
fn open_element(raw_name: &[u8], depth: usize, count: &mut usize) -> Result<Element, XmlError> {
    *count += 1;
    if *count > MAX_ELEMENTS {
        return Err(XmlError::TooManyElements);
    }
    if depth >= MAX_DEPTH {
        return Err(XmlError::TooDeep);
    }
    let name = std::str::from_utf8(raw_name).map_err(|_| XmlError::NotUtf8)?;
    if !is_name(name) {
        return Err(XmlError::BadName);
    }
    Ok(Element { name: name.to_string(), ..Element::default() })
}

/// Adds character data to the innermost open element; outside the root only whitespace may appear.
fn append_text(open: &mut [Element], text: &str) -> Result<(), XmlError> {
    match open.last_mut() {
        Some(element) => {
            element.text.push_str(text);
            Ok(())
        }
        None if text.chars().all(is_xml_space) => Ok(()),
        None => Err(XmlError::OutsideRoot),
    }
}

fn close(mut element: Element, open: &mut [Element], root: &mut Option<Element>) {
    let trimmed = element.text.trim_matches(is_xml_space);
    if trimmed.len() != element.text.len() {
        element.text = trimmed.to_string();
    }
    match open.last_mut() {
        Some(parent) => parent.children.push(element),
        None => *root = Some(element),
    }
}

/// Whether `name` is an XML name (the `Name` production, without its rarer Unicode exclusions): the reader
/// would otherwise take `<a/b>` or a name with control characters, which no writer can give back.
fn is_name(name: &str) -> bool {
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
