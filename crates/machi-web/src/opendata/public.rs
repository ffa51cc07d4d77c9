//! The public open-data pages: the catalog with free-text search and facets (組織, タグ,
//! 分類, 形式), a page per dataset with its licence and files, and the files themselves.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use machi_core::opendata::catalog::{license, Group};
use machi_store::opendata::{
    DatasetFilter, DatasetQuery, DatasetRecord, DatasetSort, Facet, ResourceRecord,
};
use serde::Deserialize;

use crate::kit::{city_name, named_download, render, ApiError, City, PageError, SiteUrl, Ui};
use crate::AppState;

/// Datasets on one page of the catalog.
const PAGE_SIZE: i64 = 20;

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct CatalogQuery {
    q: String,
    tags: String,
    groups: String,
    organization: String,
    res_format: String,
    page: String,
}

/// A facet's values as links that add (or, when chosen, remove) the filter.
struct FacetView {
    title: String,
    items: Vec<(String, String, i64, bool)>,
}

#[derive(Template)]
#[template(path = "opendata.html")]
struct CatalogPage {
    ui: Ui,
    city: String,
    back: String,
    q: String,
    count: i64,
    datasets: Vec<DatasetRecord>,
    facets: Vec<FacetView>,
    previous: Option<String>,
    next: Option<String>,
}

impl CatalogQuery {
    fn filters(&self) -> Vec<DatasetFilter> {
        let mut filters = Vec::new();
        for (value, make) in [
            (
                &self.tags,
                DatasetFilter::Tag as fn(String) -> DatasetFilter,
            ),
            (&self.groups, DatasetFilter::Group),
            (&self.organization, DatasetFilter::Organization),
            (&self.res_format, DatasetFilter::Format),
        ] {
            if !value.is_empty() {
                filters.push(make(value.clone()));
            }
        }
        filters
    }

    /// This query with one parameter set (or cleared), as a link.
    fn with(&self, name: &str, value: &str, page: i64) -> String {
        let mut pairs: Vec<(&str, String)> = vec![
            ("q", self.q.clone()),
            ("tags", self.tags.clone()),
            ("groups", self.groups.clone()),
            ("organization", self.organization.clone()),
            ("res_format", self.res_format.clone()),
        ];
        for pair in pairs.iter_mut().filter(|(k, _)| *k == name) {
            pair.1 = value.to_string();
        }
        if page > 1 {
            pairs.push(("page", page.to_string()));
        }
        let kept: Vec<(&str, String)> = pairs.into_iter().filter(|(_, v)| !v.is_empty()).collect();
        format!(
            "/opendata?{}",
            serde_urlencoded::to_string(kept).unwrap_or_default()
        )
    }

    fn chosen(&self, name: &str) -> &str {
        match name {
            "tags" => &self.tags,
            "groups" => &self.groups,
            "organization" => &self.organization,
            _ => &self.res_format,
        }
    }
}

pub(super) async fn catalog(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    Query(query): Query<CatalogQuery>,
) -> Result<Response, PageError> {
    let page: i64 = query.page.parse().unwrap_or(1).clamp(1, 10_000);
    let search = DatasetQuery {
        q: query.q.clone(),
        filters: query.filters(),
        sort: DatasetSort::ModifiedDesc,
        rows: PAGE_SIZE,
        start: (page - 1) * PAGE_SIZE,
        facets: vec![
            Facet::Organization,
            Facet::Groups,
            Facet::Tags,
            Facet::Format,
        ],
        facet_limit: 20,
    };
    let failed = |e: machi_store::StoreError| PageError::from(e);
    let found = state
        .store
        .search_datasets(&city.id, &search)
        .await
        .map_err(failed)?;
    let departments = state.store.departments(&city.id).await.map_err(failed)?;
    let groups: Vec<Group> = machi_core::opendata::standard::Definitions::shared()
        .map(|d| d.groups())
        .unwrap_or_default();
    let facets = found
        .facets
        .iter()
        .map(|(facet, counts)| {
            let (name, title) = match facet {
                Facet::Organization => ("organization", ui.t("組織", "Organization")),
                Facet::Groups => ("groups", ui.t("分類", "Category")),
                Facet::Tags => ("tags", ui.t("タグ", "Tags")),
                _ => ("res_format", ui.t("形式", "Format")),
            };
            let items = counts
                .iter()
                .map(|(value, count)| {
                    let label = match facet {
                        Facet::Organization => departments
                            .iter()
                            .find(|d| d.code == *value)
                            .map(|d| ui.name(&d.ja, &d.en).to_string()),
                        Facet::Groups => groups
                            .iter()
                            .find(|g| g.name == *value)
                            .map(|g| g.title.clone()),
                        _ => None,
                    }
                    .unwrap_or_else(|| value.clone());
                    let chosen = query.chosen(name) == value;
                    let link = query.with(name, if chosen { "" } else { value }, 1);
                    (link, label, *count, chosen)
                })
                .collect();
            FacetView {
                title: title.to_string(),
                items,
            }
        })
        .collect();
    let last = (found.count + PAGE_SIZE - 1) / PAGE_SIZE;
    Ok(render(&CatalogPage {
        ui,
        city: city_name(ui, &city),
        back: query.with("", "", page),
        previous: (page > 1).then(|| query.with("", "", page - 1)),
        next: (page < last).then(|| query.with("", "", page + 1)),
        q: query.q.clone(),
        count: found.count,
        datasets: found.datasets,
        facets,
    }))
}

