//! (9) Callback decoding: what opening one WeCom event POST costs, on one thread. The event is a
//! `change_external_chat` `add_member` with 10 members in the self-built-app form, sealed as WeCom seals
//! it (a few pre-sealed messages, cycled through). Per event: parse the envelope for `Encrypt`, verify
//! `msg_signature`, base64-decode, AES-256-CBC-decrypt, strip the PKCS#7 (32) padding, check `msg_len` and
//! the receive id, parse the decrypted XML and decode it into a [`BenchEvent`].
//!
//! Three sides on the same messages: the floor ([`crate::callback_floor`], written plainly for the bench),
//! ours (`CallbackCrypto::decrypt_post`, `xml::parse` and [`decode_ours`]) and wechatpy
//! (`WeChatCrypto.decrypt_message` and `parse_message`, in Python, `peer/wechatpy_callback.py`), each of
//! which must decode every message into the same fields before anything is timed.

use std::hint::black_box;
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use wecom_groupchat::callback::xml::{self, Element};
use wecom_groupchat::callback::{CallbackCrypto, CallbackError};
use wecom_groupchat::events::{CallbackEvent, Event, Header};

use crate::callback_floor::{self, Floor};
use crate::cputime;
use crate::stats::{self, Summary};
use crate::venv::{Venv, WECHATPY_VERSION, last_line};

/// The app's Token.
pub const TOKEN: &str = "cbenchT0kenQDG6eK";
/// The app's EncodingAESKey (the official sample key: its last character carries trailing bits).
pub const ENCODING_AES_KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
/// The receive id: for a corp's own app, the corp id.
pub const CORP_ID: &str = "ww55ca070cb9b7eb22";
/// The envelope's `AgentID`.
pub const AGENT_ID: &str = "1000002";
/// Members joining in each event (`MemChangeCnt`, the `<Item>`s of `MemChangeList`).
pub const MEMBERS: usize = 10;
/// Target: our time per event (median) at most this many times the floor's.
pub const RATIO_TARGET: f64 = 1.2;
/// Target: at least this many events per second on one core (ours, from the mean time per event).
pub const RATE_TARGET: f64 = 80_000.0;
/// The wechatpy script, relative to the workspace root.
pub const SCRIPT: &str = "wecom-groupchat-bench/peer/wechatpy_callback.py";

/// The event's fields, as each side decodes them. The JSON names are the XML names (the wechatpy script
/// reports its dicts in this shape).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BenchEvent {
    /// The corp id.
    pub to_user_name: String,
    /// Always `sys`.
    pub from_user_name: String,
    /// Seconds.
    pub create_time: i64,
    /// `event`.
    pub msg_type: String,
    /// `change_external_chat`.
    pub event: String,
    /// The chat.
    pub chat_id: String,
    /// `create`, `update`, `dismiss`.
    pub change_type: String,
    /// `add_member`, `del_member` …
    pub update_detail: Option<String>,
    /// How the members joined.
    pub join_scene: Option<i64>,
    /// How members left.
    pub quit_scene: Option<i64>,
    /// How many members changed.
    pub mem_change_cnt: Option<i64>,
    /// The members who changed (`<Item>`s).
    pub mem_change_list: Option<Vec<String>>,
    /// The member-list version before the change.
    pub last_mem_ver: Option<String>,
    /// The member-list version after it.
    pub cur_mem_ver: Option<String>,
}

/// What WeCom sends for one event: the query's `msg_signature`, `timestamp`, `nonce`, and the body.
#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    /// `msg_signature`.
    pub signature: String,
    /// `timestamp`.
    pub timestamp: String,
    /// `nonce`.
    pub nonce: String,
    /// `<xml><ToUserName/><AgentID/><Encrypt/></xml>`.
    pub body: String,
}

/// The messages of a run and what they must decode to.
#[derive(Debug, Clone)]
pub struct Workload {
    /// The sealed messages.
    pub deliveries: Vec<Delivery>,
    /// The event each one carries.
    pub expected: Vec<BenchEvent>,
    /// Size of the first decrypted XML.
    pub xml_bytes: usize,
    /// Size of the first POST body.
    pub body_bytes: usize,
}

