//! Storage of the procedure catalog and its versioned forms.
//!
//! A catalog import is one transaction: every department, procedure and new form version in
//! the file is written, or none is. A stored form version is never changed; a different form
//! needs a higher version, so applications keep the form they were made with.

use machi_core::procedures::{is_valid_id, FormDefinition, LifeEvent, ProcedureDefinition};
use machi_core::text::search_key;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::sql::{like_escape, Param, Sql};
use crate::{now_text, Result, Store, StoreError};

/// A procedure as stored: its definition (without the form) and the current form version.
#[derive(Debug, Clone)]
pub struct ProcedureRecord {
    pub definition: ProcedureDefinition,
    pub form_version: Option<i64>,
    /// Shown to residents; an unpublished procedure is only seen by staff.
    pub published: bool,
}

impl ProcedureRecord {
    /// Whether residents can apply online now.
    pub fn accepts_online(&self) -> bool {
        self.published && self.form_version.is_some() && self.definition.channel.accepts_online()
    }
}

/// What a catalog import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub procedures: usize,
    pub forms_added: usize,
}

/// A catalog search: every word of `q` must match (kana- and width-insensitively).
#[derive(Debug, Clone, Default)]
pub struct ProcedureQuery {
    pub q: String,
    pub life_event: Option<LifeEvent>,
    pub department: Option<String>,
    pub online_only: bool,
    /// Page size (1..=200).
    pub limit: i64,
    /// Cursor: continue after this (kana, id).
    pub after: Option<(String, String)>,
}

/// How many rows of a city a table has, and the `updated_at` of the latest change: moves
/// with every insert, change and removal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableState {
    pub rows: i64,
    pub latest: String,
}

impl Store {
    /// Imports a checked catalog in one transaction.
    pub async fn import_catalog(
        &self,
        tenant: &str,
        procedures: &[ProcedureDefinition],
    ) -> Result<ImportSummary> {
        let mut tx = self.pool.begin().await?;
        let mut summary = ImportSummary::default();
        for procedure in procedures {
            upsert_department(&mut tx, tenant, &procedure.department).await?;
            upsert_procedure(&mut tx, tenant, procedure).await?;
            if let Some(form) = &procedure.form {
                if add_form_version(&mut tx, tenant, &procedure.id, form).await? {
                    summary.forms_added += 1;
                }
            }
            summary.procedures += 1;
        }
        tx.commit().await?;
        Ok(summary)
    }

    /// One procedure by id, published or not.
    pub async fn procedure(&self, tenant: &str, id: &str) -> Result<Option<ProcedureRecord>> {
        if !is_valid_id(id) {
            return Ok(None);
        }
        let row = sqlx::query(
            "SELECT definition, form_version, published FROM procedures WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(record_from_row).transpose()
    }

    /// One version of a procedure's form.
    pub async fn form(
        &self,
        tenant: &str,
        procedure_id: &str,
        version: i64,
    ) -> Result<Option<FormDefinition>> {
        let row = sqlx::query(
            "SELECT definition FROM forms WHERE tenant_id = $1 AND procedure_id = $2 AND version = $3",
        )
        .bind(tenant)
        .bind(procedure_id)
        .bind(version)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| parse_json(&row.try_get::<String, _>("definition")?))
            .transpose()
    }

    /// The city's departments, by name.
    pub async fn departments(
        &self,
        tenant: &str,
    ) -> Result<Vec<machi_core::procedures::DepartmentRef>> {
        let rows = sqlx::query(
            "SELECT code, name_ja, name_en FROM departments WHERE tenant_id = $1 ORDER BY code",
        )
        .bind(tenant)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(machi_core::procedures::DepartmentRef {
                    code: row.try_get("code")?,
                    ja: row.try_get("name_ja")?,
                    en: row.try_get("name_en")?,
                })
            })
            .collect()
    }

    /// Every procedure of the city, published or not (the 手続棚卸), ordered by department
    /// and reading.
    pub async fn inventory(&self, tenant: &str) -> Result<Vec<ProcedureRecord>> {
        let rows = sqlx::query(
            "SELECT definition, form_version, published FROM procedures WHERE tenant_id = $1 \
             ORDER BY department_code, kana, id",
        )
        .bind(tenant)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(record_from_row).collect()
    }

    /// Every procedure of the city (published or not) changed at or after `since` (an
    /// `updated_at` as [`Self::search_sources_state`] gives it), for search indexes that follow
    /// the catalog one change at a time.
    pub async fn procedures_changed_since(
        &self,
        tenant: &str,
        since: &str,
    ) -> Result<Vec<ProcedureRecord>> {
        let rows = sqlx::query(
            "SELECT definition, form_version, published FROM procedures WHERE tenant_id = $1 \
             AND updated_at >= $2",
        )
        .bind(tenant)
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(record_from_row).collect()
    }

    /// Searches the published catalog, ordered by reading (kana).
    pub async fn search_procedures(
        &self,
        tenant: &str,
        query: &ProcedureQuery,
    ) -> Result<Vec<ProcedureRecord>> {
        let mut sql = Sql::new(
            self.backend,
            "SELECT definition, form_version, published FROM procedures WHERE published = 1 AND tenant_id = ",
        );
        sql.bind(Param::Text(tenant.to_string()));
        for word in query
            .q
            .split_whitespace()
            .map(search_key)
            .filter(|w| !w.is_empty())
        {
            sql.push(" AND search_text LIKE ")
                .bind(Param::Text(format!("%{}%", like_escape(&word))))
                .push(" ESCAPE '\\'");
        }
        if let Some(event) = query.life_event {
            sql.push(" AND life_events LIKE ")
                .bind(Param::Text(format!("%|{}|%", event.as_str())));
        }
        if let Some(department) = &query.department {
            sql.push(" AND department_code = ")
                .bind(Param::Text(department.clone()));
        }
        if query.online_only {
            sql.push(" AND form_version IS NOT NULL AND channel <> 'counter'");
        }
        if let Some((kana, id)) = &query.after {
            sql.push(" AND (kana > ")
                .bind(Param::Text(kana.clone()))
                .push(" OR (kana = ")
                .bind(Param::Text(kana.clone()))
                .push(" AND id > ")
                .bind(Param::Text(id.clone()))
                .push("))");
        }
        sql.push(" ORDER BY kana, id LIMIT ")
            .bind(Param::Int(query.limit.clamp(1, 200)));
        let rows = sqlx::query_with(sql.text(), sql.arguments())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(record_from_row).collect()
    }
}

