//! Managing contacts and sessions after the fact (issue 20): `pfs contacts remove`,
//! `block`, `unblock` and `pfs sessions reset`.
//!
//! * Removing a contact forgets its name and state (a block too). Its sessions, devices
//!   and bundle are kept: a later message from them is decrypted as before and makes
//!   them a contact request again. `pfs sessions reset` forgets the sessions as well.
//! * Blocking drops every message of theirs (contact requests too, unlike `decline`)
//!   without storing their bundles or answering; `unblock` makes them "added" again.
//! * Resetting deletes our sessions with a peer; the next message to them starts a new
//!   X3DH session from their bundle (or goes without forward secrecy when we have none).

use pfs_crypto::secp256k1::PublicKey;
use serde_json::json;

use crate::commands::{Ctx, display_name, resolve_contact};
use crate::device::Device;
use crate::error::CliError;
use crate::show::{key_hex, session_state, short_id};

/// A contact, or for `block` and `sessions reset` any chat key (a stranger, a removed
/// contact whose sessions were kept); never our own key.
fn resolve_any(device: &mut Device, id: &str, what: &str) -> Result<PublicKey, CliError> {
    let pk = match resolve_contact(device, id) {
        Ok(pk) => pk,
        Err(CliError::UnknownContact(_)) => pfs_identity::parse_chat_key(id.trim())
            .map_err(|_| CliError::UnknownContact(id.trim().to_owned()))?,
        Err(e) => return Err(e),
    };
    if pk == device.identity() {
        return Err(CliError::Usage(format!(
            "this is your own key: there is nothing to {what}"
        )));
    }
    Ok(pk)
}

/// How many of `pk`'s devices we know (enabled, not stale): with one, our next message is
/// forward secret.
fn known_devices(device: &mut Device, pk: &PublicKey) -> Result<usize, CliError> {
    Ok(device
        .engine
        .installations()?
        .iter()
        .filter(|i| i.identity == *pk && i.enabled && !i.stale)
        .count())
}

/// `pfs contacts remove`.
pub fn contacts_remove(ctx: &Ctx, id: &str) -> Result<(), CliError> {
    let mut device = ctx.open()?;
    let pk = resolve_contact(&mut device, id)?;
    if pk == device.identity() {
        return Err(CliError::Usage(
            "this is your own key, not a contact: there is nothing to remove".into(),
        ));
    }
    let name = display_name(&mut device, &pk);
    let sessions = device
        .engine
        .sessions()?
        .iter()
        .filter(|s| s.peer == pk)
        .count();
    if !device.engine.remove_contact(&pk)? {
        return Err(CliError::UnknownContact(key_hex(&pk)));
    }
    if ctx.json {
        ctx.emit(&json!({
            "type": "contact_removed",
            "contact": key_hex(&pk),
            "sessions_kept": sessions,
        }));
    } else {
        println!("removed {name}: its name and state are forgotten");
        if sessions > 0 {
            println!(
                "  its {sessions} session(s) are kept: a message from them is a contact request again (`pfs sessions reset {}` forgets them)",
                key_hex(&pk)
            );
        }
    }
    Ok(())
}

/// `pfs contacts block` (`block = true`) and `unblock`.
pub fn contacts_block(ctx: &Ctx, id: &str, block: bool) -> Result<(), CliError> {
    let mut device = ctx.open()?;
    let pk = if block {
        resolve_any(&mut device, id, "block")?
    } else {
        resolve_contact(&mut device, id)?
    };
    if block {
        device.engine.block_contact(&pk)?;
    } else {
        device.engine.unblock_contact(&pk)?;
    }
    let state = if block { "blocked" } else { "added" };
    if ctx.json {
        ctx.emit(&json!({ "type": "contact_state", "contact": key_hex(&pk), "state": state }));
    } else if block {
        println!(
            "blocked {}: every message of theirs is dropped, contact requests too",
            display_name(&mut device, &pk)
        );
    } else {
        println!(
            "unblocked {}: their messages are read again",
            display_name(&mut device, &pk)
        );
    }
    Ok(())
}

/// `pfs sessions reset`.
pub fn sessions_reset(ctx: &Ctx, id: &str) -> Result<(), CliError> {
    let mut device = ctx.open()?;
    let pk = resolve_any(&mut device, id, "reset")?;
    let name = display_name(&mut device, &pk);
    let reset = device.engine.reset_sessions(&pk)?;
    let forward_secret = known_devices(&mut device, &pk)? > 0;
    let they_started = reset.iter().filter(|s| !s.we_initiated).count();
    if ctx.json {
        let sessions: Vec<_> = reset
            .iter()
            .map(|s| {
                json!({
                    "peer_installation": s.peer_installation,
                    "active": s.active,
                    "we_initiated": s.we_initiated,
                    "created_at": s.created_at,
                    "last_used": s.last_used,
                    "skipped_keys": s.skipped_keys,
                })
            })
            .collect();
        ctx.emit(&json!({
            "type": "sessions_reset",
            "peer": key_hex(&pk),
            "peer_name": name,
            "reset": reset.len(),
            "sessions": sessions,
            "they_started": they_started,
            "next_forward_secret": forward_secret,
        }));
        return Ok(());
    }
    if reset.is_empty() {
        println!("no sessions with {name}: nothing to reset");
        return Ok(());
    }
    for s in &reset {
        println!(
            "reset session with {name} device {}  {}",
            short_id(s.peer_installation.as_str()),
            session_state(s)
        );
    }
    if they_started > 0 {
        println!(
            "{name} started {they_started} of these: their device keeps sending on its copy, which cannot be read here, until they reset it too (`pfs sessions reset` on their side)"
        );
    }
    if forward_secret {
        println!("your next message to {name} starts a new forward-secret session");
    } else {
        println!(
            "your next message to {name} is NOT forward secret: no bundle of theirs is known (add their contact code)"
        );
    }
    Ok(())
}
