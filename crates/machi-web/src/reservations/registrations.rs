//! 利用者登録 at the counter: staff who serve the counter register a person or a group after
//! seeing an identity document, and hand over the number and the code (shown once) that apply
//! for lotteries and book facilities only registered users may book.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Form;
use machi_core::reservations::{Registrant, RegistrationForm};
use machi_store::reservations::Registration;
use machi_store::StoreError;
use serde::Deserialize;

use super::now_jst;
use crate::kit::{no_store, render, Chrome, PageError, Signed};
use crate::AppState;

#[derive(Template)]
#[template(path = "staff_registrations.html")]
struct RegistrationsPage {
    chrome: Chrome,
    registrations: Vec<Registration>,
    form: NewRegistration,
    /// The 減免 kinds the city's services grant: (id, name, checked).
    reductions: Vec<(String, String, bool)>,
    errors: Vec<(String, String)>,
    /// The registration just made, with its code (shown this once).
    made: Option<(Registration, String)>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct NewRegistration {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    group_name: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    reading: String,
    #[serde(default)]
    birth_date: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    in_city: Option<String>,
    /// The 減免 kinds ticked (the form's repeated `reduction` fields).
    #[serde(skip)]
    reductions: Vec<String>,
}

impl NewRegistration {
    /// The form as posted: its fields, and every `reduction` ticked (a repeated field, which
    /// a struct cannot take).
    fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut form = Self::default();
        for (key, value) in pairs {
            match key.as_str() {
                "kind" => form.kind = value,
                "group_name" => form.group_name = value,
                "name" => form.name = value,
                "reading" => form.reading = value,
                "birth_date" => form.birth_date = value,
                "email" => form.email = value,
                "phone" => form.phone = value,
                "in_city" => form.in_city = Some(value),
                "reduction" => form.reductions.push(value),
                _ => {}
            }
        }
        form
    }
}

/// Every 減免 kind the city's services grant, once, by id: (id, name).
async fn reduction_kinds(
    state: &AppState,
    signed: &Signed,
) -> Result<Vec<(String, String)>, PageError> {
    let mut kinds: Vec<(String, String)> = Vec::new();
    for service in state.store.services(&signed.city.id).await? {
        for reduction in service.fee_reductions {
            if !kinds.iter().any(|(id, _)| *id == reduction.id) {
                kinds.push((reduction.id, signed.ui.l(&reduction.name).to_string()));
            }
        }
    }
    Ok(kinds)
}

async fn page_with(
    state: &AppState,
    signed: &Signed,
    form: NewRegistration,
    errors: Vec<(String, String)>,
    made: Option<(Registration, String)>,
) -> Result<RegistrationsPage, PageError> {
    signed.require(signed.role().serves_counter())?;
    let reductions = reduction_kinds(state, signed)
        .await?
        .into_iter()
        .map(|(id, name)| {
            let checked = form.reductions.contains(&id);
            (id, name, checked)
        })
        .collect();
    Ok(RegistrationsPage {
        chrome: signed.chrome("/staff/registrations"),
        registrations: state.store.registrations(&signed.city.id).await?,
        reductions,
        form,
        errors,
        made,
    })
}

pub(super) async fn page(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Response, PageError> {
    let page = page_with(
        &state,
        &signed,
        NewRegistration::default(),
        Vec::new(),
        None,
    )
    .await?;
    Ok(render(&page))
}

pub(super) async fn register(
    State(state): State<AppState>,
    signed: Signed,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    signed.require(signed.role().serves_counter())?;
    let form = NewRegistration::from_pairs(pairs);
    let known = reduction_kinds(&state, &signed).await?;
    if let Some(unknown) = form
        .reductions
        .iter()
        .find(|r| !known.iter().any(|(id, _)| id == *r))
    {
        return Err(PageError::from(
            crate::kit::ApiError::bad_request(format!("no fee reduction '{unknown}'"))
                .with_ja("その減免の区分はありません"),
        ));
    }
    let ui = signed.ui;
    let checked = Registrant::checked(
        &RegistrationForm {
            kind: &form.kind,
            group_name: &form.group_name,
            name: &form.name,
            reading: &form.reading,
            birth_date: &form.birth_date,
            email: &form.email,
            phone: &form.phone,
            in_city: form.in_city.is_some(),
            reductions: &form.reductions,
        },
        now_jst().date(),
    );
    let errors = match checked {
        Ok(registrant) => {
            match state
                .store
                .register_facility_user(&signed.city.id, &registrant, signed.email())
                .await
            {
                Ok(made) => {
                    let page = page_with(
                        &state,
                        &signed,
                        NewRegistration::default(),
                        Vec::new(),
                        Some(made),
                    )
                    .await?;
                    return Ok(no_store(render(&page)));
                }
                Err(StoreError::Conflict(why)) => {
                    vec![("name".to_string(), ui.l(&why).to_string())]
                }
                Err(error) => return Err(error.into()),
            }
        }
        Err(problems) => problems
            .into_iter()
            .map(|(field, message)| (field.to_string(), ui.l(&message).to_string()))
            .collect(),
    };
    let page = page_with(&state, &signed, form, errors, None).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
}
