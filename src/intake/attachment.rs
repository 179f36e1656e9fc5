//! Attachments: an allowlist of types recognised by their bytes (never by the client's claim),
//! images decoded and re-encoded under a pixel cap (which drops EXIF, GPS and XMP), text checked
//! as UTF-8, then sealed in 64 KiB STREAM segments. Plaintext lives only in memory, bounded by
//! the per-file cap; it is never written to disk, not even as a temp file.

use crate::crypto::seal::{Recipient, SealedKey, Sealer, aad};
use crate::crypto::stream::ChunkSealer;
use crate::crypto::{CryptoError, random_bytes};
use crate::intake::decode_gate::DECODES;
use image::{ImageDecoder, ImageFormat, ImageReader, Limits};
use serde::Serialize;
use std::borrow::Cow;
use std::io::Cursor;
use std::sync::Arc;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AttachmentError {
    #[error("this type of file is not accepted")]
    Unsupported,
    #[error("the file is too large")]
    TooLarge,
    #[error("the image could not be read")]
    BadImage,
    #[error("the text file is not valid UTF-8")]
    BadText,
    #[error("sealing failed")]
    Seal,
}

impl From<CryptoError> for AttachmentError {
    fn from(_: CryptoError) -> Self {
        AttachmentError::Seal
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Jpeg,
    Png,
    Webp,
    Text,
}

/// What staff will see about the file once they open the tip (inside the sealed payload).
/// The original file name is dropped: names like `IMG_2024..._张三.jpg` identify people.
#[derive(Debug, Clone, Serialize)]
pub struct AttachmentMeta {
    pub id: String,
    pub content_type: &'static str,
    pub size: u64,
}

pub struct SealedAttachment {
    pub meta: AttachmentMeta,
    pub nonce_prefix: Vec<u8>,
    pub chunks: Vec<Vec<u8>>,
    pub dek_row: SealedKey,
    pub epoch_row: Arc<SealedKey>,
}

/// Recognises a type from the first bytes.
pub fn sniff(head: &[u8]) -> Option<Kind> {
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(Kind::Jpeg)
    } else if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(Kind::Png)
    } else if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        Some(Kind::Webp)
    } else {
        match std::str::from_utf8(head) {
            Ok(s) => (!s.contains('\0')).then_some(Kind::Text),
            // Cut in the middle of a character at the sniff boundary: still text.
            Err(e) if e.error_len().is_none() => Some(Kind::Text),
            Err(_) => None,
        }
    }
}

/// The largest decoded image accepted, in bytes: a 50-megapixel photo in RGBA, or about 70
/// megapixels in RGB. With `decode_gate::DECODE_SLOTS` decodes at a time this bounds what images
/// can cost.
pub const MAX_DECODED_BYTES: u64 = 200 * 1024 * 1024;

/// Images up to this many pixels are decoded whatever their size in bytes (a few milliseconds).
const FREE_PIXELS: u64 = 1_000_000;
/// Beyond that, at most this many pixels per byte of the file. A 12-megapixel photo of white
/// paper is still over 40 KB as a JPEG (under 300 pixels per byte); flat screenshots as PNG stay
/// well under 100.
const MAX_PIXELS_PER_BYTE: u64 = 1_000;
/// Past the default kept size (16 megapixels), decoding costs seconds, and only real photos
/// (a few pixels per byte: a 48-megapixel phone photo is 8 MB or more) are worth it: at most
/// this many pixels per byte. A flat 1 MB JPEG claiming 64 megapixels took 4.4 s (issue 16).
const LARGE_PIXELS: u64 = 16_000_000;
const LARGE_MAX_PIXELS_PER_BYTE: u64 = 16;

/// Whether an image of `pixels` in a file of `bytes` claims more pixels than its bytes can
/// honestly hold: refused before decoding.
fn too_flat(pixels: u64, bytes: u64) -> bool {
    (pixels > FREE_PIXELS && pixels > bytes.saturating_mul(MAX_PIXELS_PER_BYTE))
        || (pixels > LARGE_PIXELS && pixels > bytes.saturating_mul(LARGE_MAX_PIXELS_PER_BYTE))
}

