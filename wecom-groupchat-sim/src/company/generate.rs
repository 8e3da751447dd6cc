//! Deterministic companies: the demo company (as [`CompanyData`]), large benchmark companies (members
//! made on demand) and member lists. Everything comes from the seed and the anchor (00:00 UTC+8 of the
//! day the simulator starts): every generated time lies before the anchor, so the same seed gives the
//! same company all day long, and no one joins a chat in the future.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use wecom_groupchat::time;
use wecom_groupchat::types::{
    AutoCreateRoom, ChatStatus, GroupChatMember, Invitor, JoinScene, JoinWay, JoinWayScene, MemberType,
};

use super::data::{ChatData, CompanyData, StaffData, StatisticsData};
use super::{Chat, Company, Members, Staff};
use crate::config::Scale;

const SURNAMES: [(&str, &str); 12] = [
    ("张", "Zhang"),
    ("王", "Wang"),
    ("李", "Li"),
    ("赵", "Zhao"),
    ("刘", "Liu"),
    ("陈", "Chen"),
    ("杨", "Yang"),
    ("黄", "Huang"),
    ("周", "Zhou"),
    ("吴", "Wu"),
    ("孙", "Sun"),
    ("朱", "Zhu"),
];
const GIVEN: [(&str, &str); 12] = [
    ("伟", "Wei"),
    ("芳", "Fang"),
    ("娜", "Na"),
    ("敏", "Min"),
    ("静", "Jing"),
    ("磊", "Lei"),
    ("军", "Jun"),
    ("洋", "Yang"),
    ("杰", "Jie"),
    ("涛", "Tao"),
    ("丽", "Li"),
    ("强", "Qiang"),
];
const TOPICS: [&str; 10] = [
    "销售客服",
    "售后服务",
    "VIP会员",
    "新品体验",
    "团购福利",
    "课程答疑",
    "家长交流",
    "门店活动",
    "老客户",
    "渠道合作",
];
const NICKNAMES: [&str; 8] = ["顾客老王", "客服小张", "阿强", "Lucy", "小明妈妈", "Tony", "晓雯", "大刘"];
const NOTICES: [&str; 4] =
    ["文明沟通,拒绝脏话", "本群仅用于售后服务,请勿发广告", "每周五晚8点直播答疑", "新品上市,欢迎咨询"];
const ID_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn token(rng: &mut ChaCha8Rng, prefix: &str, len: usize) -> String {
    let mut s = String::with_capacity(prefix.len() + len);
    s.push_str(prefix);
    s.extend((0..len).map(|_| ID_CHARS[rng.random_range(0..ID_CHARS.len())] as char));
    s
}

/// A new chat id, shaped like WeCom's (`wr` and 30 more characters).
pub(crate) fn chat_id(rng: &mut ChaCha8Rng) -> String {
    token(rng, "wr", 30)
}

fn person_name(rng: &mut ChaCha8Rng) -> String {
    let (s, _) = SURNAMES[rng.random_range(0..SURNAMES.len())];
    let (g, _) = GIVEN[rng.random_range(0..GIVEN.len())];
    format!("{s}{g}")
}

/// When a member joined: at least a minute after the chat was created (when there was time for it),
/// at most `within` seconds after, and before `anchor`.
fn join_time(rng: &mut ChaCha8Rng, create_time: i64, within: i64, anchor: i64) -> i64 {
    let span = within.min(anchor.saturating_sub(create_time));
    if span <= 60 { create_time } else { create_time + rng.random_range(60..span) }
}

