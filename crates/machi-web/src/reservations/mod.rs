//! 予約 (reservations): residents book a counter, a consultation or a facility — the pages
//! (`/reservations`, working without JavaScript), the booking's own page reached with its
//! cancel code (`/bookings/{number}`), its iCalendar file, and the JSON API
//! (`/api/v1/services`, `/api/v1/bookings`).
//!
//! What a slot is and when it can be booked is machi-core's (`reservations`); that no slot is
//! ever booked past its capacity is the store's. This room shows slots with the places left,
//! and turns a resident's choice into the slots a booking may take.

pub(crate) mod api;
mod booking;
mod closures;
mod ics;
mod labels;
pub(crate) mod lottery;
mod pages;
mod registrations;
pub(crate) mod reminders;
mod staff;

use std::collections::HashMap;

use axum::routing::{get, post};
use axum::Router;
use chrono::{NaiveDate, NaiveDateTime};
use machi_core::calendar::Calendar;
use machi_core::procedures::Localized;
use machi_core::reservations::{Service, Slot, SlotQuery};
use machi_store::reservations::Booking;
use machi_store::StoreError;

use crate::AppState;

pub(crate) fn public_routes() -> Router<AppState> {
    Router::new()
        .route("/reservations", get(pages::services))
        .route("/reservations/{service}", get(pages::service))
        .route(
            "/reservations/{service}/book",
            get(pages::booking_form).post(pages::make_booking),
        )
        .route("/bookings/{number}", get(booking::booking))
        .route("/bookings/{number}/cancel", post(booking::cancel_booking))
        .route("/bookings/{number}/confirm", post(booking::confirm_booking))
        .route("/reservations/{service}/calendar.ics", get(ics::busy_feed))
        .route(
            "/reservations/{service}/lottery",
            get(lottery::page).post(lottery::apply),
        )
        .route(
            "/reservations/{service}/lottery/{month}",
            get(lottery::round),
        )
}

/// The bookings in the staff console, behind the staff guard.
pub(crate) fn staff_routes() -> Router<AppState> {
    Router::new()
        .route("/staff/bookings", get(staff::day))
        .route("/staff/bookings.csv", get(staff::csv))
        .route("/staff/bookings/new", post(staff::book_visitor))
        .route("/staff/bookings/close", post(closures::close))
        .route("/staff/bookings/reopen", post(closures::reopen))
        .route("/staff/bookings/{number}/no-show", post(staff::no_show))
        .route("/staff/bookings/{number}/cancel", post(staff::cancel))
        .route("/staff/bookings/{number}/confirm", post(staff::confirm))
        .route(
            "/staff/registrations",
            get(registrations::page).post(registrations::register),
        )
}

pub(crate) fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/services", get(api::list_services))
        .route("/services/{id}/slots", get(api::service_slots))
        .route("/services/{id}/lotteries/{month}", get(lottery::api_round))
        .route("/bookings", post(api::book))
        .route("/bookings/{number}/reminders", post(reminders::add_push))
        .route(
            "/bookings/{number}",
            axum::routing::delete(api::cancel).patch(api::change),
        )
}

/// Now in Japan, where every slot is.
fn now_jst() -> NaiveDateTime {
    chrono::Utc::now()
        .with_timezone(&machi_core::wareki::jst())
        .naive_local()
}

/// A time residents can book: a start (and, for a facility, which room or court), with the
/// places left.
#[derive(Debug, Clone)]
pub(crate) struct Opening {
    /// `None` for a counter or consultation: any of its resources with room serves.
    resource: Option<String>,
    starts: NaiveDateTime,
    ends: NaiveDateTime,
    left: u32,
}

/// The openings of a service from `from` to `to`, as seen now.
async fn openings(
    state: &AppState,
    tenant: &str,
    service: &Service,
    calendar: &Calendar,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<Opening>, StoreError> {
    let query = SlotQuery {
        service,
        calendar,
        now: now_jst(),
    };
    let slots = query.slots(from, to);
    let (Some(first), Some(last)) = (slots.first(), slots.last()) else {
        return Ok(Vec::new());
    };
    // (resource, start) → (booked, closed by staff), for the slots booked or closed.
    let fill: HashMap<(String, NaiveDateTime), (i64, bool)> = state
        .store
        .slot_fill(tenant, &service.id, first.starts(), last.starts())
        .await?
        .into_iter()
        .map(|(resource, starts, booked, closed)| ((resource, starts), (booked, closed)))
        .collect();
    let fill_of = |slot: &Slot| {
        fill.get(&(slot.resource.clone(), slot.starts()))
            .copied()
            .unwrap_or((0, false))
    };
    let left = |slot: &Slot| {
        let capacity = service.resource(&slot.resource).map_or(0, |r| r.capacity);
        u32::try_from(i64::from(capacity) - fill_of(slot).0).unwrap_or(0)
    };
    let mut openings: Vec<Opening> = Vec::new();
    // A slot staff closed is not offered at all.
    for slot in slots.iter().filter(|s| !fill_of(s).1) {
        let ends = slot.date.and_time(slot.end);
        if service.kind.resident_picks_resource() {
            openings.push(Opening {
                resource: Some(slot.resource.clone()),
                starts: slot.starts(),
                ends,
                left: left(slot),
            });
        } else if let Some(same) = openings.last_mut().filter(|o| o.starts == slot.starts()) {
            same.left += left(slot);
        } else {
            openings.push(Opening {
                resource: None,
                starts: slot.starts(),
                ends,
                left: left(slot),
            });
        }
    }
    Ok(openings)
}

/// The slots a booking at `starts` may take: the resource asked for (a facility must name
/// one), else every resource of the service at that time, in order. Why not, when none can be
/// booked now.
fn candidates(
    service: &Service,
    calendar: &Calendar,
    resource: Option<&str>,
    starts: NaiveDateTime,
) -> Result<Vec<Slot>, Localized> {
    let query = SlotQuery {
        service,
        calendar,
        now: now_jst(),
    };
    match resource.filter(|r| !r.is_empty()) {
        Some(resource) => Ok(vec![query.bookable(resource, starts)?]),
        None if service.kind.resident_picks_resource() => Err(Localized::new(
            "施設（部屋・面）を選んでください",
            "choose which room or court",
        )),
        None => service
            .resources
            .iter()
            .map(|r| query.bookable(&r.id, starts))
            .collect(),
    }
}

/// What a booking is made of, as the pages, the API and the counter give it.
struct Request<'a> {
    service: &'a Service,
    slots: &'a [Slot],
    booker: &'a machi_core::reservations::Booker,
    channel: machi_store::reservations::Channel,
    idempotency_key: Option<&'a str>,
    /// The registration of who books, as [`registration_admitted`] found it: required online
    /// for a service only registered users may book; it brings its 減免.
    registration: Option<&'a machi_store::reservations::Registration>,
    /// The application (receipt number) whose visit this is, its key checked.
    application: Option<&'a str>,
}

