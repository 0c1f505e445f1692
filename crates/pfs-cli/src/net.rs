//! The network commands: `pfs node`, `send --via`, `receive --via`, `chat`.
//!
//! `--via ADDR` starts a small in-process pfs-node that dials `ADDR` (a running
//! `pfs node`), publishes or subscribes on our partitioned topic, and asks the network's
//! store (mailserver) for the history of that topic, so that messages sent while we were
//! away arrive too. Envelopes this home already processed are remembered by hash in
//! `seen-envelopes` in the home, so history is not decrypted twice.

use std::collections::HashSet;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pfs_node::{Multiaddr, Node, NodeConfig, NodeHandle, StoreConfig};
use pfs_transport::envelope::Envelope;
use pfs_transport::transport::{EnvelopeMeta, HistoryQuery, Transport, TransportError};

use crate::commands::{self, Ctx, Outcome};
use crate::device::Device;
use crate::error::CliError;

const SEEN_FILE: &str = "seen-envelopes";
const SEEN_MAX: usize = 20_000;
const HISTORY_DAYS: u64 = 30;

fn parse_addr(s: &str) -> Result<Multiaddr, CliError> {
    s.parse::<Multiaddr>().map_err(|e| {
        CliError::Usage(format!(
            "{s:?} is not a node address ({e}); use what `pfs node` prints, e.g. /ip4/127.0.0.1/tcp/4001/p2p/12D3…"
        ))
    })
}

/// `pfs node`.
pub fn node(
    ctx: &Ctx,
    listen: Option<&str>,
    peers: &[String],
    store: bool,
    store_db: Option<PathBuf>,
) -> Result<(), CliError> {
    let mut config = NodeConfig::default();
    if let Some(l) = listen {
        config.listen = vec![parse_addr(l)?];
    }
    config.peers = peers
        .iter()
        .map(|p| parse_addr(p))
        .collect::<Result<_, _>>()?;
    if store || store_db.is_some() {
        let db = store_db.unwrap_or_else(|| ctx.home.join("mailserver.sqlite"));
        if let Some(dir) = db.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| CliError::io(format!("cannot create {}", dir.display()), e))?;
        }
        config.store = Some(StoreConfig::new(db));
    }
    let json = ctx.json;
    let with_store = config.store.is_some();
    pfs_node::run_node_until_ctrl_c(config, |h| {
        let addrs: Vec<String> = h.listen_addrs().iter().map(ToString::to_string).collect();
        if json {
            println!(
                "{}",
                serde_json::json!({"peer_id": h.peer_id().to_string(), "listen": addrs, "store": with_store})
            );
        } else {
            println!("pfs node {} running{}", h.peer_id(), if with_store { " with the store (mailserver) role" } else { "" });
            for a in &addrs {
                println!("listening on {a}");
            }
            println!("give an address to `pfs send/receive/chat --via ADDR`; Ctrl-C stops the node");
        }
        let _ = std::io::stdout().flush();
    })
    .map_err(|e| CliError::Network(e.to_string()))
}

