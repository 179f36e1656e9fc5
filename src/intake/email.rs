//! Tips by email (DESIGN.md sections 2 and 4, issue 5). One RFC 5322 message, from a mail
//! server's pipe (`tipline ingest-email`) or the IMAP poller, becomes a tip through the one
//! intake pipeline, or a reporter message on the tip whose thread token it brings back (our
//! Message-ID in its In-Reply-To/References; never the sender's address).
//!
//! What is kept: the subject and the text (HTML converted to text, never rendered), attachments
//! through the same allowlist and re-encoding as the web form. The sender's address (Reply-To,
//! else From) goes only into the contact envelope sealed to the relay key; staff never see it and
//! it is never logged. Every other header (Received, X-Originating-IP, Message-ID, Date, the
//! client's name...) is dropped: it is read by the parser and never stored.
//!
//! Hostile mail is refused before anything is written: the size cap, a cap on the header block,
//! on MIME nesting and on the number of parts, text that does not decode, no sender, automatic
//! mail (bounces, out-of-office replies, lists: they would loop with our acknowledgement). The
//! parser runs under `catch_unwind`, so a bug in it refuses one message instead of ending the
//! process. A tip, its attachments, its contact envelope and the acknowledgement commit in one
//! transaction, or none of them do.

use super::attachment::{AttachmentError, SealedAttachment, seal_file};
use super::catalog::UNKNOWN_TOWNSHIP;
use super::{Channel, IdempotencyKey, Intake, IntakeError, NewTip, Submitted, TipFields};
use crate::config::Config;
use crate::crypto::receipt::Receipt;
use crate::crypto::seal::aead_seal;
use crate::db::schema::idempotency;
use crate::db::{DbError, Pool, now_unix};
use crate::notify::contact::{Contact, email_thread_alias, tip_for_alias};
use crate::triage::messages::{Direction, MAX_MESSAGE_CHARS, MessageError, Sealing, append};
use diesel::prelude::*;
use mail_parser::{Address, Message, MessageParser, PartType};
use zeroize::Zeroizing;

/// Largest header block of the message itself. Real mail has a few KiB (a long Received chain
/// and DKIM signatures stay under 64 KiB); a megabyte-long header is an attack on the parser.
pub const MAX_HEADER_BYTES: usize = 256 * 1024;
/// Deepest MIME nesting, counting attached messages. Mail clients nest 3 or 4 levels
/// (mixed > alternative > related > parts); forwarded mail adds a few.
pub const MAX_DEPTH: usize = 12;
/// Most MIME parts in one message, attached messages included.
pub const MAX_PARTS: usize = 500;
/// Longest reply kept from a reporter who answers by mail (split into messages of
/// `MAX_MESSAGE_CHARS`).
pub const MAX_REPLY_CHARS: usize = 10_000;

/// Why a message was refused. The text is safe to log and to print to the mail server (which
/// may put it into a bounce): it never holds content or an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the message is larger than TIPLINE_MAX_EMAIL_BYTES")]
    TooLarge,
    #[error("the header block is too large")]
    HeaderTooLarge,
    #[error("the message could not be parsed")]
    Malformed,
    #[error("MIME parts are nested too deeply")]
    TooDeep,
    #[error("the message has too many MIME parts")]
    TooManyParts,
    #[error("the message has no usable From or Reply-To address")]
    NoSender,
    #[error("automatic mail (bounce, auto-reply or list mail) is not a tip")]
    Automatic,
    #[error("the text could not be decoded (unknown or wrong charset)")]
    Undecodable,
    #[error("the message has no text and no attachment")]
    Empty,
    #[error("the text is too long")]
    TooLong,
}

impl Refusal {
    /// A stable code for logs and metrics.
    pub fn code(self) -> &'static str {
        match self {
            Refusal::TooLarge => "too_large",
            Refusal::HeaderTooLarge => "header_too_large",
            Refusal::Malformed => "malformed",
            Refusal::TooDeep => "too_deep",
            Refusal::TooManyParts => "too_many_parts",
            Refusal::NoSender => "no_sender",
            Refusal::Automatic => "automatic",
            Refusal::Undecodable => "undecodable",
            Refusal::Empty => "empty",
            Refusal::TooLong => "too_long",
        }
    }
}

/// What is kept of a message. No `Debug`: it holds the sender's address and the tip.
pub struct ParsedMail {
    pub(crate) sender: Zeroizing<String>,
    pub(crate) subject: String,
    pub(crate) text: String,
    pub(crate) files: Vec<File>,
    /// Thread tokens found in In-Reply-To and References (our Message-IDs `<tl-TOKEN.…@…>`).
    pub(crate) threads: Vec<String>,
    /// Whether the receiving server's `Authentication-Results` say DMARC passed, by authserv-id:
    /// read later against the configured id.
    pub(crate) auth_results: Vec<String>,
}

/// Most thread tokens read from one message (References grows with a long thread).
const MAX_THREAD_TOKENS: usize = 20;
/// Most `Authentication-Results` headers read.
const MAX_AUTH_RESULTS: usize = 20;

/// Our thread tokens in a Message-ID list: `tl-` and 32 lowercase hex digits.
fn thread_tokens(value: &str, out: &mut Vec<String>) {
    let prefix = crate::notify::mail::THREAD_PREFIX;
    let mut rest = value;
    while let Some(i) = rest.find(prefix) {
        let after = &rest[i + prefix.len()..];
        let token: String = after.chars().take(32).collect();
        if token.len() == 32
            && token
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            && !out.contains(&token)
            && out.len() < MAX_THREAD_TOKENS
        {
            out.push(token);
        }
        rest = after;
    }
}

