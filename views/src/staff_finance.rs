//! Finance pages: paying a reward against its claim code, confirming transfers, and the monthly
//! ledger. No page here shows a tip, the claim code after use, or a payee's account.

use crate::staff_layout::{Nav, layout};
use crate::staff_rewards::{FieldErrors, method_label, payout_state_label};
use maud::{Markup, html};

#[derive(Default)]
pub struct PayoutValues {
    pub claim_code: String,
    pub method: String,
    pub account: String,
    pub identity_check: String,
}

pub struct PendingLine {
    pub payout_id: String,
    pub reward_ref: String,
    pub unit: String,
    pub amount: String,
    pub paid_on: String,
}

pub struct PayoutsPage<'a> {
    pub nav: Nav<'a>,
    pub values: PayoutValues,
    pub errors: FieldErrors,
    pub pending: Vec<PendingLine>,
}

pub fn payouts(p: &PayoutsPage) -> Markup {
    let csrf = p.nav.csrf;
    let err = |f: &str| {
        p.errors
            .iter()
            .find(|(field, _)| *field == f)
            .map(|(_, m)| m.as_str())
    };
    let invalid = |f: &str| err(f).map(|_| "true");
    let described = |f: &str| err(f).map(|_| format!("{f}-error"));
    let v = &p.values;
    let transfer = v.method == "transfer";
    layout(
        if p.errors.is_empty() {
            "兑付奖励"
        } else {
            "错误：兑付奖励"
        },
        Some(&p.nav),
        html! {
            h1 { "兑付奖励" }
            @if !p.errors.is_empty() {
                div class="error-summary" role="alert" aria-labelledby="err-title" tabindex="-1" autofocus {
                    h2 id="err-title" { "未能兑付" }
                    ul { @for (f, m) in &p.errors {
                        li { @if f.is_empty() { (m) } @else { a href={ "#" (if *f == "method" { "method_cash" } else { f }) } { (m) } } }
                    } }
                }
            }
            p { "领奖人出示领奖码后，在这里登记兑付。每个领奖码只能兑付一次；连续输错多次会被暂停一段时间。" }
            form method="post" action="/staff/payouts" {
                input type="hidden" name="csrf" value=(csrf);
                div class="field" {
                    label for="claim_code" { "领奖码（19 位数字）" }
                    @if let Some(m) = err("claim_code") { p class="error" id="claim_code-error" { (m) } }
                    input type="text" id="claim_code" name="claim_code" inputmode="numeric" autocomplete="off" value=(v.claim_code) required aria-invalid=[invalid("claim_code")] aria-describedby=[described("claim_code")];
                }
                fieldset aria-describedby=[described("method")] {
                    legend { "兑付方式" }
                    @if let Some(m) = err("method") { p class="error" id="method-error" { (m) } }
                    div class="field checkbox" {
                        input type="radio" id="method_cash" name="method" value="cash" checked[!transfer];
                        label for="method_cash" { "现金（在政策限额内可以不登记身份）" }
                    }
                    div class="field checkbox" {
                        input type="radio" id="method_transfer" name="method" value="transfer" checked[transfer];
                        label for="method_transfer" { "转账（下达后需确认已转账）" }
                    }
                }
                div class="field" {
                    label for="account" { "收款账户（只在转账时填写；加密保存，确认转账后删除）" }
                    @if let Some(m) = err("account") { p class="error" id="account-error" { (m) } }
                    textarea id="account" name="account" rows="3" maxlength="500" autocomplete="off" aria-invalid=[invalid("account")] aria-describedby=[described("account")] { (v.account) }
                }
                div class="field" {
                    label for="identity_check" { "身份核验情况（政策要求时填写；加密保存）" }
                    @if let Some(m) = err("identity_check") { p class="error" id="identity_check-error" { (m) } }
                    input type="text" id="identity_check" name="identity_check" maxlength="500" autocomplete="off" value=(v.identity_check) aria-invalid=[invalid("identity_check")] aria-describedby=[described("identity_check")];
                }
                button type="submit" { "登记兑付" }
            }
            h2 { "待确认的转账" }
            @if p.pending.is_empty() {
                p { "没有待确认的转账。" }
            } @else {
                div class="table-wrap" role="region" tabindex="0" aria-labelledby="tcap-pending" { table class="wide" {
                    caption id="tcap-pending" { "已下达、待确认的转账" }
                    thead { tr { th scope="col" { "奖励编号" } th scope="col" { "单位" } th scope="col" { "金额（元）" } th scope="col" { "下达日期" } th scope="col" { "操作" } } }
                    tbody { @for t in &p.pending { tr {
                        th scope="row" class="nowrap" { (t.reward_ref) } td { (t.unit) } td class="num" { (t.amount) } td class="nowrap" { (t.paid_on) }
                        td {
                            form class="inline" method="post" action={ "/staff/payouts/" (t.payout_id) "/confirm" } {
                                input type="hidden" name="csrf" value=(csrf);
                                button type="submit" class="link" { "确认已转账（" (t.reward_ref) "）" }
                            }
                        }
                    } } }
                } }
            }
        },
    )
}

