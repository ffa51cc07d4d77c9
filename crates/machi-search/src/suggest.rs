//! "Did you mean": a word typed a little wrong (住民表, こせきとおほん, pasport) is found among
//! the names the city's documents are called by — titles, plain titles, keywords, readings,
//! English titles — and the query is offered again with the name in its place
//! (住民表がほしい → 住民票がほしい).
//!
//! Only a part of the query that cannot be in any document is corrected: one holding a pair of
//! characters (or, in English, a word) the index has never seen. Such a part is aligned with
//! the names sharing its other pairs, and the closest name within one or two edits wins —
//! the fewest edits, then the longest part corrected, then the name most documents carry.
//!
//! Written by hand: the edit-distance crates (strsim) compare whole strings, but a typed word
//! matches a part of a longer name (こせきとおほん in こせきとうほんしょうほん), which needs the
//! alignment to find where that part lies (Sellers' approximate substring match).

use std::cmp::Reverse;
use std::collections::{HashMap, HashSet};

use crate::analysis::{fold_char, is_hiragana, script, Script, ENGLISH_FUNCTION_WORDS};
use crate::Document;

/// Queries longer than this are questions, not mistyped names, and are not corrected (which
/// also bounds the work a query can cause).
const LONGEST_QUERY: usize = 60;
/// The longest part of a query corrected as one word.
const LONGEST_PART: usize = 12;
/// A pair more names hold than this says nothing about which name was meant.
const COMMON_PAIR: usize = 5_000;
/// Most names aligned with one part of a query.
const CANDIDATES: usize = 50;

/// A name's characters as typed (width-folded) and as the index folds them, one for one.
struct Name {
    shown: Vec<char>,
    folded: Vec<char>,
    /// How many documents carry it.
    documents: u32,
    /// How much it is used: its documents, each counted with its yearly volume (so that of
    /// two names as near, the one more residents ask for is offered).
    weight: u64,
}

/// Every name of the indexed documents, found by the pairs of characters in it.
#[derive(Default)]
pub(crate) struct Vocabulary {
    names: Vec<Option<Name>>,
    ids: HashMap<Vec<char>, usize>,
    free: Vec<usize>,
    by_pair: HashMap<[char; 2], HashSet<usize>>,
}

impl Vocabulary {
    pub(crate) fn add(&mut self, document: &Document) {
        let weight = document_weight(document);
        for shown in names_of(document) {
            let folded: Vec<char> = shown.iter().copied().map(fold_char).collect();
            if let Some(name) = self
                .ids
                .get(&folded)
                .and_then(|id| self.names[*id].as_mut())
            {
                name.documents += 1;
                name.weight += weight;
                continue;
            }
            let id = self.free.pop().unwrap_or(self.names.len());
            for pair in folded.windows(2) {
                self.by_pair
                    .entry([pair[0], pair[1]])
                    .or_default()
                    .insert(id);
            }
            self.ids.insert(folded.clone(), id);
            let name = Some(Name {
                shown,
                folded,
                documents: 1,
                weight,
            });
            if id == self.names.len() {
                self.names.push(name);
            } else {
                self.names[id] = name;
            }
        }
    }

    pub(crate) fn remove(&mut self, document: &Document) {
        let weight = document_weight(document);
        for shown in names_of(document) {
            let folded: Vec<char> = shown.iter().copied().map(fold_char).collect();
            let Some(&id) = self.ids.get(&folded) else {
                continue;
            };
            let Some(name) = self.names[id].as_mut() else {
                continue;
            };
            name.documents -= 1;
            name.weight = name.weight.saturating_sub(weight);
            if name.documents > 0 {
                continue;
            }
            for pair in folded.windows(2) {
                let key = [pair[0], pair[1]];
                if let Some(ids) = self.by_pair.get_mut(&key) {
                    ids.remove(&id);
                    if ids.is_empty() {
                        self.by_pair.remove(&key);
                    }
                }
            }
            self.ids.remove(&folded);
            self.names[id] = None;
            self.free.push(id);
        }
    }

