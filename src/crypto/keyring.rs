//! The keys dir (DESIGN.md section 2): office and relay HPKE keypairs, the node identity
//! (HPKE auth key and Ed25519 audit signing key) and the peppers. Nothing here ever goes into
//! the database; the database records only public fingerprints, so a start with the wrong
//! keys stops instead of sealing tips to a key nobody holds.

use super::kem::{
    KemPrivate, NodeIdentity, Recipient, aead_open, aead_seal, kem_keypair_from_seed,
    kem_public_bytes, kem_public_from_bytes,
};
use super::open::Opener;
use super::{Secret32, keyed_hash, sha256};
use serde::{Deserialize, Serialize};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use zeroize::Zeroizing;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read key file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write key file {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("key file {0} is malformed")]
    Malformed(PathBuf),
    #[error("key file {0} already exists; refusing to overwrite keys")]
    Exists(PathBuf),
    #[error("random number generator failed")]
    Random,
    #[error("key file {0} is readable by others; run chmod 600 on it")]
    Permissions(PathBuf),
    #[error(
        "key file {0} is protected by a passphrase: set TIPLINE_KEYS_PASSPHRASE_FILE to the path \
         of a file holding it"
    )]
    NeedsPassphrase(PathBuf),
    #[error("the passphrase does not open key file {0} (wrong passphrase, or a damaged file)")]
    WrongPassphrase(PathBuf),
    #[error("cannot read the passphrase file {path}: {source}")]
    PassphraseFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the passphrase file {0} is empty")]
    EmptyPassphrase(PathBuf),
    #[error(
        "the {kind} key was rotated and its old key {old} is not retired yet: finish with \
         `tipline keys rotate {kind}` and `tipline keys retire {kind}` before rotating again"
    )]
    RotationPending { kind: String, old: String },
    #[error("there is no old {0} key to retire")]
    NothingToRetire(String),
}

/// The passphrase that wraps private key files, read from a file (never from the environment
/// or the command line, where other local users and crash reports can see it).
pub struct Passphrase(Zeroizing<Vec<u8>>);

impl Passphrase {
    pub fn from_file(path: &Path) -> Result<Self, KeyError> {
        let raw = Zeroizing::new(fs::read(path).map_err(|source| KeyError::PassphraseFile {
            path: path.to_path_buf(),
            source,
        })?);
        // An editor's trailing newline is not part of the passphrase.
        let mut end = raw.len();
        while end > 0 && matches!(raw[end - 1], b'\n' | b'\r') {
            end -= 1;
        }
        if end == 0 {
            return Err(KeyError::EmptyPassphrase(path.to_path_buf()));
        }
        Ok(Self(Zeroizing::new(raw[..end].to_vec())))
    }
}

/// A private key file wrapped under a passphrase: Argon2id (memory-hard, so a stolen file
/// costs real work per guess) derives an AES-256-GCM key that seals the plain file.
#[derive(Serialize, Deserialize)]
struct ProtectedFile {
    protected: String,
    m_kib: u32,
    t: u32,
    p: u32,
    salt: String,
    sealed: String,
}

const PROTECTION: &str = "argon2id-aes256gcm-v1";
const PROTECTED_AAD: &[u8] = b"tipline protected key file v1";
// OWASP's Argon2id minimum (19 MiB, 2 passes): a start unwraps five files in about a second.
const ARGON_M_KIB: u32 = 19 * 1024;
const ARGON_T: u32 = 2;
const ARGON_P: u32 = 1;

fn passphrase_key(
    pass: &Passphrase,
    salt: &[u8],
    m: u32,
    t: u32,
    p: u32,
) -> Result<Secret32, KeyError> {
    let params = argon2::Params::new(m, t, p, Some(32)).map_err(|_| KeyError::Random)?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut out = Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(&pass.0, salt, &mut out[..])
        .map_err(|_| KeyError::Random)?;
    Ok(Secret32::from_bytes(*out))
}

fn protect(contents: &str, pass: &Passphrase) -> Result<String, KeyError> {
    let salt = super::random_bytes::<16>().map_err(|_| KeyError::Random)?;
    let key = passphrase_key(pass, &salt, ARGON_M_KIB, ARGON_T, ARGON_P)?;
    let sealed =
        aead_seal(&key, PROTECTED_AAD, contents.as_bytes()).map_err(|_| KeyError::Random)?;
    Ok(serde_json::to_string_pretty(&ProtectedFile {
        protected: PROTECTION.into(),
        m_kib: ARGON_M_KIB,
        t: ARGON_T,
        p: ARGON_P,
        salt: hex::encode(salt),
        sealed: hex::encode(sealed),
    })
    .unwrap_or_default())
}

/// Reads a private key file, unwrapping it when it is passphrase-protected.
fn read_private(path: &Path, pass: Option<&Passphrase>) -> Result<Zeroizing<String>, KeyError> {
    check_private_mode(path)?;
    let text = Zeroizing::new(read_file(path)?);
    let Ok(p) = serde_json::from_str::<ProtectedFile>(&text) else {
        return Ok(text);
    };
    let malformed = || KeyError::Malformed(path.to_path_buf());
    if p.protected != PROTECTION || p.m_kib > 4 * 1024 * 1024 || p.t > 64 || p.p > 64 {
        return Err(malformed());
    }
    let pass = pass.ok_or_else(|| KeyError::NeedsPassphrase(path.to_path_buf()))?;
    let salt = hex::decode(&p.salt).map_err(|_| malformed())?;
    let sealed = hex::decode(&p.sealed).map_err(|_| malformed())?;
    let key = passphrase_key(pass, &salt, p.m_kib, p.t, p.p)?;
    let plain = aead_open(&key, PROTECTED_AAD, &sealed)
        .map_err(|_| KeyError::WrongPassphrase(path.to_path_buf()))?;
    String::from_utf8(plain.to_vec())
        .map(Zeroizing::new)
        .map_err(|_| malformed())
}