/// Starts an ephemeral node dialing `via` and waits until the envelope gossip reaches it.
fn connect(via: &str) -> Result<NodeHandle, CliError> {
    let addr = parse_addr(via)?;
    let node = Node::start(NodeConfig {
        peers: vec![addr],
        ..NodeConfig::default()
    })
    .map_err(|e| CliError::Network(e.to_string()))?;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let st = node
            .status()
            .map_err(|e| CliError::Network(e.to_string()))?;
        if !st.gossip_peers.is_empty() {
            return Ok(node);
        }
        if Instant::now() > deadline {
            return Err(CliError::Network(format!(
                "could not reach a pfs node at {via} within 15 s (is `pfs node` running there?)"
            )));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn publish(node: &NodeHandle, bytes: Vec<u8>) -> Result<(), CliError> {
    let env = Envelope::decode(&bytes, pfs_transport::DEFAULT_MAX_ENVELOPE_SIZE)
        .map_err(|e| CliError::Other(e.to_string()))?;
    let meta = EnvelopeMeta {
        topic: env.topic.0,
        expiry_unix: u64::from(env.expiry),
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match node.publish(meta, bytes.clone()) {
            Ok(()) => return Ok(()),
            Err(TransportError::NoPeers) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => return Err(CliError::Network(e.to_string())),
        }
    }
}

/// `pfs send --via`.
pub fn send_via(
    ctx: &Ctx,
    via: &str,
    to: &str,
    message: Option<String>,
    request: bool,
) -> Result<(), CliError> {
    let mut device = ctx.open()?;
    let pk = commands::resolve_contact(&mut device, to)?;
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
    let node = connect(via)?;
    let envelopes = commands::send_message(ctx, &mut device, &pk, &text, request, false)?;
    for e in envelopes {
        publish(&node, e)?;
    }
    // let gossip flush before the node stops
    std::thread::sleep(Duration::from_millis(800));
    node.shutdown();
    Ok(())
}

struct Seen {
    path: PathBuf,
    set: HashSet<String>,
    order: Vec<String>,
}

impl Seen {
    fn load(home: &std::path::Path) -> Self {
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
    fn insert(&mut self, hash: &[u8; 32]) -> bool {
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

/// Processes a received envelope (deduplicated), publishing any replies.
fn handle(
    ctx: &Ctx,
    node: &NodeHandle,
    device: &mut Device,
    seen: &mut Seen,
    bytes: &[u8],
) -> Outcome {
    if !seen.insert(&pfs_crypto::hash::keccak256(bytes)) {
        return Outcome::Skipped;
    }
    let (outcome, replies) = commands::receive_one(ctx, device, "network", bytes);
    if !replies.is_empty() {
        match commands::emit_envelopes(ctx, device, &replies, false) {
            Ok(envelopes) => {
                for e in envelopes {
                    if let Err(e) = publish(node, e) {
                        eprintln!("could not publish a bundle reply: {e}");
                    }
                }
            }
            Err(e) => eprintln!("could not build a bundle reply: {e}"),
        }
    }
    outcome
}

fn history(node: &NodeHandle, topic: [u8; 4]) -> Vec<Vec<u8>> {
    let now = pfs_transport::transport::now_unix();
    let q = HistoryQuery {
        topics: vec![topic],
        since_unix: now.saturating_sub(HISTORY_DAYS * 86_400),
        until_unix: now + 60,
    };
    match Transport::fetch_history(node, &q) {
        Ok(list) => list.into_iter().map(|c| c.envelope).collect(),
        Err(e) => {
            eprintln!("no history fetched ({e})");
            Vec::new()
        }
    }
}

/// `pfs receive --via`.
pub fn receive_via(ctx: &Ctx, via: &str, follow: bool) -> Result<(), CliError> {
    let mut device = ctx.open()?;
    let topic = pfs_transport::status::partitioned_topic(&device.identity()).0;
    let node = connect(via)?;
    let sub = node
        .subscribe(&[topic])
        .map_err(|e| CliError::Network(e.to_string()))?;
    let mut seen = Seen::load(&ctx.home);
    let mut failed = 0usize;
    for bytes in history(&node, topic) {
        if let Outcome::Failed = handle(ctx, &node, &mut device, &mut seen, &bytes) {
            failed += 1;
        }
    }
    let _ = std::io::stdout().flush();
    let quiet_for = if follow {
        Duration::MAX
    } else {
        Duration::from_secs(2)
    };
    loop {
        match sub.recv_timeout(quiet_for.min(Duration::from_secs(3600))) {
            Ok(Some(c)) => {
                if let Outcome::Failed = handle(ctx, &node, &mut device, &mut seen, &c.envelope) {
                    failed += 1;
                }
                let _ = std::io::stdout().flush();
            }
            Ok(None) if follow => {}
            Ok(None) => break,
            Err(e) => return Err(CliError::Network(e.to_string())),
        }
    }
    std::thread::sleep(Duration::from_millis(500));
    node.shutdown();
    if failed > 0 {
        return Err(CliError::Undelivered(failed));
    }
    Ok(())
}

/// `pfs chat`.
pub fn chat(ctx: &Ctx, via: &str, with: &str) -> Result<(), CliError> {
    let mut device = ctx.open()?;
    let peer = commands::resolve_contact(&mut device, with)?;
    let name = commands::display_name(&mut device, &peer);
    let topic = pfs_transport::status::partitioned_topic(&device.identity()).0;
    let node = Arc::new(connect(via)?);
    let sub = node
        .subscribe(&[topic])
        .map_err(|e| CliError::Network(e.to_string()))?;
    let device = Arc::new(Mutex::new(device));
    let mut seen = Seen::load(&ctx.home);
    eprintln!(
        "chat with {name} through {via}; type a line and press Enter to send, Ctrl-D to quit"
    );
    {
        let mut d = device.lock().map_err(|_| CliError::Other("lock".into()))?;
        for bytes in history(&node, topic) {
            handle(ctx, &node, &mut d, &mut seen, &bytes);
        }
    }
    let reader = {
        let (ctx, node, device) = (ctx.clone(), Arc::clone(&node), Arc::clone(&device));
        std::thread::spawn(move || {
            loop {
                match sub.recv_timeout(Duration::from_millis(500)) {
                    Ok(Some(c)) => {
                        if let Ok(mut d) = device.lock() {
                            handle(&ctx, &node, &mut d, &mut seen, &c.envelope);
                        }
                        let _ = std::io::stdout().flush();
                    }
                    Ok(None) => {}
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
        let envelopes = {
            let mut d = device.lock().map_err(|_| CliError::Other("lock".into()))?;
            commands::send_message(ctx, &mut d, &peer, &line, false, false)?
        };
        for e in envelopes {
            publish(&node, e)?;
        }
        if !ctx.json {
            println!("you → {name}: {line}");
        }
    }
    std::thread::sleep(Duration::from_millis(800));
    node.shutdown();
    drop(reader);
    Ok(())
}
