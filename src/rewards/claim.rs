//! Claim codes: 18 random digits and a Damm check digit, made when finance signs. Stored only
//! as a keyed slow hash (for finance's lookup) and sealed to the reporter's reply key (so only
//! the receipt holder can read it); both are deleted at payout or expiry.
//!
//! Why 19 digits under Argon2id (issue 14, item 8): the hash must resist whoever holds the
//! peppers file and a copy of the database. Twelve digits (40 bits) under HMAC fell to an
//! offline search in hours. Now each guess costs one Argon2id evaluation (19 MiB, two passes,
//! the claim pepper as its secret) over a 60-bit space: about 10^18 guesses of tens of
//! milliseconds of memory-hard work each, out of reach even for a farm of GPUs and a thousand
//! live codes at once. Nineteen digits also differ from a receipt's twenty, so a receipt shown
//! at the counter by mistake is refused by its length, never looked up.
//!
//! Codes issued before (13 digits, HMAC) are still accepted until they are paid or expire.

use crate::crypto::receipt::{
    ReceiptError, group4, normalize_digits, random_digits, with_check_digit,
};
use crate::crypto::{CryptoError, Secret32, keyed_hash};
use zeroize::Zeroizing;

pub const CLAIM_DIGITS: usize = 19;
/// Codes issued before issue 14: 12 random digits and a check digit, hashed with HMAC.
pub const LEGACY_CLAIM_DIGITS: usize = 13;

pub struct ClaimCode(Zeroizing<String>);

impl std::fmt::Debug for ClaimCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClaimCode(..)")
    }
}

/// The Argon2id parameters of the claim-code hash (the crate's defaults for passwords: 19 MiB,
/// two passes, one lane). Changing them changes every hash: a new salt label must come with it.
fn claim_hasher(pepper: &Secret32) -> Result<argon2::Argon2<'_>, CryptoError> {
    argon2::Argon2::new_with_secret(
        pepper.expose(),
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        argon2::Params::default(),
    )
    .map_err(|_| CryptoError::Seal)
}

impl ClaimCode {
    pub fn generate() -> Result<Self, CryptoError> {
        Ok(Self(Zeroizing::new(with_check_digit(&random_digits(
            CLAIM_DIGITS - 1,
        )?))))
    }

    /// Accepts what a person typed: full-width digits, spaces and dashes; checks the digit.
    pub fn parse(input: &str) -> Result<Self, ReceiptError> {
        match normalize_digits(input, CLAIM_DIGITS) {
            Err(ReceiptError::Length) => normalize_digits(input, LEGACY_CLAIM_DIGITS),
            other => other,
        }
        .map(|d| Self(Zeroizing::new(d)))
    }

    pub fn digits(&self) -> &str {
        &self.0
    }

    pub fn display(&self) -> String {
        group4(&self.0)
    }

    /// The lookup hash: Argon2id keyed with the claim pepper (a legacy code: HMAC). Slow on
    /// purpose (see the module comment); compute it outside a transaction where possible.
    pub fn hash(&self, pepper: &Secret32) -> Result<[u8; 32], CryptoError> {
        if self.0.len() == LEGACY_CLAIM_DIGITS {
            return Ok(keyed_hash(pepper, &[b"claim", self.0.as_bytes()]));
        }
        let mut out = [0u8; 32];
        claim_hasher(pepper)?
            .hash_password_into(self.0.as_bytes(), b"tipline-claim-code-v2", &mut out)
            .map_err(|_| CryptoError::Seal)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_typos_are_caught() {
        let c = ClaimCode::generate().unwrap();
        assert_eq!(c.digits().len(), 19);
        let shown = c.display();
        assert_eq!(ClaimCode::parse(&shown).unwrap().digits(), c.digits());
        let mut typo: Vec<char> = c.digits().chars().collect();
        typo[3] = if typo[3] == '9' {
            '0'
        } else {
            char::from(typo[3] as u8 + 1)
        };
        let typo: String = typo.into_iter().collect();
        assert_eq!(
            ClaimCode::parse(&typo).unwrap_err(),
            ReceiptError::CheckDigit
        );
        assert_eq!(ClaimCode::parse("123").unwrap_err(), ReceiptError::Length);
        // A receipt (20 digits) is never taken for a claim code.
        let receipt = crate::crypto::receipt::Receipt::generate().unwrap();
        assert_eq!(
            ClaimCode::parse(receipt.digits()).unwrap_err(),
            ReceiptError::Length
        );
    }

    #[test]
    fn the_hash_is_keyed_deterministic_and_not_the_fast_hmac() {
        let pepper = Secret32::from_bytes([7; 32]);
        let other = Secret32::from_bytes([8; 32]);
        let c = ClaimCode::generate().unwrap();
        let h = c.hash(&pepper).unwrap();
        assert_eq!(h, c.hash(&pepper).unwrap());
        assert_ne!(h, c.hash(&other).unwrap(), "the pepper keys it");
        assert_ne!(h, keyed_hash(&pepper, &[b"claim", c.digits().as_bytes()]));
        let legacy = ClaimCode::parse(&with_check_digit("123456789012")).unwrap();
        assert_eq!(
            legacy.hash(&pepper).unwrap(),
            keyed_hash(&pepper, &[b"claim", legacy.digits().as_bytes()])
        );
    }
}