fn is_protected(path: &Path) -> bool {
    read_file(path)
        .ok()
        .and_then(|t| serde_json::from_str::<ProtectedFile>(&t).ok())
        .is_some()
}

#[derive(Serialize, Deserialize)]
struct KeypairFile {
    kind: String,
    key_id: String,
    public: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    private: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    signing_private: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct PepperFile {
    receipt: String,
    reply: String,
    claim: String,
    alias: String,
    blind_index: String,
    token: String,
    idempotency: String,
}

/// A zone's share of the peppers (issue 18): `peppers.intake.key` or `peppers.police.key`.
/// Fields a zone does not hold are absent from its file.
#[derive(Serialize, Deserialize)]
struct ZonePepperFile {
    zone: String,
    receipt: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reply: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    claim: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    alias: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    blind_index: Option<String>,
    token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    idempotency: Option<String>,
    /// The pepper fingerprint of the complete dir this one was split from (public): a police
    /// node started on the single-zone database of that dir records its own fingerprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    split_from: Option<String>,
}

/// Which zone a keys dir serves: `peppers.key` (all peppers) is a single-zone dir; a split dir
/// holds `peppers.intake.key` or `peppers.police.key`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    Single,
    Intake,
    Police,
}

impl Zone {
    pub fn as_str(self) -> &'static str {
        match self {
            Zone::Single => "single",
            Zone::Intake => "intake",
            Zone::Police => "police",
        }
    }

    fn pepper_file(self) -> String {
        match self {
            Zone::Single => format!("{PEPPERS}.key"),
            z => format!("{PEPPERS}.{}.key", z.as_str()),
        }
    }
}

/// Secrets used for keyed hashes. They cannot be rotated (a new pepper orphans every stored
/// hash), so they must be backed up with the private keys.
pub struct Peppers {
    pub receipt: Secret32,
    pub reply: Secret32,
    pub claim: Secret32,
    pub alias: Secret32,
    pub blind_index: Secret32,
    pub token: Secret32,
    pub idempotency: Secret32,
}

/// Private keys of one kind this node can open with: the current one first, then an old one
/// kept after a rotation until `tipline keys retire`.
type PrivateKeys = Vec<(String, KemPrivate)>;

pub struct Keyring {
    pub dir: PathBuf,
    /// The key new objects are sealed to.
    pub office: Recipient,
    office_private: PrivateKeys,
    /// The relay key this node sends with: staff notices and staff addresses are sealed to
    /// it. In a police dir it is the police zone's own (`keys split` makes it), so the intranet
    /// node sends staff notices; elsewhere it is the one relay key.
    pub relay: Recipient,
    relay_private: PrivateKeys,
    /// The relay key reporters' contact envelopes and outgoing jobs are sealed to: the edge's
    /// `relay.pub`, kept in a police dir as `reporter-relay.pub` (issue 18); elsewhere `relay`.
    pub reporter_relay: Recipient,
    pub node: NodeIdentity,
    pub node_signing: Secret32,
    pub peppers: Peppers,
    /// The zone this keys dir serves. A split zone's peppers it does not hold are random
    /// values made at load and never stored: a hash under one matches nothing.
    pub zone: Zone,
    /// For a split dir: the pepper fingerprint of the complete dir it came from.
    pub split_from: Option<String>,
    /// Node keys of the other zone this node trusts as senders of sealed keys (a police
    /// node's replies sealed to a reporter's reply key, issue 18), from `ferry_nodes`.
    peers: std::sync::RwLock<Vec<super::kem::KemPublic>>,
    /// Where a serving node looks the trusted senders up again (the database), so a node
    /// trusted while it serves is accepted without a restart.
    peer_source: std::sync::RwLock<Option<PeerSource>>,
    /// Kept so openers can pick up keys a rotation adds while this node serves.
    passphrase: Option<Arc<Passphrase>>,
    /// Old keys still held, by kind: (kind, key id).
    old: Vec<(String, String)>,
}

/// Looks the trusted senders up again (see [`Keyring::set_peer_source`]).
pub type PeerSource = Arc<dyn Fn() -> Option<Vec<super::kem::KemPublic>> + Send + Sync>;

pub const OFFICE: &str = "office";
pub const RELAY: &str = "relay";
pub const NODE: &str = "node";
pub const PEPPERS: &str = "peppers";
/// The file, in a police dir, of the edge's relay public key (what reporter jobs are sealed to).
pub const REPORTER_RELAY_FILE: &str = "reporter-relay.pub";
/// The dir, in a police keys dir, of the other police nodes' identity files (audit verify).
pub const POLICE_NODES_DIR: &str = "police-nodes";

/// The `keyring` table purpose recording an old key kept since a rotation.
pub fn old_purpose(kind: &str) -> String {
    format!("{kind}-old")
}

fn key_id_of(public: &[u8]) -> String {
    hex::encode(&sha256(public)[..8])
}

fn write_private(path: &Path, contents: &str, pass: Option<&Passphrase>) -> Result<(), KeyError> {
    if path.exists() {
        return Err(KeyError::Exists(path.to_path_buf()));
    }
    let wrapped;
    let contents = match pass {
        Some(p) => {
            wrapped = protect(contents, p)?;
            &wrapped
        }
        None => contents,
    };
    let werr = |source| KeyError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(werr)?;
    f.write_all(contents.as_bytes()).map_err(werr)?;
    f.sync_all().map_err(werr)
}

/// Replaces a file through a temporary one and a rename, so a crash leaves the old or the new
/// file, never half of one.
fn replace_private(path: &Path, contents: &str, pass: Option<&Passphrase>) -> Result<(), KeyError> {
    let tmp = path.with_extension("tmp");
    let _ = fs::remove_file(&tmp);
    write_private(&tmp, contents, pass)?;
    rename(&tmp, path)
}