/// Whether the topmost `Authentication-Results` header stamped with `authserv_id` reports
/// `dmarc=pass` (RFC 8601; RFC 7489 section 11.2). Headers with another authserv-id are
/// ignored: anyone can write them. Our receiving server is expected to remove headers with its
/// own id that arrived from outside; the topmost one is the one it added.
pub fn dmarc_pass(results: &[String], authserv_id: &str) -> bool {
    let ours = results.iter().find(|r| {
        let id = r.split(';').next().unwrap_or_default().trim();
        // "mx.example.org 1" carries an optional version after the id.
        id.split_whitespace()
            .next()
            .is_some_and(|i| i.eq_ignore_ascii_case(authserv_id))
    });
    let Some(header) = ours else { return false };
    header.split(';').skip(1).any(|resinfo| {
        let r = resinfo.trim().to_ascii_lowercase();
        r.strip_prefix("dmarc")
            .map(str::trim_start)
            .and_then(|v| v.strip_prefix('='))
            .map(str::trim_start)
            .is_some_and(|v| {
                v.split(|c: char| c.is_whitespace() || c == '(')
                    .next()
                    .is_some_and(|x| x == "pass")
            })
    })
}

/// An attachment's bytes, wiped when dropped.
type File = Zeroizing<Vec<u8>>;

/// Length of the header block: up to the first empty line, or the whole message when there is
/// none. Only the first `MAX_HEADER_BYTES` are searched.
fn header_block_len(raw: &[u8]) -> usize {
    let window = &raw[..raw.len().min(MAX_HEADER_BYTES + 4)];
    let mut i = 0;
    while i < window.len() {
        if window[i] == b'\n' {
            match window.get(i + 1) {
                Some(b'\n') => return i,
                Some(b'\r') if window.get(i + 2) == Some(&b'\n') => return i,
                _ => {}
            }
        }
        i += 1;
    }
    raw.len()
}

/// Parses a message under the limits. `own_address` is the office's sending address: mail that
/// claims to come from it is refused (a loop, or a forgery).
pub fn parse(raw: &[u8], own_address: &str) -> Result<ParsedMail, Refusal> {
    if header_block_len(raw) > MAX_HEADER_BYTES {
        return Err(Refusal::HeaderTooLarge);
    }
    // Every MIME part starts at a line beginning with "--". Counting them first bounds what
    // the parser allocates: 25 MiB of empty parts would otherwise cost it about 20 times that.
    let boundary_lines = raw
        .windows(3)
        .filter(|w| w[0] == b'\n' && w[1] == b'-' && w[2] == b'-')
        .count();
    if boundary_lines > 4 * MAX_PARTS {
        return Err(Refusal::TooManyParts);
    }
    std::panic::catch_unwind(|| parse_unchecked(raw, own_address))
        .unwrap_or(Err(Refusal::Malformed))
}

fn parse_unchecked(raw: &[u8], own_address: &str) -> Result<ParsedMail, Refusal> {
    let msg = MessageParser::default()
        .parse(raw)
        .ok_or(Refusal::Malformed)?;
    if msg.parts.is_empty() {
        return Err(Refusal::Malformed);
    }
    if is_automatic(&msg) {
        return Err(Refusal::Automatic);
    }
    let sender = sender_of(&msg).ok_or(Refusal::NoSender)?;
    let local = sender.split('@').next().unwrap_or_default();
    if sender.eq_ignore_ascii_case(own_address)
        || local.eq_ignore_ascii_case("mailer-daemon")
        || local.eq_ignore_ascii_case("postmaster")
    {
        return Err(Refusal::Automatic);
    }
    let subject = msg.subject().unwrap_or_default().trim().to_string();
    if subject.contains(char::REPLACEMENT_CHARACTER) {
        return Err(Refusal::Undecodable);
    }
    let mut threads = Vec::new();
    let mut auth_results = Vec::new();
    for (name, value) in msg.headers_raw() {
        if name.eq_ignore_ascii_case("In-Reply-To") || name.eq_ignore_ascii_case("References") {
            thread_tokens(value, &mut threads);
        } else if name.eq_ignore_ascii_case("Authentication-Results")
            && auth_results.len() < MAX_AUTH_RESULTS
        {
            // Unfolded: a long header continues on indented lines.
            auth_results.push(value.split_whitespace().collect::<Vec<_>>().join(" "));
        }
    }
    let mut out = ParsedMail {
        sender: Zeroizing::new(sender),
        subject,
        text: String::new(),
        files: Vec::new(),
        threads,
        auth_results,
    };
    let mut parts = 0;
    collect(&msg, 0, &mut parts, &mut out)?;
    Ok(out)
}

/// RFC 3834 `Auto-Submitted`, the older `Precedence` and `X-Autoreply` conventions, mailing
/// lists and delivery reports (bounces).
fn is_automatic(msg: &Message) -> bool {
    let header = |name: &'static str| msg.header_raw(name).map(|v| v.trim().to_ascii_lowercase());
    if header("Auto-Submitted").is_some_and(|v| !v.starts_with("no")) {
        return true;
    }
    if header("Precedence").is_some_and(|v| matches!(v.as_str(), "bulk" | "junk" | "list")) {
        return true;
    }
    if [
        "X-Autoreply",
        "X-Autorespond",
        "List-Id",
        "List-Unsubscribe",
    ]
    .iter()
    .any(|h| header(h).is_some())
    {
        return true;
    }
    header("Content-Type").is_some_and(|v| v.starts_with("multipart/report"))
}

