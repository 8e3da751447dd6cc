//! The checker's messages for broken specs: each names the file and the YAML path of the node.

use codegen::spec::SpecFiles;

const API: &str = r#"
name: test
title: test API
base_url: https://example.com
auth:
  query_param: access_token
  token_endpoint:
    name: gettoken
    method: GET
    path: /gettoken
    doc_url: https://example.com/doc
    query:
      fields:
        - { name: corpid, type: string, required: true, doc: corp id }
        - { name: corpsecret, type: string, required: true, secret: true, doc: secret }
    response:
      fields:
        - { name: access_token, type: string, secret: true, doc: token }
        - { name: expires_in, type: int, doc: lifetime }
    roles: { corp_id: corpid, secret: corpsecret, token: access_token, expires_in: expires_in }
envelope: { code: errcode, message: errmsg }
rate_limit: { per_minute: 100, per_hour: 1000 }
day_utc_offset_hours: 8
"#;

const TYPES: &str = r#"
enums:
  - name: Color
    doc: a color
    values:
      - { value: 1, name: Red, doc: red }
      - { value: 2, name: Blue, doc: blue }
structs:
  - name: Filter
    doc: a filter
    fields:
      - { name: ids, type: "array<string>", required: true, doc: ids, constraints: { max_items: 100 } }
"#;

const ERRORS: &str = r#"
errors:
  - { code: -1, name: SYSTEM_BUSY, zh: 系统繁忙, en: busy, retry: backoff }
  - { code: 40014, name: INVALID_ACCESS_TOKEN, zh: 不合法的access_token, en: bad token, retry: refresh_token }
"#;

const GOOD: &str = r#"
name: find
method: POST
path: /find
summary: 查找
summary_en: Find things.
description: Finds things.
doc_url: https://example.com/find
retry: idempotent
paging: { style: cursor, cursor: cursor, next: next_cursor, items: things }
request:
  fields:
    - { name: filter, type: Filter, doc: filter }
    - { name: color, type: Color, default: 1, doc: color }
    - { name: cursor, type: string, doc: cursor }
    - { name: limit, type: int, required: true, doc: limit, constraints: { min: 1, max: 1000 } }
response:
  fields:
    - { name: things, type: "array<string>", doc: things }
    - { name: next_cursor, type: string, doc: next }
examples:
  - request: '{"limit": 10}'
    response: '{"errcode": 0, "errmsg": "ok", "things": []}'
"#;

/// Checks a spec made of the base files with `endpoint` (and optional replacements), returning the
/// checker's messages, one per line.
fn errors_of(types: &str, errors: &str, endpoints: &[(&str, &str)]) -> String {
    let result = SpecFiles::from_strs(API, types, errors, endpoints).and_then(|files| codegen::check::check(&files));
    match result {
        Ok(_) => "no errors".to_string(),
        Err(e) => e.to_string(),
    }
}

#[test]
fn the_base_spec_is_valid() {
    assert_eq!(errors_of(TYPES, ERRORS, &[("find.yaml", GOOD)]), "no errors");
}

