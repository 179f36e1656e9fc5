//! Shared by the staff pages: the HTML response, the redirect, the navigation bar, the error page
//! and the Chinese labels of catalogue codes and states.

// Helpers return `Err(response)` meaning "send this instead"; boxing it would buy nothing.
#![allow(clippy::result_large_err)]

use crate::intake::catalog::TOWNSHIPS;
use crate::staff::auth::Session;
use crate::triage::links;
use crate::web::errors::ApiError;
use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use tipline_views::maud::Markup;
use tipline_views::staff as v;
use tipline_views::staff_links as vl;

pub(crate) fn page(status: StatusCode, m: Markup) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(m.into_string())
}

pub(crate) fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header(("Location", to))
        .finish()
}

pub(crate) fn nav<'a>(s: &'a Session, csrf: &'a str) -> v::Nav<'a> {
    v::Nav {
        username: &s.actor.username,
        role: s.actor.role.as_str(),
        county_wide: s.actor.sees_all(),
        approvals_waiting: s.approvals_waiting,
        csrf,
    }
}

pub(crate) fn error_page(e: &ApiError, s: Option<(&Session, &str)>) -> HttpResponse {
    let text = match e {
        ApiError::Forbidden => "您的角色不能进行这项操作。",
        ApiError::NotFound => "没有这条记录，或它不属于您的单位。",
        ApiError::Conflict(_) | ApiError::Invalid(_) => "操作未完成：输入或状态不符合要求。",
        _ => "服务器出错，操作没有完成。",
    };
    let n = s.map(|(s, c)| nav(s, c));
    page(
        actix_web::ResponseError::status_code(e),
        v::message("出错了", n.as_ref(), text),
    )
}

pub(crate) fn label(list: &'static [crate::intake::catalog::Choice], code: &str) -> String {
    list.iter()
        .find(|c| c.code == code)
        .map(|c| c.zh.to_string())
        .unwrap_or_else(|| code.to_string())
}

pub(crate) fn township_zh(code: &str) -> String {
    label(TOWNSHIPS, code)
}

pub(crate) fn status_zh(s: &str) -> &'static str {
    match s {
        "received" => "已收到",
        "triaging" => "初查中",
        "assigned" => "已指派",
        "investigating" => "调查中",
        "verified" => "查证属实",
        "unfounded" => "查无实据",
        "duplicate" => "重复线索",
        "out_of_scope" => "不属受理范围",
        "closed" => "已办结",
        _ => "未知",
    }
}

pub(crate) fn channel_zh(s: &str) -> &'static str {
    match s {
        "web" => "网上",
        "sms" => "短信",
        "email" => "邮件",
        "hotline" => "电话",
        "box" => "举报箱",
        _ => "其他",
    }
}

pub(crate) fn kind_zh(k: crate::crypto::blind::Kind) -> &'static str {
    use crate::crypto::blind::Kind;
    match k {
        Kind::Phone => "电话",
        Kind::Plate => "车牌",
        Kind::IdNumber => "身份证号",
        Kind::Venue => "场所",
        Kind::Person => "人员",
    }
}

pub(crate) fn linked_tip(t: &links::TipLine, detail: String) -> vl::LinkedTip {
    vl::LinkedTip {
        id: t.id.clone(),
        public_ref: t.public_ref.clone(),
        status: status_zh(&t.status).to_string(),
        township: label(TOWNSHIPS, &t.township),
        received: crate::web::hour_local(t.created_hour),
        detail,
    }
}
