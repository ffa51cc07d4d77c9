//! The far ends of the delivery channels, for tests: a webhook receiver, a push service, and a
//! stand-in for the LINE Messaging API that checks each request against the published API
//! reference (authorisation, body shape, recipients per request, message count and length,
//! the retry key's form) and refuses what LINE would refuse.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

pub const LINE_TOKEN: &str = "line-test-channel-token";
pub const LINE_SECRET: &str = "line-test-channel-secret";
/// How long `/slow-hook` takes to answer: a receiver that does some work per notice.
pub const SLOW_HOOK: Duration = Duration::from_millis(10);

/// One request a receiver accepted.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// When the request arrived (before the receiver answered).
    pub at: Instant,
}

impl Received {
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

#[derive(Clone, Default)]
struct Log {
    received: Arc<Mutex<Vec<Received>>>,
    refused: Arc<Mutex<Vec<String>>>,
}

pub struct Receivers {
    pub addr: SocketAddr,
    log: Log,
    task: tokio::task::JoinHandle<()>,
}

impl Receivers {
    pub async fn start() -> Self {
        let log = Log::default();
        let app = Router::new()
            .route("/hook", post(webhook))
            .route("/slow-hook", post(slow_webhook))
            .route("/push/{id}", post(push))
            .route("/hook-broken", post(|| async { StatusCode::BAD_REQUEST }))
            .route("/line/v2/bot/message/{kind}", post(line))
            .with_state(log.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { addr, log, task }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Everything accepted at paths starting with `prefix`.
    pub fn at(&self, prefix: &str) -> Vec<Received> {
        self.log
            .received
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path.starts_with(prefix))
            .cloned()
            .collect()
    }

    /// How many requests were accepted at paths starting with `prefix`.
    pub fn count(&self, prefix: &str) -> usize {
        self.log
            .received
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path.starts_with(prefix))
            .count()
    }

    /// Requests the LINE stand-in refused, with the reason.
    pub fn refused(&self) -> Vec<String> {
        self.log.refused.lock().unwrap().clone()
    }

    /// Waits until `count` requests were accepted at `prefix` (at most 20 s).
    pub async fn wait_for(&self, prefix: &str, count: usize) -> Vec<Received> {
        for _ in 0..400 {
            let got = self.at(prefix);
            if got.len() >= count {
                return got;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!(
            "expected {count} requests at {prefix}, got {}",
            self.at(prefix).len()
        );
    }

    pub fn stop(self) {
        self.task.abort();
    }
}

fn keep(log: &Log, path: String, headers: HeaderMap, body: Bytes) {
    log.received.lock().unwrap().push(Received {
        path,
        headers,
        body,
        at: Instant::now(),
    });
}

/// A webhook receiver: answers the subscription challenge, accepts notices.
async fn webhook(State(log): State<Log>, headers: HeaderMap, body: Bytes) -> Response {
    let json: Value = serde_json::from_slice(&body).unwrap_or_default();
    keep(&log, "/hook".into(), headers, body);
    if json["type"] == "subscription.verify" {
        return Json(json!({ "challenge": json["challenge"] })).into_response();
    }
    StatusCode::NO_CONTENT.into_response()
}

/// A webhook receiver that takes [`SLOW_HOOK`] per notice (so a broadcast to thousands lasts
/// long enough to be interrupted); keeps the query, which tells the subscribers apart.
async fn slow_webhook(
    State(log): State<Log>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let path = format!("/slow-hook?{}", query.unwrap_or_default());
    keep(&log, path, headers, body);
    tokio::time::sleep(SLOW_HOOK).await;
    StatusCode::NO_CONTENT
}

/// A push service: takes the encrypted message, answers 201 Created as RFC 8030 says.
async fn push(
    State(log): State<Log>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    keep(&log, format!("/push/{id}"), headers, body);
    StatusCode::CREATED.into_response()
}

fn refuse(log: &Log, status: StatusCode, reason: String) -> Response {
    log.refused.lock().unwrap().push(reason.clone());
    (status, Json(json!({ "message": reason }))).into_response()
}

fn is_uuid(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    parts.iter().map(|p| p.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
        && parts
            .iter()
            .all(|p| p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// The Messaging API's `push`, `multicast` and `reply`, as its reference describes them.
async fn line(
    State(log): State<Log>,
    Path(kind): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    if header("authorization") != format!("Bearer {LINE_TOKEN}") {
        return refuse(&log, StatusCode::UNAUTHORIZED, "bad access token".into());
    }
    if !header("content-type").starts_with("application/json") {
        return refuse(&log, StatusCode::BAD_REQUEST, "not JSON".into());
    }
    let retry_key = header("x-line-retry-key");
    if kind != "reply" && !retry_key.is_empty() && !is_uuid(&retry_key) {
        return refuse(
            &log,
            StatusCode::BAD_REQUEST,
            "retry key is not a UUID".into(),
        );
    }
    let Ok(json) = serde_json::from_slice::<Value>(&body) else {
        return refuse(&log, StatusCode::BAD_REQUEST, "unparsable body".into());
    };
    let recipients_ok = match kind.as_str() {
        "push" => json["to"]
            .as_str()
            .is_some_and(|to| to.starts_with('U') && to.len() == 33),
        "multicast" => json["to"].as_array().is_some_and(|to| {
            (1..=500).contains(&to.len())
                && to.iter().all(|u| {
                    u.as_str()
                        .is_some_and(|u| u.starts_with('U') && u.len() == 33)
                })
        }),
        "reply" => json["replyToken"].as_str().is_some_and(|t| !t.is_empty()),
        _ => false,
    };
    if !recipients_ok {
        return refuse(
            &log,
            StatusCode::BAD_REQUEST,
            format!("bad recipients for {kind}"),
        );
    }
    let messages_ok = json["messages"].as_array().is_some_and(|messages| {
        (1..=5).contains(&messages.len())
            && messages.iter().all(|m| {
                m["type"] == "text"
                    && m["text"]
                        .as_str()
                        .is_some_and(|t| !t.is_empty() && t.chars().count() <= 5000)
            })
    });
    if !messages_ok {
        return refuse(&log, StatusCode::BAD_REQUEST, "bad messages".into());
    }
    keep(&log, format!("/line/{kind}"), headers, body);
    Json(json!({})).into_response()
}