/// Decodes an image under limits, applies its EXIF orientation, shrinks it under the pixel cap
/// and re-encodes it. The encoder writes pixels only, so EXIF, GPS and XMP are gone.
pub fn reencode_image(
    bytes: &[u8],
    kind: Kind,
    max_pixels: u64,
) -> Result<(Vec<u8>, &'static str), AttachmentError> {
    let format = match kind {
        Kind::Jpeg => ImageFormat::Jpeg,
        Kind::Png => ImageFormat::Png,
        Kind::Webp => ImageFormat::WebP,
        Kind::Text => return Err(AttachmentError::Unsupported),
    };
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(20_000);
    limits.max_image_height = Some(20_000);
    limits.max_alloc = Some(512 * 1024 * 1024);
    reader.limits(limits);
    let mut decoder = reader
        .into_decoder()
        .map_err(|_| AttachmentError::BadImage)?;
    // image 0.25's JPEG decoder checks only the dimensions against `Limits`, not `max_alloc`,
    // and `from_decoder` allocates the whole decoded image: a 467-byte JPEG claiming
    // 19,792 x 17,920 pixels took over 2 GB (found by the image_strip fuzz target).
    if decoder.total_bytes() > MAX_DECODED_BYTES {
        return Err(AttachmentError::TooLarge);
    }
    // Work per byte uploaded stays bounded: 340-byte JPEGs claiming tens of megapixels took
    // 25 s and 600 MB each to decode, shrink and re-encode (fuzzing found them). A real photo
    // or screenshot has far more bytes per pixel than one per thousand pixels.
    let (w, h) = decoder.dimensions();
    let pixels = u64::from(w) * u64::from(h);
    if too_flat(pixels, bytes.len() as u64) {
        return Err(AttachmentError::BadImage);
    }
    let orientation = decoder.orientation().ok();
    let _turn = DECODES.enter();
    let mut img =
        image::DynamicImage::from_decoder(decoder).map_err(|_| AttachmentError::BadImage)?;
    // Shrink before turning: a rotation copies the whole image. `thumbnail_exact` averages the
    // source pixels each target pixel covers, in the image's own pixel type; `resize` keeps a
    // 16-byte-per-pixel float copy between its two passes (443 MB for a 48-megapixel photo,
    // measured as +2.5 GB for four at once).
    let (w, h) = (img.width() as u64, img.height() as u64);
    if w * h > max_pixels {
        let scale = ((max_pixels as f64) / ((w * h) as f64)).sqrt();
        let nw = ((w as f64 * scale).floor() as u32).max(1);
        let nh = ((h as f64 * scale).floor() as u32).max(1);
        img = img.thumbnail_exact(nw, nh);
    }
    if let Some(o) = orientation {
        img.apply_orientation(o);
    }
    let mut out = Cursor::new(Vec::new());
    match kind {
        Kind::Png => {
            img.write_to(&mut out, ImageFormat::Png)
                .map_err(|_| AttachmentError::BadImage)?;
            Ok((out.into_inner(), "image/png"))
        }
        _ => {
            let rgb = image::DynamicImage::ImageRgb8(img.into_rgb8());
            let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85);
            rgb.write_with_encoder(enc)
                .map_err(|_| AttachmentError::BadImage)?;
            Ok((out.into_inner(), "image/jpeg"))
        }
    }
}

/// What is kept of one uploaded file before sealing, and its content type: text as it came
/// (checked as UTF-8), images re-encoded. Everything a file's bytes decide happens here, so
/// this is what the `image_strip` fuzz target drives.
pub fn clean_file(
    bytes: &[u8],
    max_pixels: u64,
) -> Result<(Cow<'_, [u8]>, &'static str), AttachmentError> {
    let kind = sniff(&bytes[..bytes.len().min(4096)]).ok_or(AttachmentError::Unsupported)?;
    match kind {
        Kind::Text => {
            std::str::from_utf8(bytes).map_err(|_| AttachmentError::BadText)?;
            Ok((Cow::Borrowed(bytes), "text/plain; charset=utf-8"))
        }
        _ => {
            // A panic in a decoder (an arithmetic overflow in zune-jpeg's Huffman decoding was
            // found by fuzzing; debug builds check overflow) is a file we cannot read, not a
            // failed request: the same reasoning as for mail-parser in intake::email.
            let decoded = std::panic::catch_unwind(|| reencode_image(bytes, kind, max_pixels));
            let (b, t) = decoded.unwrap_or(Err(AttachmentError::BadImage))?;
            Ok((Cow::Owned(b), t))
        }
    }
}

