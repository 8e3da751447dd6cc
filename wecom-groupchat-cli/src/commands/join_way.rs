//! `join-way add|get|update|del`: "join group chat" configurations, with a flag for every field of the
//! spec's `JoinWayConfig` ([`crate::join_way_flags`]): the request is built from the flags through the
//! generated glue, so a field added to the spec needs nothing here.

use serde_json::{Value, json};
use wecom_groupchat::types::{
    AddJoinWayRequest, DelJoinWayRequest, GetJoinWayRequest, JoinWay, JoinWayConfig, JoinWayConfigField,
    UpdateJoinWayRequest,
};
use wecom_groupchat::validate::{Rule, Validate};
use wecom_groupchat::{Client, ValidationError};

use crate::args::{Global, JoinWayCommand, Output, UpdateJoinWayArgs};
use crate::commands;
use crate::failure::{Failure, Outcome};
use crate::join_way_flags::{self, JoinWayFlags, flag};
use crate::output::{self, Rows};

const MERGE_HINT: &str = "; or --merge to keep the current values of the fields not given";

/// The fields given on the command line, as a config.
fn given(flags: &JoinWayFlags) -> Result<JoinWayConfig, Failure> {
    flags.config().map_err(|e| Failure::Usage(format!("join way fields: {e}")))
}

/// A request's field errors, in terms of the command line: a required field not given names its flag.
fn invalid<'a>(endpoint: &'a str, hint: &'a str) -> impl Fn(ValidationError) -> Failure + 'a {
    move |e: ValidationError| match (e.rule, JoinWayConfigField::from_json_name(&e.field.to_string())) {
        (Rule::Required, Some(field)) => {
            let info = field.info();
            let what = if info.limits.is_empty() { String::new() } else { format!(" ({})", info.limits) };
            Failure::Usage(format!("{} is required{what}{hint}", flag(field)))
        }
        _ => Failure::Usage(format!("{endpoint}: invalid request: {e}")),
    }
}

pub async fn run(global: &Global, command: JoinWayCommand) -> Outcome {
    let format = output::resolve(global.output);
    match command {
        JoinWayCommand::Add(flags) => {
            let request =
                AddJoinWayRequest::from_join_way_config(given(&flags)?).map_err(invalid("add_join_way", ""))?;
            request.validate().map_err(invalid("add_join_way", ""))?;
            let created = commands::client(global)?.add_join_way(&request).await?;
            match format {
                Output::Json => output::json_line(&json!({"config_id": created.config_id})),
                _ => output::line(&created.config_id),
            }
        }
        JoinWayCommand::Get(arg) => {
            let way = commands::client(global)?.get_join_way(&GetJoinWayRequest::new(arg.config_id)).await?.join_way;
            print_join_way(&way, format)
        }
        JoinWayCommand::Update(args) => update(global, args).await,
        JoinWayCommand::Del(arg) => {
            let request = DelJoinWayRequest::new(arg.config_id.clone());
            request.validate().map_err(|e| Failure::Usage(format!("del_join_way: invalid request: {e}")))?;
            let client = commands::client(global)?;
            commands::transfer::confirm(&format!("delete join way {}?", arg.config_id), arg.yes)?;
            client.del_join_way(&request).await?;
            eprintln!("deleted {}", arg.config_id);
            Ok(())
        }
    }
}

