//! Staff search for words in the answers: the index rows each application gets in the same
//! transaction as its answers (at intake and at a correction), the condition the inbox adds
//! for a search, and the catch-up that indexes applications stored before the index existed.
//!
//! SQLite keeps the answers' terms in an FTS5 table, where a phrase of terms is a word;
//! PostgreSQL keeps the set of terms under a GIN index, and the terms in order beside it to
//! confirm each word (see the migrations `0029_application_search.sql`).

use machi_core::applications::search::{answer_terms, term_set, AnswerQuery};
use serde_json::{Map, Value};
use sqlx::{Any, AnyPool, Transaction};

use crate::connect::Backend;
use crate::sql::{like_escape, Param, Sql};
use crate::{Result, Store};

/// Rows per statement when indexing in bulk (at most 4 parameters a row, well under both
/// databases' limits).
const ROWS_PER_STATEMENT: usize = 200;

/// Applications indexed per transaction by the catch-up.
const CATCH_UP_BATCH: i64 = 5_000;

/// One application's answers to index.
pub(crate) struct AnswersToIndex<'a> {
    pub tenant: &'a str,
    pub receipt_number: &'a str,
    pub answers: &'a Map<String, Value>,
}

/// Whether applications being indexed may have been indexed before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seen {
    /// New applications, or ones the catch-up found unindexed: nothing to replace.
    Never,
    /// A correction: its earlier answers' terms are replaced.
    Maybe,
}

/// Indexes (or indexes again) the answers of `rows`, in the caller's transaction.
pub(crate) async fn index_answers(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    rows: &[AnswersToIndex<'_>],
    seen: Seen,
) -> Result<()> {
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        match backend {
            Backend::Sqlite => index_in_sqlite(tx, chunk, seen).await?,
            // An upsert, whichever it is.
            Backend::Postgres => index_in_postgres(tx, chunk).await?,
        }
    }
    Ok(())
}

