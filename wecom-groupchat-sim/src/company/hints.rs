//! Finding interesting data in a company (for demos and tests): resigned owners with chats awaiting
//! transfer, staff who may receive chats, staff who may not, owners with statistics.

use serde::{Deserialize, Serialize};
use wecom_groupchat::types::ChatStatus;

use super::Company;

/// An owner and some of their chats.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OwnerChats {
    /// Owner userid.
    pub userid: String,
    /// Their chats (for resigned owners: those awaiting transfer).
    pub chat_ids: Vec<String>,
}

/// An opengid and the chat it converts to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OpengidHint {
    /// The opengid.
    pub opengid: String,
    /// The chat.
    pub chat_id: String,
}

/// Interesting data of the company right now (the JSON of `GET /__sim/hints`). Lists are sorted by
/// userid; chat lists follow the company's order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Hints {
    /// Resigned staff owning chats that await transfer (status 1), most chats first.
    pub resigned_owners: Vec<OwnerChats>,
    /// Active staff owning chats (candidates for `onjob_transfer`), most chats first.
    pub active_owners: Vec<OwnerChats>,
    /// Staff who may receive chats: active, real-name verified, customer contact enabled.
    pub eligible_new_owners: Vec<String>,
    /// Active staff without customer contact (transfers to them fail with 84074).
    pub without_customer_contact: Vec<String>,
    /// Active staff not real-name verified (transfers to them fail with 40098).
    pub not_real_name: Vec<String>,
    /// Resigned staff.
    pub resigned_staff: Vec<String>,
    /// Owners with statistics.
    pub statistic_owners: Vec<String>,
    /// Opengids and their chats.
    pub opengids: Vec<OpengidHint>,
    /// Join-way config ids.
    pub join_way_config_ids: Vec<String>,
    /// Number of chats (dismissed ones not counted).
    pub chats: usize,
    /// Number of staff.
    pub staff: usize,
}

impl Company {
    pub(crate) fn hints(&self) -> Hints {
        let chats = self.chats.iter().filter(|c| !c.dismissed).count();
        let mut h = Hints { chats, staff: self.staff.len(), ..Hints::default() };
        let mut by_userid: Vec<u32> = (0..self.staff.len() as u32).collect();
        by_userid.sort_by(|a, b| self.userid(*a).cmp(self.userid(*b)));
        for id in by_userid {
            let s = &self.staff[id as usize];
            let owned = self.by_owner.get(&id);
            if s.resigned {
                h.resigned_staff.push(s.userid.clone());
                let waiting: Vec<String> = owned
                    .into_iter()
                    .flatten()
                    .map(|c| &self.chats[*c as usize])
                    .filter(|c| c.status == ChatStatus::Resigned && c.pending_owner.is_none())
                    .map(|c| c.chat_id.clone())
                    .collect();
                if !waiting.is_empty() {
                    h.resigned_owners.push(OwnerChats { userid: s.userid.clone(), chat_ids: waiting });
                }
            } else {
                if s.eligible_owner() {
                    h.eligible_new_owners.push(s.userid.clone());
                }
                if !s.customer_contact {
                    h.without_customer_contact.push(s.userid.clone());
                }
                if !s.real_name {
                    h.not_real_name.push(s.userid.clone());
                }
                let chats: Vec<String> = owned
                    .into_iter()
                    .flatten()
                    .filter(|c| self.chats[**c as usize].pending_owner.is_none())
                    .map(|c| self.chats[*c as usize].chat_id.clone())
                    .collect();
                if !chats.is_empty() {
                    h.active_owners.push(OwnerChats { userid: s.userid.clone(), chat_ids: chats });
                }
            }
            if self.stats.has_owner(id) {
                h.statistic_owners.push(s.userid.clone());
            }
        }
        h.resigned_owners.sort_by_key(|o| std::cmp::Reverse(o.chat_ids.len()));
        h.active_owners.sort_by_key(|o| std::cmp::Reverse(o.chat_ids.len()));
        let mut opengids: Vec<OpengidHint> = self
            .opengids
            .iter()
            .map(|(o, c)| OpengidHint { opengid: o.clone(), chat_id: self.chats[*c as usize].chat_id.clone() })
            .collect();
        opengids.sort_by(|a, b| a.opengid.cmp(&b.opengid));
        h.opengids = opengids;
        h.join_way_config_ids = self.join_ways.keys().cloned().collect();
        h
    }
}
