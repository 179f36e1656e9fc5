//! Reward pages for staff: the tip's reward section, the proposal form with the schedule's
//! suggestion, the reward list, one reward with its signing ladder, and the policy editor.
//! Money arrives formatted (yuan with two decimals); codes are turned into Chinese here.

use crate::staff_layout::{Nav, layout};
use maud::{Markup, html};

/// (field, message) pairs in form order; an empty field is an error of the whole form.
pub type FieldErrors = Vec<(&'static str, String)>;

pub fn status_label(status: &str) -> &'static str {
    match status {
        "approving" => "审批中",
        "claimable" => "待领取",
        "paid" => "已发放",
        "rejected" => "不予奖励",
        "expired" => "已过期",
        _ => "未知",
    }
}

/// Why a reward was turned down, as staff choose it (the reporter sees gentler words).
pub fn reason_label(reason: &str) -> &'static str {
    match reason {
        "not_eligible" => "举报人不符合奖励条件（负有查禁职责、同案或在押人员）",
        "earlier_reporter" => "他人更早举报了同一线索",
        "not_confirmed" => "举报内容未能查证属实",
        "facts_wrong" => "案件事实需要重新核定",
        _ => "其他原因",
    }
}

pub fn method_label(method: &str) -> &'static str {
    match method {
        "cash" => "现金",
        "transfer" => "转账",
        _ => "未知",
    }
}

pub fn payout_state_label(state: &str) -> &'static str {
    match state {
        "paid" => "已付",
        "pending" => "已下达转账，待确认",
        _ => "未知",
    }
}

pub fn policy_title(name: &str) -> &'static str {
    match name {
        "rewards" => "奖励标准和审批流程",
        "calendar" => "工作日历（法定节假日和调休）",
        "retention" => "保存期限（联系方式和已结线索）",
        _ => "政策文件",
    }
}

/// One reward in a list.
pub struct RewardLine {
    pub id: String,
    pub public_ref: String,
    pub unit: String,
    pub amount: String,
    pub tiers: String,
    pub status: String,
    pub next_step: Option<String>,
    pub notify_by: String,
    pub overdue: bool,
}

/// The reward section of a tip's page.
pub struct TipRewards {
    pub tip_id: String,
    pub rewards: Vec<RewardLine>,
    pub can_propose: bool,
}

fn next_step(r: &RewardLine) -> &str {
    r.next_step.as_deref().unwrap_or("—")
}

pub fn tip_section(t: &TipRewards) -> Markup {
    html! {
        h2 { "奖励" }
        @if t.rewards.is_empty() {
            p { "这条线索还没有奖励。" }
        } @else {
            div class="table-wrap" role="region" tabindex="0" aria-labelledby="tcap-tip-rewards" { table {
                caption id="tcap-tip-rewards" { "这条线索的奖励" }
                thead { tr { th scope="col" { "奖励编号" } th scope="col" { "金额（元）" } th scope="col" { "状态" } th scope="col" { "下一步" } } }
                tbody { @for r in &t.rewards { tr {
                    th scope="row" class="nowrap" { a href={ "/staff/rewards/" (r.id) } { (r.public_ref) } }
                    td class="num" { (r.amount) } td { (status_label(&r.status)) } td { (next_step(r)) }
                } } }
            } }
        }
        @if t.can_propose {
            p { a href={ "/staff/tips/" (t.tip_id) "/rewards/new" } { "提出奖励" } }
        } @else {
            p class="hint" { "线索查证属实后才能提出奖励。" }
        }
    }
}

#[derive(Clone, Default)]
pub struct SeizureValues {
    pub drug: String,
    pub grams: String,
}

