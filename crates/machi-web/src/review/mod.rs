//! 審査 (review): a department's inbox of applications (filters, search, bulk assignment and
//! status changes), one application with its workflow, messages to the applicant, internal
//! comments and the printable 受付票, and the CSV exports for Excel and 基幹 systems.

mod actions;
mod application;
mod decisions;
mod export;
mod inbox;

use axum::routing::{get, post};
use axum::Router;

use crate::AppState;

/// The inbox and the review of applications, behind the staff guard.
pub(crate) fn staff_routes() -> Router<AppState> {
    Router::new()
        .route("/staff", get(inbox::home))
        .route("/staff/inbox", get(inbox::inbox))
        .route("/staff/inbox/bulk", post(inbox::bulk))
        .route("/staff/inbox/export", get(export::applications))
        .route("/staff/applications/{receipt}", get(application::show))
        .route(
            "/staff/applications/{receipt}/status",
            post(actions::change_status),
        )
        .route(
            "/staff/applications/{receipt}/decisions/{id}",
            post(decisions::act),
        )
        .route(
            "/staff/applications/{receipt}/message",
            post(actions::message),
        )
        .route(
            "/staff/applications/{receipt}/comment",
            post(actions::comment),
        )
        .route(
            "/staff/applications/{receipt}/assign",
            post(actions::assign),
        )
        .route(
            "/staff/applications/{receipt}/print",
            get(application::print),
        )
        .route(
            "/staff/applications/{receipt}/files/{field}",
            get(application::attachment),
        )
}
