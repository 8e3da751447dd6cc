//! The database: connecting, the embedded migrations, and every statement the mirror runs. One code path
//! for both engines (sqlx's `Any` driver, `$N` placeholders); the few places where SQLite and PostgreSQL
//! differ are in [`Dialect`].

use std::collections::HashSet;
use std::time::Duration;

use serde_json::Value;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};
use wecom_groupchat::types::{GroupChat, GroupChatMember};

use crate::db_url::{Backend, DbUrl};
use crate::error::SyncError;

/// Migrations of the SQLite schema, embedded in the binary.
static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
/// Migrations of the PostgreSQL schema, embedded in the binary (same versions, same tables).
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Where the SQL of the two engines differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// A JSON parameter: text, stored as `JSONB` in PostgreSQL.
    fn json_in(self, n: usize) -> String {
        match self {
            Dialect::Sqlite => format!("${n}"),
            Dialect::Postgres => format!("CAST(${n} AS JSONB)"),
        }
    }

    /// A JSON column, read as text.
    fn json_out(self, column: &str) -> String {
        match self {
            Dialect::Sqlite => column.to_string(),
            Dialect::Postgres => format!("{column}::text"),
        }
    }

    /// A subquery of the texts of a JSON array parameter (`NOT IN (…)`).
    fn json_text_array(self, n: usize) -> String {
        match self {
            Dialect::Sqlite => format!("SELECT value FROM json_each(${n})"),
            Dialect::Postgres => format!("SELECT jsonb_array_elements_text(CAST(${n} AS JSONB))"),
        }
    }

    /// Locks the rows a queue claim picks, skipping those another worker is picking (PostgreSQL). SQLite
    /// has one writer at a time: the claim is atomic as it is.
    fn skip_locked(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
        }
    }

    /// Locks the row read (PostgreSQL), so that the queue row is always locked before the chat's rows.
    fn for_update(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE",
        }
    }
}

/// A chat as the mirror holds it (`group_chat`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ChatRow {
    /// `chat_id`.
    pub chat_id: String,
    /// `name`.
    pub name: Option<String>,
    /// `owner` (userid).
    pub owner: Option<String>,
    /// `create_time`, Unix seconds.
    pub create_time: Option<i64>,
    /// `notice`.
    pub notice: Option<String>,
    /// `status`: the follow-up status `list` gave (0 normal, 1 owner resigned, 2 transferring, 3 transferred).
    pub status: Option<i64>,
    /// `member_version`.
    pub member_version: Option<String>,
    /// `member_count`: rows in `group_chat_member` for this chat.
    pub member_count: i64,
    /// `admin_list`: the answer's `admin_list`, as JSON.
    pub admin_list: Option<Value>,
    /// `dismissed`.
    pub dismissed: bool,
    /// `synced_at`: when the last `get` answer was stored, Unix seconds.
    pub synced_at: Option<i64>,
    /// `raw`: the `group_chat` object of the last `get` answer, unknown fields included.
    pub raw: Option<Value>,
}

/// A member as the mirror holds it (`group_chat_member`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MemberRow {
    /// `chat_id`.
    pub chat_id: String,
    /// `userid`: a staff userid or an external contact's external_userid.
    pub userid: String,
    /// `type`: 1 staff, 2 external contact.
    pub member_type: Option<i64>,
    /// `unionid`.
    pub unionid: Option<String>,
    /// `join_time`, Unix seconds.
    pub join_time: Option<i64>,
    /// `join_scene`: 1 invited directly, 2 by link, 3 by QR code.
    pub join_scene: Option<i64>,
    /// `invitor`: the inviting staff's userid.
    pub invitor: Option<String>,
    /// `group_nickname`.
    pub group_nickname: Option<String>,
    /// `name`.
    pub name: Option<String>,
    /// `state`: the join way's state.
    pub state: Option<String>,
}

impl MemberRow {
    /// The row `get`'s member becomes (`None` for a member without a userid, which has no key).
    pub fn from_member(chat_id: &str, m: &GroupChatMember) -> Option<MemberRow> {
        Some(MemberRow {
            chat_id: chat_id.to_string(),
            userid: m.userid.clone().filter(|u| !u.is_empty())?,
            member_type: m.member_type.map(i64::from),
            unionid: m.unionid.clone(),
            join_time: m.join_time,
            join_scene: m.join_scene.map(i64::from),
            invitor: m.invitor.as_ref().and_then(|i| i.userid.clone()),
            group_nickname: m.group_nickname.clone(),
            name: m.name.clone(),
            state: m.state.clone(),
        })
    }
}

/// A run of the reconcile (`sync_run`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct RunRow {
    /// Its id.
    pub id: i64,
    /// When it started, Unix seconds.
    pub started_at: i64,
    /// When its listing was complete.
    pub listed_at: Option<i64>,
    /// When it finished.
    pub finished_at: Option<i64>,
    /// `all` (one listing) or `owners` (by batches of owners, after 81017).
    pub list_mode: Option<String>,
    /// Chats listed.
    pub listed: i64,
    /// Chats fetched and stored.
    pub fetched: i64,
    /// Chats found dismissed (`get` said they no longer exist).
    pub dismissed: i64,
    /// Chats that still failed after every attempt (they stay queued).
    pub failed: i64,
    /// The worker driving it (while it runs).
    #[serde(skip)]
    pub owner: Option<String>,
    /// Until when that worker holds it.
    #[serde(skip)]
    pub lease_until: Option<i64>,
}

/// What `sync status` shows.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Status {
    /// The database, password masked.
    pub database: String,
    /// Chats in the mirror (dismissed ones included).
    pub chats: i64,
    /// Members of the chats not dismissed.
    pub members: i64,
    /// Chats dismissed.
    pub dismissed: i64,
    /// Chats due for a `get`.
    pub queued: i64,
    /// Of those, chats that failed every attempt so far.
    pub failed: i64,
    /// Events received.
    pub events: i64,
    /// The last reconcile.
    pub last_run: Option<RunRow>,
}

