//! Database commands: `migrate`, `index run` (the blind index) and `backup`.

use tipline::config::Config;

/// `tipline migrate`: create or update the schema.
pub(crate) fn migrate(config: &Config) -> Result<(), String> {
    let target = tipline::db::DbTarget::parse(&config.database_url).map_err(|e| e.to_string())?;
    let mut conn = target.connect().map_err(|e| e.to_string())?;
    tipline::db::under_start_lock(&mut conn, |conn| {
        tipline::db::migrate(conn)?;
        tipline::triage::routing::seed_units(conn)
    })
    .map_err(|e| e.to_string())?;
    out!("migrations applied");
    Ok(())
}

/// `tipline index run [--all]`: the blind index that links related tips.
pub(crate) fn index(config: &Config, all: bool) -> Result<(), String> {
    let (target, keys) = tipline::server::prepare(config).map_err(|e| e.to_string())?;
    let mut conn = target.connect().map_err(|e| e.to_string())?;
    let opener = keys
        .office_opener()
        .ok_or("the office private key is not in the keys dir (police zone only)")?;
    let blind = tipline::crypto::blind::BlindKeys::new(&keys.peppers.blind_index);
    let linker = tipline::triage::links::Linker {
        signer: &keys.audit_signer(),
        opener: &opener,
        blind: &blind,
        route: &tipline::triage::routing::RouteKey::new(&keys),
    };
    if all {
        tipline::triage::links::reset_index(&mut conn).map_err(|e| e.to_string())?;
    }
    let mut total = 0;
    loop {
        let n =
            tipline::triage::links::index_pending(&mut conn, &linker).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        total += n;
    }
    out!("indexed {total} tips");
    Ok(())
}

/// `tipline backup DEST`.
pub(crate) fn backup(config: &Config, dest: &std::path::Path) -> Result<(), String> {
    let target = tipline::db::DbTarget::parse(&config.database_url).map_err(|e| e.to_string())?;
    let mut conn = target.connect().map_err(|e| e.to_string())?;
    tipline::db::backup::backup(&target, &mut conn, dest).map_err(|e| e.to_string())?;
    out!(
        "backup written to {}. It holds no keys: back up {} separately; a restore needs both.",
        dest.display(),
        config.keys_dir.display()
    );
    Ok(())
}
