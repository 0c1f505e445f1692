//! Scale: how each cost grows with what the engine, its store and the archive hold
//! (issue 18). Run by `benches/scale.rs` (`cargo xtask bench`, or `--quick` for the small
//! sizes); every axis measures 3–4 sizes in one process and writes ratios against the
//! smallest size (or against a peer measured in the same run).
//!
//! Timings are taken with [`Instant`] around the operation only (fixture building and the
//! other side's work are outside), repeated until a time budget or a count is reached,
//! after a few warm-up runs; medians unless said otherwise.
//!
//! Fixtures live in temporary directories under `target/tmp/` (a real disk, not a tmpfs)
//! and are rebuilt by every run: the largest (10^5 sessions) takes a few seconds because
//! its filler sessions are written through the store API (see [`Sessions::build`]).

use pfs_protocol::MessageId;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use pfs_archive::{Archive, ArchiveConfig, StoreQueryRequest, WakuMessage};
use pfs_crypto::secp256k1::{PublicKey, SecretKey};
use pfs_crypto::{OsRandom, RandomSource};
use pfs_protocol::{Config, Engine, ManualClock, Outgoing};
use pfs_store::{
    IdentityKey, InstallationId, MemoryStore, SessionKey, SkippedKeyRecord, SqliteOptions,
    SqliteStore, Store, Synchronous,
};

/// The store passphrase of every fixture (created with one PBKDF2 iteration: see
/// [`open_store`]).
pub const PASSPHRASE: &[u8] = b"bench";
/// The fixtures' start time (ns).
pub const T0: i64 = 1_700_000_000_000_000_000;
const HOUR: i64 = 3_600_000_000_000;
/// A 100-byte plaintext.
const PT: [u8; 100] = [0x42; 100];

/// Which sizes to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `cargo xtask bench --quick`, or `cargo bench --bench scale` without `PFS_SCALE`.
    Quick,
    /// `cargo xtask bench` (`PFS_SCALE=default`): the sizes of issue 18.
    Default,
}

impl Mode {
    /// From `PFS_SCALE` (`default` or `full`: [`Mode::Default`]; anything else quick).
    pub fn from_env() -> Self {
        match std::env::var("PFS_SCALE").as_deref() {
            Ok("default" | "full") => Mode::Default,
            _ => Mode::Quick,
        }
    }
    /// Its name in the report.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Quick => "quick",
            Mode::Default => "default",
        }
    }
    /// Peers (one session each) of the sessions axis.
    pub fn sessions(self) -> &'static [usize] {
        match self {
            Mode::Quick => &[10, 1_000, 10_000],
            Mode::Default => &[10, 1_000, 100_000],
        }
    }
    /// Other sessions holding 1000 skipped keys each, for the skipped-key axis.
    pub fn skipped_fill(self) -> &'static [usize] {
        match self {
            Mode::Quick => &[0, 10, 100],
            Mode::Default => &[0, 10, 100, 1_000],
        }
    }
    /// Messages stored in the archive.
    pub fn archive(self) -> &'static [u64] {
        match self {
            Mode::Quick => &[1_000, 10_000, 100_000],
            Mode::Default => &[10_000, 100_000, 1_000_000],
        }
    }
    /// (peers, messages per peer) of the catch-up axis.
    pub fn catchup(self) -> &'static [(usize, usize)] {
        match self {
            Mode::Quick => &[(10, 10), (10, 100), (100, 100)],
            Mode::Default => &[(10, 10), (10, 100), (100, 100)],
        }
    }
}

// ----------------------------------------------------------------------------- timing

/// Order statistics of a sample.
#[derive(Debug, Clone, Copy)]
pub struct Stats {
    /// Sample size.
    pub n: usize,
    /// Median.
    pub median: Duration,
    /// 99th percentile (nearest rank).
    pub p99: Duration,
    /// Mean.
    pub mean: Duration,
}

/// Order statistics of `v` (not empty).
pub fn stats(mut v: Vec<Duration>) -> Stats {
    v.sort();
    let n = v.len().max(1);
    let rank = |q: f64| v[((q * n as f64).ceil() as usize).clamp(1, n) - 1];
    Stats {
        n: v.len(),
        median: rank(0.5),
        p99: rank(0.99),
        mean: v.iter().sum::<Duration>() / n as u32,
    }
}

/// Runs `f` (which returns the time of what it measures) `warm` times unrecorded, then at
/// least `min` and at most `max` times, stopping once `budget` has passed.
pub fn sample(
    warm: usize,
    min: usize,
    max: usize,
    budget: Duration,
    mut f: impl FnMut() -> Duration,
) -> Stats {
    for _ in 0..warm {
        f();
    }
    let start = Instant::now();
    let mut v = Vec::new();
    while v.len() < max && (v.len() < min || start.elapsed() < budget) {
        v.push(f());
    }
    stats(v)
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let t = Instant::now();
    let r = f();
    (r, t.elapsed())
}

/// A duration for a table: µs below 10 ms, else ms or s.
pub fn fmt_d(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us < 10.0 {
        format!("{us:.2} µs")
    } else if us < 1_000.0 {
        format!("{us:.1} µs")
    } else if us < 100_000.0 {
        format!("{:.2} ms", us / 1e3)
    } else if us < 10_000_000.0 {
        format!("{:.0} ms", us / 1e3)
    } else {
        format!("{:.2} s", us / 1e6)
    }
}

fn ratio(x: f64, base: f64) -> String {
    if base > 0.0 {
        format!("{:.2}×", x / base)
    } else {
        "–".into()
    }
}

fn rd(x: Duration, base: Duration) -> String {
    ratio(x.as_secs_f64(), base.as_secs_f64())
}

fn count(n: u64) -> String {
    let mut e = 0;
    let mut m = n;
    while m >= 10 && m.is_multiple_of(10) {
        m /= 10;
        e += 1;
    }
    if m == 1 && e >= 3 {
        format!("10^{e}")
    } else {
        n.to_string()
    }
}

/// Size of a SQLite database on disk: the file plus its WAL, if any.
fn db_bytes(path: &Path) -> u64 {
    let len = |p: PathBuf| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    len(path.to_path_buf()) + len(PathBuf::from(wal))
}

// ----------------------------------------------------------------------------- report

/// One table of the report.
#[derive(Debug, Default)]
pub struct Table {
    /// Its heading.
    pub title: String,
    /// What it measures (markdown paragraph).
    pub intro: String,
    /// Column heads.
    pub head: Vec<String>,
    /// Rows of cells.
    pub rows: Vec<Vec<String>>,
    /// Lines after the table.
    pub notes: Vec<String>,
}