/// What was typed into the proposal form, kept as text so a refused form comes back as typed.
#[derive(Clone)]
pub struct ProposalValues {
    pub seizures: Vec<SeizureValues>,
    pub precursors_kg: String,
    pub labs: String,
    pub manufacturing_leads: String,
    pub group_use_people: String,
    pub drug_drivers: String,
    pub growing_mu: String,
    pub growers_arrested: String,
    pub fugitive_bounty_yuan: String,
    pub special_yuan: String,
    pub cracked_on: String,
    pub justification: String,
    pub not_duty_staff: bool,
    pub not_accomplice: bool,
    pub not_detained: bool,
    pub amount_yuan: String,
}

/// Seizure rows on the form.
pub const SEIZURE_ROWS: usize = 3;

impl Default for ProposalValues {
    fn default() -> Self {
        Self {
            seizures: vec![SeizureValues::default(); SEIZURE_ROWS],
            precursors_kg: String::new(),
            labs: String::new(),
            manufacturing_leads: String::new(),
            group_use_people: String::new(),
            drug_drivers: String::new(),
            growing_mu: String::new(),
            growers_arrested: String::new(),
            fugitive_bounty_yuan: String::new(),
            special_yuan: String::new(),
            cracked_on: String::new(),
            justification: String::new(),
            not_duty_staff: false,
            not_accomplice: false,
            not_detained: false,
            amount_yuan: String::new(),
        }
    }
}

impl ProposalValues {
    /// The case-fact fields besides seizures: (name, label, inputmode, value).
    fn fact_fields(&self) -> [(&'static str, &'static str, &'static str, &str); 9] {
        [
            (
                "precursors_kg",
                "缴获易制毒化学品（千克）",
                "decimal",
                &self.precursors_kg,
            ),
            ("labs", "破获制毒窝点（个）", "numeric", &self.labs),
            (
                "manufacturing_leads",
                "其他制毒案件线索（起）",
                "numeric",
                &self.manufacturing_leads,
            ),
            (
                "group_use_people",
                "聚众吸毒被查获人数（人）",
                "numeric",
                &self.group_use_people,
            ),
            (
                "drug_drivers",
                "查获毒驾人员（人）",
                "numeric",
                &self.drug_drivers,
            ),
            (
                "growing_mu",
                "非法种植毒品原植物面积（亩）",
                "decimal",
                &self.growing_mu,
            ),
            (
                "growers_arrested",
                "抓获非法种植人员（人）",
                "numeric",
                &self.growers_arrested,
            ),
            (
                "fugitive_bounty_yuan",
                "协助抓获在逃人员：悬赏金额（元，整数）",
                "numeric",
                &self.fugitive_bounty_yuan,
            ),
            (
                "special_yuan",
                "其他特殊贡献：申请金额（元，整数）",
                "numeric",
                &self.special_yuan,
            ),
        ]
    }
}

pub struct ItemLine {
    pub label: String,
    pub min: String,
    pub max: String,
    pub suggested: String,
}

/// The schedule's answer for the facts typed.
pub struct SuggestionView {
    pub items: Vec<ItemLine>,
    pub heroin_g: String,
    pub min: String,
    pub max: String,
    pub suggested: String,
    pub cap: String,
    pub already: String,
}

pub struct ProposalPage<'a> {
    pub nav: Nav<'a>,
    pub tip_id: &'a str,
    pub tip_ref: &'a str,
    /// (code, label) from the policy's equivalence table.
    pub drugs: Vec<(String, String)>,
    pub values: ProposalValues,
    pub errors: FieldErrors,
    pub suggestion: Option<SuggestionView>,
}

/// Where the error summary sends the reader for a field.
fn anchor(field: &str) -> String {
    match field {
        "seizures" => "drug_1".into(),
        "eligibility" => "not_duty_staff".into(),
        f => f.into(),
    }
}

fn error_summary(errors: &FieldErrors) -> Markup {
    html! {
        @if !errors.is_empty() {
            div class="error-summary" role="alert" aria-labelledby="err-title" tabindex="-1" autofocus {
                h2 id="err-title" { "请更正以下问题" }
                ul { @for (f, m) in errors {
                    li { @if f.is_empty() { (m) } @else { a href={ "#" (anchor(f)) } { (m) } } }
                } }
            }
        }
    }
}

