//! Staff pages (Chinese; the office works in Chinese). Pure functions of their view models.
//! Every form carries the session's CSRF token; nothing here ever shows a reporter's contact.

pub use crate::staff_layout::Nav;
pub(crate) use crate::staff_layout::layout;
use maud::{Markup, PreEscaped, html};

pub fn message(title: &str, nav: Option<&Nav>, text: &str) -> Markup {
    message_with_link(title, nav, text, None)
}

/// A message with a way back (`(href, label)`), for refused actions.
pub fn message_with_link(
    title: &str,
    nav: Option<&Nav>,
    text: &str,
    back: Option<(&str, &str)>,
) -> Markup {
    layout(
        title,
        nav,
        html! {
            h1 { (title) }
            p role="alert" { (text) }
            @if let Some((href, label)) = back { p { a href=(href) { (label) } } }
        },
    )
}

pub fn login(csrf: &str, error: Option<&str>) -> Markup {
    layout(
        "登录",
        None,
        html! {
            h1 { "工作人员登录" }
            @if let Some(e) = error { p class="error" role="alert" id="login-error" { (e) } }
            form method="post" action="/staff/login" {
                input type="hidden" name="csrf" value=(csrf);
                div class="field" {
                    label for="username" { "用户名" }
                    input type="text" id="username" name="username" autocomplete="username" required aria-describedby=[error.map(|_| "login-error")];
                }
                div class="field" {
                    label for="password" { "密码" }
                    input type="password" id="password" name="password" autocomplete="current-password" required;
                }
                button type="submit" { "下一步" }
            }
        },
    )
}

/// The second factor: enrolment (QR code and otpauth URI) or a code.
pub fn totp(csrf: &str, enrol: Option<(&str, &str)>, error: Option<&str>) -> Markup {
    layout(
        "动态验证码",
        None,
        html! {
            h1 { @if enrol.is_some() { "绑定身份验证器" } @else { "输入动态验证码" } }
            @if let Some(e) = error { p class="error" role="alert" id="code-error" { (e) } }
            @if let Some((uri, svg)) = enrol {
                p { "用手机上的身份验证器（TOTP）扫描二维码，或手动输入下面的地址，然后输入它显示的 6 位数字。" }
                figure class="qr" { (PreEscaped(svg)) figcaption { "二维码：身份验证器绑定地址" } }
                p { code class="otpauth" { (uri) } }
            }
            form method="post" action="/staff/totp" {
                input type="hidden" name="csrf" value=(csrf);
                div class="field" {
                    label for="code" { "6 位动态验证码" }
                    input type="text" id="code" name="code" inputmode="numeric" autocomplete="one-time-code" maxlength="8" required aria-describedby=[error.map(|_| "code-error")];
                }
                button type="submit" { "确认" }
            }
        },
    )
}

pub struct QueueRow {
    pub id: String,
    pub public_ref: String,
    pub received: String,
    pub category: String,
    pub township: String,
    pub channel: String,
    pub status: String,
    pub priority: i32,
    pub tags: String,
    /// Reporter messages nobody has read yet.
    pub unread: i32,
    /// Who works it (a username), or empty.
    pub assignee: String,
    /// The routing columns do not match what intake bound to the tip (shown only to the county
    /// brigade; everyone else does not see such a tip).
    pub route_broken: bool,
}

/// A select filter: field name, label, (value, label) options, the selected value.
pub type Filter<'a> = (&'a str, &'a str, Vec<(String, String)>, String);

pub struct QueuePage<'a> {
    pub nav: Nav<'a>,
    pub rows: Vec<QueueRow>,
    pub counts: Vec<(String, i64)>,
    pub next_link: Option<String>,
    pub filters: Vec<Filter<'a>>,
    pub oldest_first: bool,
    /// Rewards past the day the reporter should have been told (shown to supervisors).
    pub overdue_rewards: usize,
    /// The assignment filter: "", "me" or "none".
    pub assigned: &'a str,
}

