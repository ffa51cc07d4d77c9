//! `machi bench alert`: an emergency notice to a city the size of 高槻市 (300,000 subscribers),
//! over signed webhooks and e-mail, delivered by machi's own workers to sinks the benchmark
//! starts; beside it, in the same run, the same webhook sink driven by a plain HTTP load tool
//! (wrk when installed, else the lean client of `bench intake`), which is the most that sink
//! can take on this machine.
//!
//! Reports the commit of the notice with all its deliveries, the time to the last webhook and
//! the last e-mail, and deliveries per second, on SQLite and, when reachable, PostgreSQL.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use machi_core::notices::{NoticeDraft, Urgency};
use machi_core::procedures::Localized;
use machi_core::subscriptions::{Channel, Choices};
use machi_store::notices::NoticeSave;
use machi_store::subscriptions::NewSubscription;
use machi_store::{Store, Tenant};

use super::load::{self, Target};
use super::sinks::{SmtpSink, WebhookSink};
use crate::settings::Settings;

/// Options of `machi bench alert`.
#[derive(Debug, Clone, Args)]
pub struct AlertArgs {
    /// Subscribers receiving the alert by webhook.
    #[arg(long, default_value_t = 300_000)]
    webhooks: usize,
    /// Subscribers receiving it by e-mail.
    #[arg(long, default_value_t = 0)]
    emails: usize,
    /// Webhook requests in flight (machi's setting, and the plain tool's connections).
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Seconds the plain load tool runs.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// PostgreSQL to measure on as well (a temporary schema); "none" to skip.
    #[arg(
        long,
        env = "MACHI_BENCH_POSTGRES",
        default_value = "postgres://postgres@127.0.0.1:5432/test"
    )]
    postgres: String,
}

const CITY: &str = "bench";

/// What one backend measured.
struct Measured {
    backend: &'static str,
    enqueue: Duration,
    last_webhook: Option<Duration>,
    last_email: Option<Duration>,
    webhooks: usize,
    emails: usize,
    repeats: usize,
}

pub async fn run(_settings: &Settings, args: AlertArgs) -> anyhow::Result<()> {
    let hooks = WebhookSink::start().await?;
    let smtp = SmtpSink::start().await?;
    eprintln!("plain HTTP load tool against the webhook sink …");
    let plain = plain_rate(hooks.addr, &args).await?;
    hooks.reset();
    let mut results = Vec::new();
    results.push(measure("SQLite", None, &args, &hooks, &smtp).await?);
    if args.postgres != "none" {
        match sqlx::AnyPool::connect(&args.postgres).await {
            Ok(pool) => {
                pool.close().await;
                hooks.reset();
                smtp.reset();
                results
                    .push(measure("PostgreSQL", Some(&args.postgres), &args, &hooks, &smtp).await?);
            }
            Err(error) => eprintln!("PostgreSQL not reachable ({error}); SQLite only"),
        }
    }
    println!("{}", table(&results, &plain, &args));
    Ok(())
}

/// The plain tool's rate against the sink: wrk if it is installed, else the lean client.
async fn plain_rate(sink: SocketAddr, args: &AlertArgs) -> anyhow::Result<(String, f64)> {
    let body = sample_body();
    if let Some(rate) = wrk_rate(sink, &body, args)? {
        return Ok(("wrk".into(), rate));
    }
    let report = load::closed_loop(
        &Target::post_json(sink, "/hook", &body, 204),
        args.concurrency,
        Duration::from_secs(args.seconds),
    )
    .await;
    Ok((
        "lean keep-alive client (wrk not installed)".into(),
        report.rate(),
    ))
}

/// A webhook body of the size machi sends.
fn sample_body() -> String {
    serde_json::json!({
        "id": "123456", "type": "notice.published", "city": "ベンチ市",
        "notice": notice_json_sample(), "manage_url": "http://127.0.0.1:8080/subscriptions/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    })
    .to_string()
}

fn notice_json_sample() -> serde_json::Value {
    serde_json::json!({
        "id": "n0123456789abcde", "title": "【緊急】北町に避難指示", "text": alert().body.ja,
        "url": "http://127.0.0.1:8080/notices/n0123456789abcde", "urgency": "emergency",
        "categories": [{"id": "bousai", "label": "防災"}], "areas": ["北町"],
        "published_at": "2026-11-25T06:00:00.000000Z", "expires_at": null,
    })
}

fn wrk_rate(sink: SocketAddr, body: &str, args: &AlertArgs) -> anyhow::Result<Option<f64>> {
    let script = std::env::temp_dir().join(format!("machi-bench-alert-{}.lua", std::process::id()));
    std::fs::write(
        &script,
        format!(
            "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\nwrk.body = {}\n",
            serde_json::to_string(body)?
        ),
    )?;
    let output = std::process::Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{}", args.concurrency),
            &format!("-d{}s", args.seconds),
            "-s",
        ])
        .arg(&script)
        .arg(format!("http://{sink}/hook"))
        .output();
    let _ = std::fs::remove_file(&script);
    let Ok(output) = output else {
        return Ok(None);
    };
    let text = String::from_utf8_lossy(&output.stdout);
    let rate = text
        .lines()
        .find_map(|line| line.strip_prefix("Requests/sec:"))
        .and_then(|r| r.trim().parse::<f64>().ok())
        .context("wrk printed no Requests/sec")?;
    Ok(Some(rate))
}

