//! The network commands: `pfs node`, `send --via`, `receive --via`, `chat --via`.
//!
//! `--via ADDR` starts a small in-process Waku node that dials `ADDR` (a running
//! `pfs node`, or any Waku node serving cluster 16), either as a relay node (gossipsub on
//! `/waku/2/rs/16/32`) or, with `--light`, as a light node that lightpushes, subscribes
//! with filter and queries the store of `ADDR`. Receiving subscribes to our partitioned
//! content topic and asks a store for its history, so that messages sent while we were
//! away arrive too: `ADDR` itself, or, when it serves no store, a store it names by peer
//! exchange (34/WAKU2-PEER-EXCHANGE), which the node dials. Messages this home already processed are remembered by message hash
//! in `seen-messages` in the home, so history is not decrypted twice.

use std::collections::HashSet;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pfs_node::{Delivery, Multiaddr, Node, NodeConfig, NodeHandle, NodeMode, StoreConfig};
use pfs_transport::ContentTopic;
use pfs_transport::transport::{
    CarriedMessage, HistoryQuery, PublishReport, Transport, TransportError,
};

use crate::commands::{self, Ctx, Outcome};
use crate::error::CliError;
use pfs_client::Core;

const SEEN_FILE: &str = "seen-messages";
const SEEN_MAX: usize = 20_000;
const HISTORY_DAYS: u64 = 30;
/// How long `--via` waits for the node at ADDR to be usable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

fn parse_addr(s: &str) -> Result<Multiaddr, CliError> {
    s.parse::<Multiaddr>().map_err(|e| {
        CliError::Usage(format!(
            "{s:?} is not a node address ({e}); use what `pfs node` prints, e.g. /ip4/127.0.0.1/tcp/60000/p2p/16Uiu2…"
        ))
    })
}

/// Options of `pfs node`.
#[derive(Debug, Default)]
pub struct NodeOptions {
    /// Listen addresses (TCP `/ip4/…/tcp/P`, WebSocket `/ip4/…/tcp/P/ws`).
    pub listen: Vec<String>,
    /// Peers to keep connected.
    pub peers: Vec<String>,
    /// Archive messages and serve store queries.
    pub store: bool,
    /// Archive file (implies `store`).
    pub store_db: Option<PathBuf>,
    /// Node key file (default `<home>/node.key`).
    pub key: Option<PathBuf>,
    /// Shards served (default 32 and 64).
    pub shards: Vec<u32>,
    /// Light mode (the first peer is the service node).
    pub light: bool,
}

fn private_dir(dir: &std::path::Path) -> Result<(), CliError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| CliError::io(format!("cannot create {}", dir.display()), e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    }
    Ok(())
}

/// `pfs node`.
pub fn node(ctx: &Ctx, opts: NodeOptions) -> Result<(), CliError> {
    let mut config = NodeConfig::default();
    if !opts.listen.is_empty() {
        config.listen = opts
            .listen
            .iter()
            .map(|l| parse_addr(l))
            .collect::<Result<_, _>>()?;
    }
    config.peers = opts
        .peers
        .iter()
        .map(|p| parse_addr(p))
        .collect::<Result<_, _>>()?;
    if !opts.shards.is_empty() {
        config.shards = opts.shards.clone();
    }
    if opts.light {
        config.mode = NodeMode::Light;
        if config.peers.is_empty() {
            return Err(CliError::Usage(
                "a light node needs its service node: --peer ADDR".into(),
            ));
        }
    }
    let key_path = match opts.key {
        Some(k) => k,
        None => {
            private_dir(&ctx.home)?;
            ctx.home.join("node.key")
        }
    };
    config.keypair = Some(
        pfs_node::load_or_create_key(&key_path).map_err(|e| CliError::Network(e.to_string()))?,
    );
    if opts.store || opts.store_db.is_some() {
        let db = match opts.store_db {
            Some(db) => db,
            None => {
                private_dir(&ctx.home)?;
                ctx.home.join("archive.sqlite")
            }
        };
        config.store = Some(StoreConfig::new(db));
    }
    let json = ctx.json;
    let with_store = config.store.is_some();
    let mode = config.mode;
    pfs_node::run_node_until_ctrl_c(config, |h| {
        let addrs: Vec<String> = h.listen_addrs().iter().map(ToString::to_string).collect();
        // a closed stdout (the reader took the address and left) must not stop the node
        let mut out = std::io::stdout().lock();
        if json {
            let _ = writeln!(
                out,
                "{}",
                serde_json::json!({"type": "node", "peer_id": h.peer_id().to_string(), "listen": addrs, "store": with_store, "mode": if mode == NodeMode::Light { "light" } else { "relay" }})
            );
        } else {
            for a in &addrs {
                let _ = writeln!(out, "listening on {a}");
            }
            let _ = writeln!(
                out,
                "pfs node {} running as a Waku {} node on cluster 16{}",
                h.peer_id(),
                if mode == NodeMode::Light { "light" } else { "relay" },
                if with_store { " with the store role" } else { "" }
            );
            let _ = writeln!(out, "give an address to `pfs send/receive/chat --via ADDR`; Ctrl-C stops the node");
        }
        let _ = out.flush();
    })
    .map_err(|e| CliError::Network(e.to_string()))
}

