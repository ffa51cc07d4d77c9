//! `GET /api/v1/search`: the city's search as residents' apps and chat front-ends call it —
//! ranked, typed results with their address, score and the words they matched.

use axum::extract::{Query, State};
use axum::Json;
use machi_core::procedures::Localized;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::kit::{search_words, ApiError, City, SiteUrl, Text};
use crate::AppState;

/// Search parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SearchParams {
    /// What the resident typed (「住民票がほしい」「子どもが生まれた」); required. No control
    /// characters.
    #[param(pattern = "^[^\\x00-\\x1f\\x7f]*$", max_length = 200)]
    q: Option<String>,
    /// Only results of this type: procedure, faq, notice (those shown now) or dataset.
    #[param(pattern = "^(procedure|faq|notice|dataset)?$")]
    r#type: Option<String>,
    /// How many results, 1–50 (default 10).
    #[param(minimum = 1, maximum = 50)]
    limit: Option<u32>,
}

/// One result.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SearchResult {
    /// procedure, faq, notice or dataset.
    r#type: String,
    id: String,
    title: Text,
    /// The title in plain words, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    plain_title: Option<Text>,
    /// Its page.
    url: String,
    /// How well it matches (higher is better; comparable within one answer only).
    score: f32,
    /// The words of the query it matched.
    matched: Vec<String>,
}

/// Ranked results, best first.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SearchResults {
    items: Vec<SearchResult>,
    /// "Did you mean": the query with a mistyped name corrected (住民表がほしい →
    /// 住民票がほしい), present only when the corrected query finds results of the type asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    suggestion: Option<String>,
}

fn kind(text: Option<&str>) -> Result<Option<machi_search::Kind>, ApiError> {
    use machi_search::Kind;
    Ok(match text.unwrap_or("") {
        "" => None,
        "procedure" => Some(Kind::Procedure),
        "faq" => Some(Kind::Faq),
        "notice" => Some(Kind::Notice),
        "dataset" => Some(Kind::Dataset),
        other => {
            return Err(ApiError::invalid_field(
                "/type",
                Localized::new(
                    format!("type は procedure・faq・notice・dataset のいずれかです（{other}）"),
                    format!("type is procedure, faq, notice or dataset, not '{other}'"),
                ),
            ))
        }
    })
}

/// Search everything a resident looks for.
#[utoipa::path(get, path = "/api/v1/search", tag = "procedures", params(SearchParams),
    responses((status = 200, body = SearchResults), (status = 400, body = crate::kit::Problem, content_type = "application/problem+json"), (status = 422, body = crate::kit::Problem, content_type = "application/problem+json")))]
pub(crate) async fn search(
    State(state): State<AppState>,
    City(city): City,
    SiteUrl(base): SiteUrl,
    params: Result<Query<SearchParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<SearchResults>, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let q = search_words("/q", params.q.as_deref())?;
    let limit = params.limit.unwrap_or(10);
    if !(1..=50).contains(&limit) {
        return Err(ApiError::invalid_field(
            "/limit",
            Localized::new("limit は 1〜50 です", "limit must be 1 to 50"),
        ));
    }
    let kind = kind(params.r#type.as_deref())?;
    let index = state.searches.city(&state.store, &city.id).await?;
    let items = index
        .search(&q, kind, limit as usize)
        .into_iter()
        .filter_map(|hit| {
            let (url, title, plain_title) = match hit.kind {
                machi_search::Kind::Procedure => {
                    let p = &index.procedures.get(&hit.id)?.definition;
                    let plain = p.plain_title.as_ref().map(Into::into);
                    (
                        format!("{base}/procedures/{}", p.id),
                        (&p.name).into(),
                        plain,
                    )
                }
                machi_search::Kind::Faq => {
                    let entry = index.faq_entry(&hit.id)?;
                    (
                        format!("{base}/faq#{}", entry.id),
                        (&entry.question).into(),
                        None,
                    )
                }
                machi_search::Kind::Notice => {
                    let notice = index.notice(&hit.id)?;
                    (
                        format!("{base}/notices/{}", notice.id),
                        (&notice.draft.title).into(),
                        None,
                    )
                }
                machi_search::Kind::Dataset => {
                    let dataset = &index.datasets.get(&hit.id)?.input;
                    (
                        format!("{base}/opendata/datasets/{}", dataset.name),
                        Text {
                            ja: dataset.title_ja.clone(),
                            en: dataset.title_en.clone(),
                        },
                        None,
                    )
                }
            };
            Some(SearchResult {
                r#type: hit.kind.as_str().to_string(),
                url,
                id: hit.id,
                title,
                plain_title,
                score: hit.score,
                matched: hit.matched,
            })
        })
        .collect();
    Ok(Json(SearchResults {
        items,
        suggestion: index.suggest(&q, kind),
    }))
}
