//! オープンデータ: the catalog in the staff console (datasets, files checked against the
//! national standard datasets on upload). The CKAN Action API is in `ckan`.

mod ckan;
mod dcat;
mod public;
mod staff;
mod upload;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use machi_core::opendata::standard::Definitions;

use crate::kit::{ApiError, PageError};
use crate::AppState;

/// The public pages and file downloads.
pub(crate) fn public_routes() -> Router<AppState> {
    Router::new()
        .route("/opendata", get(public::catalog))
        .route("/opendata/datasets/{name}", get(public::dataset))
        .route("/opendata/coverage", get(public::coverage))
        .route("/opendata/datasets/{name}/feed.atom", get(public::feed))
        .route("/opendata/resources/{id}/download", get(public::download))
        .route("/catalog.jsonld", get(dcat::json_ld))
        .route("/catalog.ttl", get(dcat::turtle))
        .merge(ckan::routes())
}

/// The staff routes; the staff guard (session, CSRF, Origin) wraps them.
pub(crate) fn staff_routes() -> Router<AppState> {
    Router::new()
        .route("/staff/opendata", get(staff::list))
        .route(
            "/staff/opendata/new",
            get(staff::new_form).post(staff::create),
        )
        .route(
            "/staff/opendata/{id}",
            get(staff::edit_form).post(staff::update),
        )
        .route(
            "/staff/opendata/{id}/resources",
            post(upload::add).layer(DefaultBodyLimit::max(upload::MAX_FILE + 64 * 1024)),
        )
}

/// The standard dataset definitions machi ships with.
pub(crate) fn definitions() -> Result<&'static Definitions, PageError> {
    Definitions::shared().map_err(|e| PageError::from(ApiError::internal(e)))
}

pub(crate) use ckan::read_every_parameter;
