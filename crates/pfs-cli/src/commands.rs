//! The commands that work on a home: accounts, contacts, devices, send, receive, sessions.

use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use pfs_crypto::secp256k1::PublicKey;
use pfs_protocol::{Config, Outgoing, OutgoingKind, ReceiveError, SuiteId};
use pfs_store::{ContactState, InstallationId};
use serde_json::{Value, json};

use crate::device::{Device, now_ns, open_store};
use crate::error::CliError;
use crate::show::{Pictures, key_hex, short, short_id, time};
use pfs_app::messenger::Event as AppEvent;
use pfs_client::{ClientConfig, ClientEvent, Core, DropCause, Sealed, SkipReason};
use pfs_transport::transport::CarriedMessage;

/// Global options every command sees.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The home directory.
    pub home: PathBuf,
    /// One JSON object per result.
    pub json: bool,
    /// Bare-protocol mode (no application layer).
    pub raw: bool,
    /// Identity data directory.
    pub identity_data: Option<PathBuf>,
}

impl Ctx {
    /// The store file.
    pub fn store_path(&self) -> PathBuf {
        self.home.join("store.sqlite")
    }

    /// Prints one JSON object (in JSON mode).
    pub fn emit(&self, v: &Value) {
        println!("{v}");
    }

    /// The pictures context.
    pub fn pictures(&self) -> Result<Pictures, CliError> {
        Pictures::load(self.identity_data.as_ref())
    }

    /// Opens the home's account.
    pub fn open(&self) -> Result<Device, CliError> {
        let path = self.store_path();
        if !path.is_file() {
            return Err(CliError::NoAccount(self.home.clone()));
        }
        crate::home::warn_loose(&self.home, Some(&path), self.json);
        let pass = passphrase(&path, false)?;
        let store = open_store(&path, pass.as_bytes(), None).map_err(|e| match e {
            CliError::WrongPassphrase(_) => CliError::WrongPassphrase(self.home.clone()),
            CliError::Locked(_) => CliError::Locked(self.home.clone()),
            other => other,
        })?;
        match Device::open(Box::new(store), Config::default()) {
            Err(pfs_client::DeviceError::Engine(pfs_protocol::EngineError::NoAccount)) => {
                Err(CliError::NoAccount(self.home.clone()))
            }
            other => other.map_err(CliError::from),
        }
    }

    /// The client configuration of these options (`--raw`).
    pub fn client_config(&self) -> ClientConfig {
        ClientConfig {
            raw: self.raw,
            ..ClientConfig::default()
        }
    }

    /// Opens the home's account with its application layer.
    pub fn open_core(&self) -> Result<Core, CliError> {
        Ok(Core::new(self.open()?, self.client_config()))
    }

    /// Creates the home directory and a new store in it (refusing an existing one).
    fn create_store(&self) -> Result<pfs_store::SqliteStore, CliError> {
        let path = self.store_path();
        if path.exists() {
            return Err(CliError::AccountExists);
        }
        crate::home::create_home(&self.home, self.json)?;
        let pass = passphrase(&path, true)?;
        crate::home::create_private_file(&path)?;
        open_store(&path, pass.as_bytes(), None)
    }
}

/// The passphrase: `PFS_PASSPHRASE`, else asked on the terminal.
fn passphrase(path: &Path, confirm: bool) -> Result<String, CliError> {
    if let Ok(p) = std::env::var("PFS_PASSPHRASE") {
        if p.is_empty() {
            return Err(CliError::EmptyPassphrase);
        }
        return Ok(p);
    }
    let prompt = format!("passphrase for {}: ", path.display());
    let p = rpassword::prompt_password(prompt).map_err(|_| CliError::NoPassphrase)?;
    if p.is_empty() {
        return Err(CliError::EmptyPassphrase);
    }
    if confirm {
        let again = rpassword::prompt_password("same passphrase again: ")
            .map_err(|_| CliError::NoPassphrase)?;
        if again != p {
            return Err(CliError::PassphraseMismatch);
        }
    }
    Ok(p)
}

fn read_stdin(prompt: &str) -> Result<String, CliError> {
    let mut s = String::new();
    if std::io::stdin().is_terminal() {
        eprintln!("{prompt}");
        std::io::stdin()
            .lock()
            .read_line(&mut s)
            .map_err(|e| CliError::io("cannot read standard input", e))?;
    } else {
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| CliError::io("cannot read standard input", e))?;
    }
    Ok(s)
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    std::fs::write(path, bytes)
        .map_err(|e| CliError::io(format!("cannot write {}", path.display()), e))
}

// ---------------------------------------------------------------------------- accounts

/// `pfs init`.
pub fn init(ctx: &Ctx) -> Result<(), CliError> {
    let store = ctx.create_store()?;
    let (device, phrase) = Device::create(Box::new(store), Config::default())?;
    print_account(ctx, &device, Some(&phrase))
}

/// `pfs recover`.
pub fn recover(ctx: &Ctx) -> Result<(), CliError> {
    if ctx.store_path().exists() {
        return Err(CliError::AccountExists);
    }
    let phrase = if std::io::stdin().is_terminal() {
        // typed at a terminal: not echoed (the phrase is the whole account)
        rpassword::prompt_password(
            "type your 12-word recovery phrase (not shown) and press Enter: ",
        )
        .map_err(|e| CliError::io("cannot read the recovery phrase", e))?
    } else {
        read_stdin("")?
    };
    // Check the phrase before creating anything.
    pfs_x3dh::Mnemonic::parse(&phrase).map_err(CliError::Mnemonic)?;
    let store = ctx.create_store()?;
    let device = Device::recover(Box::new(store), Config::default(), &phrase)?;
    print_account(ctx, &device, None)
}

