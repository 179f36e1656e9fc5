//! Contact envelopes (DESIGN.md section 2): how to reach a reporter who wrote by SMS or email.
//! The address is sealed to the relay key (object kind `contact`, id = the tip id); only the
//! outbox worker opens it, no staff page shows it. A keyed hash of the normalized address (the
//! alias) lets later messages from the same number join the same tip without storing the
//! number. Both are purged when the retention period ends.

use crate::crypto::keyring::Keyring;
use crate::crypto::seal::{Opener, SealedObject, Sealer};
use crate::crypto::{CryptoError, Secret32, keyed_hash, subkey};
use crate::db::schema::tips;
use crate::db::{DbConn, DbError, now_unix};
use crate::triage::reader::{ReadError, open_sealed};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Contact {
    /// `sms` or `email`
    pub channel: String,
    pub address: String,
    /// Email only: the tip's thread token (issue 13 item 7). Our mails to the reporter carry it
    /// in their Message-ID; a later mail joins the tip only when it brings the token back.
    /// Sealed here with the address; the database holds only its keyed hash (the alias).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread: Option<String>,
}

impl Contact {
    pub fn sms(number: &str) -> Self {
        Self {
            channel: "sms".into(),
            address: normalize_phone(number),
            thread: None,
        }
    }

    /// A mail contact with a new random thread token.
    pub fn email(address: &str) -> Result<Self, CryptoError> {
        Ok(Self {
            channel: "email".into(),
            address: address.trim().to_lowercase(),
            thread: Some(hex::encode(crate::crypto::random_bytes::<16>()?)),
        })
    }

    /// The keyed hash that threads later messages: of the number for SMS (a carrier
    /// authenticates it), of the thread token for mail (a From or Reply-To address proves
    /// nothing, so mail never threads by address).
    pub fn alias(&self, keys: &Keyring) -> Option<Vec<u8>> {
        match (self.channel.as_str(), &self.thread) {
            ("sms", _) => Some(alias_of(&keys.peppers.alias, &self.channel, &self.address)),
            ("email", Some(token)) => Some(email_thread_alias(keys, token)),
            _ => None,
        }
    }
}

/// The alias of a mail thread token, as stored in `tips.contact_alias`.
pub fn email_thread_alias(keys: &Keyring, token: &str) -> Vec<u8> {
    alias_of(&keys.peppers.alias, "email-thread", token)
}

/// Digits only, with one leading `+` kept; Chinese numbers written without the country code
/// get +86, so `13800138000` and `+86 138-0013-8000` are one person.
pub fn normalize_phone(raw: &str) -> String {
    let plus = raw.trim_start().starts_with('+');
    let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
    if plus {
        format!("+{digits}")
    } else if digits.len() == 11 && digits.starts_with('1') {
        format!("+86{digits}")
    } else if let Some(rest) = digits.strip_prefix("00") {
        format!("+{rest}")
    } else {
        digits
    }
}

fn alias_of(pepper: &Secret32, channel: &str, address: &str) -> Vec<u8> {
    let key = subkey(pepper, "contact-alias");
    keyed_hash(&key, &[channel.as_bytes(), address.as_bytes()]).to_vec()
}

/// A contact envelope ready to insert with its tip.
pub struct SealedContact {
    pub sealed: SealedObject,
    pub alias: Option<Vec<u8>>,
    pub purge_at: i64,
}

pub fn seal(
    keys: &Keyring,
    sealer: &Sealer,
    tip_id: &str,
    contact: &Contact,
    retention_days: i64,
) -> Result<SealedContact, CryptoError> {
    let json = zeroize::Zeroizing::new(serde_json::to_vec(contact).map_err(|_| CryptoError::Seal)?);
    Ok(SealedContact {
        sealed: sealer.seal_in(
            crate::crypto::seal::Stream::Reporter,
            &keys.reporter_relay,
            "contact",
            tip_id,
            &json,
        )?,
        alias: contact.alias(keys),
        purge_at: crate::db::hour_ceil(now_unix() + retention_days.max(1) * 86_400),
    })
}

/// Opens a tip's contact envelope with the relay key; `None` when there is none (web tips) or
/// it was purged.
pub fn open(
    conn: &mut DbConn,
    relay: &Opener,
    tip_id: &str,
) -> Result<Option<Contact>, CryptoError> {
    let ct: Option<Vec<u8>> = tips::table
        .filter(tips::id.eq(tip_id))
        .select(tips::contact)
        .first::<Option<Vec<u8>>>(conn)
        .optional()
        .map_err(|_| CryptoError::Open)?
        .flatten();
    let Some(ct) = ct else { return Ok(None) };
    let pt = open_sealed(conn, relay, "contact", tip_id, &ct).map_err(|_| CryptoError::Open)?;
    serde_json::from_slice(&pt)
        .map(Some)
        .map_err(|_| CryptoError::Open)
}

/// The newest tip that still has a contact envelope with this alias (later texts from the same
/// number join its conversation).
pub fn tip_for_alias(conn: &mut DbConn, alias: &[u8]) -> Result<Option<String>, DbError> {
    tips::table
        .filter(tips::contact_alias.eq(alias))
        .filter(tips::contact.is_not_null())
        .order(tips::created_hour.desc())
        .select(tips::id)
        .first::<String>(conn)
        .optional()
        .map_err(DbError::Query)
}

/// Deletes the contact envelopes and aliases whose retention period ended; returns how many.
pub fn purge_expired(conn: &mut DbConn) -> Result<usize, ReadError> {
    let due: Vec<String> = tips::table
        .filter(tips::contact_purge_at.lt(now_unix()))
        .select(tips::id)
        .load(conn)?;
    for id in &due {
        conn.transaction::<_, ReadError, _>(|c| crate::retention::purge_contact(c, id))?;
    }
    Ok(due.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_normalize_to_one_form() {
        assert_eq!(normalize_phone("13800138000"), "+8613800138000");
        assert_eq!(normalize_phone("+86 138-0013-8000"), "+8613800138000");
        assert_eq!(normalize_phone("008613800138000"), "+8613800138000");
        assert_eq!(normalize_phone("+1 (415) 555-0100"), "+14155550100");
        // Twilio writes E.164; Tencent's callback gives country code and number apart, which
        // the provider joins as "+" + nationcode + mobile: one alias either way.
        assert_eq!(normalize_phone("+8613800138000"), "+8613800138000");
        assert_eq!(normalize_phone(" 138 0013 8000 "), "+8613800138000");
        assert_eq!(normalize_phone("no number"), "");
    }
}
