//! The inbox: one page of a department's applications, filtered by status, procedure,
//! assignee, overdue or text, in keyset order.

use machi_core::applications::search::AnswerQuery;
use machi_core::applications::Status;
use machi_core::receipt::ReceiptNumber;

use super::MAX_PAGE;
use crate::applications::push_answer_search;
use crate::connect::Backend;
use crate::sql::{like_escape, Param, Sql};
use crate::{now_text, Result, Store};

/// Which applications an inbox page lists.
#[derive(Debug, Clone, Default)]
pub struct InboxQuery {
    pub department: String,
    pub status: Option<Status>,
    pub procedure: Option<String>,
    pub assignee: Assignee,
    /// Only open applications past their due date.
    pub overdue: bool,
    /// A receipt number (or its start), or words from the answers (a name, a phone number).
    pub text: String,
    pub oldest_first: bool,
    /// Continue after this item (`submitted_at|receipt_number` of the last one shown).
    pub after: Option<String>,
    pub limit: i64,
}

/// Whose applications to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Assignee {
    #[default]
    Anyone,
    Nobody,
    Person(String),
}

/// One row of the inbox.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InboxItem {
    pub receipt_number: String,
    pub procedure_id: String,
    #[sqlx(try_from = "String")]
    pub status: Status,
    pub made_via: String,
    pub submitted_at: crate::Time,
    pub updated_at: crate::Time,
    pub due_at: Option<crate::Time>,
    pub assignee: Option<String>,
    pub form_version: i64,
    /// The answers as stored (JSON), for the applicant's name in the list.
    pub answers: String,
}

impl InboxItem {
    /// Where the next page starts.
    pub fn cursor(&self) -> String {
        format!("{}|{}", self.submitted_at, self.receipt_number)
    }

    pub fn is_overdue(&self, now: crate::Time) -> bool {
        self.status.awaits_decision() && self.due_at.is_some_and(|due| due < now)
    }
}

impl Store {
    /// One page of a department's inbox.
    pub async fn inbox(&self, tenant: &str, query: &InboxQuery) -> Result<Vec<InboxItem>> {
        let mut sql = Sql::new(
            self.backend,
            "SELECT receipt_number, procedure_id, status, made_via, submitted_at, updated_at, due_at, assignee, \
             form_version, answers FROM applications WHERE tenant_id = ",
        );
        sql.bind(Param::Text(tenant.into()));
        sql.push(" AND department_code = ");
        sql.bind(Param::Text(query.department.clone()));
        if let Some(status) = query.status {
            sql.push(" AND status = ");
            sql.bind(Param::Text(status.as_str().into()));
        }
        if let Some(procedure) = &query.procedure {
            sql.push(" AND procedure_id = ");
            sql.bind(Param::Text(procedure.clone()));
        }
        match &query.assignee {
            Assignee::Anyone => {}
            Assignee::Nobody => {
                sql.push(" AND assignee IS NULL");
            }
            Assignee::Person(email) => {
                sql.push(" AND assignee = ");
                sql.bind(Param::Text(email.clone()));
            }
        }
        if query.overdue {
            sql.push(" AND status IN ('received', 'in_review', 'resubmitted') AND due_at < ");
            sql.bind(Param::Text(now_text()));
        }
        push_text_search(&mut sql, self.backend, tenant, &query.text);
        let order = if query.oldest_first { ">" } else { "<" };
        if let Some((at, receipt)) = query.after.as_deref().and_then(|c| c.split_once('|')) {
            sql.push(&format!(" AND (submitted_at {order} "));
            sql.bind(Param::Text(at.into()));
            sql.push(" OR (submitted_at = ");
            sql.bind(Param::Text(at.into()));
            sql.push(&format!(" AND receipt_number {order} "));
            sql.bind(Param::Text(receipt.into()));
            sql.push("))");
        }
        let direction = if query.oldest_first { "ASC" } else { "DESC" };
        sql.push(&format!(
            " ORDER BY submitted_at {direction}, receipt_number {direction} LIMIT "
        ));
        sql.bind(Param::Int(query.limit.clamp(1, MAX_PAGE)));
        let rows = sqlx::query_with(sql.text(), sql.arguments())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(crate::typed).collect()
    }
}