fn print_account(ctx: &Ctx, device: &Device, phrase: Option<&str>) -> Result<(), CliError> {
    let id = device.identity();
    if ctx.json {
        ctx.emit(&json!({
            "type": "account",
            "mnemonic": phrase,
            "chat_key": key_hex(&id),
            "zq3": pfs_identity::to_zq3(&id),
            "installation_id": device.installation_id(),
            "home": ctx.home.display().to_string(),
        }));
        return Ok(());
    }
    if let Some(phrase) = phrase {
        println!("Your recovery phrase (write it down now; it is shown only this once):");
        println!();
        println!("    {phrase}");
        println!();
    } else {
        println!("Account recovered as a new device (the peers learn it from your next messages).");
    }
    println!("chat key         {}", key_hex(&id));
    println!("zQ3 key          {}", pfs_identity::to_zq3(&id));
    println!("installation id  {}", device.installation_id());
    println!("home             {}", ctx.home.display());
    println!();
    println!("Next: `pfs contact-code` prints the code to give to your contacts.");
    Ok(())
}

/// `pfs whoami`.
pub fn whoami(ctx: &Ctx) -> Result<(), CliError> {
    let device = ctx.open()?;
    let pics = ctx.pictures()?;
    let id = device.identity();
    if ctx.json {
        ctx.emit(&json!({
            "type": "whoami",
            "installation_id": device.installation_id(),
            "visuals": pics.visuals(&id),
        }));
        return Ok(());
    }
    println!("installation id  {}", device.installation_id());
    print!("{}", pics.describe(&id, ""));
    Ok(())
}

/// `pfs contact-code`.
pub fn contact_code(
    ctx: &Ctx,
    qr: bool,
    png: Option<&Path>,
    svg: Option<&Path>,
) -> Result<(), CliError> {
    let mut device = ctx.open()?;
    let code = device.engine.contact_code()?;
    let q = if qr || png.is_some() || svg.is_some() {
        Some(pfs_x3dh::contact_code_qr(&code).map_err(|e| CliError::Other(e.to_string()))?)
    } else {
        None
    };
    if let (Some(q), Some(p)) = (&q, png) {
        let bytes = q.to_png(8).map_err(|e| CliError::Other(e.to_string()))?;
        write_file(p, &bytes)?;
    }
    if let (Some(q), Some(p)) = (&q, svg) {
        write_file(p, q.to_svg().as_bytes())?;
    }
    if ctx.json {
        ctx.emit(&json!({
            "type": "contact_code",
            "contact_code": code,
            "png": png.map(|p| p.display().to_string()),
            "svg": svg.map(|p| p.display().to_string()),
        }));
        return Ok(());
    }
    if let (true, Some(q)) = (qr, &q) {
        print!("{}", q.to_terminal_string());
    }
    println!("{code}");
    Ok(())
}

/// `pfs identicon`.
pub fn identicon(ctx: &Ctx, key: &str, png: Option<&Path>) -> Result<(), CliError> {
    let pics = ctx.pictures()?;
    let pk = pfs_identity::parse_chat_key(key)
        .map_err(|e| CliError::Usage(format!("{key:?} is not a chat key: {e}")))?;
    let v = pics.visuals(&pk);
    if let Some(p) = png {
        let bytes = v
            .identicon
            .to_png()
            .map_err(|e| CliError::Other(e.to_string()))?;
        write_file(p, &bytes)?;
    }
    if ctx.json {
        ctx.emit(&json!({ "type": "identicon", "png": png.map(|p| p.display().to_string()), "visuals": v }));
        return Ok(());
    }
    if let Some(p) = png {
        println!("wrote {}", p.display());
    }
    print!("{}", pics.describe(&pk, ""));
    Ok(())
}

// ---------------------------------------------------------------------------- contacts

/// The word for a contact state (as `contacts list --json` prints it).
pub fn state_label(s: ContactState) -> &'static str {
    state_name(s)
}

fn state_name(s: ContactState) -> &'static str {
    match s {
        ContactState::Added => "added",
        ContactState::RequestReceived => "request",
        ContactState::Accepted => "accepted",
        ContactState::Declined => "declined",
        ContactState::Blocked => "blocked",
    }
}

/// Resolves a chat key or a contact name to a known contact.
pub fn resolve_contact(device: &mut Device, text: &str) -> Result<PublicKey, CliError> {
    let contacts = device.engine.contacts()?;
    let text = text.trim();
    if let Ok(pk) = pfs_identity::parse_chat_key(text) {
        let me = device.identity();
        if pk == me || contacts.iter().any(|c| c.identity == pk.to_compressed()) {
            return Ok(pk);
        }
        return Err(CliError::UnknownContact(key_hex(&pk)));
    }
    let by_name: Vec<_> = contacts
        .iter()
        .filter(|c| {
            c.name
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(text))
        })
        .collect();
    match by_name.as_slice() {
        [one] => one
            .identity
            .to_public_key()
            .map_err(|e| CliError::Other(format!("stored contact key: {e}"))),
        [] if text.starts_with("0x") || text.starts_with("zQ3") => {
            Err(CliError::BadContactId(text.to_owned()))
        }
        [] => Err(CliError::UnknownContact(text.to_owned())),
        _ => Err(CliError::Usage(format!(
            "several contacts are named {text:?}: use the chat key"
        ))),
    }
}

/// The display name of a key: contact name, "you" or the short zQ3 key.
pub fn display_name(device: &mut Device, pk: &PublicKey) -> String {
    if *pk == device.identity() {
        return "you".to_owned();
    }
    let name = device.engine.contacts().ok().and_then(|cs| {
        cs.into_iter()
            .find(|c| c.identity == pk.to_compressed())
            .and_then(|c| c.name)
    });
    match name {
        Some(n) => format!("{n} ({})", short(pk)),
        None => short(pk),
    }
}

fn own_key_error() -> CliError {
    CliError::Usage(
        "this is your own key, not a contact (nothing was stored): to pair a device of yours use `pfs devices announce`".into(),
    )
}

