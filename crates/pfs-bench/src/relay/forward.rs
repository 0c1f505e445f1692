//! Relay throughput of one middle node alone (issue 18, the "Relay" axis): how many 1 KiB
//! WakuMessages one node validates and forwards per second, and its CPU time per message.
//!
//! Topology, on 127.0.0.1 over TCP: a publisher node `P` → the middle node `M` → a
//! subscriber node `S`. `M` runs **in its own process**, so its CPU time is read from
//! `/proc/<pid>/stat` (utime + stime, every thread, before and after the measured burst);
//! `P` and `S` are [`pfs_node`] relay nodes in the benchmark process, each on its own
//! thread, configured with `M` as their only peer (checked before and after: `P` and `S`
//! are connected to `M` only, and both meshes go through it). The same `P` and `S` are used
//! with both middle nodes, so the middle node is the only thing that changes:
//! * [`Middle::Pfs`]: `src/bin/relay-forward.rs`, one [`pfs_node`] relay node (rust-libp2p
//!   gossipsub, which decodes and validates every message, [`pfs_transport::waku::validate`],
//!   before forwarding it);
//! * [`Middle::Js`]: `node interop/relay.mjs --forward --quiet`, js-libp2p 2.8.11 +
//!   gossipsub 14.1.1 configured as js-waku's relay, with js-waku's validator (decodes the
//!   WakuMessage, rejects an empty payload or content topic).
//!
//! The messages are raw: a 1024-byte payload (its index in decimal, then filler text),
//! version 0, the current timestamp, no payload encryption and no engine, so the relay
//! path is the only work. `P` publishes as fast as it can with at most `window` messages
//! not yet received by `S` (backpressure: nothing is dropped by a full queue); a message
//! that never arrives is counted as lost (after [`STALL`] without any delivery the
//! outstanding ones are written off and the window reopens), and the report says how many.
//!
//! Nothing here panics: every failure is a [`RelayError`].

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use pfs_node::{Multiaddr, Node, NodeHandle, PeerId};
use pfs_transport::ContentTopic;
use pfs_transport::transport::{CarriedMessage, now_unix_ns};
use pfs_transport::waku::{self, WakuMessage};
use serde_json::{Value, json};

use super::{RelayError, TEXT_LEN, ctx, index_of, node_config, text, wait_until};

/// The content topic of every message (`interop/lib.mjs`'s `DEFAULT_CONTENT_TOPIC`).
pub const CONTENT_TOPIC: &str = "/waku/1/0x00000000/rfc26";
/// At most this many messages published and not yet received by `S`.
pub const WINDOW: usize = 100;
/// Messages sent (and waited for) before measuring: mesh, connections and the js JIT warm.
pub const WARM_UP: usize = 500;
/// After this long without any delivery, the outstanding messages are counted as lost.
pub const STALL: Duration = Duration::from_secs(5);
/// The same for the probe messages sent before the warm-up.
const PROBE_STALL: Duration = Duration::from_millis(500);

/// Which middle node.
#[derive(Debug, Clone)]
pub enum Middle {
    /// `relay-forward` (this crate's binary): one pfs-node relay node.
    Pfs {
        /// The `relay-forward` executable.
        exe: PathBuf,
    },
    /// `node relay.mjs --forward --quiet`, run from `interop/`.
    Js {
        /// The `interop/` directory (with its `node_modules`).
        interop: PathBuf,
    },
}

impl Middle {
    /// How the report names it.
    pub fn name(&self) -> &'static str {
        match self {
            Middle::Pfs { .. } => "pfs",
            Middle::Js { .. } => "js",
        }
    }

    /// What was measured, for the report.
    pub fn implementation(&self) -> &'static str {
        match self {
            Middle::Pfs { .. } => "pfs-node (rust-libp2p gossipsub), src/bin/relay-forward.rs",
            Middle::Js { .. } => {
                "js-libp2p 2.8.11 + gossipsub 14.1.1 as js-waku, relay.mjs --forward --quiet"
            }
        }
    }

    fn command(&self) -> Command {
        match self {
            Middle::Pfs { exe } => Command::new(exe),
            Middle::Js { interop } => {
                let mut c = Command::new("node");
                c.current_dir(interop).args([
                    "relay.mjs",
                    "--forward",
                    "--quiet",
                    // it stays up until killed (the bench stops it); this is only a bound
                    "--timeout-ms",
                    "900000",
                ]);
                c
            }
        }
    }
}