/// How far a run's listing got.
#[derive(Debug, Clone, Default)]
pub(crate) struct ListProgress {
    /// `all`, `owners`, or `None` before the first page.
    pub(crate) mode: Option<String>,
    /// The owners of the batches (`owners` mode).
    pub(crate) owners: Vec<String>,
    /// The batch under way (`owners` mode).
    pub(crate) batch: i64,
    /// The cursor of the next page of that listing; `None` for its first page.
    pub(crate) cursor: Option<String>,
}

/// The progress a listed page makes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ListStep<'a> {
    pub(crate) mode: &'a str,
    pub(crate) batch: i64,
    pub(crate) cursor: Option<&'a str>,
}

/// A queue row a worker has taken.
#[derive(Debug, Clone)]
pub(crate) struct Claim {
    pub(crate) chat_id: String,
    pub(crate) seq: i64,
    pub(crate) run_id: Option<i64>,
    pub(crate) list_status: Option<i64>,
    pub(crate) attempts: i64,
    pub(crate) reason: String,
}

/// How storing a fetched chat went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stored {
    /// Stored, and the queue row is gone.
    Done,
    /// Stored, but the chat was queued again meanwhile (an event): it stays queued for another `get`.
    Requeued,
    /// Another worker holds the chat now (this worker's lease ran out): nothing was stored.
    LeaseLost,
}

/// What the chat's rows say, for deciding about an event.
#[derive(Debug, Clone, Default)]
pub(crate) struct Known {
    pub(crate) member_version: Option<String>,
    pub(crate) exists: bool,
    pub(crate) dismissed: bool,
    /// A queue row exists (a `get` is due or in flight).
    pub(crate) queued: bool,
    /// That row is leased: a `get` may be in flight.
    pub(crate) leased: bool,
}

/// Most rows in one multi-row statement.
const MAX_ROWS_PER_STATEMENT: usize = 64;