/// A receipt number (or its start) matches by prefix; anything else is looked for in the
/// answers (all its words, see `machi_core::applications::search`).
fn push_text_search(sql: &mut Sql, backend: Backend, tenant: &str, text: &str) {
    let text = text.trim();
    if text.is_empty() {
        return;
    }
    // A whole receipt number can only prefix-match itself (its second hyphen fixes the length
    // of the running number), so it is looked up by equality, which both databases answer from
    // the primary key. A bound `LIKE 'prefix%'` uses no index on either, and scanned the whole
    // department: 0.1–0.6 s at a million applications (BENCHMARKS.md).
    // Typed without hyphens or in 全角 digits, it is still the same number.
    if let Some(receipt) = ReceiptNumber::parse(text) {
        sql.push(" AND receipt_number = ");
        sql.bind(Param::Text(receipt.as_str().into()));
        return;
    }
    // The start of a receipt number is six digits (the day) and a hyphen; a phone number
    // (090-…, 06-…) is not, and is looked for in the answers.
    let bytes = text.as_bytes();
    let looks_like_receipt = bytes.len() >= 6
        && bytes[..6].iter().all(u8::is_ascii_digit)
        && bytes.get(6).is_none_or(|b| *b == b'-')
        && text.chars().all(|c| c.is_ascii_digit() || c == '-');
    if looks_like_receipt {
        sql.push(" AND receipt_number LIKE ");
        sql.bind(Param::Text(format!("{}%", like_escape(text))));
        sql.push(" ESCAPE '\\'");
        return;
    }
    // Words of two characters or more are found through the answers' index; a search of
    // single characters only (rare, and matching most applications) reads the answers.
    match AnswerQuery::parse(text) {
        Some(words) => push_answer_search(sql, backend, tenant, &words),
        None => {
            sql.push(" AND answers LIKE ");
            sql.bind(Param::Text(format!("%{}%", like_escape(text))));
            sql.push(" ESCAPE '\\'");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The condition a search adds, and its bound parameters as `Debug` shows them.
    fn search(text: &str) -> (String, String) {
        let mut sql = Sql::new(Backend::Postgres, "WHERE TRUE");
        push_text_search(&mut sql, Backend::Postgres, "city", text);
        (sql.text().to_string(), format!("{sql:?}"))
    }

    #[test]
    fn a_whole_receipt_number_is_looked_up_by_equality() {
        let day = chrono::NaiveDate::from_ymd_opt(2024, 1, 15).unwrap();
        let receipt = ReceiptNumber::new(day, 123).to_string();
        let (text, params) = search(&format!(" {receipt} "));
        assert_eq!(text, "WHERE TRUE AND receipt_number = $1");
        assert!(params.contains(&format!("Text(\"{receipt}\")")), "{params}");
    }

    #[test]
    fn the_start_of_a_receipt_number_or_a_wrong_check_digit_matches_by_prefix() {
        for typed in ["240115-000", "240115-000123-0"] {
            let (text, params) = search(typed);
            assert_eq!(text, "WHERE TRUE AND receipt_number LIKE $1 ESCAPE '\\'");
            assert!(params.contains(&format!("{typed}%")), "{params}");
        }
    }

    #[test]
    fn a_phone_number_is_looked_for_in_the_answers_index() {
        let (text, params) = search("090-1234-5678");
        assert!(text.contains("FROM application_search"), "{text}");
        assert!(params.contains("Text(\"% 090 1234 5678 %\")"), "{params}");
    }

    #[test]
    fn every_word_is_looked_for_and_single_characters_in_the_answers() {
        let (text, params) = search("山田 花子 山");
        assert_eq!(text.matches("terms LIKE").count(), 2, "{text}");
        assert!(text.ends_with("AND answers LIKE $5 ESCAPE '\\'"), "{text}");
        assert!(params.contains("Text(\"%山%\")"), "{params}");
    }

    #[test]
    fn a_single_character_alone_reads_the_answers() {
        let (text, _) = search("山");
        assert_eq!(text, "WHERE TRUE AND answers LIKE $1 ESCAPE '\\'");
    }
}
