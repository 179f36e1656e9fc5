//! What we send, as templates: Chinese SMS providers send only pre-approved templates, so every
//! outgoing text is a template code plus parameters. The same texts serve email.
//! Nothing here carries tip content unless the reporter wrote by that channel themselves.

/// Subject and body of a template, rendered with its parameters (`{1}`, `{2}` ...).
pub fn render(template: &str, params: &[String]) -> Option<(&'static str, String)> {
    let (subject, text) = match template {
        "new_message" => (
            "举报回复 / Reply to your report",
            "警方回复了您的举报：{1}\n（短信和邮件对运营商不是匿名的。更安全的做法是在网站上用回执号查看。）",
        ),
        "message_notice" => (
            "举报有新的回复 / New reply to your report",
            "您的举报有新的回复。请在举报网站用回执号查看。",
        ),
        "staff_new_tip" => (
            "新的举报线索 / New tips",
            "您的单位有 {1} 条新的举报线索，请登录查看：{2}",
        ),
        "staff_message" => (
            "举报人有新的留言 / A reporter wrote",
            "线索 {1} 的举报人有新的留言，请登录查看：{2}",
        ),
        _ => return None,
    };
    let mut body = text.to_string();
    for (i, p) in params.iter().enumerate() {
        body = body.replace(&format!("{{{}}}", i + 1), p);
    }
    Some((subject, body))
}

#[cfg(test)]
mod tests {
    #[test]
    fn templates_fill_their_parameters() {
        let (_, body) = super::render("new_message", &["请到派出所".into()]).unwrap();
        assert!(body.starts_with("警方回复了您的举报：请到派出所"));
        assert!(super::render("nope", &[]).is_none());
    }
}