/// The mirror's database.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    url: DbUrl,
    dialect: Dialect,
    /// Time spent in the transactions that store a chat, BEGIN to COMMIT, in nanoseconds.
    store_nanos: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Store {
    /// Connects (creating an SQLite file on first use) and brings the schema up to date with the
    /// embedded migrations.
    ///
    /// # Errors
    /// [`SyncError::Unreachable`] when the database cannot be reached or migrated (e.g. its schema is of
    /// a newer version than this build knows).
    pub async fn open(url: &DbUrl) -> Result<Store, SyncError> {
        Self::open_with(url, 16).await
    }

    /// A mirror that exists already, opened to be read (`sync status`): nothing is created or migrated —
    /// an SQLite file must exist, and the database must hold the mirror's schema, at this build's version.
    ///
    /// # Errors
    /// [`SyncError::Unreachable`] when the database cannot be reached, a SQLite file is missing, or the
    /// database holds no mirror (or one of another schema version).
    pub async fn open_existing(url: &DbUrl) -> Result<Store, SyncError> {
        let mut store = Self::connect(&url.must_exist(), 2, false).await?;
        store.url = url.clone();
        Ok(store)
    }

    /// [`Store::open`] with at most `connections` PostgreSQL connections (SQLite uses one: it has a single
    /// writer, and one connection keeps its transactions from ever meeting a busy lock).
    ///
    /// # Errors
    /// See [`Store::open`].
    pub async fn open_with(url: &DbUrl, connections: u32) -> Result<Store, SyncError> {
        Self::connect(url, connections, true).await
    }

    /// Connects, then migrates the schema (`migrate`) or checks that it is there, at this build's version.
    async fn connect(url: &DbUrl, connections: u32, migrate: bool) -> Result<Store, SyncError> {
        sqlx::any::install_default_drivers();
        let backend = url.backend();
        let unreachable = |e: &dyn std::fmt::Display| SyncError::Unreachable {
            url: url.to_string(),
            message: url.scrub(&e.to_string()),
        };
        let options = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 1 } else { connections.max(2) })
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL: readers (`sync status`) never wait for the writer; NORMAL is durable against a
                        // crash of the process (not of the machine's power) and much faster than FULL.
                        use sqlx::Executor;
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = NORMAL").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                    }
                    Ok(())
                })
            });
        // One connection first: its error says why (refused, authentication, no such file), where a pool
        // only says it timed out.
        {
            use sqlx::Connection;
            let first = tokio::time::timeout(Duration::from_secs(10), sqlx::AnyConnection::connect(url.connect_url()))
                .await
                .map_err(|_| unreachable(&"no connection within 10 s"))?
                .map_err(|e| unreachable(&e))?;
            let _ = first.close().await;
        }
        let pool = options.connect(url.connect_url()).await.map_err(|e| unreachable(&e))?;
        let migrator = match backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        if migrate {
            migrator.run(&pool).await.map_err(|e| unreachable(&e))?;
        } else if let Err(message) = check_schema(&pool, migrator).await {
            pool.close().await;
            return Err(unreachable(&message));
        }
        let dialect = match backend {
            Backend::Sqlite => Dialect::Sqlite,
            Backend::Postgres => Dialect::Postgres,
        };
        Ok(Store { pool, url: url.clone(), dialect, store_nanos: Default::default() })
    }

    /// The database's URL (its `Display` masks a password).
    pub fn url(&self) -> &DbUrl {
        &self.url
    }

    /// The connection pool, for queries of your own (read the tables; the mirror writes them).
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Time spent in the transactions that stored chats (BEGIN to COMMIT, the wait for a connection not
    /// included), by every clone of this store.
    pub(crate) fn store_time(&self) -> Duration {
        Duration::from_nanos(self.store_nanos.load(std::sync::atomic::Ordering::Relaxed))
    }

    fn count_store(&self, began: std::time::Instant) {
        let nanos = u64::try_from(began.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.store_nanos.fetch_add(nanos, std::sync::atomic::Ordering::Relaxed);
    }

    pub(crate) fn dialect(&self) -> Dialect {
        self.dialect
    }

    pub(crate) fn db_error(&self, e: &sqlx::Error) -> SyncError {
        SyncError::Database { url: self.url.to_string(), message: self.url.scrub(&e.to_string()) }
    }

    /// The mirror's figures and its last reconcile.
    ///
    /// # Errors
    /// [`SyncError::Database`].
    pub async fn status(&self, max_attempts: u32) -> Result<Status, SyncError> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM group_chat), \
                    (SELECT COUNT(*) FROM group_chat WHERE dismissed), \
                    (SELECT COUNT(*) FROM group_chat_member m JOIN group_chat c ON c.chat_id = m.chat_id WHERE NOT c.dismissed), \
                    (SELECT COUNT(*) FROM sync_queue), \
                    (SELECT COUNT(*) FROM sync_queue WHERE attempts >= $1), \
                    (SELECT COUNT(*) FROM sync_event)",
        )
        .bind(i64::from(max_attempts))
        .fetch_one(&self.pool)
        .await
        .map_err(|e| self.db_error(&e))?;
        let n = |i: usize| row.try_get::<i64, _>(i).unwrap_or_default();
        Ok(Status {
            database: self.url.to_string(),
            chats: n(0),
            dismissed: n(1),
            members: n(2),
            queued: n(3),
            failed: n(4),
            events: n(5),
            last_run: self.last_run().await?,
        })
    }

    /// One chat's row.
    ///
    /// # Errors
    /// [`SyncError::Database`].
    pub async fn chat(&self, chat_id: &str) -> Result<Option<ChatRow>, SyncError> {
        let sql = format!(
            "SELECT chat_id, name, owner, create_time, notice, status, member_version, member_count, {}, \
             CASE WHEN dismissed THEN 1 ELSE 0 END, synced_at, {} FROM group_chat WHERE chat_id = $1",
            self.dialect.json_out("admin_list"),
            self.dialect.json_out("raw"),
        );
        let row = sqlx::query(&sql).bind(chat_id).fetch_optional(&self.pool).await.map_err(|e| self.db_error(&e))?;
        row.map(|r| chat_row(&r)).transpose().map_err(|e| self.db_error(&e))
    }

    /// Every chat id in the mirror, sorted.
    ///
    /// # Errors
    /// [`SyncError::Database`].
    pub async fn chat_ids(&self) -> Result<Vec<String>, SyncError> {
        let rows = sqlx::query("SELECT chat_id FROM group_chat ORDER BY chat_id")
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.db_error(&e))?;
        rows.iter().map(|r| r.try_get::<String, _>(0)).collect::<Result<_, _>>().map_err(|e| self.db_error(&e))
    }

    /// One chat's members, by userid.
    ///
    /// # Errors
    /// [`SyncError::Database`].
    pub async fn members(&self, chat_id: &str) -> Result<Vec<MemberRow>, SyncError> {
        let rows = sqlx::query(
            "SELECT chat_id, userid, type, unionid, join_time, join_scene, invitor, group_nickname, name, state \
             FROM group_chat_member WHERE chat_id = $1 ORDER BY userid",
        )
        .bind(chat_id)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.db_error(&e))?;
        rows.iter().map(member_row).collect::<Result<_, _>>().map_err(|e| self.db_error(&e))
    }

    /// The last reconcile (the one with the highest id).
    ///
    /// # Errors
    /// [`SyncError::Database`].
    pub async fn last_run(&self) -> Result<Option<RunRow>, SyncError> {
        let row = sqlx::query(&format!("{RUN_COLUMNS} ORDER BY id DESC LIMIT 1"))
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.db_error(&e))?;
        row.map(|r| run_row(&r)).transpose().map_err(|e| self.db_error(&e))
    }

    /// A run by id.
    pub(crate) async fn run(&self, id: i64) -> Result<Option<RunRow>, sqlx::Error> {
        let row = sqlx::query(&format!("{RUN_COLUMNS} WHERE id = $1")).bind(id).fetch_optional(&self.pool).await?;
        row.map(|r| run_row(&r)).transpose()
    }

    /// The run in progress, if any.
    pub(crate) async fn open_run(&self) -> Result<Option<RunRow>, sqlx::Error> {
        let row = sqlx::query(&format!("{RUN_COLUMNS} WHERE open = 1")).fetch_optional(&self.pool).await?;
        row.map(|r| run_row(&r)).transpose()
    }

    /// Starts a run owned by `worker`, unless one is in progress (`None` then).
    pub(crate) async fn start_run(&self, worker: &str, now: i64, lease_until: i64) -> Result<Option<i64>, sqlx::Error> {
        let row = sqlx::query(
            "INSERT INTO sync_run (open, started_at, owner, lease_until) VALUES (1, $1, $2, $3) \
             ON CONFLICT (open) DO NOTHING RETURNING id",
        )
        .bind(now)
        .bind(worker)
        .bind(lease_until)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| r.try_get::<i64, _>(0)).transpose()
    }

    /// Takes over a run in progress whose worker is gone (its lease ran out); true when taken.
    pub(crate) async fn take_run(
        &self,
        id: i64,
        worker: &str,
        now: i64,
        lease_until: i64,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE sync_run SET owner = $2, lease_until = $3 WHERE id = $1 AND finished_at IS NULL \
             AND (owner = $2 OR lease_until IS NULL OR lease_until < $4)",
        )
        .bind(id)
        .bind(worker)
        .bind(lease_until)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// When the last run started.
    pub(crate) async fn last_run_start(&self) -> Result<Option<i64>, sqlx::Error> {
        let row = sqlx::query("SELECT MAX(started_at) FROM sync_run").fetch_one(&self.pool).await?;
        row.try_get::<Option<i64>, _>(0)
    }

    /// Where the listing of `run` stands (a resumed run goes on from there).
    pub(crate) async fn list_progress(&self, run: i64) -> Result<ListProgress, sqlx::Error> {
        let row = sqlx::query("SELECT list_mode, list_owners, list_batch, list_cursor FROM sync_run WHERE id = $1")
            .bind(run)
            .fetch_one(&self.pool)
            .await?;
        let owners: Option<String> = row.try_get(1)?;
        Ok(ListProgress {
            mode: row.try_get(0)?,
            owners: owners.and_then(|o| serde_json::from_str(&o).ok()).unwrap_or_default(),
            batch: row.try_get(2)?,
            cursor: row.try_get(3)?,
        })
    }

    /// The listing of `run` goes by batches of these owners (81017): saved, so that a resumed listing uses
    /// the same batches.
    pub(crate) async fn start_owner_listing(&self, run: i64, owners: &[String]) -> Result<(), sqlx::Error> {
        let owners = serde_json::to_string(owners).unwrap_or_else(|_| "[]".into());
        sqlx::query(
            "UPDATE sync_run SET list_mode = 'owners', list_owners = $2, list_batch = 0, list_cursor = NULL WHERE id = $1",
        )
        .bind(run)
        .bind(owners)
        .execute(&self.pool)
        .await
        .map(drop)
    }

    /// Queues a page of listed chats for run `run`, due at once (workers fetch while the listing goes on),
    /// and records the listing's progress in the same transaction. The chats stored since the run started
    /// (`synced_at` later than `started_at`) are not queued again (a listing done again from its start).
    pub(crate) async fn queue_listed(
        &self,
        run: i64,
        started_at: i64,
        chats: &[(String, Option<i64>)],
        step: &ListStep<'_>,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        let mut seen = HashSet::new();
        let chats: Vec<&(String, Option<i64>)> = chats.iter().filter(|(id, _)| seen.insert(id.as_str())).collect();
        let mut tx = self.pool.begin().await?;
        // The run's row first (a write: SQLite's write lock; one listing at a time per run anyway).
        sqlx::query(
            "UPDATE sync_run SET list_mode = $2, list_batch = $3, list_cursor = $4, listed = listed + $5 WHERE id = $1",
        )
        .bind(run)
        .bind(step.mode)
        .bind(step.batch)
        .bind(step.cursor)
        .bind(i64::try_from(chats.len()).unwrap_or(i64::MAX))
        .execute(&mut *tx)
        .await?;
        for chunk in chunks(&chats) {
            let values: Vec<String> = (0..chunk.len()).map(|i| format!("(${}, ${})", 4 + 2 * i, 5 + 2 * i)).collect();
            // `column1`, `column2`: the names both engines give the columns of a VALUES list. (SQLite needs
            // the WHERE to read ON CONFLICT as the upsert's.)
            let sql = format!(
                "INSERT INTO sync_queue (chat_id, reason, run_id, list_status, seq, attempts, next_try_at, queued_at) \
                 SELECT v.column1, 'reconcile', $1, v.column2, 0, 0, $2, $2 FROM (VALUES {}) AS v \
                 WHERE NOT EXISTS (SELECT 1 FROM group_chat g WHERE g.chat_id = v.column1 AND g.synced_at > $3) \
                 ON CONFLICT (chat_id) DO UPDATE SET run_id = excluded.run_id, \
                 list_status = excluded.list_status, attempts = 0",
                values.join(", ")
            );
            let mut q = sqlx::query(&sql).bind(run).bind(now).bind(started_at);
            for (id, status) in chunk {
                q = q.bind(id.as_str()).bind(*status);
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await
    }

    /// The listing of `run` is complete.
    pub(crate) async fn finish_listing(&self, run: i64, now: i64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE sync_run SET listed_at = $2, list_cursor = NULL WHERE id = $1")
            .bind(run)
            .bind(now)
            .execute(&self.pool)
            .await
            .map(drop)
    }

    /// Chats of `run` still to fetch (fewer than `max_attempts` failures so far).
    pub(crate) async fn run_pending(&self, run: i64, max_attempts: u32) -> Result<i64, sqlx::Error> {
        let row = sqlx::query("SELECT COUNT(*) FROM sync_queue WHERE run_id = $1 AND attempts < $2")
            .bind(run)
            .bind(i64::from(max_attempts))
            .fetch_one(&self.pool)
            .await?;
        row.try_get(0)
    }

    /// Ends `run`: the chats of it still queued failed every attempt.
    pub(crate) async fn finish_run(&self, run: i64, now: i64) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE sync_run SET finished_at = $2, open = NULL, owner = NULL, lease_until = NULL, \
             failed = (SELECT COUNT(*) FROM sync_queue WHERE run_id = $1) WHERE id = $1 AND finished_at IS NULL",
        )
        .bind(run)
        .bind(now)
        .execute(&self.pool)
        .await
        .map(drop)
    }

    /// Adds what a worker did for `run` to its counts.
    pub(crate) async fn add_run_counts(&self, run: i64, fetched: i64, dismissed: i64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE sync_run SET fetched = fetched + $2, dismissed = dismissed + $3 WHERE id = $1")
            .bind(run)
            .bind(fetched)
            .bind(dismissed)
            .execute(&self.pool)
            .await
            .map(drop)
    }

    /// Extends the leases `worker` holds (queue rows and runs) to `until`.
    pub(crate) async fn renew(&self, worker: &str, until: i64) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE sync_queue SET lease_until = $2 WHERE lease_owner = $1")
            .bind(worker)
            .bind(until)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE sync_run SET lease_until = $2 WHERE owner = $1 AND finished_at IS NULL")
            .bind(worker)
            .bind(until)
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    }

    /// Gives up every lease `worker` holds (a clean stop): its chats are due again at once.
    pub(crate) async fn release_all(&self, worker: &str) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE sync_queue SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = $1")
            .bind(worker)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE sync_run SET owner = NULL, lease_until = NULL WHERE owner = $1 AND finished_at IS NULL")
            .bind(worker)
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    }

    /// Takes up to `limit` due chats for `worker` until `lease_until`: each is taken by one worker only
    /// (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite's single writer), oldest due first. Chats that
    /// failed `max_attempts` times are left alone.
    pub(crate) async fn claim(
        &self,
        worker: &str,
        limit: usize,
        now: i64,
        lease_until: i64,
        max_attempts: i64,
    ) -> Result<Vec<Claim>, sqlx::Error> {
        let due = "SELECT chat_id FROM sync_queue WHERE next_try_at <= $3 AND (lease_until IS NULL OR lease_until < $3) \
                   AND attempts < $4 ORDER BY next_try_at, queued_at LIMIT $5";
        let sql = match self.dialect {
            Dialect::Sqlite => format!(
                "UPDATE sync_queue SET lease_owner = $1, lease_until = $2 WHERE chat_id IN ({due}) \
                 RETURNING chat_id, seq, run_id, list_status, attempts, reason"
            ),
            // The rows are picked once, in a materialized CTE: as a subquery of `IN`, PostgreSQL may run
            // the pick again (a re-check of a row another transaction changed), and `SKIP LOCKED` then
            // picks other rows — more than `limit` in all.
            Dialect::Postgres => format!(
                "WITH due AS MATERIALIZED ({due}{}) \
                 UPDATE sync_queue q SET lease_owner = $1, lease_until = $2 FROM due WHERE q.chat_id = due.chat_id \
                 RETURNING q.chat_id, q.seq, q.run_id, q.list_status, q.attempts, q.reason",
                self.dialect.skip_locked()
            ),
        };
        let rows = sqlx::query(&sql)
            .bind(worker)
            .bind(lease_until)
            .bind(now)
            .bind(max_attempts)
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Claim {
                    chat_id: r.try_get(0)?,
                    seq: r.try_get(1)?,
                    run_id: r.try_get(2)?,
                    list_status: r.try_get(3)?,
                    attempts: r.try_get(4)?,
                    reason: r.try_get(5)?,
                })
            })
            .collect()
    }

    /// Whether `worker` still holds the claim (the first statement of a transaction that stores a claim's
    /// result: a write, so SQLite takes its write lock here, and PostgreSQL locks the queue row first).
    async fn still_ours(tx: &mut sqlx::AnyConnection, claim: &Claim, worker: &str) -> Result<bool, sqlx::Error> {
        let n = sqlx::query("UPDATE sync_queue SET lease_until = lease_until WHERE chat_id = $1 AND lease_owner = $2")
            .bind(claim.chat_id.as_str())
            .bind(worker)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        Ok(n == 1)
    }

    /// Stores a `get` answer: the chat and its member set (members who left removed) in one transaction,
    /// with the queue row gone — unless the chat was queued again meanwhile.
    pub(crate) async fn store_chat(
        &self,
        claim: &Claim,
        worker: &str,
        chat: &GroupChat,
        now: i64,
    ) -> Result<Stored, sqlx::Error> {
        let raw = serde_json::to_string(chat).unwrap_or_else(|_| "null".into());
        let admins = chat.admin_list.as_ref().map(|a| serde_json::to_string(a).unwrap_or_else(|_| "[]".into()));
        let mut members: Vec<MemberRow> =
            chat.member_list.iter().flatten().filter_map(|m| MemberRow::from_member(&chat.chat_id, m)).collect();
        // One row per userid (the last one given wins).
        let mut seen = HashSet::new();
        members.reverse();
        members.retain(|m| seen.insert(m.userid.clone()));
        members.reverse();

        let mut tx = self.pool.begin().await?;
        let began = std::time::Instant::now();
        // First, the queue row (a write: SQLite's write lock is taken here, PostgreSQL locks the queue row
        // before the chat's, as an event does).
        let outcome = dequeue(&mut tx, claim, worker, now).await?;
        if outcome == Stored::LeaseLost {
            tx.rollback().await?;
            return Ok(Stored::LeaseLost);
        }
        // An answer older than a request that came while it was in flight (`Requeued`) does not undo what
        // that request did: a dismissal event stays in force until the next `get` says otherwise.
        let dismissed = if outcome == Stored::Requeued { "group_chat.dismissed" } else { "FALSE" };
        let sql = format!(
            "INSERT INTO group_chat (chat_id, name, owner, create_time, notice, status, member_version, member_count, \
             admin_list, dismissed, synced_at, raw) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, {}, FALSE, $10, {}) \
             ON CONFLICT (chat_id) DO UPDATE SET name = excluded.name, owner = excluded.owner, \
             create_time = excluded.create_time, notice = excluded.notice, \
             status = COALESCE(excluded.status, group_chat.status), member_version = excluded.member_version, \
             member_count = excluded.member_count, admin_list = excluded.admin_list, dismissed = {dismissed}, \
             synced_at = excluded.synced_at, raw = excluded.raw",
            self.dialect.json_in(9),
            self.dialect.json_in(11)
        );
        sqlx::query(&sql)
            .bind(chat.chat_id.as_str())
            .bind(chat.name.as_deref())
            .bind(chat.owner.as_deref())
            .bind(chat.create_time)
            .bind(chat.notice.as_deref())
            .bind(claim.list_status)
            .bind(chat.member_version.as_deref())
            .bind(i64::try_from(members.len()).unwrap_or(i64::MAX))
            .bind(admins)
            .bind(now)
            .bind(raw)
            .execute(&mut *tx)
            .await?;
        // Members who left: every row of the chat whose userid is not in the answer, in one statement.
        let userids = serde_json::to_string(&members.iter().map(|m| m.userid.as_str()).collect::<Vec<_>>())
            .unwrap_or_else(|_| "[]".into());
        let sql = format!(
            "DELETE FROM group_chat_member WHERE chat_id = $1 AND userid NOT IN ({})",
            self.dialect.json_text_array(2)
        );
        sqlx::query(&sql).bind(chat.chat_id.as_str()).bind(userids).execute(&mut *tx).await?;
        for chunk in chunks(&members) {
            upsert_members(&mut tx, chunk).await?;
        }
        // Events of the chat waiting for this `get` reached the rows — there are none when only the listing
        // ever queued it (`reconcile`, no request since).
        if outcome == Stored::Done && !(claim.reason == "reconcile" && claim.seq == 0) {
            mark_events_applied(&mut tx, &claim.chat_id, now).await?;
        }
        tx.commit().await?;
        self.count_store(began);
        Ok(outcome)
    }

    /// `get` said the chat no longer exists: it is marked dismissed (a row is made if there was none), its
    /// queue row removed.
    pub(crate) async fn store_gone(&self, claim: &Claim, worker: &str, now: i64) -> Result<Stored, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let began = std::time::Instant::now();
        if !Self::still_ours(&mut tx, claim, worker).await? {
            tx.rollback().await?;
            return Ok(Stored::LeaseLost);
        }
        sqlx::query(
            "INSERT INTO group_chat (chat_id, status, dismissed) VALUES ($1, $2, TRUE) \
             ON CONFLICT (chat_id) DO UPDATE SET dismissed = TRUE",
        )
        .bind(claim.chat_id.as_str())
        .bind(claim.list_status)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM sync_queue WHERE chat_id = $1 AND lease_owner = $2")
            .bind(claim.chat_id.as_str())
            .bind(worker)
            .execute(&mut *tx)
            .await?;
        mark_events_applied(&mut tx, &claim.chat_id, now).await?;
        tx.commit().await?;
        self.count_store(began);
        Ok(Stored::Done)
    }

    /// A `get` failed: the chat stays queued, due again at `next_try_at`.
    pub(crate) async fn store_failure(
        &self,
        claim: &Claim,
        worker: &str,
        next_try_at: i64,
        error: &str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE sync_queue SET attempts = attempts + 1, next_try_at = $3, last_error = $4, lease_owner = NULL, \
             lease_until = NULL WHERE chat_id = $1 AND lease_owner = $2",
        )
        .bind(claim.chat_id.as_str())
        .bind(worker)
        .bind(next_try_at)
        .bind(error)
        .execute(&self.pool)
        .await
        .map(drop)
    }

    /// Gives a claim back untouched (the worker stops before fetching it, or abandoned the fetch).
    pub(crate) async fn release(&self, claim: &Claim, worker: &str) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE sync_queue SET lease_owner = NULL, lease_until = NULL WHERE chat_id = $1 AND lease_owner = $2",
        )
        .bind(claim.chat_id.as_str())
        .bind(worker)
        .execute(&self.pool)
        .await
        .map(drop)
    }

    /// Owners of the chats in the mirror (for listing by owners after 81017: they include the staff who
    /// resigned, whom `get_follow_user_list` no longer names).
    pub(crate) async fn known_owners(&self) -> Result<Vec<String>, sqlx::Error> {
        let rows = sqlx::query("SELECT DISTINCT owner FROM group_chat WHERE owner IS NOT NULL ORDER BY owner")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| r.try_get(0)).collect()
    }

    /// Starts the transaction of one event: stores it (`None` when its dedupe key is known: a redelivery)
    /// and reads what the chat's rows say.
    pub(crate) async fn begin_event(
        &self,
        event: &NewEvent<'_>,
        now: i64,
    ) -> Result<Option<(sqlx::Transaction<'static, sqlx::Any>, i64, Known)>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let sql = format!(
            "INSERT INTO sync_event (dedupe_key, event, chat_id, change_type, update_detail, create_time, received_at, \
             outcome, body) VALUES ($1, $2, $3, $4, $5, $6, $7, 'received', {}) \
             ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
            self.dialect.json_in(8)
        );
        let id = sqlx::query(&sql)
            .bind(event.dedupe_key)
            .bind(event.name)
            .bind(event.chat_id)
            .bind(event.change_type)
            .bind(event.update_detail)
            .bind(event.create_time)
            .bind(now)
            .bind(event.body.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        let Some(id) = id else {
            tx.rollback().await?;
            return Ok(None);
        };
        let id: i64 = id.try_get(0)?;
        let mut known = Known::default();
        if let Some(chat_id) = event.chat_id {
            let sql = format!("SELECT lease_owner FROM sync_queue WHERE chat_id = $1{}", self.dialect.for_update());
            if let Some(row) = sqlx::query(&sql).bind(chat_id).fetch_optional(&mut *tx).await? {
                known.queued = true;
                known.leased = row.try_get::<Option<String>, _>(0)?.is_some();
            }
            let row = sqlx::query(
                "SELECT member_version, CASE WHEN dismissed THEN 1 ELSE 0 END FROM group_chat WHERE chat_id = $1",
            )
            .bind(chat_id)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(row) = row {
                known.exists = true;
                known.member_version = row.try_get(0)?;
                known.dismissed = row.try_get::<i64, _>(1)? != 0;
            }
        }
        Ok(Some((tx, id, known)))
    }

    /// Ends an event's transaction with its outcome (`applied_at` set unless it waits for a `get`).
    pub(crate) async fn end_event(
        mut tx: sqlx::Transaction<'static, sqlx::Any>,
        id: i64,
        outcome: &str,
        applied_at: Option<i64>,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE sync_event SET outcome = $2, applied_at = $3 WHERE id = $1")
            .bind(id)
            .bind(outcome)
            .bind(applied_at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    }
}