pub fn queue(p: &QueuePage) -> Markup {
    layout(
        "线索队列",
        Some(&p.nav),
        html! {
            h1 { "线索队列" }
            @if p.overdue_rewards > 0 {
                p class="warning-inline" role="status" {
                    a href="/staff/rewards?overdue=true" { (p.overdue_rewards) " 项奖励已过告知期限仍未审批完毕" }
                }
            }
            p { "各状态数量：" @for (s, n) in &p.counts { span class="count" { (s) " " (n) } " " } }
            (search_box("", ""))
            nav class="filter-links" aria-label="按指派筛选" { ul {
                @for (v, l) in [("", "全部线索"), ("me", "指派给我的"), ("none", "未指派的")] {
                    li { a href={ "/staff/tips" @if !v.is_empty() { "?assigned=" (v) } } aria-current=[(p.assigned == v).then_some("page")] { (l) } }
                }
            } }
            form method="get" action="/staff/tips" class="filters" {
                @if !p.assigned.is_empty() { input type="hidden" name="assigned" value=(p.assigned); }
                @for (name, label, options, selected) in &p.filters {
                    div class="field" {
                        label for={ "f-" (name) } { (label) }
                        select id={ "f-" (name) } name=(name) {
                            option value="" { "全部" }
                            @for (v, l) in options { option value=(v) selected[v == selected] { (l) } }
                        }
                    }
                }
                div class="field" {
                    label for="f-order" { "排序" }
                    select id="f-order" name="order" {
                        option value="newest" selected[!p.oldest_first] { "最新在前" }
                        option value="oldest" selected[p.oldest_first] { "最早在前" }
                    }
                }
                button type="submit" { "筛选" }
            }
            div class="table-wrap" role="region" tabindex="0" aria-labelledby="tcap1" { table class="wide" {
                caption id="tcap1" { "线索（只显示元数据；打开线索会记入审计日志）" }
                thead { tr { th scope="col" { "编号" } th scope="col" { "收到（小时）" } th scope="col" { "类别" } th scope="col" { "乡镇" } th scope="col" { "渠道" } th scope="col" { "状态" } th scope="col" { "优先级" } th scope="col" { "指派给" } th scope="col" { "标签" } } }
                tbody {
                    @for r in &p.rows {
                        tr {
                            th scope="row" {
                                a class="nowrap" href={ "/staff/tips/" (r.id) } { (r.public_ref) }
                                @if r.unread > 0 { " " span class="badge" { "新留言 " (r.unread) } }
                                @if r.route_broken { " " span class="badge" { "分派信息被改动" } }
                            }
                            td class="nowrap" { (r.received) } td { (r.category) } td { (r.township) } td { (r.channel) }
                            td { (r.status) } td { (r.priority) }
                            td { @if r.assignee.is_empty() { "未指派" } @else { (r.assignee) } }
                            td { (r.tags) }
                        }
                    }
                }
            } }
            @if p.rows.is_empty() { p { "没有符合条件的线索。" } }
            @if let Some(next) = &p.next_link { p { a href=(next) { "下一页" } } }
        },
    )
}

