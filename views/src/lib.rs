//! The public pages as pure functions from view models to HTML. No database, no HTTP: the web
//! layer fills the models, these render them. Pages work without JavaScript (there is none),
//! on a narrow phone screen, and with a screen reader: every control has a label, hints and
//! errors are tied to their fields with `aria-describedby`, and an error summary links to them.

pub mod charts;
pub mod reports;
pub mod rewards;
pub mod strings;
pub mod thread;

pub use maud;
use maud::{DOCTYPE, Markup, html};
pub use strings::{Lang, Strings};

pub struct Choice {
    pub code: &'static str,
    pub label: &'static str,
}

#[derive(Default, Clone)]
pub struct FormValues {
    pub category: String,
    pub township: String,
    pub description: String,
    pub location: String,
    pub occurred_at: String,
    pub people: String,
    pub vehicles: String,
    pub county_only: bool,
}

/// The office's contact details, in the page language (from the configuration).
#[derive(Clone, Default)]
pub struct Office {
    pub name: String,
    pub hotlines: Vec<String>,
    pub address: String,
    pub hours: String,
    pub payout: String,
}

/// The office's contact box: numbers to call (with 110 for emergencies), address, hours and
/// where rewards are collected.
pub fn office_box(lang: Lang, o: &Office) -> Markup {
    let (title, phone, emergency, address, hours, payout) = match lang {
        Lang::Zh => (
            "联系我们",
            "举报电话",
            "（紧急情况请拨打 110）",
            "地址",
            "办公时间",
            "领取奖励",
        ),
        Lang::En => (
            "Contact the office",
            "Hotline",
            " (emergencies: call 110)",
            "Address",
            "Opening hours",
            "Collecting a reward",
        ),
    };
    let dialable = |h: &str| {
        !h.is_empty()
            && h.chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' '))
    };
    html! {
        section class="office" aria-labelledby="office-title" {
            h2 id="office-title" { (title) }
            p { (o.name) }
            dl {
                dt { (phone) }
                dd {
                    @for (i, h) in o.hotlines.iter().enumerate() {
                        @if i > 0 { " / " }
                        @if dialable(h) {
                            a class="nowrap" href={ "tel:" (h.replace(' ', "")) } { (h) }
                        } @else { (h) }
                    }
                    (emergency)
                }
                dt { (address) }
                dd { (o.address) }
                dt { (hours) }
                dd { (keep_whole(&o.hours)) }
                dt { (payout) }
                dd { (o.payout) }
            }
        }
    }
}

pub struct FieldErr {
    pub field: String,
    pub code: String,
}

pub struct ReportForm<'a> {
    pub lang: Lang,
    pub categories: Vec<Choice>,
    pub townships: Vec<Choice>,
    pub values: FormValues,
    pub errors: Vec<FieldErr>,
    pub general_error: Option<&'a str>,
    /// `None` when captchas are off.
    pub captcha_id: Option<String>,
    pub form_token: String,
    /// Files chosen but not kept (a wrong captcha, a new captcha): the page asks for them again.
    pub files_again: usize,
    /// Files held since the form came back (issue 16): sent with it unless dropped.
    pub held: Vec<HeldFile>,
    pub office: Office,
}

/// A file held for the form, named by a neutral label (never its file name).
pub struct HeldFile {
    pub id: String,
    pub photo: bool,
    /// Its place in the list, from 1.
    pub n: usize,
}

