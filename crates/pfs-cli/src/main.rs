//! The `pfs` command-line tool: accounts, contacts, devices, sending and receiving
//! through pipes or the network, and the `demo` main job.
#![forbid(unsafe_code)]

fn main() {
    println!("pfs: not built yet");
}