/// An event to store.
#[derive(Debug)]
pub(crate) struct NewEvent<'a> {
    pub(crate) dedupe_key: &'a str,
    pub(crate) name: &'a str,
    pub(crate) chat_id: Option<&'a str>,
    pub(crate) change_type: Option<&'a str>,
    pub(crate) update_detail: Option<&'a str>,
    pub(crate) create_time: Option<i64>,
    pub(crate) body: String,
}

/// Queues a `get` of `chat_id` for an event (`reason`): a new row, or the row already there, due now
/// (several events for one chat make one `get`); `seq` counts the requests, so a `get` in flight that
/// predates this one does not clear the row.
pub(crate) async fn queue_for_event(
    tx: &mut sqlx::AnyConnection,
    chat_id: &str,
    reason: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO sync_queue (chat_id, reason, seq, attempts, next_try_at, queued_at) VALUES ($1, $2, 0, 0, $3, $3) \
         ON CONFLICT (chat_id) DO UPDATE SET seq = sync_queue.seq + 1, attempts = 0, last_error = NULL, \
         next_try_at = CASE WHEN sync_queue.next_try_at > $3 THEN $3 ELSE sync_queue.next_try_at END",
    )
    .bind(chat_id)
    .bind(reason)
    .bind(now)
    .execute(&mut *tx)
    .await
    .map(drop)
}

