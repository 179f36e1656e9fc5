//! Sealed objects (DESIGN.md section 2). Every object gets its own random data key (DEK) and is
//! encrypted with AES-256-GCM. DEKs are wrapped under a short-lived epoch key, and the epoch key
//! is sealed once with HPKE (auth mode) to the recipient's public key. One HPKE seal costs about
//! ten HTTP requests, so the hot path pays it once per epoch, not once per tip; when an epoch
//! ends its key is dropped (and wiped), so a node broken into later cannot open earlier epochs.

use super::{CryptoError, Secret32};
use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use hpke::{Deserializable, Kem as _, OpModeR, OpModeS, Serializable};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

pub type Kem = hpke::kem::X25519HkdfSha256;
type Kdf = hpke::kdf::HkdfSha256;
type HpkeAead = hpke::aead::AesGcm256;
pub type KemPrivate = <Kem as hpke::Kem>::PrivateKey;
pub type KemPublic = <Kem as hpke::Kem>::PublicKey;

pub const SCHEMA_VERSION: u8 = 1;
const HPKE_INFO: &[u8] = b"tipline epoch v1";
const NONCE_LEN: usize = 12;

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

struct Epoch {
    id: String,
    key: Secret32,
    row: Arc<SealedKey>,
    born: Instant,
    uses: u32,
}

/// Which epoch stream a new object's key joins. Objects a reporter's action creates (tips,
/// attachments, contact envelopes, a reporter's messages, the acknowledgement sent back) never
/// share an epoch with objects staff create (notes, police messages, notices, rewards), whose
/// rows carry exact times: a shared epoch row would date the reporter's object to the minute
/// (issue 13, item 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Reporter,
    Staff,
}

impl Stream {
    fn tag(self) -> &'static str {
        match self {
            Stream::Reporter => "reporter",
            Stream::Staff => "staff",
        }
    }
}

/// A freshly sealed object, ready to insert.
pub struct SealedObject {
    pub ciphertext: Vec<u8>,
    /// The object's DEK wrapped under the epoch key.
    pub dek_row: SealedKey,
    /// The epoch key sealed to the recipient; inserted once, shared by many objects.
    pub epoch_row: Arc<SealedKey>,
}

/// An object's DEK for streaming encryption (attachments), with its rows.
pub struct StreamKey {
    pub dek: Secret32,
    pub dek_row: SealedKey,
    pub epoch_row: Arc<SealedKey>,
}

pub struct Sealer {
    node: NodeIdentity,
    max_age: Duration,
    max_uses: u32,
    epochs: Mutex<HashMap<String, Epoch>>,
    follow: Option<Follow>,
}

/// Where a serving node looks for rotated keys: the keys dir and the (kind, key id) it started
/// with. Sealing to the start-up key after `tipline keys rotate` would keep naming a key that
/// is about to be retired, so each new epoch checks `<kind>.pub` (one small read a minute).
struct Follow {
    dir: PathBuf,
    started_with: Vec<(&'static str, String)>,
    /// Whether a key id found in `<kind>.pub` is one the database records for `kind`: a
    /// changed file alone (someone with write access to the keys dir) is not followed.
    recorded: Option<KeyCheck>,
}

/// `(kind, key_id) -> recorded?`, see `Sealer::follow_only_recorded`.
pub type KeyCheck = Box<dyn Fn(&str, &str) -> bool + Send + Sync>;

impl Sealer {
    pub fn new(node: NodeIdentity, max_age: Duration, max_uses: u32) -> Self {
        Self {
            node,
            max_age,
            max_uses,
            epochs: Mutex::new(HashMap::new()),
            follow: None,
        }
    }

    /// Makes new epochs follow a rotation of the office and relay keys in `dir`.
    pub fn follow_rotations(
        mut self,
        dir: PathBuf,
        started_with: Vec<(&'static str, String)>,
    ) -> Self {
        self.follow = Some(Follow {
            dir,
            started_with,
            recorded: None,
        });
        self
    }

    /// Follows a rotated key only once its fingerprint is recorded in the database (`tipline
    /// keys rotate` records it); until then, and for any key swapped in by hand, new epochs
    /// stay sealed to the start-up key.
    pub fn follow_only_recorded(mut self, check: KeyCheck) -> Self {
        if let Some(f) = &mut self.follow {
            f.recorded = Some(check);
        }
        self
    }

    /// The key a new epoch for `to` is sealed to: `to`, or its successor after a rotation.
    fn successor(&self, to: &Recipient) -> Recipient {
        let Some(f) = &self.follow else {
            return to.clone();
        };
        let Some((kind, _)) = f.started_with.iter().find(|(_, id)| *id == to.key_id) else {
            return to.clone();
        };
        match super::keyring::Keyring::current_public(&f.dir, kind) {
            Ok(now) if now.key_id == to.key_id => now,
            Ok(now) if f.recorded.as_ref().is_some_and(|ok| !ok(kind, &now.key_id)) => {
                tracing::warn!(
                    kind,
                    key_id = %now.key_id,
                    "the public key file names a key the database does not record; sealing to the start-up key"
                );
                to.clone()
            }
            Ok(now) => now,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the current public key; sealing to the start-up key");
                to.clone()
            }
        }
    }

