//! `wecom-groupchat sync` end to end: the binary against the simulator, on an SQLite file and on the
//! PostgreSQL of `WECOM_TEST_POSTGRES_URL` (in CI its absence fails the PostgreSQL tests).

mod common;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use common::{Cli, Running, Sim};
use serde_json::{Value, json};
use wecom_groupchat::codes;
use wecom_groupchat_sim::{CallbackTarget, DataSource, FaultKind, Faults, Scale, ScriptedFault};
use wecom_groupchat_sync::{DbUrl, Store};

const TOKEN: &str = "sync-cli-callback-token";
const AES_KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
const POSTGRES_URL_VAR: &str = "WECOM_TEST_POSTGRES_URL";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// The test PostgreSQL's URL (`None` outside CI when there is none; in CI its absence fails the test).
fn postgres_base() -> Option<String> {
    match std::env::var(POSTGRES_URL_VAR) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => panic!("{POSTGRES_URL_VAR} is not set: in CI, .ci/run sets it"),
        _ => {
            let _ = writeln!(
                std::io::stderr(),
                "\nnote: the sync CLI's PostgreSQL tests did not run: set {POSTGRES_URL_VAR} (`bash .ci/postgres start` starts one)\n"
            );
            None
        }
    }
}

/// A database for one test: `sqlite://` in a temporary directory, or a schema of its own on the test
/// PostgreSQL (`None` outside CI when there is none).
struct Db {
    url: String,
    _dir: Option<tempfile::TempDir>,
}

impl Db {
    fn sqlite() -> Db {
        let dir = tempfile::Builder::new().prefix("sync-cli-").tempdir().unwrap();
        Db { url: format!("sqlite://{}", dir.path().join("mirror.db").display()), _dir: Some(dir) }
    }

    fn postgres() -> Option<Db> {
        let base = postgres_base()?;
        let schema = format!("sync_cli_{:016x}", rand_u64());
        runtime().block_on(async {
            use sqlx::Connection;
            sqlx::any::install_default_drivers();
            let mut conn = tokio::time::timeout(Duration::from_secs(15), sqlx::AnyConnection::connect(&base))
                .await
                .expect("the test PostgreSQL answers within 15 s")
                .expect("the test PostgreSQL is reachable");
            sqlx::query(&format!("CREATE SCHEMA {schema}")).execute(&mut conn).await.unwrap();
            let _ = conn.close().await;
        });
        let sep = if base.contains('?') { '&' } else { '?' };
        Some(Db { url: format!("{base}{sep}options=-c%20search_path%3D{schema}"), _dir: None })
    }

    fn store<T>(&self, f: impl AsyncFnOnce(&Store) -> T) -> T {
        runtime().block_on(async {
            let store = Store::open(&DbUrl::parse(&self.url).unwrap()).await.unwrap();
            let out = f(&store).await;
            store.close().await;
            out
        })
    }

    fn status(&self) -> wecom_groupchat_sync::Status {
        self.store(async |s| s.status(3).await.unwrap())
    }
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(Instant::now().elapsed().as_nanos() ^ u128::from(std::process::id()));
    h.finish()
}

/// Both databases: the SQLite one always, the PostgreSQL one when there is one.
fn databases() -> Vec<Db> {
    let mut dbs = vec![Db::sqlite()];
    dbs.extend(Db::postgres());
    dbs
}