/// Refuses `name` when a contact other than `pk` already has it (unless `force`).
fn check_name_free(
    device: &mut Device,
    name: &str,
    pk: Option<&PublicKey>,
    force: bool,
) -> Result<(), CliError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(CliError::Usage("the name must not be empty".into()));
    }
    if force {
        return Ok(());
    }
    let other = device.engine.contacts()?.into_iter().find(|c| {
        pk.is_none_or(|pk| c.identity != pk.to_compressed())
            && c.name
                .as_deref()
                .is_some_and(|n| n.trim().eq_ignore_ascii_case(name))
    });
    match other {
        Some(c) => {
            let who = c
                .identity
                .to_public_key()
                .map(|k| pfs_identity::to_zq3(&k))
                .unwrap_or_default();
            Err(CliError::Usage(format!(
                "another contact is already named {name:?} ({who}): choose another name, or add --force to allow the same name twice (then use chat keys to tell them apart)"
            )))
        }
        None => Ok(()),
    }
}

/// `pfs contacts add`.
pub fn contacts_add(
    ctx: &Ctx,
    code: &str,
    name: Option<&str>,
    force: bool,
) -> Result<(), CliError> {
    let mut device = ctx.open()?;
    let code = code.trim();
    // look at the key first: nothing is stored for our own key or a taken name
    let peek = pfs_identity::parse_chat_key(code).ok().or_else(|| {
        pfs_x3dh::parse_contact_code(code)
            .ok()
            .map(|vb| vb.identity().clone())
    });
    if peek.as_ref() == Some(&device.identity()) {
        return Err(own_key_error());
    }
    if let Some(n) = name {
        check_name_free(&mut device, n, peek.as_ref(), force)?;
    }
    let (pk, with_bundle) = if let Ok(pk) = pfs_identity::parse_chat_key(code) {
        device.engine.add_contact_key(&pk, name)?;
        (pk, false)
    } else {
        match device.engine.add_contact_code(code, name) {
            Ok(pk) => (pk, true),
            Err(ReceiveError::Local(e)) => return Err(CliError::Engine(e)),
            Err(e) => {
                return Err(CliError::BadCode(format!(
                    "not a valid contact code nor a chat key ({e}); a contact code is the base64 text `pfs contact-code` prints, a chat key looks like 0x04… or zQ3sh…"
                )));
            }
        }
    };
    if ctx.json {
        ctx.emit(&json!({
            "type": "contact_added",
            "added": key_hex(&pk),
            "zq3": pfs_identity::to_zq3(&pk),
            "name": name,
            "bundle": with_bundle,
        }));
        return Ok(());
    }
    println!("added {}", display_name(&mut device, &pk));
    if with_bundle {
        println!("their bundle is stored: your first message will be forward secret");
    } else {
        println!(
            "bare chat key: messages are NOT forward secret until a message from them brings their bundle"
        );
    }
    Ok(())
}

/// `pfs contacts list`.
pub fn contacts_list(ctx: &Ctx) -> Result<(), CliError> {
    let mut device = ctx.open()?;
    let pics = ctx.pictures()?;
    let contacts = device.engine.contacts()?;
    let installations = device.engine.installations()?;
    if contacts.is_empty() && !ctx.json {
        println!("no contacts yet: `pfs contacts add CODE` adds one");
    }
    for c in contacts {
        let pk = c
            .identity
            .to_public_key()
            .map_err(|e| CliError::Other(format!("stored contact key: {e}")))?;
        let pfs = device.engine.pfs_established(&pk)?;
        let devices = installations
            .iter()
            .filter(|i| i.identity == pk && i.enabled && !i.stale)
            .count();
        if ctx.json {
            ctx.emit(&json!({
                "type": "contact",
                "name": c.name,
                "state": state_name(c.state),
                "pfs_established": pfs,
                "devices": devices,
                "updated_at": c.updated_at,
                "visuals": pics.visuals(&pk),
            }));
            continue;
        }
        println!(
            "{}  [{}]  PFS {}  devices known: {devices}",
            c.name.as_deref().unwrap_or("(no name)"),
            state_name(c.state),
            if pfs {
                "established"
            } else {
                "not established"
            },
        );
        if c.state == ContactState::RequestReceived {
            println!(
                "  contact request: compare these pictures with theirs, then `pfs contacts accept {}` or `decline`",
                pfs_identity::to_zq3(&pk)
            );
        }
        print!("{}", pics.describe(&pk, "  "));
        println!();
    }
    Ok(())
}

/// `pfs contacts accept [--name]`.
pub fn contacts_accept(
    ctx: &Ctx,
    id: &str,
    name: Option<&str>,
    force: bool,
) -> Result<(), CliError> {
    let Some(name) = name else {
        return contacts_decide(ctx, id, true);
    };
    let mut device = ctx.open()?;
    let pk = resolve_contact(&mut device, id)?;
    if pk == device.identity() {
        return Err(own_key_error());
    }
    check_name_free(&mut device, name, Some(&pk), force)?;
    // naming goes through add (state "added"), then the state becomes "accepted"
    device.engine.add_contact_key(&pk, Some(name.trim()))?;
    device.engine.accept_contact(&pk)?;
    if ctx.json {
        ctx.emit(&json!({ "type": "contact_state", "contact": key_hex(&pk), "state": "accepted", "name": name.trim() }));
    } else {
        println!("accepted {}", display_name(&mut device, &pk));
    }
    Ok(())
}

