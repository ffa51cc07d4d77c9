//! `machi bench booking`: a 9:00 opening — 10,000 people try to book 200 slots (20 courts ×
//! 10 times, one place each) at once, each the slot they want, through the store as the web
//! calls it. It checks that exactly 200 bookings were made and no slot holds two, and times
//! every attempt, beside the same booking row inserted as raw SQL (no capacity check) with the
//! same concurrency in the same run, on SQLite and PostgreSQL.

use std::time::Instant;

use anyhow::Context;
use clap::Args;
use futures_util::StreamExt;
use machi_core::reservations::{parse_services, Booker, Service, Slot};
use machi_store::reservations::{slot_time, Channel, NewBooking};
use machi_store::{Store, Tenant};

use super::catalog::percentile_ms;
use super::BenchDb;

/// Options of `machi bench booking`.
#[derive(Debug, Clone, Args)]
pub struct BookingArgs {
    /// People trying at once.
    #[arg(long, default_value_t = 10_000)]
    people: usize,
    /// Attempts in flight at a time (the web server's concurrent requests).
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// PostgreSQL to measure on (a temporary schema is created and dropped); "none" to skip.
    #[arg(
        long,
        env = "MACHI_BENCH_POSTGRES",
        default_value = "postgres://postgres@127.0.0.1:5432/test"
    )]
    postgres: String,
}

const CITY: &str = "bench";

/// A facility of 20 courts open 9:00–14:00 every day in 30-minute slots: 200 slots a day.
const SERVICE: &str = r#"
services:
  - id: courts
    department: {code: sports, ja: スポーツ振興課}
    name: {ja: 市民テニスコート}
    kind: facility
    days: facility
    hours: [{from: "09:00", to: "14:00"}]
    slot_minutes: 30
    window: {earliest_days: 1, latest_days: 60}
    cancel_until_hours: 24
    resources:
      - {id: court-01, name: {ja: コート1}}
      - {id: court-02, name: {ja: コート2}}
      - {id: court-03, name: {ja: コート3}}
      - {id: court-04, name: {ja: コート4}}
      - {id: court-05, name: {ja: コート5}}
      - {id: court-06, name: {ja: コート6}}
      - {id: court-07, name: {ja: コート7}}
      - {id: court-08, name: {ja: コート8}}
      - {id: court-09, name: {ja: コート9}}
      - {id: court-10, name: {ja: コート10}}
      - {id: court-11, name: {ja: コート11}}
      - {id: court-12, name: {ja: コート12}}
      - {id: court-13, name: {ja: コート13}}
      - {id: court-14, name: {ja: コート14}}
      - {id: court-15, name: {ja: コート15}}
      - {id: court-16, name: {ja: コート16}}
      - {id: court-17, name: {ja: コート17}}
      - {id: court-18, name: {ja: コート18}}
      - {id: court-19, name: {ja: コート19}}
      - {id: court-20, name: {ja: コート20}}
"#;

/// What one run measured.
struct Outcome {
    latencies: Vec<u64>,
    booked: usize,
    refused: usize,
    errors: usize,
    seconds: f64,
}