pub struct TipPage<'a> {
    pub nav: Nav<'a>,
    pub id: &'a str,
    pub public_ref: &'a str,
    pub meta: Vec<(&'a str, String)>,
    pub report: Vec<(&'a str, String)>,
    /// What the reporter sent with the tip, in the order sent.
    pub attachments: Vec<AttachmentView>,
    pub events: Vec<String>,
    pub notes: Vec<(String, String)>,
    pub next_states: Vec<(&'a str, &'a str)>,
    pub error: Option<&'a str>,
    pub rewards: Option<crate::staff_rewards::TipRewards>,
    pub messages: Vec<ThreadEntry>,
    /// The reporter wrote by SMS or email: replies also go out that way.
    pub has_contact: bool,
    /// Related tips (`None` where this node cannot look them up) and the case panel.
    pub related: Option<crate::staff_links::RelatedSection>,
    pub case_panel: crate::staff_links::CasePanel<'a>,
    /// The tip is assigned to the reader: the "assign to me" button is not offered.
    pub assigned_to_me: bool,
    pub priority: i32,
    pub tags: String,
    /// The routing columns do not match what intake bound to the tip.
    pub route_broken: bool,
}

/// One attachment on the tip page. Never an original file name: none is kept.
pub struct AttachmentView {
    /// 1, 2, ... in the order the reporter sent them.
    pub n: usize,
    pub image: bool,
    /// The inline address (the `<img>` and "view full size").
    pub url: String,
    /// The same file as a download.
    pub download: String,
    /// "JPEG 图片", "文本文件".
    pub kind: String,
    /// "12.3 KB".
    pub size: String,
    /// The channel it came by ("网上", "邮件", ...).
    pub channel: String,
    /// A text file's text, shown escaped (never rendered); `None` for images.
    pub text: Option<String>,
    /// The text was cut for the page; the download has all of it.
    pub text_cut: bool,
}

/// The warning on a tip whose unit, county-only choice, category or township is not what
/// intake bound to it.
pub const ROUTE_BROKEN: &str = "警告：本线索的分派信息（单位、只限县禁毒大队、类别、乡镇）与收到时绑定的不一致，可能被人直接改动了数据库。请勿据此处理，并报告系统管理员核查审计日志和备份。";

/// One message of the conversation with the reporter, as staff see it.
pub struct ThreadEntry {
    pub from_police: bool,
    pub who: String,
    pub hour: String,
    pub body: String,
}

fn attachments(list: &[AttachmentView]) -> Markup {
    html! {
        h2 id="attachments" { "附件" }
        @if list.is_empty() { p { "举报人没有发送附件。" } }
        @else {
            p class="hint" { "照片已在收到时重新编码，去掉了位置等元数据。每次查看或下载都会记入审计日志。" }
            ul class="attachments" {
                @for a in list {
                    li {
                        @if a.image {
                            figure {
                                a href=(a.url) {
                                    img src=(a.url) alt={ "附件 " (a.n) "：举报人发送的照片（" (a.kind) "），点击查看原图" } loading="lazy";
                                }
                                figcaption { "附件 " (a.n) " · " (a.kind) " · " (a.size) " · 经" (a.channel) "收到" }
                            }
                        } @else {
                            p class="attachment-meta" { strong { "附件 " (a.n) } " · " (a.kind) " · " (a.size) " · 经" (a.channel) "收到" }
                            @if let Some(t) = &a.text {
                                pre class="attachment-text" tabindex="0" aria-label={ "附件 " (a.n) " 的内容" } { (t) }
                                @if a.text_cut { p class="hint" { "只显示了开头；完整内容请下载。" } }
                            }
                        }
                        p class="attachment-links" {
                            @if a.image { a href=(a.url) { "查看原图（附件 " (a.n) "）" } " · " }
                            a href=(a.download) { "下载附件 " (a.n) }
                        }
                    }
                }
            }
        }
    }
}

/// The tip page reads as a case file: the facts first (what, where, when, how it came, the
/// report, the evidence, related tips, the conversation), then the actions, each in its own
/// group, reached from one list of links at the top of the actions. No JavaScript.
pub fn tip(p: &TipPage) -> Markup {
    let csrf = p.nav.csrf;
    layout(
        p.public_ref,
        Some(&p.nav),
        html! {
            h1 { "线索 " (p.public_ref) }
            @if p.route_broken { p class="error" role="alert" { (ROUTE_BROKEN) } }
            @if let Some(e) = p.error { p class="error" role="alert" { (e) } }
            nav class="jump" aria-label="本页目录" { ul {
                li { a href="#report" { "举报内容" } }
                li { a href="#attachments" { "附件（" (p.attachments.len()) "）" } }
                li { a href="#related" { "相关线索" } }
                li { a href="#thread" { "对话" } }
                li { a href="#actions" { "处理操作" } }
            } }
            h2 class="visually-hidden" { "概况" }
            dl class="meta" { @for (k, v) in &p.meta { dt { (k) } dd { (v) } } }
            h2 id="report" { "举报内容" }
            dl class="report" { @for (k, v) in &p.report { dt { (k) } dd class="pre" { (v) } } }
            (attachments(&p.attachments))
            (crate::staff_links::tip_section(csrf, p.related.as_ref(), &p.case_panel))
            @if let Some(r) = &p.rewards { (crate::staff_rewards::tip_section(r)) }
            h2 id="thread" { "与举报人的对话" }
            @if p.messages.is_empty() { p { "还没有消息。" } }
            ol class="messages" {
                @for m in &p.messages {
                    li class=(if m.from_police { "from-police" } else { "from-you" }) {
                        p class="meta" { strong { (m.who) } " · " (m.hour) "时" }
                        p class="body pre" { (m.body) }
                    }
                }
            }
            h2 id="notes" { "内部备注" }
            @if p.notes.is_empty() { p { "还没有备注。" } }
            ul { @for (who, body) in &p.notes { li { strong { (who) } "：" span class="pre" { (body) } } } }
            h2 id="history" { "状态记录" }
            ol { @for e in &p.events { li { (e) } } }

            h2 id="actions" { "处理操作" }
            nav class="jump" aria-label="处理操作目录" { ul {
                li { a href="#act-status" { "状态" } }
                li { a href="#act-assign" { "指派" } }
                li { a href="#act-triage" { "优先级和标签" } }
                li { a href="#act-reply" { "回复举报人" } }
                li { a href="#act-note" { "添加备注" } }
            } }
            div class="actions" {
                section class="action" aria-labelledby="act-status" {
                    h3 id="act-status" { "状态" }
                    @if p.next_states.is_empty() { p { "这条线索已办结，状态不能再改。" } }
                    @else {
                        form method="post" action={ "/staff/tips/" (p.id) "/transition" } {
                            input type="hidden" name="csrf" value=(csrf);
                            div class="field" {
                                label for="to" { "改为状态" }
                                select id="to" name="to" { @for (v, l) in &p.next_states { option value=(v) { (l) } } }
                            }
                            div class="field" {
                                label for="t-note" { "说明（加密保存，选填）" }
                                textarea id="t-note" name="note" rows="2" maxlength="10000" {}
                            }
                            button type="submit" { "更改状态" }
                        }
                    }
                }
                section class="action" aria-labelledby="act-assign" {
                    h3 id="act-assign" { "指派" }
                    @if !p.assigned_to_me {
                        form method="post" action={ "/staff/tips/" (p.id) "/assign" } {
                            input type="hidden" name="csrf" value=(csrf);
                            input type="hidden" name="username" value=(p.nav.username);
                            button type="submit" { "指派给我" }
                        }
                    }
                    form method="post" action={ "/staff/tips/" (p.id) "/assign" } {
                        input type="hidden" name="csrf" value=(csrf);
                        div class="field" { label for="assignee" { "指派给（用户名，留空为取消指派）" } input type="text" id="assignee" name="username"; }
                        button type="submit" { "指派" }
                    }
                }
                section class="action" aria-labelledby="act-triage" {
                    h3 id="act-triage" { "优先级和标签" }
                    form method="post" action={ "/staff/tips/" (p.id) "/triage" } {
                        input type="hidden" name="csrf" value=(csrf);
                        div class="field" {
                            label for="priority" { "优先级（0-3）" }
                            select id="priority" name="priority" { @for n in 0..4 { option value=(n) selected[n == p.priority] { (n) } } }
                        }
                        div class="field" { label for="tags" { "标签（用逗号分隔）" } input type="text" id="tags" name="tags" value=(p.tags); }
                        button type="submit" { "保存" }
                    }
                }
                section class="action" aria-labelledby="act-reply" {
                    h3 id="act-reply" { "回复举报人" }
                    form method="post" action={ "/staff/tips/" (p.id) "/messages" } {
                        input type="hidden" name="csrf" value=(csrf);
                        div class="field" {
                            label for="message" { "给举报人的消息" }
                            p id="message-hint" class="hint" {
                                "举报人凭回执号在网站上看到；加密保存。不要写其他举报人或案件的信息。"
                                @if p.has_contact { "此线索来自短信或邮件，消息也会经运营商发送给举报人，运营商能看到内容。" }
                            }
                            textarea id="message" name="body" rows="3" maxlength="2000" required aria-describedby="message-hint" {}
                        }
                        button type="submit" { "发送给举报人" }
                    }
                }
                section class="action" aria-labelledby="act-note" {
                    h3 id="act-note" { "添加备注" }
                    form method="post" action={ "/staff/tips/" (p.id) "/notes" } {
                        input type="hidden" name="csrf" value=(csrf);
                        div class="field" { label for="note" { "新备注（加密保存）" } textarea id="note" name="body" rows="3" maxlength="10000" required {} }
                        button type="submit" { "添加备注" }
                    }
                }
            }
        },
    )
}

/// The queue's search box: one value, and optionally the kind it is.
pub fn search_box(value: &str, kind: &str) -> Markup {
    let kinds = [
        ("", "自动识别"),
        ("phone", "电话号码"),
        ("plate", "车牌"),
        ("id_number", "身份证号"),
        ("venue", "场所"),
        ("person", "人名或绰号"),
    ];
    html! {
        form method="get" action="/staff/search" class="filters search" role="search" aria-label="按电话、车牌、身份证号、场所或人名查找线索" {
            div class="field" {
                label for="s-q" { "查找（电话、车牌、身份证号、场所、人名）" }
                input type="text" id="s-q" name="q" value=(value) maxlength="100" autocomplete="off";
            }
            div class="field" {
                label for="s-kind" { "类别" }
                select id="s-kind" name="kind" { @for (v, l) in kinds { option value=(v) selected[v == kind] { (l) } } }
            }
            button type="submit" { "查找" }
        }
    }
}

pub struct SearchRow {
    pub id: String,
    pub public_ref: String,
    pub received: String,
    pub township: String,
    pub status: String,
    /// The kinds it matched, in words.
    pub matched: String,
}

pub struct SearchPage<'a> {
    pub nav: Nav<'a>,
    pub value: &'a str,
    pub kind: &'a str,
    pub kinds: Vec<(String, String)>,
    /// What the value was searched as, once searched.
    pub searched: Option<String>,
    pub rows: Vec<SearchRow>,
    pub elsewhere: usize,
    pub truncated: bool,
    pub error: Option<&'a str>,
}

