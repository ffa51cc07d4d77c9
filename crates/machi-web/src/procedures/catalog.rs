//! Home, catalog search and the procedure page.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use machi_core::procedures::LifeEvent;

use super::api::{search, CatalogParams};
use crate::kit::{city_name, render, ApiError, City, PageError, Ui};
use crate::AppState;

/// A procedure line in a list.
pub(crate) struct ListItem {
    id: String,
    name: String,
    /// The name in plain words (empty when the procedure has none in this language).
    plain: String,
    /// For a search: the words it matched.
    matched: String,
    department: String,
    online: bool,
}

fn life_events(ui: Ui) -> Vec<(&'static str, String)> {
    LifeEvent::ALL
        .iter()
        .map(|e| (e.as_str(), ui.l(&e.label()).to_string()))
        .collect()
}

fn list_items(ui: Ui, page: &super::api::ProcedurePage) -> Vec<ListItem> {
    page.items
        .iter()
        .map(|p| ListItem {
            id: p.id.clone(),
            name: ui.name(&p.name.ja, &p.name.en).to_string(),
            plain: p
                .plain_title
                .as_ref()
                .filter(|_| !ui.en)
                .map(|t| t.ja.clone())
                .unwrap_or_default(),
            matched: p.matched.join(ui.t("、", ", ")),
            department: ui
                .name(&p.department.name.ja, &p.department.name.en)
                .to_string(),
            online: p.online,
        })
        .collect()
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    ui: Ui,
    city: String,
    back: String,
    events: Vec<(&'static str, String)>,
    online: Vec<ListItem>,
}

pub(super) async fn home(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
) -> Result<Response, PageError> {
    let params = CatalogParams {
        online: Some("true".into()),
        limit: Some(12),
        ..Default::default()
    };
    let page = search(&state, &city.id, &params).await?;
    Ok(render(&HomePage {
        ui,
        city: city_name(ui, &city),
        back: "/".into(),
        events: life_events(ui),
        online: list_items(ui, &page),
    }))
}

#[derive(Template)]
#[template(path = "catalog.html")]
struct CatalogPage {
    ui: Ui,
    city: String,
    back: String,
    q: String,
    life_event: String,
    department: String,
    online: bool,
    events: Vec<(&'static str, String)>,
    departments: Vec<(String, String)>,
    items: Vec<ListItem>,
    /// "Did you mean": the link to the search with a mistyped name corrected, and its words.
    suggestion: Option<(String, String)>,
    count_text: String,
    next_link: Option<String>,
    error: Option<String>,
}

pub(super) async fn catalog(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    Query(params): Query<CatalogParams>,
) -> Result<Response, PageError> {
    let (page, error) = match search(&state, &city.id, &params).await {
        Ok(page) => (page, None),
        Err(e) if e.status.is_client_error() => {
            let message = e
                .problem
                .errors
                .first()
                .map(|f| ui.l(&f.message).to_string())
                .unwrap_or(e.problem.detail.clone());
            (
                super::api::ProcedurePage {
                    items: Vec::new(),
                    next_cursor: None,
                },
                Some(message),
            )
        }
        Err(e) => return Err(PageError::from(e)),
    };
    let departments = state.store.departments(&city.id).await?;
    let items = list_items(ui, &page);
    let suggestion = suggestion(&state, &city.id, &params).await?;
    let count_text = if ui.en {
        format!("({} shown)", items.len())
    } else {
        format!("（{}件を表示）", items.len())
    };
    let next_link = page.next_cursor.map(|cursor| {
        let next = CatalogParams {
            cursor: Some(cursor),
            ..params.clone()
        };
        format!(
            "/procedures?{}",
            serde_urlencoded::to_string(&next).unwrap_or_default()
        )
    });
    Ok(render(&CatalogPage {
        ui,
        city: city_name(ui, &city),
        back: "/procedures".into(),
        q: params.q.clone().unwrap_or_default(),
        life_event: params.life_event.clone().unwrap_or_default(),
        department: params.department.clone().unwrap_or_default(),
        online: matches!(params.online.as_deref(), Some("true" | "1" | "on")),
        events: life_events(ui),
        departments: departments
            .into_iter()
            .map(|d| (d.code.clone(), ui.name(&d.ja, &d.en).to_string()))
            .collect(),
        items,
        suggestion,
        count_text,
        next_link,
        error,
    }))
}

#[derive(Template)]
#[template(path = "procedure.html")]
struct ProcedurePage {
    ui: Ui,
    city: String,
    back: String,
    id: String,
    name: String,
    summary: String,
    department: String,
    channel: String,
    /// 減免 rules, as residents read them.
    exemptions: Vec<String>,
    fee: String,
    processing_days: Option<i64>,
    time_limit: Option<String>,
    legal_basis: String,
    documents: Vec<String>,
    online: bool,
}

pub(super) async fn procedure(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let record = state
        .store
        .procedure(&city.id, &id)
        .await?
        .filter(|r| r.published)
        .ok_or_else(|| {
            PageError::from(ApiError::not_found(
                ui.t("その手続はありません。", "There is no such procedure."),
            ))
        })?;
    let p = &record.definition;
    let fee = p
        .fee_label()
        .map(|label| ui.l(&label).to_string())
        .unwrap_or_else(|| ui.t("なし", "None").to_string());
    let exemptions = p
        .fee_exemptions
        .iter()
        .map(|e| match (ui.en, e.percent >= 100) {
            (true, true) => format!("{}: no fee", ui.l(&e.label)),
            (true, false) => format!("{}: {}% off", ui.l(&e.label), e.percent),
            (false, true) => format!("{}: 全額免除", e.label.ja),
            (false, false) => format!("{}: {}%減額", e.label.ja, e.percent),
        })
        .collect();
    Ok(render(&ProcedurePage {
        ui,
        city: city_name(ui, &city),
        back: format!("/procedures/{id}"),
        id: p.id.clone(),
        name: ui.l(&p.name).to_string(),
        summary: ui.l(&p.summary).to_string(),
        department: ui.name(&p.department.ja, &p.department.en).to_string(),
        channel: ui.l(&p.channel.label()).to_string(),
        exemptions,
        fee,
        processing_days: p.processing_days,
        time_limit: p.time_limit.as_ref().map(|t| ui.l(t).to_string()),
        legal_basis: p.legal_basis.clone(),
        documents: p.documents.iter().map(|d| ui.l(d).to_string()).collect(),
        online: record.accepts_online(),
    }))
}

/// The catalog search again with a mistyped name in its words corrected, when that finds a
/// procedure: (link, corrected words).
async fn suggestion(
    state: &AppState,
    tenant: &str,
    params: &CatalogParams,
) -> Result<Option<(String, String)>, PageError> {
    let Some(q) = params.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) else {
        return Ok(None);
    };
    let index = state.searches.city(&state.store, tenant).await?;
    Ok(index
        .suggest(q, Some(machi_search::Kind::Procedure))
        .map(|corrected| {
            let again = CatalogParams {
                q: Some(corrected.clone()),
                cursor: None,
                ..params.clone()
            };
            let query = serde_urlencoded::to_string(&again).unwrap_or_default();
            (format!("/procedures?{query}"), corrected)
        }))
}