#[derive(Template)]
#[template(path = "opendata_dataset.html")]
struct DatasetPage {
    ui: Ui,
    city: String,
    back: String,
    dataset: DatasetRecord,
    organization: String,
    license_title: String,
    license_url: String,
    groups: Vec<String>,
    /// The first rows of each file in the datastore: its name, headers, rows and total.
    previews: Vec<Preview>,
}

impl DatasetPage {
    /// A stored time as staff and residents read it: JST with the 和暦 date.
    fn when(&self, time: &machi_store::Time) -> String {
        crate::kit::jst_text(*time)
    }
}

/// A table preview of a file's first rows.
struct Preview {
    name: String,
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
    total: i64,
}

/// Rows a preview shows.
const PREVIEW_ROWS: i64 = 10;

async fn previews(
    state: &AppState,
    city: &machi_store::Tenant,
    dataset: &DatasetRecord,
) -> Result<Vec<Preview>, ApiError> {
    let in_datastore = state
        .store
        .datastore_resource_ids(&city.id)
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let mut previews = Vec::new();
    for resource in dataset
        .resources
        .iter()
        .filter(|r| in_datastore.contains(&r.id))
    {
        let query = machi_store::datastore::SearchQuery {
            limit: Some(PREVIEW_ROWS),
            ..Default::default()
        };
        let found = state
            .store
            .datastore_search(&city.id, &resource.id, &query)
            .await
            .map_err(|e| ApiError::internal(e.to_string()))?;
        let text = |v: &serde_json::Value| match v {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Null => String::new(),
            other => other.to_string(),
        };
        // `_id` is the datastore's own row number, not the city's data.
        previews.push(Preview {
            name: resource.name.clone(),
            headers: found.fields.iter().skip(1).map(|f| f.id.clone()).collect(),
            rows: found
                .rows
                .iter()
                .map(|row| row.iter().skip(1).map(text).collect())
                .collect(),
            total: found.total.unwrap_or_default(),
        });
    }
    Ok(previews)
}

impl DatasetPage {
    fn size(&self, resource: &ResourceRecord) -> String {
        match resource.size_bytes {
            Some(bytes) if bytes >= 1024 * 1024 => format!("{:.1} MB", bytes as f64 / 1048576.0),
            Some(bytes) => format!("{:.1} KB", bytes as f64 / 1024.0),
            None => String::new(),
        }
    }

    /// The 5-star openness of a file, as stars and as words for screen readers.
    fn stars(&self, resource: &ResourceRecord) -> (String, String) {
        let stars = machi_core::opendata::catalog::openness_stars(
            &resource.format,
            &self.dataset.input.license_id,
        );
        let shown = format!(
            "{}{}",
            "★".repeat(usize::from(stars)),
            "☆".repeat(5 - usize::from(stars))
        );
        let words = format!("{}{stars}", self.ui.t("5段階中", "out of 5: "));
        (shown, words)
    }

    fn href(&self, resource: &ResourceRecord) -> String {
        resource.link("")
    }
}

async fn active_dataset(
    state: &AppState,
    city: &machi_store::Tenant,
    ui: Ui,
    id: &str,
) -> Result<DatasetRecord, PageError> {
    state
        .store
        .dataset(&city.id, id)
        .await?
        .filter(|d| d.state == "active")
        .ok_or_else(|| {
            let missing = ui.t(
                "そのデータセットはありません。",
                "There is no such dataset.",
            );
            PageError::from(ApiError::not_found(missing))
        })
}

pub(super) async fn dataset(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
    Path(name): Path<String>,
) -> Result<Response, PageError> {
    let dataset = active_dataset(&state, &city, ui, &name).await?;
    let departments = state.store.departments(&city.id).await?;
    let organization = departments
        .iter()
        .find(|d| d.code == dataset.input.organization)
        .map(|d| ui.name(&d.ja, &d.en).to_string())
        .unwrap_or_default();
    let licence = license(&dataset.input.license_id);
    let previews = previews(&state, &city, &dataset).await?;
    let groups = machi_core::opendata::standard::Definitions::shared()
        .map(|d| d.groups())
        .unwrap_or_default()
        .into_iter()
        .filter(|g| dataset.input.groups.contains(&g.name))
        .map(|g| g.title)
        .collect();
    Ok(render(&DatasetPage {
        ui,
        city: city_name(ui, &city),
        back: format!("/opendata/datasets/{}", dataset.input.name),
        organization,
        license_title: licence.map(|l| l.title.to_string()).unwrap_or_default(),
        license_url: licence.map(|l| l.url.to_string()).unwrap_or_default(),
        groups,
        previews,
        dataset,
    }))
}

