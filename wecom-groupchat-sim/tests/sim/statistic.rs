use std::time::Duration;

use serde_json::{Value, json};
use wecom_groupchat::Client;
use wecom_groupchat::time::{DAY, day_before, day_start, now_unix};
use wecom_groupchat::types::{
    GetRequest, ListRequest, OrderAsc, OwnerFilter, StatisticData, StatisticGroupByDayRequest, StatisticOrderBy,
    StatisticRequest, TransferRequest,
};

use crate::common::*;

fn yesterday() -> i64 {
    day_before(now_unix(), 1)
}

#[tokio::test]
async fn every_owner_has_statistics_for_every_day_of_the_last_180() {
    let sim = start().await;
    let client = client(&sim);
    let owners = sim.hints().statistic_owners;
    assert!(owners.len() >= 30, "{}", owners.len());
    let oldest = day_before(now_unix(), 180);
    for owner in &owners {
        let mut days = Vec::new();
        for window in 0..6 {
            let begin = oldest + window * 30 * DAY;
            let request = StatisticGroupByDayRequest::new(begin)
                .owner_filter(OwnerFilter::new([owner.as_str()]))
                .day_end_time(begin + 29 * DAY);
            let items = client.statistic_group_by_day(&request).await.unwrap().items.unwrap();
            assert_eq!(items.len(), 30);
            for item in items {
                let data = item.data.unwrap();
                assert!(data.chat_total.unwrap() >= data.chat_has_msg.unwrap());
                days.push(item.stat_time.unwrap());
            }
        }
        let expected: Vec<i64> = (0..180).map(|i| oldest + i * DAY).collect();
        assert_eq!(days, expected, "{owner}");
        assert_eq!(*days.last().unwrap(), yesterday());
    }
}

#[tokio::test]
async fn statistic_days_are_checked_floored_and_closed() {
    let sim = start().await;
    let raw = Raw::new(&sim).await;
    let owner = sim.hints().statistic_owners[0].clone();
    let filter = json!({"userid_list": [owner]});
    let by_day = |begin: i64, end: Option<i64>| {
        let mut body = json!({"day_begin_time": begin, "owner_filter": filter});
        if let Some(end) = end {
            body["day_end_time"] = json!(end);
        }
        raw.call("statistic_group_by_day", body)
    };
    let y = yesterday();
    let today = y + DAY;
    assert_eq!(errcode(&by_day(today, None).await), 600018, "today is not available yet");
    assert_eq!(errcode(&by_day(y, Some(today)).await), 600018);
    assert_eq!(errcode(&by_day(day_before(now_unix(), 181), None).await), 600018, "older than 180 days");
    assert_eq!(errcode(&by_day(y - 30 * DAY, Some(y)).await), 600018, "31 days");
    assert_eq!(errcode(&by_day(y, Some(y - DAY)).await), 600018, "reversed");
    assert_eq!(errcode(&by_day(y - 29 * DAY, Some(y)).await), 0, "30 days");
    assert_eq!(errcode(&by_day(day_before(now_unix(), 180), None).await), 0, "180 days ago");

    // 21:00 on a day is floored to that day's 00:00 (UTC+8); both ends are included.
    let answer = by_day(y - 2 * DAY + 21 * 3600, Some(y + 3600)).await;
    let days: Vec<i64> = answer["items"].as_array().unwrap().iter().map(|i| i["stat_time"].as_i64().unwrap()).collect();
    assert_eq!(days, vec![y - 2 * DAY, y - DAY, y]);
    // Without an end: one day.
    assert_eq!(by_day(y + 100, None).await["items"].as_array().unwrap().len(), 1);

    let by_owner = raw.call("statistic", json!({"day_begin_time": today, "owner_filter": filter})).await;
    assert_eq!(errcode(&by_owner), 600018);
    let bad_limit = json!({"day_begin_time": y, "owner_filter": filter, "limit": 1001});
    assert_eq!(errcode(&raw.call("statistic", bad_limit).await), 40058);
    assert_eq!(errcode(&raw.call("statistic", json!({"owner_filter": filter})).await), 40063);
}

