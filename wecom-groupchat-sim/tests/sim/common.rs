//! Helpers: a simulator with the demo company, a client pointed at it, and a plain HTTP caller
//! (reqwest without the SDK) to send what the client would refuse to send.

use std::time::Duration;

use serde_json::Value;
use wecom_groupchat::Client;
use wecom_groupchat::retry::RetryPolicy;
use wecom_groupchat_sim::{SimConfig, Simulator};

/// The demo company; transfers stay "transferring" until a test settles them.
pub fn config() -> SimConfig {
    SimConfig::default().transfer_settle(Duration::from_secs(3600))
}

pub async fn start() -> Simulator {
    start_with(config()).await
}

pub async fn start_with(config: SimConfig) -> Simulator {
    Simulator::start(config).await.expect("the simulator starts")
}

/// Retries with tiny backoffs, so fault tests stay fast.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy::default().with_backoff(Duration::from_millis(1), Duration::from_millis(5))
}

pub fn client(sim: &Simulator) -> Client {
    sim.client_builder().retry(fast_retry()).timeout(Duration::from_secs(10)).build().expect("client builds")
}

pub fn path(endpoint: &str) -> &'static str {
    wecom_groupchat::endpoints::by_name(endpoint).expect("known endpoint").path
}

pub fn errcode(v: &Value) -> i64 {
    v["errcode"].as_i64().expect("errcode is present")
}

/// Plain HTTP, as any client speaking WeCom's wire format would.
pub struct Raw {
    pub http: reqwest::Client,
    pub base: String,
    pub token: String,
}

impl Raw {
    pub async fn new(sim: &Simulator) -> Raw {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
        let base = sim.base_url();
        let answer = gettoken(&http, &base, sim.corp_id(), sim.corp_secret()).await;
        assert_eq!(errcode(&answer), 0, "{answer}");
        let token = answer["access_token"].as_str().unwrap().to_string();
        Raw { http, base, token }
    }

    /// POSTs a body to an endpoint with this token; returns the HTTP status and the JSON answer.
    pub async fn post(&self, endpoint: &str, body: impl Into<reqwest::Body>) -> (u16, Value) {
        self.post_with_token(endpoint, Some(&self.token), body).await
    }

    pub async fn post_with_token(
        &self,
        endpoint: &str,
        token: Option<&str>,
        body: impl Into<reqwest::Body>,
    ) -> (u16, Value) {
        let mut request = self.http.post(format!("{}{}", self.base, path(endpoint))).body(body);
        if let Some(token) = token {
            request = request.query(&[("access_token", token)]);
        }
        let response = request.send().await.expect("the simulator answers");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
        (status, json)
    }

    /// POSTs JSON and expects HTTP 200.
    pub async fn call(&self, endpoint: &str, body: Value) -> Value {
        let (status, answer) = self.post(endpoint, body.to_string()).await;
        assert_eq!(status, 200, "{answer}");
        answer
    }

    pub async fn control_get(&self, path: &str) -> Value {
        self.http.get(format!("{}{path}", self.base)).send().await.unwrap().json().await.unwrap()
    }

    pub async fn control_post(&self, path: &str, body: &str) -> (u16, Value) {
        let response = self.http.post(format!("{}{path}", self.base)).body(body.to_string()).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }
}

pub async fn gettoken(http: &reqwest::Client, base: &str, corp_id: &str, secret: &str) -> Value {
    http.get(format!("{base}/cgi-bin/gettoken"))
        .query(&[("corpid", corp_id), ("corpsecret", secret)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}
