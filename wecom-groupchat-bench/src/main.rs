//! `wecom-groupchat-bench`: runs the benchmarks and writes the report (see `cargo xtask bench`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand, ValueEnum};
use wecom_groupchat_bench::host::{self, Threads};
use wecom_groupchat_bench::machine::Machine;
use wecom_groupchat_bench::memory::{self, Mode};
use wecom_groupchat_bench::report::Report;
use wecom_groupchat_bench::{
    callback, codec, codegen_time, fleet, mirror, overhead, peer, stampede, sync, throughput, venv,
};

/// Benchmarks of wecom-groupchat against its simulator on loopback. Prints one table and writes it,
/// with the machine and the command, to docs/benchmarks.md (a complete run: every section ran, none
/// skipped or failed) or target/bench/benchmarks.md (`--quick`, `--only`, `--no-peer`, a peer skipped
/// because PyPI is unreachable, a failed section), unless `--out` says where.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Hidden>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// Few iterations: a smoke run of every section (figures not meaningful).
    #[arg(long)]
    quick: bool,
    /// Run only these sections (repeat or separate with commas).
    #[arg(long, value_enum, value_delimiter = ',')]
    only: Vec<Section>,
    /// Skip the peer (wechatpy): the peer section and the wechatpy side of the callback section; the
    /// report then goes to target/bench/benchmarks.md.
    #[arg(long)]
    no_peer: bool,
    /// Where to write the report (default: see above). An incomplete run written to
    /// docs/benchmarks.md this way still says at its top that it is incomplete.
    #[arg(long)]
    out: Option<PathBuf>,
    /// The workspace root (api-spec/, target/, docs/).
    #[arg(long, default_value_os_t = default_root())]
    root: PathBuf,
    /// The results of the criterion run made for this run (`cargo xtask bench` runs `cargo bench -p
    /// wecom-groupchat --bench codec` with CRITERION_HOME set to a fresh directory and passes it here).
    /// Without it the codec section fails rather than report results of some earlier run.
    #[arg(long)]
    criterion_dir: Option<PathBuf>,
    /// The command to show in the report (default: this program's arguments).
    #[arg(long)]
    command: Option<String>,
    /// Worker threads of the simulator's runtime.
    #[arg(long, default_value_t = 1)]
    sim_threads: usize,
    /// Worker threads of the clients' runtime.
    #[arg(long, default_value_t = 1)]
    client_threads: usize,
}

#[derive(Debug, Subcommand)]
enum Hidden {
    /// The client side of the memory benchmark, in a process of its own.
    #[command(hide = true)]
    MemoryChild {
        #[arg(long)]
        base_url: String,
        #[arg(long)]
        corp_id: String,
        /// The secret comes from the environment, never the command line.
        #[arg(long, env = "WECOM_BENCH_CORP_SECRET", hide_env_values = true)]
        corp_secret: String,
        #[arg(long, value_enum)]
        mode: Mode,
    },
    /// Sequential `get`s by one caller, to run under a profiler (`valgrind --tool=callgrind`).
    #[command(hide = true)]
    ProfileOverhead {
        #[arg(long, value_enum)]
        side: overhead::Side,
        #[arg(long, default_value_t = 200)]
        calls: usize,
        /// Which chat, in listing order: 0 is the 500-member chat, the others have 3 members.
        #[arg(long, default_value_t = 0)]
        chat_index: usize,
        #[arg(long, default_value_t = 1)]
        sim_threads: usize,
        #[arg(long, default_value_t = 1)]
        client_threads: usize,
    },
    /// Opens callback events in a loop on one side only, to run under a profiler (`perf record`,
    /// `valgrind --tool=callgrind`).
    #[command(hide = true)]
    ProfileCallback {
        #[arg(long, value_enum)]
        side: callback::ProfileSide,
        #[arg(long, default_value_t = 100_000)]
        events: usize,
    },
    /// One process of the fleet benchmark.
    #[command(hide = true)]
    FleetChild(fleet::ChildArgs),
}

/// The sections, in the order of the issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Section {
    Overhead,
    Throughput,
    Sync,
    Stampede,
    Memory,
    Codec,
    Peer,
    Codegen,
    Callback,
    Fleet,
    Mirror,
}

const ALL: [Section; 11] = [
    Section::Overhead,
    Section::Throughput,
    Section::Sync,
    Section::Stampede,
    Section::Memory,
    Section::Codec,
    Section::Peer,
    Section::Codegen,
    Section::Callback,
    Section::Fleet,
    Section::Mirror,
];

