//! `machi bench datastore`: the open-data datastore at a million rows. Generates a 町丁目別人口
//! (population by district) CSV, times reading and typing it (`read_csv` + `ingest`) and
//! storing it (`datastore_replace`, indexes included), then `datastore_search` with a filter
//! beside the same lookup as a plain `SELECT … WHERE col = ?` on a typed sqlx SQLite
//! connection to the same file, in the same run. SQLite always; PostgreSQL too when
//! `--database-url` is a postgres:// URL. Targets: 200,000 rows/s, search p99 < 20 ms.

use std::time::{Duration, Instant};

use clap::Args;
use machi_core::opendata::ingest::{ingest, Cell, Field};
use machi_core::opendata::standard::column_types;
use machi_core::opendata::table::read_csv;
use machi_core::opendata::types::ColumnType;
use machi_core::opendata::values::render;
use machi_store::datastore::{CreateSpec, Declared, SearchQuery, WriteMethod};
use machi_store::{Backend, Store, Tenant};
use serde_json::{Map, Value};
use sqlx::Connection;

use crate::settings::Settings;

const TENANT: &str = "demo";
const RESOURCE: &str = "population-by-district";
/// The same rows again, stored with a primary key declared.
const KEYED_RESOURCE: &str = "population-by-district-keyed";
/// The generated rows' primary key: a district and its 町字名 name each row once.
const PRIMARY_KEY: [&str; 2] = ["町字コード", "町字名"];
/// The same rows once more, loaded as a CKAN client loads them: `datastore_create` with the
/// key, then `datastore_upsert` (insert) of this many JSON records per call.
const CKAN_RESOURCE: &str = "population-by-district-ckan";
const RECORDS_PER_CALL: usize = 10_000;
/// The filtered field; each value matches [`ROWS_PER_KEY`] rows.
const KEY_FIELD: &str = "町字コード";
const ROWS_PER_KEY: usize = 10;

/// Options of `machi bench datastore`.
#[derive(Debug, Clone, Args)]
pub struct DatastoreArgs {
    /// Rows of the generated resource.
    #[arg(long, default_value_t = 1_000_000)]
    rows: usize,
    /// Searches timed per measurement (after a short warm-up).
    #[arg(long, default_value_t = 1000)]
    queries: usize,
}

/// What one backend measured.
struct Measured {
    backend: &'static str,
    store: Duration,
    store_keyed: Duration,
    ckan_load: Duration,
    timings: Vec<(&'static str, Vec<u64>)>,
}

/// The generated CSV: 9 columns of the kinds a city publishes (codes kept as text, a date,
/// counts, an area).
fn generate_csv(rows: usize) -> String {
    let mut csv = String::with_capacity(rows * 90);
    csv.push_str("団体コード,町字コード,町字名,調査日,世帯数,人口,男,女,面積\n");
    for i in 0..rows {
        let key = i / ROWS_PER_KEY;
        let men = 100 + (i * 7919) % 900;
        let women = 100 + (i * 104_729) % 900;
        csv.push_str(&format!(
            "{:06},{:09},中央区北{}条西{}丁目,令和6年{}月1日,{},{},{},{},{}.{}\n",
            11_002 + (i % 10) * 1000,
            key,
            key % 30 + 1,
            i % ROWS_PER_KEY + 1,
            i % 12 + 1,
            (men + women) / 2,
            men + women,
            men,
            women,
            i % 97,
            i % 100
        ));
    }
    csv
}

/// Times each run of `query` after a warm-up; returns sorted microseconds.
async fn time(
    repeat: usize,
    mut query: impl AsyncFnMut(usize) -> anyhow::Result<()>,
) -> anyhow::Result<Vec<u64>> {
    for i in 0..repeat.div_ceil(10).min(50) {
        query(i).await?;
    }
    let mut latencies = Vec::with_capacity(repeat);
    for i in 0..repeat {
        let started = Instant::now();
        query(i).await?;
        latencies.push(started.elapsed().as_micros() as u64);
    }
    latencies.sort_unstable();
    Ok(latencies)
}

/// The key the `i`-th search looks for: spread over the table, the same on every backend.
fn key(i: usize, rows: usize) -> String {
    let keys = rows.div_ceil(ROWS_PER_KEY).max(1);
    format!("{:09}", (i * 7_919) % keys)
}

/// Two keys from the `i`-th: the bounds of a range filter (`gte`, `lt`).
fn range_of(i: usize, rows: usize) -> (String, String) {
    let keys = rows.div_ceil(ROWS_PER_KEY).max(2);
    let first = (i * 7_919) % (keys - 1);
    (format!("{first:09}"), format!("{:09}", first + 2))
}

fn percentile_ms(sorted_us: &[u64], p: f64) -> f64 {
    if sorted_us.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted_us.len() as f64 - 1.0) * p).round() as usize;
    sorted_us[index] as f64 / 1000.0
}

