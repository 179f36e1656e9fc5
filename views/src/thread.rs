//! The conversation with the police on the reporter's status page: what was said, by whom
//! (police or you), the hour, and a form to answer. The receipt rides in a hidden field of a
//! page that is never cached.

use crate::Lang;
use maud::{Markup, html};

pub struct ThreadLine {
    pub from_police: bool,
    pub hour: String,
    pub body: String,
}

struct Texts {
    title: &'static str,
    police: &'static str,
    you: &'static str,
    empty: &'static str,
    label: &'static str,
    hint: &'static str,
    send: &'static str,
    sent: &'static str,
}

fn texts(lang: Lang) -> Texts {
    match lang {
        Lang::Zh => Texts {
            title: "与警方的对话",
            police: "警方",
            you: "您",
            empty: "还没有消息。警方如有问题会在这里询问您；您也可以在下面补充线索。",
            label: "给警方留言",
            hint: "不要写您的姓名或联系方式。最多 2000 字。",
            send: "发送",
            sent: "已发送。警方会在这里回复。",
        },
        Lang::En => Texts {
            title: "Conversation with the police",
            police: "Police",
            you: "You",
            empty: "No messages yet. If the police have questions they will ask here; you can also add to your report below.",
            label: "Message to the police",
            hint: "Do not write your name or how to reach you. At most 2,000 characters.",
            send: "Send",
            sent: "Sent. The police will answer here.",
        },
    }
}

pub fn section(
    lang: Lang,
    lines: &[ThreadLine],
    receipt: &str,
    token: &str,
    just_sent: bool,
) -> Markup {
    let t = texts(lang);
    html! {
        section id="thread" class="thread" aria-labelledby="thread-title" {
            h2 id="thread-title" { (t.title) }
            @if just_sent { p class="note" role="status" { (t.sent) } }
            @if lines.is_empty() {
                p { (t.empty) }
            } @else {
                ol class="messages" {
                    @for l in lines {
                        li class=(if l.from_police { "from-police" } else { "from-you" }) {
                            p class="meta" { strong { (if l.from_police { t.police } else { t.you }) } " · " span class="nowrap" { (l.hour) } }
                            p class="body" { (l.body) }
                        }
                    }
                }
            }
            // The answer comes back at the conversation, where "sent" is said and the next Tab
            // lands, not at the top of a long page.
            form method="post" action={ "/status/message?lang=" (lang.code()) "#thread" } {
                input type="hidden" name="receipt" value=(receipt);
                input type="hidden" name="message_token" value=(token);
                div class="field" {
                    label for="message-body" { (t.label) }
                    p id="message-body-hint" class="hint" { (t.hint) }
                    textarea id="message-body" name="body" rows="4" maxlength="2000" required aria-describedby="message-body-hint" {}
                }
                button type="submit" { (t.send) }
            }
        }
    }
}
