//! The bundle file: one line of JSON (the body), one line with the hex Ed25519 signature of
//! it. The body names its sender node, its sequence number and the hash of the body before it,
//! so a receiver can refuse a gap, a fork, a replay or a changed byte.

use super::FerryError;
use super::records::Record;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

pub const FORMAT: &str = "tipline-ferry/1";
const SIGNING_CONTEXT: &[u8] = b"tipline ferry bundle v1\n";
/// The `prev` of a node's first bundle.
pub const GENESIS: &str = "";

#[derive(Serialize, Deserialize, Debug)]
pub struct Body {
    pub format: String,
    /// The sending stream's id: the sending node's key id, or for police nodes sharing one
    /// database the zone's one stream (the first police node's id).
    pub from: String,
    /// The node key that signed, when it is not `from`'s (another police node of the same
    /// database, issue 18). Only a police stream may carry one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
    pub from_zone: String,
    pub to_zone: String,
    pub seq: i64,
    /// Hex SHA-256 of the previous body from the same node; empty for the first.
    pub prev: String,
    /// The hour the bundle was written (never finer).
    pub hour: i64,
    pub records: Vec<Record>,
}

/// A bundle as read from a file: its body, the exact body bytes and the signature.
pub struct Bundle {
    pub body: Body,
    pub bytes: Vec<u8>,
    pub signature: Vec<u8>,
}

impl Bundle {
    /// SHA-256 of the body bytes, hex: what the next bundle names as `prev`.
    pub fn hash(&self) -> String {
        hex::encode(crate::crypto::sha256(&self.bytes))
    }

    pub fn verify(&self, key: &VerifyingKey) -> bool {
        let Ok(sig) = Signature::from_slice(&self.signature) else {
            return false;
        };
        key.verify(&signed(&self.bytes), &sig).is_ok()
    }
}

fn signed(body: &[u8]) -> Vec<u8> {
    [SIGNING_CONTEXT, body].concat()
}

/// The file name of bundle `seq` from `node`: sorting names sorts a node's bundles.
pub fn file_name(node: &str, seq: i64) -> String {
    format!("{node}-{seq:010}.bundle")
}

/// Serializes and signs a body. Returns (file contents, body hash).
pub fn seal(body: &Body, key: &SigningKey) -> (Vec<u8>, String) {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let sig = key.sign(&signed(&bytes));
    let hash = hex::encode(crate::crypto::sha256(&bytes));
    let mut out = bytes;
    out.push(b'\n');
    out.extend_from_slice(hex::encode(sig.to_bytes()).as_bytes());
    out.push(b'\n');
    (out, hash)
}

/// Parses a bundle file's contents (no checks beyond the shape).
pub fn parse(file: &str, contents: &[u8]) -> Result<Bundle, FerryError> {
    let bad = |why: &str| FerryError::Malformed {
        file: file.to_string(),
        why: why.to_string(),
    };
    let text = contents.strip_suffix(b"\n").unwrap_or(contents);
    let split = text
        .iter()
        .rposition(|b| *b == b'\n')
        .ok_or_else(|| bad("no signature line"))?;
    let (bytes, sig_line) = (&text[..split], &text[split + 1..]);
    let signature = hex::decode(sig_line).map_err(|_| bad("the signature line is not hex"))?;
    let body: Body = serde_json::from_slice(bytes).map_err(|e| {
        // A changed byte in the body usually breaks the JSON before the signature check.
        bad(&format!("the body does not parse: {e}"))
    })?;
    if body.format != FORMAT {
        return Err(bad("unknown format"));
    }
    Ok(Bundle {
        body,
        bytes: bytes.to_vec(),
        signature,
    })
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> FerryError + '_ {
    move |source| FerryError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `contents` as `dir/name` atomically: a hidden temporary file, fsync, rename, fsync
/// of the directory. A gap device that copies `*.bundle` never sees half a file.
pub fn write_atomic(dir: &Path, name: &str, contents: &[u8]) -> Result<PathBuf, FerryError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let tmp = dir.join(format!(".{name}.tmp"));
    let dest = dir.join(name);
    {
        let mut f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
        f.write_all(contents).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
    }
    std::fs::rename(&tmp, &dest).map_err(io(&dest))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(dest)
}

/// The `*.bundle` files in `dir`, by name.
pub fn list(dir: &Path) -> Result<Vec<PathBuf>, FerryError> {
    let mut out: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "bundle"))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(io(dir)(e)),
    };
    out.sort();
    Ok(out)
}
