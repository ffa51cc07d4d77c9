//! アカウント (accounts): residents' optional accounts (sign-in by e-mailed link or OpenID
//! Connect, the profile that prefills forms) and staff accounts (sign-in with password or
//! passkey, sign-out, users and roles, the audit log).

mod resident;
mod staff;

use axum::Router;

use crate::AppState;

pub use resident::OidcSettings;

/// Residents' account pages and the staff sign-in, open to anyone.
pub(crate) fn public_routes() -> Router<AppState> {
    resident::routes().merge(staff::login_routes())
}

/// Staff accounts, passkeys, the audit log and signing out, behind the staff guard.
pub(crate) fn staff_routes() -> Router<AppState> {
    staff::routes()
}
