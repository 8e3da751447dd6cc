//! The flags of a join way's fields, made from the spec: one flag per field of `JoinWayConfig` (what
//! `add_join_way`, `update_join_way` and the `get_join_way` answer share), with its help, its values and its
//! limits read from the generated field metadata. A field added to the spec is a flag here with no code.
//!
//! Flag names: the field's JSON name in kebab case (`room_base_name` → `--room-base-name`); a list of
//! texts named `…_list` takes one item per flag, named in the singular (`chat_id_list` → `--chat-id`,
//! repeated). Values: text, a whole number, `true`/`false` (also `1`/`0`) for booleans and for enums whose
//! values are just No (0) and Yes (1), the kebab-case name of a documented value for other enums.

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Arg, ArgAction, ArgMatches, Args, Command, FromArgMatches};
use heck::ToKebabCase;
use serde_json::{Map, Value};
use wecom_groupchat::schema::{FieldInfo, FieldKind};
use wecom_groupchat::types::{JoinWayConfig, JoinWayConfigField};

/// The join-way field flags given on the command line.
#[derive(Debug, Clone, Default)]
pub struct JoinWayFlags {
    /// The values given, as the JSON of a `JoinWayConfig`.
    values: Map<String, Value>,
}

impl JoinWayFlags {
    /// The fields given, as a config (unset fields unset).
    pub fn config(&self) -> Result<JoinWayConfig, String> {
        serde_json::from_value(Value::Object(self.values.clone())).map_err(|e| e.to_string())
    }

    /// Whether the flag of `field` was given.
    pub fn is_given(&self, field: JoinWayConfigField) -> bool {
        self.values.contains_key(field.json_name())
    }
}

/// The flag of a field: `--room-base-name`, `--chat-id`.
pub fn flag(field: JoinWayConfigField) -> String {
    format!("--{}", flag_name(field.info()))
}

fn flag_name(info: &FieldInfo) -> String {
    match (info.kind, info.json_name.strip_suffix("_list")) {
        (FieldKind::StringList, Some(singular)) => singular.to_kebab_case(),
        _ => info.json_name.to_kebab_case(),
    }
}

/// An enum of just No (0) and Yes (1) takes booleans.
fn is_yes_no(known: &[(i64, &str)]) -> bool {
    let mut values = known.to_vec();
    values.sort();
    values == [(0, "No"), (1, "Yes")]
}

/// What a field says of itself in `--help`: the spec's text, then what it does not say already.
fn help(field: JoinWayConfigField) -> String {
    let info = field.info();
    let doc = info.doc.trim_end_matches('.');
    let mut text: String = doc.chars().take(1).flat_map(char::to_uppercase).chain(doc.chars().skip(1)).collect();
    let mut notes = Vec::new();
    // Limits the doc text does not give in numbers of its own.
    let numbers = |s: &str| {
        s.split(|c: char| !c.is_ascii_digit()).filter(|n| !n.is_empty()).map(str::to_string).collect::<Vec<_>>()
    };
    if numbers(info.limits).iter().any(|n| !numbers(doc).contains(n)) {
        notes.push(info.limits.to_string());
    }
    if let FieldKind::StringList = info.kind {
        notes.push("repeat the flag".into());
    }
    if let Some(default) = info.default.filter(|_| !doc.contains("default")) {
        let shown = match info.kind {
            FieldKind::Enum(known) if is_yes_no(known) => if default == "1" { "true" } else { "false" }.to_string(),
            FieldKind::Enum(known) => known
                .iter()
                .find(|(v, _)| v.to_string() == default)
                .map_or(default.to_string(), |(_, n)| n.to_kebab_case()),
            _ => default.to_string(),
        };
        notes.push(format!("WeCom's default: {shown}"));
    }
    if info.required {
        notes.push("required by add, and by update without --merge".into());
    }
    if !notes.is_empty() {
        text.push_str(&format!(" ({})", notes.join("; ")));
    }
    text
}

impl FromArgMatches for JoinWayFlags {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut flags = JoinWayFlags::default();
        flags.update_from_arg_matches(matches)?;
        Ok(flags)
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        for field in JoinWayConfigField::ALL {
            let id = field.json_name();
            if let Ok(Some(values)) = matches.try_get_many::<Value>(id) {
                let values: Vec<Value> = values.cloned().collect();
                let value = match field.info().kind {
                    FieldKind::StringList | FieldKind::List => Value::Array(values),
                    _ => values.into_iter().next().unwrap_or(Value::Null),
                };
                self.values.insert(id.to_string(), value);
            }
        }
        Ok(())
    }
}

impl Args for JoinWayFlags {
    fn augment_args(mut cmd: Command) -> Command {
        for field in JoinWayConfigField::ALL {
            let info = field.info();
            let arg = Arg::new(info.json_name).long(flag_name(info)).help(help(field));
            let arg = match info.kind {
                FieldKind::String => arg.value_name("TEXT").value_parser(|s: &str| Ok::<_, String>(Value::from(s))),
                FieldKind::Int => arg
                    .value_name("N")
                    .allow_negative_numbers(true)
                    .value_parser(clap::value_parser!(i64).map(Value::from)),
                FieldKind::Bool => arg.value_name("BOOL").value_parser(booleans().map(Value::Bool)),
                FieldKind::Enum(known) if is_yes_no(known) => {
                    arg.value_name("BOOL").value_parser(booleans().map(|b| Value::from(i64::from(b))))
                }
                FieldKind::Enum(known) => {
                    let names: Vec<String> = known.iter().map(|(_, n)| n.to_kebab_case()).collect();
                    arg.value_name(info.json_name.to_uppercase()).value_parser(PossibleValuesParser::new(names).map(
                        move |name| {
                            let value = known.iter().find(|(_, n)| n.to_kebab_case() == name).map_or(0, |(v, _)| *v);
                            Value::from(value)
                        },
                    ))
                }
                FieldKind::StringList => arg
                    .value_name(info.json_name.trim_end_matches("_list").to_uppercase())
                    .action(ArgAction::Append)
                    .value_parser(|s: &str| Ok::<_, String>(Value::from(s))),
                _ => arg
                    .value_name("JSON")
                    .value_parser(|s: &str| serde_json::from_str::<Value>(s).map_err(|e| e.to_string())),
            };
            cmd = cmd.arg(arg);
        }
        cmd
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

/// `true`/`false` as WeCom's JSON has them, or `1`/`0` as its docs write them.
fn booleans() -> impl TypedValueParser<Value = bool> {
    PossibleValuesParser::new(["true", "false", "1", "0"]).map(|v| v == "true" || v == "1")
}

/// The values `--clear` takes: the kebab-case names of the fields requests do not require.
pub fn clearable() -> impl TypedValueParser<Value = JoinWayConfigField> {
    let names: Vec<String> =
        JoinWayConfigField::ALL.iter().filter(|f| !f.required()).map(|f| f.json_name().to_kebab_case()).collect();
    PossibleValuesParser::new(names).map(|name| {
        JoinWayConfigField::ALL
            .into_iter()
            .find(|f| f.json_name().to_kebab_case() == name)
            .unwrap_or(JoinWayConfigField::ALL[0])
    })
}

/// The name of an enum value of a field, for the last column of `join-way get`.
pub fn value_name(json_name: &str, value: &Value) -> Option<&'static str> {
    let field = JoinWayConfigField::from_json_name(json_name)?;
    let FieldKind::Enum(known) = field.info().kind else { return None };
    let v = value.as_i64()?;
    known.iter().find(|(k, _)| *k == v).map(|(_, name)| *name)
}
