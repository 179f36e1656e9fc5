//! The proposal form as typed: text in, the domain's `Facts` and `Proposal` out, or Chinese
//! messages per field. Money is parsed to integer fen without floating point, so "1234.5" is
//! exactly 123450 fen; quantities may have decimals (grams, kilograms, mu) as in the API.

use crate::rewards::approvals::{Eligibility, Proposal};
use crate::rewards::schedule::{Facts, Seizure};
use std::collections::HashMap;
use tipline_views::staff_rewards::{FieldErrors, ProposalValues, SEIZURE_ROWS, SeizureValues};

/// Full-width digits and point, as a Chinese input method may type them, become ASCII.
fn ascii_digits(text: &str) -> String {
    text.trim()
        .chars()
        .map(|c| match c {
            '０'..='９' => char::from(b'0' + (c as u32 - '０' as u32) as u8),
            '．' => '.',
            c => c,
        })
        .collect()
}

fn all_digits(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit())
}

/// Yuan with at most two decimals as fen: "1234.5" is 123450. `None` when it is not such a
/// number (signs, exponents, three decimals and separators are refused rather than guessed).
pub fn yuan_to_fen(text: &str) -> Option<i64> {
    let s = ascii_digits(text);
    let (whole, frac) = s.split_once('.').unwrap_or((&s, ""));
    if whole.is_empty() && frac.is_empty() {
        return None;
    }
    if !all_digits(whole) || !all_digits(frac) || frac.len() > 2 || whole.len() > 15 {
        return None;
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let frac: i64 = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().ok()? * 10,
        _ => frac.parse().ok()?,
    };
    whole.checked_mul(100)?.checked_add(frac)
}

/// A non-negative decimal quantity; empty is zero.
fn quantity(text: &str) -> Option<f64> {
    let s = ascii_digits(text);
    if s.is_empty() {
        return Some(0.0);
    }
    let (whole, frac) = s.split_once('.').unwrap_or((&s, ""));
    let ok = !(whole.is_empty() && frac.is_empty())
        && all_digits(whole)
        && all_digits(frac)
        && s.len() <= 20;
    if ok { s.parse().ok() } else { None }
}

/// A whole number; empty is zero. The domain checks the range.
fn whole(text: &str) -> Option<i64> {
    let s = ascii_digits(text);
    if s.is_empty() {
        return Some(0);
    }
    if s.len() > 15 || !all_digits(&s) {
        return None;
    }
    s.parse().ok()
}

/// What was typed, kept as text.
pub fn values(f: &HashMap<String, String>) -> ProposalValues {
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    let on = |k: &str| f.get(k).is_some_and(|v| v == "on");
    ProposalValues {
        seizures: (1..=SEIZURE_ROWS)
            .map(|n| SeizureValues {
                drug: get(&format!("drug_{n}")),
                grams: get(&format!("grams_{n}")),
            })
            .collect(),
        precursors_kg: get("precursors_kg"),
        labs: get("labs"),
        manufacturing_leads: get("manufacturing_leads"),
        group_use_people: get("group_use_people"),
        drug_drivers: get("drug_drivers"),
        growing_mu: get("growing_mu"),
        growers_arrested: get("growers_arrested"),
        fugitive_bounty_yuan: get("fugitive_bounty_yuan"),
        special_yuan: get("special_yuan"),
        cracked_on: get("cracked_on"),
        justification: get("justification"),
        not_duty_staff: on("not_duty_staff"),
        not_accomplice: on("not_accomplice"),
        not_detained: on("not_detained"),
        amount_yuan: get("amount_yuan"),
    }
}

fn seizures(v: &ProposalValues, errors: &mut FieldErrors) -> Vec<Seizure> {
    let mut out = Vec::new();
    for (i, s) in v.seizures.iter().enumerate() {
        let n = i + 1;
        let (drug, grams) = (s.drug.trim(), s.grams.trim());
        let message = match (drug.is_empty(), grams.is_empty()) {
            (true, true) => continue,
            (true, false) => format!("请选择第 {n} 种毒品。"),
            (false, true) => format!("请填写第 {n} 种毒品的净重（克）。"),
            (false, false) => match quantity(grams) {
                Some(g) => {
                    out.push(Seizure {
                        drug: drug.to_string(),
                        grams: g,
                    });
                    continue;
                }
                None => format!("第 {n} 种毒品的净重应为数字（克），如 12.5。"),
            },
        };
        errors.push(("seizures", message));
    }
    out
}

/// A quantity field (decimals allowed), or zero with a message for the field.
fn decimal(errors: &mut FieldErrors, name: &'static str, text: &str) -> f64 {
    quantity(text).unwrap_or_else(|| {
        errors.push((name, "应为数字，可以有小数，如 2.5。".into()));
        0.0
    })
}