#[test]
fn broken_specs() {
    let cases: Vec<(&str, String)> = vec![
        ("unknown type", errors_of(TYPES, ERRORS, &[("find.yaml", &GOOD.replace("type: Filter", "type: Filtr"))])),
        (
            "malformed array type",
            errors_of(
                TYPES,
                ERRORS,
                &[("find.yaml", &GOOD.replace("\"array<string>\", doc: things", "\"array<string\", doc: things"))],
            ),
        ),
        ("missing path", errors_of(TYPES, ERRORS, &[("find.yaml", &GOOD.replace("path: /find\n", ""))])),
        ("path without slash", errors_of(TYPES, ERRORS, &[("find.yaml", &GOOD.replace("path: /find", "path: find"))])),
        (
            "typo in a field key",
            errors_of(
                TYPES,
                ERRORS,
                &[("find.yaml", &GOOD.replace("required: true, doc: limit", "requried: true, doc: limit"))],
            ),
        ),
        (
            "field without type",
            errors_of(
                TYPES,
                ERRORS,
                &[(
                    "find.yaml",
                    &GOOD.replace("{ name: cursor, type: string, doc: cursor }", "{ name: cursor, doc: cursor }"),
                )],
            ),
        ),
        (
            "impossible range",
            errors_of(TYPES, ERRORS, &[("find.yaml", &GOOD.replace("{ min: 1, max: 1000 }", "{ min: 10, max: 1 }"))]),
        ),
        (
            "constraint on the wrong type",
            errors_of(
                TYPES,
                ERRORS,
                &[("find.yaml", &GOOD.replace("{ min: 1, max: 1000 }", "{ max_items: 5, max_chars: 3 }"))],
            ),
        ),
        (
            "days_ago on an int",
            errors_of(
                TYPES,
                ERRORS,
                &[("find.yaml", &GOOD.replace("{ min: 1, max: 1000 }", "{ days_ago: { min: 5, max: 1 } }"))],
            ),
        ),
        ("zero max items", errors_of(&TYPES.replace("max_items: 100", "max_items: 0"), ERRORS, &[("find.yaml", GOOD)])),
        (
            "default not a value of the enum",
            errors_of(TYPES, ERRORS, &[("find.yaml", &GOOD.replace("default: 1", "default: 7"))]),
        ),
        (
            "required field with a default",
            errors_of(
                TYPES,
                ERRORS,
                &[("find.yaml", &GOOD.replace("type: int, required: true,", "type: int, required: true, default: 5,"))],
            ),
        ),
        (
            "duplicate field",
            errors_of(
                TYPES,
                ERRORS,
                &[("find.yaml", &GOOD.replace("{ name: cursor, type: string", "{ name: limit, type: string"))],
            ),
        ),
        (
            "keyword field name",
            errors_of(TYPES, ERRORS, &[("find.yaml", &GOOD.replace("{ name: color,", "{ name: type,"))]),
        ),
        (
            "duplicate type across files",
            errors_of(
                TYPES,
                ERRORS,
                &[("find.yaml", &format!("{GOOD}structs:\n  - {{ name: Filter, doc: again, fields: [] }}\n"))],
            ),
        ),
        (
            "paging names a missing field",
            errors_of(TYPES, ERRORS, &[("find.yaml", &GOOD.replace("next: next_cursor", "next: next_page"))]),
        ),
        (
            "paging field of the wrong type",
            errors_of(TYPES, ERRORS, &[("find.yaml", &GOOD.replace("items: things", "items: next_cursor"))]),
        ),
        (
            "duplicate endpoint path",
            errors_of(TYPES, ERRORS, &[("find.yaml", GOOD), ("seek.yaml", &GOOD.replace("name: find", "name: seek"))]),
        ),
        ("file name does not match", errors_of(TYPES, ERRORS, &[("search.yaml", GOOD)])),
        (
            "example is not JSON",
            errors_of(TYPES, ERRORS, &[("find.yaml", &GOOD.replace("'{\"limit\": 10}'", "'{limit: 10'"))]),
        ),
        (
            "duplicate error code",
            errors_of(
                TYPES,
                &format!("{ERRORS}  - {{ code: -1, name: AGAIN, zh: 又, en: again, retry: never }}\n"),
                &[("find.yaml", GOOD)],
            ),
        ),
        (
            "unknown retry class",
            errors_of(TYPES, ERRORS, &[("find.yaml", &GOOD.replace("retry: idempotent", "retry: maybe"))]),
        ),
        (
            "unused shared struct",
            errors_of(
                &format!("{TYPES}  - {{ name: Orphan, doc: unused, fields: [] }}\n"),
                ERRORS,
                &[("find.yaml", GOOD)],
            ),
        ),
        (
            "envelope field in a response",
            errors_of(
                TYPES,
                ERRORS,
                &[(
                    "find.yaml",
                    &GOOD.replace("{ name: things,", "{ name: errcode, type: int, doc: code }\n    - { name: things,"),
                )],
            ),
        ),
        (
            "error name not SHOUTY_SNAKE",
            errors_of(TYPES, &ERRORS.replace("name: SYSTEM_BUSY", "name: systemBusy"), &[("find.yaml", GOOD)]),
        ),
        (
            "include of an unknown struct",
            errors_of(
                TYPES,
                ERRORS,
                &[("find.yaml", &GOOD.replace("request:\n  fields:", "request:\n  include:\n    - struct: Filtr\n  fields:"))],
            ),
        ),
        (
            "include that repeats a field",
            errors_of(
                &TYPES.replace("{ name: ids,", "{ name: limit, type: int, doc: l }\n      - { name: ids,"),
                ERRORS,
                &[("find.yaml", &GOOD.replace("request:\n  fields:", "request:\n  include:\n    - struct: Filter\n  fields:"))],
            ),
        ),
        (
            "token role naming a missing field",
            {
                let api = API.replace("expires_in: expires_in }", "expires_in: lifetime }");
                SpecFiles::from_strs(&api, TYPES, ERRORS, &[("find.yaml", GOOD)])
                    .and_then(|files| codegen::check::check(&files))
                    .map(|_| "no errors".to_string())
                    .unwrap_or_else(|e| e.to_string())
            },
        ),
        (
            "example answers without an example",
            errors_of(
                TYPES,
                ERRORS,
                &[(
                    "find.yaml",
                    &GOOD.replace("examples:\n  - request: '{\"limit\": 10}'\n    response: '{\"errcode\": 0, \"errmsg\": \"ok\", \"things\": []}'\n", "simulator: example\n"),
                )],
            ),
        ),
    ];
    let report: String = cases.iter().map(|(name, errors)| format!("## {name}\n{errors}\n\n")).collect();
    for (name, errors) in &cases {
        assert_ne!(errors, "no errors", "case `{name}` should fail");
        assert!(errors.contains("api-spec/"), "case `{name}` does not name a file: {errors}");
    }
    insta::assert_snapshot!("broken_specs", report);
}

