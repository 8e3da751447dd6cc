//! The runtime under the typed events of [`crate::events`] (generated from `api-spec/callbacks.yaml` and
//! `api-spec/events/`): reading element texts into values, and writing values as XML (the way WeCom
//! sends them) and as JSON (snake_case keys, the CLI's output).
//!
//! Reading is lenient where WeCom's traffic varies — text or CDATA, surrounding whitespace, a list as
//! `<Item>` children or (where the spec allows) a comma-separated text — and strict where a value would
//! otherwise be guessed: an integer element that is not an integer is an [`EventError`].

use serde_json::{Map, Value};

use crate::callback::xml::{Element, push_cdata, push_escaped};
use crate::events::crypto::envelope;

/// Why a message could not be read as the typed event its name announces. The message is not lost:
/// it is handed over as a raw event carrying this error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EventError {
    /// A required element is absent.
    #[error("element `{0}` is missing")]
    Missing(&'static str),
    /// A required integer element holds something else.
    #[error("element `{0}` is not an integer")]
    NotInteger(&'static str),
    /// A required element has child elements where a value belongs (or a list holds other elements).
    #[error("element `{0}` is not shaped as its type")]
    Malformed(&'static str),
}

/// A documented message of an event, from the spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct EventExample {
    /// The event's name (`change_external_chat`).
    pub event: &'static str,
    /// The example's name.
    pub name: &'static str,
    /// Where it comes from.
    pub doc: &'static str,
    /// The decrypted message.
    pub xml: &'static str,
}

/// An event this crate has no type for, or a typed one that could not be read: its elements as received.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RawEvent {
    /// The event's name, as the element naming it carries it; empty for a message in no known form.
    pub name: String,
    /// The elements: the event's own (after the header and the element naming the event), or every
    /// element of the message when it has no header that reads.
    pub elements: Vec<Element>,
    /// Why a typed event could not be read; `None` for an event with no type here.
    pub error: Option<EventError>,
}

impl RawEvent {
    /// The text of the first element named `name` (`ChatId` …).
    pub fn get(&self, name: &str) -> Option<&str> {
        find(&self.elements, name).map(Element::text)
    }
}

/// The first element named `name`.
#[doc(hidden)]
pub fn find<'e>(elements: &'e [Element], name: &str) -> Option<&'e Element> {
    elements.iter().find(|e| e.name() == name)
}

/// How an element must look to be read as a value of its type. An element that does not look so is not
/// read: a required one makes the event unreadable ([`EventError`]), an optional one stays among the
/// elements kept as received — nothing is dropped.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Text only (no child elements).
    Text,
    /// Text only, an integer.
    Int,
    /// `item` children with text only and no text of its own; or, when `comma_separated`, text only.
    List {
        /// The item elements' name.
        item: &'static str,
        /// Whether a comma-separated text is accepted.
        comma_separated: bool,
    },
}

impl Shape {
    /// Whether `element` reads as this shape.
    pub fn fits(self, element: &Element) -> bool {
        let text_only = |e: &Element| e.children().is_empty();
        match self {
            Shape::Text => text_only(element),
            Shape::Int => text_only(element) && element.text().parse::<i64>().is_ok(),
            Shape::List { item, comma_separated } => {
                if element.children().is_empty() {
                    comma_separated || element.text().is_empty()
                } else {
                    element.text().is_empty() && element.children().iter().all(|c| c.name() == item && text_only(c))
                }
            }
        }
    }
}

/// Checks that the first element named `name` is present and reads as `shape`.
#[doc(hidden)]
pub fn check_required(elements: &[Element], name: &'static str, shape: Shape) -> Result<(), EventError> {
    check_element(find(elements, name), name, shape)
}

/// Checks that `element`, the first one named `name` if any, is present and reads as `shape`.
fn check_element(element: Option<&Element>, name: &'static str, shape: Shape) -> Result<(), EventError> {
    match element {
        None => Err(EventError::Missing(name)),
        Some(e) if shape.fits(e) => Ok(()),
        Some(e) if shape == Shape::Int && e.children().is_empty() => Err(EventError::NotInteger(name)),
        Some(_) => Err(EventError::Malformed(name)),
    }
}

/// The element naming the event in a form: the index of the first element named `name`, with its text,
/// when it has no child elements (otherwise the message is not in that form).
#[doc(hidden)]
pub fn kind_element(elements: &[Element], name: &str) -> Option<(usize, String)> {
    let index = elements.iter().position(|e| e.name() == name)?;
    let element = elements.get(index)?;
    Shape::Text.fits(element).then(|| (index, element.text().to_string()))
}