    /// Drops every epoch key that has aged out, so an epoch key lives its minute and no longer
    /// even when nothing else is sealed after it (issue 13, item 10: the evening's last tip).
    /// The server calls this on a timer. Returns how many were dropped (and zeroized).
    pub fn drop_expired(&self) -> usize {
        let Ok(mut epochs) = self.epochs.lock() else {
            return 0;
        };
        let before = epochs.len();
        epochs.retain(|_, e| e.born.elapsed() < self.max_age);
        before - epochs.len()
    }

    /// Epoch keys held in memory now.
    pub fn live_epochs(&self) -> usize {
        self.epochs.lock().map(|e| e.len()).unwrap_or(0)
    }

    /// Returns the current epoch key for a recipient in a stream, starting a new epoch when the
    /// old one has aged out or been used enough.
    fn epoch_for(
        &self,
        stream: Stream,
        to: &Recipient,
    ) -> Result<(String, Secret32, Arc<SealedKey>), CryptoError> {
        let mut epochs = self.epochs.lock().map_err(|_| CryptoError::Seal)?;
        let fresh = |e: &Epoch| e.born.elapsed() < self.max_age && e.uses < self.max_uses;
        let slot = format!("{}:{}", stream.tag(), to.key_id);
        if let Some(e) = epochs.get_mut(&slot).filter(|e| fresh(e)) {
            e.uses += 1;
            return Ok((e.id.clone(), e.key.clone(), e.row.clone()));
        }
        let id = hex::encode(super::random_bytes::<16>()?);
        let key = Secret32::random()?;
        let row = Arc::new(self.seal_key_to(&self.successor(to), "epoch", &id, &key)?);
        let epoch = Epoch {
            id: id.clone(),
            key: key.clone(),
            row: row.clone(),
            born: Instant::now(),
            uses: 1,
        };
        // The replaced epoch drops here and its key is zeroized.
        epochs.insert(slot, epoch);
        Ok((id, key, row))
    }

    /// HPKE auth-mode seal of a 256-bit key to a recipient.
    pub fn seal_key_to(
        &self,
        to: &Recipient,
        kind: &str,
        object_id: &str,
        key: &Secret32,
    ) -> Result<SealedKey, CryptoError> {
        let mode = OpModeS::Auth((self.node.private.clone(), self.node.public.clone()));
        let (encapped, sealed) = hpke::single_shot_seal::<HpkeAead, Kdf, Kem>(
            &mode,
            &to.public,
            HPKE_INFO,
            key.expose(),
            &aad(kind, object_id, &to.key_id),
        )
        .map_err(|_| CryptoError::Seal)?;
        Ok(SealedKey {
            object_kind: kind.to_string(),
            object_id: object_id.to_string(),
            recipient_key_id: to.key_id.clone(),
            encapped: encapped.to_bytes().to_vec(),
            sealed_key: sealed,
        })
    }

    /// A new DEK for `kind`/`object_id`, wrapped under the recipient's current staff epoch.
    pub fn new_dek(
        &self,
        to: &Recipient,
        kind: &str,
        object_id: &str,
    ) -> Result<StreamKey, CryptoError> {
        self.new_dek_in(Stream::Staff, to, kind, object_id)
    }

    /// A new DEK wrapped under the recipient's current epoch of `stream`.
    pub fn new_dek_in(
        &self,
        stream: Stream,
        to: &Recipient,
        kind: &str,
        object_id: &str,
    ) -> Result<StreamKey, CryptoError> {
        let (epoch_id, epoch_key, epoch_row) = self.epoch_for(stream, to)?;
        let dek = Secret32::random()?;
        let wrapped = aead_seal(&epoch_key, &aad(kind, object_id, &epoch_id), dek.expose())?;
        Ok(StreamKey {
            dek,
            dek_row: SealedKey {
                object_kind: kind.to_string(),
                object_id: object_id.to_string(),
                recipient_key_id: format!("epoch:{epoch_id}"),
                encapped: Vec::new(),
                sealed_key: wrapped,
            },
            epoch_row,
        })
    }

    /// Seals an object staff create (staff epoch stream).
    pub fn seal(
        &self,
        to: &Recipient,
        kind: &str,
        object_id: &str,
        plaintext: &[u8],
    ) -> Result<SealedObject, CryptoError> {
        self.seal_in(Stream::Staff, to, kind, object_id, plaintext)
    }