fn alert() -> NoticeDraft {
    NoticeDraft {
        title: Localized::new("北町に避難指示", "Evacuation order for Kitamachi"),
        body: Localized::new(
            "北町全域に避難指示を発令しました。北町小学校、北町公民館へ避難してください。\
             避難が難しい場合は、建物の2階以上など安全な場所にとどまってください。",
            "",
        ),
        categories: vec!["bousai".into()],
        areas: vec!["北町".into()],
        urgency: Urgency::Emergency,
        evacuation: Some(machi_core::notices::Evacuation {
            level: machi_core::notices::EvacuationLevel::Evacuate,
            lifted: false,
        }),
    }
}

async fn fresh_store(postgres: Option<&str>) -> anyhow::Result<(Store, super::BenchDb)> {
    let db = super::BenchDb::create(postgres, "alert").await?;
    let store = Store::open(Some(&db.url), db.dir.clone()).await?;
    store
        .ensure_tenant(&Tenant {
            id: CITY.into(),
            name_ja: "ベンチ市".into(),
            name_en: "Bench City".into(),
            host: None,
        })
        .await?;
    Ok((store, db))
}

fn subscribers(args: &AlertArgs, hooks: SocketAddr) -> Vec<NewSubscription> {
    let choices = Choices::read(&["bousai".into()], "北町");
    let webhooks = (0..args.webhooks).map(|i| NewSubscription {
        channel: Channel::Webhook,
        // Distinct addresses (a query string each) at one receiver.
        address: format!("http://{hooks}/hook?s={i}"),
        secret: format!("{:064x}", i),
        choices: choices.clone(),
        language: "ja".into(),
        confirmed: true,
    });
    let emails = (0..args.emails).map(|i| NewSubscription {
        channel: Channel::Email,
        address: format!("resident{i}@example.jp"),
        secret: String::new(),
        choices: choices.clone(),
        language: "ja".into(),
        confirmed: true,
    });
    webhooks.chain(emails).collect()
}

async fn measure(
    backend: &'static str,
    postgres: Option<&str>,
    args: &AlertArgs,
    hooks: &WebhookSink,
    smtp: &SmtpSink,
) -> anyhow::Result<Measured> {
    let (store, db) = fresh_store(postgres).await?;
    eprintln!(
        "{backend}: {} webhook and {} e-mail subscribers …",
        args.webhooks, args.emails
    );
    store
        .import_subscriptions(CITY, &subscribers(args, hooks.addr))
        .await?;
    let mut settings = machi_work::delivery::DeliverySettings::new("http://127.0.0.1:8080");
    settings.smtp_url = Some(format!("smtp://{}", smtp.addr));
    settings.mail_from = "no-reply@bench.example".into();
    settings.mail_per_second = 1_000_000;
    settings.webhook_concurrency = args.concurrency;
    settings.webhook_per_second = 1_000_000;
    settings.allow_private = true; // the sinks listen on this machine
    let workers = machi_work::delivery::spawn(store.clone(), settings);

    eprintln!("{backend}: publishing the emergency …");
    let start = Instant::now();
    let now = machi_store::Time::now();
    store
        .save_notice(
            CITY,
            &alert(),
            &NoticeSave {
                id: None,
                department_code: "kikikanri",
                publish_at: now,
                expires_at: None,
                actor: "bench@bench.example",
            },
        )
        .await?;
    let enqueue = start.elapsed();
    let deadline = Duration::from_secs(600);
    while (hooks.count() < args.webhooks || smtp.count() < args.emails)
        && start.elapsed() < deadline
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    workers.shutdown().await;
    let measured = Measured {
        backend,
        enqueue,
        last_webhook: hooks.last_since(start),
        last_email: smtp.last_since(start),
        webhooks: hooks.count(),
        emails: smtp.count(),
        repeats: hooks.repeats(),
    };
    store.close().await;
    db.remove().await?;
    Ok(measured)
}

fn table(results: &[Measured], plain: &(String, f64), args: &AlertArgs) -> String {
    let mut out = format!(
        "\nEmergency alert to {} webhook + {} e-mail subscribers, {} requests in flight, on {} cores.\n\
         Plain tool ({}) against the same webhook sink: {:.0} requests/s.\n\n\
         | backend | notice + deliveries committed | last webhook | webhooks/s | % of plain tool | last e-mail | e-mails/s | delivered | repeats |\n\
         |---|---|---|---|---|---|---|---|---|\n",
        args.webhooks,
        args.emails,
        args.concurrency,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        plain.0,
        plain.1
    );
    for m in results {
        let rate = |count: usize, took: Option<Duration>| {
            took.map(|t| count as f64 / t.as_secs_f64()).unwrap_or(0.0)
        };
        let hook_rate = rate(m.webhooks, m.last_webhook);
        let seconds =
            |d: Option<Duration>| d.map_or("—".into(), |d| format!("{:.1} s", d.as_secs_f64()));
        out.push_str(&format!(
            "| {} | {:.2} s | {} | {:.0} | {:.0}% | {} | {:.0} | {} / {} | {} |\n",
            m.backend,
            m.enqueue.as_secs_f64(),
            seconds(m.last_webhook),
            hook_rate,
            100.0 * hook_rate / plain.1,
            seconds(m.last_email),
            rate(m.emails, m.last_email),
            m.webhooks + m.emails,
            args.webhooks + args.emails,
            m.repeats,
        ));
    }
    out
}
