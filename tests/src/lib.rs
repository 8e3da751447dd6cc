//! Shared helpers of the end-to-end tests: a `wiremock` WeCom with a token endpoint, clients with
//! fast retries, and capture of all tracing output.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use wecom_groupchat::Client;
use wecom_groupchat::ratelimit::RateLimits;
use wecom_groupchat::retry::RetryPolicy;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// Corp id the mocks accept.
pub const CORP_ID: &str = "ww-test-corp";
/// Secret the mocks accept. Distinctive, so a leak is easy to find.
pub const SECRET: &str = "SECRET-9f27c3e1-do-not-leak";

/// Path of the token endpoint.
pub const TOKEN_PATH: &str = "/cgi-bin/gettoken";

/// Answers `gettoken` with the tokens in turn (the last one repeats), each living `expires_in` seconds.
#[derive(Debug)]
pub struct TokenSequence {
    tokens: Vec<String>,
    next: AtomicUsize,
    expires_in: i64,
    delay: Duration,
}

impl TokenSequence {
    /// Issues `tokens` in order.
    pub fn new(tokens: &[&str]) -> Self {
        TokenSequence {
            tokens: tokens.iter().map(|t| t.to_string()).collect(),
            next: AtomicUsize::new(0),
            expires_in: 7200,
            delay: Duration::ZERO,
        }
    }

    /// Tokens live this long.
    pub fn expires_in(mut self, secs: i64) -> Self {
        self.expires_in = secs;
        self
    }

    /// Each answer takes this long (to let concurrent callers pile up).
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

impl Respond for TokenSequence {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let i = self.next.fetch_add(1, Ordering::SeqCst).min(self.tokens.len() - 1);
        ResponseTemplate::new(200)
            .set_body_json(json!({
                "errcode": 0, "errmsg": "ok", "access_token": self.tokens[i], "expires_in": self.expires_in
            }))
            .set_delay(self.delay)
    }
}

/// Mounts a token endpoint that checks corp id and secret and issues `tokens` in turn.
pub async fn mount_tokens(server: &MockServer, tokens: TokenSequence) {
    Mock::given(method("GET"))
        .and(path(TOKEN_PATH))
        .and(query_param("corpid", CORP_ID))
        .and(query_param("corpsecret", SECRET))
        .respond_with(tokens)
        .mount(server)
        .await;
}

/// How many requests reached `path`.
pub async fn hits(server: &MockServer, p: &str) -> usize {
    server.received_requests().await.unwrap_or_default().iter().filter(|r| r.url.path() == p).count()
}

/// The requests that reached `path`, in order.
pub async fn requests_to(server: &MockServer, p: &str) -> Vec<Request> {
    server.received_requests().await.unwrap_or_default().into_iter().filter(|r| r.url.path() == p).collect()
}

/// Retries without real waiting: 3 retries, 1–5 ms backoff.
pub fn fast_retries() -> RetryPolicy {
    RetryPolicy::default().with_backoff(Duration::from_millis(1), Duration::from_millis(5))
}

/// A client of `server` with corp credentials, fast retries and no client-side rate limit.
pub fn client(server: &MockServer) -> Client {
    builder(server).build().unwrap()
}

/// The builder behind [`client`], for tests that change one setting.
pub fn builder(server: &MockServer) -> wecom_groupchat::ClientBuilder {
    Client::builder()
        .base_url(server.uri())
        .corp_credentials(CORP_ID, SECRET)
        .retry(fast_retries())
        .rate_limits(RateLimits::off())
        .timeout(Duration::from_secs(10))
}

/// A successful body with these extra fields.
pub fn ok(fields: Value) -> Value {
    let mut body = json!({"errcode": 0, "errmsg": "ok"});
    if let (Some(b), Some(f)) = (body.as_object_mut(), fields.as_object()) {
        b.extend(f.clone());
    }
    body
}

/// An error body.
pub fn err(code: i64, msg: &str) -> Value {
    json!({"errcode": code, "errmsg": msg})
}

/// Everything written by a tracing subscriber, kept in memory.
#[derive(Debug, Clone, Default)]
pub struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl CapturedLogs {
    /// The text written so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for CapturedLogs {
    type Writer = CapturedLogs;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Installs a global subscriber that records every event and span, of every crate, at TRACE level.
/// Call once per test process.
pub fn capture_all_tracing() -> CapturedLogs {
    let logs = CapturedLogs::default();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::FULL)
        .with_ansi(false)
        .with_writer(logs.clone())
        .init();
    logs
}

/// The README's examples compile (they run as doc tests of this crate).
#[doc = include_str!("../../README.md")]
pub mod readme {}

/// Environment variable with the URL of the Redis the tests use (`.ci/run` starts one).
pub const REDIS_URL_VAR: &str = "WECOM_TEST_REDIS_URL";

/// The Redis to test against. In CI (`CI` set) its absence fails the test; elsewhere the test passes
/// without running, after telling the developer how to run it (`None`).
pub fn redis_url() -> Option<String> {
    match std::env::var(REDIS_URL_VAR) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => {
            panic!("{REDIS_URL_VAR} is not set: in CI, .ci/run starts redis-server and sets it")
        }
        _ => {
            tell_developer(&format!(
                "the Redis token-store tests did not run: they need a redis-server. Run them with\n    \
                 redis-server --port 6390 --save '' --daemonize yes\n    \
                 {REDIS_URL_VAR}=redis://127.0.0.1:6390 cargo test --workspace"
            ));
            None
        }
    }
}

