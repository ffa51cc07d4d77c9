//! Health, readiness, metrics, OpenAPI and security headers.

use serde_json::Value;

use crate::harness::{TestApp, METRICS_TOKEN};
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
    assert_eq!(
        app.get("/metrics").await.status(),
        401,
        "metrics need the token"
    );
    let wrong = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth("guess")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("machi_http_requests_total"), "{metrics}");
    assert!(
        app.get("/")
            .await
            .headers()
            .get("strict-transport-security")
            .is_none(),
        "no HSTS over plain http"
    );
}

/// Without a token `/metrics` is not served; a site on https tells browsers to stay there.
#[tokio::test]
async fn metrics_are_off_without_a_token_and_https_sites_send_hsts() {
    let db = crate::harness::TestDb::new(crate::harness::Db::Sqlite)
        .await
        .unwrap();
    let store = machi_store::Store::open(None, db.data_dir.path().to_path_buf())
        .await
        .unwrap();
    let tenants = vec![machi_store::Tenant {
        id: "demo".into(),
        name_ja: "デモ市".into(),
        name_en: "Demo City".into(),
        host: None,
    }];
    store.ensure_tenant(&tenants[0]).await.unwrap();
    let url = machi_web::PublicUrl::parse("https://city.example").unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = machi_web::router(machi_web::AppState::new(store, tenants, url));
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let client = reqwest::Client::new();
    let get = |path: &str| client.get(format!("http://{addr}{path}")).send();
    assert_eq!(get("/metrics").await.unwrap().status(), 404);
    let home = get("/healthz").await.unwrap();
    assert_eq!(
        home.headers()["strict-transport-security"],
        "max-age=31536000"
    );
    server.abort();
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
    // Query parameters are in the query, and every security scheme an operation names is
    // defined.
    for path in ["/api/v1/procedures", "/api/v1/assets"] {
        for parameter in doc["paths"][path]["get"]["parameters"].as_array().unwrap() {
            assert_eq!(parameter["in"], "query", "{path}: {parameter}");
        }
    }
    let schemes = &doc["components"]["securitySchemes"];
    for (path, operation) in doc["paths"].as_object().unwrap() {
        for (method, operation) in operation.as_object().unwrap() {
            for requirement in operation["security"].as_array().into_iter().flatten() {
                for scheme in requirement.as_object().unwrap().keys() {
                    assert!(
                        schemes[scheme].is_object(),
                        "{method} {path} names {scheme}"
                    );
                }
            }
        }
    }
    assert_eq!(schemes["access_code"]["scheme"], "bearer");
    assert!(doc["paths"]["/api/v1/assets"]["get"]["security"].is_array());
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