/// Starts an ephemeral node dialing `via` and waits until it can publish there: the
/// peer relays our pubsub topic (relay mode) or serves lightpush (light mode).
pub(crate) fn connect(via: &str, light: bool) -> Result<NodeHandle, CliError> {
    let addr = parse_addr(via)?;
    let node = Node::start(NodeConfig {
        mode: if light {
            NodeMode::Light
        } else {
            NodeMode::Relay
        },
        peers: vec![addr],
        ..NodeConfig::default()
    })
    .map_err(|e| CliError::Network(e.to_string()))?;
    let deadline = Instant::now() + CONNECT_TIMEOUT;
    loop {
        let st = node
            .status()
            .map_err(|e| CliError::Network(e.to_string()))?;
        let ready = if light {
            !st.lightpush_peers.is_empty()
        } else {
            !st.relay_peers.is_empty()
        };
        if ready {
            return Ok(node);
        }
        // a dial that failed outright (refused, another peer id) is reported at once
        if st.connected.is_empty()
            && let Some((_, why)) = st.dial_errors.first()
        {
            return Err(CliError::Network(format!(
                "could not connect to the Waku node at {via}: {why}"
            )));
        }
        if Instant::now() > deadline {
            let why = if st.connected.is_empty() {
                "no connection (is a node running there, with that peer id?)"
            } else if light {
                "connected, but the peer serves no lightpush (is it a relay node?)"
            } else {
                "connected, but the peer does not relay /waku/2/rs/16/32"
            };
            return Err(CliError::Network(format!(
                "could not use the Waku node at {via} within {} s: {why}",
                CONNECT_TIMEOUT.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn publish(node: &NodeHandle, message: CarriedMessage) -> Result<PublishReport, CliError> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match node.publish(message.clone()) {
            Ok(r) => return Ok(r),
            Err(TransportError::NoPeers) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => return Err(CliError::Network(e.to_string())),
        }
    }
}

/// How long a relay node waits, before it stops, for a store to confirm what it published.
const CONFIRM_TIMEOUT: Duration = Duration::from_secs(5);

/// Before a relay node stops: makes sure what it published reached the network (a store
/// holds it, found by message hash, or a relay peer answered a lightpush of it; see
/// `NodeHandle::confirm_delivery`) and says how. Light mode needs nothing: each lightpush
/// answer confirmed its message.
fn settle(ctx: &Ctx, node: &NodeHandle) {
    let d = node.confirm_delivery(CONFIRM_TIMEOUT);
    let (confirmed, by, messages, note) = match &d {
        Delivery::Nothing => return,
        Delivery::Stored { store, messages } => (
            "stored",
            store
                .filter(|p| *p != node.peer_id())
                .map(|p| p.to_string()),
            *messages,
            None,
        ),
        Delivery::Relayed { peer, messages } => {
            ("relayed", Some(peer.to_string()), *messages, None)
        }
        Delivery::Unconfirmed { messages, reason } => {
            ("unconfirmed", None, *messages, Some(reason.clone()))
        }
        _ => ("unconfirmed", None, 0, Some("unknown outcome".to_owned())),
    };
    if ctx.json {
        ctx.emit(&serde_json::json!({"type": "delivery", "confirmed": confirmed, "by": by, "messages": messages, "note": note}));
    } else {
        match (confirmed, &by) {
            ("stored", Some(p)) => eprintln!("confirmed: {messages} message(s) stored on {p}"),
            ("stored", None) => eprintln!("confirmed: {messages} message(s) stored"),
            ("relayed", Some(p)) => eprintln!(
                "confirmed: {messages} message(s) held and relayed by {p} (no store confirmed them)"
            ),
            _ => eprintln!(
                "warning: delivery of {messages} message(s) not confirmed: {}",
                note.unwrap_or_default()
            ),
        }
    }
}

/// `pfs send --via`.
pub fn send_via(
    ctx: &Ctx,
    via: &str,
    light: bool,
    to: &str,
    message: Option<String>,
    request: bool,
) -> Result<(), CliError> {
    let mut core = ctx.open_core()?;
    let pk = commands::resolve_contact(core.device(), to)?;
    let text = match message {
        Some(m) => m,
        None => {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
                .map_err(|e| CliError::io("cannot read standard input", e))?;
            s
        }
    };
    let text = text.trim_end_matches('\n').to_owned();
    if text.is_empty() {
        return Err(CliError::Usage("the message is empty".into()));
    }
    let node = connect(via, light)?;
    let messages = commands::send_message(ctx, &mut core, &pk, &text, request, false)?;
    for m in messages {
        let hash = hex::encode(m.hash());
        let r = publish(&node, m)?;
        report(ctx, &hash, &r);
    }
    settle(ctx, &node);
    node.shutdown();
    Ok(())
}

fn report(ctx: &Ctx, hash: &str, r: &PublishReport) {
    if ctx.json {
        ctx.emit(&serde_json::json!({"type": "published", "hash": hash, "relay_peers": r.relay_peers, "stored": r.stored}));
    } else {
        eprintln!(
            "published {}…: handed to {} relay peer(s){}",
            hash.get(..12).unwrap_or(hash),
            r.relay_peers,
            if r.stored { ", stored" } else { "" }
        );
    }
}

pub(crate) struct Seen {
    path: PathBuf,
    set: HashSet<String>,
    order: Vec<String>,
}

impl Seen {
    pub(crate) fn load(home: &std::path::Path) -> Self {
        let path = home.join(SEEN_FILE);
        let order: Vec<String> = std::fs::read_to_string(&path)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect();
        Self {
            set: order.iter().cloned().collect(),
            order,
            path,
        }
    }
    /// True when new.
    pub(crate) fn insert(&mut self, hash: &[u8; 32]) -> bool {
        let h = hex::encode(hash);
        if !self.set.insert(h.clone()) {
            return false;
        }
        self.order.push(h);
        if self.order.len() > SEEN_MAX {
            let drop = self.order.len() - SEEN_MAX;
            for old in self.order.drain(..drop) {
                self.set.remove(&old);
            }
        }
        let _ = std::fs::write(&self.path, self.order.join("\n") + "\n");
        true
    }
}

/// Processes a received message (deduplicated), publishing any replies.
fn handle(
    ctx: &Ctx,
    node: &NodeHandle,
    core: &mut Core,
    seen: &mut Seen,
    message: &CarriedMessage,
) -> Outcome {
    if !seen.insert(&message.hash()) {
        return Outcome::Skipped;
    }
    let (outcome, replies) = commands::receive_one(ctx, core, "network", message);
    publish_all(node, replies.into_iter().map(|s| s.carried));
    outcome
}

/// Publishes replies and resends; a failure is reported, not fatal (tracked messages stay
/// in the outbox and are resent later).
fn publish_all(node: &NodeHandle, messages: impl IntoIterator<Item = CarriedMessage>) {
    for m in messages {
        if let Err(e) = publish(node, m) {
            eprintln!("could not publish a reply or resend: {e}");
        }
    }
}

/// Resends what is due (MVDS), and the engine's replies.
fn tick(core: &mut Core, node: &NodeHandle) {
    match core.tick() {
        Ok(_) => publish_all(node, core.take_messages().into_iter().map(|s| s.carried)),
        Err(e) => eprintln!("background work failed: {e}"),
    }
}

/// Progress over a long catch-up: a bar on a terminal, a plain line every 10 % otherwise
/// (quiet for short ones, and under `--json`).
pub(crate) struct Progress {
    bar: Option<indicatif::ProgressBar>,
    total: usize,
    done: usize,
    plain: bool,
}

/// Catch-ups shorter than this show no progress.
const PROGRESS_FROM: usize = 50;

impl Progress {
    pub(crate) fn new(ctx: &Ctx, total: usize, what: &str) -> Self {
        let show = total >= PROGRESS_FROM && !ctx.json;
        let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
        let bar = (show && tty).then(|| {
            let b = indicatif::ProgressBar::new(total as u64);
            if let Ok(style) =
                indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({eta} left)")
            {
                b.set_style(style.progress_chars("=> "));
            }
            b.set_message(what.to_owned());
            b
        });
        if show && !tty {
            eprintln!("{what}: {total} messages");
        }
        Self {
            bar,
            total,
            done: 0,
            plain: show && !tty,
        }
    }

    pub(crate) fn step(&mut self) {
        self.done += 1;
        if let Some(b) = &self.bar {
            b.inc(1);
        } else if self.plain && plain_mark(self.done, self.total) {
            eprintln!("  {}/{} handled", self.done, self.total);
        }
    }

    pub(crate) fn finish(self) {
        if let Some(b) = self.bar {
            b.finish_and_clear();
        }
    }
}

/// Whether the plain progress prints a line after `done` of `total`: every tenth, and the
/// last.
fn plain_mark(done: usize, total: usize) -> bool {
    total > 0 && (done == total || done.is_multiple_of(total.div_ceil(10)))
}

fn history(node: &NodeHandle, content_topics: &[ContentTopic]) -> Vec<CarriedMessage> {
    let q = HistoryQuery::recent(
        content_topics.to_vec(),
        pfs_transport::transport::now_unix_ns(),
        HISTORY_DAYS * 86_400,
    );
    match Transport::fetch_history(node, &q) {
        Ok(list) => list,
        Err(TransportError::NoStore) => {
            eprintln!(
                "no history fetched: no store reachable (the node at --via serves none, and named none by peer exchange)"
            );
            Vec::new()
        }
        Err(e) => {
            eprintln!("no history fetched ({e})");
            Vec::new()
        }
    }
}

/// Light mode: waits (at most 5 s) until the service node confirmed our filter
/// subscription, so that nothing falls between it and the store query that follows.
fn wait_filter(node: &NodeHandle) {
    if node.mode() != NodeMode::Light {
        return;
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        match node.status() {
            Ok(st) if st.filter_subscribed => return,
            Ok(_) => std::thread::sleep(Duration::from_millis(50)),
            Err(_) => return,
        }
    }
    eprintln!(
        "the service node did not confirm the filter subscription; new messages may arrive late"
    );
}

/// Our partitioned topic and the topics negotiated with our contacts.
fn our_topics(device: &mut pfs_client::Device) -> Result<Vec<ContentTopic>, CliError> {
    Ok(device.content_topics()?)
}

/// Watches the connection to the node at `--via` during `--follow`.
#[derive(Default)]
struct Watch {
    lost_since: Option<Instant>,
    reported: bool,
}

/// How long the node may be unreachable before it is reported.
const LOSS_GRACE: Duration = Duration::from_secs(3);

impl Watch {
    /// Reports a lost connection (once) and its return; true when it just came back.
    fn check(&mut self, node: &NodeHandle, via: &str) -> bool {
        let up = node.status().is_ok_and(|st| {
            if node.mode() == NodeMode::Light {
                !st.lightpush_peers.is_empty()
            } else {
                !st.relay_peers.is_empty()
            }
        });
        match (up, self.lost_since) {
            (true, Some(_)) => {
                let was_reported = self.reported;
                self.lost_since = None;
                self.reported = false;
                if was_reported {
                    eprintln!("reconnected to {via}; fetching what was sent meanwhile");
                }
                was_reported
            }
            (true, None) => false,
            (false, None) => {
                self.lost_since = Some(Instant::now());
                false
            }
            (false, Some(since)) => {
                if !self.reported && since.elapsed() >= LOSS_GRACE {
                    self.reported = true;
                    eprintln!(
                        "lost the connection to the Waku node at {via}; retrying (messages sent meanwhile are fetched from its store when it is back)"
                    );
                }
                false
            }
        }
    }
}

/// `pfs receive --via`.
pub fn receive_via(ctx: &Ctx, via: &str, light: bool, follow: bool) -> Result<(), CliError> {
    let mut core = ctx.open_core()?;
    let topics = our_topics(core.device())?;
    let node = connect(via, light)?;
    let sub = node
        .subscribe(&topics)
        .map_err(|e| CliError::Network(e.to_string()))?;
    wait_filter(&node);
    let mut seen = Seen::load(&ctx.home);
    let mut failed = 0usize;
    let past = history(&node, &topics);
    let mut progress = Progress::new(ctx, past.len(), "catching up from the store");
    for m in &past {
        if let Outcome::Failed = handle(ctx, &node, &mut core, &mut seen, m) {
            failed += 1;
        }
        progress.step();
    }
    progress.finish();
    tick(&mut core, &node);
    let _ = std::io::stdout().flush();
    let quiet_for = if follow {
        Duration::from_secs(1)
    } else {
        Duration::from_secs(2)
    };
    let mut watch = Watch::default();
    loop {
        if follow && watch.check(&node, via) {
            // back after a loss: what was sent meanwhile is in the store
            for m in history(&node, &topics) {
                if let Outcome::Failed = handle(ctx, &node, &mut core, &mut seen, &m) {
                    failed += 1;
                }
            }
        }
        match sub.recv_timeout(quiet_for) {
            Ok(Some(m)) => {
                if let Outcome::Failed = handle(ctx, &node, &mut core, &mut seen, &m) {
                    failed += 1;
                }
                let _ = std::io::stdout().flush();
            }
            Ok(None) if follow => tick(&mut core, &node),
            Ok(None) => break,
            Err(e) => return Err(CliError::Network(e.to_string())),
        }
    }
    settle(ctx, &node);
    node.shutdown();
    if failed > 0 {
        return Err(CliError::Undelivered(failed));
    }
    Ok(())
}

/// `pfs chat`.
pub fn chat(ctx: &Ctx, via: &str, light: bool, with: &str) -> Result<(), CliError> {
    let mut core = ctx.open_core()?;
    let peer = commands::resolve_contact(core.device(), with)?;
    let name = commands::display_name(core.device(), &peer);
    let topics = our_topics(core.device())?;
    let node = Arc::new(connect(via, light)?);
    let sub = node
        .subscribe(&topics)
        .map_err(|e| CliError::Network(e.to_string()))?;
    wait_filter(&node);
    let device = Arc::new(Mutex::new(core));
    let mut seen = Seen::load(&ctx.home);
    eprintln!(
        "chat with {name} through {via}; type a line and press Enter to send, Ctrl-D to quit"
    );
    {
        let mut d = device.lock().map_err(|_| CliError::Other("lock".into()))?;
        for m in history(&node, &topics) {
            handle(ctx, &node, &mut d, &mut seen, &m);
        }
    }
    let reader = {
        let (ctx, node, device) = (ctx.clone(), Arc::clone(&node), Arc::clone(&device));
        std::thread::spawn(move || {
            loop {
                match sub.recv_timeout(Duration::from_millis(500)) {
                    Ok(Some(m)) => {
                        if let Ok(mut d) = device.lock() {
                            handle(&ctx, &node, &mut d, &mut seen, &m);
                        }
                        let _ = std::io::stdout().flush();
                    }
                    Ok(None) => {
                        // quiet: resend what is due (a line typed while the network was
                        // down is in the outbox)
                        if let Ok(mut d) = device.lock() {
                            tick(&mut d, &node);
                        }
                    }
                    Err(_) => break,
                }
            }
        })
    };
    for line in std::io::stdin().lock().lines() {
        let line = line.map_err(|e| CliError::io("cannot read standard input", e))?;
        if line.trim().is_empty() {
            continue;
        }
        let messages = {
            let mut d = device.lock().map_err(|_| CliError::Other("lock".into()))?;
            commands::send_message(ctx, &mut d, &peer, &line, false, false)?
        };
        let mut sent = true;
        for m in messages {
            if let Err(e) = publish(&node, m) {
                sent = false;
                eprintln!(
                    "not sent now ({e}); it stays in the outbox and is resent when the network is back"
                );
            }
        }
        if !ctx.json && sent {
            println!("you → {name}: {line}");
        }
    }
    settle(ctx, &node);
    node.shutdown();
    drop(reader);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::plain_mark;

    #[test]
    fn plain_progress_prints_about_ten_lines_and_the_last() {
        let marks: Vec<usize> = (1..=95).filter(|d| plain_mark(*d, 95)).collect();
        assert_eq!(marks, [10, 20, 30, 40, 50, 60, 70, 80, 90, 95]);
        let marks: Vec<usize> = (1..=50).filter(|d| plain_mark(*d, 50)).collect();
        assert_eq!(marks, [5, 10, 15, 20, 25, 30, 35, 40, 45, 50]);
        assert!(!plain_mark(0, 0));
    }
}
