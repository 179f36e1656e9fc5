//! `tipline report ...`: the monthly report files and mail.

use clap::Subcommand;

#[derive(Subcommand)]
pub(crate) enum ReportAction {
    /// Count a report month (`TIPLINE_REPORT_DAY`, 28 by default: a month ends on the 27th)
    /// for the county or one unit and write tipline-report-YYYY-MM.csv and .xlsx.
    Monthly {
        /// YYYY-MM
        #[arg(long)]
        month: String,
        /// A unit code, for one unit's figures; the county's by default.
        #[arg(long)]
        unit: Option<String>,
        /// Where to write the files.
        #[arg(long, default_value = ".")]
        out: std::path::PathBuf,
        /// Also queue the county's report for TIPLINE_REPORT_MAIL_TO now (sent again if it
        /// went before).
        #[arg(long)]
        mail: bool,
    },
}

/// `tipline report monthly`: the files, and the mail on request.
pub(crate) fn report_monthly(
    config: &tipline::config::Config,
    month: &str,
    unit: Option<&str>,
    out: &std::path::Path,
    mail: bool,
) -> Result<(), String> {
    use tipline::reports::{self, Scope, export, mailer, period::Period};
    let period = Period::parse(month, config.report_day).map_err(|e| e.to_string())?;
    let (target, keys) = tipline::server::prepare(config).map_err(|e| e.to_string())?;
    let mut conn = target.connect().map_err(|e| e.to_string())?;
    let scope = Scope::County.narrowed(unit).map_err(|e| e.to_string())?;
    let report = reports::monthly(&mut conn, &scope, &period, config.report_day)
        .map_err(|e| e.to_string())?;
    let signer = keys.audit_signer();
    let object = format!("report:{}", period.label());
    let head = reports::record(&mut conn, &signer, "cli", "report.export", &object)
        .map_err(|e| e.to_string())?;
    let scope_name = export::scope_label(&scope, unit);
    let xlsx = export::xlsx(&report, &scope_name, &head).map_err(|e| e.to_string())?;
    let base = match unit {
        None => format!("tipline-report-{}", period.label()),
        Some(u) => format!("tipline-report-{}-{u}", period.label()),
    };
    let csv_path = out.join(format!("{base}.csv"));
    let xlsx_path = out.join(format!("{base}.xlsx"));
    std::fs::write(&csv_path, export::csv(&report))
        .map_err(|e| format!("{}: {e}", csv_path.display()))?;
    std::fs::write(&xlsx_path, xlsx).map_err(|e| format!("{}: {e}", xlsx_path.display()))?;
    let t = report.figures.total();
    out!(
        "report {} ({} to {}){}: {} received, {} verified, {} unfounded, {} duplicates, {} rewards approved, {} paid",
        period.label(),
        period.first_day(),
        period.last_day(),
        if report.partial {
            ", month still running"
        } else {
            ""
        },
        t.received,
        t.verified,
        t.unfounded,
        t.duplicate,
        t.rewards_approved,
        t.rewards_paid
    );
    out!("wrote {} and {}", csv_path.display(), xlsx_path.display());
    out!("audit head {}:{}", head.seq, hex::encode(&head.hash));
    if mail {
        if config.report_mail_to.is_empty() {
            return Err("--mail needs TIPLINE_REPORT_MAIL_TO".into());
        }
        let sealer = tipline::crypto::seal::Sealer::new(
            keys.node.clone(),
            std::time::Duration::from_secs(config.epoch_seconds.max(1)),
            10_000,
        );
        let office = tipline::rewards::Office {
            signer: &signer,
            sealer: &sealer,
            keys: &keys,
            opener: None,
        };
        let m = mailer::Mailing {
            office: &office,
            to: &config.report_mail_to,
            report_day: config.report_day,
            public_url: &config.public_url,
        };
        let head = mailer::send(&mut conn, &m, &period, true).map_err(|e| e.to_string())?;
        out!(
            "queued for {} (a running server delivers it); the mail carries audit head {}:{}",
            config.report_mail_to.join(", "),
            head.seq,
            hex::encode(&head.hash)
        );
    }
    Ok(())
}