/// Reply-To if present, else From: where the reporter wants answers. Checked as an address the
/// outbox can send to.
fn sender_of(msg: &Message) -> Option<String> {
    fn first(a: &Address) -> Option<String> {
        let raw = a.first()?.address()?.trim();
        let parsed: lettre::Address = raw.parse().ok()?;
        Some(parsed.to_string())
    }
    msg.reply_to()
        .and_then(first)
        .or_else(|| msg.from().and_then(first))
}

/// Depth of the MIME tree of one message (attached messages are counted by `collect`).
fn mime_depth(msg: &Message) -> Result<usize, Refusal> {
    let mut deepest = 0;
    let mut stack = vec![(0u32, 1usize)];
    let mut visited = 0;
    while let Some((id, depth)) = stack.pop() {
        visited += 1;
        if visited > msg.parts.len() || depth > MAX_DEPTH {
            return Err(Refusal::TooDeep);
        }
        deepest = deepest.max(depth);
        if let Some(PartType::Multipart(children)) = msg.parts.get(id as usize).map(|p| &p.body) {
            stack.extend(children.iter().map(|c| (*c, depth + 1)));
        }
    }
    Ok(deepest)
}

fn push_text(out: &mut String, text: &str) -> Result<(), Refusal> {
    if text.contains(char::REPLACEMENT_CHARACTER) {
        return Err(Refusal::Undecodable);
    }
    let text = text.trim();
    if !text.is_empty() {
        if !out.is_empty() {
            out.push_str("\n\n");
        }
        out.push_str(text);
    }
    Ok(())
}

/// Text bodies in order, then attachments; an attached message adds its subject and text
/// (never its headers) and its own attachments.
fn collect(
    msg: &Message,
    depth: usize,
    parts: &mut usize,
    out: &mut ParsedMail,
) -> Result<(), Refusal> {
    *parts += msg.parts.len();
    if *parts > MAX_PARTS {
        return Err(Refusal::TooManyParts);
    }
    if depth + mime_depth(msg)? > MAX_DEPTH {
        return Err(Refusal::TooDeep);
    }
    for (i, id) in msg.text_body.iter().enumerate() {
        // HTML goes through our own filter first (issue 13 item 11), not straight to the
        // parser's `html_to_text`.
        if let Some(PartType::Html(h)) = msg.parts.get(*id as usize).map(|p| &p.body) {
            push_text(&mut out.text, &html_text(h))?;
        } else if let Some(text) = msg.body_text(i) {
            push_text(&mut out.text, &text)?;
        }
    }
    for id in &msg.attachments {
        let Some(part) = msg.parts.get(*id as usize) else {
            continue;
        };
        match &part.body {
            PartType::Binary(b) | PartType::InlineBinary(b) => {
                if !b.is_empty() {
                    out.files.push(Zeroizing::new(b.to_vec()));
                }
            }
            PartType::Text(t) => {
                if !t.trim().is_empty() {
                    out.files.push(Zeroizing::new(t.as_bytes().to_vec()));
                }
            }
            // An HTML file becomes text: we never keep markup that a browser would render.
            PartType::Html(h) => {
                let text = html_text(h);
                if !text.trim().is_empty() {
                    out.files.push(Zeroizing::new(text.into_bytes()));
                }
            }
            PartType::Message(inner) => {
                let subject = inner.subject().unwrap_or_default().trim();
                let heading = format!("--- 附带的邮件 / attached message: {subject} ---");
                push_text(&mut out.text, &heading)?;
                collect(inner, depth + 1, parts, out)?;
            }
            PartType::Multipart(_) => {}
        }
    }
    Ok(())
}

/// Elements whose content is never text a reader sees: dropped whole, whatever their
/// attributes. mail-parser 0.11's `html_to_text` drops `<style>` and `<script>` only when the tag
/// has no attributes, so `<style type="text/css">@import url(https://tracker...)</style>` (what
/// "email privacy tester" mails send) reached staff as text.
const HIDDEN_ELEMENTS: [&str; 7] = [
    "head", "style", "script", "title", "template", "noscript", "xml",
];

