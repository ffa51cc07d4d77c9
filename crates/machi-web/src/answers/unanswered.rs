//! The questions the answer desk could not answer, most asked first, for the staff who write
//! the FAQ, each turned into an FAQ entry in one step (the form opens with the question).

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use crate::kit::{jst_stored, percent_encode, render, Chrome, PageError, Signed};
use crate::AppState;

#[derive(Template)]
#[template(path = "staff_unanswered.html")]
struct UnansweredPage {
    chrome: Chrome,
    /// (question, times asked, last asked, the question percent-encoded for the FAQ form)
    rows: Vec<(String, i64, String, String)>,
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
        .map(|u| {
            let encoded = percent_encode(&u.question);
            (u.question, u.times, jst_stored(&u.last_asked_at), encoded)
        })
        .collect();
    Ok(render(&UnansweredPage {
        chrome: signed.chrome("/staff/unanswered"),
        rows,
    }))
}
