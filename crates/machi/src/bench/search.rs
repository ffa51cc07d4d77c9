//! `machi bench search`: machi's search over 100,000 documents — build time, query p50/p99 for
//! questions as residents type them, and the time for a change to be found — beside raw
//! tantivy on the same documents in the same run (one field, the same bigram analysis, the
//! query's terms OR-ed: no field boosts, everyday words, relevance cut or popularity).

use std::time::Instant;

use clap::Args;
use machi_search::analysis::{terms, Bigrams};
use machi_search::words::EverydayWords;
use machi_search::{Document, Engine, Kind};
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, Occur, Query, TermQuery};
use tantivy::schema::{IndexRecordOption, Schema, TextFieldIndexing, TextOptions};
use tantivy::{doc, Index, Term};

use super::catalog::percentile_ms;

/// Options of `machi bench search`.
#[derive(Debug, Clone, Args)]
pub struct SearchArgs {
    /// Documents in the index.
    #[arg(long, default_value_t = 100_000)]
    documents: usize,
    /// Times each query is timed (after a warm-up).
    #[arg(long, default_value_t = 200)]
    repeat: usize,
}

const SUBJECTS: [&str; 16] = [
    "住民票",
    "戸籍",
    "印鑑",
    "児童手当",
    "保育",
    "介護保険",
    "国民健康保険",
    "粗大ごみ",
    "犬",
    "転出",
    "転入",
    "罹災証明",
    "所得証明",
    "妊娠",
    "ひとり親",
    "マイナンバーカード",
];
const ACTIONS: [&str; 8] = [
    "の交付申請",
    "の届出",
    "の変更届",
    "の再交付",
    "の認定請求",
    "の申込",
    "の証明",
    "の廃止届",
];
const PLAIN: [&str; 8] = [
    "をもらう",
    "を届け出る",
    "が変わった",
    "をなくした",
    "を受けたい",
    "を申し込む",
    "を証明してほしい",
    "をやめる",
];

/// A procedure-like document: a legal name, a plain title, keywords and a summary.
fn document(i: usize) -> Document {
    let subject = SUBJECTS[i % SUBJECTS.len()];
    let action = ACTIONS[(i / SUBJECTS.len()) % ACTIONS.len()];
    let plain = PLAIN[(i / SUBJECTS.len()) % PLAIN.len()];
    Document {
        kind: Kind::Procedure,
        id: format!("p{i:06}"),
        title: format!("{subject}{action}（第{}区分）", i / 128),
        plain_title: format!("{subject}{plain}"),
        keywords: vec![subject.to_string(), format!("区分{}", i % 97)],
        reading: String::new(),
        body: format!("{subject}に関する手続です。窓口またはオンラインで申請できます。番号{i}。"),
        english: Default::default(),
        popularity: (i % 5000) as i64,
    }
}

const QUERIES: [&str; 8] = [
    "住民票 ほしい",
    "子どもが生まれた 手当",
    "引っ越しするときの手続き",
    "ハンコを登録したい",
    "タンスを捨てたい",
    "保険証をなくした",
    "じゅうみんひょう",
    "マイナンバーカード 申請",
];

/// Names typed a little wrong, for "did you mean".
const MISTYPED: [&str; 5] = [
    "住民表をもらう",
    "児童手等を受けたい",
    "国民建康保険の届出",
    "罹災照明がほしい",
    "マイナンバーカートを申し込む",
];

/// Raw tantivy: the same documents in one field with the same analysis.
struct Raw {
    reader: tantivy::IndexReader,
    all: tantivy::schema::Field,
}

fn raw_index(documents: &[Document]) -> anyhow::Result<Raw> {
    let mut schema = Schema::builder();
    let options = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer("bigram")
            .set_index_option(IndexRecordOption::WithFreqs),
    );
    let all = schema.add_text_field("all", options);
    let index = Index::create_in_ram(schema.build());
    index
        .tokenizers()
        .register("bigram", tantivy::tokenizer::TextAnalyzer::from(Bigrams));
    let mut writer: tantivy::IndexWriter = index.writer_with_num_threads(1, 50_000_000)?;
    for d in documents {
        let text = format!(
            "{} {} {} {}",
            d.plain_title,
            d.keywords.join(" "),
            d.title,
            d.body
        );
        writer.add_document(doc!(all => text))?;
    }
    writer.commit()?;
    Ok(Raw {
        reader: index.reader()?,
        all,
    })
}

