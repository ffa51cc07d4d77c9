//! The resident's profile: the answers about themselves that prefill every form (once-only),
//! normalised exactly like form answers.

use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use machi_core::life_events::PERSONAL_KEYS;
use machi_core::procedures::{normalise_typed, Localized};
use machi_store::residents::Profile;

use super::{key_input, key_label};
use crate::kit::resident::require_resident;
use crate::kit::{
    check_origin, city_name, constant_time_eq, no_store, render, ApiError, City, PageError, Ui,
};
use crate::AppState;

#[derive(Template)]
#[template(path = "account_profile.html")]
struct ProfilePage {
    ui: Ui,
    city: String,
    back: String,
    csrf: String,
    /// (key, label, value, error)
    fields: Vec<(String, String, String, Option<String>)>,
    errors: Vec<(String, String)>,
}

fn profile_page(
    ui: Ui,
    city: &machi_store::Tenant,
    csrf: &str,
    values: &Profile,
    errors: &[(String, Localized)],
) -> ProfilePage {
    ProfilePage {
        ui,
        city: city_name(ui, city),
        back: "/account/profile".into(),
        csrf: csrf.to_string(),
        fields: PERSONAL_KEYS
            .iter()
            .map(|key| {
                (
                    key.to_string(),
                    key_label(ui, key),
                    values.get(*key).cloned().unwrap_or_default(),
                    errors
                        .iter()
                        .find(|(k, _)| k == key)
                        .map(|(_, m)| ui.l(m).to_string()),
                )
            })
            .collect(),
        errors: errors
            .iter()
            .map(|(key, message)| {
                (
                    format!("p-{key}"),
                    format!("{}: {}", key_label(ui, key), ui.l(message)),
                )
            })
            .collect(),
    }
}

pub(super) async fn show(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let session = require_resident(&state, &city, ui, &headers).await?;
    let mut profile = state.store.profile(&city.id, &session.resident_id).await?;
    if let Some(email) = &session.email {
        profile
            .entry("email".into())
            .or_insert_with(|| email.clone());
    }
    Ok(no_store(render(&profile_page(
        ui,
        &city,
        &session.csrf_token,
        &profile,
        &[],
    ))))
}

pub(super) async fn save(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    check_origin(&headers)?;
    let session = require_resident(&state, &city, ui, &headers).await?;
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    };
    if !constant_time_eq(session.csrf_token.as_bytes(), field("csrf").as_bytes()) {
        return Err(PageError::from(ApiError::forbidden(
            "the form's security token is missing or out of date; reload the page and try again",
        )));
    }
    let mut profile = Profile::new();
    let mut errors = Vec::new();
    for key in PERSONAL_KEYS {
        let typed = field(key);
        if typed.chars().count() > 200 {
            errors.push((key.to_string(), Localized::new("長すぎます", "is too long")));
            continue;
        }
        match normalise_typed(key_input(key), typed) {
            Ok(Some(value)) => {
                profile.insert(key.to_string(), value);
            }
            Ok(None) => {}
            Err(message) => errors.push((key.to_string(), message)),
        }
    }
    if !errors.is_empty() {
        let typed: Profile = PERSONAL_KEYS
            .iter()
            .map(|k| (k.to_string(), field(k).to_string()))
            .collect();
        let page = profile_page(ui, &city, &session.csrf_token, &typed, &errors);
        return Ok((
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            no_store(render(&page)),
        )
            .into_response());
    }
    state
        .store
        .save_profile(&city.id, &session.resident_id, &profile)
        .await?;
    Ok(Redirect::to("/account").into_response())
}
