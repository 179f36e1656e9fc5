//! Township returns (issue 20): the liaison's form and list, the county's page of who sent,
//! who is late and who is missing, one return with its review, and the people table. Pure
//! functions of their view models; no JavaScript; every form carries the CSRF token.

use crate::staff::{Nav, layout};
use maud::{Markup, html};

/// One ledger field: (code, label, value as typed).
pub struct LedgerField {
    pub code: String,
    pub label: String,
    pub value: String,
}

/// One typed row of the people table (name, id number, address, whereabouts, screening, remarks).
pub type PersonCells = [String; 6];

pub const PEOPLE_HEADERS: [&str; 6] = [
    "姓名",
    "身份证号",
    "户籍地（村组）",
    "现去向（省市）",
    "摸排情况",
    "备注",
];
const PEOPLE_NAMES: [&str; 6] = [
    "name",
    "id_number",
    "address",
    "whereabouts",
    "screening",
    "remarks",
];

/// The form a liaison fills (a new return, or the correction of one sent back).
pub struct ReturnForm {
    /// (value, label, selected)
    pub months: Vec<(String, String, bool)>,
    pub progress: String,
    pub summary: String,
    pub ledger: Vec<LedgerField>,
    pub people: Vec<PersonCells>,
    /// A correction keeps the files of the version sent back unless new ones are given.
    pub correcting: bool,
}

/// One line of a liaison's list of returns.
pub struct OwnRow {
    pub id: String,
    pub month: String,
    pub version: i32,
    pub sent: String,
    pub status: String,
}

pub struct LiaisonPage<'a> {
    pub nav: Nav<'a>,
    pub township: String,
    pub rows: Vec<OwnRow>,
    pub form: ReturnForm,
    pub error: Option<String>,
}

fn return_form(csrf: &str, f: &ReturnForm) -> Markup {
    html! {
        form method="post" action="/staff/returns" enctype="multipart/form-data" {
            input type="hidden" name="csrf" value=(csrf);
            div class="field" {
                label for="r-month" { "月份（报告月：上月28日至本月27日）" }
                select id="r-month" name="month" {
                    @for (v, l, sel) in &f.months { option value=(v) selected[*sel] { (l) } }
                }
            }
            div class="field" {
                label for="r-progress" { "阶段性进展" }
                textarea id="r-progress" name="progress" rows="5" maxlength="20000" required { (f.progress) }
            }
            div class="field" {
                label for="r-summary" { "工作总结" }
                textarea id="r-summary" name="summary" rows="5" maxlength="20000" required { (f.summary) }
            }
            fieldset {
                legend { "基础台帐（人数）" }
                @for l in &f.ledger {
                    div class="field" {
                        label for={ "ledger-" (l.code) } { (l.label) }
                        input type="number" inputmode="numeric" min="0" max="1000000" id={ "ledger-" (l.code) } name={ "ledger." (l.code) } value=(l.value);
                    }
                }
            }
            fieldset {
                legend { "外流贩毒嫌疑人员摸排表、登记表" }
                p class="hint" id="people-hint" {
                    "可以在下表逐行填写，也可以按县禁毒办模板上传 XLSX 或 CSV 文件（上传的文件优先）。模板下载："
                    a href="/staff/returns/template?format=xlsx" { "XLSX 模板" } "、"
                    a href="/staff/returns/template?format=csv" { "CSV 模板" } "。"
                    "表中是嫌疑人员的个人信息：提交后加密保存，只有县禁毒大队可以查看。"
                }
                div class="table-wrap" role="region" tabindex="0" aria-labelledby="people-cap" { table {
                    caption id="people-cap" { "逐行填写（空行不保存）" }
                    thead { tr { @for h in PEOPLE_HEADERS { th scope="col" { (h) } } } }
                    tbody {
                        @for (i, row) in f.people.iter().enumerate() { tr {
                            @for (j, cell) in row.iter().enumerate() {
                                td { input type="text" maxlength="500" name={ "p" (i) "." (PEOPLE_NAMES[j]) } value=(cell)
                                    aria-label={ "第" (i + 1) "行 " (PEOPLE_HEADERS[j]) }; }
                            }
                        } }
                    }
                } }
                div class="field" {
                    label for="r-people-file" { "或上传摸排表（XLSX/CSV）" }
                    input type="file" id="r-people-file" name="people_file" accept=".xlsx,.csv" aria-describedby="people-hint";
                }
            }
            fieldset {
                legend { "附件" }
                @if f.correcting { p class="hint" { "不上传新文件时，保留被退回版本的扫描件和照片；上传新的扫描件会替换旧的。" } }
                div class="field" {
                    label for="r-scan" { "签字盖章扫描件（乡镇主要领导签字并加盖公章；图片或 PDF）" }
                    input type="file" id="r-scan" name="scan" accept="image/jpeg,image/png,image/webp,application/pdf";
                }
                div class="field" {
                    label for="r-photos" { "活动照片（可多选，最多12张）" }
                    input type="file" id="r-photos" name="photo" accept="image/jpeg,image/png,image/webp" multiple;
                }
            }
            button type="submit" { @if f.correcting { "提交更正后的月报" } @else { "报送月报" } }
        }
    }
}

