//! 手続 (procedures): the catalog residents search, applying online (forms, attachments,
//! confirm, receipt), correcting after 補正, the status page, prefill from the profile, life-event
//! bundles, the JSON API of all of it; and for staff the procedure editor and counter mode
//! (書かない窓口), where staff fill in or finish a form for a visitor.

mod acknowledge;
pub(crate) mod api;
mod apply;
mod cache;
mod carried;
mod catalog;
mod correct;
mod counter;
mod editor;
mod form_view;
mod inventory;
mod life_events;
pub(crate) mod postcode;
mod prefill;
mod receipt;
mod status;
mod submit;
mod visit;

use axum::routing::{get, post};
use axum::Router;

use crate::AppState;

pub(crate) use cache::{FormCache, ProcedureCache};

/// The resident pages.
pub(crate) fn public_routes() -> Router<AppState> {
    Router::new()
        .route("/", get(catalog::home))
        .route("/procedures", get(catalog::catalog))
        .route("/procedures/{id}", get(catalog::procedure))
        .route(
            "/procedures/{id}/apply",
            get(apply::show_form).post(apply::post_form),
        )
        .route("/procedures/{id}/submit", post(apply::submit))
        .route("/procedures/{id}/receipt", get(receipt::show))
        .route("/procedures/{id}/prefill", post(prefill::create))
        .route("/life-events", get(life_events::list))
        .route(
            "/life-events/{id}",
            get(life_events::questions).post(life_events::submit),
        )
        .route("/life-events/{id}/form", get(life_events::form))
        .route("/life-events/{id}/receipt", get(life_events::receipt_page))
        .route("/status", get(status::show).post(status::lookup))
        .route("/status/correct", post(correct::correct))
        .route(
            "/account/applications/{receipt}",
            get(status::my_application),
        )
}

/// The procedure editor and counter mode, behind the staff guard.
pub(crate) fn staff_routes() -> Router<AppState> {
    Router::new()
        .merge(editor::staff_routes())
        .route("/staff/inventory", get(inventory::show))
        .route("/staff/counter", get(counter::home))
        .route("/staff/counter/open", get(counter::open))
        .route("/staff/counter/submit", post(counter::submit_for_visitor))
}

/// The JSON API, relative to `/api/v1`.
pub(crate) fn api_routes() -> Router<AppState> {
    api::routes()
}
