//! 抽選 for residents: a facility's lottery page (the rules, the round taking applications with
//! its committed seed hash, the apply form working without JavaScript), each round's result
//! page, and `GET /api/v1/services/{id}/lotteries/{month}` — what `machi lottery verify`
//! re-runs.
//!
//! Rounds whose applications closed are drawn when the worker looks (every minute) or when
//! someone opens a lottery page, whichever is first: the draw happens once either way.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use chrono::{Datelike, NaiveDate, NaiveDateTime};
use machi_core::reservations::lottery::{self, Published, Wish};
use machi_core::reservations::{LotteryRules, Service, SlotQuery};
use machi_store::reservations::lottery::Round;
use machi_store::{StoreError, Tenant};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::booking::links;
use super::labels::when_label;
use super::{now_jst, rfc3339};
use crate::kit::{
    check_origin, city_name, no_store, render, see_other, ApiError, City, PageError, SiteUrl, Ui,
};
use crate::AppState;

/// A month as residents read it: 2027年1月, January 2027.
fn month_label(ui: Ui, month: NaiveDate) -> String {
    if ui.en {
        month.format("%B %Y").to_string()
    } else {
        format!("{}年{}月", month.year(), month.month())
    }
}

fn period_label(ui: Ui, rules: &LotteryRules, month: NaiveDate) -> String {
    let (opens, closes) = rules.period(month);
    let last = closes.date() - chrono::Duration::days(1);
    if ui.en {
        format!("{} to {}", opens.format("%-d %b"), last.format("%-d %b %Y"))
    } else {
        format!(
            "{}月{}日から{}月{}日まで",
            opens.month(),
            opens.day(),
            last.month(),
            last.day()
        )
    }
}

/// The service's lottery rules, or a not-found for a service without one.
fn rules_of(service: &Service) -> Result<&LotteryRules, StoreError> {
    service.lottery.as_ref().ok_or_else(|| {
        StoreError::not_found(
            "この予約には抽選がありません",
            format!("'{}' has no lottery", service.id),
        )
    })
}

/// Draws what is due, so that a page opened after the close shows the result.
async fn draw_due(state: &AppState, city: &Tenant, base: &str) -> Result<(), StoreError> {
    state
        .store
        .draw_due_lotteries(&city.id, now_jst(), &links(city, base))
        .await?;
    Ok(())
}

struct RoundLine {
    href: String,
    label: String,
    applications: i64,
    drawn: bool,
}

