//! The report as it leaves the system: CSV (UTF-8 with BOM, so Excel reads the Chinese
//! headers) and XLSX, both with small counts suppressed (`suppress`).

use super::figures::{Counts, Dim};
use super::suppress::{self, Figure, Line};
use super::{AuditHead, Report, ReportError, Scope};
use crate::intake::catalog;
use crate::rewards::payouts::{cell as csv_cell, yuan};
use rust_xlsxwriter::{Format, Workbook};

pub use tipline_views::reports::HEADERS;

pub fn channel_label(code: &str) -> &str {
    match code {
        "web" => "网页",
        "api" => "接口",
        "sms" => "短信",
        "email" => "电子邮件",
        "hotline" => "举报电话",
        "box" => "举报箱",
        other => other,
    }
}

pub fn township_label(code: &str) -> &str {
    catalog::TOWNSHIPS
        .iter()
        .find(|t| t.code == code)
        .map(|t| t.zh)
        .unwrap_or(code)
}

pub fn category_label(code: &str) -> &str {
    catalog::category(code).map(|c| c.zh).unwrap_or(code)
}

/// The Chinese label of a code of one dimension.
pub fn label(dim: Dim, code: &str) -> &str {
    match dim {
        Dim::Township => township_label(code),
        Dim::Category => category_label(code),
        Dim::Channel => channel_label(code),
    }
}

pub const CHANNELS: [&str; 6] = ["web", "api", "sms", "email", "hotline", "box"];

/// One dimension's rows, every known code listed (zeros too: a township with nothing to
/// report is a figure), then any other code found in the data.
pub fn rows(r: &Report, dim: Dim) -> Vec<(String, Counts)> {
    let by = r.figures.by(dim);
    let known: Vec<&str> = match dim {
        Dim::Township => catalog::TOWNSHIPS.iter().map(|t| t.code).collect(),
        Dim::Category => catalog::CATEGORIES.iter().map(|c| c.code).collect(),
        Dim::Channel => CHANNELS.to_vec(),
    };
    let label = |code: &str| label(dim, code).to_string();
    let mut out: Vec<(String, Counts)> = known
        .iter()
        .map(|code| (label(code), by.get(*code).copied().unwrap_or_default()))
        .collect();
    for (code, c) in &by {
        if !known.contains(&code.as_str()) {
            out.push((label(code), *c));
        }
    }
    out
}

pub const DIMENSIONS: [(Dim, &str); 3] = [
    (Dim::Township, "乡镇"),
    (Dim::Category, "类别"),
    (Dim::Channel, "渠道"),
];

fn protected(r: &Report, dim: Dim) -> (Vec<Line>, Line) {
    let total = r.figures.total();
    suppress::protect(&rows(r, dim), ("合计", &total))
}

fn text(f: Figure) -> String {
    match f {
        Figure::Count(n) => n.to_string(),
        Figure::Fen(fen) => yuan(fen),
        Figure::Hidden => format!("<{}", suppress::THRESHOLD),
    }
}

/// One table in long form: dimension, item, then the eight figures; each dimension ends with
/// its total line.
pub fn csv(r: &Report) -> String {
    let mut out = format!("\u{feff}报告月份,维度,项目,{}\r\n", HEADERS.join(","));
    let month = r.period.label();
    for (dim, name) in DIMENSIONS {
        let (lines, total) = protected(r, dim);
        for l in lines.iter().chain([&total]) {
            let figures: Vec<String> = l.values.iter().map(|f| text(*f)).collect();
            out.push_str(&format!(
                "{month},{name},{},{}\r\n",
                csv_cell(&l.label),
                figures.join(",")
            ));
        }
    }
    out
}

pub fn scope_label(scope: &Scope, unit_name: Option<&str>) -> String {
    match scope {
        Scope::County => "全县".to_string(),
        Scope::Unit(u) => unit_name.unwrap_or(u).to_string(),
    }
}

