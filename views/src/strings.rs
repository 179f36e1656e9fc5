//! Every sentence the public pages say, in Simplified Chinese (the default) and English.
//! A typed table rather than lookup keys: a missing translation is a compile error, not a
//! blank on a resident's screen.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    pub fn parse(s: Option<&str>) -> Lang {
        match s {
            Some(v) if v.eq_ignore_ascii_case("en") => Lang::En,
            _ => Lang::Zh,
        }
    }
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }
    pub fn html_lang(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }
    pub fn other(self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }
    pub fn t(self) -> &'static Strings {
        match self {
            Lang::Zh => &ZH,
            Lang::En => &EN,
        }
    }
}

pub struct Strings {
    pub site: &'static str,
    pub skip: &'static str,
    pub switch_to: &'static str,
    pub report_title: &'static str,
    pub report_intro: &'static str,
    pub keep_title: &'static str,
    pub keep: &'static [&'static str],
    pub required: &'static str,
    pub optional: &'static str,
    pub category: &'static str,
    pub choose: &'static str,
    pub township: &'static str,
    pub township_hint: &'static str,
    pub description: &'static str,
    pub description_hint: &'static str,
    pub location: &'static str,
    pub location_hint: &'static str,
    pub occurred_at: &'static str,
    pub occurred_at_hint: &'static str,
    pub people: &'static str,
    pub people_hint: &'static str,
    pub vehicles: &'static str,
    pub vehicles_hint: &'static str,
    pub attachments: &'static str,
    pub attachments_hint: &'static str,
    pub county_only: &'static str,
    pub county_only_hint: &'static str,
    pub captcha: &'static str,
    pub captcha_hint: &'static str,
    pub captcha_img_alt: &'static str,
    pub captcha_audio: &'static str,
    pub captcha_new: &'static str,
    /// "The N files you chose were not kept …", around the number.
    pub files_again: (&'static str, &'static str),
    /// Above the files held since the form came back (issue 16).
    pub held_title: &'static str,
    /// "photo 1 (kept)" and "file 2 (kept)", around the number.
    pub held_photo: (&'static str, &'static str),
    pub held_file: (&'static str, &'static str),
    /// The box beside a held file, before its name: "remove".
    pub held_remove: &'static str,
    pub captcha_off: &'static str,
    pub submit: &'static str,
    pub errors_title: &'static str,
    pub receipt_title: &'static str,
    pub receipt_lead: &'static str,
    pub receipt_label: &'static str,
    pub receipt_advice: &'static [&'static str],
    pub receipt_replayed: &'static str,
    pub check_status: &'static str,
    pub status_title: &'static str,
    pub status_intro: &'static str,
    pub receipt_field: &'static str,
    pub receipt_hint: &'static str,
    pub status_submit: &'static str,
    pub status_result: &'static str,
    pub status_updated: &'static str,
    pub status_unknown: &'static str,
    pub new_report: &'static str,
    pub footer: &'static str,
    pub error_title: &'static str,
    pub hour_suffix: &'static str,
    pub colon: &'static str,
    pub error_prefix: &'static str,
}

