//! Staff pages for tips: the queue, one tip with its actions, and hotline/box entry.

// Helpers return `Err(response)` meaning "send this instead"; boxing it would buy nothing.
#![allow(clippy::result_large_err)]

use super::forms::*;
use super::layout::*;
use super::reward_parts::*;
use super::session::*;
use crate::intake::catalog::{CATEGORIES, TOWNSHIPS};
use crate::intake::{Channel, StaffStamp, Submitted, TipFields};
use crate::staff::auth::Session;
use crate::triage::work::{self, QueueFilter};
use crate::triage::{evidence, links};
use crate::web::AppState;
use crate::web::db;
use crate::web::errors::ApiError;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use std::collections::HashMap;
use tipline_views::maud::Markup;
use tipline_views::staff as v;
use tipline_views::staff_links as vl;

pub async fn queue(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let s = match signed_in(&state, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let csrf = csrf_of(&state, &s);
    let q: HashMap<String, String> =
        serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    let get = |k: &str| q.get(k).filter(|v| !v.is_empty()).cloned();
    let filter = QueueFilter {
        status: get("status"),
        category: get("category"),
        township: get("township"),
        channel: get("channel"),
        priority: get("priority").and_then(|p| p.parse().ok()),
        tag: get("tag"),
        max_age_days: get("max_age_days").and_then(|p| p.parse().ok()),
        oldest_first: get("order").as_deref() == Some("oldest"),
        cursor: get("cursor"),
        limit: Some(50),
        assigned: get("assigned").as_deref().and_then(work::Assigned::parse),
    };
    let actor = s.actor.clone();
    let f2 = filter.clone();
    let result = db(&state, move |c, st| {
        let (items, next) = work::queue(c, &actor, &st.staff.route, &f2)?;
        let overdue = overdue_count(c, &actor)?;
        Ok((
            items,
            next,
            work::counts(c, &actor, &st.staff.route)?,
            overdue,
        ))
    })
    .await;
    let (items, next, counts, overdue_rewards) = match result {
        Ok(x) => x,
        Err(e) => return error_page(&e, Some((&s, &csrf))),
    };
    let next_link = next.map(|c| {
        let mut q2 = q.clone();
        q2.insert("cursor".into(), c);
        format!(
            "/staff/tips?{}",
            serde_urlencoded::to_string(&q2).unwrap_or_default()
        )
    });
    let opts = |list: &'static [crate::intake::catalog::Choice]| {
        list.iter()
            .map(|c| (c.code.to_string(), c.zh.to_string()))
            .collect::<Vec<_>>()
    };
    let statuses = crate::triage::states::STATUSES
        .iter()
        .map(|s| (s.to_string(), status_zh(s).to_string()))
        .collect();
    let channels = ["web", "sms", "email", "hotline", "box"]
        .iter()
        .map(|c| (c.to_string(), channel_zh(c).to_string()))
        .collect();
    let sel = |k: &str| q.get(k).cloned().unwrap_or_default();
    let p = v::QueuePage {
        nav: nav(&s, &csrf),
        rows: items
            .into_iter()
            .map(|i| v::QueueRow {
                received: crate::web::hour_local(i.created_hour),
                category: label(CATEGORIES, &i.category),
                township: label(TOWNSHIPS, &i.township),
                channel: channel_zh(&i.channel).to_string(),
                status: status_zh(&i.status).to_string(),
                priority: i.priority,
                tags: i.tags.join(", "),
                unread: i.unread_messages,
                assignee: i.assignee.unwrap_or_default(),
                route_broken: !i.route_intact,
                id: i.id,
                public_ref: i.public_ref,
            })
            .collect(),
        counts: counts
            .into_iter()
            .map(|(st, n)| (status_zh(&st).to_string(), n))
            .collect(),
        next_link,
        filters: vec![
            ("status", "状态", statuses, sel("status")),
            ("category", "类别", opts(CATEGORIES), sel("category")),
            ("township", "乡镇", opts(TOWNSHIPS), sel("township")),
            ("channel", "渠道", channels, sel("channel")),
        ],
        oldest_first: filter.oldest_first,
        overdue_rewards,
        assigned: match filter.assigned {
            Some(work::Assigned::Mine) => "me",
            Some(work::Assigned::Nobody) => "none",
            None => "",
        },
    };
    page(StatusCode::OK, v::queue(&p))
}