/// A `dismiss` event: the chat is marked at once (a row is made if there was none); a `get` still due
/// is dropped, one in flight is asked again (its answer may predate the dismissal).
pub(crate) async fn dismiss(
    tx: &mut sqlx::AnyConnection,
    chat_id: &str,
    leased: bool,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO group_chat (chat_id, dismissed) VALUES ($1, TRUE) ON CONFLICT (chat_id) DO UPDATE SET dismissed = TRUE",
    )
    .bind(chat_id)
    .execute(&mut *tx)
    .await?;
    let sql = if leased {
        "UPDATE sync_queue SET seq = seq + 1 WHERE chat_id = $1"
    } else {
        "DELETE FROM sync_queue WHERE chat_id = $1"
    };
    sqlx::query(sql).bind(chat_id).execute(&mut *tx).await?;
    mark_events_applied(tx, chat_id, now).await
}

/// A `del_member` applied without a `get`: the members who left are removed and the version moves on —
/// in `raw` too, which then reads as `get` would answer.
pub(crate) async fn remove_members(
    tx: &mut sqlx::AnyConnection,
    dialect: Dialect,
    chat_id: &str,
    userids: &[String],
    version: Option<&str>,
) -> Result<(), sqlx::Error> {
    for userid in userids {
        sqlx::query("DELETE FROM group_chat_member WHERE chat_id = $1 AND userid = $2")
            .bind(chat_id)
            .bind(userid.as_str())
            .execute(&mut *tx)
            .await?;
    }
    let sql = format!("SELECT {} FROM group_chat WHERE chat_id = $1", dialect.json_out("raw"));
    let raw: Option<String> = sqlx::query(&sql).bind(chat_id).fetch_one(&mut *tx).await?.try_get(0)?;
    let raw = raw.and_then(|text| serde_json::from_str::<Value>(&text).ok()).map(|mut raw| {
        if let Some(members) = raw.get_mut("member_list").and_then(Value::as_array_mut) {
            members.retain(|m| !m["userid"].as_str().is_some_and(|u| userids.iter().any(|left| left == u)));
        }
        if let Some(object) = raw.as_object_mut() {
            object.insert("member_version".into(), version.map_or(Value::Null, |v| Value::String(v.into())));
        }
        raw.to_string()
    });
    let sql = format!(
        "UPDATE group_chat SET member_version = $2, raw = COALESCE({}, raw), \
         member_count = (SELECT COUNT(*) FROM group_chat_member WHERE chat_id = $1) WHERE chat_id = $1",
        dialect.json_in(3)
    );
    sqlx::query(&sql).bind(chat_id).bind(version).bind(raw).execute(&mut *tx).await.map(drop)
}

