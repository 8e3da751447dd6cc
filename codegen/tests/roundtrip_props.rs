//! Property tests over every generated type: JSON shaped as the spec describes a type — any values, any
//! subset of the optional fields, enum values the spec does not list, and (in answers) fields it does not
//! know at every level — decodes into the type and encodes back to exactly itself. What the server sends
//! survives a round trip through the client, unknown fields and values included.

use codegen::model::{Api, Struct, StructId, StructRole, Type};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Map, Value};
use wecom_groupchat::endpoint::{Endpoint, EndpointVisitor};
use wecom_groupchat::endpoints;

fn api() -> Api {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().join("api-spec");
    codegen::load(&root, "api-spec").unwrap()
}

/// Any JSON value, small: what an unknown field may hold.
fn any_json() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
    .boxed()
}

/// A value of `ty` as the wire has it.
fn value_of(api: &Api, ty: &Type, unknown_fields: bool, max_items: Option<i64>) -> BoxedStrategy<Value> {
    match ty {
        Type::String => ".{0,20}".prop_map(Value::String).boxed(),
        Type::Int | Type::Timestamp | Type::Day => any::<i64>().prop_map(Value::from).boxed(),
        Type::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
        // Documented values and others alike: unknown ones are kept as they came.
        Type::Enum(id) => {
            let known: Vec<i64> = api.enum_(*id).values.iter().map(|v| v.value).collect();
            prop_oneof![proptest::sample::select(known), any::<i64>()].prop_map(Value::from).boxed()
        }
        Type::Struct(id) => object_of(api, api.struct_(*id), unknown_fields),
        Type::Array(item) => {
            let most = max_items.map_or(3, |m| m.min(3)) as usize;
            proptest::collection::vec(value_of(api, item, unknown_fields, None), 0..=most)
                .prop_map(Value::Array)
                .boxed()
        }
    }
}

/// An object of struct `s`: its required fields, any subset of its optional ones, and — for types that
/// keep them — fields the spec does not know.
fn object_of(api: &Api, s: &Struct, unknown_fields: bool) -> BoxedStrategy<Value> {
    let mut fields: Vec<BoxedStrategy<Option<(String, Value)>>> = Vec::new();
    if s.role == StructRole::Response {
        // The envelope, present or not.
        for name in [&api.envelope_code, &api.envelope_message] {
            let value = if *name == api.envelope_code {
                Just(Value::from(0)).boxed()
            } else {
                ".{0,10}".prop_map(Value::String).boxed()
            };
            let name = name.clone();
            fields.push(proptest::option::of(value.prop_map(move |v| (name.clone(), v))).boxed());
        }
    }
    for f in &s.fields {
        let name = f.json_name.clone();
        let value = value_of(api, &f.ty, unknown_fields, f.constraints.max_items.map(|m| m.value))
            .prop_map(move |v| (name.clone(), v));
        fields.push(if f.required { value.prop_map(Some).boxed() } else { proptest::option::of(value).boxed() });
    }
    let known: Vec<String> = s.fields.iter().map(|f| f.json_name.clone()).collect();
    let extra = if unknown_fields {
        proptest::collection::btree_map("x_[a-z]{1,8}", any_json(), 0..3)
            .prop_map(move |m| m.into_iter().filter(|(k, _)| !known.contains(k)).collect::<Vec<_>>())
            .boxed()
    } else {
        Just(Vec::new()).boxed()
    };
    (fields, extra)
        .prop_map(|(fields, extra)| {
            let mut object: Map<String, Value> = fields.into_iter().flatten().collect();
            object.extend(extra);
            Value::Object(object)
        })
        .boxed()
}

/// Decodes a request and a response of endpoint `R` and encodes them back.
struct RoundTrip {
    request: Value,
    response: Value,
}

impl EndpointVisitor for RoundTrip {
    type Output = Result<(Value, Value), String>;

    fn visit<R: Endpoint>(self) -> Self::Output {
        let request: R = serde_json::from_value(self.request.clone()).map_err(|e| format!("request: {e}"))?;
        let response: R::Response =
            serde_json::from_value(self.response.clone()).map_err(|e| format!("response: {e}"))?;
        Ok((serde_json::to_value(&request).unwrap(), serde_json::to_value(&response).unwrap()))
    }
}

#[test]
fn every_generated_type_encodes_and_decodes_to_itself_with_unknown_fields_kept() {
    let api = api();
    let mut types_seen: std::collections::BTreeSet<StructId> = std::collections::BTreeSet::new();
    for ep in &api.endpoints {
        let request = object_of(&api, api.struct_(ep.request), false);
        let response = object_of(&api, api.struct_(ep.response), true);
        let mut runner = TestRunner::new(Config { cases: 256, failure_persistence: None, ..Config::default() });
        let name = ep.name.clone();
        runner
            .run(&(request, response), |(request, response)| {
                let visit = RoundTrip { request: request.clone(), response: response.clone() };
                let (request_back, response_back) =
                    endpoints::visit(&name, visit).unwrap().map_err(TestCaseError::fail)?;
                prop_assert_eq!(&request_back, &request, "{} request", name);
                prop_assert_eq!(&response_back, &response, "{} response", name);
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{}: {e}", ep.name));
        let mut stack = vec![ep.request, ep.response];
        while let Some(id) = stack.pop() {
            if types_seen.insert(id) {
                for f in &api.struct_(id).fields {
                    if let Type::Struct(s) = f.ty.item() {
                        stack.push(*s);
                    }
                }
                stack.extend(api.struct_(id).includes.iter().map(|inc| inc.from));
            }
        }
    }
    // Every struct of the spec but the token endpoint's was reached through some endpoint.
    let token = [api.token.query, api.token.response];
    let all: std::collections::BTreeSet<StructId> = api.struct_ids().filter(|id| !token.contains(id)).collect();
    assert_eq!(types_seen, all);
}
