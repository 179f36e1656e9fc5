//! `tipline policy ...`: the signed policy documents.

use clap::Subcommand;
use tipline::config::Config;

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

/// `tipline policy show|set`.
pub(crate) fn run(config: &Config, action: PolicyAction) -> Result<(), String> {
    let (target, keys) = tipline::server::prepare(config).map_err(|e| e.to_string())?;
    let mut conn = target.connect().map_err(|e| e.to_string())?;
    use tipline::rewards::policy;
    match action {
        PolicyAction::Show { name, version } => {
            let d =
                policy::document(&mut conn, &name, version).map_err(|e| format!("{name}: {e}"))?;
            out!("# {} version {}", d.name, d.version);
            print!("{}", d.body);
        }
        PolicyAction::Set { name, file } => {
            let body =
                std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            let object = format!("policy:{name}");
            let v = tipline::rewards::audited(
                &mut conn,
                &keys.audit_signer(),
                "cli",
                "policy.write",
                &object,
                |c| policy::save_document(c, &name, &body, "cli"),
            )
            .map_err(|e| e.to_string())?;
            out!("{name} version {v} is now in force");
        }
    }
    Ok(())
}
