//! What an event does to the mirror, decided from the event and the chat's rows alone — a pure function,
//! so every rule is tested on its own.
//!
//! - `dismiss` marks the chat at once.
//! - A member change (`add_member`, `del_member`) whose `CurMemVer` is the stored `member_version` is
//!   already in the rows: nothing to do, no call.
//! - A `del_member` whose `LastMemVer` is the stored version, naming every member who left
//!   (`MemChangeList`, as many as `MemChangeCnt` when given), is applied as it is: no call — unless a
//!   `get` of the chat is queued or in flight (its answer decides; applying the event under it could be
//!   undone by an older answer).
//! - Everything else needs a `get`: `create`; `add_member` (the new members' details are in no event);
//!   a rename, a notice or an owner change; a member change that does not follow the stored version
//!   (missed or reordered events); anything the spec does not know.

use wecom_groupchat::events::{ChangeExternalChat, ChangeType, UpdateDetail};

use crate::store::Known;

/// What to do with an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Plan {
    /// The rows already say what the event says.
    Unchanged,
    /// Remove these members and store the new version.
    RemoveMembers { userids: Vec<String>, version: Option<String> },
    /// Mark the chat dismissed.
    Dismiss,
    /// Queue a `get`, for this reason.
    Fetch(String),
}

impl Plan {
    /// How the event's row records it.
    pub(crate) fn outcome(&self) -> &'static str {
        match self {
            Plan::Unchanged => "unchanged",
            Plan::RemoveMembers { .. } => "applied",
            Plan::Dismiss => "dismissed",
            Plan::Fetch(_) => "queued",
        }
    }
}

/// Decides what `event` does to a chat whose rows say `known`.
pub(crate) fn plan(event: &ChangeExternalChat, known: &Known) -> Plan {
    let detail = match &event.change_type {
        ChangeType::Dismiss => return Plan::Dismiss,
        ChangeType::Create => return Plan::Fetch("create".into()),
        ChangeType::Update => match &event.update_detail {
            Some(detail) => detail,
            None => return Plan::Fetch("update".into()),
        },
        other => return Plan::Fetch(other.as_str().to_string()),
    };
    let stored = known.member_version.as_deref().filter(|v| !v.is_empty() && known.exists);
    let member_change = matches!(detail, UpdateDetail::AddMember | UpdateDetail::DelMember);
    if member_change && stored.is_some() && event.cur_mem_ver.as_deref() == stored {
        return Plan::Unchanged;
    }
    if *detail == UpdateDetail::DelMember
        && !known.queued
        && !known.dismissed
        && stored.is_some()
        && event.last_mem_ver.as_deref() == stored
        && event.cur_mem_ver.as_deref().is_some_and(|v| !v.is_empty())
        && let Some(left) = event.mem_change_list.as_ref().filter(|l| !l.is_empty())
        && event.mem_change_cnt.is_none_or(|n| usize::try_from(n).is_ok_and(|n| n == left.len()))
    {
        return Plan::RemoveMembers { userids: left.clone(), version: event.cur_mem_ver.clone() };
    }
    Plan::Fetch(detail.as_str().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(version: &str) -> Known {
        Known { member_version: Some(version.into()), exists: true, ..Known::default() }
    }

    fn update(detail: UpdateDetail, last: &str, cur: &str, list: &[&str]) -> ChangeExternalChat {
        let mut e = ChangeExternalChat::new("wr1", ChangeType::Update);
        e.update_detail = Some(detail);
        e.last_mem_ver = Some(last.into());
        e.cur_mem_ver = Some(cur.into());
        if !list.is_empty() {
            e.mem_change_list = Some(list.iter().map(|s| s.to_string()).collect());
            e.mem_change_cnt = Some(list.len() as i64);
        }
        e
    }

    #[test]
    fn a_member_change_already_stored_costs_nothing() {
        assert_eq!(plan(&update(UpdateDetail::AddMember, "v1", "v2", &["a"]), &stored("v2")), Plan::Unchanged);
        assert_eq!(plan(&update(UpdateDetail::DelMember, "v1", "v2", &["a"]), &stored("v2")), Plan::Unchanged);
        // A rename at the current version still needs a get: the name is in no event.
        assert_eq!(
            plan(&update(UpdateDetail::ChangeName, "v2", "v2", &[]), &stored("v2")),
            Plan::Fetch("change_name".into())
        );
    }

    #[test]
    fn a_del_member_that_follows_the_stored_version_is_applied_without_a_get() {
        let e = update(UpdateDetail::DelMember, "v1", "v2", &["a", "b"]);
        assert_eq!(
            plan(&e, &stored("v1")),
            Plan::RemoveMembers { userids: vec!["a".into(), "b".into()], version: Some("v2".into()) }
        );
        // Not following the stored version (a missed or reordered event): a get.
        assert_eq!(plan(&e, &stored("v0")), Plan::Fetch("del_member".into()));
        // A get queued or in flight decides.
        assert_eq!(plan(&e, &Known { queued: true, ..stored("v1") }), Plan::Fetch("del_member".into()));
        // A list that does not match the count, or no list: a get.
        let mut short = e.clone();
        short.mem_change_cnt = Some(3);
        assert_eq!(plan(&short, &stored("v1")), Plan::Fetch("del_member".into()));
        let mut none = e.clone();
        none.mem_change_list = None;
        assert_eq!(plan(&none, &stored("v1")), Plan::Fetch("del_member".into()));
        // A chat never stored: a get.
        assert_eq!(plan(&e, &Known::default()), Plan::Fetch("del_member".into()));
    }

    #[test]
    fn joins_renames_notices_owners_and_creations_need_a_get() {
        assert_eq!(
            plan(&update(UpdateDetail::AddMember, "v1", "v2", &["a"]), &stored("v1")),
            Plan::Fetch("add_member".into())
        );
        for d in [UpdateDetail::ChangeName, UpdateDetail::ChangeNotice, UpdateDetail::ChangeOwner] {
            let name = d.as_str().to_string();
            assert_eq!(plan(&update(d, "v1", "v1", &[]), &stored("v1")), Plan::Fetch(name));
        }
        assert_eq!(
            plan(&ChangeExternalChat::new("wr1", ChangeType::Create), &Known::default()),
            Plan::Fetch("create".into())
        );
        assert_eq!(
            plan(&ChangeExternalChat::new("wr1", ChangeType::Update), &stored("v1")),
            Plan::Fetch("update".into())
        );
        let odd = ChangeExternalChat::new("wr1", ChangeType::from("archive"));
        assert_eq!(plan(&odd, &stored("v1")), Plan::Fetch("archive".into()));
        assert_eq!(plan(&update(UpdateDetail::from("pin"), "v1", "v1", &[]), &stored("v1")), Plan::Fetch("pin".into()));
    }

    #[test]
    fn dismiss_is_applied_at_once() {
        assert_eq!(plan(&ChangeExternalChat::new("wr1", ChangeType::Dismiss), &stored("v1")), Plan::Dismiss);
        assert_eq!(plan(&ChangeExternalChat::new("wr1", ChangeType::Dismiss), &Known::default()), Plan::Dismiss);
    }
}
