//! The reward pages as staff use them, against the real binary with password + TOTP sessions:
//! an officer proposes through the form (suggest, then propose), the unit head and finance sign
//! through the reward page, refusals come back with the API's status, finance pays against the
//! claim code the receipt holder reads from the public API, the ledger shows it; the admin edits
//! the policy; CSRF and roles are checked on every page.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failure is a panic

mod common;
use common::*;
use serde_json::{Value, json};

fn today() -> String {
    tipline::rewards::calendar::format(tipline::rewards::calendar::today())
}

fn days_ago(n: i64) -> String {
    let d = tipline::rewards::calendar::today() - time::Duration::days(n);
    tipline::rewards::calendar::format(d)
}

fn location(r: &reqwest::Response) -> String {
    r.headers()["location"].to_str().unwrap().to_string()
}

/// The reward's public reference from its page heading ("奖励 R12345678").
fn reward_ref(html: &str) -> String {
    let start = html.find("<h1>奖励 ").unwrap() + "<h1>奖励 ".len();
    html[start..start + 9].to_string()
}

async fn claim_code(s: &Server, receipt: &str) -> String {
    let v: Value = s
        .post_json("/api/v1/status", &json!({ "receipt": receipt }))
        .await
        .json()
        .await
        .unwrap();
    v["reward"]["claim_code"]
        .as_str()
        .unwrap_or_else(|| panic!("no claim code in {v}"))
        .to_string()
}

