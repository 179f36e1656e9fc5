//! The schedule: from the case facts an officer enters to the tiers they reach and the amount
//! the policy suggests, within bounds, capped per report. Quantities are integers (milligrams,
//! grams, people) so that the same facts always give the same fen.

use super::RewardError;
use super::policy::{Band, Policy, yuan_to_fen};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Seizure {
    /// A drug code from the equivalence table.
    pub drug: String,
    /// Net weight in grams (decimals allowed: 0.5).
    pub grams: f64,
}

/// What the tip led to, as the officer records it.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Facts {
    pub drugs: Vec<Seizure>,
    pub precursors_kg: f64,
    pub labs: i64,
    pub manufacturing_leads: i64,
    pub group_use_people: i64,
    pub drug_drivers: i64,
    /// Area of drug plants found, in mu.
    pub growing_mu: f64,
    pub growers_arrested: i64,
    /// The bounty published for a fugitive caught thanks to the tip.
    pub fugitive_bounty_yuan: i64,
    /// An amount asked for a special contribution, with the reason in the justification.
    pub special_yuan: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Item {
    pub code: String,
    pub label: String,
    pub min_fen: i64,
    pub max_fen: i64,
    pub suggested_fen: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Suggestion {
    pub items: Vec<Item>,
    /// Drugs seized, in milligrams of heroin equivalent.
    pub heroin_equivalent_mg: i64,
    pub min_fen: i64,
    /// The highest amount allowed: the items' maximum, within what is left under the cap.
    pub max_fen: i64,
    pub suggested_fen: i64,
    pub cap_fen: i64,
    /// What earlier rewards for the same report already use of the cap.
    pub already_fen: i64,
}

const MAX_GRAMS: f64 = 1e9;
const MAX_COUNT: i64 = 100_000;
/// A thousand tonnes: far beyond any seizure, low enough that the message can say so.
const MAX_PRECURSOR_KG: f64 = 1_000_000.0;

fn grams_to_mg(g: f64, what: &'static str) -> Result<i64, RewardError> {
    if !g.is_finite() || !(0.0..=MAX_GRAMS).contains(&g) {
        return Err(RewardError::BadFacts(what));
    }
    Ok((g * 1000.0).round() as i64)
}

fn count(n: i64, what: &'static str) -> Result<i64, RewardError> {
    if (0..=MAX_COUNT).contains(&n) {
        Ok(n)
    } else {
        Err(RewardError::BadFacts(what))
    }
}

fn band_item(code: &str, b: &Band, times: i64) -> Item {
    Item {
        code: code.to_string(),
        label: if times > 1 {
            format!("{} × {times}", b.label)
        } else {
            b.label.clone()
        },
        min_fen: yuan_to_fen(b.min_yuan).saturating_mul(times),
        max_fen: yuan_to_fen(b.max_yuan).saturating_mul(times),
        suggested_fen: yuan_to_fen(b.min_yuan).saturating_mul(times),
    }
}

fn tier_item(code: &str, label: &str, min_yuan: i64, max_yuan: i64) -> Item {
    Item {
        code: code.to_string(),
        label: label.to_string(),
        min_fen: yuan_to_fen(min_yuan),
        max_fen: yuan_to_fen(max_yuan),
        suggested_fen: yuan_to_fen(min_yuan),
    }
}

/// Milligrams of heroin equivalent for all seizures; unknown drugs are refused.
pub fn heroin_equivalent_mg(policy: &Policy, drugs: &[Seizure]) -> Result<i64, RewardError> {
    let mut total: i128 = 0;
    for s in drugs {
        let eq =
            policy
                .equivalence
                .iter()
                .find(|e| e.drug == s.drug)
                .ok_or(RewardError::BadFacts(
                    "unknown drug: use a code from the equivalence table",
                ))?;
        let mg = grams_to_mg(s.grams, "drug weight must be 0 to 1,000,000,000 g")? as i128;
        total += mg * 50_000 / eq.equals_50g_heroin_mg as i128;
    }
    i64::try_from(total).map_err(|_| RewardError::BadFacts("drug weight too large"))
}

/// What the facts are worth under the policy; `already_fen` is what other live rewards of the
/// same report take from the cap.
pub fn suggest(
    policy: &Policy,
    facts: &Facts,
    already_fen: i64,
) -> Result<Suggestion, RewardError> {
    let mut items = Vec::new();
    let heroin_mg = heroin_equivalent_mg(policy, &facts.drugs)?;
    if !facts.drugs.is_empty() && heroin_mg > 0 {
        let g = heroin_mg / 1000;
        if let Some(t) = policy
            .drug_tiers
            .iter()
            .find(|t| g >= t.from_g && t.to_g.is_none_or(|to| g < to))
        {
            items.push(tier_item(&t.code, &t.label, t.min_yuan, t.max_yuan));
        }
    }
    if !(0.0..=MAX_PRECURSOR_KG).contains(&facts.precursors_kg) {
        return Err(RewardError::BadFacts(
            "precursors must be 0 to 1,000,000 kg",
        ));
    }
    let pre_g = grams_to_mg(facts.precursors_kg, "precursors must be 0 to 1,000,000 kg")?;
    if pre_g > 0 {
        // grams_to_mg of kilograms gives grams.
        let kg = pre_g / 1000;
        if let Some(t) = policy
            .precursor_tiers
            .iter()
            .find(|t| kg >= t.from_kg && t.to_kg.is_none_or(|to| kg < to))
        {
            items.push(tier_item(&t.code, &t.label, t.min_yuan, t.max_yuan));
        }
    }
    let per = &policy.per_item;
    for (code, band, n, what) in [
        ("lab", &per.lab, facts.labs, "labs must be 0 to 100,000"),
        (
            "manufacturing_lead",
            &per.manufacturing_lead,
            facts.manufacturing_leads,
            "manufacturing leads must be 0 to 100,000",
        ),
        (
            "drug_driver",
            &per.drug_driver,
            facts.drug_drivers,
            "drug drivers must be 0 to 100,000",
        ),
        (
            "grower_arrested",
            &per.grower_arrested,
            facts.growers_arrested,
            "growers arrested must be 0 to 100,000",
        ),
    ] {
        let n = count(n, what)?;
        if n > 0 {
            items.push(band_item(code, band, n));
        }
    }
    let people = count(
        facts.group_use_people,
        "group drug use people must be 0 to 100,000",
    )?;
    if let Some(t) = policy
        .group_use_tiers
        .iter()
        .find(|t| people >= t.from_people && t.to_people.is_none_or(|to| people < to))
        .filter(|_| people > 0)
    {
        items.push(tier_item(&t.code, &t.label, t.min_yuan, t.max_yuan));
    }
    let mu_thousandths = grams_to_mg(
        facts.growing_mu,
        "growing area must be 0 to 1,000,000,000 mu",
    )?;
    if mu_thousandths > 0 {
        let (code, band) = if mu_thousandths >= 1000 {
            ("growing_1mu", &policy.growing.one_mu_or_more)
        } else {
            ("growing_lt_1mu", &policy.growing.under_one_mu)
        };
        items.push(band_item(code, band, 1));
    }
    let bounty = facts.fugitive_bounty_yuan;
    if !(0..=policy.cap_yuan).contains(&bounty) {
        return Err(RewardError::BadFacts("the bounty must be 0 to the cap"));
    }
    if bounty > 0 {
        items.push(tier_item(
            "fugitive",
            &policy.fugitive.label,
            bounty,
            bounty,
        ));
    }
    let special = facts.special_yuan;
    if !(0..=policy.special.max_yuan).contains(&special) {
        return Err(RewardError::BadFacts(
            "a special contribution is 0 to its maximum",
        ));
    }
    if special > 0 {
        let mut item = tier_item("special", &policy.special.label, 0, policy.special.max_yuan);
        item.suggested_fen = yuan_to_fen(special);
        items.push(item);
    }
    let cap = policy.cap_fen();
    let room = (cap - already_fen).max(0);
    let sum = |f: fn(&Item) -> i64| items.iter().map(f).fold(0i64, i64::saturating_add);
    let max_fen = sum(|i| i.max_fen).min(room);
    Ok(Suggestion {
        heroin_equivalent_mg: heroin_mg,
        min_fen: sum(|i| i.min_fen).min(max_fen),
        max_fen,
        suggested_fen: sum(|i| i.suggested_fen).min(max_fen),
        cap_fen: cap,
        already_fen,
        items,
    })
}

/// The policy's label for a tier code that `suggest` gives (as stored in `rewards.tiers`).
pub fn tier_label<'p>(policy: &'p Policy, code: &str) -> Option<&'p str> {
    let per = &policy.per_item;
    let fixed = match code {
        "lab" => Some(&per.lab.label),
        "manufacturing_lead" => Some(&per.manufacturing_lead.label),
        "drug_driver" => Some(&per.drug_driver.label),
        "grower_arrested" => Some(&per.grower_arrested.label),
        "growing_lt_1mu" => Some(&policy.growing.under_one_mu.label),
        "growing_1mu" => Some(&policy.growing.one_mu_or_more.label),
        "fugitive" => Some(&policy.fugitive.label),
        "special" => Some(&policy.special.label),
        _ => None,
    };
    fixed
        .or_else(|| {
            policy
                .drug_tiers
                .iter()
                .find(|t| t.code == code)
                .map(|t| &t.label)
        })
        .or_else(|| {
            policy
                .precursor_tiers
                .iter()
                .find(|t| t.code == code)
                .map(|t| &t.label)
        })
        .or_else(|| {
            policy
                .group_use_tiers
                .iter()
                .find(|t| t.code == code)
                .map(|t| &t.label)
        })
        .map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rewards::policy::DEFAULT_REWARDS;

    fn policy() -> Policy {
        Policy::from_toml(DEFAULT_REWARDS).unwrap()
    }

    fn drugs(list: &[(&str, f64)]) -> Facts {
        Facts {
            drugs: list
                .iter()
                .map(|(d, g)| Seizure {
                    drug: d.to_string(),
                    grams: *g,
                })
                .collect(),
            ..Facts::default()
        }
    }

    #[test]
    fn tier_boundaries_include_their_lower_bound() {
        let p = policy();
        let tier = |g: f64| {
            suggest(&p, &drugs(&[("heroin", g)]), 0).unwrap().items[0]
                .code
                .clone()
        };
        assert_eq!(tier(9.999), "drugs_lt_10g");
        assert_eq!(tier(10.0), "drugs_10_50g");
        assert_eq!(tier(999.0), "drugs_500g_1kg");
        assert_eq!(tier(1000.0), "drugs_1_10kg");
        assert_eq!(tier(150_000.0), "drugs_100kg");
    }

    #[test]
    fn other_drugs_convert_to_heroin_and_add_up() {
        let p = policy();
        // 500 g ketamine = 50 g heroin; 20 kg opium = 1 kg heroin; together 1,050 g.
        let s = suggest(&p, &drugs(&[("ketamine", 500.0), ("opium", 20_000.0)]), 0).unwrap();
        assert_eq!(s.heroin_equivalent_mg, 1_050_000);
        assert_eq!(s.items[0].code, "drugs_1_10kg");
        assert_eq!(s.suggested_fen, 2_000_000);
    }

    #[test]
    fn several_items_add_up_and_stop_at_the_cap() {
        let p = policy();
        let f = Facts {
            labs: 2,
            group_use_people: 6,
            drug_drivers: 3,
            ..Facts::default()
        };
        let s = suggest(&p, &f, 0).unwrap();
        // labs 2 x 20,000..200,000; group use 10,000; drivers 3 x 500
        assert_eq!(s.min_fen, (40_000 + 10_000 + 1_500) * 100);
        assert_eq!(s.max_fen, 30_000_000, "400,000 + ... is capped at 300,000");
        let s = suggest(&p, &f, 29_000_000).unwrap();
        assert_eq!(s.max_fen, 1_000_000, "only 10,000 left under the cap");
        assert_eq!(s.suggested_fen, 1_000_000);
    }

    #[test]
    fn bad_facts_are_refused() {
        let p = policy();
        assert!(suggest(&p, &drugs(&[("sugar", 1.0)]), 0).is_err());
        assert!(suggest(&p, &drugs(&[("heroin", f64::NAN)]), 0).is_err());
        assert!(suggest(&p, &drugs(&[("heroin", -1.0)]), 0).is_err());
        let f = Facts {
            labs: -1,
            ..Facts::default()
        };
        assert!(suggest(&p, &f, 0).is_err());
        let f = Facts {
            special_yuan: 300_001,
            ..Facts::default()
        };
        assert!(suggest(&p, &f, 0).is_err());
        let f = Facts {
            precursors_kg: 1_000_001.0,
            ..Facts::default()
        };
        assert!(suggest(&p, &f, 0).is_err());
    }

    #[test]
    fn growing_and_group_use_tiers() {
        let p = policy();
        let f = Facts {
            growing_mu: 0.5,
            growers_arrested: 2,
            group_use_people: 2,
            ..Facts::default()
        };
        let s = suggest(&p, &f, 0).unwrap();
        let codes: Vec<_> = s.items.iter().map(|i| i.code.as_str()).collect();
        assert_eq!(codes, ["grower_arrested", "growing_lt_1mu"]);
        assert_eq!(s.suggested_fen, (4_000 + 1_000) * 100);
    }

    #[test]
    fn every_item_code_has_a_label() {
        let p = policy();
        let f = Facts {
            drugs: vec![Seizure {
                drug: "heroin".into(),
                grams: 5.0,
            }],
            precursors_kg: 2.0,
            labs: 1,
            manufacturing_leads: 1,
            group_use_people: 12,
            drug_drivers: 1,
            growing_mu: 2.0,
            growers_arrested: 1,
            fugitive_bounty_yuan: 1000,
            special_yuan: 100,
        };
        let s = suggest(&p, &f, 0).unwrap();
        assert_eq!(s.items.len(), 10);
        for i in &s.items {
            let label = tier_label(&p, &i.code).unwrap();
            assert!(i.label.starts_with(label), "{}", i.code);
        }
        assert_eq!(
            tier_label(&p, "growing_lt_1mu"),
            Some("非法种植毒品原植物不满1亩")
        );
        assert!(tier_label(&p, "nothing").is_none());
    }
}
