//! Staff authentication (issue 14, items 2-5 and 9): the lockout counted atomically per
//! (account, client network), TOTP guesses ending the session and counting toward the lock,
//! unknown usernames answered like known ones, initial passwords changed first and expiring,
//! scoped short-lived tokens, and the login form's CSRF token bound to the browser.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failure is a panic

mod common;
use common::*;
use diesel::prelude::*;
use tipline::db::schema::{api_tokens, login_locks, staff};

const PASSWORD: &str = "correct horse battery staple";

/// A server behind a "proxy" at 127.0.0.1, so each request names its client address in
/// X-Forwarded-For: that is how one machine plays several client networks.
async fn behind_proxy() -> Server {
    Server::start_with(Options {
        extra_env: vec![("TIPLINE_TRUSTED_PROXIES", "127.0.0.1/32".into())],
        ..Default::default()
    })
    .await
}

/// The password step from client address `ip`: (status, location, session cookie, body).
async fn password_from(
    client: &reqwest::Client,
    base: &str,
    ip: &str,
    name: &str,
    password: &str,
) -> (u16, String, Option<String>, String) {
    let r = client
        .get(format!("{base}/staff/login"))
        .header("x-forwarded-for", ip)
        .send()
        .await
        .unwrap();
    let pre = login_cookie_of(&r).unwrap();
    let csrf = hidden(&r.text().await.unwrap(), "csrf");
    let r = client
        .post(format!("{base}/staff/login"))
        .header("x-forwarded-for", ip)
        .header("cookie", &pre)
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", name),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let location = r
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let cookie = cookie_of(&r);
    (status, location, cookie, r.text().await.unwrap())
}

fn base(s: &Server) -> String {
    s.url("").trim_end_matches('/').to_string()
}

const LOCKED: &str = "锁定";

/// The answer's text without the per-form CSRF token.
fn answer(body: &str) -> String {
    let start = body.find("name=\"csrf\" value=\"").unwrap();
    let end = start + body[start..].find("\">").unwrap();
    format!("{}{}", &body[..start], &body[end..])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forty_parallel_wrong_passwords_lock_that_network_out_and_no_one_else() {
    let s = behind_proxy().await;
    add_user(&s, "li.si", "officer", Some("ps-xidu"));
    let attacker = "198.51.100.7";
    let base = base(&s);
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let client = s.client.clone();
            let base = base.clone();
            tokio::spawn(async move {
                password_from(
                    &client,
                    &base,
                    attacker,
                    "li.si",
                    &format!("wrong guess {i:03}"),
                )
                .await
            })
        })
        .collect();
    let mut checked = 0;
    for t in tasks {
        let (status, _, cookie, body) = t.await.unwrap();
        assert_eq!(status, 401);
        assert!(cookie.is_none());
        if !body.contains(LOCKED) {
            checked += 1;
        }
    }
    // The counter is taken before the password is verified, inside the transaction that checks
    // the lock: of 40 parallel guesses only the first five are ever checked.
    assert_eq!(
        checked,
        tipline::staff::auth::LOCK_AFTER,
        "guesses that got a password check"
    );
    // The right password from the attacker's network: still locked.
    let (status, _, cookie, body) =
        password_from(&s.client, &base, attacker, "li.si", PASSWORD).await;
    assert_eq!(status, 401);
    assert!(cookie.is_none() && body.contains(LOCKED), "{body}");
    // The same /32 only: a neighbour and the real officer elsewhere log in.
    let (status, location, cookie, _) =
        password_from(&s.client, &base, "198.51.100.8", "li.si", PASSWORD).await;
    assert_eq!((status, location.as_str()), (303, "/staff/totp"));
    assert!(cookie.is_some());
    let (status, ..) = password_from(&s.client, &base, "203.0.113.5", "li.si", PASSWORD).await;
    assert_eq!(status, 303, "a stranger elsewhere cannot lock everyone out");

    // IPv6: the whole /64 is one client network.
    for i in 0..5 {
        let ip = format!("2001:db8:7:7::{i:x}");
        let (status, ..) = password_from(&s.client, &base, &ip, "li.si", "wrong again 123").await;
        assert_eq!(status, 401);
    }
    let (status, _, _, body) =
        password_from(&s.client, &base, "2001:db8:7:7:ffff::1", "li.si", PASSWORD).await;
    assert!(status == 401 && body.contains(LOCKED), "same /64: locked");
    let (status, ..) = password_from(&s.client, &base, "2001:db8:7:8::1", "li.si", PASSWORD).await;
    assert_eq!(status, 303, "the next /64 is not");

    // Neither the address nor the network is stored: only keyed hashes, one row per lock.
    let dump = s.database_dump();
    for needle in ["198.51.100.7", "2001:db8:7:7", "v4:198", "v6:2001"] {
        assert!(
            !contains(&dump, needle.as_bytes()),
            "{needle} in the database"
        );
    }
    let rows: i64 = login_locks::table.count().get_result(&mut s.db()).unwrap();
    assert!(rows >= 2, "{rows} lock rows");
    assert!(!s.log().contains("198.51.100.7"), "no address in the log");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_usernames_get_the_same_answers_locked_included() {
    let s = behind_proxy().await;
    add_user(&s, "zhao.liu", "officer", Some("ps-xidu"));
    let base = base(&s);
    // One browser (one pre-session cookie, one CSRF token) asks about both names, so the pages
    // can be compared whole.
    let ip = "192.0.2.44";
    let r = s
        .client
        .get(format!("{base}/staff/login"))
        .header("x-forwarded-for", ip)
        .send()
        .await
        .unwrap();
    let pre = login_cookie_of(&r).unwrap();
    let csrf = hidden(&r.text().await.unwrap(), "csrf");
    let attempt = |name: &'static str| {
        let (client, base, pre, csrf) = (s.client.clone(), base.clone(), pre.clone(), csrf.clone());
        async move {
            let r = client
                .post(format!("{base}/staff/login"))
                .header("x-forwarded-for", ip)
                .header("cookie", &pre)
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("username", name),
                    ("password", "not the password!"),
                ])
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    for round in 0..7 {
        let known = attempt("zhao.liu").await;
        let unknown = attempt("zhao.liu.x").await;
        assert_eq!(known, unknown, "round {round}: the same status and page");
        assert_eq!(known.1.contains(LOCKED), round >= 5, "round {round}");
    }
    // The page without its token is the same for a fresh browser too.
    let (_, _, _, fresh) = password_from(&s.client, &base, ip, "zhao.liu.x", "x").await;
    let (_, _, _, real) = password_from(&s.client, &base, ip, "zhao.liu", "x").await;
    assert_eq!(answer(&fresh), answer(&real));
    assert!(real.contains(LOCKED));
}

