//! `wecom-groupchat callback serve`: the contract scripts rely on — the `callback: URL` line, one JSON line
//! per event with `dedupe_key`, redeliveries acknowledged but not printed again, other events printed with
//! their name, URL verification answered, exit 0 on SIGINT/SIGTERM, token and key never printed.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;
use wecom_groupchat::callback::CallbackCrypto;
use wecom_groupchat::events::{AppHeader, CallbackEvent, ChangeExternalChat, ChangeType, UpdateDetail};

const TOKEN: &str = "serve-test-token-8c1d";
const KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
const RECEIVE_ID: &str = "wwserve000000001";

/// `callback serve` running, its stdout lines on a channel.
struct Serve {
    child: common::Running,
    lines: mpsc::Receiver<String>,
    url: String,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Serve {
    fn start(extra: &[&str], env: &[(&str, &str)]) -> Serve {
        let mut args = vec!["callback", "serve", "--addr", "127.0.0.1:0", "--receive-id", RECEIVE_ID];
        args.extend_from_slice(extra);
        let mut child = common::Running::spawn(&args, env);
        let stdout = child.0.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let mut err = child.0.stderr.take().unwrap();
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = err.read_to_string(&mut text);
            sink.lock().unwrap().push_str(&text);
        });
        let first = lines.recv_timeout(common::RUN_TIMEOUT).expect("the `callback:` line");
        let url = first.strip_prefix("callback: ").unwrap_or_else(|| panic!("first line: {first:?}")).to_string();
        Serve { child, lines, url, stderr }
    }

    fn next_line(&self) -> Value {
        let line = self.lines.recv_timeout(common::RUN_TIMEOUT).expect("an event line");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
    }

    fn no_line_within(&self, wait: Duration) {
        if let Ok(line) = self.lines.recv_timeout(wait) {
            panic!("unexpected line: {line}");
        }
    }

    /// Sends a request to the callback URL (path and query appended); the status and body.
    fn request(&self, method: &str, query: &str, body: &str) -> (u16, String) {
        let rest = self.url.strip_prefix("http://").unwrap();
        let (host, path) = rest.split_once('/').unwrap();
        let mut stream = TcpStream::connect(host).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(
            stream,
            "{method} /{path}?{query} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        let status = answer.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let body = answer.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
        (status, body)
    }

    fn post(&self, xml: &str, nonce: &str) -> (u16, String) {
        let sealed = crypto().encrypt(xml, "1700000000", nonce).unwrap();
        self.request("POST", &sealed.post_query(), &sealed.post_body(RECEIVE_ID, Some("1000002")))
    }

    fn signal_and_exit_code(&mut self, name: &str) -> i32 {
        let status =
            std::process::Command::new("kill").args([&format!("-{name}"), &self.child.0.id().to_string()]).status();
        assert!(status.unwrap().success());
        let deadline = Instant::now() + common::RUN_TIMEOUT;
        loop {
            if let Some(status) = self.child.0.try_wait().unwrap() {
                return status.code().expect("an exit code");
            }
            assert!(Instant::now() < deadline, "still running after {name}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn crypto() -> CallbackCrypto {
    CallbackCrypto::new(TOKEN, KEY, RECEIVE_ID).unwrap()
}

fn add_member(chat: &str, members: &[&str]) -> String {
    let mut event = ChangeExternalChat::new(chat, ChangeType::Update);
    event.update_detail = Some(UpdateDetail::AddMember);
    event.mem_change_cnt = Some(members.len() as i64);
    event.mem_change_list = Some(members.iter().map(|m| m.to_string()).collect());
    event.last_mem_ver = Some("v1".into());
    event.cur_mem_ver = Some("v2".into());
    CallbackEvent::new(AppHeader::new(RECEIVE_ID, 1_700_000_000), event).to_xml()
}

#[test]
fn prints_each_event_once_answers_verification_and_stops_on_signals() {
    let mut serve = Serve::start(&["--token", TOKEN, "--aes-key", KEY, "--path", "/wecom/cb"], &[]);
    assert!(serve.url.starts_with("http://127.0.0.1:") && serve.url.ends_with("/wecom/cb"), "{}", serve.url);

    // URL verification: the plaintext only.
    let sealed = crypto().encrypt("echo-1234567890", "1700000000", "n0").unwrap();
    assert_eq!(serve.request("GET", &sealed.verify_url_query(), ""), (200, "echo-1234567890".to_string()));

    let xml = add_member("chat-1", &["u1", "u2"]);
    assert_eq!(serve.post(&xml, "n1").0, 200);
    let line = serve.next_line();
    assert_eq!(line["event"], "change_external_chat");
    assert_eq!(line["chat_id"], "chat-1");
    assert_eq!(line["update_detail"], "add_member");
    assert_eq!(line["mem_change_list"], serde_json::json!(["u1", "u2"]));
    assert_eq!(line["mem_change_cnt"], 2);
    assert_eq!(line["to_user_name"], RECEIVE_ID);
    let key = line["dedupe_key"].as_str().expect("a dedupe key").to_string();
    assert_eq!(key.len(), 64);

    // WeCom's redelivery, sealed afresh: acknowledged, not printed again.
    assert_eq!(serve.post(&xml, "n2").0, 200);
    serve.no_line_within(Duration::from_millis(300));

    // An event of another kind is printed too, under its name.
    let other = format!(
        "<xml><ToUserName><![CDATA[{RECEIVE_ID}]]></ToUserName><FromUserName>sys</FromUserName><CreateTime>1700000001</CreateTime><MsgType>event</MsgType><Event>change_external_contact</Event><ChangeType>add_external_contact</ChangeType><UserID>zhangsan</UserID></xml>"
    );
    assert_eq!(serve.post(&other, "n3").0, 200);
    let line = serve.next_line();
    assert_eq!(line["event"], "change_external_contact");
    assert_eq!(line["user_id"], "zhangsan");
    assert_ne!(line["dedupe_key"], key.as_str());

    // A forged signature is refused and prints nothing.
    let mut forged = crypto().encrypt(&add_member("chat-2", &["u3"]), "1700000000", "n4").unwrap();
    forged.signature = "0".repeat(40);
    assert_eq!(serve.request("POST", &forged.post_query(), &forged.post_body(RECEIVE_ID, None)).0, 401);
    serve.no_line_within(Duration::from_millis(200));

    assert_eq!(serve.signal_and_exit_code("TERM"), 0);
    let stderr = serve.stderr.lock().unwrap().clone();
    for secret in [TOKEN, KEY] {
        assert!(!stderr.contains(secret), "a secret in stderr: {stderr}");
    }
}

#[test]
fn token_and_key_come_from_the_environment_and_sigint_exits_0() {
    let mut serve = Serve::start(&[], &[("WECOM_CALLBACK_TOKEN", TOKEN), ("WECOM_CALLBACK_AES_KEY", KEY)]);
    assert!(serve.url.ends_with("/callback"), "{}", serve.url);
    assert_eq!(serve.post(&add_member("chat-9", &["u9"]), "n1").0, 200);
    assert_eq!(serve.next_line()["chat_id"], "chat-9");
    assert_eq!(serve.signal_and_exit_code("INT"), 0);
}

#[test]
fn a_key_of_the_wrong_length_or_a_missing_flag_exits_2_without_printing_secrets() {
    let run = common::Cli::new()
        .args(["callback", "serve", "--token", TOKEN, "--aes-key", "short", "--receive-id", RECEIVE_ID])
        .run();
    run.code(2);
    assert!(run.stderr.contains("43"), "{}", run.stderr);
    assert!(!run.stderr.contains(TOKEN) && run.stdout.is_empty(), "{}", run.stderr);

    let run = common::Cli::new().args(["callback", "serve", "--token", TOKEN, "--aes-key", KEY]).run();
    run.code(2);
    assert!(run.stderr.contains("--receive-id"), "{}", run.stderr);

    let help = common::Cli::new().env("WECOM_CALLBACK_TOKEN", TOKEN).args(["callback", "serve", "--help"]).run();
    help.ok();
    assert!(!help.stdout.contains(TOKEN), "{}", help.stdout);
}
