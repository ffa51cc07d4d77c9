//! お知らせ: staff write notices (Markdown, categories, areas, urgency, publish and expiry
//! times); residents read them on the site, filtered by category and area, or in a standard
//! Atom feed (`/feeds/notices.atom?category=&area=`).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use chrono::{DateTime, FixedOffset, NaiveDateTime, Utc};
use machi_core::notices::{category_label, NoticeDraft, Urgency, CATEGORIES};
use machi_core::procedures::Localized;
use machi_store::notices::{Notice, NoticeSave};
use serde::Deserialize;

use crate::i18n::Ui;
use crate::pages::{city_name, jst, render, PageError};
use crate::payments::base_url;
use crate::problem::ApiError;
use crate::staff::{see_other, Chrome, Signed};
use crate::tenant::City;
use crate::AppState;

/// Notices on one page or in one feed.
const LIST_SIZE: i64 = 50;

pub(crate) fn public_routes() -> Router<AppState> {
    Router::new()
        .route("/notices", get(list))
        .route("/notices/{id}", get(show))
        .route("/feeds/notices.atom", get(feed))
}

/// Markdown to HTML that is safe to show: pulldown-cmark renders, ammonia keeps only harmless
/// tags and attributes (no scripts, no event handlers, links get rel="noopener noreferrer").
pub(crate) fn render_markdown(markdown: &str) -> String {
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, pulldown_cmark::Parser::new(markdown));
    ammonia::clean(&html)
}

#[derive(Deserialize, Default)]
pub(crate) struct Filter {
    #[serde(default)]
    category: String,
    #[serde(default)]
    area: String,
}

impl Filter {
    fn category(&self) -> Option<&str> {
        (!self.category.is_empty()).then_some(self.category.as_str())
    }

    fn area(&self) -> Option<&str> {
        let area = self.area.trim();
        (!area.is_empty()).then_some(area)
    }
}

struct NoticeRow {
    id: String,
    title: String,
    urgency: String,
    emergency: bool,
    published: String,
    categories: String,
}

fn row(ui: Ui, notice: &Notice) -> NoticeRow {
    NoticeRow {
        id: notice.id.clone(),
        title: ui.l(&notice.draft.title).to_string(),
        urgency: ui.l(&notice.draft.urgency.label()).to_string(),
        emergency: notice.draft.urgency == Urgency::Emergency,
        published: jst(&notice.publish_at),
        categories: labels(ui, &notice.draft.categories),
    }
}

fn labels(ui: Ui, categories: &[String]) -> String {
    categories
        .iter()
        .filter_map(|c| category_label(c))
        .map(|l| ui.l(&l).to_string())
        .collect::<Vec<_>>()
        .join(ui.t("、", ", "))
}

#[derive(Template)]
#[template(path = "notices.html")]
struct ListPage {
    ui: Ui,
    city: String,
    back: String,
    categories: Vec<(String, String)>,
    category: String,
    area: String,
    notices: Vec<NoticeRow>,
    feed: String,
}

async fn list(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    Query(filter): Query<Filter>,
) -> Result<Response, PageError> {
    let notices = state
        .store
        .published_notices(&city.id, filter.category(), filter.area(), LIST_SIZE)
        .await
        .map_err(|e| PageError::new(ui, &city, e))?;
    let feed_query = serde_urlencoded::to_string([
        ("category", filter.category.as_str()),
        ("area", filter.area.trim()),
    ])
    .unwrap_or_default();
    Ok(render(&ListPage {
        ui,
        city: city_name(ui, &city),
        back: "/notices".into(),
        categories: CATEGORIES
            .iter()
            .map(|(id, ja, en)| (id.to_string(), ui.t(ja, en).to_string()))
            .collect(),
        category: filter.category.clone(),
        area: filter.area.trim().to_string(),
        notices: notices.iter().map(|n| row(ui, n)).collect(),
        feed: format!("/feeds/notices.atom?{feed_query}"),
    }))
}

#[derive(Template)]
#[template(path = "notice.html")]
struct NoticePage {
    ui: Ui,
    city: String,
    back: String,
    notice: NoticeRow,
    body_html: String,
    areas: String,
}