    /// The query with its mistyped parts corrected, or `None` when nothing in it looks
    /// mistyped. `known` tells whether the index holds a term.
    pub(crate) fn correct(&self, query: &str, known: &dyn Fn(&str) -> bool) -> Option<String> {
        let typed: Vec<char> = machi_core::text::fold_width(query).chars().collect();
        if typed.len() > LONGEST_QUERY {
            return None;
        }
        let folded: Vec<char> = typed.iter().copied().map(fold_char).collect();
        let query = Typed {
            context: pairs(&folded),
            typed: &typed,
            folded: &folded,
            known,
        };
        let corrections: Vec<Correction> = runs(&typed, &folded)
            .into_iter()
            .filter_map(|run| self.correction(&query, run))
            .collect();
        if corrections.is_empty() {
            return None;
        }
        let mut corrected = typed;
        for c in corrections.iter().rev() {
            corrected.splice(c.from..c.to, c.text.chars());
        }
        Some(corrected.into_iter().collect())
    }

    /// The best correction inside one run of a script.
    fn correction(&self, query: &Typed<'_>, run: Run) -> Option<Correction> {
        let (typed, folded) = (query.typed, query.folded);
        if run.script == Script::Latin {
            return self.latin_correction(query, run);
        }
        // Kana say less per character than kanji: a shorter kana part is too often another
        // word (だしたい is not ダッタイ).
        let shortest = if run.script == Script::Kanji { 3 } else { 5 };
        // Whether each pair of the run is in the index.
        let pair_known: Vec<bool> = (run.from..run.to.saturating_sub(1))
            .map(|i| (query.known)(&folded[i..i + 2].iter().collect::<String>()))
            .collect();
        let mut best: Option<(Found, usize, usize)> = None;
        for from in run.from..run.to {
            let longest = (run.to - from).min(LONGEST_PART);
            for length in shortest..=longest {
                let to = from + length;
                // A part the index could hold is not mistyped.
                if (from..to - 1).all(|i| pair_known[i - run.from]) {
                    continue;
                }
                let part = Part {
                    chars: &folded[from..to],
                    script: run.script,
                    open_start: from == run.from,
                    open_end: to == run.to,
                    context: &query.context,
                };
                let Some(found) = self.nearest(&part) else {
                    continue;
                };
                let rank = |f: &Found, length: usize| {
                    (
                        f.edits,
                        Reverse(length),
                        Reverse(f.context),
                        Reverse(f.weight),
                    )
                };
                if best
                    .as_ref()
                    .is_none_or(|(b, b_from, b_to)| rank(&found, length) < rank(b, b_to - b_from))
                {
                    best = Some((found, from, to));
                }
            }
        }
        let (found, from, to) = best?;
        let name = self.names[found.id].as_ref()?;
        let part = &typed[from..to];
        let text: String = if part.iter().all(|c| is_hiragana(*c)) {
            machi_core::text::katakana_to_hiragana(
                &name.folded[found.from..found.to].iter().collect::<String>(),
            )
        } else if part.iter().all(|c| script(*c) == Script::Kana) {
            name.folded[found.from..found.to].iter().collect()
        } else {
            name.shown[found.from..found.to].iter().collect()
        };
        Some(Correction { from, to, text })
    }

    /// An English word the index has never seen, replaced by the closest whole word.
    fn latin_correction(&self, query: &Typed<'_>, run: Run) -> Option<Correction> {
        let folded = query.folded;
        let word: String = folded[run.from..run.to].iter().collect();
        if run.to - run.from < 4
            || ENGLISH_FUNCTION_WORDS.contains(&word.as_str())
            || crate::analysis::terms(&word)
                .iter()
                .all(|t| (query.known)(t))
        {
            return None;
        }
        let found = self.nearest(&Part {
            chars: &folded[run.from..run.to],
            script: Script::Latin,
            open_start: true,
            open_end: true,
            context: &query.context,
        })?;
        let name = self.names[found.id].as_ref()?;
        Some(Correction {
            from: run.from,
            to: run.to,
            text: name.folded.iter().collect(),
        })
    }