/// The notes every export carries: period, scope, suppression rule and the audit head.
pub fn notes(r: &Report, scope_name: &str, head: &AuditHead) -> Vec<(String, String)> {
    let mut out = vec![
        ("报告月份".into(), r.period.label()),
        (
            "统计期间".into(),
            format!("{} 至 {}", r.period.first_day(), r.period.last_day()),
        ),
        ("范围".into(), scope_name.to_string()),
        (
            "生成时间".into(),
            crate::rewards::calendar::format(crate::rewards::calendar::day_of(r.generated_at)),
        ),
        (
            "说明".into(),
            if r.partial {
                "本月尚未结束，数字会变化。".into()
            } else {
                "本月已结束。".into()
            },
        ),
        (
            "小数保护".into(),
            format!(
                "1 至 {} 的数字显示为“<{}”；同一列只有一个被隐藏时，再隐藏一个最小的数字（或合计），金额随笔数隐藏。",
                suppress::THRESHOLD - 1,
                suppress::THRESHOLD
            ),
        ),
        ("审计日志序号".into(), head.seq.to_string()),
        ("审计日志链头哈希".into(), hex::encode(&head.hash)),
    ];
    // Issue 20: how many townships sent their return for the month, and how.
    if let Some(n) = &r.returns {
        out.insert(
            5,
            (
                "乡镇月报".into(),
                format!(
                    "按时报送 {} 个乡镇，逾期报送 {} 个，未报送 {} 个，尚未到期 {} 个",
                    n.submitted, n.late, n.missing, n.due
                ),
            ),
        );
    }
    out
}

/// A workbook: one sheet per dimension, the trend, and the notes.
pub fn xlsx(r: &Report, scope_name: &str, head: &AuditHead) -> Result<Vec<u8>, ReportError> {
    let x = |_| ReportError::Export;
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    for (dim, name) in DIMENSIONS {
        let (lines, total) = protected(r, dim);
        let ws = wb.add_worksheet();
        ws.set_name(name).map_err(x)?;
        ws.write_string_with_format(0, 0, name, &bold).map_err(x)?;
        for (i, h) in HEADERS.iter().enumerate() {
            ws.write_string_with_format(0, i as u16 + 1, *h, &bold)
                .map_err(x)?;
        }
        ws.set_column_width(0, 28).map_err(x)?;
        for (row, l) in lines.iter().chain([&total]).enumerate() {
            let row = row as u32 + 1;
            ws.write_string(row, 0, &l.label).map_err(x)?;
            for (i, f) in l.values.iter().enumerate() {
                let col = i as u16 + 1;
                match f {
                    Figure::Count(n) => ws.write_number(row, col, *n as f64),
                    Figure::Fen(fen) => ws.write_number(row, col, *fen as f64 / 100.0),
                    Figure::Hidden => ws.write_string(row, col, text(*f)),
                }
                .map_err(x)?;
            }
        }
    }
    let ws = wb.add_worksheet();
    ws.set_name("月度趋势").map_err(x)?;
    for (i, h) in ["报告月份", "收到线索", "核实"].iter().enumerate() {
        ws.write_string_with_format(0, i as u16, *h, &bold)
            .map_err(x)?;
    }
    for (row, m) in r.trend.iter().enumerate() {
        let row = row as u32 + 1;
        ws.write_string(row, 0, &m.month).map_err(x)?;
        for (col, n) in [(1, m.received), (2, m.verified)] {
            if suppress::THRESHOLD > n && n > 0 {
                ws.write_string(row, col, text(Figure::Hidden)).map_err(x)?;
            } else {
                ws.write_number(row, col, n as f64).map_err(x)?;
            }
        }
    }
    let ws = wb.add_worksheet();
    ws.set_name("说明").map_err(x)?;
    ws.set_column_width(0, 20).map_err(x)?;
    ws.set_column_width(1, 70).map_err(x)?;
    for (row, (k, v)) in notes(r, scope_name, head).iter().enumerate() {
        ws.write_string_with_format(row as u32, 0, k, &bold)
            .map_err(x)?;
        ws.write_string(row as u32, 1, v).map_err(x)?;
    }
    wb.save_to_buffer().map_err(x)
}