/// HTML to the text staff read. The rule: comments, and every element of `HIDDEN_ELEMENTS` with
/// everything inside it, are removed (tag names are matched case-insensitively, with any
/// attributes; an element that is never closed runs to the end, a head to `<body`); what
/// remains goes through mail-parser's converter, which drops the other tags and decodes
/// entities.
pub(crate) fn html_text(html: &str) -> String {
    // ASCII lowercasing keeps every byte offset, so `lower` indexes `html`.
    let lower = html.to_ascii_lowercase();
    let mut kept = String::with_capacity(html.len());
    let mut pos = 0;
    while let Some(off) = lower[pos..].find('<') {
        let start = pos + off;
        kept.push_str(&html[pos..start]);
        let rest = &lower[start..];
        if let Some(comment) = rest.strip_prefix("<!--") {
            pos = match comment.find("-->") {
                Some(e) => start + 4 + e + 3,
                None => html.len(),
            };
            continue;
        }
        let hidden = HIDDEN_ELEMENTS.iter().find(|name| {
            rest[1..].starts_with(*name)
                && rest[1 + name.len()..]
                    .chars()
                    .next()
                    .is_none_or(|c| c == '>' || c == '/' || c.is_ascii_whitespace())
        });
        match hidden {
            Some(name) => {
                let close = format!("</{name}");
                pos = match rest.find(&close) {
                    Some(e) => match rest[e..].find('>') {
                        Some(g) => start + e + g + 1,
                        None => html.len(),
                    },
                    // HTML lets `</head>` be left out: the head then ends where the body
                    // starts, so the text is not lost with it.
                    None if *name == "head" => rest.find("<body").map_or(html.len(), |b| start + b),
                    None => html.len(),
                };
                // Keeps words on either side apart.
                kept.push(' ');
            }
            None => {
                kept.push('<');
                pos = start + 1;
            }
        }
    }
    kept.push_str(&html[pos..]);
    mail_parser::decoders::html::html_to_text(&kept)
}

fn is_digit(c: char) -> bool {
    c.is_ascii_digit() || ('０'..='９').contains(&c)
}

fn is_separator(c: char) -> bool {
    matches!(
        c,
        ' ' | '-' | '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{3000}' | '\u{FF0D}' | '\u{00A0}'
    )
}

pub(crate) const RECEIPT_REMOVED: &str = "[回执号已删除 / receipt removed]";

/// Replaces anything that reads as a valid receipt (20 digits in any grouping, with a correct
/// check digit) with a marker. Reporters quote our acknowledgement, or paste a receipt from the
/// web: staff must never learn a receipt (it would let them read the reporter's side and
/// collect a reward). Bank card numbers have 16 to 19 digits and are kept.
pub fn redact_receipts(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if !is_digit(chars[i]) {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        // A run of digit groups joined by single separators.
        let mut groups: Vec<(usize, usize)> = Vec::new();
        let mut j = i;
        loop {
            let start = j;
            while j < chars.len() && is_digit(chars[j]) {
                j += 1;
            }
            groups.push((start, j));
            if j + 1 < chars.len() && is_separator(chars[j]) && is_digit(chars[j + 1]) {
                j += 1;
            } else {
                break;
            }
        }
        // Replace every window of whole groups that holds exactly 20 digits and parses.
        let mut pos = i;
        let mut g = 0;
        while g < groups.len() {
            let mut digits = 0;
            let mut found = None;
            for (h, (s, e)) in groups.iter().enumerate().skip(g) {
                digits += e - s;
                if digits == 20 {
                    let candidate: String = chars[groups[g].0..*e].iter().collect();
                    if Receipt::parse(&candidate).is_ok() {
                        found = Some(h);
                    }
                    break;
                }
                if digits > 20 {
                    break;
                }
            }
            match found {
                Some(h) => {
                    out.extend(&chars[pos..groups[g].0]);
                    out.push_str(RECEIPT_REMOVED);
                    pos = groups[h].1;
                    g = h + 1;
                }
                None => g += 1,
            }
        }
        out.extend(&chars[pos..j]);
        i = j;
    }
    out
}

/// Cuts a reply at the quoted message: lines starting with `>`, and everything from the
/// "On ... wrote:" / "在 ... 写道：" / "原始邮件" / Outlook "From: ... Sent:" line on.
fn strip_quoted(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut kept = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim();
        let next = lines.get(i + 1).map(|l| l.trim()).unwrap_or_default();
        let quote_header = t.contains("Original Message")
            || t.contains("原始邮件")
            || (t.starts_with("On ") && t.ends_with("wrote:"))
            || (t.starts_with('在') && (t.ends_with("写道：") || t.ends_with("写道:")))
            || ((t.starts_with("From:") || t.starts_with("发件人"))
                && [
                    "Sent:",
                    "Date:",
                    "To:",
                    "发送时间",
                    "日期",
                    "时间",
                    "收件人",
                ]
                .iter()
                .any(|p| next.starts_with(p)));
        if quote_header {
            break;
        }
        if t.starts_with('>') {
            continue;
        }
        kept.push(*line);
    }
    kept.join("\n").trim().to_string()
}

/// "Re: 举报已收到 / ..." says nothing; a subject the reporter wrote is kept.
fn reply_subject(subject: &str) -> Option<String> {
    let mut s = subject.trim();
    loop {
        let lower = s.to_lowercase();
        let cut = [
            "re:",
            "re：",
            "aw:",
            "sv:",
            "fw:",
            "fwd:",
            "回复:",
            "回复：",
            "答复:",
            "答复：",
        ]
        .iter()
        .find(|p| lower.starts_with(*p))
        .map(|p| p.len());
        match cut {
            Some(n) if s.is_char_boundary(n) => s = s[n..].trim_start(),
            _ => break,
        }
    }
    let ours = ["email_receipt", "new_message", "message_notice"]
        .iter()
        .filter_map(|t| crate::notify::templates::render(t, &[]).map(|(subj, _)| subj))
        .any(|subj| subj == s);
    (!s.is_empty() && !ours).then(|| s.to_string())
}

