//! Contact-code advertisements: published on the first tick (and when the bundle changes,
//! or after the interval), on our contact-code topic under its PBKDF2 key; a contact who
//! knew only our chat key learns our bundle from it, so their next message is forward
//! secret.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::time::Duration;

use pfs_app::messenger::Event;
use pfs_client::{Client, ClientConfig, ClientEvent, Device};
use pfs_transport::transport::{InMemoryTransport, Transport};

fn client(net: &InMemoryTransport) -> Client {
    let (d, _) = Device::create(
        Box::new(pfs_store::MemoryStore::new()),
        pfs_protocol::Config::default(),
    )
    .unwrap();
    Client::new(d, Box::new(net.clone()), ClientConfig::default())
}

#[test]
fn an_advertisement_teaches_a_contact_our_bundle() {
    let net = InMemoryTransport::new();
    let (mut alice, mut bob) = (client(&net), client(&net));
    let (ka, kb) = (alice.identity(), bob.identity());
    // Bob knows only Alice's chat key: he listens on her contact-code topic
    bob.device()
        .engine
        .add_contact_key(&ka, Some("Alice"))
        .unwrap();
    bob.listen().unwrap();
    let code_topic = bob.device().contact_code_key(&ka).unwrap().0;
    let spy = net.subscribe(std::slice::from_ref(&code_topic)).unwrap();
    // Alice's first tick advertises; the second does not repeat it
    alice.tick().unwrap();
    let advert = spy
        .recv_timeout(Duration::from_secs(2))
        .unwrap()
        .expect("advert");
    assert_eq!(advert.content_topic(), code_topic);
    assert_eq!(advert.message.version, Some(1));
    alice.tick().unwrap();
    assert!(
        spy.try_recv().unwrap().is_none(),
        "not repeated before the interval"
    );
    // Bob reads it: a contact-code event, and Alice's bundle is stored
    let events = bob.poll(Duration::from_secs(2)).unwrap();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, ClientEvent::App(Event::ContactCode { from, .. }) if *from == ka)),
        "{events:?}"
    );
    let report = bob.send_text(&ka, "now forward secret").unwrap();
    assert!(report.forward_secret, "the advert carried Alice's bundle");
    let _ = kb;
}

#[test]
fn a_changed_bundle_is_advertised_again_and_none_disables() {
    let net = InMemoryTransport::new();
    let (d, phrase) = Device::create(
        Box::new(pfs_store::MemoryStore::new()),
        pfs_protocol::Config::default(),
    )
    .unwrap();
    let mut alice = Client::new(d, Box::new(net.clone()), ClientConfig::default());
    assert!(alice.core().advertise_if_due().unwrap());
    assert!(!alice.core().advertise_if_due().unwrap(), "not twice");
    // Alice pairs her phone: her bundle now lists two installations, advertised again
    let mut phone = Device::recover(
        Box::new(pfs_store::MemoryStore::new()),
        pfs_protocol::Config::default(),
        &phrase,
    )
    .unwrap();
    let phone_bundle = phone.engine.own_bundle().unwrap();
    let phone_id = phone.installation_id();
    alice.device().engine.process_bundle(&phone_bundle).unwrap();
    alice
        .device()
        .engine
        .enable_installation(&phone_id)
        .unwrap();
    assert!(alice.core().advertise_if_due().unwrap(), "bundle changed");
    // disabled
    let (d, _) = Device::create(
        Box::new(pfs_store::MemoryStore::new()),
        pfs_protocol::Config::default(),
    )
    .unwrap();
    let mut off = Client::new(
        d,
        Box::new(net),
        ClientConfig {
            advert_interval_ms: None,
            ..ClientConfig::default()
        },
    );
    assert!(!off.core().advertise_if_due().unwrap(), "disabled");
}
