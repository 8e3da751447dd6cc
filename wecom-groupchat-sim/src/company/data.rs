//! The data file format: a company as JSON or YAML. Members and join ways use the wire shapes of
//! `groupchat/get` and `groupchat/get_join_way` (the generated types), so a file reads like the API.

use std::path::Path;

use serde::{Deserialize, Serialize};
use wecom_groupchat::time;
use wecom_groupchat::types::{AddJoinWayRequest, ChatStatus, GroupChatMember, JoinWay, JoinWayScene, StatisticData};
use wecom_groupchat::validate::Validate;

use super::{Chat, Company, Members, STAT_DAYS, Staff, generate};
use crate::error::SimError;

fn yes() -> bool {
    true
}

/// A company: staff, chats, join ways and statistics.
///
/// ```yaml
/// staff:
///   - { userid: zhangsan, name: 张三 }
///   - { userid: lisi, name: 李四, resigned: true }
/// chats:
///   - chat_id: wrOgQhDgAAMYQiS5ol9G7gK9JVAAAA
///     name: 销售客服群
///     owner: lisi
///     members:
///       - { userid: lisi, type: 1, join_time: 1572505491, join_scene: 1 }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct CompanyData {
    /// Size of the app's visible range (81017 above 1,000); default: the number of staff.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visible_staff: Option<usize>,
    /// Staff, resigned ones included.
    pub staff: Vec<StaffData>,
    /// Customer group chats.
    #[serde(default)]
    pub chats: Vec<ChatData>,
    /// Join-way configs existing from the start (as `get_join_way` returns them).
    #[serde(default)]
    pub join_ways: Vec<JoinWay>,
    /// Statistics.
    #[serde(default)]
    pub statistics: StatisticsData,
}

/// A member of staff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct StaffData {
    /// userid.
    pub userid: String,
    /// Display name (returned as a member's `name` with `need_name = 1`); default: the userid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Has left the company (their chats await transfer). Default false.
    #[serde(default)]
    pub resigned: bool,
    /// Customer contact (客户联系) is enabled for them. Default true.
    #[serde(default = "yes")]
    pub customer_contact: bool,
    /// Real-name verified. Default true.
    #[serde(default = "yes")]
    pub real_name: bool,
}

impl StaffData {
    /// An active, verified member of staff with customer contact.
    pub fn new(userid: impl Into<String>) -> Self {
        StaffData { userid: userid.into(), name: None, resigned: false, customer_contact: true, real_name: true }
    }

    /// Sets the name.
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Marks them resigned.
    #[must_use]
    pub fn resigned(mut self, resigned: bool) -> Self {
        self.resigned = resigned;
        self
    }

    /// Sets customer contact.
    #[must_use]
    pub fn customer_contact(mut self, enabled: bool) -> Self {
        self.customer_contact = enabled;
        self
    }

    /// Sets real-name verification.
    #[must_use]
    pub fn real_name(mut self, verified: bool) -> Self {
        self.real_name = verified;
        self
    }
}

/// A customer group chat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ChatData {
    /// Chat id.
    pub chat_id: String,
    /// Chat name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Owner userid (must be listed in `staff`).
    pub owner: String,
    /// Creation time; default: 30 days before the simulator starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_time: Option<i64>,
    /// Group notice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
    /// Follow-up status; default 1 (resigned) when the owner resigned, else 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ChatStatus>,
    /// Mini-program opengid that `opengid_to_chatid` converts to this chat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opengid: Option<String>,
    /// Administrator userids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub admins: Vec<String>,
    /// Members, as `groupchat/get` returns them (names included).
    #[serde(default)]
    pub members: Vec<GroupChatMember>,
}

impl ChatData {
    /// A chat with an id and an owner.
    pub fn new(chat_id: impl Into<String>, owner: impl Into<String>) -> Self {
        ChatData {
            chat_id: chat_id.into(),
            name: None,
            owner: owner.into(),
            create_time: None,
            notice: None,
            status: None,
            opengid: None,
            admins: Vec::new(),
            members: Vec::new(),
        }
    }

