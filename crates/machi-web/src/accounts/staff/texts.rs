//! The city's own wording (administrators): the 教示 that goes with every refusal (行政不服審査法
//! 第82条: to whom, where and by when the applicant may ask for a review). Left empty, machi's
//! default with the city's name is used. Audited; bad input answers with the page.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Form;
use machi_core::procedures::Localized;
use serde::Deserialize;
use serde_json::json;

use crate::kit::texts::{default_appeal_notice, APPEAL_NOTICE};
use crate::kit::{render, see_other, Chrome, PageError, Signed};
use crate::AppState;

/// Longest wording a city may set.
const MAX_CHARS: usize = 2000;

#[derive(Template)]
#[template(path = "staff_texts.html")]
struct TextsPage {
    chrome: Chrome,
    appeal_ja: String,
    appeal_en: String,
    /// machi's default, shown as the help of the fields.
    default_ja: String,
    own: bool,
    errors: Vec<(String, String)>,
}

pub(super) async fn show(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Response, PageError> {
    signed.require(signed.role().manages_accounts())?;
    let own = state
        .store
        .city_text(&signed.city.id, APPEAL_NOTICE)
        .await?;
    let shown = own
        .clone()
        .unwrap_or_else(|| default_appeal_notice(&signed.city));
    page(&signed, (shown.ja, shown.en), own.is_some(), Vec::new())
}

fn page(
    signed: &Signed,
    (appeal_ja, appeal_en): (String, String),
    own: bool,
    errors: Vec<(String, String)>,
) -> Result<Response, PageError> {
    let status = crate::kit::form_status(&errors);
    let page = TextsPage {
        chrome: signed.chrome("/staff/texts"),
        appeal_ja,
        appeal_en,
        default_ja: default_appeal_notice(&signed.city).ja,
        own,
        errors,
    };
    Ok((status, render(&page)).into_response())
}

#[derive(Deserialize)]
pub(super) struct TextsForm {
    #[serde(default)]
    appeal_ja: String,
    #[serde(default)]
    appeal_en: String,
}

pub(super) async fn save(
    State(state): State<AppState>,
    signed: Signed,
    Form(form): Form<TextsForm>,
) -> Result<Response, PageError> {
    signed.require(signed.role().manages_accounts())?;
    let ja = machi_core::text::strip_control_chars(form.appeal_ja.trim());
    let en = machi_core::text::strip_control_chars(form.appeal_en.trim());
    if ja.chars().count() > MAX_CHARS || en.chars().count() > MAX_CHARS {
        let message = signed.ui.t(
            "教示の文言は2000文字以内にしてください。",
            "Keep the wording within 2,000 characters.",
        );
        let errors = vec![("appeal_ja".to_string(), message.to_string())];
        return page(&signed, (form.appeal_ja, form.appeal_en), true, errors);
    }
    // Empty, or the default as shown, means machi's default (which follows the city's name).
    let default = default_appeal_notice(&signed.city);
    let own = (!ja.is_empty() && ja != default.ja).then(|| Localized::new(ja, en));
    state
        .store
        .set_city_text(&signed.city.id, APPEAL_NOTICE, own.as_ref())
        .await?;
    signed
        .audit(
            &state,
            "city_text.change",
            APPEAL_NOTICE,
            json!({ "own": own.is_some() }),
        )
        .await?;
    Ok(see_other("/staff/texts?saved=1"))
}