/// Our side's configuration.
pub fn crypto() -> Result<CallbackCrypto, String> {
    CallbackCrypto::new(TOKEN, ENCODING_AES_KEY, CORP_ID).map_err(|e| e.to_string())
}

/// The floor's configuration: the same three values.
pub fn floor() -> Result<Floor, String> {
    Floor::new(TOKEN, ENCODING_AES_KEY, CORP_ID)
}

/// `n` events sealed with [`crypto`], each with its own chat, members, versions, time and nonce.
pub fn workload(n: usize) -> Result<Workload, String> {
    let crypto = crypto()?;
    let mut deliveries = Vec::with_capacity(n);
    let mut expected = Vec::with_capacity(n);
    for i in 0..n.max(1) {
        let event = event(i);
        let xml = event_xml(&event);
        let timestamp = (event.create_time + 1).to_string();
        let nonce = format!("{}", 1_320_562_132 + i * 7919);
        let sealed = crypto.encrypt(&xml, &timestamp, &nonce).map_err(|e| e.to_string())?;
        deliveries.push(Delivery {
            body: sealed.post_body(CORP_ID, Some(AGENT_ID)),
            signature: sealed.signature,
            timestamp,
            nonce,
        });
        expected.push(event);
    }
    let xml_bytes = event_xml(&expected[0]).len();
    let body_bytes = deliveries[0].body.len();
    Ok(Workload { deliveries, expected, xml_bytes, body_bytes })
}

/// The `i`-th event: an `add_member` of [`MEMBERS`] external contacts who scanned the group's QR code.
pub fn event(i: usize) -> BenchEvent {
    let mut seed = 0x9E37_79B9_7F4A_7C15u64 ^ (i as u64).wrapping_mul(0xD1B5_4A32_D192_ED03);
    let mut text = |prefix: &str, len: usize, alphabet: &[u8]| {
        let mut s = String::with_capacity(prefix.len() + len);
        s.push_str(prefix);
        for _ in 0..len {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            s.push(char::from(alphabet[(seed % alphabet.len() as u64) as usize]));
        }
        s
    };
    const ID: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    const HEX: &[u8] = b"0123456789abcdef";
    let chat_id = text("wrOgQhDgAA", 22, ID);
    let members: Vec<String> = (0..MEMBERS).map(|_| text("wmOgQhDgAA", 22, ID)).collect();
    BenchEvent {
        to_user_name: CORP_ID.into(),
        from_user_name: "sys".into(),
        create_time: 1_764_115_200 + i as i64 * 61,
        msg_type: "event".into(),
        event: "change_external_chat".into(),
        chat_id,
        change_type: "update".into(),
        update_detail: Some("add_member".into()),
        join_scene: Some(3),
        quit_scene: Some(0),
        mem_change_cnt: Some(MEMBERS as i64),
        mem_change_list: Some(members),
        last_mem_ver: Some(text("", 32, HEX)),
        cur_mem_ver: Some(text("", 32, HEX)),
    }
}

/// The decrypted message WeCom sends for `event`: the documented layout (tabs and newlines), strings
/// in CDATA as real payloads have them, numbers as text.
pub fn event_xml(event: &BenchEvent) -> String {
    use std::fmt::Write as _;
    let mut x = String::with_capacity(1024);
    let cdata = |x: &mut String, name: &str, value: &str| {
        let _ = writeln!(x, "\t<{name}><![CDATA[{value}]]></{name}>");
    };
    let number = |x: &mut String, name: &str, value: i64| {
        let _ = writeln!(x, "\t<{name}>{value}</{name}>");
    };
    x.push_str("<xml>\n");
    cdata(&mut x, "ToUserName", &event.to_user_name);
    cdata(&mut x, "FromUserName", &event.from_user_name);
    number(&mut x, "CreateTime", event.create_time);
    cdata(&mut x, "MsgType", &event.msg_type);
    cdata(&mut x, "Event", &event.event);
    cdata(&mut x, "ChatId", &event.chat_id);
    cdata(&mut x, "ChangeType", &event.change_type);
    if let Some(v) = &event.update_detail {
        cdata(&mut x, "UpdateDetail", v);
    }
    for (name, value) in
        [("JoinScene", event.join_scene), ("QuitScene", event.quit_scene), ("MemChangeCnt", event.mem_change_cnt)]
    {
        if let Some(v) = value {
            number(&mut x, name, v);
        }
    }
    if let Some(list) = &event.mem_change_list {
        x.push_str("\t<MemChangeList>\n");
        for item in list {
            let _ = writeln!(x, "\t\t<Item><![CDATA[{item}]]></Item>");
        }
        x.push_str("\t</MemChangeList>\n");
    }
    for (name, value) in [("LastMemVer", &event.last_mem_ver), ("CurMemVer", &event.cur_mem_ver)] {
        if let Some(v) = value {
            cdata(&mut x, name, v);
        }
    }
    x.push_str("</xml>");
    x
}