#[derive(Template)]
#[template(path = "reservation_lottery.html")]
struct LotteryPage {
    ui: Ui,
    city: String,
    back: String,
    service_id: String,
    service_name: String,
    rules: Vec<(String, String)>,
    /// The round taking applications now: (month label, period, seed hash, applications).
    applying: Option<(String, String, String, i64)>,
    /// When no round takes applications: the next one (month label, period, seed hash).
    next: (String, String, String),
    rounds: Vec<RoundLine>,
    /// (value, label) of every slot of the month applied for.
    options: Vec<(String, String)>,
    form: ApplyForm,
    wish_fields: Vec<(usize, String)>,
    errors: Vec<String>,
    applied: String,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct ApplyForm {
    #[serde(default)]
    registration: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    wish1: String,
    #[serde(default)]
    wish2: String,
    #[serde(default)]
    wish3: String,
    #[serde(default)]
    wish4: String,
    #[serde(default)]
    wish5: String,
    /// The application number just made (after the redirect).
    #[serde(default)]
    applied: String,
}

impl ApplyForm {
    fn wishes(&self) -> [&str; 5] {
        [
            &self.wish1,
            &self.wish2,
            &self.wish3,
            &self.wish4,
            &self.wish5,
        ]
    }
}

fn rule_facts(ui: Ui, service: &Service, rules: &LotteryRules) -> Vec<(String, String)> {
    let yes_no = |yes: bool, ja_yes: &str, en_yes: &str, ja_no: &str, en_no: &str| {
        if yes {
            ui.t(ja_yes, en_yes).to_string()
        } else {
            ui.t(ja_no, en_no).to_string()
        }
    };
    let until = if rules.apply_until_day >= 28 {
        ui.t("月末", "the month's end").to_string()
    } else {
        format!("{}{}", rules.apply_until_day, ui.t("日", ""))
    };
    vec![
        (
            ui.t("申込期間", "Applications").to_string(),
            if ui.en {
                format!(
                    "for next month's slots, from day {} to {until} of this month",
                    rules.apply_from_day
                )
            } else {
                format!("翌月分を、毎月{}日から{until}まで", rules.apply_from_day)
            },
        ),
        (
            ui.t("希望", "Wishes").to_string(),
            format!(
                "{}{}",
                rules.wishes,
                ui.t("つまで（順位をつけて）", " at most, ranked")
            ),
        ),
        (
            ui.t("当選", "Wins").to_string(),
            yes_no(
                rules.one_win,
                "1件の申込で1枠まで",
                "one slot per application",
                "希望ごとに当選できます",
                "each wish may win",
            ),
        ),
        (
            ui.t("本予約", "Confirming").to_string(),
            format!(
                "{}{}",
                yes_no(
                    rules.confirm_at_counter,
                    "窓口で（使用料のお支払い）",
                    "at the counter, paying the fee,",
                    "ネットで",
                    "online",
                ),
                if ui.en {
                    format!(" within {} days of the draw", rules.confirm_days)
                } else {
                    format!("、抽選から{}日以内", rules.confirm_days)
                }
            ),
        ),
        (
            ui.t("申し込める方", "Who may apply").to_string(),
            super::labels::eligibility_label(ui, service.eligibility).to_string(),
        ),
    ]
}

/// Every slot of `month` as a choice: `resource|YYYY-MM-DDTHH:MM` and its label.
async fn month_options(
    state: &AppState,
    city: &Tenant,
    ui: Ui,
    service: &Service,
    month: NaiveDate,
) -> Result<Vec<(String, String)>, StoreError> {
    let calendar = state.store.calendar(&city.id).await?;
    let query = SlotQuery {
        service,
        calendar: &calendar,
        now: month.and_time(chrono::NaiveTime::MIN),
    };
    let last =
        lottery::first_of_month(month + chrono::Duration::days(32)) - chrono::Duration::days(1);
    Ok(query
        .service_slots(month, last)
        .into_iter()
        .map(|slot| {
            let place = service
                .resource(&slot.resource)
                .map(|r| ui.l(&r.name).to_string())
                .unwrap_or_default();
            (
                format!(
                    "{}|{}",
                    slot.resource,
                    slot.starts().format("%Y-%m-%dT%H:%M")
                ),
                format!("{} {place}", when_label(ui, slot.starts(), service)),
            )
        })
        .collect())
}

#[allow(clippy::too_many_arguments)]
async fn lottery_page(
    state: &AppState,
    city: &Tenant,
    ui: Ui,
    service: &Service,
    form: ApplyForm,
    errors: Vec<String>,
) -> Result<LotteryPage, StoreError> {
    let rules = rules_of(service)?;
    let now = now_jst();
    let next_month = rules.next_month_to_apply(now);
    // Made (its seed committed) before its applications open.
    let next_round = state
        .store
        .lottery_round(&city.id, service, next_month)
        .await?;
    let applying = rules.month_applying(now);
    let options = match applying {
        Some(month) => month_options(state, city, ui, service, month).await?,
        None => Vec::new(),
    };
    let rounds = state
        .store
        .lottery_rounds(&city.id, &service.id)
        .await?
        .into_iter()
        .filter_map(|round| {
            let month = lottery::parse_month(&round.month)?;
            Some(RoundLine {
                href: format!("/reservations/{}/lottery/{}", service.id, round.month),
                label: month_label(ui, month),
                applications: round.applications,
                drawn: round.drawn_at.is_some(),
            })
        })
        .collect();
    let wish_fields = (1..=rules.wishes as usize)
        .map(|n| (n, form.wishes()[n - 1].to_string()))
        .collect();
    Ok(LotteryPage {
        ui,
        city: city_name(ui, city),
        back: format!("/reservations/{}/lottery", service.id),
        service_id: service.id.clone(),
        service_name: ui.l(&service.name).to_string(),
        rules: rule_facts(ui, service, rules),
        applying: applying.map(|month| {
            (
                month_label(ui, month),
                period_label(ui, rules, month),
                next_round.seed_sha256.clone(),
                next_round.applications,
            )
        }),
        next: (
            month_label(ui, next_month),
            period_label(ui, rules, next_month),
            next_round.seed_sha256.clone(),
        ),
        rounds,
        options,
        applied: form.applied.clone(),
        form,
        wish_fields,
        errors,
    })
}

/// `GET /reservations/{service}/lottery`
pub(super) async fn page(
    State(state): State<AppState>,
    City(city): City,
    SiteUrl(base): SiteUrl,
    ui: Ui,
    Path(id): Path<String>,
    Query(form): Query<ApplyForm>,
) -> Result<Response, PageError> {
    let service = super::service_or_404(&state, &city.id, &id).await?;
    draw_due(&state, &city, &base).await?;
    let form = ApplyForm {
        applied: form.applied,
        ..ApplyForm::default()
    };
    Ok(no_store(render(
        &lottery_page(&state, &city, ui, &service, form, Vec::new()).await?,
    )))
}

/// The wishes as the form gives them (`resource|start`), blanks left out.
fn parsed_wishes(form: &ApplyForm) -> Result<Vec<Wish>, String> {
    form.wishes()
        .iter()
        .filter(|w| !w.trim().is_empty())
        .map(|w| {
            let (resource, start) = w.split_once('|').ok_or_else(|| w.to_string())?;
            let start = NaiveDateTime::parse_from_str(start, "%Y-%m-%dT%H:%M")
                .map_err(|_| w.to_string())?;
            Ok(Wish {
                resource: resource.to_string(),
                start,
            })
        })
        .collect()
}

/// `POST /reservations/{service}/lottery` — applies (or changes the wishes, in the period).
pub(super) async fn apply(
    State(state): State<AppState>,
    City(city): City,
    SiteUrl(base): SiteUrl,
    ui: Ui,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<ApplyForm>,
) -> Result<Response, PageError> {
    check_origin(&headers)?;
    let service = super::service_or_404(&state, &city.id, &id).await?;
    let outcome = try_apply(&state, &city, &base, &service, &form).await;
    match outcome {
        Ok(number) => Ok(see_other(&format!(
            "/reservations/{}/lottery?applied={number}",
            service.id
        ))),
        Err(why) => {
            let page = lottery_page(&state, &city, ui, &service, form, vec![why]).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, no_store(render(&page))).into_response())
        }
    }
}

