//! `get_follow_user_list`: the staff with customer contact enabled.

use wecom_groupchat::types::{GetFollowUserListRequest, GetFollowUserListResponse};

use super::{CallCtx, Handle};
use crate::answer::Failure;
use crate::company::Company;

impl Handle for GetFollowUserListRequest {
    /// Staff who have customer contact enabled and have not resigned (a resigned member leaves the
    /// directory), in the company's order.
    fn handle(self, c: &mut Company, _ctx: &CallCtx) -> Result<GetFollowUserListResponse, Failure> {
        let users = c.staff.iter().filter(|s| s.customer_contact && !s.resigned).map(|s| s.userid.clone());
        Ok(GetFollowUserListResponse::new().follow_user(users.collect::<Vec<_>>()))
    }
}
