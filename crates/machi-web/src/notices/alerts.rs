//! 警報と掲示 (alerts and signage). An alert is a notice residents must not miss: every 緊急
//! notice, and 重要 notices of 防災. Alerts go out as CAP 1.2 documents and a CAP feed that
//! alerting hubs poll; every current notice goes to the kiosk page shown on the screens of the
//! city hall lobby and community centres, which an emergency takes over completely.
//!
//! What is current is what the notice pages show (published, not expired), so an alert
//! leaves the feed and the screens the moment it expires, with no job to run.

mod cap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::{Datelike, Utc};
use machi_core::notices::{
    category_label, default_categories, is_hazard_category, Category, Urgency,
};
use machi_store::notices::Notice;
use machi_store::Tenant;
use serde::Deserialize;

use crate::kit::{jst_text, render, render_markdown, ApiError, City, PageError, SiteUrl};
use crate::AppState;

/// Current notices looked through for alerts (newest first): far more than a city has at once.
const SCAN: i64 = 500;
/// Notices on a signage screen: what can be read from across a lobby.
const SIGNAGE_SIZE: usize = 6;
/// Seconds between reloads of a signage screen (a `<meta>` refresh: kiosks run no script).
const SIGNAGE_REFRESH: u32 = 30;

pub(crate) fn public_routes() -> Router<AppState> {
    Router::new()
        // The router cannot match a parameter followed by a suffix (`{id}.cap`), so the
        // handler takes the whole segment and insists on the suffix itself.
        .route("/alerts/{file}", get(cap_document))
        .route("/feeds/alerts.cap", get(cap_feed))
        .route("/signage", get(signage))
}

/// Whether a notice is an alert: 緊急, or 重要 in a category of hazards (防災 and whatever
/// the city maps to a CAP hazard category).
fn is_alert(notice: &Notice, categories: &[Category]) -> bool {
    match notice.draft.urgency {
        Urgency::Emergency => true,
        Urgency::Important => notice.draft.categories.iter().any(|id| {
            categories
                .iter()
                .any(|c| &c.id == id && is_hazard_category(&c.cap))
        }),
        Urgency::Normal => false,
    }
}

#[derive(Deserialize, Default)]
struct AreaFilter {
    #[serde(default)]
    area: String,
}

impl AreaFilter {
    fn area(&self) -> Option<&str> {
        let area = self.area.trim();
        (!area.is_empty()).then_some(area)
    }

    /// `?area=…` to carry the filter into links, or nothing.
    fn query(&self) -> String {
        self.area()
            .and_then(|area| serde_urlencoded::to_string([("area", area)]).ok())
            .map(|q| format!("?{q}"))
            .unwrap_or_default()
    }
}

/// Who a city's alerts say they come from, as the deployment configures it.
#[derive(Debug, Clone, Default)]
pub struct CapSettings {
    /// CAP `<sender>` (e.g. `bousai@city.example.lg.jp`); without it, the host name of the
    /// city's public address.
    pub sender: Option<String>,
    /// Each city's 地方公共団体コード (6 digits), by city id, for `<geocode>`.
    pub city_codes: std::collections::HashMap<String, String>,
}

/// The city as the sender of its alerts: the configured sender, else the host name of its
/// public address (its own host when it has one), never the host a request asked for.
fn origin<'a>(city: &'a Tenant, base: &str, settings: &CapSettings) -> cap::Origin<'a> {
    let host = base.split_once("://").map_or(base, |(_, rest)| rest);
    let host = host.split(['/', ':']).next().unwrap_or_default();
    // CAP forbids spaces, commas, `<` and `&` in <sender>.
    let allowed = |text: &str| -> String {
        text.chars()
            .filter(|c| c.is_ascii_graphic() && !matches!(c, ',' | '<' | '&'))
            .collect()
    };
    let sender = settings
        .sender
        .as_deref()
        .map(allowed)
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| {
            host.chars()
                .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
                .collect()
        });
    cap::Origin {
        city,
        sender: if sender.is_empty() {
            "localhost".into()
        } else {
            sender
        },
        base: base.to_string(),
        city_code: settings.city_codes.get(&city.id).cloned(),
        area_codes: Default::default(),
        categories: default_categories(),
    }
}