/// Polls `check` every 50 ms for at most `within`.
fn eventually(within: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !check() {
        assert!(Instant::now() < deadline, "never happened within {within:?}: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A control call to the simulator over plain HTTP (what people do in the WeCom app).
fn act(sim: &Sim, path: &str, body: Value) {
    let addr = sim.base_url().trim_start_matches("http://").to_string();
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let body = body.to_string();
    write!(
        stream,
        "POST /__sim{path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{path}: {answer}");
}

#[test]
fn sync_once_mirrors_the_simulator_and_says_so_on_stderr() {
    for db in databases() {
        let sim = Sim::start();
        let chats = sim.hints().chats;
        let run = sim.cli().args(["sync", "--once", "--db", &db.url]).run();
        run.ok();
        assert_eq!(run.stdout, "", "no data on stdout");
        run.stderr_has(&[&format!("sync: run 1: {chats} listed, {chats} fetched, 0 dismissed, 0 failed in ")]);
        run.stderr_has(&[&format!("{chats} chats, "), " 0 dismissed, 0 queued"]);
        assert_eq!(sim.calls("get") as usize, chats);
        // Every chat as the simulator answers it.
        let (ids, members) = db.store(async |s| {
            let ids = s.chat_ids().await.unwrap();
            let mut members = 0;
            for id in &ids {
                members += s.members(id).await.unwrap().len();
            }
            (ids, members)
        });
        assert_eq!(ids.len(), chats);
        let expected: usize = ids.iter().map(|id| sim.group_chat(id).unwrap().member_list.unwrap().len()).sum();
        assert_eq!(members, expected);

        // `sync status`: JSON when stdout is not a terminal.
        let status = sim.cli().args(["sync", "status", "--db", &db.url]).run();
        let value = status.ok().json();
        assert_eq!(value["chats"], json!(chats));
        assert_eq!(value["members"], json!(members));
        assert_eq!((value["dismissed"].clone(), value["queued"].clone()), (json!(0), json!(0)));
        assert_eq!(value["last_run"]["id"], json!(1));
        assert_eq!(value["last_run"]["fetched"], json!(chats));
        // A table on request.
        let table = sim.cli().args(["sync", "status", "--db", &db.url, "-o", "table"]).run();
        table.ok().stdout_has(&["chats", &chats.to_string(), "last_run_finished_at"]);
    }
}

#[test]
fn sync_refuses_bad_input_before_any_call() {
    let sim = Sim::start();
    let password = "pg-pass-9c41e2";
    let refused = [
        (vec!["sync", "--once", "--db", "mysql://root:pg-pass-9c41e2@127.0.0.1/crm"], 2, "unsupported database"),
        (vec!["sync", "--once", "--db", "wecom-groupchat.db"], 2, "not a database URL"),
        (vec!["sync", "--once", "--db", "sqlite://"], 2, "no file path"),
        (vec!["sync", "--once", "--db", "sqlite://x.db?journal=wal"], 2, "unknown parameter"),
        (vec!["sync", "--db", "sqlite://x.db"], 2, "give --once"),
        (vec!["sync", "--once", "--callback-addr", "127.0.0.1:0"], 2, "cannot be used with"),
        (vec!["sync", "--callback-addr", "127.0.0.1:0"], 2, "WECOM_CALLBACK_TOKEN"),
        (
            vec!["sync", "--callback-addr", "127.0.0.1:0", "--callback-token", "t", "--callback-aes-key", "short"],
            2,
            "--callback-aes-key",
        ),
        (vec!["sync", "--reconcile-every", "5x"], 2, "no duration"),
        (vec!["sync", "--once", "--concurrency", "0"], 2, "--concurrency"),
    ];
    for (args, code, message) in refused {
        let dir = tempfile::tempdir().unwrap();
        let run = sim.cli().current_dir(dir.path()).args(&args).secret(password).secret("short").run();
        run.code(code).stderr_has(&[message]);
        assert_eq!(run.stdout, "");
        assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none(), "{args:?}: nothing created");
    }
    // An unreachable PostgreSQL: 3, its password never shown.
    let port = common::closed_port();
    let url = format!("postgres://mirror:{password}@127.0.0.1:{port}/crm");
    let run = sim.cli().args(["sync", "--once", "--db", &url]).secret(password).run();
    run.code(3).stderr_has(&["cannot open the database postgres://mirror:***@127.0.0.1:", "refused"]);
    // The URL from the environment, likewise.
    let run = sim.cli().env("WECOM_SYNC_DB", &url).args(["sync", "--once"]).secret(password).run();
    run.code(3).stderr_has(&["postgres://mirror:***@"]);
    // No credentials: 2, before the database is touched.
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("m.db").display());
    Cli::new().args(["sync", "--once", "--db", &db]).run().code(2).stderr_has(&["no credentials"]);
    // `sync status` of a mirror that does not exist: 3, and no file made.
    Cli::new().args(["sync", "status", "--db", &db]).run().code(3).stderr_has(&["cannot open the database"]);
    assert!(!dir.path().join("m.db").exists());
    assert_eq!(sim.total_calls(), 0, "no call was made");
}

#[test]
fn sync_once_exits_4_when_chats_keep_failing_and_keeps_them_queued() {
    let db = Db::sqlite();
    let sim = Sim::with(common::config().data(DataSource::Scale(Scale::groups(4))));
    sim.inject(ScriptedFault::new(Some("get"), FaultKind::Errcode(codes::CHAT_IDS_NOT_UPGRADED), 1000)).unwrap();
    let run = sim.cli().args(["sync", "--once", "--db", &db.url]).run();
    run.code(4).stderr_has(&["sync: run 1: 4 listed, 0 fetched, 0 dismissed, 4 failed", "4 queued", "partial failure"]);
    run.stderr_has(&["4 chats still failed after 3 attempts; they stay queued"]);
    assert_eq!(sim.calls("get"), 12, "three attempts each");
    assert_eq!(db.status().queued, 4);
    // The next run takes them.
    sim.set_faults(Faults::none()).unwrap();
    let run = sim.cli().args(["sync", "--once", "--db", &db.url]).run();
    run.ok().stderr_has(&["sync: run 2: 4 listed, 4 fetched, 0 dismissed, 0 failed"]);
    assert_eq!(db.status().queued, 0);
}

#[test]
fn a_killed_sync_restarted_loses_nothing_and_fetches_no_stored_chat_again() {
    for db in databases() {
        let sim = Sim::with(common::config().faults(Faults::default().latency(Duration::from_millis(25))));
        let chats = sim.hints().chats as i64;
        let env = [
            ("WECOM_BASE_URL", sim.base_url()),
            ("WECOM_CORP_ID", sim.corp_id().to_string()),
            ("WECOM_CORP_SECRET", sim.corp_secret().to_string()),
        ];
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let mut first = Running::spawn(&["sync", "--once", "--db", &db.url, "--concurrency", "4"], &env);
        eventually(Duration::from_secs(60), "a third stored", || {
            db.store(async |s| s.status(3).await.map(|st| st.chats).unwrap_or(0)) >= chats / 3
        });
        first.kill_and_stderr(); // SIGKILL: no chance to clean up
        let stored = db.status().chats;
        assert!(stored < chats, "killed before the end");
        let fetched_before = sim.calls("get") as i64;

        let run = sim.cli().args(["sync", "--once", "--db", &db.url]).run();
        run.ok().stderr_has(&[&format!("sync: run 1: {chats} listed, ")]);
        let fetched_after = sim.calls("get") as i64 - fetched_before;
        assert_eq!(fetched_after, chats - stored, "only the chats not stored are fetched (stored: {stored})");
        let status = db.status();
        assert_eq!((status.chats, status.queued), (chats, 0));
    }
}

#[test]
fn two_sync_processes_on_postgresql_share_one_run_and_fetch_each_chat_once() {
    let Some(db) = Db::postgres() else { return };
    let sim = Sim::with(common::config().faults(Faults::default().latency(Duration::from_millis(5))));
    let chats = sim.hints().chats;
    let env = [
        ("WECOM_BASE_URL", sim.base_url()),
        ("WECOM_CORP_ID", sim.corp_id().to_string()),
        ("WECOM_CORP_SECRET", sim.corp_secret().to_string()),
        ("WECOM_SYNC_DB", db.url.clone()),
    ];
    let mut env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    // With a Redis token store (when the tests have one) the two share the token too.
    let redis = std::env::var("WECOM_TEST_REDIS_URL").ok().filter(|u| !u.is_empty());
    let store_url = redis.as_ref().map(|url| format!("{}/{}", url.trim_end_matches('/'), 0));
    if let Some(url) = &store_url {
        env.push(("WECOM_TOKEN_STORE", url.as_str()));
    }
    let mut workers: Vec<Running> = (0..2).map(|_| Running::spawn(&["sync", "--once"], &env)).collect();
    for worker in &mut workers {
        let status = wait_exit(worker, Duration::from_secs(60));
        assert_eq!(status, Some(0));
    }
    assert_eq!(sim.calls("get") as usize, chats, "each chat fetched once, by one of the two");
    let status = db.status();
    assert_eq!((status.chats as usize, status.queued), (chats, 0));
    assert_eq!(status.last_run.map(|r| r.id), Some(1), "one run, shared");
    if store_url.is_some() {
        assert_eq!(sim.gettoken_calls(), 1, "one token for the fleet");
    }
}

fn wait_exit(process: &mut Running, within: Duration) -> Option<i32> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = process.0.try_wait().unwrap() {
            return status.code();
        }
        assert!(Instant::now() < deadline, "the process did not exit within {within:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sync_serving_applies_pushed_events_and_stops_cleanly_on_sigterm() {
    for db in databases() {
        let port = common::closed_port();
        let url = format!("http://127.0.0.1:{port}/wecom/callback");
        let sim = Sim::with(common::config().callback(CallbackTarget::new(&url, TOKEN, AES_KEY)));
        let env = [
            ("WECOM_BASE_URL", sim.base_url()),
            ("WECOM_CORP_ID", sim.corp_id().to_string()),
            ("WECOM_CORP_SECRET", sim.corp_secret().to_string()),
            ("WECOM_CALLBACK_TOKEN", TOKEN.to_string()),
            ("WECOM_CALLBACK_AES_KEY", AES_KEY.to_string()),
        ];
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let addr = format!("127.0.0.1:{port}");
        let mut serving = Running::spawn(
            &["sync", "--db", &db.url, "--callback-addr", &addr, "--callback-path", "/wecom/callback"],
            &env,
        );
        assert_eq!(serving.first_line().trim_end(), format!("callback: {url}"));
        eventually(Duration::from_secs(60), "the first reconcile", || {
            db.store(async |s| s.last_run().await.ok().flatten().is_some_and(|r| r.finished_at.is_some()))
        });

        let hints = sim.hints();
        let chat = hints.active_owners[0].chat_ids[0].clone();
        let other = hints.active_owners[1].chat_ids[0].clone();
        act(&sim, &format!("/chats/{chat}/rename"), json!({"name": "改名了"}));
        act(&sim, &format!("/chats/{chat}/join"), json!({"members": ["wmCliJoined"]}));
        act(&sim, &format!("/chats/{other}/dismiss"), json!({}));
        eventually(Duration::from_secs(60), "the events reached the rows", || {
            db.store(async |s| {
                let row = s.chat(&chat).await.unwrap().unwrap();
                let members = s.members(&chat).await.unwrap();
                let gone = s.chat(&other).await.unwrap().unwrap();
                row.name.as_deref() == Some("改名了")
                    && members.iter().any(|m| m.userid == "wmCliJoined")
                    && gone.dismissed
                    && s.status(3).await.unwrap().queued == 0
            })
        });
        assert_eq!(db.status().events, 3);

        let pid = serving.0.id().to_string();
        assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        assert_eq!(wait_exit(&mut serving, Duration::from_secs(30)), Some(0), "SIGTERM ends it cleanly");
        let mut stderr = String::new();
        serving.0.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
        assert!(stderr.contains("SIGTERM: stopping") && stderr.contains("sync: stopped: 3 events"), "{stderr}");
        assert!(stderr.contains("sync: run 1: "), "a summary per reconcile: {stderr}");
        for secret in [TOKEN, AES_KEY, common::SECRET] {
            assert!(!stderr.contains(secret), "a secret on stderr");
        }
    }
}

/// The tables of the schema a URL's connections use (`search_path`'s first), counted.
async fn count_tables(url: &str) -> i64 {
    use sqlx::{Connection, Row};
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    let n = sqlx::query("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema()")
        .fetch_one(&mut conn)
        .await
        .unwrap()
        .try_get::<i64, _>(0)
        .unwrap();
    let _ = conn.close().await;
    n
}

#[test]
fn sync_status_of_a_fresh_postgres_database_exits_3_and_creates_nothing() {
    // A fresh database (not a schema of the test one): what `sync status` finds where no mirror ever ran.
    let Some(base) = postgres_base() else { return };
    let name = format!("sync_cli_fresh_{:016x}", rand_u64());
    let (path, query) = base.split_once('?').map_or((base.as_str(), None), |(p, q)| (p, Some(q)));
    let (server, _) = path.rsplit_once('/').expect("the test PostgreSQL URL names a database");
    let fresh = format!("{server}/{name}{}", query.map(|q| format!("?{q}")).unwrap_or_default());
    let admin = async |sql: String| {
        use sqlx::Connection;
        let mut conn = tokio::time::timeout(Duration::from_secs(15), sqlx::AnyConnection::connect(&base))
            .await
            .expect("the test PostgreSQL answers within 15 s")
            .unwrap();
        sqlx::query(&sql).execute(&mut conn).await.unwrap();
        let _ = conn.close().await;
    };
    let rt = runtime();
    sqlx::any::install_default_drivers();
    rt.block_on(admin(format!("CREATE DATABASE {name}")));
    let run = Cli::new().args(["sync", "status", "--db", &fresh]).run();
    let tables = rt.block_on(count_tables(&fresh));
    rt.block_on(admin(format!("DROP DATABASE {name} WITH (FORCE)")));
    run.code(3).stderr_has(&["cannot open the database", "no mirror in this database", "sync --once"]);
    assert_eq!(tables, 0, "sync status created tables");
}

#[test]
fn sync_status_of_an_empty_sqlite_file_exits_3_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.db");
    std::fs::write(&path, b"").unwrap();
    let url = format!("sqlite://{}", path.display());
    Cli::new().args(["sync", "status", "--db", &url]).run().code(3).stderr_has(&["no mirror in this database"]);
    let tables = runtime().block_on(async {
        use sqlx::{Connection, Row};
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
        let n = sqlx::query("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'")
            .fetch_one(&mut conn)
            .await
            .unwrap()
            .try_get::<i64, _>(0)
            .unwrap();
        let _ = conn.close().await;
        n
    });
    assert_eq!(tables, 0, "sync status created tables");
}
