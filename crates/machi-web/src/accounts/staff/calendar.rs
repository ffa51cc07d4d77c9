//! 開庁日 (administrators): the city's own closures (臨時閉庁) beside the national holidays, which
//! 標準処理期間 and due dates are counted around. A change is audited and answers with the page,
//! with an error summary and what was typed when a date cannot be read.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Form;
use chrono::Datelike;
use machi_core::calendar::DayOff;
use serde::Deserialize;
use serde_json::json;

use crate::kit::{render, see_other, Chrome, PageError, Signed};
use crate::AppState;

#[derive(Template)]
#[template(path = "staff_calendar.html")]
struct CalendarPage {
    chrome: Chrome,
    /// The city's own closures: (date as typed back, 和暦 date, name).
    closures: Vec<(String, String, String)>,
    /// National holidays from this year on: (和暦 date, name).
    holidays: Vec<(String, String)>,
    errors: Vec<(String, String)>,
    typed_date: String,
    typed_name: String,
}

async fn page(
    state: &AppState,
    signed: &Signed,
    errors: Vec<(String, String)>,
    typed: (String, String),
) -> Result<Response, PageError> {
    signed.require(signed.role().manages_accounts())?;
    let this_year = chrono::Utc::now().year();
    let own = state.store.days_off(&signed.city.id, false).await?;
    let all = state.store.days_off(&signed.city.id, true).await?;
    let wareki = |d: &DayOff| machi_core::wareki::format_wareki(d.date);
    let page = CalendarPage {
        chrome: signed.chrome("/staff/calendar"),
        holidays: all
            .iter()
            .filter(|d| d.date.year() >= this_year && !own.contains(d))
            .map(|d| (wareki(d), d.name.clone()))
            .collect(),
        closures: own
            .iter()
            .map(|d| {
                (
                    d.date.format("%Y-%m-%d").to_string(),
                    wareki(d),
                    d.name.clone(),
                )
            })
            .collect(),
        errors,
        typed_date: typed.0,
        typed_name: typed.1,
    };
    Ok((page.status(), render(&page)).into_response())
}

impl CalendarPage {
    fn status(&self) -> StatusCode {
        crate::kit::form_status(&self.errors)
    }
}

pub(super) async fn show(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Response, PageError> {
    page(&state, &signed, Vec::new(), Default::default()).await
}

#[derive(Deserialize)]
pub(super) struct ClosureForm {
    #[serde(default)]
    date: String,
    #[serde(default)]
    name: String,
    /// `remove` to open the office again on the date.
    #[serde(default)]
    action: String,
}

pub(super) async fn change(
    State(state): State<AppState>,
    signed: Signed,
    Form(form): Form<ClosureForm>,
) -> Result<Response, PageError> {
    signed.require(signed.role().manages_accounts())?;
    let ui = signed.ui;
    let Ok(date) = machi_core::wareki::parse_date(&form.date) else {
        let message = ui.t(
            "日付を読めません（例: 2027-01-04、令和9年1月4日）",
            "The date cannot be read (e.g. 2027-01-04)",
        );
        let errors = vec![("closure-date".to_string(), message.to_string())];
        return page(&state, &signed, errors, (form.date, form.name)).await;
    };
    let name = machi_core::text::strip_control_chars(form.name.trim());
    if form.action == "remove" {
        state.store.remove_closure(&signed.city.id, date).await?;
    } else {
        let name = if name.is_empty() {
            "臨時閉庁".to_string()
        } else {
            name
        };
        let day = DayOff { date, name };
        state.store.set_closure(&signed.city.id, &day).await?;
    }
    let action = if form.action == "remove" {
        "calendar.open"
    } else {
        "calendar.close"
    };
    signed
        .audit(
            &state,
            action,
            &format!("calendar:{date}"),
            json!({ "name": form.name }),
        )
        .await?;
    Ok(see_other("/staff/calendar"))
}
