//! The inbox: one page of a department's applications, filtered by status, procedure,
//! assignee, overdue or text, in keyset order.

use machi_core::applications::search::AnswerQuery;
use machi_core::applications::Status;
use machi_core::receipt::ReceiptNumber;

use super::MAX_PAGE;
use crate::applications::{
    push_postgres_answer_source, push_single_characters, push_sqlite_answer_probe,
    push_sqlite_answer_source, sqlite_matches_up_to,
};
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

/// The columns of an inbox row, from the applications aliased `a`.
const COLUMNS: &str = "a.receipt_number, a.procedure_id, a.status, a.made_via, a.submitted_at, \
     a.updated_at, a.due_at, a.assignee, a.form_version, a.answers";

/// How far back a search for words on PostgreSQL looks at first, then next (days before
/// the newest application it may show): a common name fills the page from the first window
/// without reading its older matches; a rare one ends with the unbounded search, whose few
/// candidates cost little. (SQLite's full-text index is read newest first instead.)
const SEARCH_WINDOWS_DAYS: [i64; 2] = [7, 92];

/// Matches of a search's words beyond which, with other filters too, SQLite lets the filters
/// lead (2% of a million applications).
const MANY_MATCHES: i64 = 20_000;

/// Where a page's rows are read from.
#[derive(Debug, Clone, Copy)]
enum Reading<'a> {
    /// The applications, by the inbox's own indexes (no search for words).
    Applications,
    /// SQLite's full-text index, newest (or oldest) match first, joined to the applications.
    SqliteIndex(&'a AnswerQuery),
    /// The applications the other filters let through, each looked up in SQLite's full-text
    /// index by its key.
    FiltersLead(&'a AnswerQuery),
    /// PostgreSQL's index table joined to the applications; only candidates submitted at or
    /// after a time when given.
    PostgresIndex(&'a AnswerQuery, Option<&'a str>),
}

impl Store {
    /// One page of a department's inbox.
    pub async fn inbox(&self, tenant: &str, query: &InboxQuery) -> Result<Vec<InboxItem>> {
        let text = Search::of(&query.text);
        let Search::Words(words) = &text else {
            return self
                .inbox_page(tenant, query, &text, Reading::Applications)
                .await;
        };
        // Windows of time help a search alone; with filters as well, the planner weighs
        // the filters' indexes against the search's.
        let filtered = query.status.is_some()
            || query.procedure.is_some()
            || query.assignee != Assignee::Anyone
            || query.overdue;
        let reading = match self.backend {
            Backend::Postgres if !query.oldest_first && !filtered => {
                return self.inbox_in_windows(tenant, query, &text, words).await;
            }
            Backend::Postgres => Reading::PostgresIndex(words, None),
            // A word in very many applications under filters: reading the index's matches
            // until the filters let 50 through could take a second; the filters lead instead.
            Backend::Sqlite
                if filtered
                    && sqlite_matches_up_to(&self.pool, words, MANY_MATCHES).await?
                        >= MANY_MATCHES =>
            {
                Reading::FiltersLead(words)
            }
            Backend::Sqlite => Reading::SqliteIndex(words),
        };
        self.inbox_page(tenant, query, &text, reading).await
    }

    /// A newest-first search for words on PostgreSQL, one window of time after another until
    /// the page is full.
    async fn inbox_in_windows(
        &self,
        tenant: &str,
        query: &InboxQuery,
        text: &Search,
        words: &AnswerQuery,
    ) -> Result<Vec<InboxItem>> {
        let anchor = query
            .after
            .as_deref()
            .and_then(|c| c.split_once('|'))
            .and_then(|(at, _)| crate::Time::parse(at))
            .map_or_else(chrono::Utc::now, crate::Time::utc);
        let wanted = query.limit.clamp(1, MAX_PAGE) as usize;
        for days in SEARCH_WINDOWS_DAYS {
            let since = crate::format_time(anchor - chrono::Duration::days(days));
            let reading = Reading::PostgresIndex(words, Some(&since));
            let page = self.inbox_page(tenant, query, text, reading).await?;
            if page.len() >= wanted {
                return Ok(page);
            }
        }
        let reading = Reading::PostgresIndex(words, None);
        self.inbox_page(tenant, query, text, reading).await
    }

    /// One page, its rows read as `reading` says.
    async fn inbox_page(
        &self,
        tenant: &str,
        query: &InboxQuery,
        text: &Search,
        reading: Reading<'_>,
    ) -> Result<Vec<InboxItem>> {
        let mut sql = Sql::new(self.backend, &format!("SELECT {COLUMNS} FROM "));
        match reading {
            Reading::SqliteIndex(words) => push_sqlite_answer_source(&mut sql, tenant, words),
            Reading::PostgresIndex(words, since) => {
                push_postgres_answer_source(&mut sql, tenant, words, since)
            }
            Reading::Applications | Reading::FiltersLead(_) => {
                sql.push("applications a WHERE TRUE");
            }
        }
        sql.push(" AND a.tenant_id = ");
        sql.bind(Param::Text(tenant.into()));
        sql.push(" AND a.department_code = ");
        sql.bind(Param::Text(query.department.clone()));
        push_filters(&mut sql, query);
        if let Reading::FiltersLead(words) = reading {
            push_sqlite_answer_probe(&mut sql, words);
        }
        push_text_search(&mut sql, text);
        let order = if query.oldest_first { ">" } else { "<" };
        if let Some((at, receipt)) = query.after.as_deref().and_then(|c| c.split_once('|')) {
            sql.push(&format!(" AND (a.submitted_at {order} "));
            sql.bind(Param::Text(at.into()));
            sql.push(" OR (a.submitted_at = ");
            sql.bind(Param::Text(at.into()));
            sql.push(&format!(" AND a.receipt_number {order} "));
            sql.bind(Param::Text(receipt.into()));
            sql.push("))");
        }
        let direction = if query.oldest_first { "ASC" } else { "DESC" };
        let order_by = match reading {
            Reading::SqliteIndex(_) => format!("p.rowid {direction}"),
            Reading::PostgresIndex(..) => {
                format!("s.submitted_at {direction}, s.receipt_number {direction}")
            }
            Reading::Applications | Reading::FiltersLead(_) => {
                format!("a.submitted_at {direction}, a.receipt_number {direction}")
            }
        };
        sql.push(&format!(" ORDER BY {order_by} LIMIT "));
        sql.bind(Param::Int(query.limit.clamp(1, MAX_PAGE)));
        let rows = sqlx::query_with(sql.text(), sql.arguments())
            .fetch_all(&self.pool)
            .await?;
        let mut items: Vec<InboxItem> = rows.iter().map(crate::typed).collect::<Result<_>>()?;
        if let Reading::SqliteIndex(_) = reading {
            // The index's order is the order applications came in; the page is put in the
            // exact order of the inbox, which the next page's cursor follows.
            items.sort_by(|x, y| {
                let by_time =
                    (&x.submitted_at, &x.receipt_number).cmp(&(&y.submitted_at, &y.receipt_number));
                if query.oldest_first {
                    by_time
                } else {
                    by_time.reverse()
                }
            });
        }
        Ok(items)
    }
}

/// Status, procedure, assignee and overdue.
fn push_filters(sql: &mut Sql, query: &InboxQuery) {
    if let Some(status) = query.status {
        sql.push(" AND a.status = ");
        sql.bind(Param::Text(status.as_str().into()));
    }
    if let Some(procedure) = &query.procedure {
        sql.push(" AND a.procedure_id = ");
        sql.bind(Param::Text(procedure.clone()));
    }
    match &query.assignee {
        Assignee::Anyone => {}
        Assignee::Nobody => {
            sql.push(" AND a.assignee IS NULL");
        }
        Assignee::Person(email) => {
            sql.push(" AND a.assignee = ");
            sql.bind(Param::Text(email.clone()));
        }
    }
    if query.overdue {
        sql.push(" AND a.status IN ('received', 'in_review', 'resubmitted') AND a.due_at < ");
        sql.bind(Param::Text(now_text()));
    }
}

/// What the inbox's search box holds.
#[derive(Debug)]
enum Search {
    Nothing,
    /// A whole receipt number.
    Receipt(ReceiptNumber),
    /// The start of one.
    ReceiptStart(String),
    /// Words looked up in the answers' index.
    Words(AnswerQuery),
    /// Only single kanji or kana: read in the stored answers.
    Characters(String),
}

impl Search {
    fn of(text: &str) -> Self {
        let text = text.trim();
        if text.is_empty() {
            return Self::Nothing;
        }
        // A whole receipt number can only prefix-match itself (its second hyphen fixes the
        // length of the running number), so it is looked up by equality, which both databases
        // answer from the primary key. A bound `LIKE 'prefix%'` uses no index on either, and
        // scanned the whole department: 0.1–0.6 s at a million applications (BENCHMARKS.md).
        // Typed without hyphens or in 全角 digits, it is still the same number.
        if let Some(receipt) = ReceiptNumber::parse(text) {
            return Self::Receipt(receipt);
        }
        // The start of a receipt number is six digits (the day) and a hyphen; a phone number
        // (090-…, 06-…) is not, and is looked for in the answers.
        let bytes = text.as_bytes();
        let looks_like_receipt = bytes.len() >= 6
            && bytes[..6].iter().all(u8::is_ascii_digit)
            && bytes.get(6).is_none_or(|b| *b == b'-')
            && text.chars().all(|c| c.is_ascii_digit() || c == '-');
        if looks_like_receipt {
            return Self::ReceiptStart(text.to_string());
        }
        match AnswerQuery::parse(text) {
            Some(words) => Self::Words(words),
            None => Self::Characters(text.to_string()),
        }
    }
}

/// The search's condition (words are matched by the rows' source instead).
fn push_text_search(sql: &mut Sql, search: &Search) {
    match search {
        Search::Nothing => {}
        Search::Receipt(receipt) => {
            sql.push(" AND a.receipt_number = ");
            sql.bind(Param::Text(receipt.as_str().into()));
        }
        Search::ReceiptStart(start) => {
            sql.push(" AND a.receipt_number LIKE ");
            sql.bind(Param::Text(format!("{}%", like_escape(start))));
            sql.push(" ESCAPE '\\'");
        }
        Search::Words(words) => push_single_characters(sql, words),
        Search::Characters(text) => {
            sql.push(" AND a.answers LIKE ");
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
        push_text_search(&mut sql, &Search::of(text));
        (sql.text().to_string(), format!("{sql:?}"))
    }

    #[test]
    fn a_whole_receipt_number_is_looked_up_by_equality() {
        let day = chrono::NaiveDate::from_ymd_opt(2024, 1, 15).unwrap();
        let receipt = ReceiptNumber::new(day, 123).to_string();
        let (text, params) = search(&format!(" {receipt} "));
        assert_eq!(text, "WHERE TRUE AND a.receipt_number = $1");
        assert!(params.contains(&format!("Text(\"{receipt}\")")), "{params}");
    }

    #[test]
    fn the_start_of_a_receipt_number_or_a_wrong_check_digit_matches_by_prefix() {
        for typed in ["240115-000", "240115-000123-0"] {
            let (text, params) = search(typed);
            assert_eq!(text, "WHERE TRUE AND a.receipt_number LIKE $1 ESCAPE '\\'");
            assert!(params.contains(&format!("{typed}%")), "{params}");
        }
    }

    /// The rows a search for words reads on PostgreSQL.
    fn source(text: &str) -> (String, String) {
        let mut sql = Sql::new(Backend::Postgres, "");
        push_postgres_answer_source(&mut sql, "city", &AnswerQuery::parse(text).unwrap(), None);
        (sql.text().to_string(), format!("{sql:?}"))
    }

    #[test]
    fn a_phone_number_is_looked_for_in_the_answers_index() {
        let (text, params) = source("090-1234-5678");
        assert!(
            text.starts_with("application_search s JOIN applications a"),
            "{text}"
        );
        assert!(params.contains("Text(\"% 090 1234 5678 %\")"), "{params}");
        assert_eq!(
            search("090-1234-5678").0,
            "WHERE TRUE",
            "no other condition"
        );
    }

    #[test]
    fn every_word_is_looked_for_and_single_characters_in_the_answers() {
        let (text, _) = source("山田 花子 山");
        assert_eq!(text.matches("terms LIKE").count(), 2, "{text}");
        let (text, params) = search("山田 花子 山");
        assert_eq!(text, "WHERE TRUE AND a.answers LIKE $1 ESCAPE '\\'");
        assert!(params.contains("Text(\"%山%\")"), "{params}");
    }

    #[test]
    fn a_single_character_alone_reads_the_answers() {
        let (text, _) = search("山");
        assert_eq!(text, "WHERE TRUE AND a.answers LIKE $1 ESCAPE '\\'");
    }
}
