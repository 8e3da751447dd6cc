//! `stats by-owner|by-day`: spans over 30 days and more than 100 owners (split into windows and owner
//! batches), CSV/JSON/table output, and dates refused before sending.

mod common;

use std::collections::BTreeMap;

use common::{Sim, days_ago};
use wecom_groupchat_sim::{DataSource, Scale};

/// A generated company with more than 100 owners with statistics.
fn big_company() -> Sim {
    let sim = Sim::with(common::config().data(DataSource::Scale(Scale::groups(1500).staff(150))));
    assert!(sim.hints().statistic_owners.len() > 100, "{} owners", sim.hints().statistic_owners.len());
    sim
}

fn owner_flags(owners: &[String]) -> Vec<String> {
    owners.iter().flat_map(|o| ["--owner".to_string(), o.clone()]).collect()
}

#[test]
fn by_owner_splits_days_into_windows_and_owners_into_batches() {
    let sim = big_company();
    let owners = sim.hints().statistic_owners;
    // 69 days: windows of 30, 30 and 9 days; 2 batches of owners.
    let (from, to) = (days_ago(70), days_ago(2));
    let run = sim
        .cli()
        .args(["stats", "by-owner", "--from", &from, "--to", &to, "-o", "csv"])
        .args(owner_flags(&owners))
        .run();
    let (header, rows) = run.ok().csv();
    assert_eq!(&header[..4], ["from", "to", "owner", "new_chat_cnt"]);
    assert!(header.contains(&"msg_total".to_string()));
    assert_eq!(sim.calls("statistic"), 3 * 2, "3 windows × 2 owner batches");

    let mut windows: BTreeMap<(String, String), usize> = BTreeMap::new();
    for row in &rows {
        *windows.entry((row[0].clone(), row[1].clone())).or_default() += 1;
        assert!(owners.contains(&row[2]), "{} is one of the owners", row[2]);
        for cell in &row[3..10] {
            assert!(cell.parse::<u64>().is_ok(), "a figure: {cell:?} in {row:?}");
        }
    }
    assert_eq!(windows.len(), 3, "{windows:?}");
    assert!(windows.values().all(|n| *n == owners.len()), "every owner in every window: {windows:?}");
    let first = windows.keys().next().unwrap();
    let last = windows.keys().last().unwrap();
    assert_eq!(first.0, from);
    assert_eq!(last.1, to);
}

#[test]
fn by_day_sums_over_every_owner_batch() {
    let sim = big_company();
    let owners = sim.hints().statistic_owners;
    let (from, to) = (days_ago(45), days_ago(2));
    let run =
        sim.cli().args(["stats", "by-day", "--from", &from, "--to", &to, "-o", "csv"]).args(owner_flags(&owners)).run();
    let (header, rows) = run.ok().csv();
    assert_eq!(header[0], "day");
    assert_eq!(rows.len(), 44, "one row per day");
    assert_eq!(rows.first().unwrap()[0], from);
    assert_eq!(rows.last().unwrap()[0], to);
    assert_eq!(sim.calls("statistic_group_by_day"), 2 * 2, "2 windows × 2 owner batches");

    // One day's row is the sum of that day over all owners (by-owner over that single day).
    let day = &rows[10][0];
    let by_owner =
        sim.cli().args(["stats", "by-owner", "--from", day, "--to", day, "-o", "csv"]).args(owner_flags(&owners)).run();
    let (owner_header, owner_rows) = by_owner.ok().csv();
    for figure in ["new_chat_cnt", "chat_total", "new_member_cnt", "member_total", "msg_total"] {
        let by_day_column = header.iter().position(|h| h == figure).unwrap();
        let by_owner_column = owner_header.iter().position(|h| h == figure).unwrap();
        let sum: u64 = owner_rows.iter().map(|r| r[by_owner_column].parse::<u64>().unwrap()).sum();
        assert_eq!(rows[10][by_day_column].parse::<u64>().unwrap(), sum, "{figure} on {day}");
    }
}

#[test]
fn json_and_table_output() {
    let sim = Sim::start();
    let owners = sim.hints().statistic_owners;
    let (from, to) = (days_ago(5), days_ago(2));
    let run = sim
        .cli()
        .args(["stats", "by-day", "--from", &from, "--to", &to, "-o", "json"])
        .args(owner_flags(&owners[..3]))
        .run();
    let days = run.ok().json_lines();
    assert_eq!(days.len(), 4);
    assert_eq!(days[0]["day"], from.as_str());
    assert!(days.iter().all(|d| d["chat_total"].is_u64() && d["new_member_cnt"].is_u64()));

    let run = sim
        .cli()
        .args(["stats", "by-owner", "--from", &from, "--to", &to, "-o", "table"])
        .args(owner_flags(&owners[..3]))
        .run();
    run.ok().stdout_has(&["owner", "chat_total", &owners[0], &owners[1], &owners[2], &from, &to]);
}

