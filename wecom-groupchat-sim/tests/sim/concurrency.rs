use std::collections::{HashMap, HashSet};

use futures::TryStreamExt;
use wecom_groupchat::types::{ChatStatus, ListRequest, TransferRequest};

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundreds_of_clients_never_lose_or_double_a_transfer() {
    let sim = start().await;
    let hints = sim.hints();
    let chats: Vec<String> = hints.resigned_owners.iter().flat_map(|o| o.chat_ids.clone()).collect();
    let owners = hints.eligible_new_owners.clone();
    assert!(chats.len() >= 60);

    // 200 clients, each with its own token, each trying to move an overlapping slice of the chats.
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let client = client(&sim);
            let slice: Vec<String> = (0..10).map(|k| chats[(i * 7 + k * 13) % chats.len()].clone()).collect();
            let new_owner = owners[i % owners.len()].clone();
            tokio::spawn(async move {
                let response = client.transfer(&TransferRequest::new(&slice, &new_owner)).await.unwrap();
                let failed: Vec<String> = response
                    .failed_chat_list
                    .unwrap_or_default()
                    .into_iter()
                    .map(|f| {
                        assert_eq!(f.errcode, Some(90507), "{f:?}");
                        f.chat_id
                    })
                    .collect();
                let mut won = Vec::new();
                let mut remaining = failed;
                for id in slice {
                    // Ids listed twice in one slice fail the second time.
                    if let Some(pos) = remaining.iter().position(|f| *f == id) {
                        remaining.remove(pos);
                    } else {
                        won.push((id, new_owner.clone()));
                    }
                }
                won
            })
        })
        .collect();
    let mut winners: HashMap<String, String> = HashMap::new();
    for task in tasks {
        for (chat, owner) in task.await.unwrap() {
            assert!(winners.insert(chat.clone(), owner).is_none(), "{chat} transferred twice");
        }
    }
    // Every chat some slice reached moved exactly once.
    let n = chats.len();
    let reached: HashSet<String> =
        (0..200).flat_map(|i| (0..10).map(move |k| (i * 7 + k * 13) % n)).map(|j| chats[j].clone()).collect();
    assert_eq!(winners.keys().cloned().collect::<HashSet<_>>(), reached);
    assert_eq!(sim.gettoken_calls(), 200);
    assert_eq!(sim.settle_transfers(), winners.len());
    for (chat, owner) in &winners {
        assert_eq!(sim.chat_status(chat), Some(ChatStatus::Transferred));
        assert_eq!(sim.group_chat(chat).unwrap().owner.as_ref(), Some(owner));
    }
    let still_waiting: usize = sim.hints().resigned_owners.iter().map(|o| o.chat_ids.len()).sum();
    assert_eq!(still_waiting + winners.len(), chats.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_readers_see_consistent_state() {
    let sim = start().await;
    let client = client(&sim);
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                client.list_stream(ListRequest::new(100)).try_collect::<Vec<_>>().await.unwrap().len()
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), 300);
    }
    assert_eq!(sim.gettoken_calls(), 1, "one token for one client, however many tasks");
}