fn rename(from: &Path, to: &Path) -> Result<(), KeyError> {
    fs::rename(from, to).map_err(|source| KeyError::Write {
        path: to.to_path_buf(),
        source,
    })?;
    if let Some(dir) = to.parent().and_then(|d| fs::File::open(d).ok()) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// Overwrites a key file with zeros, then unlinks it. On a journaling or copy-on-write file
/// system (or an SSD) old blocks may survive: this is hygiene, not a guarantee, which is why
/// the guide says rotation does not undo a theft.
fn shred(path: &Path) -> Result<(), KeyError> {
    let werr = |source| KeyError::Write {
        path: path.to_path_buf(),
        source,
    };
    let len = fs::metadata(path).map_err(werr)?.len();
    let mut f = fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(werr)?;
    f.write_all(&vec![0u8; len as usize]).map_err(werr)?;
    f.sync_all().map_err(werr)?;
    drop(f);
    fs::remove_file(path).map_err(werr)
}

fn read_file(path: &Path) -> Result<String, KeyError> {
    fs::read_to_string(path).map_err(|source| KeyError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn check_private_mode(path: &Path) -> Result<(), KeyError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = fs::metadata(path).map_err(|source| KeyError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(KeyError::Permissions(path.to_path_buf()));
        }
    }
    Ok(())
}

fn unhex32(s: &str, path: &Path) -> Result<[u8; 32], KeyError> {
    let v = hex::decode(s).map_err(|_| KeyError::Malformed(path.to_path_buf()))?;
    v.try_into()
        .map_err(|_| KeyError::Malformed(path.to_path_buf()))
}

fn random_seed() -> Result<[u8; 32], KeyError> {
    super::random_bytes::<32>().map_err(|_| KeyError::Random)
}

/// Makes a new keypair of `kind` in `dir`: `kind.key` (protected when `pass` is given) and
/// `kind.pub`. A node key also gets its Ed25519 signing seed.
fn write_new_pair(dir: &Path, kind: &str, pass: Option<&Passphrase>) -> Result<(), KeyError> {
    let signing = if kind == NODE {
        Some(random_seed()?)
    } else {
        None
    };
    let (public, private) = keypair_json(kind, &random_seed()?, signing.as_ref());
    write_private(&dir.join(format!("{kind}.key")), &private, pass)?;
    let pub_path = dir.join(format!("{kind}.pub"));
    fs::write(&pub_path, public).map_err(|source| KeyError::Write {
        path: pub_path.clone(),
        source,
    })
}

fn keypair_json(kind: &str, seed: &[u8; 32], signing: Option<&[u8; 32]>) -> (String, String) {
    let (_, pk) = kem_keypair_from_seed(seed);
    let public = kem_public_bytes(&pk);
    let key_id = key_id_of(&public);
    let pub_file = KeypairFile {
        kind: kind.into(),
        key_id: key_id.clone(),
        public: hex::encode(&public),
        private: None,
        signing_private: None,
    };
    let priv_file = KeypairFile {
        kind: kind.into(),
        key_id,
        public: hex::encode(&public),
        private: Some(hex::encode(seed)),
        signing_private: signing.map(hex::encode),
    };
    (
        serde_json::to_string_pretty(&pub_file).unwrap_or_default(),
        serde_json::to_string_pretty(&priv_file).unwrap_or_default(),
    )
}

impl Keyring {
    /// True when the directory holds any key file (so generating would overwrite or mix keys).
    pub fn present(dir: &Path) -> bool {
        [OFFICE, RELAY, NODE, PEPPERS]
            .iter()
            .any(|k| dir.join(format!("{k}.key")).exists() || dir.join(format!("{k}.pub")).exists())
            || [Zone::Intake, Zone::Police]
                .iter()
                .any(|z| dir.join(z.pepper_file()).exists())
    }

    /// Creates a complete new set of keys in `dir`.
    pub fn generate(dir: &Path) -> Result<(), KeyError> {
        Self::generate_protected(dir, None)
    }

    /// Creates a complete new set of keys in `dir`, the private files wrapped under `pass`.
    pub fn generate_protected(dir: &Path, pass: Option<&Passphrase>) -> Result<(), KeyError> {
        fs::create_dir_all(dir).map_err(|source| KeyError::Write {
            path: dir.to_path_buf(),
            source,
        })?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o700));
        }
        for kind in [OFFICE, RELAY, NODE] {
            write_new_pair(dir, kind, pass)?;
        }
        let p = PepperFile {
            receipt: hex::encode(random_seed()?),
            reply: hex::encode(random_seed()?),
            claim: hex::encode(random_seed()?),
            alias: hex::encode(random_seed()?),
            blind_index: hex::encode(random_seed()?),
            token: hex::encode(random_seed()?),
            idempotency: hex::encode(random_seed()?),
        };
        write_private(
            &dir.join(format!("{PEPPERS}.key")),
            &serde_json::to_string_pretty(&p).unwrap_or_default(),
            pass,
        )
    }

    fn load_pair(
        dir: &Path,
        kind: &str,
        pass: Option<&Passphrase>,
    ) -> Result<(KeypairFile, PathBuf), KeyError> {
        let private = dir.join(format!("{kind}.key"));
        if private.exists() {
            return Self::load_file(&private, kind, pass).map(|f| (f, private));
        }
        let path = dir.join(format!("{kind}.pub"));
        Self::load_file(&path, kind, None).map(|f| (f, path))
    }

    fn load_file(
        path: &Path,
        kind: &str,
        pass: Option<&Passphrase>,
    ) -> Result<KeypairFile, KeyError> {
        let text = if path.extension().is_some_and(|e| e == "key") {
            read_private(path, pass)?
        } else {
            Zeroizing::new(read_file(path)?)
        };
        let f: KeypairFile =
            serde_json::from_str(&text).map_err(|_| KeyError::Malformed(path.to_path_buf()))?;
        if f.kind != kind {
            return Err(KeyError::Malformed(path.to_path_buf()));
        }
        Ok(f)
    }

    /// The public key new objects of `kind` are sealed to, from its `.pub` file: how a serving
    /// node notices a rotation (see `Sealer::follow_rotations`).
    pub fn current_public(dir: &Path, kind: &str) -> Result<Recipient, KeyError> {
        let path = dir.join(format!("{kind}.pub"));
        let f = Self::load_file(&path, kind, None)?;
        Self::recipient(&f, &path)
    }

    fn old_path(dir: &Path, kind: &str, key_id: &str) -> PathBuf {
        dir.join(format!("{kind}.old-{key_id}.key"))
    }

    /// Key ids of the old keys of `kind` still in the dir (at most one: rotation refuses while
    /// one is pending).
    fn old_ids(dir: &Path, kind: &str) -> Vec<String> {
        let prefix = format!("{kind}.old-");
        let mut ids: Vec<String> = fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let id = name.strip_prefix(&prefix)?.strip_suffix(".key")?;
                Some(id.to_string())
            })
            .collect();
        ids.sort();
        ids
    }

    /// Every private key of `kind` in the dir, current first, each checked against its id.
    pub fn private_keys(
        dir: &Path,
        kind: &str,
        pass: Option<&Passphrase>,
    ) -> Result<PrivateKeys, KeyError> {
        let mut out = Vec::new();
        let current = dir.join(format!("{kind}.key"));
        let mut paths = Vec::new();
        if current.exists() {
            paths.push((current, None));
        }
        for id in Self::old_ids(dir, kind) {
            paths.push((Self::old_path(dir, kind, &id), Some(id)));
        }
        for (path, want) in paths {
            let f = Self::load_file(&path, kind, pass)?;
            if want.as_ref().is_some_and(|w| *w != f.key_id) {
                return Err(KeyError::Malformed(path));
            }
            let public = Self::recipient(&f, &path)?;
            if let Some(sk) = Self::private_of(&f, &public, path)? {
                out.push((public.key_id, sk));
            }
        }
        Ok(out)
    }

    fn recipient(f: &KeypairFile, path: &Path) -> Result<Recipient, KeyError> {
        let public = hex::decode(&f.public).map_err(|_| KeyError::Malformed(path.to_path_buf()))?;
        if key_id_of(&public) != f.key_id {
            return Err(KeyError::Malformed(path.to_path_buf()));
        }
        Ok(Recipient {
            key_id: f.key_id.clone(),
            public: kem_public_from_bytes(&public)
                .map_err(|_| KeyError::Malformed(path.to_path_buf()))?,
        })
    }

    /// The private half of a keypair file, checked against its public half; `None` where the
    /// file holds only the public key (an intake node).
    fn private_of(
        f: &KeypairFile,
        public: &Recipient,
        path: PathBuf,
    ) -> Result<Option<KemPrivate>, KeyError> {
        let Some(s) = &f.private else { return Ok(None) };
        let seed = unhex32(s, &path)?;
        let (sk, pk) = kem_keypair_from_seed(&seed);
        if kem_public_bytes(&pk) != kem_public_bytes(&public.public) {
            return Err(KeyError::Malformed(path));
        }
        Ok(Some(sk))
    }

    /// Loads the keys dir. The office and relay private keys are optional (an intake node in
    /// a split deployment holds only their public halves); the node key and peppers are not.
    pub fn load(dir: &Path) -> Result<Self, KeyError> {
        Self::load_with(dir, None)
    }

    /// Loads the keys dir, unwrapping passphrase-protected files with `pass`.
    pub fn load_with(dir: &Path, pass: Option<Passphrase>) -> Result<Self, KeyError> {
        let pass = pass.map(Arc::new);
        let pp = pass.as_deref();
        let (office_f, office_path) = Self::load_pair(dir, OFFICE, pp)?;
        let office = Self::recipient(&office_f, &office_path)?;
        let office_private = Self::private_keys(dir, OFFICE, pp)?;
        let (relay_f, relay_path) = Self::load_pair(dir, RELAY, pp)?;
        let relay = Self::recipient(&relay_f, &relay_path)?;
        let relay_private = Self::private_keys(dir, RELAY, pp)?;
        let reporter_path = dir.join(REPORTER_RELAY_FILE);
        let reporter_relay = if reporter_path.exists() {
            let f = Self::load_file(&reporter_path, RELAY, None)?;
            Self::recipient(&f, &reporter_path)?
        } else {
            relay.clone()
        };
        let old = [OFFICE, RELAY]
            .iter()
            .flat_map(|k| {
                Self::old_ids(dir, k)
                    .into_iter()
                    .map(|id| (k.to_string(), id))
            })
            .collect();

        let node_path = dir.join(format!("{NODE}.key"));
        let (node_f, node_path) = match Self::load_pair(dir, NODE, pp)? {
            (f, p) if f.private.is_some() && f.signing_private.is_some() => (f, p),
            _ => {
                return Err(KeyError::Read {
                    path: node_path,
                    source: std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        "node private key missing",
                    ),
                });
            }
        };
        let node_seed = unhex32(node_f.private.as_deref().unwrap_or_default(), &node_path)?;
        let (nsk, npk) = kem_keypair_from_seed(&node_seed);
        let node_recipient = Self::recipient(&node_f, &node_path)?;
        if kem_public_bytes(&npk) != kem_public_bytes(&node_recipient.public) {
            return Err(KeyError::Malformed(node_path));
        }
        let node_signing = Secret32::from_bytes(unhex32(
            node_f.signing_private.as_deref().unwrap_or_default(),
            &node_path,
        )?);

        let (zone, peppers, split_from) = Self::load_peppers(dir, pp)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            office,
            office_private,
            relay,
            relay_private,
            reporter_relay,
            node: NodeIdentity {
                key_id: node_recipient.key_id,
                private: nsk,
                public: npk,
            },
            node_signing,
            peppers,
            zone,
            split_from,
            peers: Default::default(),
            peer_source: Default::default(),
            passphrase: pass,
            old,
        })
    }

    /// Public fingerprints recorded in the database: (purpose, fingerprint).
    pub fn fingerprints(&self) -> Vec<(String, String)> {
        let pepper_fp = {
            let p = &self.peppers;
            let parts: Vec<&[u8]> = [
                &p.receipt,
                &p.reply,
                &p.claim,
                &p.alias,
                &p.blind_index,
                &p.token,
                &p.idempotency,
            ]
            .iter()
            .map(|s| &s.expose()[..])
            .collect();
            // A keyed hash of a constant under a hash of all peppers: identifies, reveals nothing.
            // A split zone counts only the peppers it holds (the others are made at load).
            let all = match self.zone {
                Zone::Single => Secret32::from_bytes(sha256(&parts.concat())),
                z => {
                    let held = Self::held(z);
                    let mut bytes = z.as_str().as_bytes().to_vec();
                    for (part, name) in parts.iter().zip(PEPPER_NAMES) {
                        if held.contains(&name) {
                            bytes.extend_from_slice(part);
                        }
                    }
                    Secret32::from_bytes(sha256(&bytes))
                }
            };
            hex::encode(&keyed_hash(&all, &[b"pepper-fingerprint"])[..8])
        };
        let mut out = vec![
            (OFFICE.into(), self.office.key_id.clone()),
            (RELAY.into(), self.relay.key_id.clone()),
            (NODE.into(), self.node.key_id.clone()),
            (PEPPERS.into(), pepper_fp),
        ];
        for (kind, id) in &self.old {
            out.push((old_purpose(kind), id.clone()));
        }
        out
    }

    /// The old key of `kind` kept since a rotation, if any.
    pub fn old_key(&self, kind: &str) -> Option<&str> {
        self.old
            .iter()
            .find(|(k, _)| k == kind)
            .map(|(_, id)| id.as_str())
    }

    /// The current key of `kind` (office or relay).
    pub fn current(&self, kind: &str) -> &Recipient {
        if kind == RELAY {
            &self.relay
        } else {
            &self.office
        }
    }

    fn opener_for(&self, kind: &'static str, keys: &PrivateKeys) -> Option<Opener> {
        if keys.is_empty() {
            return None;
        }
        let dir = self.dir.clone();
        let pass = self.passphrase.clone();
        // A rotation run while this node serves re-seals epochs to a key this node did not
        // load: the opener then looks in the keys dir once more instead of failing.
        let reload = move || Keyring::private_keys(&dir, kind, pass.as_deref()).ok();
        Some(Opener::with_keys(
            keys.clone(),
            self.senders(),
            Some(Box::new(reload)),
        ))
    }

    /// Generates a new keypair of `kind` (office or relay) next to the old one: the old
    /// private key moves to `<kind>.old-<id>.key` (kept for opening until retired), the new one
    /// becomes `<kind>.key` and `<kind>.pub`. Returns (old id, new id).
    pub fn rotate_files(
        dir: &Path,
        kind: &str,
        pass: Option<&Passphrase>,
    ) -> Result<(String, String), KeyError> {
        if let Some(old) = Self::old_ids(dir, kind).into_iter().next() {
            return Err(KeyError::RotationPending {
                kind: kind.into(),
                old,
            });
        }
        let current = dir.join(format!("{kind}.key"));
        let old_f = Self::load_file(&current, kind, pass)?;
        let seed = random_seed()?;
        let (public, private) = keypair_json(kind, &seed, None);
        let new_id = key_id_of(&kem_public_bytes(&kem_keypair_from_seed(&seed).1));
        // Order matters for a crash: the new key is on disk before the old one moves, and the
        // old one moves (never copied) so exactly one file holds it.
        let next = dir.join(format!("{kind}.next"));
        let _ = fs::remove_file(&next);
        write_private(&next, &private, pass)?;
        rename(&current, &Self::old_path(dir, kind, &old_f.key_id))?;
        rename(&next, &current)?;
        let pub_path = dir.join(format!("{kind}.pub"));
        let tmp = dir.join(format!("{kind}.pub.tmp"));
        fs::write(&tmp, public).map_err(|source| KeyError::Write {
            path: tmp.clone(),
            source,
        })?;
        rename(&tmp, &pub_path)?;
        Ok((old_f.key_id, new_id))
    }

    /// Destroys the old private key of `kind` (overwrite, then unlink). Returns its id.
    pub fn retire_file(dir: &Path, kind: &str) -> Result<String, KeyError> {
        let id = Self::old_ids(dir, kind)
            .into_iter()
            .next()
            .ok_or_else(|| KeyError::NothingToRetire(kind.into()))?;
        shred(&Self::old_path(dir, kind, &id))?;
        Ok(id)
    }

    /// Wraps every plain private file in the dir under `pass` (already protected files are
    /// left alone). Returns the files it wrapped.
    pub fn protect_dir(dir: &Path, pass: &Passphrase) -> Result<Vec<PathBuf>, KeyError> {
        let mut files: Vec<PathBuf> = fs::read_dir(dir)
            .map_err(|source| KeyError::Read {
                path: dir.to_path_buf(),
                source,
            })?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "key"))
            .collect();
        files.sort();
        let mut done = Vec::new();
        for path in files {
            if is_protected(&path) {
                continue;
            }
            let plain = read_private(&path, None)?;
            replace_private(&path, &plain, Some(pass))?;
            done.push(path);
        }
        Ok(done)
    }

    /// An opener for the office keys, if this node holds them (police zone).
    pub fn office_opener(&self) -> Option<Opener> {
        self.opener_for(OFFICE, &self.office_private)
    }
}

