//! `/api/v1/services` and `/api/v1/bookings`: what can be booked, the slots with the places
//! left, and booking, changing and cancelling with the booking's cancel code.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{Duration, NaiveDate};
use machi_core::procedures::Localized;
use machi_core::reservations::{Booker, Service};
use machi_store::reservations::{Booked, Booking, Channel};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{can_cancel, candidates, now_jst, openings, parse_start, rfc3339};
use crate::kit::{idempotency_key, ApiError, City, SiteUrl, Text};
use crate::AppState;

/// A resource of a service: a counter, a member of staff, a room or a court.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ResourceView {
    id: String,
    name: Text,
    /// How many it takes at once.
    capacity: u32,
}

/// A service residents book.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ServiceView {
    id: String,
    /// counter, consultation or facility.
    kind: String,
    name: Text,
    summary: Text,
    department: Text,
    department_code: String,
    slot_minutes: u32,
    /// Bookable from `latest_days` ahead until `earliest_days` ahead.
    earliest_days: u32,
    latest_days: u32,
    /// A booking can be cancelled or changed online until this many hours before it.
    cancel_until_hours: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    fee_yen: Option<i64>,
    /// An online consultation (a video-meeting link is given with the booking).
    online: bool,
    /// Who may book online: anyone, residents (registered, living in the city) or
    /// registered_groups; the latter two give `registration` and `registration_code`.
    eligibility: String,
    /// Whether a month's slots go by lottery first (see `/lotteries/{month}`).
    lottery: bool,
    /// Booked only from the page of an application that asks for it (粗大ごみ's collection
    /// day), not on its own.
    via_procedure: bool,
    /// Whether a booking names the resource (a facility), or any with room serves.
    choose_resource: bool,
    resources: Vec<ResourceView>,
}

impl From<&Service> for ServiceView {
    fn from(s: &Service) -> Self {
        Self {
            id: s.id.clone(),
            kind: s.kind.as_str().into(),
            name: (&s.name).into(),
            summary: (&s.summary).into(),
            department: Text {
                ja: s.department.ja.clone(),
                en: s.department.en.clone(),
            },
            department_code: s.department.code.clone(),
            slot_minutes: s.slot_minutes,
            earliest_days: s.window.earliest_days,
            latest_days: s.window.latest_days,
            cancel_until_hours: s.cancel_until_hours,
            fee_yen: s.fee_yen,
            online: s.meeting_url.is_some(),
            eligibility: s.eligibility.as_str().into(),
            lottery: s.lottery.is_some(),
            via_procedure: s.via_procedure,
            choose_resource: s.kind.resident_picks_resource(),
            resources: s
                .resources
                .iter()
                .map(|r| ResourceView {
                    id: r.id.clone(),
                    name: (&r.name).into(),
                    capacity: r.capacity,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ServiceList {
    items: Vec<ServiceView>,
}

/// The services residents can book.
#[utoipa::path(get, path = "/api/v1/services", tag = "reservations",
    responses((status = 200, body = ServiceList),
              (status = 400, body = crate::kit::Problem, content_type = "application/problem+json", description = "Malformed request")))]
pub(crate) async fn list_services(
    State(state): State<AppState>,
    City(city): City,
) -> Result<Json<ServiceList>, ApiError> {
    let services = state.store.services(&city.id).await?;
    Ok(Json(ServiceList {
        items: services.iter().map(ServiceView::from).collect(),
    }))
}

/// The days to list slots for.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SlotsParams {
    /// First day, `YYYY-MM-DD` (default today, in Japan).
    #[param(pattern = "^(\\d{4}-\\d{2}-\\d{2})?$")]
    from: Option<String>,
    /// Last day, `YYYY-MM-DD` (default 13 days after `from`; at most 62 days after it).
    #[param(pattern = "^(\\d{4}-\\d{2}-\\d{2})?$")]
    to: Option<String>,
}

/// A time that can be booked now, with the places left (0: full).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SlotView {
    /// The room or court (facilities only; elsewhere any resource with room serves).
    #[serde(skip_serializing_if = "Option::is_none")]
    resource: Option<String>,
    /// RFC 3339, Japan's time.
    start: String,
    end: String,
    available: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SlotList {
    service: String,
    items: Vec<SlotView>,
}

fn day(field: &str, text: Option<&str>) -> Result<Option<NaiveDate>, ApiError> {
    text.filter(|t| !t.is_empty())
        .map(|t| {
            NaiveDate::parse_from_str(t, "%Y-%m-%d").map_err(|_| {
                ApiError::invalid_field(
                    field,
                    Localized::new(
                        format!("{} は YYYY-MM-DD の日付です", field.trim_start_matches('/')),
                        format!(
                            "{} must be a date YYYY-MM-DD",
                            field.trim_start_matches('/')
                        ),
                    ),
                )
            })
        })
        .transpose()
}

/// The slots of a service that can be booked now, from one day to another.
#[utoipa::path(get, path = "/api/v1/services/{id}/slots", tag = "reservations",
    params(("id" = String, Path, description = "Service id"), SlotsParams),
    responses((status = 200, body = SlotList),
              (status = 400, body = crate::kit::Problem, content_type = "application/problem+json", description = "Malformed request"),
              (status = 404, body = crate::kit::Problem, content_type = "application/problem+json"),
              (status = 422, body = crate::kit::Problem, content_type = "application/problem+json")))]