/// Runs the whole pipeline — parse, check and, when the check passes, generate — as the `spec` fuzz
/// target does: a broken spec must be a spec error, never a panic of the generator.
fn pipeline(api: &str, types: &str, endpoints: &[(&str, &str)]) -> String {
    let result = SpecFiles::from_strs(api, types, ERRORS, endpoints).and_then(|files| codegen::check::check(&files));
    match result {
        Ok(api) => {
            codegen::emit::generate(&api);
            "no errors".to_string()
        }
        Err(e) => e.to_string(),
    }
}

// The cases below each crashed the generator (an invalid identifier, invalid Rust, endless recursion)
// before the checker knew to refuse them.

#[test]
fn a_type_named_self_is_a_spec_error() {
    let errors = pipeline(
        API,
        &TYPES.replace("name: Filter", "name: Self"),
        &[("find.yaml", &GOOD.replace("type: Filter", "type: Self"))],
    );
    assert!(errors.contains("api-spec/types.yaml: structs[0].name: type name `Self` is a Rust keyword"), "{errors}");
}

#[test]
fn a_variant_that_is_no_identifier_is_a_spec_error() {
    // heck leaves `1red` as it is, so "equal to its UpperCamelCase form" let it through.
    let errors = pipeline(API, &TYPES.replace("name: Red", "name: 1red"), &[("find.yaml", GOOD)]);
    assert!(
        errors.contains("api-spec/types.yaml: enums[0].values[0].name: variant `1red` must be UpperCamelCase"),
        "{errors}"
    );
}

#[test]
fn envelope_names_must_be_field_names() {
    for (name, bad) in [("code", "err code"), ("message", "type")] {
        let api = API.replace(
            "envelope: { code: errcode, message: errmsg }",
            &if name == "code" {
                format!("envelope: {{ code: '{bad}', message: errmsg }}")
            } else {
                format!("envelope: {{ code: errcode, message: '{bad}' }}")
            },
        );
        let errors = pipeline(&api, TYPES, &[("find.yaml", GOOD)]);
        assert!(
            errors.contains(&format!("api-spec/api.yaml: envelope.{name}: `{bad}` is not usable as a Rust field name")),
            "{errors}"
        );
    }
}

#[test]
fn an_endpoint_named_a_keyword_is_a_spec_error() {
    let errors = pipeline(API, TYPES, &[("match.yaml", &GOOD.replace("name: find", "name: match"))]);
    assert!(
        errors.contains(
            "api-spec/endpoints/match.yaml: name: `match` is a Rust keyword: it cannot name the client method"
        ),
        "{errors}"
    );
}

#[test]
fn a_struct_that_contains_itself_is_a_spec_error() {
    // Required all the way down: the example in the client method's docs recursed until the stack overflowed.
    let types = TYPES.replace(
        "    fields:\n      - { name: ids,",
        "    fields:\n      - { name: parent, type: Filter, required: true, doc: parent }\n      - { name: ids,",
    );
    let find = GOOD.replace(
        "{ name: filter, type: Filter, doc: filter }",
        "{ name: filter, type: Filter, required: true, doc: filter }",
    );
    let errors = pipeline(API, &types, &[("find.yaml", &find)]);
    assert!(
        errors.contains(
            "api-spec/types.yaml: structs[0].name: struct `Filter` contains itself (Filter.parent) outside an array"
        ),
        "{errors}"
    );
    // Optional, it is no Rust type either (an `Option` holds its value inline).
    let types = TYPES.replace(
        "    fields:\n      - { name: ids,",
        "    fields:\n      - { name: parent, type: Filter, doc: parent }\n      - { name: ids,",
    );
    let errors = pipeline(API, &types, &[("find.yaml", GOOD)]);
    assert!(errors.contains("struct `Filter` contains itself (Filter.parent) outside an array"), "{errors}");
    // Through an array it is fine: a `Vec` holds it.
    let types = TYPES.replace(
        "    fields:\n      - { name: ids,",
        "    fields:\n      - { name: children, type: \"array<Filter>\", doc: children }\n      - { name: ids,",
    );
    assert_eq!(pipeline(API, &types, &[("find.yaml", GOOD)]), "no errors");
}

