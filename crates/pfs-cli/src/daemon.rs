//! `pfs daemon`: one home served by one long-running process, spoken to in JSON-RPC 2.0
//! (one JSON object per line) over stdin/stdout and, with `--socket PATH`, over a Unix
//! socket (created 0600, any number of clients). Received messages, contact requests,
//! deliveries and devices are pushed to every client as notifications. The schema of every
//! request, response and notification is `docs/json-rpc.md` (version [`SCHEMA_VERSION`]).
//!
//! One thread owns the [`Client`] (engine, application layer, Waku node connection); the
//! readers hand it requests through a channel; between requests it polls the network and
//! runs the background work (MVDS resends, bundle replies).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use pfs_app::messenger::{Event as AppEvent, id_hex};
use pfs_client::{Client, ClientEvent, Fault};
use pfs_crypto::secp256k1::PublicKey;
use pfs_transport::transport::CarriedMessage;
use serde_json::{Value, json};

use crate::commands::{self, Ctx};
use crate::error::CliError;
use crate::show::key_hex;

/// Version of the JSON schema in `docs/json-rpc.md`.
pub const SCHEMA_VERSION: u32 = 1;
/// Largest request line, bytes.
pub const MAX_REQUEST: usize = 1 << 20;
/// How far back the store is asked at start, seconds.
const CATCH_UP_SECS: i64 = 30 * 86_400;

/// JSON-RPC error codes.
mod code {
    pub const PARSE: i64 = -32700;
    pub const INVALID_REQUEST: i64 = -32600;
    pub const METHOD_NOT_FOUND: i64 = -32601;
    pub const INVALID_PARAMS: i64 = -32602;
    /// Our side failed (store, engine, configuration).
    pub const LOCAL: i64 = -32000;
    /// The network failed (retry later).
    pub const NETWORK: i64 = -32001;
    /// The request names something that does not exist or is not allowed.
    pub const REFUSED: i64 = -32002;
}

/// Options of `pfs daemon`.
#[derive(Debug)]
pub struct DaemonOptions {
    /// The node to use (`pfs node` address).
    pub via: String,
    /// Light mode (lightpush + filter + store of `via`).
    pub light: bool,
    /// Serve a Unix socket at this path too.
    pub socket: Option<PathBuf>,
}

enum Input {
    Line { conn: usize, line: String },
    TooLong { conn: usize },
    Connected { conn: usize, out: Sender<String> },
    Closed { conn: usize },
}

struct RpcError {
    code: i64,
    message: String,
    fault: Option<&'static str>,
}

impl RpcError {
    fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            fault: None,
        }
    }
    fn params(message: impl Into<String>) -> Self {
        Self::new(code::INVALID_PARAMS, message)
    }
}

impl From<CliError> for RpcError {
    fn from(e: CliError) -> Self {
        let (code, fault) = match &e {
            CliError::Network(_) => (code::NETWORK, "transient"),
            CliError::UnknownContact(_)
            | CliError::BadContactId(_)
            | CliError::BadCode(_)
            | CliError::Usage(_)
            | CliError::TooLarge { .. }
            | CliError::AmbiguousDevice(_)
            | CliError::UnknownDevice(_) => (code::REFUSED, "caller"),
            _ => (code::LOCAL, "local"),
        };
        Self {
            code,
            message: e.to_string(),
            fault: Some(fault),
        }
    }
}

impl From<pfs_client::ClientError> for RpcError {
    fn from(e: pfs_client::ClientError) -> Self {
        let fault = match e.fault() {
            Fault::Peer => "peer",
            Fault::Local => "local",
            Fault::Transient => "transient",
        };
        let code = match e.fault() {
            Fault::Transient => code::NETWORK,
            _ => code::LOCAL,
        };
        Self {
            code,
            message: e.to_string(),
            fault: Some(fault),
        }
    }
}

/// Reads one line of at most [`MAX_REQUEST`] bytes: `Ok(None)` at end of input,
/// `Err(true)` for a longer line (skipped up to its end), `Err(false)` on a read error.
fn read_capped(r: &mut impl BufRead) -> Result<Option<Vec<u8>>, bool> {
    let mut buf = Vec::new();
    let n = r
        .by_ref()
        .take(MAX_REQUEST as u64 + 1)
        .read_until(b'\n', &mut buf)
        .map_err(|_| false)?;
    if n == 0 {
        return Ok(None);
    }
    if buf.len() > MAX_REQUEST && buf.last() != Some(&b'\n') {
        // skip the rest of the line
        let mut sink = Vec::new();
        let _ = r.read_until(b'\n', &mut sink);
        return Err(true);
    }
    Ok(Some(buf))
}

