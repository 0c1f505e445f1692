//! The `pfs` command-line tool (level 5): wires the SQLite store, the OS random generator,
//! the system clock, Waku messages (payload version 1), the Waku node and the identity
//! pictures around the sans-IO protocol engine.
//!
//! Accounts, contacts, devices, sending and receiving through pipes (`pfs send` prints
//! WakuMessages, `pfs receive` reads them) or the Waku network (`--via`, `pfs node`,
//! `pfs chat`), and `pfs demo`, the whole protocol in one run.
#![forbid(unsafe_code)]

mod commands;
mod daemon;
mod demo;
mod device;
mod error;
mod home;
mod manage;
mod manual;
mod net;
mod show;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

use commands::Ctx;
use error::CliError;

const ABOUT: &str = "pfs: end-to-end encrypted 1:1 chat with the Status protocol (X3DH, Double Ratchet, multi-device), from the command line";

const MAIN_HELP: &str = "\
Every command works on a home directory holding an encrypted store (store.sqlite).
The passphrase comes from PFS_PASSPHRASE or is asked on the terminal.

Two people on one machine, through pipes:
  export PFS_PASSPHRASE=secret
  pfs --home /tmp/alice init
  pfs --home /tmp/bob init
  pfs --home /tmp/bob contacts add \"$(pfs --home /tmp/alice contact-code)\" --name Alice
  pfs --home /tmp/alice contacts add \"$(pfs --home /tmp/bob contact-code)\" --name Bob
  pfs --home /tmp/alice send --to Bob 'hello' | pfs --home /tmp/bob receive

See it all at once:  pfs demo";

