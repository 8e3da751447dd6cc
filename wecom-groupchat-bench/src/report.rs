//! The report: one table with every figure and its target, then the details of each section, the
//! machine, the command and how things were measured. Printed, and written to `docs/benchmarks.md`.

use std::fmt::Write as _;

use crate::callback::{CallbackResult, PeerSide};
use crate::codec::CodecRow;
use crate::codegen_time::CodegenResult;
use crate::fleet::FleetResult;
use crate::host::Threads;
use crate::machine::Machine;
use crate::memory::{MemoryRow, Mode};
use crate::mirror::MirrorResult;
use crate::overhead::OverheadResult;
use crate::peer::{PeerOutcome, PeerResult};
use crate::stampede::StampedeResult;
use crate::stats::{Summary, fmt_duration, ratio};
use crate::sync::SyncResult;
use crate::throughput;

/// Target of (1): ours/floor latency at most this, held against both the median and the p99 ratio (the
/// issue asks for "median and p99 latency, and the ratio ours/floor. Target: ratio ≤ 1.05").
pub const OVERHEAD_TARGET: f64 = 1.05;
/// Target of (3): at least this share of the limit (one process, the budget spent exactly).
pub const SYNC_TARGET: f64 = 0.98;
/// Target of (10): at least this share of the limit combined, for one process sharing Redis…
pub const FLEET_TARGET_ONE: f64 = 0.98;
/// …and for 2, 4 and 8.
pub const FLEET_TARGET_MANY: f64 = 0.95;
/// Target of (11), the mirror's reconcile: at least this share of the limit (the issue's "≥ 95 % of the
/// limit").
pub const MIRROR_TARGET: f64 = 0.95;
/// (5) "flat": the streaming client's peak RSS at the largest size may exceed the one at the smallest
/// by at most this share (RSS moves by allocator and page granularity, not by item count).
pub const MEMORY_FLAT_TOLERANCE: f64 = 0.10;

/// Everything a run produced. Sections not run are `None`; failed ones are in `failures`.
#[derive(Debug, Default)]
pub struct Report {
    /// The machine.
    pub machine: Option<Machine>,
    /// The command that produced it.
    pub command: String,
    /// When (UTC).
    pub date: String,
    /// A smoke run.
    pub quick: bool,
    /// Runtime sizes.
    pub threads: Option<Threads>,
    /// Wall time of the whole run.
    pub total_seconds: f64,
    /// Load averages when the run ended.
    pub load_end: Option<String>,
    /// (1)
    pub overhead: Option<OverheadResult>,
    /// (2)
    pub throughput: Option<Vec<throughput::Row>>,
    /// (3)
    pub sync: Option<SyncResult>,
    /// (4)
    pub stampede: Option<StampedeResult>,
    /// (5)
    pub memory: Option<Vec<MemoryRow>>,
    /// (6)
    pub codec: Option<Vec<CodecRow>>,
    /// (7)
    pub peer: Option<PeerOutcome>,
    /// (8)
    pub codegen: Option<CodegenResult>,
    /// (9)
    pub callback: Option<CallbackResult>,
    /// (10)
    pub fleet: Option<FleetResult>,
    /// (11)
    pub mirror: Option<MirrorResult>,
    /// Sections that failed, with the reason.
    pub failures: Vec<(String, String)>,
    /// Why this is not a complete run (sections not run, skipped or failed); empty for a complete one.
    /// Such a report says so at the top and is not written over the published `docs/benchmarks.md`.
    pub incomplete: Vec<String>,
    /// Hand-written analysis appended at the end (profiles of missed targets), a template whose
    /// `{{key}}` placeholders are filled with this run's figures (see [`Report::figure`]).
    pub analysis: Option<String>,
}

/// A figure of the run for the analysis template.
#[derive(Debug, Clone, PartialEq)]
pub enum Figure {
    /// Its value, as text.
    Value(String),
    /// The section did not run.
    NotMeasured,
    /// No such key (a typo in the template).
    Unknown,
}

/// The `overhead.*` figures of [`Report::figure`].
const OVERHEAD_KEYS: [&str; 22] = [
    "twin_median",
    "twin_p99",
    "p99_verdict",
    "median",
    "p99",
    "median_met",
    "p99_met",
    "median_interval",
    "p99_interval",
    "median_gap",
    "p99_gap",
    "plain_median",
    "plain_p99",
    "plain_p99_gap",
    "copying_p99",
    "client_cpu_gap",
    "client_wait",
    "floor_wait",
    "client_runs",
    "floor_runs",
    "faults",
    "floor_faults",
];

/// The `callback.*` figures of [`Report::figure`].
const CALLBACK_KEYS: [&str; 8] =
    ["ratio", "ratio_met", "ours_median", "floor_median", "ours_rate", "floor_rate", "rate_met", "peer_ratio"];

/// What a `{{key}}` the template names but the report does not know renders as (tests look for it).
pub const UNKNOWN_FIGURE: &str = "unknown figure";

fn yes_no(met: bool) -> &'static str {
    if met { "**yes**" } else { "**no**" }
}

fn per_s(x: f64) -> String {
    if x >= 100.0 { format!("{}/s", group_digits(x.round() as u64)) } else { format!("{x:.1}/s") }
}

fn group_digits(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A payload size: bytes below 1 KB (`62 B`), else KB of 1,000 bytes (`74.7 KB`).
pub fn size(bytes: u64) -> String {
    if bytes < 1000 { format!("{bytes} B") } else { format!("{:.1} KB", bytes as f64 / 1000.0) }
}

fn met_word(met: bool) -> &'static str {
    if met { "met" } else { "not met" }
}

