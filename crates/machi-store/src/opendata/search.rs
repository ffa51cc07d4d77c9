//! Catalog search in memory. A city's catalog is thousands of datasets, a few megabytes: each
//! node keeps a snapshot per city and searches it directly (substring match over the folded
//! text, filters, facets and order), which answers in well under a millisecond where the same
//! search in SQL scans the table once per facet. A snapshot is checked against the database on
//! every search by one indexed query (how many datasets, and the latest change), so a change
//! made on any node is seen by the next search on every node.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use machi_core::text::search_key;
use sqlx::Row;

use super::{
    dataset_head, resource, search_text, DatasetFilter, DatasetPage, DatasetQuery, DatasetRecord,
    DatasetSort, Facet, DATASET_COLUMNS, RESOURCE_COLUMNS,
};
use crate::{Result, Store};

/// How many datasets a city has and when the catalog last changed.
type Version = (i64, Option<String>);

/// One city's published datasets, with the folded text each is searched by.
pub(crate) struct Snapshot {
    version: Version,
    datasets: Vec<DatasetRecord>,
    keys: Vec<String>,
}

/// The snapshots of this node, per city.
#[derive(Clone, Default)]
pub(crate) struct CatalogCache(Arc<Mutex<HashMap<String, Arc<Snapshot>>>>);

impl DatasetFilter {
    fn matches(&self, dataset: &DatasetRecord) -> bool {
        let d = &dataset.input;
        match self {
            DatasetFilter::Tag(tag) => d.tags.contains(tag),
            DatasetFilter::Group(group) => d.groups.contains(group),
            DatasetFilter::Organization(org) => d.organization == *org,
            DatasetFilter::License(id) => d.license_id == *id,
            DatasetFilter::Format(format) => dataset.resources.iter().any(|r| r.format == *format),
        }
    }
}

impl Facet {
    /// The values of a dataset for this facet, each once.
    fn values(self, dataset: &DatasetRecord) -> Vec<&str> {
        let d = &dataset.input;
        let mut values: Vec<&str> = match self {
            Facet::Tags => d.tags.iter().map(String::as_str).collect(),
            Facet::Groups => d.groups.iter().map(String::as_str).collect(),
            Facet::Organization => vec![d.organization.as_str()],
            Facet::License => vec![d.license_id.as_str()],
            Facet::Format => dataset
                .resources
                .iter()
                .map(|r| r.format.as_str())
                .collect(),
        };
        values.retain(|v| !v.is_empty());
        values.sort_unstable();
        values.dedup();
        values
    }
}

impl DatasetSort {
    fn compare(self, a: &DatasetRecord, b: &DatasetRecord) -> Ordering {
        let (x, y) = (&a.input, &b.input);
        match self {
            DatasetSort::ModifiedDesc => {
                b.modified_at.cmp(&a.modified_at).then(x.name.cmp(&y.name))
            }
            DatasetSort::ModifiedAsc => a.modified_at.cmp(&b.modified_at).then(x.name.cmp(&y.name)),
            DatasetSort::NameAsc => x.name.cmp(&y.name),
            DatasetSort::NameDesc => y.name.cmp(&x.name),
            DatasetSort::TitleAsc => x.title_ja.cmp(&y.title_ja).then(x.name.cmp(&y.name)),
            DatasetSort::TitleDesc => y.title_ja.cmp(&x.title_ja).then(x.name.cmp(&y.name)),
        }
    }
}

impl Snapshot {
    /// Searches the snapshot: every free-text term must occur in the folded text, every filter
    /// must hold; facets count the datasets that matched, most frequent first.
    pub(crate) fn search(&self, query: &DatasetQuery) -> DatasetPage {
        let terms: Vec<String> = query
            .q
            .split_whitespace()
            .map(search_key)
            .filter(|t| !t.is_empty())
            .collect();
        let mut matched: Vec<&DatasetRecord> = self
            .datasets
            .iter()
            .zip(&self.keys)
            .filter(|(d, key)| {
                terms.iter().all(|t| key.contains(t.as_str()))
                    && query.filters.iter().all(|f| f.matches(d))
            })
            .map(|(d, _)| d)
            .collect();
        let facets = query
            .facets
            .iter()
            .map(|facet| (*facet, count(&matched, *facet, query.facet_limit)))
            .collect();
        matched.sort_by(|a, b| query.sort.compare(a, b));
        let start = usize::try_from(query.start).unwrap_or(usize::MAX);
        let rows = usize::try_from(query.rows).unwrap_or(0);
        DatasetPage {
            count: i64::try_from(matched.len()).unwrap_or(i64::MAX),
            datasets: matched
                .into_iter()
                .skip(start)
                .take(rows)
                .cloned()
                .collect(),
            facets,
        }
    }
}