fn key(item: &Value, field: &str) -> i64 {
    item["data"][field].as_i64().unwrap()
}

#[tokio::test]
async fn statistic_orders_and_pages_by_owner() {
    let sim = start().await;
    let client = client(&sim);
    let owners = sim.hints().statistic_owners;
    let owners: Vec<String> = owners.into_iter().take(20).collect();
    let begin = yesterday() - 6 * DAY;
    let base = StatisticRequest::new(begin).owner_filter(OwnerFilter::new(&owners)).day_end_time(yesterday());

    for (order, field) in [
        (StatisticOrderBy::NewChatCount, "new_chat_cnt"),
        (StatisticOrderBy::ChatTotal, "chat_total"),
        (StatisticOrderBy::NewMemberCount, "new_member_cnt"),
        (StatisticOrderBy::MemberTotal, "member_total"),
    ] {
        for asc in [OrderAsc::Descending, OrderAsc::Ascending] {
            let request = base.clone().order_by(order).order_asc(asc).limit(1000);
            let answer = serde_json::to_value(client.statistic(&request).await.unwrap()).unwrap();
            let values: Vec<i64> = answer["items"].as_array().unwrap().iter().map(|i| key(i, field)).collect();
            assert_eq!(values.len(), 20);
            let mut sorted = values.clone();
            sorted.sort_unstable();
            if asc == OrderAsc::Descending {
                sorted.reverse();
            }
            assert_eq!(values, sorted, "{field} {asc:?}");
        }
    }

    // Pages of 6: offsets follow next_offset until it equals total; together they are every owner once.
    let mut seen = Vec::new();
    let mut offset = 0;
    for _ in 0..10 {
        let page = client
            .statistic(&base.clone().order_by(StatisticOrderBy::ChatTotal).offset(offset).limit(6))
            .await
            .unwrap();
        assert_eq!(page.total, Some(20));
        seen.extend(page.items.unwrap().into_iter().map(|i| i.owner.unwrap()));
        offset = page.next_offset.unwrap();
        if offset == 20 {
            break;
        }
    }
    assert_eq!(offset, 20);
    seen.sort();
    let mut expected = owners.clone();
    expected.sort();
    assert_eq!(seen, expected);
    // The client's stream does the same.
    let streamed: Vec<_> =
        futures::TryStreamExt::try_collect::<Vec<_>>(client.statistic_stream(base.clone().limit(7))).await.unwrap();
    assert_eq!(streamed.len(), 20);
}

#[tokio::test]
async fn by_owner_figures_agree_with_by_day_figures() {
    let sim = start().await;
    let client = client(&sim);
    let owner = sim.hints().statistic_owners[3].clone();
    let begin = yesterday() - 4 * DAY;
    let filter = OwnerFilter::new([owner.as_str()]);
    let days = client
        .statistic_group_by_day(
            &StatisticGroupByDayRequest::new(begin).owner_filter(filter.clone()).day_end_time(yesterday()),
        )
        .await
        .unwrap()
        .items
        .unwrap();
    assert_eq!(days.len(), 5);
    let total =
        client.statistic(&StatisticRequest::new(begin).owner_filter(filter).day_end_time(yesterday())).await.unwrap();
    assert_eq!(total.total, Some(1));
    let item = &total.items.unwrap()[0];
    assert_eq!(item.owner.as_ref(), Some(&owner));
    let data = item.data.as_ref().unwrap();
    let day = |i: usize| days[i].data.clone().unwrap();
    let new_chats: i64 = (0..5).map(|i| day(i).new_chat_cnt.unwrap()).sum();
    let new_members: i64 = (0..5).map(|i| day(i).new_member_cnt.unwrap()).sum();
    assert_eq!(data.new_chat_cnt, Some(new_chats), "new figures are summed");
    assert_eq!(data.new_member_cnt, Some(new_members));
    assert_eq!(data.chat_total, day(4).chat_total, "totals are those of the last day");
    assert_eq!(data.member_total, day(4).member_total);
}

