//! Linking related tips (issue 6) over HTTP against the real binary, on SQLite and (with
//! TEST_DATABASE_URL) PostgreSQL: the blind index finds tips that name the same phone number,
//! plate, ID number, venue or person however they were written; nothing named is stored in
//! the clear; other units see only a count; cases link, unlink and mark duplicates; the
//! earliest accepted reporter of a case is the one rewarded, a joint report is split; changing
//! the normalization version re-indexes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failure is a panic

mod common;
use common::*;
use diesel::prelude::*;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

async fn body(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Files a public tip with `fields` and returns its id.
async fn file(s: &Server, township: &str, fields: Value) -> String {
    let mut t = json!({"category": "trafficking", "township": township});
    for (k, v) in fields.as_object().unwrap() {
        t[k] = v.clone();
    }
    s.public_tip_with(&t).await.0
}

fn unindexed(s: &Server) -> i64 {
    use tipline::db::schema::tips;
    tips::table
        .filter(tips::index_version.lt(tipline::crypto::blind::NORMALIZATION_VERSION))
        .count()
        .get_result(&mut s.db())
        .unwrap()
}

/// Waits for the server's background indexer to index every tip.
async fn indexed(s: &Server) {
    let start = Instant::now();
    while unindexed(s) > 0 {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the background indexer did not index every tip"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn related(s: &Server, token: &str, tip: &str) -> (u16, Value) {
    body(
        s.staff_get(token, &format!("/api/v1/staff/tips/{tip}/related"))
            .await,
    )
    .await
}

/// (public_ref or id, sorted kinds) of each related item.
fn kinds_of(v: &Value, id: &str) -> Vec<String> {
    let item = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == id)
        .unwrap_or_else(|| panic!("{id} not in {v}"));
    let mut k: Vec<String> = item["shared"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap().to_string())
        .collect();
    k.sort();
    k
}

fn audit_count(s: &Server, action: &str) -> i64 {
    use tipline::db::schema::audit_log;
    audit_log::table
        .filter(audit_log::action.eq(action))
        .count()
        .get_result(&mut s.db())
        .unwrap()
}

#[tokio::test]
async fn related_tips_are_found_however_written_and_only_counted_across_units() {
    let s = Server::start().await;
    let xidu = s.staff_token("l.xidu", "officer", Some("ps-xidu"));
    let jinxi = s.staff_token("l.jinxi", "officer", Some("ps-jinxi"));
    let county = s.staff_token("l.county", "supervisor", None);
    let finance = s.staff_token("l.finance", "finance", None);

    let a = file(&s, "xidu", json!({
        "description": "卖货的人电话 138 0013 8000，开一辆湘D·12345，身份证 11010519491231002x，常在金色年华KTV交易",
        "location": "西渡镇梅花村三组",
        "people": "张伟、绰号“老三”",
    })).await;
    let phone = file(
        &s,
        "xidu",
        json!({"description": "联系方式 +86-13800138000"}),
    )
    .await;
    let wide = file(
        &s,
        "xidu",
        json!({
            "description": "电话１３８００１３８０００",
            "vehicles": "湘d 12345 白色面包车",
        }),
    )
    .await;
    let id_number = file(
        &s,
        "xidu",
        json!({"description": "此人身份证号110105 19491231 002X"}),
    )
    .await;
    let venue = file(
        &s,
        "xidu",
        json!({
            "description": "他们晚上去金色年华ktv",
            "people": "外号：老三",
        }),
    )
    .await;
    let place = file(
        &s,
        "xidu",
        json!({"description": "又见可疑人员", "location": "西渡镇 梅花村 三组"}),
    )
    .await;
    let unrelated = file(
        &s,
        "xidu",
        json!({"description": "电话13900139000，车牌湘D54321", "people": "李四"}),
    )
    .await;
    let elsewhere = file(
        &s,
        "jinxi",
        json!({"description": "有人用13800138000联系买货"}),
    )
    .await;
    indexed(&s).await;
    assert!(audit_count(&s, "tip.index") >= 1, "indexing is audited");

    let (code, v) = related(&s, &xidu, &a).await;
    assert_eq!(code, 200, "{v}");
    assert_eq!(kinds_of(&v, &phone), ["phone"]);
    assert_eq!(kinds_of(&v, &wide), ["phone", "plate"]);
    assert_eq!(kinds_of(&v, &id_number), ["id_number"]);
    assert_eq!(kinds_of(&v, &venue), ["person", "venue"]);
    assert_eq!(kinds_of(&v, &place), ["venue"]);
    let ids: Vec<&str> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert!(!ids.contains(&unrelated.as_str()) && !ids.contains(&elsewhere.as_str()));
    assert_eq!(v["elsewhere"], 1, "the other unit's tip is only counted");
    // Values are shown as the tip being read writes them.
    let shown: Vec<&str> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|i| i["shared"].as_array().unwrap())
        .map(|s| s["value"].as_str().unwrap())
        .collect();
    assert!(shown.contains(&"138 0013 8000"), "{shown:?}");
    assert!(shown.contains(&"湘D·12345"), "{shown:?}");

    // The county sees every unit; the other unit sees the xidu tip not at all.
    let (_, v) = related(&s, &county, &a).await;
    assert_eq!(kinds_of(&v, &elsewhere), ["phone"]);
    assert_eq!(v["elsewhere"], 0);
    assert_eq!(related(&s, &jinxi, &a).await.0, 404);
    let (code, v) = related(&s, &jinxi, &elsewhere).await;
    assert_eq!(code, 200);
    assert_eq!(v["items"].as_array().unwrap().len(), 0);
    assert_eq!(v["elsewhere"], 3, "a, phone and wide name the number: {v}");
    assert_eq!(related(&s, &finance, &a).await.0, 403);
    assert_eq!(related(&s, &xidu, &"f".repeat(32)).await.0, 404);
    assert!(audit_count(&s, "tip.related") >= 4);

    // Nothing named is in the database in the clear.
    for secret in [
        "13800138000",
        "138 0013 8000",
        "11010519491231002X",
        "湘D12345",
        "金色年华",
        "老三",
        "梅花村",
    ] {
        assert!(
            !s.database_holds(secret.as_bytes()),
            "{secret} is in the database"
        );
    }
    assert!(!s.log().contains("13800138000"));
}