#[tokio::test]
async fn a_reward_goes_from_the_form_through_the_ladder_to_a_cash_payout_and_the_ledger() {
    let s = Server::start().await;
    add_user(&s, "p.officer", "officer", Some("ps-xidu"));
    add_user(&s, "p.head", "supervisor", Some("ps-xidu"));
    add_user(&s, "p.county", "supervisor", None);
    add_user(&s, "p.finance", "finance", None);
    let (tip, receipt) = s
        .public_tip("trafficking", "xidu", "西渡镇出租屋内有人贩卖海洛因")
        .await;
    let now = tipline::db::now_unix() as u64;
    let (officer, _) = login(&s, "p.officer", None, now).await;
    let (head, _) = login(&s, "p.head", None, now).await;
    let (county, _) = login(&s, "p.county", None, now).await;
    let (finance, _) = login(&s, "p.finance", None, now).await;
    let tip_page = format!("/staff/tips/{tip}");
    let new = format!("/staff/tips/{tip}/rewards/new");

    // Before the tip is verified there is nothing to propose.
    let (code, html) = s.page(&officer, &tip_page).await;
    assert_eq!(code, 200);
    assert!(
        html.contains("还没有奖励") && !html.contains(&new),
        "{html}"
    );
    let csrf = hidden(&html, "csrf");
    let (code, html) = s.page(&officer, &new).await;
    assert_eq!(code, 409);
    assert!(html.contains("查证属实后才能提出奖励"));
    for to in ["assigned", "investigating", "verified"] {
        let r = s
            .submit(
                &officer,
                &format!("{tip_page}/transition"),
                &[("csrf", &csrf), ("to", to)],
            )
            .await;
        assert_eq!(r.status(), 303, "to {to}");
    }
    let (_, html) = s.page(&officer, &tip_page).await;
    assert!(
        html.contains(&format!("href=\"{new}\"")),
        "a link to propose"
    );
    let (code, html) = s.page(&officer, &new).await;
    assert_eq!(code, 200);
    assert!(html.contains("<option value=\"heroin\">海洛因</option>"));
    assert!(html.contains("<legend>举报人资格"));

    // Cracked two months ago: the reporter should have been told by now, so it is overdue.
    let cracked = days_ago(60);
    let base = [
        ("csrf", csrf.as_str()),
        ("drug_1", "heroin"),
        ("grams_1", "5"),
        ("cracked_on", cracked.as_str()),
        ("justification", "据举报当场查获海洛因5克"),
        ("not_duty_staff", "on"),
        ("not_accomplice", "on"),
        ("not_detained", "on"),
    ];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut f: Vec<(&str, &str)> = base.to_vec();
        f.extend_from_slice(extra);
        f
    };
    let r = s
        .submit(&officer, &new, &with(&[("action", "suggest")]))
        .await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("缴获毒品不满10克")
            && html.contains("折合海洛因 5 克")
            && html.contains("300.00 至 300.00 元")
            && html.contains("value=\"5\"")
            && html.contains("据举报当场查获海洛因5克"),
        "the suggestion, with the input kept: {html}"
    );

    // Refusals keep the input and tie the message to its field, with the API's status.
    let r = s
        .submit(
            &officer,
            &new,
            &with(&[("amount_yuan", "400"), ("action", "propose")]),
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("金额应在 300.00 至 300.00 元之间")
            && html.contains("aria-describedby=\"amount_yuan-hint amount_yuan-error\"")
            && html.contains("value=\"400\""),
        "{html}"
    );
    let r = s
        .submit(
            &officer,
            &new,
            &with(&[("amount_yuan", "3OO"), ("action", "propose")]),
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("金额应为正数"));
    let mut no_eligibility = with(&[("action", "propose")]);
    no_eligibility.retain(|(k, _)| *k != "not_detained");
    let r = s.submit(&officer, &new, &no_eligibility).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("三项资格都核实后才能提出"));
    let mut no_csrf = with(&[("action", "propose")]);
    no_csrf.retain(|(k, _)| *k != "csrf");
    assert_eq!(s.submit(&officer, &new, &no_csrf).await.status(), 403);
    assert_eq!(s.count("rewards"), 0);

    // 300 yuan: the unit head signs, then finance.
    let r = s
        .submit(
            &officer,
            &new,
            &with(&[("amount_yuan", "300"), ("action", "propose")]),
        )
        .await;
    assert_eq!(r.status(), 303);
    let reward_page = location(&r);
    let sign = format!("{reward_page}/sign");
    let (code, html) = s.page(&officer, &reward_page).await;
    assert_eq!(code, 200);
    let public_ref = reward_ref(&html);
    assert!(
        html.contains("审批中")
            && html.contains("单位负责人审批")
            && html.contains("300.00 元")
            && html.contains("已过告知期限")
            && html.contains(&format!("href=\"{tip_page}\""))
            && !html.contains(&sign),
        "the proposer reads it but gets no signing form: {html}"
    );
    let r = s.submit(&officer, &sign, &[("csrf", &csrf)]).await;
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("这项奖励是您提出的"));
    let (_, html) = s.page(&officer, &tip_page).await;
    assert!(html.contains(&format!("href=\"{reward_page}\"")) && html.contains(&public_ref));

    // The unit head sees the overdue banner and the reward waiting for them.
    let (_, html) = s.page(&head, "/staff/tips").await;
    assert!(
        html.contains("href=\"/staff/rewards?overdue=true\"") && html.contains("1 项奖励"),
        "{html}"
    );
    let (_, html) = s.page(&head, "/staff/rewards?mine=true").await;
    assert!(html.contains(&public_ref) && html.contains("aria-current=\"page\">待我审批"));
    let (_, html) = s.page(&head, "/staff/rewards?overdue=true").await;
    assert!(html.contains(&public_ref) && html.contains("已逾期"));
    let (_, html) = s.page(&head, &reward_page).await;
    assert!(
        html.contains(&format!("action=\"{sign}\"")) && html.contains("他人更早举报了同一线索")
    );
    let head_csrf = hidden(&html, "csrf");
    assert_eq!(
        s.submit(&head, &sign, &[]).await.status(),
        403,
        "no CSRF token"
    );
    assert_eq!(s.count("reward_signatures"), 0);
    let r = s
        .submit(&county, &sign, &[("csrf", &hidden(&html, "csrf"))])
        .await;
    assert_eq!(r.status(), 403, "another person's CSRF token");
    let (_, county_page) = s.page(&county, &reward_page).await;
    let r = s
        .submit(&county, &sign, &[("csrf", &hidden(&county_page, "csrf"))])
        .await;
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("下一步是“单位负责人审批”"));
    let r = s.submit(&head, &sign, &[("csrf", &head_csrf)]).await;
    assert_eq!(r.status(), 303);
    let r = s.submit(&head, &sign, &[("csrf", &head_csrf)]).await;
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("您已经签批过"));

    // Finance reads the reward without any way to the tip, and signs last.
    let (code, html) = s.page(&finance, "/staff/rewards").await;
    assert_eq!(code, 200);
    assert!(html.contains(&public_ref) && !html.contains("/staff/tips/"));
    let (_, html) = s.page(&finance, &reward_page).await;
    assert!(
        html.contains(&format!("action=\"{sign}\""))
            && html.contains("据举报当场查获海洛因5克")
            && !html.contains("/staff/tips/"),
        "{html}"
    );
    let fin_csrf = hidden(&html, "csrf");
    let r = s.submit(&finance, &sign, &[("csrf", &fin_csrf)]).await;
    assert_eq!(r.status(), 303);
    let (_, html) = s.page(&finance, &reward_page).await;
    assert!(html.contains("待领取") && html.contains("已由 p.finance"));

    // The receipt holder reads the claim code; finance pays cash against it.
    let code = claim_code(&s, &receipt).await;
    let (status, html) = s.page(&finance, "/staff/payouts").await;
    assert_eq!(status, 200);
    assert!(html.contains("没有待确认的转账") && html.contains("<legend>兑付方式</legend>"));
    let mut typo: Vec<char> = code.chars().collect();
    let last = typo.len() - 1;
    typo[last] = if typo[last] == '9' {
        '0'
    } else {
        char::from(typo[last] as u8 + 1)
    };
    let typo: String = typo.into_iter().collect();
    let pay = |c: &str| {
        vec![
            ("csrf", fin_csrf.clone()),
            ("claim_code", c.to_string()),
            ("method", "cash".to_string()),
            ("identity_check", String::new()),
        ]
    };
    let r = s
        .client
        .post(s.url("/staff/payouts"))
        .header("cookie", &finance)
        .form(&pay(&typo))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("校验位") && html.contains("aria-describedby=\"claim_code-error\""),
        "{html}"
    );
    let r = s
        .client
        .post(s.url("/staff/payouts"))
        .header("cookie", &finance)
        .form(&pay(&code))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let html = r.text().await.unwrap();
    assert!(
        html.contains(&public_ref)
            && html.contains("300.00 元")
            && html.contains("现金")
            && html.contains("已付")
            && html.contains(&today()),
        "{html}"
    );
    let r = s
        .client
        .post(s.url("/staff/payouts"))
        .header("cookie", &finance)
        .form(&pay(&code))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "a claim code pays once");

    // The ledger, on the page and as CSV; a unit's supervisor may not read it.
    let (status, html) = s.page(&finance, "/staff/ledger").await;
    assert_eq!(status, 200);
    assert!(
        html.contains(&public_ref) && html.contains("300.00") && html.contains("缴获毒品不满10克")
    );
    let month = &today()[..7];
    let r = s
        .client
        .get(s.url(&format!("/staff/ledger.csv?month={month}")))
        .header("cookie", &county)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let disposition = r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    let csv = r.text().await.unwrap();
    assert!(csv.contains(&public_ref) && csv.contains("300.00"), "{csv}");
    assert_eq!(s.page(&finance, "/staff/ledger?month=2026-13").await.0, 422);
    assert_eq!(s.page(&head, "/staff/ledger").await.0, 403);
    let (_, html) = s.page(&county, "/staff/tips").await;
    assert!(
        html.contains("href=\"/staff/ledger\""),
        "county supervisors get the ledger link"
    );
}

