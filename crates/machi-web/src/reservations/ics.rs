//! iCalendar (RFC 5545) files: a booking for the resident's own calendar (`/bookings/{number}.ics`,
//! with its cancel code), and a facility's booked times as a public feed without personal data
//! (`/reservations/{service}/calendar.ics`), which calendar apps subscribe to.

use axum::extract::{Path, State};
use axum::response::Response;
use chrono::{NaiveDateTime, TimeZone, Utc};
use icalendar::{Calendar, Component, Event, EventLike};
use machi_core::reservations::Service;
use machi_store::reservations::Booking;
use machi_store::Tenant;

use crate::kit::{attachment, City, PageError};
use crate::AppState;

/// A local (JST) time as the UTC time calendar files carry (no time-zone table needed).
fn utc(at: NaiveDateTime) -> chrono::DateTime<Utc> {
    machi_core::wareki::jst()
        .from_local_datetime(&at)
        .single()
        .map_or_else(|| Utc.from_utc_datetime(&at), |t| t.with_timezone(&Utc))
}

/// An empty calendar of machi's, named.
fn calendar(name: &str) -> Calendar {
    let mut calendar = Calendar::empty();
    calendar
        .append_property(icalendar::Property::new("VERSION", "2.0"))
        .append_property(icalendar::Property::new(
            "PRODID",
            "-//machi//reservations//JA",
        ))
        .append_property(icalendar::Property::new("CALSCALE", "GREGORIAN"))
        .name(name);
    calendar
}

fn host_of(base: &str) -> &str {
    base.split("://")
        .nth(1)
        .unwrap_or(base)
        .trim_end_matches('/')
}

/// The booking's iCalendar file as a download.
pub(super) fn booking_file(
    base: &str,
    city: &Tenant,
    service: &Service,
    booking: &Booking,
) -> Response {
    attachment(
        booking_calendar(base, city, service, booking).into_bytes(),
        "text/calendar; charset=utf-8",
        &format!("booking-{}.ics", booking.number),
    )
}

/// The booking as one event: what, when, where, the meeting link of an online consultation,
/// and the booking's page (the same file the download and the confirmation e-mail carry).
pub(super) fn booking_calendar(
    base: &str,
    city: &Tenant,
    service: &Service,
    booking: &Booking,
) -> String {
    let place = service
        .resource(&booking.resource_id)
        .map(|r| r.name.ja.clone())
        .unwrap_or_default();
    let meeting = service.meeting_for(&booking.number);
    let mut description = format!("予約番号 {}\n{}", booking.number, service.summary.ja);
    if let Some(url) = &meeting {
        description.push_str(&format!("\nビデオ通話: {url}"));
    }
    let mut event = Event::new();
    event
        .uid(&format!("booking-{}@{}", booking.number, host_of(base)))
        .timestamp(Utc::now())
        .summary(&format!("{}（{}）", service.name.ja, city.name_ja))
        .description(&description)
        .location(&format!("{} {}", city.name_ja, place))
        .starts(utc(booking.starts))
        .ends(utc(booking.ends));
    if let Some(url) = &meeting {
        event.url(url);
    }
    if !booking.is_booked() {
        event.status(icalendar::EventStatus::Cancelled);
    }
    calendar(&format!("{} 予約", city.name_ja))
        .push(event.done())
        .done()
        .to_string()
}

/// `/reservations/{service}/calendar.ics`: the times a service's resources are booked, from a
/// week ago on, each event naming only the resource (never who booked it).
pub(super) async fn busy_feed(
    State(state): State<AppState>,
    City(city): City,
    crate::kit::SiteUrl(base): crate::kit::SiteUrl,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let service = super::service_or_404(&state, &city.id, &id).await?;
    let since = super::now_jst() - chrono::Duration::days(7);
    let booked = state
        .store
        .booked_times(&city.id, &service.id, since)
        .await?;
    let mut calendar = calendar(&format!(
        "{} {}（予約済みの時間）",
        city.name_ja, service.name.ja
    ));
    for (resource, starts, ends) in booked {
        let name = service
            .resource(&resource)
            .map(|r| r.name.ja.clone())
            .unwrap_or(resource.clone());
        calendar.push(
            Event::new()
                .uid(&format!(
                    "{}-{}-{}@{}",
                    service.id,
                    resource,
                    starts.format("%Y%m%dT%H%M"),
                    host_of(&base)
                ))
                .timestamp(Utc::now())
                .summary(&format!("予約済み: {name}"))
                .starts(utc(starts))
                .ends(utc(ends))
                .done(),
        );
    }
    Ok(attachment(
        calendar.done().to_string().into_bytes(),
        "text/calendar; charset=utf-8",
        &format!("{}.ics", service.id),
    ))
}