impl Table {
    fn new(title: &str, intro: &str, head: &[&str]) -> Self {
        Self {
            title: title.into(),
            intro: intro.into(),
            head: head.iter().map(|s| s.to_string()).collect(),
            ..Self::default()
        }
    }
    /// Markdown.
    pub fn render(&self) -> String {
        let mut s = format!("### {}\n\n", self.title);
        if !self.intro.is_empty() {
            let _ = writeln!(s, "{}\n", self.intro);
        }
        let _ = writeln!(s, "| {} |", self.head.join(" | "));
        let _ = writeln!(
            s,
            "| --- |{}",
            " ---: |".repeat(self.head.len().saturating_sub(1))
        );
        for r in &self.rows {
            let _ = writeln!(s, "| {} |", r.join(" | "));
        }
        for n in &self.notes {
            let _ = write!(s, "\n{n}\n");
        }
        s.push('\n');
        s
    }
}

// ----------------------------------------------------------------------------- fixtures

fn store_options() -> SqliteOptions {
    SqliteOptions::default()
        .with_kdf_iterations(1)
        .with_synchronous(Synchronous::Normal)
}

/// Opens a fixture store (one PBKDF2 iteration, `synchronous=NORMAL`).
pub fn open_store(path: &Path) -> SqliteStore {
    SqliteStore::open(path, PASSPHRASE, store_options()).unwrap()
}

/// The engine configuration of the fixtures: the default, with sends not durable (the
/// store's `NORMAL` alone; a durable send adds one WAL fsync whatever the size, row 6).
pub fn config() -> Config {
    Config {
        durable_sends: false,
        ..Config::default()
    }
}

/// A new identity key.
pub fn identity() -> SecretKey {
    SecretKey::generate(&mut OsRandom).unwrap()
}

fn sqlite_engine(path: &Path, clock: &ManualClock, sk: &SecretKey, inst: &str) -> Engine {
    Engine::create_with_identity(
        Box::new(open_store(path)),
        Box::new(clock.clone()),
        Box::new(OsRandom),
        config(),
        &pfs_protocol::IdentityKeyPair::from_secret(sk.clone()),
        pfs_protocol::InstallationId::new(inst).expect("installation id"),
    )
    .unwrap()
}

/// Opens an existing fixture's engine.
pub fn open_engine(path: &Path, clock: &ManualClock) -> Engine {
    Engine::open(
        Box::new(open_store(path)),
        Box::new(clock.clone()),
        Box::new(OsRandom),
        config(),
    )
    .unwrap()
}

fn memory_engine(clock: &ManualClock, sk: &SecretKey, inst: &str) -> Engine {
    Engine::create_with_identity(
        Box::new(MemoryStore::new()),
        Box::new(clock.clone()),
        Box::new(OsRandom),
        config(),
        &pfs_protocol::IdentityKeyPair::from_secret(sk.clone()),
        pfs_protocol::InstallationId::new(inst).expect("installation id"),
    )
    .unwrap()
}

fn mid(m: &Outgoing) -> MessageId {
    MessageId::from(pfs_crypto::hash::keccak256(&m.bytes))
}

/// `a` and `b` exchange bundles.
fn introduce(a: &mut Engine, b: &mut Engine) {
    let ab = a.own_bundle().unwrap();
    let bb = b.own_bundle().unwrap();
    a.process_bundle(&bb).unwrap();
    b.process_bundle(&ab).unwrap();
}

/// `from` encrypts to `to`'s identity, `to` decrypts.
fn deliver(from: &mut Engine, to: &mut Engine, pt: &[u8]) {
    let m = from.encrypt_for(&to.identity().clone(), pt, false).unwrap();
    let d = to
        .decrypt(&from.identity().clone(), &m.bytes, &mid(&m))
        .unwrap();
    assert_eq!(d.plaintext, pt);
}

fn temp_dir(target: &Path, prefix: &str) -> tempfile::TempDir {
    let base = target.join("tmp");
    std::fs::create_dir_all(&base).unwrap();
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(base)
        .unwrap()
}

fn uuid_like(i: usize) -> InstallationId {
    InstallationId::new(format!("{:08x}-0000-4000-8000-{:012x}", i, i)).unwrap()
}

/// Writes `n` filler peers into the store at `path`: for each, a new identity key and the
/// same rows the engine wrote for its real peer `model` (installation, signed prekey,
/// contact, one session with a copy of that session's ratchet state), re-keyed. Returns
/// the filler sessions' keys.
fn add_fillers(path: &Path, model: &PublicKey, n: usize) -> Vec<SessionKey> {
    let mut store = open_store(path);
    let model = IdentityKey::from(model);
    let (inst, prekeys, sessions, contact) = {
        let tx = store.begin().unwrap();
        let inst = tx.installations(&model).unwrap().remove(0);
        let prekeys = tx.peer_prekeys(&model, &inst.installation_id).unwrap();
        let sessions = tx.sessions_with(&model, &inst.installation_id).unwrap();
        let contact = tx.contact(&model).unwrap();
        (inst, prekeys, sessions, contact)
    };
    assert_eq!(sessions.len(), 1, "the model peer has one session");
    let mut keys = Vec::with_capacity(n);
    let mut i = 0;
    while i < n {
        let end = (i + 10_000).min(n);
        let mut tx = store.begin().unwrap();
        for k in i..end {
            let id = IdentityKey::from(&identity().public_key());
            let inst_id = uuid_like(k + 1);
            let mut r = inst.clone();
            r.identity = id;
            r.installation_id = inst_id.clone();
            tx.put_installation(&r).unwrap();
            for p in &prekeys {
                let mut p = p.clone();
                p.identity = id;
                p.installation_id = inst_id.clone();
                tx.put_peer_prekey(&p).unwrap();
            }
            if let Some(c) = &contact {
                let mut c = c.clone();
                c.identity = id;
                tx.put_contact(&c).unwrap();
            }
            let mut s = sessions[0].clone();
            let mut sid = s.rooted_spk.as_bytes().to_vec();
            sid.extend_from_slice(inst_id.as_bytes());
            s.key = SessionKey {
                peer_identity: id,
                id: sid,
            };
            s.peer_installation = inst_id;
            tx.put_session(&s).unwrap();
            keys.push(s.key);
        }
        tx.commit().unwrap();
        i = end;
    }
    keys
}