/// Our side, the library's path: `CallbackCrypto::decrypt_post` (envelope, signature, decryption and
/// its checks), `xml::parse`, then [`decode_ours`].
pub fn ours(crypto: &CallbackCrypto, delivery: &Delivery) -> Result<BenchEvent, CallbackError> {
    let xml =
        crypto.decrypt_post(&delivery.signature, &delivery.timestamp, &delivery.nonce, delivery.body.as_bytes())?;
    let root = xml::parse(&xml)?;
    Ok(decode_ours(root))
}

/// The decrypted message's tree into the event through the generated decoder
/// (`wecom_groupchat::events::CallbackEvent::decode`, from `api-spec/events/`), then into the bench's
/// plain struct for the side-by-side check.
pub fn decode_ours(root: Element) -> BenchEvent {
    let message = CallbackEvent::decode(root);
    let mut event = BenchEvent { event: message.name().to_string(), ..BenchEvent::default() };
    if let Some(Header::App(header)) = message.header {
        event.to_user_name = header.to_user_name;
        event.from_user_name = header.from_user_name;
        event.create_time = header.create_time;
        event.msg_type = header.msg_type;
    }
    if let Event::ChangeExternalChat(change) = message.event {
        event.chat_id = change.chat_id;
        event.change_type = change.change_type.as_str().to_string();
        event.update_detail = change.update_detail.map(|d| d.as_str().to_string());
        event.join_scene = change.join_scene.map(i64::from);
        event.quit_scene = change.quit_scene.map(i64::from);
        event.mem_change_cnt = change.mem_change_cnt;
        event.mem_change_list = change.mem_change_list;
        event.last_mem_ver = change.last_mem_ver;
        event.cur_mem_ver = change.cur_mem_ver;
    }
    event
}

/// How much work.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Pre-sealed messages, cycled through.
    pub messages: usize,
    /// Unmeasured rounds first.
    pub warmup: usize,
    /// Measured rounds: in each, a batch of events by the floor and one by ours, in alternating order.
    pub rounds: usize,
    /// Events per side and round.
    pub batch: usize,
    /// Repetitions of each step in the breakdown (timed in batches of [`STEP_BATCH`]).
    pub step_calls: usize,
    /// wechatpy's unmeasured events.
    pub peer_warmup: usize,
    /// wechatpy's measured events.
    pub peer_events: usize,
}

/// Calls per timing in the step breakdown (a step can take less than a microsecond, so single calls
/// would mostly time the clock).
pub const STEP_BATCH: usize = 100;

impl Plan {
    /// The full plan or a smoke run.
    pub fn new(quick: bool) -> Self {
        if quick {
            Plan { messages: 4, warmup: 2, rounds: 20, batch: 20, step_calls: 200, peer_warmup: 20, peer_events: 200 }
        } else {
            Plan {
                messages: 8,
                warmup: 20,
                rounds: 500,
                batch: 100,
                step_calls: 20_000,
                peer_warmup: 2_000,
                peer_events: 20_000,
            }
        }
    }
}

/// One side's time per event.
#[derive(Debug, Clone, Copy)]
pub struct SideFigures {
    /// Order statistics of the events' (wall-clock) times.
    pub summary: Summary,
    /// Mean wall-clock time per event: with the time the thread was preempted by whatever else ran.
    pub mean: Duration,
    /// CPU time of the thread per event over the measured batches (the clock reads included).
    pub cpu: Duration,
    /// Events per second on one core: 1 / `cpu`.
    pub per_s: f64,
}

