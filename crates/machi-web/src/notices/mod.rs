//! お知らせ: staff write notices (Markdown, categories, areas, urgency, publish and expiry
//! times); residents read them on the site, filtered by category and area, or in a standard
//! Atom feed (`/feeds/notices.atom?category=&area=`). A notice's attached files are served
//! only while the notice itself is shown (published and not expired).

mod alerts;
mod categories;
pub use alerts::CapSettings;
mod deliveries;
mod line;
mod staff;
mod staff_files;
pub(crate) mod subscriptions;

use askama::Template;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::Utc;
use machi_core::notices::{category_label, Category, Urgency};
use machi_store::notices::{Notice, NoticeAttachment};
use serde::Deserialize;

use crate::kit::time::rfc3339;
use crate::kit::{
    city_name, jst_text, render, render_markdown, ApiError, City, PageError, SiteUrl, Ui,
    MULTIPART_LIMIT,
};
use crate::AppState;

/// Notices on one page or in one feed.
const LIST_SIZE: i64 = 50;

/// The public pages and feeds, CAP alerts, subscriptions and the LINE webhook.
pub(crate) fn public_routes() -> Router<AppState> {
    Router::new()
        .route("/notices", get(list))
        .route("/notices/{id}", get(show))
        .route("/notices/{id}/files/{file_id}", get(download))
        .route("/feeds/notices.atom", get(feed))
        .merge(alerts::public_routes())
        .merge(subscriptions::routes())
        .merge(line::routes())
}

/// Writing notices and reading their delivery reports, behind the staff guard.
pub(crate) fn staff_routes() -> Router<AppState> {
    Router::new()
        .route("/staff/notices", get(staff::staff_list))
        .route(
            "/staff/categories",
            get(categories::show).post(categories::save),
        )
        .route(
            "/staff/notices/new",
            get(staff::staff_new)
                .post(staff::staff_create)
                .layer(DefaultBodyLimit::max(MULTIPART_LIMIT)),
        )
        .route(
            "/staff/notices/{id}",
            get(staff::staff_edit)
                .post(staff::staff_update)
                .layer(DefaultBodyLimit::max(MULTIPART_LIMIT)),
        )
        .route("/staff/notices/{id}/deliveries", get(deliveries::report))
        .route("/staff/deliveries", get(deliveries::dead_letters))
        .route("/staff/deliveries/{id}/retry", post(deliveries::retry))
}

