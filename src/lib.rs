//! tipline: an anonymous tip-line and reward portal for anti-drug offices.

pub mod audit;
pub mod config;
pub mod crypto;
pub mod db;
#[doc(hidden)]
pub mod fuzzing;
pub mod intake;
pub mod keys;
pub mod notify;
pub mod reports;
pub mod retention;
pub mod rewards;
pub mod server;
pub mod staff;
pub mod triage;
pub mod web;
