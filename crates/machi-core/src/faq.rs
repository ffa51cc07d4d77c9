//! よくある質問 (FAQ): a department's answers to what residents ask, with the procedures they
//! lead to. A city brings them as a spreadsheet (CSV in UTF-8 or Shift_JIS, Japanese or
//! English column names) and edits them in the staff console.

use serde::{Deserialize, Serialize};

use crate::procedures::Localized;

/// One question and its answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaqEntry {
    /// Stable id: 1–80 lowercase letters, digits and hyphens.
    pub id: String,
    pub department_code: String,
    pub department: String,
    pub question: Localized,
    /// Markdown.
    pub answer: Localized,
    /// Ids of the procedures the answer leads to.
    pub procedures: Vec<String>,
    pub keywords: Vec<String>,
}

/// Column names each field is read from.
const COLUMNS: [(&str, &[&str]); 9] = [
    ("id", &["id", "ID", "番号", "FAQ番号"]),
    ("department_code", &["department_code", "担当課コード"]),
    ("department", &["department", "担当課", "所管課"]),
    ("question", &["question", "question_ja", "質問"]),
    ("question_en", &["question_en", "質問(英語)"]),
    ("answer", &["answer", "answer_ja", "回答"]),
    ("answer_en", &["answer_en", "回答(英語)"]),
    ("procedures", &["procedures", "関連手続", "関連する手続"]),
    ("keywords", &["keywords", "キーワード"]),
];
/// Longest question and answer.
const MAX_QUESTION: usize = 300;
const MAX_ANSWER: usize = 10_000;
/// Problems listed before the reader gives up.
const MAX_PROBLEMS: usize = 20;

/// Reads an FAQ spreadsheet. All or nothing: every bad line is reported with its number and
/// the column at fault.
pub fn parse_faq_csv(bytes: &[u8]) -> Result<Vec<FaqEntry>, Vec<String>> {
    let (headers, mut reader) = crate::text::csv_with_headers(bytes)?;
    let at = |field: &str| {
        let names = COLUMNS
            .iter()
            .find(|(f, _)| *f == field)
            .map_or(&[][..], |(_, n)| *n);
        headers.iter().position(|h| names.contains(&h.trim()))
    };
    for required in ["id", "question", "answer"] {
        if at(required).is_none() {
            return Err(vec![format!("line 1: no '{required}' column")]);
        }
    }
    let mut entries: Vec<FaqEntry> = Vec::new();
    let mut problems = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let line = index + 2;
        if problems.len() >= MAX_PROBLEMS {
            break;
        }
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                problems.push(format!("line {line}: {error}"));
                continue;
            }
        };
        let get = |field: &str| {
            at(field)
                .and_then(|i| record.get(i))
                .map(|v| crate::text::clean_text(v).trim().to_string())
                .unwrap_or_default()
        };
        let list = |field: &str| -> Vec<String> {
            get(field)
                .split([';', '、', '|', ','])
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .collect()
        };
        let entry = FaqEntry {
            id: get("id"),
            department_code: get("department_code"),
            department: get("department"),
            question: Localized::new(get("question"), get("question_en")),
            answer: Localized::new(get("answer"), get("answer_en")),
            procedures: list("procedures"),
            keywords: list("keywords"),
        };
        match entry.check() {
            Ok(()) if entries.iter().any(|e| e.id == entry.id) => {
                problems.push(format!("line {line}: id '{}' is used twice", entry.id));
            }
            Ok(()) => entries.push(entry),
            Err(found) => problems.extend(found.into_iter().map(|p| format!("line {line}: {p}"))),
        }
    }
    if entries.is_empty() && problems.is_empty() {
        problems.push("the file has no questions".into());
    }
    if problems.is_empty() {
        Ok(entries)
    } else {
        Err(problems)
    }
}

impl FaqEntry {
    /// What keeps the entry from being saved, each naming its field (as English text).
    pub fn check(&self) -> Result<(), Vec<String>> {
        let problems: Vec<String> = self
            .problems()
            .into_iter()
            .map(|(field, message)| format!("{field}: {}", message.en))
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// What keeps the entry from being saved: (field, message in both languages).
    pub fn problems(&self) -> Vec<(&'static str, Localized)> {
        let mut problems = Vec::new();
        if !crate::procedures::is_valid_id(&self.id) {
            problems.push((
                "id",
                Localized::new(
                    format!(
                        "「{}」は使えません。英小文字・数字・ハイフンの1〜80文字にしてください",
                        self.id
                    ),
                    format!(
                        "'{}': use 1-80 lowercase letters, digits and hyphens",
                        self.id
                    ),
                ),
            ));
        }
        let question = self.question.ja.chars().count();
        if question == 0 || question > MAX_QUESTION {
            problems.push((
                "question",
                Localized::new(
                    format!("質問を1〜{MAX_QUESTION}文字で入力してください"),
                    format!("1 to {MAX_QUESTION} characters"),
                ),
            ));
        }
        let answer = self.answer.ja.chars().count();
        if answer == 0 || answer > MAX_ANSWER {
            problems.push((
                "answer",
                Localized::new(
                    format!("回答を1〜{MAX_ANSWER}文字で入力してください"),
                    format!("1 to {MAX_ANSWER} characters"),
                ),
            ));
        }
        if let Some(bad) = self
            .procedures
            .iter()
            .find(|p| !crate::procedures::is_valid_id(p))
        {
            problems.push((
                "procedures",
                Localized::new(
                    format!("「{bad}」は手続のIDではありません"),
                    format!("'{bad}' is not a procedure id"),
                ),
            ));
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spreadsheet_of_questions_reads_in_japanese_or_english_columns() {
        let csv = "番号,担当課,質問,回答,関連手続,キーワード\n\
                   gomi-1,環境課,粗大ごみはどう出しますか,事前に申し込んでください。,sodai-gomi,粗大ごみ;家具\n";
        let entries = parse_faq_csv(csv.as_bytes()).unwrap();
        assert_eq!(entries[0].procedures, ["sodai-gomi"]);
        assert_eq!(entries[0].keywords, ["粗大ごみ", "家具"]);
        let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode(csv);
        assert_eq!(parse_faq_csv(&sjis).unwrap(), entries);
        let bad = "id,question,answer\nBad Id,,x\ngomi-1,q,a\ngomi-1,q,a\n";
        let problems = parse_faq_csv(bad.as_bytes()).unwrap_err();
        assert!(problems[0].starts_with("line 2: id"), "{problems:?}");
        assert!(problems[1].starts_with("line 2: question"), "{problems:?}");
        assert!(
            problems[2].starts_with("line 4") && problems[2].contains("twice"),
            "{problems:?}"
        );
        assert!(parse_faq_csv(b"question,answer\nq,a\n").unwrap_err()[0].contains("'id'"));
    }
}
