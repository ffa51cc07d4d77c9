//! `machi bench inbox`: the staff inbox (受付一覧) of one city holding a million applications.
//! Loads the applications straight into the tables in large transactions (not through HTTP),
//! then times the pages staff open — through `Store::inbox` itself — beside the same first
//! page as raw SQL on the same pool and on a plain typed connection, on SQLite and PostgreSQL.
//! Prints a Markdown table for BENCHMARKS.md; the target is p99 < 100 ms for a filtered page.

use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use machi_core::procedures::{parse_catalog, CatalogFormat};
use machi_store::{Backend, Store, Tenant};
use sqlx::Connection;

use crate::settings::Settings;

mod data;

use data::{load, City};

const TENANT: &str = "demo";
/// Rows per inbox page, as the staff console shows them.
const PAGE: i64 = 50;
const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";
/// 500 rows × 14 columns stays under both databases' parameter limits.
const ROWS_PER_STATEMENT: usize = 500;
const ROWS_PER_TRANSACTION: usize = 50_000;
const TARGET_P99_MS: f64 = 100.0;
/// How the city's applications spread over its departments (the rest get 1% each).
const DEPARTMENT_SHARES: [(&str, f64); 10] = [
    ("shimin", 34.0),
    ("kosodate", 20.0),
    ("kaigo", 14.0),
    ("kokuho", 9.0),
    ("zeimu", 7.0),
    ("hoiku", 6.0),
    ("kenko", 4.0),
    ("gomi", 3.0),
    ("kankyo", 2.0),
    ("kikikanri", 1.0),
];
/// Members of staff per department who take applications.
const STAFF_PER_DEPARTMENT: usize = 8;

/// Options of `machi bench inbox`.
#[derive(Debug, Clone, Args)]
pub struct InboxArgs {
    /// Applications to load into the city.
    #[arg(long, default_value_t = 1_000_000)]
    rows: usize,
    /// Times each query is timed (after a short warm-up).
    #[arg(long, default_value_t = 200)]
    repeat: usize,
    /// Which databases to measure. PostgreSQL is --database-url (MACHI_DATABASE_URL) when that
    /// is a postgres:// URL, else postgres://postgres@127.0.0.1:5432/test; a temporary schema
    /// is created and dropped.
    #[arg(long, value_enum, default_value_t = Which::Both)]
    backend: Which,
    /// Leaves the loaded database (SQLite directory or PostgreSQL schema) in place, to look
    /// at query plans afterwards.
    #[arg(long)]
    keep: bool,
}

/// The databases to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Which {
    Sqlite,
    Postgres,
    Both,
}

/// What one backend measured.
struct Measured {
    backend: &'static str,
    load: Duration,
    /// Indexing every loaded application's answers afterwards (as after an upgrade).
    index: Duration,
    rows: Vec<(String, Timing)>,
}

/// Sorted latencies of one query and the rows its page held.
struct Timing {
    latencies_us: Vec<u64>,
    page_rows: usize,
    role: Role,
}

/// How a query counts against the target (p99 < 100 ms for a filtered page).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Unfiltered pages and the raw-SQL baselines.
    Unfiltered,
    /// A filter the indexes serve.
    Filtered,
    /// Words looked for in the answers (through the answers' index, see
    /// `machi_store::applications::search`).
    Answers,
}

impl Timing {
    fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        let index = ((self.latencies_us.len() as f64 - 1.0) * p).round() as usize;
        self.latencies_us[index] as f64 / 1000.0
    }
}

/// Loads and measures each backend in turn, then prints the table.
pub async fn run(settings: &Settings, args: InboxArgs) -> anyhow::Result<()> {
    let city = City::from_demo_catalog()?;
    let postgres = settings
        .database_url
        .as_deref()
        .filter(|url| Backend::from_url(url).ok() == Some(Backend::Postgres))
        .unwrap_or(DEFAULT_POSTGRES)
        .to_string();
    let mut results = Vec::new();
    if args.backend != Which::Postgres {
        results.push(measure("SQLite", None, &city, &args).await?);
    }
    if args.backend != Which::Sqlite {
        match reachable(&postgres).await {
            Ok(()) => results.push(measure("PostgreSQL", Some(&postgres), &city, &args).await?),
            Err(error) if args.backend == Which::Both => {
                eprintln!("PostgreSQL not reachable ({error}); measuring SQLite only")
            }
            Err(error) => return Err(error.context("PostgreSQL not reachable")),
        }
    }
    println!("{}", table(&results, &args));
    Ok(())
}

