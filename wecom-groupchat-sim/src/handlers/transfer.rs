//! `transfer` (chats of resigned owners) and `onjob_transfer` (chats of active owners).
//!
//! The new owner is checked once for the whole call (top-level errcode); each chat is then checked on
//! its own and listed in `failed_chat_list` when it cannot move. Everything runs under the company
//! lock, so concurrent calls never move a chat twice.

use wecom_groupchat::codes::{
    self, CHAT_NOT_FOUND, INVALID_USERID, NO_EXTERNAL_CONTACT_PERMISSION, NOT_REAL_NAME_VERIFIED,
    OWNER_ALREADY_RESIGNED, OWNER_NOT_RESIGNED, OWNER_UNCHANGED, RESIGNED_CHAT_ALREADY_TRANSFERRED,
    RESIGNED_TRANSFER_IN_PROGRESS, TRANSFERRED_TOO_OFTEN,
};
use wecom_groupchat::time;
use wecom_groupchat::types::{
    ChatStatus, FailedChat, OnjobTransferRequest, OnjobTransferResponse, TransferRequest, TransferResponse,
};

use super::{CallCtx, Handle};
use crate::answer::{Failure, chat_errmsg};
use crate::company::Company;

/// errcode (per chat) of the daily quota of one person's chats to one new owner (UNCONFIRMED: the docs tie
/// the quota to no code; this is the rate-limit code, as the notes suggest).
const DAILY_QUOTA: i64 = codes::API_FREQ_OUT_OF_LIMIT;

/// Chats of one person one new owner may receive per day.
const DAILY_LIMIT: u32 = TransferRequest::DAILY_CHATS_PER_OWNER_PAIR as u32;
/// On-the-job transfers allowed per chat in [`ONJOB_WINDOW_DAYS`].
const ONJOB_LIMIT: usize = OnjobTransferRequest::TRANSFERS_PER_CHAT as usize;
/// Natural days of the on-the-job limit.
const ONJOB_WINDOW_DAYS: i64 = OnjobTransferRequest::TRANSFERS_WINDOW_DAYS;

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
        return Err(Failure::new(
            NO_EXTERNAL_CONTACT_PERMISSION,
            format!("new_owner `{userid}` has no customer contact"),
        ));
    }
    if !s.real_name {
        return Err(Failure::new(NOT_REAL_NAME_VERIFIED, format!("new_owner `{userid}` is not real-name verified")));
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
            failures.push(failed(chat_id, CHAT_NOT_FOUND));
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
                Some(RESIGNED_TRANSFER_IN_PROGRESS)
            } else if old == new_owner {
                Some(OWNER_UNCHANGED)
            } else if !c.staff[old as usize].resigned {
                Some(if chat.status == ChatStatus::Transferred {
                    RESIGNED_CHAT_ALREADY_TRANSFERRED
                } else {
                    OWNER_NOT_RESIGNED
                })
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
                Some(RESIGNED_TRANSFER_IN_PROGRESS)
            } else if c.staff[old as usize].resigned {
                Some(OWNER_ALREADY_RESIGNED)
            } else if old == new_owner {
                Some(OWNER_UNCHANGED)
            } else if recent >= ONJOB_LIMIT {
                Some(TRANSFERRED_TOO_OFTEN)
            } else if !take_quota(c, old, new_owner, ctx.now()) {
                Some(DAILY_QUOTA)
            } else {
                None
            }
        };
        // Takes effect at once; the new owner joins the chat if they were not in it.
        let apply = |c: &mut Company, id: u32, new_owner: u32| {
            c.transfer_owner(id, new_owner, ctx.now());
            c.chats[id as usize].onjob_transfers.push(ctx.now());
        };
        let failures = transfer_each(c, &self.new_owner, &self.chat_id_list, refuse, apply)?;
        let mut response = OnjobTransferResponse::new();
        response.failed_chat_list = Some(failures);
        Ok(response)
    }
}
