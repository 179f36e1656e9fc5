//! Rekey (DESIGN.md section 2): a reporter exchanges the receipt for a new one. The old
//! receipt stops working, and every data key sealed to the old reply key (claim codes,
//! messages) is sealed again to the new one, in one transaction.
//!
//! Afterwards the receipt counts as private (only the reporter has seen it, so claim codes
//! show) only if the tip was not yet verified. A clerk who read a hotline receipt out could
//! otherwise wait until a reward is signed, exchange the receipt and read the claim code
//! (issue 14): the genuine caller is told to exchange it at once, long before any reward, and
//! an exchange after verification still kills the old receipt but reveals no claim code. The
//! hour of the exchange is kept on the tip row for supervisors (never a timeline row).

use super::IntakeError;
use crate::crypto::keyring::Keyring;
use crate::crypto::receipt::Receipt;
use crate::crypto::reply::{reply_public, reseal_reply_row, seal_previous};
use crate::crypto::seal::Sealer;
use crate::db::schema::{sealed_keys, tip_events, tips};
use crate::db::{DbConn, reporter_hour};
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
    if super::journal::lookup(conn, &old_hash.0[..])?.is_some() {
        // Still in the intake journal (seconds old): into `tips` first.
        super::journal::drain(conn)?;
    }
    conn.transaction::<_, IntakeError, _>(|c| {
        crate::audit::lock_head_on_sqlite(c)?;
        let Some((tip_id, status, was_private)) = tips::table
            .filter(tips::receipt_hash.eq(&old_hash.0[..]))
            .select((tips::id, tips::status, tips::receipt_private))
            .first::<(String, String, bool)>(c)
            .optional()?
        else {
            return Ok(None);
        };
        let verified = status == "verified"
            || tip_events::table
                .filter(tip_events::tip_id.eq(&tip_id))
                .filter(tip_events::to_status.eq("verified"))
                .count()
                .get_result::<i64>(c)?
                > 0;
        let private = was_private || !verified;
        let new = Receipt::generate()?;
        let new_pub = reply_public(keys, &new);
        let rows = reply_rows(c, &tip_id).map_err(|_| crate::crypto::CryptoError::Open)?;
        // A row sealed to a key this receipt replaced (it crossed after an earlier rekey)
        // does not open with it: it stays, and opens through the kept previous keys.
        let split = keys.zone == crate::crypto::keyring::Zone::Intake;
        for row in rows {
            let Ok(again) = reseal_reply_row(keys, sealer, old, &new_pub, &row) else {
                if split {
                    continue;
                }
                return Err(crate::crypto::CryptoError::Open.into());
            };
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
        if split {
            // In a split deployment the police node may have sealed a reply or a claim code
            // to the old key before this rekey reaches it: keep the old key for the new receipt.
            let prev = seal_previous(keys, sealer, &tip_id, old, &new_pub)?;
            diesel::insert_into(sealed_keys::table)
                .values((
                    sealed_keys::object_kind.eq(&prev.object_kind),
                    sealed_keys::object_id.eq(&prev.object_id),
                    sealed_keys::recipient_key_id.eq(&prev.recipient_key_id),
                    sealed_keys::encapped.eq(&prev.encapped),
                    sealed_keys::sealed_key.eq(&prev.sealed_key),
                ))
                .execute(c)?;
        }
        diesel::update(tips::table.filter(tips::id.eq(&tip_id)))
            .set((
                tips::receipt_hash.eq(new.hash(&keys.peppers.receipt).0.to_vec()),
                tips::reply_pubkey.eq(new_pub),
                tips::receipt_private.eq(private),
                tips::receipt_exchanged_hour.eq(Some(reporter_hour())),
            ))
            .execute(c)?;
        Ok(Some(new))
    })
}
