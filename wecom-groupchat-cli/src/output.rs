//! Writing data to stdout as JSON, a table or CSV. A closed pipe (`| head`) ends the command quietly
//! (exit 0), so a listing stops calling the API for pages nobody reads.

use std::io::{self, IsTerminal, Write};

use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use serde::Serialize;
use wecom_groupchat::wire::WireEnum;

use crate::args::Output;
use crate::failure::Failure;

/// The format to use: the one asked for, else a table on a terminal and JSON otherwise.
pub fn resolve(asked: Option<Output>) -> Output {
    asked.unwrap_or(if io::stdout().is_terminal() { Output::Table } else { Output::Json })
}

fn write_failed(e: io::Error) -> Failure {
    Failure::Io(format!("cannot write to stdout: {e}"))
}

/// Writes `text` and a newline to stdout; a broken pipe stops the command quietly.
pub fn line(text: &str) -> Result<(), Failure> {
    let mut out = io::stdout().lock();
    match writeln!(out, "{text}").and_then(|_| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Err(Failure::StdoutClosed),
        other => other.map_err(write_failed),
    }
}

/// Writes `text` to stdout exactly as it is, adding nothing; a broken pipe stops the command quietly.
pub fn exact(text: &str) -> Result<(), Failure> {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Err(Failure::StdoutClosed),
        other => other.map_err(write_failed),
    }
}

/// One JSON value on one line.
pub fn json_line<T: Serialize>(value: &T) -> Result<(), Failure> {
    line(&serde_json::to_string(value).map_err(|e| Failure::Io(e.to_string()))?)
}

/// One JSON value, indented.
pub fn json_pretty<T: Serialize>(value: &T) -> Result<(), Failure> {
    line(&serde_json::to_string_pretty(value).map_err(|e| Failure::Io(e.to_string()))?)
}

/// Rows with a header: a table, CSV, or one JSON object per row keyed by the header.
pub struct Rows {
    header: Vec<String>,
    rows: Vec<Vec<serde_json::Value>>,
}

impl Rows {
    /// Rows with these column names.
    pub fn new(header: &[&str]) -> Self {
        Rows { header: header.iter().map(|h| h.to_string()).collect(), rows: Vec::new() }
    }

    /// Adds a row (`null` cells print empty in tables and CSV, and as `null` in JSON).
    pub fn push(&mut self, row: Vec<serde_json::Value>) {
        self.rows.push(row);
    }

    fn text_rows(&self) -> impl Iterator<Item = Vec<String>> + '_ {
        self.rows.iter().map(|row| row.iter().map(text).collect())
    }

    /// Writes them in `format` (`Json` writes one object per row, keyed by the header).
    pub fn print(&self, format: Output) -> Result<(), Failure> {
        match format {
            Output::Table => {
                let mut table = Table::new();
                table.load_style(UTF8_FULL_CONDENSED).set_header(&self.header);
                // For eyes on a terminal: a server's text must not drive it with escape sequences.
                for row in self.text_rows() {
                    table.add_row(row.iter().map(|cell| wecom_groupchat::sanitize_text(cell)));
                }
                line(&table.to_string())
            }
            Output::Csv => self.print_csv(true),
            Output::Json => {
                for row in &self.rows {
                    let object: serde_json::Map<String, serde_json::Value> =
                        self.header.iter().zip(row).map(|(k, v)| (k.clone(), v.clone())).collect();
                    json_line(&object)?;
                }
                Ok(())
            }
        }
    }
}

impl Rows {
    /// Writes them as CSV, with the header line or without it (rows added to a CSV already started).
    pub fn print_csv(&self, header: bool) -> Result<(), Failure> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        let csv_error = |e: csv::Error| Failure::Io(e.to_string());
        if header {
            writer.write_record(&self.header).map_err(csv_error)?;
        }
        for row in self.text_rows() {
            writer.write_record(row).map_err(csv_error)?;
        }
        let bytes = writer.into_inner().map_err(|e| Failure::Io(e.to_string()))?;
        let text = String::from_utf8_lossy(&bytes);
        line(text.trim_end())
    }
}

/// An enum value as two cells, its code and its name: CSV readers sort and filter on either.
pub fn code_and_name<E: WireEnum>(value: Option<E>) -> [serde_json::Value; 2] {
    [serde_json::json!(value.map(|v| v.value())), serde_json::json!(value.and_then(|v| v.name()))]
}

/// A cell as text: strings bare, `null` empty, anything else as JSON.
pub fn cell_text(value: &serde_json::Value) -> String {
    text(value)
}

fn text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}