/// Writes `message` to the real stderr, once per test binary. `eprintln!` in a passing test is swallowed by
/// the test harness's output capture; a write to the `Stderr` handle is not (with `cargo test`; `cargo
/// nextest` shows a passing test's output with `--no-capture`).
fn tell_developer(message: &str) {
    static TOLD: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let mut told = TOLD.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if !told.iter().any(|m| m == message) {
        let _ = writeln!(std::io::stderr().lock(), "\nnote: {message}\n");
        told.push(message.to_string());
    }
}

/// A unique key prefix, so tests sharing one Redis do not see each other's keys.
pub fn unique_prefix(test: &str) -> String {
    format!("wecom-test:{test}:{:016x}", rand_u64())
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos());
    h.finish()
}

/// A `redis-server` of the test's own, on a free loopback port, stopped on drop (for tests that stop
/// Redis on purpose). `None` (with a message) when `redis-server` is not installed outside CI.
#[derive(Debug)]
pub struct OwnRedis {
    child: std::process::Child,
    /// `redis://127.0.0.1:PORT`.
    pub url: String,
    port: u16,
    args: Vec<String>,
}

impl OwnRedis {
    /// Starts it and waits (at most 5 s) until it answers.
    pub fn start() -> Option<OwnRedis> {
        Self::start_with(&[])
    }

    /// Starts it with more `redis-server` arguments (TLS settings, say) and waits until it answers.
    pub fn start_with(extra_args: &[String]) -> Option<OwnRedis> {
        let port = free_port();
        let child = match Self::spawn(port, extra_args) {
            Ok(c) => c,
            Err(e) if std::env::var_os("CI").is_some() => panic!("cannot start redis-server: {e}"),
            Err(e) => {
                tell_developer(&format!(
                    "a Redis test did not run: cannot start redis-server ({e}); install it (apt-get install redis-server)"
                ));
                return None;
            }
        };
        let redis = OwnRedis { child, url: format!("redis://127.0.0.1:{port}"), port, args: extra_args.to_vec() };
        redis.wait_listening();
        Some(redis)
    }

    fn spawn(port: u16, extra_args: &[String]) -> std::io::Result<std::process::Child> {
        std::process::Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(extra_args)
            .stdout(std::process::Stdio::null())
            .spawn()
    }

    fn wait_listening(&self) {
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("redis-server {:?} did not start listening on port {}", self.args, self.port);
    }

    /// Starts it again (empty: nothing is saved) on the same port, after [`OwnRedis::stop`].
    pub fn restart(&mut self) {
        self.stop();
        self.child = Self::spawn(self.port, &self.args).expect("restart redis-server");
        self.wait_listening();
    }

    /// Stops it now.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A loopback port nobody listens on (now).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// A certificate authority and a server certificate it signed for `localhost` and `127.0.0.1`, made with
/// the `openssl` command in a fresh directory. `None` (with a message) when `openssl` is missing outside CI.
#[derive(Debug)]
pub struct TestCerts {
    /// The directory holding them.
    pub dir: std::path::PathBuf,
    /// The authority's certificate (PEM).
    pub ca: std::path::PathBuf,
    /// The server's certificate (PEM).
    pub cert: std::path::PathBuf,
    /// The server's key (PEM).
    pub key: std::path::PathBuf,
}

impl TestCerts {
    /// Makes them.
    pub fn generate() -> Option<TestCerts> {
        let dir = std::env::temp_dir().join(format!("wecom-test-certs-{:016x}", rand_u64()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let file = |name: &str| dir.join(name).to_string_lossy().into_owned();
        std::fs::write(
            file("server.ext"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
        )
        .expect("write server.ext");
        let (ca_key, ca, key, csr, cert, ext) = (
            file("ca.key"),
            file("ca.pem"),
            file("server.key"),
            file("server.csr"),
            file("server.pem"),
            file("server.ext"),
        );
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
        let steps: [Vec<&str>; 3] = [
            [
                &["req", "-x509", "-days", "2", "-subj", "/CN=wecom test CA"][..],
                &ec,
                &["-keyout", &ca_key, "-out", &ca],
            ]
            .concat(),
            [&["req", "-subj", "/CN=localhost"][..], &ec, &["-keyout", &key, "-out", &csr]].concat(),
            vec!["x509", "-req", "-days", "2", "-in", &csr, "-CA", &ca, "-CAkey", &ca_key, "-CAcreateserial"]
                .into_iter()
                .chain(["-extfile", &ext, "-out", &cert])
                .collect(),
        ];
        for args in steps {
            let run = std::process::Command::new("openssl").args(&args).stderr(std::process::Stdio::piped()).output();
            match run {
                Ok(out) if out.status.success() => {}
                Ok(out) => panic!("openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr)),
                Err(e) if std::env::var_os("CI").is_some() => panic!("cannot run openssl: {e}"),
                Err(e) => {
                    tell_developer(&format!("a TLS test did not run: cannot run openssl ({e}); install it"));
                    return None;
                }
            }
        }
        Some(TestCerts { ca: dir.join("ca.pem"), cert: dir.join("server.pem"), key: dir.join("server.key"), dir })
    }
}

impl Drop for TestCerts {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
