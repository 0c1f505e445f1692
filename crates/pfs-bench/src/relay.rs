//! End-to-end delivery between two pfs users through one relay node, on 127.0.0.1.
//!
//! Three [`pfs_node`] relay nodes run in this process, each on its own thread: Alice's
//! node `A`, a relay in the middle `M`, and Bob's node `B`. `A` and `B` are configured
//! with `M` as their only peer, so every message goes A → M → B (checked before and after
//! measuring: `A` and `B` are connected to `M` only). Alice and Bob are
//! [`pfs_protocol::Engine`]s on [`SqliteStore`] files in WAL mode, default configuration
//! (X25519 ratchet suite between pfs peers, `synchronous=NORMAL`, durable sends), with a
//! session established and warmed up before measuring.
//!
//! One delivery: Alice encrypts a 1 KiB text for Bob with her engine (`encrypt_for`),
//! seals the protocol message as a 26/WAKU2-PAYLOAD version 1 payload (ECIES to Bob's
//! identity key, signed with hers) on Bob's partitioned content topic, and publishes it
//! on `A`; Bob's subscription on `B` receives it, he opens the payload (ECIES, signer
//! recovery) and decrypts it with his engine; the text and the sender are checked.
//!
//! [`RelayFixture::deliver_one`] is one such delivery, start to end (the criterion
//! benchmark); [`RelayFixture::burst`] sends `n` messages with at most `window` in flight
//! (Alice on the calling thread, Bob on another) and reports throughput and latency
//! percentiles ([`BurstReport`], the same JSON fields as `interop/relay.mjs --bench`).
//!
//! Unlike the other fixtures of this crate, nothing here panics: every failure is a
//! [`RelayError`].
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use pfs_protocol::MessageId;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use pfs_crypto::OsRandom;
use pfs_crypto::secp256k1::{PublicKey, SecretKey};
use pfs_node::{Multiaddr, Node, NodeConfig, NodeHandle, PeerId};
use pfs_protocol::{Config, Engine, ManualClock};
use pfs_store::{SqliteOptions, SqliteStore};
use pfs_transport::payload::{open_message, seal_message};
use pfs_transport::status::partitioned_topic;
use pfs_transport::transport::{CarriedMessage, Subscription, now_unix_ns};
use pfs_transport::waku;
use pfs_transport::{ContentTopic, OpenKey, SealKey};
use serde_json::{Value, json};

pub mod forward;

/// Length of the text Alice sends (bytes of UTF-8 text given to her engine).
pub const TEXT_LEN: usize = 1024;
/// Messages of the windowed burst (the same `N` is given to `relay.mjs --bench`).
pub const BURST_MESSAGES: usize = 1000;
/// At most this many messages of the burst in flight (`relay.mjs --window`).
pub const BURST_WINDOW: usize = 100;
/// Bound of every wait (mesh formation, one delivery, one acknowledgement).
pub const WAIT: Duration = Duration::from_secs(30);
/// What the burst report says it measured.
pub const IMPL: &str = "pfs-node (rust-libp2p gossipsub) A → M → B, pfs engine + ECIES payload v1";

/// Width of the decimal message index at the start of every text.
const INDEX_DIGITS: usize = 10;

/// Why the relay benchmark could not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayError(String);

impl RelayError {
    fn new(what: impl Into<String>) -> Self {
        RelayError(what.into())
    }
}

impl fmt::Display for RelayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RelayError {}

/// `map_err` helper: "`what`: `error`".
fn ctx<E: fmt::Display>(what: &'static str) -> impl FnOnce(E) -> RelayError {
    move |e| RelayError(format!("{what}: {e}"))
}

/// The 1 KiB text of message `index`: its index in decimal, then filler text.
pub fn text(index: usize) -> Vec<u8> {
    const FILLER: &[u8] = b" the quick brown fox jumps over the lazy dog,";
    let mut t = format!("{index:0width$}", width = INDEX_DIGITS).into_bytes();
    let mut k = 0;
    while t.len() < TEXT_LEN {
        t.push(FILLER[k % FILLER.len()]);
        k += 1;
    }
    t.truncate(TEXT_LEN);
    t
}

