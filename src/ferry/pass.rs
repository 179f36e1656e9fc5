//! The pass `serve` runs over the ferry directories (import, then export), the one-way
//! clean-up, and the ferry's gauges for `tipline ferry status` and /metrics.

use super::{FerryError, Mode, export, import};
use crate::config::Config;
use crate::crypto::keyring::Keyring;
use crate::db::DbConn;
use crate::db::schema::{ferry_sent, ferry_streams, tips};
use diesel::prelude::*;
use std::path::PathBuf;

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
    // The trusted list as it is now: a node trusted while this one serves counts at once.
    refresh_peers(c, keys)?;
    if let Some(dir) = &config.split.inbox {
        let p = import::import_dir(c, mode, dir)?;
        for a in &p.applied {
            tracing::info!(node = %a.node, seq = a.seq, records = a.records, "ferry bundle applied");
        }
        for w in &p.waiting {
            tracing::warn!(waiting = %w, "ferry bundle waits for an earlier one");
        }
    }
    let sent = config.ferry_sent_dir();
    if let Some(dir) = &config.split.outbox
        && let Some(p) = export::export(c, mode, keys, dir)?
    {
        tracing::info!(file = %p.display(), "ferry bundle written");
        export::keep_copy(&sent, &p)?;
    }
    export::prune_sent(c, mode, &sent, config.split.keep_days)?;
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

/// Reloads the HPKE keys of the trusted nodes of the other zone into the keyring.
pub fn refresh_peers(c: &mut DbConn, keys: &Keyring) -> Result<(), FerryError> {
    use crate::db::schema::ferry_nodes;
    let rows: Vec<Vec<u8>> = ferry_nodes::table.select(ferry_nodes::kem_public).load(c)?;
    keys.set_peers(
        rows.iter()
            .filter_map(|b| crate::crypto::seal::kem_public_from_bytes(b).ok())
            .collect(),
    );
    Ok(())
}