#[tokio::test]
async fn statistics_without_owner_filter_cover_every_owner_unless_too_many_are_visible() {
    let sim = start().await;
    let raw = Raw::new(&sim).await;
    let owners = sim.hints().statistic_owners;
    let y = yesterday();
    let answer = raw.call("statistic", json!({"day_begin_time": y, "limit": 1000})).await;
    assert_eq!(errcode(&answer), 0, "{answer}");
    assert_eq!(answer["total"].as_u64().unwrap() as usize, owners.len());
    let by_day = raw.call("statistic_group_by_day", json!({"day_begin_time": y})).await;
    assert_eq!(by_day["items"].as_array().unwrap().len(), 1);

    let big = start_with(config().visible_staff(1001)).await;
    let raw = Raw::new(&big).await;
    assert_eq!(errcode(&raw.call("statistic", json!({"day_begin_time": y})).await), 81017);
    assert_eq!(errcode(&raw.call("statistic_group_by_day", json!({"day_begin_time": y})).await), 81017);
    let filtered = json!({"day_begin_time": y, "owner_filter": {"userid_list": [owners[0]]}});
    assert_eq!(errcode(&raw.call("statistic", filtered).await), 0);
}

#[tokio::test]
async fn explicit_statistics_from_a_data_file_are_served() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/company.yaml");
    let sim = start_with(config().data(wecom_groupchat_sim::DataSource::File(path.into()))).await;
    let client = client(&sim);
    let request = StatisticGroupByDayRequest::new(yesterday()).owner_filter(OwnerFilter::new(["ZhangSan"]));
    let items = client.statistic_group_by_day(&request).await.unwrap().items.unwrap();
    let data = items[0].data.as_ref().unwrap();
    assert_eq!((data.new_chat_cnt, data.chat_total, data.msg_total), (Some(2), Some(2), Some(17)));
}

#[tokio::test]
async fn extreme_days_answer_600018_not_a_dropped_connection() {
    let sim = start().await;
    let raw = Raw::new(&sim).await;
    let owner = sim.hints().statistic_owners[0].clone();
    let y = yesterday();
    let ranges = [
        (i64::MAX, None),
        (i64::MIN, None),
        (i64::MAX, Some(i64::MAX)),
        (i64::MIN, Some(i64::MIN)),
        (i64::MIN, Some(i64::MAX)),
        (i64::MAX, Some(i64::MIN)),
        (y, Some(i64::MAX)),
        (i64::MIN, Some(y)),
        (i64::MAX - DAY, Some(i64::MAX)),
    ];
    for endpoint in ["statistic", "statistic_group_by_day"] {
        for (begin, end) in ranges {
            let mut body = json!({"day_begin_time": begin, "owner_filter": {"userid_list": [owner]}});
            if let Some(end) = end {
                body["day_end_time"] = json!(end);
            }
            let (status, answer) = raw.post(endpoint, body.to_string()).await;
            assert_eq!((status, errcode(&answer)), (200, 600018), "{endpoint} {begin} {end:?}: {answer}");
        }
    }
    // Still serving.
    assert_eq!(errcode(&raw.call("statistic", json!({"day_begin_time": y})).await), 0);
}

#[tokio::test]
async fn extreme_offsets_and_limits_answer_errcodes() {
    let sim = start().await;
    let raw = Raw::new(&sim).await;
    let y = yesterday();
    let statistic = |extra: Value| {
        let mut body = json!({"day_begin_time": y});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        raw.call("statistic", body)
    };
    // A huge offset is past the end: no items, next_offset = total.
    let past = statistic(json!({"offset": i64::MAX})).await;
    assert_eq!(errcode(&past), 0, "{past}");
    assert_eq!(past["items"].as_array().unwrap().len(), 0);
    assert_eq!(past["next_offset"], past["total"]);
    let huge_limit = json!({"limit": i64::MAX});
    let negative_limit = json!({"limit": -1});
    for extra in [json!({"offset": -1}), json!({"offset": i64::MIN}), negative_limit, json!({"limit": 0}), huge_limit] {
        assert_eq!(errcode(&statistic(extra.clone()).await), 40058, "{extra}");
    }
    for extra in [json!({"offset": u64::MAX}), json!({"limit": 1e300}), json!({"order_by": i64::MIN})] {
        let code = errcode(&statistic(extra.clone()).await);
        assert!(code == 40058 || code == 40063, "{extra}: {code}");
    }
}