/// A member list: the owner first, a few other staff, then external contacts. Join times lie between
/// `create_time` and `anchor`.
fn make_members(
    rng: &mut ChaCha8Rng,
    owner: (&str, &str),
    staff: &[(&str, &str)],
    count: usize,
    (create_time, anchor): (i64, i64),
    states: &[&str],
) -> Vec<GroupChatMember> {
    let mut members = Vec::with_capacity(count);
    if count == 0 {
        return members;
    }
    members.push(
        GroupChatMember::new()
            .userid(owner.0)
            .member_type(MemberType::Internal)
            .join_time(create_time)
            .join_scene(JoinScene::DirectInvite)
            .name(owner.1),
    );
    let internal = if staff.is_empty() { 0 } else { rng.random_range(0..=3.min(count - 1)).min(staff.len()) };
    for _ in 0..internal {
        let (userid, name) = staff[rng.random_range(0..staff.len())];
        if members.iter().any(|m| m.userid.as_deref() == Some(userid)) {
            continue;
        }
        let mut m = GroupChatMember::new()
            .userid(userid)
            .member_type(MemberType::Internal)
            .join_time(join_time(rng, create_time, time::DAY, anchor))
            .join_scene(JoinScene::DirectInvite)
            .invitor(Invitor::new().userid(owner.0))
            .name(name);
        if rng.random_bool(0.3) {
            m = m.group_nickname(format!("客服{name}"));
        }
        members.push(m);
    }
    while members.len() < count {
        let scene = match rng.random_range(0..10) {
            0..=4 => JoinScene::DirectInvite,
            5..=6 => JoinScene::InviteLink,
            _ => JoinScene::QrCode,
        };
        let mut m = GroupChatMember::new()
            .userid(token(rng, "wm", 30))
            .member_type(MemberType::External)
            .join_time(join_time(rng, create_time, 90 * time::DAY, anchor))
            .join_scene(scene)
            .name(person_name(rng));
        if rng.random_bool(0.8) {
            m = m.unionid(token(rng, "oz", 26));
        }
        if scene == JoinScene::QrCode {
            if !states.is_empty() && rng.random_bool(0.7) {
                m = m.state(states[rng.random_range(0..states.len())]);
            }
        } else {
            // Only an internal inviter is reported.
            let inviter = if members.len() > 1 && rng.random_bool(0.3) {
                members[rng.random_range(0..members.len())].userid.clone().unwrap_or_default()
            } else {
                owner.0.to_string()
            };
            if !inviter.starts_with("wm") {
                m = m.invitor(Invitor::new().userid(inviter));
            }
        }
        if rng.random_bool(0.25) {
            m = m.group_nickname(NICKNAMES[rng.random_range(0..NICKNAMES.len())]);
        }
        members.push(m);
    }
    members
}