/// Turns one uploaded file (already bounded in size) into a sealed attachment.
pub fn seal_file(
    sealer: &Sealer,
    to: &Recipient,
    bytes: &[u8],
    max_pixels: u64,
) -> Result<SealedAttachment, AttachmentError> {
    let (clean, content_type) = clean_file(bytes, max_pixels)?;
    let id = hex::encode(random_bytes::<16>()?);
    let key = sealer.new_dek_in(crate::crypto::seal::Stream::Reporter, to, "attachment", &id)?;
    let mut stream = ChunkSealer::new(
        &key.dek,
        aad("attachment", &id, &key.dek_row.recipient_key_id),
    )?;
    stream.push(&clean)?;
    let size = stream.plaintext_len();
    let nonce_prefix = stream.nonce_prefix.to_vec();
    let chunks = stream.finish()?;
    if let Cow::Owned(mut v) = clean {
        zeroize::Zeroize::zeroize(&mut v);
    }
    Ok(SealedAttachment {
        meta: AttachmentMeta {
            id,
            content_type,
            size,
        },
        nonce_prefix,
        chunks,
        dek_row: key.dek_row,
        epoch_row: key.epoch_row,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_images_claiming_many_pixels_are_refused_before_decoding() {
        // Issue 16: a flat 1 MB JPEG claiming 64 megapixels.
        assert!(too_flat(64_000_000, 1_000_000));
        // A 48-megapixel phone photo of 8 MB, a 12-megapixel photo of white paper of 40 KB,
        // a small image of a few hundred bytes: decoded.
        assert!(!too_flat(48_000_000, 8_000_000));
        assert!(!too_flat(12_000_000, 40_000));
        assert!(!too_flat(1_000_000, 300));
        // The older rule still holds below 16 megapixels.
        assert!(too_flat(12_000_000, 10_000));
    }

    #[test]
    fn sniffing_goes_by_bytes() {
        assert_eq!(sniff(b"\xFF\xD8\xFF\xE0rest"), Some(Kind::Jpeg));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nxxxx"), Some(Kind::Png));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some(Kind::Webp));
        assert_eq!(sniff("街上有人卖毒品".as_bytes()), Some(Kind::Text));
        assert_eq!(sniff(b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\xff\xff"), None);
        assert_eq!(sniff(b"%PDF-1.7\n\xe2\xe3\xcf\xd3"), None);
    }

    #[test]
    fn big_images_are_shrunk_under_the_cap() {
        let img = image::RgbImage::from_pixel(400, 300, image::Rgb([200, 10, 10]));
        let mut png = Cursor::new(Vec::new());
        img.write_to(&mut png, ImageFormat::Png).unwrap();
        let (out, t) = reencode_image(png.get_ref(), Kind::Png, 30_000).unwrap();
        assert_eq!(t, "image/png");
        let back = image::load_from_memory(&out).unwrap();
        assert!(back.width() as u64 * back.height() as u64 <= 30_000);
    }

    /// A phone photo held upright: landscape pixels with EXIF orientation 6 (turn 90 degrees
    /// clockwise). It comes out shrunk, portrait and without its EXIF.
    #[test]
    fn photos_come_out_upright_and_shrunk() {
        let img = image::RgbImage::from_fn(400, 200, |x, _| {
            if x < 200 {
                image::Rgb([220, 20, 20])
            } else {
                image::Rgb([20, 20, 220])
            }
        });
        let mut jpeg = Cursor::new(Vec::new());
        img.write_to(&mut jpeg, ImageFormat::Jpeg).unwrap();
        let jpeg = jpeg.into_inner();
        // APP1 with a little-endian TIFF header and one IFD entry: Orientation (0x0112) = 6.
        let exif = b"Exif\0\0II*\0\x08\0\0\0\x01\0\x12\x01\x03\0\x01\0\0\0\x06\0\0\0\0\0\0\0";
        let mut photo = vec![0xFF, 0xD8, 0xFF, 0xE1];
        photo.extend_from_slice(&((exif.len() + 2) as u16).to_be_bytes());
        photo.extend_from_slice(exif);
        photo.extend_from_slice(&jpeg[2..]);

        let (out, t) = reencode_image(&photo, Kind::Jpeg, 20_000).unwrap();
        assert_eq!(t, "image/jpeg");
        assert!(!out.windows(4).any(|w| w == b"Exif"));
        let back = image::load_from_memory(&out).unwrap().to_rgb8();
        let (w, h) = back.dimensions();
        assert!(u64::from(w) * u64::from(h) <= 20_000, "{w}x{h}");
        assert!(h > w, "turned upright: {w}x{h}");
        // The left half (red) is on top once turned clockwise, the right half (blue) below.
        let top = back.get_pixel(w / 2, 5).0;
        let bottom = back.get_pixel(w / 2, h - 5).0;
        assert!(top[0] > 150 && top[2] < 100, "top {top:?}");
        assert!(bottom[2] > 150 && bottom[0] < 100, "bottom {bottom:?}");
    }
}
