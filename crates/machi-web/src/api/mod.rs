//! JSON API v1 (`/api/v1`): the catalog and applications, documented by a generated OpenAPI
//! 3.1 document at `/api/v1/openapi.json`.

mod applications;
mod assets;
mod plans;
mod procedures;
mod types;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::{Json, Router};
use utoipa::OpenApi;

use crate::AppState;

pub(crate) use applications::lookup;
pub(crate) use procedures::{search, CatalogParams};
pub(crate) use types::{ProcedurePage, Text};

/// Largest accepted request body: answers plus all attachments of one application.
pub(crate) const MAX_BODY_BYTES: usize = 25 * 1024 * 1024;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "machi API",
        description = "Online procedures of a Japanese city hall: the procedure catalog, applications and their status, and the city's ICT/DX plans and, for staff, its IT asset ledger.",
        license(name = "AGPL-3.0-or-later")
    ),
    paths(
        procedures::list_procedures,
        procedures::show_procedure,
        applications::create_application,
        applications::show_application,
        crate::subscriptions::push::subscribe_browser,
        crate::subscriptions::push::vapid_public_key,
        plans::list_plans,
        plans::show_plan,
        assets::list_assets
    ),
    components(schemas(crate::problem::Problem)),
    tags((name = "procedures", description = "手続 (the procedure catalog)"),
         (name = "applications", description = "申請 (applications and their status)"),
         (name = "notices", description = "お知らせ配信 (subscriptions to notices)"),
         (name = "plans", description = "情報化計画・DX推進計画 (ICT/DX plans)"),
         (name = "assets", description = "情報資産台帳 (the IT asset ledger; staff only)"))
)]
struct ApiDoc;

/// The OpenAPI document as served.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The API routes, relative to `/api/v1`.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(|| async { Json(openapi_document()) }))
        .route("/procedures", get(procedures::list_procedures))
        .route("/procedures/{id}", get(procedures::show_procedure))
        .route(
            "/procedures/{id}/applications",
            post(applications::create_application).layer(DefaultBodyLimit::max(MAX_BODY_BYTES)),
        )
        .route(
            "/applications/{receipt_number}",
            get(applications::show_application),
        )
        .route("/plans", get(plans::list_plans))
        .route("/plans/{id}", get(plans::show_plan))
        .route("/assets", get(assets::list_assets))
        .merge(crate::subscriptions::api_routes())
        .fallback(|| async { crate::problem::ApiError::not_found("no such API route") })
}