fn default_root() -> PathBuf {
    // The crate lives one level below the workspace root.
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Hidden::MemoryChild { base_url, corp_id, corp_secret, mode }) => {
            memory::child(&base_url, &corp_id, &corp_secret, mode)
                .and_then(|report| serde_json::to_writer(std::io::stdout(), &report).map_err(|e| e.to_string()))
        }
        Some(Hidden::ProfileOverhead { side, calls, chat_index, sim_threads, client_threads }) => {
            overhead::profile(sim_threads, client_threads, side, calls, chat_index).map(|(took, used)| {
                eprintln!("{calls} calls by {side:?} in {took:?} ({:?} per call)", took / calls.max(1) as u32);
                if let Some(u) = used {
                    eprintln!(
                        "per call: client threads {:?} on a CPU, {:?} waiting for one, run {:.2} times; simulator {:?}, {:?}, {:.2} times; {:.2} minor faults",
                        u.client, u.client_wait, u.client_runs, u.sim, u.sim_wait, u.sim_runs, u.minor_faults
                    );
                }
            })
        }
        Some(Hidden::ProfileCallback { side, events }) => callback::profile(side, events).map(|took| {
            eprintln!("{events} events by {side:?} in {took:?} ({:?} per event)", took / events.max(1) as u32);
        }),
        Some(Hidden::FleetChild(args)) => fleet::child(args),
        None => run(cli.run),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: RunArgs) -> Result<(), String> {
    let started = Instant::now();
    let sections: Vec<Section> = ALL
        .into_iter()
        .filter(|s| args.only.is_empty() || args.only.contains(s))
        .filter(|s| !(args.no_peer && *s == Section::Peer))
        .collect();
    let threads = Threads { sim: args.sim_threads.max(1), client: args.client_threads.max(1) };
    let rt = host::client_runtime(threads.client)?;
    let quick = args.quick;
    let mut report = Report {
        machine: Some(Machine::describe()),
        command: args.command.clone().unwrap_or_else(|| {
            std::iter::once("wecom-groupchat-bench".to_string())
                .chain(std::env::args().skip(1))
                .collect::<Vec<_>>()
                .join(" ")
        }),
        date: now_utc(),
        quick,
        threads: Some(threads),
        ..Report::default()
    };

    for section in sections {
        let name = format!("{section:?}").to_lowercase();
        eprintln!("== {name}");
        let t = Instant::now();
        let outcome: Result<(), String> = match section {
            Section::Overhead => {
                overhead::run(&rt, threads.sim, overhead::Plan::new(quick)).map(|r| report.overhead = Some(r))
            }
            Section::Throughput => {
                throughput::run(&rt, threads.sim, throughput::Plan::new(quick)).map(|r| report.throughput = Some(r))
            }
            Section::Sync => sync::run(&rt, threads.sim, sync::Plan::new(quick)).map(|r| report.sync = Some(r)),
            Section::Stampede => {
                stampede::run(&rt, threads.sim, if quick { 100 } else { 1_000 }).map(|r| report.stampede = Some(r))
            }
            Section::Memory => {
                let sizes: &[usize] = if quick { &[1_000, 10_000] } else { &[10_000, 100_000] };
                std::env::current_exe()
                    .map_err(|e| format!("cannot find this program: {e}"))
                    .and_then(|exe| memory::run(&exe, threads.sim, sizes))
                    .map(|r| report.memory = Some(r))
            }
            Section::Codec => match &args.criterion_dir {
                Some(dir) => codec::read(dir).map(|r| report.codec = Some(r)),
                None => Err("no --criterion-dir: the codec figures come from a criterion run made for this run; \
                             run `cargo xtask bench`, which makes one"
                    .into()),
            },
            Section::Peer => peer::run(&rt, threads.sim, &args.root, peer::Plan::new(quick)).map(|r| {
                if let peer::PeerOutcome::Skipped(reason) = &r {
                    eprintln!("{reason}");
                    report.incomplete.push(reason.clone());
                }
                report.peer = Some(r);
            }),
            Section::Codegen => {
                codegen_time::run(&args.root, if quick { 2 } else { 10 }).map(|r| report.codegen = Some(r))
            }
            Section::Callback => {
                let python = if args.no_peer {
                    Err("wechatpy not run (`--no-peer`)".to_string())
                } else {
                    venv::prepare(&args.root)
                };
                callback::run(&args.root, callback::Plan::new(quick), python).map(|r| {
                    if let callback::PeerSide::Skipped(reason) = &r.peer
                        && !args.no_peer
                    {
                        eprintln!("{reason}");
                        report.incomplete.push(reason.clone());
                    }
                    report.callback = Some(r);
                })
            }
            Section::Fleet => std::env::current_exe()
                .map_err(|e| format!("cannot find this program: {e}"))
                .and_then(|exe| fleet::run(&rt, &exe, threads.sim, fleet::Plan::new(quick)))
                .map(|r| report.fleet = Some(r)),
            Section::Mirror => mirror::run(&rt, threads.sim, &args.root, mirror::Plan::new(quick)).map(|r| {
                if let Some(reason) = &r.postgres_skipped {
                    eprintln!("{reason}");
                    report.incomplete.push(format!("mirror on PostgreSQL not measured: {reason}"));
                }
                report.mirror = Some(r);
            }),
        };
        match outcome {
            Ok(()) => eprintln!("   {name}: {:.1} s", t.elapsed().as_secs_f64()),
            Err(e) => {
                eprintln!("   {name} failed: {e}");
                report.failures.push((name, e));
            }
        }
    }
    report.total_seconds = started.elapsed().as_secs_f64();
    report.load_end = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "));

    // What keeps this from being a complete run, in the order of the sections (the peer's own skip
    // was noted when it happened).
    let mut not_run: Vec<String> = Vec::new();
    if !args.only.is_empty() {
        let left_out: Vec<String> =
            ALL.into_iter().filter(|s| !args.only.contains(s)).map(|s| format!("{s:?}").to_lowercase()).collect();
        not_run.push(format!("sections not run (`--only`): {}", left_out.join(", ")));
    }
    if args.no_peer
        && (args.only.is_empty() || args.only.contains(&Section::Peer) || args.only.contains(&Section::Callback))
    {
        not_run.push("peer not run (`--no-peer`)".into());
    }
    // The peer and the callback section skip wechatpy for the same reason: say it once.
    for reason in std::mem::take(&mut report.incomplete) {
        if !not_run.contains(&reason) {
            not_run.push(reason);
        }
    }
    not_run.extend(report.failures.iter().map(|(section, _)| format!("{section} failed")));
    report.incomplete = not_run;
    let complete = !quick && report.incomplete.is_empty();

    if !quick && args.only.is_empty() {
        // Hand-written notes on the figures (profiles of missed targets), kept across regenerations;
        // its `{{key}}` placeholders take this run's figures.
        report.analysis = std::fs::read_to_string(args.root.join(ANALYSIS)).ok();
    }
    let markdown = report.render();
    println!("{markdown}");
    let published = args.root.join("docs/benchmarks.md");
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| if complete { published.clone() } else { args.root.join("target/bench/benchmarks.md") });
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    std::fs::write(&out, markdown).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    eprintln!("wrote {}", out.display());
    if !complete && args.out.is_none() {
        let why = if quick { "a smoke run (`--quick`)".to_string() } else { report.incomplete.join("; ") };
        eprintln!(
            "note: not a complete run ({why}), so {} was left as it was; only a complete run replaces it \
             (or pass --out to write this report there, marked as incomplete)",
            published.display()
        );
    }
    if report.failures.is_empty() { Ok(()) } else { Err(format!("{} section(s) failed", report.failures.len())) }
}