fn interval(i: Option<(f64, f64)>) -> String {
    i.map_or(String::new(), |(lo, hi)| format!(" (95 % interval {lo:.3}–{hi:.3})"))
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn med_p99(s: &Summary) -> String {
    format!("median {} · p99 {}", fmt_duration(s.median), fmt_duration(s.p99))
}

impl Report {
    /// Whether (5)'s streaming peak stayed flat; `None` without two sizes.
    pub fn memory_flat(&self) -> Option<bool> {
        let rows = self.memory.as_ref()?;
        let stream: Vec<&MemoryRow> = rows.iter().filter(|r| r.report.mode == Mode::Stream).collect();
        let (small, large) = (stream.iter().min_by_key(|r| r.groups)?, stream.iter().max_by_key(|r| r.groups)?);
        if small.groups == large.groups {
            return None;
        }
        Some(large.report.peak_kib as f64 <= small.report.peak_kib as f64 * (1.0 + MEMORY_FLAT_TOLERANCE))
    }

    /// The Markdown document.
    pub fn render(&self) -> String {
        let mut md = String::new();
        let w = &mut md;
        let _ = writeln!(w, "# Benchmarks\n");
        let _ = writeln!(
            w,
            "Generated by `wecom-groupchat-bench` on {} — do not edit by hand; rerun the command below.{}\n",
            self.date,
            if self.quick { " **Smoke run (`--quick`): the figures are not meaningful.**" } else { "" }
        );
        if !self.incomplete.is_empty() && !self.quick {
            let _ = writeln!(
                w,
                "> **Incomplete run — not the published benchmark.** {}. A complete `cargo xtask bench` replaces `docs/benchmarks.md`; this one does not.\n",
                self.incomplete.join("; ")
            );
        }
        if let Some(m) = &self.machine {
            let _ = writeln!(w, "- **Machine**: {}", m.line());
        }
        let _ = writeln!(w, "- **Command**: `{}`", self.command);
        if let Some(t) = self.threads {
            let _ = writeln!(
                w,
                "- **Runtimes**: simulator on its own tokio runtime ({} worker thread{}), clients on another ({}); release build; loopback",
                t.sim,
                if t.sim == 1 { "" } else { "s" },
                t.client
            );
        }
        let _ = writeln!(
            w,
            "- **Whole run**: {:.0} s{}\n",
            self.total_seconds,
            self.load_end.as_ref().map_or(String::new(), |l| format!("; load average at the end {l}"))
        );

        self.render_table(w);
        for (section, reason) in &self.failures {
            let _ = writeln!(w, "\n**{section} failed**: {reason}");
        }
        self.render_details(w);
        render_method(w);
        if let Some(analysis) = &self.analysis {
            let _ = writeln!(w, "\n{}", self.fill(analysis).trim_end());
        }
        md
    }

    /// The analysis template with every `{{key}}` replaced by [`Report::figure`].
    pub fn fill(&self, template: &str) -> String {
        let mut out = String::with_capacity(template.len());
        let mut rest = template;
        while let Some(start) = rest.find("{{") {
            let Some(len) = rest[start + 2..].find("}}") else { break };
            let key = rest[start + 2..start + 2 + len].trim();
            out.push_str(&rest[..start]);
            match self.figure(key) {
                Figure::Value(v) => out.push_str(&v),
                Figure::NotMeasured => out.push_str("(not measured in this run)"),
                Figure::Unknown => {
                    let _ = write!(out, "**{{{{{key}}}}}: {UNKNOWN_FIGURE}**");
                }
            }
            rest = &rest[start + 2 + len + 2..];
        }
        out.push_str(rest);
        out
    }

    /// One figure of this run, by name, for the hand-written analysis (so that its sentences quote
    /// the figures of the table above them, never those of an older run). Ratios are ours/floor
    /// (throughput: calls per second, so below 1 is slower) or wechatpy/ours (the peer).
    pub fn figure(&self, key: &str) -> Figure {
        use Figure::{NotMeasured, Unknown, Value};
        let parts: Vec<&str> = key.split('.').collect();
        match parts.as_slice() {
            ["overhead", what] => {
                if !OVERHEAD_KEYS.contains(what) {
                    return Unknown;
                }
                let Some(o) = &self.overhead else { return NotMeasured };
                let per_call = |i: usize| o.cpu_per_call.as_ref().map(|c| c[i]);
                let us_gap = |a: std::time::Duration, b: std::time::Duration| {
                    let d = a.as_secs_f64() * 1e6 - b.as_secs_f64() * 1e6;
                    format!("{}{:.1} µs", if d < 0.0 { "−" } else { "+" }, d.abs())
                };
                let v = match *what {
                    "median" => format!("{:.3}", o.ratio_median),
                    "p99" => format!("{:.3}", o.ratio_p99),
                    "median_met" => met_word(o.ratio_median <= OVERHEAD_TARGET).into(),
                    "p99_met" => met_word(o.ratio_p99 <= OVERHEAD_TARGET).into(),
                    "median_interval" => interval(o.ratio_median_interval).trim().into(),
                    "p99_interval" => interval(o.ratio_p99_interval).trim().into(),
                    "median_gap" => us_gap(o.ours.median, o.floor.median),
                    "p99_gap" => us_gap(o.ours.p99, o.floor.p99),
                    "plain_median" => format!("{:.3}", ratio(o.ours_plain.median, o.floor.median)),
                    "plain_p99" => format!("{:.3}", ratio(o.ours_plain.p99, o.floor.p99)),
                    "plain_p99_gap" => us_gap(o.ours_plain.p99, o.floor.p99),
                    "copying_p99" => format!("{:.3}", ratio(o.floor_copying.p99, o.floor.p99)),
                    "twin_median" => format!("{:.3}", ratio(o.floor_twin.median, o.floor.median)),
                    "twin_p99" => format!("{:.3}", ratio(o.floor_twin.p99, o.floor.p99)),
                    "p99_verdict" => p99_verdict(o),
                    "client_cpu_gap" | "client_wait" | "floor_wait" | "client_runs" | "floor_runs" | "faults"
                    | "floor_faults" => {
                        let (Some(ours), Some(floor)) = (per_call(0), per_call(2)) else { return NotMeasured };
                        match *what {
                            "client_cpu_gap" => us_gap(ours.client, floor.client),
                            "client_wait" => fmt_duration(ours.client_wait),
                            "floor_wait" => fmt_duration(floor.client_wait),
                            "client_runs" => format!("{:.2}", ours.client_runs),
                            "floor_runs" => format!("{:.2}", floor.client_runs),
                            "faults" => format!("{:.1}", ours.minor_faults),
                            _ => format!("{:.1}", floor.minor_faults),
                        }
                    }
                    _ => return Unknown,
                };
                Value(v)
            }
            ["throughput", endpoint @ ("get" | "list"), which] => {
                let cells = |rows: &[throughput::Row], pick: &dyn Fn(usize) -> bool| -> Vec<f64> {
                    rows.iter()
                        .filter(|r| r.endpoint == *endpoint && pick(r.concurrency))
                        .map(|r| r.ours / r.floor)
                        .collect()
                };
                let range = |xs: Vec<f64>| {
                    let lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
                    let hi = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    if xs.is_empty() {
                        None
                    } else if format!("{lo:.2}") == format!("{hi:.2}") {
                        Some(format!("{lo:.2}"))
                    } else {
                        Some(format!("{lo:.2}–{hi:.2}"))
                    }
                };
                let valid = matches!(*which, "saturated" | "all")
                    || which.parse::<usize>().is_ok_and(|n| throughput::CONCURRENCY.contains(&n));
                if !valid {
                    return Unknown;
                }
                let Some(rows) = &self.throughput else { return NotMeasured };
                let xs = match *which {
                    // Both cores busy: every concurrency above 1.
                    "saturated" => cells(rows, &|c| c > 1),
                    "all" => cells(rows, &|_| true),
                    n => {
                        let n: usize = n.parse().unwrap_or(0);
                        cells(rows, &|c| c == n)
                    }
                };
                range(xs).map_or(NotMeasured, Value)
            }
            ["sync", what @ ("share" | "rate_limited" | "surfaced")] => match &self.sync {
                None => NotMeasured,
                Some(s) => Value(match *what {
                    "share" => format!("{:.1} %", s.share_of_limit * 100.0),
                    "rate_limited" => s.rate_limited_answers.to_string(),
                    _ => s.errors.to_string(),
                }),
            },
            ["callback", what] => {
                if !CALLBACK_KEYS.contains(what) {
                    return Unknown;
                }
                let Some(c) = &self.callback else { return NotMeasured };
                Value(match *what {
                    "ratio" => format!("{:.2}", c.ratio_median),
                    "ratio_met" => met_word(c.ratio_met()).into(),
                    "ours_median" => fmt_duration(c.ours.summary.median),
                    "floor_median" => fmt_duration(c.floor.summary.median),
                    "ours_rate" => per_s(c.ours.per_s),
                    "floor_rate" => per_s(c.floor.per_s),
                    "rate_met" => met_word(c.rate_met()).into(),
                    _ => match &c.peer {
                        PeerSide::Ran(p) => format!("{:.1}", ratio(p.figures.summary.median, c.ours.summary.median)),
                        PeerSide::Skipped(_) => return NotMeasured,
                    },
                })
            }
            ["fleet", "share", n] => {
                let Some(f) = &self.fleet else { return NotMeasured };
                match f.rows.iter().find(|r| n.parse::<usize>() == Ok(r.processes)) {
                    Some(r) => Value(format!("{:.1} %", r.share * 100.0)),
                    None => Unknown,
                }
            }
            ["fleet", "rate_limited"] => match &self.fleet {
                None => NotMeasured,
                Some(f) => Value(f.rows.iter().map(|r| r.rate_limited_answers).sum::<u64>().to_string()),
            },
            ["fleet", "cost", what @ ("memory" | "redis" | "ping")] => match &self.fleet {
                None => NotMeasured,
                Some(f) => {
                    let name = match *what {
                        "memory" => "MemoryBudget",
                        "redis" => "RedisBudget",
                        _ => "Redis PING",
                    };
                    f.cost
                        .iter()
                        .find(|c| c.what == name)
                        .map_or(NotMeasured, |c| Value(fmt_duration(c.summary.median)))
                }
            },
            ["peer", what @ ("get" | "list")] => match &self.peer {
                Some(PeerOutcome::Ran(p)) => Value(match *what {
                    "get" => format!("{:.2}", ratio(p.theirs_get.median, p.ours_get.median)),
                    _ => format!("{:.2}", ratio(p.theirs_list.median, p.ours_list.median)),
                }),
                _ => NotMeasured,
            },
            _ => Unknown,
        }
    }

    fn render_table(&self, w: &mut String) {
        let _ = writeln!(w, "| # | benchmark | setup | result | target | met |");
        let _ = writeln!(w, "|---|---|---|---|---|---|");
        if let Some(o) = &self.overhead {
            let setup = format!(
                "`get` of a {}-member chat ({}), sequential, one kept-alive connection each, {} calls per side, interleaved",
                o.members,
                size(o.body_bytes as u64),
                group_digits(o.ours.n as u64),
            );
            for (stat, ours, floor, r, i) in [
                ("median", o.ours.median, o.floor.median, o.ratio_median, o.ratio_median_interval),
                ("p99", o.ours.p99, o.floor.p99, o.ratio_p99, o.ratio_p99_interval),
            ] {
                let _ = writeln!(
                    w,
                    "| 1 | client overhead, **{stat}** | {setup} | ours {stat} {}; floor {stat} {}; **ours/floor {r:.3}**{} | {stat} ratio ≤ {OVERHEAD_TARGET} | {} |",
                    fmt_duration(ours),
                    fmt_duration(floor),
                    interval(i),
                    yes_no(r <= OVERHEAD_TARGET)
                );
            }
        }
        if let Some(rows) = &self.throughput {
            for r in rows {
                let setup = match r.endpoint {
                    "get" => "`get`, 3-member chats",
                    _ => "`list`, pages of 1,000",
                };
                let _ = writeln!(
                    w,
                    "| 2 | throughput | {setup}, {} in flight | ours {} (floor {}, {:.2}×){} | — | — |",
                    r.concurrency,
                    per_s(r.ours),
                    per_s(r.floor),
                    r.ours / r.floor,
                    if r.errors > 0 { format!(", **{} errors**", r.errors) } else { String::new() }
                );
            }
        }
        if let Some(s) = &self.sync {
            let met = s.share_of_limit >= SYNC_TARGET && s.errors == 0 && s.fetched == s.listed;
            let _ = writeln!(
                w,
                "| 3 | full sync | {} chats: list every page and, overlapped with it, `get` each ({} in flight); server limit {} calls / {} s per endpoint, {} ms latency; the client's budget (in process) set to the same | wall {:.1} s; {} `get` = **{:.1} % of the limit**; {} answered by the server: {}; errors surfaced: {} | ≥ {:.0} %, 0 surfaced | {} |",
                group_digits(s.plan.groups as u64),
                s.plan.concurrency,
                group_digits(u64::from(s.plan.calls)),
                s.plan.window.as_secs_f64(),
                s.plan.latency.as_millis(),
                s.wall.as_secs_f64(),
                per_s(s.get_rate),
                s.share_of_limit * 100.0,
                wecom_groupchat::codes::API_FREQ_OUT_OF_LIMIT,
                s.rate_limited_answers,
                s.errors,
                SYNC_TARGET * 100.0,
                yes_no(met)
            );
        }
        if let Some(s) = &self.stampede {
            let _ = writeln!(
                w,
                "| 4 | cold stampede | {} concurrent `get`s from a fresh client (empty token cache), {} ms latency | **{} `gettoken`**; {} of {} calls succeeded in {} | 1 | {} |",
                group_digits(s.calls as u64),
                crate::stampede::LATENCY.as_millis(),
                s.gettoken_calls,
                group_digits(s.succeeded as u64),
                group_digits(s.calls as u64),
                fmt_duration(s.wall),
                yes_no(s.gettoken_calls == 1 && s.succeeded == s.calls)
            );
        }
        if let Some(rows) = &self.memory {
            let flat = self.memory_flat();
            for r in rows {
                let (target, met) = match r.report.mode {
                    Mode::Stream => ("flat as the count grows", flat.map_or("—", yes_no)),
                    Mode::Collect => ("—", "—"),
                };
                let _ = writeln!(
                    w,
                    "| 5 | memory | `list` of {} chats, {} (child process) | peak RSS **{}** (+{} over the idle client) | {target} | {met} |",
                    group_digits(r.groups as u64),
                    r.report.mode.as_str(),
                    mib(r.report.peak_kib),
                    mib(r.report.peak_kib.saturating_sub(r.report.baseline_kib)),
                );
            }
        }
        if let Some(rows) = &self.codec {
            for r in rows {
                let mb = |x: Option<f64>| x.map_or("—".to_string(), |v| format!("{v:.0} MB/s"));
                let _ = writeln!(
                    w,
                    "| 6 | codec | `{}` {} ({}, the largest) | decode {} · encode {} | — | — |",
                    r.endpoint,
                    r.side,
                    size(r.bytes),
                    mb(r.decode_mb_s),
                    mb(r.encode_mb_s)
                );
            }
        }
        match &self.peer {
            Some(PeerOutcome::Ran(p)) => render_peer_rows(w, p),
            Some(PeerOutcome::Skipped(reason)) => {
                let _ = writeln!(w, "| 7 | peer (wechatpy) | — | {reason} | — | — |");
            }
            None => {}
        }
        if let Some(c) = &self.codegen {
            let _ = writeln!(
                w,
                "| 8 | codegen | {} spec files → {} files, {} lines; in-process, median of {} | generate **{}**; generate + compare with the checked-in files (= `xtask codegen --check` without cargo) {} | — | — |",
                c.spec_files,
                c.files,
                group_digits(c.lines as u64),
                c.runs,
                fmt_duration(c.generate),
                fmt_duration(c.check)
            );
        }
        if let Some(c) = &self.callback {
            render_callback_rows(w, c);
        }
        if let Some(f) = &self.fleet {
            render_fleet_rows(w, f);
        }
        if let Some(m) = &self.mirror {
            render_mirror_rows(w, m);
        }
    }

    fn render_details(&self, w: &mut String) {
        if let Some(o) = &self.overhead {
            let _ = writeln!(w, "\n## 1. Client overhead\n");
            let _ = writeln!(
                w,
                "| caller | n | min | median | p99 | max | median vs floor | p99 vs floor | per call: client CPU | client waiting for a CPU | client threads run | simulator CPU | page faults |"
            );
            let _ = writeln!(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|");
            for (i, (name, s)) in [
                ("our client (`client.get`)", &o.ours),
                ("our client on `reqwest::Client::new()` (no timeouts)", &o.ours_plain),
                ("floor: reqwest + `GetResponse`", &o.floor),
                ("floor: reqwest + `serde_json::Value`", &o.floor_value),
                ("floor, body read as our client reads it (fresh buffer + copy)", &o.floor_copying),
                ("a second floor, the same as the first (two equal callers)", &o.floor_twin),
            ]
            .into_iter()
            .enumerate()
            {
                let per = |f: &dyn Fn(&crate::cputime::PerCall) -> String| {
                    o.cpu_per_call.as_ref().map_or("—".to_string(), |c| f(&c[i]))
                };
                let _ = writeln!(
                    w,
                    "| {name} | {} | {} | {} | {} | {} | {:.3} | {:.3} | {} | {} | {} | {} | {} |",
                    s.n,
                    fmt_duration(s.min),
                    fmt_duration(s.median),
                    fmt_duration(s.p99),
                    fmt_duration(s.max),
                    ratio(s.median, o.floor.median),
                    ratio(s.p99, o.floor.p99),
                    per(&|c| fmt_duration(c.client)),
                    per(&|c| fmt_duration(c.client_wait)),
                    per(&|c| format!("{:.2}×", c.client_runs)),
                    per(&|c| fmt_duration(c.sim)),
                    per(&|c| format!("{:.1}", c.minor_faults))
                );
            }
        }
        if let Some(rows) = &self.throughput {
            let _ = writeln!(w, "\n## 2. Throughput (calls/s)\n");
            let _ = writeln!(w, "| endpoint | in flight | ours | floor | ours/floor | errors |");
            let _ = writeln!(w, "|---|---|---|---|---|---|");
            for r in rows {
                let _ = writeln!(
                    w,
                    "| `{}` | {} | {} | {} | {:.2} | {} |",
                    r.endpoint,
                    r.concurrency,
                    per_s(r.ours),
                    per_s(r.floor),
                    r.ours / r.floor,
                    r.errors
                );
            }
        }
        if let Some(s) = &self.sync {
            let _ = writeln!(w, "\n## 3. Full sync\n");
            let _ = writeln!(w, "| figure | value |");
            let _ = writeln!(w, "|---|---|");
            let _ = writeln!(
                w,
                "| chats listed / fetched | {} / {} |",
                group_digits(s.listed as u64),
                group_digits(s.fetched as u64)
            );
            let _ = writeln!(w, "| wall time (list + every get) | {:.2} s |", s.wall.as_secs_f64());
            let _ = writeln!(w, "| of which listing | {} |", fmt_duration(s.list_wall));
            let _ = writeln!(
                w,
                "| limit per endpoint | {} calls / {} s = {} |",
                group_digits(u64::from(s.plan.calls)),
                s.plan.window.as_secs_f64(),
                per_s(s.plan.limit_per_s())
            );
            let _ = writeln!(
                w,
                "| achieved `get` rate (over the whole wall time) | {} = {:.1} % of the limit |",
                per_s(s.get_rate),
                s.share_of_limit * 100.0
            );
            let _ =
                writeln!(w, "| calls the server received (retries included, gettoken excluded) | {} |", s.server_calls);
            let limited = wecom_groupchat::codes::API_FREQ_OUT_OF_LIMIT;
            let _ = writeln!(w, "| {limited} answers by the server | {} |", s.rate_limited_answers);
            let _ = writeln!(
                w,
                "| errors surfaced to the caller (of which {limited}) | {} ({}) |",
                s.errors, s.rate_limited_errors
            );
            if let Some(e) = &s.first_error {
                let _ = writeln!(w, "| first error | {} |", e.replace('|', "\\|"));
            }
        }
        if let Some(rows) = &self.memory {
            let _ = writeln!(w, "\n## 5. Memory (client process only)\n");
            let _ = writeln!(w, "| chats | mode | idle client | peak RSS | growth | listing time |");
            let _ = writeln!(w, "|---|---|---|---|---|---|");
            for r in rows {
                let _ = writeln!(
                    w,
                    "| {} | {} | {} | {} | {} | {} |",
                    group_digits(r.groups as u64),
                    r.report.mode.as_str(),
                    mib(r.report.baseline_kib),
                    mib(r.report.peak_kib),
                    mib(r.report.peak_kib.saturating_sub(r.report.baseline_kib)),
                    fmt_duration(std::time::Duration::from_secs_f64(r.report.seconds))
                );
            }
        }
        if let Some(PeerOutcome::Ran(p)) = &self.peer {
            let _ = writeln!(w, "\n## 7. Peer: wechatpy {} (Python {})\n", p.wechatpy, p.python);
            let _ = writeln!(w, "| workload | ours | wechatpy | wechatpy/ours |");
            let _ = writeln!(w, "|---|---|---|---|");
            let _ = writeln!(
                w,
                "| `get` {}-member chat × {} (sequential) | {} | {} | {:.2}× (p99 {:.2}×) |",
                crate::peer::MEMBERS,
                group_digits(p.plan.get_calls as u64),
                med_p99(&p.ours_get),
                med_p99(&p.theirs_get),
                ratio(p.theirs_get.median, p.ours_get.median),
                ratio(p.theirs_get.p99, p.ours_get.p99)
            );
            let _ = writeln!(
                w,
                "| `list --all` of {} chats (pages of {}) × {} | {} | {} | {:.2}× |",
                group_digits(p.plan.groups as u64),
                group_digits(crate::peer::PAGE as u64),
                p.plan.list_rounds,
                med_p99(&p.ours_list),
                med_p99(&p.theirs_list),
                ratio(p.theirs_list.median, p.ours_list.median)
            );
            let _ = writeln!(
                w,
                "\nThe virtualenv (`target/bench/peer-venv`, created afresh) and `pip install -r {}` (wechatpy {} and the libraries on its request path pinned{}) took {:.1} s, outside every figure.",
                crate::venv::REQUIREMENTS,
                crate::venv::WECHATPY_VERSION,
                p.requests.as_ref().map_or(String::new(), |v| format!(": requests {v}")),
                p.install.as_secs_f64()
            );
        }
        if let Some(c) = &self.codegen {
            let _ = writeln!(w, "\n## 8. Codegen\n");
            let _ = writeln!(
                w,
                "`codegen::generate_from_dir` median {} over {} runs; with the comparison against `wecom-groupchat/src/generated/` {} (checked-in code {}).",
                fmt_duration(c.generate),
                c.runs,
                fmt_duration(c.check),
                if c.fresh { "up to date" } else { "**stale**" }
            );
        }
        if let Some(c) = &self.callback {
            render_callback_details(w, c);
        }
        if let Some(f) = &self.fleet {
            render_fleet_details(w, f);
        }
        if let Some(m) = &self.mirror {
            render_mirror_details(w, m);
        }
    }
}

/// The mirror's setup, for the table.
fn mirror_setup(m: &MirrorResult) -> String {
    let p = &m.plan;
    format!(
        "{} chats × {} members into an empty database: list, queue, `get` each ({} in flight), chat + members in one transaction per chat; server limit {} calls / {} s, {} ms latency; client limiter the same",
        group_digits(p.groups as u64),
        p.members,
        p.concurrency,
        group_digits(u64::from(p.calls)),
        p.window.as_secs_f64(),
        p.latency.as_millis()
    )
}

fn render_mirror_rows(w: &mut String, m: &MirrorResult) {
    let setup = mirror_setup(m);
    for r in &m.reconcile {
        let met = r.share >= MIRROR_TARGET && r.failed == 0 && r.fetched == r.listed;
        let _ = writeln!(
            w,
            "| 11 | mirror: reconcile into {} | {setup} | wall {:.1} s; {} `get` = **{:.1} % of the limit**; database time per chat **{}**; {} answered: {}; failed: {} | ≥ {:.0} % | {} |",
            r.backend,
            r.wall.as_secs_f64(),
            per_s(r.get_rate),
            r.share * 100.0,
            fmt_duration(r.store_per_chat),
            wecom_groupchat::codes::API_FREQ_OUT_OF_LIMIT,
            r.rate_limited,
            r.failed,
            MIRROR_TARGET * 100.0,
            yes_no(met)
        );
    }
    if let Some(reason) = &m.postgres_skipped {
        let _ = writeln!(w, "| 11 | mirror: reconcile into PostgreSQL | — | not measured: {reason} | — | — |");
    }
    for l in &m.latency {
        let cell = |s: &Option<Summary>| s.as_ref().map_or("—".to_string(), med_p99);
        let _ = writeln!(
            w,
            "| 11 | mirror: event → row latency, {} | {} events at {}/s pushed by the simulator (signed, over HTTP), each on a chat of its own: half joins (a `get` each, within the budget of {}), half departures (applied from the event) | all: **{}**; joins: {}; departures: {}{} | — | — |",
            l.backend,
            group_digits(l.events as u64),
            l.rate,
            per_s(m.plan.limit_per_s()),
            cell(&l.all),
            cell(&l.via_get),
            cell(&l.direct),
            if l.missing > 0 { format!("; **{} never reached the rows**", l.missing) } else { String::new() }
        );
    }
    for (s, l) in m.savings.iter().zip(&m.latency) {
        let _ = writeln!(
            w,
            "| 11 | mirror: `get` calls saved, {}, steady events | the {} events above: half departures that follow the stored `member_version` | {} events, **{} `get`s** (one per event: {}) — {} saved: {} events needed none (member versions) | — | — |",
            l.backend,
            group_digits(l.events as u64),
            l.events,
            l.gets,
            l.events,
            (l.events as u64).saturating_sub(l.gets),
            l.without_get
        );
        let naive = s.events;
        let _ = writeln!(
            w,
            "| 11 | mirror: `get` calls saved, {}, bursts | {} chats × 5 events in a burst (2 joins, a departure, a rename, a notice, back to back) | {} events, **{} `get`s** (one per event: {}) — {} saved: {} events needed none (member versions), {} joined another's `get` (coalescing); rows equal to the simulator's: {} | — | — |",
            s.backend,
            group_digits(m.plan.burst_chats as u64),
            naive,
            s.gets,
            naive,
            naive.saturating_sub(s.gets),
            s.without_get,
            (naive - s.without_get).saturating_sub(s.gets),
            if s.converged { "yes" } else { "**no**" }
        );
    }
}

fn render_mirror_details(w: &mut String, m: &MirrorResult) {
    let _ = writeln!(w, "\n## 11. Mirror (wecom-groupchat-sync)\n");
    let _ = writeln!(
        w,
        "| database | wall | listed / fetched | member rows | `get` rate | of the limit | {} answered | database time per chat (BEGIN → COMMIT) | with the wait for a connection | all store transactions / wall |",
        wecom_groupchat::codes::API_FREQ_OUT_OF_LIMIT
    );
    let _ = writeln!(w, "|---|---|---|---|---|---|---|---|---|---|");
    for r in &m.reconcile {
        let _ = writeln!(
            w,
            "| {} | {:.2} s | {} / {} | {} | {} | {:.1} % | {} | {} | {} | {:.1} % |",
            r.backend,
            r.wall.as_secs_f64(),
            group_digits(r.listed as u64),
            group_digits(r.fetched as u64),
            group_digits(r.members as u64),
            per_s(r.get_rate),
            r.share * 100.0,
            r.rate_limited,
            fmt_duration(r.store_per_chat),
            fmt_duration(r.store_with_wait),
            r.store_share * 100.0
        );
    }
    if let Some(source) = &m.postgres_source {
        let _ = writeln!(w, "\nPostgreSQL: {source}.");
    }
    let _ = writeln!(w, "\n| event → row latency | events | min | median | p99 | max |");
    let _ = writeln!(w, "|---|---|---|---|---|---|");
    for l in &m.latency {
        for (what, s) in
            [("all", &l.all), ("joins (via `get`)", &l.via_get), ("departures (from the event)", &l.direct)]
        {
            if let Some(s) = s {
                let _ = writeln!(
                    w,
                    "| {}, {what} | {} | {} | {} | {} | {} |",
                    l.backend,
                    s.n,
                    fmt_duration(s.min),
                    fmt_duration(s.median),
                    fmt_duration(s.p99),
                    fmt_duration(s.max)
                );
            }
        }
    }
}

/// Whether this run tells the p99 gap from noise: the ratio against the target, its bootstrap interval,
/// and how far two identical floors differ at the p99.
fn p99_verdict(o: &OverheadResult) -> String {
    let r = o.ratio_p99;
    let twin = ratio(o.floor_twin.p99, o.floor.p99);
    let twin_note = format!("two identical floors differ by {twin:.3} at the p99 in the same run");
    match o.ratio_p99_interval {
        _ if r <= OVERHEAD_TARGET => format!(
            "the p99 ratio, {r:.3}, is within the target in this run{}; {twin_note}",
            interval(o.ratio_p99_interval)
        ),
        Some((lo, hi)) if lo <= OVERHEAD_TARGET => format!(
            "the p99 ratio, {r:.3}, is over the target, but its 95 % interval ({lo:.3}–{hi:.3}) holds {OVERHEAD_TARGET}, \
             and {twin_note}: this run does not tell the excess from noise, and the row says \"no\" as measured"
        ),
        Some((lo, hi)) => format!(
            "the p99 ratio, {r:.3}, is over the target and its whole 95 % interval ({lo:.3}–{hi:.3}) lies above \
             {OVERHEAD_TARGET} ({twin_note}): a tail cost of our client this run measures beyond doubt"
        ),
        None => format!("the p99 ratio, {r:.3}, is over the target; {twin_note}"),
    }
}

fn render_peer_rows(w: &mut String, p: &PeerResult) {
    let _ = writeln!(
        w,
        "| 7 | peer: wechatpy {} | `get` of a {}-member chat × {}, sequential, same simulator | ours {}; wechatpy {}; **wechatpy/ours {:.2}×** | — | — |",
        p.wechatpy,
        crate::peer::MEMBERS,
        group_digits(p.plan.get_calls as u64),
        med_p99(&p.ours_get),
        med_p99(&p.theirs_get),
        ratio(p.theirs_get.median, p.ours_get.median)
    );
    let _ = writeln!(
        w,
        "| 7 | peer: wechatpy {} | `list --all`: {} chats, pages of {}, × {} | ours median {}; wechatpy median {}; **wechatpy/ours {:.2}×** | — | — |",
        p.wechatpy,
        group_digits(p.plan.groups as u64),
        group_digits(crate::peer::PAGE as u64),
        p.plan.list_rounds,
        fmt_duration(p.ours_list.median),
        fmt_duration(p.theirs_list.median),
        ratio(p.theirs_list.median, p.ours_list.median)
    );
}

/// What the callback section measures, for its rows.
fn callback_setup(c: &CallbackResult) -> String {
    format!(
        "`change_external_chat` add_member, {} members (message {}, POST body {}), {} pre-sealed messages, one thread: envelope, signature, base64, AES-256-CBC, padding/length/receive-id checks, XML, struct; {} events per side, interleaved",
        crate::callback::MEMBERS,
        size(c.xml_bytes as u64),
        size(c.body_bytes as u64),
        c.plan.messages,
        group_digits((c.plan.rounds * c.plan.batch) as u64)
    )
}

fn render_callback_rows(w: &mut String, c: &CallbackResult) {
    use crate::callback::{RATE_TARGET, RATIO_TARGET};
    let setup = callback_setup(c);
    let _ = writeln!(
        w,
        "| 9 | callback decoding, **time per event** | {setup} | ours median {}; floor median {}; **ours/floor {:.2}**{} | ≤ {RATIO_TARGET}× the floor | {} |",
        fmt_duration(c.ours.summary.median),
        fmt_duration(c.floor.summary.median),
        c.ratio_median,
        interval(c.ratio_median_interval),
        yes_no(c.ratio_met())
    );
    let _ = writeln!(
        w,
        "| 9 | callback decoding, **events/s** | {setup} | ours **{}** ({} of CPU per event; wall-clock mean {}); floor {} ({}; {}) | ≥ {} on one core | {} |",
        per_s(c.ours.per_s),
        fmt_duration(c.ours.cpu),
        fmt_duration(c.ours.mean),
        per_s(c.floor.per_s),
        fmt_duration(c.floor.cpu),
        fmt_duration(c.floor.mean),
        per_s(RATE_TARGET),
        yes_no(c.rate_met())
    );
    match &c.peer {
        PeerSide::Ran(p) => {
            let _ = writeln!(
                w,
                "| 9 | callback peer: wechatpy {} | the same messages, `WeChatCrypto.decrypt_message` + `parse_message`, {} events | wechatpy median {} · p99 {}, {}; **wechatpy/ours {:.1}×** | — | — |",
                p.wechatpy,
                group_digits(p.figures.summary.n as u64),
                fmt_duration(p.figures.summary.median),
                fmt_duration(p.figures.summary.p99),
                per_s(p.figures.per_s),
                ratio(p.figures.summary.median, c.ours.summary.median)
            );
        }
        PeerSide::Skipped(reason) => {
            let _ = writeln!(w, "| 9 | callback peer (wechatpy) | — | {reason} | — | — |");
        }
    }
}

fn render_callback_details(w: &mut String, c: &CallbackResult) {
    let _ = writeln!(w, "\n## 9. Callback decoding (one thread)\n");
    let _ = writeln!(w, "{}.\n", callback_setup(c));
    let _ = writeln!(
        w,
        "| side | n | min | median | p99 | max | wall-clock mean | CPU per event | events/s (CPU) | median vs floor |"
    );
    let _ = writeln!(w, "|---|---|---|---|---|---|---|---|---|---|");
    let peer = match &c.peer {
        PeerSide::Ran(p) => Some(p),
        PeerSide::Skipped(_) => None,
    };
    let mut sides = vec![
        ("floor: `quick-xml` pull reader, `sha1`, `base64`, `aes` + `cbc`, straight into the struct", &c.floor),
        ("ours: `CallbackCrypto::decrypt_post`, `xml::parse`, decode from the `Element`", &c.ours),
    ];
    if let Some(p) = peer {
        sides.push(("wechatpy: `decrypt_message` + `parse_message` (xmltodict)", &p.figures));
    }
    for (name, f) in sides {
        let s = &f.summary;
        let _ = writeln!(
            w,
            "| {name} | {} | {} | {} | {} | {} | {} | {} | {} | {:.2} |",
            group_digits(s.n as u64),
            fmt_duration(s.min),
            fmt_duration(s.median),
            fmt_duration(s.p99),
            fmt_duration(s.max),
            fmt_duration(f.mean),
            fmt_duration(f.cpu),
            per_s(f.per_s),
            ratio(s.median, c.floor.summary.median)
        );
    }
    let _ = writeln!(
        w,
        "\nWhere the time goes: each step alone on prepared inputs, median time per call over {} calls (timed {} at a time).\n",
        group_digits(c.plan.step_calls as u64),
        crate::callback::STEP_BATCH
    );
    let _ = writeln!(w, "| step | floor | ours | ours − floor |");
    let _ = writeln!(w, "|---|---|---|---|");
    let show = |d: Option<std::time::Duration>| d.map_or("—".to_string(), fmt_duration);
    let (mut floor_sum, mut ours_sum) = (std::time::Duration::ZERO, std::time::Duration::ZERO);
    for step in &c.steps {
        floor_sum += step.floor.unwrap_or_default();
        ours_sum += step.ours.unwrap_or_default();
        let gap = match (step.floor, step.ours) {
            (Some(f), Some(o)) => signed_gap(o, f),
            _ => "—".to_string(),
        };
        let _ = writeln!(w, "| {} | {} | {} | {gap} |", step.name, show(step.floor), show(step.ours));
    }
    let _ = writeln!(
        w,
        "| **sum of the steps** | {} | {} | {} |",
        fmt_duration(floor_sum),
        fmt_duration(ours_sum),
        signed_gap(ours_sum, floor_sum)
    );
    let fields = c
        .expected
        .first()
        .map_or(0, |e| serde_json::to_value(e).ok().and_then(|v| v.as_object().map(|o| o.len())).unwrap_or(0));
    let _ = writeln!(
        w,
        "\nBefore any timing, every side decoded each of the {} messages into the same {} fields as the event sealed in it{}.",
        c.expected.len(),
        fields,
        if peer.is_some() { " (wechatpy's dicts converted to the same shape outside the timing)" } else { "" }
    );
    match &c.peer {
        PeerSide::Ran(p) => {
            let _ = writeln!(
                w,
                "wechatpy {} on Python {} (cryptography {}, xmltodict {}), in the virtualenv of `{}`{}.",
                p.wechatpy,
                p.python,
                p.cryptography,
                p.xmltodict,
                crate::venv::REQUIREMENTS,
                if p.reused {
                    " made by an earlier section of this run".to_string()
                } else {
                    format!(", made afresh in {:.1} s, outside every figure", p.install.as_secs_f64())
                }
            );
        }
        PeerSide::Skipped(reason) => {
            let _ = writeln!(w, "wechatpy: {reason}.");
        }
    }
}

/// `+1.2 µs` / `−0.3 µs`.
fn signed_gap(a: std::time::Duration, b: std::time::Duration) -> String {
    let d = a.as_secs_f64() - b.as_secs_f64();
    let sign = if d < 0.0 { "−" } else { "+" };
    format!("{sign}{}", fmt_duration(std::time::Duration::from_secs_f64(d.abs())))
}

fn render_fleet_rows(w: &mut String, f: &FleetResult) {
    let p = &f.plan;
    for r in &f.rows {
        let target = if r.processes == 1 { FLEET_TARGET_ONE } else { FLEET_TARGET_MANY };
        let met = r.share >= target && r.rate_limited_answers == 0 && r.errors == 0 && r.fetched == p.groups;
        let _ = writeln!(
            w,
            "| 10 | fleet, **{} process{}** | one budget on Redis; {} chats, each process lists every page and fetches its part ({} in flight each); server limit {} calls / {} s per endpoint, {} ms latency | wall {:.1} s; combined {} `get` = **{:.1} % of the limit**; {} answered by the server: {}; errors: {} | ≥ {:.0} %, 0 × {} | {} |",
            r.processes,
            if r.processes == 1 { "" } else { "es" },
            group_digits(p.groups as u64),
            p.concurrency,
            group_digits(u64::from(p.calls)),
            p.window.as_secs_f64(),
            p.latency.as_millis(),
            r.wall.as_secs_f64(),
            per_s(r.rate),
            r.share * 100.0,
            wecom_groupchat::codes::API_FREQ_OUT_OF_LIMIT,
            r.rate_limited_answers,
            r.errors,
            target * 100.0,
            wecom_groupchat::codes::API_FREQ_OUT_OF_LIMIT,
            yes_no(met)
        );
    }
    let cost = |name: &str| {
        f.cost.iter().find(|c| c.what == name).map_or("—".to_string(), |c| {
            format!("median {}, p99 {}", fmt_duration(c.summary.median), fmt_duration(c.summary.p99))
        })
    };
    let _ = writeln!(
        w,
        "| 10 | budget, per call | `acquire` of a budget that never makes the caller wait, sequential, {} calls | in process: {}; **on Redis: {}** (one round trip; a bare `PING`: {}) | — | — |",
        group_digits(p.cost_calls as u64),
        cost("MemoryBudget"),
        cost("RedisBudget"),
        cost("Redis PING")
    );
}

fn render_fleet_details(w: &mut String, f: &FleetResult) {
    let p = &f.plan;
    let limited = wecom_groupchat::codes::API_FREQ_OUT_OF_LIMIT;
    let _ = writeln!(w, "\n## 10. Fleet: one budget on Redis\n");
    let _ = writeln!(
        w,
        "{} chats; limit {} calls / {} s = {} per endpoint (server and budget), the spec's hourly limit out of reach; {} ms latency; budget margin {} (the default 500 ms per minute, scaled with the window); Redis {}.\n",
        group_digits(p.groups as u64),
        group_digits(u64::from(p.calls)),
        p.window.as_secs_f64(),
        per_s(p.limit_per_s()),
        p.latency.as_millis(),
        fmt_duration(f.margin),
        f.redis_version
    );
    let _ = writeln!(
        w,
        "| processes | wall | chats fetched | `get` calls received | combined rate | share of the limit | {limited} answers | errors | fallback slots | late slots given up |"
    );
    let _ = writeln!(w, "|---|---|---|---|---|---|---|---|---|---|");
    for r in &f.rows {
        let _ = writeln!(
            w,
            "| {} | {:.2} s | {} | {} | {} | {:.1} % | {} | {} | {} | {} |",
            r.processes,
            r.wall.as_secs_f64(),
            group_digits(r.fetched as u64),
            group_digits(r.get_calls),
            per_s(r.rate),
            r.share * 100.0,
            r.rate_limited_answers,
            r.errors,
            r.fallback,
            r.late
        );
    }
    for r in f.rows.iter().filter(|r| r.first_error.is_some()) {
        let _ = writeln!(
            w,
            "\nFirst error with {} processes: {}",
            r.processes,
            r.first_error.as_deref().unwrap_or_default().replace('|', "\\|")
        );
    }
    let _ = writeln!(w, "\n| budget | calls | min | median | p99 | max |");
    let _ = writeln!(w, "|---|---|---|---|---|---|");
    for c in &f.cost {
        let s = &c.summary;
        let _ = writeln!(
            w,
            "| {} | {} | {} | {} | {} | {} |",
            c.what,
            group_digits(s.n as u64),
            fmt_duration(s.min),
            fmt_duration(s.median),
            fmt_duration(s.p99),
            fmt_duration(s.max)
        );
    }
}

fn render_method(w: &mut String) {
    let _ = writeln!(w, "\n## How it is measured\n");
    // The method names the rate-limit errcode by its number, read from the spec.
    let limited = wecom_groupchat::codes::API_FREQ_OUT_OF_LIMIT.to_string();
    let _ = writeln!(w, "{}", METHOD.trim().replace("{limited}", &limited));
}

const METHOD: &str = r#"
Everything runs in one release build of `wecom-groupchat-bench` against `wecom-groupchat-sim` started
in-process on loopback (`DataSource::Scale`: members are generated on demand). No tracing subscriber is
installed, so the client's spans cost only their disabled-callsite check. Latencies are nearest-rank
percentiles of every call (no interpolation, no outlier removal).

1. **Overhead.** Our side is `client.get(&GetRequest::new(id))` from a client built with the simulator's
   corp credentials (one `gettoken`, then the cached token), `RateLimits::off()` and every other setting
   at its default (retry policy of 3 — no call needed one —, 30 s timeout, 4 MiB body cap). The floor is
   a hand-written `reqwest` call with a fixed token: URL parsed once, the same pre-encoded body
   (`{"chat_id":"…"}`), the answer read with `bytes()` and decoded into the **generated `GetResponse`**,
   because our client must decode into that type too: like with like, so the ratio is the runtime's cost
   (validation, encoding, limiter, token cache, retry loop, span, capped body read, envelope check),
   not the codec's. A second floor decoding into `serde_json::Value` shows the typed decoding's own cost.
   Three more reference callers: our client on a plain `reqwest::Client::new()` (what the default timeouts
   cost), the floor reading the body as our client does (what that copy costs), and a second floor
   identical to the first (how far two equal callers differ: the noise of the comparison itself). Each caller has its
   own connection pool, so each keeps one connection alive. After a warm-up, 200 rounds of one batch of 10
   calls per caller run with the order rotating from round to round, so drift hits all alike. CPU time,
   time spent runnable but waiting for a CPU, and the number of times the threads were put on a CPU (about
   one per wake-up), per call, come from `/proc/self/task/*/schedstat` (the simulator's threads apart from
   the rest), page faults from `/proc/self/stat`. The issue asks for "median and p99 latency, and the
   ratio ours/floor. Target: ratio ≤ 1.05"; the table holds **both** ratios to that target, one row each.
   The 95 % intervals are percentile-bootstrap intervals (1,000 resamples of each caller's calls): how
   much the ratio moves from resampling alone. A p99 of 2,000 calls is the 20th slowest call, so its
   interval is much wider than the median's.
2. **Throughput.** N workers call back to back for a fixed time; completed calls / elapsed. `get` cycles
   through 1,000 different 3-member chats; `list` asks for the first page of 1,000. Ours and the floor
   run at the same concurrency in alternating 0.5 s slices (3 s each in all), after a warm-up. On a 2-core machine the simulator and the clients share the
   cores, so these are figures of the pair, not of the client alone.
3. **Full sync.** The simulator answers {limited} beyond N calls per fixed window per endpoint (the window
   starts at the first call after the previous one ended) and adds latency to every call: 4,000 calls per
   12 s is a minute compressed 5× in time, at the 333 calls a second this benchmark ran at before (2,000
   per 6 s until the rate budget: compressing time 10× shrinks the budget's margin 10× too, to 50 ms, less
   than a loaded 2-core machine may stall a process). The client's
   `RateLimits::uniform([Window::new(N, period)])` is set to the same, its budget a `MemoryBudget` whose
   margin is the default (500 ms for a minute) scaled with the window (100 ms for 12 s). The token is fetched
   before the clock starts. A task of its own lists every page (`list_stream`) into a channel, so the
   listing runs ahead of the fetching, which uses `buffer_unordered`. The achieved rate is `get` calls over
   the **whole** wall time, listing included.
4. **Stampede.** A scout client finds the chat ids, the counters are reset, then a fresh client (empty
   token cache) spawns every call at once; the simulator counts `gettoken` calls.
5. **Memory.** The client runs in a child process (`wecom-groupchat-bench memory-child`, one-thread
   runtime) so that its peak RSS (`VmHWM`) is its own; the simulator stays in the parent. "Idle client" is
   the peak after the runtime, the client, the connection and the token are set up; "peak" is at the end,
   with collected chats still held.
6. **Codec.** `cargo bench -p wecom-groupchat --bench codec` (criterion), each endpoint's largest
   documented payload, median time per iteration; MB = 10^6 bytes.
7. **Peer.** wechatpy from PyPI in a fresh virtualenv under `target/bench/`, at the versions pinned in
   `wecom-groupchat-bench/peer/requirements.txt` (wechatpy and the libraries on its request path), its WeCom client
   (`wechatpy.enterprise.WeChatClient`) pointed at the simulator through its `API_BASE_URL` (and the token
   URL on the same base), calling its own `external_contact_group_chat.get` and `.list_all(limit=1000)`
   over its `requests.Session` (one kept-alive connection). Our side is `client.get` and
   `client.list_stream(…).try_collect()` on the same simulator, measured just before. Both decode the whole
   answer (wechatpy into dicts). Skipped with a message when the virtualenv or `pip install` fails.
8. **Codegen.** In-process, so neither cargo nor the process start is counted: `codegen::generate_from_dir`
   (read and check the YAML, emit, format with prettyplease), and the same plus `codegen::sync::compare`.
9. **Callback decoding.** No network and no simulator: the POST of one `change_external_chat` add_member
   event with 10 `<Item>` members (self-built-app form, strings in CDATA as real payloads have them), sealed
   with a fixed Token, EncodingAESKey and corp id by `CallbackCrypto::encrypt` (a few messages, each with
   its own chat, members, timestamp and nonce, cycled through). Per event: the envelope parsed for
   `Encrypt`, `msg_signature` verified (SHA-1 over the sorted token, timestamp, nonce and `Encrypt`),
   base64, AES-256-CBC, PKCS#7 (32) padding, `msg_len` and the receive id checked, the XML parsed and
   decoded into a struct of the event's 14 fields (numbers as integers, members as a list). The floor
   (`wecom-groupchat-bench/src/callback_floor.rs`) does that the plainest way: `quick-xml`'s pull reader
   for both documents, the base64 decoded into one buffer kept across events and decrypted in place,
   straight into the struct, with no check beyond what correctness needs. Ours is the library:
   `CallbackCrypto::decrypt_post` (constant-time signature check, the layout checks, a strict XML reader
   with no DTD and bounded depth and size), `xml::parse` of the message, and a decode from its `Element`
   tree. Each event is timed on its own on the calling thread, the event dropped inside the timing; after
   a warm-up, rounds of one batch per side alternate their order; the 95 % interval is a bootstrap of the
   median ratio as in (1). Events/s is events over the thread's CPU time across the measured batches
   (`CLOCK_THREAD_CPUTIME_ID`; in Python `time.thread_time_ns`): what one core does while it has the
   core — the wall-clock mean, which also holds the time the thread was preempted by other processes, is
   in the table beside it. wechatpy runs in its own process
   on the same messages (`peer/wechatpy_callback.py`): `wechatpy.enterprise.crypto.WeChatCrypto(token,
   key, corp_id).decrypt_message(body, msg_signature, timestamp, nonce)` and `parse_message` on its result
   (xmltodict into a dict, as an application on wechatpy does), each event timed with
   `time.perf_counter_ns`; it checks the signature and the corp id, but neither the padding nor
   `msg_len`. The targets (issue): ours at most 1.2× the floor's time per event, and at least 80,000
   events/s on one core.
10. **Fleet.** A `redis-server` of the benchmark's own on loopback; per fleet size N a fresh simulator as in
    (3) and N child processes (`wecom-groupchat-bench fleet-child`, each with its own multi-threaded
    runtime) sharing one `RedisBudget` (share 1.0, the scaled margin, `expected_instances` N) and one
    `RedisTokenStore`, with the budget's windows the scaled one and the spec's hourly limit. Each child
    gets a token, says it is ready, and waits; then all are released at once, each lists every page (as in
    (3)) and fetches the chats whose position in the listing is its index modulo N. The wall time runs from
    the release to the last child done; the combined rate is every child's `get`s over it. A child does not
    send a `get` again after a {limited}: each one answered is an error of the row. "Late slots given up"
    counts callers that woke more than half the margin after their slot (their process did not run in
    time) and took a new slot rather than crowd the next ones. The per-call cost is `acquire` on a budget
    of 2³²−1 calls a second (a 1 µs pace: a sequential caller faster than that waits for the next
    millisecond tick, which is the in-process p99) after a warm-up of a tenth as many calls, beside Redis
    `PING`s on one multiplexed connection.
11. **Mirror** (`wecom-groupchat-sync`; section 3 is the client's export, this is the mirror). The simulator
   serves a generated company with a fixed-window limit of 2,000 calls per 6 s per endpoint — the
   documented 10,000 calls a minute (`rate_limit.per_minute` in `api-spec/api.yaml`) scaled to the run,
   count ÷ 5 and time ÷ 10, so that 10,000 chats take about 30 s — and 20 ms latency; the client's limiter
   is set to the same window. `Mirror::reconcile` runs into an empty database: SQLite (a file under the
   system's temporary directory, WAL, `synchronous = NORMAL`, one connection) and PostgreSQL 15 (a
   throwaway cluster with the default durability, `.ci/postgres start --durable`, or
   `WECOM_BENCH_POSTGRES_URL`). The share of the limit is `get` calls over the **whole** wall time — listing,
   queueing, every store. The database time per chat is the mean duration of a chat's store transaction
   (upsert of the chat, diff and upsert of its members, queue row removed), BEGIN to COMMIT; the next
   column adds the wait for a connection (SQLite's one connection serializes the stores of the fetches in
   flight). Then the simulator pushes `change_external_chat` events to the mirror's
   receiver (axum, on loopback; each sealed with WXBizMsgCrypt) while a worker (`Mirror::work`) serves the
   queue: events at a steady rate, each on a chat of its own, half joins (a `get`) and half departures
   (applied from `MemChangeList` because `LastMemVer` is the stored version); the latency runs from the
   control call that makes the change in the simulator to the mirror's change notification for that chat
   (sent after the commit). Last, bursts of five events per chat (two joins, a departure, a rename, a
   notice, sent back to back): the `get` calls the mirror made, against one `get` per event.
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn summary(us: u64) -> Summary {
        let d = Duration::from_micros(us);
        Summary { n: 10, min: d, median: d, p99: d, max: d }
    }

    fn overhead(ours_p99: u64) -> OverheadResult {
        OverheadResult {
            members: 500,
            body_bytes: 40_000,
            ours: Summary { p99: Duration::from_micros(ours_p99), ..summary(420) },
            ours_plain: summary(415),
            floor: summary(410),
            floor_value: summary(380),
            floor_copying: summary(418),
            floor_twin: summary(411),
            ratio_median: 420.0 / 410.0,
            ratio_p99: ours_p99 as f64 / 410.0,
            ratio_median_interval: Some((1.01, 1.03)),
            ratio_p99_interval: None,
            cpu_per_call: None,
        }
    }

    #[test]
    fn renders_a_table_with_targets() {
        let report = Report {
            command: "cargo xtask bench".into(),
            date: "2026-11-27 10:00 UTC".into(),
            overhead: Some(overhead(440)),
            peer: Some(PeerOutcome::Skipped("peer skipped: `pip install wechatpy` failed".into())),
            ..Report::default()
        };
        let md = report.render();
        // One row per statistic, each held to the target.
        assert!(md.contains("| 1 | client overhead, **median** |"), "{md}");
        assert!(
            md.contains("**ours/floor 1.024** (95 % interval 1.010–1.030) | median ratio ≤ 1.05 | **yes** |"),
            "{md}"
        );
        assert!(md.contains("| 1 | client overhead, **p99** |"), "{md}");
        assert!(md.contains("**ours/floor 1.073** | p99 ratio ≤ 1.05 | **no** |"), "{md}");
        assert!(md.contains("(40.0 KB)"), "{md}");
        assert!(md.contains("peer skipped: `pip install wechatpy` failed"), "{md}");
        assert!(md.contains("`cargo xtask bench`"), "{md}");
        assert!(!md.contains("Incomplete run"), "{md}");
    }

    #[test]
    fn an_incomplete_run_says_so() {
        let report = Report { incomplete: vec!["peer not run (`--no-peer`)".into()], ..Report::default() };
        let md = report.render();
        assert!(md.contains("> **Incomplete run — not the published benchmark.** peer not run (`--no-peer`)."), "{md}");
    }

    #[test]
    fn the_analysis_quotes_this_runs_figures() {
        let report = Report {
            overhead: Some(overhead(440)),
            throughput: Some(
                [(1, 100.0), (8, 91.0), (64, 94.0), (256, 93.0)]
                    .map(|(concurrency, ours)| throughput::Row {
                        endpoint: "get",
                        concurrency,
                        ours,
                        floor: 100.0,
                        errors: 0,
                    })
                    .to_vec(),
            ),
            ..Report::default()
        };
        let filled = report.fill(
            "median {{overhead.median}} ({{ overhead.median_met }}), p99 {{overhead.p99}} ({{overhead.p99_met}}) \
             {{overhead.p99_gap}}; get {{throughput.get.1}} then {{throughput.get.saturated}}; \
             list {{throughput.list.8}}; {{sync.share}}; {{overhead.nonsense}}",
        );
        assert_eq!(
            filled,
            "median 1.024 (met), p99 1.073 (not met) +30.0 µs; get 1.00 then 0.91–0.94; \
             list (not measured in this run); (not measured in this run); **{{overhead.nonsense}}: unknown figure**"
        );
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(group_digits(1_234_567), "1,234,567");
        assert_eq!(group_digits(999), "999");
        assert_eq!(per_s(12_345.4), "12,345/s");
        assert_eq!(per_s(33.33), "33.3/s");
        assert_eq!(size(0), "0 B");
        assert_eq!(size(62), "62 B");
        assert_eq!(size(999), "999 B");
        assert_eq!(size(74_712), "74.7 KB");
    }
}