async fn update(global: &Global, args: UpdateJoinWayArgs) -> Outcome {
    let UpdateJoinWayArgs { config_id, fields, merge, clear } = args;
    if let Some(field) = clear.iter().find(|f| fields.is_given(**f)) {
        let flag = flag(*field);
        let name = flag.trim_start_matches("--");
        return Err(Failure::Usage(format!("--clear {name} and {flag} contradict each other: give one")));
    }
    let flags = given(&fields)?;
    let request = if merge {
        // The flags' own limits, before reading the current config: the required fields not given are
        // stand-ins here (the current ones are checked with the rest once merged).
        let mut probe = JoinWayConfig::default();
        for field in JoinWayConfigField::ALL.into_iter().filter(|f| f.required()) {
            probe.merge(stand_in(field));
        }
        probe.merge(flags.clone());
        let probe = UpdateJoinWayRequest::from_join_way_config(config_id.clone(), probe)
            .map_err(invalid("update_join_way", MERGE_HINT))?;
        probe.validate().map_err(invalid("update_join_way", MERGE_HINT))?;
        None
    } else {
        let request = UpdateJoinWayRequest::from_join_way_config(config_id.clone(), flags.clone())
            .map_err(invalid("update_join_way", MERGE_HINT))?;
        request.validate().map_err(invalid("update_join_way", MERGE_HINT))?;
        Some(request)
    };
    let client = commands::client(global)?;
    let request = match request {
        Some(request) => request,
        None => merged(&client, &config_id, flags, &clear).await?,
    };
    client.update_join_way(&request).await?;
    eprintln!("updated {config_id}");
    Ok(())
}

/// A valid value of a required field, to check the other flags' limits before the current config is read.
fn stand_in(field: JoinWayConfigField) -> JoinWayConfig {
    use wecom_groupchat::schema::FieldKind;
    let value = match field.info().kind {
        FieldKind::StringList => json!(["(current)"]),
        FieldKind::String => json!("(current)"),
        FieldKind::Enum(known) => json!(known.first().map_or(0, |(v, _)| *v)),
        FieldKind::Bool => json!(false),
        _ => json!(0),
    };
    serde_json::from_value(json!({ field.json_name(): value })).unwrap_or_default()
}

/// WeCom overwrites the whole config on update: start from the current one so unset flags keep their
/// values, and `--clear` ones lose them.
async fn merged(
    client: &Client,
    config_id: &str,
    flags: JoinWayConfig,
    clear: &[JoinWayConfigField],
) -> Result<UpdateJoinWayRequest, Failure> {
    let current = client.get_join_way(&GetJoinWayRequest::new(config_id)).await?.join_way;
    let mut config = current.join_way_config();
    config.merge(flags);
    for field in clear {
        config.clear(*field);
    }
    // Guessing a required field the server did not report would change the config behind the user's back.
    // The read has been made by now, so this is the answer's failing (exit 3), not the user's input (exit 2).
    UpdateJoinWayRequest::from_join_way_config(config_id, config).map_err(|e| {
        let field = JoinWayConfigField::from_json_name(&e.field.to_string()).map_or_else(|| e.field.to_string(), flag);
        Failure::Incomplete(format!(
            "join way {config_id}: WeCom's answer has no `{}`, which the merge needs: pass {field}",
            e.field
        ))
    })
}

/// One row per field of the spec's join way, in its order, then any the spec does not know: the value as
/// WeCom has it, and the name of an enum value in the last column (as `list` and `get` print them).
fn print_join_way(way: &JoinWay, format: Output) -> Outcome {
    if format == Output::Json {
        return output::json_line(way);
    }
    let Value::Object(values) = serde_json::to_value(way).map_err(|e| Failure::Io(e.to_string()))? else {
        return Err(Failure::Io("a join way that is not a JSON object".into()));
    };
    let mut rows = Rows::new(&["field", "value", "name"]);
    let known = JoinWay::FIELDS.iter().copied();
    let unknown = values.keys().map(String::as_str).filter(|k| !JoinWay::FIELDS.contains(k));
    for field in known.chain(unknown) {
        let value = values.get(field).cloned().unwrap_or(Value::Null);
        let shown = match &value {
            Value::Array(items) => json!(
                items.iter().map(|v| v.as_str().map_or(v.to_string(), str::to_string)).collect::<Vec<_>>().join(", ")
            ),
            other => other.clone(),
        };
        let name = join_way_flags::value_name(field, &value);
        rows.push(vec![json!(field), shown, json!(name)]);
    }
    rows.print(format)
}
