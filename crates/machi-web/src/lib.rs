//! machi-web: the HTTP face of machi. A **room** per capability holds its public pages, staff
//! pages, API handlers and routers side by side: procedures, review, payments, notices,
//! opendata, plans, assets and accounts. What every room needs lives in the [`kit`]. Rooms
//! import the kit and the lower crates, never each other (`.ci/run` checks it); this file
//! mounts their routers and puts every staff router under the one staff guard.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod kit;

mod accounts;
mod answers;
mod assets;
mod notices;
mod opendata;
mod payments;
mod plans;
mod procedures;
mod reservations;
mod review;

use std::sync::Arc;

use axum::routing::get;
use axum::{Json, Router};
use machi_core::subscriptions::LineSettings;
use machi_store::{Store, Tenant};
use utoipa::OpenApi;

pub use accounts::OidcSettings;
pub use kit::PublicUrl;

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    tenants: Arc<Vec<Tenant>>,
    /// The address residents reach the site at: every absolute link is built from it.
    public_url: PublicUrl,
    forms: procedures::FormCache,
    procedures: procedures::ProcedureCache,
    /// Where residents pay fees online; `None` when no provider is configured (they pay at
    /// the counter).
    payments: Option<std::sync::Arc<dyn payments::PaymentProvider>>,
    /// The OpenID Connect provider residents may sign in with, if configured.
    oidc: Option<OidcSettings>,
    /// The city's LINE official account, whose follow events become subscriptions.
    line: Option<LineSettings>,
    /// Whether webhooks may be registered at addresses in private networks.
    webhook_allow_private: bool,
    /// An SMTP server is configured (else e-mail waits in the outbox).
    sends_mail: bool,
    /// The bearer token Prometheus sends for `/metrics`; without one, `/metrics` is off.
    metrics_token: Option<String>,
    /// The deployment's key for sealing hidden form fields, read once (see [`kit::seal`]).
    seal_secret: Arc<tokio::sync::OnceCell<String>>,
    /// Reverse proxies whose `X-Forwarded-For` names the client (see [`kit::ClientAddr`]).
    trusted_proxies: Arc<Vec<ipnet::IpNet>>,
    /// The live emergencies every public page announces (see [`kit::emergency`]).
    pub(crate) emergencies: kit::emergency::LiveEmergencies,
    /// The sender and city codes of CAP alerts.
    cap: notices::CapSettings,
    /// Each city's search index (see [`kit::search`]).
    pub(crate) searches: kit::search::Searches,
}

impl AppState {
    /// Builds the state; `tenants` are the cities served (the first answers unknown hosts) and
    /// `public_url` the address residents reach them at.
    pub fn new(store: Store, tenants: Vec<Tenant>, public_url: PublicUrl) -> Self {
        Self {
            payments: None,
            store,
            tenants: Arc::new(tenants),
            public_url,
            forms: procedures::FormCache::default(),
            procedures: procedures::ProcedureCache::default(),
            emergencies: kit::emergency::LiveEmergencies::default(),
            cap: notices::CapSettings::default(),
            searches: kit::search::Searches::default(),
            oidc: None,
            line: None,
            webhook_allow_private: false,
            sends_mail: false,
            metrics_token: None,
            seal_secret: Arc::default(),
            trusted_proxies: Arc::default(),
        }
    }

    /// Turns on the test payment provider, with which an applicant marks their own fee paid:
    /// for the demo and for tests, never for a city's residents.
    pub fn with_test_payments(mut self, enabled: bool) -> Self {
        self.payments = enabled.then(|| payments::test_provider(self.store.clone()));
        self
    }

    /// The deployment's secret for sealing the fields a form carries between its pages (the
    /// same on every node), read from the store on first use.
    pub(crate) async fn seal_secret(&self) -> Result<&str, machi_store::StoreError> {
        self.seal_secret
            .get_or_try_init(|| self.store.secret("carried-files"))
            .await
            .map(String::as_str)
    }

    /// Whether residents can pay fees online here (a payment provider is configured).
    pub(crate) fn takes_payments_online(&self) -> bool {
        self.payments.is_some()
    }

    /// Serves `/metrics` to requests bearing this token (none: `/metrics` is not served).
    /// Whether e-mail can leave (an SMTP server is configured); staff are warned when it cannot.
    pub fn with_mail(mut self, configured: bool) -> Self {
        self.sends_mail = configured;
        self
    }

    pub(crate) fn sends_mail(&self) -> bool {
        self.sends_mail
    }

    pub fn with_metrics_token(mut self, token: Option<String>) -> Self {
        self.metrics_token = token.filter(|t| !t.is_empty());
        self
    }

    /// Trusts `X-Forwarded-For` from these proxies (and only from them) to name the client.
    pub fn with_trusted_proxies(mut self, proxies: Vec<ipnet::IpNet>) -> Self {
        self.trusted_proxies = Arc::new(proxies);
        self
    }