pub async fn tip(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let s = match signed_in(&state, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let csrf = csrf_of(&state, &s);
    let id = crate::web::key(path.into_inner());
    let actor = s.actor.clone();
    let idc = id.clone();
    let view = db(&state, move |c, st| {
        let opener = st.staff.opener.as_ref().ok_or(ApiError::Unavailable)?;
        let t = work::open_tip(
            c,
            &st.staff.signer,
            opener,
            st.staff.blind.as_ref(),
            &st.staff.route,
            &actor,
            &idc,
        )?;
        let rewards = tip_rewards(c, &st.staff.route, &actor, &idc)?;
        let related = match st.linker() {
            Some(l) => Some(links::related(c, &l, &actor, &idc)?),
            None => None,
        };
        let original = match &t.duplicate_of {
            Some(o) => crate::triage::work::public_ref_of(c, o)?,
            None => None,
        };
        // Text files are shown on the page: each one opened is a read, audited on its own.
        let mut texts = HashMap::new();
        for a in evidence::listed(&t.report) {
            if !a.is_image() {
                let o = evidence::open(
                    c,
                    &st.staff.signer,
                    opener,
                    &st.staff.route,
                    &actor,
                    &idc,
                    &a.id,
                )?;
                texts.insert(a.id, String::from_utf8_lossy(&o.bytes).into_owned());
            }
        }
        Ok((t, rewards, related, original, texts))
    })
    .await;
    let (t, rewards, related, original, mut texts) = match view {
        Ok(t) => t,
        Err(e) => return error_page(&e, Some((&s, &csrf))),
    };
    let text = |k: &str| {
        t.report
            .get(k)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string()
    };
    let mut report = vec![("发生了什么", text("description"))];
    for (k, l) in [
        ("location", "地点"),
        ("occurred_at", "时间"),
        ("people", "人员"),
        ("vehicles", "车辆"),
    ] {
        let v = text(k);
        if !v.is_empty() {
            report.push((l, v));
        }
    }
    let channel = channel_zh(&t.meta.channel);
    let attachments = evidence::listed(&t.report)
        .into_iter()
        .enumerate()
        .map(|(i, a)| {
            let url = format!("/staff/tips/{id}/attachments/{}", a.id);
            let text = texts.remove(&a.id);
            let text_cut = text
                .as_ref()
                .is_some_and(|t| t.chars().count() > PAGE_TEXT_CHARS);
            v::AttachmentView {
                n: i + 1,
                image: a.is_image(),
                download: format!("{url}?download=1"),
                url,
                kind: attachment_kind_zh(&a.content_type).to_string(),
                size: size_text(a.size),
                channel: channel.to_string(),
                text: text.map(|t| t.chars().take(PAGE_TEXT_CHARS).collect()),
                text_cut,
            }
        })
        .collect();
    let mut meta = vec![
        ("类别", label(CATEGORIES, &t.meta.category)),
        ("乡镇", label(TOWNSHIPS, &t.meta.township)),
        ("收到（小时）", crate::web::hour_local(t.meta.created_hour)),
        ("渠道", channel.to_string()),
        ("状态", status_zh(&t.meta.status).to_string()),
        (
            "指派给",
            t.meta
                .assignee
                .clone()
                .unwrap_or_else(|| "未指派".to_string()),
        ),
        ("优先级", t.meta.priority.to_string()),
        ("标签", t.meta.tags.join(", ")),
        (
            "只限县禁毒大队",
            if t.meta.county_only { "是" } else { "否" }.to_string(),
        ),
    ];
    if let Some(clerk) = &t.entered_by {
        meta.push(("录入人（见过回执号）", clerk.clone()));
    }
    if !matches!(t.meta.channel.as_str(), "web" | "api") || t.receipt_exchanged_hour.is_some() {
        meta.push((
            "回执号更换（小时）",
            t.receipt_exchanged_hour
                .map(crate::web::hour_local)
                .unwrap_or_else(|| "未更换".into()),
        ));
    }
    let p = v::TipPage {
        nav: nav(&s, &csrf),
        id: &id,
        public_ref: &t.meta.public_ref,
        meta,
        report,
        attachments,
        assigned_to_me: t.meta.assigned_to.as_deref() == Some(s.actor.id.as_str()),
        priority: t.meta.priority,
        tags: t.meta.tags.join(", "),
        events: t
            .events
            .iter()
            .map(|e| {
                format!(
                    "{} {}：{} → {}",
                    crate::web::hour_local(e.at),
                    e.actor,
                    status_zh(&e.from),
                    status_zh(&e.to)
                )
            })
            .collect(),
        notes: t
            .notes
            .iter()
            .map(|n| (n.author.clone(), n.body.clone()))
            .collect(),
        next_states: t.next_states.iter().map(|s| (*s, status_zh(s))).collect(),
        error: None,
        rewards: Some(rewards),
        messages: t
            .messages
            .iter()
            .map(|m| v::ThreadEntry {
                from_police: m.from == "police",
                who: m.author.clone().unwrap_or_else(|| "举报人".into()),
                hour: crate::web::hour_local(m.at),
                body: m.body.clone(),
            })
            .collect(),
        has_contact: t.meta.channel == "sms" || t.meta.channel == "email",
        related: related.map(|r| vl::RelatedSection {
            items: r
                .items
                .iter()
                .map(|i| {
                    let shared: Vec<String> = i
                        .shared
                        .iter()
                        .map(|s| format!("{} {}", kind_zh(s.kind), s.value))
                        .collect();
                    linked_tip(&i.tip, shared.join("；"))
                })
                .collect(),
            elsewhere: r.elsewhere,
            truncated: r.truncated,
            county_reader: s.actor.in_county_brigade(),
        }),
        case_panel: vl::CasePanel {
            tip_id: &id,
            case: t
                .case
                .as_ref()
                .map(|c| (c.id.clone(), c.public_ref.clone())),
            duplicate_of: original,
            may_mark_duplicate: t.next_states.contains(&"duplicate"),
        },
        route_broken: !t.meta.route_intact,
    };
    // Photos come from this origin only; nothing else loads on the page that shows them.
    let mut r = page(StatusCode::OK, v::tip(&p));
    r.headers_mut().insert(
        actix_web::http::header::CONTENT_SECURITY_POLICY,
        actix_web::http::header::HeaderValue::from_static(TIP_PAGE_CSP),
    );
    r
}

/// The tip page's CSP: images only from our own origin (no `data:`), as the global one
/// otherwise allows for the captcha.
const TIP_PAGE_CSP: &str = "default-src 'none'; img-src 'self'; style-src 'self'; \
    form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Characters of a text attachment shown on the tip page; the download has all of it.
const PAGE_TEXT_CHARS: usize = 20_000;

fn attachment_kind_zh(content_type: &str) -> &'static str {
    match content_type {
        "image/jpeg" => "JPEG 图片",
        "image/png" => "PNG 图片",
        "image/webp" => "WebP 图片",
        t if t.starts_with("text/plain") => "文本文件",
        _ => "文件",
    }
}