/// `here` is the path the language switch links to; `None` hides the switch (the receipt page,
/// where leaving would lose the receipt shown only once).
fn page(lang: Lang, title: &str, here: Option<&str>, captcha_off: bool, body: Markup) -> Markup {
    let t = lang.t();
    let other = lang.other();
    html! {
        (DOCTYPE)
        html lang=(lang.html_lang()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (title) " - " (t.site) }
                link rel="stylesheet" href="/static/style.css";
            }
            body {
                a class="skip" href="#main" { (t.skip) }
                header {
                    p class="site" { a href={ "/?lang=" (lang.code()) } { (t.site) } }
                    nav aria-label=(if lang == Lang::Zh { "语言和页面" } else { "Language and pages" }) {
                        a href={ "/?lang=" (lang.code()) } { (t.report_title) }
                        " · "
                        a href={ "/status?lang=" (lang.code()) } { (t.check_status) }
                        @if let Some(here) = here {
                            " · "
                            a href={ (here) "?lang=" (other.code()) } lang=(other.html_lang()) hreflang=(other.html_lang()) { (t.switch_to) }
                        }
                    }
                }
                @if captcha_off {
                    p class="warning" role="note" { (t.captcha_off) }
                }
                main id="main" { (body) }
                footer { p { (t.footer) } }
            }
        }
    }
}

fn error_for<'a>(errors: &'a [FieldErr], field: &str) -> Option<&'a FieldErr> {
    errors.iter().find(|e| e.field == field)
}

fn described_by(field: &str, has_hint: bool, has_error: bool) -> String {
    let mut ids = Vec::new();
    if has_hint {
        ids.push(format!("{field}-hint"));
    }
    if has_error {
        ids.push(format!("{field}-error"));
    }
    ids.join(" ")
}

/// Label, hint and error for one field; `control` renders the input itself.
fn field(
    t: &Strings,
    errors: &[FieldErr],
    name: &str,
    label: &str,
    hint: Option<&str>,
    required: bool,
    control: impl FnOnce(String, bool) -> Markup,
) -> Markup {
    let err = error_for(errors, name);
    let describedby = described_by(name, hint.is_some(), err.is_some());
    html! {
        div class={ "field" @if err.is_some() { " has-error" } } {
            label for=(name) {
                (label)
                " "
                span class="tag" { "(" (if required { t.required } else { t.optional }) ")" }
            }
            @if let Some(h) = hint { p class="hint" id={ (name) "-hint" } { (h) } }
            @if let Some(e) = err { p class="error" id={ (name) "-error" } { (t.field_error(&e.field, &e.code)) } }
            (control(describedby, err.is_some()))
        }
    }
}

fn text_area(
    name: &str,
    value: &str,
    rows: u32,
    maxlength: usize,
    required: bool,
    describedby: String,
    invalid: bool,
) -> Markup {
    html! {
        textarea id=(name) name=(name) rows=(rows) maxlength=(maxlength) required[required]
            aria-describedby=(describedby) aria-invalid=[invalid.then_some("true")] { (value) }
    }
}

fn select(
    name: &str,
    choices: &[Choice],
    selected: &str,
    placeholder: &str,
    describedby: String,
    invalid: bool,
) -> Markup {
    html! {
        select id=(name) name=(name) required aria-describedby=(describedby) aria-invalid=[invalid.then_some("true")] {
            option value="" selected[selected.is_empty()] { (placeholder) }
            @for c in choices {
                option value=(c.code) selected[c.code == selected] { (c.label) }
            }
        }
    }
}

