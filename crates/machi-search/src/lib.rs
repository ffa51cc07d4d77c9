//! machi-search: one Japanese search over what residents look for (procedures first; FAQ,
//! notices and datasets as they join), ranked by BM25 over character bigrams (see
//! [`analysis`]) with field boosts — the plain-language title and the keywords count most,
//! the legal name and its reading next, the summary least — and a lift for procedures many
//! people use. A query is widened by the everyday words residents use for the city's terms
//! (see [`words`]). The index lives in memory and is rebuilt or updated as the data changes.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod analysis;
pub mod sources;
mod suggest;
pub mod words;

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, RwLock};

use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value, STORED, STRING,
};
use tantivy::{doc, Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

/// What a result is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Procedure,
    Faq,
    Notice,
    Dataset,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Procedure => "procedure",
            Kind::Faq => "faq",
            Kind::Notice => "notice",
            Kind::Dataset => "dataset",
        }
    }
}

/// One thing to find.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub kind: Kind,
    pub id: String,
    /// The official name (a procedure's legal name).
    pub title: String,
    /// The title in plain words (「児童手当をもらう（新しく申請する）」).
    pub plain_title: String,
    pub keywords: Vec<String>,
    /// The title's reading in kana, so that a query typed in kana finds kanji.
    pub reading: String,
    /// Summary or answer text.
    pub body: String,
    /// The same in English, where the city wrote it, so that the desk answers English
    /// questions too.
    pub english: English,
    /// How many use it a year (a procedure's volume), for ranking among equals.
    pub popularity: i64,
}

/// A document's English texts (each may be empty).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct English {
    pub title: String,
    pub plain_title: String,
    pub body: String,
}

impl Document {
    fn key(&self) -> String {
        format!("{}:{}", self.kind.as_str(), self.id)
    }
}

/// One result.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub kind: Kind,
    pub id: String,
    pub score: f32,
    /// The words of the query found in the title, plain title or keywords: why it matched.
    pub matched: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
}

/// The fields, and how much a match in each counts.
struct Fields {
    key: Field,
    kind: Field,
    /// (field, boost)
    text: Vec<(Field, f32)>,
}

/// The index with the documents it holds.
pub struct Engine {
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
    documents: RwLock<HashMap<String, Held>>,
    /// The names documents are called by, for "did you mean".
    vocabulary: RwLock<suggest::Vocabulary>,
    words: words::EverydayWords,
}

const TOKENIZER: &str = "ja_bigram";
/// Candidates read from the index before popularity is weighed in.
const CANDIDATES: usize = 100;
/// Results scoring under this share of the best are left out.
const RELATIVE_FLOOR: f32 = 0.35;
/// Each query term in an everyday word's expansion counts this much of a typed term.
const EXPANSION_WEIGHT: f32 = 0.6;

