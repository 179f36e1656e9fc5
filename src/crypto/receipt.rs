//! Receipts: the reporter's only link to a tip. 19 random digits (about 63 bits) plus a
//! Damm check digit, so a single typo or swapped pair is caught before any lookup.

use super::{CryptoError, Secret32, keyed_hash};
use unicode_normalization::UnicodeNormalization;
use zeroize::Zeroizing;

pub const RECEIPT_DIGITS: usize = 20;

/// A receipt in the clear. It exists only in memory, between generation and the response.
#[derive(Clone, PartialEq, Eq)]
pub struct Receipt(Zeroizing<String>);

impl std::fmt::Debug for Receipt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Receipt(..)")
    }
}

/// The keyed hash under which a receipt is stored; the pepper never leaves the keys dir.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptHash(pub [u8; 32]);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReceiptError {
    #[error("a receipt has 20 digits")]
    Length,
    #[error("the receipt contains characters other than digits, spaces and dashes")]
    Characters,
    #[error("the check digit does not match: the receipt was mistyped")]
    CheckDigit,
}

const DAMM: [[u8; 10]; 10] = [
    [0, 3, 1, 7, 5, 9, 8, 6, 4, 2],
    [7, 0, 9, 2, 1, 5, 4, 8, 6, 3],
    [4, 2, 0, 6, 8, 7, 1, 3, 5, 9],
    [1, 7, 5, 0, 9, 8, 3, 4, 2, 6],
    [6, 1, 2, 3, 0, 4, 5, 9, 7, 8],
    [3, 6, 7, 4, 2, 0, 9, 5, 8, 1],
    [5, 8, 6, 9, 7, 2, 0, 1, 3, 4],
    [8, 9, 4, 5, 3, 6, 2, 0, 1, 7],
    [9, 4, 3, 8, 6, 1, 7, 2, 0, 5],
    [2, 5, 8, 1, 4, 3, 6, 7, 9, 0],
];

/// Damm check digit of a string of ASCII digits.
pub fn damm(digits: &str) -> u8 {
    digits
        .bytes()
        .fold(0u8, |acc, d| DAMM[acc as usize][(d - b'0') as usize])
}

/// `n` uniformly random decimal digits (rejection sampling, so no digit is favoured).
pub fn random_digits(n: usize) -> Result<String, CryptoError> {
    let mut out = String::with_capacity(n);
    while out.len() < n {
        let b = super::random_bytes::<32>()?;
        for byte in b {
            // 250 is the largest multiple of 10 below 256.
            if byte < 250 && out.len() < n {
                out.push(char::from(b'0' + byte % 10));
            }
        }
    }
    Ok(out)
}

/// Appends the Damm check digit.
pub fn with_check_digit(body: &str) -> String {
    let mut s = body.to_string();
    s.push(char::from(b'0' + damm(body)));
    s
}

/// Normalizes what a person typed: NFKC (full-width digits from Chinese input methods),
/// then drops spaces and dashes of any width.
pub fn normalize_digits(input: &str, expected_len: usize) -> Result<String, ReceiptError> {
    let mut out = String::with_capacity(expected_len);
    for c in input.nfkc() {
        match c {
            '0'..='9' => out.push(c),
            ' ' | '-' | '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{3000}' | '\t' => {}
            _ => return Err(ReceiptError::Characters),
        }
        if out.len() > expected_len {
            return Err(ReceiptError::Length);
        }
    }
    if out.len() != expected_len {
        return Err(ReceiptError::Length);
    }
    if damm(&out) != 0 {
        return Err(ReceiptError::CheckDigit);
    }
    Ok(out)
}

/// Groups digits by four with dashes: `1234-5678-9012-3456-7890`.
pub fn group4(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 4);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push('-');
        }
        out.push(c);
    }
    out
}

impl Receipt {
    pub fn generate() -> Result<Self, CryptoError> {
        let body = random_digits(RECEIPT_DIGITS - 1)?;
        Ok(Self(Zeroizing::new(with_check_digit(&body))))
    }

    pub fn parse(input: &str) -> Result<Self, ReceiptError> {
        normalize_digits(input, RECEIPT_DIGITS).map(|d| Self(Zeroizing::new(d)))
    }

    pub fn digits(&self) -> &str {
        &self.0
    }

    pub fn display(&self) -> String {
        group4(&self.0)
    }

    pub fn hash(&self, pepper: &Secret32) -> ReceiptHash {
        ReceiptHash(keyed_hash(pepper, &[b"receipt", self.0.as_bytes()]))
    }

    /// Seed for the reporter's reply keypair (DESIGN.md section 2): only its public half is stored.
    pub fn reply_seed(&self, reply_pepper: &Secret32) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(keyed_hash(reply_pepper, &[b"reply", self.0.as_bytes()]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_receipts_pass_their_check() {
        for _ in 0..200 {
            let r = Receipt::generate().unwrap();
            assert_eq!(r.digits().len(), 20);
            assert_eq!(Receipt::parse(&r.display()).unwrap(), r);
        }
    }

    #[test]
    fn full_width_and_spaces_are_accepted() {
        let r = Receipt::generate().unwrap();
        let wide: String = r
            .display()
            .chars()
            .map(|c| match c {
                '0'..='9' => char::from_u32(c as u32 - '0' as u32 + 0xFF10).unwrap(),
                '-' => '\u{3000}',
                other => other,
            })
            .collect();
        assert_eq!(Receipt::parse(&wide).unwrap(), r);
    }

    #[test]
    fn every_single_digit_typo_is_caught() {
        let r = Receipt::generate().unwrap();
        let d: Vec<u8> = r.digits().bytes().collect();
        for i in 0..d.len() {
            for v in b'0'..=b'9' {
                if v == d[i] {
                    continue;
                }
                let mut t = d.clone();
                t[i] = v;
                let s = String::from_utf8(t).unwrap();
                assert_eq!(Receipt::parse(&s), Err(ReceiptError::CheckDigit));
            }
        }
    }

    #[test]
    fn adjacent_swaps_are_caught() {
        let r = Receipt::generate().unwrap();
        let d: Vec<u8> = r.digits().bytes().collect();
        for i in 0..d.len() - 1 {
            if d[i] == d[i + 1] {
                continue;
            }
            let mut t = d.clone();
            t.swap(i, i + 1);
            let s = String::from_utf8(t).unwrap();
            assert_eq!(Receipt::parse(&s), Err(ReceiptError::CheckDigit));
        }
    }

    #[test]
    fn wrong_length_and_letters_are_refused() {
        assert_eq!(Receipt::parse("1234"), Err(ReceiptError::Length));
        assert_eq!(Receipt::parse("1234-abcd"), Err(ReceiptError::Characters));
        assert_eq!(Receipt::parse(&"1".repeat(40)), Err(ReceiptError::Length));
    }
}
