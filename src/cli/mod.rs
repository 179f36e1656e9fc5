//! The commands of the `tipline` binary, one file per command group: their arguments (clap) and
//! the longer command bodies. `main.rs` parses and dispatches.

pub(crate) mod accounts;
pub(crate) mod audit;
pub(crate) mod db;
pub(crate) mod email;
pub(crate) mod ferry;
pub(crate) mod keys;
pub(crate) mod policy;
pub(crate) mod reports;
pub(crate) mod retention;
