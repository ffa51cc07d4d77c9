//! `machi bench inbox`: the staff inbox (受付一覧) of one city holding a million applications.
//! Loads the applications straight into the tables in large transactions (not through HTTP),
//! then times the pages staff open — through `Store::inbox` itself — beside the same first
//! page as raw SQL on the same pool and on a plain typed connection, on SQLite and PostgreSQL.
//! Prints a Markdown table for BENCHMARKS.md; the target is p99 < 100 ms for a filtered page.

use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use clap::{Args, ValueEnum};
use machi_core::applications::Status;
use machi_core::procedures::{parse_catalog, CatalogFormat};
use machi_core::receipt::ReceiptNumber;
use machi_store::review::{Assignee, InboxQuery};
use machi_store::{Backend, Store, Tenant};
use sqlx::any::AnyArguments;
use sqlx::{Arguments, Connection, Executor};

use crate::settings::Settings;

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
    /// Words looked for anywhere in the answers (`LIKE '%…%'`): no index can serve it.
    Substring,
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
    let dir = super::tempfile_dir()?;
    let schema = format!("bench_inbox_{}", std::process::id());
    let url = match postgres {
        None => format!("sqlite://{}/machi.db", dir.display()),
        Some(base) => {
            let admin = sqlx::AnyPool::connect(base).await?;
            admin
                .execute(
                    format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")
                        .as_str(),
                )
                .await?;
            admin.close().await;
            machi_store::postgres_url_in_schema(base, &schema)
        }
    };
    let store = Store::open(Some(&url), dir.clone()).await?;
    let result = load_and_time(backend, &store, &url, city, args).await;
    store.close().await;
    if args.keep {
        match postgres {
            None => eprintln!("  kept {}", dir.display()),
            Some(_) => eprintln!("  kept schema {schema}"),
        }
    } else {
        if let Some(base) = postgres {
            let admin = sqlx::AnyPool::connect(base).await?;
            admin
                .execute(format!("DROP SCHEMA {schema} CASCADE").as_str())
                .await?;
            admin.close().await;
        }
        let _ = std::fs::remove_dir_all(&dir);
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
    eprintln!("  loaded in {:.1} s", load.as_secs_f64());

    let mut rows = Vec::new();
    for (label, query, role) in city.queries(store).await? {
        eprintln!("  {label} …");
        let repeat = if role == Role::Substring {
            substring_repeat(args)
        } else {
            args.repeat
        };
        let timing = time(repeat, role, async || {
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
        rows,
    })
}

/// A search in the answers scans the department; fewer runs keep the benchmark short.
fn substring_repeat(args: &InboxArgs) -> usize {
    (args.repeat / 20).max(5)
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

/// A department of the demo catalog: its share of applications and its procedures (with the
/// form version applications point at), most used first.
struct Department {
    code: String,
    share: f64,
    procedures: Vec<(String, i64)>,
}

/// The demo city as the generator sees it.
struct City {
    departments: Vec<Department>,
}

impl City {
    /// Departments and procedures (those with a form) of the demo catalog, biggest first.
    fn from_demo_catalog() -> anyhow::Result<Self> {
        let catalog = parse_catalog(crate::demo::DEMO_CATALOG, CatalogFormat::Yaml)?;
        let mut departments: Vec<Department> = Vec::new();
        for procedure in &catalog {
            let Some(form) = &procedure.form else {
                continue;
            };
            let code = &procedure.department.code;
            let entry = (procedure.id.clone(), form.version);
            match departments.iter_mut().find(|d| &d.code == code) {
                Some(department) => department.procedures.push(entry),
                None => departments.push(Department {
                    code: code.clone(),
                    share: DEPARTMENT_SHARES
                        .iter()
                        .find(|(c, _)| c == code)
                        .map_or(1.0, |(_, share)| *share),
                    procedures: vec![entry],
                }),
            }
        }
        departments.sort_by(|a, b| b.share.total_cmp(&a.share));
        anyhow::ensure!(
            !departments.is_empty(),
            "the demo catalog has no procedure with a form"
        );
        Ok(Self { departments })
    }

    fn largest(&self) -> &Department {
        &self.departments[0]
    }

    /// The inbox pages to time, with how each counts against the target.
    async fn queries(&self, store: &Store) -> anyhow::Result<Vec<(String, InboxQuery, Role)>> {
        let department = self.largest();
        let base = InboxQuery {
            department: department.code.clone(),
            limit: PAGE,
            ..Default::default()
        };
        let rare = department
            .procedures
            .last()
            .map(|(id, _)| id.clone())
            .unwrap_or_default();
        let mut deep = base.clone();
        for _ in 0..20 {
            let page = store.inbox(TENANT, &deep).await?;
            deep.after = page.last().map(|item| item.cursor());
        }
        // An application of about two years ago, to look for by e-mail address and receipt.
        let mut old = base.clone();
        old.oldest_first = true;
        old.limit = 1;
        old.after = Some(format!("{}|", sample_time(0.33)));
        let found = store.inbox(TENANT, &old).await?;
        let receipt = found
            .first()
            .map(|item| item.receipt_number.clone())
            .context("no application to search for")?;
        let answers = store
            .answers_of(TENANT, std::slice::from_ref(&receipt))
            .await?;
        let mail = answers
            .get(&receipt)
            .and_then(|(_, answers)| answers.get("mail"))
            .and_then(|v| v.as_str())
            .context("the sample application has no e-mail address")?
            .to_string();
        let code = &department.code;
        Ok(vec![
            (
                format!("first page, {code} (largest department), newest first"),
                base.clone(),
                Role::Unfiltered,
            ),
            (
                "status = in_review".into(),
                InboxQuery {
                    status: Some(Status::InReview),
                    ..base.clone()
                },
                Role::Filtered,
            ),
            (
                format!("status = in_review + procedure = {rare} (rarest)"),
                InboxQuery {
                    status: Some(Status::InReview),
                    procedure: Some(rare.clone()),
                    ..base.clone()
                },
                Role::Filtered,
            ),
            (
                format!("status = completed + procedure = {rare} (rarest)"),
                InboxQuery {
                    status: Some(Status::Completed),
                    procedure: Some(rare),
                    ..base.clone()
                },
                Role::Filtered,
            ),
            (
                "overdue only".into(),
                InboxQuery {
                    overdue: true,
                    ..base.clone()
                },
                Role::Filtered,
            ),
            (
                "assignee = one member of staff".into(),
                InboxQuery {
                    assignee: Assignee::Person(staff_email(code, 2)),
                    ..base.clone()
                },
                Role::Filtered,
            ),
            (
                "oldest first".into(),
                InboxQuery {
                    oldest_first: true,
                    ..base.clone()
                },
                Role::Unfiltered,
            ),
            ("deep page (after 20 pages)".into(), deep, Role::Unfiltered),
            (
                "search: e-mail address in the answers (1 match)".into(),
                InboxQuery {
                    text: mail,
                    ..base.clone()
                },
                Role::Substring,
            ),
            (
                "search: receipt number (1 match)".into(),
                InboxQuery {
                    text: receipt,
                    ..base
                },
                Role::Filtered,
            ),
        ])
    }
}

fn staff_email(department: &str, n: usize) -> String {
    format!("{department}.{n}@demo.machi.example")
}

/// The start of the three years the applications span.
fn span_start(now: DateTime<Utc>) -> DateTime<Utc> {
    now - chrono::Duration::days(3 * 365)
}

/// The stored time at `fraction` of the span (0 = three years ago).
fn sample_time(fraction: f64) -> String {
    let now = Utc::now();
    let start = span_start(now);
    let offset = (now - start).num_seconds() as f64 * fraction;
    format_time(start + chrono::Duration::seconds(offset as i64))
}

/// As the store writes times: UTC, fixed width.
fn format_time(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// splitmix64: deterministic, fast, and enough for picking departments and statuses.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// An index drawn with the given weights.
    fn weighted(&mut self, weights: &[f64]) -> usize {
        let mut x = self.unit() * weights.iter().sum::<f64>();
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len().saturating_sub(1)
    }

    /// Zipf-like: the first of `n` is the most likely.
    fn zipf(&mut self, n: usize) -> usize {
        let weights: Vec<f64> = (1..=n).map(|k| 1.0 / k as f64).collect();
        self.weighted(&weights)
    }
}

/// Status weights, in `ALL_STATUSES` order, by age: recent applications are still open, old
/// ones almost all done, with a few stuck (those are the overdue ones).
fn status_weights(age_days: i64) -> [f64; 7] {
    match age_days {
        ..14 => [40.0, 35.0, 10.0, 5.0, 5.0, 0.0, 5.0],
        14..60 => [5.0, 15.0, 5.0, 3.0, 12.0, 5.0, 55.0],
        _ => [0.05, 0.3, 0.3, 0.05, 0.8, 5.5, 93.0],
    }
}

const FAMILY_NAMES: [&str; 8] = [
    "佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村",
];
const GIVEN_NAMES: [&str; 8] = ["花子", "太郎", "陽菜", "蓮", "結衣", "大翔", "美咲", "健太"];

const INSERT_COLUMNS: &str = "INSERT INTO applications (tenant_id, receipt_number, procedure_id, \
     form_version, status, answers, access_code_sha256, made_via, request_sha256, submitted_at, \
     updated_at, department_code, due_at, assignee) VALUES ";
const COLUMNS: usize = 14;

/// Applications in the order they were submitted, evenly over three years ending now.
struct Generator<'a> {
    city: &'a City,
    rng: Rng,
    now: DateTime<Utc>,
    start: DateTime<Utc>,
    step_us: f64,
    index: usize,
    day: Option<NaiveDate>,
    sequence: u64,
    jst: FixedOffset,
}

impl<'a> Generator<'a> {
    fn new(city: &'a City, rows: usize) -> anyhow::Result<Self> {
        let now = Utc::now();
        let start = span_start(now);
        let span_us = (now - start).num_microseconds().unwrap_or(0) as f64;
        Ok(Self {
            city,
            rng: Rng(20_240_401),
            now,
            start,
            step_us: span_us / rows.max(1) as f64,
            index: 0,
            day: None,
            sequence: 0,
            jst: FixedOffset::east_opt(9 * 3600).context("JST offset")?,
        })
    }

    /// Binds the next application's columns, in the order of [`INSERT_COLUMNS`].
    fn bind_next(&mut self, args: &mut AnyArguments<'static>) -> anyhow::Result<()> {
        let rng = &mut self.rng;
        let offset = self.step_us * (self.index as f64 + 0.9 * rng.unit());
        self.index += 1;
        let submitted = self.start + chrono::Duration::microseconds(offset as i64);
        let day = submitted.with_timezone(&self.jst).date_naive();
        if self.day != Some(day) {
            self.day = Some(day);
            self.sequence = 0;
        }
        self.sequence += 1;
        let shares: Vec<f64> = self.city.departments.iter().map(|d| d.share).collect();
        let department = &self.city.departments[rng.weighted(&shares)];
        let (procedure_id, form_version) =
            department.procedures[rng.zipf(department.procedures.len())].clone();
        let age_days = (self.now - submitted).num_days();
        let status =
            machi_core::applications::ALL_STATUSES[rng.weighted(&status_weights(age_days))];
        let updated = match status {
            Status::Received => submitted,
            _ => (submitted + chrono::Duration::days((rng.unit() * 20.0) as i64)).min(self.now),
        };
        let assignee = (status != Status::Received && rng.unit() < 0.85)
            .then(|| staff_email(&department.code, rng.zipf(STAFF_PER_DEPARTMENT)));
        let name = format!(
            "{} {}",
            FAMILY_NAMES[rng.next() as usize % FAMILY_NAMES.len()],
            GIVEN_NAMES[rng.next() as usize % GIVEN_NAMES.len()]
        );
        let n = self.index;
        let answers = serde_json::json!({
            "shimei": name,
            "denwa": format!("090-{:04}-{:04}", (n / 10_000) % 10_000, n % 10_000),
            "mail": format!("resident{n}@example.jp"),
            "yuubin": "150-0001",
        });
        let digest = format!("{:016x}{:032x}", rng.next(), n);
        let made_via = if rng.unit() < 0.2 {
            "counter"
        } else {
            "online"
        };
        let error = |e: sqlx::error::BoxDynError| anyhow!("binding a parameter: {e}");
        let receipt = ReceiptNumber::new(day, self.sequence).to_string();
        for text in [TENANT.to_string(), receipt, procedure_id] {
            args.add(text).map_err(error)?;
        }
        args.add(form_version).map_err(error)?;
        for text in [
            status.as_str().to_string(),
            answers.to_string(),
            digest.clone(),
            made_via.to_string(),
            digest,
            format_time(submitted),
            format_time(updated),
            department.code.clone(),
            format_time(submitted + chrono::Duration::days(14)),
        ] {
            args.add(text).map_err(error)?;
        }
        args.add(assignee).map_err(error)?;
        Ok(())
    }
}

/// Inserts `rows` applications, `ROWS_PER_STATEMENT` per statement and `ROWS_PER_TRANSACTION`
/// per commit.
async fn load(store: &Store, city: &City, rows: usize) -> anyhow::Result<()> {
    let mut generator = Generator::new(city, rows)?;
    let backend = store.backend();
    let mut done = 0;
    while done < rows {
        let in_transaction = ROWS_PER_TRANSACTION.min(rows - done);
        let mut tx = store.pool().begin().await?;
        let mut written = 0;
        while written < in_transaction {
            let count = ROWS_PER_STATEMENT.min(in_transaction - written);
            let sql = insert_statement(backend, count);
            let mut arguments = AnyArguments::default();
            for _ in 0..count {
                generator.bind_next(&mut arguments)?;
            }
            sqlx::query_with(&sql, arguments).execute(&mut *tx).await?;
            written += count;
        }
        tx.commit().await?;
        done += in_transaction;
        if done % 200_000 == 0 {
            eprintln!("  {done}");
        }
    }
    Ok(())
}

/// `INSERT … VALUES (…), (…)` for `count` rows with each backend's placeholders.
fn insert_statement(backend: Backend, count: usize) -> String {
    let mut sql = String::from(INSERT_COLUMNS);
    let mut n = 0;
    for row in 0..count {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..COLUMNS {
            if column > 0 {
                sql.push_str(", ");
            }
            n += 1;
            match backend {
                Backend::Sqlite => sql.push('?'),
                Backend::Postgres => sql.push_str(&format!("${n}")),
            }
        }
        sql.push(')');
    }
    sql
}

fn table(results: &[Measured], args: &InboxArgs) -> String {
    let mut out = format!(
        "machi bench inbox — {} applications, page of {PAGE}, each query {} times \
         (search in the answers {} times), {} cores\n\n",
        args.rows,
        args.repeat,
        substring_repeat(args),
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0)
    );
    for measured in results {
        out.push_str(&format!(
            "- {}: loaded in {:.1} s ({:.0} applications/s)\n",
            measured.backend,
            measured.load.as_secs_f64(),
            args.rows as f64 / measured.load.as_secs_f64()
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
            (Role::Substring, "search in the answers"),
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
