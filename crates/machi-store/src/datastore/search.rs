//! `datastore_search` with CKAN's parameters: `filters` (CKAN 2.12's, see `filters.rs`), `q`,
//! `fields`, `sort`, `limit`, `offset`, `include_total`, `distinct`.
//!
//! `q` is, as a first step, a case-insensitive substring over the text-like columns (`LIKE` on
//! SQLite, which folds ASCII case only; `ILIKE` on PostgreSQL); given as an object
//! (`{"名称": "大阪"}`) it looks into each named field, whatever its type, as CKAN's per-field
//! full text does, and fields the resource lacks are passed over as CKAN passes them. It scans
//! the table, and a `q` over the whole record adds a `rank` (see [`push_selection`]); CKAN's
//! PostgreSQL full-text index (`_full_text`) is not built. Rows come in `_id` order (best rank
//! first for a `q`) unless `sort` says otherwise, so pages are stable.

use std::collections::BTreeMap;

use machi_core::opendata::ingest::{typed_cell, Cell, Field};
use machi_core::opendata::types::{ColumnType, Storage};
use machi_core::opendata::values::render;
use serde::Deserialize;
use serde_json::{Map, Value};
use sqlx::Row;

use super::{quote, registered, DatastoreError, Result};
use crate::sql::{like_escape, Param, Sql};
use crate::{Backend, Store};

/// Rows a page has when `limit` is not given, and at most (CKAN's defaults).
pub const DEFAULT_LIMIT: i64 = 100;
pub const MAX_LIMIT: i64 = 32_000;

/// The parameters of `datastore_search`, deserialisable from CKAN's JSON body.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct SearchQuery {
    /// Field id → a value, or a list of values any of which may match.
    pub filters: Map<String, Value>,
    pub q: Option<FullText>,
    /// The fields to return, in this order (`_id` only if listed); all when `None`.
    pub fields: Option<Vec<String>>,
    /// `"field asc, other desc"`.
    pub sort: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
    pub include_total: bool,
    /// Each distinct combination of the returned fields once (`total` counts them).
    pub distinct: bool,
}

/// CKAN's `q`: words anywhere in the record, or words per field.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum FullText {
    Anywhere(String),
    PerField(BTreeMap<String, String>),
}

impl FullText {
    /// Whether there is anything to look for.
    pub fn is_empty(&self) -> bool {
        match self {
            FullText::Anywhere(q) => q.trim().is_empty(),
            FullText::PerField(fields) => fields.values().all(|q| q.trim().is_empty()),
        }
    }
}

impl Default for SearchQuery {
    fn default() -> Self {
        Self {
            filters: Map::new(),
            q: None,
            fields: None,
            sort: None,
            limit: None,
            offset: None,
            include_total: true,
            distinct: false,
        }
    }
}

/// A page of records, as CKAN's `result` holds it: `rows` are in `fields` order (CKAN's
/// `records_format=lists`); [`SearchResult::records`] gives the objects of the default format.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchResult {
    pub fields: Vec<Field>,
    pub rows: Vec<Vec<Value>>,
    pub total: Option<i64>,
    pub limit: i64,
    pub offset: i64,
}

impl SearchResult {
    /// The rows as JSON objects keyed by field id. serde_json sorts an object's keys, so a
    /// client wanting the column order reads it from `fields`, as CKAN clients do.
    pub fn records(&self) -> Vec<Map<String, Value>> {
        self.rows
            .iter()
            .map(|row| {
                self.fields
                    .iter()
                    .zip(row)
                    .map(|(f, v)| (f.id.clone(), v.clone()))
                    .collect()
            })
            .collect()
    }
}

fn unknown_field(key: &'static str, id: &str) -> DatastoreError {
    DatastoreError::invalid(key, format!("field \"{id}\" not in table"))
}

/// The resource's fields with `_id` first, as searches see them.
pub(super) fn all_fields(fields: &[Field]) -> Vec<Field> {
    std::iter::once(Field {
        id: "_id".into(),
        kind: ColumnType::Integer,
    })
    .chain(fields.iter().cloned())
    .collect()
}

fn find<'a>(fields: &'a [Field], id: &str, key: &'static str) -> Result<&'a Field> {
    fields
        .iter()
        .find(|f| f.id == id)
        .ok_or_else(|| unknown_field(key, id))
}

/// The fields a page returns: the ones asked for, in that order, or all.
fn chosen(all: &[Field], asked: Option<&[String]>) -> Result<Vec<Field>> {
    match asked {
        None => Ok(all.to_vec()),
        Some(ids) => ids
            .iter()
            .map(|id| find(all, id.trim(), "fields").cloned())
            .collect(),
    }
}