fn truncate_chars(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// The reporter messages a reply becomes: quotes cut, receipts removed, at most
/// `MAX_REPLY_CHARS`, in pieces of `MAX_MESSAGE_CHARS`.
pub(crate) fn reply_messages(mail: &ParsedMail) -> Result<Vec<String>, Refusal> {
    let mut text = String::new();
    if let Some(subject) = reply_subject(&mail.subject) {
        text.push_str(&subject);
    }
    let body = strip_quoted(&mail.text);
    if !body.is_empty() {
        if !text.is_empty() {
            text.push_str("\n\n");
        }
        text.push_str(&body);
    }
    if !mail.files.is_empty() {
        if !text.is_empty() {
            text.push_str("\n\n");
        }
        text.push_str(&format!(
            "[回复中的 {n} 个附件未保存。/ {n} attachment(s) in this reply were not kept.]",
            n = mail.files.len()
        ));
    }
    let mut text = redact_receipts(&text);
    if text.trim().is_empty() {
        return Err(Refusal::Empty);
    }
    if text.chars().count() > MAX_REPLY_CHARS {
        text = format!(
            "{}\n[后文过长，未保存。/ The rest was too long and was not kept.]",
            truncate_chars(&text, MAX_REPLY_CHARS - 100)
        );
    }
    let chars: Vec<char> = text.chars().collect();
    Ok(chars
        .chunks(MAX_MESSAGE_CHARS)
        .map(|c| c.iter().collect::<String>())
        .filter(|c| !c.trim().is_empty())
        .collect())
}

/// The description of a new tip made from a message: subject and text, receipts removed. A text
/// longer than the description's limit keeps its beginning, and the whole text comes back as a
/// text file to attach.
pub(crate) fn tip_description(
    subject: &str,
    text: &str,
    has_files: bool,
    max_attachment_bytes: usize,
) -> Result<(String, Option<File>), Refusal> {
    let mut description = String::new();
    push_text(&mut description, subject)?;
    push_text(&mut description, text)?;
    let description = redact_receipts(&description);
    if description.is_empty() && !has_files {
        return Err(Refusal::Empty);
    }
    let limit = super::limit("description");
    if description.chars().count() <= limit {
        return Ok((description, None));
    }
    if description.len() > max_attachment_bytes {
        return Err(Refusal::TooLong);
    }
    let head = truncate_chars(&description, limit - 200);
    let short =
        format!("{head}\n[全文较长，见附件。/ The full text is in the attached text file.]");
    Ok((short, Some(Zeroizing::new(description.into_bytes()))))
}

/// What became of a stored message. No ids: the caller prints or logs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    NewTip,
    /// A message from a sender whose tip still has its contact envelope: added to that tip's
    /// conversation.
    Joined,
    /// The same message again (a mail server's retry, a poll after a crash): nothing new.
    Repeat,
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("mail refused: {0}")]
    Refused(Refusal),
    /// Nothing was stored; the same message may be tried again later.
    #[error("temporary failure ({0}); nothing was stored, try again later")]
    Temporary(&'static str),
}

impl From<diesel::result::Error> for IngestError {
    fn from(_: diesel::result::Error) -> Self {
        IngestError::Temporary("database error")
    }
}

/// What ingesting needs: the intake pipeline, a pool for the conversation lookups, the limits.
pub struct MailDesk<'a> {
    pub intake: &'a Intake,
    pub pool: &'a Pool,
    pub config: &'a Config,
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, IngestError> + Send + 'static,
) -> Result<T, IngestError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| IngestError::Temporary("worker task failed"))?
}

/// Stores one message: a new tip with an acknowledgement to the sender, or a message on the
/// sender's existing tip. Refusals and temporary failures store nothing.
pub async fn ingest(desk: &MailDesk<'_>, raw: Vec<u8>) -> Result<Stored, IngestError> {
    let raw = Zeroizing::new(raw);
    if raw.len() > desk.config.max_email_bytes {
        return Err(IngestError::Refused(Refusal::TooLarge));
    }
    // A keyed hash of the whole message identifies a redelivery without storing the message
    // or its Message-ID.
    let token = hex::encode(crate::crypto::sha256(&raw));
    let own = desk
        .config
        .mail_from
        .parse::<lettre::message::Mailbox>()
        .map(|m| m.email.to_string())
        .unwrap_or_default();
    let mail = blocking(move || parse(&raw, &own).map_err(IngestError::Refused)).await?;
    // Only a token from our own Message-ID threads a mail (issue 13 item 7). The From and
    // Reply-To addresses are never looked up: anyone can write them, and a lookup by address
    // would tell a forger whether that address reported a tip, and let them write into its
    // conversation.
    let aliases: Vec<Vec<u8>> = mail
        .threads
        .iter()
        .map(|t| email_thread_alias(&desk.intake.keys, t))
        .collect();
    let pool = desk.pool.clone();
    let key = new_tip_key(desk, &token);
    let existing = blocking(move || {
        let mut conn = pool
            .get()
            .map_err(|_| IngestError::Temporary("database unavailable"))?;
        // A redelivered first message is not a reply to itself.
        if super::store::find_replay(&mut conn, &key)
            .map_err(|_| IngestError::Temporary("database error"))?
            .is_some()
        {
            return Ok(None);
        }
        for alias in &aliases {
            if let Some(tip) = tip_for_alias(&mut conn, alias)
                .map_err(|_| IngestError::Temporary("database error"))?
            {
                return Ok(Some(Some(tip)));
            }
        }
        Ok(Some(None))
    })
    .await?;
    match existing {
        None => Ok(Stored::Repeat),
        Some(Some(tip_id)) => join(desk, tip_id, mail, &token).await,
        Some(None) => {
            let contact = Contact::email(&mail.sender)
                .map_err(|_| IngestError::Temporary("no randomness"))?;
            new_tip(desk, mail, contact, &token).await
        }
    }
}