pub fn search(p: &SearchPage) -> Markup {
    layout(
        "查找线索",
        Some(&p.nav),
        html! {
            h1 { "查找线索" }
            p class="hint" { "同一号码或名字的不同写法都能找到。每次查找都会记入审计日志（只记类别和结果数，不记查找的内容），且有次数限制。" }
            (search_box(p.value, p.kind))
            @if let Some(e) = p.error { p class="error" role="alert" { (e) } }
            @if let Some(kinds) = &p.searched {
                h2 { "结果" }
                p role="status" { "按" (kinds) "查找：您的单位有 " (p.rows.len()) " 条线索。" }
                @if !p.rows.is_empty() {
                    div class="table-wrap" role="region" tabindex="0" aria-labelledby="s-cap" { table class="wide" {
                        caption id="s-cap" { "提到所查内容的线索（已解密核对），最新在前" }
                        thead { tr { th scope="col" { "编号" } th scope="col" { "收到（小时）" } th scope="col" { "乡镇" } th scope="col" { "状态" } th scope="col" { "相同之处" } } }
                        tbody { @for r in &p.rows { tr {
                            th scope="row" { a class="nowrap" href={ "/staff/tips/" (r.id) } { (r.public_ref) } }
                            td class="nowrap" { (r.received) } td { (r.township) } td { (r.status) } td { (r.matched) }
                        } } }
                    } }
                }
                @if p.elsewhere > 0 { p class="hint" { "其他单位另有 " (p.elsewhere) " 条线索提到它；如需了解，请联系县禁毒大队。" } }
                @if p.truncated { p class="hint" { "候选太多，只核对了前 500 条。" } }
            }
            p { a href="/staff/tips" { "返回线索队列" } }
        },
    )
}

