//! The reporter's reply key (DESIGN.md section 2): an X25519 keypair derived from the receipt
//! and the reply pepper. Only its public half is stored (on the tip), so what is sealed to it
//! opens only for someone who presents the receipt, on a node that holds the pepper.
//! Objects sealed to it are rare (claim codes, messages), so each gets a full HPKE seal.

use super::keyring::Keyring;
use super::receipt::Receipt;
use super::seal::{
    Opener, Recipient, SealedKey, Sealer, aad, aead_open, aead_seal, kem_keypair_from_seed,
    kem_public_bytes, kem_public_from_bytes,
};
use super::{CryptoError, Secret32};
use zeroize::Zeroizing;

/// The key id under which objects for a tip's reporter are sealed.
pub fn reply_key_id(tip_id: &str) -> String {
    format!("reply:{tip_id}")
}

/// The public reply key for a receipt, as stored on the tip.
pub fn reply_public(keys: &Keyring, receipt: &Receipt) -> Vec<u8> {
    let (_, pk) = kem_keypair_from_seed(&receipt.reply_seed(&keys.peppers.reply));
    kem_public_bytes(&pk)
}

/// An object sealed to a reply key: its ciphertext and the `sealed_keys` row of its DEK.
pub struct ReplySealed {
    pub ciphertext: Vec<u8>,
    pub key_row: SealedKey,
}

pub fn seal_to_reply(
    sealer: &Sealer,
    tip_id: &str,
    reply_pubkey: &[u8],
    kind: &str,
    object_id: &str,
    plaintext: &[u8],
) -> Result<ReplySealed, CryptoError> {
    let to = Recipient {
        key_id: reply_key_id(tip_id),
        public: kem_public_from_bytes(reply_pubkey)?,
    };
    let dek = Secret32::random()?;
    let key_row = sealer.seal_key_to(&to, kind, object_id, &dek)?;
    let ciphertext = aead_seal(&dek, &aad(kind, object_id, &to.key_id), plaintext)?;
    Ok(ReplySealed {
        ciphertext,
        key_row,
    })
}

/// Opens an object sealed to the reply key of a receipt (or to one it replaced).
pub fn open_with_receipt(
    keys: &Keyring,
    reply: &ReplyKeys,
    key_row: &SealedKey,
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let dek = reply.open_key(keys, key_row)?;
    aead_open(
        &dek,
        &aad(
            &key_row.object_kind,
            &key_row.object_id,
            &key_row.recipient_key_id,
        ),
        ciphertext,
    )
}

/// The `sealed_keys` kind of a replaced reply key kept at a rekey in a split deployment
/// (issue 18): the old key's seed, sealed to the new reply key, so that a reply or claim code
/// the police node sealed to the old key before the rekey crossed still opens, and only for
/// the holder of the new receipt.
pub const PREVIOUS: &str = "reply_prev";

/// The reply keys a receipt opens: its own, then those it replaced (kept at rekeys).
pub struct ReplyKeys(Vec<Zeroizing<[u8; 32]>>);

impl ReplyKeys {
    /// `rows` are the tip's reply rows (see `triage::reader::reply_rows`); the `PREVIOUS`
    /// ones among them that open with this receipt add their keys.
    pub fn new(keys: &Keyring, receipt: &Receipt, rows: &[SealedKey]) -> Self {
        let own = receipt.reply_seed(&keys.peppers.reply);
        let mut seeds = vec![own];
        for row in rows.iter().filter(|r| r.object_kind == PREVIOUS) {
            if let Ok(seed) = opener_for_seed(keys, &seeds[0], row).open_key(row) {
                seeds.push(Zeroizing::new(*seed.expose()));
            }
        }
        Self(seeds)
    }

    /// Only the receipt's own key (single zone, where no reply can cross a rekey).
    pub fn own(keys: &Keyring, receipt: &Receipt) -> Self {
        Self(vec![receipt.reply_seed(&keys.peppers.reply)])
    }

    fn open_key(&self, keys: &Keyring, row: &SealedKey) -> Result<Secret32, CryptoError> {
        for seed in &self.0 {
            if let Ok(k) = opener_for_seed(keys, seed, row).open_key(row) {
                return Ok(k);
            }
        }
        Err(CryptoError::Open)
    }
}

