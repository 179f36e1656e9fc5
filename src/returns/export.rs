//! The month's ledger figures of every township, as CSV and XLSX with Chinese headers. Cells
//! that would start a formula are quoted in CSV; XLSX cells are written as strings or numbers,
//! never formulas. Opening the figures opens each township's sealed body, so the export is
//! for the county brigade and is audited. The people tables leave one township at a time
//! (`super::people_table` with `return.people.export`).

use super::deadlines::{State, month_status};
use super::{Content, Desk, ReturnError, ledger, open_with, require_county};
use crate::audit::{self, Entry, Outcome};
use crate::db::DbConn;
use crate::db::schema::township_returns;
use crate::reports::period::Period;
use crate::rewards::payouts::cell;
use crate::staff::Actor;
use diesel::prelude::*;

/// One township's line: name, state, the hour sent (Beijing time) and the figures by category.
pub struct Line {
    pub name: String,
    pub state: State,
    pub sent: String,
    pub figures: Vec<Option<i64>>,
}

pub struct Sheet {
    pub month: String,
    pub headers: Vec<String>,
    pub lines: Vec<Line>,
}

/// The figures of the latest version of each township's return for `p`.
pub fn sheet(
    conn: &mut DbConn,
    desk: &Desk,
    actor: &Actor,
    p: &Period,
    now: i64,
) -> Result<Sheet, ReturnError> {
    require_county(conn, desk.signer, actor, "return.export")?;
    let l = ledger::current();
    let status = month_status(conn, p, now)?;
    conn.transaction(|c| {
        audit::lock_head(c)?;
        let mut lines = Vec::with_capacity(status.len());
        for t in &status {
            let figures = match &t.return_id {
                Some(id) => {
                    let body: Vec<u8> = township_returns::table
                        .filter(township_returns::id.eq(id))
                        .select(township_returns::body)
                        .first(c)?;
                    let content: Content =
                        serde_json::from_slice(&open_with(c, desk, "return", id, &body)?)
                            .map_err(|_| ReturnError::Crypto)?;
                    l.categories
                        .iter()
                        .map(|cat| content.ledger.get(&cat.code).copied())
                        .collect()
                }
                None => vec![None; l.categories.len()],
            };
            lines.push(Line {
                name: t.name.clone(),
                state: t.state,
                sent: t
                    .sent_hour
                    .map(|h| format!("{}时", crate::web::hour_local(h)))
                    .unwrap_or_default(),
                figures,
            });
        }
        audit::append(
            c,
            desk.signer,
            &Entry {
                actor: &actor.audit_name(),
                action: "return.export",
                object: &format!("returns:{}", p.label()),
                outcome: Outcome::Ok,
            },
        )?;
        let mut headers = vec!["乡镇".to_string(), "报送情况".into(), "报送时间".into()];
        headers.extend(l.categories.iter().map(|c| c.zh.clone()));
        Ok(Sheet {
            month: p.label(),
            headers,
            lines,
        })
    })
}

/// CSV, UTF-8 with a byte-order mark.
pub fn csv(s: &Sheet) -> String {
    let mut out = String::from("\u{feff}");
    let head: Vec<String> = s.headers.iter().map(|h| cell(h)).collect();
    out.push_str(&head.join(","));
    out.push_str("\r\n");
    for l in &s.lines {
        let mut row = vec![cell(&l.name), cell(l.state.zh()), cell(&l.sent)];
        row.extend(
            l.figures
                .iter()
                .map(|f| f.map(|n| n.to_string()).unwrap_or_default()),
        );
        out.push_str(&row.join(","));
        out.push_str("\r\n");
    }
    out
}

pub fn xlsx(s: &Sheet) -> Result<Vec<u8>, ReturnError> {
    use rust_xlsxwriter::{Format, Workbook};
    let x = |_| ReturnError::Crypto;
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    let ws = wb.add_worksheet();
    ws.set_name(format!("{} 基础台帐", s.month)).map_err(x)?;
    for (i, h) in s.headers.iter().enumerate() {
        ws.write_string_with_format(0, i as u16, h, &bold)
            .map_err(x)?;
        ws.set_column_width(i as u16, 16).map_err(x)?;
    }
    for (r, l) in s.lines.iter().enumerate() {
        let r = r as u32 + 1;
        ws.write_string(r, 0, &l.name).map_err(x)?;
        ws.write_string(r, 1, l.state.zh()).map_err(x)?;
        ws.write_string(r, 2, &l.sent).map_err(x)?;
        for (i, f) in l.figures.iter().enumerate() {
            if let Some(n) = f {
                ws.write_number(r, i as u16 + 3, *n as f64).map_err(x)?;
            }
        }
    }
    wb.save_to_buffer().map_err(x)
}