#[derive(Default)]
pub struct NewTipValues {
    pub channel: String,
    pub category: String,
    pub township: String,
    pub description: String,
    pub location: String,
    pub county_only: bool,
}

pub struct NewTipPage<'a> {
    pub nav: Nav<'a>,
    pub categories: Vec<(&'a str, &'a str)>,
    pub townships: Vec<(&'a str, &'a str)>,
    /// (field, message) pairs, in form order.
    pub errors: Vec<(&'a str, &'a str)>,
    pub values: NewTipValues,
}

pub fn new_tip(p: &NewTipPage) -> Markup {
    let err = |f: &str| {
        p.errors
            .iter()
            .find(|(field, _)| *field == f)
            .map(|(_, m)| *m)
    };
    let invalid = |f: &str| err(f).map(|_| "true");
    let described = |f: &str| err(f).map(|_| format!("{f}-error"));
    let v = &p.values;
    layout(
        if p.errors.is_empty() {
            "录入线索"
        } else {
            "错误：录入线索"
        },
        Some(&p.nav),
        html! {
            h1 { "录入电话或举报箱线索" }
            @if !p.errors.is_empty() {
                div class="error-summary" role="alert" aria-labelledby="err-title" tabindex="-1" autofocus {
                    h2 id="err-title" { "请更正以下问题" }
                    ul { @for (f, m) in &p.errors { li { a href={ "#" (f) } { (m) } } } }
                }
            }
            p { "不要记录举报人的姓名、电话或其他身份信息。提交后会显示回执号，请逐位读给来电人。" }
            form method="post" action="/staff/tips/new" {
                input type="hidden" name="csrf" value=(p.nav.csrf);
                div class="field" { label for="channel" { "来源" } select id="channel" name="channel" {
                    option value="hotline" selected[v.channel != "box"] { "举报电话" }
                    option value="box" selected[v.channel == "box"] { "举报箱" } } }
                @for (name, label, options, selected) in [("category", "类别", &p.categories, &v.category), ("township", "乡镇", &p.townships, &v.township)] {
                    div class="field" {
                        label for=(name) { (label) }
                        @if let Some(m) = err(name) { p class="error" id={ (name) "-error" } { (m) } }
                        select id=(name) name=(name) required aria-invalid=[invalid(name)] aria-describedby=[described(name)] {
                            option value="" { "请选择" }
                            @for (code, l) in options.iter() { option value=(code) selected[*code == selected.as_str()] { (l) } }
                        }
                    }
                }
                div class="field" {
                    label for="description" { "内容" }
                    @if let Some(m) = err("description") { p class="error" id="description-error" { (m) } }
                    textarea id="description" name="description" rows="6" maxlength="10000" required aria-invalid=[invalid("description")] aria-describedby=[described("description")] { (v.description) }
                }
                div class="field" {
                    label for="location" { "地点" }
                    @if let Some(m) = err("location") { p class="error" id="location-error" { (m) } }
                    textarea id="location" name="location" rows="2" maxlength="1000" aria-invalid=[invalid("location")] aria-describedby=[described("location")] { (v.location) }
                }
                div class="field checkbox" { input type="checkbox" id="county_only" name="county_only" value="on" checked[v.county_only]; label for="county_only" { "只让县禁毒大队查看" } }
                button type="submit" { "保存线索" }
            }
        },
    )
}