fn items_table(id: &str, caption: &str, items: &[ItemLine]) -> Markup {
    html! {
        div class="table-wrap" role="region" tabindex="0" aria-labelledby=(id) { table {
            caption id=(id) { (caption) }
            thead { tr { th scope="col" { "项目" } th scope="col" { "最低（元）" } th scope="col" { "最高（元）" } th scope="col" { "建议（元）" } } }
            tbody { @for i in items { tr { th scope="row" { (i.label) } td class="num" { (i.min) } td class="num" { (i.max) } td class="num" { (i.suggested) } } } }
        } }
    }
}

fn suggestion(s: &SuggestionView) -> Markup {
    html! {
        section id="suggestion" class="note" aria-labelledby="suggestion-title" {
            h2 id="suggestion-title" { "建议金额" }
            @if s.items.is_empty() {
                p { "这些事实达不到奖励标准的任何一档。" }
            } @else {
                (items_table("tcap-suggest", "按奖励标准计算", &s.items))
                p { "缴获毒品折合海洛因 " (s.heroin_g) " 克。" }
                p { "可以提出的金额：" strong { (s.min) " 至 " (s.max) " 元" } "，建议 " strong { (s.suggested) " 元" } "。" }
                p class="hint" { "同一线索的奖励合计不超过 " (s.cap) " 元，本线索已有奖励 " (s.already) " 元。" }
            }
        }
    }
}

