//! `tipline ferry ...`: export and import bundles by hand or from a timer, record a trusted
//! node, show the streams; and the pass `serve` runs over the ferry directories.

use super::{FerryError, Mode, export, import};
use crate::config::Config;
use crate::crypto::keyring::{Keyring, NodePublic};
use crate::db::DbConn;
use crate::db::schema::{ferry_nodes, ferry_sent, ferry_streams, tips};
use diesel::prelude::*;
use std::path::PathBuf;

#[derive(clap::Subcommand)]
pub enum FerryAction {
    /// Write the next bundle for the other zone into TIPLINE_FERRY_OUTBOX (or --out).
    Export {
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Import bundles: the files named, or every bundle in TIPLINE_FERRY_INBOX. Exit status 1
    /// when any was refused.
    Import { files: Vec<PathBuf> },
    /// Print this node's public identity (JSON) for the other zone's `ferry trust`.
    Identity,
    /// Trust a node of the other zone: its identity file, from `ferry identity` there. An
    /// intake node trusted by the police node is accepted as the sender of sealed tips too
    /// (restart the police node after trusting a new intake node).
    Trust { file: PathBuf },
    /// The ferry's state: streams, what waits, the oldest unacknowledged tip.
    Status,
}

fn mode_of(config: &Config) -> Result<Mode, String> {
    match config.split.mode {
        Mode::Single => {
            Err("TIPLINE_MODE is single: the ferry runs between an intake and a police node".into())
        }
        m => Ok(m),
    }
}

/// Runs a ferry command; the text to print, or the error.
pub fn run(config: &Config, action: FerryAction) -> Result<String, String> {
    let err = |e: crate::server::StartError| e.to_string();
    match action {
        FerryAction::Identity => {
            let pass = config
                .keys_passphrase_file
                .as_deref()
                .map(crate::crypto::keyring::Passphrase::from_file)
                .transpose()
                .map_err(|e| e.to_string())?;
            let keys = Keyring::load_with(&config.keys_dir, pass).map_err(|e| e.to_string())?;
            serde_json::to_string_pretty(&keys.node_public()).map_err(|e| e.to_string())
        }
        FerryAction::Trust { file } => {
            let mode = mode_of(config)?;
            let text = std::fs::read_to_string(&file)
                .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            let node: NodePublic = serde_json::from_str(&text)
                .map_err(|e| format!("{} is not a node identity: {e}", file.display()))?;
            let want = if mode == Mode::Intake {
                "police"
            } else {
                "intake"
            };
            if node.zone != want {
                return Err(format!(
                    "{} is the identity of a {} node; a {} node trusts only {want} nodes",
                    file.display(),
                    node.zone,
                    mode.as_str()
                ));
            }
            let kem = hex::decode(&node.kem_public).map_err(|e| e.to_string())?;
            let sign = hex::decode(&node.sign_public).map_err(|e| e.to_string())?;
            crate::crypto::seal::kem_public_from_bytes(&kem)
                .map_err(|_| "the node's HPKE public key is malformed".to_string())?;
            <[u8; 32]>::try_from(sign.as_slice())
                .ok()
                .and_then(|b| ed25519_dalek::VerifyingKey::from_bytes(&b).ok())
                .ok_or("the node's Ed25519 public key is malformed")?;
            let (target, keys) = crate::server::prepare(config).map_err(err)?;
            let mut c = target.connect().map_err(|e| e.to_string())?;
            c.transaction::<_, diesel::result::Error, _>(|c| {
                diesel::delete(ferry_nodes::table.filter(ferry_nodes::node_id.eq(&node.node_id)))
                    .execute(c)?;
                diesel::insert_into(ferry_nodes::table)
                    .values((
                        ferry_nodes::node_id.eq(&node.node_id),
                        ferry_nodes::zone.eq(&node.zone),
                        ferry_nodes::kem_public.eq(&kem),
                        ferry_nodes::sign_public.eq(&sign),
                    ))
                    .execute(c)?;
                crate::audit::append(
                    c,
                    &keys.audit_signer(),
                    &crate::audit::Entry {
                        actor: "cli",
                        action: "ferry.trust",
                        object: &format!("node:{}", node.node_id),
                        outcome: crate::audit::Outcome::Ok,
                    },
                )?;
                Ok(())
            })
            .map_err(|e| e.to_string())?;
            Ok(format!("trusted {} node {}", node.zone, node.node_id))
        }
        FerryAction::Export { out } => {
            let mode = mode_of(config)?;
            let dir = out
                .or_else(|| config.split.outbox.clone())
                .ok_or(FerryError::NoDir("TIPLINE_FERRY_OUTBOX (or --out)").to_string())?;
            let (target, keys) = crate::server::prepare(config).map_err(err)?;
            let mut c = target.connect().map_err(|e| e.to_string())?;
            match export::export(&mut c, mode, &keys, &dir).map_err(|e| e.to_string())? {
                Some(p) => Ok(format!("wrote {}", p.display())),
                None => Ok("nothing to send".into()),
            }
        }
        FerryAction::Import { files } => {
            let mode = mode_of(config)?;
            let (target, _) = crate::server::prepare(config).map_err(err)?;
            let mut c = target.connect().map_err(|e| e.to_string())?;
            if files.is_empty() {
                let dir = config
                    .split
                    .inbox
                    .clone()
                    .ok_or(FerryError::NoDir("TIPLINE_FERRY_INBOX").to_string())?;
                let pass = import::import_dir(&mut c, mode, &dir).map_err(|e| e.to_string())?;
                let mut lines: Vec<String> = pass
                    .applied
                    .iter()
                    .map(|a| {
                        format!(
                            "applied bundle {} from {} ({} records)",
                            a.seq, a.node, a.records
                        )
                    })
                    .collect();
                lines.extend(pass.waiting.iter().map(|w| format!("waiting: {w}")));
                if !pass.refused.is_empty() {
                    lines.extend(pass.refused.iter().map(|r| format!("refused: {r}")));
                    return Err(lines.join("\n"));
                }
                if lines.is_empty() {
                    lines.push("nothing to import".into());
                }
                return Ok(lines.join("\n"));
            }
            let mut lines = Vec::new();
            let mut failed = false;
            for f in files {
                match import::import_file(&mut c, mode, &f) {
                    Ok(a) => lines.push(format!(
                        "applied bundle {} from {} ({} records)",
                        a.seq, a.node, a.records
                    )),
                    Err(e) => {
                        failed = true;
                        lines.push(format!("refused: {e}"));
                    }
                }
            }
            if failed {
                Err(lines.join("\n"))
            } else {
                Ok(lines.join("\n"))
            }
        }
        FerryAction::Status => {
            mode_of(config)?;
            let (target, _) = crate::server::prepare(config).map_err(err)?;
            let mut c = target.connect().map_err(|e| e.to_string())?;
            let s = status(&mut c, config).map_err(|e| e.to_string())?;
            Ok(s.render())
        }
    }
}

/// The ferry's gauges, for `ferry status` and /metrics.
#[derive(Default)]
pub struct Status {
    /// Bundles in the inbox not yet applied, and written to the outbox not yet moved.
    pub inbox_waiting: usize,
    pub outbox_waiting: usize,
    /// (direction, node, last seq).
    pub streams: Vec<(String, String, i64)>,
    /// Hours since the oldest tip sent and not yet acknowledged (intake); 0 when none.
    pub oldest_unacked_hours: i64,
}

impl Status {
    pub fn render(&self) -> String {
        let mut out = format!(
            "# TYPE tipline_ferry_inbox_waiting gauge\ntipline_ferry_inbox_waiting {}\n\
             # TYPE tipline_ferry_outbox_waiting gauge\ntipline_ferry_outbox_waiting {}\n\
             # TYPE tipline_ferry_oldest_unacknowledged_hours gauge\n\
             tipline_ferry_oldest_unacknowledged_hours {}\n\
             # TYPE tipline_ferry_last_seq gauge\n",
            self.inbox_waiting, self.outbox_waiting, self.oldest_unacked_hours
        );
        for (dir, node, seq) in &self.streams {
            out.push_str(&format!(
                "tipline_ferry_last_seq{{direction=\"{dir}\",node=\"{node}\"}} {seq}\n"
            ));
        }
        out
    }
}

pub fn status(c: &mut DbConn, config: &Config) -> Result<Status, FerryError> {
    let count = |d: &Option<PathBuf>| {
        d.as_ref()
            .and_then(|d| super::format::list(d).ok())
            .map(|l| l.len())
            .unwrap_or(0)
    };
    let streams = ferry_streams::table
        .select((
            ferry_streams::direction,
            ferry_streams::node_id,
            ferry_streams::seq,
        ))
        .order((ferry_streams::direction, ferry_streams::node_id))
        .load::<(String, String, i64)>(c)?;
    let acked = streams
        .iter()
        .filter(|(d, _, _)| d == "acked")
        .map(|(_, _, s)| *s)
        .max()
        .unwrap_or(0);
    let oldest: Option<i64> = ferry_sent::table
        .inner_join(tips::table.on(tips::id.eq(ferry_sent::object_id)))
        .filter(ferry_sent::kind.eq("tip"))
        .filter(ferry_sent::seq.gt(acked))
        .select(diesel::dsl::min(tips::created_hour))
        .first(c)?;
    let now = crate::db::this_hour();
    Ok(Status {
        inbox_waiting: count(&config.split.inbox),
        outbox_waiting: count(&config.split.outbox),
        streams,
        oldest_unacked_hours: oldest.map(|h| (now - h).max(0) / 3600).unwrap_or(0),
    })
}

/// One pass of `serve`: import what arrived, then export what waits. In a one-way
/// deployment the intake node deletes sealed content it sent more than `keep_days` ago.
pub fn pass(c: &mut DbConn, config: &Config, keys: &Keyring) -> Result<(), FerryError> {
    let mode = config.split.mode;
    if mode == Mode::Single {
        return Ok(());
    }
    if let Some(dir) = &config.split.inbox {
        let p = import::import_dir(c, mode, dir)?;
        for a in &p.applied {
            tracing::info!(node = %a.node, seq = a.seq, records = a.records, "ferry bundle applied");
        }
        for w in &p.waiting {
            tracing::warn!(waiting = %w, "ferry bundle waits for an earlier one");
        }
    }
    if let Some(dir) = &config.split.outbox
        && let Some(p) = export::export(c, mode, keys, dir)?
    {
        tracing::info!(file = %p.display(), "ferry bundle written");
    }
    if mode == Mode::Intake && config.split.one_way {
        forget_old(c, config.split.keep_days)?;
    }
    Ok(())
}

/// One-way deployments: no acknowledgement ever comes back, so sealed content sent more than
/// `keep_days` ago is deleted (the status page keeps working from what stays).
pub fn forget_old(c: &mut DbConn, keep_days: i64) -> Result<usize, FerryError> {
    let cutoff = crate::db::this_hour() - keep_days * 86_400;
    let old: Vec<String> = ferry_sent::table
        .inner_join(tips::table.on(tips::id.eq(ferry_sent::object_id)))
        .filter(ferry_sent::kind.eq("tip"))
        .filter(ferry_sent::seq.gt(0))
        .filter(tips::created_hour.lt(cutoff))
        .filter(tips::payload.ne(Vec::<u8>::new()))
        .select(tips::id)
        .load(c)?;
    c.transaction::<_, diesel::result::Error, _>(|c| super::records::forget_content(c, &old))?;
    Ok(old.len())
}

/// `tipline keys split`: a complete keys dir into an intake dir and a police dir.
pub fn split_keys(
    config: &Config,
    src: Option<PathBuf>,
    intake: PathBuf,
    police: PathBuf,
) -> Result<String, String> {
    let src = src.unwrap_or_else(|| config.keys_dir.clone());
    Keyring::split(
        &src,
        &intake,
        &police,
        config.keys_passphrase_file.as_deref(),
    )
    .map_err(|e| e.to_string())?;
    Ok(format!(
        "intake keys in {} (office.pub, relay keypair, a new node key, peppers.intake.key)\n\
         police keys in {} (office.key, relay.pub, the node key, peppers.police.key)\n\
         Move each dir to its zone; keep {} offline as the backup of both.",
        intake.display(),
        police.display(),
        src.display()
    ))
}
