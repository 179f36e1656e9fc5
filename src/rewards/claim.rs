//! Claim codes: 12 random digits and a Damm check digit, made when finance signs. Stored only
//! as a keyed hash (for finance's lookup) and sealed to the reporter's reply key (so only the
//! receipt holder can read it); both are deleted at payout or expiry.

use crate::crypto::receipt::{
    ReceiptError, group4, normalize_digits, random_digits, with_check_digit,
};
use crate::crypto::{CryptoError, Secret32, keyed_hash};
use zeroize::Zeroizing;

pub const CLAIM_DIGITS: usize = 13;

pub struct ClaimCode(Zeroizing<String>);

impl std::fmt::Debug for ClaimCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClaimCode(..)")
    }
}

impl ClaimCode {
    pub fn generate() -> Result<Self, CryptoError> {
        Ok(Self(Zeroizing::new(with_check_digit(&random_digits(
            CLAIM_DIGITS - 1,
        )?))))
    }

    /// Accepts what a person typed: full-width digits, spaces and dashes; checks the digit.
    pub fn parse(input: &str) -> Result<Self, ReceiptError> {
        normalize_digits(input, CLAIM_DIGITS).map(|d| Self(Zeroizing::new(d)))
    }

    pub fn digits(&self) -> &str {
        &self.0
    }

    pub fn display(&self) -> String {
        group4(&self.0)
    }

    pub fn hash(&self, pepper: &Secret32) -> [u8; 32] {
        keyed_hash(pepper, &[b"claim", self.0.as_bytes()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_typos_are_caught() {
        let c = ClaimCode::generate().unwrap();
        assert_eq!(c.digits().len(), 13);
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
    }
}
