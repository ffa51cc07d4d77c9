//! 「この回答は役に立ちましたか」: a resident's helpful / not helpful under an FAQ answer (on
//! `/faq` and at the answer desk), counted for the staff who write the answers. A plain form
//! post that returns to the page it came from, which then thanks the resident.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Form;
use serde::Deserialize;

use crate::kit::{check_origin, local_path, see_other, ApiError, City, PageError, Ui};
use crate::AppState;

#[derive(Deserialize)]
pub(super) struct Rating {
    /// `yes` or `no`.
    #[serde(default)]
    helpful: String,
    /// The page to return to (this site's).
    #[serde(default)]
    back: String,
}

pub(super) async fn rate(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(rating): Form<Rating>,
) -> Result<Response, PageError> {
    check_origin(&headers)?;
    let helpful = match rating.helpful.as_str() {
        "yes" => true,
        "no" => false,
        _ => {
            return Err(ApiError::invalid_field(
                "/helpful",
                machi_core::procedures::Localized::new(
                    "「はい」か「いいえ」を選んでください",
                    "Choose yes or no",
                ),
            )
            .into())
        }
    };
    if !state.store.rate_faq_entry(&city.id, &id, helpful).await? {
        return Err(ApiError::not_found(
            ui.t("その質問は見つかりません。", "There is no such question."),
        )
        .into());
    }
    let back = local_path(&rating.back)
        .filter(|p| p.starts_with("/faq") || p.starts_with("/ask"))
        .unwrap_or("/faq");
    Ok(see_other(&thanked(back, &id)))
}

/// `back` with `thanks={id}` (in place of an earlier one) and the entry's fragment: the page
/// then thanks the resident where the answer is. `id` is an entry's id, safe in a URL.
fn thanked(back: &str, id: &str) -> String {
    let path = back.split('#').next().unwrap_or(back);
    let (page, query) = path.split_once('?').unwrap_or((path, ""));
    let mut pairs: Vec<&str> = query
        .split('&')
        .filter(|pair| !pair.is_empty() && !pair.starts_with("thanks="))
        .collect();
    let thanks = format!("thanks={id}");
    pairs.push(&thanks);
    format!("{page}?{}#{id}", pairs.join("&"))
}

#[cfg(test)]
mod tests {
    use super::thanked;

    #[test]
    fn the_page_returned_to_thanks_for_one_answer() {
        assert_eq!(thanked("/faq", "gomi-1"), "/faq?thanks=gomi-1#gomi-1");
        assert_eq!(
            thanked("/ask?q=%E3%81%94%E3%81%BF&thanks=old#x", "gomi-1"),
            "/ask?q=%E3%81%94%E3%81%BF&thanks=gomi-1#gomi-1"
        );
    }
}