/// Figures per day of the owners together, from `first` to `last`.
async fn by_day_of(client: &Client, owners: &[String], first: i64, last: i64) -> Vec<StatisticData> {
    let request = StatisticGroupByDayRequest::new(first).owner_filter(OwnerFilter::new(owners)).day_end_time(last);
    let items = client.statistic_group_by_day(&request).await.unwrap().items.unwrap();
    assert_eq!(items.len() as i64, (last - first) / DAY + 1);
    items.into_iter().map(|i| i.data.unwrap()).collect()
}

fn figure(f: Option<i64>) -> i64 {
    f.expect("every figure is given")
}

#[tokio::test]
async fn statistics_follow_a_transfer_from_its_day_on() {
    // Three days behind real time: two days after the transfer, the simulator's yesterday is still a
    // day the client accepts (it checks days against the real clock).
    let sim = start_with(config().clock_offset(-3 * DAY)).await;
    let client = client(&sim);
    let hints = sim.hints();
    let old = hints.resigned_owners[0].clone();
    let new = hints.eligible_new_owners.iter().find(|u| hints.statistic_owners.contains(u)).unwrap().clone();
    let everyone = hints.statistic_owners.clone();
    let today = day_start(sim.now());
    let week = (today - 7 * DAY, today - DAY);
    let old_before = by_day_of(&client, std::slice::from_ref(&old.userid), week.0, week.1).await;
    let new_before = by_day_of(&client, std::slice::from_ref(&new), week.0, week.1).await;
    let all_before = by_day_of(&client, &everyone, week.0, week.1).await;
    let moved = old.chat_ids.len() as i64;
    assert_eq!(figure(old_before[6].chat_total), moved, "every chat of the resigned owner awaits transfer");

    let response = client.transfer(&TransferRequest::new(&old.chat_ids, &new)).await.unwrap();
    assert!(response.failed_chat_list.unwrap_or_default().is_empty());
    sim.settle_transfers();
    let moved_on = day_start(sim.now());
    sim.advance_clock(Duration::from_secs(2 * DAY as u64)).unwrap();
    let yesterday = day_start(sim.now()) - DAY;
    assert!(yesterday > moved_on);

    // What list and get say now: the new owner's chats, their members, the new owner joined in some.
    let listed = client.list(&ListRequest::new(1000).owner_filter(OwnerFilter::new([new.as_str()]))).await.unwrap();
    let owned = listed.group_chat_list.unwrap().len() as i64;
    let (mut moved_members, mut joined) = (0, 0);
    for chat in &old.chat_ids {
        let members = client.get(&GetRequest::new(chat)).await.unwrap().group_chat.member_list.unwrap();
        moved_members += members.len() as i64;
        joined += members.iter().filter(|m| m.userid.as_ref() == Some(&new) && m.join_time >= Some(moved_on)).count();
    }
    let joined = joined as i64;
    assert!(joined > 0, "the new owner joined chats they were not in");

    // The days before the transfer keep their figures, message figures included.
    let first = week.0;
    let old_after = by_day_of(&client, std::slice::from_ref(&old.userid), first, yesterday).await;
    let new_after = by_day_of(&client, std::slice::from_ref(&new), first, yesterday).await;
    let all_after = by_day_of(&client, &everyone, first, yesterday).await;
    // (Eight, not seven, should midnight have passed between the first figures and the transfer.)
    let before_days = ((moved_on - first) / DAY) as usize;
    let kept = before_days.min(old_before.len());
    assert_eq!(old_after[..kept], old_before[..kept]);
    assert_eq!(new_after[..kept], new_before[..kept]);
    assert_eq!(all_after[..kept], all_before[..kept]);

    // From the transfer's day on, the chats and their members are the new owner's.
    let last_before = &new_before[6];
    for (i, (old_day, new_day)) in old_after.iter().zip(&new_after).enumerate().skip(before_days) {
        let on_the_day = i == before_days;
        assert_eq!((old_day.chat_total, old_day.member_total), (Some(0), Some(0)), "day {i}");
        assert_eq!(figure(new_day.chat_total), figure(last_before.chat_total) + moved, "day {i}");
        assert_eq!(figure(new_day.chat_total), owned, "day {i}: as list says");
        assert_eq!(figure(new_day.member_total), figure(last_before.member_total) + moved_members, "day {i}");
        assert_eq!(new_day.new_chat_cnt, Some(0), "day {i}: a transferred chat is not a new one");
        assert_eq!(figure(new_day.new_member_cnt), if on_the_day { joined } else { 0 }, "day {i}");
        // Over everyone nothing changes but the new owner's joins.
        let (all, all_last) = (&all_after[i], &all_before[6]);
        assert_eq!(all.chat_total, all_last.chat_total, "day {i}");
        assert_eq!(figure(all.member_total), figure(all_last.member_total) + joined, "day {i}");
        assert_eq!(figure(all.new_member_cnt), if on_the_day { joined } else { 0 }, "day {i}");
    }

    // By owner, the new yesterday agrees.
    let request = StatisticRequest::new(yesterday).owner_filter(OwnerFilter::new([old.userid.as_str(), new.as_str()]));
    let items = client.statistic(&request).await.unwrap().items.unwrap();
    let chat_total = |userid: &str| {
        let item = items.iter().find(|i| i.owner.as_deref() == Some(userid)).unwrap();
        figure(item.data.as_ref().unwrap().chat_total)
    };
    assert_eq!((chat_total(&old.userid), chat_total(&new)), (0, owned));
}

