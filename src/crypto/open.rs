//! Opening sealed objects with a recipient's private keys (the office or relay side).

use super::kem::{
    HPKE_INFO, HpkeAead, Kdf, Kem, KemPrivate, KemPublic, SealedKey, aad, aead_open,
    kem_public_bytes,
};
use super::{CryptoError, Secret32};
use hpke::{Deserializable, OpModeR};
use std::sync::RwLock;
use zeroize::Zeroizing;

/// Looks for private keys again (a rotation added one while this node serves).
pub type Reload = Box<dyn Fn() -> Option<Vec<(String, KemPrivate)>> + Send + Sync>;

/// Opens objects with a recipient's private keys (the current one, and an old one kept during
/// a rotation). Staff reading a tip is rare, so this path does the full HPKE open every time.
pub struct Opener {
    keys: RwLock<Vec<(String, KemPrivate)>>,
    /// Node keys whose epochs we accept (HPKE auth mode sender check).
    senders: RwLock<Vec<KemPublic>>,
    reload: Option<Reload>,
    /// Looks up the trusted senders again (an intake node trusted while this node serves).
    reload_senders: Option<ReloadSenders>,
}

/// Looks up the node keys whose seals an opener accepts again (issue 18: `ferry trust` while
/// the police node serves).
pub type ReloadSenders = Box<dyn Fn() -> Option<Vec<KemPublic>> + Send + Sync>;

impl Opener {
    pub fn new(key_id: String, private: KemPrivate, senders: Vec<KemPublic>) -> Self {
        Self::with_keys(vec![(key_id, private)], senders, None)
    }

    pub fn with_keys(
        keys: Vec<(String, KemPrivate)>,
        senders: Vec<KemPublic>,
        reload: Option<Reload>,
    ) -> Self {
        Self {
            keys: RwLock::new(keys),
            senders: RwLock::new(senders),
            reload,
            reload_senders: None,
        }
    }

    /// Accepts epochs sealed by these node keys too (trusted intake nodes, issue 18).
    pub fn add_senders(&mut self, senders: Vec<KemPublic>) {
        if let Ok(s) = self.senders.get_mut() {
            s.extend(senders);
        }
    }

    /// When no known sender's seal opens, asks `reload` for the trusted senders again (a node
    /// trusted after this opener was built) and tries those it did not know.
    pub fn reload_senders_with(mut self, reload: ReloadSenders) -> Self {
        self.reload_senders = Some(reload);
        self
    }

    /// True when this opener holds the private key `key_id`.
    pub fn holds(&self, key_id: &str) -> bool {
        self.keys
            .read()
            .map(|k| k.iter().any(|(id, _)| id == key_id))
            .unwrap_or(false)
    }

    fn private(&self, key_id: &str) -> Option<KemPrivate> {
        let find = |keys: &[(String, KemPrivate)]| {
            keys.iter()
                .find(|(id, _)| id == key_id)
                .map(|(_, sk)| sk.clone())
        };
        if let Some(sk) = self.keys.read().ok().and_then(|k| find(&k)) {
            return Some(sk);
        }
        let fresh = (self.reload.as_ref()?)()?;
        let found = find(&fresh);
        if let Ok(mut k) = self.keys.write() {
            *k = fresh;
        }
        found
    }

    /// Opens an HPKE-sealed key row addressed to one of this opener's keys.
    pub fn open_key(&self, row: &SealedKey) -> Result<Secret32, CryptoError> {
        let private = self
            .private(&row.recipient_key_id)
            .ok_or(CryptoError::Open)?;
        let encapped = <Kem as hpke::Kem>::EncappedKey::from_bytes(&row.encapped)
            .map_err(|_| CryptoError::Open)?;
        let aad = aad(&row.object_kind, &row.object_id, &row.recipient_key_id);
        let known: Vec<KemPublic> = self.senders.read().map(|s| s.clone()).unwrap_or_default();
        let try_open = |sender: &KemPublic| -> Option<Result<Secret32, CryptoError>> {
            let mode = OpModeR::Auth(sender.clone());
            let mut pt = hpke::single_shot_open::<HpkeAead, Kdf, Kem>(
                &mode,
                &private,
                &encapped,
                HPKE_INFO,
                &row.sealed_key,
                &aad,
            )
            .ok()?;
            let key = Secret32::from_slice(&pt);
            zeroize::Zeroize::zeroize(&mut pt);
            Some(key)
        };
        for sender in &known {
            if let Some(key) = try_open(sender) {
                return key;
            }
        }
        // A sender trusted since: look the list up again and try the new ones.
        let fresh = self.reload_senders.as_ref().and_then(|r| r());
        let Some(fresh) = fresh else {
            return Err(CryptoError::Open);
        };
        let bytes = |k: &KemPublic| kem_public_bytes(k);
        let known_bytes: Vec<Vec<u8>> = known.iter().map(bytes).collect();
        let new: Vec<KemPublic> = fresh
            .into_iter()
            .filter(|k| !known_bytes.contains(&bytes(k)))
            .collect();
        if new.is_empty() {
            return Err(CryptoError::Open);
        }
        if let Ok(mut s) = self.senders.write() {
            s.extend(new.iter().cloned());
        }
        for sender in &new {
            if let Some(key) = try_open(sender) {
                return key;
            }
        }
        Err(CryptoError::Open)
    }

    /// Unwraps an object's DEK given its epoch row and its DEK row.
    pub fn open_dek(
        &self,
        epoch_row: &SealedKey,
        dek_row: &SealedKey,
    ) -> Result<Secret32, CryptoError> {
        let epoch_key = self.open_key(epoch_row)?;
        let epoch_id = dek_row
            .recipient_key_id
            .strip_prefix("epoch:")
            .ok_or(CryptoError::Open)?;
        if epoch_id != epoch_row.object_id {
            return Err(CryptoError::Open);
        }
        let dek = aead_open(
            &epoch_key,
            &aad(&dek_row.object_kind, &dek_row.object_id, epoch_id),
            &dek_row.sealed_key,
        )?;
        Secret32::from_slice(&dek)
    }

    pub fn open(
        &self,
        epoch_row: &SealedKey,
        dek_row: &SealedKey,
        ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let dek = self.open_dek(epoch_row, dek_row)?;
        aead_open(
            &dek,
            &aad(
                &dek_row.object_kind,
                &dek_row.object_id,
                &dek_row.recipient_key_id,
            ),
            ciphertext,
        )
    }
}