/// The index at the start of a text made by [`text`].
pub(crate) fn index_of(text: &[u8]) -> Option<usize> {
    std::str::from_utf8(text.get(..INDEX_DIGITS)?)
        .ok()?
        .parse()
        .ok()
}

/// A pfs user: identity key and engine on its own SQLite file.
struct User {
    secret: SecretKey,
    id: PublicKey,
    engine: Engine,
}

impl User {
    fn new(dir: &Path, name: &str, clock: &ManualClock) -> Result<Self, RelayError> {
        let secret = SecretKey::generate(&mut OsRandom).map_err(ctx("identity key"))?;
        let store = SqliteStore::open(
            dir.join(format!("{name}.sqlite")),
            b"bench",
            SqliteOptions::default().with_kdf_iterations(1),
        )
        .map_err(ctx("open SQLite store"))?;
        let engine = Engine::create_with_identity(
            Box::new(store),
            Box::new(clock.clone()),
            Box::new(OsRandom),
            Config::default(),
            &pfs_protocol::IdentityKeyPair::from_secret(secret.clone()),
            pfs_protocol::InstallationId::new(name).map_err(ctx("installation id"))?,
        )
        .map_err(ctx("create engine"))?;
        let id = engine.identity().clone();
        Ok(User { secret, id, engine })
    }

    /// The content topic of messages addressed to this user (his partitioned topic).
    fn content_topic(&self) -> ContentTopic {
        waku::content_topic(&partitioned_topic(&self.id))
    }

    /// Encrypts `text` for `to` with the engine and seals it: payload version 1, ECIES to
    /// `to`'s identity key, signed with ours, on `to`'s partitioned content topic.
    fn seal_for(
        &mut self,
        to: &PublicKey,
        text: &[u8],
        times: &mut StageTimes,
    ) -> Result<CarriedMessage, RelayError> {
        let t0 = Instant::now();
        let out = self
            .engine
            .encrypt_for(to, text, false)
            .map_err(ctx("encrypt"))?;
        let t1 = Instant::now();
        let m = seal_message(
            &out.bytes,
            Some(&self.secret),
            SealKey::Asymmetric(&out.recipient),
            waku::content_topic(&partitioned_topic(&out.recipient)),
            now_unix_ns(),
            false,
            &mut OsRandom,
        )
        .map_err(ctx("seal payload"))?;
        times.encrypt += t1 - t0;
        times.seal += t1.elapsed();
        Ok(CarriedMessage::on_default_shard(m))
    }

    /// Opens a message addressed to us and decrypts it; the signer must be `from`.
    fn open_from(
        &mut self,
        from: &PublicKey,
        m: &CarriedMessage,
        times: &mut StageTimes,
    ) -> Result<Vec<u8>, RelayError> {
        let t0 = Instant::now();
        let opened = open_message(&m.message, OpenKey::Asymmetric(&self.secret))
            .map_err(ctx("open payload"))?;
        if opened.signer.as_ref() != Some(from) {
            return Err(RelayError::new("payload not signed by the sender"));
        }
        let t1 = Instant::now();
        let d = self
            .engine
            .decrypt(from, &opened.payload, &MessageId::from(&m.hash()))
            .map_err(ctx("decrypt"))?;
        if &d.sender != from {
            return Err(RelayError::new("decrypted message from someone else"));
        }
        times.open += t1 - t0;
        times.decrypt += t1.elapsed();
        Ok(d.plaintext)
    }
}

/// Time spent in each step of a delivery, summed over messages.
#[derive(Debug, Clone, Copy, Default)]
pub struct StageTimes {
    /// Alice's engine (`encrypt_for`, one committed transaction).
    pub encrypt: Duration,
    /// Sealing the payload (signature, ECIES).
    pub seal: Duration,
    /// `NodeHandle::publish` (a round trip to Alice's node thread).
    pub publish: Duration,
    /// Opening the payload (ECIES, signer recovery).
    pub open: Duration,
    /// Bob's engine (`decrypt`, one committed transaction).
    pub decrypt: Duration,
}

