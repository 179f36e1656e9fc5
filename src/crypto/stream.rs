//! Chunked AEAD for attachments: STREAM (BE32) over AES-256-GCM in 64 KiB segments, the last
//! segment authenticated as last, so truncation and reordering are detected.

use super::{CryptoError, Secret32};
use aead_stream::{DecryptorBE32, EncryptorBE32};
use aes_gcm::Aes256Gcm;
use aes_gcm::aead::Payload;
use zeroize::Zeroizing;

pub const SEGMENT: usize = 64 * 1024;
pub const NONCE_PREFIX_LEN: usize = 7;

/// Encrypts bytes as they arrive; plaintext is only ever held one segment at a time.
pub struct ChunkSealer {
    enc: EncryptorBE32<Aes256Gcm>,
    aad: Vec<u8>,
    pending: Zeroizing<Vec<u8>>,
    chunks: Vec<Vec<u8>>,
    pub nonce_prefix: [u8; NONCE_PREFIX_LEN],
    plaintext_len: u64,
}

impl ChunkSealer {
    pub fn new(dek: &Secret32, aad: Vec<u8>) -> Result<Self, CryptoError> {
        let nonce_prefix = super::random_bytes::<NONCE_PREFIX_LEN>()?;
        let enc = EncryptorBE32::<Aes256Gcm>::new(dek.expose().into(), (&nonce_prefix).into());
        Ok(Self {
            enc,
            aad,
            pending: Zeroizing::new(Vec::with_capacity(SEGMENT)),
            chunks: Vec::new(),
            nonce_prefix,
            plaintext_len: 0,
        })
    }

    pub fn push(&mut self, mut data: &[u8]) -> Result<(), CryptoError> {
        self.plaintext_len += data.len() as u64;
        while !data.is_empty() {
            // Seal a full segment only once more data follows it: the last one is sealed as last.
            if self.pending.len() == SEGMENT {
                let ct = self
                    .enc
                    .encrypt_next(Payload {
                        msg: &self.pending,
                        aad: &self.aad,
                    })
                    .map_err(|_| CryptoError::Seal)?;
                self.chunks.push(ct);
                self.pending.clear();
            }
            let take = (SEGMENT - self.pending.len()).min(data.len());
            self.pending.extend_from_slice(&data[..take]);
            data = &data[take..];
        }
        Ok(())
    }

    pub fn plaintext_len(&self) -> u64 {
        self.plaintext_len
    }

    /// Seals the final segment and returns all ciphertext chunks in order.
    pub fn finish(self) -> Result<Vec<Vec<u8>>, CryptoError> {
        let mut chunks = self.chunks;
        let last = self
            .enc
            .encrypt_last(Payload {
                msg: &self.pending,
                aad: &self.aad,
            })
            .map_err(|_| CryptoError::Seal)?;
        chunks.push(last);
        Ok(chunks)
    }
}

/// Decrypts the chunks of one attachment, checking order and the last-segment flag.
pub fn open_chunks(
    dek: &Secret32,
    aad: &[u8],
    nonce_prefix: &[u8],
    chunks: &[Vec<u8>],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let prefix: [u8; NONCE_PREFIX_LEN] = nonce_prefix.try_into().map_err(|_| CryptoError::Open)?;
    let mut dec = DecryptorBE32::<Aes256Gcm>::new(dek.expose().into(), (&prefix).into());
    let mut out = Zeroizing::new(Vec::new());
    let Some((last, rest)) = chunks.split_last() else {
        return Err(CryptoError::Open);
    };
    for c in rest {
        let pt = dec
            .decrypt_next(Payload { msg: c, aad })
            .map_err(|_| CryptoError::Open)?;
        out.extend_from_slice(&pt);
    }
    let pt = dec
        .decrypt_last(Payload { msg: last, aad })
        .map_err(|_| CryptoError::Open)?;
    out.extend_from_slice(&pt);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_across_segments_and_truncation_fails() {
        let dek = Secret32::random().unwrap();
        let data: Vec<u8> = (0..(SEGMENT * 2 + 123)).map(|i| (i % 251) as u8).collect();
        let mut s = ChunkSealer::new(&dek, b"aad".to_vec()).unwrap();
        for part in data.chunks(10_000) {
            s.push(part).unwrap();
        }
        let prefix = s.nonce_prefix;
        let chunks = s.finish().unwrap();
        assert_eq!(chunks.len(), 3);
        let back = open_chunks(&dek, b"aad", &prefix, &chunks).unwrap();
        assert_eq!(&back[..], &data[..]);
        assert!(open_chunks(&dek, b"aad", &prefix, &chunks[..2]).is_err());
        let mut swapped = chunks.clone();
        swapped.swap(0, 1);
        assert!(open_chunks(&dek, b"aad", &prefix, &swapped).is_err());
    }

    #[test]
    fn exact_segment_multiple_round_trips() {
        let dek = Secret32::random().unwrap();
        let data = vec![7u8; SEGMENT];
        let mut s = ChunkSealer::new(&dek, vec![]).unwrap();
        s.push(&data).unwrap();
        let prefix = s.nonce_prefix;
        let chunks = s.finish().unwrap();
        assert_eq!(
            &open_chunks(&dek, &[], &prefix, &chunks).unwrap()[..],
            &data[..]
        );
    }
}
