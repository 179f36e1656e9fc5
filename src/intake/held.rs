//! Files held for a web form that came back (issue 16): a wrong captcha or another invalid
//! field must not lose the photo a resident chose. The files are already re-encoded and sealed
//! to the office key like any attachment, and wait in `held_files` against the form's one-time
//! token, so the corrected form sends them without choosing them again. They become the tip's
//! attachments in the tip's own transaction (never re-encoded), and are deleted when used,
//! dropped by the resident, or expired (`purge_expired`, from the hourly sweep).
//!
//! The token is only in the resident's page: the database holds keyed hashes of it, and the
//! files' content type and size sealed under a key derived from it. A thief of the database
//! learns that some form holds some sealed files until the hour they expire.

use super::IntakeError;
use super::attachment::{AttachmentMeta, SealedAttachment};
use crate::crypto::seal::{aead_open, aead_seal};
use crate::crypto::{CryptoError, Secret32, keyed_hash};
use crate::db::schema::{attachment_chunks, attachments, held_files, sealed_keys};
use crate::db::sealed::insert_sealed_key;
use crate::db::{DbConn, hour_ceil, now_unix};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

/// How long a held file waits for its form: a resident who reads a new captcha, fixes a field
/// and sends again has one to two hours (the expiry is rounded up to the hour).
pub const HELD_SECONDS: i64 = 3600;

/// The keys one form token gives: where its files are held, and the key of their metadata.
pub struct FormHold {
    pub form_key: Vec<u8>,
    meta_key: Secret32,
}

/// The content types a held file may carry back (those `attachment::clean_file` gives).
const CONTENT_TYPES: &[&str] = &[
    "image/jpeg",
    "image/png",
    "image/webp",
    "text/plain; charset=utf-8",
];

#[derive(Serialize, Deserialize)]
struct MetaWire {
    content_type: String,
    size: u64,
}

/// One file held for a form, as the form lists it.
#[derive(Debug, Clone)]
pub struct HeldEntry {
    pub id: String,
    pub file_key: Vec<u8>,
    pub position: i32,
    pub content_type: &'static str,
    pub size: u64,
}

impl HeldEntry {
    pub fn is_image(&self) -> bool {
        self.content_type.starts_with("image/")
    }
}

/// A held file on its way into a tip: its data key is already in `sealed_keys`.
pub struct HeldAttachment {
    pub meta: AttachmentMeta,
    pub nonce_prefix: Vec<u8>,
    pub chunks: Vec<Vec<u8>>,
}

impl FormHold {
    pub fn new(pepper: &Secret32, token: &str) -> Self {
        Self {
            form_key: keyed_hash(pepper, &[b"held-form", token.as_bytes()]).to_vec(),
            meta_key: Secret32::from_bytes(keyed_hash(pepper, &[b"held-meta", token.as_bytes()])),
        }
    }

    /// Names one file of this form by its bytes' SHA-256: a reload of the same refused form,
    /// or the same photo chosen again, is recognised before it is decoded.
    pub fn file_key(&self, sha256: &[u8; 32]) -> Vec<u8> {
        keyed_hash(&self.meta_key, &[b"held-file", sha256]).to_vec()
    }

    fn seal_meta(&self, id: &str, m: &AttachmentMeta) -> Result<Vec<u8>, CryptoError> {
        let wire = MetaWire {
            content_type: m.content_type.to_string(),
            size: m.size,
        };
        let json = serde_json::to_vec(&wire).map_err(|_| CryptoError::Seal)?;
        aead_seal(
            &self.meta_key,
            &[b"held-meta:", id.as_bytes()].concat(),
            &json,
        )
    }

    fn open_meta(&self, id: &str, sealed: &[u8]) -> Option<(&'static str, u64)> {
        let json = aead_open(
            &self.meta_key,
            &[b"held-meta:", id.as_bytes()].concat(),
            sealed,
        )
        .ok()?;
        let wire: MetaWire = serde_json::from_slice(&json).ok()?;
        let ct = CONTENT_TYPES
            .iter()
            .copied()
            .find(|c| *c == wire.content_type)?;
        Some((ct, wire.size))
    }
}

fn frame(chunks: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(chunks.iter().map(|c| c.len() + 4).sum());
    for c in chunks {
        out.extend_from_slice(&(c.len() as u32).to_be_bytes());
        out.extend_from_slice(c);
    }
    out
}

fn unframe(mut data: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    while !data.is_empty() {
        let (len, rest) = data.split_first_chunk::<4>()?;
        let len = u32::from_be_bytes(*len) as usize;
        if rest.len() < len {
            return None;
        }
        out.push(rest[..len].to_vec());
        data = &rest[len..];
    }
    Some(out)
}

/// Holds sealed files for a form, numbered from `first_position`. A file already held for
/// the form (same `file_key`) is not held twice: its new sealing is dropped. Returns how many
/// rows were added.
pub fn hold(
    conn: &mut DbConn,
    form: &FormHold,
    first_position: i32,
    files: &[(Vec<u8>, SealedAttachment)],
) -> Result<usize, IntakeError> {
    let expires = hour_ceil(now_unix() + HELD_SECONDS);
    let mut rows = Vec::with_capacity(files.len());
    for (i, (file_key, a)) in files.iter().enumerate() {
        rows.push((
            file_key,
            a,
            first_position + i as i32,
            form.seal_meta(&a.meta.id, &a.meta)?,
            frame(&a.chunks),
        ));
    }
    conn.transaction(|c| {
        let mut added = 0;
        for (file_key, a, position, meta, chunks) in &rows {
            // ON CONFLICT rather than a caught unique violation: on PostgreSQL that would abort
            // the transaction.
            let n = diesel::sql_query(
                "INSERT INTO held_files (id, form_key, file_key, position, meta, nonce_prefix, \
                 chunks, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
            )
            .bind::<diesel::sql_types::Text, _>(&a.meta.id)
            .bind::<diesel::sql_types::Binary, _>(&form.form_key)
            .bind::<diesel::sql_types::Binary, _>(*file_key)
            .bind::<diesel::sql_types::Integer, _>(*position)
            .bind::<diesel::sql_types::Binary, _>(meta)
            .bind::<diesel::sql_types::Binary, _>(&a.nonce_prefix)
            .bind::<diesel::sql_types::Binary, _>(chunks)
            .bind::<diesel::sql_types::BigInt, _>(expires)
            .execute(c)?;
            if n == 1 {
                insert_sealed_key(c, &a.epoch_row)?;
                insert_sealed_key(c, &a.dek_row)?;
                added += 1;
            }
        }
        Ok(added)
    })
}