pub fn report_form(f: &ReportForm) -> Markup {
    let t = f.lang.t();
    let v = &f.values;
    let e = &f.errors[..];
    let files_again = html! { (t.files_again.0) (f.files_again) (t.files_again.1) };
    let body = html! {
        h1 { (t.report_title) }
        @if f.errors.is_empty() && f.general_error.is_none() && f.files_again > 0 {
            p class="note" role="status" { (files_again) }
        }
        @if !f.errors.is_empty() || f.general_error.is_some() {
            div class="error-summary" role="alert" aria-labelledby="error-summary-title" tabindex="-1" autofocus {
                h2 id="error-summary-title" { (t.errors_title) }
                ul {
                    @if let Some(g) = f.general_error { li { (g) } }
                    @for err in &f.errors {
                        li { a href={ "#" (err.field) } { (t.field_error(&err.field, &err.code)) } }
                    }
                    @if f.files_again > 0 {
                        li { a href="#attachment" { (files_again) } }
                    }
                }
            }
        }
        p { (t.report_intro) }
        details class="keep" open[f.errors.is_empty()] {
            summary { (t.keep_title) }
            ul { @for line in t.keep { li { (line) } } }
        }
        form method="post" action={ "/?lang=" (f.lang.code()) } enctype="multipart/form-data" novalidate {
            // Enter in a text field sends the form: the first submit button is the default one,
            // and the "new captcha" button comes before the real one.
            button type="submit" hidden tabindex="-1" { (t.submit) }
            input type="hidden" name="form_token" value=(f.form_token);
            input type="hidden" name="lang" value=(f.lang.code());
            (field(t, e, "category", t.category, None, true, |d, i| select("category", &f.categories, &v.category, t.choose, d, i)))
            (field(t, e, "township", t.township, Some(t.township_hint), true, |d, i| select("township", &f.townships, &v.township, t.choose, d, i)))
            (field(t, e, "description", t.description, Some(t.description_hint), true, |d, i| text_area("description", &v.description, 8, 10_000, true, d, i)))
            (field(t, e, "location", t.location, Some(t.location_hint), false, |d, i| text_area("location", &v.location, 2, 1_000, false, d, i)))
            (field(t, e, "occurred_at", t.occurred_at, Some(t.occurred_at_hint), false, |d, i| html! {
                input type="text" id="occurred_at" name="occurred_at" value=(v.occurred_at) maxlength="200" aria-describedby=(d) aria-invalid=[i.then_some("true")];
            }))
            (field(t, e, "people", t.people, Some(t.people_hint), false, |d, i| text_area("people", &v.people, 3, 4_000, false, d, i)))
            (field(t, e, "vehicles", t.vehicles, Some(t.vehicles_hint), false, |d, i| text_area("vehicles", &v.vehicles, 2, 2_000, false, d, i)))
            div class="field checkbox" {
                input type="checkbox" id="county_only" name="county_only" value="on" checked[v.county_only] aria-describedby="county_only-hint";
                label for="county_only" { (t.county_only) }
                p class="hint" id="county_only-hint" { (t.county_only_hint) }
            }
            @if let Some(id) = &f.captcha_id {
                fieldset class="captcha" {
                    legend { (t.captcha) " " span class="tag" { "(" (t.required) ")" } }
                    input type="hidden" name="captcha_id" value=(id);
                    img src={ "/captcha/" (id) ".png" } alt=(t.captcha_img_alt) width="240" height="100";
                    p {
                        (t.captcha_audio) ": "
                        audio controls preload="none" src={ "/captcha/" (id) ".wav?lang=" (f.lang.code()) } {
                            a href={ "/captcha/" (id) ".wav?lang=" (f.lang.code()) } { (t.captcha_audio) }
                        }
                    }
                    // Posts the form as it is (everything typed comes back) for a fresh captcha.
                    p { button type="submit" class="plain" formaction={ "/?lang=" (f.lang.code()) "&refresh=1" } formnovalidate { (t.captcha_new) } }
                    (field(t, e, "captcha_answer", t.captcha, Some(t.captcha_hint), true, |d, i| html! {
                        input type="text" id="captcha_answer" name="captcha_answer" inputmode="numeric" autocomplete="off" maxlength="10" required aria-describedby=(d) aria-invalid=[i.then_some("true")];
                    }))
                }
            }
            // Files come after the captcha: the server checks it before reading any file.
            (field(t, e, "attachment", t.attachments, Some(t.attachments_hint), false, |d, i| html! {
                @if !f.held.is_empty() {
                    // Before the file input: the server reads these before any file.
                    div class="held" {
                        p id="held-title" { (t.held_title) }
                        ul aria-labelledby="held-title" {
                            @for h in &f.held {
                                @let (a, b) = if h.photo { t.held_photo } else { t.held_file };
                                li class="checkbox" {
                                    span class="held-name" { (a) (h.n) (b) }
                                    " "
                                    input type="checkbox" id={ "drop-" (h.n) } name="drop_held" value=(h.id);
                                    label for={ "drop-" (h.n) } { (t.held_remove) " " span class="visually-hidden" { (a) (h.n) } }
                                }
                            }
                        }
                    }
                }
                @if f.files_again > 0 { p class="error" id="attachment-again" { (files_again) } }
                input type="file" id="attachment" name="attachment" multiple accept="image/jpeg,image/png,image/webp,text/plain" aria-describedby={ (d) @if f.files_again > 0 { " attachment-again" } } aria-invalid=[i.then_some("true")];
            }))
            button type="submit" { (t.submit) }
        }
        (office_box(f.lang, &f.office))
    };
    page(
        f.lang,
        t.report_title,
        Some("/"),
        f.captcha_id.is_none(),
        body,
    )
}

