//! `machi bench intake`: durable applications per second and latency, on SQLite and PostgreSQL,
//! beside two baselines measured in the same run on the same machine — an axum JSON echo (the
//! HTTP ceiling) and naive single-row durable SQLite inserts (the storage ceiling without group
//! commit). Prints a Markdown table for BENCHMARKS.md.

pub mod alert;
mod baselines;
pub mod booking;
pub mod catalog;
pub mod datastore;
pub mod inbox;
mod load;
pub mod search;
mod sinks;

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use machi_core::procedures::{parse_catalog, CatalogFormat};
use machi_store::{Store, Tenant};
use sqlx::Executor;

use crate::settings::Settings;
use load::{Report, Target};

/// Options of `machi bench intake`.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// Seconds each measurement runs.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Concurrent keep-alive connections of the closed-loop (peak) runs.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// PostgreSQL to measure on (a temporary schema is created and dropped); "none" to skip.
    #[arg(
        long,
        env = "MACHI_BENCH_POSTGRES",
        default_value = "postgres://postgres@127.0.0.1:5432/test"
    )]
    postgres: String,
    /// The procedure whose example answers are submitted.
    #[arg(long, default_value = "tennyu-yoyaku")]
    procedure: String,
}

/// One line of the result table.
struct Row {
    what: String,
    report: Report,
}

pub async fn run(_settings: &Settings, args: BenchArgs) -> anyhow::Result<()> {
    let duration = Duration::from_secs(args.seconds);
    let body = example_body(&args.procedure)?;
    let mut rows = Vec::new();

    eprintln!("baseline: axum JSON echo …");
    let echo = baselines::spawn_echo().await?;
    let report = load::closed_loop(
        &Target::post_json(echo, "/echo", &body, 200),
        args.connections,
        duration,
    )
    .await;
    let echo_rate = report.rate();
    rows.push(Row {
        what: "axum JSON echo (HTTP ceiling)".into(),
        report,
    });

    eprintln!("baseline: single-row durable SQLite inserts …");
    let naive = baselines::naive_sqlite_inserts(&body, duration).await?;
    rows.push(Row {
        what: "raw SQLite insert, 1 row per commit (naive storage)".into(),
        report: naive,
    });

    for (name, url) in backends(&args.postgres).await {
        eprintln!("machi intake on {name} …");
        let (server, cleanup) = spawn_machi(url.as_deref()).await?;
        let target = Target::post_json(
            server,
            &format!("/api/v1/procedures/{}/applications", args.procedure),
            &body,
            201,
        );
        let peak = load::closed_loop(&target, args.connections, duration).await;
        let rate = peak.rate() * 0.8;
        rows.push(Row {
            what: format!("machi durable applications, {name}, peak"),
            report: peak,
        });
        eprintln!("machi intake on {name} at 80% of peak ({rate:.0}/s) …");
        let steady = load::open_loop(&target, rate, args.connections, duration).await;
        rows.push(Row {
            what: format!("machi durable applications, {name}, steady at 80% of peak"),
            report: steady,
        });
        cleanup.await;
    }

    println!("{}", table(&rows, echo_rate, &args));
    Ok(())
}

fn example_body(procedure: &str) -> anyhow::Result<String> {
    let catalog = parse_catalog(crate::demo::DEMO_CATALOG, CatalogFormat::Yaml)?;
    let form = catalog
        .iter()
        .find(|p| p.id == procedure)
        .and_then(|p| p.form.as_ref())
        .with_context(|| format!("no demo procedure '{procedure}' with a form"))?;
    anyhow::ensure!(
        form.attachments.iter().all(|a| !a.required),
        "pick a procedure without required attachments"
    );
    let example = form.example().context("the form has no example")?;
    Ok(serde_json::json!({ "answers": example }).to_string())
}

/// SQLite always; PostgreSQL when reachable.
async fn backends(postgres: &str) -> Vec<(&'static str, Option<String>)> {
    let mut list = vec![("SQLite", None)];
    if postgres != "none" {
        sqlx::any::install_default_drivers();
        match sqlx::AnyPool::connect(postgres).await {
            Ok(pool) => {
                pool.close().await;
                list.push(("PostgreSQL", Some(postgres.to_string())));
            }
            Err(error) => {
                eprintln!("PostgreSQL at {postgres} not reachable ({error}); measuring SQLite only")
            }
        }
    }
    list
}

