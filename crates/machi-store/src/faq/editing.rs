//! The FAQ as staff edit it one entry at a time — an unanswered question turned into an entry
//! in the same step — and residents' helpful / not helpful counts.

use std::collections::HashMap;

use machi_core::faq::FaqEntry;
use sqlx::Row;

use super::bind_entry;
use crate::audit::AuditEntry;
use crate::{now_text, Result, Store};

/// How residents rated an entry's answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Feedback {
    pub helpful: i64,
    pub unhelpful: i64,
}

impl Store {
    /// Adds or changes one entry (checked by the caller), audited. `answers` is an unanswered
    /// question the entry answers: it leaves the staff's list in the same transaction.
    pub async fn save_faq_entry(
        &self,
        tenant: &str,
        entry: &FaqEntry,
        answers: Option<&str>,
        actor: &str,
    ) -> Result<()> {
        let mut tx = self.begin_audited(tenant).await?;
        let now = now_text();
        let update = sqlx::query(
            "UPDATE faq_entries SET department_code = $1, department = $2, question_ja = $3, \
             question_en = $4, answer_ja = $5, answer_en = $6, procedures = $7, keywords = $8, \
             updated_at = $9 WHERE tenant_id = $10 AND id = $11",
        );
        let changed = bind_entry(update, entry)?
            .bind(&now)
            .bind(tenant)
            .bind(&entry.id)
            .execute(&mut *tx.tx)
            .await?
            .rows_affected();
        if changed == 0 {
            // A new entry comes last in the city's order.
            let insert = sqlx::query(
                "INSERT INTO faq_entries (tenant_id, id, department_code, department, question_ja, \
                 question_en, answer_ja, answer_en, procedures, keywords, position, updated_at) \
                 SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
                 COALESCE(MAX(position), -1) + 1, $11 FROM faq_entries WHERE tenant_id = $1",
            )
            .bind(tenant)
            .bind(&entry.id);
            bind_entry(insert, entry)?
                .bind(&now)
                .execute(&mut *tx.tx)
                .await?;
        }
        if let Some(question) = answers {
            sqlx::query(
                "DELETE FROM unanswered_questions WHERE tenant_id = $1 AND question_key = $2",
            )
            .bind(tenant)
            .bind(machi_core::text::search_key(question))
            .execute(&mut *tx.tx)
            .await?;
        }
        let action = if changed == 0 {
            "faq.create"
        } else {
            "faq.update"
        };
        tx.append(&AuditEntry::new(
            actor,
            action,
            &format!("faq/{}", entry.id),
            serde_json::json!({ "question": entry.question.ja, "answers": answers }),
        ))
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes one entry, audited; false when there is none.
    pub async fn delete_faq_entry(&self, tenant: &str, id: &str, actor: &str) -> Result<bool> {
        let mut tx = self.begin_audited(tenant).await?;
        let removed = sqlx::query("DELETE FROM faq_entries WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(id)
            .execute(&mut *tx.tx)
            .await?
            .rows_affected();
        if removed == 0 {
            return Ok(false);
        }
        tx.append(&AuditEntry::new(
            actor,
            "faq.delete",
            &format!("faq/{id}"),
            serde_json::json!({}),
        ))
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Counts a resident's 「役に立った」 (or not) for an entry; false when there is no such
    /// entry.
    pub async fn rate_faq_entry(&self, tenant: &str, id: &str, helpful: bool) -> Result<bool> {
        let (helpful, unhelpful) = if helpful { (1, 0) } else { (0, 1) };
        let counted = sqlx::query(
            "INSERT INTO faq_feedback (tenant_id, faq_id, helpful, unhelpful) \
             SELECT tenant_id, id, $3, $4 FROM faq_entries WHERE tenant_id = $1 AND id = $2 \
             ON CONFLICT (tenant_id, faq_id) DO UPDATE SET \
             helpful = faq_feedback.helpful + excluded.helpful, \
             unhelpful = faq_feedback.unhelpful + excluded.unhelpful",
        )
        .bind(tenant)
        .bind(id)
        .bind(helpful)
        .bind(unhelpful)
        .execute(&self.pool)
        .await?;
        Ok(counted.rows_affected() > 0)
    }

    /// Every entry's counts, by id.
    pub async fn faq_feedback(&self, tenant: &str) -> Result<HashMap<String, Feedback>> {
        let rows =
            sqlx::query("SELECT faq_id, helpful, unhelpful FROM faq_feedback WHERE tenant_id = $1")
                .bind(tenant)
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    row.try_get("faq_id")?,
                    Feedback {
                        helpful: row.try_get("helpful")?,
                        unhelpful: row.try_get("unhelpful")?,
                    },
                ))
            })
            .collect()
    }
}