/// The demo company: 40 staff (6 resigned, 3 without customer contact, 3 not real-name verified),
/// 300 chats (those of resigned owners awaiting transfer, some already transferred), 3 join ways.
/// Times are relative to the start of `now`'s day (UTC+8), so any `now` of one day gives the same data.
pub(crate) fn demo(seed: u64, now: i64) -> CompanyData {
    let anchor = time::day_start(now);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut combos: Vec<(usize, usize)> =
        (0..SURNAMES.len()).flat_map(|s| (0..GIVEN.len()).map(move |g| (s, g))).collect();
    combos.shuffle(&mut rng);
    let staff: Vec<StaffData> = combos[..40]
        .iter()
        .enumerate()
        .map(|(i, (s, g))| {
            StaffData::new(format!("{}{}", SURNAMES[*s].1, GIVEN[*g].1))
                .name(format!("{}{}", SURNAMES[*s].0, GIVEN[*g].0))
                .resigned(i < 6)
                .customer_contact(!(6..9).contains(&i))
                .real_name(!(9..12).contains(&i))
        })
        .collect();
    let pairs: Vec<(&str, &str)> =
        staff.iter().map(|s| (s.userid.as_str(), s.name.as_deref().unwrap_or(&s.userid))).collect();
    let active: Vec<(&str, &str)> = pairs[12..].to_vec();
    let states = ["ch_spring", "ch_miniapp"];

    let mut chats = Vec::with_capacity(300);
    for i in 0..300 {
        // A quarter to resigned owners (the first one has the most), the rest to active owners.
        let owner = if i < 40 {
            0
        } else if i < 75 {
            1 + (i % 5)
        } else if i % 9 == 0 {
            9 + (i % 3)
        } else {
            12 + rng.random_range(0..28)
        };
        let create_time = anchor - rng.random_range(10 * time::DAY..700 * time::DAY);
        let count = if i == 7 { 60 } else { rng.random_range(3..=30) };
        let members = make_members(&mut rng, pairs[owner], &active, count, (create_time, anchor), &states);
        let internal: Vec<String> = members
            .iter()
            .filter(|m| m.member_type == Some(MemberType::Internal))
            .filter_map(|m| m.userid.clone())
            .collect();
        let mut chat = ChatData::new(chat_id(&mut rng), pairs[owner].0)
            .name(format!("{}{}群", TOPICS[rng.random_range(0..TOPICS.len())], i + 1))
            .members(members);
        chat.create_time = Some(create_time);
        if rng.random_bool(0.4) {
            chat.notice = Some(NOTICES[rng.random_range(0..NOTICES.len())].to_string());
        }
        chat.admins = internal.into_iter().skip(1).take(2).collect();
        if i % 10 == 3 {
            chat.opengid = Some(token(&mut rng, "oG", 26));
        }
        // Earlier transfers: some chats of active owners are already "transferred".
        if owner >= 12 && i % 15 == 1 {
            chat.status = Some(ChatStatus::Transferred);
        }
        chats.push(chat);
    }

    let ids = |range: std::ops::Range<usize>| chats[range].iter().map(|c| c.chat_id.clone()).collect::<Vec<_>>();
    let join_ways = vec![
        JoinWay::new(hex_id(&mut rng))
            .scene(JoinWayScene::QrCode)
            .remark("春季活动二维码")
            .auto_create_room(AutoCreateRoom::Yes)
            .room_base_name("春季活动群")
            .room_base_id(1)
            .chat_id_list(ids(100..103))
            .state("ch_spring")
            .mark_source(false),
        JoinWay::new(hex_id(&mut rng))
            .scene(JoinWayScene::MiniProgram)
            .remark("小程序入群按钮")
            .auto_create_room(AutoCreateRoom::No)
            .chat_id_list(ids(110..112))
            .state("ch_miniapp"),
        JoinWay::new(hex_id(&mut rng)).scene(JoinWayScene::QrCode).chat_id_list(ids(120..121)),
    ];
    let join_ways = join_ways
        .into_iter()
        .map(|w| match w.scene {
            Some(JoinWayScene::QrCode) => {
                let url = qr_code_url(&w.config_id);
                w.qr_code(url)
            }
            _ => w,
        })
        .collect();

    CompanyData {
        visible_staff: None,
        staff,
        chats,
        join_ways,
        statistics: StatisticsData { auto: true, days: Vec::new() },
    }
}

/// A config id: 32 hex digits.
pub(crate) fn hex_id(rng: &mut ChaCha8Rng) -> String {
    format!("{:032x}", rng.random::<u128>())
}

/// The QR code URL of a join way (scene 2).
pub(crate) fn qr_code_url(config_id: &str) -> String {
    format!("https://wework.qpic.cn/wwpic/sim/{config_id}/0")
}

