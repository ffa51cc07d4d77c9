//! `GET /api/v1/procedures` and `GET /api/v1/procedures/{id}`.

use axum::extract::{Path, Query, State};
use axum::Json;
use machi_core::procedures::{LifeEvent, Localized};
use machi_store::ProcedureQuery;
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

use super::types::{FormDocument, ProcedureDetail, ProcedurePage, ProcedureSummary};
use crate::kit::{ApiError, City};
use crate::AppState;

/// Catalog search parameters, shared by the API and the catalog page.
#[derive(Debug, Clone, Default, Deserialize, Serialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct CatalogParams {
    /// Words to find, as a resident types them (「住民票がほしい」「子どもが生まれた」): results are
    /// ranked, and each says which words it matched; kana- and width-insensitive.
    /// No control characters (a NUL byte anywhere in an address is refused with 400).
    #[param(pattern = "^[^\\x00-\\x1f\\x7f]*$")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    /// A life event: birth, childcare, moving, marriage, death, nursing_care, disaster, pets,
    /// certificates, tax, health_insurance, waste.
    #[param(
        pattern = "^(birth|childcare|moving|marriage|death|nursing_care|disaster|pets|certificates|tax|health_insurance|waste)?$"
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub life_event: Option<String>,
    /// A department code.
    #[param(pattern = "^[^\\x00-\\x1f\\x7f]*$")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// `true` for procedures that can be done online now.
    #[param(value_type = Option<bool>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub online: Option<String>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    #[param(pattern = "^([0-9a-f]{2})*$")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

impl CatalogParams {
    pub(crate) fn to_query(&self) -> Result<ProcedureQuery, ApiError> {
        let life_event = match self.life_event.as_deref().filter(|s| !s.is_empty()) {
            None => None,
            Some(text) => Some(LifeEvent::parse(text).ok_or_else(|| {
                ApiError::invalid_field(
                    "/life_event",
                    Localized::new(
                        format!("ライフイベント「{text}」はありません"),
                        format!("unknown life event '{text}'"),
                    ),
                )
            })?),
        };
        let online_only = match self.online.as_deref().unwrap_or("") {
            "" | "false" | "0" => false,
            "true" | "1" | "on" => true,
            other => {
                return Err(ApiError::invalid_field(
                    "/online",
                    Localized::new(
                        format!("online は true か false です（{other}）"),
                        format!("online must be true or false, not '{other}'"),
                    ),
                ))
            }
        };
        let limit = self.limit.unwrap_or(50);
        if !(1..=200).contains(&limit) {
            return Err(ApiError::invalid_field(
                "/limit",
                Localized::new("limit は 1〜200 です", "limit must be 1 to 200"),
            ));
        }
        Ok(ProcedureQuery {
            q: crate::kit::without_control_chars("/q", self.q.as_deref())?.unwrap_or_default(),
            life_event,
            department: crate::kit::without_control_chars(
                "/department",
                self.department.as_deref(),
            )?
            .filter(|d| !d.is_empty()),
            online_only,
            limit,
            after: self
                .cursor
                .as_deref()
                .filter(|c| !c.is_empty())
                .map(decode_cursor)
                .transpose()?,
        })
    }
}

fn encode_cursor(kana: &str, id: &str) -> String {
    hex::encode(format!("{kana}\u{1f}{id}"))
}

fn decode_cursor(cursor: &str) -> Result<(String, String), ApiError> {
    let bad = || {
        ApiError::invalid_field(
            "/cursor",
            Localized::new("cursor が正しくありません", "cursor is not valid"),
        )
    };
    let bytes = hex::decode(cursor).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let (kana, id) = text.split_once('\u{1f}').ok_or_else(bad)?;
    Ok((kana.to_string(), id.to_string()))
}

/// Searches the catalog and returns one page with a cursor to the next: ranked by the city's
/// search (see `kit::search`) when there are words to find, by reading otherwise.
pub(crate) async fn search(
    state: &AppState,
    tenant: &str,
    params: &CatalogParams,
) -> Result<ProcedurePage, ApiError> {
    let words = params.q.as_deref().unwrap_or("").trim();
    if !words.is_empty() {
        return ranked(state, tenant, params).await;
    }
    let query = params.to_query()?;
    let records = state.store.search_procedures(tenant, &query).await?;
    let next_cursor = (records.len() as i64 == query.limit)
        .then(|| {
            records
                .last()
                .map(|r| encode_cursor(&r.definition.sort_key(), &r.definition.id))
        })
        .flatten();
    Ok(ProcedurePage {
        items: records.iter().map(ProcedureSummary::from).collect(),
        next_cursor,
    })
}

/// Most ranked results one query pages through.
const MAX_RANKED: usize = 200;