/// `ORDER BY` from CKAN's `sort`; each name is checked against the fields (never interpolated
/// as given) and may be double-quoted.
fn order_by(all: &[Field], sort: Option<&str>) -> Result<String> {
    let Some(sort) = sort.filter(|s| !s.trim().is_empty()) else {
        return Ok("_id".into());
    };
    let mut terms = Vec::new();
    for term in sort.split(',') {
        let term = term.trim();
        let lower = term.to_ascii_lowercase();
        let (name, direction) = if lower.ends_with(" desc") {
            (&term[..term.len() - 5], "DESC")
        } else if lower.ends_with(" asc") {
            (&term[..term.len() - 4], "ASC")
        } else {
            (term, "ASC")
        };
        let name = name.trim();
        let name = name
            .strip_prefix('"')
            .and_then(|n| n.strip_suffix('"'))
            .unwrap_or(name);
        let field = find(all, name, "sort")?;
        terms.push(format!("{} {direction}", quote(&field.id)));
    }
    terms.push("_id".into());
    Ok(terms.join(", "))
}

/// `ORDER BY` of a `distinct` page: the `sort` terms (each must be a returned field, as
/// PostgreSQL requires of `SELECT DISTINCT`), then every returned field, so pages are stable.
fn distinct_order_by(all: &[Field], fields: &[Field], sort: Option<&str>) -> Result<String> {
    let mut terms: Vec<String> = Vec::new();
    if sort.is_some_and(|s| !s.trim().is_empty()) {
        let sorted = order_by(all, sort)?;
        for term in sorted.split(", ").filter(|t| *t != "_id") {
            let column = term.rsplit_once(' ').map_or(term, |(column, _)| column);
            if !fields.iter().any(|f| quote(&f.id) == column) {
                return Err(DatastoreError::invalid(
                    "sort",
                    format!("with distinct, sort only by returned fields: {column}"),
                ));
            }
            terms.push(term.to_string());
        }
    }
    terms.extend(fields.iter().map(|f| quote(&f.id)));
    Ok(terms.join(", "))
}

/// A rank column a `q` adds, as CKAN names it: `rank` for words anywhere in the record,
/// `rank <field>` for each field of a `q` given per field.
struct Rank<'a> {
    column: String,
    texts: Vec<&'a Field>,
    words: &'a str,
}

