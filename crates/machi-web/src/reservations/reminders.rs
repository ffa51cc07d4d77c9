//! Where a booking's day-before reminder goes besides its e-mail, chosen on the booking's page:
//! this browser's notifications (the page's script posts the browser's push subscription
//! here), or LINE (the page shows the message to send to the city's official account, which
//! the LINE webhook reads).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use machi_core::subscriptions::{BrowserKeys, Channel};
use machi_store::reservations::ReminderChannel;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::kit::{ApiError, City, Ui};
use crate::AppState;

/// A browser's push subscription, as `PushSubscription.toJSON()` gives it, for one booking's
/// reminder.
#[derive(Deserialize, ToSchema)]
pub(crate) struct ReminderPush {
    /// The booking's cancel code, from its confirmation.
    cancel_code: String,
    /// The push service's address for this browser (https).
    endpoint: String,
    #[schema(value_type = crate::kit::push::BrowserKeysSchema)]
    keys: BrowserKeys,
}

/// Where the booking's reminder goes now.
#[derive(Serialize, ToSchema)]
pub(crate) struct Reminders {
    booking_number: String,
    /// `email` (when the booking has an address), `webpush`, `line`.
    channels: Vec<String>,
}

#[utoipa::path(post, path = "/api/v1/bookings/{number}/reminders", tag = "reservations",
    params(("number" = String, Path, description = "Booking number")),
    request_body(content = ReminderPush, description = "The browser's push subscription and the booking's cancel code"),
    responses((status = 201, body = Reminders, description = "The day-before reminder comes to this browser too"),
              (status = 400, body = crate::kit::Problem, content_type = "application/problem+json", description = "Not a push subscription"),
              (status = 404, body = crate::kit::Problem, content_type = "application/problem+json", description = "No booking with that number and code"),
              (status = 409, body = crate::kit::Problem, content_type = "application/problem+json", description = "A cancelled booking, or too many places already"),
              (status = 422, body = crate::kit::Problem, content_type = "application/problem+json", description = "The endpoint or keys need correcting")))]
pub(crate) async fn add_push(
    State(state): State<AppState>,
    City(city): City,
    Path(number): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let request: ReminderPush = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("the body is not a push subscription: {e}")))?;
    let (booking, _) =
        super::api::owned_booking(&state, &city.id, &number, &request.cancel_code).await?;
    crate::kit::push::check_push_subscription(
        &request.endpoint,
        &request.keys,
        state.webhook_allow_private,
    )
    .await?;
    let channel = ReminderChannel {
        channel: Channel::WebPush,
        address: request.endpoint.clone(),
        secret: serde_json::to_string(&request.keys).map_err(ApiError::internal)?,
    };
    state
        .store
        .add_reminder_channel(&city.id, &booking.number, &channel)
        .await?;
    let channels = reminder_targets(&state, &city.id, &booking)
        .await?
        .into_iter()
        .map(|channel| channel.as_str().to_string())
        .collect();
    Ok((
        StatusCode::CREATED,
        Json(Reminders {
            booking_number: booking.number,
            channels,
        }),
    )
        .into_response())
}

/// The channels the booking's reminder goes to, each once: e-mail first (when it has an
/// address), then those chosen on its page.
async fn reminder_targets(
    state: &AppState,
    tenant: &str,
    booking: &machi_store::reservations::Booking,
) -> Result<Vec<Channel>, ApiError> {
    let mut channels = Vec::new();
    if !booking.booker.email.is_empty() {
        channels.push(Channel::Email);
    }
    for linked in state
        .store
        .reminder_channels(tenant, &booking.number)
        .await?
    {
        if !channels.contains(&linked.channel) {
            channels.push(linked.channel);
        }
    }
    Ok(channels)
}

/// What the booking's page says about its reminder: the channels it goes to, and the message
/// that links LINE (when the city has a LINE account).
pub(super) struct ReminderOptions {
    pub channels: Vec<String>,
    pub line_message: Option<String>,
}

pub(super) async fn options(
    state: &AppState,
    tenant: &str,
    ui: Ui,
    booking: &machi_store::reservations::Booking,
) -> Result<ReminderOptions, ApiError> {
    let channels = reminder_targets(state, tenant, booking)
        .await?
        .into_iter()
        .map(|channel| match channel {
            Channel::Email => format!("{}（{}）", ui.l(&channel.label()), booking.booker.email),
            other => ui.l(&other.label()).to_string(),
        })
        .collect();
    let line_message = match state.line {
        Some(_) => Some(machi_core::reservations::reminder_link::link_message(
            &booking.number,
            &state
                .store
                .reminder_link_code(tenant, &booking.number)
                .await?,
        )),
        None => None,
    };
    Ok(ReminderOptions {
        channels,
        line_message,
    })
}
