//! 答える (answers): the answer desk (`/ask`), the city's よくある質問 for residents — `/faq`,
//! grouped by department, each answer leading to its procedures — and `GET /api/v1/faq` and
//! `GET /api/v1/ask` for apps and chat front-ends.

pub(crate) mod ask;
mod editing;
mod feedback;
mod unanswered;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use machi_core::faq::FaqEntry;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::kit::{city_name, render, render_markdown, ApiError, City, PageError, Text, Ui};
use crate::AppState;

pub(crate) fn public_routes() -> Router<AppState> {
    Router::new()
        .route("/faq", get(page))
        .route("/ask", get(ask::ask))
        .route("/faq/{id}/feedback", post(feedback::rate))
}

/// The staff's list of unanswered questions, behind the staff guard.
pub(crate) fn staff_routes() -> Router<AppState> {
    Router::new()
        .route("/staff/unanswered", get(unanswered::list))
        .route("/staff/faq", get(editing::list))
        .route("/staff/faq/new", get(editing::new).post(editing::create))
        .route("/staff/faq/{id}", get(editing::edit).post(editing::update))
        .route("/staff/faq/{id}/delete", post(editing::delete))
}

pub(crate) fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/faq", get(list))
        .route("/ask", get(ask::ask_api))
}

/// One department's questions on the page.
struct Section {
    department: String,
    entries: Vec<EntryView>,
}

struct EntryView {
    id: String,
    question: String,
    answer_html: String,
    /// (link, name) of the procedures the answer leads to.
    procedures: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "faq.html")]
struct FaqPage {
    ui: Ui,
    city: String,
    back: String,
    sections: Vec<Section>,
    /// The entry a resident just rated (thanked in place of the question).
    thanks: String,
}

#[derive(Deserialize)]
struct FaqPageQuery {
    #[serde(default)]
    thanks: String,
}

async fn page(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    Query(query): Query<FaqPageQuery>,
) -> Result<Response, PageError> {
    let index = state.searches.city(&state.store, &city.id).await?;
    let mut sections: Vec<Section> = Vec::new();
    // The index holds the FAQ as the city ordered it: no second read.
    for entry in index.faq.iter() {
        let view = EntryView {
            id: entry.id.clone(),
            question: ui.l(&entry.question).to_string(),
            answer_html: render_markdown(ui.l(&entry.answer)),
            procedures: entry
                .procedures
                .iter()
                .filter_map(|id| index.procedures.get(id))
                .map(|r| {
                    let p = &r.definition;
                    (format!("/procedures/{}", p.id), ask::title(ui, p))
                })
                .collect(),
        };
        match sections
            .iter_mut()
            .find(|s| s.department == entry.department)
        {
            Some(section) => section.entries.push(view),
            None => sections.push(Section {
                department: entry.department.clone(),
                entries: vec![view],
            }),
        }
    }
    Ok(render(&FaqPage {
        ui,
        city: city_name(ui, &city),
        back: "/faq".into(),
        sections,
        thanks: query.thanks,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct FaqParams {
    /// A department code: only its questions.
    #[param(pattern = "^[^\\x00-\\x1f\\x7f]*$")]
    department: Option<String>,
}

/// One question and its answer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct FaqItem {
    id: String,
    department_code: String,
    department: String,
    question: Text,
    /// Markdown.
    answer: Text,
    /// Ids of the procedures the answer leads to.
    procedures: Vec<String>,
    keywords: Vec<String>,
}

/// The city's questions, in its order.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct FaqList {
    items: Vec<FaqItem>,
}

impl From<FaqEntry> for FaqItem {
    fn from(e: FaqEntry) -> Self {
        Self {
            question: (&e.question).into(),
            answer: (&e.answer).into(),
            id: e.id,
            department_code: e.department_code,
            department: e.department,
            procedures: e.procedures,
            keywords: e.keywords,
        }
    }
}

/// The city's よくある質問.
#[utoipa::path(get, path = "/api/v1/faq", tag = "procedures", params(FaqParams),
    responses((status = 200, body = FaqList), (status = 400, body = crate::kit::Problem, content_type = "application/problem+json"), (status = 422, body = crate::kit::Problem, content_type = "application/problem+json")))]
pub(crate) async fn list(
    State(state): State<AppState>,
    City(city): City,
    params: Result<Query<FaqParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<FaqList>, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let department =
        crate::kit::without_control_chars("/department", params.department.as_deref())?
            .filter(|d| !d.is_empty());
    let items = state
        .store
        .faq(&city.id)
        .await?
        .into_iter()
        .filter(|e| department.as_ref().is_none_or(|d| &e.department_code == d))
        .map(FaqItem::from)
        .collect();
    Ok(Json(FaqList { items }))
}