/// A count or whole-yuan field, or zero with a message for the field.
fn count(errors: &mut FieldErrors, name: &'static str, text: &str) -> i64 {
    whole(text).unwrap_or_else(|| {
        errors.push((name, "应为整数，没有的留空。".into()));
        0
    })
}

/// The case facts, or every field that is not a number of the right kind (in form order).
pub fn facts(v: &ProposalValues) -> Result<Facts, FieldErrors> {
    let mut e = FieldErrors::new();
    let f = Facts {
        drugs: seizures(v, &mut e),
        precursors_kg: decimal(&mut e, "precursors_kg", &v.precursors_kg),
        labs: count(&mut e, "labs", &v.labs),
        manufacturing_leads: count(&mut e, "manufacturing_leads", &v.manufacturing_leads),
        group_use_people: count(&mut e, "group_use_people", &v.group_use_people),
        drug_drivers: count(&mut e, "drug_drivers", &v.drug_drivers),
        growing_mu: decimal(&mut e, "growing_mu", &v.growing_mu),
        growers_arrested: count(&mut e, "growers_arrested", &v.growers_arrested),
        fugitive_bounty_yuan: count(&mut e, "fugitive_bounty_yuan", &v.fugitive_bounty_yuan),
        special_yuan: count(&mut e, "special_yuan", &v.special_yuan),
    };
    if e.is_empty() { Ok(f) } else { Err(e) }
}

/// The whole proposal; the domain checks dates, eligibility, bounds and the cap.
pub fn proposal(v: &ProposalValues) -> Result<Proposal, FieldErrors> {
    let facts = facts(v);
    let amount = match v.amount_yuan.trim() {
        "" => Ok(None),
        t => yuan_to_fen(t).filter(|f| *f > 0).map(Some).ok_or_else(|| {
            (
                "amount_yuan",
                "金额应为正数，最多两位小数，如 1234.5。".to_string(),
            )
        }),
    };
    match (facts, amount) {
        (Ok(facts), Ok(amount_fen)) => Ok(Proposal {
            facts,
            amount_fen,
            cracked_on: v.cracked_on.trim().to_string(),
            justification: v.justification.clone(),
            eligibility: Eligibility {
                not_duty_staff: v.not_duty_staff,
                not_accomplice: v.not_accomplice,
                not_detained: v.not_detained,
            },
        }),
        (facts, amount) => {
            let mut errors = facts.err().unwrap_or_default();
            errors.extend(amount.err());
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_becomes_exact_fen() {
        assert_eq!(yuan_to_fen("1234.5"), Some(123_450));
        assert_eq!(yuan_to_fen("1234.56"), Some(123_456));
        assert_eq!(yuan_to_fen(" 300 "), Some(30_000));
        assert_eq!(yuan_to_fen("0.07"), Some(7));
        assert_eq!(yuan_to_fen(".5"), Some(50));
        assert_eq!(yuan_to_fen("３００．１"), Some(30_010));
        // 0.1 + 0.2 style float errors cannot happen: 19.99 is 1999 fen, not 1998.
        assert_eq!(yuan_to_fen("19.99"), Some(1_999));
        for bad in [
            "", ".", "1.234", "-5", "+5", "1e3", "1,000", "12a", "NaN", "inf", "1.2.3",
        ] {
            assert_eq!(yuan_to_fen(bad), None, "{bad}");
        }
        assert_eq!(yuan_to_fen("999999999999999"), Some(99_999_999_999_999_900));
        assert_eq!(yuan_to_fen("9999999999999999"), None, "too long");
    }

    fn form(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_typed_form_becomes_a_proposal() {
        let v = values(&form(&[
            ("drug_1", "heroin"),
            ("grams_1", "5"),
            ("drug_2", "ketamine"),
            ("grams_2", "12.5"),
            ("labs", "1"),
            ("cracked_on", "2026-11-20"),
            ("justification", "理由"),
            ("not_duty_staff", "on"),
            ("not_accomplice", "on"),
            ("not_detained", "on"),
            ("amount_yuan", "300"),
        ]));
        let p = proposal(&v).unwrap();
        assert_eq!(p.facts.drugs.len(), 2);
        assert_eq!(p.facts.drugs[1].grams, 12.5);
        assert_eq!((p.facts.labs, p.facts.growers_arrested), (1, 0));
        assert_eq!(p.amount_fen, Some(30_000));
        assert!(p.eligibility.not_detained);
    }

    #[test]
    fn wrong_numbers_are_named_by_field() {
        let v = values(&form(&[
            ("drug_1", "heroin"),
            ("grams_2", "3"),
            ("labs", "1.5"),
            ("growing_mu", "abc"),
            ("amount_yuan", "12.345"),
        ]));
        let errors = proposal(&v).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|(f, _)| *f).collect();
        assert_eq!(
            fields,
            ["seizures", "seizures", "labs", "growing_mu", "amount_yuan"]
        );
        assert!(facts(&values(&form(&[("grams_1", "1e3"), ("drug_1", "heroin")]))).is_err());
    }
}
