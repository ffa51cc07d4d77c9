//! 書かない窓口 (counter mode): answers prefilled at home, waiting for the counter, and the
//! counts of applications by how they were made.

use chrono::{Duration, Utc};
use machi_core::procedures::StorableAnswers;
use serde_json::{Map, Value};
use sqlx::Row;

use crate::procedures::parse_json;
use crate::{format_time, now_text, Result, Store};

/// How long prefilled answers wait for the visit.
pub const PREFILL_DAYS: i64 = 30;

/// Answers a resident brought to the counter.
#[derive(Debug, Clone)]
pub struct Prefill {
    pub code: String,
    pub procedure_id: String,
    pub form_version: i64,
    pub answers: Map<String, Value>,
    pub expires_at: crate::Time,
}

/// A code easy to read out and type: 8 Crockford base32 characters in two groups.
fn new_code() -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let bits: u64 = rand::random();
    let chars: String = (0..8)
        .map(|i| char::from(ALPHABET[((bits >> (i * 5)) & 31) as usize]))
        .collect();
    format!("{}-{}", &chars[..4], &chars[4..])
}

/// The code as typed or scanned, in canonical form (case, width and separators ignored).
pub fn canonical_code(input: &str) -> String {
    let compact: String = machi_core::text::fold_width(input)
        .to_ascii_uppercase()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| match c {
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        })
        .collect();
    match compact.len() {
        8 => format!("{}-{}", &compact[..4], &compact[4..]),
        _ => compact,
    }
}

impl Store {
    /// Keeps answers for the counter; returns the code and when it expires.
    pub async fn save_prefill(
        &self,
        tenant: &str,
        procedure_id: &str,
        form_version: i64,
        answers: &StorableAnswers,
    ) -> Result<(String, String)> {
        let code = new_code();
        let expires_at = format_time(Utc::now() + Duration::days(PREFILL_DAYS));
        sqlx::query(
            "INSERT INTO counter_prefills (tenant_id, code, procedure_id, form_version, answers, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(tenant)
        .bind(&code)
        .bind(procedure_id)
        .bind(form_version)
        .bind(Value::Object(answers.as_map().clone()).to_string())
        .bind(now_text())
        .bind(&expires_at)
        .execute(&self.pool)
        .await?;
        Ok((code, expires_at))
    }

    /// The prefilled answers behind a code, unless expired.
    pub async fn prefill(&self, tenant: &str, code: &str) -> Result<Option<Prefill>> {
        let row = sqlx::query(
            "SELECT code, procedure_id, form_version, answers, expires_at FROM counter_prefills \
             WHERE tenant_id = $1 AND code = $2 AND expires_at > $3",
        )
        .bind(tenant)
        .bind(canonical_code(code))
        .bind(now_text())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(Prefill {
            code: row.try_get("code")?,
            procedure_id: row.try_get("procedure_id")?,
            form_version: row.try_get("form_version")?,
            answers: parse_json(&row.try_get::<String, _>("answers")?)?,
            expires_at: row.try_get("expires_at")?,
        }))
    }

    /// Removes used and expired prefills.
    pub async fn forget_prefill(&self, tenant: &str, code: &str) -> Result<()> {
        sqlx::query(
            "DELETE FROM counter_prefills WHERE (tenant_id = $1 AND code = $2) OR expires_at <= $3",
        )
        .bind(tenant)
        .bind(canonical_code(code))
        .bind(now_text())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Applications since `since` by how they were made (`online`, `counter`).
    pub async fn made_via_counts(&self, tenant: &str, since: &str) -> Result<Vec<(String, i64)>> {
        let rows = sqlx::query(
            "SELECT made_via, COUNT(*) AS n FROM applications WHERE tenant_id = $1 AND submitted_at >= $2 \
             GROUP BY made_via ORDER BY made_via",
        )
        .bind(tenant)
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok((row.try_get("made_via")?, row.try_get("n")?)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_survive_how_people_type_them() {
        let code = new_code();
        assert_eq!(code.len(), 9);
        assert_eq!(canonical_code(&code.to_lowercase()), code);
        assert_eq!(canonical_code(&code.replace('-', " ")), code);
        assert_eq!(canonical_code("abcd-efgo"), "ABCD-EFG0");
    }
}
