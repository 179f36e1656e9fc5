//! The reward part of the reporter's status page, and the rekey pages: what the reporter is
//! owed, the claim code, how to collect, and a way to replace a receipt others have seen.

use crate::Lang;
use maud::{Markup, html};

/// A reward as the receipt holder may see it.
pub struct RewardNotice {
    /// claimable | paid | rejected | expired
    pub status: String,
    pub amount_fen: Option<i64>,
    pub claim_code: Option<String>,
    pub claim_by: Option<String>,
    pub rekey_needed: bool,
    pub reject_reason: Option<String>,
}

pub fn yuan(fen: i64) -> String {
    if fen % 100 == 0 {
        format!("{}", fen / 100)
    } else {
        format!("{}.{:02}", fen / 100, fen % 100)
    }
}

/// How to collect a reward, in plain words (DESIGN.md section 1: a transfer identifies you).
pub fn collect_text(lang: Lang, office: &crate::Office) -> String {
    let hotline = office.hotlines.join(" / ");
    let (payout, address, hours) = (&office.payout, &office.address, &office.hours);
    match lang {
        Lang::Zh => format!(
            "领取方式：拨打举报电话 {hotline} 预约时间，到{payout}（{address}，办公时间 {hours}）出示领奖码领取。在政策允许的金额内可以领取现金，不需要提供姓名；选择银行转账则银行和我们都会知道收款人是谁。领奖码只能使用一次，请不要告诉任何人。"
        ),
        Lang::En => format!(
            "How to collect: call the hotline, {hotline}, for an appointment and show the claim code at {payout} ({address}; open {hours}). Up to the amount the policy allows you can take cash without giving your name; a bank transfer tells the bank, and us, who the payee is. The claim code works once: tell it to no one."
        ),
    }
}

pub fn reject_reason_text(lang: Lang, reason: &str) -> &'static str {
    match (reason, lang) {
        ("not_eligible", Lang::Zh) => {
            "按规定，负有查禁职责的人员、同案人员和在押人员举报不予奖励。"
        }
        ("not_eligible", Lang::En) => {
            "Staff whose duty covers the case, accomplices and detained suspects are not rewarded."
        }
        ("earlier_reporter", Lang::Zh) => "同一线索已有他人更早举报，奖励给最先举报的人。",
        ("earlier_reporter", Lang::En) => {
            "Someone reported the same lead earlier; the earliest reporter is rewarded."
        }
        ("not_confirmed", Lang::Zh) => "举报内容未能查证属实。",
        ("not_confirmed", Lang::En) => "What was reported could not be confirmed.",
        ("facts_wrong", Lang::Zh) => "案件事实需要重新核定，可能会重新提出奖励。",
        ("facts_wrong", Lang::En) => {
            "The case facts must be checked again; a new reward may be proposed."
        }
        (_, Lang::Zh) => "其他原因。如有疑问可拨打举报电话。",
        (_, Lang::En) => "Other reasons. Call the hotline if you have questions.",
    }
}

/// One sentence saying where a reward stands.
pub fn explanation(lang: Lang, n: &RewardNotice) -> String {
    let amount = n.amount_fen.map(yuan).unwrap_or_default();
    let by = n.claim_by.clone().unwrap_or_default();
    match (n.status.as_str(), lang) {
        ("claimable", Lang::Zh) if n.rekey_needed => format!(
            "您的举报获得奖励 {amount} 元，领取期限为 {by}。您的回执号曾经他人之手（接线员、短信或邮件），而且在线索查证前没有更换，为防止他人冒领，领奖码不能在网上显示。请拨打举报电话，由非录入人员为您处理。"
        ),
        ("claimable", Lang::En) if n.rekey_needed => format!(
            "Your report earned a reward of {amount} yuan, to collect by {by}. Your receipt passed through other hands (a hotline clerk, SMS or email) and was not exchanged before the report was confirmed, so the claim code cannot be shown on the web, lest someone else collect it. Call the hotline: staff who did not take your report will help."
        ),
        ("claimable", Lang::Zh) => {
            format!("您的举报获得奖励 {amount} 元，请在 {by} 前凭领奖码领取。")
        }
        ("claimable", Lang::En) => format!(
            "Your report earned a reward of {amount} yuan. Collect it with the claim code by {by}."
        ),
        ("paid", Lang::Zh) => format!("奖励 {amount} 元已经发放。"),
        ("paid", Lang::En) => format!("The reward of {amount} yuan has been paid."),
        ("expired", Lang::Zh) => format!("奖励 {amount} 元的领取期限已过，已经失效。"),
        ("expired", Lang::En) => {
            format!("The claim period for the reward of {amount} yuan has ended.")
        }
        (_, Lang::Zh) => format!(
            "经审核，本次不予奖励：{}",
            reject_reason_text(lang, n.reject_reason.as_deref().unwrap_or("other"))
        ),
        (_, Lang::En) => format!(
            "After review, no reward is paid this time: {}",
            reject_reason_text(lang, n.reject_reason.as_deref().unwrap_or("other"))
        ),
    }
}

