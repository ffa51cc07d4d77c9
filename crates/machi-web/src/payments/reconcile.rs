//! 収納の照合 (reconciliation): the department's fee payments over a period, totals by state,
//! and what needs a person: a payment the provider says succeeded that machi does not show as
//! paid, one still waiting after an hour, an application paid twice (refund it).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use chrono::{Datelike, Duration, NaiveDate, Utc};
use machi_core::payments::{PaymentState, ProviderOutcome};
use machi_core::wareki::jst;
use serde::Deserialize;

use machi_store::payments::{Payable, PaymentLine};

use crate::kit::{jst_text, percent_encode, render, ApiError, Chrome, PageError, Signed};
use crate::AppState;

/// Provider checks made per page at most (each is a call to the provider).
const MAX_PROVIDER_CHECKS: usize = 200;

#[derive(Deserialize, Default)]
pub(super) struct Period {
    /// First day, `YYYY-MM-DD` (JST); default the first of this month.
    #[serde(default)]
    from: String,
    /// Last day included; default today.
    #[serde(default)]
    until: String,
}

struct Line {
    /// The application's receipt number or the booking's number, and the staff page of it.
    number: String,
    link: String,
    procedure_id: String,
    amount: i64,
    state: String,
    provider_ref: String,
    created: String,
    paid: String,
    attention: String,
}

#[derive(Template)]
#[template(path = "staff_payments.html")]
struct PaymentsPage {
    chrome: Chrome,
    from: String,
    until: String,
    lines: Vec<Line>,
    totals: Vec<(String, usize, i64)>,
    attention_count: usize,
}

fn jst_day_start(day: NaiveDate) -> String {
    day.and_hms_opt(0, 0, 0)
        .and_then(|start| start.and_local_timezone(jst()).single())
        .map(|t| machi_store::format_time(t.with_timezone(&Utc)))
        .unwrap_or_default()
}

/// The staff page of what a payment pays for: the application, or the booking's day.
fn staff_link(line: &PaymentLine) -> String {
    match line.payment.payable() {
        Payable::Application(receipt) => format!("/staff/applications/{receipt}"),
        Payable::Booking(_) => format!(
            "/staff/bookings?service={}&date={}",
            percent_encode(&line.procedure_id),
            line.booking_day.as_deref().unwrap_or_default()
        ),
    }
}

pub(super) async fn reconcile(
    State(state): State<AppState>,
    signed: Signed,
    Query(period): Query<Period>,
) -> Result<Response, PageError> {
    let department = signed.department_scope(signed.role().assigns_work())?;
    let today = machi_core::wareki::today_jst();
    let parse = |text: &str, default: NaiveDate| -> Result<NaiveDate, PageError> {
        if text.is_empty() {
            return Ok(default);
        }
        NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
            PageError::from(ApiError::bad_request(signed.ui.t(
                "日付は 2026-11-01 の形で入力してください。",
                "Enter dates as 2026-11-01.",
            )))
        })
    };
    let from = parse(&period.from, today.with_day(1).unwrap_or(today))?;
    let until = parse(&period.until, today)?;
    let lines = state
        .store
        .payment_lines(
            &signed.city.id,
            department.as_deref(),
            &jst_day_start(from),
            &jst_day_start(until + Duration::days(1)),
        )
        .await?;
    let ui = signed.ui;
    let mut paid_per_subject: HashMap<Payable<'_>, usize> = HashMap::new();
    for line in &lines {
        if line.payment.state == PaymentState::Paid {
            *paid_per_subject.entry(line.payment.payable()).or_default() += 1;
        }
    }
    let hour_ago = machi_store::Time::from(Utc::now() - Duration::hours(1));
    let mut checks = 0;
    let mut rows = Vec::with_capacity(lines.len());
    for line in &lines {
        let payment = &line.payment;
        let mut attention = Vec::new();
        if paid_per_subject
            .get(&payment.payable())
            .copied()
            .unwrap_or(0)
            > 1
            && payment.state == PaymentState::Paid
        {
            attention.push(ui.t(
                "二重に支払われています（返金が必要）",
                "Paid twice: refund one",
            ));
        }
        if payment.state == PaymentState::Paid
            && line
                .booking_state
                .as_deref()
                .is_some_and(|state| !matches!(state, "booked" | "no_show"))
        {
            attention.push(ui.t(
                "予約は取消済み（使用料の還付を確認）",
                "Booking cancelled: check the refund",
            ));
        }
        if payment.state != PaymentState::Paid && checks < MAX_PROVIDER_CHECKS {
            if let (Some(provider_ref), Some(provider)) = (&payment.provider_ref, &state.payments) {
                checks += 1;
                let outcome = provider.status(provider_ref).await?;
                if outcome == ProviderOutcome::Succeeded {
                    attention.push(ui.t(
                        "決済会社では支払い済み（未反映）",
                        "Paid at the provider but not recorded here",
                    ));
                }
            }
        }
        if payment.state == PaymentState::Pending && payment.created_at < hour_ago {
            attention.push(ui.t("1時間以上未確定", "Unsettled for over an hour"));
        }
        rows.push(Line {
            number: payment.payable().number().to_string(),
            link: staff_link(line),
            procedure_id: line.procedure_id.clone(),
            amount: payment.amount_yen,
            state: ui.l(&payment.state.label()).to_string(),
            provider_ref: payment.provider_ref.clone().unwrap_or_default(),
            created: jst_text(payment.created_at),
            paid: payment.paid_at.map(jst_text).unwrap_or_default(),
            attention: attention.join(" / "),
        });
    }
    let totals = [
        PaymentState::Paid,
        PaymentState::Pending,
        PaymentState::Failed,
        PaymentState::Cancelled,
    ]
    .iter()
    .map(|s| {
        let of_state = lines.iter().filter(|l| l.payment.state == *s);
        (
            ui.l(&s.label()).to_string(),
            of_state.clone().count(),
            of_state.map(|l| l.payment.amount_yen).sum(),
        )
    })
    .collect();
    let attention_count = rows.iter().filter(|r| !r.attention.is_empty()).count();
    Ok(render(&PaymentsPage {
        chrome: signed.chrome("/staff/payments"),
        from: from.format("%Y-%m-%d").to_string(),
        until: until.format("%Y-%m-%d").to_string(),
        lines: rows,
        totals,
        attention_count,
    }))
}
