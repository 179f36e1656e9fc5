//! What the receipt holder sees of rewards.
//! The claim code is opened with the reply key derived from the receipt presented, and only
//! when the receipt is private to the reporter (not read back by a clerk, carried by SMS or
//! kept in a mailbox, or exchanged on the web before the tip was verified; see
//! `intake::rekey`): otherwise the claim code is withheld.

use super::RewardError;
use crate::crypto::keyring::Keyring;
use crate::crypto::receipt::Receipt;
use crate::crypto::reply::{ReplyKeys, open_with_receipt};
use crate::db::DbConn;
use crate::db::schema::rewards;
use crate::triage::reader::reply_key_row;
use diesel::prelude::*;
use serde::Serialize;

#[derive(Debug, Serialize, Clone)]
pub struct ReporterReward {
    /// claimable | paid | rejected | expired
    pub status: String,
    pub amount_fen: Option<i64>,
    /// Shown only to a private receipt while the reward is claimable.
    pub claim_code: Option<String>,
    pub claim_by: Option<String>,
    /// The receipt passed through other hands and was not exchanged on the web before the tip
    /// was verified: the claim code is withheld (a clerk who read the receipt out could
    /// otherwise exchange it late and collect; issue 14).
    pub rekey_needed: bool,
    pub reject_reason: Option<String>,
}

impl ReporterReward {
    pub fn notice(&self) -> tipline_views::rewards::RewardNotice {
        tipline_views::rewards::RewardNotice {
            status: self.status.clone(),
            amount_fen: self.amount_fen,
            claim_code: self.claim_code.clone(),
            claim_by: self.claim_by.clone(),
            rekey_needed: self.rekey_needed,
            reject_reason: self.reject_reason.clone(),
        }
    }
}

/// The rewards of a tip as its reporter may see them, newest first. Rewards still being
/// approved are not shown: the reporter hears when the decision is made.
pub fn for_receipt(
    conn: &mut DbConn,
    keys: &Keyring,
    tip_id: &str,
    receipt: &Receipt,
    receipt_private: bool,
) -> Result<Vec<ReporterReward>, RewardError> {
    type Row = (
        String,
        String,
        i64,
        Option<String>,
        Option<Vec<u8>>,
        Option<String>,
    );
    let rows: Vec<Row> = rewards::table
        .filter(rewards::tip_id.eq(tip_id))
        .filter(rewards::status.ne("approving"))
        .order(rewards::proposed_at.desc())
        .select((
            rewards::id,
            rewards::status,
            rewards::amount_fen,
            rewards::claim_by,
            rewards::claim_sealed,
            rewards::reject_reason,
        ))
        .load(conn)?;
    let mut out = Vec::with_capacity(rows.len());
    let reply = ReplyKeys::new(
        keys,
        receipt,
        &crate::triage::reader::reply_rows(conn, tip_id).map_err(|_| RewardError::Crypto)?,
    );
    for (id, status, amount, claim_by, sealed, reason) in rows {
        let claimable = status == "claimable";
        let claim_code = match (&sealed, claimable && receipt_private) {
            (Some(ct), true) => {
                // Never an error page for the reporter (issue 18): a code that does not open
                // here (yet) is left out, and the status page still shows.
                let row = reply_key_row(conn, "claim", &id)?;
                match row.map(|row| open_with_receipt(keys, &reply, &row, ct)) {
                    Some(Ok(code)) => {
                        let digits = String::from_utf8_lossy(&code).into_owned();
                        Some(crate::crypto::receipt::group4(&digits))
                    }
                    _ => {
                        tracing::warn!("a claim code does not open yet; left out");
                        None
                    }
                }
            }
            _ => None,
        };
        let rejected = status == "rejected";
        out.push(ReporterReward {
            amount_fen: (!rejected).then_some(amount),
            claim_code,
            claim_by: if claimable { claim_by } else { None },
            rekey_needed: claimable && !receipt_private,
            reject_reason: reason.filter(|_| rejected),
            status,
        });
    }
    Ok(out)
}