/// A notice residents may see now (published, not expired).
async fn visible(state: &AppState, tenant: &str, id: &str) -> Result<Option<Notice>, ApiError> {
    let now = machi_store::now_text();
    Ok(state
        .store
        .notice(tenant, id)
        .await?
        .filter(|n| n.publish_at <= now && n.expires_at.as_ref().is_none_or(|e| *e > now)))
}

async fn show(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let notice = visible(&state, &city.id, &id)
        .await
        .map_err(|e| PageError::new(ui, &city, e))?
        .ok_or_else(|| {
            PageError::new(
                ui,
                &city,
                ApiError::not_found(ui.t("このお知らせはありません。", "There is no such notice.")),
            )
        })?;
    Ok(render(&NoticePage {
        ui,
        city: city_name(ui, &city),
        back: format!("/notices/{id}"),
        body_html: render_markdown(ui.l(&notice.draft.body)),
        areas: notice.draft.areas.join(ui.t("、", ", ")),
        notice: row(ui, &notice),
    }))
}

fn rfc3339(stored: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(stored).unwrap_or_else(|_| Utc::now().fixed_offset())
}

/// The Atom feed (RFC 4287) of what `/notices` shows for the same filter.
async fn feed(
    State(state): State<AppState>,
    City(city): City,
    headers: HeaderMap,
    Query(filter): Query<Filter>,
) -> Result<Response, ApiError> {
    let notices = state
        .store
        .published_notices(&city.id, filter.category(), filter.area(), LIST_SIZE)
        .await?;
    let base = base_url(&headers);
    let ui = Ui { en: false };
    let entries: Vec<atom_syndication::Entry> = notices
        .iter()
        .map(|n| {
            let link = format!("{base}/notices/{}", n.id);
            atom_syndication::EntryBuilder::default()
                .id(format!("urn:machi:{}:notice:{}", city.id, n.id))
                .title(n.draft.title.ja.clone())
                .updated(rfc3339(&n.updated_at))
                .published(Some(rfc3339(&n.publish_at)))
                .links(vec![atom_syndication::LinkBuilder::default()
                    .href(link)
                    .build()])
                .categories(
                    n.draft
                        .categories
                        .iter()
                        .map(|c| {
                            atom_syndication::CategoryBuilder::default()
                                .term(c.clone())
                                .label(category_label(c).map(|l| ui.l(&l).to_string()))
                                .build()
                        })
                        .collect::<Vec<_>>(),
                )
                .content(Some(
                    atom_syndication::ContentBuilder::default()
                        .content_type(Some("html".to_string()))
                        .value(Some(render_markdown(&n.draft.body.ja)))
                        .build(),
                ))
                .build()
        })
        .collect();
    let updated = notices
        .iter()
        .map(|n| rfc3339(&n.updated_at))
        .max()
        .unwrap_or_else(|| Utc::now().fixed_offset());
    let feed = atom_syndication::FeedBuilder::default()
        .id(format!("urn:machi:{}:notices", city.id))
        .title(format!("{} お知らせ", city.name_ja))
        .updated(updated)
        .lang(Some("ja".to_string()))
        .links(vec![atom_syndication::LinkBuilder::default()
            .href(format!("{base}/notices"))
            .build()])
        .entries(entries)
        .build();
    let mut response = feed.to_string().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/atom+xml; charset=utf-8"),
    );
    Ok(response)
}

// --- Staff: writing notices -------------------------------------------------------------

#[derive(Template)]
#[template(path = "staff_notices.html")]
struct StaffList {
    chrome: Chrome,
    notices: Vec<NoticeRow>,
}

#[derive(Template)]
#[template(path = "staff_notice_form.html")]
struct StaffForm {
    chrome: Chrome,
    action: String,
    title_ja: String,
    title_en: String,
    body_ja: String,
    body_en: String,
    categories: Vec<(String, String, bool)>,
    areas: String,
    urgencies: Vec<(String, String, bool)>,
    publish_at: String,
    expires_at: String,
    errors: Vec<(String, String)>,
}