/// Alice's engine on a SQLite store holding `peers` sessions (one per peer), and Bob, her
/// one live peer (an engine on a `MemoryStore`, so his side costs the same at every size).
///
/// Alice and Bob establish their session through the engines (bundles, a message each
/// way, one more from Alice); the other `peers − 1` are filler peers written through the
/// store API (`add_fillers`): exactly the rows establishment writes (installation,
/// signed prekey, contact, session), with a copy of Bob's session state. Establishing
/// 10^5 sessions for real would take minutes (~1 ms each, both sides) for the same rows.
pub struct Sessions {
    _dir: tempfile::TempDir,
    /// Alice's store.
    pub path: PathBuf,
    /// The clock of both engines.
    pub clock: ManualClock,
    /// Alice (`None` while closed).
    pub alice: Option<Engine>,
    /// Alice's identity.
    pub alice_id: PublicKey,
    /// Bob.
    pub bob: Engine,
    /// Bob's identity.
    pub bob_id: PublicKey,
    /// How long building took.
    pub build: Duration,
    /// Filler session keys.
    pub fillers: Vec<SessionKey>,
}

impl Sessions {
    /// Builds the fixture with `peers` sessions (Bob's plus `peers − 1` fillers).
    pub fn build(target: &Path, peers: usize) -> Self {
        let t = Instant::now();
        let dir = temp_dir(target, "scale-sessions-");
        let path = dir.path().join("alice.sqlite");
        let clock = ManualClock::new(T0);
        let a = identity();
        let b = identity();
        let mut alice = sqlite_engine(&path, &clock, &a, "alice-0");
        let mut bob = memory_engine(&clock, &b, "bob-0");
        introduce(&mut alice, &mut bob);
        deliver(&mut alice, &mut bob, b"hello");
        deliver(&mut bob, &mut alice, b"hi");
        deliver(&mut alice, &mut bob, b"again");
        drop(alice);
        let fillers = add_fillers(&path, &b.public_key(), peers.saturating_sub(1));
        let alice = open_engine(&path, &clock);
        Self {
            _dir: dir,
            path,
            clock,
            alice: Some(alice),
            alice_id: a.public_key(),
            bob,
            bob_id: b.public_key(),
            build: t.elapsed(),
            fillers,
        }
    }

    fn alice(&mut self) -> &mut Engine {
        self.alice.as_mut().unwrap()
    }

    /// Alice's `encrypt_for` Bob (timed), Bob decrypts (not timed).
    pub fn send(&mut self) -> Duration {
        let bob_id = self.bob_id.clone();
        let (m, d) = timed(|| self.alice().encrypt_for(&bob_id, &PT, false).unwrap());
        self.bob
            .decrypt(&self.alice_id, &m.bytes, &mid(&m))
            .unwrap();
        d
    }

    /// Bob encrypts to Alice (not timed), Alice's `decrypt` (timed).
    pub fn receive(&mut self) -> Duration {
        let m = self.bob.encrypt_for(&self.alice_id, &PT, false).unwrap();
        let id = mid(&m);
        let bob_id = self.bob_id.clone();
        let (_, d) = timed(|| {
            let r = self
                .alice()
                .decrypt(&bob_id, &m.bytes, &MessageId::from(&id))
                .unwrap();
            assert_eq!(r.plaintext, PT);
        });
        d
    }

    /// Closes Alice, then times opening her store and engine again.
    pub fn reopen(&mut self) -> Duration {
        self.alice = None;
        let (e, d) = timed(|| open_engine(&self.path, &self.clock));
        self.alice = Some(e);
        d
    }

    /// A new peer (not timed: its engine and bundle); Alice's `process_bundle` of its
    /// bundle and first `encrypt_for` (X3DH as initiator), timed.
    pub fn first_message(&mut self) -> Duration {
        let c = identity();
        let mut carol = memory_engine(&self.clock, &c, "carol");
        let cb = carol.own_bundle().unwrap();
        let cid = c.public_key();
        let (m, d) = timed(|| {
            self.alice().process_bundle(&cb).unwrap();
            self.alice().encrypt_for(&cid, &PT, false).unwrap()
        });
        carol.decrypt(&self.alice_id, &m.bytes, &mid(&m)).unwrap();
        d
    }

    /// Alice's maintenance (what the first transaction after open runs when the last run
    /// is over an hour old), timed; the clock moves 2 h first.
    pub fn maintain(&mut self) -> Duration {
        self.clock.advance(2 * HOUR);
        timed(|| self.alice().maintain().unwrap()).1
    }
}

/// What `scale-probe` reports (kB from `/proc/self/status`).
#[derive(Debug, Default, Clone)]
pub struct Probe {
    /// VmRSS at start.
    pub start_kb: u64,
    /// VmRSS after opening store + engine.
    pub open_kb: u64,
    /// VmRSS after one send to Bob (maintenance not due).
    pub send_kb: u64,
    /// VmHWM before maintenance.
    pub hwm_before_maintain_kb: u64,
    /// VmRSS after maintenance.
    pub maintain_kb: u64,
    /// VmHWM at the end.
    pub hwm_kb: u64,
}

