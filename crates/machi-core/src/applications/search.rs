//! Staff search for words in the answers (a name, a phone number, an e-mail address): the text
//! an application is found by, and the index terms both databases keep for it.
//!
//! Japanese has no spaces between words, so the answers are indexed as overlapping pairs of
//! characters (bigrams), which need no dictionary and find a two-character name such as 山田.
//! Every answer is folded as the catalog search folds (width, kana, case) and keeps only letters
//! and digits, so 「０９０ー１２３４」, 「090-1234」 and 「0901234」 are the same search, and
//! ヤマダ finds やまだ.
//!
//! Written by hand rather than with a search library: the pairs go into the database's own
//! full-text index (FTS5 on SQLite, a GIN index on PostgreSQL) inside the intake transaction,
//! so an acknowledged application is searchable on every node at once, with nothing else to
//! keep in step.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::text::search_key;

/// Separates the answers in [`searchable_text`]; never part of a folded word, so a match cannot
/// run from one answer into the next.
pub const ANSWER_SEPARATOR: char = '\n';

/// The answers as they are searched: every text or number, folded, one per line.
pub fn searchable_text(answers: &Map<String, Value>) -> String {
    let mut lines = Vec::new();
    for value in answers.values() {
        collect_words(value, &mut lines);
    }
    lines.join(&ANSWER_SEPARATOR.to_string())
}

fn collect_words(value: &Value, lines: &mut Vec<String>) {
    let folded = match value {
        Value::String(text) => fold(text),
        Value::Number(number) => fold(&number.to_string()),
        Value::Array(items) => return items.iter().for_each(|item| collect_words(item, lines)),
        Value::Object(fields) => {
            return fields.values().for_each(|item| collect_words(item, lines))
        }
        Value::Bool(_) | Value::Null => return,
    };
    if !folded.is_empty() {
        lines.push(folded);
    }
}

/// Width, kana and case folded, letters and digits only. 「ー」 is a letter in katakana
/// (サトー) but a dash beside a digit (０９０ー１２３４), as residents type phone numbers.
fn fold(text: &str) -> String {
    let key: Vec<char> = search_key(text).chars().collect();
    let beside_digit = |i: usize| {
        let digit = |j: Option<&char>| j.is_some_and(char::is_ascii_digit);
        digit(i.checked_sub(1).and_then(|j| key.get(j))) || digit(key.get(i + 1))
    };
    key.iter()
        .enumerate()
        .filter(|&(i, c)| c.is_alphanumeric() && !(*c == 'ー' && beside_digit(i)))
        .map(|(_, c)| *c)
        .collect()
}

/// The overlapping character pairs of each line of [`searchable_text`], in order and separated
/// by spaces: what the SQLite full-text index is given, so that the pairs of a word are
/// consecutive there and a phrase of them matches exactly that word.
pub fn bigram_text(searchable: &str) -> String {
    searchable
        .split(ANSWER_SEPARATOR)
        .flat_map(bigrams)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The distinct pairs of [`searchable_text`] (for PostgreSQL's GIN index, which keeps a set).
pub fn bigram_set(searchable: &str) -> String {
    let set: BTreeSet<String> = searchable
        .split(ANSWER_SEPARATOR)
        .flat_map(bigrams)
        .collect();
    set.into_iter().collect::<Vec<_>>().join(" ")
}

fn bigrams(word: &str) -> Vec<String> {
    let chars: Vec<char> = word.chars().collect();
    chars.windows(2).map(|pair| pair.iter().collect()).collect()
}

/// What staff typed, as words that must all be found in the answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerQuery {
    /// Folded words of two characters or more, each looked up by its pairs.
    pub words: Vec<String>,
    /// Single characters typed as words, which no pair can find: checked against the stored
    /// answers as typed.
    pub single_characters: Vec<String>,
}

impl AnswerQuery {
    /// The words of a search, split at spaces; `None` when nothing of two characters or more
    /// is left to look up.
    pub fn parse(typed: &str) -> Option<Self> {
        let mut words = Vec::new();
        let mut single_characters = Vec::new();
        for part in typed.split_whitespace() {
            let word = fold(part);
            match word.chars().count() {
                0 => {}
                1 => single_characters.push(part.to_string()),
                _ if !words.contains(&word) => words.push(word),
                _ => {}
            }
        }
        (!words.is_empty()).then_some(Self {
            words,
            single_characters,
        })
    }

    /// An FTS5 query over [`bigram_text`]: each word a phrase of its pairs, all required.
    pub fn fts5_query(&self) -> String {
        self.words
            .iter()
            .map(|word| format!("\"{}\"", bigrams(word).join(" ")))
            .collect::<Vec<_>>()
            .join(" AND ")
    }

    /// Every pair the words need, for PostgreSQL's `grams @> …` (the words themselves are then
    /// checked in the folded text, since a set of pairs does not say they are adjacent).
    pub fn bigram_set(&self) -> String {
        bigram_set(&self.words.join(&ANSWER_SEPARATOR.to_string()))
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
    fn answers_are_folded_one_per_line_without_keys_or_marks() {
        let text = searchable_text(&answers(json!({
            "shimei": "山田　花子",
            "kana": "ﾔﾏﾀﾞ ﾊﾅｺ",
            "denwa": "０９０ー１２３４－５６７８",
            "mail": "Hanako@Example.JP",
            "count": 3,
            "agree": true,
            "children": [{"name": "山田 蓮"}],
        })));
        let lines: Vec<&str> = text.split(ANSWER_SEPARATOR).collect();
        for expected in [
            "山田花子",
            "ヤマダハナコ",
            "09012345678",
            "hanakoexamplejp",
            "3",
            "山田蓮",
        ] {
            assert!(lines.contains(&expected), "{expected} in {lines:?}");
        }
        assert!(!text.contains("shimei") && !text.contains("true"), "{text}");
    }

    #[test]
    fn pairs_stay_within_one_answer() {
        let text = searchable_text(&answers(json!({"a": "山田", "b": "花子"})));
        let pairs = bigram_text(&text);
        assert_eq!(pairs.split(' ').collect::<Vec<_>>(), ["山田", "花子"]);
        assert!(!bigram_set(&text).contains("田花"));
    }

    #[test]
    fn a_search_is_its_folded_words_and_each_word_a_phrase_of_pairs() {
        let query = AnswerQuery::parse(" やまだ　090-1234 x ").unwrap();
        assert_eq!(query.words, ["ヤマダ", "0901234"]);
        assert_eq!(query.single_characters, ["x"]);
        assert_eq!(
            query.fts5_query(),
            "\"ヤマ マダ\" AND \"09 90 01 12 23 34\""
        );
        assert_eq!(query.bigram_set(), "01 09 12 23 34 90 マダ ヤマ");
    }

    #[test]
    fn nothing_of_two_characters_is_no_word_search() {
        assert_eq!(AnswerQuery::parse("山 - ・"), None);
        assert_eq!(AnswerQuery::parse("   "), None);
    }

    #[test]
    fn fts5_syntax_in_what_staff_type_is_only_text() {
        let query = AnswerQuery::parse("\"a\" OR b* NEAR(c)").unwrap();
        assert!(query
            .fts5_query()
            .split('"')
            .all(|part| !part.contains('*')));
        assert_eq!(query.words, ["or", "nearc"]);
    }
}
