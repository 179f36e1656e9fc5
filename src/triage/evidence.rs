//! The evidence a reporter sent (issue 15): attachments opened for an officer. Each open is a
//! read of the tip, checked like the tip (role, unit; another unit's tip does not exist) and
//! audited per attachment in the same transaction, refusals too. The content type comes from
//! our own re-encoding at intake (kept in the sealed payload) and is checked again against the
//! decrypted bytes, so nothing a client claimed ever reaches a `Content-Type` header.

use super::reader::{open_attachment, open_payload};
use super::work::{TriageError, audited, scoped_tip};
use crate::crypto::seal::Opener;
use crate::db::DbConn;
use crate::db::schema::attachments;
use crate::intake::attachment::{Kind, sniff};
use crate::staff::Actor;
use diesel::prelude::*;
use ed25519_dalek::SigningKey;
use serde::Serialize;
use zeroize::Zeroizing;

/// What staff see about one attachment before opening it: never a file name (none is kept).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AttachmentInfo {
    pub id: String,
    /// The type our re-encoding produced: image/jpeg, image/png, image/webp or text/plain.
    pub content_type: String,
    pub size: u64,
}

impl AttachmentInfo {
    pub fn is_image(&self) -> bool {
        self.content_type.starts_with("image/")
    }

    /// The extension of a download's generated name.
    pub fn extension(&self) -> &'static str {
        match self.content_type.as_str() {
            "image/jpeg" => "jpg",
            "image/png" => "png",
            "image/webp" => "webp",
            _ => "txt",
        }
    }
}

/// The attachments a decrypted payload lists, in the order the reporter sent them.
pub fn listed(report: &serde_json::Value) -> Vec<AttachmentInfo> {
    report
        .get("attachments")
        .and_then(|a| a.as_array())
        .map(|list| {
            list.iter()
                .filter_map(|a| {
                    Some(AttachmentInfo {
                        id: a.get("id")?.as_str()?.to_string(),
                        content_type: a.get("content_type")?.as_str()?.to_string(),
                        size: a.get("size")?.as_u64()?,
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// An opened attachment: its description and its bytes (wiped when dropped).
pub struct Opened {
    pub info: AttachmentInfo,
    pub bytes: Zeroizing<Vec<u8>>,
}

/// The content type our re-encoding gives bytes of this kind.
fn type_of(kind: Kind) -> &'static str {
    match kind {
        Kind::Jpeg => "image/jpeg",
        Kind::Png => "image/png",
        Kind::Webp => "image/webp",
        Kind::Text => "text/plain; charset=utf-8",
    }
}

/// Opens one attachment of a tip for `actor`, audited as `tip.attachment.read` on
/// `tip:{tip}/attachment:{id}`. An attachment of another tip, or of a tip outside the
/// actor's unit, is not found (and the attempt is audited as denied).
pub fn open(
    conn: &mut DbConn,
    signer: &SigningKey,
    opener: &Opener,
    route: &super::routing::RouteKey,
    actor: &Actor,
    tip_id: &str,
    attachment_id: &str,
) -> Result<Opened, TriageError> {
    let object = format!("tip:{tip_id}/attachment:{attachment_id}");
    audited(conn, signer, actor, "tip.attachment.read", &object, |c| {
        if scoped_tip(c, route, actor, tip_id)?.is_none() {
            return Err(TriageError::NotFound);
        }
        let belongs = attachments::table
            .filter(attachments::id.eq(attachment_id))
            .filter(attachments::tip_id.eq(tip_id))
            .count()
            .get_result::<i64>(c)?
            > 0;
        if !belongs {
            return Err(TriageError::NotFound);
        }
        let payload = open_payload(c, opener, tip_id)?;
        let report: serde_json::Value =
            serde_json::from_slice(&payload).map_err(|_| TriageError::Crypto)?;
        let mut info = listed(&report)
            .into_iter()
            .find(|a| a.id == attachment_id)
            .ok_or(TriageError::NotFound)?;
        let bytes = open_attachment(c, opener, attachment_id)?;
        // The type is what our re-encoding made; the bytes must agree, or they go out as an
        // opaque download (never something a browser would render as a page).
        let sniffed = sniff(&bytes[..bytes.len().min(4096)]).map(type_of);
        info.content_type = match sniffed {
            Some(t) if t.split(';').next() == info.content_type.split(';').next() => t.to_string(),
            _ => "application/octet-stream".to_string(),
        };
        Ok(Opened { info, bytes })
    })
}
