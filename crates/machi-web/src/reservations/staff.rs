//! 予約 in the staff console: a day of a service with each booking (who, phone, what about,
//! online or at the counter), the week's use per resource, marking a no-show, cancelling for
//! a resident who called, booking a visitor at the counter, and the CSV (Shift_JIS or UTF-8)
//! for the department's spreadsheets.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::Form;
use chrono::{Duration, NaiveDate};
use machi_core::reservations::{Booker, Service};
use machi_core::text::{spreadsheet_cell, to_cp932, with_bom};
use machi_store::reservations::{Booking, Channel};
use serde::Deserialize;

use super::{candidates, now_jst, openings, parse_start};
use crate::kit::{render, see_other, ApiError, Chrome, PageError, Signed, SiteUrl};
use crate::AppState;

#[derive(Debug, Default, Deserialize)]
pub(super) struct DayQuery {
    #[serde(default)]
    service: String,
    #[serde(default)]
    date: String,
    /// What was just done, shown once.
    #[serde(default)]
    done: String,
}

struct BookingRow {
    number: String,
    time: String,
    place: String,
    name: String,
    phone: String,
    note: String,
    channel: String,
    state: String,
    /// The fee and whether it was paid online (empty without a fee).
    fee: String,
    booked: bool,
    provisional: bool,
    started: bool,
}

#[derive(Template)]
#[template(path = "staff_bookings.html")]
struct DayPage {
    chrome: Chrome,
    /// (id, name, chosen)
    services: Vec<(String, String, bool)>,
    service: String,
    date: String,
    previous: String,
    next: String,
    rows: Vec<BookingRow>,
    /// (time, resource id, resource name, places left) still free that day.
    free: Vec<(String, String, String, u32)>,
    /// The week from `date`: (resource name, booked per day).
    week_days: Vec<String>,
    week: Vec<(String, Vec<usize>)>,
    /// The service's resources (id, name), to close for the day.
    resources: Vec<(String, String)>,
    /// What is closed on `date`: (resource id, resource name, why).
    closed: Vec<(String, String, String)>,
    done: String,
}

/// The services this person works on: their department's, or every one for administrators.
async fn services_of(state: &AppState, signed: &Signed) -> Result<Vec<Service>, PageError> {
    let role = signed.role();
    let scope = signed.department_scope(role.serves_counter() || role.reviews_applications())?;
    Ok(state
        .store
        .services(&signed.city.id)
        .await?
        .into_iter()
        .filter(|s| scope.as_deref().is_none_or(|d| d == s.department.code))
        .collect())
}

pub(super) async fn chosen_service(
    state: &AppState,
    signed: &Signed,
    id: &str,
) -> Result<(Vec<Service>, Service), PageError> {
    let services = services_of(state, signed).await?;
    let service = services
        .iter()
        .find(|s| s.id == id)
        .or(services.first())
        .cloned()
        .ok_or_else(|| {
            PageError::from(
                ApiError::not_found("no service of your department")
                    .with_ja("あなたの課の予約サービスはありません"),
            )
        })?;
    Ok((services, service))
}

/// Where a booking was made, as staff read it.
fn channel_label(ui: crate::kit::Ui, channel: &str) -> &'static str {
    match channel {
        "counter" => ui.t("窓口", "Counter"),
        "lottery" => ui.t("抽選", "Lottery"),
        _ => ui.t("オンライン", "Online"),
    }
}

/// Whether a booking's fee was paid online (empty without a fee).
fn paid_label(ui: crate::kit::Ui, booking: &Booking, service: &Service) -> &'static str {
    match (booking.fee(service), &booking.fee_paid_at) {
        (None, _) => "",
        (Some(0), _) => ui.t("全額減免", "Waived"),
        (Some(_), Some(_)) => ui.t("オンラインで支払済", "Paid online"),
        (Some(_), None) => ui.t("未払い", "Not paid"),
    }
}

