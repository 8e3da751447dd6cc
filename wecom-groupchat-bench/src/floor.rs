//! The floor: the least a program can do to make the same call with `reqwest` — a fixed token, the URL
//! parsed once, a pre-encoded body, the answer read in one piece and decoded. No validation, rate
//! limiter, token cache, retry loop, tracing span or body cap. Our client's overhead is measured
//! against it.

use bytes::Bytes;
use reqwest::Url;
use reqwest::header::{CONTENT_TYPE, HeaderValue};
use serde::de::DeserializeOwned;
use wecom_groupchat::wire::Envelope;

/// A hand-written caller of one endpoint.
#[derive(Debug, Clone)]
pub struct Floor {
    http: reqwest::Client,
    url: Url,
}

/// Fetches a token the plain way: `GET /cgi-bin/gettoken?corpid=…&corpsecret=…`.
pub async fn fetch_token(
    http: &reqwest::Client,
    base_url: &str,
    corp_id: &str,
    secret: &str,
) -> Result<String, String> {
    let url = Url::parse_with_params(
        &format!("{base_url}{}", wecom_groupchat::api::TOKEN_PATH),
        [("corpid", corp_id), ("corpsecret", secret)],
    )
    .map_err(|e| e.to_string())?;
    let body = http.get(url).send().await.map_err(|e| e.to_string())?.bytes().await.map_err(|e| e.to_string())?;
    let value: serde_json::Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
    value["access_token"].as_str().map(str::to_string).ok_or_else(|| format!("no token in {value}"))
}

impl Floor {
    /// A caller of `path` (e.g. `/cgi-bin/externalcontact/groupchat/get`) with a fixed token, on its own
    /// connection pool (one kept-alive connection when used sequentially).
    pub fn new(base_url: &str, path: &str, token: &str) -> Result<Floor, String> {
        let url = Url::parse_with_params(&format!("{base_url}{path}"), [("access_token", token)])
            .map_err(|e| e.to_string())?;
        let http = reqwest::Client::builder().build().map_err(|e| e.to_string())?;
        Ok(Floor { http, url })
    }

    /// Posts `body` with the fixed token; the answer's body is still to be read.
    async fn send(&self, body: Bytes) -> Result<reqwest::Response, String> {
        self.http
            .post(self.url.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(body)
            .send()
            .await
            .map_err(|e| e.to_string())
    }

    /// Sends `body` and returns the raw answer.
    pub async fn raw(&self, body: Bytes) -> Result<Bytes, String> {
        self.send(body).await?.bytes().await.map_err(|e| e.to_string())
    }

    /// Like [`Floor::call`], but reads the body the way our client's `read_body` once did: chunk by
    /// chunk into a fresh buffer of the announced size (a copy and an allocation per call).
    pub async fn call_copying<T: DeserializeOwned + Envelope>(&self, body: Bytes) -> Result<T, String> {
        let mut response = self.send(body).await?;
        let mut buf = bytes::BytesMut::with_capacity(response.content_length().unwrap_or(8 * 1024) as usize);
        while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
            buf.extend_from_slice(&chunk);
        }
        decode_typed(&buf)
    }

    /// Sends `body` and decodes the answer as `T`, failing on a non-zero errcode (a floor that ignored
    /// errors could measure error answers).
    pub async fn call<T: DeserializeOwned + Envelope>(&self, body: Bytes) -> Result<T, String> {
        decode_typed(&self.raw(body).await?)
    }

    /// Sends `body` and decodes the answer as an untyped `serde_json::Value`.
    pub async fn call_value(&self, body: Bytes) -> Result<serde_json::Value, String> {
        let bytes = self.raw(body).await?;
        let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
        match value["errcode"].as_i64().unwrap_or(0) {
            0 => Ok(value),
            code => Err(format!("errcode {code}: {}", value["errmsg"])),
        }
    }
}

/// Decodes an answer as `T`, failing on a non-zero errcode.
fn decode_typed<T: DeserializeOwned + Envelope>(bytes: &[u8]) -> Result<T, String> {
    let value: T = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    match value.errcode() {
        0 => Ok(value),
        code => Err(format!("errcode {code}: {}", value.errmsg())),
    }
}