#[test]
fn dates_are_checked_before_sending() {
    let sim = Sim::start();
    let owner = sim.hints().statistic_owners[0].clone();
    let today_msg = format!("{} (today, UTC+8), must be yesterday or earlier", days_ago(0));
    let future_msg = format!("{} (in the future, UTC+8), must be yesterday or earlier", days_ago(-34));
    let cases: Vec<([String; 2], Vec<&str>)> = vec![
        (["2026-13-01".into(), days_ago(2)], vec!["--from", "2026-13-01", "YYYY-MM-DD"]),
        ([days_ago(5), "yesterday".into()], vec!["--to", "yesterday", "YYYY-MM-DD"]),
        (["2026-02-30".into(), days_ago(2)], vec!["--from", "2026-02-30", "YYYY-MM-DD"]),
        ([days_ago(0), days_ago(0)], vec!["day_begin_time (--from)", &today_msg]),
        ([days_ago(5), days_ago(-34)], vec!["day_end_time (--to)", &future_msg]),
        ([days_ago(-34), days_ago(-34)], vec!["day_begin_time (--from)", &future_msg]),
        ([days_ago(200), days_ago(2)], vec!["day_begin_time", "180 days"]),
        ([days_ago(2), days_ago(5)], vec!["day_end_time", "must not be before day_begin_time"]),
    ];
    for ([from, to], expected) in cases {
        for command in ["by-owner", "by-day"] {
            let run = sim.cli().args(["stats", command, "--from", &from, "--to", &to, "--owner", &owner]).run();
            run.code(2).stderr_has(&expected);
            assert!(!run.stderr.contains("-34 days"), "{}", run.stderr);
        }
    }
    // Owners are required.
    sim.cli()
        .args(["stats", "by-day", "--from", &days_ago(3), "--to", &days_ago(2)])
        .run()
        .code(2)
        .stderr_has(&["--owner"]);
    assert_eq!(sim.total_calls(), 0, "{:?}", sim.stats());
}

/// An owner given twice is counted once, even when the copies would land in different batches of 100.
#[test]
fn owners_given_twice_count_once() {
    let sim = big_company();
    let owners = sim.hints().statistic_owners;
    let (from, to) = (days_ago(10), days_ago(2));
    let twice: Vec<String> = owners.iter().chain([&owners[0], &owners[1]]).cloned().collect();
    assert!(twice.len() > 100 && owners.len() <= 200, "the copies fall in the second batch");

    let by_day = |owners: &[String]| {
        let run = sim
            .cli()
            .args(["stats", "by-day", "--from", &from, "--to", &to, "-o", "csv"])
            .args(owner_flags(owners))
            .run();
        run.ok().csv()
    };
    assert_eq!(by_day(&twice), by_day(&owners));

    let run = sim
        .cli()
        .args(["stats", "by-owner", "--from", &from, "--to", &to, "-o", "csv"])
        .args(owner_flags(&twice))
        .run();
    let (_, rows) = run.ok().csv();
    assert_eq!(rows.len(), owners.len(), "one row per owner");
}

/// `--owner a --owner b`, `--owner a,b` and `--owner a b` name the same owners.
#[test]
fn owners_as_a_list() {
    let sim = Sim::start();
    let owners = sim.hints().statistic_owners;
    let (a, b) = (owners[0].as_str(), owners[1].as_str());
    let (from, to) = (days_ago(4), days_ago(2));
    let run = |owner_args: &[&str]| {
        let run =
            sim.cli().args(["stats", "by-owner", "--from", &from, "--to", &to, "-o", "csv"]).args(owner_args).run();
        run.ok().csv()
    };
    let expected = run(&["--owner", a, "--owner", b]);
    assert_eq!(expected.1.len(), 2);
    assert_eq!(run(&["--owner", &format!("{a},{b}")]), expected);
    assert_eq!(run(&["--owner", a, b]), expected);
}

/// Figures are the server's: by-day sums over owner batches saturate rather than overflow. Two owners
/// with `i64::MAX` figures on one day, in different batches of 100, from a simulator data file.
#[test]
fn by_day_sums_of_extreme_figures_saturate() {
    let day = days_ago(2);
    let owners: Vec<String> = (0..=100).map(|i| format!("owner{i:03}")).collect();
    let staff: Vec<String> = owners.iter().map(|o| format!("  - {{ userid: {o} }}")).collect();
    let max = i64::MAX;
    let figures = format!(
        "{{ new_chat_cnt: {max}, chat_total: {max}, chat_has_msg: {max}, new_member_cnt: {max}, member_total: {max}, \
         member_has_msg: {max}, msg_total: {max}, migrate_trainee_chat_cnt: {max} }}"
    );
    let yaml = format!(
        "staff:\n{}\nstatistics:\n  auto: false\n  days:\n    - {{ owner: owner000, day: {day}, data: {figures} }}\n    - \
         {{ owner: owner100, day: {day}, data: {figures} }}\n",
        staff.join("\n")
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("extreme.yaml");
    std::fs::write(&file, yaml).unwrap();
    let sim = Sim::with(common::config().data(DataSource::File(file)));

    let run =
        sim.cli().args(["stats", "by-day", "--from", &day, "--to", &day, "-o", "csv"]).args(owner_flags(&owners)).run();
    let (header, rows) = run.ok().csv();
    assert_eq!(sim.calls("statistic_group_by_day"), 2, "owner000 and owner100 are in different batches");
    assert_eq!(header.len(), 9);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0][0], day);
    assert!(rows[0][1..].iter().all(|cell| *cell == max.to_string()), "saturated sums: {rows:?}");
}