pub fn caller_receipt(nav: &Nav, receipt: &str, public_ref: &str) -> Markup {
    layout(
        "回执号",
        Some(nav),
        html! {
            h1 { "线索 " (public_ref) " 已保存" }
            p { "请逐位读给来电人，只显示这一次：" }
            p class="receipt" { strong id="receipt" { (receipt) } }
            p { "提醒来电人：回执号经过了您的耳朵，请他尽快上网把回执号换成新的（换号后旧号作废）。必须在线索查证之前换号，以后才能看到领奖码。" }
            p { "这条线索由您录入：您不能把它改为“查证属实”，也不能提出、签批或发放它的奖励。" }
            p { a href="/staff/tips" { "返回队列" } }
        },
    )
}

pub struct AdminPage<'a> {
    pub nav: Nav<'a>,
    /// (username, role, unit, disabled, awaiting approval)
    pub users: Vec<(String, String, String, bool, bool)>,
    pub units: Vec<(String, String, String)>,
    pub error: Option<String>,
    pub created: Option<(String, String)>,
    /// The account just created waits for a county supervisor's approval.
    pub created_waits: bool,
    /// Names of the policy documents an admin may edit.
    pub policy_documents: &'a [&'a str],
}

pub fn admin(p: &AdminPage) -> Markup {
    let csrf = p.nav.csrf;
    layout(
        "单位和账号",
        Some(&p.nav),
        html! {
            h1 { "单位和账号" }
            @if let Some(e) = &p.error { p class="error" role="alert" { (e) } }
            @if let Some((u, pw)) = &p.created { p class="note" role="status" {
                "已创建 " (u) "，初始密码（只显示一次）：" code { (pw) }
                @if p.created_waits { "。该账号可以阅读线索，须由另一位全县主管审批后才能登录（待审批）。" }
            } }
            h2 { "账号" }
            div class="table-wrap" role="region" tabindex="0" aria-labelledby="tcap2" { table {
                caption id="tcap2" { "工作人员账号" }
                thead { tr { th scope="col" { "用户名" } th scope="col" { "角色" } th scope="col" { "单位" } th scope="col" { "状态" } } }
                tbody { @for (u, r, unit, disabled, waits) in &p.users { tr { td { (u) } td { (r) } td { (unit) } td {
                    @if *waits { "待审批（等待全县主管审批）" } @else if *disabled { "已停用" } @else {
                        form class="inline" method="post" action={ "/staff/admin/users/" (u) "/disable" } {
                            input type="hidden" name="csrf" value=(csrf);
                            button type="submit" class="link" { "停用 " (u) }
                        }
                    }
                } } } }
            } }
            form method="post" action="/staff/admin/users" {
                input type="hidden" name="csrf" value=(csrf);
                div class="field" { label for="new-username" { "用户名" } input type="text" id="new-username" name="username" required; }
                div class="field" { label for="new-role" { "角色" } select id="new-role" name="role" {
                    option value="officer" { "民警（officer）" } option value="supervisor" { "主管（supervisor）" } option value="finance" { "财务（finance）" }
                    option value="admin" { "管理员（admin）" } option value="auditor" { "审计员（auditor）" }
                    option value="liaison" { "乡镇联络员（liaison）" } } }
                p class="hint" { "民警和主管账号可以阅读线索：创建后处于“待审批”状态，须由一位全县主管（不是您）在“账号审批”页批准后才能登录。" }
                div class="field" { label for="new-unit" { "单位（主管不选则为全县）" } select id="new-unit" name="unit" { option value="" { "无" } @for (c, n, _) in &p.units { option value=(c) { (n) } } } }
                div class="field" { label for="new-township" { "乡镇代码（只用于乡镇联络员，如 hongshi）" } input type="text" id="new-township" name="township" pattern="[a-z_]{2,32}"; }
                button type="submit" { "创建账号" }
            }
            h2 { "单位" }
            div class="table-wrap" role="region" tabindex="0" aria-labelledby="tcap3" { table {
                caption id="tcap3" { "单位和所辖乡镇" }
                thead { tr { th scope="col" { "代码" } th scope="col" { "名称" } th scope="col" { "乡镇" } } }
                tbody { @for (c, n, t) in &p.units { tr { td { (c) } td { (n) } td { (t) } } } }
            } }
            h2 { "奖励政策" }
            ul {
                @for name in p.policy_documents {
                    li { a href={ "/staff/admin/policy/" (name) } { (crate::staff_rewards::policy_title(name)) } }
                }
            }
        },
    )
}

