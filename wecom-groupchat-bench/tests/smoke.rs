//! Every section of the benchmark program once, with tiny plans, and the report they make. Checks that
//! the program works (correct counts, targets evaluated), never how fast anything is; takes a few
//! seconds even in a debug build.

use std::path::Path;
use std::time::Duration;

use wecom_groupchat_bench::host::{self, Threads};
use wecom_groupchat_bench::memory::Mode;
use wecom_groupchat_bench::report::Report;
use wecom_groupchat_bench::{codegen_time, fleet, memory, overhead, stampede, sync, throughput};

#[test]
fn every_section_runs_and_reports() {
    let rt = host::client_runtime(1).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();

    let overhead = overhead::run(&rt, 1, overhead::Plan { warmup: 1, rounds: 2, batch: 2 }).unwrap();
    assert_eq!((overhead.members, overhead.ours.n, overhead.floor.n), (overhead::MEMBERS, 4, 4));

    let plan = throughput::Plan { warmup: Duration::from_millis(5), measure: Duration::from_millis(50), slices: 1 };
    let rows = throughput::run(&rt, 1, plan).unwrap();
    assert_eq!(rows.len(), 2 * throughput::CONCURRENCY.len());
    // A row may complete nothing in so short a window on a loaded machine (speed is the benchmark's
    // business, not a test's): every row ran without an error, and each side completed calls somewhere.
    assert!(rows.iter().all(|r| r.errors == 0 && r.ours >= 0.0 && r.floor >= 0.0), "{rows:?}");
    assert!(rows.iter().any(|r| r.ours > 0.0) && rows.iter().any(|r| r.floor > 0.0), "{rows:?}");

    let plan = sync::Plan {
        groups: 40,
        calls: 200,
        window: Duration::from_secs(1),
        latency: Duration::from_millis(1),
        concurrency: 4,
        page: 15,
    };
    let sync = sync::run(&rt, 1, plan).unwrap();
    assert_eq!((sync.listed, sync.fetched, sync.errors, sync.rate_limited_answers), (40, 40, 0, 0), "{sync:?}");

    let stampede = stampede::run(&rt, 1, 50).unwrap();
    assert_eq!((stampede.gettoken_calls, stampede.succeeded), (1, 50));

    let exe = Path::new(env!("CARGO_BIN_EXE_wecom-groupchat-bench"));
    let memory = memory::run(exe, 1, &[50, 500]).unwrap();
    let modes: Vec<(usize, Mode, usize)> = memory.iter().map(|r| (r.groups, r.report.mode, r.report.items)).collect();
    assert_eq!(
        modes,
        [(50, Mode::Stream, 50), (50, Mode::Collect, 50), (500, Mode::Stream, 500), (500, Mode::Collect, 500)]
    );
    assert!(memory.iter().all(|r| r.report.peak_kib >= r.report.baseline_kib && r.report.baseline_kib > 0));

    let codegen = codegen_time::run(root, 1).unwrap();
    assert!(codegen.fresh && codegen.files > 0 && codegen.spec_files > 0);

    // The fleet needs a redis-server (CI installs one); elsewhere without it, that part is left out.
    let has_redis = std::process::Command::new("redis-server").arg("--version").output().is_ok();
    let fleet = (has_redis || std::env::var_os("CI").is_some()).then(|| {
        let plan = fleet::Plan {
            groups: 40,
            calls: 200,
            window: Duration::from_secs(1),
            latency: Duration::from_millis(1),
            concurrency: 4,
            processes: vec![1, 2],
            cost_calls: 20,
        };
        let fleet = fleet::run(&rt, exe, 1, plan).unwrap();
        let rows: Vec<(usize, usize, u64, usize)> =
            fleet.rows.iter().map(|r| (r.processes, r.fetched, r.rate_limited_answers, r.errors)).collect();
        assert_eq!(rows, [(1, 40, 0, 0), (2, 40, 0, 0)], "{fleet:?}");
        assert_eq!(fleet.cost.len(), 3);
        fleet
    });

    let report = Report {
        command: "test".into(),
        quick: true,
        threads: Some(Threads { sim: 1, client: 1 }),
        overhead: Some(overhead),
        throughput: Some(rows),
        sync: Some(sync),
        stampede: Some(stampede),
        memory: Some(memory),
        codegen: Some(codegen),
        fleet: fleet.clone(),
        ..Report::default()
    };
    let md = report.render();
    for row in [
        "| 1 | client overhead",
        "| 2 | throughput",
        "| 3 | full sync",
        "| 4 | cold stampede",
        "| 5 | memory",
        "| 8 | codegen",
    ] {
        assert!(md.contains(row), "no `{row}` in\n{md}");
    }
    assert!(md.contains("**1 `gettoken`**"), "{md}");
    if fleet.is_some() {
        assert!(md.contains("| 10 | fleet, **2 processes**") && md.contains("## 10. Fleet"), "{md}");
    }
}
