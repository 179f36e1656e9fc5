//! Township -> unit routing (DESIGN.md section 4). County-wide categories, tips whose reporter
//! asked for the county brigade only (small villages where the local station knows everyone),
//! and unknown townships go to the county brigade.

use crate::db::schema::{unit_townships, units};
use crate::db::{DbConn, DbError};
use crate::intake::catalog::{
    COUNTY_UNIT, COUNTY_UNIT_EN, COUNTY_UNIT_ZH, COUNTY_WIDE_CATEGORIES, TOWNSHIPS,
    UNKNOWN_TOWNSHIP, station_code,
};
use diesel::prelude::*;

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
    Ok(true)
}