async fn reachable(url: &str) -> anyhow::Result<()> {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await?;
    pool.close().await;
    Ok(())
}

/// Loads and measures one backend on a fresh database, removed afterwards unless `--keep`.
async fn measure(
    backend: &'static str,
    postgres: Option<&str>,
    city: &City,
    args: &InboxArgs,
) -> anyhow::Result<Measured> {
    let db = super::BenchDb::create(postgres, "inbox").await?;
    let store = Store::open(Some(&db.url), db.dir.clone()).await?;
    let result = load_and_time(backend, &store, &db.url, city, args).await;
    store.close().await;
    if args.keep {
        eprintln!("  kept {}", db.describe());
    } else {
        db.remove().await?;
    }
    result
}

async fn load_and_time(
    backend: &'static str,
    store: &Store,
    url: &str,
    city: &City,
    args: &InboxArgs,
) -> anyhow::Result<Measured> {
    store
        .ensure_tenant(&Tenant {
            id: TENANT.into(),
            name_ja: "デモ市".into(),
            name_en: "Demo City".into(),
            host: None,
        })
        .await?;
    let catalog = parse_catalog(crate::demo::DEMO_CATALOG, CatalogFormat::Yaml)?;
    store.import_catalog(TENANT, &catalog).await?;

    eprintln!("{backend}: loading {} applications …", args.rows);
    let started = Instant::now();
    load(store, city, args.rows).await?;
    if store.backend() == Backend::Postgres {
        // What autovacuum does shortly after a bulk load (statistics for the planner, the
        // visibility map); done now so that it does not run in the middle of the timings.
        sqlx::query("VACUUM ANALYZE applications")
            .execute(store.pool())
            .await?;
    }
    let load = started.elapsed();
    eprintln!(
        "  loaded in {:.1} s; indexing the answers …",
        load.as_secs_f64()
    );
    // What a machi that finds applications stored before answer search existed does when it
    // opens: the figure says how long that first start takes after an upgrade.
    let started = Instant::now();
    let indexed = store.index_unindexed_answers().await?;
    let index = started.elapsed();
    eprintln!("  {indexed} indexed in {:.1} s", index.as_secs_f64());
    if store.backend() == Backend::Postgres {
        sqlx::query("VACUUM ANALYZE application_search")
            .execute(store.pool())
            .await?;
    }

    let mut rows = Vec::new();
    for (label, query, role) in city.queries(store).await? {
        eprintln!("  {label} …");
        let timing = time(args.repeat, role, async || {
            Ok(store.inbox(TENANT, &query).await?.len())
        })
        .await?;
        rows.push((label, timing));
    }
    let department = city.largest().code.clone();
    eprintln!("  raw SQL baselines …");
    let raw = time(args.repeat, Role::Unfiltered, async || {
        raw_first_page(store.pool(), &department).await
    })
    .await?;
    rows.push((
        "baseline: first page as raw SQL, sqlx on the same pool".into(),
        raw,
    ));
    let typed = match store.backend() {
        Backend::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(url).await?;
            let timing = time(args.repeat, Role::Unfiltered, async || {
                typed_first_page_sqlite(&mut conn, &department).await
            })
            .await;
            conn.close().await?;
            timing?
        }
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(url).await?;
            let timing = time(args.repeat, Role::Unfiltered, async || {
                typed_first_page_postgres(&mut conn, &department).await
            })
            .await;
            conn.close().await?;
            timing?
        }
    };
    rows.push((
        "baseline: first page as raw SQL, one typed connection (no pool, no Any)".into(),
        typed,
    ));
    Ok(Measured {
        backend,
        load,
        index,
        rows,
    })
}