/// The `pfs` tool.
#[derive(Debug, Parser)]
#[command(name = "pfs", version, about = ABOUT, after_help = MAIN_HELP)]
struct Cli {
    /// Home directory (default: $XDG_DATA_HOME/pfs, else ~/.local/share/pfs).
    #[arg(long, global = true, env = "PFS_HOME", value_name = "DIR")]
    home: Option<PathBuf>,
    /// Print one JSON object per result on stdout; a failing command then ends with one
    /// JSON object `{"type":"error","error":"…"}` on stderr (and `receive` notes are JSON
    /// objects on both streams).
    #[arg(long, global = true)]
    json: bool,
    /// Bare-protocol mode: send and show plaintexts as they are, without the Status
    /// application layer (no signed wrapper, no MVDS acks and resends). By default messages
    /// are what a Status app sends and reads.
    #[arg(long, global = true)]
    raw: bool,
    /// Directory with adjectives.json, animals.json, emojis.json (and ring-colors.json):
    /// enables the three-word name and the emoji hash.
    #[arg(long, global = true, env = "PFS_IDENTITY_DATA", value_name = "DIR")]
    identity_data: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a new account: prints the 12-word recovery phrase once, the chat key and the
    /// installation id.
    #[command(after_help = "Example:\n  PFS_PASSPHRASE=secret pfs --home /tmp/alice init")]
    Init,
    /// Recover an account from its 12-word phrase (read from stdin) as a new device.
    #[command(
        after_help = "The recovered account has the same chat key and a new installation id; peers start\nsessions with it when it answers their messages with its bundle.\n\nExample:\n  echo 'word1 word2 … word12' | pfs --home /tmp/alice-phone recover"
    )]
    Recover,
    /// Show this account: chat key, zQ3 key, installation, colour hash, identicon (and
    /// three-word name and emoji hash with --identity-data).
    #[command(
        after_help = "Example:\n  pfs --home /tmp/alice --identity-data ../shared/reference/identity-data whoami"
    )]
    Whoami,
    /// Print this account's contact code (its signed bundle), optionally as a QR code.
    #[command(
        name = "contact-code",
        after_help = "Give the code to a contact: with it their first message is forward secret.\n\nExample:\n  pfs --home /tmp/alice contact-code --qr --png alice.png"
    )]
    ContactCode {
        /// Also draw the QR code in the terminal.
        #[arg(long)]
        qr: bool,
        /// Write the QR code as a PNG file.
        #[arg(long, value_name = "FILE")]
        png: Option<PathBuf>,
        /// Write the QR code as an SVG file.
        #[arg(long, value_name = "FILE")]
        svg: Option<PathBuf>,
    },
    /// Show the identicon and other pictures of any chat key; write the identicon as PNG.
    #[command(after_help = "Example:\n  pfs identicon zQ3shXYZ… --png bob.png")]
    Identicon {
        /// A chat key (0x04…, 0x02…/0x03…, zQ3sh…).
        key: String,
        /// Write the identicon to this PNG file.
        #[arg(long, value_name = "FILE")]
        png: Option<PathBuf>,
    },
    /// Manage contacts and contact requests.
    #[command(subcommand)]
    Contacts(ContactsCmd),
    /// Manage this account's devices (installations): pairing and approval.
    #[command(subcommand)]
    Devices(DevicesCmd),
    /// Encrypt a message for a contact and print the WakuMessages (one base64 line each).
    #[command(
        after_help = "Prints one WakuMessage (protobuf, base64) per line: the message for the contact's devices\nand, when you have paired devices, a copy for them. Give them to `pfs receive` (pipe,\nfile) or use --via to publish them on a Waku node.\n\nExamples:\n  pfs --home /tmp/alice send --to Bob 'hello' | pfs --home /tmp/bob receive\n  echo 'hello' | pfs --home /tmp/alice send --to zQ3sh… > out.waku\n  pfs --home /tmp/alice send --to Bob --via /ip4/127.0.0.1/tcp/60000/p2p/16Uiu2… 'hi'"
    )]
    Send {
        /// The contact: chat key or name.
        #[arg(long, value_name = "ID")]
        to: String,
        /// The message (read from stdin when absent).
        message: Vec<String>,
        /// Mark it as a contact request (the only kind that reaches someone who declined you).
        #[arg(long)]
        request: bool,
        /// Publish through the Waku node at this address instead of printing. As a relay
        /// node, it stops once a store confirmed the message by hash (ADDR's, or one ADDR
        /// names by peer exchange), else once ADDR answered a lightpush of it (at most 5 s
        /// for the store); it prints how delivery was confirmed, or a warning.
        #[arg(long, value_name = "ADDR")]
        via: Option<String>,
        /// With --via: run as a light node (lightpush to ADDR) instead of a relay node.
        #[arg(long, requires = "via")]
        light: bool,
    },
    /// Read WakuMessages (one base64 line each) from stdin, decrypt them and print the
    /// messages; the bundle replies the protocol wants sent go to stderr or --replies FILE.
    #[command(
        after_help = "Standard output carries only the messages (with their send time, UTC). The bundle\nreplies the protocol wants sent back (WakuMessage lines for the sender's `pfs receive`)\ngo to standard error, each after a `# bundle reply to …` note, or to --replies FILE\n(appended, one line each, ready to pipe). With --json everything is one JSON object per\nline on stdout (replies have \"type\":\"waku_message\", \"kind\":\"bundle-reply\").\n\nMessages not addressed to this account are skipped with a note on stderr; blank lines\nand lines starting with # are ignored; a line that is not UTF-8 or not a WakuMessage is\nreported with its line number and skipped. Exit status 1 when a line was corrupt or a\nmessage failed to decrypt.\n\nExamples:\n  pfs --home /tmp/bob receive < out.waku\n  pfs --home /tmp/bob receive --replies reply.waku < out.waku\n  pfs --home /tmp/bob receive --via /ip4/127.0.0.1/tcp/60000/p2p/16Uiu2… --follow"
    )]
    Receive {
        /// Receive through the Waku node at this address instead of stdin: history first,
        /// from ADDR's store or from a store ADDR names by peer exchange, then live.
        #[arg(long, value_name = "ADDR")]
        via: Option<String>,
        /// With --via: run as a light node (filter at ADDR, store at ADDR or found through it)
        /// instead of a relay node.
        #[arg(long, requires = "via")]
        light: bool,
        /// With --via: keep receiving until interrupted.
        #[arg(long, requires = "via")]
        follow: bool,
        /// Write the bundle replies (WakuMessage lines to give back to the sender's
        /// `pfs receive`) to FILE (appended) instead of standard error.
        #[arg(long, value_name = "FILE", conflicts_with = "via")]
        replies: Option<PathBuf>,
    },
    /// List the sessions: per peer device, suite, active/expired, created, last used,
    /// skipped keys (`sessions reset ID` deletes those with one peer).
    #[command(
        after_help = "Examples:\n  pfs --home /tmp/alice sessions\n  pfs --home /tmp/alice sessions reset Bob"
    )]
    Sessions {
        #[command(subcommand)]
        cmd: Option<SessionsCmd>,
    },
    /// Run a Waku v2 node (relay on cluster 16; with --store it archives messages and serves
    /// store queries; it serves lightpush and filter to light nodes).
    #[command(
        after_help = "Prints `listening on ADDR` lines first (one per address, with /p2p/), then runs until\nCtrl-C. The node key is kept in HOME/node.key, so the peer id stays the same.\n\nA relay node answers peer exchange with its own ENR and those its peers gave it, so a\n`receive --via` of a relay without --store finds the store the relay is connected to\n(`--peer STORE_ADDR`).\n\nExamples:\n  pfs node --listen /ip4/127.0.0.1/tcp/60000 --listen /ip4/127.0.0.1/tcp/60001/ws --store\n  pfs node --peer /ip4/127.0.0.1/tcp/60000/p2p/16Uiu2…   # a relay in front of that store"
    )]
    Node {
        /// Listen address (repeatable; default /ip4/127.0.0.1/tcp/0, a random port).
        #[arg(long, value_name = "ADDR")]
        listen: Vec<String>,
        /// A peer to connect to and keep connected (repeatable).
        #[arg(long = "peer", value_name = "ADDR")]
        peers: Vec<String>,
        /// Archive messages (30 days) and answer store queries.
        #[arg(long)]
        store: bool,
        /// The archive database (default HOME/archive.sqlite; implies --store).
        #[arg(long, value_name = "FILE")]
        store_db: Option<PathBuf>,
        /// The node key file (default HOME/node.key, created if missing).
        #[arg(long, value_name = "FILE")]
        key: Option<PathBuf>,
        /// A shard of cluster 16 to serve (repeatable; default 32 and 64).
        #[arg(long = "shard", value_name = "N")]
        shards: Vec<u32>,
        /// Run as a light node using the first --peer as its service node.
        #[arg(long)]
        light: bool,
    },
    /// Interactive 1:1 chat through a Waku node: incoming messages appear while you type.
    #[command(
        after_help = "Example:\n  pfs --home /tmp/alice chat Bob --via /ip4/127.0.0.1/tcp/60000/p2p/16Uiu2…"
    )]
    Chat {
        /// The contact: chat key or name.
        id: String,
        /// The Waku node to use.
        #[arg(long, value_name = "ADDR")]
        via: String,
        /// Run as a light node (lightpush, filter, store at --via) instead of a relay node.
        #[arg(long)]
        light: bool,
    },
    /// Serve this home to other programs: JSON-RPC 2.0 over stdin/stdout (and a Unix
    /// socket), received messages pushed as notifications (docs/json-rpc.md).
    #[command(
        after_help = "One JSON object per line. Requests: {\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"send\",\"params\":{\"to\":\"Bob\",\"text\":\"hi\"}};\nnotifications: {\"jsonrpc\":\"2.0\",\"method\":\"message\",\"params\":{…}}. Methods and fields: docs/json-rpc.md.\n\nExample:\n  pfs --home /tmp/bot daemon --via /ip4/127.0.0.1/tcp/60000/p2p/16Uiu2… --socket /tmp/bot/rpc.sock"
    )]
    Daemon {
        /// The Waku node to use.
        #[arg(long, value_name = "ADDR")]
        via: String,
        /// Run as a light node (lightpush, filter, store at --via) instead of a relay node.
        #[arg(long)]
        light: bool,
        /// Also serve JSON-RPC on this Unix socket (created 0600, removed at exit).
        #[arg(long, value_name = "PATH")]
        socket: Option<PathBuf>,
    },
    /// The whole protocol in one run: Alice (two devices) and Bob, out-of-order delivery,
    /// ratchet turns, multi-device, account recovery, each step checked.
    #[command(
        after_help = "Runs in a temporary directory (removed afterwards); exits 0 only if every check passed.\n\nExample:\n  cargo run --release -p pfs-cli -- demo"
    )]
    Demo {
        /// Keep the temporary directory (print its path).
        #[arg(long)]
        keep: bool,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    #[command(
        after_help = "Examples:\n  pfs completions bash > ~/.local/share/bash-completion/completions/pfs\n  pfs completions zsh > ~/.zfunc/_pfs    # with fpath+=(~/.zfunc) before compinit\n  pfs completions fish > ~/.config/fish/completions/pfs.fish"
    )]
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), generated from the same definitions as --help.
    #[command(
        after_help = "Examples:\n  pfs man | man -l -\n  pfs man > ~/.local/share/man/man1/pfs.1\n  pfs man --dir ~/.local/share/man/man1    # then: man pfs-contacts-add"
    )]
    Man {
        /// Write one page per command (pfs.1, pfs-init.1, pfs-contacts-add.1, …) into DIR
        /// instead of printing the main page.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum ContactsCmd {
    /// Add a contact by contact code (forward secret from the first message) or by chat key.
    #[command(
        after_help = "Example:\n  pfs --home /tmp/bob contacts add \"$(pfs --home /tmp/alice contact-code)\" --name Alice"
    )]
    Add {
        /// A contact code (base64) or a chat key (0x04…, zQ3sh…).
        code: String,
        /// A local name for the contact (refused when another contact has it, unless --force).
        #[arg(long)]
        name: Option<String>,
        /// Allow a name another contact already has.
        #[arg(long)]
        force: bool,
    },
    /// List contacts with their state (added, request, accepted, declined), PFS status and
    /// pictures.
    #[command(after_help = "Example:\n  pfs --home /tmp/bob contacts list")]
    List,
    /// Accept a contact request (optionally naming the contact).
    #[command(after_help = "Example:\n  pfs --home /tmp/bob contacts accept zQ3sh… --name Alice")]
    Accept {
        /// Chat key or name.
        id: String,
        /// A local name for the contact (refused when another contact has it, unless --force).
        #[arg(long)]
        name: Option<String>,
        /// Allow a name another contact already has.
        #[arg(long)]
        force: bool,
    },
    /// Give a contact another local name (its state is kept).
    #[command(after_help = "Example:\n  pfs --home /tmp/bob contacts rename Alice 'Alice (work)'")]
    Rename {
        /// Chat key or current name.
        id: String,
        /// The new name.
        name: String,
        /// Allow a name another contact already has.
        #[arg(long)]
        force: bool,
    },
    /// Decline a contact request: their messages are dropped, except a new request.
    #[command(after_help = "Example:\n  pfs --home /tmp/bob contacts decline zQ3sh…")]
    Decline {
        /// Chat key or name.
        id: String,
    },
    /// Forget a contact: its name and state. Its sessions are kept: a later message from
    /// them is a contact request again (`pfs sessions reset ID` forgets the sessions too).
    #[command(after_help = "Example:\n  pfs --home /tmp/bob contacts remove Alice")]
    Remove {
        /// Chat key or name.
        id: String,
    },
    /// Block someone (a contact or any chat key): every message of theirs is dropped,
    /// contact requests too, and nothing is sent back to them.
    #[command(after_help = "Example:\n  pfs --home /tmp/bob contacts block zQ3sh…")]
    Block {
        /// Chat key or name.
        id: String,
    },
    /// Lift a block: the contact is "added" again and their messages are read.
    #[command(after_help = "Example:\n  pfs --home /tmp/bob contacts unblock zQ3sh…")]
    Unblock {
        /// Chat key or name.
        id: String,
    },
}