impl SideFigures {
    /// From each event's wall-clock time and the thread's CPU time over all of them.
    fn of(samples: &mut [Duration], cpu_total: Duration) -> Option<Self> {
        let total: Duration = samples.iter().sum();
        let n = u32::try_from(samples.len()).ok()?;
        let summary = Summary::of(samples)?;
        let cpu = cpu_total / n.max(1);
        Some(SideFigures { summary, mean: total / n.max(1), cpu, per_s: f64::from(n) / cpu_total.as_secs_f64() })
    }
}

/// The wechatpy side.
#[derive(Debug, Clone)]
pub enum PeerSide {
    /// It ran.
    Ran(Box<PeerFigures>),
    /// It could not: why.
    Skipped(String),
}

/// wechatpy's figures.
#[derive(Debug, Clone)]
pub struct PeerFigures {
    /// wechatpy's version.
    pub wechatpy: String,
    /// Python's.
    pub python: String,
    /// cryptography's (wechatpy's AES).
    pub cryptography: String,
    /// xmltodict's (wechatpy's XML).
    pub xmltodict: String,
    /// Time per event.
    pub figures: SideFigures,
    /// Each message as wechatpy decoded it.
    pub decoded: Vec<BenchEvent>,
    /// The virtualenv's set-up (not part of any figure), and whether an earlier section made it.
    pub install: Duration,
    /// Whether the peer section of this run made the virtualenv.
    pub reused: bool,
}

/// One step of opening an event, on each side (median time per call).
#[derive(Debug, Clone)]
pub struct Step {
    /// What it does.
    pub name: &'static str,
    /// The floor's time; `None` where the floor does this as part of another step.
    pub floor: Option<Duration>,
    /// Ours.
    pub ours: Option<Duration>,
}

/// The section's figures.
#[derive(Debug, Clone)]
pub struct CallbackResult {
    /// The plan.
    pub plan: Plan,
    /// Size of a decrypted message.
    pub xml_bytes: usize,
    /// Size of a POST body.
    pub body_bytes: usize,
    /// The floor.
    pub floor: SideFigures,
    /// Ours.
    pub ours: SideFigures,
    /// ours/floor of the median time per event.
    pub ratio_median: f64,
    /// Its 95 % bootstrap interval.
    pub ratio_median_interval: Option<(f64, f64)>,
    /// ours/floor of the mean time per event.
    pub ratio_mean: f64,
    /// wechatpy.
    pub peer: PeerSide,
    /// Where the time goes, step by step.
    pub steps: Vec<Step>,
    /// The events the messages carry.
    pub expected: Vec<BenchEvent>,
    /// Each message as the floor decoded it.
    pub floor_decoded: Vec<BenchEvent>,
    /// Each message as ours decoded it.
    pub ours_decoded: Vec<BenchEvent>,
}

impl CallbackResult {
    /// Whether ours took at most [`RATIO_TARGET`] times the floor's time per event.
    pub fn ratio_met(&self) -> bool {
        self.ratio_median <= RATIO_TARGET
    }

    /// Whether ours opened at least [`RATE_TARGET`] events per second.
    pub fn rate_met(&self) -> bool {
        self.ours.per_s >= RATE_TARGET
    }
}

#[derive(Serialize)]
struct Fixture<'a> {
    token: &'a str,
    encoding_aes_key: &'a str,
    corp_id: &'a str,
    warmup: usize,
    events: usize,
    messages: &'a [Delivery],
}

#[derive(Deserialize)]
struct PeerReport {
    wechatpy: String,
    python: String,
    cryptography: String,
    xmltodict: String,
    ns: Vec<u64>,
    cpu_ns: u64,
    events: Vec<BenchEvent>,
}

