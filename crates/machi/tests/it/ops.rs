//! Health, readiness, metrics, OpenAPI and security headers.

use serde_json::Value;

use crate::harness::TestApp;
use crate::on_both_backends;

on_both_backends!(
    health_readiness_and_metrics_answer,
    the_openapi_document_lists_every_route,
    responses_carry_security_headers
);

async fn health_readiness_and_metrics_answer(app: &TestApp) {
    assert_eq!(app.get("/healthz").await.status(), 200);
    assert_eq!(app.get("/readyz").await.status(), 200);
    app.get("/api/v1/procedures").await;
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains("machi_http_requests_total"), "{metrics}");
}

async fn the_openapi_document_lists_every_route(app: &TestApp) {
    let doc: Value = app.get_json("/api/v1/openapi.json").await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/api/v1/procedures",
        "/api/v1/procedures/{id}",
        "/api/v1/procedures/{id}/applications",
        "/api/v1/applications/{receipt_number}",
        "/api/v1/plans",
        "/api/v1/plans/{id}",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing");
    }
    assert!(doc["components"]["schemas"]["Problem"].is_object());
}

async fn responses_carry_security_headers(app: &TestApp) {
    let response = app.get("/").await;
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap();
    assert!(csp.contains("default-src 'self'") && !csp.contains("unsafe-inline"));
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert!(response.headers().contains_key("x-request-id"));
}