/// `pfs contacts rename`: a new local name, the state kept.
pub fn contacts_rename(ctx: &Ctx, id: &str, name: &str, force: bool) -> Result<(), CliError> {
    let mut device = ctx.open()?;
    let pk = resolve_contact(&mut device, id)?;
    let Some(contact) = device
        .engine
        .contacts()?
        .into_iter()
        .find(|c| c.identity == pk.to_compressed())
    else {
        return Err(CliError::UnknownContact(key_hex(&pk)));
    };
    if contact.state == ContactState::RequestReceived {
        return Err(CliError::Usage(format!(
            "this is a contact request: accept it and name it at once with `pfs contacts accept {} --name NAME`",
            pfs_identity::to_zq3(&pk)
        )));
    }
    check_name_free(&mut device, name, Some(&pk), force)?;
    let old = display_name(&mut device, &pk);
    device.engine.add_contact_key(&pk, Some(name.trim()))?;
    match contact.state {
        ContactState::Accepted => device.engine.accept_contact(&pk)?,
        ContactState::Declined => device.engine.decline_contact(&pk)?,
        ContactState::Blocked => device.engine.block_contact(&pk)?,
        ContactState::Added | ContactState::RequestReceived => {}
    }
    if ctx.json {
        ctx.emit(&json!({
            "type": "contact_state",
            "contact": key_hex(&pk),
            "name": name.trim(),
            "state": state_name(contact.state),
        }));
    } else {
        println!("renamed {old} to {}", display_name(&mut device, &pk));
    }
    Ok(())
}

