//! The reward policy as data: tiers, heroin equivalence, the cap, deadlines, payout rules and
//! the approval ladder. Documents are TOML, versioned in `policy_documents`; the newest version
//! of a name is in force, and the shipped defaults stand in until an admin saves one.

use super::RewardError;
use super::calendar::{Calendar, DEFAULT_CALENDAR};
use crate::db::schema::policy_documents;
use crate::db::{DbConn, now_unix};
use crate::staff::{Actor, Role};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

pub const DEFAULT_REWARDS: &str = include_str!("defaults/rewards-2018.toml");
pub const REWARDS_DOC: &str = "rewards";
pub const CALENDAR_DOC: &str = "calendar";
/// Documents an admin may edit.
pub const DOCUMENTS: [&str; 3] = [REWARDS_DOC, CALENDAR_DOC, RETENTION_DOC];
pub use crate::retention::rules::RETENTION_DOC;

const FEN_PER_YUAN: i64 = 100;

pub fn yuan_to_fen(yuan: i64) -> i64 {
    yuan.saturating_mul(FEN_PER_YUAN)
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Band {
    pub label: String,
    pub min_yuan: i64,
    pub max_yuan: i64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct DrugTier {
    pub code: String,
    pub label: String,
    pub from_g: i64,
    pub to_g: Option<i64>,
    pub min_yuan: i64,
    pub max_yuan: i64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct PrecursorTier {
    pub code: String,
    pub label: String,
    pub from_kg: i64,
    pub to_kg: Option<i64>,
    pub min_yuan: i64,
    pub max_yuan: i64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct PeopleTier {
    pub code: String,
    pub label: String,
    pub from_people: i64,
    pub to_people: Option<i64>,
    pub min_yuan: i64,
    pub max_yuan: i64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct PerItem {
    pub lab: Band,
    pub manufacturing_lead: Band,
    pub drug_driver: Band,
    pub grower_arrested: Band,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Growing {
    pub under_one_mu: Band,
    pub one_mu_or_more: Band,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Labelled {
    pub label: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Special {
    pub label: String,
    pub max_yuan: i64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Equivalence {
    pub drug: String,
    pub label: String,
    /// How many milligrams of this drug count as 50 g of heroin.
    pub equals_50g_heroin_mg: i64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct PayoutRules {
    pub anonymous_cash_max_yuan: i64,
    pub identity_check_above_yuan: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope<'a> {
    TipUnit,
    County,
    Unit(&'a str),
    Any,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct LadderStep {
    pub step: String,
    pub label: String,
    pub above_yuan: i64,
    pub role: String,
    pub scope: String,
}

impl LadderStep {
    pub fn scope(&self) -> Option<Scope<'_>> {
        match self.scope.as_str() {
            "tip_unit" => Some(Scope::TipUnit),
            "county" => Some(Scope::County),
            "any" => Some(Scope::Any),
            s => s
                .strip_prefix("unit:")
                .filter(|u| !u.is_empty())
                .map(Scope::Unit),
        }
    }

    /// Whether this person fits the step for a reward of a tip in `tip_unit`.
    pub fn fits(&self, actor: &Actor, tip_unit: &str) -> bool {
        if Role::parse(&self.role) != Some(actor.role) {
            return false;
        }
        let county = actor
            .unit
            .as_deref()
            .is_none_or(|u| u == crate::intake::catalog::COUNTY_UNIT);
        match self.scope() {
            Some(Scope::TipUnit) => actor.unit.as_deref() == Some(tip_unit),
            Some(Scope::County) => county,
            Some(Scope::Unit(u)) => actor.unit.as_deref() == Some(u),
            Some(Scope::Any) => true,
            None => false,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Policy {
    pub title: String,
    pub cap_yuan: i64,
    pub notify_working_days: u32,
    pub claim_months: u32,
    pub payout: PayoutRules,
    pub drug_tiers: Vec<DrugTier>,
    pub precursor_tiers: Vec<PrecursorTier>,
    pub per_item: PerItem,
    pub group_use_tiers: Vec<PeopleTier>,
    pub growing: Growing,
    pub fugitive: Labelled,
    pub special: Special,
    pub equivalence: Vec<Equivalence>,
    pub ladder: Vec<LadderStep>,
}

fn bad(msg: impl Into<String>) -> RewardError {
    RewardError::Policy(msg.into())
}

fn check_band(name: &str, min: i64, max: i64, cap: i64) -> Result<(), RewardError> {
    if min < 0 || max < min || max > cap {
        return Err(bad(format!(
            "{name}: amounts must satisfy 0 <= min_yuan <= max_yuan <= cap_yuan"
        )));
    }
    Ok(())
}

/// Ranges must start at 0, follow each other without gaps, and only the last may be open.
fn check_ranges(name: &str, ranges: &[(i64, Option<i64>)]) -> Result<(), RewardError> {
    let mut expect = ranges.first().map(|r| r.0).unwrap_or(0);
    for (i, (from, to)) in ranges.iter().enumerate() {
        let last = i + 1 == ranges.len();
        if *from != expect || from < &0 {
            return Err(bad(format!(
                "{name}: ranges must follow each other without gaps"
            )));
        }
        match to {
            Some(t) if t > from => expect = *t,
            None if last => {}
            _ => {
                return Err(bad(format!(
                    "{name}: each range needs to > from; only the last is open"
                )));
            }
        }
    }
    Ok(())
}

impl Policy {
    pub fn from_toml(text: &str) -> Result<Self, RewardError> {
        let p: Policy = toml::from_str(text).map_err(|e| bad(format!("rewards: {e}")))?;
        p.validate()?;
        Ok(p)
    }

    pub fn cap_fen(&self) -> i64 {
        yuan_to_fen(self.cap_yuan)
    }

    fn validate(&self) -> Result<(), RewardError> {
        if !(1..=10_000_000).contains(&self.cap_yuan) {
            return Err(bad("cap_yuan must be between 1 and 10,000,000"));
        }
        if !(1..=120).contains(&self.notify_working_days) || !(1..=24).contains(&self.claim_months)
        {
            return Err(bad("notify_working_days is 1-120 and claim_months 1-24"));
        }
        let cap = self.cap_yuan;
        for t in &self.drug_tiers {
            check_band(&t.code, t.min_yuan, t.max_yuan, cap)?;
        }
        for t in &self.precursor_tiers {
            check_band(&t.code, t.min_yuan, t.max_yuan, cap)?;
        }
        for t in &self.group_use_tiers {
            check_band(&t.code, t.min_yuan, t.max_yuan, cap)?;
        }
        for (n, b) in [
            ("lab", &self.per_item.lab),
            ("manufacturing_lead", &self.per_item.manufacturing_lead),
            ("drug_driver", &self.per_item.drug_driver),
            ("grower_arrested", &self.per_item.grower_arrested),
            ("under_one_mu", &self.growing.under_one_mu),
            ("one_mu_or_more", &self.growing.one_mu_or_more),
        ] {
            check_band(n, b.min_yuan, b.max_yuan, cap)?;
        }
        check_band("special", 0, self.special.max_yuan, cap)?;
        let drug: Vec<_> = self.drug_tiers.iter().map(|t| (t.from_g, t.to_g)).collect();
        check_ranges("drug_tiers", &drug)?;
        let pre: Vec<_> = self
            .precursor_tiers
            .iter()
            .map(|t| (t.from_kg, t.to_kg))
            .collect();
        check_ranges("precursor_tiers", &pre)?;
        let people: Vec<_> = self
            .group_use_tiers
            .iter()
            .map(|t| (t.from_people, t.to_people))
            .collect();
        check_ranges("group_use_tiers", &people)?;
        if self.drug_tiers.first().map(|t| t.from_g) != Some(0) {
            return Err(bad("drug_tiers must start at 0 g"));
        }
        for e in &self.equivalence {
            if e.equals_50g_heroin_mg <= 0 || e.drug.is_empty() {
                return Err(bad(format!(
                    "equivalence {}: needs a positive amount",
                    e.drug
                )));
            }
        }
        if !self.equivalence.iter().any(|e| e.drug == "heroin") {
            return Err(bad("the equivalence table must list heroin"));
        }
        if self.ladder.is_empty() {
            return Err(bad("the ladder needs at least one step"));
        }
        let mut names = std::collections::HashSet::new();
        for s in &self.ladder {
            if Role::parse(&s.role).is_none() || s.scope().is_none() || s.above_yuan < 0 {
                return Err(bad(format!(
                    "ladder step {}: role must be a staff role, scope tip_unit, county, unit:CODE or any",
                    s.step
                )));
            }
            if !names.insert(s.step.as_str()) || s.step.contains(',') || s.step.is_empty() {
                return Err(bad(format!("ladder step names must be unique: {}", s.step)));
            }
        }
        if self.ladder.last().map(|s| s.role.as_str()) != Some("finance")
            || self.ladder.last().map(|s| s.above_yuan) != Some(0)
        {
            return Err(bad("the last ladder step is finance's, for every amount"));
        }
        Ok(())
    }

    /// The steps a reward of this amount needs, in signing order.
    pub fn steps_for(&self, amount_fen: i64) -> Vec<&LadderStep> {
        self.ladder
            .iter()
            .filter(|s| amount_fen > yuan_to_fen(s.above_yuan))
            .collect()
    }

    pub fn step(&self, name: &str) -> Option<&LadderStep> {
        self.ladder.iter().find(|s| s.step == name)
    }
}

/// A policy document in force: its version (0 for the shipped default) and text.
pub struct Document {
    pub name: String,
    pub version: i64,
    pub body: String,
}

fn default_text(name: &str) -> Option<&'static str> {
    match name {
        REWARDS_DOC => Some(DEFAULT_REWARDS),
        CALENDAR_DOC => Some(DEFAULT_CALENDAR),
        RETENTION_DOC => Some(crate::retention::rules::DEFAULT_RETENTION),
        _ => None,
    }
}

/// The newest version of a document (or of a given version), falling back to the default.
pub fn document(
    conn: &mut DbConn,
    name: &str,
    version: Option<i64>,
) -> Result<Document, RewardError> {
    let mut q = policy_documents::table
        .filter(policy_documents::name.eq(name))
        .select((policy_documents::version, policy_documents::body))
        .order(policy_documents::version.desc())
        .into_boxed();
    if let Some(v) = version {
        q = q.filter(policy_documents::version.eq(v));
    }
    let row = q.first::<(i64, String)>(conn).optional()?;
    match row {
        Some((version, body)) => Ok(Document {
            name: name.to_string(),
            version,
            body,
        }),
        None if version.is_none_or(|v| v == 0) => Ok(Document {
            name: name.to_string(),
            version: 0,
            body: default_text(name).ok_or(RewardError::NotFound)?.to_string(),
        }),
        None => Err(RewardError::NotFound),
    }
}

pub fn rewards_policy(
    conn: &mut DbConn,
    version: Option<i64>,
) -> Result<(i64, Policy), RewardError> {
    let d = document(conn, REWARDS_DOC, version)?;
    Ok((d.version, Policy::from_toml(&d.body)?))
}

pub fn calendar(conn: &mut DbConn) -> Result<Calendar, RewardError> {
    Calendar::from_toml(&document(conn, CALENDAR_DOC, None)?.body)
}

/// Checks and stores a new version of a document; returns its version number.
pub fn save_document(
    conn: &mut DbConn,
    name: &str,
    body: &str,
    by: &str,
) -> Result<i64, RewardError> {
    if body.len() > 256 * 1024 {
        return Err(bad("the document is larger than 256 KiB"));
    }
    match name {
        REWARDS_DOC => {
            Policy::from_toml(body)?;
        }
        CALENDAR_DOC => {
            Calendar::from_toml(body)?;
        }
        RETENTION_DOC => {
            crate::retention::rules::Rules::from_toml(body).map_err(|e| bad(e.to_string()))?;
        }
        _ => return Err(RewardError::NotFound),
    }
    conn.transaction::<_, RewardError, _>(|c| {
        let newest: Option<i64> = policy_documents::table
            .filter(policy_documents::name.eq(name))
            .select(diesel::dsl::max(policy_documents::version))
            .first(c)?;
        let version = newest.unwrap_or(0) + 1;
        diesel::insert_into(policy_documents::table)
            .values((
                policy_documents::name.eq(name),
                policy_documents::version.eq(version),
                policy_documents::body.eq(body),
                policy_documents::created_at.eq(now_unix()),
                policy_documents::created_by.eq(by),
            ))
            .execute(c)?;
        Ok(version)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_policy_is_valid() {
        let p = Policy::from_toml(DEFAULT_REWARDS).unwrap();
        assert_eq!(p.cap_fen(), 30_000_000);
        assert_eq!(p.equivalence.len(), 25);
        let names =
            |a: i64| -> Vec<String> { p.steps_for(a).iter().map(|s| s.step.clone()).collect() };
        assert_eq!(names(50_000), ["unit_head", "finance"]);
        assert_eq!(names(50_001), ["unit_head", "county_leader", "finance"]);
        assert_eq!(
            names(300_001),
            ["unit_head", "county_leader", "bureau", "finance"]
        );
    }

    #[test]
    fn broken_policies_are_refused() {
        let gap = DEFAULT_REWARDS.replacen("from_g = 10\n", "from_g = 11\n", 1);
        assert!(Policy::from_toml(&gap).is_err());
        let no_finance_last = DEFAULT_REWARDS.replace("role = \"finance\"", "role = \"officer\"");
        assert!(Policy::from_toml(&no_finance_last).is_err());
        let over_cap = DEFAULT_REWARDS.replacen("max_yuan = 300000", "max_yuan = 400000", 1);
        assert!(Policy::from_toml(&over_cap).is_err());
        let bad_scope = DEFAULT_REWARDS.replace("scope = \"county\"", "scope = \"everyone\"");
        assert!(Policy::from_toml(&bad_scope).is_err());
    }
}
