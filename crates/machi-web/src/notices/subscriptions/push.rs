//! Browser notifications: the city's VAPID public key, the endpoint the page's script posts a
//! browser's push subscription to, and the scripts themselves.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use machi_core::subscriptions::{Channel, Choices};
use machi_store::subscriptions::NewSubscription;
use serde::Deserialize;

use machi_core::subscriptions::BrowserKeys;

use crate::kit::{ApiError, City, SiteUrl};
use crate::AppState;

/// The city's VAPID public key, for `pushManager.subscribe({applicationServerKey})`.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub(crate) struct VapidKey {
    /// Uncompressed P-256 point, base64url without padding.
    public_key: String,
}

#[utoipa::path(get, path = "/api/v1/subscriptions/vapid-key", tag = "notices",
    responses((status = 200, body = VapidKey)))]
pub(crate) async fn vapid_public_key(
    State(state): State<AppState>,
    City(city): City,
) -> Result<Json<VapidKey>, ApiError> {
    let keys = state.store.vapid_keys(&city.id).await?;
    Ok(Json(VapidKey {
        public_key: keys.public,
    }))
}

/// A browser's push subscription, as `PushSubscription.toJSON()` gives it, with the choices.
#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct BrowserSubscription {
    /// The push service's address for this browser (https).
    endpoint: String,
    #[schema(value_type = crate::kit::push::BrowserKeysSchema)]
    keys: BrowserKeys,
    /// Category ids: bousai, kosodate, kenko, gomi, zei, event, douro.
    #[serde(default)]
    categories: Vec<String>,
    /// 町丁目 separated by commas or 、; empty for the whole city.
    #[serde(default)]
    areas: String,
    /// `ja` (default) or `en`.
    #[serde(default)]
    language: Option<String>,
}

/// The subscription made.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub(crate) struct SubscriptionCreated {
    id: String,
    /// Where the subscriber changes or ends it.
    manage_url: String,
}

#[utoipa::path(post, path = "/api/v1/subscriptions", tag = "notices",
    request_body(content = BrowserSubscription, description = "A browser's push subscription and the notices wanted"),
    responses(
        (status = 201, body = SubscriptionCreated, description = "Subscribed (a browser subscribing again replaces its old choices)"),
        (status = 400, body = crate::kit::Problem, content_type = "application/problem+json", description = "Not a push subscription"),
        (status = 422, body = crate::kit::Problem, content_type = "application/problem+json", description = "Choices or keys need correcting")))]
pub(crate) async fn subscribe_browser(
    State(state): State<AppState>,
    City(city): City,
    SiteUrl(base): SiteUrl,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let request: BrowserSubscription = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("the body is not a push subscription: {e}")))?;
    let choices = Choices::read(&request.categories, &request.areas);
    let categories = state.store.notice_categories(&city.id).await?;
    if let Err(problems) = choices.check(&categories) {
        let (field, message) = &problems[0];
        return Err(ApiError::invalid_field(
            &format!("/{field}"),
            message.clone(),
        ));
    }
    let unknown = state.store.unknown_areas(&city.id, &choices.areas).await?;
    if !unknown.is_empty() {
        return Err(ApiError::invalid_field(
            "/areas",
            crate::kit::areas::unknown_areas_message(&unknown),
        ));
    }
    crate::kit::push::check_push_subscription(
        &request.endpoint,
        &request.keys,
        state.webhook_allow_private,
    )
    .await?;
    let subscription = state
        .store
        .resubscribe(
            &city.id,
            &NewSubscription {
                channel: Channel::WebPush,
                address: request.endpoint.clone(),
                secret: serde_json::to_string(&request.keys).map_err(ApiError::internal)?,
                choices,
                language: request
                    .language
                    .filter(|l| l == "en")
                    .unwrap_or_else(|| "ja".into()),
                confirmed: true,
            },
        )
        .await?;
    let manage = format!("{}/subscriptions/{}", base, subscription.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, manage.clone())],
        Json(SubscriptionCreated {
            id: subscription.id,
            manage_url: manage,
        }),
    )
        .into_response())
}

fn script(js: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        js,
    )
        .into_response()
}

/// The service worker that shows pushed notices (served from the root so its scope is the
/// whole site).
pub(super) async fn service_worker() -> Response {
    script(include_str!("../../../static/sw.js"))
}

pub(super) async fn subscribe_script() -> Response {
    script(include_str!("../../../static/subscribe.js"))
}