/// Seals the messages, checks that every side decodes each one into its event, then times the floor
/// and ours (interleaved), the steps of each, and wechatpy when `python` is a virtualenv (else its
/// error is the reason wechatpy is skipped). `root` is the workspace root.
pub fn run(root: &Path, plan: Plan, python: Result<Venv, String>) -> Result<CallbackResult, String> {
    let work = workload(plan.messages)?;
    let crypto = crypto()?;
    let mut floor = floor()?;

    // Correctness first: the same fields on every side, for every message.
    let mut floor_decoded = Vec::with_capacity(work.deliveries.len());
    let mut ours_decoded = Vec::with_capacity(work.deliveries.len());
    for (i, (delivery, expected)) in work.deliveries.iter().zip(&work.expected).enumerate() {
        let f = floor.open(delivery).map_err(|e| format!("the floor cannot open message {i}: {e}"))?;
        let o = ours(&crypto, delivery).map_err(|e| format!("ours cannot open message {i}: {e}"))?;
        if &f != expected || &o != expected {
            return Err(format!("message {i} decoded wrong:\nexpected {expected:?}\nfloor    {f:?}\nours     {o:?}"));
        }
        floor_decoded.push(f);
        ours_decoded.push(o);
    }

    let [(mut floor_ns, floor_cpu), (mut ours_ns, ours_cpu)] =
        interleaved(&work.deliveries, plan, &crypto, &mut floor)?;
    let ratio_median_interval = stats::bootstrap_ratio(&ours_ns, &floor_ns, 0.5, 1_000, 0.95);
    let floor_figures = SideFigures::of(&mut floor_ns, floor_cpu).ok_or("no floor samples")?;
    let ours_figures = SideFigures::of(&mut ours_ns, ours_cpu).ok_or("no samples of ours")?;
    let steps = steps(&work.deliveries, plan.step_calls, &crypto, &mut floor)?;

    let peer = match python {
        Err(reason) => PeerSide::Skipped(reason),
        Ok(venv) => {
            let peer = wechatpy(root, &venv, &work, plan)?;
            if peer.decoded != work.expected {
                let at = peer.decoded.iter().zip(&work.expected).position(|(a, b)| a != b).unwrap_or(0);
                return Err(format!(
                    "wechatpy decoded message {at} wrong:\nexpected {:?}\nwechatpy {:?}",
                    work.expected.get(at),
                    peer.decoded.get(at)
                ));
            }
            PeerSide::Ran(Box::new(peer))
        }
    };

    Ok(CallbackResult {
        plan,
        xml_bytes: work.xml_bytes,
        body_bytes: work.body_bytes,
        ratio_median: stats::ratio(ours_figures.summary.median, floor_figures.summary.median),
        ratio_median_interval,
        ratio_mean: stats::ratio(ours_figures.mean, floor_figures.mean),
        floor: floor_figures,
        ours: ours_figures,
        peer,
        steps,
        expected: work.expected,
        floor_decoded,
        ours_decoded,
    })
}

#[derive(Clone, Copy)]
enum Side {
    Floor,
    Ours,
}

/// Each event timed on its own (the clock costs some 20–40 ns of the few µs): rounds of one batch per
/// side, the order alternating, so that drift and the machine's other load hit both alike. The event is
/// dropped inside the timing (freeing is part of the cost). Returns each side's samples and the
/// thread's CPU time over its measured batches.
fn interleaved(
    deliveries: &[Delivery],
    plan: Plan,
    crypto: &CallbackCrypto,
    floor: &mut Floor,
) -> Result<[(Vec<Duration>, Duration); 2], String> {
    let mut floor_ns = Vec::with_capacity(plan.rounds * plan.batch);
    let mut ours_ns = Vec::with_capacity(plan.rounds * plan.batch);
    let (mut floor_cpu, mut ours_cpu) = (Duration::ZERO, Duration::ZERO);
    let mut next = 0usize;
    for round in 0..plan.warmup + plan.rounds {
        let order = if round % 2 == 0 { [Side::Floor, Side::Ours] } else { [Side::Ours, Side::Floor] };
        for side in order {
            let cpu_before = cputime::this_thread();
            for _ in 0..plan.batch {
                let delivery = &deliveries[next % deliveries.len()];
                next += 1;
                let started = Instant::now();
                let took = match side {
                    Side::Floor => {
                        drop(black_box(floor.open(black_box(delivery))?));
                        started.elapsed()
                    }
                    Side::Ours => {
                        drop(black_box(ours(crypto, black_box(delivery)).map_err(|e| e.to_string())?));
                        started.elapsed()
                    }
                };
                if round >= plan.warmup {
                    match side {
                        Side::Floor => floor_ns.push(took),
                        Side::Ours => ours_ns.push(took),
                    }
                }
            }
            if round >= plan.warmup {
                let used = cputime::this_thread().saturating_sub(cpu_before);
                match side {
                    Side::Floor => floor_cpu += used,
                    Side::Ours => ours_cpu += used,
                }
            }
        }
    }
    Ok([(floor_ns, floor_cpu), (ours_ns, ours_cpu)])
}

