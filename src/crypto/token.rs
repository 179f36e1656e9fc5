//! Sealed, expiring tokens carried by clients (captcha ids, form tokens). Any node holding the
//! token key can check them, so they work across nodes without shared memory.

use super::seal::{aead_open, aead_seal};
use super::{Secret32, keyed_hash};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("the token is not valid")]
    Invalid,
    #[error("the token has expired")]
    Expired,
}

/// Longest token we accept, so a hostile id never costs more than a small decode.
const MAX_TOKEN_LEN: usize = 512;

pub fn seal_token(
    key: &Secret32,
    purpose: &str,
    expires_at: i64,
    payload: &[u8],
) -> Option<String> {
    let mut pt = Vec::with_capacity(8 + payload.len());
    pt.extend_from_slice(&expires_at.to_be_bytes());
    pt.extend_from_slice(payload);
    let sealed = aead_seal(key, purpose.as_bytes(), &pt).ok()?;
    Some(URL_SAFE_NO_PAD.encode(sealed))
}

/// Opens a token and returns its payload if it is authentic and not expired at `now`.
pub fn open_token(
    key: &Secret32,
    purpose: &str,
    token: &str,
    now: i64,
) -> Result<Vec<u8>, TokenError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(TokenError::Invalid);
    }
    let raw = URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| TokenError::Invalid)?;
    let pt = aead_open(key, purpose.as_bytes(), &raw).map_err(|_| TokenError::Invalid)?;
    if pt.len() < 8 {
        return Err(TokenError::Invalid);
    }
    let mut exp = [0u8; 8];
    exp.copy_from_slice(&pt[..8]);
    if i64::from_be_bytes(exp) < now {
        return Err(TokenError::Expired);
    }
    Ok(pt[8..].to_vec())
}

/// Keyed fingerprint of a token, for single-use bookkeeping in the database.
pub fn token_fingerprint(key: &Secret32, purpose: &str, token: &str) -> Vec<u8> {
    keyed_hash(key, &[b"token-fp", purpose.as_bytes(), token.as_bytes()]).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_expire_and_bind_purpose() {
        let k = Secret32::random().unwrap();
        let t = seal_token(&k, "captcha", 100, b"2345").unwrap();
        assert_eq!(open_token(&k, "captcha", &t, 50).unwrap(), b"2345");
        assert_eq!(open_token(&k, "captcha", &t, 101), Err(TokenError::Expired));
        assert_eq!(open_token(&k, "form", &t, 50), Err(TokenError::Invalid));
        assert_eq!(
            open_token(&k, "captcha", "garbage!", 50),
            Err(TokenError::Invalid)
        );
    }
}