fn require_writer(signed: &Signed) -> Result<Option<String>, PageError> {
    signed.require(signed.role().edits_procedures())?;
    if signed.role().manages_accounts() {
        Ok(None)
    } else {
        Ok(Some(signed.department()?.to_string()))
    }
}

pub(crate) async fn staff_list(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Response, PageError> {
    let department = require_writer(&signed)?;
    let notices = state
        .store
        .department_notices(&signed.city.id, department.as_deref())
        .await
        .map_err(|e| signed.error(e))?;
    Ok(render(&StaffList {
        chrome: signed.chrome("/staff/notices"),
        notices: notices.iter().map(|n| row(signed.ui, n)).collect(),
    }))
}

/// A stored time shown in JST for the form (`2026-12-01 09:00`).
fn form_time(stored: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(stored)
        .ok()
        .and_then(|t| FixedOffset::east_opt(9 * 3600).map(|jst| t.with_timezone(&jst)))
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

fn form_page(
    signed: &Signed,
    action: String,
    draft: &NoticeDraft,
    times: (String, String),
    errors: &[(&str, Localized)],
) -> Response {
    let ui = signed.ui;
    let page = StaffForm {
        chrome: signed.chrome("/staff/notices"),
        action,
        title_ja: draft.title.ja.clone(),
        title_en: draft.title.en.clone(),
        body_ja: draft.body.ja.clone(),
        body_en: draft.body.en.clone(),
        categories: CATEGORIES
            .iter()
            .map(|(id, ja, en)| {
                (
                    id.to_string(),
                    ui.t(ja, en).to_string(),
                    draft.categories.iter().any(|c| c == id),
                )
            })
            .collect(),
        areas: draft.areas.join("、"),
        urgencies: [Urgency::Normal, Urgency::Important, Urgency::Emergency]
            .iter()
            .map(|u| {
                (
                    u.as_str().to_string(),
                    ui.l(&u.label()).to_string(),
                    *u == draft.urgency,
                )
            })
            .collect(),
        publish_at: times.0,
        expires_at: times.1,
        errors: errors
            .iter()
            .map(|(field, message)| (format!("n-{field}"), ui.l(message).to_string()))
            .collect(),
    };
    let status = if errors.is_empty() {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    };
    (status, render(&page)).into_response()
}

fn empty_draft() -> NoticeDraft {
    NoticeDraft {
        title: Localized::default(),
        body: Localized::default(),
        categories: Vec::new(),
        areas: Vec::new(),
        urgency: Urgency::Normal,
    }
}

pub(crate) async fn staff_new(signed: Signed) -> Result<Response, PageError> {
    require_writer(&signed)?;
    Ok(form_page(
        &signed,
        "/staff/notices/new".into(),
        &empty_draft(),
        (String::new(), String::new()),
        &[],
    ))
}

pub(crate) async fn staff_edit(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let notice = editable(&state, &signed, &id).await?;
    let times = (
        form_time(&notice.publish_at),
        notice
            .expires_at
            .as_deref()
            .map(form_time)
            .unwrap_or_default(),
    );
    Ok(form_page(
        &signed,
        format!("/staff/notices/{id}"),
        &notice.draft,
        times,
        &[],
    ))
}

async fn editable(state: &AppState, signed: &Signed, id: &str) -> Result<Notice, PageError> {
    let department = require_writer(signed)?;
    let notice = state
        .store
        .notice(&signed.city.id, id)
        .await
        .map_err(|e| signed.error(e))?
        .ok_or_else(|| signed.error(ApiError::not_found("no such notice")))?;
    if department.is_some() {
        signed.require_department(&notice.department_code)?;
    }
    Ok(notice)
}

/// A time typed as `2026-12-01 09:00` (JST; `T` or `/` also fine), in stored form.
fn parse_time(text: &str) -> Option<String> {
    let text = machi_core::text::fold_width(text.trim())
        .replace('/', "-")
        .replace('T', " ");
    let local = NaiveDateTime::parse_from_str(&text, "%Y-%m-%d %H:%M").ok()?;
    let jst = FixedOffset::east_opt(9 * 3600)?;
    local
        .and_local_timezone(jst)
        .single()
        .map(|t| machi_store::format_time(t.with_timezone(&Utc)))
}

fn read_form(pairs: &[(String, String)]) -> (NoticeDraft, String, String) {
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let draft = NoticeDraft {
        title: Localized::new(
            machi_core::text::clean_text(&field("title_ja")),
            machi_core::text::clean_text(&field("title_en")),
        ),
        body: Localized::new(field("body_ja").trim(), field("body_en").trim()),
        categories: pairs
            .iter()
            .filter(|(k, _)| k == "category")
            .map(|(_, v)| v.clone())
            .collect(),
        areas: machi_core::notices::read_areas(&field("areas"))
            .into_iter()
            .filter(|a| !a.contains('|'))
            .collect(),
        urgency: Urgency::parse(&field("urgency")).unwrap_or(Urgency::Normal),
    };
    (draft, field("publish_at"), field("expires_at"))
}

pub(crate) async fn staff_create(
    State(state): State<AppState>,
    signed: Signed,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    save(&state, &signed, None, &pairs).await
}

pub(crate) async fn staff_update(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    save(&state, &signed, Some(id), &pairs).await
}

async fn save(
    state: &AppState,
    signed: &Signed,
    id: Option<String>,
    pairs: &[(String, String)],
) -> Result<Response, PageError> {
    let department = match &id {
        Some(id) => editable(state, signed, id).await?.department_code,
        None => {
            require_writer(signed)?;
            signed.department()?.to_string()
        }
    };
    let (draft, publish_text, expires_text) = read_form(pairs);
    let mut errors = draft.check().err().unwrap_or_default();
    let publish_at = if publish_text.trim().is_empty() {
        Some(machi_store::now_text())
    } else {
        parse_time(&publish_text)
    };
    let expires_at = (!expires_text.trim().is_empty()).then(|| parse_time(&expires_text));
    let time_error = Localized::new(
        "日時は 2026-12-01 09:00 の形で入力してください",
        "enter times as 2026-12-01 09:00",
    );
    if publish_at.is_none() {
        errors.push(("publish_at", time_error.clone()));
    }
    if matches!(expires_at, Some(None)) {
        errors.push(("expires_at", time_error));
    }
    if let (Some(publish), Some(Some(expires))) = (&publish_at, &expires_at) {
        if expires <= publish {
            errors.push((
                "expires_at",
                Localized::new(
                    "終了は公開より後にしてください",
                    "the end must come after the start",
                ),
            ));
        }
    }
    let action = id.as_ref().map_or("/staff/notices/new".to_string(), |id| {
        format!("/staff/notices/{id}")
    });
    if !errors.is_empty() {
        return Ok(form_page(
            signed,
            action,
            &draft,
            (publish_text, expires_text),
            &errors,
        ));
    }
    let saved = state
        .store
        .save_notice(
            &signed.city.id,
            &draft,
            &NoticeSave {
                id: id.as_deref(),
                department_code: &department,
                publish_at: publish_at.as_deref().unwrap_or_default(),
                expires_at: expires_at.flatten().as_deref(),
                actor: signed.email(),
            },
        )
        .await
        .map_err(|e| signed.error(e))?;
    Ok(see_other(&format!("/staff/notices/{saved}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_is_rendered_and_scripts_are_removed() {
        let html = render_markdown(
            "**大雨**に注意\n\n<script>alert(1)</script><a href=\"javascript:x\">x</a>",
        );
        assert!(html.contains("<strong>大雨</strong>"));
        assert!(
            !html.contains("<script") && !html.contains("javascript:"),
            "{html}"
        );
    }

    #[test]
    fn times_are_typed_in_japan_time() {
        assert_eq!(
            parse_time("2026-12-01 09:00").as_deref(),
            Some("2026-12-01T00:00:00.000000Z")
        );
        assert_eq!(
            parse_time("２０２６/１２/０１ ０９:００").as_deref(),
            Some("2026-12-01T00:00:00.000000Z")
        );
        assert_eq!(parse_time("明日"), None);
    }
}
