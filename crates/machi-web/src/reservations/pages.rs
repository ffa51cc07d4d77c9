//! The booking pages, all working without JavaScript: the services, a service's days and
//! times with the places left, the form, and the booking's own page (reached with its cancel
//! code) where it is cancelled, changed or added to a calendar.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use chrono::{Duration, NaiveDate};
use machi_core::reservations::{Booker, Service, ServiceKind, Slot};
use machi_store::reservations::Channel;
use machi_store::{StoreError, Tenant};
use serde::Deserialize;

use super::labels::{day_label, kind_label, service_facts, when_label};
use super::{can_cancel, candidates, now_jst, openings, parse_start};
use crate::kit::{
    check_origin, city_name, no_store, percent_encode, render, see_other, City, PageError, SiteUrl,
    Ui,
};
use crate::AppState;

/// Days shown on a service page at a time.
const DAYS_SHOWN: i64 = 14;

struct ServiceLine {
    id: String,
    name: String,
    summary: String,
    department: String,
}

#[derive(Template)]
#[template(path = "reservations.html")]
struct ServicesPage {
    ui: Ui,
    city: String,
    back: String,
    /// (heading, services) per kind.
    groups: Vec<(String, Vec<ServiceLine>)>,
}

pub(super) async fn services(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
) -> Result<Response, PageError> {
    let services = state.store.services(&city.id).await?;
    let groups = [
        ServiceKind::Counter,
        ServiceKind::Consultation,
        ServiceKind::Facility,
    ]
    .into_iter()
    .map(|kind| {
        let lines = services
            .iter()
            .filter(|s| s.kind == kind)
            .map(|s| ServiceLine {
                id: s.id.clone(),
                name: ui.l(&s.name).to_string(),
                summary: ui.l(&s.summary).to_string(),
                department: ui.name(&s.department.ja, &s.department.en).to_string(),
            })
            .collect::<Vec<_>>();
        (kind_label(ui, kind).to_string(), lines)
    })
    .filter(|(_, lines)| !lines.is_empty())
    .collect();
    Ok(render(&ServicesPage {
        ui,
        city: city_name(ui, &city),
        back: "/reservations".into(),
        groups,
    }))
}

/// A time on a service page: its label, the places left, and where booking it leads.
struct TimeLine {
    label: String,
    left: u32,
    href: String,
}

