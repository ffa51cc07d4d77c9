//! `GET /api/v1/assets`: the 情報資産台帳 for staff. It answers only to a member of staff, by an
//! API token (`Authorization: Bearer …`) or the console's session cookie: 401 without one, 403 for a role that has no business with
//! the ledger. Departments see their own systems; the CIO, the DX team and the auditor see all.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use chrono::Duration;
use machi_core::assets::{Asset, Hosting};
use machi_core::procedures::Localized;
use machi_store::assets::AssetFilter;
use machi_store::users::StaffUser;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::kit::{ApiError, City};
use crate::AppState;

/// Filters of the asset list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AssetParams {
    /// A department code (ignored for department staff, who see their own).
    #[param(pattern = "^[^\\x00-\\x1f\\x7f]*$")]
    pub department: Option<String>,
    /// `on_premises`, `cloud` or `gov_cloud`.
    #[param(pattern = "^(on_premises|cloud|gov_cloud)?$")]
    pub hosting: Option<String>,
    /// `true` for the 20 標準化対象業務 only.
    #[param(value_type = Option<bool>)]
    pub standard: Option<String>,
    /// Only systems whose contract end or end of life is within this many days from today (JST).
    #[param(minimum = 0, maximum = 3650)]
    pub within_days: Option<i64>,
}

/// A plan measure a system serves.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssetMeasure {
    pub plan_id: String,
    pub node_id: String,
}

/// One system of the 情報資産台帳.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssetItem {
    /// 管理番号.
    pub id: String,
    pub name: String,
    /// 所管課 code.
    pub department: String,
    pub purpose: String,
    pub vendor: String,
    /// ISO 8601 date.
    pub contract_start: Option<String>,
    pub contract_end: Option<String>,
    /// Yen per year.
    pub yearly_cost: Option<i64>,
    /// `on_premises`, `cloud` or `gov_cloud` (ガバメントクラウド).
    pub hosting: String,
    /// 機密性 1–3.
    pub confidentiality: u8,
    /// 完全性 1–2.
    pub integrity: u8,
    /// 可用性 1–2.
    pub availability: u8,
    pub personal_data: bool,
    /// Code of the 標準化対象業務, if the system is one of the 20.
    pub standard_business: Option<String>,
    /// `not_started`, `planning`, `migrating`, `migrated` or `not_applicable`.
    pub migration: String,
    pub end_of_life: Option<String>,
    pub measures: Vec<AssetMeasure>,
}

impl From<Asset> for AssetItem {
    fn from(a: Asset) -> Self {
        let day = |d: Option<chrono::NaiveDate>| d.map(|d| d.to_string());
        Self {
            id: a.id,
            name: a.name,
            department: a.department,
            purpose: a.purpose,
            vendor: a.vendor,
            contract_start: day(a.contract_start),
            contract_end: day(a.contract_end),
            yearly_cost: a.yearly_cost,
            hosting: a.hosting.as_str().into(),
            confidentiality: a.confidentiality,
            integrity: a.integrity,
            availability: a.availability,
            personal_data: a.personal_data,
            standard_business: a.standard_business.map(|b| b.code().into()),
            migration: a.migration.as_str().into(),
            end_of_life: day(a.end_of_life),
            measures: a
                .measures
                .into_iter()
                .map(|m| AssetMeasure {
                    plan_id: m.plan_id,
                    node_id: m.node_id,
                })
                .collect(),
        }
    }
}

/// The systems this person may see.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssetList {
    pub assets: Vec<AssetItem>,
}

/// The member of staff a request is from: an API token (`Authorization: Bearer …`, made with
/// `machi user token`) or the console's session cookie; 401 otherwise.
async fn staff(state: &AppState, city: &str, headers: &HeaderMap) -> Result<StaffUser, ApiError> {
    let signed_out = |detail: &str| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "signed-out",
            "Sign in as staff",
            detail,
        )
    };
    if let Some(token) = crate::kit::bearer_token(headers) {
        return state
            .store
            .api_token_user(city, token)
            .await?
            .ok_or_else(|| signed_out("the API token is not valid (revoked, or not this city's)"));
    }
    let no_credentials = || {
        signed_out(
            "the asset ledger is for staff: send an API token as `Authorization: Bearer TOKEN`",
        )
    };
    let token = crate::kit::cookie(headers, crate::kit::staff::SESSION_COOKIE)
        .ok_or_else(no_credentials)?;
    Ok(state
        .store
        .session(city, token)
        .await?
        .ok_or_else(no_credentials)?
        .user)
}

impl AssetParams {
    fn filter(&self, own: Option<String>) -> Result<AssetFilter, ApiError> {
        let hosting = match self.hosting.as_deref().filter(|h| !h.is_empty()) {
            None => None,
            Some(text) => Some(Hosting::parse(text).ok_or_else(|| {
                ApiError::invalid_field(
                    "/hosting",
                    Localized::new(
                        format!("稼働環境「{text}」はありません（on_premises, cloud, gov_cloud）"),
                        format!("unknown hosting '{text}': use on_premises, cloud or gov_cloud"),
                    ),
                )
            })?),
        };
        let today = machi_core::wareki::today_jst();
        let deadline = match self.within_days {
            None => None,
            Some(days) if (0..=3650).contains(&days) => Some((today, today + Duration::days(days))),
            Some(_) => {
                return Err(ApiError::invalid_field(
                    "/within_days",
                    Localized::new("日数は0から3650です", "within_days is 0 to 3650"),
                ))
            }
        };
        let standard_only = match self.standard.as_deref() {
            None | Some("") | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(ApiError::invalid_field(
                    "/standard",
                    Localized::new(
                        format!("standard は true か false です（「{other}」）"),
                        format!("standard is true or false, not '{other}'"),
                    ),
                ))
            }
        };
        let asked = crate::kit::without_control_chars("/department", self.department.as_deref())?;
        Ok(AssetFilter {
            department: own.or_else(|| asked.filter(|d| !d.is_empty())),
            hosting,
            standard_only,
            deadline_between: deadline,
        })
    }
}

/// The IT asset ledger (情報資産台帳), for staff: a department sees its own systems.
#[utoipa::path(get, path = "/api/v1/assets", tag = "assets", params(AssetParams),
    security(("api_token" = []), ("staff_session" = [])),
    responses((status = 200, body = AssetList),
        (status = 400, body = crate::kit::Problem, content_type = "application/problem+json", description = "A query parameter that cannot be read"),
        (status = 401, body = crate::kit::Problem, content_type = "application/problem+json", description = "No valid API token or staff session"),
        (status = 403, body = crate::kit::Problem, content_type = "application/problem+json", description = "The role may not read the ledger"),
        (status = 422, body = crate::kit::Problem, content_type = "application/problem+json")))]
pub(crate) async fn list_assets(
    State(state): State<AppState>,
    City(city): City,
    headers: HeaderMap,
    params: Result<Query<AssetParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<AssetList>, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let user = staff(&state, &city.id, &headers).await?;
    if !user.role.reads_assets() {
        return Err(ApiError::forbidden(
            "your role does not read the asset ledger",
        ));
    }
    let own = if user.role.reads_all_assets() {
        None
    } else {
        Some(
            user.department_code
                .ok_or_else(|| ApiError::forbidden("you have no department"))?,
        )
    };
    let assets = state.store.assets(&city.id, &params.filter(own)?).await?;
    Ok(Json(AssetList {
        assets: assets.into_iter().map(Into::into).collect(),
    }))
}
