//! `call ENDPOINT --body JSON`: any endpoint of the spec, driven by the generated endpoint table.

use std::path::Path;

use wecom_groupchat::dynamic::decode_request;

use crate::args::{CallArgs, Global};
use crate::failure::{Failure, Outcome};
use crate::{commands, output};

pub async fn run(global: &Global, args: CallArgs) -> Outcome {
    let text = match args.body.as_str() {
        "-" => commands::read_text(Path::new("-"), "--body")?,
        b => match b.strip_prefix('@') {
            Some(path) => commands::read_text(Path::new(path), "--body")?,
            None => b.to_string(),
        },
    };
    let body: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| Failure::Usage(format!("--body is not valid JSON: {e}")))?;
    let request = decode_request(&args.endpoint, &body).map_err(|e| Failure::Usage(e.to_string()))?;
    request.validate().map_err(|e| Failure::Usage(format!("{}: invalid request: {e}", request.info().name)))?;
    let client = commands::client(global)?;
    let response = request.call(&client).await?;
    output::json_pretty(&response)
}