/// The ranks of a search's `q`; none for a distinct page, which has no single record.
fn ranks<'a>(all: &'a [Field], query: &'a SearchQuery) -> Vec<Rank<'a>> {
    match &query.q {
        _ if query.distinct => Vec::new(),
        Some(FullText::Anywhere(q)) if !q.trim().is_empty() => vec![Rank {
            column: "rank".into(),
            texts: texts(all),
            words: q.trim(),
        }],
        Some(FullText::PerField(per_field)) => per_field
            .iter()
            .filter(|(_, q)| !q.trim().is_empty())
            .filter_map(|(id, q)| {
                let field = all.iter().find(|f| &f.id == id)?;
                Some(Rank {
                    column: format!("rank {id}"),
                    texts: vec![field],
                    words: q.trim(),
                })
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The fields `q` looks into.
fn texts(all: &[Field]) -> Vec<&Field> {
    all.iter()
        .filter(|f| f.kind.is_searched_as_text())
        .collect()
}

/// `SELECT [DISTINCT] fields [, ranks] FROM table WHERE …`: the rows a page and its count are
/// taken from. A rank is the share of its text fields that hold the words (CKAN ranks by
/// PostgreSQL's full-text `ts_rank`, which SQLite lacks; this orders the same way for the
/// substring search machi does, on both databases).
fn push_selection(
    sql: &mut Sql,
    backend: Backend,
    table: &str,
    all: &[Field],
    fields: &[Field],
    query: &SearchQuery,
    ranks: &[Rank<'_>],
) -> Result<()> {
    let columns: Vec<String> = fields.iter().map(|f| quote(&f.id)).collect();
    let distinct = if query.distinct { "DISTINCT " } else { "" };
    sql.push(&format!("SELECT {distinct}{}", columns.join(", ")));
    for rank in ranks {
        sql.push(", CAST((0");
        for field in &rank.texts {
            sql.push(" + CASE WHEN ");
            push_like(sql, backend, field, rank.words);
            sql.push(" THEN 1 ELSE 0 END");
        }
        sql.push(&format!(
            ") AS DOUBLE PRECISION) / {} AS {}",
            rank.texts.len().max(1),
            quote(&rank.column)
        ));
    }
    sql.push(&format!(" FROM {table}"));
    push_where(sql, backend, all, query, "filters")
}

/// A filter value in its field's type, or a validation error naming the field.
pub(super) fn filter_cell(field: &Field, value: &Value, key: &'static str) -> Result<Cell> {
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => return Ok(Cell::Null),
        _ => String::new(),
    };
    let fitting = matches!(value, Value::String(_) | Value::Number(_) | Value::Bool(_));
    fitting
        .then(|| typed_cell(field.kind, &text))
        .flatten()
        .ok_or_else(|| {
            DatastoreError::invalid(
                key,
                format!(
                    "filter on '{}': {value} is not of type {}",
                    field.id,
                    field.kind.as_str()
                ),
            )
        })
}

/// Appends `WHERE …` for the filters and `q` to `sql`; a field that is not there is a
/// Validation Error on `key` (the parameter the filters came in).
pub(super) fn push_where(
    sql: &mut Sql,
    backend: Backend,
    all: &[Field],
    query: &SearchQuery,
    key: &'static str,
) -> Result<()> {
    let mut clauses = 0;
    let mut and = |sql: &mut Sql| {
        sql.push(if clauses == 0 { " WHERE " } else { " AND " });
        clauses += 1;
    };
    if !query.filters.is_empty() {
        and(sql);
        super::filters::push_filters(sql, all, &query.filters, key)?;
    }
    match &query.q {
        Some(FullText::Anywhere(q)) if !q.trim().is_empty() => {
            and(sql);
            push_substring(sql, backend, &texts(all), q.trim());
        }
        Some(FullText::PerField(per_field)) => {
            for (id, q) in per_field.iter().filter(|(_, q)| !q.trim().is_empty()) {
                if let Some(field) = all.iter().find(|f| &f.id == id) {
                    and(sql);
                    push_substring(sql, backend, &[field], q.trim());
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// `q`: a substring of any of `texts`, ignoring case; columns kept as numbers are read as
/// their text.
fn push_substring(sql: &mut Sql, backend: Backend, texts: &[&Field], q: &str) {
    sql.push("(");
    if texts.is_empty() {
        sql.push("1 = 0");
    }
    for (i, field) in texts.iter().enumerate() {
        if i > 0 {
            sql.push(" OR ");
        }
        push_like(sql, backend, field, q);
    }
    sql.push(")");
}

/// `field` holds `q`, ignoring case; a column kept as a number is read as its text.
fn push_like(sql: &mut Sql, backend: Backend, field: &Field, q: &str) {
    let like = match backend {
        Backend::Sqlite => "LIKE",
        Backend::Postgres => "ILIKE",
    };
    let column = match field.kind.storage() {
        Storage::Text => quote(&field.id),
        _ => format!("CAST({} AS TEXT)", quote(&field.id)),
    };
    sql.push(&format!("{column} {like} "))
        .bind(Param::Text(format!("%{}%", like_escape(q))))
        .push(" ESCAPE '\\'");
}

/// One column of a row as the cell it keeps.
fn stored_cell(row: &sqlx::any::AnyRow, index: usize, kind: ColumnType) -> Result<Cell> {
    let cell = match kind.storage() {
        Storage::Int => row.try_get::<Option<i64>, _>(index)?.map(Cell::Int),
        Storage::Float => row.try_get::<Option<f64>, _>(index)?.map(Cell::Numeric),
        // A boolean column on PostgreSQL; 0 or 1 in an integer column on SQLite.
        Storage::Bool => match row.try_get::<Option<bool>, _>(index) {
            Ok(value) => value.map(Cell::Bool),
            Err(_) => row
                .try_get::<Option<i64>, _>(index)?
                .map(|i| Cell::Bool(i != 0)),
        },
        Storage::Text => row.try_get::<Option<String>, _>(index)?.map(Cell::Text),
    };
    Ok(cell.unwrap_or(Cell::Null))
}

/// One column of a row as `datastore_search` gives it.
fn json_value(row: &sqlx::any::AnyRow, index: usize, kind: ColumnType) -> Result<Value> {
    Ok(render(kind, stored_cell(row, index, kind)?))
}

fn page_bounds(query: &SearchQuery) -> Result<(i64, i64)> {
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    let offset = query.offset.unwrap_or(0);
    if limit < 0 || offset < 0 {
        return Err(DatastoreError::invalid(
            if limit < 0 { "limit" } else { "offset" },
            "Must be a natural number",
        ));
    }
    Ok((limit.min(MAX_LIMIT), offset))
}

impl Store {
    /// `datastore_search`: a page of a resource's records with CKAN's semantics.
    #[tracing::instrument(name = "datastore_search", skip(self, query))]
    pub async fn datastore_search(
        &self,
        tenant: &str,
        resource_id: &str,
        query: &SearchQuery,
    ) -> Result<SearchResult> {
        let resource = registered(&self.pool, tenant, resource_id).await?;
        let all = all_fields(&resource.fields);
        let mut fields = chosen(&all, query.fields.as_deref())?;
        let ranks = ranks(&all, query);
        let order = match (query.distinct, ranks.first(), query.sort.as_deref()) {
            (true, _, sort) => distinct_order_by(&all, &fields, sort)?,
            (false, Some(best), None | Some("")) => format!("{} DESC, _id", quote(&best.column)),
            (false, _, sort) => order_by(&all, sort)?,
        };
        let (limit, offset) = page_bounds(query)?;
        let table = quote(&resource.table_name);
        // A distinct page is ordered by what it returns (`_id` may not be among it).
        let mut sql = Sql::new(
            self.backend,
            if query.distinct {
                "SELECT * FROM ("
            } else {
                ""
            },
        );
        push_selection(&mut sql, self.backend, &table, &all, &fields, query, &ranks)?;
        fields.extend(ranks.iter().map(|rank| Field {
            id: rank.column.clone(),
            kind: ColumnType::Float8,
        }));
        if query.distinct {
            sql.push(") page");
        }
        sql.push(&format!(" ORDER BY {order} LIMIT "))
            .bind(Param::Int(limit))
            .push(" OFFSET ")
            .bind(Param::Int(offset));
        let rows = sqlx::query_with(sql.text(), sql.arguments())
            .fetch_all(&self.pool)
            .await?;
        let mut records = Vec::with_capacity(rows.len());
        for row in &rows {
            let values = fields
                .iter()
                .enumerate()
                .map(|(i, f)| json_value(row, i, f.kind));
            records.push(values.collect::<Result<Vec<_>>>()?);
        }
        let total = match query.include_total {
            true => Some(self.count(&table, &all, query).await?),
            false => None,
        };
        Ok(SearchResult {
            fields,
            rows: records,
            total,
            limit,
            offset,
        })
    }

    async fn count(&self, table: &str, all: &[Field], query: &SearchQuery) -> Result<i64> {
        let fields = chosen(all, query.fields.as_deref())?;
        let mut sql = Sql::new(self.backend, "SELECT COUNT(*) FROM (");
        push_selection(&mut sql, self.backend, table, all, &fields, query, &[])?;
        sql.push(") matched");
        Ok(sqlx::query_scalar_with(sql.text(), sql.arguments())
            .fetch_one(&self.pool)
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> Vec<Field> {
        all_fields(&[
            Field {
                id: "人口".into(),
                kind: ColumnType::Integer,
            },
            Field {
                id: "町 名".into(),
                kind: ColumnType::Text,
            },
        ])
    }

    #[test]
    fn sort_names_are_checked_and_quoted_with_id_last_for_stable_pages() {
        assert_eq!(
            order_by(&fields(), Some("人口 desc, \"町 名\"")).unwrap(),
            "\"人口\" DESC, \"町 名\" ASC, _id"
        );
        assert_eq!(order_by(&fields(), None).unwrap(), "_id");
        let error = order_by(&fields(), Some("人口; DROP TABLE x")).unwrap_err();
        assert!(error.to_string().contains("人口; DROP TABLE x"), "{error}");
    }

    #[test]
    fn a_filter_value_must_fit_its_field() {
        let all = fields();
        let cell = |value: Value| filter_cell(&all[1], &value, "filters");
        assert_eq!(cell(Value::from(5)).unwrap(), Cell::Int(5));
        assert_eq!(cell(Value::from("1,000")).unwrap(), Cell::Int(1000));
        assert!(cell(Value::from("多い")).is_err());
        assert_eq!(cell(Value::Null).unwrap(), Cell::Null);
    }

    #[test]
    fn limit_is_capped_and_negative_bounds_are_refused() {
        let query = SearchQuery {
            limit: Some(100_000),
            ..SearchQuery::default()
        };
        assert_eq!(page_bounds(&query).unwrap(), (MAX_LIMIT, 0));
        let query = SearchQuery {
            offset: Some(-1),
            ..SearchQuery::default()
        };
        assert!(page_bounds(&query).is_err());
        assert_eq!(page_bounds(&SearchQuery::default()).unwrap(), (100, 0));
    }
}