impl Keyring {
    /// An opener for the relay key (contact envelopes, outbox payloads), if this node holds it.
    pub fn relay_opener(&self) -> Option<Opener> {
        self.opener_for(RELAY, &self.relay_private)
    }

    /// The node's Ed25519 key: signs audit entries.
    pub fn audit_signer(&self) -> ed25519_dalek::SigningKey {
        ed25519_dalek::SigningKey::from_bytes(self.node_signing.expose())
    }

    pub fn audit_verifier(&self) -> ed25519_dalek::VerifyingKey {
        self.audit_signer().verifying_key()
    }
}

/// The order of [`Peppers`]' fields, as `fingerprints` hashes them.
const PEPPER_NAMES: [&str; 7] = [
    "receipt",
    "reply",
    "claim",
    "alias",
    "blind_index",
    "token",
    "idempotency",
];

/// The public identity of a node, as another node records it to trust its bundles and its
/// sealed epochs: `tipline keys node-identity` prints it, `tipline ferry trust FILE` records it.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct NodePublic {
    pub zone: String,
    pub node_id: String,
    /// HPKE public key (auth mode: epochs this node seals name it as sender).
    pub kem_public: String,
    /// Ed25519 public key (bundles and audit entries this node signs).
    pub sign_public: String,
}