/// Doc text with a lone carriage return (a `\r` in a double-quoted YAML string) became a doc comment with a
/// bare CR, which rustc refuses: the generated files must parse as Rust, as written.
#[test]
fn a_carriage_return_in_doc_text_does_not_break_the_generated_code() {
    let find = GOOD.replace("summary_en: Find things.", "summary_en: \"Find\\rthings.\"").replace(
        "{ name: limit, type: int, required: true, doc: limit,",
        "{ name: limit, type: int, required: true, doc: \"lim\\rit\\r\\n\",",
    );
    let files = SpecFiles::from_strs(API, TYPES, ERRORS, &[("find.yaml", &find)]).unwrap();
    let api = codegen::check::check(&files).unwrap();
    for file in codegen::emit::generate(&api) {
        if let Err(e) = syn::parse_file(&file.contents) {
            panic!("{} does not parse: {e}", file.name);
        }
    }
}

const CALLBACKS: &str = r#"
crypto:
  encoding_aes_key_chars: 43
  pad_block: 32
  query: { signature: msg_signature, timestamp: timestamp, nonce: nonce, echo: echostr }
  envelope: { root: xml, to_user_name: ToUserName, agent_id: AgentID, encrypted: Encrypt }
  reply: { signature: MsgSignature, timestamp: TimeStamp, nonce: Nonce }
forms:
  - name: app
    rust_name: AppHeader
    doc: app form
    kind: { name: Event, doc: the event }
    elements:
      - { name: ToUserName, type: string, required: true, doc: corp }
      - { name: CreateTime, type: timestamp, required: true, doc: time }
"#;

const EVENT: &str = r#"
name: thing_changed
title: 变更 — a thing changed
doc_url: https://example.com/event
forms: [app]
enums:
  - name: Change
    doc: what changed
    values:
      - { value: create, name: Create, doc: created }
      - { value: drop, name: Drop, doc: dropped }
elements:
  - { name: ThingId, type: string, required: true, doc: id }
  - { name: Change, type: Change, required: true, doc: change }
  - { name: Members, type: "array<string>", item: Item, doc: members }
examples:
  - name: created
    doc: made up
    xml: "<xml><ToUserName>c</ToUserName><CreateTime>1</CreateTime><Event>thing_changed</Event><ThingId>t</ThingId><Change>create</Change></xml>"
"#;

/// The checker's message for a callbacks file and event files, or `no errors` (the generator then runs too).
fn event_errors(callbacks: &str, events: &[(&str, &str)]) -> String {
    let result = SpecFiles::from_strs(API, TYPES, ERRORS, &[("find.yaml", GOOD)])
        .and_then(|files| files.with_events(callbacks, events))
        .and_then(|files| codegen::check::check(&files));
    match result {
        Ok(api) => {
            codegen::emit::generate(&api);
            "no errors".to_string()
        }
        Err(e) => e.to_string(),
    }
}