/// Events of `chat_id` waiting for a `get` have reached the rows.
async fn mark_events_applied(tx: &mut sqlx::AnyConnection, chat_id: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE sync_event SET applied_at = $2 WHERE chat_id = $1 AND applied_at IS NULL")
        .bind(chat_id)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map(drop)
}

/// Removes the queue row of a claim whose answer is being stored, unless it was queued again since it was
/// taken (then it is handed back, due at once: `Requeued`); `LeaseLost` when the row is no longer this
/// worker's.
async fn dequeue(tx: &mut sqlx::AnyConnection, claim: &Claim, worker: &str, now: i64) -> Result<Stored, sqlx::Error> {
    let removed = sqlx::query("DELETE FROM sync_queue WHERE chat_id = $1 AND lease_owner = $2 AND seq = $3")
        .bind(claim.chat_id.as_str())
        .bind(worker)
        .bind(claim.seq)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if removed == 1 {
        return Ok(Stored::Done);
    }
    let handed_back = sqlx::query(
        "UPDATE sync_queue SET lease_owner = NULL, lease_until = NULL, attempts = 0, next_try_at = $3 \
         WHERE chat_id = $1 AND lease_owner = $2",
    )
    .bind(claim.chat_id.as_str())
    .bind(worker)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    Ok(if handed_back == 1 { Stored::Requeued } else { Stored::LeaseLost })
}