pub async fn run(settings: &Settings, args: DatastoreArgs) -> anyhow::Result<()> {
    eprintln!("generating {} rows …", args.rows);
    let csv = generate_csv(args.rows);
    let started = Instant::now();
    let table = read_csv(csv.as_bytes()).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut types = column_types(&table, None);
    types[0] = ColumnType::Text; // 団体コード: a code, as the standard says
    let typed = ingest(&table, &types)?;
    let parse = started.elapsed();
    drop(table);
    drop(csv);
    eprintln!("  read and typed in {:.1} s", parse.as_secs_f64());

    let mut results = vec![measure("SQLite", None, &typed, &args).await?];
    let postgres = settings
        .database_url
        .as_deref()
        .filter(|url| Backend::from_url(url).ok() == Some(Backend::Postgres));
    if let Some(url) = postgres {
        results.push(measure("PostgreSQL", Some(url), &typed, &args).await?);
    }
    println!("{}", report(parse, &results, &args));
    Ok(())
}

/// Stores and searches on one fresh database, removed afterwards.
async fn measure(
    backend: &'static str,
    postgres: Option<&str>,
    typed: &machi_core::opendata::ingest::Typed,
    args: &DatastoreArgs,
) -> anyhow::Result<Measured> {
    let db = super::BenchDb::create(postgres, "datastore").await?;
    let store = Store::open(Some(&db.url), db.dir.clone()).await?;
    let result = store_and_search(backend, &store, &db.url, typed, args).await;
    store.close().await;
    db.remove().await?;
    result
}

async fn store_and_search(
    backend: &'static str,
    store: &Store,
    url: &str,
    typed: &machi_core::opendata::ingest::Typed,
    args: &DatastoreArgs,
) -> anyhow::Result<Measured> {
    store
        .ensure_tenant(&Tenant {
            id: TENANT.into(),
            name_ja: "デモ市".into(),
            name_en: "Demo City".into(),
            host: None,
        })
        .await?;
    eprintln!(
        "{backend}: datastore_replace of {} rows …",
        typed.rows.len()
    );
    let rows = typed.rows.clone();
    let started = Instant::now();
    store
        .datastore_replace(TENANT, RESOURCE, &typed.fields, &[], rows)
        .await?;
    let stored = started.elapsed();
    eprintln!("  stored in {:.1} s", stored.as_secs_f64());
    let primary_key = PRIMARY_KEY.map(String::from);
    let rows = typed.rows.clone();
    let started = Instant::now();
    store
        .datastore_replace(TENANT, KEYED_RESOURCE, &typed.fields, &primary_key, rows)
        .await?;
    let store_keyed = started.elapsed();
    eprintln!(
        "  stored with primary key ({}) in {:.1} s",
        PRIMARY_KEY.join(", "),
        store_keyed.as_secs_f64()
    );
    eprintln!("  loading as a CKAN client (datastore_create, datastore_upsert insert) …");
    let ckan_load = load_as_ckan_client(store, &typed.fields, &typed.rows).await?;
    eprintln!("  loaded in {:.1} s", ckan_load.as_secs_f64());

    let mut timings = Vec::new();
    let search = time(args.queries, async |i| {
        let mut filters = Map::new();
        filters.insert(KEY_FIELD.into(), Value::String(key(i, args.rows)));
        let query = SearchQuery {
            filters,
            ..SearchQuery::default()
        };
        let found = store.datastore_search(TENANT, RESOURCE, &query).await?;
        anyhow::ensure!(!found.rows.is_empty(), "the search found nothing");
        Ok(())
    })
    .await?;
    timings.push(("datastore_search, filter on 町字コード, with total", search));
    // CKAN 2.12's operators: a range over the same key (about 20 rows), served by its index.
    let range = time(args.queries, async |i| {
        let (from, to) = range_of(i, args.rows);
        let mut filters = Map::new();
        filters.insert(KEY_FIELD.into(), serde_json::json!({"gte": from, "lt": to}));
        let query = SearchQuery {
            filters,
            ..SearchQuery::default()
        };
        let found = store.datastore_search(TENANT, RESOURCE, &query).await?;
        anyhow::ensure!(!found.rows.is_empty(), "the range found nothing");
        Ok(())
    })
    .await?;
    timings.push((
        "datastore_search, range (gte/lt) on 町字コード, with total",
        range,
    ));
    if store.backend() == Backend::Sqlite {
        timings.push((
            "raw SQLite: SELECT … WHERE 町字コード = ? (typed sqlx connection)",
            raw_sqlite(store, url, args).await?,
        ));
    }
    Ok(Measured {
        backend,
        store: stored,
        store_keyed,
        ckan_load,
        timings,
    })
}