#[test]
fn broken_events() {
    assert_eq!(event_errors(CALLBACKS, &[("thing_changed.yaml", EVENT)]), "no errors");
    let cases: Vec<(&str, String)> = vec![
        ("unknown form", event_errors(CALLBACKS, &[("e.yaml", &EVENT.replace("forms: [app]", "forms: [app, suite]"))])),
        (
            "unknown element type",
            event_errors(CALLBACKS, &[("e.yaml", &EVENT.replace("type: Change,", "type: Chnage,"))]),
        ),
        ("array without item", event_errors(CALLBACKS, &[("e.yaml", &EVENT.replace(", item: Item", ""))])),
        (
            "item on a scalar",
            event_errors(
                CALLBACKS,
                &[(
                    "e.yaml",
                    &EVENT.replace("type: string, required: true, doc: id", "type: string, item: Item, doc: id"),
                )],
            ),
        ),
        (
            "element reusing a header element",
            event_errors(CALLBACKS, &[("e.yaml", &EVENT.replace("name: ThingId", "name: ToUserName"))]),
        ),
        (
            "two elements with one snake_case",
            event_errors(CALLBACKS, &[("e.yaml", &EVENT.replace("name: Members", "name: THING_ID"))]),
        ),
        (
            "element named a keyword",
            event_errors(CALLBACKS, &[("e.yaml", &EVENT.replace("name: Members", "name: Type"))]),
        ),
        ("element named extra", event_errors(CALLBACKS, &[("e.yaml", &EVENT.replace("name: Members", "name: Extra"))])),
        (
            "element name that is no XML name",
            event_errors(CALLBACKS, &[("e.yaml", &EVENT.replace("name: Members", "name: \"Mem bers\""))]),
        ),
        ("mixed enum values", event_errors(CALLBACKS, &[("e.yaml", &EVENT.replace("value: drop", "value: 2"))])),
        (
            "variant named Unknown",
            event_errors(CALLBACKS, &[("e.yaml", &EVENT.replace("name: Drop", "name: Unknown"))]),
        ),
        (
            "duplicate enum value",
            event_errors(CALLBACKS, &[("e.yaml", &EVENT.replace("value: drop", "value: create"))]),
        ),
        (
            "enum named like a generated type",
            event_errors(
                CALLBACKS,
                &[(
                    "e.yaml",
                    &EVENT.replace("name: Change\n", "name: Header\n").replace("type: Change,", "type: Header,"),
                )],
            ),
        ),
        (
            "enum shadowing String",
            event_errors(
                CALLBACKS,
                &[(
                    "e.yaml",
                    &EVENT.replace("name: Change\n", "name: String\n").replace("type: Change,", "type: String,"),
                )],
            ),
        ),
        (
            "event name that is no name",
            event_errors(CALLBACKS, &[("e.yaml", &EVENT.replace("name: thing_changed", "name: Thing-Changed"))]),
        ),
        (
            "the same event twice",
            event_errors(
                CALLBACKS,
                &[
                    ("a.yaml", EVENT),
                    (
                        "b.yaml",
                        &EVENT.replace("name: Change\n", "name: Change2\n").replace("type: Change,", "type: Change2,"),
                    ),
                ],
            ),
        ),
        (
            "example not naming the event",
            event_errors(CALLBACKS, &[("e.yaml", &EVENT.replace("<Event>thing_changed</Event>", "<Event>x</Event>"))]),
        ),
        (
            "default on an integer",
            event_errors(
                &CALLBACKS
                    .replace("type: timestamp, required: true,", "type: timestamp, default: now, required: true,"),
                &[("e.yaml", EVENT)],
            ),
        ),
        (
            "two forms named by one element",
            event_errors(
                &format!(
                    "{CALLBACKS}{}",
                    CALLBACKS
                        .split_once("forms:\n")
                        .map_or("", |(_, forms)| forms)
                        .replace("name: app", "name: app2")
                        .replace("AppHeader", "App2Header")
                ),
                &[("e.yaml", EVENT)],
            ),
        ),
        (
            "crypto without a pad block",
            event_errors(&CALLBACKS.replace("pad_block: 32", "pad_block: 0"), &[("e.yaml", EVENT)]),
        ),
        (
            "crypto padding to part of an AES block",
            event_errors(&CALLBACKS.replace("pad_block: 32", "pad_block: 24"), &[("e.yaml", EVENT)]),
        ),
        (
            "crypto key of another length",
            event_errors(
                &CALLBACKS.replace("encoding_aes_key_chars: 43", "encoding_aes_key_chars: 44"),
                &[("e.yaml", EVENT)],
            ),
        ),
        (
            "crypto naming two query parameters alike",
            event_errors(&CALLBACKS.replace("nonce: nonce", "nonce: timestamp"), &[("e.yaml", EVENT)]),
        ),
        (
            "crypto name that is no name",
            event_errors(&CALLBACKS.replace("encrypted: Encrypt", "encrypted: \"En crypt\""), &[("e.yaml", EVENT)]),
        ),
        ("callbacks without crypto", event_errors(&CALLBACKS.replace("crypto:", "crypto_:"), &[("e.yaml", EVENT)])),
        ("events without callbacks.yaml", {
            let files = SpecFiles::from_strs(API, TYPES, ERRORS, &[("find.yaml", GOOD)]).unwrap();
            let mut files = files.with_events(CALLBACKS, &[("e.yaml", EVENT)]).unwrap();
            files.callbacks = None;
            codegen::check::check(&files).err().map(|e| e.to_string()).unwrap_or_default()
        }),
    ];
    let report: String = cases.iter().map(|(name, errors)| format!("## {name}\n{errors}\n\n")).collect();
    for (name, errors) in &cases {
        assert_ne!(errors, "no errors", "case `{name}` should fail");
        assert!(errors.contains("api-spec/"), "case `{name}` does not name a file: {errors}");
    }
    insta::assert_snapshot!("broken_events", report);
}