#[derive(Debug, Subcommand)]
enum SessionsCmd {
    /// List the sessions (what `pfs sessions` alone does).
    #[command(after_help = "Example:\n  pfs --home /tmp/alice sessions list")]
    List,
    /// Delete every session with one peer (a session that cannot be used any more): the
    /// next message to them starts a new one (forward secret when their bundle is known).
    #[command(
        after_help = "Send first after a reset: the peer's new session starts with your next message;\nwhat they send on the old one until then cannot be read here.\n\nExample:\n  pfs --home /tmp/alice sessions reset Bob\n  pfs --home /tmp/alice send --to Bob 'new session' | pfs --home /tmp/bob receive"
    )]
    Reset {
        /// Chat key or name of the peer.
        id: String,
    },
}

#[derive(Debug, Subcommand)]
enum DevicesCmd {
    /// List this account's devices: this one, enabled, disabled, pending approval, stale.
    #[command(after_help = "Example:\n  pfs --home /tmp/alice devices list")]
    List,
    /// Approve (pair) one of your devices so messages reach it (at most 3 devices).
    #[command(after_help = "Example:\n  pfs --home /tmp/alice devices approve 3f2a")]
    Approve {
        /// Installation id (a unique prefix is enough).
        id: String,
    },
    /// Stop sending to one of your devices.
    #[command(after_help = "Example:\n  pfs --home /tmp/alice devices disable 3f2a")]
    Disable {
        /// Installation id (a unique prefix is enough).
        id: String,
    },
    /// Print an envelope announcing this device to your other devices (pairing).
    #[command(
        after_help = "Pairing two devices of one account (the second made with `pfs recover`):\n  pfs --home /tmp/a2 devices announce | pfs --home /tmp/a1 receive --replies reply.env\n  pfs --home /tmp/a2 receive < reply.env\n  pfs --home /tmp/a1 devices approve ID2 ; pfs --home /tmp/a2 devices approve ID1"
    )]
    Announce,
}

