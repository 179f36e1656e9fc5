//! Binding the keys dir to the database: the database remembers the public fingerprints of the
//! keys it was initialized with, and a start with other keys (or none) stops with a clear message.

use crate::audit::{self, Entry, Outcome};
use crate::crypto::CryptoError;
use crate::crypto::keyring::{KeyError, Keyring, Passphrase, old_purpose};
use crate::crypto::seal::{Opener, Sealer};
use crate::db::schema::{keyring, sealed_keys};
use crate::db::{DbConn, DbError};
use diesel::prelude::*;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum KeyCheckError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(
        "the database was initialized with keys ({expected}) but the keys dir {dir} holds none. \
         Restore the keys from their backup, or point TIPLINE_KEYS_DIR at them. Refusing to start: \
         new keys could not open the tips already stored."
    )]
    Missing { dir: String, expected: String },
    #[error(
        "the keys in {dir} do not match this database ({purpose}: database has {expected}, keys dir has {found}). \
         Refusing to start rather than seal tips to a key nobody holds."
    )]
    Mismatch {
        dir: String,
        purpose: String,
        expected: String,
        found: String,
    },
    #[error(
        "this node does not hold the {0} private key, so it cannot re-seal; run this on the office node"
    )]
    NoPrivateKey(String),
    #[error("cannot re-seal epoch {epoch} (sealed to {key}): {source}")]
    Reseal {
        epoch: String,
        key: String,
        source: CryptoError,
    },
    #[error(
        "{count} sealed keys still name the old {kind} key {old}; refusing to retire it, or they \
         could never be opened again. A node started before the rotation may still have sealed \
         to it: wait one epoch (TIPLINE_EPOCH_SECONDS), run `tipline keys rotate {kind}` again to \
         re-seal the rest, then retire."
    )]
    StillInUse {
        kind: String,
        old: String,
        count: i64,
    },
}

impl From<diesel::result::Error> for KeyCheckError {
    fn from(e: diesel::result::Error) -> Self {
        KeyCheckError::Db(DbError::from(e))
    }
}

pub enum KeyOutcome {
    Generated(Keyring),
    Adopted(Keyring),
    Matched(Keyring),
}

impl KeyOutcome {
    pub fn into_keyring(self) -> Keyring {
        match self {
            KeyOutcome::Generated(k) | KeyOutcome::Adopted(k) | KeyOutcome::Matched(k) => k,
        }
    }
}

fn recorded(conn: &mut DbConn) -> Result<Vec<(String, String)>, DbError> {
    Ok(keyring::table
        .select((keyring::purpose, keyring::fingerprint))
        .order(keyring::purpose)
        .load::<(String, String)>(conn)?)
}

fn read_passphrase(file: Option<&Path>) -> Result<Option<Passphrase>, KeyError> {
    file.map(Passphrase::from_file).transpose()
}