impl StageTimes {
    fn add(&mut self, o: &StageTimes) {
        self.encrypt += o.encrypt;
        self.seal += o.seal;
        self.publish += o.publish;
        self.open += o.open;
        self.decrypt += o.decrypt;
    }

    /// Mean microseconds per message of each step, as JSON.
    fn mean_us(&self, n: usize) -> Value {
        let us = |d: Duration| (d.as_secs_f64() * 1e6 / n.max(1) as f64 * 10.0).round() / 10.0;
        json!({
            "encrypt": us(self.encrypt),
            "seal": us(self.seal),
            "publish": us(self.publish),
            "open": us(self.open),
            "decrypt": us(self.decrypt),
        })
    }
}

/// Throughput and latency of a windowed burst, as `interop/relay.mjs --bench` prints them
/// (same field names; latency percentiles computed the same way, nearest rank).
#[derive(Debug, Clone, PartialEq)]
pub struct BurstReport {
    /// Who was measured.
    pub implementation: String,
    /// Messages sent (all received).
    pub messages: usize,
    /// Application payload size in bytes (ours: the text given to the engine).
    pub size: usize,
    /// At most this many in flight (0: unlimited).
    pub window: usize,
    /// From the first send to the last delivery.
    pub seconds: f64,
    /// `messages / seconds`.
    pub msgs_per_sec: f64,
    /// Median latency, milliseconds.
    pub p50_ms: f64,
    /// 99th percentile latency, milliseconds.
    pub p99_ms: f64,
    /// Largest latency, milliseconds.
    pub max_ms: f64,
    /// Mean encoded WakuMessage size on the wire, when known (ours).
    pub wire_bytes: Option<f64>,
    /// Mean number of messages in flight (sum of latencies over `seconds`, Little's law),
    /// when the latencies are known (ours): near `window` when the relay path is the
    /// bottleneck, near 1 when the sender is.
    pub mean_in_flight: Option<f64>,
    /// Mean microseconds per message of each step done by the users, when known (ours:
    /// `{"encrypt","seal","publish","open","decrypt"}`); the rest of a latency is the
    /// network, the nodes and queueing.
    pub stages_us: Option<Value>,
}

impl BurstReport {
    /// The report of `n` messages sent over `seconds` with these latencies (ms, any order).
    pub fn from_latencies(
        implementation: &str,
        size: usize,
        window: usize,
        seconds: f64,
        mut latencies_ms: Vec<f64>,
        wire_bytes: Option<f64>,
    ) -> Self {
        latencies_ms.sort_by(f64::total_cmp);
        let messages = latencies_ms.len();
        let total_s: f64 = latencies_ms.iter().sum::<f64>() / 1e3;
        BurstReport {
            implementation: implementation.to_owned(),
            messages,
            size,
            window,
            seconds,
            msgs_per_sec: if seconds > 0.0 {
                messages as f64 / seconds
            } else {
                0.0
            },
            p50_ms: percentile(&latencies_ms, 50.0),
            p99_ms: percentile(&latencies_ms, 99.0),
            max_ms: latencies_ms.last().copied().unwrap_or(0.0),
            wire_bytes,
            mean_in_flight: (seconds > 0.0).then(|| total_s / seconds),
            stages_us: None,
        }
    }