/// The rows as records of JSON, as a client sends them.
fn json_records(fields: &[Field], rows: &[Vec<Cell>]) -> Vec<Map<String, Value>> {
    rows.iter()
        .map(|row| {
            fields
                .iter()
                .zip(row)
                .map(|(f, cell)| (f.id.clone(), render(f.kind, cell.clone())))
                .collect()
        })
        .collect()
}

/// Times `datastore_create` with the primary key and then `datastore_upsert` (insert) calls
/// of [`RECORDS_PER_CALL`] records; turning rows into JSON, the client's work, is not timed.
async fn load_as_ckan_client(
    store: &Store,
    fields: &[Field],
    rows: &[Vec<Cell>],
) -> anyhow::Result<Duration> {
    let spec = CreateSpec {
        fields: fields
            .iter()
            .map(|f| Declared {
                id: f.id.clone(),
                kind: Some(f.kind),
            })
            .collect(),
        primary_key: Some(PRIMARY_KEY.map(String::from).to_vec()),
        records: Vec::new(),
    };
    let started = Instant::now();
    store.datastore_create(TENANT, CKAN_RESOURCE, spec).await?;
    let mut took = started.elapsed();
    for chunk in rows.chunks(RECORDS_PER_CALL) {
        let records = json_records(fields, chunk);
        let started = Instant::now();
        store
            .datastore_upsert(TENANT, CKAN_RESOURCE, WriteMethod::Insert, &records, false)
            .await?;
        took += started.elapsed();
    }
    Ok(took)
}

/// The same lookup as plain SQL on the same table, over a typed connection (no pool, no Any).
async fn raw_sqlite(store: &Store, url: &str, args: &DatastoreArgs) -> anyhow::Result<Vec<u64>> {
    let table: String = sqlx::query_scalar(
        "SELECT table_name FROM datastore_resources WHERE tenant_id = $1 AND resource_id = $2",
    )
    .bind(TENANT)
    .bind(RESOURCE)
    .fetch_one(store.pool())
    .await?;
    let sql = format!("SELECT * FROM \"{table}\" WHERE \"{KEY_FIELD}\" = ? ORDER BY _id LIMIT 100");
    let mut conn = sqlx::SqliteConnection::connect(url).await?;
    let timing = time(args.queries, async |i| {
        let rows = sqlx::query(&sql)
            .bind(key(i, args.rows))
            .fetch_all(&mut conn)
            .await?;
        anyhow::ensure!(!rows.is_empty(), "the raw query found nothing");
        Ok(())
    })
    .await;
    conn.close().await?;
    timing
}

fn report(parse: Duration, results: &[Measured], args: &DatastoreArgs) -> String {
    let rate = |d: Duration| args.rows as f64 / d.as_secs_f64();
    let mut out = format!(
        "machi bench datastore — {} rows × 9 columns, {} searches each, {} cores\n\n\
         | step | time s | rows/s |\n|---|---:|---:|\n\
         | read_csv + column_types + ingest (core) | {:.2} | {:.0} |\n",
        args.rows,
        args.queries,
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        parse.as_secs_f64(),
        rate(parse)
    );
    for m in results {
        out.push_str(&format!(
            "| datastore_replace on {} (indexes included) | {:.2} | {:.0} |\n",
            m.backend,
            m.store.as_secs_f64(),
            rate(m.store)
        ));
        out.push_str(&format!(
            "| datastore_replace on {} with primary key ({}) | {:.2} | {:.0} |\n",
            m.backend,
            PRIMARY_KEY.join(", "),
            m.store_keyed.as_secs_f64(),
            rate(m.store_keyed)
        ));
        out.push_str(&format!(
            "| datastore_create with primary key + datastore_upsert insert, {} records a call, on {} | {:.2} | {:.0} |\n",
            RECORDS_PER_CALL,
            m.backend,
            m.ckan_load.as_secs_f64(),
            rate(m.ckan_load)
        ));
    }
    out.push_str("\n| query | backend | p50 ms | p99 ms |\n|---|---|---:|---:|\n");
    for m in results {
        for (label, timing) in &m.timings {
            out.push_str(&format!(
                "| {label} | {} | {:.2} | {:.2} |\n",
                m.backend,
                percentile_ms(timing, 0.50),
                percentile_ms(timing, 0.99)
            ));
        }
    }
    out
}