/// Enrols TOTP for `name` from the default client and returns the otpauth URI.
async fn enrolled(s: &Server, name: &str) -> String {
    add_user(s, name, "officer", Some("ps-xidu"));
    let (_, uri) = login(s, name, None, tipline::db::now_unix() as u64).await;
    uri
}

/// A password-stage session from `ip`: (cookie, the TOTP form's CSRF token).
async fn password_stage(s: &Server, ip: &str, name: &str) -> (String, String) {
    let (status, _, cookie, body) = password_from(&s.client, &base(s), ip, name, PASSWORD).await;
    assert_eq!(status, 303, "{body}");
    let cookie = cookie.unwrap();
    let page = s
        .client
        .get(s.url("/staff/totp"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    (cookie.clone(), hidden(&page, "csrf"))
}

/// 300 TOTP codes on one session from `ip`, 50 at a time: where each answer sent the client.
async fn guess_codes(s: &Server, ip: &str, cookie: &str, csrf: &str, right: &str) -> Vec<String> {
    let mut out = Vec::new();
    for chunk in 0..6 {
        let tasks: Vec<_> = (0..50)
            .map(|i| {
                let n = chunk * 50 + i;
                let code = format!("{:06}", (n * 3331 + 17) % 1_000_000);
                let code = if code == right { "000000".into() } else { code };
                let (client, url) = (s.client.clone(), s.url("/staff/totp"));
                let (cookie, csrf, ip) = (cookie.to_string(), csrf.to_string(), ip.to_string());
                tokio::spawn(async move {
                    let r = client
                        .post(url)
                        .header("cookie", &cookie)
                        .header("x-forwarded-for", &ip)
                        .form(&[("csrf", csrf.as_str()), ("code", code.as_str())])
                        .send()
                        .await
                        .unwrap();
                    let loc = r
                        .headers()
                        .get("location")
                        .map(|v| v.to_str().unwrap().to_string());
                    match loc {
                        Some(l) => l,
                        None => {
                            let status = r.status().as_u16().to_string();
                            // The answer that ends the session names it.
                            if r.text().await.unwrap().contains("本次登录已作废") {
                                "ended".into()
                            } else {
                                status
                            }
                        }
                    }
                })
            })
            .collect();
        for t in tasks {
            out.push(t.await.unwrap());
        }
    }
    out
}

async fn post_code(
    s: &Server,
    ip: &str,
    cookie: &str,
    csrf: &str,
    code: &str,
) -> reqwest::Response {
    s.client
        .post(s.url("/staff/totp"))
        .header("cookie", cookie)
        .header("x-forwarded-for", ip)
        .form(&[("csrf", csrf), ("code", code)])
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totp_guessing_ends_the_session_and_locks_the_account_for_that_network() {
    let s = behind_proxy().await;
    let uri = enrolled(&s, "sun.qi").await;
    let ip = "198.51.100.60";
    // Far enough ahead that the enrolment's step is not reused, inside the accepted skew.
    let right = code_for(&uri, tipline::db::now_unix() as u64 + 30);

    let (cookie, csrf) = password_stage(&s, ip, "sun.qi").await;
    let answers = guess_codes(&s, ip, &cookie, &csrf, &right).await;
    assert!(
        !answers.iter().any(|a| a == "/staff"),
        "no guess logged in: {answers:?}"
    );
    let wrong = answers.iter().filter(|a| *a == "401").count();
    assert!(answers.iter().any(|a| a == "ended"), "{answers:?}");
    assert!(
        wrong <= tipline::staff::auth::TOTP_TRIES as usize,
        "at most {} codes were checked, {wrong} were",
        tipline::staff::auth::TOTP_TRIES
    );
    // The right code on that session: the session is gone.
    let right = code_for(&uri, tipline::db::now_unix() as u64 + 30);
    let r = post_code(&s, ip, &cookie, &csrf, &right).await;
    assert_eq!(r.headers()["location"], "/staff/login", "the session ended");
    let r = s
        .client
        .get(s.url("/staff/tips"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["location"], "/staff/login");

    // Logging in again does not buy a fresh set of guesses: the failures stay counted, and
    // the next round locks this network out of the account.
    let (cookie, csrf) = password_stage(&s, ip, "sun.qi").await;
    let answers = guess_codes(&s, ip, &cookie, &csrf, &right).await;
    assert!(!answers.iter().any(|a| a == "/staff"), "{answers:?}");
    let (status, _, _, body) = password_from(&s.client, &base(&s), ip, "sun.qi", PASSWORD).await;
    assert_eq!(status, 401);
    assert!(body.contains(LOCKED), "TOTP failures count toward the lock");
    let failed: i64 = s
        .db()
        .transaction::<_, diesel::result::Error, _>(|c| {
            tipline::db::schema::audit_log::table
                .filter(tipline::db::schema::audit_log::action.eq("login.totp"))
                .filter(tipline::db::schema::audit_log::outcome.eq("failed"))
                .count()
                .get_result(c)
        })
        .unwrap();
    assert!(
        failed <= 2 * tipline::staff::auth::TOTP_TRIES as i64,
        "{failed} codes checked in all"
    );

    // The officer, from their own network, still logs in with password and code.
    let ip2 = "203.0.113.77";
    let (cookie, csrf) = password_stage(&s, ip2, "sun.qi").await;
    let right = code_for(&uri, tipline::db::now_unix() as u64 + 30);
    let r = post_code(&s, ip2, &cookie, &csrf, &right).await;
    assert_eq!(r.headers()["location"], "/staff");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totp_posts_are_rate_limited() {
    let s = Server::start_with(Options {
        rate_limit: "2",
        ..Default::default()
    })
    .await;
    add_user(&s, "zhou.ba", "officer", Some("ps-xidu"));
    let r = password_step(&s, "zhou.ba", PASSWORD).await;
    assert_eq!(r.status(), 303);
    let cookie = cookie_of(&r).unwrap();
    let page = s
        .client
        .get(s.url("/staff/totp"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = hidden(&page, "csrf");
    let mut statuses = Vec::new();
    // Five codes: even if a minute turns between them, the two windows hold at most four posts.
    for _ in 0..5 {
        let r = s
            .client
            .post(s.url("/staff/totp"))
            .header("cookie", &cookie)
            .form(&[("csrf", csrf.as_str()), ("code", "123456")])
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    // The login POST and the first code fill this minute's two; the next code is refused.
    assert_eq!(statuses[0], 401, "{statuses:?}");
    assert!(statuses.contains(&429), "{statuses:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initial_passwords_are_changed_first_and_expire_unused() {
    let s = Server::start().await;
    let pw = s.dir.path().join("initial.pw");
    std::fs::write(&pw, "initial password 42\n").unwrap();
    let out = s.cli(&[
        "user",
        "add",
        "--username",
        "qian.jiu",
        "--role",
        "officer",
        "--unit",
        "ps-xidu",
        "--password-file",
        pw.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("72 h"));
    // A token issued from the CLI is no way around it.
    let token = {
        let out = s.cli(&["token", "issue", "--username", "qian.jiu"]);
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .last()
            .unwrap()
            .trim()
            .to_string()
    };
    assert_eq!(s.staff_get(&token, "/api/v1/staff/me").await.status(), 401);

    // Password, then TOTP enrolment, then the change-password page and nothing else.
    let r = password_step(&s, "qian.jiu", "initial password 42").await;
    assert_eq!(r.status(), 303);
    let cookie = cookie_of(&r).unwrap();
    let page = s
        .client
        .get(s.url("/staff/totp"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let start = page.find("otpauth://").unwrap();
    let uri = page[start..start + page[start..].find('<').unwrap()].to_string();
    let r = s
        .client
        .post(s.url("/staff/totp"))
        .header("cookie", &cookie)
        .form(&[
            ("csrf", hidden(&page, "csrf")),
            ("code", code_for(&uri, tipline::db::now_unix() as u64)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["location"], "/staff/password");
    for path in ["/staff", "/staff/tips", "/staff/tips/new", "/staff/totp"] {
        let r = s
            .client
            .get(s.url(path))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["location"], "/staff/password", "{path}");
    }
    let (status, page) = s.page(&cookie, "/staff/password").await;
    assert_eq!(status, 200);
    assert!(page.contains("初始密码"), "{page}");
    let r = s
        .client
        .post(s.url("/staff/password"))
        .header("cookie", &cookie)
        .form(&[
            ("csrf", hidden(&page, "csrf").as_str()),
            ("current", "initial password 42"),
            ("new", "my very own password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["location"], "/staff/login");
    assert_eq!(s.staff_get(&token, "/api/v1/staff/me").await.status(), 200);
    let r = password_step(&s, "qian.jiu", "my very own password").await;
    let cookie = cookie_of(&r).unwrap();
    let page = s.page(&cookie, "/staff/totp").await.1;
    let r = s
        .client
        .post(s.url("/staff/totp"))
        .header("cookie", &cookie)
        .form(&[
            ("csrf", hidden(&page, "csrf")),
            ("code", code_for(&uri, tipline::db::now_unix() as u64 + 30)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["location"], "/staff", "a full session now");
    assert_eq!(s.page(&cookie, "/staff/tips").await.0, 200);

    // A reset gives a new initial password; unused past its time, it no longer logs in.
    let out = s.cli(&["user", "reset-password", "--username", "qian.jiu"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let fresh = text
        .lines()
        .find_map(|l| l.strip_prefix("initial password (shown once): "))
        .unwrap()
        .to_string();
    assert_eq!(
        s.page(&cookie, "/staff/tips").await.0,
        303,
        "the reset ended the sessions"
    );
    diesel::update(staff::table.filter(staff::username.eq("qian.jiu")))
        .set(staff::password_expires_at.eq(Some(tipline::db::now_unix() - 1)))
        .execute(&mut s.db())
        .unwrap();
    let r = password_step(&s, "qian.jiu", &fresh).await;
    assert_eq!(r.status(), 401);
    assert!(cookie_of(&r).is_none());
    assert!(r.text().await.unwrap().contains("初始密码已过期"));
    // A wrong password gets the ordinary answer: the expiry says nothing to a guesser.
    let r = password_step(&s, "qian.jiu", "not it at all").await;
    assert!(!r.text().await.unwrap().contains("过期"));
    // A new reset works again, and again only for the change page.
    let out = s.cli(&["user", "reset-password", "--username", "qian.jiu"]);
    let text = String::from_utf8(out.stdout).unwrap();
    let fresh = text
        .lines()
        .find_map(|l| l.strip_prefix("initial password (shown once): "))
        .unwrap()
        .to_string();
    let r = password_step(&s, "qian.jiu", &fresh).await;
    assert_eq!(r.status(), 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_scoped_per_route_and_short_lived() {
    let s = Server::start().await;
    // A full token to file a tip with, then narrower ones for the same officer.
    let full = s.staff_token("wu.shi", "officer", Some("ps-xidu"));
    let (id, _) = s.public_tip("trafficking", "xidu", "范围测试").await;
    let issue = |args: &[&str]| {
        let mut all = vec!["token", "issue", "--username", "wu.shi"];
        all.extend_from_slice(args);
        let out = s.cli(&all);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        (
            text.split_whitespace().nth(1).unwrap().to_string(),
            text.lines().last().unwrap().trim().to_string(),
        )
    };
    let (read_id, read) = issue(&[]);
    let note = serde_json::json!({ "body": "scoped note" });
    let tip = format!("/api/v1/staff/tips/{id}");
    let notes = format!("/api/v1/staff/tips/{id}/notes");
    assert_eq!(
        s.staff_get(&read, &tip).await.status(),
        200,
        "read by default"
    );
    assert_eq!(
        s.staff_post(&read, &notes, &note).await.status(),
        403,
        "a read token cannot write"
    );
    assert_eq!(
        s.staff_get(&read, "/api/v1/staff/rewards").await.status(),
        403,
        "nor read rewards"
    );
    let (_, write) = issue(&["--scope", "read,write"]);
    assert_eq!(s.staff_post(&write, &notes, &note).await.status(), 201);
    assert_eq!(s.staff_post(&full, &notes, &note).await.status(), 201);
    // A scope never widens a role: an officer's admin-scoped token still cannot add users.
    let (_, admin_scoped) = issue(&["--scope", "admin"]);
    assert_eq!(
        s.staff_get(&admin_scoped, "/api/v1/staff/users")
            .await
            .status(),
        403
    );
    assert!(
        !s.cli(&["token", "issue", "--username", "wu.shi", "--scope", "root"])
            .status
            .success()
    );
    // Lifetimes: a day by default, a month at most.
    let (long_id, _) = issue(&["--hours", "100000"]);
    let life = |id: &str| -> i64 {
        let (c, e): (i64, i64) = api_tokens::table
            .filter(api_tokens::id.eq(id))
            .select((api_tokens::created_at, api_tokens::expires_at))
            .first(&mut s.db())
            .unwrap();
        e - c
    };
    assert_eq!(life(&read_id), 24 * 3600);
    assert_eq!(life(&long_id), 30 * 24 * 3600);
    // Refusals for scope are audited.
    let denied: i64 = tipline::db::schema::audit_log::table
        .filter(tipline::db::schema::audit_log::action.eq("token.scope"))
        .count()
        .get_result(&mut s.db())
        .unwrap();
    assert!(denied >= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_login_forms_token_is_bound_to_its_browser() {
    let s = Server::start().await;
    add_user(&s, "zheng.shi", "officer", Some("ps-xidu"));
    let r = s.client.get(s.url("/staff/login")).send().await.unwrap();
    let set = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with("tipline_login="))
        .unwrap();
    assert!(
        set.contains("Path=/staff") && set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    let mine = set.split(';').next().unwrap().to_string();
    let token = hidden(&r.text().await.unwrap(), "csrf");
    let (theirs, _) = login_form(&s).await;
    let post = |cookie: Option<String>| {
        let mut req = s.client.post(s.url("/staff/login")).form(&[
            ("csrf", token.as_str()),
            ("username", "zheng.shi"),
            ("password", PASSWORD),
        ]);
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        async move { req.send().await.unwrap().status().as_u16() }
    };
    // An attacker's page that posts a token it fetched itself: the victim's browser has another
    // pre-session cookie, or none.
    assert_eq!(post(Some(theirs)).await, 403);
    assert_eq!(post(None).await, 403);
    assert_eq!(post(Some(mine.clone())).await, 303);
    // A second tab of the same browser gets a form with the same binding.
    let r = s
        .client
        .get(s.url("/staff/login"))
        .header("cookie", &mine)
        .send()
        .await
        .unwrap();
    assert!(
        login_cookie_of(&r).is_none(),
        "the cookie is kept, not replaced"
    );
    assert_eq!(hidden(&r.text().await.unwrap(), "csrf"), token);
}