pub fn proposal(p: &ProposalPage) -> Markup {
    let err = |f: &str| {
        p.errors
            .iter()
            .find(|(field, _)| *field == f)
            .map(|(_, m)| m.as_str())
    };
    let invalid = |f: &str| err(f).map(|_| "true");
    let described = |f: &str| err(f).map(|_| format!("{f}-error"));
    let with_hint = |f: &str| match err(f) {
        Some(_) => format!("{f}-hint {f}-error"),
        None => format!("{f}-hint"),
    };
    let v = &p.values;
    let action = format!("/staff/tips/{}/rewards/new", p.tip_id);
    let title = if p.errors.is_empty() {
        "提出奖励"
    } else {
        "错误：提出奖励"
    };
    layout(
        title,
        Some(&p.nav),
        html! {
            h1 { "为线索 " (p.tip_ref) " 提出奖励" }
            (error_summary(&p.errors))
            p { "按实际查获的情况填写，先计算建议金额，核对后提交审批。案件事实和理由加密保存，财务能看到，举报人看不到。" }
            form method="post" action=(action) {
                input type="hidden" name="csrf" value=(p.nav.csrf);
                fieldset aria-describedby=[described("seizures")] {
                    legend { "缴获毒品（最多 3 种，按净重）" }
                    @if let Some(m) = err("seizures") { p class="error" id="seizures-error" { (m) } }
                    @for (i, s) in v.seizures.iter().enumerate() {
                        @let n = i + 1;
                        div class="row" {
                            div class="field" {
                                label for={ "drug_" (n) } { "第 " (n) " 种毒品" }
                                select id={ "drug_" (n) } name={ "drug_" (n) } aria-invalid=[invalid("seizures")] {
                                    option value="" { "无" }
                                    @for (code, label) in &p.drugs { option value=(code) selected[*code == s.drug] { (label) } }
                                }
                            }
                            div class="field" {
                                label for={ "grams_" (n) } { "第 " (n) " 种毒品净重（克）" }
                                input type="text" inputmode="decimal" id={ "grams_" (n) } name={ "grams_" (n) } value=(s.grams) aria-invalid=[invalid("seizures")];
                            }
                        }
                    }
                }
                fieldset {
                    legend { "其他查获情况（没有的留空）" }
                    @for (name, label, mode, value) in v.fact_fields() {
                        div class="field" {
                            label for=(name) { (label) }
                            @if let Some(m) = err(name) { p class="error" id={ (name) "-error" } { (m) } }
                            input type="text" inputmode=(mode) id=(name) name=(name) value=(value) aria-invalid=[invalid(name)] aria-describedby=[described(name)];
                        }
                    }
                }
                div class="field" {
                    label for="cracked_on" { "破案日期" }
                    p class="hint" id="cracked_on-hint" { "格式 年-月-日，如 2026-11-28。告知举报人的期限从这一天算起。" }
                    @if let Some(m) = err("cracked_on") { p class="error" id="cracked_on-error" { (m) } }
                    input type="date" id="cracked_on" name="cracked_on" value=(v.cracked_on) required aria-invalid=[invalid("cracked_on")] aria-describedby=(with_hint("cracked_on"));
                }
                div class="field" {
                    label for="justification" { "奖励理由（加密保存）" }
                    @if let Some(m) = err("justification") { p class="error" id="justification-error" { (m) } }
                    textarea id="justification" name="justification" rows="5" maxlength="4000" required aria-invalid=[invalid("justification")] aria-describedby=[described("justification")] { (v.justification) }
                }
                fieldset aria-describedby=[described("eligibility")] {
                    legend { "举报人资格（三项都已核实才能提出）" }
                    @if let Some(m) = err("eligibility") { p class="error" id="eligibility-error" { (m) } }
                    @for (name, label, checked) in [
                        ("not_duty_staff", "举报人不是对本案负有查禁职责的人员", v.not_duty_staff),
                        ("not_accomplice", "举报人不是同案人员", v.not_accomplice),
                        ("not_detained", "举报人不是在押人员", v.not_detained),
                    ] {
                        div class="field checkbox" {
                            input type="checkbox" id=(name) name=(name) value="on" checked[checked];
                            label for=(name) { (label) }
                        }
                    }
                }
                @if let Some(s) = &p.suggestion { (suggestion(s)) }
                div class="field" {
                    label for="amount_yuan" { "奖励金额（元，选填）" }
                    p class="hint" id="amount_yuan-hint" { "最多两位小数。留空则按建议金额。" }
                    @if let Some(m) = err("amount_yuan") { p class="error" id="amount_yuan-error" { (m) } }
                    input type="text" inputmode="decimal" id="amount_yuan" name="amount_yuan" value=(v.amount_yuan) aria-invalid=[invalid("amount_yuan")] aria-describedby=(with_hint("amount_yuan"));
                }
                div class="buttons" {
                    button type="submit" name="action" value="suggest" formaction={ (action) "#suggestion" } { "计算建议金额" }
                    " "
                    button type="submit" name="action" value="propose" { "提交审批" }
                }
            }
        },
    )
}

/// Filters on the reward list: (key, query string, label).
const FILTERS: [(&str, &str, &str); 8] = [
    ("all", "", "全部"),
    ("mine", "?mine=true", "待我审批"),
    ("overdue", "?overdue=true", "逾期未告知"),
    ("approving", "?status=approving", "审批中"),
    ("claimable", "?status=claimable", "待领取"),
    ("paid", "?status=paid", "已发放"),
    ("rejected", "?status=rejected", "不予奖励"),
    ("expired", "?status=expired", "已过期"),
];

pub struct RewardListPage<'a> {
    pub nav: Nav<'a>,
    pub rows: Vec<RewardLine>,
    /// The filter in use: a key of `FILTERS`.
    pub current: &'a str,
}