fn state_label(signed: &Signed, booking: &Booking) -> String {
    let ui = signed.ui;
    match booking.state.as_str() {
        "booked" => ui.t("予約", "Booked"),
        "cancelled" => ui.t("取消", "Cancelled"),
        "no_show" => ui.t("来なかった", "No-show"),
        "provisional" => ui.t("仮予約（当選・確定待ち）", "Won, to be confirmed"),
        "released" => ui.t("期限切れで解除", "Released (not confirmed)"),
        _ => ui.t("その他", "Other"),
    }
    .to_string()
}

pub(super) async fn day(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<DayQuery>,
) -> Result<Response, PageError> {
    let (services, service) = chosen_service(&state, &signed, &query.service).await?;
    let ui = signed.ui;
    let date = NaiveDate::parse_from_str(&query.date, "%Y-%m-%d").unwrap_or(now_jst().date());
    let week_end = date + Duration::days(6);
    let bookings = state
        .store
        .service_bookings(&signed.city.id, &service.id, date, week_end)
        .await?;
    let name_of = |id: &str| {
        service
            .resource(id)
            .map(|r| ui.l(&r.name).to_string())
            .unwrap_or_else(|| id.to_string())
    };
    let now = now_jst();
    let rows = bookings
        .iter()
        .filter(|b| b.starts.date() == date)
        .map(|b| BookingRow {
            number: b.number.clone(),
            time: format!("{}–{}", b.starts.format("%H:%M"), b.ends.format("%H:%M")),
            place: name_of(&b.resource_id),
            name: b.booker.name.clone(),
            phone: b.booker.phone.clone(),
            note: b.booker.note.clone(),
            channel: channel_label(ui, &b.channel).to_string(),
            state: state_label(&signed, b),
            fee: b
                .fee(&service)
                .map(|fee| {
                    format!(
                        "{}{}（{}）",
                        crate::kit::thousands(fee),
                        ui.t("円", " yen"),
                        paid_label(ui, b, &service)
                    )
                })
                .unwrap_or_default(),
            booked: b.is_booked(),
            provisional: b.is_provisional(),
            started: b.starts <= now,
        })
        .collect();
    let calendar = state.store.calendar(&signed.city.id).await?;
    let free = openings(&state, &signed.city.id, &service, &calendar, date, date)
        .await?
        .into_iter()
        .filter(|o| o.left > 0)
        .map(|o| {
            let resource = o.resource.clone().unwrap_or_default();
            let name = o.resource.as_deref().map(name_of).unwrap_or_default();
            (
                o.starts.format("%Y-%m-%dT%H:%M").to_string(),
                resource,
                name,
                o.left,
            )
        })
        .collect();
    let week_days: Vec<NaiveDate> = (0..7).map(|d| date + Duration::days(d)).collect();
    let week = service
        .resources
        .iter()
        .map(|r| {
            let counts = week_days
                .iter()
                .map(|d| {
                    bookings
                        .iter()
                        .filter(|b| {
                            b.holds_slot() && b.resource_id == r.id && b.starts.date() == *d
                        })
                        .count()
                })
                .collect();
            (ui.l(&r.name).to_string(), counts)
        })
        .collect();
    let closed = state
        .store
        .resource_closures(&signed.city.id, &service.id, date)
        .await?
        .into_iter()
        .filter(|c| c.day == date)
        .map(|c| (c.resource_id.clone(), name_of(&c.resource_id), c.reason))
        .collect();
    Ok(render(&DayPage {
        resources: service
            .resources
            .iter()
            .map(|r| (r.id.clone(), ui.l(&r.name).to_string()))
            .collect(),
        closed,
        chrome: signed.chrome("/staff/bookings"),
        services: services
            .iter()
            .map(|s| (s.id.clone(), ui.l(&s.name).to_string(), s.id == service.id))
            .collect(),
        service: service.id.clone(),
        date: date.to_string(),
        previous: (date - Duration::days(1)).to_string(),
        next: (date + Duration::days(1)).to_string(),
        rows,
        free,
        week_days: week_days
            .iter()
            .map(|d| d.format("%m/%d").to_string())
            .collect(),
        week,
        done: query.done,
    }))
}