/// Whether the database holds the mirror's schema at `migrator`'s version, without changing anything: the
/// reason it does not, if it does not.
async fn check_schema(pool: &AnyPool, migrator: &sqlx::migrate::Migrator) -> Result<(), String> {
    let applied: Vec<i64> = match sqlx::query("SELECT version FROM _sqlx_migrations WHERE success")
        .fetch_all(pool)
        .await
    {
        Ok(rows) => rows.iter().map(|r| r.try_get::<i64, _>(0)).collect::<Result<_, _>>().map_err(|e| e.to_string())?,
        Err(sqlx::Error::Database(e)) => {
            return Err(format!(
                "no mirror in this database (its schema is not there: {e}); `wecom-groupchat sync --once` creates it"
            ));
        }
        Err(e) => return Err(e.to_string()),
    };
    let known: Vec<i64> = migrator.iter().map(|m| m.version).collect();
    if let Some(newer) = applied.iter().find(|v| !known.contains(v)) {
        return Err(format!("the mirror's schema is of a newer version (migration {newer}) than this build knows"));
    }
    if let Some(missing) = known.iter().find(|v| !applied.contains(v)) {
        return Err(format!(
            "the mirror's schema is of an older version (migration {missing} not applied); `wecom-groupchat sync --once` migrates it"
        ));
    }
    Ok(())
}