/// One account waiting for approval.
pub struct PendingRow {
    pub username: String,
    pub role: String,
    pub unit: String,
    pub created_by: String,
    /// The hour it was created (local time), or empty.
    pub created_hour: String,
}

pub struct PendingAccountsPage<'a> {
    pub nav: Nav<'a>,
    pub rows: Vec<PendingRow>,
    pub error: Option<String>,
    pub approved: Option<String>,
}

/// A county supervisor's list of accounts waiting for approval, each with an approve form.
pub fn pending_accounts(p: &PendingAccountsPage) -> Markup {
    let csrf = p.nav.csrf;
    layout(
        "账号审批",
        Some(&p.nav),
        html! {
            h1 { "账号审批" }
            p { "管理员创建的民警和主管账号可以阅读线索，须由一位没有参与创建的全县主管批准后才能登录。请先与创建人和账号使用人核实身份再批准。" }
            @if let Some(e) = &p.error { p class="error" role="alert" { (e) } }
            @if let Some(u) = &p.approved { p class="note" role="status" { "已批准 " (u) "：该账号现在可以登录。" } }
            @if p.rows.is_empty() {
                p { "没有待审批的账号。" }
            } @else {
                div class="table-wrap" role="region" tabindex="0" aria-labelledby="tcap-pending" { table {
                    caption id="tcap-pending" { "待审批的账号" }
                    thead { tr { th scope="col" { "用户名" } th scope="col" { "角色" } th scope="col" { "单位" } th scope="col" { "创建人" } th scope="col" { "创建时间（小时）" } th scope="col" { "操作" } } }
                    tbody { @for r in &p.rows { tr {
                        td { (r.username) } td { (r.role) } td { (r.unit) } td { (r.created_by) } td { (r.created_hour) }
                        td { form class="inline" method="post" action={ "/staff/accounts/" (r.username) "/approve" } {
                            input type="hidden" name="csrf" value=(csrf);
                            button type="submit" { "批准 " (r.username) }
                        } }
                    } } }
                } }
            }
        },
    )
}

