//! Closing a resource for a day from the staff day view (a hall's maintenance, a counter
//! without its staff): the bookings there are cancelled and each booker is e-mailed why, with
//! the link to book another time; reopening lets the slots be booked again.

use axum::extract::State;
use axum::response::Response;
use axum::Form;
use chrono::NaiveDate;
use machi_core::reservations::Service;
use machi_store::mail::OutgoingMail;
use machi_store::reservations::{Booking, Closing};
use machi_store::Tenant;
use serde::Deserialize;

use super::labels::when_label;
use super::staff::{back_to_day, chosen_service, ActionForm};
use crate::kit::{ApiError, PageError, Signed, SiteUrl, Ui};
use crate::AppState;

/// The e-mail telling a booker the city closed the place that day.
fn closure_mail<'a>(
    base: &'a str,
    city: &'a Tenant,
    service: &'a Service,
    reason: &'a str,
) -> impl Fn(&Booking) -> OutgoingMail + Sync + 'a {
    move |booking| {
        OutgoingMail {
        recipient: booking.booker.email.clone(),
        subject: format!(
            "【{}】施設の都合により予約を取り消しました：{}（予約番号 {}）",
            city.name_ja, service.name.ja, booking.number
        ),
        body: format!(
            "{} 様\n\n申し訳ありません。次の予約は、市の都合により取り消しました。\n\n予約番号: {}\n\
             予約: {}\n日時: {}\n理由: {}\n\nほかの日時は、こちらから予約できます:\n{base}/reservations/{}\n\n{}\n",
            booking.booker.name,
            booking.number,
            service.name.ja,
            when_label(Ui { en: false }, booking.starts, service),
            reason,
            service.id,
            city.name_ja
        ),
    }
    }
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct CloseForm {
    #[serde(default)]
    service: String,
    #[serde(default)]
    date: String,
    /// The resource to close, or `all`.
    #[serde(default)]
    resource: String,
    #[serde(default)]
    reason: String,
}

fn day_of(text: &str) -> Result<NaiveDate, PageError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
        PageError::from(
            ApiError::bad_request("choose the day as YYYY-MM-DD").with_ja("日付を選んでください"),
        )
    })
}

/// `POST /staff/bookings/close`
pub(super) async fn close(
    State(state): State<AppState>,
    signed: Signed,
    SiteUrl(base): SiteUrl,
    Form(form): Form<CloseForm>,
) -> Result<Response, PageError> {
    let (_, service) = chosen_service(&state, &signed, &form.service).await?;
    signed.require(service.id == form.service)?;
    let day = day_of(&form.date)?;
    let reason = machi_core::text::strip_control_chars(form.reason.trim());
    if reason.is_empty() || reason.chars().count() > 200 {
        return Err(PageError::from(
            ApiError::bad_request(
                "give the reason (at most 200 characters): it is e-mailed to those booked",
            )
            .with_ja("理由を200文字以内で書いてください（予約した方へのメールに載ります）"),
        ));
    }
    let resources: Vec<String> = if form.resource == "all" {
        service.resources.iter().map(|r| r.id.clone()).collect()
    } else {
        vec![form.resource.clone()]
    };
    let notice = closure_mail(&base, &signed.city, &service, &reason);
    let cancelled = state
        .store
        .close_resources(
            &signed.city.id,
            &Closing {
                service: &service,
                resources: &resources,
                day,
                reason: &reason,
                actor: signed.email(),
            },
            &notice,
        )
        .await?;
    let back = ActionForm {
        service: form.service,
        date: form.date,
    };
    Ok(back_to_day(&back, &format!("closed-{}", cancelled.len())))
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct ReopenForm {
    #[serde(default)]
    service: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    resource: String,
}

/// `POST /staff/bookings/reopen`
pub(super) async fn reopen(
    State(state): State<AppState>,
    signed: Signed,
    Form(form): Form<ReopenForm>,
) -> Result<Response, PageError> {
    let (_, service) = chosen_service(&state, &signed, &form.service).await?;
    signed.require(service.id == form.service)?;
    let day = day_of(&form.date)?;
    state
        .store
        .reopen_resource(
            &signed.city.id,
            &service,
            &form.resource,
            day,
            signed.email(),
        )
        .await?;
    let back = ActionForm {
        service: form.service,
        date: form.date,
    };
    Ok(back_to_day(&back, "reopened"))
}