async fn index_in_postgres(
    tx: &mut Transaction<'_, Any>,
    rows: &[AnswersToIndex<'_>],
) -> Result<()> {
    let mut sql = Sql::new(
        Backend::Postgres,
        "INSERT INTO application_search (tenant_id, receipt_number, submitted_at, terms, term_set) \
         VALUES ",
    );
    for (i, row) in rows.iter().enumerate() {
        let terms = answer_terms(row.answers);
        sql.push(if i == 0 { "(" } else { ", (" });
        sql.bind(Param::Text(row.tenant.into())).push(", ");
        sql.bind(Param::Text(row.receipt_number.into())).push(", ");
        // The application is written before it is indexed, in the same transaction.
        sql.push("(SELECT submitted_at FROM applications WHERE tenant_id = ");
        sql.bind(Param::Text(row.tenant.into()))
            .push(" AND receipt_number = ");
        sql.bind(Param::Text(row.receipt_number.into())).push("), ");
        let set = term_set(&terms);
        sql.bind(Param::Text(terms)).push(", string_to_array(");
        sql.bind(Param::Text(set)).push(", ' '))");
    }
    sql.push(
        " ON CONFLICT (tenant_id, receipt_number) DO UPDATE \
         SET terms = excluded.terms, term_set = excluded.term_set",
    );
    sqlx::query_with(sql.text(), sql.arguments())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn index_in_sqlite(
    tx: &mut Transaction<'_, Any>,
    rows: &[AnswersToIndex<'_>],
    seen: Seen,
) -> Result<()> {
    // Applications already indexed (a correction) keep their key; their old terms go.
    let mut keys: Vec<Option<i64>> = vec![None; rows.len()];
    if seen == Seen::Maybe {
        for (key, row) in keys.iter_mut().zip(rows) {
            let existing: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM application_search WHERE tenant_id = ? AND receipt_number = ?",
            )
            .bind(row.tenant)
            .bind(row.receipt_number)
            .fetch_optional(&mut **tx)
            .await?;
            if let Some(id) = existing {
                sqlx::query("DELETE FROM application_search_terms WHERE rowid = ?")
                    .bind(id)
                    .execute(&mut **tx)
                    .await?;
                *key = Some(id);
            }
        }
    }
    if keys.iter().any(Option::is_none) {
        // The writer holds SQLite's only write lock, so nobody takes these keys meanwhile.
        let mut next: i64 =
            sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM application_search")
                .fetch_one(&mut **tx)
                .await?;
        let mut sql = Sql::new(
            Backend::Sqlite,
            "INSERT INTO application_search (id, tenant_id, receipt_number) VALUES ",
        );
        let unkeyed = keys.iter_mut().zip(rows).filter(|(key, _)| key.is_none());
        for (i, (key, row)) in unkeyed.enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind_row(vec![
                Param::Int(next),
                Param::Text(row.tenant.into()),
                Param::Text(row.receipt_number.into()),
            ]);
            *key = Some(next);
            next += 1;
        }
        sqlx::query_with(sql.text(), sql.arguments())
            .execute(&mut **tx)
            .await?;
    }
    let keys: Vec<i64> = keys.into_iter().flatten().collect();
    let mut sql = Sql::new(
        Backend::Sqlite,
        "INSERT INTO application_search_terms (rowid, terms) VALUES ",
    );
    for (i, (row, key)) in rows.iter().zip(keys).enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind_row(vec![
            Param::Int(key),
            Param::Text(answer_terms(row.answers)),
        ]);
    }
    sqlx::query_with(sql.text(), sql.arguments())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The rows of an inbox search on SQLite, newest (or oldest) index key first: the FTS5
/// matches, each joined to its application (`a`), so that a page stops as soon as it is full.
/// Index keys are given in the order applications are taken in (and, by the catch-up, in
/// receipt-number order), which is the order of `submitted_at` within a city. Written so
/// that the full-text table drives the join: probing it once per application instead costs
/// tens of microseconds each, seconds for a department.
pub(crate) fn push_sqlite_answer_source(sql: &mut Sql, tenant: &str, query: &AnswerQuery) {
    sql.push(
        "application_search_terms p CROSS JOIN application_search s ON s.id = p.rowid \
         CROSS JOIN applications a ON a.tenant_id = s.tenant_id AND a.receipt_number = s.receipt_number \
         WHERE application_search_terms MATCH ",
    );
    sql.bind(Param::Text(query.fts5_query()));
    sql.push(" AND s.tenant_id = ");
    sql.bind(Param::Text(tenant.into()));
}

/// The inbox condition for words on SQLite when the page's other filters lead: each
/// application the filters let through is looked up in the full-text index by its key. For a
/// word in many applications under filters that let few through, where reading the index's
/// matches would take long (see `Store::inbox`).
pub(crate) fn push_sqlite_answer_probe(sql: &mut Sql, query: &AnswerQuery) {
    sql.push(
        " AND EXISTS (SELECT 1 FROM application_search s CROSS JOIN application_search_terms p \
         ON p.rowid = s.id WHERE s.tenant_id = a.tenant_id AND s.receipt_number = a.receipt_number \
         AND application_search_terms MATCH ",
    );
    sql.bind(Param::Text(query.fts5_query()));
    sql.push(")");
}

/// How many applications (of any city) the words match, counting up to `cap`.
pub(crate) async fn sqlite_matches_up_to(
    pool: &AnyPool,
    query: &AnswerQuery,
    cap: i64,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT rowid FROM application_search_terms \
         WHERE application_search_terms MATCH $1 LIMIT $2)",
    )
    .bind(query.fts5_query())
    .bind(cap)
    .fetch_one(pool)
    .await?)
}