#[derive(Template)]
#[template(path = "reservation_service.html")]
struct ServicePage {
    ui: Ui,
    city: String,
    back: String,
    service: ServiceLine,
    facts: Vec<(String, String)>,
    /// (date link, label, chosen) for the days shown.
    days: Vec<(String, String, bool)>,
    day_label: String,
    /// (resource name, times) — one group for a counter or consultation.
    times: Vec<(String, Vec<TimeLine>)>,
    earlier: Option<String>,
    later: Option<String>,
    /// Changing booking `number`: the times lead to the change, not to a new booking.
    changing: Option<String>,
    /// A month's slots go by lottery first.
    lottery: bool,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct ServiceQuery {
    #[serde(default)]
    date: String,
    #[serde(default)]
    from: String,
    /// A booking being changed, with its code.
    #[serde(default)]
    change: String,
    #[serde(default)]
    code: String,
    /// The application whose visit is being booked, with its booking key.
    #[serde(default)]
    application: String,
    #[serde(default)]
    key: String,
}

pub(super) async fn service(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    Path(id): Path<String>,
    Query(query): Query<ServiceQuery>,
) -> Result<Response, PageError> {
    let service = super::service_or_404(&state, &city.id, &id).await?;
    let calendar = state.store.calendar(&city.id).await?;
    let today = now_jst().date();
    let first_bookable = today + Duration::days(i64::from(service.window.earliest_days));
    let last_bookable = today + Duration::days(i64::from(service.window.latest_days));
    let from = NaiveDate::parse_from_str(&query.from, "%Y-%m-%d")
        .unwrap_or(first_bookable)
        .clamp(first_bookable, last_bookable.max(first_bookable));
    let to = from + Duration::days(DAYS_SHOWN - 1);
    let openings = openings(&state, &city.id, &service, &calendar, from, to).await?;
    let open_days: Vec<NaiveDate> = {
        let mut days: Vec<NaiveDate> = openings.iter().map(|o| o.starts.date()).collect();
        days.dedup();
        days
    };
    let chosen = NaiveDate::parse_from_str(&query.date, "%Y-%m-%d")
        .ok()
        .filter(|d| open_days.contains(d))
        .or_else(|| open_days.first().copied());
    let changing = (!query.change.is_empty()).then(|| query.change.clone());
    let keep = match &changing {
        Some(number) => format!("&change={number}&code={}", percent_encode(&query.code)),
        None if !query.application.is_empty() => format!(
            "&application={}&key={}",
            percent_encode(&query.application),
            percent_encode(&query.key)
        ),
        None => String::new(),
    };
    let page_link = |from: NaiveDate, date: Option<NaiveDate>| -> String {
        let date = date.map(|d| format!("&date={d}")).unwrap_or_default();
        format!("/reservations/{}?from={from}{date}{keep}#times", service.id)
    };
    let days = open_days
        .iter()
        .map(|d| {
            (
                page_link(from, Some(*d)),
                day_label(ui, *d),
                Some(*d) == chosen,
            )
        })
        .collect();
    let resource_name = |id: &str| {
        service
            .resource(id)
            .map(|r| ui.l(&r.name).to_string())
            .unwrap_or_default()
    };
    let mut times: Vec<(String, Vec<TimeLine>)> = Vec::new();
    for opening in openings.iter().filter(|o| Some(o.starts.date()) == chosen) {
        let group = opening
            .resource
            .as_deref()
            .map(resource_name)
            .unwrap_or_default();
        let href = format!(
            "/reservations/{}/book?start={}&resource={}{keep}",
            service.id,
            opening.starts.format("%Y-%m-%dT%H:%M"),
            opening.resource.as_deref().unwrap_or_default()
        );
        let line = TimeLine {
            label: format!(
                "{}–{}",
                opening.starts.format("%H:%M"),
                opening.ends.format("%H:%M")
            ),
            left: opening.left,
            href,
        };
        match times.iter_mut().find(|(name, _)| *name == group) {
            Some((_, lines)) => lines.push(line),
            None => times.push((group, vec![line])),
        }
    }
    let earlier = (from > first_bookable).then(|| {
        page_link(
            (from - Duration::days(DAYS_SHOWN)).max(first_bookable),
            None,
        )
    });
    let later = (to < last_bookable).then(|| page_link(to + Duration::days(1), None));
    Ok(render(&ServicePage {
        ui,
        city: city_name(ui, &city),
        back: format!("/reservations/{}", service.id),
        facts: service_facts(ui, &service),
        service: ServiceLine {
            id: service.id.clone(),
            name: ui.l(&service.name).to_string(),
            summary: ui.l(&service.summary).to_string(),
            department: String::new(),
        },
        days,
        day_label: chosen.map(|d| day_label(ui, d)).unwrap_or_default(),
        times,
        earlier,
        later,
        changing,
        lottery: service.lottery.is_some(),
    }))
}

#[derive(Template)]
#[template(path = "reservation_book.html")]
struct BookPage {
    ui: Ui,
    city: String,
    back: String,
    service_id: String,
    service_name: String,
    when: String,
    resource_name: String,
    start: String,
    resource: String,
    change: String,
    code: String,
    form: BookForm,
    errors: Vec<(String, String)>,
    /// The slot cannot be had (full, or no longer bookable): why, instead of the form.
    unavailable: Option<String>,
    /// Only registered users may book: the form asks for the registration.
    needs_registration: bool,
    /// The fee has 減免 for some registered users: the form offers the registration.
    reduces_fee: bool,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct BookForm {
    #[serde(default)]
    start: String,
    #[serde(default)]
    resource: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    change: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    registration: String,
    #[serde(default)]
    registration_code: String,
    #[serde(default)]
    application: String,
    #[serde(default)]
    key: String,
}

/// What the form chose, read once: the service, the city's calendar and the slots a booking
/// may take (none when the page says why the time cannot be booked).
struct Chosen {
    service: Service,
    calendar: std::sync::Arc<machi_core::calendar::Calendar>,
    slots: Vec<Slot>,
}

async fn book_page(
    state: &AppState,
    city: &Tenant,
    ui: Ui,
    service_id: &str,
    form: BookForm,
) -> Result<(BookPage, Chosen), PageError> {
    let service = super::service_or_404(state, &city.id, service_id).await?;
    let starts = parse_start(&form.start);
    let calendar = state.store.calendar(&city.id).await?;
    let slots = match starts {
        None => Err(ui
            .t("時間を選びなおしてください", "Choose the time again")
            .to_string()),
        Some(at) => candidates(&service, &calendar, Some(&form.resource), at)
            .map_err(|why| ui.l(&why).to_string()),
    };
    let page = BookPage {
        ui,
        city: city_name(ui, city),
        back: format!("/reservations/{}", service.id),
        service_id: service.id.clone(),
        service_name: ui.l(&service.name).to_string(),
        when: starts
            .map(|at| when_label(ui, at, &service))
            .unwrap_or_default(),
        resource_name: service
            .resource(&form.resource)
            .map(|r| ui.l(&r.name).to_string())
            .unwrap_or_default(),
        start: form.start.clone(),
        resource: form.resource.clone(),
        change: form.change.clone(),
        code: form.code.clone(),
        form,
        errors: Vec::new(),
        unavailable: slots.as_ref().err().cloned(),
        needs_registration: service.eligibility != machi_core::reservations::Eligibility::Anyone,
        reduces_fee: !service.fee_reductions.is_empty(),
    };
    let chosen = Chosen {
        service,
        calendar,
        slots: slots.unwrap_or_default(),
    };
    Ok((page, chosen))
}

pub(super) async fn booking_form(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    Path(id): Path<String>,
    Query(form): Query<BookForm>,
) -> Result<Response, PageError> {
    let (page, _) = book_page(&state, &city, ui, &id, form).await?;
    Ok(no_store(render(&page)))
}

pub(super) async fn make_booking(
    State(state): State<AppState>,
    City(city): City,
    SiteUrl(base): SiteUrl,
    ui: Ui,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<BookForm>,
) -> Result<Response, PageError> {
    check_origin(&headers)?;
    if !form.change.is_empty() {
        return change_booking(&state, &city, &base, ui, &id, form).await;
    }
    let checked = Booker::checked(&form.name, &form.email, &form.phone, &form.note);
    let (registration, registration_code) =
        (form.registration.clone(), form.registration_code.clone());
    let application = visit_of(&state, &city.id, &form.application, &form.key).await?;
    let (mut page, chosen) = book_page(&state, &city, ui, &id, form).await?;
    let mut problems = checked.as_ref().err().cloned().unwrap_or_default();
    let registration = super::registration_admitted(
        &state,
        &city.id,
        &chosen.service,
        &registration,
        &registration_code,
    )
    .await?
    .unwrap_or_else(|why| {
        problems.push(("registration", why));
        None
    });
    let booker = match checked {
        Ok(booker) if problems.is_empty() => booker,
        _ => {
            page.errors = problems
                .into_iter()
                .map(|(field, message)| (field.to_string(), ui.l(&message).to_string()))
                .collect();
            return Ok(unprocessable(&page));
        }
    };
    if page.unavailable.is_some() {
        return Ok(unprocessable(&page));
    }
    let booked = super::book_and_confirm(
        &state,
        &city,
        &base,
        super::Request {
            service: &chosen.service,
            slots: &chosen.slots,
            booker: &booker,
            channel: Channel::Online,
            idempotency_key: None,
            registration: registration.as_ref(),
            application: application.as_deref(),
        },
    )
    .await;
    match booked {
        Ok(booked) => Ok(see_other(&format!(
            "/bookings/{}?code={}&done=booked",
            booked.booking.number, booked.cancel_code
        ))),
        Err(StoreError::Conflict(why)) => {
            page.unavailable = Some(ui.l(&why).to_string());
            Ok(unprocessable(&page))
        }
        Err(error) => Err(error.into()),
    }
}

/// The application whose visit is booked, when the form names one with its right key.
async fn visit_of(
    state: &AppState,
    tenant: &str,
    application: &str,
    key: &str,
) -> Result<Option<String>, PageError> {
    if application.is_empty() {
        return Ok(None);
    }
    if !state
        .store
        .application_booking_key_matches(tenant, application, key)
        .await?
    {
        return Err(StoreError::not_found(
            "申請が見つかりません。申請の受付画面のリンクから予約してください",
            "no such application; book from the link on its receipt page",
        )
        .into());
    }
    Ok(Some(application.to_string()))
}

fn unprocessable(page: &BookPage) -> Response {
    (StatusCode::UNPROCESSABLE_ENTITY, no_store(render(page))).into_response()
}

/// The change of a booking to the time chosen, with its code.
async fn change_booking(
    state: &AppState,
    city: &Tenant,
    base: &str,
    ui: Ui,
    service_id: &str,
    form: BookForm,
) -> Result<Response, PageError> {
    let (booking, _) = super::api::owned_booking(state, &city.id, &form.change, &form.code).await?;
    let code = form.code.clone();
    let (mut page, chosen) = book_page(state, city, ui, service_id, form).await?;
    let service = &chosen.service;
    // A booking moves within its own service.
    if service.id != booking.service_id {
        return Err(StoreError::not_found("その予約はありません", "no such booking").into());
    }
    if page.unavailable.is_none() && !can_cancel(service, &chosen.calendar, &booking) {
        page.unavailable = Some(
            ui.t(
                "ネットで変更できる期限を過ぎています",
                "It is too late to change it online",
            )
            .to_string(),
        );
    }
    if page.unavailable.is_some() {
        return Ok(unprocessable(&page));
    }
    let notice = super::booking::change_mail(base, city, service, Some(&code));
    let changed = state
        .store
        .change_booking(
            &city.id,
            &booking.number,
            service,
            &chosen.slots,
            Some(&notice),
        )
        .await;
    match changed {
        Ok(_) => Ok(see_other(&format!(
            "/bookings/{}?code={}&done=changed",
            booking.number,
            percent_encode(&code)
        ))),
        Err(StoreError::Conflict(why)) => {
            page.unavailable = Some(ui.l(&why).to_string());
            Ok(unprocessable(&page))
        }
        Err(error) => Err(error.into()),
    }
}
