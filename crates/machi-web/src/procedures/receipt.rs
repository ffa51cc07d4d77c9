//! The receipt of an online application, reached by a redirect after the submit (POST, 303,
//! GET): reloading it shows the receipt again and never submits again.
//!
//! Each confirm page carries a one-time submission token; the submit uses it as the
//! application's idempotency key, so a double click, a resubmitted POST or back-and-submit of
//! the same page makes one application and answers with its receipt. The receipt page gets the
//! receipt number and the token from a short-lived cookie scoped to the procedure's receipt
//! address; the access code is derived from the token (as the API derives it from an
//! `Idempotency-Key`), so neither the code nor the token is ever in an address.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};

use crate::kit::{
    city_name, cookie, cookie_header, no_store, render, see_other, City, PageError, Ui,
};
use crate::AppState;

const RECEIPT_COOKIE: &str = "machi_receipt";
/// How long the receipt page can be reloaded after the submit.
const RECEIPT_MINUTES: i64 = 30;

#[derive(Template)]
#[template(path = "receipt.html")]
struct ReceiptPage {
    ui: Ui,
    city: String,
    back: String,
    name: String,
    receipt_number: String,
    access_code: String,
    /// 手数料 and how it is made up (「900円（300円×3通）」), when the procedure has one.
    fee: Option<String>,
    /// Whether anything is left to pay (not when a 減免 waives it all).
    fee_to_pay: bool,
    /// Whether the fee can be paid online here (a payment provider is configured).
    pay_online: bool,
    /// The visit the procedure asks to book.
    visit: Option<super::visit::Visit>,
}

/// A fresh token for a confirm page's submit form (128 random bits, hex).
pub(super) fn submission_token() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// The token a submit carries, if it is one this site gives out; otherwise a fresh one (a page
/// from before tokens, or an edited field, submits once more rather than failing).
pub(super) fn token_of(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .find(|(k, _)| k == "submission")
        .map(|(_, v)| v.as_str())
        .filter(|token| is_token(token))
        .map(str::to_string)
        .unwrap_or_else(submission_token)
}

pub(super) fn is_token(text: &str) -> bool {
    text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The idempotency key of a web submission with `token` (apart from the API's keys).
pub(super) fn idempotency_key(token: &str) -> String {
    format!("web-{token}")
}

fn receipt_path(procedure: &str) -> String {
    format!("/procedures/{procedure}/receipt")
}

/// The answer to an accepted submit: 303 to the receipt page, with the cookie it reads.
pub(super) fn redirect_to_receipt(
    headers: &HeaderMap,
    procedure: &str,
    receipt_number: &str,
    token: &str,
) -> Response {
    let path = receipt_path(procedure);
    redirect_with_cookie(
        headers,
        &path,
        RECEIPT_COOKIE,
        &format!("{receipt_number}.{token}"),
    )
}

/// 303 to a receipt page at `path`, with the short-lived cookie (scoped to it) it reads.
pub(super) fn redirect_with_cookie(
    headers: &HeaderMap,
    path: &str,
    name: &str,
    value: &str,
) -> Response {
    let mut response = Redirect::to(path).into_response();
    if let Some(cookie) = cookie_header(headers, name, value, path, RECEIPT_MINUTES * 60) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// The receipt page. Without its cookie (expired, another browser) it leads to the status
/// page, where the receipt number and access code open the application.
pub(super) async fn show(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let Some((receipt_number, token)) = cookie(&headers, RECEIPT_COOKIE)
        .and_then(|value| value.split_once('.'))
        .filter(|(_, token)| is_token(token))
    else {
        return Ok(see_other("/status"));
    };
    let code = state
        .store
        .idempotent_access_code(&city.id, &idempotency_key(token));
    let found = state
        .store
        .application_by_access_code(&city.id, receipt_number, &code.display())
        .await;
    let Ok(view) = found else {
        return Ok(see_other("/status"));
    };
    let record = state
        .procedures
        .get(&state.store, &city.id, &view.procedure_id)
        .await?;
    let Some(record) = record.filter(|r| r.definition.id == id) else {
        return Ok(see_other("/status"));
    };
    let fee = record.definition.fee(&view.answers);
    let page = ReceiptPage {
        ui,
        city: city_name(ui, &city),
        back: "/status".into(),
        name: ui.l(&record.definition.name).to_string(),
        receipt_number: receipt_number.to_string(),
        access_code: code.display(),
        fee: fee.as_ref().map(|fee| ui.l(&fee.text()).to_string()),
        fee_to_pay: fee.is_some_and(|fee| fee.total > 0),
        pay_online: state.takes_payments_online(),
        visit: super::visit::visit(
            &state,
            &city.id,
            ui,
            &record.definition,
            receipt_number,
            Some(&code),
        )
        .await?,
    };
    Ok(no_store(render(&page)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_tokens_this_site_gives_out_are_kept() {
        let token = submission_token();
        assert!(is_token(&token));
        let pairs = vec![("submission".to_string(), token.clone())];
        assert_eq!(token_of(&pairs), token);
        let forged = vec![("submission".to_string(), "x; Path=/".to_string())];
        assert_ne!(token_of(&forged), "x; Path=/");
        assert!(is_token(&token_of(&forged)));
    }
}
