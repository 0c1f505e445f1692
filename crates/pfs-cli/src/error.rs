//! Errors of the tool, worded for the person at the terminal.

use std::path::PathBuf;

/// Everything that makes a command fail.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The home has no store.
    #[error("no account in {0}: run `pfs init --home {0}` first (or `pfs recover --home {0}`)")]
    NoAccount(PathBuf),
    /// `init`/`recover` on a home that already has an account.
    #[error("this home already holds an account; use another --home to create a new one")]
    AccountExists,
    /// The passphrase does not open the store.
    #[error("wrong passphrase for {0}")]
    WrongPassphrase(PathBuf),
    /// Another process uses the store.
    #[error(
        "{0} is in use by another pfs process (a `pfs daemon`, `pfs chat` or `pfs receive --follow`?): stop it first, or talk to the daemon through its socket (docs/json-rpc.md)"
    )]
    Locked(PathBuf),
    /// No passphrase available.
    #[error("no passphrase: set PFS_PASSPHRASE or run pfs in a terminal to be asked for it")]
    NoPassphrase,
    /// The passphrase was empty.
    #[error("the passphrase must not be empty")]
    EmptyPassphrase,
    /// The two passphrases typed at init differ.
    #[error("the passphrases do not match")]
    PassphraseMismatch,
    /// The recovery phrase is wrong.
    #[error("recovery phrase: {0}")]
    Mnemonic(pfs_x3dh::AccountError),
    /// The contact (key or name) is not known.
    #[error("unknown contact {0}: add it first with `pfs contacts add CODE|CHATKEY`")]
    UnknownContact(String),
    /// The text is neither a chat key nor a contact name.
    #[error(
        "{0:?} is not a chat key (0x04…, 0x02…/0x03…, zQ3sh…) nor the name of a contact (see `pfs contacts list`)"
    )]
    BadContactId(String),
    /// Neither a contact code nor a chat key.
    #[error("{0}")]
    BadCode(String),
    /// A device id that matches nothing.
    #[error("unknown device {0:?}: see `pfs devices list`")]
    UnknownDevice(String),
    /// A device prefix matching several devices.
    #[error("device id {0:?} is ambiguous: give more characters")]
    AmbiguousDevice(String),
    /// Bad user input.
    #[error("{0}")]
    Usage(String),
    /// Some messages could not be read or delivered.
    #[error("{0} message(s) could not be read or delivered (see the notes above)")]
    Undelivered(usize),
    /// A message over the network's size limit.
    #[error(
        "the message would be {size} bytes on the network, over the limit of {max} bytes (nothing was sent)"
    )]
    TooLarge {
        /// Encoded size (or a lower bound).
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The demo found a failed check.
    #[error("the demo failed {0} check(s)")]
    DemoFailed(usize),
    /// The store failed.
    #[error("store: {0}")]
    Store(pfs_store::StoreError),
    /// The engine failed.
    #[error("{0}")]
    Engine(#[from] pfs_protocol::EngineError),
    /// Sending failed.
    #[error("cannot send: {0}")]
    Send(#[from] pfs_protocol::SendError),
    /// Network.
    #[error("network: {0}")]
    Network(String),
    /// File I/O.
    #[error("{0}")]
    Io(String),
    /// Anything else.
    #[error("{0}")]
    Other(String),
}

impl CliError {
    /// An I/O error with what we were doing.
    pub fn io(what: impl std::fmt::Display, e: std::io::Error) -> Self {
        Self::Io(format!("{what}: {e}"))
    }
}

impl From<pfs_client::DeviceError> for CliError {
    fn from(e: pfs_client::DeviceError) -> Self {
        use pfs_client::DeviceError as D;
        match e {
            D::WrongPassphrase(p) => Self::WrongPassphrase(p),
            D::Locked(p) => Self::Locked(p),
            D::AccountExists => Self::AccountExists,
            D::Mnemonic(m) => Self::Mnemonic(m),
            D::Store(s) => Self::Store(s),
            D::Engine(e) => Self::Engine(e),
            D::TooLarge { size, max } => Self::TooLarge { size, max },
            other => Self::Other(other.to_string()),
        }
    }
}

impl From<pfs_client::ClientError> for CliError {
    fn from(e: pfs_client::ClientError) -> Self {
        use pfs_client::ClientError as C;
        match e {
            C::Device(d) => d.into(),
            C::Send(s) => Self::Send(s),
            C::Transport(t) => Self::Network(t.to_string()),
            C::App(a) => Self::Usage(a.to_string()),
            other => Self::Other(other.to_string()),
        }
    }
}
