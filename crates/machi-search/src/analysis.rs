//! Japanese text into index terms without a dictionary: each piece of text is folded the way
//! the catalog search always folded it (width, hiragana → katakana, case), then cut into runs
//! of one script (kanji, katakana, Latin letters and digits); a kanji or kana run becomes its
//! overlapping character pairs (bigrams: 児童手当 → 児童, 童手, 手当), a lone character stays
//! itself, and a Latin or digit run is one word. Bigrams find words inside compounds and
//! phrases that no segmenter splits the same way twice (「住民票がほしい」 holds 住民, 民票), and
//! need no dictionary to download.
//!
//! An English word becomes its Snowball stem (certificates, certificate → certif), and the
//! words that carry no subject (I, need, how, to …) are marked as hiragana endings are.
//!
//! Written by hand: tantivy's n-gram tokenizer knows no scripts (it pairs a kanji with the
//! particle after it, and splits Latin words), and a morphological analyser would need its
//! dictionary shipped.

use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

/// What a character is, for cutting text into runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Script {
    Kanji,
    Kana,
    Latin,
    Other,
}

pub(crate) fn script(c: char) -> Script {
    match c {
        '々'
        | '〆'
        | '\u{4E00}'..='\u{9FFF}'
        | '\u{3400}'..='\u{4DBF}'
        | '\u{F900}'..='\u{FAFF}' => Script::Kanji,
        'ァ'..='ヺ' | 'ー' | 'ヽ' | 'ヾ' => Script::Kana,
        c if c.is_alphanumeric() => Script::Latin,
        _ => Script::Other,
    }
}

/// The terms of a text, in order.
pub fn terms(text: &str) -> Vec<String> {
    marked_terms(text)
        .into_iter()
        .map(|(term, _)| term)
        .collect()
}

/// The terms of a text, each marked when it was written wholly in hiragana (「したい」「ない」:
/// the endings of a sentence more often than its subject).
pub fn marked_terms(text: &str) -> Vec<(String, bool)> {
    let chars: Vec<(char, bool)> = machi_core::text::fold_width(text)
        .chars()
        .map(|c| (fold_char(c), is_hiragana(c)))
        .collect();
    let mut out = Vec::new();
    let mut run: Vec<(char, bool)> = Vec::new();
    let mut kind = Script::Other;
    let flush = |run: &mut Vec<(char, bool)>, kind: Script, out: &mut Vec<(String, bool)>| {
        match kind {
            Script::Kanji | Script::Kana if run.len() > 1 => {
                out.extend(run.windows(2).map(|pair| {
                    (
                        pair.iter().map(|(c, _)| *c).collect::<String>(),
                        pair.iter().all(|(_, h)| *h),
                    )
                }));
            }
            Script::Latin if !run.is_empty() => {
                let word: String = run.iter().map(|(c, _)| *c).collect();
                let soft = ENGLISH_FUNCTION_WORDS.contains(&word.as_str());
                out.push((english_stem(&word), soft));
            }
            Script::Kanji | Script::Kana if !run.is_empty() => {
                out.push((
                    run.iter().map(|(c, _)| *c).collect(),
                    run.iter().all(|(_, h)| *h),
                ));
            }
            _ => {}
        }
        run.clear();
    };
    for (c, hiragana) in chars {
        let this = script(c);
        // Kanji and kana run on into each other (住民票がほしい), so that a pair spans the
        // join as it spans a word written half in kana (引っ越し).
        let joins = matches!(
            (kind, this),
            (Script::Kanji | Script::Kana, Script::Kanji | Script::Kana)
        );
        if this != kind && !joins {
            flush(&mut run, kind, &mut out);
        }
        if this != Script::Other {
            run.push((c, hiragana));
        }
        kind = this;
    }
    flush(&mut run, kind, &mut out);
    out
}

