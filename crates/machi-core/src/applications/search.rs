//! Staff search for words in the answers (a name, a phone number, an e-mail address): the
//! index terms an application is found by, the same on both databases.
//!
//! Every answer is folded as the catalog search folds it (width, kana, case), then cut into
//! runs. A run of kanji and kana becomes its overlapping character pairs (bigrams), which need
//! no dictionary and find a two-character name such as 山田 anywhere in a longer one; spaces
//! inside it do not count, so 「山田花子」 finds 「山田 花子」. A run of Latin letters or digits
//! is one term as a whole (「090」「1234」「hanako」), because its pairs would be the same few
//! in every application (「09」「re」) and no index finds anything quickly through those; an
//! answer written only in Latin letters and digits (a phone number, a postcode, an e-mail
//! address) is also one term with its separators dropped, so 「09012345678」 finds
//! 「090-1234-5678」. 「ー」 beside a digit is a dash (０９０ー１２３４), elsewhere a letter (サトー).
//!
//! The terms of an answer are kept in order, separated by spaces: a word is found where its
//! terms stand next to each other (an FTS5 phrase on SQLite; on PostgreSQL the set of terms
//! under a GIN index, then the same sequence in the stored text).
//!
//! Written by hand rather than with a search library: the terms go into the database's own
//! full-text index inside the intake transaction, so an acknowledged application is searchable
//! on every node at once, with nothing else to keep in step.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::text::search_key;

/// Stands between two answers in [`answer_terms`], so that no word runs from one answer into
/// the next: a term of its own that no search can ask for (terms are letters and digits).
pub const ANSWER_BREAK: &str = "¶";

/// The terms of the answers: each answer's terms in order, separated by spaces, answers
/// separated by [`ANSWER_BREAK`], with a space at both ends (so `LIKE '% a b %'` finds the
/// terms `a b` standing together).
pub fn answer_terms(answers: &Map<String, Value>) -> String {
    let mut lines = Vec::new();
    for value in answers.values() {
        collect_lines(value, &mut lines);
    }
    format!(" {} ", lines.join(&format!(" {ANSWER_BREAK} ")))
}

fn collect_lines(value: &Value, lines: &mut Vec<String>) {
    let terms = match value {
        Value::String(text) => terms(text, true),
        Value::Number(number) => terms(&number.to_string(), true),
        Value::Array(items) => return items.iter().for_each(|item| collect_lines(item, lines)),
        Value::Object(fields) => {
            return fields.values().for_each(|item| collect_lines(item, lines))
        }
        Value::Bool(_) | Value::Null => return,
    };
    if !terms.is_empty() {
        lines.push(terms.join(" "));
    }
}

/// The distinct terms of [`answer_terms`], for PostgreSQL's GIN index (which keeps a set).
pub fn term_set(answer_terms: &str) -> String {
    let set: BTreeSet<&str> = answer_terms
        .split_whitespace()
        .filter(|term| *term != ANSWER_BREAK)
        .collect();
    set.into_iter().collect::<Vec<_>>().join(" ")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Kanji and kana: cut into pairs.
    Japanese,
    /// Latin letters and digits (and other alphabets): whole.
    Latin,
    Separator,
}

fn kind(c: char) -> Kind {
    match c {
        '々' | '〆' | 'ー' | 'ヽ' | 'ヾ' => Kind::Japanese,
        '\u{3040}'..='\u{30FF}' | '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}' => {
            Kind::Japanese
        }
        '\u{F900}'..='\u{FAFF}' => Kind::Japanese,
        c if c.is_alphanumeric() => Kind::Latin,
        _ => Kind::Separator,
    }
}

/// The terms of one answer (`whole` adds the joined Latin runs of an answer written only in
/// them) or of one word of a search, in order.
fn terms(text: &str, whole: bool) -> Vec<String> {
    let folded: Vec<char> = search_key_with_spaces(text);
    let mut kinds: Vec<Kind> = folded.iter().map(|c| kind(*c)).collect();
    // 「ー」 beside a digit is a dash.
    for i in 0..folded.len() {
        let digit = |j: Option<usize>| {
            j.and_then(|j| folded.get(j))
                .is_some_and(char::is_ascii_digit)
        };
        if folded[i] == 'ー' && (digit(i.checked_sub(1)) || digit(Some(i + 1))) {
            kinds[i] = Kind::Separator;
        }
    }
    let mut out = Vec::new();
    let mut japanese: Vec<char> = Vec::new();
    let mut latin = String::new();
    let mut latin_runs = 0;
    let flush_japanese = |run: &mut Vec<char>, out: &mut Vec<String>| {
        match run.len() {
            0 => {}
            1 => out.push(run[0].to_string()),
            _ => out.extend(run.windows(2).map(|pair| pair.iter().collect::<String>())),
        }
        run.clear();
    };
    for (c, k) in folded.iter().zip(&kinds) {
        match k {
            Kind::Japanese => {
                if !latin.is_empty() {
                    out.push(std::mem::take(&mut latin));
                }
                japanese.push(*c);
            }
            Kind::Latin => {
                flush_japanese(&mut japanese, &mut out);
                if latin.is_empty() {
                    latin_runs += 1;
                }
                latin.push(*c);
            }
            // Spaces and marks end a Latin run; a Japanese run goes on across them.
            Kind::Separator => {
                if !latin.is_empty() {
                    out.push(std::mem::take(&mut latin));
                }
            }
        }
    }
    flush_japanese(&mut japanese, &mut out);
    if !latin.is_empty() {
        out.push(latin);
    }
    let all_latin = kinds.iter().all(|k| *k != Kind::Japanese);
    if whole && all_latin && latin_runs > 1 {
        out.push(out.concat());
    }
    out
}

