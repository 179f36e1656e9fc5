//! A staff member's sealed contact and chosen channels, and turning a staff notice into the
//! mails and SMS the outbox sends. Below both `staff` (preferences, announcing) and `outbox`
//! (delivery), so neither imports the other.

use super::Job;
use crate::crypto::CryptoError;
use crate::crypto::seal::Opener;
use crate::db::DbConn;
use crate::db::schema::staff;
use crate::triage::reader::open_sealed;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

pub const EVENTS: [&str; 2] = ["new_tip", "message"];
pub const CHANNELS: [&str; 2] = ["email", "sms"];

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct StaffContact {
    pub email: Option<String>,
    pub phone: Option<String>,
}

pub(super) fn parse_notify(stored: &str) -> (Vec<String>, Vec<String>) {
    let items: Vec<&str> = stored.split(',').filter(|s| !s.is_empty()).collect();
    let pick = |set: &[&str]| {
        items
            .iter()
            .filter(|i| set.contains(i))
            .map(|s| s.to_string())
            .collect()
    };
    (pick(&EVENTS), pick(&CHANNELS))
}

pub(super) fn open_contact(
    conn: &mut DbConn,
    relay: &Opener,
    staff_id: &str,
    ct: &[u8],
) -> Result<StaffContact, CryptoError> {
    let pt =
        open_sealed(conn, relay, "staff_contact", staff_id, ct).map_err(|_| CryptoError::Open)?;
    serde_json::from_slice(&pt).map_err(|_| CryptoError::Open)
}

/// Resolves a staff notice into mails and SMS to that person's sealed addresses, per their
/// channels. Empty when they have none any more.
pub fn resolve(
    conn: &mut DbConn,
    relay: &Opener,
    staff_id: &str,
    template: &str,
    params: &[String],
) -> Result<Vec<Job>, CryptoError> {
    let row: Option<(Option<Vec<u8>>, String, bool)> = staff::table
        .filter(staff::id.eq(staff_id))
        .select((staff::contact, staff::notify, staff::disabled))
        .first(conn)
        .optional()
        .map_err(|_| CryptoError::Open)?;
    let Some((Some(ct), notify, false)) = row else {
        return Ok(Vec::new());
    };
    let contact = open_contact(conn, relay, staff_id, &ct)?;
    let (_, channels) = parse_notify(&notify);
    let Some((subject, body)) = super::templates::render(template, params) else {
        return Ok(Vec::new());
    };
    let mut jobs = Vec::new();
    if channels.iter().any(|c| c == "email")
        && let Some(to) = contact.email
    {
        jobs.push(Job::Mail {
            to,
            subject: subject.to_string(),
            body: body.clone(),
            attachments: Vec::new(),
            thread: None,
        });
    }
    if channels.iter().any(|c| c == "sms")
        && let Some(to) = contact.phone
    {
        jobs.push(Job::Sms {
            to,
            template: template.to_string(),
            params: params.to_vec(),
        });
    }
    Ok(jobs)
}
