//! Captchas: an image and an audio alternative (spoken digits in Chinese or English with noise
//! and random gaps), for people who cannot read the image. The id is a sealed, expiring token
//! holding the answer, so any node can render and check it; a solved id is spent once, across
//! nodes, in the same transaction as the tip it let through.

use crate::crypto::token::{TokenError, open_token, seal_token, token_fingerprint};
use crate::crypto::{Secret32, ct_eq, random_bytes};
use captcha::Captcha;
use captcha::filters::{Dots, Noise, Wave};
use std::collections::HashMap;
use std::io::Cursor;
use std::sync::{Arc, Mutex};
use unicode_normalization::UnicodeNormalization;

pub const CAPTCHA_SECONDS: i64 = 20 * 60;
const PURPOSE: &str = "captcha";
const LENGTH: usize = 5;
/// Digits only: they can be spoken in both languages and typed on any phone keypad. The image
/// font has no zero, and 1 is easily misread, so the alphabet is 2-9.
const ALPHABET: &[u8] = b"23456789";

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CaptchaError {
    #[error("captcha missing")]
    Missing,
    #[error("captcha answer wrong")]
    Wrong,
    #[error("captcha expired")]
    Expired,
    #[error("captcha id invalid")]
    Invalid,
    /// The id already had its one attempt (right or wrong): a wrong answer spends it, so
    /// guessing costs a new captcha per guess.
    #[error("captcha already tried")]
    Used,
}

pub struct CaptchaService {
    key: Secret32,
    fingerprint_key: Secret32,
    pub enabled: bool,
    /// Each id's picture and sounds, rendered once on this node (`media`).
    cache: Mutex<MediaCache>,
}

/// Renderings by id and kind, with the id's expiry.
type MediaCache = HashMap<(String, Media), (i64, Arc<[u8]>)>;

/// Renderings kept at most; past it, expired ones go, and if none had, all of them.
const CACHE_ENTRIES: usize = 4096;

/// What is rendered for an id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Media {
    Png,
    WavZh,
    WavEn,
}

fn answer_of(payload: &[u8]) -> Option<&[u8]> {
    payload
        .get(..LENGTH)
        .filter(|a| a.iter().all(|b| ALPHABET.contains(b)))
}

