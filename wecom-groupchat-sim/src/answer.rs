//! Error answers: an errcode and an errmsg in WeCom's style (the official text, a hint, a help link).
//! Messages never quote a secret or a token.

use bytes::Bytes;
use wecom_groupchat::error_code;
use wecom_groupchat::wire::{self, Status};

/// A call that fails with a top-level errcode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub(crate) errcode: i64,
    pub(crate) detail: String,
}

impl Failure {
    pub(crate) fn new(errcode: i64, detail: impl Into<String>) -> Self {
        Failure { errcode, detail: detail.into() }
    }

    pub(crate) fn status(&self) -> Status {
        Status::new(self.errcode, errmsg(self.errcode, &self.detail))
    }

    pub(crate) fn body(&self) -> Bytes {
        json(&self.status())
    }
}

/// WeCom-style errmsg: `官方说明, hint: [detail], more info at …?e=CODE`.
pub(crate) fn errmsg(errcode: i64, detail: &str) -> String {
    let text = error_code::lookup(errcode).map(|e| e.zh).unwrap_or(match errcode {
        404 => "not found",
        _ => "error",
    });
    if detail.is_empty() {
        format!("{text}, more info at https://open.work.weixin.qq.com/devtool/query?e={errcode}")
    } else {
        format!("{text}, hint: [{detail}], more info at https://open.work.weixin.qq.com/devtool/query?e={errcode}")
    }
}

/// The errmsg of a per-chat failure: the server's own text where the docs show one, else the official
/// Chinese text.
pub(crate) fn chat_errmsg(errcode: i64) -> String {
    let info = error_code::lookup(errcode);
    info.and_then(|e| e.errmsg.or(Some(e.zh))).unwrap_or("error").to_string()
}

/// Encodes a body as raw UTF-8 JSON.
pub(crate) fn json<T: serde::Serialize>(value: &T) -> Bytes {
    match wire::to_json_bytes(value) {
        Ok(bytes) => Bytes::from(bytes),
        // Generated types always encode; keep a well-formed answer all the same.
        Err(_) => Bytes::from_static(br#"{"errcode":-1,"errmsg":"system busy"}"#),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wecom_groupchat::codes;

    #[test]
    fn errmsgs_carry_text_hint_and_link() {
        let m = errmsg(codes::INVALID_PARAMETER, "limit: 0, at least 1");
        assert!(m.starts_with("不合法的参数, hint: [limit: 0, at least 1]"), "{m}");
        assert!(m.ends_with(&format!("?e={}", codes::INVALID_PARAMETER)));
        assert_eq!(chat_errmsg(codes::OWNER_NOT_RESIGNED), "the owner of this chat is not resigned");
        let body = Failure::new(codes::ACCESS_TOKEN_MISSING, "").body();
        let status: Status = serde_json::from_slice(&body).unwrap();
        assert_eq!(status.errcode, codes::ACCESS_TOKEN_MISSING);
    }
}
