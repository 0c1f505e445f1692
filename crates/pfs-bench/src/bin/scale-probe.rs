//! Memory probe of the scale benchmark (`benches/scale.rs`): in a fresh process, opens the
//! store and engine given on the command line, sends once, runs maintenance, and prints
//! VmRSS/VmHWM after each step as one line of `key=kB` pairs.
//!
//! `scale-probe STORE_PATH BOB_KEY_HEX NOW_NS`
#![forbid(unsafe_code)]
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use pfs_bench::scale;
use pfs_crypto::secp256k1::PublicKey;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    assert_eq!(
        args.len(),
        4,
        "usage: scale-probe STORE_PATH BOB_KEY_HEX NOW_NS"
    );
    let bob = PublicKey::from_compressed(&scale::unhex(&args[2])).unwrap();
    let now: i64 = args[3].parse().unwrap();
    println!(
        "{}",
        scale::probe_main(std::path::Path::new(&args[1]), &bob, now)
    );
}