/// Loads the keys, generating them on the very first start, and checks them against the database.
/// `passphrase_file` holds the passphrase of protected key files (and protects generated ones).
pub fn load_or_init(
    conn: &mut DbConn,
    dir: &Path,
    passphrase_file: Option<&Path>,
) -> Result<KeyOutcome, KeyCheckError> {
    let known = recorded(conn)?;
    let present = Keyring::present(dir);
    if known.is_empty() {
        let generated = !present;
        if generated {
            Keyring::generate_protected(dir, read_passphrase(passphrase_file)?.as_ref())?;
        }
        let ring = Keyring::load_with(dir, read_passphrase(passphrase_file)?)?;
        conn.transaction::<_, diesel::result::Error, _>(|c| {
            for (purpose, fp) in ring.fingerprints() {
                diesel::insert_into(keyring::table)
                    .values((keyring::purpose.eq(purpose), keyring::fingerprint.eq(fp)))
                    .execute(c)?;
            }
            Ok(())
        })
        .map_err(DbError::from)?;
        return Ok(if generated {
            KeyOutcome::Generated(ring)
        } else {
            KeyOutcome::Adopted(ring)
        });
    }
    if !present {
        return Err(KeyCheckError::Missing {
            dir: dir.display().to_string(),
            expected: known
                .iter()
                .map(|(p, f)| format!("{p} {f}"))
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    let ring = Keyring::load_with(dir, read_passphrase(passphrase_file)?)?;
    let found = ring.fingerprints();
    let known = record_rotations(conn, &ring, known)?;
    let known = record_split(conn, &ring, known)?;
    let accepted = accepted_police_node(conn, &ring)?;
    for (purpose, expected) in &known {
        if purpose == crate::crypto::keyring::NODE && accepted {
            // Another police node on this database, recorded by `ferry trust` (issue 18).
            continue;
        }
        let have = found
            .iter()
            .find(|(p, _)| p == purpose)
            .map(|(_, f)| f.clone());
        if have.as_deref() != Some(expected.as_str()) {
            return Err(KeyCheckError::Mismatch {
                dir: dir.display().to_string(),
                purpose: purpose.clone(),
                expected: expected.clone(),
                found: have.unwrap_or_else(|| "nothing".into()),
            });
        }
    }
    Ok(KeyOutcome::Matched(ring))
}

/// Whether `ring` is a police node key this database accepts: a `ferry_nodes` row of the
/// police zone with its id and both its public keys (`tipline ferry trust` at a police node
/// records another police node sharing the database; each police node records itself).
pub fn accepted_police_node(conn: &mut DbConn, ring: &Keyring) -> Result<bool, DbError> {
    use crate::db::schema::ferry_nodes;
    if ring.zone != crate::crypto::keyring::Zone::Police {
        return Ok(false);
    }
    let me = ring.node_public();
    let row: Option<(Vec<u8>, Vec<u8>)> = ferry_nodes::table
        .filter(ferry_nodes::node_id.eq(&me.node_id))
        .filter(ferry_nodes::zone.eq("police"))
        .select((ferry_nodes::kem_public, ferry_nodes::sign_public))
        .first(conn)
        .optional()?;
    Ok(row.is_some_and(|(kem, sign)| {
        hex::encode(kem) == me.kem_public && hex::encode(sign) == me.sign_public
    }))
}

/// Records a police node's own identity among the database's accepted police node keys, once
/// its keys passed the check (so the other police nodes accept its seals and signatures).
pub fn record_police_node(conn: &mut DbConn, ring: &Keyring) -> Result<(), DbError> {
    use crate::db::schema::ferry_nodes;
    if ring.zone != crate::crypto::keyring::Zone::Police || accepted_police_node(conn, ring)? {
        return Ok(());
    }
    let me = ring.node_public();
    let (kem, sign) = (
        hex::decode(&me.kem_public).unwrap_or_default(),
        hex::decode(&me.sign_public).unwrap_or_default(),
    );
    conn.transaction::<_, diesel::result::Error, _>(|c| {
        diesel::delete(ferry_nodes::table.filter(ferry_nodes::node_id.eq(&me.node_id)))
            .execute(c)?;
        diesel::insert_into(ferry_nodes::table)
            .values((
                ferry_nodes::node_id.eq(&me.node_id),
                ferry_nodes::zone.eq("police"),
                ferry_nodes::kem_public.eq(&kem),
                ferry_nodes::sign_public.eq(&sign),
            ))
            .execute(c)?;
        Ok(())
    })?;
    Ok(())
}

/// The Ed25519 keys whose signatures this database's audit log may carry: this node's, and
/// at a police node those of the other police nodes whose identity files are in the keys dir
/// (`police-nodes/*.json`). Not from the database: a row there must not let whoever can write
/// to it sign audit entries that verify.
pub fn audit_verifiers(ring: &Keyring) -> Vec<ed25519_dalek::VerifyingKey> {
    let mut out = vec![ring.audit_verifier()];
    if ring.zone == crate::crypto::keyring::Zone::Police {
        out.extend(
            ring.police_peers()
                .iter()
                .filter_map(|n| hex::decode(&n.sign_public).ok())
                .filter_map(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
                .filter_map(|b| ed25519_dalek::VerifyingKey::from_bytes(&b).ok())
                .filter(|k| *k != ring.audit_verifier()),
        );
    }
    out
}

/// A rotation moves the key files first and records the new fingerprint second. A keys dir
/// whose old key is the one the database expects (and whose current key is new) is that
/// rotation, interrupted or just done: record it. Anything else still stops the start.
fn record_rotations(
    conn: &mut DbConn,
    ring: &Keyring,
    known: Vec<(String, String)>,
) -> Result<Vec<(String, String)>, DbError> {
    use crate::crypto::keyring::{OFFICE, RELAY};
    for kind in [OFFICE, RELAY] {
        let expected = known.iter().find(|(p, _)| p == kind).map(|(_, f)| f);
        let current = &ring.current(kind).key_id;
        if let (Some(expected), Some(old)) = (expected, ring.old_key(kind))
            && expected == old
            && expected != current
        {
            conn.transaction::<_, diesel::result::Error, _>(|c| {
                diesel::update(keyring::table.filter(keyring::purpose.eq(kind)))
                    .set(keyring::fingerprint.eq(current))
                    .execute(c)?;
                diesel::delete(keyring::table.filter(keyring::purpose.eq(old_purpose(kind))))
                    .execute(c)?;
                diesel::insert_into(keyring::table)
                    .values((
                        keyring::purpose.eq(old_purpose(kind)),
                        keyring::fingerprint.eq(old),
                    ))
                    .execute(c)?;
                Ok(())
            })?;
        }
    }
    recorded(conn)
}

/// A keys dir split from the complete dir this database was made with (issue 18, `tipline
/// keys split`): the pepper fingerprint changes to the zone's, which the split recorded, and a
/// police dir's relay fingerprint to its own relay key's. The other fingerprints (office, node)
/// are still checked as they are.
fn record_split(
    conn: &mut DbConn,
    ring: &Keyring,
    known: Vec<(String, String)>,
) -> Result<Vec<(String, String)>, DbError> {
    use crate::crypto::keyring::{PEPPERS, RELAY};
    // A police dir split from this database's dir holds a relay key of its own (staff
    // notices) and the edge's as `reporter-relay.pub`: the database expected the edge's.
    let known = match known.iter().find(|(p, _)| p == RELAY).map(|(_, f)| f) {
        Some(expected)
            if ring.zone == crate::crypto::keyring::Zone::Police
                && ring.split_from.is_some()
                && *expected == ring.reporter_relay.key_id
                && *expected != ring.relay.key_id =>
        {
            diesel::update(keyring::table.filter(keyring::purpose.eq(RELAY)))
                .set(keyring::fingerprint.eq(&ring.relay.key_id))
                .execute(conn)?;
            recorded(conn)?
        }
        _ => known,
    };
    let expected = known.iter().find(|(p, _)| p == PEPPERS).map(|(_, f)| f);
    let Some(now) = ring
        .fingerprints()
        .into_iter()
        .find(|(p, _)| p == PEPPERS)
        .map(|(_, f)| f)
    else {
        return Ok(known);
    };
    if let (Some(expected), Some(from)) = (expected, ring.split_from.as_ref())
        && expected == from
        && *expected != now
    {
        diesel::update(keyring::table.filter(keyring::purpose.eq(PEPPERS)))
            .set(keyring::fingerprint.eq(&now))
            .execute(conn)?;
        return recorded(conn);
    }
    Ok(known)
}

/// Whether `key_id` is the recorded current key of `kind` (a serving node follows a rotation
/// only to such a key).
pub fn is_recorded(conn: &mut DbConn, kind: &str, key_id: &str) -> Result<bool, DbError> {
    let n: i64 = keyring::table
        .filter(keyring::purpose.eq(kind))
        .filter(keyring::fingerprint.eq(key_id))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Rows still sealed to `key_id`.
pub fn rows_naming(conn: &mut DbConn, key_id: &str) -> Result<i64, DbError> {
    Ok(sealed_keys::table
        .filter(sealed_keys::recipient_key_id.eq(key_id))
        .count()
        .get_result(conn)?)
}

/// Re-seals up to `batch` epoch rows sealed to `old` so they name `ring`'s current key
/// instead, in one transaction with its audit entry. Returns how many it moved.
///
/// Only epoch rows are sealed to the office and relay keys with HPKE (every object's data key
/// is wrapped under an epoch key), so rotating a key is this one loop over `sealed_keys`: the
/// objects and their data-key rows do not change.
pub fn reseal_batch(
    conn: &mut DbConn,
    ring: &Keyring,
    kind: &str,
    opener: &Opener,
    sealer: &Sealer,
    old: &str,
    batch: i64,
) -> Result<usize, KeyCheckError> {
    let to = ring.current(kind);
    let signer = ring.audit_signer();
    conn.transaction::<_, KeyCheckError, _>(|c| {
        audit::lock_head(c).map_err(DbError::from)?;
        let rows = crate::triage::reader::epochs_sealed_to(c, old, batch)?;
        for row in &rows {
            let object_id = &row.object_id;
            let reseal_err = |source| KeyCheckError::Reseal {
                epoch: object_id.clone(),
                key: old.to_string(),
                source,
            };
            let key = opener.open_key(row).map_err(reseal_err)?;
            let again = sealer
                .seal_key_to(to, "epoch", object_id, &key)
                .map_err(reseal_err)?;
            // A node still serving on the old key may have re-inserted an epoch that is
            // already sealed to the new key: then only the old row goes.
            crate::db::sealed::insert_sealed_key(c, &again).map_err(DbError::from)?;
            diesel::delete(
                sealed_keys::table
                    .filter(sealed_keys::object_kind.eq("epoch"))
                    .filter(sealed_keys::object_id.eq(object_id))
                    .filter(sealed_keys::recipient_key_id.eq(old)),
            )
            .execute(c)
            .map_err(DbError::from)?;
        }
        if !rows.is_empty() {
            let object = format!("key:{kind}:{old}->{}:{}", to.key_id, rows.len());
            audit::append(
                c,
                &signer,
                &Entry {
                    actor: "cli",
                    action: "keys.reseal",
                    object: &object,
                    outcome: Outcome::Ok,
                },
            )
            .map_err(DbError::from)?;
        }
        Ok(rows.len())
    })
}

/// What `tipline keys rotate` did.
pub struct Rotated {
    pub old: String,
    pub new: String,
    /// False when an earlier rotation was resumed instead of a new key made.
    pub generated: bool,
    pub resealed: usize,
}

/// `tipline keys rotate KIND`: a new keypair (unless a rotation is pending, which is resumed),
/// recorded in the database, then every epoch sealed to the old key re-sealed to the new one.
pub fn rotate(
    conn: &mut DbConn,
    dir: &Path,
    passphrase_file: Option<&Path>,
    kind: &str,
    batch: i64,
) -> Result<Rotated, KeyCheckError> {
    let ring = load_or_init(conn, dir, passphrase_file)?.into_keyring();
    let (old, new, generated) = match ring.old_key(kind) {
        Some(old) => (old.to_string(), ring.current(kind).key_id.clone(), false),
        None => {
            let pass = read_passphrase(passphrase_file)?;
            let (old, new) = Keyring::rotate_files(dir, kind, pass.as_ref())?;
            (old, new, true)
        }
    };
    // Loading again records the new fingerprint (and the old one, until it is retired).
    let ring = load_or_init(conn, dir, passphrase_file)?.into_keyring();
    if generated {
        let object = format!("key:{kind}:{old}->{new}");
        audit::record(
            conn,
            &ring.audit_signer(),
            &Entry {
                actor: "cli",
                action: "keys.rotate",
                object: &object,
                outcome: Outcome::Ok,
            },
        )
        .map_err(DbError::from)?;
    }
    let opener = match kind {
        crate::crypto::keyring::RELAY => ring.relay_opener(),
        _ => ring.office_opener(),
    }
    .ok_or_else(|| KeyCheckError::NoPrivateKey(kind.into()))?;
    let sealer = Sealer::new(ring.node.clone(), std::time::Duration::from_secs(1), 1);
    let mut resealed = 0;
    loop {
        let n = reseal_batch(conn, &ring, kind, &opener, &sealer, &old, batch)?;
        resealed += n;
        if n == 0 {
            break;
        }
    }
    Ok(Rotated {
        old,
        new,
        generated,
        resealed,
    })
}

/// `tipline keys retire KIND`: refuses while any row names the old key; otherwise forgets its
/// fingerprint and destroys its file. Returns the retired key id.
pub fn retire(
    conn: &mut DbConn,
    dir: &Path,
    passphrase_file: Option<&Path>,
    kind: &str,
) -> Result<String, KeyCheckError> {
    let ring = load_or_init(conn, dir, passphrase_file)?.into_keyring();
    let old = ring
        .old_key(kind)
        .ok_or_else(|| KeyError::NothingToRetire(kind.into()))?
        .to_string();
    let signer = ring.audit_signer();
    conn.transaction::<_, KeyCheckError, _>(|c| {
        audit::lock_head(c).map_err(DbError::from)?;
        let count = rows_naming(c, &old)?;
        if count > 0 {
            return Err(KeyCheckError::StillInUse {
                kind: kind.into(),
                old: old.clone(),
                count,
            });
        }
        diesel::delete(keyring::table.filter(keyring::purpose.eq(old_purpose(kind))))
            .execute(c)
            .map_err(DbError::from)?;
        let object = format!("key:{kind}:{old}");
        audit::append(
            c,
            &signer,
            &Entry {
                actor: "cli",
                action: "keys.retire",
                object: &object,
                outcome: Outcome::Ok,
            },
        )
        .map_err(DbError::from)?;
        Ok(())
    })?;
    // The database no longer expects the old key, so the file can go; a crash here leaves a
    // stray old file that the next `retire` removes.
    Keyring::retire_file(dir, kind)?;
    Ok(old)
}