impl CaptchaService {
    pub fn new(key: Secret32, enabled: bool) -> Self {
        let fingerprint_key = crate::crypto::subkey(&key, "captcha-fingerprint");
        Self {
            key,
            fingerprint_key,
            enabled,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// An id's picture or sound, rendered the first time it is asked for on this node and then
    /// served from memory until the id expires: reloading a captcha costs no rendering.
    pub fn media(&self, id: &str, kind: Media, now: i64) -> Result<Arc<[u8]>, CaptchaError> {
        // The id must open before anything is looked up or kept.
        self.answer(id, now)?;
        let key = (id.to_string(), kind);
        if let Ok(cache) = self.cache.lock()
            && let Some((expires, bytes)) = cache.get(&key)
            && *expires > now
        {
            return Ok(bytes.clone());
        }
        let bytes: Arc<[u8]> = match kind {
            Media::Png => self.png(id, now)?,
            Media::WavZh => self.wav(id, true, now)?,
            Media::WavEn => self.wav(id, false, now)?,
        }
        .into();
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= CACHE_ENTRIES {
                cache.retain(|_, (expires, _)| *expires > now);
                if cache.len() >= CACHE_ENTRIES {
                    cache.clear();
                }
            }
            cache.insert(key, (now + CAPTCHA_SECONDS, bytes.clone()));
        }
        Ok(bytes)
    }

    /// A new captcha id (the answer sealed inside, with a random salt).
    pub fn issue(&self, now: i64) -> Option<String> {
        let raw = random_bytes::<{ LENGTH + 8 }>().ok()?;
        let mut payload = Vec::with_capacity(LENGTH + 8);
        for b in &raw[..LENGTH] {
            // 256 is a multiple of 8: every digit is equally likely.
            payload.push(ALPHABET[*b as usize % ALPHABET.len()]);
        }
        payload.extend_from_slice(&raw[LENGTH..]);
        seal_token(&self.key, PURPOSE, now + CAPTCHA_SECONDS, &payload)
    }

    /// The answer sealed in an id. Tests holding the keys dir use it to solve captchas.
    pub fn answer(&self, id: &str, now: i64) -> Result<Vec<u8>, CaptchaError> {
        let payload = open_token(&self.key, PURPOSE, id, now).map_err(|e| match e {
            TokenError::Expired => CaptchaError::Expired,
            TokenError::Invalid => CaptchaError::Invalid,
        })?;
        answer_of(&payload)
            .map(<[u8]>::to_vec)
            .ok_or(CaptchaError::Invalid)
    }

    pub fn png(&self, id: &str, now: i64) -> Result<Vec<u8>, CaptchaError> {
        let answer = self.answer(id, now)?;
        let mut c = Captcha::new();
        for d in &answer {
            c.set_chars(&[char::from(*d)]);
            c.add_char();
        }
        c.apply_filter(Noise::new(0.15))
            .apply_filter(Wave::new(2.0, 12.0).horizontal())
            .apply_filter(Dots::new(6))
            .view(240, 100);
        c.as_png().ok_or(CaptchaError::Invalid)
    }

    pub fn wav(&self, id: &str, lang_zh: bool, now: i64) -> Result<Vec<u8>, CaptchaError> {
        let answer = self.answer(id, now)?;
        spoken_digits(&answer, lang_zh).ok_or(CaptchaError::Invalid)
    }

    /// The key under which an id's single attempt is recorded (in `spent_tokens`, apart from
    /// the fingerprint spent with the tip), and when that record may go: the id's expiry
    /// rounded up to the hour.
    pub fn attempt_key(&self, id: &str, now: i64) -> (Vec<u8>, i64) {
        let expires = now + CAPTCHA_SECONDS;
        (
            token_fingerprint(&self.fingerprint_key, "captcha-attempt", id),
            expires + (3600 - expires.rem_euclid(3600)),
        )
    }

    /// The key under which an id's one use for holding files is recorded (issue 16): a form
    /// that comes back keeps its files only for a genuine, unexpired id that has not held files
    /// before, so each batch of decoded, held files costs a sender a fresh captcha, like each
    /// guess does. `None` when the id does not open.
    pub fn hold_key(&self, id: &str, now: i64) -> Option<(Vec<u8>, i64)> {
        self.answer(id, now).ok()?;
        let expires = now + CAPTCHA_SECONDS;
        Some((
            token_fingerprint(&self.fingerprint_key, "captcha-hold", id),
            expires + (3600 - expires.rem_euclid(3600)),
        ))
    }

    /// Checks an answer. `Ok(Some((fingerprint, expiry)))` must then be spent with the tip;
    /// `Ok(None)` means captchas are off (development and tests only).
    pub fn check(
        &self,
        id: Option<&str>,
        answer: Option<&str>,
        now: i64,
    ) -> Result<Option<(Vec<u8>, i64)>, CaptchaError> {
        if !self.enabled {
            return Ok(None);
        }
        let id = id.filter(|s| !s.is_empty()).ok_or(CaptchaError::Missing)?;
        let typed: String = answer
            .unwrap_or_default()
            .nfkc()
            .filter(|c| c.is_ascii_digit())
            .collect();
        if typed.is_empty() {
            return Err(CaptchaError::Missing);
        }
        let expected = self.answer(id, now)?;
        if !ct_eq(typed.as_bytes(), &expected) {
            return Err(CaptchaError::Wrong);
        }
        Ok(Some((
            token_fingerprint(&self.fingerprint_key, PURPOSE, id),
            now + CAPTCHA_SECONDS,
        )))
    }
}

macro_rules! voice {
    ($lang:literal) => {
        [
            include_bytes!(concat!("voice/", $lang, "/0.wav")).as_slice(),
            include_bytes!(concat!("voice/", $lang, "/1.wav")).as_slice(),
            include_bytes!(concat!("voice/", $lang, "/2.wav")).as_slice(),
            include_bytes!(concat!("voice/", $lang, "/3.wav")).as_slice(),
            include_bytes!(concat!("voice/", $lang, "/4.wav")).as_slice(),
            include_bytes!(concat!("voice/", $lang, "/5.wav")).as_slice(),
            include_bytes!(concat!("voice/", $lang, "/6.wav")).as_slice(),
            include_bytes!(concat!("voice/", $lang, "/7.wav")).as_slice(),
            include_bytes!(concat!("voice/", $lang, "/8.wav")).as_slice(),
            include_bytes!(concat!("voice/", $lang, "/9.wav")).as_slice(),
        ]
    };
}

static VOICE_ZH: [&[u8]; 10] = voice!("zh");
static VOICE_EN: [&[u8]; 10] = voice!("en");
const RATE: u32 = 8000;

/// Concatenates the spoken digits with random gaps and gain, over a bed of noise, so the clip
/// differs every time and cannot be matched sample for sample.
fn spoken_digits(answer: &[u8], zh: bool) -> Option<Vec<u8>> {
    let voice = if zh { &VOICE_ZH } else { &VOICE_EN };
    let noise = random_bytes::<4096>().ok()?;
    let mut n = 0usize;
    let mut next_noise = || {
        n = (n + 1) % noise.len();
        (noise[n] as i32 - 128) * 6
    };
    let gaps = random_bytes::<16>().ok()?;
    let mut samples: Vec<i16> = Vec::new();
    let silence = |len: usize, out: &mut Vec<i16>, noise: &mut dyn FnMut() -> i32| {
        for _ in 0..len {
            out.push(noise() as i16);
        }
    };
    silence(RATE as usize / 2, &mut samples, &mut next_noise);
    for (i, d) in answer.iter().enumerate() {
        let clip = voice.get((d - b'0') as usize)?;
        let mut r = hound::WavReader::new(Cursor::new(*clip)).ok()?;
        let gain = 70 + (gaps[i % gaps.len()] as i32 % 30);
        for s in r.samples::<i16>() {
            let v = s.ok()? as i32 * gain / 100 + next_noise();
            samples.push(v.clamp(i16::MIN as i32, i16::MAX as i32) as i16);
        }
        let gap = RATE as usize * (350 + (gaps[(i + 7) % gaps.len()] as usize % 400)) / 1000;
        silence(gap, &mut samples, &mut next_noise);
    }
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut out = Cursor::new(Vec::new());
    {
        let mut w = hound::WavWriter::new(&mut out, spec).ok()?;
        for s in samples {
            w.write_sample(s).ok()?;
        }
        w.finalize().ok()?;
    }
    Some(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_render_check() {
        let svc = CaptchaService::new(Secret32::random().unwrap(), true);
        let id = svc.issue(1000).unwrap();
        assert!(svc.png(&id, 1000).unwrap().starts_with(b"\x89PNG"));
        assert!(svc.wav(&id, true, 1000).unwrap().starts_with(b"RIFF"));
        assert!(svc.wav(&id, false, 1000).unwrap().starts_with(b"RIFF"));
        // Rendered once: the same bytes again (a fresh rendering of the sound would differ).
        let a = svc.media(&id, Media::WavZh, 1000).unwrap();
        let b = svc.media(&id, Media::WavZh, 1001).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert!(svc.media("nonsense", Media::Png, 1000).is_err());
        let answer = String::from_utf8(svc.answer(&id, 1000).unwrap()).unwrap();
        assert!(svc.check(Some(&id), Some(&answer), 1001).unwrap().is_some());
        // full-width digits from a Chinese keyboard are fine
        let wide: String = answer
            .chars()
            .map(|c| char::from_u32(c as u32 + 0xFEE0).unwrap())
            .collect();
        assert!(svc.check(Some(&id), Some(&wide), 1001).is_ok());
        assert_eq!(
            svc.check(Some(&id), Some("99999"), 1001),
            Err(CaptchaError::Wrong)
        );
        assert_eq!(
            svc.check(Some(&id), Some(&answer), 1000 + CAPTCHA_SECONDS + 1),
            Err(CaptchaError::Expired)
        );
        assert_eq!(
            svc.check(Some("nonsense"), Some("12345"), 1001),
            Err(CaptchaError::Invalid)
        );
        assert_eq!(
            svc.check(None, Some("12345"), 1001),
            Err(CaptchaError::Missing)
        );
    }
}
