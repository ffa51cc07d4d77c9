//! 補正 (correction): when staff ask for a correction, the applicant opens their application
//! with the receipt number and access code, changes the answers and sends them again; the
//! application becomes "resubmitted" and goes back to the department's inbox.

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use machi_core::applications::Status;
use machi_core::procedures::InputKind;
use machi_core::receipt::AccessCode;

use super::apply::{draw_form, FormMode};
use super::form_view::Values;
use super::status::render_found;
use crate::kit::{read_form, ApiError, City, PageError, Ui};
use crate::AppState;

pub(super) async fn correct(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    request: Request,
) -> Result<Response, PageError> {
    crate::kit::check_origin(request.headers())?;
    let (pairs, _) = read_form(&state, request).await?;
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let (receipt, code) = (field("receipt_number"), field("access_code"));
    let view = state
        .store
        .application_by_access_code(&city.id, &receipt, &code)
        .await?;
    let record = state
        .procedures
        .get(&state.store, &city.id, &view.procedure_id)
        .await?
        .ok_or_else(|| {
            PageError::from(
                ApiError::not_found("no such procedure").with_ja("この手続はありません。"),
            )
        })?;
    let workflow = record.definition.workflow();
    if view.status != Status::CorrectionRequested
        || !workflow.allows(Status::CorrectionRequested, Status::Resubmitted)
    {
        return Err(PageError::from(ApiError::new(
            axum::http::StatusCode::CONFLICT,
            "no-correction",
            "No correction requested",
            ui.t(
                "この申請には補正の依頼がありません。",
                "No correction has been asked for on this application.",
            ),
        )));
    }
    let form = state
        .forms
        .get(
            &state.store,
            &city.id,
            &view.procedure_id,
            view.form_version,
        )
        .await?;
    let mode = FormMode::Correct {
        receipt_number: &view.receipt_number,
        access_code: &code,
    };
    if field("step") != "send" {
        // A My Number was never kept: it is asked again.
        let mut answers = view.answers.clone();
        answers.retain(|name, _| {
            form.definition()
                .ui
                .fields
                .get(name)
                .is_none_or(|hint| hint.input != InputKind::MyNumber)
        });
        let values = Values::from_answers(&answers);
        return Ok(draw_form(ui, &city, &record, &form, &values, &[], &mode));
    }
    let raw = form.answers_from_pairs(&pairs);
    let answers = match form.validate(&raw) {
        Ok(answers) => answers,
        Err(errors) => {
            let values = Values::from_answers(&raw);
            return Ok(draw_form(
                ui, &city, &record, &form, &values, &errors, &mode,
            ));
        }
    };
    let digest = AccessCode::parse(&code)
        .map(|c| c.digest())
        .unwrap_or_default();
    let stored = form.for_storage(answers);
    let done = state
        .store
        .resubmit(&city.id, &view.receipt_number, &digest, stored.as_map())
        .await?;
    if !done {
        return Err(PageError::from(ApiError::new(
            axum::http::StatusCode::CONFLICT,
            "no-correction",
            "No correction requested",
            ui.t(
                "この申請はすでに再提出されています。",
                "This application has already been sent again.",
            ),
        )));
    }
    let refreshed = state
        .store
        .application_by_access_code(&city.id, &receipt, &code)
        .await?;
    Ok(render_found(&state, &city, ui, refreshed, &code)
        .await?
        .into_response())
}