/// The files held for a form and not expired, in form order. Rows whose metadata does not open
/// under this token (none should) are left out.
pub fn list(conn: &mut DbConn, form: &FormHold) -> QueryResult<Vec<HeldEntry>> {
    let rows = held_files::table
        .filter(held_files::form_key.eq(&form.form_key))
        .filter(held_files::expires_at.gt(now_unix()))
        .order((held_files::position, held_files::id))
        .select((
            held_files::id,
            held_files::file_key,
            held_files::position,
            held_files::meta,
        ))
        .load::<(String, Vec<u8>, i32, Vec<u8>)>(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, file_key, position, meta)| {
            let (content_type, size) = form.open_meta(&id, &meta)?;
            Some(HeldEntry {
                id,
                file_key,
                position,
                content_type,
                size,
            })
        })
        .collect())
}

/// The sealed contents of held files, ready to join a tip.
pub fn load(
    conn: &mut DbConn,
    form: &FormHold,
    entries: &[HeldEntry],
) -> Result<Vec<HeldAttachment>, IntakeError> {
    let mut out = Vec::with_capacity(entries.len());
    for e in entries {
        let (nonce_prefix, chunks) = held_files::table
            .filter(held_files::id.eq(&e.id))
            .filter(held_files::form_key.eq(&form.form_key))
            .select((held_files::nonce_prefix, held_files::chunks))
            .first::<(Vec<u8>, Vec<u8>)>(conn)?;
        out.push(HeldAttachment {
            meta: AttachmentMeta {
                id: e.id.clone(),
                content_type: e.content_type,
                size: e.size,
            },
            nonce_prefix,
            chunks: unframe(&chunks).ok_or(IntakeError::Crypto(CryptoError::Open))?,
        });
    }
    Ok(out)
}

/// Deletes held files and their data keys: the ones the resident dropped from the form.
pub fn drop_files(conn: &mut DbConn, form: &FormHold, ids: &[String]) -> QueryResult<usize> {
    if ids.is_empty() {
        return Ok(0);
    }
    conn.transaction(|c| {
        let mine: Vec<String> = held_files::table
            .filter(held_files::form_key.eq(&form.form_key))
            .filter(held_files::id.eq_any(ids))
            .select(held_files::id)
            .load(c)?;
        delete_rows(c, &mine)
    })
}

fn delete_rows(conn: &mut DbConn, ids: &[String]) -> QueryResult<usize> {
    if ids.is_empty() {
        return Ok(0);
    }
    diesel::delete(
        sealed_keys::table
            .filter(sealed_keys::object_kind.eq("attachment"))
            .filter(sealed_keys::object_id.eq_any(ids)),
    )
    .execute(conn)?;
    diesel::delete(held_files::table.filter(held_files::id.eq_any(ids))).execute(conn)
}

/// Moves held files into a tip's attachments. Inside the tip's transaction: each held row must
/// still be there (deleted here, so it joins one tip only), or the tip does not commit.
pub fn take_into_tip(
    conn: &mut DbConn,
    tip_id: &str,
    held: &[HeldAttachment],
) -> Result<(), IntakeError> {
    for a in held {
        let n = diesel::delete(held_files::table.filter(held_files::id.eq(&a.meta.id)))
            .execute(conn)?;
        if n != 1 {
            return Err(IntakeError::HeldFileGone);
        }
        diesel::insert_into(attachments::table)
            .values((
                attachments::id.eq(&a.meta.id),
                attachments::tip_id.eq(tip_id),
                attachments::nonce_prefix.eq(&a.nonce_prefix),
                attachments::chunk_count.eq(a.chunks.len() as i32),
            ))
            .execute(conn)?;
        for (seq, data) in a.chunks.iter().enumerate() {
            diesel::insert_into(attachment_chunks::table)
                .values((
                    attachment_chunks::attachment_id.eq(&a.meta.id),
                    attachment_chunks::seq.eq(seq as i32),
                    attachment_chunks::data.eq(data),
                ))
                .execute(conn)?;
        }
    }
    Ok(())
}

/// Deletes held files whose form was never sent right, with their data keys.
pub fn purge_expired(conn: &mut DbConn) -> QueryResult<usize> {
    conn.transaction(|c| {
        let ids: Vec<String> = held_files::table
            .filter(held_files::expires_at.le(now_unix()))
            .select(held_files::id)
            .load(c)?;
        let mut n = 0;
        for batch in ids.chunks(500) {
            n += delete_rows(c, batch)?;
        }
        Ok(n)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_frame_and_unframe() {
        let chunks = vec![vec![1u8; 70], Vec::new(), vec![2u8; 3]];
        assert_eq!(unframe(&frame(&chunks)), Some(chunks));
        assert_eq!(unframe(&[0, 0, 0, 5, 1]), None);
    }
}