    /// The name closest to a part of the query, within the edits its length allows: the
    /// fewest edits, then the name sharing most pairs with the whole query, then the name
    /// most used, then the first in order (so that every node offers the same).
    fn nearest(&self, part: &Part) -> Option<Found> {
        let chars = part.chars;
        // Kana are mistyped one at a time (お for う, a う left out); kanji and English words
        // of six or more may have two slips.
        let allowed = if part.script != Script::Kana && chars.len() >= 6 {
            2
        } else {
            1
        };
        let own = pairs(chars);
        // Each edit changes at most two pairs.
        let needed = own.len().saturating_sub(2 * allowed).max(1);
        let mut shared: HashMap<usize, usize> = HashMap::new();
        for ids in own
            .iter()
            .filter_map(|pair| self.by_pair.get(pair))
            .filter(|ids| ids.len() <= COMMON_PAIR)
        {
            for id in ids {
                *shared.entry(*id).or_default() += 1;
            }
        }
        let mut candidates: Vec<(usize, usize)> =
            shared.into_iter().filter(|(_, n)| *n >= needed).collect();
        // The same candidates on every node, whatever order the names were added in.
        let order = |(id, shared): &(usize, usize)| {
            let name = self.names[*id].as_ref();
            (
                Reverse(*shared),
                Reverse(name.map_or(0, |n| n.weight)),
                name.map(|n| n.folded.clone()),
            )
        };
        candidates.sort_by_cached_key(order);
        candidates.truncate(CANDIDATES);
        let mut best: Option<Found> = None;
        for (id, _) in candidates {
            let Some(name) = self.names[id].as_ref() else {
                continue;
            };
            let whole = part.script == Script::Latin;
            if whole != (script(name.folded[0]) == Script::Latin) {
                continue;
            }
            let (edits, from, to) = align(chars, &name.folded, whole);
            if edits == 0 || edits > allowed || !part.fits(&name.folded, from, to) {
                continue;
            }
            let found = Found {
                id,
                edits,
                from,
                to,
                context: pairs(&name.folded).intersection(part.context).count(),
                weight: name.weight,
            };
            let rank = |f: &Found| {
                let name = self.names[f.id].as_ref().map(|n| &n.folded);
                (f.edits, Reverse(f.context), Reverse(f.weight), name)
            };
            if best.as_ref().is_none_or(|b| rank(&found) < rank(b)) {
                best = Some(found);
            }
        }
        best
    }
}

/// The query as typed and as folded (one character for one), the pairs of the whole query,
/// and what tells whether the index holds a term.
struct Typed<'a> {
    typed: &'a [char],
    folded: &'a [char],
    context: HashSet<[char; 2]>,
    known: &'a dyn Fn(&str) -> bool,
}

/// A part of the query to correct, and what is around it.
struct Part<'a> {
    chars: &'a [char],
    script: Script,
    /// Whether the part starts (ends) where its run does: only there may its first (last)
    /// character be the mistyped one — inside a run of kana, a changed edge is another word
    /// running on (かいごさーびす is not カイゴヨ + ーびす).
    open_start: bool,
    open_end: bool,
    /// The pairs of the whole query.
    context: &'a HashSet<[char; 2]>,
}

impl Part<'_> {
    /// Whether span `from..to` of a name can stand for the part.
    fn fits(&self, name: &[char], from: usize, to: usize) -> bool {
        let chars = self.chars;
        // A name shorter than the part is a word typed whole with more after it (介護度,
        // 床上浸水), not a mistyped one.
        if to - from < chars.len() {
            return false;
        }
        if !self.open_start && name[from] != chars[0] {
            return false;
        }
        if !self.open_end && name[to - 1] != chars[chars.len() - 1] {
            return false;
        }
        // Kanji stand for a whole word of the name in kanji, not a piece cut out of a
        // compound (介護度 is not 介護認 of 要介護認定, nor 介護サ of 介護サービス).
        let kanji = |at: usize| name.get(at).is_some_and(|c| script(*c) == Script::Kanji);
        self.script != Script::Kanji
            || !((from > 0 && kanji(from - 1)) || kanji(to) || !(from..to).all(kanji))
    }
}

