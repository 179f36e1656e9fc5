//! The staff pages as a person uses them: password, TOTP enrolment from the QR page, the queue,
//! a tip, CSRF on every form, lockout, logout, and deny by default.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failure is a panic

mod common;
use common::*;

#[tokio::test]
async fn login_with_totp_work_a_tip_and_log_out() {
    let s = Server::start().await;
    add_user(&s, "wang", "officer", Some("ps-xidu"));
    let (tip, _) = s.public_tip("venues", "xidu", "歌厅里有人吸毒").await;
    let now = tipline::db::now_unix() as u64;
    let (cookie, uri) = login(&s, "wang", None, now).await;

    let r = s
        .client
        .get(s.url("/staff"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["location"], "/staff/tips");
    let queue = s
        .client
        .get(s.url("/staff/tips"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        queue.contains(&format!("/staff/tips/{tip}")) && !queue.contains("歌厅里有人吸毒"),
        "queue shows metadata only"
    );
    let page = s
        .client
        .get(s.url(&format!("/staff/tips/{tip}")))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("歌厅里有人吸毒"));
    let csrf = hidden(&page, "csrf");

    // Without the CSRF token nothing changes.
    let r = s
        .client
        .post(s.url(&format!("/staff/tips/{tip}/transition")))
        .header("cookie", &cookie)
        .form(&[("to", "triaging")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = s
        .client
        .post(s.url(&format!("/staff/tips/{tip}/transition")))
        .header("cookie", &cookie)
        .form(&[("to", "triaging"), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let r = s
        .client
        .post(s.url(&format!("/staff/tips/{tip}/notes")))
        .header("cookie", &cookie)
        .form(&[("body", "备注"), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let page = s
        .client
        .get(s.url(&format!("/staff/tips/{tip}")))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("初查中") && page.contains("备注"));

    // A refused hotline entry keeps what was typed and names the field in Chinese.
    let r = s
        .client
        .post(s.url("/staff/tips/new"))
        .header("cookie", &cookie)
        .form(&[
            ("csrf", csrf.as_str()),
            ("channel", "box"),
            ("township", "xidu"),
            ("description", "举报箱里的信"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("请选择类别")
            && html.contains("举报箱里的信")
            && html.contains("aria-describedby=\"category-error\"")
    );

    // Hotline entry shows the receipt to read back.
    let r = s
        .client
        .post(s.url("/staff/tips/new"))
        .header("cookie", &cookie)
        .form(&[
            ("csrf", csrf.as_str()),
            ("channel", "hotline"),
            ("category", "trafficking"),
            ("township", "xidu"),
            ("description", "电话举报"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert!(r.text().await.unwrap().contains("id=\"receipt\""));

    // An idle session ends: age it past the idle timeout in the database.
    add_user(&s, "zhao.idle", "officer", Some("ps-xidu"));
    let (idle_cookie, _) = login(&s, "zhao.idle", None, now).await;
    {
        use diesel::prelude::*;
        use tipline::db::schema::sessions;
        let mut conn = s.db();
        let hash =
            tipline::crypto::sha256(idle_cookie.trim_start_matches("tipline_staff=").as_bytes())
                .to_vec();
        let aged = tipline::db::now_unix() - tipline::staff::auth::IDLE_SECONDS - 5;
        let n = diesel::update(sessions::table.filter(sessions::id_hash.eq(hash)))
            .set(sessions::last_seen.eq(aged))
            .execute(&mut conn)
            .unwrap();
        assert_eq!(n, 1);
    }
    let r = s
        .client
        .get(s.url("/staff/tips"))
        .header("cookie", &idle_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["location"],
        "/staff/login",
        "idle sessions expire"
    );

    // Logout ends the session at once; the same TOTP step cannot be used again.
    let r = s
        .client
        .post(s.url("/staff/logout"))
        .header("cookie", &cookie)
        .form(&[("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let r = s
        .client
        .get(s.url("/staff/tips"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["location"], "/staff/login");
    let r = password_step(&s, "wang", "correct horse battery staple").await;
    let cookie2 = cookie_of(&r).unwrap();
    let page = s
        .client
        .get(s.url("/staff/totp"))
        .header("cookie", &cookie2)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("<svg"), "enrolled: no new QR code");
    let r = s
        .client
        .post(s.url("/staff/totp"))
        .header("cookie", &cookie2)
        .form(&[
            ("csrf", hidden(&page, "csrf")),
            ("code", code_for(&uri, now)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "a TOTP code is accepted once");
    // The next time step works.
    let page = s
        .client
        .get(s.url("/staff/totp"))
        .header("cookie", &cookie2)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = s
        .client
        .post(s.url("/staff/totp"))
        .header("cookie", &cookie2)
        .form(&[
            ("csrf", hidden(&page, "csrf")),
            ("code", code_for(&uri, now + 30)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
}

#[tokio::test]
async fn repeated_failures_lock_the_account() {
    let s = Server::start().await;
    add_user(&s, "li.si", "officer", Some("ps-xidu"));
    for _ in 0..5 {
        assert_eq!(
            password_step(&s, "li.si", "wrong password here")
                .await
                .status(),
            401
        );
    }
    let r = password_step(&s, "li.si", "correct horse battery staple").await;
    assert_eq!(r.status(), 401);
    assert!(r.text().await.unwrap().contains("锁定"));
    let r = password_step(&s, "nobody", "whatever password").await;
    assert_eq!(r.status(), 401);
    assert!(
        !s.log().contains("nobody"),
        "typed usernames are not logged"
    );
}

#[tokio::test]
async fn pages_deny_by_default() {
    let s = Server::start().await;
    add_user(&s, "off1", "officer", Some("ps-xidu"));
    add_user(&s, "fin1", "finance", None);
    add_user(&s, "adm1", "admin", None);
    let (other_tip, _) = s.public_tip("other", "jinxi", "别的乡镇").await;
    let now = tipline::db::now_unix() as u64;
    for path in [
        "/staff/tips",
        "/staff/admin",
        "/staff/audit",
        &format!("/staff/tips/{other_tip}"),
    ] {
        let r = s.client.get(s.url(path)).send().await.unwrap();
        assert_eq!(
            (
                r.status().as_u16(),
                r.headers()["location"].to_str().unwrap()
            ),
            (303, "/staff/login"),
            "{path}"
        );
    }
    let (officer, _) = login(&s, "off1", None, now).await;
    let (finance, _) = login(&s, "fin1", None, now).await;
    let (admin, _) = login(&s, "adm1", None, now).await;
    let get = |c: &str, p: &str| {
        s.client
            .get(s.url(p))
            .header("cookie", c.to_string())
            .send()
    };
    assert_eq!(
        get(&officer, &format!("/staff/tips/{other_tip}"))
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(get(&officer, "/staff/admin").await.unwrap().status(), 403);
    assert_eq!(get(&officer, "/staff/audit").await.unwrap().status(), 403);
    assert_eq!(get(&finance, "/staff/tips").await.unwrap().status(), 403);
    assert_eq!(
        get(&finance, &format!("/staff/tips/{other_tip}"))
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(get(&admin, "/staff/tips").await.unwrap().status(), 403);
    let page = get(&admin, "/staff/admin")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("off1") && page.contains("ps-xidu"));
    let csrf = hidden(&page, "csrf");
    let r = s
        .client
        .post(s.url("/staff/admin/users"))
        .header("cookie", &admin)
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", "new.officer"),
            ("role", "officer"),
            ("unit", "ps-jinxi"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert!(r.text().await.unwrap().contains("初始密码"));
    let r = s
        .client
        .post(s.url("/staff/admin/users/off1/disable"))
        .header("cookie", &admin)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let r = get(&officer, "/staff/tips").await.unwrap();
    assert_eq!(r.status(), 303, "a disabled user's session ends at once");
}

/// Issue 14, item 6 on the pages: an admin creates a supervisor on the admin page; it waits
/// ("待审批") until a county supervisor approves it on the pending page; the admin and a
/// station supervisor get 403 on the page and the form; the creator cannot approve; the audit
/// has `user.approve`.
#[tokio::test]
async fn a_county_supervisor_approves_a_waiting_account_on_the_pages() {
    let s = Server::start().await;
    add_user(&s, "p.admin", "admin", None);
    add_user(&s, "p.county", "supervisor", None);
    add_user(&s, "p.station", "supervisor", Some("ps-xidu"));
    add_user(&s, "p.auditor", "auditor", None);
    let now = tipline::db::now_unix() as u64;
    let (admin, _) = login(&s, "p.admin", None, now).await;
    let (county, _) = login(&s, "p.county", None, now).await;
    let (station, _) = login(&s, "p.station", None, now).await;

    let (_, page) = s.page(&admin, "/staff/admin").await;
    assert!(
        page.contains("待审批"),
        "the create form says reader accounts wait"
    );
    let csrf = hidden(&page, "csrf");
    let r = s
        .submit(
            &admin,
            "/staff/admin/users",
            &[
                ("csrf", &csrf),
                ("username", "p.reader"),
                ("role", "supervisor"),
                ("unit", ""),
            ],
        )
        .await;
    assert_eq!(r.status(), 201);
    let created = r.text().await.unwrap();
    let key = "初始密码（只显示一次）：<code>";
    let start = created.find(key).expect("initial password shown") + key.len();
    let password = created[start..start + created[start..].find("</code>").unwrap()].to_string();
    assert!(
        created.contains("审批后才能登录"),
        "the admin is told the account waits"
    );
    let (_, list) = s.page(&admin, "/staff/admin").await;
    let row = &list[list.find("<td>p.reader</td>").unwrap()..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(
        row.contains("待审批") && !row.contains("已停用"),
        "a waiting account is shown as awaiting approval: {row}"
    );

    // It cannot log in yet.
    let r = password_step(&s, "p.reader", &password).await;
    assert_ne!(
        r.headers().get("location").map(|l| l.to_str().unwrap()),
        Some("/staff/totp"),
        "a waiting account is refused"
    );

    // Deny by default: the admin and a station supervisor get 403 on the page and the form.
    let approve = "/staff/accounts/p.reader/approve";
    for who in [&admin, &station] {
        let (status, _) = s.page(who, "/staff/accounts/pending").await;
        assert_eq!(status, 403);
        let (_, any) = s.page(who, "/staff/password").await;
        let csrf = hidden(&any, "csrf");
        assert_eq!(
            s.submit(who, approve, &[("csrf", &csrf)]).await.status(),
            403
        );
    }

    // The county supervisor sees it (linked in the nav while an account waits) and approves it.
    let link = "href=\"/staff/accounts/pending\"";
    let (_, queue) = s.page(&county, "/staff/tips").await;
    assert!(queue.contains(link), "the nav links the pending page");
    let (_, queue) = s.page(&station, "/staff/tips").await;
    assert!(!queue.contains(link), "not for a station supervisor");
    let (status, pending) = s.page(&county, "/staff/accounts/pending").await;
    assert_eq!(status, 200);
    assert!(
        pending.contains("p.reader")
            && pending.contains("staff:p.admin")
            && pending.contains(approve),
        "{pending}"
    );
    let csrf = hidden(&pending, "csrf");
    assert_eq!(
        s.submit(&county, approve, &[]).await.status(),
        403,
        "no CSRF token, no approval"
    );
    let r = s.submit(&county, approve, &[("csrf", &csrf)]).await;
    assert_eq!(r.status(), 200);
    let done = r.text().await.unwrap();
    assert!(done.contains("已批准 p.reader") && done.contains("没有待审批的账号"));
    let r = s.submit(&county, approve, &[("csrf", &csrf)]).await;
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("不在待审批状态"));

    let (_, queue) = s.page(&county, "/staff/tips").await;
    assert!(!queue.contains(link), "no link once nothing waits");

    // Now it can log in.
    let r = password_step(&s, "p.reader", &password).await;
    assert_eq!(r.status(), 303);
    assert_ne!(r.headers()["location"], "/staff/login");
    let (_, list) = s.page(&admin, "/staff/admin").await;
    let row = &list[list.find("<td>p.reader</td>").unwrap()..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(!row.contains("待审批"), "{row}");

    let (auditor, _) = login(&s, "p.auditor", None, now).await;
    let (_, log) = s.page(&auditor, "/staff/audit?action=user.approve").await;
    assert!(
        log.contains("user.approve") && log.contains("staff:p.reader"),
        "{log}"
    );
}
