//! The HPKE and AES-GCM primitives under sealing and opening: the key types, a recipient,
//! the node identity, one `sealed_keys` row, and the AEAD both sides use. Both `seal` and the
//! keyring build on this; it imports neither.

use super::{CryptoError, Secret32};
use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use hpke::{Deserializable, Kem as _, Serializable};
use zeroize::Zeroizing;

pub type Kem = hpke::kem::X25519HkdfSha256;
pub(super) type Kdf = hpke::kdf::HkdfSha256;
pub(super) type HpkeAead = hpke::aead::AesGcm256;
pub type KemPrivate = <Kem as hpke::Kem>::PrivateKey;
pub type KemPublic = <Kem as hpke::Kem>::PublicKey;

pub const SCHEMA_VERSION: u8 = 1;
pub(super) const HPKE_INFO: &[u8] = b"tipline epoch v1";
pub(super) const NONCE_LEN: usize = 12;

/// Associated data binding a ciphertext to what it is, which object, under which key.
pub fn aad(kind: &str, object_id: &str, key_id: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(kind.len() + object_id.len() + key_id.len() + 16);
    for part in [kind.as_bytes(), object_id.as_bytes(), key_id.as_bytes()] {
        out.extend_from_slice(&(part.len() as u32).to_be_bytes());
        out.extend_from_slice(part);
    }
    out.push(SCHEMA_VERSION);
    out
}

/// AES-256-GCM with a random 96-bit nonce; output is `nonce || ciphertext || tag`.
pub fn aead_seal(key: &Secret32, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let cipher = Aes256Gcm::new(key.expose().into());
    let nonce_bytes = super::random_bytes::<NONCE_LEN>()?;
    let ct = cipher
        .encrypt(
            &Nonce::from(nonce_bytes),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .map_err(|_| CryptoError::Seal)?;
    let mut out = Vec::with_capacity(NONCE_LEN + ct.len());
    out.extend_from_slice(&nonce_bytes);
    out.extend_from_slice(&ct);
    Ok(out)
}

pub fn aead_open(
    key: &Secret32,
    aad: &[u8],
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    if sealed.len() < NONCE_LEN + 16 {
        return Err(CryptoError::Open);
    }
    let (nonce, ct) = sealed.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| CryptoError::Open)?;
    let cipher = Aes256Gcm::new(key.expose().into());
    cipher
        .decrypt(&Nonce::from(nonce), Payload { msg: ct, aad })
        .map(Zeroizing::new)
        .map_err(|_| CryptoError::Open)
}

/// One row of `sealed_keys`: a key sealed to a recipient (an HPKE key, or an epoch key).
#[derive(Clone, Debug)]
pub struct SealedKey {
    pub object_kind: String,
    pub object_id: String,
    pub recipient_key_id: String,
    /// HPKE encapsulated key; empty when the recipient is an epoch key.
    pub encapped: Vec<u8>,
    pub sealed_key: Vec<u8>,
}

/// A public key objects can be sealed to.
#[derive(Clone)]
pub struct Recipient {
    pub key_id: String,
    pub public: KemPublic,
}

/// The node's HPKE identity: it authenticates every epoch it seals (HPKE auth mode), so a
/// database writer without the node key cannot forge sealed tips.
#[derive(Clone)]
pub struct NodeIdentity {
    pub key_id: String,
    pub private: KemPrivate,
    pub public: KemPublic,
}

pub fn kem_keypair_from_seed(seed: &[u8; 32]) -> (KemPrivate, KemPublic) {
    Kem::derive_keypair(seed)
}

pub fn kem_public_from_bytes(b: &[u8]) -> Result<KemPublic, CryptoError> {
    KemPublic::from_bytes(b).map_err(|_| CryptoError::KeyMaterial("bad X25519 public key".into()))
}

pub fn kem_public_bytes(pk: &KemPublic) -> Vec<u8> {
    pk.to_bytes().to_vec()
}
