//! Storage of sealed things: the `sealed_keys` rows that wrap each sealed object's key. One floor
//! below intake, notify and rewards, which all write sealed objects with their key rows.

use super::DbConn;
use crate::crypto::seal::SealedKey;
use diesel::prelude::*;
use diesel::sql_types::{Binary, Text};

/// Writes one `sealed_keys` row.
pub fn insert_sealed_key(conn: &mut DbConn, k: &SealedKey) -> QueryResult<usize> {
    // Epoch rows are shared by many tips committed concurrently: first one wins.
    diesel::sql_query(
        "INSERT INTO sealed_keys (object_kind, object_id, recipient_key_id, encapped, sealed_key) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind::<Text, _>(&k.object_kind)
    .bind::<Text, _>(&k.object_id)
    .bind::<Text, _>(&k.recipient_key_id)
    .bind::<Binary, _>(&k.encapped)
    .bind::<Binary, _>(&k.sealed_key)
    .execute(conn)
}