pub(crate) async fn service_slots(
    State(state): State<AppState>,
    City(city): City,
    Path(id): Path<String>,
    params: Result<Query<SlotsParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<SlotList>, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let service = super::service_or_404(&state, &city.id, &id).await?;
    let from = day("/from", params.from.as_deref())?.unwrap_or(now_jst().date());
    let to = day("/to", params.to.as_deref())?.unwrap_or(from + Duration::days(13));
    if to < from || to > from + Duration::days(machi_core::reservations::MAX_DAYS_ASKED) {
        return Err(ApiError::invalid_field(
            "/to",
            Localized::new(
                "to は from から62日以内の日付です",
                "to must be from `from` up to 62 days after it",
            ),
        ));
    }
    let calendar = state.store.calendar(&city.id).await?;
    let items = openings(&state, &city.id, &service, &calendar, from, to)
        .await?
        .into_iter()
        .map(|o| SlotView {
            resource: o.resource,
            start: rfc3339(o.starts),
            end: rfc3339(o.ends),
            available: o.left,
        })
        .collect();
    Ok(Json(SlotList {
        service: service.id,
        items,
    }))
}

/// A booking request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BookingRequest {
    service: String,
    /// The slot's start, RFC 3339 (`2026-12-07T09:30:00+09:00`).
    start: String,
    /// The room or court, for a facility.
    #[serde(default)]
    resource: Option<String>,
    name: String,
    email: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    note: String,
    /// 登録番号 of a registered person or group, for a service only they may book.
    #[serde(default)]
    registration: Option<String>,
    /// The code on the registration's card.
    #[serde(default)]
    registration_code: Option<String>,
}

/// A booking just made. Keep `cancel_code`: it is shown once, and cancels or changes it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct BookingCreated {
    booking_number: String,
    cancel_code: String,
    service: String,
    resource: String,
    start: String,
    end: String,
    /// The video meeting of an online consultation.
    #[serde(skip_serializing_if = "Option::is_none")]
    meeting_url: Option<String>,
    /// The booking's page (with its cancel code) and its iCalendar file.
    manage_url: String,
    ics_url: String,
    /// What it costs (使用料 after any 減免), for a service with a fee.
    #[serde(skip_serializing_if = "Option::is_none")]
    fee_yen: Option<i64>,
}

/// A booking as it stands.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct BookingView {
    booking_number: String,
    /// booked, provisional (a lottery win to confirm), cancelled, released or no_show.
    state: String,
    service: String,
    resource: String,
    start: String,
    end: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    meeting_url: Option<String>,
    /// What it costs (使用料 after any 減免), for a service with a fee.
    #[serde(skip_serializing_if = "Option::is_none")]
    fee_yen: Option<i64>,
    /// Whether the fee was paid online, for a service with a fee.
    #[serde(skip_serializing_if = "Option::is_none")]
    fee_paid: Option<bool>,
}

fn view(service: &Service, booking: &Booking) -> BookingView {
    BookingView {
        booking_number: booking.number.clone(),
        state: booking.state.clone(),
        service: booking.service_id.clone(),
        resource: booking.resource_id.clone(),
        start: rfc3339(booking.starts),
        end: rfc3339(booking.ends),
        meeting_url: service.meeting_for(&booking.number),
        fee_yen: booking.fee(service),
        fee_paid: booking.fee(service).map(|_| booking.fee_paid_at.is_some()),
    }
}

