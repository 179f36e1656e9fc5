//! The report on the 28th: once the report day's 08:00 (Asia/Shanghai) has passed, the month
//! that just ended is counted for the county, exported with small counts suppressed and queued
//! for the office's address through the outbox, with the audit log's head hash in the body.
//! The `report_runs` row, written in the same transaction, makes any number of nodes send it
//! once; a node that was down on the day sends it when it comes back.

use super::period::{Period, midnight};
use super::{AuditHead, ReportError, Scope, export, monthly, record};
use crate::audit;
use crate::db::schema::report_runs;
use crate::db::{DbConn, now_unix};
use crate::notify::{Job, MailAttachment, outbox};
use crate::rewards::{Office, calendar};
use diesel::prelude::*;

pub const SEND_HOUR: i64 = 8;

pub struct Mailing<'a> {
    pub office: &'a Office<'a>,
    pub to: &'a [String],
    pub report_day: u8,
    pub public_url: &'a str,
}

/// The month whose report is due at `now`, if its mail has not gone yet.
pub fn due(conn: &mut DbConn, report_day: u8, now: i64) -> Result<Option<Period>, ReportError> {
    let last = Period::containing(calendar::day_of(now), report_day).previous(report_day);
    if now < midnight(last.end) + SEND_HOUR * 3600 {
        return Ok(None);
    }
    let sent: i64 = report_runs::table
        .filter(report_runs::period.eq(last.label()))
        .count()
        .get_result(conn)?;
    Ok((sent == 0).then_some(last))
}

/// Sends the due report, if any; returns its month.
pub fn send_due(conn: &mut DbConn, m: &Mailing) -> Result<Option<String>, ReportError> {
    if m.to.is_empty() {
        return Ok(None);
    }
    match due(conn, m.report_day, now_unix())? {
        None => Ok(None),
        Some(p) => match send(conn, m, &p, false) {
            Ok(_) => Ok(Some(p.label())),
            // Another node recorded it first.
            Err(ReportError::Db(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            ))) => Ok(None),
            Err(e) => Err(e),
        },
    }
}

/// Counts, exports and queues one month's report for the office; `again` sends a month that
/// was sent before (from the command line). Returns the audit head the mail carries, which
/// includes this sending's own audit entry.
pub fn send(
    conn: &mut DbConn,
    m: &Mailing,
    p: &Period,
    again: bool,
) -> Result<AuditHead, ReportError> {
    conn.transaction(|c| {
        audit::lock_head(c)?;
        let report = monthly(c, &Scope::County, p, m.report_day)?;
        let object = format!("report:{}", p.label());
        let head = record(c, m.office.signer, "system", "report.mail", &object)?;
        let recorded: i64 = report_runs::table
            .filter(report_runs::period.eq(p.label()))
            .count()
            .get_result(c)?;
        if recorded == 0 || !again {
            diesel::insert_into(report_runs::table)
                .values((
                    report_runs::period.eq(p.label()),
                    report_runs::created_at.eq(now_unix()),
                    report_runs::head_seq.eq(head.seq),
                    report_runs::head_hash.eq(&head.hash),
                ))
                .execute(c)?;
        }
        let scope = export::scope_label(&Scope::County, None);
        let xlsx = export::xlsx(&report, &scope, &head)?;
        let csv = export::csv(&report);
        let name = format!("tipline-report-{}", p.label());
        let body = mail_body(&report, &head, m.public_url);
        for to in m.to {
            let job = Job::Mail {
                to: to.clone(),
                subject: format!(
                    "禁毒举报月报 {}（{} 至 {}）",
                    p.label(),
                    p.first_day(),
                    p.last_day()
                ),
                body: body.clone(),
                attachments: vec![
                    MailAttachment {
                        filename: format!("{name}.xlsx"),
                        content_type:
                            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                                .into(),
                        bytes: xlsx.clone(),
                    },
                    MailAttachment {
                        filename: format!("{name}.csv"),
                        content_type: "text/csv; charset=utf-8".into(),
                        bytes: csv.clone().into_bytes(),
                    },
                ],
                thread: None,
            };
            outbox::enqueue(c, m.office.sealer, &m.office.keys.relay, &job)?;
        }
        Ok(head)
    })
}

fn mail_body(r: &super::Report, head: &AuditHead, public_url: &str) -> String {
    let mut out = String::from(
        "县禁毒办：\n\n附件为本月禁毒举报统计（XLSX 与 CSV），按乡镇、类别和渠道汇总。\n\n",
    );
    for (k, v) in export::notes(r, "全县", head) {
        out.push_str(&format!("{k}：{v}\n"));
    }
    out.push_str(&format!(
        "\n审计日志链头把本月之前的全部审计记录固定下来：请把这封邮件保存在系统之外；以后用 `tipline audit verify` 核对时，第 {} 条记录的哈希应与上面的值相同。\n\n在线查看（需登录）：{}/staff/reports/monthly?month={}\n",
        head.seq,
        public_url.trim_end_matches('/'),
        r.period.label()
    ));
    out
}
