//! Township -> unit routing (DESIGN.md section 4). County-wide categories, tips whose reporter
//! asked for the county brigade only (small villages where the local station knows everyone),
//! and unknown townships go to the county brigade.

use crate::crypto::keyring::Keyring;
use crate::crypto::{Secret32, ct_eq, keyed_hash, subkey};
use crate::db::schema::{unit_townships, units};
use crate::db::{DbConn, DbError};
use crate::intake::catalog::{
    BUREAU_UNIT, COUNTY_UNIT, COUNTY_UNIT_EN, COUNTY_UNIT_ZH, COUNTY_WIDE_CATEGORIES, TOWNSHIPS,
    UNKNOWN_TOWNSHIP, station_code,
};
use diesel::prelude::*;

/// What decides who reads a tip: the columns a MAC binds to its id (issue 13 item 9).
pub struct Route<'a> {
    pub tip_id: &'a str,
    pub unit: &'a str,
    pub county_only: bool,
    pub category: &'a str,
    pub township: &'a str,
}

/// The key that binds a tip's routing columns to the tip. It is derived from the peppers in the
/// keys dir, so it is never in the database: whoever can write the database (a thief with a
/// backup, a DBA, an insider with SQL) can move a county-only tip to the local station, but
/// cannot make the MAC match, and the staff views then refuse or flag the tip. Every node that
/// stores or reads tips has the peppers. Nothing in the code re-routes a tip after intake; a
/// future re-route must call `seal` again in its own transaction.
pub struct RouteKey(Secret32);

impl RouteKey {
    pub fn new(keys: &Keyring) -> Self {
        RouteKey(subkey(&keys.peppers.receipt, "tip-route-binding-v1"))
    }

    /// A key from any secret (benches that generate tips without a keys dir).
    pub fn from_secret(secret: Secret32) -> Self {
        RouteKey(secret)
    }

    /// The MAC stored in `tips.route_mac`.
    pub fn seal(&self, r: &Route) -> Vec<u8> {
        keyed_hash(
            &self.0,
            &[
                b"tip-route",
                r.tip_id.as_bytes(),
                r.unit.as_bytes(),
                &[u8::from(r.county_only)],
                r.category.as_bytes(),
                r.township.as_bytes(),
            ],
        )
        .to_vec()
    }

    /// Whether the stored MAC matches the clear columns (constant-time). A tip without one
    /// (stored before the binding existed, or whose MAC was deleted) does not.
    pub fn holds(&self, r: &Route, mac: Option<&[u8]>) -> bool {
        mac.is_some_and(|m| ct_eq(m, &self.seal(r)))
    }
}

/// Binds every tip that has no `route_mac` yet (stored before the binding existed) as its
/// columns read now, in one transaction with one audit entry. Tips that have one, matching or
/// not, are left alone: a broken binding is evidence, not something to paper over.
pub fn bind_unbound(
    conn: &mut DbConn,
    key: &RouteKey,
    signer: &ed25519_dalek::SigningKey,
) -> Result<usize, DbError> {
    use crate::db::schema::tips;
    conn.transaction::<_, diesel::result::Error, _>(|c| {
        crate::audit::lock_head(c)?;
        let rows: Vec<(String, String, bool, String, String)> = tips::table
            .filter(tips::route_mac.is_null())
            .select((
                tips::id,
                tips::unit_code,
                tips::county_only,
                tips::category,
                tips::township,
            ))
            .load(c)?;
        for (id, unit, county_only, category, township) in &rows {
            let mac = key.seal(&Route {
                tip_id: id,
                unit,
                county_only: *county_only,
                category,
                township,
            });
            diesel::update(tips::table.filter(tips::id.eq(id)))
                .set(tips::route_mac.eq(Some(mac)))
                .execute(c)?;
        }
        crate::audit::append(
            c,
            signer,
            &crate::audit::Entry {
                actor: "cli",
                action: "tip.route.bind",
                object: &format!("tips:{}", rows.len()),
                outcome: crate::audit::Outcome::Ok,
            },
        )?;
        Ok(rows.len())
    })
    .map_err(DbError::Query)
}

pub fn route(
    conn: &mut DbConn,
    category: &str,
    township: &str,
    county_only: bool,
) -> Result<String, DbError> {
    if county_only || COUNTY_WIDE_CATEGORIES.contains(&category) || township == UNKNOWN_TOWNSHIP {
        return Ok(COUNTY_UNIT.to_string());
    }
    let unit = unit_townships::table
        .filter(unit_townships::township.eq(township))
        .select(unit_townships::unit_code)
        .first::<String>(conn)
        .optional()?;
    Ok(unit.unwrap_or_else(|| COUNTY_UNIT.to_string()))
}