fn rekey_text(lang: Lang) -> (&'static str, &'static str, &'static str) {
    match lang {
        Lang::Zh => (
            "更换回执号",
            "您的回执号曾由接线员读出、经短信运营商传送或保存在邮箱里。换一个只有您知道的新回执号后，旧号码立即失效。请在线索查证之前更换：只有及时更换的回执号才能看到领奖码。",
            "换一个新的回执号",
        ),
        Lang::En => (
            "Exchange your receipt",
            "Your receipt was read out by a clerk, carried by an SMS provider or kept in a mailbox. Exchange it for a new one only you know; the old one stops working at once. Do it before the police confirm your report: only a receipt exchanged in time shows a reward's claim code.",
            "Get a new receipt",
        ),
    }
}

/// The rewards and the rekey offer, below the status on the status page.
pub fn section(
    lang: Lang,
    rewards: &[RewardNotice],
    receipt: &str,
    rekey_suggested: bool,
    office: &crate::Office,
) -> Markup {
    let (rekey_title, rekey_lead, rekey_button) = rekey_text(lang);
    let code_label = match lang {
        Lang::Zh => "领奖码",
        Lang::En => "Claim code",
    };
    let heading = match lang {
        Lang::Zh => "奖励",
        Lang::En => "Reward",
    };
    html! {
        @if !rewards.is_empty() {
            section class="reward" aria-labelledby="reward-title" {
                h2 id="reward-title" { (heading) }
                @for r in rewards {
                    p { (crate::keep_whole(&explanation(lang, r))) }
                    @if let Some(code) = &r.claim_code {
                        p class="receipt claim" {
                            span { (code_label) ": " }
                            strong class="claim-code" { (code) }
                        }
                    }
                    @if r.status == "claimable" { p class="note" { (crate::keep_whole(&collect_text(lang, office))) } }
                }
            }
        }
        @if rekey_suggested || rewards.iter().any(|r| r.rekey_needed) {
            section class="rekey" aria-labelledby="rekey-title" {
                h2 id="rekey-title" { (rekey_title) }
                p { (rekey_lead) }
                form method="post" action={ "/status/rekey?lang=" (lang.code()) } {
                    input type="hidden" name="receipt" value=(receipt);
                    button type="submit" { (rekey_button) }
                }
            }
        }
    }
}

/// Title and lead of the page that shows a new receipt after a rekey.
pub fn rekey_done_text(lang: Lang) -> (&'static str, &'static str) {
    match lang {
        Lang::Zh => (
            "这是您的新回执号",
            "旧回执号已经失效。新回执号只显示这一次，请抄下来妥善保存；查询进度和领取奖励都要用它。",
        ),
        Lang::En => (
            "This is your new receipt",
            "The old receipt no longer works. The new one is shown only once: write it down and keep it safe; you need it to check progress and to collect a reward.",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reward_instructions_name_the_number_and_the_place() {
        let office = crate::Office {
            name: "县禁毒办".into(),
            hotlines: vec!["0734-6812345".into()],
            address: "西渡镇蒸阳北路 1 号".into(),
            hours: "8:30-17:30".into(),
            payout: "县公安局禁毒大队".into(),
        };
        let zh = collect_text(Lang::Zh, &office);
        assert!(
            zh.contains("0734-6812345")
                && zh.contains("县公安局禁毒大队")
                && zh.contains("蒸阳北路")
        );
        let en = collect_text(Lang::En, &office);
        assert!(en.contains("0734-6812345") && en.contains("8:30-17:30"));
    }
}