#[tokio::test]
async fn transfers_wait_for_finance_to_confirm_them() {
    let s = Server::start().await;
    let officer = s.staff_token("t.officer", "officer", Some("ps-xidu"));
    let head = s.staff_token("t.head", "supervisor", Some("ps-xidu"));
    let signer = s.staff_token("t.signer", "finance", None);
    add_user(&s, "t.clerk", "finance", None);
    add_user(&s, "t.head2", "supervisor", Some("ps-xidu"));
    let (tip, receipt) = s
        .public_tip("trafficking", "xidu", "有人在出租屋贩毒")
        .await;
    for to in ["assigned", "investigating", "verified"] {
        let r = s
            .staff_post(
                &officer,
                &format!("/api/v1/staff/tips/{tip}/transition"),
                &json!({ "to": to }),
            )
            .await;
        assert_eq!(r.status(), 204);
    }
    let proposal = json!({
        "facts": {"drugs": [{"drug": "heroin", "grams": 5}]},
        "cracked_on": today(),
        "justification": "当场查获",
        "eligibility": {"not_duty_staff": true, "not_accomplice": true, "not_detained": true}
    });
    let r = s
        .staff_post(
            &officer,
            &format!("/api/v1/staff/tips/{tip}/rewards"),
            &proposal,
        )
        .await;
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    let (id, public_ref) = (v["id"].as_str().unwrap(), v["public_ref"].as_str().unwrap());
    for t in [&head, &signer] {
        let r = s
            .staff_post(t, &format!("/api/v1/staff/rewards/{id}/sign"), &json!(null))
            .await;
        assert_eq!(r.status(), 200);
    }
    let code = claim_code(&s, &receipt).await;

    let (clerk, _) = login(&s, "t.clerk", None, tipline::db::now_unix() as u64).await;
    let (_, html) = s.page(&clerk, "/staff/payouts").await;
    let csrf = hidden(&html, "csrf");
    let r = s
        .submit(
            &clerk,
            "/staff/payouts",
            &[
                ("csrf", &csrf),
                ("claim_code", &code),
                ("method", "transfer"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("转账须填写收款账户")
            && html.contains("aria-describedby=\"account-error\"")
            && html.contains("id=\"method_transfer\" name=\"method\" value=\"transfer\" checked"),
        "{html}"
    );
    let r = s
        .submit(
            &clerk,
            "/staff/payouts",
            &[
                ("csrf", &csrf),
                ("claim_code", &code),
                ("method", "transfer"),
                ("account", "工商银行 6222 0000 1111 2222"),
            ],
        )
        .await;
    assert_eq!(r.status(), 201);
    assert!(r.text().await.unwrap().contains("已下达转账，待确认"));

    let (_, html) = s.page(&clerk, "/staff/payouts").await;
    assert!(
        // The account as typed, not "6222" alone: a random payout id or CSRF token in hex
        // can contain those four digits (a PostgreSQL run of CI drew one).
        html.contains(public_ref) && !html.contains("6222 0000") && !html.contains("工商银行"),
        "{html}"
    );
    let start = html.find("action=\"/staff/payouts/").unwrap() + "action=\"".len();
    let confirm = html[start..start + html[start..].find('"').unwrap()].to_string();
    assert_eq!(s.submit(&clerk, &confirm, &[]).await.status(), 403);
    let r = s.submit(&clerk, &confirm, &[("csrf", &csrf)]).await;
    assert_eq!(r.status(), 303);
    let (_, html) = s.page(&clerk, "/staff/payouts").await;
    assert!(html.contains("没有待确认的转账"));
    let r = s.submit(&clerk, &confirm, &[("csrf", &csrf)]).await;
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("这笔转账不在待确认状态"));
    let (_, html) = s.page(&clerk, "/staff/ledger").await;
    assert!(html.contains(public_ref) && html.contains("转账"));

    // A second reward for the same tip is turned down through the page, with a reason.
    let r = s
        .staff_post(
            &officer,
            &format!("/api/v1/staff/tips/{tip}/rewards"),
            &proposal,
        )
        .await;
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    let reward_page = format!("/staff/rewards/{}", v["id"].as_str().unwrap());
    let (head2, _) = login(&s, "t.head2", None, tipline::db::now_unix() as u64).await;
    let (_, html) = s.page(&head2, &reward_page).await;
    let csrf = hidden(&html, "csrf");
    let reject = format!("{reward_page}/reject");
    let r = s
        .submit(&head2, &reject, &[("csrf", &csrf), ("reason", "made_up")])
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("请从列表中选择理由"));
    let r = s
        .submit(
            &head2,
            &reject,
            &[("csrf", &csrf), ("reason", "earlier_reporter")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (_, html) = s.page(&head2, &reward_page).await;
    assert!(html.contains("不予奖励") && html.contains("他人更早举报了同一线索"));
    let r = s
        .submit(&head2, &format!("{reward_page}/sign"), &[("csrf", &csrf)])
        .await;
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("状态是“不予奖励”"));
}

#[tokio::test]
async fn the_admin_edits_the_policy_and_other_roles_are_refused() {
    let s = Server::start().await;
    add_user(&s, "a.admin", "admin", None);
    add_user(&s, "a.officer", "officer", Some("ps-xidu"));
    let now = tipline::db::now_unix() as u64;
    let (admin, _) = login(&s, "a.admin", None, now).await;
    let (officer, _) = login(&s, "a.officer", None, now).await;
    assert_eq!(s.page(&officer, "/staff/payouts").await.0, 403);
    assert_eq!(s.page(&officer, "/staff/admin/policy/rewards").await.0, 403);
    assert_eq!(s.page(&officer, "/staff/ledger").await.0, 403);
    assert_eq!(s.page(&admin, "/staff/rewards").await.0, 403);
    assert_eq!(s.page(&admin, "/staff/payouts").await.0, 403);
    assert_eq!(s.page(&admin, "/staff/admin/policy/nothing").await.0, 404);
    let r = s.client.get(s.url("/staff/rewards")).send().await.unwrap();
    assert_eq!(location(&r), "/staff/login");

    let (_, html) = s.page(&admin, "/staff/admin").await;
    assert!(html.contains("href=\"/staff/admin/policy/rewards\""));
    let (code, html) = s.page(&admin, "/staff/admin/policy/rewards").await;
    assert_eq!(code, 200);
    assert!(html.contains("内置默认版本") && html.contains("cap_yuan = 300000"));
    let csrf = hidden(&html, "csrf");
    let path = "/staff/admin/policy/rewards";
    let longer =
        tipline::rewards::policy::DEFAULT_REWARDS.replace("claim_months = 2", "claim_months = 3");
    assert_ne!(longer, tipline::rewards::policy::DEFAULT_REWARDS);
    assert_eq!(
        s.submit(&admin, path, &[("body", &longer)]).await.status(),
        403
    );
    let r = s
        .submit(&admin, path, &[("csrf", &csrf), ("body", &longer)])
        .await;
    assert_eq!(r.status(), 303);
    let (_, html) = s.page(&admin, path).await;
    assert!(
        html.contains("第 1 版") && html.contains("claim_months = 3"),
        "{html}"
    );

    let broken = longer.replace("cap_yuan = 300000", "cap_yuan = 0");
    let r = s
        .submit(&admin, path, &[("csrf", &csrf), ("body", &broken)])
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("文件无效")
            && html.contains("cap_yuan = 0")
            && html.contains("第 1 版")
            && html.contains("aria-describedby=\"body-error\""),
        "{html}"
    );
    let r = s
        .submit(
            &admin,
            "/staff/admin/policy/calendar",
            &[("csrf", &csrf), ("body", "not toml [")],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert_eq!(s.count("policy_documents"), 1);
    let (code, html) = s.page(&admin, "/staff/admin/policy/calendar").await;
    assert_eq!(code, 200);
    assert!(html.contains("工作日历"));
}

/// Ids and filters from the address name nothing when they cannot be ids (PostgreSQL refuses a
/// NUL in text): the same 404 or empty list as any unknown id, not a server error.
#[tokio::test]
async fn ids_that_cannot_exist_name_nothing() {
    let s = Server::start().await;
    add_user(&s, "z.officer", "officer", Some("ps-xidu"));
    add_user(&s, "z.finance", "finance", None);
    let now = tipline::db::now_unix() as u64;
    let (officer, _) = login(&s, "z.officer", None, now).await;
    let (finance, _) = login(&s, "z.finance", None, now).await;
    let long = "a".repeat(5000);
    for path in [
        "/staff/rewards/%00x".to_string(),
        format!("/staff/rewards/{long}"),
        "/staff/tips/%00x/rewards/new".to_string(),
        "/staff/tips/%00x".to_string(),
    ] {
        assert_eq!(s.page(&officer, &path).await.0, 404, "{}", &path[..20]);
    }
    assert_eq!(s.page(&officer, "/staff/rewards?status=%00").await.0, 200);
    assert_eq!(s.page(&finance, "/staff/ledger?unit=%00").await.0, 200);
    let (_, html) = s.page(&finance, "/staff/payouts").await;
    let csrf = hidden(&html, "csrf");
    let r = s
        .submit(&finance, "/staff/payouts/%00x/confirm", &[("csrf", &csrf)])
        .await;
    assert_eq!(r.status(), 404, "no such payout");
    let r = s
        .submit(&finance, "/staff/rewards/%00x/sign", &[("csrf", &csrf)])
        .await;
    assert_eq!(r.status(), 404);
}
