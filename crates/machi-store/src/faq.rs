//! よくある質問 as stored (see `machi_core::faq`).

mod editing;

pub use editing::Feedback;

use machi_core::faq::FaqEntry;
use machi_core::procedures::Localized;
use sqlx::Row;

use crate::audit::AuditEntry;
use crate::procedures::{parse_json, to_json};
use crate::{now_text, Result, Store};

/// Binds an entry's fields in the order every statement here names them: department code
/// and name, question and answer (Japanese, English), procedures and keywords (JSON).
fn bind_entry<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    entry: &'q FaqEntry,
) -> Result<sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>> {
    Ok(query
        .bind(&entry.department_code)
        .bind(&entry.department)
        .bind(&entry.question.ja)
        .bind(&entry.question.en)
        .bind(&entry.answer.ja)
        .bind(&entry.answer.en)
        .bind(to_json(&entry.procedures)?)
        .bind(to_json(&entry.keywords)?))
}

impl Store {
    /// Replaces the city's FAQ with `entries` (checked by the caller), all or nothing, audited.
    pub async fn replace_faq(
        &self,
        tenant: &str,
        entries: &[FaqEntry],
        actor: &str,
    ) -> Result<usize> {
        let mut tx = self.begin_audited(tenant).await?;
        sqlx::query("DELETE FROM faq_entries WHERE tenant_id = $1")
            .bind(tenant)
            .execute(&mut *tx.tx)
            .await?;
        let now = now_text();
        for (position, entry) in entries.iter().enumerate() {
            let insert = sqlx::query(
                "INSERT INTO faq_entries (tenant_id, id, department_code, department, question_ja, \
                 question_en, answer_ja, answer_en, procedures, keywords, position, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(tenant)
            .bind(&entry.id);
            bind_entry(insert, entry)?
                .bind(position as i64)
                .bind(&now)
                .execute(&mut *tx.tx)
                .await?;
        }
        tx.append(&AuditEntry::new(
            actor,
            "faq.import",
            "faq",
            serde_json::json!({ "entries": entries.len() }),
        ))
        .await?;
        tx.commit().await?;
        Ok(entries.len())
    }

    /// The city's FAQ in its order.
    pub async fn faq(&self, tenant: &str) -> Result<Vec<FaqEntry>> {
        let rows = sqlx::query(
            "SELECT id, department_code, department, question_ja, question_en, answer_ja, \
             answer_en, procedures, keywords FROM faq_entries WHERE tenant_id = $1 ORDER BY position",
        )
        .bind(tenant)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(FaqEntry {
                    id: row.try_get("id")?,
                    department_code: row.try_get("department_code")?,
                    department: row.try_get("department")?,
                    question: Localized::new(
                        row.try_get::<String, _>("question_ja")?,
                        row.try_get::<String, _>("question_en")?,
                    ),
                    answer: Localized::new(
                        row.try_get::<String, _>("answer_ja")?,
                        row.try_get::<String, _>("answer_en")?,
                    ),
                    procedures: parse_json(&row.try_get::<String, _>("procedures")?)?,
                    keywords: parse_json(&row.try_get::<String, _>("keywords")?)?,
                })
            })
            .collect()
    }
}

/// A question the answer desk had no good answer to.
#[derive(Debug, Clone)]
pub struct Unanswered {
    pub question: String,
    pub times: i64,
    pub last_asked_at: String,
}

/// Most characters of a question kept.
const MAX_QUESTION: usize = 200;

impl Store {
    /// Records a question with no good answer (the same question, folded, counts up).
    pub async fn record_unanswered(&self, tenant: &str, question: &str) -> Result<()> {
        let question: String = question.trim().chars().take(MAX_QUESTION).collect();
        let key = machi_core::text::search_key(&question);
        if key.is_empty() {
            return Ok(());
        }
        let now = now_text();
        sqlx::query(
            "INSERT INTO unanswered_questions (tenant_id, question_key, question, times, \
             first_asked_at, last_asked_at) VALUES ($1, $2, $3, 1, $4, $4) \
             ON CONFLICT (tenant_id, question_key) DO UPDATE SET \
             times = unanswered_questions.times + 1, last_asked_at = excluded.last_asked_at",
        )
        .bind(tenant)
        .bind(&key)
        .bind(&question)
        .bind(&now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The questions with no good answer, most asked first.
    pub async fn unanswered(&self, tenant: &str) -> Result<Vec<Unanswered>> {
        let rows = sqlx::query(
            "SELECT question, times, last_asked_at FROM unanswered_questions WHERE tenant_id = $1 \
             ORDER BY times DESC, last_asked_at DESC LIMIT 500",
        )
        .bind(tenant)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Unanswered {
                    question: row.try_get("question")?,
                    times: row.try_get("times")?,
                    last_asked_at: row.try_get("last_asked_at")?,
                })
            })
            .collect()
    }
}
