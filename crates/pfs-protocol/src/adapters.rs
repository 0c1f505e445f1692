//! The engine's only contact points with `pfs-x3dh` and `pfs-ratchet`.

use crate::error::EngineError;
use pfs_crypto::secp256k1::{PublicKey, SecretKey};
use pfs_crypto::{RandomSource, SecretBytes};
use pfs_ratchet::{RatchetState, SuiteId};
use pfs_wire::pb;

/// One entry of a bundle: installation id, signed prekey, version, protocol version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BundleEntry {
    pub installation_id: String,
    pub spk: [u8; 33],
    pub version: u32,
    pub protocol_version: u32,
}

/// A verified bundle, reduced to what the engine uses.
#[derive(Debug, Clone)]
pub(crate) struct VerifiedBundle {
    pub identity: PublicKey,
    pub entries: Vec<BundleEntry>,
    pub timestamp: i64,
}

pub(crate) fn sign_bundle(
    identity: &SecretKey,
    entries: &[BundleEntry],
    timestamp: i64,
) -> Result<pb::Bundle, EngineError> {
    let mut list = Vec::with_capacity(entries.len());
    for e in entries {
        list.push(pfs_x3dh::BundleEntry {
            installation_id: pfs_x3dh::InstallationId::new(e.installation_id.clone())
                .map_err(|err| EngineError::Invalid(err.to_string()))?,
            signed_pre_key: PublicKey::from_compressed(&e.spk)?,
            version: e.version,
            protocol_version: e.protocol_version,
        });
    }
    let ikp = pfs_x3dh::IdentityKeyPair::from_secret(identity.clone());
    pfs_x3dh::sign_bundle(&ikp, &list, timestamp).map_err(|e| EngineError::Invalid(e.to_string()))
}

pub(crate) fn verify_bundle(bundle: &pb::Bundle) -> Result<VerifiedBundle, String> {
    let vb = pfs_x3dh::verify_bundle(bundle).map_err(|e| e.to_string())?;
    let entries = vb
        .entries()
        .iter()
        .map(|e| BundleEntry {
            installation_id: e.installation_id.as_str().to_owned(),
            spk: e.signed_pre_key.to_compressed(),
            version: e.version,
            protocol_version: e.protocol_version,
        })
        .collect();
    Ok(VerifiedBundle {
        identity: vb.identity().clone(),
        entries,
        timestamp: vb.timestamp_ns(),
    })
}

/// Active X3DH: returns SK and the ephemeral public key (the first key drawn from `rng`).
pub(crate) fn x3dh_initiate(
    me: &SecretKey,
    their_identity: &PublicKey,
    their_spk: &PublicKey,
    rng: &mut dyn RandomSource,
) -> Result<(SecretBytes<32>, PublicKey), EngineError> {
    let ikp = pfs_x3dh::IdentityKeyPair::from_secret(me.clone());
    let (sk, header) = pfs_x3dh::x3dh_initiate(&ikp, their_identity, their_spk, rng)
        .map_err(|e| EngineError::Invalid(e.to_string()))?;
    Ok((sk, header.ephemeral))
}

/// Passive X3DH.
pub(crate) fn x3dh_respond(
    me: &SecretKey,
    our_spk: &SecretKey,
    their_identity: &PublicKey,
    ephemeral: &PublicKey,
) -> SecretBytes<32> {
    let ikp = pfs_x3dh::IdentityKeyPair::from_secret(me.clone());
    pfs_x3dh::x3dh_respond(&ikp, our_spk, their_identity, ephemeral)
}

pub(crate) fn initiator_state(
    suite: SuiteId,
    sk: &SecretBytes<32>,
    their_spk: &PublicKey,
    rng: &mut dyn RandomSource,
) -> Result<RatchetState, EngineError> {
    let r = match suite {
        SuiteId::StatusGo => {
            RatchetState::new_status_go_initiator(sk, their_spk.as_compressed(), rng)
        }
        SuiteId::Spec => RatchetState::new_spec_initiator(sk, rng),
    };
    r.map_err(|e| EngineError::Invalid(e.to_string()))
}

pub(crate) fn responder_state(
    suite: SuiteId,
    sk: &SecretBytes<32>,
    our_spk: &SecretKey,
) -> Result<RatchetState, EngineError> {
    let r = match suite {
        SuiteId::StatusGo => RatchetState::new_status_go_responder(
            sk,
            pfs_ratchet::DhKeyPair {
                secret: our_spk.to_bytes(),
                public: our_spk.public_key().to_compressed().to_vec(),
            },
        ),
        SuiteId::Spec => RatchetState::new_spec_responder(sk),
    };
    r.map_err(|e| EngineError::Invalid(e.to_string()))
}

pub(crate) fn suite_code(id: SuiteId) -> u8 {
    match id {
        SuiteId::StatusGo => 1,
        SuiteId::Spec => 2,
    }
}

pub(crate) fn suite_from_code(code: u8) -> Result<SuiteId, EngineError> {
    match code {
        1 => Ok(SuiteId::StatusGo),
        2 => Ok(SuiteId::Spec),
        other => Err(EngineError::Corrupt(format!("unknown suite code {other}"))),
    }
}