/// Browser push subscriptions, relative to `/api/v1`.
pub(crate) fn api_routes() -> Router<AppState> {
    subscriptions::api_routes()
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

pub(crate) struct NoticeRow {
    id: String,
    title: String,
    urgency: String,
    emergency: bool,
    published: String,
    categories: String,
}

fn row(ui: Ui, notice: &Notice, categories: &[Category]) -> NoticeRow {
    NoticeRow {
        id: notice.id.clone(),
        title: ui.l(&notice.draft.title).to_string(),
        urgency: ui.l(&notice.draft.urgency.label()).to_string(),
        emergency: notice.draft.urgency == Urgency::Emergency,
        published: jst_text(notice.publish_at),
        categories: labels(ui, &notice.draft.categories, categories),
    }
}

fn labels(ui: Ui, ids: &[String], categories: &[Category]) -> String {
    ids.iter()
        .filter_map(|c| category_label(categories, c))
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
        .await?;
    let categories = state.store.notice_categories(&city.id).await?;
    let feed_query = serde_urlencoded::to_string([
        ("category", filter.category.as_str()),
        ("area", filter.area.trim()),
    ])
    .unwrap_or_default();
    Ok(render(&ListPage {
        ui,
        city: city_name(ui, &city),
        back: "/notices".into(),
        notices: notices.iter().map(|n| row(ui, n, &categories)).collect(),
        categories: categories
            .iter()
            .map(|c| (c.id.clone(), ui.l(&c.label).to_string()))
            .collect(),
        category: filter.category.clone(),
        area: filter.area.trim().to_string(),
        feed: format!("/feeds/notices.atom?{feed_query}"),
    }))
}

/// A notice as residents see it on its page (and staff in the preview).
pub(crate) struct NoticeView {
    notice: NoticeRow,
    body_html: String,
    areas: String,
    /// 「避難指示（警戒レベル4）」 when the notice is 避難情報.
    evacuation: String,
    files: Vec<FileLink>,
}

/// An attached file: where to get it (empty in a preview) and its name, type and size.
pub(crate) struct FileLink {
    href: String,
    label: String,
}

/// The view of a notice in one language; `linked` files get download links.
pub(crate) fn notice_view(
    ui: Ui,
    notice: &Notice,
    files: &[NoticeAttachment],
    linked: bool,
    categories: &[Category],
) -> NoticeView {
    NoticeView {
        body_html: render_markdown(ui.l(&notice.draft.body)),
        areas: notice.draft.areas.join(ui.t("、", ", ")),
        evacuation: notice
            .draft
            .evacuation
            .map(|e| ui.l(&e.label()).to_string())
            .unwrap_or_default(),
        files: files
            .iter()
            .map(|f| FileLink {
                href: if linked {
                    format!("/notices/{}/files/{}", notice.id, f.id)
                } else {
                    String::new()
                },
                label: file_label(ui, &f.filename, &f.media_type, f.size_bytes),
            })
            .collect(),
        notice: row(ui, notice, categories),
    }
}

/// `避難所一覧（PDF、120KB）`: the name without its extension, the type and the size.
pub(crate) fn file_label(ui: Ui, filename: &str, media_type: &str, size: u64) -> String {
    let kind = match media_type {
        "application/pdf" => "PDF",
        "image/jpeg" => "JPEG",
        "image/png" => "PNG",
        other => other,
    };
    let stem = match filename.rsplit_once('.') {
        Some((stem, ext))
            if !stem.is_empty()
                && ["pdf", "jpg", "jpeg", "png"].contains(&ext.to_ascii_lowercase().as_str()) =>
        {
            stem
        }
        _ => filename,
    };
    let size = if size >= 1024 * 1024 {
        format!("{:.1}MB", size as f64 / 1_048_576.0)
    } else {
        format!("{}KB", size.div_ceil(1024).max(1))
    };
    if ui.en {
        format!(
            "{stem} ({kind}, {})",
            size.replace("KB", " KB").replace("MB", " MB")
        )
    } else {
        format!("{stem}（{kind}、{size}）")
    }
}

#[derive(Template)]
#[template(path = "notice.html")]
struct NoticePage {
    ui: Ui,
    city: String,
    back: String,
    view: NoticeView,
}

/// A notice residents may see now (published, not expired).
async fn visible(state: &AppState, tenant: &str, id: &str) -> Result<Option<Notice>, ApiError> {
    let now = machi_store::Time::now();
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
    let notice = visible(&state, &city.id, &id).await?.ok_or_else(|| {
        PageError::from(ApiError::not_found(
            ui.t("このお知らせはありません。", "There is no such notice."),
        ))
    })?;
    let files = state.store.notice_attachments(&city.id, &id).await?;
    let categories = state.store.notice_categories(&city.id).await?;
    Ok(render(&NoticePage {
        ui,
        city: city_name(ui, &city),
        back: format!("/notices/{id}"),
        view: notice_view(ui, &notice, &files, true, &categories),
    }))
}

/// An attached file, while its notice is shown: its own type, a download with the original
/// name (RFC 5987 `filename*`), never sniffed by the browser.
async fn download(
    State(state): State<AppState>,
    City(city): City,
    Path((id, file_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::not_found("There is no such file.");
    visible(&state, &city.id, &id)
        .await?
        .ok_or_else(not_found)?;
    let file = state
        .store
        .notice_attachment(&city.id, &id, &file_id)
        .await?
        .ok_or_else(not_found)?;
    let bytes = state.store.read_file(file.sha256.clone()).await?;
    Ok(crate::kit::named_download(
        bytes,
        &file.media_type,
        &file.filename,
    ))
}

/// The Atom feed (RFC 4287) of what `/notices` shows for the same filter.
async fn feed(
    State(state): State<AppState>,
    City(city): City,
    SiteUrl(base): SiteUrl,
    Query(filter): Query<Filter>,
) -> Result<Response, ApiError> {
    let notices = state
        .store
        .published_notices(&city.id, filter.category(), filter.area(), LIST_SIZE)
        .await?;
    let ui = Ui { en: false };
    let categories = state.store.notice_categories(&city.id).await?;
    let mut files = Vec::with_capacity(notices.len());
    for n in &notices {
        files.push(state.store.notice_attachments(&city.id, &n.id).await?);
    }
    let entries: Vec<atom_syndication::Entry> = notices
        .iter()
        .zip(&files)
        .map(|(n, files)| {
            let link = format!("{base}/notices/{}", n.id);
            let enclosures = files.iter().map(|f| {
                atom_syndication::LinkBuilder::default()
                    .href(format!("{link}/files/{}", f.id))
                    .rel("enclosure".to_string())
                    .mime_type(Some(f.media_type.clone()))
                    .title(Some(f.filename.clone()))
                    .length(Some(f.size_bytes.to_string()))
                    .build()
            });
            atom_syndication::EntryBuilder::default()
                .id(format!("urn:machi:{}:notice:{}", city.id, n.id))
                .title(n.draft.title.ja.clone())
                .updated(rfc3339(n.updated_at))
                .published(Some(rfc3339(n.publish_at)))
                .links(
                    std::iter::once(
                        atom_syndication::LinkBuilder::default()
                            .href(link.clone())
                            .build(),
                    )
                    .chain(enclosures)
                    .collect::<Vec<_>>(),
                )
                .categories(
                    n.draft
                        .categories
                        .iter()
                        .map(|c| {
                            atom_syndication::CategoryBuilder::default()
                                .term(c.clone())
                                .label(category_label(&categories, c).map(|l| ui.l(&l).to_string()))
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
        .map(|n| rfc3339(n.updated_at))
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
    fn file_labels_give_name_type_and_size() {
        assert_eq!(
            file_label(
                Ui { en: false },
                "避難所一覧.pdf",
                "application/pdf",
                120 * 1024
            ),
            "避難所一覧（PDF、120KB）"
        );
        assert_eq!(
            file_label(Ui { en: true }, "map.PNG", "image/png", 3 * 1024 * 1024),
            "map (PNG, 3.0 MB)"
        );
    }
}
