//! While an emergency (避難指示, 緊急安全確保 …) is live, every public page says so at its top and
//! links to it, whichever page a resident opened. The pages mark the place
//! ([`MARKER`] in `base.html`); this layer fills it, so no page can forget it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use askama::Template;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use machi_core::notices::Urgency;

use super::tenant::city_for_host;
use crate::AppState;

/// Where `base.html` wants the banner.
const MARKER: &str = "<!--machi:emergency-->";
/// How long a node trusts what it read: a new emergency shows on every page within this.
const FRESH_FOR: Duration = Duration::from_secs(10);
/// Largest page this layer reads to fill the banner in.
const MAX_PAGE: usize = 8 * 1024 * 1024;

/// The live emergencies of each city, as last read.
#[derive(Clone, Default)]
pub struct LiveEmergencies {
    read: Arc<Mutex<HashMap<String, Reading>>>,
}

/// When a city's live emergencies were read, and what was found.
type Reading = (Instant, Arc<Vec<Live>>);

/// One live emergency: its page and title.
#[derive(Clone)]
struct Live {
    id: String,
    title: machi_core::procedures::Localized,
}

impl LiveEmergencies {
    /// Drops what was read of a city (a notice of it was just saved).
    pub fn forget(&self, city: &str) {
        if let Ok(mut read) = self.read.lock() {
            read.remove(city);
        }
    }

    async fn of(&self, state: &AppState, city: &str) -> Arc<Vec<Live>> {
        if let Ok(read) = self.read.lock() {
            if let Some((at, live)) = read.get(city) {
                if at.elapsed() < FRESH_FOR {
                    return live.clone();
                }
            }
        }
        // A page is still served when the notices cannot be read; the banner waits.
        let notices = state
            .store
            .published_notices(city, None, None, 100)
            .await
            .unwrap_or_default();
        let live: Arc<Vec<Live>> = Arc::new(
            notices
                .into_iter()
                .filter(|n| n.draft.urgency == Urgency::Emergency)
                .map(|n| Live {
                    id: n.id,
                    title: n.draft.title,
                })
                .collect(),
        );
        if let Ok(mut read) = self.read.lock() {
            read.insert(city.to_string(), (Instant::now(), live.clone()));
        }
        live
    }
}

#[derive(Template)]
#[template(path = "emergency_banner.html")]
struct Banner {
    en: bool,
    /// (link, title)
    alerts: Vec<(String, String)>,
}

/// Fills the emergency banner into public HTML pages while an emergency is live.
pub(crate) async fn banner(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let host = request.headers().get(header::HOST).cloned();
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    let public_page = !["/staff", "/api/", "/signage", "/static/", "/feeds/"]
        .iter()
        .any(|prefix| path.starts_with(prefix));
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if !public_page || !html {
        return response;
    }
    let Some(city) = city_for_host(&state, host.as_ref()) else {
        return response;
    };
    let live = state.emergencies.of(&state, &city.id).await;
    if live.is_empty() {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_PAGE).await else {
        return Response::from_parts(parts, axum::body::Body::empty());
    };
    let Ok(page) = String::from_utf8(bytes.to_vec()) else {
        return Response::from_parts(parts, bytes.into());
    };
    if !page.contains(MARKER) {
        return Response::from_parts(parts, page.into());
    }
    let en = page.contains("<html lang=\"en\"");
    let banner = Banner {
        en,
        alerts: live
            .iter()
            .map(|l| {
                (
                    format!("/notices/{}", l.id),
                    l.title.get(if en { "en" } else { "ja" }).to_string(),
                )
            })
            .collect(),
    };
    let filled = page.replacen(MARKER, &banner.render().unwrap_or_default(), 1);
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, filled.into())
}
