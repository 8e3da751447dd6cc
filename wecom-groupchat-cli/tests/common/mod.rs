//! The harness of the end-to-end tests: a simulator in this process (on its own Tokio runtime, so it
//! keeps serving while a test waits for the binary), and the `wecom-groupchat` binary run with a
//! clean environment, a timeout, and checks every run must pass whatever it tests: no panic or
//! backtrace text, no colour codes, the corp secret nowhere in the output.

#![allow(dead_code)] // each test file uses a part of it

use std::io::{BufRead, BufReader};
use std::ops::Deref;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

use serde_json::Value;
use wecom_groupchat_sim::{SimConfig, Simulator};

/// Corp id the test simulators accept.
pub const CORP_ID: &str = "wwclie2etest0001";
/// Corp secret the test simulators accept; it must never show up in anything the binary prints.
pub const SECRET: &str = "cli-e2e-secret-5f0c2b9e71";
/// Longest a run of the binary may take before the test fails (a hang is a bug, not a slow machine).
pub const RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// The binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_wecom-groupchat")
}

/// A simulator serving from its own runtime; stops when dropped.
pub struct Sim {
    // Dropped before the runtime it runs on.
    sim: Simulator,
    _runtime: tokio::runtime::Runtime,
}

impl Deref for Sim {
    type Target = Simulator;
    fn deref(&self) -> &Simulator {
        &self.sim
    }
}

/// The demo company with the test credentials; transfers stay "transferring" until a test settles them.
pub fn config() -> SimConfig {
    SimConfig::new(CORP_ID, SECRET).transfer_settle(Duration::from_secs(3600))
}

impl Sim {
    /// The demo company on a free loopback port.
    pub fn start() -> Sim {
        Sim::with(config())
    }

    pub fn with(config: SimConfig) -> Sim {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a Tokio runtime for the simulator");
        let sim = runtime.block_on(Simulator::start(config)).expect("the simulator starts");
        Sim { sim, _runtime: runtime }
    }

    /// The binary pointed at this simulator through the environment.
    pub fn cli(&self) -> Cli {
        Cli::new()
            .env("WECOM_BASE_URL", self.base_url())
            .env("WECOM_CORP_ID", self.corp_id())
            .env("WECOM_CORP_SECRET", self.corp_secret())
    }

    /// Every call the simulator has seen, `gettoken` included.
    pub fn total_calls(&self) -> u64 {
        self.stats().total_calls
    }
}

/// One run of the binary, being set up.
pub struct Cli {
    cmd: assert_cmd::Command,
    secrets: Vec<String>,
}

impl Cli {
    /// The binary with no `WECOM_*` or log settings from the environment, and `RUST_BACKTRACE=1` so
    /// that a panic would show (and fail the run checks).
    pub fn new() -> Cli {
        let mut cmd = assert_cmd::Command::new(bin());
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy().into_owned();
            if key.starts_with("WECOM_") || key == "RUST_LOG" {
                cmd.env_remove(key);
            }
        }
        cmd.env("RUST_BACKTRACE", "1").timeout(RUN_TIMEOUT);
        Cli { cmd, secrets: vec![SECRET.to_string()] }
    }

    pub fn args<I, S>(mut self, args: I) -> Cli
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.cmd.args(args);
        self
    }

    pub fn arg(mut self, arg: impl AsRef<std::ffi::OsStr>) -> Cli {
        self.cmd.arg(arg);
        self
    }

    pub fn env(mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> Cli {
        self.cmd.env(key, value);
        self
    }

    pub fn env_remove(mut self, key: &str) -> Cli {
        self.cmd.env_remove(key);
        self
    }

    pub fn current_dir(mut self, dir: &Path) -> Cli {
        self.cmd.current_dir(dir);
        self
    }

    pub fn stdin(mut self, text: impl Into<Vec<u8>>) -> Cli {
        self.cmd.write_stdin(text);
        self
    }

    /// Another text that must appear in neither stdout nor stderr (a token, another secret).
    pub fn secret(mut self, secret: &str) -> Cli {
        self.secrets.push(secret.to_string());
        self
    }

    /// Runs it to the end (or the timeout) and checks what every run must satisfy.
    pub fn run(mut self) -> Run {
        let output = self.cmd.output().expect("the binary runs and ends within the timeout");
        let run = Run {
            code: output.status.code().expect("the binary exits with a code, not by a signal"),
            stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
        };
        run.check_hygiene(&self.secrets);
        run
    }
}

