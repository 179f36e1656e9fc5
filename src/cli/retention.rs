//! `tipline retention ...`: deleting and purging by the retention rules.

use clap::Subcommand;

#[derive(Subcommand)]
pub(crate) enum RetentionAction {
    /// Apply the rules in force now.
    Run {
        /// Only show what would go.
        #[arg(long)]
        dry_run: bool,
    },
}

/// `tipline retention run [--dry-run]`.
pub(crate) fn retention_run(config: &tipline::config::Config, dry_run: bool) -> Result<(), String> {
    use tipline::retention;
    let (target, keys) = tipline::server::prepare(config).map_err(|e| e.to_string())?;
    let mut conn = target.connect().map_err(|e| e.to_string())?;
    let rules = retention::rules(&mut conn).map_err(|e| e.to_string())?;
    let plan =
        retention::plan(&mut conn, &rules, tipline::db::now_unix()).map_err(|e| e.to_string())?;
    out!(
        "{}: {} contact envelopes, {} closed tips with their attachments, messages and notes",
        if dry_run {
            "would purge or delete"
        } else {
            "purging and deleting"
        },
        plan.contacts.len(),
        plan.tips.len(),
    );
    out!("category\tcontacts\tunfounded\tout_of_scope");
    for (cat, (c, u, o)) in &plan.by_category {
        out!("{cat}\t{c}\t{u}\t{o}");
    }
    if plan.kept_with_reward > 0 {
        out!(
            "kept: {} tips that the rules would delete but that have a reward",
            plan.kept_with_reward
        );
    }
    if dry_run {
        out!("dry run: nothing was changed");
        return Ok(());
    }
    let done = retention::run(&mut conn, &keys.audit_signer(), &plan).map_err(|e| e.to_string())?;
    out!(
        "done: {} contact envelopes purged, {} tips deleted with {} attachments; database compacted",
        done.contacts,
        done.tips,
        done.attachments
    );
    Ok(())
}