fn record_from_row(row: &AnyRow) -> Result<ProcedureRecord> {
    Ok(ProcedureRecord {
        definition: parse_json(&row.try_get::<String, _>("definition")?)?,
        form_version: row.try_get("form_version")?,
        published: row.try_get::<i64, _>("published")? != 0,
    })
}

pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(crate) async fn upsert_department(
    tx: &mut Transaction<'_, Any>,
    tenant: &str,
    department: &machi_core::procedures::DepartmentRef,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO departments (tenant_id, code, name_ja, name_en) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (tenant_id, code) DO UPDATE SET name_ja = excluded.name_ja, name_en = excluded.name_en",
    )
    .bind(tenant)
    .bind(&department.code)
    .bind(&department.ja)
    .bind(&department.en)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub(crate) async fn upsert_procedure(
    tx: &mut Transaction<'_, Any>,
    tenant: &str,
    p: &ProcedureDefinition,
) -> Result<()> {
    let without_form = ProcedureDefinition {
        form: None,
        ..p.clone()
    };
    let life_events: String = format!(
        "|{}",
        p.life_events
            .iter()
            .map(|e| format!("{}|", e.as_str()))
            .collect::<String>()
    );
    let kana_key = p.sort_key();
    sqlx::query(
        "INSERT INTO procedures (tenant_id, id, department_code, name_ja, kana, channel, life_events, \
         search_text, definition, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT (tenant_id, id) DO UPDATE SET department_code = excluded.department_code, \
         name_ja = excluded.name_ja, kana = excluded.kana, channel = excluded.channel, \
         life_events = excluded.life_events, search_text = excluded.search_text, \
         definition = excluded.definition, updated_at = excluded.updated_at",
    )
    .bind(tenant)
    .bind(&p.id)
    .bind(&p.department.code)
    .bind(&p.name.ja)
    .bind(kana_key)
    .bind(p.channel.as_str())
    .bind(life_events)
    .bind(p.search_text())
    .bind(to_json(&without_form)?)
    .bind(now_text())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Stores a form version unless the identical version is already there; returns whether it
/// was added. A different form under an existing version number is refused.
pub(crate) async fn add_form_version(
    tx: &mut Transaction<'_, Any>,
    tenant: &str,
    procedure_id: &str,
    form: &FormDefinition,
) -> Result<bool> {
    let existing: Option<String> = sqlx::query_scalar(
        "SELECT definition FROM forms WHERE tenant_id = $1 AND procedure_id = $2 AND version = $3",
    )
    .bind(tenant)
    .bind(procedure_id)
    .bind(form.version)
    .fetch_optional(&mut **tx)
    .await?;
    let added = match existing {
        Some(stored) if parse_json::<FormDefinition>(&stored)? == *form => false,
        Some(_) => {
            return Err(StoreError::conflict(
                format!(
                    "手続 {procedure_id} の様式 第{}版 は別の内容ですでにあります。変更した様式には新しい版番号を付けてください。",
                    form.version
                ),
                format!(
                    "procedure {procedure_id}: form version {} already exists with other content; \
                     give the changed form a higher version",
                    form.version
                ),
            ))
        }
        None => {
            sqlx::query(
                "INSERT INTO forms (tenant_id, procedure_id, version, definition, created_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(tenant)
            .bind(procedure_id)
            .bind(form.version)
            .bind(to_json(form)?)
            .bind(now_text())
            .execute(&mut **tx)
            .await?;
            true
        }
    };
    sqlx::query(
        "UPDATE procedures SET form_version = (SELECT MAX(version) FROM forms \
         WHERE tenant_id = $1 AND procedure_id = $2) WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant)
    .bind(procedure_id)
    .execute(&mut **tx)
    .await?;
    Ok(added)
}