fn spawn_reader(conn: usize, input: impl Read + Send + 'static, tx: Sender<Input>) {
    std::thread::spawn(move || {
        let mut r = BufReader::new(input);
        loop {
            let msg = match read_capped(&mut r) {
                Ok(Some(bytes)) => Input::Line {
                    conn,
                    line: String::from_utf8_lossy(&bytes).into_owned(),
                },
                Err(true) => Input::TooLong { conn },
                Ok(None) | Err(false) => {
                    let _ = tx.send(Input::Closed { conn });
                    return;
                }
            };
            if tx.send(msg).is_err() {
                return;
            }
        }
    });
}

fn spawn_writer(mut out: impl Write + Send + 'static) -> Sender<String> {
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in rx {
            if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
                return;
            }
        }
    });
    tx
}

#[cfg(unix)]
fn serve_socket(path: &Path, tx: Sender<Input>) -> Result<(), CliError> {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::net::UnixListener;
    if path.exists() {
        // a stale socket of a daemon that died: the store lock already proved we are alone
        std::fs::remove_file(path)
            .map_err(|e| CliError::io(format!("cannot remove {}", path.display()), e))?;
    }
    let listener = UnixListener::bind(path)
        .map_err(|e| CliError::io(format!("cannot listen on {}", path.display()), e))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| CliError::io(format!("cannot restrict {}", path.display()), e))?;
    std::thread::spawn(move || {
        let mut next = 1usize;
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let Ok(write_half) = stream.try_clone() else {
                continue;
            };
            let conn = next;
            next += 1;
            let out = spawn_writer(write_half);
            if tx.send(Input::Connected { conn, out }).is_err() {
                return;
            }
            spawn_reader(conn, stream, tx.clone());
        }
    });
    Ok(())
}

#[cfg(not(unix))]
fn serve_socket(_path: &Path, _tx: Sender<Input>) -> Result<(), CliError> {
    Err(CliError::Usage(
        "--socket needs a Unix system; use stdin/stdout".into(),
    ))
}

/// Most notifications kept while no client listens.
const BACKLOG: usize = 10_000;

struct Daemon<'a> {
    ctx: &'a Ctx,
    client: Client,
    conns: HashMap<usize, Sender<String>>,
    /// With `--socket`, notifications go to socket clients only, and are kept (up to
    /// [`BACKLOG`]) while none is connected, for the first one that connects.
    socket_mode: bool,
    backlog: std::collections::VecDeque<String>,
    seen: crate::net::Seen,
    stop: bool,
}

/// `pfs daemon`.
pub fn run(ctx: &Ctx, opts: DaemonOptions) -> Result<(), CliError> {
    // the store lock makes this the only process on the home
    let core = ctx.open_core()?;
    let node = crate::net::connect(&opts.via, opts.light)?;
    let mut client = Client::new(core.into_device(), Box::new(node), ctx.client_config());
    client.listen()?;
    let (tx, rx) = mpsc::channel::<Input>();
    let mut conns = HashMap::new();
    conns.insert(0usize, spawn_writer(std::io::stdout()));
    spawn_reader(0, std::io::stdin(), tx.clone());
    if let Some(path) = &opts.socket {
        serve_socket(path, tx.clone())?;
    }
    let mut d = Daemon {
        ctx,
        client,
        conns,
        socket_mode: opts.socket.is_some(),
        backlog: std::collections::VecDeque::new(),
        seen: crate::net::Seen::load(&ctx.home),
        stop: false,
    };
    let ready = json!({
        "schema_version": SCHEMA_VERSION,
        "chat_key": key_hex(&d.client.identity()),
        "installation_id": d.client.device().installation_id(),
        "socket": opts.socket.as_ref().map(|p| p.display().to_string()),
    });
    // "ready" goes to stdout in every mode (a supervisor waits for it)
    let ready = json!({"jsonrpc": "2.0", "method": "ready", "params": ready}).to_string();
    if let Some(out) = d.conns.get(&0) {
        let _ = out.send(ready);
    }
    // messages sent while we were away
    let since = pfs_transport::transport::now_unix_ns() - CATCH_UP_SECS * 1_000_000_000;
    d.catch_up(since);
    let stdin_only = opts.socket.is_none();
    let result = d.serve(&rx, stdin_only);
    if let Some(path) = &opts.socket {
        let _ = std::fs::remove_file(path);
    }
    result
}