impl Strings {
    /// Message for a field error code (codes are the API's `fields[].code`).
    pub fn field_error(&self, field: &str, code: &str) -> &'static str {
        let zh = std::ptr::eq(self, &ZH);
        match (code, field, zh) {
            ("required", "category", true) => "请选择线索类别。",
            ("required", "category", false) => "Choose what the tip is about.",
            ("required", "township", true) => "请选择乡镇；不清楚可以选择“其他/不清楚”。",
            ("required", "township", false) => "Choose a township, or \"Other / not sure\".",
            ("required", "description", true) => "请写下发生了什么。",
            ("required", "description", false) => "Tell us what happened.",
            ("required", "captcha_answer", true) => "请输入验证码中的数字。",
            ("required", "captcha_answer", false) => "Type the digits of the captcha.",
            ("unknown_choice", _, true) => "请从列表中选择。",
            ("unknown_choice", _, false) => "Choose one of the options in the list.",
            ("too_long", _, true) => "内容太长，请精简后再提交。",
            ("too_long", _, false) => "This is too long; please shorten it.",
            ("captcha_wrong", _, true) => "验证码不正确，请输入新图片中的数字。",
            ("captcha_wrong", _, false) => "The captcha was wrong; type the digits of the new one.",
            ("captcha_expired", _, true) => "验证码已过期，请输入新图片中的数字。",
            ("captcha_expired", _, false) => "The captcha expired; type the digits of the new one.",
            ("captcha_again", _, true) => "请输入新图片中的数字。",
            ("captcha_again", _, false) => "Type the digits of the new captcha.",
            ("captcha_used", _, true) => "这个验证码已经用过，请输入新图片中的数字。",
            ("captcha_used", _, false) => {
                "That captcha was already used; type the digits of the new one."
            }
            ("attachment_too_large", _, true) => "附件太大，每个文件最多 10 MB。",
            ("attachment_too_large", _, false) => "A file is too large (10 MB at most each).",
            ("too_many_attachments", _, true) => "附件太多，最多 5 个。",
            ("too_many_attachments", _, false) => "Too many files (5 at most).",
            ("unsupported_attachment", _, true) => "只能上传照片（JPEG、PNG、WebP）或文本文件。",
            ("unsupported_attachment", _, false) => {
                "Only photos (JPEG, PNG, WebP) or text files can be attached."
            }
            ("bad_image", _, true) => "有一张图片无法读取，请换一张。",
            ("bad_image", _, false) => "One image could not be read; try another.",
            ("bad_text", _, true) => "文本文件必须是 UTF-8 编码。",
            ("bad_text", _, false) => "Text files must be UTF-8.",
            ("receipt_invalid", _, true) => "回执号是 20 位数字。",
            ("receipt_invalid", _, false) => "A receipt is 20 digits.",
            ("receipt_check_digit", _, true) => "回执号有误（校验位不符），请仔细核对。",
            ("receipt_check_digit", _, false) => {
                "This receipt has a typo (the check digit does not match)."
            }
            (_, _, true) => "这一项有误。",
            (_, _, false) => "This is not valid.",
        }
    }

    pub fn status_label(&self, status: &str) -> &'static str {
        let zh = std::ptr::eq(self, &ZH);
        match (status, zh) {
            ("received", true) => "已收到，等待处理",
            ("received", false) => "Received, waiting to be reviewed",
            ("in_progress", true) => "正在核查",
            ("in_progress", false) => "Being looked into",
            ("verified", true) => "已查证属实",
            ("verified", false) => "Verified",
            (_, true) => "已办结",
            (_, false) => "Closed",
        }
    }

    pub fn general_error(&self, code: &str) -> &'static str {
        let zh = std::ptr::eq(self, &ZH);
        match (code, zh) {
            ("rate_limited", true) => "提交太频繁，请稍后再试。",
            ("rate_limited", false) => "Too many attempts; please wait a minute and try again.",
            ("payload_too_large", true) => "提交的内容太大。",
            ("payload_too_large", false) => "What you sent is too large.",
            ("malformed_multipart", true) | ("invalid_utf8", true) => {
                "提交的内容无法读取，请重试。"
            }
            ("malformed_multipart", false) | ("invalid_utf8", false) => {
                "What you sent could not be read; please try again."
            }
            ("idempotency_mismatch", true) => "这个表单已经提交过，请重新打开举报页面。",
            ("idempotency_mismatch", false) => {
                "This form was already sent; please open the report page again."
            }
            ("not_found", true) => "页面不存在。",
            ("not_found", false) => "There is no such page.",
            (_, true) => "服务器暂时出错，您的线索没有保存，请稍后再试。",
            (_, false) => {
                "Something went wrong on our side; your tip was not saved. Please try again later."
            }
        }
    }
}