fn start_of(text: &str) -> Result<chrono::NaiveDateTime, ApiError> {
    parse_start(text).ok_or_else(|| {
        ApiError::invalid_field(
            "/start",
            Localized::new(
                "start は 2026-12-07T09:30:00+09:00 のような日時です",
                "start must be a time like 2026-12-07T09:30:00+09:00",
            ),
        )
    })
}

/// Book a slot. With the same `Idempotency-Key` again, the booking made is returned (without
/// its cancel code) and nothing new is booked. A full slot is a 409.
#[utoipa::path(post, path = "/api/v1/bookings", tag = "reservations",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: 1-255 visible ASCII characters", pattern = "^[!-~]{1,255}$")),
    request_body = BookingRequest,
    responses((status = 201, body = BookingCreated),
              (status = 200, body = BookingView, description = "Replayed: the booking made with this Idempotency-Key"),
              (status = 400, body = crate::kit::Problem, content_type = "application/problem+json"),
              (status = 404, body = crate::kit::Problem, content_type = "application/problem+json"),
              (status = 409, body = crate::kit::Problem, content_type = "application/problem+json", description = "The slot is full, closed, outside the booking window, or only registered users may book it"),
              (status = 422, body = crate::kit::Problem, content_type = "application/problem+json")))]
pub(crate) async fn book(
    State(state): State<AppState>,
    City(city): City,
    SiteUrl(base): SiteUrl,
    headers: HeaderMap,
    body: Result<Json<BookingRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let key = idempotency_key(&headers)?;
    let Json(request) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let booker = Booker::checked(&request.name, &request.email, &request.phone, &request.note)
        .map_err(|problems| fields_problem(&problems))?;
    let service = super::service_or_404(&state, &city.id, &request.service).await?;
    let starts = start_of(&request.start)?;
    let calendar = state.store.calendar(&city.id).await?;
    let slots = candidates(&service, &calendar, request.resource.as_deref(), starts)
        .map_err(super::not_bookable)?;
    let registration = super::registration_admitted(
        &state,
        &city.id,
        &service,
        request.registration.as_deref().unwrap_or_default(),
        request.registration_code.as_deref().unwrap_or_default(),
    )
    .await?
    .map_err(super::not_bookable)?;
    let booked = super::book_and_confirm(
        &state,
        &city,
        &base,
        super::Request {
            service: &service,
            slots: &slots,
            booker: &booker,
            channel: Channel::Online,
            idempotency_key: key.as_deref(),
            registration: registration.as_ref(),
            application: None,
        },
    )
    .await?;
    Ok(created(&base, &service, booked))
}