/// How a run ended.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn check_hygiene(&self, secrets: &[String]) {
        let lower = self.stderr.to_lowercase();
        for bad in ["panicked", "backtrace", "internal error"] {
            assert!(!lower.contains(bad), "stderr mentions {bad:?}:\n{}", self.stderr);
        }
        for secret in secrets {
            assert!(!self.stdout.contains(secret.as_str()), "stdout shows a secret:\n{}", self.stdout);
            assert!(!self.stderr.contains(secret.as_str()), "stderr shows a secret:\n{}", self.stderr);
        }
        assert!(!self.stderr.contains('\u{1b}'), "colour codes on stderr, which is not a terminal:\n{}", self.stderr);
        assert!(!self.stdout.contains('\u{1b}'), "colour codes on stdout, which is not a terminal:\n{}", self.stdout);
    }

    /// Asserts the exit code.
    #[track_caller]
    pub fn code(&self, expected: i32) -> &Run {
        assert_eq!(
            self.code, expected,
            "exit code {} instead of {expected}\n--- stdout:\n{}\n--- stderr:\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }

    /// Asserts exit code 0.
    #[track_caller]
    pub fn ok(&self) -> &Run {
        self.code(0)
    }

    /// Asserts that stderr contains every one of `parts`.
    #[track_caller]
    pub fn stderr_has(&self, parts: &[&str]) -> &Run {
        for part in parts {
            assert!(self.stderr.contains(part), "stderr lacks {part:?}:\n{}", self.stderr);
        }
        self
    }

    /// Asserts that stdout contains every one of `parts`.
    #[track_caller]
    pub fn stdout_has(&self, parts: &[&str]) -> &Run {
        for part in parts {
            assert!(self.stdout.contains(part), "stdout lacks {part:?}:\n{}", self.stdout);
        }
        self
    }

    /// stdout as one JSON value (pretty or not).
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON value ({e}):\n{}", self.stdout))
    }

    /// stdout as JSON lines: every line must be a JSON value (data only on stdout).
    #[track_caller]
    pub fn json_lines(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {l:?}")))
            .collect()
    }

    /// stdout as CSV: the header and the records.
    #[track_caller]
    pub fn csv(&self) -> (Vec<String>, Vec<Vec<String>>) {
        let mut reader = csv::Reader::from_reader(self.stdout.as_bytes());
        let header = reader.headers().expect("a CSV header").iter().map(str::to_string).collect();
        let rows = reader.records().map(|r| r.expect("a CSV record").iter().map(str::to_string).collect()).collect();
        (header, rows)
    }
}

/// A process of the binary left running (`sim`), killed when dropped.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Running {
    /// Kills the process and returns what it wrote on stderr.
    pub fn kill_and_stderr(&mut self) -> String {
        let _ = self.0.kill();
        let _ = self.0.wait();
        let mut text = String::new();
        if let Some(mut stderr) = self.0.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
        }
        text
    }

    /// Starts the binary with these arguments and environment (nothing inherited from `WECOM_*`).
    pub fn spawn(args: &[&str], env: &[(&str, &str)]) -> Running {
        let mut cmd = std::process::Command::new(bin());
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy().into_owned();
            if key.starts_with("WECOM_") || key == "RUST_LOG" {
                cmd.env_remove(key);
            }
        }
        cmd.args(args).envs(env.iter().copied()).env("RUST_BACKTRACE", "1");
        let child =
            cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("the binary starts");
        Running(child)
    }

    /// The first line on stdout, read on a thread so that a silent process cannot hang the test.
    pub fn first_line(&mut self) -> String {
        let stdout = self.0.stdout.take().expect("stdout is piped");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = tx.send(line);
            // Keep draining so the process never blocks on a full pipe.
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        rx.recv_timeout(RUN_TIMEOUT).expect("a first line on stdout")
    }
}

/// A loopback port nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("its address").port()
}

/// A day `n` days before today (UTC+8), as `YYYY-MM-DD`.
pub fn days_ago(n: i64) -> String {
    use wecom_groupchat::time;
    time::format_day(time::day_before(time::now_unix(), n))
}