/// A large company for benchmarks: members are made on demand, statistics synthesized. Times are
/// relative to the start of `now`'s day (UTC+8).
pub(crate) fn scale(scale: &Scale, seed: u64, now: i64) -> Result<Company, String> {
    scale.check()?;
    let anchor = time::day_start(now);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut company = Company::empty(seed);
    company.anchor = anchor;
    let staff = scale.staff_count();
    for i in 0..staff {
        let (s, g) = (SURNAMES[i % SURNAMES.len()], GIVEN[(i / SURNAMES.len()) % GIVEN.len()]);
        company.push_staff(Staff {
            userid: format!("{}{}{:05}", s.1, g.1, i),
            name: format!("{}{}", s.0, g.0),
            resigned: i % 10 == 9,
            customer_contact: i % 17 != 16,
            real_name: i % 19 != 18,
        })?;
    }
    let owners: Vec<u32> = (0..staff as u32).filter(|i| company.staff[*i as usize].customer_contact).collect();
    for i in 0..scale.groups {
        let owner = owners[rng.random_range(0..owners.len())];
        let count = if i == 0 && scale.large_group_members > 0 {
            scale.large_group_members
        } else {
            scale.members_per_group.max(1)
        };
        company.push_chat(Chat {
            chat_id: chat_id(&mut rng),
            name: format!("{}{}群", TOPICS[i % TOPICS.len()], i + 1),
            owner,
            create_time: anchor - rng.random_range(10 * time::DAY..700 * time::DAY),
            notice: None,
            admins: Vec::new(),
            members: Members::Generated { count: count as u32 },
            status: if company.staff[owner as usize].resigned { ChatStatus::Resigned } else { ChatStatus::Normal },
            opengid: None,
            pending_owner: None,
            onjob_transfers: Vec::new(),
            dismissed: false,
        })?;
    }
    company.visible_staff = staff;
    company.synthesize_statistics();
    Ok(company)
}