/// The ranked page: the best matches that pass the other filters, `limit` at a time (the
/// cursor of a ranked page is the number of results already given).
async fn ranked(
    state: &AppState,
    tenant: &str,
    params: &CatalogParams,
) -> Result<ProcedurePage, ApiError> {
    let offset = params
        .cursor
        .as_deref()
        .filter(|c| !c.is_empty())
        .map(ranked_offset)
        .transpose()?
        .unwrap_or(0);
    let query = CatalogParams {
        cursor: None,
        ..params.clone()
    }
    .to_query()?;
    let index = state.searches.city(&state.store, tenant).await?;
    let kept: Vec<(&machi_store::ProcedureRecord, Vec<String>)> = index
        .search(&query.q, Some(machi_search::Kind::Procedure), MAX_RANKED)
        .into_iter()
        .filter_map(|hit| {
            index
                .procedures
                .get(&hit.id)
                .map(|r| (r.as_ref(), hit.matched))
        })
        .filter(|(r, _)| {
            let p = &r.definition;
            query.life_event.is_none_or(|e| p.life_events.contains(&e))
                && query
                    .department
                    .as_ref()
                    .is_none_or(|d| &p.department.code == d)
                && (!query.online_only || r.accepts_online())
        })
        .collect();
    let limit = query.limit as usize;
    let page = kept.iter().skip(offset).take(limit);
    Ok(ProcedurePage {
        items: page
            .map(|(record, matched)| ProcedureSummary {
                matched: matched.clone(),
                ..ProcedureSummary::from(*record)
            })
            .collect(),
        next_cursor: (offset + limit < kept.len())
            .then(|| hex::encode(format!("#{}", offset + limit))),
    })
}

/// The number of results a ranked page's cursor says were given.
fn ranked_offset(cursor: &str) -> Result<usize, ApiError> {
    hex::decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.strip_prefix('#').and_then(|n| n.parse().ok()))
        .filter(|n| *n <= MAX_RANKED)
        .ok_or_else(|| {
            ApiError::invalid_field(
                "/cursor",
                Localized::new("cursor が正しくありません", "cursor is not valid"),
            )
        })
}

/// Search the procedure catalog.
#[utoipa::path(get, path = "/api/v1/procedures", tag = "procedures", params(CatalogParams),
    responses((status = 200, body = ProcedurePage), (status = 400, body = crate::kit::Problem, content_type = "application/problem+json"), (status = 422, body = crate::kit::Problem, content_type = "application/problem+json")))]
pub(crate) async fn list_procedures(
    State(state): State<AppState>,
    City(city): City,
    params: Result<Query<CatalogParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<ProcedurePage>, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    Ok(Json(search(&state, &city.id, &params).await?))
}

/// One procedure with its current form (JSON Schema and UI hints).
#[utoipa::path(get, path = "/api/v1/procedures/{id}", tag = "procedures",
    params(("id" = String, Path, description = "Procedure id", pattern = "^[^\\x00-\\x1f\\x7f/]+$")),
    responses((status = 200, body = ProcedureDetail), (status = 404, body = crate::kit::Problem, content_type = "application/problem+json")))]
pub(crate) async fn show_procedure(
    State(state): State<AppState>,
    City(city): City,
    Path(id): Path<String>,
) -> Result<Json<ProcedureDetail>, ApiError> {
    let record = state
        .store
        .procedure(&city.id, &id)
        .await?
        .filter(|r| r.published)
        .ok_or_else(|| ApiError::not_found("no such procedure"))?;
    let form = match record.form_version {
        Some(version) => state.store.form(&city.id, &id, version).await?,
        None => None,
    };
    let p = &record.definition;
    Ok(Json(ProcedureDetail {
        summary: ProcedureSummary::from(&record),
        legal_basis: p.legal_basis.clone(),
        documents: p.documents.iter().map(Into::into).collect(),
        keywords: p.keywords.clone(),
        yearly_volume: p.yearly_volume,
        online_share: p.online_share,
        form: form.map(|f| FormDocument {
            version: f.version,
            schema: f.schema,
            ui: serde_json::to_value(&f.ui).unwrap_or_default(),
            attachments: serde_json::to_value(&f.attachments).unwrap_or_default(),
        }),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let cursor = encode_cursor("ジドウ", "jidou-teate");
        assert_eq!(
            decode_cursor(&cursor).unwrap(),
            ("ジドウ".to_string(), "jidou-teate".to_string())
        );
        assert!(decode_cursor("zz").is_err());
        assert!(decode_cursor("abc").is_err());
    }

    #[test]
    fn unknown_life_events_and_limits_are_field_errors() {
        let params = CatalogParams {
            life_event: Some("party".into()),
            ..Default::default()
        };
        assert_eq!(
            params.to_query().unwrap_err().problem.errors[0].pointer,
            "/life_event"
        );
        let params = CatalogParams {
            limit: Some(0),
            ..Default::default()
        };
        assert_eq!(
            params.to_query().unwrap_err().problem.errors[0].pointer,
            "/limit"
        );
        // A control character is refused where the schema's pattern says so, not stripped.
        let params = CatalogParams {
            q: Some("住民\u{f}票".into()),
            ..Default::default()
        };
        assert_eq!(
            params.to_query().unwrap_err().problem.errors[0].pointer,
            "/q"
        );
    }
}