/// Text with its dates, hours and amounts kept whole at phone width: every run of digits joined
/// by `-`, `:`, `.` or `/` (`2027-02-03`, `14:00`) goes in a `nowrap` span, so a line never
/// ends at "2027-02-".
pub fn keep_whole(text: &str) -> Markup {
    let mut parts: Vec<(bool, String)> = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            let mut run = String::from(c);
            while let Some(&n) = chars.peek() {
                let joins = matches!(n, '-' | ':' | '.' | '/');
                if n.is_ascii_digit() || joins {
                    run.push(n);
                    chars.next();
                } else {
                    break;
                }
            }
            // A joiner at the end belongs to the text after it.
            let tail: String = {
                let trimmed = run.trim_end_matches(['-', ':', '.', '/']);
                let t = run[trimmed.len()..].to_string();
                run.truncate(trimmed.len());
                t
            };
            let whole = run.contains(['-', ':', '.', '/']);
            parts.push((whole, run));
            if !tail.is_empty() {
                parts.push((false, tail));
            }
        } else {
            match parts.last_mut() {
                Some((false, s)) => s.push(c),
                _ => parts.push((false, c.to_string())),
            }
        }
    }
    html! {
        @for (whole, p) in &parts {
            @if *whole { span class="nowrap" { (p) } } @else { (p) }
        }
    }
}

/// A short phrase ("已收到，等待处理") broken only at its punctuation, never mid-word.
pub fn phrase(text: &str) -> Markup {
    html! { span class="phrase" { (text) } }
}

pub fn receipt_page(lang: Lang, receipt: &str, replayed: bool) -> Markup {
    let t = lang.t();
    receipt_shown(lang, t.receipt_title, t.receipt_lead, receipt, replayed)
}

/// The new receipt after a rekey: shown once, like the first.
pub fn rekey_page(lang: Lang, receipt: &str) -> Markup {
    let (title, lead) = rewards::rekey_done_text(lang);
    receipt_shown(lang, title, lead, receipt, false)
}

fn receipt_shown(lang: Lang, title: &str, lead: &str, receipt: &str, replayed: bool) -> Markup {
    let t = lang.t();
    let body = html! {
        h1 { (title) }
        @if replayed { p class="note" { (t.receipt_replayed) } }
        p { (lead) }
        p class="receipt" {
            span class="visually-hidden" { (t.receipt_label) ": " }
            strong id="receipt" { (receipt) }
        }
        ul class="advice" { @for line in t.receipt_advice { li { (line) } } }
        p { a href={ "/status?lang=" (lang.code()) } { (t.check_status) } }
    };
    page(lang, title, None, false, body)
}

pub struct StatusView {
    pub label: &'static str,
    pub updated: String,
    pub rewards: Vec<rewards::RewardNotice>,
    /// The receipt as typed, for the rekey form (the page is never cached).
    pub receipt: String,
    pub rekey_suggested: bool,
    pub messages: Vec<thread::ThreadLine>,
    /// The reporter's message was just stored.
    pub message_sent: bool,
    /// The message form's one-time token.
    pub message_token: String,
}