/// `pfs contacts accept|decline`.
pub fn contacts_decide(ctx: &Ctx, id: &str, accept: bool) -> Result<(), CliError> {
    let mut core = ctx.open_core()?;
    let pk = resolve_contact(core.device(), id)?;
    let told = if accept {
        // a request that came as a Status message is answered as a Status app does
        core.accept_contact(&pk)?.is_some()
    } else {
        core.device().engine.decline_contact(&pk)?;
        false
    };
    let sealed = core.take_messages();
    let device = core.device();
    let what = if accept { "accepted" } else { "declined" };
    if ctx.json {
        ctx.emit(&json!({ "type": "contact_state", "contact": key_hex(&pk), "state": what, "told": told }));
    } else {
        println!("{what} {}", display_name(device, &pk));
    }
    if told {
        emit_sealed(ctx, device, &sealed, true);
        if !ctx.json {
            eprintln!(
                "→ {}: your acceptance (AcceptContactRequest + ContactUpdate): give the line(s) above to their `pfs receive`",
                display_name(device, &pk)
            );
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------- devices

fn own_installations(device: &mut Device) -> Result<Vec<pfs_protocol::InstallationView>, CliError> {
    let me = device.identity();
    Ok(device
        .engine
        .installations()?
        .into_iter()
        .filter(|i| i.identity == me)
        .collect())
}

fn resolve_device(device: &mut Device, id: &str) -> Result<InstallationId, CliError> {
    let mine = device.installation_id();
    let matches: Vec<InstallationId> = own_installations(device)?
        .into_iter()
        .map(|i| i.installation_id)
        .filter(|i| i.as_str().starts_with(id) && *i != mine)
        .collect();
    match matches.as_slice() {
        [one] => Ok(one.clone()),
        [] if mine.as_str().starts_with(id) => Err(CliError::Usage(
            "that is this device; approve or disable your other devices".into(),
        )),
        [] => Err(CliError::UnknownDevice(id.to_owned())),
        _ => Err(CliError::AmbiguousDevice(id.to_owned())),
    }
}

/// The file listing the devices the user disabled (the store only keeps "enabled", so a
/// disabled device would otherwise look like one awaiting approval).
fn disabled_file(ctx: &Ctx) -> PathBuf {
    ctx.home.join("disabled-devices")
}

fn disabled_devices(ctx: &Ctx) -> Vec<String> {
    std::fs::read_to_string(disabled_file(ctx))
        .map(|s| s.lines().map(str::to_owned).collect())
        .unwrap_or_default()
}

fn mark_disabled(ctx: &Ctx, id: &str, disabled: bool) -> Result<(), CliError> {
    let mut list: Vec<String> = disabled_devices(ctx)
        .into_iter()
        .filter(|i| i != id)
        .collect();
    if disabled {
        list.push(id.to_owned());
    }
    let mut text = list.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    crate::home::write_private(&disabled_file(ctx), text.as_bytes())
}

fn device_state(
    i: &pfs_protocol::InstallationView,
    mine: &InstallationId,
    disabled: &[String],
) -> &'static str {
    if i.installation_id == *mine {
        "this device"
    } else if i.stale {
        "stale"
    } else if i.enabled {
        "enabled"
    } else if disabled.iter().any(|d| i.installation_id == *d) {
        "disabled"
    } else {
        "pending approval"
    }
}

/// `pfs devices list`.
pub fn devices_list(ctx: &Ctx) -> Result<(), CliError> {
    let mut device = ctx.open()?;
    let mine = device.installation_id();
    let mut list = own_installations(&mut device)?;
    if !list.iter().any(|i| i.installation_id == mine) {
        list.insert(
            0,
            pfs_protocol::InstallationView {
                identity: device.identity(),
                installation_id: device.engine.installation().clone(),
                timestamp: 0,
                enabled: true,
                protocol_version: device.engine.config().protocol_version,
                stale: false,
            },
        );
    }
    let disabled = disabled_devices(ctx);
    for i in &list {
        let state = device_state(i, &mine, &disabled);
        if ctx.json {
            ctx.emit(&json!({
                "type": "device",
                "installation_id": i.installation_id,
                "state": state,
                "enabled": i.enabled,
                "stale": i.stale,
                "last_active": i.timestamp,
                "protocol_version": i.protocol_version,
            }));
        } else {
            let seen = if i.timestamp > 0 {
                format!("last active {}", time(i.timestamp))
            } else {
                String::new()
            };
            println!("{}  {state:<16}  {seen}", i.installation_id);
        }
    }
    if !ctx.json
        && list
            .iter()
            .any(|i| device_state(i, &mine, &disabled) == "pending approval")
    {
        println!("approve a pending device with `pfs devices approve ID` (an id prefix is enough)");
    }
    Ok(())
}

/// `pfs devices approve|disable`.
pub fn devices_set(ctx: &Ctx, id: &str, enable: bool) -> Result<(), CliError> {
    let mut device = ctx.open()?;
    let full = resolve_device(&mut device, id)?;
    if enable {
        device.engine.enable_installation(&full)?;
    } else {
        device.engine.disable_installation(&full)?;
    }
    mark_disabled(ctx, full.as_str(), !enable)?;
    let what = if enable { "approved" } else { "disabled" };
    if ctx.json {
        ctx.emit(&json!({ "type": "device_state", "installation_id": full, "state": what }));
    } else {
        println!("{what} {full}");
    }
    Ok(())
}

/// `pfs devices announce`: a message carrying our bundle to our own identity.
pub fn devices_announce(ctx: &Ctx) -> Result<Vec<CarriedMessage>, CliError> {
    let mut device = ctx.open()?;
    let me = device.identity();
    let out = device.engine.encrypt_for(&me, &[], false)?;
    let messages = emit_messages(ctx, &mut device, &[out], true)?;
    if !ctx.json {
        eprintln!(
            "announce message for your other devices: give it to `pfs receive` on the other device, then approve each device on the other"
        );
    }
    Ok(messages)
}

// ---------------------------------------------------------------------------- send

fn kind_name(k: OutgoingKind) -> &'static str {
    match k {
        OutgoingKind::Message => "message",
        OutgoingKind::OwnDevicesCopy => "own-devices-copy",
        OutgoingKind::BundleReply => "bundle-reply",
        OutgoingKind::Public => "public",
    }
}

/// Seals engine messages into WakuMessages on the default pubsub topic; a refusal (size)
/// seals nothing.
fn seal_all(device: &mut Device, outs: &[Outgoing]) -> Result<Vec<Sealed>, CliError> {
    let now = now_ns();
    let mut sealed = Vec::with_capacity(outs.len());
    for out in outs {
        sealed.push(Sealed {
            carried: CarriedMessage::on_default_shard(device.seal(out, now)?),
            kind: out.kind,
            recipient: out.recipient.clone(),
            entries: out.entries.clone(),
            forward_secret: out.forward_secret,
        });
    }
    Ok(sealed)
}

/// Prints sealed WakuMessages (one base64 line of the WakuMessage protobuf each, or a JSON
/// object) when `print`; returns the messages.
pub fn emit_sealed(
    ctx: &Ctx,
    device: &mut Device,
    sealed: &[Sealed],
    print: bool,
) -> Vec<CarriedMessage> {
    for m in sealed.iter().filter(|_| print) {
        let b64 = B64.encode(pfs_transport::waku::encode_message(&m.carried.message));
        if ctx.json {
            ctx.emit(&json!({
                "type": "waku_message",
                "waku_message": b64,
                "pubsub_topic": m.carried.pubsub_topic,
                "content_topic": m.carried.content_topic(),
                "recipient": key_hex(&m.recipient),
                "kind": kind_name(m.kind),
                "forward_secret": m.forward_secret,
                "installations": m.entries,
                "hash": hex::encode(m.carried.hash()),
            }));
        } else {
            if m.kind == OutgoingKind::BundleReply {
                let to = display_name(device, &m.recipient);
                println!("# bundle reply to {to}: give the next line to their `pfs receive`");
            }
            println!("{b64}");
        }
    }
    let _ = std::io::stdout().flush();
    sealed.iter().map(|m| m.carried.clone()).collect()
}

/// Seals engine messages and prints them (see [`emit_sealed`]).
pub fn emit_messages(
    ctx: &Ctx,
    device: &mut Device,
    outs: &[Outgoing],
    print: bool,
) -> Result<Vec<CarriedMessage>, CliError> {
    let sealed = seal_all(device, outs)?;
    Ok(emit_sealed(ctx, device, &sealed, print))
}

/// Room a text leaves for the protocol message, padding, signature and ECIES around it.
const SEAL_OVERHEAD: usize = 8 * 1024;

/// Encrypts a message (through the Status application layer unless `--raw`) and returns
/// the sealed WakuMessages (printed when `print`).
pub fn send_message(
    ctx: &Ctx,
    core: &mut Core,
    to: &PublicKey,
    text: &str,
    request: bool,
    print: bool,
) -> Result<Vec<CarriedMessage>, CliError> {
    // refuse before the ratchet advances: a text that cannot fit is never encrypted
    if text.len() + SEAL_OVERHEAD > crate::device::MAX_MESSAGE_SIZE {
        return Err(CliError::TooLarge {
            size: text.len() + SEAL_OVERHEAD,
            max: crate::device::MAX_MESSAGE_SIZE,
        });
    }
    let chars = text.chars().count();
    if !ctx.raw && chars > pfs_app::chat::MAX_TEXT_CHARS {
        return Err(CliError::Usage(format!(
            "the text has {chars} characters; a Status message holds at most {} (use --raw for longer bare-protocol messages)",
            pfs_app::chat::MAX_TEXT_CHARS
        )));
    }
    let device = core.device();
    if *to == device.identity() {
        let mine = device.installation_id();
        let paired = own_installations(device)?
            .iter()
            .filter(|i| i.enabled && !i.stale && i.installation_id != mine)
            .count();
        if paired == 0 {
            return Err(CliError::Usage(
                "that is your own key and you have no paired device to send to (nothing was sent): pair one with `pfs devices announce` and `pfs devices approve`".into(),
            ));
        }
    }
    let report = if request {
        core.send_contact_request(to, text)
    } else {
        core.send_text(to, text)
    };
    let sealed = core.take_messages();
    let report = report?;
    let device = core.device();
    // printed first: a refusal above printed nothing, not even the notes below
    let messages = emit_sealed(ctx, device, &sealed, print);
    if !ctx.json {
        let name = display_name(device, to);
        let mut kinds_seen = Vec::new();
        for o in &sealed {
            // one note per message, not per segment
            if kinds_seen.contains(&o.kind) {
                continue;
            }
            kinds_seen.push(o.kind);
            let who = if o.kind == OutgoingKind::OwnDevicesCopy && *to != device.identity() {
                format!("your other devices (copy of your message to {name})")
            } else if o.kind == OutgoingKind::OwnDevicesCopy {
                "your other devices".to_owned()
            } else {
                name.clone()
            };
            eprintln!(
                "→ {who}: {} device(s), {}",
                o.entries.iter().filter(|e| *e != "none").count(),
                if o.forward_secret {
                    "forward secret"
                } else {
                    "NOT forward secret (no bundle of theirs yet)"
                }
            );
        }
        if let Some(id) = report.message_ids.first() {
            eprintln!(
                "message id {} (Status application layer; kept until {name} acknowledges it)",
                pfs_app::messenger::id_hex(id)
            );
        }
    }
    Ok(messages)
}

/// `pfs send` (pipe mode).
pub fn send(ctx: &Ctx, to: &str, message: Option<String>, request: bool) -> Result<(), CliError> {
    let mut core = ctx.open_core()?;
    let pk = resolve_contact(core.device(), to)?;
    let text = match message {
        Some(m) => m,
        None => read_stdin("type the message, end with Ctrl-D:")?,
    };
    let text = text.trim_end_matches('\n');
    if text.is_empty() {
        return Err(CliError::Usage("the message is empty".into()));
    }
    send_message(ctx, &mut core, &pk, text, request, true)?;
    Ok(())
}

// ---------------------------------------------------------------------------- receive

/// What became of one received message.
#[derive(Debug)]
pub enum Outcome {
    /// Delivered.
    Delivered,
    /// Not for us or our own echo: ignored.
    Skipped,
    /// Could not be delivered, not an error of the reader (bundle reply sent, declined).
    Noted,
    /// A real failure (corrupt, forged, replayed).
    Failed,
}

/// What the engine said about the message being shown.
struct Meta {
    from: PublicKey,
    installation: Option<InstallationId>,
    forward_secret: bool,
    pfs_established: bool,
    contact_request: bool,
    sent_ns: i64,
    new_installations: Vec<(PublicKey, InstallationId)>,
}

impl Meta {
    /// The sending installation as printed (empty when the message named none).
    fn installation(&self) -> &str {
        self.installation
            .as_ref()
            .map_or("", InstallationId::as_str)
    }
}

/// Processes one message: opens it, decrypts it, runs the application layer, prints the
/// result. Returns what happened and the replies to send (acknowledgements, bundle
/// replies), sealed.
pub fn receive_one(
    ctx: &Ctx,
    core: &mut Core,
    label: &str,
    message: &CarriedMessage,
) -> (Outcome, Vec<Sealed>) {
    let own_before = own_installations(core.device())
        .map(|v| v.len())
        .unwrap_or(0);
    let events = match core.handle(message) {
        Ok(e) => e,
        Err(e) => {
            note(ctx, label, "error", &e.to_string());
            return (Outcome::Failed, core.take_messages());
        }
    };
    let mut outcome = Outcome::Skipped;
    let mut meta: Option<Meta> = None;
    for event in events {
        let device = core.device();
        match event {
            ClientEvent::Skipped { reason } => {
                let text = match reason {
                    SkipReason::NotForUs => "not for us (another identity's message)",
                    SkipReason::OwnEcho => "our own message (sent by this device)",
                    SkipReason::SegmentHeld => {
                        "one segment of a large message, kept until the others arrive"
                    }
                    SkipReason::HashRatchet => "a community (hash-ratchet) message, not shown",
                };
                note(ctx, label, "skipped", text);
            }
            ClientEvent::Dropped { from, cause, .. } => {
                let (kind, o) = match &cause {
                    DropCause::Engine(e) if e.wants_bundle_reply() => {
                        ("undelivered", Outcome::Noted)
                    }
                    DropCause::Engine(ReceiveError::Declined | ReceiveError::Blocked) => {
                        ("dropped", Outcome::Noted)
                    }
                    _ => ("error", Outcome::Failed),
                };
                let text = match &from {
                    Some(f) => format!("message from {}: {cause}", display_name(device, f)),
                    None => cause.to_string(),
                };
                note(ctx, label, kind, &text);
                outcome = o;
            }
            ClientEvent::Received {
                from,
                installation,
                forward_secret,
                pfs_established,
                contact_request,
                sent_ns,
            } => {
                outcome = Outcome::Delivered;
                meta = Some(Meta {
                    from,
                    installation,
                    forward_secret,
                    pfs_established,
                    contact_request,
                    sent_ns,
                    new_installations: Vec::new(),
                });
            }
            ClientEvent::DevicesSeen { installations } => {
                if let Some(m) = meta.as_mut() {
                    m.new_installations = installations;
                }
            }
            ClientEvent::BundleReceived { .. } => {
                if let Some(m) = &meta {
                    print_bundle(ctx, device, m);
                }
            }
            ClientEvent::Raw { plaintext, .. } => {
                if let Some(m) = &meta {
                    let text = String::from_utf8_lossy(&plaintext).into_owned();
                    print_text(ctx, device, m, &text, None, None, false);
                }
            }
            ClientEvent::App(e) => {
                if let Some(o) = print_app_event(ctx, device, label, meta.as_ref(), e) {
                    outcome = o;
                }
            }
            ClientEvent::GroupKeys { from, keys } => note(
                ctx,
                label,
                "group-keys",
                &format!(
                    "{} community key(s) from {} (not used by 1:1 chats)",
                    keys.len(),
                    display_name(device, &from)
                ),
            ),
            _ => {}
        }
    }
    // new devices of ours (an announce, or any message from a new device of ours)
    let device = core.device();
    if meta.as_ref().is_some_and(|m| m.from == device.identity())
        && !ctx.json
        && let Ok(list) = own_installations(device)
        && list.len() > own_before
    {
        let mine = device.installation_id();
        for i in list
            .iter()
            .filter(|i| !i.enabled && i.installation_id != mine)
        {
            eprintln!(
                "new device of yours awaiting approval: {} (`pfs devices approve {}`)",
                i.installation_id,
                short_id(i.installation_id.as_str())
            );
        }
    }
    (outcome, core.take_messages())
}

/// Prints one application-layer event; returns a changed outcome for refusals.
fn print_app_event(
    ctx: &Ctx,
    device: &mut Device,
    label: &str,
    meta: Option<&Meta>,
    event: AppEvent,
) -> Option<Outcome> {
    match event {
        AppEvent::Text { id, message, .. } => {
            if let Some(m) = meta {
                let recipient = chat_recipient(device, m, &message.chat_id);
                print_text(ctx, device, m, &message.text, Some(&id), recipient, false);
            }
        }
        AppEvent::ContactRequest { id, message, .. } => {
            if let Some(m) = meta {
                print_text(ctx, device, m, &message.text, Some(&id), None, true);
            }
        }
        AppEvent::Delivered { from, message_ids } => {
            let name = display_name(device, &from);
            if ctx.json {
                ctx.emit(&json!({
                    "type": "delivered",
                    "from": key_hex(&from),
                    "from_name": name,
                    "message_ids": message_ids.iter().map(pfs_app::messenger::id_hex).collect::<Vec<_>>(),
                }));
            } else {
                eprintln!(
                    "{label}: {name} acknowledged {} message(s) of yours",
                    message_ids.len()
                );
            }
        }
        AppEvent::ContactAccepted { from, .. } => {
            let name = display_name(device, &from);
            if ctx.json {
                ctx.emit(
                    &json!({"type": "contact_accepted", "from": key_hex(&from), "from_name": name}),
                );
            } else {
                println!("{name} accepted your contact request");
            }
        }
        AppEvent::ContactRetracted { from } => {
            let name = display_name(device, &from);
            if ctx.json {
                ctx.emit(&json!({"type": "contact_retracted", "from": key_hex(&from), "from_name": name}));
            } else {
                println!("{name} retracted their contact request");
            }
        }
        AppEvent::ContactUpdate { from, update } if ctx.json => {
            ctx.emit(&json!({
                "type": "contact_update",
                "from": key_hex(&from),
                "display_name": update.display_name,
                "contact_request_state": update.contact_request_propagated_state.map(|s| s.local_state),
            }));
        }
        AppEvent::ContactCode { from, .. } => note(
            ctx,
            label,
            "contact-code",
            &format!(
                "contact-code advertisement of {}",
                display_name(device, &from)
            ),
        ),
        AppEvent::Unsupported {
            from,
            type_number,
            content_type,
            ..
        } => note(
            ctx,
            label,
            "unsupported",
            &format!(
                "a Status message of type {type_number}{} from {}, not shown by this tool",
                content_type
                    .map(|c| format!(" (content type {c})"))
                    .unwrap_or_default(),
                display_name(device, &from)
            ),
        ),
        AppEvent::Refused { from, reason } => {
            note(
                ctx,
                label,
                "error",
                &format!(
                    "message from {} refused: {reason}",
                    display_name(device, &from)
                ),
            );
            return Some(Outcome::Failed);
        }
        _ => {}
    }
    None
}

/// For a copy sent by one of our other devices: who the message was for (its chat id).
fn chat_recipient(device: &mut Device, meta: &Meta, chat_id: &str) -> Option<String> {
    if meta.from != device.identity() {
        return None;
    }
    let hex = chat_id.strip_prefix("0x")?;
    let bytes = hex::decode(hex).ok()?;
    let pk = PublicKey::from_sec1(&bytes).ok()?;
    Some(display_name(device, &pk))
}

/// A note about one input: text on stderr; with --json one object on stdout (with the
/// results) and the same object on stderr, which then carries only JSON.
fn note(ctx: &Ctx, label: &str, kind: &str, text: &str) {
    if ctx.json {
        let v = json!({ "type": kind, "input": label, "note": text });
        ctx.emit(&v);
        eprintln!("{v}");
        return;
    }
    eprintln!("{label}: {kind}: {text}");
}

fn suite_name(s: Option<SuiteId>) -> Option<&'static str> {
    s.map(|s| match s {
        SuiteId::StatusGo => "status-go (secp256k1)",
        SuiteId::Spec => "spec (X25519)",
    })
}

