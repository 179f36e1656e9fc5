//! The triage state machine (DESIGN.md section 4): one table, checked in one place.

pub const STATUSES: &[&str] = &[
    "received",
    "triaging",
    "assigned",
    "investigating",
    "verified",
    "unfounded",
    "duplicate",
    "out_of_scope",
    "closed",
];

/// Allowed moves. A tip can be recognised as a duplicate or out of scope at any point before
/// it is decided; decided tips only close.
const TRANSITIONS: &[(&str, &[&str])] = &[
    (
        "received",
        &["triaging", "assigned", "duplicate", "out_of_scope"],
    ),
    (
        "triaging",
        &["assigned", "unfounded", "duplicate", "out_of_scope"],
    ),
    (
        "assigned",
        &["investigating", "triaging", "duplicate", "out_of_scope"],
    ),
    (
        "investigating",
        &[
            "verified",
            "unfounded",
            "duplicate",
            "out_of_scope",
            "assigned",
        ],
    ),
    ("verified", &["closed"]),
    ("unfounded", &["closed"]),
    ("duplicate", &["closed"]),
    ("out_of_scope", &["closed"]),
    ("closed", &[]),
];

pub fn allowed(from: &str, to: &str) -> bool {
    TRANSITIONS
        .iter()
        .find(|(f, _)| *f == from)
        .is_some_and(|(_, tos)| tos.contains(&to))
}

pub fn next_states(from: &str) -> &'static [&'static str] {
    TRANSITIONS
        .iter()
        .find(|(f, _)| *f == from)
        .map(|(_, t)| *t)
        .unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_is_in_the_table_and_closed_is_final() {
        for s in STATUSES {
            assert!(TRANSITIONS.iter().any(|(f, _)| f == s), "{s}");
        }
        for (_, tos) in TRANSITIONS {
            for t in *tos {
                assert!(STATUSES.contains(t));
            }
        }
        assert!(next_states("closed").is_empty());
        assert!(allowed("received", "triaging"));
        assert!(
            !allowed("received", "verified"),
            "a tip is investigated before it is verified"
        );
        assert!(!allowed("closed", "received"));
    }
}