pub enum StatusOutcome<'a> {
    Form,
    /// A malformed receipt: the error, and what was typed (kept so it can be corrected).
    Invalid(FieldErr, String),
    Unknown,
    Found(&'a StatusView),
}

pub fn status_page(lang: Lang, outcome: StatusOutcome, office: &Office) -> Markup {
    let t = lang.t();
    let err = match &outcome {
        StatusOutcome::Invalid(e, _) => vec![FieldErr {
            field: e.field.clone(),
            code: e.code.clone(),
        }],
        _ => Vec::new(),
    };
    let typed = match &outcome {
        StatusOutcome::Invalid(_, typed) => Some(typed.as_str()),
        _ => None,
    };
    let body = html! {
        h1 { (t.status_title) }
        @match &outcome {
            StatusOutcome::Found(s) => {
                div class="status" role="status" {
                    h2 { (t.status_result) (t.colon) (phrase(s.label)) }
                    p { (t.status_updated) (t.colon) span class="nowrap" { (s.updated) } }
                }
                (rewards::section(lang, &s.rewards, &s.receipt, s.rekey_suggested, office))
                (thread::section(lang, &s.messages, &s.receipt, &s.message_token, s.message_sent))
            }
            StatusOutcome::Unknown => {
                div class="status" role="status" { p { (t.status_unknown) } }
            }
            _ => {}
        }
        p { (t.status_intro) }
        form method="post" action={ "/status?lang=" (lang.code()) } {
            input type="hidden" name="lang" value=(lang.code());
            (field(t, &err, "receipt", t.receipt_field, Some(t.receipt_hint), true, |d, i| html! {
                input type="text" id="receipt" name="receipt" autocomplete="off" spellcheck="false" inputmode="numeric"
                    maxlength="64" required aria-describedby=(d) aria-invalid=[i.then_some("true")] value=[typed];
            }))
            button type="submit" { (t.status_submit) }
        }
        p { a href={ "/?lang=" (lang.code()) } { (t.new_report) } }
        (office_box(lang, office))
    };
    let title = if err.is_empty() {
        t.status_title.to_string()
    } else {
        format!("{}{}", t.error_prefix, t.status_title)
    };
    page(lang, &title, Some("/status"), false, body)
}

pub fn error_page(lang: Lang, message: &str) -> Markup {
    let t = lang.t();
    let body = html! {
        h1 { (t.error_title) }
        p { (message) }
        p { a href={ "/?lang=" (lang.code()) } { (t.report_title) } }
    };
    page(lang, t.error_title, Some("/"), false, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_hours_are_kept_whole() {
        let m = keep_whole("请在 2027-02-03 前领取，14:00 以后。共 500 元。").into_string();
        assert_eq!(
            m,
            "请在 <span class=\"nowrap\">2027-02-03</span> 前领取，<span class=\"nowrap\">14:00</span> 以后。共 500 元。"
        );
        assert_eq!(keep_whole("至 2027-").into_string(), "至 2027-");
    }

    #[test]
    fn errors_are_tied_to_their_fields() {
        let f = ReportForm {
            lang: Lang::En,
            categories: vec![Choice {
                code: "other",
                label: "Other",
            }],
            townships: vec![],
            values: FormValues {
                description: "<script>x</script>".into(),
                ..Default::default()
            },
            errors: vec![FieldErr {
                field: "category".into(),
                code: "required".into(),
            }],
            general_error: None,
            captcha_id: Some("abc".into()),
            form_token: "tok".into(),
            files_again: 0,
            held: Vec::new(),
            office: Office::default(),
        };
        let html = report_form(&f).into_string();
        assert!(html.contains(r#"aria-describedby="category-error""#));
        assert!(html.contains(r##"href="#category""##));
        assert!(html.contains("&lt;script&gt;"), "user text is escaped");
        assert!(html.contains(r#"lang="en""#));
    }
}
pub mod returns;
pub mod staff;
pub mod staff_finance;
pub mod staff_layout;
pub mod staff_links;
pub mod staff_rewards;