fn print_bundle(ctx: &Ctx, device: &mut Device, m: &Meta) {
    let from = display_name(device, &m.from);
    if ctx.json {
        ctx.emit(&json!({
            "type": "message",
            "kind": "bundle-only",
            "sender": key_hex(&m.from),
            "sender_name": from,
            "installation": m.installation(),
            "pfs_established": m.pfs_established,
            "sent_unix_ms": m.sent_ns / 1_000_000,
            "new_installations": m.new_installations.iter().map(|(k, i)| json!({"identity": key_hex(k), "installation": i})).collect::<Vec<_>>(),
        }));
        return;
    }
    println!(
        "bundle from {from} (device {}): stored; PFS {}",
        short_id(m.installation()),
        if m.pfs_established {
            "established"
        } else {
            "not established yet"
        }
    );
}

fn print_text(
    ctx: &Ctx,
    device: &mut Device,
    m: &Meta,
    text: &str,
    id: Option<&[u8; 32]>,
    recipient: Option<String>,
    request: bool,
) {
    let request = request || m.contact_request;
    if ctx.json {
        ctx.emit(&json!({
            "type": "message",
            "kind": "direct",
            "layer": if id.is_some() { "status" } else { "raw" },
            "id": id.map(pfs_app::messenger::id_hex),
            "sender": key_hex(&m.from),
            "sender_zq3": pfs_identity::to_zq3(&m.from),
            "sender_name": display_name(device, &m.from),
            "installation": m.installation(),
            "forward_secret": m.forward_secret,
            "contact_request": request,
            "pfs_established": m.pfs_established,
            "recipient_name": recipient,
            "text": text,
            "sent_unix_ms": m.sent_ns / 1_000_000,
            "new_installations": m.new_installations.iter().map(|(k, i)| json!({"identity": key_hex(k), "installation": i})).collect::<Vec<_>>(),
        }));
        return;
    }
    let from = display_name(device, &m.from);
    let sent = if m.sent_ns > 0 {
        format!("sent {} UTC", time(m.sent_ns))
    } else {
        "no send time".to_owned()
    };
    let copy = match (&recipient, m.from == device.identity()) {
        (Some(to), _) => format!(" · (copy of your message to {to}, sent from your other device)"),
        (None, true) => " · (copy of a message sent from your other device)".to_owned(),
        _ => String::new(),
    };
    println!(
        "from {from} · {sent} · device {} · forward secret: {} · contact request: {}{copy}",
        short_id(m.installation()),
        if m.forward_secret { "yes" } else { "no" },
        if request { "YES" } else { "no" },
    );
    for line in text.lines() {
        println!("  {line}");
    }
    if request {
        println!(
            "  (contact request: check `pfs contacts list`, then `pfs contacts accept {}` or `decline`)",
            pfs_identity::to_zq3(&m.from)
        );
    }
}

