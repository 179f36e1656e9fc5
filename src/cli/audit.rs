//! `tipline audit ...`: the audit log.

use clap::Subcommand;
use tipline::config::Config;

#[derive(Subcommand)]
pub(crate) enum AuditAction {
    /// Check every entry's hash chain and signature; exit non-zero naming the first bad entry.
    Verify {
        /// SEQ:HASH from a monthly report mail (or any copy kept outside the database): the
        /// entry SEQ must still have that hash. Repeatable.
        #[arg(long)]
        anchor: Vec<String>,
        /// Check the signatures with this Ed25519 public key (hex, from `keys export-public`)
        /// instead of the keys dir: an auditor needs only a copy of the database and this key.
        #[arg(long)]
        verifying_key: Option<String>,
        /// An anchor file (`audit-anchors.log` from TIPLINE_AUDIT_ANCHOR_DIR, as kept on
        /// another machine): every anchored entry must still be there with its hash, which
        /// finds a cut tail; says how fresh the latest anchor is.
        #[arg(long)]
        anchors: Option<std::path::PathBuf>,
    },
    /// Append the audit head to the anchor file in TIPLINE_AUDIT_ANCHOR_DIR now (the server
    /// does it every hour).
    Anchor,
}

/// `tipline audit verify|anchor`.
pub(crate) fn run(config: &Config, action: AuditAction) -> Result<(), String> {
    match action {
        AuditAction::Verify {
            anchor,
            verifying_key,
            anchors,
        } => {
            let (mut conn, verifier) = match verifying_key {
                Some(hex_key) => {
                    let key = parse_verifying_key(&hex_key)?;
                    let target = tipline::db::DbTarget::parse(&config.database_url)
                        .map_err(|e| e.to_string())?;
                    (target.connect().map_err(|e| e.to_string())?, vec![key])
                }
                None => {
                    let (target, keys) =
                        tipline::server::prepare(config).map_err(|e| e.to_string())?;
                    let conn = target.connect().map_err(|e| e.to_string())?;
                    // The other police nodes sharing the database sign with their own keys
                    // (issue 18): their identity files in the keys dir, never the database.
                    (conn, tipline::keys::audit_verifiers(&keys))
                }
            };
            let v = tipline::audit::verify(&mut conn, &verifier)
                .map_err(|e| format!("audit log is NOT intact: {e}"))?;
            for a in &anchor {
                let (seq, hash) = a
                    .split_once(':')
                    .and_then(|(s, h)| {
                        Some((s.trim().parse::<i64>().ok()?, hex::decode(h.trim()).ok()?))
                    })
                    .ok_or_else(|| format!("anchor {a:?} is not SEQ:HEXHASH"))?;
                match tipline::audit::hash_at(&mut conn, seq).map_err(|e| e.to_string())? {
                    Some(h) if h == hash => out!("anchor {seq} matches"),
                    Some(_) => {
                        return Err(format!(
                            "audit log is NOT intact: entry {seq} no longer has the anchored hash"
                        ));
                    }
                    None => return Err(format!("audit log is NOT intact: entry {seq} is missing")),
                }
            }
            if let Some(file) = anchors {
                use tipline::audit::anchor;
                let given = anchor::read(&file)?;
                let c = anchor::check(&mut conn, &given)
                    .map_err(|e| format!("audit log is NOT intact: {e}"))?;
                out!(
                    "{} anchors match; the latest, head {} at {}, is {} h {} min old; {} entries since",
                    given.len(),
                    c.latest.seq,
                    anchor::when(c.latest.at),
                    c.age / 3600,
                    c.age.rem_euclid(3600) / 60,
                    c.since
                );
                if c.age > 2 * anchor::EVERY_SECONDS {
                    out!(
                        "WARNING: the latest anchor is more than two hours old: is the server \
                         anchoring (TIPLINE_AUDIT_ANCHOR_DIR), and is this the newest copy?"
                    );
                }
            }
            out!(
                "audit log intact: {} entries, head {}",
                v.entries,
                hex::encode(&v.head_hash)
            );
            Ok(())
        }
        AuditAction::Anchor => {
            let dir = config
                .audit_anchor_dir
                .clone()
                .ok_or("set TIPLINE_AUDIT_ANCHOR_DIR (a directory on another machine)")?;
            let (target, _) = tipline::server::prepare(config).map_err(|e| e.to_string())?;
            let mut conn = target.connect().map_err(|e| e.to_string())?;
            let a = tipline::audit::anchor::anchor_now(&mut conn, &dir)?;
            out!("{}", a.line());
            Ok(())
        }
    }
}

fn parse_verifying_key(text: &str) -> Result<ed25519_dalek::VerifyingKey, String> {
    let bytes: [u8; 32] = hex::decode(text.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or("--verifying-key must be 64 hex digits (from `tipline keys export-public`)")?;
    ed25519_dalek::VerifyingKey::from_bytes(&bytes)
        .map_err(|_| "--verifying-key is not an Ed25519 public key".to_string())
}