/// Whether a new tip's sender gets the acknowledgement with its receipt: always, unless the
/// office named its receiving server's authserv-id and that server did not find DMARC passing
/// (then the From address may be anyone's, and a receipt mailed there would go to a stranger).
fn may_acknowledge(config: &Config, mail: &ParsedMail) -> bool {
    config
        .mail_authserv_id
        .as_deref()
        .is_none_or(|id| dmarc_pass(&mail.auth_results, id))
}

/// The keyed hash `mail_ack_quota` counts by: the address and the UTC date.
fn ack_quota_key(keys: &crate::crypto::keyring::Keyring, address: &str) -> Vec<u8> {
    let day = super::store::utc_day(now_unix()).to_string();
    let key = crate::crypto::subkey(&keys.peppers.alias, "mail-ack-quota");
    crate::crypto::keyed_hash(
        &key,
        &[address.trim().to_lowercase().as_bytes(), day.as_bytes()],
    )
    .to_vec()
}

/// The retry key of a message that makes a new tip.
fn new_tip_key(desk: &MailDesk<'_>, token: &str) -> IdempotencyKey {
    IdempotencyKey::new(
        &desk.intake.keys.peppers.idempotency,
        &format!("email:{token}"),
        b"email",
    )
}

async fn join(
    desk: &MailDesk<'_>,
    tip_id: String,
    mail: ParsedMail,
    token: &str,
) -> Result<Stored, IngestError> {
    let bodies = reply_messages(&mail).map_err(IngestError::Refused)?;
    drop(mail);
    let key = IdempotencyKey::new(
        &desk.intake.keys.peppers.idempotency,
        &format!("email-join:{token}"),
        b"email",
    );
    let pool = desk.pool.clone();
    let sealer = desk.intake.sealer.clone();
    let keys = desk.intake.keys.clone();
    let public_url = desk.config.public_url.clone();
    blocking(move || {
        let mut conn = pool
            .get()
            .map_err(|_| IngestError::Temporary("database unavailable"))?;
        conn.transaction::<_, IngestError, _>(|c| {
            crate::audit::lock_head_on_sqlite(c)
                .map_err(|_| IngestError::Temporary("database error"))?;
            let seen: i64 = idempotency::table
                .filter(idempotency::key_hash.eq(&key.lookup))
                .filter(idempotency::expires_at.gt(now_unix()))
                .count()
                .get_result(c)
                .map_err(|_| IngestError::Temporary("database error"))?;
            if seen > 0 {
                return Ok(Stored::Repeat);
            }
            let sealing = Sealing {
                sealer: &sealer,
                office: &keys.office,
                relay: &keys.relay,
                public_url: &public_url,
            };
            for body in &bodies {
                append(c, &sealing, &tip_id, Direction::Reporter, None, body).map_err(
                    |e| match e {
                        MessageError::Length => IngestError::Refused(Refusal::Empty),
                        MessageError::Crypto(_) => IngestError::Temporary("sealing failed"),
                        MessageError::NotFound | MessageError::Db(_) => {
                            IngestError::Temporary("database error")
                        }
                    },
                )?;
            }
            // Marks this message as stored, so a redelivery does not add it twice.
            let marker = aead_seal(&key.seal_key, b"email-join", b"")
                .map_err(|_| IngestError::Temporary("sealing failed"))?;
            diesel::insert_into(idempotency::table)
                .values((
                    idempotency::key_hash.eq(&key.lookup),
                    idempotency::request_hash.eq(&key.request_hash),
                    idempotency::sealed_receipt.eq(marker),
                    idempotency::expires_at.eq(crate::db::hour_ceil(
                        now_unix() + super::store::IDEMPOTENCY_SECONDS,
                    )),
                ))
                .execute(c)
                .map_err(|_| IngestError::Temporary("database error"))?;
            Ok(Stored::Joined)
        })
    })
    .await
}

/// Seals the files of a new tip (CPU work, on the blocking pool): returns the sealed ones and
/// how many were not kept (type, size, count, unreadable image).
fn seal_files(
    intake_sealer: &crate::crypto::seal::Sealer,
    office: &crate::crypto::seal::Recipient,
    config: &Config,
    files: Vec<Zeroizing<Vec<u8>>>,
) -> Result<(Vec<SealedAttachment>, usize), IngestError> {
    let mut sealed = Vec::new();
    let mut not_kept = 0;
    for file in files {
        if sealed.len() >= config.max_attachments || file.len() > config.max_attachment_bytes {
            not_kept += 1;
            continue;
        }
        match seal_file(intake_sealer, office, &file, config.max_image_pixels) {
            Ok(a) => sealed.push(a),
            Err(AttachmentError::Seal) => return Err(IngestError::Temporary("sealing failed")),
            Err(_) => not_kept += 1,
        }
    }
    Ok((sealed, not_kept))
}