/// The median time per call of `step` over `calls` calls, timed [`STEP_BATCH`] at a time.
fn time_step<T>(calls: usize, mut step: impl FnMut(usize) -> Result<T, String>) -> Result<Duration, String> {
    let mut times = Vec::with_capacity(calls / STEP_BATCH + 1);
    // One unmeasured batch: caches, branch predictors.
    for i in 0..STEP_BATCH {
        drop(black_box(step(i)?));
    }
    for b in 0..calls.div_ceil(STEP_BATCH) {
        let started = Instant::now();
        for i in 0..STEP_BATCH {
            drop(black_box(step(b * STEP_BATCH + i)?));
        }
        times.push(started.elapsed() / STEP_BATCH as u32);
    }
    stats::median(times).ok_or_else(|| "no step timings".to_string())
}

/// Where the time goes: each step of opening an event, timed alone on its own inputs (prepared
/// beforehand), for the floor and ours. Ours' envelope step is `xml::parse_bytes` and the copy of
/// `Encrypt`, which is what `decrypt_post` does before it verifies.
fn steps(
    deliveries: &[Delivery],
    calls: usize,
    crypto: &CallbackCrypto,
    floor: &mut Floor,
) -> Result<Vec<Step>, String> {
    let n = deliveries.len();
    let at = |i: usize| &deliveries[i % n];
    let encrypts: Vec<String> = deliveries
        .iter()
        .map(|d| callback_floor::envelope_encrypt(&d.body).map(str::to_string))
        .collect::<Result<_, _>>()?;
    let xmls: Vec<String> = encrypts.iter().map(|e| floor.decrypt(e).map(str::to_string)).collect::<Result<_, _>>()?;
    let roots: Vec<Element> =
        xmls.iter().map(|x| xml::parse(x).map_err(|e| e.to_string())).collect::<Result<_, _>>()?;
    let err = |e: CallbackError| e.to_string();

    let floor_envelope = time_step(calls, |i| callback_floor::envelope_encrypt(&at(i).body).map(str::len))?;
    // The library reads the envelope inside `decrypt_post` only: its share is what `decrypt_post` takes
    // beyond the signature and the decryption, each timed alone below.
    let ours_open = time_step(calls, |i| {
        let d = at(i);
        crypto.decrypt_post(&d.signature, &d.timestamp, &d.nonce, d.body.as_bytes()).map_err(err)
    })?;
    let floor_signature =
        time_step(calls, |i| floor.verify(&at(i).signature, &at(i).timestamp, &at(i).nonce, &encrypts[i % n]))?;
    let ours_signature = time_step(calls, |i| {
        crypto.verify_signature(&at(i).signature, &at(i).timestamp, &at(i).nonce, &encrypts[i % n]).map_err(err)
    })?;
    let floor_decrypt = time_step(calls, |i| floor.decrypt(&encrypts[i % n]).map(str::len))?;
    let ours_decrypt = time_step(calls, |i| crypto.decrypt_unverified(&encrypts[i % n]).map_err(err))?;
    let floor_decode = time_step(calls, |i| callback_floor::decode(&xmls[i % n]))?;
    let ours_parse = time_step(calls, |i| xml::parse(&xmls[i % n]).map_err(|e| e.to_string()))?;
    let ours_decode = time_step(calls, |i| Ok(decode_ours(roots[i % n].clone())))?;
    let ours_envelope = ours_open.saturating_sub(ours_signature + ours_decrypt);
    Ok(vec![
        Step {
            name: "envelope: parse, find `Encrypt` (ours: `decrypt_post` less the next two steps)",
            floor: Some(floor_envelope),
            ours: Some(ours_envelope),
        },
        Step { name: "signature: SHA-1, compare", floor: Some(floor_signature), ours: Some(ours_signature) },
        Step {
            name: "decrypt: base64, AES-256-CBC, padding, `msg_len`, receive id, UTF-8",
            floor: Some(floor_decrypt),
            ours: Some(ours_decrypt),
        },
        Step { name: "message: parse the XML", floor: None, ours: Some(ours_parse) },
        Step {
            name: "message: decode into the event (the floor: parse and decode in one pass)",
            floor: Some(floor_decode),
            ours: Some(ours_decode),
        },
    ])
}