    /// Sets the members.
    #[must_use]
    pub fn members(mut self, members: impl IntoIterator<Item = GroupChatMember>) -> Self {
        self.members = members.into_iter().collect();
        self
    }

    /// Sets the name.
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }
}

/// Statistics of the company.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct StatisticsData {
    /// Synthesize figures for every owner of a chat, for whatever day is asked: totals count the chats
    /// the owner has at the end of the day (transfers included) and their members joined by then,
    /// message figures come from the seed.
    /// `days` override them. Default true.
    #[serde(default = "yes")]
    pub auto: bool,
    /// Figures given explicitly.
    #[serde(default)]
    pub days: Vec<StatisticDay>,
}

impl Default for StatisticsData {
    fn default() -> Self {
        StatisticsData { auto: true, days: Vec::new() }
    }
}

/// The figures of one owner on one day. Give the day as `day` (`YYYY-MM-DD`, UTC+8) or as `days_ago`
/// (1 = yesterday, relative to the simulator's start, so a file stays usable over time).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct StatisticDay {
    /// Owner userid.
    pub owner: String,
    /// The day, `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub day: Option<String>,
    /// The day, as days before the start day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days_ago: Option<i64>,
    /// The figures.
    pub data: StatisticData,
}

impl CompanyData {
    /// Reads a file: JSON when it ends in `.json`, YAML otherwise.
    ///
    /// # Errors
    /// [`SimError::Data`] when it cannot be read or parsed.
    pub fn from_file(path: &Path) -> Result<Self, SimError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| SimError::Data(format!("cannot read {}: {e}", path.display())))?;
        let is_json = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"));
        let parsed = if is_json { Self::from_json_str(&text) } else { Self::from_yaml_str(&text) };
        parsed.map_err(|e| match e {
            SimError::Data(m) => SimError::Data(format!("{}: {m}", path.display())),
            other => other,
        })
    }

    /// Parses YAML (JSON is YAML too).
    ///
    /// # Errors
    /// [`SimError::Data`] naming the bad field.
    pub fn from_yaml_str(text: &str) -> Result<Self, SimError> {
        serde_path_to_error::deserialize(serde_yaml::Deserializer::from_str(text))
            .map_err(|e| SimError::Data(format!("at `{}`: {}", e.path(), e.inner())))
    }

    /// Parses JSON.
    ///
    /// # Errors
    /// [`SimError::Data`] naming the bad field.
    pub fn from_json_str(text: &str) -> Result<Self, SimError> {
        let mut de = serde_json::Deserializer::from_str(text);
        serde_path_to_error::deserialize(&mut de)
            .map_err(|e| SimError::Data(format!("at `{}`: {}", e.path(), e.inner())))
    }

    /// The deterministic demo company of this seed, as data (write it out to start a file of your own).
    /// Its times lie before the start (00:00 UTC+8) of `now`'s day, so any `now` of one day gives the
    /// same company.
    pub fn demo(seed: u64, now: i64) -> Self {
        generate::demo(seed, now)
    }
}

impl Company {
    /// Builds the company from data; `now` (its day's 00:00 UTC+8) anchors default creation times and
    /// `days_ago`.
    pub(crate) fn from_data(data: CompanyData, seed: u64, now: i64) -> Result<Self, SimError> {
        Self::build(data, seed, time::day_start(now)).map_err(SimError::Data)
    }

