//! `transfer` (chats of resigned owners) and `onjob_transfer` (chats of active owners).
//!
//! The new owner is checked once for the whole call (top-level errcode); each chat is then checked on
//! its own and listed in `failed_chat_list` when it cannot move. Everything runs under the company
//! lock, so concurrent calls never move a chat twice.

use wecom_groupchat::time;
use wecom_groupchat::types::{
    ChatStatus, FailedChat, OnjobTransferRequest, OnjobTransferResponse, TransferRequest, TransferResponse,
};

use super::chats::NO_SUCH_CHAT;
use super::{CallCtx, Handle};
use crate::answer::{Failure, chat_errmsg};
use crate::company::Company;

/// errcode: invalid userid (unknown or resigned new owner).
const INVALID_USERID: i64 = 40003;
/// errcode: not real-name verified.
const NOT_REAL_NAME: i64 = 40098;
/// errcode: no customer-contact permission.
const NO_CUSTOMER_CONTACT: i64 = 84074;
/// errcode (per chat): the owner has not resigned.
const OWNER_NOT_RESIGNED: i64 = 90500;
/// errcode (per chat): the owner has resigned (use `transfer`).
const OWNER_RESIGNED: i64 = 90502;
/// errcode (per chat): the new owner is the current owner.
const OWNER_UNCHANGED: i64 = 90504;
/// errcode (per chat): a transfer of this chat is in progress.
const IN_PROGRESS: i64 = 90507;
/// errcode (per chat): the chat was already transferred.
const ALREADY_TRANSFERRED: i64 = 90508;
/// errcode (per chat): transferred too often (on-the-job: 2 per 90 natural days).
const TOO_OFTEN: i64 = 40128;
/// errcode (per chat): the daily quota of one person's chats to one new owner is used up.
const DAILY_QUOTA: i64 = 45009;

/// Chats of one person one new owner may receive per day.
pub(crate) const DAILY_LIMIT: u32 = 300;
/// On-the-job transfers allowed per chat in [`ONJOB_WINDOW_DAYS`].
pub(crate) const ONJOB_LIMIT: usize = 2;
/// Natural days of the on-the-job limit.
pub(crate) const ONJOB_WINDOW_DAYS: i64 = 90;

/// The new owner must exist, be active, have customer contact and be real-name verified.
fn check_new_owner(c: &Company, userid: &str) -> Result<u32, Failure> {
    let id = c
        .staff_id(userid)
        .ok_or_else(|| Failure::new(INVALID_USERID, format!("new_owner `{userid}` is not a member of the corp")))?;
    let s = &c.staff[id as usize];
    if s.resigned {
        return Err(Failure::new(INVALID_USERID, format!("new_owner `{userid}` has resigned")));
    }
    if !s.customer_contact {
        return Err(Failure::new(NO_CUSTOMER_CONTACT, format!("new_owner `{userid}` has no customer contact")));
    }
    if !s.real_name {
        return Err(Failure::new(NOT_REAL_NAME, format!("new_owner `{userid}` is not real-name verified")));
    }
    Ok(id)
}

fn failed(chat_id: &str, errcode: i64) -> FailedChat {
    FailedChat::new(chat_id).errcode(errcode).errmsg(chat_errmsg(errcode))
}

/// Takes one unit of the (old owner, new owner, today in UTC+8) quota, if any is left. `transfer` and
/// `onjob_transfer` share it: the notes give both "≤ 300 per person per day".
fn take_quota(c: &mut Company, old: u32, new: u32, now: i64) -> bool {
    let used = c.transfer_quota.entry((old, new, time::day_start(now))).or_default();
    if *used >= DAILY_LIMIT {
        return false;
    }
    *used += 1;
    true
}

/// Checks the new owner once, then each chat: `refuse` gives the per-chat errcode of a chat that cannot
/// move (or `None`), `apply` moves one that can. Returns the chats that did not move.
fn transfer_each(
    c: &mut Company,
    new_owner: &str,
    chat_ids: &[String],
    mut refuse: impl FnMut(&mut Company, u32, u32) -> Option<i64>,
    mut apply: impl FnMut(&mut Company, u32, u32),
) -> Result<Vec<FailedChat>, Failure> {
    let new_owner = check_new_owner(c, new_owner)?;
    let mut failures = Vec::new();
    for chat_id in chat_ids {
        let Some(id) = c.chat_id(chat_id) else {
            failures.push(failed(chat_id, NO_SUCH_CHAT));
            continue;
        };
        match refuse(c, id, new_owner) {
            Some(code) => failures.push(failed(chat_id, code)),
            None => apply(c, id, new_owner),
        }
    }
    Ok(failures)
}

impl Handle for TransferRequest {
    fn handle(self, c: &mut Company, ctx: &CallCtx) -> Result<TransferResponse, Failure> {
        let refuse = |c: &mut Company, id: u32, new_owner: u32| {
            let chat = &c.chats[id as usize];
            let old = chat.owner;
            if chat.pending_owner.is_some() || chat.status == ChatStatus::Transferring {
                Some(IN_PROGRESS)
            } else if old == new_owner {
                Some(OWNER_UNCHANGED)
            } else if !c.staff[old as usize].resigned {
                Some(if chat.status == ChatStatus::Transferred { ALREADY_TRANSFERRED } else { OWNER_NOT_RESIGNED })
            } else if !take_quota(c, old, new_owner, ctx.now()) {
                Some(DAILY_QUOTA)
            } else {
                None
            }
        };
        // Resigned → transferring now → transferred once the transfer settles (the new owner joins then).
        let apply = |c: &mut Company, id: u32, new_owner: u32| {
            let chat = &mut c.chats[id as usize];
            chat.pending_owner = Some(new_owner);
            chat.status = ChatStatus::Transferring;
            c.pending.insert((ctx.now_ms.saturating_add(c.settle_ms), id));
        };
        let failures = transfer_each(c, &self.new_owner, &self.chat_id_list, refuse, apply)?;
        let mut response = TransferResponse::new();
        response.failed_chat_list = Some(failures);
        Ok(response)
    }
}

impl Handle for OnjobTransferRequest {
    fn handle(self, c: &mut Company, ctx: &CallCtx) -> Result<OnjobTransferResponse, Failure> {
        let refuse = |c: &mut Company, id: u32, new_owner: u32| {
            let chat = &c.chats[id as usize];
            let old = chat.owner;
            let recent =
                chat.onjob_transfers.iter().filter(|t| time::days_ago(**t, ctx.now()) < ONJOB_WINDOW_DAYS).count();
            if chat.pending_owner.is_some() || chat.status == ChatStatus::Transferring {
                Some(IN_PROGRESS)
            } else if c.staff[old as usize].resigned {
                Some(OWNER_RESIGNED)
            } else if old == new_owner {
                Some(OWNER_UNCHANGED)
            } else if recent >= ONJOB_LIMIT {
                Some(TOO_OFTEN)
            } else if !take_quota(c, old, new_owner, ctx.now()) {
                Some(DAILY_QUOTA)
            } else {
                None
            }
        };
        // Takes effect at once; the new owner joins the chat if they were not in it.
        let apply = |c: &mut Company, id: u32, new_owner: u32| {
            c.set_owner(id, new_owner, ctx.now());
            c.chats[id as usize].onjob_transfers.push(ctx.now());
        };
        let failures = transfer_each(c, &self.new_owner, &self.chat_id_list, refuse, apply)?;
        let mut response = OnjobTransferResponse::new();
        response.failed_chat_list = Some(failures);
        Ok(response)
    }
}