/// [`origin`] with the city's categories and the codes of its 町字 (for `<geocode>`).
async fn origin_with_areas<'a>(
    state: &AppState,
    city: &'a Tenant,
    base: &str,
) -> Result<cap::Origin<'a>, ApiError> {
    let mut origin = origin(city, base, &state.cap);
    origin.categories = state.store.notice_categories(&city.id).await?;
    if origin.city_code.is_some() {
        origin.area_codes = state
            .store
            .areas(&city.id)
            .await?
            .into_iter()
            .map(|area| (area.name, area.code))
            .collect();
    }
    Ok(origin)
}

fn xml(body: String, content_type: &'static str) -> Response {
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        body,
    )
        .into_response()
}

/// `GET /alerts/{id}.cap`: the CAP 1.2 document of an alert that is current.
async fn cap_document(
    State(state): State<AppState>,
    City(city): City,
    SiteUrl(base): SiteUrl,
    Path(file): Path<String>,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::not_found("There is no current alert at this address.");
    let id = file.strip_suffix(".cap").ok_or_else(not_found)?;
    let now = machi_store::Time::now();
    let notice = state
        .store
        .notice(&city.id, id)
        .await?
        .filter(|n| n.publish_at <= now && n.expires_at.as_ref().is_none_or(|e| *e > now))
        .ok_or_else(not_found)?;
    let origin = origin_with_areas(&state, &city, &base).await?;
    if !is_alert(&notice, &origin.categories) {
        return Err(not_found());
    }
    let message = cap::message(&notice, &origin)
        .ok_or_else(|| ApiError::internal(format!("notice {id} has an unreadable time")))?;
    let body = cap::document(&message).map_err(ApiError::internal)?;
    Ok(xml(body, "application/cap+xml; charset=utf-8"))
}

/// `GET /feeds/alerts.cap?area=`: the current alerts as a CAP feed (Atom).
async fn cap_feed(
    State(state): State<AppState>,
    City(city): City,
    SiteUrl(base): SiteUrl,
    Query(filter): Query<AreaFilter>,
) -> Result<Response, ApiError> {
    let notices = state
        .store
        .published_notices(&city.id, None, filter.area(), SCAN)
        .await?;
    let origin = origin_with_areas(&state, &city, &base).await?;
    let messages: Vec<cap::Message> = notices
        .iter()
        .filter(|n| is_alert(n, &origin.categories))
        .filter_map(|n| cap::message(n, &origin))
        .collect();
    let query = filter.query();
    let head = cap::FeedHead {
        id: format!("urn:machi:{}:alerts{}", city.id, query.replace('?', ":")),
        title: format!("{} 緊急・防災情報", city.name_ja),
        author: city.name_ja.clone(),
        self_href: format!("{}/feeds/alerts.cap{query}", origin.base),
        page_href: format!("{}/notices{query}", origin.base),
    };
    let body = cap::atom_feed(&head, &messages, &origin.base).map_err(ApiError::internal)?;
    Ok(xml(body, "application/atom+xml; charset=utf-8"))
}

// --- Signage ------------------------------------------------------------------------------

/// A notice as a screen shows it.
struct Board {
    title: String,
    title_en: String,
    body_html: String,
    body_en_html: String,
    published: String,
    important: bool,
    categories: String,
}

fn board(notice: &Notice, categories: &[Category]) -> Board {
    let draft = &notice.draft;
    Board {
        title: draft.title.ja.clone(),
        title_en: draft.title.en.clone(),
        body_html: render_markdown(&draft.body.ja),
        body_en_html: if draft.body.en.trim().is_empty() {
            String::new()
        } else {
            render_markdown(&draft.body.en)
        },
        published: jst_text(notice.publish_at),
        important: draft.urgency == Urgency::Important,
        categories: draft
            .categories
            .iter()
            .filter_map(|c| category_label(categories, c))
            .map(|l| l.ja)
            .collect::<Vec<_>>()
            .join("、"),
    }
}