pub fn list(p: &RewardListPage) -> Markup {
    layout(
        "奖励",
        Some(&p.nav),
        html! {
            h1 { "奖励" }
            nav aria-label="筛选奖励" class="filter-links" {
                ul { @for (key, query, label) in FILTERS {
                    li { a href={ "/staff/rewards" (query) } aria-current=[(key == p.current).then_some("page")] { (label) } }
                } }
            }
            div class="table-wrap" role="region" tabindex="0" aria-labelledby="tcap-rewards" { table class="wide" {
                caption id="tcap-rewards" { "奖励（" (p.rows.len()) " 项；打开奖励会记入审计日志）" }
                thead { tr {
                    th scope="col" { "奖励编号" } th scope="col" { "单位" } th scope="col" { "金额（元）" } th scope="col" { "档次" }
                    th scope="col" { "状态" } th scope="col" { "下一步" } th scope="col" { "告知期限" }
                } }
                tbody { @for r in &p.rows { tr {
                    th scope="row" class="nowrap" { a href={ "/staff/rewards/" (r.id) } { (r.public_ref) } }
                    td { (r.unit) } td class="num" { (r.amount) } td { (r.tiers) }
                    td { (status_label(&r.status)) } td { (next_step(r)) }
                    td { span class="nowrap" { (r.notify_by) } @if r.overdue { " " strong class="overdue" { "已逾期" } } }
                } } }
            } }
            @if p.rows.is_empty() { p { "没有符合条件的奖励。" } }
        },
    )
}

pub struct StepLine {
    pub label: String,
    pub signed_by: Option<String>,
    pub signed_at: Option<String>,
}

pub struct PayoutLine {
    pub method: String,
    pub state: String,
    pub paid_on: String,
}

pub struct RewardPage<'a> {
    pub nav: Nav<'a>,
    pub id: String,
    pub public_ref: String,
    pub unit: String,
    pub policy_version: i64,
    pub amount: String,
    pub tiers: Vec<String>,
    pub status: String,
    pub steps: Vec<StepLine>,
    pub next_step: Option<String>,
    pub can_sign: bool,
    pub proposed_by: String,
    pub proposed_at: String,
    pub cracked_on: String,
    pub notify_by: String,
    pub overdue: bool,
    pub notified_on: Option<String>,
    pub claim_by: Option<String>,
    pub reject_reason: Option<String>,
    pub payout: Option<PayoutLine>,
    /// (label, value) of the case facts, when this node can open them.
    pub facts: Option<Vec<(String, String)>>,
    pub items: Vec<ItemLine>,
    pub heroin_g: Option<String>,
    pub justification: Option<String>,
    /// The tip's page, only for people who may read the tip (never finance).
    pub tip_link: Option<String>,
    /// Reason codes a signer may choose from when turning the reward down.
    pub reject_reasons: &'a [&'a str],
    pub error: Option<String>,
}

