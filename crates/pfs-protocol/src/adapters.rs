//! The engine's only contact points with `pfs-x3dh` and `pfs-ratchet`.

use crate::error::EngineError;
use pfs_crypto::secp256k1::{PublicKey, SecretKey};
use pfs_crypto::{RandomSource, SecretBytes};
use pfs_ratchet::{RatchetState, SuiteId};
use pfs_store::RatchetSuite;
use pfs_wire::pb;
use pfs_x3dh::{BundleEntry, IdentityKeyPair};

pub(crate) fn sign_bundle(
    identity: &IdentityKeyPair,
    entries: &[BundleEntry],
    timestamp: i64,
) -> Result<pb::Bundle, EngineError> {
    pfs_x3dh::sign_bundle(identity, entries, timestamp)
        .map_err(|e| EngineError::Invalid(e.to_string()))
}

/// Active X3DH: returns SK and the ephemeral public key (the first key drawn from `rng`).
pub(crate) fn x3dh_initiate(
    me: &IdentityKeyPair,
    their_identity: &PublicKey,
    their_spk: &PublicKey,
    rng: &mut dyn RandomSource,
) -> Result<(SecretBytes<32>, PublicKey), EngineError> {
    let (sk, header) = pfs_x3dh::x3dh_initiate(me, their_identity, their_spk, rng)
        .map_err(|e| EngineError::Invalid(e.to_string()))?;
    Ok((sk, header.ephemeral))
}

/// Passive X3DH.
pub(crate) fn x3dh_respond(
    me: &IdentityKeyPair,
    our_spk: &SecretKey,
    their_identity: &PublicKey,
    ephemeral: &PublicKey,
) -> SecretBytes<32> {
    pfs_x3dh::x3dh_respond(me, our_spk, their_identity, ephemeral)
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

/// The stored form of a suite.
pub(crate) fn stored_suite(id: SuiteId) -> RatchetSuite {
    match id {
        SuiteId::StatusGo => RatchetSuite::StatusGo,
        SuiteId::Spec => RatchetSuite::Spec,
    }
}

/// The suite of a stored session (one this version does not know is not used).
pub(crate) fn session_suite(stored: RatchetSuite) -> Result<SuiteId, EngineError> {
    match stored {
        RatchetSuite::StatusGo => Ok(SuiteId::StatusGo),
        RatchetSuite::Spec => Ok(SuiteId::Spec),
        RatchetSuite::Unknown(code) => Err(EngineError::Corrupt(format!(
            "session of unknown ratchet suite {code}"
        ))),
    }
}