/// Starts machi with the demo catalog on a fresh database; returns its address and a cleanup.
async fn spawn_machi(
    postgres: Option<&str>,
) -> anyhow::Result<(SocketAddr, impl std::future::Future<Output = ()>)> {
    let dir = tempfile_dir()?;
    let (url, schema) = match postgres {
        None => (None, None),
        Some(base) => {
            let schema = format!("bench_{}", std::process::id());
            let admin = sqlx::AnyPool::connect(base).await?;
            admin
                .execute(
                    format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")
                        .as_str(),
                )
                .await?;
            admin.close().await;
            (
                Some(machi_store::postgres_url_in_schema(base, &schema)),
                Some((base.to_string(), schema)),
            )
        }
    };
    let store = Store::open(url.as_deref(), dir.clone()).await?;
    store
        .ensure_tenant(&Tenant {
            id: "demo".into(),
            name_ja: "デモ市".into(),
            name_en: "Demo City".into(),
            host: None,
        })
        .await?;
    crate::demo::load(&store, "demo").await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = machi_web::router(machi_web::AppState::new(
        store.clone(),
        store.tenants().await?,
        local_url(addr)?,
    ));
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let cleanup = async move {
        server.abort();
        let count = store.count_applications("demo").await.unwrap_or(-1);
        eprintln!("  {count} applications stored");
        store.close().await;
        if let Some((base, schema)) = schema {
            if let Ok(admin) = sqlx::AnyPool::connect(&base).await {
                let _ = admin
                    .execute(format!("DROP SCHEMA {schema} CASCADE").as_str())
                    .await;
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    };
    Ok((addr, cleanup))
}

/// A fresh database for one measurement: SQLite in a temporary directory, or a temporary
/// schema of the PostgreSQL at `postgres`.
pub(crate) struct BenchDb {
    pub dir: std::path::PathBuf,
    pub url: String,
    /// The server and the schema, on PostgreSQL.
    postgres: Option<(String, String)>,
}

impl BenchDb {
    pub async fn create(postgres: Option<&str>, name: &str) -> anyhow::Result<Self> {
        let dir = tempfile_dir()?;
        let schema = format!("bench_{name}_{}", std::process::id());
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
        Ok(Self {
            dir,
            url,
            postgres: postgres.map(|base| (base.to_string(), schema)),
        })
    }

    /// Where it is, for `--keep`.
    pub fn describe(&self) -> String {
        match &self.postgres {
            None => self.dir.display().to_string(),
            Some((_, schema)) => format!("schema {schema}"),
        }
    }

    /// Drops the schema and the directory.
    pub async fn remove(self) -> anyhow::Result<()> {
        if let Some((base, schema)) = &self.postgres {
            let admin = sqlx::AnyPool::connect(base).await?;
            admin
                .execute(format!("DROP SCHEMA {schema} CASCADE").as_str())
                .await?;
            admin.close().await;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        Ok(())
    }
}

fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "machi-bench-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

fn table(rows: &[Row], echo_rate: f64, args: &BenchArgs) -> String {
    let mut out = format!(
        "machi bench intake — {} s per run, {} connections, procedure {}, {} cores\n\n\
         | what | requests/s | % of echo | p50 ms | p99 ms | errors |\n|---|---:|---:|---:|---:|---:|\n",
        args.seconds,
        args.connections,
        args.procedure,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
    );
    for row in rows {
        out.push_str(&format!(
            "| {} | {:.0} | {:.0}% | {:.2} | {:.2} | {} |\n",
            row.what,
            row.report.rate(),
            100.0 * row.report.rate() / echo_rate,
            row.report.percentile_ms(0.50),
            row.report.percentile_ms(0.99),
            row.report.errors
        ));
    }
    out
}

/// The public URL of a server the benchmark started on `addr`.
pub(crate) fn local_url(addr: std::net::SocketAddr) -> anyhow::Result<machi_web::PublicUrl> {
    machi_web::PublicUrl::parse(&format!("http://{addr}")).map_err(anyhow::Error::msg)
}