/// At a rekey: the old receipt's reply key seed sealed to the new reply key (a `PREVIOUS` row).
pub fn seal_previous(
    keys: &Keyring,
    sealer: &Sealer,
    tip_id: &str,
    old: &Receipt,
    new_reply_pubkey: &[u8],
) -> Result<SealedKey, CryptoError> {
    let seed = old.reply_seed(&keys.peppers.reply);
    let to = Recipient {
        key_id: reply_key_id(tip_id),
        public: kem_public_from_bytes(new_reply_pubkey)?,
    };
    let n = super::random_bytes::<8>()?;
    let id = format!("{tip_id}:{}", hex::encode(n));
    sealer.seal_key_to(&to, PREVIOUS, &id, &Secret32::from_bytes(*seed))
}

/// The key id in the AAD of objects whose data key is sealed to two recipients (office and
/// reply key): the ciphertext must open the same way for both.
const SHARED: &str = "*";

/// An object for both the office and the reporter: one ciphertext, its data key wrapped under
/// the office's current epoch and sealed to the reply key.
pub struct SharedSealed {
    pub ciphertext: Vec<u8>,
    pub epoch_row: std::sync::Arc<SealedKey>,
    pub dek_row: SealedKey,
    pub reply_row: SealedKey,
}

#[allow(clippy::too_many_arguments)]
pub fn seal_shared(
    sealer: &Sealer,
    stream: super::seal::Stream,
    office: &Recipient,
    tip_id: &str,
    reply_pubkey: &[u8],
    kind: &str,
    object_id: &str,
    plaintext: &[u8],
) -> Result<SharedSealed, CryptoError> {
    let k = sealer.new_dek_in(stream, office, kind, object_id)?;
    let to = Recipient {
        key_id: reply_key_id(tip_id),
        public: kem_public_from_bytes(reply_pubkey)?,
    };
    let reply_row = sealer.seal_key_to(&to, kind, object_id, &k.dek)?;
    let ciphertext = aead_seal(&k.dek, &aad(kind, object_id, SHARED), plaintext)?;
    Ok(SharedSealed {
        ciphertext,
        epoch_row: k.epoch_row,
        dek_row: k.dek_row,
        reply_row,
    })
}

/// Opens a shared object on the office side.
pub fn open_shared_office(
    opener: &Opener,
    epoch_row: &SealedKey,
    dek_row: &SealedKey,
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let dek = opener.open_dek(epoch_row, dek_row)?;
    aead_open(
        &dek,
        &aad(&dek_row.object_kind, &dek_row.object_id, SHARED),
        ciphertext,
    )
}

/// Opens a shared object with the receipt's reply keys.
pub fn open_shared_reply(
    keys: &Keyring,
    reply: &ReplyKeys,
    reply_row: &SealedKey,
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let dek = reply.open_key(keys, reply_row)?;
    aead_open(
        &dek,
        &aad(&reply_row.object_kind, &reply_row.object_id, SHARED),
        ciphertext,
    )
}

fn reply_opener(keys: &Keyring, receipt: &Receipt, row: &SealedKey) -> Opener {
    opener_for_seed(keys, &receipt.reply_seed(&keys.peppers.reply), row)
}

fn opener_for_seed(keys: &Keyring, seed: &[u8; 32], row: &SealedKey) -> Opener {
    let (sk, _) = kem_keypair_from_seed(seed);
    let opener = Opener::new(row.recipient_key_id.clone(), sk, keys.senders());
    // A police node trusted while this node serves (a second police node, issue 18).
    match keys.peer_reload() {
        Some(reload) => opener.reload_senders_with(reload),
        None => opener,
    }
}

/// Rekey: the data key of a row sealed to the old receipt's reply key, sealed again to the new
/// reply key (same kind, object and key id; only the key changes).
pub fn reseal_reply_row(
    keys: &Keyring,
    sealer: &Sealer,
    old: &Receipt,
    new_reply_pubkey: &[u8],
    row: &SealedKey,
) -> Result<SealedKey, CryptoError> {
    let dek = reply_opener(keys, old, row).open_key(row)?;
    let to = Recipient {
        key_id: row.recipient_key_id.clone(),
        public: kem_public_from_bytes(new_reply_pubkey)?,
    };
    sealer.seal_key_to(&to, &row.object_kind, &row.object_id, &dek)
}
