//! Reward refusals as staff read them: each domain refusal in Chinese, the form field it belongs
//! to, and the status code the JSON API gives for the same refusal (one mapping, in
//! `ApiError::from`). Unexpected failures say only that the server failed; `ApiError::from`
//! logs the detail.

use super::errors::ApiError;
use crate::rewards::RewardError;
use crate::rewards::payouts::yuan;
use actix_web::ResponseError;
use actix_web::http::StatusCode;
use tipline_views::staff_rewards::status_label;

pub struct Refusal {
    pub status: StatusCode,
    /// The form field the message belongs to; empty for the whole form.
    pub field: &'static str,
    pub message: String,
    /// Seconds to wait, for refusals that end by themselves.
    pub retry_after: Option<u64>,
}

impl Refusal {
    pub fn new(status: StatusCode, field: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            field,
            message: message.into(),
            retry_after: None,
        }
    }
}

fn facts_text(m: &str) -> (&'static str, &'static str) {
    const COUNT: &str = "应为 0 到 100000 之间的整数。";
    match m {
        "unknown drug: use a code from the equivalence table" => {
            ("seizures", "请从列表中选择毒品种类。")
        }
        "drug weight must be 0 to 1,000,000,000 g" | "drug weight too large" => {
            ("seizures", "毒品净重超出可填写的范围。")
        }
        "precursors must be 0 to 1,000,000 kg" => {
            ("precursors_kg", "易制毒化学品的数量超出可填写的范围。")
        }
        "labs must be 0 to 100,000" => ("labs", COUNT),
        "manufacturing leads must be 0 to 100,000" => ("manufacturing_leads", COUNT),
        "drug drivers must be 0 to 100,000" => ("drug_drivers", COUNT),
        "growers arrested must be 0 to 100,000" => ("growers_arrested", COUNT),
        "group drug use people must be 0 to 100,000" => ("group_use_people", COUNT),
        "growing area must be 0 to 1,000,000,000 mu" => {
            ("growing_mu", "种植面积超出可填写的范围。")
        }
        "the bounty must be 0 to the cap" => (
            "fugitive_bounty_yuan",
            "悬赏金额不能超过同一线索的奖励上限。",
        ),
        "a special contribution is 0 to its maximum" => {
            ("special_yuan", "特殊贡献的金额超出政策规定的上限。")
        }
        _ => ("", "案件事实有误，请核对。"),
    }
}

fn input_text(m: &str) -> (&'static str, &'static str) {
    match m {
        "a justification of 1 to 4,000 characters is required" => {
            ("justification", "请填写奖励理由（最多 4000 字）。")
        }
        "cracked_on is a date, YYYY-MM-DD" => {
            ("cracked_on", "请按“年-月-日”填写破案日期，如 2026-11-28。")
        }
        "cracked_on must be a day in the last three years, not in the future" => {
            ("cracked_on", "破案日期须在近三年内，且不能晚于今天。")
        }
        "method must be cash or transfer" => ("method", "请选择兑付方式。"),
        "account details: at most 500 characters" => ("account", "收款账户最多 500 字。"),
        "identity check: at most 500 characters" => ("identity_check", "身份核验情况最多 500 字。"),
        "month is YYYY-MM" => ("month", "月份应按“年-月”填写，如 2026-11。"),
        m if m.starts_with("reason must be") => ("reason", "请从列表中选择理由。"),
        _ => ("", "输入有误，请核对。"),
    }
}

fn payout_rule_text(m: &str) -> (&'static str, &'static str) {
    if m.contains("account details") {
        ("account", "转账须填写收款账户。")
    } else if m.contains("identity check") {
        (
            "identity_check",
            "按政策，这个金额须核验领奖人身份：请填写核验了什么。",
        )
    } else {
        ("", "不符合兑付规定。")
    }
}

