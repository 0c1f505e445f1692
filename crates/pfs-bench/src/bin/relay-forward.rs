//! The pfs middle node of the relay-forward benchmark (`pfs_bench::relay::forward`): one
//! pfs-node relay node in its own process, so that its CPU time can be read from
//! `/proc/<pid>/stat`. It listens on 127.0.0.1 (TCP, random port), has no peers of its own
//! (the publisher and the subscriber dial it), prints
//! `{"event":"listening","addr":"/ip4/127.0.0.1/tcp/P/p2p/ID","peer_id":"ID"}` as
//! `interop/relay.mjs` does, and runs until its stdin is closed (or it is killed).
#![forbid(unsafe_code)]

use std::io::{Read, Write};
use std::process::ExitCode;

use pfs_bench::relay::node_config;
use pfs_node::Node;

fn main() -> ExitCode {
    let node = match Node::start(node_config(Vec::new())) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("relay-forward: cannot start the node: {e}");
            return ExitCode::FAILURE;
        }
    };
    let Some(addr) = node
        .listen_addrs()
        .into_iter()
        .find(|a| !a.to_string().contains("/ws"))
    else {
        eprintln!("relay-forward: no TCP listen address");
        return ExitCode::FAILURE;
    };
    let line = serde_json::json!({
        "event": "listening",
        "addr": addr.to_string(),
        "peer_id": node.peer_id().to_string(),
    });
    let mut out = std::io::stdout();
    if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
        return ExitCode::FAILURE;
    }
    // until the benchmark closes our stdin
    let mut sink = [0u8; 256];
    let mut stdin = std::io::stdin();
    while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
    node.shutdown();
    ExitCode::SUCCESS
}