impl Daemon<'_> {
    fn send_to(&self, conn: usize, v: &Value) {
        if let Some(out) = self.conns.get(&conn) {
            let _ = out.send(v.to_string());
        }
    }

    fn notify(&mut self, method: &str, params: Value) {
        let v = json!({"jsonrpc": "2.0", "method": method, "params": params}).to_string();
        if !self.socket_mode {
            for out in self.conns.values() {
                let _ = out.send(v.clone());
            }
            return;
        }
        let mut sent = false;
        for (_, out) in self.conns.iter().filter(|(c, _)| **c != 0) {
            sent |= out.send(v.clone()).is_ok();
        }
        if !sent {
            if self.backlog.len() == BACKLOG {
                self.backlog.pop_front();
            }
            self.backlog.push_back(v);
        }
    }

    fn serve(&mut self, rx: &Receiver<Input>, stdin_only: bool) -> Result<(), CliError> {
        let mut last_tick = Instant::now();
        while !self.stop {
            // requests first
            loop {
                match rx.try_recv() {
                    Ok(Input::Line { conn, line }) => self.request(conn, &line),
                    Ok(Input::TooLong { conn }) => self.send_to(
                        conn,
                        &error_response(
                            Value::Null,
                            &RpcError::new(
                                code::INVALID_REQUEST,
                                format!("request larger than {MAX_REQUEST} bytes"),
                            ),
                        ),
                    ),
                    Ok(Input::Connected { conn, out }) => {
                        // what arrived while nobody listened
                        for v in self.backlog.drain(..) {
                            let _ = out.send(v);
                        }
                        self.conns.insert(conn, out);
                    }
                    Ok(Input::Closed { conn }) => {
                        self.conns.remove(&conn);
                        if conn == 0 && stdin_only {
                            self.stop = true;
                        }
                    }
                    Err(_) => break,
                }
                if self.stop {
                    break;
                }
            }
            if self.stop {
                break;
            }
            // then the network
            let seen = &mut self.seen;
            let polled = self
                .client
                .poll_filtered(Duration::from_millis(50), |m| seen.insert(&m.hash()));
            let events = match polled {
                Ok(e) => e,
                Err(e) => {
                    self.notify("error", json!({"message": e.to_string()}));
                    std::thread::sleep(Duration::from_millis(200));
                    Vec::new()
                }
            };
            for e in events {
                self.event(e);
            }
            if last_tick.elapsed() > Duration::from_secs(1) {
                last_tick = Instant::now();
                match self.client.tick() {
                    Ok(events) => events.into_iter().for_each(|e| self.event(e)),
                    Err(e) => self.notify("error", json!({"message": e.to_string()})),
                }
            }
        }
        Ok(())
    }

    fn catch_up(&mut self, since_ns: i64) -> usize {
        let seen = &mut self.seen;
        let caught = self
            .client
            .catch_up_filtered(since_ns, |m| seen.insert(&m.hash()));
        match caught {
            Ok(events) => {
                let n = events.len();
                events.into_iter().for_each(|e| self.event(e));
                n
            }
            Err(e) => {
                self.notify(
                    "error",
                    json!({"message": format!("store catch-up failed: {e}")}),
                );
                0
            }
        }
    }

    fn name(&mut self, pk: &PublicKey) -> String {
        commands::display_name(self.client.device(), pk)
    }

    /// Turns a client event into a notification.
    fn event(&mut self, e: ClientEvent) {
        match e {
            ClientEvent::App(AppEvent::Text { id, from, message }) => {
                let name = self.name(&from);
                self.notify(
                    "message",
                    json!({
                        "id": id_hex(&id),
                        "from": key_hex(&from),
                        "from_name": name,
                        "text": message.text,
                        "clock": message.clock,
                        "timestamp_ms": message.timestamp_ms,
                        "chat_id": message.chat_id,
                        "response_to": message.response_to,
                    }),
                );
            }
            ClientEvent::App(AppEvent::ContactRequest { id, from, message }) => {
                let name = self.name(&from);
                self.notify(
                    "contact_request",
                    json!({"id": id_hex(&id), "from": key_hex(&from), "from_name": name, "text": message.text}),
                );
            }
            ClientEvent::App(AppEvent::Delivered { from, message_ids }) => {
                self.notify(
                    "delivered",
                    json!({"from": key_hex(&from), "message_ids": message_ids.iter().map(id_hex).collect::<Vec<_>>()}),
                );
            }
            ClientEvent::App(AppEvent::ContactAccepted { from, .. }) => {
                self.notify("contact_accepted", json!({"from": key_hex(&from)}));
            }
            ClientEvent::App(AppEvent::ContactRetracted { from }) => {
                self.notify("contact_retracted", json!({"from": key_hex(&from)}));
            }
            ClientEvent::App(AppEvent::Expired { to, message_id }) => {
                self.notify(
                    "expired",
                    json!({"to": key_hex(&to), "message_id": id_hex(&message_id)}),
                );
            }
            ClientEvent::App(AppEvent::Refused { from, reason }) => {
                self.notify(
                    "dropped",
                    json!({"from": key_hex(&from), "reason": reason, "fault": "peer"}),
                );
            }
            ClientEvent::DevicesSeen { installations } => {
                self.notify(
                    "devices_seen",
                    json!({"installations": installations.iter().map(|(k, i)| json!({"identity": key_hex(k), "installation_id": i})).collect::<Vec<_>>()}),
                );
            }
            ClientEvent::Raw {
                from, plaintext, ..
            } => {
                self.notify(
                    "raw_message",
                    json!({"from": key_hex(&from), "text": String::from_utf8_lossy(&plaintext)}),
                );
            }
            ClientEvent::Dropped { from, cause, fault } => {
                self.notify(
                    "dropped",
                    json!({
                        "from": from.as_ref().map(key_hex),
                        "reason": cause.to_string(),
                        "fault": match fault { Fault::Peer => "peer", Fault::Local => "local", Fault::Transient => "transient" },
                    }),
                );
            }
            _ => {}
        }
    }

    fn request(&mut self, conn: usize, line: &str) {
        let line = line.trim();
        if line.is_empty() {
            return;
        }
        let req: Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => {
                let r = error_response(
                    Value::Null,
                    &RpcError::new(code::PARSE, format!("not JSON: {e}")),
                );
                self.send_to(conn, &r);
                return;
            }
        };
        let id = req.get("id").cloned().unwrap_or(Value::Null);
        let method = match (
            req.get("jsonrpc").and_then(Value::as_str),
            req.get("method").and_then(Value::as_str),
        ) {
            (Some("2.0"), Some(m)) => m.to_owned(),
            _ => {
                let r = error_response(
                    id,
                    &RpcError::new(
                        code::INVALID_REQUEST,
                        "a request is {\"jsonrpc\":\"2.0\",\"method\":…,\"params\":{…},\"id\":…}",
                    ),
                );
                self.send_to(conn, &r);
                return;
            }
        };
        let params = req.get("params").cloned().unwrap_or_else(|| json!({}));
        let result = if params.is_object() {
            self.call(&method, &params)
        } else {
            Err(RpcError::params("params must be an object"))
        };
        // a request without id is a notification: no answer
        if req.get("id").is_none() {
            return;
        }
        let v = match result {
            Ok(r) => json!({"jsonrpc": "2.0", "id": id, "result": r}),
            Err(e) => error_response(id, &e),
        };
        self.send_to(conn, &v);
    }

    fn call(&mut self, method: &str, p: &Value) -> Result<Value, RpcError> {
        match method {
            "ping" => Ok(json!("pong")),
            "version" => Ok(json!({
                "schema_version": SCHEMA_VERSION,
                "pfs": env!("CARGO_PKG_VERSION"),
                "raw": self.ctx.raw,
            })),
            "whoami" => {
                let me = self.client.identity();
                Ok(json!({
                    "chat_key": key_hex(&me),
                    "zq3": pfs_identity::to_zq3(&me),
                    "installation_id": self.client.device().installation_id(),
                }))
            }
            "contact_code" => Ok(json!({
                "code": self.client.device().engine.contact_code().map_err(CliError::from)?,
            })),
            "contacts.list" => {
                let list = self
                    .client
                    .device()
                    .engine
                    .contacts()
                    .map_err(CliError::from)?;
                let mut out = Vec::new();
                for c in list {
                    let Ok(pk) = c.identity.to_public_key() else {
                        continue;
                    };
                    out.push(json!({
                        "identity": key_hex(&pk),
                        "name": c.name,
                        "state": commands::state_label(c.state),
                        "pfs_established": self.client.device().engine.pfs_established(&pk).unwrap_or(false),
                    }));
                }
                Ok(Value::Array(out))
            }
            "contacts.add" => {
                let name = opt_str(p, "name")?;
                let pk = if let Some(code) = opt_str(p, "code")? {
                    self.client
                        .device()
                        .engine
                        .add_contact_code(code, name)
                        .map_err(|e| RpcError::new(code::REFUSED, e.to_string()))?
                } else if let Some(key) = opt_str(p, "key")? {
                    let pk = pfs_identity::parse_chat_key(key)
                        .map_err(|e| RpcError::params(format!("key: {e}")))?;
                    self.client
                        .device()
                        .engine
                        .add_contact_key(&pk, name)
                        .map_err(CliError::from)?;
                    pk
                } else {
                    return Err(RpcError::params("give \"code\" or \"key\""));
                };
                // listen on the topic negotiated with them too
                self.client.listen()?;
                Ok(json!({"identity": key_hex(&pk)}))
            }
            "contacts.accept" | "contacts.decline" => {
                let who = req_str(p, "id")?;
                let pk = commands::resolve_contact(self.client.device(), who)?;
                if method == "contacts.decline" {
                    self.client
                        .device()
                        .engine
                        .decline_contact(&pk)
                        .map_err(CliError::from)?;
                    return Ok(json!({"identity": key_hex(&pk), "state": "declined"}));
                }
                match opt_str(p, "request_id")? {
                    Some(rid) => {
                        let rid = parse_id(rid)?;
                        self.client.accept_contact_request(&pk, &rid)?;
                    }
                    None => self
                        .client
                        .device()
                        .engine
                        .accept_contact(&pk)
                        .map_err(CliError::from)?,
                }
                Ok(json!({"identity": key_hex(&pk), "state": "accepted"}))
            }
            "contacts.remove" | "contacts.block" | "contacts.unblock" | "sessions.reset" => {
                let who = req_str(p, "id")?;
                let pk = match commands::resolve_contact(self.client.device(), who) {
                    Ok(pk) => pk,
                    // a stranger can be blocked by chat key
                    Err(e) => pfs_identity::parse_chat_key(who).map_err(|_| RpcError::from(e))?,
                };
                let engine = &mut self.client.device().engine;
                let r = match method {
                    "contacts.remove" => {
                        let removed = engine.remove_contact(&pk).map_err(CliError::from)?;
                        json!({"identity": key_hex(&pk), "removed": removed})
                    }
                    "contacts.block" => {
                        engine
                            .block_contact(&pk)
                            .map_err(|e| RpcError::new(code::REFUSED, e.to_string()))?;
                        json!({"identity": key_hex(&pk), "state": "blocked"})
                    }
                    "contacts.unblock" => {
                        engine
                            .unblock_contact(&pk)
                            .map_err(|e| RpcError::new(code::REFUSED, e.to_string()))?;
                        json!({"identity": key_hex(&pk), "state": "added"})
                    }
                    _ => {
                        let reset = engine.reset_sessions(&pk).map_err(CliError::from)?;
                        json!({"peer": key_hex(&pk), "reset": reset.len()})
                    }
                };
                Ok(r)
            }
            "send" => {
                let to = req_str(p, "to")?;
                let text = req_str(p, "text")?;
                let request = p
                    .get("contact_request")
                    .map(|v| {
                        v.as_bool()
                            .ok_or_else(|| RpcError::params("contact_request: a boolean"))
                    })
                    .transpose()?
                    .unwrap_or(false);
                let hold = p
                    .get("hold")
                    .map(|v| {
                        v.as_bool()
                            .ok_or_else(|| RpcError::params("hold: a boolean"))
                    })
                    .transpose()?
                    .unwrap_or(false);
                let pk = commands::resolve_contact(self.client.device(), to)?;
                if text.is_empty() {
                    return Err(RpcError::params("text: empty"));
                }
                if hold {
                    // sealed but not published: the caller delivers them (tests, pipes)
                    let core = self.client.core();
                    let report = if request {
                        core.send_contact_request(&pk, text)?
                    } else {
                        core.send_text(&pk, text)?
                    };
                    let held: Vec<String> = core
                        .take_messages()
                        .into_iter()
                        .map(|s| {
                            B64.encode(pfs_transport::waku::encode_message(&s.carried.message))
                        })
                        .collect();
                    return Ok(json!({
                        "message_ids": report.message_ids.iter().map(id_hex).collect::<Vec<_>>(),
                        "forward_secret": report.forward_secret,
                        "held": held,
                    }));
                }
                let report = if request {
                    self.client.send_contact_request(&pk, text)?
                } else {
                    self.client.send_text(&pk, text)?
                };
                Ok(json!({
                    "message_ids": report.message_ids.iter().map(id_hex).collect::<Vec<_>>(),
                    "forward_secret": report.forward_secret,
                    "published": report.published,
                    "relay_peers": report.relay_peers,
                    "unpublished": report.unpublished,
                }))
            }
            "receive" => {
                // one WakuMessage given by the caller (base64 protobuf, as `pfs send` prints)
                let b64 = req_str(p, "waku_message")?;
                let Some(parsed) = commands::decode_line(b64) else {
                    return Err(RpcError::params("waku_message: empty"));
                };
                let carried: CarriedMessage = parsed.map_err(RpcError::params)?;
                if !self.seen.insert(&carried.hash()) {
                    return Ok(json!({"duplicate": true}));
                }
                let events = self.client.handle(&carried)?;
                let n = events.len();
                events.into_iter().for_each(|e| self.event(e));
                Ok(json!({"duplicate": false, "events": n}))
            }
            "history" => {
                let since_ms = p
                    .get("since_ms")
                    .map(|v| {
                        v.as_i64()
                            .ok_or_else(|| RpcError::params("since_ms: an integer"))
                    })
                    .transpose()?
                    .unwrap_or(0);
                let n = self.catch_up(since_ms.saturating_mul(1_000_000));
                Ok(json!({"events": n}))
            }
            "unacknowledged" => Ok(json!({"count": self.client.unacknowledged()?})),
            "devices.list" => {
                let list = self
                    .client
                    .device()
                    .engine
                    .installations()
                    .map_err(CliError::from)?;
                Ok(Value::Array(
                    list.iter()
                        .map(|i| {
                            json!({
                                "identity": key_hex(&i.identity),
                                "installation_id": i.installation_id,
                                "enabled": i.enabled,
                                "stale": i.stale,
                                "timestamp": i.timestamp,
                            })
                        })
                        .collect(),
                ))
            }
            "sessions.list" => {
                let list = self
                    .client
                    .device()
                    .engine
                    .sessions()
                    .map_err(CliError::from)?;
                Ok(Value::Array(
                    list.iter()
                        .map(|s| {
                            json!({
                                "peer": key_hex(&s.peer),
                                "peer_installation": s.peer_installation,
                                "active": s.active,
                                "skipped_keys": s.skipped_keys,
                            })
                        })
                        .collect(),
                ))
            }
            "shutdown" => {
                self.stop = true;
                Ok(json!(true))
            }
            other => Err(RpcError::new(
                code::METHOD_NOT_FOUND,
                format!("no method {other:?} (see docs/json-rpc.md)"),
            )),
        }
    }
}

fn error_response(id: Value, e: &RpcError) -> Value {
    let mut err = json!({"code": e.code, "message": e.message});
    if let Some(f) = e.fault {
        err["data"] = json!({"fault": f});
    }
    json!({"jsonrpc": "2.0", "id": id, "error": err})
}

fn opt_str<'v>(p: &'v Value, key: &str) -> Result<Option<&'v str>, RpcError> {
    match p.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(RpcError::params(format!("{key}: a string"))),
    }
}

fn req_str<'v>(p: &'v Value, key: &str) -> Result<&'v str, RpcError> {
    opt_str(p, key)?.ok_or_else(|| RpcError::params(format!("{key}: missing")))
}

fn parse_id(s: &str) -> Result<[u8; 32], RpcError> {
    let h = s.strip_prefix("0x").unwrap_or(s);
    let v = hex::decode(h).map_err(|e| RpcError::params(format!("request_id: {e}")))?;
    v.try_into()
        .map_err(|_| RpcError::params("request_id: 32 bytes of hex"))
}