/// A liaison's page: their township's returns, and the form for the month.
pub fn liaison(p: &LiaisonPage) -> Markup {
    layout(
        if p.error.is_some() {
            "错误：乡镇月报"
        } else {
            "乡镇月报"
        },
        Some(&p.nav),
        html! {
            h1 { (p.township) "：每月28日报送的月报" }
            @if let Some(e) = &p.error { p class="error" role="alert" { (e) } }
            p { "每月28日前报送治理外流贩毒工作的阶段性进展、工作总结、基础台帐、摸排表和登记表（签字盖章扫描件）以及活动照片。28日之后报送的记为逾期。除乡镇、月份和报送的小时外，内容全部加密保存。" }
            h2 { "已报送" }
            @if p.rows.is_empty() { p { "还没有报送过月报。" } } @else {
                div class="table-wrap" role="region" tabindex="0" aria-labelledby="own-cap" { table {
                    caption id="own-cap" { "本乡镇的月报（每个版本一行）" }
                    thead { tr { th scope="col" { "月份" } th scope="col" { "版本" } th scope="col" { "报送时间" } th scope="col" { "审核" } } }
                    tbody { @for r in &p.rows { tr {
                        td { a href={ "/staff/returns/" (r.id) } { (r.month) } }
                        td { (r.version) } td { (r.sent) } td { (r.status) }
                    } } }
                } }
            }
            h2 { "报送本月月报" }
            (return_form(p.nav.csrf, &p.form))
        },
    )
}

/// One township on the county's page.
pub struct StatusRow {
    pub name: String,
    pub state: String,
    /// `late` or `missing` rows are marked.
    pub flagged: bool,
    pub sent: String,
    pub review: String,
    pub link: Option<String>,
}

pub struct HistoryRow {
    pub month: String,
    pub submitted: usize,
    pub late: usize,
    pub missing: usize,
    pub due: usize,
}

pub struct StatusPage<'a> {
    pub nav: Nav<'a>,
    pub month: String,
    pub due_day: String,
    pub rows: Vec<StatusRow>,
    pub history: Vec<HistoryRow>,
    /// (township, liaisons joined, or empty)
    pub cover: Vec<(String, String)>,
}

/// The county's page: every township for the month, twelve months, and who has a liaison.
pub fn status(p: &StatusPage) -> Markup {
    let m = &p.month;
    layout(
        "乡镇月报报送情况",
        Some(&p.nav),
        html! {
            h1 { "乡镇月报报送情况：" (m) }
            form method="get" action="/staff/returns/status" class="filters" {
                div class="field" { label for="s-month" { "月份（YYYY-MM）" } input type="text" id="s-month" name="month" value=(m) pattern="[0-9]{4}-[0-9]{2}"; }
                button type="submit" { "查看" }
            }
            p { "报送日：" (p.due_day) "（北京时间）。当天结束后报送的记为逾期，未报送的记为未报送。" }
            p {
                "本月基础台帐汇总下载："
                a href={ "/staff/returns/export?month=" (m) "&format=xlsx" } { "XLSX" } "、"
                a href={ "/staff/returns/export?month=" (m) "&format=csv" } { "CSV" }
                "（下载会记入审计日志）。摸排表模板："
                a href="/staff/returns/template?format=xlsx" { "XLSX" } "。"
            }
            div class="table-wrap" role="region" tabindex="0" aria-labelledby="st-cap" { table {
                caption id="st-cap" { (m) " 各乡镇报送情况" }
                thead { tr { th scope="col" { "乡镇" } th scope="col" { "报送情况" } th scope="col" { "报送时间（小时）" } th scope="col" { "审核" } } }
                tbody { @for r in &p.rows { tr {
                    td { @if let Some(l) = &r.link { a href=(l) { (r.name) } } @else { (r.name) } }
                    td { @if r.flagged { strong { (r.state) } } @else { (r.state) } }
                    td { (r.sent) } td { (r.review) }
                } } }
            } }
            h2 { "近十二个月" }
            div class="table-wrap" role="region" tabindex="0" aria-labelledby="hist-cap" { table {
                caption id="hist-cap" { "每月按时、逾期、未报送的乡镇数" }
                thead { tr { th scope="col" { "月份" } th scope="col" { "按时报送" } th scope="col" { "逾期报送" } th scope="col" { "未报送" } th scope="col" { "尚未到期" } } }
                tbody { @for h in &p.history { tr {
                    td { a href={ "/staff/returns/status?month=" (h.month) } { (h.month) } }
                    td { (h.submitted) } td { (h.late) } td { (h.missing) } td { (h.due) }
                } } }
            } }
            h2 { "联络员" }
            div class="table-wrap" role="region" tabindex="0" aria-labelledby="cover-cap" { table {
                caption id="cover-cap" { "各乡镇的联络员（空白：还没有联络员）" }
                thead { tr { th scope="col" { "乡镇" } th scope="col" { "联络员" } } }
                tbody { @for (t, l) in &p.cover { tr { td { (t) } td { @if l.is_empty() { strong { "没有联络员" } } @else { (l) } } } } }
            } }
        },
    )
}

