//! 郵便番号 → 住所: a postcode fills the address, with or without JavaScript.
//!
//! Every postcode question with an address question after it gets a 「住所を検索」 button. Without
//! JavaScript the button sends the form back (`find_address` names the two inputs), and the
//! form comes back with the address filled in and everything else as it was; with JavaScript
//! (`/static/postcode.js`) typing seven digits asks `GET /api/v1/postcodes/{postcode}` and fills
//! the address in place. The table is the national postcode file a city imports itself
//! (`machi import postcodes`); the demo ships its own city's.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use machi_core::postcodes::{digits, PostcodeArea};
use machi_core::procedures::Localized;
use serde::Serialize;
use utoipa::ToSchema;

use super::form_view::FieldView;
use crate::kit::{ApiError, Ui};
use crate::AppState;

/// Links each postcode input to the address input after it (`street-address`, or a question
/// named `…address`), so that its lookup knows what to fill; inside a group, within an entry.
pub(crate) fn link_postcodes(views: &mut [FieldView]) {
    for i in 0..views.len() {
        for entry in &mut views[i].entries {
            link_postcodes(&mut entry.fields);
        }
        if views[i].kind != "postcode" {
            continue;
        }
        let target = views[i + 1..]
            .iter()
            .find(|v| v.autocomplete == "street-address" || v.name.ends_with("address"))
            .map(|v| (v.id.clone(), v.name.clone()));
        if let Some((id, name)) = target {
            views[i].address_for = id;
            views[i].address_name = name;
        }
    }
}

/// What a 「住所を検索」 button sent back: the form's pairs with the address filled in, the
/// postcode input's name and what to say beside it. `None` when the button was not pressed.
pub(crate) struct Lookup {
    pub pairs: Vec<(String, String)>,
    pub postcode_field: String,
    pub note: String,
}

pub(crate) async fn fill_address(
    state: &AppState,
    ui: Ui,
    pairs: &[(String, String)],
) -> Option<Lookup> {
    let (_, target) = pairs.iter().find(|(k, _)| k == "find_address")?;
    let (postcode_field, address_field) = target.split_once('>')?;
    let value_of = |name: &str| {
        pairs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let before = value_of(address_field);
    let mut pairs: Vec<(String, String)> = pairs
        .iter()
        .filter(|(k, _)| k != "find_address" && k != address_field)
        .cloned()
        .collect();
    let (address, note) = match digits(&value_of(postcode_field)) {
        None => (
            None,
            Localized::new(
                "郵便番号を7桁の数字で入力してから「住所を検索」を押してください。",
                "Enter a seven-digit postcode, then press “Find the address”.",
            ),
        ),
        Some(code) => match state.store.postcode_areas(&code).await {
            Ok(areas) if areas.is_empty() => (
                None,
                Localized::new(
                    "その郵便番号の住所は見つかりませんでした。住所を入力してください。",
                    "No address was found for that postcode. Please type the address.",
                ),
            ),
            Ok(areas) => {
                let (address, note) = found(&areas);
                (Some(address), note)
            }
            Err(error) => {
                tracing::warn!(%error, "postcode lookup failed");
                (
                    None,
                    Localized::new(
                        "住所を検索できませんでした。住所を入力してください。",
                        "The address could not be looked up. Please type it.",
                    ),
                )
            }
        },
    };
    let mut note = ui.l(&note).to_string();
    match address {
        Some(address) => {
            if !before.trim().is_empty() && before != address {
                note.push_str(&if ui.en {
                    format!(" (It replaced “{before}”.)")
                } else {
                    format!("（入力されていた「{before}」を置き換えました。）")
                });
            }
            pairs.push((address_field.to_string(), address));
        }
        None => pairs.push((address_field.to_string(), before)),
    }
    Some(Lookup {
        pairs,
        postcode_field: postcode_field.to_string(),
        note,
    })
}

/// The address to fill for the areas of one postcode, and what to say: the whole address for
/// one area; for several, the part they share and the towns to choose from.
fn found(areas: &[PostcodeArea]) -> (String, Localized) {
    let first = &areas[0];
    if areas.len() == 1 {
        let address = first.address();
        let note = Localized::new(
            format!("住所を入力しました：{address}。続けて番地や建物名を入力してください。"),
            format!("The address was filled in: {address}. Add the block number and building."),
        );
        return (address, note);
    }
    let shared = format!("{}{}", first.prefecture, first.city);
    let towns: Vec<&str> = areas
        .iter()
        .map(|a| a.town.as_str())
        .filter(|t| !t.is_empty())
        .collect();
    let note = Localized::new(
        format!(
            "「{shared}」を入力しました。町名は次のいずれかです：{}。続けて入力してください。",
            towns.join("、")
        ),
        format!(
            "“{shared}” was filled in. The town is one of: {}. Please add it.",
            towns.join(", ")
        ),
    );
    (shared, note)
}

/// The areas one postcode names.
#[derive(Serialize, ToSchema)]
pub(crate) struct PostcodeAnswer {
    /// Seven digits.
    postcode: String,
    areas: Vec<AreaView>,
}

#[derive(Serialize, ToSchema)]
struct AreaView {
    prefecture: String,
    city: String,
    /// Empty when the postcode stands for the whole city (or the rest of it).
    town: String,
    /// Prefecture, city and town together, as an address field starts.
    address: String,
}

/// 郵便番号 → 住所 (the national postcode file the city imported).
#[utoipa::path(get, path = "/api/v1/postcodes/{postcode}", tag = "procedures",
    params(("postcode" = String, Path, description = "Seven digits, as residents type them: a hyphen, 〒 and full-width digits are accepted", pattern = "^〒?[0-9０-９]{3}[-－ー−]?[0-9０-９]{4}$")),
    responses((status = 200, body = PostcodeAnswer),
              (status = 404, body = crate::kit::Problem, content_type = "application/problem+json"),
              (status = 422, body = crate::kit::Problem, content_type = "application/problem+json")))]
pub(crate) async fn lookup(
    State(state): State<AppState>,
    Path(postcode): Path<String>,
) -> Result<Response, ApiError> {
    let code = digits(&postcode).ok_or_else(|| {
        ApiError::invalid_field(
            "/postcode",
            Localized::new(
                "郵便番号は7桁の数字で指定してください",
                "A postcode is seven digits",
            ),
        )
    })?;
    let areas = state.store.postcode_areas(&code).await?;
    if areas.is_empty() {
        return Err(ApiError::not_found("no address has this postcode")
            .with_ja("その郵便番号の住所はありません。"));
    }
    let answer = PostcodeAnswer {
        postcode: code,
        areas: areas
            .into_iter()
            .map(|a| AreaView {
                address: a.address(),
                prefecture: a.prefecture,
                city: a.city,
                town: a.town,
            })
            .collect(),
    };
    Ok((
        [(header::CACHE_CONTROL, "public, max-age=3600")],
        Json(answer),
    )
        .into_response())
}
