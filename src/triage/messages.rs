//! The conversation between a reporter and the police (DESIGN.md section 2). Each message is
//! sealed once; its data key is wrapped for the office (epoch row) and sealed to the reporter's
//! reply key, so officers can reread the thread and only the receipt holder can read it outside
//! the office. Only the hour of each message is kept in the clear.

use super::reader::{key_rows, reply_key_row, reply_rows};
use crate::crypto::keyring::Keyring;
use crate::crypto::receipt::Receipt;
use crate::crypto::reply::{ReplyKeys, open_shared_office, open_shared_reply, seal_shared};
use crate::crypto::seal::{Opener, Recipient, Sealer};
use crate::crypto::{CryptoError, random_bytes};
use crate::db::schema::{messages, tips};
use crate::db::sealed::insert_sealed_key;
use crate::db::{DbConn, DbError, now_unix};
use diesel::prelude::*;
use serde::Serialize;

/// The longest message, in characters.
pub const MAX_MESSAGE_CHARS: usize = 2000;

#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    #[error("a message is 1 to 2,000 characters")]
    Length,
    #[error("no such tip")]
    NotFound,
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("sealing or opening a message failed")]
    Crypto(#[from] CryptoError),
}

impl From<crate::notify::outbox::OutboxError> for MessageError {
    fn from(e: crate::notify::outbox::OutboxError) -> Self {
        match e {
            crate::notify::outbox::OutboxError::Db(d) => MessageError::Db(d),
            crate::notify::outbox::OutboxError::Crypto(x) => MessageError::Crypto(x),
        }
    }
}

impl From<diesel::result::Error> for MessageError {
    fn from(e: diesel::result::Error) -> Self {
        MessageError::Db(DbError::Query(e))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// From the reporter to the police.
    Reporter,
    /// From the police to the reporter.
    Police,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Reporter => "reporter",
            Direction::Police => "police",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Message {
    pub from: &'static str,
    /// The hour, unix seconds.
    pub at: i64,
    /// Staff username for police messages, shown to staff only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    pub body: String,
}

fn check_body(body: &str) -> Result<&str, MessageError> {
    let t = body.trim();
    let n = t.chars().count();
    if n == 0 || n > MAX_MESSAGE_CHARS {
        return Err(MessageError::Length);
    }
    Ok(t)
}

/// What writing a message needs besides the database.
pub struct Sealing<'a> {
    pub sealer: &'a Sealer,
    pub office: &'a Recipient,
    /// Staff notices ("a reporter wrote") go through the outbox, sealed to the relay key.
    pub relay: &'a Recipient,
    pub public_url: &'a str,
}

/// Appends a message to a tip's thread, inside the caller's transaction. A reporter's message
/// counts as unread for the queue.
pub fn append(
    c: &mut DbConn,
    s: &Sealing,
    tip_id: &str,
    direction: Direction,
    author: Option<&str>,
    body: &str,
) -> Result<(), MessageError> {
    let body = check_body(body)?;
    let reply_pubkey: Vec<u8> = tips::table
        .filter(tips::id.eq(tip_id))
        .select(tips::reply_pubkey)
        .first::<Vec<u8>>(c)
        .optional()?
        .ok_or(MessageError::NotFound)?;
    let id = hex::encode(random_bytes::<16>()?);
    let stream = match direction {
        Direction::Reporter => crate::crypto::seal::Stream::Reporter,
        Direction::Police => crate::crypto::seal::Stream::Staff,
    };
    let sealed = seal_shared(
        s.sealer,
        stream,
        s.office,
        tip_id,
        &reply_pubkey,
        "message",
        &id,
        body.as_bytes(),
    )?;
    insert_sealed_key(c, &sealed.epoch_row)?;
    insert_sealed_key(c, &sealed.dek_row)?;
    insert_sealed_key(c, &sealed.reply_row)?;
    let seq: Option<i32> = messages::table
        .filter(messages::tip_id.eq(tip_id))
        .select(diesel::dsl::max(messages::seq))
        .first(c)?;
    let now = now_unix();
    diesel::insert_into(messages::table)
        .values((
            messages::id.eq(&id),
            messages::tip_id.eq(tip_id),
            messages::seq.eq(seq.unwrap_or(0) + 1),
            messages::direction.eq(direction.as_str()),
            messages::author.eq(author),
            messages::at_hour.eq(now - now.rem_euclid(3600)),
            messages::body.eq(&sealed.ciphertext),
        ))
        .execute(c)?;
    if direction == Direction::Reporter {
        // The notice waits for the next digest pass (notify::staff::announce_messages), which
        // says how many tips a reporter wrote on, not which, and not when (issue 13).
        diesel::update(tips::table.filter(tips::id.eq(tip_id)))
            .set((
                tips::unread_messages.eq(tips::unread_messages + 1),
                tips::updated_at.eq(now - now.rem_euclid(3600)),
                tips::reporter_wrote.eq(true),
            ))
            .execute(c)?;
    }
    Ok(())
}

type Row = (String, String, Option<String>, i64, Vec<u8>);

fn rows(c: &mut DbConn, tip_id: &str) -> Result<Vec<Row>, MessageError> {
    Ok(messages::table
        .filter(messages::tip_id.eq(tip_id))
        .order(messages::seq.asc())
        .select((
            messages::id,
            messages::direction,
            messages::author,
            messages::at_hour,
            messages::body,
        ))
        .load(c)?)
}

fn direction_of(s: &str) -> &'static str {
    if s == "police" { "police" } else { "reporter" }
}