/// wechatpy on the same messages, in its own process.
fn wechatpy(root: &Path, venv: &Venv, work: &Workload, plan: Plan) -> Result<PeerFigures, String> {
    let script = root.join(SCRIPT);
    let fixture = Fixture {
        token: TOKEN,
        encoding_aes_key: ENCODING_AES_KEY,
        corp_id: CORP_ID,
        warmup: plan.peer_warmup,
        events: plan.peer_events,
        messages: &work.deliveries,
    };
    let input = serde_json::to_vec(&fixture).map_err(|e| e.to_string())?;
    let mut child = Command::new(&venv.python)
        .arg(&script)
        .env("PYTHONWARNINGS", "ignore")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(&input).map_err(|e| format!("cannot write to the wechatpy script: {e}"))?;
    }
    let output = child.wait_with_output().map_err(|e| format!("the wechatpy script: {e}"))?;
    if !output.status.success() {
        return Err(format!("the wechatpy callback script failed ({}): {}", output.status, last_line(&output.stderr)));
    }
    let report: PeerReport =
        serde_json::from_slice(&output.stdout).map_err(|e| format!("the wechatpy callback script's output: {e}"))?;
    if report.wechatpy != WECHATPY_VERSION {
        return Err(format!("wechatpy {} was installed, {WECHATPY_VERSION} is pinned", report.wechatpy));
    }
    let mut samples: Vec<Duration> = report.ns.iter().map(|&n| Duration::from_nanos(n)).collect();
    let figures = SideFigures::of(&mut samples, Duration::from_nanos(report.cpu_ns))
        .ok_or("the wechatpy callback script measured nothing")?;
    Ok(PeerFigures {
        wechatpy: report.wechatpy,
        python: report.python,
        cryptography: report.cryptography,
        xmltodict: report.xmltodict,
        figures,
        decoded: report.events,
        install: venv.install,
        reused: venv.reused,
    })
}

/// The side `profile-callback` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProfileSide {
    /// The library's path.
    Ours,
    /// The floor.
    Floor,
}

/// `events` events opened by one side in a loop (after the same correctness check as [`run`]), for a
/// profiler; returns the time the loop took.
pub fn profile(side: ProfileSide, events: usize) -> Result<Duration, String> {
    let work = workload(Plan::new(false).messages)?;
    let crypto = crypto()?;
    let mut floor = floor()?;
    for (delivery, expected) in work.deliveries.iter().zip(&work.expected) {
        let got = match side {
            ProfileSide::Ours => ours(&crypto, delivery).map_err(|e| e.to_string())?,
            ProfileSide::Floor => floor.open(delivery)?,
        };
        if &got != expected {
            return Err(format!("decoded wrong: {got:?}"));
        }
    }
    let started = Instant::now();
    for i in 0..events {
        let delivery = &work.deliveries[i % work.deliveries.len()];
        match side {
            ProfileSide::Ours => drop(black_box(ours(&crypto, black_box(delivery)).map_err(|e| e.to_string())?)),
            ProfileSide::Floor => drop(black_box(floor.open(black_box(delivery))?)),
        }
    }
    Ok(started.elapsed())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_floor_opens_every_message() {
        let work = workload(4).unwrap();
        let mut floor = floor().unwrap();
        for (delivery, expected) in work.deliveries.iter().zip(&work.expected) {
            assert_eq!(&floor.open(delivery).unwrap(), expected);
        }
        assert_eq!(work.expected[0].mem_change_list.as_ref().map(Vec::len), Some(MEMBERS));
        assert_ne!(work.expected[0], work.expected[1]);
        // A wrong signature, a wrong receive id are refused.
        let mut forged = work.deliveries[0].clone();
        forged.signature = work.deliveries[1].signature.clone();
        assert!(floor.open(&forged).is_err());
        let mut other = Floor::new(TOKEN, ENCODING_AES_KEY, "ww0000000000000000").unwrap();
        assert!(other.open(&work.deliveries[0]).is_err());
    }
}