/// The middle node's process, killed when dropped.
struct MiddleProcess {
    child: Child,
    addr: Multiaddr,
    peer_id: PeerId,
}

impl MiddleProcess {
    /// Starts it and reads its first stdout line, `{"event":"listening","addr",...}`; the
    /// rest of its stdout is read and dropped on a thread.
    fn start(middle: &Middle) -> Result<Self, RelayError> {
        let mut child = middle
            .command()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| {
                RelayError(format!(
                    "cannot start the {} middle node: {e}",
                    middle.name()
                ))
            })?;
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            return Err(RelayError::new("middle node without stdout"));
        };
        let mut lines = BufReader::new(stdout);
        let mut first = String::new();
        let read = lines.read_line(&mut first);
        let parsed = read
            .map_err(|e| RelayError(format!("middle node stdout: {e}")))
            .and_then(|_| parse_listening(&first));
        let (addr, peer_id) = match parsed {
            Ok(p) => p,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(e);
            }
        };
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = lines.read_to_end(&mut sink);
        });
        Ok(MiddleProcess {
            child,
            addr,
            peer_id,
        })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for MiddleProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The address and peer id of a `listening` line (relay.mjs's and `relay-forward`'s).
fn parse_listening(line: &str) -> Result<(Multiaddr, PeerId), RelayError> {
    let bad = || {
        RelayError(format!(
            "middle node: not a listening line: {}",
            line.trim()
        ))
    };
    let v: Value = serde_json::from_str(line.trim()).map_err(|_| bad())?;
    if v.get("event").and_then(Value::as_str) != Some("listening") {
        return Err(bad());
    }
    let field = |name| v.get(name).and_then(Value::as_str).ok_or_else(bad);
    let addr: Multiaddr = field("addr")?.parse().map_err(ctx("middle node address"))?;
    let peer_id: PeerId = field("peer_id")?
        .parse()
        .map_err(ctx("middle node peer id"))?;
    Ok((addr, peer_id))
}

/// Clock ticks per second of `/proc/<pid>/stat` (`getconf CLK_TCK`; 100 when unknown,
/// which is Linux's `USER_HZ` on every common architecture).
pub fn clock_ticks_per_sec() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .filter(|t| *t > 0)
        .unwrap_or(100)
}

/// utime + stime of a process (all its threads, live and exited), in clock ticks, from
/// the text of `/proc/<pid>/stat`.
pub fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    // the command name (field 2) is in parentheses and may contain spaces
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // after the name: state is field 3, so utime (14) and stime (15) are at 11 and 12
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// CPU time of process `pid` ("self" for this one) so far, in clock ticks.
fn cpu_ticks(pid: &str) -> Result<u64, RelayError> {
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&path)
        .map_err(|e| RelayError(format!("cannot read {path}: {e}")))?;
    parse_cpu_ticks(&stat).ok_or_else(|| RelayError(format!("{path}: no utime/stime")))
}

