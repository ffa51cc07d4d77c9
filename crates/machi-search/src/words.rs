//! Everyday words: what residents type for the city's terms (ほしい → 交付, 引っ越し → 転出 ·
//! 転入 · 転居, ハンコ → 印鑑 …). A list a city edits (one line a group: the words residents use,
//! a tab, the terms to search as well); machi ships a default list.

/// The list, ready to widen queries.
#[derive(Debug, Clone, Default)]
pub struct EverydayWords {
    /// (folded words residents type, terms to add)
    groups: Vec<(Vec<String>, Vec<String>)>,
}

/// The default list (see `data/everyday-words.tsv`).
pub const DEFAULT: &str = include_str!("../data/everyday-words.tsv");

fn fold(text: &str) -> String {
    machi_core::text::search_key(text)
}

impl EverydayWords {
    /// Reads the list: `word|word|…<TAB>term term …` per line; `#` starts a comment. Returns
    /// the line numbers of lines that are not of that shape.
    pub fn parse(text: &str) -> Result<Self, Vec<usize>> {
        let mut groups = Vec::new();
        let mut bad = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim_end();
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((words, terms)) = line.split_once('\t') else {
                bad.push(index + 1);
                continue;
            };
            let words: Vec<String> = words
                .split('|')
                .map(fold)
                .filter(|w| !w.is_empty())
                .collect();
            let terms: Vec<String> = terms.split_whitespace().map(str::to_string).collect();
            if words.is_empty() || terms.is_empty() {
                bad.push(index + 1);
                continue;
            }
            groups.push((words, terms));
        }
        if bad.is_empty() {
            Ok(Self { groups })
        } else {
            Err(bad)
        }
    }

    /// The default list.
    pub fn default_list() -> Self {
        Self::parse(DEFAULT).unwrap_or_default()
    }

    /// The terms to search besides the query: those of every group one of whose words the
    /// query holds.
    pub fn expand(&self, query: &str) -> Vec<String> {
        let folded = fold(query);
        let mut out: Vec<String> = Vec::new();
        for (words, terms) in &self.groups {
            if words.iter().any(|w| folded.contains(w.as_str())) {
                for term in terms {
                    if !out.contains(term) {
                        out.push(term.clone());
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_list_reads_and_widens_everyday_words() {
        let words = EverydayWords::default_list();
        assert!(words.groups.len() > 30);
        assert!(EverydayWords::parse(DEFAULT).is_ok());
        assert!(words.expand("ハンコを登録").contains(&"印鑑".to_string()));
        assert!(words.expand("ひっこし").contains(&"転出".to_string()));
        assert!(EverydayWords::parse("no tab here\n").is_err());
    }
}
