//! What the search index is made of — the catalog, the FAQ, the notices and the open-data
//! catalog — and how an index knows it is stale: the state of all four in one round trip,
//! asked before every search, so that a change made on any node is found on every node.

use sqlx::Row;

use crate::notices::Notice;
use crate::{Result, Store, TableState};

/// The state of each table the search follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourcesState {
    pub procedures: TableState,
    pub faq: TableState,
    pub notices: TableState,
    pub datasets: TableState,
}

/// `(table, column that moves with each change)`, in the order of [`SourcesState`].
const SOURCES: [(&str, &str); 4] = [
    ("procedures", "updated_at"),
    ("faq_entries", "updated_at"),
    ("notices", "updated_at"),
    ("od_datasets", "modified_at"),
];

impl Store {
    /// How many rows of the city each followed table has, and when the latest changed.
    pub async fn search_sources_state(&self, tenant: &str) -> Result<SourcesState> {
        let columns: Vec<String> = SOURCES
            .iter()
            .enumerate()
            .map(|(i, (table, changed))| {
                format!(
                    "(SELECT COUNT(*) FROM {table} WHERE tenant_id = $1) AS n{i}, \
                     (SELECT COALESCE(MAX({changed}), '') FROM {table} WHERE tenant_id = $1) AS latest{i}"
                )
            })
            .collect();
        let row = sqlx::query(&format!("SELECT {}", columns.join(", ")))
            .bind(tenant)
            .fetch_one(&self.pool)
            .await?;
        let state = |i: usize| -> Result<TableState> {
            Ok(TableState {
                rows: row.try_get(format!("n{i}").as_str())?,
                latest: row.try_get(format!("latest{i}").as_str())?,
            })
        };
        Ok(SourcesState {
            procedures: state(0)?,
            faq: state(1)?,
            notices: state(2)?,
            datasets: state(3)?,
        })
    }

    /// Every notice of the city that has not expired, shown now or later.
    pub async fn searchable_notices(&self, tenant: &str) -> Result<Vec<Notice>> {
        self.notices_where(
            tenant,
            "(expires_at IS NULL OR expires_at > $2)",
            &crate::now_text(),
        )
        .await
    }

    /// The notices added or changed at or after `since` (an `updated_at`).
    pub async fn notices_changed_since(&self, tenant: &str, since: &str) -> Result<Vec<Notice>> {
        self.notices_where(tenant, "updated_at >= $2", since).await
    }
}
