//! Staff accounts: sign-in (password, passkey), sign-out, the account page with its passkeys,
//! users and roles (administrators), and the audit log (auditors).

mod audit_log;
mod calendar;
mod login;
mod passkeys;
mod texts;
mod users;

use axum::routing::{get, post};
use axum::Router;

use crate::AppState;

/// Signing in, before any session exists.
pub(super) fn login_routes() -> Router<AppState> {
    Router::new()
        .route("/staff/login", get(login::form).post(login::submit))
        .route("/staff/login/passkey/start", post(passkeys::login_start))
        .route("/staff/login/passkey/finish", post(passkeys::login_finish))
}

/// What a signed-in member of staff does with accounts.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/staff/users", get(users::list).post(users::create))
        .route("/staff/users/{email}", post(users::change))
        .route("/staff/audit", get(audit_log::search))
        .route(
            "/staff/calendar",
            get(calendar::show).post(calendar::change),
        )
        .route("/staff/texts", get(texts::show).post(texts::save))
        .route("/staff/audit/export", get(audit_log::export))
        .route("/staff/account", get(passkeys::account))
        .route(
            "/staff/passkeys/register/start",
            post(passkeys::register_start),
        )
        .route(
            "/staff/passkeys/register/finish",
            post(passkeys::register_finish),
        )
        .route("/staff/passkeys/{id}/remove", post(passkeys::remove))
        .route("/staff/logout", post(login::logout))
        .route("/staff/logout-everywhere", post(login::logout_everywhere))
}