/// An element of a header: its name, how it must look, whether the header needs it.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderElement {
    /// The element's name.
    pub name: &'static str,
    /// How it must look to be read.
    pub shape: Shape,
    /// Whether a header without it does not read.
    pub required: bool,
}

/// Takes a header's elements out of `elements` in one pass, with the element naming the event (at
/// `kind`, see [`kind_element`]): for each of `header`, the first element of its name when it reads as
/// its shape. The other elements keep their order.
///
/// When a required one is missing or does not read (the first error in `header`'s order, as
/// [`check_required`] finds it), only the element naming the event is taken out, and the error returned.
#[doc(hidden)]
pub fn take_header<const N: usize>(
    elements: &mut Vec<Element>,
    kind: usize,
    header: &[HeaderElement; N],
) -> Result<[Option<Element>; N], EventError> {
    // The index of the first element of each name (the one naming the event aside).
    let mut first = [usize::MAX; N];
    let mut found = 0;
    for (i, element) in elements.iter().enumerate() {
        if i == kind {
            continue;
        }
        let name = element.name();
        if let Some(slot) = header.iter().position(|h| h.name == name)
            && let Some(at) = first.get_mut(slot)
            && *at == usize::MAX
        {
            *at = i;
            found += 1;
            if found == N {
                break;
            }
        }
    }
    let mut readable = [false; N];
    for ((h, &at), readable) in header.iter().zip(&first).zip(&mut readable) {
        let element = elements.get(at);
        if h.required
            && let Err(error) = check_element(element, h.name, h.shape)
        {
            if kind < elements.len() {
                elements.remove(kind);
            }
            return Err(error);
        }
        *readable = element.is_some_and(|e| h.shape.fits(e));
    }
    let mut taken = [const { None }; N];
    let mut rest = Vec::with_capacity(elements.len().saturating_sub(found + 1));
    for (i, element) in std::mem::take(elements).into_iter().enumerate() {
        if i == kind {
            continue;
        }
        match first.iter().position(|&at| at == i) {
            Some(slot) if readable.get(slot) == Some(&true) => {
                if let Some(taken) = taken.get_mut(slot) {
                    *taken = Some(element);
                }
            }
            _ => rest.push(element),
        }
    }
    *elements = rest;
    Ok(taken)
}

/// Removes the first element named `name` if it reads as `shape`; one that does not is left in place.
#[doc(hidden)]
pub fn take_readable(elements: &mut Vec<Element>, name: &str, shape: Shape) -> Option<Element> {
    let index = elements.iter().position(|e| e.name() == name)?;
    shape.fits(&elements[index]).then(|| elements.remove(index))
}

/// The value of an element that fits [`Shape::Int`].
#[doc(hidden)]
pub fn int_of(element: Element) -> i64 {
    element.text().parse().unwrap_or_default()
}

/// The entries of a list element that fits [`Shape::List`]: the texts of its `item` children, or — when
/// `comma_separated` and it has no children — its text split at commas (empty entries dropped).
#[doc(hidden)]
pub fn list(element: Element, item: &str, comma_separated: bool) -> Vec<String> {
    if comma_separated && element.children().is_empty() {
        return element.text().split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect();
    }
    element.into_children().into_iter().filter(|c| c.name() == item).map(Element::into_text).collect()
}

/// Removes the first element named `name`, if any.
#[doc(hidden)]
pub fn take(elements: &mut Vec<Element>, name: &str) -> Option<Element> {
    let index = elements.iter().position(|e| e.name() == name)?;
    Some(elements.remove(index))
}

/// Writes a message as XML, element by element, the way WeCom does: strings as CDATA, integers as text.
#[doc(hidden)]
#[derive(Debug, Default)]
pub struct XmlWriter {
    out: String,
}

impl XmlWriter {
    /// Starts a message (`<xml>`).
    pub fn new() -> Self {
        XmlWriter::with_capacity(512)
    }

    /// Starts a message (`<xml>`) of about `bytes` bytes.
    pub fn with_capacity(bytes: usize) -> Self {
        let mut writer = XmlWriter { out: String::with_capacity(bytes) };
        writer.open(envelope::ROOT);
        writer
    }

    /// `<name><![CDATA[value]]></name>`.
    pub fn string(&mut self, name: &str, value: &str) {
        self.open(name);
        push_cdata(&mut self.out, value);
        self.close(name);
    }

    /// `<name>text</name>`, the text escaped.
    pub fn text(&mut self, name: &str, text: &str) {
        self.open(name);
        push_escaped(&mut self.out, text);
        self.close(name);
    }