pub fn reward(p: &RewardPage) -> Markup {
    let csrf = p.nav.csrf;
    let dash = |o: &Option<String>| o.clone().unwrap_or_else(|| "—".into());
    layout(
        &p.public_ref,
        Some(&p.nav),
        html! {
            h1 { "奖励 " (p.public_ref) }
            @if let Some(e) = &p.error { p class="error" role="alert" id="action-error" { (e) } }
            dl class="meta" {
                dt { "状态" } dd { (status_label(&p.status)) @if p.overdue { " " strong class="overdue" { "已过告知期限" } } }
                dt { "金额" } dd { (p.amount) " 元" }
                dt { "档次" } dd { (p.tiers.join("；")) }
                dt { "单位" } dd { (p.unit) }
                dt { "提出人" } dd { (p.proposed_by) "（" (p.proposed_at) "时）" }
                dt { "政策版本" } dd { @if p.policy_version == 0 { "内置默认版本" } @else { "第 " (p.policy_version) " 版" } }
                @if let Some(r) = &p.reject_reason { dt { "不予奖励的理由" } dd { (reason_label(r)) } }
                @if let Some(href) = &p.tip_link { dt { "线索" } dd { a href=(href) { "查看线索" } } }
            }
            h2 { "期限" }
            dl class="meta" {
                dt { "破案日期" } dd { (p.cracked_on) }
                dt { "告知举报人期限" } dd { (p.notify_by) }
                dt { "已告知" } dd { (dash(&p.notified_on)) }
                dt { "领取截止" } dd { (dash(&p.claim_by)) }
            }
            h2 { "审批" }
            ol class="steps" {
                @for s in &p.steps {
                    li {
                        (s.label) "："
                        @if let (Some(who), Some(at)) = (&s.signed_by, &s.signed_at) { "已由 " (who) " 于 " (at) "时签批" }
                        @else { "未签" }
                    }
                }
            }
            @if let Some(next) = &p.next_step { p { "下一步：" (next) } }
            @if p.can_sign {
                form method="post" action={ "/staff/rewards/" (p.id) "/sign" } {
                    input type="hidden" name="csrf" value=(csrf);
                    button type="submit" { "签批：" (p.next_step.as_deref().unwrap_or_default()) }
                }
                form method="post" action={ "/staff/rewards/" (p.id) "/reject" } {
                    input type="hidden" name="csrf" value=(csrf);
                    div class="field" {
                        label for="reason" { "不予奖励的理由" }
                        select id="reason" name="reason" required {
                            @for r in p.reject_reasons { option value=(r) { (reason_label(r)) } }
                        }
                    }
                    button type="submit" class="secondary" { "不予奖励" }
                }
            }
            @if let Some(pay) = &p.payout {
                h2 { "兑付" }
                dl class="meta" {
                    dt { "方式" } dd { (method_label(&pay.method)) }
                    dt { "状态" } dd { (payout_state_label(&pay.state)) }
                    dt { "日期" } dd { (pay.paid_on) }
                }
            }
            h2 { "案件事实（加密保存）" }
            @match &p.facts {
                Some(facts) => {
                    dl class="report" { @for (k, v) in facts { dt { (k) } dd { (v) } } }
                    @if let Some(g) = &p.heroin_g { p { "缴获毒品折合海洛因 " (g) " 克。" } }
                    @if !p.items.is_empty() { (items_table("tcap-items", "按奖励标准计算", &p.items)) }
                    @if let Some(j) = &p.justification { h3 { "奖励理由" } p class="pre" { (j) } }
                }
                None => { p { "本节点没有办公室密钥，不能显示加密的案件事实。" } }
            }
        },
    )
}

pub struct PolicyPage<'a> {
    pub nav: Nav<'a>,
    pub name: &'a str,
    /// 0: the shipped default is in force.
    pub version: i64,
    pub body: String,
    pub error: Option<String>,
    pub documents: &'a [&'a str],
}

pub fn policy(p: &PolicyPage) -> Markup {
    let title = policy_title(p.name);
    layout(
        if p.error.is_some() {
            "错误：奖励政策"
        } else {
            "奖励政策"
        },
        Some(&p.nav),
        html! {
            h1 { (title) }
            nav aria-label="政策文件" class="filter-links" {
                ul { @for d in p.documents {
                    li { a href={ "/staff/admin/policy/" (d) } aria-current=[(*d == p.name).then_some("page")] { (policy_title(d)) } }
                } }
            }
            p {
                @if p.version == 0 { "现行：内置默认版本（还没有保存过）。" }
                @else { "现行：第 " (p.version) " 版。" }
                "每次保存都成为新版本；已提出的奖励仍按提出时的版本审批。"
            }
            @if let Some(e) = &p.error { p class="error" role="alert" id="body-error" { (e) } }
            form method="post" action={ "/staff/admin/policy/" (p.name) } {
                input type="hidden" name="csrf" value=(p.nav.csrf);
                div class="field" {
                    label for="body" { (title) "（TOML 格式）" }
                    textarea id="body" name="body" class="code" rows="30" spellcheck="false" required aria-invalid=[p.error.as_ref().map(|_| "true")] aria-describedby=[p.error.as_ref().map(|_| "body-error")] { (p.body) }
                }
                button type="submit" { "保存为新版本" }
            }
        },
    )
}
