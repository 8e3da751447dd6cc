//! A bulk transfer of 1,000 chats while answers are lost after the write took effect, and connections
//! drop before it: every chat is accounted for exactly once, none is transferred twice, and every chat the
//! simulator moved without the client hearing of it is reported unknown — never succeeded, never failed.

use std::collections::HashSet;

use wecom_groupchat::bulk::ItemOutcome;
use wecom_groupchat::types::{ChatStatus, TransferRequest};
use wecom_groupchat_sim::{DataSource, Faults, Scale, SimConfig, Simulator};

#[tokio::test]
async fn lost_answers_and_drops_never_double_a_transfer_nor_hide_one() {
    let data = DataSource::Scale(Scale::groups(1100).staff(20));
    let faults = Faults::default().lose_answers(0.3).drop_connections(0.3).only_endpoints(["transfer"]);
    let config =
        SimConfig::default().data(data).seed(7).faults(faults).transfer_settle(std::time::Duration::from_secs(3600));
    let sim = Simulator::start(config).await.unwrap();
    let hints = sim.hints();
    let new_owner = hints.eligible_new_owners[0].clone();
    // Everyone else resigns: their 1,000 chats (at most 300 per old owner and new owner a day) await transfer.
    let staff: Vec<String> = hints.active_owners.iter().map(|o| o.userid.clone()).filter(|u| *u != new_owner).collect();
    for userid in &staff {
        assert!(sim.resign(userid));
    }
    let chats: Vec<String> = sim.hints().resigned_owners.iter().flat_map(|o| o.chat_ids.clone()).take(1000).collect();
    assert_eq!(chats.len(), 1000);

    let client = sim.client_builder().build().unwrap();
    let report = client.transfer_batched(TransferRequest::new(chats.clone(), new_owner)).await.unwrap();

    // Accounted for: every chat once, in input order.
    assert_eq!(report.items.iter().map(|i| i.id.clone()).collect::<Vec<_>>(), chats);
    let stats = sim.stats();
    assert_eq!(
        sim.calls("transfer"),
        chats.len().div_ceil(100) as u64,
        "each batch sent once: writes are not replayed"
    );
    assert!(stats.faults.get("lost_answer").copied().unwrap_or(0) > 0, "{stats:?}");
    assert!(stats.faults.get("dropped").copied().unwrap_or(0) > 0, "{stats:?}");

    let mut applied_unheard = 0;
    for item in &report.items {
        let moved = sim.chat_status(&item.id) == Some(ChatStatus::Transferring);
        match &item.outcome {
            ItemOutcome::Succeeded => assert!(moved, "{} reported transferred but did not move", item.id),
            ItemOutcome::Unknown { .. } => applied_unheard += usize::from(moved),
            other => panic!("{}: {other:?}: a lost answer or a drop is never a known failure", item.id),
        }
    }
    assert!(applied_unheard > 0, "some writes took effect without an answer, and were reported unknown");
    // None twice: a second transfer of a moving chat would be refused (90507), and none was sent anyway.
    let unique: HashSet<&String> = chats.iter().collect();
    assert_eq!(unique.len(), chats.len());
    eprintln!(
        "soak: {} report items, {applied_unheard} applied without an answer, {:?}",
        report.items.len(),
        report.counts()
    );
}