    fn build(data: CompanyData, seed: u64, anchor: i64) -> Result<Self, String> {
        let mut company = Company::empty(seed);
        company.anchor = anchor;
        for s in data.staff {
            if s.userid.is_empty() {
                return Err("a member of staff has an empty userid".into());
            }
            let name = s.name.unwrap_or_else(|| s.userid.clone());
            company.push_staff(Staff {
                userid: s.userid,
                name,
                resigned: s.resigned,
                customer_contact: s.customer_contact,
                real_name: s.real_name,
            })?;
        }
        for c in data.chats {
            if c.chat_id.is_empty() {
                return Err("a chat has an empty chat_id".into());
            }
            let owner = company
                .staff_id(&c.owner)
                .ok_or_else(|| format!("chat `{}`: owner `{}` is not in staff", c.chat_id, c.owner))?;
            let status = c.status.unwrap_or(if company.staff[owner as usize].resigned {
                ChatStatus::Resigned
            } else {
                ChatStatus::Normal
            });
            company.push_chat(Chat {
                name: c.name.unwrap_or_else(|| format!("客户群{}", company.chats.len() + 1)),
                chat_id: c.chat_id,
                owner,
                create_time: c.create_time.unwrap_or(anchor - 30 * time::DAY),
                notice: c.notice,
                admins: c.admins,
                members: Members::Listed(c.members),
                status,
                opengid: c.opengid,
                pending_owner: None,
                onjob_transfers: Vec::new(),
                dismissed: false,
            })?;
        }
        for way in data.join_ways {
            let way = check_join_way(way, anchor)?;
            for chat in way.chat_id_list.iter().flatten() {
                if company.chat_id(chat).is_none() {
                    return Err(format!("join way `{}`: chat `{chat}` is not in chats", way.config_id));
                }
            }
            if company.join_ways.contains_key(&way.config_id) {
                return Err(format!("join way `{}` is listed twice", way.config_id));
            }
            company.join_ways.insert(way.config_id.clone(), way);
        }
        company.visible_staff = data.visible_staff.unwrap_or(company.staff.len());
        if data.statistics.auto {
            company.synthesize_statistics();
        }
        for day in data.statistics.days {
            let owner = company
                .staff_id(&day.owner)
                .ok_or_else(|| format!("statistics: owner `{}` is not in staff", day.owner))?;
            let start = match (&day.day, day.days_ago) {
                (Some(text), None) => {
                    time::parse_day(text).ok_or_else(|| format!("statistics: `{text}` is not a YYYY-MM-DD day"))?
                }
                (None, Some(ago)) if (1..=STAT_DAYS).contains(&ago) => time::day_before(anchor, ago),
                (None, Some(ago)) => return Err(format!("statistics: days_ago {ago} is not within 1..=180")),
                _ => return Err(format!("statistics of `{}`: give exactly one of day and days_ago", day.owner)),
            };
            company.stats.explicit.insert((owner, start), day.data);
        }
        Ok(company)
    }
}