    /// Seals an object in `stream`: `Stream::Reporter` for what a reporter's action creates.
    pub fn seal_in(
        &self,
        stream: Stream,
        to: &Recipient,
        kind: &str,
        object_id: &str,
        plaintext: &[u8],
    ) -> Result<SealedObject, CryptoError> {
        let k = self.new_dek_in(stream, to, kind, object_id)?;
        let ciphertext = aead_seal(
            &k.dek,
            &aad(kind, object_id, &k.dek_row.recipient_key_id),
            plaintext,
        )?;
        Ok(SealedObject {
            ciphertext,
            dek_row: k.dek_row,
            epoch_row: k.epoch_row,
        })
    }
}

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

pub fn kem_keypair_from_seed(seed: &[u8; 32]) -> (KemPrivate, KemPublic) {
    Kem::derive_keypair(seed)
}

pub fn kem_public_from_bytes(b: &[u8]) -> Result<KemPublic, CryptoError> {
    KemPublic::from_bytes(b).map_err(|_| CryptoError::KeyMaterial("bad X25519 public key".into()))
}

pub fn kem_public_bytes(pk: &KemPublic) -> Vec<u8> {
    pk.to_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (Sealer, Recipient, Opener) {
        let (nsk, npk) = kem_keypair_from_seed(&[1u8; 32]);
        let (osk, opk) = kem_keypair_from_seed(&[2u8; 32]);
        let node = NodeIdentity {
            key_id: "node".into(),
            private: nsk,
            public: npk.clone(),
        };
        let sealer = Sealer::new(node, Duration::from_secs(60), 1000);
        let to = Recipient {
            key_id: "office".into(),
            public: opk,
        };
        (sealer, to, Opener::new("office".into(), osk, vec![npk]))
    }

    #[test]
    fn seal_then_open() {
        let (sealer, to, opener) = setup();
        let s = sealer.seal(&to, "tip", "t1", b"secret tip").unwrap();
        let pt = opener
            .open(&s.epoch_row, &s.dek_row, &s.ciphertext)
            .unwrap();
        assert_eq!(&pt[..], b"secret tip");
    }

    #[test]
    fn reporter_and_staff_objects_never_share_an_epoch() {
        let (sealer, to, _) = setup();
        let tip = sealer
            .seal_in(Stream::Reporter, &to, "tip", "t1", b"x")
            .unwrap();
        let note = sealer.seal(&to, "note", "n1", b"y").unwrap();
        let tip2 = sealer
            .seal_in(Stream::Reporter, &to, "tip", "t2", b"z")
            .unwrap();
        assert_ne!(tip.epoch_row.object_id, note.epoch_row.object_id);
        assert_eq!(tip.epoch_row.object_id, tip2.epoch_row.object_id);
    }

    #[test]
    fn expired_epoch_keys_are_dropped_on_the_timer_without_a_new_seal() {
        let (nsk, npk) = kem_keypair_from_seed(&[1u8; 32]);
        let (_, opk) = kem_keypair_from_seed(&[2u8; 32]);
        let node = NodeIdentity {
            key_id: "node".into(),
            private: nsk,
            public: npk,
        };
        let sealer = Sealer::new(node, Duration::from_millis(200), 1000);
        let to = Recipient {
            key_id: "office".into(),
            public: opk,
        };
        sealer
            .seal_in(Stream::Reporter, &to, "tip", "t1", b"x")
            .unwrap();
        sealer.seal(&to, "note", "n1", b"y").unwrap();
        assert_eq!(sealer.live_epochs(), 2);
        // Still fresh: the timer keeps it.
        assert_eq!(sealer.drop_expired(), 0);
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(sealer.drop_expired(), 2);
        assert_eq!(sealer.live_epochs(), 0);
    }

    #[test]
    fn objects_in_one_epoch_share_the_epoch_row() {
        let (sealer, to, _) = setup();
        let a = sealer.seal(&to, "tip", "a", b"x").unwrap();
        let b = sealer.seal(&to, "tip", "b", b"y").unwrap();
        assert_eq!(a.epoch_row.object_id, b.epoch_row.object_id);
        assert_ne!(a.dek_row.sealed_key, b.dek_row.sealed_key);
    }

    #[test]
    fn swapped_object_ids_do_not_open() {
        let (sealer, to, opener) = setup();
        let a = sealer.seal(&to, "tip", "a", b"x").unwrap();
        let b = sealer.seal(&to, "tip", "b", b"y").unwrap();
        assert!(
            opener
                .open(&a.epoch_row, &b.dek_row, &a.ciphertext)
                .is_err()
        );
    }

    #[test]
    fn forged_sender_is_refused() {
        let (_, to, opener) = setup();
        let (fsk, fpk) = kem_keypair_from_seed(&[9u8; 32]);
        let forger = Sealer::new(
            NodeIdentity {
                key_id: "x".into(),
                private: fsk,
                public: fpk,
            },
            Duration::from_secs(60),
            10,
        );
        let s = forger.seal(&to, "tip", "t", b"forged").unwrap();
        assert!(
            opener
                .open(&s.epoch_row, &s.dek_row, &s.ciphertext)
                .is_err()
        );
    }
}
