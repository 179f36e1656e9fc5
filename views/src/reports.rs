//! The monthly report page: the month's figures per township, category and channel as charts
//! and tables, the twelve months' trend, and the exports.

use crate::charts::{self, Bar};
use crate::staff_layout::{Nav, layout};
use maud::{Markup, html};

/// One table line: a label and the eight figures, already formatted.
pub struct Line {
    pub label: String,
    pub values: [String; 8],
}

pub struct Table {
    pub id: &'static str,
    pub caption: String,
    pub dimension: &'static str,
    pub lines: Vec<Line>,
    pub total: Line,
    pub bars: Vec<Bar>,
}

pub struct ReportPage<'a> {
    pub nav: Nav<'a>,
    pub month: String,
    pub error: Option<String>,
    pub period: String,
    pub partial: bool,
    pub scope: String,
    /// County-wide readers may narrow the report to one unit: `(code, name)`.
    pub units: Vec<(String, String)>,
    pub unit: String,
    pub tables: Vec<Table>,
    pub trend: Vec<Bar>,
    pub csv_link: Option<String>,
    pub xlsx_link: Option<String>,
}

pub const HEADERS: [&str; 8] = [
    "收到线索",
    "核实",
    "查无实据",
    "重复",
    "批准奖励（笔）",
    "批准金额（元）",
    "兑付奖励（笔）",
    "兑付金额（元）",
];

fn table(t: &Table) -> Markup {
    let cap = format!("tcap-{}", t.id);
    html! {
        section aria-labelledby=(format!("h-{}", t.id)) {
            h2 id=(format!("h-{}", t.id)) { (t.caption) }
            (charts::bars(&format!("chart-{}", t.id), &format!("{}：收到和核实的线索", t.caption), &t.bars))
            div class="table-wrap" role="region" tabindex="0" aria-labelledby=(cap) { table class="wide" {
                caption id=(cap) { (t.caption) "（数字表）" }
                thead { tr {
                    th scope="col" { (t.dimension) }
                    @for h in HEADERS { th scope="col" { (h) } }
                } }
                tbody { @for l in &t.lines { tr {
                    th scope="row" { (l.label) }
                    @for v in &l.values { td class="num" { (v) } }
                } } }
                tfoot { tr {
                    th scope="row" { (t.total.label) }
                    @for v in &t.total.values { td class="num" { (v) } }
                } }
            } }
        }
    }
}

pub fn monthly(p: &ReportPage) -> Markup {
    layout(
        if p.error.is_some() {
            "错误：月度统计"
        } else {
            "月度统计"
        },
        Some(&p.nav),
        html! {
            h1 { "月度统计 " (p.month) }
            p { (p.scope) " · 统计期间 " (p.period)
                @if p.partial { " · " strong { "本月尚未结束，数字还会变化。" } } }
            form method="get" action="/staff/reports/monthly" class="filters noprint" {
                div class="field" {
                    label for="month" { "报告月份（年-月）" }
                    @if let Some(e) = &p.error { p class="error" role="alert" id="month-error" { (e) } }
                    input type="month" id="month" name="month" value=(p.month) pattern="[0-9]{4}-[0-9]{2}" required aria-invalid=[p.error.as_ref().map(|_| "true")] aria-describedby=[p.error.as_ref().map(|_| "month-error")];
                }
                @if !p.units.is_empty() {
                    div class="field" {
                        label for="unit" { "单位" }
                        select id="unit" name="unit" {
                            option value="" { "全县" }
                            @for (code, name) in &p.units { option value=(code) selected[*code == p.unit] { (name) } }
                        }
                    }
                }
                button type="submit" { "查看" }
            }
            @if p.csv_link.is_some() || p.xlsx_link.is_some() {
                p class="noprint" {
                    @if let Some(h) = &p.xlsx_link { a href=(h) download { "下载 XLSX" } }
                    " · "
                    @if let Some(h) = &p.csv_link { a href=(h) download { "下载 CSV" } }
                    " （导出文件中 1 至 4 的数字显示为“<5”）"
                }
            }
            @if !p.tables.is_empty() {
                section aria-labelledby="h-trend" {
                    h2 id="h-trend" { "近十二个月" }
                    (charts::trend("chart-trend", "近十二个月每月收到和核实的线索", &p.trend))
                    div class="table-wrap" role="region" tabindex="0" aria-labelledby="tcap-trend" { table {
                        caption id="tcap-trend" { "近十二个月（数字表）" }
                        thead { tr { th scope="col" { "报告月份" } th scope="col" { "收到线索" } th scope="col" { "核实" } } }
                        tbody { @for m in &p.trend { tr {
                            th scope="row" { (m.label) } td class="num" { (m.received) } td class="num" { (m.verified) }
                        } } }
                    } }
                }
                @for t in &p.tables { (table(t)) }
            }
        },
    )
}