/// `(VmRSS, VmHWM)` of this process in kB.
pub fn rss_kb() -> (u64, u64) {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let get = |k: &str| {
        s.lines()
            .find(|l| l.starts_with(k))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (get("VmRSS:"), get("VmHWM:"))
}

/// Lower-case hex.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Parses lower-case hex.
pub fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

/// The probe's work, in its own fresh process (`src/bin/scale-probe.rs`): opens Alice's
/// store and engine at `now`, sends once to `bob`, then runs maintenance 2 h later,
/// reading VmRSS/VmHWM between the steps. Prints one line `k=v ...`.
pub fn probe_main(path: &Path, bob: &PublicKey, now: i64) -> String {
    let (start, _) = rss_kb();
    let clock = ManualClock::new(now);
    let mut e = open_engine(path, &clock);
    let (open, _) = rss_kb();
    e.encrypt_for(bob, &PT, false).unwrap();
    let (send, hwm1) = rss_kb();
    clock.advance(2 * HOUR);
    e.maintain().unwrap();
    let (maint, hwm) = rss_kb();
    format!(
        "start_kb={start} open_kb={open} send_kb={send} hwm_before_maintain_kb={hwm1} \
         maintain_kb={maint} hwm_kb={hwm}"
    )
}

fn run_probe(exe: &Path, s: &Sessions) -> Option<Probe> {
    let out = Command::new(exe)
        .arg(&s.path)
        .arg(hex(&s.bob_id.to_compressed()))
        .arg(pfs_protocol::Clock::now_ns(&s.clock).to_string())
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!(
            "scale-probe failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let mut p = Probe::default();
    for kv in text.split_whitespace() {
        let (k, v) = kv.split_once('=')?;
        let v: u64 = v.parse().ok()?;
        match k {
            "start_kb" => p.start_kb = v,
            "open_kb" => p.open_kb = v,
            "send_kb" => p.send_kb = v,
            "hwm_before_maintain_kb" => p.hwm_before_maintain_kb = v,
            "maintain_kb" => p.maintain_kb = v,
            "hwm_kb" => p.hwm_kb = v,
            _ => {}
        }
    }
    Some(p)
}

fn mib(kb: u64) -> String {
    format!("{:.1} MiB", kb as f64 / 1024.0)
}

// ----------------------------------------------------------------------------- axis 1

/// Axis 1: sessions. `probe` is the `scale-probe` executable.
pub fn sessions_axis(mode: Mode, target: &Path, probe: &Path) -> Vec<Table> {
    struct R {
        peers: usize,
        build: Duration,
        bytes: u64,
        open: Stats,
        send: Stats,
        recv: Stats,
        first: Stats,
        maint: Stats,
        probe: Option<Probe>,
    }
    let mut rs = Vec::new();
    for &peers in mode.sessions() {
        eprintln!("scale: sessions {peers}: building");
        let mut s = Sessions::build(target, peers);
        eprintln!("scale: sessions {peers}: built in {:?}", s.build);
        s.alice = None;
        let bytes = db_bytes(&s.path);
        let open = sample(2, 10, 200, Duration::from_secs(1), || s.reopen());
        let send = sample(20, 50, 5_000, Duration::from_secs(2), || s.send());
        let recv = sample(20, 50, 5_000, Duration::from_secs(2), || s.receive());
        let first = sample(2, 10, 200, Duration::from_secs(2), || s.first_message());
        let maint = sample(1, 3, 50, Duration::from_secs(2), || s.maintain());
        s.alice = None;
        let probe = run_probe(probe, &s);
        rs.push(R {
            peers,
            build: s.build,
            bytes,
            open,
            send,
            recv,
            first,
            maint,
            probe,
        });
    }
    let base = &rs[0];
    let heads: Vec<String> = std::iter::once(String::new())
        .chain(
            rs.iter()
                .map(|r| format!("{} peers", count(r.peers as u64))),
        )
        .collect();
    let mut t = Table::new(
        "Sessions",
        "Alice's engine on a SQLite store (WAL, `NORMAL`, sends not durable) holding N \
         sessions, one per peer; Bob is her live peer (engine on a `MemoryStore`, not timed). \
         Median times; ratio = this size ÷ the smallest.",
        &heads.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let row = |name: &str, f: &dyn Fn(&R) -> Duration| {
        let mut v = vec![name.to_string()];
        for r in &rs {
            v.push(format!("{} ({})", fmt_d(f(r)), rd(f(r), f(base))));
        }
        v
    };
    t.rows
        .push(row("open store + engine (warm page cache)", &|r| {
            r.open.median
        }));
    t.rows
        .push(row("send: `encrypt_for` one peer", &|r| r.send.median));
    t.rows
        .push(row("receive: `decrypt` from one peer", &|r| r.recv.median));
    t.rows.push(row("round trip (send + receive)", &|r| {
        r.send.median + r.recv.median
    }));
    t.rows
        .push(row("p99 send + p99 receive", &|r| r.send.p99 + r.recv.p99));
    t.rows.push(row(
        "first message to a new peer (`process_bundle` + `encrypt_for`)",
        &|r| r.first.median,
    ));
    t.rows.push(row(
        "maintenance (`maintain`: first transaction after open when due, then hourly)",
        &|r| r.maint.median,
    ));
    let mut mem = |name: &str, f: &dyn Fn(&Probe) -> u64| {
        let mut v = vec![name.to_string()];
        let b = base.probe.as_ref().map(f).unwrap_or(0);
        for r in &rs {
            v.push(match r.probe.as_ref().map(f) {
                Some(x) => format!("{} ({})", mib(x), ratio(x as f64, b as f64)),
                None => "–".into(),
            });
        }
        t.rows.push(v);
    };
    mem("resident memory after open (VmRSS, fresh process)", &|p| {
        p.open_kb
    });
    mem("… after one send", &|p| p.send_kb);
    mem("… peak after maintenance (VmHWM)", &|p| p.hwm_kb);
    mem(
        "… growth during open + send (VmRSS after send − at start)",
        &|p| p.send_kb.saturating_sub(p.start_kb),
    );
    let mut v = vec!["store file size (per added session, against the smallest)".to_string()];
    for r in &rs {
        let per = if r.peers > base.peers {
            format!(
                "{} B",
                r.bytes.saturating_sub(base.bytes) / (r.peers - base.peers) as u64
            )
        } else {
            "–".into()
        };
        v.push(format!("{:.1} MiB ({per})", r.bytes as f64 / 1048576.0));
    }
    t.rows.push(v);
    let mut v = vec!["fixture build (not a measurement)".to_string()];
    for r in &rs {
        v.push(fmt_d(r.build));
    }
    t.rows.push(v);

    let last = &rs[rs.len() - 1];
    let rt = |r: &R| r.send.median + r.recv.median;
    let rt_ratio = rt(last).as_secs_f64() / rt(base).as_secs_f64();
    let mem_ratio = match (&last.probe, &base.probe) {
        (Some(l), Some(b)) => l.send_kb as f64 / b.send_kb.max(1) as f64,
        _ => f64::NAN,
    };
    t.notes.push(format!(
        "Targets at {} peers: round trip within 1.5× of the figure at {}: {:.2}× → **{}**; \
         open ≤ 100 ms: {} → **{}** (one PBKDF2 iteration here: a store created with the \
         default 210 000 iterations adds their constant cost at every size, see below); \
         memory not proportional to peers: VmRSS after open + send {:.2}× for {}× the peers \
         → **{}**, but maintenance is proportional (peak {} against {}: see \"Known cliffs\").",
        count(last.peers as u64),
        base.peers,
        rt_ratio,
        if rt_ratio <= 1.5 { "met" } else { "missed" },
        fmt_d(last.open.median),
        if last.open.median <= Duration::from_millis(100) {
            "met"
        } else {
            "missed"
        },
        mem_ratio,
        last.peers / base.peers.max(1),
        if mem_ratio < 2.0 { "met" } else { "missed" },
        last.probe
            .as_ref()
            .map(|p| mib(p.hwm_kb))
            .unwrap_or_default(),
        base.probe
            .as_ref()
            .map(|p| mib(p.hwm_kb))
            .unwrap_or_default(),
    ));
    t.notes.push(format!(
        "Samples: open {}, send {}, receive {}, first message {}, maintenance {} at the \
         largest size.",
        last.open.n, last.send.n, last.recv.n, last.first.n, last.maint.n
    ));
    vec![t, kdf_table(target)]
}

/// The constant cost of opening a store created with the default PBKDF2 iteration count.
fn kdf_table(target: &Path) -> Table {
    let dir = temp_dir(target, "scale-kdf-");
    let path = dir.path().join("s.sqlite");
    drop(SqliteStore::open(&path, PASSPHRASE, SqliteOptions::default()).unwrap());
    let open = sample(1, 5, 20, Duration::from_secs(2), || {
        timed(|| SqliteStore::open(&path, PASSPHRASE, SqliteOptions::default()).unwrap()).1
    });
    let mut t = Table::new(
        "Opening with the default key derivation",
        "The fixtures above are created with one PBKDF2 iteration so that their open time \
         is the store's own work. A store created from a passphrase with the default \
         `DEFAULT_KDF_ITERATIONS` (210 000, PBKDF2-HMAC-SHA256) pays that derivation at \
         every open, whatever it holds (an empty store here).",
        &["", "empty store"],
    );
    t.rows.push(vec![
        "`SqliteStore::open` with 210 000 PBKDF2 iterations".into(),
        fmt_d(open.median),
    ]);
    t
}

// ----------------------------------------------------------------------------- axis 2

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    OsRandom.fill_bytes(&mut b).unwrap();
    b
}

/// Writes 1000 skipped keys into each session of `sessions` (random ratchet key per
/// session, n = 0..1000, random message keys).
fn fill_skipped(path: &Path, sessions: &[SessionKey]) {
    let mut store = open_store(path);
    for chunk in sessions.chunks(10) {
        let mut tx = store.begin().unwrap();
        for s in chunk {
            let rk = random_bytes::<32>().to_vec();
            let keys: Vec<SkippedKeyRecord> = (0..1000u32)
                .map(|n| SkippedKeyRecord {
                    ratchet_key: rk.clone(),
                    n,
                    message_key: pfs_crypto::SecretBytes::new(random_bytes::<32>()),
                    seq: u64::from(n) + 1,
                    pending_message_id: None,
                })
                .collect();
            tx.put_skipped_keys(s, &keys).unwrap();
        }
        tx.commit().unwrap();
    }
}

/// Axis 2: skipped keys.
pub fn skipped_axis(mode: Mode, target: &Path) -> Vec<Table> {
    let limits = pfs_ratchet::Limits::default();
    struct R {
        fill: usize,
        gap100: Stats,
        gap1000: Stats,
        lookup: Stats,
        refuse: Duration,
        per_key: f64,
    }
    let mut rs = Vec::new();
    for &fill in mode.skipped_fill() {
        eprintln!("scale: skipped keys, {fill} other sessions × 1000 keys: building");
        let mut s = Sessions::build(target, fill + 1);
        s.alice = None;
        let before = db_bytes(&s.path);
        fill_skipped(&s.path, &s.fillers);
        let after = db_bytes(&s.path);
        let per_key = if fill > 0 {
            (after.saturating_sub(before)) as f64 / (fill as f64 * 1000.0)
        } else {
            f64::NAN
        };
        s.alice = Some(open_engine(&s.path, &s.clock));
        // warm the receiving direction
        for _ in 0..5 {
            s.receive();
        }
        let alice_id = s.alice_id.clone();
        let bob_id = s.bob_id.clone();
        // Bob sends gap+1 messages; Alice decrypts the last (timed), then the rest in a
        // shuffled order (each timed: a lookup of a stored key).
        let gap = |s: &mut Sessions, gap: usize, lookups: &mut Vec<Duration>| -> Duration {
            let ms: Vec<Outgoing> = (0..=gap)
                .map(|_| s.bob.encrypt_for(&alice_id, &PT, false).unwrap())
                .collect();
            let last = &ms[gap];
            let (_, d) = timed(|| s.alice().decrypt(&bob_id, &last.bytes, &mid(last)).unwrap());
            let mut order: Vec<usize> = (0..gap).collect();
            // Fisher–Yates with OS randomness
            for i in (1..order.len()).rev() {
                let j = (u64::from_le_bytes(random_bytes::<8>()) % (i as u64 + 1)) as usize;
                order.swap(i, j);
            }
            for i in order {
                let m = &ms[i];
                let (r, d) = timed(|| s.alice().decrypt(&bob_id, &m.bytes, &mid(m)));
                assert_eq!(r.unwrap().plaintext, PT);
                lookups.push(d);
            }
            d
        };
        let mut lookups = Vec::new();
        let gap100 = stats((0..10).map(|_| gap(&mut s, 100, &mut Vec::new())).collect());
        let max = limits.max_skip as usize;
        let gap1000 = stats((0..3).map(|_| gap(&mut s, max, &mut lookups)).collect());
        let lookup = stats(lookups);
        // 10 000 > max_skip: refused (the chain is left where it was; last test)
        for _ in 0..10_000 {
            s.bob.encrypt_for(&alice_id, &PT, false).unwrap();
        }
        let m = s.bob.encrypt_for(&alice_id, &PT, false).unwrap();
        let (r, refuse) = timed(|| s.alice().decrypt(&bob_id, &m.bytes, &mid(&m)));
        assert!(r.is_err(), "a 10 000-message gap is refused");
        rs.push(R {
            fill,
            gap100,
            gap1000,
            lookup,
            refuse,
            per_key,
        });
    }
    let base = &rs[0];
    let heads: Vec<String> = std::iter::once(String::new())
        .chain(rs.iter().map(|r| {
            format!(
                "{} other keys ({} sessions)",
                count(r.fill as u64 * 1000),
                r.fill
            )
        }))
        .collect();
    let mut t = Table::new(
        "Skipped keys",
        &format!(
            "Alice's SQLite store holds, besides her live session with Bob, K other sessions \
             with 1000 skipped keys each (written through the store API). Bob sends gap + 1 \
             messages; Alice decrypts the last one first (deriving and storing `gap` keys, \
             one transaction), then the skipped ones in a random order (each a lookup of a \
             stored key and its deletion). The engine's bound is `max_skip` = {} keys per \
             message and `max_keys_per_session` = {} (status-go's MaxSkip and \
             MaxMessageKeysPerSession): a 10 000-message gap is beyond it and refused, so \
             the curve stops at 1000. Ratio = this column ÷ the first.",
            limits.max_skip, limits.max_keys_per_session
        ),
        &heads.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let row = |name: &str, f: &dyn Fn(&R) -> Duration| {
        let mut v = vec![name.to_string()];
        for r in &rs {
            v.push(format!("{} ({})", fmt_d(f(r)), rd(f(r), f(base))));
        }
        v
    };
    t.rows
        .push(row("message after a 100-message gap", &|r| r.gap100.median));
    t.rows
        .push(row("message after a 1000-message gap (the bound)", &|r| {
            r.gap1000.median
        }));
    t.rows
        .push(row("… per skipped key", &|r| r.gap1000.median / 1000));
    t.rows.push(row(
        "out-of-order message (stored-key lookup), median",
        &|r| r.lookup.median,
    ));
    t.rows.push(row("… p99", &|r| r.lookup.p99));
    t.rows
        .push(row("message after a 10 000-message gap: refused", &|r| {
            r.refuse
        }));
    let mut v = vec!["store size per skipped key (file growth ÷ keys)".to_string()];
    for r in &rs {
        v.push(if r.per_key.is_nan() {
            "–".into()
        } else {
            format!("{:.0} B", r.per_key)
        });
    }
    t.rows.push(v);
    t.notes.push(format!(
        "Lookups: {} per column (3 gaps of 1000). In memory the ratchet state holds ~76 B \
         per skipped key (row 7).",
        base.lookup.n
    ));
    vec![t]
}

// ----------------------------------------------------------------------------- axis 3

const PUBSUB: &str = "/waku/2/rs/16/32";
const TOPICS: u64 = 100;
/// 10 ms between messages (a batch of 1000 spans 10 s, within the archive's 20 s rule).
const STEP: i64 = 10_000_000;

fn content_topic(j: u64) -> String {
    format!("/waku/1/0x{j:08x}/rfc26")
}

fn archive_message(i: u64) -> WakuMessage {
    let mut payload = vec![(i % 251) as u8; 300];
    payload[..8].copy_from_slice(&i.to_be_bytes());
    WakuMessage {
        payload,
        content_topic: content_topic(i % TOPICS),
        version: Some(1),
        timestamp: Some(T0 + i as i64 * STEP),
        ..WakuMessage::default()
    }
}

/// Axis 3: the archive of a store node.
pub fn archive_axis(mode: Mode, target: &Path) -> Vec<Table> {
    struct R {
        n: u64,
        ingest: f64,
        ingest_last: f64,
        single: f64,
        fwd: Stats,
        back: Stats,
        keys: Stats,
        bytes: u64,
        purge: Duration,
        purge_longest: Duration,
        purge_steps: usize,
        purged: u64,
        purge_noop: Duration,
    }
    let mut rs = Vec::new();
    for &n in mode.archive() {
        eprintln!("scale: archive {n}: ingesting");
        let dir = temp_dir(target, "scale-archive-");
        let path = dir.path().join("archive.sqlite");
        let span_s = (n as i64 * STEP) / 1_000_000_000;
        let cfg = ArchiveConfig {
            // the sweep below deletes the oldest ~10 %
            retention_secs: (span_s as u64 * 9 / 10).max(1),
            ..ArchiveConfig::default()
        };
        let mut a = Archive::open(&path, cfg.clone()).unwrap();
        let t = Instant::now();
        let mut last_start = None;
        let mut i = 0;
        while i < n {
            if last_start.is_none() && i >= n - n / 10 {
                last_start = Some((Instant::now(), i));
            }
            let end = (i + 1000).min(n);
            let items: Vec<_> = (i..end)
                .map(|k| (PUBSUB.to_string(), archive_message(k)))
                .collect();
            let stored = a.insert_batch(&items, T0 + i as i64 * STEP).unwrap();
            assert_eq!(stored as u64, end - i);
            i = end;
        }
        let ingest = n as f64 / t.elapsed().as_secs_f64();
        let ingest_last = last_start
            .map(|(t, i0)| (n - i0) as f64 / t.elapsed().as_secs_f64())
            .unwrap_or(ingest);
        let singles = 1000u64;
        let t = Instant::now();
        for k in n..n + singles {
            assert!(
                a.insert(PUBSUB, &archive_message(k), T0 + k as i64 * STEP)
                    .unwrap()
            );
        }
        let single = singles as f64 / t.elapsed().as_secs_f64();
        let total = n + singles;
        drop(a);
        let bytes = db_bytes(&path);
        let mut a = Archive::open(&path, cfg).unwrap();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let span = total as i64 * STEP;
        let mut query = |forward: bool, include_data: bool| {
            let mut v = Vec::new();
            for k in 0..2100 {
                let j = next() % TOPICS;
                // a range holding ~40 of this topic's messages; the page takes 20
                let width = 40 * TOPICS as i64 * STEP;
                let start = T0 + (next() % ((span - width).max(1) as u64)) as i64;
                let q = StoreQueryRequest {
                    request_id: "scale".into(),
                    include_data,
                    pubsub_topic: Some(PUBSUB.into()),
                    content_topics: vec![content_topic(j)],
                    time_start: Some(start),
                    time_end: Some(start + width),
                    pagination_forward: forward,
                    ..StoreQueryRequest::default()
                };
                let (r, d) = timed(|| a.query(&q));
                assert_eq!(r.status_code, Some(200));
                assert_eq!(r.messages.len(), 20);
                if k >= 100 {
                    v.push(d);
                }
            }
            stats(v)
        };
        let fwd = query(true, true);
        let back = query(false, true);
        let keys = query(true, false);
        let now = T0 + span;
        // What `purge` does, one step (transaction) at a time, to see the longest one:
        // how long the sweep holds the archive's write lock at once.
        let (mut purged, mut purge, mut purge_longest, mut purge_steps) =
            (0, Duration::ZERO, Duration::ZERO, 0);
        loop {
            let (step, d) = timed(|| a.purge_step(now).unwrap());
            purged += step.deleted;
            purge += d;
            purge_longest = purge_longest.max(d);
            purge_steps += 1;
            if step.done {
                break;
            }
        }
        let (_, purge_noop) = timed(|| a.purge(now).unwrap());
        rs.push(R {
            n,
            ingest,
            ingest_last,
            single,
            fwd,
            back,
            keys,
            bytes,
            purge,
            purge_longest,
            purge_steps,
            purged,
            purge_noop,
        });
    }
    let base = &rs[0];
    let heads: Vec<String> = std::iter::once(String::new())
        .chain(rs.iter().map(|r| format!("{} stored", count(r.n))))
        .collect();
    let mut t = Table::new(
        "Store node archive",
        "`pfs_archive::Archive` on a file (WAL, `NORMAL`): N WakuMessages of 300-byte \
         payloads on 100 content topics, 10 ms apart, ingested with `insert_batch` (1000 \
         per transaction), then 1000 single `insert`s on top. Queries: one pubsub + content \
         topic and a time range holding ~40 of its messages, `include_data`, 20 returned, \
         2000 queries at random places (after 100 warm-up). Retention sweep: `purge` with \
         a retention that drops the oldest ~10 %, timed one `purge_step` (transaction of at \
         most 5000 deletions) at a time. Ratio = this column ÷ the first (for \
         rates: the first ÷ this column, >1 is slower).",
        &heads.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let rate_row = |name: &str, f: &dyn Fn(&R) -> f64| {
        let mut v = vec![name.to_string()];
        for r in &rs {
            v.push(format!("{:.0} msgs/s ({})", f(r), ratio(f(base), f(r))));
        }
        v
    };
    t.rows.push(rate_row(
        "ingest, `insert_batch` of 1000, whole run",
        &|r| r.ingest,
    ));
    t.rows.push(rate_row(
        "ingest, the last 10 % (store nearly full)",
        &|r| r.ingest_last,
    ));
    t.rows.push(rate_row(
        "ingest, single `insert` (one transaction each)",
        &|r| r.single,
    ));
    let row = |name: &str, f: &dyn Fn(&R) -> Duration| {
        let mut v = vec![name.to_string()];
        for r in &rs {
            v.push(format!("{} ({})", fmt_d(f(r)), rd(f(r), f(base))));
        }
        v
    };
    t.rows.push(row("query, forward, p50", &|r| r.fwd.median));
    t.rows.push(row("query, forward, p99", &|r| r.fwd.p99));
    t.rows.push(row("query, backward, p50", &|r| r.back.median));
    t.rows.push(row("query, backward, p99", &|r| r.back.p99));
    t.rows.push(row(
        "query, forward, hashes only (no `include_data`), p50",
        &|r| r.keys.median,
    ));
    t.rows.push(row("… p99", &|r| r.keys.p99));
    t.rows
        .push(row("retention sweep (`purge`), ~10 % deleted", &|r| {
            r.purge
        }));
    let mut v = vec!["… per deleted message".to_string()];
    for r in &rs {
        v.push(format!(
            "{} ({} deleted)",
            fmt_d(r.purge / r.purged.max(1) as u32),
            r.purged
        ));
    }
    t.rows.push(v);
    let mut v = vec!["… longest transaction (`purge_step`)".to_string()];
    for r in &rs {
        v.push(format!(
            "{} ({} steps)",
            fmt_d(r.purge_longest),
            r.purge_steps
        ));
    }
    t.rows.push(v);
    t.rows
        .push(row("retention sweep with nothing to delete", &|r| {
            r.purge_noop
        }));
    let mut v = vec!["size on disk per message (300 B payload)".to_string()];
    for r in &rs {
        v.push(format!(
            "{:.0} B ({:.1} MiB)",
            r.bytes as f64 / (r.n + 1000) as f64,
            r.bytes as f64 / 1048576.0
        ));
    }
    t.rows.push(v);
    let last = &rs[rs.len() - 1];
    t.notes.push(format!(
        "Targets at {} stored: ingest ≥ 20 000 msgs/s: {:.0} (last 10 %: {:.0}) → **{}**; \
         query p99 ≤ 2 ms: forward {}, backward {} → **{}**.",
        count(last.n),
        last.ingest,
        last.ingest_last,
        if last.ingest_last >= 20_000.0 {
            "met"
        } else {
            "missed"
        },
        fmt_d(last.fwd.p99),
        fmt_d(last.back.p99),
        if last.fwd.p99.max(last.back.p99) <= Duration::from_millis(2) {
            "met"
        } else {
            "missed"
        },
    ));
    vec![t]
}

// ----------------------------------------------------------------------------- axis 4

/// A user's devices on SQLite stores, sharing one identity.
fn devices(dir: &Path, clock: &ManualClock, name: &str, n: usize) -> (Vec<Engine>, PublicKey) {
    let sk = identity();
    let mut v: Vec<Engine> = (0..n)
        .map(|i| {
            sqlite_engine(
                &dir.join(format!("{name}-{i}.sqlite")),
                clock,
                &sk,
                &format!("{name}-{i}"),
            )
        })
        .collect();
    // pair every device with every other (bundles both ways, approved both ways)
    for i in 0..n {
        for j in 0..n {
            if i != j {
                let b = v[j].own_bundle().unwrap();
                v[i].process_bundle(&b).unwrap();
                let inst = v[j].installation().clone();
                v[i].enable_installation(&inst).unwrap();
            }
        }
    }
    (v, sk.public_key())
}

/// Alice's device 0 sends; returns (sender time, total with every decryption).
fn fanout_once(
    alice: &mut [Engine],
    bob: &mut [Engine],
    bob_id: &PublicKey,
) -> (Duration, Duration) {
    let t = Instant::now();
    let out = alice[0].send(bob_id, &PT).unwrap();
    let send = t.elapsed();
    let a_id = alice[0].identity().clone();
    for o in &out {
        let id = mid(o);
        let targets: &mut [Engine] = if o.recipient == *bob_id {
            &mut *bob
        } else {
            &mut alice[1..]
        };
        for d in targets.iter_mut() {
            let r = d.decrypt(&a_id, &o.bytes, &MessageId::from(&id)).unwrap();
            assert_eq!(r.plaintext, PT);
        }
    }
    (send, t.elapsed())
}

/// Axis 4: multi-device fan-out.
pub fn fanout_axis(target: &Path) -> Vec<Table> {
    let mut rs = Vec::new();
    for (na, nb) in [(1usize, 1usize), (1, 3), (3, 3)] {
        let dir = temp_dir(target, "scale-fanout-");
        let clock = ManualClock::new(T0);
        let (mut alice, a_id) = devices(dir.path(), &clock, "alice", na);
        let (mut bob, b_id) = devices(dir.path(), &clock, "bob", nb);
        for a in alice.iter_mut() {
            for b in bob.iter_mut() {
                introduce(a, b);
            }
        }
        // warm up: Alice's first messages, then a reply from every device of Bob (to all
        // of Alice's devices) and from Alice's other devices, so every session is
        // established both ways
        fanout_once(&mut alice, &mut bob, &b_id);
        for b in bob.iter_mut() {
            let m = b.encrypt_for(&a_id, b"hi", false).unwrap();
            let bid = b_id.clone();
            for a in alice.iter_mut() {
                a.decrypt(&bid, &m.bytes, &mid(&m)).unwrap();
            }
        }
        for i in 1..na {
            let m = alice[i].encrypt_for(&a_id, b"hi", false).unwrap();
            for (j, a) in alice.iter_mut().enumerate() {
                if j != i {
                    a.decrypt(&a_id, &m.bytes, &mid(&m)).unwrap();
                }
            }
        }
        let mut sends = Vec::new();
        let total = sample(5, 30, 2_000, Duration::from_secs(2), || {
            let (s, t) = fanout_once(&mut alice, &mut bob, &b_id);
            sends.push(s);
            t
        });
        let send = stats(sends);
        rs.push((na, nb, send, total));
    }
    let (_, _, s0, t0) = rs[0];
    let mut t = Table::new(
        "Multi-device fan-out",
        "Alice's device sends one message (`Engine::send`: one message for Bob's devices \
         plus, with paired devices, a copy for her own others); every device is an engine \
         on its own SQLite store (WAL, `NORMAL`, sends not durable), all sessions \
         established both ways. Medians; ratio = this ÷ 1 → 1.",
        &[
            "Alice's devices → Bob's devices",
            "sender (`send`)",
            "sender + every decryption",
            "entries encrypted",
        ],
    );
    for (na, nb, send, total) in &rs {
        t.rows.push(vec![
            format!("{na} → {nb}"),
            format!("{} ({})", fmt_d(send.median), rd(send.median, s0.median)),
            format!("{} ({})", fmt_d(total.median), rd(total.median, t0.median)),
            format!("{}", nb + na - 1),
        ]);
    }
    vec![t]
}

// ----------------------------------------------------------------------------- axis 5

/// Axis 5: offline catch-up through the archive.
pub fn catchup_axis(mode: Mode, target: &Path) -> Vec<Table> {
    let mut rs = Vec::new();
    for &(peers, per) in mode.catchup() {
        eprintln!("scale: catch-up {peers} peers × {per}: building");
        let dir = temp_dir(target, "scale-catchup-");
        let clock = ManualClock::new(T0);
        let a = identity();
        let mut alice = sqlite_engine(&dir.path().join("alice.sqlite"), &clock, &a, "alice-0");
        let mut ps: Vec<(Engine, PublicKey)> = (0..peers)
            .map(|i| {
                let sk = identity();
                let mut p = memory_engine(&clock, &sk, &format!("peer-{i}"));
                introduce(&mut alice, &mut p);
                deliver(&mut alice, &mut p, b"hello");
                deliver(&mut p, &mut alice, b"hi");
                (p, sk.public_key())
            })
            .collect();
        // while Alice is offline: every peer sends `per` messages, interleaved, archived on
        // Alice's content topic (the sender's key in `meta`, standing in for the payload
        // signature)
        let mut archive =
            Archive::open(&dir.path().join("archive.sqlite"), ArchiveConfig::default()).unwrap();
        let topic = "/waku/1/0x0a11ce00/rfc26";
        let a_id = a.public_key();
        let mut k = 0i64;
        for _ in 0..per {
            let mut batch = Vec::new();
            for (p, id) in ps.iter_mut() {
                let m = p.encrypt_for(&a_id, &PT, false).unwrap();
                batch.push((
                    PUBSUB.to_string(),
                    WakuMessage {
                        payload: m.bytes,
                        content_topic: topic.into(),
                        version: Some(1),
                        timestamp: Some(T0 + k * STEP),
                        meta: Some(id.to_compressed().to_vec()),
                        ..WakuMessage::default()
                    },
                ));
                k += 1;
            }
            let stored = archive.insert_batch(&batch, T0 + (k - 1) * STEP).unwrap();
            assert_eq!(stored, batch.len());
        }
        drop(ps.drain(..));
        // catch-up: pages of 100, forward, each message decrypted
        let t = Instant::now();
        let mut query = Duration::ZERO;
        let mut cursor = None;
        let mut n = 0usize;
        loop {
            let q = StoreQueryRequest {
                request_id: "catchup".into(),
                include_data: true,
                pubsub_topic: Some(PUBSUB.into()),
                content_topics: vec![topic.into()],
                pagination_cursor: cursor.take(),
                pagination_forward: true,
                pagination_limit: Some(100),
                ..StoreQueryRequest::default()
            };
            let (r, d) = timed(|| archive.query(&q));
            query += d;
            assert_eq!(r.status_code, Some(200));
            for e in &r.messages {
                let m = e.message.as_ref().unwrap();
                let sender = PublicKey::from_compressed(m.meta.as_deref().unwrap()).unwrap();
                let id = e.message_hash.clone().unwrap();
                let d = alice
                    .decrypt(&sender, &m.payload, &MessageId::from(&id))
                    .unwrap();
                assert_eq!(d.plaintext, PT);
                n += 1;
            }
            match r.pagination_cursor {
                Some(c) if !r.messages.is_empty() => cursor = Some(c),
                _ => break,
            }
        }
        let total = t.elapsed();
        assert_eq!(n, peers * per);
        rs.push((peers, per, total, query));
    }
    let per_msg = |r: &(usize, usize, Duration, Duration)| r.2 / (r.0 * r.1) as u32;
    let b = per_msg(&rs[0]);
    let mut t = Table::new(
        "Offline catch-up",
        "A device (engine on SQLite, WAL, `NORMAL`) that missed P × M messages, M from each \
         of P peers (peers on `MemoryStore`s, sessions established before), interleaved; \
         the messages wait in a `pfs_archive::Archive` on its content topic. Catch-up = \
         query pages of 100 (forward, cursor) and `decrypt` every message, one transaction \
         each; at most one page (100 messages) is held at a time. Ratio = per-message time ÷ the \
         first row's.",
        &[
            "peers × messages each",
            "total",
            "per message",
            "of which archive queries",
            "msgs/s",
        ],
    );
    for r in &rs {
        let (peers, per, total, query) = *r;
        t.rows.push(vec![
            format!("{peers} × {per} = {}", count((peers * per) as u64)),
            fmt_d(total),
            format!("{} ({})", fmt_d(per_msg(r)), rd(per_msg(r), b)),
            format!(
                "{} ({:.0} %)",
                fmt_d(query),
                100.0 * query.as_secs_f64() / total.as_secs_f64()
            ),
            format!("{:.0}", (peers * per) as f64 / total.as_secs_f64()),
        ]);
    }
    vec![t]
}

/// CPUs, CPU model and the date.
pub fn machine() -> String {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let date = Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|| "unknown date".to_owned());
    format!("{cpus} CPUs (nproc), {model}; {date}")
}

/// Every axis whose name contains `filter` (all when empty), as markdown.
pub fn run(mode: Mode, target: &Path, probe: &Path, filter: &str) -> String {
    let t = Instant::now();
    let mut tables = Vec::new();
    let on = |name: &str| filter.is_empty() || name.contains(filter);
    if on("sessions") {
        tables.extend(sessions_axis(mode, target, probe));
    }
    if on("skipped") {
        tables.extend(skipped_axis(mode, target));
    }
    if on("archive") {
        tables.extend(archive_axis(mode, target));
    }
    if on("fanout") {
        tables.extend(fanout_axis(target));
    }
    if on("catchup") {
        tables.extend(catchup_axis(mode, target));
    }
    let mut s = format!(
        "Machine: {}. Mode `{}` (`cargo xtask bench{}`); the scale benchmark ran for {:.0} s \
         (its own run, build excluded).\n\n",
        machine(),
        mode.name(),
        if mode == Mode::Quick { " --quick" } else { "" },
        t.elapsed().as_secs_f64()
    );
    for tb in &tables {
        s.push_str(&tb.render());
    }
    s
}