/// A join way from a file must be one the API could have made: the limits of `add_join_way` (1 to 5
/// chats, `state` ≤ 30 characters, `room_base_name` ≤ 40, scene 1 or 2), a remark of at most 30
/// characters (the API cuts longer ones) and a `qr_code` only for scene 2. A scene-2 way without a
/// `qr_code` gets one, as the API would give it.
fn check_join_way(mut way: JoinWay, now: i64) -> Result<JoinWay, String> {
    let id = way.config_id.clone();
    if id.is_empty() {
        return Err("a join way has an empty config_id".into());
    }
    let scene = way.scene.ok_or_else(|| format!("join way `{id}`: scene is required (1 or 2)"))?;
    let chats = way.chat_id_list.clone().ok_or_else(|| format!("join way `{id}`: chat_id_list is required"))?;
    let mut request = AddJoinWayRequest::new(scene, chats);
    request.room_base_name = way.room_base_name.clone();
    request.state = way.state.clone();
    request.validate_at(now).map_err(|e| format!("join way `{id}`: {e}"))?;
    let kept = wecom_groupchat::types::JoinWayConfig::REMARK_TRUNCATED_CHARS;
    if way.remark.as_ref().is_some_and(|r| r.chars().count() > kept) {
        return Err(format!("join way `{id}`: remark: more than {kept} characters"));
    }
    match scene {
        JoinWayScene::QrCode if way.qr_code.is_none() => way.qr_code = Some(generate::qr_code_url(&id)),
        JoinWayScene::QrCode => {}
        _ if way.qr_code.is_some() => {
            return Err(format!("join way `{id}`: qr_code exists only for scene 2 (QR code), not scene 1"));
        }
        _ => {}
    }
    Ok(way)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_764_000_000;

    #[test]
    fn loads_yaml_with_defaults() {
        let data = CompanyData::from_yaml_str(
            r#"
staff:
  - { userid: zhangsan, name: 张三 }
  - { userid: lisi, resigned: true }
chats:
  - chat_id: wr1
    owner: lisi
    members:
      - { userid: lisi, type: 1, join_time: 1572505491, join_scene: 1, name: 李四 }
      - { userid: wm1, type: 2, unionid: oz1, join_scene: 3, state: ch1 }
join_ways:
  - { config_id: cfg1, scene: 2, chat_id_list: [wr1], state: ch1 }
statistics:
  auto: false
  days:
    - { owner: lisi, days_ago: 1, data: { new_chat_cnt: 1, chat_total: 1 } }
"#,
        )
        .unwrap();
        let company = Company::from_data(data, 1, NOW).unwrap();
        assert_eq!(company.staff.len(), 2);
        assert!(company.staff[0].customer_contact && company.staff[0].real_name);
        assert_eq!(company.chats[0].status, ChatStatus::Resigned);
        assert_eq!(company.members(0).len(), 2);
        let lisi = company.staff_id("lisi").unwrap();
        assert_eq!(company.stats.day(lisi, time::day_before(NOW, 1)).unwrap().chat_total, Some(1));
        assert!(company.stats.day(lisi, time::day_before(NOW, 2)).is_none());
    }

    #[test]
    fn rejects_inconsistent_data() {
        let bad = [
            "staff: [{userid: a}, {userid: a}]",
            "staff: [{userid: a}]\nchats: [{chat_id: c, owner: b}]",
            "staff: [{userid: a}]\nchats: [{chat_id: c, owner: a}, {chat_id: c, owner: a}]",
            "staff: [{userid: a}]\njoin_ways: [{config_id: x, chat_id_list: [nope]}]",
            "staff: [{userid: a, typo: 1}]",
            "staff: [{userid: a}]\nstatistics: {days: [{owner: a, days_ago: 181, data: {}}]}",
        ];
        for text in bad {
            let result = CompanyData::from_yaml_str(text).and_then(|d| Company::from_data(d, 1, NOW));
            assert!(result.is_err(), "accepted: {text}");
        }
    }

    fn join_way_error(way: &str) -> String {
        let text = format!("staff: [{{userid: a}}]\nchats: [{{chat_id: c, owner: a}}]\njoin_ways: [{way}]");
        match CompanyData::from_yaml_str(&text).and_then(|d| Company::from_data(d, 1, NOW)) {
            Ok(_) => String::new(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn join_ways_from_files_follow_the_api_rules() {
        let cases = [
            ("{config_id: x, scene: 1, chat_id_list: [c, c, c, c, c, c]}", "chat_id_list"),
            ("{config_id: x, scene: 2, chat_id_list: []}", "chat_id_list"),
            ("{config_id: x, scene: 2, chat_id_list: [c], state: 0123456789012345678901234567890}", "state"),
            (
                "{config_id: x, scene: 2, chat_id_list: [c], room_base_name: '01234567890123456789012345678901234567890'}",
                "room_base_name",
            ),
            ("{config_id: x, scene: 2, chat_id_list: [c], remark: 0123456789012345678901234567890}", "remark"),
            ("{config_id: x, scene: 1, chat_id_list: [c], qr_code: 'https://x/y'}", "qr_code"),
            ("{config_id: x, scene: 3, chat_id_list: [c]}", "scene"),
            ("{config_id: x, chat_id_list: [c]}", "scene"),
            ("{config_id: x, scene: 1}", "chat_id_list"),
        ];
        for (way, field) in cases {
            let error = join_way_error(way);
            assert!(error.contains("join way `x`") && error.contains(field), "{way}: {error:?}");
        }
        // A QR-code way gets its QR code; a mini-program one needs none.
        let text = "staff: [{userid: a}]\nchats: [{chat_id: c, owner: a}]\njoin_ways: [{config_id: x, scene: 2, chat_id_list: [c]}, {config_id: y, scene: 1, chat_id_list: [c, c, c, c, c], state: '012345678901234567890123456789'}]";
        let company = Company::from_data(CompanyData::from_yaml_str(text).unwrap(), 1, NOW).unwrap();
        assert!(company.join_ways["x"].qr_code.as_deref().is_some_and(|q| q.contains('x')));
        assert_eq!(company.join_ways["y"].qr_code, None);
    }
}