fn pairs(chars: &[char]) -> HashSet<[char; 2]> {
    chars.windows(2).map(|p| [p[0], p[1]]).collect()
}

/// Where a part of a query lies in a name.
struct Found {
    id: usize,
    edits: usize,
    /// The span of the name that matches.
    from: usize,
    to: usize,
    /// Pairs the name shares with the whole query.
    context: usize,
    weight: u64,
}

/// Characters `from..to` of the query become `text`.
struct Correction {
    from: usize,
    to: usize,
    text: String,
}

#[derive(Clone, Copy)]
struct Run {
    from: usize,
    to: usize,
    script: Script,
}

/// The runs of kanji, of hiragana, of katakana and of Latin letters and digits in a query
/// (a katakana word and the particle after it, ケアマネを, are two runs).
fn runs(typed: &[char], folded: &[char]) -> Vec<Run> {
    let mut runs: Vec<Run> = Vec::new();
    for (i, c) in folded.iter().enumerate() {
        let this = script(*c);
        // The long-vowel mark belongs to either (さーびす, サービス).
        let same_kana =
            |run: &Run| typed[i] == 'ー' || is_hiragana(typed[run.from]) == is_hiragana(typed[i]);
        match runs.last_mut() {
            Some(run) if run.script == this && run.to == i && same_kana(run) => run.to = i + 1,
            _ if this != Script::Other => runs.push(Run {
                from: i,
                to: i + 1,
                script: this,
            }),
            _ => {}
        }
    }
    runs
}

fn document_weight(document: &Document) -> u64 {
    1 + u64::try_from(document.popularity).unwrap_or(0)
}

/// The names a document is called by: its titles, keywords and reading, cut where the script
/// changes to or from Latin letters or at punctuation, each at least two characters long.
fn names_of(document: &Document) -> Vec<Vec<char>> {
    let english = &document.english;
    let texts = [
        &document.plain_title,
        &document.title,
        &document.reading,
        &english.plain_title,
        &english.title,
    ]
    .into_iter()
    .chain(&document.keywords);
    let mut names: Vec<Vec<char>> = Vec::new();
    for text in texts {
        let shown: Vec<char> = machi_core::text::fold_width(text).chars().collect();
        let mut piece: Vec<char> = Vec::new();
        let mut latin = false;
        for c in shown.into_iter().chain(std::iter::once(' ')) {
            let this = script(fold_char(c));
            let cut =
                this == Script::Other || (!piece.is_empty() && latin != (this == Script::Latin));
            if cut {
                if piece.len() >= 2 && !names.contains(&piece) {
                    names.push(std::mem::take(&mut piece));
                }
                piece.clear();
            }
            if this != Script::Other {
                latin = this == Script::Latin;
                piece.push(c);
            }
        }
    }
    names
}