/// The application's number, or what the resident must put right.
async fn try_apply(
    state: &AppState,
    city: &Tenant,
    base: &str,
    service: &Service,
    form: &ApplyForm,
) -> Result<String, String> {
    let ui_error = |e: StoreError| match e {
        StoreError::Conflict(why) | StoreError::NotFound(why) => format!("{} / {}", why.ja, why.en),
        other => other.to_string(),
    };
    let registration = state
        .store
        .registration_with_code(&city.id, &form.registration, &form.code)
        .await
        .map_err(ui_error)?
        .ok_or_else(|| {
            "登録番号か利用者コードが違います（利用者登録の案内に書いてあります） / \
             the registration number or code is wrong"
                .to_string()
        })?;
    let wishes = parsed_wishes(form)
        .map_err(|w| format!("希望「{w}」が読めません / wish '{w}' is not a slot"))?;
    let (application, _) = state
        .store
        .apply_for_lottery(
            &city.id,
            service,
            &registration,
            &wishes,
            now_jst(),
            &links(city, base),
        )
        .await
        .map_err(ui_error)?;
    Ok(application.number)
}

#[derive(Template)]
#[template(path = "reservation_lottery_round.html")]
struct RoundPage {
    ui: Ui,
    city: String,
    back: String,
    service_id: String,
    service_name: String,
    month: String,
    month_label: String,
    closes: String,
    seed_sha256: String,
    seed: Option<String>,
    applications: usize,
    /// (application number, when, where).
    wins: Vec<(String, String, String)>,
    drawn: bool,
}

