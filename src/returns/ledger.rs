//! The ledger categories a township counts in its monthly return: policy data, like the reward
//! schedule. The defaults are the four counts the 2018 plan names; `TIPLINE_RETURN_LEDGER`
//! may point at a TOML file of the same shape to replace them.

use serde::Deserialize;
use std::sync::OnceLock;

pub const DEFAULTS: &str = include_str!("defaults/ledger-2018.toml");

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Category {
    pub code: String,
    pub zh: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Ledger {
    pub document: String,
    #[serde(rename = "category")]
    pub categories: Vec<Category>,
}

impl Ledger {
    pub fn parse(text: &str) -> Result<Ledger, String> {
        let l: Ledger = toml::from_str(text).map_err(|e| e.to_string())?;
        if l.categories.is_empty() {
            return Err("the ledger names no category".into());
        }
        for (i, c) in l.categories.iter().enumerate() {
            let ok = !c.code.is_empty()
                && c.code.len() <= 40
                && c.code
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !ok || c.zh.trim().is_empty() {
                return Err(format!("ledger category {} is malformed", i + 1));
            }
            if l.categories[..i].iter().any(|o| o.code == c.code) {
                return Err(format!("ledger category {} appears twice", c.code));
            }
        }
        Ok(l)
    }

    pub fn label<'a>(&'a self, code: &'a str) -> &'a str {
        self.categories
            .iter()
            .find(|c| c.code == code)
            .map(|c| c.zh.as_str())
            .unwrap_or(code)
    }

    pub fn knows(&self, code: &str) -> bool {
        self.categories.iter().any(|c| c.code == code)
    }
}

static LEDGER: OnceLock<Ledger> = OnceLock::new();

/// The categories in force: the operator's file if `TIPLINE_RETURN_LEDGER` names a readable,
/// valid one (checked at start by `check`), else the defaults.
pub fn current() -> &'static Ledger {
    LEDGER.get_or_init(|| {
        std::env::var("TIPLINE_RETURN_LEDGER")
            .ok()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .and_then(|t| Ledger::parse(&t).ok())
            .or_else(|| Ledger::parse(DEFAULTS).ok())
            .unwrap_or(Ledger {
                document: String::new(),
                categories: Vec::new(),
            })
    })
}

/// Refuses to start with a named ledger file that does not read or parse.
pub fn check() -> Result<(), String> {
    match std::env::var("TIPLINE_RETURN_LEDGER") {
        Ok(p) => {
            let t = std::fs::read_to_string(&p)
                .map_err(|e| format!("TIPLINE_RETURN_LEDGER {p}: {e}"))?;
            Ledger::parse(&t)
                .map(|_| ())
                .map_err(|e| format!("TIPLINE_RETURN_LEDGER {p}: {e}"))
        }
        Err(_) => Ledger::parse(DEFAULTS).map(|_| ()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_the_plans_four_counts() {
        let l = Ledger::parse(DEFAULTS).unwrap();
        let codes: Vec<&str> = l.categories.iter().map(|c| c.code.as_str()).collect();
        assert_eq!(
            codes,
            [
                "outflow_workers",
                "prior_trafficking",
                "prior_use",
                "fugitives"
            ]
        );
        assert_eq!(l.label("fugitives"), "涉毒在逃人员");
        assert!(Ledger::parse("document = \"x\"\ncategory = []").is_err());
        assert!(
            Ledger::parse("document = \"x\"\n[[category]]\ncode = \"A b\"\nzh = \"x\"\n").is_err()
        );
    }
}
