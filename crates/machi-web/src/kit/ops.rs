//! Operations: `/healthz`, `/readyz`, Prometheus `/metrics`, request ids, request metrics and
//! the security headers every response carries.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tracing::Instrument;

use crate::AppState;

tokio::task_local! {
    /// The id of the request being handled, for error pages and logs.
    pub(crate) static REQUEST_ID: String;
}

/// The current request's id, or "-" outside a request.
pub(crate) fn current_request_id() -> String {
    REQUEST_ID
        .try_with(Clone::clone)
        .unwrap_or_else(|_| "-".to_string())
}

fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        // Several servers in one process (tests) share the first recorder.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

async fn readyz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => "ready".into_response(),
        Err(error) => {
            tracing::warn!(%error, "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

/// Prometheus's scrape, for a request bearing the configured token only: the counters tell
/// an outsider which routes are used and how often.
async fn metrics(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    let Some(token) = state.metrics_token.as_deref() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let given = super::security::bearer_token(&headers).unwrap_or_default();
    if !super::security::constant_time_eq(given.as_bytes(), token.as_bytes()) {
        let challenge = HeaderValue::from_static("Bearer realm=\"metrics\"");
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, challenge)],
        )
            .into_response();
    }
    metrics_text()
}

fn metrics_text() -> Response {
    let content_type = HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8");
    (
        [(header::CONTENT_TYPE, content_type)],
        prometheus().render(),
    )
        .into_response()
}

/// Counts requests and their latency per route and status, and keeps the request id at hand.
pub(crate) async fn track_requests(request: Request, next: Next) -> Response {
    let _ = prometheus();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = request.method().to_string();
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_string();
    let started = Instant::now();
    // Every log line of the request carries its id, the one its error page shows.
    let span = tracing::info_span!("request", id = %id, %method, %route);
    let response = REQUEST_ID
        .scope(id, next.run(request))
        .instrument(span.clone())
        .await;
    let status = response.status().as_u16().to_string();
    span.in_scope(|| {
        tracing::debug!(
            status = %status,
            ms = started.elapsed().as_millis() as u64,
            "answered"
        )
    });
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("machi_http_requests_total", &labels).increment(1);
    metrics::histogram!("machi_http_request_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    response
}

/// A strict CSP (no inline script or style), no sniffing, no framing, no referrer leaks.
const SECURITY_HEADERS: [(&str, &str); 5] = [
    (
        "content-security-policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
         form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
    ),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
    (
        "permissions-policy",
        "camera=(), microphone=(), geolocation=(), interest-cohort=()",
    ),
    ("x-frame-options", "DENY"),
];

/// Adds the security headers to every response that has not set its own.
pub(crate) fn with_security_headers(router: Router, https: bool) -> Router {
    let router = SECURITY_HEADERS
        .iter()
        .fold(router, |router, (name, value)| {
            router.layer(SetResponseHeaderLayer::if_not_present(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            ))
        });
    // Browsers keep to https for a year once they have seen the site there.
    match https {
        true => router.layer(SetResponseHeaderLayer::if_not_present(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        )),
        false => router,
    }
}

/// Gives every request an `x-request-id` (kept if the proxy sent one) and echoes it back.
pub(crate) fn with_request_ids(router: Router) -> Router {
    router
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}
