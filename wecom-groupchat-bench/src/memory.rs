//! (5) Memory: peak RSS of a client that goes through every chat with `list_stream` (one page held at
//! a time) versus one that collects them all. The client runs in a child process (this binary, hidden
//! subcommand `memory-child`), so its peak resident set is its own; the simulator stays in the parent.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use futures::TryStreamExt;
use serde::{Deserialize, Serialize};
use wecom_groupchat::Client;
use wecom_groupchat::ratelimit::RateLimits;
use wecom_groupchat::types::{GroupChatListItem, ListRequest};
use wecom_groupchat_sim::{DataSource, Scale, SimConfig};

use crate::host::SimHost;

/// Page size of the listing.
pub const PAGE: i64 = wecom_groupchat::types::ListRequest::LIMIT_MAX;

/// How the child goes through the chats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// `list_stream`, counting items as they come.
    Stream,
    /// `list_stream(…).try_collect::<Vec<_>>()`.
    Collect,
}

impl Mode {
    /// The name in the table.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Stream => "stream",
            Mode::Collect => "collect",
        }
    }
}

/// What a child reports (one JSON line on stdout).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChildReport {
    /// The mode it ran.
    pub mode: Mode,
    /// Chats seen.
    pub items: usize,
    /// Peak RSS (VmHWM) after the runtime, the client, the connection and the token were set up.
    pub baseline_kib: u64,
    /// Peak RSS (VmHWM) at the end, the collected chats (if any) still held.
    pub peak_kib: u64,
    /// Seconds the listing took.
    pub seconds: f64,
}

/// One row: a company size and a mode.
#[derive(Debug, Clone)]
pub struct MemoryRow {
    /// Chats in the company.
    pub groups: usize,
    /// The child's report.
    pub report: ChildReport,
}

/// Measures both modes for each company size; `exe` is this benchmark program (the child runs it).
pub fn run(exe: &Path, sim_threads: usize, sizes: &[usize]) -> Result<Vec<MemoryRow>, String> {
    let mut rows = Vec::new();
    for &groups in sizes {
        let host = SimHost::start(SimConfig::default().data(DataSource::Scale(Scale::groups(groups))), sim_threads)?;
        let sim = host.sim();
        for mode in [Mode::Stream, Mode::Collect] {
            let output = Command::new(exe)
                .args(["memory-child", "--base-url", &sim.base_url(), "--corp-id", sim.corp_id()])
                .args(["--mode", mode.as_str()])
                .env("WECOM_BENCH_CORP_SECRET", sim.corp_secret())
                .output()
                .map_err(|e| format!("cannot run the memory child: {e}"))?;
            if !output.status.success() {
                return Err(format!(
                    "memory child ({}, {groups}) failed: {}",
                    mode.as_str(),
                    String::from_utf8_lossy(&output.stderr).trim()
                ));
            }
            let report: ChildReport =
                serde_json::from_slice(&output.stdout).map_err(|e| format!("memory child: unreadable report: {e}"))?;
            if report.items != groups {
                return Err(format!("memory child saw {} chats of {groups}", report.items));
            }
            rows.push(MemoryRow { groups, report });
        }
    }
    Ok(rows)
}

/// The child: lists every chat of the simulator at `base_url` and prints a [`ChildReport`].
pub fn child(base_url: &str, corp_id: &str, secret: &str, mode: Mode) -> Result<ChildReport, String> {
    // One thread: the least runtime memory, and nothing else runs here.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    let client = Client::builder()
        .base_url(base_url)
        .corp_credentials(corp_id, secret)
        .rate_limits(RateLimits::off())
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        client.access_token().await.map_err(|e| e.to_string())?;
        let baseline_kib = peak_rss_kib()?;
        let started = Instant::now();
        let stream = client.list_stream(ListRequest::new(PAGE));
        let (items, peak_kib) = match mode {
            Mode::Stream => {
                let n = stream
                    .try_fold(0usize, |n, item| {
                        std::hint::black_box(&item);
                        std::future::ready(Ok(n + 1))
                    })
                    .await
                    .map_err(|e| e.to_string())?;
                (n, peak_rss_kib()?)
            }
            Mode::Collect => {
                let all: Vec<GroupChatListItem> = stream.try_collect().await.map_err(|e| e.to_string())?;
                (all.len(), peak_rss_kib()?)
            }
        };
        Ok(ChildReport { mode, items, baseline_kib, peak_kib, seconds: started.elapsed().as_secs_f64() })
    })
}

/// Peak resident set size of this process so far (`VmHWM` of `/proc/self/status`), in KiB.
pub fn peak_rss_kib() -> Result<u64, String> {
    let status =
        std::fs::read_to_string("/proc/self/status").map_err(|e| format!("cannot read /proc/self/status: {e}"))?;
    parse_vm_hwm(&status).ok_or_else(|| "no VmHWM in /proc/self/status".to_string())
}

fn parse_vm_hwm(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.trim_start_matches("VmHWM:").trim().trim_end_matches("kB").trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_vm_hwm() {
        let status = "Name:\tx\nVmPeak:\t  20000 kB\nVmHWM:\t    5120 kB\nVmRSS:\t 4000 kB\n";
        assert_eq!(parse_vm_hwm(status), Some(5120));
        assert_eq!(parse_vm_hwm("Name: x\n"), None);
        assert!(peak_rss_kib().unwrap() > 0);
    }
}
