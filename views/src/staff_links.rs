//! Linking related tips on the staff pages: the tip page's "related tips" and case panel, and
//! the case page. Chinese, like the other staff pages; every form carries the CSRF token.

use crate::staff_layout::{Nav, layout};
use maud::{Markup, html};

/// A tip in a list: metadata only.
pub struct LinkedTip {
    pub id: String,
    pub public_ref: String,
    pub status: String,
    pub township: String,
    pub received: String,
    /// What it shares with the tip being read ("电话 138 0013 8000"), or who linked it.
    pub detail: String,
}

pub struct RelatedSection {
    pub items: Vec<LinkedTip>,
    /// Related tips in units the reader does not see.
    pub elsewhere: usize,
    pub truncated: bool,
    /// The reader is in the county brigade: not told to ask the county brigade.
    pub county_reader: bool,
}

pub struct CasePanel<'a> {
    pub tip_id: &'a str,
    /// (case id, case reference) when the tip is in a case.
    pub case: Option<(String, String)>,
    /// The reference of the tip this one repeats.
    pub duplicate_of: Option<String>,
    /// Whether the state machine still allows marking it a duplicate.
    pub may_mark_duplicate: bool,
}

/// "相关线索" and the case panel, for the tip page.
pub fn tip_section(csrf: &str, related: Option<&RelatedSection>, panel: &CasePanel) -> Markup {
    let id = panel.tip_id;
    html! {
        h2 id="related" { "相关线索" }
        @match related {
            None => p { "本节点没有办公室密钥，不能查找相关线索。" },
            Some(r) => {
                @if r.items.is_empty() { p { "没有发现与本线索提到相同电话、车牌、身份证号、场所或人员的其他线索。" } }
                @else {
                    div class="table-wrap" role="region" tabindex="0" aria-labelledby="rel-cap" { table class="wide" {
                        caption id="rel-cap" { "提到相同内容的线索（已解密核对），按收到时间排列" }
                        thead { tr { th scope="col" { "编号" } th scope="col" { "状态" } th scope="col" { "乡镇" } th scope="col" { "收到（小时）" } th scope="col" { "相同之处" } } }
                        tbody { @for t in &r.items { (row(t)) } }
                    } }
                }
                @if r.elsewhere > 0 {
                    @if r.county_reader { p class="hint" { "其他单位另有 " (r.elsewhere) " 条相关线索。" } }
                    @else { p class="hint" { "其他单位另有 " (r.elsewhere) " 条相关线索；如需了解，请联系县禁毒大队。" } }
                }
                @if r.truncated { p class="hint" { "候选太多，只核对了前 500 条。" } }
            }
        }
        h2 id="case" { "案件" }
        @if let Some(orig) = &panel.duplicate_of { p { "本线索已标为重复，原线索：" (orig) } }
        @match &panel.case {
            Some((case_id, case_ref)) => {
                p { "本线索属于案件 " a href={ "/staff/cases/" (case_id) } { (case_ref) } "。" }
                form method="post" action={ "/staff/tips/" (id) "/unlink" } {
                    input type="hidden" name="csrf" value=(csrf);
                    button type="submit" { "移出案件" }
                }
            }
            None => {
                p { "把同一条线索的多次举报并入一个案件；奖励给案件中最先举报并查证属实的人。" }
                form method="post" action={ "/staff/tips/" (id) "/case" } {
                    input type="hidden" name="csrf" value=(csrf);
                    div class="field" {
                        label for="case-ref" { "并入已有案件（案件编号，留空则新建案件）" }
                        input type="text" id="case-ref" name="case_ref" maxlength="20" autocomplete="off";
                    }
                    button type="submit" { "并入案件" }
                }
            }
        }
        @if panel.may_mark_duplicate {
            form method="post" action={ "/staff/tips/" (id) "/duplicate" } {
                input type="hidden" name="csrf" value=(csrf);
                div class="field" {
                    label for="dup-of" { "标为重复（原线索编号）" }
                    input type="text" id="dup-of" name="of" maxlength="20" required autocomplete="off";
                }
                button type="submit" { "标为重复" }
            }
        }
    }
}

fn row(t: &LinkedTip) -> Markup {
    html! {
        tr {
            th scope="row" { a class="nowrap" href={ "/staff/tips/" (t.id) } { (t.public_ref) } }
            td { (t.status) } td { (t.township) } td class="nowrap" { (t.received) } td { (t.detail) }
        }
    }
}

pub struct CasePage<'a> {
    pub nav: Nav<'a>,
    pub id: &'a str,
    pub public_ref: &'a str,
    pub created: String,
    pub tips: Vec<LinkedTip>,
    pub elsewhere: usize,
}

/// A case: its tips in the order they were reported, each with a button to unlink it.
pub fn case(p: &CasePage) -> Markup {
    let csrf = p.nav.csrf;
    layout(
        p.public_ref,
        Some(&p.nav),
        html! {
            h1 { "案件 " (p.public_ref) }
            p { (p.created) }
            @if p.tips.is_empty() { p { "这个案件里没有您能查看的线索。" } }
            @else {
                div class="table-wrap" role="region" tabindex="0" aria-labelledby="case-cap" { table class="wide" {
                    caption id="case-cap" { "案件中的线索，按收到时间排列（最早的举报在前）" }
                    thead { tr { th scope="col" { "编号" } th scope="col" { "状态" } th scope="col" { "乡镇" } th scope="col" { "收到（小时）" } th scope="col" { "并入" } th scope="col" { "操作" } } }
                    tbody {
                        @for t in &p.tips {
                            tr {
                                th scope="row" { a class="nowrap" href={ "/staff/tips/" (t.id) } { (t.public_ref) } }
                                td { (t.status) } td { (t.township) } td class="nowrap" { (t.received) } td { (t.detail) }
                                td {
                                    form class="inline" method="post" action={ "/staff/cases/" (p.id) "/unlink" } {
                                        input type="hidden" name="csrf" value=(csrf);
                                        input type="hidden" name="tip" value=(t.id);
                                        button type="submit" aria-label={ "把 " (t.public_ref) " 移出案件" } { "移出" }
                                    }
                                }
                            }
                        }
                    }
                } }
            }
            @if p.elsewhere > 0 { p class="hint" { "案件中另有 " (p.elsewhere) " 条其他单位的线索。" } }
        },
    )
}
