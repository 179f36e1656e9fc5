//! Everything secret passes through here: keys, sealing, receipts, tokens.

pub mod blind;
pub mod kem;
pub mod keyring;
pub mod open;
pub mod receipt;
pub mod reply;
pub mod seal;
pub mod stream;
pub mod token;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("the system random number generator failed")]
    Random,
    #[error("a sealed object failed authentication (wrong key, or the data was altered)")]
    Open,
    #[error("sealing failed")]
    Seal,
    #[error("malformed key material: {0}")]
    KeyMaterial(String),
}

/// A 256-bit secret that wipes itself when dropped and never prints.
#[derive(Clone)]
pub struct Secret32(Zeroizing<[u8; 32]>);

impl Secret32 {
    pub fn random() -> Result<Self, CryptoError> {
        let mut k = Zeroizing::new([0u8; 32]);
        getrandom::fill(k.as_mut()).map_err(|_| CryptoError::Random)?;
        Ok(Self(k))
    }
    pub fn from_bytes(b: [u8; 32]) -> Self {
        Self(Zeroizing::new(b))
    }
    pub fn from_slice(b: &[u8]) -> Result<Self, CryptoError> {
        let arr: [u8; 32] = b
            .try_into()
            .map_err(|_| CryptoError::KeyMaterial("expected 32 bytes".into()))?;
        Ok(Self::from_bytes(arr))
    }
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for Secret32 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret32(..)")
    }
}

pub fn random_bytes<const N: usize>() -> Result<[u8; N], CryptoError> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|_| CryptoError::Random)?;
    Ok(b)
}

/// HMAC-SHA256 over the parts, each length-prefixed so that ("ab","c") and ("a","bc") differ.
pub fn keyed_hash(key: &Secret32, parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key.expose())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    for p in parts {
        mac.update(&(p.len() as u64).to_be_bytes());
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// Derives a purpose-bound subkey, so one pepper file can serve several uses without reuse.
pub fn subkey(key: &Secret32, purpose: &str) -> Secret32 {
    Secret32::from_bytes(keyed_hash(key, &[b"tipline-subkey-v1", purpose.as_bytes()]))
}

pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    Sha256::digest(data).into()
}