/// A TCP proxy in front of a server that records the most requests in flight at once. HTTP/1.1 carries
/// one request at a time per connection, so a connection counts as in flight from the first bytes of a
/// request to the first bytes of its answer.
pub struct InFlightProxy {
    addr: std::net::SocketAddr,
    max: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl InFlightProxy {
    pub fn start(target: std::net::SocketAddr) -> InFlightProxy {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        listener.set_nonblocking(true).expect("a non-blocking listener");
        let addr = listener.local_addr().expect("its address");
        let (max, stop) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicBool::new(false)));
        let in_flight = Arc::new(AtomicUsize::new(0));
        let (max_, stop_) = (max.clone(), stop.clone());
        // Runs until the proxy is dropped. A connection that fails to accept or to reach the server is
        // dropped on its own (the client sees it closed and may retry); the proxy goes on serving.
        std::thread::spawn(move || {
            while !stop_.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((client, _)) => {
                        if let Err(e) = relay(client, target, &in_flight, &max_) {
                            eprintln!("in-flight proxy: a connection failed: {e}");
                        }
                    }
                    Err(e) => {
                        if e.kind() != std::io::ErrorKind::WouldBlock {
                            eprintln!("in-flight proxy: accept failed: {e}");
                        }
                        std::thread::sleep(Duration::from_millis(2));
                    }
                }
            }
        });
        InFlightProxy { addr, max, stop }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The most requests that were in flight at once.
    pub fn max_in_flight(&self) -> usize {
        self.max.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Drop for InFlightProxy {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Connects `client` to the server at `target`, counting requests in flight, on two threads of its own.
fn relay(
    client: std::net::TcpStream,
    target: std::net::SocketAddr,
    in_flight: &std::sync::Arc<std::sync::atomic::AtomicUsize>,
    max: &std::sync::Arc<std::sync::atomic::AtomicUsize>,
) -> std::io::Result<()> {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    client.set_nonblocking(false)?;
    let server = std::net::TcpStream::connect_timeout(&target, RUN_TIMEOUT)?;
    let active = Arc::new(AtomicBool::new(false));
    // Client to server: the first bytes of a request put it in flight.
    let (mut from, mut to) = (client.try_clone()?, server.try_clone()?);
    let (active_, in_flight_, max_) = (active.clone(), in_flight.clone(), max.clone());
    std::thread::spawn(move || {
        pump(&mut from, &mut to, || {
            if !active_.swap(true, Ordering::SeqCst) {
                let now = in_flight_.fetch_add(1, Ordering::SeqCst) + 1;
                max_.fetch_max(now, Ordering::SeqCst);
            }
        });
    });
    // Server to client: the first bytes of the answer end it, and so does a close without an answer.
    let (mut from, mut to) = (server, client);
    let in_flight = in_flight.clone();
    std::thread::spawn(move || {
        let answered = || {
            if active.swap(false, Ordering::SeqCst) {
                in_flight.fetch_sub(1, Ordering::SeqCst);
            }
        };
        pump(&mut from, &mut to, answered);
        answered();
    });
    Ok(())
}

/// Copies `from` to `to` until either end closes, calling `on_data` before forwarding each read.
fn pump(from: &mut std::net::TcpStream, to: &mut std::net::TcpStream, mut on_data: impl FnMut()) {
    use std::io::{Read, Write};
    let mut buf = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                on_data();
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Write);
}

/// A stand-in for WeCom answering every request with one canned JSON body, for answers the simulator
/// never gives. Records the request line of every request.
pub struct CannedServer {
    addr: std::net::SocketAddr,
    requests: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl CannedServer {
    pub fn start(answer: &'static str) -> CannedServer {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the canned server");
        let addr = listener.local_addr().expect("its address");
        let requests = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = requests.clone();
        std::thread::spawn(move || {
            // Ends with the test process; every connection is answered and closed.
            for mut stream in listener.incoming().flatten() {
                let _ = stream.set_read_timeout(Some(RUN_TIMEOUT));
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                // Headers, then as many body bytes as Content-Length says.
                let (head, body_len) = loop {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => break (String::new(), 0),
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                    if let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&request[..end]).into_owned();
                        let len = head
                            .lines()
                            .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(str::to_string))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        break (head, end + 4 + len);
                    }
                };
                while request.len() < body_len {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                seen.lock().unwrap().push(head.lines().next().unwrap_or_default().to_string());
                let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close";
                let _ = write!(stream, "{head}\r\nContent-Length: {}\r\n\r\n{answer}", answer.len());
            }
        });
        CannedServer { addr, requests }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The request lines received (`POST /cgi-bin/… HTTP/1.1`).
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}
