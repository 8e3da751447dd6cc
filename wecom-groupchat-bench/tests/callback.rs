//! The callback section once, with a tiny plan: every side opens the same sealed messages into the same
//! event fields, and the report shows the section with its targets. Never how fast anything is.
//!
//! wechatpy runs too only when `WECOM_BENCH_PEER_TEST=1` asks for it: it needs PyPI (a virtualenv with the
//! pinned requirements, in a directory of this test's own so that a running benchmark keeps its own), and
//! the test suite must not depend on a network CI may not have. Without it, the floor and ours are compared.

use std::path::Path;

use wecom_groupchat_bench::callback::{self, PeerSide, Plan};
use wecom_groupchat_bench::report::Report;
use wecom_groupchat_bench::venv;

#[test]
fn every_side_decodes_the_same_event() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let python = if std::env::var("WECOM_BENCH_PEER_TEST").as_deref() == Ok("1") {
        venv::prepare_at(&root.join("target/bench/test-callback-venv"), &root.join(venv::REQUIREMENTS))
    } else {
        Err("the peer runs in this test only with WECOM_BENCH_PEER_TEST=1 (it needs PyPI)".into())
    };
    let plan = Plan { messages: 3, warmup: 1, rounds: 2, batch: 3, step_calls: 100, peer_warmup: 1, peer_events: 5 };
    let result = callback::run(root, plan, python).unwrap();

    assert_eq!(result.expected.len(), 3);
    assert_eq!(result.floor_decoded, result.expected);
    assert_eq!(result.ours_decoded, result.expected);
    let first = &result.expected[0];
    assert_eq!((first.event.as_str(), first.change_type.as_str()), ("change_external_chat", "update"));
    assert_eq!(first.update_detail.as_deref(), Some("add_member"));
    assert_eq!(first.mem_change_list.as_ref().map(Vec::len), Some(callback::MEMBERS));
    assert_eq!(first.mem_change_cnt, Some(callback::MEMBERS as i64));
    assert_eq!(first.to_user_name, callback::CORP_ID);
    match &result.peer {
        PeerSide::Ran(peer) => {
            assert_eq!(peer.decoded, result.expected);
            assert_eq!(peer.figures.summary.n, 5);
        }
        PeerSide::Skipped(reason) => eprintln!("wechatpy side not compared: {reason}"),
    }
    assert_eq!((result.floor.summary.n, result.ours.summary.n), (6, 6));
    assert_eq!(result.steps.len(), 5);

    let md = Report { command: "test".into(), quick: true, callback: Some(result), ..Report::default() }.render();
    for row in [
        "| 9 | callback decoding, **time per event** |",
        "| 9 | callback decoding, **events/s** |",
        "| 9 | callback peer",
    ] {
        assert!(md.contains(row), "no `{row}` in\n{md}");
    }
    assert!(md.contains("## 9. Callback decoding (one thread)"), "{md}");
    assert!(md.contains("≤ 1.2× the floor") && md.contains("≥ 80,000/s on one core"), "{md}");
}