/// A file of a return on its page.
pub struct FileLink {
    pub href: String,
    pub label: String,
    /// Images are shown; a PDF is only a download link.
    pub image: bool,
}

pub struct ReturnPage<'a> {
    pub nav: Nav<'a>,
    pub id: String,
    pub township: String,
    pub month: String,
    pub version: i32,
    pub sent: String,
    pub state: String,
    pub review: String,
    pub progress: String,
    pub summary: String,
    /// (label, count)
    pub ledger: Vec<(String, i64)>,
    pub people_rows: usize,
    pub files: Vec<FileLink>,
    pub comment: Option<String>,
    /// (id, version, sent, review, is this one)
    pub versions: Vec<(String, i32, String, String, bool)>,
    /// The county may review this version.
    pub can_review: bool,
    /// The county brigade may open the people table.
    pub can_open_people: bool,
    /// The liaison may correct it (sent back, latest version).
    pub correction: Option<ReturnForm>,
    pub notice: Option<String>,
}

pub fn return_page(p: &ReturnPage) -> Markup {
    let csrf = p.nav.csrf;
    layout(
        "乡镇月报",
        Some(&p.nav),
        html! {
            h1 { (p.township) " " (p.month) " 月报（第" (p.version) "版）" }
            @if let Some(n) = &p.notice { p class="note" role="status" { (n) } }
            dl {
                dt { "报送时间" } dd { (p.sent) }
                dt { "报送情况" } dd { (p.state) }
                dt { "审核" } dd { (p.review) }
            }
            @if let Some(c) = &p.comment { div class="note" { h2 { "县禁毒办的意见" } p class="pre" { (c) } } }
            h2 { "阶段性进展" } p class="pre" { (p.progress) }
            h2 { "工作总结" } p class="pre" { (p.summary) }
            div class="table-wrap" role="region" tabindex="0" aria-labelledby="ledger-cap" { table {
                caption id="ledger-cap" { "基础台帐" }
                thead { tr { th scope="col" { "类别" } th scope="col" { "人数" } } }
                tbody { @for (l, n) in &p.ledger { tr { td { (l) } td { (n) } } } }
            } }
            h2 { "摸排表、登记表" }
            p {
                "共 " (p.people_rows) " 行。"
                @if p.can_open_people {
                    a href={ "/staff/returns/" (p.id) "/people" } { "查看摸排表（记入审计日志）" }
                } @else { "摸排表只有县禁毒大队可以查看。" }
            }
            h2 { "附件" }
            @if p.files.is_empty() { p { "没有附件。" } }
            ul class="files" { @for f in &p.files { li {
                @if f.image { img src=(f.href) alt=(f.label) width="240"; br; }
                a href={ (f.href) "?download=1" } { "下载" (f.label) }
            } } }
            h2 { "版本" }
            ol { @for (id, v, sent, review, this) in &p.versions { li {
                @if *this { strong { "第" (v) "版，" (sent) "，" (review) "（本页）" } }
                @else { a href={ "/staff/returns/" (id) } { "第" (v) "版，" (sent) "，" (review) } }
            } } }
            @if p.can_review {
                h2 { "审核" }
                form method="post" action={ "/staff/returns/" (p.id) "/review" } {
                    input type="hidden" name="csrf" value=(csrf);
                    div class="field" {
                        label for="rv-comment" { "意见（退回时必填，联络员可以看到）" }
                        textarea id="rv-comment" name="comment" rows="3" maxlength="20000" {}
                    }
                    button type="submit" name="decision" value="accept" { "通过" } " "
                    button type="submit" name="decision" value="send_back" { "退回修改" }
                }
            }
            @if let Some(f) = &p.correction {
                h2 { "更正并重新报送" }
                (return_form(csrf, f))
            }
        },
    )
}

pub struct PeoplePage<'a> {
    pub nav: Nav<'a>,
    pub id: String,
    pub township: String,
    pub month: String,
    pub rows: Vec<PersonCells>,
}

/// The people table of one return (county brigade only; the read is audited).
pub fn people(p: &PeoplePage) -> Markup {
    layout(
        "摸排表",
        Some(&p.nav),
        html! {
            h1 { (p.township) " " (p.month) " 外流贩毒嫌疑人员摸排表、登记表" }
            p { "这是嫌疑人员的个人信息：只有县禁毒大队可以查看，每次查看和下载都记入审计日志。" }
            p {
                "下载本乡镇的表："
                a href={ "/staff/returns/" (p.id) "/people?format=xlsx" } { "XLSX" } "、"
                a href={ "/staff/returns/" (p.id) "/people?format=csv" } { "CSV" }
                " · " a href={ "/staff/returns/" (p.id) } { "返回月报" }
            }
            div class="table-wrap" role="region" tabindex="0" aria-labelledby="pp-cap" { table {
                caption id="pp-cap" { "摸排登记（" (p.rows.len()) " 行）" }
                thead { tr { @for h in PEOPLE_HEADERS { th scope="col" { (h) } } } }
                tbody { @for r in &p.rows { tr { @for c in r { td { (c) } } } } }
            } }
        },
    )
}