/// Decodes one input line (base64 of a WakuMessage protobuf) into a message on the
/// default pubsub topic (`None` for blank and `#` lines).
pub fn decode_line(line: &str) -> Option<Result<CarriedMessage, String>> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    Some(
        B64.decode(line)
            .map_err(|e| format!("corrupt message: not base64 ({e})"))
            .and_then(|bytes| {
                pfs_transport::waku::decode_message(&bytes, crate::device::MAX_MESSAGE_SIZE + 1024)
                    .map_err(|e| format!("corrupt message: {e}"))
            })
            .map(CarriedMessage::on_default_shard),
    )
}

/// Where `pfs receive` puts the bundle replies in text mode.
enum ReplySink {
    /// Standard error, each line after a `#` note.
    Stderr,
    /// A file (appended), one line each.
    File(PathBuf, std::fs::File),
}

impl ReplySink {
    fn open(path: Option<&Path>) -> Result<Self, CliError> {
        let Some(p) = path else {
            return Ok(Self::Stderr);
        };
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .map_err(|e| CliError::io(format!("cannot open {}", p.display()), e))?;
        Ok(Self::File(p.to_path_buf(), f))
    }

    fn write(&mut self, note: &str, line: &str) -> Result<(), CliError> {
        match self {
            Self::Stderr => {
                eprintln!(
                    "# {note}: give the next line to their `pfs receive` (or use --replies FILE)"
                );
                eprintln!("{line}");
                Ok(())
            }
            Self::File(p, f) => {
                eprintln!("{note}: written to {}", p.display());
                writeln!(f, "{line}")
                    .and_then(|()| f.flush())
                    .map_err(|e| CliError::io(format!("cannot write {}", p.display()), e))
            }
        }
    }
}