/// The round of `month`, however old, if there is one (read only: a round is made for the
/// next month to apply for, not for any month asked).
async fn round_of(
    state: &AppState,
    city: &Tenant,
    service: &Service,
    month: &str,
) -> Result<(Round, Option<Published>), StoreError> {
    let round = state
        .store
        .find_lottery_round(&city.id, &service.id, month)
        .await?
        .ok_or_else(|| {
            StoreError::not_found(
                format!("{month} の抽選はありません"),
                format!("no lottery round for {month}"),
            )
        })?;
    let published = state
        .store
        .published_lottery(&city.id, &service.id, month)
        .await?;
    Ok((round, published))
}

/// `GET /reservations/{service}/lottery/{month}`
pub(super) async fn round(
    State(state): State<AppState>,
    City(city): City,
    SiteUrl(base): SiteUrl,
    ui: Ui,
    Path((id, month)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let service = super::service_or_404(&state, &city.id, &id).await?;
    rules_of(&service)?;
    draw_due(&state, &city, &base).await?;
    let (round, published) = round_of(&state, &city, &service, &month).await?;
    let first = lottery::parse_month(&round.month).unwrap_or_default();
    let place = |id: &str| {
        service
            .resource(id)
            .map(|r| ui.l(&r.name).to_string())
            .unwrap_or_default()
    };
    let mut wins: Vec<(String, String, String)> = published
        .as_ref()
        .map(|p| {
            p.wins
                .iter()
                .map(|w| {
                    (
                        w.application.clone(),
                        when_label(ui, w.start, &service),
                        place(&w.resource),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    wins.sort();
    Ok(render(&RoundPage {
        ui,
        city: city_name(ui, &city),
        back: format!("/reservations/{}/lottery/{}", service.id, round.month),
        service_id: service.id.clone(),
        service_name: ui.l(&service.name).to_string(),
        month_label: month_label(ui, first),
        closes: round.closes_at.format("%Y-%m-%d %H:%M").to_string(),
        seed_sha256: round.seed_sha256.clone(),
        seed: published.as_ref().map(|p| p.seed.clone()),
        applications: published
            .as_ref()
            .map_or(round.applications as usize, |p| p.applications.len()),
        wins,
        drawn: round.drawn_at.is_some(),
        month: round.month,
    }))
}

/// A round of a facility's lottery. Before the draw only the seed's hash is known; after it,
/// `published` holds the seed, the applications with their wishes (no personal data) and the
/// wins: `machi lottery verify` re-runs the draw from it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LotteryView {
    service: String,
    month: String,
    /// When applications close (the draw follows).
    applications_close: String,
    /// SHA-256 of the seed, published before applications close.
    seed_sha256: String,
    applications: i64,
    drawn: bool,
    #[schema(value_type = Option<Object>)]
    published: Option<Published>,
}

/// A lottery round: its committed seed hash, and once drawn everything needed to re-run it.
#[utoipa::path(get, path = "/api/v1/services/{id}/lotteries/{month}", tag = "reservations",
    params(("id" = String, Path, description = "Service id"),
           ("month" = String, Path, description = "The slots' month, YYYY-MM", pattern = "^\\d{4}-(0[1-9]|1[0-2])$")),
    responses((status = 200, body = LotteryView),
              (status = 400, body = crate::kit::Problem, content_type = "application/problem+json", description = "Malformed request"),
              (status = 404, body = crate::kit::Problem, content_type = "application/problem+json", description = "No such service or round")))]
pub(crate) async fn api_round(
    State(state): State<AppState>,
    City(city): City,
    SiteUrl(base): SiteUrl,
    Path((id, month)): Path<(String, String)>,
) -> Result<Json<LotteryView>, ApiError> {
    if lottery::parse_month(&month).is_none() {
        return Err(ApiError::bad_request("month must be YYYY-MM"));
    }
    let service = super::service_or_404(&state, &city.id, &id).await?;
    rules_of(&service)?;
    draw_due(&state, &city, &base).await?;
    let (round, published) = round_of(&state, &city, &service, &month).await?;
    Ok(Json(LotteryView {
        service: service.id.clone(),
        month: round.month,
        applications_close: rfc3339(round.closes_at),
        seed_sha256: round.seed_sha256,
        applications: round.applications,
        drawn: round.drawn_at.is_some(),
        published,
    }))
}