async fn new_tip(
    desk: &MailDesk<'_>,
    mail: ParsedMail,
    contact: Contact,
    token: &str,
) -> Result<Stored, IngestError> {
    let config = desk.config;
    let acknowledge = may_acknowledge(config, &mail);
    let ParsedMail {
        sender,
        subject,
        text,
        files,
        ..
    } = mail;
    let (mut description, full_text) = tip_description(
        &subject,
        &text,
        !files.is_empty(),
        config.max_attachment_bytes,
    )
    .map_err(IngestError::Refused)?;
    let mut files = files;
    if let Some(full) = full_text {
        files.insert(0, full);
    }
    let sealer = desk.intake.sealer.clone();
    let keys = desk.intake.keys.clone();
    let cfg = config.clone();
    let (attachments, not_kept) =
        blocking(move || seal_files(&sealer, &keys.office, &cfg, files)).await?;
    let mut note = String::new();
    if not_kept > 0 {
        description.push_str(&format!(
            "\n\n[邮件中有 {not_kept} 个附件未保存（类型、大小或数量不符合要求）。/ \
             {not_kept} attachment(s) were not kept (type, size or count).]"
        ));
        note = format!(
            "\n\n{not_kept} 个附件未保存：只接受 JPEG、PNG、WebP 图片和文本文件，\
             每个不超过 {mb} MB，最多 {n} 个。\n\
             {not_kept} attachment(s) were not kept: only JPEG, PNG and WebP images and text \
             files are accepted, up to {mb} MB each and {n} in all.",
            mb = config.max_attachment_bytes / (1024 * 1024),
            n = config.max_attachments,
        );
    }
    if description.trim().is_empty() {
        description = "（邮件没有正文，见附件。/ No text; see the attachments.）".into();
    }
    let tip = NewTip {
        channel: Channel::Email,
        fields: TipFields {
            category: "other".into(),
            township: UNKNOWN_TOWNSHIP.into(),
            description,
            ..Default::default()
        },
        attachments,
    };
    let key = new_tip_key(desk, token);
    let status_url = format!("{}/status", config.public_url.trim_end_matches('/'));
    let to = sender.to_string();
    let quota = ack_quota_key(&desk.intake.keys, &to);
    let thread = contact.thread.clone();
    let ack = move |receipt: &Receipt| {
        let (subject, body) = crate::notify::templates::render(
            "email_receipt",
            &[receipt.display(), status_url, note],
        )
        .map(|(s, b)| (s.to_string(), b))
        .unwrap_or_else(|| ("举报已收到 / Report received".into(), receipt.display()));
        crate::notify::Job::Mail {
            to,
            subject,
            body,
            attachments: Vec::new(),
            thread,
        }
    };
    let options = crate::intake::ContactOptions {
        idempotency: Some(key),
        spend_token: None,
        reply: acknowledge.then(|| Box::new(ack) as crate::intake::ReplyBuilder),
        ack_quota: acknowledge.then_some(quota),
    };
    let result = desk
        .intake
        .submit_contact(tip, &contact, config.contact_retention_days, options)
        .await;
    match result {
        Ok((Submitted::Created(_), _)) => Ok(Stored::NewTip),
        Ok((Submitted::Replayed(_), _)) => Ok(Stored::Repeat),
        Err(IntakeError::Invalid(_)) => Err(IngestError::Refused(Refusal::Empty)),
        Err(IntakeError::Crypto(_)) => Err(IngestError::Temporary("sealing failed")),
        Err(IntakeError::Db(DbError::Query(_))) => Err(IngestError::Temporary("database error")),
        Err(IntakeError::Db(_)) | Err(IntakeError::Unavailable) => {
            Err(IngestError::Temporary("database unavailable"))
        }
        Err(IntakeError::IdempotencyMismatch)
        | Err(IntakeError::CaptchaReplayed)
        | Err(IntakeError::HeldFileGone) => Err(IngestError::Temporary("unexpected state")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(headers: &str, body: &str) -> Vec<u8> {
        format!("{headers}\r\n\r\n{body}").into_bytes()
    }

    #[test]
    fn keeps_subject_text_and_sender_and_nothing_else() {
        let raw = mail(
            "Received: from x (203.0.113.9)\r\nX-Originating-IP: [203.0.113.9]\r\n\
             Message-ID: <abc@example.test>\r\nFrom: A <a@example.test>\r\n\
             Reply-To: b@example.test\r\nSubject: =?UTF-8?B?5pyJ5Lq65Y2W5q+S?=\r\n\
             Content-Type: text/plain; charset=utf-8",
            "西渡镇某村",
        );
        let m = parse(&raw, "tips@office.test").unwrap();
        assert_eq!(m.sender.as_str(), "b@example.test");
        assert_eq!(m.subject, "有人卖毒");
        assert_eq!(m.text, "西渡镇某村");
        assert!(m.files.is_empty());
    }

    #[test]
    fn html_becomes_text() {
        let raw = mail(
            "From: a@example.test\r\nContent-Type: text/html; charset=utf-8",
            "<html><head><style>p{}</style><script>alert(1)</script></head>\
             <body><p>卖&amp;毒 <b>here</b></p></body></html>",
        );
        let m = parse(&raw, "").unwrap();
        assert!(m.text.contains("卖&毒") && m.text.contains("here"));
        assert!(!m.text.contains('<') && !m.text.contains("alert"));
    }

    #[test]
    fn hidden_elements_go_whatever_their_attributes() {
        let html = "<HTML><HEAD><title>T1</title><meta name=x></HEAD><body>\
             <style type=\"text/css\" media=all>@import url(https://tracker.example/css);</style>\
             <!-- <p>COMMENT</p> --><p>卖&amp;毒</p><SCRIPT async src=x>SCRIPT1</SCRIPT>\
             <styles>kept</styles><script\n>S2</script >end<style>unclosed";
        let text = html_text(html);
        for gone in [
            "T1", "@import", "tracker", "url(", "COMMENT", "SCRIPT1", "S2", "unclosed",
        ] {
            assert!(!text.contains(gone), "{gone} in {text}");
        }
        assert!(text.contains("卖&毒") && text.contains("kept") && text.contains("end"));
        let sloppy = html_text("<html><head><title>T2</title><BODY class=x><p>正文</p>");
        assert!(
            sloppy.contains("正文") && !sloppy.contains("T2"),
            "{sloppy}"
        );
    }

    #[test]
    fn gbk_decodes_and_garbage_is_refused() {
        let (gbk, _, _) = encoding_rs::GBK.encode("有人贩毒");
        let mut raw =
            b"From: a@example.test\r\nContent-Type: text/plain; charset=gb2312\r\n\r\n".to_vec();
        raw.extend_from_slice(&gbk);
        assert_eq!(parse(&raw, "").unwrap().text, "有人贩毒");
        let mut bad =
            b"From: a@example.test\r\nContent-Type: text/plain; charset=x-nonsense\r\n\r\n"
                .to_vec();
        bad.extend_from_slice(b"\xff\xfe\xc3\x28 abc");
        assert_eq!(parse(&bad, "").err(), Some(Refusal::Undecodable));
    }

    #[test]
    fn refusals() {
        assert_eq!(
            parse(&mail("Subject: x", "body"), "").err(),
            Some(Refusal::NoSender)
        );
        assert_eq!(
            parse(&mail("From: not an address", "body"), "").err(),
            Some(Refusal::NoSender)
        );
        assert_eq!(
            parse(
                &mail("From: a@example.test\r\nAuto-Submitted: auto-replied", "x"),
                ""
            )
            .err(),
            Some(Refusal::Automatic)
        );
        assert_eq!(
            parse(&mail("From: MAILER-DAEMON@example.test", "x"), "").err(),
            Some(Refusal::Automatic)
        );
        assert_eq!(
            parse(&mail("From: tips@office.test", "x"), "tips@office.test").err(),
            Some(Refusal::Automatic)
        );
        let huge = format!("From: a@example.test\r\nX-Big: {}", "a".repeat(300_000));
        assert_eq!(
            parse(&mail(&huge, "x"), "").err(),
            Some(Refusal::HeaderTooLarge)
        );
    }

    #[test]
    fn nesting_bombs_are_refused() {
        let depth = 2000;
        let mut raw = String::from("From: a@example.test\r\n");
        for i in 0..depth {
            raw.push_str(&format!(
                "Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n"
            ));
        }
        raw.push_str("Content-Type: text/plain\r\n\r\nx\r\n");
        for i in (0..depth).rev() {
            raw.push_str(&format!("--b{i}--\r\n"));
        }
        let r = parse(raw.as_bytes(), "").err();
        assert!(
            matches!(r, Some(Refusal::TooDeep | Refusal::TooManyParts)),
            "{r:?}"
        );
    }

    #[test]
    fn receipts_are_redacted_wherever_they_appear() {
        let r = Receipt::generate().unwrap();
        let shown = r.display();
        let digits = r.digits().to_string();
        let text = format!(
            "回执号：{shown}\n> {digits}\nspaced {}\ncard 6222021234567890123 stays",
            shown.replace('-', " ")
        );
        let out = redact_receipts(&text);
        assert!(!out.contains(&shown) && !out.contains(&digits));
        assert!(!out.contains(&shown.replace('-', " ")));
        assert_eq!(out.matches(RECEIPT_REMOVED).count(), 3);
        assert!(out.contains("6222021234567890123"));
        // 20 digits with a wrong check digit are not a receipt.
        let mut wrong = digits.clone();
        let last = wrong.pop().unwrap();
        wrong.push(if last == '0' { '1' } else { '0' });
        assert_eq!(redact_receipts(&wrong), wrong);
    }

    #[test]
    fn replies_lose_quotes_and_our_subject() {
        let m = ParsedMail {
            sender: Zeroizing::new("a@example.test".into()),
            subject: "Re: 举报已收到 / Your report was received".into(),
            text: "车是白色的\n\n在 2026年11月29日 写道：\n> 您的举报已收到".into(),
            files: vec![Zeroizing::new(b"x".to_vec())],
            threads: vec![],
            auth_results: vec![],
        };
        let bodies = reply_messages(&m).unwrap();
        assert_eq!(bodies.len(), 1);
        assert!(bodies[0].starts_with("车是白色的"));
        assert!(!bodies[0].contains("举报已收到"));
        assert!(bodies[0].contains("1 attachment"));
        let long = ParsedMail {
            sender: Zeroizing::new("a@example.test".into()),
            subject: "线索补充".into(),
            text: "长".repeat(4500),
            files: vec![],
            threads: vec![],
            auth_results: vec![],
        };
        let bodies = reply_messages(&long).unwrap();
        assert_eq!(bodies.len(), 3);
        assert!(bodies[0].starts_with("线索补充"));
        assert!(
            bodies
                .iter()
                .all(|b| b.chars().count() <= MAX_MESSAGE_CHARS)
        );
    }
}