/// `VmRSS` or `VmHWM` of a process, in KiB (0 when unknown).
fn status_kib(pid: &str, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// One measured burst through one middle node.
#[derive(Debug, Clone, PartialEq)]
pub struct ForwardReport {
    /// `pfs` or `js`.
    pub middle: String,
    /// What the middle node was.
    pub implementation: String,
    /// Messages published in the measured burst.
    pub messages: usize,
    /// Of them, received by `S` (each once).
    pub delivered: usize,
    /// Written off after [`STALL`] without any delivery (`messages - delivered`).
    pub lost: usize,
    /// Payload bytes per message.
    pub size: usize,
    /// Encoded WakuMessage bytes per message.
    pub wire_bytes: usize,
    /// At most this many in flight.
    pub window: usize,
    /// From the first publish to the last delivery.
    pub seconds: f64,
    /// `delivered / seconds`: messages forwarded by `M` per second.
    pub msgs_per_sec: f64,
    /// CPU time of `M`'s process over the burst (utime + stime, all threads).
    pub m_cpu_seconds: f64,
    /// `m_cpu_seconds / delivered`, microseconds.
    pub m_cpu_us_per_msg: f64,
    /// `m_cpu_seconds / seconds`: 1.0 = one core busy the whole burst.
    pub m_cpu_share: f64,
    /// CPU time of the benchmark process (`P` and `S` and the harness) over the burst.
    pub ps_cpu_seconds: f64,
    /// Share of the burst during which a publisher waited for the window to open: near 1
    /// when the relay path (`M`, or `S`) is the bottleneck, near 0 when `P` is.
    pub window_full: f64,
    /// `M`'s resident memory after the burst, KiB (`VmRSS`), and its peak (`VmHWM`).
    pub m_rss_kib: u64,
    /// `M`'s peak resident memory, KiB.
    pub m_hwm_kib: u64,
    /// Resolution of the CPU figures: seconds per clock tick.
    pub tick_seconds: f64,
}

impl ForwardReport {
    /// The JSON line, `{"event":"relay_forward",...}`.
    pub fn to_json(&self) -> Value {
        let r = |v: f64, d: f64| (v * d).round() / d;
        json!({
            "event": "relay_forward",
            "middle": self.middle,
            "impl": self.implementation,
            "messages": self.messages,
            "delivered": self.delivered,
            "lost": self.lost,
            "size": self.size,
            "wire_bytes": self.wire_bytes,
            "window": self.window,
            "seconds": r(self.seconds, 1000.0),
            "msgs_per_sec": r(self.msgs_per_sec, 10.0),
            "m_cpu_seconds": r(self.m_cpu_seconds, 1000.0),
            "m_cpu_us_per_msg": r(self.m_cpu_us_per_msg, 10.0),
            "m_cpu_share": r(self.m_cpu_share, 1000.0),
            "ps_cpu_seconds": r(self.ps_cpu_seconds, 1000.0),
            "window_full": r(self.window_full, 1000.0),
            "m_rss_kib": self.m_rss_kib,
            "m_hwm_kib": self.m_hwm_kib,
            "tick_seconds": self.tick_seconds,
        })
    }
}

/// A raw WakuMessage with payload [`text`]`(index)` on [`CONTENT_TOPIC`], stamped now.
pub fn raw_message(index: usize) -> CarriedMessage {
    CarriedMessage::on_default_shard(WakuMessage {
        payload: text(index),
        content_topic: CONTENT_TOPIC.to_owned(),
        version: Some(0),
        timestamp: Some(now_unix_ns()),
        meta: None,
        rate_limit_proof: None,
        ephemeral: None,
    })
}

/// `P` → `M` → `S` with `M` in its own process.
pub struct ForwardFixture {
    publisher: NodeHandle,
    subscriber: NodeHandle,
    inbox: pfs_transport::transport::Subscription,
    // dropped last: the nodes first, then the middle process is killed
    middle: MiddleProcess,
    what: Middle,
    next: usize,
}

impl ForwardFixture {
    /// Starts `M`, then `P` and `S` dialing it, waits until both meshes go through it and
    /// warms up with [`WARM_UP`] messages.
    pub fn start(what: Middle) -> Result<Self, RelayError> {
        let middle = MiddleProcess::start(&what)?;
        let publisher = Node::start(node_config(vec![middle.addr.clone()]))
            .map_err(ctx("start the publisher node"))?;
        let subscriber = Node::start(node_config(vec![middle.addr.clone()]))
            .map_err(ctx("start the subscriber node"))?;
        let inbox = subscriber
            .subscribe(&[ContentTopic::new(CONTENT_TOPIC).map_err(ctx("content topic"))?])
            .map_err(ctx("subscribe"))?;
        let mut f = ForwardFixture {
            publisher,
            subscriber,
            inbox,
            middle,
            what,
            next: 0,
        };
        let m = f.middle.peer_id;
        wait_until("both meshes through the middle node", || {
            let sp = f.publisher.status().map_err(ctx("status"))?;
            let ss = f.subscriber.status().map_err(ctx("status"))?;
            Ok(sp.mesh_peers.contains(&m) && ss.mesh_peers.contains(&m))
        })?;
        f.check_topology()?;
        // the meshes of P and S include M, but M may not have processed S's GRAFT yet (a
        // few first messages are then not forwarded): one message at a time until one
        // arrives, then the warm-up
        let probe_start = Instant::now();
        while f.burst_with(1, 1, PROBE_STALL)?.lost > 0 {
            if probe_start.elapsed() > super::WAIT {
                return Err(RelayError::new(
                    "no probe message went through the middle node",
                ));
            }
        }
        let warm = f.burst(WARM_UP, WINDOW)?;
        if warm.lost > 0 {
            return Err(RelayError(format!(
                "warm-up: {} of {WARM_UP} messages lost",
                warm.lost
            )));
        }
        Ok(f)
    }

    /// Fails unless `P` and `S` are each connected to the middle node only.
    pub fn check_topology(&self) -> Result<(), RelayError> {
        let m = self.middle.peer_id;
        for (who, node) in [
            ("publisher", &self.publisher),
            ("subscriber", &self.subscriber),
        ] {
            let connected = node.status().map_err(ctx("status"))?.connected;
            if connected != vec![m] {
                return Err(RelayError(format!(
                    "the {who} node is connected to {connected:?}, not only to the middle node {m}"
                )));
            }
        }
        Ok(())
    }

    /// `n` messages, at most `window` not yet received, published by [`PUBLISHERS`]
    /// threads on `P`; `M`'s CPU time measured around it.
    pub fn burst(&mut self, n: usize, window: usize) -> Result<ForwardReport, RelayError> {
        self.burst_with(n, window, STALL)
    }

    /// [`ForwardFixture::burst`], writing outstanding messages off after `stall`.
    fn burst_with(
        &mut self,
        n: usize,
        window: usize,
        stall: Duration,
    ) -> Result<ForwardReport, RelayError> {
        let first = self.next;
        self.next += n;
        let pid = self.middle.pid().to_string();
        let tick = 1.0 / clock_ticks_per_sec() as f64;
        let wire_bytes = waku::encoded_len(&raw_message(first).message);
        let inbox = &mut self.inbox;
        let publisher = &self.publisher;
        let window = window.max(1);
        let shared = Window::new(n, window, stall);
        let cpu0 = cpu_ticks(&pid)?;
        let own0 = cpu_ticks("self")?;
        let start = Instant::now();
        let received = std::thread::scope(|s| {
            let shared = &shared;
            let publishers: Vec<_> = (0..publishers())
                .map(|_| {
                    s.spawn(move || -> Result<(), RelayError> {
                        while let Some(i) = shared.next_slot() {
                            if let Err(e) = publisher.publish(raw_message(first + i)) {
                                shared.abort();
                                return Err(RelayError(format!("publish: {e}")));
                            }
                        }
                        Ok(())
                    })
                })
                .collect();
            let mut seen = vec![false; n];
            let mut result = Ok(());
            while !shared.finished() {
                let Some(m) = inbox
                    .recv_timeout(Duration::from_millis(100))
                    .map_err(ctx("subscription"))?
                else {
                    shared.check_stall();
                    continue;
                };
                let Some(i) = index_of(&m.message.payload)
                    .and_then(|i| i.checked_sub(first))
                    .filter(|i| *i < n)
                else {
                    continue; // a late message of an earlier burst
                };
                if seen[i] {
                    result = Err(RelayError(format!("message {i} received twice")));
                    shared.abort();
                    break;
                }
                seen[i] = true;
                shared.delivered();
            }
            for p in publishers {
                p.join()
                    .map_err(|_| RelayError::new("a publisher thread panicked"))??;
            }
            result.map(|()| seen)
        })?;
        let seconds = shared.last_delivery().duration_since(start).as_secs_f64();
        let m_ticks = cpu_ticks(&pid)?.saturating_sub(cpu0);
        let own_ticks = cpu_ticks("self")?.saturating_sub(own0);
        self.check_topology()?;
        let delivered = received.iter().filter(|r| **r).count();
        let m_cpu = m_ticks as f64 * tick;
        let per = |v: f64, d: usize| if d > 0 { v / d as f64 } else { 0.0 };
        Ok(ForwardReport {
            middle: self.what.name().to_owned(),
            implementation: self.what.implementation().to_owned(),
            messages: n,
            delivered,
            lost: n - delivered,
            size: TEXT_LEN,
            wire_bytes,
            window,
            seconds,
            msgs_per_sec: if seconds > 0.0 {
                delivered as f64 / seconds
            } else {
                0.0
            },
            m_cpu_seconds: m_cpu,
            m_cpu_us_per_msg: per(m_cpu * 1e6, delivered),
            m_cpu_share: if seconds > 0.0 { m_cpu / seconds } else { 0.0 },
            ps_cpu_seconds: own_ticks as f64 * tick,
            window_full: shared.full_fraction(start),
            m_rss_kib: status_kib(&pid, "VmRSS"),
            m_hwm_kib: status_kib(&pid, "VmHWM"),
            tick_seconds: tick,
        })
    }
}

/// Threads publishing on `P` at once (each `NodeHandle::publish` is a round trip to the
/// node thread; two keep `P`'s node thread fed while one waits for its reply).
pub const PUBLISHERS: usize = 2;

/// [`PUBLISHERS`], or `PFS_RELAY_FORWARD_PUBLISHERS` when set (for trying others).
pub fn publishers() -> usize {
    std::env::var("PFS_RELAY_FORWARD_PUBLISHERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(PUBLISHERS)
}

/// The window shared by the publisher threads and the subscriber's loop.
struct Window {
    n: usize,
    window: usize,
    stall: Duration,
    state: Mutex<WindowState>,
    changed: Condvar,
}

struct WindowState {
    /// Slots handed to publishers.
    issued: usize,
    delivered: usize,
    /// Outstanding messages given up after [`STALL`] without any delivery.
    written_off: usize,
    last: Instant,
    aborted: bool,
    /// Time publishers spent waiting for the window to open, summed (any one waiting).
    full_since: Option<Instant>,
    full_total: Duration,
}

impl Window {
    fn new(n: usize, window: usize, stall: Duration) -> Self {
        Window {
            n,
            window,
            stall,
            state: Mutex::new(WindowState {
                issued: 0,
                delivered: 0,
                written_off: 0,
                last: Instant::now(),
                aborted: false,
                full_since: None,
                full_total: Duration::ZERO,
            }),
            changed: Condvar::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, WindowState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The next message index to publish, once the window has room; `None` when all are
    /// issued (or the burst was aborted).
    fn next_slot(&self) -> Option<usize> {
        let mut st = self.lock();
        loop {
            if st.aborted || st.issued >= self.n {
                return None;
            }
            let done = st.delivered + st.written_off;
            if st.issued.saturating_sub(done) < self.window {
                if let Some(t) = st.full_since.take() {
                    st.full_total += t.elapsed();
                }
                st.issued += 1;
                return Some(st.issued - 1);
            }
            if st.full_since.is_none() {
                st.full_since = Some(Instant::now());
            }
            let (g, _) = self
                .changed
                .wait_timeout(st, Duration::from_millis(100))
                .unwrap_or_else(|p| p.into_inner());
            st = g;
            self.write_off_if_stalled(&mut st);
        }
    }

    fn write_off_if_stalled(&self, st: &mut WindowState) -> bool {
        if st.last.elapsed() > self.stall && st.issued > st.delivered + st.written_off {
            st.written_off = st.issued - st.delivered;
            st.last = Instant::now();
            return true;
        }
        false
    }

    fn check_stall(&self) {
        let mut st = self.lock();
        if self.write_off_if_stalled(&mut st) {
            self.changed.notify_all();
        }
    }

    fn delivered(&self) {
        let mut st = self.lock();
        st.delivered += 1;
        st.last = Instant::now();
        self.changed.notify_all();
    }

    fn abort(&self) {
        self.lock().aborted = true;
        self.changed.notify_all();
    }

    fn finished(&self) -> bool {
        let st = self.lock();
        st.aborted || (st.issued >= self.n && st.delivered + st.written_off >= self.n)
    }

    fn last_delivery(&self) -> Instant {
        self.lock().last
    }

    /// Share of the burst during which a publisher waited for the window.
    fn full_fraction(&self, start: Instant) -> f64 {
        let st = self.lock();
        let total = st.last.duration_since(start).as_secs_f64();
        if total > 0.0 {
            st.full_total.as_secs_f64() / total
        } else {
            0.0
        }
    }
}

/// The `interop/` directory of the workspace this crate is in.
pub fn interop_dir() -> PathBuf {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    crate_dir
        .parent()
        .and_then(Path::parent)
        .unwrap_or(crate_dir)
        .join("interop")
}

/// Where the report goes: `<target>/relay-forward-report.md` (copied into
/// `docs/performance.md` by `cargo xtask bench`) and the JSON lines of every run,
/// `<target>/relay-forward.json`.
pub fn report_paths(target: &Path) -> (PathBuf, PathBuf) {
    (
        target.join("relay-forward-report.md"),
        target.join("relay-forward.json"),
    )
}

/// How big a run is: `PFS_RELAY_FORWARD=quick` (`cargo xtask bench --quick`) or the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    /// `quick` or `default`.
    pub mode: &'static str,
    /// Messages of each measured burst.
    pub messages: usize,
    /// Rounds; each starts a fresh middle node of each kind, alternating pfs and js.
    pub rounds: usize,
}

impl Sizes {
    /// From `PFS_RELAY_FORWARD` (`quick`; anything else is the default).
    pub fn from_env() -> Self {
        match std::env::var("PFS_RELAY_FORWARD").as_deref() {
            Ok("quick") => Sizes {
                mode: "quick",
                messages: 5_000,
                rounds: 1,
            },
            _ => Sizes {
                mode: "default",
                messages: 20_000,
                rounds: 2,
            },
        }
    }
}

/// The median of some values (the mean of the middle two for an even count).
pub fn median(v: &[f64]) -> Option<f64> {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(s[n / 2]),
        _ => Some((s[n / 2 - 1] + s[n / 2]) / 2.0),
    }
}

/// Runs every round (pfs then js, `rounds` times, each on a fresh middle node), and
/// returns the markdown report and the JSON lines. A middle node that cannot run (no
/// `node`, no `interop/node_modules`) gives a note instead of figures; never an error.
pub fn run(sizes: Sizes, pfs_exe: &Path, machine: &str) -> (String, String) {
    let mut reports: Vec<ForwardReport> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    let started = Instant::now();
    let interop = interop_dir();
    let middles = [
        Middle::Pfs {
            exe: pfs_exe.to_path_buf(),
        },
        Middle::Js {
            interop: interop.clone(),
        },
    ];
    for round in 1..=sizes.rounds {
        for m in &middles {
            if let Middle::Js { interop } = m
                && !interop.join("node_modules").is_dir()
            {
                let note = format!(
                    "js: {} has no node_modules (run `npm ci --prefix interop`)",
                    interop.display()
                );
                if !notes.contains(&note) {
                    notes.push(note);
                }
                continue;
            }
            let r =
                ForwardFixture::start(m.clone()).and_then(|mut f| f.burst(sizes.messages, WINDOW));
            match r {
                Ok(r) => {
                    eprintln!("relay-forward: round {round}: {}", r.to_json());
                    reports.push(r);
                }
                Err(e) => {
                    eprintln!(
                        "relay-forward: round {round}, {} middle node: {e}",
                        m.name()
                    );
                    notes.push(format!(
                        "round {round}, {} middle node failed: {e}",
                        m.name()
                    ));
                }
            }
        }
    }
    let json_lines: String = reports
        .iter()
        .map(|r| format!("{}\n", r.to_json()))
        .collect();
    let md = markdown(sizes, machine, &reports, &notes, started.elapsed());
    (md, json_lines)
}

fn markdown(
    sizes: Sizes,
    machine: &str,
    reports: &[ForwardReport],
    notes: &[String],
    took: Duration,
) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Machine: {machine}. Mode `{}`: {} rounds of {} messages of {TEXT_LEN} B payload per \
         middle node, at most {WINDOW} in flight, after {WARM_UP} warm-up messages; the \
         benchmark ran for {:.0} s.\n",
        sizes.mode,
        sizes.rounds,
        sizes.messages,
        took.as_secs_f64()
    );
    s.push_str(
        "| middle node M | round | msgs/s forwarded | M CPU per message | M CPU busy | \
         window full | P+S CPU | lost | M RSS (peak) |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    let mut round_of: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for r in reports {
        let k = round_of.entry(r.middle.as_str()).or_insert(0);
        *k += 1;
        let _ = writeln!(
            s,
            "| {} | {} | {:.0} | {:.1} µs | {:.0} % | {:.0} % | {:.2} s | {} | {:.1} MiB ({:.1}) |",
            r.middle,
            k,
            r.msgs_per_sec,
            r.m_cpu_us_per_msg,
            r.m_cpu_share * 100.0,
            r.window_full * 100.0,
            r.ps_cpu_seconds,
            r.lost,
            r.m_rss_kib as f64 / 1024.0,
            r.m_hwm_kib as f64 / 1024.0
        );
    }
    let med = |who: &str, f: fn(&ForwardReport) -> f64| {
        median(
            &reports
                .iter()
                .filter(|r| r.middle == who)
                .map(f)
                .collect::<Vec<_>>(),
        )
    };
    let (pr, jr) = (
        med("pfs", |r| r.msgs_per_sec),
        med("js", |r| r.msgs_per_sec),
    );
    let (pc, jc) = (
        med("pfs", |r| r.m_cpu_us_per_msg),
        med("js", |r| r.m_cpu_us_per_msg),
    );
    if let (Some(pr), Some(jr), Some(pc), Some(jc)) = (pr, jr, pc, jc) {
        let _ = writeln!(
            s,
            "\nMedians: pfs {pr:.0} msgs/s at {pc:.1} µs of M's CPU per message, js {jr:.0} \
             msgs/s at {jc:.1} µs; ours ÷ js: **{:.2}×** the throughput, **{:.2}×** the CPU per \
             message (js ÷ ours: {:.2}×). One core's worth at that CPU per message: pfs \
             {:.0} msgs/s, js {:.0} msgs/s.",
            pr / jr,
            pc / jc,
            jc / pc,
            1e6 / pc,
            1e6 / jc
        );
    }
    if let Some(r) = reports.first() {
        let _ = writeln!(
            s,
            "\nP and S: pfs-node relay nodes in the benchmark process (the same for both \
             middle nodes); {} B WakuMessages on the wire; CPU from `/proc/<pid>/stat` \
             (utime + stime of every thread, {:.0} ms ticks); {} threads publish on P. \
             \"M CPU busy\": M's CPU time ÷ the burst's wall time (100 % = one core); \
             \"window full\": share of the burst during which P waited for the window (near \
             100 %: the relay path is the bottleneck; near 0: P is). \"P+S CPU\": the \
             benchmark process (P, S, the harness) over the burst, on the same 2 cores.",
            r.wire_bytes,
            r.tick_seconds * 1e3,
            publishers()
        );
    }
    for n in notes {
        let _ = writeln!(s, "\nNote: {n}.");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_ticks_are_utime_plus_stime() {
        let stat = "4242 (node (v20) x) S 1 4242 4242 0 -1 4194560 2133 0 0 0 123 45 0 0 20 0 \
                    11 0 100 1000 100 18446744073709551615";
        assert_eq!(parse_cpu_ticks(stat), Some(168));
        assert_eq!(parse_cpu_ticks("garbage"), None);
        let own = std::fs::read_to_string("/proc/self/stat").unwrap();
        assert!(parse_cpu_ticks(&own).is_some());
    }

    #[test]
    fn listening_lines_parse() {
        let (a, p) = parse_listening(
            r#"{"event":"listening","addr":"/ip4/127.0.0.1/tcp/4001/p2p/16Uiu2HAmQGx7qZ7Z1a5dRKr6BSi6pyvbCG9d2kmcpmb9rSVEKvnx","peer_id":"16Uiu2HAmQGx7qZ7Z1a5dRKr6BSi6pyvbCG9d2kmcpmb9rSVEKvnx"}"#,
        )
        .unwrap();
        assert!(a.to_string().starts_with("/ip4/127.0.0.1/tcp/4001"));
        assert_eq!(
            p.to_string(),
            "16Uiu2HAmQGx7qZ7Z1a5dRKr6BSi6pyvbCG9d2kmcpmb9rSVEKvnx"
        );
        assert!(parse_listening(r#"{"event":"done"}"#).is_err());
    }

    #[test]
    fn raw_messages_are_1_kib_and_valid() {
        let m = raw_message(17);
        assert_eq!(m.message.payload.len(), TEXT_LEN);
        assert_eq!(index_of(&m.message.payload), Some(17));
        let len = waku::encoded_len(&m.message);
        assert!(
            waku::validate(
                &m.message,
                len,
                waku::DEFAULT_MAX_MESSAGE_SIZE,
                Some(now_unix_ns())
            )
            .is_ok()
        );
    }

    #[test]
    fn medians() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0]), Some(2.5));
    }
}