/// Inserts or updates member rows (a row left as it is when nothing in it changed).
async fn upsert_members(tx: &mut sqlx::AnyConnection, rows: &[MemberRow]) -> Result<(), sqlx::Error> {
    const COLUMNS: usize = 10;
    let values: Vec<String> = (0..rows.len())
        .map(|r| {
            let params: Vec<String> = (1..=COLUMNS).map(|c| format!("${}", r * COLUMNS + c)).collect();
            format!("({})", params.join(", "))
        })
        .collect();
    let changed = ["type", "unionid", "join_time", "join_scene", "invitor", "group_nickname", "name", "state"];
    let set: Vec<String> = changed.iter().map(|c| format!("{c} = excluded.{c}")).collect();
    let differs: Vec<String> =
        changed.iter().map(|c| format!("group_chat_member.{c} IS DISTINCT FROM excluded.{c}")).collect();
    let sql = format!(
        "INSERT INTO group_chat_member (chat_id, userid, type, unionid, join_time, join_scene, invitor, group_nickname, \
         name, state) VALUES {} ON CONFLICT (chat_id, userid) DO UPDATE SET {} WHERE {}",
        values.join(", "),
        set.join(", "),
        differs.join(" OR ")
    );
    let mut q = sqlx::query(&sql);
    for m in rows {
        q = q
            .bind(m.chat_id.as_str())
            .bind(m.userid.as_str())
            .bind(m.member_type)
            .bind(m.unionid.as_deref())
            .bind(m.join_time)
            .bind(m.join_scene)
            .bind(m.invitor.as_deref())
            .bind(m.group_nickname.as_deref())
            .bind(m.name.as_deref())
            .bind(m.state.as_deref());
    }
    q.execute(&mut *tx).await.map(drop)
}

/// Splits `items` into chunks of [`MAX_ROWS_PER_STATEMENT`] rows and one of the rest: a chat's members
/// usually go in one statement, and a multi-row statement comes in at most that many shapes (each
/// prepared once per connection).
fn chunks<T>(items: &[T]) -> Vec<&[T]> {
    items.chunks(MAX_ROWS_PER_STATEMENT).collect()
}

const RUN_COLUMNS: &str = "SELECT id, started_at, listed_at, finished_at, list_mode, listed, fetched, dismissed, failed, \
                           owner, lease_until FROM sync_run";

fn run_row(r: &AnyRow) -> Result<RunRow, sqlx::Error> {
    Ok(RunRow {
        id: r.try_get(0)?,
        started_at: r.try_get(1)?,
        listed_at: r.try_get(2)?,
        finished_at: r.try_get(3)?,
        list_mode: r.try_get(4)?,
        listed: r.try_get(5)?,
        fetched: r.try_get(6)?,
        dismissed: r.try_get(7)?,
        failed: r.try_get(8)?,
        owner: r.try_get(9)?,
        lease_until: r.try_get(10)?,
    })
}

fn json(text: Option<String>) -> Option<Value> {
    text.and_then(|t| serde_json::from_str(&t).ok())
}

fn chat_row(r: &AnyRow) -> Result<ChatRow, sqlx::Error> {
    Ok(ChatRow {
        chat_id: r.try_get(0)?,
        name: r.try_get(1)?,
        owner: r.try_get(2)?,
        create_time: r.try_get(3)?,
        notice: r.try_get(4)?,
        status: r.try_get(5)?,
        member_version: r.try_get(6)?,
        member_count: r.try_get(7)?,
        admin_list: json(r.try_get(8)?),
        dismissed: r.try_get::<i64, _>(9)? != 0,
        synced_at: r.try_get(10)?,
        raw: json(r.try_get(11)?),
    })
}

fn member_row(r: &AnyRow) -> Result<MemberRow, sqlx::Error> {
    Ok(MemberRow {
        chat_id: r.try_get(0)?,
        userid: r.try_get(1)?,
        member_type: r.try_get(2)?,
        unionid: r.try_get(3)?,
        join_time: r.try_get(4)?,
        join_scene: r.try_get(5)?,
        invitor: r.try_get(6)?,
        group_nickname: r.try_get(7)?,
        name: r.try_get(8)?,
        state: r.try_get(9)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_hold_at_most_the_rows_of_one_statement() {
        let sizes = |n: usize| chunks(&vec![0u8; n]).iter().map(|c| c.len()).collect::<Vec<_>>();
        assert_eq!(sizes(0), Vec::<usize>::new());
        assert_eq!(sizes(20), [20]);
        assert_eq!(sizes(64), [64]);
        assert_eq!(sizes(131), [64, 64, 3]);
    }
}