/// A kiosk screen: its own minimal page (no site navigation: nobody clicks a lobby screen).
#[derive(Template)]
#[template(path = "signage.html")]
struct SignagePage {
    city: String,
    area: String,
    /// 令和8年5月1日（金）
    today: String,
    time: String,
    now_iso: String,
    refresh: u32,
    /// Current 緊急 notices; when there is one, it is all the screen shows.
    emergencies: Vec<Board>,
    notices: Vec<Board>,
}

const WEEKDAYS: [&str; 7] = ["月", "火", "水", "木", "金", "土", "日"];

/// `GET /signage?area=`: the current notices of an area for a lobby screen.
async fn signage(
    State(state): State<AppState>,
    City(city): City,
    Query(filter): Query<AreaFilter>,
) -> Result<Response, PageError> {
    let notices = state
        .store
        .published_notices(&city.id, None, filter.area(), SCAN)
        .await?;
    let (emergencies, others): (Vec<&Notice>, Vec<&Notice>) = notices
        .iter()
        .partition(|n| n.draft.urgency == Urgency::Emergency);
    let categories = state.store.notice_categories(&city.id).await?;
    let now = Utc::now().with_timezone(&machi_core::wareki::jst());
    let weekday = WEEKDAYS[now.weekday().num_days_from_monday() as usize];
    Ok(render(&SignagePage {
        city: city.name_ja.clone(),
        area: filter.area().unwrap_or_default().to_string(),
        today: format!(
            "{}（{weekday}）",
            machi_core::wareki::format_wareki(now.date_naive())
        ),
        time: now.format("%H:%M").to_string(),
        now_iso: now.format("%Y-%m-%dT%H:%M%:z").to_string(),
        refresh: SIGNAGE_REFRESH,
        emergencies: emergencies
            .into_iter()
            .map(|n| board(n, &categories))
            .collect(),
        notices: others
            .into_iter()
            .take(SIGNAGE_SIZE)
            .map(|n| board(n, &categories))
            .collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use machi_core::notices::NoticeDraft;
    use machi_core::procedures::Localized;

    fn notice(urgency: Urgency, category: &str) -> Notice {
        Notice {
            id: "n1".into(),
            department_code: "d".into(),
            draft: NoticeDraft {
                title: Localized::new("t", ""),
                body: Localized::new("b", ""),
                categories: vec![category.into()],
                areas: vec![],
                urgency,
                evacuation: None,
            },
            publish_at: machi_store::Time::now(),
            expires_at: None,
            updated_at: machi_store::Time::now(),
        }
    }

    #[test]
    fn emergencies_and_important_disaster_notices_are_alerts_and_nothing_else_is() {
        let categories = default_categories();
        let alert = |urgency, category| is_alert(&notice(urgency, category), &categories);
        assert!(alert(Urgency::Emergency, "kosodate"));
        assert!(alert(Urgency::Important, "bousai"));
        assert!(!alert(Urgency::Important, "zei"));
        assert!(!alert(Urgency::Normal, "bousai"));
    }

    #[test]
    fn the_sender_is_the_host_name_of_the_public_address() {
        let city = Tenant {
            id: "demo".into(),
            name_ja: "デモ市".into(),
            name_en: String::new(),
            host: None,
        };
        let none = CapSettings::default();
        assert_eq!(
            origin(&city, "http://127.0.0.1:8080", &none).sender,
            "127.0.0.1"
        );
        assert_eq!(
            origin(&city, "https://city.example/machi", &none).sender,
            "city.example"
        );
        assert_eq!(origin(&city, "http://a b,<c>&d:8080", &none).sender, "abcd");
        assert_eq!(origin(&city, "", &none).sender, "localhost");
        let configured = CapSettings {
            sender: Some("bousai@city.example.lg.jp, x".into()),
            ..CapSettings::default()
        };
        assert_eq!(
            origin(&city, "http://127.0.0.1:8080", &configured).sender,
            "bousai@city.example.lg.jpx",
            "configured, without what CAP forbids"
        );
    }
}