fn default_home() -> PathBuf {
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|x| !x.is_empty()) {
        return PathBuf::from(x).join("pfs");
    }
    if let Some(h) = std::env::var_os("HOME").filter(|x| !x.is_empty()) {
        return PathBuf::from(h).join(".local/share/pfs");
    }
    PathBuf::from(".pfs")
}

fn join(words: Vec<String>) -> Option<String> {
    (!words.is_empty()).then(|| words.join(" "))
}

fn run(cli: Cli) -> Result<(), CliError> {
    let ctx = Ctx {
        home: cli.home.unwrap_or_else(default_home),
        json: cli.json,
        raw: cli.raw,
        identity_data: cli.identity_data,
    };
    match cli.command {
        Command::Init => commands::init(&ctx),
        Command::Recover => commands::recover(&ctx),
        Command::Whoami => commands::whoami(&ctx),
        Command::ContactCode { qr, png, svg } => {
            commands::contact_code(&ctx, qr, png.as_deref(), svg.as_deref())
        }
        Command::Identicon { key, png } => commands::identicon(&ctx, &key, png.as_deref()),
        Command::Contacts(c) => match c {
            ContactsCmd::Add { code, name, force } => {
                commands::contacts_add(&ctx, &code, name.as_deref(), force)
            }
            ContactsCmd::List => commands::contacts_list(&ctx),
            ContactsCmd::Accept { id, name, force } => {
                commands::contacts_accept(&ctx, &id, name.as_deref(), force)
            }
            ContactsCmd::Decline { id } => commands::contacts_decide(&ctx, &id, false),
            ContactsCmd::Rename { id, name, force } => {
                commands::contacts_rename(&ctx, &id, &name, force)
            }
            ContactsCmd::Remove { id } => manage::contacts_remove(&ctx, &id),
            ContactsCmd::Block { id } => manage::contacts_block(&ctx, &id, true),
            ContactsCmd::Unblock { id } => manage::contacts_block(&ctx, &id, false),
        },
        Command::Devices(d) => match d {
            DevicesCmd::List => commands::devices_list(&ctx),
            DevicesCmd::Approve { id } => commands::devices_set(&ctx, &id, true),
            DevicesCmd::Disable { id } => commands::devices_set(&ctx, &id, false),
            DevicesCmd::Announce => commands::devices_announce(&ctx).map(|_| ()),
        },
        Command::Send {
            to,
            message,
            request,
            via,
            light,
        } => match via {
            Some(via) => net::send_via(&ctx, &via, light, &to, join(message), request),
            None => commands::send(&ctx, &to, join(message), request),
        },
        Command::Receive {
            via,
            light,
            follow,
            replies,
        } => match via {
            Some(via) => net::receive_via(&ctx, &via, light, follow),
            None => commands::receive(&ctx, replies.as_deref()),
        },
        Command::Sessions { cmd } => match cmd {
            None | Some(SessionsCmd::List) => commands::sessions(&ctx),
            Some(SessionsCmd::Reset { id }) => manage::sessions_reset(&ctx, &id),
        },
        Command::Node {
            listen,
            peers,
            store,
            store_db,
            key,
            shards,
            light,
        } => net::node(
            &ctx,
            net::NodeOptions {
                listen,
                peers,
                store,
                store_db,
                key,
                shards,
                light,
            },
        ),
        Command::Chat { id, via, light } => net::chat(&ctx, &via, light, &id),
        Command::Daemon { via, light, socket } => {
            daemon::run(&ctx, daemon::DaemonOptions { via, light, socket })
        }
        Command::Demo { keep } => demo::run(&ctx, keep),
        Command::Completions { shell } => manual::completions(shell, Cli::command()),
        Command::Man { dir } => manual::man(Cli::command(), dir.as_deref()),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.json;
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if json => {
            // under --json the error is one JSON object on stderr (stdout keeps the results)
            eprintln!(
                "{}",
                serde_json::json!({ "type": "error", "error": e.to_string() })
            );
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
