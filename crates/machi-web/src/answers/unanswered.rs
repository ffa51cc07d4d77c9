//! The questions the answer desk could not answer, most asked first, for the staff who write
//! the FAQ.

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use crate::kit::{jst_stored, render, Chrome, PageError, Signed};
use crate::AppState;

#[derive(Template)]
#[template(path = "staff_unanswered.html")]
struct UnansweredPage {
    chrome: Chrome,
    /// (question, times asked, last asked)
    rows: Vec<(String, i64, String)>,
}

pub(super) async fn list(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Response, PageError> {
    signed.require(signed.role().edits_procedures())?;
    let rows = state
        .store
        .unanswered(&signed.city.id)
        .await?
        .into_iter()
        .map(|u| (u.question, u.times, jst_stored(&u.last_asked_at)))
        .collect();
    Ok(render(&UnansweredPage {
        chrome: signed.chrome("/staff/unanswered"),
        rows,
    }))
}