/// A size for people: bytes, KB or MB (1024-based, one decimal).
fn size_text(bytes: u64) -> String {
    if bytes < 1024 {
        format!("{bytes} 字节")
    } else if bytes < 1024 * 1024 {
        format!("{:.1} KB", bytes as f64 / 1024.0)
    } else {
        format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
    }
}

/// One POST handler for the tip's forms: transition, assign, triage, notes.
pub async fn tip_action(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> HttpResponse {
    let (s, f) = match posted(&state, &req, &body, None).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let csrf = csrf_of(&state, &s);
    let (id, action) = path.into_inner();
    let id = crate::web::key(id);
    let actor = s.actor.clone();
    let idc = id.clone();
    // After a message, back at the conversation that shows it rather than the top of the tip.
    let anchor = if action == "messages" { "#thread" } else { "" };
    let result = db(&state, move |c, st| {
        let get = |k: &str| {
            f.get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        match action.as_str() {
            "transition" => work::transition(
                c,
                &st.desk(),
                &actor,
                &idc,
                &get("to").unwrap_or_default(),
                get("note").as_deref(),
            ),
            "assign" => work::assign(
                c,
                &st.staff.signer,
                &st.staff.route,
                &actor,
                &idc,
                get("username").as_deref(),
            ),
            "triage" => {
                let tags: Option<Vec<String>> = f.get("tags").map(|t| {
                    t.split([',', '，'])
                        .map(|x| x.trim().to_string())
                        .filter(|x| !x.is_empty())
                        .collect()
                });
                work::set_triage(
                    c,
                    &st.staff.signer,
                    &st.staff.route,
                    &actor,
                    &idc,
                    get("priority").and_then(|p| p.parse().ok()),
                    tags.as_deref(),
                )
            }
            "notes" => work::add_note(
                c,
                &st.desk(),
                &actor,
                &idc,
                &get("body").unwrap_or_default(),
            ),
            "messages" => work::post_message(
                c,
                &st.desk(),
                &actor,
                &idc,
                &get("body").unwrap_or_default(),
            ),
            "case" => match get("case_ref") {
                None => links::create_case(
                    c,
                    &st.staff.signer,
                    &st.staff.route,
                    &actor,
                    std::slice::from_ref(&idc),
                )
                .map(drop),
                Some(r) => {
                    let case = links::id_by_ref(c, &r)?.unwrap_or_default();
                    links::add_to_case(c, &st.staff.signer, &st.staff.route, &actor, &case, &idc)
                }
            },
            "unlink" => {
                let case = links::case_of(c, &idc)?.map(|r| r.id).unwrap_or_default();
                links::remove_from_case(c, &st.staff.signer, &st.staff.route, &actor, &case, &idc)
            }
            "duplicate" => {
                let of = links::id_by_ref(c, &get("of").unwrap_or_default())?.unwrap_or_default();
                links::mark_duplicate(c, &st.staff.signer, &st.staff.route, &actor, &idc, &of)
            }
            _ => return Err(ApiError::NotFound),
        }
        .map_err(ApiError::from)
    })
    .await;
    match result {
        Ok(()) => see_other(&format!("/staff/tips/{id}{anchor}")),
        Err(e) => {
            let text = match &e {
                ApiError::Conflict(_) => "这条线索当前的状态不能改为所选状态。",
                ApiError::Invalid(m) => match m.as_str() {
                    "no such officer" => "找不到这个用户名，或该账号已停用。",
                    "that person cannot work this tip" => {
                        "此人不能处理这条线索（角色或单位不符）。"
                    }
                    "priority is 0 to 3" => "优先级只能是 0 到 3。",
                    "empty note" => "备注不能为空。",
                    "note too long" => "备注太长（最多 10000 字）。",
                    "a message is 1 to 2,000 characters" => "给举报人的消息须为 1 到 2000 字。",
                    "unknown status" => "没有这个状态。",
                    "a tip cannot be a duplicate of itself" => "一条线索不能是它自己的重复。",
                    _ => "标签最多 10 个，只能包含文字、数字、- 和 _。",
                },
                ApiError::Refused {
                    code: "already_in_case",
                    ..
                } => "这条线索已在另一个案件中；一条线索只能属于一个案件。",
                ApiError::NotFound => "没有这条线索（或案件），或它不属于您的单位。",
                ApiError::Forbidden => "您的角色不能进行这项操作。",
                _ => "服务器出错，操作没有完成。",
            };
            let back = format!("/staff/tips/{id}");
            let status = actix_web::ResponseError::status_code(&e);
            page(
                status,
                v::message_with_link(
                    "操作未完成",
                    Some(&nav(&s, &csrf)),
                    text,
                    Some((&back, "返回这条线索")),
                ),
            )
        }
    }
}

fn new_tip_page(
    s: &Session,
    csrf: &str,
    errors: Vec<(&str, &str)>,
    values: v::NewTipValues,
) -> Markup {
    v::new_tip(&v::NewTipPage {
        nav: nav(s, csrf),
        categories: CATEGORIES.iter().map(|c| (c.code, c.zh)).collect(),
        townships: TOWNSHIPS.iter().map(|c| (c.code, c.zh)).collect(),
        errors,
        values,
    })
}

/// The staff form's message for an intake field error, naming the field as the form labels it.
fn field_error_zh(field: &str, code: &str) -> &'static str {
    match (field, code) {
        ("category", "required") => "请选择类别。",
        ("township", "required") => "请选择乡镇。",
        ("description", "required") => "请填写内容。",
        ("category", _) | ("township", _) => "请从列表中选择。",
        (_, "too_long") => "内容太长。",
        _ => "这一项有误。",
    }
}

pub async fn new_tip_form(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let s = match signed_in(&state, &req).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let csrf = csrf_of(&state, &s);
    if !s.actor.role.reads_tips() {
        return error_page(&ApiError::Forbidden, Some((&s, &csrf)));
    }
    page(
        StatusCode::OK,
        new_tip_page(&s, &csrf, Vec::new(), v::NewTipValues::default()),
    )
}

pub async fn new_tip(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let (s, f) = match posted(&state, &req, &body, None).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let csrf = csrf_of(&state, &s);
    if !s.actor.role.reads_tips() {
        return error_page(&ApiError::Forbidden, Some((&s, &csrf)));
    }
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    let channel = if get("channel") == "box" {
        Channel::Box
    } else {
        Channel::Hotline
    };
    let typed = v::NewTipValues {
        channel: get("channel"),
        category: get("category"),
        township: get("township"),
        description: get("description"),
        location: get("location"),
        county_only: get("county_only") == "on",
    };
    let fields = TipFields {
        category: typed.category.clone(),
        township: typed.township.clone(),
        description: typed.description.clone(),
        location: Some(typed.location.clone()),
        county_only: typed.county_only,
        ..Default::default()
    };
    let stamp = StaffStamp {
        actor: s.actor.audit_name(),
        staff_id: s.actor.id.clone(),
        signer: state.staff.signer.clone(),
    };
    match state.intake.submit_by_staff(channel, fields, stamp).await {
        Ok((Submitted::Created(receipt), id)) => {
            let public_ref = db(&state, move |c, _| {
                crate::triage::work::public_ref_of(c, &id)
                    .ok()
                    .flatten()
                    .ok_or(ApiError::Internal)
            })
            .await
            .unwrap_or_default();
            page(
                StatusCode::CREATED,
                v::caller_receipt(&nav(&s, &csrf), &receipt.display(), &public_ref),
            )
        }
        Ok(_) => error_page(&ApiError::Internal, Some((&s, &csrf))),
        Err(crate::intake::IntakeError::Invalid(list)) => {
            let errors = list
                .iter()
                .map(|e| (e.field, field_error_zh(e.field, e.code)))
                .collect();
            page(
                StatusCode::UNPROCESSABLE_ENTITY,
                new_tip_page(&s, &csrf, errors, typed),
            )
        }
        Err(e) => error_page(&ApiError::from(e), Some((&s, &csrf))),
    }
}

// --- admin and audit ---------------------------------------------------------------------------

pub fn configure(cfg: &mut web::ServiceConfig) {
    use crate::web::resource;
    cfg.service(resource("/tips", "GET").route(web::get().to(queue)))
        .service(
            resource("/tips/new", "GET, POST")
                .route(web::get().to(new_tip_form))
                .route(web::post().to(new_tip)),
        )
        .service(resource("/tips/{id}", "GET").route(web::get().to(tip)))
        .service(resource("/tips/{id}/{action}", "POST").route(web::post().to(tip_action)));
}