    /// Names the sender of CAP alerts (else the host name of the public address).
    pub fn with_cap_sender(mut self, sender: Option<String>) -> Self {
        self.cap.sender = sender.filter(|s| !s.trim().is_empty());
        self
    }

    /// A city's 地方公共団体コード, carried in its CAP alerts' `<geocode>`.
    pub fn with_city_code(mut self, city: &str, code: Option<String>) -> Self {
        if let Some(code) = code {
            self.cap.city_codes.insert(city.to_string(), code);
        }
        self
    }

    /// Lets residents subscribe by following the city's LINE official account.
    pub fn with_line(mut self, line: Option<LineSettings>) -> Self {
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

/// The whole application: every room's pages and API, health and metrics, with the security
/// and tracing layers.
pub fn router(state: AppState) -> Router {
    let https = state.public_url.is_https();
    let staff = Router::new()
        .merge(review::staff_routes())
        .merge(procedures::staff_routes())
        .merge(payments::staff_routes())
        .merge(notices::staff_routes())
        .merge(assets::staff_routes())
        .merge(accounts::staff_routes())
        .merge(plans::staff_routes())
        .merge(opendata::staff_routes())
        .merge(answers::staff_routes())
        .merge(reservations::staff_routes())
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            kit::staff::guard,
        ));
    let app = Router::new()
        .merge(staff)
        .merge(accounts::public_routes())
        .merge(answers::public_routes())
        .merge(payments::public_routes())
        .merge(notices::public_routes())
        .merge(plans::public_routes())
        .merge(opendata::public_routes())
        .merge(procedures::public_routes())
        .merge(reservations::public_routes())
        .merge(kit::site::routes())
        .nest("/api/v1", api_routes())
        .merge(kit::ops::routes())
        .fallback(kit::site::not_found)
        .layer(axum::middleware::from_fn(kit::security::refuse_nul))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            kit::security::configured_scheme,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            kit::page::render_error_pages,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            kit::emergency::banner,
        ))
        .with_state(state)
        .layer(axum::middleware::from_fn(kit::ops::track_requests));
    kit::ops::with_request_ids(kit::ops::with_security_headers(app, https))
}

/// The JSON API v1, relative to `/api/v1`, with its generated OpenAPI document.
fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(|| async { Json(openapi_document()) }))
        .merge(procedures::api_routes())
        .merge(answers::api_routes())
        .merge(plans::api_routes())
        .merge(assets::api_routes())
        .merge(notices::api_routes())
        .merge(reservations::api_routes())
        .fallback(|| async { kit::ApiError::not_found("no such API route") })
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "machi API",
        description = "Online procedures of a Japanese city hall: the procedure catalog, applications and their status, and the city's ICT/DX plans and, for staff, its IT asset ledger.",
        license(name = "AGPL-3.0-or-later")
    ),
    paths(
        procedures::api::catalog::list_procedures,
        procedures::api::catalog::show_procedure,
        procedures::api::search::search,
        answers::list,
        answers::ask::ask_api,
        procedures::api::applications::create_application,
        procedures::api::applications::show_application,
        procedures::postcode::lookup,
        notices::subscriptions::push::subscribe_browser,
        notices::subscriptions::push::vapid_public_key,
        plans::api::list_plans,
        plans::api::show_plan,
        assets::api::list_assets,
        reservations::api::list_services,
        reservations::api::service_slots,
        reservations::api::book,
        reservations::api::cancel,
        reservations::api::change,
        reservations::reminders::add_push,
        reservations::lottery::api_round
    ),
    components(schemas(crate::kit::Problem)),
    modifiers(&SecuritySchemes),
    tags((name = "procedures", description = "手続 (the procedure catalog)"),
         (name = "applications", description = "申請 (applications and their status)"),
         (name = "notices", description = "お知らせ配信 (subscriptions to notices)"),
         (name = "plans", description = "情報化計画・DX推進計画 (ICT/DX plans)"),
         (name = "assets", description = "情報資産台帳 (the IT asset ledger; staff only)"),
         (name = "reservations", description = "予約 (counters, consultations and facilities)"))
)]
struct ApiDoc;

/// The ways the API's operations are authorized, which their `security` names.
struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme,
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "access_code",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The application's 確認コード (access code), given at submission",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A member of staff's API token (`machi user token --email … --name …`)",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "staff_session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "machi_staff",
                "A staff session (sign in at /staff/login)",
            ))),
        );
    }
}

/// Entry points of the fuzz targets (`fuzz/`); always built, so that the fuzz targets cannot
/// fall behind the code they reach.
#[doc(hidden)]
pub mod fuzzing {
    /// Every CKAN action parameter read from a query string and a body (JSON, or a form when
    /// `form`); answers nothing, and must never panic.
    pub fn ckan_parameters(query: &str, body: &[u8], form: bool) {
        super::opendata::read_every_parameter(query, body, form);
    }
}

/// The OpenAPI 3.1 document of `/api/v1`, as served at `/api/v1/openapi.json`.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
