//! An echo bot: a user writes to the bot, the bot answers every text with "echo: …".
//!
//! `cargo run -p pfs-client --example echo_bot` runs it over the in-memory transport;
//! `-- --node` over two Waku relay nodes on 127.0.0.1 (the bot's and the user's).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::error::Error;
use std::time::{Duration, Instant};

use pfs_app::messenger::Event;
use pfs_client::{Client, ClientConfig, ClientEvent, Device};
use pfs_transport::transport::{InMemoryTransport, Transport};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// Two transports that reach each other: one hub, or two connected relay nodes.
pub fn transports(over_node: bool) -> Result<(Box<dyn Transport>, Box<dyn Transport>)> {
    if !over_node {
        let hub = InMemoryTransport::new();
        return Ok((Box::new(hub.clone()), Box::new(hub)));
    }
    let config = || pfs_node::NodeConfig {
        heartbeat_interval: Duration::from_millis(200),
        ..pfs_node::NodeConfig::default()
    };
    let a = pfs_node::Node::start(config())?;
    let b = pfs_node::Node::start(pfs_node::NodeConfig {
        peers: a.listen_addrs(),
        ..config()
    })?;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !(a.status()?.relay_peers.len() == 1 && b.status()?.relay_peers.len() == 1) {
        if Instant::now() > deadline {
            return Err("the two nodes did not form a mesh".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok((Box::new(a), Box::new(b)))
}

/// A new account on an in-memory store.
pub fn account(transport: Box<dyn Transport>) -> Result<Client> {
    let (device, _phrase) = Device::create(
        Box::new(pfs_store::MemoryStore::new()),
        pfs_protocol::Config::default(),
    )?;
    let mut c = Client::new(device, transport, ClientConfig::default());
    c.listen()?;
    Ok(c)
}

/// Texts among the events.
pub fn texts(events: &[ClientEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            ClientEvent::App(Event::Text { message, .. }) => Some(message.text.clone()),
            _ => None,
        })
        .collect()
}

/// The user sends `lines`; the bot echoes each. Returns what the user received.
pub fn run(over_node: bool, lines: &[&str]) -> Result<Vec<String>> {
    let (t_bot, t_user) = transports(over_node)?;
    let mut bot = account(t_bot)?;
    let mut user = account(t_user)?;
    // the user knows the bot's contact code (its bundle): the first message is forward secret
    let code = bot.device().engine.contact_code()?;
    user.device()
        .engine
        .add_contact_code(&code, Some("echo bot"))?;
    let bot_key = bot.identity();
    for line in lines {
        user.send_text(&bot_key, line)?;
    }
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while got.len() < lines.len() && Instant::now() < deadline {
        // the bot: every text in, an echo out, to whoever sent it
        for e in bot.poll(Duration::from_millis(50))? {
            if let ClientEvent::App(Event::Text { from, message, .. }) = e {
                bot.send_text(&from, &format!("echo: {}", message.text))?;
            }
        }
        got.extend(texts(&user.poll(Duration::from_millis(50))?));
    }
    Ok(got)
}

fn main() -> Result<()> {
    let over_node = std::env::args().any(|a| a == "--node");
    for reply in run(over_node, &["hello", "how are you?"])? {
        println!("{reply}");
    }
    Ok(())
}
