//! A booking's own page, reached with its cancel code from the confirmation e-mail: what,
//! when and where, the meeting link of an online consultation, the calendar file, and the
//! change and cancel buttons while the deadline allows.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Form;
use machi_core::payments::PaymentState;
use machi_core::reservations::Service;
use machi_store::mail::{MailWithCalendar, OutgoingMail};
use machi_store::payments::Payable;
use machi_store::reservations::lottery::CityLinks;
use machi_store::reservations::Booking;
use machi_store::{StoreError, Tenant};
use serde::Deserialize;

use super::can_cancel;
use super::labels::when_label;
use crate::kit::{
    check_origin, city_name, no_store, percent_encode, render, see_other, City, PageError, SiteUrl,
    Ui,
};
use crate::AppState;

/// The confirmation e-mail of a booking: what, when, where, and the link that cancels it,
/// with the booking's iCalendar file attached.
pub(super) fn confirmation_mail<'a>(
    base: &'a str,
    city: &'a Tenant,
    service: &'a Service,
) -> impl Fn(&Booking, &str) -> MailWithCalendar + Sync + 'a {
    move |booking, code| MailWithCalendar {
        mail: confirmation_text(base, city, service, booking, code),
        calendar: super::ics::booking_calendar(base, city, service, booking),
    }
}

fn confirmation_text(
    base: &str,
    city: &Tenant,
    service: &Service,
    booking: &Booking,
    code: &str,
) -> OutgoingMail {
    let manage = format!("{base}/bookings/{}?code={code}", booking.number);
    let (place, meeting) = service.place_and_meeting(&booking.resource_id, &booking.number);
    OutgoingMail {
        recipient: booking.booker.email.clone(),
        subject: format!(
            "【{}】予約を受け付けました：{}（予約番号 {}）",
            city.name_ja, service.name.ja, booking.number
        ),
        body: format!(
            "{} 様\n\n{}の予約を受け付けました。\n\n予約番号: {}\n日時: {}\n場所: {}\n{}\n\
             予約の確認・変更・取消はこちら（このリンクはほかの人に教えないでください。カレンダーに入れる予約のファイル（.ics）を添付しています）:\n{}\n\n{}\n",
            booking.booker.name,
            service.name.ja,
            booking.number,
            when_label(Ui { en: false }, booking.starts, service),
            place,
            meeting,
            manage,
            city.name_ja
        ),
    }
}

/// The e-mail that tells the booker their booking was cancelled or moved (with the booking's
/// page when the change came with its code, i.e. from the resident).
pub(super) fn change_mail<'a>(
    base: &'a str,
    city: &'a Tenant,
    service: &'a Service,
    code: Option<&'a str>,
) -> impl Fn(&Booking) -> OutgoingMail + Sync + 'a {
    move |booking| {
        let what = if booking.is_booked() {
            "予約を変更しました"
        } else {
            "予約を取り消しました"
        };
        let page = code
            .map(|code| {
                format!(
                    "予約の確認はこちら:\n{base}/bookings/{}?code={code}\n\n",
                    booking.number
                )
            })
            .unwrap_or_default();
        let refund = if !booking.is_booked() && booking.fee_paid_at.is_some() {
            "お支払いいただいた使用料の還付は、担当課からご連絡します。\n\n"
        } else {
            ""
        };
        OutgoingMail {
            recipient: booking.booker.email.clone(),
            subject: format!(
                "【{}】{what}：{}（予約番号 {}）",
                city.name_ja, service.name.ja, booking.number
            ),
            body: format!(
                "{} 様\n\n{}の{what}。\n\n予約番号: {}\n日時: {}\n\n{refund}{page}{}\n",
                booking.booker.name,
                service.name.ja,
                booking.number,
                when_label(Ui { en: false }, booking.starts, service),
                city.name_ja
            ),
        }
    }
}