/// Seeds a fresh install with the county brigade and one police station per township.
pub fn seed_units(conn: &mut DbConn) -> Result<bool, DbError> {
    let existing: i64 = units::table.count().get_result(conn)?;
    if existing > 0 {
        ensure_bureau(conn)?;
        return Ok(false);
    }
    conn.transaction::<_, diesel::result::Error, _>(|c| {
        diesel::insert_into(units::table)
            .values((
                units::code.eq(COUNTY_UNIT),
                units::name_zh.eq(COUNTY_UNIT_ZH),
                units::name_en.eq(COUNTY_UNIT_EN),
                units::county_wide.eq(true),
            ))
            .execute(c)?;
        diesel::insert_into(unit_townships::table)
            .values((
                unit_townships::township.eq(UNKNOWN_TOWNSHIP),
                unit_townships::unit_code.eq(COUNTY_UNIT),
            ))
            .execute(c)?;
        for t in TOWNSHIPS.iter().filter(|t| t.code != UNKNOWN_TOWNSHIP) {
            let code = station_code(t.code);
            diesel::insert_into(units::table)
                .values((
                    units::code.eq(&code),
                    units::name_zh.eq(format!("{}派出所", t.zh.trim_end_matches(['镇', '乡']))),
                    units::name_en.eq(format!("{} police station", t.en)),
                    units::county_wide.eq(false),
                ))
                .execute(c)?;
            diesel::insert_into(unit_townships::table)
                .values((
                    unit_townships::township.eq(t.code),
                    unit_townships::unit_code.eq(&code),
                ))
                .execute(c)?;
        }
        Ok(())
    })?;
    ensure_bureau(conn)?;
    Ok(true)
}

/// The county bureau's leadership signs large rewards (the default ladder's `unit:bureau`
/// step). It serves no township, so no tip is routed to it.
fn ensure_bureau(conn: &mut DbConn) -> Result<(), DbError> {
    let present: i64 = units::table
        .filter(units::code.eq(BUREAU_UNIT))
        .count()
        .get_result(conn)?;
    if present == 0 {
        diesel::insert_into(units::table)
            .values((
                units::code.eq(BUREAU_UNIT),
                units::name_zh.eq("县公安局"),
                units::name_en.eq("County public security bureau"),
                units::county_wide.eq(false),
            ))
            .execute(conn)?;
    }
    Ok(())
}

#[derive(serde::Serialize)]
pub struct UnitView {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub county_wide: bool,
    pub townships: Vec<String>,
}

pub fn list_units(conn: &mut DbConn) -> Result<Vec<UnitView>, DbError> {
    let rows: Vec<(String, String, String, bool)> = units::table
        .order(units::code)
        .select((
            units::code,
            units::name_zh,
            units::name_en,
            units::county_wide,
        ))
        .load(conn)?;
    let towns: Vec<(String, String)> = unit_townships::table
        .select((unit_townships::unit_code, unit_townships::township))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(code, name_zh, name_en, county_wide)| UnitView {
            townships: towns
                .iter()
                .filter(|(u, _)| *u == code)
                .map(|(_, t)| t.clone())
                .collect(),
            code,
            name_zh,
            name_en,
            county_wide,
        })
        .collect())
}

#[derive(Debug, thiserror::Error)]
pub enum UnitError {
    #[error("unit codes are 2-32 lowercase letters, digits or dashes")]
    BadCode,
    #[error("a unit with this code exists")]
    Exists,
    #[error("unknown township {0}")]
    UnknownTownship(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Adds a unit and moves the named townships to it (each township has exactly one unit).
pub fn add_unit(
    conn: &mut DbConn,
    signer: &ed25519_dalek::SigningKey,
    by: &str,
    code: &str,
    name: &str,
    townships: &[String],
) -> Result<(), UnitError> {
    if !(2..=32).contains(&code.len())
        || !code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(UnitError::BadCode);
    }
    for t in townships {
        if crate::intake::catalog::township(t).is_none() {
            return Err(UnitError::UnknownTownship(t.clone()));
        }
    }
    conn.transaction::<_, UnitError, _>(|c| {
        crate::audit::lock_head(c)?;
        let n: i64 = units::table
            .filter(units::code.eq(code))
            .count()
            .get_result(c)?;
        if n > 0 {
            return Err(UnitError::Exists);
        }
        diesel::insert_into(units::table)
            .values((
                units::code.eq(code),
                units::name_zh.eq(name),
                units::name_en.eq(name),
                units::county_wide.eq(false),
            ))
            .execute(c)?;
        for t in townships {
            diesel::delete(unit_townships::table.filter(unit_townships::township.eq(t)))
                .execute(c)?;
            diesel::insert_into(unit_townships::table)
                .values((
                    unit_townships::township.eq(t),
                    unit_townships::unit_code.eq(code),
                ))
                .execute(c)?;
        }
        crate::audit::append(
            c,
            signer,
            &crate::audit::Entry {
                actor: by,
                action: "unit.add",
                object: &format!("unit:{code}"),
                outcome: crate::audit::Outcome::Ok,
            },
        )?;
        Ok(())
    })
}

impl From<diesel::result::Error> for UnitError {
    fn from(e: diesel::result::Error) -> Self {
        UnitError::Db(DbError::Query(e))
    }
}