/// The thread as the office reads it (staff names resolved by the caller).
pub fn for_office(
    c: &mut DbConn,
    opener: &Opener,
    tip_id: &str,
) -> Result<Vec<Message>, MessageError> {
    let mut out = Vec::new();
    for (id, direction, author, at, ct) in rows(c, tip_id)? {
        let (epoch_row, dek_row) =
            key_rows(c, "message", &id, opener).map_err(|_| CryptoError::Open)?;
        let body = open_shared_office(opener, &epoch_row, &dek_row, &ct)?;
        out.push(Message {
            from: direction_of(&direction),
            at,
            author,
            body: String::from_utf8_lossy(&body).into_owned(),
        });
    }
    Ok(out)
}

/// What the reporter sees for a message that cannot be opened here yet.
pub const WAITING: &str = "（一条回复正在传送中，下次数据交换后即可显示。）";

/// The thread as the receipt holder reads it: opened with the reply key from the receipt.
pub fn for_reporter(
    c: &mut DbConn,
    keys: &Keyring,
    tip_id: &str,
    receipt: &Receipt,
) -> Result<Vec<Message>, MessageError> {
    let mut out = Vec::new();
    let reply = ReplyKeys::new(
        keys,
        receipt,
        &reply_rows(c, tip_id).map_err(|_| CryptoError::Open)?,
    );
    for (id, direction, _, at, ct) in rows(c, tip_id)? {
        let row = reply_key_row(c, "message", &id).ok().flatten();
        // Never an error page for the reporter (issue 18): a message whose key is not here yet
        // or does not open shows as waiting.
        let body = match row.map(|row| open_shared_reply(keys, &reply, &row, &ct)) {
            Some(Ok(body)) => String::from_utf8_lossy(&body).into_owned(),
            _ => {
                tracing::warn!("a message to the reporter does not open yet; shown as waiting");
                WAITING.to_string()
            }
        };
        out.push(Message {
            from: direction_of(&direction),
            at,
            author: None,
            body,
        });
    }
    Ok(out)
}

/// Marks a tip's reporter messages as read (when an officer opens the tip).
pub fn mark_read(c: &mut DbConn, tip_id: &str) -> Result<(), MessageError> {
    diesel::update(tips::table.filter(tips::id.eq(tip_id)))
        .set(tips::unread_messages.eq(0))
        .execute(c)?;
    Ok(())
}
