//! `tipline policy ...`: the signed policy documents.

use clap::Subcommand;

#[derive(Subcommand)]
pub(crate) enum PolicyAction {
    /// Print the document in force (or a given version) as TOML.
    Show {
        name: String,
        #[arg(long)]
        version: Option<i64>,
    },
    /// Check a TOML file and store it as the new version.
    Set {
        name: String,
        file: std::path::PathBuf,
    },
}
