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
        // Issue 14: a tip-reading account waits for a county supervisor. Nothing about it.
        "staff_account_pending" => (
            "账号等待审批 / An account awaits approval",
            "有一个账号等待县级主管审批，请登录查看。",
        ),
        // Issue 20: the township's monthly return is due. Nothing about any return.
        "return_reminder" => (
            "乡镇月报提醒 / Township return due",
            "每月28日请报送本乡镇治理外流贩毒工作月报，请登录填报。",
        ),
        "staff_message" => (
            "举报人有新的留言 / Reporters wrote",
            "您的单位有 {1} 条线索收到举报人的新留言，请登录查看：{2}",
        ),
        // Answers to a text sent to the tip line (intake::sms). The receipt travels through the
        // carrier, so the first answer says so and suggests exchanging it on the web.
        "receipt" => (
            "举报已收到 / Report received",
            "举报已收到。回执号：{1}（请牢记，丢失无法找回）。凭回执号可在举报网站查看进展、与警方对话。注意：短信对运营商不是匿名的，运营商知道您的号码和短信内容；建议在举报网站用此回执号换一个新回执号，旧号立即作废。再发短信到本号码会补充到这条举报；发送“状态 回执号”查询进展。",
        ),
        "appended" => (
            "补充信息已收到 / Added to your report",
            "已收到您的补充信息，已附在您之前的举报中。短信对运营商不是匿名的；更安全的做法是在举报网站用回执号留言。",
        ),
        "status" => (
            "举报进展 / Report status",
            "您查询的举报当前状态：{1}。警方回复请在举报网站用回执号查看。",
        ),
        "unknown_receipt" => (
            "回执号无效 / Unknown receipt",
            "没有找到这个回执号。请核对回执号（20位数字）后重新发送“状态 回执号”。",
        ),
        "help" => (
            "如何举报 / How to report",
            "请直接用文字描述您要举报的情况（时间、地点、人员、车辆等）。短信对运营商不是匿名的；也可以在举报网站匿名举报。",
        ),
        "too_long" => (
            "短信太长 / Message too long",
            "短信内容太长（最多2000字），请分几条发送。",
        ),
        // The acknowledgement of a tip that came by email: {1} receipt, {2} status page URL,
        // {3} a line about attachments that were not kept (or nothing).
        "email_receipt" => (
            "举报已收到 / Your report was received",
            "您的举报已收到，回执号：{1}\n\
             请保存回执号，凭它在 {2} 查看进展和警方的回复。回执号丢失无法找回。\n\
             直接回复本邮件，内容会加入同一举报。\n\
             请注意：邮件对您的邮箱服务商不是匿名的，这个回执号也留在了您的邮箱里。\n\
             更安全的做法：在 {2} 输入回执号并选择“换一个新的回执号”，新的回执号只显示在网页上，\n\
             不会再发到邮箱；领取奖励也需要这样做。\n\
             \n\
             We received your report. Receipt: {1}\n\
             Keep it: with it you can check progress and read police replies at {2}. A lost\n\
             receipt cannot be recovered. Replying to this mail adds to the same report.\n\
             Email is not anonymous towards your mail provider, and this receipt now sits in\n\
             your mailbox. Safer: enter it at {2} and choose \"Get a new receipt\"; the new\n\
             one is shown only on the web page, never mailed. Rewards need this step too.{3}",
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
        let (_, body) = super::render("receipt", &["1234-5678".into()]).unwrap();
        assert!(body.contains("回执号：1234-5678"));
        assert!(body.contains("不是匿名"), "says SMS is not anonymous");
        assert!(
            body.contains("换一个新回执号"),
            "suggests rekeying on the web"
        );
        for t in ["appended", "status", "unknown_receipt", "help", "too_long"] {
            assert!(!super::render(t, &["x".into()]).unwrap().1.contains('{'));
        }
        let (_, body) = super::render(
            "email_receipt",
            &[
                "1234".into(),
                "https://t.example/status".into(),
                String::new(),
            ],
        )
        .unwrap();
        assert!(body.contains("回执号：1234") && body.contains("Receipt: 1234"));
        assert!(body.contains("https://t.example/status") && !body.contains("{3}"));
    }
}
