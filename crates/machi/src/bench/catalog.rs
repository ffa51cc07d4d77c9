//! `machi bench catalog`: CKAN `package_search` over 10,000 datasets, p50/p99 per query through
//! the real HTTP server (`/api/3/action/package_search`), beside a raw SQLite query of the same
//! rows in the same run: the floor any catalog search on this machine stands on.

use std::time::{Duration, Instant};

use clap::Args;
use machi_core::opendata::catalog::DatasetInput;
use machi_store::opendata::ResourceInput;
use machi_store::{Store, Tenant};

use super::{local_url, BenchDb};

const TENANT: &str = "bench";
const TOPICS: [&str; 12] = [
    "防災",
    "子育て",
    "観光",
    "人口",
    "医療",
    "介護",
    "教育",
    "ごみ",
    "交通",
    "公園",
    "文化",
    "選挙",
];
const KINDS: [&str; 6] = ["一覧", "統計", "施設", "位置情報", "計画", "実績"];
const FORMATS: [&str; 4] = ["CSV", "XLSX", "PDF", "GeoJSON"];
const GROUPS: [&str; 8] = [
    "public_facility",
    "evacuation_space",
    "population",
    "preschool",
    "aed",
    "tourism",
    "event",
    "hospital",
];

/// Options of `machi bench catalog`.
#[derive(Debug, Clone, Args)]
pub struct CatalogArgs {
    /// Datasets in the catalog.
    #[arg(long, default_value_t = 10_000)]
    datasets: usize,
    /// Times each query is timed (after a warm-up).
    #[arg(long, default_value_t = 300)]
    repeat: usize,
}

fn dataset(i: usize) -> DatasetInput {
    let topic = TOPICS[i % TOPICS.len()];
    let kind = KINDS[(i / TOPICS.len()) % KINDS.len()];
    DatasetInput {
        name: format!("dataset-{i:05}"),
        title_ja: format!("{topic}{kind} 第{}版", i / 72 + 1),
        notes_ja: format!("{topic}に関する{kind}のデータです。番号 {i}。"),
        organization: format!("dept{}", i % 10),
        license_id: "CC-BY-4.0".into(),
        tags: vec![topic.to_string(), kind.to_string()],
        groups: vec![GROUPS[i % GROUPS.len()].to_string()],
        ..DatasetInput::default()
    }
}

async fn load(store: &Store, datasets: usize) -> anyhow::Result<()> {
    store
        .ensure_tenant(&Tenant {
            id: TENANT.into(),
            name_ja: "ベンチ市".into(),
            name_en: "Bench City".into(),
            host: None,
        })
        .await?;
    for d in 0..10 {
        let code = format!("dept{d}");
        store
            .ensure_department(TENANT, &code, &format!("部署{d}"), "")
            .await?;
    }
    for i in 0..datasets {
        let saved = store
            .save_dataset(TENANT, None, &dataset(i), "bench")
            .await?;
        let resource = ResourceInput {
            name: format!("data-{i}"),
            format: FORMATS[i % FORMATS.len()].into(),
            url: format!("https://example.jp/{i}"),
            ..ResourceInput::default()
        };
        store
            .add_resource(TENANT, &saved.id, &resource, "bench")
            .await?;
    }
    Ok(())
}

/// Sorted latencies in microseconds → milliseconds at a percentile.
pub(super) fn percentile_ms(sorted: &[u64], p: f64) -> f64 {
    let index = ((sorted.len().max(1) as f64 - 1.0) * p).round() as usize;
    sorted.get(index).map_or(f64::NAN, |us| *us as f64 / 1000.0)
}

async fn time<F, Fut>(repeat: usize, mut call: F) -> anyhow::Result<Vec<u64>>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    for _ in 0..repeat.min(20) {
        call().await?;
    }
    let mut latencies = Vec::with_capacity(repeat);
    for _ in 0..repeat {
        let started = Instant::now();
        call().await?;
        latencies.push(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX));
    }
    latencies.sort_unstable();
    Ok(latencies)
}

/// The searches a portal and a harvester make.
const QUERIES: [(&str, &str); 4] = [
    (
        "free text + 4 facets",
        "q=%E9%98%B2%E7%81%BD&facet.field=%5B%22tags%22%2C%22organization%22%2C%22groups%22%2C%22res_format%22%5D",
    ),
    ("fq tag AND group", "fq=tags:%E8%A6%B3%E5%85%89%20AND%20groups:event"),
    ("two words, by name", "q=%E4%BA%BA%E5%8F%A3%20%E7%B5%B1%E8%A8%88&sort=name%20asc"),
    (
        "everything + facets, page 50",
        "q=*:*&start=490&facet.field=%5B%22tags%22%2C%22organization%22%5D",
    ),
];

pub async fn run(args: CatalogArgs) -> anyhow::Result<()> {
    let db = BenchDb::create(None, "catalog").await?;
    let store = Store::open(Some(&db.url), db.dir.clone()).await?;
    eprintln!("loading {} datasets …", args.datasets);
    let started = Instant::now();
    load(&store, args.datasets).await?;
    let load_time = started.elapsed();
    let tenants = store.tenants().await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = machi_web::router(machi_web::AppState::new(
        store.clone(),
        tenants,
        local_url(addr)?,
    ));
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let client = reqwest::Client::new();
    let mut rows: Vec<(String, Vec<u64>, i64)> = Vec::new();
    for (label, query) in QUERIES {
        let url = format!("http://{addr}/api/3/action/package_search?{query}");
        let first: serde_json::Value = client.get(&url).send().await?.json().await?;
        anyhow::ensure!(first["success"] == true, "{label}: {first}");
        let count = first["result"]["count"].as_i64().unwrap_or(0);
        let latencies = time(args.repeat, || async {
            let response = client.get(&url).send().await?;
            anyhow::ensure!(response.status().is_success());
            response.bytes().await?;
            Ok(())
        })
        .await?;
        rows.push((format!("package_search: {label}"), latencies, count));
    }
    // The floor: the same free-text page and its count in plain SQL on the same file.
    let raw = sqlx::AnyPool::connect(&db.url).await?;
    let latencies = time(args.repeat, || async {
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM od_datasets WHERE tenant_id = $1 AND state = 'active' \
             AND search_text LIKE $2",
        )
        .bind(TENANT)
        .bind("%防災%")
        .fetch_one(&raw)
        .await?;
        let page: Vec<(String, String)> = sqlx::query_as(
            "SELECT name, title_ja FROM od_datasets WHERE tenant_id = $1 AND state = 'active' \
             AND search_text LIKE $2 ORDER BY modified_at DESC LIMIT 10",
        )
        .bind(TENANT)
        .bind("%防災%")
        .fetch_all(&raw)
        .await?;
        anyhow::ensure!(count > 0 && !page.is_empty());
        Ok(())
    })
    .await?;
    rows.push(("raw SQLite: LIKE page + count".into(), latencies, 0));
    raw.close().await;
    server.abort();
    store.close().await;
    db.remove().await?;
    print_table(args.datasets, load_time, &rows);
    Ok(())
}

fn print_table(datasets: usize, load: Duration, rows: &[(String, Vec<u64>, i64)]) {
    println!(
        "{datasets} datasets on SQLite, loaded in {:.1} s; each query timed sequentially",
        load.as_secs_f64()
    );
    println!("| query | matches | p50 ms | p99 ms |");
    println!("|---|---|---|---|");
    for (label, latencies, count) in rows {
        println!(
            "| {label} | {count} | {:.2} | {:.2} |",
            percentile_ms(latencies, 0.5),
            percentile_ms(latencies, 0.99)
        );
    }
}
