//! 窓口用の事前入力: a resident who would rather finish at the counter turns their checked
//! answers into a code and a QR code; counter staff scan it and submit for them.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::Form;
use qrcode::render::svg;
use qrcode::QrCode;

use super::apply::confirmed_answers;
use crate::kit::{city_name, jst_stored, no_store, render, City, PageError, Ui};
use crate::AppState;

#[derive(Template)]
#[template(path = "prefill.html")]
struct PrefillPage {
    ui: Ui,
    city: String,
    back: String,
    name: String,
    code: String,
    qr_svg: String,
    expires: String,
}

/// An SVG QR code of the code (the text a counter scanner types into the staff page).
pub(crate) fn qr_svg(text: &str) -> String {
    QrCode::new(text.as_bytes())
        .map(|code| {
            code.render::<svg::Color<'_>>()
                .min_dimensions(200, 200)
                .quiet_zone(true)
                .build()
        })
        // Inline in HTML: drop the XML declaration before <svg>.
        .map(|svg| {
            svg.find("<svg")
                .map_or(svg.clone(), |at| svg[at..].to_string())
        })
        .unwrap_or_default()
}

pub(super) async fn create(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let record = state
        .procedures
        .get(&state.store, &city.id, &id)
        .await?
        .filter(|r| r.published)
        .ok_or_else(|| {
            PageError::from(crate::kit::ApiError::not_found(
                ui.t("その手続はありません。", "There is no such procedure."),
            ))
        })?;
    let (version, answers) = confirmed_answers(&pairs, ui)?;
    let form = state
        .forms
        .get(&state.store, &city.id, &id, version)
        .await?;
    let answers = form.validate(&answers).map_err(|errors| {
        PageError::from(crate::kit::ApiError::invalid_fields(errors, "/answers"))
    })?;
    let (code, expires_at) = state
        .store
        .save_prefill(&city.id, &id, version, &form.for_storage(answers))
        .await?;
    Ok(no_store(render(&PrefillPage {
        ui,
        city: city_name(ui, &city),
        back: format!("/procedures/{id}"),
        name: ui.l(&record.definition.name).to_string(),
        qr_svg: qr_svg(&code),
        code,
        expires: jst_stored(&expires_at),
    })))
}