pub static ZH: Strings = Strings {
    site: "衡阳县禁毒举报平台",
    skip: "跳到主要内容",
    switch_to: "English",
    report_title: "匿名举报涉毒线索",
    report_intro: "您无需留下姓名或联系方式。提交后您会得到一个回执号：凭回执号可以查询处理进度、与民警沟通、领取奖励。线索查证属实的，依照国家禁毒办、财政部《毒品违法犯罪举报奖励办法》的规定给予奖励。",
    keep_title: "我们保存什么、不保存什么",
    keep: &[
        "我们保存：您填写的内容和上传的文件（加密保存，只有办案民警能解密查看），以及提交的大致时间（只精确到小时）。之后的留言、查询、领取奖励也只记到小时，不记分钟和秒，民警看到的也只是小时。",
        "我们不保存：您的姓名、IP 地址、浏览器信息。回执号只以无法还原的形式保存。",
        "照片会重新压缩，拍摄地点（GPS）和相机信息会被删除；文件名不保存。",
        "回执号丢失后无法找回，请抄写在纸上妥善保管。",
        "短信和电子邮件对运营商或邮箱服务商不是匿名的；领取奖励时如选择银行转账，会暴露收款人身份。",
    ],
    required: "必填",
    optional: "选填",
    category: "线索类别",
    choose: "请选择",
    township: "发生在哪个乡镇",
    township_hint: "如果您担心当地派出所有人认识您，可以勾选下面的“只让县禁毒大队查看”。",
    description: "发生了什么",
    description_hint: "请尽量写清楚：什么人、做了什么、经常在什么时间。不要写您自己的姓名。",
    location: "具体地点",
    location_hint: "例如：村组、街道、门牌、店名、房间号。",
    occurred_at: "时间",
    occurred_at_hint: "例如：上周五晚上、每天下午。",
    people: "涉及的人员",
    people_hint: "姓名、绰号、外貌特征、电话号码等。",
    vehicles: "涉及的车辆",
    vehicles_hint: "车牌号、车型、颜色。",
    attachments: "照片或文件",
    attachments_hint: "可上传最多 5 个照片（JPEG、PNG、WebP）或文本文件，每个不超过 10 MB。",
    county_only: "只让县禁毒大队查看，不交给当地派出所",
    county_only_hint: "适合村子小、当地民警认识您的情况。",
    captcha: "验证码",
    captcha_hint: "请输入图片中的 5 位数字。看不清可以收听语音。",
    captcha_img_alt: "验证码图片：5 位数字。看不清请使用下方的语音验证码。",
    captcha_audio: "语音验证码（普通话朗读数字）",
    captcha_new: "换一个验证码",
    files_again: (
        "您选择的 ",
        " 个文件没有保存。请在“照片或文件”一栏重新选择后再提交，其他内容都已保留。",
    ),
    held_title: "您上次选择的文件已保留，会随本次提交一起发送，无需重新选择：",
    held_photo: ("照片 ", "（已保留）"),
    held_file: ("文件 ", "（已保留）"),
    held_remove: "不要附上",
    captcha_off: "验证码已关闭：此模式仅供开发和测试使用，切勿用于正式环境。",
    submit: "提交举报",
    errors_title: "请修改以下问题后再提交：",
    receipt_title: "举报已收到",
    receipt_lead: "您的线索已加密保存。这是您的回执号，只显示这一次：",
    receipt_label: "回执号",
    receipt_advice: &[
        "请用纸笔抄下回执号，放在安全的地方；不要截图保存到会同步到网络的相册。",
        "凭回执号可以在“查询进度”页面查询处理情况、回答民警的问题、领取奖励。",
        "回执号是您和这条线索之间唯一的联系，丢失后无法找回，我们也无法替您查到。",
    ],
    receipt_replayed: "这次提交与之前的一次相同，没有重复保存；回执号不变。",
    check_status: "查询进度",
    status_title: "查询举报进度",
    status_intro: "输入举报后得到的 20 位回执号。可以带横线或空格，也可以用全角数字。",
    receipt_field: "回执号",
    receipt_hint: "例如：1234-5678-9012-3456-7890",
    status_submit: "查询",
    status_result: "处理状态",
    status_updated: "最近更新",
    status_unknown: "没有找到这个回执号对应的举报。请核对后重试；回执号丢失无法找回。",
    new_report: "提交新的举报",
    footer: "本平台不使用第三方统计或外部资源。紧急情况请拨打 110。",
    error_title: "出错了",
    hour_suffix: "时（北京时间）",
    colon: "：",
    error_prefix: "错误：",
};

