//! The keys dir (DESIGN.md section 2): office and relay HPKE keypairs, the node identity
//! (HPKE auth key and Ed25519 audit signing key) and the peppers. Nothing here ever goes into
//! the database; the database records only public fingerprints, so a start with the wrong
//! keys stops instead of sealing tips to a key nobody holds.

use super::seal::{
    KemPrivate, NodeIdentity, Opener, Recipient, kem_keypair_from_seed, kem_public_bytes,
    kem_public_from_bytes,
};
use super::{Secret32, keyed_hash, sha256};
use serde::{Deserialize, Serialize};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

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

pub struct Keyring {
    pub dir: PathBuf,
    pub office: Recipient,
    office_private: Option<KemPrivate>,
    pub relay: Recipient,
    relay_private: Option<KemPrivate>,
    pub node: NodeIdentity,
    pub node_signing: Secret32,
    pub peppers: Peppers,
}

pub const OFFICE: &str = "office";
pub const RELAY: &str = "relay";
pub const NODE: &str = "node";
pub const PEPPERS: &str = "peppers";

fn key_id_of(public: &[u8]) -> String {
    hex::encode(&sha256(public)[..8])
}

fn write_private(path: &Path, contents: &str) -> Result<(), KeyError> {
    if path.exists() {
        return Err(KeyError::Exists(path.to_path_buf()));
    }
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
    }

    /// Creates a complete new set of keys in `dir`.
    pub fn generate(dir: &Path) -> Result<(), KeyError> {
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
            let seed = random_seed()?;
            let signing = if kind == NODE {
                Some(random_seed()?)
            } else {
                None
            };
            let (public, private) = keypair_json(kind, &seed, signing.as_ref());
            write_private(&dir.join(format!("{kind}.key")), &private)?;
            let pub_path = dir.join(format!("{kind}.pub"));
            fs::write(&pub_path, public).map_err(|source| KeyError::Write {
                path: pub_path.clone(),
                source,
            })?;
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
        )
    }

    fn load_pair(dir: &Path, kind: &str) -> Result<(KeypairFile, PathBuf), KeyError> {
        let private = dir.join(format!("{kind}.key"));
        let path = if private.exists() {
            check_private_mode(&private)?;
            private
        } else {
            dir.join(format!("{kind}.pub"))
        };
        let f: KeypairFile = serde_json::from_str(&read_file(&path)?)
            .map_err(|_| KeyError::Malformed(path.clone()))?;
        if f.kind != kind {
            return Err(KeyError::Malformed(path));
        }
        Ok((f, path))
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
        let (office_f, office_path) = Self::load_pair(dir, OFFICE)?;
        let office = Self::recipient(&office_f, &office_path)?;
        let office_private = Self::private_of(&office_f, &office, office_path)?;
        let (relay_f, relay_path) = Self::load_pair(dir, RELAY)?;
        let relay = Self::recipient(&relay_f, &relay_path)?;
        let relay_private = Self::private_of(&relay_f, &relay, relay_path)?;

        let node_path = dir.join(format!("{NODE}.key"));
        let (node_f, node_path) = match Self::load_pair(dir, NODE)? {
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

        let pepper_path = dir.join(format!("{PEPPERS}.key"));
        check_private_mode(&pepper_path)?;
        let p: PepperFile = serde_json::from_str(&read_file(&pepper_path)?)
            .map_err(|_| KeyError::Malformed(pepper_path.clone()))?;
        let s = |v: &str| unhex32(v, &pepper_path).map(Secret32::from_bytes);
        let peppers = Peppers {
            receipt: s(&p.receipt)?,
            reply: s(&p.reply)?,
            claim: s(&p.claim)?,
            alias: s(&p.alias)?,
            blind_index: s(&p.blind_index)?,
            token: s(&p.token)?,
            idempotency: s(&p.idempotency)?,
        };
        Ok(Self {
            dir: dir.to_path_buf(),
            office,
            office_private,
            relay,
            relay_private,
            node: NodeIdentity {
                key_id: node_recipient.key_id,
                private: nsk,
                public: npk,
            },
            node_signing,
            peppers,
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
            let all = Secret32::from_bytes(sha256(&parts.concat()));
            hex::encode(&keyed_hash(&all, &[b"pepper-fingerprint"])[..8])
        };
        vec![
            (OFFICE.into(), self.office.key_id.clone()),
            (RELAY.into(), self.relay.key_id.clone()),
            (NODE.into(), self.node.key_id.clone()),
            (PEPPERS.into(), pepper_fp),
        ]
    }

    /// An opener for the office key, if this node holds it (police zone).
    pub fn office_opener(&self) -> Option<Opener> {
        self.office_private.as_ref().map(|sk| {
            Opener::new(
                self.office.key_id.clone(),
                sk.clone(),
                vec![self.node.public.clone()],
            )
        })
    }
}

impl Keyring {
    /// An opener for the relay key (contact envelopes, outbox payloads), if this node holds it.
    pub fn relay_opener(&self) -> Option<Opener> {
        self.relay_private.as_ref().map(|sk| {
            Opener::new(
                self.relay.key_id.clone(),
                sk.clone(),
                vec![self.node.public.clone()],
            )
        })
    }

    /// The node's Ed25519 key: signs audit entries.
    pub fn audit_signer(&self) -> ed25519_dalek::SigningKey {
        ed25519_dalek::SigningKey::from_bytes(self.node_signing.expose())
    }

    pub fn audit_verifier(&self) -> ed25519_dalek::VerifyingKey {
        self.audit_signer().verifying_key()
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
}