/// `pfs receive` (pipe mode): messages on stdout, bundle replies on stderr or in
/// `replies` (JSON mode: everything on stdout, one object each).
pub fn receive(ctx: &Ctx, replies_to: Option<&Path>) -> Result<(), CliError> {
    let mut core = ctx.open_core()?;
    let mut sink = ReplySink::open(replies_to)?;
    let mut failed = 0usize;
    let mut input = std::io::stdin().lock();
    let mut raw = Vec::new();
    let mut n = 0usize;
    loop {
        raw.clear();
        let got = input
            .read_until(b'\n', &mut raw)
            .map_err(|e| CliError::io("cannot read standard input", e))?;
        if got == 0 {
            break;
        }
        n += 1;
        let label = format!("line {n}");
        let Ok(line) = std::str::from_utf8(&raw) else {
            note(
                ctx,
                &label,
                "error",
                "corrupt message: not UTF-8 text (skipped)",
            );
            failed += 1;
            continue;
        };
        match decode_line(line) {
            None => {}
            Some(Err(e)) => {
                note(ctx, &label, "error", &e);
                failed += 1;
            }
            Some(Ok(message)) => {
                let (outcome, replies) = receive_one(ctx, &mut core, &label, &message);
                if let Outcome::Failed = outcome {
                    failed += 1;
                }
                if replies.is_empty() {
                    continue;
                }
                emit_sealed(ctx, core.device(), &replies, ctx.json);
                if ctx.json {
                    continue;
                }
                for out in &replies {
                    let to = display_name(core.device(), &out.recipient);
                    let b64 = B64.encode(pfs_transport::waku::encode_message(&out.carried.message));
                    let what = if out.kind == OutgoingKind::BundleReply {
                        "bundle reply"
                    } else {
                        "acknowledgement"
                    };
                    sink.write(&format!("{what} to {to}"), &b64)?;
                }
            }
        }
    }
    if failed > 0 {
        return Err(CliError::Undelivered(failed));
    }
    Ok(())
}

// ---------------------------------------------------------------------------- sessions

/// `pfs sessions`.
pub fn sessions(ctx: &Ctx) -> Result<(), CliError> {
    let mut device = ctx.open()?;
    let list = device.engine.sessions()?;
    if list.is_empty() && !ctx.json {
        println!("no sessions yet");
    }
    for s in list {
        let peer = display_name(&mut device, &s.peer);
        let suite = suite_name(Some(s.suite)).unwrap_or("");
        if ctx.json {
            ctx.emit(&json!({
                "type": "session",
                "peer": key_hex(&s.peer),
                "peer_name": peer,
                "peer_installation": s.peer_installation,
                "suite": suite,
                "active": s.active,
                "we_initiated": s.we_initiated,
                "created_at": s.created_at,
                "last_used": s.last_used,
                "expired_at": s.expired_at,
                "skipped_keys": s.skipped_keys,
            }));
        } else {
            println!(
                "{peer} device {}  {suite}  {}",
                short_id(s.peer_installation.as_str()),
                crate::show::session_state(&s)
            );
        }
    }
    Ok(())
}