fn raw_search(raw: &Raw, query: &str) -> anyhow::Result<usize> {
    let clauses: Vec<(Occur, Box<dyn Query>)> = terms(query)
        .into_iter()
        .map(|t| {
            let q: Box<dyn Query> = Box::new(TermQuery::new(
                Term::from_field_text(raw.all, &t),
                IndexRecordOption::WithFreqs,
            ));
            (Occur::Should, q)
        })
        .collect();
    let found = raw
        .reader
        .searcher()
        .search(&BooleanQuery::new(clauses), &TopDocs::with_limit(10))?;
    Ok(found.len())
}

/// Times `call` over every query, `repeat` times each after a warm-up; sorted µs.
fn time(
    queries: &[&str],
    repeat: usize,
    mut call: impl FnMut(&str) -> anyhow::Result<()>,
) -> anyhow::Result<Vec<u64>> {
    for query in queries {
        call(query)?;
    }
    let mut latencies = Vec::with_capacity(repeat * queries.len());
    for _ in 0..repeat {
        for query in queries {
            let started = Instant::now();
            call(query)?;
            latencies.push(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX));
        }
    }
    latencies.sort_unstable();
    Ok(latencies)
}

pub async fn run(args: SearchArgs) -> anyhow::Result<()> {
    let documents: Vec<Document> = (0..args.documents).map(document).collect();
    tokio::task::spawn_blocking(move || measure(&documents, args.repeat)).await?
}

fn measure(documents: &[Document], repeat: usize) -> anyhow::Result<()> {
    eprintln!("indexing {} documents …", documents.len());
    let started = Instant::now();
    let engine = Engine::new(EverydayWords::default_list())?;
    engine.replace_kind(Kind::Procedure, documents)?;
    let machi_build = started.elapsed();
    let started = Instant::now();
    let raw = raw_index(documents)?;
    let raw_build = started.elapsed();

    eprintln!("querying …");
    let machi = time(&QUERIES, repeat, |q| {
        engine.search(q, None, 10)?;
        Ok(())
    })?;
    let baseline = time(&QUERIES, repeat, |q| {
        raw_search(&raw, q)?;
        Ok(())
    })?;

    let typed_right = time(&QUERIES, repeat, |q| {
        engine.suggest(q);
        Ok(())
    })?;
    let mut corrected = Vec::new();
    let mistyped = time(&MISTYPED, repeat, |q| {
        corrected.push(engine.suggest(q).is_some());
        Ok(())
    })?;
    let offered = corrected.iter().filter(|c| **c).count();

    eprintln!("updating …");
    let mut updates = Vec::new();
    for i in 0..20 {
        let mut changed = document(i * 7);
        changed.plain_title = format!("変更された手続その{i}");
        let started = Instant::now();
        engine.upsert(&changed)?;
        let found = engine.search(&format!("変更された手続その{i}"), None, 1)?;
        anyhow::ensure!(found.first().map(|h| h.id.as_str()) == Some(changed.id.as_str()));
        updates.push(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX));
    }
    updates.sort_unstable();

    println!(
        "| search over {} documents ({} queries × {repeat}) | build | p50 | p99 |",
        documents.len(),
        QUERIES.len()
    );
    println!("|---|---|---|---|");
    for (what, build, sorted) in [
        (
            "machi-search (boosts, everyday words, relevance, popularity)",
            machi_build,
            &machi,
        ),
        (
            "raw tantivy, same bigrams, terms OR-ed (baseline)",
            raw_build,
            &baseline,
        ),
    ] {
        println!(
            "| {what} | {:.1} s | {:.2} ms | {:.2} ms |",
            build.as_secs_f64(),
            percentile_ms(sorted, 0.50),
            percentile_ms(sorted, 0.99)
        );
    }
    for (what, sorted) in [
        ("\"did you mean\", questions typed right", &typed_right),
        ("\"did you mean\", names typed a little wrong", &mistyped),
    ] {
        println!(
            "| {what} | | {:.2} ms | {:.2} ms |",
            percentile_ms(sorted, 0.50),
            percentile_ms(sorted, 0.99)
        );
    }
    println!(
        "| (corrections offered for the mistyped names: {offered} of {}) | | | |",
        corrected.len()
    );
    println!(
        "| a change found by the next search (upsert, commit, reload, query; 20 changes) | | {:.1} ms | {:.1} ms (max) |",
        percentile_ms(&updates, 0.50),
        updates.last().map_or(f64::NAN, |us| *us as f64 / 1000.0)
    );
    Ok(())
}
