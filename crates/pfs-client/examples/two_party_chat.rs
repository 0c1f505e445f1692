//! Two people chat: Alice sends a contact request, Bob accepts it, they exchange texts, and
//! each sees the other's acknowledgements ("delivered").
//!
//! `cargo run -p pfs-client --example two_party_chat` (in-memory transport), `-- --node`
//! over two Waku relay nodes on 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "echo_bot.rs"]
#[allow(dead_code)]
mod common;

use std::time::{Duration, Instant};

use pfs_app::messenger::Event;
use pfs_client::{Client, ClientEvent};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Polls both until `done` holds on the events seen so far.
fn until(
    a: &mut Client,
    b: &mut Client,
    mut done: impl FnMut(&[ClientEvent], &[ClientEvent]) -> bool,
) -> Result<(Vec<ClientEvent>, Vec<ClientEvent>)> {
    let (mut ea, mut eb) = (Vec::new(), Vec::new());
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done(&ea, &eb) {
        if Instant::now() > deadline {
            return Err(format!("timed out: {ea:?} {eb:?}").into());
        }
        ea.extend(a.poll(Duration::from_millis(50))?);
        eb.extend(b.poll(Duration::from_millis(50))?);
    }
    Ok((ea, eb))
}

fn delivered(e: &[ClientEvent]) -> usize {
    e.iter()
        .filter(|e| matches!(e, ClientEvent::App(Event::Delivered { .. })))
        .count()
}

/// The whole conversation; returns (what Alice read, what Bob read).
pub fn run(over_node: bool) -> Result<(Vec<String>, Vec<String>)> {
    let (ta, tb) = common::transports(over_node)?;
    let (mut alice, mut bob) = (common::account(ta)?, common::account(tb)?);
    let (ka, kb) = (alice.identity(), bob.identity());
    // Alice has only Bob's chat key: a contact request, not yet forward secret
    alice.device().engine.add_contact_key(&kb, Some("Bob"))?;
    alice.send_contact_request(&kb, "Hi Bob, Alice here")?;
    let (_, eb) = until(&mut alice, &mut bob, |_, b| {
        b.iter()
            .any(|e| matches!(e, ClientEvent::App(Event::ContactRequest { .. })))
    })?;
    let request = eb
        .iter()
        .find_map(|e| match e {
            ClientEvent::App(Event::ContactRequest { id, .. }) => Some(*id),
            _ => None,
        })
        .ok_or("no request")?;
    bob.accept_contact_request(&ka, &request)?;
    until(&mut alice, &mut bob, |a, _| {
        a.iter()
            .any(|e| matches!(e, ClientEvent::App(Event::ContactAccepted { .. })))
    })?;
    bob.send_text(&ka, "Hi Alice!")?;
    alice.send_text(&kb, "How are you?")?;
    let (ea, eb) = until(&mut alice, &mut bob, |a, b| {
        !common::texts(a).is_empty()
            && !common::texts(b).is_empty()
            && delivered(a) >= 1
            && delivered(b) >= 1
    })?;
    Ok((common::texts(&ea), common::texts(&eb)))
}

fn main() -> Result<()> {
    let (a, b) = run(std::env::args().any(|x| x == "--node"))?;
    println!("Alice read: {a:?}");
    println!("Bob read: {b:?}");
    Ok(())
}
