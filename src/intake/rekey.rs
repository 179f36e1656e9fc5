//! Rekey (DESIGN.md section 2): a reporter exchanges the receipt for a new one. The old
//! receipt stops working, and every data key sealed to the old reply key (claim codes,
//! messages) is sealed again to the new one, in one transaction. Afterwards the receipt counts
//! as private: only the reporter has seen it.

use super::IntakeError;
use crate::crypto::keyring::Keyring;
use crate::crypto::receipt::Receipt;
use crate::crypto::reply::{reply_public, reseal_reply_row};
use crate::crypto::seal::Sealer;
use crate::db::DbConn;
use crate::db::schema::{sealed_keys, tips};
use crate::triage::reader::reply_rows;
use diesel::prelude::*;

/// Returns the new receipt, or `None` for an unknown one.
pub fn rekey(
    conn: &mut DbConn,
    keys: &Keyring,
    sealer: &Sealer,
    old: &Receipt,
) -> Result<Option<Receipt>, IntakeError> {
    let old_hash = old.hash(&keys.peppers.receipt);
    conn.transaction::<_, IntakeError, _>(|c| {
        crate::audit::lock_head_on_sqlite(c)?;
        let Some(tip_id) = tips::table
            .filter(tips::receipt_hash.eq(&old_hash.0[..]))
            .select(tips::id)
            .first::<String>(c)
            .optional()?
        else {
            return Ok(None);
        };
        let new = Receipt::generate()?;
        let new_pub = reply_public(keys, &new);
        let rows = reply_rows(c, &tip_id).map_err(|_| crate::crypto::CryptoError::Open)?;
        for row in rows {
            let again = reseal_reply_row(keys, sealer, old, &new_pub, &row)?;
            diesel::update(
                sealed_keys::table
                    .filter(sealed_keys::object_kind.eq(&row.object_kind))
                    .filter(sealed_keys::object_id.eq(&row.object_id))
                    .filter(sealed_keys::recipient_key_id.eq(&row.recipient_key_id)),
            )
            .set((
                sealed_keys::encapped.eq(&again.encapped),
                sealed_keys::sealed_key.eq(&again.sealed_key),
            ))
            .execute(c)?;
        }
        diesel::update(tips::table.filter(tips::id.eq(&tip_id)))
            .set((
                tips::receipt_hash.eq(new.hash(&keys.peppers.receipt).0.to_vec()),
                tips::reply_pubkey.eq(new_pub),
                tips::receipt_private.eq(true),
            ))
            .execute(c)?;
        Ok(Some(new))
    })
}