/// [`search_key`] (width, katakana, lower case) keeping spaces, which separate Latin words.
fn search_key_with_spaces(text: &str) -> Vec<char> {
    text.split_whitespace()
        .map(search_key)
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .collect()
}

/// What staff typed, as words that must all be found in the answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerQuery {
    /// Each word's terms, in order.
    pub words: Vec<Vec<String>>,
    /// Single characters typed as words (山), which no pair can find: checked against the
    /// stored answers as typed.
    pub single_characters: Vec<String>,
}

impl AnswerQuery {
    /// The words of a search, split at spaces; `None` when nothing is left to look up by
    /// its terms (only single kanji or kana, or marks).
    pub fn parse(typed: &str) -> Option<Self> {
        let mut words: Vec<Vec<String>> = Vec::new();
        let mut single_characters = Vec::new();
        for part in typed.split_whitespace() {
            let found = terms(part, false);
            let lone_character = found.len() == 1
                && found[0].chars().count() == 1
                && kind(found[0].chars().next().unwrap_or(' ')) == Kind::Japanese;
            if found.is_empty() {
                continue;
            }
            if lone_character {
                single_characters.push(part.to_string());
            } else if !words.contains(&found) {
                words.push(found);
            }
        }
        (!words.is_empty()).then_some(Self {
            words,
            single_characters,
        })
    }

    /// An FTS5 query over [`answer_terms`]: each word a phrase of its terms, all required.
    /// Terms are letters and digits only, so nothing typed can be read as FTS5 syntax.
    pub fn fts5_query(&self) -> String {
        self.words
            .iter()
            .map(|terms| format!("\"{}\"", terms.join(" ")))
            .collect::<Vec<_>>()
            .join(" AND ")
    }

    /// Every term the words need, for PostgreSQL's `terms @> …`.
    pub fn term_set(&self) -> String {
        term_set(
            &self
                .words
                .iter()
                .map(|w| w.join(" "))
                .collect::<Vec<_>>()
                .join(" "),
        )
    }

    /// Each word as it stands in [`answer_terms`] (its terms separated by spaces, a space on
    /// either side), to confirm on PostgreSQL that a word's terms stand together.
    pub fn phrases(&self) -> Vec<String> {
        self.words
            .iter()
            .map(|terms| format!(" {} ", terms.join(" ")))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn answers(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    #[test]
    fn answers_become_pairs_and_whole_latin_words_one_answer_per_line() {
        let text = answer_terms(&answers(json!({
            "a_name": "山田　花子",
            "b_kana": "ﾔﾏﾀﾞ ﾊﾅｺ",
            "c_phone": "０９０ー１２３４－５６７８",
            "d_mail": "Hanako.Yamada@Example.JP",
            "e_address": "中央町3丁目",
            "f_count": 3,
            "g_agree": true,
            "h_children": [{"name": "蓮"}],
        })));
        let lines: Vec<&str> = text.trim().split(" ¶ ").collect();
        assert_eq!(
            lines,
            [
                "山田 田花 花子",
                "ヤマ マダ ダハ ハナ ナコ",
                "090 1234 5678 09012345678",
                "hanako yamada example jp hanakoyamadaexamplejp",
                "中央 央町 3 丁目",
                "3",
                "蓮",
            ]
        );
    }

    #[test]
    fn a_search_is_its_words_each_a_phrase_of_terms() {
        let query = AnswerQuery::parse(" やまだ　090-1234 山 ").unwrap();
        assert_eq!(query.words, [vec!["ヤマ", "マダ"], vec!["090", "1234"]]);
        assert_eq!(query.single_characters, ["山"]);
        assert_eq!(query.fts5_query(), "\"ヤマ マダ\" AND \"090 1234\"");
        assert_eq!(query.term_set(), "090 1234 マダ ヤマ");
        assert_eq!(query.phrases(), [" ヤマ マダ ", " 090 1234 "]);
        let bare = AnswerQuery::parse("09012345678").unwrap();
        assert_eq!(bare.words, [vec!["09012345678"]]);
        assert_eq!(AnswerQuery::parse("x").unwrap().words, [vec!["x"]]);
    }

    #[test]
    fn no_word_runs_from_one_answer_into_the_next() {
        let text = answer_terms(&answers(json!({"a": "山田", "b": "花子"})));
        assert_eq!(text, " 山田 ¶ 花子 ");
        assert_eq!(term_set(&text), "山田 花子");
        let across = AnswerQuery::parse("山田花子").unwrap();
        assert!(!text.contains(&across.phrases()[0]));
    }

    #[test]
    fn nothing_but_single_kana_or_marks_is_no_term_search() {
        assert_eq!(AnswerQuery::parse("山 - ・"), None);
        assert_eq!(AnswerQuery::parse("   "), None);
    }

    #[test]
    fn fts5_syntax_in_what_staff_type_is_only_text() {
        let query = AnswerQuery::parse("\"a\" OR b* NEAR(c)").unwrap();
        assert!(query
            .fts5_query()
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '"' | ' ')));
    }
}