/// Books, queuing the confirmation e-mail in the booking's transaction when the booker gave an
/// address (a visitor at the counter may not have).
async fn book_and_confirm(
    state: &AppState,
    city: &machi_store::Tenant,
    base: &str,
    request: Request<'_>,
) -> Result<machi_store::reservations::Booked, StoreError> {
    if request.service.via_procedure
        && request.application.is_none()
        && request.channel == machi_store::reservations::Channel::Online
    {
        return Err(StoreError::conflict(
            "この予約は、申請の受付画面（申請状況のページ）から行ってください",
            "book this from your application's receipt or status page",
        ));
    }
    let anyone = request.service.eligibility == machi_core::reservations::Eligibility::Anyone;
    if request.channel == machi_store::reservations::Channel::Online
        && request.registration.is_none()
        && !anyone
    {
        return Err(StoreError::Conflict(registration_needed()));
    }
    let mut booker = request.booker.clone();
    let mut reductions: &[String] = &[];
    if let Some(registration) = request.registration {
        booker.note = format!("{}（登録番号 {}）", booker.note, registration.number);
        reductions = &registration.reductions;
    }
    let fee = request.service.fee_for(reductions);
    let fee_note = fee.as_ref().and_then(|f| f.reduction).map(|r| r.note());
    let confirmation = booking::confirmation_mail(base, city, request.service);
    state
        .store
        .book(
            &city.id,
            &machi_store::reservations::NewBooking {
                service: request.service,
                slots: request.slots,
                booker: &booker,
                channel: request.channel,
                idempotency_key: request.idempotency_key,
                application: request.application,
                fee: machi_store::reservations::Fee {
                    yen: fee.map(|f| f.yen),
                    note: fee_note.as_deref(),
                },
                confirmation: (!request.booker.email.is_empty()).then_some(&confirmation),
            },
        )
        .await
}

/// The registration of who books, when they gave one: required (and of the right kind) for a
/// service only registered users may book (`eligibility`), optional elsewhere (it brings its
/// 減免). `None` when none was needed nor given; else why not.
async fn registration_admitted(
    state: &AppState,
    tenant: &str,
    service: &Service,
    number: &str,
    code: &str,
) -> Result<Result<Option<machi_store::reservations::Registration>, Localized>, StoreError> {
    let anyone = service.eligibility == machi_core::reservations::Eligibility::Anyone;
    if anyone && number.trim().is_empty() {
        return Ok(Ok(None));
    }
    let Some(registration) = state
        .store
        .registration_with_code(tenant, number, code)
        .await?
    else {
        return Ok(Err(if anyone {
            Localized::new(
                "登録番号か利用者コードが違います（減免を受ける登録者だけ入力してください）",
                "the registration number or code is wrong (give them only for a fee reduction)",
            )
        } else {
            registration_needed()
        }));
    };
    Ok(service
        .eligibility
        .admits(registration.kind, registration.in_city)
        .map(|()| Some(registration)))
}

fn registration_needed() -> Localized {
    Localized::new(
        "この施設の予約には利用者登録が必要です。登録番号と利用者コードを正しく入力してください",
        "booking this facility needs a registration: enter its number and code",
    )
}

/// The city's service `id`, or a not-found the API and the pages both show.
async fn service_or_404(state: &AppState, tenant: &str, id: &str) -> Result<Service, StoreError> {
    state.store.service(tenant, id).await?.ok_or_else(|| {
        StoreError::not_found("その予約サービスはありません", format!("no service '{id}'"))
    })
}

/// Whether the booking may still be cancelled or changed online.
fn can_cancel(service: &Service, calendar: &Calendar, booking: &Booking) -> bool {
    booking.holds_slot()
        && SlotQuery {
            service,
            calendar,
            now: now_jst(),
        }
        .can_cancel(booking.starts)
}

/// A local time as the API writes it: RFC 3339 with Japan's offset.
fn rfc3339(at: NaiveDateTime) -> String {
    format!("{}+09:00", at.format("%Y-%m-%dT%H:%M:%S"))
}

/// A local time from the API: RFC 3339 with any offset, turned to Japan's time.
fn parse_start(text: &str) -> Option<NaiveDateTime> {
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&machi_core::wareki::jst()).naive_local())
        .or_else(|| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M").ok())
}

/// The service's problem as a store error a resident can act on.
fn not_bookable(why: Localized) -> StoreError {
    StoreError::Conflict(why)
}
