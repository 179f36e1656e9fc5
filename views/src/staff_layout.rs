//! The frame of every staff page: the navigation and the page layout. Below the staff page
//! files (staff, staff_links, staff_rewards, staff_finance, reports), which all import it.

use maud::{DOCTYPE, Markup, html};

pub struct Nav<'a> {
    pub username: &'a str,
    pub role: &'a str,
    /// A county-wide supervisor (reads the reward ledger).
    pub county_wide: bool,
    /// A county supervisor, and some account waits for their approval.
    pub approvals_waiting: bool,
    pub csrf: &'a str,
}

pub(crate) fn layout(title: &str, nav: Option<&Nav>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (title) " - 禁毒举报平台（工作人员）" }
                link rel="stylesheet" href="/static/style.css";
            }
            body class="staff" {
                a class="skip" href="#main" { "跳到主要内容" }
                header {
                    p class="site" { "禁毒举报平台 · 工作人员" }
                    @if let Some(n) = nav {
                        nav aria-label="工作人员导航" {
                            @if n.role == "officer" || n.role == "supervisor" {
                                a href="/staff/tips" { "线索队列" } " · "
                                a href="/staff/tips/new" { "录入电话/举报箱线索" } " · "
                            }
                            @if n.role == "officer" || n.role == "supervisor" || n.role == "finance" {
                                a href="/staff/rewards" { "奖励" } " · "
                            }
                            @if n.role == "finance" { a href="/staff/payouts" { "兑付" } " · " }
                            @if n.role == "finance" || n.county_wide { a href="/staff/ledger" { "台账" } " · " }
                            @if n.role == "supervisor" || n.role == "admin" || n.role == "auditor" { a href="/staff/reports/monthly" { "月度统计" } " · " }
                            @if n.role == "admin" {
                                a href="/staff/admin" { "单位和账号" } " · "
                                a href="/staff/admin/policy/rewards" { "奖励政策" } " · "
                                a href="/staff/admin/policy/retention" { "保存期限" } " · "
                            }
                            @if n.role == "supervisor" && n.county_wide && n.approvals_waiting { a href="/staff/accounts/pending" { strong { "账号待审批" } } " · " }
                            @if n.role == "auditor" { a href="/staff/audit" { "审计日志" } " · " }
                            @if n.role == "liaison" { a href="/staff/returns" { "乡镇月报" } " · " }
                            @if n.role == "supervisor" && n.county_wide { a href="/staff/returns/status" { "乡镇月报" } " · " }
                            a href="/staff/password" { "修改密码" } " · "
                            form class="inline" method="post" action="/staff/logout" {
                                input type="hidden" name="csrf" value=(n.csrf);
                                button type="submit" class="link" { "退出（" (n.username) "）" }
                            }
                        }
                    }
                }
                main id="main" { (body) }
            }
        }
    }
}