fn count(matched: &[&DatasetRecord], facet: Facet, limit: i64) -> Vec<(String, i64)> {
    let mut counts: HashMap<&str, i64> = HashMap::new();
    for dataset in matched {
        for value in facet.values(dataset) {
            *counts.entry(value).or_default() += 1;
        }
    }
    let mut counts: Vec<(String, i64)> = counts
        .into_iter()
        .map(|(v, n)| (v.to_string(), n))
        .collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    counts.truncate(usize::try_from(limit).unwrap_or(0));
    counts
}

impl Store {
    async fn catalog_version(&self, tenant: &str) -> Result<Version> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, MAX(modified_at) AS latest FROM od_datasets WHERE tenant_id = $1",
        )
        .bind(tenant)
        .fetch_one(&self.pool)
        .await?;
        Ok((row.try_get("n")?, row.try_get("latest")?))
    }

    /// The city's snapshot, read again when the catalog has changed since it was taken.
    pub(crate) async fn catalog(&self, tenant: &str) -> Result<Arc<Snapshot>> {
        let version = self.catalog_version(tenant).await?;
        let cached = self
            .catalogs
            .0
            .lock()
            .ok()
            .and_then(|map| map.get(tenant).cloned());
        if let Some(snapshot) = cached.filter(|s| s.version == version) {
            return Ok(snapshot);
        }
        let datasets = self.published_datasets(tenant).await?;
        let keys = datasets.iter().map(|d| search_text(&d.input)).collect();
        let snapshot = Arc::new(Snapshot {
            version,
            datasets,
            keys,
        });
        if let Ok(mut map) = self.catalogs.0.lock() {
            map.insert(tenant.to_string(), snapshot.clone());
        }
        Ok(snapshot)
    }

    /// The published (active) datasets with their tags, groups and resources.
    pub async fn published_catalog(&self, tenant: &str) -> Result<Vec<DatasetRecord>> {
        Ok(self.catalog(tenant).await?.datasets.clone())
    }

    /// Every published dataset with its tags, groups and resources, in four queries.
    async fn published_datasets(&self, tenant: &str) -> Result<Vec<DatasetRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {DATASET_COLUMNS} FROM od_datasets WHERE tenant_id = $1 AND state = 'active'"
        ))
        .bind(tenant)
        .fetch_all(&self.pool)
        .await?;
        let mut datasets = rows.iter().map(dataset_head).collect::<Result<Vec<_>>>()?;
        let index: HashMap<String, usize> = datasets
            .iter()
            .enumerate()
            .map(|(i, d)| (d.id.clone(), i))
            .collect();
        for (table, column) in [
            ("od_dataset_tags", "tag"),
            ("od_dataset_groups", "group_name"),
        ] {
            let rows = sqlx::query(&format!(
                "SELECT dataset_id, {column} AS value FROM {table} WHERE tenant_id = $1 ORDER BY {column}"
            ))
            .bind(tenant)
            .fetch_all(&self.pool)
            .await?;
            for row in &rows {
                let id: String = row.try_get("dataset_id")?;
                let Some(&i) = index.get(&id) else { continue };
                let value: String = row.try_get("value")?;
                let input = &mut datasets[i].input;
                if table == "od_dataset_tags" {
                    input.tags.push(value);
                } else {
                    input.groups.push(value);
                }
            }
        }
        let rows = sqlx::query(&format!(
            "SELECT {RESOURCE_COLUMNS} FROM od_resources WHERE tenant_id = $1 ORDER BY dataset_id, position"
        ))
        .bind(tenant)
        .fetch_all(&self.pool)
        .await?;
        for row in &rows {
            let found = resource(row)?;
            if let Some(&i) = index.get(&found.dataset_id) {
                datasets[i].resources.push(found);
            }
        }
        Ok(datasets)
    }
}
