//! The retention rules as a policy document: defaults and per-category overrides.

use serde::Deserialize;
use std::collections::BTreeMap;

/// The name of the policy document that holds these rules.
pub const RETENTION_DOC: &str = "retention";

pub const DEFAULT_RETENTION: &str = include_str!("defaults.toml");

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub contact_days: Option<u32>,
    pub unfounded_months: Option<u32>,
    pub out_of_scope_months: Option<u32>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    pub default: Rule,
    #[serde(default)]
    pub category: BTreeMap<String, Rule>,
}

#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("the retention rules are not valid TOML of the expected shape: {0}")]
    Toml(String),
    #[error("{0}")]
    Invalid(String),
}

impl Rules {
    pub fn from_toml(text: &str) -> Result<Rules, RulesError> {
        let r: Rules = toml::from_str(text).map_err(|e| RulesError::Toml(e.message().into()))?;
        if r.default.contact_days.is_none() {
            return Err(RulesError::Invalid(
                "[default] needs contact_days: contact details are never kept forever".into(),
            ));
        }
        for (name, rule) in std::iter::once(("default", &r.default))
            .chain(r.category.iter().map(|(k, v)| (k.as_str(), v)))
        {
            if name != "default" && crate::intake::catalog::category(name).is_none() {
                return Err(RulesError::Invalid(format!("unknown category {name:?}")));
            }
            if rule.contact_days.is_some_and(|d| !(1..=3650).contains(&d)) {
                return Err(RulesError::Invalid(format!(
                    "{name}: contact_days is from 1 to 3650"
                )));
            }
            for m in [rule.unfounded_months, rule.out_of_scope_months]
                .into_iter()
                .flatten()
            {
                if !(1..=240).contains(&m) {
                    return Err(RulesError::Invalid(format!(
                        "{name}: months are from 1 to 240"
                    )));
                }
            }
        }
        Ok(r)
    }

    /// The rule for a category: its overrides on top of the defaults.
    pub fn for_category(&self, category: &str) -> Rule {
        let o = self.category.get(category).cloned().unwrap_or_default();
        Rule {
            contact_days: o.contact_days.or(self.default.contact_days),
            unfounded_months: o.unfounded_months.or(self.default.unfounded_months),
            out_of_scope_months: o.out_of_scope_months.or(self.default.out_of_scope_months),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_rules_are_valid_and_categories_override() {
        let r = Rules::from_toml(DEFAULT_RETENTION).unwrap();
        assert_eq!(r.for_category("trafficking").unfounded_months, Some(12));
        assert_eq!(r.for_category("fugitive").unfounded_months, Some(36));
        assert_eq!(r.for_category("fugitive").contact_days, Some(180));
        for bad in [
            "[default]\nunfounded_months = 12\n",
            "[default]\ncontact_days = 0\n",
            "[default]\ncontact_days = 10\n[category.nope]\ncontact_days = 5\n",
            "[default]\ncontact_days = 10\nunfounded_months = 0\n",
            "[default]\ncontact_days = 10\nextra = 1\n",
        ] {
            assert!(Rules::from_toml(bad).is_err(), "{bad}");
        }
    }
}