/// The fewest edits that turn `part` into a span of `name` (into all of it with `whole`),
/// and that span.
fn align(part: &[char], name: &[char], whole: bool) -> (usize, usize, usize) {
    // One row of the edit table, each cell with where in the name its match starts.
    let mut above: Vec<(usize, usize)> = (0..=name.len())
        .map(|j| if whole { (j, 0) } else { (0, j) })
        .collect();
    for (i, p) in part.iter().enumerate() {
        let mut row = Vec::with_capacity(name.len() + 1);
        row.push((i + 1, 0));
        for (j, n) in name.iter().enumerate() {
            let substitute = (above[j].0 + usize::from(p != n), above[j].1);
            let skip_typed = (above[j + 1].0 + 1, above[j + 1].1);
            let skip_name = (row[j].0 + 1, row[j].1);
            row.push(
                [substitute, skip_typed, skip_name]
                    .into_iter()
                    .min_by_key(|(edits, _)| *edits)
                    .unwrap_or(substitute),
            );
        }
        above = row;
    }
    if whole {
        let (edits, from) = above[name.len()];
        return (edits, from, name.len());
    }
    // Of spans as close, the one as long as the part (住民表 is 住民票 changed, not 住民
    // with a character added).
    above
        .iter()
        .enumerate()
        .min_by_key(|(to, (edits, from))| (*edits, (to - from).abs_diff(part.len())))
        .map_or((part.len(), 0, 0), |(to, (edits, from))| {
            (*edits, *from, to)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{English, Kind};

    fn named(id: &str, title: &str, reading: &str, keywords: &[&str], english: &str) -> Document {
        Document {
            kind: Kind::Procedure,
            id: id.into(),
            title: title.into(),
            plain_title: String::new(),
            keywords: keywords.iter().map(|k| k.to_string()).collect(),
            reading: reading.into(),
            body: String::new(),
            english: English {
                title: english.into(),
                ..English::default()
            },
            popularity: 0,
        }
    }

    fn vocabulary() -> (Vocabulary, HashSet<String>) {
        let documents = [
            named(
                "juminhyo",
                "住民票の写しの交付請求",
                "じゅうみんひょうのうつしのこうふせいきゅう",
                &["住民票"],
                "Certificate of residence",
            ),
            named(
                "koseki",
                "戸籍謄本・抄本の交付請求",
                "こせきとうほんしょうほんのこうふせいきゅう",
                &["戸籍"],
                "Family register copy",
            ),
            named(
                "passport",
                "旅券の申請",
                "りょけんのしんせい",
                &[],
                "Passport application",
            ),
        ];
        let mut vocabulary = Vocabulary::default();
        let mut terms = HashSet::new();
        for d in &documents {
            vocabulary.add(d);
            for text in [&d.title, &d.reading, &d.english.title] {
                terms.extend(crate::analysis::terms(text));
            }
            for k in &d.keywords {
                terms.extend(crate::analysis::terms(k));
            }
        }
        (vocabulary, terms)
    }

    #[test]
    fn a_mistyped_name_is_offered_corrected_in_the_query() {
        let (vocabulary, terms) = vocabulary();
        let known = |t: &str| terms.contains(t);
        let correct = |q: &str| vocabulary.correct(q, &known);
        assert_eq!(correct("住民表がほしい").as_deref(), Some("住民票がほしい"));
        assert_eq!(correct("こせきとおほん").as_deref(), Some("こせきとうほん"));
        assert_eq!(
            correct("こせきとおほんがほしい").as_deref(),
            Some("こせきとうほんがほしい")
        );
        assert_eq!(correct("コセキトオホン").as_deref(), Some("コセキトウホン"));
        assert_eq!(
            correct("pasport application").as_deref(),
            Some("passport application")
        );
        // Right as typed, or nothing near: no suggestion.
        assert_eq!(correct("住民票がほしい"), None);
        assert_eq!(correct("ペンギンを飼いたい"), None);
        assert_eq!(correct("please help"), None);
    }

    #[test]
    fn a_removed_document_takes_its_names_along() {
        let (mut vocabulary, terms) = vocabulary();
        let known = |t: &str| terms.contains(t);
        let koseki = named(
            "koseki",
            "戸籍謄本・抄本の交付請求",
            "こせきとうほんしょうほんのこうふせいきゅう",
            &["戸籍"],
            "Family register copy",
        );
        vocabulary.remove(&koseki);
        assert_eq!(vocabulary.correct("こせきとおほん", &known), None);
        vocabulary.add(&koseki);
        assert!(vocabulary.correct("こせきとおほん", &known).is_some());
    }

    #[test]
    fn alignment_finds_the_span_of_a_longer_name() {
        let chars = |s: &str| s.chars().collect::<Vec<_>>();
        assert_eq!(
            align(&chars("トオホン"), &chars("コセキトウホンシヨウ"), false),
            (1, 3, 7)
        );
        assert_eq!(
            align(&chars("pasport"), &chars("passport"), true),
            (1, 0, 8)
        );
    }
}