/// The member list of a generated chat, the same on every call.
pub(crate) fn members(company: &Company, chat: u32, count: usize) -> Vec<GroupChatMember> {
    let c = &company.chats[chat as usize];
    let mut rng = ChaCha8Rng::seed_from_u64(company.member_seed ^ u64::from(chat).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    rng.set_stream(4);
    let owner = &company.staff[c.owner as usize];
    // A few other staff as internal candidates, picked from the seed.
    let candidates: Vec<(&str, &str)> = (0..4)
        .map(|_| &company.staff[rng.random_range(0..company.staff.len())])
        .filter(|s| !s.resigned && s.userid != owner.userid)
        .map(|s| (s.userid.as_str(), s.name.as_str()))
        .collect();
    make_members(&mut rng, (&owner.userid, &owner.name), &candidates, count, (c.create_time, company.anchor), &[])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::company::STAT_DAYS;

    const NOW: i64 = 1_764_000_000;

    #[test]
    fn demo_is_deterministic_and_varied() {
        let a = demo(1, NOW);
        assert_eq!(a, demo(1, NOW));
        assert_ne!(a.chats[0].chat_id, demo(2, NOW).chats[0].chat_id);
        assert_eq!(a.staff.len(), 40);
        assert_eq!(a.staff.iter().filter(|s| s.resigned).count(), 6);
        assert_eq!(a.chats.len(), 300);
        let members: Vec<_> = a.chats.iter().flat_map(|c| &c.members).collect();
        assert!(members.iter().any(|m| m.unionid.is_some()));
        assert!(members.iter().any(|m| m.invitor.is_some()));
        assert!(members.iter().any(|m| m.state.is_some()));
        assert!(members.iter().any(|m| m.join_scene == Some(JoinScene::InviteLink)));
        assert!(members.iter().any(|m| m.group_nickname.is_some()));
        let company = Company::from_data(a, 1, NOW).unwrap();
        assert_eq!(company.join_ways.len(), 3);
        assert!(company.chats.iter().any(|c| c.status == ChatStatus::Transferred));
        assert!(company.chats.iter().any(|c| c.status == ChatStatus::Resigned));
    }

    #[test]
    fn the_demo_is_the_same_all_day_and_moves_with_the_day() {
        let midnight = time::day_start(NOW);
        let a = demo(1, midnight);
        assert_eq!(a, demo(1, midnight + 1));
        assert_eq!(a, demo(1, midnight + time::DAY - 1), "the last second of the day");
        let tomorrow = demo(1, midnight + time::DAY);
        assert_ne!(a, tomorrow);
        // Only the times move: a day later, everything is a day later.
        assert_eq!(tomorrow.chats[0].chat_id, a.chats[0].chat_id);
        assert_eq!(tomorrow.chats[0].create_time, a.chats[0].create_time.map(|t| t + time::DAY));
    }

    #[test]
    fn nobody_joins_before_the_chat_exists_or_in_the_future() {
        for seed in 0..20 {
            let data = demo(seed, NOW);
            for chat in &data.chats {
                let created = chat.create_time.unwrap();
                assert!(created < NOW);
                for m in &chat.members {
                    let joined = m.join_time.unwrap();
                    assert!(created <= joined && joined < time::day_start(NOW), "{}: {created} {joined}", chat.chat_id);
                }
            }
        }
        let company = scale(&Scale::groups(300).large_group_members(400), 3, NOW).unwrap();
        for chat in 0..300 {
            let created = company.chats[chat as usize].create_time;
            for m in company.members(chat) {
                let joined = m.join_time.unwrap();
                assert!(created <= joined && joined < time::day_start(NOW));
            }
        }
    }

    #[test]
    fn statistics_follow_the_chats_for_any_day() {
        let company = Company::from_data(demo(3, NOW), 3, NOW).unwrap();
        let today = time::day_start(NOW);
        for (owner, chats) in &company.by_owner {
            let members: usize = chats.iter().map(|c| company.members(*c).len()).sum();
            let yesterday = company.stats.day(*owner, today - time::DAY).unwrap();
            assert_eq!(yesterday.chat_total, Some(chats.len() as i64), "every chat existed by yesterday");
            assert_eq!(yesterday.member_total, Some(members as i64));
            // Day by day, totals grow by the new ones; message figures stay within the totals.
            let mut previous = company.stats.day(*owner, today - (STAT_DAYS + 1) * time::DAY).unwrap();
            for ago in (1..=STAT_DAYS).rev() {
                let day = company.stats.day(*owner, today - ago * time::DAY).unwrap();
                assert_eq!(day.chat_total.unwrap(), previous.chat_total.unwrap() + day.new_chat_cnt.unwrap());
                assert_eq!(day.member_total.unwrap(), previous.member_total.unwrap() + day.new_member_cnt.unwrap());
                assert!(day.chat_has_msg <= day.chat_total && day.member_has_msg <= day.member_total);
                previous = day;
            }
            // Days past the build day have figures too (a simulator running past midnight), the same
            // on every call.
            let later = today + 10 * time::DAY;
            assert_eq!(company.stats.day(*owner, later), company.stats.day(*owner, later));
            assert_eq!(company.stats.day(*owner, later).unwrap().chat_total, Some(chats.len() as i64));
        }
        let new_chats: i64 = company
            .by_owner
            .keys()
            .flat_map(|o| (1..=STAT_DAYS).map(move |ago| (*o, ago)))
            .map(|(o, ago)| company.stats.day(o, today - ago * time::DAY).unwrap().new_chat_cnt.unwrap())
            .sum();
        assert!(new_chats > 0, "some chats were created in the last 180 days");
    }

    #[test]
    fn scale_companies_are_small_and_stable() {
        let s = Scale::groups(10_000).large_group_members(500);
        let company = scale(&s, 5, NOW).unwrap();
        assert_eq!(company.chats.len(), 10_000);
        assert_eq!(company.staff.len(), 100);
        assert_eq!(company.members(0).len(), 500);
        assert_eq!(company.members(1).len(), 3);
        assert_eq!(company.members(1), company.members(1));
        assert_eq!(company.members(0)[0].userid.as_deref(), Some(company.userid(company.chats[0].owner)));
        assert!(scale(&Scale::groups(10).members_per_group(usize::MAX), 5, NOW).is_err());
    }
}