fn created(base: &str, service: &Service, booked: Booked) -> Response {
    let booking = &booked.booking;
    if !booked.created {
        let mut response = Json(view(service, booking)).into_response();
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
        return response;
    }
    let code = &booked.cancel_code;
    let body = BookingCreated {
        booking_number: booking.number.clone(),
        cancel_code: code.clone(),
        service: booking.service_id.clone(),
        resource: booking.resource_id.clone(),
        start: rfc3339(booking.starts),
        end: rfc3339(booking.ends),
        meeting_url: service.meeting_for(&booking.number),
        manage_url: format!("{base}/bookings/{}?code={code}", booking.number),
        ics_url: format!("{base}/bookings/{}.ics?code={code}", booking.number),
        fee_yen: booking.fee(service),
    };
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("/bookings/{}", booking.number)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

fn fields_problem(problems: &[(&'static str, Localized)]) -> ApiError {
    let errors = problems
        .iter()
        .map(|(field, message)| machi_core::procedures::FieldError {
            pointer: format!("/{field}"),
            field: (*field).to_string(),
            message: message.clone(),
        })
        .collect();
    ApiError::invalid_fields(errors, "")
}

/// The booking `number` when `code` is its cancel code (else 404: a wrong code says nothing
/// about whether the number exists), with its service and the city's calendar.
pub(super) async fn owned_booking(
    state: &AppState,
    tenant: &str,
    number: &str,
    code: &str,
) -> Result<(Booking, Service), ApiError> {
    let not_found = || {
        ApiError::not_found("no booking with that number and code")
            .with_ja("その番号とコードの予約はありません")
    };
    if code.is_empty() {
        return Err(not_found());
    }
    let booking = state
        .store
        .booking_with_code(tenant, number, code)
        .await?
        .ok_or_else(not_found)?;
    let service = super::service_or_404(state, tenant, &booking.service_id).await?;
    Ok((booking, service))
}

fn too_late(service: &Service) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "conflict",
        "Conflict",
        format!(
            "bookings can be cancelled or changed online until {} hours before they start",
            service.cancel_until_hours
        ),
    )
    .with_ja(format!(
        "ネットでの取消・変更は開始の{}時間前までです。担当課へお電話ください",
        service.cancel_until_hours
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct CancelParams {
    /// The cancel code given with the booking.
    cancel_code: Option<String>,
}

/// Cancel a booking with its cancel code (its slot has room again at once).
#[utoipa::path(delete, path = "/api/v1/bookings/{number}", tag = "reservations",
    params(("number" = String, Path, description = "Booking number"), CancelParams),
    responses((status = 200, body = BookingView),
              (status = 400, body = crate::kit::Problem, content_type = "application/problem+json", description = "Malformed request"),
              (status = 404, body = crate::kit::Problem, content_type = "application/problem+json"),
              (status = 409, body = crate::kit::Problem, content_type = "application/problem+json", description = "Past the cancellation deadline")))]
pub(crate) async fn cancel(
    State(state): State<AppState>,
    City(city): City,
    SiteUrl(base): SiteUrl,
    Path(number): Path<String>,
    Query(params): Query<CancelParams>,
) -> Result<Json<BookingView>, ApiError> {
    let code = params.cancel_code.unwrap_or_default();
    let (booking, service) = owned_booking(&state, &city.id, &number, &code).await?;
    let calendar = state.store.calendar(&city.id).await?;
    if booking.holds_slot() && !can_cancel(&service, &calendar, &booking) {
        return Err(too_late(&service));
    }
    let notice = super::booking::change_mail(&base, &city, &service, Some(&code));
    let links = super::booking::links(&city, &base);
    let cancelled = state
        .store
        .cancel_booking(&city.id, &number, Some(&notice), &links)
        .await?;
    Ok(Json(view(&service, &cancelled)))
}

/// A change of a booking's time (and room).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChangeRequest {
    cancel_code: String,
    start: String,
    #[serde(default)]
    resource: Option<String>,
}

/// Move a booking to another slot with its cancel code; it keeps its number and code. When the
/// new slot is full, the booking stays as it was (409).
#[utoipa::path(patch, path = "/api/v1/bookings/{number}", tag = "reservations",
    params(("number" = String, Path, description = "Booking number")),
    request_body = ChangeRequest,
    responses((status = 200, body = BookingView),
              (status = 400, body = crate::kit::Problem, content_type = "application/problem+json", description = "Malformed body"),
              (status = 404, body = crate::kit::Problem, content_type = "application/problem+json"),
              (status = 409, body = crate::kit::Problem, content_type = "application/problem+json"),
              (status = 422, body = crate::kit::Problem, content_type = "application/problem+json")))]
pub(crate) async fn change(
    State(state): State<AppState>,
    City(city): City,
    SiteUrl(base): SiteUrl,
    Path(number): Path<String>,
    body: Result<Json<ChangeRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<BookingView>, ApiError> {
    let Json(request) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let (booking, service) = owned_booking(&state, &city.id, &number, &request.cancel_code).await?;
    let calendar = state.store.calendar(&city.id).await?;
    if !can_cancel(&service, &calendar, &booking) {
        return Err(too_late(&service));
    }
    let starts = start_of(&request.start)?;
    let resource = request.resource.as_deref().or(service
        .kind
        .resident_picks_resource()
        .then_some(booking.resource_id.as_str()));
    let slots = candidates(&service, &calendar, resource, starts).map_err(super::not_bookable)?;
    let changed = state
        .store
        .change_booking(
            &city.id,
            &number,
            &service,
            &slots,
            Some(&super::booking::change_mail(
                &base,
                &city,
                &service,
                Some(&request.cancel_code),
            )),
        )
        .await?;
    Ok(Json(view(&service, &changed)))
}
