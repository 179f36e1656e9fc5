//! Opening sealed tips with the office key (police zone). Staff pages will call these; the
//! tests use them to prove that what intake sealed opens, and only with the right key.

use crate::crypto::CryptoError;
use crate::crypto::seal::{Opener, SealedKey, aad};
use crate::crypto::stream::open_chunks;
use crate::db::schema::{attachment_chunks, attachments, sealed_keys, tips};
use crate::db::{DbConn, DbError};
use diesel::prelude::*;
use zeroize::Zeroizing;

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error("no such object")]
    NotFound,
}

impl From<diesel::result::Error> for ReadError {
    fn from(e: diesel::result::Error) -> Self {
        ReadError::Db(DbError::Query(e))
    }
}

/// The columns of a `sealed_keys` row, in `KeyRow` order.
const KEY_COLUMNS: (
    sealed_keys::object_kind,
    sealed_keys::object_id,
    sealed_keys::recipient_key_id,
    sealed_keys::encapped,
    sealed_keys::sealed_key,
) = (
    sealed_keys::object_kind,
    sealed_keys::object_id,
    sealed_keys::recipient_key_id,
    sealed_keys::encapped,
    sealed_keys::sealed_key,
);

type KeyRow = (String, String, String, Vec<u8>, Vec<u8>);

fn to_sealed(
    (object_kind, object_id, recipient_key_id, encapped, sealed_key): KeyRow,
) -> SealedKey {
    SealedKey {
        object_kind,
        object_id,
        recipient_key_id,
        encapped,
        sealed_key,
    }
}

/// The epoch row and data-key row of an object sealed to the office (or relay) key.
pub fn key_rows(
    conn: &mut DbConn,
    kind: &str,
    id: &str,
    opener: &Opener,
) -> Result<(SealedKey, SealedKey), ReadError> {
    let dek = sealed_keys::table
        .filter(sealed_keys::object_kind.eq(kind))
        .filter(sealed_keys::object_id.eq(id))
        .filter(sealed_keys::recipient_key_id.like("epoch:%"))
        .select(KEY_COLUMNS)
        .first::<KeyRow>(conn)
        .optional()?
        .map(to_sealed)
        .ok_or(ReadError::NotFound)?;
    let epoch_id = dek
        .recipient_key_id
        .trim_start_matches("epoch:")
        .to_string();
    // Normally one row; during a rotation an epoch may be sealed to the old and the new key.
    // Prefer a key this opener holds; otherwise the opener looks for it in the keys dir.
    let mut epochs: Vec<SealedKey> = sealed_keys::table
        .filter(sealed_keys::object_kind.eq("epoch"))
        .filter(sealed_keys::object_id.eq(&epoch_id))
        .select(KEY_COLUMNS)
        .load::<KeyRow>(conn)?
        .into_iter()
        .map(to_sealed)
        .collect();
    let pick = epochs
        .iter()
        .position(|e| opener.holds(&e.recipient_key_id))
        .unwrap_or(0);
    if pick >= epochs.len() {
        return Err(ReadError::NotFound);
    }
    Ok((epochs.swap_remove(pick), dek))
}

/// The decrypted payload (JSON) of a tip.
pub fn open_payload(
    conn: &mut DbConn,
    opener: &Opener,
    tip_id: &str,
) -> Result<Zeroizing<Vec<u8>>, ReadError> {
    let ct = tips::table
        .filter(tips::id.eq(tip_id))
        .select(tips::payload)
        .first::<Vec<u8>>(conn)
        .optional()?
        .ok_or(ReadError::NotFound)?;
    let (epoch, dek) = key_rows(conn, "tip", tip_id, opener)?;
    Ok(opener.open(&epoch, &dek, &ct)?)
}