#[derive(Debug, Deserialize)]
pub(super) struct ActionForm {
    #[serde(default)]
    pub service: String,
    #[serde(default)]
    pub date: String,
}

/// The booking and its service, when the service is one this person works on (403 if not).
async fn owned(
    state: &AppState,
    signed: &Signed,
    number: &str,
) -> Result<(Booking, Service), PageError> {
    let booking = state
        .store
        .booking(&signed.city.id, number)
        .await?
        .ok_or_else(|| PageError::from(ApiError::not_found("no such booking")))?;
    let service = services_of(state, signed)
        .await?
        .into_iter()
        .find(|s| s.id == booking.service_id);
    signed.require(service.is_some())?;
    let service = service.ok_or_else(|| PageError::from(ApiError::not_found("no such booking")))?;
    Ok((booking, service))
}

pub(super) fn back_to_day(form: &ActionForm, done: &str) -> Response {
    see_other(&format!(
        "/staff/bookings?service={}&date={}&done={done}",
        crate::kit::percent_encode(&form.service),
        crate::kit::percent_encode(&form.date)
    ))
}

pub(super) async fn no_show(
    State(state): State<AppState>,
    signed: Signed,
    Path(number): Path<String>,
    Form(form): Form<ActionForm>,
) -> Result<Response, PageError> {
    owned(&state, &signed, &number).await?;
    state
        .store
        .mark_no_show(&signed.city.id, &number, signed.email())
        .await?;
    Ok(back_to_day(&form, "no_show"))
}

pub(super) async fn cancel(
    State(state): State<AppState>,
    signed: Signed,
    SiteUrl(base): SiteUrl,
    Path(number): Path<String>,
    Form(form): Form<ActionForm>,
) -> Result<Response, PageError> {
    let (_, service) = owned(&state, &signed, &number).await?;
    let notice = super::booking::change_mail(&base, &signed.city, &service, None);
    state
        .store
        .cancel_booking_for(
            &signed.city.id,
            &number,
            signed.email(),
            Some(&notice),
            &super::booking::links(&signed.city, &base),
        )
        .await?;
    Ok(back_to_day(&form, "cancelled"))
}