impl Engine {
    /// An empty index that widens queries with `words`.
    pub fn new(words: words::EverydayWords) -> Result<Self, SearchError> {
        let mut schema = Schema::builder();
        let text = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(TOKENIZER)
                .set_index_option(IndexRecordOption::WithFreqs),
        );
        let key = schema.add_text_field("key", STRING | STORED);
        let kind = schema.add_text_field("kind", STRING);
        let boosts = [
            ("plain_title", 3.0),
            ("keywords", 2.5),
            ("title", 2.0),
            ("reading", 1.0),
            ("body", 0.5),
            ("plain_title_en", 3.0),
            ("title_en", 2.0),
            ("body_en", 0.5),
        ];
        let text_fields = boosts
            .iter()
            .map(|(name, boost)| (schema.add_text_field(name, text.clone()), *boost))
            .collect();
        let index = Index::create_in_ram(schema.build());
        index.tokenizers().register(
            TOKENIZER,
            tantivy::tokenizer::TextAnalyzer::from(analysis::Bigrams),
        );
        let writer = index.writer_with_num_threads(1, 15_000_000)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(Self {
            reader,
            writer: Mutex::new(writer),
            fields: Fields {
                key,
                kind,
                text: text_fields,
            },
            documents: RwLock::new(HashMap::new()),
            vocabulary: RwLock::new(suggest::Vocabulary::default()),
            words,
        })
    }

    /// Replaces everything of `kind` with `documents`, visible when this returns.
    pub fn replace_kind(&self, kind: Kind, documents: &[Document]) -> Result<(), SearchError> {
        let mut writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        writer.delete_term(Term::from_field_text(self.fields.kind, kind.as_str()));
        for document in documents {
            writer.add_document(self.tantivy_doc(document))?;
        }
        writer.commit()?;
        self.reader.reload()?;
        let mut held = self.documents.write().unwrap_or_else(|e| e.into_inner());
        let mut vocabulary = self.vocabulary.write().unwrap_or_else(|e| e.into_inner());
        held.retain(|_, d| {
            let keep = d.document.kind != kind;
            if !keep {
                vocabulary.remove(&d.document);
            }
            keep
        });
        for document in documents {
            vocabulary.add(document);
            held.insert(document.key(), Held::new(document));
        }
        Ok(())
    }

    /// Adds or replaces one document, visible when this returns.
    pub fn upsert(&self, document: &Document) -> Result<(), SearchError> {
        self.apply(std::slice::from_ref(document), &[])
    }

    /// Adds or replaces `upserts` and removes `removals` (kind, id), in one commit, visible
    /// when this returns: how an index follows a change without being built again.
    pub fn apply(
        &self,
        upserts: &[Document],
        removals: &[(Kind, String)],
    ) -> Result<(), SearchError> {
        let mut writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let removed: Vec<String> = removals
            .iter()
            .map(|(kind, id)| format!("{}:{id}", kind.as_str()))
            .collect();
        for key in upserts
            .iter()
            .map(Document::key)
            .chain(removed.iter().cloned())
        {
            writer.delete_term(Term::from_field_text(self.fields.key, &key));
        }
        for document in upserts {
            writer.add_document(self.tantivy_doc(document))?;
        }
        writer.commit()?;
        self.reader.reload()?;
        let mut held = self.documents.write().unwrap_or_else(|e| e.into_inner());
        let mut vocabulary = self.vocabulary.write().unwrap_or_else(|e| e.into_inner());
        for key in upserts.iter().map(Document::key).chain(removed) {
            if let Some(old) = held.remove(&key) {
                vocabulary.remove(&old.document);
            }
        }
        for document in upserts {
            vocabulary.add(document);
            held.insert(document.key(), Held::new(document));
        }
        Ok(())
    }

    /// How many documents the index holds.
    pub fn len(&self) -> usize {
        self.documents.read().map(|d| d.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn tantivy_doc(&self, d: &Document) -> TantivyDocument {
        let texts = [
            d.plain_title.as_str(),
            &d.keywords.join(" "),
            d.title.as_str(),
            d.reading.as_str(),
            d.body.as_str(),
            d.english.plain_title.as_str(),
            d.english.title.as_str(),
            d.english.body.as_str(),
        ]
        .map(str::to_string);
        let mut document = doc!(
            self.fields.key => d.key(),
            self.fields.kind => d.kind.as_str(),
        );
        for ((field, _), text) in self.fields.text.iter().zip(texts) {
            document.add_text(*field, text);
        }
        document
    }

    /// The query with its mistyped names corrected (住民表がほしい → 住民票がほしい), or `None`
    /// when nothing in it looks mistyped: "did you mean".
    pub fn suggest(&self, query: &str) -> Option<String> {
        let searcher = self.reader.searcher();
        let known = |term: &str| {
            self.fields.text.iter().any(|(field, _)| {
                searcher
                    .doc_freq(&Term::from_field_text(*field, term))
                    .map_or(true, |n| n > 0)
            })
        };
        let vocabulary = self.vocabulary.read().unwrap_or_else(|e| e.into_inner());
        vocabulary.correct(query, &known)
    }

    /// The best `limit` results for `query`, of one kind or all.
    pub fn search(
        &self,
        query: &str,
        kind: Option<Kind>,
        limit: usize,
    ) -> Result<Vec<Hit>, SearchError> {
        let marked = analysis::marked_terms(query);
        let typed = unique(marked.iter().map(|(t, _)| t.clone()).collect());
        // What the query is about: its terms not written wholly in hiragana (endings such as
        // したい), unless it is all hiragana.
        let mut subject = unique(
            marked
                .iter()
                .filter(|(_, soft)| !soft)
                .map(|(t, _)| t.clone())
                .collect(),
        );
        if subject.is_empty() {
            subject = typed.clone();
        }
        let widened: Vec<String> = unique(
            self.words
                .expand(query)
                .iter()
                .flat_map(|w| analysis::terms(w))
                .filter(|t| !typed.contains(t))
                .collect(),
        );
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for (terms, weight) in [(&typed, 1.0), (&widened, EXPANSION_WEIGHT)] {
            for term in terms {
                for (field, boost) in &self.fields.text {
                    let query = TermQuery::new(
                        Term::from_field_text(*field, term),
                        IndexRecordOption::WithFreqs,
                    );
                    clauses.push((
                        Occur::Should,
                        Box::new(BoostQuery::new(Box::new(query), boost * weight)),
                    ));
                }
            }
        }
        if clauses.is_empty() {
            return Ok(Vec::new());
        }
        let mut built: Box<dyn Query> = Box::new(BooleanQuery::new(clauses));
        if let Some(kind) = kind {
            let only = TermQuery::new(
                Term::from_field_text(self.fields.kind, kind.as_str()),
                IndexRecordOption::Basic,
            );
            // Required, and adding nothing to the score.
            let only = BoostQuery::new(Box::new(only), 0.0);
            built = Box::new(BooleanQuery::new(vec![
                (Occur::Must, built),
                (Occur::Must, Box::new(only)),
            ]));
        }
        let words: Vec<(&str, Vec<String>)> = query_words(query)
            .into_iter()
            .map(|w| (w, analysis::terms(w)))
            .collect();
        let searcher = self.reader.searcher();
        let found = searcher.search(&built, &TopDocs::with_limit(CANDIDATES))?;
        let held = self.documents.read().unwrap_or_else(|e| e.into_inner());
        let mut hits = Vec::with_capacity(found.len());
        for (score, address) in found {
            let stored: TantivyDocument = searcher.doc(address)?;
            let Some(key) = stored.get_first(self.fields.key).and_then(|v| v.as_str()) else {
                continue;
            };
            let Some(held) = held.get(key) else {
                continue;
            };
            let document = &held.document;
            let matched = held.matched_words(&words);
            if !held.relevant(&subject, &widened, !matched.is_empty()) {
                continue;
            }
            // Among equally good matches, the procedure more people use comes first.
            let lift = 1.0 + 0.04 * (1.0 + document.popularity.max(0) as f32).ln();
            hits.push(Hit {
                kind: document.kind,
                id: document.id.clone(),
                score: score * lift,
                matched,
            });
        }
        hits.sort_by(|a, b| b.score.total_cmp(&a.score));
        // Far below the best, a result only shares a common word with the query.
        let floor = hits.first().map_or(0.0, |best| best.score * RELATIVE_FLOOR);
        hits.retain(|hit| hit.score >= floor);
        hits.truncate(limit);
        Ok(hits)
    }
}

/// A document with the terms of its parts, taken once when it is indexed (a search weighs
/// up to a hundred candidates against them).
struct Held {
    document: Document,
    /// Plain title, keywords and legal name: what a result is called.
    names: HashSet<String>,
    /// The names and the reading: where a typed word shows why a result matched.
    shown: HashSet<String>,
    /// Everything, the summary too.
    all: HashSet<String>,
}

impl Held {
    fn new(document: &Document) -> Self {
        let terms_of = |texts: &[&str]| -> HashSet<String> {
            texts
                .iter()
                .flat_map(|text| analysis::terms(text))
                .collect()
        };
        let keywords = document.keywords.join(" ");
        let english = &document.english;
        let names = terms_of(&[
            &document.plain_title,
            &keywords,
            &document.title,
            &english.plain_title,
            &english.title,
        ]);
        let mut shown = names.clone();
        shown.extend(analysis::terms(&document.reading));
        let mut all = shown.clone();
        all.extend(terms_of(&[&document.body, &english.body]));
        Self {
            document: document.clone(),
            names,
            shown,
            all,
        }
    }

    /// Whether it answers the query, not just shares a common pair of characters with it
    /// (BM25 alone ranks whatever shares any term): it holds half of what the query is about,
    /// or a third and a typed word in its names, or a term an everyday word of the query
    /// stands for in its names or keywords (タンス → 粗大ごみ).
    fn relevant(&self, subject: &[String], widened: &[String], named: bool) -> bool {
        let share = subject.iter().filter(|t| self.all.contains(*t)).count() as f32
            / subject.len().max(1) as f32;
        share >= 0.5 || (named && share >= 0.34) || widened.iter().any(|t| self.names.contains(t))
    }

    /// The typed words (with their terms) that share a term with its names or reading.
    fn matched_words(&self, words: &[(&str, Vec<String>)]) -> Vec<String> {
        words
            .iter()
            .filter(|(_, terms)| terms.iter().any(|t| self.shown.contains(t)))
            .map(|(word, _)| word.to_string())
            .collect()
    }
}

fn unique(terms: Vec<String>) -> Vec<String> {
    let mut seen = Vec::with_capacity(terms.len());
    for term in terms {
        if !seen.contains(&term) {
            seen.push(term);
        }
    }
    seen
}

/// The words of a query as typed (split at spaces and 、).
fn query_words(query: &str) -> Vec<&str> {
    query
        .split(|c: char| c.is_whitespace() || matches!(c, '、' | ',' | '。'))
        .filter(|w| !w.is_empty())
        .collect()
}