/// The Chinese message and field of a refusal.
fn text(e: &RewardError) -> (&'static str, String) {
    use RewardError as R;
    let fixed = |f: &'static str, m: &str| (f, m.to_string());
    match e {
        R::NotFound => fixed("", "没有这项奖励，或它不在您能查看的范围内。"),
        R::TipNotFound => fixed("", "没有这条线索，或它不属于您的单位。"),
        R::Forbidden => fixed("", "您的角色不能进行这项操作。"),
        R::TipNotVerified => fixed("", "线索查证属实后才能提出奖励。"),
        R::EarlierReporter { public_ref } => (
            "",
            format!("同一案件中线索 {public_ref} 更早举报并已查证属实；奖励给最先举报的人。"),
        ),
        R::BadFacts(m) => {
            let (f, t) = facts_text(m);
            (f, t.to_string())
        }
        R::BadInput(m) => {
            let (f, t) = input_text(m);
            (f, t.to_string())
        }
        R::NotEligible => fixed(
            "eligibility",
            "三项资格都核实后才能提出：负有查禁职责的人员、同案人员和在押人员举报不予奖励。",
        ),
        R::NoTier => fixed("", "这些事实达不到奖励标准的任何一档。"),
        R::OutsideBounds { min_fen, max_fen } => (
            "amount_yuan",
            format!(
                "按这些事实，金额应在 {} 至 {} 元之间。",
                yuan(*min_fen),
                yuan(*max_fen)
            ),
        ),
        R::OverCap { room_fen } => (
            "amount_yuan",
            format!(
                "同一线索的奖励合计不能超过上限，还可以提出 {} 元。",
                yuan(*room_fen)
            ),
        ),
        R::SelfApproval => fixed("", "这项奖励是您提出的，须由其他人签批。"),
        R::OwnTip => fixed(
            "",
            "这条线索是您录入的，您见过它的回执号；它的奖励须由其他人提出、签批和发放。",
        ),
        R::AlreadySigned => fixed("", "您已经签批过这项奖励；每一步须由不同的人签批。"),
        R::OutOfOrder { next } => ("", format!("须先完成“{next}”，然后才轮到您签批。")),
        R::NotYourStep { next } => ("", format!("下一步是“{next}”，不是您能签批的。")),
        R::NotPending { status } => (
            "",
            format!(
                "这项奖励的状态是“{}”，不能进行这项操作。",
                status_label(status)
            ),
        ),
        R::AlreadyPaid => fixed("", "这项奖励已经兑付过。"),
        R::Expired => fixed("claim_code", "这个领奖码已过领取期限，奖励已失效。"),
        R::UnknownClaimCode => fixed("claim_code", "没有待兑付的奖励使用这个领奖码。"),
        R::ClaimCodeTypo => fixed("claim_code", "领奖码有误（校验位不符），请核对后重新输入。"),
        R::ClaimCodeLength => fixed(
            "claim_code",
            "领奖码是 19 位数字（回执号是 20 位，请向领奖人要领奖码）。",
        ),
        R::TooManyLookups(secs) => (
            "claim_code",
            format!(
                "输错领奖码的次数太多，请 {} 分钟后再试。",
                secs.div_ceil(60)
            ),
        ),
        R::PayoutRule(m) => {
            let (f, t) = payout_rule_text(m);
            (f, t.to_string())
        }
        R::NotPendingTransfer => fixed("", "这笔转账不在待确认状态。"),
        R::Policy(m) => ("body", format!("文件无效：{m}")),
        R::NoOfficeKey => fixed("", "本节点没有办公室密钥，不能处理奖励。"),
        R::Db(_) | R::Crypto => fixed("", "服务器出错，操作没有完成。"),
    }
}

impl From<RewardError> for Refusal {
    fn from(e: RewardError) -> Self {
        let (field, message) = text(&e);
        let retry_after = match &e {
            RewardError::TooManyLookups(s) => Some(*s),
            _ => None,
        };
        Refusal {
            status: ApiError::from(e).status_code(),
            field,
            message,
            retry_after,
        }
    }
}

impl From<ApiError> for Refusal {
    fn from(e: ApiError) -> Self {
        let message = match e {
            ApiError::Unavailable => "服务器繁忙，请稍后再试。",
            ApiError::NotFound => "没有这条记录，或它不在您能查看的范围内。",
            ApiError::Forbidden => "您的角色不能进行这项操作。",
            _ => "服务器出错，操作没有完成。",
        };
        Refusal::new(e.status_code(), "", message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rewards::policy::{DEFAULT_REWARDS, Policy};
    use crate::rewards::schedule::{Facts, Seizure, suggest};

    /// Every fact the schedule refuses is tied to the field that holds it, so a changed domain
    /// message shows up here rather than as a generic message on the page.
    #[test]
    fn refused_facts_name_their_field() {
        let p = Policy::from_toml(DEFAULT_REWARDS).unwrap();
        let base = Facts::default;
        let cases: Vec<(Facts, &str)> = vec![
            (
                Facts {
                    drugs: vec![Seizure {
                        drug: "sugar".into(),
                        grams: 1.0,
                    }],
                    ..base()
                },
                "seizures",
            ),
            (
                Facts {
                    drugs: vec![Seizure {
                        drug: "heroin".into(),
                        grams: 2e9,
                    }],
                    ..base()
                },
                "seizures",
            ),
            (
                Facts {
                    precursors_kg: -1.0,
                    ..base()
                },
                "precursors_kg",
            ),
            (Facts { labs: -1, ..base() }, "labs"),
            (
                Facts {
                    manufacturing_leads: 100_001,
                    ..base()
                },
                "manufacturing_leads",
            ),
            (
                Facts {
                    drug_drivers: -1,
                    ..base()
                },
                "drug_drivers",
            ),
            (
                Facts {
                    growers_arrested: -1,
                    ..base()
                },
                "growers_arrested",
            ),
            (
                Facts {
                    group_use_people: -1,
                    ..base()
                },
                "group_use_people",
            ),
            (
                Facts {
                    growing_mu: -1.0,
                    ..base()
                },
                "growing_mu",
            ),
            (
                Facts {
                    fugitive_bounty_yuan: 300_001,
                    ..base()
                },
                "fugitive_bounty_yuan",
            ),
            (
                Facts {
                    special_yuan: 300_001,
                    ..base()
                },
                "special_yuan",
            ),
        ];
        for (facts, field) in cases {
            let e = suggest(&p, &facts, 0).unwrap_err();
            let r = Refusal::from(e);
            assert_eq!((r.field, r.status.as_u16()), (field, 422), "{}", r.message);
        }
    }

    #[test]
    fn refusals_keep_the_api_status_and_say_the_numbers() {
        let r = Refusal::from(RewardError::OutsideBounds {
            min_fen: 30_000,
            max_fen: 30_000,
        });
        assert_eq!(r.status, 422);
        assert!(r.message.contains("300.00 至 300.00 元"));
        let r = Refusal::from(RewardError::SelfApproval);
        assert_eq!(r.status, 403);
        let r = Refusal::from(RewardError::TooManyLookups(900));
        assert_eq!((r.status.as_u16(), r.retry_after), (429, Some(900)));
        assert!(r.message.contains("15 分钟"));
        let r = Refusal::from(RewardError::Expired);
        assert_eq!((r.status.as_u16(), r.field), (410, "claim_code"));
    }
}