/// The hand-written analysis template, relative to the workspace root.
const ANALYSIS: &str = "wecom-groupchat-bench/analysis.md";

/// `2026-11-27 10:04 UTC`.
fn now_utc() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02} UTC", rem / 3600, rem % 3600 / 60)
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_454), (2026, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    /// The checked-in analysis names only figures the report knows.
    #[test]
    fn analysis_names_known_figures() {
        let text = std::fs::read_to_string(default_root().join(ANALYSIS)).unwrap();
        let filled = wecom_groupchat_bench::report::Report::default().fill(&text);
        assert!(!filled.contains(wecom_groupchat_bench::report::UNKNOWN_FIGURE), "{filled}");
        assert!(!filled.contains("{{"), "{filled}");
    }

    /// `cargo xtask bench --only` accepts every section this program has, by the same name.
    #[test]
    fn xtask_knows_every_section() {
        let xtask = std::fs::read_to_string(default_root().join("xtask/src/main.rs")).unwrap();
        let list = xtask.split("const SECTIONS").nth(1).and_then(|rest| rest.split(';').nth(1)).unwrap();
        for section in ALL {
            let name = format!("{section:?}").to_lowercase();
            assert!(list.contains(&format!("\"{name}\"")), "xtask's SECTIONS lacks {name}: {list}");
        }
        assert_eq!(list.matches('"').count(), 2 * ALL.len(), "{list}");
    }

    #[test]
    fn cli_parses() {
        let cli = Cli::try_parse_from(["b", "--quick", "--only", "overhead,sync", "--no-peer"]).unwrap();
        assert!(cli.run.quick && cli.run.no_peer);
        assert_eq!(cli.run.only, [Section::Overhead, Section::Sync]);
        let cli = Cli::try_parse_from(["b", "--only=callback"]).unwrap();
        assert_eq!(cli.run.only, [Section::Callback]);
        let cli =
            Cli::try_parse_from(["b", "memory-child", "--base-url", "http://x", "--corp-id", "c", "--mode", "stream"]);
        // The secret must come from the environment.
        assert!(cli.is_err() || std::env::var("WECOM_BENCH_CORP_SECRET").is_ok());
    }
}
