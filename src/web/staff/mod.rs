//! The staff side: pages under /staff and the JSON API under /api/v1/staff.
//!
//! Shared helpers live in small modules of their own: `layout` (page, redirect, nav, error page,
//! labels), `session` (cookie, sign-in, CSRF, roles), `forms` (posted forms), `reward_parts`
//! (reward lines and refusals shared by the tip, reward and payout pages) and `api_kit` (the API's
//! actor, scopes, role checks, query and JSON readers). Each resource has one handler file that
//! uses them; no handler file imports another. The routes are wired here, in one place.

pub mod api_kit;
pub mod forms;
pub mod layout;
pub mod reward_parts;
pub mod session;

pub mod admin;
pub mod api;
pub mod audit;
pub mod cases;
pub mod evidence;
pub mod link_api;
pub mod login;
pub mod payouts;
pub mod reports;
pub mod reward_api;
pub mod rewards;
pub mod tips;

use actix_web::web;

/// The staff pages, in the order they were always registered.
pub fn configure_pages(cfg: &mut web::ServiceConfig) {
    cfg.configure(login::configure)
        .configure(tips::configure)
        .configure(cases::configure)
        .configure(admin::configure)
        .configure(audit::configure)
        .configure(rewards::configure)
        .configure(payouts::configure)
        .configure(reports::configure_pages)
        .configure(evidence::configure_pages);
}

/// The staff JSON API, in the order it was always registered.
pub fn configure_api(cfg: &mut web::ServiceConfig) {
    cfg.configure(api::configure)
        .configure(reward_api::configure)
        .configure(reports::configure_api)
        .configure(link_api::configure)
        .configure(evidence::configure_api);
}
