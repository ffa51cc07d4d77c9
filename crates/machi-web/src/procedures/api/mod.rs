//! JSON API v1 of the catalog and applications: `GET /api/v1/procedures`, `GET
//! /api/v1/procedures/{id}`, `POST /api/v1/procedures/{id}/applications` and `GET
//! /api/v1/applications/{receipt_number}`, each documented in the OpenAPI document.

pub(crate) mod applications;
pub(crate) mod catalog;
pub(crate) mod search;
mod types;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;

use crate::AppState;

pub(crate) use catalog::{search, CatalogParams};
pub(crate) use types::ProcedurePage;

/// Largest accepted request body: answers plus all attachments of one application.
pub(crate) const MAX_BODY_BYTES: usize = 25 * 1024 * 1024;

/// The routes, relative to `/api/v1`.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/procedures", get(catalog::list_procedures))
        .route("/procedures/{id}", get(catalog::show_procedure))
        .route("/search", get(search::search))
        .route(
            "/procedures/{id}/applications",
            post(applications::create_application).layer(DefaultBodyLimit::max(MAX_BODY_BYTES)),
        )
        .route(
            "/applications/{receipt_number}",
            get(applications::show_application),
        )
        .route("/postcodes/{postcode}", get(super::postcode::lookup))
}
