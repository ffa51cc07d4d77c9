//! machi-web: the HTTP face of machi — resident pages (server-rendered, no JavaScript needed),
//! the JSON API v1 with its OpenAPI document, and health and metrics endpoints.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod account;
mod alerts;
mod api;
mod cache;
mod ckan;
pub mod delivery;
mod i18n;
mod line;
mod notices;
mod opendata;
mod ops;
mod pages;
mod payments;
mod plans;
mod problem;
mod staff;
mod submit;
mod subscriptions;
mod tenant;

use std::sync::Arc;

use axum::Router;
use machi_store::{Store, Tenant};

pub use account::OidcSettings;
pub use api::openapi_document;
pub use plans::snapshot_metrics_hourly;

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    tenants: Arc<Vec<Tenant>>,
    forms: cache::FormCache,
    procedures: cache::ProcedureCache,
    payments: std::sync::Arc<dyn payments::PaymentProvider>,
    /// The OpenID Connect provider residents may sign in with, if configured.
    oidc: Option<OidcSettings>,
    /// The city's LINE official account, whose follow events become subscriptions.
    line: Option<delivery::LineSettings>,
    /// Whether webhooks may be registered at addresses in private networks.
    webhook_allow_private: bool,
}

impl AppState {
    /// Builds the state; `tenants` are the cities served (the first answers unknown hosts).
    pub fn new(store: Store, tenants: Vec<Tenant>) -> Self {
        Self {
            payments: payments::default_provider(store.clone()),
            store,
            tenants: Arc::new(tenants),
            forms: cache::FormCache::default(),
            procedures: cache::ProcedureCache::default(),
            oidc: None,
            line: None,
            webhook_allow_private: false,
        }
    }

    /// Lets residents subscribe by following the city's LINE official account.
    pub fn with_line(mut self, line: Option<delivery::LineSettings>) -> Self {
        self.line = line;
        self
    }

    /// Lets the public form register webhooks at private addresses (a city whose receivers sit
    /// in its own network, LGWAN).
    pub fn with_private_webhooks(mut self, allowed: bool) -> Self {
        self.webhook_allow_private = allowed;
        self
    }

    /// Lets residents sign in with an OpenID Connect provider.
    pub fn with_oidc(mut self, oidc: Option<OidcSettings>) -> Self {
        self.oidc = oidc;
        self
    }
}

/// The whole application: pages, API, health and metrics, with the security and tracing layers.
pub fn router(state: AppState) -> Router {
    let app = Router::new()
        .merge(staff::routes(state.clone()))
        .merge(payments::routes())
        .merge(account::routes())
        .merge(notices::public_routes())
        .merge(plans::public_routes())
        .merge(ckan::routes())
        .merge(opendata::public_routes())
        .merge(subscriptions::routes())
        .merge(line::routes())
        .merge(alerts::public_routes())
        .merge(pages::routes())
        .nest("/api/v1", api::routes())
        .merge(ops::routes())
        .with_state(state)
        .layer(axum::middleware::from_fn(ops::track_requests));
    ops::with_request_ids(ops::with_security_headers(app))
}