pub struct AuditPage<'a> {
    pub nav: Nav<'a>,
    pub rows: Vec<(i64, String, String, String, String, String)>,
    pub actor: &'a str,
    pub action: &'a str,
    pub next_link: Option<String>,
}

pub fn audit(p: &AuditPage) -> Markup {
    layout(
        "审计日志",
        Some(&p.nav),
        html! {
            h1 { "审计日志" }
            form method="get" action="/staff/audit" class="filters" {
                div class="field" { label for="a-actor" { "操作人（如 staff:wang）" } input type="text" id="a-actor" name="actor" value=(p.actor); }
                div class="field" { label for="a-action" { "操作（前缀，如 tip.）" } input type="text" id="a-action" name="action" value=(p.action); }
                button type="submit" { "筛选" }
            }
            div class="table-wrap" role="region" tabindex="0" aria-labelledby="tcap4" { table {
                caption id="tcap4" { "审计记录（不含线索内容）" }
                thead { tr { th scope="col" { "序号" } th scope="col" { "时间（UTC）" } th scope="col" { "操作人" } th scope="col" { "操作" } th scope="col" { "对象" } th scope="col" { "结果" } } }
                tbody { @for (seq, at, actor, action, object, outcome) in &p.rows { tr { td { (seq) } td { (at) } td { (actor) } td { (action) } td { (object) } td { (outcome) } } } }
            } }
            @if let Some(next) = &p.next_link { p { a href=(next) { "更早的记录" } } }
        },
    )
}

/// `error` is (field, message): `current` or `new`.
pub fn password(nav: &Nav, error: Option<(&str, &str)>) -> Markup {
    let on = |f: &str| error.filter(|(field, _)| *field == f);
    layout(
        "修改密码",
        Some(nav),
        html! {
            h1 { "修改密码" }
            @if let Some((f, e)) = error { p class="error" role="alert" id={ (f) "-error" } { (e) } }
            p { "修改后所有已登录的会话都会退出。新密码至少 12 个字符。" }
            form method="post" action="/staff/password" {
                input type="hidden" name="csrf" value=(nav.csrf);
                div class="field" { label for="current" { "当前密码" } input type="password" id="current" name="current" autocomplete="current-password" required aria-invalid=[on("current").map(|_| "true")] aria-describedby=[on("current").map(|_| "current-error")]; }
                div class="field" { label for="new" { "新密码" } input type="password" id="new" name="new" autocomplete="new-password" minlength="12" required aria-invalid=[on("new").map(|_| "true")] aria-describedby=[on("new").map(|_| "new-error")]; }
                button type="submit" { "修改密码" }
            }
        },
    )
}