/// 本予約 at the counter: a lottery win confirmed when the group comes (and pays).
pub(super) async fn confirm(
    State(state): State<AppState>,
    signed: Signed,
    Path(number): Path<String>,
    Form(form): Form<ActionForm>,
) -> Result<Response, PageError> {
    owned(&state, &signed, &number).await?;
    state
        .store
        .confirm_booking(&signed.city.id, &number, Some(signed.email()))
        .await?;
    Ok(back_to_day(&form, "confirmed"))
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct CounterForm {
    #[serde(default)]
    service: String,
    /// `start|resource` of the free slot chosen.
    #[serde(default)]
    slot: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    note: String,
}

/// A visitor booked at the counter: the booking number is given on the spot (and by e-mail
/// when the visitor gives an address).
pub(super) async fn book_visitor(
    State(state): State<AppState>,
    signed: Signed,
    SiteUrl(base): SiteUrl,
    Form(form): Form<CounterForm>,
) -> Result<Response, PageError> {
    let (_, service) = chosen_service(&state, &signed, &form.service).await?;
    signed.require(service.id == form.service)?;
    let ui = signed.ui;
    let problem =
        |message: String| PageError::from(ApiError::bad_request(message.clone()).with_ja(message));
    let booker = Booker::checked_at_counter(&form.name, &form.email, &form.phone, &form.note)
        .map_err(|p| {
            problem(
                p.iter()
                    .map(|(_, m)| ui.l(m).to_string())
                    .collect::<Vec<_>>()
                    .join(" / "),
            )
        })?;
    let (start, resource) = form.slot.split_once('|').unwrap_or((&form.slot, ""));
    let starts = parse_start(start)
        .ok_or_else(|| problem(ui.t("時間を選んでください", "Choose a time").into()))?;
    let calendar = state.store.calendar(&signed.city.id).await?;
    let resource = (!resource.is_empty()).then_some(resource);
    let slots = candidates(&service, &calendar, resource, starts)
        .map_err(|why| problem(ui.l(&why).to_string()))?;
    let booked = super::book_and_confirm(
        &state,
        &signed.city,
        &base,
        super::Request {
            service: &service,
            slots: &slots,
            booker: &booker,
            channel: Channel::Counter,
            idempotency_key: None,
            registration: None,
            application: None,
        },
    )
    .await?;
    signed
        .audit(
            &state,
            "booking.counter",
            &format!("booking:{}", booked.booking.number),
            serde_json::json!({"service": service.id, "starts": start}),
        )
        .await?;
    Ok(see_other(&format!(
        "/staff/bookings?service={}&date={}&done=booked-{}",
        service.id,
        starts.date(),
        booked.booking.number
    )))
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct CsvQuery {
    #[serde(default)]
    service: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    /// `sjis` for Shift_JIS (CP932); anything else is UTF-8 with a BOM.
    #[serde(default)]
    encoding: String,
}

/// The bookings of a service over a period (at most a year), for the department's
/// spreadsheet.
pub(super) async fn csv(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<CsvQuery>,
) -> Result<Response, PageError> {
    let (_, service) = chosen_service(&state, &signed, &query.service).await?;
    let today = now_jst().date();
    let from = NaiveDate::parse_from_str(&query.from, "%Y-%m-%d").unwrap_or(today);
    let to = NaiveDate::parse_from_str(&query.to, "%Y-%m-%d")
        .unwrap_or(from + Duration::days(6))
        .min(from + Duration::days(366));
    let bookings = state
        .store
        .service_bookings(&signed.city.id, &service.id, from, to)
        .await?;
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let csv_error = |e: csv::Error| PageError::from(ApiError::internal(e));
    let heading = [
        "予約番号",
        "予約",
        "場所",
        "開始",
        "終了",
        "氏名",
        "電話番号",
        "メールアドレス",
        "用件",
        "受付方法",
        "状態",
        "受付日時",
        "使用料（円）",
        "減免",
        "使用料の支払い",
    ];
    writer.write_record(heading).map_err(csv_error)?;
    for b in &bookings {
        let place = service
            .resource(&b.resource_id)
            .map(|r| r.name.ja.clone())
            .unwrap_or_default();
        let record = [
            b.number.clone(),
            service.name.ja.clone(),
            place,
            b.starts.format("%Y-%m-%d %H:%M").to_string(),
            b.ends.format("%Y-%m-%d %H:%M").to_string(),
            b.booker.name.clone(),
            b.booker.phone.clone(),
            b.booker.email.clone(),
            b.booker.note.clone(),
            channel_label(crate::kit::Ui { en: false }, &b.channel).to_string(),
            state_label(&signed, b),
            crate::kit::jst_stored(&b.created_at),
            b.fee_yen.map(|fee| fee.to_string()).unwrap_or_default(),
            b.fee_note.clone().unwrap_or_default(),
            paid_label(crate::kit::Ui { en: false }, b, &service).to_string(),
        ];
        writer
            .write_record(record.iter().map(|c| spreadsheet_cell(c)))
            .map_err(csv_error)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| PageError::from(ApiError::internal(e)))?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let (bytes, content_type) = if query.encoding == "sjis" {
        (to_cp932(&text), "text/csv; charset=Shift_JIS")
    } else {
        (with_bom(&text), "text/csv; charset=utf-8")
    };
    signed
        .audit(
            &state,
            "booking.export",
            &format!("service:{}", service.id),
            serde_json::json!({"from": from.to_string(), "to": to.to_string(), "rows": bookings.len()}),
        )
        .await?;
    Ok(crate::kit::attachment(
        bytes,
        content_type,
        &format!("bookings-{}-{from}.csv", service.id),
    ))
}