impl Keyring {
    /// The peppers a zone holds.
    pub fn held(zone: Zone) -> &'static [&'static str] {
        match zone {
            Zone::Single => &PEPPER_NAMES,
            // Receipts, reply keys and retried submissions are made here; the alias threads
            // SMS and mail; the token pepper keys captchas and public form tokens.
            Zone::Intake => &["receipt", "reply", "alias", "token", "idempotency"],
            // Hotline and box receipts are made here (and the route binding is keyed by the
            // receipt pepper); claim codes, the blind index, staff logins and TOTP.
            Zone::Police => &["receipt", "claim", "blind_index", "token"],
        }
    }

    fn load_peppers(
        dir: &Path,
        pp: Option<&Passphrase>,
    ) -> Result<(Zone, Peppers, Option<String>), KeyError> {
        let single = dir.join(Zone::Single.pepper_file());
        if single.exists() {
            let p: PepperFile = serde_json::from_str(&read_private(&single, pp)?)
                .map_err(|_| KeyError::Malformed(single.clone()))?;
            let s = |v: &str| unhex32(v, &single).map(Secret32::from_bytes);
            return Ok((
                Zone::Single,
                Peppers {
                    receipt: s(&p.receipt)?,
                    reply: s(&p.reply)?,
                    claim: s(&p.claim)?,
                    alias: s(&p.alias)?,
                    blind_index: s(&p.blind_index)?,
                    token: s(&p.token)?,
                    idempotency: s(&p.idempotency)?,
                },
                None,
            ));
        }
        for zone in [Zone::Intake, Zone::Police] {
            let path = dir.join(zone.pepper_file());
            if !path.exists() {
                continue;
            }
            let p: ZonePepperFile = serde_json::from_str(&read_private(&path, pp)?)
                .map_err(|_| KeyError::Malformed(path.clone()))?;
            if p.zone != zone.as_str() {
                return Err(KeyError::Malformed(path));
            }
            let held = Self::held(zone);
            let s = |name: &str, v: Option<&String>| -> Result<Secret32, KeyError> {
                match (held.contains(&name), v) {
                    (true, Some(v)) => unhex32(v, &path).map(Secret32::from_bytes),
                    // A zone never holds another zone's pepper, even if a file carries it.
                    (false, _) => Ok(Secret32::from_bytes(random_seed()?)),
                    (true, None) => Err(KeyError::Malformed(path.clone())),
                }
            };
            let peppers = Peppers {
                receipt: s("receipt", Some(&p.receipt))?,
                reply: s("reply", p.reply.as_ref())?,
                claim: s("claim", p.claim.as_ref())?,
                alias: s("alias", p.alias.as_ref())?,
                blind_index: s("blind_index", p.blind_index.as_ref())?,
                token: s("token", Some(&p.token))?,
                idempotency: s("idempotency", p.idempotency.as_ref())?,
            };
            return Ok((zone, peppers, p.split_from));
        }
        Err(KeyError::Read {
            path: single,
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no peppers file"),
        })
    }

    /// Records the trusted nodes of the other zone (at start, from the database).
    pub fn set_peers(&self, peers: Vec<super::kem::KemPublic>) {
        if let Ok(mut p) = self.peers.write() {
            *p = peers;
        }
    }

    /// Sets where the trusted senders are looked up again when no known sender's seal opens.
    pub fn set_peer_source(&self, source: PeerSource) {
        if let Ok(mut p) = self.peer_source.write() {
            *p = Some(source);
        }
    }

    /// The lookup [`set_peer_source`](Self::set_peer_source) set, for an opener's reload.
    pub fn peer_reload(&self) -> Option<super::open::ReloadSenders> {
        let src = self.peer_source.read().ok()?.clone()?;
        Some(Box::new(move || src()))
    }

    /// Node keys whose HPKE auth-mode seals this node accepts: its own and its trusted peers'.
    pub fn senders(&self) -> Vec<super::kem::KemPublic> {
        let mut out = vec![self.node.public.clone()];
        if let Ok(p) = self.peers.read() {
            out.extend(p.iter().cloned());
        }
        out
    }

    /// This node's public identity.
    pub fn node_public(&self) -> NodePublic {
        NodePublic {
            zone: self.zone.as_str().into(),
            node_id: self.node.key_id.clone(),
            kem_public: hex::encode(kem_public_bytes(&self.node.public)),
            sign_public: hex::encode(self.audit_verifier().to_bytes()),
        }
    }

    /// An opener for the office keys that also accepts epochs sealed by `senders` (trusted
    /// intake nodes, whose node keys differ from this one's).
    pub fn office_opener_trusting(&self, senders: Vec<super::kem::KemPublic>) -> Option<Opener> {
        let mut opener = self.office_opener()?;
        opener.add_senders(senders);
        Some(opener)
    }

    /// The identities of the other police nodes on this database whose audit signatures this
    /// node accepts: `police-nodes/*.json` in the keys dir (`ferry identity` output).
    pub fn police_peers(&self) -> Vec<NodePublic> {
        let mut files: Vec<PathBuf> = fs::read_dir(self.dir.join(POLICE_NODES_DIR))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        files
            .iter()
            .filter_map(|p| fs::read_to_string(p).ok())
            .filter_map(|t| serde_json::from_str::<NodePublic>(&t).ok())
            .filter(|n| n.zone == Zone::Police.as_str())
            .collect()
    }

    /// A keys dir for another police node on the same database (issue 18): a copy of the
    /// police dir `src` with a node key of its own. The database accepts it once `tipline ferry
    /// trust` of its identity ran at a police node.
    pub fn police_node(src: &Path, dest: &Path, pass_file: Option<&Path>) -> Result<(), KeyError> {
        let ring = Self::load_with(src, pass_file.map(Passphrase::from_file).transpose()?)?;
        let pass = pass_file.map(Passphrase::from_file).transpose()?;
        if ring.zone != Zone::Police {
            return Err(KeyError::Malformed(src.join(Zone::Police.pepper_file())));
        }
        if Self::present(dest) {
            return Err(KeyError::Exists(dest.to_path_buf()));
        }
        fs::create_dir_all(dest).map_err(|source| KeyError::Write {
            path: dest.to_path_buf(),
            source,
        })?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = fs::set_permissions(dest, fs::Permissions::from_mode(0o700));
        }
        let node_files = [format!("{NODE}.key"), format!("{NODE}.pub")];
        for entry in fs::read_dir(src)
            .map_err(|source| KeyError::Read {
                path: src.to_path_buf(),
                source,
            })?
            .flatten()
        {
            let name = entry.file_name().to_string_lossy().into_owned();
            if node_files.contains(&name) || !entry.path().is_file() {
                continue;
            }
            let to = dest.join(&name);
            if name.ends_with(".key") {
                write_private(&to, &read_file(&entry.path())?, None)?;
            } else {
                fs::copy(entry.path(), &to)
                    .map_err(|source| KeyError::Write { path: to, source })?;
            }
        }
        // The new node accepts the audit signatures of the node it was made from.
        let peers = dest.join(POLICE_NODES_DIR);
        fs::create_dir_all(&peers).map_err(|source| KeyError::Write {
            path: peers.clone(),
            source,
        })?;
        let me = ring.node_public();
        let id_file = peers.join(format!("{}.json", me.node_id));
        fs::write(
            &id_file,
            serde_json::to_string_pretty(&me).unwrap_or_default(),
        )
        .map_err(|source| KeyError::Write {
            path: id_file,
            source,
        })?;
        write_new_pair(dest, NODE, pass.as_ref())
    }

    /// Splits a complete single-zone keys dir into an intake dir and a police dir (issue 18).
    /// The police dir keeps the office private key, the node key (its audit signatures stay
    /// valid) and the staff token pepper, gets a new relay keypair of its own for staff notices
    /// and the edge's `relay.pub` as `reporter-relay.pub`; the intake dir gets the relay
    /// keypair, a new node key and a new token pepper. Both keep the receipt pepper, so receipts made in either zone
    /// resolve in the other. Private files are copied as they are (protected stays protected).
    pub fn split(
        src: &Path,
        intake: &Path,
        police: &Path,
        pass_file: Option<&Path>,
    ) -> Result<(), KeyError> {
        let ring = Self::load_with(src, pass_file.map(Passphrase::from_file).transpose()?)?;
        let pass = pass_file.map(Passphrase::from_file).transpose()?;
        let pass = pass.as_ref();
        if ring.zone != Zone::Single || ring.office_private.is_empty() {
            return Err(KeyError::Malformed(src.join(format!("{PEPPERS}.key"))));
        }
        for dir in [intake, police] {
            if Self::present(dir) {
                return Err(KeyError::Exists(dir.to_path_buf()));
            }
            fs::create_dir_all(dir).map_err(|source| KeyError::Write {
                path: dir.to_path_buf(),
                source,
            })?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o700));
            }
        }
        let copy = |name: &str, to: &Path| -> Result<(), KeyError> {
            let from = src.join(name);
            let text = read_file(&from)?;
            let dest = to.join(name);
            if name.ends_with(".key") {
                // Already wrapped (or plain): copied as is.
                write_private(&dest, &text, None)
            } else {
                fs::write(&dest, text).map_err(|source| KeyError::Write { path: dest, source })
            }
        };
        for name in ["office.key", "office.pub", "node.key", "node.pub"] {
            copy(name, police)?;
        }
        // Reporters' jobs stay sealed to the edge's relay key; staff notices (staff addresses
        // are staff data, the intranet mail server is in the police zone) get a police relay
        // keypair, whose private half never leaves the police zone.
        fs::copy(src.join("relay.pub"), police.join(REPORTER_RELAY_FILE)).map_err(|source| {
            KeyError::Write {
                path: police.join(REPORTER_RELAY_FILE),
                source,
            }
        })?;
        write_new_pair(police, RELAY, pass)?;
        for name in ["office.pub", "relay.key", "relay.pub"] {
            copy(name, intake)?;
        }
        write_new_pair(intake, NODE, pass)?;
        let h = |s: &Secret32| hex::encode(s.expose());
        let p = &ring.peppers;
        let from = ring
            .fingerprints()
            .into_iter()
            .find(|(k, _)| k == PEPPERS)
            .map(|(_, f)| f);
        let police_file = ZonePepperFile {
            zone: Zone::Police.as_str().into(),
            receipt: h(&p.receipt),
            reply: None,
            claim: Some(h(&p.claim)),
            alias: None,
            blind_index: Some(h(&p.blind_index)),
            token: h(&p.token),
            idempotency: None,
            split_from: from.clone(),
        };
        let intake_file = ZonePepperFile {
            zone: Zone::Intake.as_str().into(),
            receipt: h(&p.receipt),
            reply: Some(h(&p.reply)),
            claim: None,
            alias: Some(h(&p.alias)),
            blind_index: None,
            token: hex::encode(random_seed()?),
            idempotency: Some(h(&p.idempotency)),
            split_from: from,
        };
        write_private(
            &police.join(Zone::Police.pepper_file()),
            &serde_json::to_string_pretty(&police_file).unwrap_or_default(),
            pass,
        )?;
        write_private(
            &intake.join(Zone::Intake.pepper_file()),
            &serde_json::to_string_pretty(&intake_file).unwrap_or_default(),
            pass,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generate_load_and_refuse_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        Keyring::generate(dir.path()).unwrap();
        let k = Keyring::load(dir.path()).unwrap();
        assert!(k.office_opener().is_some());
        assert_eq!(k.fingerprints().len(), 4);
        assert!(matches!(
            Keyring::generate(dir.path()),
            Err(KeyError::Exists(_))
        ));
        let again = Keyring::load(dir.path()).unwrap();
        assert_eq!(k.fingerprints(), again.fingerprints());
    }

    #[test]
    fn protected_files_need_the_passphrase() {
        let dir = tempfile::tempdir().unwrap();
        Keyring::generate(dir.path()).unwrap();
        let plain = Keyring::load(dir.path()).unwrap().fingerprints();
        let pf = dir.path().join("pass");
        fs::write(&pf, "s3cret\n").unwrap();
        let pass = Passphrase::from_file(&pf).unwrap();
        assert_eq!(Keyring::protect_dir(dir.path(), &pass).unwrap().len(), 4);
        assert!(Keyring::protect_dir(dir.path(), &pass).unwrap().is_empty());
        assert!(matches!(
            Keyring::load(dir.path()),
            Err(KeyError::NeedsPassphrase(_))
        ));
        fs::write(&pf, "wrong").unwrap();
        assert!(matches!(
            Keyring::load_with(dir.path(), Some(Passphrase::from_file(&pf).unwrap())),
            Err(KeyError::WrongPassphrase(_))
        ));
        fs::write(&pf, "s3cret").unwrap();
        let k = Keyring::load_with(dir.path(), Some(Passphrase::from_file(&pf).unwrap())).unwrap();
        assert_eq!(k.fingerprints(), plain);
    }

    #[test]
    fn split_gives_each_zone_only_its_keys() {
        let root = tempfile::tempdir().unwrap();
        let (full, intake, police) = (
            root.path().join("full"),
            root.path().join("intake"),
            root.path().join("police"),
        );
        Keyring::generate(&full).unwrap();
        Keyring::split(&full, &intake, &police, None).unwrap();
        let (f, i, p) = (
            Keyring::load(&full).unwrap(),
            Keyring::load(&intake).unwrap(),
            Keyring::load(&police).unwrap(),
        );
        assert_eq!(
            (i.zone, p.zone, f.zone),
            (Zone::Intake, Zone::Police, Zone::Single)
        );
        assert!(i.office_opener().is_none() && i.relay_opener().is_some());
        assert!(p.office_opener().is_some() && p.relay_opener().is_some());
        // The police relay key is its own (staff notices); reporters' jobs stay sealed to
        // the edge's.
        assert_ne!(p.relay.key_id, f.relay.key_id);
        assert_eq!(p.reporter_relay.key_id, f.relay.key_id);
        assert_eq!(
            (i.relay.key_id.as_str(), i.reporter_relay.key_id.as_str()),
            (f.relay.key_id.as_str(), f.relay.key_id.as_str())
        );
        assert!(!intake.join(REPORTER_RELAY_FILE).exists());
        assert_eq!(p.node.key_id, f.node.key_id);
        assert_ne!(i.node.key_id, f.node.key_id);
        let same = |a: &Secret32, b: &Secret32| a.expose() == b.expose();
        assert!(same(&i.peppers.receipt, &f.peppers.receipt));
        assert!(same(&p.peppers.receipt, &f.peppers.receipt));
        assert!(same(&i.peppers.reply, &f.peppers.reply));
        assert!(same(&p.peppers.claim, &f.peppers.claim));
        assert!(same(&p.peppers.token, &f.peppers.token));
        // What a zone does not hold is random at each load.
        assert!(!same(&i.peppers.claim, &f.peppers.claim));
        assert!(!same(&i.peppers.blind_index, &f.peppers.blind_index));
        assert!(!same(&p.peppers.reply, &f.peppers.reply));
        assert!(!same(&i.peppers.token, &f.peppers.token));
        // Stable fingerprints, one per zone.
        assert_eq!(
            i.fingerprints(),
            Keyring::load(&intake).unwrap().fingerprints()
        );
        assert!(matches!(
            Keyring::split(&full, &intake, &police, None),
            Err(KeyError::Exists(_))
        ));
    }

    #[test]
    fn rotate_keeps_the_old_key_until_retired() {
        let dir = tempfile::tempdir().unwrap();
        Keyring::generate(dir.path()).unwrap();
        let before = Keyring::load(dir.path()).unwrap();
        let (old, new) = Keyring::rotate_files(dir.path(), OFFICE, None).unwrap();
        assert_eq!(old, before.office.key_id);
        assert!(matches!(
            Keyring::rotate_files(dir.path(), OFFICE, None),
            Err(KeyError::RotationPending { .. })
        ));
        let after = Keyring::load(dir.path()).unwrap();
        assert_eq!(after.office.key_id, new);
        assert_eq!(after.old_key(OFFICE), Some(old.as_str()));
        let opener = after.office_opener().unwrap();
        assert!(opener.holds(&old) && opener.holds(&new));
        assert_eq!(
            Keyring::current_public(dir.path(), OFFICE).unwrap().key_id,
            new
        );
        assert_eq!(Keyring::retire_file(dir.path(), OFFICE).unwrap(), old);
        let retired = Keyring::load(dir.path()).unwrap();
        assert!(retired.old_key(OFFICE).is_none());
        assert!(!retired.office_opener().unwrap().holds(&old));
    }
}