pub struct PayoutDone {
    pub reward_ref: String,
    pub amount: String,
    pub method: String,
    pub state: String,
    pub paid_on: String,
}

pub fn payout_done(nav: &Nav, d: &PayoutDone) -> Markup {
    layout(
        "已登记兑付",
        Some(nav),
        html! {
            h1 { "奖励 " (d.reward_ref) " 已登记兑付" }
            dl class="meta" {
                dt { "奖励编号" } dd { (d.reward_ref) }
                dt { "金额" } dd { (d.amount) " 元" }
                dt { "方式" } dd { (method_label(&d.method)) }
                dt { "状态" } dd { (payout_state_label(&d.state)) }
                dt { "日期" } dd { (d.paid_on) }
            }
            @if d.state == "pending" { p { "转账办理完成后，请在兑付页面确认已转账；确认后收款账户信息即被删除。" } }
            p { a href="/staff/payouts" { "返回兑付页面" } }
        },
    )
}

pub struct LedgerLine {
    pub paid_on: String,
    pub reward_ref: String,
    pub unit_name: String,
    pub tiers: String,
    pub amount: String,
    pub method: String,
    pub state: String,
}

pub struct UnitLine {
    pub unit_name: String,
    pub count: i64,
    pub amount: String,
}

pub struct LedgerPage<'a> {
    pub nav: Nav<'a>,
    pub month: String,
    /// The unit filter ("" for all) and the units to choose from: (code, name).
    pub unit: String,
    pub units: Vec<(String, String)>,
    pub rows: Vec<LedgerLine>,
    pub totals: Vec<UnitLine>,
    pub total_paid: String,
    pub total_pending: String,
    pub error: Option<String>,
    pub csv_link: Option<String>,
}

pub fn ledger(p: &LedgerPage) -> Markup {
    layout(
        if p.error.is_some() {
            "错误：奖励台账"
        } else {
            "奖励台账"
        },
        Some(&p.nav),
        html! {
            h1 { "奖励台账 " (p.month) }
            form method="get" action="/staff/ledger" class="filters" {
                div class="field" {
                    label for="month" { "月份（年-月）" }
                    @if let Some(e) = &p.error { p class="error" role="alert" id="month-error" { (e) } }
                    input type="month" id="month" name="month" value=(p.month) pattern="[0-9]{4}-[0-9]{2}" required aria-invalid=[p.error.as_ref().map(|_| "true")] aria-describedby=[p.error.as_ref().map(|_| "month-error")];
                }
                div class="field" {
                    label for="unit" { "单位" }
                    select id="unit" name="unit" {
                        option value="" { "全部" }
                        @for (code, name) in &p.units { option value=(code) selected[*code == p.unit] { (name) } }
                    }
                }
                button type="submit" { "查看" }
            }
            @if let Some(href) = &p.csv_link { p { a href=(href) download { "下载本月台账（CSV）" } } }
            div class="table-wrap" role="region" tabindex="0" aria-labelledby="tcap-ledger" { table class="wide" {
                caption id="tcap-ledger" { "按付款日期排列的兑付记录" }
                thead { tr {
                    th scope="col" { "付款日期" } th scope="col" { "奖励编号" } th scope="col" { "单位" } th scope="col" { "档次" }
                    th scope="col" { "金额（元）" } th scope="col" { "方式" } th scope="col" { "状态" }
                } }
                tbody { @for r in &p.rows { tr {
                    td class="nowrap" { (r.paid_on) } th scope="row" class="nowrap" { (r.reward_ref) } td { (r.unit_name) } td { (r.tiers) }
                    td class="num" { (r.amount) } td { (method_label(&r.method)) } td { (payout_state_label(&r.state)) }
                } } }
            } }
            @if p.rows.is_empty() { p { "这个月没有兑付记录。" } }
            div class="table-wrap" role="region" tabindex="0" aria-labelledby="tcap-totals" { table {
                caption id="tcap-totals" { "各单位已付小计" }
                thead { tr { th scope="col" { "单位" } th scope="col" { "笔数" } th scope="col" { "金额（元）" } } }
                tbody { @for u in &p.totals { tr { th scope="row" { (u.unit_name) } td class="num" { (u.count) } td class="num" { (u.amount) } } } }
                tfoot {
                    tr { th scope="row" { "合计（已付）" } td {} td class="num" { (p.total_paid) } }
                    tr { th scope="row" { "待确认转账" } td {} td class="num" { (p.total_pending) } }
                }
            } }
        },
    )
}