/// Runs `query` a few times to warm the caches, then `repeat` times with the clock on.
async fn time(
    repeat: usize,
    role: Role,
    mut query: impl AsyncFnMut() -> anyhow::Result<usize>,
) -> anyhow::Result<Timing> {
    let mut page_rows = 0;
    for _ in 0..(repeat / 10).clamp(1, 10) {
        page_rows = query().await?;
    }
    let mut latencies_us = Vec::with_capacity(repeat);
    for _ in 0..repeat {
        let started = Instant::now();
        page_rows = query().await?;
        latencies_us.push(started.elapsed().as_micros() as u64);
    }
    latencies_us.sort_unstable();
    Ok(Timing {
        latencies_us,
        page_rows,
        role,
    })
}

/// The unfiltered first page, written out as `Store::inbox` writes it.
const RAW_FIRST_PAGE: &str =
    "SELECT receipt_number, procedure_id, status, made_via, submitted_at, \
     updated_at, due_at, assignee FROM applications WHERE tenant_id = $1 AND department_code = $2 \
     ORDER BY submitted_at DESC, receipt_number DESC LIMIT $3";

type RawRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
);

async fn raw_first_page(pool: &sqlx::AnyPool, department: &str) -> anyhow::Result<usize> {
    let rows: Vec<RawRow> = sqlx::query_as(RAW_FIRST_PAGE)
        .bind(TENANT)
        .bind(department)
        .bind(PAGE)
        .fetch_all(pool)
        .await?;
    Ok(rows.len())
}

async fn typed_first_page_sqlite(
    conn: &mut sqlx::SqliteConnection,
    department: &str,
) -> anyhow::Result<usize> {
    let rows: Vec<RawRow> = sqlx::query_as(RAW_FIRST_PAGE)
        .bind(TENANT)
        .bind(department)
        .bind(PAGE)
        .fetch_all(conn)
        .await?;
    Ok(rows.len())
}

async fn typed_first_page_postgres(
    conn: &mut sqlx::PgConnection,
    department: &str,
) -> anyhow::Result<usize> {
    let rows: Vec<RawRow> = sqlx::query_as(RAW_FIRST_PAGE)
        .bind(TENANT)
        .bind(department)
        .bind(PAGE)
        .fetch_all(conn)
        .await?;
    Ok(rows.len())
}

fn table(results: &[Measured], args: &InboxArgs) -> String {
    let mut out = format!(
        "machi bench inbox — {} applications, page of {PAGE}, each query {} times, {} cores\n\n",
        args.rows,
        args.repeat,
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0)
    );
    for measured in results {
        out.push_str(&format!(
            "- {}: loaded in {:.1} s ({:.0} applications/s); answers indexed afterwards in \
             {:.1} s ({:.0}/s)\n",
            measured.backend,
            measured.load.as_secs_f64(),
            args.rows as f64 / measured.load.as_secs_f64(),
            measured.index.as_secs_f64(),
            args.rows as f64 / measured.index.as_secs_f64()
        ));
    }
    out.push_str("\n| query | rows |");
    for measured in results {
        out.push_str(&format!(" {0} p50 ms | {0} p99 ms |", measured.backend));
    }
    out.push_str("\n|---|---:|");
    out.push_str(&"---:|---:|".repeat(results.len()));
    out.push('\n');
    let Some(first) = results.first() else {
        return out;
    };
    for (i, (label, timing)) in first.rows.iter().enumerate() {
        out.push_str(&format!("| {label} | {} |", timing.page_rows));
        for measured in results {
            match measured.rows.get(i) {
                Some((_, t)) => out.push_str(&format!(
                    " {:.2} | {:.2} |",
                    t.percentile_ms(0.50),
                    t.percentile_ms(0.99)
                )),
                None => out.push_str(" – | – |"),
            }
        }
        out.push('\n');
    }
    out.push('\n');
    for measured in results {
        for (role, what) in [
            (Role::Filtered, "filtered pages"),
            (Role::Answers, "search in the answers"),
        ] {
            let worst = measured
                .rows
                .iter()
                .filter(|(_, t)| t.role == role)
                .map(|(label, t)| (label, t.percentile_ms(0.99)))
                .max_by(|a, b| a.1.total_cmp(&b.1));
            if let Some((label, p99)) = worst {
                out.push_str(&format!(
                    "- {}, {what}: slowest p99 {p99:.2} ms ({label}); target p99 < {TARGET_P99_MS} ms {}\n",
                    measured.backend,
                    if p99 < TARGET_P99_MS { "met" } else { "NOT met" }
                ));
            }
        }
    }
    out
}
