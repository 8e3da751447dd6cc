//! Section 11 (the mirror) once, with a tiny plan, and the rows it adds to the report: on SQLite, and on
//! the PostgreSQL of `WECOM_TEST_POSTGRES_URL` when it is given (in CI its absence fails the test). Checks
//! that the section works (counts, convergence, rendering), never how fast anything is.

use std::path::Path;
use std::time::Duration;

use wecom_groupchat_bench::host::{self, Threads};
use wecom_groupchat_bench::mirror::{self, PostgresFrom};
use wecom_groupchat_bench::report::Report;

const POSTGRES_URL_VAR: &str = "WECOM_TEST_POSTGRES_URL";

#[test]
fn the_mirror_section_runs_and_reports_its_rows() {
    let postgres = match std::env::var(POSTGRES_URL_VAR) {
        Ok(url) if !url.is_empty() => PostgresFrom::Url(url),
        _ if std::env::var_os("CI").is_some() => panic!("{POSTGRES_URL_VAR} is not set: in CI, .ci/run sets it"),
        _ => PostgresFrom::Skip(format!("{POSTGRES_URL_VAR} not set")),
    };
    let on_postgres = matches!(postgres, PostgresFrom::Url(_));
    let rt = host::client_runtime(1).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let plan = mirror::Plan {
        groups: 40,
        members: 5,
        calls: 400,
        window: Duration::from_secs(1),
        latency: Duration::from_millis(1),
        concurrency: 4,
        event_rate: 10,
        event_time: Duration::from_secs(1),
        burst_chats: 4,
    };
    let result = mirror::run_with(&rt, 1, root, plan, postgres).unwrap();
    let engines: &[&str] = if on_postgres { &["SQLite", "PostgreSQL"] } else { &["SQLite"] };
    let reconciled: Vec<(&str, i64, i64, i64)> =
        result.reconcile.iter().map(|r| (r.backend, r.listed, r.fetched, r.failed)).collect();
    let expected: Vec<(&str, i64, i64, i64)> = engines.iter().map(|e| (*e, 40, 40, 0)).collect();
    assert_eq!(reconciled, expected, "{result:?}");
    assert!(result.reconcile.iter().all(|r| r.members > 0), "{result:?}");
    assert_eq!(result.latency.len(), engines.len(), "{result:?}");
    assert!(result.latency.iter().all(|r| r.events == 10), "{result:?}");
    assert_eq!(result.savings.len(), engines.len(), "{result:?}");
    assert!(result.savings.iter().all(|r| r.converged), "{result:?}");
    assert_eq!(result.postgres_skipped.is_none(), on_postgres, "{result:?}");

    let report = Report {
        command: "test".into(),
        quick: true,
        threads: Some(Threads { sim: 1, client: 1 }),
        mirror: Some(result),
        ..Report::default()
    };
    let md = report.render();
    for engine in engines {
        let row = format!("| 11 | mirror: reconcile into {engine}");
        assert!(md.contains(&row), "no `{row}` in\n{md}");
    }
    assert!(md.contains("| 11 | mirror: event → row latency"), "{md}");
    assert!(md.contains("| 11 | mirror: `get` calls saved"), "{md}");
    if !on_postgres {
        assert!(md.contains("| 11 | mirror: reconcile into PostgreSQL | — | not measured:"), "{md}");
    }
}