/// One width-folded character as the index sees it: katakana for hiragana, lower case.
pub(crate) fn fold_char(c: char) -> char {
    // The characters almost all text is made of, without the allocation of the general path
    // (indexing 100,000 documents folds tens of millions of characters).
    match c {
        'A'..='Z' => return c.to_ascii_lowercase(),
        'a'..='z' | '0'..='9' | 'ァ'..='ヶ' | 'ー' | '\u{4E00}'..='\u{9FFF}' => return c,
        'ぁ'..='ゖ' => return char::from_u32(c as u32 + 0x60).unwrap_or(c),
        _ => {}
    }
    machi_core::text::to_katakana(&c.to_string())
        .to_lowercase()
        .chars()
        .next()
        .unwrap_or(c)
}

pub(crate) fn is_hiragana(c: char) -> bool {
    ('ぁ'..='ゖ').contains(&c)
}

/// English words that say how a question is asked, not what it is about (the counterpart of
/// hiragana endings such as したい): kept as terms, but not what a result must hold.
pub(crate) const ENGLISH_FUNCTION_WORDS: &[&str] = &[
    "a", "about", "am", "an", "and", "any", "are", "as", "at", "be", "can", "could", "do", "does",
    "for", "from", "get", "got", "have", "how", "i", "if", "in", "is", "it", "me", "my", "need",
    "of", "on", "or", "our", "please", "should", "so", "some", "the", "there", "this", "to",
    "want", "we", "what", "when", "where", "which", "who", "why", "will", "with", "would", "you",
    "your",
];

/// The Snowball (Porter 2) stem of a lower-case English word; digits and words of other
/// scripts pass through unchanged.
fn english_stem(word: &str) -> String {
    thread_local! {
        static STEMMER: rust_stemmers::Stemmer =
            rust_stemmers::Stemmer::create(rust_stemmers::Algorithm::English);
    }
    if !word.chars().any(|c| c.is_ascii_alphabetic()) {
        return word.to_string();
    }
    STEMMER.with(|stemmer| stemmer.stem(word).into_owned())
}

/// The tokenizer registered for every text field (see [`terms`]).
#[derive(Clone, Default)]
pub struct Bigrams;

/// The tokens of one text.
pub struct Tokens {
    tokens: Vec<Token>,
    at: usize,
}

impl Tokenizer for Bigrams {
    type TokenStream<'a> = Tokens;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Tokens {
        let tokens = terms(text)
            .into_iter()
            .enumerate()
            .map(|(position, text)| Token {
                offset_from: 0,
                offset_to: 0,
                position,
                text,
                position_length: 1,
            })
            .collect();
        Tokens { tokens, at: 0 }
    }
}

impl TokenStream for Tokens {
    fn advance(&mut self) -> bool {
        self.at += 1;
        self.at <= self.tokens.len()
    }

    fn token(&self) -> &Token {
        &self.tokens[self.at - 1]
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.at - 1]
    }
}

#[cfg(test)]
mod tests {
    use super::terms;

    #[test]
    fn text_becomes_script_runs_and_bigrams() {
        assert_eq!(terms("児童手当"), ["児童", "童手", "手当"]);
        assert_eq!(terms("じどうてあて"), terms("ｼﾞﾄﾞｳﾃｱﾃ"));
        assert_eq!(terms("住民票 ほしい"), ["住民", "民票", "ホシ", "シイ"]);
        assert_eq!(
            terms("マイナ portal 2024"),
            ["マイ", "イナ", "portal", "2024"]
        );
        assert_eq!(terms("犬"), ["犬"]);
        assert_eq!(
            terms("Residence Certificates"),
            terms("residence certificate")
        );
        assert!(terms("、。！").is_empty());
    }
}

#[cfg(test)]
mod english_tests {
    use super::marked_terms;

    #[test]
    fn english_function_words_are_marked_like_hiragana_endings() {
        let marked = marked_terms("How do I get a residence certificate");
        let subject: Vec<&str> = marked
            .iter()
            .filter(|(_, soft)| !soft)
            .map(|(t, _)| t.as_str())
            .collect();
        assert_eq!(subject, ["resid", "certif"]);
    }
}