    /// `<name>value</name>`.
    pub fn int(&mut self, name: &str, value: i64) {
        self.open(name);
        self.out.push_str(&value.to_string());
        self.close(name);
    }

    /// `<name><item><![CDATA[a]]></item>…</name>`.
    pub fn list(&mut self, name: &str, item: &str, values: &[String]) {
        self.open(name);
        for value in values {
            self.string(item, value);
        }
        self.close(name);
    }

    /// An element kept as received.
    pub fn element(&mut self, element: &Element) {
        element.write_xml(&mut self.out);
    }

    /// Ends the message (`</xml>`).
    pub fn finish(mut self) -> String {
        self.close(envelope::ROOT);
        self.out
    }

    fn open(&mut self, name: &str) {
        self.out.push('<');
        self.out.push_str(name);
        self.out.push('>');
    }

    fn close(&mut self, name: &str) {
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }
}

/// Writes a message as one JSON object: each element under the snake_case of its name.
#[doc(hidden)]
#[derive(Debug, Default)]
pub struct JsonWriter {
    map: Map<String, Value>,
}

impl JsonWriter {
    /// An empty object.
    pub fn new() -> Self {
        JsonWriter::default()
    }

    /// A value under a key the generator already wrote in snake_case.
    pub fn value(&mut self, key: &str, value: impl Into<Value>) {
        self.map.insert(key.to_string(), value.into());
    }

    /// A list of strings.
    pub fn list(&mut self, key: &str, values: &[String]) {
        self.map.insert(key.to_string(), Value::Array(values.iter().cloned().map(Value::String).collect()));
    }

    /// An element kept as received: its text, or for a list (children all of one name) an array, or else
    /// an object of its children. A key already written (a known element) is not overwritten.
    pub fn element(&mut self, element: &Element) {
        self.map.entry(snake_case(element.name())).or_insert_with(|| element_json(element));
    }

    /// The object.
    pub fn finish(self) -> Map<String, Value> {
        self.map
    }
}

fn element_json(element: &Element) -> Value {
    let children = element.children();
    let Some(first) = children.first() else {
        return Value::String(element.text().to_string());
    };
    if children.iter().all(|c| c.name() == first.name()) {
        Value::Array(children.iter().map(element_json).collect())
    } else {
        let mut map = Map::new();
        for child in children {
            map.entry(snake_case(child.name())).or_insert_with(|| element_json(child));
        }
        Value::Object(map)
    }
}