/// A published file, while its dataset is published.
pub(super) async fn download(
    State(state): State<AppState>,
    City(city): City,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::not_found("There is no such file.");
    let resource = state
        .store
        .published_resource(&city.id, &id)
        .await?
        .ok_or_else(not_found)?;
    let sha256 = resource.file_sha256.clone().ok_or_else(not_found)?;
    let bytes = state.store.read_file(sha256).await?;
    let extension = resource.format.to_ascii_lowercase();
    let name = if resource
        .name
        .to_ascii_lowercase()
        .ends_with(&format!(".{extension}"))
    {
        resource.name.clone()
    } else {
        format!("{}.{extension}", resource.name)
    };
    Ok(named_download(bytes, &resource.media_type, &name))
}

#[derive(Template)]
#[template(path = "opendata_coverage.html")]
struct CoveragePage {
    ui: Ui,
    city: String,
    back: String,
    /// Number, name, group name, datasets.
    rows: Vec<(String, String, String, i64)>,
    covered: usize,
    all: usize,
    rate: String,
}

/// 推奨データセットの公開状況: each category of the national list and how many datasets the
/// city publishes in it (the figure 茨木市 tracks: "7 of 22 categories").
pub(super) async fn coverage(
    State(state): State<AppState>,
    City(city): City,
    ui: Ui,
) -> Result<Response, PageError> {
    let counts = state.store.facet_counts(&city.id, Facet::Groups).await?;
    let groups = machi_core::opendata::standard::Definitions::shared()
        .map(|d| d.groups())
        .unwrap_or_default();
    let published: Vec<String> = counts.iter().map(|(g, _)| g.clone()).collect();
    let (covered, all) = machi_core::opendata::catalog::coverage(&groups, &published);
    let rate = machi_core::plans::metric::percent(covered as i64, all as i64)
        .map(|p| format!("{p}%"))
        .unwrap_or_default();
    Ok(render(&CoveragePage {
        ui,
        city: city_name(ui, &city),
        back: "/opendata/coverage".into(),
        rows: groups
            .into_iter()
            .map(|g| {
                let count = counts.iter().find(|c| c.0 == g.name).map_or(0, |c| c.1);
                (g.number, g.title, g.name, count)
            })
            .collect(),
        covered,
        all,
        rate,
    }))
}

/// The Atom feed (RFC 4287) of a dataset's changes: one entry per file as it was published or
/// last replaced, and one for the description, newest first; feed readers and harvesters poll it
/// instead of the whole catalog.
pub(super) async fn feed(
    State(state): State<AppState>,
    City(city): City,
    SiteUrl(base): SiteUrl,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    use atom_syndication::{EntryBuilder, FeedBuilder, LinkBuilder};
    use axum::response::IntoResponse;
    let dataset = state
        .store
        .dataset(&city.id, &name)
        .await?
        .filter(|d| d.state == "active")
        .ok_or_else(|| ApiError::not_found("There is no such dataset."))?;
    let page = format!("{base}/opendata/datasets/{}", dataset.input.name);
    let rfc3339 = crate::kit::time::rfc3339;
    let mut entries: Vec<atom_syndication::Entry> = dataset
        .resources
        .iter()
        .map(|r| {
            let href = r.link(&base);
            EntryBuilder::default()
                .id(format!(
                    "urn:machi:{}:resource:{}:{}",
                    city.id, r.id, r.modified_at
                ))
                .title(format!("{}（{}）", r.name, r.format))
                .updated(rfc3339(r.modified_at))
                .published(Some(rfc3339(r.created_at)))
                .links(vec![LinkBuilder::default()
                    .href(href)
                    .rel("enclosure".to_string())
                    .mime_type(Some(r.media_type.clone()).filter(|m| !m.is_empty()))
                    .length(r.size_bytes.map(|s| s.to_string()))
                    .build()])
                .build()
        })
        .collect();
    entries.push(
        EntryBuilder::default()
            .id(format!(
                "urn:machi:{}:dataset:{}:{}",
                city.id, dataset.id, dataset.modified_at
            ))
            .title(format!("{}（データセットの更新）", dataset.input.title_ja))
            .updated(rfc3339(dataset.modified_at))
            .links(vec![LinkBuilder::default().href(page.clone()).build()])
            .summary(Some(atom_syndication::Text::plain(
                dataset.input.notes_ja.clone(),
            )))
            .build(),
    );
    entries.sort_by(|a, b| b.updated().cmp(a.updated()));
    let feed = FeedBuilder::default()
        .id(format!("urn:machi:{}:dataset:{}", city.id, dataset.id))
        .title(format!("{} の更新", dataset.input.title_ja))
        .updated(rfc3339(dataset.modified_at))
        .lang(Some("ja".to_string()))
        .links(vec![LinkBuilder::default().href(page).build()])
        .entries(entries)
        .build();
    let mut response = feed.to_string().into_response();
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/atom+xml; charset=utf-8"),
    );
    Ok(response)
}