#[derive(Template)]
#[template(path = "booking.html")]
struct BookingPage {
    ui: Ui,
    city: String,
    back: String,
    number: String,
    code: String,
    /// The code as it goes into a link.
    code_query: String,
    cancelled: bool,
    /// Booked for good (not a lottery win waiting to be confirmed).
    booked: bool,
    status: String,
    /// A lottery win: until when it must be confirmed, and whether that is online.
    confirm_by: Option<String>,
    confirm_online: bool,
    service_id: String,
    service_name: String,
    when: String,
    place: String,
    meeting_url: Option<String>,
    fee: Option<String>,
    /// Where the fee stands: paid online, waiting at the provider, or to pay.
    /// A fee above zero (not waived in full by 減免).
    fee_to_pay: bool,
    fee_paid: bool,
    fee_pending: bool,
    /// The fee can be paid online now (the city takes payments, the booking holds its slot).
    pay_online: bool,
    can_cancel: bool,
    deadline_hours: u32,
    /// Where the day-before reminder goes, and the message that links LINE.
    reminder_channels: Vec<String>,
    line_message: Option<String>,
    /// What was just done: booked, changed or cancelled.
    done: String,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct BookingQuery {
    #[serde(default)]
    code: String,
    #[serde(default)]
    done: String,
}

/// `/bookings/{number}?code=` — the booking's page; `/bookings/{number}.ics?code=` its
/// iCalendar file.
pub(super) async fn booking(
    State(state): State<AppState>,
    City(city): City,
    SiteUrl(base): SiteUrl,
    ui: Ui,
    Path(number): Path<String>,
    Query(query): Query<BookingQuery>,
) -> Result<Response, PageError> {
    if let Some(number) = number.strip_suffix(".ics") {
        let (booking, service) =
            super::api::owned_booking(&state, &city.id, number, &query.code).await?;
        return Ok(super::ics::booking_file(&base, &city, &service, &booking));
    }
    let (booking, service) =
        super::api::owned_booking(&state, &city.id, &number, &query.code).await?;
    let calendar = state.store.calendar(&city.id).await?;
    let fee_pending = state
        .store
        .payments_of(&city.id, Payable::Booking(&booking.number))
        .await?
        .iter()
        .any(|p| p.state == PaymentState::Pending);
    let fee_paid = booking.fee_paid_at.is_some();
    let reminders = super::reminders::options(&state, &city.id, ui, &booking).await?;
    Ok(no_store(render(&BookingPage {
        ui,
        city: city_name(ui, &city),
        back: format!("/bookings/{number}?code={}", percent_encode(&query.code)),
        number: booking.number.clone(),
        code: query.code.clone(),
        code_query: percent_encode(&query.code),
        cancelled: !booking.holds_slot(),
        booked: booking.is_booked(),
        status: status_label(ui, &booking),
        confirm_by: booking
            .confirm_by
            .filter(|_| booking.is_provisional())
            .map(|by| super::labels::when_label(ui, by, &service)),
        confirm_online: !service
            .lottery
            .as_ref()
            .is_some_and(|rules| rules.confirm_at_counter),
        service_id: service.id.clone(),
        service_name: ui.l(&service.name).to_string(),
        when: when_label(ui, booking.starts, &service),
        place: service
            .resource(&booking.resource_id)
            .map(|r| ui.l(&r.name).to_string())
            .unwrap_or_default(),
        meeting_url: booking
            .is_booked()
            .then(|| service.meeting_for(&booking.number))
            .flatten(),
        fee_to_pay: booking.fee(&service).is_some_and(|yen| yen > 0),
        fee_paid,
        fee_pending,
        pay_online: state.payments.is_some()
            && !fee_paid
            && booking.why_not_payable_online(&service).is_none(),
        fee: booking.fee(&service).map(|fee| {
            let note = booking
                .fee_note
                .as_deref()
                .map(|n| format!(" {n}"))
                .unwrap_or_default();
            format!("{}{}{note}", crate::kit::thousands(fee), ui.t("円", " yen"))
        }),
        can_cancel: can_cancel(&service, &calendar, &booking),
        deadline_hours: service.cancel_until_hours,
        reminder_channels: reminders.channels,
        line_message: reminders.line_message,
        done: query.done,
    })))
}

#[derive(Debug, Deserialize)]
pub(super) struct CancelForm {
    #[serde(default)]
    code: String,
}

pub(super) async fn cancel_booking(
    State(state): State<AppState>,
    City(city): City,
    SiteUrl(base): SiteUrl,
    headers: HeaderMap,
    Path(number): Path<String>,
    Form(form): Form<CancelForm>,
) -> Result<Response, PageError> {
    check_origin(&headers)?;
    let (booking, service) =
        super::api::owned_booking(&state, &city.id, &number, &form.code).await?;
    let calendar = state.store.calendar(&city.id).await?;
    if booking.holds_slot() && !can_cancel(&service, &calendar, &booking) {
        return Err(StoreError::conflict(
            "ネットで取り消せる期限を過ぎています。担当課へお電話ください",
            "It is too late to cancel online; please call the department",
        )
        .into());
    }
    let notice = change_mail(&base, &city, &service, Some(&form.code));
    state
        .store
        .cancel_booking(&city.id, &number, Some(&notice), &links(&city, &base))
        .await?;
    Ok(see_other(&format!(
        "/bookings/{number}?code={}&done=cancelled",
        percent_encode(&form.code)
    )))
}

/// The booking's state as the resident reads it.
pub(super) fn status_label(ui: Ui, booking: &Booking) -> String {
    match booking.state.as_str() {
        "booked" => ui.t("予約済み", "Booked"),
        "provisional" => ui.t("当選（仮予約・確定待ち）", "Won (to be confirmed)"),
        "released" => ui.t(
            "取消済み（確定の期限切れ）",
            "Released (not confirmed in time)",
        ),
        "no_show" => ui.t("来られませんでした", "No-show"),
        _ => ui.t("取消済み", "Cancelled"),
    }
    .to_string()
}

/// Who the lottery's e-mails come from and where their links lead.
pub(super) fn links<'a>(city: &'a Tenant, base: &'a str) -> CityLinks<'a> {
    CityLinks {
        city_name: &city.name_ja,
        base,
    }
}

/// `POST /bookings/{number}/confirm` — the resident confirms a lottery win (本予約), where the
/// city takes confirmations online.
pub(super) async fn confirm_booking(
    State(state): State<AppState>,
    City(city): City,
    headers: HeaderMap,
    Path(number): Path<String>,
    Form(form): Form<CancelForm>,
) -> Result<Response, PageError> {
    check_origin(&headers)?;
    let (_, service) = super::api::owned_booking(&state, &city.id, &number, &form.code).await?;
    if service
        .lottery
        .as_ref()
        .is_some_and(|rules| rules.confirm_at_counter)
    {
        return Err(StoreError::conflict(
            "この施設の本予約は窓口で受け付けます（使用料のお支払いと一緒に）",
            "this facility's bookings are confirmed at the counter, with the fee",
        )
        .into());
    }
    state.store.confirm_booking(&city.id, &number, None).await?;
    Ok(see_other(&format!(
        "/bookings/{number}?code={}&done=confirmed",
        percent_encode(&form.code)
    )))
}
