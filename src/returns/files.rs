//! The files of a return: the signed and stamped scan (image or PDF) and activity photos.
//! Images go through the same decoding and re-encoding as tip attachments (EXIF, GPS and XMP
//! dropped, pixels capped). A PDF cannot be re-encoded: it is kept as is, checked only for its
//! signature, and offered only as a download, never shown inline.

use crate::intake::attachment::{self, Kind};
use serde::{Deserialize, Serialize};

/// Largest file accepted (a scanned page at 300 dpi fits easily).
pub const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;
/// Photos per return.
pub const MAX_PHOTOS: usize = 12;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    /// The signed and stamped scan of the tables.
    Scan,
    /// A photo of the township's activities.
    Photo,
}

impl FileKind {
    pub fn parse(s: &str) -> Option<FileKind> {
        match s {
            "scan" => Some(FileKind::Scan),
            "photo" => Some(FileKind::Photo),
            _ => None,
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            FileKind::Scan => "签字盖章扫描件",
            FileKind::Photo => "活动照片",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    #[error("the file is larger than 10 MB")]
    TooLarge,
    #[error("a scan is a JPEG, PNG or WebP image or a PDF; a photo is a JPEG, PNG or WebP image")]
    Unsupported,
    #[error("the image could not be read")]
    BadImage,
    #[error("at most 12 photos and one scan per return")]
    TooMany,
}

pub const PDF: &str = "application/pdf";

/// What is kept of one uploaded file, and its content type.
pub fn clean(
    kind: FileKind,
    bytes: &[u8],
    max_pixels: u64,
) -> Result<(Vec<u8>, String), FileError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(FileError::TooLarge);
    }
    if kind == FileKind::Scan && bytes.starts_with(b"%PDF-") {
        return Ok((bytes.to_vec(), PDF.into()));
    }
    let image = attachment::sniff(&bytes[..bytes.len().min(4096)])
        .filter(|k| *k != Kind::Text)
        .ok_or(FileError::Unsupported)?;
    // A panicking decoder is a file we cannot read, as for tip attachments.
    let out = std::panic::catch_unwind(|| attachment::reencode_image(bytes, image, max_pixels))
        .unwrap_or(Err(attachment::AttachmentError::BadImage));
    match out {
        Ok((b, t)) => Ok((b, t.into())),
        Err(attachment::AttachmentError::TooLarge) => Err(FileError::TooLarge),
        Err(_) => Err(FileError::BadImage),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pdf_scans_are_kept_and_other_files_refused() {
        let pdf = b"%PDF-1.7\nstamped".to_vec();
        assert_eq!(
            clean(FileKind::Scan, &pdf, 1_000_000).unwrap(),
            (pdf.clone(), PDF.to_string())
        );
        assert_eq!(
            clean(FileKind::Photo, &pdf, 1_000_000),
            Err(FileError::Unsupported)
        );
        assert_eq!(
            clean(FileKind::Photo, "文字".as_bytes(), 1_000_000),
            Err(FileError::Unsupported)
        );
    }
}