#[tokio::test]
async fn statistics_stay_consistent_over_days_with_transfers() {
    let sim = start_with(config().clock_offset(-10 * DAY)).await;
    let client = client(&sim);
    let hints = sim.hints();
    let everyone = hints.statistic_owners.clone();
    let first = day_start(sim.now()) - 20 * DAY;
    // A transfer of every resigned owner's chats on each of three days, to a different new owner.
    for (old, new) in hints.resigned_owners.iter().zip(&hints.eligible_new_owners).take(3) {
        let response = client.transfer(&TransferRequest::new(&old.chat_ids, new)).await.unwrap();
        assert!(response.failed_chat_list.unwrap_or_default().is_empty());
        sim.settle_transfers();
        sim.advance_clock(Duration::from_secs(DAY as u64)).unwrap();
    }
    let last = day_start(sim.now()) - DAY;
    let mut owners = everyone.clone();
    owners.extend(hints.eligible_new_owners.iter().take(3).cloned());
    owners.sort();
    owners.dedup();

    // Every owner, every day: message figures within the totals, "new" ones too.
    let mut sums: Vec<[i64; 4]> = vec![[0; 4]; ((last - first) / DAY + 1) as usize];
    for owner in &owners {
        for (i, d) in by_day_of(&client, std::slice::from_ref(owner), first, last).await.iter().enumerate() {
            let [chats, members] = [figure(d.chat_total), figure(d.member_total)];
            assert!(figure(d.chat_has_msg) <= chats && figure(d.member_has_msg) <= members, "{owner} day {i}");
            assert!(figure(d.new_chat_cnt) <= chats && figure(d.new_member_cnt) <= members, "{owner} day {i}");
            let sum = &mut sums[i];
            *sum =
                [sum[0] + chats, sum[1] + members, sum[2] + figure(d.new_chat_cnt), sum[3] + figure(d.new_member_cnt)];
        }
    }
    // Over everyone, a transfer moves totals without making or losing any: each day's totals are the day
    // before's plus that day's new chats and members.
    for (i, pair) in sums.windows(2).enumerate() {
        let ([chats, members, _, _], [chats2, members2, new_chats, new_members]) = (pair[0], pair[1]);
        assert_eq!((chats2, members2), (chats + new_chats, members + new_members), "day {}", i + 1);
    }
    // Every new owner has statistics.
    let statistic_owners = sim.hints().statistic_owners;
    assert!(hints.eligible_new_owners.iter().take(3).all(|u| statistic_owners.contains(u)));
}
