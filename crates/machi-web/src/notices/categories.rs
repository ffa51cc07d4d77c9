//! えらべる化: administrators set the city's own categories of notices — rename them, add
//! them, order them, map each to its CAP category, and remove those nothing uses. Bad input
//! answers with the page, saying what is wrong; nothing is half-saved.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::Form;
use machi_core::notices::{check_category_list, Category, CAP_CATEGORIES};
use machi_core::procedures::Localized;
use serde::Deserialize;

use crate::kit::{render, see_other, Chrome, PageError, Signed};
use crate::AppState;

#[derive(Template)]
#[template(path = "staff_categories.html")]
struct CategoriesPage {
    chrome: Chrome,
    /// The rows as shown (the saved ones, or as typed), then an empty one to add.
    rows: Vec<Category>,
    caps: &'static [&'static str],
    saved: bool,
    errors: Vec<(String, String)>,
}

#[derive(Deserialize)]
pub(super) struct ShowQuery {
    saved: Option<String>,
}

pub(super) async fn show(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<ShowQuery>,
) -> Result<Response, PageError> {
    signed.require(signed.role().manages_accounts())?;
    let categories = state.store.notice_categories(&signed.city.id).await?;
    Ok(page(&signed, categories, query.saved.is_some(), Vec::new()))
}

fn page(
    signed: &Signed,
    mut rows: Vec<Category>,
    saved: bool,
    errors: Vec<(String, String)>,
) -> Response {
    rows.push(Category {
        id: String::new(),
        label: Localized::default(),
        cap: "Other".into(),
    });
    let status = crate::kit::form_status(&errors);
    let page = CategoriesPage {
        chrome: signed.chrome("/staff/categories"),
        rows,
        caps: &CAP_CATEGORIES,
        saved,
        errors,
    };
    (status, render(&page)).into_response()
}

/// The rows of the form, in order: the n-th `id`, `ja`, `en` and `cap` make one; a row whose
/// id is listed in `remove`, or that is left empty, is dropped.
fn read_rows(pairs: &[(String, String)]) -> Vec<Category> {
    let column = |name: &str| -> Vec<String> {
        pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| machi_core::text::clean_text(v).trim().to_string())
            .collect()
    };
    let (ids, ja, en, caps) = (column("id"), column("ja"), column("en"), column("cap"));
    let removed = column("remove");
    ids.iter()
        .enumerate()
        .map(|(i, id)| Category {
            id: id.to_ascii_lowercase(),
            label: Localized::new(
                ja.get(i).cloned().unwrap_or_default(),
                en.get(i).cloned().unwrap_or_default(),
            ),
            cap: caps.get(i).cloned().unwrap_or_default(),
        })
        .filter(|c| !(c.id.is_empty() && c.label.ja.is_empty()))
        .filter(|c| !removed.contains(&c.id))
        .collect()
}

pub(super) async fn save(
    State(state): State<AppState>,
    signed: Signed,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    signed.require(signed.role().manages_accounts())?;
    let rows = read_rows(&pairs);
    let shown = |problems: Vec<(&str, Localized)>| -> Vec<(String, String)> {
        problems
            .into_iter()
            .map(|(_, message)| ("categories".to_string(), signed.ui.l(&message).to_string()))
            .collect()
    };
    if let Err(problems) = check_category_list(&rows) {
        return Ok(page(&signed, rows, false, shown(problems)));
    }
    match state
        .store
        .save_notice_categories(&signed.city.id, &rows, signed.email())
        .await
    {
        Ok(()) => Ok(see_other("/staff/categories?saved=1")),
        Err(machi_store::StoreError::Invalid(message)) => Ok(page(
            &signed,
            rows,
            false,
            shown(vec![("categories", message)]),
        )),
        Err(other) => Err(other.into()),
    }
}