pub async fn run(args: BookingArgs) -> anyhow::Result<()> {
    let service = parse_services(SERVICE.as_bytes())
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .remove(0);
    let mut lines = Vec::new();
    for (name, postgres) in super::backends(&args.postgres).await {
        eprintln!(
            "{name}: {} people, {} at a time …",
            args.people, args.concurrency
        );
        let db = BenchDb::create(postgres.as_deref(), "booking").await?;
        let store = Store::open(Some(&db.url), db.dir.clone()).await?;
        store
            .ensure_tenant(&Tenant {
                id: CITY.into(),
                name_ja: "ベンチ市".into(),
                name_en: "Bench City".into(),
                host: None,
            })
            .await?;
        store
            .save_services(CITY, std::slice::from_ref(&service))
            .await?;
        let slots = day_of_slots(&service);
        let machi = rush(&store, &service, &slots, &args).await?;
        check_no_double_booking(&store, machi.booked).await?;
        let raw = raw_inserts(&store, &slots, &args).await?;
        lines.push((format!("machi, {name}"), machi));
        lines.push((format!("raw SQL insert of the row, {name} (baseline)"), raw));
        store.close().await;
        db.remove().await?;
    }
    println!(
        "| {} people, 200 slots, {} at a time | booked | refused | errors | total s | p50 ms | p99 ms | max ms |",
        args.people, args.concurrency
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (what, o) in &lines {
        println!(
            "| {what} | {} | {} | {} | {:.2} | {:.2} | {:.2} | {:.2} |",
            o.booked,
            o.refused,
            o.errors,
            o.seconds,
            percentile_ms(&o.latencies, 0.50),
            percentile_ms(&o.latencies, 0.99),
            o.latencies
                .last()
                .map_or(f64::NAN, |us| *us as f64 / 1000.0)
        );
    }
    Ok(())
}

/// Tomorrow's 200 slots.
fn day_of_slots(service: &Service) -> Vec<Slot> {
    let calendar = machi_core::calendar::Calendar::default();
    let now = chrono::Utc::now()
        .with_timezone(&machi_core::wareki::jst())
        .naive_local();
    let tomorrow = now.date() + chrono::Duration::days(1);
    machi_core::reservations::SlotQuery {
        service,
        calendar: &calendar,
        now,
    }
    .slots(tomorrow, tomorrow)
}

/// The slot person `i` wants: spread over all, as a fixed sequence (the same every run).
fn wanted(i: usize, slots: &[Slot]) -> &Slot {
    &slots[(i.wrapping_mul(7919) + i / slots.len()) % slots.len()]
}

async fn rush(
    store: &Store,
    service: &Service,
    slots: &[Slot],
    args: &BookingArgs,
) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let results: Vec<(u64, Result<(), machi_store::StoreError>)> =
        futures_util::stream::iter(0..args.people)
            .map(|i| async move {
                let booker = Booker {
                    name: format!("利用者{i}"),
                    email: format!("person{i}@example.jp"),
                    ..Booker::default()
                };
                let slot = std::slice::from_ref(wanted(i, slots));
                let at = Instant::now();
                let result = store
                    .book(
                        CITY,
                        &NewBooking {
                            service,
                            slots: slot,
                            booker: &booker,
                            channel: Channel::Online,
                            idempotency_key: None,
                            application: None,
                            fee: Default::default(),
                            confirmation: None,
                        },
                    )
                    .await
                    .map(|_| ());
                (micros(at), result)
            })
            .buffer_unordered(args.concurrency)
            .collect()
            .await;
    let seconds = started.elapsed().as_secs_f64();
    let mut outcome = Outcome {
        latencies: results.iter().map(|(us, _)| *us).collect(),
        booked: 0,
        refused: 0,
        errors: 0,
        seconds,
    };
    for (_, result) in &results {
        match result {
            Ok(()) => outcome.booked += 1,
            Err(machi_store::StoreError::Conflict(_)) => outcome.refused += 1,
            Err(error) => {
                outcome.errors += 1;
                eprintln!("  error: {error}");
            }
        }
    }
    outcome.latencies.sort_unstable();
    anyhow::ensure!(
        outcome.booked == slots.len(),
        "{} bookings for {} slots",
        outcome.booked,
        slots.len()
    );
    Ok(outcome)
}

/// No slot holds more than its one place, counted from the bookings themselves.
async fn check_no_double_booking(store: &Store, booked: usize) -> anyhow::Result<()> {
    let doubled: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT resource_id, starts_at FROM bookings WHERE tenant_id = $1 \
         AND state = 'booked' GROUP BY resource_id, starts_at HAVING COUNT(*) > 1) AS d",
    )
    .bind(CITY)
    .fetch_one(store.pool())
    .await?;
    let total: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM bookings WHERE tenant_id = $1 AND state = 'booked'",
    )
    .bind(CITY)
    .fetch_one(store.pool())
    .await?;
    anyhow::ensure!(doubled == 0, "{doubled} slots booked twice");
    anyhow::ensure!(
        total as usize == booked,
        "{total} stored, {booked} acknowledged"
    );
    eprintln!("  {total} bookings stored, no slot booked twice");
    Ok(())
}

/// The baseline: the booking row inserted as it is, one autocommit statement per person, with
/// the same concurrency — what the database costs without any check.
async fn raw_inserts(store: &Store, slots: &[Slot], args: &BookingArgs) -> anyhow::Result<Outcome> {
    sqlx::query(
        "CREATE TABLE bench_raw_bookings (tenant_id TEXT NOT NULL, number TEXT NOT NULL, \
         resource_id TEXT NOT NULL, starts_at TEXT NOT NULL, name TEXT NOT NULL, \
         email TEXT NOT NULL, created_at TEXT NOT NULL, PRIMARY KEY (tenant_id, number))",
    )
    .execute(store.pool())
    .await
    .context("creating the baseline table")?;
    let started = Instant::now();
    let results: Vec<(u64, bool)> = futures_util::stream::iter(0..args.people)
        .map(|i| async move {
            let slot = wanted(i, slots);
            let at = Instant::now();
            let inserted = sqlx::query(
                "INSERT INTO bench_raw_bookings (tenant_id, number, resource_id, starts_at, name, \
                 email, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(CITY)
            .bind(format!("{i:08}"))
            .bind(&slot.resource)
            .bind(slot_time(slot.starts()))
            .bind(format!("利用者{i}"))
            .bind(format!("person{i}@example.jp"))
            .bind(machi_store::now_text())
            .execute(store.pool())
            .await
            .is_ok();
            (micros(at), inserted)
        })
        .buffer_unordered(args.concurrency)
        .collect()
        .await;
    let mut latencies: Vec<u64> = results.iter().map(|(us, _)| *us).collect();
    latencies.sort_unstable();
    let inserted = results.iter().filter(|(_, ok)| *ok).count();
    Ok(Outcome {
        latencies,
        booked: inserted,
        refused: 0,
        errors: args.people - inserted,
        seconds: started.elapsed().as_secs_f64(),
    })
}

fn micros(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_micros()).unwrap_or(u64::MAX)
}