    /// The JSON line, `{"event":"bench",...}` as `relay.mjs --bench` prints it.
    pub fn to_json(&self) -> Value {
        let r3 = |v: f64| (v * 1000.0).round() / 1000.0;
        json!({
            "event": "bench",
            "impl": self.implementation,
            "messages": self.messages,
            "size": self.size,
            "window": self.window,
            "seconds": r3(self.seconds),
            "msgs_per_sec": (self.msgs_per_sec * 10.0).round() / 10.0,
            "mib_per_sec": r3(self.msgs_per_sec * self.size as f64 / (1024.0 * 1024.0)),
            "p50_ms": r3(self.p50_ms),
            "p99_ms": r3(self.p99_ms),
            "max_ms": r3(self.max_ms),
            "wire_bytes": self.wire_bytes.map(|b| b.round()),
            "mean_in_flight": self.mean_in_flight.map(|f| (f * 10.0).round() / 10.0),
            "stages_us": self.stages_us,
        })
    }

    /// Parses a `{"event":"bench",...}` line (ours or `relay.mjs --bench`'s).
    pub fn from_json(v: &Value) -> Result<Self, RelayError> {
        if v.get("event").and_then(Value::as_str) != Some("bench") {
            return Err(RelayError(format!("not a bench line: {v}")));
        }
        let num = |k: &str| {
            v.get(k)
                .and_then(Value::as_f64)
                .ok_or_else(|| RelayError(format!("bench line without a number `{k}`: {v}")))
        };
        let count = |k: &str| {
            v.get(k)
                .and_then(Value::as_u64)
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| RelayError(format!("bench line without a count `{k}`: {v}")))
        };
        Ok(BurstReport {
            implementation: v
                .get("impl")
                .and_then(Value::as_str)
                .unwrap_or("unknown")
                .to_owned(),
            messages: count("messages")?,
            size: count("size")?,
            window: count("window")?,
            seconds: num("seconds")?,
            msgs_per_sec: num("msgs_per_sec")?,
            p50_ms: num("p50_ms")?,
            p99_ms: num("p99_ms")?,
            max_ms: num("max_ms")?,
            wire_bytes: v.get("wire_bytes").and_then(Value::as_f64),
            mean_in_flight: v.get("mean_in_flight").and_then(Value::as_f64),
            stages_us: v.get("stages_us").filter(|s| s.is_object()).cloned(),
        })
    }

    /// Writes the JSON line to `path` (creating its directory).
    pub fn write(&self, path: &Path) -> Result<(), RelayError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(ctx("create report directory"))?;
        }
        std::fs::write(path, format!("{}\n", self.to_json()))
            .map_err(|e| RelayError(format!("cannot write {}: {e}", path.display())))
    }

    /// Reads a report written by [`BurstReport::write`] (or a saved `relay.mjs` line).
    pub fn read(path: &Path) -> Result<Self, RelayError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| RelayError(format!("cannot read {}: {e}", path.display())))?;
        let v: Value = serde_json::from_str(text.trim())
            .map_err(|e| RelayError(format!("{}: {e}", path.display())))?;
        Self::from_json(&v)
    }
}

/// Nearest-rank percentile of sorted values, as `relay.mjs` computes it (0 when empty).
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Where the benchmark writes its burst report: `<target>/criterion/relay_1KiB/<name>.json`
/// (next to criterion's estimates of the same group, read by `cargo xtask bench`).
pub fn report_path(target: &Path, name: &str) -> PathBuf {
    target
        .join("criterion")
        .join(GROUP)
        .join(format!("{name}.json"))
}

/// The target directory: `CARGO_TARGET_DIR` when set, else the workspace's `target/`
/// (what `cargo xtask bench` reads).
pub fn default_target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
            crate_dir
                .parent()
                .and_then(Path::parent)
                .unwrap_or(crate_dir)
                .join("target")
        })
}

/// The criterion group of the relay benchmark.
pub const GROUP: &str = "relay_1KiB";