pub static EN: Strings = Strings {
    site: "Hengyang County anti-drug tip line",
    skip: "Skip to main content",
    switch_to: "中文",
    report_title: "Report a drug crime anonymously",
    report_intro: "You do not need to give your name or any contact details. After you send the report you get a receipt number: with it you can check progress, answer questions from the police and claim a reward. Tips that prove true are rewarded under the national anti-drug office's reward measures.",
    keep_title: "What we keep and what we don't",
    keep: &[
        "We keep what you write and the files you attach (encrypted; only the police handling tips can open them), and the hour you sent it. Your later messages, status checks and reward claim are kept to the hour too, never the minute or second, and the police see only the hour.",
        "We do not keep your name, your IP address or anything about your browser. Your receipt is stored only in a form that cannot be turned back into the number.",
        "Photos are re-compressed; location (GPS) and camera details are removed. File names are not kept.",
        "A lost receipt cannot be recovered: write it down on paper and keep it safe.",
        "Text messages and email are not anonymous towards the phone company or mail provider, and a reward paid by bank transfer identifies who receives it.",
    ],
    required: "required",
    optional: "optional",
    category: "What is it about",
    choose: "Choose",
    township: "Township where it happens",
    township_hint: "If you worry the local police station knows you, tick \"Only the county brigade\" below.",
    description: "What happened",
    description_hint: "Who, doing what, and when it usually happens. Do not write your own name.",
    location: "Where exactly",
    location_hint: "Village, street, house number, shop name, room number.",
    occurred_at: "When",
    occurred_at_hint: "For example: last Friday night, every afternoon.",
    people: "People involved",
    people_hint: "Names, nicknames, appearance, phone numbers.",
    vehicles: "Vehicles involved",
    vehicles_hint: "Plate number, model, colour.",
    attachments: "Photos or files",
    attachments_hint: "Up to 5 photos (JPEG, PNG, WebP) or text files, 10 MB at most each.",
    county_only: "Only the county anti-drug brigade may see this, not the local police station",
    county_only_hint: "For small villages where the local officers know you.",
    captcha: "Captcha",
    captcha_hint: "Type the 5 digits in the picture. You can listen to them instead.",
    captcha_img_alt: "Captcha picture: 5 digits. If you cannot read it, use the audio captcha below.",
    captcha_audio: "Audio captcha (digits read aloud in English)",
    captcha_new: "Get a new captcha",
    files_again: (
        "The ",
        " file(s) you chose were not kept. Choose them again under \"Photos or files\" before sending; everything else you typed is kept.",
    ),
    held_title: "The files you chose last time are kept and will be sent with this form; you do not need to choose them again:",
    held_photo: ("photo ", " (kept)"),
    held_file: ("file ", " (kept)"),
    held_remove: "Remove",
    captcha_off: "The captcha is switched off: this mode is for development and tests only, never for real use.",
    submit: "Send the report",
    errors_title: "Please fix the following before sending:",
    receipt_title: "Your report was received",
    receipt_lead: "Your tip is stored encrypted. This is your receipt number; it is shown only this once:",
    receipt_label: "Receipt",
    receipt_advice: &[
        "Write the receipt down on paper and keep it somewhere safe; do not save a screenshot to a photo album that syncs online.",
        "With the receipt you can check progress on the \"Check progress\" page, answer questions from the police and claim a reward.",
        "The receipt is the only link between you and this tip. If it is lost it cannot be recovered, not even by us.",
    ],
    receipt_replayed: "This was the same submission as before; it was not stored twice and the receipt is unchanged.",
    check_status: "Check progress",
    status_title: "Check the progress of a report",
    status_intro: "Enter the 20-digit receipt you got when you reported. Dashes, spaces and full-width digits are fine.",
    receipt_field: "Receipt",
    receipt_hint: "For example: 1234-5678-9012-3456-7890",
    status_submit: "Check",
    status_result: "Status",
    status_updated: "Last update",
    status_unknown: "No report was found for this receipt. Check it and try again; a lost receipt cannot be recovered.",
    new_report: "Send a new report",
    footer: "This site uses no third-party analytics or outside resources. In an emergency call 110.",
    error_title: "Something went wrong",
    hour_suffix: ":00 (Beijing time)",
    colon: ": ",
    error_prefix: "Error: ",
};