#[tokio::test]
async fn opening_a_tip_indexes_it_and_a_new_normalization_reindexes() {
    let s = Server::start().await;
    let xidu = s.staff_token("n.xidu", "officer", Some("ps-xidu"));
    let a = file(&s, "xidu", json!({"description": "电话 139-0013-9000"})).await;
    let b = file(&s, "xidu", json!({"description": "号码13900139000"})).await;
    indexed(&s).await;
    use tipline::db::schema::{blind_index, tips};
    let rows = |s: &Server| -> i64 { blind_index::table.count().get_result(&mut s.db()).unwrap() };
    let before = rows(&s);
    assert_eq!(before, 2);
    // An older normalization: the indexer does every tip again, with the same result.
    diesel::update(tips::table)
        .set(tips::index_version.eq(0))
        .execute(&mut s.db())
        .unwrap();
    indexed(&s).await;
    assert_eq!(rows(&s), before);
    // The operator's command does the same at once.
    let out = s.cli(&["index", "run", "--all"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("indexed 2 tips"));
    // Opening a tip indexes it if the background pass has not (rows taken away by hand).
    diesel::delete(blind_index::table.filter(blind_index::tip_id.eq(&a)))
        .execute(&mut s.db())
        .unwrap();
    diesel::update(tips::table.filter(tips::id.eq(&a)))
        .set(tips::index_version.eq(0))
        .execute(&mut s.db())
        .unwrap();
    let (code, v) = body(s.staff_get(&xidu, &format!("/api/v1/staff/tips/{a}")).await).await;
    assert_eq!(code, 200, "{v}");
    assert!(v["case"].is_null() && v["duplicate_of"].is_null());
    let (_, v) = related(&s, &xidu, &b).await;
    assert_eq!(kinds_of(&v, &a), ["phone"]);
}

#[tokio::test]
async fn cases_link_unlink_and_mark_duplicates_within_the_unit() {
    let s = Server::start().await;
    let xidu = s.staff_token("c.xidu", "officer", Some("ps-xidu"));
    let jinxi = s.staff_token("c.jinxi", "officer", Some("ps-jinxi"));
    let finance = s.staff_token("c.finance", "finance", None);
    let a = file(&s, "xidu", json!({"description": "第一条"})).await;
    let b = file(&s, "xidu", json!({"description": "第二条"})).await;
    let c = file(&s, "xidu", json!({"description": "第三条"})).await;
    let other = file(&s, "jinxi", json!({"description": "别处"})).await;

    let (code, v) = body(
        s.staff_post(&xidu, "/api/v1/staff/cases", &json!({"tips": [a, b]}))
            .await,
    )
    .await;
    assert_eq!(code, 201, "{v}");
    let case = v["id"].as_str().unwrap().to_string();
    assert!(v["public_ref"].as_str().unwrap().starts_with('C'));
    let get = |t: &str| {
        let url = format!("/api/v1/staff/cases/{case}");
        let t = t.to_string();
        let s = &s;
        async move { body(s.staff_get(&t, &url).await).await }
    };
    let (code, v) = get(&xidu).await;
    assert_eq!(code, 200);
    let listed: Vec<&str> = v["tips"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed.len(), 2);
    assert_eq!(
        get(&jinxi).await.0,
        404,
        "a case of another unit does not exist for them"
    );
    assert_eq!(get(&finance).await.0, 403);

    // A tip is in at most one case.
    let (code, v) = body(
        s.staff_post(&xidu, "/api/v1/staff/cases", &json!({"tips": [b]}))
            .await,
    )
    .await;
    assert_eq!(
        (code, v["error"]["code"].as_str()),
        (409, Some("already_in_case"))
    );
    // Only tips the officer may see.
    let add = format!("/api/v1/staff/cases/{case}/tips");
    assert_eq!(
        s.staff_post(&xidu, &add, &json!({"tip": other}))
            .await
            .status(),
        404
    );
    assert_eq!(
        s.staff_post(&jinxi, &add, &json!({"tip": other}))
            .await
            .status(),
        404
    );
    assert_eq!(
        s.staff_post(&xidu, &add, &json!({"tip": c})).await.status(),
        204
    );
    let (_, v) = body(s.staff_get(&xidu, &format!("/api/v1/staff/tips/{c}")).await).await;
    assert_eq!(v["case"]["id"], case.as_str());

    // Unlink.
    let del = |tip: &str| {
        s.client
            .delete(s.url(&format!("/api/v1/staff/cases/{case}/tips/{tip}")))
            .bearer_auth(&xidu)
            .send()
    };
    assert_eq!(del(&b).await.unwrap().status(), 204);
    assert_eq!(del(&b).await.unwrap().status(), 404);
    let (_, v) = get(&xidu).await;
    let listed: Vec<&str> = v["tips"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed.len(), 2);
    assert!(listed.contains(&a.as_str()) && listed.contains(&c.as_str()));

    // Duplicates go through the state machine and point at the original.
    let dup = |tip: &str, of: &str| {
        let (url, b) = (
            format!("/api/v1/staff/tips/{tip}/duplicate"),
            json!({"of": of}),
        );
        let (s, xidu) = (&s, &xidu);
        async move { s.staff_post(xidu, &url, &b).await }
    };
    assert_eq!(dup(&c, &a).await.status(), 204);
    let (_, v) = body(s.staff_get(&xidu, &format!("/api/v1/staff/tips/{c}")).await).await;
    assert_eq!(
        (v["status"].as_str(), v["duplicate_of"].as_str()),
        (Some("duplicate"), Some(a.as_str()))
    );
    // b repeats c, which repeats a: b points at a.
    assert_eq!(dup(&b, &c).await.status(), 204);
    let (_, v) = body(s.staff_get(&xidu, &format!("/api/v1/staff/tips/{b}")).await).await;
    assert_eq!(v["duplicate_of"], a.as_str());
    assert_eq!(
        dup(&a, &c).await.status(),
        422,
        "a tip cannot repeat itself"
    );
    assert_eq!(dup(&a, &other).await.status(), 404);
    let (code, v) = body(dup(&c, &a).await).await;
    assert_eq!(
        (code, v["error"]["code"].as_str()),
        (409, Some("conflict")),
        "already a duplicate"
    );
    for action in [
        "case.create",
        "case.link",
        "case.unlink",
        "case.read",
        "tip.duplicate",
    ] {
        assert!(audit_count(&s, action) >= 1, "{action} audited");
    }
}

fn proposal(amount_fen: Option<i64>) -> Value {
    let mut p = json!({
        "facts": {"drugs": [{"drug": "heroin", "grams": 5}]},
        "cracked_on": tipline::rewards::calendar::format(tipline::rewards::calendar::today()),
        "justification": "线索准确",
        "eligibility": {"not_duty_staff": true, "not_accomplice": true, "not_detained": true}
    });
    if let Some(a) = amount_fen {
        p["amount_fen"] = json!(a);
    }
    p
}

#[tokio::test]
async fn the_earliest_accepted_reporter_is_rewarded_and_a_joint_report_is_split() {
    let s = Server::start().await;
    let xidu = s.staff_token("w.xidu", "officer", Some("ps-xidu"));
    let propose = |tip: &str, amount: Option<i64>| {
        let (url, b) = (
            format!("/api/v1/staff/tips/{tip}/rewards"),
            proposal(amount),
        );
        let (s, xidu) = (&s, &xidu);
        async move { s.staff_post(xidu, &url, &b).await }
    };
    use tipline::db::schema::tips;
    let earlier_by = |tip: &str, secs: i64| {
        diesel::update(tips::table.filter(tips::id.eq(tip)))
            .set(tips::created_hour.eq(tips::created_hour - secs))
            .execute(&mut s.db())
            .unwrap();
    };
    // first was reported two hours before second; an even earlier tip was unfounded.
    let first = file(&s, "xidu", json!({"description": "先举报"})).await;
    let second = file(&s, "xidu", json!({"description": "后举报"})).await;
    let unfounded = file(&s, "xidu", json!({"description": "更早但不实"})).await;
    earlier_by(&first, 7200);
    earlier_by(&unfounded, 3 * 7200);
    for t in [&first, &second] {
        s.verify_tip(&xidu, t).await;
    }
    for to in ["triaging", "unfounded"] {
        let r = s
            .staff_post(
                &xidu,
                &format!("/api/v1/staff/tips/{unfounded}/transition"),
                &json!({"to": to}),
            )
            .await;
        assert_eq!(r.status(), 204);
    }
    let (code, v) = body(
        s.staff_post(
            &xidu,
            "/api/v1/staff/cases",
            &json!({"tips": [second, first, unfounded]}),
        )
        .await,
    )
    .await;
    assert_eq!(code, 201, "{v}");
    let first_ref: String = tips::table
        .filter(tips::id.eq(&first))
        .select(tips::public_ref)
        .first(&mut s.db())
        .unwrap();
    let (code, v) = body(propose(&second, None).await).await;
    assert_eq!(
        (code, v["error"]["code"].as_str()),
        (409, Some("earlier_reporter")),
        "{v}"
    );
    assert!(v["error"]["message"].as_str().unwrap().contains(&first_ref));
    let (code, v) = body(propose(&first, None).await).await;
    assert_eq!(code, 201, "the earliest accepted reporter: {v}");
    // Without the case, the later tip would be a report of its own.
    let case = v["id"].as_str().map(str::to_string);
    assert!(case.is_some());

    // Two tips reported in the same hour, linked: one report, split. 5 g is a fixed 300 yuan.
    let c = file(&s, "xidu", json!({"description": "同时举报一"})).await;
    let d = file(&s, "xidu", json!({"description": "同时举报二"})).await;
    for t in [&c, &d] {
        s.verify_tip(&xidu, t).await;
    }
    assert_eq!(
        s.staff_post(&xidu, "/api/v1/staff/cases", &json!({"tips": [c, d]}))
            .await
            .status(),
        201
    );
    assert_eq!(
        propose(&c, Some(15_000)).await.status(),
        201,
        "half of the joint report"
    );
    let (code, v) = body(propose(&d, Some(15_001)).await).await;
    assert_eq!(
        (code, v["error"]["code"].as_str()),
        (422, Some("outside_bounds")),
        "{v}"
    );
    assert_eq!(
        v["error"]["message"].as_str().map(|m| m.contains("15000")),
        Some(true),
        "{v}"
    );
    let (code, v) = body(propose(&d, None).await).await;
    assert_eq!(code, 201, "{v}");
    assert_eq!(
        v["amount_fen"], 15_000,
        "the suggestion is what the partner left"
    );
}

#[tokio::test]
async fn the_tip_page_shows_related_tips_and_links_them_into_a_case() {
    let s = Server::start().await;
    add_user(&s, "p.xidu", "officer", Some("ps-xidu"));
    let a = file(&s, "xidu", json!({"description": "卖家电话13800138000"})).await;
    let b = file(&s, "xidu", json!({"description": "打138-0013-8000能买到"})).await;
    let other = file(
        &s,
        "jinxi",
        json!({"description": "13800138000在金溪也出现"}),
    )
    .await;
    let refs: Vec<String> = [&a, &b]
        .iter()
        .map(|id| {
            use tipline::db::schema::tips;
            tips::table
                .filter(tips::id.eq(id))
                .select(tips::public_ref)
                .first(&mut s.db())
                .unwrap()
        })
        .collect();
    {
        // a was reported an hour before b.
        use tipline::db::schema::tips;
        diesel::update(tips::table.filter(tips::id.eq(&a)))
            .set(tips::created_hour.eq(tips::created_hour - 3600))
            .execute(&mut s.db())
            .unwrap();
    }
    // The background pass indexes b (opening a indexes only a).
    indexed(&s).await;
    let (cookie, _) = login(&s, "p.xidu", None, tipline::db::now_unix() as u64).await;
    let (code, page) = s.page(&cookie, &format!("/staff/tips/{a}")).await;
    assert_eq!(code, 200);
    assert!(page.contains("相关线索") && page.contains(&format!("/staff/tips/{b}")));
    assert!(
        page.contains("电话 13800138000"),
        "the value as this tip writes it"
    );
    assert!(page.contains("其他单位另有 1 条相关线索"));
    assert!(!page.contains(&other) && !page.contains("金溪也出现"));
    let csrf = hidden(&page, "csrf");

    // Without CSRF nothing is linked.
    let r = s
        .submit(&cookie, &format!("/staff/tips/{a}/case"), &[])
        .await;
    assert_eq!(r.status(), 403);
    // A new case from the tip, then the related tip into it by the case's reference.
    let r = s
        .submit(
            &cookie,
            &format!("/staff/tips/{a}/case"),
            &[("csrf", &csrf), ("case_ref", "")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (_, page) = s.page(&cookie, &format!("/staff/tips/{a}")).await;
    let case_link = page.split("/staff/cases/").nth(1).unwrap();
    let case_id = &case_link[..32];
    let case_ref = &case_link[case_link.find('>').unwrap() + 1..][..9];
    assert!(case_ref.starts_with('C'), "{case_ref}");
    let r = s
        .submit(
            &cookie,
            &format!("/staff/tips/{b}/case"),
            &[("csrf", &csrf), ("case_ref", case_ref)],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (code, page) = s.page(&cookie, &format!("/staff/cases/{case_id}")).await;
    assert_eq!(code, 200);
    let (pa, pb) = (page.find(&refs[0]).unwrap(), page.find(&refs[1]).unwrap());
    assert!(pa < pb, "tips in the order they were reported");
    // Linking it again is refused with a page that says why.
    let (code, page) = {
        let r = s
            .submit(
                &cookie,
                &format!("/staff/tips/{b}/case"),
                &[("csrf", &csrf), ("case_ref", "")],
            )
            .await;
        (r.status().as_u16(), r.text().await.unwrap())
    };
    assert_eq!(code, 409);
    assert!(page.contains("已在另一个案件中"));
    // Unlink from the case page, mark b a duplicate of a by reference.
    let r = s
        .submit(
            &cookie,
            &format!("/staff/cases/{case_id}/unlink"),
            &[("csrf", &csrf), ("tip", &b)],
        )
        .await;
    assert_eq!(r.status(), 303);
    let r = s
        .submit(
            &cookie,
            &format!("/staff/tips/{b}/duplicate"),
            &[("csrf", &csrf), ("of", &refs[0])],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (_, page) = s.page(&cookie, &format!("/staff/tips/{b}")).await;
    assert!(page.contains(&format!("原线索：{}", refs[0])));
    assert!(!page.contains("/staff/cases/"), "b left the case");
    assert_eq!(
        s.page(&cookie, &format!("/staff/cases/{}", "0".repeat(32)))
            .await
            .0,
        404
    );
}

/// Files a box tip as `officer` and returns its id.
async fn box_tip(s: &Server, officer: &str, township: &str, description: &str) -> String {
    let r = s
        .staff_post(
            officer,
            "/api/v1/staff/tips",
            &json!({"channel": "box", "category": "other", "township": township, "description": description}),
        )
        .await;
    assert_eq!(r.status(), 201);
    r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Issue 13 item 8: a station officer types the phone number and plate of a county-only tip
/// into a box tip; "other units hold N related tips" must not count the county-only tip, and
/// the county reader is not told to ask the county brigade.
#[tokio::test]
async fn county_only_tips_are_never_counted_for_a_station() {
    let s = Server::start().await;
    add_user(&s, "c.county", "officer", Some("county"));
    let xidu = s.staff_token("k.xidu", "officer", Some("ps-xidu"));
    let county = s.staff_token("k.county", "officer", Some("county"));
    let secret = file(
        &s,
        "xidu",
        json!({
            "description": "卖货的人电话 13800138000，开湘D·12345，派出所有人和他熟",
            "county_only": true,
        }),
    )
    .await;
    let unit: String = {
        use tipline::db::schema::tips;
        tips::table
            .filter(tips::id.eq(&secret))
            .select(tips::unit_code)
            .first(&mut s.db())
            .unwrap()
    };
    assert_eq!(unit, "county");
    // The station's probe: a "box tip" naming the phone and the plate.
    let probe = box_tip(&s, &xidu, "xidu", "举报箱：电话13800138000，车牌湘D12345").await;
    indexed(&s).await;
    let (code, v) = related(&s, &xidu, &probe).await;
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["items"].as_array().unwrap().len(), 0, "{v}");
    assert_eq!(v["elsewhere"], 0, "the county-only tip is not counted: {v}");

    // A tip of another station naming the same number is still counted (the count works).
    let jinxi = file(
        &s,
        "jinxi",
        json!({"description": "金溪也有人用13800138000卖货"}),
    )
    .await;
    indexed(&s).await;
    let (_, v) = related(&s, &xidu, &probe).await;
    assert_eq!(v["elsewhere"], 1, "only the jinxi tip: {v}");

    // The county brigade sees the station's tips only as a count, and its page does not tell
    // it to contact itself.
    let (code, v) = related(&s, &county, &secret).await;
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["elsewhere"], 2, "the box tip and the jinxi tip: {v}");
    let (cookie, _) = login(&s, "c.county", None, tipline::db::now_unix() as u64).await;
    let (code, page) = s.page(&cookie, &format!("/staff/tips/{secret}")).await;
    assert_eq!(code, 200);
    assert!(page.contains("其他单位另有 2 条相关线索"), "{page}");
    assert!(
        !page.contains("请联系县禁毒大队"),
        "the county is told to ask itself"
    );
    assert!(!page.contains(&jinxi));
}

/// Issue 13 item 9: a direct SQL UPDATE moves a county-only tip to the local station. The
/// station neither lists nor opens it, nor counts it as related; the county brigade's
/// supervisors see it flagged, on the API and the pages.
#[tokio::test]
async fn a_tip_rerouted_by_sql_is_refused_to_the_station_and_flagged_for_the_county() {
    let s = Server::start().await;
    // County supervisors see every unit: they find the moved tip, flagged.
    add_user(&s, "r.county", "supervisor", Some("county"));
    let xidu = s.staff_token("r.xidu", "officer", Some("ps-xidu"));
    let county = s.staff_token("r.countyapi", "supervisor", Some("county"));
    let secret = file(
        &s,
        "xidu",
        json!({"description": "只给县里：电话13900139000的人在卖货", "county_only": true}),
    )
    .await;
    let normal = file(&s, "xidu", json!({"description": "普通线索：13900139000"})).await;
    let queue = |token: String| {
        let s = &s;
        async move {
            let v: Value = s
                .staff_get(&token, "/api/v1/staff/tips")
                .await
                .json()
                .await
                .unwrap();
            v["items"].as_array().unwrap().clone()
        }
    };
    let find = |items: &[Value], id: &str| items.iter().find(|i| i["id"] == id).cloned();
    let before = queue(county.clone()).await;
    assert_eq!(find(&before, &secret).unwrap()["route_intact"], true);
    assert_eq!(
        find(&queue(xidu.clone()).await, &normal).unwrap()["route_intact"],
        true
    );

    // The insider's write: no application code, no audit entry.
    {
        use tipline::db::schema::tips;
        diesel::update(tips::table.filter(tips::id.eq(&secret)))
            .set((tips::unit_code.eq("ps-xidu"), tips::county_only.eq(false)))
            .execute(&mut s.db())
            .unwrap();
    }
    let station = queue(xidu.clone()).await;
    assert!(
        find(&station, &secret).is_none(),
        "listed to the station: {station:?}"
    );
    assert!(find(&station, &normal).is_some());
    let r = s
        .staff_get(&xidu, &format!("/api/v1/staff/tips/{secret}"))
        .await;
    assert_eq!(r.status(), 404, "the station opens it");
    let (code, v) = related(&s, &xidu, &normal).await;
    assert_eq!(code, 200);
    assert_eq!(v["items"].as_array().unwrap().len(), 0, "{v}");
    assert_eq!(v["elsewhere"], 0, "{v}");

    // The county brigade still sees it, flagged.
    let mine = queue(county.clone()).await;
    assert_eq!(find(&mine, &secret).unwrap()["route_intact"], false);
    let t: Value = s
        .staff_get(&county, &format!("/api/v1/staff/tips/{secret}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(t["route_intact"], false, "{t}");
    assert!(
        t["report"]["description"]
            .as_str()
            .unwrap()
            .contains("只给县里")
    );
    let (cookie, _) = login(&s, "r.county", None, tipline::db::now_unix() as u64).await;
    let (code, page) = s.page(&cookie, &format!("/staff/tips/{secret}")).await;
    assert_eq!(code, 200);
    assert!(
        page.contains("分派信息") && page.contains("不一致"),
        "{page}"
    );
    let (_, list) = s.page(&cookie, "/staff/tips").await;
    assert!(list.contains("分派信息被改动"));

    // Putting the columns back restores the binding: it is the clear columns that are checked.
    {
        use tipline::db::schema::tips;
        diesel::update(tips::table.filter(tips::id.eq(&secret)))
            .set((tips::unit_code.eq("county"), tips::county_only.eq(true)))
            .execute(&mut s.db())
            .unwrap();
    }
    assert_eq!(
        find(&queue(county.clone()).await, &secret).unwrap()["route_intact"],
        true
    );

    // A tip from before the binding (no MAC) is treated as moved until the operator binds it;
    // `keys bind-routing` binds only tips without a MAC, never a broken one.
    {
        use tipline::db::schema::tips;
        diesel::update(tips::table.filter(tips::id.eq(&normal)))
            .set(tips::route_mac.eq(None::<Vec<u8>>))
            .execute(&mut s.db())
            .unwrap();
        diesel::update(tips::table.filter(tips::id.eq(&secret)))
            .set((tips::unit_code.eq("ps-xidu"), tips::county_only.eq(false)))
            .execute(&mut s.db())
            .unwrap();
    }
    assert!(find(&queue(xidu.clone()).await, &normal).is_none());
    let out = s.cli(&["keys", "bind-routing"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("bound the routing of 1 tips"));
    let station = queue(xidu.clone()).await;
    assert_eq!(find(&station, &normal).unwrap()["route_intact"], true);
    assert!(
        find(&station, &secret).is_none(),
        "a broken binding was re-made"
    );
    assert_eq!(audit_count(&s, "tip.route.bind"), 1);
}

/// Issue 13 item 9, the rest: after a database write moves a county-only tip to the station,
/// every action or read by id the station's officer tries is refused as if the tip did not
/// exist (404, audited as denied), the status counts leave it out, and an officer of the
/// county brigade (not only a supervisor) is shown it, flagged, whatever its unit column says.
#[tokio::test]
async fn a_rerouted_tip_is_refused_on_every_path_outside_the_county_brigade() {
    use reqwest::multipart::{Form, Part};
    use tipline::db::schema::{audit_log, tip_notes, tips};
    let s = Server::start().await;
    let xidu = s.staff_token("m.xidu", "officer", Some("ps-xidu"));
    let county = s.staff_token("m.county", "officer", Some("county"));
    let form = Form::new()
        .text("category", "trafficking")
        .text("township", "xidu")
        .text("county_only", "true")
        .text("description", "只给县里：电话13900139000的人在卖货")
        .part(
            "attachment",
            Part::bytes(b"RR-ATTACHMENT plain text".to_vec()).file_name("notes.txt"),
        );
    let r = s
        .client
        .post(s.url("/api/v1/tips"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let secret: String = tips::table
        .filter(tips::county_only.eq(true))
        .select(tips::id)
        .first(&mut s.db())
        .unwrap();
    // The station's own tip: every request below works on it, so a refusal is the binding's.
    let normal = file(&s, "xidu", json!({"description": "普通线索：13900139000"})).await;
    indexed(&s).await;
    let t: Value = s
        .staff_get(&county, &format!("/api/v1/staff/tips/{secret}"))
        .await
        .json()
        .await
        .unwrap();
    let attachment = t["report"]["attachments"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let queue = |token: String| {
        let s = &s;
        async move {
            let v: Value = s
                .staff_get(&token, "/api/v1/staff/tips")
                .await
                .json()
                .await
                .unwrap();
            v
        }
    };
    let listed = |v: &Value, id: &str| {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == id)
            .cloned()
    };
    let total = |v: &Value| {
        v["counts"]
            .as_object()
            .unwrap()
            .values()
            .map(|n| n.as_i64().unwrap())
            .sum::<i64>()
    };
    assert_eq!(total(&queue(xidu.clone()).await), 1);
    let search = |token: String| {
        let s = &s;
        async move {
            s.staff_get(&token, "/api/v1/staff/search?q=13900139000")
                .await
                .json::<Value>()
                .await
                .unwrap()
        }
    };

    // The insider's write: no application code, no audit entry.
    diesel::update(tips::table.filter(tips::id.eq(&secret)))
        .set((tips::unit_code.eq("ps-xidu"), tips::county_only.eq(false)))
        .execute(&mut s.db())
        .unwrap();

    let post = |id: &str, what: &str, body: Value| {
        let (s, token, path) = (&s, xidu.clone(), format!("/api/v1/staff/tips/{id}/{what}"));
        async move { s.staff_post(&token, &path, &body).await.status().as_u16() }
    };
    let attempts: [(&str, Value); 6] = [
        ("rewards/suggest", json!({"facts": {"labs": 1}})),
        ("transition", json!({"to": "assigned"})),
        ("notes", json!({"body": "站里的备注"})),
        ("assign", json!({"username": "m.xidu"})),
        ("triage", json!({"priority": 3, "tags": ["x"]})),
        ("messages", json!({"body": "请再说说"})),
    ];
    for (what, body) in &attempts {
        assert_eq!(post(&secret, what, body.clone()).await, 404, "{what}");
        let ok = post(&normal, what, body.clone()).await;
        assert!(
            (200..300).contains(&ok),
            "{what} on the station's own tip: {ok}"
        );
    }
    let r = s
        .staff_get(
            &xidu,
            &format!("/api/v1/staff/tips/{secret}/attachments/{attachment}"),
        )
        .await;
    assert_eq!(r.status(), 404, "the station downloads its attachment");
    assert_eq!(
        post(&normal, "duplicate", json!({"of": secret})).await,
        404,
        "marked a duplicate of it"
    );
    let (code, _) = related(&s, &xidu, &secret).await;
    assert_eq!(code, 404);
    let found = search(xidu.clone()).await;
    assert!(listed(&found, &normal).is_some(), "{found}");
    assert!(listed(&found, &secret).is_none(), "{found}");
    assert_eq!(found["elsewhere"], 0, "{found}");
    let station = queue(xidu.clone()).await;
    assert!(listed(&station, &secret).is_none());
    assert_eq!(total(&station), 1, "{station}");

    // Nothing changed, and every refusal is in the audit log as denied.
    let (status, priority, assigned): (String, i32, Option<String>) = tips::table
        .filter(tips::id.eq(&secret))
        .select((tips::status, tips::priority, tips::assigned_to))
        .first(&mut s.db())
        .unwrap();
    assert_eq!((status.as_str(), priority, assigned), ("received", 0, None));
    let notes: i64 = tip_notes::table
        .filter(tip_notes::tip_id.eq(&secret))
        .count()
        .get_result(&mut s.db())
        .unwrap();
    assert_eq!(notes, 0);
    let denied: Vec<String> = audit_log::table
        .filter(audit_log::object.like(format!("tip:{secret}%")))
        .filter(audit_log::actor.eq("staff:m.xidu"))
        .filter(audit_log::outcome.eq("denied"))
        .select(audit_log::action)
        .load(&mut s.db())
        .unwrap();
    for action in [
        "tip.transition.assigned",
        "tip.note",
        "tip.assign",
        "tip.triage",
        "tip.message",
        "tip.attachment.read",
        "tip.related",
    ] {
        assert!(denied.iter().any(|a| a == action), "{action}: {denied:?}");
    }

    // An officer of the county brigade is told: the moved tip is in their queue and counts,
    // flagged, though its unit column now names the station; they open it and find it too.
    let mine = queue(county.clone()).await;
    assert_eq!(
        listed(&mine, &secret).unwrap()["route_intact"],
        false,
        "{mine}"
    );
    assert!(listed(&mine, &normal).is_none(), "{mine}");
    assert_eq!(total(&mine), 1, "{mine}");
    let r = s
        .staff_get(&county, &format!("/api/v1/staff/tips/{secret}"))
        .await;
    assert_eq!(r.status(), 200);
    assert!(listed(&search(county.clone()).await, &secret).is_some());
}