/// `MemChangeList` → `mem_change_list`, `AuthCorpId` → `auth_corp_id`: the JSON key of an element. The
/// generator names fields with the same rule (`heck`'s snake case).
pub fn snake_case(name: &str) -> String {
    heck::ToSnakeCase::to_snake_case(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::callback::xml;

    #[test]
    fn lists_read_items_or_a_comma_separated_text() {
        let root = xml::parse("<xml><L><Item>a</Item><Item><![CDATA[b]]></Item></L><C>a, b,,c</C></xml>").unwrap();
        let mut elements = root.into_children();
        let items = Shape::List { item: "Item", comma_separated: true };
        let strict = Shape::List { item: "Item", comma_separated: false };
        let l = take_readable(&mut elements, "L", items).unwrap();
        assert_eq!(list(l, "Item", true), ["a", "b"]);
        assert!(take_readable(&mut elements, "C", strict).is_none(), "a text where only items may be stays");
        let c = take_readable(&mut elements, "C", items).unwrap();
        assert_eq!(list(c, "Item", true), ["a", "b", "c"]);
        assert!(elements.is_empty());
    }

    #[test]
    fn elements_that_do_not_fit_their_shape_are_not_read() {
        let list = Shape::List { item: "Item", comma_separated: true };
        let fits = |xml: &str, shape: Shape| shape.fits(&xml::parse(xml).unwrap());
        assert!(fits("<A>x</A>", Shape::Text));
        assert!(!fits("<A>x<B/></A>", Shape::Text));
        assert!(fits("<N> -12 </N>", Shape::Int));
        for bad in ["<N>1.5</N>", "<N></N>", "<N>99999999999999999999</N>", "<N>1<B/></N>"] {
            assert!(!fits(bad, Shape::Int), "{bad}");
        }
        // Items mixed with text or with other elements would lose them: not read.
        assert!(!fits("<L>x<Item>a</Item></L>", list));
        assert!(!fits("<L><Item>a</Item><Other/></L>", list));
        assert!(!fits("<L><Item>a<B/></Item></L>", list));

        let elements = xml::parse("<xml><N>x</N><S><B/></S></xml>").unwrap().into_children();
        assert_eq!(check_required(&elements, "N", Shape::Int), Err(EventError::NotInteger("N")));
        assert_eq!(check_required(&elements, "S", Shape::Text), Err(EventError::Malformed("S")));
        assert_eq!(check_required(&elements, "M", Shape::Text), Err(EventError::Missing("M")));
        let mut elements = elements;
        assert!(take_readable(&mut elements, "N", Shape::Int).is_none());
        assert_eq!(elements.len(), 2, "an element that does not read stays");
    }

    #[test]
    fn a_header_is_taken_in_one_pass_and_the_rest_keeps_its_order() {
        const HEADER: [HeaderElement; 3] = [
            HeaderElement { name: "A", shape: Shape::Text, required: true },
            HeaderElement { name: "N", shape: Shape::Int, required: false },
            HeaderElement { name: "T", shape: Shape::Int, required: true },
        ];
        let names = |elements: &[Element]| elements.iter().map(Element::name).collect::<Vec<_>>().join(" ");
        let doc = "<xml><X>1</X><Kind>k</Kind><T>7</T><A>a</A><N>n</N><A>again</A><Y/><N>2</N><T>8</T></xml>";
        let mut elements = xml::parse(doc).unwrap().into_children();
        let (kind, name) = kind_element(&elements, "Kind").unwrap();
        assert_eq!((kind, name.as_str()), (1, "k"));
        let [a, n, t] = take_header(&mut elements, kind, &HEADER).unwrap();
        assert_eq!(a.map(Element::into_text).as_deref(), Some("a"));
        assert_eq!(t.map(int_of), Some(7));
        // The first `N` does not read: it stays, and so does the second, as `take_readable` leaves them.
        assert!(n.is_none());
        assert_eq!(names(&elements), "X N A Y N T");
        assert_eq!(elements[1].text(), "n");

        // A required element missing or unreadable: the first error in the header's order; only the
        // element naming the event is taken.
        for (doc, error) in [
            ("<xml><Kind>k</Kind><T>7</T></xml>", EventError::Missing("A")),
            ("<xml><T>x</T><Kind>k</Kind><A><B/></A></xml>", EventError::Malformed("A")),
            ("<xml><A>a</A><T>x</T><Kind>k</Kind><T>7</T></xml>", EventError::NotInteger("T")),
        ] {
            let mut elements = xml::parse(doc).unwrap().into_children();
            let (kind, _) = kind_element(&elements, "Kind").unwrap();
            let before: Vec<Element> = elements.iter().filter(|e| e.name() != "Kind").cloned().collect();
            assert_eq!(take_header(&mut elements, kind, &HEADER).err(), Some(error), "{doc}");
            assert_eq!(elements, before, "{doc}");
        }
        // The element naming the event must be text only; the first of its name decides.
        let elements = xml::parse("<xml><Kind><B/></Kind><Kind>k</Kind></xml>").unwrap().into_children();
        assert_eq!(kind_element(&elements, "Kind"), None);
    }

    #[test]
    fn writer_output_reads_back() {
        let mut w = XmlWriter::new();
        w.string("A", "x]]>y<&");
        w.int("N", -3);
        w.list("L", "Item", &["p".into(), "q".into()]);
        w.element(&Element::new("Raw", "t", vec![Element::new("K", "v", vec![])]));
        let root = xml::parse(&w.finish()).unwrap();
        assert_eq!(root.child_text("A"), Some("x]]>y<&"));
        assert_eq!(root.child_text("N"), Some("-3"));
        assert_eq!(root.items("L"), Some(vec!["p", "q"]));
        assert_eq!(root.child("Raw").and_then(|r| r.child_text("K")), Some("v"));
    }

    #[test]
    fn json_of_unknown_elements() {
        let root = xml::parse(
            "<xml><NewThing>1</NewThing><Tags><Tag>a</Tag><Tag>b</Tag></Tags><Obj><A>x</A><B>y</B></Obj></xml>",
        )
        .unwrap();
        let mut w = JsonWriter::new();
        w.value("new_thing", "known");
        for e in root.children() {
            w.element(e);
        }
        let json = Value::Object(w.finish());
        assert_eq!(json, serde_json::json!({"new_thing": "known", "tags": ["a", "b"], "obj": {"a": "x", "b": "y"}}));
        assert_eq!(snake_case("MemChangeList"), "mem_change_list");
        assert_eq!(snake_case("AuthCorpId"), "auth_corp_id");
        assert_eq!(snake_case("ToUserName"), "to_user_name");
    }
}