/// The rows of an inbox search on PostgreSQL: the applications whose term set holds every
/// term and whose terms hold each word's terms together, joined from the index's table so
/// that a rare word reads only its few candidates (and their applications by key), newest
/// first by the index's own `submitted_at`; only those submitted at or after `since` when
/// given (see `Store::inbox`).
pub(crate) fn push_postgres_answer_source(
    sql: &mut Sql,
    tenant: &str,
    query: &AnswerQuery,
    since: Option<&str>,
) {
    // Within a window of time the candidates are read in full (`OFFSET 0` keeps the planner
    // from walking the time index instead, which its estimate of a rare word's frequency
    // can make it prefer); without one, the planner weighs both ways.
    let fenced = since.is_some();
    sql.push(if fenced {
        "(SELECT receipt_number, submitted_at, tenant_id FROM application_search WHERE tenant_id = "
    } else {
        "application_search s JOIN applications a \
         ON a.tenant_id = s.tenant_id AND a.receipt_number = s.receipt_number WHERE s.tenant_id = "
    });
    sql.bind(Param::Text(tenant.into()));
    let column = |name: &str| {
        if fenced {
            name.to_string()
        } else {
            format!("s.{name}")
        }
    };
    if let Some(since) = since {
        sql.push(&format!(" AND {} >= ", column("submitted_at")));
        sql.bind(Param::Text(since.into()));
    }
    sql.push(&format!(" AND {} @> string_to_array(", column("term_set")));
    sql.bind(Param::Text(query.term_set()));
    sql.push(", ' ')");
    for phrase in query.phrases() {
        sql.push(&format!(" AND {} LIKE ", column("terms")));
        sql.bind(Param::Text(format!("%{}%", like_escape(&phrase))));
        sql.push(" ESCAPE '\\'");
    }
    if fenced {
        sql.push(
            " OFFSET 0) s JOIN applications a \
             ON a.tenant_id = s.tenant_id AND a.receipt_number = s.receipt_number WHERE TRUE",
        );
    }
}

/// Single characters typed among the words, looked for in the stored answers.
pub(crate) fn push_single_characters(sql: &mut Sql, query: &AnswerQuery) {
    for character in &query.single_characters {
        sql.push(" AND a.answers LIKE ");
        sql.bind(Param::Text(format!("%{}%", like_escape(character))));
        sql.push(" ESCAPE '\\'");
    }
}

impl Store {
    /// Indexes every application whose answers are not indexed yet (see
    /// [`index_unindexed_answers`]), e.g. after a bulk load that went around the intake.
    pub async fn index_unindexed_answers(&self) -> Result<u64> {
        index_unindexed_answers(&self.pool, self.backend).await
    }
}

/// When the store opens: indexes the applications stored before answer search existed, if
/// that is still to do (the migration left a row saying so; it goes once they are all
/// indexed, also after an interrupted start).
pub(crate) async fn index_backlog(pool: &AnyPool, backend: Backend) -> Result<()> {
    let pending: Option<i64> =
        sqlx::query_scalar("SELECT pending FROM application_search_backlog LIMIT 1")
            .fetch_optional(pool)
            .await?;
    if pending.is_some() {
        index_unindexed_answers(pool, backend).await?;
        sqlx::query("DELETE FROM application_search_backlog")
            .execute(pool)
            .await?;
    }
    Ok(())
}

/// Indexes every application stored before answer search existed (or by a bulk load that
/// went around the intake), a batch per transaction, in key order; returns how many it
/// indexed. It reads every application to find those, so the store runs it only while the
/// backlog is marked (see [`index_backlog`]).
pub(crate) async fn index_unindexed_answers(pool: &AnyPool, backend: Backend) -> Result<u64> {
    let mut after = (String::new(), String::new());
    let mut indexed = 0;
    loop {
        let rows: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT a.tenant_id, a.receipt_number, a.answers FROM applications a \
             WHERE (a.tenant_id > $1 OR (a.tenant_id = $1 AND a.receipt_number > $2)) \
             AND NOT EXISTS (SELECT 1 FROM application_search s \
             WHERE s.tenant_id = a.tenant_id AND s.receipt_number = a.receipt_number) \
             ORDER BY a.tenant_id, a.receipt_number LIMIT $3",
        )
        .bind(&after.0)
        .bind(&after.1)
        .bind(CATCH_UP_BATCH)
        .fetch_all(pool)
        .await?;
        let Some(last) = rows.last() else {
            return Ok(indexed);
        };
        after = (last.0.clone(), last.1.clone());
        // Stored answers are always a JSON object; anything else would have nothing to find.
        let answers: Vec<Map<String, Value>> = rows
            .iter()
            .map(|(_, _, json)| serde_json::from_str(json).unwrap_or_default())
            .collect();
        let to_index: Vec<AnswersToIndex> = rows
            .iter()
            .zip(&answers)
            .map(|((tenant, receipt_number, _), answers)| AnswersToIndex {
                tenant,
                receipt_number,
                answers,
            })
            .collect();
        let mut tx = pool.begin().await?;
        index_answers(&mut tx, backend, &to_index, Seen::Never).await?;
        tx.commit().await?;
        indexed += rows.len() as u64;
    }
}