/// The decrypted bytes of an attachment.
pub fn open_attachment(
    conn: &mut DbConn,
    opener: &Opener,
    attachment_id: &str,
) -> Result<Zeroizing<Vec<u8>>, ReadError> {
    let prefix = attachments::table
        .filter(attachments::id.eq(attachment_id))
        .select(attachments::nonce_prefix)
        .first::<Vec<u8>>(conn)
        .optional()?
        .ok_or(ReadError::NotFound)?;
    let chunks = attachment_chunks::table
        .filter(attachment_chunks::attachment_id.eq(attachment_id))
        .order(attachment_chunks::seq)
        .select(attachment_chunks::data)
        .load::<Vec<u8>>(conn)?;
    let (epoch, dek_row) = key_rows(conn, "attachment", attachment_id, opener)?;
    let dek = opener.open_dek(&epoch, &dek_row)?;
    Ok(open_chunks(
        &dek,
        &aad("attachment", attachment_id, &dek_row.recipient_key_id),
        &prefix,
        &chunks,
    )?)
}

/// Opens a small sealed object (a note) whose ciphertext is in `table`.
pub fn open_object(
    conn: &mut DbConn,
    opener: &Opener,
    kind: &str,
    id: &str,
    table: &str,
) -> Result<Zeroizing<Vec<u8>>, ReadError> {
    use crate::db::schema::tip_notes;
    let ct = match table {
        "tip_notes" => tip_notes::table
            .filter(tip_notes::id.eq(id))
            .select(tip_notes::body)
            .first::<Vec<u8>>(conn)
            .optional()?
            .ok_or(ReadError::NotFound)?,
        _ => return Err(ReadError::NotFound),
    };
    open_sealed(conn, opener, kind, id, &ct)
}

/// Opens an object sealed to the office key, given its ciphertext.
pub fn open_sealed(
    conn: &mut DbConn,
    opener: &Opener,
    kind: &str,
    id: &str,
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, ReadError> {
    let (epoch, dek) = key_rows(conn, kind, id, opener)?;
    Ok(opener.open(&epoch, &dek, ciphertext)?)
}

/// The `sealed_keys` row of an object sealed to a reporter's reply key.
pub fn reply_key_row(
    conn: &mut DbConn,
    kind: &str,
    id: &str,
) -> Result<Option<SealedKey>, ReadError> {
    Ok(sealed_keys::table
        .filter(sealed_keys::object_kind.eq(kind))
        .filter(sealed_keys::object_id.eq(id))
        .filter(sealed_keys::recipient_key_id.like("reply:%"))
        .select(KEY_COLUMNS)
        .first::<KeyRow>(conn)
        .optional()?
        .map(to_sealed))
}

/// Every key row sealed to a tip's reply key (claim codes, messages): what a rekey re-seals.
pub fn reply_rows(conn: &mut DbConn, tip_id: &str) -> Result<Vec<SealedKey>, ReadError> {
    Ok(sealed_keys::table
        .filter(sealed_keys::recipient_key_id.eq(crate::crypto::reply::reply_key_id(tip_id)))
        .select(KEY_COLUMNS)
        .load::<KeyRow>(conn)?
        .into_iter()
        .map(to_sealed)
        .collect())
}

/// Up to `limit` epoch rows sealed to `key_id`: what a key rotation re-seals.
pub fn epochs_sealed_to(
    conn: &mut DbConn,
    key_id: &str,
    limit: i64,
) -> QueryResult<Vec<SealedKey>> {
    Ok(sealed_keys::table
        .filter(sealed_keys::object_kind.eq("epoch"))
        .filter(sealed_keys::recipient_key_id.eq(key_id))
        .order(sealed_keys::object_id)
        .limit(limit)
        .select(KEY_COLUMNS)
        .load::<KeyRow>(conn)?
        .into_iter()
        .map(to_sealed)
        .collect())
}

/// Deletes every key row of an object, so its ciphertext can never be opened again.
pub fn forget_keys(conn: &mut DbConn, kind: &str, id: &str) -> Result<usize, ReadError> {
    Ok(diesel::delete(
        sealed_keys::table
            .filter(sealed_keys::object_kind.eq(kind))
            .filter(sealed_keys::object_id.eq(id)),
    )
    .execute(conn)?)
}