fn wait_until(
    what: &str,
    mut cond: impl FnMut() -> Result<bool, RelayError>,
) -> Result<(), RelayError> {
    let start = Instant::now();
    while !cond()? {
        if start.elapsed() > WAIT {
            return Err(RelayError(format!("timed out waiting for {what}")));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

/// The configuration of every node of the relay benchmarks (also the middle node of
/// [`forward`], `src/bin/relay-forward.rs`).
pub fn node_config(peers: Vec<Multiaddr>) -> NodeConfig {
    NodeConfig {
        peers,
        // the mesh forms faster at start-up (the interop tests' setting); messages are
        // forwarded as they arrive, not at heartbeats
        heartbeat_interval: Duration::from_millis(200),
        redial_interval: Duration::from_millis(300),
        ..NodeConfig::default()
    }
}

/// Alice and Bob, each on a relay node, connected through a relay in the middle.
pub struct RelayFixture {
    alice: User,
    bob: User,
    bob_inbox: Subscription,
    // Dropped in this order: the end nodes, then the middle one.
    alice_node: NodeHandle,
    bob_node: NodeHandle,
    middle: NodeHandle,
    next: usize,
    _dir: tempfile::TempDir,
}

impl RelayFixture {
    /// Starts the three nodes, waits for both meshes to go through the middle node,
    /// creates the two users, establishes their session and warms it up.
    pub fn start() -> Result<Self, RelayError> {
        let dir = tempfile::tempdir().map_err(ctx("temporary directory"))?;
        let middle = Node::start(node_config(Vec::new())).map_err(ctx("start middle node"))?;
        let m_addr = middle
            .listen_addrs()
            .into_iter()
            .find(|a| !a.to_string().contains("/ws"))
            .ok_or_else(|| RelayError::new("middle node has no TCP listen address"))?;
        let alice_node =
            Node::start(node_config(vec![m_addr.clone()])).map_err(ctx("start Alice's node"))?;
        let bob_node = Node::start(node_config(vec![m_addr])).map_err(ctx("start Bob's node"))?;

        let clock = ManualClock::new(1_700_000_000_000_000_000);
        let mut alice = User::new(dir.path(), "alice", &clock)?;
        let mut bob = User::new(dir.path(), "bob", &clock)?;
        let ab = alice.engine.own_bundle().map_err(ctx("Alice's bundle"))?;
        let bb = bob.engine.own_bundle().map_err(ctx("Bob's bundle"))?;
        alice
            .engine
            .process_bundle(&bb)
            .map_err(ctx("Alice processes Bob's bundle"))?;
        bob.engine
            .process_bundle(&ab)
            .map_err(ctx("Bob processes Alice's bundle"))?;
        let bob_inbox = bob_node
            .subscribe(&[bob.content_topic()])
            .map_err(ctx("subscribe"))?;

        let mut f = RelayFixture {
            alice,
            bob,
            bob_inbox,
            alice_node,
            bob_node,
            middle,
            next: 0,
            _dir: dir,
        };
        let m = f.middle.peer_id();
        let (a, b) = (f.alice_node.peer_id(), f.bob_node.peer_id());
        wait_until("both meshes through the middle node", || {
            let sm = f.middle.status().map_err(ctx("status"))?;
            let sa = f.alice_node.status().map_err(ctx("status"))?;
            let sb = f.bob_node.status().map_err(ctx("status"))?;
            Ok(sa.mesh_peers.contains(&m)
                && sb.mesh_peers.contains(&m)
                && sm.mesh_peers.contains(&a)
                && sm.mesh_peers.contains(&b))
        })?;
        f.check_topology()?;
        // warm up: a reply from Bob (his session's first send), then steady state
        let mut times = StageTimes::default();
        let reply = f.bob.seal_for(&f.alice.id, b"hi", &mut times)?;
        f.alice.open_from(&f.bob.id, &reply, &mut times)?;
        for _ in 0..20 {
            f.deliver_one()?;
        }
        Ok(f)
    }

    /// Fails unless `A` and `B` are each connected to the middle node only.
    pub fn check_topology(&self) -> Result<(), RelayError> {
        let m: PeerId = self.middle.peer_id();
        for (who, node) in [("Alice's", &self.alice_node), ("Bob's", &self.bob_node)] {
            let connected = node.status().map_err(ctx("status"))?.connected;
            if connected != vec![m] {
                return Err(RelayError(format!(
                    "{who} node is connected to {connected:?}, not only to the middle node {m}"
                )));
            }
        }
        Ok(())
    }

    /// One delivery: Alice encrypts, seals and publishes a 1 KiB text; Bob receives,
    /// opens and decrypts it. Returns once Bob has the text.
    pub fn deliver_one(&mut self) -> Result<(), RelayError> {
        let i = self.next;
        self.next += 1;
        let t = text(i);
        let mut times = StageTimes::default();
        let m = self.alice.seal_for(&self.bob.id, &t, &mut times)?;
        self.alice_node.publish(m).map_err(ctx("publish"))?;
        let start = Instant::now();
        loop {
            let left = WAIT.saturating_sub(start.elapsed());
            if left.is_zero() {
                return Err(RelayError(format!(
                    "message {i} not delivered within {WAIT:?}"
                )));
            }
            let Some(got) = self
                .bob_inbox
                .recv_timeout(left)
                .map_err(ctx("Bob's subscription"))?
            else {
                continue;
            };
            let pt = self.bob.open_from(&self.alice.id, &got, &mut times)?;
            if index_of(&pt) == Some(i) && pt == t {
                return Ok(());
            }
        }
    }

    /// `n` deliveries with at most `window` in flight (0: unlimited): Alice sends on the
    /// calling thread, Bob receives and decrypts on another. A message's latency runs from
    /// the start of Alice's encryption to the end of Bob's decryption; throughput is `n`
    /// over the time from the first send to the last decryption.
    pub fn burst(&mut self, n: usize, window: usize) -> Result<BurstReport, RelayError> {
        let first = self.next;
        self.next += n;
        let alice_id = self.alice.id.clone();
        let bob_id = self.bob.id.clone();
        let RelayFixture {
            alice,
            bob,
            bob_inbox,
            alice_node,
            ..
        } = self;
        let stop = AtomicBool::new(false);
        let (ack_tx, ack_rx) = mpsc::channel::<(usize, Instant)>();
        let sent = std::thread::scope(|s| {
            let stop = &stop;
            let receiver = s.spawn(move || -> Result<StageTimes, RelayError> {
                let mut times = StageTimes::default();
                let mut got = 0;
                let mut last = Instant::now();
                while got < n {
                    if stop.load(Ordering::Relaxed) {
                        return Err(RelayError::new("burst stopped"));
                    }
                    let Some(m) = bob_inbox
                        .recv_timeout(Duration::from_millis(100))
                        .map_err(ctx("Bob's subscription"))?
                    else {
                        if last.elapsed() > WAIT {
                            return Err(RelayError(format!(
                                "burst: {got} of {n} delivered, then nothing for {WAIT:?}"
                            )));
                        }
                        continue;
                    };
                    let pt = bob.open_from(&alice_id, &m, &mut times)?;
                    let done = Instant::now();
                    last = done;
                    let i = index_of(&pt)
                        .and_then(|i| i.checked_sub(first))
                        .filter(|i| *i < n)
                        .ok_or_else(|| RelayError::new("burst: unexpected message"))?;
                    got += 1;
                    if ack_tx.send((i, done)).is_err() {
                        return Err(RelayError::new("burst: sender gone"));
                    }
                }
                Ok(times)
            });
            let mut sender = || -> Result<Sent, RelayError> {
                let mut sent_at = Vec::with_capacity(n);
                let mut done_at: Vec<Option<Instant>> = vec![None; n];
                let mut acked = 0;
                let mut wire_bytes = 0;
                let mut times = StageTimes::default();
                let start = Instant::now();
                for i in 0..n {
                    while window > 0 && i - acked >= window {
                        take_ack(&ack_rx, &mut done_at)?;
                        acked += 1;
                    }
                    sent_at.push(Instant::now());
                    let m = alice.seal_for(&bob_id, &text(first + i), &mut times)?;
                    if i == 0 {
                        wire_bytes = waku::encoded_len(&m.message);
                    }
                    let t = Instant::now();
                    alice_node.publish(m).map_err(ctx("publish"))?;
                    times.publish += t.elapsed();
                }
                while acked < n {
                    take_ack(&ack_rx, &mut done_at)?;
                    acked += 1;
                }
                Ok(Sent {
                    sent_at,
                    done_at,
                    elapsed: start.elapsed(),
                    wire_bytes,
                    times,
                })
            };
            let sent = sender();
            if sent.is_err() {
                stop.store(true, Ordering::Relaxed);
            }
            let received = receiver
                .join()
                .map_err(|_| RelayError::new("Bob's thread panicked"))?;
            let mut sent = sent?;
            sent.times.add(&received?);
            Ok::<_, RelayError>(sent)
        })?;
        let latencies: Vec<f64> = sent
            .sent_at
            .iter()
            .zip(&sent.done_at)
            .filter_map(|(s, d)| d.map(|d| d.duration_since(*s).as_secs_f64() * 1e3))
            .collect();
        if latencies.len() != n {
            return Err(RelayError(format!(
                "burst: {} of {n} deliveries timed",
                latencies.len()
            )));
        }
        self.check_topology()?;
        Ok(BurstReport {
            stages_us: Some(sent.times.mean_us(n)),
            ..BurstReport::from_latencies(
                IMPL,
                TEXT_LEN,
                window,
                sent.elapsed.as_secs_f64(),
                latencies,
                Some(sent.wire_bytes as f64),
            )
        })
    }
}

/// What Alice's side of a burst measured.
struct Sent {
    sent_at: Vec<Instant>,
    done_at: Vec<Option<Instant>>,
    elapsed: Duration,
    wire_bytes: usize,
    times: StageTimes,
}

/// Waits for Bob's acknowledgement of one delivery and records its time.
fn take_ack(
    acks: &mpsc::Receiver<(usize, Instant)>,
    done_at: &mut [Option<Instant>],
) -> Result<(), RelayError> {
    let (i, t) = acks
        .recv_timeout(WAIT)
        .map_err(|_| RelayError(format!("burst: no delivery within {WAIT:?}")))?;
    match done_at.get_mut(i) {
        Some(slot @ None) => {
            *slot = Some(t);
            Ok(())
        }
        _ => Err(RelayError(format!(
            "burst: message {i} delivered twice or unknown"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_1_kib_and_carry_their_index() {
        for i in [0, 7, 123_456, 999_999_999] {
            let t = text(i);
            assert_eq!(t.len(), TEXT_LEN);
            assert!(std::str::from_utf8(&t).is_ok());
            assert_eq!(index_of(&t), Some(i));
        }
    }

    #[test]
    fn percentiles_are_nearest_rank_as_in_relay_mjs() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&[3.0], 99.0), 3.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
    }

    #[test]
    fn reports_round_trip_and_parse_relay_mjs_lines() {
        let r = BurstReport::from_latencies("x", 1024, 100, 0.5, vec![2.0, 1.0, 3.0], Some(1500.0));
        assert_eq!(r.messages, 3);
        assert_eq!(r.p50_ms, 2.0);
        let back = BurstReport::from_json(&r.to_json()).unwrap();
        assert_eq!(back.messages, 3);
        assert_eq!(back.msgs_per_sec, 6.0);
        let js: Value = serde_json::from_str(
            r#"{"event":"bench","impl":"js-libp2p 2.8.11 + gossipsub 14.1.1","muxer":"yamux","messages":2000,"size":1024,
 "window":100,"seconds":1.125,"msgs_per_sec":1777.2,"mib_per_sec":1.736,"p50_ms":51.96,"p99_ms":142.997,"max_ms":147.85}"#,
        )
        .unwrap();
        let j = BurstReport::from_json(&js).unwrap();
        assert_eq!((j.messages, j.window, j.msgs_per_sec), (2000, 100, 1777.2));
        assert_eq!(j.wire_bytes, None);
    }
}
